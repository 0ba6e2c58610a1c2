//! `waitable local exec`: one execution of any definition on the local interpreter, printed as
//! one JSON object (AWS's TestState without an account). DynamoDB tasks run against a throw-away
//! in-memory table store holding the `--table`s.

use serde_json::json;

use crate::request::LocalExecRequest;
use crate::{Error, Result};
use waitable_asl::exec::{Clock, End, run_to_end};
use waitable_asl::parse_text;
use waitable_asl::tables::MemoryTables;

pub fn run(request: &LocalExecRequest, out: &mut impl std::io::Write) -> Result<()> {
    let mut tables = MemoryTables::default();
    for (name, key) in &request.tables {
        tables.create(name, key);
    }
    let result = match parse_text(&request.definition) {
        Err(e) => json!({
            "status": "INVALID_DEFINITION",
            "error": "InvalidDefinition",
            "cause": e.to_string(),
            "statesEntered": [],
        }),
        Ok(machine) => {
            let clock = if request.virtual_clock {
                Clock::Virtual
            } else {
                Clock::Real
            };
            let mut rand = || rand_unit();
            let outcome = run_to_end(&machine, &request.execution, clock, &mut tables, &mut rand);
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
    writeln!(out, "{result}").map_err(|e| Error::failed(format!("writing the result: {e}")))?;
    if !request.exit_code {
        return Ok(());
    }
    let what = |key: &str| result[key].as_str().unwrap_or("").to_string();
    match result["status"].as_str() {
        Some("FAILED") => {
            let why: Vec<String> = [what("error"), what("cause")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            Err(Error::failed(format!(
                "the execution FAILED: {}",
                why.join(": ")
            )))
        }
        Some("INVALID_DEFINITION") => Err(Error::usage(format!(
            "the definition is invalid: {}",
            what("cause")
        ))),
        _ => Ok(()),
    }
}

/// A number in [0, 1) for Retry's full jitter.
fn rand_unit() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}
