//! Wall-clock times in a named time zone (`2030-01-01T09:00 Europe/Berlin`, or a bare local
//! time with `--tz`/`TZ`), resolved with jiff's time zone database (the system's, or the copy
//! bundled into the binary where the system has none).
//!
//! A local time the clocks skip (a DST gap) or show twice (a DST overlap) is refused with both
//! candidates named: guessing would run the job an hour early or late.

use chrono::{DateTime, Utc};
use jiff::civil;
pub use jiff::tz::TimeZone;
use jiff::tz::{AmbiguousOffset, Offset};

use super::time_error::TimeError;

/// A time zone by IANA name (`Europe/Berlin`, `UTC`) or, for `TZ`, a POSIX rule (`CET-1CEST`).
pub fn zone(name: &str) -> Result<TimeZone, TimeError> {
    let trimmed = name.trim().trim_start_matches(':');
    TimeZone::get(trimmed)
        .or_else(|_| TimeZone::posix(trimmed))
        .map_err(|_| TimeError::UnknownZone {
            zone: name.to_string(),
        })
}

/// The display name of a zone (its IANA name, else `the given zone`).
pub fn zone_name(tz: &TimeZone) -> String {
    tz.iana_name().unwrap_or("the given time zone").to_string()
}

/// `2030-01-01T09:00`, `2030-01-01 09:00`, `2030-01-01T09:00:30` (no offset, no fraction):
/// `None` when the text is not in this form.
pub fn parse_civil(text: &str) -> Option<civil::DateTime> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i32> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if !(b.len() == 16 || b.len() == 19) {
        return None;
    }
    let seps = b[4] == b'-' && b[7] == b'-' && matches!(b[10], b'T' | b't' | b' ') && b[13] == b':';
    if !seps || (b.len() == 19 && b[16] != b':') {
        return None;
    }
    let second = if b.len() == 19 { num(17..19)? } else { 0 };
    // A leap second has no place in a wall-clock time; jiff would clamp it to :59 (early).
    if second > 59 {
        return None;
    }
    civil::DateTime::new(
        i16::try_from(num(0..4)?).ok()?,
        i8::try_from(num(5..7)?).ok()?,
        i8::try_from(num(8..10)?).ok()?,
        i8::try_from(num(11..13)?).ok()?,
        i8::try_from(num(14..16)?).ok()?,
        i8::try_from(second).ok()?,
        0,
    )
    .ok()
}

/// The one instant `local` names in `tz`, or why there is not exactly one.
pub fn resolve(local: civil::DateTime, tz: &TimeZone) -> Result<DateTime<Utc>, TimeError> {
    let at = |offset: Offset| -> Result<DateTime<Utc>, TimeError> {
        let ts = offset
            .to_timestamp(local)
            .map_err(|_| TimeError::OutOfRange {
                text: local.to_string(),
            })?;
        DateTime::from_timestamp(ts.as_second(), 0).ok_or_else(|| TimeError::OutOfRange {
            text: local.to_string(),
        })
    };
    let shown = |offset: Offset| -> Result<String, TimeError> {
        Ok(format!(
            "{} ({})",
            super::timestamp::format_utc(at(offset)?),
            offset
        ))
    };
    match tz.to_ambiguous_timestamp(local).offset() {
        AmbiguousOffset::Unambiguous { offset } => at(offset),
        AmbiguousOffset::Gap { before, after } => Err(TimeError::Gap {
            local: local.to_string(),
            zone: zone_name(tz),
            before: shown(before)?,
            after: shown(after)?,
        }),
        AmbiguousOffset::Fold { before, after } => Err(TimeError::Fold {
            local: local.to_string(),
            zone: zone_name(tz),
            first: shown(before)?,
            second: shown(after)?,
        }),
    }
}

/// `at` as `2030-01-01T10:00:00+01:00` in `tz` (whole seconds), for tables and `show`.
pub fn format_in(at: DateTime<Utc>, tz: &TimeZone) -> String {
    match jiff::Timestamp::from_second(at.timestamp()) {
        Ok(ts) => {
            let offset = tz.to_offset(ts);
            let local = offset.to_datetime(ts);
            let secs = offset.seconds();
            let sign = if secs < 0 { '-' } else { '+' };
            let abs = secs.unsigned_abs();
            format!(
                "{}{sign}{:02}:{:02}",
                local.strftime("%Y-%m-%dT%H:%M:%S"),
                abs / 3600,
                abs % 3600 / 60
            )
        }
        Err(_) => super::timestamp::format_utc(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> TimeZone {
        zone("Europe/Berlin").unwrap()
    }

    #[test]
    fn a_wall_clock_time_in_berlin_is_one_instant() {
        let local = parse_civil("2030-01-01T09:00").unwrap();
        assert_eq!(
            super::super::timestamp::format_utc(resolve(local, &berlin()).unwrap()),
            "2030-01-01T08:00:00Z"
        );
        let summer = parse_civil("2030-07-01 09:00:30").unwrap();
        assert_eq!(
            super::super::timestamp::format_utc(resolve(summer, &berlin()).unwrap()),
            "2030-07-01T07:00:30Z"
        );
    }

    #[test]
    fn a_skipped_local_time_names_both_candidates() {
        // 2030-03-31: Berlin's clocks go from 02:00 to 03:00.
        let err = resolve(parse_civil("2030-03-31T02:30").unwrap(), &berlin()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, TimeError::Gap { .. }), "{text}");
        assert!(text.contains("2030-03-31T01:30:00Z"), "{text}");
        assert!(text.contains("2030-03-31T00:30:00Z"), "{text}");
        assert!(text.contains("Europe/Berlin"), "{text}");
    }

    #[test]
    fn a_repeated_local_time_names_both_candidates() {
        // 2030-10-27: Berlin's clocks go back from 03:00 to 02:00.
        let err = resolve(parse_civil("2030-10-27T02:30").unwrap(), &berlin()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, TimeError::Fold { .. }), "{text}");
        assert!(text.contains("2030-10-27T00:30:00Z (+02)"), "{text}");
        assert!(text.contains("2030-10-27T01:30:00Z (+01)"), "{text}");
    }

    #[test]
    fn only_the_plain_local_forms_parse() {
        for ok in [
            "2030-01-01T09:00",
            "2030-01-01 09:00",
            "2030-01-01t09:00:59",
        ] {
            assert!(parse_civil(ok).is_some(), "{ok}");
        }
        for bad in [
            "2030-01-01",
            "2030-01-01T09:00:60",
            "2030-02-30T09:00",
            "2030-01-01T9:00",
            "2030-01-01T09:00Z",
            "2030-01-01T09:00:00.5",
        ] {
            assert!(parse_civil(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn zones_by_name_or_posix_rule_and_unknown_ones_refused() {
        assert!(zone("UTC").is_ok());
        assert!(zone(":Europe/Berlin").is_ok());
        assert!(zone("CET-1CEST,M3.5.0,M10.5.0/3").is_ok());
        assert!(matches!(
            zone("Mars/Olympus"),
            Err(TimeError::UnknownZone { .. })
        ));
    }

    #[test]
    fn times_show_in_a_zone_with_their_offset() {
        let at = "2030-07-01T07:00:00Z".parse().unwrap();
        assert_eq!(format_in(at, &berlin()), "2030-07-01T09:00:00+02:00");
        let ny = zone("America/New_York").unwrap();
        assert_eq!(format_in(at, &ny), "2030-07-01T03:00:00-04:00");
    }
}
