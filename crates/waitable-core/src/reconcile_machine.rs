//! No job stays STARTED: when an execution of the jobs state machine ends in a way its own
//! states cannot record (a timeout, a StopExecution from the console or another tool, an
//! uncatchable `States.Runtime` or `States.DataLimitExceeded`), its row moves out of STARTED.
//!
//! On AWS an EventBridge rule on "Step Functions Execution Status Change" for the jobs state
//! machine (FAILED, TIMED_OUT, ABORTED) starts the small state machine [`definition`], whose one
//! write is conditional on the row still being STARTED (a job that recorded its own end is left
//! as it is). The local engine applies the same [`outcome`] when an execution ends that way.
//! The event's detail carries the execution's name (the job Id) and status, not its error, so
//! the reason is named by status.

use serde_json::{Value, json};

use super::cfn_intrinsics::substitute;
use super::job::{JobStatus, set_status_if_started};
use super::logical_ids::TABLE_NAME_VAR;

/// EventBridge's `detail-type` and `source` of an execution's status change.
pub const DETAIL_TYPE: &str = "Step Functions Execution Status Change";
pub const SOURCE: &str = "aws.states";

/// The execution statuses the reconcile handles, each with the job status and error it records.
pub const OUTCOMES: [(&str, JobStatus, &str); 3] = [
    (
        "TIMED_OUT",
        JobStatus::Failed,
        "States.Timeout: the execution timed out before the job was recorded finished",
    ),
    (
        "ABORTED",
        JobStatus::Cancelled,
        "ExecutionAborted: the execution was stopped outside waitable",
    ),
    (
        "FAILED",
        JobStatus::Failed,
        "ExecutionFailed: the execution failed outside the job's own error handling (for example States.Runtime or States.DataLimitExceeded); its history says why",
    ),
];

/// What a job's row becomes when its execution ended with `execution_status` while the row
/// still says STARTED; `None` for an ending the state machine records itself (SUCCEEDED).
pub fn outcome(execution_status: &str) -> Option<(JobStatus, &'static str)> {
    OUTCOMES
        .iter()
        .find(|(s, _, _)| *s == execution_status)
        .map(|(_, job, error)| (*job, *error))
}

/// The most of an execution's `cause` a row keeps (Step Functions allows 32,768 characters;
/// the row is shown in tables).
pub const MAX_CAUSE_CHARS: usize = 1_000;

/// [`outcome`] with the execution's own `error` and `cause` when Step Functions gives them
/// (DescribeExecution does for a FAILED execution): the reason then says what failed, for
/// example the `States.Runtime` of a webhook that answered with a binary content type.
pub fn outcome_with_detail(
    execution_status: &str,
    error: Option<&str>,
    cause: Option<&str>,
) -> Option<(JobStatus, String)> {
    let (job, reason) = outcome(execution_status)?;
    let detail = match (
        error.filter(|e| !e.is_empty()),
        cause.filter(|c| !c.is_empty()),
    ) {
        (None, None) => return Some((job, reason.to_string())),
        (Some(e), None) => e.to_string(),
        (None, Some(c)) => shorten(c),
        (Some(e), Some(c)) => format!("{e}: {}", shorten(c)),
    };
    Some((job, format!("{reason} [{detail}]")))
}

fn shorten(cause: &str) -> String {
    match cause.char_indices().nth(MAX_CAUSE_CHARS) {
        Some((cut, _)) => format!("{}...", &cause[..cut]),
        None => cause.to_string(),
    }
}

const UPDATE_ITEM: &str = "arn:${AWS::Partition}:states:::dynamodb:updateItem";

fn state_name(execution_status: &str) -> String {
    let camel: String = execution_status
        .split('_')
        .map(|w| w[..1].to_string() + &w[1..].to_ascii_lowercase())
        .collect();
    format!("Record{camel}")
}

/// The reconcile state machine, with `${TableName}` where the table name goes. Its input is the
/// EventBridge event.
pub fn definition() -> Value {
    let table = format!("${{{TABLE_NAME_VAR}}}");
    let mut states = serde_json::Map::new();
    let choices: Vec<Value> = OUTCOMES
        .iter()
        .map(|(s, _, _)| json!({ "Variable": "$.detail.status", "StringEquals": s, "Next": state_name(s) }))
        .collect();
    states.insert(
        "Route".into(),
        json!({
            "Type": "Choice",
            "Comment": "The job status and reason for how the execution ended",
            "Choices": choices,
            "Default": "Done"
        }),
    );
    for (status, job, error) in OUTCOMES {
        states.insert(state_name(status), record(&table, job, error));
    }
    states.insert("Done".into(), json!({ "Type": "Succeed" }));
    json!({
        "Comment": "waitable: move a job whose execution ended abnormally out of STARTED",
        "StartAt": "Route",
        "States": states
    })
}

/// The event names the execution, and a job's first run is named after it: the write holds
/// only while the row is at its first run (no `Run`), so stopping a rescheduled job's old run
/// never cancels the job. A later run (`{Id}.r{k}`) names no row: its abnormal end is left to
/// `waitable reconcile`, which asks the row's current run's execution.
fn first_run_only(mut params: Value) -> Value {
    let condition = params["ConditionExpression"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    params["ConditionExpression"] = format!("{condition} AND attribute_not_exists(#run)").into();
    params["ExpressionAttributeNames"]["#run"] = super::runs::ATTR_RUN.into();
    params
}

fn record(table: &str, job: JobStatus, error: &str) -> Value {
    json!({
        "Type": "Task",
        "Comment": "Only a row still STARTED at its first run changes: a job that recorded its own end, or moved on to a later run, keeps it",
        "Resource": UPDATE_ITEM,
        "Parameters": first_run_only(set_status_if_started(
            table,
            super::runs::run_key("$.detail.name"),
            job,
            Some(json!({ "S": error })),
        )),
        "ResultPath": null,
        "Retry": super::state_machine::retry(),
        "Catch": [{ "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "Next": "Done" }],
        "End": true
    })
}

/// The definition as JSON text with its placeholders filled in, as `Fn::Sub` would.
pub fn resolved(table_name: &str, partition: &str) -> String {
    let text = serde_json::to_string(&definition()).expect("a JSON value serialises");
    substitute(
        &text,
        &[(TABLE_NAME_VAR, table_name), ("AWS::Partition", partition)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_abnormal_ending_leaves_started() {
        assert_eq!(outcome("TIMED_OUT").unwrap().0, JobStatus::Failed);
        assert_eq!(outcome("FAILED").unwrap().0, JobStatus::Failed);
        assert_eq!(outcome("ABORTED").unwrap().0, JobStatus::Cancelled);
        assert_eq!(outcome("SUCCEEDED"), None);
        assert_eq!(outcome("RUNNING"), None);
        assert!(OUTCOMES.iter().all(|(_, _, e)| e.contains(": ")));
    }

    #[test]
    fn the_executions_own_error_and_cause_are_kept_with_the_reason() {
        let (job, reason) = outcome_with_detail(
            "FAILED",
            Some("States.Runtime"),
            Some("The response content type application/octet-stream is not supported"),
        )
        .unwrap();
        assert_eq!(job, JobStatus::Failed);
        assert!(reason.starts_with("ExecutionFailed: "), "{reason}");
        assert!(
            reason.ends_with("[States.Runtime: The response content type application/octet-stream is not supported]"),
            "{reason}"
        );
        let (_, plain) = outcome_with_detail("ABORTED", None, Some("")).unwrap();
        assert_eq!(plain, outcome("ABORTED").unwrap().1);
        let long = "x".repeat(40_000);
        let (_, cut) = outcome_with_detail("TIMED_OUT", None, Some(&long)).unwrap();
        assert!(cut.len() < 1_200, "{}", cut.len());
        assert_eq!(outcome_with_detail("SUCCEEDED", Some("e"), None), None);
    }

    #[test]
    fn each_ending_routes_to_a_conditional_write_of_its_outcome() {
        let d = definition();
        for (status, job, error) in OUTCOMES {
            let rule = d["States"]["Route"]["Choices"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["StringEquals"] == status)
                .unwrap();
            let task = &d["States"][rule["Next"].as_str().unwrap()];
            let values = &task["Parameters"]["ExpressionAttributeValues"];
            let to = format!(":{}", job.as_str().to_ascii_lowercase());
            assert_eq!(values[to.as_str()]["S"], job.as_str());
            assert_eq!(values[":error"]["S"], error);
            assert_eq!(values[":started"]["S"], "STARTED");
            assert_eq!(
                task["Parameters"]["ConditionExpression"],
                "#status = :started AND attribute_not_exists(#run)"
            );
            assert_eq!(task["Parameters"]["Key"]["Id"]["S.$"], "$.detail.name");
            assert_eq!(task["Catch"][0]["Next"], "Done");
        }
        assert!(!resolved("t", "aws").contains("${"));
    }
}
