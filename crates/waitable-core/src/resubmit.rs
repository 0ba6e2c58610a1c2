//! What a submit of an Id that already has a row means: the same job again, a finished job
//! that wants `retry`, or a different job under a taken Id (and what differs).
//!
//! A relative time (`--at +1m`) is recomputed from the clock on every run, so a repeated
//! submit never carries the stored time exactly. It is the same job when the payload is the
//! same and the stored time lies in the window the offset allows: the first submit was at or
//! before now, so its time is at most `now + offset` (plus the second it was rounded up by).

use chrono::{DateTime, Duration, Utc};

use super::job::{JobRecord, JobRequest, JobStatus};
use super::payload::same_json;
use super::time_input::parse_stored;

/// The verdict on a submit whose Id has a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resubmit {
    /// The same job: nothing new is started. `stored_at` is the row's StartActionAt.
    Same { stored_at: String },
    /// The same job, but it already ended FAILED or CANCELLED: submitting it again starts
    /// nothing, so the answer must not look like success.
    Finished { status: JobStatus },
    /// A different job under this Id.
    Different(Difference),
}

/// What differs between the row and a new submit under its Id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "job {id} was already submitted with {what}: {detail}; to run another job use a new --id, or first `waitable cancel {id}`",
    what = self.what(),
    detail = self.detail()
)]
pub struct Difference {
    pub id: String,
    pub stored_at: String,
    pub new_at: String,
    pub time_differs: bool,
    pub payload_differs: bool,
}

impl Difference {
    fn what(&self) -> &'static str {
        match (self.time_differs, self.payload_differs) {
            (true, true) => "a different time and payload",
            (true, false) => "a different time",
            _ => "a different payload",
        }
    }

    fn detail(&self) -> String {
        let mut parts = Vec::new();
        if self.time_differs {
            parts.push(format!(
                "stored time {}, this submit {}",
                self.stored_at, self.new_at
            ));
        }
        if self.payload_differs {
            parts.push("the stored payload is not this payload".to_string());
        }
        parts.join("; ")
    }
}

/// Judges `request` against `row` (the same Id). `relative`: the offset when `--at` was a
/// relative time, which widens the time check to its window.
pub fn judge(
    row: &JobRecord,
    request: &JobRequest,
    relative: Option<Duration>,
    now: DateTime<Utc>,
) -> Resubmit {
    let payload_differs = match (&row.payload, &request.payload) {
        (Some(a), Some(b)) => !same_json(a.as_str(), b.as_str()),
        (None, None) => false,
        _ => true,
    };
    let time_differs = match relative {
        None => row.start_action_at != request.at,
        Some(offset) => !within_window(&row.start_action_at, offset, now),
    };
    if time_differs || payload_differs {
        return Resubmit::Different(Difference {
            id: request.id.clone(),
            stored_at: row.start_action_at.clone(),
            new_at: request.at.clone(),
            time_differs,
            payload_differs,
        });
    }
    match row.status() {
        Some(status @ (JobStatus::Failed | JobStatus::Cancelled)) => Resubmit::Finished { status },
        _ => Resubmit::Same {
            stored_at: row.start_action_at.clone(),
        },
    }
}

/// Whether a job stored for `stored` may have come from `now + offset` typed at some earlier
/// moment: at most `now + offset`, rounded up to the second.
fn within_window(stored: &str, offset: Duration, now: DateTime<Utc>) -> bool {
    let (Some(stored), Some(latest)) = (
        parse_stored(stored),
        now.checked_add_signed(offset + Duration::seconds(1)),
    ) else {
        return false;
    };
    stored <= latest
}

/// The message for [`Resubmit::Finished`].
pub fn finished_message(id: &str, status: JobStatus, stored_at: &str) -> String {
    format!(
        "job {id} was already submitted for {stored_at} and ended {status}: submitting it again starts nothing; to run it again: `waitable retry {id}` (or `--at T`)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;

    fn now() -> DateTime<Utc> {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn row(at: &str, status: &str, payload: Option<&str>) -> JobRecord {
        JobRecord {
            id: "x".into(),
            start_action_at: at.into(),
            process_status: status.into(),
            last_updated: None,
            payload: payload.map(|p| Payload::parse(p).unwrap()),
            error: None,
            delivered_at: None,
            delivered_to: Vec::new(),
            run: None,
            fired_at: None,
        }
    }

    fn request(at: &str, payload: Option<&str>) -> JobRequest {
        JobRequest {
            id: "x".into(),
            at: at.into(),
            payload: payload.map(|p| Payload::parse(p).unwrap()),
        }
    }

    #[test]
    fn a_relative_time_repeated_later_is_the_same_job() {
        // First `--at +1m` at 11:59:30 stored 12:00:31; repeated at 12:00:00 it asks 12:01:01.
        let stored = row("2026-03-01T12:00:31Z", "STARTED", Some(r#"{"a":1}"#));
        let again = request("2026-03-01T12:01:01Z", Some(r#"{ "a" : 1 }"#));
        assert_eq!(
            judge(&stored, &again, Some(Duration::minutes(1)), now()),
            Resubmit::Same {
                stored_at: "2026-03-01T12:00:31Z".into()
            }
        );
        // An absolute time keeps the exact rule.
        assert!(matches!(
            judge(&stored, &again, None, now()),
            Resubmit::Different(Difference {
                time_differs: true,
                payload_differs: false,
                ..
            })
        ));
    }

    #[test]
    fn a_stored_time_past_the_window_is_a_different_job() {
        // Stored for 12:05: no `+1m` typed at or before 12:00 can have asked for it.
        let stored = row("2026-03-01T12:05:00Z", "STARTED", None);
        let again = request("2026-03-01T12:01:01Z", None);
        let Resubmit::Different(diff) = judge(&stored, &again, Some(Duration::minutes(1)), now())
        else {
            panic!("not different")
        };
        let text = diff.to_string();
        assert!(text.contains("a different time:"), "{text}");
        assert!(text.contains("stored time 2026-03-01T12:05:00Z"), "{text}");
        assert!(text.contains("this submit 2026-03-01T12:01:01Z"), "{text}");
        assert!(
            text.contains("new --id") && text.contains("cancel x"),
            "{text}"
        );
    }

    #[test]
    fn a_different_payload_is_named() {
        let stored = row("2026-03-01T12:00:31Z", "STARTED", Some(r#"{"a":1}"#));
        let again = request("2026-03-01T12:01:01Z", Some(r#"{"a":2}"#));
        let Resubmit::Different(diff) = judge(&stored, &again, Some(Duration::minutes(1)), now())
        else {
            panic!("not different")
        };
        let text = diff.to_string();
        assert!(text.contains("a different payload:"), "{text}");
        assert!(!text.contains("stored time"), "{text}");
    }

    #[test]
    fn a_failed_or_cancelled_job_points_at_retry() {
        for status in ["FAILED", "CANCELLED"] {
            let stored = row("2026-03-01T12:00:00Z", status, None);
            let again = request("2026-03-01T12:00:00Z", None);
            let Resubmit::Finished { status: s } = judge(&stored, &again, None, now()) else {
                panic!("{status}: not finished")
            };
            let text = finished_message("x", s, "2026-03-01T12:00:00Z");
            assert!(
                text.contains(status) && text.contains("`waitable retry x`"),
                "{text}"
            );
        }
        let done = row("2026-03-01T12:00:00Z", "COMPLETED", None);
        assert!(matches!(
            judge(&done, &request("2026-03-01T12:00:00Z", None), None, now()),
            Resubmit::Same { .. }
        ));
    }
}
