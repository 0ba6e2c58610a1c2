//! `waitable check --webhook`: runs the stack's own webhook state once through Step Functions'
//! TestState API (`inspectionLevel: TRACE`), which sends one real request to the webhook and
//! answers with the request it sent, and compares that body with the message the README
//! promises (`waitable_core::delivery::webhook_probe`).

use super::api_check::{self, Endpoint};
use crate::backend::WebhookCheck;
use crate::{Error, Result};
use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::InspectionLevel;
use waitable_core::delivery::Target;
use waitable_core::delivery::webhook_probe::{Probe, SentBody, classify};
use waitable_core::state_machine::deliver::state_name;

/// Tests the webhook state of the state machine `state_machine_arn` with `probe`.
pub async fn check(
    sfn: &Client,
    state_machine_arn: &str,
    endpoint: Endpoint,
    probe: &Probe,
) -> Result<WebhookCheck> {
    let machine = match sfn
        .describe_state_machine()
        .state_machine_arn(state_machine_arn)
        .send()
        .await
    {
        Ok(m) => m,
        Err(e) => {
            return Err(super::sdk::failed(
                "webhook check: reading the state machine",
                &e,
            ));
        }
    };
    let definition: serde_json::Value = serde_json::from_str(machine.definition())?;
    let state = state_name(&Target::Webhook(String::new()));
    let Some(url) = definition["States"][&state]["Parameters"]["ApiEndpoint"].as_str() else {
        return Ok(WebhookCheck::Skipped {
            reason: "the stack does not deliver to a webhook".into(),
        });
    };
    let url = url.to_string();
    let answer = sfn
        .test_state()
        .definition(machine.definition())
        .state_name(&state)
        .role_arn(machine.role_arn())
        .input(probe.state_input().to_string())
        .context(probe.context().to_string())
        .inspection_level(InspectionLevel::Trace)
        .send()
        .await;
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            return match api_check::unavailable(endpoint, &e, "TestState") {
                Some(reason) => Ok(WebhookCheck::Skipped { reason }),
                None => Err(super::sdk::failed("webhook check: TestState", &e)),
            };
        }
    };
    let inspection = answer.inspection_data();
    let Some(sent) = inspection.and_then(|i| i.request()).and_then(|r| r.body()) else {
        return Err(Error::failed(format!(
            "webhook check failed: TestState sent no request to {url} ({}: {})",
            answer.error().unwrap_or("no error"),
            answer.cause().unwrap_or("no cause")
        )));
    };
    let status = inspection
        .and_then(|i| i.response())
        .and_then(|r| r.status_code())
        .unwrap_or("no answer")
        .to_string();
    match classify(sent, &probe.message()) {
        SentBody::AsIs => Ok(WebhookCheck::Ok { url, status }),
        SentBody::JsonEncoded => Err(Error::failed(format!(
            "webhook check failed: Step Functions sent the message to {url} JSON-encoded (a quoted JSON string), so a receiver must decode it twice; please report this with the output of `waitable check --webhook --debug`"
        ))),
        SentBody::Other(body) => Err(Error::failed(format!(
            "webhook check failed: Step Functions sent {url} a body that is not the message: {body}"
        ))),
    }
}

#[cfg(test)]
#[path = "webhook_check_tests.rs"]
mod tests;
