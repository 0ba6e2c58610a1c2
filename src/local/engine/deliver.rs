//! The delivery tasks on the local target: `sqs:sendMessage` into the stack's queue (a table
//! in the stack's database, written in the step's transaction) and `http:invoke` as a real
//! HTTP request, made by the send pool (`pool`) off the engine thread (`webhook`).
//!
//! At least once: a request is made after the step that claimed the job committed, and its
//! outcome commits with the next step, so a crash between the two repeats only the requests in
//! flight; a queue message commits with the step, so it is sent once. `sns:publish` and
//! `events:putEvents` are refused at deploy on this target (no stand-in).

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{Connection, params};
use serde_json::{Value, json};

use waitable_asl::Fault;

/// What a received message stays hidden for before another receive may take it again.
pub const VISIBILITY_MS: i64 = 30_000;
/// How long one request may take: AWS's HTTP Task gives up after 60 s.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// Sets another [`HTTP_TIMEOUT`] in milliseconds (tests of a hanging webhook).
pub const HTTP_TIMEOUT_ENV: &str = "WAITABLE_LOCAL_HTTP_TIMEOUT_MS";
/// How many requests to one webhook (scheme, host and port) run at once, unless the stack
/// says otherwise (`webhookConcurrency` in its stack file).
pub const DEFAULT_CONCURRENCY: usize = 1024;

/// Creates the queue table when the stack has none yet.
pub fn init(c: &Connection) -> rusqlite::Result<()> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS delivery_queue (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id TEXT NOT NULL,
            body TEXT NOT NULL,
            sent_ms INTEGER NOT NULL,
            visible_ms INTEGER NOT NULL,
            receives INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS delivery_queue_visible ON delivery_queue (visible_ms, seq);",
    )
}

/// What the delivery tasks need to know about this stack.
#[derive(Clone)]
pub struct Delivery {
    pub queue_url: String,
    pub connection_arn: String,
    /// Where the connection's header (from `--webhook-header`) is kept, read at each POST so
    /// a redeploy's new header applies at once.
    pub header_file: Option<PathBuf>,
    /// How long one webhook request may take ([`HTTP_TIMEOUT`] unless [`HTTP_TIMEOUT_ENV`]
    /// says otherwise).
    pub timeout: Duration,
    /// Requests to one webhook at once (the stack's setting).
    pub concurrency: usize,
}

impl Delivery {
    pub fn new(stack: &str, header_file: Option<PathBuf>) -> Delivery {
        let timeout = std::env::var(HTTP_TIMEOUT_ENV)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(HTTP_TIMEOUT, Duration::from_millis);
        Delivery {
            queue_url: waitable_core::delivery::local_queue_url(stack),
            connection_arn: waitable_core::delivery::local_connection_arn(stack),
            header_file,
            timeout,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    pub(super) fn header(&self) -> Option<(String, String)> {
        let text = std::fs::read(self.header_file.as_ref()?).ok()?;
        serde_json::from_slice(&text).ok()
    }
}

/// The file in the stack directory that holds the webhook header (mode 0600).
pub const WEBHOOK_HEADER_FILE: &str = "webhook-header.json";

fn text<'a>(params: &'a Value, field: &str, service: &str) -> Result<&'a str, Fault> {
    params[field].as_str().ok_or_else(|| {
        Fault::task(
            &format!("{service}.ValidationException"),
            format!("{field} is required and must be a string"),
        )
    })
}

/// `sqs:sendMessage`: into the stack's queue, in the step's transaction.
pub fn send_message(
    c: &Connection,
    d: &Delivery,
    params: &Value,
    now: i64,
) -> Result<Result<Value, Fault>, rusqlite::Error> {
    let url = match text(params, "QueueUrl", "SQS") {
        Ok(u) => u,
        Err(f) => return Ok(Err(f)),
    };
    if url != d.queue_url {
        return Ok(Err(Fault::task(
            "SQS.QueueDoesNotExistException",
            format!("The specified queue does not exist: {url}"),
        )));
    }
    let body = match text(params, "MessageBody", "SQS") {
        Ok(b) => b,
        Err(f) => return Ok(Err(f)),
    };
    let job_id = params["MessageAttributes"]["Id"]["StringValue"]
        .as_str()
        .unwrap_or_default();
    c.execute(
        "INSERT INTO delivery_queue (job_id, body, sent_ms, visible_ms) VALUES (?1, ?2, ?3, ?3)",
        params![job_id, body, now],
    )?;
    let seq = c.last_insert_rowid();
    Ok(Ok(json!({ "MessageId": format!("local-{seq}") })))
}

/// One message handed out by [`receive`]: its handle is `seq.receives`, so a handle from an
/// earlier receive of the same message no longer deletes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueueMessage {
    pub handle: String,
    pub body: String,
}

/// Takes up to `max` visible messages, oldest first, and hides them for [`VISIBILITY_MS`].
pub fn receive(c: &Connection, max: usize, now: i64) -> rusqlite::Result<Vec<QueueMessage>> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, body, receives FROM delivery_queue WHERE visible_ms <= ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows: Vec<(i64, String, i64)> = stmt
        .query_map(params![now, max as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (seq, body, receives) in rows {
        c.execute(
            "UPDATE delivery_queue SET visible_ms = ?2, receives = ?3 WHERE seq = ?1",
            params![seq, now + VISIBILITY_MS, receives + 1],
        )?;
        out.push(QueueMessage {
            handle: format!("{seq}.{}", receives + 1),
            body,
        });
    }
    Ok(out)
}

/// Deletes messages by handle; returns how many went (stale or unknown handles are skipped).
pub fn delete(c: &Connection, handles: &[String]) -> rusqlite::Result<usize> {
    let mut n = 0;
    for h in handles {
        let Some((seq, receives)) = h
            .split_once('.')
            .and_then(|(s, r)| Some((s.parse::<i64>().ok()?, r.parse::<i64>().ok()?)))
        else {
            continue;
        };
        n += c.execute(
            "DELETE FROM delivery_queue WHERE seq = ?1 AND receives = ?2",
            params![seq, receives],
        )?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        init(&c).unwrap();
        c
    }

    #[test]
    fn the_queue_hands_each_message_out_then_hides_it_until_deleted_or_timed_out() {
        let c = db();
        let d = Delivery::new("s", None);
        let params = json!({ "QueueUrl": d.queue_url, "MessageBody": "{\"Id\":\"a\"}", "MessageAttributes": { "Id": { "DataType": "String", "StringValue": "a" } } });
        send_message(&c, &d, &params, 1000).unwrap().unwrap();
        send_message(
            &c,
            &d,
            &json!({ "QueueUrl": d.queue_url, "MessageBody": "b" }),
            1001,
        )
        .unwrap()
        .unwrap();
        let wrong = send_message(
            &c,
            &d,
            &json!({ "QueueUrl": "http://x/other", "MessageBody": "b" }),
            1,
        )
        .unwrap();
        assert_eq!(wrong.unwrap_err().error, "SQS.QueueDoesNotExistException");

        let first = receive(&c, 1, 2000).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].body, "{\"Id\":\"a\"}");
        let rest = receive(&c, 10, 2000).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].body, "b");
        assert!(receive(&c, 10, 2000).unwrap().is_empty());
        // The first comes back after its visibility timeout; the old handle no longer deletes.
        let again = receive(&c, 10, 2000 + VISIBILITY_MS).unwrap();
        assert_eq!(again.len(), 2);
        assert_eq!(delete(&c, &[first[0].handle.clone()]).unwrap(), 0);
        assert_eq!(
            delete(
                &c,
                &[
                    again[0].handle.clone(),
                    again[1].handle.clone(),
                    "junk".into()
                ]
            )
            .unwrap(),
            2
        );
        assert!(receive(&c, 10, i64::MAX / 2).unwrap().is_empty());
    }
}
