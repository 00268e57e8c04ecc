//! Text to objects: YAML (multi-document) and JSON, `kind: List` and typed `*List` expansion,
//! and the point where Secret values are dropped.
//!
//! Pure: the caller reads the file and hands over its text. Errors name the file and, where the
//! parser knows it, the line; a bad document never stops the other documents of the file.

use crate::object::{Object, OwnerRef, Source};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The annotation kubectl uses to store the last applied manifest; on a Secret it holds the values.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Something in the input that could not be read or assessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadError {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// What went wrong, in words. Never contains object values.
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// Objects and errors from one file.
#[derive(Debug, Default)]
pub struct ParseOutcome {
    /// Objects read.
    pub objects: Vec<Object>,
    /// Documents that could not be read.
    pub errors: Vec<LoadError>,
}

/// The syntax of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// YAML, possibly with several `---`-separated documents.
    Yaml,
    /// A single JSON value.
    Json,
}

impl Syntax {
    /// The syntax for a file name, by extension (`.json` is JSON, everything else YAML).
    pub fn for_path(path: &str) -> Syntax {
        if path.to_ascii_lowercase().ends_with(".json") {
            Syntax::Json
        } else {
            Syntax::Yaml
        }
    }
}

/// Parses the text of one file into objects. `file` is used for error messages and sources.
pub fn parse_text(text: &str, file: &str, syntax: Syntax) -> ParseOutcome {
    let mut out = ParseOutcome::default();
    match syntax {
        Syntax::Json => match serde_json::from_str::<Value>(text) {
            Ok(value) => add_document(value, file, 1, &mut out),
            Err(e) => out.errors.push(LoadError {
                file: file.to_string(),
                line: Some(e.line()).filter(|l| *l > 0),
                column: Some(e.column()).filter(|c| *c > 0),
                message: format!(
                    "invalid JSON: {}",
                    parser_message(&e.to_string(), text, e.line())
                ),
            }),
        },
        Syntax::Yaml => {
            for doc in split_yaml_documents(text) {
                match crate::yaml::value(&doc.text) {
                    Ok(Value::Null) => {}
                    Ok(mut value) => {
                        // Cheap, and no textual test for aliases can be trusted to see them all.
                        redact_aliased_secret_values(&mut value);
                        add_document(value, file, doc.first_content_line, &mut out)
                    }
                    Err(e) => {
                        let line = match e.line {
                            Some(l) => doc.start_line + l - 1,
                            None => doc.first_content_line,
                        };
                        out.errors.push(LoadError {
                            file: file.to_string(),
                            line: Some(line),
                            column: e.line.and(e.column),
                            message: format!(
                                "invalid YAML: {}",
                                parser_message(&e.message, &doc.text, e.line.unwrap_or(0))
                            ),
                        });
                    }
                }
            }
        }
    }
    out
}

/// Removes the " at line X column Y" tail that serde adds: the position is reported separately.
fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// What a parser said about `text`, safe to show: parsers quote the value they stumbled on
/// (`invalid value: string "…"`, ``integer `…` ``), and that value may be a Secret's. Every
/// quoted span is replaced, and so is any word of the offending line's value that survived;
/// the field is named by the key of that line (1-based `line` of `text`, 0 when unknown).
pub(crate) fn parser_message(raw: &str, text: &str, line: usize) -> String {
    let mut msg = redact_quoted(&drop_unexpected_value(&strip_position(raw)));
    let line_text = line
        .checked_sub(1)
        .and_then(|i| text.lines().nth(i))
        .unwrap_or("");
    let (key, value) = split_key(line_text);
    for word in value.split(|c: char| c.is_whitespace() || "\"'`,[]{}".contains(c)) {
        if word.len() >= 2 && msg.contains(word) {
            msg = msg.replace(word, "…");
        }
    }
    match key {
        Some(k) => format!("{msg} (in field `{k}`; values are not shown)"),
        None => msg,
    }
}

/// A serde message without the value it quotes (`invalid type: string "…"` keeps the kind),
/// nor its position (given separately): for errors about documents that may hold secrets.
pub(crate) fn serde_message(raw: &str) -> String {
    drop_unexpected_value(&strip_position(raw))
}

/// serde's `invalid type: string "…", expected …` and `invalid value: …, expected …` carry the
/// offending value between the kind and `, expected`, escaped (so it may hold quotes of its
/// own): the whole span is replaced, keeping only the kind (`string`, `integer`, ...).
fn drop_unexpected_value(msg: &str) -> String {
    for marker in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(i) = msg.find(marker) {
            let rest = &msg[i + marker.len()..];
            let kind = rest.split([' ', ',']).next().unwrap_or("");
            let tail = rest.rfind(", expected").map_or("", |j| &rest[j..]);
            return format!("{}{marker}{kind} …{tail}", &msg[..i]);
        }
    }
    msg.to_string()
}

/// Replaces the content of every `"…"`, `'…'` and `` `…` `` span of a message with `…`.
fn redact_quoted(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut chars = msg.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let opens = matches!(c, '"' | '`')
            || (c == '\'' && (i == 0 || msg[..i].ends_with([' ', '(', ':'])));
        let close = if opens { msg[i + 1..].find(c) } else { None };
        match close {
            Some(end) => {
                out.push(c);
                out.push('…');
                out.push(c);
                let stop = i + 1 + end;
                while chars.peek().is_some_and(|(j, _)| *j <= stop) {
                    chars.next();
                }
            }
            None => out.push(c),
        }
    }
    out
}

/// The key and the value part of a YAML line (`  - password: !!int 123` → `password`,
/// `!!int 123`); a key is named only when it looks like one.
fn split_key(line: &str) -> (Option<&str>, &str) {
    let t = line.trim_start().trim_start_matches("- ").trim_start();
    let Some(i) = t.find(':') else {
        return (None, t);
    };
    let (k, rest) = (t[..i].trim().trim_matches(['"', '\'']), &t[i + 1..]);
    let is_key = !k.is_empty()
        && k.len() <= 253
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if is_key {
        (Some(k), rest)
    } else {
        (None, t)
    }
}

/// In a Secret written with anchors, a value of `data`/`stringData` may be repeated by alias in
/// fields that are kept (labels, annotations, name): every such copy is replaced before the
/// Secret's values are dropped. Lists of Secrets are handled item by item.
fn redact_aliased_secret_values(value: &mut Value) {
    let Value::Object(map) = value else { return };
    if let Some(Value::Array(items)) = map.get_mut("items") {
        for item in items {
            redact_aliased_secret_values(item);
        }
    }
    if map.get("kind").and_then(Value::as_str) != Some("Secret") {
        return;
    }
    let mut secrets = Vec::new();
    for field in ["data", "stringData"] {
        if let Some(v) = map.get(field) {
            collect_scalars(v, &mut secrets);
        }
    }
    if secrets.is_empty() {
        return;
    }
    for (k, v) in map.iter_mut() {
        if k != "data" && k != "stringData" {
            replace_scalars(v, &secrets);
        }
    }
}

fn collect_scalars(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.values().for_each(|x| collect_scalars(x, out)),
        Value::Array(a) => a.iter().for_each(|x| collect_scalars(x, out)),
        Value::String(s) => out.push(s.clone()),
        Value::Null => {}
        other => out.push(other.to_string()),
    }
}

fn replace_scalars(v: &mut Value, secrets: &[String]) {
    match v {
        Value::Object(m) => m.values_mut().for_each(|x| replace_scalars(x, secrets)),
        Value::Array(a) => a.iter_mut().for_each(|x| replace_scalars(x, secrets)),
        Value::String(s) if secrets.contains(s) => *s = "[redacted]".into(),
        Value::Number(_) | Value::Bool(_) if secrets.contains(&v.to_string()) => {
            *v = Value::String("[redacted]".into())
        }
        _ => {}
    }
}

struct YamlDoc<'a> {
    text: std::borrow::Cow<'a, str>,
    /// Line (1-based) of the chunk's first line in the file.
    start_line: usize,
    /// Line of the first line with content (for object sources).
    first_content_line: usize,
}

fn push_doc<'a>(
    docs: &mut Vec<YamlDoc<'a>>,
    chunk: &'a str,
    start_line: usize,
    first: Option<usize>,
    blank_marker: bool,
) {
    let Some(first) = first else { return };
    let text = if blank_marker && chunk.len() >= 3 {
        // Replace the leading `---` with spaces so columns stay right.
        std::borrow::Cow::Owned(format!("   {}", &chunk[3..]))
    } else {
        std::borrow::Cow::Borrowed(chunk)
    };
    docs.push(YamlDoc {
        text,
        start_line,
        first_content_line: first,
    });
}

/// The documents of a YAML stream, each as `yaml::value` reads it (line numbers kept): for
/// tools that need the raw values, where `parse_text` gives objects.
pub fn yaml_documents(text: &str) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
    split_yaml_documents(text).into_iter().map(|d| d.text)
}

/// Splits a YAML stream at `---` / `...` marker lines, keeping line numbers intact: the marker
/// itself is blanked rather than removed so parser positions map straight back to the file.
fn split_yaml_documents(text: &str) -> Vec<YamlDoc<'_>> {
    let mut docs = Vec::new();
    let mut start = 0usize; // byte offset of current chunk
    let mut start_line = 1usize;
    let mut first_content: Option<usize> = None;
    let mut offset = 0usize;
    let mut line_no = 0usize;
    let mut pending_prefix_blank = false;
    for line in text.split_inclusive('\n') {
        line_no += 1;
        let trimmed_end = line.trim_end_matches(['\n', '\r']);
        let is_start_marker = trimmed_end == "---"
            || trimmed_end.starts_with("--- ")
            || trimmed_end.starts_with("---\t");
        let is_end_marker = trimmed_end == "..." || trimmed_end.starts_with("... ");
        if is_start_marker || is_end_marker {
            // Close the current chunk.
            let chunk = &text[start..offset];
            push_doc(
                &mut docs,
                chunk,
                start_line,
                first_content,
                pending_prefix_blank,
            );
            if is_start_marker {
                start = offset;
                start_line = line_no;
                pending_prefix_blank = true;
                let rest = trimmed_end[3..].trim();
                first_content = if !rest.is_empty() && !rest.starts_with('#') {
                    Some(line_no)
                } else {
                    None
                };
            } else {
                start = offset + line.len();
                start_line = line_no + 1;
                pending_prefix_blank = false;
                first_content = None;
            }
        } else if first_content.is_none() {
            let t = trimmed_end.trim_start();
            if !t.is_empty() && !t.starts_with('#') && !t.starts_with('%') {
                first_content = Some(line_no);
            }
        }
        offset += line.len();
    }
    push_doc(
        &mut docs,
        &text[start..],
        start_line,
        first_content,
        pending_prefix_blank,
    );
    docs
}

fn add_document(value: Value, file: &str, line: usize, out: &mut ParseOutcome) {
    let source = Source {
        file: file.to_string(),
        line: Some(line),
    };
    let err = |message: String| LoadError {
        file: file.to_string(),
        line: Some(line),
        column: None,
        message,
    };
    let Value::Object(map) = value else {
        out.errors.push(err(format!(
            "not a Kubernetes object: the document is {}, not a mapping",
            type_name(&value)
        )));
        return;
    };
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let api_version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if kind.ends_with("List") {
        if let Some(Value::Array(_)) = map.get("items") {
            let mut map = map;
            let Some(Value::Array(items)) = map.remove("items") else {
                return;
            };
            let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
            for (i, item) in items.into_iter().enumerate() {
                let Value::Object(mut item) = item else {
                    out.errors
                        .push(err(format!("{kind} item {i} is not a mapping")));
                    continue;
                };
                // Typed lists from the API (`PodList`) omit kind/apiVersion on their items.
                if let Some(k) = item_kind {
                    item.entry("kind")
                        .or_insert_with(|| Value::String(k.to_string()));
                    if !api_version.is_empty() {
                        item.entry("apiVersion")
                            .or_insert_with(|| Value::String(api_version.clone()));
                    }
                }
                match object_from_map(item, source.clone()) {
                    Ok(obj) => out.objects.push(obj),
                    Err(m) => out.errors.push(err(format!("{kind} item {i}: {m}"))),
                }
            }
            return;
        }
    }
    match object_from_map(map, source) {
        Ok(obj) => out.objects.push(obj),
        Err(m) => out.errors.push(err(m)),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

/// Builds an [`Object`] from a parsed mapping, dropping Secret values first.
pub fn object_from_map(mut map: Map<String, Value>, source: Source) -> Result<Object, String> {
    let kind = match map.get("kind") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        _ => {
            // Scrub before giving up: nothing of a malformed Secret may survive.
            scrub_secret_fields(&mut map);
            return Err("not a Kubernetes object: `kind` is missing".into());
        }
    };
    let mut secret_keys = Vec::new();
    if kind == "Secret" {
        secret_keys = scrub_secret_fields(&mut map);
    }
    let api_version = match map.get("apiVersion") {
        Some(Value::String(v)) if !v.is_empty() => v.clone(),
        _ => {
            return Err(format!(
                "not a Kubernetes object: {kind} has no `apiVersion`"
            ))
        }
    };
    let empty = Map::new();
    let meta = match map.get_mut("metadata") {
        Some(Value::Object(m)) => {
            m.remove("managedFields");
            &*m
        }
        Some(_) => return Err(format!("{kind}: `metadata` is not a mapping")),
        None => &empty,
    };
    // The API server takes these as strings only: a YAML 1.1 boolean (`namespace: n`,
    // `app: on`) or a number there makes kubectl's request fail, so the object is not assessed.
    for k in ["name", "generateName", "namespace"] {
        if let Some(v) = meta.get(k).filter(|v| !v.is_null() && !v.is_string()) {
            return Err(format!(
                "{kind}: metadata.{k} is {}, not a string (unquoted yes/no/on/off/y/n are booleans in YAML 1.1: quote it)",
                type_name(v)
            ));
        }
    }
    for k in ["labels", "annotations"] {
        match meta.get(k) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                if let Some((key, v)) = m.iter().find(|(_, v)| !v.is_string() && !v.is_null()) {
                    return Err(format!(
                        "{kind}: metadata.{k}[{key}] is {}, not a string (unquoted yes/no/on/off/y/n are booleans in YAML 1.1: quote it)",
                        type_name(v)
                    ));
                }
            }
            Some(v) => {
                return Err(format!(
                    "{kind}: metadata.{k} is {}, not a mapping",
                    type_name(v)
                ))
            }
        }
    }
    let str_field = |k: &str| {
        meta.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let name = match str_field("name").or_else(|| str_field("generateName")) {
        Some(n) => n.to_string(),
        None => return Err(format!("{kind} has no metadata.name")),
    };
    let namespace = str_field("namespace").map(str::to_string);
    let uid = str_field("uid").map(str::to_string);
    let labels = string_map(meta.get("labels"));
    let annotations = string_map(meta.get("annotations"));
    let owners = meta
        .get("ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| {
                    Some(OwnerRef {
                        kind: r.get("kind")?.as_str()?.to_string(),
                        name: r.get("name")?.as_str()?.to_string(),
                        uid: r.get("uid").and_then(Value::as_str).map(str::to_string),
                        controller: r.get("controller").and_then(Value::as_bool) == Some(true),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Object {
        api_version,
        kind,
        name,
        namespace,
        uid,
        labels,
        annotations,
        owners,
        secret_keys,
        body: Value::Object(map),
        source,
    })
}

/// Keeps one object per identity (API group, kind, namespace, name) — the later one, as
/// `kubectl apply` of the files in order would leave — and returns a warning naming both
/// locations for every duplicate dropped. Objects named only by `generateName` and cloud
/// documents are never duplicates.
pub fn dedupe(objects: &mut Vec<Object>) -> Vec<LoadError> {
    /// The identity, borrowed from the object (read once per object).
    type Identity<'o> = (&'o str, &'o str, Option<&'o str>, &'o str);
    fn key(o: &Object) -> Option<Identity<'_>> {
        let named = o
            .body
            .get("metadata")
            .and_then(|m| m.get("name"))
            .is_some_and(Value::is_string);
        if !named || crate::cloud::kinds::CLOUD_KINDS.contains(&o.kind.as_str()) {
            return None;
        }
        Some((
            o.api_group(),
            o.kind.as_str(),
            o.effective_namespace(),
            o.name.as_str(),
        ))
    }
    let at = |o: &Object| match o.source.line {
        Some(l) => format!("{}:{l}", o.source.file),
        None => o.source.file.clone(),
    };
    let mut warnings = Vec::new();
    let keep: Vec<bool> = {
        let keys: Vec<_> = objects.iter().map(key).collect();
        let mut last = std::collections::HashMap::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            if let Some(k) = k {
                last.insert(*k, i);
            }
        }
        keys.iter()
            .enumerate()
            .map(|(i, k)| {
                let Some(winner) = k.map(|k| last[&k]).filter(|w| *w != i) else {
                    return true;
                };
                let (o, winner) = (&objects[i], &objects[winner]);
                warnings.push(LoadError {
                    file: o.source.file.clone(),
                    line: o.source.line,
                    column: None,
                    message: format!(
                        "duplicate {}: {} is defined again at {}; the later definition is used, as kubectl apply would",
                        o.node_ref(),
                        at(o),
                        at(winner)
                    ),
                });
                false
            })
            .collect()
    };
    if keep.iter().all(|k| *k) {
        return warnings;
    }
    let mut flags = keep.into_iter();
    objects.retain(|_| flags.next().unwrap_or(true));
    warnings
}

/// Removes every field of a Secret-shaped mapping that can carry a value, returning the key names.
fn scrub_secret_fields(map: &mut Map<String, Value>) -> Vec<String> {
    let mut keys = Vec::new();
    for field in ["data", "stringData"] {
        if let Some(Value::Object(m)) = map.remove(field) {
            keys.extend(m.keys().cloned());
        }
    }
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
            ann.remove(LAST_APPLIED_ANNOTATION);
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    let Some(Value::Object(m)) = v else {
        return BTreeMap::new();
    };
    m.iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k.clone(), s)
        })
        .collect()
}

#[cfg(test)]
mod tests {

    /// Absurd flow nesting is refused at once, with the file and line, and the other documents
    /// carry on; ordinary nesting parses.
    #[test]
    fn deep_flow_nesting_is_refused_quickly() {
        let n = 200_000;
        let deep = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata: {{a: {}{}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: ok}}\ndata: {{a: \"[[{{}}]]\"}}\n",
            "[".repeat(n),
            "]".repeat(n)
        );
        let started = std::time::Instant::now();
        let out = parse_text(&deep, "deep.yaml", Syntax::Yaml);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert_eq!(out.errors[0].line, Some(4));
        assert!(out.errors[0].message.contains("nested deeper than"));
        assert_eq!(out.objects.len(), 1);
        assert_eq!(out.objects[0].name, "ok");
    }

    /// A privileged container written with a merge key is privileged (kubectl applies merges).
    #[test]
    fn merge_keys_are_applied_as_kubectl_applies_them() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: base\n    labels: &labels\n      app: web\n  spec:\n    containers:\n    - name: c\n      image: x:1\n      securityContext: &sc\n        privileged: true\n        runAsUser: 0\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\n    labels:\n      <<: [*labels, {app: ignored, tier: front}]\n  spec:\n    containers:\n    - name: c\n      image: x:1\n      securityContext:\n        <<: *sc\n        runAsUser: 1000\n";
        let out = parse_text(text, "m.yaml", Syntax::Yaml);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let pod = out
            .objects
            .iter()
            .find(|o| o.kind == "Pod" && o.name == "p")
            .expect("pod");
        let sc = pod
            .body
            .pointer("/spec/containers/0/securityContext")
            .expect("securityContext");
        assert_eq!(sc.get("privileged"), Some(&serde_json::json!(true)));
        assert_eq!(
            sc.get("runAsUser"),
            Some(&serde_json::json!(1000)),
            "own keys win"
        );
        assert!(sc.get("<<").is_none());
        assert_eq!(
            pod.labels.get("app").map(String::as_str),
            Some("web"),
            "earlier maps win"
        );
        assert_eq!(pod.labels.get("tier").map(String::as_str), Some("front"));
    }

    use super::*;

    fn yaml(text: &str) -> ParseOutcome {
        parse_text(text, "f.yaml", Syntax::Yaml)
    }

    #[test]
    fn multi_document_yaml_keeps_line_numbers() {
        let out = yaml(
            "# comment\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n",
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.objects.len(), 2);
        assert_eq!(out.objects[0].source.line, Some(2));
        assert_eq!(out.objects[1].source.line, Some(8));
    }

    #[test]
    fn a_broken_document_names_its_line_and_the_others_survive() {
        let out = yaml(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: [unclosed\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: c\n",
        );
        assert_eq!(out.objects.len(), 2);
        assert_eq!(out.errors.len(), 1);
        let e = &out.errors[0];
        assert_eq!(e.file, "f.yaml");
        assert!(matches!(e.line, Some(7) | Some(8)), "line {:?}", e.line);
        assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
    }

    #[test]
    fn kubectl_list_and_typed_list_are_expanded() {
        let out = yaml("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p, namespace: ns}\n");
        assert_eq!(out.objects.len(), 1);
        assert_eq!(out.objects[0].node_ref(), "Pod:ns/p");
        let out = parse_text(
            r#"{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"q","namespace":"m"}}]}"#,
            "l.json",
            Syntax::Json,
        );
        assert_eq!(out.objects.len(), 1);
        assert_eq!(out.objects[0].kind, "Pod");
        assert_eq!(out.objects[0].api_version, "v1");
    }

    /// Scalars mean what they mean to kubectl (YAML 1.1): `privileged: yes` is privileged, and a
    /// metadata string written as a boolean or a number makes the object one the API server
    /// rejects, so it is an error entry, never an object in the wrong namespace.
    #[test]
    fn yaml_1_1_scalars_as_kubectl_reads_them() {
        let out = yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec:\n  hostPID: on\n  containers:\n  - name: c\n    securityContext: {privileged: yes}\n");
        let spec = &out.objects[0].body["spec"];
        assert_eq!(spec["hostPID"], Value::Bool(true));
        assert_eq!(
            spec["containers"][0]["securityContext"]["privileged"],
            Value::Bool(true)
        );
        for meta in [
            "{name: p, namespace: n}",
            "{name: 0644}",
            "{name: p, labels: {app: on}}",
            "{name: p, annotations: {a: 1}}",
            "{name: p, labels: [x]}",
        ] {
            let out = yaml(&format!("apiVersion: v1\nkind: Pod\nmetadata: {meta}\n"));
            assert!(out.objects.is_empty(), "{meta}");
            assert_eq!(out.errors.len(), 1, "{meta}");
            assert!(out.errors[0].message.contains("not a"), "{:?}", out.errors);
        }
        let out = yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: \"n\", labels: {app: 'on'}}\n");
        assert_eq!(out.objects[0].node_ref(), "Pod:n/p");
    }

    #[test]
    fn secret_values_are_dropped_and_key_names_kept() {
        let out = yaml(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"k\":\"Q0FOQVJZ\"}}'\n    team: a\ndata:\n  password: Q0FOQVJZ\nstringData:\n  token: CANARY\ntype: Opaque\n",
        );
        let s = &out.objects[0];
        assert_eq!(s.secret_keys, vec!["password", "token"]);
        let dump = format!("{:?}", s);
        assert!(
            !dump.contains("CANARY") && !dump.contains("Q0FOQVJZ"),
            "{dump}"
        );
        assert_eq!(s.annotations.get("team").map(String::as_str), Some("a"));
        assert_eq!(s.body["type"], "Opaque");
    }

    #[test]
    fn non_objects_are_errors_not_panics() {
        for text in [
            "- a\n- b\n",
            "just a string\n",
            "apiVersion: v1\nmetadata: {name: x}\n",
            "kind: Pod\n",
            "{",
            "a: b: c",
        ] {
            let out = yaml(text);
            assert!(out.objects.is_empty());
            assert_eq!(out.errors.len(), 1, "{text}: {:?}", out.errors);
        }
        let out = parse_text("{\"kind\": ", "x.json", Syntax::Json);
        assert_eq!(out.errors[0].line, Some(1));
    }

    #[test]
    fn parser_errors_never_quote_a_value() {
        const C: &str = "kspmcanary0b1c";
        let head = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n";
        for body in [
            format!("stringData:\n  password: !!int {C}\n"),
            format!("stringData:\n  password: !!float {C}\n"),
            format!("data:\n  password: !!bool {C}\n"),
            format!("data:\n  password: !!null {C}\n"),
            format!("data:\n  password: !!binary {C}!\n"),
            format!("stringData: !!map {C}\n"),
            format!("stringData:\n  password: {C}\n  password: {C}2\n"),
            format!("stringData: {{k: {C}, k: {C}}}\n"),
            format!("stringData:\n  k: \"{C}\n"),
            format!("stringData:\n  password: !!int |\n    ab\"{C}\n    {C}x\n"),
            format!("stringData:\n  password: !!int \"a\\\"{C}\\u200b\"\n"),
            format!("stringData:\n  password: !!bool '{C}''{C}'\n"),
        ] {
            let out = yaml(&format!("{head}{body}"));
            let text = format!("{:?}{:?}", out.errors, out.objects);
            assert!(!text.contains(C), "{body}: {text}");
        }
        let out = yaml(&format!("{head}stringData:\n  password: !!int {C}\n"));
        assert_eq!(out.errors.len(), 1);
        assert!(
            out.errors[0].message.contains("`password`"),
            "{}",
            out.errors[0].message
        );
        for text in [
            format!("{{\"kind\":\"Secret\",\"data\":{{\"k\":{C}}}}}"),
            format!("{{\"kind\":\"Secret\",\"data\":{{\"k\":12{C}}}}}"),
            format!("{{\"kind\":\"Secret\",\"data\":{{\"k\":\"{C}\u{1}\"}}}}"),
        ] {
            let out = parse_text(&text, "s.json", Syntax::Json);
            assert!(
                !format!("{:?}", out.errors).contains(C),
                "{text}: {:?}",
                out.errors
            );
        }
    }

    #[test]
    fn aliases_do_not_carry_secret_values_into_kept_fields() {
        let out = yaml("apiVersion: v1\nkind: Secret\nstringData:\n  p: &v kspmcanary\nmetadata:\n  name: s\n  labels: {a: *v}\n  annotations:\n    b: *v\n");
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let s = &out.objects[0];
        assert!(!format!("{s:?}").contains("kspmcanary"), "{s:?}");
        assert_eq!(s.labels.get("a").map(String::as_str), Some("[redacted]"));
        assert_eq!(s.secret_keys, vec!["p"]);
    }

    #[test]
    fn duplicates_keep_the_later_definition_and_say_where() {
        let mut out = yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {hostPID: true}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: b}\n---\napiVersion: v1\nkind: Pod\nmetadata: {generateName: g-, namespace: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {generateName: g-, namespace: a}\n");
        let warnings = dedupe(&mut out.objects);
        assert_eq!(out.objects.len(), 5);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].message.contains("f.yaml:1") && warnings[0].message.contains("f.yaml:10"),
            "{}",
            warnings[0].message
        );
        let p = out
            .objects
            .iter()
            .find(|o| o.node_ref() == "Pod:a/p")
            .expect("kept");
        assert_eq!(p.source.line, Some(10));
    }

    #[test]
    fn empty_documents_are_ignored() {
        let out = yaml("---\n# nothing\n---\n\n...\n");
        assert!(
            out.objects.is_empty() && out.errors.is_empty(),
            "{:?}",
            out.errors
        );
    }
}
