//! No job stays STARTED: the EventBridge rule on the jobs state machine's abnormal endings, and
//! the state machine it starts (`core::reconcile_machine`), each with a role of its own.

use serde_json::{Map, Value, json};

use super::iam::{assume_role_from_this_account, inline_policy};
use crate::cfn_intrinsics::{get_att, r#ref, sub_with};
use crate::logical_ids::*;
use crate::reconcile_machine;

pub fn resources() -> Map<String, Value> {
    let definition =
        serde_json::to_string(&reconcile_machine::definition()).expect("a JSON value serialises");
    let statuses: Vec<&str> = reconcile_machine::OUTCOMES
        .iter()
        .map(|(s, _, _)| *s)
        .collect();
    let mut m = Map::new();
    m.insert(
        RECONCILE_ROLE.into(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": assume_role_from_this_account("states.amazonaws.com"),
                "Policies": inline_policy("update-jobs", json!([{
                    "Effect": "Allow",
                    "Action": "dynamodb:UpdateItem",
                    "Resource": get_att(JOBS_TABLE, "Arn")
                }]))
            }
        }),
    );
    m.insert(
        RECONCILE_STATE_MACHINE.into(),
        json!({
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineType": "STANDARD",
                "RoleArn": get_att(RECONCILE_ROLE, "Arn"),
                "DefinitionString": sub_with(&definition, &[(TABLE_NAME_VAR, r#ref(JOBS_TABLE))])
            }
        }),
    );
    m.insert(
        EXECUTION_ENDED_RULE_ROLE.into(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": assume_role_from_this_account("events.amazonaws.com"),
                "Policies": inline_policy("start-reconcile", json!([{
                    "Effect": "Allow",
                    "Action": "states:StartExecution",
                    "Resource": r#ref(RECONCILE_STATE_MACHINE)
                }]))
            }
        }),
    );
    m.insert(
        EXECUTION_ENDED_RULE.into(),
        json!({
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": "waitable: a job's execution ended without recording it (timeout, stopped elsewhere, uncatchable error)",
                "State": "ENABLED",
                "EventPattern": {
                    "source": [reconcile_machine::SOURCE],
                    "detail-type": [reconcile_machine::DETAIL_TYPE],
                    "detail": {
                        "status": statuses,
                        "stateMachineArn": [r#ref(STATE_MACHINE)]
                    }
                },
                "Targets": [{
                    "Id": "reconcile",
                    "Arn": r#ref(RECONCILE_STATE_MACHINE),
                    "RoleArn": get_att(EXECUTION_ENDED_RULE_ROLE, "Arn")
                }]
            }
        }),
    );
    m
}
