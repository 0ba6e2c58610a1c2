//! The change-set lifecycle: create one, wait until CloudFormation has worked out its
//! changes, delete it (or the empty stack a create change set made) when it is not executed.

use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter, Tag};

use super::describe::StackCtx;
use super::sdk;
use crate::poll::{Step, poll};
use crate::{Error, Result};
use waitable_core::changeset::{self, ParamValue, ResourceChange};
use waitable_core::logical_ids;

/// How CloudFormation gets the template: inline, or from the artifacts bucket.
pub(super) enum TemplateSource {
    Body(String),
    Url(String),
}

pub(super) struct CreatedChangeSet {
    pub arn: String,
    pub stack_id: String,
}

pub(super) async fn create_change_set(
    ctx: &StackCtx<'_>,
    update: bool,
    template: &TemplateSource,
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
    let (body, url) = match template {
        TemplateSource::Body(body) => (Some(body.clone()), None),
        TemplateSource::Url(url) => (None, Some(url.clone())),
    };
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
        .set_template_body(body)
        .set_template_url(url)
        .set_parameters(Some(params))
        .set_capabilities(Some(
            capabilities.iter().map(|c| Capability::from(*c)).collect(),
        ))
        .tags(
            Tag::builder()
                .key(logical_ids::VERSION_TAG)
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

pub(super) enum ChangeSetOutcome {
    Ready(Vec<ResourceChange>),
    NoChanges,
    Failed(String),
}

pub(super) async fn wait_for_change_set(ctx: &StackCtx<'_>, arn: &str) -> Result<ChangeSetOutcome> {
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
                Err(err) => return sdk::retry_or_fail("describing the change set", &err),
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
pub(super) async fn delete_change_set(ctx: &StackCtx<'_>, arn: &str) {
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
pub(super) async fn discard_review_stack(ctx: &StackCtx<'_>, stack_id: &str) {
    if let Err(err) = ctx.cfn.delete_stack().stack_name(stack_id).send().await {
        ctx.ui.warn(format!(
            "could not delete the empty stack {}: {}",
            ctx.name,
            sdk::describe(&err)
        ));
    }
}
