//! The behaviour suite: one set of scenarios, run on both targets with the same assertions.
//! Each scenario uses only the CLI (`env.waitable()`) and the [`StackEnv`] trait, so the aws
//! target (tests/jobs.rs, on moto) and the local target (tests/local.rs) run them unchanged.

#![allow(dead_code)]

use std::process::Output;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::harness::{StackEnv, describe, run_ok, unique_name};
use crate::local::due_in;

/// Moto's (and a busy machine's) waits can end up to ~2 s early.
const EARLY_TOLERANCE: chrono::Duration = chrono::Duration::seconds(2);
/// How long a job may take beyond its wait before we call it stuck.
const GRACE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(300);

fn output(env: &dyn StackEnv, args: &[&str]) -> Output {
    env.waitable().args(args).output().expect("waitable runs")
}

fn ok_stdout(env: &dyn StackEnv, args: &[&str]) -> String {
    let out = run_ok(env.waitable().args(args));
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Every job, as `status --output json` prints them.
pub fn all_jobs(env: &dyn StackEnv) -> Vec<Value> {
    let text = ok_stdout(env, &["status", "--output", "json"]);
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status --output json printed invalid JSON ({e}): {text}"));
    v.as_array().expect("an array").clone()
}

fn job(env: &dyn StackEnv, id: &str) -> Option<Value> {
    let out = output(env, &["status", "--id", id, "--output", "json"]);
    // A missing Id exits 1 with "no job ID in stack S" (and prints nothing on stdout).
    if out.status.code() == Some(1) && String::from_utf8_lossy(&out.stderr).contains("no job ") {
        assert!(out.stdout.is_empty(), "{}", describe(&out));
        return None;
    }
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let v: Value = serde_json::from_str(&text).expect("valid JSON");
    let items = v.as_array().expect("an array");
    assert!(items.len() <= 1, "one job per Id: {text}");
    items.first().cloned()
}

/// Polls until job `id` satisfies `done`, failing after `timeout` with what was last seen.
fn wait_for(
    env: &dyn StackEnv,
    id: &str,
    timeout: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    let mut last = None;
    while Instant::now() < deadline {
        last = job(env, id);
        if let Some(j) = &last
            && done(j)
        {
            return j.clone();
        }
        std::thread::sleep(POLL);
    }
    panic!("job {id} did not become {what} within {timeout:?}; last seen: {last:?}");
}

fn status_is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |j| j["ProcessStatus"] == status
}

fn time(v: &Value) -> DateTime<Utc> {
    let text = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("not an RFC 3339 time {text:?}: {e}"))
        .with_timezone(&Utc)
}

fn submit_json(env: &dyn StackEnv, args: &[&str]) -> Value {
    let mut all = vec!["submit", "--output", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok_stdout(env, &all)).expect("submit prints JSON")
}

/// submit --at +3s -> STARTED -> COMPLETED within the wait and a few seconds, with
/// LastUpdated after StartActionAt.
pub fn completes_after_wait(env: &dyn StackEnv) {
    let id = unique_name("wait");
    let before = Utc::now();
    let submitted = submit_json(
        env,
        &[
            "--at",
            "+3s",
            "--id",
            &id,
            "--payload",
            r#"{"to":"a@example.com"}"#,
        ],
    );
    assert_eq!(submitted["jobId"], id.as_str());
    assert_eq!(submitted["alreadySubmitted"], false);
    assert!(submitted["executionArn"].as_str().unwrap().ends_with(&id));

    let started = wait_for(env, &id, GRACE, "recorded", |_| true);
    assert_eq!(started["ProcessStatus"], "STARTED", "{started}");
    assert_eq!(started["Payload"], json!({"to": "a@example.com"}));
    let at = time(&started["StartActionAt"]);
    assert!(
        at >= before + chrono::Duration::seconds(3) && at <= before + chrono::Duration::seconds(5),
        "StartActionAt {at} should be about 3 s after {before}"
    );
    assert!(
        started["StartActionAt"].as_str().unwrap().ends_with('Z'),
        "UTC with Z: {started}"
    );

    let done = wait_for(
        env,
        &id,
        Duration::from_secs(3) + GRACE,
        "COMPLETED",
        status_is("COMPLETED"),
    );
    let updated = time(&done["LastUpdated"]);
    assert!(
        updated >= at - EARLY_TOLERANCE,
        "LastUpdated {updated} is before StartActionAt {at} (beyond the 2 s tolerance)"
    );
    assert!(done.get("Error").is_none(), "{done}");

    // The table shows it too, with the summary line.
    let table = ok_stdout(env, &["status", "--id", &id]);
    assert!(
        table.contains(&id) && table.contains("COMPLETED"),
        "{table}"
    );
    assert!(table.contains("1 job: 1 COMPLETED"), "{table}");
}

/// Every rejected input: exit 2, one line on stderr, nothing on stdout, the table unchanged.
pub fn rejects_bad_input(env: &dyn StackEnv) {
    let before = all_jobs(env);
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    std::fs::write(&big, json!({ "blob": "x".repeat(300 * 1024) }).to_string()).unwrap();
    let big = big.to_str().unwrap().to_string();
    let bad_line = dir.path().join("jobs.jsonl");
    std::fs::write(
        &bad_line,
        "{\"at\": \"+1h\", \"id\": \"fine-1\"}\n{\"at\": \"yesterday\", \"id\": \"bad-2\"}\n",
    )
    .unwrap();
    let bad_line = bad_line.to_str().unwrap().to_string();
    let long_id = "a".repeat(81);

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["submit", "--at", "tomorrow"], "RFC 3339"),
        (vec!["submit", "--at", "2001-01-01T00:00:00Z"], "past"),
        (vec!["submit", "--at", "+400d"], "year"),
        (
            vec!["submit", "--at", "2030-01-01T00:00 Mars/Base"],
            "unknown time zone",
        ),
        (vec!["submit", "--at", "+5y"], "+90s"),
        (vec!["submit", "--at=+99999999d"], "too large"),
        (vec!["submit", "--at", "-30m"], "past"),
        (vec!["status", "--due-after=-99999999d"], "too large"),
        (
            vec!["submit", "--at", "2030-03-31T02:30 Europe/Berlin"],
            "does not exist",
        ),
        (
            vec!["submit", "--at", "2030-01-01 09:00", "--tz", "Nowhere/City"],
            "unknown time zone",
        ),
        (
            vec!["submit", "--at", "+1m", "--payload", "{not json"],
            "JSON",
        ),
        (
            vec!["submit", "--at", "+1m", "--payload-file", &big],
            "256 KB",
        ),
        (vec!["submit", "--at", "+1m", "--id", "has space"], "Id"),
        (vec!["submit", "--at", "+1m", "--id", &long_id], "Id"),
        (vec!["submit", "--at", "+1m", "--id", "a/b"], "Id"),
        (vec!["submit", "--file", &bad_line], "line 2"),
        (
            vec!["submit", "--file", "/nonexistent/jobs.jsonl"],
            "cannot read",
        ),
        (vec!["status", "--status", "DONE"], "STARTED"),
        (vec!["cancel", "not an id"], "Id"),
    ];
    for (args, expected) in cases {
        let out = output(env, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: one line on stderr: {stderr}"
        );
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", describe(&out));
    }
    assert_eq!(all_jobs(env), before, "a rejected input changed the table");
}

/// The same submit twice: one job, one execution; the second says so. A conflicting
/// resubmit fails with exit 1 and changes nothing.
pub fn resubmit_is_idempotent(env: &dyn StackEnv) {
    let id = unique_name("again");
    let at = (Utc::now() + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    let args = ["--at", at.as_str(), "--id", &id, "--payload", r#"{"n": 1}"#];
    let first = submit_json(env, &args);
    assert_eq!(first["alreadySubmitted"], false);
    // The job's row exists before the resubmit: until the execution's first write, Step
    // Functions itself answers a same-name, same-input StartExecution with the running one.
    wait_for(
        env,
        &id,
        Duration::from_secs(20),
        "the job's row",
        status_is("STARTED"),
    );

    let mut cmd = env.waitable();
    cmd.args(["submit", "--output", "json"]).args(args);
    let second = run_ok(&mut cmd);
    let second_json: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(second_json["alreadySubmitted"], true);
    assert_eq!(second_json["executionArn"], first["executionArn"]);
    assert_eq!(second_json["jobId"], id.as_str());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("already submitted"), "{stderr}");

    // Spacing in the payload does not make it another job.
    let third = submit_json(
        env,
        &[
            "--at",
            at.as_str(),
            "--id",
            &id,
            "--payload",
            r#"{ "n" : 1 }"#,
        ],
    );
    assert_eq!(third["alreadySubmitted"], true);

    let conflict = output(
        env,
        &[
            "submit",
            "--at",
            &at,
            "--id",
            &id,
            "--payload",
            r#"{"n": 2}"#,
        ],
    );
    assert_eq!(conflict.status.code(), Some(1), "{}", describe(&conflict));
    let stderr = String::from_utf8_lossy(&conflict.stderr);
    assert!(stderr.contains("different"), "{stderr}");

    let recorded = wait_for(env, &id, GRACE, "recorded", |_| true);
    let mine: Vec<Value> = all_jobs(env)
        .into_iter()
        .filter(|j| j["Id"] == id.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "one item for {id}: {mine:?}");
    assert_eq!(recorded["Payload"], json!({"n": 1}));
    assert_eq!(recorded["ProcessStatus"], "STARTED");
}

/// An input the CLI would refuse, started directly: the machine records the job FAILED with
/// its error.
pub fn failed_path_is_recorded(env: &dyn StackEnv) {
    let id = unique_name("bad-ts");
    env.start_raw_execution(&id, r#"{"StartTimestamp": "tomorrow"}"#);
    let failed = wait_for(env, &id, GRACE, "FAILED", status_is("FAILED"));
    assert_eq!(failed["Error"], "InvalidStartTimestamp", "{failed}");
    assert!(failed.get("LastUpdated").is_some(), "{failed}");

    let table = ok_stdout(env, &["status", "--status", "FAILED"]);
    assert!(
        table.contains(&id) && table.contains("InvalidStartTimestamp"),
        "{table}"
    );
}

/// STARTED -> CANCELLED; a COMPLETED job and an unknown Id are refused with exit 1.
pub fn cancel_stops_a_waiting_job(env: &dyn StackEnv) {
    let waiting = unique_name("cancel-me");
    submit_json(env, &["--at", "+1h", "--id", &waiting]);
    wait_for(env, &waiting, GRACE, "STARTED", status_is("STARTED"));

    let out = run_ok(
        env.waitable()
            .args(["cancel", &waiting, "--output", "json"]),
    );
    let cancelled: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cancelled["jobId"], waiting.as_str());
    assert_eq!(cancelled["job"]["ProcessStatus"], "CANCELLED");
    let now = job(env, &waiting).expect("still listed");
    assert_eq!(now["ProcessStatus"], "CANCELLED");
    let when = time(&now["LastUpdated"]);
    assert!((Utc::now() - when).num_seconds().abs() < 60, "{now}");

    let again = output(env, &["cancel", &waiting]);
    assert_eq!(again.status.code(), Some(1), "{}", describe(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("CANCELLED"));

    let finished = unique_name("done");
    submit_json(env, &["--at", "now", "--id", &finished]);
    wait_for(env, &finished, GRACE, "COMPLETED", status_is("COMPLETED"));
    let refused = output(env, &["cancel", &finished]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("COMPLETED"), "{stderr}");
    assert_eq!(
        job(env, &finished).unwrap()["ProcessStatus"],
        "COMPLETED",
        "a refused cancel changed the job"
    );

    let unknown = output(env, &["cancel", "no-such-job"]);
    assert_eq!(unknown.status.code(), Some(1), "{}", describe(&unknown));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no job"));

    // The cancelled job stays CANCELLED (its execution was stopped; even if the machine
    // reached its end it could not overwrite the status).
    assert_eq!(job(env, &waiting).unwrap()["ProcessStatus"], "CANCELLED");
}

/// A job that fired (the claim recorded `FiredAt`) is not cancelled, on either target: its
/// delivery is in progress, or done. The cancel's own conditional write refuses the row, so
/// nothing changes, and `status` shows the job as delivering.
pub fn a_fired_job_is_not_cancelled(env: &dyn StackEnv) {
    let fired = unique_name("fired");
    let delivered = unique_name("delivered");
    let at = "2030-01-01T00:00:00Z";
    let fired_at = "2030-01-01T00:00:00.120Z";
    env.seed_jobs(&[
        serde_json::json!({"Id": fired, "StartActionAt": at, "ProcessStatus": "STARTED",
            "LastUpdated": "2029-12-31T00:00:00.000Z", "FiredAt": fired_at}),
        serde_json::json!({"Id": delivered, "StartActionAt": at, "ProcessStatus": "COMPLETED",
            "LastUpdated": fired_at, "FiredAt": fired_at, "DeliveredAt": fired_at,
            "DeliveredTo": "queue,webhook"}),
    ]);
    let refused = output(env, &["cancel", &fired]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("fired at {fired_at}; its delivery is in progress")),
        "{stderr}"
    );
    let now = job(env, &fired).unwrap();
    assert_eq!(
        now["ProcessStatus"], "STARTED",
        "a refused cancel changed the job"
    );
    assert_eq!(now["FiredAt"], fired_at);
    let table = ok_stdout(env, &["status", "--id", &fired]);
    assert!(table.contains("STARTED (delivering)"), "{table}");

    let refused = output(env, &["cancel", &delivered]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("was delivered at {fired_at}")),
        "{stderr}"
    );
    let done = job(env, &delivered).unwrap();
    assert_eq!(
        done["DeliveredTo"],
        serde_json::json!(["queue", "webhook"]),
        "{done}"
    );
}

/// The number of jobs and the payload size seeded by [`status_pages_through_everything`].
pub const SEEDED_JOBS: usize = 3_000;
// 6 MB in all: every segment of a parallel scan needs more than one 1 MB page.
const SEEDED_PAYLOAD_BYTES: usize = 2_000;

/// More than a 1 MB page of jobs: all returned, sorted by StartActionAt, payloads intact.
pub fn status_pages_through_everything(env: &dyn StackEnv) {
    let prefix = unique_name("seed");
    let base: DateTime<Utc> = "2030-06-01T00:00:00Z".parse().unwrap();
    let filler = "p".repeat(SEEDED_PAYLOAD_BYTES);
    // Ids and times in different orders, so a sort by Id would not pass for a sort by time.
    let records: Vec<Value> = (0..SEEDED_JOBS)
        .map(|i| {
            let minute = (i * 7919) % SEEDED_JOBS;
            let status = ["STARTED", "COMPLETED", "FAILED", "CANCELLED"][i % 4];
            let mut r = json!({
                "Id": format!("{prefix}-{i:05}"),
                "StartActionAt": (base + chrono::Duration::minutes(minute as i64))
                    .format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "ProcessStatus": status,
                "LastUpdated": "2030-05-01T00:00:00Z",
                "Payload": json!({"i": i, "filler": filler}).to_string(),
            });
            if status == "FAILED" {
                r["Error"] = json!("States.TaskFailed");
            }
            r
        })
        .collect();
    let total_payload: usize = records
        .iter()
        .map(|r| r["Payload"].as_str().unwrap().len())
        .sum();
    assert!(
        total_payload > 4_000_000,
        "payloads total {total_payload} bytes"
    );
    env.seed_jobs(&records);

    let jobs: Vec<Value> = all_jobs(env)
        .into_iter()
        .filter(|j| j["Id"].as_str().unwrap().starts_with(&prefix))
        .collect();
    assert_eq!(jobs.len(), SEEDED_JOBS, "every seeded job is returned");
    let times: Vec<&str> = jobs
        .iter()
        .map(|j| j["StartActionAt"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "sorted by StartActionAt"
    );
    let first = &jobs[0];
    assert_eq!(first["Id"], format!("{prefix}-00000").as_str());
    assert_eq!(
        first["Payload"]["filler"].as_str().unwrap().len(),
        SEEDED_PAYLOAD_BYTES
    );

    // Filters and limits see every page too.
    let failed = ok_stdout(env, &["status", "--status", "FAILED", "--output", "json"]);
    let failed: Vec<Value> = serde_json::from_str(&failed).unwrap();
    let seeded_failed = failed
        .iter()
        .filter(|j| j["Id"].as_str().unwrap().starts_with(&prefix))
        .count();
    assert_eq!(seeded_failed, SEEDED_JOBS / 4);
    let table = ok_stdout(env, &["status", "--limit", "5"]);
    assert!(table.contains("(the first 5 of"), "{table}");
}

/// The same payload with its keys in another order (and other spacing) is the same job: the
/// resubmit is "already submitted" (exit 0) on both targets.
pub fn payload_key_order_is_the_same_job(env: &dyn StackEnv) {
    let id = unique_name("order");
    let first = submit_json(
        env,
        &[
            "--at",
            "+1h",
            "--id",
            &id,
            "--payload",
            r#"{"a":1,"b":{"x":[1,2],"y":null}}"#,
        ],
    );
    assert_eq!(first["alreadySubmitted"], false);
    let at = wait_for(env, &id, GRACE, "recorded", |_| true)["StartActionAt"]
        .as_str()
        .unwrap()
        .to_string();
    let again = submit_json(
        env,
        &[
            "--at",
            &at,
            "--id",
            &id,
            "--payload",
            r#"{ "b": {"y": null, "x": [1, 2]}, "a": 1 }"#,
        ],
    );
    assert_eq!(again["alreadySubmitted"], true, "{again}");
    assert_eq!(again["executionArn"], first["executionArn"]);

    // Order inside an array is content: another job.
    let other = output(
        env,
        &[
            "submit",
            "--at",
            &at,
            "--id",
            &id,
            "--payload",
            r#"{"a":1,"b":{"x":[2,1],"y":null}}"#,
        ],
    );
    assert_eq!(other.status.code(), Some(1), "{}", describe(&other));
    assert!(String::from_utf8_lossy(&other.stderr).contains("different"));
}

/// A payload that is not a JSON object is refused before anything is sent: exit 2, one line,
/// the table unchanged, on both targets, for `--payload`, `--payload-file` and a batch line
///
pub fn non_object_payloads_are_refused_before_sending(env: &dyn StackEnv) {
    let before = all_jobs(env);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.json");
    std::fs::write(&file, "[1,2]").unwrap();
    let file = file.to_str().unwrap().to_string();
    let batch = dir.path().join("jobs.jsonl");
    std::fs::write(
        &batch,
        "{\"at\": \"+1h\", \"id\": \"ok-1\", \"payload\": {\"a\": 1}}\n{\"at\": \"+1h\", \"payload\": \"text\"}\n",
    )
    .unwrap();
    let batch = batch.to_str().unwrap().to_string();
    let id = unique_name("scalar");
    for args in [
        vec![
            "submit",
            "--at",
            "+1m",
            "--id",
            &id,
            "--payload",
            r#""text""#,
        ],
        vec!["submit", "--at", "+1m", "--id", &id, "--payload", "42"],
        vec!["submit", "--at", "+1m", "--id", &id, "--payload", "[1,2]"],
        vec!["submit", "--at", "+1m", "--id", &id, "--payload", "null"],
        vec![
            "submit",
            "--at",
            "+1m",
            "--id",
            &id,
            "--payload-file",
            &file,
        ],
        vec!["submit", "--file", &batch],
    ] {
        let out = output(env, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains("must be a JSON object"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", describe(&out));
    }
    assert_eq!(all_jobs(env), before, "a refused payload reached the table");
}

/// A payload comes back byte for byte as it was sent: big and precise numbers, exponents,
/// escapes, unicode and spacing.
pub fn payloads_round_trip_byte_for_byte(env: &dyn StackEnv) {
    let payloads = [
        r#"{"n":12345678901234567890123}"#,
        r#"{"x": 123456789.123456789, "y": 1e2, "z": -0.0}"#,
        r#"{"s":"\u00e9 é \"q\" \\ \/","k" : [ 1 , 2.50 ]}"#,
    ];
    for (i, payload) in payloads.iter().enumerate() {
        let id = unique_name(&format!("bytes{i}"));
        submit_json(env, &["--at", "+1h", "--id", &id, "--payload", payload]);
        wait_for(env, &id, GRACE, "recorded", |_| true);
        let text = ok_stdout(env, &["status", "--id", &id, "--output", "json"]);
        assert!(
            text.contains(&format!("\"Payload\":{payload}")),
            "payload {payload} did not come back byte for byte: {text}"
        );
    }
}

/// One depth limit, enforced at submit (exit 2, nothing sent); any accepted payload reads
/// back through `status`.
pub fn deep_payloads_read_back_or_are_refused(env: &dyn StackEnv) {
    use waitable_core::limits::MAX_PAYLOAD_DEPTH;
    let nested = |n: usize| format!("{}{{}}{}", "{\"a\":".repeat(n - 1), "}".repeat(n - 1));
    let deepest = nested(MAX_PAYLOAD_DEPTH);
    let id = unique_name("deep");
    submit_json(env, &["--at", "+1h", "--id", &id, "--payload", &deepest]);
    wait_for(env, &id, GRACE, "recorded", |_| true);
    let text = ok_stdout(env, &["status", "--output", "json"]);
    assert!(text.contains(&deepest), "the deepest payload reads back");
    ok_stdout(env, &["status"]);

    let before = all_jobs(env);
    for depth in [MAX_PAYLOAD_DEPTH + 1, 124, 127, 200] {
        let out = output(env, &["submit", "--at", "+1h", "--payload", &nested(depth)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{depth}: {}", describe(&out));
        assert!(stderr.contains("levels deep"), "{depth}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    assert_eq!(all_jobs(env).len(), before.len(), "nothing was sent");
}

/// Jobs never fire before their time: 30 jobs, three per second, each COMPLETED no earlier
/// than its StartActionAt (LastUpdated is the final state's entry time). Returns the lateness
/// line (min, p50, max) for the caller to print.
///
/// AWS documents a Wait with `Timestamp`/`TimestampPath` as waiting until that time (States
/// Language, "Wait State"). moto ends such waits up to a second early (the other scenarios
/// allow it [`EARLY_TOLERANCE`]), ministack does not: on this, ministack matches AWS, and the
/// local engine, which follows AWS, runs this scenario too; moto does not.
pub fn jobs_never_fire_before_their_time(env: &dyn StackEnv) -> String {
    let prefix = unique_name("late");
    let base = Utc::now() + chrono::Duration::seconds(3);
    let lines: Vec<String> = (0..30)
        .map(|i| {
            let at = (base + chrono::Duration::seconds(i / 3))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            json!({"at": at, "id": format!("{prefix}-{i:02}")}).to_string()
        })
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), lines.join("\n") + "\n").unwrap();
    run_ok(
        env.waitable()
            .args(["submit", "--file", file.path().to_str().unwrap()]),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let jobs: Vec<Value> = all_jobs(env)
            .into_iter()
            .filter(|j| j["Id"].as_str().unwrap().starts_with(&prefix))
            .collect();
        if jobs.len() == 30 && jobs.iter().all(|j| j["ProcessStatus"] == "COMPLETED") {
            break jobs;
        }
        assert!(Instant::now() < deadline, "not all completed: {jobs:?}");
        std::thread::sleep(Duration::from_millis(500));
    };
    let mut lateness: Vec<i64> = done
        .iter()
        .map(|j| (time(&j["LastUpdated"]) - time(&j["StartActionAt"])).num_milliseconds())
        .collect();
    lateness.sort_unstable();
    assert!(lateness[0] >= 0, "a job fired early: {lateness:?} ms");
    format!(
        "lateness over {} jobs: min {} ms, p50 {} ms, max {} ms",
        lateness.len(),
        lateness[0],
        lateness[lateness.len() / 2],
        lateness[lateness.len() - 1]
    )
}

/// Times as people type them: a wall-clock time with a zone name, a bare one with `--tz`,
/// epoch seconds, compound relative times and `--at -30s`; stored in UTC, shown in UTC unless
/// `--tz` asks otherwise.
pub fn time_zones_as_people_type_them(env: &dyn StackEnv) {
    let tomorrow = (Utc::now() + chrono::Duration::days(1)).date_naive();
    let day = tomorrow.format("%Y-%m-%d").to_string();

    // Etc/GMT-3 is UTC+3 all year (POSIX signs are inverted).
    let fixed = unique_name("tz-fixed");
    let at = format!("{day} 12:00");
    submit_json(env, &["--at", &at, "--tz", "Etc/GMT-3", "--id", &fixed]);
    let job = wait_for(env, &fixed, GRACE, "recorded", |_| true);
    assert_eq!(job["StartActionAt"], format!("{day}T09:00:00Z"), "{job}");

    let berlin = unique_name("tz-berlin");
    let at = format!("{day}T09:00 Europe/Berlin");
    submit_json(env, &["--at", &at, "--id", &berlin]);
    let job = wait_for(env, &berlin, GRACE, "recorded", |_| true);
    let stored = job["StartActionAt"].as_str().unwrap().to_string();
    assert!(
        [format!("{day}T08:00:00Z"), format!("{day}T07:00:00Z")].contains(&stored),
        "09:00 in Berlin is 08:00 or 07:00 UTC: {job}"
    );
    let shown = ok_stdout(env, &["status", "--id", &berlin, "--tz", "Europe/Berlin"]);
    assert!(shown.contains(&format!("{day}T09:00:00+0")), "{shown}");
    let utc = ok_stdout(env, &["status", "--id", &berlin]);
    assert!(utc.contains(&stored), "UTC by default: {utc}");

    let epoch_id = unique_name("tz-epoch");
    let epoch = (Utc::now() + chrono::Duration::hours(2)).timestamp();
    submit_json(env, &["--at", &format!("@{epoch}"), "--id", &epoch_id]);
    let job = wait_for(env, &epoch_id, GRACE, "recorded", |_| true);
    assert_eq!(time(&job["StartActionAt"]).timestamp(), epoch, "{job}");

    let compound = unique_name("tz-rel");
    let before = Utc::now();
    submit_json(env, &["--at", "+1h30m", "--id", &compound]);
    let job = wait_for(env, &compound, GRACE, "recorded", |_| true);
    let delta = time(&job["StartActionAt"]) - before;
    assert!(
        (5399..=5402).contains(&delta.num_seconds()),
        "+1h30m is 5400 s ahead: {job}"
    );

    // `--at -30s` without `=`: a moment ago, so it runs now.
    let recent = unique_name("tz-past");
    submit_json(env, &["--at", "-30s", "--id", &recent]);
    wait_for(env, &recent, GRACE, "recorded", |_| true);
}

/// A relative time repeated (one submit, or a `--file` re-run) is the job already stored when
/// its payload is the same and its stored time lies in the window; otherwise the refusal says
/// what differs and the way out. A cancelled job's Id resubmitted is refused, not "already
/// submitted".
pub fn relative_resubmit_is_idempotent(env: &dyn StackEnv) {
    let id = unique_name("rel");
    let args = [
        "--at",
        "+1m",
        "--id",
        id.as_str(),
        "--payload",
        r#"{"n":1}"#,
    ];
    let first = submit_json(env, &args);
    assert_eq!(first["alreadySubmitted"], false);
    let stored = wait_for(env, &id, GRACE, "recorded", |_| true)["StartActionAt"]
        .as_str()
        .unwrap()
        .to_string();
    std::thread::sleep(Duration::from_millis(1100));
    let mut cmd = env.waitable();
    cmd.args(["submit", "--output", "json"]).args(args);
    let again = run_ok(&mut cmd);
    let again_json: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again_json["alreadySubmitted"], true, "{}", describe(&again));
    assert_eq!(again_json["executionArn"], first["executionArn"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains(&stored),
        "the stored time is printed: {stderr}"
    );

    // Stored for +10m: no `+1m` typed since can have asked for it.
    let far = unique_name("rel-far");
    submit_json(env, &["--at", "+10m", "--id", &far]);
    let far_at = wait_for(env, &far, GRACE, "recorded", |_| true)["StartActionAt"]
        .as_str()
        .unwrap()
        .to_string();
    let later = output(env, &["submit", "--at", "+1m", "--id", &far]);
    assert_eq!(later.status.code(), Some(1), "{}", describe(&later));
    let stderr = String::from_utf8_lossy(&later.stderr);
    assert!(stderr.contains("a different time:"), "{stderr}");
    assert!(
        stderr.contains(&format!("stored time {far_at}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("new --id") && stderr.contains("cancel"),
        "{stderr}"
    );

    let other = output(
        env,
        &[
            "submit",
            "--at",
            "+1m",
            "--id",
            &id,
            "--payload",
            r#"{"n":2}"#,
        ],
    );
    assert_eq!(other.status.code(), Some(1), "{}", describe(&other));
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("a different payload"),
        "{}",
        describe(&other)
    );

    // A batch of relative times, interrupted or not, re-run: nothing fails, nothing doubles.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.jsonl");
    let ids: Vec<String> = (0..3).map(|i| unique_name(&format!("relf{i}"))).collect();
    let lines: Vec<String> = ids
        .iter()
        .map(|i| json!({"at": "+2m", "id": i, "payload": {"i": i}}).to_string())
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let file = file.to_str().unwrap();
    run_ok(env.waitable().args(["submit", "--file", file]));
    std::thread::sleep(Duration::from_millis(1100));
    let rerun = run_ok(
        env.waitable()
            .args(["submit", "--file", file, "--output", "json"]),
    );
    let report: Value = serde_json::from_slice(&rerun.stdout).unwrap();
    assert_eq!(report["alreadySubmitted"], 3, "{report}");
    assert_eq!(report["submitted"], 0, "{report}");

    // A cancelled job's Id again: refused, naming what happened.
    let gone = unique_name("rel-cancelled");
    submit_json(env, &["--at", "+1h", "--id", &gone]);
    wait_for(env, &gone, GRACE, "recorded", |_| true);
    run_ok(env.waitable().args(["cancel", &gone]));
    let refused = output(env, &["submit", "--at", "+1h", "--id", &gone]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("ended CANCELLED"), "{stderr}");
    assert!(!stderr.contains("already submitted with this"), "{stderr}");
}

/// `show ID`: the row, the execution and its timeline, the same on both targets; a waiting
/// job says when it fires; a FAILED job shows its error; a missing Id exits 1.
pub fn show_tells_a_jobs_story(env: &dyn StackEnv) {
    let id = unique_name("show");
    submit_json(
        env,
        &[
            "--at",
            "+2h",
            "--id",
            &id,
            "--payload",
            r#"{"to":"a@example.com"}"#,
        ],
    );
    let row = wait_for(env, &id, GRACE, "recorded", |_| true);
    let at = row["StartActionAt"].as_str().unwrap().to_string();
    let text = ok_stdout(env, &["show", &id]);
    assert!(text.contains(&format!("(at {at})")), "{text}");
    assert!(
        text.contains("fires in 1h 59m") || text.contains("fires in 2h"),
        "{text}"
    );
    assert!(
        text.contains("  \"to\": \"a@example.com\""),
        "pretty payload: {text}"
    );
    assert!(text.contains("ExecutionStarted"), "{text}");
    assert!(text.contains("StateEntered"), "{text}");
    let json: Value = serde_json::from_str(&ok_stdout(env, &["show", &id, "--output", "json"]))
        .expect("show prints JSON");
    assert_eq!(json["job"]["Id"], id.as_str(), "{json}");
    assert!(
        json["executionArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{id}")),
        "{json}"
    );
    assert!(
        json["fires"].as_str().unwrap().starts_with("fires in"),
        "{json}"
    );
    let events: Vec<&str> = json["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"ExecutionStarted"), "{json}");
    assert!(events.contains(&"StateEntered"), "{json}");

    let bad = unique_name("show-failed");
    env.start_raw_execution(&bad, r#"{"StartTimestamp": "tomorrow"}"#);
    wait_for(env, &bad, GRACE, "FAILED", status_is("FAILED"));
    let text = ok_stdout(env, &["show", &bad]);
    assert!(
        text.contains("Error          InvalidStartTimestamp"),
        "{text}"
    );
    assert!(!text.contains("fires in"), "{text}");

    let missing = output(env, &["show", "no-such-job-here"]);
    assert_eq!(missing.status.code(), Some(1), "{}", describe(&missing));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("no job no-such-job-here in stack"),
        "{stderr}"
    );
}

/// What scripts rely on: `status --id X` for a missing job exits 1, an empty window names
/// the window, `--payload @file.json` reads the file, `--output csv` has a header and the
/// payload as compact JSON in one column.
pub fn scripts_can_rely_on_status(env: &dyn StackEnv) {
    let missing = output(env, &["status", "--id", "no-such-job-at-all"]);
    assert_eq!(missing.status.code(), Some(1), "{}", describe(&missing));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no job no-such-job-at-all in stack"),
        "{}",
        describe(&missing)
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("payload.json");
    std::fs::write(&file, "{\n  \"to\": \"a, b\",\n  \"n\": 1\n}\n").unwrap();
    let id = unique_name("csv");
    let at_payload = format!("@{}", file.display());
    submit_json(env, &["--at", "+3h", "--id", &id, "--payload", &at_payload]);
    let job = wait_for(env, &id, GRACE, "recorded", |_| true);
    assert_eq!(job["Payload"], json!({"to": "a, b", "n": 1}), "{job}");

    let csv = ok_stdout(env, &["status", "--id", &id, "--output", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("Id,StartActionAt,ProcessStatus,LastUpdated,DeliveredAt,Error,Payload")
    );
    let row = lines.next().unwrap_or_default();
    assert!(
        row.starts_with(&format!(
            "{id},{},STARTED,",
            job["StartActionAt"].as_str().unwrap()
        )),
        "{csv}"
    );
    assert!(row.ends_with(r#","{""to"":""a, b"",""n"":1}""#), "{csv}");
    assert_eq!(lines.next(), None, "{csv}");

    let empty = ok_stdout(
        env,
        &[
            "status",
            "--due-after",
            "2020-01-01T00:00:00Z",
            "--due-before",
            "2020-01-02T00:00:00Z",
        ],
    );
    assert_eq!(
        empty.trim(),
        "No jobs due between 2020-01-01T00:00:00Z and 2020-01-02T00:00:00Z."
    );
}

/// `cancel ID ID...` and `cancel --status STARTED --due-after T --due-before T`: refused
/// without a terminal or `--yes` (exit 2, nothing cancelled); then each job sorted by the one
/// cancel rule (cancelled, already finished, fired and delivering, missing) in the summary and
/// in `--output json`; exit 1 naming the jobs not cancelled, 0 (and nothing printed with -q)
/// when every job ended cancelled or was final already.
pub fn bulk_cancel_selects_confirms_and_reports(env: &dyn StackEnv) {
    let w1 = unique_name("bulk-a");
    let w2 = unique_name("bulk-b");
    for id in [&w1, &w2] {
        submit_json(env, &["--at", "+1h", "--id", id]);
    }
    let later = [due_in(5 * 3600), due_in(5 * 3600 + 60)];
    let w3 = unique_name("bulk-c");
    let w4 = unique_name("bulk-d");
    submit_json(env, &["--at", &later[0], "--id", &w3]);
    submit_json(env, &["--at", &later[1], "--id", &w4]);
    let done = unique_name("bulk-done");
    submit_json(env, &["--at", "now", "--id", &done]);
    let fired = unique_name("bulk-fired");
    env.seed_jobs(
        &[json!({"Id": fired, "StartActionAt": "2030-01-01T00:00:00Z",
        "ProcessStatus": "STARTED", "LastUpdated": "2029-12-31T00:00:00.000Z",
        "FiredAt": "2030-01-01T00:00:00.120Z"})],
    );
    for id in [&w1, &w2, &w3, &w4] {
        wait_for(env, id, GRACE, "STARTED", status_is("STARTED"));
    }
    wait_for(env, &done, GRACE, "COMPLETED", status_is("COMPLETED"));

    // No terminal, no --yes: one line, exit 2, nothing cancelled.
    for args in [
        vec!["cancel", w1.as_str(), w2.as_str()],
        vec!["cancel", "--status", "STARTED"],
    ] {
        let refused = output(env, &args);
        assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("pass --yes"), "{stderr}");
        assert!(refused.stdout.is_empty(), "{}", describe(&refused));
    }
    assert_eq!(job(env, &w1).unwrap()["ProcessStatus"], "STARTED");
    for (args, says) in [
        (
            vec!["cancel", "--status", "COMPLETED", "--yes"],
            "only STARTED",
        ),
        (
            vec!["cancel", w1.as_str(), "--status", "STARTED"],
            "not both",
        ),
    ] {
        let refused = output(env, &args);
        assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
        assert!(String::from_utf8_lossy(&refused.stderr).contains(says));
    }

    // Several Ids: each job's outcome, exit 1 naming the ones not cancelled.
    let missing = unique_name("bulk-missing");
    let out = output(
        env,
        &[
            "cancel", &w1, &done, &fired, &missing, "--yes", "--output", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let outcomes: Vec<(&str, &str)> = report
        .as_array()
        .expect("an array")
        .iter()
        .map(|j| (j["Id"].as_str().unwrap(), j["Outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (w1.as_str(), "cancelled"),
            (done.as_str(), "already_finished"),
            (fired.as_str(), "delivering"),
            (missing.as_str(), "missing"),
        ],
        "{report}"
    );
    assert_eq!(report[0]["ProcessStatus"], "CANCELLED", "{report}");
    assert!(
        report[2]["Reason"]
            .as_str()
            .unwrap()
            .contains("its delivery is in progress"),
        "{report}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("1 cancelled, 1 already finished, 1 refused (fired, delivering), 1 missing"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "could not cancel 2 of 4 jobs: {fired} (fired, delivering), {missing} (no such job)"
        )),
        "{stderr}"
    );
    assert_eq!(job(env, &w1).unwrap()["ProcessStatus"], "CANCELLED");
    assert_eq!(
        job(env, &fired).unwrap()["ProcessStatus"],
        "STARTED",
        "a refused cancel changed the job"
    );

    // All cancelled or final: exit 0, and -q prints nothing at all.
    let quiet = run_ok(
        env.waitable()
            .args(["cancel", &w2, &done, &w1, "--yes", "-q"]),
    );
    assert!(
        quiet.stdout.is_empty() && quiet.stderr.is_empty(),
        "{}",
        describe(&quiet)
    );
    assert_eq!(job(env, &w2).unwrap()["ProcessStatus"], "CANCELLED");

    // A selection, by the same flags as status: only the waiting jobs in the window.
    let window = [
        "--status",
        "STARTED",
        "--due-after",
        later[0].as_str(),
        "--due-before",
        later[1].as_str(),
    ];
    let shown = ok_stdout(
        env,
        &[&["status", "--output", "json"], &window[..]].concat(),
    );
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown.as_array().unwrap().len(), 2, "{shown}");
    let out = run_ok(env.waitable().arg("cancel").args(window).arg("--yes"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cancelling 2 waiting jobs in stack"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 jobs: 2 cancelled, 0 already finished"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", describe(&out));
    for id in [&w3, &w4] {
        assert_eq!(job(env, id).unwrap()["ProcessStatus"], "CANCELLED", "{id}");
    }
    // Nothing left to select: nothing done, exit 0.
    let none = run_ok(env.waitable().arg("cancel").args(window).arg("--yes"));
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("0 jobs: 0 cancelled"),
        "{}",
        describe(&none)
    );
}

/// `status --watch` ends by how the jobs it showed ended: 0 when none FAILED, 1 naming the
/// ones that did (the JSON still printed); `--status STARTED` keeps the jobs it started with
/// until they finish, instead of dropping them as they complete.
pub fn watch_exits_by_how_its_jobs_ended(env: &dyn StackEnv) {
    let bad = unique_name("watch-bad");
    env.start_raw_execution(&bad, r#"{"StartTimestamp": "tomorrow"}"#);
    wait_for(env, &bad, GRACE, "FAILED", status_is("FAILED"));
    let out = output(env, &["status", "--watch", "--id", &bad]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&bad));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("1 job ended FAILED: {bad}")),
        "{}",
        describe(&out)
    );
    let out = output(
        env,
        &["status", "--watch", "--id", &bad, "--output", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let rows: Value = serde_json::from_slice(&out.stdout).expect("the JSON is still printed");
    assert_eq!(rows[0]["ProcessStatus"], "FAILED", "{rows}");

    let at = [due_in(4), due_in(5)];
    let (s1, s2) = (unique_name("watch-1"), unique_name("watch-2"));
    submit_json(env, &["--at", &at[0], "--id", &s1]);
    submit_json(env, &["--at", &at[1], "--id", &s2]);
    for id in [&s1, &s2] {
        wait_for(env, id, GRACE, "STARTED", status_is("STARTED"));
    }
    let started = Instant::now();
    let out = output(
        env,
        &[
            "status",
            "--watch",
            "--status",
            "STARTED",
            "--due-after",
            &at[0],
            "--due-before",
            &at[1],
            "--output",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert!(started.elapsed() < Duration::from_secs(5) + GRACE);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ended: Vec<(&str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["Id"].as_str().unwrap(),
                j["ProcessStatus"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ended,
        [(s1.as_str(), "COMPLETED"), (s2.as_str(), "COMPLETED")],
        "the jobs it started with, until they finished: {rows}"
    );
}

/// Ctrl-C (SIGINT) ends `status --watch` with exit 130, after what it printed.
pub fn watch_stops_on_ctrl_c_with_130(env: &dyn StackEnv) {
    use std::io::BufRead;
    let id = unique_name("watch-int");
    submit_json(env, &["--at", "+1h", "--id", &id]);
    wait_for(env, &id, GRACE, "STARTED", status_is("STARTED"));
    let mut child = env
        .waitable()
        .args(["status", "--watch", "--id", &id])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("waitable starts");
    // The first frame is out: the watch is waiting (and listening for Ctrl-C).
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(!first.is_empty(), "the watch printed nothing");
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("status --watch did not stop on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(format!("{first}{rest}").contains(&id));
}
