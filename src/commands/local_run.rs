//! `waitable local run` (issue #5).

use crate::cli::LocalRunArgs;
use crate::config::Config;
use crate::{Error, Result};

pub async fn run(_args: &LocalRunArgs, _config: &Config) -> Result<()> {
    Err(Error::failed("waitable local run is not built yet"))
}
