//! The deployed API checked from inside API Gateway with TestInvokeMethod (the console's "Test"
//! button), so a stack that answers 500 on every call is caught at deploy, not by its first
//! client. Three calls, none of which starts a job:
//! - GET /status?limit=1 must answer 200;
//! - GET /status?status=COMPLETED&limit=1 must answer 200 (the status index's integration,
//!   run for real in the user's account);
//! - POST / with `{}` must be refused by the request validator (400, "Invalid request body").
//!
//! TestInvokeMethod skips IAM authorization and runs the API's resources, not the deployed
//! stage (`check --live` calls the stage). Emulators without it (moto, ministack) give a one-line
//! "skipped", never a failure; a caller not allowed to call it is told so.

use aws_sdk_apigateway::Client;
use aws_sdk_apigateway::config::retry::RetryConfig;
use aws_sdk_apigateway::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

use super::sdk;
use crate::backend::ApiCheck;
use crate::poll::{Schedule, Step, poll_within};
use crate::{Error, Result};

/// The body POST / is probed with: no StartTimestamp, so the validator refuses it.
pub const REFUSED_BODY: &str = "{}";
/// What API Gateway's validator answers for a body that does not match the model.
pub const VALIDATOR_MESSAGE: &str = "Invalid request body";

/// Where the check's calls go: AWS itself, or an endpoint the user named (`--endpoint-url`,
/// `AWS_ENDPOINT_URL`: an emulator, which may not offer TestInvokeMethod at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Aws,
    Custom,
}

impl Endpoint {
    /// Custom when the configuration names an endpoint URL.
    pub fn of(sdk: &aws_types::SdkConfig) -> Self {
        if sdk.endpoint_url().is_some() {
            Endpoint::Custom
        } else {
            Endpoint::Aws
        }
    }
}

/// The filtered listing probed through the status index.
pub const STATUS_FILTER_PROBE: &str = "/status?status=COMPLETED&limit=1";

/// How long a probe keeps asking while an answer says IAM has not caught up with a role
/// created moments ago (IAM is eventually consistent; a new role can take seconds to be
/// usable).
#[derive(Debug, Clone, Copy)]
pub struct Propagation {
    pub look: Schedule,
    pub within: std::time::Duration,
}

impl Propagation {
    /// Right after a deploy created or changed the stack's roles.
    pub const AFTER_DEPLOY: Propagation = Propagation {
        look: Schedule {
            first: std::time::Duration::from_secs(1),
            max: std::time::Duration::from_secs(5),
            retries: 0,
        },
        within: std::time::Duration::from_secs(30),
    };
    /// A check on its own: the roles are as old as the stack, so one look.
    pub const NONE: Propagation = Propagation {
        look: Schedule::every(std::time::Duration::from_secs(1)),
        within: std::time::Duration::ZERO,
    };
}

/// Runs the probes against the API behind `api_url` (the stack's `ApiUrl` output).
pub async fn check(apigw: &Client, api_url: &str, endpoint: Endpoint) -> Result<ApiCheck> {
    check_with(apigw, api_url, endpoint, &Propagation::NONE).await
}

/// [`check`], retrying answers that mean IAM is still propagating for `propagation.within`.
pub async fn check_with(
    apigw: &Client,
    api_url: &str,
    endpoint: Endpoint,
    propagation: &Propagation,
) -> Result<ApiCheck> {
    let Some(api_id) = rest_api_id(api_url) else {
        return Ok(ApiCheck::Skipped(format!(
            "{api_url} is not an API Gateway URL"
        )));
    };
    let resources = match apigw
        .get_resources()
        .rest_api_id(&api_id)
        .limit(500)
        .send()
        .await
    {
        Ok(r) => r,
        Err(err) => return unavailable_or_failed(endpoint, "listing the API's resources", &err),
    };
    let id_of = |path: &str| {
        resources
            .items()
            .iter()
            .find(|r| r.path() == Some(path))
            .and_then(|r| r.id().map(str::to_string))
            .ok_or_else(|| {
                Error::failed(format!("API check failed: the API has no {path} resource"))
            })
    };
    let (root, status) = (id_of("/")?, id_of("/status")?);

    let get = get_settled(apigw, &api_id, &status, "/status?limit=1", propagation).await;
    let get = match get {
        Ok(out) => out,
        Err(err) => {
            return denied("testing GET /status", &err)
                .map(Ok)
                .unwrap_or_else(|| unavailable_or_failed(endpoint, "testing GET /status", &err));
        }
    };
    if get.status() != 200 {
        return Err(failure("GET /status", get.status(), get.log()));
    }
    let filtered = get_settled(apigw, &api_id, &status, STATUS_FILTER_PROBE, propagation).await;
    let filtered = filtered
        .map_err(|e| sdk::failed(&format!("API check: testing GET {STATUS_FILTER_PROBE}"), &e))?;
    if filtered.status() != 200 {
        return Err(failure(
            &format!("GET {STATUS_FILTER_PROBE}"),
            filtered.status(),
            filtered.log(),
        ));
    }

    let post = apigw
        .test_invoke_method()
        .rest_api_id(&api_id)
        .resource_id(&root)
        .http_method("POST")
        .headers("Content-Type", "application/json")
        .body(REFUSED_BODY)
        .customize()
        .config_override(no_retries())
        .send()
        .await
        .map_err(|err| sdk::failed("API check: testing POST /", &err))?;
    let refused =
        post.status() == 400 && post.body().is_some_and(|b| b.contains(VALIDATOR_MESSAGE));
    if !refused {
        return Err(failure(
            "POST / with a body the validator must refuse",
            post.status(),
            post.log(),
        ));
    }
    Ok(ApiCheck::Ok)
}

type InvokeResult = std::result::Result<
    aws_sdk_apigateway::operation::test_invoke_method::TestInvokeMethodOutput,
    SdkError<aws_sdk_apigateway::operation::test_invoke_method::TestInvokeMethodError, Response>,
>;

/// A GET through TestInvokeMethod, asked again while its answer says IAM has not caught up
/// (within `propagation`); the last answer when time runs out.
async fn get_settled(
    apigw: &Client,
    api_id: &str,
    resource: &str,
    path: &str,
    propagation: &Propagation,
) -> InvokeResult {
    let mut last: Option<InvokeResult> = None;
    let settled = poll_within(&propagation.look, propagation.within, async || {
        let answer = apigw
            .test_invoke_method()
            .rest_api_id(api_id)
            .resource_id(resource)
            .http_method("GET")
            .path_with_query_string(path)
            .customize()
            .config_override(no_retries())
            .send()
            .await;
        let propagating = answer
            .as_ref()
            .is_ok_and(|out| out.status() != 200 && out.log().is_some_and(iam_not_ready));
        if propagating {
            last = Some(answer);
            Ok(Step::Pending)
        } else {
            Ok(Step::Done(answer))
        }
    })
    .await
    .expect("the look never fails");
    settled
        .or(last)
        .expect("the first look always happens and leaves an answer")
}

/// Whether a TestInvokeMethod log says the integration's role is not usable yet: API Gateway
/// cannot assume it, or the service it calls refuses it. Right after a create this is IAM's
/// eventual consistency; the log is the only place API Gateway says so (the status is a bare
/// 500 or the service's 400).
pub fn iam_not_ready(log: &str) -> bool {
    log.contains("does not have permission to assume the provided role")
        || (log.contains("AccessDeniedException") && log.contains("is not authorized to perform"))
}

/// A caller that may not call TestInvokeMethod (AccessDeniedException) is told exactly that,
/// as a skip: the stack may be fine, this caller cannot look.
fn denied<E>(doing: &str, err: &SdkError<E, Response>) -> Option<ApiCheck>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    (err.code() == Some("AccessDeniedException")).then(|| {
        ApiCheck::Skipped(format!(
            "{doing}: you are not allowed to call TestInvokeMethod ({}); it needs apigateway:POST on the API's methods, and `waitable check --live` tests the stage without it",
            sdk::describe(err)
        ))
    })
}

/// A probe is asked once: its answer, even a 500, is what the check wants to see (and an
/// emulator without the operation answers 500 too).
fn no_retries() -> aws_sdk_apigateway::config::Builder {
    aws_sdk_apigateway::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// The REST API id from `https://{id}.execute-api.{region}.{suffix}/{stage}`.
pub fn rest_api_id(api_url: &str) -> Option<String> {
    let host = api_url.strip_prefix("https://")?.split('/').next()?;
    let (id, rest) = host.split_once('.')?;
    (rest.starts_with("execute-api.") && !id.is_empty()).then(|| id.to_string())
}

fn failure(what: &str, status: i32, log: Option<&str>) -> Error {
    let line = log.and_then(telling_line).unwrap_or("(no log)");
    Error::failed(format!(
        "API check failed: {what} answered {status}: {line}"
    ))
}

/// The line of a TestInvokeMethod log that says what went wrong: the first "Execution failed"
/// (a configuration error such as a role API Gateway cannot assume), else the first line about
/// an error or the validator, else the last line.
pub fn telling_line(log: &str) -> Option<&str> {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .find(|l| l.contains("Execution failed"))
        .or_else(|| {
            lines.iter().find(|l| {
                let lower = l.to_ascii_lowercase();
                lower.contains("error") || lower.contains("does not match model")
            })
        })
        .or(lines.last())
        .copied()
}

/// An endpoint without the operation (an emulator: 501, "not implemented", or a bare page
/// without an AWS error code, as moto's 500) or a caller not allowed to test
/// (AccessDeniedException) is a skip with its reason. A custom endpoint that does not know the
/// path or the operation (404, as ministack's "Unknown API Gateway v1 path", or
/// UnknownOperationException) is one too; from AWS itself a 404 (NotFoundException) means the
/// method is missing, and like any other AWS error fails the check.
fn unavailable_or_failed<E>(
    endpoint: Endpoint,
    doing: &str,
    err: &SdkError<E, Response>,
) -> Result<ApiCheck>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match unavailable(endpoint, err, "TestInvokeMethod") {
        Some(why) => Ok(ApiCheck::Skipped(format!("{doing}: {why}"))),
        None => Err(sdk::failed(&format!("API check: {doing}"), err)),
    }
}

/// Why `operation` cannot be asked of this endpoint (the rules of [`unavailable_or_failed`]),
/// or `None` when `err` is a real failure.
pub fn unavailable<E>(
    endpoint: Endpoint,
    err: &SdkError<E, Response>,
    operation: &str,
) -> Option<String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let raw = err.raw_response();
    let status = raw.map(|r| r.status().as_u16()).unwrap_or(0);
    let json = raw
        .and_then(|r| r.headers().get("content-type"))
        .is_some_and(|t| t.contains("json"));
    let code = err.code().unwrap_or_default();
    let text = format!("{code} {}", err.message().unwrap_or_default()).to_ascii_lowercase();
    let unknown_here =
        endpoint == Endpoint::Custom && (status == 404 || code == "UnknownOperationException");
    let unavailable = status == 501
        || (code.is_empty() && !json)
        || text.contains("not implemented")
        || code == "AccessDeniedException"
        || unknown_here;
    unavailable.then(|| {
        let what = if code.is_empty() {
            format!("HTTP {status} without an AWS error")
        } else {
            sdk::describe(err)
        };
        format!("the endpoint does not offer {operation} ({what})")
    })
}

#[cfg(test)]
#[path = "api_check_tests.rs"]
mod tests;
