//! The expression language: a lexer and recursive-descent parsers for ConditionExpression
//! and UpdateExpression, into typed trees.

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
