//! `waitable receive`: print what the stack's queue holds, then delete it (unless `--keep`).
//!
//! Printed first, deleted after: a crash in between leaves the messages in the queue (they
//! come back after the visibility timeout), never lost.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;

use crate::cli::ReceiveArgs;
use crate::config::Config;
use crate::{Error, Result};
use waitable_core::delivery::received::{self, Received};

/// The stack's queue on one target.
#[allow(async_fn_in_trait)]
pub trait Inbox {
    /// Up to `max` messages, waiting up to `wait` for the first.
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Received>>;
    /// Deletes messages by their handles.
    async fn delete(&self, handles: &[String]) -> Result<()>;
}

/// The most `--max` may ask for in one run.
pub const MAX_MESSAGES: usize = 10_000;
/// The longest `--wait`.
pub const MAX_WAIT_SECONDS: u64 = 3_600;

pub fn check(args: &ReceiveArgs) -> Result<()> {
    if args.max == 0 || args.max > MAX_MESSAGES {
        return Err(Error::usage(format!(
            "--max must be between 1 and {MAX_MESSAGES}"
        )));
    }
    if args.wait > MAX_WAIT_SECONDS {
        return Err(Error::usage(format!(
            "--wait must be at most {MAX_WAIT_SECONDS} seconds"
        )));
    }
    Ok(())
}

pub async fn run<I: Inbox>(
    inbox: &I,
    args: &ReceiveArgs,
    config: &Config,
    out: &mut impl Write,
) -> Result<Vec<Received>> {
    check(args)?;
    let messages = inbox
        .receive(args.max, Duration::from_secs(args.wait))
        .await?;
    if config.json() {
        received::write_json(&messages, out).context("writing the messages")?;
    } else {
        received::write_table(&messages, out).context("writing the messages")?;
    }
    out.flush().context("writing the messages")?;
    if !args.keep && !messages.is_empty() {
        let handles: Vec<String> = messages.iter().map(|m| m.handle.clone()).collect();
        inbox.delete(&handles).await?;
    }
    Ok(messages)
}

/// The aws target's inbox: the stack's SQS queue.
pub struct SqsInbox {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl SqsInbox {
    pub async fn connect(config: &Config) -> Result<Self> {
        let sdk = crate::aws::sdk::load(&config.aws).await?;
        let cfn = aws_sdk_cloudformation::Client::new(&sdk);
        let queue_url = crate::aws::receive::queue_url(&cfn, &config.stack_name).await?;
        Ok(SqsInbox {
            sqs: aws_sdk_sqs::Client::new(&sdk),
            queue_url,
        })
    }
}

impl Inbox for SqsInbox {
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Received>> {
        crate::aws::receive::receive(&self.sqs, &self.queue_url, max, wait).await
    }

    async fn delete(&self, handles: &[String]) -> Result<()> {
        crate::aws::receive::delete(&self.sqs, &self.queue_url, handles).await
    }
}

/// The local target's inbox: the queue in the stack's database, through the engine. A stack
/// deployed without `--deliver queue` is refused before anything is read.
pub struct LocalInbox {
    pub backend: crate::local::LocalBackend,
}

impl LocalInbox {
    pub async fn open(config: &Config) -> Result<Self> {
        use crate::backend::Backend;
        let backend = crate::local::LocalBackend::open(&config.stack_name, config.ui)?;
        if !backend.deliveries().await?.has("queue") {
            return Err(Error::failed(format!(
                "stack {} has no delivery queue: deploy it with --deliver queue",
                config.stack_name
            )));
        }
        Ok(LocalInbox { backend })
    }
}

impl Inbox for LocalInbox {
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Received>> {
        let schedule = crate::poll::Schedule::every(Duration::from_millis(100));
        let got = crate::poll::poll_within(&schedule, wait, async || {
            let batch = self.backend.queue_receive(max).await?;
            Ok(if batch.is_empty() {
                crate::poll::Step::Pending
            } else {
                crate::poll::Step::Done(batch)
            })
        })
        .await?
        .unwrap_or_default();
        Ok(got
            .into_iter()
            .map(|m| Received {
                body: m.body,
                handle: m.handle,
            })
            .collect())
    }

    async fn delete(&self, handles: &[String]) -> Result<()> {
        self.backend.queue_delete(handles).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::cli::{GlobalArgs, OutputFormat};

    struct Fake {
        held: Vec<Received>,
        deleted: Mutex<Vec<String>>,
    }

    impl Inbox for Fake {
        async fn receive(&self, max: usize, _wait: Duration) -> Result<Vec<Received>> {
            Ok(self.held.iter().take(max).cloned().collect())
        }
        async fn delete(&self, handles: &[String]) -> Result<()> {
            self.deleted.lock().unwrap().extend_from_slice(handles);
            Ok(())
        }
    }

    fn config(json: bool) -> Config {
        let mut g = GlobalArgs {
            stack_name: "s".into(),
            target: crate::cli::Target::Local,
            aws: Default::default(),
            output: OutputFormat::Table,
            quiet: true,
            yes: false,
            tz: None,
            local: false,
        };
        if json {
            g.output = OutputFormat::Json;
        }
        Config::from_cli(&g).unwrap()
    }

    fn args(max: usize, keep: bool) -> ReceiveArgs {
        ReceiveArgs { max, wait: 0, keep }
    }

    fn fake() -> Fake {
        Fake {
            held: (0..3)
                .map(|i| Received {
                    body: format!(r#"{{"Id":"j{i}"}}"#),
                    handle: format!("h{i}"),
                })
                .collect(),
            deleted: Mutex::new(vec![]),
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn prints_then_deletes_what_it_printed_unless_keep() {
        let inbox = fake();
        let mut out = Vec::new();
        let got = block_on(run(&inbox, &args(2, false), &config(true), &mut out)).unwrap();
        assert_eq!(got.len(), 2);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v[1]["Id"], "j1");
        assert_eq!(*inbox.deleted.lock().unwrap(), ["h0", "h1"]);

        let inbox = fake();
        block_on(run(
            &inbox,
            &args(10, true),
            &config(false),
            &mut Vec::new(),
        ))
        .unwrap();
        assert!(inbox.deleted.lock().unwrap().is_empty());
    }

    #[test]
    fn bad_limits_are_usage_errors_before_anything_is_received() {
        for a in [args(0, false), args(MAX_MESSAGES + 1, false)] {
            let err = block_on(run(&fake(), &a, &config(false), &mut Vec::new())).unwrap_err();
            assert_eq!(err.exit_code(), 2);
        }
    }
}
