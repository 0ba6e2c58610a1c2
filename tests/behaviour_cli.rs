//! More of the behaviour suite (tests/behaviour.rs): `submit --file` from stdin, with status's
//! field names, every bad line at once and Ctrl-C; `status --id`'s whole row; `receive` on a
//! missing stack. Run on both targets by tests/jobs.rs (moto) and tests/local.rs.

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::behaviour::all_jobs;
use crate::harness::{StackEnv, describe, run_ok, unique_name};

/// Runs the CLI with `stdin` written to its standard input.
fn with_stdin(env: &dyn StackEnv, args: &[&str], stdin: &str) -> Output {
    let mut child = env
        .waitable()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("waitable starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ids_with_prefix(env: &dyn StackEnv, prefix: &str) -> usize {
    all_jobs(env)
        .iter()
        .filter(|j| j["Id"].as_str().is_some_and(|id| id.starts_with(prefix)))
        .count()
}

/// `submit --file -`: lines from stdin, in either spelling; every bad line reported before
/// anything is sent; Ctrl-C stops the sending with a summary and exit 130, and the same file
/// run again answers "already submitted" for the lines sent (relative times included).
pub fn submit_file_from_stdin_and_interrupted(env: &dyn StackEnv) {
    // Every bad line at once (exit 2), nothing sent.
    let before = all_jobs(env);
    let good = unique_name("file-good");
    let text = [
        json!({"at": "+1h", "id": good}).to_string(),
        "not json".to_string(),
        json!({"at": "yesterday"}).to_string(),
        json!({"at": "+1h", "payload": [1]}).to_string(),
    ]
    .join("\n");
    let out = with_stdin(env, &["submit", "--file", "-"], &text);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stdin: 3 bad lines"), "{stderr}");
    for line in ["line 2:", "line 3:", "line 4:"] {
        assert!(stderr.contains(line), "{line}: {stderr}");
    }
    assert!(out.stdout.is_empty(), "{}", describe(&out));
    assert_eq!(all_jobs(env), before, "a refused file sent something");

    // The names `status --output json` prints, and the short ones.
    let (a, b) = (unique_name("file-a"), unique_name("file-b"));
    let text = format!(
        "{}\n{}\n",
        json!({"Id": a, "StartActionAt": "+1h", "Payload": {"n": 1}}),
        json!({"id": b, "at": "+1h"})
    );
    let out = with_stdin(env, &["submit", "--file", "-", "--output", "json"], &text);
    assert!(out.status.success(), "{}", describe(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["submitted"], 2, "{report}");
    let row = all_jobs(env).into_iter().find(|j| j["Id"] == a.as_str());
    let row = row.unwrap_or_else(|| panic!("job {a} not listed"));
    assert_eq!(row["Payload"], json!({"n": 1}), "{row}");

    // Ctrl-C while sending: exit 130, the report says what was and was not sent.
    let prefix = unique_name("file-int");
    let lines = 40;
    let text: Vec<String> = (0..lines)
        .map(|i| json!({"at": "+1h", "id": format!("{prefix}-{i:02}")}).to_string())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.jsonl");
    std::fs::write(&file, text.join("\n")).unwrap();
    let file = file.to_str().unwrap();
    let mut child = env
        .waitable()
        .args(["submit", "--file", file, "--rate", "2", "--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("waitable starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ids_with_prefix(env, &prefix) < 2 {
        assert!(Instant::now() < deadline, "the batch sent nothing in 30 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("submit --file did not stop on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    let sent = report["submitted"].as_u64().unwrap();
    let not_sent = report["notSent"].as_u64().unwrap_or(0);
    assert!(sent >= 2 && not_sent >= 1, "{report}");
    assert_eq!(sent + not_sent, lines, "{report}");
    assert!(
        report["firstUnsentLine"].as_u64().unwrap() <= sent + 1,
        "{report}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not sent (the first is line"), "{stderr}");

    // The same file again: the lines sent are already submitted, the rest go now.
    let again = run_ok(
        env.waitable()
            .args(["submit", "--file", file, "--output", "json"]),
    );
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        report,
        json!({"submitted": not_sent, "alreadySubmitted": sent, "failed": []})
    );
}

/// `status --id X`: the table row, then DeliveredAt and the payload (pretty-printed); the
/// JSON row has every field.
pub fn status_of_one_job_is_its_whole_row(env: &dyn StackEnv) {
    let delivered = unique_name("whole-row");
    let at = "2030-01-01T00:00:00Z";
    let fired_at = "2030-01-01T00:00:00.120Z";
    env.seed_jobs(&[json!({"Id": delivered, "StartActionAt": at,
        "ProcessStatus": "COMPLETED", "LastUpdated": fired_at, "FiredAt": fired_at,
        "DeliveredAt": fired_at, "DeliveredTo": "queue,webhook",
        "Payload": "{\"to\":\"a@example.com\"}"})]);
    let out = run_ok(env.waitable().args(["status", "--id", &delivered]));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("1 job: 1 COMPLETED"), "{table}");
    assert!(
        table.contains("DeliveredAt    2030-01-01T00:00:00Z"),
        "{table}"
    );
    assert!(table.contains("DeliveredTo    queue, webhook"), "{table}");
    assert!(
        table.contains("Payload\n{\n  \"to\": \"a@example.com\"\n}")
            || table.contains("Payload\n  {\n    \"to\": \"a@example.com\"\n  }"),
        "{table}"
    );
    let out = run_ok(
        env.waitable()
            .args(["status", "--id", &delivered, "--output", "json"]),
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["DeliveredAt"], fired_at, "{rows}");
    assert_eq!(rows[0]["Payload"], json!({"to": "a@example.com"}), "{rows}");

    // A job nothing delivered says so.
    let waiting = unique_name("whole-row-wait");
    run_ok(
        env.waitable()
            .args(["submit", "--at", "+1h", "--id", &waiting]),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let table = loop {
        let out = env
            .waitable()
            .args(["status", "--id", &waiting])
            .output()
            .unwrap();
        if out.status.success() {
            break String::from_utf8(out.stdout).unwrap();
        }
        assert!(Instant::now() < deadline, "{}", describe(&out));
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(table.contains("DeliveredAt    (not delivered)"), "{table}");
    assert!(table.contains("Payload        (none)"), "{table}");
}

/// `receive` on a stack that does not exist says so (not that it has no delivery queue).
pub fn receive_on_a_missing_stack_says_so(env: &dyn StackEnv) {
    let missing = unique_name("nostack");
    let out = env
        .waitable_for(&missing)
        .args(["receive"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("stack {missing} does not exist")),
        "{stderr}"
    );
    assert!(!stderr.contains("delivery queue"), "{stderr}");
    // A stack that exists without a queue still says that.
    let out = env.waitable().args(["receive"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("has no delivery queue"), "{stderr}");
}

/// The `--stack-name` an env's commands carry.
pub fn stack_name_of(env: &dyn StackEnv) -> String {
    let cmd = env.waitable();
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let at = args.iter().position(|a| a == "--stack-name").unwrap();
    args[at + 1].clone()
}

/// `waitable stacks` lists the env's stack with its status (and, where counted, its jobs);
/// returns its JSON row for the target's own checks.
pub fn stacks_lists_the_stack(env: &dyn StackEnv) -> Value {
    let name = stack_name_of(env);
    let id = unique_name("stacks");
    run_ok(env.waitable().args(["submit", "--at", "+1h", "--id", &id]));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !all_jobs(env).iter().any(|j| j["Id"] == id.as_str()) {
        assert!(Instant::now() < deadline, "job {id} was not recorded");
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = run_ok(env.waitable().args(["stacks", "--output", "json"]));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["StackName"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} not listed: {rows}"))
        .clone();
    match &row["Jobs"] {
        Value::Null => {}
        jobs => assert!(jobs["STARTED"].as_u64().unwrap() >= 1, "{row}"),
    }
    let out = run_ok(env.waitable().args(["stacks"]));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains(&name) && table.contains("Status"), "{table}");
    row
}
