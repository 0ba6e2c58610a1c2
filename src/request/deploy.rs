//! `deploy`'s and `synth`'s flags, checked: what the stack is made of.

use std::path::PathBuf;

use crate::cli::{DeployArgs, StackArgs, SynthArgs, TemplateFormat};
use crate::{Error, Result};
use waitable_core::delivery::{self, Deliveries};
use waitable_core::template::StackOptions;

/// What the stack is made of (`--no-auth`, `--deliver`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackSpec {
    pub options: StackOptions,
    /// The `--deliver` targets; `None` when none was given (a deploy keeps the stack's).
    pub deliver: Option<Deliveries>,
}

impl StackSpec {
    pub fn from_args(args: &StackArgs) -> Result<Self> {
        Ok(StackSpec {
            options: StackOptions {
                iam_auth: !args.no_auth,
            },
            deliver: Deliveries::parse(&args.deliver)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub stack: StackSpec,
    /// `--parameter KEY=VALUE`, split, each key once (checked against the template by deploy,
    /// which builds it).
    pub parameters: Vec<(String, String)>,
    /// `--webhook-header NAME=VALUE`, split and checked.
    pub webhook_header: Option<(String, String)>,
    pub allow_replace: bool,
}

impl DeployRequest {
    pub fn from_args(args: &DeployArgs) -> Result<Self> {
        let mut parameters: Vec<(String, String)> = Vec::new();
        for flag in &args.parameters {
            let Some((key, value)) = flag.split_once('=') else {
                return Err(Error::usage(format!(
                    "--parameter {flag:?} is not KEY=VALUE (e.g. --parameter StageName=dev)"
                )));
            };
            if parameters.iter().any(|(k, _)| k == key) {
                return Err(Error::usage(format!("--parameter {key} is given twice")));
            }
            parameters.push((key.to_string(), value.to_string()));
        }
        Ok(DeployRequest {
            stack: StackSpec::from_args(&args.stack)?,
            parameters,
            webhook_header: args
                .webhook_header
                .as_deref()
                .map(delivery::parse_header)
                .transpose()?,
            allow_replace: args.allow_replace,
        })
    }
}

#[derive(Debug, Clone)]
pub struct SynthRequest {
    pub format: TemplateFormat,
    /// Write the checked-in files of the default stack under this directory.
    pub out: Option<PathBuf>,
    pub options: StackOptions,
    pub deliveries: Deliveries,
}

impl SynthRequest {
    pub fn from_args(args: &SynthArgs) -> Result<Self> {
        if args.out.is_some() && !args.stack.deliver.is_empty() {
            return Err(Error::usage(
                "--out writes the checked-in files of the default stack: use --deliver without --out",
            ));
        }
        let stack = StackSpec::from_args(&args.stack)?;
        Ok(SynthRequest {
            format: args.format,
            out: args.out.clone(),
            options: stack.options,
            deliveries: stack.deliver.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(parameters: &[&str], header: Option<&str>) -> DeployArgs {
        DeployArgs {
            parameters: parameters.iter().map(|s| s.to_string()).collect(),
            webhook_header: header.map(str::to_string),
            allow_replace: false,
            stack: StackArgs {
                no_auth: false,
                deliver: vec![],
            },
        }
    }

    #[test]
    fn parameters_are_split_once_and_given_once() {
        let ok = DeployRequest::from_args(&args(&["StageName=a=b"], None)).unwrap();
        assert_eq!(ok.parameters, [("StageName".into(), "a=b".into())]);
        assert_eq!(ok.stack.deliver, None);
        for bad in [&["StageName"][..], &["StageName=a", "StageName=b"]] {
            let err = DeployRequest::from_args(&args(bad, None)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
        let err = DeployRequest::from_args(&args(&[], Some("Bad Name=v"))).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn synth_out_takes_no_deliveries() {
        let synth = |out: Option<&str>, deliver: &[&str]| SynthArgs {
            format: TemplateFormat::Yaml,
            out: out.map(PathBuf::from),
            stack: StackArgs {
                no_auth: true,
                deliver: deliver.iter().map(|s| s.to_string()).collect(),
            },
        };
        let err = SynthRequest::from_args(&synth(Some("dir"), &["queue"])).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let ok = SynthRequest::from_args(&synth(None, &["queue"])).unwrap();
        assert!(ok.deliveries.has("queue") && !ok.options.iam_auth);
        let err = SynthRequest::from_args(&synth(None, &["carrier-pigeon"])).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
