//! `waitable show ID`: one job's row, its execution and the timeline of its history.

use std::io::Write;

use anyhow::Context;

use crate::Result;
use crate::backend::Backend;
use crate::config::Config;
use crate::request::ShowRequest;
use waitable_core::render;
use waitable_core::runs;
use waitable_core::show::{JobStory, story_text};

pub async fn run<B: Backend>(
    backend: &B,
    request: &ShowRequest,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let job = super::existing_job(backend, &request.id, config).await?;
    // The current run's execution (`waitable_core::runs`), and every run once there are more.
    let run = runs::current_run(&job);
    let execution = backend
        .execution(&runs::execution_name(&job.id, run))
        .await?;
    let all_runs = if run > 1 {
        backend.runs(&job).await?
    } else {
        Vec::new()
    };
    let style = crate::output::table_style(config.display_tz.clone());
    let mut story = JobStory::new(job, execution, &style);
    story.runs = all_runs;
    if config.json() {
        render::json_value(out, &story)
    } else {
        story_text(out, &story, &style)
    }
    .context("writing the job")?;
    Ok(())
}
