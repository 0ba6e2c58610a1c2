//! Shared by the aws target's unit tests: SDK clients answered by `aws-smithy-mocks` rules
//! (for what moto cannot produce: rollbacks with reasons, throttling, stuck rollbacks), and
//! the stacks and events those rules return.

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::config::retry::RetryConfig;
use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::{
    DescribeStackEventsError, DescribeStackEventsOutput,
};
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, Output, Parameter, ResourceChange as SdkChange,
    ResourceStatus, Stack, StackEvent, StackStatus,
};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_types::error::ErrorMetadata;
use serde_json::{Value, json};

use crate::output::Ui;
use waitable_core::outputs::StackOutputs;

pub(super) const NAME: &str = "mocked";
pub(super) const OLD_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/mocked/old";
pub(super) const NEW_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/mocked/new";
pub(super) const CS_ARN: &str = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/1";

pub(super) fn client(rules: &[&Rule]) -> Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("a", "b", None, None, "test"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        // The poll helper's own retries are under test, not the SDK's.
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

pub(super) fn ui() -> Ui {
    Ui::silent()
}

pub(super) fn template() -> Value {
    json!({"Parameters": {"StageName": {"Type": "String", "Default": "prod"}},
           "Resources": {"JobsTable": {"Type": "AWS::DynamoDB::Table"}}})
}

pub(super) fn stack(id: &str, status: &str) -> Stack {
    let mut b = Stack::builder()
        .stack_id(id)
        .stack_name(NAME)
        .stack_status(StackStatus::from(status))
        .parameters(
            Parameter::builder()
                .parameter_key("StageName")
                .parameter_value("prod")
                .build(),
        );
    if status.ends_with("COMPLETE") && !status.contains("ROLLBACK") {
        for (k, v) in [
            (
                "ApiUrl",
                "https://a.execute-api.us-east-1.amazonaws.com/prod",
            ),
            ("StateMachineArn", "arn:sm"),
            ("TableName", "t"),
        ] {
            b = b.outputs(Output::builder().output_key(k).output_value(v).build());
        }
    }
    b.build()
}

pub(super) fn stacks(s: Stack) -> DescribeStacksOutput {
    DescribeStacksOutput::builder().stacks(s).build()
}

pub(super) fn missing() -> DescribeStacksError {
    DescribeStacksError::generic(
        ErrorMetadata::builder()
            .code("ValidationError")
            .message("Stack with id mocked does not exist")
            .build(),
    )
}

pub(super) fn throttled() -> DescribeStackEventsError {
    DescribeStackEventsError::generic(
        ErrorMetadata::builder()
            .code("Throttling")
            .message("Rate exceeded")
            .build(),
    )
}

/// Events newest first, as the API returns them: (id, logical id, type, status, reason).
pub(super) fn events(list: &[(&str, &str, &str, &str, Option<&str>)]) -> DescribeStackEventsOutput {
    let mut b = DescribeStackEventsOutput::builder();
    for (id, logical, ty, status, reason) in list {
        let mut e = StackEvent::builder()
            .event_id(*id)
            .logical_resource_id(*logical)
            .resource_type(*ty)
            .resource_status(ResourceStatus::from(*status));
        if let Some(r) = reason {
            e = e.resource_status_reason(*r);
        }
        b = b.stack_events(e.build());
    }
    b.build()
}

pub(super) const STACK: &str = "AWS::CloudFormation::Stack";
pub(super) const TABLE: &str = "AWS::DynamoDB::Table";

pub(super) fn created_change_set(id: &'static str) -> Rule {
    mock!(Client::create_change_set).then_output(move || {
        CreateChangeSetOutput::builder()
            .id(CS_ARN)
            .stack_id(id)
            .build()
    })
}

pub(super) fn ready_change_set() -> Rule {
    mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .changes(
                Change::builder()
                    .resource_change(
                        SdkChange::builder()
                            .action(ChangeAction::Add)
                            .logical_resource_id("JobsTable")
                            .resource_type(TABLE)
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

pub(super) fn executed() -> Rule {
    mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build())
}

pub(super) fn sfn_client(rules: &[&Rule]) -> aws_sdk_sfn::Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let conf = aws_sdk_sfn::Config::builder()
        .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
        .region(aws_sdk_sfn::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sfn::Client::from_conf(conf)
}

pub(super) fn ddb_client() -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .http_client(create_mock_http_client())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

pub(super) fn sfn_outputs() -> StackOutputs {
    StackOutputs {
        api_url: "https://a".into(),
        state_machine_arn: "arn:sm".into(),
        table_name: "t".into(),
        more: Default::default(),
    }
}

pub(super) fn apigw_client(rules: &[&Rule]) -> aws_sdk_apigateway::Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let conf = aws_sdk_apigateway::Config::builder()
        .behavior_version(aws_sdk_apigateway::config::BehaviorVersion::latest())
        .region(aws_sdk_apigateway::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_apigateway::config::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    aws_sdk_apigateway::Client::from_conf(conf)
}

/// An S3 client that answers nothing (deploys whose template goes inline never call it).
pub(super) fn s3_client() -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .http_client(create_mock_http_client())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

pub(super) fn account() -> super::account::Account {
    super::account::Account {
        id: "123456789012".into(),
        partition: "aws".into(),
        region: "us-east-1".into(),
    }
}
