//! The jobs side of `destroy`: no job may wait against a table about to be deleted.

use super::sdk;
use crate::core::outputs::StackOutputs;
use crate::{Error, Result};

/// Stops every RUNNING execution of the stack's state machine (marking its job CANCELLED),
/// so no job waits against a deleted table. Returns how many were stopped.
pub async fn cancel_waiting_jobs(
    sfn: &aws_sdk_sfn::Client,
    ddb: &aws_sdk_dynamodb::Client,
    outputs: &StackOutputs,
) -> Result<usize> {
    let mut pages = sfn
        .list_executions()
        .state_machine_arn(&outputs.state_machine_arn)
        .status_filter(aws_sdk_sfn::types::ExecutionStatus::Running)
        .into_paginator()
        .items()
        .send();
    let mut cancelled = 0;
    while let Some(item) = pages.next().await {
        let execution = match item {
            Ok(execution) => execution,
            Err(err) if sdk::is_state_machine_missing(&err) => break,
            Err(err) => return Err(sdk::failed("listing waiting jobs", &err)),
        };
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
    Ok(cancelled)
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
            cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs())
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
            cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs())
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
        let err = cancel_waiting_jobs(&sfn, &ddb_client(), &sfn_outputs())
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("job-1") && msg.contains("the stack was not deleted"),
            "{msg}"
        );
    }
}
