//! Deleting the stack and following the delete to its end.

use aws_sdk_cloudformation::types::Stack;

use super::describe::{StackCtx, id_of, newest_event_id, status_of};
use super::failure::failure;
use super::sdk;
use super::watch::watch;
use crate::Result;

/// Deletes the stack and waits until it is gone; DELETE_FAILED is an error with its causes.
pub async fn delete_and_wait(ctx: &StackCtx<'_>, stack: &Stack) -> Result<()> {
    let stack_id = id_of(stack)?;
    let baseline = newest_event_id(ctx.cfn, &stack_id).await?;
    ctx.cfn
        .delete_stack()
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| sdk::failed(&format!("deleting stack {}", ctx.name), &e))?;
    let watched = watch(
        ctx,
        &stack_id,
        baseline,
        &format!("deleting stack {}", ctx.name),
        None,
    )
    .await?;
    match watched.stack {
        None => Ok(()),
        Some(s) if status_of(&s) == "DELETE_COMPLETE" => Ok(()),
        Some(s) => Err(failure(ctx, &s, &watched.events, "deleting").await),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::Client;
    use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
    use aws_smithy_mocks::mock;

    use super::*;
    use crate::aws::mocks::*;
    use crate::poll::Schedule;

    #[tokio::test]
    async fn delete_failed_is_reported_with_its_reasons() {
        let describe =
            mock!(Client::describe_stacks).then_output(|| stacks(stack(OLD_ID, "DELETE_FAILED")));
        let evs = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| events(&[("o1", NAME, STACK, "CREATE_COMPLETE", None)]))
            .output(|| {
                events(&[
                    (
                        "o4",
                        NAME,
                        STACK,
                        "DELETE_FAILED",
                        Some("The following resource(s) failed to delete: [JobsTable]."),
                    ),
                    (
                        "o3",
                        "JobsTable",
                        TABLE,
                        "DELETE_FAILED",
                        Some("Table has deletion protection"),
                    ),
                    ("o2", NAME, STACK, "DELETE_IN_PROGRESS", None),
                    ("o1", NAME, STACK, "CREATE_COMPLETE", None),
                ])
            })
            .repeatedly()
            .build();
        let delete =
            mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
        let cfn = client(&[&describe, &evs, &delete]);
        let ui = ui();
        let ctx = StackCtx {
            cfn: &cfn,
            name: NAME,
            ui: &ui,
            schedule: &Schedule::TINY,
        };
        let err = delete_and_wait(&ctx, &stack(OLD_ID, "CREATE_COMPLETE"))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("deleting stack mocked failed (DELETE_FAILED)"),
            "{msg}"
        );
        assert!(
            msg.contains(
                "JobsTable (AWS::DynamoDB::Table) DELETE_FAILED: Table has deletion protection"
            ),
            "{msg}"
        );
    }
}
