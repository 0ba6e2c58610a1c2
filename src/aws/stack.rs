//! The stack on CloudFormation: deploy through a change set (create, update, or recover a
//! stack an earlier failed create left behind), read its outputs, delete it. Every wait goes
//! through [`poll`] and shows its events through [`Progress`].

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, Stack, Tag,
};
use serde_json::Value;

use super::poll::{Schedule, Step, poll};
use super::progress::Progress;
use super::sdk;
use crate::core::changeset::{self, ParamValue, ResourceChange};
use crate::core::outputs::StackOutputs;
use crate::core::stack_status::{ResourceEvent, StatusClass, cause_line, classify, failure_causes};
use crate::core::{ids, resolve};
use crate::output::Ui;
use crate::{Error, Result};

/// CloudFormation's limit for a template sent inline (`TemplateBody`).
const MAX_TEMPLATE_BODY: usize = 51_200;

/// How many times deploy waits for someone else's operation before giving up.
const MAX_WAITS_FOR_OTHERS: usize = 3;

/// How many looks a final status must hold, with no stack event for it, to be believed.
const FINAL_LOOKS_WITHOUT_EVENT: u32 = 10;

/// One stack and what acting on it needs.
pub struct StackCtx<'a> {
    pub cfn: &'a Client,
    pub name: &'a str,
    pub ui: &'a Ui,
    pub schedule: &'a Schedule,
}

fn status_of(stack: &Stack) -> &str {
    stack.stack_status().map(|s| s.as_str()).unwrap_or("")
}

fn id_of(stack: &Stack) -> Result<String> {
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
async fn describe_step(cfn: &Client, name_or_id: &str) -> Result<Step<Option<Stack>>> {
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

fn retry_or_fail<T, E, R>(
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

/// The stack's outputs under the documented keys, as CloudFormation reports them.
pub fn outputs_of(stack: &Stack) -> Result<StackOutputs> {
    let pairs: Vec<(String, String)> = stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect();
    outputs_from_pairs(stack.stack_name().unwrap_or_default(), &pairs)
}

fn outputs_from_pairs(stack_name: &str, pairs: &[(String, String)]) -> Result<StackOutputs> {
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                Error::failed(format!(
                    "stack {stack_name} has no {key} output: was it deployed by waitable?"
                ))
            })
    };
    Ok(StackOutputs {
        api_url: get(ids::OUTPUT_API_URL)?,
        state_machine_arn: get(ids::OUTPUT_STATE_MACHINE_ARN)?,
        table_name: get(ids::OUTPUT_TABLE_NAME)?,
    })
}

/// The stack's outputs. When a finished stack reports none at all (emulators do, for stacks
/// made through change sets), they are worked out from its template and resources instead.
pub async fn stack_outputs(cfn: &Client, stack: &Stack) -> Result<StackOutputs> {
    if !stack.outputs().is_empty() {
        return outputs_of(stack);
    }
    let pairs = resolve_outputs(cfn, stack).await?;
    outputs_from_pairs(stack.stack_name().unwrap_or_default(), &pairs)
}

async fn resolve_outputs(cfn: &Client, stack: &Stack) -> Result<Vec<(String, String)>> {
    let stack_id = id_of(stack)?;
    let body = cfn
        .get_template()
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| sdk::failed("reading the deployed template", &e))?
        .template_body()
        .unwrap_or_default()
        .to_string();
    let template: Value = serde_json::from_str(&body)
        .or_else(|_| serde_norway::from_str(&body))
        .map_err(|e| Error::failed(format!("reading the deployed template: {e}")))?;
    let mut names = resolve::Names::new();
    let mut pages = cfn
        .list_stack_resources()
        .stack_name(&stack_id)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = pages.next().await {
        let r = item.map_err(|e| sdk::failed("listing the stack's resources", &e))?;
        if let (Some(logical), Some(physical)) = (r.logical_resource_id(), r.physical_resource_id())
        {
            names.insert(logical.to_string(), physical.to_string());
        }
    }
    for p in stack.parameters() {
        if let (Some(k), Some(v)) = (p.parameter_key(), p.parameter_value()) {
            names.insert(k.to_string(), v.to_string());
        }
    }
    // arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/UUID
    let arn: Vec<&str> = stack_id.split(':').collect();
    if arn.len() > 5 {
        names.insert("AWS::Partition".into(), arn[1].to_string());
        names.insert("AWS::Region".into(), arn[3].to_string());
        names.insert(
            "AWS::URLSuffix".into(),
            resolve::url_suffix(arn[3]).to_string(),
        );
        names.insert("AWS::AccountId".into(), arn[4].to_string());
    }
    names.insert("AWS::StackId".into(), stack_id.clone());
    names.insert(
        "AWS::StackName".into(),
        stack.stack_name().unwrap_or_default().to_string(),
    );
    Ok(resolve::outputs(&template, &names))
}

/// The outputs of the deployed stack; a clear error when there is none.
pub async fn outputs(cfn: &Client, name: &str) -> Result<StackOutputs> {
    match describe(cfn, name).await? {
        Some(stack) => stack_outputs(cfn, &stack).await,
        None => Err(Error::failed(format!(
            "stack {name} does not exist: run `waitable deploy --stack-name {name}` first"
        ))),
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

/// The id of the stack's newest event: events after it belong to the operation about to start.
async fn newest_event_id(cfn: &Client, stack_id: &str) -> Result<Option<String>> {
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
async fn events_since(
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
            Err(err) => return retry_or_fail("reading stack events", &err),
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

/// What a watched operation ended with.
struct Watched {
    /// The stack at the end; `None` when it is gone (deleted).
    stack: Option<Stack>,
    /// The events after the baseline, oldest first.
    events: Vec<ResourceEvent>,
}

/// Follows the stack until its operation ends, showing events as they come.
///
/// With a `baseline` (the newest event before we acted), the stack counts as finished only
/// once its own event for a final status has arrived after it: right after an execute or
/// delete call, CloudFormation may still report the previous, already-final status.
async fn watch(
    ctx: &StackCtx<'_>,
    stack_id: &str,
    baseline: Option<String>,
    what: &str,
    expected: Option<usize>,
) -> Result<Watched> {
    let mut progress = Progress::new(ctx.ui, what, expected);
    let require_event = baseline.is_some();
    let mut last_seen = baseline;
    let mut events: Vec<ResourceEvent> = Vec::new();
    let mut final_without_event = 0;
    let result = poll(ctx.schedule, async || {
        let stack = match describe_step(ctx.cfn, stack_id).await? {
            Step::Done(stack) => stack,
            Step::Retry(err) => return Ok(Step::Retry(err)),
            Step::Pending => return Ok(Step::Pending),
        };
        let new = match events_since(ctx.cfn, stack_id, last_seen.as_deref()).await {
            Ok(Step::Done(new)) => new,
            Ok(Step::Retry(err)) => return Ok(Step::Retry(err)),
            Ok(Step::Pending) => return Ok(Step::Pending),
            // The stack (and its events) can vanish at the end of a delete.
            Err(_) if stack.is_none() => Vec::new(),
            Err(err) => return Err(err),
        };
        for e in &new {
            progress.event(e);
        }
        if let Some(last) = new.last() {
            last_seen = Some(last.event_id.clone());
        }
        events.extend(new);
        let Some(stack) = stack else {
            return Ok(Step::Done(None));
        };
        let status = status_of(&stack);
        let terminal = classify(status).is_terminal();
        // Events can lag behind the status; a final status that holds long enough is believed.
        final_without_event = if terminal { final_without_event + 1 } else { 0 };
        let confirmed = !require_event
            || events.iter().any(|e| e.is_stack() && e.status == status)
            || final_without_event >= FINAL_LOOKS_WITHOUT_EVENT;
        let finished = terminal && confirmed;
        Ok(if finished {
            Step::Done(Some(stack))
        } else {
            Step::Pending
        })
    })
    .await;
    match &result {
        Ok(Some(stack)) => progress.finish(&format!("{what}: {}", status_of(stack))),
        Ok(None) => progress.finish(&format!("{what}: done")),
        Err(_) => progress.finish(&format!("{what}: stopped")),
    }
    Ok(Watched {
        stack: result?,
        events,
    })
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
        super::jobs::cancel_execution(
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
mod tests {
    //! What moto cannot produce (rollbacks with reasons, throttling, stuck rollbacks), with
    //! `aws-smithy-mocks` rule sequences and a tiny poll schedule.

    use aws_sdk_cloudformation::config::retry::RetryConfig;
    use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_sdk_cloudformation::operation::describe_stack_events::{
        DescribeStackEventsError, DescribeStackEventsOutput,
    };
    use aws_sdk_cloudformation::operation::describe_stacks::{
        DescribeStacksError, DescribeStacksOutput,
    };
    use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
    use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
    use aws_sdk_cloudformation::types::{
        Change, ChangeAction, Output, ResourceChange as SdkChange, ResourceStatus, StackEvent,
        StackResourceSummary, StackStatus,
    };
    use aws_smithy_mocks::{
        MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock,
    };
    use aws_smithy_types::error::ErrorMetadata;
    use serde_json::json;

    use super::*;

    const NAME: &str = "mocked";
    const OLD_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/mocked/old";
    const NEW_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/mocked/new";
    const CS_ARN: &str = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/1";

    fn client(rules: &[&Rule]) -> Client {
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for rule in rules {
            interceptor = interceptor.with_rule(rule);
        }
        let conf = aws_sdk_cloudformation::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("a", "b", None, None, "test"))
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            // The poll helper's own retries are under test, not the SDK's.
            .retry_config(RetryConfig::disabled())
            .build();
        Client::from_conf(conf)
    }

    fn ui() -> Ui {
        Ui::silent()
    }

    async fn run_deploy(cfn: &Client) -> Result<StackOutputs> {
        let ui = ui();
        let ctx = StackCtx {
            cfn,
            name: NAME,
            ui: &ui,
            schedule: &Schedule::TINY,
        };
        deploy(&ctx, &template(), &[]).await
    }

    fn template() -> Value {
        json!({"Parameters": {"StageName": {"Type": "String", "Default": "prod"}},
               "Resources": {"JobsTable": {"Type": "AWS::DynamoDB::Table"}}})
    }

    fn stack(id: &str, status: &str) -> Stack {
        let mut b = Stack::builder()
            .stack_id(id)
            .stack_name(NAME)
            .stack_status(StackStatus::from(status));
        if status.ends_with("COMPLETE") && !status.contains("ROLLBACK") {
            for (k, v) in [
                (
                    "ApiUrl",
                    "https://a.execute-api.us-east-1.amazonaws.com/prod",
                ),
                ("StateMachineArn", "arn:sm"),
                ("TableName", "t"),
            ] {
                b = b.outputs(Output::builder().output_key(k).output_value(v).build());
            }
        }
        b.build()
    }

    fn stacks(s: Stack) -> DescribeStacksOutput {
        DescribeStacksOutput::builder().stacks(s).build()
    }

    fn missing() -> DescribeStacksError {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("Stack with id mocked does not exist")
                .build(),
        )
    }

    fn throttled() -> DescribeStackEventsError {
        DescribeStackEventsError::generic(
            ErrorMetadata::builder()
                .code("Throttling")
                .message("Rate exceeded")
                .build(),
        )
    }

    /// Events newest first, as the API returns them: (id, logical id, type, status, reason).
    fn events(list: &[(&str, &str, &str, &str, Option<&str>)]) -> DescribeStackEventsOutput {
        let mut b = DescribeStackEventsOutput::builder();
        for (id, logical, ty, status, reason) in list {
            let mut e = StackEvent::builder()
                .event_id(*id)
                .logical_resource_id(*logical)
                .resource_type(*ty)
                .resource_status(ResourceStatus::from(*status));
            if let Some(r) = reason {
                e = e.resource_status_reason(*r);
            }
            b = b.stack_events(e.build());
        }
        b.build()
    }

    const STACK: &str = "AWS::CloudFormation::Stack";
    const TABLE: &str = "AWS::DynamoDB::Table";

    fn created_change_set(id: &'static str) -> Rule {
        mock!(Client::create_change_set).then_output(move || {
            CreateChangeSetOutput::builder()
                .id(CS_ARN)
                .stack_id(id)
                .build()
        })
    }

    fn ready_change_set() -> Rule {
        mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    Change::builder()
                        .resource_change(
                            SdkChange::builder()
                                .action(ChangeAction::Add)
                                .logical_resource_id("JobsTable")
                                .resource_type(TABLE)
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
    }

    fn executed() -> Rule {
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build())
    }

    #[tokio::test]
    async fn a_failed_create_reports_the_first_failing_resource_without_cancellations() {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .error(missing)
            .output(|| stacks(stack(NEW_ID, "ROLLBACK_COMPLETE")))
            .repeatedly()
            .build();
        let evs = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| events(&[("e0", NAME, STACK, "REVIEW_IN_PROGRESS", None)]))
            .output(|| {
                events(&[
                    ("e7", NAME, STACK, "ROLLBACK_COMPLETE", None),
                    ("e6", "JobsTable", TABLE, "DELETE_COMPLETE", None),
                    (
                        "e5",
                        NAME,
                        STACK,
                        "ROLLBACK_IN_PROGRESS",
                        Some("The following resource(s) failed to create: [JobsTable, Role]."),
                    ),
                    (
                        "e4",
                        "Api",
                        "AWS::ApiGateway::RestApi",
                        "CREATE_FAILED",
                        Some("Api: second failure"),
                    ),
                    (
                        "e3",
                        "Role",
                        "AWS::IAM::Role",
                        "CREATE_FAILED",
                        Some("Resource creation cancelled"),
                    ),
                    (
                        "e2",
                        "JobsTable",
                        TABLE,
                        "CREATE_FAILED",
                        Some("One or more parameter values were invalid: key schema"),
                    ),
                    (
                        "e1",
                        NAME,
                        STACK,
                        "CREATE_IN_PROGRESS",
                        Some("User Initiated"),
                    ),
                    ("e0", NAME, STACK, "REVIEW_IN_PROGRESS", None),
                ])
            })
            .repeatedly()
            .build();
        let create = created_change_set(NEW_ID);
        let (ready, exec) = (ready_change_set(), executed());
        let cfn = client(&[&describe, &evs, &create, &ready, &exec]);

        let err = run_deploy(&cfn).await.unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.exit_code(), 1);
        assert!(
            msg.starts_with("creating stack mocked failed and was rolled back (ROLLBACK_COMPLETE)"),
            "{msg}"
        );
        let lines: Vec<&str> = msg.lines().collect();
        assert_eq!(
            lines[1],
            "  JobsTable (AWS::DynamoDB::Table) CREATE_FAILED: One or more parameter values were invalid: key schema"
        );
        assert!(lines[2].contains("second failure"), "{msg}");
        assert!(!msg.contains("cancelled"), "{msg}");
        assert!(msg.contains("next deploy deletes"), "{msg}");
    }

    #[tokio::test]
    async fn a_rolled_back_stack_is_deleted_and_created_again() {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stacks(stack(OLD_ID, "ROLLBACK_COMPLETE")))
            .output(|| stacks(stack(OLD_ID, "DELETE_COMPLETE")))
            .output(|| stacks(stack(NEW_ID, "CREATE_COMPLETE")))
            .repeatedly()
            .build();
        let evs = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| events(&[("o1", NAME, STACK, "ROLLBACK_COMPLETE", None)]))
            .output(|| {
                events(&[
                    ("o3", NAME, STACK, "DELETE_COMPLETE", None),
                    (
                        "o2",
                        NAME,
                        STACK,
                        "DELETE_IN_PROGRESS",
                        Some("User Initiated"),
                    ),
                    ("o1", NAME, STACK, "ROLLBACK_COMPLETE", None),
                ])
            })
            .output(|| events(&[("n0", NAME, STACK, "REVIEW_IN_PROGRESS", None)]))
            .output(|| {
                events(&[
                    ("n3", NAME, STACK, "CREATE_COMPLETE", None),
                    ("n2", "JobsTable", TABLE, "CREATE_COMPLETE", None),
                    ("n1", NAME, STACK, "CREATE_IN_PROGRESS", None),
                    ("n0", NAME, STACK, "REVIEW_IN_PROGRESS", None),
                ])
            })
            .repeatedly()
            .build();
        let delete = mock!(Client::delete_stack)
            .match_requests(|r| r.stack_name() == Some(OLD_ID))
            .then_output(|| DeleteStackOutput::builder().build());
        let create = mock!(Client::create_change_set)
            .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Create))
            .then_output(|| {
                CreateChangeSetOutput::builder()
                    .id(CS_ARN)
                    .stack_id(NEW_ID)
                    .build()
            });
        let (ready, exec) = (ready_change_set(), executed());
        let cfn = client(&[&describe, &evs, &delete, &create, &ready, &exec]);

        let outputs = run_deploy(&cfn).await.unwrap();
        assert_eq!(outputs.table_name, "t");
        assert_eq!(delete.num_calls(), 1);
        assert_eq!(create.num_calls(), 1);
        assert_eq!(exec.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_throttled_describe_stack_events_is_retried() {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .error(missing)
            .output(|| stacks(stack(NEW_ID, "CREATE_COMPLETE")))
            .repeatedly()
            .build();
        let evs = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| events(&[("n0", NAME, STACK, "REVIEW_IN_PROGRESS", None)]))
            .error(throttled)
            .times(2)
            .output(|| {
                events(&[
                    ("n2", NAME, STACK, "CREATE_COMPLETE", None),
                    ("n1", NAME, STACK, "CREATE_IN_PROGRESS", None),
                    ("n0", NAME, STACK, "REVIEW_IN_PROGRESS", None),
                ])
            })
            .build();
        let create = created_change_set(NEW_ID);
        let (ready, exec) = (ready_change_set(), executed());
        let cfn = client(&[&describe, &evs, &create, &ready, &exec]);

        let outputs = run_deploy(&cfn).await.unwrap();
        assert_eq!(outputs.state_machine_arn, "arn:sm");
        assert_eq!(evs.num_calls(), 4, "baseline, two throttled, one answer");
    }

    #[tokio::test]
    async fn throttling_that_never_ends_gives_up_with_the_error() {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .error(missing)
            .output(|| stacks(stack(NEW_ID, "CREATE_IN_PROGRESS")))
            .repeatedly()
            .build();
        let evs = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| events(&[("n0", NAME, STACK, "REVIEW_IN_PROGRESS", None)]))
            .error(throttled)
            .repeatedly()
            .build();
        let create = created_change_set(NEW_ID);
        let (ready, exec) = (ready_change_set(), executed());
        let cfn = client(&[&describe, &evs, &create, &ready, &exec]);

        let err = run_deploy(&cfn).await.unwrap_err();
        assert!(err.to_string().contains("Throttling"), "{err}");
    }

    #[tokio::test]
    async fn a_stale_final_status_right_after_execute_is_not_taken_for_the_end() {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stacks(stack(OLD_ID, "UPDATE_COMPLETE")))
            .times(2)
            .output(|| stacks(stack(OLD_ID, "UPDATE_IN_PROGRESS")))
            .output(|| stacks(stack(OLD_ID, "UPDATE_COMPLETE")))
            .repeatedly()
            .build();
        let evs = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| events(&[("o1", NAME, STACK, "UPDATE_COMPLETE", None)]))
            .times(2)
            .output(|| {
                events(&[
                    ("o2", NAME, STACK, "UPDATE_IN_PROGRESS", None),
                    ("o1", NAME, STACK, "UPDATE_COMPLETE", None),
                ])
            })
            .output(|| {
                events(&[
                    ("o3", NAME, STACK, "UPDATE_COMPLETE", None),
                    ("o2", NAME, STACK, "UPDATE_IN_PROGRESS", None),
                    ("o1", NAME, STACK, "UPDATE_COMPLETE", None),
                ])
            })
            .repeatedly()
            .build();
        let create = created_change_set(OLD_ID);
        let (ready, exec) = (ready_change_set(), executed());
        let cfn = client(&[&describe, &evs, &create, &ready, &exec]);

        run_deploy(&cfn).await.unwrap();
        assert_eq!(exec.num_calls(), 1);
        assert_eq!(describe.num_calls(), 4, "settle, stale, in progress, final");
    }

    #[tokio::test]
    async fn update_rollback_failed_names_the_resources_and_the_way_out() {
        let describe = mock!(Client::describe_stacks)
            .then_output(|| stacks(stack(OLD_ID, "UPDATE_ROLLBACK_FAILED")));
        let resources = mock!(Client::list_stack_resources).then_output(|| {
            ListStackResourcesOutput::builder()
                .stack_resource_summaries(
                    StackResourceSummary::builder()
                        .logical_resource_id("JobsTable")
                        .resource_type(TABLE)
                        .resource_status(ResourceStatus::UpdateFailed)
                        .resource_status_reason("Table was deleted outside CloudFormation")
                        .build(),
                )
                .stack_resource_summaries(
                    StackResourceSummary::builder()
                        .logical_resource_id("Api")
                        .resource_type("AWS::ApiGateway::RestApi")
                        .resource_status(ResourceStatus::UpdateComplete)
                        .build(),
                )
                .build()
        });
        let create = created_change_set(OLD_ID);
        let cfn = client(&[&describe, &resources, &create]);

        let err = run_deploy(&cfn).await.unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.exit_code(), 1);
        assert!(msg.contains("UPDATE_ROLLBACK_FAILED"), "{msg}");
        assert!(
            msg.contains(
                "JobsTable (AWS::DynamoDB::Table): Table was deleted outside CloudFormation"
            ),
            "{msg}"
        );
        assert!(!msg.contains("Api ("), "{msg}");
        assert!(
            msg.contains(
                "continue-update-rollback --stack-name mocked [--resources-to-skip JobsTable]"
            ),
            "{msg}"
        );
        assert_eq!(create.num_calls(), 0, "nothing is sent to a stuck stack");
    }

    #[tokio::test]
    async fn an_empty_change_set_means_up_to_date_and_is_deleted() {
        let describe =
            mock!(Client::describe_stacks).then_output(|| stacks(stack(OLD_ID, "UPDATE_COMPLETE")));
        let create = created_change_set(OLD_ID);
        let failed = mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::Failed)
                .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
                .build()
        });
        let delete = mock!(Client::delete_change_set)
            .match_requests(|r| r.change_set_name() == Some(CS_ARN))
            .then_output(|| DeleteChangeSetOutput::builder().build());
        let exec = executed();
        let cfn = client(&[&describe, &create, &failed, &delete, &exec]);

        let outputs = run_deploy(&cfn).await.unwrap();
        assert_eq!(outputs.table_name, "t");
        assert_eq!(delete.num_calls(), 1);
        assert_eq!(exec.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_stack_busy_with_another_operation_is_waited_for() {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stacks(stack(OLD_ID, "UPDATE_IN_PROGRESS")))
            .times(3)
            .output(|| stacks(stack(OLD_ID, "UPDATE_COMPLETE")))
            .repeatedly()
            .build();
        let evs = mock!(Client::describe_stack_events)
            .then_output(|| events(&[("o1", NAME, STACK, "UPDATE_IN_PROGRESS", None)]));
        let create = mock!(Client::create_change_set)
            .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Update))
            .then_output(|| {
                CreateChangeSetOutput::builder()
                    .id(CS_ARN)
                    .stack_id(OLD_ID)
                    .build()
            });
        let failed = mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::Failed)
                .status_reason("No updates are to be performed.")
                .build()
        });
        let delete = mock!(Client::delete_change_set)
            .then_output(|| DeleteChangeSetOutput::builder().build());
        let cfn = client(&[&describe, &evs, &create, &failed, &delete]);

        run_deploy(&cfn).await.unwrap();
        assert_eq!(
            create.num_calls(),
            1,
            "the update starts once the other one is done"
        );
        assert!(describe.num_calls() >= 4);
    }

    #[tokio::test]
    async fn delete_failed_is_reported_with_its_reasons() {
        let describe =
            mock!(Client::describe_stacks).then_output(|| stacks(stack(OLD_ID, "DELETE_FAILED")));
        let evs = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| events(&[("o1", NAME, STACK, "CREATE_COMPLETE", None)]))
            .output(|| {
                events(&[
                    (
                        "o4",
                        NAME,
                        STACK,
                        "DELETE_FAILED",
                        Some("The following resource(s) failed to delete: [JobsTable]."),
                    ),
                    (
                        "o3",
                        "JobsTable",
                        TABLE,
                        "DELETE_FAILED",
                        Some("Table has deletion protection"),
                    ),
                    ("o2", NAME, STACK, "DELETE_IN_PROGRESS", None),
                    ("o1", NAME, STACK, "CREATE_COMPLETE", None),
                ])
            })
            .repeatedly()
            .build();
        let delete =
            mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
        let cfn = client(&[&describe, &evs, &delete]);
        let ui = ui();
        let ctx = StackCtx {
            cfn: &cfn,
            name: NAME,
            ui: &ui,
            schedule: &Schedule::TINY,
        };
        let err = delete_and_wait(&ctx, &stack(OLD_ID, "CREATE_COMPLETE"))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("deleting stack mocked failed (DELETE_FAILED)"),
            "{msg}"
        );
        assert!(
            msg.contains(
                "JobsTable (AWS::DynamoDB::Table) DELETE_FAILED: Table has deletion protection"
            ),
            "{msg}"
        );
    }

    fn sfn_client(rules: &[&Rule]) -> aws_sdk_sfn::Client {
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for rule in rules {
            interceptor = interceptor.with_rule(rule);
        }
        let conf = aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .region(aws_sdk_sfn::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sfn::config::Credentials::new(
                "a", "b", None, None, "test",
            ))
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_sfn::Client::from_conf(conf)
    }

    fn ddb_client() -> aws_sdk_dynamodb::Client {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "a", "b", None, None, "test",
            ))
            .http_client(create_mock_http_client())
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    }

    fn sfn_outputs() -> StackOutputs {
        StackOutputs {
            api_url: "https://a".into(),
            state_machine_arn: "arn:sm".into(),
            table_name: "t".into(),
        }
    }

    #[tokio::test]
    async fn no_state_machine_or_no_running_execution_means_nothing_to_cancel() {
        use aws_sdk_sfn::operation::list_executions::{ListExecutionsError, ListExecutionsOutput};
        let gone = mock!(aws_sdk_sfn::Client::list_executions).then_error(|| {
            ListExecutionsError::StateMachineDoesNotExist(
                aws_sdk_sfn::types::error::StateMachineDoesNotExist::builder()
                    .message("gone")
                    .build(),
            )
        });
        let sfn = sfn_client(&[&gone]);
        assert_eq!(
            cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs())
                .await
                .unwrap(),
            0
        );

        let none = mock!(aws_sdk_sfn::Client::list_executions)
            .match_requests(|r| {
                r.status_filter() == Some(&aws_sdk_sfn::types::ExecutionStatus::Running)
            })
            .then_output(|| {
                ListExecutionsOutput::builder()
                    .set_executions(Some(vec![]))
                    .build()
                    .unwrap()
            });
        let sfn = sfn_client(&[&none]);
        assert_eq!(
            cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs())
                .await
                .unwrap(),
            0
        );
        assert_eq!(none.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_job_that_cannot_be_cancelled_stops_the_destroy() {
        use aws_sdk_sfn::operation::list_executions::ListExecutionsOutput;
        use aws_sdk_sfn::operation::stop_execution::StopExecutionError;
        let item = |name: &str| {
            aws_sdk_sfn::types::ExecutionListItem::builder()
                .name(name)
                .execution_arn(format!("arn:exec:{name}"))
                .state_machine_arn("arn:sm")
                .status(aws_sdk_sfn::types::ExecutionStatus::Running)
                .start_date(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .unwrap()
        };
        let list = mock!(aws_sdk_sfn::Client::list_executions).then_output(move || {
            ListExecutionsOutput::builder()
                .executions(item("job-1"))
                .executions(item("job-2"))
                .build()
                .unwrap()
        });
        // Whatever cancel_execution sends, the service refuses it.
        let stop = mock!(aws_sdk_sfn::Client::stop_execution).then_error(|| {
            StopExecutionError::generic(ErrorMetadata::builder().code("AccessDenied").build())
        });
        let sfn = sfn_client(&[&list, &stop]);
        let err = cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs())
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("job-1") && msg.contains("the stack was not deleted"),
            "{msg}"
        );
    }

    #[test]
    fn the_sdk_knows_no_stack_status_the_classifier_does_not() {
        use crate::core::stack_status::ALL_STACK_STATUSES;
        for status in StackStatus::values() {
            assert!(ALL_STACK_STATUSES.contains(status), "{status} is new");
        }
    }
}
