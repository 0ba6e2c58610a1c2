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

/// Epoch milliseconds as `2030-01-01T00:00:00.000Z`.
pub fn iso_millis(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The context object (`$$`) while state `state`, entered at `entered_ms`, runs.
pub(super) fn context(
    exec: &ExecutionInfo,
    state: &str,
    entered_ms: i64,
    retry_count: u32,
) -> Value {
    json!({
        "Execution": {
            "Id": exec.arn,
            "Name": exec.name,
            "Input": exec.input,
            "StartTime": iso_millis(exec.start_ms),
            "RoleArn": "arn:aws:iam::000000000000:role/waitable-local"
        },
        "State": {
            "Name": state,
            "EnteredTime": iso_millis(entered_ms),
            "RetryCount": retry_count
        },
        "StateMachine": {
            "Id": exec.state_machine_arn,
            "Name": exec.state_machine_name
        }
    })
}
