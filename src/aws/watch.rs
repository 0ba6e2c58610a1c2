//! Following a stack operation to its end: polls the stack and its events on the one poll
//! helper's schedule and feeds the events to the progress view.

use aws_sdk_cloudformation::types::Stack;

use super::describe::{StackCtx, describe_step, events_since, status_of};
use super::progress::Progress;
use crate::Result;
use crate::poll::{Step, poll};
use waitable_core::stack_status::{ResourceEvent, classify};

/// How many looks a final status must hold, with no stack event for it, to be believed.
const FINAL_LOOKS_WITHOUT_EVENT: u32 = 10;

/// What a watched operation ended with.
pub(super) struct Watched {
    /// The stack at the end; `None` when it is gone (deleted).
    pub stack: Option<Stack>,
    /// The events after the baseline, oldest first.
    pub events: Vec<ResourceEvent>,
}

/// Follows the stack until its operation ends, showing events as they come.
///
/// With a `baseline` (the newest event before we acted), the stack counts as finished only
/// once its own event for a final status has arrived after it: right after an execute or
/// delete call, CloudFormation may still report the previous, already-final status.
pub(super) async fn watch(
    ctx: &StackCtx<'_>,
    stack_id: &str,
    baseline: Option<String>,
    what: &str,
    expected: Option<usize>,
) -> Result<Watched> {
    let mut progress = Progress::new(ctx.ui, what, expected);
    let require_event = baseline.is_some();
    let mut last_seen = baseline;
    let mut events: Vec<ResourceEvent> = Vec::new();
    let mut final_without_event = 0;
    let result = poll(ctx.schedule, async || {
        let stack = match describe_step(ctx.cfn, stack_id).await? {
            Step::Done(stack) => stack,
            Step::Retry(err) => return Ok(Step::Retry(err)),
            Step::Pending => return Ok(Step::Pending),
        };
        let new = match events_since(ctx.cfn, stack_id, last_seen.as_deref()).await {
            Ok(Step::Done(new)) => new,
            Ok(Step::Retry(err)) => return Ok(Step::Retry(err)),
            Ok(Step::Pending) => return Ok(Step::Pending),
            // The stack (and its events) can vanish at the end of a delete.
            Err(_) if stack.is_none() => Vec::new(),
            Err(err) => return Err(err),
        };
        for e in &new {
            progress.event(e);
        }
        if let Some(last) = new.last() {
            last_seen = Some(last.event_id.clone());
        }
        events.extend(new);
        let Some(stack) = stack else {
            return Ok(Step::Done(None));
        };
        let status = status_of(&stack);
        let terminal = classify(status).is_terminal();
        // Events can lag behind the status; a final status that holds long enough is believed.
        final_without_event = if terminal { final_without_event + 1 } else { 0 };
        let confirmed = !require_event
            || events.iter().any(|e| e.is_stack() && e.status == status)
            || final_without_event >= FINAL_LOOKS_WITHOUT_EVENT;
        let finished = terminal && confirmed;
        Ok(if finished {
            Step::Done(Some(stack))
        } else {
            Step::Pending
        })
    })
    .await;
    match &result {
        Ok(Some(stack)) => progress.finish(&format!("{what}: {}", status_of(stack))),
        Ok(None) => progress.finish(&format!("{what}: done")),
        Err(_) => progress.finish(&format!("{what}: stopped")),
    }
    Ok(Watched {
        stack: result?,
        events,
    })
}
