//! Load generator for `scripts/bench-local` (not part of the tool): drives a running local
//! engine through its public HTTP API and reads the engine's own resource use from /proc.
//!
//! bench_local <port> <engine-pid> [waiting-jobs] [firing-jobs] [idle-seconds]

mod bench_common;

use std::time::{Duration, Instant};

use bench_common::{CONCURRENCY, Conn, iso_millis, percentile};
use serde_json::{Value, json};

/// Submits `bodies` through POST / with CONCURRENCY connections; returns jobs per second.
async fn submit_all(port: u16, bodies: Vec<String>) -> f64 {
    let started = Instant::now();
    let n = bodies.len();
    let chunks: Vec<Vec<String>> = bodies
        .chunks(n.div_ceil(CONCURRENCY).max(1))
        .map(<[String]>::to_vec)
        .collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(port).await;
            for b in chunk {
                let (status, body) = c.request("POST", "/", &b).await;
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// Every item of GET /status.
async fn all_items(port: u16) -> Vec<Value> {
    let mut c = Conn::open(port).await;
    let mut items = Vec::new();
    let mut path = "/status?limit=1000".to_string();
    loop {
        let (status, body) = c.request("GET", &path, "").await;
        assert_eq!(status, 200);
        let v: Value = serde_json::from_slice(&body).unwrap();
        items.extend(v["items"].as_array().unwrap().iter().cloned());
        match v["nextToken"].as_str() {
            Some(t) => path = format!("/status?limit=1000&nextToken={t}"),
            None => return items,
        }
    }
}

fn proc_status(pid: u32, key: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
        .unwrap_or_default()
}

/// utime + stime of the process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args[1].parse().unwrap();
    let pid: u32 = args[2].parse().unwrap();
    let waiting: usize = args.get(3).map_or(100_000, |a| a.parse().unwrap());
    let firing: usize = args.get(4).map_or(10_000, |a| a.parse().unwrap());
    let idle_secs: u64 = args.get(5).map_or(30, |a| a.parse().unwrap());

    // 1. Jobs that wait (due in a year): submit throughput.
    let bodies: Vec<String> = (0..waiting)
        .map(|i| json!({"StartTimestamp": "2027-12-31T00:00:00Z", "Id": format!("wait-{i:06}"), "Payload": {"n": i}}).to_string())
        .collect();
    let rate = submit_all(port, bodies).await;
    println!(
        "submit: {waiting} jobs through POST / at {rate:.0} jobs/s ({CONCURRENCY} connections)"
    );
    println!("rss after submit: {}", proc_status(pid, "VmRSS:"));

    // 2. Idle CPU while they wait.
    let t0 = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let ticks = cpu_ticks(pid) - t0;
    let hz = 100.0; // USER_HZ on Linux
    println!(
        "idle: {:.2}% of one core over {idle_secs}s with {waiting} jobs waiting ({ticks} ticks)",
        ticks as f64 / hz / idle_secs as f64 * 100.0
    );

    // 3. Firing lateness: `firing` jobs due across one minute, starting 20 s from now.
    let start = chrono::Utc::now().timestamp_millis() + 20_000;
    let span = 60_000;
    let bodies: Vec<String> = (0..firing)
        .map(|i| {
            let due = start + (i as i64 * span) / firing as i64;
            json!({"StartTimestamp": iso_millis(due), "Id": format!("fire-{i:06}")}).to_string()
        })
        .collect();
    let rate = submit_all(port, bodies).await;
    println!("submit: {firing} jobs due within one minute at {rate:.0} jobs/s");
    let end = start + span;
    let wait = end - chrono::Utc::now().timestamp_millis() + 3_000;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
    let items = all_items(port).await;
    let mut lateness: Vec<i64> = Vec::new();
    let mut not_done = 0;
    for i in items
        .iter()
        .filter(|i| i["Id"].as_str().unwrap().starts_with("fire-"))
    {
        if i["ProcessStatus"] != "COMPLETED" {
            not_done += 1;
            continue;
        }
        let due =
            chrono::DateTime::parse_from_rfc3339(i["StartActionAt"].as_str().unwrap()).unwrap();
        let fired =
            chrono::DateTime::parse_from_rfc3339(i["LastUpdated"].as_str().unwrap()).unwrap();
        lateness.push((fired - due).num_milliseconds());
    }
    lateness.sort_unstable();
    println!(
        "lateness over {} jobs (LastUpdated - StartActionAt): p50 {} ms, p99 {} ms, max {} ms, not completed {not_done}",
        lateness.len(),
        percentile(&lateness, 0.5),
        percentile(&lateness, 0.99),
        lateness.last().unwrap()
    );
    let waiting_left = items
        .iter()
        .filter(|i| i["ProcessStatus"] == "STARTED")
        .count();
    println!("still waiting: {waiting_left} (expected {waiting})");
    println!("peak rss: {}", proc_status(pid, "VmHWM:"));
}
