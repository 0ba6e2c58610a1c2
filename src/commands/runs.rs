//! `waitable retry ID [--at T]` and `waitable reschedule ID --at T`: a job's next run
//! (`waitable_core::runs`), the same steps on both targets. The row is read; the run is
//! started and its first write decides (moved, or refused with the reason the row gives);
//! a reschedule then stops the old run, whose claim can no longer hold anyway.

use std::io::Write;

use anyhow::Context;

use crate::backend::Backend;
use crate::config::Config;
use crate::request::RunRequest;
use crate::{Error, Result};
use waitable_core::render;
use waitable_core::runs::{self, RunDone, RunKind};

pub async fn run<B: Backend>(
    backend: &B,
    request: &RunRequest,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let job = super::existing_job(backend, &request.id, config).await?;
    let kind = request.kind;
    let run = runs::next_run(&job, kind).map_err(|e| Error::failed(e.to_string()))?;
    let started = backend
        .start_run(&job, (run, kind, request.at.as_str()))
        .await?;
    if !started.moved {
        let now = started.job.unwrap_or(job);
        return Err(Error::failed(runs::refusal(&now, kind, run).to_string()));
    }
    if kind == RunKind::Reschedule
        && let Err(e) = backend.stop_run(&job.id, run - 1).await
    {
        // Harmless: the old run's claim is conditional on its run, so it cannot fire.
        config.ui.warn(format!(
            "job {} moved to run {run}, but its old run was not stopped (it ends at its time without doing anything): {e}",
            job.id
        ));
    }
    let done = RunDone {
        job_id: job.id.clone(),
        run,
        kind: kind.as_str(),
        start_action_at: request.at.clone(),
        execution_arn: started.execution_arn,
    };
    if config.json() {
        render::json_value(out, &done)
    } else {
        writeln!(out, "{done}")
    }
    .context("writing the run")?;
    Ok(())
}
