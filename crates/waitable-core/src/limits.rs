//! The jobs contract's limits, as named numbers in one place. Both targets, the CLI and the
//! API templates' generator read them from here.

/// Step Functions' limit on every state's data (input, output, task parameters): 256 KiB of
/// UTF-8; beyond it an execution fails with the uncatchable `States.DataLimitExceeded`.
pub(crate) const STATE_DATA_BYTES: usize = 256 * 1024;
/// Room kept for what the state machine adds to the execution input: the Catch's
/// `{"Error", "Cause"}` at `$.Failure` (a Cause runs up to 32,768 characters) and the
/// DynamoDB parameters around the payload. `state_size.rs` measures the generated machine
/// against this number.
pub(crate) const STATE_OVERHEAD_BYTES: usize = 40 * 1024;
/// The largest execution input the contract accepts (UTF-8 bytes of the input JSON), so that
/// every state's data stays within [`STATE_DATA_BYTES`].
pub const MAX_INPUT_BYTES: usize = STATE_DATA_BYTES - STATE_OVERHEAD_BYTES;
/// Longest job Id: Step Functions' execution names are at most 80 characters.
pub const MAX_ID_LEN: usize = 80;
/// A Standard execution lives at most one year ("Step Functions service quotas"); a job's wait,
/// its deliveries and its writes all happen inside it.
pub const EXECUTION_LIMIT_SECONDS: i64 = 365 * 86_400;
/// The end of that year kept for a job's deliveries after it fires: longer than the longest a
/// delivery can take with the retry parameters at their largest allowed values and every
/// target (`state_machine::deliver::longest_delivery_seconds`, tested against it).
pub const DELIVERY_RESERVE_SECONDS: i64 = 2 * 86_400;
/// How far ahead a job may be due: the one rule the CLI (`--at`), the API's POST template and
/// the local `POST /` apply, so every job can finish its deliveries inside the year.
pub const MAX_AHEAD_SECONDS: i64 = EXECUTION_LIMIT_SECONDS - DELIVERY_RESERVE_SECONDS;
/// Default page size of GET /status.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page size of GET /status.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Deepest nesting of arrays and objects in a payload (`{}` is 1). Every response that carries
/// a payload wraps it in at most [`PAYLOAD_WRAP_DEPTH`] more levels, and serde_json (the CLI's
/// reader) stops at 128: so any accepted payload always reads back.
pub const MAX_PAYLOAD_DEPTH: usize = 64;
/// The most levels a response adds around a payload (`{"items": [{"Payload": ...}]}`).
pub(crate) const PAYLOAD_WRAP_DEPTH: usize = 3;
/// serde_json's recursion limit when reading JSON.
pub(crate) const JSON_READER_DEPTH: usize = 128;
const _: () = assert!(MAX_PAYLOAD_DEPTH + PAYLOAD_WRAP_DEPTH < JSON_READER_DEPTH);

/// StartExecution's refill rate (jobs per second) in the regions with the larger quota, and
/// elsewhere ("Quotas related to API action throttling", AWS Step Functions Developer Guide:
/// 300/s with a bucket of 1300 in US East (N. Virginia), US West (Oregon) and Europe
/// (Ireland); 150/s with a bucket of 800 in the other regions). DescribeExecution refills at
/// only 15/s (10/s), which is why a submit never describes first.
pub const START_EXECUTION_RATE_LARGE: u32 = 300;
pub(crate) const START_EXECUTION_RATE_OTHER: u32 = 150;
pub(crate) const LARGE_QUOTA_REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// The default `submit --file --rate` for a region: its StartExecution refill rate.
pub fn start_execution_rate(region: Option<&str>) -> u32 {
    match region {
        Some(r) if LARGE_QUOTA_REGIONS.contains(&r) => START_EXECUTION_RATE_LARGE,
        _ => START_EXECUTION_RATE_OTHER,
    }
}

/// An API action's token bucket: `bucket` calls may go at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub bucket: u32,
    pub per_second: u32,
}

/// StopExecution's token bucket in the regions with the larger quotas, and elsewhere ("Quotas
/// related to API action throttling", AWS Step Functions Developer Guide: bucket 1,000 refilled
/// at 200/s in US East (N. Virginia), US West (Oregon) and Europe (Ireland); bucket 500
/// refilled at 25/s in the other regions). A bulk `cancel` stops one execution per job.
pub const STOP_EXECUTION_QUOTA_LARGE: Quota = Quota {
    bucket: 1_000,
    per_second: 200,
};
pub(crate) const STOP_EXECUTION_QUOTA_OTHER: Quota = Quota {
    bucket: 500,
    per_second: 25,
};

/// The pace a bulk `cancel` keeps in a region: its StopExecution quota.
pub fn stop_execution_quota(region: Option<&str>) -> Quota {
    match region {
        Some(r) if LARGE_QUOTA_REGIONS.contains(&r) => STOP_EXECUTION_QUOTA_LARGE,
        _ => STOP_EXECUTION_QUOTA_OTHER,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_state_data_limit_is_the_interpreters() {
        assert_eq!(STATE_DATA_BYTES, waitable_asl::limits::MAX_STATE_DATA_BYTES);
    }

    use super::*;

    #[test]
    fn the_default_rate_follows_the_region() {
        assert_eq!(start_execution_rate(Some("us-east-1")), 300);
        assert_eq!(start_execution_rate(Some("eu-west-1")), 300);
        assert_eq!(start_execution_rate(Some("us-east-2")), 150);
        assert_eq!(start_execution_rate(Some("ap-southeast-2")), 150);
        assert_eq!(start_execution_rate(None), 150);
    }

    #[test]
    fn the_cancel_pace_follows_the_region() {
        assert_eq!(stop_execution_quota(Some("us-west-2")).per_second, 200);
        assert_eq!(stop_execution_quota(Some("us-west-2")).bucket, 1_000);
        assert_eq!(stop_execution_quota(Some("eu-central-1")).per_second, 25);
        assert_eq!(stop_execution_quota(None).bucket, 500);
    }
}
