//! The states that deliver a fired job, built into the state machine of a stack with
//! delivery targets (`crate::state_machine::definition`).
//!
//! ```text
//! WaitUntil ─> FireJob ─> DeliverToQueue ─> ... ─> DeliverToWebhook ─> RecordDelivered (End)
//!                │ STARTED no more      │ retries spent
//!                v                      v
//!   CancelledMeanwhile (Succeed)   DeliveryFailedAt<Target> ─> CheckFailureCause
//!                                    ─> MarkDeliveryFailed[WithoutCause] ─> JobFailed
//! ```
//! Ordering: `FireJob` is the claim, the conditional update on `ProcessStatus = STARTED` that
//! records `FiredAt`, and it comes before any delivery. A job cancelled before it fired is
//! CANCELLED by then, so the claim fails and nothing is sent; a job with `FiredAt` is never
//! cancelled (cancel's own write refuses it). The claim writes no attribute the status index
//! holds, so it costs no index write. A crash or a retry after a send repeats only the send
//! (at least once); the job is COMPLETED, with `DeliveredAt` and `DeliveredTo`, only after
//! every target took the message. When one fails for good, the row says which targets took
//! it (`DeliveredTo`) and which one failed (`Error`).

use serde_json::{Value, json};

use super::later::current_run_only;
use super::{
    FAILURE_PATH, JOB_FAILED, UPDATE_ITEM, execution_key, fail_if_started, failed_catch, retry,
};
use crate::delivery::message::{self, FIRED_AT_PATH};
use crate::delivery::{
    CONNECTION_ARN_VAR, Deliveries, EVENT_DETAIL_TYPE, PARAM_ATTEMPTS, PARAM_MAX_DELAY,
    QUEUE_URL_VAR, TOPIC_ARN_VAR, Target,
};
use crate::job::{ATTR_FIRED_AT, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, JobStatus};

pub const FIRE_JOB: &str = "FireJob";
pub const RECORD_DELIVERED: &str = "RecordDelivered";
pub const CHECK_FAILURE_CAUSE: &str = "CheckFailureCause";
pub const MARK_DELIVERY_FAILED: &str = "MarkDeliveryFailed";
pub const MARK_DELIVERY_FAILED_WITHOUT_CAUSE: &str = "MarkDeliveryFailedWithoutCause";
pub const CANCELLED_MEANWHILE: &str = "CancelledMeanwhile";
/// The record's attribute set when every target took the message.
pub const ATTR_DELIVERED_AT: &str = "DeliveredAt";
/// The targets that took the message, by kind in delivery order, comma-separated
/// (`queue,webhook`): all of them on a COMPLETED job, those before the failed one on a job
/// whose delivery failed.
pub const ATTR_DELIVERED_TO: &str = "DeliveredTo";
/// Prefix of the `Error` attribute of a job whose delivery failed for good:
/// `DeliveryFailed: <target>: <error>[: <cause>]`.
pub const DELIVERY_FAILED: &str = "DeliveryFailed";
/// Where the failure states keep which target failed and which took the message.
const UNDELIVERED_PATH: &str = "$.Undelivered";

const CONDITION_FAILED: &str = "DynamoDB.ConditionalCheckFailedException";
/// Defaults of the retry parameters: 1 s, 2 s, 4 s... capped, with full jitter.
pub const DEFAULT_ATTEMPTS: u32 = 5;
pub const DEFAULT_MAX_DELAY_SECONDS: u32 = 60;
/// Largest values the retry parameters accept: with them and every target, a job's deliveries
/// still end inside `limits::DELIVERY_RESERVE_SECONDS` (tested).
pub const MAX_ATTEMPTS: u32 = 20;
pub const MAX_MAX_DELAY_SECONDS: u32 = 3600;
/// The longest one attempt can take: an HTTP Task's request times out after 60 seconds
/// ("Call HTTPS APIs", Step Functions guide); the SDK integrations answer sooner.
pub const ATTEMPT_SECONDS: u64 = 60;

/// The longest the deliveries of one job can take after it fires: per target, every attempt
/// at its longest and every back-off at its cap (full jitter only shortens them).
pub fn longest_delivery_seconds(targets: usize, attempts: u32, max_delay: u32) -> u64 {
    let backoffs: u64 = (0..attempts)
        .map(|i| 2u64.saturating_pow(i).min(u64::from(max_delay)))
        .sum();
    targets as u64 * ((u64::from(attempts) + 1) * ATTEMPT_SECONDS + backoffs)
}

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

/// `DeliverTo<Kind>`, or with another prefix (`DeliveryFailedAt<Kind>`).
fn named(prefix: &str, target: &Target) -> String {
    let kind = target.kind();
    let mut chars = kind.chars();
    let first = chars
        .next()
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or_default();
    format!("{prefix}{first}{}", chars.as_str())
}

/// The name of the state that delivers to `target`.
pub fn state_name(target: &Target) -> String {
    named("DeliverTo", target)
}

/// The name of the state reached when the delivery to `target` failed for good.
pub fn failed_state_name(target: &Target) -> String {
    named("DeliveryFailedAt", target)
}

/// The targets' kinds in delivery order, as `DeliveredTo` holds them.
pub fn delivered_to(targets: &[Target]) -> String {
    targets
        .iter()
        .map(Target::kind)
        .collect::<Vec<_>>()
        .join(",")
}

/// Every state that follows the Wait of a stack delivering to `d` (not empty), in order.
pub fn states(table: &str, d: &Deliveries) -> Vec<(String, Value)> {
    let names: Vec<String> = d.targets.iter().map(state_name).collect();
    let mut out = vec![(FIRE_JOB.to_string(), fire_job(table, &names[0]))];
    for (i, target) in d.targets.iter().enumerate() {
        let next = names.get(i + 1).map_or(RECORD_DELIVERED, String::as_str);
        out.push((names[i].clone(), deliver(target, next)));
    }
    out.push((RECORD_DELIVERED.into(), record_delivered(table, d)));
    for (i, target) in d.targets.iter().enumerate() {
        out.push((
            failed_state_name(target),
            json!({
                "Type": "Pass",
                "Comment": "Which target failed, and which took the message before it",
                "Result": { "Target": target.kind(), "DeliveredTo": delivered_to(&d.targets[..i]) },
                "ResultPath": UNDELIVERED_PATH,
                "Next": CHECK_FAILURE_CAUSE
            }),
        ));
    }
    // A caught error may come without a Cause; a path to a missing field would fail the
    // execution uncatchably, so the Cause is only read once it is proven present.
    out.push((
        CHECK_FAILURE_CAUSE.into(),
        json!({
            "Type": "Choice",
            "Choices": [
                { "Variable": format!("{FAILURE_PATH}.Cause"), "IsPresent": false, "Next": MARK_DELIVERY_FAILED_WITHOUT_CAUSE }
            ],
            "Default": MARK_DELIVERY_FAILED
        }),
    ));
    out.push((
        MARK_DELIVERY_FAILED.into(),
        mark_delivery_failed(table, true),
    ));
    out.push((
        MARK_DELIVERY_FAILED_WITHOUT_CAUSE.into(),
        mark_delivery_failed(table, false),
    ));
    out.push((
        CANCELLED_MEANWHILE.into(),
        json!({
            "Type": "Succeed",
            "Comment": "The job was cancelled before it fired: nothing more to do"
        }),
    ));
    out
}

fn catches() -> Value {
    json!([
        { "ErrorEquals": [CONDITION_FAILED], "Next": CANCELLED_MEANWHILE },
        failed_catch()
    ])
}

fn fire_job(table: &str, first: &str) -> Value {
    json!({
        "Type": "Task",
        "Comment": "The claim: only a job still STARTED at this run is delivered, so one cancelled or moved before it fired never is; FiredAt makes it one cancel refuses",
        "Resource": UPDATE_ITEM,
        "Parameters": current_run_only(json!({
            "TableName": table,
            "Key": execution_key(),
            "UpdateExpression": "SET #fired = :now",
            "ConditionExpression": "#status = :started",
            "ExpressionAttributeNames": { "#status": ATTR_PROCESS_STATUS, "#fired": ATTR_FIRED_AT },
            "ExpressionAttributeValues": {
                ":started": { "S": JobStatus::Started.as_str() },
                ":now": { "S.$": "$$.State.EnteredTime" }
            }
        })),
        // When it fired, and the message's braces (States.Format arguments, see `message`).
        "ResultSelector": { "At.$": "$$.State.EnteredTime", "Open": "{", "Close": "}" },
        "ResultPath": FIRED_AT_PATH.trim_end_matches(".At"),
        "Retry": retry(),
        "Catch": catches(),
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

/// The retry parameters at their defaults, for a definition resolved outside CloudFormation.
pub fn parameter_defaults() -> [(&'static str, String); 2] {
    [
        (PARAM_ATTEMPTS, DEFAULT_ATTEMPTS.to_string()),
        (PARAM_MAX_DELAY, DEFAULT_MAX_DELAY_SECONDS.to_string()),
    ]
}

fn deliver(target: &Target, next: &str) -> Value {
    let body = message::expression();
    let id_attribute =
        json!({ "Id": { "DataType": "String", "StringValue.$": super::later::RUN_ID_PATH } });
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
        "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": FAILURE_PATH, "Next": failed_state_name(target) }],
        "Next": next
    })
}

fn record_delivered(table: &str, d: &Deliveries) -> Value {
    json!({
        "Type": "Task",
        "Comment": "Every target took the message: COMPLETED, with DeliveredAt and DeliveredTo",
        "Resource": UPDATE_ITEM,
        "Parameters": current_run_only(json!({
            "TableName": table,
            "Key": execution_key(),
            "UpdateExpression": "SET #status = :completed, #updated = :now, #delivered = :now, #to = :to",
            "ConditionExpression": "#status = :started",
            "ExpressionAttributeNames": {
                "#status": ATTR_PROCESS_STATUS,
                "#updated": ATTR_LAST_UPDATED,
                "#delivered": ATTR_DELIVERED_AT,
                "#to": ATTR_DELIVERED_TO
            },
            "ExpressionAttributeValues": {
                ":completed": { "S": JobStatus::Completed.as_str() },
                ":started": { "S": JobStatus::Started.as_str() },
                ":now": { "S.$": "$$.State.EnteredTime" },
                ":to": { "S": delivered_to(&d.targets) }
            }
        })),
        "ResultPath": null,
        "Retry": retry(),
        "Catch": catches(),
        "End": true
    })
}

/// `with_cause`: the caught error carries a Cause (proven by [`CHECK_FAILURE_CAUSE`]).
fn mark_delivery_failed(table: &str, with_cause: bool) -> Value {
    let (format, cause) = if with_cause {
        ("{}: {}: {}", format!(", {FAILURE_PATH}.Cause"))
    } else {
        ("{}: {}", String::new())
    };
    let error = format!(
        "States.Format('{DELIVERY_FAILED}: {format}', {UNDELIVERED_PATH}.Target, {FAILURE_PATH}.Error{cause})"
    );
    json!({
        "Type": "Task",
        "Comment": "Retries spent: FAILED with DeliveryFailed: <target>: <error>[: <cause>], and the targets that took it",
        "Resource": UPDATE_ITEM,
        "Parameters": fail_if_started(
            table,
            json!({ "S.$": error }),
            &[(ATTR_DELIVERED_TO, json!({ "S.$": format!("{UNDELIVERED_PATH}.DeliveredTo") }))],
        ),
        "ResultPath": null,
        "Retry": retry(),
        "Catch": [{ "ErrorEquals": [CONDITION_FAILED], "Next": CANCELLED_MEANWHILE }],
        "Next": JOB_FAILED
    })
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::stack_spec::StackSpec;
    use crate::state_machine::{WAIT_UNTIL, definition};

    fn d(flags: &[&str]) -> Deliveries {
        Deliveries::parse(&flags.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap()
            .unwrap()
    }

    fn built(flags: &[&str]) -> Map<String, Value> {
        let spec = StackSpec {
            deliveries: d(flags),
            ..StackSpec::default()
        };
        definition(&spec)["States"].as_object().unwrap().clone()
    }

    #[test]
    fn the_claim_comes_before_every_delivery_and_completion_after() {
        let s = built(&["queue", "topic", "bus=b", "webhook=https://h.example/x"]);
        assert_eq!(s[WAIT_UNTIL]["Next"], FIRE_JOB);
        assert!(!s.contains_key(crate::state_machine::SET_FINAL_STATUS));
        // Walk the success path from the Wait.
        let mut path = vec![];
        let mut at = s[WAIT_UNTIL]["Next"].as_str().unwrap().to_string();
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
        let claim = &s[FIRE_JOB]["Parameters"];
        assert_eq!(
            claim["ConditionExpression"],
            format!("#status = :started AND {}", crate::runs::RUN_IS_CURRENT)
        );
        // The claim records FiredAt and nothing the status index holds (no index write).
        assert_eq!(claim["UpdateExpression"], "SET #fired = :now");
        assert_eq!(claim["ExpressionAttributeNames"]["#fired"], ATTR_FIRED_AT);
        for projected in crate::status_index::PROJECTED {
            assert!(!claim.to_string().contains(projected), "{projected}");
        }
        assert_eq!(s[FIRE_JOB]["Catch"][0]["Next"], CANCELLED_MEANWHILE);
        assert_eq!(s[RECORD_DELIVERED]["End"], true);
        let done = &s[RECORD_DELIVERED]["Parameters"];
        assert!(
            done["UpdateExpression"]
                .as_str()
                .unwrap()
                .contains("#delivered")
        );
        assert_eq!(
            done["ExpressionAttributeValues"][":to"],
            json!({ "S": "queue,topic,bus,webhook" })
        );
    }

    #[test]
    fn a_failed_delivery_records_the_target_and_what_took_it_before() {
        let s = built(&["queue", "topic", "webhook=https://h.example/x"]);
        for (target, before) in [
            ("Queue", ""),
            ("Topic", "queue"),
            ("Webhook", "queue,topic"),
        ] {
            let deliver = &s[&format!("DeliverTo{target}")];
            let failed = format!("DeliveryFailedAt{target}");
            assert_eq!(deliver["Catch"][0]["Next"], failed.as_str());
            assert_eq!(deliver["Catch"][0]["ResultPath"], FAILURE_PATH);
            assert_eq!(s[&failed]["Result"]["DeliveredTo"], before);
            assert_eq!(s[&failed]["Result"]["Target"], target.to_ascii_lowercase());
            assert_eq!(s[&failed]["Next"], CHECK_FAILURE_CAUSE);
        }
        let mark = |name: &str| s[name]["Parameters"].clone();
        let with = mark(MARK_DELIVERY_FAILED);
        assert_eq!(
            with["ExpressionAttributeValues"][":error"]["S.$"],
            "States.Format('DeliveryFailed: {}: {}: {}', $.Undelivered.Target, $.Failure.Error, $.Failure.Cause)"
        );
        // Without a Cause the text reads no path to it: a missing path fails uncatchably.
        let without = mark(MARK_DELIVERY_FAILED_WITHOUT_CAUSE);
        assert!(!without.to_string().contains("Cause"), "{without}");
        for p in [&with, &without] {
            assert_eq!(
                p["ExpressionAttributeValues"][":deliveredto"]["S.$"],
                "$.Undelivered.DeliveredTo"
            );
            assert_eq!(
                p["ConditionExpression"],
                format!("#status = :started AND {}", crate::runs::RUN_IS_CURRENT)
            );
        }
        assert_eq!(
            s[CHECK_FAILURE_CAUSE]["Choices"][0],
            json!({ "Variable": "$.Failure.Cause", "IsPresent": false, "Next": MARK_DELIVERY_FAILED_WITHOUT_CAUSE })
        );
    }

    #[test]
    fn every_delivery_retries_then_marks_the_job_delivery_failed() {
        let s = built(&["queue", "webhook=https://h.example/x"]);
        for name in ["DeliverToQueue", "DeliverToWebhook"] {
            let st = &s[name];
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
        assert_eq!(s[MARK_DELIVERY_FAILED]["Next"], JOB_FAILED);
    }

    #[test]
    fn each_target_sends_the_one_message_with_the_id_alongside() {
        let s = built(&["queue", "topic", "bus", "webhook=https://h.example/x"]);
        let body = message::expression();
        assert_eq!(
            s["DeliverToQueue"]["Parameters"]["MessageBody.$"],
            body.as_str()
        );
        assert_eq!(
            s["DeliverToQueue"]["Parameters"]["MessageAttributes"]["Id"]["StringValue.$"],
            "$.Run.Id"
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

    /// The one-year limit holds: a job due at the latest accepted time finishes its deliveries
    /// (and its writes' retries) before Step Functions ends the execution.
    #[test]
    fn the_longest_delivery_fits_in_the_reserve_at_the_largest_parameters() {
        let longest = longest_delivery_seconds(4, MAX_ATTEMPTS, MAX_MAX_DELAY_SECONDS);
        // The claim, the record and the failure write: 6 attempts each, the back-offs capped.
        let writes = 3 * (6 * ATTEMPT_SECONDS + 1 + 2 + 4 + 8 + 16);
        let reserve = crate::limits::DELIVERY_RESERVE_SECONDS as u64;
        assert!(
            longest + writes <= reserve,
            "{longest} + {writes} > {reserve}"
        );
        // The defaults take minutes, not days.
        assert!(longest_delivery_seconds(1, DEFAULT_ATTEMPTS, DEFAULT_MAX_DELAY_SECONDS) < 600);
        assert_eq!(longest_delivery_seconds(1, 2, 60), 3 * 60 + 1 + 2);
        // The template's parameters cannot go past what was measured.
        let p = crate::delivery::resources::parameters(&Deliveries {
            targets: vec![Target::Queue],
        });
        assert_eq!(p[PARAM_ATTEMPTS]["MaxValue"], MAX_ATTEMPTS);
        assert_eq!(p[PARAM_MAX_DELAY]["MaxValue"], MAX_MAX_DELAY_SECONDS);
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
