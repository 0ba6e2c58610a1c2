//! A job's runs: `retry` runs a FAILED or CANCELLED job again, `reschedule` moves a waiting
//! one. The job keeps its Id and its row; each run is an execution of its own.
//!
//! Step Functions keeps an execution's name for 90 days after it closed, so a job's later
//! runs need names of their own: run 1 is named after the Id, run `k >= 2` [`execution_name`]
//! `{Id}.r{k}` ('.' is not allowed in an Id, so no job's first run can take it; an Id too long
//! for the 80-character limit is shortened and a hash of the whole Id added). The row's `Run`
//! attribute ([`ATTR_RUN`], a number; absent = 1) names the current run.
//!
//! Every execution input carries its run ([`INPUT_RUN`]: the job's `Id` and the run's
//! `Number`; a later run also its `Previous` run and its `Kind`). A later run's first write
//! moves the row to it only if the row is still at `Previous` (a retry: FAILED or CANCELLED;
//! a reschedule: STARTED and not fired), else the run ends in `RunRefused` without touching
//! the row. Every later write of any run is conditional on the row's `Run` being its own, so an
//! old run can never overwrite a newer one, and a moved job's old run can no longer fire.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::job::{ATTR_ID, INPUT_PAYLOAD, INPUT_START_TIMESTAMP, JobRecord, JobStatus, NO_PAYLOAD};
use crate::limits::MAX_ID_LEN;
use crate::payload::Payload;
use crate::retention::{self, INPUT_EXPIRES_AT};
use crate::timestamp::parse_wire;

/// The row's attribute naming its current run (DynamoDB `N`); absent on a job's first run.
pub const ATTR_RUN: &str = "Run";
/// The execution input's run: `{"Id", "Number", "Previous"?, "Kind"?}` (numbers as text, as
/// DynamoDB's `N` takes them).
pub const INPUT_RUN: &str = "Run";
pub const RUN_ID: &str = "Id";
pub const RUN_NUMBER: &str = "Number";
pub const RUN_PREVIOUS: &str = "Previous";
pub const RUN_KIND: &str = "Kind";
/// The error of a later run whose first write was refused.
pub const ERROR_RUN_REFUSED: &str = "RunRefused";

/// Why a later run is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// A FAILED or CANCELLED job runs again.
    Retry,
    /// A waiting job moves to another time.
    Reschedule,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Retry => "retry",
            RunKind::Reschedule => "reschedule",
        }
    }
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The row's current run (absent = 1).
pub fn current_run(job: &JobRecord) -> u32 {
    job.run.unwrap_or(1)
}

/// The execution name of run `run` of job `id`: the Id for run 1, `{Id}.r{run}` after it;
/// when that is over [`MAX_ID_LEN`], the Id is cut and an 8-digit hash of all of it added
/// (`{cut}.{hash}.r{run}`), so two long Ids sharing a prefix still get names of their own.
pub fn execution_name(id: &str, run: u32) -> String {
    if run <= 1 {
        return id.to_string();
    }
    let suffix = format!(".r{run}");
    if id.len() + suffix.len() <= MAX_ID_LEN {
        return format!("{id}{suffix}");
    }
    let hash = format!(".{:08x}", fnv1a(id) as u32);
    let keep = MAX_ID_LEN - suffix.len() - hash.len();
    // Ids are ASCII, so any byte index is a character boundary.
    format!("{}{hash}{suffix}", &id[..keep])
}

/// FNV-1a, 64 bits: a stable hash with no dependency.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The run field of a job's first execution input.
pub fn first_run(id: &str) -> Value {
    json!({ RUN_ID: id, RUN_NUMBER: "1" })
}

/// The execution input of run `run` of `job` (`kind`), due `at` (a wire timestamp), on a
/// stack keeping finished jobs `retention_days`: the job's payload as stored.
pub fn run_input(job: &JobRecord, run: u32, kind: RunKind, at: &str, retention_days: u32) -> Value {
    let expires = match parse_wire(at) {
        Some(start) => retention::expires_at(start.timestamp(), retention_days),
        None => retention::KEEP_FOREVER.to_string(),
    };
    json!({
        INPUT_START_TIMESTAMP: at,
        INPUT_PAYLOAD: job.payload.as_ref().map_or(NO_PAYLOAD, Payload::as_str),
        INPUT_EXPIRES_AT: expires,
        INPUT_RUN: {
            RUN_ID: job.id,
            RUN_NUMBER: run.to_string(),
            RUN_PREVIOUS: (run - 1).to_string(),
            RUN_KIND: kind.as_str(),
        }
    })
}

/// Why a job cannot be run again or moved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunRefused {
    #[error("job {id} is {status}: only a FAILED or CANCELLED job can be retried")]
    NotFinished { id: String, status: String },
    #[error("job {id} fired at {at}; cannot reschedule")]
    Fired { id: String, at: String },
    #[error(
        "job {id} is {status}: only a waiting (STARTED) job can be rescheduled; to run it again use `waitable retry {id} --at ...`"
    )]
    NotWaiting { id: String, status: String },
    #[error(
        "job {id} changed meanwhile (it is now {status}, run {run}); look at `waitable show {id}` and try again"
    )]
    Moved {
        id: String,
        status: String,
        run: u32,
    },
}

/// The next run of `job` for `kind`, or why there is none.
pub fn next_run(job: &JobRecord, kind: RunKind) -> Result<u32, RunRefused> {
    let id = job.id.clone();
    let status = job.process_status.clone();
    match (kind, job.status()) {
        (RunKind::Retry, Some(JobStatus::Failed | JobStatus::Cancelled)) => {}
        (RunKind::Retry, _) => return Err(RunRefused::NotFinished { id, status }),
        (RunKind::Reschedule, Some(JobStatus::Started)) => {
            if let Some(at) = &job.fired_at {
                return Err(RunRefused::Fired { id, at: at.clone() });
            }
        }
        (RunKind::Reschedule, _) => return Err(RunRefused::NotWaiting { id, status }),
    }
    Ok(current_run(job) + 1)
}

/// Why run `run` of a job was refused, from the row as it is now.
pub fn refusal(job: &JobRecord, kind: RunKind, run: u32) -> RunRefused {
    match next_run(job, kind) {
        Err(why) => why,
        Ok(_) => RunRefused::Moved {
            id: job.id.clone(),
            status: job.process_status.clone(),
            run: current_run(job).max(run),
        },
    }
}

/// The job's key from an execution's input and name: its run's Id and number, else (an input
/// without a run) the name as the Id of run 1. The local engine's reconcile uses it as the
/// aws reconcile machine does.
pub fn run_of(input: &Value, name: &str) -> (String, u32) {
    let run = &input[INPUT_RUN];
    match (run[RUN_ID].as_str(), run[RUN_NUMBER].as_str()) {
        (Some(id), Some(n)) => (id.to_string(), n.parse().unwrap_or(1)),
        _ => (name.to_string(), 1),
    }
}

/// What starting a later run came to: `moved` when its first write moved the row to it;
/// `job` is the row as the run's start left it (absent when it is gone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedRun {
    pub execution_arn: String,
    pub moved: bool,
    pub job: Option<JobRecord>,
}

/// What `retry` and `reschedule` print when the job moved to its new run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDone {
    pub job_id: String,
    pub run: u32,
    pub kind: &'static str,
    pub start_action_at: String,
    pub execution_arn: String,
}

impl fmt::Display for RunDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "job {}: run {} ({}) due at {}\nexecution: {}",
            self.job_id, self.run, self.kind, self.start_action_at, self.execution_arn
        )
    }
}

/// One run of a job, as `show` lists it: its execution and how that stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub run: u32,
    pub execution: String,
    /// RUNNING, SUCCEEDED, FAILED, ABORTED, TIMED_OUT; `MISSING` once Step Functions forgot it.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// Why it failed (a refused run says `RunRefused`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The condition every write of a run after its first carries: the row is at this run.
pub const RUN_IS_CURRENT: &str = "(attribute_not_exists(#run) OR #run = :run)";

/// The names and values [`RUN_IS_CURRENT`] uses, with the run number read from `number_path`.
pub fn run_is_current_params(number_path: &str) -> (Value, Value) {
    (json!(ATTR_RUN), json!({ "N.$": number_path }))
}

/// The key of a run's writes: the Id its input carries.
pub fn run_key(id_path: &str) -> Value {
    json!({ ATTR_ID: { "S.$": id_path } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: &str, run: Option<u32>, fired: Option<&str>) -> JobRecord {
        JobRecord {
            id: "a".into(),
            start_action_at: "2030-01-01T00:00:00Z".into(),
            process_status: status.into(),
            last_updated: None,
            payload: Some(Payload::from_stored(r#"{"n":1}"#)),
            error: None,
            delivered_at: None,
            fired_at: fired.map(String::from),
            delivered_to: vec![],
            run,
        }
    }

    #[test]
    fn names_fit_the_limit_and_stay_apart() {
        assert_eq!(execution_name("job-1", 1), "job-1");
        assert_eq!(execution_name("job-1", 2), "job-1.r2");
        let long = "x".repeat(MAX_ID_LEN);
        let other = format!("{}y", "x".repeat(MAX_ID_LEN - 1));
        for run in [2, 10, 999_999] {
            let a = execution_name(&long, run);
            let b = execution_name(&other, run);
            assert!(a.len() <= MAX_ID_LEN && b.len() <= MAX_ID_LEN, "{a} {b}");
            assert_ne!(a, b);
            assert!(a.ends_with(&format!(".r{run}")), "{a}");
        }
        // Just fits: kept whole.
        let fits = "z".repeat(MAX_ID_LEN - 3);
        assert_eq!(execution_name(&fits, 2), format!("{fits}.r2"));
        assert_eq!(execution_name(&fits, 10).len(), MAX_ID_LEN);
        // A later run's name is never a valid Id, so it never is a first run's.
        assert!(!crate::job_id::is_valid_id(&execution_name("job-1", 2)));
    }

    #[test]
    fn retry_and_reschedule_follow_the_status() {
        assert_eq!(next_run(&job("FAILED", None, None), RunKind::Retry), Ok(2));
        assert_eq!(
            next_run(&job("CANCELLED", Some(3), None), RunKind::Retry),
            Ok(4)
        );
        assert!(matches!(
            next_run(&job("STARTED", None, None), RunKind::Retry),
            Err(RunRefused::NotFinished { .. })
        ));
        assert_eq!(
            next_run(&job("STARTED", Some(2), None), RunKind::Reschedule),
            Ok(3)
        );
        let fired = next_run(
            &job("STARTED", None, Some("2030-01-01T00:00:00.1Z")),
            RunKind::Reschedule,
        );
        assert_eq!(
            fired.unwrap_err().to_string(),
            "job a fired at 2030-01-01T00:00:00.1Z; cannot reschedule"
        );
        assert!(matches!(
            next_run(&job("COMPLETED", None, None), RunKind::Reschedule),
            Err(RunRefused::NotWaiting { .. })
        ));
    }

    #[test]
    fn a_run_input_carries_the_stored_payload_and_its_run() {
        let input = run_input(
            &job("FAILED", None, None),
            2,
            RunKind::Retry,
            "2030-01-01T00:00:00Z",
            0,
        );
        assert_eq!(input["Payload"], r#"{"n":1}"#);
        assert_eq!(
            input["Run"],
            json!({"Id": "a", "Number": "2", "Previous": "1", "Kind": "retry"})
        );
        assert_eq!(run_of(&input, "a.r2"), ("a".to_string(), 2));
        assert_eq!(run_of(&json!({}), "b"), ("b".to_string(), 1));
    }
}
