//! `waitable deploy` (issue #3).

use crate::backend::Backend;
use crate::cli::DeployArgs;
use crate::config::Config;
use crate::{Error, Result};

pub async fn run<B: Backend>(
    _backend: &B,
    _args: &DeployArgs,
    _config: &Config,
    _out: &mut impl std::io::Write,
) -> Result<()> {
    Err(Error::failed("waitable deploy is not built yet"))
}
