//! `waitable deploy`: synthesise the template, check the parameters, hand both to the target,
//! print the outputs.

use std::io::Write;

use anyhow::Context;
use comfy_table::{Table, presets};
use serde_json::Value;

use crate::backend::{Backend, DeployRequest};
use crate::cli::DeployArgs;
use crate::config::Config;
use crate::core::outputs::StackOutputs;
use crate::core::template::{self, StackOptions};
use crate::{Error, Result};

pub async fn run<B: Backend>(
    backend: &B,
    args: &DeployArgs,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let template = template::template(StackOptions {
        iam_auth: !args.stack.no_auth,
    });
    let parameters = parse_parameters(&args.parameters, &template)?;
    let outputs = backend
        .deploy(&DeployRequest {
            template,
            parameters,
        })
        .await?;
    write_outputs(&outputs, config.json(), out)
}

/// Checks `KEY=VALUE` flags against the template's parameters, before anything is sent.
pub fn parse_parameters(flags: &[String], template: &Value) -> Result<Vec<(String, String)>> {
    let known: Vec<&str> = template["Parameters"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut parsed: Vec<(String, String)> = Vec::new();
    for flag in flags {
        let Some((key, value)) = flag.split_once('=') else {
            return Err(Error::usage(format!(
                "--parameter {flag:?} is not KEY=VALUE (e.g. --parameter StageName=dev)"
            )));
        };
        if !known.contains(&key) {
            return Err(Error::usage(format!(
                "unknown parameter {key:?}: the template's parameters are {}",
                known.join(", ")
            )));
        }
        if parsed.iter().any(|(k, _)| k == key) {
            return Err(Error::usage(format!("--parameter {key} is given twice")));
        }
        parsed.push((key.to_string(), value.to_string()));
    }
    Ok(parsed)
}

/// The outputs as a two-column table, or as one JSON object with `--output json`.
pub fn write_outputs(outputs: &StackOutputs, json: bool, out: &mut impl Write) -> Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, outputs)?;
        writeln!(out).context("writing the outputs")?;
    } else {
        let mut table = Table::new();
        table.load_preset(presets::UTF8_BORDERS_ONLY);
        table.set_header(["Output", "Value"]);
        for (key, value) in outputs.rows() {
            table.add_row([key, value]);
        }
        writeln!(out, "{table}").context("writing the outputs")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Value {
        template::template(StackOptions::default())
    }

    #[test]
    fn parameters_are_checked_against_the_template() {
        let ok = parse_parameters(&["StageName=dev".into()], &t()).unwrap();
        assert_eq!(ok, [("StageName".to_string(), "dev".to_string())]);
        assert_eq!(
            parse_parameters(&["StageName=a=b".into()], &t()).unwrap()[0].1,
            "a=b"
        );
        for bad in [
            vec!["Stage=dev".to_string()],
            vec!["StageName".to_string()],
            vec!["StageName=a".to_string(), "StageName=b".to_string()],
        ] {
            let err = parse_parameters(&bad, &t()).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
        let err = parse_parameters(&["Nope=1".into()], &t()).unwrap_err();
        assert!(err.to_string().contains("StageName"), "{err}");
    }

    fn outputs() -> StackOutputs {
        StackOutputs {
            api_url: "https://x.execute-api.us-east-1.amazonaws.com/prod".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".into(),
            table_name: "jobs".into(),
        }
    }

    #[test]
    fn outputs_print_as_json_or_a_table() {
        let mut buf = Vec::new();
        write_outputs(&outputs(), true, &mut buf).unwrap();
        let v: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["TableName"], "jobs");
        assert_eq!(v.as_object().unwrap().len(), 3);

        let mut buf = Vec::new();
        write_outputs(&outputs(), false, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        for key in ["ApiUrl", "StateMachineArn", "TableName", "jobs"] {
            assert!(text.contains(key), "{text}");
        }
    }
}
