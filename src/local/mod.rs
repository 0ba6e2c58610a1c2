//! The `local` target: the same generated stack on this machine (issue #5).

pub mod asl;
pub mod ddb;
pub mod engine;
pub mod records;
pub mod store;

use crate::backend::{Backend, Cancelled, DeployRequest, DestroyReport, JobQuery};
use crate::config::Config;
use crate::core::job::{JobRecord, JobRequest, Submitted};
use crate::core::outputs::StackOutputs;
use crate::{Error, Result};

/// The local stack: its state directory and engine.
pub struct LocalBackend {
    pub stack_name: String,
}

impl LocalBackend {
    /// Builds the clients from the standard AWS chain and the `--profile`, `--region` and
    /// `--endpoint-url` flags.
    pub fn open(_config: &Config) -> Result<Self> {
        Err(Error::failed("the local target is not built yet"))
    }
}

impl Backend for LocalBackend {
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
