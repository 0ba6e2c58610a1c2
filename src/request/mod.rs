//! Checked requests, one per command. `cli` holds the raw flags; [`Request::from_cli`] turns
//! them into these once, before the runtime starts or anything is sent, so bad input is one
//! usage error (exit 2) and commands take only checked values and parse nothing.

mod cancel;
mod deploy;
mod local_exec;
mod runs;
mod select;
mod status;
mod submit;

use std::time::Duration;

use crate::backend::ReconcileRequest;
use crate::cli::{
    CheckArgs, Command, LocalCommand, LocalRunArgs, ReceiveArgs, ReconcileArgs, ShowArgs,
};
use crate::{Error, Result};
use waitable_core::job_id::validate_id;
use waitable_core::time_input::TimeContext;
use waitable_core::timestamp::format_utc;

pub use cancel::CancelRequest;
#[cfg(test)]
pub use deploy::StackFlags;
pub use deploy::{DeployRequest, SynthRequest};
pub use local_exec::LocalExecRequest;
pub use runs::RunRequest;
pub use status::StatusQuery;
pub use submit::SubmitRequest;

/// One command line's command, checked.
#[derive(Debug)]
pub enum Request {
    Synth(SynthRequest),
    Deploy(DeployRequest),
    Submit(SubmitRequest),
    Status(StatusQuery),
    Cancel(CancelRequest),
    Show(ShowRequest),
    Run(RunRequest),
    Destroy,
    Receive(ReceiveRequest),
    Check(CheckArgs),
    Reconcile(ReconcileRequest),
    Demo,
    Stacks,
    LocalRun(LocalRunArgs),
    LocalExec(LocalExecRequest),
    Completions(clap_complete::Shell),
    Man,
}

impl Request {
    /// Checks `command`'s flags; relative times (`+2h`, `now`) are taken from `now`.
    pub fn from_cli(command: Command, time: TimeContext) -> Result<Request> {
        let now = time.now;
        Ok(match command {
            Command::Synth(args) => Request::Synth(SynthRequest::from_args(&args)?),
            Command::Deploy(args) => Request::Deploy(DeployRequest::from_args(&args)?),
            Command::Submit(args) => Request::Submit(SubmitRequest::from_args(&args, time)?),
            Command::Status(args) => Request::Status(StatusQuery::from_args(&args, time)?),
            Command::Cancel(args) => Request::Cancel(CancelRequest::from_args(&args, time)?),
            Command::Show(args) => Request::Show(ShowRequest::from_args(&args)?),
            Command::Retry(args) => Request::Run(RunRequest::retry(&args, time)?),
            Command::Reschedule(args) => Request::Run(RunRequest::reschedule(&args, time)?),
            Command::Destroy => Request::Destroy,
            Command::Receive(args) => Request::Receive(ReceiveRequest::from_args(&args)?),
            Command::Check(args) => Request::Check(args),
            Command::Reconcile(args) => Request::Reconcile(reconcile_request(&args, now)?),
            Command::Demo => Request::Demo,
            Command::Stacks => Request::Stacks,
            Command::Completions { shell } => Request::Completions(shell),
            Command::Man => Request::Man,
            Command::Local(LocalCommand::Run(args)) => Request::LocalRun(args),
            Command::Local(LocalCommand::Exec(args)) => {
                Request::LocalExec(LocalExecRequest::from_args(&args, now)?)
            }
        })
    }
}

/// `show ID`: a valid job Id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowRequest {
    pub id: String,
}

impl ShowRequest {
    pub fn from_args(args: &ShowArgs) -> Result<Self> {
        validate_id(&args.id)?;
        Ok(ShowRequest {
            id: args.id.clone(),
        })
    }
}

/// The most `receive --max` may ask for in one run.
pub const MAX_MESSAGES: usize = 10_000;
/// The longest `receive --wait`.
pub const MAX_WAIT_SECONDS: u64 = 3_600;

/// `receive`: how many messages, how long to wait for the first, and whether to keep them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveRequest {
    /// 1 to [`MAX_MESSAGES`].
    pub max: usize,
    /// At most [`MAX_WAIT_SECONDS`].
    pub wait: Duration,
    pub keep: bool,
}

impl ReceiveRequest {
    pub fn from_args(args: &ReceiveArgs) -> Result<Self> {
        if args.max == 0 || args.max > MAX_MESSAGES {
            return Err(Error::usage(format!(
                "--max must be between 1 and {MAX_MESSAGES}"
            )));
        }
        if args.wait > MAX_WAIT_SECONDS {
            return Err(Error::usage(format!(
                "--wait must be at most {MAX_WAIT_SECONDS} seconds"
            )));
        }
        Ok(ReceiveRequest {
            max: args.max,
            wait: Duration::from_secs(args.wait),
            keep: args.keep,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receive_limits_are_usage_errors() {
        let args = |max, wait| ReceiveArgs {
            max,
            wait,
            keep: false,
        };
        for bad in [
            args(0, 0),
            args(MAX_MESSAGES + 1, 0),
            args(1, MAX_WAIT_SECONDS + 1),
        ] {
            assert_eq!(ReceiveRequest::from_args(&bad).unwrap_err().exit_code(), 2);
        }
        let ok = ReceiveRequest::from_args(&args(MAX_MESSAGES, 3)).unwrap();
        assert_eq!(ok.wait, Duration::from_secs(3));
    }
}

/// The checked request: `--older-than` is a duration such as `10m`, `2h` or `1d`.
pub fn reconcile_request(
    args: &ReconcileArgs,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ReconcileRequest> {
    let text = args.older_than.trim();
    if text.starts_with(['+', '-']) {
        return Err(Error::usage(format!(
            "--older-than {text:?}: give a duration such as 10m, 2h or 1d"
        )));
    }
    let cutoff = waitable_core::time_input::parse_time(&format!("-{text}"), now).map_err(|e| {
        Error::usage(format!(
            "--older-than {text:?} is not a duration such as 10m, 2h or 1d: {e}"
        ))
    })?;
    Ok(ReconcileRequest {
        due_before: format_utc(cutoff),
        dry_run: args.dry_run,
    })
}

#[cfg(test)]
mod reconcile_tests {
    use super::*;

    #[test]
    fn older_than_is_a_duration_back_from_now() {
        let now = "2030-01-01T12:00:00Z".parse().unwrap();
        let args = |t: &str| ReconcileArgs {
            older_than: t.into(),
            dry_run: false,
        };
        assert_eq!(
            reconcile_request(&args("10m"), now).unwrap().due_before,
            "2030-01-01T11:50:00Z"
        );
        assert_eq!(
            reconcile_request(&args("1d"), now).unwrap().due_before,
            "2029-12-31T12:00:00Z"
        );
        for bad in ["-10m", "+1h", "soon", ""] {
            assert_eq!(
                reconcile_request(&args(bad), now).unwrap_err().exit_code(),
                2,
                "{bad}"
            );
        }
    }
}
