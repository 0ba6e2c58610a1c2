//! DynamoDB semantics for the task resources, as far as a jobs table needs: attribute values,
//! `UpdateExpression` (SET, REMOVE), `ConditionExpression` (comparisons, AND/OR/NOT,
//! attribute_exists, attribute_not_exists, begins_with) with ExpressionAttributeNames/Values.
//! Pure: it computes a write from the current item; the store applies it.
//!
//! - `value`: attribute values (shape checks, keys, ordering);
//! - `expr`: the expression lexer and parser (typed trees);
//! - `eval`: evaluating a call against the current item;
//! - `size`: DynamoDB's limits on an item's and its keys' sizes.

mod eval;
mod expr;
mod request;
mod size;
mod value;

pub use eval::{apply, target_key};
pub use expr::{parse_condition, parse_update};
pub use request::{check_request, table_not_found};
pub use size::{MAX_ITEM_BYTES, check_write, item_size};
pub use value::Item;

/// A DynamoDB error, by its service code (`ConditionalCheckFailedException`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DdbError {
    pub code: &'static str,
    pub message: String,
}

/// The service code of a request DynamoDB refuses as malformed.
const VALIDATION: &str = "ValidationException";

impl DdbError {
    fn validation(message: impl Into<String>) -> Self {
        DdbError {
            code: VALIDATION,
            message: message.into(),
        }
    }

    fn condition_failed() -> Self {
        DdbError {
            code: "ConditionalCheckFailedException",
            message: "The conditional request failed".into(),
        }
    }

    /// The error name a Step Functions task reports: `DynamoDB.<code>`, except that Step
    /// Functions reports DynamoDB's `ValidationException` as `DynamoDB.AmazonDynamoDBException`
    /// (as recorded on AWS).
    pub fn states_error(&self) -> String {
        match self.code {
            VALIDATION => "DynamoDB.AmazonDynamoDBException".into(),
            code => format!("DynamoDB.{code}"),
        }
    }
}

type Res<T> = Result<T, DdbError>;

/// What a call does to the table.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put(String, Item),
    Delete(String),
}

/// The operations the task resources map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// The names are DynamoDB's own operation names.
#[allow(clippy::enum_variant_names)]
pub enum Op {
    PutItem,
    UpdateItem,
    GetItem,
    DeleteItem,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_error_names_are_those_step_functions_reports() {
        assert_eq!(
            DdbError::validation("bad").states_error(),
            "DynamoDB.AmazonDynamoDBException"
        );
        assert_eq!(
            DdbError::condition_failed().states_error(),
            "DynamoDB.ConditionalCheckFailedException"
        );
    }
}
