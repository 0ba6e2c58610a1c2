//! The API mapping templates rendered by a real VTL engine (airspeed-ext, the engine LocalStack
//! uses) with API Gateway's `$input`, `$util` and `$context` (tests/vtl/render.py), for hostile
//! inputs. Every rendering must be valid JSON and carry the input exactly. Templates written
//! the way the public sample writes them serve as a control that must fail.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use waitable_core::api;
use waitable_core::cfn_intrinsics::substitute;
use waitable_core::{page_token, retention};

use crate::harness::{repo_root, venv_bin};

const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:jobs";
const REQUEST_ID: &str = "c0ffee00-0000-4000-8000-000000000000";

/// The POST template as API Gateway runs it: state machine ARN and retention substituted.
fn submit_template(retention_days: u32) -> String {
    substitute(
        &api::submit_request_template(),
        &[
            ("StateMachineArn", ARN),
            ("RetentionDays", &retention_days.to_string()),
        ],
    )
}

/// Text that breaks naive templates: JSON, VTL and JavaScript metacharacters, control
/// characters, non-ASCII (including astral-plane and JavaScript line separators).
const HOSTILE: &[&str] = &[
    "plain-id_1",
    r#"double "quote""#,
    "single 'quote' and don't",
    r#"back\slash \\ \" \n \u0041"#,
    "new\nline\r\ttab\u{8}\u{c}",
    "unicode é 中文 😀 \u{2028}\u{2029}",
    "$input.body ${StateMachineArn} $util.escapeJavaScript('x') $context.requestId",
    "#set($x = 1)#if(true)yes#end ## comment #* block *# #end",
    "</script><!-- --> & ; |",
    "\u{1}\u{1f}\u{7f} control",
    r#"", "injected": {"x": ""#,
    r#""]}, {"Id": "evil"#,
    "",
];

/// Renders every case in one Python process; returns each rendering or the engine's error.
fn render_all(cases: &[Value]) -> Vec<Result<String, String>> {
    render_raw(cases)
        .into_iter()
        .map(|r| match r.get("ok") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(r["error"].to_string()),
        })
        .collect()
}

/// Each rendering with the status the template set through `$context.responseOverride`.
fn render_with_status(cases: &[Value]) -> Vec<(Result<String, String>, Option<u64>)> {
    let raw = render_raw(cases);
    let statuses: Vec<Option<u64>> = raw.iter().map(|r| r["status"].as_u64()).collect();
    render_all(cases).into_iter().zip(statuses).collect()
}

fn render_raw(cases: &[Value]) -> Vec<Value> {
    let mut child = Command::new(venv_bin("python"))
        .arg(repo_root().join("tests/vtl/render.py"))
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
    assert_eq!(results.len(), cases.len());
    results
}

fn parse(rendered: &Result<String, String>) -> Result<Value, String> {
    let text = rendered
        .as_ref()
        .map_err(|e| format!("engine error: {e}"))?;
    serde_json::from_str(text).map_err(|e| format!("invalid JSON ({e}):\n{text}"))
}

fn submit_request(template: &str, body: &Value) -> Value {
    json!({ "template": template, "body": body.to_string(), "context": { "requestId": REQUEST_ID } })
}

fn hostile_body(s: &str) -> Value {
    json!({
        "StartTimestamp": s,
        "Id": s,
        "Payload": { "text": s, s: [s, 1, 2.5, null, true, { "nested": s }] }
    })
}

/// Checks one rendered StartExecution request against the body it came from.
fn check_submit(rendered: &Result<String, String>, body: &Value) -> Result<(), String> {
    let req = parse(rendered)?;
    let expect_name = body
        .get("Id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(REQUEST_ID);
    if req["stateMachineArn"] != ARN || req["name"] != expect_name {
        return Err(format!("wrong arn or name: {req}"));
    }
    let input: Value = serde_json::from_str(req["input"].as_str().ok_or("input is not a string")?)
        .map_err(|e| format!("input is not JSON ({e}): {}", req["input"]))?;
    if input["StartTimestamp"] != body["StartTimestamp"] {
        return Err(format!("StartTimestamp changed: {input}"));
    }
    match body.get("Payload") {
        Some(payload) => {
            let text = input["Payload"]
                .as_str()
                .ok_or("Payload is not JSON text")?;
            let back: Value =
                serde_json::from_str(text).map_err(|e| format!("Payload text is not JSON: {e}"))?;
            if &back != payload {
                return Err(format!("Payload changed: {back} != {payload}"));
            }
        }
        // No payload: the text "null", so the state machine needs no Choice on its presence.
        None if input.get("Payload") != Some(&json!("null")) => {
            return Err(format!("no Payload must travel as \"null\": {input}"));
        }
        None => {}
    }
    if !input["ExpiresAt"].is_string() {
        return Err(format!("no ExpiresAt: {input}"));
    }
    let keys: Vec<&String> = input.as_object().unwrap().keys().collect();
    if keys.iter().any(|k| {
        ![
            "StartTimestamp",
            "Payload",
            "ExpiresAt",
            "TooFarAhead",
            "Run",
        ]
        .contains(&k.as_str())
    }) {
        return Err(format!("injected keys: {keys:?}"));
    }
    // The job's run: run 1 of the job named after the execution.
    if input["Run"] != json!({"Id": expect_name, "Number": "1"}) {
        return Err(format!("wrong Run: {input}"));
    }
    Ok(())
}

fn scan_item(s: &str) -> Value {
    json!({
        "Id": { "S": s }, "StartActionAt": { "S": s }, "LastUpdated": { "S": s },
        "ProcessStatus": { "S": s }, "Error": { "S": s }
    })
}

fn status_response(items: &[Value], last_key: Option<&str>) -> Value {
    let mut body = json!({ "Items": items, "Count": items.len(), "ScannedCount": items.len() });
    if let Some(k) = last_key {
        body["LastEvaluatedKey"] = json!({ "Id": { "S": k } });
    }
    json!({ "template": api::status_response_template(), "body": body.to_string() })
}

fn check_status(
    rendered: &Result<String, String>,
    items: &[Value],
    last_key: Option<&str>,
) -> Result<(), String> {
    let doc = parse(rendered)?;
    let got = doc["items"].as_array().ok_or("no items array")?;
    if got.len() != items.len() {
        return Err(format!("{} items, expected {}", got.len(), items.len()));
    }
    for (g, want) in got.iter().zip(items) {
        for attr in [
            "Id",
            "StartActionAt",
            "LastUpdated",
            "ProcessStatus",
            "Error",
        ] {
            let expected = want
                .get(attr)
                .map(|v| v["S"].clone())
                .unwrap_or(Value::Null);
            // An empty string renders as null: DynamoDB keys and our writers never store "".
            let expected = if expected == "" {
                Value::Null
            } else {
                expected
            };
            if g[attr] != expected {
                return Err(format!("{attr}: {} != {expected}", g[attr]));
            }
        }
    }
    match (last_key, doc.get("nextToken")) {
        (None, None) => Ok(()),
        (Some(k), Some(Value::String(token))) => {
            if *token == page_token::encode(k) {
                Ok(())
            } else {
                Err(format!(
                    "nextToken {token:?} is not the core's token for {k:?}"
                ))
            }
        }
        (want, got) => Err(format!("nextToken: expected {want:?}, got {got:?}")),
    }
}

#[test]
fn submit_request_carries_hostile_input_exactly() {
    let template = submit_template(90);
    let mut bodies: Vec<Value> = HOSTILE.iter().map(|s| hostile_body(s)).collect();
    // The sample's own body (StartTimestamp only) and a body without an Id.
    bodies.push(json!({ "StartTimestamp": "2030-01-01T00:00:00Z" }));
    bodies.push(json!({ "StartTimestamp": "2030-01-01T00:00:00Z", "Payload": {} }));
    let cases: Vec<Value> = bodies
        .iter()
        .map(|b| submit_request(&template, b))
        .collect();
    let rendered = render_all(&cases);
    let failures: Vec<String> = rendered
        .iter()
        .zip(&bodies)
        .filter_map(|(r, b)| check_submit(r, b).err().map(|e| format!("{b}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} renderings wrong:\n{}",
        failures.len(),
        bodies.len(),
        failures.join("\n")
    );
}

#[test]
fn submit_and_error_responses_are_valid_json() {
    let ids: Vec<&str> = HOSTILE
        .iter()
        .copied()
        .filter(|s| !s.contains(':'))
        .collect();
    let mut cases: Vec<Value> = ids
        .iter()
        .map(|id| {
            let body = json!({ "executionArn": format!("arn:aws:states:us-east-1:1:execution:jobs:{id}"), "startDate": 1.7e9 });
            json!({ "template": api::submit_response_template(), "body": body.to_string() })
        })
        .collect();
    cases.extend(HOSTILE.iter().map(|s| {
        let body = json!({ "__type": "com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists", "message": s });
        json!({ "template": api::error_response_template(), "body": body.to_string() })
    }));
    let rendered = render_all(&cases);
    for (r, id) in rendered[..ids.len()].iter().zip(&ids) {
        let doc = parse(r).unwrap();
        assert_eq!(doc["jobId"], *id);
        assert!(doc["executionArn"].as_str().unwrap().ends_with(id));
    }
    for (r, s) in rendered[ids.len()..].iter().zip(HOSTILE) {
        let doc = parse(r).unwrap();
        assert_eq!(doc["error"], "ExecutionAlreadyExists");
        assert_eq!(doc["message"], *s);
    }
}

#[test]
fn status_response_is_valid_json_whatever_the_items_hold() {
    let all: Vec<Value> = HOSTILE
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| scan_item(s))
        .collect();
    let sparse = vec![json!({ "Id": { "S": "only-id" }, "ProcessStatus": { "S": "FAILED" } })];
    let scenarios: Vec<(Vec<Value>, Option<&str>)> = vec![
        (all.clone(), None),
        (all.clone(), Some(HOSTILE[1])),
        (all[..1].to_vec(), Some(HOSTILE[5])),
        (sparse, None),
        (vec![], None),
        (vec![], Some("last")),
    ];
    let cases: Vec<Value> = scenarios
        .iter()
        .map(|(items, k)| status_response(items, *k))
        .collect();
    let rendered = render_all(&cases);
    for ((items, k), r) in scenarios.iter().zip(&rendered) {
        if let Err(e) = check_status(r, items, *k) {
            panic!("{} items, last key {k:?}: {e}", items.len());
        }
    }
}

#[test]
fn status_request_validates_limit_and_carries_the_token() {
    let template = substitute(
        &api::status_request_template(),
        &[("TableName", "jobs-table")],
    );
    let limits = [
        ("", 100),
        ("5", 5),
        ("1000", 1000),
        // Anything else: a Limit DynamoDB refuses (400 ValidationException), as locally.
        ("1001", 0),
        ("0", 0),
        ("5, \"x\": 1", 0),
        ("-1", 0),
        ("1e3", 0),
        ("abc", 0),
    ];
    let mut cases: Vec<Value> = limits
        .iter()
        .map(|(l, _)| json!({ "template": template, "params": { "querystring": { "limit": l } } }))
        .collect();
    let keys: Vec<&str> = HOSTILE.iter().copied().filter(|s| !s.is_empty()).collect();
    cases.extend(keys.iter().map(|k| {
        json!({ "template": template, "params": { "querystring": { "nextToken": page_token::encode(k) } } })
    }));
    let rendered = render_all(&cases);
    for ((l, want), r) in limits.iter().zip(&rendered) {
        let doc = parse(r).unwrap_or_else(|e| panic!("limit {l:?}: {e}"));
        assert_eq!(doc["Limit"], *want, "limit {l:?}");
        assert_eq!(doc["TableName"], "jobs-table");
        assert!(doc.get("ExclusiveStartKey").is_none());
    }
    for (k, r) in keys.iter().zip(&rendered[limits.len()..]) {
        let doc = parse(r).unwrap_or_else(|e| panic!("key {k:?}: {e}"));
        assert_eq!(doc["ExclusiveStartKey"]["Id"]["S"], *k);
    }
}

/// The GET /status integration is path-style (`dynamodb:path//`), which implies no DynamoDB
/// action: every rendering must name one, exactly once, as the header API Gateway sends.
#[test]
fn status_request_names_its_dynamodb_action_in_every_branch() {
    use waitable_core::status_index::{QUERY_TARGET, SCAN_TARGET};
    let template = substitute(
        &api::status_request_template(),
        &[("TableName", "jobs-table")],
    );
    let token = page_token::encode("job-1 2030-01-01T00:00:00Z");
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), SCAN_TARGET),
        (json!({ "limit": "abc" }), SCAN_TARGET),
        (
            json!({ "nextToken": page_token::encode("job-1") }),
            SCAN_TARGET,
        ),
        (json!({ "status": "FAILED" }), QUERY_TARGET),
        (json!({ "status": "COMPLETED", "limit": "1" }), QUERY_TARGET),
        (
            json!({ "status": "STARTED", "nextToken": token }),
            QUERY_TARGET,
        ),
        (json!({ "status": "\"}, \"x\": {\"" }), QUERY_TARGET),
    ];
    let raw = render_raw(
        &cases
            .iter()
            .map(|(q, _)| json!({ "template": template, "params": { "querystring": q } }))
            .collect::<Vec<_>>(),
    );
    for ((query, target), r) in cases.iter().zip(&raw) {
        let text = r["ok"].as_str().unwrap_or_else(|| panic!("{query}: {r}"));
        let doc: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{query}: {e}"));
        assert_eq!(doc["TableName"], "jobs-table", "{query}");
        assert_eq!(
            r["overrides"]["header"],
            json!({ "X-Amz-Target": target }),
            "{query}"
        );
        assert_eq!(
            doc.get("IndexName").is_some(),
            *target == QUERY_TARGET,
            "{query}"
        );
    }
    // Overrides are final and may be applied once: the template sets the header in one place.
    assert_eq!(template.matches("requestOverride").count(), 1, "{template}");
}

/// Templates written the way the public sample writes them: raw interpolation in POST, and
/// GET /status items missing a comma and escaping nothing. The same checks must catch them.
#[test]
fn control_the_samples_templates_fail_the_same_checks() {
    let sample_post = format!(
        "{{\n  \"input\": \"{{\\\"Id\\\" : \\\"$context.requestId\\\", \\\"StartTimestamp\\\": \\\"$input.path('$.StartTimestamp')\\\"}}\",\n  \"stateMachineArn\": \"{ARN}\"\n}}"
    );
    let sample_status = "#set($inputRoot = $input.path('$'))\n{\n  \"items\": [\n    #foreach($elem in $inputRoot.Items) {\n      \"Id\": \"$elem.Id.S\",\n      \"StartActionAt\": \"$elem.StartActionAt.S\"\n      \"LastUpdated\": \"$elem.LastUpdated.S\",\n      \"ProcessStatus\": \"$elem.ProcessStatus.S\"\n    }#if($foreach.hasNext),#end\n  #end\n  ]\n}";
    let bodies: Vec<Value> = HOSTILE
        .iter()
        .map(|s| json!({ "StartTimestamp": s }))
        .collect();
    let cases: Vec<Value> = bodies
        .iter()
        .map(|b| submit_request(&sample_post, b))
        .collect();
    let rendered = render_all(&cases);
    let post_failures = rendered
        .iter()
        .zip(&bodies)
        .filter(|(r, b)| {
            let ok = parse(r).ok().and_then(|req| {
                let input: Value = serde_json::from_str(req["input"].as_str()?).ok()?;
                Some(
                    input["StartTimestamp"] == b["StartTimestamp"] && input.as_object()?.len() == 2,
                )
            });
            ok != Some(true)
        })
        .count();
    assert!(
        post_failures >= 5,
        "the sample's POST template should break on hostile input, broke on {post_failures}"
    );

    let items = vec![scan_item("a"), scan_item("b")];
    let body = json!({ "Items": items, "Count": 2 });
    let rendered = render_all(&[json!({ "template": sample_status, "body": body.to_string() })]);
    assert!(
        parse(&rendered[0]).is_err(),
        "the sample's GET template renders invalid JSON even for plain items"
    );
}

/// What a client that percent-encodes every query value sends (RFC 3986 unreserved kept), and
/// what API Gateway hands the template after decoding it once.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A page token goes out in GET /status's answer and comes back as the next request's
/// `nextToken`, from a client that sends it as it is and from one that percent-encodes query
/// values: either way the scan resumes at the same key. (The old token, percent-encoded
/// standard base64, came back double-encoded from the second client and failed to decode.)
#[test]
fn next_token_survives_clients_that_percent_encode_query_values() {
    let keys: Vec<&str> = HOSTILE
        .iter()
        .copied()
        .filter(|s| !s.is_empty())
        .chain(["?>>", "??", "a", "ab", "abc", "job-1"])
        .collect();
    let answers: Vec<Value> = keys
        .iter()
        .map(|k| status_response(&[scan_item("x")], Some(k)))
        .collect();
    let tokens: Vec<String> = render_all(&answers)
        .iter()
        .map(|r| parse(r).unwrap()["nextToken"].as_str().unwrap().to_string())
        .collect();
    let request = substitute(&api::status_request_template(), &[("TableName", "jobs")]);
    let mut cases = Vec::new();
    for token in &tokens {
        assert_eq!(
            percent_encode(token),
            *token,
            "a token needs no encoding: {token}"
        );
        for sent in [token.clone(), percent_encode(token)] {
            let received = percent_decode(&sent);
            cases.push(json!({ "template": request, "params": { "querystring": { "nextToken": received } } }));
        }
    }
    let rendered = render_all(&cases);
    for (i, k) in keys.iter().enumerate() {
        for r in &rendered[2 * i..2 * i + 2] {
            let doc = parse(r).unwrap_or_else(|e| panic!("key {k:?}: {e}"));
            assert_eq!(doc["ExclusiveStartKey"]["Id"]["S"], *k, "key {k:?}");
        }
    }
}

/// A token GET /status cannot have given resumes nowhere: the key is empty, which DynamoDB
/// refuses with 400, instead of quietly starting over at the first page.
#[test]
fn a_malformed_next_token_is_refused_not_restarted() {
    let request = substitute(&api::status_request_template(), &[("TableName", "jobs")]);
    let bad = ["abc%3D", "a", "Pz8=", "not base64!", "\"},\"x\":{\""];
    let cases: Vec<Value> = bad
        .iter()
        .map(|t| json!({ "template": request, "params": { "querystring": { "nextToken": t } } }))
        .collect();
    for (t, r) in bad.iter().zip(render_all(&cases)) {
        let doc = parse(&r).unwrap_or_else(|e| panic!("token {t:?}: {e}"));
        assert_eq!(doc["ExclusiveStartKey"]["Id"]["S"], "", "token {t:?}");
    }
}

fn error_case(body: &Value) -> Value {
    json!({ "template": api::error_response_template(), "body": body.to_string() })
}

/// Step Functions says `message`, DynamoDB `Message`; either is carried, and a body with
/// neither (or no `__type`) still renders valid JSON.
#[test]
fn error_template_reads_either_casing_and_always_renders_json() {
    let ddb = "com.amazonaws.dynamodb.v20120810#ValidationException";
    let sfn = "com.amazonaws.swf.service.v2.model#InvalidName";
    let bodies = [
        (
            json!({ "__type": sfn, "message": "lower \"q\" 'x'" }),
            "InvalidName",
            "lower \"q\" 'x'",
        ),
        (
            json!({ "__type": ddb, "Message": "upper é\n" }),
            "ValidationException",
            "upper é\n",
        ),
        (
            json!({ "__type": ddb, "message": "both", "Message": "ignored" }),
            "ValidationException",
            "both",
        ),
        (json!({ "__type": ddb }), "ValidationException", ""),
        (json!({}), "ServiceError", ""),
        (json!({ "Message": "no type" }), "ServiceError", "no type"),
    ];
    let cases: Vec<Value> = bodies.iter().map(|(b, _, _)| error_case(b)).collect();
    for ((body, kind, message), (r, status)) in bodies.iter().zip(render_with_status(&cases)) {
        let doc = parse(&r).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(doc, json!({ "error": kind, "message": message }), "{body}");
        assert_eq!(
            status, None,
            "{body}: not throttling, status stays as selected"
        );
    }
}

/// DynamoDB and Step Functions answer throttling with HTTP 400; the client gets 429.
#[test]
fn throttling_reaches_the_client_as_429() {
    let throttles = [
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "com.amazonaws.dynamodb.v20120810#ThrottlingException",
        "com.amazonaws.dynamodb.v20120810#RequestLimitExceeded",
        "com.amazonaws.swf.service.v2.model#ThrottlingException",
        "ThrottlingException",
    ];
    let others = [
        "com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists",
        "com.amazonaws.dynamodb.v20120810#ValidationException",
        "com.amazonaws.dynamodb.v20120810#NotThrottlingException",
    ];
    let cases: Vec<Value> = throttles
        .iter()
        .chain(&others)
        .map(|t| error_case(&json!({ "__type": t, "message": "Rate exceeded" })))
        .collect();
    let rendered = render_with_status(&cases);
    for (t, (r, status)) in throttles.iter().chain(&others).zip(&rendered) {
        let doc = parse(r).unwrap();
        assert_eq!(doc["message"], "Rate exceeded");
        let want = throttles.contains(t).then_some(429);
        assert_eq!(*status, want, "{t}");
    }
}

fn epoch(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts)
        .unwrap()
        .timestamp()
}

/// The POST template works out `ExpiresAt` with integer arithmetic; it must agree with the
/// core's rule for every date, leap days and centuries included.
#[test]
fn submit_request_carries_the_cores_expiry() {
    let stamps = [
        "1970-01-01T00:00:00Z",
        "2000-02-29T12:34:56Z",
        "2024-02-29T23:59:59Z",
        "2026-11-30T10:00:00Z",
        "2027-01-01T00:00:00Z",
        "2027-03-01T00:00:00Z",
        "2038-01-19T03:14:08Z",
        "2100-03-01T00:00:00Z",
        "2400-02-29T06:07:08Z",
        "9999-12-31T23:59:59Z",
    ];
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for days in [90, 1, 3650, 0] {
        for ts in stamps {
            let mut case = submit_request(&submit_template(days), &json!({ "StartTimestamp": ts }));
            // Submitted a day before it is due.
            case["context"]["requestTimeEpoch"] = json!((epoch(ts) - 86_400) * 1000);
            cases.push(case);
            expected.push(retention::expires_at(epoch(ts), days));
        }
    }
    // Timestamps the API model refuses are kept forever (the state machine rejects them anyway).
    for bad in [
        "soon",
        "2030-01-01",
        "2030-01-01T00:00:00+01:00",
        "2030-01-01T00:00:00.5Z",
    ] {
        cases.push(submit_request(
            &submit_template(90),
            &json!({ "StartTimestamp": bad }),
        ));
    }
    let rendered = render_all(&cases);
    for (i, r) in rendered.iter().enumerate() {
        let req = parse(r).unwrap();
        let input: Value = serde_json::from_str(req["input"].as_str().unwrap()).unwrap();
        match expected.get(i) {
            Some(want) => assert_eq!(input["ExpiresAt"], *want, "{input}"),
            None => assert_eq!(input["ExpiresAt"], retention::KEEP_FOREVER, "{input}"),
        }
    }
}

/// Only a POST with an Id is safe to retry; the answer says which one this was.
#[test]
fn submit_answer_says_whether_a_retry_is_safe() {
    let answer = |name: &str| {
        let body = json!({ "executionArn": format!("{}:{name}", ARN.replace("stateMachine", "execution")) });
        json!({ "template": api::submit_response_template(), "body": body.to_string() })
    };
    let rendered = render_all(&[answer("my-job"), answer(REQUEST_ID)]);
    let with_id = parse(&rendered[0]).unwrap();
    assert_eq!(with_id["jobId"], "my-job");
    assert_eq!(with_id[api::ANSWER_IDEMPOTENT], true);
    assert!(with_id.get(api::ANSWER_NOTE).is_none());
    let without = parse(&rendered[1]).unwrap();
    assert_eq!(without["jobId"], REQUEST_ID);
    assert_eq!(without[api::ANSWER_IDEMPOTENT], false);
    assert_eq!(without[api::ANSWER_NOTE], api::NOT_IDEMPOTENT_NOTE);
}

/// More than a year ahead of the request: the input says so (the state machine then records
/// the job FAILED at once), and its expiry counts from the request, not from the far start.
#[test]
fn submit_request_flags_a_start_more_than_a_year_ahead() {
    let now = epoch("2026-11-30T10:00:00Z");
    let year = waitable_core::time_input::MAX_AHEAD.num_seconds();
    let stamp = |secs: i64| {
        chrono::DateTime::from_timestamp(secs, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let cases_at = [
        (now + year, false),
        (now + year + 1, true),
        (now + 10 * year, true),
        (now, false),
    ];
    let cases: Vec<Value> = cases_at
        .iter()
        .map(|(at, _)| {
            let mut case = submit_request(
                &submit_template(90),
                &json!({ "StartTimestamp": stamp(*at) }),
            );
            case["context"]["requestTimeEpoch"] = json!(now * 1000 + 999);
            case
        })
        .collect();
    for ((at, too_far), r) in cases_at.iter().zip(render_all(&cases)) {
        let req = parse(&r).unwrap();
        let input: Value = serde_json::from_str(req["input"].as_str().unwrap()).unwrap();
        assert_eq!(
            input.get("TooFarAhead") == Some(&json!(true)),
            *too_far,
            "{input}"
        );
        let base = if *too_far { now } else { *at };
        assert_eq!(
            input["ExpiresAt"],
            retention::expires_at(base, 90),
            "{input}"
        );
    }
}

/// The local target adds to a POST's input what the deployed API's template adds, through
/// `api::post_input_extras`: the two agree for every case.
#[test]
fn the_local_targets_extras_are_the_templates() {
    let now = epoch("2026-11-30T10:00:00Z");
    let year = waitable_core::time_input::MAX_AHEAD.num_seconds();
    let stamp = |secs: i64| {
        chrono::DateTime::from_timestamp(secs, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let mut starts: Vec<String> = [now, now + 3600, now + year, now + year + 1, now - 30]
        .iter()
        .map(|s| stamp(*s))
        .collect();
    starts.extend(["2027-01-01T00:00:00.250Z", "soon", "2030-01-01"].map(String::from));
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for days in [90, 0, 7] {
        for start in &starts {
            let mut case =
                submit_request(&submit_template(days), &json!({ "StartTimestamp": start }));
            case["context"]["requestTimeEpoch"] = json!(now * 1000 + 500);
            cases.push(case);
            expected.push(api::post_input_extras(start, now, days));
        }
    }
    for (r, want) in render_all(&cases).iter().zip(expected) {
        let req = parse(r).unwrap();
        let input: Value = serde_json::from_str(req["input"].as_str().unwrap()).unwrap();
        let got: Vec<(String, Value)> = input
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| !["StartTimestamp", "Payload", "Run"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // The rest is what the one execution-input builder makes (the CLI's and the local
        // POST's): the same Payload for a body without one.
        assert_eq!(input["Payload"], waitable_core::job::NO_PAYLOAD, "{input}");
        let want: Vec<(String, Value)> =
            want.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        assert_eq!(got, want, "{input}");
    }
}
