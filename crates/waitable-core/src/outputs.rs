//! The stack's outputs, the same keys on both targets.

use serde::{Deserialize, Serialize};

/// What `deploy` prints at the end, and what `submit`/`status` look up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackOutputs {
    /// The API's base URL: POST to it, GET `<ApiUrl>/status`.
    #[serde(rename = "ApiUrl")]
    pub api_url: String,
    #[serde(rename = "StateMachineArn")]
    pub state_machine_arn: String,
    #[serde(rename = "TableName")]
    pub table_name: String,
}

impl StackOutputs {
    /// The outputs as (key, value) rows, in the documented order.
    pub fn rows(&self) -> [(&'static str, &str); 3] {
        [
            (super::logical_ids::OUTPUT_API_URL, &self.api_url),
            (
                super::logical_ids::OUTPUT_STATE_MACHINE_ARN,
                &self.state_machine_arn,
            ),
            (super::logical_ids::OUTPUT_TABLE_NAME, &self.table_name),
        ]
    }
}
