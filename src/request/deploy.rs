//! `deploy`'s and `synth`'s flags, checked: what the stack is made of.

use std::path::PathBuf;

use crate::cli::{DeployArgs, StackArgs, SynthArgs, TemplateFormat};
use crate::{Error, Result};
use waitable_core::delivery::{self, Deliveries};
use waitable_core::stack_spec::StackSpec;

/// What the flags say the stack is made of (`--no-auth`, `--deliver`); deploy completes it
/// into a [`StackSpec`] with the targets the stack already has when `--deliver` is absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackFlags {
    pub iam_auth: bool,
    /// The `--deliver` targets; `None` when none was given (a deploy keeps the stack's).
    pub deliver: Option<Deliveries>,
}

impl Default for StackFlags {
    fn default() -> Self {
        StackFlags {
            iam_auth: true,
            deliver: None,
        }
    }
}

impl StackFlags {
    pub fn from_args(args: &StackArgs) -> Result<Self> {
        Ok(StackFlags {
            iam_auth: !args.no_auth,
            deliver: Deliveries::parse(&args.deliver)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub stack: StackFlags,
    /// `--parameter KEY=VALUE`, split, each key once (checked against the template by deploy,
    /// which builds it).
    pub parameters: Vec<(String, String)>,
    /// `--webhook-header NAME=VALUE`, split and checked.
    pub webhook_header: Option<(String, String)>,
    pub allow_replace: bool,
    /// `--canary`: one real job end to end after the deploy.
    pub canary: bool,
    /// `--upload-template`: through the artifacts bucket even when it fits inline.
    pub upload_template: bool,
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
            stack: StackFlags::from_args(&args.stack)?,
            parameters,
            webhook_header: args
                .webhook_header
                .as_deref()
                .map(delivery::parse_header)
                .transpose()?,
            allow_replace: args.allow_replace,
            canary: args.canary,
            upload_template: args.upload_template,
        })
    }
}

#[derive(Debug, Clone)]
pub struct SynthRequest {
    pub format: TemplateFormat,
    /// Write the checked-in files of every variant under this directory.
    pub out: Option<PathBuf>,
    pub spec: StackSpec,
}

impl SynthRequest {
    pub fn from_args(args: &SynthArgs) -> Result<Self> {
        if args.out.is_some() && !args.stack.deliver.is_empty() {
            return Err(Error::usage(
                "--out writes the checked-in files of every variant: use --deliver without --out",
            ));
        }
        let stack = StackFlags::from_args(&args.stack)?;
        Ok(SynthRequest {
            format: args.format,
            out: args.out.clone(),
            spec: StackSpec {
                iam_auth: stack.iam_auth,
                deliveries: stack.deliver.unwrap_or_default(),
            },
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
            canary: false,
            upload_template: false,
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
        assert!(ok.spec.deliveries.has("queue") && !ok.spec.iam_auth);
        let err = SynthRequest::from_args(&synth(None, &["carrier-pigeon"])).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
