//! The local store's copy of the status index (`waitable_core::status_index`): an SQLite index
//! on (ProcessStatus, StartActionAt, Id) of the jobs table's items, and the Query that reads
//! it with the index's semantics (sparse: no status or no StartActionAt means not in it;
//! StartActionAt order; windows inclusive at both ends).
//!
//! The index is on expressions of the stored item, so it needs no new column and no
//! migration: `CREATE INDEX IF NOT EXISTS` builds it once on an existing database.

use rusqlite::{Connection, params};

use waitable_asl::ddb::Item;
use waitable_core::job::{ATTR_ID, ATTR_START_ACTION_AT, JobStatus};
use waitable_core::status_index::{
    DueWindow, parse_query_token_text, query_token_text, window_is_empty,
};

/// The index. Queries must spell the expressions exactly so, or SQLite will not use it.
pub const SCHEMA: &str = "
CREATE INDEX IF NOT EXISTS items_by_status ON items (
    json_extract(item, '$.ProcessStatus.S'),
    json_extract(item, '$.StartActionAt.S'),
    id
);
";

/// Where a page of a status query starts: after this (StartActionAt, Id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub start_action_at: String,
    pub id: String,
}

/// Up to `limit` items in `status` due within `window`, after `after`, in (StartActionAt, Id)
/// order; and whether more follow.
pub fn query(
    c: &Connection,
    status: JobStatus,
    window: &DueWindow,
    after: Option<&After>,
    limit: usize,
) -> anyhow::Result<(Vec<Item>, bool)> {
    if window_is_empty(window) || limit == 0 {
        return Ok((Vec::new(), false));
    }
    // The lower bound seeks in the index; the tie-break on Id only filters equal times.
    // `> ''` leaves out items without a StartActionAt (NULL) as the sparse index does.
    let mut stmt = c.prepare_cached(
        "SELECT item FROM items
         WHERE json_extract(item, '$.ProcessStatus.S') = ?1
           AND json_extract(item, '$.StartActionAt.S') > ''
           AND json_extract(item, '$.StartActionAt.S') >= ?2
           AND json_extract(item, '$.StartActionAt.S') <= ?3
           AND (?4 IS NULL OR json_extract(item, '$.StartActionAt.S') > ?4 OR id > ?5)
           AND (?4 IS NULL OR json_extract(item, '$.StartActionAt.S') >= ?4)
         ORDER BY json_extract(item, '$.StartActionAt.S'), id
         LIMIT ?6",
    )?;
    let lower = window.after.as_deref().unwrap_or("");
    // No upper bound: every string of the stored form sorts below U+FFFF.
    let upper = window.before.as_deref().unwrap_or("\u{ffff}");
    let rows = stmt.query_map(
        params![
            status.as_str(),
            lower,
            upper,
            after.map(|a| a.start_action_at.as_str()),
            after.map(|a| a.id.as_str()),
            limit as i64 + 1
        ],
        |r| r.get::<_, String>(0),
    )?;
    let mut items = Vec::new();
    for row in rows {
        items.push(serde_json::from_str(&row?)?);
    }
    let more = items.len() > limit;
    items.truncate(limit);
    Ok((items, more))
}

/// One page of a status query for the HTTP layer: `after` is the previous page's token text
/// (`Id SPACE StartActionAt`, `waitable_core::status_index::query_token_text`); returns the
/// items and the next page's token text, if more follow.
pub fn page(
    c: &Connection,
    status: JobStatus,
    window: &DueWindow,
    after: Option<&str>,
    limit: usize,
) -> anyhow::Result<(Vec<Item>, Option<String>)> {
    let after = after
        .and_then(parse_query_token_text)
        .map(|(id, at)| After {
            start_action_at: at.to_string(),
            id: id.to_string(),
        });
    let (items, more) = query(c, status, window, after.as_ref(), limit)?;
    let text = |attr: &str, item: &Item| {
        item.get(attr)
            .and_then(|v| v.get("S"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let next = more
        .then(|| items.last())
        .flatten()
        .map(|last| query_token_text(&text(ATTR_ID, last), &text(ATTR_START_ACTION_AT, last)));
    Ok((items, next))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn db(items: &[(&str, Option<&str>, Option<&str>)]) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE items (id TEXT PRIMARY KEY, item TEXT NOT NULL) WITHOUT ROWID;",
        )
        .unwrap();
        c.execute_batch(SCHEMA).unwrap();
        for (id, status, at) in items {
            let mut item = json!({ "Id": { "S": id } });
            if let Some(s) = status {
                item["ProcessStatus"] = json!({ "S": s });
            }
            if let Some(a) = at {
                item["StartActionAt"] = json!({ "S": a });
            }
            c.execute(
                "INSERT INTO items (id, item) VALUES (?1, ?2)",
                params![id, item.to_string()],
            )
            .unwrap();
        }
        c
    }

    fn ids(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| i["Id"]["S"].as_str().unwrap().to_string())
            .collect()
    }

    fn w(after: Option<&str>, before: Option<&str>) -> DueWindow {
        DueWindow {
            after: after.map(str::to_string),
            before: before.map(str::to_string),
        }
    }

    const D1: &str = "2030-01-01T00:00:00Z";
    const D2: &str = "2030-01-02T00:00:00Z";
    const D3: &str = "2030-01-03T00:00:00Z";

    fn sample() -> Connection {
        db(&[
            ("c", Some("FAILED"), Some(D1)),
            ("a", Some("FAILED"), Some(D3)),
            ("b", Some("FAILED"), Some(D1)),
            ("d", Some("FAILED"), Some(D2)),
            ("e", Some("STARTED"), Some(D1)),
            ("rejected", Some("FAILED"), None),
            ("empty", Some("FAILED"), Some("")),
            ("nostatus", None, Some(D1)),
        ])
    }

    #[test]
    fn a_status_query_reads_in_time_order_and_is_sparse() {
        let c = sample();
        let (items, more) = query(&c, JobStatus::Failed, &w(None, None), None, 10).unwrap();
        assert_eq!(ids(&items), ["b", "c", "d", "a"]);
        assert!(!more);
        let (items, _) = query(&c, JobStatus::Started, &w(None, None), None, 10).unwrap();
        assert_eq!(ids(&items), ["e"]);
    }

    #[test]
    fn windows_are_inclusive_and_empty_windows_read_nothing() {
        let c = sample();
        let q = |win: DueWindow| ids(&query(&c, JobStatus::Failed, &win, None, 10).unwrap().0);
        assert_eq!(q(w(Some(D2), None)), ["d", "a"]);
        assert_eq!(q(w(None, Some(D2))), ["b", "c", "d"]);
        assert_eq!(q(w(Some(D2), Some(D2))), ["d"]);
        assert_eq!(q(w(Some(D3), Some(D1))), Vec::<String>::new());
    }

    #[test]
    fn pages_continue_after_the_last_key_through_equal_times() {
        let c = sample();
        let mut after = None;
        let mut seen = Vec::new();
        loop {
            let (items, more) =
                query(&c, JobStatus::Failed, &w(None, None), after.as_ref(), 1).unwrap();
            let last = items.last().unwrap();
            after = Some(After {
                start_action_at: last["StartActionAt"]["S"].as_str().unwrap().into(),
                id: last["Id"]["S"].as_str().unwrap().into(),
            });
            seen.extend(ids(&items));
            if !more {
                break;
            }
        }
        assert_eq!(seen, ["b", "c", "d", "a"]);
    }

    #[test]
    fn the_query_seeks_in_the_index() {
        let c = sample();
        let plan: Vec<String> = c
            .prepare(
                "EXPLAIN QUERY PLAN SELECT item FROM items
                 WHERE json_extract(item, '$.ProcessStatus.S') = 'FAILED'
                   AND json_extract(item, '$.StartActionAt.S') >= ''
                 ORDER BY json_extract(item, '$.StartActionAt.S'), id",
            )
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let plan = plan.join(" ");
        assert!(plan.contains("USING INDEX items_by_status"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "sorted by the index: {plan}");
    }
}

#[cfg(test)]
mod timers {
    //! A restart with a million waiting jobs must not read them: the engine asks only for the
    //! next due time and the due batch, both answered from the timer index.
    #[test]
    fn the_engine_reads_timers_through_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        super::super::store::create(&path).unwrap();
        let c = super::super::store::open(&path).unwrap();
        for sql in [
            "SELECT MIN(due_ms) FROM executions WHERE due_ms IS NOT NULL",
            "SELECT name FROM executions WHERE due_ms IS NOT NULL AND due_ms <= 5 ORDER BY due_ms LIMIT 512",
        ] {
            let plan: String = c
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(plan.contains("executions_due"), "{sql}: {plan}");
            assert!(!plan.contains("SCAN executions"), "{sql}: {plan}");
        }
    }
}
