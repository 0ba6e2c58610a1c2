//! The one timestamp grammar of the jobs contract: what a job's `StartTimestamp` may be on the
//! wire (the API model's pattern, the local HTTP check, the state machine's input check), and
//! the States language's own timestamp form, which the local Choice evaluation uses.
//!
//! Step Functions' Wait and Choice states take RFC 3339 with an uppercase `T` and an uppercase
//! `Z`, and a Wait "considers the time value up to seconds and truncates milliseconds" ("Wait
//! workflow state", AWS Step Functions Developer Guide). A fraction would make a job fire up
//! to a second early, so the wire grammar is whole seconds only: the CLI rounds any fraction up
//! before sending ([`WIRE_FORMAT`], see `time.rs`); the API and the local engine refuse one.

use chrono::{DateTime, Utc};

/// The API model's pattern for `StartTimestamp`: UTC in whole seconds, uppercase `T` and `Z`.
/// The seconds stop at 59: a leap second (`:60`) would be read as `:59` by some parsers and
/// fire a job a second early, so the CLI sends it as the next minute and the wire refuses it.
pub const TIMESTAMP_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9]Z$";

/// The one timestamp format the CLI sends (whole seconds, UTC, `Z`).
pub const WIRE_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// Whether `ts` matches [`TIMESTAMP_PATTERN`] (checked by hand: same grammar, no regex engine).
pub fn matches_pattern(ts: &str) -> bool {
    let b = ts.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if b.len() != 20 || b[19] != b'Z' {
        return false;
    }
    digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && (b'0'..=b'5').contains(&b[17])
        && digits(18..19)
}

/// A wire timestamp: matches the pattern and is a real time (no 2030-02-30).
pub(crate) fn parse_wire(ts: &str) -> Option<DateTime<Utc>> {
    if !matches_pattern(ts) {
        return None;
    }
    DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `2030-01-01T09:00:00Z`.
pub fn format_utc(at: DateTime<Utc>) -> String {
    at.format(WIRE_FORMAT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, a valid wire timestamp?)
    pub const CASES: &[(&str, bool)] = &[
        ("2030-01-01T00:00:00Z", true),
        ("2030-12-31T23:59:60Z", false),
        ("2030-12-31T23:59:59Z", true),
        ("2030-01-01T00:00:00.123Z", false),
        ("2030-01-01T00:00:00.5Z", false),
        ("2030-01-01T00:00:00.Z", false),
        ("2030-01-01T00:00:00z", false),
        ("2030-01-01t00:00:00Z", false),
        ("2030-1-01T00:00:00Z", false),
        ("2030-01-01T00:00:00+01:00", false),
        ("2030-01-01T00:00:00", false),
        ("2030-01-01 00:00:00Z", false),
        ("tomorrow", false),
        ("", false),
    ];

    #[test]
    fn the_check_is_the_pattern() {
        let re = regex::Regex::new(TIMESTAMP_PATTERN).unwrap();
        for (ts, valid) in CASES {
            assert_eq!(matches_pattern(ts), re.is_match(ts), "{ts}");
            assert_eq!(matches_pattern(ts), *valid, "{ts}");
            assert_eq!(parse_wire(ts).is_some(), *valid, "{ts}");
        }
        assert!(matches_pattern("2030-02-30T00:00:00Z"));
        assert!(
            parse_wire("2030-02-30T00:00:00Z").is_none(),
            "not a real day"
        );
    }

    #[test]
    fn every_wire_timestamp_is_a_states_timestamp_at_the_same_instant() {
        for (ts, valid) in CASES.iter().filter(|(_, v)| *v) {
            assert!(valid);
            assert_eq!(waitable_asl::timestamp::parse(ts), parse_wire(ts), "{ts}");
        }
        assert!(waitable_asl::timestamp::parse("2030-01-01T01:00:00+01:00").is_some());
        assert!(waitable_asl::timestamp::parse("2030-01-01t00:00:00Z").is_none());
        assert!(waitable_asl::timestamp::parse("2030-01-01T00:00:00z").is_none());
    }

    #[test]
    fn what_the_cli_sends_is_a_wire_timestamp() {
        let t = DateTime::parse_from_rfc3339("2030-06-01T12:34:56Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_utc(t), "2030-06-01T12:34:56Z");
        assert_eq!(parse_wire(&format_utc(t)), Some(t));
    }
}
