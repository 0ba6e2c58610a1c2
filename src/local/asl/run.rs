//! Running one state: paths, parameters, the state's own work, Retry and Catch.
//!
//! [`step`] is pure apart from the task calls it makes through [`Tasks`]: the engine commits
//! what a step returns in the same database transaction as those calls, which is what makes
//! every transition happen exactly once.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::choice;
use super::context::context;
pub use super::context::{ExecutionInfo, iso_millis};
use super::data::{fill, place, select};
pub use super::fault::Fault;
use super::fault::runtime;
use super::model::{Catcher, DynamoOp, Kind, Machine, Retrier, State, WaitFor};
use super::path::Path;

/// What a task resource does; the engine's implementation acts on the embedded table.
pub trait Tasks {
    fn call(&mut self, op: &DynamoOp, params: &Value) -> Result<Value, Fault>;
}

/// Where an execution stands: the state it is in and that state's raw input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub state: String,
    pub input: Value,
    /// When the state was entered (epoch milliseconds): `$$.State.EnteredTime`.
    pub entered_ms: i64,
    /// Attempts used per Retrier of this state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<u32>,
    /// A Wait state whose time has come.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub waited: bool,
}

impl Cursor {
    pub fn enter(state: &str, input: Value, now_ms: i64) -> Cursor {
        Cursor {
            state: state.into(),
            input,
            entered_ms: now_ms,
            retries: vec![],
            waited: false,
        }
    }
}

/// What happened in one step.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Go on at once with this cursor (a new state, or the same one again).
    Next(Cursor),
    /// Nothing to do until `until_ms` (a Wait, or a Retry's back-off).
    Sleep {
        cursor: Cursor,
        until_ms: i64,
    },
    Succeeded(Value),
    Failed {
        error: String,
        cause: String,
    },
}

/// The outcome of a state's own work, before Retry/Catch.
enum Flow {
    Go { next: Option<String>, output: Value },
    Sleep(i64),
    Fail { error: String, cause: String },
}

fn wait_until(wait: &WaitFor, effective: &Value, entered_ms: i64) -> Result<i64, Fault> {
    let timestamp = |text: Option<&str>, what: &str| {
        text.and_then(choice::parse_timestamp)
            .map(|t| t.timestamp_millis())
            .ok_or_else(|| runtime(format!("The {what} is not a valid timestamp: {text:?}")))
    };
    match wait {
        WaitFor::Seconds(s) => Ok(entered_ms.saturating_add(*s as i64 * 1000)),
        WaitFor::Timestamp(t) => timestamp(Some(t), "Timestamp"),
        WaitFor::SecondsPath(p) => p
            .get(effective)
            .and_then(Value::as_u64)
            .map(|s| entered_ms.saturating_add(s as i64 * 1000))
            .ok_or_else(|| {
                runtime(format!(
                    "SecondsPath {} is not a non-negative integer",
                    p.render()
                ))
            }),
        WaitFor::TimestampPath(p) => {
            let v = p.get(effective).ok_or_else(|| {
                runtime(format!("TimestampPath {} is not in the input", p.render()))
            })?;
            timestamp(v.as_str(), "value at TimestampPath")
        }
    }
}

fn work(
    st: &State,
    cur: &Cursor,
    ctx: &Value,
    now_ms: i64,
    tasks: &mut dyn Tasks,
) -> Result<Flow, Fault> {
    let raw = &cur.input;
    if let Kind::Fail {
        error,
        cause,
        error_path,
        cause_path,
    } = &st.kind
    {
        let from = |p: &Option<Path>, fixed: &Option<String>| {
            p.as_ref()
                .and_then(|p| p.get(if p.context { ctx } else { raw }))
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| fixed.clone())
                .unwrap_or_default()
        };
        return Ok(Flow::Fail {
            error: from(error_path, error),
            cause: from(cause_path, cause),
        });
    }
    let effective = select(&st.input_path, raw, "InputPath")?;
    let parameters = |input: &Value| match &st.parameters {
        Some(t) => fill(t, input, ctx),
        None => Ok(input.clone()),
    };
    let output = match &st.kind {
        Kind::Pass { result } => {
            let r = match result {
                Some(r) => r.clone(),
                None => parameters(&effective)?,
            };
            select(
                &st.output_path,
                &place(&st.result_path, raw, r)?,
                "OutputPath",
            )?
        }
        Kind::Task { op } => {
            let params = parameters(&effective)?;
            let mut result = tasks.call(op, &params)?;
            if let Some(sel) = &st.result_selector {
                result = fill(sel, &result, ctx)?;
            }
            select(
                &st.output_path,
                &place(&st.result_path, raw, result)?,
                "OutputPath",
            )?
        }
        Kind::Wait(wait) => {
            if !cur.waited {
                let until = wait_until(wait, &effective, cur.entered_ms)?;
                if until > now_ms {
                    return Ok(Flow::Sleep(until));
                }
            }
            select(&st.output_path, &effective, "OutputPath")?
        }
        Kind::Choice { choices, default } => {
            let mut chosen = None;
            for (rule, next) in choices {
                if choice::eval(rule, &effective, ctx).map_err(runtime)? {
                    chosen = Some(next.clone());
                    break;
                }
            }
            let next = chosen.or_else(|| default.clone()).ok_or_else(|| {
                Fault::new(
                    "States.NoChoiceMatched",
                    format!(
                        "No Choice rule of state {} matched and it has no Default",
                        cur.state
                    ),
                )
            })?;
            return Ok(Flow::Go {
                next: Some(next),
                output: select(&st.output_path, &effective, "OutputPath")?,
            });
        }
        Kind::Succeed => {
            return Ok(Flow::Go {
                next: None,
                output: select(&st.output_path, &effective, "OutputPath")?,
            });
        }
        Kind::Fail { .. } => unreachable!("handled above"),
    };
    Ok(Flow::Go {
        next: st.next.clone(),
        output,
    })
}

/// The delay (ms) before attempt `attempt + 1` of `r`, with `rand` in [0, 1) for full jitter.
pub fn retry_delay_ms(r: &Retrier, attempt: u32, rand: f64) -> i64 {
    let mut secs = r.interval_seconds * r.backoff_rate.powi(attempt as i32);
    if let Some(cap) = r.max_delay_seconds {
        secs = secs.min(cap);
    }
    if r.full_jitter {
        secs *= rand;
    }
    (secs * 1000.0).round() as i64
}

fn recover(
    st: &State,
    mut cur: Cursor,
    fault: Fault,
    now_ms: i64,
    rand: &mut dyn FnMut() -> f64,
) -> Step {
    if let Some(i) = st.retry.iter().position(|r| fault.matches(&r.errors)) {
        cur.retries.resize(st.retry.len(), 0);
        let used = cur.retries[i];
        if used < st.retry[i].max_attempts {
            cur.retries[i] += 1;
            let until_ms = now_ms + retry_delay_ms(&st.retry[i], used, rand());
            return Step::Sleep {
                cursor: cur,
                until_ms,
            };
        }
    }
    let caught: Option<&Catcher> = st.catch.iter().find(|c| fault.matches(&c.errors));
    if let Some(c) = caught {
        let info = json!({ "Error": fault.error, "Cause": fault.cause });
        return match place(&c.result_path, &cur.input, info) {
            Ok(input) => Step::Next(Cursor::enter(&c.next, input, now_ms)),
            Err(f) => Step::Failed {
                error: f.error,
                cause: f.cause,
            },
        };
    }
    Step::Failed {
        error: fault.error,
        cause: fault.cause,
    }
}

/// Runs the state `cur` stands in, once.
pub fn step(
    machine: &Machine,
    exec: &ExecutionInfo,
    cur: Cursor,
    now_ms: i64,
    tasks: &mut dyn Tasks,
    rand: &mut dyn FnMut() -> f64,
) -> Step {
    let Some(st) = machine.states.get(&cur.state) else {
        return Step::Failed {
            error: "States.Runtime".into(),
            cause: format!("the state machine has no state {:?}", cur.state),
        };
    };
    let ctx = context(exec, &cur.state, cur.entered_ms, cur.retries.iter().sum());
    match work(st, &cur, &ctx, now_ms, tasks) {
        Ok(Flow::Go {
            next: Some(n),
            output,
        }) => Step::Next(Cursor::enter(&n, output, now_ms)),
        Ok(Flow::Go { next: None, output }) => Step::Succeeded(output),
        Ok(Flow::Sleep(until_ms)) => Step::Sleep {
            cursor: Cursor {
                waited: true,
                ..cur
            },
            until_ms,
        },
        Ok(Flow::Fail { error, cause }) => Step::Failed { error, cause },
        Err(fault) => recover(st, cur, fault, now_ms, rand),
    }
}

#[cfg(test)]
mod tests;
