//! A target for command tests: it answers from what the test put in it and records each call,
//! so a test sees what a command asked, in order. Calls a test did not prepare for panic.

use std::sync::Mutex;
use std::time::Duration;

use crate::Result;
use crate::backend::{Backend, Cancelled, DeployPlan, Deployment, DestroyReport, JobQuery};
use crate::config::Config;
use waitable_core::delivery::Deliveries;
use waitable_core::delivery::received::Received;
use waitable_core::job::{JobRecord, JobRequest, Submitted};
use waitable_core::outputs::StackOutputs;

/// A STARTED job due `at`, with nothing else recorded (the command tests' row).
pub fn job(at: &str, id: &str) -> JobRecord {
    JobRecord {
        id: id.into(),
        start_action_at: at.into(),
        process_status: "STARTED".into(),
        last_updated: None,
        payload: None,
        error: None,
        delivered_at: None,
        fired_at: None,
        delivered_to: vec![],
        run: None,
    }
}

#[derive(Default)]
pub struct Fake {
    /// What `plan` answers.
    pub plan: Option<DeployPlan<&'static str>>,
    /// What the queue holds.
    pub held: Vec<Received>,
    pub calls: Mutex<Vec<String>>,
    /// The jobs table: what `jobs` lists and `cancel` changes.
    pub rows: Mutex<Vec<JobRecord>>,
    /// Handles whose visibility ran out: `delete_received` does not delete them.
    pub expired: Vec<&'static str>,
    /// What `cancel_quota` answers (the trait's default when unset).
    pub quota: Option<waitable_core::limits::Quota>,
}

impl Fake {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    /// The outputs `apply` answers.
    pub fn outputs() -> StackOutputs {
        StackOutputs {
            api_url: "https://x.execute-api.us-east-1.amazonaws.com/prod".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".into(),
            table_name: "jobs".into(),
            more: Default::default(),
        }
    }

    /// A silent configuration for stack `s` on the aws target, printing JSON.
    pub fn config() -> Config {
        Config {
            stack_name: "s".parse().unwrap(),
            target: crate::cli::Target::Aws,
            aws: Default::default(),
            output: crate::cli::OutputFormat::Json,
            ui: crate::output::Ui::silent(),
            input_tz: None,
            display_tz: None,
        }
    }
}

impl Backend for Fake {
    async fn reconcile(
        &self,
        _: &crate::backend::ReconcileRequest,
    ) -> Result<Vec<crate::backend::Reconciled>> {
        unreachable!()
    }

    type Pending = &'static str;
    const DEPLOY_ASKS: bool = true;

    async fn plan(&self, _: &Deployment) -> Result<DeployPlan<&'static str>> {
        self.log("plan".into());
        Ok(match &self.plan {
            Some(DeployPlan::UpToDate(o)) => DeployPlan::UpToDate(o.clone()),
            Some(DeployPlan::Apply(p)) => DeployPlan::Apply(p),
            Some(DeployPlan::Review { changes, pending }) => DeployPlan::Review {
                changes: changes.clone(),
                pending,
            },
            None => unreachable!("the test sets no plan"),
        })
    }
    async fn apply(&self, pending: &'static str) -> Result<StackOutputs> {
        self.log(format!("apply {pending}"));
        Ok(Self::outputs())
    }
    async fn discard(&self, pending: &'static str) {
        self.log(format!("discard {pending}"));
    }
    async fn deliveries(&self) -> Result<Deliveries> {
        Ok(Default::default())
    }
    async fn receive(&self, max: usize, _wait: Duration) -> Result<Vec<Received>> {
        self.log(format!("receive {max}"));
        Ok(self.held.iter().take(max).cloned().collect())
    }
    async fn delete_received(&self, handles: &[String]) -> Result<usize> {
        self.log(format!("delete {}", handles.join(" ")));
        Ok(handles
            .iter()
            .filter(|h| !self.expired.contains(&h.as_str()))
            .count())
    }
    async fn outputs(&self) -> Result<StackOutputs> {
        unreachable!()
    }
    async fn submit(&self, _: &JobRequest) -> Result<Submitted> {
        unreachable!()
    }
    async fn jobs(
        &self,
        query: &JobQuery,
        sink: &mut dyn FnMut(JobRecord) -> Result<()>,
    ) -> Result<()> {
        let rows = self.rows.lock().unwrap().clone();
        rows.into_iter()
            .filter(|j| query.matches(j))
            .try_for_each(sink)
    }
    /// Cancels by the one rule, as both targets do.
    async fn cancel(&self, id: &str) -> Result<Cancelled> {
        self.log(format!("cancel {id}"));
        let mut rows = self.rows.lock().unwrap();
        let Some(job) = rows.iter_mut().find(|j| j.id == id) else {
            return Err(crate::Error::failed(format!("no job with Id {id:?}")));
        };
        waitable_core::cancel::check(job).map_err(|e| crate::Error::failed(e.to_string()))?;
        job.process_status = waitable_core::job::JobStatus::Cancelled.as_str().into();
        Ok(Cancelled {
            job_id: id.into(),
            job: job.clone(),
        })
    }
    fn cancel_quota(&self) -> waitable_core::limits::Quota {
        self.quota
            .unwrap_or(waitable_core::limits::STOP_EXECUTION_QUOTA_LARGE)
    }
    async fn execution(&self, _: &str) -> Result<waitable_core::show::Execution> {
        unreachable!()
    }
    async fn destroy(&self) -> Result<DestroyReport> {
        unreachable!()
    }
}
