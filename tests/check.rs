//! `waitable check` and the API check that ends `deploy`, on both emulators. Neither has
//! TestInvokeMethod (moto answers a bare 500, ministack a 404 NotFoundException for the
//! unknown path), so here the check is skipped on one line and deploy exits 0 (the ok and
//! failing answers are mocked in `src/aws/api_check_tests.rs`).

use serde_json::Value;

use crate::harness::{Emulator, describe, ministack_lease, run_ok, unique_name, waitable_on};

fn waitable(stack: &str, args: &[&str]) -> std::process::Command {
    waitable_at(Emulator::Moto, stack, args)
}

fn waitable_at(emulator: Emulator, stack: &str, args: &[&str]) -> std::process::Command {
    let mut cmd = waitable_on(emulator);
    cmd.args(["--stack-name", stack]).args(args);
    cmd
}

const SKIPPED: &str =
    "API check skipped: testing GET /status: the endpoint does not offer TestInvokeMethod";

#[test]
fn deploy_ends_with_the_api_check_and_check_runs_it_alone() {
    deploy_then_check(Emulator::Moto);
}

#[test]
fn deploy_ends_with_the_api_check_and_check_runs_it_alone_on_ministack() {
    let _lease = ministack_lease();
    deploy_then_check(Emulator::Ministack);
}

fn deploy_then_check(emulator: Emulator) {
    let waitable = |stack: &str, args: &[&str]| waitable_at(emulator, stack, args);
    let stack = unique_name("check");
    let out = run_ok(&mut waitable(
        &stack,
        &["deploy", "--yes", "--output", "json"],
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("API check")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with(SKIPPED), "{err}");
    let outputs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(outputs["ApiUrl"].is_string(), "outputs still printed first");

    let out = run_ok(&mut waitable(&stack, &["check"]));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with(SKIPPED), "{text}");

    let out = run_ok(&mut waitable(&stack, &["check", "--output", "json"]));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["apiCheck"], "skipped");
    assert!(doc["reason"].as_str().unwrap().contains("TestInvokeMethod"));

    // A stack without a webhook sends nothing through TestState, and says why.
    let out = run_ok(&mut waitable(&stack, &["check", "--webhook"]));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l == "webhook check skipped: the stack does not deliver to a webhook"),
        "{text}"
    );

    run_ok(&mut waitable(&stack, &["destroy", "--yes"]));
}

#[test]
fn check_without_a_stack_fails() {
    let out = waitable(&unique_name("check-none"), &["check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(out.stdout.is_empty());
}

/// On the local target every leg but the stage runs, through the engine.
#[test]
fn local_canary_runs_through_the_engine_and_its_queue() {
    use crate::harness::StackEnv;
    let env = crate::jobs_delivery::local_delivering(&["queue"]);
    let out = run_ok(
        env.waitable()
            .args(["check", "--canary", "--output", "json"]),
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let legs: Vec<&str> = doc["canary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["leg"].as_str().unwrap())
        .collect();
    assert_eq!(
        legs,
        [
            "submit through the signed API",
            "submit",
            "COMPLETED",
            "queue message"
        ],
        "{doc}"
    );
    assert!(doc["canary"][2]["seconds"].as_f64().unwrap() > 0.0, "{doc}");

    // The webhook body check is AWS's to answer; the local engine's bytes are its tests'.
    let out = run_ok(
        env.waitable()
            .args(["check", "--webhook", "--output", "json"]),
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["webhook"]["result"], "skipped", "{doc}");
    assert!(
        doc["webhook"]["reason"]
            .as_str()
            .unwrap()
            .contains("only AWS can show"),
        "{doc}"
    );
}

#[test]
fn a_submit_refuses_the_canary_prefix_before_sending_anything() {
    let out = crate::harness::waitable_bare()
        .args([
            "--target",
            "local",
            "--stack-name",
            &unique_name("canary-id"),
        ])
        .args(["submit", "--at", "+1h", "--id", "waitable-canary-mine"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("reserved for `waitable check --canary`"),
        "{}",
        describe(&out)
    );
}
