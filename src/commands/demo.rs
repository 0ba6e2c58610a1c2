//! `waitable demo`: a throw-away local stack, three jobs due in about 2, 4 and 6 seconds,
//! their status shown live until all are COMPLETED, then the three messages the stack's
//! queue delivered (what `waitable receive` would print), then everything removed again.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{DurationRound, TimeDelta, Utc};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use console::Term;
use serde_json::json;

use crate::backend::{Backend, Deployment, JobQuery};
use crate::config::Config;
use crate::local::LocalBackend;
use crate::output::Ui;
use crate::poll::{Schedule, Step, poll_within, until_interrupted};
use crate::{Error, Result};
use waitable_core::delivery;
use waitable_core::delivery::received::{self, Received};
use waitable_core::job::{JobRecord, JobRequest, JobStatus};
use waitable_core::template;

const STACK: &str = "demo";
const DELAYS: [i64; 3] = [2, 4, 6];
const GIVE_UP: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);

pub async fn run(config: &Config) -> Result<()> {
    let started = Instant::now();
    let home = std::env::temp_dir().join(format!("waitable-demo-{}", uuid::Uuid::new_v4()));
    let ui = config.ui;
    let mut backend = LocalBackend::with_home(STACK, home.clone(), Ui { quiet: true, ..ui });
    // If the demo is killed, its engine goes with it (the directory is in the temp dir).
    backend.tie_engine = true;
    let outcome = until_interrupted(demo(&backend, &ui))
        .await
        .unwrap_or_else(|| Err(Error::failed("interrupted")));
    ui.info("Removing the demo stack...");
    let cleanup = backend.destroy().await;
    let _ = std::fs::remove_dir_all(&home);
    let (jobs, messages) = outcome?;
    cleanup?;
    let mut stdout = std::io::stdout().lock();
    let write_err = |e: std::io::Error| Error::Failed(e.into());
    if config.json() {
        // The jobs, then what the queue delivered, each message's bytes as received.
        write!(stdout, "{{\n\"jobs\": ").map_err(write_err)?;
        serde_json::to_writer_pretty(&mut stdout, &jobs)?;
        write!(stdout, ",\n\"received\": ").map_err(write_err)?;
        received::write_json(&messages, &mut stdout).map_err(write_err)?;
        writeln!(stdout, "}}").map_err(write_err)?;
    } else {
        print_table(&mut stdout, &jobs)?;
        writeln!(stdout, "waitable receive got:").map_err(write_err)?;
        received::write_table(&messages, &mut stdout).map_err(write_err)?;
    }
    ui.info(format!(
        "Done in {:.1}s: three jobs waited durably, fired on time and were delivered to the stack's queue. Next: `waitable deploy --deliver queue` puts the same stack in your AWS account.",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

async fn demo(backend: &LocalBackend, ui: &Ui) -> Result<(Vec<JobRecord>, Vec<Received>)> {
    ui.info("Deploying a throw-away local stack (API on 127.0.0.1, state machine, jobs table, delivery queue)...");
    let template = template::template(&template::StackSpec::delivering(vec![
        delivery::Target::Queue,
    ]));
    let request = Deployment {
        template,
        parameters: vec![],
        upload_template: false,
    };
    let outputs = backend.deploy(&request).await?;
    ui.info(format!(
        "  ApiUrl {}\n  StateMachineArn {}\n  TableName {}",
        outputs.api_url, outputs.state_machine_arn, outputs.table_name
    ));
    // Whole seconds, rounded up, so each job is due at least its delay from now.
    let base = Utc::now()
        .duration_trunc(TimeDelta::seconds(1))
        .expect("whole seconds")
        + TimeDelta::seconds(1);
    for (i, delay) in DELAYS.iter().enumerate() {
        let at = (base + TimeDelta::seconds(*delay))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let job = JobRequest {
            id: format!("demo-job-{}", i + 1),
            at,
            payload: Some(
                waitable_core::payload::Payload::from_value(
                    &json!({ "message": format!("hello from job {}", i + 1) }),
                )
                .expect("an object"),
            ),
        };
        backend.submit(&job).await?;
    }
    ui.info(format!(
        "Submitted three jobs due in about {}, {} and {} seconds (try `curl {}/status` meanwhile). Waiting:",
        DELAYS[0], DELAYS[1], DELAYS[2], outputs.api_url
    ));
    let jobs = watch(backend, ui).await?;
    // A job is COMPLETED only once its message is in the queue: all three are there.
    let messages = backend.queue_receive(DELAYS.len()).await?;
    let handles: Vec<String> = messages.iter().map(|m| m.handle.clone()).collect();
    backend.queue_delete(&handles).await?;
    let messages: Vec<Received> = messages
        .into_iter()
        .map(|m| Received {
            body: m.body,
            handle: m.handle,
        })
        .collect();
    Ok((jobs, messages))
}

/// Polls the jobs, redrawing their table on stderr (or printing changes), until all complete.
async fn watch(backend: &LocalBackend, ui: &Ui) -> Result<Vec<JobRecord>> {
    let term = Term::stderr();
    let mut drawn_lines = 0;
    let mut last = String::new();
    let finished = poll_within(&Schedule::every(POLL), GIVE_UP, async || {
        let mut jobs = Vec::new();
        backend
            .jobs(&JobQuery::default(), &mut |j| {
                jobs.push(j);
                Ok(())
            })
            .await?;
        jobs.sort_by(|a, b| a.id.cmp(&b.id));
        let mut text = Vec::new();
        print_table(&mut text, &jobs)?;
        let text = String::from_utf8_lossy(&text).to_string();
        if text != last && !ui.quiet {
            if ui.interactive {
                let _ = term.clear_last_lines(drawn_lines);
                eprint!("{text}");
                drawn_lines = text.lines().count();
            } else {
                let summary: Vec<String> = jobs
                    .iter()
                    .map(|j| format!("{} {}", j.id, j.process_status))
                    .collect();
                eprintln!("  {}", summary.join(", "));
            }
            last = text;
        }
        if let Some(bad) = jobs.iter().find(|j| {
            j.status()
                .is_some_and(|s| s.is_terminal() && s != JobStatus::Completed)
        }) {
            return Err(Error::failed(format!(
                "demo job {} ended {} ({})",
                bad.id,
                bad.process_status,
                bad.error.as_deref().unwrap_or("no error recorded")
            )));
        }
        if jobs.len() == DELAYS.len()
            && jobs
                .iter()
                .all(|j| j.status() == Some(JobStatus::Completed))
        {
            if ui.interactive {
                let _ = term.clear_last_lines(drawn_lines);
            }
            return Ok(Step::Done(jobs));
        }
        Ok(Step::Pending)
    })
    .await?;
    finished.ok_or_else(|| Error::failed("the demo jobs did not complete within a minute"))
}

fn print_table(out: &mut impl std::io::Write, jobs: &[JobRecord]) -> Result<()> {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "Id",
        "StartActionAt",
        "ProcessStatus",
        "LastUpdated",
    ]);
    for j in jobs {
        table.add_row([
            j.id.as_str(),
            j.start_action_at.as_str(),
            j.process_status.as_str(),
            j.last_updated.as_deref().unwrap_or("-"),
        ]);
    }
    writeln!(out, "{table}").map_err(|e| Error::Failed(e.into()))?;
    Ok(())
}
