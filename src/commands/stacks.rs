//! `waitable stacks`: the stacks waitable made on the chosen target, with their status and
//! (local) their jobs by status; a table, or `--output json`.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Context;
use comfy_table::{Table, presets};
use serde::Serialize;

use crate::Result;
use crate::cli::Target;
use crate::config::Config;

/// One stack as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackRow {
    #[serde(rename = "StackName")]
    pub name: String,
    /// CloudFormation's stack status on aws; `running (port N)`, `stopped` or `not answering`
    /// locally.
    #[serde(rename = "Status")]
    pub status: String,
    /// The `waitable:version` tag (aws).
    #[serde(rename = "Version", skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Jobs by ProcessStatus; `null` where they are not read (aws) or cannot be.
    #[serde(rename = "Jobs")]
    pub jobs: Option<BTreeMap<String, usize>>,
}

pub async fn run(config: &Config, out: &mut impl Write) -> Result<()> {
    let (rows, place): (Vec<StackRow>, String) = match config.target {
        Target::Aws => {
            let backend = crate::aws::AwsBackend::connect(
                config.stack_name.as_str(),
                &super::aws_connection(&config.aws),
                config.ui,
            )
            .await?;
            let rows = crate::aws::stacks::list(&backend.cfn)
                .await?
                .into_iter()
                .map(|s| StackRow {
                    name: s.name,
                    status: s.status,
                    version: Some(s.version),
                    jobs: None,
                })
                .collect();
            let place = match backend.account().await {
                Ok(account) => format!("in {account}"),
                Err(_) => "in this region".to_string(),
            };
            (rows, place)
        }
        Target::Local => {
            let rows = crate::local::stacks::list(config.ui)
                .await?
                .into_iter()
                .map(|s| StackRow {
                    name: s.name,
                    status: s.status,
                    version: None,
                    jobs: s.jobs,
                })
                .collect();
            let home = crate::local::state::home()?;
            (rows, format!("under {}", home.display()))
        }
    };
    if config.json() {
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out).context("writing the stacks")?;
        return Ok(());
    }
    write_table(&rows, config.target, &place, out).context("writing the stacks")?;
    if config.target == Target::Aws && !rows.is_empty() {
        config.ui.info(
            "job counts are not read on the aws target (counting reads every job); for one stack: waitable --stack-name NAME status --status STARTED",
        );
    }
    Ok(())
}

/// `2 STARTED, 1 COMPLETED`, `no jobs`, or why there is no count.
fn jobs_cell(jobs: &Option<BTreeMap<String, usize>>, target: Target) -> String {
    match jobs {
        None if target == Target::Aws => "(not read)".to_string(),
        None => "(cannot read)".to_string(),
        Some(counts) if counts.values().all(|n| *n == 0) => "no jobs".to_string(),
        Some(counts) => counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(status, n)| format!("{n} {}", waitable_core::render::printable(status)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn write_table(
    rows: &[StackRow],
    target: Target,
    place: &str,
    out: &mut impl Write,
) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(
            out,
            "No waitable stacks {place}. Create one with: waitable deploy{}",
            if target == Target::Local {
                " --target local"
            } else {
                ""
            }
        );
    }
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    let mut header = vec!["Stack", "Status"];
    if target == Target::Aws {
        header.push("Version");
    }
    header.push("Jobs");
    table.set_header(header);
    for row in rows {
        let mut cells = vec![
            waitable_core::render::printable(&row.name).into_owned(),
            row.status.clone(),
        ];
        if target == Target::Aws {
            cells.push(row.version.clone().unwrap_or_default());
        }
        cells.push(jobs_cell(&row.jobs, target));
        table.add_row(cells);
    }
    writeln!(out, "{table}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, usize)]) -> Option<BTreeMap<String, usize>> {
        Some(pairs.iter().map(|(s, n)| (s.to_string(), *n)).collect())
    }

    #[test]
    fn job_counts_read_as_a_sentence() {
        let local = Target::Local;
        assert_eq!(
            jobs_cell(&counts(&[("COMPLETED", 1), ("STARTED", 2)]), local),
            "1 COMPLETED, 2 STARTED"
        );
        assert_eq!(jobs_cell(&counts(&[]), local), "no jobs");
        assert_eq!(jobs_cell(&None, Target::Aws), "(not read)");
    }
}
