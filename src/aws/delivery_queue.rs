//! The stack's delivery queue on the aws target: SQS ReceiveMessage and DeleteMessageBatch.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;

use super::sdk;
use crate::{Error, Result};
use waitable_core::delivery::DELIVERY_QUEUE;
use waitable_core::delivery::received::Received;

/// SQS hands out at most 10 messages per call and long-polls at most 20 s.
const MAX_PER_CALL: usize = 10;
const MAX_LONG_POLL: Duration = Duration::from_secs(20);

/// The queue's URL: the physical ID of the stack's `DeliveryQueue` (from ListStackResources,
/// which every endpoint answers; moto fails DescribeStackResource on some stacks).
pub async fn queue_url(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Result<String> {
    let mut pages = cfn
        .list_stack_resources()
        .stack_name(stack)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = pages.next().await {
        let r = item.map_err(|e| sdk::failed("looking up the stack's delivery queue", &e))?;
        if r.logical_resource_id() == Some(DELIVERY_QUEUE) {
            return r
                .physical_resource_id()
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .ok_or_else(|| {
                    Error::failed(format!(
                        "stack {stack}: its delivery queue is not created yet"
                    ))
                });
        }
    }
    Err(Error::failed(format!(
        "stack {stack} has no delivery queue: deploy it with --deliver queue"
    )))
}

/// Receives up to `max` messages, long-polling up to `wait` for the first ones; once some
/// have arrived, stops at the first empty answer.
pub async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    max: usize,
    wait: Duration,
) -> Result<Vec<Received>> {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    while got.len() < max {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .min(MAX_LONG_POLL);
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages((max - got.len()).min(MAX_PER_CALL) as i32)
            .wait_time_seconds(left.as_secs() as i32)
            .send()
            .await
            .map_err(|e| sdk::failed("receiving from the delivery queue", &e))?;
        let batch = out.messages();
        if batch.is_empty() && (!got.is_empty() || Instant::now() >= deadline) {
            break;
        }
        got.extend(batch.iter().filter_map(|m| {
            Some(Received {
                body: m.body()?.to_string(),
                handle: m.receipt_handle()?.to_string(),
            })
        }));
    }
    Ok(got)
}

/// Deletes the messages of `handles`, ten per call; answers how many SQS took. A handle SQS
/// refuses as invalid is not deleted: its message comes again. Any other refusal is an error.
///
/// The count is at most what was deleted, not exactly: SQS answers a handle from an earlier
/// receive of a message that was received again with success, though "the message might not
/// be deleted" (DeleteMessage, Amazon SQS API Reference). No call tells that case apart; the
/// local queue, stricter, refuses such a handle and counts it.
pub async fn delete(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    handles: &[String],
) -> Result<usize> {
    let mut deleted = 0;
    for chunk in handles.chunks(MAX_PER_CALL) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, h)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .build()
                    .map_err(|e| Error::failed(format!("deleting a message: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let out = sqs
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| sdk::failed("deleting received messages", &e))?;
        if let Some(f) = out
            .failed()
            .iter()
            .find(|f| f.code() != "ReceiptHandleIsInvalid")
        {
            return Err(Error::failed(format!(
                "deleting received messages: {} ({})",
                f.message().unwrap_or_default(),
                f.code()
            )));
        }
        deleted += out.successful().len();
    }
    Ok(deleted)
}
