//! `waitable local exec`: one execution of any definition on the local interpreter, printed as
//! one JSON object (AWS's TestState without an account). DynamoDB tasks run against a throw-away
//! in-memory table store holding the `--table`s.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::cli::LocalExecArgs;
use crate::{Error, Result};
use waitable_asl::exec::{Clock, End, run_to_end};
use waitable_asl::tables::MemoryTables;
use waitable_asl::{ExecutionInfo, parse_text};
use waitable_core::arn;

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
    let identity = identity(args)?;
    let result = match parse_text(&text) {
        Err(e) => json!({
            "status": "INVALID_DEFINITION",
            "error": "InvalidDefinition",
            "cause": e.to_string(),
            "statesEntered": [],
        }),
        Ok(machine) => {
            let info = ExecutionInfo {
                input,
                start_ms: start.timestamp_millis(),
                ..identity
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
                    // A Fail state without Error (or Cause) fails with none, as on AWS.
                    let mut failed = json!({"status": "FAILED"});
                    for (key, text) in [("error", error), ("cause", cause)] {
                        if !text.is_empty() {
                            failed[key] = json!(text);
                        }
                    }
                    failed
                }
            };
            result["statesEntered"] = json!(outcome.states_entered);
            result
        }
    };
    writeln!(out, "{result}").map_err(|e| Error::failed(format!("writing the result: {e}")))
}

/// The execution's and its state machine's names and ARNs, from `--execution-arn` or
/// `--name` (input and start are filled in later).
fn identity(args: &LocalExecArgs) -> Result<ExecutionInfo> {
    let (state_machine_arn, machine, name) = match &args.execution_arn {
        None => (
            arn::local_state_machine_arn(STATE_MACHINE),
            STATE_MACHINE.to_string(),
            args.name.clone(),
        ),
        Some(text) => {
            let parts: Vec<&str> = text.split(':').collect();
            match parts.as_slice() {
                [
                    "arn",
                    partition,
                    "states",
                    region,
                    account,
                    "execution",
                    machine,
                    name,
                ] if !machine.is_empty() && !name.is_empty() => (
                    arn::state_machine_arn(partition, region, account, machine),
                    machine.to_string(),
                    name.to_string(),
                ),
                _ => {
                    return Err(Error::usage(format!(
                        "--execution-arn {text:?} is not arn:PARTITION:states:REGION:ACCOUNT:execution:MACHINE:NAME"
                    )));
                }
            }
        }
    };
    Ok(ExecutionInfo {
        arn: arn::execution_arn(&state_machine_arn, &name).expect("built as a state machine ARN"),
        name,
        input: Value::Null,
        start_ms: 0,
        state_machine_arn,
        state_machine_name: machine,
    })
}

/// A number in [0, 1) for Retry's full jitter.
fn rand_unit() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}
