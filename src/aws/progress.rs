//! The live view of a stack operation on stderr, driven by stack events: one line per
//! resource (status and elapsed time) under an overall count. Plain event lines when stderr
//! is not a terminal; nothing with `--quiet`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Ui;
use waitable_core::stack_status::{ResourceEvent, StatusClass, classify};

/// Shows one stack operation (create, update, delete) as its events arrive.
pub struct Progress {
    view: View,
}

enum View {
    Hidden,
    Plain { width: usize },
    Live(Live),
}

struct Live {
    bars: MultiProgress,
    overall: ProgressBar,
    rows: HashMap<String, Row>,
    counted: HashSet<String>,
    started: Instant,
    width: usize,
}

struct Row {
    bar: ProgressBar,
    started: Instant,
    done: bool,
}

const ID_WIDTH: usize = 28;

impl Progress {
    /// `what` names the operation ("creating stack waitable"); `expected` is how many
    /// resources it will touch, when known (the change set's size).
    pub fn new(ui: &Ui, what: &str, expected: Option<usize>) -> Self {
        let view = if ui.quiet {
            View::Hidden
        } else if ui.interactive {
            let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let overall = bars.add(match expected {
                Some(n) => ProgressBar::new(n as u64),
                None => ProgressBar::no_length(),
            });
            let template = if expected.is_some() {
                "{spinner:.cyan} {msg} {pos}/{len} resources  {elapsed}"
            } else {
                "{spinner:.cyan} {msg} {pos} resources  {elapsed}"
            };
            overall.set_style(style(template));
            overall.set_message(what.to_string());
            overall.enable_steady_tick(Duration::from_millis(120));
            View::Live(Live {
                bars,
                overall,
                rows: HashMap::new(),
                counted: HashSet::new(),
                started: Instant::now(),
                width: ID_WIDTH,
            })
        } else {
            ui.info(format!("{what}..."));
            View::Plain { width: ID_WIDTH }
        };
        Progress { view }
    }

    /// Shows one event (events arrive oldest first).
    pub fn event(&mut self, event: &ResourceEvent) {
        match &mut self.view {
            View::Hidden => {}
            View::Plain { width } => {
                let reason = event
                    .reason
                    .as_deref()
                    .map(|r| format!("  {r}"))
                    .unwrap_or_default();
                eprintln!(
                    "  {:<width$} {:<32} {}{reason}",
                    event.logical_id,
                    event.resource_type,
                    event.status,
                    width = *width
                );
            }
            View::Live(live) => live.event(event),
        }
    }

    /// Stops drawing; finished lines stay on screen.
    pub fn finish(&mut self, outcome: &str) {
        match &mut self.view {
            View::Live(live) => {
                for row in live.rows.values() {
                    if !row.done {
                        row.bar.finish();
                    }
                }
                let secs = live.started.elapsed().as_secs();
                let summary = match live.counted.len() {
                    0 => format!("{outcome} ({secs}s)"),
                    n => format!("{outcome} ({n} resources, {secs}s)"),
                };
                live.overall.set_style(style("{msg}"));
                live.overall.finish_with_message(summary);
                // indicatif leaves the cursor at the end of the last line it drew.
                eprintln!();
            }
            View::Plain { .. } => eprintln!("{outcome}"),
            View::Hidden => {}
        }
    }
}

impl Live {
    fn event(&mut self, event: &ResourceEvent) {
        if event.is_stack() {
            return;
        }
        let class = classify(&event.status);
        // A resource that finished and starts again (an update, a rollback) gets a new line.
        if !class.is_terminal() && self.rows.get(&event.logical_id).is_some_and(|r| r.done) {
            self.rows.remove(&event.logical_id);
        }
        let width = self.width;
        let row = self
            .rows
            .entry(event.logical_id.clone())
            .or_insert_with(|| {
                let bar = self.bars.add(ProgressBar::new_spinner());
                bar.set_style(style(&format!(
                    "  {{spinner:.yellow}} {{prefix:<{width}}} {{msg}}  {{elapsed}}"
                )));
                bar.set_prefix(event.logical_id.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                Row {
                    bar,
                    started: Instant::now(),
                    done: false,
                }
            });
        let reason = event
            .reason
            .as_deref()
            .filter(|_| class == StatusClass::Failed)
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let message = format!("{:<32} {}{reason}", event.resource_type, event.status);
        if class.is_terminal() {
            let mark = if class == StatusClass::Complete {
                "✓"
            } else {
                "✗"
            };
            let secs = row.started.elapsed().as_secs();
            row.bar.set_style(style(&format!(
                "  {mark} {{prefix:<{width}}} {{msg}}  {secs}s"
            )));
            row.bar.finish_with_message(message);
            row.done = true;
            if self.counted.insert(event.logical_id.clone()) {
                self.overall.inc(1);
            }
        } else {
            row.bar.set_message(message);
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).expect("progress templates are valid")
}
