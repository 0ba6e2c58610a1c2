//! Attribute values: their shapes, the key of an item, and their order in comparisons.

use serde_json::{Map, Value};

use super::{DdbError, Res};

/// An item: attribute name -> attribute value (`{"S": "..."}`, `{"N": "1"}`, ...).
pub type Item = Map<String, Value>;

/// Checks one attribute value's shape.
pub(super) fn check_value(v: &Value) -> Res<()> {
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

pub(super) fn item_from(v: Option<&Value>, field: &str) -> Res<Item> {
    let item = v.and_then(Value::as_object).ok_or_else(|| {
        DdbError::validation(format!("{field} must be a map of attribute values"))
    })?;
    item.values().try_for_each(check_value)?;
    Ok(item.clone())
}

/// The string key of an item or Key map.
pub(super) fn key_of(item: &Item, key_attr: &str, field: &str) -> Res<String> {
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

pub(super) fn cmp_values(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
