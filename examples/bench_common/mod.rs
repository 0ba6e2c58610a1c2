//! What the bench load generators (`bench_local`, `bench_scale`) share: a keep-alive HTTP/1.1
//! connection to a local engine on 127.0.0.1, their concurrency, timestamps and percentiles.

#![allow(dead_code)]

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Connections each generator keeps open at once.
pub const CONCURRENCY: usize = 32;

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    port: u16,
    io: BufReader<TcpStream>,
}

impl Conn {
    pub async fn open(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        s.set_nodelay(true).unwrap();
        Conn {
            port,
            io: BufReader::new(s),
        }
    }

    pub async fn request(&mut self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.port,
            body.len()
        );
        let s = self.io.get_mut();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body.as_bytes()).await.unwrap();
        let mut line = String::new();
        self.io.read_line(&mut line).await.unwrap();
        let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut len = 0;
        loop {
            line.clear();
            self.io.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut buf = vec![0; len];
        self.io.read_exact(&mut buf).await.unwrap();
        (status, buf)
    }
}

/// `ms` since the epoch as RFC 3339 UTC with milliseconds.
pub fn iso_millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// `ms` since the epoch as RFC 3339 UTC in whole seconds.
pub fn iso_seconds(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The `p` (0 to 1) percentile of a sorted, non-empty slice.
pub fn percentile(sorted: &[i64], p: f64) -> i64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
