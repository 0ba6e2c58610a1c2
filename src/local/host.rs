//! Runs one stack's engine in this process: the engine thread, the HTTP API on 127.0.0.1,
//! the lock and the pid/port file. `waitable local run` calls it in the foreground; deploy
//! starts it as a detached process (see `process`).

use std::sync::Arc;
use std::sync::mpsc;

use anyhow::Context;
use tokio::sync::Notify;

use super::engine::{Command, Engine, Handle, StackNames};
use super::http;
use super::protocol::Health;
use super::state::{EngineFile, StackDir, write_json};
use super::store;
use crate::output::Ui;
use crate::{Error, Result};

/// When set, the engine stops once its stdin closes (its parent exited).
pub const TIED_ENV: &str = "WAITABLE_ENGINE_TIED_TO_STDIN";

/// Serves the stack in `dir` until Ctrl-C, SIGTERM or `destroy`.
pub async fn run(dir: &StackDir, port: u16, ui: &Ui) -> Result<()> {
    let stack = dir.read_stack().map_err(|e| {
        Error::failed(format!(
            "{e:#}: deploy the stack first (waitable deploy --target local)"
        ))
    })?;
    let _lock = dir.lock_engine()?;
    let conn = store::open(&dir.db_file())?;
    let engine = Engine::new(
        conn,
        StackNames::new(&stack.stack, &stack.table_name),
        &stack.definition,
    )?;

    let listener = bind(port, stack.port).await?;
    let port = listener.local_addr()?.port();
    let pid = std::process::id();
    write_json(&dir.engine_file(), &EngineFile { pid, port })?;
    if stack.port != Some(port) {
        let mut s = stack.clone();
        s.port = Some(port);
        dir.write_stack(&s)?;
    }

    let shutdown = Arc::new(Notify::new());
    let (tx, rx) = mpsc::channel();
    let stopped = shutdown.clone();
    let thread = std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || engine.run(rx, move || stopped.notify_one()))
        .context("starting the engine thread")?;
    let health = Health {
        stack: stack.stack.clone(),
        pid,
        port,
    };
    let app = http::router(Handle { tx: tx.clone() }, health, shutdown.clone());
    let how_to_stop = if ui.interactive {
        "; Ctrl-C stops it"
    } else {
        ""
    };
    ui.info(format!(
        "{} waitable engine for stack {} on http://127.0.0.1:{port} (pid {pid}){how_to_stop}",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        stack.stack
    ));
    if std::env::var_os(TIED_ENV).is_some() {
        // Tied to the process that started us (demo, tests): stop when it goes away, however
        // it goes away, which closes our stdin.
        let s = shutdown.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 64];
            while matches!(std::io::stdin().read(&mut buf), Ok(n) if n > 0) {}
            s.notify_one();
        });
    }
    let signal = shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = signal.notified() => {}
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate() => {}
            }
        })
        .await
        .context("serving the local API")?;
    let _ = tx.send(Command::Stop);
    drop(tx);
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .ok();
    let _ = std::fs::remove_file(dir.engine_file());
    ui.info(format!(
        "{} engine stopped",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    Ok(())
}

#[cfg(unix)]
async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending().await
}

/// Binds the asked port, else the stack's previous one (so the URL survives restarts), else any.
async fn bind(asked: u16, previous: Option<u16>) -> Result<tokio::net::TcpListener> {
    if asked != 0 {
        return tokio::net::TcpListener::bind(("127.0.0.1", asked))
            .await
            .map_err(|e| Error::failed(format!("cannot listen on 127.0.0.1:{asked}: {e}")));
    }
    if let Some(p) = previous
        && let Ok(l) = tokio::net::TcpListener::bind(("127.0.0.1", p)).await
    {
        return Ok(l);
    }
    Ok(tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?)
}
