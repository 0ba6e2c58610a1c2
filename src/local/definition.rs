//! The state machine definition a local stack runs: taken out of the synthesised template,
//! its `Fn::Sub` variables resolved for this machine.

use serde_json::{Value, json};

use waitable_core::arn;
use waitable_core::logical_ids::{JOBS_TABLE, STATE_MACHINE, TABLE_NAME_VAR};

/// The state machine definition from the synthesised template, its `Fn::Sub` variables
/// resolved for this machine.
pub fn definition_from_template(
    template: &Value,
    stack: &str,
    table: &str,
) -> std::result::Result<String, String> {
    let def = &template["Resources"][STATE_MACHINE]["Properties"]["DefinitionString"];
    let (text, vars) = match def {
        Value::String(s) => (s.as_str(), None),
        Value::Object(o) => match o.get("Fn::Sub") {
            Some(Value::String(s)) => (s.as_str(), None),
            Some(Value::Array(parts)) => (
                parts
                    .first()
                    .and_then(Value::as_str)
                    .ok_or("Fn::Sub needs a text")?,
                parts.get(1).and_then(Value::as_object),
            ),
            _ => return Err("DefinitionString must be a string or an Fn::Sub".into()),
        },
        _ => {
            return Err(format!(
                "the template has no Resources.{STATE_MACHINE}.Properties.DefinitionString"
            ));
        }
    };
    let mut values: Vec<(String, String)> = vec![
        ("AWS::Partition".into(), arn::LOCAL_PARTITION.into()),
        ("AWS::Region".into(), arn::LOCAL_REGION.into()),
        ("AWS::AccountId".into(), arn::LOCAL_ACCOUNT.into()),
        ("AWS::StackName".into(), stack.into()),
    ];
    for (name, v) in vars.into_iter().flatten() {
        let value = if v == &json!({ "Ref": JOBS_TABLE }) || name == TABLE_NAME_VAR {
            table.to_string()
        } else if let Some(s) = v.as_str() {
            s.to_string()
        } else {
            return Err(format!(
                "Fn::Sub variable {name} ({v}) cannot be resolved locally"
            ));
        };
        values.push((name.clone(), value));
    }
    let pairs: Vec<(&str, &str)> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let resolved = waitable_core::cfn_intrinsics::substitute(text, &pairs);
    if let Some(left) = waitable_core::cfn_intrinsics::sub_variables(&resolved).first() {
        return Err(format!(
            "Fn::Sub variable {left} cannot be resolved locally"
        ));
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use waitable_asl as asl;

    #[test]
    fn the_definition_comes_out_of_the_synthesised_template() {
        let t = waitable_core::template::template(&Default::default());
        let def = definition_from_template(&t, "s", "s-JobsTable").unwrap();
        // The same definition; the template embeds it compact, so compare it as JSON.
        let parsed = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
        assert_eq!(
            parsed(&def),
            parsed(&waitable_core::state_machine::resolved(
                "s-JobsTable",
                "aws"
            ))
        );
        assert!(asl::parse_text(&def).is_ok());
    }

    #[test]
    fn unresolvable_templates_are_refused() {
        let t = json!({"Resources": {"StateMachine": {"Properties": {"DefinitionString":
            {"Fn::Sub": ["${Other}", {"Other": {"Fn::GetAtt": ["X", "Arn"]}}]}}}}});
        assert!(
            definition_from_template(&t, "s", "t")
                .unwrap_err()
                .contains("Other")
        );
        assert!(definition_from_template(&json!({}), "s", "t").is_err());
    }
}
