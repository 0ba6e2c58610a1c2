//! `waitable check --live`: the deployed stage, called as a client calls it. TestInvokeMethod
//! (the plain `check`) runs the API's resources without IAM authorization and without the
//! stage; only a signed request to the stage URL shows that authorization, the deployment and
//! the stage answer as they should. No probe starts a job.

use std::time::SystemTime;

use super::signed_api::{self, Signer};
use crate::backend::LiveProbe;
use crate::{Error, Result};
use waitable_core::job::{INPUT_ID, INPUT_PAYLOAD, INPUT_START_TIMESTAMP, JobRequest, Submitted};

/// The body POST / is probed with: the validator must refuse it.
pub const REFUSED_BODY: &str = "{}";

/// Sends the three probes to the stage at `api_url`: a signed `GET /status?limit=1` must
/// answer 200, the same unsigned 403 (only when `iam_auth`: a stack deployed with `--no-auth`
/// answers anyone), and a signed `POST /` with `{}` 400 (the request validator).
pub fn check_stage(
    agent: &ureq::Agent,
    signer: &Signer,
    api_url: &str,
    iam_auth: bool,
    now: SystemTime,
) -> Result<Vec<LiveProbe>> {
    let base = api_url.trim_end_matches('/');
    let status_url = format!("{base}/status?limit=1");
    let mut probes = Vec::new();
    let mut probe = |request: &str, signed: bool, method: &str, url: &str, body: &str, expected| {
        let answer = signed_api::send(agent, signed.then_some(signer), method, url, body, now)?;
        let probe = LiveProbe {
            request: request.to_string(),
            signed,
            expected,
            status: answer.status,
        };
        if answer.status != expected {
            return Err(Error::failed(format!(
                "live check failed: {probe}, expected {expected}: {}",
                first_line(&answer.body)
            )));
        }
        probes.push(probe);
        Ok(())
    };
    probe("GET /status?limit=1", true, "GET", &status_url, "", 200)?;
    if iam_auth {
        probe("GET /status?limit=1", false, "GET", &status_url, "", 403)?;
    }
    probe("POST /", true, "POST", base, REFUSED_BODY, 400)?;
    Ok(probes)
}

/// Starts `job` with a signed `POST /` to the stage, as a client of the API does.
pub fn submit_signed(
    agent: &ureq::Agent,
    signer: &Signer,
    api_url: &str,
    job: &JobRequest,
    now: SystemTime,
) -> Result<Submitted> {
    let mut body = serde_json::Map::new();
    body.insert(INPUT_START_TIMESTAMP.into(), job.at.clone().into());
    body.insert(INPUT_ID.into(), job.id.clone().into());
    if let Some(payload) = &job.payload {
        let value: serde_json::Value = serde_json::from_str(payload.as_str())?;
        body.insert(INPUT_PAYLOAD.into(), value);
    }
    let body = serde_json::Value::Object(body).to_string();
    let url = api_url.trim_end_matches('/');
    let answer = signed_api::send(agent, Some(signer), "POST", url, &body, now)?;
    if answer.status != 200 {
        return Err(Error::failed(format!(
            "POST / answered {}: {}",
            answer.status,
            first_line(&answer.body)
        )));
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Started {
        job_id: String,
        execution_arn: String,
        #[serde(default)]
        idempotent: bool,
    }
    let started: Started = serde_json::from_str(&answer.body).map_err(|e| {
        Error::failed(format!(
            "POST / answered 200 with a body that is not the API's: {e}"
        ))
    })?;
    Ok(Submitted {
        job_id: started.job_id,
        execution_arn: started.execution_arn,
        already_submitted: started.idempotent,
    })
}

fn first_line(body: &str) -> &str {
    let line = body.lines().map(str::trim).find(|l| !l.is_empty());
    line.unwrap_or("(empty body)")
}

/// Whether the API's `GET /status` requires IAM authorization (`--no-auth` stacks do not).
pub async fn uses_iam(apigw: &aws_sdk_apigateway::Client, api_id: &str) -> Result<bool> {
    let resources = apigw
        .get_resources()
        .rest_api_id(api_id)
        .limit(500)
        .send()
        .await
        .map_err(|e| super::sdk::failed("live check: listing the API's resources", &e))?;
    let Some(status) = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/status"))
        .and_then(|r| r.id())
    else {
        return Err(Error::failed(
            "live check failed: the API has no /status resource",
        ));
    };
    let method = apigw
        .get_method()
        .rest_api_id(api_id)
        .resource_id(status)
        .http_method("GET")
        .send()
        .await
        .map_err(|e| super::sdk::failed("live check: reading GET /status", &e))?;
    Ok(method.authorization_type() == Some("AWS_IAM"))
}

/// The signer for the one `SdkConfig`'s credentials and region.
pub async fn signer_of(sdk: &aws_types::SdkConfig) -> Result<Signer> {
    use aws_credential_types::provider::ProvideCredentials;
    let provider = sdk
        .credentials_provider()
        .ok_or_else(|| Error::failed("live check: no AWS credentials to sign with"))?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| Error::failed(format!("live check: resolving credentials: {e}")))?;
    let region = sdk
        .region()
        .map(|r| r.as_ref().to_string())
        .ok_or_else(|| Error::usage(super::sdk::NO_REGION))?;
    Ok(Signer {
        credentials,
        region,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_line_names_the_request_how_it_was_sent_and_the_answer() {
        let p = LiveProbe {
            request: "GET /status?limit=1".into(),
            signed: false,
            expected: 403,
            status: 403,
        };
        assert_eq!(
            p.to_string(),
            "live: GET /status?limit=1 (unsigned) answered 403"
        );
        assert_eq!(
            first_line("\n  {\"message\": \"x\"}\n"),
            "{\"message\": \"x\"}"
        );
        assert_eq!(first_line(""), "(empty body)");
    }
}

#[cfg(test)]
#[path = "live_check_tests.rs"]
mod stage_tests;
