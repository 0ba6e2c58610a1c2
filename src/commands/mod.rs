//! One file per command. Commands parse nothing (the config is already checked) and print
//! through core's renderers to writers passed in.

pub mod cancel;
pub mod check;
pub mod demo;
pub mod deploy;
pub mod destroy;
pub mod local_exec;
pub mod local_run;
pub mod receive;
pub mod show;
pub mod status;
pub mod submit;
pub mod synth;

use crate::Result;
use crate::backend::Backend;
use crate::cli::{Command, LocalCommand, Target};
use crate::config::Config;

/// Runs one command. Commands that act on a stack get the backend of the chosen target.
pub async fn dispatch(command: Command, config: Config) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match command {
        Command::Synth(args) => synth::run(&args, &mut stdout),
        Command::Demo => demo::run(&config).await,
        Command::Local(LocalCommand::Run(args)) => local_run::run(&args, &config).await,
        Command::Receive(args) => match config.target {
            Target::Aws => {
                let inbox = receive::SqsInbox::connect(&config).await?;
                receive::run(&inbox, &args, &config, &mut stdout)
                    .await
                    .map(|_| ())
            }
            Target::Local => {
                let inbox = receive::LocalInbox::open(&config).await?;
                receive::run(&inbox, &args, &config, &mut stdout)
                    .await
                    .map(|_| ())
            }
        },
        Command::Local(LocalCommand::Exec(args)) => local_exec::run(&args, &mut stdout),
        command => match config.target {
            Target::Aws => {
                let backend =
                    crate::aws::AwsBackend::connect(&config.stack_name, &config.aws, config.ui)
                        .await?;
                on_stack(command, &backend, &config, &mut stdout).await
            }
            Target::Local => {
                let backend = crate::local::LocalBackend::open(&config.stack_name, config.ui)?;
                on_stack(command, &backend, &config, &mut stdout).await
            }
        },
    }
}

async fn on_stack<B: Backend>(
    command: Command,
    backend: &B,
    config: &Config,
    out: &mut impl std::io::Write,
) -> Result<()> {
    match command {
        Command::Deploy(args) => deploy::run(backend, &args, config, out).await,
        Command::Submit(args) => submit::run(backend, &args, config, out).await,
        Command::Status(args) => status::run(backend, &args, config, out).await,
        Command::Cancel(args) => cancel::run(backend, &args, config, out).await,
        Command::Show(args) => show::run(backend, &args, config, out).await,
        Command::Destroy => destroy::run(backend, config, out).await,
        Command::Check => check::run(backend, config, out).await,
        Command::Synth(_) | Command::Demo | Command::Local(_) | Command::Receive(_) => {
            unreachable!("handled by dispatch")
        }
    }
}
