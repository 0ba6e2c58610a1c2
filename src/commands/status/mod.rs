//! `waitable status`: every job (or a filtered few) as a table or a JSON array, sorted by
//! StartActionAt; `--watch` redraws until they are all finished.

mod csv;
mod watch;

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::Write;
use std::num::NonZeroUsize;

use anyhow::Context;

use crate::backend::{Backend, JobQuery};
use crate::config::Config;
use crate::output::table_style;
use waitable_core::job::JobRecord;
use waitable_core::render;

use crate::external_sort::ExternalSort;
use crate::request::StatusQuery;
use crate::{Error, Result};

/// Whether the target gives this query's jobs already in StartActionAt order: one Id, or one
/// status read through the status index. Then nothing is sorted or held: rows stream.
fn arrives_sorted(query: &JobQuery) -> bool {
    query.id.is_some() || (query.uses_index() && query.statuses.len() == 1)
}

/// Streams the jobs of an already sorted query to `each`, stopping after `limit` (the
/// target stops reading too); returns whether it stopped early.
async fn stream_sorted<B: Backend>(
    backend: &B,
    query: &JobQuery,
    limit: Option<usize>,
    mut each: impl FnMut(JobRecord) -> Result<()>,
) -> Result<bool> {
    let mut shown = 0usize;
    let mut stopped = false;
    let r = backend
        .jobs(query, &mut |job| {
            if limit.is_some_and(|n| shown >= n) {
                stopped = true;
                return Err(Error::failed("enough rows"));
            }
            shown += 1;
            each(job)
        })
        .await;
    match r {
        Err(_) if stopped => Ok(true),
        r => r.map(|()| false),
    }
}

pub async fn run<B: Backend>(
    backend: &B,
    request: &StatusQuery,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let mut query = request.jobs.clone();
    let limit = request.limit.map(NonZeroUsize::get);
    let empty_line = &csv::empty_line(&query);
    if let Some(id) = &query.id {
        let job = super::existing_job(backend, id, config).await?;
        if config.output == crate::cli::OutputFormat::Table && !request.watch {
            return one_job_table(job, config, out);
        }
    }
    if config.output == crate::cli::OutputFormat::Csv {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
        csv::write(backend, &query, limit, &mut buffered).await?;
        buffered.flush().context("writing the jobs")?;
        return Ok(());
    }
    if request.watch {
        return watch::run(backend, &query, limit, empty_line, config, out).await;
    }
    // stdout is line-buffered: one write per job otherwise.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    if config.json() {
        json_sorted(backend, &query, limit, &mut buffered).await?;
    } else {
        // The table shows no payloads: a target may leave them out.
        query.skip_payloads = true;
        table_pages(backend, &query, limit, empty_line, &mut buffered, config).await?;
    }
    buffered.flush().context("writing the jobs")?;
    Ok(())
}

/// `status --id X`: its table row and summary, then what the row has no column for
/// (`DeliveredAt`, the payload...), as `show` prints them.
fn one_job_table(job: JobRecord, config: &Config, out: &mut impl Write) -> Result<()> {
    let style = &table_style(config.display_tz.clone());
    render::jobs_table(out, std::slice::from_ref(&job), style, "")
        .and_then(|()| waitable_core::show::row_details(out, &job, style))
        .context("writing the job")?;
    Ok(())
}

/// Bytes of JSON rows `status --output json` holds before sorting them on disk.
pub const JSON_SORT_BUDGET: usize = 4 << 20;

/// The status table in flat memory: rows that arrive sorted stream into pages of
/// [`render::TABLE_PAGE_ROWS`]; others go through the bounded heap (`--limit`) or the
/// external sort first, as the JSON output does.
async fn table_pages<B: Backend>(
    backend: &B,
    query: &JobQuery,
    limit: Option<usize>,
    empty_line: &str,
    out: &mut impl Write,
    config: &Config,
) -> Result<()> {
    let style = &table_style(config.display_tz.clone());
    let mut pages = render::TablePages::new(render::TABLE_PAGE_ROWS);
    if arrives_sorted(query) {
        let stopped = stream_sorted(backend, query, limit, |job| {
            pages
                .push(out, job, style)
                .context("writing the jobs")
                .map_err(Error::from)
        })
        .await?;
        let shown = pages.finish(out, style, empty_line)?;
        if stopped {
            writeln!(out, "(the first {shown} by StartActionAt)")?;
        }
        return Ok(());
    }
    if limit.is_some() {
        let (jobs, total) = table_rows(backend, query, limit).await?;
        let shown = jobs.len();
        for job in jobs {
            pages.push(out, job, style)?;
        }
        pages.finish(out, style, empty_line)?;
        if shown < total {
            writeln!(out, "(the first {shown} of {total} by StartActionAt)")?;
        }
        return Ok(());
    }
    let sort = sorted_on_disk(backend, query).await?;
    sort.for_each_sorted(|row| {
        let job: JobRecord = serde_json::from_str(row)?;
        pages.push(out, job, style)
    })
    .context("writing the jobs")?;
    pages.finish(out, style, empty_line)?;
    Ok(())
}

/// The matching jobs as a JSON array sorted by StartActionAt, in flat memory: the `limit`
/// earliest through a bounded heap, or all of them through an external sort.
async fn json_sorted<B: Backend>(
    backend: &B,
    query: &JobQuery,
    limit: Option<usize>,
    out: &mut impl Write,
) -> Result<()> {
    if arrives_sorted(query) {
        let mut array = render::JsonArray::start(out).context("writing the jobs")?;
        stream_sorted(backend, query, limit, |job| {
            array
                .element(out, &render::job_json(&job))
                .context("writing the jobs")
                .map_err(Error::from)
        })
        .await?;
        array.finish(out).context("writing the jobs")?;
        return Ok(());
    }
    if limit.is_some() {
        let (mut rows, _) = collect(backend, query, limit, |job| {
            render::job_json(&job).into_boxed_str()
        })
        .await?;
        rows.sort();
        render::json_array(out, rows.iter().map(|r| &*r.value)).context("writing the jobs")?;
        return Ok(());
    }
    let sort = sorted_on_disk(backend, query).await?;
    let mut array = render::JsonArray::start(out).context("writing the jobs")?;
    sort.for_each_sorted(|element| array.element(out, element))
        .context("writing the jobs")?;
    array.finish(out).context("writing the jobs")?;
    Ok(())
}

/// Every matching job as a JSON row (without its payload when the query skips payloads),
/// sorted by StartActionAt through a temporary file past [`JSON_SORT_BUDGET`].
async fn sorted_on_disk<B: Backend>(backend: &B, query: &JobQuery) -> Result<ExternalSort> {
    let mut sort = ExternalSort::new(JSON_SORT_BUDGET);
    backend
        .jobs(query, &mut |mut job| {
            if query.skip_payloads {
                job.payload = None;
            }
            sort.push(
                packed_sort_key(&job),
                render::job_json(&job).into_boxed_str(),
            )
            .context("sorting jobs in a temporary file")?;
            Ok(())
        })
        .await?;
    Ok(sort)
}

/// The jobs for the table, sorted, without payloads (the table does not show them), and how
/// many matched in all.
async fn table_rows<B: Backend>(
    backend: &B,
    query: &JobQuery,
    limit: Option<usize>,
) -> Result<(Vec<JobRecord>, usize)> {
    let (mut rows, total) = collect(backend, query, limit, |mut job| {
        job.payload = None;
        job
    })
    .await?;
    rows.sort();
    Ok((rows.into_iter().map(|r| r.value).collect(), total))
}

/// A value ordered by its job's (StartActionAt, Id).
pub(super) struct Keyed<T> {
    /// `StartActionAt NUL Id`: one allocation, and orders as the pair would (neither holds NUL).
    key: Box<str>,
    pub(super) value: T,
}

/// [`render::sort_key`] packed into one string for the external sort.
fn packed_sort_key(job: &JobRecord) -> Box<str> {
    let (at, id) = render::sort_key(job);
    format!("{at}\0{id}").into_boxed_str()
}

impl<T> PartialEq for Keyed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<T> Eq for Keyed<T> {}
impl<T> PartialOrd for Keyed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Keyed<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// Streams the matching jobs through `shrink` (which keeps only what will be printed) and
/// keeps all of them, or only the `limit` earliest (a bounded heap).
pub(super) async fn collect<B: Backend, T: Send>(
    backend: &B,
    query: &JobQuery,
    limit: Option<usize>,
    shrink: impl Fn(JobRecord) -> T + Send + Sync,
) -> Result<(Vec<Keyed<T>>, usize)> {
    let mut heap: BinaryHeap<Keyed<T>> = BinaryHeap::new();
    let mut rows: Vec<Keyed<T>> = Vec::new();
    let mut total = 0usize;
    let mut sink = |job: JobRecord| -> Result<()> {
        total += 1;
        let key = packed_sort_key(&job);
        match limit {
            None => rows.push(Keyed {
                key,
                value: shrink(job),
            }),
            Some(n) => {
                if heap.len() < n {
                    heap.push(Keyed {
                        key,
                        value: shrink(job),
                    });
                } else if heap.peek().is_some_and(|top| key < top.key) {
                    heap.pop();
                    heap.push(Keyed {
                        key,
                        value: shrink(job),
                    });
                }
            }
        }
        Ok(())
    };
    backend.jobs(query, &mut sink).await?;
    if limit.is_some() {
        rows = heap.into_vec();
    }
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::fake::job;

    #[test]
    fn sort_key_orders_like_the_pair() {
        let jobs = [
            job("2030-01-01T00:00:00Z", "b"),
            job("2030-01-01T00:00:00Z", "a"),
            job("", "z"),
            job("2029-12-31T23:59:59Z", "zz"),
            job("2030-01-01T00:00:00Z", "ab"),
        ];
        let mut by_key: Vec<&JobRecord> = jobs.iter().collect();
        by_key.sort_by_key(|j| packed_sort_key(j));
        let mut by_pair: Vec<&JobRecord> = jobs.iter().collect();
        by_pair.sort_by(|x, y| (&x.start_action_at, &x.id).cmp(&(&y.start_action_at, &y.id)));
        assert_eq!(by_key, by_pair);
    }
}
