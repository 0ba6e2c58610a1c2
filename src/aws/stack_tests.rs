//! What moto cannot produce (rollbacks with reasons, throttling, stuck rollbacks), with
//! `aws-smithy-mocks` rule sequences and a tiny poll schedule.

use aws_sdk_cloudformation::config::retry::RetryConfig;
use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::{
    DescribeStackEventsError, DescribeStackEventsOutput,
};
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, Output, ResourceChange as SdkChange, ResourceStatus, StackEvent,
    StackResourceSummary, StackStatus,
};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_types::error::ErrorMetadata;
use serde_json::json;

use super::*;

const NAME: &str = "mocked";
const OLD_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/mocked/old";
const NEW_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/mocked/new";
const CS_ARN: &str = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/1";

fn client(rules: &[&Rule]) -> Client {
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

fn ui() -> Ui {
    Ui::silent()
}

async fn run_deploy(cfn: &Client) -> Result<StackOutputs> {
    let ui = ui();
    let ctx = StackCtx {
        cfn,
        name: NAME,
        ui: &ui,
        schedule: &Schedule::TINY,
    };
    deploy(&ctx, &template(), &[]).await
}

fn template() -> Value {
    json!({"Parameters": {"StageName": {"Type": "String", "Default": "prod"}},
           "Resources": {"JobsTable": {"Type": "AWS::DynamoDB::Table"}}})
}

fn stack(id: &str, status: &str) -> Stack {
    let mut b = Stack::builder()
        .stack_id(id)
        .stack_name(NAME)
        .stack_status(StackStatus::from(status));
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

fn stacks(s: Stack) -> DescribeStacksOutput {
    DescribeStacksOutput::builder().stacks(s).build()
}

fn missing() -> DescribeStacksError {
    DescribeStacksError::generic(
        ErrorMetadata::builder()
            .code("ValidationError")
            .message("Stack with id mocked does not exist")
            .build(),
    )
}

fn throttled() -> DescribeStackEventsError {
    DescribeStackEventsError::generic(
        ErrorMetadata::builder()
            .code("Throttling")
            .message("Rate exceeded")
            .build(),
    )
}

/// Events newest first, as the API returns them: (id, logical id, type, status, reason).
fn events(list: &[(&str, &str, &str, &str, Option<&str>)]) -> DescribeStackEventsOutput {
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

const STACK: &str = "AWS::CloudFormation::Stack";
const TABLE: &str = "AWS::DynamoDB::Table";

fn created_change_set(id: &'static str) -> Rule {
    mock!(Client::create_change_set).then_output(move || {
        CreateChangeSetOutput::builder()
            .id(CS_ARN)
            .stack_id(id)
            .build()
    })
}

fn ready_change_set() -> Rule {
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

fn executed() -> Rule {
    mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build())
}

#[tokio::test]
async fn a_failed_create_reports_the_first_failing_resource_without_cancellations() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .error(missing)
        .output(|| stacks(stack(NEW_ID, "ROLLBACK_COMPLETE")))
        .repeatedly()
        .build();
    let evs = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| events(&[("e0", NAME, STACK, "REVIEW_IN_PROGRESS", None)]))
        .output(|| {
            events(&[
                ("e7", NAME, STACK, "ROLLBACK_COMPLETE", None),
                ("e6", "JobsTable", TABLE, "DELETE_COMPLETE", None),
                (
                    "e5",
                    NAME,
                    STACK,
                    "ROLLBACK_IN_PROGRESS",
                    Some("The following resource(s) failed to create: [JobsTable, Role]."),
                ),
                (
                    "e4",
                    "Api",
                    "AWS::ApiGateway::RestApi",
                    "CREATE_FAILED",
                    Some("Api: second failure"),
                ),
                (
                    "e3",
                    "Role",
                    "AWS::IAM::Role",
                    "CREATE_FAILED",
                    Some("Resource creation cancelled"),
                ),
                (
                    "e2",
                    "JobsTable",
                    TABLE,
                    "CREATE_FAILED",
                    Some("One or more parameter values were invalid: key schema"),
                ),
                (
                    "e1",
                    NAME,
                    STACK,
                    "CREATE_IN_PROGRESS",
                    Some("User Initiated"),
                ),
                ("e0", NAME, STACK, "REVIEW_IN_PROGRESS", None),
            ])
        })
        .repeatedly()
        .build();
    let create = created_change_set(NEW_ID);
    let (ready, exec) = (ready_change_set(), executed());
    let cfn = client(&[&describe, &evs, &create, &ready, &exec]);

    let err = run_deploy(&cfn).await.unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.exit_code(), 1);
    assert!(
        msg.starts_with("creating stack mocked failed and was rolled back (ROLLBACK_COMPLETE)"),
        "{msg}"
    );
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(
        lines[1],
        "  JobsTable (AWS::DynamoDB::Table) CREATE_FAILED: One or more parameter values were invalid: key schema"
    );
    assert!(lines[2].contains("second failure"), "{msg}");
    assert!(!msg.contains("cancelled"), "{msg}");
    assert!(msg.contains("next deploy deletes"), "{msg}");
}

#[tokio::test]
async fn a_rolled_back_stack_is_deleted_and_created_again() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks(stack(OLD_ID, "ROLLBACK_COMPLETE")))
        .output(|| stacks(stack(OLD_ID, "DELETE_COMPLETE")))
        .output(|| stacks(stack(NEW_ID, "CREATE_COMPLETE")))
        .repeatedly()
        .build();
    let evs = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| events(&[("o1", NAME, STACK, "ROLLBACK_COMPLETE", None)]))
        .output(|| {
            events(&[
                ("o3", NAME, STACK, "DELETE_COMPLETE", None),
                (
                    "o2",
                    NAME,
                    STACK,
                    "DELETE_IN_PROGRESS",
                    Some("User Initiated"),
                ),
                ("o1", NAME, STACK, "ROLLBACK_COMPLETE", None),
            ])
        })
        .output(|| events(&[("n0", NAME, STACK, "REVIEW_IN_PROGRESS", None)]))
        .output(|| {
            events(&[
                ("n3", NAME, STACK, "CREATE_COMPLETE", None),
                ("n2", "JobsTable", TABLE, "CREATE_COMPLETE", None),
                ("n1", NAME, STACK, "CREATE_IN_PROGRESS", None),
                ("n0", NAME, STACK, "REVIEW_IN_PROGRESS", None),
            ])
        })
        .repeatedly()
        .build();
    let delete = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(OLD_ID))
        .then_output(|| DeleteStackOutput::builder().build());
    let create = mock!(Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Create))
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id(CS_ARN)
                .stack_id(NEW_ID)
                .build()
        });
    let (ready, exec) = (ready_change_set(), executed());
    let cfn = client(&[&describe, &evs, &delete, &create, &ready, &exec]);

    let outputs = run_deploy(&cfn).await.unwrap();
    assert_eq!(outputs.table_name, "t");
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(create.num_calls(), 1);
    assert_eq!(exec.num_calls(), 1);
}

#[tokio::test]
async fn a_throttled_describe_stack_events_is_retried() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .error(missing)
        .output(|| stacks(stack(NEW_ID, "CREATE_COMPLETE")))
        .repeatedly()
        .build();
    let evs = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| events(&[("n0", NAME, STACK, "REVIEW_IN_PROGRESS", None)]))
        .error(throttled)
        .times(2)
        .output(|| {
            events(&[
                ("n2", NAME, STACK, "CREATE_COMPLETE", None),
                ("n1", NAME, STACK, "CREATE_IN_PROGRESS", None),
                ("n0", NAME, STACK, "REVIEW_IN_PROGRESS", None),
            ])
        })
        .build();
    let create = created_change_set(NEW_ID);
    let (ready, exec) = (ready_change_set(), executed());
    let cfn = client(&[&describe, &evs, &create, &ready, &exec]);

    let outputs = run_deploy(&cfn).await.unwrap();
    assert_eq!(outputs.state_machine_arn, "arn:sm");
    assert_eq!(evs.num_calls(), 4, "baseline, two throttled, one answer");
}

#[tokio::test]
async fn throttling_that_never_ends_gives_up_with_the_error() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .error(missing)
        .output(|| stacks(stack(NEW_ID, "CREATE_IN_PROGRESS")))
        .repeatedly()
        .build();
    let evs = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| events(&[("n0", NAME, STACK, "REVIEW_IN_PROGRESS", None)]))
        .error(throttled)
        .repeatedly()
        .build();
    let create = created_change_set(NEW_ID);
    let (ready, exec) = (ready_change_set(), executed());
    let cfn = client(&[&describe, &evs, &create, &ready, &exec]);

    let err = run_deploy(&cfn).await.unwrap_err();
    assert!(err.to_string().contains("Throttling"), "{err}");
}

#[tokio::test]
async fn a_stale_final_status_right_after_execute_is_not_taken_for_the_end() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks(stack(OLD_ID, "UPDATE_COMPLETE")))
        .times(2)
        .output(|| stacks(stack(OLD_ID, "UPDATE_IN_PROGRESS")))
        .output(|| stacks(stack(OLD_ID, "UPDATE_COMPLETE")))
        .repeatedly()
        .build();
    let evs = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| events(&[("o1", NAME, STACK, "UPDATE_COMPLETE", None)]))
        .times(2)
        .output(|| {
            events(&[
                ("o2", NAME, STACK, "UPDATE_IN_PROGRESS", None),
                ("o1", NAME, STACK, "UPDATE_COMPLETE", None),
            ])
        })
        .output(|| {
            events(&[
                ("o3", NAME, STACK, "UPDATE_COMPLETE", None),
                ("o2", NAME, STACK, "UPDATE_IN_PROGRESS", None),
                ("o1", NAME, STACK, "UPDATE_COMPLETE", None),
            ])
        })
        .repeatedly()
        .build();
    let create = created_change_set(OLD_ID);
    let (ready, exec) = (ready_change_set(), executed());
    let cfn = client(&[&describe, &evs, &create, &ready, &exec]);

    run_deploy(&cfn).await.unwrap();
    assert_eq!(exec.num_calls(), 1);
    assert_eq!(describe.num_calls(), 4, "settle, stale, in progress, final");
}

#[tokio::test]
async fn update_rollback_failed_names_the_resources_and_the_way_out() {
    let describe = mock!(Client::describe_stacks)
        .then_output(|| stacks(stack(OLD_ID, "UPDATE_ROLLBACK_FAILED")));
    let resources = mock!(Client::list_stack_resources).then_output(|| {
        ListStackResourcesOutput::builder()
            .stack_resource_summaries(
                StackResourceSummary::builder()
                    .logical_resource_id("JobsTable")
                    .resource_type(TABLE)
                    .resource_status(ResourceStatus::UpdateFailed)
                    .resource_status_reason("Table was deleted outside CloudFormation")
                    .build(),
            )
            .stack_resource_summaries(
                StackResourceSummary::builder()
                    .logical_resource_id("Api")
                    .resource_type("AWS::ApiGateway::RestApi")
                    .resource_status(ResourceStatus::UpdateComplete)
                    .build(),
            )
            .build()
    });
    let create = created_change_set(OLD_ID);
    let cfn = client(&[&describe, &resources, &create]);

    let err = run_deploy(&cfn).await.unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.exit_code(), 1);
    assert!(msg.contains("UPDATE_ROLLBACK_FAILED"), "{msg}");
    assert!(
        msg.contains("JobsTable (AWS::DynamoDB::Table): Table was deleted outside CloudFormation"),
        "{msg}"
    );
    assert!(!msg.contains("Api ("), "{msg}");
    assert!(
        msg.contains(
            "continue-update-rollback --stack-name mocked [--resources-to-skip JobsTable]"
        ),
        "{msg}"
    );
    assert_eq!(create.num_calls(), 0, "nothing is sent to a stuck stack");
}

#[tokio::test]
async fn an_empty_change_set_means_up_to_date_and_is_deleted() {
    let describe =
        mock!(Client::describe_stacks).then_output(|| stacks(stack(OLD_ID, "UPDATE_COMPLETE")));
    let create = created_change_set(OLD_ID);
    let failed = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::Failed)
            .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
            .build()
    });
    let delete = mock!(Client::delete_change_set)
        .match_requests(|r| r.change_set_name() == Some(CS_ARN))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let exec = executed();
    let cfn = client(&[&describe, &create, &failed, &delete, &exec]);

    let outputs = run_deploy(&cfn).await.unwrap();
    assert_eq!(outputs.table_name, "t");
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(exec.num_calls(), 0);
}

#[tokio::test]
async fn a_stack_busy_with_another_operation_is_waited_for() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks(stack(OLD_ID, "UPDATE_IN_PROGRESS")))
        .times(3)
        .output(|| stacks(stack(OLD_ID, "UPDATE_COMPLETE")))
        .repeatedly()
        .build();
    let evs = mock!(Client::describe_stack_events)
        .then_output(|| events(&[("o1", NAME, STACK, "UPDATE_IN_PROGRESS", None)]));
    let create = mock!(Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Update))
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id(CS_ARN)
                .stack_id(OLD_ID)
                .build()
        });
    let failed = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::Failed)
            .status_reason("No updates are to be performed.")
            .build()
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = client(&[&describe, &evs, &create, &failed, &delete]);

    run_deploy(&cfn).await.unwrap();
    assert_eq!(
        create.num_calls(),
        1,
        "the update starts once the other one is done"
    );
    assert!(describe.num_calls() >= 4);
}

#[tokio::test]
async fn delete_failed_is_reported_with_its_reasons() {
    let describe =
        mock!(Client::describe_stacks).then_output(|| stacks(stack(OLD_ID, "DELETE_FAILED")));
    let evs = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| events(&[("o1", NAME, STACK, "CREATE_COMPLETE", None)]))
        .output(|| {
            events(&[
                (
                    "o4",
                    NAME,
                    STACK,
                    "DELETE_FAILED",
                    Some("The following resource(s) failed to delete: [JobsTable]."),
                ),
                (
                    "o3",
                    "JobsTable",
                    TABLE,
                    "DELETE_FAILED",
                    Some("Table has deletion protection"),
                ),
                ("o2", NAME, STACK, "DELETE_IN_PROGRESS", None),
                ("o1", NAME, STACK, "CREATE_COMPLETE", None),
            ])
        })
        .repeatedly()
        .build();
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let cfn = client(&[&describe, &evs, &delete]);
    let ui = ui();
    let ctx = StackCtx {
        cfn: &cfn,
        name: NAME,
        ui: &ui,
        schedule: &Schedule::TINY,
    };
    let err = delete_and_wait(&ctx, &stack(OLD_ID, "CREATE_COMPLETE"))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("deleting stack mocked failed (DELETE_FAILED)"),
        "{msg}"
    );
    assert!(
        msg.contains(
            "JobsTable (AWS::DynamoDB::Table) DELETE_FAILED: Table has deletion protection"
        ),
        "{msg}"
    );
}

fn sfn_client(rules: &[&Rule]) -> aws_sdk_sfn::Client {
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

fn ddb_client() -> aws_sdk_dynamodb::Client {
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

fn sfn_outputs() -> StackOutputs {
    StackOutputs {
        api_url: "https://a".into(),
        state_machine_arn: "arn:sm".into(),
        table_name: "t".into(),
    }
}

#[tokio::test]
async fn no_state_machine_or_no_running_execution_means_nothing_to_cancel() {
    use aws_sdk_sfn::operation::list_executions::{ListExecutionsError, ListExecutionsOutput};
    let gone = mock!(aws_sdk_sfn::Client::list_executions).then_error(|| {
        ListExecutionsError::StateMachineDoesNotExist(
            aws_sdk_sfn::types::error::StateMachineDoesNotExist::builder()
                .message("gone")
                .build(),
        )
    });
    let sfn = sfn_client(&[&gone]);
    assert_eq!(
        cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs())
            .await
            .unwrap(),
        0
    );

    let none = mock!(aws_sdk_sfn::Client::list_executions)
        .match_requests(|r| {
            r.status_filter() == Some(&aws_sdk_sfn::types::ExecutionStatus::Running)
        })
        .then_output(|| {
            ListExecutionsOutput::builder()
                .set_executions(Some(vec![]))
                .build()
                .unwrap()
        });
    let sfn = sfn_client(&[&none]);
    assert_eq!(
        cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs())
            .await
            .unwrap(),
        0
    );
    assert_eq!(none.num_calls(), 1);
}

#[tokio::test]
async fn a_job_that_cannot_be_cancelled_stops_the_destroy() {
    use aws_sdk_sfn::operation::list_executions::ListExecutionsOutput;
    use aws_sdk_sfn::operation::stop_execution::StopExecutionError;
    let item = |name: &str| {
        aws_sdk_sfn::types::ExecutionListItem::builder()
            .name(name)
            .execution_arn(format!("arn:exec:{name}"))
            .state_machine_arn("arn:sm")
            .status(aws_sdk_sfn::types::ExecutionStatus::Running)
            .start_date(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .unwrap()
    };
    let list = mock!(aws_sdk_sfn::Client::list_executions).then_output(move || {
        ListExecutionsOutput::builder()
            .executions(item("job-1"))
            .executions(item("job-2"))
            .build()
            .unwrap()
    });
    // Whatever cancel_execution sends, the service refuses it.
    let stop = mock!(aws_sdk_sfn::Client::stop_execution).then_error(|| {
        StopExecutionError::generic(ErrorMetadata::builder().code("AccessDenied").build())
    });
    let sfn = sfn_client(&[&list, &stop]);
    let err = cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("job-1") && msg.contains("the stack was not deleted"),
        "{msg}"
    );
}

#[test]
fn the_sdk_knows_no_stack_status_the_classifier_does_not() {
    use crate::core::stack_status::ALL_STACK_STATUSES;
    for status in StackStatus::values() {
        assert!(ALL_STACK_STATUSES.contains(status), "{status} is new");
    }
}
