//! What `waitable receive` got from the stack's queue, and how it is printed.

use std::io::Write;

use chrono::{DateTime, Utc};
use comfy_table::{Table, presets};
use serde_json::Value;

/// One message taken from the queue (not yet deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The body as sent: the message JSON of [`super::message`].
    pub body: String,
    /// What deletes it (SQS receipt handle, or the local queue's message id).
    pub handle: String,
}

/// `--output json`: one JSON array of the bodies, each exactly as received (a payload's
/// bytes are not re-serialised); a body that is not JSON becomes a JSON string. The body is
/// checked as JSON text only, never converted: a number no double holds (`1e400`,
/// `12345678901234567890123`) is printed as it was sent.
pub fn write_json(messages: &[Received], out: &mut impl Write) -> std::io::Result<()> {
    write!(out, "[")?;
    for (i, m) in messages.iter().enumerate() {
        let sep = if i == 0 { "\n  " } else { ",\n  " };
        if serde_json::from_str::<&serde_json::value::RawValue>(&m.body).is_ok() {
            write!(out, "{sep}{}", m.body)?;
        } else {
            write!(out, "{sep}{}", Value::String(m.body.clone()))?;
        }
    }
    writeln!(out, "{}]", if messages.is_empty() { "" } else { "\n" })
}

/// The table: Id, StartActionAt, FiredAt, how late it fired, Payload.
pub fn write_table(messages: &[Received], out: &mut impl Write) -> std::io::Result<()> {
    if messages.is_empty() {
        return writeln!(out, "No messages.");
    }
    let mut table = Table::new();
    table.load_preset(presets::UTF8_BORDERS_ONLY);
    table.set_header(["Id", "StartActionAt", "FiredAt", "Late", "Payload"]);
    for m in messages {
        let v: Value = serde_json::from_str(&m.body).unwrap_or(Value::Null);
        let text = |k: &str| v[k].as_str().map(printable).unwrap_or_default();
        let payload = serde_json::to_string(&v["Payload"]).unwrap_or_default();
        table.add_row([
            text("Id"),
            text("StartActionAt"),
            text("FiredAt"),
            lateness(&v)
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_default(),
            printable(&shorten(&payload, 60)),
        ]);
    }
    writeln!(out, "{table}")?;
    writeln!(
        out,
        "{} message{}",
        messages.len(),
        if messages.len() == 1 { "" } else { "s" }
    )
}

/// FiredAt minus StartActionAt in milliseconds (never negative for a job on time).
pub fn lateness(message: &Value) -> Option<i64> {
    let t = |k: &str| {
        message[k]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
    };
    Some((t("FiredAt")? - t("StartActionAt")?).num_milliseconds())
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max - 1).collect();
    s.push('…');
    s
}

/// Control characters escaped, so a message cannot drive the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::message::message;

    fn m(body: &str) -> Received {
        Received {
            body: body.into(),
            handle: "h".into(),
        }
    }

    #[test]
    fn json_keeps_each_body_byte_for_byte() {
        let body = message(
            "a",
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:00:00.250Z",
            Some(r#"{"n":1.0e2}"#),
        );
        let mut out = Vec::new();
        write_json(&[m(&body), m("not json")], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(&body), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[1], "not json");
        let mut out = Vec::new();
        write_json(&[], &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "[]\n");
    }

    #[test]
    fn json_prints_numbers_no_double_holds_as_sent() {
        let payload = r#"{"big":12345678901234567890123,"huge":1e400,"tiny":-1e-400}"#;
        let body = message(
            "a",
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:00:00.250Z",
            Some(payload),
        );
        let mut out = Vec::new();
        write_json(&[m(&body)], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(payload), "{text}");
        assert!(!text.contains(r#""{\"Id"#), "printed as a string: {text}");
    }

    #[test]
    fn the_table_shows_lateness_and_escapes_control_characters() {
        let body = message(
            r"a\u001b[31m",
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:00:00.250Z",
            None,
        );
        let mut out = Vec::new();
        write_table(&[m(&body)], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("250 ms"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("1 message\n"), "{text}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(lateness(&v), Some(250));
    }
}
