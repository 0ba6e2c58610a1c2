//! The `aws` target: the stack in an AWS account (or an emulator at `--endpoint-url`).
//!
//! Clients are built once from one `SdkConfig` and passed by reference into the functions
//! that call them.

pub mod account;
pub mod api_check;
mod api_deployment;
pub mod artifacts;
mod bus_check;
#[cfg(test)]
mod cancel_tests;
mod change_set;
mod close_stack;
mod delete;
pub mod delivery_queue;
pub mod describe;
mod failure;
pub mod history;
pub mod jobs;
pub mod jobs_index;
pub mod live_check;
#[cfg(test)]
mod mocks;
pub mod plan_apply;
pub mod progress;
pub mod reconcile_sweep;
pub mod runs;
pub mod sdk;
pub mod signed_api;
pub mod stack_outputs;
pub mod stacks;
mod table_protection;
pub mod waiting_jobs;
mod watch;
pub mod webhook_check;

use std::time::Duration;

use crate::Result;
use crate::backend::{
    ApiCheck, ApiSubmit, Backend, Cancelled, DeployPlan, Deployment, DestroyReport, JobQuery,
    LiveCheck, ReconcileRequest, Reconciled, WebhookCheck,
};
use crate::output::Ui;
use crate::poll;
use sdk::AwsConnection;
use waitable_core::delivery::received::Received;
use waitable_core::delivery::webhook_probe::Probe;
use waitable_core::job::{JobRecord, JobRequest, Submitted};
use waitable_core::outputs::StackOutputs;

/// The AWS clients for one stack.
pub struct AwsBackend {
    pub stack_name: String,
    pub cfn: aws_sdk_cloudformation::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub apigw: aws_sdk_apigateway::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    /// Where progress goes (the backend asks nothing).
    pub ui: Ui,
    /// How stack waits poll (tests pass a tiny one).
    pub schedule: poll::Schedule,
    /// AWS itself or a custom endpoint (an emulator): decides what the API check may skip.
    pub endpoint: api_check::Endpoint,
    /// The one `SdkConfig` the clients came from: its credentials sign requests to the stage,
    /// and a custom endpoint (an emulator) means there is no stage to call.
    sdk: aws_types::SdkConfig,
    /// Set once this run applied a change: the API check then waits out IAM's propagation.
    just_deployed: std::sync::atomic::AtomicBool,
    /// The stack's outputs and its `RetentionDays`, looked up once per run (a batch submit
    /// needs them 2,000 times).
    outputs_cache: tokio::sync::OnceCell<(StackOutputs, u32)>,
    /// The delivery queue's URL, looked up on first use.
    queue_url: tokio::sync::OnceCell<String>,
    /// The calls go to an `http://` endpoint (an emulator): no TLS-only bucket policy there.
    plain_http_endpoint: bool,
    /// Whose account this is (STS), asked at most once per command.
    account_cache: tokio::sync::OnceCell<account::Account>,
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
            endpoint: api_check::Endpoint::of(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            // An emulator on 127.0.0.1 has no per-bucket host names: address buckets by path.
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .force_path_style(sdk.endpoint_url().is_some())
                    .build(),
            ),
            sts: aws_sdk_sts::Client::new(sdk),
            ui: Ui::silent(),
            schedule: poll::Schedule::DEFAULT,
            sdk: sdk.clone(),
            just_deployed: std::sync::atomic::AtomicBool::new(false),
            outputs_cache: tokio::sync::OnceCell::new(),
            queue_url: tokio::sync::OnceCell::new(),
            account_cache: tokio::sync::OnceCell::new(),
            plain_http_endpoint: sdk
                .endpoint_url()
                .is_some_and(|url| url.starts_with("http://")),
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
            .get_or_try_init(async || {
                match stack_outputs::outputs_and_retention(&self.cfn, &self.stack_name).await? {
                    Some(found) => Ok(found),
                    None => Err(self.missing_stack().await),
                }
            })
            .await
    }

    /// The delivery queue's URL, fetched on first use.
    /// The delivery queue's URL, looked up once; a stack that does not exist says so (not
    /// that it has no queue: some endpoints list no resources for a missing stack).
    async fn cached_queue_url(&self) -> Result<&str> {
        self.queue_url
            .get_or_try_init(|| async {
                if describe::describe(&self.cfn, &self.stack_name)
                    .await?
                    .is_none()
                {
                    return Err(self.missing_stack().await);
                }
                delivery_queue::queue_url(&self.cfn, &self.stack_name).await
            })
            .await
            .map(String::as_str)
    }

    /// The account and region the clients act in, from STS on first use.
    pub async fn account(&self) -> Result<&account::Account> {
        self.account_cache
            .get_or_try_init(|| {
                let region = self
                    .sts
                    .config()
                    .region()
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                async move { account::caller(&self.sts, &region).await }
            })
            .await
    }

    /// "stack X does not exist in account A, region R": the account is what tells a user
    /// they are looking in the wrong place.
    async fn missing_stack(&self) -> crate::Error {
        let name = &self.stack_name;
        let place = match self.account().await {
            Ok(account) => format!(" in {account}"),
            Err(_) => String::new(),
        };
        crate::Error::failed(format!(
            "stack {name} does not exist{place}: run `waitable deploy --stack-name {name}` first"
        ))
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

    fn cancel_quota(&self) -> waitable_core::limits::Quota {
        waitable_core::limits::stop_execution_quota(self.sfn.config().region().map(|r| r.as_ref()))
    }

    async fn plan(&self, request: &Deployment) -> Result<DeployPlan<Self::Pending>> {
        let account = self.account().await?;
        bus_check::check_bus(&self.events, &request.template, account).await?;
        let artifacts = plan_apply::Artifacts {
            s3: &self.s3,
            account,
            tls_only: !self.plain_http_endpoint,
        };
        Ok(
            match plan_apply::plan(
                &self.stack(),
                &artifacts,
                &request.template,
                &request.parameters,
                request.upload_template,
            )
            .await?
            {
                plan_apply::Planned::UpToDate(outputs) => DeployPlan::UpToDate(outputs),
                plan_apply::Planned::Review(pending) => DeployPlan::Review {
                    changes: pending.changes.clone(),
                    pending,
                },
            },
        )
    }

    async fn apply(&self, pending: Self::Pending) -> Result<StackOutputs> {
        self.just_deployed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        plan_apply::apply(&self.stack(), &self.apigw, &pending).await
    }

    async fn discard(&self, pending: Self::Pending) {
        plan_apply::discard(&self.stack(), &pending).await
    }

    async fn deliveries(&self) -> Result<waitable_core::delivery::Deliveries> {
        stack_outputs::deployed_deliveries(&self.cfn, &self.stack_name).await
    }

    async fn outputs(&self) -> Result<StackOutputs> {
        match stack_outputs::outputs(&self.cfn, &self.stack_name).await? {
            Some(outputs) => Ok(outputs),
            None => Err(self.missing_stack().await),
        }
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

    async fn execution(&self, id: &str) -> Result<waitable_core::show::Execution> {
        let stack = self.cached_outputs().await?;
        let arn =
            waitable_core::arn::execution_arn(&stack.state_machine_arn, id).ok_or_else(|| {
                crate::Error::failed(format!(
                    "the stack's StateMachineArn {:?} is not a state machine ARN",
                    stack.state_machine_arn
                ))
            })?;
        history::execution(&self.sfn, &arn).await
    }

    async fn start_run(
        &self,
        job: &JobRecord,
        run: (u32, waitable_core::runs::RunKind, &str),
    ) -> Result<waitable_core::runs::StartedRun> {
        let (stack, retention_days) = self.cached_stack().await?;
        runs::start_run(
            &self.sfn,
            &self.ddb,
            stack,
            *retention_days,
            &self.schedule,
            job,
            run,
        )
        .await
    }

    async fn stop_run(&self, id: &str, run: u32) -> Result<()> {
        runs::stop_run(&self.sfn, self.cached_outputs().await?, id, run).await
    }

    async fn runs(&self, job: &JobRecord) -> Result<Vec<waitable_core::runs::RunSummary>> {
        runs::summaries(&self.sfn, self.cached_outputs().await?, job).await
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

    async fn delete_received(&self, handles: &[String]) -> Result<usize> {
        delivery_queue::delete(&self.sqs, self.cached_queue_url().await?, handles).await
    }

    async fn destroy(&self) -> Result<DestroyReport> {
        let Some(existing) = describe::describe(&self.cfn, &self.stack_name).await? else {
            return Ok(DestroyReport::default());
        };
        // A stack without the outputs (say, rolled back on create) has no jobs to cancel.
        // Closed first: no reconcile for the jobs cancelled next, no new job during the delete.
        let (cancelled_jobs, closed) =
            match stack_outputs::stack_outputs(&self.cfn, &existing).await {
                Ok(outputs) => {
                    let spinner = crate::output::spinner(
                        &self.ui,
                        &format!(
                            "closing stack {} and cancelling its waiting jobs",
                            self.stack_name
                        ),
                    );
                    let closed = close_stack::close(
                        &self.cfn,
                        &self.events,
                        &self.apigw,
                        &self.stack_name,
                        &outputs,
                    )
                    .await
                    .inspect_err(|_| spinner.finish_and_clear())?;
                    for line in &closed {
                        spinner.suspend(|| self.ui.info(line.clone()));
                    }
                    let cancelled = waiting_jobs::cancel_waiting_jobs(
                        &self.sfn,
                        &self.ddb,
                        &outputs,
                        &self.schedule,
                    )
                    .await;
                    spinner.finish_and_clear();
                    (cancelled?, closed)
                }
                Err(_) => (0, Vec::new()),
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
        if let Some(bucket) = artifacts::existing_bucket(&self.s3, self.account().await?).await {
            self.ui.info(format!(
                "kept the artifacts bucket {bucket}: every stack in this account and region shares it (its templates expire after {} days)",
                artifacts::TEMPLATE_EXPIRY_DAYS
            ));
        }
        Ok(DestroyReport {
            existed: true,
            cancelled_jobs,
            closed_first: closed,
        })
    }

    async fn location(&self) -> Result<Option<String>> {
        Ok(Some(self.account().await?.to_string()))
    }

    async fn check_api(&self, outputs: &StackOutputs) -> Result<Option<ApiCheck>> {
        let fresh = self
            .just_deployed
            .load(std::sync::atomic::Ordering::Relaxed);
        let check = if fresh {
            api_check::check_with(
                &self.apigw,
                &outputs.api_url,
                self.endpoint,
                &api_check::Propagation::AFTER_DEPLOY,
            )
            .await
        } else {
            api_check::check(&self.apigw, &outputs.api_url, self.endpoint).await
        };
        check.map(Some)
    }

    async fn reconcile(&self, request: &ReconcileRequest) -> Result<Vec<Reconciled>> {
        let stack = self.cached_outputs().await?;
        reconcile_sweep::sweep(
            &self.sfn,
            &self.ddb,
            stack,
            request,
            crate::pace::Pace::DESCRIBE_EXECUTION,
            &self.schedule,
        )
        .await
    }

    async fn check_live(&self, outputs: &StackOutputs) -> Result<LiveCheck> {
        let (signer, api_id) = match self.stage_access(outputs).await? {
            Ok(access) => access,
            Err(why) => return Ok(LiveCheck::Skipped(why)),
        };
        let iam_auth = live_check::uses_iam(&self.apigw, &api_id).await?;
        let url = outputs.api_url.clone();
        let probes = tokio::task::spawn_blocking(move || {
            let agent = signed_api::agent();
            live_check::check_stage(
                &agent,
                &signer,
                &url,
                iam_auth,
                std::time::SystemTime::now(),
            )
        })
        .await
        .map_err(|e| crate::Error::failed(format!("live check: {e}")))??;
        Ok(LiveCheck::Passed(probes))
    }

    async fn check_webhook(&self, outputs: &StackOutputs) -> Result<WebhookCheck> {
        let now = chrono::Utc::now();
        let probe = Probe {
            id: format!("waitable-check-{}", now.format("%Y%m%dT%H%M%SZ")),
            start_action_at: now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            fired_at: now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        };
        webhook_check::check(&self.sfn, &outputs.state_machine_arn, self.endpoint, &probe).await
    }

    async fn submit_through_api(
        &self,
        outputs: &StackOutputs,
        job: &JobRequest,
    ) -> Result<ApiSubmit> {
        let (signer, _) = match self.stage_access(outputs).await? {
            Ok(access) => access,
            Err(why) => return Ok(ApiSubmit::Skipped(why)),
        };
        let (url, job) = (outputs.api_url.clone(), job.clone());
        let submitted = tokio::task::spawn_blocking(move || {
            let agent = signed_api::agent();
            live_check::submit_signed(&agent, &signer, &url, &job, std::time::SystemTime::now())
        })
        .await
        .map_err(|e| crate::Error::failed(format!("submitting through the API: {e}")))??;
        Ok(ApiSubmit::Submitted(submitted))
    }
}

impl AwsBackend {
    /// The signer and the API's id, or why the stage cannot be called from here: an
    /// emulator's stacks have stage URLs on AWS that nothing serves.
    async fn stage_access(
        &self,
        outputs: &StackOutputs,
    ) -> Result<std::result::Result<(signed_api::Signer, String), String>> {
        if let Some(endpoint) = self.sdk.endpoint_url() {
            return Ok(Err(format!(
                "the stage is not called with a custom endpoint ({endpoint}): its URL {} is on AWS",
                outputs.api_url
            )));
        }
        let Some(api_id) = api_check::rest_api_id(&outputs.api_url) else {
            return Ok(Err(format!(
                "{} is not an API Gateway URL",
                outputs.api_url
            )));
        };
        Ok(Ok((live_check::signer_of(&self.sdk).await?, api_id)))
    }
}
