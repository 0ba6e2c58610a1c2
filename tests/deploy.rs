//! `waitable deploy` and `waitable destroy` on the aws target, against moto over HTTP, and the
//! up-front configuration errors (no region, no credentials) with a scrubbed environment.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use serde_json::Value;

use crate::harness::{
    describe, moto_url, run_ok, scrub, unique_name, venv_bin, waitable_bare, waitable_on_moto,
};

fn waitable(stack: &str, args: &[&str]) -> Command {
    let mut cmd = waitable_on_moto();
    cmd.args(args).args(["--stack-name", stack]);
    cmd
}

fn deploy_json(stack: &str, extra: &[&str]) -> (Value, Output) {
    let mut args = vec!["deploy", "--yes", "--output", "json"];
    args.extend_from_slice(extra);
    let out = run_ok(&mut waitable(stack, &args));
    let outputs: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", describe(&out)));
    (outputs, out)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// SDK clients pointed at moto, built without reading any environment or profile.
fn cfn() -> aws_sdk_cloudformation::Client {
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto_url())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .build();
    aws_sdk_cloudformation::Client::from_conf(conf)
}

fn ddb() -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .endpoint_url(moto_url())
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

fn sfn() -> aws_sdk_sfn::Client {
    let conf = aws_sdk_sfn::Config::builder()
        .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
        .region(aws_sdk_sfn::config::Region::new("us-east-1"))
        .endpoint_url(moto_url())
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    aws_sdk_sfn::Client::from_conf(conf)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn stack_status(stack: &str) -> Option<String> {
    block_on(async {
        match cfn().describe_stacks().stack_name(stack).send().await {
            Ok(out) => out.stacks()[0]
                .stack_status()
                .map(|s| s.as_str().to_string()),
            Err(err) => {
                let text = format!("{:?}", err);
                assert!(text.contains("does not exist"), "describe failed: {text}");
                None
            }
        }
    })
}

/// The awscli from the venv, pointed at moto with test credentials and nothing else.
fn aws_cli() -> Command {
    let mut cmd = Command::new(venv_bin("aws"));
    scrub(&mut cmd)
        .args(["--endpoint-url", &moto_url(), "--region", "us-east-1"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    cmd
}

/// The REST API ids moto knows, through the awscli (the project has no API Gateway SDK).
fn rest_api_ids() -> Vec<String> {
    let out = run_ok(aws_cli().args(["apigateway", "get-rest-apis", "--output", "json"]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn deploy_creates_the_stack_and_its_resources_exist_in_their_services() {
    let stack = unique_name("deploy-create");
    let (outputs, out) = deploy_json(&stack, &[]);
    let err = stderr(&out);
    assert!(err.contains("+ add") && err.contains("JobsTable"), "{err}");
    assert_eq!(stack_status(&stack).as_deref(), Some("CREATE_COMPLETE"));

    let keys: Vec<&String> = outputs.as_object().unwrap().keys().collect();
    // The reconcile's alarm output is left out by moto (it does not resolve the alarm's name).
    assert_eq!(
        keys,
        [
            "ApiUrl",
            "StateMachineArn",
            "TableName",
            "ReconcileDeadLetterQueueUrl"
        ]
    );
    let table = outputs["TableName"].as_str().unwrap().to_string();
    let arn = outputs["StateMachineArn"].as_str().unwrap().to_string();
    let api_url = outputs["ApiUrl"].as_str().unwrap();
    assert!(api_url.ends_with("/prod"), "{api_url}");

    block_on(async {
        let t = ddb().describe_table().table_name(&table).send().await;
        let t = t.unwrap_or_else(|e| panic!("table {table} is missing: {e:?}"));
        assert_eq!(t.table().unwrap().table_name(), Some(table.as_str()));
        let sm = sfn()
            .describe_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await;
        let sm = sm.unwrap_or_else(|e| panic!("state machine {arn} is missing: {e:?}"));
        assert!(sm.definition().contains("WaitUntil"), "{}", sm.definition());
        let tags = cfn()
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .unwrap();
        let tags = tags.stacks()[0].tags();
        assert!(
            tags.iter().any(|t| t.key() == Some("waitable:version")
                && t.value() == Some(env!("CARGO_PKG_VERSION"))),
            "{tags:?}"
        );
    });
    let api_id = api_url
        .trim_start_matches("https://")
        .split('.')
        .next()
        .unwrap();
    assert!(
        rest_api_ids().iter().any(|id| id == api_id),
        "REST API {api_id} is missing"
    );
}

#[test]
fn a_second_deploy_reports_no_changes() {
    let stack = unique_name("deploy-again");
    let (first, _) = deploy_json(&stack, &[]);
    let (second, out) = deploy_json(&stack, &[]);
    assert!(stderr(&out).contains("up to date"), "{}", describe(&out));
    assert!(
        !stderr(&out).contains("change set for"),
        "{}",
        describe(&out)
    );
    assert_eq!(first, second);
}

#[test]
fn an_update_goes_through_a_change_set_and_lands() {
    let stack = unique_name("deploy-update");
    deploy_json(&stack, &[]);
    let (outputs, out) = deploy_json(&stack, &["--parameter", "StageName=dev"]);
    let err = stderr(&out);
    assert!(err.contains("change set for stack"), "{err}");
    assert!(err.contains("UPDATE_COMPLETE"), "{err}");
    assert!(
        outputs["ApiUrl"].as_str().unwrap().ends_with("/dev"),
        "{outputs}"
    );
    assert_eq!(stack_status(&stack).as_deref(), Some("UPDATE_COMPLETE"));
    let params = block_on(async {
        let out = cfn()
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .unwrap();
        out.stacks()[0].parameters().to_vec()
    });
    assert!(
        params
            .iter()
            .any(|p| p.parameter_key() == Some("StageName") && p.parameter_value() == Some("dev")),
        "{params:?}"
    );
}

#[test]
fn outputs_print_as_a_table_by_default() {
    let stack = unique_name("deploy-table");
    let out = run_ok(&mut waitable(&stack, &["deploy", "--yes"]));
    let text = String::from_utf8(out.stdout).unwrap();
    for key in ["ApiUrl", "StateMachineArn", "TableName"] {
        assert!(text.contains(key), "{text}");
    }
    run_ok(&mut waitable(&stack, &["destroy", "--yes"]));
}

#[test]
fn destroy_removes_the_stack_and_its_table() {
    let stack = unique_name("destroy");
    let (outputs, _) = deploy_json(&stack, &[]);
    let out = run_ok(&mut waitable(
        &stack,
        &["destroy", "--yes", "--output", "json"],
    ));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["existed"], true);
    assert_eq!(report["cancelledJobs"], 0);
    assert!(
        stderr(&out).contains("DELETE_COMPLETE"),
        "{}",
        describe(&out)
    );
    assert_eq!(stack_status(&stack), None);
    let table = outputs["TableName"].as_str().unwrap().to_string();
    block_on(async {
        assert!(
            ddb()
                .describe_table()
                .table_name(&table)
                .send()
                .await
                .is_err()
        );
    });
}

#[test]
fn destroy_turns_off_the_tables_deletion_protection_after_confirming() {
    let stack = unique_name("destroy-protected");
    let (outputs, _) = deploy_json(&stack, &[]);
    let table = outputs["TableName"].as_str().unwrap().to_string();
    let protection = |on: Option<bool>| {
        block_on(async {
            if let Some(on) = on {
                ddb()
                    .update_table()
                    .table_name(&table)
                    .deletion_protection_enabled(on)
                    .send()
                    .await
                    .unwrap();
            }
            ddb()
                .describe_table()
                .table_name(&table)
                .send()
                .await
                .ok()
                .map(|t| t.table().unwrap().deletion_protection_enabled() == Some(true))
        })
    };
    assert_eq!(protection(Some(true)), Some(true));

    // Refused confirmation: nothing changes, the table stays protected.
    let out = waitable(&stack, &["destroy"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert_eq!(protection(None), Some(true));

    let out = run_ok(&mut waitable(&stack, &["destroy", "--yes"]));
    assert!(
        stderr(&out).contains(&format!("turned off deletion protection of table {table}")),
        "{}",
        describe(&out)
    );
    assert_eq!(stack_status(&stack), None);
    assert_eq!(protection(None), None, "the table is gone");
}

#[test]
fn destroy_of_a_missing_stack_says_so_and_exits_0() {
    let stack = unique_name("destroy-missing");
    let out = run_ok(&mut waitable(&stack, &["destroy", "--yes"]));
    assert!(
        stderr(&out).contains("does not exist"),
        "{}",
        describe(&out)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn without_a_terminal_or_yes_deploy_and_destroy_refuse() {
    let stack = unique_name("refuse");
    for args in [&["deploy"][..], &["destroy"][..]] {
        let out = waitable(&stack, args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        assert!(stderr(&out).contains("--yes"), "{}", describe(&out));
    }
    assert_eq!(stack_status(&stack), None, "nothing was created");
}

#[test]
fn an_unknown_parameter_is_refused_before_anything_is_sent() {
    let stack = unique_name("bad-param");
    let out = waitable(&stack, &["deploy", "--yes", "--parameter", "Stage=dev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr(&out).contains("StageName"), "{}", describe(&out));
    assert_eq!(stack_status(&stack), None);
}

/// A hang guard, not a performance test: a credentials lookup that fell through to instance
/// metadata or a network timeout would take many seconds.
const PROMPTLY: Duration = Duration::from_secs(5);

fn one_line_error(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "{}", describe(out));
    assert!(err.starts_with("error: "), "{}", describe(out));
    assert!(out.stdout.is_empty());
    err
}

#[test]
fn no_region_is_a_one_line_usage_error() {
    let started = Instant::now();
    let out = waitable_bare().args(["deploy", "--yes"]).output().unwrap();
    assert!(started.elapsed() < PROMPTLY);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = one_line_error(&out);
    assert!(
        err.contains("--region") && err.contains("AWS_REGION"),
        "{err}"
    );
}

#[test]
fn no_credentials_is_a_one_line_failure() {
    let started = Instant::now();
    let out = waitable_bare()
        .args(["destroy", "--yes", "--region", "eu-west-1"])
        .output()
        .unwrap();
    assert!(started.elapsed() < PROMPTLY);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = one_line_error(&out);
    assert!(err.contains("no AWS credentials"), "{err}");
}

#[test]
fn quiet_leaves_stderr_empty_and_stdout_data_only() {
    let stack = unique_name("deploy-quiet");
    let out = run_ok(&mut waitable(
        &stack,
        &["deploy", "--yes", "--quiet", "--output", "json"],
    ));
    assert!(out.stderr.is_empty(), "{}", describe(&out));
    let outputs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(outputs["TableName"].is_string());
    let out = run_ok(&mut waitable(&stack, &["destroy", "--yes", "--quiet"]));
    assert!(
        out.stderr.is_empty() && out.stdout.is_empty(),
        "{}",
        describe(&out)
    );
}

#[test]
fn a_stack_left_in_review_is_deleted_and_created_again() {
    let stack = unique_name("deploy-review");
    let synth = run_ok(waitable_bare().args(["synth", "--format", "json"]));
    let template = std::env::temp_dir().join(format!("{stack}.json"));
    std::fs::write(&template, &synth.stdout).unwrap();
    // An unexecuted CREATE change set leaves the stack in REVIEW_IN_PROGRESS.
    run_ok(
        aws_cli()
            .args([
                "cloudformation",
                "create-change-set",
                "--change-set-type",
                "CREATE",
            ])
            .args(["--stack-name", &stack, "--change-set-name", "left-over"])
            .arg(format!("--template-body=file://{}", template.display()))
            .args(["--capabilities", "CAPABILITY_IAM"]),
    );
    std::fs::remove_file(&template).ok();
    assert_eq!(stack_status(&stack).as_deref(), Some("REVIEW_IN_PROGRESS"));

    let (outputs, out) = deploy_json(&stack, &[]);
    let err = stderr(&out);
    assert!(
        err.contains("REVIEW_IN_PROGRESS") && err.contains("deleting it and creating it again"),
        "{err}"
    );
    assert!(outputs["TableName"].is_string());
    assert_eq!(stack_status(&stack).as_deref(), Some("CREATE_COMPLETE"));
}
