//! The stack on CloudFormation: deploy through a change set (create, update, or recover a
//! stack an earlier failed create left behind), delete it. Every wait goes through
//! [`watch`] (the one poll helper plus the progress view).

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, Stack, Tag,
};
use serde_json::Value;

use super::poll::{Schedule, Step, poll};
use super::sdk;
pub use super::stack_outputs::{outputs, outputs_of, stack_outputs};
use super::watch::{newest_event_id, watch};
use crate::core::changeset::{self, ParamValue, ResourceChange};
use crate::core::ids;
use crate::core::outputs::StackOutputs;
use crate::core::stack_status::{ResourceEvent, StatusClass, cause_line, classify, failure_causes};
use crate::output::Ui;
use crate::{Error, Result};

/// CloudFormation's limit for a template sent inline (`TemplateBody`).
const MAX_TEMPLATE_BODY: usize = 51_200;

/// How many times deploy waits for someone else's operation before giving up.
const MAX_WAITS_FOR_OTHERS: usize = 3;

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
        Err(err) => retry_or_fail(&format!("describing stack {name_or_id}"), &err),
    }
}

async fn describe_raw(
    cfn: &Client,
    name_or_id: &str,
) -> std::result::Result<
    Option<Stack>,
    aws_smithy_runtime_api::client::result::SdkError<
        aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError,
        aws_smithy_runtime_api::http::Response,
    >,
> {
    match cfn.describe_stacks().stack_name(name_or_id).send().await {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(err) if sdk::is_not_found(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

pub(super) fn retry_or_fail<T, E, R>(
    doing: &str,
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> Result<Step<T>>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: sdk::HasStatus + std::fmt::Debug,
{
    if sdk::is_retryable(err) {
        Ok(Step::Retry(sdk::failed(doing, err)))
    } else {
        Err(sdk::failed(doing, err))
    }
}

/// Creates or updates the stack so it matches `template`, and returns its outputs.
pub async fn deploy(
    ctx: &StackCtx<'_>,
    template: &Value,
    parameters: &[(String, String)],
) -> Result<StackOutputs> {
    if !ctx.ui.assume_yes && !ctx.ui.can_prompt {
        return Err(Error::usage(
            "refusing to deploy without confirmation: not a terminal; pass --yes",
        ));
    }
    let body = serde_json::to_string(template)?;
    if body.len() > MAX_TEMPLATE_BODY {
        return Err(Error::failed(format!(
            "the template is {} bytes, over CloudFormation's inline limit of {MAX_TEMPLATE_BODY}",
            body.len()
        )));
    }
    let existing = settle_existing(ctx).await?;
    let previous: Vec<(String, String)> = existing
        .as_ref()
        .map(|s| {
            s.parameters()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.parameter_key()?.to_string(),
                        p.parameter_value()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let Some(change_set) = create_change_set(
        ctx,
        existing.is_some(),
        &body,
        &changeset::resolve_parameters(template, parameters, &previous),
        &changeset::capabilities(template),
    )
    .await?
    else {
        // Some endpoints refuse an empty change set outright instead of failing it.
        return up_to_date(ctx, existing.as_ref()).await;
    };

    let changes = match wait_for_change_set(ctx, &change_set.arn).await? {
        ChangeSetOutcome::Ready(changes) => changes,
        ChangeSetOutcome::NoChanges => {
            delete_change_set(ctx, &change_set.arn).await;
            return up_to_date(ctx, existing.as_ref()).await;
        }
        ChangeSetOutcome::Failed(reason) => {
            delete_change_set(ctx, &change_set.arn).await;
            if existing.is_none() {
                discard_review_stack(ctx, &change_set.stack_id).await;
            }
            return Err(Error::failed(format!(
                "CloudFormation refused the change set for stack {}: {reason}",
                ctx.name
            )));
        }
    };

    ctx.ui.info(format!(
        "change set for stack {} ({} change{}):",
        ctx.name,
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    ));
    for line in changeset::render(&changes) {
        ctx.ui.info(format!("  {line}"));
    }
    let question = format!("execute this change set on stack {}", ctx.name);
    if !ctx.ui.confirm(&question, "--yes")? {
        delete_change_set(ctx, &change_set.arn).await;
        if existing.is_none() {
            discard_review_stack(ctx, &change_set.stack_id).await;
        }
        return Err(Error::failed("deploy cancelled: nothing was changed"));
    }

    let baseline = newest_event_id(ctx.cfn, &change_set.stack_id).await?;
    ctx.cfn
        .execute_change_set()
        .change_set_name(&change_set.arn)
        .send()
        .await
        .map_err(|e| sdk::failed("executing the change set", &e))?;
    let verb = if existing.is_some() {
        "updating"
    } else {
        "creating"
    };
    let watched = watch(
        ctx,
        &change_set.stack_id,
        baseline,
        &format!("{verb} stack {}", ctx.name),
        Some(changes.len()),
    )
    .await?;
    let Some(stack) = watched.stack else {
        return Err(Error::failed(format!(
            "stack {} disappeared while {verb} it",
            ctx.name
        )));
    };
    match classify(status_of(&stack)) {
        StatusClass::Complete => stack_outputs(ctx.cfn, &stack).await,
        _ => Err(failure(ctx, &stack, &watched.events, verb).await),
    }
}

async fn up_to_date(ctx: &StackCtx<'_>, existing: Option<&Stack>) -> Result<StackOutputs> {
    let Some(stack) = existing else {
        return Err(Error::failed(format!(
            "CloudFormation found nothing to create for the new stack {}",
            ctx.name
        )));
    };
    ctx.ui
        .info(format!("stack {} is up to date: no changes", ctx.name));
    stack_outputs(ctx.cfn, stack).await
}

/// Looks at the stack as it is now and makes it ready for a change set: waits for someone
/// else's operation, deletes what an earlier failed create left, refuses states only a person
/// can fix. Returns the stack to update, or `None` to create one.
async fn settle_existing(ctx: &StackCtx<'_>) -> Result<Option<Stack>> {
    for _ in 0..MAX_WAITS_FOR_OTHERS {
        let Some(stack) = describe(ctx.cfn, ctx.name).await? else {
            return Ok(None);
        };
        let status = status_of(&stack).to_string();
        match status.as_str() {
            "ROLLBACK_COMPLETE" | "CREATE_FAILED" | "REVIEW_IN_PROGRESS" => {
                ctx.ui.info(format!(
                    "stack {} is {status}, left by an earlier create that did not finish: deleting it and creating it again",
                    ctx.name
                ));
                delete_and_wait(ctx, &stack).await?;
                return Ok(None);
            }
            "UPDATE_ROLLBACK_FAILED" => return Err(update_rollback_failed(ctx, &stack).await),
            _ => {}
        }
        match classify(&status) {
            StatusClass::InProgress => {
                ctx.ui.info(format!(
                    "stack {} is {status} (another operation is running): waiting for it to finish",
                    ctx.name
                ));
                watch(
                    ctx,
                    &id_of(&stack)?,
                    None,
                    &format!("waiting for {}", ctx.name),
                    None,
                )
                .await?;
            }
            StatusClass::Failed => {
                return Err(Error::failed(format!(
                    "stack {} is {status}{}: delete it with `waitable destroy --stack-name {}` and deploy again",
                    ctx.name,
                    stack
                        .stack_status_reason()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default(),
                    ctx.name
                )));
            }
            StatusClass::Complete | StatusClass::RolledBack => return Ok(Some(stack)),
        }
    }
    Err(Error::failed(format!(
        "stack {} stayed busy with other operations; try again later",
        ctx.name
    )))
}

struct CreatedChangeSet {
    arn: String,
    stack_id: String,
}

async fn create_change_set(
    ctx: &StackCtx<'_>,
    update: bool,
    body: &str,
    parameters: &[(String, ParamValue)],
    capabilities: &[&str],
) -> Result<Option<CreatedChangeSet>> {
    let name = format!(
        "waitable-{}-{}",
        chrono::Utc::now().format("%Y%m%d%H%M%S"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let params = parameters
        .iter()
        .map(|(key, value)| match value {
            ParamValue::Value(v) => Parameter::builder()
                .parameter_key(key)
                .parameter_value(v)
                .build(),
            ParamValue::UsePrevious => Parameter::builder()
                .parameter_key(key)
                .use_previous_value(true)
                .build(),
        })
        .collect();
    let sent = ctx
        .cfn
        .create_change_set()
        .stack_name(ctx.name)
        .change_set_name(&name)
        .change_set_type(if update {
            ChangeSetType::Update
        } else {
            ChangeSetType::Create
        })
        .template_body(body)
        .set_parameters(Some(params))
        .set_capabilities(Some(
            capabilities.iter().map(|c| Capability::from(*c)).collect(),
        ))
        .tags(
            Tag::builder()
                .key(ids::VERSION_TAG)
                .value(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .description(format!("waitable {}", env!("CARGO_PKG_VERSION")))
        .send()
        .await;
    let out = match sent {
        Ok(out) => out,
        Err(err) if update && sdk::classify(&err) == sdk::ErrorKind::NoChanges => return Ok(None),
        Err(err) => {
            return Err(sdk::failed(
                &format!("creating a change set for stack {}", ctx.name),
                &err,
            ));
        }
    };
    match (out.id(), out.stack_id()) {
        (Some(arn), Some(stack_id)) => Ok(Some(CreatedChangeSet {
            arn: arn.to_string(),
            stack_id: stack_id.to_string(),
        })),
        _ => Err(Error::failed(
            "CloudFormation created a change set but returned no id",
        )),
    }
}

enum ChangeSetOutcome {
    Ready(Vec<ResourceChange>),
    NoChanges,
    Failed(String),
}

async fn wait_for_change_set(ctx: &StackCtx<'_>, arn: &str) -> Result<ChangeSetOutcome> {
    let mut changes = Vec::new();
    poll(ctx.schedule, async || {
        let mut next: Option<String> = None;
        changes.clear();
        loop {
            let out = match ctx
                .cfn
                .describe_change_set()
                .change_set_name(arn)
                .set_next_token(next.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(err) => return retry_or_fail("describing the change set", &err),
            };
            match out.status() {
                Some(ChangeSetStatus::CreateComplete) => {}
                Some(ChangeSetStatus::Failed) => {
                    let reason = out.status_reason().unwrap_or("no reason given");
                    return Ok(Step::Done(if changeset::is_no_change_reason(reason) {
                        ChangeSetOutcome::NoChanges
                    } else {
                        ChangeSetOutcome::Failed(reason.to_string())
                    }));
                }
                _ => return Ok(Step::Pending),
            }
            changes.extend(out.changes().iter().filter_map(|c| {
                let rc = c.resource_change()?;
                Some(ResourceChange {
                    action: changeset::Action::parse(rc.action().map(|a| a.as_str()).unwrap_or("")),
                    logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: rc.resource_type().unwrap_or_default().to_string(),
                    replacement: rc.replacement().map(|r| r.as_str().to_string()),
                })
            }));
            match out.next_token() {
                Some(token) => next = Some(token.to_string()),
                None => {
                    return Ok(Step::Done(ChangeSetOutcome::Ready(std::mem::take(
                        &mut changes,
                    ))));
                }
            }
        }
    })
    .await
}

/// Best effort: a leftover change set is harmless, so failing to delete one is only a warning.
async fn delete_change_set(ctx: &StackCtx<'_>, arn: &str) {
    if let Err(err) = ctx
        .cfn
        .delete_change_set()
        .change_set_name(arn)
        .send()
        .await
    {
        ctx.ui.warn(format!(
            "could not delete change set {arn}: {}",
            sdk::describe(&err)
        ));
    }
}

/// A stack a CREATE change set made but nobody executed (REVIEW_IN_PROGRESS, no resources).
async fn discard_review_stack(ctx: &StackCtx<'_>, stack_id: &str) {
    if let Err(err) = ctx.cfn.delete_stack().stack_name(stack_id).send().await {
        ctx.ui.warn(format!(
            "could not delete the empty stack {}: {}",
            ctx.name,
            sdk::describe(&err)
        ));
    }
}

/// Explains a failed create, update or delete: the first cause first, then the others.
async fn failure(ctx: &StackCtx<'_>, stack: &Stack, events: &[ResourceEvent], verb: &str) -> Error {
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
async fn update_rollback_failed(ctx: &StackCtx<'_>, stack: &Stack) -> Error {
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

/// Deletes the stack and waits until it is gone; DELETE_FAILED is an error with its causes.
pub async fn delete_and_wait(ctx: &StackCtx<'_>, stack: &Stack) -> Result<()> {
    let stack_id = id_of(stack)?;
    let baseline = newest_event_id(ctx.cfn, &stack_id).await?;
    ctx.cfn
        .delete_stack()
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| sdk::failed(&format!("deleting stack {}", ctx.name), &e))?;
    let watched = watch(
        ctx,
        &stack_id,
        baseline,
        &format!("deleting stack {}", ctx.name),
        None,
    )
    .await?;
    match watched.stack {
        None => Ok(()),
        Some(s) if status_of(&s) == "DELETE_COMPLETE" => Ok(()),
        Some(s) => Err(failure(ctx, &s, &watched.events, "deleting").await),
    }
}

/// Stops every RUNNING execution of the stack's state machine (marking its job CANCELLED),
/// so no job waits against a deleted table. Returns how many were stopped.
pub async fn cancel_waiting_jobs(
    sfn: &aws_sdk_sfn::Client,
    ddb: &aws_sdk_dynamodb::Client,
    outputs: &StackOutputs,
) -> Result<usize> {
    let mut pages = sfn
        .list_executions()
        .state_machine_arn(&outputs.state_machine_arn)
        .status_filter(aws_sdk_sfn::types::ExecutionStatus::Running)
        .into_paginator()
        .items()
        .send();
    let mut cancelled = 0;
    while let Some(item) = pages.next().await {
        let execution = match item {
            Ok(execution) => execution,
            Err(err) if sdk::is_state_machine_missing(&err) => break,
            Err(err) => return Err(sdk::failed("listing waiting jobs", &err)),
        };
        super::jobs::stop_before_delete(
            sfn,
            ddb,
            &outputs.table_name,
            execution.name(),
            execution.execution_arn(),
        )
        .await
        .map_err(|e| {
            Error::failed(format!(
                "could not cancel waiting job {} ({e}); the stack was not deleted",
                execution.name()
            ))
        })?;
        cancelled += 1;
    }
    Ok(cancelled)
}

#[cfg(test)]
#[path = "stack_tests.rs"]
mod tests;
