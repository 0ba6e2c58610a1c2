//! The behaviour suite: one set of scenarios, run on both targets with the same assertions.
//! (Scenarios: completes_after_wait, rejects_bad_input, resubmit_is_idempotent,
//! failed_path_is_recorded, cancel_stops_a_waiting_job, status_pages_through_everything;
//! each is `pub fn name(env: &dyn StackEnv)`.)
