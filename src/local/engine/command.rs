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
    /// The name was taken by an execution with another input.
    #[error(
        "Execution Already Exists: '{arn}' (a job with Id {id} was submitted with a different input)"
    )]
    AlreadyExists { arn: String, id: String },
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

pub enum Command {
    /// Start the job's execution (idempotent on Id and input). The name always follows the
    /// Id rule; the input is checked by the state machine (the private raw route sends any).
    Submit {
        name: String,
        input: Value,
        reply: Reply<Submitted>,
    },
    Cancel {
        id: String,
        reply: Reply<JobRecord>,
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
        reply: Reply<Vec<(String, Option<String>, i64)>>,
    },
    Stop,
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
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .map_err(|_| EngineError::Stopped)?;
        rx.await.unwrap_or(Err(EngineError::Stopped))
    }
}
