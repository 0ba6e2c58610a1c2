//! The Amazon States Language interpreter: the generated definition is run as data, not
//! re-coded. `model` checks a definition at deploy time, `path` follows reference paths,
//! `choice` evaluates Choice rules, `run` executes one state (with Retry and Catch).

pub mod choice;
pub mod model;
pub mod path;
pub mod run;

pub use model::{Machine, Unsupported, parse, parse_text};
pub use run::{Cursor, ExecutionInfo, Fault, Step, Tasks, step};
