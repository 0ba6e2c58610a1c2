//! One execution's life: started by a submit, stepped through its states as its timers fall
//! due, finished (SUCCEEDED, FAILED) or aborted by a cancel. Every function acts inside the
//! caller's transaction.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use rusqlite::Connection;
use serde_json::json;

use super::super::http_contract;
use super::super::prune;
use super::super::store::{self, ABORTED, Execution, FAILED, RUNNING, SUCCEEDED};
use super::StackNames;
use super::command::SendOutcome;
use super::command::{EngineError, Submit};
use super::deliver::Delivery;
use super::pool::SendRequest;
use super::table::TableTasks;
use waitable_asl::{self as asl, Cursor, ExecutionInfo, Machine, Transition};
use waitable_core::job::{
    ATTR_ERROR, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, JobRecord, JobStatus, Submitted, same_job,
};
use waitable_core::job_id::is_valid_id;
use waitable_core::runs;

/// Transitions one execution may make in one go before yielding (a Pass loop cannot hang us).
const MAX_STEPS: usize = 1000;

/// Parsed definitions by id (a running execution keeps the definition it started with).
pub(super) type Machines = HashMap<i64, Arc<Machine>>;

fn jitter() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

pub(super) fn machine(
    c: &Connection,
    cache: &mut Machines,
    id: i64,
) -> anyhow::Result<Arc<Machine>> {
    if let Some(m) = cache.get(&id) {
        return Ok(m.clone());
    }
    let text = store::definition(c, id)?;
    let m = Arc::new(asl::parse_text(&text).map_err(|e| anyhow::anyhow!("{e}"))?);
    cache.insert(id, m.clone());
    Ok(m)
}

/// The engine's parts a step needs, and the requests its steps leave to make once they commit.
pub(super) struct Parts<'a> {
    pub names: &'a StackNames,
    pub machines: &'a mut Machines,
    pub delivery: &'a Delivery,
    /// Webhook requests to hand to the send pool after the commit (never before: a request
    /// must not go out for a step that did not commit).
    pub sends: Vec<SendRequest>,
}

/// Starts the execution `name` on definition `current` and runs its first states now, so
/// the job is recorded before the caller hears back.
///
/// A name in use answers as StartExecution does: the same input as a running execution is
/// that execution; a closed execution (or a pruned one, see `prune`) keeps its name for 90
/// days after it closed, and another input is refused. `as_api`: asked through `POST /`, where
/// a closed execution's name is refused even for the same input (StartExecution's answer);
/// the CLI's own submit answers a finished job's resubmit from the job, as on AWS.
pub(super) fn submit(
    c: &Connection,
    parts: &mut Parts,
    current: i64,
    request: Submit,
    now: i64,
) -> Result<Submitted, EngineError> {
    let Submit {
        name,
        input,
        as_api,
    } = request;
    let name = name.as_str();
    let names = parts.names;
    if !is_valid_id(name) {
        return Err(EngineError::InvalidName(name.into()));
    }
    let arn = names.execution_arn(name);
    let taken = |reason: &str| EngineError::AlreadyExists {
        arn: arn.clone(),
        id: name.into(),
        reason: reason.into(),
    };
    if let Some(existing) = store::get_execution(c, name).map_err(EngineError::internal)? {
        let closed_long_ago = existing
            .stop_ms
            .is_some_and(|stop| stop.saturating_add(prune::NAME_KEPT_MS) <= now);
        if !closed_long_ago {
            let same = same_job(&existing.input, &input);
            if same && (existing.status == RUNNING || !as_api) {
                return Ok(Submitted {
                    job_id: name.into(),
                    execution_arn: arn,
                    already_submitted: true,
                });
            }
            return Err(taken(if same {
                "its execution has closed; the name can be used again 90 days after that"
            } else {
                "a job with that Id was submitted with a different input"
            }));
        }
        // Its name is free again: the old execution makes way.
        store::forget_execution(c, name).map_err(EngineError::internal)?;
    } else if prune::closed_name(c, name, now)
        .map_err(EngineError::internal)?
        .is_some()
    {
        return Err(taken(
            "its job was deleted after its retention, and its execution's name stays taken for 90 days after it closed",
        ));
    }
    prune::forget_name(c, name).map_err(EngineError::internal)?;
    start_execution(c, parts, current, name, input, now).map_err(EngineError::internal)?;
    Ok(Submitted {
        job_id: name.into(),
        execution_arn: arn,
        already_submitted: false,
    })
}

/// Starts execution `name` with `input` on definition `current` (its name is known to be
/// free) and steps it as far as it goes now: a first run (`submit`) and a later one
/// (`super::runs`) start the same way.
pub(super) fn start_execution(
    c: &Connection,
    parts: &mut Parts,
    current: i64,
    name: &str,
    input: serde_json::Value,
    now: i64,
) -> anyhow::Result<()> {
    let m = machine(c, parts.machines, current)?;
    let exec = Execution {
        name: name.into(),
        definition_id: current,
        input: input.clone(),
        status: RUNNING.into(),
        cursor: Some(Cursor::enter(&m.start_at, input, now)),
        due_ms: Some(now),
        start_ms: now,
        stop_ms: None,
        error: None,
        cause: None,
    };
    store::insert_execution(c, &exec)?;
    store::record(c, name, "ExecutionStarted", None, now)?;
    store::record(c, name, "StateEntered", Some(&m.start_at), now)?;
    drive(c, parts, name, now, None)
}

/// Steps one execution as far as it goes now; saves where it stands. `outcome` is the
/// answer to the webhook request it waits for, if that came back.
///
/// A webhook request is not made here: the step that reaches it is not taken, the execution
/// is saved waiting in that state (no timer: `due_ms` empty) and the request is added to
/// `parts.sends`; its outcome steps the execution again, and the step is then taken with it.
pub(super) fn drive(
    c: &Connection,
    parts: &mut Parts,
    name: &str,
    now: i64,
    outcome: Option<SendOutcome>,
) -> anyhow::Result<()> {
    let Some(mut exec) = store::get_execution(c, name)? else {
        return Ok(());
    };
    if exec.status != RUNNING {
        return Ok(());
    }
    let waiting_for_send = exec.due_ms.is_none();
    let mut answer = match outcome {
        Some(o) if waiting_for_send => Some(o),
        // A stale answer (the execution moved on, or was resumed after a restart).
        Some(_) => return Ok(()),
        // Waiting for its request's answer: nothing to do before it comes.
        None if waiting_for_send => return Ok(()),
        // Not due yet (found due earlier, then moved on by another step).
        None if exec.due_ms.is_some_and(|due| due > now) => return Ok(()),
        None => None,
    };
    let names = parts.names;
    let m = machine(c, parts.machines, exec.definition_id)?;
    let info = ExecutionInfo {
        name: name.into(),
        arn: names.execution_arn(name),
        // Not written again when the execution is saved (see `store::save_execution`).
        input: std::mem::take(&mut exec.input),
        start_ms: exec.start_ms,
        state_machine_arn: names.state_machine_arn.clone(),
        state_machine_name: names.stack.clone(),
    };
    let mut cursor = exec
        .cursor
        .take()
        .context("a running execution has a cursor")?;
    let mut rand = jitter;
    for _ in 0..MAX_STEPS {
        let sent = match answer.take() {
            Some(o) if o.state == cursor.state => Some(o.result),
            Some(_) => {
                exec.cursor = Some(cursor);
                return Ok(());
            }
            None => None,
        };
        if let Some(Err(fault)) = &sent {
            store::record_failure(c, name, &cursor.state, now, (&fault.error, &fault.cause))?;
        }
        let mut tasks = TableTasks {
            c,
            delivery: parts.delivery,
            table: &names.table,
            execution: name,
            state: cursor.state.clone(),
            now,
            sent,
            send: None,
            failure: None,
        };
        let before = cursor.clone();
        let step = asl::step(&m, &info, cursor, now, &mut tasks, &mut rand);
        if let Some(e) = tasks.failure {
            return Err(e.context("writing the jobs table"));
        }
        if let Some(params) = tasks.send {
            parts.sends.push(SendRequest {
                execution: name.into(),
                state: before.state.clone(),
                params,
            });
            exec.cursor = Some(before);
            exec.due_ms = None;
            return store::save_execution(c, &exec);
        }
        match step {
            Transition::Next(next) => {
                store::record(c, name, "StateEntered", Some(&next.state), now)?;
                cursor = next;
            }
            Transition::Sleep { cursor, until_ms } => {
                exec.cursor = Some(cursor);
                exec.due_ms = Some(until_ms);
                return store::save_execution(c, &exec);
            }
            Transition::Succeeded(_) => {
                finish(&mut exec, SUCCEEDED, now, None);
                store::record(c, name, "ExecutionSucceeded", None, now)?;
                return store::save_execution(c, &exec);
            }
            Transition::Failed { error, cause } => {
                // Past the one-year limit the execution timed out (TIMED_OUT on AWS).
                let timed_out = now > exec.start_ms.saturating_add(asl::limits::MAX_EXECUTION_MS);
                let status = if timed_out { "TIMED_OUT" } else { FAILED };
                reconcile_row(c, (name, &info.input), status, now, (&error, &cause))?;
                finish(&mut exec, FAILED, now, Some((error, cause)));
                store::record(c, name, "ExecutionFailed", None, now)?;
                return store::save_execution(c, &exec);
            }
        }
    }
    // Still going: yield to others and come back at once.
    exec.cursor = Some(cursor);
    exec.due_ms = Some(now);
    store::save_execution(c, &exec)
}

fn finish(exec: &mut Execution, status: &str, now: i64, failure: Option<(String, String)>) {
    exec.status = status.into();
    exec.cursor = None;
    exec.due_ms = None;
    exec.stop_ms = Some(now);
    if let Some((e, c)) = failure {
        exec.error = Some(e);
        exec.cause = Some(c);
    }
}

/// Fails an execution the engine could not step (`States.Runtime`, with the cause).
pub(super) fn fail_internally(
    c: &Connection,
    name: &str,
    message: &str,
    now: i64,
) -> anyhow::Result<()> {
    if let Some(mut exec) = store::get_execution(c, name)? {
        finish(
            &mut exec,
            FAILED,
            now,
            Some((
                "States.Runtime".into(),
                asl::limits::cap_cause(message.into()),
            )),
        );
        store::save_execution(c, &exec)?;
        store::record(c, name, "ExecutionFailed", None, now)?;
        reconcile_row(
            c,
            (name, &exec.input),
            FAILED,
            now,
            ("States.Runtime", message),
        )?;
    }
    Ok(())
}

/// What the reconcile does on AWS (`core::reconcile_machine`), in the same transaction: an execution
/// that ended `execution_status` while its job's row still says STARTED moves the row to the
/// outcome's status, with its reason followed by the execution's error and cause (a webhook
/// answer of a type the HTTP Task refuses, for example). A job that recorded its own end is
/// left as it is, and so is one that moved on to another run (`waitable_core::runs`).
fn reconcile_row(
    c: &Connection,
    (name, input): (&str, &serde_json::Value),
    execution_status: &str,
    now: i64,
    (failed_with, cause): (&str, &str),
) -> anyhow::Result<()> {
    let Some((status, reason)) = waitable_core::reconcile_machine::outcome_with_detail(
        execution_status,
        Some(failed_with),
        Some(cause),
    ) else {
        return Ok(());
    };
    let (id, run) = runs::run_of(input, name);
    let Some(mut item) = store::get_item(c, &id)? else {
        return Ok(());
    };
    let started = http_contract::job_from_item(&item).is_some_and(|j| {
        j.process_status == JobStatus::Started.as_str() && runs::current_run(&j) == run
    });
    if !started {
        return Ok(());
    }
    item.insert(ATTR_PROCESS_STATUS.into(), json!({ "S": status.as_str() }));
    item.insert(
        ATTR_LAST_UPDATED.into(),
        json!({ "S": asl::run::iso_millis(now) }),
    );
    item.insert(ATTR_ERROR.into(), json!({ "S": reason }));
    store::put_item(c, &id, &item)
}

/// Aborts execution `name` if it is running.
pub(super) fn abort(c: &Connection, name: &str, now: i64) -> anyhow::Result<()> {
    if let Some(mut exec) = store::get_execution(c, name)?
        && exec.status == RUNNING
    {
        finish(&mut exec, ABORTED, now, None);
        store::save_execution(c, &exec)?;
        store::record(c, name, "ExecutionAborted", None, now)?;
    }
    Ok(())
}

/// Stops the job's execution and marks the job CANCELLED, only if it is still STARTED and has
/// not fired (the rule of `waitable_core::cancel`, which the aws target's conditional write
/// applies too).
pub(super) fn cancel(c: &Connection, id: &str, now: i64) -> Result<JobRecord, EngineError> {
    let mut item = store::get_item(c, id)
        .map_err(EngineError::internal)?
        .ok_or_else(|| EngineError::JobNotFound(id.into()))?;
    let job = http_contract::job_from_item(&item)
        .ok_or_else(|| EngineError::internal(anyhow::anyhow!("a stored job has no Id")))?;
    waitable_core::cancel::check(&job).map_err(|reason| EngineError::JobNotWaiting { reason })?;
    abort(c, &runs::execution_name(id, runs::current_run(&job)), now)
        .map_err(EngineError::internal)?;
    item.insert(
        ATTR_PROCESS_STATUS.into(),
        json!({ "S": JobStatus::Cancelled.as_str() }),
    );
    item.insert(
        ATTR_LAST_UPDATED.into(),
        json!({ "S": asl::run::iso_millis(now) }),
    );
    store::put_item(c, id, &item).map_err(EngineError::internal)?;
    http_contract::job_from_item(&item)
        .ok_or_else(|| EngineError::internal(anyhow::anyhow!("a stored job has no Id")))
}
