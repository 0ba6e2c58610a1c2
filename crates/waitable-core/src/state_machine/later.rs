//! A job's runs in the state machine (`crate::runs`): the run every input carries, the first
//! write of a later run, and the condition every other write of a run carries.
//!
//! ```text
//! ValidateInput ─(Run.Kind)─> ChooseRun ─(retry)──────> StartRetry ──────> WaitUntil ─> ...
//!      │                          └─(reschedule)─> StartReschedule ─┘
//!      │                  refused (row not at Previous), bad run ─> RunRefused (Fail)
//!      └─(no Run: an input sent by the API, or by hand)─> AddRun ─> ValidateInput
//! ```
//! A retry moves the row only while it is FAILED or CANCELLED at run `Previous`, a reschedule
//! only while it is STARTED at `Previous` and has not fired (no `FiredAt`); a refused run ends
//! in `RunRefused` without touching the row. Every later write of every run is conditional on
//! the row's `Run` being the run's own ([`current_run_only`]), so once a job moved on, its
//! old run can neither fire nor record anything.

use serde_json::{Value, json};

use super::{UPDATE_ITEM, VALIDATE_INPUT, WAIT_UNTIL, retry};
use crate::job::{
    ATTR_ERROR, ATTR_FIRED_AT, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, ATTR_START_ACTION_AT,
    INPUT_PAYLOAD, INPUT_START_TIMESTAMP, JobStatus,
};
use crate::retention::{ATTR_EXPIRES_AT, INPUT_EXPIRES_AT};
use crate::runs::{ATTR_RUN, ERROR_RUN_REFUSED, RUN_IS_CURRENT, RunKind};
use crate::state_machine::deliver::{ATTR_DELIVERED_AT, ATTR_DELIVERED_TO};

pub const ADD_RUN: &str = "AddRun";
pub const CHOOSE_RUN: &str = "ChooseRun";
pub const START_RETRY: &str = "StartRetry";
pub const START_RESCHEDULE: &str = "StartReschedule";
pub const RUN_REFUSED: &str = "RunRefused";

/// Where a run's data sits in the state.
pub const RUN_PATH: &str = "$.Run";
pub const RUN_ID_PATH: &str = "$.Run.Id";
pub const RUN_NUMBER_PATH: &str = "$.Run.Number";
pub const RUN_PREVIOUS_PATH: &str = "$.Run.Previous";
pub const RUN_KIND_PATH: &str = "$.Run.Kind";

const CONDITION_FAILED: &str = "DynamoDB.ConditionalCheckFailedException";

/// `params` (a DynamoDB UpdateItem's) made conditional on the row being at the state's run
/// too: its condition ANDed with [`RUN_IS_CURRENT`], the run's number read from the input.
pub(crate) fn current_run_only(mut params: Value) -> Value {
    let condition = params["ConditionExpression"]
        .as_str()
        .expect("a conditional write")
        .to_string();
    params["ConditionExpression"] = format!("{condition} AND {RUN_IS_CURRENT}").into();
    params["ExpressionAttributeNames"]["#run"] = ATTR_RUN.into();
    params["ExpressionAttributeValues"][":run"] = json!({ "N.$": RUN_NUMBER_PATH });
    params
}

/// The rules ValidateInput tries first: a later run goes to [`CHOOSE_RUN`].
pub(super) fn later_run_rule() -> Value {
    json!({ "Not": { "Variable": RUN_KIND_PATH, "IsPresent": false }, "Next": CHOOSE_RUN })
}

/// The rules ValidateInput tries after the input checks, before it picks the first write: an
/// input without a run gets one ([`ADD_RUN`]); one whose run is not text is refused.
pub(super) fn run_rules(reject: &str) -> Vec<Value> {
    let mut rules = vec![json!({ "Variable": RUN_PATH, "IsPresent": false, "Next": ADD_RUN })];
    for path in [RUN_ID_PATH, RUN_NUMBER_PATH] {
        rules.push(json!({ "Variable": path, "IsPresent": false, "Next": reject }));
        rules.push(json!({ "Variable": path, "IsString": false, "Next": reject }));
    }
    rules
}

/// Every state of this module, by name.
pub(super) fn states(table: &str) -> Vec<(&'static str, Value)> {
    vec![
        (
            ADD_RUN,
            json!({
                "Type": "Pass",
                "Comment": "An input without its run (the API's, or one started by hand) is run 1 of the job named after the execution",
                "Parameters": { "Id.$": "$$.Execution.Name", "Number": "1" },
                "ResultPath": RUN_PATH,
                "Next": VALIDATE_INPUT
            }),
        ),
        (CHOOSE_RUN, choose_run()),
        (START_RETRY, start(table, RunKind::Retry)),
        (START_RESCHEDULE, start(table, RunKind::Reschedule)),
        (
            RUN_REFUSED,
            json!({
                "Type": "Fail",
                "Error": ERROR_RUN_REFUSED,
                "Cause": "The job was not where this run expected it (it fired, finished, or moved on to another run), or the run's input was malformed: nothing was changed"
            }),
        ),
    ]
}

/// A later run's input checks, then its first write by kind. Every type test comes after a
/// rule proving the field present (see `input.rs`).
fn choose_run() -> Value {
    let mut rules = Vec::new();
    for path in [
        RUN_ID_PATH.to_string(),
        RUN_NUMBER_PATH.to_string(),
        RUN_PREVIOUS_PATH.to_string(),
        RUN_KIND_PATH.to_string(),
        format!("$.{INPUT_PAYLOAD}"),
        format!("$.{INPUT_EXPIRES_AT}"),
        format!("$.{INPUT_START_TIMESTAMP}"),
    ] {
        rules.push(json!({ "Variable": path, "IsPresent": false, "Next": RUN_REFUSED }));
        rules.push(json!({ "Variable": path, "IsString": false, "Next": RUN_REFUSED }));
    }
    let ts = format!("$.{INPUT_START_TIMESTAMP}");
    rules.push(json!({ "Not": { "Variable": ts, "IsTimestamp": true }, "Next": RUN_REFUSED }));
    for (kind, next) in [
        (RunKind::Retry, START_RETRY),
        (RunKind::Reschedule, START_RESCHEDULE),
    ] {
        rules.push(
            json!({ "Variable": RUN_KIND_PATH, "StringEquals": kind.as_str(), "Next": next }),
        );
    }
    json!({
        "Type": "Choice",
        "Comment": "A later run of a job (retry, reschedule): checked before its first write",
        "Choices": rules,
        "Default": RUN_REFUSED
    })
}

/// The first write of a later run: moves the row to this run only if it is still at the
/// previous one, in the state the kind needs.
fn start(table: &str, kind: RunKind) -> Value {
    let (condition, update, comment) = match kind {
        RunKind::Retry => (
            "(#status = :failed OR #status = :cancelled)",
            "SET #status = :started, #at = :at, #updated = :now, #run = :run, #expires = :expires REMOVE #fired, #error, #delivered, #to",
            "First write of a retry: only a FAILED or CANCELLED job still at the previous run runs again",
        ),
        RunKind::Reschedule => (
            "#status = :started AND attribute_not_exists(#fired)",
            "SET #at = :at, #updated = :now, #run = :run, #expires = :expires",
            "First write of a reschedule: only a job still waiting at the previous run, not fired, moves",
        ),
    };
    let mut names = json!({
        "#status": ATTR_PROCESS_STATUS,
        "#at": ATTR_START_ACTION_AT,
        "#updated": ATTR_LAST_UPDATED,
        "#run": ATTR_RUN,
        "#expires": ATTR_EXPIRES_AT,
        "#fired": ATTR_FIRED_AT
    });
    let mut values = json!({
        ":started": { "S": JobStatus::Started.as_str() },
        ":at": { "S.$": format!("$.{INPUT_START_TIMESTAMP}") },
        ":now": { "S.$": "$$.State.EnteredTime" },
        ":run": { "N.$": RUN_NUMBER_PATH },
        ":previous": { "N.$": RUN_PREVIOUS_PATH },
        ":expires": { "N.$": format!("$.{INPUT_EXPIRES_AT}") }
    });
    if kind == RunKind::Retry {
        names["#error"] = ATTR_ERROR.into();
        names["#delivered"] = ATTR_DELIVERED_AT.into();
        names["#to"] = ATTR_DELIVERED_TO.into();
        values[":failed"] = json!({ "S": JobStatus::Failed.as_str() });
        values[":cancelled"] = json!({ "S": JobStatus::Cancelled.as_str() });
    }
    json!({
        "Type": "Task",
        "Comment": comment,
        "Resource": UPDATE_ITEM,
        "Parameters": {
            "TableName": table,
            "Key": crate::runs::run_key(RUN_ID_PATH),
            "UpdateExpression": update,
            "ConditionExpression": format!("{condition} AND (attribute_not_exists(#run) OR #run = :previous)"),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values
        },
        "ResultPath": null,
        "Retry": retry(),
        "Catch": [{ "ErrorEquals": [CONDITION_FAILED], "Next": RUN_REFUSED }],
        "Next": WAIT_UNTIL
    })
}
