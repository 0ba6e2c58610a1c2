//! `retry` and `reschedule` (a job's runs, `waitable_core::runs`) on both targets: the
//! scenarios run on moto (tests/jobs.rs's `AwsEnv`) and on the local engine, plus the race
//! with the firing and a crash of the local engine with a moved job's old run still waiting.

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{StackEnv, describe, run_ok, unique_name};
use crate::jobs::AwsEnv;
use crate::local::{LocalEnv, due_in};

fn output(env: &dyn StackEnv, args: &[&str]) -> Output {
    env.waitable().args(args).output().expect("waitable runs")
}

fn json_of(env: &dyn StackEnv, args: &[&str]) -> Value {
    let out = run_ok(env.waitable().args(args).args(["--output", "json"]));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn row(env: &dyn StackEnv, id: &str) -> Value {
    json_of(env, &["status", "--id", id])[0].clone()
}

fn wait_row(env: &dyn StackEnv, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = output(env, &["status", "--id", id, "--output", "json"]);
        if out.status.success() {
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            if done(&v[0]) {
                return v[0].clone();
            }
            assert!(
                Instant::now() < deadline,
                "{id} did not become {what}: {}",
                v[0]
            );
        }
        assert!(Instant::now() < deadline, "{id} has no row");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Reschedule moves a waiting job (run 2, its own execution); a cancelled job's resubmit
/// names `retry`; retry runs it again with its payload; show lists every run; what cannot
/// move is refused with exit 1, a bad time with exit 2.
pub fn retry_and_reschedule(env: &dyn StackEnv) {
    let id = unique_name("runs");
    run_ok(env.waitable().args([
        "submit",
        "--at",
        "+1h",
        "--id",
        &id,
        "--payload",
        r#"{"n":1}"#,
    ]));
    wait_row(env, &id, "STARTED", |j| j["ProcessStatus"] == "STARTED");

    let moved = json_of(env, &["reschedule", &id, "--at", "+2h"]);
    assert_eq!(moved["run"], 2, "{moved}");
    assert_eq!(moved["kind"], "reschedule");
    assert!(
        moved["executionArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{id}.r2"))
    );
    let now = row(env, &id);
    assert_eq!(now["Run"], 2, "{now}");
    assert_eq!(now["StartActionAt"], moved["startActionAt"]);
    assert_eq!(now["ProcessStatus"], "STARTED");

    let bad = output(env, &["reschedule", &id, "--at", "soon"]);
    assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));
    let not_failed = output(env, &["retry", &id]);
    assert_eq!(
        not_failed.status.code(),
        Some(1),
        "{}",
        describe(&not_failed)
    );
    assert!(
        String::from_utf8_lossy(&not_failed.stderr)
            .contains("only a FAILED or CANCELLED job can be retried")
    );

    // Cancel stops the current run; a resubmit of the Id names the way out.
    run_ok(env.waitable().args(["cancel", &id]));
    let stored = moved["startActionAt"].as_str().unwrap();
    let again = output(
        env,
        &[
            "submit",
            "--at",
            stored,
            "--id",
            &id,
            "--payload",
            r#"{"n":1}"#,
        ],
    );
    assert_eq!(again.status.code(), Some(1), "{}", describe(&again));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains(&format!("waitable retry {id}")), "{stderr}");

    let retried = json_of(env, &["retry", &id, "--at", "+2s"]);
    assert_eq!(retried["run"], 3, "{retried}");
    let done = wait_row(env, &id, "COMPLETED", |j| j["ProcessStatus"] == "COMPLETED");
    assert_eq!(done["Run"], 3, "{done}");
    assert_eq!(done["Payload"], json!({"n": 1}));
    assert!(done.get("Error").is_none(), "{done}");

    let story = json_of(env, &["show", &id]);
    let runs = story["runs"].as_array().expect("show lists the runs");
    assert_eq!(runs.len(), 3, "{story}");
    assert_eq!(runs[0]["execution"], id.as_str());
    assert_eq!(runs[0]["status"], "ABORTED", "{story}");
    assert_eq!(runs[2]["status"], "SUCCEEDED", "{story}");
    let text = String::from_utf8(run_ok(env.waitable().args(["show", &id])).stdout).unwrap();
    assert!(
        text.contains("Runs") && text.contains(&format!("{id}.r3")),
        "{text}"
    );

    let finished = output(env, &["reschedule", &id, "--at", "+1h"]);
    assert_eq!(finished.status.code(), Some(1), "{}", describe(&finished));
    assert!(String::from_utf8_lossy(&finished.stderr).contains("waitable retry"));
    let missing = output(env, &["retry", "no-such-job"]);
    assert_eq!(missing.status.code(), Some(1), "{}", describe(&missing));
}

/// A reschedule racing the firing ends with exactly one outcome: moved (the job never fires
/// at its old time) or refused because it fired (once, at the old time, and nothing moved).
/// Jobs due in about a second are rescheduled at staggered moments around their time.
pub fn a_reschedule_racing_the_firing_has_one_outcome(env: &dyn StackEnv) {
    let mut outcomes = Vec::new();
    for (i, delay_ms) in [0u64, 600, 900, 1100, 1300, 1600, 2500]
        .into_iter()
        .enumerate()
    {
        let id = unique_name(&format!("race{i}"));
        let at = due_in(0);
        run_ok(env.waitable().args(["submit", "--at", &at, "--id", &id]));
        wait_row(env, &id, "recorded", |_| true);
        let due = chrono::DateTime::parse_from_rfc3339(&at)
            .unwrap()
            .timestamp_millis();
        let wait = due + delay_ms as i64 - 1000 - chrono::Utc::now().timestamp_millis();
        std::thread::sleep(Duration::from_millis(wait.max(0) as u64));
        let out = output(env, &["reschedule", &id, "--at", "+1h"]);
        outcomes.push((id, at, out));
    }
    // Past every old time, with room for a late claim.
    std::thread::sleep(Duration::from_secs(4));
    for (id, at, out) in outcomes {
        let j = row(env, &id);
        match out.status.code() {
            Some(0) => {
                assert_eq!(j["Run"], 2, "{id}: {j}");
                assert_eq!(j["ProcessStatus"], "STARTED", "{id}: {j}");
                assert!(j.get("FiredAt").is_none(), "{id} fired after it moved: {j}");
                assert_ne!(j["StartActionAt"], at.as_str(), "{j}");
            }
            Some(1) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(
                    stderr.contains("cannot reschedule") || stderr.contains("COMPLETED"),
                    "{id}: {stderr}"
                );
                assert!(j.get("Run").is_none(), "{id} moved though refused: {j}");
                assert_eq!(j["ProcessStatus"], "COMPLETED", "{id}: {j}");
                assert_eq!(j["StartActionAt"], at.as_str(), "{j}");
            }
            _ => panic!("{id}: {}", describe(&out)),
        }
    }
}

/// The new run's input, as `waitable reschedule` starts it (here under a name of the test's
/// choosing, so the harness can start it like any execution).
fn reschedule_input(id: &str, at: &str) -> String {
    json!({"StartTimestamp": at, "Payload": "null", "ExpiresAt": "0",
        "Run": {"Id": id, "Number": "2", "Previous": "1", "Kind": "reschedule"}})
    .to_string()
}

#[test]
fn retry_and_reschedule_on_moto() {
    retry_and_reschedule(&AwsEnv::new("runs"));
}

#[test]
fn retry_and_reschedule_locally() {
    retry_and_reschedule(&LocalEnv::new());
}

#[test]
fn a_reschedule_racing_the_firing_has_one_outcome_on_moto() {
    a_reschedule_racing_the_firing_has_one_outcome(&AwsEnv::new("runs-race"));
}

#[test]
fn a_reschedule_racing_the_firing_has_one_outcome_locally() {
    a_reschedule_racing_the_firing_has_one_outcome(&LocalEnv::new());
}

/// The engine dies (kill -9) after the new run's first write and before the old run was
/// stopped: after the restart the old run reaches its time, and its claim is refused; the
/// job fires once, at its new time.
#[test]
fn a_crash_between_the_new_runs_start_and_the_old_runs_stop_fires_once_at_the_new_time() {
    let mut env = LocalEnv::new();
    let id = unique_name("crash");
    run_ok(
        env.waitable()
            .args(["submit", "--at", &due_in(2), "--id", &id]),
    );
    wait_row(&env, &id, "recorded", |_| true);
    let new_at = due_in(6);
    env.start_raw_execution(&format!("{id}-r2"), &reschedule_input(&id, &new_at));
    let moved = wait_row(&env, &id, "moved", |j| j["Run"] == 2);
    assert_eq!(moved["StartActionAt"], new_at.as_str());
    env.kill_engine();
    std::thread::sleep(Duration::from_secs(4));
    env.start_engine();
    // The old time has passed: nothing fired.
    let j = row(&env, &id);
    assert_eq!(j["ProcessStatus"], "STARTED", "{j}");
    assert!(j.get("FiredAt").is_none(), "{j}");
    let done = wait_row(&env, &id, "COMPLETED", |j| {
        j["ProcessStatus"] == "COMPLETED"
    });
    let fired = chrono::DateTime::parse_from_rfc3339(done["FiredAt"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(&new_at).unwrap();
    assert!(fired >= due, "fired at {fired}, before its new time {due}");
    // Run 1 ended without a write: its history shows the refused claim, not a completion.
    let history = env.history(&id);
    assert!(
        !history
            .iter()
            .any(|(e, s)| e == "TaskSucceeded" && s.as_deref() == Some("SetFinalStatus")),
        "{history:?}"
    );
}
