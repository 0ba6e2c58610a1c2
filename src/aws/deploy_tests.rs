//! The deploy flows against mocked CloudFormation, on a tiny poll schedule.

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
use aws_sdk_cloudformation::types::{
    ChangeSetStatus, ChangeSetType, ResourceStatus, StackResourceSummary,
};
use aws_smithy_mocks::{Rule, mock};
use serde_json::Value;

use super::*;
use crate::aws::mocks::*;
use crate::poll::Schedule;

/// Plans and applies as a deploy with `--yes` does.
async fn run_deploy(cfn: &Client) -> Result<StackOutputs> {
    deploy_with(cfn, &apigw_client(&[]), &template()).await
}

async fn deploy_with(
    cfn: &Client,
    apigw: &aws_sdk_apigateway::Client,
    template: &Value,
) -> Result<StackOutputs> {
    let ui = ui();
    let ctx = StackCtx {
        cfn,
        name: NAME,
        ui: &ui,
        schedule: &Schedule::TINY,
    };
    let (s3, account) = (s3_client(), account());
    let artifacts = Artifacts {
        s3: &s3,
        account: &account,
        tls_only: true,
    };
    match plan(&ctx, &artifacts, template, &[], false).await? {
        Planned::UpToDate(outputs) => Ok(outputs),
        Planned::Review(pending) => apply(&ctx, apigw, &pending).await,
    }
}

/// An update whose change set does `action` to the jobs table with this `Replacement`, seen
/// through to UPDATE_COMPLETE.
fn update_rules(replacement: &'static str) -> Vec<Rule> {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks(stack(OLD_ID, "UPDATE_COMPLETE")))
        .output(|| stacks(stack(OLD_ID, "UPDATE_IN_PROGRESS")))
        .output(|| stacks(stack(OLD_ID, "UPDATE_COMPLETE")))
        .repeatedly()
        .build();
    let evs = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| events(&[("o1", NAME, STACK, "UPDATE_COMPLETE", None)]))
        .output(|| {
            events(&[
                ("o3", NAME, STACK, "UPDATE_COMPLETE", None),
                ("o2", NAME, STACK, "UPDATE_IN_PROGRESS", None),
                ("o1", NAME, STACK, "UPDATE_COMPLETE", None),
            ])
        })
        .repeatedly()
        .build();
    let ready = mock!(Client::describe_change_set).then_output(move || {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .changes(
                aws_sdk_cloudformation::types::Change::builder()
                    .resource_change(
                        aws_sdk_cloudformation::types::ResourceChange::builder()
                            .action(aws_sdk_cloudformation::types::ChangeAction::Modify)
                            .logical_resource_id("JobsTable")
                            .resource_type(TABLE)
                            .replacement(aws_sdk_cloudformation::types::Replacement::from(
                                replacement,
                            ))
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let api = mock!(Client::describe_stack_resource)
        .match_requests(|r| r.logical_resource_id() == Some("Api"))
        .then_output(|| {
            aws_sdk_cloudformation::operation::describe_stack_resource::DescribeStackResourceOutput::builder()
                .stack_resource_detail(
                    aws_sdk_cloudformation::types::StackResourceDetail::builder()
                        .logical_resource_id("Api")
                        .physical_resource_id("api123")
                        .resource_type("AWS::ApiGateway::RestApi")
                        .last_updated_timestamp(aws_smithy_types::DateTime::from_secs(0))
                        .resource_status(ResourceStatus::UpdateComplete)
                        .build(),
                )
                .build()
        });
    vec![
        describe,
        evs,
        created_change_set(OLD_ID),
        ready,
        executed(),
        api,
    ]
}

fn created_deployment() -> Rule {
    mock!(aws_sdk_apigateway::Client::create_deployment)
        .match_requests(|r| r.rest_api_id() == Some("api123") && r.stage_name() == Some("prod"))
        .then_output(|| {
            aws_sdk_apigateway::operation::create_deployment::CreateDeploymentOutput::builder()
                .id("dep-2")
                .build()
        })
}

#[tokio::test]
async fn an_update_that_replaces_the_table_redeploys_the_stage() {
    let rules = update_rules("True");
    let cfn = client(&rules.iter().collect::<Vec<_>>());
    let created = created_deployment();
    let apigw = apigw_client(&[&created]);
    let t = waitable_core::template::template(&Default::default());
    deploy_with(&cfn, &apigw, &t).await.unwrap();
    assert_eq!(created.num_calls(), 1, "the stage gets a new deployment");
}

#[tokio::test]
async fn an_update_that_keeps_the_table_leaves_the_stage_alone() {
    let rules = update_rules("False");
    let cfn = client(&rules.iter().collect::<Vec<_>>());
    let created = created_deployment();
    let apigw = apigw_client(&[&created]);
    let t = waitable_core::template::template(&Default::default());
    deploy_with(&cfn, &apigw, &t).await.unwrap();
    assert_eq!(created.num_calls(), 0);
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
    let delete = delete_change_set();
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

/// The aws backend driven by the deploy command, its CloudFormation and API Gateway mocked.
fn aws_backend(cfn: Client, apigw: aws_sdk_apigateway::Client) -> crate::aws::AwsBackend {
    crate::aws::AwsBackend {
        stack_name: NAME.into(),
        cfn,
        sfn: sfn_client(&[]),
        ddb: ddb_client(),
        apigw,
        endpoint: crate::aws::api_check::Endpoint::Aws,
        ui: ui(),
        schedule: Schedule::TINY,
        s3: s3_client(),
        sts: aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::Config::builder()
                .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
                .region(aws_sdk_sts::config::Region::new("us-east-1"))
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .build(),
        ),
        events: aws_sdk_eventbridge::Client::from_conf(
            aws_sdk_eventbridge::Config::builder()
                .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
                .region(aws_sdk_eventbridge::config::Region::new("us-east-1"))
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .build(),
        ),
        // Known already: the mocked deploy asks STS nothing.
        account_cache: tokio::sync::OnceCell::new_with(Some(account())),
        plain_http_endpoint: false,
        // The rest (SQS, the caches) is never called by deploy.
        ..crate::aws::AwsBackend::new(
            NAME,
            &aws_types::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .build(),
        )
    }
}

fn deploy_command(allow_replace: bool) -> (crate::request::DeployRequest, crate::config::Config) {
    let args = crate::request::DeployRequest {
        parameters: vec![],
        allow_replace,
        canary: false,
        upload_template: false,
        webhook_header: None,
        stack: crate::request::StackFlags {
            iam_auth: true,
            // Explicit, so deploy does not read the deployed template for remembered targets
            // (the mocks answer only the change-set calls).
            deliver: Some(Default::default()),
        },
    };
    let config = crate::config::Config {
        stack_name: NAME.parse().unwrap(),
        target: crate::cli::Target::Aws,
        aws: Default::default(),
        output: crate::cli::OutputFormat::Json,
        ui: ui(),
        input_tz: None,
        display_tz: None,
    };
    (args, config)
}

/// DeleteChangeSet of the change set the deploy made.
fn delete_change_set() -> Rule {
    mock!(Client::delete_change_set)
        .match_requests(|r| r.change_set_name() == Some(CS_ARN))
        .then_output(|| DeleteChangeSetOutput::builder().build())
}

#[tokio::test]
async fn deploy_refuses_a_change_set_that_replaces_the_table_and_deletes_it() {
    let rules = update_rules("True");
    let exec = rules[4].clone();
    let delete = delete_change_set();
    let mut all: Vec<&Rule> = rules.iter().collect();
    all.push(&delete);
    let created = created_deployment();
    let backend = aws_backend(client(&all), apigw_client(&[&created]));
    let (args, config) = deploy_command(false);
    let mut out = Vec::new();
    let err = crate::commands::deploy::run(&backend, &args, &config, &mut out)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "refusing to deploy: the change set would replace the jobs table JobsTable (AWS::DynamoDB::Table), deleting every job in it; pass --allow-replace to replace it anyway"
    );
    assert_eq!(err.exit_code(), 1);
    assert_eq!(exec.num_calls(), 0, "nothing is executed");
    assert_eq!(delete.num_calls(), 1, "the change set is deleted");
    assert!(out.is_empty());

    // With --allow-replace it goes through, and the stage is redeployed.
    let rules = update_rules("True");
    let created = created_deployment();
    // The API check that ends a deploy: an endpoint without it (as moto) is skipped.
    let no_check = mock!(aws_sdk_apigateway::Client::get_resources).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(500).unwrap(),
            aws_smithy_types::body::SdkBody::from("<!doctype html><title>500</title>"),
        )
    });
    let backend = aws_backend(
        client(&rules.iter().collect::<Vec<_>>()),
        apigw_client(&[&created, &no_check]),
    );
    let (args, config) = deploy_command(true);
    crate::commands::deploy::run(&backend, &args, &config, &mut Vec::new())
        .await
        .unwrap();
    assert_eq!(rules[4].num_calls(), 1);
    assert_eq!(created.num_calls(), 1);
}

#[tokio::test]
async fn ctrl_c_at_the_prompt_deletes_the_change_set_it_made() {
    let rules = update_rules("False");
    let exec = rules[4].clone();
    let delete = delete_change_set();
    let mut all: Vec<&Rule> = rules.iter().collect();
    all.push(&delete);
    let backend = aws_backend(client(&all), apigw_client(&[]));
    let (args, mut config) = deploy_command(false);
    // Someone at a terminal, who presses Ctrl-C instead of answering.
    config.ui = crate::output::Ui {
        assume_yes: false,
        can_prompt: true,
        ..ui()
    };
    let mut out = Vec::new();
    let err = crate::commands::deploy::run_until(
        &backend,
        &args,
        &config,
        &mut out,
        std::future::ready(()),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 130, "{err}");
    assert_eq!(exec.num_calls(), 0, "nothing is executed");
    assert_eq!(delete.num_calls(), 1, "the change set is deleted");
    assert!(out.is_empty());
}
