//! TestInvokeMethod answers that the emulators cannot give (neither has TestInvokeMethod),
//! mocked.

use aws_sdk_apigateway::Client;
use aws_sdk_apigateway::config::retry::RetryConfig;
use aws_sdk_apigateway::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_apigateway::operation::get_resources::GetResourcesOutput;
use aws_sdk_apigateway::operation::test_invoke_method::TestInvokeMethodOutput;
use aws_sdk_apigateway::types::Resource;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use super::*;

const URL: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod";

/// The log line a live stack wrote when its integration role trusted API Gateway only with an
/// `aws:SourceAccount` condition.
const ASSUME_ROLE_LINE: &str = "Execution failed due to configuration error: API Gateway does not have permission to assume the provided role arn:aws:iam::123456789012:role/waitable-ApiRole-X";

fn client(rules: &[&Rule]) -> Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let conf = aws_sdk_apigateway::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("a", "b", None, None, "test"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

fn resources() -> Rule {
    mock!(Client::get_resources)
        .match_requests(|r| r.rest_api_id() == Some("abc123"))
        .then_output(|| {
            GetResourcesOutput::builder()
                .items(Resource::builder().id("root1").path("/").build())
                .items(Resource::builder().id("stat1").path("/status").build())
                .build()
        })
}

fn answer(status: i32, body: &str, log: &str) -> TestInvokeMethodOutput {
    TestInvokeMethodOutput::builder()
        .status(status)
        .body(body)
        .log(log)
        .build()
}

fn get_status(status: i32, log: &'static str) -> Rule {
    mock!(Client::test_invoke_method)
        .match_requests(|r| {
            r.http_method() == Some("GET")
                && r.resource_id() == Some("stat1")
                && r.path_with_query_string() == Some("/status?limit=1")
        })
        .then_output(move || answer(status, r#"{"items": []}"#, log))
}

fn get_filtered(status: i32, log: &'static str) -> Rule {
    mock!(Client::test_invoke_method)
        .match_requests(|r| {
            r.http_method() == Some("GET")
                && r.resource_id() == Some("stat1")
                && r.path_with_query_string() == Some(STATUS_FILTER_PROBE)
        })
        .then_output(move || answer(status, r#"{"items": []}"#, log))
}

fn post_root(status: i32, body: &'static str) -> Rule {
    mock!(Client::test_invoke_method)
        .match_requests(|r| {
            r.http_method() == Some("POST")
                && r.resource_id() == Some("root1")
                && r.body() == Some(REFUSED_BODY)
        })
        .then_output(move || {
            answer(
                status,
                body,
                "Request body does not match model schema for content type application/json: [object has missing required properties ([\"StartTimestamp\"])]\nMethod completed with status: 400",
            )
        })
}

const OK_LOG: &str = "Method completed with status: 200";

#[tokio::test]
async fn a_healthy_api_passes_all_three_probes() {
    let (res, get, filtered, post) = (
        resources(),
        get_status(200, OK_LOG),
        get_filtered(200, OK_LOG),
        post_root(400, r#"{"message": "Invalid request body"}"#),
    );
    let apigw = client(&[&res, &get, &filtered, &post]);
    assert_eq!(
        check(&apigw, URL, Endpoint::Aws).await.unwrap(),
        ApiCheck::Ok
    );
    let line = ApiCheck::Ok.to_string();
    assert!(line.starts_with("API check: ok ("), "{line}");
    assert!(
        line.contains("without IAM authorization, not the deployed stage"),
        "the output says what TestInvokeMethod does not cover: {line}"
    );
    assert_eq!(
        (get.num_calls(), filtered.num_calls(), post.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn a_status_filter_the_integration_cannot_serve_fails_the_check() {
    // The documented `?status=` integration, run for real: a 500 here is what a wrong
    // X-Amz-Target or a missing dynamodb:Query permission would give.
    let line =
        "Execution failed due to configuration error: Invalid permissions on Lambda function";
    let log: &'static str =
        Box::leak(format!("{line}\nMethod completed with status: 500").into_boxed_str());
    let (res, get, filtered, post) = (
        resources(),
        get_status(200, OK_LOG),
        get_filtered(500, log),
        post_root(400, r#"{"message": "Invalid request body"}"#),
    );
    let apigw = client(&[&res, &get, &filtered, &post]);
    let err = check(&apigw, URL, Endpoint::Aws).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("API check failed: GET {STATUS_FILTER_PROBE} answered 500: {line}")
    );
    assert_eq!(post.num_calls(), 0);
}

#[tokio::test]
async fn access_denied_is_reported_as_such_not_as_a_missing_operation() {
    let res = resources();
    let get = mock!(Client::test_invoke_method).then_http_response(|| {
        let mut r = HttpResponse::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from(r#"{"message": "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: apigateway:POST"}"#),
        );
        r.headers_mut().insert("content-type", "application/json");
        r.headers_mut()
            .insert("x-amzn-errortype", "AccessDeniedException");
        r
    });
    let apigw = client(&[&res, &get]);
    let line = check(&apigw, URL, Endpoint::Aws).await.unwrap().to_string();
    assert!(
        line.starts_with("API check skipped: testing GET /status: you are not allowed to call TestInvokeMethod (AccessDeniedException"),
        "{line}"
    );
    assert!(!line.contains("does not offer"), "{line}");
}

/// A schedule that never sleeps for real, with a window long enough for the sequence.
const QUICK: Propagation = Propagation {
    look: crate::poll::Schedule::TINY,
    within: std::time::Duration::from_secs(5),
};

#[tokio::test]
async fn a_role_iam_has_not_propagated_yet_is_asked_again_until_it_works() {
    let log: &'static str = Box::leak(
        format!("{ASSUME_ROLE_LINE}\nMethod completed with status: 500").into_boxed_str(),
    );
    let get = mock!(Client::test_invoke_method)
        .match_requests(|r| r.path_with_query_string() == Some("/status?limit=1"))
        .sequence()
        .output(move || answer(500, "", log))
        .times(2)
        .output(|| answer(200, r#"{"items": []}"#, OK_LOG))
        .build();
    let (res, filtered, post) = (
        resources(),
        get_filtered(200, OK_LOG),
        post_root(400, r#"{"message": "Invalid request body"}"#),
    );
    let apigw = client(&[&res, &get, &filtered, &post]);
    assert_eq!(
        check_with(&apigw, URL, Endpoint::Aws, &QUICK)
            .await
            .unwrap(),
        ApiCheck::Ok
    );
    assert_eq!(
        get.num_calls(),
        3,
        "two answers from before IAM caught up, then 200"
    );

    // Without the window (a check on its own) the first such answer is the failure.
    let get = mock!(Client::test_invoke_method).then_output(move || answer(500, "", log));
    let apigw = client(&[&res, &get]);
    let err = check(&apigw, URL, Endpoint::Aws).await.unwrap_err();
    assert!(err.to_string().contains(ASSUME_ROLE_LINE), "{err}");
    assert_eq!(get.num_calls(), 1);
}

#[tokio::test]
async fn iam_errors_still_there_when_the_window_closes_fail_with_the_last_answer() {
    let log: &'static str = Box::leak(
        format!("{ASSUME_ROLE_LINE}\nMethod completed with status: 500").into_boxed_str(),
    );
    let res = resources();
    let get = mock!(Client::test_invoke_method).then_output(move || answer(500, "", log));
    let apigw = client(&[&res, &get]);
    let window = Propagation {
        look: crate::poll::Schedule::every(std::time::Duration::from_millis(5)),
        within: std::time::Duration::from_millis(40),
    };
    let err = check_with(&apigw, URL, Endpoint::Aws, &window)
        .await
        .unwrap_err();
    assert!(err.to_string().contains(ASSUME_ROLE_LINE), "{err}");
    assert!(get.num_calls() >= 2, "{}", get.num_calls());
}

#[test]
fn only_iam_logs_count_as_propagation() {
    assert!(iam_not_ready(ASSUME_ROLE_LINE));
    assert!(iam_not_ready(
        r#"Endpoint response body before transformations: {"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User: arn:aws:sts::1:assumed-role/r/x is not authorized to perform: dynamodb:Scan"}"#
    ));
    assert!(!iam_not_ready("Method completed with status: 500"));
    assert!(!iam_not_ready("Request body does not match model schema"));
}

#[tokio::test]
async fn a_500_fails_with_api_gateways_log_line() {
    let log: &'static str = Box::leak(
        format!(
            "Execution log for request x\nStarting execution for request: x\n{ASSUME_ROLE_LINE}\nMethod completed with status: 500"
        )
        .into_boxed_str(),
    );
    let (res, get, post) = (
        resources(),
        get_status(500, log),
        post_root(400, r#"{"message": "Invalid request body"}"#),
    );
    let apigw = client(&[&res, &get, &post]);
    let err = check(&apigw, URL, Endpoint::Aws).await.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(
        err.to_string(),
        format!("API check failed: GET /status answered 500: {ASSUME_ROLE_LINE}")
    );
    assert_eq!(post.num_calls(), 0, "stops at the first failure");
}

#[tokio::test]
async fn a_post_the_validator_lets_through_fails() {
    // 200 means StartExecution ran: the validator did not refuse the body.
    let (res, get, filtered, post) = (
        resources(),
        get_status(200, OK_LOG),
        get_filtered(200, OK_LOG),
        post_root(200, r#"{"jobId": "x"}"#),
    );
    let apigw = client(&[&res, &get, &filtered, &post]);
    let err = check(&apigw, URL, Endpoint::Aws).await.unwrap_err();
    assert!(
        err.to_string().starts_with(
            "API check failed: POST / with a body the validator must refuse answered 200"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn an_endpoint_without_test_invoke_method_is_skipped_on_one_line() {
    // What moto answers: a bare HTML 500 page, no AWS error code.
    let res = resources();
    let get = mock!(Client::test_invoke_method).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(500).unwrap(),
            SdkBody::from("<!doctype html><title>500 Internal Server Error</title>"),
        )
    });
    let apigw = client(&[&res, &get]);
    let result = check(&apigw, URL, Endpoint::Aws).await.unwrap();
    let line = result.to_string();
    assert!(
        line.starts_with(
            "API check skipped: testing GET /status: the endpoint does not offer TestInvokeMethod"
        ),
        "{line}"
    );
    assert!(!line.contains('\n'));
}

/// A 404 NotFoundException, as API Gateway sends it (JSON, `x-amzn-errortype`).
fn not_found(message: &'static str) -> Rule {
    mock!(Client::test_invoke_method).then_http_response(move || {
        let mut r = HttpResponse::new(
            StatusCode::try_from(404).unwrap(),
            SdkBody::from(format!(r#"{{"message": "{message}"}}"#)),
        );
        r.headers_mut().insert("content-type", "application/json");
        r.headers_mut()
            .insert("x-amzn-errortype", "NotFoundException");
        r
    })
}

#[tokio::test]
async fn a_real_service_error_is_a_failure_not_a_skip() {
    let res = resources();
    let get = not_found("Invalid Method identifier specified");
    let apigw = client(&[&res, &get]);
    let err = check(&apigw, URL, Endpoint::Aws).await.unwrap_err();
    assert!(err.to_string().contains("NotFoundException"), "{err}");
}

#[tokio::test]
async fn a_custom_endpoint_that_does_not_know_the_path_is_a_skip() {
    // What ministack answers for TestInvokeMethod: a JSON 404 NotFoundException.
    let res = resources();
    let get =
        not_found("Unknown API Gateway v1 path: /restapis/abc123/resources/stat1/methods/GET");
    let apigw = client(&[&res, &get]);
    let line = check(&apigw, URL, Endpoint::Custom)
        .await
        .unwrap()
        .to_string();
    assert!(
        line.starts_with(
            "API check skipped: testing GET /status: the endpoint does not offer TestInvokeMethod (NotFoundException"
        ),
        "{line}"
    );
    assert!(!line.contains('\n'));
    // Other service errors from a custom endpoint still fail.
    let res = resources();
    let get = mock!(Client::test_invoke_method).then_http_response(|| {
        let mut r = HttpResponse::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(r#"{"message": "bad"}"#),
        );
        r.headers_mut().insert("content-type", "application/json");
        r.headers_mut()
            .insert("x-amzn-errortype", "BadRequestException");
        r
    });
    let apigw = client(&[&res, &get]);
    let err = check(&apigw, URL, Endpoint::Custom).await.unwrap_err();
    assert!(err.to_string().contains("BadRequestException"), "{err}");
}

#[test]
fn the_endpoint_is_custom_only_when_a_url_is_configured() {
    let aws = aws_types::SdkConfig::builder().build();
    assert_eq!(Endpoint::of(&aws), Endpoint::Aws);
    let custom = aws_types::SdkConfig::builder()
        .endpoint_url("http://127.0.0.1:4566")
        .build();
    assert_eq!(Endpoint::of(&custom), Endpoint::Custom);
}

#[test]
fn the_api_id_comes_from_the_url_and_the_telling_line_from_the_log() {
    assert_eq!(rest_api_id(URL).as_deref(), Some("abc123"));
    assert_eq!(rest_api_id("http://127.0.0.1:4000"), None);
    assert_eq!(rest_api_id("https://example.com/prod"), None);
    assert_eq!(
        telling_line(&format!("a\n{ASSUME_ROLE_LINE}\nb")),
        Some(ASSUME_ROLE_LINE)
    );
    assert_eq!(
        telling_line("x\nMethod completed with status: 502\n"),
        Some("Method completed with status: 502")
    );
    assert_eq!(telling_line(""), None);
}
