//! Deploying the local stack: check the template's state machine, write the stack file the
//! engine runs from, then reload the running engine or start one.

use serde_json::Value;

use super::super::definition::definition_from_template;
use super::super::process::{self, EngineState};
use super::super::protocol::{self, ReloadRequest};
use super::super::state::{StackDir, StackFile};
use super::super::store;
use super::{LocalBackend, failure};
use crate::backend::Deployment;
use crate::{Error, Result};
use waitable_asl as asl;
use waitable_core::delivery;
use waitable_core::logical_ids::PARAM_RETENTION_DAYS;
use waitable_core::outputs::StackOutputs;
use waitable_core::retention;

impl LocalBackend {
    /// Checks the template's state machine and writes the stack file the engine runs from.
    /// Anything the interpreter cannot run is refused here, before anything starts.
    pub fn prepare(&self, template: &Value) -> Result<StackFile> {
        self.prepare_with(template, &[])
    }

    /// [`LocalBackend::prepare`] with the deploy's `--parameter`s: `RetentionDays` (each
    /// job's `ExpiresAt`; when it is not given, the stack keeps the value it had, as
    /// CloudFormation does), the delivery retries and the webhook header.
    pub fn prepare_with(
        &self,
        template: &Value,
        parameters: &[(String, String)],
    ) -> Result<StackFile> {
        let template = &delivery::local::for_local(template, parameters, &self.stack_name)
            .map_err(Error::usage)?;
        let deliver = delivery::Deliveries::from_template(template).map_err(Error::usage)?;
        let given = parameters
            .iter()
            .find(|(k, _)| k == PARAM_RETENTION_DAYS)
            .map(|(_, v)| retention::given_retention_days(v).map_err(Error::usage))
            .transpose()?;
        let table = self.table_name();
        let definition = definition_from_template(template, &self.stack_name, &table)
            .map_err(|e| Error::usage(format!("cannot deploy locally: {e}")))?;
        asl::parse_text(&definition).map_err(|e| {
            Error::usage(format!(
                "the local engine cannot run this state machine: {e}"
            ))
        })?;
        let dir = self.dir();
        let previous = dir.read_stack().ok();
        let previous_port = previous.as_ref().and_then(|s| s.port);
        if previous.is_some() && !dir.db_file().exists() {
            return Err(Error::failed(format!(
                "the database of stack {} ({}) is missing: it was deleted or moved, and its jobs with it. Put the file back (from a backup), or `waitable destroy --target local --stack-name {}` then deploy again to start it empty",
                self.stack_name,
                dir.db_file().display(),
                self.stack_name
            )));
        }
        if previous.is_none() {
            dir.create()?;
            store::create(&dir.db_file())?;
        }
        let retention_days = given
            .or(previous.as_ref().map(|s| s.retention_days))
            .unwrap_or(retention::DEFAULT_RETENTION_DAYS);
        let file = StackFile {
            stack: self.stack_name.clone(),
            table_name: table,
            definition,
            port: previous_port,
            deliver: deliver.targets.iter().map(delivery::Target::flag).collect(),
            retention_days,
            // A setting of the stack file, kept across deploys.
            webhook_concurrency: previous
                .as_ref()
                .map_or(crate::local::engine::DEFAULT_CONCURRENCY, |s| {
                    s.webhook_concurrency
                }),
        };
        dir.write_stack(&file)?;
        if let Some(header) = delivery::local::given_header(parameters) {
            write_webhook_header(&dir, &header)?;
        }
        Ok(file)
    }

    /// Creates or updates the local stack and returns its outputs (a local deploy asks
    /// nothing: it loses nothing).
    pub async fn deploy(&self, request: &Deployment) -> Result<StackOutputs> {
        let dir = self.dir();
        // One deploy of a stack at a time: a second one waits, then finds the engine running.
        let lock = dir.lock_deploy()?;
        let previous_port = dir.read_stack().ok().and_then(|s| s.port);
        let StackFile {
            definition,
            retention_days,
            ..
        } = self.prepare_with(&request.template, &request.parameters)?;
        let engine = match process::probe(&dir).await {
            EngineState::Running(e) => {
                let (status, body) = self
                    .send(
                        "POST",
                        protocol::RELOAD,
                        Some(&serde_json::to_value(ReloadRequest {
                            definition,
                            retention_days,
                        })?),
                    )
                    .await?;
                if status != 200 {
                    return Err(failure(status, &body));
                }
                e
            }
            EngineState::NotAnswering => return Err(self.not_answering()),
            EngineState::Dead if store::in_use(&dir.db_file()) => return Err(self.unreachable()),
            EngineState::Dead | EngineState::NotDeployed => {
                if previous_port.is_some() {
                    self.ui.info(format!(
                        "the local engine of stack {} was not running: starting it again",
                        self.stack_name
                    ));
                }
                let e = process::start(
                    self.engine_exe.as_deref(),
                    &self.home,
                    &self.stack_name,
                    &dir,
                    self.tie_engine,
                )
                .await?;
                self.ui.info(format!(
                    "local engine started (pid {}, log {})",
                    e.pid,
                    dir.log_file().display()
                ));
                if let Some(old) = previous_port.filter(|p| *p != e.port) {
                    self.ui.warn(format!(
                        "the stack's port {old} is taken by another program: its ApiUrl changed from http://127.0.0.1:{old} to http://127.0.0.1:{} (free port {old} and deploy again after stopping the engine to get it back)",
                        e.port
                    ));
                }
                e
            }
        };
        drop(lock);
        Ok(self.outputs_for(engine.port))
    }
}

/// The webhook's header, where only the engine reads it (mode 0600, like a secret file).
fn write_webhook_header(dir: &StackDir, header: &(String, String)) -> Result<()> {
    use std::io::Write;
    let path = dir.root.join(crate::local::engine::WEBHOOK_HEADER_FILE);
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(&tmp)
        .map_err(|e| Error::failed(format!("writing {}: {e}", tmp.display())))?;
    f.write_all(&serde_json::to_vec(header)?)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| Error::failed(format!("writing {}: {e}", path.display())))?;
    Ok(())
}
