//! TestState answers no emulator gives (neither runs HTTP Tasks), mocked: the body Step
//! Functions reports it sent decides the check.

use aws_sdk_sfn::Client;
use aws_sdk_sfn::operation::describe_state_machine::DescribeStateMachineOutput;
use aws_sdk_sfn::operation::test_state::TestStateOutput;
use aws_sdk_sfn::types::{
    InspectionData, InspectionDataRequest, InspectionDataResponse, InspectionLevel,
    StateMachineType, TestExecutionStatus,
};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::Value;

use super::*;
use crate::aws::mocks::sfn_client;

const WEBHOOK_MACHINE: &str = include_str!("../../statemachine/waitable-webhook.asl.json");
const PLAIN_MACHINE: &str = include_str!("../../statemachine/waitable.asl.json");

fn probe() -> Probe {
    Probe {
        id: "waitable-check-20301231T000000Z".into(),
        start_action_at: "2030-12-31T00:00:00Z".into(),
        fired_at: "2030-12-31T00:00:00.250Z".into(),
    }
}

fn machine(definition: &'static str) -> Rule {
    mock!(Client::describe_state_machine).then_output(move || {
        DescribeStateMachineOutput::builder()
            .state_machine_arn("arn:sm")
            .name("waitable")
            .definition(definition)
            .role_arn("arn:aws:iam::123456789012:role/waitable-StateMachineRole")
            .r#type(StateMachineType::Standard)
            .creation_date(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .unwrap()
    })
}

/// TestState answering that it sent `body` and got `status`, for a request that tests the
/// webhook state with the probe's data and context at TRACE level (any other request is not
/// matched, and the mock then fails the call).
fn test_state(body: String, status: &'static str) -> Rule {
    mock!(Client::test_state)
        .match_requests(|r| {
            let context: Value = serde_json::from_str(r.context().unwrap_or("null")).unwrap();
            let input: Value = serde_json::from_str(r.input().unwrap_or("null")).unwrap();
            r.state_name() == Some("DeliverToWebhook")
                && r.inspection_level() == Some(&InspectionLevel::Trace)
                && r.role_arn() == Some("arn:aws:iam::123456789012:role/waitable-StateMachineRole")
                && context["Execution"]["Name"] == probe().id.as_str()
                && input == probe().state_input()
        })
        .then_output(move || {
            TestStateOutput::builder()
                .status(TestExecutionStatus::Succeeded)
                .inspection_data(
                    InspectionData::builder()
                        .request(
                            InspectionDataRequest::builder()
                                .method("POST")
                                .url("https://example.com/hook")
                                .body(body.clone())
                                .build(),
                        )
                        .response(
                            InspectionDataResponse::builder()
                                .status_code(status)
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
}

async fn run(rules: &[&Rule], endpoint: Endpoint) -> Result<WebhookCheck> {
    check(&sfn_client(rules), "arn:sm", endpoint, &probe()).await
}

#[tokio::test]
async fn the_message_sent_as_it_is_passes_with_the_webhooks_answer() {
    let (m, t) = (
        machine(WEBHOOK_MACHINE),
        test_state(probe().message(), "204"),
    );
    let found = run(&[&m, &t], Endpoint::Aws).await.unwrap();
    assert_eq!(
        found,
        WebhookCheck::Ok {
            url: "https://example.com/hook".into(),
            status: "204".into()
        }
    );
    assert_eq!(
        found.to_string(),
        "webhook: TestState sent POST https://example.com/hook the message as it is (answered 204)"
    );
}

#[tokio::test]
async fn a_json_encoded_body_fails_the_check_saying_so() {
    let encoded = Value::String(probe().message()).to_string();
    let (m, t) = (machine(WEBHOOK_MACHINE), test_state(encoded, "200"));
    let err = run(&[&m, &t], Endpoint::Aws).await.unwrap_err().to_string();
    assert!(err.contains("JSON-encoded"), "{err}");
    assert!(err.contains("https://example.com/hook"), "{err}");
}

#[tokio::test]
async fn another_body_fails_the_check_showing_it() {
    let (m, t) = (machine(WEBHOOK_MACHINE), test_state("Id=x".into(), "200"));
    let err = run(&[&m, &t], Endpoint::Aws).await.unwrap_err().to_string();
    assert!(
        err.contains("a body that is not the message: Id=x"),
        "{err}"
    );
}

#[tokio::test]
async fn a_stack_without_a_webhook_sends_nothing() {
    let m = machine(PLAIN_MACHINE);
    // No TestState rule: a call to it would fail the test.
    let found = run(&[&m], Endpoint::Aws).await.unwrap();
    assert_eq!(
        found,
        WebhookCheck::Skipped {
            reason: "the stack does not deliver to a webhook".into()
        }
    );
}

#[tokio::test]
async fn an_emulator_without_test_state_is_a_skip_and_aws_without_it_a_failure() {
    let unknown = || {
        mock!(Client::test_state).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(404).unwrap(),
                SdkBody::from(r#"{"__type":"UnknownOperationException","message":"no"}"#),
            )
        })
    };
    let (m, t) = (machine(WEBHOOK_MACHINE), unknown());
    let skipped = run(&[&m, &t], Endpoint::Custom).await.unwrap();
    assert!(
        matches!(&skipped, WebhookCheck::Skipped { reason } if reason.contains("does not offer TestState")),
        "{skipped:?}"
    );
    let (m, t) = (machine(WEBHOOK_MACHINE), unknown());
    assert!(run(&[&m, &t], Endpoint::Aws).await.is_err());
}
