//! `status --watch`: look again every [`WATCH_INTERVAL`] until every shown job is finished.
//! A job once shown stays shown (read again by its Id) until it finishes, even when it no
//! longer matches the filter (`--status STARTED` would otherwise drop it the moment it
//! completes). Scripts read the end from the exit code: 1 when a shown job ended FAILED, 130
//! on Ctrl-C.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;

use crate::backend::{Backend, JobQuery};
use crate::config::Config;
use crate::output::table_style;
use crate::poll::{Schedule, Step, poll, until_interrupted};
use crate::{Error, Result};
use waitable_core::job::{JobRecord, JobStatus};
use waitable_core::render;

/// How often `--watch` reads the table again.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Ids named in the "ended FAILED" error before "and N more".
const NAMED_FAILURES: usize = 10;

/// Watches `query`'s jobs: redraws the table on each look (JSON: prints the final rows once).
pub(super) async fn run<B: Backend>(
    backend: &B,
    query: &JobQuery,
    limit: Option<usize>,
    empty_line: &str,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let json = config.json();
    let redraw = !json && std::io::stdout().is_terminal();
    let mut watched = Watched {
        query: JobQuery {
            // The table shows no payloads: a target may leave them out.
            skip_payloads: !json,
            ..query.clone()
        },
        limit,
        shown: HashMap::new(),
        last: Vec::new(),
    };
    let look = async || {
        let total = watched.look(backend).await?;
        if !json {
            draw(&watched.last, total, redraw, empty_line, config, out)?;
        }
        Ok(if all_finished(&watched.last) {
            Step::Done(())
        } else {
            Step::Pending
        })
    };
    let finished = until_interrupted(poll(&Schedule::every(WATCH_INTERVAL), look)).await;
    if json {
        // stdout is line-buffered: one write per job otherwise.
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
        let rows: Vec<String> = watched.last.iter().map(render::job_json).collect();
        render::json_array(&mut buffered, rows.iter().map(String::as_str))
            .context("writing the jobs")?;
        buffered.flush().context("writing the jobs")?;
    }
    match finished {
        None => Err(Error::interrupted()),
        Some(result) => result.and_then(|()| ended_failed(&watched.last)),
    }
}

/// The jobs a watch follows.
struct Watched {
    query: JobQuery,
    limit: Option<usize>,
    /// Every job shown so far, as last read.
    shown: HashMap<String, JobRecord>,
    /// The jobs of the last look, sorted by StartActionAt.
    last: Vec<JobRecord>,
}

impl Watched {
    /// Reads what the query matches now, and again by Id each job shown before that no
    /// longer matches (one already finished is not read again: it does not change). Returns
    /// how many there are in all (more than shown when `--limit` cut them).
    async fn look<B: Backend>(&mut self, backend: &B) -> Result<usize> {
        let skip = self.query.skip_payloads;
        let strip = |mut job: JobRecord| {
            if skip {
                job.payload = None;
            }
            job
        };
        let (rows, total) = super::collect(backend, &self.query, self.limit, strip).await?;
        let matching: HashSet<String> = rows.iter().map(|r| r.value.id.clone()).collect();
        let mut jobs: Vec<JobRecord> = rows.into_iter().map(|r| r.value).collect();
        for (id, before) in &self.shown {
            if matching.contains(id) {
                continue;
            }
            if is_finished(before) {
                jobs.push(before.clone());
            } else if let Some(now) = backend.job(id).await? {
                jobs.push(strip(now));
            }
        }
        let kept = jobs.len() - matching.len();
        jobs.sort_by(|a, b| render::sort_key(a).cmp(&render::sort_key(b)));
        self.shown = jobs.iter().map(|j| (j.id.clone(), j.clone())).collect();
        self.last = jobs;
        Ok(total + kept)
    }
}

/// One frame: the table (after clearing the screen on a terminal), then how many were cut.
fn draw(
    jobs: &[JobRecord],
    total: usize,
    redraw: bool,
    empty_line: &str,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let mut frame = Vec::new();
    if redraw {
        frame.extend_from_slice(b"\x1b[2J\x1b[H");
    }
    render::jobs_table(
        &mut frame,
        jobs,
        &table_style(config.display_tz.clone()),
        empty_line,
    )?;
    if jobs.len() < total {
        writeln!(
            frame,
            "(the first {} of {total} by StartActionAt)",
            jobs.len()
        )?;
    }
    out.write_all(&frame).context("writing the jobs")?;
    out.flush().context("writing the jobs")?;
    Ok(())
}

fn is_finished(job: &JobRecord) -> bool {
    job.status().is_some_and(JobStatus::is_terminal)
}

fn all_finished(jobs: &[JobRecord]) -> bool {
    jobs.iter().all(is_finished)
}

/// An error naming the shown jobs that ended FAILED, if any did.
fn ended_failed(jobs: &[JobRecord]) -> Result<()> {
    let failed: Vec<&str> = jobs
        .iter()
        .filter(|j| j.status() == Some(JobStatus::Failed))
        .map(|j| j.id.as_str())
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let mut named: Vec<String> = failed
        .iter()
        .take(NAMED_FAILURES)
        .map(|id| render::printable(id).into_owned())
        .collect();
    if failed.len() > NAMED_FAILURES {
        named.push(format!("and {} more", failed.len() - NAMED_FAILURES));
    }
    Err(Error::failed(format!(
        "{} ended FAILED: {}",
        render::count_jobs(failed.len()),
        named.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, status: &str) -> JobRecord {
        let mut job = crate::commands::fake::job("2030-01-01T00:00:00Z", id);
        job.process_status = status.into();
        job
    }

    #[test]
    fn a_failed_job_among_the_shown_is_an_error_naming_it() {
        assert!(ended_failed(&[job("a", "COMPLETED"), job("b", "CANCELLED")]).is_ok());
        let err = ended_failed(&[job("a", "COMPLETED"), job("b", "FAILED")]).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(err.to_string(), "1 job ended FAILED: b");
        let many: Vec<JobRecord> = (0..12).map(|i| job(&format!("f{i}"), "FAILED")).collect();
        let err = ended_failed(&many).unwrap_err().to_string();
        assert!(err.starts_with("12 jobs ended FAILED: f0, f1,"), "{err}");
        assert!(err.ends_with("f9, and 2 more"), "{err}");
    }
}
