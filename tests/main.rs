//! The one integration-test binary (every test binary links the AWS SDK crates, so one only).
//! Run through `scripts/test`, which installs the tools and starts the emulators these need.

mod harness;

mod behaviour;
mod behaviour_cli;
mod check;
mod cli;
mod cli_papercuts;
mod deploy;
mod deploy_large;
mod jobs;
mod jobs_check;
mod jobs_delivery;
mod local;
mod local_deliver;
mod local_exec;
mod local_hardening;
mod local_limits;
mod ministack;
mod reconcile;
mod runs;
mod scale;
mod source_tree;
mod synth;
mod terminal;
mod vtl;
