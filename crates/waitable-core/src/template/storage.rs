//! The jobs table.

use serde_json::{Map, Value, json};

use crate::logical_ids::JOBS_TABLE;
use crate::retention::ATTR_EXPIRES_AT;
use crate::status_index;

/// Why the table uses DynamoDB's AWS-owned key rather than a customer-managed one (checkov
/// CKV_AWS_119): the jobs hold no data that needs a key policy of its own, and a KMS key would
/// add a monthly charge and a per-request KMS call to every job's three writes.
pub const CKV_AWS_119_REASON: &str = "Encrypted at rest with the AWS-owned key: the jobs need no key policy of their own, and a customer-managed key would add a monthly charge and a KMS call to every write";

pub fn resources() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        JOBS_TABLE.into(),
        json!({
            "Type": "AWS::DynamoDB::Table",
            // `waitable destroy` turns deletion protection off after its confirmation, then
            // deletes the table with the stack. A change that would replace the table keeps the
            // old one (and its jobs) instead of deleting it.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Retain",
            "Metadata": {
                "checkov": { "skip": [{ "id": "CKV_AWS_119", "comment": CKV_AWS_119_REASON }] }
            },
            "Properties": {
                "AttributeDefinitions": status_index::attribute_definitions(),
                "KeySchema": [{ "AttributeName": "Id", "KeyType": "HASH" }],
                "GlobalSecondaryIndexes": status_index::global_secondary_indexes(),
                "BillingMode": "PAY_PER_REQUEST",
                "DeletionProtectionEnabled": true,
                // false: the AWS-owned key, free; true would select the AWS-managed KMS key,
                // billed per request (AWS::DynamoDB::Table SSESpecification reference).
                "SSESpecification": { "SSEEnabled": false },
                "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": true },
                // Always on, whatever RetentionDays says: DynamoDB allows one TTL change per
                // table per hour, so a toggle would fail the second deploy within the hour.
                // RetentionDays 0 writes a far-future ExpiresAt instead (core::retention).
                "TimeToLiveSpecification": {
                    "AttributeName": ATTR_EXPIRES_AT,
                    "Enabled": true
                }
            }
        }),
    );
    m
}
