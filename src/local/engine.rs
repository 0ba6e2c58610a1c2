//! The engine: the one writer of a local stack's database. It runs on its own thread, takes
//! commands from the HTTP API over a channel, and steps executions whose timer is due.
//!
//! Exactly once: every step of an execution (the state's effect on the jobs table, the
//! transition, the history) commits in one SQLite transaction, and replies go out only after
//! the commit. After a crash the database holds either all of a step or none of it, and the
//! engine resumes every RUNNING execution from its saved cursor; overdue timers fire at once.
//!
//! No busy polling: between commands the thread blocks on the channel with a timeout that ends
//! at the next due timer (a plain thread, because SQLite calls block).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use anyhow::Context;
use rusqlite::Connection;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::asl::{self, Cursor, ExecutionInfo, Fault, Machine, Step};
use super::ddb::{self, Item};
use super::records::{self, JobBody};
use super::store::{self, ABORTED, Execution, FAILED, RUNNING, SUCCEEDED};
use crate::core::arn;
use crate::core::job::{
    ATTR_ID, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, JobRecord, JobStatus, Submitted, same_job,
};
use crate::core::job_id::is_valid_id;

/// How many due executions one transaction steps (keeps commands answered during a burst).
const BATCH: usize = 512;
/// Transitions one execution may make in one go before yielding (a Pass loop cannot hang us).
const MAX_STEPS: usize = 1000;
/// The longest the engine sleeps without looking at the clock again.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// The stack's fixed names.
#[derive(Debug, Clone)]
pub struct Names {
    pub stack: String,
    pub table: String,
    pub state_machine_arn: String,
}

impl Names {
    pub fn new(stack: &str, table: &str) -> Names {
        Names {
            stack: stack.into(),
            table: table.into(),
            state_machine_arn: state_machine_arn(stack),
        }
    }

    pub fn execution_arn(&self, name: &str) -> String {
        arn::execution_arn(&self.state_machine_arn, name).expect("a state machine ARN")
    }
}

pub fn state_machine_arn(stack: &str) -> String {
    arn::local_state_machine_arn(stack)
}

/// An error for an API caller: HTTP status, error name, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub error: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, error: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            message: message.into(),
        }
    }

    fn internal(err: anyhow::Error) -> Self {
        ApiError::new(500, "InternalError", format!("{err:#}"))
    }
}

type Reply<T> = oneshot::Sender<Result<T, ApiError>>;

/// One page of the jobs table.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<Item>,
    pub next_token: Option<String>,
}

pub enum Command {
    /// Start the job's execution (idempotent on Id and input). POST / checks the name;
    /// the private raw endpoint does not (tests drive the FAILED path that way).
    Submit {
        name: String,
        input: Value,
        check_name: bool,
        reply: Reply<Submitted>,
    },
    Cancel {
        id: String,
        reply: Reply<JobRecord>,
    },
    Page {
        after: Option<String>,
        limit: usize,
        reply: Reply<Page>,
    },
    Seed {
        records: Vec<Value>,
        reply: Reply<usize>,
    },
    /// A new definition from deploy: new executions use it, running ones keep theirs.
    Reload {
        definition: String,
        reply: Reply<()>,
    },
    /// Cancel every waiting job and stop.
    Destroy {
        reply: Reply<usize>,
    },
    /// (event, state) history of one execution.
    History {
        name: String,
        reply: Reply<Vec<(String, Option<String>)>>,
    },
    Stop,
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn jitter() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

/// Submit body -> execution (name, input).
pub fn submission(body: &JobBody) -> (String, Value) {
    let name = body
        .id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    (name, body.execution_input())
}

pub struct Engine {
    conn: Connection,
    names: Names,
    machines: HashMap<i64, Arc<Machine>>,
    current: i64,
}

impl Engine {
    /// Opens the engine on `conn` with `definition` (checked at deploy) as the current one.
    pub fn new(conn: Connection, names: Names, definition: &str) -> anyhow::Result<Engine> {
        asl::parse_text(definition).map_err(|e| anyhow::anyhow!("{e}"))?;
        let current = store::ensure_definition(&conn, definition)?;
        Ok(Engine {
            conn,
            names,
            machines: HashMap::new(),
            current,
        })
    }

    /// Runs until Stop or Destroy (or the channel closes). `stopped` is called last, also
    /// if the engine panics, so the server never outlives its engine.
    pub fn run(mut self, rx: Receiver<Command>, stopped: impl FnOnce()) {
        let _guard = OnDrop(Some(stopped));
        loop {
            let more_due = match self.fire_due() {
                Ok(more) => more,
                Err(err) => {
                    eprintln!("engine: stepping due executions failed: {err:#}");
                    std::thread::sleep(Duration::from_millis(500));
                    false
                }
            };
            let wait = if more_due {
                Duration::ZERO
            } else {
                self.next_wait()
            };
            let first = match rx.recv_timeout(wait) {
                Ok(c) => c,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(c) => batch.push(c),
                    Err(_) => break,
                }
            }
            if !self.handle(batch) {
                break;
            }
        }
    }

    /// Until the next timer, at most [`MAX_SLEEP`] (the wall clock is checked again then, in
    /// case it jumped or the machine slept).
    fn next_wait(&self) -> Duration {
        match store::next_due(&self.conn) {
            Ok(Some(due)) => Duration::from_millis((due - now_ms()).max(0) as u64).min(MAX_SLEEP),
            Ok(None) => MAX_SLEEP,
            Err(err) => {
                eprintln!("engine: reading timers failed: {err:#}");
                Duration::from_secs(1)
            }
        }
    }

    /// Handles a batch of commands in one transaction (group commit); replies after commit.
    /// Returns false when the engine must stop.
    fn handle(&mut self, batch: Vec<Command>) -> bool {
        let mut replies: Vec<Box<dyn FnOnce(bool)>> = Vec::new();
        let mut keep_running = true;
        let tx = match self.conn.transaction() {
            Ok(tx) => tx,
            Err(err) => {
                eprintln!("engine: cannot begin a transaction: {err:#}");
                return true;
            }
        };
        let now = now_ms();
        for cmd in batch {
            match cmd {
                Command::Submit {
                    name,
                    input,
                    check_name,
                    reply,
                } => {
                    let r = with_savepoint(&tx, |c| {
                        submit(
                            c,
                            &self.names,
                            &mut self.machines,
                            self.current,
                            &name,
                            input,
                            now,
                            check_name,
                        )
                    });
                    replies.push(deliver(reply, r));
                }
                Command::Cancel { id, reply } => {
                    let r = with_savepoint(&tx, |c| cancel(c, &id, now));
                    replies.push(deliver(reply, r));
                }
                Command::Page {
                    after,
                    limit,
                    reply,
                } => {
                    let r = store::list_items(&tx, after.as_deref(), limit)
                        .map(|(items, more)| {
                            let next_token = more
                                .then(|| items.last().map(|i| records::encode_token(&id_of(i))))
                                .flatten();
                            Page { items, next_token }
                        })
                        .map_err(ApiError::internal);
                    replies.push(deliver(reply, r));
                }
                Command::Seed { records, reply } => {
                    let r = with_savepoint(&tx, |c| {
                        for rec in &records {
                            let (id, item) = records::item_from_record(rec)
                                .map_err(|e| ApiError::new(400, "ValidationException", e))?;
                            store::put_item(c, &id, &item).map_err(ApiError::internal)?;
                        }
                        Ok(records.len())
                    });
                    replies.push(deliver(reply, r));
                }
                Command::Reload { definition, reply } => {
                    let r = match asl::parse_text(&definition) {
                        Err(e) => Err(ApiError::new(400, "UnsupportedDefinition", e.to_string())),
                        Ok(_) => store::ensure_definition(&tx, &definition)
                            .map(|id| self.current = id)
                            .map_err(ApiError::internal),
                    };
                    replies.push(deliver(reply, r));
                }
                Command::History { name, reply } => {
                    let r = store::history(&tx, &name).map_err(ApiError::internal);
                    replies.push(deliver(reply, r));
                }
                Command::Destroy { reply } => {
                    let r = with_savepoint(&tx, |c| {
                        let ids = store::started_ids(c).map_err(ApiError::internal)?;
                        for id in &ids {
                            cancel(c, id, now)?;
                        }
                        Ok(ids.len())
                    });
                    keep_running = false;
                    replies.push(deliver(reply, r));
                }
                Command::Stop => keep_running = false,
            }
        }
        let committed = match tx.commit() {
            Ok(()) => true,
            Err(err) => {
                eprintln!("engine: commit failed: {err:#}");
                false
            }
        };
        for r in replies {
            r(committed);
        }
        keep_running
    }

    /// Steps up to one batch of due executions in one transaction; true if more are due.
    fn fire_due(&mut self) -> anyhow::Result<bool> {
        let now = now_ms();
        let names = store::due_executions(&self.conn, now, BATCH)?;
        if names.is_empty() {
            return Ok(false);
        }
        let tx = self.conn.transaction()?;
        for name in &names {
            // The time each one is actually stepped (what LastUpdated records).
            let now = now_ms();
            let r = with_savepoint(&tx, |c| {
                drive(c, &self.names, &mut self.machines, name, now).map_err(ApiError::internal)
            });
            if let Err(e) = r {
                // A broken execution must not block the others: fail it.
                eprintln!("engine: execution {name} failed internally: {}", e.message);
                with_savepoint(&tx, |c| {
                    fail_internally(c, name, &e.message, now).map_err(ApiError::internal)
                })
                .ok();
            }
        }
        tx.commit()?;
        Ok(names.len() == BATCH)
    }
}

/// Calls its function when dropped (also while unwinding from a panic).
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

fn deliver<T: 'static>(reply: Reply<T>, r: Result<T, ApiError>) -> Box<dyn FnOnce(bool)> {
    Box::new(move |committed| {
        let r = if committed {
            r
        } else {
            Err(ApiError::new(
                500,
                "InternalError",
                "the database commit failed",
            ))
        };
        let _ = reply.send(r);
    })
}

/// Runs `f` inside a savepoint: on error only its own writes are rolled back.
fn with_savepoint<T>(
    c: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    c.execute_batch("SAVEPOINT step")
        .map_err(|e| ApiError::internal(e.into()))?;
    let r = f(c);
    let end = if r.is_ok() {
        "RELEASE step"
    } else {
        "ROLLBACK TO step; RELEASE step"
    };
    c.execute_batch(end)
        .map_err(|e| ApiError::internal(e.into()))?;
    r
}

fn id_of(item: &Item) -> String {
    item.get(ATTR_ID)
        .and_then(|v| v.get("S"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn machine(
    c: &Connection,
    cache: &mut HashMap<i64, Arc<Machine>>,
    id: i64,
) -> anyhow::Result<Arc<Machine>> {
    if let Some(m) = cache.get(&id) {
        return Ok(m.clone());
    }
    let text = store::definition(c, id)?;
    let m = Arc::new(asl::parse_text(&text).map_err(|e| anyhow::anyhow!("{e}"))?);
    cache.insert(id, m.clone());
    Ok(m)
}

#[allow(clippy::too_many_arguments)]
fn submit(
    c: &Connection,
    names: &Names,
    cache: &mut HashMap<i64, Arc<Machine>>,
    current: i64,
    name: &str,
    input: Value,
    now: i64,
    check_name: bool,
) -> Result<Submitted, ApiError> {
    if check_name && !is_valid_id(name) {
        return Err(ApiError::new(
            400,
            "InvalidName",
            format!("invalid execution name {name:?}"),
        ));
    }
    let arn = names.execution_arn(name);
    if let Some(existing) = store::get_execution(c, name).map_err(ApiError::internal)? {
        if same_job(&existing.input, &input) {
            return Ok(Submitted {
                job_id: name.into(),
                execution_arn: arn,
                already_submitted: true,
            });
        }
        return Err(ApiError::new(
            400,
            "ExecutionAlreadyExists",
            format!(
                "Execution Already Exists: '{arn}' (a job with Id {name} was submitted with a different input)"
            ),
        ));
    }
    let m = machine(c, cache, current).map_err(ApiError::internal)?;
    let exec = Execution {
        name: name.into(),
        definition_id: current,
        input: input.clone(),
        status: RUNNING.into(),
        cursor: Some(Cursor::enter(&m.start_at, input, now)),
        due_ms: Some(now),
        start_ms: now,
        stop_ms: None,
        error: None,
        cause: None,
    };
    store::save_execution(c, &exec).map_err(ApiError::internal)?;
    store::record(c, name, "ExecutionStarted", None, now).map_err(ApiError::internal)?;
    store::record(c, name, "StateEntered", Some(&m.start_at), now).map_err(ApiError::internal)?;
    // Run the first states now, so the job is recorded before the caller hears back.
    drive(c, names, cache, name, now).map_err(ApiError::internal)?;
    Ok(Submitted {
        job_id: name.into(),
        execution_arn: arn,
        already_submitted: false,
    })
}

/// The task resources, acting on the jobs table inside the current transaction.
struct TableTasks<'a> {
    c: &'a Connection,
    table: &'a str,
    execution: &'a str,
    state: String,
    now: i64,
    failure: Option<anyhow::Error>,
}

impl asl::Tasks for TableTasks<'_> {
    fn call(&mut self, op: &ddb::Op, params: &Value) -> Result<Value, Fault> {
        let to_fault = |e: ddb::DdbError| Fault::task(&e.states_error(), e.message);
        if params.get("TableName").and_then(Value::as_str) != Some(self.table) {
            return Err(Fault::task(
                "DynamoDB.ResourceNotFoundException",
                format!(
                    "Requested resource not found: table {} does not exist here",
                    params["TableName"]
                ),
            ));
        }
        let key = ddb::target_key(*op, params, ATTR_ID).map_err(to_fault)?;
        let io = |r: anyhow::Result<()>, failure: &mut Option<anyhow::Error>| {
            if let Err(e) = r {
                failure.get_or_insert(e);
            }
        };
        let current = match store::get_item(self.c, &key) {
            Ok(c) => c,
            Err(e) => {
                self.failure = Some(e);
                return Err(Fault::task(
                    "DynamoDB.InternalServerErrorException",
                    "local store error",
                ));
            }
        };
        let (write, result) =
            ddb::apply(*op, params, ATTR_ID, current.as_ref()).map_err(to_fault)?;
        match write {
            Some(ddb::Write::Put(k, item)) => {
                io(store::put_item(self.c, &k, &item), &mut self.failure)
            }
            Some(ddb::Write::Delete(k)) => io(store::delete_item(self.c, &k), &mut self.failure),
            None => {}
        }
        io(
            store::record(
                self.c,
                self.execution,
                "TaskSucceeded",
                Some(&self.state),
                self.now,
            ),
            &mut self.failure,
        );
        Ok(result)
    }
}

/// Steps one execution as far as it goes now; saves where it stands.
fn drive(
    c: &Connection,
    names: &Names,
    cache: &mut HashMap<i64, Arc<Machine>>,
    name: &str,
    now: i64,
) -> anyhow::Result<()> {
    let Some(mut exec) = store::get_execution(c, name)? else {
        return Ok(());
    };
    if exec.status != RUNNING {
        return Ok(());
    }
    let m = machine(c, cache, exec.definition_id)?;
    let info = ExecutionInfo {
        name: name.into(),
        arn: names.execution_arn(name),
        input: exec.input.clone(),
        start_ms: exec.start_ms,
        state_machine_arn: names.state_machine_arn.clone(),
        state_machine_name: names.stack.clone(),
    };
    let mut cursor = exec
        .cursor
        .take()
        .context("a running execution has a cursor")?;
    let mut rand = jitter;
    for _ in 0..MAX_STEPS {
        let mut tasks = TableTasks {
            c,
            table: &names.table,
            execution: name,
            state: cursor.state.clone(),
            now,
            failure: None,
        };
        let step = asl::step(&m, &info, cursor, now, &mut tasks, &mut rand);
        if let Some(e) = tasks.failure {
            return Err(e.context("writing the jobs table"));
        }
        match step {
            Step::Next(next) => {
                store::record(c, name, "StateEntered", Some(&next.state), now)?;
                cursor = next;
            }
            Step::Sleep { cursor, until_ms } => {
                exec.cursor = Some(cursor);
                exec.due_ms = Some(until_ms);
                return store::save_execution(c, &exec);
            }
            Step::Succeeded(_) => {
                finish(&mut exec, SUCCEEDED, now, None);
                store::record(c, name, "ExecutionSucceeded", None, now)?;
                return store::save_execution(c, &exec);
            }
            Step::Failed { error, cause } => {
                finish(&mut exec, FAILED, now, Some((error, cause)));
                store::record(c, name, "ExecutionFailed", None, now)?;
                return store::save_execution(c, &exec);
            }
        }
    }
    // Still going: yield to others and come back at once.
    exec.cursor = Some(cursor);
    exec.due_ms = Some(now);
    store::save_execution(c, &exec)
}

fn finish(exec: &mut Execution, status: &str, now: i64, failure: Option<(String, String)>) {
    exec.status = status.into();
    exec.cursor = None;
    exec.due_ms = None;
    exec.stop_ms = Some(now);
    if let Some((e, c)) = failure {
        exec.error = Some(e);
        exec.cause = Some(c);
    }
}

fn fail_internally(c: &Connection, name: &str, message: &str, now: i64) -> anyhow::Result<()> {
    if let Some(mut exec) = store::get_execution(c, name)? {
        finish(
            &mut exec,
            FAILED,
            now,
            Some(("States.Runtime".into(), message.into())),
        );
        store::save_execution(c, &exec)?;
        store::record(c, name, "ExecutionFailed", None, now)?;
    }
    Ok(())
}

/// Stops the job's execution and marks the job CANCELLED, only if it is still STARTED.
fn cancel(c: &Connection, id: &str, now: i64) -> Result<JobRecord, ApiError> {
    let mut item = store::get_item(c, id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::new(404, "JobNotFound", format!("no job with Id {id:?}")))?;
    let status = records::job_from_item(&item)
        .map(|j| j.process_status)
        .unwrap_or_default();
    if status != JobStatus::Started.as_str() {
        return Err(ApiError::new(
            409,
            "JobNotWaiting",
            format!("job {id:?} is {status}: only a STARTED (waiting) job can be cancelled"),
        ));
    }
    if let Some(mut exec) = store::get_execution(c, id).map_err(ApiError::internal)?
        && exec.status == RUNNING
    {
        finish(&mut exec, ABORTED, now, None);
        store::save_execution(c, &exec).map_err(ApiError::internal)?;
        store::record(c, id, "ExecutionAborted", None, now).map_err(ApiError::internal)?;
    }
    item.insert(
        ATTR_PROCESS_STATUS.into(),
        json!({ "S": JobStatus::Cancelled.as_str() }),
    );
    item.insert(
        ATTR_LAST_UPDATED.into(),
        json!({ "S": asl::run::iso_millis(now) }),
    );
    store::put_item(c, id, &item).map_err(ApiError::internal)?;
    records::job_from_item(&item)
        .ok_or_else(|| ApiError::new(500, "InternalError", "a stored job has no Id"))
}

/// A handle for sending commands and awaiting their replies.
#[derive(Clone)]
pub struct Handle {
    pub tx: Sender<Command>,
}

impl Handle {
    pub async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, ApiError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .map_err(|_| ApiError::new(503, "EngineStopped", "the engine is stopping"))?;
        rx.await.unwrap_or_else(|_| {
            Err(ApiError::new(
                503,
                "EngineStopped",
                "the engine is stopping",
            ))
        })
    }
}

#[cfg(test)]
mod tests;
