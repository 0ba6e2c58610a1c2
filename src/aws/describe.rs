//! Reading a stack: the stack itself (status, id) and its events. The primitives every other
//! stack module builds on; this module imports none of them.

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
use aws_sdk_cloudformation::types::Stack;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::sdk;
use crate::output::Ui;
use crate::poll::{Schedule, Step};
use crate::{Error, Result};
use waitable_core::stack_status::ResourceEvent;

/// One stack and what acting on it needs.
pub struct StackCtx<'a> {
    pub cfn: &'a Client,
    pub name: &'a str,
    pub ui: &'a Ui,
    pub schedule: &'a Schedule,
}

pub(super) fn status_of(stack: &Stack) -> &str {
    stack.stack_status().map(|s| s.as_str()).unwrap_or("")
}

pub(super) fn id_of(stack: &Stack) -> Result<String> {
    stack
        .stack_id()
        .map(str::to_string)
        .ok_or_else(|| Error::failed("CloudFormation returned a stack without an id"))
}

/// The stack with this name or id, or `None` when there is none.
pub async fn describe(cfn: &Client, name_or_id: &str) -> Result<Option<Stack>> {
    describe_raw(cfn, name_or_id)
        .await
        .map_err(|err| sdk::failed(&format!("describing stack {name_or_id}"), &err))
}

/// [`describe`] for use inside a poll: transient failures become [`Step::Retry`].
pub(super) async fn describe_step(cfn: &Client, name_or_id: &str) -> Result<Step<Option<Stack>>> {
    match describe_raw(cfn, name_or_id).await {
        Ok(stack) => Ok(Step::Done(stack)),
        Err(err) => sdk::retry_or_fail(&format!("describing stack {name_or_id}"), &err),
    }
}

async fn describe_raw(
    cfn: &Client,
    name_or_id: &str,
) -> std::result::Result<Option<Stack>, SdkError<DescribeStacksError, HttpResponse>> {
    match cfn.describe_stacks().stack_name(name_or_id).send().await {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(err) if sdk::is_not_found(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The id of the stack's newest event: events after it belong to the operation about to start.
pub(super) async fn newest_event_id(cfn: &Client, stack_id: &str) -> Result<Option<String>> {
    let out = cfn
        .describe_stack_events()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| sdk::failed("reading stack events", &e))?;
    Ok(out
        .stack_events()
        .first()
        .and_then(|e| e.event_id())
        .map(str::to_string))
}

/// Events newer than `after`, oldest first (all of them when `after` is `None`).
pub(super) async fn events_since(
    cfn: &Client,
    stack_id: &str,
    after: Option<&str>,
) -> Result<Step<Vec<ResourceEvent>>> {
    let mut newest_first = Vec::new();
    let mut next: Option<String> = None;
    'pages: loop {
        let out = match cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .set_next_token(next.take())
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) => return sdk::retry_or_fail("reading stack events", &err),
        };
        for e in out.stack_events() {
            let id = e.event_id().unwrap_or_default();
            if after == Some(id) {
                break 'pages;
            }
            newest_first.push(ResourceEvent {
                event_id: id.to_string(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: e.resource_type().unwrap_or_default().to_string(),
                status: e
                    .resource_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: e.resource_status_reason().map(str::to_string),
            });
        }
        match out.next_token() {
            Some(token) => next = Some(token.to_string()),
            None => break,
        }
    }
    newest_first.reverse();
    Ok(Step::Done(newest_first))
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::types::StackStatus;

    #[test]
    fn the_sdk_knows_no_stack_status_the_classifier_does_not() {
        use waitable_core::stack_status::ALL_STACK_STATUSES;
        for status in StackStatus::values() {
            assert!(ALL_STACK_STATUSES.contains(status), "{status} is new");
        }
    }
}
