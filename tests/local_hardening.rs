//! The local target against a hostile machine: who may control the engine, what the
//! public port answers, and the engine's life (one engine per stack, liveness asked of the
//! engine, a missing or damaged database, a taken port). Each test is a reproduction that failed on the
//! code before the fix.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{self, StackEnv};
use crate::local::{LocalEnv, http, http_control, http_with, wait_for};

/// Runs `cmd`; None if it is still running after `timeout` (it is then killed).
fn output_within(cmd: &mut Command, timeout: Duration) -> Option<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn job_status(env: &LocalEnv, id: &str) -> String {
    env.status_items()
        .into_iter()
        .find(|i| i["Id"] == id)
        .map(|i| i["ProcessStatus"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

/// A stack deployed by the CLI (a detached engine), whose engine is killed when this drops.
struct Deployed {
    home: tempfile::TempDir,
    stack: String,
}

impl Deployed {
    fn new() -> Deployed {
        Deployed {
            home: tempfile::tempdir().unwrap(),
            stack: harness::unique_name("hard"),
        }
    }

    fn dir(&self) -> PathBuf {
        self.home.path().join(&self.stack)
    }

    fn waitable(&self) -> Command {
        let mut cmd = harness::waitable_bare();
        cmd.env("WAITABLE_HOME", self.home.path()).args([
            "--target",
            "local",
            "--stack-name",
            &self.stack,
            "--yes",
        ]);
        cmd
    }

    fn deploy(&self) -> Output {
        output_within(self.waitable().arg("deploy"), Duration::from_secs(60)).expect("deploy ends")
    }

    fn engine(&self) -> Option<(u32, u16)> {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(self.dir().join("engine.json")).ok()?)
                .ok()?;
        Some((v["pid"].as_u64()? as u32, v["port"].as_u64()? as u16))
    }
}

impl Drop for Deployed {
    fn drop(&mut self) {
        if let Some((pid, _)) = self.engine() {
            let _ = Command::new("kill")
                .args(["-CONT", &pid.to_string()])
                .status();
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

fn kill9(pid: u32) {
    harness::run_ok(Command::new("kill").args(["-9", &pid.to_string()]));
    wait_for("the engine to die", Duration::from_secs(10), || {
        let gone = !Path::new(&format!("/proc/{pid}")).exists();
        let zombie =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "));
        (gone || zombie).then_some(())
    });
}

// ---- Security -------------------------------------------------------------------------------

#[test]
fn a_web_page_cannot_destroy_seed_reload_or_start_anything() {
    let env = LocalEnv::new();
    let at = crate::local::due_in(3600);
    let (code, _) = http(
        env.port,
        "POST",
        "/",
        Some(&json!({"StartTimestamp": at, "Id": "keep"})),
    );
    assert_eq!(code, 200);
    // Reproduction: a cross-site form POST to the private routes.
    for (method, path) in [
        ("POST", "/_waitable/destroy"),
        ("POST", "/_waitable/seed"),
        ("POST", "/_waitable/reload"),
        ("POST", "/_waitable/executions"),
        ("POST", "/_waitable/cancel"),
        ("GET", "/_waitable/jobs"),
        ("GET", "/_waitable/health"),
    ] {
        let body = match path {
            "/_waitable/seed" => {
                r#"[{"Id": "forged", "StartActionAt": "2030-01-01T00:00:00Z", "ProcessStatus": "COMPLETED"}]"#
            }
            "/_waitable/reload" => r#"{"definition": "{}"}"#,
            "/_waitable/executions" => r#"{"name": "x", "input": {}}"#,
            "/_waitable/cancel" => r#"{"Id": "keep"}"#,
            _ => "",
        };
        for headers in [
            &["Origin: http://evil.example", "Content-Type: text/plain"][..],
            &[][..],
        ] {
            let (code, answer) = http_with(env.port, method, path, headers, body.into());
            assert!(
                code == 404 || code == 403,
                "{method} {path} {headers:?} answered {code}: {answer}"
            );
            assert!(answer["message"].is_string(), "{answer}");
        }
    }
    assert_eq!(job_status(&env, "keep"), "STARTED", "the engine still runs");
    assert!(!env.status_items().iter().any(|i| i["Id"] == "forged"));
    // A page on another origin cannot submit either, nor can a DNS-rebinding page.
    let job = r#"{"StartTimestamp": "2030-01-01T00:00:00Z", "Id": "from-page"}"#;
    for headers in [
        &["Origin: http://evil.example", "Content-Type: text/plain"][..],
        &["Origin: null"][..],
        &["Sec-Fetch-Site: cross-site"][..],
    ] {
        let (code, answer) = http_with(env.port, "POST", "/", headers, job.into());
        assert_eq!(code, 403, "{headers:?}: {answer}");
        assert_eq!(answer["error"], "Forbidden");
    }
    assert!(!env.status_items().iter().any(|i| i["Id"] == "from-page"));
}

#[test]
fn only_the_stack_directory_s_owner_controls_the_engine() {
    use std::os::unix::fs::PermissionsExt;
    let env = LocalEnv::new();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.dir().join("engine.sock")), 0o600);
    assert_eq!(mode(&env.dir()), 0o700);
    // Names follow the Id rule on the control socket too: the CLI can cancel every job.
    let (code, answer) = http_control(
        &env.dir(),
        "POST",
        "/_waitable/executions",
        Some(&json!({"name": "../../x y", "input": {}})),
    );
    assert_eq!(code, 400, "{answer}");
    assert_eq!(answer["error"], "InvalidName");
    assert!(env.status_items().is_empty());
}

// ---- Errors are JSON, bodies are bounded (items 5 and 6) -------------------------------------

#[test]
fn every_error_is_json_and_post_bodies_are_bounded() {
    let env = LocalEnv::new();
    let big = |n: usize| {
        json!({"StartTimestamp": "2030-01-01T00:00:00Z", "Id": format!("big-{n}"),
               "Payload": {"pad": "x".repeat(n)}})
        .to_string()
    };
    let (code, answer) = http_with(env.port, "POST", "/", &[], big(300 * 1024));
    assert_eq!(code, 413, "{answer}");
    assert_eq!(answer["error"], "PayloadTooLarge");
    let (code, answer) = http_with(env.port, "POST", "/", &[], big(200 * 1024));
    assert_eq!(code, 200, "{answer}");
    for (method, path, want) in [
        ("GET", "/", 405),
        ("DELETE", "/status", 405),
        ("GET", "/nowhere", 404),
        ("GET", "/status?limit=0", 400),
        ("GET", "/status?limit=-1", 400),
        ("GET", "/status?limit=1001", 400),
        ("GET", "/status?limit=abc", 400),
    ] {
        // `http` panics on a body that is not JSON.
        let (code, answer) = http(env.port, method, path, None);
        assert_eq!(code, want, "{method} {path}: {answer}");
        assert!(answer["message"].is_string(), "{method} {path}: {answer}");
    }
    let (code, _) = http(env.port, "GET", "/status?limit=1000", None);
    assert_eq!(code, 200);
}

// ---- The engine's life (items 7 to 11) --------------------------------------------------------

#[test]
fn parallel_deploys_of_one_stack_all_succeed_with_one_engine() {
    // Three rounds of eight at once: the old code failed about half of such rounds.
    for _ in 0..3 {
        let stack = Deployed::new();
        let children: Vec<_> = (0..8)
            .map(|_| {
                stack
                    .waitable()
                    .arg("deploy")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        for out in &outputs {
            assert!(out.status.success(), "{}", harness::describe(out));
        }
        let (_, port) = stack.engine().expect("an engine runs");
        for out in &outputs {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        }
        let left: Vec<_> = std::fs::read_dir(stack.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with(".tmp") || n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
        let out = output_within(stack.waitable().arg("destroy"), Duration::from_secs(30)).unwrap();
        assert!(out.status.success(), "{}", harness::describe(&out));
    }
}

#[test]
fn a_second_engine_cannot_open_a_stack_whose_files_were_deleted() {
    let env = LocalEnv::new();
    // Everything but the database: the lock lives with the database.
    for f in ["engine.lock", "engine.json", "engine.sock"] {
        let _ = std::fs::remove_file(env.dir().join(f));
    }
    let out = output_within(
        env.waitable().args(["local", "run"]),
        Duration::from_secs(15),
    )
    .expect("a second engine refuses to start, it does not run");
    assert_eq!(out.status.code(), Some(1), "{}", harness::describe(&out));
    assert!(stderr(&out).contains("already running"), "{}", stderr(&out));
    // The CLI says what happened rather than "not running", and destroy does not orphan it.
    let out = output_within(env.waitable().arg("status"), Duration::from_secs(15)).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot be reached"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn liveness_is_asked_of_the_engine_not_read_from_a_file() {
    let mut env = LocalEnv::new();
    std::fs::remove_file(env.dir().join("engine.json")).unwrap();
    let out = output_within(env.waitable().arg("status"), Duration::from_secs(15)).unwrap();
    assert!(out.status.success(), "{}", harness::describe(&out));
    std::fs::write(env.dir().join("engine.json"), "{not json").unwrap();
    let out = output_within(env.waitable().arg("status"), Duration::from_secs(15)).unwrap();
    assert!(out.status.success(), "{}", harness::describe(&out));
    // destroy stops the engine it cannot read a pid file of.
    let out = output_within(
        env.waitable().args(["destroy", "--yes"]),
        Duration::from_secs(30),
    )
    .unwrap();
    assert!(out.status.success(), "{}", harness::describe(&out));
    assert!(env.engine_exits_within(Duration::from_secs(15)));
    assert!(!env.dir().exists());
}

#[test]
fn a_paused_engine_makes_commands_fail_within_ten_seconds() {
    let env = LocalEnv::new();
    let pid = env.engine_pid().to_string();
    harness::run_ok(Command::new("kill").args(["-STOP", &pid]));
    let started = Instant::now();
    let out = output_within(env.waitable().arg("status"), Duration::from_secs(40));
    harness::run_ok(Command::new("kill").args(["-CONT", &pid]));
    let out = out.expect("status does not hang on a paused engine");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(out.status.code(), Some(1), "{}", harness::describe(&out));
    assert!(
        stderr(&out).contains("did not answer within 10 s"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_deleted_database_is_named_with_the_way_out() {
    let mut env = LocalEnv::new();
    env.stop_engine();
    for f in ["waitable.db", "waitable.db-wal", "waitable.db-shm"] {
        let _ = std::fs::remove_file(env.dir().join(f));
    }
    for args in [&["local", "run"][..], &["deploy"][..]] {
        let out = output_within(
            env.waitable().args(args).arg("--yes"),
            Duration::from_secs(20),
        )
        .expect("the engine does not start on an empty database");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            harness::describe(&out)
        );
        let text = stderr(&out);
        assert!(text.contains("is missing"), "{args:?}: {text}");
        assert!(text.contains("waitable destroy"), "{args:?}: {text}");
    }
    assert!(!env.dir().join("waitable.db").exists());
}

#[test]
fn a_damaged_database_names_the_cause_and_the_way_out() {
    let mut env = LocalEnv::new();
    let records: Vec<Value> = (0..300)
        .map(|i| json!({"Id": format!("d-{i:03}"), "StartActionAt": "2030-01-01T00:00:00Z", "ProcessStatus": "COMPLETED", "Payload": "x".repeat(200)}))
        .collect();
    env.seed_jobs(&records);
    env.stop_engine();
    // Pages after the first (the schema) overwritten: SQLite opens it, the data is garbage.
    let db = env.dir().join("waitable.db");
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 8192, "{}", bytes.len());
    for b in &mut bytes[4096..] {
        *b = 0x5a;
    }
    std::fs::write(&db, bytes).unwrap();
    let out = output_within(
        env.waitable().args(["local", "run"]),
        Duration::from_secs(20),
    )
    .expect("the engine does not run on a damaged database");
    assert_eq!(out.status.code(), Some(1), "{}", harness::describe(&out));
    let text = stderr(&out);
    assert!(text.contains("cannot be used"), "{text}");
    assert!(text.contains("waitable destroy"), "{text}");
}

#[test]
fn a_taken_port_at_restart_is_said_out_loud() {
    let stack = Deployed::new();
    let out = stack.deploy();
    assert!(out.status.success(), "{}", harness::describe(&out));
    let (pid, _) = stack.engine().unwrap();
    kill9(pid);
    // Another program takes the stack's port while the engine is down. (Binding the dead
    // engine's own port races with every connection this test process opens meanwhile, so
    // the stack's recorded port is pointed at one held here instead.)
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let stack_file = stack.dir().join("stack.json");
    let mut recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(&stack_file).unwrap()).unwrap();
    recorded["port"] = json!(port);
    std::fs::write(&stack_file, recorded.to_string()).unwrap();
    let out = stack.deploy();
    assert!(out.status.success(), "{}", harness::describe(&out));
    let text = stderr(&out);
    assert!(
        text.contains(&format!("port {port} is taken")) && text.contains("ApiUrl changed"),
        "{text}"
    );
    let out = output_within(stack.waitable().arg("destroy"), Duration::from_secs(30)).unwrap();
    assert!(out.status.success(), "{}", harness::describe(&out));
}

#[test]
fn local_run_on_a_taken_port_leaves_nothing_behind() {
    let stack = Deployed::new();
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = output_within(
        stack.waitable().args(["local", "run", "--port", &port]),
        Duration::from_secs(20),
    )
    .expect("local run stops at once");
    assert_eq!(out.status.code(), Some(1), "{}", harness::describe(&out));
    assert!(stderr(&out).contains(&format!("127.0.0.1:{port}")));
    assert!(!stack.dir().exists(), "no stack directory is left behind");
}
