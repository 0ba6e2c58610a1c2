//! Runs one stack's engine in this process: the engine thread, the public API on 127.0.0.1,
//! the control socket in the stack's directory, and the pid/port file. `waitable local run`
//! calls it in the foreground; deploy starts it as a detached process (see `process`).

use std::sync::Arc;
use std::sync::mpsc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::engine::{Command, Engine, Handle, StackNames};
use super::http;
use super::protocol::Health;
use super::state::{EngineFile, StackDir, write_json};
use super::store::{self, OpenError};
use crate::output::Ui;
use crate::{Error, Result};

/// When set, the engine stops once its stdin closes (its parent exited).
pub const TIED_ENV: &str = "WAITABLE_ENGINE_TIED_TO_STDIN";

/// Where the public API listens.
pub enum Listen {
    /// This port, or if 0, the stack's previous one if free, else any free one.
    Port(u16),
    /// A listener bound already (`local run --port`, checked before anything is written).
    Bound(TcpListener),
}

/// Serves the stack in `dir` until Ctrl-C, SIGTERM or `destroy`.
pub async fn run(dir: &StackDir, listen: Listen, ui: &Ui) -> Result<()> {
    let stack = dir.read_stack().map_err(|e| {
        Error::failed(format!(
            "{e:#}: deploy the stack first (waitable deploy --target local)"
        ))
    })?;
    let conn = store::open(&dir.db_file()).map_err(|e| open_failed(&stack.stack, dir, e))?;
    // The stack's setting, within what the descriptors allow (the public port has the rest).
    let open_files = super::listen::raise_open_files_limit();
    let webhooks = stack
        .webhook_concurrency
        .min(super::listen::webhook_limit(open_files));
    let engine = Engine::new(
        conn,
        StackNames::new(&stack.stack, &stack.table_name),
        &stack.definition,
    )?
    .with_webhook_header_file(dir.root.join(super::engine::WEBHOOK_HEADER_FILE))
    .with_webhook_concurrency(webhooks)
    .with_webhook_client(super::engine::webhook_client(webhooks))
    .with_db_file(dir.db_file());

    let listener = match listen {
        Listen::Bound(l) => l,
        Listen::Port(asked) => match bind(asked).await? {
            Some(l) => l,
            None => bind_previous_or_any(stack.port, ui).await?,
        },
    };
    let port = listener.local_addr()?.port();
    let pid = std::process::id();
    let control = control_socket(dir)?;
    write_json(&dir.engine_file(), &EngineFile { pid, port })?;
    if stack.port != Some(port) {
        let mut s = stack.clone();
        s.port = Some(port);
        dir.write_stack(&s)?;
    }

    let shutdown = Arc::new(Notify::new());
    let (tx, rx) = mpsc::channel();
    let stopped = shutdown.clone();
    let done = tx.clone();
    let thread = std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || engine.run(done, rx, move || stopped.notify_waiters()))
        .context("starting the engine thread")?;
    let health = Health {
        stack: stack.stack.clone(),
        pid,
        port,
    };
    let handle = Handle { tx: tx.clone() };
    let retention_days: http::Retention = Default::default();
    retention_days.store(stack.retention_days, std::sync::atomic::Ordering::Relaxed);
    let public = http::public_router(handle.clone(), retention_days.clone(), port);
    let private =
        super::http_private::private_router(handle, retention_days, health, shutdown.clone());
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
            s.notify_waiters();
        });
    }
    let stop = {
        let s = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate() => {}
            }
            s.notify_waiters();
        })
    };
    let served = serve(listener, public, control, private, shutdown).await;
    stop.abort();
    let _ = std::fs::remove_file(dir.socket_file());
    let _ = tx.send(Command::Stop);
    drop(tx);
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .ok();
    let _ = std::fs::remove_file(dir.engine_file());
    served?;
    ui.info(format!(
        "{} engine stopped",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    Ok(())
}

/// Serves the public API and the control socket until `shutdown` is notified.
async fn serve(
    public_listener: TcpListener,
    public: axum::Router,
    control: Control,
    private: axum::Router,
    shutdown: Arc<Notify>,
) -> Result<()> {
    // Registered before anything can notify, so no notification is missed.
    let (fa, fb) = (
        shutdown.clone().notified_owned(),
        shutdown.clone().notified_owned(),
    );
    let limit = super::listen::connection_limit(super::listen::raise_open_files_limit());
    let public = async {
        super::listen::serve(public_listener, public, limit, fa, shutdown.clone()).await;
        Ok::<(), std::io::Error>(())
    };
    #[cfg(unix)]
    {
        let private = axum::serve(control.0, private).with_graceful_shutdown(fb);
        let (p, c) = tokio::join!(public, private);
        p.context("serving the local API")?;
        c.context("serving the control socket")?;
    }
    #[cfg(not(unix))]
    {
        let _ = (control, private, fb);
        public.await.context("serving the local API")?;
    }
    Ok(())
}

/// The control socket: the private routes, for whoever can open the stack's directory.
#[cfg(unix)]
struct Control(tokio::net::UnixListener);
#[cfg(not(unix))]
struct Control;

#[cfg(unix)]
fn control_socket(dir: &StackDir) -> Result<Control> {
    use std::os::unix::fs::PermissionsExt;
    dir.create()?;
    let path = dir.socket_file();
    // We hold the database: any socket left here is a dead engine's.
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path).map_err(|e| {
        Error::failed(format!(
            "cannot create the engine's control socket {}: {e} (a path over about 100 bytes is too long for a socket: set WAITABLE_HOME to a shorter directory)",
            path.display()
        ))
    })?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    std::fs::set_permissions(&dir.root, std::fs::Permissions::from_mode(0o700))?;
    Ok(Control(listener))
}

#[cfg(not(unix))]
fn control_socket(_dir: &StackDir) -> Result<Control> {
    Err(Error::failed(
        "the local target needs a Unix-like system (Linux, macOS): its engine is controlled through a Unix socket",
    ))
}

/// The engine cannot open its database: what happened and the way out.
fn open_failed(stack: &str, dir: &StackDir, e: OpenError) -> Error {
    let recreate = format!(
        "`waitable destroy --target local --stack-name {stack}` then `waitable deploy --target local --stack-name {stack}` starts it again empty"
    );
    Error::failed(match e {
        OpenError::Missing(path) => format!(
            "the database of stack {stack} ({path}) is missing: it was deleted or moved, and its jobs with it. Put the file back (from a backup), or {recreate}"
        ),
        OpenError::InUse(_) => {
            let at = dir
                .read_engine()
                .map(|e| format!(" (pid {}, per {})", e.pid, dir.engine_file().display()))
                .unwrap_or_default();
            format!(
                "the engine of stack {stack} is already running{at}: it holds the stack's database"
            )
        }
        OpenError::Damaged { path, cause } => format!(
            "the database of stack {stack} ({path}) cannot be used: {cause}. Restore the file from a backup, or {recreate} (its jobs are lost)"
        ),
    })
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

/// Binds the asked port (0: none asked, `None`).
pub async fn bind(asked: u16) -> Result<Option<TcpListener>> {
    if asked == 0 {
        return Ok(None);
    }
    TcpListener::bind(("127.0.0.1", asked))
        .await
        .map(Some)
        .map_err(|e| Error::failed(format!("cannot listen on 127.0.0.1:{asked}: {e}")))
}

/// The stack's previous port (so the URL survives restarts), else any; says so out loud when
/// the previous one is taken.
async fn bind_previous_or_any(previous: Option<u16>, ui: &Ui) -> Result<TcpListener> {
    if let Some(p) = previous {
        match TcpListener::bind(("127.0.0.1", p)).await {
            Ok(l) => return Ok(l),
            Err(e) => ui.warn(format!(
                "the stack's port {p} is not available ({e}): the API moves to another port"
            )),
        }
    }
    Ok(TcpListener::bind(("127.0.0.1", 0)).await?)
}
