//! `local exec`'s flags, checked: the definition's text, the input, who the execution is and
//! when it starts, and the tables that exist.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::cli::LocalExecArgs;
use crate::{Error, Result};
use waitable_asl::ExecutionInfo;
use waitable_core::arn;

/// The state machine the execution belongs to (its name and ARN in the context object).
const STATE_MACHINE: &str = "local-exec";

#[derive(Debug, Clone)]
pub struct LocalExecRequest {
    /// The definition as read (an invalid one is reported as a result, not a usage error).
    pub definition: String,
    /// The execution: its names and ARNs, input and start time.
    pub execution: ExecutionInfo,
    pub virtual_clock: bool,
    /// Tables that exist: (name, partition key attribute).
    pub tables: Vec<(String, String)>,
    /// `--exit-code`: FAILED exits 1, INVALID_DEFINITION 2.
    pub exit_code: bool,
}

impl LocalExecRequest {
    pub fn from_args(args: &LocalExecArgs, now: DateTime<Utc>) -> Result<Self> {
        let definition = std::fs::read_to_string(&args.definition).map_err(|e| {
            Error::usage(format!(
                "cannot read --definition {}: {e}",
                args.definition.display()
            ))
        })?;
        let input: Value = serde_json::from_str(&args.input)
            .map_err(|e| Error::usage(format!("--input is not valid JSON: {e}")))?;
        let start = match &args.start {
            None => now,
            Some(t) => DateTime::parse_from_rfc3339(t)
                .map_err(|e| Error::usage(format!("--start {t:?} is not an RFC 3339 time: {e}")))?
                .with_timezone(&Utc),
        };
        let tables = args
            .tables
            .iter()
            .map(|spec| {
                spec.split_once('=')
                    .filter(|(n, k)| !n.is_empty() && !k.is_empty())
                    .map(|(n, k)| (n.to_string(), k.to_string()))
                    .ok_or_else(|| Error::usage(format!("--table {spec:?} is not NAME=KEY")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(LocalExecRequest {
            definition,
            execution: ExecutionInfo {
                input,
                start_ms: start.timestamp_millis(),
                ..identity(args)?
            },
            virtual_clock: args.virtual_clock,
            tables,
            exit_code: args.exit_code,
        })
    }
}

/// The execution's and its state machine's names and ARNs, from `--execution-arn` or
/// `--name` (input and start are filled in by the caller).
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
