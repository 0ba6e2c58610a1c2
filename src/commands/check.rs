//! `waitable check`: checks the deployed stack on its own (the check `deploy` ends with on the
//! aws target). Prints `API check: ok` or `API check skipped: …` on stdout; a failure is an
//! error naming API Gateway's log line (exit 1).
//!
//! The plain check uses TestInvokeMethod, which runs the API's resources without IAM
//! authorization and without the deployed stage. `--live` calls the stage itself with signed
//! requests; `--canary` runs one real job end to end ([`super::canary`]).

use std::io::Write;

use serde_json::json;

use super::canary::{self, Leg, Timing};
use crate::Result;
use crate::backend::{ApiCheck, Backend, LiveCheck};
use crate::cli::CheckArgs;
use crate::config::Config;
use waitable_core::outputs::StackOutputs;

/// Why the local target has nothing to check this way.
pub const LOCAL_SKIP: &str = "the local target has no API Gateway to test (its API is the engine)";

pub async fn run<B: Backend>(
    backend: &B,
    args: &CheckArgs,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let outputs = backend.outputs().await?;
    let check = backend
        .check_api(&outputs)
        .await?
        .unwrap_or_else(|| ApiCheck::Skipped(LOCAL_SKIP.to_string()));
    let mut doc = match &check {
        ApiCheck::Ok => json!({ "apiCheck": "ok" }),
        ApiCheck::Skipped(why) => json!({ "apiCheck": "skipped", "reason": why }),
    };
    let json = config.json();
    if !json {
        writeln!(out, "{check}")?;
    }
    if args.live {
        let live = backend.check_live(&outputs).await?;
        doc["live"] = match &live {
            LiveCheck::Passed(probes) => json!({ "result": "ok", "probes": probes }),
            LiveCheck::Skipped(why) => json!({ "result": "skipped", "reason": why }),
        };
        if !json {
            match &live {
                LiveCheck::Passed(probes) => {
                    for probe in probes {
                        writeln!(out, "{probe}")?;
                    }
                }
                LiveCheck::Skipped(why) => writeln!(out, "live check skipped: {why}")?,
            }
        }
    }
    if args.webhook {
        let webhook = backend.check_webhook(&outputs).await?;
        doc["webhook"] = serde_json::to_value(&webhook)?;
        if !json {
            writeln!(out, "{webhook}")?;
        }
    }
    if args.canary {
        let legs = run_canary(backend, &outputs, &mut |leg| {
            if !json {
                writeln!(out, "{leg}")?;
            }
            Ok(())
        })
        .await?;
        doc["canary"] = serde_json::to_value(&legs)?;
    }
    if json {
        writeln!(out, "{doc}")?;
    }
    Ok(())
}

/// The canary on this stack, with the stack's queue as its inbox when it has one.
pub async fn run_canary<B: Backend>(
    backend: &B,
    outputs: &StackOutputs,
    report: &mut dyn FnMut(&Leg) -> Result<()>,
) -> Result<Vec<Leg>> {
    let has_queue = backend.deliveries().await?.has("queue");
    canary::run(backend, outputs, has_queue, &Timing::DEFAULT, report).await
}
