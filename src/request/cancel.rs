//! `cancel`'s flags, checked: one Id (cancelled at once, as it always was), several Ids, or the
//! waiting jobs `--status STARTED` and the due times select (counted, confirmed, paced).

use super::select::Selection;
use crate::backend::JobQuery;
use crate::cli::CancelArgs;
use crate::{Error, Result};
use waitable_core::job::JobStatus;
use waitable_core::job_id::validate_id;
use waitable_core::time_input::TimeContext;

#[derive(Debug, Clone)]
pub enum CancelRequest {
    /// `cancel ID`.
    One(String),
    /// `cancel ID ID...`: each Id once, in the order given.
    Ids(Vec<String>),
    /// `cancel --status STARTED [--due-after T] [--due-before T]`.
    Matching(JobQuery),
}

impl CancelRequest {
    pub fn from_args(args: &CancelArgs, now: impl Into<TimeContext>) -> Result<Self> {
        let ids: Vec<&String> = args.id.iter().chain(&args.more).collect();
        for id in &ids {
            validate_id(id)?;
        }
        let selection = Selection::from_args(&args.select, now)?;
        if !ids.is_empty() && !selection.is_empty() {
            return Err(Error::usage(
                "give job Ids or --status/--due-after/--due-before, not both",
            ));
        }
        if let Some(other) = selection
            .statuses
            .iter()
            .find(|s| **s != JobStatus::Started)
        {
            return Err(Error::usage(format!(
                "--status {}: only STARTED jobs can be cancelled (--status STARTED)",
                other.as_str()
            )));
        }
        Ok(match ids.as_slice() {
            [] if selection.is_empty() => {
                return Err(Error::usage(
                    "give the Ids of the jobs to cancel, or select them with --status STARTED [--due-after TIME] [--due-before TIME]",
                ));
            }
            [] => CancelRequest::Matching(JobQuery {
                id: None,
                statuses: vec![JobStatus::Started],
                window: selection.window,
                skip_payloads: true,
            }),
            [one] => CancelRequest::One((*one).clone()),
            many => {
                let mut seen = std::collections::HashSet::new();
                CancelRequest::Ids(
                    many.iter()
                        .filter(|id| seen.insert(id.as_str()))
                        .map(|id| (*id).clone())
                        .collect(),
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::SelectArgs;

    fn parse(ids: &[&str], statuses: &[&str], after: Option<&str>) -> Result<CancelRequest> {
        let args = CancelArgs {
            id: ids.first().map(|s| s.to_string()),
            more: ids.iter().skip(1).map(|s| s.to_string()).collect(),
            select: SelectArgs {
                statuses: statuses.iter().map(|s| s.to_string()).collect(),
                due_after: after.map(String::from),
                due_before: None,
            },
        };
        CancelRequest::from_args(&args, chrono::Utc::now())
    }

    #[test]
    fn one_id_several_or_a_selection_checked_before_any_call() {
        assert!(matches!(parse(&["-abc"], &[], None), Ok(CancelRequest::One(id)) if id == "-abc"));
        let Ok(CancelRequest::Ids(ids)) = parse(&["a", "b", "a"], &[], None) else {
            panic!("several Ids")
        };
        assert_eq!(ids, ["a", "b"], "each once, in order");
        let Ok(CancelRequest::Matching(q)) = parse(&[], &["started"], Some("-2h")) else {
            panic!("a selection")
        };
        assert_eq!(q.statuses, [JobStatus::Started]);
        assert!(q.window.after.is_some() && q.id.is_none());
        let Ok(CancelRequest::Matching(q)) = parse(&[], &[], Some("now")) else {
            panic!("a window alone selects waiting jobs")
        };
        assert_eq!(q.statuses, [JobStatus::Started]);

        for (bad, says) in [
            (parse(&["a b"], &[], None), "invalid job Id"),
            (parse(&["a", "b c"], &[], None), "invalid job Id"),
            (parse(&[], &[], None), "give the Ids"),
            (parse(&["a"], &["STARTED"], None), "not both"),
            (parse(&[], &["COMPLETED"], None), "only STARTED"),
            (parse(&[], &["DONE"], None), "DONE"),
            (parse(&[], &["STARTED"], Some("soon-ish")), "soon-ish"),
        ] {
            let err = bad.unwrap_err();
            assert_eq!(err.exit_code(), 2, "{err}");
            assert!(err.to_string().contains(says), "{err}");
        }
    }
}
