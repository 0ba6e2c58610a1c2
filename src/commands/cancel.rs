//! `waitable cancel ID`: stop a waiting job and mark it CANCELLED.

use std::io::Write;

use anyhow::Context;

use crate::backend::Backend;
use crate::cli::CancelArgs;
use crate::config::Config;
use crate::{Error, Result};
use waitable_core::job_id::validate_id;
use waitable_core::render;

pub async fn run<B: Backend>(
    backend: &B,
    args: &CancelArgs,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    validate_id(&args.id).map_err(Error::usage)?;
    let cancelled = backend.cancel(&args.id).await?;
    config
        .ui
        .info(format!("job {} cancelled", cancelled.job_id));
    if config.json() {
        render::json_value(out, &cancelled)
    } else {
        render::jobs_table(
            out,
            std::slice::from_ref(&cancelled.job),
            &super::status::style(config),
            "",
        )
    }
    .context("writing the result")?;
    Ok(())
}
