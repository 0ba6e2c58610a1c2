//! The status index at a million jobs: `GET /status?status=` rendered by a real VTL
//! engine (the Query branch and its page tokens), and `status --status S --due-after A
//! --due-before B` with the same answers on both targets (moto's GSI Query, the local SQLite
//! index).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use waitable_core::api;
use waitable_core::cfn_intrinsics::substitute;
use waitable_core::page_token;
use waitable_core::status_index::{INDEX_NAME, QUERY_TARGET, SCAN_TARGET};

use crate::harness::{StackEnv, describe, repo_root, unique_name, venv_bin};

/// Renders every case with tests/scale/render.py: (rendered text, request overrides).
fn render_all(cases: &[Value]) -> Vec<Result<(String, Value), String>> {
    let mut child = Command::new(venv_bin("python"))
        .arg(repo_root().join("tests/scale/render.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the venv's python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(cases).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "render.py failed");
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    results
        .into_iter()
        .map(|r| match r.get("ok") {
            Some(Value::String(s)) => Ok((s.clone(), r["overrides"].clone())),
            _ => Err(r["error"].to_string()),
        })
        .collect()
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{text}"))
}

fn status_request(params: Value) -> Value {
    let template = substitute(
        &api::status_request_template(),
        &[("TableName", "jobs-table")],
    );
    json!({ "template": template, "params": { "querystring": params } })
}

#[test]
fn get_status_with_a_status_queries_the_index_and_without_scans() {
    let hostile = [
        "FAILED",
        r#"FAILED", "x": "y"#,
        "it's \\ \n $input.body #set($a=1)",
        "😀",
    ];
    let mut cases = vec![
        status_request(json!({})),
        status_request(json!({"limit": "7"})),
    ];
    cases.extend(
        hostile
            .iter()
            .map(|s| status_request(json!({ "status": s, "limit": "7" }))),
    );
    let rendered = render_all(&cases);

    // No status: a Scan, named by the template (the path-style integration implies none).
    for r in &rendered[..2] {
        let (text, overrides) = r.as_ref().unwrap();
        let scan = parse(text);
        assert!(scan.get("IndexName").is_none(), "{scan}");
        assert!(scan.get("KeyConditionExpression").is_none());
        assert_eq!(overrides["header"], json!({ "X-Amz-Target": SCAN_TARGET }));
    }
    // A status: a Query on the index, the status carried exactly, the action overridden.
    for (status, r) in hostile.iter().zip(&rendered[2..]) {
        let (text, overrides) = r.as_ref().unwrap();
        let q = parse(text);
        assert_eq!(q["TableName"], "jobs-table");
        assert_eq!(q["IndexName"], INDEX_NAME);
        assert_eq!(q["Limit"], 7);
        assert_eq!(q["KeyConditionExpression"], "#status = :status");
        assert_eq!(q["ExpressionAttributeNames"]["#status"], "ProcessStatus");
        assert_eq!(q["ExpressionAttributeValues"][":status"]["S"], *status);
        assert!(q.get("ExclusiveStartKey").is_none());
        assert_eq!(overrides["header"]["X-Amz-Target"], QUERY_TARGET);
    }
}

#[test]
fn query_pages_carry_their_whole_key_through_the_token() {
    // A Query page ends at a key of the table and the index: Id, ProcessStatus, StartActionAt.
    let last = json!({
        "Id": { "S": "job-7" },
        "ProcessStatus": { "S": "FAILED" },
        "StartActionAt": { "S": "2030-01-01T00:00:00Z" }
    });
    let body = json!({ "Items": [], "Count": 0, "ScannedCount": 0, "LastEvaluatedKey": last });
    let scan_body = json!({ "Items": [], "LastEvaluatedKey": { "Id": { "S": "job-7" } } });
    let responses = render_all(&[
        json!({ "template": api::status_response_template(), "body": body.to_string() }),
        json!({ "template": api::status_response_template(), "body": scan_body.to_string() }),
    ]);
    let page = parse(&responses[0].as_ref().unwrap().0);
    let token = page["nextToken"].as_str().unwrap().to_string();
    assert_eq!(
        page_token::decode(&token).as_deref(),
        Some("job-7 2030-01-01T00:00:00Z")
    );
    // A Scan's token stays the Id alone.
    let scan_page = parse(&responses[1].as_ref().unwrap().0);
    assert_eq!(
        page_token::decode(scan_page["nextToken"].as_str().unwrap()).as_deref(),
        Some("job-7")
    );

    let next = render_all(&[status_request(
        json!({ "status": "FAILED", "nextToken": token }),
    )]);
    let q = parse(&next[0].as_ref().unwrap().0);
    assert_eq!(q["ExclusiveStartKey"], last);
}

// ---- both targets -------------------------------------------------------------------------

fn json_status(env: &dyn StackEnv, args: &[&str]) -> Vec<Value> {
    let out = env
        .waitable()
        .args(["--output", "json", "status"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "status {args:?}: {}", describe(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect()
}

/// Seeds jobs in every status at known times (and a FAILED one without StartActionAt), then
/// asks the status questions: the same answers, in the same order, on both targets.
pub fn status_questions_read_the_index(env: &dyn StackEnv) {
    let p = unique_name("ix");
    let at = |day: u32| format!("2031-02-{day:02}T00:00:00Z");
    let mut records = Vec::new();
    // FAILED jobs on days 1..=6 in scrambled order, each with a payload.
    for (n, day) in [4, 1, 6, 3, 5, 2].into_iter().enumerate() {
        records.push(json!({
            "Id": format!("{p}-f{day}"), "StartActionAt": at(day), "ProcessStatus": "FAILED",
            "LastUpdated": "2031-01-01T00:00:00.000Z", "Error": "States.TaskFailed",
            "Payload": format!("{{\"n\":{n}}}")
        }));
    }
    for day in 1..=6 {
        records.push(json!({
            "Id": format!("{p}-s{day}"), "StartActionAt": at(day), "ProcessStatus": "STARTED",
            "LastUpdated": "2031-01-01T00:00:00.000Z"
        }));
    }
    // Rejected before its first write: no StartActionAt, so not in the index.
    records.push(json!({
        "Id": format!("{p}-rejected"), "ProcessStatus": "FAILED",
        "LastUpdated": "2031-01-01T00:00:00.000Z", "Error": "InvalidStartTimestamp"
    }));
    env.seed_jobs(&records);
    let mine = |rows: Vec<Value>| -> Vec<Value> {
        rows.into_iter()
            .filter(|r| r["Id"].as_str().unwrap().starts_with(&format!("{p}-")))
            .collect()
    };

    let failed = mine(json_status(env, &["--status", "FAILED"]));
    let want: Vec<String> = (1..=6).map(|d| format!("{p}-f{d}")).collect();
    assert_eq!(
        ids(&failed),
        want,
        "in StartActionAt order, rejected left out"
    );
    assert!(failed.iter().all(|r| r["ProcessStatus"] == "FAILED"));
    assert_eq!(failed[0]["Error"], "States.TaskFailed");
    assert_eq!(failed[0]["LastUpdated"], "2031-01-01T00:00:00.000Z");
    assert_eq!(failed[0]["Payload"], json!({"n": 1}), "payloads read back");
    assert_eq!(failed[5]["Payload"], json!({"n": 2}));

    // Windows are inclusive at both ends.
    let window = mine(json_status(
        env,
        &[
            "--status",
            "FAILED",
            "--due-after",
            &at(2),
            "--due-before",
            &at(4),
        ],
    ));
    assert_eq!(ids(&window), [2, 3, 4].map(|d| format!("{p}-f{d}")));
    let after = mine(json_status(
        env,
        &["--status", "STARTED", "--due-after", &at(5)],
    ));
    assert_eq!(ids(&after), [5, 6].map(|d| format!("{p}-s{d}")));
    let before = mine(json_status(
        env,
        &["--status", "STARTED", "--due-before", &at(1)],
    ));
    assert_eq!(ids(&before), [format!("{p}-s1")]);
    let none = mine(json_status(
        env,
        &[
            "--status",
            "STARTED",
            "--due-after",
            &at(4),
            "--due-before",
            &at(3),
        ],
    ));
    assert!(none.is_empty(), "an empty window matches nothing");

    // A window without a status reads the whole table, filtered the same way.
    let any = mine(json_status(
        env,
        &["--due-after", &at(6), "--due-before", &at(6)],
    ));
    let mut got = ids(&any);
    got.sort();
    assert_eq!(got, [format!("{p}-f6"), format!("{p}-s6")]);

    // Plain status still shows every job, the rejected one included.
    let all = mine(json_status(env, &[]));
    assert_eq!(all.len(), records.len());

    // The table answers the same question.
    let out = env
        .waitable()
        .args(["status", "--status", "FAILED", "--due-before", &at(2)])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    let first = table.find(&format!("{p}-f1")).expect("f1 shown");
    let second = table.find(&format!("{p}-f2")).expect("f2 shown");
    assert!(first < second, "{table}");
    assert!(!table.contains(&format!("{p}-f3")), "{table}");

    // Bad bounds are refused before anything is sent.
    let out = env
        .waitable()
        .args(["status", "--status", "FAILED", "--due-before", "tomorrow"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn status_questions_read_the_index_on_moto() {
    status_questions_read_the_index(&crate::jobs::AwsEnv::new("index"));
}

#[test]
fn status_questions_read_the_index_on_local() {
    status_questions_read_the_index(&crate::local::LocalEnv::new());
}

/// The public `GET /status?status=` on the local target: what the deployed API's Query branch
/// answers (only that status, in StartActionAt order, pages through base64url tokens; a status
/// that is not exactly one of the four matches nothing).
#[test]
fn public_status_route_reads_the_index_on_local() {
    use crate::local::http;
    let env = crate::local::LocalEnv::new();
    let at = |day: u32| format!("2031-03-{day:02}T00:00:00Z");
    let mut records = Vec::new();
    for day in [3, 1, 2] {
        records.push(
            json!({ "Id": format!("f{day}"), "StartActionAt": at(day), "ProcessStatus": "FAILED" }),
        );
        records.push(json!({ "Id": format!("s{day}"), "StartActionAt": at(day), "ProcessStatus": "STARTED" }));
    }
    env.seed_jobs(&records);

    let mut seen = Vec::new();
    let mut path = "/status?status=FAILED&limit=1".to_string();
    loop {
        let (code, page) = http(env.port, "GET", &path, None);
        assert_eq!(code, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 1);
        seen.extend(items.iter().map(|i| i["Id"].as_str().unwrap().to_string()));
        match page["nextToken"].as_str() {
            Some(t) => {
                assert!(
                    t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                );
                path = format!("/status?status=FAILED&limit=1&nextToken={t}");
            }
            None => break,
        }
    }
    assert_eq!(seen, ["f1", "f2", "f3"]);
    for odd in ["failed", "DONE", "FAILED%20"] {
        let (code, page) = http(env.port, "GET", &format!("/status?status={odd}"), None);
        assert_eq!(code, 200, "{page}");
        assert_eq!(page["items"], json!([]), "{odd}");
    }
    // No status: every job, as before.
    let (_, page) = http(env.port, "GET", "/status", None);
    assert_eq!(page["items"].as_array().unwrap().len(), 6);
}
