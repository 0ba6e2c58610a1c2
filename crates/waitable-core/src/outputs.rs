//! The stack's outputs, the same keys on both targets.

use std::collections::BTreeMap;

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
    /// Every other output the stack has (`QueueUrl`, `TopicArn`, ...) and what deploy adds
    /// (`ArtifactsBucket`), by key.
    #[serde(flatten, default)]
    pub more: BTreeMap<String, String>,
}

impl StackOutputs {
    /// The outputs as (key, value) rows: the three every stack has, in the documented order,
    /// then the others by key.
    pub fn rows(&self) -> Vec<(&str, &str)> {
        let mut rows = vec![
            (super::logical_ids::OUTPUT_API_URL, self.api_url.as_str()),
            (
                super::logical_ids::OUTPUT_STATE_MACHINE_ARN,
                self.state_machine_arn.as_str(),
            ),
            (
                super::logical_ids::OUTPUT_TABLE_NAME,
                self.table_name.as_str(),
            ),
        ];
        rows.extend(self.more.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        rows
    }
}
