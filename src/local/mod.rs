//! The `local` target: the same generated stack on this machine (issue #5).
//!
//! - `asl`: the Amazon States Language interpreter (the generated definition runs as data);
//! - `ddb`: DynamoDB semantics for the task resources;
//! - `store`: the SQLite database of one stack; `engine`: the one writer, with durable timers;
//! - `protocol`: the API's routes and bodies; `http`: the API on 127.0.0.1 (the one place
//!   engine errors become HTTP statuses); `client`: the CLI's side of it;
//! - `state`: the per-stack directory; `host`: the engine in this process; `process`: the
//!   engine as a detached background process;
//! - `backend`: `impl Backend for LocalBackend`.

pub mod asl;
pub mod backend;
pub mod client;
pub mod ddb;
pub mod definition;
pub mod engine;
mod guard;
pub mod host;
pub mod http;
pub mod process;
pub mod protocol;
pub mod records;
pub mod state;
pub mod store;

pub use backend::LocalBackend;
