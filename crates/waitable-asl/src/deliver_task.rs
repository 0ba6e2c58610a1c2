//! The delivery task resources the interpreter knows (`sqs:sendMessage`, `sns:publish`,
//! `events:putEvents`, `http:invoke`), checked at deploy like the DynamoDB ones. What each
//! does is up to the [`super::Tasks`] implementation (the engine: the local queue and a real
//! HTTP POST; SNS and EventBridge it refuses at deploy).

use serde_json::Value;

use super::fields::{Res, unsupported};

pub use super::model::DeliverOp;

impl DeliverOp {
    /// The parameters this op requires and allows (a `.$` key counts as its plain name).
    fn fields(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            DeliverOp::SqsSendMessage => (
                &["QueueUrl", "MessageBody"],
                &[
                    "MessageAttributes",
                    "DelaySeconds",
                    "MessageGroupId",
                    "MessageDeduplicationId",
                ],
            ),
            DeliverOp::SnsPublish => (
                &["TopicArn", "Message"],
                &[
                    "MessageAttributes",
                    "Subject",
                    "MessageGroupId",
                    "MessageDeduplicationId",
                ],
            ),
            DeliverOp::EventsPutEvents => (&["Entries"], &[]),
            DeliverOp::HttpInvoke => (
                &["ApiEndpoint", "Method", "Authentication"],
                &["Headers", "RequestBody", "QueryParameters", "Transform"],
            ),
        }
    }
}

/// Checks a delivery task's Parameters at deploy: required fields present, nothing unknown.
pub fn check_parameters(name: &str, op: DeliverOp, params: Option<&Value>) -> Res<()> {
    let params = params
        .and_then(Value::as_object)
        .ok_or_else(|| unsupported(name, "a delivery task needs Parameters"))?;
    let (required, optional) = op.fields();
    let keys: Vec<&str> = params.keys().map(|k| k.trim_end_matches(".$")).collect();
    for r in required {
        if !keys.contains(r) {
            return Err(unsupported(name, format!("Parameters need {r}")));
        }
    }
    if let Some(k) = keys
        .iter()
        .find(|k| !required.contains(k) && !optional.contains(k))
    {
        return Err(unsupported(
            name,
            format!("Parameters: {k} is not supported by the local engine"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn resources_and_parameters() {
        assert_eq!(
            DeliverOp::of("arn:aws:states:::sqs:sendMessage"),
            Some(DeliverOp::SqsSendMessage)
        );
        assert_eq!(
            DeliverOp::of("arn:aws-cn:states:::http:invoke"),
            Some(DeliverOp::HttpInvoke)
        );
        assert_eq!(
            DeliverOp::of("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            None
        );
        assert_eq!(DeliverOp::of("arn:aws:states:::dynamodb:putItem"), None);
        let ok = json!({"QueueUrl": "u", "MessageBody.$": "$.x"});
        assert!(check_parameters("S", DeliverOp::SqsSendMessage, Some(&ok)).is_ok());
        for bad in [
            json!({"QueueUrl": "u"}),
            json!({"QueueUrl": "u", "MessageBody": "b", "X": 1}),
        ] {
            assert!(
                check_parameters("S", DeliverOp::SqsSendMessage, Some(&bad)).is_err(),
                "{bad}"
            );
        }
        assert!(check_parameters("S", DeliverOp::HttpInvoke, None).is_err());
    }
}
