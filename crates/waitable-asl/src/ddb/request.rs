//! What DynamoDB checks before it looks at any item: the request's members and the table's
//! existence. Both table stores (the engine's SQLite table and `local exec`'s in-memory ones)
//! call these, so they refuse the same requests in the same order.

use serde_json::Value;

use super::{DdbError, Op, VALIDATION};

/// DynamoDB checks a request's members before it looks for the table: the table name (3 to
/// 255 of `[a-zA-Z0-9_.-]`), and the member the operation needs (`Item` for putItem, `Key`
/// otherwise) present. A refusal is a `ValidationException`.
pub fn check_request(op: &Op, params: &Value) -> Result<(), DdbError> {
    let invalid = |detail: String| DdbError {
        code: VALIDATION,
        message: format!("1 validation error detected: {detail}"),
    };
    let member = match op {
        Op::PutItem => ("Item", "item"),
        _ => ("Key", "key"),
    };
    for (field, wire) in [("TableName", "tableName"), member] {
        if params.get(field).is_none_or(Value::is_null) {
            return Err(invalid(format!(
                "Value null at '{wire}' failed to satisfy constraint: Member must not be null"
            )));
        }
    }
    let name = params["TableName"].as_str().unwrap_or_default();
    let constraint = if !(3..=255).contains(&name.len()) {
        Some("Member must have length between 3 and 255")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        Some("Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    } else {
        None
    };
    match constraint {
        Some(c) => Err(invalid(format!(
            "Value '{name}' at 'tableName' failed to satisfy constraint: {c}"
        ))),
        None => Ok(()),
    }
}

/// The error for a table that does not exist.
pub fn table_not_found(name: &str) -> DdbError {
    DdbError {
        code: "ResourceNotFoundException",
        message: format!(
            "Requested resource not found (Service: DynamoDb, Status Code: 400): table {name} does not exist"
        ),
    }
}
