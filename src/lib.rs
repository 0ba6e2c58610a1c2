//! waitable: generate, deploy and operate a serverless "do this at time T" stack.
//!
//! This file is only the index of modules. The layers are described in
//! `docs/architecture.md`: `cli` parses flags into a checked [`config::Config`], `commands` run
//! one user command each, `backend` abstracts the two targets (`aws` and `local`), and `core`
//! holds the pure parts (the jobs contract, the template, the state machine, the API contract,
//! time parsing and rendering).

pub mod aws;
pub mod backend;
pub mod cli;
pub mod commands;
pub mod config;
pub mod core;
pub mod error;
pub mod local;
pub mod output;
pub mod poll;
mod run;

pub use error::{Error, Result};
pub use run::{main_entry, run};
