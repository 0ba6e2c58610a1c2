//! Job records <-> items of the jobs table, and the HTTP contract's request checks (the
//! API Gateway model `crate::core::api::job_request_schema`, checked by hand).

use serde_json::{Map, Value, json};

use super::ddb::Item;
use crate::core::job::{
    ATTR_ERROR, ATTR_ID, ATTR_LAST_UPDATED, ATTR_PAYLOAD, ATTR_PROCESS_STATUS,
    ATTR_START_ACTION_AT, INPUT_ID, INPUT_PAYLOAD, INPUT_START_TIMESTAMP, JobRecord,
};

fn s(item: &Item, attr: &str) -> Option<String> {
    item.get(attr)?.get("S")?.as_str().map(str::to_string)
}

/// A table item as a job record (Payload is stored as JSON text).
pub fn job_from_item(item: &Item) -> JobRecord {
    JobRecord {
        id: s(item, ATTR_ID).unwrap_or_default(),
        start_action_at: s(item, ATTR_START_ACTION_AT).unwrap_or_default(),
        process_status: s(item, ATTR_PROCESS_STATUS).unwrap_or_default(),
        last_updated: s(item, ATTR_LAST_UPDATED),
        payload: s(item, ATTR_PAYLOAD)
            .map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text))),
        error: s(item, ATTR_ERROR),
    }
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
            s(item, attr).map_or(Value::Null, Value::String),
        );
    }
    Value::Object(m)
}

/// `^[A-Za-z0-9_-]{1,80}$` (`crate::core::api::ID_PATTERN`).
pub fn valid_id(id: &str) -> bool {
    (1..=80).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `crate::core::api::TIMESTAMP_PATTERN`: `YYYY-MM-DDTHH:MM:SS(.f+)?Z`.
pub fn valid_timestamp(ts: &str) -> bool {
    let b = ts.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if b.len() < 20 || !b.ends_with(b"Z") {
        return false;
    }
    let fixed = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    let frac = &b[19..b.len() - 1];
    fixed
        && (frac.is_empty()
            || (frac.len() >= 2 && frac[0] == b'.' && frac[1..].iter().all(u8::is_ascii_digit)))
}

/// A POST / body, checked like the API Gateway model.
#[derive(Debug, Clone, PartialEq)]
pub struct JobBody {
    pub id: Option<String>,
    pub start_timestamp: String,
    pub payload: Option<Value>,
}

impl JobBody {
    /// The execution input, as the POST mapping template builds it: the Payload travels as
    /// JSON text.
    pub fn execution_input(&self) -> Value {
        let mut input = Map::new();
        input.insert(
            INPUT_START_TIMESTAMP.into(),
            self.start_timestamp.clone().into(),
        );
        if let Some(p) = &self.payload {
            input.insert(INPUT_PAYLOAD.into(), Value::String(p.to_string()));
        }
        Value::Object(input)
    }
}

pub fn parse_job_body(body: &[u8]) -> Result<JobBody, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let obj = v.as_object().ok_or("the body must be a JSON object")?;
    for key in obj.keys() {
        if ![INPUT_START_TIMESTAMP, INPUT_ID, INPUT_PAYLOAD].contains(&key.as_str()) {
            return Err(format!(
                "unknown field {key:?} (allowed: StartTimestamp, Id, Payload)"
            ));
        }
    }
    let start_timestamp = obj
        .get(INPUT_START_TIMESTAMP)
        .ok_or("StartTimestamp is required")?
        .as_str()
        .filter(|t| valid_timestamp(t))
        .ok_or("StartTimestamp must be an RFC 3339 timestamp in UTC, e.g. 2030-01-01T00:00:00Z")?
        .to_string();
    let id = match obj.get(INPUT_ID) {
        None => None,
        Some(v) => Some(
            v.as_str()
                .filter(|id| valid_id(id))
                .ok_or("Id must be 1 to 80 letters, digits, '-' or '_'")?
                .to_string(),
        ),
    };
    let payload = match obj.get(INPUT_PAYLOAD) {
        None => None,
        Some(p) if p.is_object() => Some(p.clone()),
        Some(_) => return Err("Payload must be a JSON object".into()),
    };
    Ok(JobBody {
        id,
        start_timestamp,
        payload,
    })
}

/// The page token of GET /status: the same form as the deployed API's (`core::page_token`).
pub fn encode_token(id: &str) -> String {
    crate::core::page_token::encode(id)
}

pub fn decode_token(token: &str) -> Option<String> {
    crate::core::page_token::decode(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked_like_the_api_model() {
        let ok = parse_job_body(br#"{"StartTimestamp": "2030-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(
            ok.execution_input(),
            json!({"StartTimestamp": "2030-01-01T00:00:00Z"})
        );
        let full = parse_job_body(
            br#"{"StartTimestamp": "2030-01-01T00:00:00.5Z", "Id": "a-1", "Payload": {"k": "v\"'"}}"#,
        )
        .unwrap();
        assert_eq!(full.id.as_deref(), Some("a-1"));
        assert_eq!(full.execution_input()["Payload"], json!(r#"{"k":"v\"'"}"#));
        for bad in [
            &br#"{}"#[..],
            br#"not json"#,
            br#"[1]"#,
            br#"{"StartTimestamp": "2030-01-01T00:00:00+01:00"}"#,
            br#"{"StartTimestamp": "tomorrow"}"#,
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
    fn timestamps_and_ids() {
        assert!(valid_timestamp("2030-01-01T00:00:00Z"));
        assert!(valid_timestamp("2030-01-01T00:00:00.123Z"));
        assert!(!valid_timestamp("2030-01-01T00:00:00.Z"));
        assert!(!valid_timestamp("2030-01-01T00:00:00z"));
        assert!(!valid_timestamp("2030-1-01T00:00:00Z"));
        assert!(valid_id("A_b-9"));
        assert!(!valid_id(""));
        assert!(!valid_id(&"a".repeat(81)));
    }

    #[test]
    fn records_and_items_round_trip() {
        let (id, item) = item_from_record(
            &json!({"Id": "x", "StartActionAt": "t", "ProcessStatus": "STARTED",
            "Payload": "{\"a\":1}", "Error": null}),
        )
        .unwrap();
        assert_eq!(id, "x");
        let rec = job_from_item(&item);
        assert_eq!(rec.payload, Some(json!({"a": 1})));
        assert_eq!(rec.error, None);
        assert_eq!(
            status_entry(&item),
            json!({"Id": "x", "StartActionAt": "t", "LastUpdated": null, "ProcessStatus": "STARTED", "Error": null})
        );
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
