//! The global flags turned into a checked configuration, once (ripgrep's low-level/high-level
//! args). Knows no target: the aws connection is handed to `aws` by `commands`.

use crate::cli::{AwsArgs, GlobalArgs, OutputFormat, Target};
use crate::output::Ui;
use crate::stack_name::StackName;
use crate::{Error, Result};
use waitable_core::time_input::TimeContext;
use waitable_core::time_zone::{TimeZone, zone};

/// Everything a command needs to know about how it was invoked, already validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub stack_name: StackName,
    pub target: Target,
    /// Where the aws target's calls go (`--profile`, `--region`, `--endpoint-url`).
    pub aws: AwsArgs,
    pub output: OutputFormat,
    pub ui: Ui,
    /// The zone for typed times without one: `--tz`, `--local`, else `TZ`.
    pub input_tz: Option<TimeZone>,
    /// The zone times are shown in: `--tz` or `--local` only (UTC otherwise, for scripts).
    pub display_tz: Option<TimeZone>,
}

impl Config {
    pub fn from_cli(args: &GlobalArgs) -> Result<Self> {
        let display_tz = match (&args.tz, args.local) {
            (Some(name), _) => Some(zone(name).map_err(|e| Error::usage(e.to_string()))?),
            (None, true) => Some(TimeZone::system()),
            (None, false) => None,
        };
        // TZ may also be a path or a rule jiff's system lookup understands.
        let input_tz = display_tz.clone().or_else(|| {
            let tz = std::env::var("TZ").ok().filter(|v| !v.is_empty())?;
            zone(&tz).ok().or_else(|| TimeZone::try_system().ok())
        });
        Ok(Config {
            input_tz,
            display_tz,
            stack_name: args.stack_name.parse().map_err(Error::usage)?,
            target: args.target,
            aws: args.aws.clone(),
            output: args.output,
            ui: Ui::detect(args.quiet, args.yes),
        })
    }

    /// The clock and zone typed times are read against.
    pub fn time_context(&self, now: chrono::DateTime<chrono::Utc>) -> TimeContext {
        TimeContext {
            now,
            tz: self.input_tz.clone(),
        }
    }

    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }
}
