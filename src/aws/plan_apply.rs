//! Deploying the stack in two halves with the user's yes between them: [`plan`] settles the
//! stack (waits for other operations, clears what a failed create left) and makes a change set;
//! [`apply`] executes it and follows it to the end; [`discard`] removes it unexecuted.

use aws_sdk_cloudformation::types::Stack;
use serde_json::Value;

use super::account::Account;
use super::api_deployment::redeploy;
use super::artifacts;
use super::change_set::{
    ChangeSetOutcome, TemplateSource, create_change_set, delete_change_set, discard_review_stack,
    wait_for_change_set,
};
use super::delete::delete_and_wait;
use super::describe::{StackCtx, describe, id_of, newest_event_id, status_of};
use super::failure::{failure, update_rollback_failed};
use super::sdk;
use super::stack_outputs::stack_outputs;
use super::watch::watch;
use crate::{Error, Result};
use waitable_core::changeset::{self, ResourceChange};
use waitable_core::outputs::StackOutputs;
use waitable_core::stack_status::{StatusClass, classify};
use waitable_core::template::{MAX_TEMPLATE_BODY, MAX_TEMPLATE_URL_BODY};

/// The output key naming the artifacts bucket when deploy used it.
pub const OUTPUT_ARTIFACTS_BUCKET: &str = "ArtifactsBucket";

/// Where a template too large to send inline goes (`super::artifacts`).
pub struct Artifacts<'a> {
    pub s3: &'a aws_sdk_s3::Client,
    pub account: &'a Account,
    /// Give the bucket a policy refusing plain HTTP (not on an `http://` emulator endpoint).
    pub tls_only: bool,
}

/// How many times deploy waits for someone else's operation before giving up.
const MAX_WAITS_FOR_OTHERS: usize = 3;

/// What [`plan`] found.
pub enum Planned {
    /// Nothing to change: the stack's outputs as they are.
    UpToDate(StackOutputs),
    /// A change set ready to execute.
    Review(PendingChangeSet),
}

/// A change set CloudFormation has worked out and nobody has executed yet.
pub struct PendingChangeSet {
    pub arn: String,
    pub stack_id: String,
    /// False when the change set creates the stack.
    pub update: bool,
    pub changes: Vec<ResourceChange>,
    /// Replaced resources the API's integrations reference: the stage is redeployed after.
    pub replaced_api_references: Vec<String>,
    /// The artifacts bucket, when the template went through it.
    pub artifacts_bucket: Option<String>,
}

/// Makes the change set that would bring the stack to `template`; changes nothing else
/// (beyond clearing a stack an earlier failed create left behind).
pub async fn plan(
    ctx: &StackCtx<'_>,
    artifacts: &Artifacts<'_>,
    template: &Value,
    parameters: &[(String, String)],
    upload: bool,
) -> Result<Planned> {
    let body = serde_json::to_string(template)?;
    if body.len() > MAX_TEMPLATE_URL_BODY {
        return Err(Error::failed(format!(
            "the template is {} bytes, over CloudFormation's limit of {MAX_TEMPLATE_URL_BODY} even from S3",
            body.len()
        )));
    }
    let existing = settle_existing(ctx).await?;
    let (source, artifacts_bucket) = if upload || body.len() > MAX_TEMPLATE_BODY {
        let size = body.len();
        let up = artifacts::upload_template(
            artifacts.s3,
            artifacts.account,
            artifacts.tls_only,
            ctx.name,
            &body,
            ctx.ui,
        )
        .await?;
        let why = if size > MAX_TEMPLATE_BODY {
            format!("over CloudFormation's inline limit of {MAX_TEMPLATE_BODY}")
        } else {
            "--upload-template".to_string()
        };
        ctx.ui.info(format!(
            "the template is {size} bytes, {why}: uploaded to s3://{}/{}",
            up.bucket, up.key
        ));
        (TemplateSource::Url(up.url), Some(up.bucket))
    } else {
        (TemplateSource::Body(body), None)
    };
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
    let spinner = crate::output::spinner(
        ctx.ui,
        &format!("creating a change set for stack {}", ctx.name),
    );
    let created = create_change_set(
        ctx,
        existing.is_some(),
        &source,
        &changeset::resolve_parameters(template, parameters, &previous),
        &changeset::capabilities(template),
    )
    .await;
    let Some(change_set) = created.inspect_err(|_| spinner.finish_and_clear())? else {
        spinner.finish_and_clear();
        // Some endpoints refuse an empty change set outright instead of failing it.
        return up_to_date(ctx, existing.as_ref(), artifacts_bucket).await;
    };
    let pending = |changes: Vec<ResourceChange>| PendingChangeSet {
        arn: change_set.arn.clone(),
        stack_id: change_set.stack_id.clone(),
        update: existing.is_some(),
        replaced_api_references: changeset::replaced_api_references(template, &changes),
        changes,
        artifacts_bucket: artifacts_bucket.clone(),
    };
    let outcome = wait_for_change_set(ctx, &change_set.arn).await;
    spinner.finish_and_clear();
    match outcome? {
        ChangeSetOutcome::Ready(changes) => Ok(Planned::Review(pending(changes))),
        ChangeSetOutcome::NoChanges => {
            delete_change_set(ctx, &change_set.arn).await;
            up_to_date(ctx, existing.as_ref(), artifacts_bucket).await
        }
        ChangeSetOutcome::Failed(reason) => {
            discard(ctx, &pending(Vec::new())).await;
            Err(Error::failed(format!(
                "CloudFormation refused the change set for stack {}: {reason}",
                ctx.name
            )))
        }
    }
}

/// Removes an unexecuted change set, and the empty stack a create change set made.
pub async fn discard(ctx: &StackCtx<'_>, pending: &PendingChangeSet) {
    delete_change_set(ctx, &pending.arn).await;
    if !pending.update {
        discard_review_stack(ctx, &pending.stack_id).await;
    }
}

/// Executes the change set and follows the stack to the end, redeploys the API's stage when
/// the update replaced something its integrations reference, and returns the outputs.
pub async fn apply(
    ctx: &StackCtx<'_>,
    apigw: &aws_sdk_apigateway::Client,
    pending: &PendingChangeSet,
) -> Result<StackOutputs> {
    let baseline = newest_event_id(ctx.cfn, &pending.stack_id).await?;
    ctx.cfn
        .execute_change_set()
        .change_set_name(&pending.arn)
        .send()
        .await
        .map_err(|e| sdk::failed("executing the change set", &e))?;
    let verb = if pending.update {
        "updating"
    } else {
        "creating"
    };
    let watched = watch(
        ctx,
        &pending.stack_id,
        baseline,
        &format!("{verb} stack {}", ctx.name),
        Some(pending.changes.len()),
    )
    .await?;
    let Some(stack) = watched.stack else {
        return Err(Error::failed(format!(
            "stack {} disappeared while {verb} it",
            ctx.name
        )));
    };
    if classify(status_of(&stack)) != StatusClass::Complete {
        return Err(failure(ctx, &stack, &watched.events, verb).await);
    }
    if pending.update && !pending.replaced_api_references.is_empty() {
        redeploy(ctx, apigw, &stack, &pending.replaced_api_references).await?;
    }
    let outputs = stack_outputs(ctx.cfn, &stack).await?;
    Ok(with_bucket(outputs, pending.artifacts_bucket.clone()))
}

/// The outputs, with the artifacts bucket named when deploy used it.
fn with_bucket(mut outputs: StackOutputs, bucket: Option<String>) -> StackOutputs {
    if let Some(bucket) = bucket {
        outputs.more.insert(OUTPUT_ARTIFACTS_BUCKET.into(), bucket);
    }
    outputs
}

async fn up_to_date(
    ctx: &StackCtx<'_>,
    existing: Option<&Stack>,
    artifacts_bucket: Option<String>,
) -> Result<Planned> {
    let Some(stack) = existing else {
        return Err(Error::failed(format!(
            "CloudFormation found nothing to create for the new stack {}",
            ctx.name
        )));
    };
    let outputs = stack_outputs(ctx.cfn, stack).await?;
    Ok(Planned::UpToDate(with_bucket(outputs, artifacts_bucket)))
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

#[cfg(test)]
#[path = "deploy_tests.rs"]
mod tests;
