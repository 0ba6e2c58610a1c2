//! `waitable destroy`: confirm, cancel waiting jobs, delete the stack.

use std::io::Write;

use anyhow::Context;

use crate::backend::Backend;
use crate::config::Config;
use crate::{Error, Result};

pub async fn run<B: Backend>(backend: &B, config: &Config, out: &mut impl Write) -> Result<()> {
    let name = config.stack_name.as_str();
    let place = super::deploy::in_place(backend.location().await?);
    // Counted only when someone is asked: a stack that is not there has none.
    let waiting = if config.ui.assume_yes {
        None
    } else {
        backend.waiting_jobs().await.ok()
    };
    if !config
        .ui
        .confirm_typed(&question(&format!("{name}{place}"), waiting), name)?
    {
        return Err(Error::failed(
            "destroy cancelled: the name did not match; nothing was deleted",
        ));
    }
    let report = backend.destroy().await?;
    if report.existed {
        config.ui.info(format!(
            "deleted stack {name} (cancelled {} waiting job{})",
            report.cancelled_jobs,
            if report.cancelled_jobs == 1 { "" } else { "s" }
        ));
    } else {
        config.ui.info(format!(
            "stack {name} does not exist{place}: nothing to delete"
        ));
    }
    if config.json() {
        serde_json::to_writer(&mut *out, &report)?;
        writeln!(out).context("writing the report")?;
    }
    Ok(())
}

/// What destroy asks: with the number of waiting jobs it will cancel, when it could count them.
pub fn question(name: &str, waiting: Option<usize>) -> String {
    match waiting {
        Some(n) => format!(
            "delete stack {name} and cancel its {n} waiting job{}",
            if n == 1 { "" } else { "s" }
        ),
        None => format!("delete stack {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_says_how_many_waiting_jobs_will_be_cancelled() {
        assert_eq!(
            question("prod", Some(3)),
            "delete stack prod and cancel its 3 waiting jobs"
        );
        assert_eq!(
            question("prod", Some(1)),
            "delete stack prod and cancel its 1 waiting job"
        );
        assert_eq!(question("prod", None), "delete stack prod");
    }
}
