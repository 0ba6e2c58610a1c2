//! Reference paths (`$.a.b[0]`, `$['a b']`, `$$.Execution.Name`): the subset of JSONPath that
//! Amazon States Language allows in InputPath, ResultPath, `.$` parameters and Choice variables.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed reference path. `context` is true for `$$...` (the context object).
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub context: bool,
    pub segments: Vec<Segment>,
}

impl Path {
    /// Parses a reference path; wildcards, filters and recursive descent are refused.
    pub fn parse(text: &str) -> Result<Path, String> {
        let (context, mut rest) = if let Some(r) = text.strip_prefix("$$") {
            (true, r)
        } else if let Some(r) = text.strip_prefix('$') {
            (false, r)
        } else {
            return Err(format!("path {text:?} does not start with $"));
        };
        let mut segments = Vec::new();
        while !rest.is_empty() {
            if rest.starts_with("..") {
                return Err(format!(
                    "path {text:?}: recursive descent (..) is not supported"
                ));
            }
            if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                let name = &r[..end];
                if name.is_empty() || name == "*" {
                    return Err(format!("path {text:?}: empty or wildcard field name"));
                }
                segments.push(Segment::Key(name.to_string()));
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = r
                    .find(']')
                    .ok_or_else(|| format!("path {text:?}: unclosed ["))?;
                let inner = &r[..end];
                let quoted = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                if let Some(name) = quoted {
                    segments.push(Segment::Key(name.to_string()));
                } else if let Ok(i) = inner.parse::<usize>() {
                    segments.push(Segment::Index(i));
                } else {
                    return Err(format!(
                        "path {text:?}: [{inner}] is not supported (only [n] and ['name'])"
                    ));
                }
                rest = &r[end + 1..];
            } else {
                return Err(format!("path {text:?}: unexpected {rest:?}"));
            }
        }
        Ok(Path { context, segments })
    }

    /// The path as text, in dot notation (`$.a[0].b`, `$$.Execution.Name`).
    pub fn render(&self) -> String {
        let mut s = if self.context { "$$" } else { "$" }.to_string();
        for seg in &self.segments {
            match seg {
                Segment::Key(k) => {
                    s.push('.');
                    s.push_str(k);
                }
                Segment::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }

    /// The value at this path, if every step exists.
    pub fn get<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.segments.iter().try_fold(root, |v, seg| match seg {
            Segment::Key(k) => v.as_object()?.get(k),
            Segment::Index(i) => v.as_array()?.get(*i),
        })
    }

    /// `root` with `value` placed at this path (ResultPath): missing objects are created;
    /// a step through a non-object fails.
    pub fn set(&self, root: Value, value: Value) -> Result<Value, String> {
        if self.context {
            return Err("ResultPath cannot point into the context object".into());
        }
        fn put(target: Value, segs: &[Segment], value: Value) -> Result<Value, String> {
            let Some((first, rest)) = segs.split_first() else {
                return Ok(value);
            };
            match first {
                Segment::Key(k) => {
                    let mut map = match target {
                        Value::Object(m) => m,
                        Value::Null => Map::new(),
                        other => {
                            return Err(format!(
                                "cannot set field {k:?} on a non-object ({other})"
                            ));
                        }
                    };
                    let child = map.remove(k).unwrap_or(Value::Null);
                    map.insert(k.clone(), put(child, rest, value)?);
                    Ok(Value::Object(map))
                }
                Segment::Index(i) => match target {
                    Value::Array(mut items) if *i < items.len() => {
                        let child = std::mem::take(&mut items[*i]);
                        items[*i] = put(child, rest, value)?;
                        Ok(Value::Array(items))
                    }
                    _ => Err(format!("index [{i}] is out of range")),
                },
            }
        }
        // A fresh (absent) root field becomes an object, never the input itself.
        put(root, &self.segments, value)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_dots_brackets_and_context() {
        let p = Path::parse("$.a['b c'][2].d").unwrap();
        assert!(!p.context);
        assert_eq!(
            p.segments,
            [
                Segment::Key("a".into()),
                Segment::Key("b c".into()),
                Segment::Index(2),
                Segment::Key("d".into())
            ]
        );
        assert!(Path::parse("$$.Execution.Name").unwrap().context);
        assert!(Path::parse("$").unwrap().segments.is_empty());
    }

    #[test]
    fn refuses_what_reference_paths_forbid() {
        for bad in ["a.b", "$..a", "$.a[*]", "$.*", "$.a[?(@.x)]", "$.a[", "$a"] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn gets_values_or_none() {
        let v = json!({"a": {"b": [1, {"c": "x"}]}});
        let get = |p: &str| Path::parse(p).unwrap().get(&v).cloned();
        assert_eq!(get("$.a.b[1].c"), Some(json!("x")));
        assert_eq!(get("$"), Some(v.clone()));
        assert_eq!(get("$.a.missing"), None);
        assert_eq!(get("$.a.b[5]"), None);
        assert_eq!(get("$.a.b.c"), None);
    }

    #[test]
    fn sets_creating_objects_and_fails_through_scalars() {
        let p = Path::parse("$.Failure.Detail").unwrap();
        assert_eq!(
            p.set(json!({"x": 1}), json!(2)).unwrap(),
            json!({"x": 1, "Failure": {"Detail": 2}})
        );
        assert_eq!(
            Path::parse("$")
                .unwrap()
                .set(json!({"x": 1}), json!(3))
                .unwrap(),
            json!(3)
        );
        assert!(p.set(json!({"Failure": "text"}), json!(1)).is_err());
        assert!(
            Path::parse("$$.X")
                .unwrap()
                .set(json!({}), json!(1))
                .is_err()
        );
    }
}
