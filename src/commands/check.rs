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
use super::receive::{Inbox, LocalInbox, SqsInbox};
use crate::Result;
use crate::backend::{ApiCheck, Backend, LiveCheck};
use crate::cli::{CheckArgs, Target};
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
    if args.canary {
        let legs = run_canary(backend, &outputs, config, &mut |leg| {
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
    config: &Config,
    report: &mut dyn FnMut(&Leg) -> Result<()>,
) -> Result<Vec<Leg>> {
    let has_queue = backend.deliveries().await?.has("queue");
    let timing = Timing::DEFAULT;
    match (config.target, has_queue) {
        (Target::Aws, true) => {
            let inbox = SqsInbox::connect(config).await?;
            canary::run(backend, outputs, Some(&inbox), &timing, report).await
        }
        (Target::Local, true) => {
            let inbox = LocalInbox::open(config).await?;
            canary::run(backend, outputs, Some(&inbox), &timing, report).await
        }
        (_, false) => canary::run(backend, outputs, None::<&NoInbox>, &timing, report).await,
    }
}

/// The inbox of a stack without a queue: never asked.
struct NoInbox;

impl Inbox for NoInbox {
    async fn receive(
        &self,
        _max: usize,
        _wait: std::time::Duration,
    ) -> Result<Vec<waitable_core::delivery::received::Received>> {
        Ok(Vec::new())
    }

    async fn delete(&self, _handles: &[String]) -> Result<()> {
        Ok(())
    }
}
