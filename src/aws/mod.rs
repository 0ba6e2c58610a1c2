//! The `aws` target: the stack in an AWS account (or an emulator at `--endpoint-url`).
//!
//! Clients are built once from one `SdkConfig` and passed by reference into the functions
//! that call them.

pub mod jobs;

use aws_config::BehaviorVersion;
use aws_types::region::Region;

use crate::backend::{Backend, Cancelled, DeployRequest, DestroyReport, JobQuery};
use crate::config::Config;
use crate::core::ids::{OUTPUT_API_URL, OUTPUT_STATE_MACHINE_ARN, OUTPUT_TABLE_NAME};
use crate::core::job::{JobRecord, JobRequest, Submitted};
use crate::core::outputs::StackOutputs;
use crate::{Error, Result};

/// The AWS clients for one stack.
pub struct AwsBackend {
    pub stack_name: String,
    pub cfn: aws_sdk_cloudformation::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    /// The stack's outputs, looked up once per run (a batch submit needs them 2,000 times).
    stack: tokio::sync::OnceCell<StackOutputs>,
}

impl AwsBackend {
    /// The backend for `stack_name`, with clients built from one `SdkConfig`.
    pub fn new(stack_name: &str, sdk: &aws_types::SdkConfig) -> Self {
        AwsBackend {
            stack_name: stack_name.to_string(),
            cfn: aws_sdk_cloudformation::Client::new(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
            ddb: aws_sdk_dynamodb::Client::new(sdk),
            stack: tokio::sync::OnceCell::new(),
        }
    }

    // STAND-IN (issue #4) until the deploy helper's `connect` lands: builds the clients from
    // the standard AWS chain and the `--profile`, `--region` and `--endpoint-url` flags.
    pub async fn connect(config: &Config) -> Result<Self> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &config.aws.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &config.aws.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &config.aws.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            return Err(Error::usage(
                "no AWS region: set AWS_REGION, a region in your profile, or pass --region",
            ));
        }
        Ok(Self::new(&config.stack_name, &sdk))
    }

    /// The stack's outputs, fetched on first use.
    async fn stack(&self) -> Result<&StackOutputs> {
        self.stack.get_or_try_init(|| self.outputs()).await
    }
}

impl Backend for AwsBackend {
    async fn deploy(&self, _request: &DeployRequest) -> Result<StackOutputs> {
        Err(Error::failed("not built yet"))
    }

    // STAND-IN (issue #4) until the deploy helper's `outputs` lands: DescribeStacks outputs.
    async fn outputs(&self) -> Result<StackOutputs> {
        let described = self
            .cfn
            .describe_stacks()
            .stack_name(&self.stack_name)
            .send()
            .await
            .map_err(|e| {
                jobs::sdk_failure(
                    e,
                    format!(
                        "reading stack {:?} (deploy it with `waitable deploy`)",
                        self.stack_name
                    ),
                )
            })?;
        let outputs = described
            .stacks()
            .first()
            .map(|s| s.outputs())
            .unwrap_or_default();
        let get = |key: &str| {
            outputs
                .iter()
                .find(|o| o.output_key() == Some(key))
                .and_then(|o| o.output_value())
                .map(str::to_string)
                .ok_or_else(|| {
                    Error::failed(format!(
                        "stack {:?} has no {key} output: is it a waitable stack, fully deployed?",
                        self.stack_name
                    ))
                })
        };
        Ok(StackOutputs {
            api_url: get(OUTPUT_API_URL)?,
            state_machine_arn: get(OUTPUT_STATE_MACHINE_ARN)?,
            table_name: get(OUTPUT_TABLE_NAME)?,
        })
    }

    async fn submit(&self, job: &JobRequest) -> Result<Submitted> {
        let stack = self.stack().await?;
        jobs::submit(&self.sfn, &stack.state_machine_arn, job).await
    }

    async fn jobs(
        &self,
        query: &JobQuery,
        sink: &mut (dyn FnMut(JobRecord) -> Result<()> + Send),
    ) -> Result<()> {
        let stack = self.stack().await?;
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
        let stack = self.stack().await?;
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
        Err(Error::failed("not built yet"))
    }
}
