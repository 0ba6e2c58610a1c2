//! The aws target on ministack, the second emulator: the shared behaviour suite, and what moto
//! cannot show. ministack runs the stack's own state machines (nothing is re-registered),
//! delivers "Step Functions Execution Status Change" events to the stack's EventBridge rule
//! (so the reconcile state machine is started by the rule, never by a test), records
//! per-resource stack events, and ends Waits at their time, never before.
//!
//! Every test holds the ministack lease (through `AwsEnv` or `ministack_lease`): ministack is
//! reset when another test file takes it over.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::behaviour;
use crate::harness::{
    Emulator, StackEnv, describe, http_request, ministack_lease, run_ok, unique_name, waitable_on,
};
use crate::jobs::{AwsEnv, runtime, sdk_config_for};
use waitable_core::logical_ids::RECONCILE_STATE_MACHINE;
use waitable_core::reconcile_machine::outcome;

const MINISTACK: Emulator = Emulator::Ministack;

/// The shared behaviour scenarios, each on a stack of its own on ministack.
macro_rules! on_ministack {
    ($($scenario:ident => $module:ident),* $(,)?) => {
        $(
            #[test]
            fn $scenario() {
                crate::$module::$scenario(&AwsEnv::on(MINISTACK, "ms"));
            }
        )*
    };
}

on_ministack! {
    completes_after_wait => behaviour,
    rejects_bad_input => behaviour,
    resubmit_is_idempotent => behaviour,
    payload_key_order_is_the_same_job => behaviour,
    non_object_payloads_are_refused_before_sending => behaviour,
    payloads_round_trip_byte_for_byte => behaviour,
    deep_payloads_read_back_or_are_refused => behaviour,
    failed_path_is_recorded => behaviour,
    cancel_stops_a_waiting_job => behaviour,
    status_pages_through_everything => behaviour,
    status_questions_read_the_index => scale,
    retry_and_reschedule => runs,
    a_reschedule_racing_the_firing_has_one_outcome => runs,
}

fn delivering_to_a_queue() -> AwsEnv {
    AwsEnv::deployed_on(MINISTACK, "ms-deliver", &["--deliver=queue".to_string()])
}

/// The queue scenario of tests/jobs_delivery.rs cannot run here: the delivered message's
/// `FiredAt` comes from `"At.$": "$$.State.EnteredTime"` in the claim's ResultSelector, and
/// ministack leaves context-object paths there unresolved (the message says `"None"`). The
/// Step Functions guide ("Manipulate parameters in Step Functions workflows") gives `.$`
/// fields a path into the input or the context object, and ResultSelector takes the same
/// form; moto and the local engine resolve it there, so on this moto is the one that matches
/// AWS, and the queue scenario runs on moto and the local engine. What ministack does show is
/// checked here: the message's other fields, delivered once, and this disagreement (so it is
/// noticed when it ends).
#[test]
fn queue_delivery_lacks_fired_at_only_on_ministack() {
    let env = delivering_to_a_queue();
    let id = unique_name("msq");
    run_ok(env.waitable().args([
        "submit",
        "--at",
        "+1s",
        "--id",
        &id,
        "--payload",
        r#"{"n":1}"#,
    ]));
    wait_for_status(&env, &id, "COMPLETED", Duration::from_secs(20));
    let got = crate::jobs_delivery::receive_all(&env, 1, 10);
    assert_eq!(got.len(), 1, "{got:?}");
    let m: Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(m["Id"], id.as_str());
    assert_eq!(m["Payload"], json!({"n": 1}));
    assert!(time(&m["StartActionAt"]) <= Utc::now(), "{m}");
    assert_eq!(
        m["FiredAt"], "None",
        "ministack now resolves $$ in ResultSelector: {m}"
    );
}

#[test]
fn cancelled_job_is_never_delivered() {
    crate::jobs_delivery::cancelled_job_is_never_delivered(&delivering_to_a_queue());
}

fn job(env: &AwsEnv, id: &str) -> Option<Value> {
    let out = env
        .waitable()
        .args(["status", "--id", id, "--output", "json"])
        .output()
        .unwrap();
    // A missing Id exits 1 with "no job ID in stack S" and prints nothing on stdout.
    if out.status.code() == Some(1) && String::from_utf8_lossy(&out.stderr).contains("no job ") {
        return None;
    }
    assert!(out.status.success(), "{}", crate::harness::describe(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("status prints JSON");
    rows.into_iter().next()
}

fn wait_for_status(env: &AwsEnv, id: &str, status: &str, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    let mut last = None;
    while Instant::now() < deadline {
        last = job(env, id);
        if last.as_ref().is_some_and(|j| j["ProcessStatus"] == status) {
            return last.unwrap();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("job {id} did not become {status} within {timeout:?}; last seen: {last:?}");
}

/// The physical id (for a state machine, its ARN) of a resource of the stack.
fn physical_id(env: &AwsEnv, logical: &str) -> String {
    let cfn = aws_sdk_cloudformation::Client::new(sdk_config_for(MINISTACK));
    runtime().block_on(async {
        cfn.describe_stack_resource()
            .stack_name(&env.stack)
            .logical_resource_id(logical)
            .send()
            .await
            .expect("describe-stack-resource")
            .stack_resource_detail()
            .and_then(|r| r.physical_resource_id())
            .expect("a physical id")
            .to_string()
    })
}

/// The executions of a state machine: (name, status, error).
fn executions(env: &AwsEnv, machine: &str) -> Vec<(String, String, Option<String>)> {
    runtime().block_on(async {
        let listed = env
            .sfn
            .list_executions()
            .state_machine_arn(machine)
            .send()
            .await
            .expect("list-executions");
        let mut all = Vec::new();
        for e in listed.executions() {
            let described = env
                .sfn
                .describe_execution()
                .execution_arn(e.execution_arn())
                .send()
                .await
                .expect("describe-execution");
            all.push((
                e.name().to_string(),
                e.status().as_str().to_string(),
                described.error().map(str::to_string),
            ));
        }
        all
    })
}

/// A StopExecution from outside the tool (the console, another script): the stack's rule sees
/// the ABORTED status change, starts the reconcile state machine, and the row becomes
/// CANCELLED with the reason. No test starts the reconcile.
#[test]
fn a_stop_from_outside_ends_cancelled_through_the_rule_and_the_reconcile() {
    let env = AwsEnv::on(MINISTACK, "ms-stop");
    let reconcile = physical_id(&env, RECONCILE_STATE_MACHINE);
    let id = unique_name("stopped");
    run_ok(env.waitable().args(["submit", "--at", "+1h", "--id", &id]));
    wait_for_status(&env, &id, "STARTED", Duration::from_secs(20));
    assert!(executions(&env, &reconcile).is_empty(), "nothing ended yet");

    let arn = waitable_core::arn::execution_arn(&env.state_machine_arn, &id).unwrap();
    runtime().block_on(async {
        env.sfn
            .stop_execution()
            .execution_arn(arn)
            .error("Operator")
            .cause("stopped from the console")
            .send()
            .await
            .expect("stop-execution");
    });
    let row = wait_for_status(&env, &id, "CANCELLED", Duration::from_secs(20));
    assert_eq!(row["Error"], outcome("ABORTED").unwrap().1, "{row}");
    let ran = executions(&env, &reconcile);
    assert_eq!(ran.len(), 1, "the rule started one reconcile: {ran:?}");
    assert_eq!(ran[0].1, "SUCCEEDED", "{ran:?}");
}

/// An execution that fails where its own states cannot record it (every write after the first
/// is refused, so neither SetFinalStatus nor its Catch, MarkFailed, can write): the rule sees
/// FAILED and the reconcile records the row FAILED with the reason. The refusals are
/// ministack's Step Functions mock responses for this one state machine and test case, set
/// through its admin endpoint and cleared again (restored) before the test ends.
#[test]
fn a_failure_the_machine_cannot_record_ends_failed_through_the_rule_and_the_reconcile() {
    let env = AwsEnv::on(MINISTACK, "ms-fail");
    let reconcile = physical_id(&env, RECONCILE_STATE_MACHINE);
    let machine = env
        .state_machine_arn
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let refused = json!({"0-9": {"Throw": {"Error": "DynamoDB.ResourceNotFoundException", "Cause": "refused by the test"}}});
    let mocks = json!({
        "stepfunctions._sfn_mock_config": {
            "StateMachines": { machine: { "TestCases": { "WritesRefused": {
                "SetFinalStatus": "Refused", "MarkFailed": "Refused" } } } },
            "MockedResponses": { "Refused": refused }
        }
    });
    let url = MINISTACK.url();
    let (status, body) = http_request(&url, "POST", "/_ministack/config", &mocks.to_string());
    assert_eq!(status, 200, "{body}");
    struct Restore(String);
    impl Drop for Restore {
        fn drop(&mut self) {
            let clear = json!({"stepfunctions._sfn_mock_config": {}}).to_string();
            http_request(&self.0, "POST", "/_ministack/config", &clear);
        }
    }
    let _restore = Restore(url);

    let id = unique_name("unrecorded");
    let at = (Utc::now() + chrono::Duration::seconds(2))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    runtime().block_on(async {
        env.sfn
            .start_execution()
            .state_machine_arn(format!("{}#WritesRefused", env.state_machine_arn))
            .name(&id)
            .input(
                json!({ "StartTimestamp": at, "Payload": "null", "ExpiresAt": "4102444800" })
                    .to_string(),
            )
            .send()
            .await
            .expect("start-execution");
    });
    wait_for_status(&env, &id, "STARTED", Duration::from_secs(20));
    let row = wait_for_status(&env, &id, "FAILED", Duration::from_secs(30));
    assert_eq!(row["Error"], outcome("FAILED").unwrap().1, "{row}");
    assert_eq!(env.execution_status(&id), "FAILED");
    let ran = executions(&env, &reconcile);
    assert_eq!(ran.len(), 1, "the rule started one reconcile: {ran:?}");
    assert_eq!(ran[0].1, "SUCCEEDED", "{ran:?}");
}

/// `deploy` shows a progress row per resource from the stack's events: each resource the
/// change set adds is shown CREATE_IN_PROGRESS, then CREATE_COMPLETE, in that order; the
/// deploy ends with the API check skipped (ministack has no TestInvokeMethod) and exits 0.
#[test]
fn deploy_shows_per_resource_progress_rows_from_the_stacks_events() {
    let _lease = ministack_lease();
    let stack = unique_name("ms-progress");
    let out = run_ok(waitable_on(MINISTACK).args(["--stack-name", &stack, "deploy", "--yes"]));
    let err = String::from_utf8_lossy(&out.stderr);
    let added: Vec<(String, String)> = err
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            if words.next() != Some("+") || words.next() != Some("add") {
                return None;
            }
            Some((words.next()?.to_string(), words.next()?.to_string()))
        })
        .collect();
    assert!(
        added.len() >= 10,
        "the change set lists the resources: {err}"
    );
    for (logical, kind) in &added {
        let row = |status: &str| {
            err.lines().position(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w == [logical.as_str(), kind.as_str(), status]
            })
        };
        let started = row("CREATE_IN_PROGRESS")
            .unwrap_or_else(|| panic!("no CREATE_IN_PROGRESS row for {logical}: {err}"));
        let done = row("CREATE_COMPLETE")
            .unwrap_or_else(|| panic!("no CREATE_COMPLETE row for {logical}: {err}"));
        assert!(started < done, "{logical}: {err}");
    }
    let checks: Vec<&str> = err.lines().filter(|l| l.contains("API check")).collect();
    assert_eq!(checks.len(), 1, "{err}");
    assert!(checks[0].starts_with("API check skipped: "), "{err}");
    run_ok(waitable_on(MINISTACK).args(["--stack-name", &stack, "destroy", "--yes"]));
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

/// Never early, with lateness measured: the shared scenario, run where it holds (ministack and
/// the local engine; moto ends waits up to a second early, see the scenario).
#[test]
fn jobs_never_fire_before_their_time() {
    let lateness = behaviour::jobs_never_fire_before_their_time(&AwsEnv::on(MINISTACK, "ms-late"));
    eprintln!("ministack {lateness}");
}

/// `destroy` with jobs waiting: it cancels them (their executions stop, the rule starts a
/// reconcile for each), then deletes the stack. When it returns, no reconcile is still running
/// and none failed for want of the table.
#[test]
fn destroy_with_jobs_waiting_leaves_no_reconcile_running_against_a_deleted_table() {
    let env = AwsEnv::on(MINISTACK, "ms-destroy");
    let reconcile = physical_id(&env, RECONCILE_STATE_MACHINE);
    for id in ["waiting-1", "waiting-2", "waiting-3"] {
        run_ok(env.waitable().args(["submit", "--at", "+1h", "--id", id]));
    }
    for id in ["waiting-1", "waiting-2", "waiting-3"] {
        wait_for_status(&env, id, "STARTED", Duration::from_secs(20));
    }
    let out = run_ok(
        env.waitable()
            .args(["--output", "json", "destroy", "--yes"]),
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["cancelledJobs"], 3, "{report}");
    let out = env.waitable().arg("status").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the stack is gone: {}",
        describe(&out)
    );

    let ran = executions(&env, &reconcile);
    assert!(
        ran.iter().all(|(_, status, _)| status != "RUNNING"),
        "a reconcile still runs after destroy: {ran:?}"
    );
    assert!(
        ran.iter().all(|(_, _, error)| error
            .as_deref()
            .is_none_or(|e| !e.contains("ResourceNotFound"))),
        "a reconcile ran against the deleted table: {ran:?}"
    );
}
