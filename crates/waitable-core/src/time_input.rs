//! When a job runs: `--at` parsed and normalised, and relative hints for the status table.
//!
//! Step Functions' Wait and Choice states only take UTC with an uppercase `Z`, and moto's
//! `IsTimestamp` only `%Y-%m-%dT%H:%M:%SZ`, so every accepted form is normalised to exactly
//! that, in whole seconds (a fraction is rounded up so a job never runs early).

use chrono::{DateTime, Duration, Utc};

pub use super::timestamp::{WIRE_FORMAT, format_utc};

/// What `--at` accepts, for error messages and help.
pub const ACCEPTED_FORMS: &str = "an RFC 3339 time (2030-01-01T09:00:00Z, 2030-01-01T10:00:00+01:00), a relative time (+90s, +15m, +2h, +3d) or now";

/// How far in the past `--at` may be (clock skew, a slow terminal): beyond this it is a mistake.
pub const MAX_PAST: Duration = Duration::seconds(60);
/// A Standard execution lives at most one year, and the wait and the deliveries are part of its
/// life ([`super::limits::MAX_AHEAD_SECONDS`]).
pub const MAX_AHEAD: Duration = Duration::seconds(super::limits::MAX_AHEAD_SECONDS);

/// Parses `--at` relative to `now`, checks it is within [now - 1 min, now + 1 year] and
/// returns it in UTC, whole seconds (rounded up).
pub fn parse_at(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if text.trim().starts_with('-') {
        return Err(format!("invalid time {text:?}: expected {ACCEPTED_FORMS}"));
    }
    let at = parse_time(text, now)?;
    // Limits apply to the time asked for; rounding up adds less than a second.
    let asked = at;
    let at = round_up_to_second(at);
    if asked < now - MAX_PAST {
        return Err(format!(
            "time {text:?} ({}) is in the past: give a time from now on",
            format_utc(at)
        ));
    }
    if asked > now + MAX_AHEAD {
        return Err(format!(
            "time {text:?} ({}) is more than {} days ahead: a Standard execution lives at most one year, and its last {} days are kept for the job's deliveries",
            format_utc(at),
            MAX_AHEAD.num_days(),
            super::limits::DELIVERY_RESERVE_SECONDS / 86_400
        ));
    }
    Ok(at)
}

/// Any time in the forms `--at` accepts, with no limits (a window's bound for `status`):
/// relative times may also point back (`-2h`).
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let trimmed = text.trim();
    Ok(if trimmed.eq_ignore_ascii_case("now") {
        now
    } else if let Some(rel) = trimmed.strip_prefix('+') {
        now + parse_relative(rel).map_err(|why| format!("invalid time {text:?}: {why}"))?
    } else if let Some(rel) = trimmed.strip_prefix('-') {
        now - parse_relative(rel).map_err(|why| format!("invalid time {text:?}: {why}"))?
    } else {
        DateTime::parse_from_rfc3339(trimmed)
            .map_err(|_| format!("invalid time {text:?}: expected {ACCEPTED_FORMS}"))?
            .with_timezone(&Utc)
    })
}

/// [`parse_at`], formatted for the wire.
pub fn normalise_at(text: &str, now: DateTime<Utc>) -> Result<String, String> {
    parse_at(text, now).map(format_utc)
}

/// The first whole second at or after `at`. A leap second (`23:59:60.5`, which chrono keeps
/// as 23:59:59 with 1.5 s of nanoseconds) counts as the first second of the next minute, so
/// the result is never before the time asked for.
pub fn round_up_to_second(at: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = i64::from(at.timestamp_subsec_nanos());
    let whole = at.timestamp() + (nanos + 999_999_999) / 1_000_000_000;
    DateTime::from_timestamp(whole, 0).unwrap_or(at)
}

/// `90s`, `15m`, `2h`, `3d` (after the `+`).
fn parse_relative(rel: &str) -> Result<Duration, String> {
    let expected = "expected +<number><unit> with unit s, m, h or d (e.g. +90s, +15m, +2h, +3d)";
    let unit_at = rel.len().checked_sub(1).ok_or(expected)?;
    let (digits, unit) = rel.split_at(unit_at);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(expected.into());
    }
    // Anything over a year is refused later; cap the number so the arithmetic cannot overflow.
    let n: i64 = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| i64::try_from(n).ok())
        .filter(|n| *n <= 100_000_000)
        .ok_or("the number is too large")?;
    match unit {
        "s" | "S" => Ok(Duration::seconds(n)),
        "m" | "M" => Ok(Duration::minutes(n)),
        "h" | "H" => Ok(Duration::hours(n)),
        "d" | "D" => Ok(Duration::days(n)),
        _ => Err(expected.into()),
    }
}

/// Parses a timestamp read back from the table (any RFC 3339 form).
pub fn parse_stored(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// "in 4m", "3h ago", "now": the largest whole unit, for people scanning a table.
pub fn relative_hint(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    let abs = secs.unsigned_abs();
    if abs < 1 {
        return "now".into();
    }
    let amount = match abs {
        0..60 => format!("{abs}s"),
        60..3600 => format!("{}m", abs / 60),
        3600..86400 => format!("{}h", abs / 3600),
        _ => format!("{}d", abs / 86400),
    };
    if secs > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00.250Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn at(text: &str) -> Result<String, String> {
        normalise_at(text, now())
    }

    #[test]
    fn now_is_rounded_up_to_the_next_second() {
        assert_eq!(at("now").unwrap(), "2026-03-01T12:00:01Z");
        assert_eq!(at(" NOW ").unwrap(), "2026-03-01T12:00:01Z");
    }

    #[test]
    fn relative_forms_add_to_now() {
        assert_eq!(at("+90s").unwrap(), "2026-03-01T12:01:31Z");
        assert_eq!(at("+15m").unwrap(), "2026-03-01T12:15:01Z");
        assert_eq!(at("+2h").unwrap(), "2026-03-01T14:00:01Z");
        assert_eq!(at("+3d").unwrap(), "2026-03-04T12:00:01Z");
        assert_eq!(at("+0s").unwrap(), "2026-03-01T12:00:01Z");
        assert_eq!(at("+363d").unwrap(), "2027-02-27T12:00:01Z");
    }

    #[test]
    fn bad_relative_forms_say_what_is_accepted() {
        for bad in [
            "+", "+s", "+5", "+5w", "+-5s", "+5.5s", "+ 5s", "+1e3s", "+5sec",
        ] {
            let err = at(bad).unwrap_err();
            assert!(err.contains("+90s"), "{bad}: {err}");
        }
        assert!(
            at("+99999999999999999999d")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn rfc3339_with_any_offset_becomes_utc_with_z() {
        assert_eq!(
            at("2026-03-01T14:30:00+02:00").unwrap(),
            "2026-03-01T12:30:00Z"
        );
        assert_eq!(
            at("2026-03-01T07:30:00-05:00").unwrap(),
            "2026-03-01T12:30:00Z"
        );
        assert_eq!(at("2026-03-01T12:30:00z").unwrap(), "2026-03-01T12:30:00Z");
        assert_eq!(at("2026-03-01t12:30:00Z").unwrap(), "2026-03-01T12:30:00Z");
        assert_eq!(
            at("2026-03-02T00:00:00+00:00").unwrap(),
            "2026-03-02T00:00:00Z"
        );
    }

    #[test]
    fn fractions_round_up_never_down() {
        assert_eq!(
            at("2026-03-01T12:30:00.001Z").unwrap(),
            "2026-03-01T12:30:01Z"
        );
        assert_eq!(
            at("2026-03-01T12:30:59.999999999Z").unwrap(),
            "2026-03-01T12:31:00Z"
        );
        assert_eq!(
            at("2026-03-01T12:30:00.000Z").unwrap(),
            "2026-03-01T12:30:00Z"
        );
    }

    #[test]
    fn a_fraction_of_a_leap_second_never_rounds_down() {
        let n = "2030-06-30T23:00:00Z".parse().unwrap();
        assert_eq!(
            normalise_at("2030-06-30T23:59:60.5Z", n).unwrap(),
            "2030-07-01T00:00:01Z"
        );
        assert_eq!(
            normalise_at("2030-06-30T23:59:60Z", n).unwrap(),
            "2030-07-01T00:00:00Z"
        );
        assert_eq!(
            normalise_at("2030-06-30T23:59:59.5Z", n).unwrap(),
            "2030-07-01T00:00:00Z"
        );
    }

    #[test]
    fn unparseable_text_names_the_accepted_forms() {
        for bad in [
            "",
            "tomorrow",
            "2026-03-01",
            "2026-03-01T12:30:00",
            "2026-03-01 12:30",
            "12:30",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
        ] {
            let err = at(bad).unwrap_err();
            assert!(
                err.contains("RFC 3339") && err.contains("now"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn up_to_a_minute_in_the_past_is_allowed() {
        assert_eq!(at("2026-03-01T11:59:01Z").unwrap(), "2026-03-01T11:59:01Z");
        let err = at("2026-03-01T11:58:59Z").unwrap_err();
        assert!(err.contains("in the past"), "{err}");
        assert!(at("2020-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn more_than_a_year_ahead_is_refused() {
        // The last two days of the year are kept for the job's deliveries.
        let err = at("+364d").unwrap_err();
        assert!(err.contains("more than 363 days ahead"), "{err}");
        assert!(err.contains("deliveries"), "{err}");
        assert!(at("2027-02-27T12:00:00Z").is_ok());
        assert!(at("2027-02-27T12:00:01Z").unwrap_err().contains("one year"));
        assert!(at("+8713h").is_err());
        assert!(at("+522720m").is_ok());
        assert!(at("+522721m").is_err());
    }

    #[test]
    fn output_always_matches_the_wire_pattern() {
        let re = |s: &str| s.len() == 20 && super::super::timestamp::parse_wire(s).is_some();
        for ok in ["now", "+1s", "+59m", "2026-06-01T00:00:00.5+05:30"] {
            assert!(re(&at(ok).unwrap()), "{ok}");
        }
    }

    #[test]
    fn stored_times_parse_in_any_rfc3339_form() {
        assert!(parse_stored("2026-03-01T12:00:00Z").is_some());
        assert!(parse_stored("2026-03-01T12:00:00.123456+00:00").is_some());
        assert!(parse_stored("soon").is_none());
    }

    #[test]
    fn hints_use_the_largest_whole_unit() {
        let n = now();
        let h = |secs: i64| relative_hint(n + Duration::seconds(secs), n);
        assert_eq!(h(0), "now");
        assert_eq!(h(30), "in 30s");
        assert_eq!(h(-30), "30s ago");
        assert_eq!(h(59), "in 59s");
        assert_eq!(h(60), "in 1m");
        assert_eq!(h(4 * 60 + 59), "in 4m");
        assert_eq!(h(-3 * 3600 - 10), "3h ago");
        assert_eq!(h(86_399), "in 23h");
        assert_eq!(h(86_400 * 3), "in 3d");
        assert_eq!(h(-86_400 * 400), "400d ago");
    }
}
