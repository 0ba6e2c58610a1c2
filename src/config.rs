//! Raw flags turned into a checked configuration, once (ripgrep's low-level/high-level args).

use crate::aws::sdk::AwsConnection;
use crate::cli::{GlobalArgs, OutputFormat, Target};
use crate::output::Ui;
use crate::{Error, Result};

/// Everything a command needs to know about how it was invoked, already validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub stack_name: String,
    pub target: Target,
    /// Where the aws target's calls go.
    pub aws: AwsConnection,
    pub output: OutputFormat,
    pub ui: Ui,
}

impl Config {
    pub fn from_cli(args: &GlobalArgs) -> Result<Self> {
        validate_stack_name(&args.stack_name)?;
        Ok(Config {
            stack_name: args.stack_name.clone(),
            target: args.target,
            aws: AwsConnection {
                profile: args.aws.profile.clone(),
                region: args.aws.region.clone(),
                endpoint_url: args.aws.endpoint_url.clone(),
                debug: args.aws.debug,
            },
            output: args.output,
            ui: Ui::detect(args.quiet, args.yes),
        })
    }

    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }
}

/// CloudFormation's rule for stack names: a letter, then letters, digits and hyphens, 128 at most.
pub fn validate_stack_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = name.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid stack name {name:?}: use a letter followed by letters, digits or hyphens (at most 128)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_follow_cloudformation_rules() {
        for good in ["waitable", "a", "my-stack-2"] {
            assert!(validate_stack_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(129);
        for bad in ["", "1abc", "-x", "has_underscore", "sp ace", long.as_str()] {
            assert!(validate_stack_name(bad).is_err(), "{bad}");
        }
    }
}
