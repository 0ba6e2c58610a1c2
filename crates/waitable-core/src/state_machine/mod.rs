//! The jobs state machine, built in one pass from the stack's description ([`StackSpec`]).
//!
//! ```text
//! ValidateInput ─(bad StartTimestamp)─> [ChooseRejectRecord] ─> RejectInput… ─> InvalidInput
//!      │ ─(no Payload/ExpiresAt)─> RejectExecutionInput ─> InvalidExecutionInput
//!      │ ─(TooFarAhead)─> RecordTooFarAhead ─> TooFarAhead (Fail)
//!      v (Payload "null" or JSON text)
//! SetInitialStatus[WithPayload] ─> WaitUntil ─> SetFinalStatus (End)            no targets
//!                                      └──────> FireJob ─> DeliverTo… ─> RecordDelivered (End)
//!                 any error after the first write: MarkFailed ─> JobFailed (Fail)
//! ```
//! The timestamp is checked by a Choice before anything is written, because a Wait state
//! given a bad timestamp fails with `States.Runtime`, which no Catch can handle: the
//! sample's jobs stay STARTED forever that way. The first write is conditional
//! (`attribute_not_exists(Id)`), so a job is never recorded twice, and it stores the TTL
//! `ExpiresAt` from the input (see `core::retention`: JSONPath has no clock), so a malformed
//! value fails before any row exists and can never strand one STARTED.
//!
//! Transitions are the price ($25 per million): a job without delivery enters 4 states, one
//! with N targets 5 + N (`state_machine_runs` counts them on the interpreter).

mod input;
pub mod later;
#[cfg(test)]
mod runs_tests;

pub mod deliver;

use serde_json::{Map, Value, json};

use super::cfn_intrinsics::substitute;
use super::job::{
    ATTR_ERROR, ATTR_FIRED_AT, ATTR_ID, ATTR_LAST_UPDATED, ATTR_PAYLOAD, ATTR_PROCESS_STATUS,
    ATTR_START_ACTION_AT, INPUT_PAYLOAD, INPUT_START_TIMESTAMP, JobStatus,
};
use super::logical_ids::TABLE_NAME_VAR;
use super::retention::ATTR_EXPIRES_AT;
pub use super::stack_spec::StackSpec;

pub const VALIDATE_INPUT: &str = "ValidateInput";
pub const REJECT_INPUT: &str = "RejectInput";
/// Which rejection record a present but bad StartTimestamp gets.
pub const CHOOSE_REJECT_RECORD: &str = "ChooseRejectRecord";
/// RejectInput keeping the rejected StartTimestamp (a non-empty string) as StartActionAt, so
/// the job is in the status index (`super::status_index`, whose sort key it is).
pub const REJECT_INPUT_KEEPING_TIME: &str = "RejectInputKeepingTime";
/// An input without `Payload` or `ExpiresAt` (started by hand): recorded FAILED at once.
pub const REJECT_EXECUTION_INPUT: &str = "RejectExecutionInput";
pub const RECORD_TOO_FAR_AHEAD: &str = "RecordTooFarAhead";
pub const TOO_FAR_AHEAD: &str = "TooFarAhead";
pub const INVALID_INPUT: &str = "InvalidInput";
pub const INVALID_EXECUTION_INPUT: &str = "InvalidExecutionInput";
pub const SET_INITIAL_STATUS: &str = "SetInitialStatus";
pub const SET_INITIAL_STATUS_WITH_PAYLOAD: &str = "SetInitialStatusWithPayload";
/// Every first write of a job that waits, with whether it stores the payload.
pub const FIRST_WRITES: [(&str, bool); 2] = [
    (SET_INITIAL_STATUS, false),
    (SET_INITIAL_STATUS_WITH_PAYLOAD, true),
];
pub const WAIT_UNTIL: &str = "WaitUntil";
pub const SET_FINAL_STATUS: &str = "SetFinalStatus";
pub const MARK_FAILED: &str = "MarkFailed";
pub const JOB_FAILED: &str = "JobFailed";

/// Error name of the Fail state reached when the input's timestamp is missing or malformed.
pub const ERROR_INVALID_TIMESTAMP: &str = "InvalidStartTimestamp";
/// Error of an input that lacks `Payload` or `ExpiresAt`.
pub const ERROR_INVALID_EXECUTION_INPUT: &str = "InvalidExecutionInput";
/// Input field the API's POST template sets when StartTimestamp is too far after the request
/// (JSONPath has no clock, so the check is made there; see `core::api`).
pub const INPUT_TOO_FAR_AHEAD: &str = "TooFarAhead";
/// Error of a job whose StartTimestamp is beyond what Step Functions' one-year execution
/// limit leaves room for.
pub const ERROR_TOO_FAR_AHEAD: &str = "StartTimestampTooFarAhead";

/// Where a Catch puts the caught error (`{"Error": ..., "Cause": ...}`) in the state's input.
pub const FAILURE_PATH: &str = "$.Failure";

// The partition is left to `Fn::Sub` so the stack deploys in every partition (aws, aws-cn, ...).
pub(crate) const PUT_ITEM: &str = "arn:${AWS::Partition}:states:::dynamodb:putItem";
pub(crate) const UPDATE_ITEM: &str = "arn:${AWS::Partition}:states:::dynamodb:updateItem";

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

/// The definition of the stack `spec`, with `${TableName}` where the table name goes and, for
/// a delivering stack, `${...}` for its targets and retry parameters (substituted by
/// CloudFormation's `Fn::Sub`, or by [`resolved`] and the local target).
pub fn definition(spec: &StackSpec) -> Value {
    let table = format!("${{{TABLE_NAME_VAR}}}");
    let d = &spec.deliveries;
    let mut states = Map::new();
    let mut add = |name: &str, state: Value| {
        states.insert(name.to_string(), state);
    };
    add(VALIDATE_INPUT, input::validate_input());
    add(
        REJECT_INPUT,
        input::reject(&table, ERROR_INVALID_TIMESTAMP, false, false, INVALID_INPUT),
    );
    add(CHOOSE_REJECT_RECORD, input::choose_reject_record());
    let mut keeping_time =
        input::reject(&table, ERROR_INVALID_TIMESTAMP, true, false, INVALID_INPUT);
    // StartActionAt is the status index's sort key: DynamoDB refuses one over 1,024 bytes
    // (a ValidationException, which Step Functions names AmazonDynamoDBException). Such a job
    // is still recorded, without its time (RejectInput reads only the context object).
    keeping_time["Catch"] = json!([{
        "ErrorEquals": ["DynamoDB.AmazonDynamoDBException"],
        "Next": REJECT_INPUT
    }]);
    add(REJECT_INPUT_KEEPING_TIME, keeping_time);
    add(
        REJECT_EXECUTION_INPUT,
        input::reject(
            &table,
            ERROR_INVALID_EXECUTION_INPUT,
            true,
            false,
            INVALID_EXECUTION_INPUT,
        ),
    );
    add(
        RECORD_TOO_FAR_AHEAD,
        input::reject(&table, ERROR_TOO_FAR_AHEAD, true, true, TOO_FAR_AHEAD),
    );
    for (name, state) in input::fail_states() {
        add(name, state);
    }
    for (name, state) in later::states(&table) {
        add(name, state);
    }
    let fired = if d.is_empty() {
        SET_FINAL_STATUS
    } else {
        deliver::FIRE_JOB
    };
    for (name, with_payload) in FIRST_WRITES {
        add(name, set_initial_status(&table, with_payload));
    }
    add(
        WAIT_UNTIL,
        json!({
            "Type": "Wait",
            "TimestampPath": format!("$.{INPUT_START_TIMESTAMP}"),
            "Next": fired
        }),
    );
    if d.is_empty() {
        add(SET_FINAL_STATUS, set_final_status(&table));
    } else {
        for (name, state) in deliver::states(&table, d) {
            add(&name, state);
        }
    }
    add(MARK_FAILED, mark_failed(&table));
    add(
        JOB_FAILED,
        json!({
            "Type": "Fail",
            "Error": "JobFailed",
            "Cause": "The job was marked FAILED; its Error attribute in the jobs table says why"
        }),
    );
    let comment = if d.is_empty() {
        "waitable: record a job as STARTED, wait until its StartTimestamp, mark it COMPLETED (or FAILED)"
    } else {
        "waitable: record a job as STARTED, wait until its StartTimestamp, deliver it, mark it COMPLETED (or FAILED)"
    };
    json!({ "Comment": comment, "StartAt": VALIDATE_INPUT, "States": states })
}

/// The definition as the text `Fn::Sub` gets: compact JSON (the template's size counts), the
/// delivery retry numbers as bare `${Parameter}` placeholders.
pub fn definition_text(spec: &StackSpec) -> String {
    let text = serde_json::to_string(&definition(spec)).expect("a JSON value serialises");
    deliver::unquote_placeholders(&text)
}

/// The definition as JSON text with its placeholders filled in from `vars`, as CloudFormation's
/// `Fn::Sub` would (a delivering stack's retry parameters take their defaults unless given).
pub fn resolved_with(spec: &StackSpec, vars: &[(&str, &str)]) -> String {
    let mut all: Vec<(&str, &str)> = vars.to_vec();
    let defaults = deliver::parameter_defaults();
    for (name, value) in &defaults {
        if !all.iter().any(|(k, _)| k == name) {
            all.push((name, value.as_str()));
        }
    }
    substitute(&definition_text(spec), &all)
}

/// The plain definition with its table name and partition filled in (table names are
/// letters, digits, `_`, `-` and `.`, so no escaping is needed).
pub fn resolved(table_name: &str, partition: &str) -> String {
    resolved_with(
        &StackSpec::default(),
        &[(TABLE_NAME_VAR, table_name), ("AWS::Partition", partition)],
    )
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

/// The key of every write after a run's first: the job's Id as its run carries it.
pub(crate) fn execution_key() -> Value {
    super::runs::run_key(later::RUN_ID_PATH)
}

fn set_initial_status(table: &str, with_payload: bool) -> Value {
    let mut item = json!({
        ATTR_ID: { "S.$": "$$.Execution.Name" },
        ATTR_START_ACTION_AT: { "S.$": format!("$.{INPUT_START_TIMESTAMP}") },
        ATTR_PROCESS_STATUS: { "S": JobStatus::Started.as_str() },
        ATTR_LAST_UPDATED: { "S.$": "$$.State.EnteredTime" }
    });
    if with_payload {
        item[ATTR_PAYLOAD] = json!({ "S.$": format!("$.{INPUT_PAYLOAD}") });
    }
    item[ATTR_EXPIRES_AT] = input::expires_at();
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

/// A job without targets fires and completes in one write, which also records `FiredAt`.
fn set_final_status(table: &str) -> Value {
    json!({
        "Type": "Task",
        "Comment": "Only a STARTED job completes: one cancelled meanwhile stays CANCELLED",
        "Resource": UPDATE_ITEM,
        "Parameters": later::current_run_only(json!({
            "TableName": table,
            "Key": execution_key(),
            "UpdateExpression": "SET #status = :completed, #updated = :now, #fired = :now",
            "ConditionExpression": "#status = :started",
            "ExpressionAttributeNames": {
                "#status": ATTR_PROCESS_STATUS,
                "#updated": ATTR_LAST_UPDATED,
                "#fired": ATTR_FIRED_AT
            },
            "ExpressionAttributeValues": {
                ":completed": { "S": JobStatus::Completed.as_str() },
                ":started": { "S": JobStatus::Started.as_str() },
                ":now": { "S.$": "$$.State.EnteredTime" }
            }
        })),
        "ResultPath": null,
        "Retry": retry(),
        "Catch": [failed_catch()],
        "End": true
    })
}

/// The write that records a job FAILED with `error` (a DynamoDB S value), only while it is
/// still STARTED (a CANCELLED job is left as it is), setting `more` (attribute, S value) too.
/// MarkFailed and delivery's MarkDeliveryFailed use it.
pub fn fail_if_started(table: &str, error: Value, more: &[(&str, Value)]) -> Value {
    let mut expression = "SET #status = :failed, #updated = :now, #error = :error".to_string();
    let mut names = json!({
        "#status": ATTR_PROCESS_STATUS,
        "#updated": ATTR_LAST_UPDATED,
        "#error": ATTR_ERROR
    });
    let mut values = json!({
        ":failed": { "S": JobStatus::Failed.as_str() },
        ":started": { "S": JobStatus::Started.as_str() },
        ":now": { "S.$": "$$.State.EnteredTime" },
        ":error": error
    });
    for (attr, value) in more {
        let placeholder = attr.to_lowercase();
        expression.push_str(&format!(", #{placeholder} = :{placeholder}"));
        names[format!("#{placeholder}")] = json!(attr);
        values[format!(":{placeholder}")] = value.clone();
    }
    later::current_run_only(json!({
        "TableName": table,
        "Key": execution_key(),
        "UpdateExpression": expression,
        "ConditionExpression": "#status = :started",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values
    }))
}

fn mark_failed(table: &str) -> Value {
    json!({
        "Type": "Task",
        "Comment": "Record why the job failed; a CANCELLED job is left as it is",
        "Resource": UPDATE_ITEM,
        "Parameters": fail_if_started(table, json!({ "S.$": format!("{FAILURE_PATH}.Error") }), &[]),
        "ResultPath": null,
        "Retry": retry(),
        "Next": JOB_FAILED
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_rejected_time_dynamodb_cannot_key_is_recorded_without_it() {
        let def = super::definition(&super::StackSpec::default());
        let keeping = &def["States"][super::REJECT_INPUT_KEEPING_TIME];
        let catch = &keeping["Catch"][0];
        assert_eq!(
            catch["ErrorEquals"],
            serde_json::json!(["DynamoDB.AmazonDynamoDBException"])
        );
        assert_eq!(catch["Next"], super::REJECT_INPUT);
        let plain = &def["States"][super::REJECT_INPUT];
        assert!(plain["Parameters"]["Item"].get("StartActionAt").is_none());
        assert!(plain.get("Catch").is_none());
    }

    use std::collections::{BTreeSet, VecDeque};

    use super::*;

    use crate::stack_spec::variants;
    use crate::state_machine::deliver::{MARK_DELIVERY_FAILED, MARK_DELIVERY_FAILED_WITHOUT_CAUSE};

    fn states() -> serde_json::Map<String, Value> {
        states_of(&StackSpec::default())
    }

    fn states_of(spec: &StackSpec) -> serde_json::Map<String, Value> {
        definition(spec)["States"].as_object().unwrap().clone()
    }

    /// The states of every variant users deploy, with the variant's name.
    fn every_variant() -> Vec<(&'static str, serde_json::Map<String, Value>)> {
        variants()
            .into_iter()
            .map(|v| (v.name, states_of(&v.spec)))
            .collect()
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
        for (_, states) in every_variant() {
            assert!(states.contains_key(VALIDATE_INPUT));
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
    }

    #[test]
    fn every_state_is_reachable_from_start() {
        for (variant, states) in every_variant() {
            let mut seen = BTreeSet::new();
            let mut queue = VecDeque::from([VALIDATE_INPUT.to_string()]);
            while let Some(n) = queue.pop_front() {
                if seen.insert(n.clone()) {
                    queue.extend(successors(&states[&n]));
                }
            }
            let all: BTreeSet<String> = states.keys().cloned().collect();
            assert_eq!(seen, all, "{variant}");
        }
    }

    #[test]
    fn every_task_after_the_first_write_catches_every_error() {
        for (variant, states) in every_variant() {
            // Every state reachable from the first write (SetInitialStatus*).
            let mut after = BTreeSet::new();
            let mut queue: VecDeque<String> = FIRST_WRITES
                .iter()
                .flat_map(|(n, _)| successors(&states[*n]))
                .collect();
            while let Some(n) = queue.pop_front() {
                if after.insert(n.clone()) {
                    queue.extend(successors(&states[&n]));
                }
            }
            assert!(after.contains(WAIT_UNTIL), "{variant}");
            // The failure writes themselves: if one fails for good the execution fails, and
            // the reconcile records the job FAILED.
            let handlers = [
                MARK_FAILED,
                MARK_DELIVERY_FAILED,
                MARK_DELIVERY_FAILED_WITHOUT_CAUSE,
            ];
            for name in &after {
                let state = &states[name];
                if state["Type"] != "Task" || handlers.contains(&name.as_str()) {
                    continue;
                }
                let catches_all = state["Catch"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["ErrorEquals"] == json!(["States.ALL"])));
                assert!(catches_all, "{variant}: {name} lacks the catch-all");
            }
            // Wait states cannot carry a Catch; the timestamp is validated before the first
            // write instead, so the Wait cannot fail on it.
            assert_eq!(
                states[VALIDATE_INPUT]["Choices"][2]["Not"]["IsTimestamp"],
                json!(true)
            );
        }
    }

    #[test]
    fn retries_back_off_by_two_with_a_cap() {
        for (name, state) in every_variant().into_iter().flat_map(|(_, s)| s) {
            // Deliveries retry by the stack's parameters (`state_machine::deliver`).
            if state["Type"] != "Task" || !state.to_string().contains(":dynamodb:") {
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
        let mut writes: Vec<(&str, bool, bool)> =
            FIRST_WRITES.iter().map(|(n, p)| (*n, *p, true)).collect();
        writes.push((REJECT_INPUT, false, false));
        writes.push((REJECT_EXECUTION_INPUT, false, false));
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
    fn one_choice_routes_every_input_and_no_payload_is_the_text_null() {
        let rules = states()[VALIDATE_INPUT]["Choices"].clone();
        let last = rules.as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            last,
            json!({ "Variable": "$.Payload", "StringEquals": "null", "Next": SET_INITIAL_STATUS })
        );
        assert_eq!(
            states()[VALIDATE_INPUT]["Default"],
            SET_INITIAL_STATUS_WITH_PAYLOAD
        );
        // No Choice between the input check and the first write, in any variant.
        for (variant, states) in every_variant() {
            let choices = states.values().filter(|s| s["Type"] == "Choice").count();
            // ValidateInput, ChooseRejectRecord, ChooseRun (and CheckFailureCause).
            let expected = if variant == "waitable" { 3 } else { 4 };
            assert_eq!(choices, expected, "{variant}: {:?}", states.keys());
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
            "$.Run",
            "$.Run.Id",
            "$.Run.Number",
            "$.Run.Kind",
        ];
        // Each world: which fields are present. A rule is safe if, in every world not matched
        // by an earlier rule, each type test is on a present field.
        for world in 0..=255u8 {
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
        let text = definition(&StackSpec::default()).to_string();
        assert!(text.contains(r#""LastUpdated":{"S.$":"$$.State.EnteredTime"}"#));
        assert!(text.contains(r#"":now":{"S.$":"$$.State.EnteredTime"}"#));
    }

    #[test]
    fn every_variants_definition_resolves_fully() {
        for v in variants() {
            let vars = [
                (TABLE_NAME_VAR, "jobs"),
                ("AWS::Partition", "aws"),
                ("AWS::StackName", "s"),
                (crate::delivery::QUEUE_URL_VAR, "https://q"),
                (crate::delivery::TOPIC_ARN_VAR, "arn:t"),
                (crate::delivery::CONNECTION_ARN_VAR, "arn:c"),
            ];
            let text = resolved_with(&v.spec, &vars);
            assert!(!text.contains("${"), "{}", v.name);
            let parsed: Value = serde_json::from_str(&text).unwrap();
            if !v.spec.deliveries.is_empty() {
                let retry = &parsed["States"]["FireJob"]["Next"];
                let first = retry.as_str().unwrap();
                assert_eq!(parsed["States"][first]["Retry"][0]["MaxAttempts"], 5);
            }
        }
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
