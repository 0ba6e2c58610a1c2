//! The template parts a delivering stack adds: parameters, resources, one IAM policy that
//! grants only the send action on the stack's own queue, topic, bus or webhook, and outputs.
//!
//! The webhook is Step Functions' HTTP Task: it needs an EventBridge connection, whose
//! credentials EventBridge keeps in a Secrets Manager secret of its own. The header given with
//! `--webhook-header` reaches that secret through a NoEcho parameter only, never the template
//! or the definition. Permissions as documented for the HTTP Task ("IAM permissions to run an
//! HTTP Task", AWS Step Functions developer guide): `states:InvokeHTTPEndpoint`,
//! `events:RetrieveConnectionCredentials`, `secretsmanager:GetSecretValue`/`DescribeSecret`.

use serde_json::{Map, Value, json};

use super::*;
use crate::cfn_intrinsics::{get_att, r#ref, sub};
use crate::state_machine::deliver::{
    DEFAULT_ATTEMPTS, DEFAULT_MAX_DELAY_SECONDS, MAX_ATTEMPTS, MAX_MAX_DELAY_SECONDS,
};

/// The delivery queue keeps a message 7 days; its dead-letter queue 14 (SQS's maximum). A
/// message moved to a dead-letter queue keeps its original enqueue time, so the dead-letter
/// queue must keep messages longer than the queue it serves, or they expire on arrival (SQS
/// Developer Guide, "Using dead-letter queues").
pub const QUEUE_RETENTION_SECONDS: u32 = 7 * 86_400;
pub const DEAD_LETTER_RETENTION_SECONDS: u32 = 14 * 86_400;
/// Why the queues carry checkov's CKV_AWS_27 ("encrypted with KMS") as a skip.
pub const CKV_AWS_27_REASON: &str = "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled): no KMS key policy or per-request KMS charge is needed for job messages";
/// The AWS-managed key the topic is encrypted with.
pub const TOPIC_KMS_KEY: &str = "alias/aws/sns";
/// A consumer that fails to process a message this many times moves it to the dead-letter queue.
pub const MAX_RECEIVE_COUNT: u32 = 5;

/// The parameters a delivering stack adds (none without targets).
pub fn parameters(d: &Deliveries) -> Map<String, Value> {
    let mut m = Map::new();
    if d.is_empty() {
        return m;
    }
    m.insert(
        PARAM_ATTEMPTS.into(),
        json!({
            "Type": "Number",
            "Default": DEFAULT_ATTEMPTS.to_string(),
            "MinValue": 0,
            "MaxValue": MAX_ATTEMPTS,
            "Description": "Retries of a failed delivery before the job is FAILED (DeliveryFailed)"
        }),
    );
    m.insert(
        PARAM_MAX_DELAY.into(),
        json!({
            "Type": "Number",
            "Default": DEFAULT_MAX_DELAY_SECONDS.to_string(),
            "MinValue": 1,
            "MaxValue": MAX_MAX_DELAY_SECONDS,
            "Description": "Cap of one back-off between delivery retries (1 s, 2 s, 4 s... up to this); with the attempts it bounds a delivery's age"
        }),
    );
    if d.webhook().is_some() {
        m.insert(
            PARAM_HEADER_NAME.into(),
            json!({
                "Type": "String",
                "Default": DEFAULT_HEADER_NAME,
                "AllowedPattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,512}$",
                "Description": "Header the webhook connection sends with every POST (set with --webhook-header NAME=VALUE)"
            }),
        );
        m.insert(
            PARAM_HEADER_VALUE.into(),
            json!({
                "Type": "String",
                "NoEcho": true,
                "Default": "unset",
                "MinLength": 1,
                "MaxLength": 512,
                "Description": "Value of that header; stored only in the connection's secret"
            }),
        );
    }
    m
}

/// The resources of the targets, and the one policy for the state machine's role.
pub fn resources(d: &Deliveries, role: &str, state_machine: &str) -> Map<String, Value> {
    let mut m = Map::new();
    let mut statements = Vec::new();
    if d.has("queue") {
        m.insert(
            DELIVERY_DEAD_LETTER_QUEUE.into(),
            json!({
                "Type": "AWS::SQS::Queue",
                "DeletionPolicy": "Delete",
                "UpdateReplacePolicy": "Delete",
                "Metadata": sqs_checkov_skip(),
                "Properties": {
                    "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
                    "SqsManagedSseEnabled": true
                }
            }),
        );
        m.insert(
            DELIVERY_QUEUE.into(),
            json!({
                "Type": "AWS::SQS::Queue",
                "DeletionPolicy": "Delete",
                "UpdateReplacePolicy": "Delete",
                "Metadata": sqs_checkov_skip(),
                "Properties": {
                    "MessageRetentionPeriod": QUEUE_RETENTION_SECONDS,
                    "SqsManagedSseEnabled": true,
                    "RedrivePolicy": {
                        "deadLetterTargetArn": get_att(DELIVERY_DEAD_LETTER_QUEUE, "Arn"),
                        "maxReceiveCount": MAX_RECEIVE_COUNT
                    }
                }
            }),
        );
        statements.push(json!({
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": get_att(DELIVERY_QUEUE, "Arn")
        }));
    }
    if d.has("topic") {
        m.insert(
            DELIVERY_TOPIC.into(),
            json!({
                "Type": "AWS::SNS::Topic",
                // The AWS-managed key's policy lets this account's principals use it through
                // SNS, so the publisher's role needs no KMS statement of its own.
                "Properties": {
                    "DisplayName": sub("${AWS::StackName} jobs due"),
                    "KmsMasterKeyId": TOPIC_KMS_KEY
                }
            }),
        );
        statements.push(json!({
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": r#ref(DELIVERY_TOPIC)
        }));
    }
    if let Some(bus) = d.bus() {
        statements.push(json!({
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": sub(&format!(
                "arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:event-bus/{bus}"
            ))
        }));
    }
    if let Some(url) = d.webhook() {
        m.insert(
            WEBHOOK_CONNECTION.into(),
            json!({
                "Type": "AWS::Events::Connection",
                "Properties": {
                    "Description": sub("${AWS::StackName}: credentials of the delivery webhook"),
                    "AuthorizationType": "API_KEY",
                    "AuthParameters": {
                        "ApiKeyAuthParameters": {
                            "ApiKeyName": r#ref(PARAM_HEADER_NAME),
                            "ApiKeyValue": r#ref(PARAM_HEADER_VALUE)
                        }
                    }
                }
            }),
        );
        statements.extend([
            json!({
                "Effect": "Allow",
                "Action": "states:InvokeHTTPEndpoint",
                "Resource": r#ref(state_machine),
                "Condition": {
                    "StringEquals": { "states:HTTPMethod": "POST", "states:HTTPEndpoint": url }
                }
            }),
            json!({
                "Effect": "Allow",
                "Action": "events:RetrieveConnectionCredentials",
                "Resource": get_att(WEBHOOK_CONNECTION, "Arn")
            }),
            json!({
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": get_att(WEBHOOK_CONNECTION, "SecretArn")
            }),
        ]);
    }
    if !statements.is_empty() {
        // A policy of its own, not inline in the role: the HTTP Task's statement names the
        // state machine, which already depends on the role.
        m.insert(
            DELIVERY_POLICY.into(),
            json!({
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "deliver-jobs",
                    "Roles": [r#ref(role)],
                    "PolicyDocument": { "Version": "2012-10-17", "Statement": statements }
                }
            }),
        );
    }
    m
}

fn sqs_checkov_skip() -> Value {
    json!({ "checkov": { "skip": [{ "id": "CKV_AWS_27", "comment": CKV_AWS_27_REASON }] } })
}

/// `Fn::Sub` variables the delivering states use, for the definition.
pub fn definition_vars(d: &Deliveries) -> Vec<(&'static str, Value)> {
    let mut vars = Vec::new();
    if d.has("queue") {
        vars.push((QUEUE_URL_VAR, r#ref(DELIVERY_QUEUE)));
    }
    if d.has("topic") {
        vars.push((TOPIC_ARN_VAR, r#ref(DELIVERY_TOPIC)));
    }
    if d.webhook().is_some() {
        vars.push((CONNECTION_ARN_VAR, get_att(WEBHOOK_CONNECTION, "Arn")));
    }
    vars
}

/// The outputs of the targets: `QueueUrl`, `TopicArn`.
pub fn outputs(d: &Deliveries) -> Map<String, Value> {
    let mut m = Map::new();
    if d.has("queue") {
        m.insert(
            OUTPUT_QUEUE_URL.into(),
            json!({
                "Description": "URL of the queue each job is delivered to when it fires (waitable receive reads it)",
                "Value": r#ref(DELIVERY_QUEUE)
            }),
        );
    }
    if d.has("topic") {
        m.insert(
            OUTPUT_TOPIC_ARN.into(),
            json!({
                "Description": "ARN of the topic each job is published on when it fires",
                "Value": r#ref(DELIVERY_TOPIC)
            }),
        );
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn_intrinsics::references;

    fn d(flags: &[&str]) -> Deliveries {
        Deliveries::parse(&flags.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap()
            .unwrap()
    }

    fn statements(m: &Map<String, Value>) -> Vec<Value> {
        m[DELIVERY_POLICY]["Properties"]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .clone()
    }

    #[test]
    fn nothing_without_targets() {
        let none = Deliveries::default();
        assert!(parameters(&none).is_empty());
        assert!(resources(&none, "R", "SM").is_empty());
        assert!(outputs(&none).is_empty());
        assert!(definition_vars(&none).is_empty());
    }

    #[test]
    fn the_queue_has_a_dead_letter_queue_and_only_send_is_granted() {
        let m = resources(&d(&["queue"]), "R", "SM");
        let q = &m[DELIVERY_QUEUE]["Properties"];
        assert_eq!(
            q["RedrivePolicy"]["deadLetterTargetArn"],
            get_att(DELIVERY_DEAD_LETTER_QUEUE, "Arn")
        );
        assert_eq!(
            statements(&m),
            [
                json!({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": get_att(DELIVERY_QUEUE, "Arn")})
            ]
        );
        assert_eq!(
            m[DELIVERY_POLICY]["Properties"]["Roles"],
            json!([{"Ref": "R"}])
        );
        assert_eq!(
            outputs(&d(&["queue"]))[OUTPUT_QUEUE_URL]["Value"],
            r#ref(DELIVERY_QUEUE)
        );
    }

    #[test]
    fn the_dead_letter_queue_outlives_the_queue_and_the_topic_is_encrypted() {
        let m = resources(&d(&["queue", "topic"]), "R", "SM");
        let keep = |id: &str| {
            m[id]["Properties"]["MessageRetentionPeriod"]
                .as_u64()
                .unwrap()
        };
        assert!(keep(DELIVERY_DEAD_LETTER_QUEUE) > keep(DELIVERY_QUEUE));
        assert!(
            keep(DELIVERY_DEAD_LETTER_QUEUE) <= 1_209_600,
            "SQS keeps at most 14 days"
        );
        assert_eq!(
            m[DELIVERY_TOPIC]["Properties"]["KmsMasterKeyId"],
            "alias/aws/sns"
        );
        for q in [DELIVERY_QUEUE, DELIVERY_DEAD_LETTER_QUEUE] {
            assert_eq!(m[q]["Properties"]["SqsManagedSseEnabled"], true);
            assert_eq!(m[q]["Metadata"]["checkov"]["skip"][0]["id"], "CKV_AWS_27");
        }
    }

    #[test]
    fn each_statement_is_one_action_family_on_one_own_resource() {
        let m = resources(
            &d(&[
                "queue",
                "topic",
                "bus=orders",
                "webhook=https://h.example/x",
            ]),
            "R",
            "SM",
        );
        for st in statements(&m) {
            let text = st.to_string();
            assert!(!text.contains('*'), "wildcard: {text}");
            let refs = references(&st["Resource"]);
            if st["Action"] == "events:PutEvents" {
                assert_eq!(
                    st["Resource"],
                    sub(
                        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/orders"
                    )
                );
            } else {
                assert_eq!(refs.len(), 1, "{text}");
                assert!(m.contains_key(&refs[0]) || refs[0] == "SM", "{text}");
            }
        }
        let invoke = statements(&m)
            .into_iter()
            .find(|s| s["Action"] == "states:InvokeHTTPEndpoint")
            .unwrap();
        assert_eq!(
            invoke["Condition"]["StringEquals"]["states:HTTPEndpoint"],
            "https://h.example/x"
        );
        assert_eq!(
            invoke["Condition"]["StringEquals"]["states:HTTPMethod"],
            "POST"
        );
    }

    #[test]
    fn the_webhook_header_value_is_a_noecho_parameter_used_only_by_the_connection() {
        let flags = d(&["webhook=https://h.example/x"]);
        let p = parameters(&flags);
        assert_eq!(p[PARAM_HEADER_VALUE]["NoEcho"], true);
        let m = resources(&flags, "R", "SM");
        let users: Vec<&String> = m
            .iter()
            .filter(|(_, r)| references(r).contains(&PARAM_HEADER_VALUE.to_string()))
            .map(|(k, _)| k)
            .collect();
        assert_eq!(users, [WEBHOOK_CONNECTION]);
        assert_eq!(
            definition_vars(&flags),
            [(CONNECTION_ARN_VAR, get_att(WEBHOOK_CONNECTION, "Arn"))]
        );
    }
}
