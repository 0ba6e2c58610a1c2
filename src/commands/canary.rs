//! `check --canary` (and `deploy --canary`): one real job through the stack, end to end. It is
//! submitted through the signed API (where there is a stage to call), due in a few seconds,
//! with an Id under the reserved canary prefix; the canary waits for the row to say COMPLETED
//! and, when the stack has a queue, for its message there. Each leg is printed with the time it
//! took; the first leg that fails ends the run with an error naming it (exit 1).
//!
//! The canary is a job like any other: it is delivered to every target the stack has.

use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use tokio::time::Instant;

use crate::backend::{ApiSubmit, Backend, JobQuery};
use crate::poll::{Schedule, Step, poll_within};
use crate::{Error, Result};
use waitable_core::job::{JobRecord, JobRequest, JobStatus};
use waitable_core::job_id::canary_id;
use waitable_core::outputs::StackOutputs;
use waitable_core::payload::Payload;

/// How far ahead the canary is due.
pub const DUE_IN: Duration = Duration::from_secs(5);
/// The canary's payload, so whoever receives it can tell it from a real job.
pub const PAYLOAD: &str = r#"{"waitableCanary":true}"#;

/// How the canary waits (tests pass short ones).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Between looks at the row and the queue.
    pub look: Schedule,
    /// How long the row may take to say COMPLETED after the canary is due.
    pub completed_within: Duration,
    /// How long the message may take to reach the queue once the row says COMPLETED.
    pub message_within: Duration,
}

impl Timing {
    pub const DEFAULT: Timing = Timing {
        look: Schedule::every(Duration::from_secs(1)),
        completed_within: Duration::from_secs(60),
        message_within: Duration::from_secs(30),
    };
}

/// One leg of the canary's run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leg {
    pub leg: &'static str,
    /// Seconds the leg took.
    pub seconds: f64,
    /// What happened ("ok") or why the leg was skipped.
    pub outcome: String,
}

impl std::fmt::Display for Leg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "canary: {}: {} ({:.1}s)",
            self.leg, self.outcome, self.seconds
        )
    }
}

/// The legs' names, as printed and as named by a failure.
pub const LEG_SUBMIT_API: &str = "submit through the signed API";
pub const LEG_SUBMIT: &str = "submit";
pub const LEG_COMPLETED: &str = "COMPLETED";
pub const LEG_QUEUE: &str = "queue message";

/// Runs the canary on `backend`; `has_queue` when the stack delivers to its queue (the
/// message is then read back through the backend). `report` gets each leg as it ends, so a
/// slow leg's predecessors are already shown.
pub async fn run<B: Backend>(
    backend: &B,
    outputs: &StackOutputs,
    has_queue: bool,
    timing: &Timing,
    report: &mut dyn FnMut(&Leg) -> Result<()>,
) -> Result<Vec<Leg>> {
    let now = Utc::now();
    let nonce = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let due = now + chrono::Duration::from_std(DUE_IN).expect("seconds fit");
    let job = JobRequest {
        id: canary_id(now, nonce),
        at: due.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        payload: Some(Payload::parse(PAYLOAD).map_err(Error::failed)?),
    };
    let mut legs = Vec::new();
    let mut done = |leg: Leg, legs: &mut Vec<Leg>| -> Result<()> {
        report(&leg)?;
        legs.push(leg);
        Ok(())
    };

    let started = Instant::now();
    let through_api = backend
        .submit_through_api(outputs, &job)
        .await
        .map_err(|e| leg_failed(LEG_SUBMIT_API, e))?;
    match through_api {
        ApiSubmit::Submitted(_) => done(
            leg(LEG_SUBMIT_API, started, format!("ok, job {}", job.id)),
            &mut legs,
        )?,
        ApiSubmit::Skipped(why) => {
            done(
                leg(LEG_SUBMIT_API, started, format!("skipped: {why}")),
                &mut legs,
            )?;
            let started = Instant::now();
            backend
                .submit(&job)
                .await
                .map_err(|e| leg_failed(LEG_SUBMIT, e))?;
            done(
                leg(LEG_SUBMIT, started, format!("ok, job {}", job.id)),
                &mut legs,
            )?;
        }
    }

    let started = Instant::now();
    let limit = DUE_IN + timing.completed_within;
    let record = poll_within(&timing.look, limit, async || {
        let row = job_row(backend, &job.id).await?;
        Ok(match row.as_ref().and_then(JobRecord::status) {
            Some(JobStatus::Started) | None => Step::Pending,
            Some(_) => Step::Done(row.expect("a status comes from a row")),
        })
    })
    .await
    .map_err(|e| leg_failed(LEG_COMPLETED, e))?;
    let Some(record) = record else {
        return Err(leg_failed(
            LEG_COMPLETED,
            format!(
                "job {} was not finished {}s after it was due",
                job.id,
                timing.completed_within.as_secs()
            ),
        ));
    };
    if record.status() != Some(JobStatus::Completed) {
        return Err(leg_failed(
            LEG_COMPLETED,
            format!(
                "job {} ended {}: {}",
                job.id,
                record.process_status,
                record.error.as_deref().unwrap_or("no error recorded")
            ),
        ));
    }
    done(leg(LEG_COMPLETED, started, "ok".into()), &mut legs)?;

    if has_queue {
        let started = Instant::now();
        let found = poll_within(&timing.look, timing.message_within, async || {
            Ok(match take_message(backend, &job.id).await? {
                true => Step::Done(()),
                false => Step::Pending,
            })
        })
        .await
        .map_err(|e| leg_failed(LEG_QUEUE, e))?;
        if found.is_none() {
            return Err(leg_failed(
                LEG_QUEUE,
                format!(
                    "no message for job {} reached the queue within {}s",
                    job.id,
                    timing.message_within.as_secs()
                ),
            ));
        }
        done(leg(LEG_QUEUE, started, "ok".into()), &mut legs)?;
    }
    Ok(legs)
}

fn leg(name: &'static str, started: Instant, outcome: String) -> Leg {
    Leg {
        leg: name,
        seconds: started.elapsed().as_secs_f64(),
        outcome,
    }
}

fn leg_failed(leg: &str, why: impl std::fmt::Display) -> Error {
    Error::failed(format!("canary failed at the leg {leg:?}: {why}"))
}

async fn job_row<B: Backend>(backend: &B, id: &str) -> Result<Option<JobRecord>> {
    let query = JobQuery {
        id: Some(id.to_string()),
        skip_payloads: true,
        ..JobQuery::default()
    };
    let mut found = None;
    backend
        .jobs(&query, &mut |job| {
            found = Some(job);
            Ok(())
        })
        .await?;
    Ok(found)
}

/// Reads what the queue holds now and deletes the canary's message if it is there. Other
/// messages are left alone: they come back after the queue's visibility timeout.
async fn take_message<B: Backend>(backend: &B, id: &str) -> Result<bool> {
    let messages = backend.receive(10, Duration::ZERO).await?;
    let ours: Vec<String> = messages
        .iter()
        .filter(|m| {
            serde_json::from_str::<serde_json::Value>(&m.body)
                .is_ok_and(|body| body["Id"].as_str() == Some(id))
        })
        .map(|m| m.handle.clone())
        .collect();
    if ours.is_empty() {
        return Ok(false);
    }
    backend.delete_received(&ours).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::backend::{Cancelled, DeployPlan, Deployment, DestroyReport};
    use crate::backend::{ReconcileRequest, Reconciled};
    use waitable_core::delivery::received::Received;
    use waitable_core::job::Submitted;

    /// A stack whose every job ends as `end` says, and a queue that never gets a message.
    struct Ending {
        status: &'static str,
        error: Option<&'static str>,
    }

    impl Backend for Ending {
        type Pending = ();
        const DEPLOY_ASKS: bool = false;
        async fn plan(&self, _: &Deployment) -> Result<DeployPlan<()>> {
            unreachable!()
        }
        async fn apply(&self, _: ()) -> Result<StackOutputs> {
            unreachable!()
        }
        async fn discard(&self, _: ()) {}
        async fn outputs(&self) -> Result<StackOutputs> {
            unreachable!()
        }
        async fn deliveries(&self) -> Result<waitable_core::delivery::Deliveries> {
            Ok(Default::default())
        }
        async fn submit(&self, job: &JobRequest) -> Result<Submitted> {
            Ok(Submitted {
                job_id: job.id.clone(),
                execution_arn: "arn".into(),
                already_submitted: false,
            })
        }
        async fn jobs(
            &self,
            query: &JobQuery,
            sink: &mut dyn FnMut(JobRecord) -> Result<()>,
        ) -> Result<()> {
            let row = json!({
                "Id": query.id.clone().unwrap(),
                "StartActionAt": "2030-01-01T00:00:00Z",
                "ProcessStatus": self.status,
                "Error": self.error,
            });
            sink(serde_json::from_value(row).unwrap())
        }
        async fn cancel(&self, _: &str) -> Result<Cancelled> {
            unreachable!()
        }
        async fn destroy(&self) -> Result<DestroyReport> {
            unreachable!()
        }
        async fn reconcile(&self, _: &ReconcileRequest) -> Result<Vec<Reconciled>> {
            unreachable!()
        }
        async fn execution(&self, _: &str) -> Result<waitable_core::show::Execution> {
            unreachable!()
        }
        /// The queue holds someone else's message only.
        async fn receive(&self, _: usize, _: Duration) -> Result<Vec<Received>> {
            Ok(vec![Received {
                body: r#"{"Id": "someone-else"}"#.into(),
                handle: "h".into(),
            }])
        }
        async fn delete_received(&self, _: &[String]) -> Result<usize> {
            panic!("only the canary's own message may be deleted")
        }
    }

    const QUICK: Timing = Timing {
        look: Schedule::every(Duration::from_millis(5)),
        completed_within: Duration::from_millis(50),
        message_within: Duration::from_millis(50),
    };

    fn outputs() -> StackOutputs {
        StackOutputs {
            api_url: "http://127.0.0.1:1".into(),
            state_machine_arn: "arn:aws:states:eu-west-1:1:stateMachine:m".into(),
            table_name: "t".into(),
            more: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_failed_job_fails_the_canary_naming_the_leg_and_the_reason() {
        let backend = Ending {
            status: "FAILED",
            error: Some("DeliveryFailed: webhook answered 400"),
        };
        let mut seen = Vec::new();
        let err = run(&backend, &outputs(), false, &QUICK, &mut |leg| {
            seen.push(leg.leg);
            Ok(())
        })
        .await
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("canary failed at the leg \"COMPLETED\": job waitable-canary-"),
            "{msg}"
        );
        assert!(
            msg.ends_with("ended FAILED: DeliveryFailed: webhook answered 400"),
            "{msg}"
        );
        assert_eq!(err.exit_code(), 1);
        assert_eq!(
            seen,
            [LEG_SUBMIT_API, LEG_SUBMIT],
            "the legs before it were shown"
        );
    }

    #[tokio::test]
    async fn a_message_that_never_comes_fails_the_queue_leg() {
        let backend = Ending {
            status: "COMPLETED",
            error: None,
        };
        let err = run(&backend, &outputs(), true, &QUICK, &mut |_| Ok(()))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(
                "canary failed at the leg \"queue message\": no message for job waitable-canary-"
            ),
            "{msg}"
        );
    }
}
