//! The HTTP API on 127.0.0.1: the public contract of shared/DESIGN.md (`POST /`,
//! `GET /status`) and the private `/_waitable/...` endpoints the CLI and tests use. Every
//! write goes to the engine thread, the one writer.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::engine::{ApiError, Command, Handle, Page, submission};
use super::records;
use crate::core::api::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// API Gateway's payload limit.
const BODY_LIMIT: usize = 10 * 1024 * 1024;
/// Seeding writes many records at once (tests, migrations).
const SEED_BODY_LIMIT: usize = 512 * 1024 * 1024;

/// What GET /_waitable/health answers: which engine this is.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Health {
    pub stack: String,
    pub pid: u32,
    pub port: u16,
}

#[derive(Clone)]
struct App {
    engine: Handle,
    health: Health,
    shutdown: std::sync::Arc<tokio::sync::Notify>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(json!({ "error": self.error, "message": self.message })),
        )
            .into_response()
    }
}

type Answer = Result<Json<Value>, ApiError>;

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "BadRequestBody", message)
}

pub fn router(
    engine: Handle,
    health: Health,
    shutdown: std::sync::Arc<tokio::sync::Notify>,
) -> Router {
    Router::new()
        .route("/", post(submit_public))
        .route("/status", get(status_public))
        .route("/_waitable/health", get(health_check))
        .route("/_waitable/submit", post(submit_private))
        .route("/_waitable/executions", post(start_raw))
        .route("/_waitable/cancel", post(cancel))
        .route("/_waitable/jobs", get(jobs))
        .route(
            "/_waitable/seed",
            post(seed).layer(DefaultBodyLimit::max(SEED_BODY_LIMIT)),
        )
        .route("/_waitable/reload", post(reload))
        .route("/_waitable/destroy", post(destroy))
        .route("/_waitable/history/{name}", get(history))
        .fallback(|| async {
            ApiError::new(
                404,
                "NotFound",
                "no such route: POST / and GET /status are served here",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(App {
            engine,
            health,
            shutdown,
        })
}

async fn submit_body(app: &App, body: &[u8]) -> Result<crate::core::job::Submitted, ApiError> {
    let job = records::parse_job_body(body).map_err(bad_request)?;
    let (name, input) = submission(&job);
    app.engine
        .ask(|reply| Command::Submit {
            name,
            input,
            check_name: true,
            reply,
        })
        .await
}

/// POST /: `{"StartTimestamp", "Id"?, "Payload"?}` -> `{"jobId", "executionArn"}`.
async fn submit_public(State(app): State<App>, body: Bytes) -> Answer {
    let s = submit_body(&app, &body).await?;
    Ok(Json(
        json!({ "jobId": s.job_id, "executionArn": s.execution_arn }),
    ))
}

/// The same as POST /, also saying whether the job already existed.
async fn submit_private(State(app): State<App>, body: Bytes) -> Answer {
    let s = submit_body(&app, &body).await?;
    Ok(Json(serde_json::to_value(s).expect("serialises")))
}

fn page_args(q: &HashMap<String, String>) -> Result<(Option<String>, usize), ApiError> {
    // As the mapping template: a limit outside 1..=1000 means the default.
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<u32>().ok())
        .filter(|l| (1..=MAX_PAGE_SIZE).contains(l))
        .unwrap_or(DEFAULT_PAGE_SIZE) as usize;
    let after = match q.get("nextToken").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            records::decode_token(t)
                .ok_or_else(|| ApiError::new(400, "ValidationException", "invalid nextToken"))?,
        ),
    };
    Ok((after, limit))
}

async fn page(app: &App, q: &HashMap<String, String>) -> Result<Page, ApiError> {
    let (after, limit) = page_args(q)?;
    app.engine
        .ask(|reply| Command::Page {
            after,
            limit,
            reply,
        })
        .await
}

fn with_token(mut body: Value, token: Option<String>) -> Value {
    if let Some(t) = token {
        body["nextToken"] = Value::String(t);
    }
    body
}

/// GET /status: `{"items": [{Id, StartActionAt, LastUpdated, ProcessStatus, Error}], "nextToken"?}`.
async fn status_public(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Answer {
    let p = page(&app, &q).await?;
    let items: Vec<Value> = p.items.iter().map(records::status_entry).collect();
    Ok(Json(with_token(json!({ "items": items }), p.next_token)))
}

/// The full job records (with Payload), for the CLI.
async fn jobs(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Answer {
    let p = page(&app, &q).await?;
    let items: Vec<Value> = p
        .items
        .iter()
        .filter_map(records::job_from_item)
        .map(|j| serde_json::to_value(j).expect("serialises"))
        .collect();
    Ok(Json(with_token(json!({ "items": items }), p.next_token)))
}

async fn health_check(State(app): State<App>) -> Json<Health> {
    Json(app.health.clone())
}

fn parse(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("the body is not valid JSON: {e}")))
}

/// `{"name", "input"}`: an execution with any input, bypassing the API's checks.
async fn start_raw(State(app): State<App>, body: Bytes) -> Answer {
    let v = parse(&body)?;
    let name = v["name"]
        .as_str()
        .ok_or_else(|| bad_request("name is required"))?
        .to_string();
    let input = v.get("input").cloned().unwrap_or(json!({}));
    let s = app
        .engine
        .ask(|reply| Command::Submit {
            name,
            input,
            check_name: false,
            reply,
        })
        .await?;
    Ok(Json(serde_json::to_value(s).expect("serialises")))
}

async fn cancel(State(app): State<App>, body: Bytes) -> Answer {
    let v = parse(&body)?;
    let id = v["Id"]
        .as_str()
        .ok_or_else(|| bad_request("Id is required"))?
        .to_string();
    let job = app
        .engine
        .ask(|reply| Command::Cancel { id, reply })
        .await?;
    Ok(Json(json!({ "jobId": job.id, "job": job })))
}

async fn seed(State(app): State<App>, body: Bytes) -> Answer {
    let v = parse(&body)?;
    let records = v
        .as_array()
        .cloned()
        .ok_or_else(|| bad_request("expected an array of job records"))?;
    let n = app
        .engine
        .ask(|reply| Command::Seed { records, reply })
        .await?;
    Ok(Json(json!({ "seeded": n })))
}

async fn reload(State(app): State<App>, body: Bytes) -> Answer {
    let v = parse(&body)?;
    let definition = v["definition"]
        .as_str()
        .ok_or_else(|| bad_request("definition is required"))?
        .to_string();
    app.engine
        .ask(|reply| Command::Reload { definition, reply })
        .await?;
    Ok(Json(json!({})))
}

/// Cancels every waiting job, then the engine stops and the server shuts down.
async fn destroy(State(app): State<App>) -> Answer {
    let n = app.engine.ask(|reply| Command::Destroy { reply }).await?;
    app.shutdown.notify_one();
    Ok(Json(json!({ "cancelledJobs": n })))
}

async fn history(State(app): State<App>, Path(name): Path<String>) -> Answer {
    let events = app
        .engine
        .ask(|reply| Command::History { name, reply })
        .await?;
    Ok(Json(json!(events)))
}
