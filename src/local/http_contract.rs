//! The local HTTP layer's side of the jobs contract: items as records (the contract's
//! mapping), seed records as items, and the POST / body checked like the API Gateway model
//! (`waitable_core::api::job_request_schema`) with the contract's rules.

use std::collections::HashMap;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use waitable_asl::ddb::Item;
use waitable_core::job::{
    ATTR_ERROR, ATTR_ID, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, ATTR_START_ACTION_AT, INPUT_ID,
    INPUT_PAYLOAD, INPUT_START_TIMESTAMP, JobRecord, LONGEST_EXPIRY, execution_input,
};
use waitable_core::job_id::validate_id;
use waitable_core::limits::MAX_PAYLOAD_DEPTH;
use waitable_core::payload::{Payload, nesting_depth};
use waitable_core::record::{StringAttributes, record_from_item};
use waitable_core::submit_input::check_input_size;
use waitable_core::timestamp::matches_pattern;

/// A table item as a job record (the contract's mapping); None for an item without an Id.
pub fn job_from_item(item: &Item) -> Option<JobRecord> {
    record_from_item(item)
}

/// A record as the seed interface gives it (attribute names, all strings) as an item.
pub fn item_from_record(record: &Value) -> Result<(String, Item), String> {
    let obj = record
        .as_object()
        .ok_or("a job record must be a JSON object")?;
    let id = obj
        .get(ATTR_ID)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("a job record needs a string Id")?
        .to_string();
    let mut item = Map::new();
    for (k, v) in obj {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        item.insert(k.clone(), json!({ "S": text }));
    }
    Ok((id, item))
}

/// One entry of GET /status: the five string attributes, null when absent (as the API
/// Gateway mapping template renders them).
pub fn status_entry(item: &Item) -> Value {
    let mut m = Map::new();
    for attr in [
        ATTR_ID,
        ATTR_START_ACTION_AT,
        ATTR_LAST_UPDATED,
        ATTR_PROCESS_STATUS,
        ATTR_ERROR,
    ] {
        m.insert(
            attr.into(),
            item.string(attr)
                .map_or(Value::Null, |v| Value::String(v.into())),
        );
    }
    Value::Object(m)
}

/// A POST / body, checked like the API Gateway model.
#[derive(Debug, Clone, PartialEq)]
pub struct JobBody {
    pub id: Option<String>,
    pub start_timestamp: String,
    /// The Payload's JSON text, exactly as sent.
    pub payload: Option<Payload>,
}

impl JobBody {
    /// The execution input, as the POST mapping template builds it: the Payload travels as
    /// JSON text, and `ExpiresAt` follows the stack's `retention_days`.
    pub fn execution_input(&self, retention_days: u32) -> Value {
        execution_input(
            &self.start_timestamp,
            self.payload.as_ref().map(Payload::as_str),
            retention_days,
        )
    }
}

pub fn parse_job_body(body: &[u8]) -> Result<JobBody, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8 text")?;
    // Measured before parsing: the Payload is one level inside the body.
    let depth = nesting_depth(text);
    if depth > MAX_PAYLOAD_DEPTH + 1 {
        return Err(format!(
            "Payload: the payload is nested {} levels deep, more than the limit of {MAX_PAYLOAD_DEPTH}",
            depth - 1
        ));
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map_err(|e| format!("the body is not valid JSON: {e}"))?;
    // Raw members: the Payload is kept as the exact text sent.
    let obj: HashMap<String, Box<RawValue>> =
        serde_json::from_str(text).map_err(|_| "the body must be a JSON object")?;
    for key in obj.keys() {
        if ![INPUT_START_TIMESTAMP, INPUT_ID, INPUT_PAYLOAD].contains(&key.as_str()) {
            return Err(format!(
                "unknown field {key:?} (allowed: StartTimestamp, Id, Payload)"
            ));
        }
    }
    let string = |raw: &RawValue| serde_json::from_str::<String>(raw.get()).ok();
    let start_timestamp = obj
        .get(INPUT_START_TIMESTAMP)
        .ok_or("StartTimestamp is required")
        .map(|raw| string(raw))?
        .filter(|t| matches_pattern(t))
        .ok_or("StartTimestamp must be an RFC 3339 timestamp in UTC, e.g. 2030-01-01T00:00:00Z")?;
    let id = match obj.get(INPUT_ID) {
        None => None,
        Some(raw) => Some(
            string(raw)
                .ok_or("Id must be a string")
                .map_err(String::from)
                .and_then(|id| {
                    validate_id(&id)
                        .map(|()| id)
                        .map_err(|e| format!("Id: {e}"))
                })?,
        ),
    };
    let payload = match obj.get(INPUT_PAYLOAD) {
        None => None,
        Some(raw) => Some(Payload::parse(raw.get()).map_err(|e| format!("Payload: {e}"))?),
    };
    let body = JobBody {
        id,
        start_timestamp,
        payload,
    };
    check_input_size(&body.execution_input(LONGEST_EXPIRY)).map_err(|e| format!("Payload: {e}"))?;
    Ok(body)
}

/// The page token of GET /status: the same form as the deployed API's (`core::page_token`).
pub fn encode_token(id: &str) -> String {
    waitable_core::page_token::encode(id)
}

pub fn decode_token(token: &str) -> Option<String> {
    waitable_core::page_token::decode(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use waitable_core::limits::MAX_INPUT_BYTES;

    #[test]
    fn bodies_are_checked_like_the_api_model() {
        let ok = parse_job_body(br#"{"StartTimestamp": "2030-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(
            ok.execution_input(0),
            json!({"StartTimestamp": "2030-01-01T00:00:00Z", "Payload": "null", "ExpiresAt": "99999999999"})
        );
        let full = parse_job_body(
            br#"{"StartTimestamp": "2030-01-01T00:00:00Z", "Id": "a-1", "Payload": {"k": "v\"'"}}"#,
        )
        .unwrap();
        assert_eq!(full.id.as_deref(), Some("a-1"));
        assert_eq!(
            full.execution_input(90)["Payload"],
            json!(r#"{"k": "v\"'"}"#)
        );
        for bad in [
            &br#"{}"#[..],
            br#"not json"#,
            br#"[1]"#,
            br#"{"StartTimestamp": "2030-01-01T00:00:00+01:00"}"#,
            br#"{"StartTimestamp": "tomorrow"}"#,
            br#"{"StartTimestamp": "2030-01-01T00:00:00.5Z"}"#,
            br#"{"StartTimestamp": 5}"#,
            br#"{"StartTimestamp": "2030-01-01T00:00:00Z", "Id": "a b"}"#,
            br#"{"StartTimestamp": "2030-01-01T00:00:00Z", "Payload": "text"}"#,
            br#"{"StartTimestamp": "2030-01-01T00:00:00Z", "Extra": 1}"#,
        ] {
            assert!(
                parse_job_body(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn records_and_items_round_trip() {
        let (id, item) = item_from_record(
            &json!({"Id": "x", "StartActionAt": "t", "ProcessStatus": "STARTED",
            "Payload": "{\"a\":1}", "Error": null}),
        )
        .unwrap();
        assert_eq!(id, "x");
        let rec = job_from_item(&item).unwrap();
        assert_eq!(rec.payload, Some(Payload::from_stored(r#"{"a":1}"#)));
        assert_eq!(rec.error, None);
        assert_eq!(
            status_entry(&item),
            json!({"Id": "x", "StartActionAt": "t", "LastUpdated": null, "ProcessStatus": "STARTED", "Error": null})
        );
    }

    #[test]
    fn post_bodies_follow_the_contract_table() {
        use waitable_core::contract_table::{IDS, PAYLOADS, TIMESTAMPS, body};
        let ok_ts = "2030-01-01T00:00:00Z";
        let check = |b: Value| parse_job_body(b.to_string().as_bytes()).is_ok();
        for (id, valid) in IDS {
            assert_eq!(check(body(Some(id), ok_ts, None)), *valid, "{id:?}");
        }
        for (ts, valid) in TIMESTAMPS {
            assert_eq!(check(body(None, ts, None)), *valid, "{ts}");
            // The state machine's own check (ValidateInput's IsTimestamp) takes it too.
            if *valid {
                assert!(waitable_asl::timestamp::parse(ts).is_some(), "{ts}");
            }
        }
        for (text, valid) in PAYLOADS {
            assert_eq!(check(body(None, ok_ts, Some(text))), *valid, "{text}");
        }
    }

    #[test]
    fn the_input_size_limit_is_the_contracts() {
        let body = |fill: usize| {
            format!(
                r#"{{"StartTimestamp": "2030-01-01T00:00:00Z", "Payload": {{"x":"{}"}}}}"#,
                "x".repeat(fill)
            )
        };
        let empty = parse_job_body(body(0).as_bytes()).unwrap();
        let fill = MAX_INPUT_BYTES - empty.execution_input(LONGEST_EXPIRY).to_string().len();
        assert!(parse_job_body(body(fill).as_bytes()).is_ok());
        let err = parse_job_body(body(fill + 1).as_bytes()).unwrap_err();
        assert!(err.contains("too large"), "{err}");
    }

    #[test]
    fn items_map_by_the_contract_table() {
        for (attrs, expected) in waitable_core::record::table::cases() {
            let item: Item = attrs
                .iter()
                .map(|(k, v)| (k.to_string(), json!({ "S": v })))
                .collect();
            assert_eq!(job_from_item(&item), expected, "{attrs:?}");
        }
    }

    #[test]
    fn tokens_round_trip() {
        for id in ["a", "job-1", "ü \"x\""] {
            assert_eq!(decode_token(&encode_token(id)).as_deref(), Some(id));
        }
        assert_eq!(decode_token("zz"), None);
        assert_eq!(decode_token("abc"), None);
    }
}
