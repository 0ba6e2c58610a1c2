//! How long finished jobs are kept: the table's TTL attribute, the stack parameter that sets the
//! retention, and the value both submit paths put in the execution input. One rule, used by the
//! template, the state machine, the API's VTL (which mirrors [`expires_at`]) and the CLI.
//!
//! The expiry is fixed when the job is submitted: its StartTimestamp plus the retention. A job
//! finishes at its StartTimestamp (COMPLETED), or earlier (FAILED, CANCELLED), so it is kept at
//! least the retention after it finished. Step Functions' JSONPath has no clock or date
//! arithmetic, so the state machine cannot compute it; it only stores what it is given.

/// DynamoDB TTL attribute (epoch seconds, type N).
pub const ATTR_EXPIRES_AT: &str = "ExpiresAt";
/// Field of the execution input that carries it, as a string of digits (DynamoDB's `N`).
pub(crate) const INPUT_EXPIRES_AT: &str = "ExpiresAt";
/// Default of the `RetentionDays` stack parameter.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// Largest retention the parameter accepts (10 years).
pub(crate) const MAX_RETENTION_DAYS: u32 = 3650;
/// The expiry of a job kept forever (retention 0, or an input without an expiry): year 5138,
/// so TTL, which deletes items whose value is below the current time, never deletes it.
pub const KEEP_FOREVER: &str = "99999999999";

const SECONDS_PER_DAY: i64 = 86_400;

/// The `ExpiresAt` of a job due at `start_epoch_seconds`, kept `retention_days` (0: forever).
pub fn expires_at(start_epoch_seconds: i64, retention_days: u32) -> String {
    if retention_days == 0 {
        return KEEP_FOREVER.to_string();
    }
    (start_epoch_seconds + i64::from(retention_days) * SECONDS_PER_DAY).to_string()
}

/// A `RetentionDays` given on a deploy (`--parameter RetentionDays=...`): an empty value is
/// refused rather than read as the default (which would cut a longer retention to 90 days).
pub fn given_retention_days(text: &str) -> Result<u32, InvalidRetention> {
    if text.trim().is_empty() {
        return Err(InvalidRetention {
            value: text.to_string(),
        });
    }
    retention_days(Some(text))
}

/// The `RetentionDays` a stack was deployed with: its parameter's value, or the default when
/// the stack has none (deployed before the parameter existed, or given no value). A value
/// outside 0..=[`MAX_RETENTION_DAYS`] is refused, as CloudFormation refuses it.
pub fn retention_days(value: Option<&str>) -> Result<u32, InvalidRetention> {
    let Some(text) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(DEFAULT_RETENTION_DAYS);
    };
    text.parse::<u32>()
        .ok()
        .filter(|days| *days <= MAX_RETENTION_DAYS)
        .ok_or_else(|| InvalidRetention {
            value: text.to_string(),
        })
}

/// A `RetentionDays` outside what the parameter accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "RetentionDays must be a whole number of days from 0 (keep forever) to {MAX_RETENTION_DAYS}, not {value:?}"
)]
pub struct InvalidRetention {
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameter_defaults_to_90_days_and_is_checked() {
        assert_eq!(retention_days(None), Ok(DEFAULT_RETENTION_DAYS));
        assert_eq!(retention_days(Some("")), Ok(DEFAULT_RETENTION_DAYS));
        assert_eq!(retention_days(Some("0")), Ok(0));
        assert_eq!(retention_days(Some("3650")), Ok(MAX_RETENTION_DAYS));
        assert!(given_retention_days("").is_err());
        assert!(given_retention_days(" ").is_err());
        assert_eq!(given_retention_days("7"), Ok(7));
        for bad in ["3651", "-1", "1.5", "ninety"] {
            assert!(retention_days(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn adds_whole_days_to_the_start_and_zero_keeps_forever() {
        // 2030-01-01T00:00:00Z
        assert_eq!(expires_at(1_893_456_000, 90), "1901232000");
        assert_eq!(expires_at(1_893_456_000, 1), "1893542400");
        assert_eq!(expires_at(1_893_456_000, 0), KEEP_FOREVER);
        assert!(
            KEEP_FOREVER.parse::<i64>().unwrap()
                > expires_at(i64::from(u32::MAX), MAX_RETENTION_DAYS)
                    .parse::<i64>()
                    .unwrap()
        );
    }
}
