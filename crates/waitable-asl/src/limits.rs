//! Step Functions' quotas that change how an execution runs, as AWS applies them.
//! Source: "Step Functions service quotas" (docs.aws.amazon.com/step-functions/latest/dg/
//! service-quotas.html), and executions recorded on AWS.

use serde_json::Value;

use super::fault::Fault;

/// The largest input, output or result of a state, and of an execution's input: 256 KiB.
pub const MAX_STATE_DATA_BYTES: usize = 256 * 1024;

/// The longest wait one Wait state may ask for: 2^31 seconds. A longer one fails at once
/// with `States.Runtime` ("Wait state delay is too long").
pub const MAX_WAIT_MS: i64 = (1 << 31) * 1000;

/// The largest `Seconds` a Wait state may give in the definition ("Wait workflow state",
/// AWS Step Functions Developer Guide: "a positive, integer value from 0 up to 99999999").
pub const MAX_WAIT_SECONDS_FIELD: u64 = 99_999_999;

/// The longest a standard execution may run: one year. Then it stops with `States.Timeout`.
pub const MAX_EXECUTION_MS: i64 = 365 * 24 * 3600 * 1000;

/// Step Functions ends a standard execution whose history reaches 25,000 events ("Maximum
/// execution history size", Step Functions service quotas): a loop that never waits, or a
/// Retry with a huge MaxAttempts, fails there instead of spinning (nearly) forever.
pub const MAX_HISTORY_EVENTS: u32 = 25_000;
/// Events an execution's start adds before its first state's: `ExecutionStarted`.
pub(crate) const EVENTS_AT_START: u32 = 1;
/// Events a state entered adds at least (entered, exited).
pub(crate) const EVENTS_PER_STATE: u32 = 2;
/// Events a failed attempt that is retried adds (scheduled, started, failed).
pub(crate) const EVENTS_PER_RETRY: u32 = 3;

/// The failure of an execution whose history is full. AWS documents the quota, not the
/// error it ends with: the name is ours.
pub(crate) fn history_full() -> Fault {
    Fault::new(
        "States.Runtime",
        format!(
            "The execution's history reached {MAX_HISTORY_EVENTS} events (the Step Functions quota)"
        ),
    )
}

pub use crate::fault::{MAX_CAUSE_CHARS, cap_cause};

/// The size of `v` serialized as JSON, in bytes, without building the text.
pub fn json_size(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, v).expect("writing to a counter cannot fail");
    count.0
}

/// `States.DataLimitExceeded` (terminal) when `v`, returned by state `state`, is over the quota.
pub fn check_size(state: &str, v: &Value) -> Result<(), Fault> {
    if json_size(v) > MAX_STATE_DATA_BYTES {
        return Err(Fault::new(
            "States.DataLimitExceeded",
            format!(
                "The state/task '{state}' returned a result with a size exceeding the maximum number of bytes service limit ({MAX_STATE_DATA_BYTES})."
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_cause_is_cut_at_32768_characters() {
        assert_eq!(
            cap_cause("é".repeat(40_000)).chars().count(),
            MAX_CAUSE_CHARS
        );
        assert_eq!(cap_cause("short".into()), "short");
        let f = crate::Fault::task("States.Http.StatusCode.500", "x".repeat(300_000));
        assert_eq!(f.cause.len(), MAX_CAUSE_CHARS);
    }

    #[test]
    fn sizes_are_those_of_the_json_text() {
        let v = json!({"a": [1, "é", null]});
        assert_eq!(json_size(&v), serde_json::to_vec(&v).unwrap().len());
    }

    #[test]
    fn data_over_256_kib_is_data_limit_exceeded() {
        // {"a":"xxx..."} is 8 bytes plus the string.
        let fits = json!({"a": "x".repeat(MAX_STATE_DATA_BYTES - 8)});
        assert_eq!(json_size(&fits), MAX_STATE_DATA_BYTES);
        assert!(check_size("S", &fits).is_ok());
        let over = json!({"a": "x".repeat(MAX_STATE_DATA_BYTES - 7)});
        let f = check_size("S", &over).unwrap_err();
        assert_eq!(f.error, "States.DataLimitExceeded");
        assert!(f.is_terminal());
    }
}
