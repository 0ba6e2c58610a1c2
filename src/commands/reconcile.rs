//! `waitable reconcile [--older-than 10m] [--dry-run]`: the sweep that does not depend on
//! EventBridge's best-effort events. Every STARTED job due more than `--older-than` ago is
//! checked against its execution and moved the way the reconcile would; each one looked at is
//! printed (a table, or JSON), with what changed.

use std::io::Write;

use anyhow::Context;
use chrono::Utc;
use comfy_table::{Table, presets};

use crate::backend::{Backend, ReconcileRequest};
use crate::cli::ReconcileArgs;
use crate::config::Config;
use crate::{Error, Result};
use waitable_core::time_input::parse_time;
use waitable_core::timestamp::format_utc;

pub async fn run<B: Backend>(
    backend: &B,
    args: &ReconcileArgs,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let request = request(args, Utc::now())?;
    let report = backend.reconcile(&request).await?;
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

/// The checked request: `--older-than` is a duration such as `10m`, `2h` or `1d`.
pub fn request(args: &ReconcileArgs, now: chrono::DateTime<Utc>) -> Result<ReconcileRequest> {
    let text = args.older_than.trim();
    if text.starts_with(['+', '-']) {
        return Err(Error::usage(format!(
            "--older-than {text:?}: give a duration such as 10m, 2h or 1d"
        )));
    }
    let cutoff = parse_time(&format!("-{text}"), now).map_err(|e| {
        Error::usage(format!(
            "--older-than {text:?} is not a duration such as 10m, 2h or 1d: {e}"
        ))
    })?;
    Ok(ReconcileRequest {
        due_before: format_utc(cutoff),
        dry_run: args.dry_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_than_is_a_duration_back_from_now() {
        let now = "2030-01-01T12:00:00Z".parse().unwrap();
        let args = |t: &str| ReconcileArgs {
            older_than: t.into(),
            dry_run: false,
        };
        assert_eq!(
            request(&args("10m"), now).unwrap().due_before,
            "2030-01-01T11:50:00Z"
        );
        assert_eq!(
            request(&args("1d"), now).unwrap().due_before,
            "2029-12-31T12:00:00Z"
        );
        for bad in ["-10m", "+1h", "soon", ""] {
            assert_eq!(
                request(&args(bad), now).unwrap_err().exit_code(),
                2,
                "{bad}"
            );
        }
    }
}
