//! A minimal HTTP/1.1 client for the CLI's side of the engine: one request per connection
//! over the engine's control socket in the stack's directory (no TCP, TLS, proxies or
//! redirects). Every call is bounded by [`TIMEOUT`].

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest any call to the engine may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call got no answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Nothing listens on the socket: no engine runs.
    #[error("no engine listens on {0}")]
    NotListening(String),
    /// Connected, but no answer in time (the engine is paused, stuck or overloaded).
    #[error("the engine did not answer within {} s", TIMEOUT.as_secs())]
    NoAnswer,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Whether the engine answers a health call within `within` (answered by the server without
/// the engine thread: a busy engine answers it, a paused process does not).
pub async fn answers_health(socket: &Path, within: Duration) -> bool {
    let call = raw(socket, "GET", super::protocol::HEALTH, None);
    matches!(tokio::time::timeout(within, call).await, Ok(Ok((200, _))))
}

/// Sends one request; returns the status code and the body parsed as JSON.
pub async fn call(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), CallError> {
    let (status, bytes) = call_text(socket, method, path, body.map(Value::to_string)).await?;
    let value = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "the local engine answered {status} with a body that is not JSON: {}",
            String::from_utf8_lossy(&bytes)
        )
    })?;
    Ok((status, value))
}

/// Sends one request with a body given as JSON text; returns the status code and the body's
/// bytes (for answers read with a typed parser, such as payloads kept byte for byte).
pub async fn call_text(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<(u16, Vec<u8>), CallError> {
    tokio::time::timeout(TIMEOUT, raw(socket, method, path, body))
        .await
        .map_err(|_| CallError::NoAnswer)?
}

#[cfg(unix)]
async fn raw(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<(u16, Vec<u8>), CallError> {
    let mut stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|_| CallError::NotListening(socket.display().to_string()))?;
    check_peer(&stream, rustix::process::getuid().as_raw())?;
    let payload = body.unwrap_or_default();
    // The engine runs the command only before this moment: past it, this call has given up.
    // A second before this call gives up, so an answer the engine commits makes it back.
    let deadline = chrono::Utc::now().timestamp_millis() + TIMEOUT.as_millis() as i64 - 1000;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n{}: {deadline}\r\nContent-Length: {}\r\n\r\n",
        super::protocol::DEADLINE_HEADER,
        payload.len()
    );
    let mut response = Vec::new();
    async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(payload.as_bytes()).await?;
        stream.read_to_end(&mut response).await
    }
    .await
    .context("talking to the local engine")?;
    Ok(parse_response(&response)?)
}

/// Refuses a socket whose other end is not a process of user `uid` (SO_PEERCRED on Linux,
/// getpeereid on macOS): nothing is sent to an engine someone else runs.
#[cfg(unix)]
pub fn check_peer(stream: &tokio::net::UnixStream, uid: u32) -> anyhow::Result<()> {
    let peer = stream
        .peer_cred()
        .context("asking the engine's socket who serves it")?
        .uid();
    if peer != uid {
        bail!(
            "the engine's socket is served by uid {peer}, not by you (uid {uid}): nothing was sent"
        );
    }
    Ok(())
}

#[cfg(not(unix))]
async fn raw(
    socket: &Path,
    _method: &str,
    _path: &str,
    _body: Option<String>,
) -> Result<(u16, Vec<u8>), CallError> {
    Err(CallError::NotListening(socket.display().to_string()))
}

/// Splits a response into status and body (Content-Length or chunked).
pub fn parse_response(response: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("truncated HTTP response")?;
    let head = std::str::from_utf8(&response[..split]).context("HTTP headers are not text")?;
    let body = &response[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("bad HTTP status line")?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("bad chunk")?;
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol])?.trim(), 16)?;
        rest = &rest[eol + 2..];
        if size == 0 {
            break;
        }
        if rest.len() < size {
            bail!("truncated chunk");
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
    Ok((status, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_responses() {
        let (s, b) = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!((s, b.as_slice()), (200, &b"{}"[..]));
        let (s, b) = parse_response(
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((s, b.as_slice()), (404, &b"{\"a\":1}"[..]));
        assert!(parse_response(b"garbage").is_err());
    }
}
