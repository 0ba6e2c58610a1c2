//! `destroy` on the local target: the engine cancels the waiting jobs and stops, then the
//! stack's directory goes.

use std::time::Duration;

use super::{DestroyAnswer, LocalBackend, failure};
use crate::backend::DestroyReport;
use crate::local::process::{self, EngineState};
use crate::local::{protocol, store};
use crate::{Error, Result};

impl LocalBackend {
    /// Cancels the waiting jobs (the engine does, as it stops) and removes the stack's
    /// directory; a stopped engine's jobs go with its database.
    pub(super) async fn destroy_stack(&self) -> Result<DestroyReport> {
        let dir = self.dir();
        let cancelled_jobs = match process::probe(&dir).await {
            EngineState::NotDeployed => {
                if dir.root.exists() {
                    std::fs::remove_dir_all(&dir.root)?;
                }
                return Ok(DestroyReport::default());
            }
            EngineState::NotAnswering => return Err(self.not_answering()),
            EngineState::Dead if store::in_use(&dir.db_file()) => return Err(self.unreachable()),
            EngineState::Running(e) => {
                let spinner = crate::output::spinner(
                    &self.ui,
                    &format!(
                        "cancelling the waiting jobs of stack {} and stopping its engine",
                        self.stack_name
                    ),
                );
                let sent = self.send("POST", protocol::DESTROY, None).await;
                let stopped = match &sent {
                    Ok((200, _)) => process::wait_stopped(&dir, Duration::from_secs(15)).await,
                    _ => false,
                };
                spinner.finish_and_clear();
                let (status, body) = sent?;
                if status != 200 {
                    return Err(failure(status, &body));
                }
                if !stopped {
                    return Err(Error::failed(format!(
                        "the local engine (pid {}) did not stop; nothing was deleted",
                        e.pid
                    )));
                }
                serde_json::from_value::<DestroyAnswer>(body)?.cancelled_jobs
            }
            // Nobody else writes: the waiting jobs go with the database.
            EngineState::Dead => match store::open_read_only(&dir.db_file()) {
                Ok(conn) => store::started_ids(&conn).map(|ids| ids.len()).unwrap_or(0),
                Err(_) => 0,
            },
        };
        std::fs::remove_dir_all(&dir.root)
            .map_err(|e| Error::failed(format!("removing {}: {e}", dir.root.display())))?;
        Ok(DestroyReport {
            existed: true,
            cancelled_jobs,
            ..DestroyReport::default()
        })
    }
}
