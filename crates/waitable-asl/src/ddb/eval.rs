//! Evaluation: one call (putItem, updateItem, getItem, deleteItem) against the current item
//! gives the write to apply and the task's result.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value, json};

use super::expr::{Action, Attr, Cond, Operand, SetValue, parse_condition, parse_update};
use super::value::{Item, check_value, cmp_values, item_from, key_of};
use super::{DdbError, Op, Res, Write};

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

/// Parsed expressions by their text, per thread: a state machine's few expressions are parsed
/// once, not at every step (a burst of due jobs parses the same two texts a thousand times).
/// Bounded, in case expressions come from the data.
fn memo<T: Clone>(
    cache: &'static std::thread::LocalKey<std::cell::RefCell<HashMap<String, Result<T, String>>>>,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, String> {
    cache.with_borrow_mut(|memo| {
        if let Some(found) = memo.get(text) {
            return found.clone();
        }
        if memo.len() >= 256 {
            memo.clear();
        }
        let parsed = parse(text);
        memo.insert(text.to_string(), parsed.clone());
        parsed
    })
}

type Memo<T> = std::cell::RefCell<HashMap<String, Result<Rc<T>, String>>>;

thread_local! {
    static CONDITIONS: Memo<Cond> = Default::default();
    static UPDATES: Memo<Vec<Action>> = Default::default();
}

fn condition(text: &str) -> Result<Rc<Cond>, String> {
    memo(&CONDITIONS, text, |t| parse_condition(t).map(Rc::new))
}

fn update(text: &str) -> Result<Rc<Vec<Action>>, String> {
    memo(&UPDATES, text, |t| parse_update(t).map(Rc::new))
}

fn check_condition(params: &Map<String, Value>, scope: &Scope, current: Option<&Item>) -> Res<()> {
    let Some(text) = params.get("ConditionExpression") else {
        return Ok(());
    };
    let text = text
        .as_str()
        .ok_or_else(|| DdbError::validation("ConditionExpression must be a string"))?;
    let cond = condition(text)
        .map_err(|e| DdbError::validation(format!("Invalid ConditionExpression: {e}")))?;
    let empty = Item::new();
    if scope.holds(&cond, current.unwrap_or(&empty))? {
        Ok(())
    } else {
        Err(DdbError::condition_failed())
    }
}

/// The task's result per ReturnValues; `updated` names the attributes an update touched
/// (what UPDATED_OLD and UPDATED_NEW return).
fn returned(
    params: &Map<String, Value>,
    old: Option<&Item>,
    new: Option<&Item>,
    updated: &[String],
) -> Res<Value> {
    let which = params
        .get("ReturnValues")
        .and_then(Value::as_str)
        .unwrap_or("NONE");
    let only_updated = |item: Option<&Item>| -> Option<Item> {
        let picked: Item = item?
            .iter()
            .filter(|(k, _)| updated.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (!picked.is_empty()).then_some(picked)
    };
    let (old_updated, new_updated);
    let attrs = match which {
        "NONE" => None,
        "ALL_OLD" => old,
        "ALL_NEW" => new,
        "UPDATED_OLD" if new.is_some() => {
            old_updated = only_updated(old);
            old_updated.as_ref()
        }
        "UPDATED_NEW" if new.is_some() => {
            new_updated = only_updated(new);
            new_updated.as_ref()
        }
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
            let result = returned(params, current, None, &[])?;
            Ok((Some(Write::Put(key, item)), result))
        }
        Op::DeleteItem => {
            check_condition(params, &scope, current)?;
            let result = returned(params, current, None, &[])?;
            Ok((current.map(|_| Write::Delete(key)), result))
        }
        Op::UpdateItem => {
            let text = params
                .get("UpdateExpression")
                .and_then(Value::as_str)
                .ok_or_else(|| DdbError::validation("UpdateExpression is required"))?;
            let actions = update(text)
                .map_err(|e| DdbError::validation(format!("Invalid UpdateExpression: {e}")))?;
            check_condition(params, &scope, current)?;
            let mut item = current.cloned().unwrap_or_else(|| {
                let mut m = Item::new();
                m.insert(key_attr.into(), json!({ "S": key }));
                m
            });
            let before = item.clone();
            let mut updated = Vec::new();
            for action in actions.iter() {
                let (Action::Set(a, _) | Action::Remove(a)) = action;
                let name = scope.name(a)?;
                updated.push(name.clone());
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
            let result = returned(params, current, Some(&item), &updated)?;
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
    fn updated_old_and_new_return_only_the_touched_attributes() {
        let params = |which: &str| {
            json!({
                "Key": {"Id": {"S": "j"}},
                "UpdateExpression": "set ProcessStatus = :s, Extra = :e",
                "ExpressionAttributeValues": {":s": {"S": "DONE"}, ":e": {"N": "1"}},
                "ReturnValues": which
            })
        };
        let current = Some(job("STARTED"));
        let (_, r) = apply(
            Op::UpdateItem,
            &params("UPDATED_NEW"),
            "Id",
            current.as_ref(),
        )
        .unwrap();
        assert_eq!(
            r,
            json!({"Attributes": {"ProcessStatus": {"S": "DONE"}, "Extra": {"N": "1"}}})
        );
        let (_, r) = apply(
            Op::UpdateItem,
            &params("UPDATED_OLD"),
            "Id",
            current.as_ref(),
        )
        .unwrap();
        assert_eq!(
            r,
            json!({"Attributes": {"ProcessStatus": {"S": "STARTED"}}})
        );
        let (_, r) = apply(Op::UpdateItem, &params("UPDATED_OLD"), "Id", None).unwrap();
        assert_eq!(r, json!({}));
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
}
