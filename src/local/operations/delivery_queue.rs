//! The local stack's delivery queue, read through the engine (what `receive` gets here).

use std::time::Duration;

use super::LocalBackend;
use crate::backend::Backend;
use crate::poll::{Schedule, Step, poll_within};
use crate::{Error, Result};
use waitable_core::delivery::received::Received;

impl LocalBackend {
    /// Up to `max` messages, polling the engine up to `wait` for the first. A stack deployed
    /// without `--deliver queue` is refused before anything is read.
    pub(super) async fn receive_messages(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Received>> {
        if !self.dir().exists() {
            return Err(self.not_deployed());
        }
        if !self.deliveries().await?.has("queue") {
            return Err(Error::failed(format!(
                "stack {} has no delivery queue: deploy it with --deliver queue",
                self.stack_name
            )));
        }
        let schedule = Schedule::every(Duration::from_millis(100));
        let got = poll_within(&schedule, wait, async || {
            let batch = self.queue_receive(max).await?;
            Ok(if batch.is_empty() {
                Step::Pending
            } else {
                Step::Done(batch)
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
}

impl LocalBackend {
    /// Takes up to `max` visible messages of the stack's delivery queue (no wait).
    /// The engine hands out at most [`RECEIVE_PAGE`] at a time: more are read page after page
    /// until `max` or the queue is empty.
    pub async fn queue_receive(
        &self,
        max: usize,
    ) -> Result<Vec<super::super::engine::QueueMessage>> {
        let mut got = Vec::new();
        while got.len() < max {
            let want = (max - got.len()).min(RECEIVE_PAGE);
            let page: Vec<super::super::engine::QueueMessage> = self
                .call_typed(
                    "POST",
                    super::super::protocol::QUEUE_RECEIVE,
                    Some(&super::super::protocol::QueueReceive { max: want }),
                )
                .await?;
            let last = page.len() < want;
            got.extend(page);
            if last {
                break;
            }
        }
        Ok(got)
    }

    /// Deletes received messages of the delivery queue.
    pub async fn queue_delete(&self, handles: &[String]) -> Result<usize> {
        let answer: serde_json::Value = self
            .call_typed(
                "POST",
                super::super::protocol::QUEUE_DELETE,
                Some(&super::super::protocol::QueueDelete {
                    handles: handles.to_vec(),
                }),
            )
            .await?;
        Ok(answer["deleted"].as_u64().unwrap_or(0) as usize)
    }
}

/// The most messages one receive call to the engine hands out.
const RECEIVE_PAGE: usize = 1000;
