//! A stack's outputs (`ApiUrl`, `StateMachineArn`, `TableName`): as CloudFormation reports
//! them, or worked out from the deployed template and resources when it reports none; and its
//! `RetentionDays` parameter, which every submit's `ExpiresAt` follows; and the deployed
//! template itself, with the delivery targets it remembers.

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::Stack;
use serde_json::Value;

use super::describe::{describe, id_of};
use super::sdk;
use crate::{Error, Result};
use waitable_core::outputs::StackOutputs;
use waitable_core::{logical_ids, resolve, retention};

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
    let fixed = [
        logical_ids::OUTPUT_API_URL,
        logical_ids::OUTPUT_STATE_MACHINE_ARN,
        logical_ids::OUTPUT_TABLE_NAME,
    ];
    Ok(StackOutputs {
        api_url: get(fixed[0])?,
        state_machine_arn: get(fixed[1])?,
        table_name: get(fixed[2])?,
        more: pairs
            .iter()
            .filter(|(k, _)| !fixed.contains(&k.as_str()))
            .cloned()
            .collect(),
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

/// The template a stack was deployed with (GetTemplate answers JSON or YAML, as it was sent).
pub async fn deployed_template(cfn: &Client, stack_id: &str) -> Result<Value> {
    let body = cfn
        .get_template()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| sdk::failed("reading the deployed template", &e))?
        .template_body()
        .unwrap_or_default()
        .to_string();
    serde_json::from_str(&body)
        .or_else(|_| serde_norway::from_str(&body))
        .map_err(|e| Error::failed(format!("reading the deployed template: {e}")))
}

async fn resolve_outputs(cfn: &Client, stack: &Stack) -> Result<Vec<(String, String)>> {
    let stack_id = id_of(stack)?;
    let template = deployed_template(cfn, &stack_id).await?;
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

/// The stack's `RetentionDays` as DescribeStacks reports its parameters; the default when it
/// has none (a stack deployed before the parameter existed).
pub fn retention_days_of(stack: &Stack) -> Result<u32> {
    let value = stack
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some(logical_ids::PARAM_RETENTION_DAYS))
        .and_then(|p| p.parameter_value());
    retention::retention_days(value).map_err(|e| {
        Error::failed(format!(
            "stack {}: {e}",
            stack.stack_name().unwrap_or_default()
        ))
    })
}

/// The outputs of the deployed stack; `None` when there is no stack (the caller names the
/// account and region in its message).
pub async fn outputs(cfn: &Client, name: &str) -> Result<Option<StackOutputs>> {
    match describe(cfn, name).await? {
        Some(stack) => Ok(Some(stack_outputs(cfn, &stack).await?)),
        None => Ok(None),
    }
}

/// The outputs and the `RetentionDays` of the deployed stack, from one DescribeStacks.
pub async fn outputs_and_retention(
    cfn: &Client,
    name: &str,
) -> Result<Option<(StackOutputs, u32)>> {
    let Some(stack) = describe(cfn, name).await? else {
        return Ok(None);
    };
    Ok(Some((
        stack_outputs(cfn, &stack).await?,
        retention_days_of(&stack)?,
    )))
}

/// The delivery targets the deployed stack remembers in its template (none without a stack).
pub async fn deployed_deliveries(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<waitable_core::delivery::Deliveries> {
    use waitable_core::delivery::Deliveries;
    let Some(existing) = super::describe::describe(cfn, stack).await? else {
        return Ok(Deliveries::default());
    };
    let id = existing.stack_id().unwrap_or(stack);
    let template = deployed_template(cfn, id).await?;
    Deliveries::from_template(&template)
        .map_err(|e| Error::failed(format!("the deployed template's delivery targets: {e}")))
}
