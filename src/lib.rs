//! waitable: generate, deploy and operate a serverless "do this at time T" stack.
//!
//! This file is only the index of modules. The layers are described in
//! `docs/architecture.md`: `cli` parses flags into a checked [`config::Config`], `commands` run
//! one user command each, `backend` abstracts the two targets (`aws` and `local`), and `core`
//! holds the pure parts (the jobs contract, the template, the state machine, the API contract,
//! time parsing and rendering).

pub(crate) mod aws;
pub mod backend;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod config;
pub mod error;
pub(crate) mod external_sort;
pub mod local;
pub mod output;
pub(crate) mod poll;
mod run;

pub use error::{Error, Result};
pub use run::{main_entry, run};
