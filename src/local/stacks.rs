//! `waitable stacks` on the local target: the stacks under `WAITABLE_HOME`, whether their
//! engine runs, and their jobs counted by status (through the engine when it runs, else read
//! from the database, which no engine holds then).

use std::collections::BTreeMap;

use anyhow::Context;

use super::LocalBackend;
use super::process::{EngineState, probe};
use super::state::{StackDir, home};
use super::store;
use crate::backend::{Backend, JobQuery};
use crate::output::Ui;
use crate::{Error, Result};

/// One local stack as `stacks` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStack {
    pub name: String,
    /// `running (port N)`, `stopped`, `not answering`.
    pub status: String,
    /// Jobs by ProcessStatus; `None` when they could not be read (an engine not answering).
    pub jobs: Option<BTreeMap<String, usize>>,
}

/// Every stack deployed under `WAITABLE_HOME`, by name.
pub async fn list(ui: Ui) -> Result<Vec<LocalStack>> {
    let home = home()?;
    let entries = match std::fs::read_dir(&home) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::failed(format!(
                "cannot read {}: {e}",
                home.display()
            )));
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| StackDir::new(&home, name).exists())
        .collect();
    names.sort();
    let mut stacks = Vec::new();
    for name in names {
        let backend = LocalBackend::with_home(&name, home.clone(), ui);
        let dir = backend.dir();
        let (status, jobs) = match probe(&dir).await {
            EngineState::Running(health) => (
                format!("running (port {})", health.port),
                Some(counted_by_engine(&backend).await?),
            ),
            EngineState::NotAnswering => ("not answering".to_string(), None),
            EngineState::Dead | EngineState::NotDeployed => {
                ("stopped".to_string(), counted_in_store(&dir).ok())
            }
        };
        stacks.push(LocalStack { name, status, jobs });
    }
    Ok(stacks)
}

async fn counted_by_engine(backend: &LocalBackend) -> Result<BTreeMap<String, usize>> {
    let query = JobQuery {
        skip_payloads: true,
        ..JobQuery::default()
    };
    let mut counts = BTreeMap::new();
    backend
        .jobs(&query, &mut |job| {
            *counts.entry(job.process_status).or_insert(0) += 1;
            Ok(())
        })
        .await?;
    Ok(counts)
}

/// Counts in the database of a stack whose engine is stopped (read only).
fn counted_in_store(dir: &StackDir) -> anyhow::Result<BTreeMap<String, usize>> {
    let path = dir.db_file();
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    let c = store::open_read_only(&path)?;
    let mut stmt = c.prepare(
        "SELECT json_extract(item, '$.ProcessStatus.S'), count(*) FROM items GROUP BY 1",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?.unwrap_or_default(),
            r.get::<_, i64>(1)?,
        ))
    })?;
    let mut counts = BTreeMap::new();
    for row in rows {
        let (status, n) = row.context("counting jobs")?;
        counts.insert(status, usize::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}
