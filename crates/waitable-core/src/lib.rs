//! The pure core: no async, no SDK, no files. Everything here is data in, data out.

pub mod api;
pub mod arn;
pub mod cancel;
pub mod cfn_intrinsics;
pub mod changeset;
#[cfg(any(test, feature = "test-support"))]
pub mod contract_table;
pub mod delivery;
pub mod job;
pub mod job_id;
pub mod limits;
pub mod logical_ids;
pub mod outputs;
pub mod page_limit;
pub mod page_token;
pub mod payload;
pub mod reconcile_machine;
pub mod record;
pub mod render;
pub mod render_csv;
pub mod resolve;
pub mod resubmit;
pub mod retention;
pub mod runs;
pub mod show;
pub mod stack_spec;
pub mod stack_status;
pub mod state_machine;
// Measures the generated machine against the limits: a test, not part of the API.
#[cfg(test)]
mod state_size;
pub mod status_index;
pub mod submit_input;
pub mod template;
pub mod time_error;
pub mod time_input;
pub mod time_zone;
pub mod timestamp;
