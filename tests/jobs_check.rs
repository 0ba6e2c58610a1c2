//! `check --live --canary` on the moto that runs executions.

use serde_json::Value;

use crate::harness::run_ok;

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
