//! The global flags turned into a checked configuration, once (ripgrep's low-level/high-level
//! args). Knows no target: the aws connection is handed to `aws` by `commands`.

use crate::cli::{AwsArgs, GlobalArgs, OutputFormat, Target};
use crate::output::Ui;
use crate::stack_name::StackName;
use crate::{Error, Result};

/// Everything a command needs to know about how it was invoked, already validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub stack_name: StackName,
    pub target: Target,
    /// Where the aws target's calls go (`--profile`, `--region`, `--endpoint-url`).
    pub aws: AwsArgs,
    pub output: OutputFormat,
    pub ui: Ui,
}

impl Config {
    pub fn from_cli(args: &GlobalArgs) -> Result<Self> {
        Ok(Config {
            stack_name: args.stack_name.parse().map_err(Error::usage)?,
            target: args.target,
            aws: args.aws.clone(),
            output: args.output,
            ui: Ui::detect(args.quiet, args.yes),
        })
    }

    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }
}
