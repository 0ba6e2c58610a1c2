//! A state's data flow: InputPath/OutputPath selection, Parameters/ResultSelector templates,
//! and ResultPath placement.

use serde_json::{Map, Value, json};

use super::fault::{Fault, runtime};
use super::model::{Place, Select};
use super::path::Path;

pub(super) fn select(sel: &Select, value: &Value, field: &str) -> Result<Value, Fault> {
    match sel {
        Select::All => Ok(value.clone()),
        Select::Nothing => Ok(json!({})),
        Select::At(p) => p.get(value).cloned().ok_or_else(|| {
            runtime(format!(
                "Invalid path for {field}: the state's data has no value at {}",
                p.render()
            ))
        }),
    }
}

/// Fills a Parameters/ResultSelector template: `key.$` values are paths into `input` (or the
/// context object for `$$`).
pub fn fill(template: &Value, input: &Value, ctx: &Value) -> Result<Value, Fault> {
    match template {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if let Some(key) = k.strip_suffix(".$") {
                    let text = v.as_str().unwrap_or_default();
                    let p = Path::parse(text).map_err(runtime)?;
                    let found = p.get(if p.context { ctx } else { input }).ok_or_else(|| {
                        Fault::new(
                            "States.ParameterPathFailure",
                            format!("The JSONPath {text} specified for the field {k} could not be found in the input"),
                        )
                    })?;
                    out.insert(key.to_string(), found.clone());
                } else {
                    out.insert(k.clone(), fill(v, input, ctx)?);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|i| fill(i, input, ctx))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

pub(super) fn place(place: &Place, raw: &Value, result: Value) -> Result<Value, Fault> {
    match place {
        Place::Discard => Ok(raw.clone()),
        Place::At(p) => p
            .set(raw.clone(), result)
            .map_err(|e| Fault::new("States.ResultPathMatchFailure", e)),
    }
}
