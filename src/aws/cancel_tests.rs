//! `cancel` on the aws target, where moto cannot show the order of its calls: the job's row
//! is marked CANCELLED before its execution is stopped, so the reconcile the stop starts finds
//! no STARTED row, and a stop that fails still leaves a job that will not be delivered.

use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::operation::stop_execution::StopExecutionError;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_types::error::ErrorMetadata;

use super::jobs::cancel_execution;
use super::mocks::sfn_client;

fn ddb_client(rules: &[&Rule]) -> aws_sdk_dynamodb::Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

#[tokio::test]
async fn the_row_is_cancelled_before_the_execution_is_stopped() {
    let update = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.condition_expression() == Some(waitable_core::cancel::CONDITION)
                && r.expression_attribute_names()
                    .is_some_and(|n| n.get("#fired").map(String::as_str) == Some("FiredAt"))
        })
        .then_output(|| {
            UpdateItemOutput::builder()
                .attributes("Id", AttributeValue::S("job-1".into()))
                .attributes("ProcessStatus", AttributeValue::S("CANCELLED".into()))
                .build()
        });
    let stop = mock!(aws_sdk_sfn::Client::stop_execution).then_error(|| {
        StopExecutionError::generic(ErrorMetadata::builder().code("AccessDenied").build())
    });
    let ddb = ddb_client(&[&update]);
    let sfn = sfn_client(&[&stop]);
    let err = cancel_execution(&sfn, &ddb, "t", "job-1", "arn:exec:job-1")
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(update.num_calls(), 1, "the conditional write came first");
    assert_eq!(stop.num_calls(), 1);
    assert!(
        err.contains("is CANCELLED and will not be delivered"),
        "{err}"
    );
}
