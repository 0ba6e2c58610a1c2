//! `waitable reconcile`: a STARTED row whose execution was stopped behind the tool's back is
//! moved the way the reconcile would, on moto (StopExecution through the SDK directly) and on
//! the local target (the row put back to STARTED after the engine stopped the execution, as a
//! lost event or a crash would leave it). Rows whose execution still runs, or that have none,
//! are reported and left.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::harness::{StackEnv, describe, run_ok, unique_name};

fn wire(at: chrono::DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The job's row, or `Value::Null` while it has none (a missing Id exits 1).
fn row(env: &dyn StackEnv, id: &str) -> Value {
    let out = env
        .waitable()
        .args(["status", "--id", id, "--output", "json"])
        .output()
        .unwrap();
    if !out.status.success() {
        return Value::Null;
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v[0].clone()
}

fn report(env: &dyn StackEnv, extra: &[&str]) -> Vec<Value> {
    let out = run_ok(
        env.waitable()
            .args(["reconcile", "--older-than", "1m", "--output", "json"])
            .args(extra),
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", describe(&out)))
        .as_array()
        .unwrap()
        .clone()
}

fn entry<'a>(report: &'a [Value], id: &str) -> &'a Value {
    report
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {report:?}"))
}

fn sweeps_a_row_whose_execution_was_stopped(env: &dyn StackEnv, stop: &dyn Fn(&str)) {
    let (stopped, running, missing) = (
        unique_name("swept"),
        unique_name("still-running"),
        unique_name("no-execution"),
    );
    // The execution input as the CLI and the API send it: Payload and ExpiresAt always there.
    let later = json!({
        "StartTimestamp": wire(Utc::now() + Duration::hours(1)),
        "Payload": "null",
        "ExpiresAt": "4102444800"
    })
    .to_string();
    env.start_raw_execution(&stopped, &later);
    env.start_raw_execution(&running, &later);
    for id in [&stopped, &running] {
        for _ in 0..100 {
            if row(env, id)["ProcessStatus"] == "STARTED" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    stop(&stopped);
    // The rows as a lost event leaves them: STARTED, due an hour ago.
    let past = wire(Utc::now() - Duration::hours(1));
    let seeded: Vec<Value> = [&stopped, &running, &missing]
        .iter()
        .map(|id| json!({ "Id": id, "StartActionAt": past, "ProcessStatus": "STARTED", "LastUpdated": past }))
        .collect();
    env.seed_jobs(&seeded);

    let dry = report(env, &["--dry-run"]);
    let s = entry(&dry, &stopped);
    assert_eq!(
        (&s["executionStatus"], &s["newStatus"], &s["changed"]),
        (&json!("ABORTED"), &json!("CANCELLED"), &json!(false)),
        "{dry:?}"
    );
    assert_eq!(entry(&dry, &running)["executionStatus"], "RUNNING");
    assert_eq!(entry(&dry, &running)["newStatus"], Value::Null);
    assert_eq!(entry(&dry, &missing)["executionStatus"], "MISSING");
    assert_eq!(
        row(env, &stopped)["ProcessStatus"],
        "STARTED",
        "a dry run changes nothing"
    );

    let done = report(env, &[]);
    assert_eq!(entry(&done, &stopped)["changed"], true, "{done:?}");
    assert_eq!(entry(&done, &running)["changed"], false);
    let fixed = row(env, &stopped);
    assert_eq!(fixed["ProcessStatus"], "CANCELLED", "{fixed}");
    assert!(
        fixed["Error"]
            .as_str()
            .unwrap()
            .starts_with("ExecutionAborted: "),
        "{fixed}"
    );
    assert_eq!(row(env, &running)["ProcessStatus"], "STARTED");

    let again = report(env, &[]);
    assert!(
        again.iter().all(|r| r["id"] != stopped.as_str()),
        "{again:?}"
    );

    let out = env
        .waitable()
        .args(["reconcile", "--older-than", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn aws_reconcile_fixes_a_row_whose_execution_was_stopped_behind_its_back() {
    let env = crate::jobs::AwsEnv::new("reconcile");
    let stop = |id: &str| {
        let arn = waitable_core::arn::execution_arn(&env.state_machine_arn, id).unwrap();
        crate::jobs::runtime().block_on(async {
            env.sfn
                .stop_execution()
                .execution_arn(arn)
                .send()
                .await
                .expect("StopExecution behind the tool's back");
        });
    };
    sweeps_a_row_whose_execution_was_stopped(&env, &stop);
}

#[test]
fn local_reconcile_fixes_a_row_whose_execution_was_stopped_behind_its_back() {
    let env = crate::local::LocalEnv::new();
    let stop = |id: &str| {
        run_ok(env.waitable().args(["cancel", id]));
    };
    sweeps_a_row_whose_execution_was_stopped(&env, &stop);
}
