//! Job records for people (a table) and for programs (JSON), written to any `impl Write`.
//!
//! Nothing here reads a clock or the environment: `now` and the colour decision are passed in,
//! so the output is the same in tests as on a terminal.

pub mod cancel_report;
mod fit;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use comfy_table::{Color, ContentArrangement, Table, presets};
use serde::Serialize;

use super::job::{JobRecord, JobStatus, Submitted};
use super::time_input::{format_utc, parse_stored, relative_hint};
use fit::table_of;

/// Printed instead of an empty table.
pub const NO_JOBS: &str = "No jobs yet. Start one with: waitable submit --at +1m";
/// Printed instead of an empty table when a filter matched nothing.
pub const NO_MATCHING_JOBS: &str = "No jobs match.";

/// How the table looks: the clock its hints are relative to, and whether to colour.
#[derive(Debug, Clone)]
pub struct Style {
    pub now: DateTime<Utc>,
    pub color: bool,
    /// Show times in this zone (`--tz`, `--local`); `None`: UTC.
    pub tz: Option<jiff::tz::TimeZone>,
    /// Fit tables to this many columns (the terminal's width); `None`: as wide as the content.
    pub width: Option<u16>,
}

impl Style {
    /// A stored time as this style shows it: UTC, or in the chosen zone with its offset.
    pub fn time(&self, at: DateTime<Utc>) -> String {
        match &self.tz {
            Some(tz) => super::time_zone::format_in(at, tz),
            None => format_utc(at),
        }
    }
}

/// The order `status` shows jobs in: by StartActionAt, then Id.
pub fn sort_key(job: &JobRecord) -> (&str, &str) {
    (&job.start_action_at, &job.id)
}

pub(crate) fn status_color(status: Option<JobStatus>) -> Option<Color> {
    match status? {
        JobStatus::Started => Some(Color::Yellow),
        JobStatus::Completed => Some(Color::Green),
        JobStatus::Failed => Some(Color::Red),
        JobStatus::Cancelled => Some(Color::DarkGrey),
    }
}

pub(crate) fn new_table(style: &Style) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    if style.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

/// Stored text as it may reach a terminal: control characters (C0, DEL, C1: escape sequences,
/// bells, carriage returns) and the bidirectional overrides are shown escaped (`\u{1b}`, `\n`),
/// so a stored string can neither drive the terminal nor disguise what it shows.
pub fn printable(text: &str) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A stored time as `2030-01-01T09:00:00Z (in 4m)`; text that is not a time is shown as it is
/// (made [`printable`]).
pub(crate) fn time_cell(text: &str, style: &Style, hint: bool) -> String {
    match parse_stored(text) {
        Some(t) if hint => format!("{} ({})", style.time(t), relative_hint(t, style.now)),
        Some(t) => style.time(t),
        None => printable(text).into_owned(),
    }
}

/// The status table (jobs already sorted and filtered), then the one-line summary.
/// An empty list prints `empty_line` instead.
pub fn jobs_table(
    out: &mut impl Write,
    jobs: &[JobRecord],
    style: &Style,
    empty_line: &str,
) -> io::Result<()> {
    if jobs.is_empty() {
        return writeln!(out, "{empty_line}");
    }
    writeln!(out, "{}", table_of(jobs, style))?;
    writeln!(out, "{}", summary_line(jobs))
}

/// The status as the table shows it: a STARTED job that fired (its delivery in progress: it
/// can no longer be cancelled) reads `STARTED (delivering)`.
pub fn shown_status(job: &JobRecord) -> String {
    match (job.status(), &job.fired_at) {
        (Some(JobStatus::Started), Some(_)) => format!("{} (delivering)", job.process_status),
        _ => job.process_status.clone(),
    }
}

/// `1 job`, `3 jobs`.
pub fn count_jobs(n: usize) -> String {
    format!("{n} job{}", if n == 1 { "" } else { "s" })
}

/// `3 jobs: 1 STARTED, 2 COMPLETED` (statuses in lifecycle order, unknown ones last).
pub fn summary_line(jobs: &[JobRecord]) -> String {
    let mut counts = StatusCounts::default();
    jobs.iter().for_each(|job| counts.add(job));
    counts.summary()
}

/// Jobs counted by status, for the summary line of a table too long to hold.
#[derive(Debug, Default)]
pub struct StatusCounts {
    counts: BTreeMap<(usize, String), usize>,
    total: usize,
}

impl StatusCounts {
    pub fn add(&mut self, job: &JobRecord) {
        let rank = job
            .status()
            .and_then(|s| JobStatus::ALL.iter().position(|x| *x == s))
            .unwrap_or(JobStatus::ALL.len());
        *self
            .counts
            .entry((rank, job.process_status.clone()))
            .or_default() += 1;
        self.total += 1;
    }

    pub fn total(&self) -> usize {
        self.total
    }

    /// See [`summary_line`].
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|((_, status), n)| format!("{n} {}", printable(status)))
            .collect();
        format!("{}: {}", count_jobs(self.total), parts.join(", "))
    }
}

/// Rows of the status table held at once: a longer table is printed in pages of this many
/// rows (each with its header), so memory stays flat however many jobs there are.
pub const TABLE_PAGE_ROWS: usize = 1000;

/// The status table written page by page as sorted jobs arrive, then the summary line: the
/// same output as [`jobs_table`] up to [`TABLE_PAGE_ROWS`] jobs.
pub struct TablePages {
    page: Vec<JobRecord>,
    counts: StatusCounts,
    page_rows: usize,
}

impl TablePages {
    pub fn new(page_rows: usize) -> Self {
        TablePages {
            page: Vec::new(),
            counts: StatusCounts::default(),
            page_rows: page_rows.max(1),
        }
    }

    /// Adds the next job (in display order); prints a page when one is full.
    pub fn push(&mut self, out: &mut impl Write, job: JobRecord, style: &Style) -> io::Result<()> {
        self.counts.add(&job);
        self.page.push(job);
        if self.page.len() >= self.page_rows {
            self.flush(out, style)?;
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut impl Write, style: &Style) -> io::Result<()> {
        if !self.page.is_empty() {
            writeln!(out, "{}", table_of(&self.page, style))?;
            self.page.clear();
        }
        Ok(())
    }

    /// Prints the last page and the summary (or `empty_line` when there was no job); returns
    /// how many jobs were shown.
    pub fn finish(
        mut self,
        out: &mut impl Write,
        style: &Style,
        empty_line: &str,
    ) -> io::Result<usize> {
        if self.counts.total() == 0 {
            writeln!(out, "{empty_line}")?;
            return Ok(0);
        }
        self.flush(out, style)?;
        writeln!(out, "{}", self.counts.summary())?;
        Ok(self.counts.total())
    }
}

/// A JSON array written one already-serialised element at a time, one per line, so
/// `status --output json` never holds a second copy of the whole document.
pub struct JsonArray {
    empty: bool,
}

impl JsonArray {
    pub fn start(out: &mut impl Write) -> io::Result<Self> {
        out.write_all(b"[")?;
        Ok(JsonArray { empty: true })
    }

    pub fn element(&mut self, out: &mut impl Write, element: &str) -> io::Result<()> {
        out.write_all(if self.empty { b"\n" } else { b",\n" })?;
        self.empty = false;
        out.write_all(element.as_bytes())
    }

    pub fn finish(self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(if self.empty { b"]\n" } else { b"\n]\n" })
    }
}

/// A whole JSON array of already-serialised elements (see [`JsonArray`]).
pub fn json_array<'a>(
    out: &mut impl Write,
    elements: impl IntoIterator<Item = &'a str>,
) -> io::Result<()> {
    let mut array = JsonArray::start(out)?;
    for element in elements {
        array.element(out, element)?;
    }
    array.finish(out)
}

/// A job record as one compact JSON value (the table's attribute names).
pub fn job_json(job: &JobRecord) -> String {
    serde_json::to_string(job).expect("a job record serialises")
}

/// Pretty JSON of any result, then a newline.
pub fn json_value(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// One submitted job as a two-column table.
pub fn submitted_table(out: &mut impl Write, s: &Submitted, style: &Style) -> io::Result<()> {
    let mut table = new_table(style);
    table.add_row(vec!["Job Id", &s.job_id]);
    table.add_row(vec!["Execution ARN", &s.execution_arn]);
    table.add_row(vec![
        "Submitted",
        if s.already_submitted {
            "no: already submitted before"
        } else {
            "yes"
        },
    ]);
    writeln!(out, "{table}")
}

/// A batch line that could not be submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchFailure {
    pub line: usize,
    #[serde(rename = "jobId")]
    pub job_id: String,
    pub error: String,
}

/// What a `--file` batch did, line by line accounted for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    pub submitted: usize,
    #[serde(rename = "alreadySubmitted")]
    pub already_submitted: usize,
    pub failed: Vec<BatchFailure>,
    /// Lines never sent because Ctrl-C came first (present only then).
    #[serde(rename = "notSent", skip_serializing_if = "is_zero")]
    pub not_sent: usize,
    /// The first of them, where a run of the rest would start.
    #[serde(rename = "firstUnsentLine", skip_serializing_if = "Option::is_none")]
    pub first_unsent_line: Option<usize>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl BatchReport {
    pub fn total(&self) -> usize {
        self.submitted + self.already_submitted + self.failed.len() + self.not_sent
    }

    /// `500 jobs: 498 submitted, 2 already submitted, 0 failed`, and after a Ctrl-C
    /// `, 60 not sent (interrupted; the first is line 41)`.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{}: {} submitted, {} already submitted, {} failed",
            count_jobs(self.total()),
            self.submitted,
            self.already_submitted,
            self.failed.len()
        );
        if self.not_sent > 0 {
            line.push_str(&format!(", {} not sent (interrupted", self.not_sent));
            if let Some(first) = self.first_unsent_line {
                line.push_str(&format!("; the first is line {first}"));
            }
            line.push(')');
        }
        line
    }
}

/// The batch result: failures as a table (if any), then the summary line.
pub fn batch_table(out: &mut impl Write, report: &BatchReport, style: &Style) -> io::Result<()> {
    if !report.failed.is_empty() {
        let mut table = new_table(style);
        table.set_header(vec!["Line", "Id", "Error"]);
        for f in &report.failed {
            table.add_row(vec![
                f.line.to_string(),
                printable(&f.job_id).into_owned(),
                printable(&f.error).into_owned(),
            ]);
        }
        writeln!(out, "{table}")?;
    }
    writeln!(out, "{}", report.summary())
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn a_fired_job_not_yet_delivered_shows_as_delivering() {
        let mut j = job("a", "2030-01-01T00:00:00Z", "STARTED");
        assert_eq!(shown_status(&j), "STARTED");
        j.fired_at = Some("2030-01-01T00:00:00.010Z".into());
        assert_eq!(shown_status(&j), "STARTED (delivering)");
        let text = render(|out| jobs_table(out, &[j.clone()], &style(false), ""));
        assert!(text.contains("STARTED (delivering)"), "{text}");
        j.process_status = "COMPLETED".into();
        assert_eq!(shown_status(&j), "COMPLETED");
    }

    fn style(color: bool) -> Style {
        Style {
            now: "2026-03-01T12:00:00Z".parse().unwrap(),
            color,
            tz: None,
            width: None,
        }
    }

    fn job(id: &str, at: &str, status: &str) -> JobRecord {
        JobRecord {
            id: id.into(),
            start_action_at: at.into(),
            process_status: status.into(),
            last_updated: Some("2026-03-01T11:58:00.123456+00:00".into()),
            payload: None,
            error: None,
            delivered_at: None,
            fired_at: None,
            delivered_to: vec![],
            run: None,
        }
    }

    fn sample() -> Vec<JobRecord> {
        let mut failed = job("job-c", "2026-03-01T11:00:00Z", "FAILED");
        failed.error = Some("States.TaskFailed".into());
        let mut with_payload = job("job-a", "2026-03-01T12:04:00Z", "STARTED");
        with_payload.payload =
            Some(crate::payload::Payload::parse(r#"{"email":"a@example.com"}"#).unwrap());
        let mut jobs = vec![
            with_payload,
            job("job-b", "2026-03-01T09:00:00Z", "COMPLETED"),
            failed,
            job("job-d", "2026-03-04T12:00:00Z", "CANCELLED"),
            job("job-e", "not a time", "SOMETHING_ELSE"),
        ];
        jobs.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        jobs
    }

    fn render(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut buf = Vec::new();
        f(&mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    fn paged(jobs: &[JobRecord], rows: usize) -> String {
        render(|out| {
            let mut pages = TablePages::new(rows);
            for job in jobs {
                pages.push(out, job.clone(), &style(false))?;
            }
            pages.finish(out, &style(false), NO_JOBS).map(|_| ())
        })
    }

    #[test]
    fn a_table_that_fits_one_page_is_the_table_itself() {
        let jobs = sample();
        let whole = render(|out| jobs_table(out, &jobs, &style(false), NO_JOBS));
        assert_eq!(paged(&jobs, TABLE_PAGE_ROWS), whole);
        assert_eq!(paged(&[], 3), format!("{NO_JOBS}\n"));
    }

    #[test]
    fn a_long_table_comes_in_pages_with_one_summary_of_all() {
        let jobs = sample();
        let text = paged(&jobs, 2);
        // Five jobs in pages of two: three tables, each with its header, one summary.
        assert_eq!(text.matches("ProcessStatus").count(), 3, "{text}");
        assert_eq!(text.matches("jobs:").count(), 1);
        assert!(
            text.ends_with(&format!("{}\n", summary_line(&jobs))),
            "{text}"
        );
        let order: Vec<usize> = jobs.iter().map(|j| text.find(&j.id).unwrap()).collect();
        assert!(order.is_sorted(), "rows keep their order: {text}");
    }

    #[test]
    fn status_table() {
        let text = render(|o| jobs_table(o, &sample(), &style(false), NO_JOBS));
        insta::assert_snapshot!(text);
        assert!(!text.contains('\u{1b}'), "no colour when not allowed");
    }

    #[test]
    fn status_table_colours_statuses_when_allowed() {
        let text = render(|o| jobs_table(o, &sample(), &style(true), NO_JOBS));
        assert!(text.contains("\u{1b}["), "{text}");
    }

    #[test]
    fn status_table_without_errors_has_no_error_column() {
        let jobs = vec![job("only", "2026-03-01T12:00:30Z", "STARTED")];
        let text = render(|o| jobs_table(o, &jobs, &style(false), NO_JOBS));
        assert!(!text.contains("Error"));
        assert!(text.contains("(in 30s)"));
        assert!(text.ends_with("1 job: 1 STARTED\n"), "{text}");
    }

    #[test]
    fn empty_table_is_a_friendly_line() {
        let text = render(|o| jobs_table(o, &[], &style(false), NO_JOBS));
        assert_eq!(text, format!("{NO_JOBS}\n"));
    }

    #[test]
    fn summary_counts_in_lifecycle_order() {
        assert_eq!(
            summary_line(&sample()),
            "5 jobs: 1 STARTED, 1 COMPLETED, 1 FAILED, 1 CANCELLED, 1 SOMETHING_ELSE"
        );
    }

    #[test]
    fn status_json() {
        let jobs = sample();
        let elements: Vec<String> = jobs.iter().map(job_json).collect();
        let text = render(|o| json_array(o, elements.iter().map(String::as_str)));
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 5);
        insta::assert_snapshot!(text);
    }

    #[test]
    fn empty_json_is_an_empty_array() {
        let text = render(|o| json_array(o, std::iter::empty()));
        assert_eq!(text, "[]\n");
    }

    #[test]
    fn submit_result_as_table_and_json() {
        let s = Submitted {
            job_id: "job-1".into(),
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:M:job-1".into(),
            already_submitted: true,
        };
        insta::assert_snapshot!(
            "submitted",
            render(|o| submitted_table(o, &s, &style(false)))
        );
        insta::assert_snapshot!("submitted_json", render(|o| json_value(o, &s)));
    }

    #[test]
    fn batch_report_lists_failures_and_sums_up() {
        let report = BatchReport {
            submitted: 3,
            already_submitted: 1,
            failed: vec![BatchFailure {
                line: 4,
                job_id: "x".into(),
                error: "ExecutionLimitExceeded".into(),
            }],
            ..Default::default()
        };
        insta::assert_snapshot!("batch", render(|o| batch_table(o, &report, &style(false))));
        assert_eq!(
            report.summary(),
            "5 jobs: 3 submitted, 1 already submitted, 1 failed"
        );
        // After a Ctrl-C: what was not sent, and where the rest starts.
        let cut = BatchReport {
            submitted: 40,
            not_sent: 60,
            first_unsent_line: Some(41),
            ..Default::default()
        };
        assert_eq!(
            cut.summary(),
            "100 jobs: 40 submitted, 0 already submitted, 0 failed, 60 not sent (interrupted; the first is line 41)"
        );
        let json = serde_json::to_value(&cut).unwrap();
        assert_eq!(
            (json["notSent"].clone(), json["firstUnsentLine"].clone()),
            (60.into(), 41.into())
        );
        assert!(
            serde_json::to_value(&report)
                .unwrap()
                .get("notSent")
                .is_none()
        );
        let one = BatchReport {
            submitted: 1,
            ..Default::default()
        };
        assert_eq!(
            one.summary(),
            "1 job: 1 submitted, 0 already submitted, 0 failed"
        );
    }

    #[test]
    fn stored_control_characters_cannot_reach_the_terminal() {
        // Reproductions: an SGR colour and an OSC window title with a bell.
        let mut hostile = job(
            "x\u{1b}]0;pwned\u{7}",
            "2026-03-01T09:00:00Z",
            "STARTED\u{1b}[31mRED",
        );
        hostile.error = Some("a\rb\u{202e}c\u{9b}".into());
        let text = render(|o| jobs_table(o, &[hostile], &style(false), NO_JOBS));
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
            "{text:?}"
        );
        assert!(text.contains("STARTED\\u{1b}[31mRED"), "{text}");
        assert!(text.contains("x\\u{1b}]0;pwned\\u{7}"), "{text}");
        assert!(text.contains("a\\rb\\u{202e}c\\u{9b}"), "{text}");
        assert_eq!(printable("plain: ünïcode ✓"), "plain: ünïcode ✓");
        let report = BatchReport {
            failed: vec![BatchFailure {
                line: 1,
                job_id: "\u{1b}[2J".into(),
                error: "bad\u{7}".into(),
            }],
            ..Default::default()
        };
        let text = render(|o| batch_table(o, &report, &style(false)));
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
    }

    #[test]
    fn tables_fit_the_terminal_cutting_the_error_first() {
        let mut failed = job("job-id-1", "2026-03-01T12:00:00Z", "FAILED");
        failed.error = Some(format!("DeliveryFailed: {}", "x".repeat(200)));
        let jobs = vec![failed, job("b", "2026-03-02T12:00:00Z", "STARTED")];
        // Without errors, at 80 columns: LastUpdated gives way when the zone's times are wide.
        let berlin = Style {
            width: Some(80),
            tz: Some(crate::time_zone::zone("Europe/Berlin").unwrap()),
            ..style(false)
        };
        let mut out = Vec::new();
        jobs_table(&mut out, &jobs[1..], &berlin, "").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert!(
            text.contains("+01:00") && !text.contains("LastUpdated"),
            "{text}"
        );
        for width in [80u16, 100, 120] {
            let style = Style {
                width: Some(width),
                ..style(false)
            };
            let mut out = Vec::new();
            jobs_table(&mut out, &jobs, &style, "").unwrap();
            let text = String::from_utf8(out).unwrap();
            for line in text.lines() {
                assert!(
                    line.chars().count() <= usize::from(width),
                    "{width}: {line}"
                );
            }
            assert!(text.contains("job-id-1"), "the Id is whole: {text}");
            assert!(text.contains("DeliveryFailed"), "{text}");
            assert!(text.contains('…'), "{text}");
        }
        let mut out = Vec::new();
        jobs_table(&mut out, &jobs, &style(false), "").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(&"x".repeat(200)), "no width: whole lines");
    }
}
