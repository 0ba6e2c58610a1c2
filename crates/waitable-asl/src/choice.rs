//! Choice rules, parsed once at deploy into a typed tree ([`Rule`]) and evaluated against each
//! state input: the comparison operators, the type tests, and And/Or/Not.

use serde_json::{Map, Value};

use super::path::Path;
use crate::context::Ctx;
use crate::timestamp;

/// What a comparison compares as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compared {
    String,
    Numeric,
    Timestamp,
    Boolean,
}

/// The order a comparison asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

/// The type tests (`IsNull`, ...; `IsPresent` is [`Test::IsPresent`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeTest {
    Null,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

/// The right-hand side of a comparison: a literal, or a path (the `...Path` operators).
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Literal(Value),
    Path(Path),
}

/// What a rule tests about its Variable.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    IsPresent(bool),
    Is(TypeTest, bool),
    Compare(Compared, Order, Operand),
    /// `StringMatches` with its pattern (`*` wildcards, `\*` and `\\` literals).
    Matches(String),
}

/// A Choice rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Test { variable: Path, test: Test },
}

/// The operator of a comparison rule (the one key besides Variable/Next/Comment).
fn operator(rule: &Map<String, Value>) -> Result<(&str, &Value), String> {
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

fn type_test(name: &str) -> Option<TypeTest> {
    Some(match name {
        "IsNull" => TypeTest::Null,
        "IsNumeric" => TypeTest::Numeric,
        "IsString" => TypeTest::String,
        "IsBoolean" => TypeTest::Boolean,
        "IsTimestamp" => TypeTest::Timestamp,
        _ => return None,
    })
}

/// `StringLessThanEquals` -> (String, LessThanEquals); None for anything else.
fn comparison(name: &str) -> Option<(Compared, Order)> {
    let (kind, rest) = [
        ("String", Compared::String),
        ("Numeric", Compared::Numeric),
        ("Timestamp", Compared::Timestamp),
        ("Boolean", Compared::Boolean),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| name.strip_prefix(prefix).map(|rest| (kind, rest)))?;
    let order = match rest {
        "Equals" => Order::Equals,
        "LessThan" => Order::LessThan,
        "GreaterThan" => Order::GreaterThan,
        "LessThanEquals" => Order::LessThanEquals,
        "GreaterThanEquals" => Order::GreaterThanEquals,
        _ => return None,
    };
    (kind != Compared::Boolean || order == Order::Equals).then_some((kind, order))
}

fn flag(op: &str, arg: &Value) -> Result<bool, String> {
    arg.as_bool()
        .ok_or_else(|| format!("{op} needs true or false"))
}

/// Parses a rule; `top` rules carry Next (read by the caller), nested ones must not.
pub(crate) fn parse_rule(rule: &Value, top: bool) -> Result<Rule, String> {
    let obj = rule.as_object().ok_or("a choice rule must be an object")?;
    if !top && obj.contains_key("Next") {
        return Err("a nested choice rule cannot have Next".into());
    }
    let (op, arg) = operator(obj)?;
    let list = |arg: &Value| -> Result<Vec<Rule>, String> {
        arg.as_array()
            .filter(|l| !l.is_empty())
            .ok_or(format!("{op} needs a non-empty array of rules"))?
            .iter()
            .map(|r| parse_rule(r, false))
            .collect()
    };
    match op {
        "And" => return Ok(Rule::And(list(arg)?)),
        "Or" => return Ok(Rule::Or(list(arg)?)),
        "Not" => return Ok(Rule::Not(Box::new(parse_rule(arg, false)?))),
        _ => {}
    }
    let base = op.strip_suffix("Path").unwrap_or(op);
    let is_path = base != op;
    let test = if base == "IsPresent" || type_test(base).is_some() {
        if is_path {
            return Err(format!("choice operator {op} does not exist"));
        }
        match type_test(base) {
            Some(t) => Test::Is(t, flag(op, arg)?),
            None => Test::IsPresent(flag(op, arg)?),
        }
    } else if base == "StringMatches" {
        if is_path {
            return Err(format!(
                "choice operator {op} is not supported by the local engine"
            ));
        }
        Test::Matches(
            arg.as_str()
                .ok_or(format!("{op} needs a string pattern"))?
                .to_string(),
        )
    } else if let Some((kind, order)) = comparison(base) {
        let operand = if is_path {
            Operand::Path(Path::parse(
                arg.as_str().ok_or(format!("{op} needs a path string"))?,
            )?)
        } else {
            Operand::Literal(arg.clone())
        };
        Test::Compare(kind, order, operand)
    } else {
        return Err(format!(
            "choice operator {op} is not supported by the local engine"
        ));
    };
    let variable = obj
        .get("Variable")
        .and_then(Value::as_str)
        .ok_or(format!("{op} needs a Variable"))?;
    Ok(Rule::Test {
        variable: Path::parse(variable)?,
        test,
    })
}

fn lookup<'a>(p: &Path, input: &'a Value, ctx: &'a Ctx) -> Option<&'a Value> {
    p.get(if p.context { ctx.value() } else { input })
}

/// Whether `rule` holds for `input`. A Variable that is missing (except under IsPresent) is a
/// runtime error, as in Step Functions.
pub(crate) fn eval(rule: &Rule, input: &Value, ctx: &Ctx) -> Result<bool, String> {
    let (variable, test) = match rule {
        Rule::And(rules) => {
            for r in rules {
                if !eval(r, input, ctx)? {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        Rule::Or(rules) => {
            for r in rules {
                if eval(r, input, ctx)? {
                    return Ok(true);
                }
            }
            return Ok(false);
        }
        Rule::Not(r) => return Ok(!eval(r, input, ctx)?),
        Rule::Test { variable, test } => (variable, test),
    };
    let var = lookup(variable, input, ctx);
    let (var, test) = match (var, test) {
        (var, Test::IsPresent(expect)) => return Ok(var.is_some() == *expect),
        // Type tests on a missing field are false (the generated definition relies on this
        // for an absent Payload); comparisons on one are a runtime error.
        (None, Test::Is(_, expect)) => return Ok(!*expect),
        (Some(var), test) => (var, test),
        (None, _) => {
            return Err(format!(
                "Invalid path {}: the choice state's input has no such field",
                variable.render()
            ));
        }
    };
    Ok(match test {
        Test::IsPresent(_) => unreachable!("handled above"),
        Test::Is(t, expect) => {
            let is = match t {
                TypeTest::Null => var.is_null(),
                TypeTest::Numeric => var.is_number(),
                TypeTest::String => var.is_string(),
                TypeTest::Boolean => var.is_boolean(),
                TypeTest::Timestamp => var.as_str().and_then(timestamp::parse).is_some(),
            };
            is == *expect
        }
        Test::Matches(pattern) => var.as_str().is_some_and(|s| glob(s, pattern)),
        Test::Compare(kind, order, operand) => {
            let other = match operand {
                Operand::Literal(v) => v,
                Operand::Path(p) => lookup(p, input, ctx)
                    .ok_or_else(|| format!("Invalid path {}: no such field", p.render()))?,
            };
            compare(*kind, *order, var, other)
        }
    })
}

fn compare(kind: Compared, order: Order, left: &Value, right: &Value) -> bool {
    use std::cmp::Ordering::*;
    let ord = match kind {
        Compared::String => match (left.as_str(), right.as_str()) {
            (Some(l), Some(r)) => l.cmp(r),
            _ => return false,
        },
        Compared::Numeric => match (left.as_f64(), right.as_f64()) {
            (Some(l), Some(r)) => l.partial_cmp(&r).unwrap_or(Less),
            _ => return false,
        },
        Compared::Timestamp => match (
            left.as_str().and_then(timestamp::parse),
            right.as_str().and_then(timestamp::parse),
        ) {
            (Some(l), Some(r)) => l.cmp(&r),
            _ => return false,
        },
        Compared::Boolean => return left.is_boolean() && left == right,
    };
    match order {
        Order::Equals => ord == Equal,
        Order::LessThan => ord == Less,
        Order::GreaterThan => ord == Greater,
        Order::LessThanEquals => ord != Greater,
        Order::GreaterThanEquals => ord != Less,
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
        let rule = parse_rule(&rule, false).unwrap();
        eval(&rule, &input, &Ctx::of(json!({"Execution": {"Name": "n"}}))).unwrap()
    }

    fn check_rule(rule: &Value, top: bool) -> Result<Rule, String> {
        parse_rule(rule, top)
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
            &parse_rule(&json!({"Variable": "$.x", "StringEquals": "a"}), false).unwrap(),
            &json!({}),
            &Ctx::of(json!({})),
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
    fn rules_are_parsed_into_a_typed_tree() {
        let rule = parse_rule(
            &json!({"Not": {"And": [
                {"Variable": "$.a", "NumericGreaterThanPath": "$.b"},
                {"Variable": "$$.Execution.Name", "IsString": true},
                {"Variable": "$.s", "StringMatches": "x*"}
            ]}, "Next": "N"}),
            true,
        )
        .unwrap();
        let path = |p: &str| Path::parse(p).unwrap();
        assert_eq!(
            rule,
            Rule::Not(Box::new(Rule::And(vec![
                Rule::Test {
                    variable: path("$.a"),
                    test: Test::Compare(
                        Compared::Numeric,
                        Order::GreaterThan,
                        Operand::Path(path("$.b"))
                    ),
                },
                Rule::Test {
                    variable: path("$$.Execution.Name"),
                    test: Test::Is(TypeTest::String, true),
                },
                Rule::Test {
                    variable: path("$.s"),
                    test: Test::Matches("x*".into()),
                },
            ])))
        );
        assert!(parse_rule(&json!({"Variable": "$.b", "BooleanLessThan": true}), false).is_err());
        assert!(parse_rule(&json!({"Variable": "$.b", "IsNull": "yes"}), false).is_err());
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

    /// The timestamp forms AWS's recorded Wait and Choice states took or refused, checked
    /// against core's one States timestamp grammar (which Choice and Wait use).
    #[test]
    fn the_states_timestamp_grammar_matches_what_aws_recorded() {
        for ok in [
            "2016-03-14T01:59:00Z",
            "2023-12-13T07:09:46.000000Z",
            "2023-12-13T07:10:01.00Z",
            "2016-03-05T21:29:29.243167252Z",
        ] {
            assert!(timestamp::parse(ok).is_some(), "{ok}");
        }
        for refused in [
            "2016-12-05T21:29:29",
            "2023-12-13T07:10:32.000000",
            "2016-12-05 21:29:29Z",
            "2016-13-05T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "05-12-2016T21:29:29Z",
            "2023-02-24 12:15:56.832957",
            "",
            " ",
        ] {
            assert!(timestamp::parse(refused).is_none(), "{refused}");
        }
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
