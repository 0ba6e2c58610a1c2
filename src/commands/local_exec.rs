//! `waitable local exec`: one execution of any definition on the local interpreter, printed as
//! one JSON object (AWS's TestState without an account). DynamoDB tasks run against a throw-away
//! in-memory table store holding the `--table`s.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::cli::LocalExecArgs;
use crate::local::asl::exec::{Clock, End, run_to_end};
use crate::local::asl::tables::MemoryTables;
use crate::local::asl::{ExecutionInfo, parse_text};
use crate::{Error, Result};

/// The state machine the execution belongs to (its name and ARN in the context object).
const STATE_MACHINE: &str = "local-exec";

pub fn run(args: &LocalExecArgs, out: &mut impl std::io::Write) -> Result<()> {
    let text = std::fs::read_to_string(&args.definition).map_err(|e| {
        Error::usage(format!(
            "cannot read --definition {}: {e}",
            args.definition.display()
        ))
    })?;
    let input: Value = serde_json::from_str(&args.input)
        .map_err(|e| Error::usage(format!("--input is not valid JSON: {e}")))?;
    let start = match &args.start {
        None => Utc::now(),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map_err(|e| Error::usage(format!("--start {t:?} is not an RFC 3339 time: {e}")))?
            .with_timezone(&Utc),
    };
    let mut tables = MemoryTables::default();
    for spec in &args.tables {
        let (name, key) = spec
            .split_once('=')
            .filter(|(n, k)| !n.is_empty() && !k.is_empty())
            .ok_or_else(|| Error::usage(format!("--table {spec:?} is not NAME=KEY")))?;
        tables.create(name, key);
    }
    let result = match parse_text(&text) {
        Err(e) => json!({
            "status": "INVALID_DEFINITION",
            "error": "InvalidDefinition",
            "cause": e.to_string(),
            "statesEntered": [],
        }),
        Ok(machine) => {
            let info = ExecutionInfo {
                arn: format!(
                    "arn:aws:states:local:000000000000:execution:{STATE_MACHINE}:{}",
                    args.name
                ),
                name: args.name.clone(),
                input,
                start_ms: start.timestamp_millis(),
                state_machine_arn: format!(
                    "arn:aws:states:local:000000000000:stateMachine:{STATE_MACHINE}"
                ),
                state_machine_name: STATE_MACHINE.into(),
            };
            let clock = if args.virtual_clock {
                Clock::Virtual
            } else {
                Clock::Real
            };
            let mut rand = || rand_unit();
            let outcome = run_to_end(&machine, &info, clock, &mut tables, &mut rand);
            let mut result = match outcome.end {
                End::Succeeded(output) => json!({"status": "SUCCEEDED", "output": output}),
                End::Failed { error, cause } => {
                    json!({"status": "FAILED", "error": error, "cause": cause})
                }
            };
            result["statesEntered"] = json!(outcome.states_entered);
            result
        }
    };
    writeln!(out, "{result}").map_err(|e| Error::failed(format!("writing the result: {e}")))
}

/// A number in [0, 1) for Retry's full jitter.
fn rand_unit() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}
