//! The payload rule: a job's `Payload` is a JSON object, on both targets and in the API model
//! (`"type": "object"`). Anything else is refused before anything is sent (exit 2).

use serde_json::Value;

/// The API model's JSON Schema type for `Payload`.
pub const PAYLOAD_SCHEMA_TYPE: &str = "object";

/// What a non-object payload is called in the error ("a string", "a number", ...).
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks a parsed payload against the payload rule.
pub fn check_payload(payload: &Value) -> Result<(), String> {
    if payload.is_object() {
        Ok(())
    } else {
        Err(format!(
            "the payload must be a JSON object ({{...}}), not {}",
            kind(payload)
        ))
    }
}

/// Parses `--payload` text (or a payload file's contents) and checks it.
pub fn parse_payload(text: &str) -> Result<Value, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("the payload is not valid JSON: {e}"))?;
    check_payload(&v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_objects_are_payloads() {
        assert_eq!(parse_payload(r#"{"a":1}"#).unwrap(), json!({"a": 1}));
        assert_eq!(parse_payload("{}").unwrap(), json!({}));
        for (text, said) in [
            (r#""text""#, "a string"),
            ("42", "a number"),
            ("[1,2]", "an array"),
            ("null", "null"),
            ("true", "a boolean"),
        ] {
            let err = parse_payload(text).unwrap_err();
            assert!(
                err.contains("JSON object") && err.contains(said),
                "{text}: {err}"
            );
        }
        assert!(
            parse_payload("{a:1}")
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(parse_payload("").is_err());
    }
}
