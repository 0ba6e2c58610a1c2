//! `waitable cancel ID`: stop a waiting job and mark it CANCELLED.

use std::io::Write;

use anyhow::Context;

use crate::Result;
use crate::backend::Backend;
use crate::config::Config;
use crate::output::table_style;
use crate::request::CancelRequest;
use waitable_core::render;

pub async fn run<B: Backend>(
    backend: &B,
    request: &CancelRequest,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let cancelled = backend.cancel(&request.id).await?;
    config
        .ui
        .info(format!("job {} cancelled", cancelled.job_id));
    if config.json() {
        render::json_value(out, &cancelled)
    } else {
        render::jobs_table(
            out,
            std::slice::from_ref(&cancelled.job),
            &table_style(config.display_tz.clone()),
            "",
        )
    }
    .context("writing the result")?;
    Ok(())
}
