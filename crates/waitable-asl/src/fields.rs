//! Readers for the fields states share (paths, names, Retry and Catch), each checking the
//! field's shape and naming the state at fault.

use serde_json::{Map, Value};

use super::model::{Catcher, Place, Retrier, Select, Unsupported};
use super::path::Path;

pub(super) type Res<T> = Result<T, Unsupported>;

const COMMON_FIELDS: [&str; 3] = ["Type", "Comment", "QueryLanguage"];

pub(super) fn unsupported(state: &str, feature: impl Into<String>) -> Unsupported {
    Unsupported {
        state: Some(state.to_string()),
        feature: feature.into(),
    }
}

pub(super) fn allowed(name: &str, obj: &Map<String, Value>, fields: &[&str]) -> Res<()> {
    for key in obj.keys() {
        if !COMMON_FIELDS.contains(&key.as_str()) && !fields.contains(&key.as_str()) {
            return Err(unsupported(
                name,
                format!("field {key} is not supported by the local engine"),
            ));
        }
    }
    if obj.get("QueryLanguage").is_some_and(|q| q != "JSONPath") {
        return Err(unsupported(
            name,
            "QueryLanguage JSONata is not supported by the local engine",
        ));
    }
    Ok(())
}

pub(super) fn path_field(name: &str, obj: &Map<String, Value>, field: &str) -> Res<Option<Path>> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Path::parse(s)
            .map(Some)
            .map_err(|e| unsupported(name, format!("{field}: {e}"))),
        Some(_) => Err(unsupported(name, format!("{field} must be a string"))),
    }
}

pub(super) fn select(name: &str, obj: &Map<String, Value>, field: &str) -> Res<Select> {
    if obj.get(field) == Some(&Value::Null) {
        return Ok(Select::Nothing);
    }
    Ok(path_field(name, obj, field)?.map_or(Select::All, Select::At))
}

pub(super) fn place(name: &str, obj: &Map<String, Value>, field: &str) -> Res<Place> {
    if obj.get(field) == Some(&Value::Null) {
        return Ok(Place::Discard);
    }
    let p = path_field(name, obj, field)?.unwrap_or(Path {
        context: false,
        segments: vec![],
    });
    if p.context {
        return Err(unsupported(
            name,
            format!("{field} cannot point into the context object"),
        ));
    }
    Ok(Place::At(p))
}

pub(super) fn string_field(
    name: &str,
    obj: &Map<String, Value>,
    field: &str,
) -> Res<Option<String>> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(unsupported(name, format!("{field} must be a string"))),
    }
}

fn error_list(name: &str, v: &Map<String, Value>, what: &str) -> Res<Vec<String>> {
    let list = v
        .get("ErrorEquals")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| unsupported(name, format!("{what} needs a non-empty ErrorEquals")))?;
    let errors: Vec<String> = list
        .iter()
        .map(|e| {
            e.as_str()
                .map(str::to_string)
                .ok_or_else(|| unsupported(name, format!("{what}: error names must be strings")))
        })
        .collect::<Res<_>>()?;
    if errors.iter().any(|e| e == "States.ALL") && errors.len() > 1 {
        return Err(unsupported(
            name,
            format!("{what}: States.ALL must appear alone"),
        ));
    }
    Ok(errors)
}

fn number(v: &Map<String, Value>, field: &str) -> Option<f64> {
    v.get(field).and_then(Value::as_f64)
}

/// The objects of the array `field` ("Retry" or "Catch"), each checked to hold only `allowed`
/// keys. A missing field is an empty list.
fn field_objects<'a>(
    name: &str,
    obj: &'a Map<String, Value>,
    field: &str,
    allowed: &[&str],
) -> Res<Vec<&'a Map<String, Value>>> {
    let Some(list) = obj.get(field) else {
        return Ok(vec![]);
    };
    let list = list
        .as_array()
        .ok_or_else(|| unsupported(name, format!("{field} must be an array")))?;
    list.iter()
        .map(|item| {
            let o = item.as_object().ok_or_else(|| {
                unsupported(name, format!("each {field} entry must be an object"))
            })?;
            if let Some(key) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(unsupported(
                    name,
                    format!("{field} field {key} is not supported by the local engine"),
                ));
            }
            Ok(o)
        })
        .collect()
}

pub(super) fn retriers(name: &str, obj: &Map<String, Value>) -> Res<Vec<Retrier>> {
    const ALLOWED: &[&str] = &[
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    ];
    field_objects(name, obj, "Retry", ALLOWED)?
        .into_iter()
        .map(|o| {
            let full_jitter = match o.get("JitterStrategy").and_then(Value::as_str) {
                None | Some("NONE") => false,
                Some("FULL") => true,
                Some(other) => {
                    return Err(unsupported(
                        name,
                        format!("JitterStrategy {other} is not supported"),
                    ));
                }
            };
            Ok(Retrier {
                errors: error_list(name, o, "Retry")?,
                interval_seconds: number(o, "IntervalSeconds").unwrap_or(1.0),
                max_attempts: number(o, "MaxAttempts").unwrap_or(3.0) as u32,
                backoff_rate: number(o, "BackoffRate").unwrap_or(2.0),
                max_delay_seconds: number(o, "MaxDelaySeconds"),
                full_jitter,
            })
        })
        .collect()
}

pub(super) fn catchers(name: &str, obj: &Map<String, Value>) -> Res<Vec<Catcher>> {
    const ALLOWED: &[&str] = &["ErrorEquals", "ResultPath", "Next", "Comment"];
    field_objects(name, obj, "Catch", ALLOWED)?
        .into_iter()
        .map(|o| {
            Ok(Catcher {
                errors: error_list(name, o, "Catch")?,
                result_path: place(name, o, "ResultPath")?,
                next: string_field(name, o, "Next")?
                    .ok_or_else(|| unsupported(name, "a Catcher needs Next"))?,
            })
        })
        .collect()
}
