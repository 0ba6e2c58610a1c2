//! `http:invoke` on the local target: the request itself, made by the send pool (`pool`)
//! as an async task (never on the engine thread), with the answer mapped the way the HTTP
//! Task maps it.

use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::{Value, json};

use super::deliver::Delivery;
use waitable_asl::Fault;

/// The most of an answer's body kept as `ResponseBody` (the state data limit).
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The client the send pool makes webhook requests with: HTTP/1.1 over TCP or rustls (the
/// aws-lc provider the AWS SDK already links, the webpki roots), keep-alive connections kept
/// for reuse, no redirect followed (an answer of 3xx is answered as such, as the HTTP Task
/// does). Used from the pool's runtime.
pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

pub fn client(idle_connections: usize) -> HttpClient {
    let crypto = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(crypto)
        .with_safe_default_protocol_versions()
        .expect("the aws-lc provider supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    // A request's head and body leave at once, never held back for an acknowledgement.
    tcp.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_max_idle_per_host(idle_connections)
        .build(https)
}

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
/// result, any other status is `States.Http.StatusCode.<n>`, no answer (within the
/// delivery's timeout, AWS's 60 s) is `States.Http.Socket`.
pub async fn http_invoke(
    client: &HttpClient,
    d: &Delivery,
    params: &Value,
) -> Result<Value, Fault> {
    let (method, url, req) = request(d, params)?;
    let exchange = async {
        let resp = client.request(req).await.map_err(|e| {
            Fault::task(
                "States.Http.Socket",
                format!("{method} {url}: {}", chain(&e)),
            )
        })?;
        let (head, body) = resp.into_parts();
        let content_type = head
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if let Some(kind) = binary_kind(&content_type) {
            return Err(refused_type(&url, head.status.as_u16(), kind));
        }
        // Past the state data limit the body is not kept: the request was made, and what the
        // webhook says beyond its status is not the job's business.
        let bytes = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        answer(&url, head.status, &content_type, bytes)
    };
    match tokio::time::timeout(d.timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(Fault::task(
            "States.Http.Socket",
            format!(
                "{method} {url}: no answer within {} s",
                d.timeout.as_secs_f64()
            ),
        )),
    }
}

/// The request a task's parameters ask for, with the connection's header (read at each
/// request, so a redeploy's new header applies at once).
fn request(
    d: &Delivery,
    params: &Value,
) -> Result<(String, String, hyper::Request<Full<Bytes>>), Fault> {
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
    let mut req = hyper::Request::builder().method(method).uri(url);
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
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| invalid(format!("the request to {url} is invalid: {e}")))?;
    Ok((method.to_string(), url.to_string(), req))
}

/// What the HTTP Task makes of an answer: 2xx with text (or nothing) is the result, another
/// status is `States.Http.StatusCode.<n>` with the body in the cause, and a body that is
/// not text is refused.
fn answer(
    url: &str,
    status: hyper::StatusCode,
    content_type: &str,
    body: Vec<u8>,
) -> Result<Value, Fault> {
    let code = status.as_u16();
    let Ok(text) = String::from_utf8(body) else {
        return Err(Fault::task(
            "States.Runtime",
            format!(
                "{url} answered {code} with a body that is not valid text (Content-Type {content_type:?}): an HTTP Task takes only a text answer (or none)"
            ),
        ));
    };
    if status.is_success() {
        Ok(
            json!({ "StatusCode": code, "StatusText": status.canonical_reason().unwrap_or_default(), "ResponseBody": text }),
        )
    } else {
        let cause = json!({ "StatusCode": code, "ResponseBody": text }).to_string();
        Err(Fault::task(
            &format!("States.Http.StatusCode.{code}"),
            cause,
        ))
    }
}

fn refused_type(url: &str, status: u16, kind: &str) -> Fault {
    Fault::task(
        "States.Runtime",
        format!(
            "{url} answered {status} with Content-Type {kind}: an HTTP Task takes only a text answer (or none)"
        ),
    )
}

/// An error with its causes, one after the other (the client's own text says little:
/// "client error (Connect)").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
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

    fn run(d: &Delivery, params: &Value) -> Result<Value, Fault> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(http_invoke(&client(4), d, params))
    }

    fn invoke(url: &str, d: &Delivery) -> Result<Value, Fault> {
        run(
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
        let f = run(&d, &json!({ "ApiEndpoint": "http://127.0.0.1:1/", "Authentication": { "ConnectionArn": other.connection_arn } })).unwrap_err();
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
