//! The engine: the one writer of a local stack's database. It runs on its own thread, takes
//! commands from the HTTP API over a channel, and steps executions whose timer is due.
//!
//! Exactly once: every step of an execution (the state's effect on the jobs table, the
//! transition, the history) commits in one SQLite transaction, and replies go out only after
//! the commit. After a crash the database holds either all of a step or none of it, and the
//! engine resumes every RUNNING execution from its saved cursor; overdue timers fire at once.
//! A webhook request is the one thing done at least once: it is made after the step that
//! reached it committed, and its answer commits the next step, so a crash in between makes
//! the requests that were in flight again.
//!
//! No busy polling: between commands the thread blocks on the channel with a timeout that ends
//! at the next due timer (a plain thread, because SQLite calls block).
//!
//! - `command`: what callers ask ([`Command`]), the [`Handle`] they ask through, and the
//!   domain errors they get back ([`EngineError`]);
//! - `run_loop`: the engine thread and its timer ([`Engine`]); `handle`: its answer to each
//!   command (group commit);
//! - `execution`: one execution's life (start, step, finish, cancel);
//! - `table`: the task resources, acting on the jobs table inside the current transaction;
//! - `deliver`: the delivery queue; `webhook`: one HTTP request; `pool`: the tasks that
//!   make them, on their own thread, off the engine thread; `line`: each webhook's places.

mod command;
mod deliver;
mod execution;
mod handle;
mod line;
mod pool;
mod run_loop;
mod runs;
mod sweep;
mod table;
mod webhook;

pub use command::{Command, EngineError, Handle, IndexQuery, Page, Submit, submission};
pub use deliver::{DEFAULT_CONCURRENCY, QueueMessage, WEBHOOK_HEADER_FILE};
pub use run_loop::Engine;
pub use runs::RunStart;
pub use webhook::client as webhook_client;

/// The stack's fixed names, as the engine's executions see them.
#[derive(Debug, Clone)]
pub struct StackNames {
    pub stack: String,
    pub table: String,
    pub state_machine_arn: String,
}

impl StackNames {
    pub fn new(stack: &str, table: &str) -> StackNames {
        StackNames {
            stack: stack.into(),
            table: table.into(),
            state_machine_arn: state_machine_arn(stack),
        }
    }

    pub fn execution_arn(&self, name: &str) -> String {
        waitable_core::arn::execution_arn(&self.state_machine_arn, name)
            .expect("a state machine ARN")
    }
}

pub fn state_machine_arn(stack: &str) -> String {
    waitable_core::arn::local_state_machine_arn(stack)
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests;
