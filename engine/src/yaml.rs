//! YAML as kubectl reads it: one place for the rules every YAML input of kspm is read by
//! (manifests, the YAML inside ConfigMaps — aws-auth, kubeadm's ClusterConfiguration,
//! kube-proxy's configuration —, kubeconfigs, kspm's own configuration files).
//!
//! kubectl and the API server's clients convert YAML to JSON with sigs.k8s.io/yaml over go-yaml
//! v2, a YAML 1.1 reader. A manifest means what it means to them, so:
//! - `yes`/`no`/`on`/`off`/`y`/`n` (in go-yaml's spellings: `yes`, `Yes`, `YES`) are booleans:
//!   `privileged: yes` is privileged;
//! - a leading zero is octal (`defaultMode: 0644` is 420);
//! - merge keys (`<<: *base`) are applied, the mapping's own keys winning;
//! - a repeated key is an error (the document is not assessed; which copy kubectl would keep is
//!   exactly what an attacker would play with);
//! - a byte-order mark before the document is skipped.
//!
//! The events come from granit-parser (pure Rust, no `unsafe`: the scanner and parser under
//! serde-saphyr, the YAML reader kube-rs uses); this module turns them into JSON values itself,
//! so that the rules above are written here, once, and reading stays fast (serde-saphyr's
//! generic deserializer took 60% longer than libyaml did; this builder is faster than both). It
//! keeps no recursion: nesting is bounded by `MAX_DEPTH`, aliases by a size budget, and no error
//! quotes a value.

use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

/// Deepest nesting of collections a document may have. Real manifests stay below 40 (a CRD's
/// schema included); the limit keeps a hostile document from exhausting the stack.
pub const MAX_DEPTH: usize = 256;

/// A YAML text that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line within the text, when the parser knows it.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong, without the position. It names no value; the scanner's own words (for
    /// syntax errors) are passed through `parse::parser_message` by callers that read objects
    /// which may be Secrets, in case a future scanner quotes what it stumbled on.
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What aliases (and the copies anchors keep) may add to one document, in bytes of scalars and
/// keys plus one per node, beyond four times the text's own length: an alias repeats its
/// anchor's whole subtree, so ten aliases of ten aliases … of a list, or a million aliases of
/// one long string, would grow without bound.
const ALIAS_BUDGET: usize = 16 * 1024 * 1024;

/// Reads one YAML document (JSON is YAML too) into a JSON value, as kubectl would send it.
pub fn value(text: &str) -> Result<Value, YamlError> {
    let mut options = serde_saphyr::granit_parser::Options::default();
    options.emit_comments = false;
    options.flow_nesting_limit = MAX_DEPTH;
    options.block_nesting_limit = MAX_DEPTH;
    let mut builder = Builder {
        frames: Vec::new(),
        anchors: Vec::new(),
        root: None,
        alias_budget: ALIAS_BUDGET.saturating_add(text.len().saturating_mul(4)),
        documents: 0,
    };
    for event in Parser::new_from_str_with_options(text, options) {
        let (event, span) = event.map_err(scan_error)?;
        builder.event(event, span)?;
    }
    Ok(builder.root.map_or(Value::Null, |(v, _)| v))
}

/// Reads one YAML document into `T` (kspm's own small files), by way of `value`: the same
/// scalars, merges and limits as manifests.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_json::from_value(value(text)?).map_err(|e| YamlError {
        line: None,
        column: None,
        message: e.to_string(),
    })
}

/// A collection being read, with its weight so far (nodes plus bytes, for the alias budget).
enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        weight: usize,
    },
    Map {
        map: Map<String, Value>,
        /// The key read, waiting for its value.
        key: Option<Key>,
        /// Mappings merged in with `<<`, in order.
        merges: Vec<Map<String, Value>>,
        anchor: usize,
        weight: usize,
    },
}

enum Key {
    Name(String, Span),
    Merge(Span),
}

struct Builder {
    frames: Vec<Frame>,
    /// Anchored values by the parser's anchor ID, with their node counts.
    anchors: Vec<Option<(Value, usize)>>,
    root: Option<(Value, usize)>,
    alias_budget: usize,
    documents: usize,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(at(span, "more than one YAML document"));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.awaits_key() {
                    let key = if style == ScalarStyle::Plain
                        && tag.as_deref().is_none_or(|t| core(t) == Some("merge"))
                        && text == "<<"
                    {
                        Key::Merge(span)
                    } else {
                        Key::Name(key_text(scalar(&text, style, tag.as_deref(), span)?), span)
                    };
                    if anchor != 0 {
                        // An anchored key is remembered as the scalar it is (`&t true`).
                        let v = match &key {
                            Key::Name(..) => scalar(&text, style, tag.as_deref(), span)?,
                            Key::Merge(_) => Value::String("<<".into()),
                        };
                        self.remember(anchor, &v, 1 + text.len(), span)?;
                    }
                    let weight = 1 + text.len();
                    self.weigh(weight);
                    self.set_key(key);
                } else {
                    let v = scalar(&text, style, tag.as_deref(), span)?;
                    let weight = 1 + text.len();
                    self.remember(anchor, &v, weight, span)?;
                    self.push(v, weight, span)?;
                }
            }
            Event::SequenceStart(_, anchor, _) => {
                self.open(span)?;
                self.frames.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                    weight: 1,
                });
            }
            Event::MappingStart(_, anchor, _) => {
                self.open(span)?;
                self.frames.push(Frame::Map {
                    map: Map::new(),
                    key: None,
                    merges: Vec::new(),
                    anchor,
                    weight: 1,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (v, anchor, weight) = match self.frames.pop() {
                    Some(Frame::Seq {
                        items,
                        anchor,
                        weight,
                    }) => (Value::Array(items), anchor, weight),
                    Some(Frame::Map {
                        mut map,
                        merges,
                        anchor,
                        weight,
                        ..
                    }) => {
                        // The mapping's own keys win, then earlier merged mappings.
                        for merged in merges {
                            for (k, v) in merged {
                                map.entry(k).or_insert(v);
                            }
                        }
                        (Value::Object(map), anchor, weight)
                    }
                    None => return Err(at(span, "a collection ends that never started")),
                };
                self.remember(anchor, &v, weight, span)?;
                self.push(v, weight, span)?;
            }
            Event::Alias(id) => {
                let Some((v, weight)) = self.anchors.get(id).and_then(Option::as_ref) else {
                    return Err(at(span, "an alias refers to an anchor not yet defined"));
                };
                let weight = *weight;
                let v = v.clone();
                self.charge(weight, span)?;
                if self.awaits_key() {
                    match v {
                        Value::String(k) => self.set_key(Key::Name(k, span)),
                        Value::Array(_) | Value::Object(_) => {
                            return Err(at(span, "a mapping key is a collection, not a scalar"))
                        }
                        other => self.set_key(Key::Name(key_text(other), span)),
                    }
                } else {
                    self.push(v, weight, span)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether the next node is a mapping key.
    fn awaits_key(&self) -> bool {
        matches!(self.frames.last(), Some(Frame::Map { key: None, .. }))
    }

    fn set_key(&mut self, k: Key) {
        if let Some(Frame::Map { key, .. }) = self.frames.last_mut() {
            *key = Some(k);
        }
    }

    /// Checks that a collection may start here (go-yaml v2 reads a collection as what it is,
    /// whatever its tag says, so the tag is not looked at).
    fn open(&mut self, span: Span) -> Result<(), YamlError> {
        if self.frames.len() >= MAX_DEPTH {
            return Err(at(
                span,
                &format!(
                    "collections nested deeper than {MAX_DEPTH} levels; the document is not read"
                ),
            ));
        }
        if self.awaits_key() {
            return Err(at(span, "a mapping key is a collection, not a scalar"));
        }
        Ok(())
    }

    /// Keeps a copy of an anchored node (charged to the alias budget: nested anchors copy
    /// their contents again).
    fn remember(
        &mut self,
        anchor: usize,
        v: &Value,
        weight: usize,
        span: Span,
    ) -> Result<(), YamlError> {
        if anchor == 0 {
            return Ok(());
        }
        self.charge(weight, span)?;
        if self.anchors.len() <= anchor {
            self.anchors.resize(anchor + 1, None);
        }
        self.anchors[anchor] = Some((v.clone(), weight));
        Ok(())
    }

    fn charge(&mut self, weight: usize, span: Span) -> Result<(), YamlError> {
        self.alias_budget = self.alias_budget.checked_sub(weight).ok_or_else(|| {
            at(
                span,
                "aliases and anchors repeat more than the document's reading budget; the document is not read",
            )
        })?;
        Ok(())
    }

    /// Adds a key's weight to the mapping being read.
    fn weigh(&mut self, key: usize) {
        if let Some(Frame::Map { weight, .. } | Frame::Seq { weight, .. }) = self.frames.last_mut()
        {
            *weight += key;
        }
    }

    /// Adds a finished node to the collection being read (or makes it the document).
    fn push(&mut self, v: Value, n: usize, span: Span) -> Result<(), YamlError> {
        match self.frames.last_mut() {
            None => self.root = Some((v, n)),
            Some(Frame::Seq { items, weight, .. }) => {
                items.push(v);
                *weight += n;
            }
            Some(Frame::Map {
                map,
                key,
                merges,
                weight,
                ..
            }) => {
                *weight += n;
                match key.take() {
                    // A collection or an alias where a key belongs: only scalars are keys here.
                    None => return Err(at(span, "a mapping key is a collection, not a scalar")),
                    Some(Key::Merge(at_span)) => match v {
                        Value::Object(m) => merges.push(m),
                        Value::Array(list) if list.iter().all(Value::is_object) => {
                            merges.extend(list.into_iter().filter_map(|m| match m {
                                Value::Object(m) => Some(m),
                                _ => None,
                            }))
                        }
                        _ => {
                            return Err(at(
                                at_span,
                                "a merge key (<<) needs a mapping or a list of mappings",
                            ))
                        }
                    },
                    Some(Key::Name(k, key_span)) => {
                        if map.contains_key(&k) {
                            // The key is a name, not a value; Secret key names are kept too.
                            return Err(at(
                                key_span,
                                &format!("duplicate mapping key `{k}` is not allowed here"),
                            ));
                        }
                        map.insert(k, v);
                    }
                }
            }
        }
        Ok(())
    }
}

/// A key as the JSON object key kubectl's conversion makes of it.
fn key_text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// The core-schema name of a tag (`!!int` → `int`), whatever handle spelled it.
fn core(tag: &Tag) -> Option<&str> {
    if tag.handle() == "tag:yaml.org,2002:" {
        Some(tag.suffix())
    } else {
        tag.core_suffix()
    }
}

/// The non-specific tag `!`: a scalar that is a string whatever it looks like.
fn is_non_specific(tag: &Tag) -> bool {
    (tag.handle().is_empty() && tag.suffix() == "!")
        || (tag.handle() == "!" && tag.suffix().is_empty())
}

/// A scalar's value. Quoted and block scalars are strings; a plain one is resolved as go-yaml v2
/// resolves it; an explicit core tag is obeyed (or the document is refused when the text is not
/// of that type). Errors never quote the text: it may be a Secret's.
fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: Span,
) -> Result<Value, YamlError> {
    let Some(tag) = tag else {
        return if style == ScalarStyle::Plain {
            resolve_plain(text).map_err(|m| at(span, m))
        } else {
            Ok(Value::String(text.to_string()))
        };
    };
    if is_non_specific(tag) {
        return Ok(Value::String(text.to_string()));
    }
    let wrong = |kind: &str| {
        at(
            span,
            &format!("a value tagged !!{kind} is not of that type"),
        )
    };
    match core(tag) {
        Some("str") | Some("timestamp") => Ok(Value::String(text.to_string())),
        Some("null") => match null_or_bool(text) {
            Some(Value::Null) => Ok(Value::Null),
            _ => Err(wrong("null")),
        },
        Some("bool") => match null_or_bool(text) {
            Some(b @ Value::Bool(_)) => Ok(b),
            _ => Err(wrong("bool")),
        },
        Some("int") => {
            let plain = text.replace('_', "");
            go_int(&plain)
                .map(Value::from)
                .or_else(|| go_uint(&plain).map(Value::from))
                .ok_or_else(|| wrong("int"))
        }
        Some("float") => match number(text) {
            Some(n @ Value::Number(_)) => Ok(n),
            _ => Err(wrong("float")),
        },
        Some("binary") => {
            use base64::Engine;
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .map(Value::String)
                .ok_or_else(|| wrong("binary"))
        }
        // go-yaml v2 reads a scalar under a tag it does not know (`!Ref x`) as the string.
        _ => Ok(Value::String(text.to_string())),
    }
}

/// go-yaml v2's table of plain words (case as listed: `yEs` is a string).
fn null_or_bool(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Some(Value::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(Value::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(Value::Bool(false))
        }
        _ => None,
    }
}

fn resolve_plain(text: &str) -> Result<Value, &'static str> {
    if let Some(v) = null_or_bool(text) {
        return Ok(v);
    }
    match text.as_bytes().first() {
        Some(b'0'..=b'9' | b'+' | b'-' | b'.') => {}
        _ => return Ok(Value::String(text.to_string())),
    }
    if matches!(
        text,
        ".nan"
            | ".NaN"
            | ".NAN"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
    ) {
        return Err("a float JSON cannot hold (.nan, .inf); kubectl refuses it too");
    }
    Ok(number(text).unwrap_or_else(|| Value::String(text.to_string())))
}

/// A number as go-yaml v2 reads a plain scalar: underscores ignored, `0x`/`0o`/`0b` and a
/// leading `0` (octal) as Go's `ParseInt(s, 0, 64)` takes them, then unsigned, then a decimal
/// float. A float with no fraction becomes the integer JSON would carry to the API server.
fn number(text: &str) -> Option<Value> {
    let plain = text.replace('_', "");
    if let Some(i) = go_int(&plain) {
        return Some(Value::from(i));
    }
    if let Some(u) = go_uint(&plain) {
        return Some(Value::from(u));
    }
    if !yaml_float_syntax(&plain) {
        return None;
    }
    let f: f64 = plain.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Some(Value::from(f as i64));
    }
    Number::from_f64(f).map(Value::Number)
}

fn go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_uint(body).filter(|_| !body.starts_with(['+', '-']))?;
    if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

fn go_uint(s: &str) -> Option<u64> {
    let (radix, digits) = if let Some(d) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
        (8, d)
    } else if let Some(d) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        (2, d)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// go-yaml v2's float syntax: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_float_syntax(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn at(span: Span, message: &str) -> YamlError {
    YamlError {
        line: Some(span.start.line()).filter(|l| *l > 0),
        column: Some(span.start.col() + 1),
        message: message.to_string(),
    }
}

fn scan_error(e: ScanError) -> YamlError {
    let m = e.marker();
    YamlError {
        line: Some(m.line()).filter(|l| *l > 0),
        column: Some(m.col() + 1),
        message: match e.info() {
            i if i.contains("nesting") || i.contains("recursion") => {
                format!(
                    "collections nested deeper than {MAX_DEPTH} levels; the document is not read"
                )
            }
            i => i.lines().next().unwrap_or("").to_string(),
        },
    }
}

/// Writes a value as YAML (block style, strings quoted where YAML would read them otherwise).
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_saphyr::to_string(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(text: &str) -> Value {
        let v = value(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(from_str::<Value>(text).ok(), Some(v.clone()), "{text}");
        v
    }

    /// go-yaml v2's YAML 1.1 booleans, as kubectl sends them to the API server; quoted they
    /// stay strings, and other words stay strings.
    #[test]
    fn yaml_1_1_booleans_are_booleans() {
        for t in [
            "yes", "Yes", "YES", "on", "On", "ON", "y", "Y", "true", "True",
        ] {
            assert_eq!(read(&format!("a: {t}")), json!({"a": true}), "{t}");
        }
        for f in [
            "no", "No", "NO", "off", "Off", "OFF", "n", "N", "false", "FALSE",
        ] {
            assert_eq!(read(&format!("a: {f}")), json!({"a": false}), "{f}");
        }
        for s in ["\"yes\"", "'on'", "yess", "enabled", "1"] {
            assert_ne!(read(&format!("a: {s}"))["a"], json!(true), "{s}");
        }
    }

    /// A leading zero is octal, as go-yaml v2 reads it (file modes are written so).
    #[test]
    fn leading_zero_is_octal() {
        assert_eq!(read("mode: 0644"), json!({"mode": 420}));
        assert_eq!(read("mode: 0o644"), json!({"mode": 420}));
        assert_eq!(read("mode: 644"), json!({"mode": 644}));
        assert_eq!(read("mode: \"0644\""), json!({"mode": "0644"}));
        assert_eq!(read("port: 0x1F"), json!({"port": 31}));
    }

    /// Numbers as go-yaml v2 reads plain scalars, and what kubectl's JSON then carries.
    #[test]
    fn numbers_as_go_yaml_reads_them() {
        for (text, want) in [
            ("1_000", json!(1000)),
            ("-0x1F", json!(-31)),
            ("0b101", json!(5)),
            ("+7", json!(7)),
            ("08", json!(8)),
            ("1e3", json!(1000)),
            ("0.5", json!(0.5)),
            (".5", json!(0.5)),
            ("18446744073709551615", json!(18446744073709551615u64)),
            ("1.2.3", json!("1.2.3")),
            ("0x", json!("0x")),
            ("-x", json!("-x")),
            ("2026-01-01", json!("2026-01-01")),
            ("12:30", json!("12:30")),
            ("yEs", json!("yEs")),
        ] {
            assert_eq!(read(&format!("a: {text}"))["a"], want, "{text}");
        }
        assert!(value("a: .nan").is_err());
        assert_eq!(
            read("1: a\ntrue: b\nnull: c\n"),
            json!({"1": "a", "true": "b", "null": "c"})
        );
    }

    /// Explicit core tags are obeyed; a value that is not of its tag's type is an error that does
    /// not quote the value; other tags are read past, as go-yaml v2 reads them.
    #[test]
    fn tags_are_obeyed_and_errors_quote_nothing() {
        assert_eq!(read("a: !!str 123"), json!({"a": "123"}));
        assert_eq!(read("a: !!int \"5\""), json!({"a": 5}));
        assert_eq!(read("a: !!bool yes"), json!({"a": true}));
        assert_eq!(read("a: ! 5"), json!({"a": "5"}));
        assert_eq!(read("a: !!binary aGVsbG8="), json!({"a": "hello"}));
        assert_eq!(read("a: !!map {b: 1}"), json!({"a": {"b": 1}}));
        assert_eq!(read("a: !!int 0x1E"), json!({"a": 30}));
        assert_eq!(read("a: !Ref name"), json!({"a": "name"}));
        assert_eq!(read("a: !!seq {b: 1}"), json!({"a": {"b": 1}}));
        assert_eq!(read("k: &t true\nv: *t\n"), json!({"k": true, "v": true}));
        assert_eq!(read("&t on: x\nv: *t\n"), json!({"true": "x", "v": true}));
        for bad in [
            "a: !!int CANARY123",
            "a: !!float CANARY123",
            "a: !!bool CANARY123",
            "a: !!null CANARY123",
            "a: !!binary CANARY123!",
            "a: !!int 1.5",
        ] {
            let e = value(bad).expect_err(bad);
            assert!(!e.message.contains("CANARY"), "{bad}: {e:?}");
            assert_eq!(e.line, Some(1), "{bad}");
        }
    }

    /// Keys: a quoted `<<` is an ordinary key; an alias may be a key; a collection may not.
    #[test]
    fn keys_as_kubectl_reads_them() {
        assert_eq!(read("'<<': {a: 1}"), json!({"<<": {"a": 1}}));
        assert_eq!(
            read("k: &k name\n*k : v\n"),
            json!({"k": "name", "name": "v"})
        );
        assert!(value("? [a]\n: v\n").is_err());
        assert!(value("l: &l [a]\n*l : v\n").is_err());
        assert!(value("<<: 5\n").is_err());
        assert!(value("a: 1\n---\nb: 2\n").is_err());
        assert_eq!(read("# only a comment\n"), Value::Null);
    }

    #[test]
    fn merge_keys_apply_and_own_keys_win() {
        let v = read("base: &b {privileged: true, a: 1}\nc:\n  <<: *b\n  a: 2\n");
        assert_eq!(v["c"], json!({"privileged": true, "a": 2}));
        let v = read("x: &x {a: 1}\ny: &y {a: 2, b: 2}\nc:\n  <<: [*x, *y]\n");
        assert_eq!(v["c"], json!({"a": 1, "b": 2}));
    }

    #[test]
    fn duplicate_keys_are_errors_with_a_line() {
        let e = value("a: 1\nb: 2\na: 3\n").expect_err("duplicate");
        assert_eq!(e.line, Some(3), "{e:?}");
        assert_eq!(e.message, "duplicate mapping key `a` is not allowed here");
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        assert_eq!(read("\u{feff}a: 1\n"), json!({"a": 1}));
    }

    /// Deep nesting is refused quickly with an error, block or flow, never a stack overflow;
    /// anything up to `MAX_DEPTH` is read, on whatever thread.
    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let nested = |d: usize| {
            let block = "- ".repeat(d) + "x\n";
            let flow = "[".repeat(d) + &"]".repeat(d);
            let map = (0..d)
                .map(|i| format!("{}a:\n", "  ".repeat(i)))
                .collect::<String>()
                + &"  ".repeat(d)
                + "x\n";
            [block, flow, map]
        };
        for text in nested(100_000) {
            let t = std::time::Instant::now();
            let e = value(&text).expect_err("too deep");
            assert!(e.message.contains("nested deeper than"), "{e:?}");
            assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
        }
        let small_stack = std::thread::Builder::new().stack_size(256 * 1024);
        let read_all = small_stack
            .spawn(move || nested(MAX_DEPTH - 2).iter().all(|t| value(t).is_ok()))
            .expect("thread");
        assert!(read_all.join().expect("no overflow"));
        for text in nested(MAX_DEPTH - 2) {
            assert!(from_str::<Value>(&text).is_ok());
        }
    }

    /// An alias bomb (each level ten times the one before) is refused, not expanded.
    #[test]
    fn alias_bombs_are_refused() {
        let mut text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n".to_string();
        for i in 1..30 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let t = std::time::Instant::now();
        assert!(from_str::<Value>(&text).is_err());
        assert!(t.elapsed().as_secs() < 5);
        // One long string repeated by many short aliases: bounded by bytes, not by nodes.
        let long = format!(
            "s: &s {}\nl:\n{}",
            "x".repeat(65_536),
            "- *s\n".repeat(2_000)
        );
        let e = value(&long).expect_err("budget");
        assert!(e.message.contains("budget"), "{e:?}");
        let fine = format!("s: &s {}\nl:\n{}", "x".repeat(1_000), "- *s\n".repeat(100));
        assert!(value(&fine).is_ok());
    }

    #[test]
    fn written_yaml_reads_back() {
        let v = json!({"a": "yes", "b": "0644", "c": [1, true, null], "d": {"e": "x: y"}});
        assert_eq!(read(&to_string(&v).expect("yaml")), v);
    }
}
