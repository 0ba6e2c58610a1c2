//! A job's execution history from Step Functions (`GetExecutionHistory`), in the timeline
//! vocabulary both targets share (`waitable_core::show`).

use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};

use super::sdk::failed;
use crate::Result;
use waitable_core::show::{Execution, TimelineEvent, console_url};

/// At most this many events are read (a job's history is a few dozen; a runaway retry loop
/// is not read to its 25,000th event).
const MAX_EVENTS: usize = 2_000;

/// The execution `arn` and its timeline (empty when Step Functions has no such execution).
pub async fn execution(sfn: &aws_sdk_sfn::Client, arn: &str) -> Result<Execution> {
    let mut timeline = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = sfn
            .get_execution_history()
            .execution_arn(arn)
            .max_results(1000)
            .include_execution_data(false)
            .set_next_token(token.take())
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_does_not_exist()) =>
            {
                break;
            }
            Err(err) => return Err(failed(&format!("reading the history of {arn}"), &err)),
        };
        timeline.extend(page.events().iter().filter_map(event));
        match page.next_token() {
            Some(t) if timeline.len() < MAX_EVENTS => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(Execution {
        execution_arn: arn.to_string(),
        console_url: console_url(arn),
        timeline,
    })
}

/// One SDK event as a timeline event; the bookkeeping events (scheduled, started, exited,
/// succeeded tasks) are left out so both targets tell the same story.
fn event(e: &HistoryEvent) -> Option<TimelineEvent> {
    let at = chrono::DateTime::from_timestamp_millis(e.timestamp().to_millis().ok()?)?
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let new = |event: &str| TimelineEvent {
        at: at.clone(),
        event: event.to_string(),
        state: None,
        error: None,
        cause: None,
    };
    let t = e.r#type();
    if let Some(d) = e.state_entered_event_details()
        && t.as_str().ends_with("StateEntered")
    {
        return Some(TimelineEvent {
            state: Some(d.name().to_string()),
            ..new("StateEntered")
        });
    }
    let failure = |event: &str, error: Option<&str>, cause: Option<&str>| TimelineEvent {
        error: error.map(str::to_string),
        cause: cause.map(str::to_string),
        ..new(event)
    };
    Some(match t {
        HistoryEventType::ExecutionStarted => new("ExecutionStarted"),
        HistoryEventType::ExecutionSucceeded => new("ExecutionSucceeded"),
        HistoryEventType::ExecutionAborted => new("ExecutionAborted"),
        HistoryEventType::ExecutionTimedOut => new("ExecutionTimedOut"),
        HistoryEventType::ExecutionFailed => {
            let d = e.execution_failed_event_details();
            failure(
                "ExecutionFailed",
                d.and_then(|d| d.error()),
                d.and_then(|d| d.cause()),
            )
        }
        HistoryEventType::TaskFailed => {
            let d = e.task_failed_event_details();
            failure(
                "TaskFailed",
                d.and_then(|d| d.error()),
                d.and_then(|d| d.cause()),
            )
        }
        HistoryEventType::TaskTimedOut => {
            let d = e.task_timed_out_event_details();
            failure(
                "TaskFailed",
                d.and_then(|d| d.error()),
                d.and_then(|d| d.cause()),
            )
        }
        _ => return None,
    })
}
