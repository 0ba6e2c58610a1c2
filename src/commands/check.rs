//! `waitable check`: checks the deployed stack's live API on its own (the check `deploy` ends
//! with on the aws target). Prints `API check: ok` or `API check skipped: …` on stdout; a
//! failure is an error naming API Gateway's log line (exit 1).

use std::io::Write;

use serde_json::json;

use crate::Result;
use crate::backend::{ApiCheck, Backend};
use crate::config::Config;

/// Why the local target has nothing to check this way.
pub const LOCAL_SKIP: &str = "the local target has no API Gateway to test (its API is the engine)";

pub async fn run<B: Backend>(backend: &B, config: &Config, out: &mut impl Write) -> Result<()> {
    let outputs = backend.outputs().await?;
    let check = backend
        .check_api(&outputs)
        .await?
        .unwrap_or_else(|| ApiCheck::Skipped(LOCAL_SKIP.to_string()));
    if config.json() {
        let doc = match &check {
            ApiCheck::Ok => json!({ "apiCheck": "ok" }),
            ApiCheck::Skipped(why) => json!({ "apiCheck": "skipped", "reason": why }),
        };
        writeln!(out, "{doc}")?;
    } else {
        writeln!(out, "{check}")?;
    }
    Ok(())
}
