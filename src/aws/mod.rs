//! The `aws` target: the stack in an AWS account (or an emulator at `--endpoint-url`).
//!
//! Clients are built once from one `SdkConfig` and passed by reference into the functions
//! that call them.

pub mod jobs;

use crate::backend::{Backend, Cancelled, DeployRequest, DestroyReport, JobQuery};
use crate::config::Config;
use crate::core::job::{JobRecord, JobRequest, Submitted};
use crate::core::outputs::StackOutputs;
use crate::{Error, Result};

/// The AWS clients for one stack.
pub struct AwsBackend {
    pub stack_name: String,
    pub cfn: aws_sdk_cloudformation::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub ddb: aws_sdk_dynamodb::Client,
}

impl AwsBackend {
    /// Builds the clients from the standard AWS chain and the `--profile`, `--region` and
    /// `--endpoint-url` flags.
    pub async fn connect(_config: &Config) -> Result<Self> {
        Err(Error::failed("the aws target is not built yet"))
    }
}

impl Backend for AwsBackend {
    async fn deploy(&self, _request: &DeployRequest) -> Result<StackOutputs> {
        Err(Error::failed("not built yet"))
    }

    async fn outputs(&self) -> Result<StackOutputs> {
        Err(Error::failed("not built yet"))
    }

    async fn submit(&self, _job: &JobRequest) -> Result<Submitted> {
        Err(Error::failed("not built yet"))
    }

    async fn jobs(
        &self,
        _query: &JobQuery,
        _sink: &mut (dyn FnMut(JobRecord) -> Result<()> + Send),
    ) -> Result<()> {
        Err(Error::failed("not built yet"))
    }

    async fn cancel(&self, _id: &str) -> Result<Cancelled> {
        Err(Error::failed("not built yet"))
    }

    async fn destroy(&self) -> Result<DestroyReport> {
        Err(Error::failed("not built yet"))
    }
}
