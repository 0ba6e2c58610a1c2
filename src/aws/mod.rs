//! The `aws` target: the stack in an AWS account (or an emulator at `--endpoint-url`).
//!
//! Clients are built once from one `SdkConfig` and passed by reference into the functions
//! that call them.

pub mod jobs;
pub mod jobs_index;
pub mod poll;
pub mod progress;
pub mod sdk;
pub mod stack;
pub mod stack_outputs;
pub mod watch;

use crate::Result;
use crate::backend::{Backend, Cancelled, DeployRequest, DestroyReport, JobQuery};
use crate::config::Config;
use crate::core::job::{JobRecord, JobRequest, Submitted};
use crate::core::outputs::StackOutputs;
use crate::output::Ui;

/// The AWS clients for one stack.
pub struct AwsBackend {
    pub stack_name: String,
    pub cfn: aws_sdk_cloudformation::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    /// Where progress and questions go.
    pub ui: Ui,
    /// How stack waits poll (tests pass a tiny one).
    pub schedule: poll::Schedule,
    /// The stack's outputs, looked up once per run (a batch submit needs them 2,000 times).
    outputs_cache: tokio::sync::OnceCell<StackOutputs>,
}

impl AwsBackend {
    /// Builds the clients from the standard AWS chain and the `--profile`, `--region` and
    /// `--endpoint-url` flags.
    pub async fn connect(config: &Config) -> Result<Self> {
        let sdk = sdk::load(&config.aws).await?;
        Ok(AwsBackend {
            ui: config.ui,
            ..Self::new(&config.stack_name, &sdk)
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
            ui: Ui::silent(),
            schedule: poll::Schedule::DEFAULT,
            outputs_cache: tokio::sync::OnceCell::new(),
        }
    }

    fn stack(&self) -> stack::StackCtx<'_> {
        stack::StackCtx {
            cfn: &self.cfn,
            name: &self.stack_name,
            ui: &self.ui,
            schedule: &self.schedule,
        }
    }

    /// The stack's outputs, fetched on first use.
    async fn cached_outputs(&self) -> Result<&StackOutputs> {
        self.outputs_cache.get_or_try_init(|| self.outputs()).await
    }
}

impl Backend for AwsBackend {
    async fn deploy(&self, request: &DeployRequest) -> Result<StackOutputs> {
        stack::deploy(&self.stack(), &request.template, &request.parameters).await
    }

    async fn outputs(&self) -> Result<StackOutputs> {
        stack::outputs(&self.cfn, &self.stack_name).await
    }

    async fn submit(&self, job: &JobRequest) -> Result<Submitted> {
        let stack = self.cached_outputs().await?;
        jobs::submit(&self.sfn, &stack.state_machine_arn, job).await
    }

    async fn jobs(
        &self,
        query: &JobQuery,
        sink: &mut (dyn FnMut(JobRecord) -> Result<()> + Send),
    ) -> Result<()> {
        let stack = self.cached_outputs().await?;
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

    async fn destroy(&self) -> Result<DestroyReport> {
        let Some(existing) = stack::describe(&self.cfn, &self.stack_name).await? else {
            return Ok(DestroyReport {
                existed: false,
                cancelled_jobs: 0,
            });
        };
        // A stack without the outputs (say, rolled back on create) has no jobs to cancel.
        let cancelled_jobs = match stack::stack_outputs(&self.cfn, &existing).await {
            Ok(outputs) => stack::cancel_waiting_jobs(&self.sfn, &self.ddb, &outputs).await?,
            Err(_) => 0,
        };
        if cancelled_jobs > 0 {
            self.ui.info(format!(
                "cancelled {cancelled_jobs} waiting job{}",
                if cancelled_jobs == 1 { "" } else { "s" }
            ));
        }
        stack::delete_and_wait(&self.stack(), &existing).await?;
        Ok(DestroyReport {
            existed: true,
            cancelled_jobs,
        })
    }
}
