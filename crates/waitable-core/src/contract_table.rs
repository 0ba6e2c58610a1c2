//! One table of inputs (ids, timestamps, payloads) with the expected verdict, checked through
//! every path that applies the jobs contract: the CLI (here), the API model the templates'
//! generator emits (here) and the local HTTP layer (`local/records.rs`). Records have their own
//! table in `record.rs`, checked through both targets' item mappings.

use serde_json::{Value, json};

/// (Id, valid?)
pub const IDS: &[(&str, bool)] = &[
    ("a", true),
    ("job-1", true),
    ("A_b-9", true),
    ("-abc", true),
    (
        "01234567890123456789012345678901234567890123456789012345678901234567890123456789",
        true,
    ),
    (
        "012345678901234567890123456789012345678901234567890123456789012345678901234567890",
        false,
    ),
    ("", false),
    ("has space", false),
    ("a/b", false),
    ("dot.", false),
    ("é", false),
    ("a:b", false),
    ("\"x\"", false),
];

/// (StartTimestamp on the wire, valid?)
pub const TIMESTAMPS: &[(&str, bool)] = &[
    ("2030-01-01T00:00:00Z", true),
    ("2030-12-31T23:59:59Z", true),
    // A leap second: some parsers read it as :59, a second early.
    ("2030-12-31T23:59:60Z", false),
    ("2030-01-01T00:00:00.123Z", false),
    ("2030-01-01T00:00:00.000Z", false),
    ("2030-01-01T00:00:00z", false),
    ("2030-01-01t00:00:00Z", false),
    ("2030-01-01T00:00:00+00:00", false),
    ("2030-01-01T00:00:00.Z", false),
    ("2030-01-01T00:00:00", false),
    ("2030-01-01", false),
    ("tomorrow", false),
];

/// (Payload as JSON text, valid?)
pub const PAYLOADS: &[(&str, bool)] = &[
    (r#"{"a":1}"#, true),
    ("{}", true),
    (r#"{"nested":{"list":[1,"two",null]}}"#, true),
    (r#""text""#, false),
    ("42", false),
    ("[1,2]", false),
    ("null", false),
    ("true", false),
];

/// A POST / body holding one value to check (the others fixed and valid).
pub fn body(id: Option<&str>, ts: &str, payload: Option<&str>) -> Value {
    let mut b = json!({ "StartTimestamp": ts });
    if let Some(id) = id {
        b["Id"] = json!(id);
    }
    if let Some(p) = payload {
        b["Payload"] = serde_json::from_str(p).expect("table payloads are JSON");
    }
    b
}

/// The generated API model (`job_request_schema`) applied to `body`, as API Gateway's
/// validator would: required fields, types, patterns, no other fields.
pub fn api_model_accepts(body: &Value) -> bool {
    let schema = super::api::job_request_schema();
    let Some(obj) = body.as_object() else {
        return false;
    };
    let props = schema["properties"].as_object().unwrap();
    let required_ok = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| obj.contains_key(r.as_str().unwrap()));
    required_ok
        && obj.iter().all(|(k, v)| {
            let Some(p) = props.get(k) else {
                return false;
            };
            let type_ok = match p["type"].as_str().unwrap() {
                "string" => v.is_string(),
                "object" => v.is_object(),
                other => panic!("the table does not know type {other}"),
            };
            let pattern_ok = p["pattern"].as_str().is_none_or(|pat| {
                regex::Regex::new(pat)
                    .unwrap()
                    .is_match(v.as_str().unwrap_or_default())
            });
            type_ok && pattern_ok
        })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::{job_id, payload, submit_input, timestamp};

    const OK_TS: &str = "2030-01-01T00:00:00Z";

    fn now() -> DateTime<Utc> {
        "2029-12-31T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn ids_through_the_cli_and_the_api_model() {
        for (id, valid) in IDS {
            let cli = submit_input::job_request("now", Some(id), None, now(), String::new);
            assert_eq!(cli.is_ok(), *valid, "CLI, {id:?}");
            assert_eq!(job_id::is_valid_id(id), *valid, "{id:?}");
            assert_eq!(
                api_model_accepts(&body(Some(id), OK_TS, None)),
                *valid,
                "model, {id:?}"
            );
        }
    }

    #[test]
    fn timestamps_through_the_cli_and_the_api_model() {
        for (ts, valid) in TIMESTAMPS {
            assert_eq!(timestamp::parse_wire(ts).is_some(), *valid, "{ts}");
            assert_eq!(
                api_model_accepts(&body(None, ts, None)),
                *valid,
                "model, {ts}"
            );
            // What the CLI sends for any accepted --at is valid on the wire.
            if let Ok(at) = crate::time_input::normalise_at(ts, now()) {
                assert!(timestamp::parse_wire(&at).is_some(), "{ts} -> {at}");
            }
        }
    }

    #[test]
    fn payloads_through_the_cli_and_the_api_model() {
        for (text, valid) in PAYLOADS {
            assert_eq!(payload::Payload::parse(text).is_ok(), *valid, "CLI, {text}");
            let cli = submit_input::job_request("now", None, Some(text), now(), String::new);
            assert_eq!(cli.is_ok(), *valid, "CLI request, {text}");
            assert_eq!(
                api_model_accepts(&body(None, OK_TS, Some(text))),
                *valid,
                "model, {text}"
            );
        }
    }
}
