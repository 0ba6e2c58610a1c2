//! The executions of a local stack's database: where each one stands, when it is due, and
//! its history. Everything runs inside the engine's transactions (see `store`).

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use waitable_asl::Cursor;

// ---- executions -----------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub name: String,
    pub definition_id: i64,
    pub input: Value,
    pub status: String,
    /// Where a RUNNING execution stands.
    pub cursor: Option<Cursor>,
    /// When a RUNNING execution must be stepped next (None when it is finished, or while it
    /// waits for a webhook request's answer).
    pub due_ms: Option<i64>,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

pub fn get_execution(c: &Connection, name: &str) -> anyhow::Result<Option<Execution>> {
    let row = c
        .prepare_cached(
            "SELECT name, definition_id, input, status, cursor, due_ms, start_ms, stop_ms, error, cause
             FROM executions WHERE name = ?1",
        )?
        .query_row([name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, Option<i64>>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })
        .optional()?;
    let Some((name, definition_id, input, status, cursor, due_ms, start_ms, stop_ms, error, cause)) =
        row
    else {
        return Ok(None);
    };
    Ok(Some(Execution {
        name,
        definition_id,
        input: serde_json::from_str(&input)?,
        status,
        cursor: cursor.map(|c| serde_json::from_str(&c)).transpose()?,
        due_ms,
        start_ms,
        stop_ms,
        error,
        cause,
    }))
}

/// Records a new execution (its name is free).
pub fn insert_execution(c: &Connection, e: &Execution) -> anyhow::Result<()> {
    c.prepare_cached(
        "INSERT INTO executions (name, definition_id, input, status, cursor, due_ms, start_ms, stop_ms, error, cause)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        e.name,
        e.definition_id,
        serde_json::to_string(&e.input)?,
        e.status,
        e.cursor.as_ref().map(serde_json::to_string).transpose()?,
        e.due_ms,
        e.start_ms,
        e.stop_ms,
        e.error,
        e.cause,
    ])?;
    Ok(())
}

/// Saves where a recorded execution stands (its name, definition, input and start never
/// change, so they are not written again).
pub fn save_execution(c: &Connection, e: &Execution) -> anyhow::Result<()> {
    let changed = c
        .prepare_cached(
            "UPDATE executions SET status = ?2, cursor = ?3, due_ms = ?4, stop_ms = ?5, error = ?6,
                 cause = ?7
             WHERE name = ?1",
        )?
        .execute(params![
            e.name,
            e.status,
            e.cursor.as_ref().map(serde_json::to_string).transpose()?,
            e.due_ms,
            e.stop_ms,
            e.error,
            e.cause,
        ])?;
    anyhow::ensure!(changed == 1, "no execution {} to save", e.name);
    Ok(())
}

/// Names of executions due at `now_ms`, the most overdue first.
pub fn due_executions(c: &Connection, now_ms: i64, limit: usize) -> anyhow::Result<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT name FROM executions WHERE due_ms IS NOT NULL AND due_ms <= ?1 ORDER BY due_ms LIMIT ?2",
    )?;
    let names = stmt
        .query_map(params![now_ms, limit as i64], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(names)
}

/// Deletes an execution and its history (its name is used again).
pub fn forget_execution(c: &Connection, name: &str) -> anyhow::Result<()> {
    c.prepare_cached("DELETE FROM history WHERE execution = ?1")?
        .execute([name])?;
    c.prepare_cached("DELETE FROM executions WHERE name = ?1")?
        .execute([name])?;
    Ok(())
}

/// Executions left waiting for a webhook request's answer when the engine stopped (a crash):
/// due now, so their requests are made again (at least once). Returns how many.
pub fn resume_sending(c: &Connection, now_ms: i64) -> anyhow::Result<usize> {
    Ok(c.execute(
        "UPDATE executions SET due_ms = ?1 WHERE status = 'RUNNING' AND due_ms IS NULL",
        [now_ms],
    )?)
}

/// When the next execution is due, if any is waiting.
pub fn next_due(c: &Connection) -> anyhow::Result<Option<i64>> {
    Ok(
        c.prepare_cached("SELECT MIN(due_ms) FROM executions WHERE due_ms IS NOT NULL")?
            .query_row([], |r| r.get(0))?,
    )
}

// ---- history --------------------------------------------------------------------------------

pub fn record(
    c: &Connection,
    execution: &str,
    event: &str,
    state: Option<&str>,
    at_ms: i64,
) -> anyhow::Result<()> {
    c.prepare_cached(
        "INSERT INTO history (execution, event, state, at_ms) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![execution, event, state, at_ms])?;
    Ok(())
}

/// A task's failed attempt (`TaskFailed`, with its error and cause), as AWS's history records
/// each one: a retried delivery shows each attempt's error.
pub fn record_failure(
    c: &Connection,
    execution: &str,
    state: &str,
    at_ms: i64,
    (error, cause): (&str, &str),
) -> anyhow::Result<()> {
    c.prepare_cached(
        "INSERT INTO history (execution, event, state, at_ms, error, cause) VALUES (?1, 'TaskFailed', ?2, ?3, ?4, ?5)",
    )?
    .execute(params![execution, state, at_ms, error, cause])?;
    Ok(())
}

/// One history event: (event, state, time in ms since the epoch, error, cause).
pub type HistoryEvent = (String, Option<String>, i64, Option<String>, Option<String>);

/// The history of one execution, oldest first.
pub fn history(c: &Connection, execution: &str) -> anyhow::Result<Vec<HistoryEvent>> {
    let mut stmt = c.prepare(
        "SELECT event, state, at_ms, error, cause FROM history WHERE execution = ?1 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map([execution], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Gives a database made before failed attempts were recorded the history's error and cause
/// columns.
pub fn add_history_failure_columns(c: &Connection) -> rusqlite::Result<()> {
    let has_error: bool = c.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('history') WHERE name = 'error'",
        [],
        |r| r.get(0),
    )?;
    if !has_error {
        c.execute_batch(
            "ALTER TABLE history ADD COLUMN error TEXT; ALTER TABLE history ADD COLUMN cause TEXT;",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_from_before_failed_attempts_gets_their_columns_once() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE history (seq INTEGER PRIMARY KEY, execution TEXT NOT NULL,
             event TEXT NOT NULL, state TEXT, at_ms INTEGER NOT NULL);
             INSERT INTO history (execution, event, state, at_ms) VALUES ('e', 'ExecutionStarted', NULL, 1);",
        )
        .unwrap();
        add_history_failure_columns(&c).unwrap();
        add_history_failure_columns(&c).unwrap();
        record_failure(&c, "e", "Deliver", 2, ("States.Http.Socket", "refused")).unwrap();
        let events = history(&c, "e").unwrap();
        assert_eq!(events[0], ("ExecutionStarted".into(), None, 1, None, None));
        assert_eq!(
            events[1],
            (
                "TaskFailed".into(),
                Some("Deliver".into()),
                2,
                Some("States.Http.Socket".into()),
                Some("refused".into())
            )
        );
    }
}
