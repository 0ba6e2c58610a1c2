//! How big each state's data gets in the generated state machine, for a given execution
//! input: the input itself (Choice, Wait), each Task's parameters as Step Functions builds
//! them, and the input with a caught error at `$.Failure`. It measures the machine against the
//! contract's [`STATE_OVERHEAD_BYTES`](super::limits::STATE_OVERHEAD_BYTES), so the one limit
//! on the input ([`MAX_INPUT_BYTES`](super::limits::MAX_INPUT_BYTES)) keeps every state within
//! Step Functions' 256 KiB.

use serde_json::{Map, Value};

use super::state_machine::FAILURE_PATH;

/// The longest values the context object and the stack can give (each at its limit).
pub struct Worst {
    /// Execution name: the job Id, at most 80 characters.
    pub execution_name: String,
    /// `$$.State.EnteredTime`, e.g. `2030-01-01T00:00:00.000Z`.
    pub entered_time: String,
    /// A DynamoDB table name: at most 255 characters.
    pub table_name: String,
    /// A caught error's name and cause (a Cause runs up to 32,768 characters).
    pub error: String,
    pub cause: String,
}

impl Default for Worst {
    fn default() -> Self {
        Worst {
            execution_name: "i".repeat(super::limits::MAX_ID_LEN),
            entered_time: "2030-01-01T00:00:00.000Z".into(),
            table_name: "t".repeat(255),
            error: "E".repeat(256),
            cause: "c".repeat(32_768),
        }
    }
}

/// Size in bytes of the largest state data the machine `definition` produces for `input`.
pub fn largest_state_data(definition: &Value, input: &Value, worst: &Worst) -> usize {
    let failure_field = FAILURE_PATH.trim_start_matches("$.");
    let mut caught = input.clone();
    caught[failure_field] = serde_json::json!({ "Error": worst.error, "Cause": worst.cause });
    let mut sizes = vec![input.to_string().len(), caught.to_string().len()];
    for state in definition["States"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, s)| s)
    {
        if let Some(params) = state.get("Parameters") {
            // A task after a caught error sees the failure too.
            for data in [input, &caught] {
                sizes.push(resolve(params, data, worst).to_string().len());
            }
        }
    }
    sizes.into_iter().max().unwrap_or(0)
}

/// Parameters as Step Functions fills them: `"K.$": path` becomes `"K": value`.
fn resolve(params: &Value, input: &Value, worst: &Worst) -> Value {
    match params {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                match (k.strip_suffix(".$"), v.as_str()) {
                    (Some(key), Some(path)) => {
                        out.insert(key.to_string(), lookup(path, input, worst));
                    }
                    _ => {
                        out.insert(k.clone(), resolve(v, input, worst));
                    }
                }
            }
            Value::Object(out)
        }
        Value::String(s) => Value::String(s.replace("${TableName}", &worst.table_name)),
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve(v, input, worst)).collect()),
        other => other.clone(),
    }
}

fn lookup(path: &str, input: &Value, worst: &Worst) -> Value {
    if let Some(call) = path.strip_prefix("States.Format('") {
        return format_intrinsic(call, input, worst);
    }
    match path {
        "$$.Execution.Name" => Value::String(worst.execution_name.clone()),
        "$$.State.EnteredTime" => Value::String(worst.entered_time.clone()),
        _ => path
            .trim_start_matches('$')
            .split('.')
            .filter(|p| !p.is_empty())
            .fold(input.clone(), |v, key| {
                v.get(key).cloned().unwrap_or(Value::Null)
            }),
    }
}

/// `States.Format('template', arg, ...)` (the rest after `States.Format('`): the template
/// with each `{}` replaced by its argument's text (a string as it is, anything else as JSON).
fn format_intrinsic(call: &str, input: &Value, worst: &Worst) -> Value {
    let (template, args) = call.split_once("', ").unwrap_or((call, ""));
    let mut out = String::new();
    let mut args = args
        .trim_end_matches(')')
        .split(", ")
        .map(|a| lookup(a.trim(), input, worst));
    let mut parts = template.split("{}");
    out.push_str(parts.next().unwrap_or_default());
    for part in parts {
        match args.next() {
            Some(Value::String(s)) => out.push_str(&s),
            Some(other) => out.push_str(&other.to_string()),
            None => {}
        }
        out.push_str(part);
    }
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{LONGEST_EXPIRY, execution_input};
    use crate::limits::{MAX_INPUT_BYTES, STATE_DATA_BYTES};

    /// An execution input of exactly `size` bytes, its payload `{"x":"xxx..."}`.
    fn input_of(size: usize) -> Value {
        let empty = execution_input("2030-01-01T00:00:00Z", Some(r#"{"x":""}"#), LONGEST_EXPIRY);
        let fill = size - empty.to_string().len();
        let payload = format!(r#"{{"x":"{}"}}"#, "x".repeat(fill));
        let input = execution_input("2030-01-01T00:00:00Z", Some(&payload), LONGEST_EXPIRY);
        assert_eq!(input.to_string().len(), size);
        input
    }

    /// Every variant users deploy (no delivery, queue, webhook, all four targets).
    #[test]
    fn the_largest_accepted_input_keeps_every_state_within_256_kib() {
        for v in crate::stack_spec::variants() {
            let definition = crate::state_machine::definition(&v.spec);
            let worst = Worst::default();
            let largest = largest_state_data(&definition, &input_of(MAX_INPUT_BYTES), &worst);
            assert!(
                largest <= STATE_DATA_BYTES,
                "{}: a state holds {largest} bytes, over {STATE_DATA_BYTES}",
                v.name
            );
            // Without the reserve, the same machine would go over: the reserve is needed.
            let at_limit = largest_state_data(&definition, &input_of(STATE_DATA_BYTES), &worst);
            assert!(at_limit > STATE_DATA_BYTES, "{}: {at_limit}", v.name);
        }
    }

    #[test]
    fn the_delivery_message_carries_the_payload_once() {
        let spec = crate::stack_spec::variants().pop().unwrap().spec;
        let definition = crate::state_machine::definition(&spec);
        let input = input_of(10_000);
        let worst = Worst {
            cause: String::new(),
            ..Worst::default()
        };
        let largest = largest_state_data(&definition, &input, &worst);
        assert!(largest > 10_000 && largest < 12_000, "{largest}");
        let message = &definition["States"]["DeliverToQueue"]["Parameters"];
        let sent = resolve(message, &input, &worst).to_string().len();
        assert!(sent > 10_000 && sent < 11_000, "{sent}");
    }

    #[test]
    fn the_payload_task_carries_the_payload_once() {
        let definition = crate::state_machine::definition(&Default::default());
        let input = input_of(10_000);
        let worst = Worst {
            cause: String::new(),
            ..Worst::default()
        };
        let largest = largest_state_data(&definition, &input, &worst);
        assert!(largest > 10_000 && largest < 12_000, "{largest}");
    }
}
