//! `http:invoke` on the local target: the request itself, made by a worker of the send pool
//! (never on the engine thread), with the answer mapped the way the HTTP Task maps it.

use serde_json::{Value, json};

use super::deliver::Delivery;
use waitable_asl::Fault;

/// The most of an answer's body kept as `ResponseBody` (the state data limit).
const MAX_RESPONSE_BYTES: u64 = 256 * 1024;

/// The answer types an HTTP Task refuses with `States.Runtime`, even on 2xx (Step Functions
/// guide, "Call HTTPS APIs"): the binary ones.
fn binary_kind(content_type: &str) -> Option<&str> {
    let kind = content_type.split(';').next().unwrap_or_default().trim();
    let binary = kind == "application/octet-stream"
        || ["image/", "audio/", "video/"]
            .iter()
            .any(|p| kind.starts_with(p));
    binary.then_some(kind)
}

/// `http:invoke`: a POST (or the method asked for) with the connection's header; 2xx is the
/// result, any other status is `States.Http.StatusCode.<n>`, no answer is `States.Http.Socket`.
pub fn http_invoke(d: &Delivery, params: &Value) -> Result<Value, Fault> {
    let invalid = |m: String| Fault::task("States.Runtime", m);
    let url = params["ApiEndpoint"]
        .as_str()
        .ok_or_else(|| invalid("ApiEndpoint is required".into()))?;
    let method = params["Method"].as_str().unwrap_or("POST");
    if params["Authentication"]["ConnectionArn"].as_str() != Some(d.connection_arn.as_str()) {
        return Err(Fault::task(
            "Events.ConnectionResource.InvalidConnectionState",
            "the connection is not this stack's webhook connection",
        ));
    }
    let body = match &params["RequestBody"] {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in params["Headers"].as_object().into_iter().flatten() {
        let v = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        req = req.header(k.as_str(), v);
    }
    if let Some((k, v)) = &d.header() {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(body)
        .map_err(|e| invalid(format!("the request to {url} is invalid: {e}")))?;
    let mut resp = d
        .agent
        .run(req)
        .map_err(|e| Fault::task("States.Http.Socket", format!("POST {url}: {e}")))?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let Some(kind) = binary_kind(&content_type) {
        return Err(Fault::task(
            "States.Runtime",
            format!(
                "{url} answered {status} with Content-Type {kind}: an HTTP Task takes only a text answer (or none)"
            ),
        ));
    }
    // Past the state data limit the body is not kept: the request was made, and what the
    // webhook says beyond its status is not the job's business.
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_vec()
        .unwrap_or_default();
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(Fault::task(
            "States.Runtime",
            format!(
                "{url} answered {status} with a body that is not valid text (Content-Type {content_type:?}): an HTTP Task takes only a text answer (or none)"
            ),
        ));
    };
    if (200..300).contains(&status) {
        Ok(
            json!({ "StatusCode": status, "StatusText": resp.status().canonical_reason().unwrap_or_default(), "ResponseBody": text }),
        )
    } else {
        let cause = json!({ "StatusCode": status, "ResponseBody": text }).to_string();
        Err(Fault::task(
            &format!("States.Http.StatusCode.{status}"),
            cause,
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::super::deliver::WEBHOOK_HEADER_FILE;
    use super::*;

    /// A one-shot HTTP server answering `status`; returns its URL and the request it got.
    fn server(status: u16) -> (String, std::thread::JoinHandle<String>) {
        answering(status, "", b"ok".to_vec())
    }

    /// A one-shot HTTP server answering `status` with `headers` (each ending in CRLF) and `body`.
    fn answering(
        status: u16,
        headers: &'static str,
        body: Vec<u8>,
    ) -> (String, std::thread::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = vec![0u8; 65536];
            let mut got = Vec::new();
            loop {
                let n = s.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if got.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            write!(
                s,
                "HTTP/1.1 {status} X\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            // A client that stops reading past its limit closes early.
            let _ = s.write_all(&body);
            String::from_utf8(got).unwrap()
        });
        (url, h)
    }

    fn invoke(url: &str, d: &Delivery) -> Result<Value, Fault> {
        http_invoke(
            d,
            &json!({
                "ApiEndpoint": url,
                "Method": "POST",
                "Authentication": { "ConnectionArn": d.connection_arn },
                "Headers": { "Content-Type": "application/json", "Idempotency-Key": "job-1" },
                "RequestBody": "{\"Id\":\"job-1\",\"Payload\":{\"n\":1e2}}"
            }),
        )
    }

    #[test]
    fn a_webhook_gets_the_body_as_is_with_the_connection_header() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(WEBHOOK_HEADER_FILE);
        std::fs::write(&file, r#"["Authorization","Bearer s3cret"]"#).unwrap();
        let d = Delivery::new("s", Some(file));
        let (url, h) = server(204);
        let r = invoke(&url, &d).unwrap();
        assert_eq!(r["StatusCode"], 204);
        let req = h.join().unwrap();
        assert!(req.starts_with("POST /hook HTTP/1.1\r\n"), "{req}");
        assert!(
            req.to_ascii_lowercase()
                .contains("authorization: bearer s3cret"),
            "{req}"
        );
        assert!(
            req.to_ascii_lowercase().contains("idempotency-key: job-1"),
            "{req}"
        );
        assert!(
            req.ends_with("\r\n\r\n{\"Id\":\"job-1\",\"Payload\":{\"n\":1e2}}"),
            "{req}"
        );
    }

    #[test]
    fn statuses_become_the_http_tasks_error_names() {
        let d = Delivery::new("s", None);
        for status in [400, 429, 500] {
            let (url, h) = server(status);
            let f = invoke(&url, &d).unwrap_err();
            h.join().unwrap();
            assert_eq!(f.error, format!("States.Http.StatusCode.{status}"));
            assert!(f.from_task);
        }
        // Nobody listening: a socket error.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let f = invoke(&format!("http://127.0.0.1:{port}/x"), &d).unwrap_err();
        assert_eq!(f.error, "States.Http.Socket");
        // Another stack's connection is refused without a request.
        let other = Delivery::new("other", None);
        let f = http_invoke(&d, &json!({ "ApiEndpoint": "http://127.0.0.1:1/", "Authentication": { "ConnectionArn": other.connection_arn } })).unwrap_err();
        assert!(f.error.starts_with("Events.ConnectionResource"), "{f:?}");
    }

    #[test]
    fn a_binary_or_untextual_answer_fails_with_states_runtime_even_on_2xx() {
        let d = Delivery::new("s", None);
        for kind in [
            "application/octet-stream",
            "image/png",
            "audio/mpeg",
            "video/mp4; codecs=x",
        ] {
            let headers: &'static str = format!("content-type: {kind}\r\n").leak();
            let (url, h) = answering(200, headers, b"ok".to_vec());
            let f = invoke(&url, &d).unwrap_err();
            h.join().unwrap();
            assert_eq!(f.error, "States.Runtime", "{kind}");
            let shown = kind.split(';').next().unwrap();
            assert!(f.cause.contains(shown), "{kind}: {}", f.cause);
        }
        let (url, h) = answering(200, "content-type: text/plain\r\n", vec![0xff, 0xfe]);
        let f = invoke(&url, &d).unwrap_err();
        h.join().unwrap();
        assert_eq!(f.error, "States.Runtime");
        assert!(f.cause.contains("not valid text"), "{}", f.cause);
        // Text of any kind, or nothing, is fine.
        let (url, h) = answering(200, "content-type: text/html\r\n", b"<p>ok</p>".to_vec());
        assert_eq!(invoke(&url, &d).unwrap()["ResponseBody"], "<p>ok</p>");
        h.join().unwrap();
    }

    #[test]
    fn a_large_2xx_answer_still_delivers() {
        let d = Delivery::new("s", None);
        let (url, h) = answering(
            200,
            "content-type: application/json\r\n",
            vec![b' '; 1 << 20],
        );
        let r = invoke(&url, &d).unwrap();
        h.join().unwrap();
        assert_eq!(r["StatusCode"], 200);
        assert_eq!(r["ResponseBody"], "");
    }
}
