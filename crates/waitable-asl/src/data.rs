//! A state's data flow: InputPath/OutputPath selection, Parameters/ResultSelector templates,
//! and ResultPath placement. A path that finds nothing is `States.Runtime` (uncatchable), as
//! on AWS.

use serde_json::{Map, Value, json};

use super::fault::{Fault, runtime};
use super::model::{Place, Select};
use super::path::Path;
use crate::context::Ctx;

/// The value at `p`: in the context object for `$$...`, else in `data`.
pub(super) fn lookup<'a>(p: &Path, data: &'a Value, ctx: &'a Ctx) -> Option<&'a Value> {
    p.get(if p.context { ctx.value() } else { data })
}

/// The `States.Runtime` fault of a path that found nothing (AWS's wording).
pub(super) fn not_found(p: &Path, field: &str, data: &Value) -> Fault {
    runtime(format!(
        "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{data}'",
        p.render()
    ))
}

/// InputPath/OutputPath: the whole `value`, an empty object (null), or the value at a path
/// (`$$` selects the context object).
pub(super) fn select(sel: &Select, value: &Value, ctx: &Ctx, field: &str) -> Result<Value, Fault> {
    match sel {
        Select::All => Ok(value.clone()),
        Select::Nothing => Ok(json!({})),
        Select::At(p) => lookup(p, value, ctx)
            .cloned()
            .ok_or_else(|| not_found(p, field, value)),
    }
}

/// Fills a Parameters/ResultSelector template: `key.$` values are paths into `input` (or the
/// context object for `$$`).
pub(crate) fn fill(template: &Value, input: &Value, ctx: &Ctx) -> Result<Value, Fault> {
    match template {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if let Some(key) = k.strip_suffix(".$") {
                    let text = v.as_str().unwrap_or_default();
                    if super::intrinsic::is_intrinsic(text) {
                        let f = super::intrinsic::Format::parse(text).map_err(runtime)?;
                        out.insert(key.to_string(), f.eval(input, ctx).map_err(runtime)?.into());
                        continue;
                    }
                    let p = Path::parse(text).map_err(runtime)?;
                    let found = lookup(&p, input, ctx).ok_or_else(|| not_found(&p, k, input))?;
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
