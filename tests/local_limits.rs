//! The local target's limits: the public port against idle connections (a read deadline and
//! a connection limit keep the engine's descriptors for its deliveries, its database and new
//! clients), and whose directories and engine the CLI trusts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::StackEnv;
use crate::local::{LocalEnv, due_in, http, wait_for};

/// One `POST /` on a fresh connection; None if the connection is refused or closed.
fn try_post(port: u16, id: &str) -> Option<u16> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let body = json!({"StartTimestamp": "2030-01-01T00:00:00Z", "Id": id}).to_string();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    answer.split(' ').nth(1)?.parse().ok()
}

#[test]
fn idle_connections_do_not_stall_the_engine() {
    let mut env = LocalEnv::new();
    env.stop_engine();
    // The engine under the usual Linux limit of 1,024 descriptors (hard and soft), with a
    // short read deadline for the test.
    let file = env.dir().join("engine.json");
    let _ = std::fs::remove_file(&file);
    let waitable = env.waitable();
    let mut engine = Command::new("prlimit");
    engine
        .arg("--nofile=1024:1024")
        .arg(waitable.get_program())
        .args(waitable.get_args())
        .args(["local", "run"])
        .env("WAITABLE_ENGINE_READ_TIMEOUT_MS", "3000")
        .env("WAITABLE_ENGINE_TIED_TO_STDIN", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in waitable.get_envs() {
        match v {
            Some(v) => engine.env(k, v),
            None => engine.env_remove(k),
        };
    }
    let mut child = engine.spawn().expect("prlimit starts the engine");
    let port = wait_for("the engine to serve", Duration::from_secs(20), || {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&file).ok()?).ok()?;
        v["port"].as_u64().map(|p| p as u16)
    });
    let (code, body) = http(
        port,
        "POST",
        "/",
        Some(&json!({"StartTimestamp": due_in(6), "Id": "due-soon"})),
    );
    assert_eq!(code, 200, "{body}");

    // 1,100 connections that send part of a header and then nothing.
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut idle = Vec::new();
    for _ in 0..1100 {
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            let _ = s.write_all(b"POST / HTTP/1.1\r\nHost: 127.0");
            idle.push(s);
        }
    }

    // New clients are answered again once the idle ones' deadline passes.
    let started = Instant::now();
    let answered = loop {
        if let Some(code) = try_post(port, "after-flood") {
            break Some(code);
        }
        if started.elapsed() > Duration::from_secs(60) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // Asked through the CLI, which gives up after 10 s, so a stalled engine fails the test.
    wait_for("the due job to complete", Duration::from_secs(60), || {
        let out = env
            .waitable()
            .args(["status", "--id", "due-soon", "--output", "json"])
            .output()
            .ok()?;
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        (v[0]["ProcessStatus"] == "COMPLETED").then_some(())
    });
    let alive = child.try_wait().unwrap().is_none();
    drop(idle);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(answered, Some(200), "POST / after the idle connections");
    assert!(alive, "the engine died");
}

#[test]
fn a_home_others_can_write_to_is_refused_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let set = |mode| {
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(mode)).unwrap()
    };
    for mode in [0o770, 0o777, 0o702] {
        set(mode);
        let out = crate::harness::waitable_bare()
            .env("WAITABLE_HOME", home.path())
            .args(["--target", "local", "--stack-name", "mine", "status"])
            .output()
            .unwrap();
        set(0o700);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{mode:o}: {}",
            crate::harness::describe(&out)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("writable by others"), "{mode:o}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!home.path().join("mine").exists());
    }
}

#[test]
fn the_cli_checks_the_engine_socket_is_served_by_its_own_user() {
    use std::os::unix::fs::MetadataExt;
    let env = LocalEnv::new();
    let me = std::fs::metadata(env.home.path()).unwrap().uid();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stream = tokio::net::UnixStream::connect(env.dir().join("engine.sock"))
            .await
            .unwrap();
        waitable::local::client::check_peer(&stream, me).expect("our own engine");
        let err = waitable::local::client::check_peer(&stream, me + 1).unwrap_err();
        assert!(err.to_string().contains("nothing was sent"), "{err}");
    });
}
