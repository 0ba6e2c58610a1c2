//! A job's later runs on the aws target (`waitable_core::runs`): StartExecution of the run's
//! own name, then a wait for its first write (the row moved to the run, or the run ended
//! refused); StopExecution of a rescheduled job's old run; DescribeExecution per run for `show`.

use super::jobs::get_job;
use super::sdk::failed;
use crate::poll::{self, Schedule, Step};
use crate::{Error, Result};
use waitable_core::arn::execution_arn;
use waitable_core::job::JobRecord;
use waitable_core::outputs::StackOutputs;
use waitable_core::runs::{self, RunKind, RunSummary, StartedRun};

/// The longest wait for a run's first write (it is the run's second state).
const FIRST_WRITE_LOOKS: u32 = 40;

fn arn_of(stack: &StackOutputs, name: &str) -> Result<String> {
    execution_arn(&stack.state_machine_arn, name).ok_or_else(|| {
        Error::failed(format!(
            "the stack's StateMachineArn {:?} is not a state machine ARN",
            stack.state_machine_arn
        ))
    })
}

/// Starts run `run` (`kind`) of `job` due `at`, and waits until its first write moved the row
/// to it or the run ended without (refused).
#[allow(clippy::too_many_arguments)]
pub async fn start_run(
    sfn: &aws_sdk_sfn::Client,
    ddb: &aws_sdk_dynamodb::Client,
    stack: &StackOutputs,
    retention_days: u32,
    schedule: &Schedule,
    job: &JobRecord,
    (run, kind, at): (u32, RunKind, &str),
) -> Result<StartedRun> {
    let name = runs::execution_name(&job.id, run);
    let arn = arn_of(stack, &name)?;
    let input = runs::run_input(job, run, kind, at, retention_days).to_string();
    let started = sfn
        .start_execution()
        .state_machine_arn(&stack.state_machine_arn)
        .name(&name)
        .input(&input)
        .send()
        .await;
    match started {
        Ok(_) => {}
        // The same run started by another caller: its first write decides for both.
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_execution_already_exists()) => {}
        Err(err) => {
            return Err(failed(
                &format!("starting run {run} of job {}", job.id),
                &err,
            ));
        }
    }
    let mut looks = 0u32;
    let schedule = Schedule {
        max: schedule.max.min(std::time::Duration::from_secs(1)),
        ..*schedule
    };
    poll::poll(&schedule, async || {
        looks += 1;
        let row = get_job(ddb, &stack.table_name, &job.id).await?;
        if row.as_ref().is_some_and(|r| r.run == Some(run)) {
            return Ok(Step::Done(StartedRun {
                execution_arn: arn.clone(),
                moved: true,
                job: row,
            }));
        }
        let status = sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .map_err(|e| failed(&format!("looking up execution {arn}"), &e))?
            .status;
        let ended = status != aws_sdk_sfn::types::ExecutionStatus::Running;
        if ended || looks >= FIRST_WRITE_LOOKS {
            // Read once more: the write may have landed just before the end was seen.
            let row = get_job(ddb, &stack.table_name, &job.id).await?;
            let moved = row.as_ref().is_some_and(|r| r.run == Some(run));
            if !moved && !ended {
                return Err(Error::failed(format!(
                    "run {run} of job {} ({arn}) has not made its first write yet; see `waitable show {}`",
                    job.id, job.id
                )));
            }
            return Ok(Step::Done(StartedRun {
                execution_arn: arn.clone(),
                moved,
                job: row,
            }));
        }
        Ok(Step::Pending)
    })
    .await
}

/// Stops run `run` of job `id` (a rescheduled job's old run; its claim can no longer hold).
pub async fn stop_run(
    sfn: &aws_sdk_sfn::Client,
    stack: &StackOutputs,
    id: &str,
    run: u32,
) -> Result<()> {
    let arn = arn_of(stack, &runs::execution_name(id, run))?;
    super::jobs::stop_execution(
        sfn,
        &arn,
        "rescheduled by waitable: a later run replaces it",
    )
    .await
}

/// Every run of `job`, each with its execution's status and times.
pub async fn summaries(
    sfn: &aws_sdk_sfn::Client,
    stack: &StackOutputs,
    job: &JobRecord,
) -> Result<Vec<RunSummary>> {
    let mut out = Vec::new();
    for run in 1..=runs::current_run(job) {
        let name = runs::execution_name(&job.id, run);
        let arn = arn_of(stack, &name)?;
        let time = |t: &aws_smithy_types::DateTime| {
            chrono::DateTime::from_timestamp_millis(t.to_millis().ok()?)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        };
        let summary = match sfn.describe_execution().execution_arn(&arn).send().await {
            Ok(d) => RunSummary {
                run,
                execution: name,
                status: d.status.as_str().to_string(),
                started_at: time(&d.start_date),
                stopped_at: d.stop_date.as_ref().and_then(time),
                error: d.error,
            },
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_does_not_exist()) =>
            {
                RunSummary {
                    run,
                    execution: name,
                    status: crate::backend::EXECUTION_MISSING.to_string(),
                    started_at: None,
                    stopped_at: None,
                    error: None,
                }
            }
            Err(err) => return Err(failed(&format!("looking up execution {arn}"), &err)),
        };
        out.push(summary);
    }
    Ok(out)
}
