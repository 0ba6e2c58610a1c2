//! The payload rule: a job's `Payload` is a JSON object, nested at most
//! [`MAX_PAYLOAD_DEPTH`] levels, on both targets and in the API model (`"type": "object"`).
//! Anything else is refused before anything is sent (exit 2).
//!
//! A payload is kept as the exact text that was sent ([`Payload`]): it is stored and given back
//! byte for byte, so big or precise numbers (`12345678901234567890123`, `1e2`) never change.
//! Two payloads are the same when they are equal as JSON ([`same_json`]): key order and spacing
//! do not count, numbers compare as written.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::limits::MAX_PAYLOAD_DEPTH;

/// The API model's JSON Schema type for `Payload`.
pub(crate) const PAYLOAD_SCHEMA_TYPE: &str = "object";

/// Why a payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error(
        "the payload is nested {depth} levels deep, more than the limit of {MAX_PAYLOAD_DEPTH}"
    )]
    TooDeep { depth: usize },
    #[error("the payload is not valid JSON: {reason}")]
    NotJson { reason: String },
    #[error("the payload must be a JSON object ({{...}}), not {kind}")]
    NotAnObject { kind: &'static str },
}

/// The exact JSON text of a payload. Serialises as that JSON (not as a string), unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload(String);

impl Payload {
    /// Checks `text` (a `--payload`, a payload file, the `Payload` of a POST body) against the
    /// payload rule and keeps it as it is, without the whitespace around it.
    pub fn parse(text: &str) -> Result<Payload, PayloadError> {
        let text = text.trim_matches(is_json_space);
        let depth = nesting_depth(text);
        if depth > MAX_PAYLOAD_DEPTH {
            return Err(PayloadError::TooDeep { depth });
        }
        serde_json::from_str::<IgnoredAny>(text).map_err(|e| PayloadError::NotJson {
            reason: e.to_string(),
        })?;
        if !text.starts_with('{') {
            let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            return Err(PayloadError::NotAnObject { kind: kind(&v) });
        }
        Ok(Payload(text.to_string()))
    }

    /// A payload built in code (the demo's, tests'), checked like any other.
    pub fn from_value(v: &Value) -> Result<Payload, PayloadError> {
        Payload::parse(&v.to_string())
    }

    /// A Payload attribute read back from the table: its text when it is JSON, else the text
    /// as a JSON string (a row written by something else).
    pub fn from_stored(text: &str) -> Payload {
        if serde_json::from_str::<IgnoredAny>(text).is_ok() {
            Payload(text.to_string())
        } else {
            Payload(Value::String(text.to_string()).to_string())
        }
    }

    /// The JSON text, exactly as it was sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawValue::from_string(self.0.clone())
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        Ok(Payload(raw.get().to_string()))
    }
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// What a non-object payload is called in the error ("a string", "a number", ...).
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// How deeply arrays and objects nest in JSON text (`{}` is 1, `1` is 0), read without
/// recursion, so any text can be measured before a parser with a recursion limit sees it.
pub fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// JSON as compared for idempotency: objects as maps, numbers as written.
#[derive(Debug, PartialEq)]
enum Canon {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Canon>),
    Object(BTreeMap<String, Canon>),
}

/// Whether two JSON texts are equal as JSON: key order and spacing do not count; numbers
/// compare as written (`1e2` is not `100`), so no precision is lost. Text that is not JSON
/// (or nests deeper than anything the contract accepts) is only equal to itself.
pub(crate) fn same_json(a: &str, b: &str) -> bool {
    match (canonical(a), canonical(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn canonical(text: &str) -> Option<Canon> {
    if nesting_depth(text) > 4 * MAX_PAYLOAD_DEPTH
        || serde_json::from_str::<IgnoredAny>(text).is_err()
    {
        return None;
    }
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    let v = p.value()?;
    p.space();
    (p.i == p.s.len()).then_some(v)
}

/// A reader over text already known to be valid JSON.
struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b" \t\n\r".contains(b)) {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Option<Canon> {
        self.space();
        match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut m = BTreeMap::new();
                loop {
                    self.space();
                    match *self.s.get(self.i)? {
                        b'}' => {
                            self.i += 1;
                            return Some(Canon::Object(m));
                        }
                        b',' => self.i += 1,
                        _ => {
                            let key = self.string()?;
                            self.space();
                            self.i += 1; // ':'
                            let v = self.value()?;
                            m.insert(key, v);
                        }
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut a = Vec::new();
                loop {
                    self.space();
                    match *self.s.get(self.i)? {
                        b']' => {
                            self.i += 1;
                            return Some(Canon::Array(a));
                        }
                        b',' => self.i += 1,
                        _ => a.push(self.value()?),
                    }
                }
            }
            b'"' => self.string().map(Canon::String),
            b't' => self.word("true", Canon::Bool(true)),
            b'f' => self.word("false", Canon::Bool(false)),
            b'n' => self.word("null", Canon::Null),
            _ => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|b| b"+-.eE0123456789".contains(b))
                {
                    self.i += 1;
                }
                Some(Canon::Number(self.text[start..self.i].to_string()))
            }
        }
    }

    fn word(&mut self, w: &str, v: Canon) -> Option<Canon> {
        self.i += w.len();
        Some(v)
    }

    /// A string token, unescaped (`"\u0041"` is `"A"`).
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        self.i += 1;
        loop {
            match *self.s.get(self.i)? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return serde_json::from_str(&self.text[start..self.i]).ok();
                }
                _ => self.i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_objects_are_payloads() {
        assert_eq!(Payload::parse(r#"{"a":1}"#).unwrap().as_str(), r#"{"a":1}"#);
        assert_eq!(Payload::parse(" {} \n").unwrap().as_str(), "{}");
        for (text, said) in [
            (r#""text""#, "a string"),
            ("42", "a number"),
            ("1e2", "a number"),
            ("[1,2]", "an array"),
            ("null", "null"),
            ("true", "a boolean"),
        ] {
            let err = Payload::parse(text).unwrap_err();
            assert_eq!(err, PayloadError::NotAnObject { kind: said }, "{text}");
            assert!(err.to_string().contains("JSON object"), "{err}");
        }
        assert!(matches!(
            Payload::parse("{a:1}").unwrap_err(),
            PayloadError::NotJson { .. }
        ));
        assert!(Payload::parse("").is_err());
        assert!(Payload::from_value(&json!({"a": [1]})).is_ok());
        assert!(Payload::from_value(&json!([1])).is_err());
    }

    #[test]
    fn payloads_keep_their_exact_text() {
        for text in [
            r#"{"n":12345678901234567890123}"#,
            r#"{"x": 123456789.123456789, "y": 1e2}"#,
            r#"{"s":"\u00e9 \"q\" é","k" : [ 1 , 2 ]}"#,
        ] {
            let p = Payload::parse(text).unwrap();
            assert_eq!(p.as_str(), text);
            #[derive(Serialize, Deserialize)]
            struct Wrap {
                #[serde(rename = "Payload")]
                payload: Payload,
            }
            let wrapped = serde_json::to_string(&Wrap { payload: p.clone() }).unwrap();
            assert_eq!(wrapped, format!(r#"{{"Payload":{text}}}"#));
            let back: Wrap = serde_json::from_str(&wrapped).unwrap();
            assert_eq!(back.payload, p);
        }
    }

    #[test]
    fn depth_is_limited_at_exactly_the_limit() {
        let nested = |n: usize| format!("{}{}", "{\"a\":".repeat(n - 1) + "{}", "}".repeat(n - 1));
        assert_eq!(nesting_depth(&nested(MAX_PAYLOAD_DEPTH)), MAX_PAYLOAD_DEPTH);
        assert!(Payload::parse(&nested(MAX_PAYLOAD_DEPTH)).is_ok());
        let err = Payload::parse(&nested(MAX_PAYLOAD_DEPTH + 1)).unwrap_err();
        assert_eq!(
            err,
            PayloadError::TooDeep {
                depth: MAX_PAYLOAD_DEPTH + 1
            }
        );
        assert!(err.to_string().contains("levels deep"), "{err}");
        let err = Payload::parse(&nested(500)).unwrap_err();
        assert_eq!(err, PayloadError::TooDeep { depth: 500 });
        assert_eq!(nesting_depth(r#"{"a":"{{[[","b":"\"{"}"#), 1);
        assert_eq!(nesting_depth("1"), 0);
    }

    #[test]
    fn stored_text_reads_back_as_json_or_as_a_string() {
        assert_eq!(
            Payload::from_stored(r#"{"k":[1]}"#).as_str(),
            r#"{"k":[1]}"#
        );
        assert_eq!(Payload::from_stored("not json").as_str(), r#""not json""#);
    }

    #[test]
    fn same_json_ignores_order_and_spacing_but_not_values() {
        let cases = [
            (r#"{"a":1,"b":2}"#, r#"{ "b": 2, "a": 1 }"#, true),
            (r#"{"a":{"x":[1,2]}}"#, r#"{"a":{"x":[1,2]}}"#, true),
            (r#"{"s":"\u0041"}"#, r#"{"s":"A"}"#, true),
            (r#"{"a":[1,2]}"#, r#"{"a":[2,1]}"#, false),
            (r#"{"a":1}"#, r#"{"a":2}"#, false),
            (
                r#"{"n":12345678901234567890123}"#,
                r#"{"n":12345678901234567890124}"#,
                false,
            ),
            (r#"{"n":1e2}"#, r#"{"n":100}"#, false),
            (r#"{"a":null}"#, r#"{}"#, false),
            ("not json", "not json", true),
            ("not json", "{}", false),
        ];
        for (a, b, same) in cases {
            assert_eq!(same_json(a, b), same, "{a} vs {b}");
            assert_eq!(same_json(b, a), same, "{b} vs {a}");
        }
    }
}

/// Random JSON texts for property tests: deep nesting, big and precise numbers, unicode,
/// escapes, odd spacing, and now and then something the contract refuses.
#[cfg(any(test, feature = "test-support"))]
pub mod generate {
    /// A small deterministic generator (xorshift), so a failure names its seed.
    pub struct Gen(u64);

    impl Gen {
        pub fn new(seed: u64) -> Gen {
            Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }

        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len() as u64) as usize]
        }

        fn space(&mut self) -> &'static str {
            ["", "", " ", "\n  ", "\t"][self.below(5) as usize]
        }

        fn string(&mut self) -> String {
            let parts = [
                "a",
                "é",
                "😀",
                "\\u00e9",
                "\\ud83d\\ude00",
                "\\\"",
                "\\\\",
                "\\/",
                "\\n",
                "\\t",
                "\\u0000",
                "{",
                "]",
                " ",
                "x y",
                "ü\u{2028}",
            ];
            let n = self.below(6);
            let body: String = (0..n).map(|_| self.pick(&parts)).collect();
            format!("\"{body}\"")
        }

        fn number(&mut self) -> String {
            self.pick(&[
                "0",
                "-0",
                "-0.0",
                "12345678901234567890123",
                "123456789.123456789",
                "1e2",
                "1E+2",
                "-2.5e-300",
                "3.14159265358979323846264338327950288",
                "9007199254740993",
                "1.0",
            ])
            .to_string()
        }

        fn value(&mut self, depth: usize, max: usize) -> String {
            let kind = if depth >= max {
                self.below(4)
            } else {
                self.below(7)
            };
            match kind {
                0 => self.number(),
                1 => self.string(),
                2 => self.pick(&["true", "false", "null"]).to_string(),
                3 => self.number(),
                4 | 5 => self.object(depth + 1, max),
                _ => {
                    let n = self.below(4);
                    let items: Vec<String> = (0..n).map(|_| self.value(depth + 1, max)).collect();
                    let (a, b) = (self.space(), self.space());
                    format!("[{a}{}{b}]", items.join(","))
                }
            }
        }

        fn object(&mut self, depth: usize, max: usize) -> String {
            let n = self.below(4);
            let members: Vec<String> = (0..n)
                .map(|_| {
                    let (k, s) = (self.string(), self.space());
                    format!("{k}{s}:{}{}", self.space(), self.value(depth, max))
                })
                .collect();
            let (a, b) = (self.space(), self.space());
            format!("{{{a}{}{b}}}", members.join(","))
        }

        /// A chain `{"a":` n deep around a random value, so depth limits are crossed.
        fn deep(&mut self, n: usize) -> String {
            let inner = self.object(0, 2);
            format!("{}{inner}{}", "{\"a\":".repeat(n), "}".repeat(n))
        }

        /// One payload candidate.
        pub fn payload(&mut self) -> String {
            match self.below(10) {
                0 => self.value(0, 3),
                1 => {
                    let n = 55 + self.below(80) as usize;
                    self.deep(n)
                }
                _ => {
                    let max = 1 + self.below(6) as usize;
                    self.object(1, max)
                }
            }
        }
    }
}

#[cfg(test)]
mod properties {
    use serde_json::Value;

    use super::generate::Gen;
    use super::*;
    use crate::job::{JobRecord, execution_input};
    use crate::record::record_from_item;

    /// What the contract says about `text`, decided without [`Payload::parse`].
    fn accepted(text: &str) -> bool {
        nesting_depth(text) <= MAX_PAYLOAD_DEPTH
            && serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object())
    }

    /// Every generated payload is refused, or comes back byte for byte through the execution
    /// input, a stored item, the record's JSON and a page of records read back.
    #[test]
    fn payloads_round_trip_exactly_or_are_refused() {
        let (mut ok, mut refused) = (0, 0);
        for seed in 0..3000 {
            let text = Gen::new(seed).payload();
            let parsed = Payload::parse(&text);
            assert_eq!(parsed.is_ok(), accepted(&text), "seed {seed}: {text}");
            let Ok(p) = parsed else {
                refused += 1;
                continue;
            };
            ok += 1;
            assert_eq!(p.as_str(), text, "seed {seed}");
            let input = execution_input("2030-01-01T00:00:00Z", Some(p.as_str()), 90).to_string();
            let input: Value = serde_json::from_str(&input).unwrap();
            let stored = input["Payload"].as_str().unwrap();
            assert_eq!(stored, text, "seed {seed}");
            let item: serde_json::Map<String, Value> = serde_json::from_value(
                serde_json::json!({"Id": {"S": "a"}, "Payload": {"S": stored}}),
            )
            .unwrap();
            let record = record_from_item(&item).unwrap();
            let json = serde_json::to_string(&record).unwrap();
            assert!(json.contains(&format!("\"Payload\":{text}")), "seed {seed}");
            let page = format!("{{\"items\":[{json}]}}");
            #[derive(serde::Deserialize)]
            struct Page {
                items: Vec<JobRecord>,
            }
            let back: Page = serde_json::from_str(&page).unwrap();
            assert_eq!(back.items[0], record, "seed {seed}");
            assert!(same_json(&text, &text));
        }
        assert!(
            ok > 1000 && refused > 100,
            "{ok} accepted, {refused} refused"
        );
    }
}
