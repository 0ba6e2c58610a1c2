//! The private routes of the control socket (the CLI and the tests): whoever can open the
//! stack's directory controls the stack. A call carries its caller's deadline
//! ([`protocol::DEADLINE_HEADER`]): the engine does not run a command after it.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use super::engine::{Command, Handle, Submit};
use super::http::{
    Answer, ApiError, App, MAX_BODY_BYTES, Retention, SEED_BODY_LIMIT, bad_request, json_errors,
    method_not_allowed, not_found, page, status_public, submit_body, submit_public,
};
use super::http_contract;
use super::protocol::{
    self, CancelAnswer, CancelRequest, DestroyAnswer, Health, JobsPage, ReloadRequest, SeedAnswer,
    StartExecution,
};

/// The caller's deadline (epoch milliseconds), from [`protocol::DEADLINE_HEADER`].
pub(super) struct Deadline(Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for Deadline {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.headers.get(protocol::DEADLINE_HEADER) {
            None => Ok(Deadline(None)),
            Some(v) => v
                .to_str()
                .ok()
                .and_then(|t| t.parse().ok())
                .map(|ms| Deadline(Some(ms)))
                .ok_or_else(|| {
                    bad_request(format!(
                        "{} must be epoch milliseconds",
                        protocol::DEADLINE_HEADER
                    ))
                }),
        }
    }
}

/// Every route, for the control socket (the CLI and the tests): whoever can open the
/// stack's directory controls the stack.
pub fn private_router(
    engine: Handle,
    retention_days: Retention,
    health: Health,
    shutdown: std::sync::Arc<tokio::sync::Notify>,
) -> Router {
    Router::new()
        .route(protocol::SUBMIT, post(submit_public))
        .route(protocol::STATUS, get(status_public))
        .route(protocol::HEALTH, get(health_check))
        .route(protocol::SUBMIT_PRIVATE, post(submit_private))
        .route(protocol::EXECUTIONS, post(start_raw))
        .route(protocol::CANCEL, post(cancel))
        .route(protocol::RUNS, post(start_run))
        .route(protocol::RUNS_STOP, post(stop_run))
        .route(protocol::RUNS_LIST, post(list_runs))
        .route(protocol::JOBS, get(jobs))
        .route(
            protocol::SEED,
            post(seed).layer(DefaultBodyLimit::max(SEED_BODY_LIMIT)),
        )
        .route(protocol::RELOAD, post(reload))
        .route(protocol::DESTROY, post(destroy))
        .route(protocol::HISTORY, get(history))
        .route(protocol::QUEUE_RECEIVE, post(queue_receive))
        .route(protocol::QUEUE_DELETE, post(queue_delete))
        .route(protocol::RECONCILE, post(reconcile))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::map_response(json_errors))
        .with_state(App {
            engine,
            retention_days,
            health: Some(health),
            shutdown,
        })
}

/// The full job records (with Payload), for the CLI.
async fn jobs(
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer<JobsPage> {
    let p = page(&app, &q, true).await?;
    Ok(Json(JobsPage {
        items: p
            .items
            .iter()
            .filter_map(http_contract::job_from_item)
            .collect(),
        next_token: p.next_token,
    }))
}

async fn health_check(State(app): State<App>) -> Answer<Option<Health>> {
    ok(app.health.clone())
}

/// A JSON body of type `T`, or a 400 naming what is wrong.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => bad_request(format!("the body does not fit: {e}")),
        _ => bad_request(format!("the body is not valid JSON: {e}")),
    })
}

fn ok<T: Serialize>(value: T) -> Answer<T> {
    Ok(Json(value))
}

/// An execution with any input, bypassing the API's checks.
async fn start_raw(
    State(app): State<App>,
    Deadline(deadline): Deadline,
    body: Bytes,
) -> Answer<waitable_core::job::Submitted> {
    let v: StartExecution = parse(&body)?;
    let request = Submit {
        name: v.name,
        input: v.input.unwrap_or(json!({})),
        as_api: false,
    };
    let s = app
        .engine
        .ask_until(deadline, |reply| Command::Submit { request, reply })
        .await?;
    ok(s)
}

async fn cancel(
    State(app): State<App>,
    Deadline(deadline): Deadline,
    body: Bytes,
) -> Answer<CancelAnswer> {
    let v: CancelRequest = parse(&body)?;
    let job = app
        .engine
        .ask_until(deadline, |reply| Command::Cancel { id: v.id, reply })
        .await?;
    ok(CancelAnswer {
        job_id: job.id.clone(),
        job,
    })
}

/// A later run of a job (`retry`, `reschedule`): started, and its first write taken, at once.
async fn start_run(
    State(app): State<App>,
    Deadline(deadline): Deadline,
    body: Bytes,
) -> Answer<waitable_core::runs::StartedRun> {
    let v: protocol::RunRequest = parse(&body)?;
    let request = crate::local::engine::RunStart {
        id: v.id,
        run: v.run,
        kind: v.kind,
        at: v.at,
        retention_days: app
            .retention_days
            .load(std::sync::atomic::Ordering::Relaxed),
    };
    let started = app
        .engine
        .ask_until(deadline, |reply| Command::StartRun { request, reply })
        .await?;
    ok(started)
}

async fn stop_run(State(app): State<App>, body: Bytes) -> Answer<()> {
    let v: protocol::RunRequest = parse(&body)?;
    app.engine
        .ask(|reply| Command::StopRun {
            id: v.id,
            run: v.run,
            reply,
        })
        .await?;
    ok(())
}

async fn list_runs(
    State(app): State<App>,
    body: Bytes,
) -> Answer<Vec<waitable_core::runs::RunSummary>> {
    let job: waitable_core::job::JobRecord = parse(&body)?;
    let runs = app.engine.ask(|reply| Command::Runs { job, reply }).await?;
    ok(runs)
}

async fn seed(State(app): State<App>, body: Bytes) -> Answer<SeedAnswer> {
    let records: Vec<Value> = parse(&body)?;
    let seeded = app
        .engine
        .ask(|reply| Command::Seed { records, reply })
        .await?;
    ok(SeedAnswer { seeded })
}

async fn reload(State(app): State<App>, Deadline(deadline): Deadline, body: Bytes) -> Answer {
    let v: ReloadRequest = parse(&body)?;
    app.engine
        .ask_until(deadline, |reply| Command::Reload {
            definition: v.definition,
            reply,
        })
        .await?;
    app.retention_days
        .store(v.retention_days, std::sync::atomic::Ordering::Relaxed);
    ok(json!({}))
}

/// Cancels every waiting job, then the engine stops and the server shuts down.
async fn destroy(State(app): State<App>, Deadline(deadline): Deadline) -> Answer<DestroyAnswer> {
    let cancelled_jobs = app
        .engine
        .ask_until(deadline, |reply| Command::Destroy { reply })
        .await?;
    app.shutdown.notify_waiters();
    ok(DestroyAnswer { cancelled_jobs })
}

async fn queue_receive(
    State(app): State<App>,
    Deadline(deadline): Deadline,
    Json(body): Json<protocol::QueueReceive>,
) -> Answer {
    let max = body.max.clamp(1, 1000);
    let messages = app
        .engine
        .ask_until(deadline, |reply| Command::QueueReceive { max, reply })
        .await?;
    ok(json!(messages))
}

async fn queue_delete(
    State(app): State<App>,
    Deadline(deadline): Deadline,
    Json(body): Json<protocol::QueueDelete>,
) -> Answer {
    let handles = body.handles;
    let deleted = app
        .engine
        .ask_until(deadline, |reply| Command::QueueDelete { handles, reply })
        .await?;
    ok(json!({ "deleted": deleted }))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReconcileBody {
    ids: Vec<String>,
    dry_run: bool,
}

/// Moves each named job still STARTED the way its execution ended (`waitable reconcile`).
async fn reconcile(State(app): State<App>, Deadline(deadline): Deadline, body: Bytes) -> Answer {
    let v: ReconcileBody = parse(&body)?;
    let report = app
        .engine
        .ask_until(deadline, |reply| Command::Reconcile {
            ids: v.ids,
            dry_run: v.dry_run,
            reply,
        })
        .await?;
    ok(json!(report))
}

async fn history(State(app): State<App>, Path(name): Path<String>) -> Answer {
    let events = app
        .engine
        .ask(|reply| Command::History { name, reply })
        .await?;
    ok(json!(events))
}

/// The same as POST /, also saying whether the job already existed.
async fn submit_private(
    State(app): State<App>,
    Deadline(deadline): Deadline,
    body: Bytes,
) -> Answer<waitable_core::job::Submitted> {
    Ok(Json(submit_body(&app, &body, false, deadline).await?.0))
}
