//! Templates over CloudFormation's inline limit deploy through the artifacts bucket (moto runs
//! S3 and `TemplateURL`); the bus is checked before the change set; the account the
//! credentials belong to is the one named, and `--profile` wins over the environment; an
//! unreachable endpoint is one line.

use std::process::{Command, Output};

use serde_json::Value;

use crate::harness::{describe, moto_url, run_ok, unique_name, waitable_bare, waitable_on_moto};

/// moto's default account, which STS GetCallerIdentity answers for the test credentials.
const MOTO_ACCOUNT: &str = "123456789012";
const BUCKET: &str = "waitable-artifacts-123456789012-us-east-1";

fn waitable(stack: &str, args: &[&str]) -> Command {
    let mut cmd = waitable_on_moto();
    cmd.args(args).args(["--stack-name", stack]);
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn sdk_config() -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new("us-east-1"))
        .endpoint_url(moto_url())
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test"),
        ))
        .build()
}

fn s3() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk_config())
            .force_path_style(true)
            .build(),
    )
}

fn cfn() -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&sdk_config())
}

/// A bus name of EventBridge's greatest length (256), unique to this run.
fn longest_bus_name() -> String {
    let prefix = unique_name("bus");
    format!("{prefix}{}", "b".repeat(256 - prefix.len()))
}

fn create_bus(name: &str) {
    block_on(async {
        aws_sdk_eventbridge::Client::new(&sdk_config())
            .create_event_bus()
            .name(name)
            .send()
            .await
            .unwrap();
    });
}

fn stack_exists(stack: &str) -> bool {
    block_on(async {
        cfn()
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .is_ok_and(|o| {
                o.stacks()
                    .iter()
                    .any(|s| s.stack_status().map(|s| s.as_str()) != Some("DELETE_COMPLETE"))
            })
    })
}

/// queue+topic+bus at its longest was over the inline limit before the definitions were
/// compacted (51,275 bytes); it now fits, so `--upload-template` sends it the large-template
/// way: the same code path, with everything moto can create.
#[test]
fn a_template_through_the_bucket_deploys_updates_and_is_destroyed() {
    let stack = unique_name("large");
    let bus = longest_bus_name();
    create_bus(&bus);
    let deliver = [
        "--deliver",
        "queue",
        "--deliver",
        "topic",
        "--deliver",
        &format!("bus={bus}"),
    ];
    let mut args = vec!["deploy", "--yes", "--output", "json", "--upload-template"];
    args.extend(deliver);
    let out = run_ok(&mut waitable(&stack, &args));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("uploaded to s3://{BUCKET}/templates/{stack}/")),
        "{}",
        describe(&out)
    );
    let outputs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outputs["ArtifactsBucket"], BUCKET, "{outputs}");
    for key in ["ApiUrl", "QueueUrl", "TopicArn", "TableName"] {
        assert!(outputs[key].is_string(), "{key} missing: {outputs}");
    }

    // The bucket as sam and cdk make theirs: encrypted, private, templates expire.
    block_on(async {
        let s3 = s3();
        let enc = s3
            .get_bucket_encryption()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
        assert_eq!(
            rule.apply_server_side_encryption_by_default()
                .unwrap()
                .sse_algorithm()
                .as_str(),
            "AES256"
        );
        let block = s3
            .get_public_access_block()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        let block = block.public_access_block_configuration().unwrap();
        assert_eq!(
            (
                block.block_public_acls(),
                block.ignore_public_acls(),
                block.block_public_policy(),
                block.restrict_public_buckets()
            ),
            (Some(true), Some(true), Some(true), Some(true))
        );
        let life = s3
            .get_bucket_lifecycle_configuration()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        let expiry = life.rules()[0].expiration().unwrap().days();
        assert!(expiry.is_some_and(|d| d > 0), "{life:?}");
        // The TLS-only policy would lock out an emulator reached over http://, so there is none
        // here (its text is unit-tested in src/aws/artifacts.rs).
        assert!(s3.get_bucket_policy().bucket(BUCKET).send().await.is_err());
        let listed = s3
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix(format!("templates/{stack}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(listed.contents().len(), 1);
    });

    // An update goes the same way.
    let mut args = vec![
        "deploy",
        "--yes",
        "--output",
        "json",
        "--parameter",
        "RetentionDays=30",
        "--upload-template",
    ];
    args.extend(deliver);
    let out = run_ok(&mut waitable(&stack, &args));
    assert!(
        stderr(&out).contains("uploaded to s3://"),
        "{}",
        describe(&out)
    );
    let params = block_on(async {
        cfn()
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .unwrap()
            .stacks()[0]
            .parameters()
            .to_vec()
    });
    assert!(
        params.iter().any(
            |p| p.parameter_key() == Some("RetentionDays") && p.parameter_value() == Some("30")
        ),
        "{params:?}"
    );

    // Destroy deletes the stack and says it keeps the shared bucket.
    let out = run_ok(&mut waitable(&stack, &["destroy", "--yes"]));
    assert!(
        stderr(&out).contains(&format!("kept the artifacts bucket {BUCKET}")),
        "{}",
        describe(&out)
    );
    assert!(!stack_exists(&stack));
    block_on(async {
        s3().head_bucket().bucket(BUCKET).send().await.unwrap();
    });
}

/// moto's CloudFormation cannot create `AWS::Events::Connection`, so the largest variant (all
/// four targets, a 2,000-character URL) is followed up to the upload and the change set.
#[test]
fn the_largest_webhook_template_is_uploaded_and_accepted_as_a_change_set() {
    let stack = unique_name("large-hook");
    let bus = longest_bus_name();
    create_bus(&bus);
    let url = format!("https://hooks.example.com/{}", "p".repeat(2_000 - 26));
    let out = waitable(
        &stack,
        &[
            "deploy",
            "--yes",
            "--deliver",
            "queue",
            "--deliver",
            "topic",
            "--deliver",
            &format!("bus={bus}"),
            "--deliver",
            &format!("webhook={url}"),
        ],
    )
    .output()
    .unwrap();
    let err = stderr(&out);
    assert!(
        err.contains("over CloudFormation's inline limit of 51200")
            && err.contains(&format!("uploaded to s3://{BUCKET}/templates/{stack}/")),
        "{}",
        describe(&out)
    );
    // The change set was made from the uploaded template: CloudFormation listed its changes.
    assert!(err.contains("change set for stack"), "{}", describe(&out));
    let _ = waitable(&stack, &["destroy", "--yes"]).output();
}

#[test]
fn a_missing_bus_is_refused_before_any_change_set() {
    let stack = unique_name("no-bus");
    let out = waitable(&stack, &["deploy", "--yes", "--deliver", "bus=no-such-bus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "event bus no-such-bus does not exist in account {MOTO_ACCOUNT}, region us-east-1"
        )),
        "{}",
        describe(&out)
    );
    assert!(!err.contains("change set for stack"), "{err}");
    assert!(!stack_exists(&stack));
}

#[test]
fn a_missing_stack_names_the_account_and_region() {
    let stack = unique_name("nowhere");
    let out = waitable(&stack, &["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr(&out).contains(&format!(
            "stack {stack} does not exist in account {MOTO_ACCOUNT}, region us-east-1"
        )),
        "{}",
        describe(&out)
    );
    let out = run_ok(&mut waitable(&stack, &["destroy", "--yes"]));
    assert!(
        stderr(&out).contains(&format!(
            "does not exist in account {MOTO_ACCOUNT}, region us-east-1"
        )),
        "{}",
        describe(&out)
    );
}

/// `--profile` wins over AWS_ACCESS_KEY_ID in the environment, as in the aws CLI. The profile
/// holds credentials for another account (moto's STS AssumeRole into account 111111111111).
#[test]
fn the_profile_flag_wins_over_environment_credentials() {
    let other = "111111111111";
    let creds = block_on(async {
        aws_sdk_sts::Client::new(&sdk_config())
            .assume_role()
            .role_arn(format!("arn:aws:iam::{other}:role/waitable-test"))
            .role_session_name("profile-test")
            .send()
            .await
            .unwrap()
            .credentials()
            .unwrap()
            .clone()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        format!(
            "[other]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            creds.access_key_id(),
            creds.secret_access_key(),
            creds.session_token()
        ),
    )
    .unwrap();
    let stack = unique_name("profile");
    let run = |profile: bool| {
        let mut cmd = waitable(&stack, &["status"]);
        cmd.env("AWS_SHARED_CREDENTIALS_FILE", &file);
        if profile {
            cmd.args(["--profile", "other"]);
        }
        cmd.output().unwrap()
    };
    let with = run(true);
    assert!(
        stderr(&with).contains(&format!("account {other}, region us-east-1")),
        "{}",
        describe(&with)
    );
    let without = run(false);
    assert!(
        stderr(&without).contains(&format!("account {MOTO_ACCOUNT}, region us-east-1")),
        "{}",
        describe(&without)
    );
}

#[test]
fn an_unreachable_endpoint_is_one_line_and_debug_shows_the_chain() {
    let run = |debug: bool| {
        let mut cmd = waitable_bare();
        cmd.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_MAX_ATTEMPTS", "1")
            .args([
                "status",
                "--stack-name",
                "x",
                "--endpoint-url",
                "http://127.0.0.1:1/",
            ]);
        if debug {
            cmd.arg("--debug");
        }
        cmd.output().unwrap()
    };
    let out = run(false);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("could not connect to the endpoint URL http://127.0.0.1:1/"),
        "{err}"
    );
    for debug_form in ["DispatchFailure", "ConnectorError", "source:", "{"] {
        assert!(!err.contains(debug_form), "{err}");
    }
    let out = run(true);
    assert!(
        stderr(&out).contains("debug: ") && stderr(&out).lines().count() > 1,
        "{}",
        describe(&out)
    );
}

/// `deploy` prints every output the stack has on the local target too: a stack delivering to
/// its queue has `QueueUrl`, as on aws.
#[test]
fn local_deploy_prints_the_queue_url_as_aws_does() {
    let env = crate::local::LocalEnv::new();
    let out = run_ok(crate::harness::StackEnv::waitable(&env).args([
        "deploy",
        "--output",
        "json",
        "--deliver",
        "queue",
    ]));
    let outputs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        outputs["QueueUrl"],
        waitable_core::delivery::local_queue_url(&env.stack),
        "{outputs}"
    );
    let out = run_ok(crate::harness::StackEnv::waitable(&env).args([
        "deploy",
        "--output",
        "json",
        "--deliver",
        "none",
    ]));
    let outputs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(outputs.get("QueueUrl").is_none(), "{outputs}");
}
