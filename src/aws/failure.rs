//! Why a stack operation failed, in words a person can act on: the first failing resource
//! first, and for a stack CloudFormation could not roll back, the way out.

use aws_sdk_cloudformation::types::Stack;

use super::describe::{StackCtx, status_of};
use crate::Error;
use waitable_core::stack_status::{
    ResourceEvent, StatusClass, cause_line, classify, failure_causes,
};

/// Explains a failed create, update or delete: the first cause first, then the others.
pub(super) async fn failure(
    ctx: &StackCtx<'_>,
    stack: &Stack,
    events: &[ResourceEvent],
    verb: &str,
) -> Error {
    let status = status_of(stack);
    if status == "UPDATE_ROLLBACK_FAILED" {
        return update_rollback_failed(ctx, stack).await;
    }
    let outcome = match classify(status) {
        StatusClass::RolledBack => "failed and was rolled back",
        _ => "failed",
    };
    let mut msg = format!("{verb} stack {} {outcome} ({status})", ctx.name);
    let causes = failure_causes(events);
    if causes.is_empty() {
        if let Some(reason) = stack.stack_status_reason() {
            msg.push_str(&format!(": {reason}"));
        }
    } else {
        msg.push_str("; first cause first:");
        for cause in causes {
            msg.push('\n');
            msg.push_str(&cause_line(cause));
        }
    }
    if status == "ROLLBACK_COMPLETE" {
        msg.push_str("\nthe next deploy deletes the rolled-back stack and creates it again");
    }
    Error::failed(msg)
}

/// The message for a stack CloudFormation could not roll back: which resources, and the way out.
pub(super) async fn update_rollback_failed(ctx: &StackCtx<'_>, stack: &Stack) -> Error {
    let mut failed: Vec<(String, String, String)> = Vec::new();
    let mut pages = ctx
        .cfn
        .list_stack_resources()
        .stack_name(stack.stack_id().unwrap_or(ctx.name))
        .into_paginator()
        .items()
        .send();
    while let Some(item) = pages.next().await {
        let Ok(r) = item else { break };
        let status = r.resource_status().map(|s| s.as_str()).unwrap_or("");
        if classify(status) == StatusClass::Failed {
            failed.push((
                r.logical_resource_id().unwrap_or_default().to_string(),
                r.resource_type().unwrap_or_default().to_string(),
                r.resource_status_reason()
                    .unwrap_or("no reason given")
                    .to_string(),
            ));
        }
    }
    let mut msg = format!(
        "stack {} is UPDATE_ROLLBACK_FAILED: CloudFormation could not roll back",
        ctx.name
    );
    if failed.is_empty() {
        msg.push_str(" the last update");
    } else {
        msg.push_str(" these resources:");
        for (id, ty, reason) in &failed {
            msg.push_str(&format!("\n  {id} ({ty}): {reason}"));
        }
    }
    let skip = if failed.is_empty() {
        String::new()
    } else {
        let ids: Vec<&str> = failed.iter().map(|(id, _, _)| id.as_str()).collect();
        format!(" [--resources-to-skip {}]", ids.join(" "))
    };
    msg.push_str(&format!(
        "\nway out: fix the cause, then run `aws cloudformation continue-update-rollback --stack-name {}{skip}` and deploy again; or remove everything with `waitable destroy --stack-name {}`",
        ctx.name, ctx.name
    ));
    Error::failed(msg)
}
