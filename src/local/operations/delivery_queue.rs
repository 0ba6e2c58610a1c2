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
