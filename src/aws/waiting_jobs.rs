//! The jobs side of `destroy`: no job may wait against a table about to be deleted.

use aws_sdk_sfn::types::ExecutionStatus;

use super::sdk;
use crate::poll::{Schedule, Step, poll};
use crate::{Error, Result};
use waitable_core::outputs::StackOutputs;

/// ListExecutions' largest page. The call refills at 5/s on AWS, so the fewer pages the better.
pub const LIST_PAGE: i32 = 1000;

/// Stops every RUNNING execution of the stack's state machine (marking its job CANCELLED),
/// so no job waits against a deleted table. Returns how many were stopped. Pages come
/// [`LIST_PAGE`] at a time through the poll helper, so throttling is waited out on `schedule`.
pub async fn cancel_waiting_jobs(
    sfn: &aws_sdk_sfn::Client,
    ddb: &aws_sdk_dynamodb::Client,
    outputs: &StackOutputs,
    schedule: &Schedule,
) -> Result<usize> {
    let mut cancelled = 0;
    let mut next: Option<String> = None;
    loop {
        let token = next.take();
        let page = poll(schedule, async || {
            match sfn
                .list_executions()
                .state_machine_arn(&outputs.state_machine_arn)
                .status_filter(ExecutionStatus::Running)
                .max_results(LIST_PAGE)
                .set_next_token(token.clone())
                .send()
                .await
            {
                Ok(page) => Ok(Step::Done(Some(page))),
                Err(err) if sdk::is_state_machine_missing(&err) => Ok(Step::Done(None)),
                Err(err) => sdk::retry_or_fail("listing waiting jobs", &err),
            }
        })
        .await?;
        let Some(page) = page else {
            return Ok(cancelled);
        };
        for execution in page.executions() {
            super::jobs::stop_before_delete(
                sfn,
                ddb,
                &outputs.table_name,
                execution.name(),
                execution.execution_arn(),
            )
            .await
            .map_err(|e| {
                Error::failed(format!(
                    "could not cancel waiting job {} ({e}); the stack was not deleted",
                    execution.name()
                ))
            })?;
            cancelled += 1;
        }
        match page.next_token() {
            Some(token) => next = Some(token.to_string()),
            None => return Ok(cancelled),
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_mocks::mock;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;
    use crate::aws::mocks::*;

    #[tokio::test]
    async fn no_state_machine_or_no_running_execution_means_nothing_to_cancel() {
        use aws_sdk_sfn::operation::list_executions::{ListExecutionsError, ListExecutionsOutput};
        let gone = mock!(aws_sdk_sfn::Client::list_executions).then_error(|| {
            ListExecutionsError::StateMachineDoesNotExist(
                aws_sdk_sfn::types::error::StateMachineDoesNotExist::builder()
                    .message("gone")
                    .build(),
            )
        });
        let sfn = sfn_client(&[&gone]);
        assert_eq!(
            cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs(), &Schedule::TINY)
                .await
                .unwrap(),
            0
        );

        let none = mock!(aws_sdk_sfn::Client::list_executions)
            .match_requests(|r| {
                r.status_filter() == Some(&aws_sdk_sfn::types::ExecutionStatus::Running)
            })
            .then_output(|| {
                ListExecutionsOutput::builder()
                    .set_executions(Some(vec![]))
                    .build()
                    .unwrap()
            });
        let sfn = sfn_client(&[&none]);
        assert_eq!(
            cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs(), &Schedule::TINY)
                .await
                .unwrap(),
            0
        );
        assert_eq!(none.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_job_that_cannot_be_cancelled_stops_the_destroy() {
        use aws_sdk_sfn::operation::list_executions::ListExecutionsOutput;
        use aws_sdk_sfn::operation::stop_execution::StopExecutionError;
        let item = |name: &str| {
            aws_sdk_sfn::types::ExecutionListItem::builder()
                .name(name)
                .execution_arn(format!("arn:exec:{name}"))
                .state_machine_arn("arn:sm")
                .status(aws_sdk_sfn::types::ExecutionStatus::Running)
                .start_date(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .unwrap()
        };
        let list = mock!(aws_sdk_sfn::Client::list_executions).then_output(move || {
            ListExecutionsOutput::builder()
                .executions(item("job-1"))
                .executions(item("job-2"))
                .build()
                .unwrap()
        });
        // Whatever cancel_execution sends, the service refuses it.
        let stop = mock!(aws_sdk_sfn::Client::stop_execution).then_error(|| {
            StopExecutionError::generic(ErrorMetadata::builder().code("AccessDenied").build())
        });
        let sfn = sfn_client(&[&list, &stop]);
        let err = cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs(), &Schedule::TINY)
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("job-1") && msg.contains("the stack was not deleted"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn executions_are_listed_a_thousand_at_a_time_and_throttling_is_waited_out() {
        use aws_sdk_sfn::operation::list_executions::{ListExecutionsError, ListExecutionsOutput};
        let throttled = || {
            ListExecutionsError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        };
        let first = mock!(aws_sdk_sfn::Client::list_executions)
            .match_requests(|r| r.max_results() == Some(1000) && r.next_token().is_none())
            .sequence()
            .error(throttled)
            .times(2)
            .output(|| {
                ListExecutionsOutput::builder()
                    .set_executions(Some(vec![]))
                    .next_token("page-2")
                    .build()
                    .unwrap()
            })
            .build();
        let second = mock!(aws_sdk_sfn::Client::list_executions)
            .match_requests(|r| r.max_results() == Some(1000) && r.next_token() == Some("page-2"))
            .then_output(|| {
                ListExecutionsOutput::builder()
                    .set_executions(Some(vec![]))
                    .build()
                    .unwrap()
            });
        let sfn = sfn_client(&[&first, &second]);
        let n = cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs(), &Schedule::TINY)
            .await
            .unwrap();
        assert_eq!(n, 0);
        assert_eq!(first.num_calls(), 3, "two throttled looks, then the page");
        assert_eq!(second.num_calls(), 1);
    }
}
