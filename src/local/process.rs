//! The engine as a background process: started detached by deploy (the same binary run as
//! `local run`, in its own process group, output to a log file in the state directory),
//! found again by later commands by asking it over its control socket.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use super::client::{self, CallError};
use super::host::TIED_ENV;
use super::protocol::{self, Health};
use super::state::{HOME_ENV, StackDir};
use super::store;
use crate::poll::{Schedule, Step, poll_within};
use crate::{Error, Result};

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Where a stack's engine stands, as the engine itself answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineState {
    /// No stack was deployed here.
    NotDeployed,
    /// Deployed, but no engine answers on its socket: it stopped or died (or the machine
    /// restarted).
    Dead,
    /// Something holds the socket but did not answer in time (a paused or stuck engine).
    NotAnswering,
    Running(Health),
}

/// Asks the stack's engine whether it runs (at most [`client::TIMEOUT`]).
pub async fn probe(dir: &StackDir) -> EngineState {
    if !dir.exists() {
        return EngineState::NotDeployed;
    }
    // A connection dropped without an answer is an engine going away (or a moment of
    // overload): look again for a second before saying it does not answer.
    let found = poll_within(
        &Schedule::every(Duration::from_millis(100)),
        Duration::from_secs(1),
        async || {
            Ok(match health(dir).await {
                Some(state) => Step::Done(state),
                None => Step::Pending,
            })
        },
    )
    .await;
    found.ok().flatten().unwrap_or(EngineState::NotAnswering)
}

/// One health call: None when the connection broke without an answer.
async fn health(dir: &StackDir) -> Option<EngineState> {
    match client::call(&dir.socket_file(), "GET", protocol::HEALTH, None).await {
        Ok((200, v)) => Some(match serde_json::from_value::<Health>(v) {
            Ok(h) => EngineState::Running(h),
            Err(_) => EngineState::NotAnswering,
        }),
        Ok(_) => Some(EngineState::NotAnswering),
        Err(CallError::NotListening(_)) => Some(EngineState::Dead),
        Err(CallError::NoAnswer) => Some(EngineState::NotAnswering),
        Err(CallError::Other(_)) => None,
    }
}

/// The write ends of tied engines' stdin, held until this process exits (see `host::TIED_ENV`).
static TIES: std::sync::Mutex<Vec<std::process::ChildStdin>> = std::sync::Mutex::new(Vec::new());

/// Starts the engine of the stack in `dir` as a detached process and waits until it answers.
/// A `tied` engine stops when this process exits (the demo's throw-away stack).
pub async fn start(
    exe: Option<&Path>,
    home: &Path,
    stack: &str,
    dir: &StackDir,
    tied: bool,
) -> Result<Health> {
    let exe = match exe {
        Some(e) => e.to_path_buf(),
        None => std::env::current_exe().context("finding the waitable executable")?,
    };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.log_file())
        .with_context(|| format!("opening {}", dir.log_file().display()))?;
    let _ = std::fs::remove_file(dir.engine_file());
    let mut cmd = Command::new(exe);
    cmd.args(["--target", "local", "--stack-name", stack, "local", "run"])
        .env(HOME_ENV, home)
        .stdin(if tied { Stdio::piped() } else { Stdio::null() })
        .stdout(log.try_clone()?)
        .stderr(log);
    // Its own process group: Ctrl-C in the terminal that ran deploy does not reach it.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    if tied {
        cmd.env(TIED_ENV, "1");
    }
    let mut child = cmd.spawn().context("starting the local engine")?;
    if let Some(stdin) = child.stdin.take() {
        TIES.lock().unwrap_or_else(|e| e.into_inner()).push(stdin);
    }
    let pid = child.id();
    let started = poll_within(
        &Schedule::every(Duration::from_millis(25)),
        START_TIMEOUT,
        async || {
            if let Some(status) = child.try_wait()? {
                return Err(Error::failed(format!(
                    "the local engine exited at start ({status}); its log {} says:\n{}",
                    dir.log_file().display(),
                    log_tail(&dir.log_file())
                )));
            }
            Ok(match health(dir).await {
                Some(EngineState::Running(h)) if h.pid == pid => Step::Done(h),
                _ => Step::Pending,
            })
        },
    )
    .await?;
    let Some(engine) = started else {
        return Err(Error::failed(format!(
            "the local engine (pid {pid}) did not answer within {}s; see {}",
            START_TIMEOUT.as_secs(),
            dir.log_file().display()
        )));
    };
    // Reap it when it exits, if this process is still around then.
    std::thread::spawn(move || child.wait());
    Ok(engine)
}

/// The last lines of the engine's log, for error messages.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

/// Waits until no engine holds the stack's database (after destroy asked it to stop).
pub async fn wait_stopped(dir: &StackDir, timeout: Duration) -> bool {
    let stopped = poll_within(
        &Schedule::every(Duration::from_millis(25)),
        timeout,
        async || {
            Ok(if store::in_use(&dir.db_file()) {
                Step::Pending
            } else {
                Step::Done(())
            })
        },
    )
    .await;
    matches!(stopped, Ok(Some(())))
}
