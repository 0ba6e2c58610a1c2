//! The public port's guard against browsers. Any web page can make the browser send a request
//! to 127.0.0.1 (a form-like POST needs no preflight), and a DNS-rebinding page can even name
//! it with a host name of its own. Such requests carry an `Origin` or `Sec-Fetch-Site` header,
//! or a foreign `Host`; they are refused with 403 before anything runs. curl, scripts and
//! programs send none of these, so the documented API is unaffected.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::protocol::ErrorBody;

/// Passes only requests that come from this machine's own programs, not from a browser page.
pub async fn same_origin_only(port: u16, req: Request, next: Next) -> Response {
    let answer = |status, error: &str, message| {
        (
            status,
            Json(ErrorBody {
                error: error.into(),
                message,
            }),
        )
            .into_response()
    };
    if let Some(message) = ambiguous(port, req.uri(), req.headers()) {
        return answer(StatusCode::BAD_REQUEST, "BadRequest", message);
    }
    match refusal(port, req.headers()) {
        None => next.run(req).await,
        Some(message) => answer(StatusCode::FORBIDDEN, "Forbidden", message),
    }
}

/// A request that names its host twice, or two ways that disagree (RFC 9112 section 3.2: a
/// server answers 400 to more than one Host, and an absolute-form target's authority is the
/// host): which host it is for cannot be told, so it is not served.
fn ambiguous(port: u16, uri: &axum::http::Uri, headers: &HeaderMap) -> Option<String> {
    if headers.get_all(header::HOST).iter().count() > 1 {
        return Some("a request with more than one Host header is refused".into());
    }
    let authority = uri.authority()?.as_str();
    let ours = [
        "127.0.0.1".to_string(),
        "localhost".to_string(),
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
    ];
    (!ours.iter().any(|o| o == authority)).then(|| {
        format!("a request for {authority:?} is refused: the local API answers only to 127.0.0.1")
    })
}

/// Why a request is refused, if it is.
fn refusal(port: u16, headers: &HeaderMap) -> Option<String> {
    let text = |name| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).to_string())
    };
    let ours = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    if let Some(host) = text(header::HOST)
        && !(host == "127.0.0.1" || host == "localhost" || ours.contains(&host))
    {
        return Some(format!(
            "requests for host {host:?} are refused: the local API answers only to 127.0.0.1"
        ));
    }
    if let Some(origin) = text(header::ORIGIN)
        && !ours.iter().any(|o| origin == format!("http://{o}"))
    {
        return Some(format!(
            "cross-origin requests (from {origin}) are refused: the local API is not for web pages"
        ));
    }
    if let Some(site) = text(axum::http::HeaderName::from_static("sec-fetch-site"))
        && site != "same-origin"
        && site != "none"
    {
        return Some(format!(
            "requests a browser sends for another site ({site}) are refused"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_this_machines_programs_pass() {
        for ok in [
            headers(&[]),
            headers(&[("host", "127.0.0.1:4000")]),
            headers(&[
                ("host", "localhost:4000"),
                ("origin", "http://localhost:4000"),
            ]),
            headers(&[("host", "127.0.0.1"), ("sec-fetch-site", "none")]),
        ] {
            assert_eq!(refusal(4000, &ok), None, "{ok:?}");
        }
        for bad in [
            headers(&[("origin", "http://evil.example")]),
            headers(&[("origin", "null")]),
            headers(&[("origin", "http://127.0.0.1:4001")]),
            headers(&[("host", "evil.example:4000")]),
            headers(&[("sec-fetch-site", "cross-site")]),
        ] {
            assert!(refusal(4000, &bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn two_hosts_or_a_target_for_another_authority_are_bad_requests() {
        let uri = |u: &str| u.parse::<axum::http::Uri>().unwrap();
        let mut two = HeaderMap::new();
        two.append(header::HOST, "127.0.0.1:4000".parse().unwrap());
        two.append(header::HOST, "evil.example".parse().unwrap());
        assert!(ambiguous(4000, &uri("/"), &two).is_some());
        let one = headers(&[("host", "127.0.0.1:4000")]);
        assert_eq!(ambiguous(4000, &uri("/"), &one), None);
        assert_eq!(
            ambiguous(4000, &uri("http://127.0.0.1:4000/status"), &one),
            None
        );
        assert!(ambiguous(4000, &uri("http://evil.example/status"), &one).is_some());
        assert!(ambiguous(4000, &uri("http://127.0.0.1:4001/"), &one).is_some());
    }
}
