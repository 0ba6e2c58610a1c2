//! `waitable status` (issue #4).

use crate::backend::Backend;
use crate::cli::StatusArgs;
use crate::config::Config;
use crate::{Error, Result};

pub async fn run<B: Backend>(
    _backend: &B,
    _args: &StatusArgs,
    _config: &Config,
    _out: &mut impl std::io::Write,
) -> Result<()> {
    Err(Error::failed("waitable status is not built yet"))
}
