//! When a job may be cancelled, one rule for both targets: it is STARTED and has not fired.
//! Once the claim at fire time recorded `FiredAt`, its delivery is in progress (or done), and
//! a cancel would only mislabel a job whose message already went out. The rule is checked
//! twice: on the row read before anything changes (for the reason), and by the cancel's own
//! conditional write ([`CONDITION`]), which is what holds when the job fires meanwhile.

use serde::Serialize;
use thiserror::Error;

use crate::job::{ATTR_FIRED_AT, ATTR_PROCESS_STATUS, JobRecord, JobStatus};

/// The cancel write's condition; its names and values are [`NAMES`] and `:started`.
pub const CONDITION: &str = "#status = :started AND attribute_not_exists(#fired)";
/// Placeholder -> attribute of [`CONDITION`].
pub const NAMES: [(&str, &str); 2] = [("#status", ATTR_PROCESS_STATUS), ("#fired", ATTR_FIRED_AT)];
/// The value placeholder of [`CONDITION`] that holds `STARTED`.
pub const STARTED_VALUE: &str = ":started";

/// Why a job cannot be cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NotCancellable {
    #[error("job {id:?} fired at {at}; its delivery is in progress")]
    Delivering { id: String, at: String },
    #[error("job {id:?} was delivered at {at}")]
    Delivered { id: String, at: String },
    #[error(
        "job {id:?} is already {status}: only a STARTED job that has not fired can be cancelled"
    )]
    Finished { id: String, status: String },
}

/// Whether `job` may be cancelled, and why not.
pub fn check(job: &JobRecord) -> Result<(), NotCancellable> {
    let id = job.id.clone();
    if let Some(at) = &job.delivered_at {
        return Err(NotCancellable::Delivered { id, at: at.clone() });
    }
    match (job.status(), &job.fired_at) {
        (Some(JobStatus::Started), None) => Ok(()),
        (Some(JobStatus::Started), Some(at)) => {
            Err(NotCancellable::Delivering { id, at: at.clone() })
        }
        _ => Err(NotCancellable::Finished {
            id,
            status: job.process_status.clone(),
        }),
    }
}

/// What a bulk cancel did about one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Cancelled,
    /// COMPLETED, FAILED or CANCELLED before this cancel: nothing to do.
    AlreadyFinished,
    /// Fired and delivering: refused, its message may already be out.
    Delivering,
    Missing,
    /// Cancellable, but the cancel failed (the reason says why).
    Failed,
}

impl Outcome {
    /// The job ended the way a cancel wants: cancelled, or final already.
    pub fn is_settled(self) -> bool {
        matches!(self, Outcome::Cancelled | Outcome::AlreadyFinished)
    }
}

/// One job's line in a bulk cancel's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobOutcome {
    pub id: String,
    pub outcome: Outcome,
    /// The job's status once the cancel was done with it (none for a missing job).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl JobOutcome {
    pub fn new(id: &str, outcome: Outcome, row: Option<&JobRecord>) -> JobOutcome {
        JobOutcome {
            id: id.to_string(),
            outcome,
            process_status: row.map(|r| r.process_status.clone()),
            reason: None,
        }
    }

    pub fn with_reason(mut self, reason: impl ToString) -> JobOutcome {
        self.reason = Some(reason.to_string());
        self
    }
}

/// How job `id` (its row, if any) stands for a cancel before one is tried, by [`check`]:
/// `None` when it may be cancelled.
pub fn outcome_before(id: &str, row: Option<&JobRecord>) -> Option<JobOutcome> {
    let Some(job) = row else {
        return Some(
            JobOutcome::new(id, Outcome::Missing, None).with_reason(format!("no job {id:?}")),
        );
    };
    match check(job) {
        Ok(()) => None,
        Err(e @ NotCancellable::Delivering { .. }) => {
            Some(JobOutcome::new(id, Outcome::Delivering, row).with_reason(e))
        }
        Err(NotCancellable::Delivered { .. } | NotCancellable::Finished { .. }) => {
            Some(JobOutcome::new(id, Outcome::AlreadyFinished, row))
        }
    }
}

/// How job `id` stands after a cancel that failed with `error`, read again: cancelled (by this
/// cancel or another; a job whose execution could not be stopped is CANCELLED and delivers
/// nothing), finished or fired meanwhile, gone, or still waiting (the cancel failed).
pub fn outcome_after_failure(id: &str, row: Option<&JobRecord>, error: String) -> JobOutcome {
    if let Some(job) = row
        && job.status() == Some(JobStatus::Cancelled)
    {
        return JobOutcome::new(id, Outcome::Cancelled, row).with_reason(error);
    }
    outcome_before(id, row)
        .unwrap_or_else(|| JobOutcome::new(id, Outcome::Failed, row).with_reason(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: &str, fired: Option<&str>, delivered: Option<&str>) -> JobRecord {
        JobRecord {
            id: "j".into(),
            start_action_at: "2030-01-01T00:00:00Z".into(),
            process_status: status.into(),
            last_updated: None,
            payload: None,
            error: None,
            delivered_at: delivered.map(String::from),
            fired_at: fired.map(String::from),
            delivered_to: vec![],
            run: None,
        }
    }

    #[test]
    fn only_a_started_job_that_has_not_fired_is_cancellable() {
        assert_eq!(check(&job("STARTED", None, None)), Ok(()));
        let t = "2030-01-01T00:00:00.010Z";
        assert_eq!(
            check(&job("STARTED", Some(t), None))
                .unwrap_err()
                .to_string(),
            format!("job \"j\" fired at {t}; its delivery is in progress")
        );
        assert_eq!(
            check(&job("COMPLETED", Some(t), Some(t)))
                .unwrap_err()
                .to_string(),
            format!("job \"j\" was delivered at {t}")
        );
        for status in ["COMPLETED", "FAILED", "CANCELLED", "ODD"] {
            let err = check(&job(status, None, None)).unwrap_err().to_string();
            assert!(err.contains(&format!("already {status}")), "{err}");
        }
    }

    #[test]
    fn a_bulk_cancel_sorts_each_job_by_the_same_rule() {
        let t = "2030-01-01T00:00:00.010Z";
        let of = |row: Option<JobRecord>| outcome_before("j", row.as_ref()).map(|o| o.outcome);
        assert_eq!(of(Some(job("STARTED", None, None))), None);
        assert_eq!(
            of(Some(job("STARTED", Some(t), None))),
            Some(Outcome::Delivering)
        );
        for done in [
            job("COMPLETED", Some(t), Some(t)),
            job("FAILED", None, None),
            job("CANCELLED", None, None),
        ] {
            assert_eq!(of(Some(done)), Some(Outcome::AlreadyFinished));
        }
        assert_eq!(of(None), Some(Outcome::Missing));

        let after = |row: Option<JobRecord>| {
            outcome_after_failure("j", row.as_ref(), "throttled".into()).outcome
        };
        assert_eq!(
            after(Some(job("CANCELLED", None, None))),
            Outcome::Cancelled
        );
        assert_eq!(after(Some(job("STARTED", None, None))), Outcome::Failed);
        assert_eq!(
            after(Some(job("STARTED", Some(t), None))),
            Outcome::Delivering
        );
        assert_eq!(after(None), Outcome::Missing);
        assert!(Outcome::AlreadyFinished.is_settled() && !Outcome::Delivering.is_settled());
    }
}
