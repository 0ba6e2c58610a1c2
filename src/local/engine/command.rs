//! The command protocol: what the HTTP layer asks the engine thread, the handle it asks
//! through, and the engine's domain errors (HTTP statuses are chosen in `http`, not here).

use std::sync::mpsc::Sender;

use serde_json::Value;
use tokio::sync::oneshot;

use super::super::http_contract::JobBody;
use waitable_asl::ddb::Item;
use waitable_core::job::{JobRecord, JobStatus, Submitted};
use waitable_core::status_index::DueWindow;

/// What the engine refuses or fails with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The execution name breaks the Id rule.
    #[error("invalid execution name {0:?}")]
    InvalidName(String),
    /// The name is taken (see `execution::submit`); `reason` says by what.
    #[error("Execution Already Exists: '{arn}' (job {id}: {reason})")]
    AlreadyExists {
        arn: String,
        id: String,
        reason: String,
    },
    #[error("no job with Id {0:?}")]
    JobNotFound(String),
    /// Only a STARTED job that has not fired can be cancelled (`waitable_core::cancel`).
    #[error("{reason}")]
    JobNotWaiting {
        reason: waitable_core::cancel::NotCancellable,
    },
    /// A seeded record that is not a job record.
    #[error("{0}")]
    InvalidRecord(String),
    /// A definition the interpreter cannot run.
    #[error("{0}")]
    UnsupportedDefinition(String),
    /// The transaction holding the answer did not commit: nothing of it was kept.
    #[error("the database commit failed: {0}")]
    CommitFailed(String),
    /// The engine thread is gone or going.
    #[error("the engine is stopping")]
    Stopped,
    /// The caller's deadline passed before the engine came to the command: it was not run.
    #[error("the command was not run: its caller's deadline passed before the engine came to it")]
    GaveUp,
    /// The store failed (the message names the cause).
    #[error("{0}")]
    Internal(String),
}

impl EngineError {
    pub(super) fn internal(err: impl Into<anyhow::Error>) -> Self {
        EngineError::Internal(format!("{:#}", err.into()))
    }
}

pub type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

/// One page of the jobs table.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<Item>,
    pub next_token: Option<String>,
}

/// A question for the status index: one status, a window on StartActionAt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexQuery {
    pub status: JobStatus,
    pub window: DueWindow,
}

/// What a submit asks: the execution's name and input, and whether it came through the
/// public API (`POST /`, answered as StartExecution answers a name in use).
#[derive(Debug, Clone)]
pub struct Submit {
    pub name: String,
    pub input: Value,
    pub as_api: bool,
}

pub enum Command {
    /// Start the job's execution (idempotent on Id and input). The name always follows the
    /// Id rule; the input is checked by the state machine (the private raw route sends any).
    Submit {
        request: Submit,
        reply: Reply<Submitted>,
    },
    Cancel {
        id: String,
        reply: Reply<JobRecord>,
    },
    /// A later run of a job (`retry`, `reschedule`), with its first states taken now.
    StartRun {
        request: super::RunStart,
        reply: Reply<waitable_core::runs::StartedRun>,
    },
    StopRun {
        id: String,
        run: u32,
        reply: Reply<()>,
    },
    /// Every run of a job, with its execution's status and times.
    Runs {
        job: JobRecord,
        reply: Reply<Vec<waitable_core::runs::RunSummary>>,
    },
    /// A page of the table by Id, or with `index`, of one status through the status index
    /// (`after` is then the token text of `waitable_core::status_index::query_token_text`).
    Page {
        after: Option<String>,
        limit: usize,
        index: Option<IndexQuery>,
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
    /// Up to `max` messages of the delivery queue, hidden for a while.
    QueueReceive {
        max: usize,
        reply: Reply<Vec<super::deliver::QueueMessage>>,
    },
    /// Deletes received messages by handle.
    QueueDelete {
        handles: Vec<String>,
        reply: Reply<usize>,
    },
    /// Moves each named job still STARTED the way its execution ended (`waitable reconcile`).
    Reconcile {
        ids: Vec<String>,
        dry_run: bool,
        reply: Reply<Vec<crate::backend::Reconciled>>,
    },
    /// (event, state, at_ms) history of one execution.
    History {
        name: String,
        reply: Reply<Vec<crate::local::store_executions::HistoryEvent>>,
    },
    /// The outcome of a webhook request, from the send pool: the execution's next step.
    Delivered(SendOutcome),
    /// `command`, unless its caller gives up first: past `deadline_ms` (epoch milliseconds,
    /// the CLI's own deadline) it is not run.
    Until {
        deadline_ms: i64,
        command: Box<Command>,
    },
    Stop,
}

/// What came of a webhook request (`pool::SendRequest`).
#[derive(Debug, Clone)]
pub struct SendOutcome {
    pub execution: String,
    pub state: String,
    pub result: Result<Value, waitable_asl::Fault>,
}

impl Command {
    /// True when nobody waits for the answer any more: the caller went away (its reply
    /// channel is closed) or its deadline passed. Such a command is never run.
    pub fn abandoned(&self, now_ms: i64) -> bool {
        match self {
            Command::Submit { reply, .. } => reply.is_closed(),
            Command::Cancel { reply, .. } => reply.is_closed(),
            Command::StartRun { reply, .. } => reply.is_closed(),
            Command::StopRun { reply, .. } => reply.is_closed(),
            Command::Runs { reply, .. } => reply.is_closed(),
            Command::Page { reply, .. } => reply.is_closed(),
            Command::Seed { reply, .. } => reply.is_closed(),
            Command::Reload { reply, .. } => reply.is_closed(),
            Command::Destroy { reply } => reply.is_closed(),
            Command::QueueReceive { reply, .. } => reply.is_closed(),
            Command::QueueDelete { reply, .. } => reply.is_closed(),
            Command::History { reply, .. } => reply.is_closed(),
            Command::Reconcile { reply, .. } => reply.is_closed(),
            Command::Until {
                deadline_ms,
                command,
            } => now_ms > *deadline_ms || command.abandoned(now_ms),
            Command::Delivered(_) | Command::Stop => false,
        }
    }

    /// Answers the caller (if it still listens) that its command was not run.
    pub fn give_up(self) {
        fn no<T>(reply: Reply<T>) -> bool {
            reply.send(Err(EngineError::GaveUp)).is_ok()
        }
        let _ = match self {
            Command::Submit { reply, .. } => no(reply),
            Command::Cancel { reply, .. } => no(reply),
            Command::StartRun { reply, .. } => no(reply),
            Command::StopRun { reply, .. } => no(reply),
            Command::Runs { reply, .. } => no(reply),
            Command::Page { reply, .. } => no(reply),
            Command::Seed { reply, .. } => no(reply),
            Command::Reload { reply, .. } => no(reply),
            Command::Destroy { reply } => no(reply),
            Command::QueueReceive { reply, .. } => no(reply),
            Command::QueueDelete { reply, .. } => no(reply),
            Command::History { reply, .. } => no(reply),
            Command::Reconcile { reply, .. } => no(reply),
            Command::Until { command, .. } => {
                command.give_up();
                true
            }
            Command::Delivered(_) | Command::Stop => false,
        };
    }
}

/// Submit body -> execution (name, input), on a stack that keeps finished jobs `retention_days`.
pub fn submission(body: &JobBody, retention_days: u32) -> (String, Value) {
    let name = body
        .id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    (name, body.execution_input(retention_days))
}

/// A handle for sending commands and awaiting their replies.
#[derive(Clone)]
pub struct Handle {
    pub tx: Sender<Command>,
}

impl Handle {
    pub async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, EngineError> {
        self.ask_until(None, make).await
    }

    /// [`Handle::ask`] for a caller who waits until `deadline_ms` (epoch milliseconds) at
    /// most: the engine does not run the command after it.
    pub async fn ask_until<T>(
        &self,
        deadline_ms: Option<i64>,
        make: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, EngineError> {
        let (reply, rx) = oneshot::channel();
        let command = match deadline_ms {
            Some(deadline_ms) => Command::Until {
                deadline_ms,
                command: Box::new(make(reply)),
            },
            None => make(reply),
        };
        self.tx.send(command).map_err(|_| EngineError::Stopped)?;
        rx.await.unwrap_or(Err(EngineError::Stopped))
    }
}
