//! IAM documents shared by the stack's roles.

use serde_json::{Value, json};

use crate::cfn_intrinsics::r#ref;

/// Trust policy for a role that `service` assumes, limited to this account.
///
/// Only for services that set `aws:SourceAccount` when they assume a role (Step Functions,
/// EventBridge). API Gateway does not, so its integration role uses [`assume_role_by`].
pub fn assume_role_from_this_account(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "aws:SourceAccount": r#ref("AWS::AccountId") } }
        }]
    })
}

/// Trust policy for a role that `service` assumes, with no condition.
///
/// API Gateway assumes an integration's credentials role without `aws:SourceAccount`; with
/// that condition every call answers 500 ("API Gateway does not have permission to assume the
/// provided role"), as a live stack showed (aws-solutions-library-samples/
/// accelerated-intelligent-document-processing-on-aws, pull request 479). Least privilege
/// stays in the role's permissions.
pub fn assume_role_by(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole"
        }]
    })
}

/// One inline policy named `name` with `statements`.
pub fn inline_policy(name: &str, statements: Value) -> Value {
    json!([{
        "PolicyName": name,
        "PolicyDocument": { "Version": "2012-10-17", "Statement": statements }
    }])
}
