//! The HTTP API on 127.0.0.1: the public contract (`POST /`, `GET /status`) here, and the
//! private `/_waitable/...` routes the CLI and tests use in `http_private` (all in
//! `protocol`). Every write goes to the engine thread, the one writer. This is the one place
//! engine errors become HTTP statuses.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::engine::{Command, EngineError, Handle, IndexQuery, Page, Submit, submission};
use super::guard;
use super::http_contract;
use super::protocol::{self, Accepted, ErrorBody, Health};
use waitable_core::api::{NOT_IDEMPOTENT_NOTE, post_input_extras};
use waitable_core::job::JobStatus;
use waitable_core::status_index::{self, DueWindow};

/// The largest body `POST /` takes: the contract's limit on an execution's input (Step
/// Functions takes at most 256 KiB), so a job the local target accepts also fits on AWS.
pub const MAX_BODY_BYTES: usize = waitable_core::limits::MAX_INPUT_BYTES;
/// Seeding writes many records at once (tests, migrations); only on the control socket.
pub(super) const SEED_BODY_LIMIT: usize = 512 * 1024 * 1024;

/// The stack's `RetentionDays`, shared by both routers; a deploy (reload) changes it.
pub type Retention = std::sync::Arc<std::sync::atomic::AtomicU32>;

#[derive(Clone)]
pub(super) struct App {
    pub(super) engine: Handle,
    pub(super) retention_days: Retention,
    /// What the control socket's health route answers (none on the public port).
    pub(super) health: Option<Health>,
    pub(super) shutdown: std::sync::Arc<tokio::sync::Notify>,
}

/// An error answer: HTTP status and [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) body: ErrorBody,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: error.into(),
                message: message.into(),
            },
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let (status, name) = match &e {
            EngineError::InvalidName(_) => (StatusCode::BAD_REQUEST, "InvalidName"),
            EngineError::AlreadyExists { .. } => {
                (StatusCode::BAD_REQUEST, "ExecutionAlreadyExists")
            }
            EngineError::JobNotFound(_) => (StatusCode::NOT_FOUND, "JobNotFound"),
            EngineError::JobNotWaiting { .. } => (StatusCode::CONFLICT, "JobNotWaiting"),
            EngineError::InvalidRecord(_) => (StatusCode::BAD_REQUEST, "ValidationException"),
            EngineError::UnsupportedDefinition(_) => {
                (StatusCode::BAD_REQUEST, "UnsupportedDefinition")
            }
            EngineError::CommitFailed(_) | EngineError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "InternalError")
            }
            EngineError::Stopped => (StatusCode::SERVICE_UNAVAILABLE, "EngineStopped"),
            EngineError::GaveUp => (StatusCode::GATEWAY_TIMEOUT, "CallerGaveUp"),
        };
        ApiError::new(status, name, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

pub(super) type Answer<T = Value> = Result<Json<T>, ApiError>;

pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "BadRequestBody", message)
}

/// The public API on the TCP port: only the documented contract (`POST /`, `GET /status`),
/// and no request a browser sends from another origin.
pub fn public_router(engine: Handle, retention_days: Retention, port: u16) -> Router {
    Router::new()
        .route(protocol::SUBMIT, post(submit_public))
        .route(protocol::STATUS, get(status_public))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::map_response(json_errors))
        .layer(middleware::from_fn(move |req, next| {
            guard::same_origin_only(port, req, next)
        }))
        .with_state(App {
            engine,
            retention_days,
            health: None,
            shutdown: Default::default(),
        })
}

pub(super) async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        "no such route: POST / and GET /status are served here",
    )
}

pub(super) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!(
            "{method} {} is not served: POST / and GET /status are",
            uri.path()
        ),
    )
}

/// Error answers that axum makes itself (a body over the limit: 413 in text) become JSON
/// like every other error.
pub(super) async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (name, message) = if status == StatusCode::PAYLOAD_TOO_LARGE {
        (
            "PayloadTooLarge",
            format!(
                "the request body is over {MAX_BODY_BYTES} bytes, the contract's limit on a job's input (Step Functions takes at most 256 KiB of state data)"
            ),
        )
    } else {
        let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        (
            "BadRequest",
            String::from_utf8_lossy(&text).trim().to_string(),
        )
    };
    ApiError::new(status, name, message).into_response()
}

/// Submits a POST body; also says whether it named its Id (so a retry of it is safe). `api`:
/// it came through the public `POST /`, whose input gets what the deployed API's template adds;
/// the CLI's own submissions start the execution directly, as StartExecution does on AWS.
pub(super) async fn submit_body(
    app: &App,
    body: &[u8],
    api: bool,
    deadline_ms: Option<i64>,
) -> Result<(waitable_core::job::Submitted, bool), ApiError> {
    let job = http_contract::parse_job_body(body).map_err(bad_request)?;
    let named = job.id.is_some();
    let retention_days = app
        .retention_days
        .load(std::sync::atomic::Ordering::Relaxed);
    let (name, mut input) = submission(&job, retention_days);
    // What the API's POST template adds (the expiry, and the flag for a start more than a
    // year ahead, which ValidateInput records FAILED at once): the same function, tested
    // equal to the template.
    // The input carries the job's run (`waitable_core::runs`), as the deployed API's template
    // and the CLI's StartExecution add it on AWS.
    input[waitable_core::runs::INPUT_RUN] = waitable_core::runs::first_run(&name);
    if api {
        let now = chrono::Utc::now().timestamp();
        for (key, value) in post_input_extras(&job.start_timestamp, now, retention_days) {
            input[key] = value;
        }
    }
    let request = Submit {
        name,
        input,
        as_api: api,
    };
    let submitted = app
        .engine
        .ask_until(deadline_ms, |reply| Command::Submit { request, reply })
        .await?;
    Ok((submitted, named))
}

/// POST /: `{"StartTimestamp", "Id"?, "Payload"?}` -> `{"jobId", "executionArn"}`.
pub(super) async fn submit_public(State(app): State<App>, body: Bytes) -> Answer<Accepted> {
    // A body without an Id gets a fresh name on each request: a retry could start a second job.
    let (s, idempotent) = submit_body(&app, &body, true, None).await?;
    Ok(Json(Accepted {
        job_id: s.job_id,
        execution_arn: s.execution_arn,
        idempotent,
        note: (!idempotent).then(|| NOT_IDEMPOTENT_NOTE.to_string()),
    }))
}

/// `limit` by the API's grammar (`waitable_core::page_limit`); outside it, a 400 as on AWS.
fn page_limit(limit: Option<&str>) -> Result<usize, ApiError> {
    waitable_core::page_limit::parse(limit)
        .map(|n| n as usize)
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "ValidationException",
                e.to_string(),
            )
        })
}

fn page_args(q: &HashMap<String, String>) -> Result<(Option<String>, usize), ApiError> {
    let limit = page_limit(q.get("limit").map(String::as_str))?;
    let after = match q.get("nextToken").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(http_contract::decode_token(t).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "ValidationException",
                "invalid nextToken",
            )
        })?),
    };
    Ok((after, limit))
}

/// The status index question of `?status=` (and, with `windows`, `dueAfter`/`dueBefore`);
/// `Err(())` for a status no job can have, which matches nothing (as a Query for it does).
fn index_args(q: &HashMap<String, String>, windows: bool) -> Result<Option<IndexQuery>, ()> {
    let Some(text) = q.get(status_index::STATUS_PARAM).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    // Exactly as stored: the mapping template compares the text, so `failed` matches nothing.
    let status = JobStatus::ALL
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or(())?;
    let bound = |name: &str| windows.then(|| q.get(name).cloned()).flatten();
    Ok(Some(IndexQuery {
        status,
        window: DueWindow {
            after: bound(protocol::DUE_AFTER_PARAM),
            before: bound(protocol::DUE_BEFORE_PARAM),
        },
    }))
}

pub(super) async fn page(
    app: &App,
    q: &HashMap<String, String>,
    windows: bool,
) -> Result<Page, ApiError> {
    let (after, limit) = page_args(q)?;
    let Ok(index) = index_args(q, windows) else {
        return Ok(Page {
            items: Vec::new(),
            next_token: None,
        });
    };
    Ok(app
        .engine
        .ask(|reply| Command::Page {
            after,
            limit,
            index,
            reply,
        })
        .await?)
}

fn with_token(mut body: Value, token: Option<String>) -> Value {
    if let Some(t) = token {
        body["nextToken"] = Value::String(t);
    }
    body
}

/// GET /status: `{"items": [{Id, StartActionAt, LastUpdated, ProcessStatus, Error}], "nextToken"?}`.
pub(super) async fn status_public(
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let p = page(&app, &q, false).await?;
    let items: Vec<Value> = p.items.iter().map(http_contract::status_entry).collect();
    Ok(Json(with_token(json!({ "items": items }), p.next_token)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use waitable_core::api::DEFAULT_PAGE_SIZE;

    #[test]
    fn a_limit_outside_the_grammar_is_a_400() {
        // The grammar itself is tested in waitable_core::page_limit.
        assert_eq!(page_limit(None).unwrap(), DEFAULT_PAGE_SIZE as usize);
        assert_eq!(page_limit(Some("1000")).unwrap(), 1000);
        let err = page_limit(Some("01")).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }
}
