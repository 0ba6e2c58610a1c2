//! Why a time the user typed (`--at`, `--due-after`, `--tz`) was refused.

/// What `--at` accepts, for error messages and help.
pub const ACCEPTED_FORMS: &str = "an RFC 3339 time (2030-01-01T09:00:00Z, 2030-01-01T10:00:00+01:00), a local time with a zone (2030-01-01T09:00 Europe/Berlin, or 2030-01-01 09:00 with --tz), epoch seconds (@1893488400), a relative time (+90s, +1h30m, +1w) or now";

/// Why a time the user typed was refused (each is bad input: exit 2, nothing sent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("invalid time {text:?}: expected {ACCEPTED_FORMS}")]
    Unparseable { text: String },
    #[error(
        "invalid time {text:?}: expected <number><unit>... with units w, d, h, m, s (e.g. +90s, +15m, +1h30m, +1w)"
    )]
    BadRelative { text: String },
    #[error("invalid time {text:?}: the number is too large")]
    TooLarge { text: String },
    #[error("invalid time {text:?}: it is outside the range of times that can be written")]
    OutOfRange { text: String },
    #[error("unknown time zone {zone:?}: give an IANA name such as Europe/Berlin or UTC")]
    UnknownZone { zone: String },
    #[error(
        "time {text:?} has no time zone: add one (2030-01-01T09:00 Europe/Berlin or +01:00), give --tz, or set TZ"
    )]
    NoZone { text: String },
    #[error(
        "{local} does not exist in {zone} (the clocks skip it): give {before} or {after} instead"
    )]
    Gap {
        local: String,
        zone: String,
        before: String,
        after: String,
    },
    #[error(
        "{local} happens twice in {zone} (the clocks go back): give {first} or {second} instead"
    )]
    Fold {
        local: String,
        zone: String,
        first: String,
        second: String,
    },
    #[error("time {text:?} ({at}) is in the past: give a time from now on")]
    Past { text: String, at: String },
    #[error(
        "time {text:?} ({at}) is more than 363 days ahead: a Standard execution lives at most one year, and its last 2 days are kept for the job's deliveries"
    )]
    TooFarAhead { text: String, at: String },
}
