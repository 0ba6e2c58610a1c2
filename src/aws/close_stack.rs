//! The first step of `destroy`, before any waiting job is cancelled: the execution-ended rule
//! is disabled, so the cancelled executions start no reconcile against a table about to be
//! deleted, and the API's stage is throttled to 0 requests per second, so no new job slips in
//! while the delete runs (API Gateway answers 429 from then on).

use aws_sdk_apigateway::types::{Op, PatchOperation};

use super::sdk;
use crate::{Error, Result};
use waitable_core::logical_ids::EXECUTION_ENDED_RULE;
use waitable_core::outputs::StackOutputs;

/// The stage-wide throttling settings API Gateway's UpdateStage patches (`/*/*` is every
/// method of the stage).
pub const THROTTLE_PATHS: [&str; 2] = ["/*/*/throttling/rateLimit", "/*/*/throttling/burstLimit"];

/// What was closed, one line each (for the report and the messages).
pub async fn close(
    cfn: &aws_sdk_cloudformation::Client,
    events: &aws_sdk_eventbridge::Client,
    apigw: &aws_sdk_apigateway::Client,
    stack_name: &str,
    outputs: &StackOutputs,
) -> Result<Vec<String>> {
    let mut closed = Vec::new();
    if let Some(rule) = rule_name(cfn, stack_name).await? {
        events
            .disable_rule()
            .name(&rule)
            .send()
            .await
            .map_err(|e| refused(&format!("disabling rule {rule}"), &e))?;
        closed.push(format!("rule {rule} disabled (no reconcile starts)"));
    }
    if let Some((api_id, stage)) = stage_of(&outputs.api_url) {
        let mut update = apigw.update_stage().rest_api_id(&api_id).stage_name(&stage);
        for path in THROTTLE_PATHS {
            update = update.patch_operations(
                PatchOperation::builder()
                    .op(Op::Replace)
                    .path(path)
                    .value("0")
                    .build(),
            );
        }
        update
            .send()
            .await
            .map_err(|e| refused(&format!("closing stage {stage} of API {api_id}"), &e))?;
        closed.push(format!("API stage {stage} throttled to 0 (no new jobs)"));
    }
    Ok(closed)
}

fn refused<E, R>(doing: &str, err: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: sdk::HasStatus + std::fmt::Debug,
{
    Error::failed(format!(
        "{}; the stack was not deleted",
        sdk::failed(doing, err)
    ))
}

/// The rule's physical name; `None` for a stack made before it existed.
async fn rule_name(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Result<Option<String>> {
    let found = cfn
        .describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id(EXECUTION_ENDED_RULE)
        .send()
        .await;
    match found {
        Ok(out) => Ok(out
            .stack_resource_detail()
            .and_then(|d| d.physical_resource_id())
            .map(str::to_string)),
        Err(err) if sdk::is_not_found(&err) => Ok(None),
        Err(err) => Err(sdk::failed("finding the execution-ended rule", &err)),
    }
}

/// The REST API id and stage name from `https://{id}.execute-api.{region}.{suffix}/{stage}`.
pub fn stage_of(api_url: &str) -> Option<(String, String)> {
    let id = super::api_check::rest_api_id(api_url)?;
    let stage = api_url.trim_end_matches('/').rsplit('/').next()?;
    (!stage.is_empty() && !stage.contains('.')).then(|| (id, stage.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stage_comes_from_the_api_url() {
        assert_eq!(
            stage_of("https://abc.execute-api.eu-west-1.amazonaws.com/prod"),
            Some(("abc".into(), "prod".into()))
        );
        assert_eq!(
            stage_of("https://abc.execute-api.eu-west-1.amazonaws.com/dev/"),
            Some(("abc".into(), "dev".into()))
        );
        assert_eq!(
            stage_of("https://abc.execute-api.eu-west-1.amazonaws.com"),
            None
        );
        assert_eq!(stage_of("http://127.0.0.1:4000"), None);
    }
}
