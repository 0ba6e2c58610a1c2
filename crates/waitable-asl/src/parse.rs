//! Parsing a definition into a [`Machine`]: the top level, each state by its type, and the
//! transitions between them.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::choice;
use super::fields::{
    Res, allowed, catchers, path_field, place, retriers, select, string_field, unsupported,
};
use super::limits;
use super::model::{Kind, Machine, Place, Select, State, Unsupported, WaitFor};
use super::path::Path;
use super::task_check::{check_dynamo_parameters, check_template, dynamo_op};

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

/// The fields each state type may have (anything else is refused by name).
const PASS_FIELDS: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "Result",
    "Next",
    "End",
];
const TASK_FIELDS: &[&str] = &[
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
];
const WAIT_FIELDS: &[&str] = &[
    "Seconds",
    "Timestamp",
    "SecondsPath",
    "TimestampPath",
    "InputPath",
    "OutputPath",
    "Next",
    "End",
];
const CHOICE_FIELDS: &[&str] = &["Choices", "Default", "InputPath", "OutputPath"];
const SUCCEED_FIELDS: &[&str] = &["InputPath", "OutputPath"];
const FAIL_FIELDS: &[&str] = &["Error", "Cause", "ErrorPath", "CausePath"];

/// One state: the fields its type allows, its kind, then what every state of that type
/// shares (the transition, the paths, the parameters).
fn parse_state(name: &str, raw: &Value) -> Res<State> {
    let obj = raw
        .as_object()
        .ok_or_else(|| unsupported(name, "a state must be a JSON object"))?;
    let ty = obj
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| unsupported(name, "Type is missing"))?;
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
    match ty {
        "Pass" => {
            allowed(name, obj, PASS_FIELDS)?;
            state.kind = Kind::Pass {
                result: obj.get("Result").cloned(),
            };
        }
        "Task" => {
            allowed(name, obj, TASK_FIELDS)?;
            task(name, obj, &mut state)?;
        }
        "Wait" => {
            allowed(name, obj, WAIT_FIELDS)?;
            state.kind = Kind::Wait(wait_for(name, obj)?);
        }
        "Choice" => {
            allowed(name, obj, CHOICE_FIELDS)?;
            state.kind = choice_state(name, obj)?;
        }
        "Succeed" => allowed(name, obj, SUCCEED_FIELDS)?,
        "Fail" => {
            allowed(name, obj, FAIL_FIELDS)?;
            state.kind = fail(name, obj)?;
        }
        "Map" | "Parallel" => {
            return Err(unsupported(
                name,
                format!("{ty} states are not supported by the local engine"),
            ));
        }
        other => return Err(unsupported(name, format!("unknown state type {other}"))),
    }
    if matches!(ty, "Pass" | "Task" | "Wait") {
        state.next = next_or_end(name, obj)?;
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

/// A state that moves on: its Next, or `None` with `End: true`; exactly one of the two.
fn next_or_end(name: &str, obj: &Map<String, Value>) -> Res<Option<String>> {
    let next = string_field(name, obj, "Next")?;
    let end = obj.get("End") == Some(&Value::Bool(true));
    match (next, end) {
        (Some(_), true) => Err(unsupported(name, "has both Next and End")),
        (None, false) => Err(unsupported(name, "needs Next or End: true")),
        (next, _) => Ok(next),
    }
}

/// A Task: a delivery or a DynamoDB call with checked parameters, its Retry and Catch, and
/// its ResultSelector.
fn task(name: &str, obj: &Map<String, Value>, state: &mut State) -> Res<()> {
    let resource = string_field(name, obj, "Resource")?
        .ok_or_else(|| unsupported(name, "a Task needs Resource"))?;
    if let Some(op) = super::deliver_task::DeliverOp::of(&resource) {
        super::deliver_task::check_parameters(name, op, obj.get("Parameters"))?;
        state.kind = Kind::Deliver { op };
    } else {
        let op = dynamo_op(name, &resource)?;
        check_dynamo_parameters(name, &op, obj.get("Parameters"))?;
        state.kind = Kind::Task { op };
    }
    state.retry = retriers(name, obj)?;
    state.catch = catchers(name, obj)?;
    if let Some(rs) = obj.get("ResultSelector") {
        check_template(name, "ResultSelector", rs)?;
        state.result_selector = Some(rs.clone());
    }
    Ok(())
}

/// What a Wait waits for: exactly one of Seconds, Timestamp, SecondsPath, TimestampPath.
fn wait_for(name: &str, obj: &Map<String, Value>) -> Res<WaitFor> {
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
    Ok(match specs[0] {
        "Seconds" => WaitFor::Seconds(
            obj["Seconds"]
                .as_u64()
                .filter(|s| *s <= limits::MAX_WAIT_SECONDS_FIELD)
                .ok_or_else(|| {
                    unsupported(
                        name,
                        format!(
                            "Seconds must be an integer from 0 to {}",
                            limits::MAX_WAIT_SECONDS_FIELD
                        ),
                    )
                })?,
        ),
        "Timestamp" => {
            let t = string_field(name, obj, "Timestamp")?.unwrap_or_default();
            if crate::timestamp::parse(&t).is_none() {
                return Err(unsupported(
                    name,
                    format!("Timestamp {t:?} is not an RFC 3339 timestamp"),
                ));
            }
            WaitFor::Timestamp(t)
        }
        "SecondsPath" => WaitFor::SecondsPath(path_field(name, obj, "SecondsPath")?.unwrap()),
        _ => WaitFor::TimestampPath(path_field(name, obj, "TimestampPath")?.unwrap()),
    })
}

/// A Choice: its rules, each with its Next, and its Default.
fn choice_state(name: &str, obj: &Map<String, Value>) -> Res<Kind> {
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
        let rule = choice::parse_rule(rule, true).map_err(|e| unsupported(name, e))?;
        choices.push((rule, next.to_string()));
    }
    Ok(Kind::Choice {
        choices,
        default: string_field(name, obj, "Default")?,
    })
}

/// A Fail: its Error and Cause, each fixed or by path.
fn fail(name: &str, obj: &Map<String, Value>) -> Res<Kind> {
    // "You can specify either Error or ErrorPath, but not both" (and Cause likewise):
    // "Fail workflow state", AWS Step Functions Developer Guide.
    for (fixed, path) in [("Error", "ErrorPath"), ("Cause", "CausePath")] {
        if obj.contains_key(fixed) && obj.contains_key(path) {
            return Err(unsupported(
                name,
                format!("a Fail state cannot have both {fixed} and {path}"),
            ));
        }
    }
    Ok(Kind::Fail {
        error: string_field(name, obj, "Error")?,
        cause: string_field(name, obj, "Cause")?,
        error_path: path_field(name, obj, "ErrorPath")?,
        cause_path: path_field(name, obj, "CausePath")?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn one_state(state: Value) -> Res<Machine> {
        parse(&json!({"StartAt": "S", "States": {"S": state}}))
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
                json!({"Type": "Pass", "Parameters": {"x.$": "States.JsonToString($.a)"}, "End": true}),
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
    fn expressions_given_by_path_are_checked_at_run_time_only() {
        let task = |params: Value| {
            one_state(
                json!({"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                             "Parameters": params, "End": true}),
            )
        };
        task(
            json!({"TableName": "t", "Key.$": "$.k", "UpdateExpression.$": "$.u",
                    "ConditionExpression.$": "$.c"}),
        )
        .unwrap();
        let err = task(json!({"TableName": "t", "UpdateExpression": "$.u"})).unwrap_err();
        assert!(err.to_string().contains("UpdateExpression"), "{err}");
    }

    #[test]
    fn a_fail_state_has_error_or_error_path_not_both() {
        let fail = |extra: Value| {
            let mut s = json!({"Type": "Fail"});
            s.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            one_state(s)
        };
        assert!(fail(json!({"Error": "E", "CausePath": "$.c"})).is_ok());
        assert!(fail(json!({"Error": "E", "ErrorPath": "$.e"})).is_err());
        assert!(fail(json!({"Cause": "C", "CausePath": "$.c"})).is_err());
    }

    #[test]
    fn wait_seconds_are_at_most_99999999() {
        let wait = |secs: u64| one_state(json!({"Type": "Wait", "Seconds": secs, "End": true}));
        assert!(wait(99_999_999).is_ok());
        let err = wait(100_000_000).unwrap_err();
        assert!(err.to_string().contains("0 to 99999999"), "{err}");
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
