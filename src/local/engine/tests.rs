use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::oneshot;

use super::super::{http_contract, store};
use super::command::Reply;
use super::*;
use waitable_asl::Cursor;
use waitable_core::job::{JobRecord, Submitted};

fn definition() -> String {
    waitable_core::state_machine::resolved("jobs", "aws")
}

struct Running {
    handle: Handle,
    thread: std::thread::JoinHandle<()>,
}

fn start(db: &std::path::Path) -> Running {
    start_with(db, &definition())
}

fn start_with(db: &std::path::Path, definition: &str) -> Running {
    if !db.exists() {
        store::create(db).unwrap();
    }
    let conn = store::open(db).unwrap();
    let engine = Engine::new(conn, StackNames::new("s", "jobs"), definition).unwrap();
    let (tx, rx) = mpsc::channel();
    let done = tx.clone();
    let thread = std::thread::spawn(move || engine.run(done, rx, || {}));
    Running {
        handle: Handle { tx },
        thread,
    }
}

impl Running {
    fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.handle.tx.send(make(reply)).unwrap();
        rx.blocking_recv().unwrap()
    }

    fn stop(self) {
        self.handle.tx.send(Command::Stop).unwrap();
        self.thread.join().unwrap();
    }

    fn submit(&self, id: &str, at: &str) -> Result<Submitted, EngineError> {
        let input = json!({"StartTimestamp": at});
        self.ask(|reply| Command::Submit {
            request: Submit {
                name: id.into(),
                input,
                as_api: false,
            },
            reply,
        })
    }

    fn job(&self, id: &str) -> Option<JobRecord> {
        let page = self
            .ask(|reply| Command::Page {
                after: None,
                limit: 1000,
                index: None,
                reply,
            })
            .unwrap();
        page.items
            .iter()
            .filter_map(http_contract::job_from_item)
            .find(|j| j.id == id)
    }
}

/// Due in 300 days: far enough never to come during a test, and within Step Functions' one-year
/// limit on an execution (a wait past it fails, as on AWS).
static FUTURE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    waitable_core::time_input::format_utc(chrono::Utc::now() + chrono::Duration::days(300))
});
const PAST: &str = "2001-01-01T00:00:00Z";

#[test]
fn submit_records_started_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(&dir.path().join("db"));
    let first = e.submit("a", &FUTURE).unwrap();
    assert!(!first.already_submitted);
    assert_eq!(
        first.execution_arn,
        "arn:aws:states:local:000000000000:execution:s:a"
    );
    assert_eq!(e.job("a").unwrap().process_status, "STARTED");
    assert!(e.submit("a", &FUTURE).unwrap().already_submitted);
    let err = e.submit("a", "2098-01-01T00:00:00Z").unwrap_err();
    assert!(matches!(err, EngineError::AlreadyExists { .. }), "{err}");
    e.stop();
}

#[test]
fn an_overdue_job_completes_and_history_shows_one_final_write() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(&dir.path().join("db"));
    e.submit("old", PAST).unwrap();
    // The submit ran the first states; the overdue wait fires on the engine's next turn.
    let mut job = e.job("old").unwrap();
    for _ in 0..100 {
        if job.process_status == "COMPLETED" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        job = e.job("old").unwrap();
    }
    assert_eq!(job.process_status, "COMPLETED");
    let history = e
        .ask(|reply| Command::History {
            name: "old".into(),
            reply,
        })
        .unwrap();
    let finals = history
        .iter()
        .filter(|(ev, st)| ev == "TaskSucceeded" && st.as_deref() == Some("SetFinalStatus"))
        .count();
    assert_eq!(finals, 1, "{history:?}");
    assert_eq!(history.last().unwrap().0, "ExecutionSucceeded");
    e.stop();
}

#[test]
fn cancel_only_a_started_job() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(&dir.path().join("db"));
    e.submit("w", &FUTURE).unwrap();
    let rec = e
        .ask(|reply| Command::Cancel {
            id: "w".into(),
            reply,
        })
        .unwrap();
    assert_eq!(rec.process_status, "CANCELLED");
    let again = e
        .ask(|reply| Command::Cancel {
            id: "w".into(),
            reply,
        })
        .unwrap_err();
    assert!(
        matches!(again, EngineError::JobNotWaiting { .. }),
        "{again}"
    );
    let missing = e
        .ask(|reply| Command::Cancel {
            id: "nope".into(),
            reply,
        })
        .unwrap_err();
    assert_eq!(missing, EngineError::JobNotFound("nope".into()));
    e.stop();
}

#[test]
fn bad_input_is_recorded_as_failed() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(&dir.path().join("db"));
    let input = json!({"StartTimestamp": "not a time"});
    e.ask(|reply| Command::Submit {
        request: Submit {
            name: "bad".into(),
            input,
            as_api: false,
        },
        reply,
    })
    .unwrap();
    let job = e.job("bad").unwrap();
    assert_eq!(job.process_status, "FAILED");
    assert_eq!(job.error.as_deref(), Some("InvalidStartTimestamp"));
    e.stop();
}

#[test]
fn a_restarted_engine_resumes_waiting_executions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let e = start(&db);
    // Due in the past from the second engine's point of view: written as a future wait by
    // hand-editing the due time (no sleeping in tests).
    e.submit("r", &FUTURE).unwrap();
    e.stop();
    let conn = store::open(&db).unwrap();
    conn.execute("UPDATE executions SET due_ms = 0 WHERE name = 'r'", [])
        .unwrap();
    let cursor: Cursor = serde_json::from_str(
        &conn
            .query_row("SELECT cursor FROM executions WHERE name = 'r'", [], |r| {
                r.get::<_, String>(0)
            })
            .unwrap(),
    )
    .unwrap();
    assert_eq!(cursor.state, "WaitUntil");
    assert!(cursor.waited);
    drop(conn);
    let e = start(&db);
    let mut status = String::new();
    for _ in 0..100 {
        status = e.job("r").unwrap().process_status;
        if status == "COMPLETED" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(status, "COMPLETED");
    e.stop();
}

#[test]
fn destroy_cancels_every_waiting_job() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(&dir.path().join("db"));
    e.submit("x", &FUTURE).unwrap();
    e.submit("y", &FUTURE).unwrap();
    let n = e.ask(|reply| Command::Destroy { reply }).unwrap();
    assert_eq!(n, 2);
    e.thread.join().unwrap();
}

/// An execution that fails where the job's own states cannot record it (here a Fail standing
/// for an uncatchable States.Runtime after the first write) moves its row out of STARTED, as
/// the reconcile does on AWS.
#[test]
fn an_execution_that_fails_uncaught_leaves_no_job_started() {
    let dir = tempfile::tempdir().unwrap();
    let mut def: serde_json::Value = serde_json::from_str(&definition()).unwrap();
    def["States"]["WaitUntil"] =
        json!({"Type": "Fail", "Error": "States.Runtime", "Cause": "simulated"});
    let e = start_with(&dir.path().join("db"), &def.to_string());
    e.submit("a", &FUTURE).unwrap();
    let job = e.job("a").unwrap();
    let (status, error) = waitable_core::reconcile_machine::outcome("FAILED").unwrap();
    assert_eq!(job.process_status, status.as_str());
    assert_eq!(job.error.as_deref(), Some(error));
    // A job the state machine recorded itself keeps its own status and error.
    e.submit("bad", "soon").unwrap();
    let job = e.job("bad").unwrap();
    assert_eq!(job.process_status, "FAILED");
    assert_eq!(job.error.as_deref(), Some("InvalidStartTimestamp"));
    e.stop();
}
