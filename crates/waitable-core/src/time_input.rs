//! When a job runs: `--at` parsed and normalised, and relative hints for the status table.
//!
//! Step Functions' Wait and Choice states only take UTC with an uppercase `Z`, and moto's
//! `IsTimestamp` only `%Y-%m-%dT%H:%M:%SZ`, so every accepted form is normalised to exactly
//! that, in whole seconds (a fraction is rounded up so a job never runs early).

use chrono::{DateTime, Duration, Utc};
use jiff::tz::TimeZone;

use super::time_zone;
pub use super::timestamp::{WIRE_FORMAT, format_utc};

/// How far in the past `--at` may be (clock skew, a slow terminal): beyond this it is a mistake.
pub const MAX_PAST: Duration = Duration::seconds(60);
/// A Standard execution lives at most one year, and the wait and the deliveries are part of its
/// life ([`super::limits::MAX_AHEAD_SECONDS`]).
pub const MAX_AHEAD: Duration = Duration::seconds(super::limits::MAX_AHEAD_SECONDS);

pub use super::time_error::{ACCEPTED_FORMS, TimeError};

/// The clock and the zone a typed time is read against: `now` for relative times, `tz` for a
/// wall-clock time typed without a zone (`--tz`, else `TZ`; none: such a time is refused).
#[derive(Debug, Clone)]
pub struct TimeContext {
    pub now: DateTime<Utc>,
    pub tz: Option<TimeZone>,
}

impl From<DateTime<Utc>> for TimeContext {
    fn from(now: DateTime<Utc>) -> Self {
        TimeContext { now, tz: None }
    }
}

/// Parses `--at` relative to `now`, checks it is within [now - 1 min, now + 1 year] and
/// returns it in UTC, whole seconds (rounded up).
pub fn parse_at(text: &str, now: impl Into<TimeContext>) -> Result<DateTime<Utc>, TimeError> {
    let ctx = now.into();
    let now = ctx.now;
    let at = parse_time(text, ctx)?;
    // Limits apply to the time asked for; rounding up adds less than a second.
    let asked = at;
    let at = round_up_to_second(at);
    if asked < now - MAX_PAST {
        return Err(TimeError::Past {
            text: text.to_string(),
            at: format_utc(at),
        });
    }
    if asked > now + MAX_AHEAD {
        return Err(TimeError::TooFarAhead {
            text: text.to_string(),
            at: format_utc(at),
        });
    }
    Ok(at)
}

/// Any time in the forms `--at` accepts, with no limits (a window's bound for `status`):
/// relative times may also point back (`-2h`).
pub fn parse_time(text: &str, now: impl Into<TimeContext>) -> Result<DateTime<Utc>, TimeError> {
    let ctx = now.into();
    let now = ctx.now;
    let trimmed = text.trim();
    let unparseable = || TimeError::Unparseable {
        text: text.to_string(),
    };
    let out_of_range = || TimeError::OutOfRange {
        text: text.to_string(),
    };
    if trimmed.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(rel) = trimmed.strip_prefix('+') {
        let offset = parse_relative(rel, text)?;
        return now.checked_add_signed(offset).ok_or_else(out_of_range);
    }
    if let Some(rel) = trimmed.strip_prefix('-') {
        let offset = parse_relative(rel, text)?;
        return now.checked_sub_signed(offset).ok_or_else(out_of_range);
    }
    if let Some(epoch) = trimmed.strip_prefix('@') {
        if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unparseable());
        }
        let secs: i64 = epoch.parse().map_err(|_| out_of_range())?;
        return DateTime::from_timestamp(secs, 0).ok_or_else(out_of_range);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(t.with_timezone(&Utc));
    }
    // A wall-clock time, then optionally a zone name after a space.
    let (local_text, zone_text) = match trimmed.rsplit_once(' ') {
        Some((l, z)) if time_zone::parse_civil(l).is_some() => (l, Some(z)),
        _ => (trimmed, None),
    };
    let local = time_zone::parse_civil(local_text).ok_or_else(unparseable)?;
    let tz = match (zone_text, ctx.tz) {
        (Some(name), _) => time_zone::zone(name)?,
        (None, Some(tz)) => tz,
        (None, None) => {
            return Err(TimeError::NoZone {
                text: text.to_string(),
            });
        }
    };
    time_zone::resolve(local, &tz)
}

/// [`parse_at`], formatted for the wire.
pub fn normalise_at(text: &str, now: impl Into<TimeContext>) -> Result<String, TimeError> {
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

/// Whether `text` is a relative time (`+1h`, `-30s`): then a repeated submit compares against
/// a window, not an exact time.
pub fn relative_offset(text: &str) -> Option<Duration> {
    let trimmed = text.trim();
    if let Some(rel) = trimmed.strip_prefix('+') {
        parse_relative(rel, text).ok()
    } else if let Some(rel) = trimmed.strip_prefix('-') {
        parse_relative(rel, text).ok().map(|d| -d)
    } else {
        None
    }
}

/// `90s`, `15m`, `1h30m`, `1w` (after the sign): one or more <number><unit>.
fn parse_relative(rel: &str, text: &str) -> Result<Duration, TimeError> {
    let bad = || TimeError::BadRelative {
        text: text.to_string(),
    };
    let too_large = || TimeError::TooLarge {
        text: text.to_string(),
    };
    let mut total = Duration::zero();
    let mut rest = rel;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let unit = rest[digits..].chars().next().ok_or_else(bad)?;
        let n: i64 = rest[..digits].parse().map_err(|_| too_large())?;
        let unit_secs: i64 = match unit.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        // Anything past a thousand years is a mistake; the bound keeps every sum in range.
        let secs = n
            .checked_mul(unit_secs)
            .filter(|s| *s <= 1000 * 366 * 86_400)
            .ok_or_else(too_large)?;
        total = total
            .checked_add(&Duration::seconds(secs))
            .filter(|t| t.num_seconds() <= 1000 * 366 * 86_400)
            .ok_or_else(too_large)?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Ok(total)
}

/// Parses a timestamp read back from the table (any RFC 3339 form).
pub fn parse_stored(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// "in 3h 12m", "1d 23h ago", "now": the two largest units, exact enough to act on.
pub fn relative_hint(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    let abs = secs.unsigned_abs();
    if abs < 1 {
        return "now".into();
    }
    let parts = [
        (abs / 86_400, "d"),
        (abs % 86_400 / 3600, "h"),
        (abs % 3600 / 60, "m"),
        (abs % 60, "s"),
    ];
    let first = parts.iter().position(|(n, _)| *n > 0).unwrap_or(3);
    let mut amount = format!("{}{}", parts[first].0, parts[first].1);
    if let Some((n, unit)) = parts.get(first + 1).filter(|(n, _)| *n > 0) {
        amount.push_str(&format!(" {n}{unit}"));
    }
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
        normalise_at(text, now()).map_err(|e| e.to_string())
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
            "+", "+s", "+5", "+5y", "+-5s", "+5.5s", "+ 5s", "+1e3s", "+5sec", "+1h30",
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
        let n: DateTime<Utc> = "2030-06-30T23:00:00Z".parse().unwrap();
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
            "2026-03-01",
            "12:30",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
        ] {
            let err = at(bad).unwrap_err();
            assert!(
                err.contains("RFC 3339") && err.contains("Europe/Berlin") && err.contains("now"),
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
        assert_eq!(h(4 * 60 + 59), "in 4m 59s");
        assert_eq!(h(-3 * 3600 - 10), "3h ago");
        assert_eq!(h(3 * 3600 + 12 * 60 + 5), "in 3h 12m");
        assert_eq!(h(86_399), "in 23h 59m");
        assert_eq!(h(86_400 * 2 - 3600), "in 1d 23h");
        assert_eq!(h(86_400 * 3), "in 3d");
        assert_eq!(h(-86_400 * 400), "400d ago");
    }

    fn with_tz(text: &str, tz: &str) -> Result<String, TimeError> {
        let ctx = TimeContext {
            now: now(),
            tz: Some(time_zone::zone(tz).unwrap()),
        };
        normalise_at(text, ctx)
    }

    #[test]
    fn wall_clock_times_take_a_zone_from_the_text_or_the_context() {
        assert_eq!(
            at("2026-03-01T14:00 Europe/Berlin").unwrap(),
            "2026-03-01T13:00:00Z"
        );
        assert_eq!(
            with_tz("2026-03-01 14:00", "Europe/Berlin").unwrap(),
            "2026-03-01T13:00:00Z"
        );
        // A zone in the text wins over the context's.
        assert_eq!(
            with_tz("2026-03-01T14:00 UTC", "Europe/Berlin").unwrap(),
            "2026-03-01T14:00:00Z"
        );
        assert!(matches!(
            normalise_at("2026-03-01 14:00", now()),
            Err(TimeError::NoZone { .. })
        ));
        assert!(matches!(
            normalise_at("2026-03-01T14:00 Mars/Base", now()),
            Err(TimeError::UnknownZone { .. })
        ));
        assert!(matches!(
            with_tz("2026-03-29T02:30", "Europe/Berlin"),
            Err(TimeError::Gap { .. })
        ));
        assert!(matches!(
            with_tz("2026-10-25T02:30", "Europe/Berlin"),
            Err(TimeError::Fold { .. })
        ));
    }

    #[test]
    fn epoch_seconds_and_compound_relative_times() {
        assert_eq!(at("@1772370000").unwrap(), "2026-03-01T13:00:00Z");
        assert_eq!(at("+1h30m").unwrap(), "2026-03-01T13:30:01Z");
        assert_eq!(at("+1w").unwrap(), "2026-03-08T12:00:01Z");
        assert_eq!(at("+1d2h3m4s").unwrap(), "2026-03-02T14:03:05Z");
        assert!(matches!(
            normalise_at("@", now()),
            Err(TimeError::Unparseable { .. })
        ));
        assert!(matches!(
            normalise_at("@99999999999999999999", now()),
            Err(TimeError::OutOfRange { .. })
        ));
    }

    #[test]
    fn a_negative_relative_time_is_the_recent_past() {
        assert_eq!(at("-30s").unwrap(), "2026-03-01T11:59:31Z");
        assert!(matches!(
            normalise_at("-2m", now()),
            Err(TimeError::Past { .. })
        ));
    }

    #[test]
    fn overflowing_relative_times_are_refused_never_panic() {
        for text in [
            "+99999999d",
            "-99999999d",
            "+9223372036854775807s",
            "+99999999999999999999w",
            "+1000000w1000000w",
        ] {
            assert!(
                matches!(
                    parse_time(text, now()),
                    Err(TimeError::TooLarge { .. } | TimeError::OutOfRange { .. })
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn relative_offsets_are_recognised_for_the_idempotency_window() {
        assert_eq!(relative_offset("+1m"), Some(Duration::minutes(1)));
        assert_eq!(relative_offset("-30s"), Some(Duration::seconds(-30)));
        assert_eq!(relative_offset("now"), None);
        assert_eq!(relative_offset("2030-01-01T00:00:00Z"), None);
    }
}
