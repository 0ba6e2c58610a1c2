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

/// An engine on a new database in `dir`, not running: its steps are taken by hand (a
/// virtual clock).
fn engine_in(dir: &tempfile::TempDir, definition: &str) -> Engine {
    let db = dir.path().join("db");
    store::create(&db).unwrap();
    Engine::new(
        store::open(&db).unwrap(),
        StackNames::new("s", "jobs"),
        definition,
    )
    .unwrap()
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
        let input = waitable_core::job::execution_input(at, None, 90);
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
        .filter(|(ev, st, ..)| ev == "TaskSucceeded" && st.as_deref() == Some("SetFinalStatus"))
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
    // The same reason `waitable reconcile` records from DescribeExecution: one rule.
    let (status, reason) = waitable_core::reconcile_machine::outcome_with_detail(
        "FAILED",
        Some("States.Runtime"),
        Some("simulated"),
    )
    .unwrap();
    assert_eq!(job.process_status, status.as_str());
    assert_eq!(job.error.as_deref(), Some(reason.as_str()));
    assert!(reason.ends_with("[States.Runtime: simulated]"), "{reason}");
    // A job the state machine recorded itself keeps its own status and error.
    e.submit("bad", "soon").unwrap();
    let job = e.job("bad").unwrap();
    assert_eq!(job.process_status, "FAILED");
    assert_eq!(job.error.as_deref(), Some("InvalidStartTimestamp"));
    e.stop();
}

/// A command whose caller gave up is never run: a destroy past its deadline and a cancel
/// whose caller went away leave every job as it was, and the engine keeps running.
#[test]
fn a_destroy_and_a_cancel_that_timed_out_change_nothing_ever() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(&dir.path().join("db"));
    e.submit("x", &FUTURE).unwrap();
    e.submit("y", &FUTURE).unwrap();
    let late = super::now_ms() - 1;
    let err = e
        .ask(|reply| Command::Until {
            deadline_ms: late,
            command: Box::new(Command::Destroy { reply }),
        })
        .unwrap_err();
    assert_eq!(err, EngineError::GaveUp);
    let err = e
        .ask(|reply| Command::Until {
            deadline_ms: late,
            command: Box::new(Command::Cancel {
                id: "x".into(),
                reply,
            }),
        })
        .unwrap_err();
    assert_eq!(err, EngineError::GaveUp);
    // A caller that went away before the engine came to its command.
    let (reply, rx) = oneshot::channel();
    drop(rx);
    e.handle
        .tx
        .send(Command::Cancel {
            id: "y".into(),
            reply,
        })
        .unwrap();
    let (reply, rx) = oneshot::channel();
    drop(rx);
    e.handle.tx.send(Command::Destroy { reply }).unwrap();
    // Later commands are answered by the same engine, and the jobs still wait.
    std::thread::sleep(Duration::from_millis(200));
    assert!(e.submit("z", &FUTURE).is_ok());
    for id in ["x", "y", "z"] {
        assert_eq!(e.job(id).unwrap().process_status, "STARTED", "{id}");
    }
    // A deadline still ahead runs the command.
    let n = e
        .ask(|reply| Command::Until {
            deadline_ms: super::now_ms() + 60_000,
            command: Box::new(Command::Destroy { reply }),
        })
        .unwrap();
    assert_eq!(n, 3);
    e.thread.join().unwrap();
}

/// On a virtual clock: a finished job pruned at its retention keeps its Id's execution name
/// taken until 90 days after the execution closed, so a retried submit starts no second job;
/// after that the name is free.
#[test]
fn a_pruned_jobs_name_stays_taken_for_90_days_after_its_execution_closed() {
    use super::super::prune::{self, NAME_KEPT_MS};
    use super::execution::{drive, submit};
    use waitable_core::retention::ATTR_EXPIRES_AT;

    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine_in(&dir, &definition());
    let current = engine.current;
    let input = http_contract::parse_job_body(
        br#"{"StartTimestamp": "2030-01-01T00:00:00Z", "Id": "once"}"#,
    )
    .unwrap()
    .execution_input(1);
    let request = |as_api| Submit {
        name: "once".into(),
        input: input.clone(),
        as_api,
    };
    // Submitted at t0, due at once (2030-01-01), run to its end.
    let t0: i64 = 1_893_456_000_000;
    let (mut parts, c, _) = engine.parts();
    let c = &*c;
    submit(c, &mut parts, current, request(true), t0).unwrap();
    for _ in 0..10 {
        drive(c, &mut parts, "once", t0 + 1, None).unwrap();
    }
    let exec = store::get_execution(c, "once").unwrap().unwrap();
    assert_eq!(exec.status, store::SUCCEEDED);
    let closed = exec.stop_ms.unwrap();
    // While it is kept: the same input through POST / is refused (the execution closed), the
    // CLI's resubmit is the same job.
    let err = submit(c, &mut parts, current, request(true), closed + 1).unwrap_err();
    assert!(matches!(err, EngineError::AlreadyExists { .. }), "{err}");
    assert!(
        submit(c, &mut parts, current, request(false), closed + 1)
            .unwrap()
            .already_submitted
    );

    // Retention deletes the job, its execution and history.
    let item = store::get_item(c, "once").unwrap().unwrap();
    let expires_s: i64 = item[ATTR_EXPIRES_AT]["N"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let pruned_at = expires_s * 1000 + 1000;
    assert!(pruned_at < closed + NAME_KEPT_MS);
    assert_eq!(
        prune::prune_expired(c, ATTR_EXPIRES_AT, pruned_at, 10).unwrap(),
        1
    );
    assert!(store::get_item(c, "once").unwrap().is_none());
    assert!(store::get_execution(c, "once").unwrap().is_none());

    // Retried after the prune, by either path, until 90 days after it closed: no second job.
    for at in [pruned_at, closed + NAME_KEPT_MS - 1] {
        for as_api in [true, false] {
            let err = submit(c, &mut parts, current, request(as_api), at).unwrap_err();
            assert!(matches!(err, EngineError::AlreadyExists { .. }), "{err}");
            assert!(store::get_execution(c, "once").unwrap().is_none());
            assert!(store::get_item(c, "once").unwrap().is_none());
        }
    }
    // 90 days after it closed the name is free: a new execution starts.
    let again = submit(c, &mut parts, current, request(true), closed + NAME_KEPT_MS).unwrap();
    assert!(!again.already_submitted);
    let new = store::get_execution(c, "once").unwrap().unwrap();
    assert_eq!(new.start_ms, closed + NAME_KEPT_MS);
}

/// The definition a stack delivering to the webhook `url` runs.
fn webhook_definition(url: &str) -> String {
    use waitable_core::delivery::{Deliveries, local};
    use waitable_core::stack_spec::StackSpec;
    use waitable_core::template::template;
    let d = Deliveries::parse(&[format!("webhook={url}")])
        .unwrap()
        .unwrap();
    let t = template(&StackSpec {
        iam_auth: true,
        deliveries: d,
    });
    let t = local::for_local(&t, &[], "s").unwrap();
    super::super::definition::definition_from_template(&t, "s", "jobs").unwrap()
}

/// On a virtual clock: the step that reaches a webhook request is not taken until its answer
/// comes back; a failure's back-off counts from when the answer came, and DeliveredAt and
/// LastUpdated say when the delivering step finished, not when the request was made.
#[test]
fn a_webhook_step_waits_for_its_answer_and_is_timed_from_it() {
    use super::command::SendOutcome;
    use super::execution::{drive, submit};
    use waitable_asl::Fault;

    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine_in(&dir, &webhook_definition("http://127.0.0.1:9/hook"));
    let current = engine.current;
    let input =
        http_contract::parse_job_body(br#"{"StartTimestamp": "2030-01-01T00:00:00Z", "Id": "w"}"#)
            .unwrap()
            .execution_input(1);
    let t0: i64 = 1_893_456_000_000;
    let (mut parts, c, _) = engine.parts();
    let c = &*c;
    let request = Submit {
        name: "w".into(),
        input,
        as_api: false,
    };
    submit(c, &mut parts, current, request, t0).unwrap();
    for _ in 0..10 {
        if !parts.sends.is_empty() {
            break;
        }
        drive(c, &mut parts, "w", t0, None).unwrap();
    }
    let sent = std::mem::take(&mut parts.sends);
    assert_eq!(sent.len(), 1, "one request to make");
    let waiting = store::get_execution(c, "w").unwrap().unwrap();
    assert_eq!((waiting.status.as_str(), waiting.due_ms), ("RUNNING", None));
    // Nothing happens while the request is out, however often the execution is looked at.
    drive(c, &mut parts, "w", t0 + 5, None).unwrap();
    assert!(parts.sends.is_empty());
    assert_eq!(store::get_execution(c, "w").unwrap().unwrap(), waiting);

    // The request failed after hanging for its 60 s: the retry counts from then.
    let failed_at = t0 + 60_000;
    let outcome = |result| SendOutcome {
        execution: "w".into(),
        state: sent[0].state.clone(),
        result,
    };
    let socket = Err(Fault::task("States.Http.Socket", "timed out"));
    drive(c, &mut parts, "w", failed_at, Some(outcome(socket))).unwrap();
    let retry = store::get_execution(c, "w").unwrap().unwrap();
    let due = retry.due_ms.expect("a retry timer");
    assert!(
        due >= failed_at,
        "the retry is due {} ms before the failure",
        failed_at - due
    );
    // A late answer to a request no longer waited for changes nothing.
    drive(c, &mut parts, "w", due - 1, Some(outcome(Ok(json!({}))))).unwrap();
    assert_eq!(store::get_execution(c, "w").unwrap().unwrap(), retry);

    drive(c, &mut parts, "w", due, None).unwrap();
    assert_eq!(parts.sends.len(), 1, "the retry's request");
    let answered_at = due + 30_000;
    let ok = Ok(json!({ "StatusCode": 200, "StatusText": "OK", "ResponseBody": "" }));
    drive(c, &mut parts, "w", answered_at, Some(outcome(ok))).unwrap();
    for _ in 0..10 {
        drive(c, &mut parts, "w", answered_at, None).unwrap();
    }
    let item = store::get_item(c, "w").unwrap().unwrap();
    let job = http_contract::job_from_item(&item).unwrap();
    assert_eq!(job.process_status, "COMPLETED");
    let when = waitable_asl::run::iso_millis(answered_at);
    assert_eq!(item["DeliveredAt"]["S"], when.as_str(), "{item:?}");
    assert_eq!(item["LastUpdated"]["S"], when.as_str(), "{item:?}");
}

/// An execution found due and then moved on (it sleeps again) is not stepped early when the
/// engine comes to it from its list of due executions: a job never fires before its time.
#[test]
fn an_execution_not_yet_due_is_left_as_it_is() {
    use super::execution::{drive, submit};

    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine_in(&dir, &definition());
    let current = engine.current;
    let input = http_contract::parse_job_body(
        br#"{"StartTimestamp": "2030-01-01T00:00:00Z", "Id": "later"}"#,
    )
    .unwrap()
    .execution_input(1);
    let due: i64 = 1_893_456_000_000;
    let (mut parts, c, _) = engine.parts();
    let c = &*c;
    let request = Submit {
        name: "later".into(),
        input,
        as_api: false,
    };
    submit(c, &mut parts, current, request, due - 60_000).unwrap();
    let waiting = store::get_execution(c, "later").unwrap().unwrap();
    assert_eq!(waiting.due_ms, Some(due));
    drive(c, &mut parts, "later", due - 1, None).unwrap();
    assert_eq!(store::get_execution(c, "later").unwrap().unwrap(), waiting);
    drive(c, &mut parts, "later", due, None).unwrap();
    let fired = store::get_execution(c, "later").unwrap().unwrap();
    assert_ne!(fired, waiting, "stepped once due");
}

/// A batch of due executions with a broken one among them: the broken one fails on its own
/// (`States.Runtime`) and the others' steps stand, the ones stepped before it in the same
/// transaction too.
#[test]
fn a_broken_execution_in_a_batch_fails_alone() {
    use super::execution::submit;
    use std::collections::VecDeque;

    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine_in(&dir, &definition());
    let current = engine.current;
    let names = ["a", "b", "c"];
    {
        let (mut parts, c, _) = engine.parts();
        for id in names {
            let input = waitable_core::job::execution_input(&FUTURE, None, 90);
            let request = Submit {
                name: id.into(),
                input,
                as_api: false,
            };
            submit(c, &mut parts, current, request, now_ms()).unwrap();
        }
    }
    // All three due now; "b" names a definition that does not exist.
    engine
        .conn
        .execute_batch(
            "UPDATE executions SET due_ms = 0;
             UPDATE executions SET definition_id = 9999 WHERE name = 'b';",
        )
        .unwrap();
    let mut due: VecDeque<_> = names.iter().map(|n| (n.to_string(), None)).collect();
    let until = std::time::Instant::now() + Duration::from_secs(5);
    // The first pass stops at the broken one and steps "a" and "b" again, each on its own.
    assert_eq!(engine.step_many(&mut due, until).unwrap(), 2);
    assert_eq!(engine.step_many(&mut due, until).unwrap(), 1);
    assert!(due.is_empty());
    let status = |n: &str| store::get_execution(&engine.conn, n).unwrap().unwrap();
    let b = status("b");
    assert_eq!(
        (b.status.as_str(), b.error.as_deref()),
        ("FAILED", Some("States.Runtime"))
    );
    for n in ["a", "c"] {
        assert_eq!(status(n).status, "SUCCEEDED", "{n}");
        let item = store::get_item(&engine.conn, n).unwrap().unwrap();
        let job = http_contract::job_from_item(&item).unwrap();
        assert_eq!(job.process_status, "COMPLETED", "{n}");
    }
}

/// The running engine ends an execution whose history reaches AWS's 25,000 events (here a
/// loop that never waits), as `local exec` does, instead of stepping it forever.
#[test]
fn an_execution_that_loops_without_waiting_fails_at_the_history_quota() {
    use super::execution::{drive, submit};

    let looping = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Next": "A"}}});
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine_in(&dir, &looping.to_string());
    let current = engine.current;
    let (mut parts, c, _) = engine.parts();
    let c = &*c;
    let request = Submit {
        name: "loop".into(),
        input: json!({}),
        as_api: false,
    };
    let t0: i64 = 1_893_456_000_000;
    submit(c, &mut parts, current, request, t0).unwrap();
    let mut drives = 0;
    let exec = loop {
        let exec = store::get_execution(c, "loop").unwrap().unwrap();
        if exec.status != store::RUNNING || drives == 100 {
            break exec;
        }
        drive(c, &mut parts, "loop", t0, None).unwrap();
        drives += 1;
    };
    assert_eq!(exec.status, "FAILED", "still running after {drives} drives");
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    assert!(exec.cause.unwrap().contains("25000 events"));
}
