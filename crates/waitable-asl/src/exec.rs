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
    // The history quota is counted in the cursor and enforced by `step`.
    let end = loop {
        if clock == Clock::Real {
            now = real_now();
        }
        match step(machine, info, cursor, now, tasks, rand) {
            Transition::Next(c) => {
                states_entered.push(c.state.clone());
                cursor = c;
            }
            Transition::Sleep {
                cursor: c,
                until_ms,
            } => {
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
