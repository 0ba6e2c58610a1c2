//! `check --webhook`: how Step Functions really sends the webhook's body, asked of AWS itself.
//!
//! The state that POSTs to the webhook passes the message as a string `RequestBody` (built by
//! `States.Format`, so the payload's bytes arrive untouched). The Step Functions guide ("Call
//! HTTPS APIs") lists `RequestBody` as a JSON object or a string, and does not say whether a
//! string is sent as it is or JSON-encoded (as a quoted JSON string); no emulator runs HTTP
//! Tasks as AWS does. The TestState API with `inspectionLevel: TRACE` runs one state for real
//! and answers with the HTTP request it sent (`inspectionData.request.body`, TestState API
//! reference), so the check runs the stack's own webhook state once and reads the body back.
//!
//! Pure: the state data and context the state is tested with, and what the body sent was.

use serde_json::{Value, json};

use super::message::{self, CLOSE_BRACE_PATH, FIRED_AT_PATH, OPEN_BRACE_PATH, PAYLOAD_PATH};
use crate::job::INPUT_START_TIMESTAMP;

/// The payload of the probe's message, so the webhook's owner can tell it from a job.
pub const PAYLOAD: &str = r#"{"waitableWebhookCheck":true}"#;

/// The probe's message fields: its Id (the execution name the state reads from the context),
/// the due time and the firing time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub id: String,
    pub start_action_at: String,
    pub fired_at: String,
}

impl Probe {
    /// The state data the webhook state reads, as the claim leaves it for a job with
    /// [`PAYLOAD`].
    pub fn state_input(&self) -> Value {
        let mut input = json!({
            INPUT_START_TIMESTAMP: self.start_action_at,
        });
        set_path(&mut input, PAYLOAD_PATH, json!(PAYLOAD));
        set_path(&mut input, FIRED_AT_PATH, json!(self.fired_at));
        set_path(&mut input, OPEN_BRACE_PATH, json!("{"));
        set_path(&mut input, CLOSE_BRACE_PATH, json!("}"));
        input
    }

    /// The context object (`$$`) the state reads its Id from.
    pub fn context(&self) -> Value {
        json!({ "Execution": { "Name": self.id }, "State": { "EnteredTime": self.fired_at } })
    }

    /// The message a webhook should receive for this probe, byte for byte.
    pub fn message(&self) -> String {
        message::message(
            &self.id,
            &self.start_action_at,
            &self.fired_at,
            Some(PAYLOAD),
        )
    }
}

/// Sets `$.a.b` in `data`, making the objects on the way.
fn set_path(data: &mut Value, path: &str, value: Value) {
    let mut at = data;
    let keys: Vec<&str> = path.trim_start_matches("$.").split('.').collect();
    for key in &keys[..keys.len() - 1] {
        at = at
            .as_object_mut()
            .expect("the probe's data is objects all the way")
            .entry(key.to_string())
            .or_insert_with(|| json!({}));
    }
    at[keys[keys.len() - 1]] = value;
}

/// How the body Step Functions sent relates to the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentBody {
    /// The message itself, byte for byte: what the README promises a webhook.
    AsIs,
    /// The message as a JSON string (`"{\"Id\":…}"`): a receiver would have to decode twice.
    JsonEncoded,
    /// Something else (shown as it was, shortened).
    Other(String),
}

/// What `sent` (the request body TestState reports) is, for the message `expected`.
pub fn classify(sent: &str, expected: &str) -> SentBody {
    if sent == expected {
        return SentBody::AsIs;
    }
    match serde_json::from_str::<Value>(sent) {
        Ok(Value::String(inner)) if inner == expected => SentBody::JsonEncoded,
        _ => SentBody::Other(shorten(sent, 200)),
    }
}

fn shorten(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use waitable_asl::intrinsic::states_format;

    fn probe() -> Probe {
        Probe {
            id: "waitable-check-1".into(),
            start_action_at: "2030-01-01T00:00:00Z".into(),
            fired_at: "2030-01-01T00:00:00.120Z".into(),
        }
    }

    #[test]
    fn the_state_input_renders_the_probes_message_through_the_states_own_format() {
        let p = probe();
        let input = p.state_input();
        // The arguments `message::expression` passes, read from this data and context.
        let args = [
            input["Fired"]["Open"].as_str().unwrap(),
            p.context()["Execution"]["Name"].as_str().unwrap(),
            input[INPUT_START_TIMESTAMP].as_str().unwrap(),
            input["Fired"]["At"].as_str().unwrap(),
            input["Payload"].as_str().unwrap(),
            input["Fired"]["Close"].as_str().unwrap(),
        ]
        .map(String::from);
        assert_eq!(states_format(message::FORMAT, &args).unwrap(), p.message());
        assert!(p.message().contains(PAYLOAD));
    }

    #[test]
    fn a_body_is_the_message_as_is_json_encoded_or_something_else() {
        let m = probe().message();
        assert_eq!(classify(&m, &m), SentBody::AsIs);
        let encoded = Value::String(m.clone()).to_string();
        assert_eq!(classify(&encoded, &m), SentBody::JsonEncoded);
        assert_eq!(
            classify("id=waitable-check-1", &m),
            SentBody::Other("id=waitable-check-1".into())
        );
        let long = "x".repeat(300);
        assert_eq!(
            classify(&long, &m),
            SentBody::Other(format!("{}...", "x".repeat(200)))
        );
        // The same fields re-serialised (spacing, key order) are not the message as is.
        let reparsed: Value = serde_json::from_str(&m).unwrap();
        assert!(matches!(
            classify(&serde_json::to_string_pretty(&reparsed).unwrap(), &m),
            SentBody::Other(_)
        ));
    }
}
