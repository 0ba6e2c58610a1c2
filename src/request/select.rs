//! `--status`, `--due-after` and `--due-before`, checked once for both commands that select
//! jobs by them (`status` and `cancel`).

use crate::cli::SelectArgs;
use crate::{Error, Result};
use waitable_core::job::JobStatus;
use waitable_core::status_index::DueWindow;
use waitable_core::time_input::TimeContext;

/// The statuses and the due window the flags ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub statuses: Vec<JobStatus>,
    pub window: DueWindow,
}

impl Selection {
    pub fn from_args(args: &SelectArgs, now: impl Into<TimeContext>) -> Result<Selection> {
        let statuses = args
            .statuses
            .iter()
            .map(|s| s.parse::<JobStatus>().map_err(Error::from))
            .collect::<Result<Vec<_>>>()?;
        let window = DueWindow::parse(args.due_after.as_deref(), args.due_before.as_deref(), now)?;
        Ok(Selection { statuses, window })
    }

    /// No flag was given.
    pub fn is_empty(&self) -> bool {
        self.statuses.is_empty() && self.window.is_open()
    }
}
