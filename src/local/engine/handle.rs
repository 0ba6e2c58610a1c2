//! The engine's answer to each command. Commands are taken in batches and committed in one
//! transaction (group commit), each in its own savepoint; replies go out after the commit.
//! A command whose caller gave up (its reply channel closed, or its deadline passed) is not
//! run at all. The send pool's outcomes each step their execution in its own transaction.

use rusqlite::Connection;
use serde_json::Value;

use super::super::http_contract;
use super::super::store;
use super::super::store_index;
use super::command::{Command, EngineError, IndexQuery, Page, Reply};
use super::execution::{cancel, submit};
use super::now_ms;
use super::run_loop::{Engine, with_savepoint};
use waitable_asl as asl;
use waitable_asl::ddb::Item;
use waitable_core::job::ATTR_ID;

/// A reply waiting for the commit's outcome (the commit's error, if it failed).
type Delivery = Box<dyn FnOnce(Result<(), String>)>;

impl Engine {
    /// Handles a batch of commands; returns false when the engine must stop.
    pub(super) fn handle(&mut self, batch: Vec<Command>) -> bool {
        let now = now_ms();
        let mut outcomes = Vec::new();
        let mut commands = Vec::new();
        for cmd in batch {
            match cmd {
                Command::Delivered(o) => outcomes.push(o),
                Command::Stop => {
                    self.commit_commands(commands, now);
                    return false;
                }
                cmd if cmd.abandoned(now) => cmd.give_up(),
                Command::Until { command, .. } => commands.push(*command),
                cmd => commands.push(cmd),
            }
        }
        let keep_running = self.commit_commands(commands, now);
        // Stepped by the run loop once no execution is due (`Engine::step_answers`).
        self.answers
            .extend(outcomes.into_iter().map(|o| (o.execution.clone(), Some(o))));
        keep_running
    }

    /// Runs `commands` in one transaction and answers them after its commit; false after a
    /// Destroy.
    fn commit_commands(&mut self, commands: Vec<Command>, now: i64) -> bool {
        if commands.is_empty() {
            return true;
        }
        let mut replies: Vec<Delivery> = Vec::new();
        let mut keep_running = true;
        let (mut parts, conn, current) = self.parts();
        let tx = match conn.transaction() {
            Ok(tx) => tx,
            Err(err) => {
                eprintln!("engine: cannot begin a transaction: {err:#}");
                return true;
            }
        };
        for cmd in commands {
            replies.push(match cmd {
                Command::Submit { request, reply } => {
                    let r = with_savepoint(&tx, |c| submit(c, &mut parts, *current, request, now));
                    answer(reply, r)
                }
                Command::Cancel { id, reply } => {
                    answer(reply, with_savepoint(&tx, |c| cancel(c, &id, now)))
                }
                Command::StartRun { request, reply } => {
                    let r = with_savepoint(&tx, |c| {
                        super::runs::start_run(c, &mut parts, *current, request, now)
                    });
                    answer(reply, r)
                }
                Command::StopRun { id, run, reply } => answer(
                    reply,
                    with_savepoint(&tx, |c| super::runs::stop_run(c, &id, run, now)),
                ),
                Command::Runs { job, reply } => answer(reply, super::runs::summaries(&tx, &job)),
                Command::Page {
                    after,
                    limit,
                    index,
                    reply,
                } => answer(reply, page(&tx, after.as_deref(), limit, index)),
                Command::Seed { records, reply } => {
                    answer(reply, with_savepoint(&tx, |c| seed(c, &records)))
                }
                Command::Reload { definition, reply } => {
                    answer(reply, reload(&tx, &definition).map(|id| *current = id))
                }
                Command::QueueReceive { max, reply } => {
                    let r = with_savepoint(&tx, |c| {
                        super::deliver::receive(c, max, now).map_err(EngineError::internal)
                    });
                    answer(reply, r)
                }
                Command::QueueDelete { handles, reply } => {
                    let r = with_savepoint(&tx, |c| {
                        super::deliver::delete(c, &handles).map_err(EngineError::internal)
                    });
                    answer(reply, r)
                }
                Command::Reconcile {
                    ids,
                    dry_run,
                    reply,
                } => answer(
                    reply,
                    with_savepoint(&tx, |c| super::sweep::sweep(c, &ids, dry_run, now)),
                ),
                Command::History { name, reply } => answer(
                    reply,
                    store::history(&tx, &name).map_err(EngineError::internal),
                ),
                Command::Destroy { reply } => {
                    keep_running = false;
                    answer(reply, with_savepoint(&tx, |c| destroy(c, now)))
                }
                Command::Delivered(_) | Command::Until { .. } | Command::Stop => {
                    unreachable!("taken apart by handle")
                }
            });
        }
        let committed = tx.commit().map_err(|err| {
            let cause = store::explain(&err);
            eprintln!("engine: commit failed: {cause}");
            cause
        });
        let sends = if committed.is_ok() {
            std::mem::take(&mut parts.sends)
        } else {
            Vec::new()
        };
        for r in replies {
            r(committed.clone());
        }
        self.dispatch(sends);
        keep_running
    }
}

fn page(
    c: &Connection,
    after: Option<&str>,
    limit: usize,
    index: Option<IndexQuery>,
) -> Result<Page, EngineError> {
    match index {
        None => store::list_items(c, after, limit).map(|(items, more)| {
            let next_token = more
                .then(|| items.last().map(|i| http_contract::encode_token(&id_of(i))))
                .flatten();
            Page { items, next_token }
        }),
        Some(q) => {
            store_index::page(c, q.status, &q.window, after, limit).map(|(items, next)| Page {
                items,
                next_token: next.map(|t| http_contract::encode_token(&t)),
            })
        }
    }
    .map_err(EngineError::internal)
}

fn seed(c: &Connection, records: &[Value]) -> Result<usize, EngineError> {
    for rec in records {
        let (id, item) =
            http_contract::item_from_record(rec).map_err(EngineError::InvalidRecord)?;
        store::put_item(c, &id, &item).map_err(EngineError::internal)?;
    }
    Ok(records.len())
}

fn reload(c: &Connection, definition: &str) -> Result<i64, EngineError> {
    asl::parse_text(definition).map_err(|e| EngineError::UnsupportedDefinition(e.to_string()))?;
    store::ensure_definition(c, definition).map_err(EngineError::internal)
}

/// Cancels every waiting job; returns how many.
fn destroy(c: &Connection, now: i64) -> Result<usize, EngineError> {
    let ids = store::started_ids(c).map_err(EngineError::internal)?;
    for id in &ids {
        cancel(c, id, now)?;
    }
    Ok(ids.len())
}

fn answer<T: 'static>(reply: Reply<T>, r: Result<T, EngineError>) -> Delivery {
    Box::new(move |committed| {
        let r = match committed {
            Ok(()) => r,
            Err(cause) => Err(EngineError::CommitFailed(cause)),
        };
        let _ = reply.send(r);
    })
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
        answer(reply, Ok(1))(Err("database disk image is malformed".into()));
        let err = rx.try_recv().unwrap().unwrap_err();
        assert_eq!(
            err.to_string(),
            "the database commit failed: database disk image is malformed"
        );
    }
}
