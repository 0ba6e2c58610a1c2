//! The checks a DynamoDB Task gets at deploy: its resource, its parameters, and the
//! Parameters/ResultSelector templates every state may carry.

use serde_json::Value;

use super::fields::{Res, unsupported};
use super::model::DynamoOp;
use super::path::Path;
use crate::ddb;

/// Checks a Parameters/ResultSelector template: every `.$` value must be a path we can follow
/// (intrinsic functions such as `States.Format(...)` are not supported).
pub(super) fn check_template(name: &str, field: &str, v: &Value) -> Res<()> {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if k.ends_with(".$") {
                    let text = v.as_str().ok_or_else(|| {
                        unsupported(name, format!("{field}: {k} must be a path string"))
                    })?;
                    if super::intrinsic::is_intrinsic(text) {
                        super::intrinsic::Format::parse(text)
                            .map_err(|e| unsupported(name, format!("{field}: {e}")))?;
                        continue;
                    }
                    Path::parse(text).map_err(|e| unsupported(name, format!("{field}: {e}")))?;
                } else {
                    check_template(name, field, v)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .try_for_each(|i| check_template(name, field, i)),
        _ => Ok(()),
    }
}

/// `arn:<partition>:states:::dynamodb:<op>` (request-response only).
pub(super) fn dynamo_op(name: &str, resource: &str) -> Res<DynamoOp> {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    let op = match parts.as_slice() {
        ["arn", _partition, "states", "", "", service_op] => service_op.strip_prefix("dynamodb:"),
        _ => None,
    };
    match op {
        Some("putItem") => Ok(DynamoOp::PutItem),
        Some("updateItem") => Ok(DynamoOp::UpdateItem),
        Some("getItem") => Ok(DynamoOp::GetItem),
        Some("deleteItem") => Ok(DynamoOp::DeleteItem),
        _ => Err(unsupported(
            name,
            format!(
                "Task resource {resource} is not supported by the local engine (only dynamodb:putItem, updateItem, getItem, deleteItem)"
            ),
        )),
    }
}

/// Checks the expressions of a DynamoDB task that are literal in the definition.
pub(super) fn check_dynamo_parameters(
    name: &str,
    op: &DynamoOp,
    params: Option<&Value>,
) -> Res<()> {
    let params = params
        .and_then(Value::as_object)
        .ok_or_else(|| unsupported(name, "a DynamoDB task needs Parameters"))?;
    for (field, v) in params {
        // `Field.$` takes its value from a path at run time: only literal values are checked here.
        let (key, literal) = match field.strip_suffix(".$") {
            Some(key) => (key, false),
            None => (field.as_str(), true),
        };
        if !matches!(
            key,
            "TableName"
                | "Item"
                | "Key"
                | "ConditionExpression"
                | "UpdateExpression"
                | "ExpressionAttributeNames"
                | "ExpressionAttributeValues"
                | "ReturnValues"
                | "ProjectionExpression"
                | "ConsistentRead"
        ) {
            return Err(unsupported(
                name,
                format!("DynamoDB parameter {key} is not supported by the local engine"),
            ));
        }
        if let Some(text) = v.as_str().filter(|_| literal) {
            let checked = match key {
                "ConditionExpression" => ddb::parse_condition(text).map(|_| ()),
                "UpdateExpression" if *op == DynamoOp::UpdateItem => {
                    ddb::parse_update(text).map(|_| ())
                }
                _ => Ok(()),
            };
            checked.map_err(|e| unsupported(name, format!("{key}: {e}")))?;
        }
    }
    Ok(())
}
