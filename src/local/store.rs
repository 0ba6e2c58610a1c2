//! The embedded database of one local stack (SQLite, one file): the jobs table's items,
//! the executions with where each one stands, their history, and the deployed definitions.
//!
//! Only the engine process writes (one writer); everything here runs inside the engine's
//! transactions, so a state's effect on the table and the transition it causes commit together.

use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

use waitable_asl::ddb::Item;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    id   TEXT PRIMARY KEY,
    item TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS definitions (
    id   INTEGER PRIMARY KEY,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS executions (
    name          TEXT PRIMARY KEY,
    definition_id INTEGER NOT NULL,
    input         TEXT NOT NULL,
    status        TEXT NOT NULL,
    cursor        TEXT,
    due_ms        INTEGER,
    start_ms      INTEGER NOT NULL,
    stop_ms       INTEGER,
    error         TEXT,
    cause         TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS executions_due ON executions (due_ms) WHERE due_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS history (
    seq       INTEGER PRIMARY KEY,
    execution TEXT NOT NULL,
    event     TEXT NOT NULL,
    state     TEXT,
    at_ms     INTEGER NOT NULL,
    error     TEXT,
    cause     TEXT
);
CREATE INDEX IF NOT EXISTS history_execution ON history (execution);
";

pub const RUNNING: &str = "RUNNING";
pub const SUCCEEDED: &str = "SUCCEEDED";
pub const FAILED: &str = "FAILED";
pub const ABORTED: &str = "ABORTED";

/// Why the engine could not open its database.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file is not there (deleted or moved): it is never silently replaced by an empty one.
    #[error("the database {0} is missing")]
    Missing(String),
    /// Another engine holds it.
    #[error("the database {0} is in use by another engine")]
    InUse(String),
    /// SQLite refused it (not a database, malformed, an I/O error).
    #[error("the database {path} is damaged: {cause}")]
    Damaged { path: String, cause: String },
}

/// Creates a new stack's database (deploy, the first time), readable by its owner only (it
/// holds every job's payload; SQLite gives its journal files the same mode).
pub fn create(path: &Path) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    file.open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    let conn = Connection::open(path).with_context(|| format!("creating {}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.execute_batch(SCHEMA).context("creating the schema")?;
    conn.execute_batch(super::store_index::SCHEMA)
        .context("creating the status index")?;
    Ok(())
}

/// Opens the stack's existing database for its one engine, with write-ahead logging (a
/// `kill -9` loses nothing that was committed) and an exclusive lock on the database file held
/// as long as the connection lives: exactly one engine per stack, whatever happens to the
/// other files of its directory. The lock goes when the process goes, however it goes.
pub fn open(path: &Path) -> Result<Connection, OpenError> {
    let shown = path.display().to_string();
    if !path.exists() {
        return Err(OpenError::Missing(shown));
    }
    let damaged = |cause: String| OpenError::Damaged {
        path: shown.clone(),
        cause,
    };
    let classify = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            OpenError::InUse(shown.clone())
        }
        _ => damaged(e.to_string()),
    };
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(classify)?;
    conn.busy_timeout(std::time::Duration::ZERO)
        .map_err(classify)?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(classify)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(classify)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(classify)?;
    // Statement and savepoint journals in memory: the engine steps each execution of a batch
    // inside its own savepoint, and a journal file for those cost a write per page touched.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(classify)?;
    // Takes the lock now, not at the first write.
    conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")
        .map_err(classify)?;
    conn.execute_batch(SCHEMA).map_err(classify)?;
    super::store_executions::add_history_failure_columns(&conn).map_err(classify)?;
    // Built once on a database from before the status index.
    conn.execute_batch(super::store_index::SCHEMA)
        .map_err(classify)?;
    // A damaged file is named now, not at the first commit. `PRAGMA quick_check` would read
    // the whole file (13 s for a million waiting jobs, where a restart must be quick); reading
    // what the engine reads first (the schema, the timer index, the definitions) tells a
    // damaged file, and a damaged page elsewhere is named when it is read ([`explain`]).
    let probe = |sql: &str| conn.query_row(sql, [], |_| Ok(())).map_err(classify);
    probe("SELECT MIN(due_ms) FROM executions WHERE due_ms IS NOT NULL")?;
    probe("SELECT MAX(id) FROM definitions")?;
    probe("SELECT MIN(id) FROM items")?;
    Ok(conn)
}

/// Which file `path` is now (device and inode), to notice it deleted or replaced under a
/// running engine; None when it is gone.
pub fn identity(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).ok().map(|_| (0, 0))
    }
}

/// A failed write, with its cause, and when the file itself is at fault, the way out.
pub fn explain(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DatabaseCorrupt | NotADatabase | SystemIoFailure | CannotOpen | ReadOnly) => format!(
            "{e} (the database file is damaged or gone: stop the engine, then restore the file from a backup, or destroy the stack and deploy it again)"
        ),
        Some(DiskFull) => format!("{e} (free some disk space)"),
        _ => e.to_string(),
    }
}

/// True while an engine holds the database (see [`open`]); false when there is none.
pub fn in_use(path: &Path) -> bool {
    let Ok(conn) = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
    else {
        return false;
    };
    let _ = conn.busy_timeout(std::time::Duration::ZERO);
    matches!(
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r
            .get::<_, i64>(0))
            .map_err(|e| e.sqlite_error_code()),
        Err(Some(
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        ))
    )
}

/// Opens an existing database for reading only (destroy with no engine, tests).
pub fn open_read_only(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

// ---- items ----------------------------------------------------------------------------------

pub fn get_item(c: &Connection, id: &str) -> anyhow::Result<Option<Item>> {
    let text: Option<String> = c
        .prepare_cached("SELECT item FROM items WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(match text {
        Some(t) => Some(serde_json::from_str(&t)?),
        None => None,
    })
}

pub fn put_item(c: &Connection, id: &str, item: &Item) -> anyhow::Result<()> {
    c.prepare_cached("INSERT INTO items (id, item) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET item = excluded.item")?
        .execute(params![id, serde_json::to_string(item)?])?;
    Ok(())
}

pub fn delete_item(c: &Connection, id: &str) -> anyhow::Result<()> {
    c.prepare_cached("DELETE FROM items WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Up to `limit` items after `after` (by Id), and whether more follow.
pub fn list_items(
    c: &Connection,
    after: Option<&str>,
    limit: usize,
) -> anyhow::Result<(Vec<Item>, bool)> {
    let mut stmt = c.prepare_cached("SELECT item FROM items WHERE id > ?1 ORDER BY id LIMIT ?2")?;
    let rows = stmt.query_map(params![after.unwrap_or(""), limit as i64 + 1], |r| {
        r.get::<_, String>(0)
    })?;
    let mut items = Vec::new();
    for row in rows {
        items.push(serde_json::from_str(&row?)?);
    }
    let more = items.len() > limit;
    items.truncate(limit);
    Ok((items, more))
}

/// Items whose ProcessStatus is STARTED (what destroy cancels).
pub fn started_ids(c: &Connection) -> anyhow::Result<Vec<String>> {
    let mut stmt = c.prepare(
        "SELECT id FROM items WHERE json_extract(item, '$.ProcessStatus.S') = 'STARTED' ORDER BY id",
    )?;
    let ids = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

// ---- definitions ----------------------------------------------------------------------------

pub fn latest_definition(c: &Connection) -> anyhow::Result<Option<(i64, String)>> {
    Ok(c.query_row(
        "SELECT id, text FROM definitions ORDER BY id DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

pub fn definition(c: &Connection, id: i64) -> anyhow::Result<String> {
    Ok(
        c.query_row("SELECT text FROM definitions WHERE id = ?1", [id], |r| {
            r.get(0)
        })?,
    )
}

/// Records `text` as the current definition unless it already is; returns its id.
pub fn ensure_definition(c: &Connection, text: &str) -> anyhow::Result<i64> {
    if let Some((id, current)) = latest_definition(c)?
        && current == text
    {
        return Ok(id);
    }
    c.execute("INSERT INTO definitions (text) VALUES (?1)", [text])?;
    Ok(c.last_insert_rowid())
}

pub use super::store_executions::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_engine_per_database_and_nothing_is_silently_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        assert!(matches!(open(&db), Err(OpenError::Missing(_))));
        assert!(!db.exists(), "a missing database is not created");
        create(&db).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&db).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        assert!(!in_use(&db));
        let first = open(&db).unwrap();
        assert!(in_use(&db));
        assert!(matches!(open(&db), Err(OpenError::InUse(_))));
        drop(first);
        assert!(!in_use(&db));
        let again = open(&db).unwrap();
        drop(again);
        std::fs::write(
            &db,
            "this is not a database, it is a text file of some length",
        )
        .unwrap();
        let _ = std::fs::remove_file(dir.path().join("db-wal"));
        match open(&db) {
            Err(OpenError::Damaged { cause, .. }) => {
                assert!(cause.contains("not a database"), "{cause}")
            }
            other => panic!("{other:?}"),
        }
    }
}
