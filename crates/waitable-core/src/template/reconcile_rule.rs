//! No job stays STARTED: the EventBridge rule on the jobs state machine's abnormal endings, and
//! the state machine it starts (`core::reconcile_machine`), each with a role of its own.
//!
//! EventBridge delivers Step Functions' status events best effort, and a target it cannot
//! reach is retried, then the event is dropped unless the target has a dead-letter queue. So
//! the target has an explicit retry policy and a dead-letter queue, a failed reconcile raises
//! an alarm, and `waitable reconcile` sweeps what slipped through without any event.

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
                    "RoleArn": get_att(EXECUTION_ENDED_RULE_ROLE, "Arn"),
                    "RetryPolicy": {
                        "MaximumRetryAttempts": RETRY_ATTEMPTS,
                        "MaximumEventAgeInSeconds": RETRY_MAX_AGE_SECONDS
                    },
                    "DeadLetterConfig": { "Arn": get_att(EXECUTION_ENDED_DLQ, "Arn") }
                }]
            }
        }),
    );
    m.extend(dead_letter_queue());
    m.insert(RECONCILE_FAILED_ALARM.into(), alarm());
    m
}

/// How often EventBridge retries starting the reconcile, and for how long (its defaults are
/// 185 attempts over 24 hours); after that the event goes to the dead-letter queue.
pub const RETRY_ATTEMPTS: u32 = 185;
pub const RETRY_MAX_AGE_SECONDS: u32 = 86_400;
/// 14 days, SQS's longest retention: time to notice and replay.
pub const DLQ_RETENTION_SECONDS: u32 = 1_209_600;

/// Why checkov's "SQS queue encrypted with KMS" check is skipped on the dead-letter queue.
pub const CKV_AWS_27_DLQ_REASON: &str = "Encrypted with SQS-managed keys (SqsManagedSseEnabled); EventBridge cannot send to a queue under the AWS-managed aws/sqs KMS key";

/// The rule target's dead-letter queue, encrypted with SQS-managed keys (EventBridge cannot
/// send to a queue encrypted with the AWS-managed `aws/sqs` KMS key), and the queue policy
/// that lets this rule, and only this rule, send to it.
fn dead_letter_queue() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        EXECUTION_ENDED_DLQ.into(),
        json!({
            "Type": "AWS::SQS::Queue",
            "Metadata": {
                "checkov": { "skip": [{ "id": "CKV_AWS_27", "comment": CKV_AWS_27_DLQ_REASON }] }
            },
            // Explicit: the queue holds only copies of events, and goes with the stack.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "SqsManagedSseEnabled": true,
                "MessageRetentionPeriod": DLQ_RETENTION_SECONDS
            }
        }),
    );
    m.insert(
        EXECUTION_ENDED_DLQ_POLICY.into(),
        json!({
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [r#ref(EXECUTION_ENDED_DLQ)],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": { "Service": "events.amazonaws.com" },
                        "Action": "sqs:SendMessage",
                        "Resource": get_att(EXECUTION_ENDED_DLQ, "Arn"),
                        "Condition": { "ArnEquals": { "aws:SourceArn": get_att(EXECUTION_ENDED_RULE, "Arn") } }
                    }]
                }
            }
        }),
    );
    m
}

/// Fires when any reconcile execution fails within five minutes. It has no action: attach
/// your own (an SNS topic) to be told.
fn alarm() -> Value {
    json!({
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": "waitable: a reconcile execution failed, so a job may stay STARTED; run `waitable reconcile` and read the execution's history",
            "Namespace": "AWS/States",
            "MetricName": "ExecutionsFailed",
            "Dimensions": [{ "Name": "StateMachineArn", "Value": r#ref(RECONCILE_STATE_MACHINE) }],
            "Statistic": "Sum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching"
        }
    })
}

/// The outputs naming the alarm and the dead-letter queue.
pub fn outputs() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        OUTPUT_RECONCILE_ALARM.into(),
        json!({
            "Description": "CloudWatch alarm raised when a reconcile execution fails (a job may stay STARTED: run `waitable reconcile`)",
            "Value": r#ref(RECONCILE_FAILED_ALARM)
        }),
    );
    m.insert(
        OUTPUT_RECONCILE_DLQ.into(),
        json!({
            "Description": "Dead-letter queue of execution-ended events the reconcile could not be started for",
            "Value": r#ref(EXECUTION_ENDED_DLQ)
        }),
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_target_retries_then_dead_letters_and_a_failed_reconcile_alarms() {
        let r = resources();
        let target = &r[EXECUTION_ENDED_RULE]["Properties"]["Targets"][0];
        assert_eq!(target["RetryPolicy"]["MaximumRetryAttempts"], 185);
        assert_eq!(target["RetryPolicy"]["MaximumEventAgeInSeconds"], 86_400);
        assert_eq!(
            target["DeadLetterConfig"]["Arn"],
            get_att(EXECUTION_ENDED_DLQ, "Arn")
        );
        let queue = &r[EXECUTION_ENDED_DLQ]["Properties"];
        assert_eq!(queue["SqsManagedSseEnabled"], true);
        assert_eq!(queue["MessageRetentionPeriod"], 1_209_600);
        let statement =
            &r[EXECUTION_ENDED_DLQ_POLICY]["Properties"]["PolicyDocument"]["Statement"][0];
        assert_eq!(statement["Principal"]["Service"], "events.amazonaws.com");
        assert_eq!(statement["Action"], "sqs:SendMessage");
        assert_eq!(
            statement["Condition"]["ArnEquals"]["aws:SourceArn"],
            get_att(EXECUTION_ENDED_RULE, "Arn"),
            "only this rule may send"
        );
        let alarm = &r[RECONCILE_FAILED_ALARM]["Properties"];
        assert_eq!(alarm["Namespace"], "AWS/States");
        assert_eq!(alarm["MetricName"], "ExecutionsFailed");
        assert_eq!(
            alarm["Dimensions"][0]["Value"],
            r#ref(RECONCILE_STATE_MACHINE)
        );
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold");
        assert_eq!(alarm["Threshold"], 0);
        let o = outputs();
        assert_eq!(
            o[OUTPUT_RECONCILE_ALARM]["Value"],
            r#ref(RECONCILE_FAILED_ALARM)
        );
        assert_eq!(o[OUTPUT_RECONCILE_DLQ]["Value"], r#ref(EXECUTION_ENDED_DLQ));
    }
}
