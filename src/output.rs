//! Where text goes: data to stdout, messages and progress to stderr (ripgrep's rule).

use std::io::IsTerminal;

use crate::Error;
use waitable_core::render::Style;

/// Prints the final error once, with its whole chain, prefixed like other CLI tools.
pub fn error_line(err: &Error) {
    let prefix = if std::io::stderr().is_terminal() && console::colors_enabled_stderr() {
        console::style("error:").red().bold().to_string()
    } else {
        "error:".to_string()
    };
    eprintln!("{prefix} {err}");
}

/// The table style for stdout: colour only on a terminal, and never with NO_COLOR.
/// The width tables fit on a terminal: the terminal's (or `COLUMNS`); none when stdout is
/// not a terminal, so a file or a pipe gets whole lines.
fn table_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok());
    columns
        .filter(|c| *c >= 40)
        .or_else(|| console::Term::stdout().size_checked().map(|(_, w)| w))
}

/// Times show in `tz` (`--tz`, `--local`), else UTC.
pub fn table_style(tz: Option<waitable_core::time_zone::TimeZone>) -> Style {
    let color = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && console::colors_enabled();
    Style {
        now: chrono::Utc::now(),
        color,
        tz,
        width: table_width(),
    }
}

/// A bar counting `len` items done on stderr (`{pos}/{len} <what>`, the rate and time left),
/// drawn only when the UI is interactive and there is something to count.
pub fn count_bar(ui: &Ui, len: usize, what: &str) -> indicatif::ProgressBar {
    let bar = if ui.interactive && len > 0 {
        indicatif::ProgressBar::new(len as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let template = format!("{{bar:40}} {{pos}}/{{len}} {what} ({{per_sec}}, {{eta}} left)");
    bar.set_style(indicatif::ProgressStyle::with_template(&template).expect("a valid template"));
    bar
}

/// A spinner on stderr with `msg` while something is awaited (a change set worked out, a
/// destroy's waits), drawn only when the UI is interactive (stderr a terminal, no `--quiet`).
/// Clear it with `finish_and_clear` when the wait ends.
pub fn spinner(ui: &Ui, msg: &str) -> indicatif::ProgressBar {
    if !ui.interactive {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner:.cyan} {msg}  {elapsed}")
            .expect("a valid template"),
    );
    bar.set_message(msg.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Messages for people: on stderr, silenced by `--quiet`.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    pub quiet: bool,
    /// stderr is a terminal: live progress bars may be drawn.
    pub interactive: bool,
    /// stdin is a terminal: questions may be asked.
    pub can_prompt: bool,
    /// `--yes` was given.
    pub assume_yes: bool,
}

impl Ui {
    pub fn detect(quiet: bool, assume_yes: bool) -> Self {
        Ui {
            quiet,
            interactive: !quiet && std::io::stderr().is_terminal(),
            can_prompt: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
            assume_yes,
        }
    }

    /// A quiet, non-interactive UI for tests and library callers.
    pub fn silent() -> Self {
        Ui {
            quiet: true,
            interactive: false,
            can_prompt: false,
            assume_yes: true,
        }
    }

    /// A line for people on stderr, unless `--quiet`.
    pub fn info(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// A warning on stderr; shown even with `--quiet`.
    pub fn warn(&self, msg: impl std::fmt::Display) {
        eprintln!("warning: {msg}");
    }

    /// Asks a yes/no question on stderr. Without a terminal and without `--yes`, refuses
    /// with `what_to_pass` rather than hang waiting for input.
    pub fn confirm(&self, question: &str, what_to_pass: &str) -> crate::Result<bool> {
        if self.assume_yes {
            return Ok(true);
        }
        let answer = self.ask(question, &format!("{question}? [y/N] "), what_to_pass)?;
        Ok(matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes"))
    }

    /// [`Ui::confirm`] that also listens for Ctrl-C while it waits for the answer: then it is
    /// `Error::Interrupted` (the caller undoes what it prepared). `interrupt` ends on Ctrl-C
    /// (`tokio::signal::ctrl_c` in the CLI); it is listened to before the question is asked.
    /// The answer is read on a thread of its own, which a Ctrl-C leaves blocked on stdin
    /// until the process exits.
    pub async fn confirm_or_interrupted(
        &self,
        question: &str,
        what_to_pass: &str,
        interrupt: impl std::future::Future<Output = ()>,
    ) -> crate::Result<bool> {
        if self.assume_yes {
            return Ok(true);
        }
        if !self.can_prompt {
            return Err(unconfirmed(question, what_to_pass));
        }
        let prompt = format!("{question}? [y/N] ");
        let answer = async move {
            eprint!("{prompt}");
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let read = std::io::stdin().read_line(&mut line).map(|_| line);
                let _ = tx.send(read);
            });
            rx.await
        };
        tokio::select! {
            biased;
            () = interrupt => {
                eprintln!();
                Err(Error::interrupted())
            }
            read = answer => {
                let line = read.map_err(|_| Error::failed("reading the answer"))??;
                Ok(matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
            }
        }
    }

    /// Asks the user to type `expected` back (for destructive operations).
    pub fn confirm_typed(&self, what: &str, expected: &str) -> crate::Result<bool> {
        if self.assume_yes {
            return Ok(true);
        }
        let prompt = format!("To {what}, type its name ({expected}): ");
        Ok(self.ask(what, &prompt, "--yes")? == expected)
    }

    /// A usage error when `action` would need a question no one can answer (no terminal and
    /// no `--yes`), so a command can refuse before it reads or sends anything.
    pub fn can_confirm(&self, action: &str, what_to_pass: &str) -> crate::Result<()> {
        if self.assume_yes || self.can_prompt {
            return Ok(());
        }
        Err(unconfirmed(action, what_to_pass))
    }

    /// One line of answer from the terminal, or a usage error when there is none to ask.
    fn ask(&self, action: &str, prompt: &str, what_to_pass: &str) -> crate::Result<String> {
        if !self.can_prompt {
            return Err(unconfirmed(action, what_to_pass));
        }
        eprint!("{prompt}");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        Ok(answer.trim().to_string())
    }
}

fn unconfirmed(action: &str, what_to_pass: &str) -> Error {
    Error::usage(format!(
        "refusing to {action} without confirmation: not a terminal; pass {what_to_pass}"
    ))
}
