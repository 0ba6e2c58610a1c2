//! The local API's protocol: its routes and the bodies they take and give, shared by the
//! server (`http`) and the CLI's side of it (`backend`, `process`). The public routes are the
//! documented HTTP contract (`POST /`, `GET /status`, see README.md); the `/_waitable/...` routes are
//! private to the CLI and the tests.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use waitable_core::job::{JobRecord, JobStatus};
use waitable_core::status_index::{self, DueWindow};

/// `POST /`: submit a job (`{"StartTimestamp", "Id"?, "Payload"?}` -> [`Accepted`]).
pub const SUBMIT: &str = "/";
/// `GET /status`: one page of the status table (`?limit=&nextToken=`).
pub const STATUS: &str = "/status";
/// `GET`: which engine answers ([`Health`]).
pub const HEALTH: &str = "/_waitable/health";
/// `POST`: the same as `POST /`, answering [`waitable_core::job::Submitted`].
pub const SUBMIT_PRIVATE: &str = "/_waitable/submit";
/// `POST` [`StartExecution`]: an execution with any input, bypassing the API's checks.
pub const EXECUTIONS: &str = "/_waitable/executions";
/// `POST` [`CancelRequest`] -> [`CancelAnswer`].
pub const CANCEL: &str = "/_waitable/cancel";
/// `POST` [`RunRequest`] -> [`waitable_core::runs::StartedRun`]: a later run of a job.
pub const RUNS: &str = "/_waitable/runs";
/// `POST` [`RunRequest`] (its `at` unused) -> `null`: stops that run of the job.
pub const RUNS_STOP: &str = "/_waitable/runs/stop";
/// `POST` a job record -> its [`waitable_core::runs::RunSummary`]s.
pub const RUNS_LIST: &str = "/_waitable/runs/list";
/// `GET ?limit=&nextToken=` -> [`JobsPage`] (full records, with Payload).
pub const JOBS: &str = "/_waitable/jobs";
/// `POST` an array of job records -> [`SeedAnswer`].
pub const SEED: &str = "/_waitable/seed";
/// `POST` [`ReloadRequest`]: the definition new executions use.
pub const RELOAD: &str = "/_waitable/reload";
/// `POST`: cancel every waiting job and stop -> [`DestroyAnswer`].
pub const DESTROY: &str = "/_waitable/destroy";
/// `POST` [`QueueReceive`] -> the visible messages of the stack's delivery queue, hidden for
/// 30 s ([`crate::local::engine::QueueMessage`]s).
pub const QUEUE_RECEIVE: &str = "/_waitable/queue/receive";
/// `POST` [`QueueDelete`] -> `{"deleted": n}`.
pub const QUEUE_DELETE: &str = "/_waitable/queue/delete";
/// Sweeps STARTED jobs (`waitable reconcile`): body `{"ids": [...], "dryRun": bool}`.
pub const RECONCILE: &str = "/_waitable/reconcile";
/// `GET`: the (event, state, at_ms) history of one execution (the route's pattern).
pub const HISTORY: &str = "/_waitable/history/{name}";

/// [`HISTORY`] for execution `name` (a job Id: no character needs escaping).
pub fn history_path(name: &str) -> String {
    HISTORY.replace("{name}", name)
}

/// The header carrying the caller's deadline (epoch milliseconds): past it, the engine does
/// not run the call's command (the caller gave up on it).
pub const DEADLINE_HEADER: &str = "x-waitable-deadline-ms";

/// [`JOBS`]' query parameters for a window on StartActionAt (with `status`, which reads the
/// status index; `GET /status` takes `status` only, as the deployed API).
pub const DUE_AFTER_PARAM: &str = "dueAfter";
pub const DUE_BEFORE_PARAM: &str = "dueBefore";

/// The path of one page of [`JOBS`].
pub fn jobs_path(limit: usize, next_token: Option<&str>) -> String {
    match next_token {
        Some(t) => format!("{JOBS}?limit={limit}&nextToken={t}"),
        None => format!("{JOBS}?limit={limit}"),
    }
}

/// The path of one page of [`JOBS`] for one status through the status index, in
/// StartActionAt order, within `window`.
pub fn jobs_by_status_path(
    status: JobStatus,
    window: &DueWindow,
    limit: usize,
    next_token: Option<&str>,
) -> String {
    let mut path = jobs_path(limit, next_token);
    path.push_str(&format!(
        "&{}={}",
        status_index::STATUS_PARAM,
        status.as_str()
    ));
    for (name, bound) in [
        (DUE_AFTER_PARAM, &window.after),
        (DUE_BEFORE_PARAM, &window.before),
    ] {
        if let Some(b) = bound {
            // Timestamps in the stored form need no escaping but `+` (an offset) would.
            path.push_str(&format!("&{name}={}", b.replace('+', "%2B")));
        }
    }
    path
}

/// What [`HEALTH`] answers: which engine this is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Health {
    pub stack: String,
    pub pid: u32,
    pub port: u16,
}

/// The body of [`SUBMIT`] and [`SUBMIT_PRIVATE`] as the CLI sends it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubmitRequest {
    pub id: String,
    pub start_timestamp: String,
    /// The payload's JSON text, sent as it is (byte for byte).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<waitable_core::payload::Payload>,
}

/// What [`SUBMIT`] answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub job_id: String,
    pub execution_arn: String,
    /// Whether a retry of the same request is safe (it is when the body names an `Id`), as the
    /// deployed API's answer says (`core::api::ANSWER_IDEMPOTENT`).
    pub idempotent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartExecution {
    pub name: String,
    #[serde(default)]
    pub input: Option<Value>,
}

/// Run `run` (`kind`) of job `id`, due `at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRequest {
    pub id: String,
    pub run: u32,
    pub kind: waitable_core::runs::RunKind,
    #[serde(default)]
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelRequest {
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelAnswer {
    pub job_id: String,
    pub job: JobRecord,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobsPage {
    pub items: Vec<JobRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedAnswer {
    pub seeded: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReloadRequest {
    pub definition: String,
    /// The stack's `RetentionDays`: the `ExpiresAt` of jobs submitted from now on.
    #[serde(rename = "retentionDays")]
    pub retention_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DestroyAnswer {
    pub cancelled_jobs: usize,
}

/// Every error answer: an error name and a one-line message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bodies_keep_their_wire_names() {
        let s = SubmitRequest {
            id: "a".into(),
            start_timestamp: "t".into(),
            payload: None,
        };
        assert_eq!(
            serde_json::to_value(s).unwrap(),
            json!({"Id": "a", "StartTimestamp": "t"})
        );
        assert_eq!(
            serde_json::to_value(CancelRequest { id: "a".into() }).unwrap(),
            json!({"Id": "a"})
        );
        assert_eq!(
            serde_json::to_value(DestroyAnswer { cancelled_jobs: 2 }).unwrap(),
            json!({"cancelledJobs": 2})
        );
        assert_eq!(
            jobs_path(5, Some("ab")),
            "/_waitable/jobs?limit=5&nextToken=ab"
        );
    }
}

/// The body of [`QUEUE_RECEIVE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueReceive {
    pub max: usize,
}

/// The body of [`QUEUE_DELETE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueDelete {
    pub handles: Vec<String>,
}
