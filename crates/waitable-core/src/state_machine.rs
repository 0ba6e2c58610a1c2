//! The state machine, built as Amazon States Language data.
//!
//! ```text
//! ValidateInput ─(bad StartTimestamp)─> RejectInput ─> InvalidInput (Fail)
//!      │ ─(TooFarAhead)─> RecordTooFarAhead ─> TooFarAhead (Fail)
//!      │ (with/without Payload; with ExpiresAt through ChooseFirstWriteWithExpiry)
//!      v
//! SetInitialStatus[WithPayload][AndExpiry] ─> WaitUntil ─> SetFinalStatus (End)
//!                                                  │ any error
//!                                                  v
//!                                        MarkFailed ─> JobFailed (Fail)
//! ```
//! The timestamp is checked by a Choice before anything is written, because a Wait state
//! given a bad timestamp fails with `States.Runtime`, which no Catch can handle: the
//! sample's jobs stay STARTED forever that way. The first write is conditional
//! (`attribute_not_exists(Id)`), so a job is never recorded twice.
//!
//! The first write also stores `ExpiresAt`, the table's TTL attribute, when the input has one
//! (see `core::retention`: the API and the CLI work it out at submit; JSONPath has no clock).
//! A row without one is kept forever. It is stored with the row's first write, not the last,
//! so a malformed value fails before any row exists and can never strand one STARTED. An input
//! without one (the CLI's) keeps its path; one with it takes one more Choice.

use serde_json::{Value, json};

use super::cfn_intrinsics::substitute;
use super::job::{
    ATTR_ERROR, ATTR_ID, ATTR_LAST_UPDATED, ATTR_PAYLOAD, ATTR_PROCESS_STATUS,
    ATTR_START_ACTION_AT, INPUT_PAYLOAD, INPUT_START_TIMESTAMP, JobStatus, set_status_if_started,
};
use super::logical_ids::TABLE_NAME_VAR;
use super::retention::{ATTR_EXPIRES_AT, INPUT_EXPIRES_AT};

pub const VALIDATE_INPUT: &str = "ValidateInput";
pub const REJECT_INPUT: &str = "RejectInput";
/// Which rejection record a present but bad StartTimestamp gets.
pub const CHOOSE_REJECT_RECORD: &str = "ChooseRejectRecord";
/// RejectInput keeping the rejected StartTimestamp (a non-empty string) as StartActionAt, so
/// the job is in the status index (`super::status_index`, whose sort key it is).
pub const REJECT_INPUT_KEEPING_TIME: &str = "RejectInputKeepingTime";
pub const RECORD_TOO_FAR_AHEAD: &str = "RecordTooFarAhead";
pub const CHOOSE_FIRST_WRITE_WITH_EXPIRY: &str = "ChooseFirstWriteWithExpiry";
pub const TOO_FAR_AHEAD: &str = "TooFarAhead";
pub const INVALID_INPUT: &str = "InvalidInput";
pub const SET_INITIAL_STATUS: &str = "SetInitialStatus";
pub const SET_INITIAL_STATUS_WITH_PAYLOAD: &str = "SetInitialStatusWithPayload";
pub const SET_INITIAL_STATUS_WITH_EXPIRY: &str = "SetInitialStatusWithExpiry";
pub const SET_INITIAL_STATUS_WITH_PAYLOAD_AND_EXPIRY: &str = "SetInitialStatusWithPayloadAndExpiry";
/// Every first write of a job that waits, by (with payload, with expiry).
pub const FIRST_WRITES: [(&str, bool, bool); 4] = [
    (SET_INITIAL_STATUS, false, false),
    (SET_INITIAL_STATUS_WITH_PAYLOAD, true, false),
    (SET_INITIAL_STATUS_WITH_EXPIRY, false, true),
    (SET_INITIAL_STATUS_WITH_PAYLOAD_AND_EXPIRY, true, true),
];
pub const WAIT_UNTIL: &str = "WaitUntil";
pub const SET_FINAL_STATUS: &str = "SetFinalStatus";
pub const MARK_FAILED: &str = "MarkFailed";
pub const JOB_FAILED: &str = "JobFailed";

/// Error name of the Fail state reached when the input's timestamp is missing or malformed.
pub const ERROR_INVALID_TIMESTAMP: &str = "InvalidStartTimestamp";
/// Input field the API's POST template sets when StartTimestamp is more than a year after the
/// request (JSONPath has no clock, so the check is made there; see `core::api`).
pub const INPUT_TOO_FAR_AHEAD: &str = "TooFarAhead";
/// Error of a job whose StartTimestamp is beyond Step Functions' one-year execution limit.
pub const ERROR_TOO_FAR_AHEAD: &str = "StartTimestampTooFarAhead";

/// Where a Catch puts the caught error (`{"Error": ..., "Cause": ...}`) in the state's input.
pub const FAILURE_PATH: &str = "$.Failure";

// The partition is left to `Fn::Sub` so the stack deploys in every partition (aws, aws-cn, ...).
const PUT_ITEM: &str = "arn:${AWS::Partition}:states:::dynamodb:putItem";
const UPDATE_ITEM: &str = "arn:${AWS::Partition}:states:::dynamodb:updateItem";

/// DynamoDB errors worth retrying: throttling and service-side faults, never a failed condition.
const TRANSIENT_ERRORS: [&str; 5] = [
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.AmazonDynamoDBException",
];

/// Retry schedule: 1 s, 2 s, 4 s, 8 s, 16 s with full jitter, each capped at 30 s.
/// (The sample's ladder backs off for 62 hours.)
pub const RETRY_INTERVAL_SECONDS: u64 = 1;
pub const RETRY_MAX_ATTEMPTS: u64 = 5;
pub const RETRY_BACKOFF_RATE: f64 = 2.0;
pub const RETRY_MAX_DELAY_SECONDS: u64 = 30;

/// The definition, with `${TableName}` where the table name goes (substituted by
/// CloudFormation's `Fn::Sub`, or by [`with_table_name`] locally).
pub fn definition() -> Value {
    let table = format!("${{{TABLE_NAME_VAR}}}");
    json!({
        "Comment": "waitable: record a job as STARTED, wait until its StartTimestamp, mark it COMPLETED (or FAILED)",
        "StartAt": VALIDATE_INPUT,
        "States": {
            VALIDATE_INPUT: validate_input(),
            REJECT_INPUT: reject_input(&table, false, false),
            CHOOSE_REJECT_RECORD: choose_reject_record(),
            REJECT_INPUT_KEEPING_TIME: reject_input(&table, false, true),
            CHOOSE_FIRST_WRITE_WITH_EXPIRY: choose_first_write_with_expiry(),
            INVALID_INPUT: {
                "Type": "Fail",
                "Error": ERROR_INVALID_TIMESTAMP,
                "Cause": "StartTimestamp must be an RFC 3339 timestamp in UTC, e.g. 2030-01-01T00:00:00Z"
            },
            RECORD_TOO_FAR_AHEAD: record_too_far_ahead(&table, true),
            TOO_FAR_AHEAD: {
                "Type": "Fail",
                "Error": ERROR_TOO_FAR_AHEAD,
                "Cause": "StartTimestamp is more than 365 days after the request: Step Functions ends every execution after a year, so the job could never run"
            },
            SET_INITIAL_STATUS: set_initial_status(&table, false, false),
            SET_INITIAL_STATUS_WITH_PAYLOAD: set_initial_status(&table, true, false),
            SET_INITIAL_STATUS_WITH_EXPIRY: set_initial_status(&table, false, true),
            SET_INITIAL_STATUS_WITH_PAYLOAD_AND_EXPIRY: set_initial_status(&table, true, true),
            WAIT_UNTIL: {
                "Type": "Wait",
                "TimestampPath": format!("$.{INPUT_START_TIMESTAMP}"),
                "Next": SET_FINAL_STATUS
            },
            SET_FINAL_STATUS: set_final_status(&table),
            MARK_FAILED: mark_failed(&table),
            JOB_FAILED: {
                "Type": "Fail",
                "Error": "JobFailed",
                "Cause": "The job was marked FAILED; its Error attribute in the jobs table says why"
            }
        }
    })
}

/// The definition as JSON text with its placeholders filled in, as CloudFormation's `Fn::Sub`
/// would (table names are letters, digits, `_`, `-` and `.`, so no escaping is needed).
pub fn resolved(table_name: &str, partition: &str) -> String {
    let text = serde_json::to_string_pretty(&definition()).expect("a JSON value serialises");
    substitute(
        &text,
        &[(TABLE_NAME_VAR, table_name), ("AWS::Partition", partition)],
    )
}

fn validate_input() -> Value {
    let ts = format!("$.{INPUT_START_TIMESTAMP}");
    let payload = format!("$.{INPUT_PAYLOAD}");
    let expires = format!("$.{INPUT_EXPIRES_AT}");
    let too_far = format!("$.{INPUT_TOO_FAR_AHEAD}");
    // Rules are tried in order and the first match wins, so each type test only ever sees a
    // field the rules before it proved present: no reliance on how a missing field compares.
    // An input with an ExpiresAt (the API's) takes one more Choice; the CLI's path is unchanged.
    json!({
        "Type": "Choice",
        "Comment": "Check the timestamp before the first write: a Wait state given a bad one fails uncatchably",
        "Choices": [
            { "Variable": ts, "IsPresent": false, "Next": REJECT_INPUT },
            { "Not": { "Variable": ts, "IsTimestamp": true }, "Next": CHOOSE_REJECT_RECORD },
            // `Not IsPresent false`, not `IsPresent true`: moto's executor fails the latter on a
            // missing field (AWS takes either).
            { "Not": { "Variable": too_far, "IsPresent": false }, "Next": RECORD_TOO_FAR_AHEAD },
            { "Not": { "Variable": expires, "IsPresent": false }, "Next": CHOOSE_FIRST_WRITE_WITH_EXPIRY },
            { "Variable": payload, "IsPresent": false, "Next": SET_INITIAL_STATUS },
            { "Variable": payload, "IsString": true, "Next": SET_INITIAL_STATUS_WITH_PAYLOAD }
        ],
        "Default": SET_INITIAL_STATUS
    })
}

/// A present StartTimestamp that is not a timestamp: non-empty text is kept as StartActionAt
/// (an index key may not be empty, and DynamoDB would refuse the write); anything else is not.
/// One rule per test, no `And`: moto's executor fails `And` with IsPresent inside.
fn choose_reject_record() -> Value {
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

/// The first write of an input that carries an ExpiresAt, with or without its Payload.
fn choose_first_write_with_expiry() -> Value {
    let payload = format!("$.{INPUT_PAYLOAD}");
    json!({
        "Type": "Choice",
        "Choices": [
            { "Variable": payload, "IsPresent": false, "Next": SET_INITIAL_STATUS_WITH_EXPIRY },
            { "Variable": payload, "IsString": true, "Next": SET_INITIAL_STATUS_WITH_PAYLOAD_AND_EXPIRY }
        ],
        "Default": SET_INITIAL_STATUS_WITH_EXPIRY
    })
}

pub(crate) fn retry() -> Value {
    json!([{
        "ErrorEquals": TRANSIENT_ERRORS,
        "IntervalSeconds": RETRY_INTERVAL_SECONDS,
        "MaxAttempts": RETRY_MAX_ATTEMPTS,
        "BackoffRate": RETRY_BACKOFF_RATE,
        "MaxDelaySeconds": RETRY_MAX_DELAY_SECONDS,
        "JitterStrategy": "FULL"
    }])
}

/// The TTL attribute, from the input (a string of digits, DynamoDB's `N`).
fn expires_at() -> Value {
    json!({ "N.$": format!("$.{INPUT_EXPIRES_AT}") })
}

fn execution_key() -> Value {
    json!({ ATTR_ID: { "S.$": "$$.Execution.Name" } })
}

fn reject_input(table: &str, with_expiry: bool, keep_time: bool) -> Value {
    let mut item = json!({
        ATTR_ID: { "S.$": "$$.Execution.Name" },
        ATTR_PROCESS_STATUS: { "S": JobStatus::Failed.as_str() },
        ATTR_LAST_UPDATED: { "S.$": "$$.State.EnteredTime" },
        ATTR_ERROR: { "S": ERROR_INVALID_TIMESTAMP }
    });
    if with_expiry {
        item[ATTR_EXPIRES_AT] = expires_at();
    }
    if keep_time {
        item[ATTR_START_ACTION_AT] = json!({ "S.$": format!("$.{INPUT_START_TIMESTAMP}") });
    }
    json!({
        "Type": "Task",
        "Comment": "Record the rejected job as FAILED so it is visible in the status list",
        "Resource": PUT_ITEM,
        "Parameters": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#id)",
            "ExpressionAttributeNames": { "#id": ATTR_ID }
        },
        "ResultPath": null,
        "Retry": retry(),
        "Next": INVALID_INPUT
    })
}

fn record_too_far_ahead(table: &str, with_expiry: bool) -> Value {
    let mut item = json!({
        ATTR_ID: { "S.$": "$$.Execution.Name" },
        ATTR_START_ACTION_AT: { "S.$": format!("$.{INPUT_START_TIMESTAMP}") },
        ATTR_PROCESS_STATUS: { "S": JobStatus::Failed.as_str() },
        ATTR_LAST_UPDATED: { "S.$": "$$.State.EnteredTime" },
        ATTR_ERROR: { "S": ERROR_TOO_FAR_AHEAD }
    });
    if with_expiry {
        item[ATTR_EXPIRES_AT] = expires_at();
    }
    json!({
        "Type": "Task",
        "Comment": "Record at once as FAILED a job AWS would time out uncatchably after a year",
        "Resource": PUT_ITEM,
        "Parameters": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#id)",
            "ExpressionAttributeNames": { "#id": ATTR_ID }
        },
        "ResultPath": null,
        "Retry": retry(),
        "Next": TOO_FAR_AHEAD
    })
}

fn set_initial_status(table: &str, with_payload: bool, with_expiry: bool) -> Value {
    let mut item = json!({
        ATTR_ID: { "S.$": "$$.Execution.Name" },
        ATTR_START_ACTION_AT: { "S.$": format!("$.{INPUT_START_TIMESTAMP}") },
        ATTR_PROCESS_STATUS: { "S": JobStatus::Started.as_str() },
        ATTR_LAST_UPDATED: { "S.$": "$$.State.EnteredTime" }
    });
    if with_payload {
        item[ATTR_PAYLOAD] = json!({ "S.$": format!("$.{INPUT_PAYLOAD}") });
    }
    if with_expiry {
        item[ATTR_EXPIRES_AT] = expires_at();
    }
    json!({
        "Type": "Task",
        "Comment": "First write: never overwrites an existing job with the same Id",
        "Resource": PUT_ITEM,
        "Parameters": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#id)",
            "ExpressionAttributeNames": { "#id": ATTR_ID }
        },
        "ResultPath": null,
        "Retry": retry(),
        "Next": WAIT_UNTIL
    })
}

/// The Catch every state after the first write carries.
pub fn failed_catch() -> Value {
    json!({
        "ErrorEquals": ["States.ALL"],
        "ResultPath": FAILURE_PATH,
        "Next": MARK_FAILED
    })
}

fn set_final_status(table: &str) -> Value {
    json!({
        "Type": "Task",
        "Comment": "Only a STARTED job completes: one cancelled meanwhile stays CANCELLED",
        "Resource": UPDATE_ITEM,
        "Parameters": set_status_if_started(table, execution_key(), JobStatus::Completed, None),
        "ResultPath": null,
        "Retry": retry(),
        "Catch": [failed_catch()],
        "End": true
    })
}

/// The write that records a job FAILED with `error` (a DynamoDB S value), only while it is
/// still STARTED (a CANCELLED job is left as it is). MarkFailed and delivery's
/// MarkDeliveryFailed both use it.
pub fn fail_if_started(table: &str, error: Value) -> Value {
    set_status_if_started(table, execution_key(), JobStatus::Failed, Some(error))
}

fn mark_failed(table: &str) -> Value {
    json!({
        "Type": "Task",
        "Comment": "Record why the job failed; a CANCELLED job is left as it is",
        "Resource": UPDATE_ITEM,
        "Parameters": fail_if_started(table, json!({ "S.$": format!("{FAILURE_PATH}.Error") })),
        "ResultPath": null,
        "Retry": retry(),
        "Next": JOB_FAILED
    })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, VecDeque};

    use super::*;

    fn states() -> serde_json::Map<String, Value> {
        definition()["States"].as_object().unwrap().clone()
    }

    /// Every `Next`, `Default` and choice target of a state.
    fn successors(state: &Value) -> Vec<String> {
        let mut out = Vec::new();
        for key in ["Next", "Default"] {
            if let Some(n) = state[key].as_str() {
                out.push(n.to_string());
            }
        }
        for list in ["Choices", "Catch"] {
            for item in state[list].as_array().into_iter().flatten() {
                if let Some(n) = item["Next"].as_str() {
                    out.push(n.to_string());
                }
            }
        }
        out
    }

    fn is_terminal(state: &Value) -> bool {
        state["End"] == json!(true) || matches!(state["Type"].as_str(), Some("Succeed" | "Fail"))
    }

    #[test]
    fn every_next_exists_and_every_state_reaches_an_end() {
        let states = states();
        assert!(states.contains_key(definition()["StartAt"].as_str().unwrap()));
        for (name, state) in &states {
            for next in successors(state) {
                assert!(states.contains_key(&next), "{name} -> missing {next}");
            }
            // Breadth-first search from this state to any terminal state.
            let mut seen = BTreeSet::new();
            let mut queue = VecDeque::from([name.clone()]);
            let mut reached = false;
            while let Some(n) = queue.pop_front() {
                if !seen.insert(n.clone()) {
                    continue;
                }
                if is_terminal(&states[&n]) {
                    reached = true;
                    break;
                }
                queue.extend(successors(&states[&n]));
            }
            assert!(reached, "{name} cannot reach a terminal state");
        }
    }

    #[test]
    fn every_state_is_reachable_from_start() {
        let states = states();
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([VALIDATE_INPUT.to_string()]);
        while let Some(n) = queue.pop_front() {
            if seen.insert(n.clone()) {
                queue.extend(successors(&states[&n]));
            }
        }
        let all: BTreeSet<String> = states.keys().cloned().collect();
        assert_eq!(seen, all);
    }

    #[test]
    fn every_task_after_the_first_write_catches_into_mark_failed() {
        let states = states();
        // Every state reachable from the first write (SetInitialStatus*), other than the
        // failure handler and its Fail state.
        let mut after = BTreeSet::new();
        let mut queue: VecDeque<String> = FIRST_WRITES
            .iter()
            .flat_map(|(n, _, _)| successors(&states[*n]))
            .collect();
        while let Some(n) = queue.pop_front() {
            if n != MARK_FAILED && n != JOB_FAILED && after.insert(n.clone()) {
                queue.extend(successors(&states[&n]));
            }
        }
        assert_eq!(
            after,
            BTreeSet::from([WAIT_UNTIL.to_string(), SET_FINAL_STATUS.to_string()])
        );
        for name in &after {
            let state = &states[name];
            match state["Type"].as_str() {
                // Wait states cannot carry a Catch; the timestamp is validated before the first
                // write instead, so the Wait cannot fail on it.
                Some("Wait") => {
                    assert_eq!(
                        states[VALIDATE_INPUT]["Choices"][1]["Not"]["IsTimestamp"],
                        json!(true)
                    )
                }
                _ => assert!(
                    state["Catch"]
                        .as_array()
                        .is_some_and(|c| c.contains(&failed_catch())),
                    "{name} lacks the FAILED catch"
                ),
            }
        }
    }

    #[test]
    fn retries_back_off_by_two_with_a_cap() {
        for (name, state) in states() {
            if state["Type"] != "Task" {
                continue;
            }
            let retry = &state["Retry"][0];
            assert_eq!(retry["BackoffRate"], json!(2.0), "{name}");
            assert!(retry["MaxDelaySeconds"].as_u64().unwrap() <= 60, "{name}");
            let errors: Vec<&str> = retry["ErrorEquals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap())
                .collect();
            assert!(
                !errors.contains(&"States.ALL")
                    && !errors.iter().any(|e| e.contains("ConditionalCheckFailed")),
                "{name}"
            );
            // Worst case: the sum of the capped delays stays under a minute.
            let total: f64 = (0..RETRY_MAX_ATTEMPTS)
                .map(|i| {
                    (RETRY_INTERVAL_SECONDS as f64 * RETRY_BACKOFF_RATE.powi(i as i32))
                        .min(RETRY_MAX_DELAY_SECONDS as f64)
                })
                .sum();
            assert!(total < 60.0);
        }
    }

    #[test]
    fn first_writes_store_payload_and_expiry_exactly_when_named() {
        let states = states();
        let mut writes: Vec<(&str, bool, bool)> = FIRST_WRITES.to_vec();
        writes.push((REJECT_INPUT, false, false));
        writes.push((RECORD_TOO_FAR_AHEAD, false, true));
        for (name, payload, expiry) in writes {
            let item = &states[name]["Parameters"]["Item"];
            assert_eq!(item.get(ATTR_PAYLOAD).is_some(), payload, "{name}");
            assert_eq!(item.get(ATTR_EXPIRES_AT).is_some(), expiry, "{name}");
            if expiry {
                assert_eq!(
                    item[ATTR_EXPIRES_AT],
                    json!({ "N.$": "$.ExpiresAt" }),
                    "{name}"
                );
            }
            assert_eq!(
                states[name]["Parameters"]["ConditionExpression"],
                "attribute_not_exists(#id)"
            );
        }
        // Later writes leave it alone: the row already carries it.
        for name in [SET_FINAL_STATUS, MARK_FAILED] {
            assert!(
                !states[name].to_string().contains(ATTR_EXPIRES_AT),
                "{name}"
            );
        }
    }

    #[test]
    fn every_rule_tests_the_type_of_a_field_only_once_it_is_proven_present() {
        // Walk the rules in order, tracking which fields earlier non-matching rules prove
        // present. A rule's type tests (IsString, IsTimestamp) must only touch proven fields.
        let rules = states()[VALIDATE_INPUT]["Choices"]
            .as_array()
            .unwrap()
            .clone();
        let fields = [
            "$.StartTimestamp",
            "$.Payload",
            "$.ExpiresAt",
            "$.TooFarAhead",
        ];
        // Each world: which fields are present. A rule is safe if, in every world not matched
        // by an earlier rule, each type test is on a present field.
        for world in 0..16u8 {
            let present =
                |f: &str| world & (1 << fields.iter().position(|x| *x == f).unwrap()) != 0;
            for rule in &rules {
                let (safe, matched) = eval(rule, &present);
                assert!(safe, "rule {rule} tests a missing field when {world:04b}");
                if matched == Some(true) {
                    break;
                }
            }
        }
    }

    /// (every type test touched a present field, whether the rule matches if knowable).
    fn eval(rule: &Value, present: &dyn Fn(&str) -> bool) -> (bool, Option<bool>) {
        if let Some(all) = rule["And"].as_array() {
            let mut safe = true;
            let mut result = Some(true);
            for r in all {
                let (s, m) = eval(r, present);
                safe &= s;
                result = match (result, m) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                };
            }
            return (safe, result);
        }
        if rule.get("Not").is_some() {
            let (s, m) = eval(&rule["Not"], present);
            return (s, m.map(|b| !b));
        }
        let var = rule["Variable"].as_str().unwrap();
        if let Some(want) = rule["IsPresent"].as_bool() {
            return (true, Some(present(var) == want));
        }
        (present(var), None)
    }

    #[test]
    fn last_updated_comes_from_the_execution_context() {
        let text = definition().to_string();
        assert!(text.contains(r#""LastUpdated":{"S.$":"$$.State.EnteredTime"}"#));
        assert!(text.contains(r#"":now":{"S.$":"$$.State.EnteredTime"}"#));
    }

    #[test]
    fn resolved_definition_has_no_placeholders_left() {
        let text = resolved("jobs-table", "aws");
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            parsed["States"][SET_FINAL_STATUS]["Parameters"]["TableName"],
            "jobs-table"
        );
        assert_eq!(
            parsed["States"][SET_FINAL_STATUS]["Resource"],
            "arn:aws:states:::dynamodb:updateItem"
        );
        assert!(!text.contains("${"));
    }
}
