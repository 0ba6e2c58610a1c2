//! One execution run to its end in this process (`waitable local exec`): the states entered,
//! and the final output or error. Waits and Retry back-offs either really sleep or, with the
//! virtual clock, end at once with the clock moved forward as if they had slept.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::model::Machine;
use super::run::{Cursor, ExecutionInfo, Tasks, Transition, step};

/// How waits pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Sleep for real; "now" is the start time plus the time elapsed.
    Real,
    /// Jump the clock to the end of each wait.
    Virtual,
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    Succeeded(Value),
    Failed { error: String, cause: String },
}

/// An execution's end and the names of the states it entered, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub end: End,
    pub states_entered: Vec<String>,
}

/// Step Functions ends a standard execution whose history reaches 25,000 events ("Maximum
/// execution history size", Step Functions service quotas); a loop that never waits, or a
/// Retry with a huge MaxAttempts, would otherwise spin (nearly) forever here.
pub const MAX_HISTORY_EVENTS: usize = 25_000;
/// Events a state entered adds at least (entered, exited).
const EVENTS_PER_STATE: usize = 2;
/// Events a failed attempt that is retried adds (scheduled, started, failed).
const EVENTS_PER_RETRY: usize = 3;

fn attempts(c: &Cursor) -> usize {
    c.retries.iter().map(|r| *r as usize).sum()
}

fn history_full() -> End {
    End::Failed {
        error: "States.Runtime".into(),
        cause: format!(
            "The execution's history reached {MAX_HISTORY_EVENTS} events (the Step Functions quota)"
        ),
    }
}

/// Runs `machine` on `info.input` from `info.start_ms` to its end.
pub fn run_to_end(
    machine: &Machine,
    info: &ExecutionInfo,
    clock: Clock,
    tasks: &mut dyn Tasks,
    rand: &mut dyn FnMut() -> f64,
) -> Outcome {
    let began = Instant::now();
    let real_now = || info.start_ms + began.elapsed().as_millis() as i64;
    let mut now = info.start_ms;
    let mut cursor = Cursor::enter(&machine.start_at, info.input.clone(), now);
    let mut states_entered = vec![cursor.state.clone()];
    // ExecutionStarted and the first state's events.
    let mut events = 1 + EVENTS_PER_STATE;
    let end = loop {
        if clock == Clock::Real {
            now = real_now();
        }
        let attempts_before = attempts(&cursor);
        match step(machine, info, cursor, now, tasks, rand) {
            Transition::Next(c) => {
                events += EVENTS_PER_STATE;
                if events > MAX_HISTORY_EVENTS {
                    break history_full();
                }
                states_entered.push(c.state.clone());
                cursor = c;
            }
            Transition::Sleep {
                cursor: c,
                until_ms,
            } => {
                // A retry: the failed attempt's events count toward the quota too.
                events += EVENTS_PER_RETRY * attempts(&c).saturating_sub(attempts_before);
                if events > MAX_HISTORY_EVENTS {
                    break history_full();
                }
                match clock {
                    Clock::Virtual => now = now.max(until_ms),
                    Clock::Real => {
                        let left = until_ms - real_now();
                        if left > 0 {
                            std::thread::sleep(Duration::from_millis(left as u64));
                        }
                    }
                }
                cursor = c;
            }
            Transition::Succeeded(output) => break End::Succeeded(output),
            Transition::Failed { error, cause } => break End::Failed { error, cause },
        }
    };
    Outcome {
        end,
        states_entered,
    }
}
