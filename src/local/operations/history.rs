//! The engine's execution history in the timeline vocabulary both targets share.

/// The engine's history row as a timeline event; its own bookkeeping (the table writes it
/// records as `TaskSucceeded`) is left out, as on aws.
pub(super) fn timeline_event(
    (event, state, at_ms, error, cause): crate::local::store_executions::HistoryEvent,
) -> Option<waitable_core::show::TimelineEvent> {
    if event == "TaskSucceeded" {
        return None;
    }
    let at = chrono::DateTime::from_timestamp_millis(at_ms)?
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    Some(waitable_core::show::TimelineEvent {
        at,
        event,
        state,
        error,
        cause,
    })
}

/// Execution `name`'s ARN and timeline, from the engine's history.
pub(super) async fn execution(
    backend: &super::LocalBackend,
    name: &str,
) -> crate::Result<waitable_core::show::Execution> {
    use crate::backend::Backend;
    let outputs = backend.outputs().await?;
    let execution_arn = waitable_core::arn::execution_arn(&outputs.state_machine_arn, name)
        .unwrap_or_else(|| name.to_string());
    let events: Vec<crate::local::store_executions::HistoryEvent> = backend
        .call_typed(
            "GET",
            &super::super::protocol::history_path(name),
            None::<&()>,
        )
        .await?;
    Ok(waitable_core::show::Execution {
        execution_arn,
        console_url: None,
        timeline: events.into_iter().filter_map(timeline_event).collect(),
    })
}
