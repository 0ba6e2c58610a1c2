//! The HTTP API contract on API Gateway: request model and VTL mapping templates.
//!
//! Every value that comes from a user (the request body, the Id, query parameters, or an item
//! in the table) passes through [`json_escaped`] before it lands in a JSON document. API
//! Gateway's `$util.escapeJavaScript` escapes `'` as `\'`, which is not valid JSON, hence the
//! `replaceAll` after each call. The sample's templates interpolate raw text (JSON injection)
//! and miss a comma in GET /status (invalid JSON): both are fixed here and tested with a real
//! VTL engine in `tests/`.

use serde_json::{Value, json};

use super::ids::{STATE_MACHINE_ARN_VAR, TABLE_NAME_VAR};
use super::job::{
    ATTR_ERROR, ATTR_ID, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, ATTR_START_ACTION_AT, INPUT_ID,
    INPUT_PAYLOAD, INPUT_START_TIMESTAMP,
};
use super::status_index::{self, STATUS_PARAM};

pub use super::job_id::ID_PATTERN;
pub use super::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
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
pub fn json_escaped(expr: &str) -> String {
    format!(r#"$util.escapeJavaScript({expr}).replaceAll("\\'","'")"#)
}

/// POST / -> StartExecution. The execution name is the caller's Id, or the request id, so a
/// retried request can never start a second job. The Payload travels as JSON text inside the
/// input (escaped twice: once as a string in the input, once as the input in the body).
pub fn submit_request_template() -> String {
    let id = json_escaped("$id");
    let timestamp = json_escaped(&format!("$input.json('$.{INPUT_START_TIMESTAMP}')"));
    let payload_text = json_escaped(&format!("$input.json('$.{INPUT_PAYLOAD}')"));
    let payload = json_escaped(&payload_text);
    format!(
        r###"#set($id = "$!input.path('$.{INPUT_ID}')")
#if($id == "")#set($id = $context.requestId)#end
#set($payload = "$!input.path('$.{INPUT_PAYLOAD}')")
{{
  "stateMachineArn": "${{{STATE_MACHINE_ARN_VAR}}}",
  "name": "{id}",
  "input": "{{\"{INPUT_START_TIMESTAMP}\": {timestamp}#if($payload != ""), \"{INPUT_PAYLOAD}\": \"{payload}\"#end}}"
}}
"###
    )
}

/// StartExecution's answer -> `{"jobId", "executionArn"}`. The job Id is the ARN's last field.
pub fn submit_response_template() -> String {
    let arn = json_escaped("$root.executionArn");
    let job_id = json_escaped(r#"$root.executionArn.replaceAll("^.*:", "")"#);
    format!(
        r###"#set($root = $input.path('$'))
{{"jobId": "{job_id}", "executionArn": "{arn}"}}
"###
    )
}

/// Any 4xx/5xx from the service -> `{"error", "message"}`, never the raw service body.
pub fn error_response_template() -> String {
    let kind = json_escaped(r##"$input.path('$.__type').replaceAll("^.*#", "")"##);
    let message = json_escaped("$input.path('$.message')");
    format!(
        r#"{{"error": "{kind}", "message": "{message}"}}
"#
    )
}

/// GET /status -> Scan, one page; with `?status=S`, a Query on the status index instead
/// (`super::status_index`). `limit` is 1..=1000 (anything else means the default);
/// `nextToken` is the base64 of the last key, as GET /status returned it.
pub fn status_request_template() -> String {
    let key = json_escaped("$util.base64Decode($token)");
    let query = status_index::query_request_body(TABLE_NAME_VAR, json_escaped);
    format!(
        r##"#set($limit = "$!input.params('limit')")
#if(!$limit.matches("^([1-9][0-9]{{0,2}}|{MAX_PAGE_SIZE})$"))#set($limit = "{DEFAULT_PAGE_SIZE}")#end
#set($token = "$!input.params('nextToken')")
#set($status = "$!input.params('{STATUS_PARAM}')")
#if($status != "")
#set($key = "")#if($token != "")#set($key = $util.base64Decode($token))#end
{query}
#else
{{
  "TableName": "${{{TABLE_NAME_VAR}}}",
  "Limit": $limit,
  "ProjectionExpression": "#id, #at, #status, #updated, #error",
  "ExpressionAttributeNames": {{"#id": "{ATTR_ID}", "#at": "{ATTR_START_ACTION_AT}", "#status": "{ATTR_PROCESS_STATUS}", "#updated": "{ATTR_LAST_UPDATED}", "#error": "{ATTR_ERROR}"}}#if($token != ""),
  "ExclusiveStartKey": {{"{ATTR_ID}": {{"S": "{key}"}}}}#end
}}
#end
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
]#if($last != ""), "nextToken": "$util.urlEncode($util.base64Encode($last))"#end}}
"###
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::intrinsics::sub_variables;

    #[test]
    fn templates_only_use_the_variables_fn_sub_is_given() {
        assert_eq!(
            sub_variables(&submit_request_template()),
            [STATE_MACHINE_ARN_VAR]
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
