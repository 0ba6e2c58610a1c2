//! `submit`'s flags, checked: one job, or a batch read from a JSON Lines file.

use std::num::NonZeroU32;
use std::path::Path;

use crate::cli::SubmitArgs;
use crate::{Error, Result};
use waitable_core::job::JobRequest;
use waitable_core::submit_input::{BatchJob, job_request, parse_batch};
use waitable_core::time_input::{TimeContext, relative_offset};

#[derive(Debug, Clone)]
pub enum SubmitRequest {
    /// `--at` (with `--id`, `--payload` or `--payload-file`), and its offset when `--at` was a
    /// relative time (a repeat is judged by its window: `waitable_core::resubmit`).
    One(JobRequest, Option<chrono::Duration>),
    /// `--file`.
    Batch(BatchRequest),
}

/// Every line of a `--file`, checked, and the pace to send them at.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    pub jobs: Vec<BatchJob>,
    /// `--rate`; `None`: the target's default.
    pub rate: Option<NonZeroU32>,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn read_input_file(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {what} {}: {e}", path.display())))
}

impl SubmitRequest {
    pub fn from_args(args: &SubmitArgs, now: TimeContext) -> Result<Self> {
        if let Some(file) = &args.file {
            let rate = match args.rate {
                None => None,
                Some(r) => Some(
                    NonZeroU32::new(r)
                        .ok_or_else(|| Error::usage("--rate must be at least 1 job per second"))?,
                ),
            };
            // `--file -`: the lines come from stdin (`... | waitable submit --file -`).
            let (text, name) = if file.as_os_str() == "-" {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .map_err(|e| Error::usage(format!("cannot read the jobs from stdin: {e}")))?;
                (text, "stdin".to_string())
            } else {
                (
                    read_input_file(file, "jobs file")?,
                    file.display().to_string(),
                )
            };
            let jobs = parse_batch(&text, now, new_id)
                .map_err(|e| Error::usage(format!("{name}: {e}")))?;
            return Ok(SubmitRequest::Batch(BatchRequest { jobs, rate }));
        }
        let relative = args.at.as_deref().and_then(relative_offset);
        one(args, now).map(|job| SubmitRequest::One(job, relative))
    }
}

/// The single job the flags describe, checked.
fn one(args: &SubmitArgs, now: TimeContext) -> Result<JobRequest> {
    let at = args
        .at
        .as_deref()
        .ok_or_else(|| Error::usage("--at is required (or --file for a batch)"))?;
    // `--payload @file.json` reads the file, as curl's `-d @file` does.
    let file = match (&args.payload, &args.payload_file) {
        (Some(text), _) => text.strip_prefix('@').map(std::path::PathBuf::from),
        (None, path) => path.clone(),
    };
    let (payload, from_file) = match (&args.payload, file) {
        (_, Some(path)) => (Some(read_input_file(&path, "payload file")?), Some(path)),
        (Some(text), None) => (Some(text.clone()), None),
        (None, None) => (None, None),
    };
    job_request(at, args.id.as_deref(), payload.as_deref(), now, new_id).map_err(
        |e| match from_file {
            Some(path) if e.is_about_payload() => Error::usage(format!("{}: {e}", path.display())),
            _ => e.into(),
        },
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(argv: &[&str]) -> Result<SubmitRequest> {
        let cli = Cli::try_parse_from(argv).unwrap();
        let Command::Submit(args) = cli.command else {
            panic!("not a submit")
        };
        SubmitRequest::from_args(&args, chrono::Utc::now().into())
    }

    #[test]
    fn ids_may_start_with_a_hyphen() {
        let Ok(SubmitRequest::One(job, _)) =
            parse(&["waitable", "submit", "--at", "now", "--id", "-abc"])
        else {
            panic!("not one job")
        };
        assert_eq!(job.id, "-abc");
        for argv in [
            &["waitable", "status", "--id", "-abc"][..],
            &["waitable", "cancel", "-abc"],
        ] {
            assert!(Cli::try_parse_from(argv).is_ok(), "{argv:?}");
        }
    }

    #[test]
    fn a_payload_file_is_named_only_when_the_payload_is_at_fault() {
        let dir = std::env::temp_dir().join(format!("waitable-payload-{}", new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.json");
        std::fs::write(&file, "[1]").unwrap();
        let path = file.to_str().unwrap();
        let err = parse(&["waitable", "submit", "--at", "now", "--payload-file", path])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("{path}: the payload must be")),
            "{err}"
        );
        std::fs::write(&file, "{}").unwrap();
        let argv = [
            "waitable",
            "submit",
            "--at",
            "now",
            "--id",
            "a b",
            "--payload-file",
            path,
        ];
        let err = parse(&argv).unwrap_err().to_string();
        assert!(err.starts_with("invalid job Id"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_zero_rate_and_an_unreadable_file_are_usage_errors() {
        let dir = std::env::temp_dir().join(format!("waitable-submit-{}", new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("jobs.jsonl");
        std::fs::write(&file, "{\"at\": \"+1h\"}\n").unwrap();
        let path = file.to_str().unwrap();
        let err = parse(&["waitable", "submit", "--file", path, "--rate", "0"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let Ok(SubmitRequest::Batch(batch)) = parse(&["waitable", "submit", "--file", path]) else {
            panic!("not a batch")
        };
        assert_eq!((batch.jobs.len(), batch.rate), (1, None));
        let missing = dir.join("missing.jsonl");
        let err = parse(&["waitable", "submit", "--file", missing.to_str().unwrap()]);
        assert_eq!(err.unwrap_err().exit_code(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
