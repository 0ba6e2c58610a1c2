//! The local target end to end: the engine as a real process (killed with SIGKILL mid-wait),
//! the sample's curl flow, `waitable demo`, deploy/destroy of a detached engine, and
//! [`LocalEnv`], the local implementation of the behaviour suite's [`StackEnv`].

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{self, StackEnv};

/// One HTTP request to the engine's public port on 127.0.0.1; the body parsed as JSON.
pub fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    http_with(
        port,
        method,
        path,
        &[],
        body.map(Value::to_string).unwrap_or_default(),
    )
}

/// One HTTP request on the public port with extra header lines and a raw body.
pub fn http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[&str],
    payload: String,
) -> (u16, Value) {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("the engine accepts connections");
    let mut head = vec!["Host: 127.0.0.1"];
    head.extend_from_slice(headers);
    exchange(s, method, path, &head, payload)
}

/// One HTTP request over the stack's control socket (the private routes).
pub fn http_control(dir: &Path, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let s = std::os::unix::net::UnixStream::connect(dir.join("engine.sock"))
        .expect("the engine's control socket accepts connections");
    let payload = body.map(Value::to_string).unwrap_or_default();
    exchange(s, method, path, &["Host: localhost"], payload)
}

fn exchange<S: Read + Write>(
    mut s: S,
    method: &str,
    path: &str,
    headers: &[&str],
    payload: String,
) -> (u16, Value) {
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    write!(s, "{head}Content-Length: {}\r\n\r\n", payload.len()).unwrap();
    // The server may answer (413) before it has read a large body.
    let _ = s.write_all(payload.as_bytes());
    let mut response = Vec::new();
    let _ = s.read_to_end(&mut response);
    let (status, body) = waitable::local::client::parse_response(&response).unwrap();
    let text = String::from_utf8_lossy(&body);
    let value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("{method} {path} answered {status} with invalid JSON ({e}): {text}")
    });
    (status, value)
}

pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A local stack under its own temporary WAITABLE_HOME, with its engine run as a child process
/// (`waitable local run`) that is killed when this is dropped, so no engine outlives a test.
pub struct LocalEnv {
    pub home: tempfile::TempDir,
    pub stack: String,
    engine: Option<Child>,
    pub port: u16,
}

impl LocalEnv {
    pub fn new() -> LocalEnv {
        let mut env = LocalEnv {
            home: tempfile::tempdir().unwrap(),
            stack: harness::unique_name("local"),
            engine: None,
            port: 0,
        };
        env.start_engine();
        env
    }

    pub fn dir(&self) -> PathBuf {
        self.home.path().join(&self.stack)
    }

    /// Starts `waitable local run` and waits until it serves.
    pub fn start_engine(&mut self) {
        self.start_engine_with(&[]);
    }

    /// [`LocalEnv::start_engine`] with these environment variables for the engine.
    pub fn start_engine_with(&mut self, vars: &[(&str, &str)]) {
        assert!(self.engine.is_none(), "the engine is already running");
        let _ = std::fs::remove_file(self.dir().join("engine.json"));
        let child = self
            .waitable()
            .envs(vars.iter().copied())
            .args(["local", "run"])
            // Tied to this test process: the engine also stops if the test run is killed.
            .env("WAITABLE_ENGINE_TIED_TO_STDIN", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("waitable local run starts");
        let pid = child.id();
        self.engine = Some(child);
        let file = self.dir().join("engine.json");
        self.port = wait_for("the engine to serve", Duration::from_secs(20), || {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&file).ok()?).ok()?;
            (v["pid"] == pid).then(|| v["port"].as_u64().unwrap() as u16)
        });
    }

    /// The engine's pid.
    pub fn engine_pid(&self) -> u32 {
        self.engine.as_ref().expect("a running engine").id()
    }

    /// True if the engine process exits within `timeout` (it is then reaped).
    pub fn engine_exits_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let child = self.engine.as_mut().expect("an engine");
            if child.try_wait().unwrap().is_some() {
                self.engine = None;
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// SIGTERM, and waits for the engine to stop cleanly.
    pub fn stop_engine(&mut self) {
        let pid = self.engine_pid();
        harness::run_ok(Command::new("kill").args(["-TERM", &pid.to_string()]));
        assert!(self.engine_exits_within(Duration::from_secs(20)));
    }

    /// SIGKILL, as a crash would.
    pub fn kill_engine(&mut self) {
        let mut child = self.engine.take().expect("an engine to kill");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every item of GET /status, through its pages.
    pub fn status_items(&self) -> Vec<Value> {
        let mut items = Vec::new();
        let mut path = "/status?limit=1000".to_string();
        loop {
            let (code, body) = http(self.port, "GET", &path, None);
            assert_eq!(code, 200, "{body}");
            items.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["nextToken"].as_str() {
                Some(t) => path = format!("/status?limit=1000&nextToken={t}"),
                None => return items,
            }
        }
    }

    /// (event, state) history of one execution.
    pub fn history(&self, name: &str) -> Vec<(String, Option<String>)> {
        let (code, body) = http_control(
            &self.dir(),
            "GET",
            &format!("/_waitable/history/{name}"),
            None,
        );
        assert_eq!(code, 200, "{body}");
        // Each event is (event, state, at_ms, error, cause); only event and state are compared.
        type Event = (String, Option<String>, i64, Option<String>, Option<String>);
        let events: Vec<Event> = serde_json::from_value(body).unwrap();
        events.into_iter().map(|(e, s, ..)| (e, s)).collect()
    }
}

impl Drop for LocalEnv {
    fn drop(&mut self) {
        if let Some(mut child) = self.engine.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl StackEnv for LocalEnv {
    fn waitable(&self) -> Command {
        let mut cmd = harness::waitable_bare();
        cmd.env("WAITABLE_HOME", self.home.path()).args([
            "--target",
            "local",
            "--stack-name",
            &self.stack,
        ]);
        cmd
    }

    fn waitable_for(&self, stack: &str) -> Command {
        let mut cmd = harness::waitable_bare();
        cmd.env("WAITABLE_HOME", self.home.path()).args([
            "--target",
            "local",
            "--stack-name",
            stack,
        ]);
        cmd
    }

    fn start_raw_execution(&self, id: &str, input: &str) {
        let input: Value = serde_json::from_str(input).expect("raw input is JSON");
        let (code, body) = http_control(
            &self.dir(),
            "POST",
            "/_waitable/executions",
            Some(&json!({ "name": id, "input": input })),
        );
        assert_eq!(code, 200, "{body}");
    }

    fn seed_jobs(&self, records: &[Value]) {
        // In chunks: the engine, like API Gateway, refuses very large request bodies.
        for chunk in records.chunks(500) {
            let (code, body) =
                http_control(&self.dir(), "POST", "/_waitable/seed", Some(&json!(chunk)));
            assert_eq!(code, 200, "{body}");
        }
    }
}

/// Whole-second UTC timestamp `secs` from now, rounded up.
pub fn due_in(secs: i64) -> String {
    let now = chrono::Utc::now().timestamp() + 1 + secs;
    chrono::DateTime::from_timestamp(now, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn submit(env: &LocalEnv, id: &str, at: &str) {
    let (code, body) = http(
        env.port,
        "POST",
        "/",
        Some(&json!({ "StartTimestamp": at, "Id": id })),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["jobId"], id);
}

fn statuses(env: &LocalEnv) -> std::collections::BTreeMap<String, String> {
    env.status_items()
        .into_iter()
        .map(|i| {
            (
                i["Id"].as_str().unwrap().to_string(),
                i["ProcessStatus"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every job ran each state's write exactly once and its execution succeeded once.
fn assert_exactly_once(env: &LocalEnv, id: &str) {
    let history = env.history(id);
    let count = |event: &str, state: Option<&str>| {
        history
            .iter()
            .filter(|(e, s)| e == event && s.as_deref() == state)
            .count()
    };
    assert_eq!(count("ExecutionStarted", None), 1, "{id}: {history:?}");
    assert_eq!(
        count(
            "TaskSucceeded",
            Some(waitable_core::state_machine::SET_INITIAL_STATUS)
        ),
        1,
        "{id}: {history:?}"
    );
    assert_eq!(
        count("TaskSucceeded", Some("SetFinalStatus")),
        1,
        "{id}: {history:?}"
    );
    assert_eq!(count("ExecutionSucceeded", None), 1, "{id}: {history:?}");
    // 8 entries: one Choice picks the first write, whatever the input carries.
    assert_eq!(history.len(), 8, "{id}: {history:?}");
}

#[test]
fn jobs_survive_kill_9_mid_wait_and_complete_exactly_once() {
    let mut env = LocalEnv::new();
    let early = ["early-1", "early-2"];
    let late = ["late-1", "late-2", "late-3"];
    for id in early {
        submit(&env, id, &due_in(1));
    }
    for id in late {
        submit(&env, id, &due_in(4));
    }
    // The early ones complete before the crash; the late ones are mid-wait.
    wait_for("the early jobs", Duration::from_secs(20), || {
        let s = statuses(&env);
        early.iter().all(|id| s[*id] == "COMPLETED").then_some(())
    });
    let s = statuses(&env);
    assert!(late.iter().all(|id| s[*id] == "STARTED"), "{s:?}");
    env.kill_engine();
    // Stay down until the late jobs are overdue: they must fire at once on restart.
    std::thread::sleep(Duration::from_secs(5));
    env.start_engine();
    let s = wait_for("every job to complete", Duration::from_secs(20), || {
        let s = statuses(&env);
        s.values().all(|st| st == "COMPLETED").then_some(s)
    });
    assert_eq!(s.len(), 5);
    for id in early.iter().chain(late.iter()) {
        assert_exactly_once(&env, id);
    }
}

#[test]
fn kill_9_while_many_timers_fire_loses_and_repeats_nothing() {
    let mut env = LocalEnv::new();
    let at = due_in(1);
    let ids: Vec<String> = (0..300).map(|i| format!("burst-{i:03}")).collect();
    for id in &ids {
        submit(&env, id, &at);
    }
    // Kill as the burst fires (whatever has committed by then must stay, once).
    let due = chrono::DateTime::parse_from_rfc3339(&at)
        .unwrap()
        .timestamp_millis();
    let wait = due - chrono::Utc::now().timestamp_millis();
    std::thread::sleep(Duration::from_millis(wait.max(0) as u64 + 5));
    env.kill_engine();
    env.start_engine();
    wait_for("the burst to complete", Duration::from_secs(30), || {
        let s = statuses(&env);
        (s.len() == ids.len() && s.values().all(|st| st == "COMPLETED")).then_some(())
    });
    for id in &ids {
        assert_exactly_once(&env, id);
    }
}

fn curl() -> Command {
    let found = Command::new("curl").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "curl is needed for the sample's curl flow; install it (apt-get install curl)"
    );
    let mut cmd = Command::new("curl");
    cmd.args(["--silent", "--show-error", "--fail-with-body"]);
    cmd
}

#[test]
fn the_samples_curl_commands_work_unchanged() {
    let env = LocalEnv::new();
    let url = env.api_url();
    // Within Step Functions' one-year limit, whenever the test runs.
    let at = (chrono::Utc::now() + chrono::Duration::days(200))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    // The sample's POST, byte for byte (curl -d sends it form-encoded; API Gateway ignores that too).
    let out = harness::run_ok(curl().args([
        "-X",
        "POST",
        &url,
        "-d",
        &format!(r#"{{"StartTimestamp": "{at}"}}"#),
    ]));
    let posted: Value = serde_json::from_slice(&out.stdout).expect("POST / answers JSON");
    // No Id: a retry would start another job, and the answer says so, as the deployed API's does.
    assert_eq!(posted["idempotent"], false, "{posted}");
    assert!(posted["note"].as_str().unwrap().contains("Id"), "{posted}");
    let job_id = posted["jobId"].as_str().expect("jobId").to_string();
    assert!(
        posted["executionArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{job_id}")),
        "{posted}"
    );
    // A payload full of quotes must not break the JSON of GET /status.
    let tricky = json!({"StartTimestamp": at, "Id": "tricky",
        "Payload": {"note": "she said \"hi\" \\ and left', {}"}});
    let out = harness::run_ok(curl().args(["-X", "POST", &url, "-d", &tricky.to_string()]));
    let named: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(named["idempotent"], true, "{named}");
    assert!(named.get("note").is_none(), "{named}");
    let out = harness::run_ok(curl().arg(format!("{url}/status")));
    let status: Value = serde_json::from_slice(&out.stdout).expect("GET /status is valid JSON");
    let items = status["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{status}");
    let item = items
        .iter()
        .find(|i| i["Id"] == job_id.as_str())
        .expect("the job is listed");
    assert_eq!(item["StartActionAt"], at.as_str());
    assert_eq!(item["ProcessStatus"], "STARTED");
    assert!(item["LastUpdated"].as_str().unwrap().ends_with('Z'));
    // Bad bodies get a 400 with a JSON error, and nothing is started.
    for bad in [
        r#"{"StartTimestamp": "tomorrow"}"#,
        r#"{}"#,
        "not json",
        r#"{"StartTimestamp": "2030-01-01T00:00:00Z", "Id": "has space"}"#,
    ] {
        let out = curl()
            .args(["-X", "POST", &url, "-d", bad, "-w", "\n%{http_code}"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let (body, code) = text.rsplit_once('\n').unwrap();
        assert_eq!(code, "400", "{bad}: {text}");
        let err: Value = serde_json::from_str(body).unwrap();
        assert!(err["message"].is_string(), "{err}");
    }
    assert_eq!(env.status_items().len(), 2);
}

/// A start more than a year ahead, sent through POST / (the CLI refuses it before sending), is
/// recorded FAILED at once, as the deployed API's template and ValidateInput do: AWS would end
/// the execution after a year, uncatchably, with the row still STARTED.
#[test]
fn a_start_more_than_a_year_ahead_through_post_is_failed_at_once() {
    let env = LocalEnv::new();
    let at = (chrono::Utc::now() + chrono::Duration::days(400))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let body = json!({"StartTimestamp": at, "Id": "too-far"});
    let (code, answer) = http(env.port, "POST", "/", Some(&body));
    assert_eq!(code, 200, "{answer}");
    let item = wait_for("the job recorded FAILED", Duration::from_secs(20), || {
        env.status_items()
            .into_iter()
            .find(|i| i["Id"] == "too-far" && i["ProcessStatus"] == "FAILED")
    });
    assert_eq!(
        item["Error"],
        waitable_core::state_machine::ERROR_TOO_FAR_AHEAD,
        "{item}"
    );
    assert_eq!(item["StartActionAt"], at.as_str(), "{item}");
}

#[test]
fn status_pages_and_limits_like_the_api() {
    let env = LocalEnv::new();
    let records: Vec<Value> = (0..25)
        .map(|i| json!({"Id": format!("s-{i:02}"), "StartActionAt": "2030-01-01T00:00:00Z", "ProcessStatus": "COMPLETED"}))
        .collect();
    env.seed_jobs(&records);
    let (_, first) = http(env.port, "GET", "/status?limit=10", None);
    assert_eq!(first["items"].as_array().unwrap().len(), 10);
    let token = first["nextToken"].as_str().unwrap();
    let (_, second) = http(
        env.port,
        "GET",
        &format!("/status?limit=10&nextToken={token}"),
        None,
    );
    assert_eq!(second["items"][0]["Id"], "s-10");
    // The largest page, then no token.
    let (_, all) = http(env.port, "GET", "/status?limit=1000", None);
    assert_eq!(all["items"].as_array().unwrap().len(), 25);
    assert!(all.get("nextToken").is_none());
    assert_eq!(env.status_items().len(), 25);
    let (code, _) = http(env.port, "GET", "/status?nextToken=zz", None);
    assert_eq!(code, 400);
}

#[test]
fn raw_executions_with_bad_input_are_recorded_failed() {
    let env = LocalEnv::new();
    env.start_raw_execution("raw-bad", r#"{"StartTimestamp": "2030-13-45"}"#);
    let item = env
        .status_items()
        .into_iter()
        .find(|i| i["Id"] == "raw-bad")
        .unwrap();
    assert_eq!(item["ProcessStatus"], "FAILED");
    assert_eq!(item["Error"], "InvalidStartTimestamp");
}

#[test]
fn demo_runs_and_exits_zero() {
    let out = harness::run_ok(harness::waitable_bare().arg("demo"));
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.matches("COMPLETED").count(), 3, "{table}");
}

/// The library's LocalBackend: deploy starts a detached engine; a dead engine is reported and
/// deploy starts it again on the same URL, with the jobs still there; destroy removes it all.
#[test]
fn deploy_detaches_an_engine_that_destroy_stops() {
    use waitable::backend::{Backend, Deployment, JobQuery};
    use waitable::local::LocalBackend;
    use waitable_core::job::JobRequest;
    use waitable_core::payload::Payload;

    let home = tempfile::tempdir().unwrap();
    let stack = harness::unique_name("detached");
    let mut backend = LocalBackend::with_home(
        &stack,
        home.path().to_path_buf(),
        waitable::output::Ui::silent(),
    );
    backend.engine_exe = Some(PathBuf::from(env!("CARGO_BIN_EXE_waitable")));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let request = Deployment {
        template: waitable_core::template::template(&Default::default()),
        parameters: vec![],
        upload_template: false,
    };
    let dir = home.path().join(&stack);
    let engine_pid = |dir: &Path| -> u32 {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("engine.json")).unwrap())
                .unwrap();
        v["pid"].as_u64().unwrap() as u32
    };
    // Kill whatever engine is left if an assertion fails.
    struct Reaper(PathBuf);
    impl Drop for Reaper {
        fn drop(&mut self) {
            if let Ok(text) = std::fs::read_to_string(self.0.join("engine.json")) {
                let v: Value = serde_json::from_str(&text).unwrap_or_default();
                if let Some(pid) = v["pid"].as_u64() {
                    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                }
            }
        }
    }
    let _reaper = Reaper(dir.clone());

    rt.block_on(async {
        let outputs = backend.deploy(&request).await.unwrap();
        assert!(outputs.api_url.starts_with("http://127.0.0.1:"));
        assert!(
            outputs
                .state_machine_arn
                .ends_with(&format!(":stateMachine:{stack}"))
        );
        assert_eq!(backend.outputs().await.unwrap(), outputs);
        // Deploying again while it runs reloads the definition in place.
        let pid = engine_pid(&dir);
        assert_eq!(backend.deploy(&request).await.unwrap(), outputs);
        assert_eq!(engine_pid(&dir), pid);
        let job = JobRequest {
            id: "kept".into(),
            at: "2030-01-01T00:00:00Z".into(),
            payload: Some(Payload::parse(r#"{"a": [1, "x"]}"#).unwrap()),
        };
        let first = backend.submit(&job).await.unwrap();
        assert!(!first.already_submitted);
        assert!(backend.submit(&job).await.unwrap().already_submitted);
        let other = JobRequest {
            at: "2031-01-01T00:00:00Z".into(),
            ..job.clone()
        };
        assert_eq!(backend.submit(&other).await.unwrap_err().exit_code(), 1);

        // Crash the detached engine: commands say so, deploy brings it back on the same URL.
        let pid = engine_pid(&dir);
        assert!(
            Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        );
        let wait_dead = Instant::now();
        let dead = || {
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z "))
        };
        while !dead() && wait_dead.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let err = backend.outputs().await.unwrap_err();
        assert!(err.to_string().contains("not running"), "{err}");
        assert_eq!(backend.deploy(&request).await.unwrap(), outputs);
        assert_ne!(engine_pid(&dir), pid);

        let mut jobs = Vec::new();
        backend
            .jobs(&JobQuery::default(), &mut |j| {
                jobs.push(j);
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(
            jobs[0].payload.as_ref().map(Payload::as_str),
            Some(r#"{"a": [1, "x"]}"#)
        );

        let cancelled = backend.cancel("kept").await.unwrap();
        assert_eq!(cancelled.job.process_status, "CANCELLED");
        assert_eq!(backend.cancel("kept").await.unwrap_err().exit_code(), 1);
        assert_eq!(backend.cancel("nope").await.unwrap_err().exit_code(), 1);

        let report = backend.destroy().await.unwrap();
        assert!(report.existed);
        assert!(!dir.exists());
        assert!(!backend.destroy().await.unwrap().existed);
    });
}

/// POST / keeps the payload byte for byte, and refuses a payload deeper than the contract's
/// limit with a message about the payload (not "the body"), at any depth.
#[test]
fn http_post_keeps_payload_bytes_and_names_the_depth_limit() {
    let env = LocalEnv::new();
    let payload = r#"{"n":12345678901234567890123, "f": 1e2, "p": 123456789.123456789}"#;
    let body = format!(
        r#"{{"StartTimestamp": "{}", "Id": "http-bytes", "Payload": {payload}}}"#,
        due_in(3600)
    );
    let (code, answer) = http_with(env.port, "POST", "/", &[], body.clone());
    assert_eq!(code, 200, "{answer}");
    let out =
        harness::run_ok(
            env.waitable()
                .args(["status", "--id", "http-bytes", "--output", "json"]),
        );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("\"Payload\":{payload}")), "{text}");

    let nested = |n: usize| format!("{}{{}}{}", "{\"a\":".repeat(n - 1), "}".repeat(n - 1));
    for depth in [waitable_core::limits::MAX_PAYLOAD_DEPTH + 1, 127, 300] {
        let body = format!(
            r#"{{"StartTimestamp": "{}", "Payload": {}}}"#,
            due_in(3600),
            nested(depth)
        );
        let (code, answer) = http_with(env.port, "POST", "/", &[], body.clone());
        assert_eq!(code, 400, "{depth}: {answer}");
        assert!(
            answer.to_string().contains("levels deep"),
            "{depth}: {answer}"
        );
    }
}

/// The `ExpiresAt` each job's row holds, once written: read from the stack's database while
/// the engine (which locks it) is stopped, then the engine is started again.
fn expires_at_of(env: &mut LocalEnv, ids: &[&str]) -> Vec<String> {
    for id in ids {
        wait_for("the job's row", Duration::from_secs(20), || {
            // A missing Id exits 1 ("no job ..."): the row is not there yet.
            let out = env
                .waitable()
                .args(["status", "--id", id, "--output", "json"])
                .output()
                .unwrap();
            out.status.success().then_some(())
        });
    }
    env.stop_engine();
    let conn = waitable::local::store::open_read_only(&env.dir().join("waitable.db")).unwrap();
    let expiries = ids
        .iter()
        .map(|id| {
            let item = waitable::local::store::get_item(&conn, id)
                .unwrap()
                .unwrap();
            let n = item["ExpiresAt"]["N"].as_str();
            n.unwrap_or_else(|| panic!("{id}: {item:?}")).to_string()
        })
        .collect();
    drop(conn);
    env.start_engine();
    expiries
}

/// A job's row expires at its StartTimestamp plus RetentionDays, the same whether the CLI or
/// POST / submitted it; a deploy with another RetentionDays applies to new jobs, and a job
/// resubmitted after it is still the same job (ExpiresAt is derived, not compared).
#[test]
fn cli_and_post_store_the_same_expiry_from_the_stacks_retention() {
    use waitable_core::retention::{DEFAULT_RETENTION_DAYS, KEEP_FOREVER, expires_at};
    let mut env = LocalEnv::new();
    let at = due_in(3600);
    let epoch = chrono::DateTime::parse_from_rfc3339(&at)
        .unwrap()
        .timestamp();
    let cli_submit = |env: &LocalEnv, id: &str| {
        let out = harness::run_ok(
            env.waitable()
                .args(["submit", "--at", &at, "--id", id, "--output", "json"]),
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    cli_submit(&env, "ttl-cli");
    submit(&env, "ttl-post", &at);
    let expected = expires_at(epoch, DEFAULT_RETENTION_DAYS);
    assert_eq!(
        expires_at_of(&mut env, &["ttl-cli", "ttl-post"]),
        [expected.as_str(), expected.as_str()]
    );

    harness::run_ok(
        env.waitable()
            .args(["deploy", "--parameter", "RetentionDays=0"]),
    );
    cli_submit(&env, "ttl-forever");
    submit(&env, "ttl-forever-post", &at);
    // Read with the engine restarted from the stack file: the retention was kept there.
    assert_eq!(
        expires_at_of(&mut env, &["ttl-forever", "ttl-forever-post"]),
        [KEEP_FOREVER, KEEP_FOREVER]
    );
    submit(&env, "ttl-after-restart", &at);
    assert_eq!(
        expires_at_of(&mut env, &["ttl-after-restart"]),
        [KEEP_FOREVER]
    );

    // The same jobs again, now with another expiry in their input: already submitted, through
    // the CLI and through POST /, and the rows are kept as they were.
    for id in ["ttl-cli", "ttl-post"] {
        let answer = cli_submit(&env, id);
        assert_eq!(answer["alreadySubmitted"], true, "{id}: {answer}");
        submit(&env, id, &at);
    }
    assert_eq!(
        expires_at_of(&mut env, &["ttl-cli", "ttl-post"]),
        [expected.as_str(), expected.as_str()]
    );

    let out = env
        .waitable()
        .args(["deploy", "--parameter", "RetentionDays=3651"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", harness::describe(&out));
}

// The behaviour suite (tests/behaviour.rs) on the local target: the same scenarios and
// assertions as on aws (tests/jobs.rs).
#[test]
fn behaviour_completes_after_wait() {
    crate::behaviour::completes_after_wait(&LocalEnv::new());
}
#[test]
fn behaviour_submit_file_from_stdin_and_interrupted() {
    crate::behaviour_cli::submit_file_from_stdin_and_interrupted(&LocalEnv::new());
}
#[test]
fn behaviour_status_of_one_job_is_its_whole_row() {
    crate::behaviour_cli::status_of_one_job_is_its_whole_row(&LocalEnv::new());
}
#[test]
fn behaviour_receive_on_a_missing_stack_says_so() {
    crate::behaviour_cli::receive_on_a_missing_stack_says_so(&LocalEnv::new());
}
#[test]
fn behaviour_stacks_lists_the_stacks_waitable_made() {
    let mut env = LocalEnv::new();
    let row = crate::behaviour_cli::stacks_lists_the_stack(&env);
    assert!(
        row["Status"]
            .as_str()
            .unwrap()
            .starts_with("running (port "),
        "{row}"
    );
    assert_eq!(row["Jobs"], json!({"STARTED": 1}), "{row}");
    // Stopped: still listed, its jobs counted from the database.
    env.stop_engine();
    let out = harness::run_ok(env.waitable().args(["stacks", "--output", "json"]));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows,
        json!([{"StackName": env.stack, "Status": "stopped", "Jobs": {"STARTED": 1}}])
    );
}
#[test]
fn behaviour_time_zones_as_people_type_them() {
    crate::behaviour::time_zones_as_people_type_them(&LocalEnv::new());
}
#[test]
fn behaviour_relative_resubmit_is_idempotent() {
    crate::behaviour::relative_resubmit_is_idempotent(&LocalEnv::new());
}
#[test]
fn behaviour_show_tells_a_jobs_story() {
    crate::behaviour::show_tells_a_jobs_story(&LocalEnv::new());
}
#[test]
fn behaviour_scripts_can_rely_on_status() {
    crate::behaviour::scripts_can_rely_on_status(&LocalEnv::new());
}
#[test]
fn behaviour_rejects_bad_input() {
    crate::behaviour::rejects_bad_input(&LocalEnv::new());
}
#[test]
fn behaviour_resubmit_is_idempotent() {
    crate::behaviour::resubmit_is_idempotent(&LocalEnv::new());
}
#[test]
fn behaviour_payload_key_order_is_the_same_job() {
    crate::behaviour::payload_key_order_is_the_same_job(&LocalEnv::new());
}
#[test]
fn behaviour_non_object_payloads_are_refused_before_sending() {
    crate::behaviour::non_object_payloads_are_refused_before_sending(&LocalEnv::new());
}
#[test]
fn behaviour_payloads_round_trip_byte_for_byte() {
    crate::behaviour::payloads_round_trip_byte_for_byte(&LocalEnv::new());
}
#[test]
fn behaviour_deep_payloads_read_back_or_are_refused() {
    crate::behaviour::deep_payloads_read_back_or_are_refused(&LocalEnv::new());
}
#[test]
fn behaviour_failed_path_is_recorded() {
    crate::behaviour::failed_path_is_recorded(&LocalEnv::new());
}
#[test]
fn behaviour_a_fired_job_is_not_cancelled() {
    crate::behaviour::a_fired_job_is_not_cancelled(&LocalEnv::new());
}

#[test]
fn behaviour_cancel_stops_a_waiting_job() {
    crate::behaviour::cancel_stops_a_waiting_job(&LocalEnv::new());
}
#[test]
fn behaviour_bulk_cancel_selects_confirms_and_reports() {
    crate::behaviour::bulk_cancel_selects_confirms_and_reports(&LocalEnv::new());
}
#[test]
fn behaviour_watch_exits_by_how_its_jobs_ended() {
    crate::behaviour::watch_exits_by_how_its_jobs_ended(&LocalEnv::new());
}
#[test]
fn behaviour_watch_stops_on_ctrl_c_with_130() {
    crate::behaviour::watch_stops_on_ctrl_c_with_130(&LocalEnv::new());
}
/// A job that fails while `status --watch` watches it (its webhook's port is closed and the
/// stack retries no delivery): the watch sees it end FAILED and exits 1 naming it.
#[test]
fn watch_exits_1_when_a_job_fails_while_it_watches() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let env = LocalEnv::new();
    harness::run_ok(env.waitable().args([
        "deploy",
        &format!("--deliver=webhook={url}"),
        "--parameter",
        "DeliveryAttempts=0",
    ]));
    harness::run_ok(
        env.waitable()
            .args(["submit", "--at", "+2s", "--id", "watch-fails"]),
    );
    let out = env
        .waitable()
        .args(["status", "--watch", "--id", "watch-fails"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", harness::describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("STARTED") && stdout.contains("FAILED"),
        "it watched the job go from STARTED to FAILED: {stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 job ended FAILED: watch-fails"),
        "{}",
        harness::describe(&out)
    );
}

#[test]
fn behaviour_status_pages_through_everything() {
    crate::behaviour::status_pages_through_everything(&LocalEnv::new());
}

#[test]
fn behaviour_jobs_never_fire_before_their_time() {
    let lateness = crate::behaviour::jobs_never_fire_before_their_time(&LocalEnv::new());
    eprintln!("local engine {lateness}");
}

/// The README's sample POST, run as a user pastes it (`sh -c`, `$ApiUrl` set): the job waits,
/// it is not recorded FAILED for a time too far ahead.
#[test]
fn the_readmes_sample_post_starts_a_waiting_job() {
    let readme = std::fs::read_to_string(harness::repo_root().join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.contains("curl -X POST $ApiUrl"))
        .expect("the README has the sample POST");
    let command = line
        .split('`')
        .find(|part| part.starts_with("curl -X POST"))
        .expect("the POST in backticks");
    let env = LocalEnv::new();
    let out = harness::run_ok(
        Command::new("sh")
            .args(["-c", command])
            .env("ApiUrl", env.api_url()),
    );
    let posted: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", harness::describe(&out)));
    let id = posted["jobId"].as_str().expect("jobId").to_string();
    let job = wait_for("the job's row", Duration::from_secs(20), || {
        let out = env
            .waitable()
            .args(["status", "--id", &id, "--output", "json"])
            .output()
            .unwrap();
        let rows: Value = serde_json::from_slice(&out.stdout).ok()?;
        rows.get(0).cloned()
    });
    assert_eq!(job["ProcessStatus"], "STARTED", "{job}");
}
