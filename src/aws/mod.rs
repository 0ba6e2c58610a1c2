//! The `aws` target: the stack in an AWS account (or an emulator at `--endpoint-url`).
//!
//! Clients are built once from one `SdkConfig` and passed by reference into the functions
//! that call them.

pub mod api_check;
mod api_deployment;
mod change_set;
mod delete;
pub mod delivery_queue;
pub mod describe;
mod failure;
pub mod jobs;
pub mod jobs_index;
#[cfg(test)]
mod mocks;
pub mod plan_apply;
pub mod progress;
pub mod sdk;
pub mod stack_outputs;
mod table_protection;
pub mod waiting_jobs;
mod watch;

use std::time::Duration;

use crate::Result;
use crate::backend::{
    ApiCheck, Backend, Cancelled, DeployPlan, Deployment, DestroyReport, JobQuery,
};
use crate::output::Ui;
use crate::poll;
use sdk::AwsConnection;
use waitable_core::delivery::received::Received;
use waitable_core::job::{JobRecord, JobRequest, Submitted};
use waitable_core::outputs::StackOutputs;

/// The AWS clients for one stack.
pub struct AwsBackend {
    pub stack_name: String,
    pub cfn: aws_sdk_cloudformation::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub apigw: aws_sdk_apigateway::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// Where progress goes (the backend asks nothing).
    pub ui: Ui,
    /// How stack waits poll (tests pass a tiny one).
    pub schedule: poll::Schedule,
    /// The stack's outputs and its `RetentionDays`, looked up once per run (a batch submit
    /// needs them 2,000 times).
    outputs_cache: tokio::sync::OnceCell<(StackOutputs, u32)>,
    /// The delivery queue's URL, looked up on first use.
    queue_url: tokio::sync::OnceCell<String>,
}

impl AwsBackend {
    /// Builds the clients from the standard AWS chain overridden by `connection`.
    pub async fn connect(stack_name: &str, connection: &AwsConnection, ui: Ui) -> Result<Self> {
        let sdk = sdk::load(connection).await?;
        Ok(AwsBackend {
            ui,
            ..Self::new(stack_name, &sdk)
        })
    }

    /// The backend for `stack_name`, with clients built from one `SdkConfig`; silent, with the
    /// default poll schedule (library callers and tests; the CLI uses [`AwsBackend::connect`]).
    pub fn new(stack_name: &str, sdk: &aws_types::SdkConfig) -> Self {
        AwsBackend {
            stack_name: stack_name.to_string(),
            cfn: aws_sdk_cloudformation::Client::new(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
            ddb: aws_sdk_dynamodb::Client::new(sdk),
            apigw: aws_sdk_apigateway::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            ui: Ui::silent(),
            schedule: poll::Schedule::DEFAULT,
            outputs_cache: tokio::sync::OnceCell::new(),
            queue_url: tokio::sync::OnceCell::new(),
        }
    }

    fn stack(&self) -> describe::StackCtx<'_> {
        describe::StackCtx {
            cfn: &self.cfn,
            name: &self.stack_name,
            ui: &self.ui,
            schedule: &self.schedule,
        }
    }

    /// The stack's outputs and `RetentionDays`, fetched on first use.
    async fn cached_stack(&self) -> Result<&(StackOutputs, u32)> {
        self.outputs_cache
            .get_or_try_init(|| stack_outputs::outputs_and_retention(&self.cfn, &self.stack_name))
            .await
    }

    /// The delivery queue's URL, fetched on first use.
    async fn cached_queue_url(&self) -> Result<&str> {
        self.queue_url
            .get_or_try_init(|| delivery_queue::queue_url(&self.cfn, &self.stack_name))
            .await
            .map(String::as_str)
    }

    /// The stack's outputs, fetched on first use.
    async fn cached_outputs(&self) -> Result<&StackOutputs> {
        Ok(&self.cached_stack().await?.0)
    }
}

impl Backend for AwsBackend {
    type Pending = plan_apply::PendingChangeSet;

    const DEPLOY_ASKS: bool = true;

    /// The region's StartExecution quota.
    fn default_rate(&self) -> u32 {
        waitable_core::limits::start_execution_rate(self.sfn.config().region().map(|r| r.as_ref()))
    }

    async fn plan(&self, request: &Deployment) -> Result<DeployPlan<Self::Pending>> {
        Ok(
            match plan_apply::plan(&self.stack(), &request.template, &request.parameters).await? {
                plan_apply::Planned::UpToDate(outputs) => DeployPlan::UpToDate(outputs),
                plan_apply::Planned::Review(pending) => DeployPlan::Review {
                    changes: pending.changes.clone(),
                    pending,
                },
            },
        )
    }

    async fn apply(&self, pending: Self::Pending) -> Result<StackOutputs> {
        plan_apply::apply(&self.stack(), &self.apigw, &pending).await
    }

    async fn discard(&self, pending: Self::Pending) {
        plan_apply::discard(&self.stack(), &pending).await
    }

    async fn deliveries(&self) -> Result<waitable_core::delivery::Deliveries> {
        stack_outputs::deployed_deliveries(&self.cfn, &self.stack_name).await
    }

    async fn outputs(&self) -> Result<StackOutputs> {
        stack_outputs::outputs(&self.cfn, &self.stack_name).await
    }

    async fn submit(&self, job: &JobRequest) -> Result<Submitted> {
        let (stack, retention_days) = self.cached_stack().await?;
        jobs::submit(&self.sfn, &self.ddb, stack, *retention_days, job).await
    }

    async fn jobs(
        &self,
        query: &JobQuery,
        sink: &mut dyn FnMut(JobRecord) -> Result<()>,
    ) -> Result<()> {
        let stack = self.cached_outputs().await?;
        if query.uses_index() {
            // One Query per status, each in StartActionAt order.
            for status in &query.statuses {
                jobs_index::query_jobs(
                    &self.ddb,
                    &stack.table_name,
                    *status,
                    &query.window,
                    !query.skip_payloads,
                    sink,
                )
                .await?;
            }
            return Ok(());
        }
        jobs::list_jobs(
            &self.ddb,
            &stack.table_name,
            query,
            jobs::SCAN_SEGMENTS,
            sink,
        )
        .await
    }

    async fn cancel(&self, id: &str) -> Result<Cancelled> {
        let stack = self.cached_outputs().await?;
        jobs::cancel(
            &self.sfn,
            &self.ddb,
            &stack.state_machine_arn,
            &stack.table_name,
            id,
        )
        .await
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Received>> {
        delivery_queue::receive(&self.sqs, self.cached_queue_url().await?, max, wait).await
    }

    async fn delete_received(&self, handles: &[String]) -> Result<()> {
        delivery_queue::delete(&self.sqs, self.cached_queue_url().await?, handles).await
    }

    async fn destroy(&self) -> Result<DestroyReport> {
        let Some(existing) = describe::describe(&self.cfn, &self.stack_name).await? else {
            return Ok(DestroyReport {
                existed: false,
                cancelled_jobs: 0,
            });
        };
        // A stack without the outputs (say, rolled back on create) has no jobs to cancel.
        let cancelled_jobs = match stack_outputs::stack_outputs(&self.cfn, &existing).await {
            Ok(outputs) => {
                waiting_jobs::cancel_waiting_jobs(&self.sfn, &self.ddb, &outputs, &self.schedule)
                    .await?
            }
            Err(_) => 0,
        };
        if cancelled_jobs > 0 {
            self.ui.info(format!(
                "cancelled {cancelled_jobs} waiting job{}",
                if cancelled_jobs == 1 { "" } else { "s" }
            ));
        }
        let stack_id = describe::id_of(&existing)?;
        table_protection::unprotect_table(&self.stack(), &self.ddb, &stack_id).await?;
        delete::delete_and_wait(&self.stack(), &existing).await?;
        Ok(DestroyReport {
            existed: true,
            cancelled_jobs,
        })
    }

    async fn check_api(&self, outputs: &StackOutputs) -> Result<Option<ApiCheck>> {
        api_check::check(&self.apigw, &outputs.api_url)
            .await
            .map(Some)
    }
}
