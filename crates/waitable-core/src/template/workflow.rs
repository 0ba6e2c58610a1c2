//! The state machine and the role it runs as.

use serde_json::{Map, Value, json};

use super::iam::{assume_role_from_this_account, inline_policy};
use crate::cfn_intrinsics::{get_att, r#ref, sub_with};
use crate::logical_ids::{JOBS_TABLE, STATE_MACHINE, STATE_MACHINE_ROLE, TABLE_NAME_VAR};
use crate::state_machine;

pub fn resources() -> Map<String, Value> {
    let definition =
        serde_json::to_string(&state_machine::definition()).expect("a JSON value serialises");
    let mut m = Map::new();
    m.insert(
        STATE_MACHINE_ROLE.into(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": assume_role_from_this_account("states.amazonaws.com"),
                "Policies": inline_policy("write-jobs", json!([{
                    "Effect": "Allow",
                    "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
                    "Resource": get_att(JOBS_TABLE, "Arn")
                }]))
            }
        }),
    );
    m.insert(
        STATE_MACHINE.into(),
        json!({
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineType": "STANDARD",
                "RoleArn": get_att(STATE_MACHINE_ROLE, "Arn"),
                "DefinitionString": sub_with(&definition, &[(TABLE_NAME_VAR, r#ref(JOBS_TABLE))])
            }
        }),
    );
    m
}
