//! CloudFormation intrinsic functions, always in long form so JSON and YAML round-trip with
//! plain serde.

use serde_json::{Value, json};

/// `{"Ref": name}`
pub fn r#ref(name: &str) -> Value {
    json!({ "Ref": name })
}

/// `{"Fn::GetAtt": [resource, attribute]}`
pub(crate) fn get_att(resource: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [resource, attribute] })
}

/// `{"Fn::Sub": text}`
pub(crate) fn sub(text: &str) -> Value {
    json!({ "Fn::Sub": text })
}

/// `{"Fn::Sub": [text, {var: value, ...}]}`
pub(crate) fn sub_with(text: &str, vars: &[(&str, Value)]) -> Value {
    let map: serde_json::Map<String, Value> = vars
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    json!({ "Fn::Sub": [text, map] })
}

/// Every logical ID that `value` points at through `Ref`, `Fn::GetAtt` or `${Name}` in `Fn::Sub`
/// (pseudo parameters such as `AWS::Region` and `Fn::Sub` local variables are left out).
pub(crate) fn references(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_refs(value, &[], &mut out);
    out
}

fn collect_refs(value: &Value, locals: &[String], out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(name)) = map.get("Ref") {
                push_ref(name, locals, out);
                return;
            }
            if let Some(Value::Array(parts)) = map.get("Fn::GetAtt") {
                if let Some(Value::String(name)) = parts.first() {
                    push_ref(name, locals, out);
                }
                return;
            }
            if let Some(sub) = map.get("Fn::Sub") {
                let (text, vars) = match sub {
                    Value::String(text) => (text.as_str(), None),
                    Value::Array(parts) => (
                        parts.first().and_then(Value::as_str).unwrap_or_default(),
                        parts.get(1).and_then(Value::as_object),
                    ),
                    _ => ("", None),
                };
                let mut scope = locals.to_vec();
                if let Some(vars) = vars {
                    scope.extend(vars.keys().cloned());
                    for v in vars.values() {
                        collect_refs(v, locals, out);
                    }
                }
                for name in sub_variables(text) {
                    let base = name.split('.').next().unwrap_or_default();
                    push_ref(base, &scope, out);
                }
                return;
            }
            for v in map.values() {
                collect_refs(v, locals, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, locals, out)),
        _ => {}
    }
}

fn push_ref(name: &str, locals: &[String], out: &mut Vec<String>) {
    if !name.starts_with("AWS::") && !locals.iter().any(|l| l == name) {
        out.push(name.to_string());
    }
}

/// The `${...}` variables of an `Fn::Sub` string, skipping `${!Literal}` escapes.
pub fn sub_variables(text: &str) -> Vec<&str> {
    let mut vars = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            vars.push(name);
        }
        rest = &after[end + 1..];
    }
    vars
}

/// Replaces `${Name}` placeholders the way `Fn::Sub` does (for tests and the local target).
pub fn substitute(text: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(text.to_string(), |text, (name, value)| {
        text.replace(&format!("${{{name}}}"), value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intrinsics_are_long_form() {
        assert_eq!(r#ref("X"), json!({"Ref": "X"}));
        assert_eq!(get_att("T", "Arn"), json!({"Fn::GetAtt": ["T", "Arn"]}));
        assert_eq!(sub("a-${X}"), json!({"Fn::Sub": "a-${X}"}));
        assert_eq!(
            sub_with("${V}", &[("V", r#ref("T"))]),
            json!({"Fn::Sub": ["${V}", {"V": {"Ref": "T"}}]})
        );
    }

    #[test]
    fn references_follow_ref_getatt_and_sub() {
        let v = json!({
            "a": r#ref("One"),
            "b": [get_att("Two", "Arn")],
            "c": sub("arn:${AWS::Partition}:x:${Three}:${Four.Arn}:${!Literal}"),
            "d": sub_with("${Local}-${Five}", &[("Local", r#ref("Six"))]),
        });
        let mut refs = references(&v);
        refs.sort();
        assert_eq!(refs, ["Five", "Four", "One", "Six", "Three", "Two"]);
    }

    #[test]
    fn substitute_fills_placeholders() {
        assert_eq!(
            substitute("a ${X} ${Y} $z", &[("X", "1"), ("Y", "2")]),
            "a 1 2 $z"
        );
    }

    #[test]
    fn sub_variables_skip_escapes_and_unterminated() {
        assert_eq!(sub_variables("${A} ${!B} ${C"), ["A"]);
        assert!(sub_variables("$$.Execution.Name $input").is_empty());
    }
}
