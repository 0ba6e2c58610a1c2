//! `waitable check` and the API check that ends `deploy`, on moto. moto has no
//! TestInvokeMethod, so here the check is skipped on one line (the ok and failing answers are
//! mocked in `src/aws/api_check_tests.rs`).

use serde_json::Value;

use crate::harness::{describe, run_ok, unique_name, waitable_on_moto};

fn waitable(stack: &str, args: &[&str]) -> std::process::Command {
    let mut cmd = waitable_on_moto();
    cmd.args(["--stack-name", stack]).args(args);
    cmd
}

const SKIPPED: &str =
    "API check skipped: testing GET /status: the endpoint does not offer TestInvokeMethod";

#[test]
fn deploy_ends_with_the_api_check_and_check_runs_it_alone() {
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

const LIVE_SKIPPED: &str = "live check skipped: the stage is not called with a custom endpoint";

/// The canary's lines from `check --canary`'s stdout, in order, with their times dropped.
fn canary_legs(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("canary: "))
        .map(|l| l.rsplit_once(" (").map_or(l, |(head, _)| head).to_string())
        .collect()
}

fn canary_id_in(legs: &[String]) -> String {
    let at = legs
        .iter()
        .find_map(|l| l.split_once("ok, job "))
        .expect("a submit leg names the job")
        .1;
    assert!(at.starts_with("waitable-canary-"), "{at}");
    at.to_string()
}

/// On moto: no stage to call (the live check and the canary's API leg say so in one line
/// each), and the rest of the canary runs for real: StartExecution, the Wait, COMPLETED, and
/// its message in the stack's queue.
#[test]
fn live_and_canary_on_moto_skip_the_stage_and_run_the_rest() {
    use crate::harness::StackEnv;
    let (env, _) = crate::jobs_delivery::aws_delivering(&["queue"]);
    let out = run_ok(env.waitable().args(["check", "--live", "--canary"]));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().any(|l| l.starts_with(LIVE_SKIPPED)), "{text}");
    let legs = canary_legs(&text);
    assert_eq!(legs.len(), 4, "{text}");
    assert!(
        legs[0].starts_with("canary: submit through the signed API: skipped: the stage is not called with a custom endpoint"),
        "{text}"
    );
    let id = canary_id_in(&legs);
    assert_eq!(legs[1], format!("canary: submit: ok, job {id}"));
    assert_eq!(
        legs[2..],
        ["canary: COMPLETED: ok", "canary: queue message: ok"]
    );
    // Each leg is printed with its time.
    assert!(
        text.lines()
            .filter(|l| l.starts_with("canary: "))
            .all(|l| l.ends_with("s)")),
        "{text}"
    );
    let row = crate::jobs_delivery::wait_job(&env, &id, |j| j["ProcessStatus"] == "COMPLETED");
    assert_eq!(row["Payload"], serde_json::json!({"waitableCanary": true}));
    // The canary took its own message and nothing else is left.
    let left = crate::jobs_delivery::receive_all(&env, 1, 2);
    assert!(left.is_empty(), "{left:?}");

    let out = run_ok(env.waitable().args(["check", "--live", "--output", "json"]));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["live"]["result"], "skipped", "{doc}");
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
