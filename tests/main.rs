//! The one integration-test binary (every test binary links the AWS SDK crates, so one only).
//! Run through `scripts/test`, which installs the tools and starts the emulator these need.

mod harness;

mod behaviour;
mod check;
mod cli;
mod deploy;
mod jobs;
// After `jobs`: its aws tests switch moto to executing state machines, which hides the ones
// CloudFormation made from `deploy`'s tests (libtest starts tests in name order).
mod jobs_delivery;
mod local;
mod local_exec;
mod local_hardening;
mod scale;
mod source_tree;
mod synth;
mod vtl;
