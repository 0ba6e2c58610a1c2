//! The pure core: no async, no SDK, no files. Everything here is data in, data out.

pub mod api;
pub mod asl;
pub mod changeset;
pub mod ids;
pub mod intrinsics;
pub mod job;
pub mod outputs;
pub mod render;
pub mod resolve;
pub mod stack_status;
pub mod status_index;
pub mod submit_input;
pub mod template;
pub mod time;
