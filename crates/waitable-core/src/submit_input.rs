//! What `submit` checks before anything is sent: the job Id, the payload, the size of the
//! execution input, and the lines of a `--file` batch.

use std::collections::HashMap;

use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::job::{JobRequest, LONGEST_EXPIRY, same_job};
use super::job_id::{InvalidId, InvalidUserId, validate_user_id};
use super::limits::{MAX_INPUT_BYTES, MAX_PAYLOAD_DEPTH, STATE_OVERHEAD_BYTES};
use super::payload::{Payload, PayloadError, nesting_depth};
use super::time_input::{TimeContext, normalise_at};

/// Why one job's `--at`, `--id` or payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobInputError {
    /// `--at` is not a time we take (`time_input`'s message).
    #[error("{0}")]
    Time(String),
    #[error(transparent)]
    Id(#[from] InvalidId),
    #[error(transparent)]
    UserId(#[from] InvalidUserId),
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error(
        "the payload is too large: the execution input would be {size} bytes, over the limit of {MAX_INPUT_BYTES} (Step Functions' 256 KB of state data, less {STATE_OVERHEAD_BYTES} for what the state machine adds)"
    )]
    TooLarge { size: usize },
}

impl JobInputError {
    /// True when the payload itself is at fault (so a message can name the file it came from).
    pub fn is_about_payload(&self) -> bool {
        matches!(
            self,
            JobInputError::Payload(_) | JobInputError::TooLarge { .. }
        )
    }
}

/// Why one line of a `--file` batch was refused, or the file as a whole (no jobs at all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("line {line}: {source}")]
    Job { line: usize, source: JobInputError },
    #[error(
        "line {line}: expected a JSON object {{\"at\": ..., \"id\"?: ..., \"payload\"?: ...}} (or a row of `status --output json`: StartActionAt, Id, Payload): {reason}"
    )]
    NotAJob { line: usize, reason: String },
    #[error(
        "line {line}: job Id {id:?} is already used on line {first_line} with a different time or payload"
    )]
    IdReused {
        line: usize,
        id: String,
        first_line: usize,
    },
    #[error("the file holds no jobs")]
    Empty,
}

/// Every reason a `--file` batch was refused, in line order: all its bad lines at once, so
/// one round of fixes is enough. One reason reads as one line; several as a count, then one
/// indented line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchErrors(pub Vec<BatchError>);

impl std::fmt::Display for BatchErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            all => {
                write!(f, "{} bad lines, nothing was sent:", all.len())?;
                all.iter().try_for_each(|e| write!(f, "\n  {e}"))
            }
        }
    }
}

impl std::error::Error for BatchErrors {}

/// Builds a checked request from the payload's JSON text (kept byte for byte). `new_id` makes
/// an Id when none is given (a UUID v4 in practice).
pub fn job_request(
    at: &str,
    id: Option<&str>,
    payload: Option<&str>,
    now: impl Into<TimeContext>,
    new_id: impl FnOnce() -> String,
) -> Result<JobRequest, JobInputError> {
    let at = normalise_at(at, now).map_err(|e| JobInputError::Time(e.to_string()))?;
    let payload = payload.map(Payload::parse).transpose()?;
    let id = match id {
        Some(id) => {
            validate_user_id(id)?;
            id.to_string()
        }
        None => new_id(),
    };
    let request = JobRequest { id, at, payload };
    check_input_size(&request.execution_input(LONGEST_EXPIRY))?;
    Ok(request)
}

/// The execution-input size rule, for both targets: `input` (built with [`LONGEST_EXPIRY`],
/// whatever the stack's retention) is at most [`MAX_INPUT_BYTES`] of JSON.
pub fn check_input_size(input: &serde_json::Value) -> Result<(), JobInputError> {
    let size = input.to_string().len();
    if size > MAX_INPUT_BYTES {
        return Err(JobInputError::TooLarge { size });
    }
    Ok(())
}

/// One job of a `--file` batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchJob {
    /// 1-based line number in the file.
    pub line: usize,
    pub request: JobRequest,
    /// An earlier line with the same Id and the same input: reported as already submitted,
    /// never sent twice.
    pub duplicate_of: Option<usize>,
    /// The offset when the line's `at` was a relative time (see [`crate::resubmit`]).
    pub relative: Option<chrono::Duration>,
}

/// A line: `at`, `id`, `payload`, or the names `status --output json` prints (`StartActionAt`,
/// `Id`, `Payload`), so its rows (`jq -c '.[]'`) can be submitted again. The other fields of
/// such a row are read and left: a new job's status, errors and deliveries are its own.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(alias = "StartActionAt")]
    at: String,
    #[serde(default, alias = "Id")]
    id: Option<String>,
    #[serde(default, alias = "Payload")]
    payload: Option<Box<RawValue>>,
    #[serde(default, rename = "ProcessStatus")]
    _process_status: Option<IgnoredAny>,
    #[serde(default, rename = "LastUpdated")]
    _last_updated: Option<IgnoredAny>,
    #[serde(default, rename = "Error")]
    _error: Option<IgnoredAny>,
    #[serde(default, rename = "DeliveredAt")]
    _delivered_at: Option<IgnoredAny>,
    #[serde(default, rename = "FiredAt")]
    _fired_at: Option<IgnoredAny>,
    #[serde(default, rename = "DeliveredTo")]
    _delivered_to: Option<IgnoredAny>,
}

/// Parses a JSON Lines batch (`{"at": ..., "id"?: ..., "payload"?: ...}` per line; blank
/// lines are skipped). Every line is checked before anything is sent, and every bad line is
/// reported, each naming its line. The same Id twice with the same input is marked as a
/// duplicate; with another input it is an error.
pub fn parse_batch(
    text: &str,
    now: impl Into<TimeContext>,
    mut new_id: impl FnMut() -> String,
) -> Result<Vec<BatchJob>, BatchErrors> {
    let ctx: TimeContext = now.into();
    let mut jobs = Vec::new();
    let mut errors = Vec::new();
    // Id -> (line, index in jobs) of its first occurrence.
    let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let (request, relative) = match batch_line(line, raw, &ctx, &mut new_id) {
            Ok(parsed) => parsed,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let duplicate_of = match seen.get(&request.id) {
            Some(&(first_line, first)) => {
                if jobs_equal(&jobs[first], &request) {
                    Some(first_line)
                } else {
                    errors.push(BatchError::IdReused {
                        line,
                        id: request.id,
                        first_line,
                    });
                    continue;
                }
            }
            None => {
                seen.insert(request.id.clone(), (line, jobs.len()));
                None
            }
        };
        jobs.push(BatchJob {
            line,
            request,
            duplicate_of,
            relative,
        });
    }
    if jobs.is_empty() && errors.is_empty() {
        errors.push(BatchError::Empty);
    }
    if !errors.is_empty() {
        return Err(BatchErrors(errors));
    }
    Ok(jobs)
}

/// One non-blank line, checked: its request and, for a relative time, the offset.
fn batch_line(
    line: usize,
    raw: &str,
    ctx: &TimeContext,
    new_id: &mut impl FnMut() -> String,
) -> Result<(JobRequest, Option<chrono::Duration>), BatchError> {
    // Measured first: a parser's recursion limit would give a less useful message.
    let depth = nesting_depth(raw);
    if depth > MAX_PAYLOAD_DEPTH + 1 {
        return Err(BatchError::Job {
            line,
            source: PayloadError::TooDeep { depth: depth - 1 }.into(),
        });
    }
    let parsed: Line = serde_json::from_str(raw).map_err(|e| BatchError::NotAJob {
        line,
        reason: e.to_string(),
    })?;
    let request = job_request(
        &parsed.at,
        parsed.id.as_deref(),
        parsed.payload.as_deref().map(RawValue::get),
        ctx.clone(),
        new_id,
    )
    .map_err(|source| BatchError::Job { line, source })?;
    Ok((request, super::time_input::relative_offset(&parsed.at)))
}

fn jobs_equal(first: &BatchJob, request: &JobRequest) -> bool {
    same_job(
        &first.request.execution_input(LONGEST_EXPIRY),
        &request.execution_input(LONGEST_EXPIRY),
    )
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_submit_refuses_the_canary_prefix() {
        let err =
            job_request("+1h", Some("waitable-canary-x"), None, now(), || "g".into()).unwrap_err();
        assert!(err.to_string().contains("reserved"), "{err}");
        let line = r#"{"at": "+1h", "id": "waitable-canary-y"}"#;
        assert!(parse_batch(line, now(), || "g".into()).is_err());
    }

    #[test]
    fn request_normalises_time_and_generates_an_id() {
        let r = job_request("+1m", None, None, now(), || "gen".into()).unwrap();
        assert_eq!(
            r,
            JobRequest {
                id: "gen".into(),
                at: "2026-03-01T12:01:00Z".into(),
                payload: None
            }
        );
        let r = job_request("now", Some("mine"), Some("{}"), now(), || {
            unreachable!("an Id was given")
        })
        .unwrap();
        assert_eq!(r.id, "mine");
        assert!(job_request("now", Some("bad id"), None, now(), String::new).is_err());
        assert!(job_request("later", None, None, now(), String::new).is_err());
        for not_an_object in [r#""text""#, "42", "[1, 2]"] {
            let err =
                job_request("now", None, Some(not_an_object), now(), String::new).unwrap_err();
            assert!(matches!(err, JobInputError::Payload(_)), "{err}");
        }
    }

    #[test]
    fn input_over_256_kb_is_refused_just_at_the_limit() {
        let overhead = json!({"StartTimestamp": "2026-03-01T12:00:00Z", "Payload": "{\"x\":\"\"}",
            "ExpiresAt": crate::retention::KEEP_FOREVER, "Run": {"Id": "a", "Number": "1"}})
        .to_string()
        .len();
        let fits = "x".repeat(MAX_INPUT_BYTES - overhead);
        assert!(
            job_request(
                "now",
                Some("a"),
                Some(&json!({"x": fits}).to_string()),
                now(),
                String::new
            )
            .is_ok()
        );
        let over = format!("{fits}x");
        let err = job_request(
            "now",
            Some("a"),
            Some(&json!({"x": over}).to_string()),
            now(),
            String::new,
        )
        .unwrap_err();
        assert!(matches!(err, JobInputError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("too large"), "{err}");
    }

    #[test]
    fn batch_lines_are_parsed_and_checked() {
        let text = r#"{"at": "+1m", "id": "a", "payload": {"n": 1}}

{"at": "now"}
{"at": "+1m", "id": "a", "payload": {"n": 1}}
"#;
        let mut n = 0;
        let jobs = parse_batch(text, now(), || {
            n += 1;
            format!("gen{n}")
        })
        .unwrap();
        assert_eq!(jobs.len(), 3);
        assert_eq!(jobs[0].line, 1);
        assert_eq!(jobs[1].line, 3);
        assert_eq!(jobs[1].request.id, "gen1");
        assert_eq!(jobs[2].line, 4);
        assert_eq!(jobs[2].duplicate_of, Some(1));
        assert_eq!(jobs[0].duplicate_of, None);
    }

    #[test]
    fn batch_errors_name_the_line() {
        let cases = [
            ("{\"at\": \"now\"}\nnot json", "line 2:"),
            (
                "{\"at\": \"now\"}\n{\"at\": \"now\", \"extra\": 1}",
                "line 2:",
            ),
            ("{\"at\": \"yesterday\"}", "line 1:"),
            (
                "{\"at\": \"now\", \"payload\": [1]}",
                "line 1: the payload must be a JSON object",
            ),
            ("{\"id\": \"x\"}", "line 1:"),
            ("\n\n{\"at\": \"now\", \"id\": \"a b\"}", "line 3:"),
            (
                "{\"at\": \"now\", \"id\": \"a\"}\n{\"at\": \"+1h\", \"id\": \"a\"}",
                "line 2: job Id \"a\" is already used on line 1",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_batch(text, now(), String::new).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{text:?}: {err}");
        }
        assert!(parse_batch("\n \n", now(), String::new).is_err());
    }

    #[test]
    fn every_bad_line_is_reported_at_once() {
        let text = "{\"at\": \"now\"}\nnot json\n{\"at\": \"+1m\"}\n{\"at\": \"yesterday\"}\n\n{\"at\": \"now\", \"payload\": 1}";
        let mut n = 0;
        let err = parse_batch(text, now(), || {
            n += 1;
            format!("gen{n}")
        })
        .unwrap_err();
        let lines: Vec<usize> = err
            .0
            .iter()
            .map(|e| match e {
                BatchError::Job { line, .. } | BatchError::NotAJob { line, .. } => *line,
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(lines, [2, 4, 6]);
        let text = err.to_string();
        assert!(
            text.starts_with("3 bad lines, nothing was sent:\n  line 2: "),
            "{text}"
        );
        assert_eq!(text.lines().count(), 4, "{text}");
        // One bad line is one line.
        let one = parse_batch("{\"at\": \"later\"}", now(), String::new).unwrap_err();
        assert_eq!(one.to_string().lines().count(), 1, "{one}");
    }

    #[test]
    fn rows_of_status_json_are_lines_too() {
        let row = r#"{"Id":"a","StartActionAt":"2026-03-01T13:00:00Z","ProcessStatus":"FAILED","LastUpdated":"2026-03-01T12:00:00Z","Payload":{"n":1},"Error":"x","DeliveredAt":"t","FiredAt":"t","DeliveredTo":["queue"]}"#;
        let jobs = parse_batch(row, now(), || unreachable!("an Id is given")).unwrap();
        assert_eq!(
            jobs[0].request,
            JobRequest {
                id: "a".into(),
                at: "2026-03-01T13:00:00Z".into(),
                payload: Some(Payload::parse(r#"{"n":1}"#).unwrap()),
            }
        );
        // Both spellings of one field is an error, and so is a field of neither.
        for bad in [
            r#"{"at":"+1m","StartActionAt":"+1m"}"#,
            r#"{"at":"+1m","Status":"x"}"#,
        ] {
            assert!(parse_batch(bad, now(), String::new).is_err(), "{bad}");
        }
    }
}
