//! Choice rules: the comparison operators, type tests, and And/Or/Not.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::path::Path;

const COMPARISONS: [&str; 22] = [
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
    "StringMatches",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "BooleanEquals",
    "TimestampEquals",
    "TimestampLessThan",
    "TimestampGreaterThan",
    "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
];
const IS_TIMESTAMP: &str = "IsTimestamp";

/// A timestamp as the States language accepts it: RFC 3339 with an uppercase `T`, and an
/// uppercase `Z` or a numeric offset.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    crate::core::timestamp::parse_states(text)
}

/// The operator of a comparison rule (the one key besides Variable/Next/Comment).
fn operator(rule: &serde_json::Map<String, Value>) -> Result<(&str, &Value), String> {
    let ops: Vec<(&String, &Value)> = rule
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "Variable" | "Next" | "Comment"))
        .collect();
    match ops.as_slice() {
        [(k, v)] => Ok((k.as_str(), v)),
        [] => Err("a choice rule has no comparison operator".into()),
        _ => Err(format!(
            "a choice rule has several operators: {}",
            ops.iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Checks a rule's shape; `top` rules carry Next, nested ones must not.
pub fn check_rule(rule: &Value, top: bool) -> Result<(), String> {
    let obj = rule.as_object().ok_or("a choice rule must be an object")?;
    if !top && obj.contains_key("Next") {
        return Err("a nested choice rule cannot have Next".into());
    }
    let (op, arg) = operator(obj)?;
    match op {
        "And" | "Or" => {
            let list = arg
                .as_array()
                .filter(|l| !l.is_empty())
                .ok_or(format!("{op} needs a non-empty array of rules"))?;
            list.iter().try_for_each(|r| check_rule(r, false))
        }
        "Not" => check_rule(arg, false),
        _ => {
            let base = op.strip_suffix("Path").unwrap_or(op);
            if !COMPARISONS.contains(&base) && base != IS_TIMESTAMP {
                return Err(format!(
                    "choice operator {op} is not supported by the local engine"
                ));
            }
            if base.starts_with("Is") && base != op {
                return Err(format!("choice operator {op} does not exist"));
            }
            let var = obj
                .get("Variable")
                .and_then(Value::as_str)
                .ok_or(format!("{op} needs a Variable"))?;
            Path::parse(var)?;
            if op.ends_with("Path") && op != "StringMatchesPath" {
                Path::parse(arg.as_str().ok_or(format!("{op} needs a path string"))?)?;
            }
            Ok(())
        }
    }
}

fn lookup<'a>(text: &str, input: &'a Value, ctx: &'a Value) -> Option<&'a Value> {
    let p = Path::parse(text).ok()?;
    p.get(if p.context { ctx } else { input })
}

/// Whether `rule` holds for `input`. A Variable that is missing (except under IsPresent) is a
/// runtime error, as in Step Functions.
pub fn eval(rule: &Value, input: &Value, ctx: &Value) -> Result<bool, String> {
    let obj = rule.as_object().ok_or("a choice rule must be an object")?;
    let (op, arg) = operator(obj)?;
    match op {
        "And" => {
            for r in arg.as_array().into_iter().flatten() {
                if !eval(r, input, ctx)? {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        "Or" => {
            for r in arg.as_array().into_iter().flatten() {
                if eval(r, input, ctx)? {
                    return Ok(true);
                }
            }
            return Ok(false);
        }
        "Not" => return Ok(!eval(arg, input, ctx)?),
        _ => {}
    }
    let var_text = obj.get("Variable").and_then(Value::as_str).unwrap_or("$");
    let var = lookup(var_text, input, ctx);
    if op == "IsPresent" {
        return Ok(var.is_some() == (arg == &Value::Bool(true)));
    }
    // Type tests on a missing field are false (the generated definition relies on this for an
    // absent Payload); comparisons on one are a runtime error.
    if op.starts_with("Is") && var.is_none() {
        return Ok(arg != &Value::Bool(true));
    }
    let var = var.ok_or_else(|| {
        format!("Invalid path {var_text}: the choice state's input has no such field")
    })?;
    let expect = || arg == &Value::Bool(true);
    let result = match op {
        "IsNull" => var.is_null() == expect(),
        "IsNumeric" => var.is_number() == expect(),
        "IsString" => var.is_string() == expect(),
        "IsBoolean" => var.is_boolean() == expect(),
        "IsTimestamp" => var.as_str().and_then(parse_timestamp).is_some() == expect(),
        _ => {
            let (base, other) = match op.strip_suffix("Path") {
                Some(base) if base != "StringMatches" => {
                    let path = arg.as_str().unwrap_or("$");
                    let other = lookup(path, input, ctx)
                        .ok_or_else(|| format!("Invalid path {path}: no such field"))?;
                    (base, other)
                }
                _ => (op, arg),
            };
            compare(base, var, other)
        }
    };
    Ok(result)
}

fn compare(op: &str, left: &Value, right: &Value) -> bool {
    use std::cmp::Ordering::*;
    let ord = if let Some(kind) = op.strip_prefix("String") {
        let (Some(l), Some(r)) = (left.as_str(), right.as_str()) else {
            return false;
        };
        if kind == "Matches" {
            return glob(l, r);
        }
        (kind, l.cmp(r))
    } else if let Some(kind) = op.strip_prefix("Numeric") {
        let (Some(l), Some(r)) = (left.as_f64(), right.as_f64()) else {
            return false;
        };
        (kind, l.partial_cmp(&r).unwrap_or(Less))
    } else if let Some(kind) = op.strip_prefix("Timestamp") {
        let (Some(l), Some(r)) = (
            left.as_str().and_then(parse_timestamp),
            right.as_str().and_then(parse_timestamp),
        ) else {
            return false;
        };
        (kind, l.cmp(&r))
    } else if op == "BooleanEquals" {
        return left.is_boolean() && left == right;
    } else {
        return false;
    };
    match ord {
        ("Equals", o) => o == Equal,
        ("LessThan", o) => o == Less,
        ("GreaterThan", o) => o == Greater,
        ("LessThanEquals", o) => o != Greater,
        ("GreaterThanEquals", o) => o != Less,
        _ => false,
    }
}

/// StringMatches: `*` matches any run of characters, `\*` and `\\` are literals.
fn glob(text: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => toks.push(Tok::Lit(chars.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Lit(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic backtracking wildcard match.
    let (mut t, mut p) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < toks.len() && toks[p] == Tok::Lit(text[t]) {
            t += 1;
            p += 1;
        } else if p < toks.len() && toks[p] == Tok::Star {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn holds(rule: Value, input: Value) -> bool {
        eval(&rule, &input, &json!({"Execution": {"Name": "n"}})).unwrap()
    }

    #[test]
    fn comparisons() {
        let i = json!({"s": "b", "n": 5, "t": "2030-01-01T00:00:00Z", "f": true, "o": "a"});
        assert!(holds(
            json!({"Variable": "$.s", "StringEquals": "b"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringGreaterThan": "a"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringGreaterThanPath": "$.o"}),
            i.clone()
        ));
        assert!(!holds(
            json!({"Variable": "$.n", "StringEquals": "5"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericLessThanEquals": 5}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericGreaterThan": 4.5}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.f", "BooleanEquals": true}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampGreaterThan": "2029-12-31T23:59:59Z"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampEquals": "2030-01-01T01:00:00+01:00"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$$.Execution.Name", "StringEquals": "n"}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringMatches": "*b"}),
            i.clone()
        ));
        assert!(!holds(json!({"Variable": "$.s", "StringMatches": "a*"}), i));
    }

    #[test]
    fn type_tests_and_presence() {
        let i = json!({"s": "x", "n": 1, "z": null, "t": "2030-01-01T00:00:00Z", "bad": "2030-01-01 00:00:00"});
        assert!(holds(
            json!({"Variable": "$.missing", "IsPresent": false}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "IsPresent": true}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "IsString": true}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "IsNumeric": true}),
            i.clone()
        ));
        assert!(holds(json!({"Variable": "$.z", "IsNull": true}), i.clone()));
        assert!(holds(
            json!({"Variable": "$.t", "IsTimestamp": true}),
            i.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.bad", "IsTimestamp": false}),
            i.clone()
        ));
        assert!(holds(json!({"Variable": "$.n", "IsBoolean": false}), i));
    }

    #[test]
    fn boolean_combinators() {
        let i = json!({"a": 1, "b": "x"});
        let a = json!({"Variable": "$.a", "NumericEquals": 1});
        let b = json!({"Variable": "$.b", "StringEquals": "y"});
        assert!(!holds(json!({"And": [a, b]}), i.clone()));
        assert!(holds(json!({"Or": [a, b]}), i.clone()));
        assert!(holds(json!({"Not": b}), i));
    }

    #[test]
    fn missing_variable_is_a_runtime_error() {
        let err = eval(
            &json!({"Variable": "$.x", "StringEquals": "a"}),
            &json!({}),
            &json!({}),
        );
        assert!(err.unwrap_err().contains("$.x"));
        assert!(!holds(
            json!({"Variable": "$.x", "IsString": true}),
            json!({})
        ));
        assert!(holds(
            json!({"Variable": "$.x", "IsNull": false}),
            json!({})
        ));
    }

    #[test]
    fn rule_shapes_are_checked() {
        assert!(
            check_rule(
                &json!({"Variable": "$.x", "IsPresent": true, "Next": "N"}),
                true
            )
            .is_ok()
        );
        assert!(check_rule(&json!({"Variable": "$.x", "Next": "N"}), true).is_err());
        assert!(
            check_rule(
                &json!({"Variable": "$.x", "StringEquals": "a", "NumericEquals": 1, "Next": "N"}),
                true
            )
            .is_err()
        );
        assert!(
            check_rule(
                &json!({"And": [{"Variable": "$.x", "IsPresent": true, "Next": "N"}], "Next": "N"}),
                true
            )
            .is_err()
        );
        assert!(
            check_rule(
                &json!({"Variable": "$.x", "IsPresentPath": "$.y", "Next": "N"}),
                true
            )
            .is_err()
        );
    }

    #[test]
    fn timestamps_follow_the_states_profile() {
        assert!(parse_timestamp("2030-01-01T00:00:00Z").is_some());
        assert!(parse_timestamp("2030-01-01T00:00:00.123Z").is_some());
        assert!(parse_timestamp("2030-01-01t00:00:00Z").is_none());
        assert!(parse_timestamp("2030-01-01T00:00:00z").is_none());
        assert!(parse_timestamp("2030-01-01").is_none());
        assert!(parse_timestamp("not a time").is_none());
    }

    #[test]
    fn glob_matching() {
        assert!(glob("log-2030.txt", "log-*.txt"));
        assert!(glob("a*b", r"a\*b"));
        assert!(!glob("axb", r"a\*b"));
        assert!(glob("", "*"));
        assert!(!glob("abc", "ab"));
    }
}
