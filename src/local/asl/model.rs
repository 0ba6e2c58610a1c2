//! A state machine definition parsed and checked once, at deploy time: anything the local
//! engine cannot run is refused with one line naming the state and the feature.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use super::choice;
use super::path::Path;
use crate::local::ddb;

/// Why a definition cannot run locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The state at fault, or None for the top level.
    pub state: Option<String>,
    pub feature: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            Some(s) => write!(f, "state {s:?}: {}", self.feature),
            None => write!(f, "{}", self.feature),
        }
    }
}

/// `InputPath`/`OutputPath`: absent means `$`, null means "an empty object".
#[derive(Debug, Clone, PartialEq)]
pub enum Select {
    All,
    Nothing,
    At(Path),
}

/// `ResultPath`: absent means `$` (the result replaces the input), null means "discard".
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    Discard,
    At(Path),
}

pub use crate::local::ddb::Op as DynamoOp;

#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    Seconds(u64),
    Timestamp(String),
    SecondsPath(Path),
    TimestampPath(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    pub errors: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub full_jitter: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    pub errors: Vec<String>,
    pub result_path: Place,
    pub next: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task {
        op: DynamoOp,
    },
    Wait(WaitFor),
    Choice {
        /// (rule, next) in order; rules are checked by [`choice::check_rule`].
        choices: Vec<(Value, String)>,
        default: Option<String>,
    },
    Succeed,
    Fail {
        error: Option<String>,
        cause: Option<String>,
        error_path: Option<Path>,
        cause_path: Option<Path>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub kind: Kind,
    pub input_path: Select,
    pub output_path: Select,
    pub result_path: Place,
    pub parameters: Option<Value>,
    pub result_selector: Option<Value>,
    /// None for End (and for Choice, Succeed and Fail).
    pub next: Option<String>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub start_at: String,
    pub states: HashMap<String, State>,
}

/// Error names defined by the States language (anything else a task raises is its own).
pub const KNOWN_STATES_ERRORS: [&str; 12] = [
    "States.ALL",
    "States.HeartbeatTimeout",
    "States.Timeout",
    "States.TaskFailed",
    "States.Permissions",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "States.QueryEvaluationError",
    "States.BranchFailed",
    "States.NoChoiceMatched",
    "States.IntrinsicFailure",
    "States.ExceedToleratedFailureThreshold",
];

const COMMON_FIELDS: [&str; 3] = ["Type", "Comment", "QueryLanguage"];

type Res<T> = Result<T, Unsupported>;

fn unsupported(state: &str, feature: impl Into<String>) -> Unsupported {
    Unsupported {
        state: Some(state.to_string()),
        feature: feature.into(),
    }
}

/// Parses the definition's JSON text and checks every state.
pub fn parse_text(text: &str) -> Res<Machine> {
    let value: Value = serde_json::from_str(text).map_err(|e| Unsupported {
        state: None,
        feature: format!("the definition is not valid JSON: {e}"),
    })?;
    parse(&value)
}

/// Checks a definition and turns it into a [`Machine`].
pub fn parse(def: &Value) -> Res<Machine> {
    let top = |feature: String| Unsupported {
        state: None,
        feature,
    };
    let obj = def
        .as_object()
        .ok_or_else(|| top("the definition is not a JSON object".into()))?;
    for key in obj.keys() {
        if !matches!(
            key.as_str(),
            "Comment" | "StartAt" | "States" | "Version" | "QueryLanguage"
        ) {
            return Err(top(format!(
                "top-level field {key} is not supported by the local engine"
            )));
        }
    }
    if obj.get("QueryLanguage").is_some_and(|q| q != "JSONPath") {
        return Err(top(
            "QueryLanguage JSONata is not supported by the local engine".into(),
        ));
    }
    let start_at = obj
        .get("StartAt")
        .and_then(Value::as_str)
        .ok_or_else(|| top("StartAt is missing".into()))?
        .to_string();
    let raw_states = obj
        .get("States")
        .and_then(Value::as_object)
        .ok_or_else(|| top("States is missing".into()))?;
    let mut states = HashMap::new();
    for (name, raw) in raw_states {
        states.insert(name.clone(), parse_state(name, raw)?);
    }
    let machine = Machine { start_at, states };
    check_targets(&machine)?;
    Ok(machine)
}

fn check_targets(m: &Machine) -> Res<()> {
    let exists = |from: &str, to: &str| {
        if m.states.contains_key(to) {
            Ok(())
        } else {
            Err(unsupported(
                from,
                format!("transition to missing state {to:?}"),
            ))
        }
    };
    if !m.states.contains_key(&m.start_at) {
        return Err(Unsupported {
            state: None,
            feature: format!("StartAt names missing state {:?}", m.start_at),
        });
    }
    for (name, st) in &m.states {
        if let Some(n) = &st.next {
            exists(name, n)?;
        }
        for c in &st.catch {
            exists(name, &c.next)?;
        }
        if let Kind::Choice { choices, default } = &st.kind {
            for (_, n) in choices {
                exists(name, n)?;
            }
            if let Some(d) = default {
                exists(name, d)?;
            }
        }
    }
    Ok(())
}

fn allowed(name: &str, obj: &Map<String, Value>, fields: &[&str]) -> Res<()> {
    for key in obj.keys() {
        if !COMMON_FIELDS.contains(&key.as_str()) && !fields.contains(&key.as_str()) {
            return Err(unsupported(
                name,
                format!("field {key} is not supported by the local engine"),
            ));
        }
    }
    if obj.get("QueryLanguage").is_some_and(|q| q != "JSONPath") {
        return Err(unsupported(
            name,
            "QueryLanguage JSONata is not supported by the local engine",
        ));
    }
    Ok(())
}

fn path_field(name: &str, obj: &Map<String, Value>, field: &str) -> Res<Option<Path>> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Path::parse(s)
            .map(Some)
            .map_err(|e| unsupported(name, format!("{field}: {e}"))),
        Some(_) => Err(unsupported(name, format!("{field} must be a string"))),
    }
}

fn select(name: &str, obj: &Map<String, Value>, field: &str) -> Res<Select> {
    if obj.get(field) == Some(&Value::Null) {
        return Ok(Select::Nothing);
    }
    Ok(path_field(name, obj, field)?.map_or(Select::All, Select::At))
}

fn place(name: &str, obj: &Map<String, Value>, field: &str) -> Res<Place> {
    if obj.get(field) == Some(&Value::Null) {
        return Ok(Place::Discard);
    }
    let p = path_field(name, obj, field)?.unwrap_or(Path {
        context: false,
        segments: vec![],
    });
    if p.context {
        return Err(unsupported(
            name,
            format!("{field} cannot point into the context object"),
        ));
    }
    Ok(Place::At(p))
}

fn string_field(name: &str, obj: &Map<String, Value>, field: &str) -> Res<Option<String>> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(unsupported(name, format!("{field} must be a string"))),
    }
}

/// Checks a Parameters/ResultSelector template: every `.$` value must be a path we can follow
/// (intrinsic functions such as `States.Format(...)` are not supported).
fn check_template(name: &str, field: &str, v: &Value) -> Res<()> {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if k.ends_with(".$") {
                    let text = v.as_str().ok_or_else(|| {
                        unsupported(name, format!("{field}: {k} must be a path string"))
                    })?;
                    if text.starts_with("States.") {
                        return Err(unsupported(
                            name,
                            format!(
                                "{field}: intrinsic function {text} is not supported by the local engine"
                            ),
                        ));
                    }
                    Path::parse(text).map_err(|e| unsupported(name, format!("{field}: {e}")))?;
                } else {
                    check_template(name, field, v)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .try_for_each(|i| check_template(name, field, i)),
        _ => Ok(()),
    }
}

fn error_list(name: &str, v: &Map<String, Value>, what: &str) -> Res<Vec<String>> {
    let list = v
        .get("ErrorEquals")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| unsupported(name, format!("{what} needs a non-empty ErrorEquals")))?;
    let errors: Vec<String> = list
        .iter()
        .map(|e| {
            e.as_str()
                .map(str::to_string)
                .ok_or_else(|| unsupported(name, format!("{what}: error names must be strings")))
        })
        .collect::<Res<_>>()?;
    if errors.iter().any(|e| e == "States.ALL") && errors.len() > 1 {
        return Err(unsupported(
            name,
            format!("{what}: States.ALL must appear alone"),
        ));
    }
    Ok(errors)
}

fn number(v: &Map<String, Value>, field: &str) -> Option<f64> {
    v.get(field).and_then(Value::as_f64)
}

/// The objects of the array `field` ("Retry" or "Catch"), each checked to hold only `allowed`
/// keys. A missing field is an empty list.
fn field_objects<'a>(
    name: &str,
    obj: &'a Map<String, Value>,
    field: &str,
    allowed: &[&str],
) -> Res<Vec<&'a Map<String, Value>>> {
    let Some(list) = obj.get(field) else {
        return Ok(vec![]);
    };
    let list = list
        .as_array()
        .ok_or_else(|| unsupported(name, format!("{field} must be an array")))?;
    list.iter()
        .map(|item| {
            let o = item.as_object().ok_or_else(|| {
                unsupported(name, format!("each {field} entry must be an object"))
            })?;
            if let Some(key) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(unsupported(
                    name,
                    format!("{field} field {key} is not supported by the local engine"),
                ));
            }
            Ok(o)
        })
        .collect()
}

fn retriers(name: &str, obj: &Map<String, Value>) -> Res<Vec<Retrier>> {
    const ALLOWED: &[&str] = &[
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    ];
    field_objects(name, obj, "Retry", ALLOWED)?
        .into_iter()
        .map(|o| {
            let full_jitter = match o.get("JitterStrategy").and_then(Value::as_str) {
                None | Some("NONE") => false,
                Some("FULL") => true,
                Some(other) => {
                    return Err(unsupported(
                        name,
                        format!("JitterStrategy {other} is not supported"),
                    ));
                }
            };
            Ok(Retrier {
                errors: error_list(name, o, "Retry")?,
                interval_seconds: number(o, "IntervalSeconds").unwrap_or(1.0),
                max_attempts: number(o, "MaxAttempts").unwrap_or(3.0) as u32,
                backoff_rate: number(o, "BackoffRate").unwrap_or(2.0),
                max_delay_seconds: number(o, "MaxDelaySeconds"),
                full_jitter,
            })
        })
        .collect()
}

fn catchers(name: &str, obj: &Map<String, Value>) -> Res<Vec<Catcher>> {
    const ALLOWED: &[&str] = &["ErrorEquals", "ResultPath", "Next", "Comment"];
    field_objects(name, obj, "Catch", ALLOWED)?
        .into_iter()
        .map(|o| {
            Ok(Catcher {
                errors: error_list(name, o, "Catch")?,
                result_path: place(name, o, "ResultPath")?,
                next: string_field(name, o, "Next")?
                    .ok_or_else(|| unsupported(name, "a Catcher needs Next"))?,
            })
        })
        .collect()
}

/// `arn:<partition>:states:::dynamodb:<op>` (request-response only).
fn dynamo_op(name: &str, resource: &str) -> Res<DynamoOp> {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    let op = match parts.as_slice() {
        ["arn", _partition, "states", "", "", service_op] => service_op.strip_prefix("dynamodb:"),
        _ => None,
    };
    match op {
        Some("putItem") => Ok(DynamoOp::PutItem),
        Some("updateItem") => Ok(DynamoOp::UpdateItem),
        Some("getItem") => Ok(DynamoOp::GetItem),
        Some("deleteItem") => Ok(DynamoOp::DeleteItem),
        _ => Err(unsupported(
            name,
            format!(
                "Task resource {resource} is not supported by the local engine (only dynamodb:putItem, updateItem, getItem, deleteItem)"
            ),
        )),
    }
}

/// Checks the expressions of a DynamoDB task that are literal in the definition.
fn check_dynamo_parameters(name: &str, op: &DynamoOp, params: Option<&Value>) -> Res<()> {
    let params = params
        .and_then(Value::as_object)
        .ok_or_else(|| unsupported(name, "a DynamoDB task needs Parameters"))?;
    for (key, v) in params {
        let key = key.trim_end_matches(".$");
        if !matches!(
            key,
            "TableName"
                | "Item"
                | "Key"
                | "ConditionExpression"
                | "UpdateExpression"
                | "ExpressionAttributeNames"
                | "ExpressionAttributeValues"
                | "ReturnValues"
                | "ProjectionExpression"
                | "ConsistentRead"
        ) {
            return Err(unsupported(
                name,
                format!("DynamoDB parameter {key} is not supported by the local engine"),
            ));
        }
        if let Some(text) = v.as_str() {
            let checked = match key {
                "ConditionExpression" => ddb::parse_condition(text).map(|_| ()),
                "UpdateExpression" if *op == DynamoOp::UpdateItem => {
                    ddb::parse_update(text).map(|_| ())
                }
                _ => Ok(()),
            };
            checked.map_err(|e| unsupported(name, format!("{key}: {e}")))?;
        }
    }
    Ok(())
}

fn parse_state(name: &str, raw: &Value) -> Res<State> {
    let obj = raw
        .as_object()
        .ok_or_else(|| unsupported(name, "a state must be a JSON object"))?;
    let ty = obj
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| unsupported(name, "Type is missing"))?;
    let next = string_field(name, obj, "Next")?;
    let end = obj.get("End") == Some(&Value::Bool(true));
    let mut state = State {
        kind: Kind::Succeed,
        input_path: Select::All,
        output_path: Select::All,
        result_path: Place::At(Path {
            context: false,
            segments: vec![],
        }),
        parameters: None,
        result_selector: None,
        next: None,
        retry: vec![],
        catch: vec![],
    };
    let flow = |state: &mut State| -> Res<()> {
        match (&next, end) {
            (Some(_), true) => Err(unsupported(name, "has both Next and End")),
            (None, false) => Err(unsupported(name, "needs Next or End: true")),
            _ => {
                state.next = next.clone();
                Ok(())
            }
        }
    };
    match ty {
        "Pass" => {
            allowed(
                name,
                obj,
                &[
                    "InputPath",
                    "OutputPath",
                    "ResultPath",
                    "Parameters",
                    "Result",
                    "Next",
                    "End",
                ],
            )?;
            state.kind = Kind::Pass {
                result: obj.get("Result").cloned(),
            };
            flow(&mut state)?;
        }
        "Task" => {
            allowed(
                name,
                obj,
                &[
                    "Resource",
                    "InputPath",
                    "OutputPath",
                    "ResultPath",
                    "Parameters",
                    "ResultSelector",
                    "Retry",
                    "Catch",
                    "TimeoutSeconds",
                    "Next",
                    "End",
                ],
            )?;
            let resource = string_field(name, obj, "Resource")?
                .ok_or_else(|| unsupported(name, "a Task needs Resource"))?;
            let op = dynamo_op(name, &resource)?;
            check_dynamo_parameters(name, &op, obj.get("Parameters"))?;
            state.kind = Kind::Task { op };
            state.retry = retriers(name, obj)?;
            state.catch = catchers(name, obj)?;
            if let Some(rs) = obj.get("ResultSelector") {
                check_template(name, "ResultSelector", rs)?;
                state.result_selector = Some(rs.clone());
            }
            flow(&mut state)?;
        }
        "Wait" => {
            allowed(
                name,
                obj,
                &[
                    "Seconds",
                    "Timestamp",
                    "SecondsPath",
                    "TimestampPath",
                    "InputPath",
                    "OutputPath",
                    "Next",
                    "End",
                ],
            )?;
            let specs: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
                .into_iter()
                .filter(|f| obj.contains_key(*f))
                .collect();
            if specs.len() != 1 {
                return Err(unsupported(
                    name,
                    "a Wait needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath",
                ));
            }
            let wait =
                match specs[0] {
                    "Seconds" => WaitFor::Seconds(obj["Seconds"].as_u64().ok_or_else(|| {
                        unsupported(name, "Seconds must be a non-negative integer")
                    })?),
                    "Timestamp" => {
                        let t = string_field(name, obj, "Timestamp")?.unwrap_or_default();
                        if choice::parse_timestamp(&t).is_none() {
                            return Err(unsupported(
                                name,
                                format!("Timestamp {t:?} is not an RFC 3339 timestamp"),
                            ));
                        }
                        WaitFor::Timestamp(t)
                    }
                    "SecondsPath" => {
                        WaitFor::SecondsPath(path_field(name, obj, "SecondsPath")?.unwrap())
                    }
                    _ => WaitFor::TimestampPath(path_field(name, obj, "TimestampPath")?.unwrap()),
                };
            state.kind = Kind::Wait(wait);
            flow(&mut state)?;
        }
        "Choice" => {
            allowed(
                name,
                obj,
                &["Choices", "Default", "InputPath", "OutputPath"],
            )?;
            let list = obj
                .get("Choices")
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty())
                .ok_or_else(|| unsupported(name, "a Choice needs a non-empty Choices array"))?;
            let mut choices = Vec::new();
            for rule in list {
                let next = rule
                    .get("Next")
                    .and_then(Value::as_str)
                    .ok_or_else(|| unsupported(name, "every choice rule needs Next"))?;
                choice::check_rule(rule, true).map_err(|e| unsupported(name, e))?;
                choices.push((rule.clone(), next.to_string()));
            }
            state.kind = Kind::Choice {
                choices,
                default: string_field(name, obj, "Default")?,
            };
        }
        "Succeed" => {
            allowed(name, obj, &["InputPath", "OutputPath"])?;
        }
        "Fail" => {
            allowed(name, obj, &["Error", "Cause", "ErrorPath", "CausePath"])?;
            state.kind = Kind::Fail {
                error: string_field(name, obj, "Error")?,
                cause: string_field(name, obj, "Cause")?,
                error_path: path_field(name, obj, "ErrorPath")?,
                cause_path: path_field(name, obj, "CausePath")?,
            };
        }
        "Map" | "Parallel" => {
            return Err(unsupported(
                name,
                format!("{ty} states are not supported by the local engine"),
            ));
        }
        other => return Err(unsupported(name, format!("unknown state type {other}"))),
    }
    if matches!(ty, "Pass" | "Task") {
        state.result_path = place(name, obj, "ResultPath")?;
        if let Some(p) = obj.get("Parameters") {
            check_template(name, "Parameters", p)?;
            state.parameters = Some(p.clone());
        }
    }
    if ty != "Fail" {
        state.input_path = select(name, obj, "InputPath")?;
        state.output_path = select(name, obj, "OutputPath")?;
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn one_state(state: Value) -> Res<Machine> {
        parse(&json!({"StartAt": "S", "States": {"S": state}}))
    }

    #[test]
    fn the_generated_definition_is_accepted() {
        let m = parse_text(&crate::core::asl::resolved("t", "aws")).unwrap();
        assert_eq!(m.start_at, "ValidateInput");
        assert!(matches!(
            m.states["WaitUntil"].kind,
            Kind::Wait(WaitFor::TimestampPath(_))
        ));
        assert_eq!(m.states["SetFinalStatus"].catch.len(), 1);
        assert_eq!(m.states["SetFinalStatus"].retry[0].max_attempts, 5);
        assert_eq!(m.states["SetInitialStatus"].result_path, Place::Discard);
    }

    #[test]
    fn unsupported_features_are_named_with_their_state() {
        let cases = [
            (json!({"Type": "Map", "End": true}), "Map states"),
            (json!({"Type": "Parallel", "End": true}), "Parallel states"),
            (
                json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true}),
                "Task resource",
            ),
            (
                json!({"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem.sync", "Parameters": {}, "End": true}),
                "Task resource",
            ),
            (
                json!({"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem", "Parameters": {"UpdateExpression": "ADD n :one"}, "End": true}),
                "UpdateExpression",
            ),
            (
                json!({"Type": "Pass", "Parameters": {"x.$": "States.Format('{}', $.a)"}, "End": true}),
                "intrinsic function",
            ),
            (
                json!({"Type": "Pass", "Assign": {"x": 1}, "End": true}),
                "field Assign",
            ),
            (json!({"Type": "Wait", "End": true}), "exactly one of"),
            (json!({"Type": "Pass"}), "needs Next or End"),
            (json!({"Type": "Pass", "Next": "Nowhere"}), "missing state"),
            (
                json!({"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEqualsFancy": "a", "Next": "S"}]}),
                "StringEqualsFancy",
            ),
            (
                json!({"Type": "Pass", "InputPath": "$..x", "End": true}),
                "recursive descent",
            ),
        ];
        for (state, feature) in cases {
            let err = one_state(state.clone()).unwrap_err();
            assert_eq!(err.state.as_deref(), Some("S"), "{state}");
            assert!(
                err.to_string().contains(feature),
                "{err} (expected {feature})"
            );
        }
        let err = parse(
            &json!({"StartAt": "S", "TimeoutSeconds": 5, "States": {"S": {"Type": "Succeed"}}}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("TimeoutSeconds"), "{err}");
    }

    #[test]
    fn paths_default_and_null() {
        let m =
            one_state(json!({"Type": "Pass", "InputPath": null, "ResultPath": null, "End": true}))
                .unwrap();
        let s = &m.states["S"];
        assert_eq!(s.input_path, Select::Nothing);
        assert_eq!(s.output_path, Select::All);
        assert_eq!(s.result_path, Place::Discard);
    }
}
