//! The engine thread: it waits for the next command or the next due timer, and commits each
//! batch of work in one SQLite transaction (group commit), replying only after the commit.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use rusqlite::Connection;
use serde_json::Value;

use super::super::http_contract;
use super::super::prune;
use super::super::store;
use super::super::store_index;
use super::command::{Command, EngineError, Page, Reply};
use super::deliver::Delivery as DeliveryTargets;
use super::execution::{cancel, drive, fail_internally, submit};
use super::{StackNames, now_ms};
use waitable_asl::ddb::Item;
use waitable_asl::{self as asl, Machine};
use waitable_core::job::ATTR_ID;
use waitable_core::retention::ATTR_EXPIRES_AT;

/// How many due executions one transaction steps (keeps commands answered during a burst).
const BATCH: usize = 512;
/// The longest the engine sleeps without looking at the clock again.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// The one writer of a stack's database (runs on its own thread; see [`Engine::run`]).
pub struct Engine {
    conn: Connection,
    names: StackNames,
    machines: HashMap<i64, Arc<Machine>>,
    current: i64,
    delivery: DeliveryTargets,
    /// When to look for expired jobs next (retention, `super::super::prune`).
    next_prune: std::time::Instant,
}

impl Engine {
    /// Opens the engine on `conn` with `definition` (checked at deploy) as the current one.
    pub fn new(conn: Connection, names: StackNames, definition: &str) -> anyhow::Result<Engine> {
        asl::parse_text(definition).map_err(|e| anyhow::anyhow!("{e}"))?;
        let current = store::ensure_definition(&conn, definition)?;
        super::deliver::init(&conn)?;
        conn.execute_batch(&prune::schema(ATTR_EXPIRES_AT))?;
        Ok(Engine {
            delivery: DeliveryTargets::new(&names.stack, None),
            conn,
            names,
            machines: HashMap::new(),
            current,
            next_prune: std::time::Instant::now(),
        })
    }

    /// Reads the webhook's header from `file` (in the stack directory) at each delivery.
    pub fn with_webhook_header_file(mut self, file: std::path::PathBuf) -> Engine {
        self.delivery.header_file = Some(file);
        self
    }

    /// Runs until Stop or Destroy (or the channel closes). `stopped` is called last, also
    /// if the engine panics, so the server never outlives its engine.
    pub fn run(mut self, rx: Receiver<Command>, stopped: impl FnOnce()) {
        let _guard = OnDrop(Some(stopped));
        loop {
            self.prune_if_due();
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
        let until_prune = self
            .next_prune
            .saturating_duration_since(std::time::Instant::now());
        self.next_timer().min(until_prune)
    }

    fn next_timer(&self) -> Duration {
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
        let mut replies: Vec<Delivery> = Vec::new();
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
                Command::Submit { name, input, reply } => {
                    let r = with_savepoint(&tx, |c| {
                        submit(
                            c,
                            &self.names,
                            &mut self.machines,
                            &self.delivery,
                            self.current,
                            &name,
                            input,
                            now,
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
                    index: None,
                    reply,
                } => {
                    let r = store::list_items(&tx, after.as_deref(), limit)
                        .map(|(items, more)| {
                            let next_token = more
                                .then(|| {
                                    items.last().map(|i| http_contract::encode_token(&id_of(i)))
                                })
                                .flatten();
                            Page { items, next_token }
                        })
                        .map_err(EngineError::internal);
                    replies.push(deliver(reply, r));
                }
                Command::Page {
                    after,
                    limit,
                    index: Some(q),
                    reply,
                } => {
                    let r = store_index::page(&tx, q.status, &q.window, after.as_deref(), limit)
                        .map(|(items, next)| Page {
                            items,
                            next_token: next.map(|t| http_contract::encode_token(&t)),
                        })
                        .map_err(EngineError::internal);
                    replies.push(deliver(reply, r));
                }
                Command::Seed { records, reply } => {
                    let r = with_savepoint(&tx, |c| {
                        for rec in &records {
                            let (id, item) = http_contract::item_from_record(rec)
                                .map_err(EngineError::InvalidRecord)?;
                            store::put_item(c, &id, &item).map_err(EngineError::internal)?;
                        }
                        Ok(records.len())
                    });
                    replies.push(deliver(reply, r));
                }
                Command::Reload { definition, reply } => {
                    let r = match asl::parse_text(&definition) {
                        Err(e) => Err(EngineError::UnsupportedDefinition(e.to_string())),
                        Ok(_) => store::ensure_definition(&tx, &definition)
                            .map(|id| self.current = id)
                            .map_err(EngineError::internal),
                    };
                    replies.push(deliver(reply, r));
                }
                Command::QueueReceive { max, reply } => {
                    let r = with_savepoint(&tx, |c| {
                        super::deliver::receive(c, max, now).map_err(EngineError::internal)
                    });
                    replies.push(deliver(reply, r));
                }
                Command::QueueDelete { handles, reply } => {
                    let r = with_savepoint(&tx, |c| {
                        super::deliver::delete(c, &handles).map_err(EngineError::internal)
                    });
                    replies.push(deliver(reply, r));
                }
                Command::Reconcile {
                    ids,
                    dry_run,
                    reply,
                } => {
                    let r = with_savepoint(&tx, |c| super::sweep::sweep(c, &ids, dry_run, now));
                    replies.push(deliver(reply, r));
                }
                Command::History { name, reply } => {
                    let r = store::history(&tx, &name).map_err(EngineError::internal);
                    replies.push(deliver(reply, r));
                }
                Command::Destroy { reply } => {
                    let r = with_savepoint(&tx, |c| {
                        let ids = store::started_ids(c).map_err(EngineError::internal)?;
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
        let committed = tx.commit().map_err(|err| {
            let cause = store::explain(&err);
            eprintln!("engine: commit failed: {cause}");
            cause
        });
        for r in replies {
            r(committed.clone());
        }
        keep_running
    }

    /// Deletes expired jobs, a batch at a time, at most every [`prune::PRUNE_EVERY`] (sooner
    /// while a backlog remains).
    fn prune_if_due(&mut self) {
        let now = std::time::Instant::now();
        if now < self.next_prune {
            return;
        }
        let pruned = self
            .conn
            .transaction()
            .map_err(anyhow::Error::from)
            .and_then(|tx| {
                let n = prune::prune_expired(
                    &tx,
                    ATTR_EXPIRES_AT,
                    now_ms() / 1000,
                    prune::PRUNE_BATCH,
                )?;
                tx.commit()?;
                Ok(n)
            });
        let backlog = match pruned {
            Ok(n) => n == prune::PRUNE_BATCH,
            Err(err) => {
                eprintln!("engine: deleting expired jobs failed: {err:#}");
                false
            }
        };
        self.next_prune = now
            + if backlog {
                Duration::from_millis(100)
            } else {
                prune::PRUNE_EVERY
            };
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
                drive(
                    c,
                    &self.names,
                    &mut self.machines,
                    &self.delivery,
                    name,
                    now,
                )
                .map_err(EngineError::internal)
            });
            if let Err(e) = r {
                // A broken execution must not block the others: fail it.
                eprintln!("engine: execution {name} failed internally: {e}");
                with_savepoint(&tx, |c| {
                    fail_internally(c, name, &e.to_string(), now).map_err(EngineError::internal)
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

/// A reply waiting for the commit's outcome (the commit's error, if it failed).
type Delivery = Box<dyn FnOnce(Result<(), String>)>;

fn deliver<T: 'static>(reply: Reply<T>, r: Result<T, EngineError>) -> Delivery {
    Box::new(move |committed| {
        let r = match committed {
            Ok(()) => r,
            Err(cause) => Err(EngineError::CommitFailed(cause)),
        };
        let _ = reply.send(r);
    })
}

/// Runs `f` inside a savepoint: on error only its own writes are rolled back.
fn with_savepoint<T>(
    c: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    c.execute_batch("SAVEPOINT step")
        .map_err(EngineError::internal)?;
    let r = f(c);
    let end = if r.is_ok() {
        "RELEASE step"
    } else {
        "ROLLBACK TO step; RELEASE step"
    };
    c.execute_batch(end).map_err(EngineError::internal)?;
    r
}

fn id_of(item: &Item) -> String {
    item.get(ATTR_ID)
        .and_then(|v| v.get("S"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_commit_names_its_cause() {
        let (reply, mut rx) = tokio::sync::oneshot::channel::<Result<u8, EngineError>>();
        deliver(reply, Ok(1))(Err("database disk image is malformed".into()));
        let err = rx.try_recv().unwrap().unwrap_err();
        assert_eq!(
            err.to_string(),
            "the database commit failed: database disk image is malformed"
        );
    }
}
