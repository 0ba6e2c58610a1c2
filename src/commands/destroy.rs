//! `waitable destroy`: confirm, cancel waiting jobs, delete the stack.

use std::io::Write;

use anyhow::Context;

use crate::backend::Backend;
use crate::config::Config;
use crate::{Error, Result};

pub async fn run<B: Backend>(backend: &B, config: &Config, out: &mut impl Write) -> Result<()> {
    let name = &config.stack_name;
    let place = super::deploy::in_place(backend.location().await?);
    if !config
        .ui
        .confirm_typed(&format!("delete stack {name}{place}"), name)?
    {
        return Err(Error::failed(
            "destroy cancelled: the name did not match; nothing was deleted",
        ));
    }
    let report = backend.destroy().await?;
    if report.existed {
        config.ui.info(format!(
            "deleted stack {name} (cancelled {} waiting job{})",
            report.cancelled_jobs,
            if report.cancelled_jobs == 1 { "" } else { "s" }
        ));
    } else {
        config.ui.info(format!(
            "stack {name} does not exist{place}: nothing to delete"
        ));
    }
    if config.json() {
        serde_json::to_writer(&mut *out, &report)?;
        writeln!(out).context("writing the report")?;
    }
    Ok(())
}
