//! Running one state: paths, parameters, the state's own work, Retry and Catch.
//!
//! [`step`] is pure apart from the task calls it makes through [`Tasks`]: the engine commits
//! what a step returns in the same database transaction as those calls, which is what makes
//! every transition happen exactly once.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::choice;
use super::context::Ctx;
pub use super::context::{ExecutionInfo, iso_millis};
use super::data::{fill, lookup, not_found, place, select};
use super::deliver_task::DeliverOp;
pub use super::fault::Fault;
use super::fault::runtime;
use super::limits;
use super::model::{Catcher, DynamoOp, Kind, Machine, Retrier, State, WaitFor};
use super::path::Path;

/// What a task resource does; the engine's implementation acts on the embedded table.
pub trait Tasks {
    fn call(&mut self, op: &DynamoOp, params: &Value) -> Result<Value, Fault>;

    /// A delivery task; where there is nothing to deliver to, it fails.
    fn deliver(&mut self, op: DeliverOp, _params: &Value) -> Result<Value, Fault> {
        Err(Fault::task(
            "States.TaskFailed",
            format!("{op:?} is not available here"),
        ))
    }
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
    /// The execution's history events so far, counted as AWS counts them (two a state, three
    /// a retried attempt), toward [`limits::MAX_HISTORY_EVENTS`]. Missing in cursors saved
    /// before it was kept: those count from there.
    #[serde(default)]
    pub events: u32,
}

impl Cursor {
    /// The cursor of an execution's first state.
    pub fn enter(state: &str, input: Value, now_ms: i64) -> Cursor {
        Cursor {
            state: state.into(),
            input,
            entered_ms: now_ms,
            retries: vec![],
            waited: false,
            events: limits::EVENTS_AT_START + limits::EVENTS_PER_STATE,
        }
    }

    /// The cursor of the state entered after this one.
    fn next(&self, state: &str, input: Value, now_ms: i64) -> Cursor {
        Cursor {
            events: self.events + limits::EVENTS_PER_STATE,
            ..Cursor::enter(state, input, now_ms)
        }
    }
}

/// What happened in one step.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
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

/// When a Wait state entered at `entered_ms` ends. A wait over [`limits::MAX_WAIT_MS`] fails
/// at once with `States.Runtime`, as on AWS.
fn wait_until(wait: &WaitFor, effective: &Value, ctx: &Ctx, entered_ms: i64) -> Result<i64, Fault> {
    // "Step Functions considers the time value up to seconds and truncates milliseconds"
    // ("Wait workflow state", AWS Step Functions Developer Guide).
    let timestamp = |text: Option<&str>, what: &str| {
        text.and_then(crate::timestamp::parse)
            .map(|t| t.timestamp() * 1000)
            .ok_or_else(|| runtime(format!("The {what} is not a valid timestamp: {text:?}")))
    };
    // A count of seconds past i64 saturates, and is then over the limit like any long wait.
    let after = |secs: u64| {
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        entered_ms.saturating_add(secs.saturating_mul(1000))
    };
    let until = match wait {
        WaitFor::Seconds(s) => after(*s),
        WaitFor::Timestamp(t) => timestamp(Some(t), "Timestamp")?,
        WaitFor::SecondsPath(p) => {
            let v =
                lookup(p, effective, ctx).ok_or_else(|| not_found(p, "SecondsPath", effective))?;
            after(seconds_at_path(v).map_err(|why| {
                runtime(format!(
                    "The SecondsPath parameter {why}: {} == {v}",
                    p.render()
                ))
            })?)
        }
        WaitFor::TimestampPath(p) => {
            let v = lookup(p, effective, ctx)
                .ok_or_else(|| not_found(p, "TimestampPath", effective))?;
            timestamp(v.as_str(), "value at TimestampPath")?
        }
    };
    if until.saturating_sub(entered_ms) > limits::MAX_WAIT_MS {
        return Err(runtime("Wait state delay is too long."));
    }
    Ok(until)
}

/// The whole, non-negative number of seconds at a Wait's SecondsPath, in AWS's words when it is
/// not one. An integer too large for any type (JSON numbers past 2^64 arrive as floats) is
/// `u64::MAX` seconds: too long, never a wait skipped.
fn seconds_at_path(v: &Value) -> Result<u64, &'static str> {
    let Value::Number(n) = v else {
        return Err("cannot be parsed as a long value");
    };
    if let Some(secs) = n.as_u64() {
        return Ok(secs);
    }
    match n.as_f64() {
        Some(f) if f < 0.0 => Err("references a negative value"),
        Some(f) if f.fract() == 0.0 => Ok(u64::MAX),
        _ => Err("cannot be parsed as a long value"),
    }
}

/// The string at a Fail state's ErrorPath/CausePath, or its fixed Error/Cause. A path that
/// finds nothing, or no string, is `States.Runtime`.
fn fail_field(
    path: &Option<Path>,
    fixed: &Option<String>,
    field: &str,
    raw: &Value,
    ctx: &Ctx,
) -> Result<String, Fault> {
    let Some(p) = path else {
        return Ok(fixed.clone().unwrap_or_default());
    };
    let v = lookup(p, raw, ctx).ok_or_else(|| not_found(p, field, raw))?;
    v.as_str().map(str::to_string).ok_or_else(|| {
        runtime(format!(
            "The JSONPath '{}' specified for the field '{field}' does not resolve to a string: {v}",
            p.render()
        ))
    })
}

fn work(
    st: &State,
    cur: &Cursor,
    ctx: &Ctx,
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
        return Ok(Flow::Fail {
            error: fail_field(error_path, error, "ErrorPath", raw, ctx)?,
            cause: fail_field(cause_path, cause, "CausePath", raw, ctx)?,
        });
    }
    let effective = select(&st.input_path, raw, ctx, "InputPath")?;
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
            limits::check_size(&cur.state, &r)?;
            select(
                &st.output_path,
                &place(&st.result_path, raw, r)?,
                ctx,
                "OutputPath",
            )?
        }
        Kind::Task { .. } | Kind::Deliver { .. } => {
            let params = parameters(&effective)?;
            let mut result = match &st.kind {
                Kind::Deliver { op } => tasks.deliver(*op, &params)?,
                Kind::Task { op } => tasks.call(op, &params)?,
                _ => unreachable!("matched above"),
            };
            if let Some(sel) = &st.result_selector {
                result = fill(sel, &result, ctx)?;
            }
            limits::check_size(&cur.state, &result)?;
            select(
                &st.output_path,
                &place(&st.result_path, raw, result)?,
                ctx,
                "OutputPath",
            )?
        }
        Kind::Wait(wait) => {
            if !cur.waited {
                let until = wait_until(wait, &effective, ctx, cur.entered_ms)?;
                if until > now_ms {
                    return Ok(Flow::Sleep(until));
                }
            }
            select(&st.output_path, &effective, ctx, "OutputPath")?
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
                output: select(&st.output_path, &effective, ctx, "OutputPath")?,
            });
        }
        Kind::Succeed => {
            return Ok(Flow::Go {
                next: None,
                output: select(&st.output_path, &effective, ctx, "OutputPath")?,
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
) -> Transition {
    if let Some(i) = st.retry.iter().position(|r| fault.matches(&r.errors)) {
        cur.retries.resize(st.retry.len(), 0);
        let used = cur.retries[i];
        if used < st.retry[i].max_attempts {
            cur.retries[i] += 1;
            cur.events += limits::EVENTS_PER_RETRY;
            let until_ms = now_ms + retry_delay_ms(&st.retry[i], used, rand());
            return Transition::Sleep {
                cursor: cur,
                until_ms,
            };
        }
    }
    let caught: Option<&Catcher> = st.catch.iter().find(|c| fault.matches(&c.errors));
    if let Some(c) = caught {
        let info = json!({ "Error": fault.error, "Cause": fault.cause });
        return match place(&c.result_path, &cur.input, info) {
            Ok(input) => Transition::Next(cur.next(&c.next, input, now_ms)),
            Err(f) => Transition::Failed {
                error: f.error,
                cause: f.cause,
            },
        };
    }
    Transition::Failed {
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
) -> Transition {
    let Some(st) = machine.states.get(&cur.state) else {
        return Transition::Failed {
            error: "States.Runtime".into(),
            cause: format!("the state machine has no state {:?}", cur.state),
        };
    };
    // Past one year after its start, an execution stops (Step Functions' maximum duration);
    // a longer sleep is cut short to end just after that moment.
    let deadline = exec.start_ms.saturating_add(limits::MAX_EXECUTION_MS);
    if now_ms > deadline {
        return Transition::Failed {
            error: "States.Timeout".into(),
            cause: "The execution reached the maximum duration of a standard execution (one year)"
                .into(),
        };
    }
    let ctx = Ctx::new(exec, &cur.state, cur.entered_ms, cur.retries.iter().sum());
    let flow = work(st, &cur, &ctx, now_ms, tasks).and_then(|flow| match &flow {
        Flow::Go { output, .. } => limits::check_size(&cur.state, output).map(|()| flow),
        _ => Ok(flow),
    });
    let step = match flow {
        Ok(Flow::Go {
            next: Some(n),
            output,
        }) => Transition::Next(cur.next(&n, output, now_ms)),
        Ok(Flow::Go { next: None, output }) => Transition::Succeeded(output),
        Ok(Flow::Sleep(until_ms)) => Transition::Sleep {
            cursor: Cursor {
                waited: true,
                ..cur
            },
            until_ms,
        },
        Ok(Flow::Fail { error, cause }) => Transition::Failed { error, cause },
        Err(fault) => recover(st, cur, fault, now_ms, rand),
    };
    match step {
        Transition::Next(c) | Transition::Sleep { cursor: c, .. }
            if c.events > limits::MAX_HISTORY_EVENTS =>
        {
            let f = limits::history_full();
            Transition::Failed {
                error: f.error,
                cause: f.cause,
            }
        }
        Transition::Sleep { cursor, until_ms } => Transition::Sleep {
            cursor,
            until_ms: until_ms.min(deadline + 1),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests;
