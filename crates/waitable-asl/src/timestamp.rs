//! The States language's timestamp form (Choice's `IsTimestamp` and `Timestamp*` rules, a
//! Wait's `Timestamp`/`TimestampPath`).

use chrono::{DateTime, Utc};

/// A timestamp as the States language takes it (Choice's `IsTimestamp` and `Timestamp*`
/// rules): RFC 3339 with an uppercase `T`, and an uppercase `Z` or a numeric offset.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    if text.len() < 20 || text.as_bytes()[10] != b'T' || text.ends_with('z') {
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
