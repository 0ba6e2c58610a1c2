//! The send pool: webhook requests run on worker threads, never on the engine thread, and
//! their outcomes come back to the engine as commands ([`Command::Delivered`]) that commit the
//! execution's next step.
//!
//! Bounded per target (scheme, host and port of the URL): at most the stack's concurrency
//! runs at once against one webhook, the rest wait in line, so a slow or hanging webhook
//! holds its own workers and no other target's. Workers are started on demand and end when
//! their line is empty.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::command::{Command, SendOutcome};
use super::deliver::Delivery;
use super::webhook::http_invoke;
use waitable_asl::Fault;

/// One request to make: the execution waiting for it, the state it waits in and the task's
/// parameters.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub execution: String,
    pub state: String,
    pub params: Value,
}

#[derive(Default)]
struct Line {
    running: usize,
    waiting: VecDeque<SendRequest>,
}

/// The workers of one engine.
pub struct Pool {
    delivery: Arc<Delivery>,
    lines: Arc<Mutex<HashMap<String, Line>>>,
    done: Sender<Command>,
}

impl Pool {
    pub fn new(delivery: Delivery, done: Sender<Command>) -> Pool {
        Pool {
            delivery: Arc::new(delivery),
            lines: Arc::default(),
            done,
        }
    }

    /// Starts `r` now if its target has a free worker, else puts it in the target's line.
    pub fn send(&self, r: SendRequest) {
        let target = target_of(&r.params);
        {
            let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
            let line = lines.entry(target.clone()).or_default();
            if line.running >= self.delivery.concurrency.max(1) {
                line.waiting.push_back(r);
                return;
            }
            line.running += 1;
        }
        let worker = Worker {
            delivery: self.delivery.clone(),
            lines: self.lines.clone(),
            done: self.done.clone(),
            target,
        };
        let first = r.clone();
        let started = std::thread::Builder::new()
            .name("webhook".into())
            .stack_size(256 * 1024)
            .spawn(move || worker.run(first));
        if let Err(e) = started {
            // No thread to be had: the request fails as a socket error would (retried by
            // the state's Retry, as on AWS).
            self.lines
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(target_of(&r.params))
                .or_default()
                .running -= 1;
            let _ = self.done.send(Command::Delivered(SendOutcome {
                execution: r.execution,
                state: r.state,
                result: Err(Fault::task(
                    "States.Http.Socket",
                    format!("no worker could be started for the request: {e}"),
                )),
            }));
        }
    }
}

struct Worker {
    delivery: Arc<Delivery>,
    lines: Arc<Mutex<HashMap<String, Line>>>,
    done: Sender<Command>,
    target: String,
}

impl Worker {
    /// Makes `first`, then whatever waits in its target's line, then ends.
    fn run(self, first: SendRequest) {
        let mut next = Some(first);
        while let Some(r) = next {
            let result = http_invoke(&self.delivery, &r.params);
            let outcome = SendOutcome {
                execution: r.execution,
                state: r.state,
                result,
            };
            if self.done.send(Command::Delivered(outcome)).is_err() {
                return; // the engine is gone; what is in flight is sent again at its restart
            }
            let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
            let line = lines.entry(self.target.clone()).or_default();
            next = line.waiting.pop_front();
            if next.is_none() {
                line.running -= 1;
                if line.running == 0 {
                    lines.remove(&self.target);
                }
            }
        }
    }
}

/// The target a request's concurrency is counted against: the URL up to its path.
fn target_of(params: &Value) -> String {
    let url = params["ApiEndpoint"].as_str().unwrap_or_default();
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::*;
    use serde_json::json;

    #[test]
    fn targets_are_the_url_up_to_its_path() {
        let t = |u: &str| target_of(&json!({ "ApiEndpoint": u }));
        assert_eq!(
            t("https://Example.com:8443/a/b?c"),
            "https://example.com:8443"
        );
        assert_eq!(t("http://h"), "http://h");
        assert_eq!(t("http://h?x=1"), "http://h");
    }

    /// A server that accepts connections and never answers.
    fn hanging() -> (String, TcpListener) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        (format!("http://{}/hook", l.local_addr().unwrap()), l)
    }

    fn request(url: &str, d: &Delivery, n: usize) -> SendRequest {
        SendRequest {
            execution: format!("e{n}"),
            state: "Deliver".into(),
            params: json!({
                "ApiEndpoint": url,
                "Authentication": { "ConnectionArn": d.connection_arn },
            }),
        }
    }

    #[test]
    fn a_hanging_target_holds_only_its_own_workers() {
        let mut d = Delivery::new("s", None);
        d.concurrency = 2;
        let (tx, rx) = mpsc::channel();
        let pool = Pool::new(d.clone(), tx);
        let (slow, _keep) = hanging();
        for n in 0..3 {
            pool.send(request(&slow, &d, n));
        }
        // Nobody listens on the other target: each request fails at once, and all of them
        // come back although the hanging target's line is full.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let fast = format!("http://127.0.0.1:{port}/x");
        let t0 = Instant::now();
        for n in 10..20 {
            pool.send(request(&fast, &d, n));
        }
        let mut back = Vec::new();
        while back.len() < 10 {
            match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
                Command::Delivered(o) => back.push(o),
                _ => unreachable!(),
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        assert!(back.iter().all(|o| o.execution.as_str() >= "e10"));
        assert!(
            back.iter()
                .all(|o| o.result.as_ref().unwrap_err().error == "States.Http.Socket")
        );
        let lines = pool.lines.lock().unwrap();
        let line = &lines[&target_of(&json!({ "ApiEndpoint": slow }))];
        assert_eq!((line.running, line.waiting.len()), (2, 1));
    }
}
