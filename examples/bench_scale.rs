//! Load generator for `scripts/bench-scale` (not part of the tool): submits jobs through a
//! running local engine's public `POST /`, and reads firing lateness back through
//! `GET /status?status=COMPLETED` (the status index, so the waiting million are not read).
//!
//!   bench_scale submit <port> <count> <id-prefix> <first-due-ms> <span-ms>
//!   bench_scale lateness <port> <id-prefix> <expected>

mod bench_common;

use std::time::Instant;

use bench_common::{CONCURRENCY, Conn, iso_seconds, percentile};
use serde_json::{Value, json};

/// Submits `count` jobs through POST / with CONCURRENCY connections, due from `first` across
/// `span` ms; returns jobs per second. Bodies are made on the fly (flat client memory).
async fn submit(port: u16, count: usize, prefix: String, first: i64, span: i64) -> f64 {
    let started = Instant::now();
    let per = count.div_ceil(CONCURRENCY).max(1);
    let mut tasks = Vec::new();
    for c in 0..CONCURRENCY {
        let prefix = prefix.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(port).await;
            for i in (c * per)..((c + 1) * per).min(count) {
                let due = first + (i as i64 * span) / count.max(1) as i64;
                let body = json!({
                    "StartTimestamp": iso_seconds(due),
                    "Id": format!("{prefix}-{i:07}"),
                    "Payload": {"n": i}
                })
                .to_string();
                let (status, answer) = conn.request("POST", "/", &body).await;
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// Lateness (LastUpdated - StartActionAt) of the COMPLETED jobs whose Id starts with `prefix`.
async fn lateness(port: u16, prefix: &str, expected: usize) {
    let mut conn = Conn::open(port).await;
    let mut late = Vec::new();
    let mut path = "/status?status=COMPLETED&limit=1000".to_string();
    loop {
        let (status, body) = conn.request("GET", &path, "").await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let page: Value = serde_json::from_slice(&body).unwrap();
        for item in page["items"].as_array().unwrap() {
            if !item["Id"].as_str().unwrap().starts_with(prefix) {
                continue;
            }
            let due = chrono::DateTime::parse_from_rfc3339(item["StartActionAt"].as_str().unwrap())
                .unwrap();
            let fired = chrono::DateTime::parse_from_rfc3339(item["LastUpdated"].as_str().unwrap())
                .unwrap();
            late.push((fired - due).num_milliseconds());
        }
        match page["nextToken"].as_str() {
            Some(t) => path = format!("/status?status=COMPLETED&limit=1000&nextToken={t}"),
            None => break,
        }
    }
    late.sort_unstable();
    if late.is_empty() {
        println!("lateness: none of {expected} completed");
        return;
    }
    println!(
        "lateness over {} of {expected} jobs (LastUpdated - StartActionAt): p50 {} ms, p99 {} ms, max {} ms",
        late.len(),
        percentile(&late, 0.5),
        percentile(&late, 0.99),
        late.last().unwrap()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args[2].parse().unwrap();
    match args[1].as_str() {
        "submit" => {
            let count: usize = args[3].parse().unwrap();
            let rate = submit(
                port,
                count,
                args[4].clone(),
                args[5].parse().unwrap(),
                args[6].parse().unwrap(),
            )
            .await;
            println!(
                "submit: {count} jobs through POST / at {rate:.0} jobs/s ({CONCURRENCY} connections)"
            );
        }
        "lateness" => lateness(port, &args[3], args[4].parse().unwrap()).await,
        other => panic!("unknown mode {other}"),
    }
}
