//! The one place that builds the AWS configuration and classifies AWS errors.
//!
//! [`load`] turns `--profile`, `--region` and `--endpoint-url` (over the standard chain:
//! `AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, the config files) into one `SdkConfig`,
//! refusing up front when there is no region or no credentials, so users get one clear line
//! instead of an SDK error from the middle of a deploy.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudformation::config::ProvideCredentials;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::SdkConfig;

use crate::poll::Step;
use crate::{Error, Result};

/// What a connection failure could not reach, for [`describe`]: set once by [`load`], as
/// errors do not carry the URL they were sent to.
static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `--debug`, set once by [`load`].
static DEBUG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub const NO_REGION: &str = "no AWS region configured: pass --region, set AWS_REGION, or set a region in your AWS profile (aws configure)";

/// Where the aws target's calls go: the flags over the standard chain. The aws backend's own
/// connection settings (it never sees the command line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsConnection {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// `--debug`: every AWS error's whole chain on stderr.
    pub debug: bool,
}

/// Builds the one `SdkConfig` every client is made from, and checks that it has a region and
/// that credentials can be found.
pub async fn load(args: &AwsConnection) -> Result<SdkConfig> {
    if let Some(url) = &args.endpoint_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(Error::usage(format!(
            "--endpoint-url {url:?} is not a URL: expected http://host:port or https://host"
        )));
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &args.profile {
        // As in the aws CLI, a profile named on the command line wins over credentials in the
        // environment: the default chain would read AWS_ACCESS_KEY_ID first and silently act
        // on another account.
        loader = loader.profile_name(profile).credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build(),
        );
    }
    if let Some(region) = &args.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &args.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if args.debug {
        DEBUG.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let _ = ENDPOINT.set(match config.endpoint_url() {
        Some(url) => format!("the endpoint URL {url}"),
        None => match config.region() {
            Some(region) => format!("AWS in region {region}"),
            None => "AWS".to_string(),
        },
    });
    if config.region().is_none_or(|r| r.as_ref().is_empty()) {
        return Err(Error::usage(NO_REGION));
    }
    check_credentials(&config, args.profile.as_deref()).await?;
    Ok(config)
}

/// Resolves credentials once, so a missing or expired login is one line before any call.
async fn check_credentials(config: &SdkConfig, profile: Option<&str>) -> Result<()> {
    let how = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile (or set AWS_PROFILE), or sign in with `aws configure` / `aws sso login`";
    let whose = profile
        .map(|p| format!(" for profile {p:?}"))
        .unwrap_or_default();
    let Some(provider) = config.credentials_provider() else {
        return Err(Error::failed(format!(
            "no AWS credentials found{whose}: {how}"
        )));
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(err) => {
            // The innermost cause is the informative part ("the SSO session has expired").
            let mut root: &dyn std::error::Error = &err;
            while let Some(next) = root.source() {
                root = next;
            }
            let root = root.to_string();
            let detail = if root.contains("no providers in chain") {
                String::new()
            } else {
                format!(" ({root})")
            };
            Err(Error::failed(format!(
                "no AWS credentials found{whose}{detail}: {how}"
            )))
        }
    }
}

/// What kind of failure an AWS call met, decided by error codes and HTTP status only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Slow down and try again.
    Throttled,
    /// A timeout, a dropped connection or a 5xx: worth trying again.
    Transient,
    /// The thing asked about does not exist.
    NotFound,
    /// CloudFormation refused an update because nothing would change.
    NoChanges,
    /// Anything else: report it.
    Other,
}

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
];

const NOT_FOUND_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "StateMachineDoesNotExist",
    "ExecutionDoesNotExist",
    "ChangeSetNotFound",
    "ChangeSetNotFoundException",
    "StackNotFoundException",
];

/// Classifies any SDK error.
pub fn classify<E, R>(err: &SdkError<E, R>) -> ErrorKind
where
    E: ProvideErrorMetadata,
    R: HasStatus,
{
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ErrorKind::Transient
        }
        _ => {
            let code = err.code().unwrap_or_default();
            let status = err.raw_response().map(HasStatus::status_code).unwrap_or(0);
            classify_code(code, err.message().unwrap_or_default(), status)
        }
    }
}

/// The classification behind [`classify`], on the parts of an error response.
pub fn classify_code(code: &str, message: &str, status: u16) -> ErrorKind {
    if THROTTLING_CODES.contains(&code) || status == 429 {
        ErrorKind::Throttled
    } else if code == "ValidationError" && waitable_core::changeset::is_no_change_reason(message) {
        ErrorKind::NoChanges
    } else if NOT_FOUND_CODES.contains(&code) || is_missing_stack(code, message) {
        ErrorKind::NotFound
    } else if (500..600).contains(&status) {
        ErrorKind::Transient
    } else {
        ErrorKind::Other
    }
}

/// CloudFormation reports a missing stack as a generic `ValidationError`; its message is the
/// only thing telling it apart ("Stack with id X does not exist").
fn is_missing_stack(code: &str, message: &str) -> bool {
    code == "ValidationError" && message.contains("does not exist")
}

/// A failed call inside a poll: [`Step::Retry`] when it is worth another look, else the error.
pub fn retry_or_fail<T, E, R>(doing: &str, err: &SdkError<E, R>) -> Result<Step<T>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: HasStatus + std::fmt::Debug,
{
    if is_retryable(err) {
        Ok(Step::Retry(failed(doing, err)))
    } else {
        Err(failed(doing, err))
    }
}

/// True for throttling and transient failures: the poll helper looks again.
pub fn is_retryable<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
    R: HasStatus,
{
    matches!(classify(err), ErrorKind::Throttled | ErrorKind::Transient)
}

/// True when the error says the thing asked about does not exist.
pub fn is_not_found<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
    R: HasStatus,
{
    classify(err) == ErrorKind::NotFound
}

/// True when listing executions failed because the state machine is gone (typed check first,
/// the code for endpoints that answer with a bare error).
pub fn is_state_machine_missing<R: HasStatus>(
    err: &SdkError<aws_sdk_sfn::operation::list_executions::ListExecutionsError, R>,
) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.is_state_machine_does_not_exist())
        || is_not_found(err)
}

/// An SDK error as one line a person can act on: the service's code and message when there
/// is one; for a connection that failed, what could not be reached and the innermost cause.
/// Never the error's `Debug` form: that goes to stderr with `--debug` or `RUST_LOG`.
pub fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: HasStatus + std::fmt::Debug,
{
    if debug_enabled() {
        eprintln!("debug: {}", DisplayErrorContext(err));
    }
    match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => {
            let endpoint = ENDPOINT.get().map(String::as_str).unwrap_or("AWS");
            match err {
                SdkError::DispatchFailure(_) => {
                    format!("could not connect to {endpoint} ({})", root_cause(err))
                }
                SdkError::TimeoutError(_) => format!("timed out waiting for {endpoint}"),
                SdkError::ResponseError(_) => {
                    format!(
                        "could not read the answer from {endpoint} ({})",
                        root_cause(err)
                    )
                }
                // A service error without a code (S3 answers some with a bare status).
                _ => match err.raw_response() {
                    Some(raw) => format!("{endpoint} answered HTTP {}", raw.status_code()),
                    None => root_cause(err),
                },
            }
        }
    }
}

/// The innermost error's own message ("Connection refused (os error 111)").
fn root_cause<T: std::error::Error + ?Sized>(err: &T) -> String {
    let mut innermost = None;
    let mut next = err.source();
    while let Some(e) = next {
        innermost = Some(e);
        next = e.source();
    }
    innermost.map_or_else(|| err.to_string(), |e| e.to_string())
}

/// `--debug` or `RUST_LOG` asks for every error's whole chain.
pub fn debug_enabled() -> bool {
    DEBUG.load(std::sync::atomic::Ordering::Relaxed)
        || std::env::var_os("RUST_LOG").is_some_and(|v| !v.is_empty())
}

/// Wraps an SDK error with what was being done, as a tool error (exit 1).
pub fn failed<E, R>(doing: &str, err: &SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: HasStatus + std::fmt::Debug,
{
    Error::failed(format!("{doing}: {}", describe(err)))
}

/// The HTTP status of a raw response (abstracted so [`classify`] is testable).
pub trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        assert_eq!(
            classify_code("Throttling", "Rate exceeded", 400),
            ErrorKind::Throttled
        );
        assert_eq!(classify_code("", "", 429), ErrorKind::Throttled);
        assert_eq!(
            classify_code("ValidationError", "Stack with id x does not exist", 400),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify_code("StateMachineDoesNotExist", "", 400),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify_code("ValidationError", "Template format error", 400),
            ErrorKind::Other
        );
        assert_eq!(
            classify_code("InternalFailure", "", 500),
            ErrorKind::Transient
        );
        assert_eq!(
            classify_code("ValidationError", "No updates are to be performed.", 400),
            ErrorKind::NoChanges
        );
        assert_eq!(classify_code("AccessDenied", "", 403), ErrorKind::Other);
    }

    #[tokio::test]
    async fn a_bad_endpoint_is_a_usage_error() {
        let args = AwsConnection {
            endpoint_url: Some("localhost:5000".into()),
            ..Default::default()
        };
        let err = load(&args).await.unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
