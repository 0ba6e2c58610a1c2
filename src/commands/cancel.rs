//! `waitable cancel` (issue #4).

use crate::backend::Backend;
use crate::cli::CancelArgs;
use crate::config::Config;
use crate::{Error, Result};

pub async fn run<B: Backend>(
    _backend: &B,
    _args: &CancelArgs,
    _config: &Config,
    _out: &mut impl std::io::Write,
) -> Result<()> {
    Err(Error::failed("waitable cancel is not built yet"))
}
