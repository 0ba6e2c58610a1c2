//! `waitable reconcile` on the local target: the STARTED jobs due before the cutoff, read
//! through the status index, handed to the engine, which knows how each execution ended.

use serde_json::json;

use super::LocalBackend;
use crate::Result;
use crate::backend::{ReconcileRequest, Reconciled};
use crate::local::protocol;
use waitable_core::job::JobStatus;
use waitable_core::status_index::DueWindow;

/// Ids handed to the engine per call (each call is one transaction).
const CHUNK: usize = 500;

pub(super) async fn sweep(
    backend: &LocalBackend,
    request: &ReconcileRequest,
) -> Result<Vec<Reconciled>> {
    let window = DueWindow {
        after: None,
        before: Some(request.due_before.clone()),
    };
    let mut ids = Vec::new();
    backend
        .jobs_by_status(JobStatus::Started, &window, &mut |job| {
            ids.push(job.id);
            Ok(())
        })
        .await?;
    let mut report = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let body = json!({ "ids": chunk, "dryRun": request.dry_run });
        let part: Vec<Reconciled> = backend
            .call_typed("POST", protocol::RECONCILE, Some(&body))
            .await?;
        report.extend(part);
    }
    Ok(report)
}
