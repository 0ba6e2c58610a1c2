//! `status --output csv`, and the lines `status` prints when nothing matched.

use std::io::Write;

use anyhow::Context;

use crate::Result;
use crate::backend::{Backend, JobQuery};
use waitable_core::render_csv::{csv_header, csv_row};

/// The header, then the matching jobs by StartActionAt (held in memory to sort them).
pub(super) async fn write<B: Backend>(
    backend: &B,
    query: &JobQuery,
    limit: Option<usize>,
    out: &mut impl Write,
) -> Result<()> {
    let (mut rows, _) = super::collect(backend, query, limit, |job| job).await?;
    rows.sort();
    csv_header(out).context("writing the jobs")?;
    for row in rows {
        csv_row(out, &row.value).context("writing the jobs")?;
    }
    Ok(())
}

/// What an empty table says: which window was empty, or that nothing matched, or that the
/// stack has no jobs at all.
pub(super) fn empty_line(query: &JobQuery) -> String {
    let w = &query.window;
    match (&w.after, &w.before) {
        (Some(a), Some(b)) => format!("No jobs due between {a} and {b}."),
        (Some(a), None) => format!("No jobs due at or after {a}."),
        (None, Some(b)) => format!("No jobs due at or before {b}."),
        (None, None) if query.id.is_some() || !query.statuses.is_empty() => {
            waitable_core::render::NO_MATCHING_JOBS.to_string()
        }
        (None, None) => waitable_core::render::NO_JOBS.to_string(),
    }
}
