//! DynamoDB semantics for the task resources, as far as a jobs table needs: attribute values,
//! `UpdateExpression` (SET, REMOVE), `ConditionExpression` (comparisons, AND/OR/NOT,
//! attribute_exists, attribute_not_exists, begins_with) with ExpressionAttributeNames/Values.
//! Pure: it computes a write from the current item; the store applies it.

use serde_json::{Map, Value, json};

/// An item: attribute name -> attribute value (`{"S": "..."}`, `{"N": "1"}`, ...).
pub type Item = Map<String, Value>;

/// A DynamoDB error, by its service code (`ConditionalCheckFailedException`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DdbError {
    pub code: &'static str,
    pub message: String,
}

impl DdbError {
    fn validation(message: impl Into<String>) -> Self {
        DdbError {
            code: "ValidationException",
            message: message.into(),
        }
    }

    fn condition_failed() -> Self {
        DdbError {
            code: "ConditionalCheckFailedException",
            message: "The conditional request failed".into(),
        }
    }

    /// The error name a Step Functions task reports (`DynamoDB.<code>`).
    pub fn states_error(&self) -> String {
        format!("DynamoDB.{}", self.code)
    }
}

type Res<T> = Result<T, DdbError>;

/// What a call does to the table.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put(String, Item),
    Delete(String),
}

/// The operations the task resources map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    PutItem,
    UpdateItem,
    GetItem,
    DeleteItem,
}

// ---------------------------------------------------------------------------------------------
// Attribute values

/// Checks one attribute value's shape.
pub fn check_value(v: &Value) -> Res<()> {
    let bad = || DdbError::validation(format!("invalid attribute value {v}"));
    let obj = v.as_object().filter(|o| o.len() == 1).ok_or_else(bad)?;
    let (ty, inner) = obj.iter().next().expect("one entry");
    let ok = match ty.as_str() {
        "S" | "B" => inner.is_string(),
        "N" => inner
            .as_str()
            .is_some_and(|n| n.trim().parse::<f64>().is_ok()),
        "BOOL" => inner.is_boolean(),
        "NULL" => inner == &Value::Bool(true),
        "SS" | "BS" => inner
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string)),
        "NS" => inner.as_array().is_some_and(|a| {
            !a.is_empty()
                && a.iter()
                    .all(|n| n.as_str().is_some_and(|n| n.parse::<f64>().is_ok()))
        }),
        "L" => {
            return inner
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .try_for_each(check_value);
        }
        "M" => {
            return inner
                .as_object()
                .ok_or_else(bad)?
                .values()
                .try_for_each(check_value);
        }
        _ => false,
    };
    if ok { Ok(()) } else { Err(bad()) }
}

fn item_from(v: Option<&Value>, field: &str) -> Res<Item> {
    let item = v.and_then(Value::as_object).ok_or_else(|| {
        DdbError::validation(format!("{field} must be a map of attribute values"))
    })?;
    item.values().try_for_each(check_value)?;
    Ok(item.clone())
}

/// The string key of an item or Key map.
fn key_of(item: &Item, key_attr: &str, field: &str) -> Res<String> {
    item.get(key_attr)
        .and_then(|v| v.get("S"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            DdbError::validation(format!(
                "One or more parameter values were invalid: {field} is missing the key {key_attr} (type S)"
            ))
        })
}

fn cmp_values(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    let (ta, va) = a.as_object()?.iter().next()?;
    let (tb, vb) = b.as_object()?.iter().next()?;
    if ta != tb {
        return None;
    }
    match ta.as_str() {
        "S" | "B" => Some(va.as_str()?.cmp(vb.as_str()?)),
        "N" => va
            .as_str()?
            .trim()
            .parse::<f64>()
            .ok()?
            .partial_cmp(&vb.as_str()?.trim().parse::<f64>().ok()?),
        _ => (va == vb).then_some(std::cmp::Ordering::Equal),
    }
}

// ---------------------------------------------------------------------------------------------
// Expressions: tokens

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Alias(String),
    Value(String),
    Punct(&'static str),
    Word(String),
}

const KEYWORDS: [&str; 9] = [
    "AND", "OR", "NOT", "SET", "REMOVE", "ADD", "DELETE", "BETWEEN", "IN",
];

fn tokens(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' || c == ':' {
            let start = i + 1;
            i = start;
            while i < chars.len() && word_char(chars[i]) {
                i += 1;
            }
            if i == start {
                return Err(format!("{c} must be followed by a name"));
            }
            let name: String = chars[start - 1..i].iter().collect();
            out.push(if c == '#' {
                Tok::Alias(name)
            } else {
                Tok::Value(name)
            });
            continue;
        }
        if word_char(c) {
            let start = i;
            while i < chars.len() && word_char(chars[i]) {
                i += 1;
            }
            let w: String = chars[start..i].iter().collect();
            if KEYWORDS.contains(&w.to_ascii_uppercase().as_str()) {
                out.push(Tok::Word(w.to_ascii_uppercase()));
            } else {
                out.push(Tok::Name(w));
            }
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let p = match two.as_str() {
            "<>" => Some("<>"),
            "<=" => Some("<="),
            ">=" => Some(">="),
            _ => None,
        };
        if let Some(p) = p {
            out.push(Tok::Punct(p));
            i += 2;
            continue;
        }
        let p = match c {
            '(' => "(",
            ')' => ")",
            ',' => ",",
            '=' => "=",
            '<' => "<",
            '>' => ">",
            '.' => ".",
            '[' => "[",
            ']' => "]",
            '+' => "+",
            '-' => "-",
            _ => return Err(format!("unexpected character {c:?}")),
        };
        out.push(Tok::Punct(p));
        i += 1;
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &'static str) -> Result<(), String> {
        if self.eat(&Tok::Punct(p)) {
            Ok(())
        } else {
            Err(format!("expected {p:?}"))
        }
    }

    /// A top-level attribute name (nested paths are not supported locally).
    fn attr(&mut self) -> Result<Attr, String> {
        let a = match self.next() {
            Some(Tok::Name(n)) => Attr::Plain(n),
            Some(Tok::Alias(a)) => Attr::Alias(a),
            other => return Err(format!("expected an attribute name, found {other:?}")),
        };
        if matches!(self.peek(), Some(Tok::Punct("." | "["))) {
            return Err("nested attribute paths are not supported by the local engine".into());
        }
        Ok(a)
    }

    fn operand(&mut self) -> Result<Operand, String> {
        match self.peek() {
            Some(Tok::Value(v)) => {
                let v = v.clone();
                self.pos += 1;
                Ok(Operand::Value(v))
            }
            Some(Tok::Name(n))
                if n == "size" && self.toks.get(self.pos + 1) == Some(&Tok::Punct("(")) =>
            {
                self.pos += 2;
                let a = self.attr()?;
                self.expect(")")?;
                Ok(Operand::Size(a))
            }
            _ => Ok(Operand::Attr(self.attr()?)),
        }
    }

    fn done(&self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(format!("unexpected {t:?}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Plain(String),
    Alias(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Attr(Attr),
    Value(String),
    Size(Attr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Or(Box<Cond>, Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Compare(Operand, &'static str, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Attr),
    NotExists(Attr),
    BeginsWith(Operand, Operand),
}

/// Parses a ConditionExpression.
pub fn parse_condition(text: &str) -> Result<Cond, String> {
    let mut p = Parser {
        toks: tokens(text)?,
        pos: 0,
    };
    let c = cond_or(&mut p)?;
    p.done()?;
    Ok(c)
}

fn cond_or(p: &mut Parser) -> Result<Cond, String> {
    let mut left = cond_and(p)?;
    while p.eat(&Tok::Word("OR".into())) {
        left = Cond::Or(Box::new(left), Box::new(cond_and(p)?));
    }
    Ok(left)
}

fn cond_and(p: &mut Parser) -> Result<Cond, String> {
    let mut left = cond_not(p)?;
    while p.eat(&Tok::Word("AND".into())) {
        left = Cond::And(Box::new(left), Box::new(cond_not(p)?));
    }
    Ok(left)
}

fn cond_not(p: &mut Parser) -> Result<Cond, String> {
    if p.eat(&Tok::Word("NOT".into())) {
        return Ok(Cond::Not(Box::new(cond_not(p)?)));
    }
    cond_primary(p)
}

fn cond_primary(p: &mut Parser) -> Result<Cond, String> {
    if p.eat(&Tok::Punct("(")) {
        let c = cond_or(p)?;
        p.expect(")")?;
        return Ok(c);
    }
    if let Some(Tok::Name(f)) = p.peek().cloned()
        && p.toks.get(p.pos + 1) == Some(&Tok::Punct("("))
        && f != "size"
    {
        p.pos += 2;
        let c = match f.as_str() {
            "attribute_exists" => Cond::Exists(p.attr()?),
            "attribute_not_exists" => Cond::NotExists(p.attr()?),
            "begins_with" => {
                let a = p.operand()?;
                p.expect(",")?;
                Cond::BeginsWith(a, p.operand()?)
            }
            other => {
                return Err(format!(
                    "function {other} is not supported by the local engine"
                ));
            }
        };
        p.expect(")")?;
        return Ok(c);
    }
    let left = p.operand()?;
    if p.eat(&Tok::Word("BETWEEN".into())) {
        let lo = p.operand()?;
        if !p.eat(&Tok::Word("AND".into())) {
            return Err("BETWEEN needs AND".into());
        }
        return Ok(Cond::Between(left, lo, p.operand()?));
    }
    if p.eat(&Tok::Word("IN".into())) {
        p.expect("(")?;
        let mut list = vec![p.operand()?];
        while p.eat(&Tok::Punct(",")) {
            list.push(p.operand()?);
        }
        p.expect(")")?;
        return Ok(Cond::In(left, list));
    }
    let op = match p.next() {
        Some(Tok::Punct(op @ ("=" | "<>" | "<" | "<=" | ">" | ">="))) => op,
        other => return Err(format!("expected a comparison, found {other:?}")),
    };
    Ok(Cond::Compare(left, op, p.operand()?))
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Set(Attr, SetValue),
    Remove(Attr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    Operand(Operand),
    IfNotExists(Attr, Operand),
}

/// Parses an UpdateExpression (SET and REMOVE clauses).
pub fn parse_update(text: &str) -> Result<Vec<Action>, String> {
    let mut p = Parser {
        toks: tokens(text)?,
        pos: 0,
    };
    let mut actions = Vec::new();
    while let Some(t) = p.next() {
        match t {
            Tok::Word(w) if w == "SET" => loop {
                let a = p.attr()?;
                p.expect("=")?;
                let v = match p.peek().cloned() {
                    Some(Tok::Name(f)) if f == "if_not_exists" => {
                        p.pos += 1;
                        p.expect("(")?;
                        let a = p.attr()?;
                        p.expect(",")?;
                        let o = p.operand()?;
                        p.expect(")")?;
                        SetValue::IfNotExists(a, o)
                    }
                    _ => SetValue::Operand(p.operand()?),
                };
                if matches!(p.peek(), Some(Tok::Punct("+" | "-"))) {
                    return Err("arithmetic in SET is not supported by the local engine".into());
                }
                actions.push(Action::Set(a, v));
                if !p.eat(&Tok::Punct(",")) {
                    break;
                }
            },
            Tok::Word(w) if w == "REMOVE" => loop {
                actions.push(Action::Remove(p.attr()?));
                if !p.eat(&Tok::Punct(",")) {
                    break;
                }
            },
            Tok::Word(w) if w == "ADD" || w == "DELETE" => {
                return Err(format!(
                    "{w} clauses are not supported by the local engine (SET and REMOVE are)"
                ));
            }
            other => return Err(format!("expected SET or REMOVE, found {other:?}")),
        }
    }
    if actions.is_empty() {
        return Err("the update expression is empty".into());
    }
    Ok(actions)
}

// ---------------------------------------------------------------------------------------------
// Evaluation

struct Scope<'a> {
    names: Option<&'a Map<String, Value>>,
    values: Option<&'a Map<String, Value>>,
}

impl Scope<'_> {
    fn name(&self, a: &Attr) -> Res<String> {
        match a {
            Attr::Plain(n) => Ok(n.clone()),
            Attr::Alias(al) => self
                .names
                .and_then(|m| m.get(al))
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    DdbError::validation(format!(
                        "An expression attribute name used in the document path is not defined; attribute name: {al}"
                    ))
                }),
        }
    }

    fn value(&self, v: &str) -> Res<Value> {
        let found = self.values.and_then(|m| m.get(v)).ok_or_else(|| {
            DdbError::validation(format!(
                "An expression attribute value used in expression is not defined; attribute value: {v}"
            ))
        })?;
        check_value(found)?;
        Ok(found.clone())
    }

    fn operand(&self, o: &Operand, item: &Item) -> Res<Option<Value>> {
        match o {
            Operand::Value(v) => self.value(v).map(Some),
            Operand::Attr(a) => Ok(item.get(&self.name(a)?).cloned()),
            Operand::Size(a) => Ok(item.get(&self.name(a)?).and_then(|v| {
                let (ty, inner) = v.as_object()?.iter().next()?;
                let n = match ty.as_str() {
                    "S" | "B" => inner.as_str()?.len(),
                    "L" | "SS" | "NS" | "BS" => inner.as_array()?.len(),
                    "M" => inner.as_object()?.len(),
                    _ => return None,
                };
                Some(json!({ "N": n.to_string() }))
            })),
        }
    }

    fn holds(&self, c: &Cond, item: &Item) -> Res<bool> {
        use std::cmp::Ordering::*;
        Ok(match c {
            Cond::Or(a, b) => self.holds(a, item)? || self.holds(b, item)?,
            Cond::And(a, b) => self.holds(a, item)? && self.holds(b, item)?,
            Cond::Not(a) => !self.holds(a, item)?,
            Cond::Exists(a) => item.contains_key(&self.name(a)?),
            Cond::NotExists(a) => !item.contains_key(&self.name(a)?),
            Cond::BeginsWith(a, b) => match (self.operand(a, item)?, self.operand(b, item)?) {
                (Some(a), Some(b)) => match (a.get("S"), b.get("S")) {
                    (Some(Value::String(a)), Some(Value::String(b))) => a.starts_with(b.as_str()),
                    _ => false,
                },
                _ => false,
            },
            Cond::Compare(a, op, b) => {
                let (Some(a), Some(b)) = (self.operand(a, item)?, self.operand(b, item)?) else {
                    return Ok(false);
                };
                let ord = cmp_values(&a, &b);
                match *op {
                    "=" => ord == Some(Equal),
                    "<>" => ord != Some(Equal),
                    "<" => ord == Some(Less),
                    "<=" => matches!(ord, Some(Less | Equal)),
                    ">" => ord == Some(Greater),
                    _ => matches!(ord, Some(Greater | Equal)),
                }
            }
            Cond::Between(a, lo, hi) => {
                match (
                    self.operand(a, item)?,
                    self.operand(lo, item)?,
                    self.operand(hi, item)?,
                ) {
                    (Some(a), Some(lo), Some(hi)) => {
                        matches!(cmp_values(&a, &lo), Some(Greater | Equal))
                            && matches!(cmp_values(&a, &hi), Some(Less | Equal))
                    }
                    _ => false,
                }
            }
            Cond::In(a, list) => {
                let Some(a) = self.operand(a, item)? else {
                    return Ok(false);
                };
                let mut found = false;
                for o in list {
                    if let Some(v) = self.operand(o, item)? {
                        found |= cmp_values(&a, &v) == Some(Equal);
                    }
                }
                found
            }
        })
    }
}

fn map_field<'a>(
    params: &'a Map<String, Value>,
    field: &str,
) -> Res<Option<&'a Map<String, Value>>> {
    match params.get(field) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(DdbError::validation(format!("{field} must be a map"))),
    }
}

fn check_condition(params: &Map<String, Value>, scope: &Scope, current: Option<&Item>) -> Res<()> {
    let Some(text) = params.get("ConditionExpression") else {
        return Ok(());
    };
    let text = text
        .as_str()
        .ok_or_else(|| DdbError::validation("ConditionExpression must be a string"))?;
    let cond = parse_condition(text)
        .map_err(|e| DdbError::validation(format!("Invalid ConditionExpression: {e}")))?;
    let empty = Item::new();
    if scope.holds(&cond, current.unwrap_or(&empty))? {
        Ok(())
    } else {
        Err(DdbError::condition_failed())
    }
}

fn returned(params: &Map<String, Value>, old: Option<&Item>, new: Option<&Item>) -> Res<Value> {
    let which = params
        .get("ReturnValues")
        .and_then(Value::as_str)
        .unwrap_or("NONE");
    let attrs = match which {
        "NONE" => None,
        "ALL_OLD" => old,
        "ALL_NEW" => new,
        other => {
            return Err(DdbError::validation(format!(
                "ReturnValues {other} is not supported by the local engine"
            )));
        }
    };
    Ok(match attrs {
        Some(a) => json!({ "Attributes": a }),
        None => json!({}),
    })
}

/// The key a call addresses (from Item for putItem, Key otherwise).
pub fn target_key(op: Op, params: &Value, key_attr: &str) -> Res<String> {
    let params = params
        .as_object()
        .ok_or_else(|| DdbError::validation("Parameters must be a map"))?;
    match op {
        Op::PutItem => key_of(&item_from(params.get("Item"), "Item")?, key_attr, "Item"),
        _ => {
            let key = item_from(params.get("Key"), "Key")?;
            if key.len() != 1 {
                return Err(DdbError::validation(
                    "The provided key element does not match the schema",
                ));
            }
            key_of(&key, key_attr, "Key")
        }
    }
}

/// Runs one call against `current` (the item at the call's key, if any): the write to apply and
/// the task's result.
pub fn apply(
    op: Op,
    params: &Value,
    key_attr: &str,
    current: Option<&Item>,
) -> Res<(Option<Write>, Value)> {
    let key = target_key(op, params, key_attr)?;
    let params = params.as_object().expect("checked by target_key");
    let scope = Scope {
        names: map_field(params, "ExpressionAttributeNames")?,
        values: map_field(params, "ExpressionAttributeValues")?,
    };
    match op {
        Op::GetItem => Ok((
            None,
            match current {
                Some(item) => json!({ "Item": item }),
                None => json!({}),
            },
        )),
        Op::PutItem => {
            let item = item_from(params.get("Item"), "Item")?;
            check_condition(params, &scope, current)?;
            let result = returned(params, current, None)?;
            Ok((Some(Write::Put(key, item)), result))
        }
        Op::DeleteItem => {
            check_condition(params, &scope, current)?;
            let result = returned(params, current, None)?;
            Ok((current.map(|_| Write::Delete(key)), result))
        }
        Op::UpdateItem => {
            let text = params
                .get("UpdateExpression")
                .and_then(Value::as_str)
                .ok_or_else(|| DdbError::validation("UpdateExpression is required"))?;
            let actions = parse_update(text)
                .map_err(|e| DdbError::validation(format!("Invalid UpdateExpression: {e}")))?;
            check_condition(params, &scope, current)?;
            let mut item = current.cloned().unwrap_or_else(|| {
                let mut m = Item::new();
                m.insert(key_attr.into(), json!({ "S": key }));
                m
            });
            let before = item.clone();
            for action in &actions {
                let (Action::Set(a, _) | Action::Remove(a)) = action;
                let name = scope.name(a)?;
                if name == key_attr {
                    return Err(DdbError::validation(format!(
                        "Cannot update attribute {key_attr}. This attribute is part of the key"
                    )));
                }
                match action {
                    Action::Set(_, SetValue::Operand(o)) => {
                        let v = scope.operand(o, &before)?.ok_or_else(|| {
                            DdbError::validation("The provided expression refers to an attribute that does not exist in the item")
                        })?;
                        item.insert(name, v);
                    }
                    Action::Set(_, SetValue::IfNotExists(probe, o)) => {
                        let existing = before.get(&scope.name(probe)?).cloned();
                        let v = match existing {
                            Some(v) => v,
                            None => scope.operand(o, &before)?.ok_or_else(|| {
                                DdbError::validation(
                                    "if_not_exists: the fallback operand does not exist",
                                )
                            })?,
                        };
                        item.insert(name, v);
                    }
                    Action::Remove(_) => {
                        item.remove(&name);
                    }
                }
            }
            let result = returned(params, current, Some(&item))?;
            Ok((Some(Write::Put(key, item)), result))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: &str) -> Item {
        json!({"Id": {"S": "j"}, "ProcessStatus": {"S": status}})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn put_with_attribute_not_exists_writes_once() {
        let params = json!({
            "TableName": "t",
            "Item": {"Id": {"S": "j"}, "ProcessStatus": {"S": "STARTED"}},
            "ConditionExpression": "attribute_not_exists(#id)",
            "ExpressionAttributeNames": {"#id": "Id"}
        });
        let (w, r) = apply(Op::PutItem, &params, "Id", None).unwrap();
        assert_eq!(r, json!({}));
        let Some(Write::Put(key, item)) = w else {
            panic!()
        };
        assert_eq!(key, "j");
        let err = apply(Op::PutItem, &params, "Id", Some(&item)).unwrap_err();
        assert_eq!(
            err.states_error(),
            "DynamoDB.ConditionalCheckFailedException"
        );
    }

    #[test]
    fn update_sets_only_when_the_condition_holds() {
        let params = json!({
            "Key": {"Id": {"S": "j"}},
            "UpdateExpression": "SET #status = :completed, #updated = :now",
            "ConditionExpression": "#status = :started",
            "ExpressionAttributeNames": {"#status": "ProcessStatus", "#updated": "LastUpdated"},
            "ExpressionAttributeValues": {":completed": {"S": "COMPLETED"}, ":started": {"S": "STARTED"}, ":now": {"S": "T"}}
        });
        let (w, _) = apply(Op::UpdateItem, &params, "Id", Some(&job("STARTED"))).unwrap();
        let Some(Write::Put(_, item)) = w else {
            panic!()
        };
        assert_eq!(item["ProcessStatus"], json!({"S": "COMPLETED"}));
        assert_eq!(item["LastUpdated"], json!({"S": "T"}));
        for current in [Some(job("CANCELLED")), None] {
            let err = apply(Op::UpdateItem, &params, "Id", current.as_ref()).unwrap_err();
            assert_eq!(err.code, "ConditionalCheckFailedException");
        }
    }

    #[test]
    fn update_without_condition_creates_and_removes() {
        let params = json!({
            "Key": {"Id": {"S": "n"}},
            "UpdateExpression": "SET a = :v, b = if_not_exists(b, :w) REMOVE c",
            "ExpressionAttributeValues": {":v": {"N": "1"}, ":w": {"BOOL": true}},
            "ReturnValues": "ALL_NEW"
        });
        let (_, r) = apply(Op::UpdateItem, &params, "Id", None).unwrap();
        assert_eq!(
            r,
            json!({"Attributes": {"Id": {"S": "n"}, "a": {"N": "1"}, "b": {"BOOL": true}}})
        );
    }

    #[test]
    fn get_and_delete() {
        let key = json!({"Key": {"Id": {"S": "j"}}});
        let (w, r) = apply(Op::GetItem, &key, "Id", Some(&job("STARTED"))).unwrap();
        assert!(w.is_none());
        assert_eq!(r["Item"]["ProcessStatus"]["S"], "STARTED");
        assert_eq!(apply(Op::GetItem, &key, "Id", None).unwrap().1, json!({}));
        let (w, _) = apply(Op::DeleteItem, &key, "Id", Some(&job("STARTED"))).unwrap();
        assert_eq!(w, Some(Write::Delete("j".into())));
    }

    #[test]
    fn validation_errors() {
        let cases = [
            (Op::PutItem, json!({"Item": {"Id": {"S": 1}}})),
            (Op::PutItem, json!({"Item": {"Other": {"S": "x"}}})),
            (
                Op::UpdateItem,
                json!({"Key": {"Id": {"S": "j"}}, "UpdateExpression": "SET #a = :v"}),
            ),
            (
                Op::UpdateItem,
                json!({"Key": {"Id": {"S": "j"}}, "UpdateExpression": "SET Id = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}}),
            ),
            (
                Op::GetItem,
                json!({"Key": {"Id": {"S": "j"}, "x": {"S": "y"}}}),
            ),
            (
                Op::PutItem,
                json!({"Item": {"Id": {"S": "j"}}, "ConditionExpression": "a = :missing"}),
            ),
        ];
        for (op, params) in cases {
            let err = apply(op, &params, "Id", None).unwrap_err();
            assert_eq!(err.code, "ValidationException", "{params}");
        }
    }

    #[test]
    fn condition_grammar() {
        let item = json!({"Id": {"S": "job-1"}, "n": {"N": "5"}, "s": {"S": "b"}})
            .as_object()
            .unwrap()
            .clone();
        let values = json!({":one": {"N": "1"}, ":ten": {"N": "10"}, ":p": {"S": "job"}, ":a": {"S": "a"}, ":b": {"S": "b"}});
        let scope = Scope {
            names: None,
            values: values.as_object(),
        };
        let holds = |t: &str| scope.holds(&parse_condition(t).unwrap(), &item).unwrap();
        assert!(holds("n BETWEEN :one AND :ten"));
        assert!(holds("begins_with(Id, :p) AND attribute_exists(s)"));
        assert!(holds("NOT (s = :a) OR n < :one"));
        assert!(holds("s IN (:a, :b)"));
        assert!(holds("n > :one AND size(s) = :one"));
        assert!(!holds("missing = :a"));
        assert!(!holds("missing <> :a"));
        for bad in ["a.b = :v", "contains(a, :v)", "a = ", "(a = :v", "a == :v"] {
            assert!(parse_condition(bad).is_err(), "{bad}");
        }
        assert!(parse_update("ADD n :one").is_err());
        assert!(parse_update("SET n = n + :one").is_err());
    }

    #[test]
    fn attribute_values_are_checked() {
        for good in [
            json!({"S": ""}),
            json!({"N": "1.5"}),
            json!({"M": {"a": {"L": [{"NULL": true}]}}}),
        ] {
            assert!(check_value(&good).is_ok(), "{good}");
        }
        for bad in [
            json!({"S": 1}),
            json!({"N": "x"}),
            json!({"X": "1"}),
            json!({"S": "a", "N": "1"}),
            json!("S"),
        ] {
            assert!(check_value(&bad).is_err(), "{bad}");
        }
    }
}
