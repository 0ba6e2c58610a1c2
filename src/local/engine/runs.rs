//! A job's later runs on the local engine (`waitable_core::runs`): start run `k` under its
//! own name and take its first states now, so the caller hears at once whether its first
//! write moved the row (or the run was refused); stop a rescheduled job's old run. Each is
//! one command, so one transaction: a crash leaves the run started or not, never half.

use rusqlite::Connection;
use serde_json::Value;

use super::super::http_contract;
use super::super::store;
use super::command::EngineError;
use super::execution::{Parts, start_execution};
use waitable_core::runs::{self, RunKind, StartedRun};

/// What `retry` / `reschedule` ask of the engine.
#[derive(Debug, Clone)]
pub struct RunStart {
    pub id: String,
    pub run: u32,
    pub kind: RunKind,
    pub at: String,
    pub retention_days: u32,
}

fn row(c: &Connection, id: &str) -> Result<Option<waitable_core::job::JobRecord>, EngineError> {
    Ok(store::get_item(c, id)
        .map_err(EngineError::internal)?
        .and_then(|item| http_contract::job_from_item(&item)))
}

/// Starts the run (unless an execution of its name exists: then its outcome is the answer)
/// and steps it as far as it goes now.
pub(super) fn start_run(
    c: &Connection,
    parts: &mut Parts,
    current: i64,
    request: RunStart,
    now: i64,
) -> Result<StartedRun, EngineError> {
    let job = row(c, &request.id)?.ok_or_else(|| EngineError::JobNotFound(request.id.clone()))?;
    let name = runs::execution_name(&job.id, request.run);
    let arn = parts.names.execution_arn(&name);
    if store::get_execution(c, &name)
        .map_err(EngineError::internal)?
        .is_none()
    {
        let input: Value = runs::run_input(
            &job,
            request.run,
            request.kind,
            &request.at,
            request.retention_days,
        );
        start_execution(c, parts, current, &name, input, now).map_err(EngineError::internal)?;
    }
    let job = row(c, &request.id)?;
    Ok(StartedRun {
        execution_arn: arn,
        moved: job.as_ref().is_some_and(|j| j.run == Some(request.run)),
        job,
    })
}

/// Stops run `run` of job `id` if it is running.
pub(super) fn stop_run(c: &Connection, id: &str, run: u32, now: i64) -> Result<(), EngineError> {
    super::execution::abort(c, &runs::execution_name(id, run), now).map_err(EngineError::internal)
}

/// Every run of `job`, from the executions the store keeps.
pub(super) fn summaries(
    c: &Connection,
    job: &waitable_core::job::JobRecord,
) -> Result<Vec<runs::RunSummary>, EngineError> {
    let iso = |ms: i64| waitable_asl::run::iso_millis(ms);
    (1..=runs::current_run(job))
        .map(|run| {
            let name = runs::execution_name(&job.id, run);
            let exec = store::get_execution(c, &name).map_err(EngineError::internal)?;
            Ok(match exec {
                Some(e) => runs::RunSummary {
                    run,
                    execution: name,
                    status: e.status.clone(),
                    started_at: Some(iso(e.start_ms)),
                    stopped_at: e.stop_ms.map(iso),
                    error: e.error.clone(),
                },
                None => runs::RunSummary {
                    run,
                    execution: name,
                    status: crate::backend::EXECUTION_MISSING.into(),
                    started_at: None,
                    stopped_at: None,
                    error: None,
                },
            })
        })
        .collect()
}
