//! `waitable submit`: one job (`--at`, `--id`, `--payload`), or many from a JSON Lines file.
//! Everything is checked before the first call is sent.

use std::io::Write;
use std::num::NonZeroU32;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;

use crate::backend::Backend;
use crate::config::Config;
use crate::output::table_style;
use crate::request::SubmitRequest;
use crate::{Error, Result};
use chrono::Utc;
use waitable_core::job::{JobRecord, JobRequest, JobStatus, Submitted};
use waitable_core::render::{self, BatchFailure, BatchReport};
use waitable_core::resubmit::{self, Resubmit};
use waitable_core::submit_input::BatchJob;

/// Submits in flight at once in a batch (the rate limit is what bounds the load).
const BATCH_CONCURRENCY: usize = 32;

pub async fn run<B: Backend>(
    backend: &B,
    request: &SubmitRequest,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let (job, relative) = match request {
        SubmitRequest::One(job, relative) => (job, *relative),
        SubmitRequest::Batch(batch_request) => {
            let rate = batch_request
                .rate
                .map_or_else(|| backend.default_rate(), NonZeroU32::get);
            // No stack: one clear error, not the same failure once per line.
            backend.outputs().await?;
            return batch(backend, &batch_request.jobs, rate, config, out).await;
        }
    };
    let (submitted, at) = submit_one(backend, job, relative, Utc::now()).await?;
    if submitted.already_submitted {
        config.ui.info(format!(
            "job {} was already submitted for {at} with this payload; nothing new was started",
            submitted.job_id
        ));
    }
    if config.json() {
        render::json_value(out, &submitted)
    } else {
        render::submitted_table(out, &submitted, &table_style(config.display_tz.clone()))
    }
    .context("writing the result")?;
    Ok(())
}

/// Submits one job, judging a taken Id by [`resubmit::judge`]: a relative time repeated
/// within its window is the stored job (sent again with the stored time, so the target
/// answers "already submitted"), a finished job is refused, a different one says what
/// differs. A new job costs nothing extra: the row is read only when the Id is taken.
async fn submit_one<B: Backend>(
    backend: &B,
    request: &JobRequest,
    relative: Option<chrono::Duration>,
    now: chrono::DateTime<Utc>,
) -> Result<(Submitted, String)> {
    let outcome = backend
        .submit(request)
        .await
        .map(|s| (s, request.at.clone()));
    if matches!(&outcome, Ok((s, _)) if !s.already_submitted) {
        return outcome;
    }
    let Some(row) = backend.job(&request.id).await? else {
        return outcome;
    };
    match resubmit::judge(&row, request, relative, now) {
        Resubmit::Same { stored_at } if stored_at != request.at => {
            let stored = JobRequest {
                at: stored_at.clone(),
                ..request.clone()
            };
            Ok((backend.submit(&stored).await?, stored_at))
        }
        Resubmit::Same { .. } => outcome,
        Resubmit::Different(diff) => Err(Error::failed(diff)),
        Resubmit::Finished { status } => Err(finished(&row, status)),
    }
}

fn finished(row: &JobRecord, status: JobStatus) -> Error {
    Error::failed(resubmit::finished_message(
        &row.id,
        status,
        &row.start_action_at,
    ))
}

/// Paces starts at `rate` a second on average: a slow moment may be caught up, but never by
/// more than one second's worth of starts at once (a token bucket of `rate` tokens, well
/// inside Step Functions' own bucket of 800 to 1300). A plain interval that delays after a
/// late tick drifts below the rate on a busy machine (89% of it in `scripts/bench-submit`).
struct Pace {
    period: Duration,
    burst: Duration,
    next: tokio::time::Instant,
}

impl Pace {
    fn new(rate: u32, now: tokio::time::Instant) -> Pace {
        Pace {
            period: Duration::from_secs_f64(1.0 / f64::from(rate)),
            burst: Duration::from_secs(1),
            next: now,
        }
    }

    /// When the next start may go, given the time now.
    fn next(&mut self, now: tokio::time::Instant) -> tokio::time::Instant {
        let earliest = now.checked_sub(self.burst).unwrap_or(now);
        if self.next < earliest {
            self.next = earliest;
        }
        let at = self.next;
        self.next += self.period;
        at
    }
}

/// What became of one line of a batch.
enum Sent {
    /// A repeat of an earlier line: never sent, counted as already submitted.
    Repeat,
    /// Never sent: Ctrl-C came first.
    Not,
    Done(Result<(Submitted, String)>),
}

/// Submits every line concurrently, at most `rate` starts a second, and accounts for each.
/// Ctrl-C stops the sending: lines in flight finish, the rest are not sent, the report says
/// which (the first unsent line) and the command exits 130. A re-run of the same file is
/// safe: the lines sent answer "already submitted".
async fn batch<B: Backend>(
    backend: &B,
    jobs: &[BatchJob],
    rate: u32,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let progress = crate::output::count_bar(&config.ui, jobs.len(), "jobs");
    let ticks = tokio::sync::Mutex::new(Pace::new(rate, tokio::time::Instant::now()));
    let (stop, stopped) = tokio::sync::watch::channel(false);

    let mut results = futures::stream::iter(jobs)
        .map(|job| {
            let ticks = &ticks;
            let mut stopped = stopped.clone();
            async move {
                if *stopped.borrow() {
                    return (job, Sent::Not);
                }
                if job.duplicate_of.is_some() {
                    return (job, Sent::Repeat);
                }
                let at = ticks.lock().await.next(tokio::time::Instant::now());
                tokio::select! {
                    biased;
                    _ = stopped.wait_for(|s| *s) => return (job, Sent::Not),
                    () = tokio::time::sleep_until(at) => {}
                }
                let result = submit_one(backend, &job.request, job.relative, Utc::now()).await;
                (job, Sent::Done(result))
            }
        })
        .buffer_unordered(BATCH_CONCURRENCY);

    let mut report = BatchReport::default();
    // Polled first, before any line is sent: from then on Ctrl-C is ours.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut listening = true;
    let mut interrupted = false;
    loop {
        let next = tokio::select! {
            biased;
            signal = &mut ctrl_c, if listening => {
                listening = false;
                if signal.is_ok() {
                    interrupted = true;
                    let _ = stop.send(true);
                    progress.suspend(|| config.ui.info(
                        "interrupted: sending no more lines (those in flight finish)",
                    ));
                }
                continue;
            }
            next = results.next() => next,
        };
        let Some((job, sent)) = next else { break };
        progress.inc(1);
        match sent {
            Sent::Not => {
                report.not_sent += 1;
                report.first_unsent_line = Some(
                    report
                        .first_unsent_line
                        .map_or(job.line, |l| l.min(job.line)),
                );
            }
            Sent::Repeat => {
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
            Sent::Done(Ok((s, _))) if s.already_submitted => report.already_submitted += 1,
            Sent::Done(Ok(_)) => report.submitted += 1,
            Sent::Done(Err(err)) => report.failed.push(BatchFailure {
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
        render::batch_table(out, &report, &table_style(config.display_tz.clone()))
    }
    .context("writing the result")?;
    if interrupted {
        let sent = report.total() - report.not_sent;
        config.ui.info(match report.first_unsent_line {
            Some(line) => format!(
                "interrupted: {sent} of {} lines sent, {} not sent (the first is line {line}); run the same file again to send the rest: the lines sent answer \"already submitted\"",
                report.total(),
                report.not_sent
            ),
            None => format!("interrupted after every line was sent ({sent} lines)"),
        });
        return Err(Error::interrupted());
    }
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(Error::failed(format!(
            "{} of {} failed (listed above)",
            report.failed.len(),
            render::count_jobs(report.total())
        )))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pacing_keeps_the_average_and_bounds_the_catch_up() {
        let t0 = tokio::time::Instant::now();
        let mut pace = super::Pace::new(10, t0);
        let first: Vec<_> = (0..10).map(|_| pace.next(t0) - t0).collect();
        assert_eq!(first[9], std::time::Duration::from_millis(900), "{first:?}");
        // Five seconds late: at most one second's worth (10 starts) goes at once.
        let late = t0 + std::time::Duration::from_secs(6);
        let burst = (0..20).filter(|_| pace.next(late) <= late).count();
        assert_eq!(burst, 11, "one second's worth, and the one due now");
    }
}
