//! What a bulk `cancel` did: a summary line, and the jobs it could not cancel.

use std::io::{self, Write};

use super::{Style, count_jobs, new_table, printable};
use crate::cancel::{JobOutcome, Outcome};

/// Ids named in the error line before "and N more".
const NAMED_IN_ERROR: usize = 10;

/// Every selected job's outcome, in the order they were selected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CancelReport {
    pub jobs: Vec<JobOutcome>,
}

impl CancelReport {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.jobs.iter().filter(|j| j.outcome == outcome).count()
    }

    /// The jobs that did not end cancelled or final: refused, missing, failed.
    pub fn unsettled(&self) -> impl Iterator<Item = &JobOutcome> {
        self.jobs.iter().filter(|j| !j.outcome.is_settled())
    }

    /// `5 jobs: 3 cancelled, 1 already finished, 1 refused (fired, delivering), 0 missing`,
    /// and the failures when there are any.
    pub fn summary(&self) -> String {
        let failed = self.count(Outcome::Failed);
        format!(
            "{}: {} cancelled, {} already finished, {} refused (fired, delivering), {} missing{}",
            count_jobs(self.jobs.len()),
            self.count(Outcome::Cancelled),
            self.count(Outcome::AlreadyFinished),
            self.count(Outcome::Delivering),
            self.count(Outcome::Missing),
            if failed == 0 {
                String::new()
            } else {
                format!(", {failed} failed")
            }
        )
    }

    /// The error line when some jobs could not be cancelled, naming them; `None` when all did.
    pub fn failure(&self) -> Option<String> {
        let unsettled: Vec<&JobOutcome> = self.unsettled().collect();
        if unsettled.is_empty() {
            return None;
        }
        let mut named: Vec<String> = unsettled
            .iter()
            .take(NAMED_IN_ERROR)
            .map(|j| format!("{} ({})", printable(&j.id), outcome_word(j.outcome)))
            .collect();
        if unsettled.len() > NAMED_IN_ERROR {
            named.push(format!("and {} more", unsettled.len() - NAMED_IN_ERROR));
        }
        Some(format!(
            "could not cancel {} of {}: {}",
            unsettled.len(),
            count_jobs(self.jobs.len()),
            named.join(", ")
        ))
    }
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Cancelled => "cancelled",
        Outcome::AlreadyFinished => "already finished",
        Outcome::Delivering => "fired, delivering",
        Outcome::Missing => "no such job",
        Outcome::Failed => "failed",
    }
}

/// The jobs a bulk cancel could not cancel, as a table (nothing when it cancelled them all).
pub fn cancel_table(out: &mut impl Write, report: &CancelReport, style: &Style) -> io::Result<()> {
    if report.unsettled().next().is_none() {
        return Ok(());
    }
    let mut table = new_table(style);
    table.set_header(vec!["Id", "Outcome", "Reason"]);
    for j in report.unsettled() {
        table.add_row(vec![
            printable(&j.id).into_owned(),
            outcome_word(j.outcome).to_string(),
            printable(j.reason.as_deref().unwrap_or_default()).into_owned(),
        ]);
    }
    writeln!(out, "{table}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(id: &str, outcome: Outcome, reason: Option<&str>) -> JobOutcome {
        JobOutcome {
            id: id.into(),
            outcome,
            process_status: None,
            reason: reason.map(String::from),
        }
    }

    #[test]
    fn the_summary_counts_and_the_error_names_what_was_not_cancelled() {
        let report = CancelReport {
            jobs: vec![
                outcome("a", Outcome::Cancelled, None),
                outcome("b", Outcome::AlreadyFinished, None),
                outcome("c", Outcome::Delivering, Some("job \"c\" fired at T")),
                outcome("d", Outcome::Missing, Some("no job \"d\"")),
            ],
        };
        assert_eq!(
            report.summary(),
            "4 jobs: 1 cancelled, 1 already finished, 1 refused (fired, delivering), 1 missing"
        );
        assert_eq!(
            report.failure().unwrap(),
            "could not cancel 2 of 4 jobs: c (fired, delivering), d (no such job)"
        );
        let mut text = Vec::new();
        let style = Style {
            now: "2030-01-01T00:00:00Z".parse().unwrap(),
            color: false,
            tz: None,
            width: None,
        };
        cancel_table(&mut text, &report, &style).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("job \"c\" fired at T") && !text.contains(" a "),
            "{text}"
        );

        let fine = CancelReport {
            jobs: vec![outcome("a", Outcome::Cancelled, None)],
        };
        assert_eq!(fine.failure(), None);
        let mut text = Vec::new();
        cancel_table(&mut text, &fine, &style).unwrap();
        assert!(text.is_empty());
        let many = CancelReport {
            jobs: (0..12)
                .map(|i| outcome(&format!("j{i}"), Outcome::Failed, Some("throttled")))
                .collect(),
        };
        assert!(many.summary().ends_with(", 12 failed"));
        assert!(many.failure().unwrap().ends_with("j9 (failed), and 2 more"));
    }
}
