//! waitable: generate, deploy and operate a serverless "do this at time T" stack.
//!
//! This file is only the index of modules. The layers are described in
//! `docs/architecture.md`: `cli` holds the raw flags, `config` and `request` check them once
//! (the global ones, and one typed request per command), `commands` run one request each,
//! `backend` abstracts the two targets (`aws` and `local`), and the crates under `crates/`
//! hold the pure parts (`waitable-core`) and the States Language interpreter (`waitable-asl`).

pub(crate) mod aws;
pub mod backend;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod config;
pub mod error;
pub(crate) mod external_sort;
pub(crate) mod http_agent;
pub mod local;
pub mod output;
pub(crate) mod pace;
pub(crate) mod poll;
pub(crate) mod request;
mod run;
pub(crate) mod stack_name;

pub use error::{Error, Result};
pub use run::{main_entry, run};
