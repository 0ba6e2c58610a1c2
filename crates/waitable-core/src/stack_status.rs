//! CloudFormation stack and resource statuses, classified (rain's `MapStatus`), and the
//! failure causes picked out of a stack's events. Pure: statuses are the API's strings.

/// What a stack (or resource) status means for someone waiting on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// An operation is still running: keep waiting.
    InProgress,
    /// The operation finished as asked.
    Complete,
    /// The operation failed and the stack is left needing attention.
    Failed,
    /// The operation failed and CloudFormation put the stack back as it was.
    RolledBack,
}

impl StatusClass {
    /// True once nothing more will happen without someone acting.
    pub fn is_terminal(self) -> bool {
        self != StatusClass::InProgress
    }
}

/// Every stack status CloudFormation documents, for exhaustive tests.
pub const ALL_STACK_STATUSES: &[&str] = &[
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "CREATE_COMPLETE",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_FAILED",
    "ROLLBACK_COMPLETE",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
    "DELETE_COMPLETE",
    "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_COMPLETE",
    "UPDATE_FAILED",
    "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE",
    "REVIEW_IN_PROGRESS",
    "IMPORT_IN_PROGRESS",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_IN_PROGRESS",
    "IMPORT_ROLLBACK_FAILED",
    "IMPORT_ROLLBACK_COMPLETE",
];

/// Classifies a stack or resource status. Works by suffix, so statuses added later (and
/// resource-only ones such as `DELETE_SKIPPED`) still land somewhere sensible.
///
/// `REVIEW_IN_PROGRESS` counts as in progress: right after a CREATE change set is executed
/// the stack shows it until creation starts. Callers deciding what to do with an existing
/// stack treat it separately (it is a stack that was never created).
pub fn classify(status: &str) -> StatusClass {
    if status.ends_with("_IN_PROGRESS") {
        StatusClass::InProgress
    } else if status.ends_with("_FAILED") {
        StatusClass::Failed
    } else if status.contains("ROLLBACK") {
        StatusClass::RolledBack
    } else if status.ends_with("_COMPLETE") || status.ends_with("_SKIPPED") {
        StatusClass::Complete
    } else {
        // Unknown: never wait forever on something we do not understand.
        StatusClass::Failed
    }
}

/// One stack event, as far as waiting and reporting need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceEvent {
    pub event_id: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl ResourceEvent {
    /// True for the stack's own events (its logical ID is the stack name).
    pub fn is_stack(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }
}

/// True for the reasons CloudFormation gives resources it stopped because another failed;
/// they are consequences, not causes.
pub(crate) fn is_cancellation(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("cancelled") || r.contains("canceled")
}

/// The failures worth showing, first cause first: resources that failed (not the stack's
/// own summary, not cancellations), in the order they happened. `events` is oldest first.
pub fn failure_causes(events: &[ResourceEvent]) -> Vec<&ResourceEvent> {
    events
        .iter()
        .filter(|e| {
            !e.is_stack()
                && classify(&e.status) == StatusClass::Failed
                && !e.reason.as_deref().is_some_and(is_cancellation)
        })
        .collect()
}

/// One line per cause: `  JobsTable (AWS::DynamoDB::Table) CREATE_FAILED: reason`.
pub fn cause_line(event: &ResourceEvent) -> String {
    format!(
        "  {} ({}) {}: {}",
        event.logical_id,
        event.resource_type,
        event.status,
        event.reason.as_deref().unwrap_or("no reason given")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusClass::*;

    fn expected(status: &str) -> StatusClass {
        match status {
            "CREATE_IN_PROGRESS"
            | "ROLLBACK_IN_PROGRESS"
            | "DELETE_IN_PROGRESS"
            | "UPDATE_IN_PROGRESS"
            | "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
            | "UPDATE_ROLLBACK_IN_PROGRESS"
            | "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
            | "REVIEW_IN_PROGRESS"
            | "IMPORT_IN_PROGRESS"
            | "IMPORT_ROLLBACK_IN_PROGRESS" => InProgress,
            "CREATE_COMPLETE" | "DELETE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" => {
                Complete
            }
            "ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" | "IMPORT_ROLLBACK_COMPLETE" => {
                RolledBack
            }
            "CREATE_FAILED"
            | "ROLLBACK_FAILED"
            | "DELETE_FAILED"
            | "UPDATE_FAILED"
            | "UPDATE_ROLLBACK_FAILED"
            | "IMPORT_ROLLBACK_FAILED" => Failed,
            other => panic!("status {other} has no expectation"),
        }
    }

    #[test]
    fn every_stack_status_is_classified() {
        assert_eq!(ALL_STACK_STATUSES.len(), 23);
        for status in ALL_STACK_STATUSES {
            assert_eq!(classify(status), expected(status), "{status}");
        }
    }

    #[test]
    fn resource_statuses_and_unknowns() {
        assert_eq!(classify("DELETE_SKIPPED"), Complete);
        assert_eq!(classify("IMPORT_FAILED"), Failed);
        assert_eq!(classify("SOMETHING_NEW"), Failed);
        assert!(!InProgress.is_terminal());
        assert!(RolledBack.is_terminal() && Failed.is_terminal() && Complete.is_terminal());
    }

    fn ev(id: &str, logical: &str, ty: &str, status: &str, reason: Option<&str>) -> ResourceEvent {
        ResourceEvent {
            event_id: id.into(),
            logical_id: logical.into(),
            resource_type: ty.into(),
            status: status.into(),
            reason: reason.map(Into::into),
        }
    }

    #[test]
    fn causes_leave_out_cancellations_and_the_stack_summary() {
        let events = vec![
            ev(
                "1",
                "s",
                "AWS::CloudFormation::Stack",
                "CREATE_IN_PROGRESS",
                None,
            ),
            ev(
                "2",
                "Table",
                "AWS::DynamoDB::Table",
                "CREATE_FAILED",
                Some("bad key"),
            ),
            ev(
                "3",
                "Role",
                "AWS::IAM::Role",
                "CREATE_FAILED",
                Some("Resource creation cancelled"),
            ),
            ev(
                "4",
                "Api",
                "AWS::ApiGateway::RestApi",
                "CREATE_FAILED",
                Some("later"),
            ),
            ev(
                "5",
                "s",
                "AWS::CloudFormation::Stack",
                "ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed to create: [Table]."),
            ),
            ev(
                "6",
                "s",
                "AWS::CloudFormation::Stack",
                "ROLLBACK_FAILED",
                Some("x"),
            ),
        ];
        let causes: Vec<&str> = failure_causes(&events)
            .iter()
            .map(|e| e.logical_id.as_str())
            .collect();
        assert_eq!(causes, ["Table", "Api"]);
        assert_eq!(
            cause_line(&events[1]),
            "  Table (AWS::DynamoDB::Table) CREATE_FAILED: bad key"
        );
    }
}
