//! `waitable show ID`: one job's row, its execution and the timeline of its history.

use std::io::Write;

use anyhow::Context;

use crate::backend::Backend;
use crate::config::Config;
use crate::request::ShowRequest;
use crate::{Error, Result};
use waitable_core::render;
use waitable_core::show::{JobStory, story_text};

pub async fn run<B: Backend>(
    backend: &B,
    request: &ShowRequest,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let Some(job) = backend.job(&request.id).await? else {
        return Err(Error::failed(format!(
            "no job {} in stack {}",
            request.id, config.stack_name
        )));
    };
    let execution = backend.execution(&request.id).await?;
    let style = crate::output::table_style(config.display_tz.clone());
    let story = JobStory::new(job, execution, &style);
    if config.json() {
        render::json_value(out, &story)
    } else {
        story_text(out, &story, &style)
    }
    .context("writing the job")?;
    Ok(())
}
