//! The operations users see, one trait for both targets (`aws` and `local`).
//!
//! Commands are generic over [`Backend`], so the same command code (and the same behaviour
//! suite in `tests/`) drives both targets.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::Result;
use waitable_core::changeset::ResourceChange;
use waitable_core::delivery::received::Received;
use waitable_core::job::{JobRecord, JobRequest, JobStatus, Submitted};
use waitable_core::outputs::StackOutputs;
use waitable_core::status_index::DueWindow;

/// What `deploy` asks a target to make true (built by `commands::deploy` from the checked
/// `request::DeployRequest`).
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The synthesised CloudFormation template.
    pub template: Value,
    /// Template parameters given with `--parameter KEY=VALUE`, already checked against the template.
    pub parameters: Vec<(String, String)>,
    /// `--upload-template`: through the artifacts bucket even when the template fits inline
    /// (a target without one ignores it).
    pub upload_template: bool,
}

/// What a deploy would do, worked out before anything the user must confirm has changed.
/// `P` is the target's own record of the pending change, handed back to
/// [`Backend::apply`] or [`Backend::discard`].
pub enum DeployPlan<P> {
    /// Nothing to change: the stack's outputs as they are.
    UpToDate(StackOutputs),
    /// Changes to show the user and apply only after a yes.
    Review {
        changes: Vec<ResourceChange>,
        pending: P,
    },
    /// Changes the target applies without asking (the local stack: nothing in it is lost).
    Apply(P),
}

/// Which jobs `status` wants.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    /// Only this job.
    pub id: Option<String>,
    /// Only jobs in these statuses (empty: all).
    pub statuses: Vec<JobStatus>,
    /// Only jobs due within this window (`--due-after`, `--due-before`).
    pub window: DueWindow,
    /// The caller will not print payloads (the status table): a target may leave them out.
    pub skip_payloads: bool,
}

impl JobQuery {
    pub fn matches(&self, job: &JobRecord) -> bool {
        self.id.as_deref().is_none_or(|id| id == job.id)
            && (self.statuses.is_empty()
                || job.status().is_some_and(|s| self.statuses.contains(&s)))
            && (self.window.is_open() || self.window.selects(job))
    }

    /// Whether the status index answers this query (`waitable_core::status_index`): a status
    /// and no Id. Each status is then read in StartActionAt order.
    pub fn uses_index(&self) -> bool {
        self.id.is_none() && !self.statuses.is_empty()
    }
}

/// The result of a cancel that went through.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Cancelled {
    #[serde(rename = "jobId")]
    pub job_id: String,
    /// The job as it stands after the cancel (ProcessStatus CANCELLED).
    pub job: JobRecord,
}

/// What `destroy` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestroyReport {
    /// False when there was no stack to delete.
    pub existed: bool,
    /// Waiting jobs that were cancelled first.
    pub cancelled_jobs: usize,
    /// What was closed before the jobs were cancelled (the aws target: the execution-ended
    /// rule disabled, the API's stage throttled to 0).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closed_first: Vec<String>,
}

/// What a passing TestInvokeMethod check prints: it says what the check did not cover.
pub const API_CHECK_OK: &str = "API check: ok (TestInvokeMethod runs the API's resources without IAM authorization, not the deployed stage; `waitable check --live` calls the stage)";

/// What checking the deployed API found (a failure is an error, exit 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiCheck {
    Ok,
    /// The check could not run here, and why (one line).
    Skipped(String),
}

impl std::fmt::Display for ApiCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiCheck::Ok => f.write_str(API_CHECK_OK),
            ApiCheck::Skipped(why) => write!(f, "API check skipped: {why}"),
        }
    }
}

/// One request `check --live` sent to the deployed stage and what it answered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LiveProbe {
    /// `GET /status?limit=1`, `POST /`.
    pub request: String,
    pub signed: bool,
    pub expected: u16,
    pub status: u16,
}

impl std::fmt::Display for LiveProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if self.signed { "signed" } else { "unsigned" };
        write!(f, "live: {} ({how}) answered {}", self.request, self.status)
    }
}

/// What `check --live` found (a probe answering otherwise is an error, exit 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveCheck {
    Passed(Vec<LiveProbe>),
    /// The stage cannot be called from here, and why (one line).
    Skipped(String),
}

/// What `check --webhook` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "result")]
pub enum WebhookCheck {
    /// The webhook got the message as it is.
    Ok {
        url: String,
        /// The webhook's HTTP status, as TestState reports it.
        status: String,
    },
    /// Why nothing was sent (no webhook, or an endpoint without TestState).
    Skipped { reason: String },
}

impl std::fmt::Display for WebhookCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookCheck::Ok { url, status } => write!(
                f,
                "webhook: TestState sent POST {url} the message as it is (answered {status})"
            ),
            WebhookCheck::Skipped { reason } => write!(f, "webhook check skipped: {reason}"),
        }
    }
}

/// How a job sent through the stack's own API went in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiSubmit {
    Submitted(Submitted),
    /// This target's API cannot be called from here, and why (one line).
    Skipped(String),
}

/// What `waitable reconcile` asks: the STARTED jobs due before `due_before` (RFC 3339, UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileRequest {
    pub due_before: String,
    /// Report what would change, change nothing.
    pub dry_run: bool,
}

/// One STARTED job the sweep looked at, and what it did about it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciled {
    pub id: String,
    /// How its execution stands (`RUNNING`, `ABORTED`, ...; `MISSING` when there is none).
    pub execution_status: String,
    /// The row's new status, when the execution ended in a way the row must follow.
    pub new_status: Option<String>,
    pub error: Option<String>,
    /// The row was written (false on `--dry-run`, or when something else moved it first).
    pub changed: bool,
}

/// The execution status reported for a STARTED row without an execution.
pub const EXECUTION_MISSING: &str = "MISSING";

/// Why the local target has no stage of its own to call (its API is the engine).
pub const LOCAL_NO_STAGE: &str =
    "the local target has no API Gateway stage (its API is the engine on 127.0.0.1)";

/// Why `check --webhook` has nothing to ask of the local target: its engine sends the message
/// as it is, which its own tests check byte for byte.
pub const LOCAL_WEBHOOK_BODY: &str = "the local engine sends the message as it is (its tests check the bytes); only AWS can show how Step Functions sends it";

/// One target's implementation of the user-visible operations.
///
/// Implementations take their clients (SDK clients, a database handle) at construction;
/// nothing here builds a client of its own.
// Used with static dispatch only (commands are generic), so auto-trait bounds on the returned
// futures are not needed.
#[allow(async_fn_in_trait)]
pub trait Backend {
    /// A deploy worked out by [`Backend::plan`] and not yet applied.
    type Pending;

    /// True when [`Backend::plan`] may answer [`DeployPlan::Review`]: then deploy needs a
    /// terminal or `--yes`, which is checked before anything is sent.
    const DEPLOY_ASKS: bool;

    /// Checks the request and works out what a deploy would change, changing nothing the
    /// user has to confirm. Backends never ask the user: `commands::deploy` does.
    async fn plan(&self, deployment: &Deployment) -> Result<DeployPlan<Self::Pending>>;

    /// Makes the planned change and returns the stack's outputs.
    async fn apply(&self, pending: Self::Pending) -> Result<StackOutputs>;

    /// Drops a planned change that will not be applied (best effort: warns on failure).
    async fn discard(&self, pending: Self::Pending);

    /// The outputs of the deployed stack; a clear error when there is no stack.
    async fn outputs(&self) -> Result<StackOutputs>;

    /// The delivery targets the deployed stack has (none when there is no stack), so a
    /// deploy without `--deliver` keeps them.
    async fn deliveries(&self) -> Result<waitable_core::delivery::Deliveries>;

    /// Jobs per second `submit --file` sends when `--rate` is not given.
    fn default_rate(&self) -> u32 {
        waitable_core::limits::START_EXECUTION_RATE_LARGE
    }

    /// Starts one job. Idempotent: the same Id with the same input returns the same job with
    /// `already_submitted` set; the same Id with another input is an error.
    async fn submit(&self, job: &JobRequest) -> Result<Submitted>;

    /// Streams every job matching `query` to `sink`, page by page, in no particular order.
    async fn jobs(
        &self,
        query: &JobQuery,
        sink: &mut dyn FnMut(JobRecord) -> Result<()>,
    ) -> Result<()>;

    /// The row of job `id`, if there is one.
    async fn job(&self, id: &str) -> Result<Option<JobRecord>> {
        let query = JobQuery {
            id: Some(id.to_string()),
            ..JobQuery::default()
        };
        let mut found = None;
        self.jobs(&query, &mut |job| {
            found = Some(job);
            Ok(())
        })
        .await?;
        Ok(found)
    }

    /// Job `id`'s execution: its ARN and the timeline of its history (empty once gone).
    async fn execution(&self, id: &str) -> Result<waitable_core::show::Execution>;

    /// Starts run `run` (`kind`, due `at`) of `job` and waits for its first write: the row
    /// moved to the run, or the run was refused (`waitable_core::runs`).
    async fn start_run(
        &self,
        job: &JobRecord,
        run: (u32, waitable_core::runs::RunKind, &str),
    ) -> Result<waitable_core::runs::StartedRun> {
        let _ = (job, run);
        Err(crate::Error::failed("this target cannot run a job again"))
    }

    /// Stops run `run` of job `id` (a rescheduled job's old run).
    async fn stop_run(&self, id: &str, run: u32) -> Result<()> {
        let _ = (id, run);
        Err(crate::Error::failed("this target cannot stop a run"))
    }

    /// Every run of `job` with its execution's status and times.
    async fn runs(&self, job: &JobRecord) -> Result<Vec<waitable_core::runs::RunSummary>> {
        let _ = job;
        Ok(Vec::new())
    }

    /// Stops a waiting job's execution and marks it CANCELLED (only if still STARTED).
    async fn cancel(&self, id: &str) -> Result<Cancelled>;

    /// The pace a bulk `cancel` keeps: the target's StopExecution quota (one stop per job).
    fn cancel_quota(&self) -> waitable_core::limits::Quota {
        waitable_core::limits::STOP_EXECUTION_QUOTA_LARGE
    }

    /// How many jobs are waiting (STARTED), so `destroy` can say how many it will cancel.
    async fn waiting_jobs(&self) -> Result<usize> {
        let query = JobQuery {
            statuses: vec![JobStatus::Started],
            skip_payloads: true,
            ..JobQuery::default()
        };
        let mut n = 0;
        self.jobs(&query, &mut |_| {
            n += 1;
            Ok(())
        })
        .await?;
        Ok(n)
    }

    /// Up to `max` messages from the stack's delivery queue, waiting up to `wait` for the
    /// first; a clear error when the stack has no queue.
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Received>>;

    /// Deletes received messages by their handles; answers how many it deleted (a message
    /// that was received again after its visibility ran out is not: it will come again). SQS
    /// may count such a delete as done (see `aws::delivery_queue::delete`).
    async fn delete_received(&self, handles: &[String]) -> Result<usize>;

    /// Cancels waiting jobs, then deletes the stack and everything in it. The caller has
    /// asked the user already.
    async fn destroy(&self) -> Result<DestroyReport>;

    /// Where this target acts, as prompts and "does not exist" messages name it
    /// (`account 123456789012, region eu-west-1`); `None` when there is nothing to name.
    async fn location(&self) -> Result<Option<String>> {
        Ok(None)
    }

    /// Checks the live API of the deployed stack (`deploy` ends with it, `check` runs it).
    /// `None`: this target has nothing to check this way.
    async fn check_api(&self, _outputs: &StackOutputs) -> Result<Option<ApiCheck>> {
        Ok(None)
    }

    /// Calls the deployed stage as a client does, with signed requests (`check --live`).
    async fn check_live(&self, _outputs: &StackOutputs) -> Result<LiveCheck> {
        Ok(LiveCheck::Skipped(LOCAL_NO_STAGE.to_string()))
    }

    /// Runs the stack's webhook state once where the target can show the request it sent
    /// (`check --webhook`).
    async fn check_webhook(&self, _outputs: &StackOutputs) -> Result<WebhookCheck> {
        Ok(WebhookCheck::Skipped {
            reason: LOCAL_WEBHOOK_BODY.to_string(),
        })
    }

    /// Submits `job` through the stack's own API, as a client would (the canary's first leg).
    async fn submit_through_api(
        &self,
        _outputs: &StackOutputs,
        _job: &JobRequest,
    ) -> Result<ApiSubmit> {
        Ok(ApiSubmit::Skipped(LOCAL_NO_STAGE.to_string()))
    }

    /// Sweeps STARTED jobs whose time passed: asks how each one's execution ended and moves
    /// the row the way the reconcile would (`core::reconcile_machine`), unless `dry_run`.
    async fn reconcile(&self, request: &ReconcileRequest) -> Result<Vec<Reconciled>>;
}
