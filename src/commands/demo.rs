//! `waitable demo` (issue #5).

use crate::config::Config;
use crate::{Error, Result};

pub async fn run(_config: &Config) -> Result<()> {
    Err(Error::failed("waitable demo is not built yet"))
}
