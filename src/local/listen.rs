//! The public port's connections: a bounded number at once, each given a deadline to send
//! its request, so idle or half-sent connections cannot take the engine's file descriptors
//! (which its deliveries and database need too).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

/// How long a client has to send a request's headers (from its connection, or from the end
/// of its previous request) and then its body.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Tests shorten [`READ_TIMEOUT`] with this (milliseconds).
pub const READ_TIMEOUT_ENV: &str = "WAITABLE_ENGINE_READ_TIMEOUT_MS";
/// The most connections the public port holds open at once, whatever the descriptor limit.
pub const MAX_CONNECTIONS: usize = 1024;
/// Descriptors kept for everything else: the database, deliveries, the control socket.
pub const RESERVED_DESCRIPTORS: u64 = 256;

/// Raises this process's soft limit on open files to its hard limit (as servers do; the
/// soft default is 1,024 on Linux, 256 on macOS) and returns the soft limit now in force.
pub fn raise_open_files_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    let current = limit.current.unwrap_or(u64::MAX);
    // macOS refuses a soft limit over OPEN_MAX (10,240) even when the hard one is unlimited.
    let wanted = limit.maximum.unwrap_or(u64::MAX).min(10_240);
    if wanted > current {
        limit.current = Some(wanted);
        if setrlimit(Resource::Nofile, limit).is_ok() {
            return wanted;
        }
    }
    current
}

/// The connections the public port takes at once under `open_files` descriptors: at most half
/// of what is left after [`RESERVED_DESCRIPTORS`] (the other half is the webhooks', see
/// [`webhook_limit`]).
pub fn connection_limit(open_files: u64) -> usize {
    (half_of_spare(open_files) as usize).min(MAX_CONNECTIONS)
}

/// The most webhook requests (each a connection) the engine makes at once under `open_files`
/// descriptors, whatever the stack's `webhookConcurrency` says.
pub fn webhook_limit(open_files: u64) -> usize {
    half_of_spare(open_files) as usize
}

fn half_of_spare(open_files: u64) -> u64 {
    (open_files.saturating_sub(RESERVED_DESCRIPTORS) / 2).max(16)
}

fn read_timeout() -> Duration {
    std::env::var(READ_TIMEOUT_ENV)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(READ_TIMEOUT, Duration::from_millis)
}

/// Serves `router` on `listener` until `shutdown` is notified, then lets the connections
/// finish their requests. A connection over `limit` is closed at once: the client may retry.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limit: usize,
    stop: tokio::sync::futures::OwnedNotified,
    shutdown: Arc<Notify>,
) {
    let timeout = read_timeout();
    let router = router.layer(axum::middleware::from_fn(move |req, next| {
        body_within(timeout, req, next)
    }));
    let permits = Arc::new(Semaphore::new(limit));
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of descriptors (or a connection reset before accept): the ones
                    // held are freed by their deadline; try again shortly.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let closing = shutdown.clone().notified_owned();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(timeout);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn, closing);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = &mut closing => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(permit);
        });
    }
    // Every connection ends within its read deadline once told to close.
    let _ = tokio::time::timeout(
        timeout + Duration::from_secs(1),
        permits.acquire_many(limit as u32),
    )
    .await;
}

/// The body must arrive within the read deadline too (the headers have theirs in hyper).
async fn body_within(
    timeout: Duration,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(Deadline {
        body,
        sleep: Box::pin(tokio::time::sleep(timeout)),
    });
    next.run(Request::from_parts(parts, body)).await
}

/// A request body that fails once its deadline passes before it has all arrived.
struct Deadline {
    body: axum::body::Body,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for Deadline {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        use std::future::Future;
        use std::task::Poll;
        if let Poll::Ready(frame) = std::pin::Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(
                "the request body did not arrive within the read timeout",
            )))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_limit_leaves_descriptors_for_the_rest() {
        assert_eq!(connection_limit(1024), 384);
        assert_eq!(connection_limit(256), 16);
        assert_eq!(connection_limit(20_000), MAX_CONNECTIONS);
        // The webhooks get the other half: 1,024 at once takes a limit of 2,304.
        assert_eq!(webhook_limit(1024), 384);
        assert_eq!(webhook_limit(2304), 1024);
        assert_eq!(webhook_limit(20_000), 9872);
    }
}
