//! Logical IDs, parameter names and output keys of the generated stack, in one place.

pub const JOBS_TABLE: &str = "JobsTable";
pub const STATE_MACHINE: &str = "StateMachine";
pub const STATE_MACHINE_ROLE: &str = "StateMachineRole";
pub const API: &str = "Api";
pub const API_ROLE: &str = "ApiRole";
pub const JOB_MODEL: &str = "JobModel";
pub const REQUEST_VALIDATOR: &str = "RequestValidator";
pub const SUBMIT_METHOD: &str = "SubmitMethod";
pub const STATUS_RESOURCE: &str = "StatusResource";
pub const STATUS_METHOD: &str = "StatusMethod";
/// Prefix of the deployment's logical ID; a hash of the API and all it references follows, so any
/// change to them creates a new deployment (an unchanged ID would leave the stage serving the old API).
pub const DEPLOYMENT_PREFIX: &str = "ApiDeployment";

pub const PARAM_STAGE_NAME: &str = "StageName";

pub const OUTPUT_API_URL: &str = "ApiUrl";
pub const OUTPUT_STATE_MACHINE_ARN: &str = "StateMachineArn";
pub const OUTPUT_TABLE_NAME: &str = "TableName";

/// Placeholder in the state machine definition replaced by the table name (`Fn::Sub`).
pub const TABLE_NAME_VAR: &str = "TableName";
/// Placeholder in the POST mapping template replaced by the state machine ARN.
pub const STATE_MACHINE_ARN_VAR: &str = "StateMachineArn";

/// Stack tag carrying the version of waitable that last deployed it.
pub const VERSION_TAG: &str = "waitable:version";

/// Parameters added for data safety and cost (see `core::template`).
pub const PARAM_RETENTION_DAYS: &str = "RetentionDays";
pub const PARAM_THROTTLE_RATE: &str = "ThrottleRateLimit";
pub const PARAM_THROTTLE_BURST: &str = "ThrottleBurstLimit";
/// Placeholder in the POST mapping template replaced by the retention in days.
pub const RETENTION_DAYS_VAR: &str = "RetentionDays";

/// The reconcile: an EventBridge rule on the jobs state machine's abnormal endings starts a
/// small state machine that moves the job's row out of STARTED (see `core::reconcile_machine`).
pub const RECONCILE_STATE_MACHINE: &str = "ReconcileStateMachine";
pub const RECONCILE_ROLE: &str = "ReconcileRole";
pub const EXECUTION_ENDED_RULE: &str = "ExecutionEndedRule";
pub const EXECUTION_ENDED_RULE_ROLE: &str = "ExecutionEndedRuleRole";
/// Where the rule puts an event it could not hand to the reconcile within its retry policy.
pub const EXECUTION_ENDED_DLQ: &str = "ExecutionEndedDeadLetterQueue";
pub const EXECUTION_ENDED_DLQ_POLICY: &str = "ExecutionEndedDeadLetterQueuePolicy";
/// Alarms when a reconcile execution fails (a job may then stay STARTED until `waitable
/// reconcile` sweeps it).
pub const RECONCILE_FAILED_ALARM: &str = "ReconcileFailedAlarm";
pub const OUTPUT_RECONCILE_ALARM: &str = "ReconcileFailedAlarmName";
pub const OUTPUT_RECONCILE_DLQ: &str = "ReconcileDeadLetterQueueUrl";
