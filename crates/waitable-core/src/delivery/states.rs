//! The states that deliver a fired job, spliced into the state machine when a stack has
//! delivery targets.
//!
//! ```text
//! ValidateInput ─(no payload)─> AddNullPayload ─> SetInitialStatus ─┐
//!      └──────(payload)──────> SetInitialStatusWithPayload ─────────┴─> WaitUntil
//!   ─> FireJob ─> DeliverToQueue ─> ... ─> DeliverToWebhook ─> RecordDelivered (End)
//!        │ STARTED no more           │ retries spent
//!        v                           v
//!   CancelledMeanwhile (Succeed)   MarkDeliveryFailed ─> JobFailed
//! ```
//! Ordering: `FireJob` is the conditional update on `ProcessStatus = STARTED`, and it comes
//! before any delivery. A job cancelled before it fired is CANCELLED by then (cancel stops the
//! execution, then marks the row), so the claim fails and nothing is sent. A crash or a retry
//! after a send repeats only the send (at least once); the job is COMPLETED, with
//! `DeliveredAt`, only after every target took the message.

use serde_json::{Map, Value, json};

use super::message::{self, FIRED_AT_PATH, PAYLOAD_PATH};
use super::{
    CONNECTION_ARN_VAR, Deliveries, EVENT_DETAIL_TYPE, PARAM_ATTEMPTS, PARAM_MAX_DELAY,
    QUEUE_URL_VAR, TOPIC_ARN_VAR, Target,
};
use crate::job::{ATTR_ID, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, JobStatus};

pub const ADD_NULL_PAYLOAD: &str = "AddNullPayload";
pub const FIRE_JOB: &str = "FireJob";
pub const RECORD_DELIVERED: &str = "RecordDelivered";
pub const MARK_DELIVERY_FAILED: &str = "MarkDeliveryFailed";
pub const CANCELLED_MEANWHILE: &str = "CancelledMeanwhile";
/// The record's attribute set when every target took the message.
pub const ATTR_DELIVERED_AT: &str = "DeliveredAt";
/// Prefix of the `Error` attribute of a job whose delivery failed for good.
pub const DELIVERY_FAILED: &str = "DeliveryFailed";

const CONDITION_FAILED: &str = "DynamoDB.ConditionalCheckFailedException";
/// Defaults of the retry parameters: 1 s, 2 s, 4 s... capped, with full jitter.
pub const DEFAULT_ATTEMPTS: u32 = 5;
pub const DEFAULT_MAX_DELAY_SECONDS: u32 = 60;

/// HTTP answers worth another try: 429, every 5xx, and no answer at all (socket errors and
/// timeouts). Any other non-2xx (a 4xx) fails the delivery at once.
pub fn webhook_retryable_errors() -> Vec<String> {
    let mut names = vec![
        "States.Http.Socket".to_string(),
        "States.Timeout".to_string(),
    ];
    names.push("States.Http.StatusCode.429".into());
    names.extend((500..=599).map(|c| format!("States.Http.StatusCode.{c}")));
    names
}

/// The name of the state that delivers to `target`.
pub fn state_name(target: &Target) -> String {
    let kind = target.kind();
    let mut chars = kind.chars();
    let first = chars
        .next()
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or_default();
    format!("DeliverTo{first}{}", chars.as_str())
}

/// The names of the states [`splice`] adds for `d`.
pub fn added_states(d: &Deliveries) -> Vec<String> {
    let mut names: Vec<String> = [ADD_NULL_PAYLOAD, FIRE_JOB].map(String::from).into();
    names.extend(d.targets.iter().map(state_name));
    names.extend([RECORD_DELIVERED, MARK_DELIVERY_FAILED, CANCELLED_MEANWHILE].map(String::from));
    names
}

/// What [`splice`] needs to know about the state machine it changes.
pub struct Hooks<'a> {
    pub table: &'a str,
    /// The payload-less first write: the Choice rules that lead to it go to
    /// `AddNullPayload` instead, which then goes on to it.
    pub no_payload_next: &'a str,
    /// Other payload-less first writes (target, name of its own AddNullPayload Pass).
    pub more_no_payload: Vec<(String, String)>,
    /// The Wait whose end fires the job; its `Next` becomes `FireJob`.
    pub wait: &'a str,
    /// The state the old `Wait` went to (replaced, so removed).
    pub replaced: &'a str,
    /// The Retry of DynamoDB writes, and the Catch that marks the job FAILED.
    pub write_retry: Value,
    pub failed_catch: Value,
    /// The Fail state reached after a job was marked FAILED.
    pub job_failed: &'a str,
}

/// Turns the plain state machine (`definition["States"]`) into one that delivers to `d`.
/// With no targets it changes nothing.
pub fn splice(states: &mut Map<String, Value>, d: &Deliveries, h: &Hooks) {
    if d.is_empty() {
        return;
    }
    let mut no_payload = vec![(h.no_payload_next.to_string(), ADD_NULL_PAYLOAD.to_string())];
    no_payload.extend(h.more_no_payload.iter().cloned());
    // Every Choice that leads to a payload-less first write (ValidateInput, and the Choice
    // that picks the first write of an input with an expiry) goes through its AddNullPayload.
    for (target, pass) in &no_payload {
        for choice in states.values_mut().filter(|s| s["Type"] == "Choice") {
            for rule in choice["Choices"].as_array_mut().into_iter().flatten() {
                if rule["Next"] == target.as_str() {
                    rule["Next"] = pass.as_str().into();
                }
            }
            if choice["Default"] == target.as_str() {
                choice["Default"] = pass.as_str().into();
            }
        }
    }
    if let Some(wait) = states.get_mut(h.wait) {
        wait["Next"] = FIRE_JOB.into();
    }
    states.remove(h.replaced);
    for (target, pass) in no_payload {
        states.insert(
            pass,
            json!({
                "Type": "Pass",
                "Comment": "A job without a payload is delivered with \"Payload\":null",
                "Result": "null",
                "ResultPath": PAYLOAD_PATH,
                "Next": target
            }),
        );
    }
    let names: Vec<String> = d.targets.iter().map(state_name).collect();
    states.insert(FIRE_JOB.into(), fire_job(h, &names[0]));
    for (i, target) in d.targets.iter().enumerate() {
        let next = names.get(i + 1).map_or(RECORD_DELIVERED, String::as_str);
        states.insert(names[i].clone(), deliver(target, next));
    }
    states.insert(RECORD_DELIVERED.into(), record_delivered(h));
    states.insert(MARK_DELIVERY_FAILED.into(), mark_delivery_failed(h));
    states.insert(
        CANCELLED_MEANWHILE.into(),
        json!({
            "Type": "Succeed",
            "Comment": "The job was cancelled before it fired (or while it was delivered): nothing more to do"
        }),
    );
}

fn update_item() -> &'static str {
    "arn:${AWS::Partition}:states:::dynamodb:updateItem"
}

fn key() -> Value {
    json!({ ATTR_ID: { "S.$": "$$.Execution.Name" } })
}

fn catches(h: &Hooks) -> Value {
    json!([
        { "ErrorEquals": [CONDITION_FAILED], "Next": CANCELLED_MEANWHILE },
        h.failed_catch
    ])
}

fn fire_job(h: &Hooks, first: &str) -> Value {
    json!({
        "Type": "Task",
        "Comment": "The claim: only a job still STARTED is delivered, so one cancelled before it fired never is",
        "Resource": update_item(),
        "Parameters": {
            "TableName": h.table,
            "Key": key(),
            "UpdateExpression": "SET #updated = :now",
            "ConditionExpression": "#status = :started",
            "ExpressionAttributeNames": { "#status": ATTR_PROCESS_STATUS, "#updated": ATTR_LAST_UPDATED },
            "ExpressionAttributeValues": {
                ":started": { "S": JobStatus::Started.as_str() },
                ":now": { "S.$": "$$.State.EnteredTime" }
            }
        },
        // When it fired, and the message's braces (States.Format arguments, see `message`).
        "ResultSelector": { "At.$": "$$.State.EnteredTime", "Open": "{", "Close": "}" },
        "ResultPath": FIRED_AT_PATH.trim_end_matches(".At"),
        "Retry": h.write_retry,
        "Catch": catches(h),
        "Next": first
    })
}

/// The delivery retry: attempts and the cap of one back-off are stack parameters, written as
/// `${...}` placeholders that [`unquote_placeholders`] turns into numbers.
fn delivery_retry(target: &Target) -> Value {
    let errors: Value = match target {
        Target::Webhook(_) => webhook_retryable_errors().into(),
        _ => json!(["States.ALL"]),
    };
    json!([{
        "ErrorEquals": errors,
        "IntervalSeconds": 1,
        "MaxAttempts": format!("${{{PARAM_ATTEMPTS}}}"),
        "BackoffRate": 2.0,
        "MaxDelaySeconds": format!("${{{PARAM_MAX_DELAY}}}"),
        "JitterStrategy": "FULL"
    }])
}

/// The definition text with the numeric placeholders unquoted (`"${DeliveryAttempts}"` ->
/// `${DeliveryAttempts}`), ready for `Fn::Sub` to put the parameter's number there.
pub fn unquote_placeholders(text: &str) -> String {
    [PARAM_ATTEMPTS, PARAM_MAX_DELAY]
        .iter()
        .fold(text.to_string(), |t, p| {
            t.replace(&format!("\"${{{p}}}\""), &format!("${{{p}}}"))
        })
}

fn deliver(target: &Target, next: &str) -> Value {
    let body = message::expression();
    let id_attribute =
        json!({ "Id": { "DataType": "String", "StringValue.$": "$$.Execution.Name" } });
    let (comment, resource, parameters) = match target {
        Target::Queue => (
            "Send the message to the stack's queue",
            "arn:${AWS::Partition}:states:::sqs:sendMessage",
            json!({
                "QueueUrl": format!("${{{QUEUE_URL_VAR}}}"),
                "MessageBody.$": body,
                "MessageAttributes": id_attribute
            }),
        ),
        Target::Topic => (
            "Publish the message on the stack's topic",
            "arn:${AWS::Partition}:states:::sns:publish",
            json!({
                "TopicArn": format!("${{{TOPIC_ARN_VAR}}}"),
                "Message.$": body,
                "MessageAttributes": id_attribute
            }),
        ),
        Target::Bus(name) => (
            "Put the message on the event bus (source waitable.<stack>, detail-type Job Due)",
            "arn:${AWS::Partition}:states:::events:putEvents",
            json!({
                "Entries": [{
                    "EventBusName": name,
                    "Source": "waitable.${AWS::StackName}",
                    "DetailType": EVENT_DETAIL_TYPE,
                    "Detail.$": body
                }]
            }),
        ),
        Target::Webhook(url) => (
            "POST the message to the webhook: 2xx delivers, 429/5xx/no answer are retried, other 4xx fail",
            "arn:${AWS::Partition}:states:::http:invoke",
            json!({
                "ApiEndpoint": url,
                "Method": "POST",
                "Authentication": { "ConnectionArn": format!("${{{CONNECTION_ARN_VAR}}}") },
                "Headers": {
                    "Content-Type": "application/json",
                    "Idempotency-Key.$": "$$.Execution.Name"
                },
                "RequestBody.$": body
            }),
        ),
    };
    json!({
        "Type": "Task",
        "Comment": comment,
        "Resource": resource,
        "Parameters": parameters,
        "ResultPath": null,
        "Retry": delivery_retry(target),
        "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.Failure", "Next": MARK_DELIVERY_FAILED }],
        "Next": next
    })
}

fn record_delivered(h: &Hooks) -> Value {
    json!({
        "Type": "Task",
        "Comment": "Every target took the message: COMPLETED, with DeliveredAt",
        "Resource": update_item(),
        "Parameters": {
            "TableName": h.table,
            "Key": key(),
            "UpdateExpression": "SET #status = :completed, #updated = :now, #delivered = :now",
            "ConditionExpression": "#status = :started",
            "ExpressionAttributeNames": {
                "#status": ATTR_PROCESS_STATUS,
                "#updated": ATTR_LAST_UPDATED,
                "#delivered": ATTR_DELIVERED_AT
            },
            "ExpressionAttributeValues": {
                ":completed": { "S": JobStatus::Completed.as_str() },
                ":started": { "S": JobStatus::Started.as_str() },
                ":now": { "S.$": "$$.State.EnteredTime" }
            }
        },
        "ResultPath": null,
        "Retry": h.write_retry,
        "Catch": catches(h),
        "End": true
    })
}

fn mark_delivery_failed(h: &Hooks) -> Value {
    json!({
        "Type": "Task",
        "Comment": "Retries spent: FAILED with DeliveryFailed: <error>: <cause>",
        "Resource": update_item(),
        "Parameters": crate::state_machine::fail_if_started(
            h.table,
            json!({ "S.$": format!("States.Format('{DELIVERY_FAILED}: {{}}: {{}}', $.Failure.Error, $.Failure.Cause)") }),
        ),
        "ResultPath": null,
        "Retry": h.write_retry,
        "Catch": [{ "ErrorEquals": [CONDITION_FAILED], "Next": CANCELLED_MEANWHILE }],
        "Next": h.job_failed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(flags: &[&str]) -> Deliveries {
        Deliveries::parse(&flags.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap()
            .unwrap()
    }

    fn base() -> Map<String, Value> {
        json!({
            "V": { "Type": "Choice", "Choices": [
                { "Variable": "$.Payload", "IsPresent": false, "Next": "S" },
                { "Variable": "$.Payload", "IsString": true, "Next": "SP" }
            ], "Default": "S" },
            "S": { "Type": "Pass", "Next": "W" },
            "SP": { "Type": "Pass", "Next": "W" },
            "W": { "Type": "Wait", "Seconds": 1, "Next": "F" },
            "F": { "Type": "Succeed" },
            "MF": { "Type": "Pass", "Next": "JF" },
            "JF": { "Type": "Fail" }
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn hooks() -> Hooks<'static> {
        Hooks {
            table: "${TableName}",
            no_payload_next: "S",
            more_no_payload: vec![],
            wait: "W",
            replaced: "F",
            write_retry: json!([{ "ErrorEquals": ["DynamoDB.ThrottlingException"] }]),
            failed_catch: json!({ "ErrorEquals": ["States.ALL"], "ResultPath": "$.Failure", "Next": "MF" }),
            job_failed: "JF",
        }
    }

    #[test]
    fn no_targets_change_nothing() {
        let mut s = base();
        splice(&mut s, &Deliveries::default(), &hooks());
        assert_eq!(s, base());
    }

    #[test]
    fn the_claim_comes_before_every_delivery_and_completion_after() {
        let mut s = base();
        let targets = d(&["queue", "topic", "bus=b", "webhook=https://h.example/x"]);
        splice(&mut s, &targets, &hooks());
        assert_eq!(s["W"]["Next"], FIRE_JOB);
        assert!(!s.contains_key("F"));
        // Walk the success path from the Wait.
        let mut path = vec![];
        let mut at = s["W"]["Next"].as_str().unwrap().to_string();
        loop {
            path.push(at.clone());
            match s[&at]["Next"].as_str() {
                Some(n) => at = n.to_string(),
                None => break,
            }
        }
        assert_eq!(
            path,
            [
                FIRE_JOB,
                "DeliverToQueue",
                "DeliverToTopic",
                "DeliverToBus",
                "DeliverToWebhook",
                RECORD_DELIVERED
            ]
        );
        assert_eq!(s[FIRE_JOB]["ConditionExpression"], json!(null));
        assert_eq!(
            s[FIRE_JOB]["Parameters"]["ConditionExpression"],
            "#status = :started"
        );
        assert_eq!(s[FIRE_JOB]["Catch"][0]["Next"], CANCELLED_MEANWHILE);
        assert_eq!(s[RECORD_DELIVERED]["End"], true);
        assert!(
            s[RECORD_DELIVERED]["Parameters"]["UpdateExpression"]
                .as_str()
                .unwrap()
                .contains("#delivered")
        );
        // Payload-less jobs pass through AddNullPayload.
        assert_eq!(s["V"]["Choices"][0]["Next"], ADD_NULL_PAYLOAD);
        assert_eq!(s["V"]["Default"], ADD_NULL_PAYLOAD);
        assert_eq!(s["V"]["Choices"][1]["Next"], "SP");
        assert_eq!(s[ADD_NULL_PAYLOAD]["Next"], "S");
        let mut names: Vec<String> = added_states(&targets);
        names.sort();
        let mut added: Vec<String> = s
            .keys()
            .filter(|k| !base().contains_key(*k))
            .cloned()
            .collect();
        added.sort();
        assert_eq!(names, added);
    }

    #[test]
    fn every_delivery_retries_then_marks_the_job_delivery_failed() {
        let mut s = base();
        splice(
            &mut s,
            &d(&["queue", "webhook=https://h.example/x"]),
            &hooks(),
        );
        for name in ["DeliverToQueue", "DeliverToWebhook"] {
            let st = &s[name];
            assert_eq!(st["Catch"][0]["Next"], MARK_DELIVERY_FAILED, "{name}");
            assert_eq!(
                st["Retry"][0]["MaxAttempts"], "${DeliveryAttempts}",
                "{name}"
            );
            assert_eq!(st["Retry"][0]["BackoffRate"], 2.0);
        }
        assert_eq!(
            s["DeliverToQueue"]["Retry"][0]["ErrorEquals"],
            json!(["States.ALL"])
        );
        let web: Vec<String> =
            serde_json::from_value(s["DeliverToWebhook"]["Retry"][0]["ErrorEquals"].clone())
                .unwrap();
        for retried in [
            "States.Http.StatusCode.429",
            "States.Http.StatusCode.500",
            "States.Http.StatusCode.503",
            "States.Http.Socket",
            "States.Timeout",
        ] {
            assert!(web.contains(&retried.to_string()), "{retried}");
        }
        for not in [
            "States.Http.StatusCode.400",
            "States.Http.StatusCode.404",
            "States.ALL",
        ] {
            assert!(!web.contains(&not.to_string()), "{not}");
        }
        let error =
            s[MARK_DELIVERY_FAILED]["Parameters"]["ExpressionAttributeValues"][":error"]["S.$"]
                .as_str()
                .unwrap();
        assert!(
            error.starts_with("States.Format('DeliveryFailed: {}: {}'"),
            "{error}"
        );
        assert_eq!(s[MARK_DELIVERY_FAILED]["Next"], "JF");
    }

    #[test]
    fn each_target_sends_the_one_message_with_the_id_alongside() {
        let mut s = base();
        splice(
            &mut s,
            &d(&["queue", "topic", "bus", "webhook=https://h.example/x"]),
            &hooks(),
        );
        let body = message::expression();
        assert_eq!(
            s["DeliverToQueue"]["Parameters"]["MessageBody.$"],
            body.as_str()
        );
        assert_eq!(
            s["DeliverToQueue"]["Parameters"]["MessageAttributes"]["Id"]["StringValue.$"],
            "$$.Execution.Name"
        );
        assert_eq!(
            s["DeliverToTopic"]["Parameters"]["Message.$"],
            body.as_str()
        );
        let entry = &s["DeliverToBus"]["Parameters"]["Entries"][0];
        assert_eq!(entry["Detail.$"], body.as_str());
        assert_eq!(entry["EventBusName"], "default");
        assert_eq!(entry["Source"], "waitable.${AWS::StackName}");
        assert_eq!(entry["DetailType"], "Job Due");
        let web = &s["DeliverToWebhook"]["Parameters"];
        assert_eq!(web["RequestBody.$"], body.as_str());
        assert_eq!(web["Method"], "POST");
        assert_eq!(web["Headers"]["Idempotency-Key.$"], "$$.Execution.Name");
        assert_eq!(
            s["DeliverToWebhook"]["Resource"],
            "arn:${AWS::Partition}:states:::http:invoke"
        );
    }

    #[test]
    fn placeholders_become_numbers_for_fn_sub() {
        let text = r#"{"MaxAttempts": "${DeliveryAttempts}", "MaxDelaySeconds": "${DeliveryMaxDelaySeconds}", "x": "${TableName}"}"#;
        assert_eq!(
            unquote_placeholders(text),
            r#"{"MaxAttempts": ${DeliveryAttempts}, "MaxDelaySeconds": ${DeliveryMaxDelaySeconds}, "x": "${TableName}"}"#
        );
    }
}
