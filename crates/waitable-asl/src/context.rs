//! The context object (`$$`): the execution's fixed facts and the current state's.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The execution's fixed facts, for the context object.
#[derive(Debug, Clone)]
pub struct ExecutionInfo {
    pub name: String,
    pub arn: String,
    pub input: Value,
    pub start_ms: i64,
    pub state_machine_arn: String,
    pub state_machine_name: String,
}

/// The context object of one step, built the first time a `$$` path reads it: most states
/// never do, and building it copies the execution's input.
pub struct Ctx<'a> {
    of: Option<(&'a ExecutionInfo, &'a str, i64, u32)>,
    value: std::cell::OnceCell<Value>,
}

impl<'a> Ctx<'a> {
    /// The context object while state `state`, entered at `entered_ms`, runs (see
    /// [`context`]).
    pub fn new(exec: &'a ExecutionInfo, state: &'a str, entered_ms: i64, retry_count: u32) -> Self {
        Ctx {
            of: Some((exec, state, entered_ms, retry_count)),
            value: std::cell::OnceCell::new(),
        }
    }

    /// A context object given whole (tests, and callers that built one already).
    pub fn of(value: Value) -> Ctx<'static> {
        Ctx {
            of: None,
            value: std::cell::OnceCell::from(value),
        }
    }

    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| match self.of {
            Some((exec, state, entered_ms, retry_count)) => {
                context(exec, state, entered_ms, retry_count)
            }
            None => Value::Null,
        })
    }
}

/// Epoch milliseconds as `2030-01-01T00:00:00.000Z`.
pub fn iso_millis(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The context object (`$$`) while state `state`, entered at `entered_ms`, runs, as AWS
/// shows it: `Execution.RedriveCount` is always there (executions are never redriven here);
/// `State.RetryCount` only while the state is being retried.
pub(super) fn context(
    exec: &ExecutionInfo,
    state: &str,
    entered_ms: i64,
    retry_count: u32,
) -> Value {
    let mut state = json!({
        "Name": state,
        "EnteredTime": iso_millis(entered_ms),
    });
    if retry_count > 0 {
        state["RetryCount"] = json!(retry_count);
    }
    json!({
        "Execution": {
            "Id": exec.arn,
            "Input": exec.input,
            "StartTime": iso_millis(exec.start_ms),
            "Name": exec.name,
            "RoleArn": "arn:aws:iam::000000000000:role/waitable-local",
            "RedriveCount": 0
        },
        "StateMachine": {
            "Id": exec.state_machine_arn,
            "Name": exec.state_machine_name
        },
        "State": state
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ExecutionInfo {
        ExecutionInfo {
            name: "n".into(),
            arn: "arn:e".into(),
            input: json!({"a": 1}),
            start_ms: 0,
            state_machine_arn: "arn:sm".into(),
            state_machine_name: "sm".into(),
        }
    }

    #[test]
    fn the_context_object_has_redrive_count_and_no_retry_count_outside_retries() {
        let ctx = context(&info(), "S", 1000, 0);
        assert_eq!(ctx["Execution"]["RedriveCount"], json!(0));
        assert_eq!(ctx["Execution"]["Input"], json!({"a": 1}));
        assert_eq!(
            ctx["State"],
            json!({"Name": "S", "EnteredTime": "1970-01-01T00:00:01.000Z"})
        );
        assert_eq!(
            context(&info(), "S", 1000, 2)["State"]["RetryCount"],
            json!(2)
        );
    }
}
