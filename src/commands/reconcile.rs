//! `waitable reconcile [--older-than 10m] [--dry-run]`: the sweep that does not depend on
//! EventBridge's best-effort events. Every STARTED job due more than `--older-than` ago is
//! checked against its execution and moved the way the reconcile would; each one looked at is
//! printed (a table, or JSON), with what changed.

use std::io::Write;

use anyhow::Context;
use comfy_table::{Table, presets};

use crate::Result;
use crate::backend::{Backend, ReconcileRequest};
use crate::config::Config;

pub async fn run<B: Backend>(
    backend: &B,
    request: &ReconcileRequest,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let report = backend.reconcile(request).await?;
    if config.json() {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out).context("writing the report")?;
    } else {
        let mut table = Table::new();
        table.load_preset(presets::UTF8_BORDERS_ONLY);
        table.set_header(["Id", "Execution", "Row", "Changed", "Reason"]);
        for r in &report {
            let row = r.new_status.as_deref().unwrap_or("STARTED (left)");
            let changed = match (r.changed, request.dry_run, r.new_status.is_some()) {
                (true, _, _) => "yes",
                (false, true, true) => "would",
                _ => "no",
            };
            table.add_row([
                r.id.as_str(),
                r.execution_status.as_str(),
                row,
                changed,
                r.error.as_deref().unwrap_or(""),
            ]);
        }
        writeln!(out, "{table}").context("writing the report")?;
    }
    let changed = report.iter().filter(|r| r.changed).count();
    config.ui.info(format!(
        "{} STARTED job{} due before {} looked at, {changed} changed{}",
        report.len(),
        if report.len() == 1 { "" } else { "s" },
        request.due_before,
        if request.dry_run { " (dry run)" } else { "" }
    ));
    Ok(())
}
