//! The one intrinsic function the generated state machine uses: `States.Format`, which builds
//! the delivery message (and its failure text) without re-serialising the payload.
//!
//! `States.Format('template', arg, ...)`: arguments are paths (`$.a`, `$$.Execution.Name`) or
//! literals (`'text'`, numbers, `true`, `false`, `null`); each `{}` takes the next one, a
//! string as it is, anything else as JSON. An object or array argument, or a path that
//! selects nothing, is `States.Runtime`, as on AWS.

use serde_json::Value;

use super::path::Path;
use crate::context::Ctx;

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Path(Path),
    Literal(Value),
}

/// A parsed `States.Format(...)` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Format {
    template: String,
    args: Vec<Arg>,
}

const PREFIX: &str = "States.Format(";

/// True when a `.$` value is an intrinsic function call rather than a path.
pub fn is_intrinsic(text: &str) -> bool {
    text.starts_with("States.")
}

impl Format {
    /// Parses the call; any other intrinsic is refused (the local engine runs only this one).
    pub fn parse(text: &str) -> Result<Format, String> {
        let Some(body) = text
            .trim()
            .strip_prefix(PREFIX)
            .and_then(|b| b.strip_suffix(')'))
        else {
            let name = text.split('(').next().unwrap_or(text);
            return Err(format!(
                "intrinsic function {name} is not supported by the local engine (only States.Format)"
            ));
        };
        let mut rest = body.trim_start();
        let mut raw_args: Vec<Arg> = Vec::new();
        let mut template = None;
        while !rest.is_empty() {
            let (arg, after) = if rest.starts_with('\'') {
                let (lit, after) = string_literal(rest)?;
                (Arg::Literal(Value::String(lit)), after)
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                let token = rest[..end].trim();
                let arg = if token.starts_with('$') {
                    Arg::Path(Path::parse(token)?)
                } else {
                    Arg::Literal(
                        serde_json::from_str::<Value>(token)
                            .ok()
                            .filter(|v| !v.is_object() && !v.is_array() && !v.is_string())
                            .ok_or_else(|| format!("States.Format: bad argument {token:?}"))?,
                    )
                };
                (arg, &rest[end..])
            };
            match (&template, arg) {
                (None, Arg::Literal(Value::String(t))) => template = Some(t),
                (None, _) => {
                    return Err("States.Format: the first argument must be a string literal".into());
                }
                (Some(_), arg) => raw_args.push(arg),
            }
            rest = after.trim_start();
            if let Some(r) = rest.strip_prefix(',') {
                rest = r.trim_start();
                if rest.is_empty() {
                    return Err("States.Format: trailing comma".into());
                }
            } else if !rest.is_empty() {
                return Err(format!("States.Format: unexpected {rest:?}"));
            }
        }
        let template = template.ok_or("States.Format needs a template")?;
        let placeholders = template.matches("{}").count() - template.matches("\\{}").count();
        if placeholders != raw_args.len() {
            return Err(format!(
                "States.Format: {placeholders} placeholders but {} arguments",
                raw_args.len()
            ));
        }
        Ok(Format {
            template,
            args: raw_args,
        })
    }

    /// The formatted text; `Err` is the cause of a `States.Runtime` failure.
    pub fn eval(&self, input: &Value, context: &Ctx) -> Result<String, String> {
        let args = self
            .args
            .iter()
            .map(|a| {
                let v = match a {
                    Arg::Literal(v) => v.clone(),
                    Arg::Path(p) => p
                        .get(if p.context { context.value() } else { input })
                        .cloned()
                        .ok_or_else(|| {
                            "States.Format: an argument's path selects nothing in the input"
                                .to_string()
                        })?,
                };
                match v {
                    Value::String(s) => Ok(s),
                    Value::Object(_) | Value::Array(_) => {
                        Err("States.Format: an argument is an object or an array".to_string())
                    }
                    other => Ok(other.to_string()),
                }
            })
            .collect::<Result<Vec<String>, String>>()?;
        states_format(&self.template, &args)
            .ok_or_else(|| "States.Format: placeholders and arguments differ".to_string())
    }
}

/// A single-quoted literal at the start of `text`; `\x` escapes are kept for States.Format to
/// read (it is the one that gives them meaning). Returns the literal and what follows.
fn string_literal(text: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, n) = chars.next().ok_or("States.Format: unfinished escape")?;
                out.push('\\');
                out.push(n);
            }
            '\'' => return Ok((out, &text[i + 1..])),
            c => out.push(c),
        }
    }
    Err("States.Format: unclosed string literal".into())
}

/// `States.Format`: `{}` takes the next argument; `\{`, `\}`, `\'` and `\\` are literal.
/// Returns `None` when the placeholders and the arguments do not match in number.
pub fn states_format(template: &str, args: &[String]) -> Option<String> {
    let mut out =
        String::with_capacity(template.len() + args.iter().map(String::len).sum::<usize>());
    let mut next = args.iter();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push_str(next.next()?);
            }
            c => out.push(c),
        }
    }
    next.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn literals_numbers_and_failures() {
        let f = Format::parse("States.Format('a {} b {} c {}', 'x', 42, $.v)").unwrap();
        assert_eq!(
            f.eval(&json!({"v": null}), &Ctx::of(json!({}))).unwrap(),
            "a x b 42 c null"
        );
        assert!(f.eval(&json!({}), &Ctx::of(json!({}))).is_err());
        assert!(
            f.eval(&json!({"v": {"o": 1}}), &Ctx::of(json!({})))
                .is_err()
        );
        for bad in [
            "States.JsonToString($.a)",
            "States.Format($.a)",
            "States.Format('{}')",
            "States.Format('x', )",
            "States.Format('unclosed)",
        ] {
            assert!(Format::parse(bad).is_err(), "{bad}");
        }
        let failed = Format::parse(
            "States.Format('DeliveryFailed: {}: {}', $.Failure.Error, $.Failure.Cause)",
        )
        .unwrap();
        assert_eq!(
            failed
                .eval(
                    &json!({"Failure": {"Error": "States.Http.StatusCode.400", "Cause": "bad"}}),
                    &Ctx::of(json!({}))
                )
                .unwrap(),
            "DeliveryFailed: States.Http.StatusCode.400: bad"
        );
    }
}
