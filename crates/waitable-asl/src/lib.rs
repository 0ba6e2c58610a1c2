//! The Amazon States Language interpreter: the generated definition is run as data, not
//! re-coded. `parse` checks a definition at deploy time into the types of `model` (with
//! `fields`, `task_check` and `choice`), `path` follows reference paths, `choice` evaluates
//! Choice rules, `run` executes one state (with Retry and Catch), `exec` runs one execution to
//! its end in this process against the in-memory `tables`.

mod choice;
mod context;
mod data;
pub mod ddb;
pub mod deliver_task;
pub mod exec;
mod fault;
mod fields;
pub mod intrinsic;
pub mod limits;
pub mod model;
pub mod parse;
mod path;
pub mod run;
pub mod tables;
mod task_check;
pub mod timestamp;

pub use context::Ctx;
pub use model::Machine;
pub use parse::parse_text;
pub use run::{Cursor, ExecutionInfo, Fault, Tasks, Transition, step};
