//! The input check before the first write, and the writes that record a rejected job.
//!
//! Every input the API or the CLI sends carries `StartTimestamp`, `Payload` (JSON text, or
//! `"null"` for none) and `ExpiresAt`, so one Choice picks the first write: no second Choice
//! on what is present. Rules are tried in order and the first match wins, so each type test
//! only ever sees a field the rules before it proved present (AWS fails a comparison on a
//! missing field with `States.Runtime`). No `And` with `IsPresent` inside, and `Not IsPresent
//! false` rather than `IsPresent true`: moto's executor fails both on a missing field.

use serde_json::{Value, json};

use super::*;
use crate::job::{INPUT_PAYLOAD, INPUT_START_TIMESTAMP, NO_PAYLOAD};
use crate::retention::INPUT_EXPIRES_AT;

pub(super) fn validate_input() -> Value {
    let ts = format!("$.{INPUT_START_TIMESTAMP}");
    let payload = format!("$.{INPUT_PAYLOAD}");
    let expires = format!("$.{INPUT_EXPIRES_AT}");
    let too_far = format!("$.{INPUT_TOO_FAR_AHEAD}");
    let mut rules = vec![later::later_run_rule()];
    rules.extend(
        json!([
            { "Variable": ts, "IsPresent": false, "Next": REJECT_INPUT },
            { "Not": { "Variable": ts, "IsTimestamp": true }, "Next": CHOOSE_REJECT_RECORD },
            { "Variable": expires, "IsPresent": false, "Next": REJECT_EXECUTION_INPUT },
            { "Variable": expires, "IsString": false, "Next": REJECT_EXECUTION_INPUT },
            { "Variable": payload, "IsPresent": false, "Next": REJECT_EXECUTION_INPUT },
            { "Variable": payload, "IsString": false, "Next": REJECT_EXECUTION_INPUT },
            { "Not": { "Variable": too_far, "IsPresent": false }, "Next": RECORD_TOO_FAR_AHEAD }
        ])
        .as_array()
        .expect("a list")
        .iter()
        .cloned(),
    );
    rules.extend(later::run_rules(REJECT_EXECUTION_INPUT));
    rules.push(
        json!({ "Variable": payload, "StringEquals": NO_PAYLOAD, "Next": SET_INITIAL_STATUS }),
    );
    json!({
        "Type": "Choice",
        "Comment": "Check the input before the first write: a Wait state given a bad timestamp fails uncatchably",
        "Choices": rules,
        "Default": SET_INITIAL_STATUS_WITH_PAYLOAD
    })
}

/// A present StartTimestamp that is not a timestamp: non-empty text is kept as StartActionAt
/// (an index key may not be empty, and DynamoDB would refuse the write); anything else is not.
pub(super) fn choose_reject_record() -> Value {
    let ts = format!("$.{INPUT_START_TIMESTAMP}");
    json!({
        "Type": "Choice",
        "Choices": [
            { "Variable": ts, "IsString": false, "Next": REJECT_INPUT },
            { "Variable": ts, "StringEquals": "", "Next": REJECT_INPUT }
        ],
        "Default": REJECT_INPUT_KEEPING_TIME
    })
}

/// The first write of a job refused at once, FAILED with `error`, then the Fail state `next`.
/// `keep_time`: the StartTimestamp (non-empty text) is kept as StartActionAt, so the job is in
/// the status index; `expiry`: the input's ExpiresAt (proven present) is stored.
pub(super) fn reject(table: &str, error: &str, keep_time: bool, expiry: bool, next: &str) -> Value {
    let mut item = json!({
        ATTR_ID: { "S.$": "$$.Execution.Name" },
        ATTR_PROCESS_STATUS: { "S": JobStatus::Failed.as_str() },
        ATTR_LAST_UPDATED: { "S.$": "$$.State.EnteredTime" },
        ATTR_ERROR: { "S": error }
    });
    if keep_time {
        item[ATTR_START_ACTION_AT] = json!({ "S.$": format!("$.{INPUT_START_TIMESTAMP}") });
    }
    if expiry {
        item[ATTR_EXPIRES_AT] = expires_at();
    }
    json!({
        "Type": "Task",
        "Comment": "Record the refused job as FAILED so it is visible in the status list",
        "Resource": PUT_ITEM,
        "Parameters": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#id)",
            "ExpressionAttributeNames": { "#id": ATTR_ID }
        },
        "ResultPath": null,
        "Retry": retry(),
        "Next": next
    })
}

/// The TTL attribute, from the input (a string of digits, DynamoDB's `N`).
pub(super) fn expires_at() -> Value {
    json!({ "N.$": format!("$.{INPUT_EXPIRES_AT}") })
}

/// The Fail states of refused inputs.
pub(super) fn fail_states() -> [(&'static str, Value); 3] {
    [
        (
            INVALID_INPUT,
            json!({
                "Type": "Fail",
                "Error": ERROR_INVALID_TIMESTAMP,
                "Cause": "StartTimestamp must be an RFC 3339 timestamp in UTC, e.g. 2030-01-01T00:00:00Z"
            }),
        ),
        (
            INVALID_EXECUTION_INPUT,
            json!({
                "Type": "Fail",
                "Error": ERROR_INVALID_EXECUTION_INPUT,
                "Cause": "The execution input must carry Payload (JSON text, or \"null\") and ExpiresAt (epoch seconds as a string): submit through the API or waitable submit"
            }),
        ),
        (
            TOO_FAR_AHEAD,
            json!({
                "Type": "Fail",
                "Error": ERROR_TOO_FAR_AHEAD,
                "Cause": "StartTimestamp is too far ahead: Step Functions ends every execution after a year, so the job could not finish"
            }),
        ),
    ]
}
