//! Errors raised while running a state, and which Retry/Catch entries they match.

/// An error raised by a state, by name (`States.Timeout`, `DynamoDB.ConditionalCheckFailedException`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub error: String,
    pub cause: String,
    /// Raised by the task's resource (what `States.TaskFailed` matches).
    pub from_task: bool,
}

impl Fault {
    /// The cause is cut at [`MAX_CAUSE_CHARS`], as Step Functions cuts it.
    pub fn new(error: &str, cause: impl Into<String>) -> Self {
        Fault {
            error: error.into(),
            cause: cap_cause(cause.into()),
            from_task: false,
        }
    }

    pub fn task(error: &str, cause: impl Into<String>) -> Self {
        Fault {
            from_task: true,
            ..Fault::new(error, cause)
        }
    }

    /// `States.Runtime` (and `States.DataLimitExceeded`) cannot be retried or caught.
    pub(super) fn is_terminal(&self) -> bool {
        matches!(
            self.error.as_str(),
            "States.Runtime" | "States.DataLimitExceeded"
        )
    }

    pub(super) fn matches(&self, names: &[String]) -> bool {
        if self.is_terminal() {
            return false;
        }
        names.iter().any(|n| {
            n == &self.error
                || n == "States.ALL"
                || (n == "States.TaskFailed" && self.from_task && self.error != "States.Timeout")
        })
    }
}

/// `States.Runtime`: the execution fails, whatever the state's Retry and Catch say.
pub(super) fn runtime(cause: impl Into<String>) -> Fault {
    Fault::new("States.Runtime", cause)
}

/// The longest Cause an execution or a caught error carries (Step Functions quotas; the
/// `Fail` state's Cause is at most 32,768 characters).
pub const MAX_CAUSE_CHARS: usize = 32_768;

/// `cause`, cut to [`MAX_CAUSE_CHARS`] characters.
pub fn cap_cause(mut cause: String) -> String {
    if let Some((at, _)) = cause.char_indices().nth(MAX_CAUSE_CHARS) {
        cause.truncate(at);
    }
    cause
}
