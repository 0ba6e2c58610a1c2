//! `waitable receive`: print what the stack's queue holds, then delete it (unless `--keep`).
//!
//! Printed first, deleted after: a crash in between leaves the messages in the queue (they
//! come back after the visibility timeout), never lost.

use std::io::Write;

use anyhow::Context;

use crate::Result;
use crate::backend::Backend;
use crate::config::Config;
use crate::request::ReceiveRequest;
use waitable_core::delivery::received::{self, Received};

pub async fn run<B: Backend>(
    backend: &B,
    request: &ReceiveRequest,
    config: &Config,
    out: &mut impl Write,
) -> Result<Vec<Received>> {
    let messages = backend.receive(request.max, request.wait).await?;
    if config.json() {
        received::write_json(&messages, out).context("writing the messages")?;
    } else {
        received::write_table(&messages, out).context("writing the messages")?;
    }
    out.flush().context("writing the messages")?;
    if !request.keep && !messages.is_empty() {
        let handles: Vec<String> = messages.iter().map(|m| m.handle.clone()).collect();
        let deleted = backend.delete_received(&handles).await?;
        if let Some(note) = not_deleted(messages.len(), deleted) {
            config.ui.warn(note);
        }
    }
    Ok(messages)
}

/// What to say when the delete removed fewer messages than were printed.
fn not_deleted(printed: usize, deleted: usize) -> Option<String> {
    (deleted < printed).then(|| {
        let left = printed - deleted;
        format!(
            "{left} of the {printed} messages printed {} not deleted: {} visibility ran out before the delete, so {} will be received again",
            if left == 1 { "was" } else { "were" },
            if left == 1 { "its" } else { "their" },
            if left == 1 { "it" } else { "they" },
        )
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::commands::fake::Fake;

    fn config(json: bool) -> Config {
        Config {
            output: if json {
                crate::cli::OutputFormat::Json
            } else {
                crate::cli::OutputFormat::Table
            },
            ..Fake::config()
        }
    }

    fn request(max: usize, keep: bool) -> ReceiveRequest {
        ReceiveRequest {
            max,
            wait: Duration::ZERO,
            keep,
        }
    }

    fn fake() -> Fake {
        Fake {
            held: (0..3)
                .map(|i| Received {
                    body: format!(r#"{{"Id":"j{i}"}}"#),
                    handle: format!("h{i}"),
                })
                .collect(),
            ..Fake::default()
        }
    }

    #[tokio::test]
    async fn prints_then_deletes_what_it_printed_unless_keep() {
        let backend = fake();
        let mut out = Vec::new();
        let got = run(&backend, &request(2, false), &config(true), &mut out)
            .await
            .unwrap();
        assert_eq!(got.len(), 2);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v[1]["Id"], "j1");
        assert_eq!(backend.calls(), ["receive 2", "delete h0 h1"]);

        let backend = fake();
        run(
            &backend,
            &request(10, true),
            &config(false),
            &mut Vec::new(),
        )
        .await
        .unwrap();
        assert_eq!(backend.calls(), ["receive 10"]);
    }

    #[tokio::test]
    async fn a_delete_that_removes_fewer_than_printed_says_so() {
        let backend = Fake {
            expired: vec!["h1"],
            ..fake()
        };
        run(&backend, &request(3, false), &config(true), &mut Vec::new())
            .await
            .unwrap();
        assert_eq!(backend.calls(), ["receive 3", "delete h0 h1 h2"]);
        assert_eq!(not_deleted(3, 3), None);
        let note = not_deleted(3, 2).unwrap();
        assert!(
            note.starts_with("1 of the 3 messages printed was not deleted"),
            "{note}"
        );
        assert!(note.contains("received again"), "{note}");
    }
}
