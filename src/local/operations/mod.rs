//! `impl Backend for LocalBackend`: the user-visible operations on this machine. Every
//! write goes through the engine's HTTP API (the engine is the one writer). Deploying is in
//! `deploy.rs`.

mod delivery_queue;
mod destroy;
mod history;
mod install;
mod reconcile;
mod runs;

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::client::{self, CallError};
use super::engine::state_machine_arn;
use super::process::{self, EngineState};
use super::protocol::{
    self, CancelAnswer, CancelRequest, DestroyAnswer, ErrorBody, Health, JobsPage, SubmitRequest,
};
use super::state::{self, StackDir};
use super::store;
use crate::backend::{
    Backend, Cancelled, DeployPlan, Deployment, DestroyReport, JobQuery, ReconcileRequest,
    Reconciled,
};
use crate::output::Ui;
use crate::{Error, Result};
use waitable_core::delivery;
use waitable_core::delivery::received::Received;
use waitable_core::job::{JobRecord, JobRequest, JobStatus, Submitted};
use waitable_core::logical_ids::JOBS_TABLE;
use waitable_core::outputs::StackOutputs;
use waitable_core::runs::{RunKind, RunSummary, StartedRun};
use waitable_core::status_index::DueWindow;

/// The local stack: its state directory and engine.
pub struct LocalBackend {
    pub stack_name: String,
    pub home: PathBuf,
    pub ui: Ui,
    /// The binary deploy starts as the background engine (this one, unless a library caller
    /// such as a test says otherwise).
    pub engine_exe: Option<PathBuf>,
    /// Stop the engine deploy starts when this process exits (the demo's throw-away stack).
    pub tie_engine: bool,
}

/// Page size the CLI asks the engine for.
const PAGE: usize = 1000;

/// " (pid N)" for the engine recorded in `dir`, or nothing when none is.
fn engine_pid(dir: &StackDir) -> String {
    dir.read_engine()
        .map(|e| format!(" (pid {})", e.pid))
        .unwrap_or_default()
}

impl LocalBackend {
    /// The stack `stack_name` under `WAITABLE_HOME` or the user's data directory.
    /// Refused when either directory could be changed by another user.
    pub fn open(stack_name: &str, ui: Ui) -> Result<Self> {
        let backend = Self::with_home(stack_name, state::home()?, ui);
        state::check_private(&backend.home)?;
        state::check_private(&backend.dir().root)?;
        Ok(backend)
    }

    /// The stack `stack_name` under `home` (demo and tests use a directory of their own).
    pub fn with_home(stack_name: &str, home: PathBuf, ui: Ui) -> Self {
        LocalBackend {
            stack_name: stack_name.into(),
            home,
            ui,
            engine_exe: None,
            tie_engine: false,
        }
    }

    pub fn dir(&self) -> StackDir {
        StackDir::new(&self.home, &self.stack_name)
    }

    fn table_name(&self) -> String {
        format!("{}-{JOBS_TABLE}", self.stack_name)
    }

    pub(super) fn not_deployed(&self) -> Error {
        Error::failed(format!(
            "stack {} does not exist on this machine (no local stack in {}): create it with `waitable deploy --target local --stack-name {}`",
            self.stack_name,
            self.home.display(),
            self.stack_name
        ))
    }

    fn dead(&self) -> Error {
        Error::failed(format!(
            "the local engine of stack {} is not running (it was stopped, crashed, or the machine restarted; log: {}); start it again with `waitable deploy --target local --stack-name {}`: waiting jobs resume where they stood",
            self.stack_name,
            self.dir().log_file().display(),
            self.stack_name
        ))
    }

    fn not_answering(&self) -> Error {
        let dir = self.dir();
        let pid = engine_pid(&dir);
        Error::failed(format!(
            "the local engine of stack {}{pid} did not answer within {} s, not even whether it runs: its process is paused (resume it with `kill -CONT <pid>`) or stuck; the command was not run; log: {}",
            self.stack_name,
            client::TIMEOUT.as_secs(),
            dir.log_file().display()
        ))
    }

    /// An engine holds the database but does not answer on its socket (the socket was removed).
    fn unreachable(&self) -> Error {
        let dir = self.dir();
        let pid = engine_pid(&dir);
        Error::failed(format!(
            "an engine{pid} holds the database of stack {} but cannot be reached: its control socket {} is gone; stop that process, then run the command again",
            self.stack_name,
            dir.socket_file().display()
        ))
    }

    /// The running engine (asked over its socket), or a clear error.
    async fn engine(&self) -> Result<Health> {
        match process::probe(&self.dir()).await {
            EngineState::Running(e) => Ok(e),
            EngineState::NotAnswering => Err(self.not_answering()),
            EngineState::Dead if store::in_use(&self.dir().db_file()) => Err(self.unreachable()),
            EngineState::Dead => Err(self.dead()),
            EngineState::NotDeployed => Err(self.not_deployed()),
        }
    }

    /// One call to the engine (bounded by [`client::TIMEOUT`]; the engine does not run it
    /// after that).
    async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value)> {
        let socket = self.dir().socket_file();
        match client::call(&socket, method, path, body).await {
            Ok(answer) => Ok(answer),
            Err(CallError::NoAnswer)
                if client::answers_health(&socket, std::time::Duration::from_secs(2)).await =>
            {
                Err(self.busy())
            }
            Err(err) => Err(self.call_failed(err)),
        }
    }

    /// The engine answers, but did not come to the command in time: it was not run.
    fn busy(&self) -> Error {
        Error::failed(format!(
            "the local engine of stack {} is running but busy: it did not come to the command within {} s, so it was not run (nothing changed); try again; log: {}",
            self.stack_name,
            client::TIMEOUT.as_secs(),
            self.dir().log_file().display()
        ))
    }

    fn call_failed(&self, err: CallError) -> Error {
        match err {
            CallError::NoAnswer => self.not_answering(),
            CallError::NotListening(_) => self.dead(),
            CallError::Other(e) => Error::Failed(e.context(format!(
                "talking to the local engine of stack {}",
                self.stack_name
            ))),
        }
    }

    /// One call with a typed body and answer, read straight from the bytes: payloads are kept
    /// byte for byte (no detour through `Value`, which would rewrite numbers).
    pub(super) async fn call_typed<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl serde::Serialize>,
    ) -> Result<T> {
        self.engine().await?;
        let text = body.map(serde_json::to_string).transpose()?;
        let (status, bytes) = client::call_text(&self.dir().socket_file(), method, path, text)
            .await
            .map_err(|err| self.call_failed(err))?;
        if status != 200 {
            let body: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
            return Err(failure(status, &body));
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Jobs in `status` within `window`, in StartActionAt order, through the status index.
    async fn jobs_by_status(
        &self,
        status: JobStatus,
        window: &DueWindow,
        sink: &mut dyn FnMut(JobRecord) -> Result<()>,
    ) -> Result<()> {
        let mut token: Option<String> = None;
        loop {
            let path = protocol::jobs_by_status_path(status, window, PAGE, token.as_deref());
            let page: JobsPage = self.call_typed("GET", &path, None::<&()>).await?;
            for job in page.items {
                sink(job)?;
            }
            match page.next_token {
                Some(t) => token = Some(t),
                None => return Ok(()),
            }
        }
    }

    fn outputs_for(&self, port: u16) -> StackOutputs {
        StackOutputs {
            api_url: format!("http://127.0.0.1:{port}"),
            state_machine_arn: state_machine_arn(&self.stack_name),
            table_name: self.table_name(),
            // The same outputs as on aws: a stack delivering to its queue has `QueueUrl`.
            more: self
                .dir()
                .read_stack()
                .ok()
                .filter(|s| s.deliver.iter().any(|f| f == "queue"))
                .map(|_| {
                    (
                        delivery::OUTPUT_QUEUE_URL.to_string(),
                        delivery::local_queue_url(&self.stack_name),
                    )
                })
                .into_iter()
                .collect(),
        }
    }
}

/// The engine's error body as an operation failure.
fn failure(status: u16, body: &Value) -> Error {
    match ErrorBody::deserialize(body) {
        Ok(e) => Error::failed(e.message),
        Err(_) => Error::failed(format!("the local engine answered {status}: {body}")),
    }
}

impl Backend for LocalBackend {
    type Pending = Deployment;

    const DEPLOY_ASKS: bool = false;

    async fn plan(&self, request: &Deployment) -> Result<DeployPlan<Deployment>> {
        Ok(DeployPlan::Apply(request.clone()))
    }

    async fn apply(&self, request: Deployment) -> Result<StackOutputs> {
        self.deploy(&request).await
    }

    async fn discard(&self, _: Deployment) {}

    async fn deliveries(&self) -> Result<delivery::Deliveries> {
        let flags = self
            .dir()
            .read_stack()
            .map(|s| s.deliver)
            .unwrap_or_default();
        Ok(delivery::Deliveries::parse(&flags)
            .map_err(Error::failed)?
            .unwrap_or_default())
    }

    async fn outputs(&self) -> Result<StackOutputs> {
        let e = self.engine().await?;
        Ok(self.outputs_for(e.port))
    }

    async fn submit(&self, job: &JobRequest) -> Result<Submitted> {
        let body = SubmitRequest {
            id: job.id.clone(),
            start_timestamp: job.at.clone(),
            payload: job.payload.clone(),
        };
        self.call_typed("POST", protocol::SUBMIT_PRIVATE, Some(&body))
            .await
    }

    async fn jobs(
        &self,
        query: &JobQuery,
        sink: &mut dyn FnMut(JobRecord) -> Result<()>,
    ) -> Result<()> {
        if query.uses_index() {
            for status in &query.statuses {
                self.jobs_by_status(*status, &query.window, sink).await?;
            }
            return Ok(());
        }
        let mut token: Option<String> = None;
        loop {
            let path = protocol::jobs_path(PAGE, token.as_deref());
            let page: JobsPage = self.call_typed("GET", &path, None::<&()>).await?;
            for job in page.items {
                if query.matches(&job) {
                    sink(job)?;
                }
            }
            match page.next_token {
                Some(t) => token = Some(t),
                None => return Ok(()),
            }
        }
    }

    async fn reconcile(&self, request: &ReconcileRequest) -> Result<Vec<Reconciled>> {
        reconcile::sweep(self, request).await
    }

    async fn execution(&self, id: &str) -> Result<waitable_core::show::Execution> {
        history::execution(self, id).await
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Received>> {
        self.receive_messages(max, wait).await
    }

    async fn delete_received(&self, handles: &[String]) -> Result<usize> {
        self.queue_delete(handles).await
    }

    async fn start_run(&self, job: &JobRecord, run: (u32, RunKind, &str)) -> Result<StartedRun> {
        let body = runs::request(job, run);
        self.call_typed("POST", protocol::RUNS, Some(&body)).await
    }

    async fn stop_run(&self, id: &str, run: u32) -> Result<()> {
        let body = runs::stop(id, run);
        self.call_typed("POST", protocol::RUNS_STOP, Some(&body))
            .await
    }

    async fn runs(&self, job: &JobRecord) -> Result<Vec<RunSummary>> {
        self.call_typed("POST", protocol::RUNS_LIST, Some(job))
            .await
    }

    async fn cancel(&self, id: &str) -> Result<Cancelled> {
        let answer: CancelAnswer = self
            .call_typed(
                "POST",
                protocol::CANCEL,
                Some(&CancelRequest { id: id.into() }),
            )
            .await?;
        Ok(Cancelled {
            job_id: id.into(),
            job: answer.job,
        })
    }

    async fn destroy(&self) -> Result<DestroyReport> {
        self.destroy_stack().await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn deploy_refuses_what_the_interpreter_cannot_run_before_anything_starts() {
        let home = tempfile::tempdir().unwrap();
        let backend = LocalBackend::with_home("s", home.path().to_path_buf(), Ui::silent());
        let mut t = waitable_core::template::template(&Default::default());
        let mut def = waitable_core::state_machine::definition(&Default::default());
        def["States"]["WaitUntil"] = json!({"Type": "Map", "End": true});
        t["Resources"]["StateMachine"]["Properties"]["DefinitionString"] =
            json!({"Fn::Sub": [def.to_string(), {"TableName": {"Ref": "JobsTable"}}]});
        let err = backend.prepare(&t).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            err.to_string(),
            "the local engine cannot run this state machine: state \"WaitUntil\": Map states are not supported by the local engine"
        );
        assert!(!backend.dir().exists(), "nothing is written");
        backend
            .prepare(&waitable_core::template::template(&Default::default()))
            .unwrap();
        assert!(backend.dir().read_stack().is_ok());
    }
}
