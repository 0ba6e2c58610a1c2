//! What goes into a change set and how its changes read: the capabilities a template needs,
//! the parameter values to send, and one line per resource change. Pure.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::{cfn_intrinsics, logical_ids};

/// What CloudFormation will do to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Add,
    Modify,
    Remove,
    Import,
    Dynamic,
    Other(String),
}

impl Action {
    /// Maps the API's `Action` string.
    pub fn parse(action: &str) -> Self {
        match action {
            "Add" => Action::Add,
            "Modify" => Action::Modify,
            "Remove" => Action::Remove,
            "Import" => Action::Import,
            "Dynamic" => Action::Dynamic,
            other => Action::Other(other.to_string()),
        }
    }

    fn symbol_and_word(&self) -> (&'static str, &str) {
        match self {
            Action::Add => ("+", "add"),
            Action::Modify => ("~", "modify"),
            Action::Remove => ("-", "remove"),
            Action::Import => (">", "import"),
            Action::Dynamic => ("?", "dynamic"),
            Action::Other(word) => ("?", word.as_str()),
        }
    }
}

/// One resource change of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    pub action: Action,
    pub logical_id: String,
    pub resource_type: String,
    /// For modifications: `True`, `False` or `Conditional` (the API's strings).
    pub replacement: Option<String>,
}

/// One line per change, logical IDs aligned:
/// `+ add     JobsTable  AWS::DynamoDB::Table`,
/// `~ modify  Api        AWS::ApiGateway::RestApi  (replacement: True)`.
pub fn render(changes: &[ResourceChange]) -> Vec<String> {
    let width = changes
        .iter()
        .map(|c| c.logical_id.len())
        .max()
        .unwrap_or(0);
    changes
        .iter()
        .map(|c| {
            let (symbol, word) = c.action.symbol_and_word();
            let replacement = match c.replacement.as_deref() {
                Some(r @ ("True" | "Conditional")) if c.action == Action::Modify => {
                    format!("  (replacement: {r})")
                }
                _ => String::new(),
            };
            format!(
                "{symbol} {word:<7} {:<width$}  {}{replacement}",
                c.logical_id, c.resource_type
            )
        })
        .collect()
}

/// True when the change replaces its resource, or may (`Conditional`): a new physical
/// resource, the old one deleted with whatever it held.
pub fn replaces(change: &ResourceChange) -> bool {
    change.action == Action::Modify
        && matches!(change.replacement.as_deref(), Some("True" | "Conditional"))
}

/// The change that would replace the jobs table (and lose every job in it), if any.
pub fn table_replacement(changes: &[ResourceChange]) -> Option<&ResourceChange> {
    changes
        .iter()
        .find(|c| c.logical_id == logical_ids::JOBS_TABLE && replaces(c))
}

/// The one-line reason a deploy is refused when it would replace the jobs table.
pub fn table_replacement_refusal(change: &ResourceChange) -> String {
    let verb = if change.replacement.as_deref() == Some("True") {
        "would"
    } else {
        "may"
    };
    format!(
        "refusing to deploy: the change set {verb} replace the jobs table {} ({}), deleting every job in it; pass --allow-replace to replace it anyway",
        change.logical_id, change.resource_type
    )
}

/// The replaced resources the API's methods reference (the table, the state machine, the
/// API's role, the API's own parts). A stage serves the deployment it was given, so after an
/// update that replaced any of them the stage needs a new deployment.
pub fn replaced_api_references(template: &Value, changes: &[ResourceChange]) -> Vec<String> {
    let referenced: BTreeSet<String> = template["Resources"]
        .as_object()
        .into_iter()
        .flat_map(|r| r.values())
        .filter(|r| r["Type"] == "AWS::ApiGateway::Method")
        .flat_map(|method| cfn_intrinsics::references(&method["Properties"]))
        .collect();
    changes
        .iter()
        .filter(|c| replaces(c) && referenced.contains(&c.logical_id))
        .map(|c| c.logical_id.clone())
        .collect()
}

/// True when a change set failed only because there was nothing to change.
pub fn is_no_change_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

/// Capabilities CloudFormation asks to be acknowledged for this template.
pub fn capabilities(template: &Value) -> Vec<&'static str> {
    const NAME_PROPERTIES: &[&str] = &[
        "RoleName",
        "UserName",
        "GroupName",
        "ManagedPolicyName",
        "InstanceProfileName",
    ];
    let resources = template["Resources"].as_object();
    let iam: Vec<&Value> = resources
        .into_iter()
        .flat_map(|r| r.values())
        .filter(|r| {
            r["Type"]
                .as_str()
                .is_some_and(|t| t.starts_with("AWS::IAM::"))
        })
        .collect();
    let mut caps = Vec::new();
    if !iam.is_empty() {
        caps.push("CAPABILITY_IAM");
    }
    if iam.iter().any(|r| {
        NAME_PROPERTIES
            .iter()
            .any(|p| !r["Properties"][p].is_null())
    }) {
        caps.push("CAPABILITY_NAMED_IAM");
    }
    if !template["Transform"].is_null() {
        caps.push("CAPABILITY_AUTO_EXPAND");
    }
    caps
}

/// The value sent for one template parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Value(String),
    /// Keep what the stack has (only for values the API hides, `NoEcho`).
    UsePrevious,
}

/// Every template parameter gets a value: the one given on the command line, else the one the
/// stack has now (so `--parameter StageName=dev` sticks across later deploys, as with
/// `aws cloudformation deploy`), else the template default. Explicit values (rather than
/// `UsePreviousValue`) keep "nothing changed" detectable on emulators too.
pub fn resolve_parameters(
    template: &Value,
    given: &[(String, String)],
    previous: &[(String, String)],
) -> Vec<(String, ParamValue)> {
    let Some(params) = template["Parameters"].as_object() else {
        return Vec::new();
    };
    params
        .iter()
        .filter_map(|(key, spec)| {
            let lookup = |list: &[(String, String)]| {
                list.iter()
                    .rev()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            };
            if let Some(v) = lookup(given) {
                return Some((key.clone(), ParamValue::Value(v)));
            }
            if let Some(v) = lookup(previous) {
                let hidden = spec["NoEcho"] == Value::Bool(true) || spec["NoEcho"] == "true";
                let value = if hidden {
                    ParamValue::UsePrevious
                } else {
                    ParamValue::Value(v)
                };
                return Some((key.clone(), value));
            }
            spec["Default"]
                .as_str()
                .map(|d| (key.clone(), ParamValue::Value(d.to_string())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn change(action: &str, id: &str, ty: &str, replacement: Option<&str>) -> ResourceChange {
        ResourceChange {
            action: Action::parse(action),
            logical_id: id.into(),
            resource_type: ty.into(),
            replacement: replacement.map(Into::into),
        }
    }

    #[test]
    fn a_table_replacement_is_found_and_named() {
        let table = |r: Option<&str>| change("Modify", "JobsTable", "AWS::DynamoDB::Table", r);
        assert!(table_replacement(&[table(Some("False"))]).is_none());
        assert!(table_replacement(&[change("Add", "JobsTable", "x", None)]).is_none());
        assert!(
            table_replacement(&[change("Modify", "Other", "x", Some("True"))]).is_none(),
            "only the jobs table"
        );
        let changes = [table(Some("True"))];
        let found = table_replacement(&changes).unwrap();
        assert_eq!(
            table_replacement_refusal(found),
            "refusing to deploy: the change set would replace the jobs table JobsTable (AWS::DynamoDB::Table), deleting every job in it; pass --allow-replace to replace it anyway"
        );
        let changes = [table(Some("Conditional"))];
        let found = table_replacement(&changes).unwrap();
        assert!(table_replacement_refusal(found).contains(" may replace "));
    }

    #[test]
    fn replacing_what_the_api_methods_reference_calls_for_a_new_deployment() {
        let t = crate::template::template(&Default::default());
        for id in [
            logical_ids::JOBS_TABLE,
            logical_ids::STATE_MACHINE,
            logical_ids::API_ROLE,
            logical_ids::JOB_MODEL,
            logical_ids::REQUEST_VALIDATOR,
            logical_ids::STATUS_RESOURCE,
        ] {
            let replaced = [change("Modify", id, "x", Some("True"))];
            assert_eq!(replaced_api_references(&t, &replaced), [id], "{id}");
            let modified = [change("Modify", id, "x", Some("False"))];
            assert!(replaced_api_references(&t, &modified).is_empty(), "{id}");
        }
        let unrelated = [change(
            "Modify",
            logical_ids::STATE_MACHINE_ROLE,
            "x",
            Some("True"),
        )];
        assert!(replaced_api_references(&t, &unrelated).is_empty());
    }

    #[test]
    fn renders_one_aligned_line_per_change() {
        let lines = render(&[
            change("Add", "JobsTable", "AWS::DynamoDB::Table", None),
            change("Modify", "Api", "AWS::ApiGateway::RestApi", Some("True")),
            change(
                "Modify",
                "StateMachine",
                "AWS::StepFunctions::StateMachine",
                Some("False"),
            ),
            change("Modify", "Role", "AWS::IAM::Role", Some("Conditional")),
            change("Remove", "Old", "AWS::SNS::Topic", None),
        ]);
        assert_eq!(
            lines,
            [
                "+ add     JobsTable     AWS::DynamoDB::Table",
                "~ modify  Api           AWS::ApiGateway::RestApi  (replacement: True)",
                "~ modify  StateMachine  AWS::StepFunctions::StateMachine",
                "~ modify  Role          AWS::IAM::Role  (replacement: Conditional)",
                "- remove  Old           AWS::SNS::Topic",
            ]
        );
    }

    #[test]
    fn unusual_actions_still_render() {
        let lines = render(&[
            change("Import", "T", "AWS::DynamoDB::Table", None),
            change("Dynamic", "U", "AWS::X::Y", None),
            change("Frobnicate", "V", "AWS::X::Y", None),
        ]);
        assert_eq!(
            lines,
            [
                "> import  T  AWS::DynamoDB::Table",
                "? dynamic U  AWS::X::Y",
                "? Frobnicate V  AWS::X::Y",
            ]
        );
        assert!(render(&[]).is_empty());
    }

    #[test]
    fn recognises_the_no_change_reasons() {
        assert!(is_no_change_reason(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(is_no_change_reason("No updates are to be performed."));
        assert!(!is_no_change_reason("Template format error"));
    }

    #[test]
    fn capabilities_follow_the_template() {
        let waitable = crate::template::template(&Default::default());
        assert_eq!(capabilities(&waitable), ["CAPABILITY_IAM"]);
        let named = json!({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}}, "Transform": "AWS::Serverless-2016-10-31"});
        assert_eq!(
            capabilities(&named),
            [
                "CAPABILITY_IAM",
                "CAPABILITY_NAMED_IAM",
                "CAPABILITY_AUTO_EXPAND"
            ]
        );
        assert!(capabilities(&json!({"Resources": {}})).is_empty());
    }

    #[test]
    fn parameters_come_from_flags_then_the_stack_then_defaults() {
        let t = json!({"Parameters": {
            "StageName": {"Type": "String", "Default": "prod"},
            "Secret": {"Type": "String", "NoEcho": true},
            "NoDefault": {"Type": "String"}
        }});
        let s = |v: &str| ParamValue::Value(v.into());
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(
            resolve_parameters(&t, &[], &[]),
            [("StageName".to_string(), s("prod"))]
        );
        assert_eq!(
            resolve_parameters(&t, &[p("StageName", "dev")], &[p("StageName", "test")]),
            [("StageName".to_string(), s("dev"))]
        );
        assert_eq!(
            resolve_parameters(&t, &[], &[p("StageName", "test"), p("Secret", "****")]),
            [
                ("StageName".to_string(), s("test")),
                ("Secret".to_string(), ParamValue::UsePrevious)
            ]
        );
        assert!(resolve_parameters(&json!({}), &[], &[]).is_empty());
    }
}
