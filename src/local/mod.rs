//! The `local` target: the same generated stack on this machine.
//!
//! The States Language interpreter and DynamoDB semantics are the `waitable-asl` crate.
//!
//! - `store`: the SQLite database of one stack; `engine`: the one writer, with durable timers;
//! - `protocol`: the API's routes and bodies; `http`: the API on 127.0.0.1 (the one place
//!   engine errors become HTTP statuses), `http_private`: the control socket's routes;
//!   `client`: the CLI's side of it;
//! - `state`: the per-stack directory; `host`: the engine in this process; `process`: the
//!   engine as a detached background process;
//! - `operations`: `impl Backend for LocalBackend`; `http_contract`: the HTTP layer's side of
//!   the jobs contract.

pub mod client;
pub(crate) mod definition;
pub(crate) mod engine;
mod guard;
pub(crate) mod host;
pub(crate) mod http;
pub(crate) mod http_contract;
mod http_private;
pub(crate) mod listen;
pub mod operations;
pub(crate) mod process;
pub(crate) mod protocol;
pub(crate) mod prune;
pub(crate) mod stacks;
pub(crate) mod state;
pub mod store;
pub(crate) mod store_executions;
pub(crate) mod store_index;

pub use operations::LocalBackend;
