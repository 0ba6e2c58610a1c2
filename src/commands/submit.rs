//! `waitable submit` (issue #4).

use crate::backend::Backend;
use crate::cli::SubmitArgs;
use crate::config::Config;
use crate::{Error, Result};

pub async fn run<B: Backend>(
    _backend: &B,
    _args: &SubmitArgs,
    _config: &Config,
    _out: &mut impl std::io::Write,
) -> Result<()> {
    Err(Error::failed("waitable submit is not built yet"))
}
