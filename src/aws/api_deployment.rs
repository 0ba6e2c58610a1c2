//! A new deployment of the API's stage after an update replaced something its integrations
//! reference: a stage serves the snapshot it was given, which still points at the old table,
//! state machine or role (see `core::changeset::replaced_api_references`).

use aws_sdk_cloudformation::types::Stack;

use super::describe::{StackCtx, id_of};
use super::sdk;
use crate::{Error, Result};
use waitable_core::logical_ids;

/// Creates a deployment of the stack's API on its stage (`StageName`), naming what was
/// replaced in the deployment's description.
pub(super) async fn redeploy(
    ctx: &StackCtx<'_>,
    apigw: &aws_sdk_apigateway::Client,
    stack: &Stack,
    replaced: &[String],
) -> Result<()> {
    let stack_id = id_of(stack)?;
    let rest_api_id = ctx
        .cfn
        .describe_stack_resource()
        .stack_name(&stack_id)
        .logical_resource_id(logical_ids::API)
        .send()
        .await
        .map_err(|e| sdk::failed("finding the stack's API", &e))?
        .stack_resource_detail()
        .and_then(|r| r.physical_resource_id())
        .map(str::to_string)
        .ok_or_else(|| Error::failed(format!("stack {} has no {}", ctx.name, logical_ids::API)))?;
    let stage = stack
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some(logical_ids::PARAM_STAGE_NAME))
        .and_then(|p| p.parameter_value())
        .ok_or_else(|| {
            Error::failed(format!(
                "stack {} has no {} parameter",
                ctx.name,
                logical_ids::PARAM_STAGE_NAME
            ))
        })?;
    apigw
        .create_deployment()
        .rest_api_id(&rest_api_id)
        .stage_name(stage)
        .description(format!("waitable: {} replaced", replaced.join(", ")))
        .send()
        .await
        .map_err(|e| {
            sdk::failed(
                &format!("redeploying stage {stage} of API {rest_api_id}"),
                &e,
            )
        })?;
    ctx.ui.info(format!(
        "redeployed stage {stage} of the API: {} replaced",
        replaced.join(", ")
    ));
    Ok(())
}
