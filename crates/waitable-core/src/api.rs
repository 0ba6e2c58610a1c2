//! The HTTP API contract on API Gateway: request model and VTL mapping templates.
//!
//! Every value that comes from a user (the request body, the Id, query parameters, or an item
//! in the table) passes through [`json_escaped`] before it lands in a JSON document. API
//! Gateway's `$util.escapeJavaScript` escapes `'` as `\'`, which is not valid JSON, hence the
//! `replaceAll` after each call. The sample's templates interpolate raw text (JSON injection)
//! and miss a comma in GET /status (invalid JSON): both are fixed here and tested with a real
//! VTL engine in `tests/`.

use serde_json::{Value, json};

use super::job::{
    ATTR_ERROR, ATTR_ID, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, ATTR_START_ACTION_AT, INPUT_ID,
    INPUT_PAYLOAD, INPUT_START_TIMESTAMP, NO_PAYLOAD,
};
use super::logical_ids::{RETENTION_DAYS_VAR, STATE_MACHINE_ARN_VAR, TABLE_NAME_VAR};
use super::retention::{INPUT_EXPIRES_AT, KEEP_FOREVER};
use super::runs::{INPUT_RUN, RUN_ID, RUN_NUMBER};
use super::state_machine::INPUT_TOO_FAR_AHEAD;
use super::status_index::{self, SCAN_TARGET, STATUS_PARAM};
use super::time_input::MAX_AHEAD;

pub use super::job_id::ID_PATTERN;
pub use super::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use super::page_limit;
use super::payload::PAYLOAD_SCHEMA_TYPE;
pub use super::timestamp::TIMESTAMP_PATTERN;

/// The JSON Schema (draft 4, what API Gateway models use) of the POST / body.
pub fn job_request_schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "JobRequest",
        "type": "object",
        "required": [INPUT_START_TIMESTAMP],
        "properties": {
            INPUT_START_TIMESTAMP: { "type": "string", "pattern": TIMESTAMP_PATTERN },
            INPUT_ID: { "type": "string", "pattern": ID_PATTERN },
            INPUT_PAYLOAD: { "type": PAYLOAD_SCHEMA_TYPE }
        },
        "additionalProperties": false
    })
}

/// `$util.escapeJavaScript(expr)` made JSON-safe (undoing its `\'`).
pub(crate) fn json_escaped(expr: &str) -> String {
    format!(r#"$util.escapeJavaScript({expr}).replaceAll("\\'","'")"#)
}

/// POST / -> StartExecution. The execution name is the caller's `Id`, else the request's id.
///
/// Only a POST with an `Id` is idempotent: a retry of it starts nothing new (Step Functions
/// answers with the running execution of that name and input, and ExecutionAlreadyExists once
/// it ended or for another input). Without an `Id` the name is
/// `$context.requestId`, which is new on every request, so a client's retry can start a second
/// job; the answer says so (see [`submit_response_template`]).
///
/// The input always carries `Payload` (JSON text, `"null"` when none was given) and
/// `ExpiresAt` (see `core::retention`), as [`crate::job::execution_input`] builds it for the
/// CLI: the StartTimestamp in epoch seconds
/// plus `${RetentionDays}` days, worked out with days-from-civil integer arithmetic (VTL has no
/// date functions). A StartTimestamp more than [`MAX_AHEAD`] after the request (Step Functions
/// ends every execution after a year, uncatchably) adds `TooFarAhead: true`, and the state
/// machine records the job FAILED at once; its expiry then counts from the request. The Payload travels as JSON text inside the input (escaped twice: once as
/// a string in the input, once as the input in the body).
pub fn submit_request_template() -> String {
    let id = json_escaped("$id");
    // The job's run (`crate::runs`), its Id escaped twice like the payload: the state machine
    // then keys its later writes by it without an extra state.
    let run_id = json_escaped(&id);
    let timestamp = json_escaped(&format!("$input.json('$.{INPUT_START_TIMESTAMP}')"));
    let payload_text = json_escaped(&format!("$input.json('$.{INPUT_PAYLOAD}')"));
    let payload = json_escaped(&payload_text);
    let max_ahead = MAX_AHEAD.num_seconds();
    let digits = |from: usize, to: usize, base: u32| {
        format!("($util.parseJson(\"1$ts.substring({from},{to})\") - {base})")
    };
    let (year, month, day) = (digits(0, 4, 10000), digits(5, 7, 100), digits(8, 10, 100));
    let (hour, minute, second) = (
        digits(11, 13, 100),
        digits(14, 16, 100),
        digits(17, 19, 100),
    );
    format!(
        r###"#set($id = "$!input.path('$.{INPUT_ID}')")
#if($id == "")#set($id = $context.requestId)#end
#set($payload = "$!input.path('$.{INPUT_PAYLOAD}')")
#set($ts = "$!input.path('$.{INPUT_START_TIMESTAMP}')")
#set($expires = "{KEEP_FOREVER}")
#set($tooFar = false)
#if($ts.matches("{TIMESTAMP_PATTERN}"))
#set($y = {year})#set($m = {month})
#if($m > 2)#set($m = $m - 3)#else#set($m = $m + 9)#set($y = $y - 1)#end
#set($yoe = $y % 400)
#set($doe = $yoe * 365 + $yoe / 4 - $yoe / 100 + (153 * $m + 2) / 5 + {day} - 1)
#set($days = ($y - $yoe) / 400 * 146097 + $doe - 719468)
#set($start = $days * 86400 + {hour} * 3600 + {minute} * 60 + {second})
#set($now = $context.requestTimeEpoch / 1000)
#set($base = $start)
#if($start - $now > {max_ahead})#set($tooFar = true)#set($base = $now)#end
#set($expires = $base + ${{{RETENTION_DAYS_VAR}}} * 86400)
#end
#if(${{{RETENTION_DAYS_VAR}}} == 0)#set($expires = "{KEEP_FOREVER}")#end
{{
  "stateMachineArn": "${{{STATE_MACHINE_ARN_VAR}}}",
  "name": "{id}",
  "input": "{{\"{INPUT_START_TIMESTAMP}\": {timestamp}, \"{INPUT_PAYLOAD}\": \"#if($payload != ""){payload}#else{NO_PAYLOAD}#end\", \"{INPUT_EXPIRES_AT}\": \"$expires\", \"{INPUT_RUN}\": {{\"{RUN_ID}\": \"{run_id}\", \"{RUN_NUMBER}\": \"1\"}}#if($tooFar), \"{INPUT_TOO_FAR_AHEAD}\": true#end}}"
}}
"###
    )
}

/// What [`submit_request_template`] adds to the execution input, worked out the same way in
/// Rust for the local target's POST /: `ExpiresAt`, and `TooFarAhead` for a start more than
/// [`MAX_AHEAD`] after `now_epoch_seconds` (whose expiry then counts from now).
pub fn post_input_extras(
    start_timestamp: &str,
    now_epoch_seconds: i64,
    retention_days: u32,
) -> Vec<(&'static str, Value)> {
    let mut extras = Vec::new();
    let start = super::timestamp::matches_pattern(start_timestamp)
        .then(|| chrono::DateTime::parse_from_rfc3339(start_timestamp).ok())
        .flatten()
        .map(|t| t.timestamp());
    let mut expires = Some(KEEP_FOREVER.to_string());
    if let Some(start) = start {
        let too_far = start - now_epoch_seconds > MAX_AHEAD.num_seconds();
        let base = if too_far { now_epoch_seconds } else { start };
        expires = Some(super::retention::expires_at(base, retention_days));
        if too_far {
            extras.push((INPUT_TOO_FAR_AHEAD, Value::Bool(true)));
        }
    }
    if retention_days == 0 {
        expires = Some(KEEP_FOREVER.to_string());
    }
    if let Some(e) = expires {
        extras.insert(0, (INPUT_EXPIRES_AT, Value::String(e)));
    }
    extras
}

/// Field of POST /'s answer that says whether a retry of the same request is safe.
pub const ANSWER_IDEMPOTENT: &str = "idempotent";
/// Field of POST /'s answer that explains [`ANSWER_IDEMPOTENT`] when it is false.
pub const ANSWER_NOTE: &str = "note";
/// The note given when a POST had no `Id`.
pub const NOT_IDEMPOTENT_NOTE: &str = "no Id was given, so a retry of this request starts another job; send an Id to make retries safe";

/// StartExecution's answer -> `{"jobId", "executionArn", "idempotent", "note"?}`. The job Id is
/// the ARN's last field; it equals the request id exactly when the POST had no `Id`.
pub fn submit_response_template() -> String {
    let arn = json_escaped("$root.executionArn");
    let job_id = json_escaped("$jobId");
    format!(
        r###"#set($root = $input.path('$'))
#set($jobId = "$!root.executionArn.replaceAll('^.*:', '')")
{{"jobId": "{job_id}", "executionArn": "{arn}", #if($jobId == $context.requestId)"{ANSWER_IDEMPOTENT}": false, "{ANSWER_NOTE}": "{NOT_IDEMPOTENT_NOTE}"#else"{ANSWER_IDEMPOTENT}": true#end}}
"###
    )
}

/// Error codes (`__type` after its `#`) that mean "slow down": answered 429, not 400.
pub(crate) const THROTTLING_ERRORS: [&str; 3] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
];

/// Any 4xx/5xx from the service -> `{"error", "message"}`, never the raw service body.
///
/// Step Functions names the text `message`, DynamoDB `Message`: either is read, and the body is
/// valid JSON when there is neither (or no `__type`). Throttling becomes 429 through
/// `$context.responseOverride.status`, because an AWS integration's selection pattern only sees
/// the status code, 400 for throttling and for bad requests alike.
pub fn error_response_template() -> String {
    let kind = json_escaped("$kind");
    let message = json_escaped("$message");
    let throttling = THROTTLING_ERRORS.join("|");
    format!(
        r##"#set($kind = "$!input.path('$.__type')")
#set($kind = $kind.replaceAll("^.*#", ""))
#if($kind == "")#set($kind = "ServiceError")#end
#set($message = "$!input.path('$.message')")
#if($message == "")#set($message = "$!input.path('$.Message')")#end
#if($kind.matches("^({throttling})$"))#set($context.responseOverride.status = 429)#end
{{"error": "{kind}", "message": "{message}"}}
"##
    )
}

/// GET /status -> Scan, one page; with `?status=S`, a Query on the status index instead
/// (`super::status_index`). `limit` is 1..=1000, absent or empty meaning
/// [`DEFAULT_PAGE_SIZE`]; anything else becomes `Limit: 0`, which DynamoDB refuses with 400
/// ValidationException, as the local target answers;
/// `nextToken` is what GET /status returned: base64url without padding of the last key
/// (`core::page_token`; a Query's key is `Id SPACE StartActionAt`), which needs no
/// percent-encoding, so it comes back unchanged whether or not the client encodes query values.
/// Base64 padding is put back before decoding. A token that cannot be one yields an empty key,
/// which DynamoDB refuses (400), rather than the first page again.
pub fn status_request_template() -> String {
    let key = json_escaped("$key");
    let query = status_index::query_request_body(TABLE_NAME_VAR, json_escaped);
    let limit_pattern = page_limit::pattern();
    format!(
        r##"#set($limit = "$!input.params('limit')")
#if($limit == "")#set($limit = "{DEFAULT_PAGE_SIZE}")#elseif(!$limit.matches("{limit_pattern}"))#set($limit = "0")#end
#set($token = "$!input.params('nextToken')")
#set($key = "")
#if($token.matches("^[A-Za-z0-9_-]+$") && $token.length() % 4 != 1)
#set($b64 = $token.replaceAll("-", "+").replaceAll("_", "/"))
#if($b64.length() % 4 == 2)#set($b64 = "$b64==")#elseif($b64.length() % 4 == 3)#set($b64 = "$b64=")#end
#set($key = $util.base64Decode($b64))
#end
#set($status = "$!input.params('{STATUS_PARAM}')")
#if($status != "")
{query}
#else
#set($target = "{SCAN_TARGET}")
{{
  "TableName": "${{{TABLE_NAME_VAR}}}",
  "Limit": $limit,
  "ProjectionExpression": "#id, #at, #status, #updated, #error",
  "ExpressionAttributeNames": {{"#id": "{ATTR_ID}", "#at": "{ATTR_START_ACTION_AT}", "#status": "{ATTR_PROCESS_STATUS}", "#updated": "{ATTR_LAST_UPDATED}", "#error": "{ATTR_ERROR}"}}#if($token != ""),
  "ExclusiveStartKey": {{"{ATTR_ID}": {{"S": "{key}"}}}}#end
}}
#end
#set($context.requestOverride.header.X-Amz-Target = $target)
"##
    )
}

/// One string attribute of a scanned item as a JSON member: escaped text, or null when absent.
fn item_member(attr: &str) -> String {
    format!(
        r###""{attr}": #if("$!item.{attr}.S" != "")"{}"#else null#end"###,
        json_escaped(&format!("$item.{attr}.S"))
    )
}

/// Scan's answer -> `{"items": [...], "nextToken"?: "..."}`, valid JSON whatever the items hold.
pub fn status_response_template() -> String {
    let members = [
        ATTR_ID,
        ATTR_START_ACTION_AT,
        ATTR_LAST_UPDATED,
        ATTR_PROCESS_STATUS,
        ATTR_ERROR,
    ]
    .map(item_member)
    .join(", ");
    // A Query's last key also holds StartActionAt: the token carries `Id SPACE StartActionAt`
    // (status_index::query_token_text).
    format!(
        r###"#set($root = $input.path('$'))
#set($last = "$!root.LastEvaluatedKey.{ATTR_ID}.S")
#if($last != "" && "$!root.LastEvaluatedKey.{ATTR_START_ACTION_AT}.S" != "")#set($last = "$last $root.LastEvaluatedKey.{ATTR_START_ACTION_AT}.S")#end
{{"items": [
#foreach($item in $root.Items)
  {{{members}}}#if($foreach.hasNext),#end
#end
]#if($last != ""), "nextToken": "$util.base64Encode($last).replaceAll('[+]', '-').replaceAll('/', '_').replaceAll('=', '')"#end}}
"###
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn_intrinsics::sub_variables;

    #[test]
    fn templates_only_use_the_variables_fn_sub_is_given() {
        assert_eq!(
            sub_variables(&submit_request_template()),
            [
                RETENTION_DAYS_VAR,
                RETENTION_DAYS_VAR,
                STATE_MACHINE_ARN_VAR
            ]
        );
        let status = status_request_template();
        let mut status_vars = sub_variables(&status);
        status_vars.dedup();
        assert_eq!(status_vars, [TABLE_NAME_VAR]);
        for t in [
            submit_response_template(),
            error_response_template(),
            status_response_template(),
        ] {
            assert!(sub_variables(&t).is_empty(), "{t}");
        }
    }

    #[test]
    fn no_user_value_is_interpolated_raw() {
        // Every `$input`/`$item`/`$root`/`$id` reference inside a quoted JSON value goes through
        // escapeJavaScript (the sample writes "$input.path('$.StartTimestamp')" raw).
        for t in [
            submit_request_template(),
            submit_response_template(),
            status_response_template(),
        ] {
            for line in t.lines() {
                for raw in ["\"$input", "\"$item", "\"$root", "\"$id\""] {
                    assert!(!line.contains(raw), "raw interpolation in: {line}");
                }
            }
        }
    }

    #[test]
    fn schema_requires_a_timestamp_and_rejects_unknown_fields() {
        let s = job_request_schema();
        assert_eq!(s["required"], json!(["StartTimestamp"]));
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(s["properties"]["Id"]["pattern"], ID_PATTERN);
    }
}
