//! `waitable cancel`: stop waiting jobs and mark them CANCELLED. One Id is cancelled at once;
//! several Ids, or the waiting jobs `--status STARTED` and the due times select, are counted,
//! confirmed, and cancelled at the target's StopExecution pace, each by the one per-job cancel.

use std::io::Write;

use anyhow::Context;
use futures::StreamExt;

use crate::backend::{Backend, JobQuery};
use crate::config::Config;
use crate::output::{count_bar, table_style};
use crate::pace::{Pace, Pacer};
use crate::request::CancelRequest;
use crate::{Error, Result};
use waitable_core::cancel::{JobOutcome, Outcome, outcome_after_failure, outcome_before};
use waitable_core::job::JobRecord;
use waitable_core::render::{self, cancel_report::CancelReport};

/// Rows read, or cancels in flight, at once (the pacer is what bounds the cancels' rate).
const CONCURRENCY: usize = 32;

pub async fn run<B: Backend>(
    backend: &B,
    request: &CancelRequest,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let id = match request {
        CancelRequest::One(id) => id,
        CancelRequest::Ids(_) | CancelRequest::Matching(_) => {
            return many(backend, request, config, out).await;
        }
    };
    let cancelled = backend.cancel(id).await?;
    config
        .ui
        .info(format!("job {} cancelled", cancelled.job_id));
    if config.json() {
        render::json_value(out, &cancelled)
    } else {
        render::jobs_table(
            out,
            std::slice::from_ref(&cancelled.job),
            &table_style(config.display_tz.clone()),
            "",
        )
    }
    .context("writing the result")?;
    Ok(())
}

/// A bulk cancel: select, count, ask, cancel at the quota's pace, report every job.
async fn many<B: Backend>(
    backend: &B,
    request: &CancelRequest,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    // Refused before anything is read when no one could answer the question.
    config.ui.can_confirm("cancel jobs", "--yes")?;
    let name = config.stack_name.as_str();
    let selected = match request {
        CancelRequest::Ids(ids) => rows_of(backend, ids).await?,
        CancelRequest::Matching(query) => matching(backend, query).await?,
        CancelRequest::One(_) => unreachable!("one Id is cancelled by `run`"),
    };
    let mut outcomes: Vec<Option<JobOutcome>> = selected
        .iter()
        .map(|(id, row)| outcome_before(id, row.as_ref()))
        .collect();
    let waiting: Vec<(usize, &str)> = selected
        .iter()
        .enumerate()
        .filter(|(i, _)| outcomes[*i].is_none())
        .map(|(i, (id, _))| (i, id.as_str()))
        .collect();
    let count = count_waiting(waiting.len(), selected.len());
    if !waiting.is_empty() {
        let place = super::deploy::in_place(backend.location().await?);
        let question = format!("cancel {count} in stack {name}{place}");
        if !config.ui.confirm_typed(&question, name)? {
            return Err(Error::failed(
                "cancel stopped: the name did not match; nothing was cancelled",
            ));
        }
        config
            .ui
            .info(format!("cancelling {count} in stack {name}"));
    }

    let progress = count_bar(&config.ui, waiting.len(), "cancelled");
    let pacer = tokio::sync::Mutex::new(Pacer::new(Pace::of(backend.cancel_quota())));
    let mut done = futures::stream::iter(waiting)
        .map(|(i, id)| {
            let pacer = &pacer;
            async move {
                pacer.lock().await.take().await;
                (i, cancel_one(backend, id).await)
            }
        })
        .buffer_unordered(CONCURRENCY);
    while let Some((i, outcome)) = done.next().await {
        progress.inc(1);
        if outcome.outcome == Outcome::Cancelled
            && let Some(why) = &outcome.reason
        {
            progress.suspend(|| config.ui.warn(why));
        }
        outcomes[i] = Some(outcome);
    }
    progress.finish_and_clear();

    let report = CancelReport {
        jobs: outcomes.into_iter().flatten().collect(),
    };
    if config.json() {
        render::json_value(out, &report.jobs)
    } else {
        render::cancel_report::cancel_table(out, &report, &table_style(config.display_tz.clone()))
    }
    .context("writing the result")?;
    config.ui.info(report.summary());
    match report.failure() {
        None => Ok(()),
        Some(which) => Err(Error::failed(which)),
    }
}

/// `3 waiting jobs` (of the 5 selected, when some are not waiting).
fn count_waiting(waiting: usize, selected: usize) -> String {
    let jobs = format!(
        "{waiting} waiting job{}",
        if waiting == 1 { "" } else { "s" }
    );
    if waiting == selected {
        jobs
    } else {
        format!("{jobs} (of {} selected)", render::count_jobs(selected))
    }
}

/// One job through the per-Id cancel; a refusal or failure is read back and sorted by the
/// same rule (`waitable_core::cancel`), never by its message.
async fn cancel_one<B: Backend>(backend: &B, id: &str) -> JobOutcome {
    match backend.cancel(id).await {
        Ok(cancelled) => JobOutcome::new(id, Outcome::Cancelled, Some(&cancelled.job)),
        Err(err) => match backend.job(id).await {
            Ok(row) => outcome_after_failure(id, row.as_ref(), err.to_string()),
            Err(_) => JobOutcome::new(id, Outcome::Failed, None).with_reason(err.to_string()),
        },
    }
}

/// Each Id with its row (none when there is no such job), in the order given.
async fn rows_of<B: Backend>(
    backend: &B,
    ids: &[String],
) -> Result<Vec<(String, Option<JobRecord>)>> {
    let rows: Vec<Result<Option<JobRecord>>> = futures::stream::iter(ids)
        .map(|id| backend.job(id))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    ids.iter()
        .cloned()
        .zip(rows)
        .map(|(id, row)| Ok((id, row?)))
        .collect()
}

/// The jobs `query` selects, by StartActionAt then Id.
async fn matching<B: Backend>(
    backend: &B,
    query: &JobQuery,
) -> Result<Vec<(String, Option<JobRecord>)>> {
    let mut rows = Vec::new();
    backend
        .jobs(query, &mut |job| {
            rows.push(job);
            Ok(())
        })
        .await?;
    rows.sort_by(|a, b| render::sort_key(a).cmp(&render::sort_key(b)));
    Ok(rows
        .into_iter()
        .map(|job| (job.id.clone(), Some(job)))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::commands::fake::Fake;
    use waitable_core::job::JobStatus;
    use waitable_core::limits::Quota;

    fn row(id: &str, status: &str) -> JobRecord {
        let mut job = crate::commands::fake::job("2030-01-01T00:00:00Z", id);
        job.process_status = status.into();
        job
    }

    #[tokio::test]
    async fn a_bulk_cancel_keeps_the_quotas_pace_and_reports_every_job() {
        let mut rows: Vec<JobRecord> = (0..6).map(|i| row(&format!("j{i}"), "STARTED")).collect();
        rows.push(row("done", "COMPLETED"));
        let fake = Fake {
            rows: Mutex::new(rows),
            // A bucket of 2, then one every 50 ms: StopExecution's shape, scaled down.
            quota: Some(Quota {
                bucket: 2,
                per_second: 20,
            }),
            ..Fake::default()
        };
        let all_waiting = CancelRequest::Matching(JobQuery {
            statuses: vec![JobStatus::Started],
            ..JobQuery::default()
        });
        let started = Instant::now();
        let mut out = Vec::new();
        run(&fake, &all_waiting, &Fake::config(), &mut out)
            .await
            .unwrap();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(190) && took < Duration::from_secs(2),
            "2 at once, then 4 at one per 50 ms: {took:?}"
        );
        let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(report.as_array().unwrap().len(), 6, "{report}");
        assert!(
            report
                .as_array()
                .unwrap()
                .iter()
                .all(|j| j["Outcome"] == "cancelled" && j["ProcessStatus"] == "CANCELLED"),
            "{report}"
        );
        assert_eq!(fake.calls().len(), 6, "one cancel per waiting job");

        // Ids: the finished and the missing are not sent, and the missing one fails the run.
        let ids = CancelRequest::Ids(vec!["done".into(), "nope".into(), "j0".into()]);
        let mut out = Vec::new();
        let err = run(&fake, &ids, &Fake::config(), &mut out)
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(
            err.to_string(),
            "could not cancel 1 of 3 jobs: nope (no such job)"
        );
        let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let outcomes: Vec<&str> = report
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["Outcome"].as_str().unwrap())
            .collect();
        assert_eq!(
            outcomes,
            ["already_finished", "missing", "already_finished"]
        );
        assert_eq!(fake.calls().len(), 6, "nothing more was sent");
    }

    #[test]
    fn the_count_says_how_many_of_the_selected_are_waiting() {
        assert_eq!(count_waiting(3, 3), "3 waiting jobs");
        assert_eq!(count_waiting(1, 4), "1 waiting job (of 4 jobs selected)");
    }
}
