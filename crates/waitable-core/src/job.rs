//! Job records as stored in the jobs table, and what a caller asks for when submitting.
//!
//! Attribute names are the sample's (`Id`, `StartActionAt`, `ProcessStatus`, `LastUpdated`) so
//! its clients keep working; `Payload` and `Error` are ours.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::payload::{Payload, same_json};
use super::retention::{self, INPUT_EXPIRES_AT};
use super::timestamp::parse_wire;

pub const ATTR_ID: &str = "Id";
pub const ATTR_START_ACTION_AT: &str = "StartActionAt";
pub const ATTR_PROCESS_STATUS: &str = "ProcessStatus";
pub const ATTR_LAST_UPDATED: &str = "LastUpdated";
pub const ATTR_PAYLOAD: &str = "Payload";
pub const ATTR_ERROR: &str = "Error";
/// When the job fired: set by the claim at fire time (or, without delivery targets, by the
/// write that completes it). A job with it is never cancelled.
pub const ATTR_FIRED_AT: &str = "FiredAt";

/// Field names of the execution input (the HTTP contract's POST body).
pub const INPUT_START_TIMESTAMP: &str = "StartTimestamp";
pub const INPUT_ID: &str = "Id";
pub const INPUT_PAYLOAD: &str = "Payload";
/// The input's `Payload` of a job submitted without one: JSON text, so the delivery message
/// carries `"Payload":null` (a submitted payload is always an object, never this).
pub const NO_PAYLOAD: &str = "null";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Started,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [
        JobStatus::Started,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Started => "STARTED",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelled => "CANCELLED",
        }
    }

    /// A terminal job will not change again.
    pub fn is_terminal(self) -> bool {
        !matches!(self, JobStatus::Started)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is none of [`JobStatus::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {name:?}: expected one of STARTED, COMPLETED, FAILED, CANCELLED")]
pub struct UnknownStatus {
    pub name: String,
}

impl FromStr for JobStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownStatus {
                name: s.to_string(),
            })
    }
}

/// The one write that moves a job out of STARTED: the Parameters of a DynamoDB UpdateItem on
/// `table` at `key` that sets `status`, LastUpdated (the state's entered time) and, when
/// given, `error` (a DynamoDB S value), only while the row still says STARTED, so a job that
/// already ended (say, cancelled) keeps its end. The jobs state machine (complete, fail) and
/// the reconcile machine use it.
pub(crate) fn set_status_if_started(
    table: &str,
    key: Value,
    status: JobStatus,
    error: Option<Value>,
) -> Value {
    let to = format!(":{}", status.as_str().to_ascii_lowercase());
    let mut set = format!("SET #status = {to}, #updated = :now");
    let mut names = json!({ "#status": ATTR_PROCESS_STATUS, "#updated": ATTR_LAST_UPDATED });
    let mut values = Map::new();
    values.insert(to, json!({ "S": status.as_str() }));
    values.insert(
        ":started".into(),
        json!({ "S": JobStatus::Started.as_str() }),
    );
    values.insert(":now".into(), json!({ "S.$": "$$.State.EnteredTime" }));
    if let Some(error) = error {
        set.push_str(", #error = :error");
        names["#error"] = ATTR_ERROR.into();
        values.insert(":error".into(), error);
    }
    json!({
        "TableName": table,
        "Key": key,
        "UpdateExpression": set,
        "ConditionExpression": "#status = :started",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values
    })
}

/// One row of the jobs table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "StartActionAt")]
    pub start_action_at: String,
    /// Kept as text: a row written by something else may hold a status we do not know.
    #[serde(rename = "ProcessStatus")]
    pub process_status: String,
    #[serde(
        rename = "LastUpdated",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_updated: Option<String>,
    #[serde(rename = "Payload", default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    #[serde(rename = "Error", default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When every delivery target took the job's message (stacks with `--deliver`).
    #[serde(
        rename = "DeliveredAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub delivered_at: Option<String>,
    /// When the job fired (the claim at fire time): from then on it cannot be cancelled.
    #[serde(rename = "FiredAt", default, skip_serializing_if = "Option::is_none")]
    pub fired_at: Option<String>,
    /// The delivery targets that took the job's message, in delivery order (`queue`,
    /// `topic`, `bus`, `webhook`): all of them on a delivered job; on one whose delivery
    /// failed, those before the target its `Error` names.
    #[serde(rename = "DeliveredTo", default, skip_serializing_if = "Vec::is_empty")]
    pub delivered_to: Vec<String>,
    /// The job's current run (`waitable_core::runs`): absent on its first, 2 and up once
    /// `retry` or `reschedule` started another.
    #[serde(rename = "Run", default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u32>,
}

impl JobRecord {
    pub fn status(&self) -> Option<JobStatus> {
        self.process_status.parse().ok()
    }

    /// The idempotency rule on a stored row: it records `request` when its StartActionAt is
    /// the request's time and its payload is the same JSON ([`same_json`]).
    pub fn records(&self, request: &JobRequest) -> bool {
        self.id == request.id
            && self.start_action_at == request.at
            && match (&self.payload, &request.payload) {
                (Some(a), Some(b)) => same_json(a.as_str(), b.as_str()),
                (None, None) => true,
                _ => false,
            }
    }
}

/// A validated request to start one job: `at` is already normalised (UTC, `Z`, whole seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct JobRequest {
    pub id: String,
    pub at: String,
    pub payload: Option<Payload>,
}

impl JobRequest {
    /// The execution input this job starts with on a stack that keeps finished jobs
    /// `retention_days` (see [`execution_input`]).
    pub fn execution_input(&self, retention_days: u32) -> Value {
        let mut input = execution_input(
            &self.at,
            self.payload.as_ref().map(Payload::as_str),
            retention_days,
        );
        // The job's run: the machine keys every write after the first by it (`runs`).
        input[crate::runs::INPUT_RUN] = crate::runs::first_run(&self.id);
        input
    }
}

/// The execution input, exactly as the HTTP contract's POST body maps it (the one builder:
/// the CLI on both targets and the local HTTP layer use it). It always carries `Payload` and
/// `ExpiresAt`, so the state machine picks its first write with one Choice. The Payload
/// travels as JSON text (a string; [`NO_PAYLOAD`] when none was given): the state machine
/// stores `$.Payload` as a DynamoDB S attribute and puts it in the delivery message as it is.
/// `ExpiresAt` is the TTL ([`retention::expires_at`] of the StartTimestamp), as the API's POST
/// template works it out; a StartTimestamp that is not a wire timestamp (which the state
/// machine refuses before any use of it) gets [`retention::KEEP_FOREVER`].
pub fn execution_input(at: &str, payload_text: Option<&str>, retention_days: u32) -> Value {
    let mut input = Map::new();
    input.insert(INPUT_START_TIMESTAMP.into(), at.into());
    input.insert(
        INPUT_PAYLOAD.into(),
        payload_text.unwrap_or(NO_PAYLOAD).into(),
    );
    let expires = match parse_wire(at) {
        Some(start) => retention::expires_at(start.timestamp(), retention_days),
        None => retention::KEEP_FOREVER.to_string(),
    };
    input.insert(INPUT_EXPIRES_AT.into(), expires.into());
    Value::Object(input)
}

/// The retention to measure an input's size with: the longest `ExpiresAt` (keep forever).
pub const LONGEST_EXPIRY: u32 = 0;

/// The idempotency rule: two execution inputs are the same job when they are equal as JSON,
/// with a string `Payload` compared as the JSON it holds ([`same_json`]). So key order and
/// spacing inside the payload do not matter (`{"a":1,"b":2}` is `{"b":2,"a":1}`); the time and
/// the values do. `ExpiresAt` is not compared: it is derived from the time and the stack's
/// retention, so a job sent through the API and then the CLI, or again after `RetentionDays`
/// changed, is the same job. A `Payload` of [`NO_PAYLOAD`] is the same as none (an input
/// started before the input always carried one).
pub fn same_job(a: &Value, b: &Value) -> bool {
    let payload_text = |input: &Value| match input.get(INPUT_PAYLOAD) {
        None => None,
        Some(Value::String(text)) if text == NO_PAYLOAD => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => Some(other.to_string()),
    };
    let rest = |input: &Value| match input {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| {
                    ![INPUT_PAYLOAD, INPUT_EXPIRES_AT, crate::runs::INPUT_RUN].contains(&k.as_str())
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    // serde_json's maps compare as maps: the order of keys does not count.
    rest(a) == rest(b)
        && match (payload_text(a), payload_text(b)) {
            (Some(x), Some(y)) => same_json(&x, &y),
            (x, y) => x == y,
        }
}

/// [`same_job`] on execution inputs as text (what DescribeExecution gives back); text that is
/// not JSON is only the same as itself.
pub fn same_job_text(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(x), Ok(y)) => same_job(&x, &y),
        _ => a == b,
    }
}

/// The answer to a submit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    #[serde(rename = "jobId")]
    pub job_id: String,
    #[serde(rename = "executionArn")]
    pub execution_arn: String,
    /// The same job had been submitted before: nothing new was started.
    #[serde(rename = "alreadySubmitted")]
    pub already_submitted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_and_rejects_unknown() {
        for st in JobStatus::ALL {
            assert_eq!(st.as_str().parse::<JobStatus>().unwrap(), st);
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
        }
        assert_eq!(
            "completed".parse::<JobStatus>().unwrap(),
            JobStatus::Completed
        );
        assert!("DONE".parse::<JobStatus>().is_err());
        assert!(!JobStatus::Started.is_terminal());
        assert!(JobStatus::Cancelled.is_terminal());
    }

    #[test]
    fn record_uses_the_table_attribute_names() {
        let rec = JobRecord {
            id: "a".into(),
            start_action_at: "2026-01-01T00:00:00Z".into(),
            process_status: "FAILED".into(),
            last_updated: None,
            payload: None,
            error: Some("States.Timeout".into()),
            delivered_at: None,
            fired_at: None,
            delivered_to: vec![],
            run: None,
        };
        let v = serde_json::to_value(&rec).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"Id": "a", "StartActionAt": "2026-01-01T00:00:00Z",
                "ProcessStatus": "FAILED", "Error": "States.Timeout"})
        );
        assert_eq!(rec.status(), Some(JobStatus::Failed));
    }

    #[test]
    fn execution_input_matches_the_http_body() {
        let mut req = JobRequest {
            id: "x".into(),
            at: "2026-01-01T00:00:00Z".into(),
            payload: None,
        };
        // 2026-01-01T00:00:00Z is 1767225600; plus 90 days.
        assert_eq!(
            req.execution_input(90),
            serde_json::json!({"StartTimestamp": "2026-01-01T00:00:00Z", "Payload": "null", "ExpiresAt": "1775001600",
                "Run": {"Id": "x", "Number": "1"}})
        );
        assert_eq!(
            req.execution_input(0)["ExpiresAt"],
            crate::retention::KEEP_FOREVER
        );
        req.payload = Some(Payload::parse(r#"{"k":[1]}"#).unwrap());
        assert_eq!(
            req.execution_input(1).to_string(),
            r#"{"StartTimestamp":"2026-01-01T00:00:00Z","Payload":"{\"k\":[1]}","ExpiresAt":"1767312000","Run":{"Id":"x","Number":"1"}}"#
        );
        // Not a wire timestamp: kept forever (ValidateInput records it FAILED without it).
        assert_eq!(
            execution_input("2026-01-01", None, 90)["ExpiresAt"],
            crate::retention::KEEP_FOREVER
        );
        // The size check measures with the longest expiry.
        for days in [1, 90, crate::retention::MAX_RETENTION_DAYS] {
            assert!(
                req.execution_input(days).to_string().len()
                    <= req.execution_input(LONGEST_EXPIRY).to_string().len()
            );
        }
    }

    #[test]
    fn same_job_ignores_the_derived_expiry() {
        let at = "2026-01-01T00:00:00Z";
        let payload = Some(r#"{"a":1}"#);
        let cli = execution_input(at, payload, 90);
        // Through the API (the POST template adds ExpiresAt), after RetentionDays changed,
        // or started without one: the same job.
        for other in [
            execution_input(at, payload, 30),
            execution_input(at, payload, 0),
            serde_json::json!({"StartTimestamp": at, "Payload": r#"{"a":1}"#}),
        ] {
            assert!(same_job(&cli, &other), "{other}");
            assert!(same_job(&other, &cli), "{other}");
        }
        // No payload: "null" as the input carries it now, or none as older inputs did.
        for other in [
            execution_input(at, None, 0),
            serde_json::json!({"StartTimestamp": at}),
        ] {
            let cli = execution_input(at, None, 90);
            assert!(same_job(&cli, &other), "{other}");
            assert!(same_job(&other, &cli), "{other}");
        }
        assert!(!same_job(
            &cli,
            &execution_input("2026-01-01T00:00:01Z", payload, 90)
        ));
        assert!(!same_job(&cli, &execution_input(at, None, 90)));
    }

    #[test]
    fn same_job_ignores_key_order_and_spacing_but_not_content() {
        let a = r#"{"StartTimestamp":"2026-01-01T00:00:00Z","Payload":"{\"a\":1,\"b\":2}"}"#;
        let cases = [
            (
                r#"{"Payload": "{ \"b\": 2, \"a\": 1 }", "StartTimestamp": "2026-01-01T00:00:00Z"}"#,
                true,
            ),
            (
                r#"{"StartTimestamp":"2026-01-01T00:00:00Z","Payload":"{\"a\":1,\"b\":3}"}"#,
                false,
            ),
            (
                r#"{"StartTimestamp":"2026-01-01T00:00:01Z","Payload":"{\"a\":1,\"b\":2}"}"#,
                false,
            ),
            (r#"{"StartTimestamp":"2026-01-01T00:00:00Z"}"#, false),
            ("not json", false),
        ];
        for (b, same) in cases {
            assert_eq!(same_job_text(a, b), same, "{b}");
            assert_eq!(same_job_text(b, a), same, "{b}");
        }
        assert!(same_job_text("not json", "not json"));
        let nested = |p: &str| execution_input("2026-01-01T00:00:00Z", Some(p), 90);
        assert!(same_job(
            &nested(r#"{"x":{"a":1,"b":[1,2]}}"#),
            &nested(r#"{"x":{"b":[1,2],"a":1}}"#)
        ));
        assert!(!same_job(
            &nested(r#"{"x":[1,2]}"#),
            &nested(r#"{"x":[2,1]}"#)
        ));
    }
}
