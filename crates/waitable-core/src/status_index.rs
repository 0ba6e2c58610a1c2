//! The status index: a global secondary index of the jobs table keyed by `ProcessStatus`, then
//! `StartActionAt`. It answers the common questions ("what is still waiting?", "what failed?",
//! "what is due before T?") with a Query that reads only the matching items, already in
//! StartActionAt order, where the plain `status` reads the whole table (a parallel Scan).
//!
//! Everything about the index lives here, for both targets: its name and keys, the table's
//! attribute definitions and index fragment, the IAM statement that allows Query on the index
//! only, the Query's key condition (the CLI on the aws target, the mapping template of
//! `GET /status?status=`), and the same semantics for the local store (a matching SQLite index).
//!
//! Semantics, as DynamoDB gives them (and the local target copies):
//! - the index is sparse: an item without a `ProcessStatus` or a `StartActionAt` is not in it
//!   (a job the state machine rejected before its first write carries no StartActionAt);
//! - items come in `StartActionAt` order (the text's byte order, which is time order for the
//!   one timestamp form the stack stores); equal times come in no defined order;
//! - a window is inclusive at both ends (`BETWEEN`), the only two-sided sort-key condition a
//!   Query accepts.
//!
//! Projection: keys plus `LastUpdated` and `Error` (what the status table and `GET /status`
//! show). Not `Payload`: a payload can be 256 KB, and every write to the table would be
//! written again to the index, all STARTED jobs landing on one index partition; the CLI reads
//! payloads for `--output json` with BatchGetItem, by key, for the matching items only.
//! Sources: DynamoDB Developer Guide, "Using Global Secondary Indexes" (sparse indexes,
//! projections, write cost) and "Query" (KeyConditionExpression: `=` on the partition key, one
//! of `= < <= > >= BETWEEN begins_with` on the sort key).

use chrono::SubsecRound;
use serde_json::{Value, json};

use super::cfn_intrinsics::sub;
use super::job::{
    ATTR_ERROR, ATTR_ID, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, ATTR_START_ACTION_AT, JobRecord,
    JobStatus,
};
use super::logical_ids::JOBS_TABLE;
use super::time_input::{TimeContext, format_utc, parse_time, round_up_to_second};

/// The index's name (part of its ARN, so IAM can name it alone).
pub const INDEX_NAME: &str = "ByStatus";
/// Partition key of the index.
pub(crate) const HASH_KEY: &str = ATTR_PROCESS_STATUS;
/// Sort key of the index.
pub const RANGE_KEY: &str = ATTR_START_ACTION_AT;
/// Non-key attributes copied into the index.
pub(crate) const PROJECTED: [&str; 2] = [ATTR_LAST_UPDATED, ATTR_ERROR];
/// BatchGetItem's limit of keys per call (for reading payloads of matched jobs).
pub const BATCH_GET_MAX: usize = 100;

/// A window on StartActionAt, inclusive at both ends; `None` leaves that side open.
/// The bounds are timestamps in the stack's one stored form (`YYYY-MM-DDTHH:MM:SSZ`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueWindow {
    /// `--due-after`: StartActionAt at or after this.
    pub after: Option<String>,
    /// `--due-before`: StartActionAt at or before this.
    pub before: Option<String>,
}

impl DueWindow {
    /// True when no bound is set.
    pub fn is_open(&self) -> bool {
        self.after.is_none() && self.before.is_none()
    }

    /// Whether a job due at `at` falls in the window (the same comparison the index makes).
    pub fn contains(&self, at: &str) -> bool {
        self.after.as_deref().is_none_or(|a| at >= a)
            && self.before.as_deref().is_none_or(|b| at <= b)
    }

    /// Whether `job` is in the index and in the window: what a Query for its status returns.
    pub fn selects(&self, job: &JobRecord) -> bool {
        in_index(job) && self.contains(&job.start_action_at)
    }
}

impl DueWindow {
    /// The window of `--due-after` / `--due-before` (any form `--at` takes, and `-2h`; no
    /// limits), in the stored form. Stored times are whole seconds, so a fractional bound is
    /// moved inward: `after` rounds up, `before` down, and the window keeps the same jobs.
    pub fn parse(
        after: Option<&str>,
        before: Option<&str>,
        now: impl Into<TimeContext>,
    ) -> Result<DueWindow, InvalidWindow> {
        let ctx = now.into();
        let after = after
            .map(|t| parse_time(t, ctx.clone()).map(|t| format_utc(round_up_to_second(t))))
            .transpose()
            .map_err(|e| InvalidWindow(e.to_string()))?;
        let before = before
            .map(|t| parse_time(t, ctx.clone()).map(|t| format_utc(t.trunc_subsecs(0))))
            .transpose()
            .map_err(|e| InvalidWindow(e.to_string()))?;
        Ok(DueWindow { after, before })
    }
}

/// A `--due-after` or `--due-before` that is not a time (`time_input`'s message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidWindow(pub String);

/// Whether a job is in the (sparse) index: it has a status and a StartActionAt.
pub(crate) fn in_index(job: &JobRecord) -> bool {
    !job.process_status.is_empty() && !job.start_action_at.is_empty()
}

/// A Query's key condition with its placeholders, ready for any client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCondition {
    pub expression: String,
    /// `#name` -> attribute name.
    pub names: Vec<(&'static str, &'static str)>,
    /// `:value` -> string value.
    pub values: Vec<(&'static str, String)>,
}

/// Placeholders used in key conditions (and in the mapping template).
const NAME_STATUS: &str = "#status";
const NAME_AT: &str = "#at";
const VALUE_STATUS: &str = ":status";
const VALUE_AFTER: &str = ":after";
const VALUE_BEFORE: &str = ":before";

/// The key condition for jobs in `status` due within `window`.
pub fn key_condition(status: JobStatus, window: &DueWindow) -> KeyCondition {
    let mut names = vec![(NAME_STATUS, HASH_KEY)];
    let mut values = vec![(VALUE_STATUS, status.as_str().to_string())];
    let mut expression = format!("{NAME_STATUS} = {VALUE_STATUS}");
    let range = match (&window.after, &window.before) {
        (None, None) => None,
        (Some(a), None) => Some((
            format!("{NAME_AT} >= {VALUE_AFTER}"),
            vec![(VALUE_AFTER, a)],
        )),
        (None, Some(b)) => Some((
            format!("{NAME_AT} <= {VALUE_BEFORE}"),
            vec![(VALUE_BEFORE, b)],
        )),
        (Some(a), Some(b)) => Some((
            format!("{NAME_AT} BETWEEN {VALUE_AFTER} AND {VALUE_BEFORE}"),
            vec![(VALUE_AFTER, a), (VALUE_BEFORE, b)],
        )),
    };
    if let Some((condition, bounds)) = range {
        expression.push_str(" AND ");
        expression.push_str(&condition);
        names.push((NAME_AT, RANGE_KEY));
        values.extend(bounds.into_iter().map(|(k, v)| (k, v.clone())));
    }
    KeyCondition {
        expression,
        names,
        values,
    }
}

/// Whether a window can match anything (a Query with `BETWEEN a AND b`, a > b, is refused by
/// DynamoDB with a ValidationException: ask nothing instead).
pub fn window_is_empty(window: &DueWindow) -> bool {
    matches!((&window.after, &window.before), (Some(a), Some(b)) if a > b)
}

// ---- the template ---------------------------------------------------------------------------

/// The table's `AttributeDefinitions`: its key and the index's keys (all strings).
pub(crate) fn attribute_definitions() -> Value {
    json!([
        { "AttributeName": ATTR_ID, "AttributeType": "S" },
        { "AttributeName": HASH_KEY, "AttributeType": "S" },
        { "AttributeName": RANGE_KEY, "AttributeType": "S" }
    ])
}

/// The table's `GlobalSecondaryIndexes`. On a PAY_PER_REQUEST table an index takes no
/// throughput settings: it is billed per request like the table.
pub(crate) fn global_secondary_indexes() -> Value {
    json!([{
        "IndexName": INDEX_NAME,
        "KeySchema": [
            { "AttributeName": HASH_KEY, "KeyType": "HASH" },
            { "AttributeName": RANGE_KEY, "KeyType": "RANGE" }
        ],
        "Projection": { "ProjectionType": "INCLUDE", "NonKeyAttributes": PROJECTED }
    }])
}

/// The index's ARN: the table's ARN, then `/index/<name>`.
pub(crate) fn index_arn() -> Value {
    sub(&format!("${{{JOBS_TABLE}.Arn}}/index/{INDEX_NAME}"))
}

/// The IAM statement that lets the API's role Query the index, and nothing else: Query on the
/// table itself (which could read any key) is not granted.
pub(crate) fn query_policy_statement() -> Value {
    json!({
        "Effect": "Allow",
        "Action": "dynamodb:Query",
        "Resource": index_arn()
    })
}

// ---- GET /status?status=S on API Gateway ---------------------------------------------------

/// The DynamoDB JSON-protocol targets GET /status sends. Its integration is path-style
/// (`dynamodb:path//`), which implies no action, so the request template names one in both
/// branches through `$context.requestOverride.header` ("programmatically create new
/// parameters": API Gateway Developer Guide, "Override your API's request and response
/// parameters").
pub const QUERY_TARGET: &str = "DynamoDB_20120810.Query";
pub const SCAN_TARGET: &str = "DynamoDB_20120810.Scan";
/// The integration URI's service part: DynamoDB's root path, no action.
pub const STATUS_INTEGRATION: &str = "dynamodb:path//";
/// DynamoDB's JSON protocol content type, which a path-style integration must send itself.
pub const DYNAMODB_CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// The query string parameter of GET /status naming one status.
pub const STATUS_PARAM: &str = "status";

/// The body of a Query on the index for the mapping template (it sets `$target` to the Query
/// target; the caller applies it once, as overrides are final): `$status` holds the status, `$limit` the page size, `$key` (optional) the decoded start key as
/// `Id SPACE StartActionAt`. `escape` turns a VTL expression into JSON-safe text.
pub(crate) fn query_request_body(table_var: &str, escape: impl Fn(&str) -> String) -> String {
    let status = escape("$status");
    let id = escape("$keyId");
    let at = escape("$keyAt");
    // Velocity 1.7 (API Gateway's) takes no arithmetic inside method arguments: split first.
    format!(
        r##"#set($target = "{QUERY_TARGET}")
#if($key.contains(" "))#set($split = $key.indexOf(" "))#set($from = $split + 1)#set($keyId = $key.substring(0, $split))#set($keyAt = $key.substring($from))#end
{{
  "TableName": "${{{table_var}}}",
  "IndexName": "{INDEX_NAME}",
  "Limit": $limit,
  "KeyConditionExpression": "{NAME_STATUS} = {VALUE_STATUS}",
  "ExpressionAttributeNames": {{"{NAME_STATUS}": "{HASH_KEY}"}},
  "ExpressionAttributeValues": {{"{VALUE_STATUS}": {{"S": "{status}"}}}}#if($key.contains(" ")),
  "ExclusiveStartKey": {{"{ATTR_ID}": {{"S": "{id}"}}, "{HASH_KEY}": {{"S": "{status}"}}, "{RANGE_KEY}": {{"S": "{at}"}}}}#end
}}"##
    )
}

/// The text a Query page's `nextToken` carries (base64 of it): the last key as
/// `Id SPACE StartActionAt` (an Id never holds a space, so the first space splits it).
pub fn query_token_text(id: &str, start_action_at: &str) -> String {
    format!("{id} {start_action_at}")
}

/// The inverse of [`query_token_text`].
pub fn parse_query_token_text(text: &str) -> Option<(&str, &str)> {
    text.split_once(' ')
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn w(after: Option<&str>, before: Option<&str>) -> DueWindow {
        DueWindow {
            after: after.map(str::to_string),
            before: before.map(str::to_string),
        }
    }

    const T1: &str = "2030-01-01T00:00:00Z";
    const T2: &str = "2030-01-02T00:00:00Z";

    #[test]
    fn key_conditions_take_the_one_sort_key_condition_a_query_allows() {
        let k = key_condition(JobStatus::Failed, &DueWindow::default());
        assert_eq!(k.expression, "#status = :status");
        assert_eq!(k.names, [("#status", "ProcessStatus")]);
        assert_eq!(k.values, [(":status", "FAILED".to_string())]);

        let k = key_condition(JobStatus::Started, &w(Some(T1), None));
        assert_eq!(k.expression, "#status = :status AND #at >= :after");
        assert_eq!(k.names[1], ("#at", "StartActionAt"));
        assert_eq!(k.values[1], (":after", T1.to_string()));

        let k = key_condition(JobStatus::Started, &w(None, Some(T2)));
        assert_eq!(k.expression, "#status = :status AND #at <= :before");

        let k = key_condition(JobStatus::Cancelled, &w(Some(T1), Some(T2)));
        assert_eq!(
            k.expression,
            "#status = :status AND #at BETWEEN :after AND :before"
        );
        assert_eq!(k.values.len(), 3);
    }

    #[test]
    fn windows_are_inclusive_at_both_ends() {
        let win = w(Some(T1), Some(T2));
        assert!(win.contains(T1));
        assert!(win.contains(T2));
        assert!(win.contains("2030-01-01T12:00:00Z"));
        assert!(!win.contains("2029-12-31T23:59:59Z"));
        assert!(!win.contains("2030-01-02T00:00:01Z"));
        assert!(DueWindow::default().contains(""));
        assert!(!window_is_empty(&win));
        assert!(window_is_empty(&w(Some(T2), Some(T1))));
        assert!(!window_is_empty(&w(Some(T1), Some(T1))));
    }

    #[test]
    fn bounds_take_the_at_forms_and_move_inward_to_whole_seconds() {
        let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00.250Z")
            .unwrap()
            .with_timezone(&Utc);
        let win = DueWindow::parse(Some("-1h"), Some("+2h"), now).unwrap();
        assert_eq!(win.after.as_deref(), Some("2029-12-31T23:00:01Z"));
        assert_eq!(win.before.as_deref(), Some("2030-01-01T02:00:00Z"));
        let win = DueWindow::parse(None, Some("2030-01-01T10:00:00+01:00"), now).unwrap();
        assert_eq!(win, w(None, Some("2030-01-01T09:00:00Z")));
        // Far past and far future are fine for a question.
        assert!(DueWindow::parse(Some("2001-01-01T00:00:00Z"), Some("+3000d"), now).is_ok());
        assert!(DueWindow::parse(Some("tomorrow"), None, now).is_err());
    }

    #[test]
    fn the_index_is_sparse() {
        let job = |at: &str, status: &str| JobRecord {
            id: "a".into(),
            start_action_at: at.into(),
            process_status: status.into(),
            last_updated: None,
            payload: None,
            error: None,
            delivered_at: None,
            fired_at: None,
            delivered_to: vec![],
            run: None,
        };
        assert!(DueWindow::default().selects(&job(T1, "FAILED")));
        // A job rejected before its first write has no StartActionAt: not in the index.
        assert!(!DueWindow::default().selects(&job("", "FAILED")));
        assert!(!DueWindow::default().selects(&job(T1, "")));
    }

    #[test]
    fn the_index_fragment_names_its_keys_and_projection() {
        let gsi = &global_secondary_indexes()[0];
        assert_eq!(gsi["IndexName"], INDEX_NAME);
        assert_eq!(gsi["KeySchema"][0]["AttributeName"], "ProcessStatus");
        assert_eq!(gsi["KeySchema"][1]["KeyType"], "RANGE");
        assert_eq!(
            gsi["Projection"]["NonKeyAttributes"],
            json!(["LastUpdated", "Error"])
        );
        // No throughput on an on-demand table.
        assert!(gsi.get("ProvisionedThroughput").is_none());
        let definitions = attribute_definitions();
        let defined: Vec<&str> = definitions
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["AttributeName"].as_str().unwrap())
            .collect();
        assert_eq!(defined, ["Id", "ProcessStatus", "StartActionAt"]);
    }

    #[test]
    fn the_policy_allows_query_on_the_index_only() {
        let st = query_policy_statement();
        assert_eq!(st["Action"], "dynamodb:Query");
        assert_eq!(
            st["Resource"],
            json!({ "Fn::Sub": "${JobsTable.Arn}/index/ByStatus" })
        );
    }

    #[test]
    fn query_tokens_split_at_the_first_space() {
        let text = query_token_text("job-1", "not a time");
        assert_eq!(parse_query_token_text(&text), Some(("job-1", "not a time")));
        assert_eq!(parse_query_token_text("no-space"), None);
    }
}
