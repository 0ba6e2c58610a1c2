//! `waitable local run`: the local engine in the foreground (deploy starts the same engine in
//! the background). A stack that was never deployed is deployed from the synthesised template.

use crate::Result;
use crate::cli::LocalRunArgs;
use crate::config::Config;
use crate::core::template;
use crate::local::{LocalBackend, host};

pub async fn run(args: &LocalRunArgs, config: &Config) -> Result<()> {
    let backend = LocalBackend::open(&config.stack_name, config.ui)?;
    let dir = backend.dir();
    if !dir.exists() {
        backend.prepare(&template::template(template::StackOptions::default()))?;
    }
    host::run(&dir, args.port, &config.ui).await
}
