//! Retention on the local target, as the table's TTL does it on AWS: a finished job whose TTL
//! attribute (epoch seconds, DynamoDB's `N`) has passed is deleted, and with it its execution
//! and that execution's history, so the database does not grow without limit.
//!
//! The expiry is written into each job by the state machine (from the stack's retention
//! parameter, at submit); this only deletes what has expired, in small batches, using an
//! index on the expiry so a pass costs nothing when nothing is due. DynamoDB deletes expired
//! items "within a few days"; the engine does it within [`PRUNE_EVERY`]. A job still STARTED
//! is never deleted (its expiry is after its due time, so this cannot happen but by hand).
//!
//! A pruned execution's name stays taken, as on AWS, until [`NAME_KEPT_MS`] after the
//! execution closed: a small row of `closed_names` outlives the job and its history, so a
//! retried submit with the same Id is refused instead of starting a second job.

use std::time::Duration;

use rusqlite::{Connection, params};

/// How often the engine looks for expired jobs.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Jobs deleted per transaction (the engine answers commands between batches).
pub const PRUNE_BATCH: usize = 500;

/// How long a closed execution's name stays taken: Step Functions lets a name be used
/// again 90 days after its execution closed, not before (`StartExecution` API reference).
pub const NAME_KEPT_MS: i64 = 90 * 24 * 3600 * 1000;

/// The index on the expiry of `ttl_attr` (an expression of the stored item), and the names
/// of pruned executions.
pub fn schema(ttl_attr: &str) -> String {
    format!(
        "CREATE INDEX IF NOT EXISTS items_expiry ON items ({});
         CREATE TABLE IF NOT EXISTS closed_names (
             name      TEXT PRIMARY KEY,
             closed_ms INTEGER NOT NULL
         ) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS closed_names_age ON closed_names (closed_ms);",
        expiry(ttl_attr)
    )
}

/// When the execution that last had `name` closed, if it was pruned less than
/// [`NAME_KEPT_MS`] after closing by `now_ms` (its name is still taken).
pub fn closed_name(c: &Connection, name: &str, now_ms: i64) -> anyhow::Result<Option<i64>> {
    use rusqlite::OptionalExtension;
    Ok(
        c.prepare_cached("SELECT closed_ms FROM closed_names WHERE name = ?1 AND closed_ms > ?2")?
            .query_row(params![name, now_ms - NAME_KEPT_MS], |r| r.get(0))
            .optional()?,
    )
}

/// Forgets a closed name (it is free again, and is being used).
pub fn forget_name(c: &Connection, name: &str) -> anyhow::Result<()> {
    c.prepare_cached("DELETE FROM closed_names WHERE name = ?1")?
        .execute([name])?;
    Ok(())
}

fn expiry(ttl_attr: &str) -> String {
    // The attribute name is a constant of the contract (letters only), never user input.
    debug_assert!(ttl_attr.bytes().all(|b| b.is_ascii_alphanumeric()));
    format!("CAST(json_extract(item, '$.{ttl_attr}.N') AS INTEGER)")
}

/// Deletes up to `limit` jobs whose `ttl_attr` is below the time `now_ms` (and not STARTED),
/// their executions and history, keeping a closed execution's name; forgets names kept long
/// enough. Returns how many jobs went.
pub fn prune_expired(
    c: &Connection,
    ttl_attr: &str,
    now_ms: i64,
    limit: usize,
) -> anyhow::Result<usize> {
    let now_s = now_ms.div_euclid(1000);
    c.prepare_cached(
        "DELETE FROM closed_names WHERE name IN
           (SELECT name FROM closed_names WHERE closed_ms <= ?1 ORDER BY closed_ms LIMIT ?2)",
    )?
    .execute(params![now_ms - NAME_KEPT_MS, limit as i64])?;
    let expiry = expiry(ttl_attr);
    let ids: Vec<String> = c
        .prepare_cached(&format!(
            "SELECT id FROM items WHERE {expiry} < ?1
               AND json_extract(item, '$.ProcessStatus.S') IS NOT 'STARTED'
             ORDER BY {expiry} LIMIT ?2"
        ))?
        .query_map(params![now_s, limit as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        c.prepare_cached(
            "INSERT OR REPLACE INTO closed_names (name, closed_ms)
             SELECT name, COALESCE(stop_ms, ?2) FROM executions
             WHERE name = ?1 AND status != 'RUNNING'",
        )?
        .execute(params![id, now_ms])?;
        c.prepare_cached("DELETE FROM history WHERE execution = ?1")?
            .execute([id])?;
        c.prepare_cached("DELETE FROM executions WHERE name = ?1 AND status != 'RUNNING'")?
            .execute([id])?;
        c.prepare_cached("DELETE FROM items WHERE id = ?1")?
            .execute([id])?;
    }
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        super::super::store::create(&path).unwrap();
        let c = super::super::store::open(&path).unwrap();
        c.execute_batch(&schema("ExpiresAt")).unwrap();
        (dir, c)
    }

    fn job(c: &Connection, id: &str, status: &str, expires: Option<i64>) {
        let mut item = json!({ "Id": { "S": id }, "ProcessStatus": { "S": status } });
        if let Some(e) = expires {
            item["ExpiresAt"] = json!({ "N": e.to_string() });
        }
        c.execute(
            "INSERT INTO items (id, item) VALUES (?1, ?2)",
            params![id, item.to_string()],
        )
        .unwrap();
        let exec_status = if status == "STARTED" {
            "RUNNING"
        } else {
            "SUCCEEDED"
        };
        c.execute(
            "INSERT INTO executions (name, definition_id, input, status, start_ms) VALUES (?1, 1, '{}', ?2, 0)",
            params![id, exec_status],
        )
        .unwrap();
        c.execute(
            "INSERT INTO history (execution, event, at_ms) VALUES (?1, 'ExecutionStarted', 0)",
            [id],
        )
        .unwrap();
    }

    fn count(c: &Connection, table: &str) -> i64 {
        c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn expired_finished_jobs_go_with_their_execution_and_history() {
        let (_dir, c) = db();
        job(&c, "old-done", "COMPLETED", Some(100));
        job(&c, "old-failed", "FAILED", Some(150));
        job(&c, "young", "COMPLETED", Some(10_000));
        job(&c, "forever", "COMPLETED", None);
        job(&c, "waiting", "STARTED", Some(100));
        assert_eq!(prune_expired(&c, "ExpiresAt", 1_000_000, 1).unwrap(), 1);
        assert_eq!(prune_expired(&c, "ExpiresAt", 1_000_000, 10).unwrap(), 1);
        assert_eq!(prune_expired(&c, "ExpiresAt", 1_000_000, 10).unwrap(), 0);
        let left: Vec<String> = c
            .prepare("SELECT id FROM items ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(left, ["forever", "waiting", "young"]);
        assert_eq!(count(&c, "executions"), 3);
        assert_eq!(count(&c, "history"), 3);
        // Their names stay taken for 90 days after they closed (no stop time recorded here:
        // when they were pruned), then go.
        let later = 1_000_000 + NAME_KEPT_MS;
        assert_eq!(
            closed_name(&c, "old-done", 1_000_000).unwrap(),
            Some(1_000_000)
        );
        assert_eq!(closed_name(&c, "young", 1_000_000).unwrap(), None);
        assert_eq!(
            closed_name(&c, "old-done", later - 1).unwrap(),
            Some(1_000_000)
        );
        assert_eq!(closed_name(&c, "old-done", later).unwrap(), None);
        assert_eq!(count(&c, "closed_names"), 2);
        // The kept names go; "young" expired meanwhile, and its name is kept now.
        prune_expired(&c, "ExpiresAt", later, 10).unwrap();
        let kept: Vec<String> = c
            .prepare("SELECT name FROM closed_names")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(kept, ["young"]);
    }

    #[test]
    fn a_pass_seeks_in_the_expiry_index() {
        let (_dir, c) = db();
        let plan: String = c
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT id FROM items WHERE {} < 5",
                expiry("ExpiresAt")
            ))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(plan.contains("items_expiry"), "{plan}");
    }
}
