//! The bodies of the engine's runs routes (`protocol::RUNS`, `RUNS_STOP`).

use super::super::protocol::RunRequest;
use waitable_core::job::JobRecord;
use waitable_core::runs::RunKind;

pub(super) fn request(job: &JobRecord, (run, kind, at): (u32, RunKind, &str)) -> RunRequest {
    RunRequest {
        id: job.id.clone(),
        run,
        kind,
        at: at.to_string(),
    }
}

pub(super) fn stop(id: &str, run: u32) -> RunRequest {
    RunRequest {
        id: id.to_string(),
        run,
        kind: RunKind::Reschedule,
        at: String::new(),
    }
}
