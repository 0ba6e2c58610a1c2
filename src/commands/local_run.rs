//! `waitable local run`: the local engine in the foreground (deploy starts the same engine in
//! the background). A stack that was never deployed is deployed from the synthesised template.

use crate::Result;
use crate::cli::LocalRunArgs;
use crate::config::Config;
use crate::local::{LocalBackend, host};
use waitable_core::template;

pub async fn run(args: &LocalRunArgs, config: &Config) -> Result<()> {
    let backend = LocalBackend::open(config.stack_name.as_str(), config.ui)?;
    let dir = backend.dir();
    // The asked port first: if it is taken, nothing is written.
    let listen = match host::bind(args.port).await? {
        Some(listener) => host::Listen::Bound(listener),
        None => host::Listen::Port(0),
    };
    if !dir.exists() {
        let _lock = dir.lock_deploy()?;
        if !dir.exists() {
            backend.prepare(&template::template(&template::StackSpec::default()))?;
        }
    }
    config.ui.info(hint(config.stack_name.as_str()));
    host::run(&dir, listen, &config.ui).await
}

/// Which stack and target this engine runs, and how other commands reach it (the aws target
/// is their default).
fn hint(stack: &str) -> String {
    format!(
        "running stack {stack} on the local target: other commands reach it with --target local --stack-name {stack} (or WAITABLE_TARGET=local WAITABLE_STACK={stack}), e.g. waitable --target local --stack-name {stack} status"
    )
}
