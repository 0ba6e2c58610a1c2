//! The local engine's deliveries off its commit path: a slow or hanging webhook holds up no
//! command and no other job, a crash repeats only the requests in flight, and the step after a
//! request is timed from its answer.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::harness::{StackEnv, run_ok, unique_name};
use crate::local::{LocalEnv, http};

/// How long one webhook request may take in these tests (AWS's 60 s otherwise).
const HTTP_TIMEOUT_MS: &str = "2000";

/// A webhook receiver on 127.0.0.1 that answers 200 at once, except the first request for
/// the job `hang` (by the Id in its body), which it holds unanswered for a minute.
struct Hook {
    url: String,
    /// (arrival, job Id) of every request.
    seen: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Hook {
    fn start(hang: &str) -> Hook {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, hang) = (seen.clone(), hang.to_string());
        std::thread::spawn(move || {
            for stream in l.incoming() {
                let Ok(stream) = stream else { continue };
                let (s, hang) = (s.clone(), hang.clone());
                std::thread::spawn(move || serve(stream, &hang, &s));
            }
        });
        Hook { url, seen }
    }

    fn ids(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, id)| id.clone())
            .collect()
    }

    fn arrivals(&self, id: &str) -> Vec<Instant> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(_, i)| i == id)
            .map(|(t, _)| *t)
            .collect()
    }
}

fn serve(stream: TcpStream, hang: &str, seen: &Mutex<Vec<(Instant, String)>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let id = serde_json::from_slice::<Value>(&body).unwrap()["Id"]
            .as_str()
            .unwrap()
            .to_string();
        let first = {
            let mut s = seen.lock().unwrap();
            let first = !s.iter().any(|(_, i)| *i == id);
            s.push((Instant::now(), id.clone()));
            first
        };
        if first && id == hang {
            std::thread::sleep(Duration::from_secs(60));
            return;
        }
        let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    }
}

/// A local stack delivering to `hook`, its engine giving a request `timeout_ms`.
fn delivering_to(hook: &Hook, timeout_ms: &str) -> LocalEnv {
    let mut env = LocalEnv::new();
    run_ok(
        env.waitable()
            .args(["deploy", &format!("--deliver=webhook={}", hook.url)]),
    );
    env.stop_engine();
    env.start_engine_with(&[("WAITABLE_LOCAL_HTTP_TIMEOUT_MS", timeout_ms)]);
    env
}

fn jobs(env: &LocalEnv) -> HashMap<String, Value> {
    let out = run_ok(
        env.waitable()
            .args(["status", "--output", "json", "--quiet"]),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v
        .as_array()
        .cloned()
        .or_else(|| v["items"].as_array().cloned());
    items
        .unwrap_or_default()
        .into_iter()
        .map(|j| (j["Id"].as_str().unwrap().to_string(), j))
        .collect()
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn submit_file(env: &LocalEnv, lines: &[String]) {
    let file = env
        .home
        .path()
        .join(format!("{}.jsonl", unique_name("jobs")));
    std::fs::write(&file, lines.join("\n")).unwrap();
    run_ok(
        env.waitable()
            .args(["submit", "--quiet", "--file", file.to_str().unwrap()]),
    );
}

fn due_in(secs: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .into()
}

#[test]
fn a_hanging_webhook_holds_up_no_command_and_no_other_job() {
    let hook = Hook::start("hang");
    let env = delivering_to(&hook, HTTP_TIMEOUT_MS);
    let at = due_in(2);
    submit_file(&env, &[format!(r#"{{"id": "hang", "at": "{at}"}}"#)]);
    wait_until("the hanging request", Duration::from_secs(10), || {
        hook.ids().contains(&"hang".to_string())
    });
    // While the request hangs: the API answers at once, and a job due now is delivered.
    let t0 = Instant::now();
    let (code, body) = http(env.port, "GET", "/status", None);
    assert_eq!(code, 200, "{body}");
    let late = due_in(1);
    let (code, body) = http(
        env.port,
        "POST",
        "/",
        Some(&serde_json::json!({ "StartTimestamp": late, "Id": "other" })),
    );
    assert_eq!(code, 200, "{body}");
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "{:?}",
        t0.elapsed()
    );
    wait_until("the other job", Duration::from_secs(4), || {
        hook.ids().contains(&"other".to_string())
    });
    assert_eq!(hook.arrivals("hang").len(), 1, "still hanging");

    // The hanging request times out, is retried, and the job is delivered then: DeliveredAt
    // says when (the back-off's start is tested on a virtual clock in the engine's tests).
    wait_until(
        "the hanging job's delivery",
        Duration::from_secs(20),
        || jobs(&env)["hang"]["ProcessStatus"] == "COMPLETED",
    );
    let tries = hook.arrivals("hang");
    assert_eq!(tries.len(), 2, "{tries:?}");
    let timeout = Duration::from_millis(HTTP_TIMEOUT_MS.parse().unwrap());
    assert!(
        tries[1] - tries[0] >= timeout,
        "the retry came {:?} after the first request",
        tries[1] - tries[0]
    );
    let job = &jobs(&env)["hang"];
    let fired = time(&job["StartActionAt"]);
    let delivered = time(&job["DeliveredAt"]);
    assert!(
        delivered - fired >= chrono::Duration::from_std(timeout).unwrap(),
        "{job}"
    );
}

/// `kill -9` while 100 deliveries run, one of them hanging: after the restart every job is
/// delivered, and only requests that were in flight are made twice.
#[test]
fn a_crash_during_deliveries_repeats_only_the_requests_in_flight() {
    let hook = Hook::start("c000");
    // The hanging request stays in flight until the crash (AWS's 60 s), and after the
    // restart, its second try is answered.
    let mut env = delivering_to(&hook, "60000");
    let at = due_in(3);
    let lines: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"id": "c{i:03}", "at": "{at}"}}"#))
        .collect();
    submit_file(&env, &lines);
    // The answered requests' steps have committed: only the hanging one is in flight.
    wait_until("99 deliveries", Duration::from_secs(30), || {
        let j = jobs(&env);
        j.values()
            .filter(|j| j["ProcessStatus"] == "COMPLETED")
            .count()
            == 99
    });
    assert_eq!(hook.ids().len(), 100);
    env.kill_engine();
    env.start_engine_with(&[("WAITABLE_LOCAL_HTTP_TIMEOUT_MS", HTTP_TIMEOUT_MS)]);
    wait_until("every job delivered", Duration::from_secs(30), || {
        let j = jobs(&env);
        j.len() == 100 && j.values().all(|j| j["ProcessStatus"] == "COMPLETED")
    });
    let mut counts: HashMap<String, usize> = HashMap::new();
    for id in hook.ids() {
        *counts.entry(id).or_default() += 1;
    }
    assert_eq!(counts.len(), 100);
    let twice: Vec<&String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    assert!(counts.values().all(|n| *n <= 2), "{counts:?}");
    assert_eq!(
        twice,
        [&"c000".to_string()],
        "only the request in flight is made again"
    );
}

/// The database file deleted under a running engine: the engine notices and stops, rather
/// than acknowledge writes into a file nobody will open again.
#[test]
fn an_engine_whose_database_is_deleted_stops() {
    let mut env = LocalEnv::new();
    run_ok(env.waitable().arg("deploy"));
    std::fs::remove_file(env.dir().join("waitable.db")).unwrap();
    assert!(
        env.engine_exits_within(Duration::from_secs(10)),
        "the engine kept running without its database"
    );
}

/// A webhook answering 2xx with a binary type: the HTTP Task's `States.Runtime`, and the job
/// is recorded FAILED with a reason naming the type.
#[test]
fn a_binary_webhook_answer_fails_the_job_naming_its_type() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let _ = stream.read(&mut buf);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: 4\r\nconnection: close\r\n\r\n.PNG"
                );
            });
        }
    });
    let env = LocalEnv::new();
    run_ok(
        env.waitable()
            .args(["deploy", &format!("--deliver=webhook={url}")]),
    );
    submit_file(
        &env,
        &[format!(r#"{{"id": "png", "at": "{}"}}"#, due_in(1))],
    );
    wait_until("the job's end", Duration::from_secs(20), || {
        jobs(&env)
            .get("png")
            .is_some_and(|j| j["ProcessStatus"] != "STARTED")
    });
    let job = &jobs(&env)["png"];
    assert_eq!(job["ProcessStatus"], "FAILED", "{job}");
    let error = job["Error"].as_str().unwrap();
    assert!(
        error.contains("States.Runtime") && error.contains("image/png"),
        "{error}"
    );
}

/// `receive --max N` over the engine's 1,000 per call reads on until N (or the queue is empty).
#[test]
fn receive_over_a_thousand_reads_until_it_has_them() {
    let env = LocalEnv::new();
    run_ok(env.waitable().args(["deploy", "--deliver=queue"]));
    let at = due_in(2);
    let lines: Vec<String> = (0..1100)
        .map(|i| format!(r#"{{"id": "q{i:04}", "at": "{at}"}}"#))
        .collect();
    submit_file(&env, &lines);
    wait_until("1,100 deliveries", Duration::from_secs(60), || {
        jobs(&env)
            .values()
            .filter(|j| j["ProcessStatus"] == "COMPLETED")
            .count()
            == 1100
    });
    let out = run_ok(
        env.waitable()
            .args(["receive", "--output", "json", "--max", "1100"]),
    );
    let got: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got.len(), 1100);
}
