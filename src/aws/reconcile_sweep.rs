//! `waitable reconcile` on AWS: the sweep that needs no event. EventBridge delivers Step
//! Functions' status events best effort, so a job whose execution ended while its event was
//! lost would stay STARTED. The sweep reads the STARTED jobs due before a cutoff from the
//! status index, asks DescribeExecution about each (paced within its quota), and writes the
//! row the way the reconcile state machine would: the same outcome from core, the same
//! condition (only a row still STARTED changes).

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use tokio::time::Instant;

use super::sdk;
use crate::backend::{EXECUTION_MISSING, ReconcileRequest, Reconciled};
use crate::poll::{Schedule, Step, poll};
use crate::{Error, Result};
use waitable_core::job::{ATTR_ERROR, ATTR_ID, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, JobStatus};
use waitable_core::outputs::StackOutputs;
use waitable_core::reconcile_machine::outcome_with_detail;
use waitable_core::status_index::DueWindow;

/// A token bucket: `burst` calls at once, then one per `every` (DescribeExecution's quota is
/// a bucket of 250 refilled at 15 per second).
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub burst: u32,
    pub every: Duration,
}

impl Pace {
    pub const DESCRIBE_EXECUTION: Pace = Pace {
        burst: 250,
        every: Duration::from_micros(66_667),
    };
}

/// Hands out call slots at [`Pace`], sleeping when the bucket is empty.
pub struct Pacer {
    pace: Pace,
    tokens: f64,
    last: Instant,
}

impl Pacer {
    pub fn new(pace: Pace) -> Self {
        Pacer {
            pace,
            tokens: f64::from(pace.burst),
            last: Instant::now(),
        }
    }

    /// Waits until a call may be made, and takes its token.
    pub async fn take(&mut self) {
        let refill = |p: &mut Pacer| {
            let now = Instant::now();
            let earned = now.duration_since(p.last).as_secs_f64() / p.pace.every.as_secs_f64();
            p.tokens = (p.tokens + earned).min(f64::from(p.pace.burst));
            p.last = now;
        };
        refill(self);
        if self.tokens < 1.0 {
            let short = (1.0 - self.tokens) * self.pace.every.as_secs_f64();
            tokio::time::sleep(Duration::from_secs_f64(short)).await;
            refill(self);
        }
        self.tokens -= 1.0;
    }
}

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
        let (execution_status, detail) =
            describe(sfn, &outputs.state_machine_arn, &id, schedule).await?;
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
                row.changed = record(ddb, &outputs.table_name, &row.id, status, &reason).await?;
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

/// Writes the outcome if the row is still STARTED; false when something else moved it first.
async fn record(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    id: &str,
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
        .condition_expression("#status = :started")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pacer_spends_the_burst_then_keeps_to_the_refill_rate() {
        // DescribeExecution's shape (a burst, then a steady rate), scaled down to milliseconds.
        let mut pacer = Pacer::new(Pace {
            burst: 5,
            every: Duration::from_millis(20),
        });
        let start = Instant::now();
        for _ in 0..5 {
            pacer.take().await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(15),
            "the burst is free"
        );
        for _ in 0..10 {
            pacer.take().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(190) && took < Duration::from_millis(400),
            "10 more at one per 20 ms: {took:?}"
        );
        assert_eq!(Pace::DESCRIBE_EXECUTION.burst, 250);
        assert_eq!(
            Pace::DESCRIBE_EXECUTION.every.as_micros(),
            66_667,
            "15 per second"
        );
    }
}
