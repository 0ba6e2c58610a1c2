//! The pure core: no async, no SDK, no files. Everything here is data in, data out.

pub mod api;
pub mod arn;
pub mod asl;
pub mod changeset;
#[cfg(test)]
pub(crate) mod contract_table;
pub mod delivery;
pub mod ids;
pub mod intrinsics;
pub mod job;
pub mod job_id;
pub mod limits;
pub mod outputs;
pub mod page_token;
pub mod payload;
pub mod reconcile;
pub mod record;
pub mod render;
pub mod resolve;
pub mod retention;
pub mod stack_status;
pub mod state_size;
pub mod status_index;
pub mod submit_input;
pub mod template;
pub mod time;
pub mod timestamp;
