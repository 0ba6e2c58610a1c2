//! `waitable reconcile` in the engine: each named job still STARTED follows its execution's
//! end, by the reconcile's rule (`core::reconcile_machine`), in the engine's transaction.
//! The engine already applies that rule when an execution ends; the sweep finds what a crash
//! or a hand-edited row left behind, as it does on AWS.

use rusqlite::Connection;
use serde_json::json;

use super::super::{http_contract, store};
use super::command::EngineError;
use crate::backend::{EXECUTION_MISSING, Reconciled};
use waitable_asl as asl;
use waitable_core::job::{ATTR_ERROR, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, JobStatus};
use waitable_core::reconcile_machine::outcome_with_detail;

pub(super) fn sweep(
    c: &Connection,
    ids: &[String],
    dry_run: bool,
    now: i64,
) -> Result<Vec<Reconciled>, EngineError> {
    let mut report = Vec::with_capacity(ids.len());
    for id in ids {
        // The current run's execution (`waitable_core::runs`).
        let run = store::get_item(c, id)
            .map_err(EngineError::internal)?
            .and_then(|item| http_contract::job_from_item(&item))
            .map_or(1, |j| waitable_core::runs::current_run(&j));
        let name = waitable_core::runs::execution_name(id, run);
        let exec = store::get_execution(c, &name).map_err(EngineError::internal)?;
        let execution_status = exec
            .as_ref()
            .map_or(EXECUTION_MISSING.to_string(), |e| e.status.clone());
        let mut row = Reconciled {
            id: id.clone(),
            execution_status: execution_status.clone(),
            new_status: None,
            error: None,
            changed: false,
        };
        let detail = exec
            .as_ref()
            .map(|e| (e.error.as_deref(), e.cause.as_deref()));
        let (error, cause) = detail.unwrap_or((None, None));
        if let Some((status, reason)) = outcome_with_detail(&execution_status, error, cause) {
            row.new_status = Some(status.as_str().to_string());
            row.error = Some(reason.clone());
            if !dry_run {
                row.changed = record(c, (id, run), status, &reason, now)?;
            }
        }
        report.push(row);
    }
    Ok(report)
}

/// The reconcile's write: only a row still STARTED at run `run` changes.
fn record(
    c: &Connection,
    (id, run): (&str, u32),
    status: JobStatus,
    reason: &str,
    now: i64,
) -> Result<bool, EngineError> {
    let Some(mut item) = store::get_item(c, id).map_err(EngineError::internal)? else {
        return Ok(false);
    };
    let started = http_contract::job_from_item(&item).is_some_and(|j| {
        j.process_status == JobStatus::Started.as_str()
            && waitable_core::runs::current_run(&j) == run
    });
    if !started {
        return Ok(false);
    }
    item.insert(ATTR_PROCESS_STATUS.into(), json!({ "S": status.as_str() }));
    item.insert(
        ATTR_LAST_UPDATED.into(),
        json!({ "S": asl::run::iso_millis(now) }),
    );
    item.insert(ATTR_ERROR.into(), json!({ "S": reason }));
    store::put_item(c, id, &item).map_err(EngineError::internal)?;
    Ok(true)
}
