//! The Amazon States Language interpreter: the generated definition is run as data, not
//! re-coded. `model` checks a definition at deploy time, `path` follows reference paths,
//! `choice` evaluates Choice rules, `run` executes one state (with Retry and Catch), `exec`
//! runs one execution to its end in this process against the in-memory `tables`.

pub mod choice;
pub mod exec;
pub mod model;
pub mod path;
pub mod run;
pub mod tables;

pub use model::{Machine, Unsupported, parse, parse_text};
pub use run::{Cursor, ExecutionInfo, Fault, Step, Tasks, step};
