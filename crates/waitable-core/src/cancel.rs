//! When a job may be cancelled, one rule for both targets: it is STARTED and has not fired.
//! Once the claim at fire time recorded `FiredAt`, its delivery is in progress (or done), and
//! a cancel would only mislabel a job whose message already went out. The rule is checked
//! twice: on the row read before anything changes (for the reason), and by the cancel's own
//! conditional write ([`CONDITION`]), which is what holds when the job fires meanwhile.

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
}
