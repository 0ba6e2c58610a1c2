//! The signing checked against a stand-in stage on 127.0.0.1 that verifies SigV4 the way API
//! Gateway does, with botocore computing the expected signature (`tests/sigv4_stage.py`).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;

use super::*;

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const REGION: &str = "eu-west-1";

/// The stand-in stage, killed when dropped.
struct Stage {
    child: Child,
    url: String,
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("WAITABLE_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"))
        .join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run the tests with scripts/test, which installs botocore in .venv",
        python.display()
    );
    python
}

fn stage(stage_name: &str) -> Stage {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sigv4_stage.py");
    let mut child = Command::new(python())
        .arg(script)
        .args([ACCESS_KEY, SECRET_KEY, REGION, stage_name])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the stand-in stage starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("the stage prints its port");
    Stage {
        child,
        url: format!("http://127.0.0.1:{port}/{stage_name}"),
    }
}

fn signer(secret: &str, token: Option<&str>) -> Signer {
    Signer {
        credentials: Credentials::new(ACCESS_KEY, secret, token.map(str::to_string), None, "test"),
        region: REGION.into(),
    }
}

#[test]
fn signed_probes_pass_a_stage_that_verifies_signatures_as_aws_does() {
    let stage = stage("prod");
    let agent = signed_api::agent();
    let probes = check_stage(
        &agent,
        &signer(SECRET_KEY, None),
        &stage.url,
        true,
        SystemTime::now(),
    )
    .unwrap();
    let lines: Vec<String> = probes.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "live: GET /status?limit=1 (signed) answered 200",
            "live: GET /status?limit=1 (unsigned) answered 403",
            "live: POST / (signed) answered 400",
        ]
    );
    // Temporary credentials sign with their session token too.
    let with_token = signer(SECRET_KEY, Some("FQoGZXIvYXdzEXAMPLETOKEN"));
    check_stage(&agent, &with_token, &stage.url, false, SystemTime::now()).unwrap();
}

#[test]
fn a_wrong_key_or_a_stale_signature_is_refused_and_named() {
    let stage = stage("dev");
    let agent = signed_api::agent();
    let err = check_stage(
        &agent,
        &signer("not-the-secret", None),
        &stage.url,
        true,
        SystemTime::now(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "live check failed: live: GET /status?limit=1 (signed) answered 403, expected 200: "
        ),
        "{msg}"
    );
    assert!(
        msg.contains("signature we calculated does not match"),
        "{msg}"
    );
    assert_eq!(err.exit_code(), 1);

    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let err = check_stage(
        &agent,
        &signer(SECRET_KEY, None),
        &stage.url,
        true,
        an_hour_ago,
    )
    .unwrap_err();
    assert!(err.to_string().contains("Signature expired"), "{err}");
}

#[test]
fn a_stage_that_lets_unsigned_requests_through_fails_when_auth_is_expected() {
    // The stand-in refuses unsigned calls, so expecting them to pass must fail: the probe
    // really compares the answer with what the stack's auth promises.
    let stage = stage("prod");
    let agent = signed_api::agent();
    let answer = signed_api::send(
        &agent,
        None,
        "GET",
        &format!("{}/status?limit=1", stage.url),
        "",
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(answer.status, 403);
    assert!(
        answer.body.contains("Missing Authentication Token"),
        "{answer:?}"
    );
}

#[test]
fn the_canary_is_submitted_with_a_signed_post_in_the_api_contract() {
    let stage = stage("prod");
    let job = JobRequest {
        id: "waitable-canary-20300101T000000Z-ab12".into(),
        at: "2030-01-01T00:00:05Z".into(),
        payload: Some(waitable_core::payload::Payload::parse(r#"{"canary": true}"#).unwrap()),
    };
    let agent = signed_api::agent();
    let submitted = submit_signed(
        &agent,
        &signer(SECRET_KEY, None),
        &stage.url,
        &job,
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(submitted.job_id, "x", "the stage's answer, parsed");
    let err = submit_signed(
        &agent,
        &signer("wrong", None),
        &stage.url,
        &job,
        SystemTime::now(),
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("POST / answered 403: "),
        "{err}"
    );
}
