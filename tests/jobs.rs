//! submit / status / cancel on the aws target, against the emulators over HTTP with real
//! executions.
//!
//! moto runs state machines only with `execute_state_machine` on (scripts/test starts a moto
//! with it on: [`Emulator::MotoExecuting`]), and only for machines created through the Step
//! Functions API: [`AwsEnv`] re-registers the deployed definition under the same name (so the
//! stack's StateMachineArn output still points at it). ministack runs the stack's own machine.
//! Those quirks live here, in the test harness, never in the product.

use std::collections::HashMap;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::{Value, json};

use crate::behaviour;
use crate::harness::{
    Emulator, MinistackLease, StackEnv, describe, ministack_lease, unique_name, waitable_on,
    waitable_on_moto,
};

/// One tokio runtime for the SDK calls the harness makes.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// The SDK configuration for the executing moto.
pub(crate) fn sdk_config() -> &'static aws_types::SdkConfig {
    sdk_config_for(Emulator::MotoExecuting)
}

/// The SDK configuration for `emulator`, built without reading any environment or profile.
pub(crate) fn sdk_config_for(emulator: Emulator) -> &'static aws_types::SdkConfig {
    static CONFIGS: [OnceLock<aws_types::SdkConfig>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    CONFIGS[emulator as usize].get_or_init(|| {
        runtime().block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(aws_types::region::Region::new("us-east-1"))
                .endpoint_url(emulator.url())
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "testing", "testing", None, None, "test",
                ))
                .load(),
        )
    })
}

/// The deployed stack's outputs and the state machine role.
struct Deployed {
    state_machine_arn: String,
    table_name: String,
    role_arn: String,
}

/// Deploys the stack `name` on `emulator` with `waitable deploy --yes` and `flags` (such as
/// `--parameter=K=V`, `--deliver=queue`): the one place tests deploy.
fn deploy_stack(emulator: Emulator, name: &str, flags: &[String]) -> Deployed {
    let mut cmd = waitable_on(emulator);
    cmd.args(["--stack-name", name, "--output", "json", "deploy", "--yes"]);
    cmd.args(flags);
    let out = crate::harness::run_ok(&mut cmd);
    let outputs: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("deploy prints its outputs as JSON");
    let cfn = aws_sdk_cloudformation::Client::new(sdk_config_for(emulator));
    let role_name = runtime().block_on(async {
        let role = cfn
            .describe_stack_resource()
            .stack_name(name)
            .logical_resource_id("StateMachineRole")
            .send()
            .await
            .unwrap();
        role.stack_resource_detail()
            .and_then(|r| r.physical_resource_id())
            .unwrap()
            .to_string()
    });
    Deployed {
        state_machine_arn: outputs["StateMachineArn"].as_str().unwrap().to_string(),
        table_name: outputs["TableName"].as_str().unwrap().to_string(),
        role_arn: format!("arn:aws:iam::{}:role/{role_name}", emulator.account()),
    }
}

/// A stack on an emulator whose state machine really runs.
pub struct AwsEnv {
    pub emulator: Emulator,
    pub stack: String,
    pub state_machine_arn: String,
    pub table_name: String,
    pub sfn: aws_sdk_sfn::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    /// Held for the test's length on ministack (reset between modules).
    pub _lease: Option<MinistackLease>,
}

impl AwsEnv {
    /// A stack on the executing moto.
    pub fn new(prefix: &str) -> Self {
        Self::with_parameters(prefix, &[])
    }

    /// A stack on the executing moto deployed with `--parameter KEY=VALUE` for each of
    /// `parameters`.
    pub fn with_parameters(prefix: &str, parameters: &[&str]) -> Self {
        let flags: Vec<String> = parameters
            .iter()
            .map(|p| format!("--parameter={p}"))
            .collect();
        Self::deployed_on(Emulator::MotoExecuting, prefix, &flags)
    }

    /// A stack on `emulator` (moto: the executing one).
    #[track_caller]
    pub fn on(emulator: Emulator, prefix: &str) -> Self {
        Self::deployed_on(emulator, prefix, &[])
    }

    /// A stack on `emulator` deployed with `flags` added to `deploy --yes`. On moto, only the
    /// plain definition is re-registered (delivering stacks: tests/jobs_delivery.rs).
    #[track_caller]
    pub fn deployed_on(emulator: Emulator, prefix: &str, flags: &[String]) -> Self {
        let emulator = match emulator {
            Emulator::Moto => Emulator::MotoExecuting,
            other => other,
        };
        let lease = (emulator == Emulator::Ministack).then(ministack_lease);
        let stack = unique_name(prefix);
        let deployed = deploy_stack(emulator, &stack, flags);
        let sfn = aws_sdk_sfn::Client::new(sdk_config_for(emulator));
        let ddb = aws_sdk_dynamodb::Client::new(sdk_config_for(emulator));
        if emulator == Emulator::MotoExecuting {
            reregister_on_moto(&sfn, &deployed);
        }
        AwsEnv {
            emulator,
            stack,
            state_machine_arn: deployed.state_machine_arn,
            table_name: deployed.table_name,
            sfn,
            ddb,
            _lease: lease,
        }
    }

    pub(crate) fn execution_status(&self, id: &str) -> String {
        let arn = waitable_core::arn::execution_arn(&self.state_machine_arn, id).unwrap();
        runtime().block_on(async {
            let out = self
                .sfn
                .describe_execution()
                .execution_arn(arn)
                .send()
                .await
                .expect("describe-execution");
            out.status().as_str().to_string()
        })
    }

    /// The job's row as stored (all attributes), once its first write happened.
    pub(crate) fn row(&self, id: &str) -> HashMap<String, AttributeValue> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let item = runtime().block_on(async {
                self.ddb
                    .get_item()
                    .table_name(&self.table_name)
                    .key("Id", AttributeValue::S(id.into()))
                    .consistent_read(true)
                    .send()
                    .await
                    .expect("get-item")
                    .item
            });
            if let Some(item) = item {
                return item;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "job {id} has no row after 30 s"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    pub(crate) fn execution_count(&self) -> usize {
        runtime().block_on(async {
            let mut n = 0;
            let mut pages = self
                .sfn
                .list_executions()
                .state_machine_arn(&self.state_machine_arn)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                n += page.expect("list-executions").executions().len();
            }
            n
        })
    }
}

/// The stack's machine is invisible to moto's executing backend; an old one of the same name
/// would be, so replace it with the same definition, name and role.
fn reregister_on_moto(sfn: &aws_sdk_sfn::Client, deployed: &Deployed) {
    let name = deployed
        .state_machine_arn
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    runtime().block_on(async {
        let _ = sfn
            .delete_state_machine()
            .state_machine_arn(&deployed.state_machine_arn)
            .send()
            .await;
        let created = sfn
            .create_state_machine()
            .name(&name)
            .definition(waitable_core::state_machine::resolved(
                &deployed.table_name,
                "aws",
            ))
            .role_arn(&deployed.role_arn)
            .send()
            .await
            .expect("re-registering the state machine");
        assert_eq!(created.state_machine_arn(), deployed.state_machine_arn);
    });
}

impl StackEnv for AwsEnv {
    fn waitable(&self) -> Command {
        let mut cmd = waitable_on(self.emulator);
        cmd.args(["--target", "aws", "--stack-name", &self.stack]);
        cmd
    }

    fn waitable_for(&self, stack: &str) -> Command {
        let mut cmd = waitable_on(self.emulator);
        cmd.args(["--target", "aws", "--stack-name", stack]);
        cmd
    }

    fn start_raw_execution(&self, id: &str, input: &str) {
        runtime().block_on(async {
            self.sfn
                .start_execution()
                .state_machine_arn(&self.state_machine_arn)
                .name(id)
                .input(input)
                .send()
                .await
                .expect("start-execution");
        });
    }

    fn seed_jobs(&self, records: &[Value]) {
        let requests: Vec<WriteRequest> = records
            .iter()
            .map(|r| {
                let item: HashMap<String, AttributeValue> = r
                    .as_object()
                    .expect("a record is an object")
                    .iter()
                    .map(|(k, v)| {
                        let s = v.as_str().map(str::to_string).unwrap_or(v.to_string());
                        (k.clone(), AttributeValue::S(s))
                    })
                    .collect();
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build()
            })
            .collect();
        runtime().block_on(async {
            for chunk in requests.chunks(25) {
                let out = self
                    .ddb
                    .batch_write_item()
                    .request_items(&self.table_name, chunk.to_vec())
                    .send()
                    .await
                    .expect("batch-write-item");
                assert!(
                    out.unprocessed_items().is_none_or(|u| u.is_empty()),
                    "the emulator left items unprocessed"
                );
            }
        });
    }
}

#[test]
fn completes_after_wait() {
    behaviour::completes_after_wait(&AwsEnv::new("jobs-wait"));
}

#[test]
fn submit_file_from_stdin_and_interrupted() {
    crate::behaviour_cli::submit_file_from_stdin_and_interrupted(&AwsEnv::new("jobs-file"));
}

#[test]
fn status_of_one_job_is_its_whole_row() {
    crate::behaviour_cli::status_of_one_job_is_its_whole_row(&AwsEnv::new("jobs-row"));
}

#[test]
fn receive_on_a_missing_stack_says_so() {
    crate::behaviour_cli::receive_on_a_missing_stack_says_so(&AwsEnv::new("jobs-norecv"));
}

#[test]
fn stacks_lists_the_stacks_waitable_made() {
    let env = AwsEnv::new("jobs-stacks");
    let row = crate::behaviour_cli::stacks_lists_the_stack(&env);
    assert!(
        row["Status"].as_str().unwrap().ends_with("_COMPLETE"),
        "{row}"
    );
    assert_eq!(row["Version"], env!("CARGO_PKG_VERSION"), "{row}");
    assert!(row["Jobs"].is_null(), "not counted on aws: {row}");
    // A stack waitable did not make (no waitable:version tag) is not listed.
    let plain = unique_name("plain");
    let cfn = aws_sdk_cloudformation::Client::new(sdk_config());
    runtime().block_on(async {
        cfn.create_stack()
            .stack_name(&plain)
            .template_body(r#"{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}"#)
            .send()
            .await
            .expect("create-stack");
    });
    let out = crate::harness::run_ok(env.waitable().args(["stacks", "--output", "json"]));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(&plain), "{text}");
    assert!(text.contains(&env.stack), "{text}");
}

#[test]
fn time_zones_as_people_type_them() {
    behaviour::time_zones_as_people_type_them(&AwsEnv::new("jobs-tz"));
}

#[test]
fn relative_resubmit_is_idempotent() {
    let env = AwsEnv::new("jobs-rel");
    behaviour::relative_resubmit_is_idempotent(&env);
}

#[test]
fn show_tells_a_jobs_story() {
    let env = AwsEnv::new("jobs-show");
    behaviour::show_tells_a_jobs_story(&env);
    // On aws the execution links to its console page.
    let id = crate::harness::unique_name("show-link");
    let mut submit = env.waitable();
    crate::harness::run_ok(submit.args(["submit", "--at", "+1h", "--id", &id]));
    // The row is written by the execution's first state, a moment after the start.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let out = loop {
        let out = env
            .waitable()
            .args(["show", &id, "--output", "json"])
            .output()
            .unwrap();
        if out.status.success() || std::time::Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(out.status.success(), "{}", describe(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let url = json["consoleUrl"].as_str().unwrap_or_default();
    assert!(
        url.starts_with("https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:us-east-1:"),
        "{json}"
    );
}

#[test]
fn scripts_can_rely_on_status() {
    behaviour::scripts_can_rely_on_status(&AwsEnv::new("jobs-scripts"));
}

#[test]
fn rejects_bad_input() {
    behaviour::rejects_bad_input(&AwsEnv::new("jobs-reject"));
}

#[test]
fn resubmit_is_idempotent() {
    let env = AwsEnv::new("jobs-again");
    behaviour::resubmit_is_idempotent(&env);
    assert_eq!(env.execution_count(), 1, "one execution for one job");
}

#[test]
fn payload_key_order_is_the_same_job() {
    let env = AwsEnv::new("jobs-order");
    behaviour::payload_key_order_is_the_same_job(&env);
    assert_eq!(env.execution_count(), 1, "one execution for one job");
}

#[test]
fn non_object_payloads_are_refused_before_sending() {
    let env = AwsEnv::new("jobs-scalar");
    behaviour::non_object_payloads_are_refused_before_sending(&env);
    assert_eq!(env.execution_count(), 0, "nothing was started");
}

#[test]
fn payloads_round_trip_byte_for_byte() {
    behaviour::payloads_round_trip_byte_for_byte(&AwsEnv::new("jobs-bytes"));
}

#[test]
fn deep_payloads_read_back_or_are_refused() {
    behaviour::deep_payloads_read_back_or_are_refused(&AwsEnv::new("jobs-deep"));
}

#[test]
fn failed_path_is_recorded() {
    behaviour::failed_path_is_recorded(&AwsEnv::new("jobs-failed"));
}

#[test]
fn a_fired_job_is_not_cancelled() {
    behaviour::a_fired_job_is_not_cancelled(&AwsEnv::new("jobs-fired"));
}

#[test]
fn cancel_stops_a_waiting_job() {
    let env = AwsEnv::new("jobs-cancel");
    behaviour::cancel_stops_a_waiting_job(&env);
    // The waiting job's execution was really stopped.
    let stopped: Vec<String> = runtime().block_on(async {
        env.sfn
            .list_executions()
            .state_machine_arn(&env.state_machine_arn)
            .status_filter(aws_sdk_sfn::types::ExecutionStatus::Aborted)
            .send()
            .await
            .unwrap()
            .executions()
            .iter()
            .map(|e| e.name().to_string())
            .collect()
    });
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert!(stopped[0].starts_with("cancel-me"), "{stopped:?}");
    assert_eq!(env.execution_status(&stopped[0]), "ABORTED");
}

#[test]
fn bulk_cancel_selects_confirms_and_reports() {
    behaviour::bulk_cancel_selects_confirms_and_reports(&AwsEnv::new("jobs-bulk"));
}

#[test]
fn watch_exits_by_how_its_jobs_ended() {
    behaviour::watch_exits_by_how_its_jobs_ended(&AwsEnv::new("jobs-watch"));
}

#[test]
fn watch_stops_on_ctrl_c_with_130() {
    behaviour::watch_stops_on_ctrl_c_with_130(&AwsEnv::new("jobs-int"));
}

#[test]
fn status_pages_through_everything() {
    behaviour::status_pages_through_everything(&AwsEnv::new("jobs-pages"));
}

#[test]
fn status_of_an_empty_stack_is_a_friendly_line() {
    let env = AwsEnv::new("jobs-empty");
    let out = crate::harness::run_ok(env.waitable().arg("status"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", waitable_core::render::NO_JOBS)
    );
    let out = crate::harness::run_ok(env.waitable().args(["status", "--output", "json"]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");
}

#[test]
fn submit_without_a_stack_fails_clearly() {
    let out = waitable_on_moto()
        .args([
            "--stack-name",
            &unique_name("missing"),
            "submit",
            "--at",
            "+1m",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

fn batch_line(id: &str, at: &str, n: usize) -> String {
    json!({"at": at, "id": id, "payload": {"n": n}}).to_string()
}

#[test]
fn batch_submit_accounts_for_every_line() {
    let env = AwsEnv::new("jobs-batch");
    let dir = tempfile::tempdir().unwrap();
    let at = (chrono::Utc::now() + chrono::Duration::hours(2))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let lines: Vec<String> = (0..500)
        .map(|i| batch_line(&format!("b-{i:03}"), &at, i))
        .collect();
    let first = dir.path().join("first.jsonl");
    std::fs::write(&first, lines.join("\n") + "\n").unwrap();

    let out = crate::harness::run_ok(env.waitable().args([
        "submit",
        "--file",
        first.to_str().unwrap(),
        "--output",
        "json",
    ]));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report,
        json!({"submitted": 500, "alreadySubmitted": 0, "failed": []})
    );

    // Again with 50 old lines, one repeated inside the file, and 10 new jobs.
    let mut second: Vec<String> = lines[..50].to_vec();
    second.push(lines[0].clone());
    second.extend((500..510).map(|i| batch_line(&format!("b-{i:03}"), &at, i)));
    let second_path = dir.path().join("second.jsonl");
    std::fs::write(&second_path, second.join("\n")).unwrap();
    let out = crate::harness::run_ok(env.waitable().args([
        "submit",
        "--file",
        second_path.to_str().unwrap(),
    ]));
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        table,
        "61 jobs: 10 submitted, 51 already submitted, 0 failed\n",
        "{}",
        describe(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 51: job b-000 repeats line 1"),
        "{stderr}"
    );

    // A line that conflicts with a submitted job fails, is reported, and the rest go through.
    let third_path = dir.path().join("third.jsonl");
    std::fs::write(
        &third_path,
        format!(
            "{}\n{}\n",
            batch_line("b-001", &at, 999),
            batch_line("b-600", &at, 600)
        ),
    )
    .unwrap();
    let out = env
        .waitable()
        .args(["submit", "--file", third_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("b-001") && stdout.contains("different"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("2 jobs: 1 submitted, 0 already submitted, 1 failed\n"),
        "{stdout}"
    );

    // Executions write their first record asynchronously: give them a moment.
    let mut count = 0;
    for _ in 0..100 {
        count = behaviour::all_jobs(&env).len();
        if count >= 511 {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(count, 511, "every job is in the table once");
    assert_eq!(env.execution_count(), 511);
}

#[test]
fn destroy_cancels_waiting_jobs_then_deletes_the_stack() {
    let env = AwsEnv::new("jobs-destroy");
    crate::harness::run_ok(
        env.waitable()
            .args(["submit", "--at", "+1h", "--id", "waiting-1"]),
    );
    crate::harness::run_ok(
        env.waitable()
            .args(["submit", "--at", "+2h", "--id", "waiting-2"]),
    );
    // An execution that has not written its job row (here: one started with input the machine
    // never records) must not stop the destroy either.
    wait_until_started(&env, &["waiting-1", "waiting-2"]);
    let out = crate::harness::run_ok(
        env.waitable()
            .args(["--output", "json", "destroy", "--yes"]),
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["cancelledJobs"], 2, "{report}");
    // Closed before the cancel: the cancelled executions start no reconcile, and the API
    // takes no new job while the delete runs.
    let closed: Vec<&str> = report["closedFirst"]
        .as_array()
        .unwrap_or_else(|| panic!("{report}"))
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(closed.len(), 2, "{report}");
    assert!(
        closed[0].starts_with("rule ") && closed[0].ends_with(" disabled (no reconcile starts)"),
        "{report}"
    );
    assert_eq!(
        closed[1], "API stage prod throttled to 0 (no new jobs)",
        "{report}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let (rule_at, cancel_at) = (
        err.find("disabled (no reconcile").unwrap_or(usize::MAX),
        err.find("cancelled 2 waiting jobs").unwrap_or(0),
    );
    assert!(rule_at < cancel_at, "closed before the cancel: {err}");
    for id in ["waiting-1", "waiting-2"] {
        assert_eq!(env.execution_status(id), "ABORTED", "{id}");
    }
    let out = env.waitable().arg("status").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the stack is gone: {}",
        crate::harness::describe(&out)
    );
}

/// Waits until both jobs are recorded STARTED (moto runs the first state asynchronously).
fn wait_until_started(env: &AwsEnv, ids: &[&str]) {
    for _ in 0..100 {
        let jobs = behaviour::all_jobs(env);
        if ids.iter().all(|id| {
            jobs.iter()
                .any(|j| j["Id"] == *id && j["ProcessStatus"] == "STARTED")
        }) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("jobs {ids:?} never showed up STARTED");
}

/// A job the CLI submits (one by one and in a batch) is kept RetentionDays after its
/// StartTimestamp: its row's TTL attribute, as the API's POST template would set it; with
/// `RetentionDays=0` it is kept forever.
#[test]
fn cli_submitted_jobs_expire_after_the_stacks_retention() {
    use waitable_core::retention::{KEEP_FOREVER, expires_at};
    for (parameters, days) in [(&[][..], 90), (&["RetentionDays=0"][..], 0)] {
        let env = AwsEnv::with_parameters("jobs-ttl", parameters);
        let at = (chrono::Utc::now() + chrono::Duration::hours(2))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let epoch = chrono::DateTime::parse_from_rfc3339(&at)
            .unwrap()
            .timestamp();
        crate::harness::run_ok(
            env.waitable()
                .args(["submit", "--at", &at, "--id", "ttl-one"]),
        );
        let batch = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            batch.path(),
            format!("{{\"at\": \"{at}\", \"id\": \"ttl-batch\"}}\n"),
        )
        .unwrap();
        crate::harness::run_ok(env.waitable().args([
            "submit",
            "--file",
            batch.path().to_str().unwrap(),
        ]));
        let expected = expires_at(epoch, days);
        if days == 0 {
            assert_eq!(expected, KEEP_FOREVER);
        } else {
            assert_eq!(expected, (epoch + 90 * 86_400).to_string());
        }
        for id in ["ttl-one", "ttl-batch"] {
            let row = env.row(id);
            assert_eq!(
                row.get("StartActionAt").and_then(|v| v.as_s().ok()),
                Some(&at),
                "{id}: {row:?}"
            );
            assert_eq!(
                row.get("ExpiresAt").and_then(|v| v.as_n().ok()),
                Some(&expected),
                "{id} on RetentionDays={days}: {row:?}"
            );
        }
    }
}
