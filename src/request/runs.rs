//! `retry ID [--at T]` and `reschedule ID --at T`, checked: a valid Id and a time (now for a
//! retry without `--at`), normalised as `submit --at` is.

use crate::Result;
use crate::cli::{RescheduleArgs, RetryArgs};
use waitable_core::job_id::validate_id;
use waitable_core::runs::RunKind;
use waitable_core::submit_input::JobInputError;
use waitable_core::time_input::{TimeContext, normalise_at};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    pub id: String,
    pub kind: RunKind,
    /// The new run's time: UTC, whole seconds, `Z`.
    pub at: String,
}

fn at(text: &str, now: TimeContext) -> Result<String> {
    normalise_at(text, now).map_err(|e| JobInputError::Time(e.to_string()).into())
}

impl RunRequest {
    pub fn retry(args: &RetryArgs, now: TimeContext) -> Result<Self> {
        validate_id(&args.id)?;
        Ok(RunRequest {
            id: args.id.clone(),
            kind: RunKind::Retry,
            at: at(args.at.as_deref().unwrap_or("now"), now)?,
        })
    }

    pub fn reschedule(args: &RescheduleArgs, now: TimeContext) -> Result<Self> {
        validate_id(&args.id)?;
        Ok(RunRequest {
            id: args.id.clone(),
            kind: RunKind::Reschedule,
            at: at(&args.at, now)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> TimeContext {
        chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc)
            .into()
    }

    #[test]
    fn a_retry_defaults_to_now_and_a_bad_time_or_id_is_a_usage_error() {
        let r = RunRequest::retry(
            &RetryArgs {
                id: "a".into(),
                at: None,
            },
            now(),
        )
        .unwrap();
        assert_eq!(r.at, "2030-01-01T00:00:00Z");
        let r = RunRequest::reschedule(
            &RescheduleArgs {
                id: "a".into(),
                at: "+1h".into(),
            },
            now(),
        )
        .unwrap();
        assert_eq!(r.at, "2030-01-01T01:00:00Z");
        let bad = RunRequest::reschedule(
            &RescheduleArgs {
                id: "a".into(),
                at: "soon".into(),
            },
            now(),
        );
        assert_eq!(bad.unwrap_err().exit_code(), 2);
        let bad = RunRequest::retry(
            &RetryArgs {
                id: "a.b".into(),
                at: None,
            },
            now(),
        );
        assert_eq!(bad.unwrap_err().exit_code(), 2);
    }
}
