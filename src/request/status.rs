//! `status`'s flags, checked: which jobs, how many, and whether to watch.

use std::num::NonZeroUsize;

use super::select::Selection;
use crate::backend::JobQuery;
use crate::cli::StatusArgs;
use crate::{Error, Result};
use waitable_core::job_id::validate_id;
use waitable_core::time_input::TimeContext;

#[derive(Debug, Clone)]
pub struct StatusQuery {
    /// Which jobs the target reads.
    pub jobs: JobQuery,
    /// Show at most this many (the earliest by StartActionAt).
    pub limit: Option<NonZeroUsize>,
    /// Redraw until every shown job is finished.
    pub watch: bool,
}

impl StatusQuery {
    pub fn from_args(args: &StatusArgs, now: impl Into<TimeContext>) -> Result<Self> {
        let limit = match args.limit {
            None => None,
            Some(n) => Some(
                NonZeroUsize::new(n).ok_or_else(|| Error::usage("--limit must be at least 1"))?,
            ),
        };
        if let Some(id) = &args.id {
            validate_id(id)?;
        }
        let Selection { statuses, window } = Selection::from_args(&args.select, now)?;
        Ok(StatusQuery {
            jobs: JobQuery {
                id: args.id.clone(),
                statuses,
                window,
                skip_payloads: false,
            },
            limit,
            watch: args.watch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::SelectArgs;
    use waitable_core::job::JobStatus;

    fn parse(args: &StatusArgs) -> Result<StatusQuery> {
        StatusQuery::from_args(args, chrono::Utc::now())
    }

    #[test]
    fn statuses_and_ids_are_checked_before_any_call() {
        let args = |id: Option<&str>, statuses: &[&str]| StatusArgs {
            id: id.map(str::to_string),
            select: SelectArgs {
                statuses: statuses.iter().map(|s| s.to_string()).collect(),
                ..SelectArgs::default()
            },
            limit: None,
            watch: false,
        };
        let q = parse(&args(Some("a-1"), &["started", "FAILED"])).unwrap();
        assert_eq!(q.jobs.statuses, vec![JobStatus::Started, JobStatus::Failed]);
        assert_eq!(parse(&args(None, &["DONE"])).unwrap_err().exit_code(), 2);
        assert_eq!(parse(&args(Some("a b"), &[])).unwrap_err().exit_code(), 2);
        let zero = StatusArgs {
            limit: Some(0),
            ..args(None, &[])
        };
        let err = parse(&zero).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("at least 1"), "{err}");
        let bad_time = StatusArgs {
            select: SelectArgs {
                due_after: Some("yesterday-ish".into()),
                ..SelectArgs::default()
            },
            ..args(None, &[])
        };
        assert_eq!(parse(&bad_time).unwrap_err().exit_code(), 2);
    }
}
