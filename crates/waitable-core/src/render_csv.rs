//! `status --output csv`: a header row, then one row per job (RFC 4180 quoting), the payload
//! as compact JSON in one column, for spreadsheets and `cut`/`awk`-style scripts.

use std::io::{self, Write};

use super::job::JobRecord;

/// The columns, in order.
pub const CSV_HEADER: [&str; 7] = [
    "Id",
    "StartActionAt",
    "ProcessStatus",
    "LastUpdated",
    "DeliveredAt",
    "Error",
    "Payload",
];

/// One field, quoted when it holds a comma, a quote or a line break (quotes doubled).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The compact JSON of a stored payload (stored text is kept byte for byte; this drops its
/// spacing so the column is one line).
fn compact(payload: &str) -> String {
    serde_json::from_str::<serde_json::Value>(payload)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| payload.to_string())
}

/// The header row.
pub fn csv_header(out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{}", CSV_HEADER.join(","))
}

/// One job's row.
pub fn csv_row(out: &mut impl Write, job: &JobRecord) -> io::Result<()> {
    let cells = [
        field(&job.id),
        field(&job.start_action_at),
        field(&job.process_status),
        field(job.last_updated.as_deref().unwrap_or("")),
        field(job.delivered_at.as_deref().unwrap_or("")),
        field(job.error.as_deref().unwrap_or("")),
        field(
            &job.payload
                .as_ref()
                .map(|p| compact(p.as_str()))
                .unwrap_or_default(),
        ),
    ];
    writeln!(out, "{}", cells.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;

    #[test]
    fn rows_quote_what_needs_it_and_keep_the_payload_on_one_line() {
        let job = JobRecord {
            id: "a-1".into(),
            start_action_at: "2030-01-01T09:00:00Z".into(),
            process_status: "FAILED".into(),
            last_updated: Some("2030-01-01T09:00:01Z".into()),
            payload: Some(Payload::parse("{\n  \"to\": \"x, \\\"y\\\"\"\n}").unwrap()),
            error: Some("Bad,\nthing".into()),
            delivered_at: None,
            delivered_to: Vec::new(),
            run: None,
            fired_at: None,
        };
        let mut out = Vec::new();
        csv_header(&mut out).unwrap();
        csv_row(&mut out, &job).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "Id,StartActionAt,ProcessStatus,LastUpdated,DeliveredAt,Error,Payload\n\
             a-1,2030-01-01T09:00:00Z,FAILED,2030-01-01T09:00:01Z,,\"Bad,\nthing\",\"{\"\"to\"\":\"\"x, \\\"\"y\\\"\"\"\"}\"\n"
        );
    }
}
