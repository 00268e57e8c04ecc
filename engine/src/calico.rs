//! Calico selector expressions (`projectcalico.org/v3` NetworkPolicy and GlobalNetworkPolicy
//! `selector` / `namespaceSelector`), as Calico evaluates them against a pod's labels:
//! `all()`, `has(k)`, `k == 'v'`, `k != 'v'`, `k in {'a', 'b'}`, `k not in {...}`,
//! `k contains 'x'`, `k starts with 'x'`, `k ends with 'x'`, `!`, `&&`, `||` and parentheses.
//! An empty selector selects everything.

use std::collections::BTreeMap;

/// A parsed selector.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    /// `all()` or an empty selector.
    All,
    /// `global()`: in a `namespaceSelector`, resources of no namespace (global network sets,
    /// host endpoints); no pod and no namespace matches it.
    Global,
    /// `has(k)`.
    Has(String),
    /// `k == 'v'`.
    Eq(String, String),
    /// `k != 'v'` (true when the label is absent).
    Ne(String, String),
    /// `k in {...}`.
    In(String, Vec<String>),
    /// `k not in {...}` (true when the label is absent).
    NotIn(String, Vec<String>),
    /// `k contains 'x'`.
    Contains(String, String),
    /// `k starts with 'x'`.
    StartsWith(String, String),
    /// `k ends with 'x'`.
    EndsWith(String, String),
    /// `!e`.
    Not(Box<Selector>),
    /// `a && b`.
    And(Box<Selector>, Box<Selector>),
    /// `a || b`.
    Or(Box<Selector>, Box<Selector>),
}

impl Selector {
    /// Parses a selector; an error names what was expected.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Ok(Selector::All);
        }
        let mut p = Parser {
            tokens,
            pos: 0,
            depth: 0,
        };
        let s = p.or()?;
        if p.pos != p.tokens.len() {
            return Err(format!("unexpected `{}`", p.tokens[p.pos].text()));
        }
        Ok(s)
    }

    /// Whether the selector selects a pod with these labels.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.eval(&|k| Some(labels.get(k).map(String::as_str)))
            .unwrap_or(false)
    }

    /// The terms joined by `join` (`And` or `Or`, both associative) as a balanced tree: a long
    /// chain nests only logarithmically deep, so evaluating (and dropping) it cannot exhaust the
    /// stack. No term: `all()`.
    pub fn balanced(
        mut terms: Vec<Selector>,
        join: fn(Box<Selector>, Box<Selector>) -> Selector,
    ) -> Selector {
        if terms.len() <= 1 {
            return terms.pop().unwrap_or(Selector::All);
        }
        let right = terms.split_off(terms.len() / 2);
        join(
            Box::new(Selector::balanced(terms, join)),
            Box::new(Selector::balanced(right, join)),
        )
    }

    /// Whether the selector selects every pod (`all()`, empty).
    pub fn is_all(&self) -> bool {
        matches!(self, Selector::All)
    }

    /// The label keys the selector reads.
    pub fn keys(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_keys(&mut out);
        out
    }

    fn collect_keys<'s>(&'s self, out: &mut Vec<&'s str>) {
        match self {
            Selector::All | Selector::Global => {}
            Selector::Has(k)
            | Selector::Eq(k, _)
            | Selector::Ne(k, _)
            | Selector::In(k, _)
            | Selector::NotIn(k, _)
            | Selector::Contains(k, _)
            | Selector::StartsWith(k, _)
            | Selector::EndsWith(k, _) => out.push(k),
            Selector::Not(e) => e.collect_keys(out),
            Selector::And(a, b) | Selector::Or(a, b) => {
                a.collect_keys(out);
                b.collect_keys(out);
            }
        }
    }

    /// Whether the selector selects what `get` describes: `get(key)` is `Some(value)` for a
    /// known label (`Some(None)`: absent) and `None` for a label whose value is not known.
    /// `Some` when the known labels decide, `None` when they do not (three-valued logic:
    /// `false && unknown` is false, `true || unknown` is true).
    pub fn eval<'v>(&self, get: &dyn Fn(&str) -> Option<Option<&'v str>>) -> Option<bool> {
        self.eval_on(get, false)
    }

    /// [`Selector::eval`] on something of no namespace (a global network set), which
    /// `global()` selects.
    pub fn eval_global<'v>(&self, get: &dyn Fn(&str) -> Option<Option<&'v str>>) -> Option<bool> {
        self.eval_on(get, true)
    }

    fn eval_on<'v>(
        &self,
        get: &dyn Fn(&str) -> Option<Option<&'v str>>,
        global: bool,
    ) -> Option<bool> {
        match self {
            Selector::All => Some(true),
            Selector::Global => Some(global),
            Selector::Not(e) => e.eval_on(get, global).map(|b| !b),
            Selector::And(a, b) => match a.eval_on(get, global) {
                Some(false) => Some(false),
                x => match (x, b.eval_on(get, global)) {
                    (_, Some(false)) => Some(false),
                    (Some(true), y) => y,
                    _ => None,
                },
            },
            Selector::Or(a, b) => match a.eval_on(get, global) {
                Some(true) => Some(true),
                x => match (x, b.eval_on(get, global)) {
                    (_, Some(true)) => Some(true),
                    (Some(false), y) => y,
                    _ => None,
                },
            },
            Selector::Has(k) => get(k).map(|v| v.is_some()),
            Selector::Eq(k, x) => get(k).map(|v| v == Some(x.as_str())),
            Selector::Ne(k, x) => get(k).map(|v| v != Some(x.as_str())),
            Selector::In(k, xs) => get(k).map(|v| v.is_some_and(|v| xs.iter().any(|x| x == v))),
            Selector::NotIn(k, xs) => get(k).map(|v| v.is_none_or(|v| !xs.iter().any(|x| x == v))),
            Selector::Contains(k, x) => get(k).map(|v| v.is_some_and(|v| v.contains(x.as_str()))),
            Selector::StartsWith(k, x) => {
                get(k).map(|v| v.is_some_and(|v| v.starts_with(x.as_str())))
            }
            Selector::EndsWith(k, x) => get(k).map(|v| v.is_some_and(|v| v.ends_with(x.as_str()))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(&'static str),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Word(w) => w.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Op(o) => o.to_string(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    const OPS: &[&str] = &["==", "!=", "&&", "||", "(", ")", "{", "}", ",", "!"];
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            let end = chars[i + 1..]
                .iter()
                .position(|x| *x == c)
                .ok_or("unterminated string")?;
            out.push(Tok::Str(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if let Some(op) = OPS.iter().find(|o| rest.starts_with(*o)) {
            out.push(Tok::Op(op));
            i += op.len();
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && !"()={}!,&|'\"".contains(chars[i]) {
            i += 1;
        }
        if start == i {
            return Err(format!("unexpected `{c}`"));
        }
        out.push(Tok::Word(chars[start..i].iter().collect()));
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
    /// Nesting of `!` and parentheses, bounded so hostile input cannot exhaust the stack.
    depth: usize,
}

/// The deepest nesting of `!` and parentheses accepted.
const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok) -> Result<(), String> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(format!("expected `{}`", t.text()))
        }
    }

    fn or(&mut self) -> Result<Selector, String> {
        let mut terms = vec![self.and()?];
        while self.eat(&Tok::Op("||")) {
            terms.push(self.and()?);
        }
        Ok(Selector::balanced(terms, Selector::Or))
    }

    fn and(&mut self) -> Result<Selector, String> {
        let mut terms = vec![self.unary()?];
        while self.eat(&Tok::Op("&&")) {
            terms.push(self.unary()?);
        }
        Ok(Selector::balanced(terms, Selector::And))
    }

    fn unary(&mut self) -> Result<Selector, String> {
        if self.peek() == Some(&Tok::Op("!")) || self.peek() == Some(&Tok::Op("(")) {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(format!("nested more than {MAX_DEPTH} levels deep"));
            }
            let e = if self.eat(&Tok::Op("!")) {
                Selector::Not(Box::new(self.unary()?))
            } else {
                self.pos += 1;
                let e = self.or()?;
                self.expect(&Tok::Op(")"))?;
                e
            };
            self.depth -= 1;
            return Ok(e);
        }
        let Some(Tok::Word(w)) = self.peek().cloned() else {
            return Err("expected a label or all()/has()".into());
        };
        self.pos += 1;
        match w.as_str() {
            "all" | "global" => {
                self.expect(&Tok::Op("("))?;
                self.expect(&Tok::Op(")"))?;
                Ok(if w == "all" {
                    Selector::All
                } else {
                    Selector::Global
                })
            }
            "has" => {
                self.expect(&Tok::Op("("))?;
                let Some(Tok::Word(k)) = self.peek().cloned() else {
                    return Err("expected a label key in has()".into());
                };
                self.pos += 1;
                self.expect(&Tok::Op(")"))?;
                Ok(Selector::Has(k))
            }
            _ => self.comparison(w),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err("expected a quoted value".into()),
        }
    }

    fn set(&mut self) -> Result<Vec<String>, String> {
        self.expect(&Tok::Op("{"))?;
        let mut out = Vec::new();
        if self.eat(&Tok::Op("}")) {
            return Ok(out);
        }
        loop {
            out.push(self.string()?);
            if self.eat(&Tok::Op("}")) {
                return Ok(out);
            }
            self.expect(&Tok::Op(","))?;
        }
    }

    fn comparison(&mut self, key: String) -> Result<Selector, String> {
        let word = |p: &mut Parser, w: &str| p.eat(&Tok::Word(w.into()));
        if self.eat(&Tok::Op("==")) {
            return Ok(Selector::Eq(key, self.string()?));
        }
        if self.eat(&Tok::Op("!=")) {
            return Ok(Selector::Ne(key, self.string()?));
        }
        if word(self, "in") {
            return Ok(Selector::In(key, self.set()?));
        }
        if word(self, "not") {
            if !word(self, "in") {
                return Err("expected `in` after `not`".into());
            }
            return Ok(Selector::NotIn(key, self.set()?));
        }
        if word(self, "contains") {
            return Ok(Selector::Contains(key, self.string()?));
        }
        if word(self, "starts") {
            if !word(self, "with") {
                return Err("expected `with` after `starts`".into());
            }
            return Ok(Selector::StartsWith(key, self.string()?));
        }
        if word(self, "ends") {
            if !word(self, "with") {
                return Err("expected `with` after `ends`".into());
            }
            return Ok(Selector::EndsWith(key, self.string()?));
        }
        Err(format!("expected an operator after `{key}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selector::labels;

    #[test]
    fn calico_selector_semantics() {
        let web = labels(&[("app", "web"), ("tier", "frontend")]);
        let db = labels(&[("app", "db")]);
        let cases: &[(&str, bool, bool)] = &[
            ("", true, true),
            ("all()", true, true),
            ("app == 'web'", true, false),
            ("app != 'web'", false, true),
            ("has(tier)", true, false),
            ("!has(tier)", false, true),
            ("app in {'web', 'api'}", true, false),
            ("app not in {'web'}", false, true),
            ("missing != 'x'", true, true),
            ("missing not in {'x'}", true, true),
            ("app == 'web' && tier == 'frontend'", true, false),
            ("app == 'db' || tier == 'frontend'", true, true),
            ("!(app == 'web' || app == 'db')", false, false),
            ("app starts with 'w'", true, false),
            ("app ends with 'b'", true, true),
            ("app contains \"e\"", true, false),
        ];
        for (text, on_web, on_db) in cases {
            let s = Selector::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(s.matches(&web), *on_web, "{text} on web");
            assert_eq!(s.matches(&db), *on_db, "{text} on db");
        }
        for bad in [
            "app ==",
            "app = 'x'",
            "has(",
            "app in {'a'",
            "(app == 'x'",
            "'x'",
        ] {
            assert!(Selector::parse(bad).is_err(), "{bad}");
        }
        // Hostile nesting is refused, not a stack overflow.
        assert!(Selector::parse(&"(".repeat(1_000_000)).is_err());
        assert!(Selector::parse(&format!("{}all()", "!".repeat(1_000_000))).is_err());
        assert!(Selector::parse(&format!("{}all(){}", "(".repeat(60), ")".repeat(60))).is_ok());
        // A long chain nests logarithmically: evaluated and dropped without exhausting the stack.
        let chain = vec!["has(a)"; 200_000].join(" && ");
        let s = Selector::parse(&chain).expect("chain");
        assert!(s.matches(&labels(&[("a", "1")])));
        assert!(!s.matches(&web));
    }
}
