//! The engine thread: it waits for the next command or the next due timer. Commands are
//! committed in batches (group commit), replying only after the commit; due executions and
//! the answers of webhook requests are stepped in batches too, and the webhook requests a step
//! leaves are handed to the send pool only after its commit (see `pool`), so the thread never
//! waits on the network, never holds a transaction across I/O, and a crash repeats at most the
//! requests in flight.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use rusqlite::Connection;

use super::super::prune;
use super::super::store;
use super::command::SendOutcome;
use super::command::{Command, EngineError};
use super::deliver::Delivery as DeliveryTargets;
use super::execution::{Parts, drive, fail_internally};
use super::pool::{Pool, SendRequest};
use super::webhook::{self, HttpClient};
use super::{StackNames, now_ms};
use waitable_asl::{self as asl, Machine};
use waitable_core::retention::ATTR_EXPIRES_AT;

/// How many commands one transaction takes, and how many due executions one pass steps
/// before the engine looks at its commands again.
pub(super) const BATCH: usize = 256;
/// The longest the engine steps due executions before it answers waiting commands.
const FIRE_SLICE: Duration = Duration::from_millis(20);
/// The longest the engine sleeps without looking at the clock again.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// The one writer of a stack's database (runs on its own thread; see [`Engine::run`]).
pub struct Engine {
    pub(super) conn: Connection,
    pub(super) names: StackNames,
    pub(super) machines: HashMap<i64, Arc<Machine>>,
    pub(super) current: i64,
    pub(super) delivery: DeliveryTargets,
    /// The webhook requests' pool (from [`Engine::run`] on) and the client it makes them
    /// with (until then).
    pool: Option<Pool>,
    client: Option<HttpClient>,
    /// When to look for expired jobs next (retention, `super::super::prune`).
    next_prune: std::time::Instant,
    /// The database file and which file it was at the start (see [`Engine::db_file_gone`]).
    db_file: Option<(std::path::PathBuf, Option<(u64, u64)>)>,
    next_db_check: std::time::Instant,
    /// Answers of webhook requests not yet stepped: due executions go first, so a burst of
    /// answers never delays a job's firing (the answer only records what the webhook already
    /// got).
    pub(super) answers: VecDeque<(String, Option<SendOutcome>)>,
    /// Executions found due and not yet stepped (read [`BATCH`] at a time, stepped a slice at
    /// a time: the timer index is not read again for each slice of a burst).
    due: VecDeque<(String, Option<SendOutcome>)>,
}

impl Engine {
    /// What stepping an execution needs, borrowed apart from the connection and the current
    /// definition, which the caller uses beside it.
    pub(super) fn parts(&mut self) -> (Parts<'_>, &mut Connection, &mut i64) {
        let parts = Parts {
            names: &self.names,
            machines: &mut self.machines,
            delivery: &self.delivery,
            sends: Vec::new(),
        };
        (parts, &mut self.conn, &mut self.current)
    }

    /// Opens the engine on `conn` with `definition` (checked at deploy) as the current one.
    pub fn new(conn: Connection, names: StackNames, definition: &str) -> anyhow::Result<Engine> {
        asl::parse_text(definition).map_err(|e| anyhow::anyhow!("{e}"))?;
        let current = store::ensure_definition(&conn, definition)?;
        super::deliver::init(&conn)?;
        conn.execute_batch(&prune::schema(ATTR_EXPIRES_AT))?;
        // Requests in flight when the engine last stopped are made again.
        store::resume_sending(&conn, now_ms())?;
        Ok(Engine {
            delivery: DeliveryTargets::new(&names.stack, None),
            conn,
            names,
            machines: HashMap::new(),
            current,
            pool: None,
            client: None,
            next_prune: std::time::Instant::now(),
            db_file: None,
            next_db_check: std::time::Instant::now(),
            answers: VecDeque::new(),
            due: VecDeque::new(),
        })
    }

    /// Reads the webhook's header from `file` (in the stack directory) at each delivery.
    pub fn with_webhook_header_file(mut self, file: std::path::PathBuf) -> Engine {
        self.delivery.header_file = Some(file);
        self
    }

    /// Watches `file`, the database the engine opened: deleted or replaced, the engine stops.
    pub fn with_db_file(mut self, file: std::path::PathBuf) -> Engine {
        let id = store::identity(&file);
        self.db_file = Some((file, id));
        self
    }

    /// Whether the database file was deleted or replaced since the engine opened it: its
    /// writes would then go to a file nobody will open again. Looked at once a second.
    fn db_file_gone(&mut self) -> Option<String> {
        let now = std::time::Instant::now();
        if now < self.next_db_check {
            return None;
        }
        self.next_db_check = now + Duration::from_secs(1);
        let (path, opened) = self.db_file.as_ref()?;
        let what = match store::identity(path) {
            None => "deleted or moved",
            Some(id) if Some(id) != *opened => "replaced by another file",
            Some(_) => return None,
        };
        Some(format!(
            "the database {} was {what} while the engine ran: it stops rather than acknowledge writes nobody would see (put the file back and start the engine again, or destroy the stack)",
            path.display()
        ))
    }

    /// Makes the webhook requests with `client` (else one of [`webhook::client`]'s).
    pub fn with_webhook_client(mut self, client: HttpClient) -> Engine {
        self.client = Some(client);
        self
    }

    /// At most `n` requests to one webhook at once (the stack's setting).
    pub fn with_webhook_concurrency(mut self, n: usize) -> Engine {
        self.delivery.concurrency = n.max(1);
        self
    }

    /// Runs until Stop or Destroy (or the channel closes). `tx` is the channel's sending end,
    /// for the send pool's outcomes. `stopped` is called last, also if the engine panics, so
    /// the server never outlives its engine.
    pub fn run(mut self, tx: Sender<Command>, rx: Receiver<Command>, stopped: impl FnOnce()) {
        let _guard = OnDrop(Some(stopped));
        let client = self
            .client
            .take()
            .unwrap_or_else(|| webhook::client(self.delivery.concurrency));
        match Pool::new(self.delivery.clone(), client, tx) {
            Ok(pool) => self.pool = Some(pool),
            Err(e) => {
                eprintln!("engine: the webhook requests' thread could not start: {e}");
                return;
            }
        }
        loop {
            if let Some(why) = self.db_file_gone() {
                eprintln!("engine: {why}");
                break;
            }
            self.prune_if_due();
            let more_due = match self.fire_due() {
                Ok(more) => more,
                Err(err) => {
                    eprintln!("engine: stepping due executions failed: {err:#}");
                    std::thread::sleep(Duration::from_millis(500));
                    false
                }
            };
            let more_answers = if more_due {
                !self.answers.is_empty()
            } else {
                match self.step_answers() {
                    Ok(more) => more,
                    Err(err) => {
                        eprintln!("engine: stepping answered executions failed: {err:#}");
                        false
                    }
                }
            };
            let wait = if more_due || more_answers {
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
        // Answers already in hand are recorded before the engine stops (else its restart
        // would send those requests again).
        while matches!(self.step_answers(), Ok(true)) {}
    }

    /// Until the next timer, at most [`MAX_SLEEP`] (the wall clock is checked again then, in
    /// case it jumped or the machine slept).
    fn next_wait(&self) -> Duration {
        let now = std::time::Instant::now();
        let until_prune = self.next_prune.saturating_duration_since(now);
        let until_check = self.next_db_check.saturating_duration_since(now);
        self.next_timer().min(until_prune).min(until_check)
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
                let n = prune::prune_expired(&tx, ATTR_EXPIRES_AT, now_ms(), prune::PRUNE_BATCH)?;
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

    /// Steps up to [`BATCH`] due executions for at most [`FIRE_SLICE`] (then commands are
    /// answered before the rest), in one transaction; true if more are due.
    fn fire_due(&mut self) -> anyhow::Result<bool> {
        let began = std::time::Instant::now();
        let mut full = false;
        if self.due.is_empty() {
            let names = store::due_executions(&self.conn, now_ms(), BATCH)?;
            full = names.len() == BATCH;
            self.due.extend(names.into_iter().map(|n| (n, None)));
        }
        let mut due = std::mem::take(&mut self.due);
        let stepped = self.step_many(&mut due, began + FIRE_SLICE);
        self.due = due;
        stepped.map(|_| !self.due.is_empty() || full)
    }

    /// Steps the waiting answers for at most [`FIRE_SLICE`]; true if some are left.
    fn step_answers(&mut self) -> anyhow::Result<bool> {
        if self.answers.is_empty() {
            return Ok(false);
        }
        let until = std::time::Instant::now() + FIRE_SLICE;
        let mut answers = std::mem::take(&mut self.answers);
        let stepped = self.step_many(&mut answers, until);
        self.answers = answers;
        stepped.map(|_| !self.answers.is_empty())
    }

    /// Steps executions from the front of `steps` (with the answer to its webhook request, if
    /// that came back) until `until` passes (at least one), in one transaction, commits once,
    /// and only then hands the requests the steps left to the send pool: a crash before the
    /// commit loses steps that sent nothing, so it repeats at most the requests already in
    /// flight. One commit for many steps is what keeps a burst of due jobs on time (each
    /// commit appends every page it touched to the WAL). Returns how many were stepped.
    ///
    /// A broken execution must not block the others: if one fails to step, the transaction
    /// is rolled back and the same executions are stepped again, each in a savepoint of its
    /// own ([`Engine::step_guarded`]), where the broken one is failed on its own. The common
    /// case pays for no savepoint (each one copies the pages it touches to a subjournal).
    pub(super) fn step_many(
        &mut self,
        steps: &mut VecDeque<(String, Option<SendOutcome>)>,
        until: std::time::Instant,
    ) -> anyhow::Result<usize> {
        let (mut parts, conn, _) = self.parts();
        let tx = conn.transaction()?;
        // Stepped from the front in place, and taken off only once committed.
        let mut n = 0;
        while n == 0 || std::time::Instant::now() < until {
            let Some((name, outcome)) = steps.get(n) else {
                break;
            };
            // The time it is actually stepped (what LastUpdated and DeliveredAt record).
            let stepped = drive(&tx, &mut parts, name, now_ms(), outcome.clone());
            n += 1;
            if stepped.is_err() {
                drop(tx);
                return self.step_guarded(steps, n);
            }
        }
        tx.commit()?;
        steps.drain(..n);
        let sends = parts.sends;
        self.dispatch(sends);
        Ok(n)
    }

    /// Steps the first `n` of `steps` as [`Engine::step_many`] does, each in a savepoint: an
    /// execution that fails to step is rolled back to where it stood and failed
    /// (`States.Runtime`), the others' steps stand.
    fn step_guarded(
        &mut self,
        steps: &mut VecDeque<(String, Option<SendOutcome>)>,
        n: usize,
    ) -> anyhow::Result<usize> {
        let (mut parts, conn, _) = self.parts();
        let tx = conn.transaction()?;
        let mut stepped = 0;
        while stepped < n {
            let Some((name, outcome)) = steps.pop_front() else {
                break;
            };
            let now = now_ms();
            let sent_before = parts.sends.len();
            tx.execute_batch("SAVEPOINT step")?;
            match drive(&tx, &mut parts, &name, now, outcome) {
                Ok(()) => tx.execute_batch("RELEASE step")?,
                Err(e) => {
                    tx.execute_batch("ROLLBACK TO step; RELEASE step")?;
                    parts.sends.truncate(sent_before);
                    eprintln!("engine: execution {name} failed internally: {e:#}");
                    fail_internally(&tx, &name, &format!("{e:#}"), now)?;
                }
            }
            stepped += 1;
        }
        tx.commit()?;
        let sends = parts.sends;
        self.dispatch(sends);
        Ok(stepped)
    }

    /// Hands committed steps' requests to the send pool.
    pub(super) fn dispatch(&self, sends: Vec<SendRequest>) {
        if let Some(pool) = &self.pool {
            for r in sends {
                pool.send(r);
            }
        }
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

/// Runs `f` inside a savepoint: on error only its own writes are rolled back.
pub(super) fn with_savepoint<T>(
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
