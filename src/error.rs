//! One error type for the whole tool, carrying its exit code.
//!
//! Exit codes (documented in the README): 0 success, 1 the operation failed,
//! 2 bad usage or input (nothing was sent anywhere), 130 stopped by Ctrl-C.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// Bad input or usage, found before anything was sent: exit code 2.
    Usage(anyhow::Error),
    /// The operation was attempted and failed: exit code 1.
    Failed(anyhow::Error),
    /// Stopped by Ctrl-C (SIGINT): exit code 130, as a shell reports a command it interrupted.
    Interrupted(anyhow::Error),
}

impl Error {
    /// An input error with a one-line message.
    pub fn usage(msg: impl fmt::Display) -> Self {
        Error::Usage(anyhow::anyhow!("{msg}"))
    }

    /// An operation failure with a one-line message.
    pub fn failed(msg: impl fmt::Display) -> Self {
        Error::Failed(anyhow::anyhow!("{msg}"))
    }

    /// Ctrl-C stopped the command; what it printed so far stands.
    pub fn interrupted() -> Self {
        Error::Interrupted(anyhow::anyhow!("interrupted"))
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::Failed(_) => 1,
            Error::Interrupted(_) => 130,
        }
    }

    fn inner(&self) -> &anyhow::Error {
        match self {
            Error::Usage(e) | Error::Failed(e) | Error::Interrupted(e) => e,
        }
    }

    /// True when stdout was closed under us (`waitable status | head`): not an error.
    pub fn is_broken_pipe(&self) -> bool {
        self.inner().chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.inner())
    }
}

impl std::error::Error for Error {}

/// Any other error is an operation failure (exit 1); input errors are built explicitly.
impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        Error::Failed(err)
    }
}

/// The core's input errors: bad input found before anything was sent (exit 2). Where the
/// same error means a broken deployed stack, the caller says so with [`Error::failed`].
macro_rules! usage_errors {
    ($($error:ty),* $(,)?) => {
        $(impl From<$error> for Error {
            fn from(err: $error) -> Self {
                Error::Usage(err.into())
            }
        })*
    };
}

usage_errors!(
    waitable_core::job_id::InvalidId,
    waitable_core::job::UnknownStatus,
    waitable_core::payload::PayloadError,
    waitable_core::submit_input::JobInputError,
    waitable_core::submit_input::BatchError,
    waitable_core::submit_input::BatchErrors,
    waitable_core::status_index::InvalidWindow,
    waitable_core::delivery::DeliveryError,
    waitable_core::delivery::local::LocalDeliveryError,
    waitable_core::retention::InvalidRetention,
);

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::Failed(err.into())
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Failed(err.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_documented_contract() {
        assert_eq!(Error::usage("bad").exit_code(), 2);
        assert_eq!(Error::failed("boom").exit_code(), 1);
        assert_eq!(Error::interrupted().exit_code(), 130);
    }

    #[test]
    fn core_input_errors_are_usage_errors_with_their_message() {
        let err = Error::from(waitable_core::job_id::validate_id("a b").unwrap_err());
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().starts_with("invalid job Id"), "{err}");
        let err = Error::from("DONE".parse::<waitable_core::job::JobStatus>().unwrap_err());
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe");
        let err = Error::from(anyhow::Error::new(io).context("writing the table"));
        assert!(err.is_broken_pipe());
        assert!(!Error::failed("other").is_broken_pipe());
    }

    #[test]
    fn display_shows_the_whole_chain_on_one_line() {
        let err = Error::from(anyhow::anyhow!("root cause").context("deploying stack"));
        assert_eq!(err.to_string(), "deploying stack: root cause");
    }
}
