//! Requests to the deployed stage itself, signed with SigV4 (service `execute-api`) as any
//! client of an IAM-authorised API must sign them. Used by `check --live` and the canary.
//!
//! The HTTP client is blocking (ureq, already used for webhooks); callers on the runtime run
//! these calls with `spawn_blocking`.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::{Error, Result};

/// API Gateway's service name in SigV4's credential scope.
pub const SERVICE: &str = "execute-api";
/// How long one request to the stage may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Who signs, for which region.
#[derive(Clone)]
pub struct Signer {
    pub credentials: Credentials,
    pub region: String,
}

/// One answer from the stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// A blocking HTTP agent that reports every status as an answer (a 403 is what a probe
/// wants to see, not an error) and follows no redirect.
pub fn agent() -> ureq::Agent {
    crate::http_agent::agent(TIMEOUT, IDLE_CONNECTIONS)
}

/// The stage is called a few times per command.
const IDLE_CONNECTIONS: usize = 4;

/// Sends `method url` with `body` (JSON when not empty), signed by `signer` at `now` when
/// given, unsigned otherwise.
pub fn send(
    agent: &ureq::Agent,
    signer: Option<&Signer>,
    method: &str,
    url: &str,
    body: &str,
    now: SystemTime,
) -> Result<Answer> {
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    if !body.is_empty() {
        request = request.header("content-type", "application/json");
    }
    let mut request = request
        .body(body.as_bytes().to_vec())
        .map_err(|e| Error::usage(format!("{url} is not a URL the API can be called at: {e}")))?;
    if let Some(signer) = signer {
        sign_request(&mut request, signer, now)?;
    }
    let mut response = agent
        .run(request)
        .map_err(|e| Error::failed(format!("calling {method} {url}: {e}")))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| Error::failed(format!("reading the answer to {method} {url}: {e}")))?;
    Ok(Answer { status, body })
}

/// Adds SigV4's headers (`authorization`, `x-amz-date`, the session token when there is one)
/// for every header already on `request` plus its host.
pub fn sign_request(
    request: &mut ureq::http::Request<Vec<u8>>,
    signer: &Signer,
    now: SystemTime,
) -> Result<()> {
    let identity: Identity = signer.credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&signer.region)
        .name(SERVICE)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| Error::failed(format!("signing the request: {e}")))?
        .into();
    let uri = request.uri().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        uri.as_str(),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(request.body()),
    )
    .map_err(|e| Error::failed(format!("signing the request: {e}")))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| Error::failed(format!("signing the request: {e}")))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}
