//! `waitable destroy` (issue #3).

use crate::backend::Backend;
use crate::config::Config;
use crate::{Error, Result};

pub async fn run<B: Backend>(
    _backend: &B,
    _config: &Config,
    _out: &mut impl std::io::Write,
) -> Result<()> {
    Err(Error::failed("waitable destroy is not built yet"))
}
