//! `waitable completions SHELL` and `waitable man`: shell completion scripts and a man page,
//! generated from the same clap definitions the parser uses, so they never drift.

use std::io::Write;

use anyhow::Context;
use clap::CommandFactory;

use crate::Result;
use crate::cli::Cli;

/// The completion script for `shell` on `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> Result<()> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "waitable", out);
    Ok(())
}

/// The man page (roff) on `out`.
pub fn man(out: &mut impl Write) -> Result<()> {
    clap_mangen::Man::new(Cli::command())
        .render(out)
        .context("writing the man page")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_shell_gets_a_script_naming_the_commands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::PowerShell,
        ] {
            let mut out = Vec::new();
            super::completions(shell, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("submit") && text.contains("show"), "{shell}");
        }
    }

    #[test]
    fn the_man_page_documents_the_flags() {
        let mut out = Vec::new();
        super::man(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(".ie"), "roff: {}", &text[..40]);
        assert!(
            text.contains("stack\\-name") && text.contains("waitable"),
            "{text}"
        );
    }
}
