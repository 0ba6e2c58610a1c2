//! The one message every target gets: `{"Id","StartActionAt","FiredAt","Payload"}`.
//!
//! The state machine builds it with `States.Format`, inserting the payload's JSON text as it
//! is: the Payload arrives exactly as submitted (same bytes, numbers untouched), where parsing
//! and re-serialising it would not. A job without a payload gets `"Payload":null`.

use crate::job::INPUT_START_TIMESTAMP;
use crate::state_machine::later::RUN_ID_PATH;

/// Where the state machine keeps the moment the job fired and the two braces of the message
/// (set by the claim, see [`super::states`]), and the payload text (`"null"` when none was
/// given).
pub const FIRED_AT_PATH: &str = "$.Fired.At";
pub const OPEN_BRACE_PATH: &str = "$.Fired.Open";
pub const CLOSE_BRACE_PATH: &str = "$.Fired.Close";
pub const PAYLOAD_PATH: &str = "$.Payload";

/// The `States.Format` template of the message. The outer braces come in as arguments, so the
/// template holds no escaped `\{`: emulators built on Python's `str.format` (moto) read it as
/// AWS does.
pub const FORMAT: &str = r#"{}"Id":"{}","StartActionAt":"{}","FiredAt":"{}","Payload":{}{}"#;

/// The intrinsic that builds the message from the execution's data.
pub fn expression() -> String {
    format!(
        "States.Format('{FORMAT}', {OPEN_BRACE_PATH}, {RUN_ID_PATH}, $.{INPUT_START_TIMESTAMP}, {FIRED_AT_PATH}, {PAYLOAD_PATH}, {CLOSE_BRACE_PATH})"
    )
}

/// The message for these values, as [`expression`] renders it (the Id and timestamps hold no
/// character that needs escaping: execution names exclude `"` and `\`).
pub fn message(id: &str, start_action_at: &str, fired_at: &str, payload: Option<&str>) -> String {
    let payload = payload.unwrap_or("null");
    format!(
        r#"{{"Id":"{id}","StartActionAt":"{start_action_at}","FiredAt":"{fired_at}","Payload":{payload}}}"#
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use waitable_asl::intrinsic::states_format;

    #[test]
    fn the_message_has_exactly_the_four_fields_and_the_payload_bytes() {
        let payload = r#"{"n":12345678901234567890123,"x":1e2,"s":"a\"b"}"#;
        let text = message(
            "job-1",
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:00:00.120Z",
            Some(payload),
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["Id", "StartActionAt", "FiredAt", "Payload"]);
        // Byte for byte: the payload's text sits in the message unchanged.
        assert!(
            text.ends_with(&format!(r#""Payload":{payload}}}"#)),
            "{text}"
        );
        let none = message("j", "t", "f", None);
        assert_eq!(
            serde_json::from_str::<Value>(&none).unwrap()["Payload"],
            json!(null)
        );
    }

    #[test]
    fn states_format_of_the_template_gives_the_same_message() {
        let args = [
            "{",
            "j",
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:00:01Z",
            r#"{"a":[1,{}]}"#,
            "}",
        ]
        .map(String::from);
        assert_eq!(
            states_format(FORMAT, &args).unwrap(),
            message(&args[1], &args[2], &args[3], Some(&args[4]))
        );
        assert_eq!(states_format(FORMAT, &args[..3]), None);
        assert_eq!(states_format("{}", &["a".into(), "b".into()]), None);
        assert_eq!(states_format(r"a\'b\\c", &[]).unwrap(), r"a'b\c");
    }

    #[test]
    fn the_expression_names_the_execution_the_timestamp_and_the_payload() {
        let e = expression();
        assert!(e.starts_with("States.Format('{}\"Id\""), "{e}");
        assert!(!e.contains('\\'), "no escapes: {e}");
        assert!(
            e.ends_with(
                ", $.Fired.Open, $.Run.Id, $.StartTimestamp, $.Fired.At, $.Payload, $.Fired.Close)"
            ),
            "{e}"
        );
    }

    #[test]
    fn the_message_expression_renders_the_message() {
        let f = waitable_asl::intrinsic::Format::parse(&expression()).unwrap();
        let input = json!({
            "StartTimestamp": "2030-01-01T00:00:00Z",
            "Payload": "{\"n\":1e2,\"s\":\"it's {}\"}",
            "Run": { "Id": "job-1", "Number": "1" },
            "Fired": { "At": "2030-01-01T00:00:00.005Z", "Open": "{", "Close": "}" }
        });
        let ctx = waitable_asl::Ctx::of(json!({ "Execution": { "Name": "job-1" } }));
        let text = f.eval(&input, &ctx).unwrap();
        assert_eq!(
            text,
            message(
                "job-1",
                "2030-01-01T00:00:00Z",
                "2030-01-01T00:00:00.005Z",
                Some("{\"n\":1e2,\"s\":\"it's {}\"}")
            )
        );
    }
}
