//! `waitable show ID`: one job's whole story (its row, its execution, the timeline of its
//! execution history) as a model both targets fill, and its text and JSON renderings.

use std::io::{self, Write};

use serde::Serialize;

use super::job::{JobRecord, JobStatus};
use super::render::{Style, printable};
use super::time_input::{parse_stored, relative_hint};

/// One event of an execution's history, in the vocabulary both targets share:
/// `ExecutionStarted`, `StateEntered` (with `state`), `TaskFailed` (with `error`, `cause`),
/// `ExecutionSucceeded`, `ExecutionFailed`, `ExecutionAborted`, `ExecutionTimedOut`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEvent {
    /// RFC 3339 UTC, milliseconds.
    pub at: String,
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// What a target knows of a job's execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub execution_arn: String,
    /// The AWS console page of the execution (aws only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_url: Option<String>,
    /// Empty when the history is gone (Step Functions keeps it 90 days after the end).
    pub timeline: Vec<TimelineEvent>,
}

/// A job and its execution, as `show` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStory {
    pub job: JobRecord,
    #[serde(flatten)]
    pub execution: Execution,
    /// For a job still waiting: "fires in 3h 12m (at 2030-01-01T09:00:00Z)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fires: Option<String>,
    /// A job run more than once (`retry`, `reschedule`): every run, its execution and how it
    /// stands; the timeline is the current run's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<crate::runs::RunSummary>,
}

impl JobStory {
    pub fn new(job: JobRecord, execution: Execution, style: &Style) -> JobStory {
        let fires = match (job.status(), parse_stored(&job.start_action_at)) {
            (Some(JobStatus::Started), Some(at)) if at > style.now => Some(format!(
                "fires {} (at {})",
                relative_hint(at, style.now),
                style.time(at)
            )),
            _ => None,
        };
        JobStory {
            job,
            execution,
            fires,
            runs: Vec::new(),
        }
    }
}

/// The execution page of `arn` in the AWS console, for the standard partition.
pub fn console_url(arn: &str) -> Option<String> {
    let mut parts = arn.split(':');
    let (Some("arn"), Some("aws"), Some("states"), Some(region)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return None;
    }
    Some(format!(
        "https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{arn}"
    ))
}

/// The story as text: the row's fields, the execution, the payload pretty-printed, then the
/// timeline. Stored text is made [`printable`].
pub fn story_text(out: &mut impl Write, story: &JobStory, style: &Style) -> io::Result<()> {
    let job = &story.job;
    let time = |text: &str| match parse_stored(text) {
        Some(t) => style.time(t),
        None => printable(text).into_owned(),
    };
    let field = |out: &mut dyn Write, name: &str, value: &str| writeln!(out, "{name:<14} {value}");
    field(out, "Id", &printable(&job.id))?;
    field(out, "ProcessStatus", &printable(&job.process_status))?;
    field(out, "StartActionAt", &time(&job.start_action_at))?;
    if let Some(fires) = &story.fires {
        field(out, "", fires)?;
    }
    if let Some(t) = &job.last_updated {
        field(out, "LastUpdated", &time(t))?;
    }
    if let Some(t) = &job.delivered_at {
        field(out, "DeliveredAt", &time(t))?;
    }
    if let Some(e) = &job.error {
        field(out, "Error", &printable(e))?;
    }
    field(out, "Execution", &printable(&story.execution.execution_arn))?;
    if let Some(url) = &story.execution.console_url {
        field(out, "Console", &printable(url))?;
    }
    payload_text(out, job)?;
    if !story.runs.is_empty() {
        writeln!(out, "Runs")?;
        // Columns aligned: the run, its execution's name, its status.
        let width = |f: &dyn Fn(&crate::runs::RunSummary) -> usize| {
            story.runs.iter().map(f).max().unwrap_or(0)
        };
        let run_w = width(&|r| r.run.to_string().len());
        let name_w = width(&|r| printable(&r.execution).chars().count());
        let status_w = width(&|r| r.status.len());
        for r in &story.runs {
            let mut line = format!(
                "  {:>run_w$}  {:<name_w$}  {:<status_w$}",
                r.run,
                printable(&r.execution),
                r.status
            );
            if let Some(t) = &r.started_at {
                line.push_str(&format!("  started {}", time(t)));
            }
            if let Some(t) = &r.stopped_at {
                line.push_str(&format!("  ended {}", time(t)));
            }
            if let Some(e) = &r.error {
                line.push_str(&format!("  {}", printable(e)));
            }
            writeln!(out, "{line}")?;
        }
    }
    if story.execution.timeline.is_empty() {
        return writeln!(
            out,
            "Timeline       (no history: it is kept 90 days after the end)"
        );
    }
    writeln!(out, "Timeline")?;
    for e in &story.execution.timeline {
        let mut line = format!("  {}  {}", time(&e.at), printable(&e.event));
        if let Some(s) = &e.state {
            line.push_str(&format!(" {}", printable(s)));
        }
        if let Some(err) = &e.error {
            line.push_str(&format!(": {}", printable(err)));
        }
        if let Some(cause) = &e.cause {
            line.push_str(&format!(" ({})", printable(cause)));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The payload pretty-printed under a `Payload` line, or `Payload        (none)`.
fn payload_text(out: &mut impl Write, job: &JobRecord) -> io::Result<()> {
    match &job.payload {
        Some(p) => {
            let pretty = serde_json::from_str::<serde_json::Value>(p.as_str())
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| p.as_str().to_string());
            writeln!(out, "Payload")?;
            for line in pretty.lines() {
                writeln!(out, "  {}", printable(line))?;
            }
            Ok(())
        }
        None => writeln!(out, "{:<14} (none)", "Payload"),
    }
}

/// What `status --id` prints under the job's table row: the fields the table has no column
/// for (`DeliveredAt`, `FiredAt`, `DeliveredTo`, the whole error) and the payload, as `show`
/// prints them.
pub fn row_details(out: &mut impl Write, job: &JobRecord, style: &Style) -> io::Result<()> {
    let time = |text: &str| match parse_stored(text) {
        Some(t) => style.time(t),
        None => printable(text).into_owned(),
    };
    let delivered = job
        .delivered_at
        .as_deref()
        .map_or_else(|| "(not delivered)".to_string(), &time);
    writeln!(out, "{:<14} {delivered}", "DeliveredAt")?;
    if !job.delivered_to.is_empty() {
        writeln!(
            out,
            "{:<14} {}",
            "DeliveredTo",
            printable(&job.delivered_to.join(", "))
        )?;
    }
    if let Some(t) = &job.fired_at {
        writeln!(out, "{:<14} {}", "FiredAt", time(t))?;
    }
    if let Some(e) = &job.error {
        writeln!(out, "{:<14} {}", "Error", printable(e))?;
    }
    payload_text(out, job)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;

    fn style() -> Style {
        Style {
            now: "2030-01-01T05:48:00Z".parse().unwrap(),
            color: false,
            tz: None,
            width: None,
        }
    }

    fn story(status: &str) -> JobStory {
        let job = JobRecord {
            id: "job-1".into(),
            start_action_at: "2030-01-01T09:00:00Z".into(),
            process_status: status.into(),
            last_updated: Some("2030-01-01T05:00:00.123Z".into()),
            payload: Some(Payload::parse(r#"{"to":"a@example.com","n":[1,2]}"#).unwrap()),
            error: None,
            delivered_at: None,
            delivered_to: Vec::new(),
            run: None,
            fired_at: None,
        };
        let arn = "arn:aws:states:eu-west-1:123456789012:execution:m:job-1".to_string();
        let execution = Execution {
            console_url: console_url(&arn),
            execution_arn: arn,
            timeline: vec![
                TimelineEvent {
                    at: "2030-01-01T05:00:00.100Z".into(),
                    event: "ExecutionStarted".into(),
                    state: None,
                    error: None,
                    cause: None,
                },
                TimelineEvent {
                    at: "2030-01-01T05:00:00.110Z".into(),
                    event: "StateEntered".into(),
                    state: Some("WaitUntil".into()),
                    error: None,
                    cause: None,
                },
            ],
        };
        JobStory::new(job, execution, &style())
    }

    #[test]
    fn a_waiting_job_says_when_it_fires() {
        let mut out = Vec::new();
        story_text(&mut out, &story("STARTED"), &style()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("fires in 3h 12m (at 2030-01-01T09:00:00Z)"),
            "{text}"
        );
        assert!(
            text.contains("  \"to\": \"a@example.com\""),
            "pretty: {text}"
        );
        assert!(text.contains("StateEntered WaitUntil"), "{text}");
        assert!(
            text.contains("https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:"),
            "{text}"
        );
    }

    #[test]
    fn a_finished_job_has_no_fires_line_and_json_has_every_part() {
        let s = story("FAILED");
        assert_eq!(s.fires, None);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["job"]["Id"], "job-1");
        assert_eq!(v["timeline"][1]["state"], "WaitUntil");
        assert!(v["executionArn"].as_str().unwrap().ends_with(":job-1"));
    }

    #[test]
    fn runs_are_listed_in_aligned_columns() {
        let mut s = story("STARTED");
        let run = |n: u32, execution: &str, status: &str| crate::runs::RunSummary {
            run: n,
            execution: execution.into(),
            status: status.into(),
            started_at: Some("2030-01-01T05:00:00.100Z".into()),
            stopped_at: None,
            error: None,
        };
        s.runs = vec![run(1, "job-1", "ABORTED"), run(2, "job-1.r2", "RUNNING")];
        let mut out = Vec::new();
        story_text(&mut out, &s, &style()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\n  1  job-1     ABORTED  started "),
            "{text}"
        );
        assert!(
            text.contains("\n  2  job-1.r2  RUNNING  started "),
            "{text}"
        );
    }

    #[test]
    fn console_links_only_for_real_aws_arns() {
        assert!(console_url("arn:aws:states:us-east-1:1:execution:m:x").is_some());
        assert_eq!(
            console_url("arn:aws-cn:states:cn-north-1:1:execution:m:x"),
            None
        );
        assert_eq!(console_url("arn:aws:states::1:execution:m:x"), None);
        assert_eq!(console_url("nonsense"), None);
    }
}
