//! `waitable reconcile` on AWS: the sweep that needs no event. EventBridge delivers Step
//! Functions' status events best effort, so a job whose execution ended while its event was
//! lost would stay STARTED. The sweep reads the STARTED jobs due before a cutoff from the
//! status index, asks DescribeExecution about each (paced within its quota), and writes the
//! row the way the reconcile state machine would: the same outcome from core, the same
//! condition (only a row still STARTED changes).

use aws_sdk_dynamodb::types::AttributeValue;

use super::sdk;
use crate::backend::{EXECUTION_MISSING, ReconcileRequest, Reconciled};
use crate::pace::{Pace, Pacer};
use crate::poll::{Schedule, Step, poll};
use crate::{Error, Result};
use waitable_core::job::{ATTR_ERROR, ATTR_ID, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, JobStatus};
use waitable_core::outputs::StackOutputs;
use waitable_core::reconcile_machine::outcome_with_detail;
use waitable_core::status_index::DueWindow;

/// Sweeps the stack's STARTED jobs due before `request.due_before`.
pub async fn sweep(
    sfn: &aws_sdk_sfn::Client,
    ddb: &aws_sdk_dynamodb::Client,
    outputs: &StackOutputs,
    request: &ReconcileRequest,
    pace: Pace,
    schedule: &Schedule,
) -> Result<Vec<Reconciled>> {
    let mut ids = Vec::new();
    let window = DueWindow {
        after: None,
        before: Some(request.due_before.clone()),
    };
    super::jobs_index::query_jobs(
        ddb,
        &outputs.table_name,
        JobStatus::Started,
        &window,
        false,
        &mut |job| {
            ids.push(job.id);
            Ok(())
        },
    )
    .await?;
    let mut pacer = Pacer::new(pace);
    let mut report = Vec::with_capacity(ids.len());
    for id in ids {
        pacer.take().await;
        // The current run's execution (`waitable_core::runs`; the index does not hold `Run`).
        let run = match super::jobs::get_job(ddb, &outputs.table_name, &id).await? {
            Some(job) => waitable_core::runs::current_run(&job),
            None => continue,
        };
        let name = waitable_core::runs::execution_name(&id, run);
        let (execution_status, detail) =
            describe(sfn, &outputs.state_machine_arn, &name, schedule).await?;
        let mut row = Reconciled {
            id,
            execution_status: execution_status.clone(),
            new_status: None,
            error: None,
            changed: false,
        };
        if let Some((status, reason)) =
            outcome_with_detail(&execution_status, detail.0.as_deref(), detail.1.as_deref())
        {
            row.new_status = Some(status.as_str().to_string());
            row.error = Some(reason.clone());
            if !request.dry_run {
                row.changed =
                    record(ddb, &outputs.table_name, (&row.id, run), status, &reason).await?;
            }
        }
        report.push(row);
    }
    Ok(report)
}

type Detail = (Option<String>, Option<String>);

/// The execution's status with its error and cause; [`EXECUTION_MISSING`] when it does not
/// exist. Throttling is waited out on `schedule`.
async fn describe(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    id: &str,
    schedule: &Schedule,
) -> Result<(String, Detail)> {
    let arn = waitable_core::arn::execution_arn(state_machine_arn, id)
        .ok_or_else(|| Error::failed(format!("{state_machine_arn} is not a state machine ARN")))?;
    poll(schedule, async || {
        match sfn.describe_execution().execution_arn(&arn).send().await {
            Ok(out) => {
                let status = out.status().as_str().to_string();
                let detail = (
                    out.error().map(str::to_string),
                    out.cause().map(str::to_string),
                );
                Ok(Step::Done((status, detail)))
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_does_not_exist()) =>
            {
                Ok(Step::Done((EXECUTION_MISSING.to_string(), (None, None))))
            }
            Err(err) => sdk::retry_or_fail(&format!("describing the execution of job {id}"), &err),
        }
    })
    .await
}

/// Writes the outcome if the row is still STARTED at run `run`; false when something else
/// moved it first.
async fn record(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    (id, run): (&str, u32),
    status: JobStatus,
    reason: &str,
) -> Result<bool> {
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let written = ddb
        .update_item()
        .table_name(table)
        .key(ATTR_ID, AttributeValue::S(id.to_string()))
        .update_expression("SET #status = :status, #updated = :now, #error = :error")
        .condition_expression(format!(
            "#status = :started AND {}",
            waitable_core::runs::RUN_IS_CURRENT
        ))
        .expression_attribute_names("#run", waitable_core::runs::ATTR_RUN)
        .expression_attribute_values(":run", AttributeValue::N(run.to_string()))
        .expression_attribute_names("#status", ATTR_PROCESS_STATUS)
        .expression_attribute_names("#updated", ATTR_LAST_UPDATED)
        .expression_attribute_names("#error", ATTR_ERROR)
        .expression_attribute_values(":status", AttributeValue::S(status.as_str().into()))
        .expression_attribute_values(
            ":started",
            AttributeValue::S(JobStatus::Started.as_str().into()),
        )
        .expression_attribute_values(":now", AttributeValue::S(now))
        .expression_attribute_values(":error", AttributeValue::S(reason.into()))
        .send()
        .await;
    match written {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(sdk::failed(&format!("recording job {id}"), &err)),
    }
}
