//! `waitable submit`: one job (`--at`, `--id`, `--payload`), or many from a JSON Lines file.
//! Everything is checked before the first call is sent.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use futures::StreamExt;

use crate::backend::Backend;
use crate::cli::SubmitArgs;
use crate::config::Config;
use crate::core::job::JobRequest;
use crate::core::payload::parse_payload;
use crate::core::render::{self, BatchFailure, BatchReport};
use crate::core::submit_input::{BatchJob, job_request, parse_batch};
use crate::{Error, Result};

/// Submits in flight at once in a batch (the rate limit is what bounds the load).
const BATCH_CONCURRENCY: usize = 32;

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn read_input_file(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {what} {}: {e}", path.display())))
}

/// The single job the flags describe, checked.
pub fn request_from_args(args: &SubmitArgs) -> Result<JobRequest> {
    let payload = match (&args.payload, &args.payload_file) {
        (Some(text), _) => Some(parse_payload(text).map_err(Error::usage)?),
        (None, Some(path)) => Some(
            parse_payload(&read_input_file(path, "payload file")?)
                .map_err(|e| Error::usage(format!("{}: {e}", path.display())))?,
        ),
        (None, None) => None,
    };
    let at = args
        .at
        .as_deref()
        .ok_or_else(|| Error::usage("--at is required (or --file for a batch)"))?;
    job_request(at, args.id.as_deref(), payload, Utc::now(), new_id).map_err(Error::usage)
}

pub async fn run<B: Backend>(
    backend: &B,
    args: &SubmitArgs,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    if let Some(file) = &args.file {
        if args.rate == 0 {
            return Err(Error::usage("--rate must be at least 1 job per second"));
        }
        let jobs = parse_batch(&read_input_file(file, "jobs file")?, Utc::now(), new_id)
            .map_err(|e| Error::usage(format!("{}: {e}", file.display())))?;
        // No stack: one clear error, not the same failure once per line.
        backend.outputs().await?;
        return batch(backend, &jobs, args.rate, config, out).await;
    }
    let request = request_from_args(args)?;
    let submitted = backend.submit(&request).await?;
    if submitted.already_submitted {
        config.ui.info(format!(
            "job {} was already submitted with this time and payload; nothing new was started",
            submitted.job_id
        ));
    }
    if config.json() {
        render::json_value(out, &submitted)
    } else {
        render::submitted_table(out, &submitted, &super::status::style())
    }
    .context("writing the result")?;
    Ok(())
}

/// Submits every line concurrently, at most `rate` starts a second, and accounts for each.
async fn batch<B: Backend>(
    backend: &B,
    jobs: &[BatchJob],
    rate: u32,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let progress = if config.ui.interactive {
        indicatif::ProgressBar::new(jobs.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} jobs ({per_sec}, {eta} left)",
        )
        .expect("a valid template"),
    );
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    // Never catch up in a burst after a slow moment: that would break the rate limit.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ticks = tokio::sync::Mutex::new(ticks);

    let mut results = futures::stream::iter(jobs)
        .map(|job| {
            let ticks = &ticks;
            async move {
                if job.duplicate_of.is_some() {
                    return (job, None);
                }
                ticks.lock().await.tick().await;
                (job, Some(backend.submit(&job.request).await))
            }
        })
        .buffer_unordered(BATCH_CONCURRENCY);

    let mut report = BatchReport::default();
    while let Some((job, result)) = results.next().await {
        progress.inc(1);
        match result {
            None => {
                report.already_submitted += 1;
                progress.suspend(|| {
                    config.ui.info(format!(
                        "line {}: job {} repeats line {}: counted as already submitted",
                        job.line,
                        job.request.id,
                        job.duplicate_of.unwrap_or_default()
                    ))
                });
            }
            Some(Ok(s)) if s.already_submitted => report.already_submitted += 1,
            Some(Ok(_)) => report.submitted += 1,
            Some(Err(err)) => report.failed.push(BatchFailure {
                line: job.line,
                job_id: job.request.id.clone(),
                error: err.to_string(),
            }),
        }
    }
    progress.finish_and_clear();
    report.failed.sort_by_key(|f| f.line);
    if config.json() {
        render::json_value(out, &report)
    } else {
        render::batch_table(out, &report, &super::status::style())
    }
    .context("writing the result")?;
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(Error::failed(format!(
            "{} of {} jobs failed (listed above)",
            report.failed.len(),
            report.total()
        )))
    }
}
