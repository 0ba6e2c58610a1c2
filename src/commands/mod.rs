//! One file per command. Commands parse nothing (they get a checked `request::Request` and
//! `config::Config`) and print through core's renderers to writers passed in.

pub mod canary;
pub mod cancel;
pub mod check;
pub mod completions;
pub mod demo;
pub mod deploy;
pub mod destroy;
pub mod local_exec;
pub mod local_run;
pub mod receive;
pub mod reconcile;
pub mod runs;
pub mod show;
pub mod stacks;
pub mod status;
pub mod submit;
pub mod synth;

use crate::Result;
use crate::backend::Backend;
use crate::cli::{AwsArgs, Target};
use crate::config::Config;
use crate::request::Request;

#[cfg(test)]
mod fake;

/// Runs one checked request. Requests that act on a stack get the backend of the chosen target.
pub async fn dispatch(request: Request, config: Config) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match request {
        Request::Synth(r) => synth::run(&r, config.target == Target::Aws, &mut stdout),
        Request::Demo => demo::run(&config).await,
        Request::Completions(shell) => completions::completions(shell, &mut stdout),
        Request::Man => completions::man(&mut stdout),
        Request::LocalRun(args) => local_run::run(&args, &config).await,
        Request::LocalExec(r) => local_exec::run(&r, &mut stdout),
        Request::Stacks => stacks::run(&config, &mut stdout).await,
        request => match config.target {
            Target::Aws => {
                let backend = crate::aws::AwsBackend::connect(
                    config.stack_name.as_str(),
                    &aws_connection(&config.aws),
                    config.ui,
                )
                .await
                .map_err(|e| local_stack_hint(e, config.stack_name.as_str()))?;
                on_stack(request, &backend, &config, &mut stdout).await
            }
            Target::Local => {
                let backend =
                    crate::local::LocalBackend::open(config.stack_name.as_str(), config.ui)?;
                on_stack(request, &backend, &config, &mut stdout).await
            }
        },
    }
}

/// The aws target refused for want of a region, and a local stack of that name exists: the
/// user most likely meant it, so the error names `--target local`.
fn local_stack_hint(err: crate::Error, stack: &str) -> crate::Error {
    let local = crate::local::state::home()
        .is_ok_and(|home| crate::local::state::StackDir::new(&home, stack).exists());
    if local && err.exit_code() == 2 && err.to_string() == crate::aws::sdk::NO_REGION {
        return crate::Error::usage(format!(
            "{}; a local stack {stack} exists on this machine: for it, pass --target local (or set WAITABLE_TARGET=local)",
            crate::aws::sdk::NO_REGION
        ));
    }
    err
}

/// The aws target's connection settings from the global flags.
/// Job `id` of the stack, or the one error every command gives for a missing one (exit 1).
pub(crate) async fn existing_job<B: crate::backend::Backend>(
    backend: &B,
    id: &str,
    config: &crate::config::Config,
) -> Result<waitable_core::job::JobRecord> {
    backend
        .job(id)
        .await?
        .ok_or_else(|| crate::Error::failed(format!("no job {id} in stack {}", config.stack_name)))
}

pub(crate) fn aws_connection(args: &AwsArgs) -> crate::aws::sdk::AwsConnection {
    crate::aws::sdk::AwsConnection {
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
        debug: args.debug,
    }
}

async fn on_stack<B: Backend>(
    request: Request,
    backend: &B,
    config: &Config,
    out: &mut impl std::io::Write,
) -> Result<()> {
    match request {
        Request::Deploy(r) => deploy::run(backend, &r, config, out).await,
        Request::Submit(r) => submit::run(backend, &r, config, out).await,
        Request::Status(r) => status::run(backend, &r, config, out).await,
        Request::Cancel(r) => cancel::run(backend, &r, config, out).await,
        Request::Show(r) => show::run(backend, &r, config, out).await,
        Request::Run(r) => runs::run(backend, &r, config, out).await,
        Request::Receive(r) => receive::run(backend, &r, config, out).await.map(|_| ()),
        Request::Destroy => destroy::run(backend, config, out).await,
        Request::Check(r) => check::run(backend, &r, config, out).await,
        Request::Reconcile(r) => reconcile::run(backend, &r, config, out).await,
        Request::Synth(_)
        | Request::Demo
        | Request::LocalRun(_)
        | Request::LocalExec(_)
        | Request::Stacks
        | Request::Completions(_)
        | Request::Man => {
            unreachable!("handled by dispatch")
        }
    }
}
