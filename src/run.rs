//! The front door's logic: parse, run one command on a runtime, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

use crate::{Error, Result, cli, commands, config, output, request};

/// Parses the command line, runs the command and maps the outcome to an exit code.
///
/// Kept here (not in `main.rs`) so the binary stays a three-line front door.
pub fn main_entry() -> ExitCode {
    let cli = cli::Cli::parse();
    let code = match run(cli) {
        Ok(()) => 0,
        Err(err) if err.is_broken_pipe() => 0,
        // The user pressed Ctrl-C: nothing to explain.
        Err(err @ Error::Interrupted(_)) => err.exit_code(),
        Err(err) => {
            output::error_line(&err);
            err.exit_code()
        }
    };
    ExitCode::from(code)
}

/// Runs one parsed command line to completion.
pub fn run(cli: cli::Cli) -> Result<()> {
    let config = config::Config::from_cli(&cli.global)?;
    let request = request::Request::from_cli(cli.command, config.time_context(chrono::Utc::now()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(anyhow::Error::new(e).context("starting the async runtime")))?;
    runtime.block_on(commands::dispatch(request, config))
}
