//! The engine's execution history in the timeline vocabulary both targets share.

/// The engine's history row as a timeline event; its own bookkeeping (the table writes it
/// records as `TaskSucceeded`) is left out, as on aws.
pub(super) fn timeline_event(
    event: String,
    state: Option<String>,
    at_ms: i64,
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
        error: None,
        cause: None,
    })
}
