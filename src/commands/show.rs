//! `waitable show ID`: one job's row, its execution and the timeline of its history.

use std::io::Write;

use anyhow::Context;

use crate::backend::Backend;
use crate::cli::ShowArgs;
use crate::config::Config;
use crate::{Error, Result};
use waitable_core::job_id::validate_id;
use waitable_core::render;
use waitable_core::show::{JobStory, story_text};

pub async fn run<B: Backend>(
    backend: &B,
    args: &ShowArgs,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    validate_id(&args.id).map_err(Error::usage)?;
    let Some(job) = backend.job(&args.id).await? else {
        return Err(Error::failed(format!(
            "no job {} in stack {}",
            args.id, config.stack_name
        )));
    };
    let execution = backend.execution(&args.id).await?;
    let style = super::status::style(config);
    let story = JobStory::new(job, execution, &style);
    if config.json() {
        render::json_value(out, &story)
    } else {
        story_text(out, &story, &style)
    }
    .context("writing the job")?;
    Ok(())
}
