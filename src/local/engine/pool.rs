//! The send pool: webhook requests run as tasks on the pool's own runtime (one thread named
//! `webhook`), never on the engine thread, and their outcomes come back to the engine as
//! commands ([`Command::Delivered`]) that commit the execution's next step.
//!
//! Bounded per target (scheme, host and port of the URL): each webhook has its own line
//! (`line`), at most the stack's concurrency at once and fewer while fewer keep up, so a slow
//! or hanging webhook holds its own places and no other target's. A waiting request costs a
//! task, not a thread: a burst of a thousand due jobs is a thousand tasks on one thread,
//! which leaves the other core to the engine.

use std::collections::HashMap;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::command::{Command, SendOutcome};
use super::deliver::Delivery;
use super::line::Line;
use super::webhook::{HttpClient, http_invoke};

/// One request to make: the execution waiting for it, the state it waits in and the task's
/// parameters.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub execution: String,
    pub state: String,
    pub params: Value,
}

/// The send pool of one engine. Dropped, it drops the requests in flight (made again when
/// the engine restarts: at least once).
pub struct Pool {
    runtime: Option<tokio::runtime::Runtime>,
    client: HttpClient,
    delivery: Arc<Delivery>,
    /// Each target's places (see the module's documentation).
    lines: Mutex<HashMap<String, Arc<Line>>>,
    done: Sender<Command>,
}

impl Pool {
    /// Starts the pool's thread; `client` makes the requests, `done` takes their outcomes.
    pub fn new(
        delivery: Delivery,
        client: HttpClient,
        done: Sender<Command>,
    ) -> std::io::Result<Pool> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("webhook")
            .enable_all()
            .build()?;
        Ok(Pool {
            runtime: Some(runtime),
            client,
            delivery: Arc::new(delivery),
            lines: Mutex::default(),
            done,
        })
    }

    /// Starts `r`: at once if its target has a free place, else when one frees up.
    pub fn send(&self, r: SendRequest) {
        let line = self.line(&target_of(&r.params));
        let (client, delivery, done) = (
            self.client.clone(),
            self.delivery.clone(),
            self.done.clone(),
        );
        let Some(runtime) = &self.runtime else { return };
        runtime.spawn(async move {
            let place = line.place().await;
            let result = http_invoke(&client, &delivery, &r.params).await;
            line.done(place);
            // An engine that is gone sends what was in flight again at its restart.
            let _ = done.send(Command::Delivered(SendOutcome {
                execution: r.execution,
                state: r.state,
                result,
            }));
        });
    }

    fn line(&self, target: &str) -> Arc<Line> {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines
            .entry(target.to_string())
            .or_insert_with(|| Arc::new(Line::new(self.delivery.concurrency)))
            .clone()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Without waiting for a hanging request: the engine is stopping.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
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
    fn a_hanging_target_holds_only_its_own_places() {
        let mut d = Delivery::new("s", None);
        d.concurrency = 2;
        let (tx, rx) = mpsc::channel();
        let pool = Pool::new(d.clone(), super::super::webhook::client(4), tx).unwrap();
        let (slow, _keep) = hanging();
        for n in 0..3 {
            pool.send(request(&slow, &d, n));
        }
        // Nobody listens on the other target: each request fails at once, and all of them
        // come back although the hanging target's places are taken.
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
        let line = pool.line(&target_of(&json!({ "ApiEndpoint": slow })));
        assert_eq!(line.free(), 0);
        assert!(
            rx.try_recv().is_err(),
            "the hanging target's requests are still out"
        );
    }

    #[test]
    fn a_request_that_gets_no_answer_fails_after_the_timeout_and_frees_its_place() {
        let mut d = Delivery::new("s", None);
        d.concurrency = 1;
        d.timeout = Duration::from_millis(200);
        let (tx, rx) = mpsc::channel();
        let pool = Pool::new(d.clone(), super::super::webhook::client(4), tx).unwrap();
        let (slow, _keep) = hanging();
        for n in 0..2 {
            pool.send(request(&slow, &d, n));
        }
        for _ in 0..2 {
            match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
                Command::Delivered(o) => {
                    let f = o.result.unwrap_err();
                    assert_eq!(f.error, "States.Http.Socket");
                    assert!(f.cause.contains("no answer within 0.2 s"), "{}", f.cause);
                }
                _ => unreachable!(),
            }
        }
    }
}
