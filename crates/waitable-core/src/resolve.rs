//! Evaluates a template's `Outputs` against what was deployed (physical IDs, parameter values,
//! pseudo parameters). Used when CloudFormation returns a finished stack without outputs, as
//! emulators do for stacks made through change sets. Pure.

use std::collections::HashMap;

use serde_json::Value;

use super::cfn_intrinsics::{sub_variables, substitute};

/// What `Ref` and `${...}` can stand for: logical IDs (physical IDs), parameters and pseudo
/// parameters (`AWS::Region`, `AWS::URLSuffix`, ...).
pub type Names = HashMap<String, String>;

/// The value of one output expression, when it only uses `Ref` and string `Fn::Sub`
/// (`Fn::GetAtt` and the rest cannot be worked out from IDs alone: `None`).
pub(crate) fn evaluate(expr: &Value, names: &Names) -> Option<String> {
    match expr {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) if map.len() == 1 => {
            if let Some(Value::String(name)) = map.get("Ref") {
                return names.get(name).cloned();
            }
            if let Some(Value::String(text)) = map.get("Fn::Sub") {
                let mut vars = Vec::new();
                for var in sub_variables(text) {
                    vars.push((var, names.get(var)?.as_str()));
                }
                return Some(substitute(text, &vars));
            }
            None
        }
        _ => None,
    }
}

/// Every output of `template` that can be evaluated, as (key, value).
pub fn outputs(template: &Value, names: &Names) -> Vec<(String, String)> {
    template["Outputs"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(key, spec)| Some((key.clone(), evaluate(&spec["Value"], names)?)))
        .collect()
}

/// The `AWS::URLSuffix` of a region.
pub fn url_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::template::{StackSpec, template};

    #[test]
    fn evaluates_the_waitable_outputs_from_ids() {
        let names: Names = [
            ("Api", "abc123"),
            ("StateMachine", "arn:aws:states:eu-west-1:1:stateMachine:sm"),
            ("JobsTable", "jobs-table"),
            ("StageName", "dev"),
            ("AWS::Region", "eu-west-1"),
            ("AWS::URLSuffix", url_suffix("eu-west-1")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let got = outputs(&template(&StackSpec::default()), &names);
        assert_eq!(
            got,
            [
                (
                    "ApiUrl".to_string(),
                    "https://abc123.execute-api.eu-west-1.amazonaws.com/dev".to_string()
                ),
                (
                    "StateMachineArn".to_string(),
                    "arn:aws:states:eu-west-1:1:stateMachine:sm".to_string()
                ),
                ("TableName".to_string(), "jobs-table".to_string()),
            ]
        );
    }

    #[test]
    fn unknown_names_and_other_intrinsics_give_nothing() {
        let names = Names::new();
        assert_eq!(evaluate(&json!({"Ref": "X"}), &names), None);
        assert_eq!(evaluate(&json!({"Fn::Sub": "${X}"}), &names), None);
        assert_eq!(evaluate(&json!({"Fn::GetAtt": ["X", "Arn"]}), &names), None);
        assert_eq!(evaluate(&json!("plain"), &names).as_deref(), Some("plain"));
        assert_eq!(url_suffix("cn-north-1"), "amazonaws.com.cn");
    }
}
