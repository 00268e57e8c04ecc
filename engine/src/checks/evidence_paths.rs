//! Where every check's evidence points, asserted on every check's bad case: a reader for the
//! evidence path grammar documented on [`Evidence::path`](crate::finding::Evidence::path), and
//! the test that each hit's evidence names a field, object or flag that is there and holds the
//! value the evidence gives (or names an absent field with null, or withholds a secret value).

use super::cases::{cases, evidence_of, Case};
use crate::credentials::REDACTED;
use crate::finding::Evidence;
use crate::object::Object;
use serde_json::Value;

/// Values that stand for a field's value without giving it (secrets; configuration snippets).
const WITHHELD: &[&str] = &[REDACTED, "<snippet>"];

/// Checks whose evidence value for a field that is there is a summary of it, not the field as
/// written, by the field's last key; and why.
const SUMMARISED: &[(&str, &str, &str)] = &[
    // The rule written open: `spec.ingress[0]` = "no peer or port restriction".
    ("KSPM-N-017", "ingress", "the rule's effect"),
    // The policy whose every-peer rule makes this one moot.
    ("KSPM-N-018", "ingress", "the policy that voids this one"),
    // Each aws-auth entry that maps to system:masters, parsed.
    ("KSPM-E-010", "mapRoles", "the parsed mapping entries"),
    // The image, then its known-exploited vulnerabilities.
    (
        "KSPM-I-007",
        "image",
        "the image with what its reports say of it",
    ),
];

/// Evidence that gives, for an absent field, the default the rule applied: check, path, value.
const DEFAULTED: &[(&str, &str, &str)] = &[(
    "KSPM-E-003",
    "spec.resourcesVpcConfig.publicAccessCidrs",
    // EKS's public endpoint is open to every address unless CIDRs are given.
    r#"["0.0.0.0/0"]"#,
)];

/// Evidence "paths" that are labels, not fields, by check: what they hold.
const LABELS: &[(&str, &str)] = &[
    ("KSPM-N-017", "default deny"),
    ("KSPM-N-019", "open to every namespace"),
];

/// Splits a field path at the dots outside brackets (`data[config.conf].x` is two segments).
fn segments(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, ch) in path.char_indices() {
        match ch {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                out.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&path[start..]);
    out
}

/// Reads a field path in an object: `Ok(Some(value))`, `Ok(None)` when its last keys are absent
/// (a missing setting), `Err` when it points at nothing — a list element, map key or object
/// field on the way that is not there, or a step into a scalar.
fn read(object: &Object, path: &str) -> Result<Option<Value>, String> {
    // A Secret's values are dropped at parse time; its keys are kept.
    if object.kind == "Secret" {
        if let Some(key) = path
            .strip_prefix("data[")
            .or_else(|| path.strip_prefix("stringData["))
            .and_then(|k| k.strip_suffix(']'))
        {
            return match object.secret_keys.iter().any(|k| k == key) {
                true => Ok(Some(Value::String(REDACTED.into()))),
                false => Err(format!("the Secret has no key {key}")),
            };
        }
    }
    let arm = object.kind.starts_with("Aks") || object.kind.starts_with("Azure");
    let mut at = object.body.clone();
    let all = segments(path);
    for (n, seg) in all.iter().enumerate() {
        let (key, mut rest) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (*seg, ""),
        };
        // A string holding a document (a ConfigMap's embedded configuration) is read into.
        if let Value::String(s) = &at {
            at = crate::yaml::value(s).map_err(|e| format!("{key}: not a document: {e}"))?;
        }
        if !key.is_empty() {
            let map = at
                .as_object()
                .ok_or_else(|| format!("{key}: not an object"))?;
            // ARM keys are case-insensitive, as Azure treats them; Kubernetes keys are not.
            let found = map.get(key).or_else(|| {
                map.iter()
                    .find(|(k, _)| arm && k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            });
            match found {
                Some(v) => at = v.clone(),
                // Absent: a missing setting, as long as nothing after it selects an element.
                None if rest.is_empty() && all[n + 1..].iter().all(|s| !s.contains('[')) => {
                    return Ok(None)
                }
                None => return Err(format!("{key} is absent, yet an element of it is named")),
            }
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or("unclosed [")?;
            let sel = &r[..end];
            rest = &r[end + 1..];
            at = match &at {
                Value::Array(items) => match sel.parse::<usize>() {
                    Ok(i) => items.get(i).cloned(),
                    Err(_) => items
                        .iter()
                        .find(|x| x.get("name").and_then(Value::as_str) == Some(sel))
                        .cloned(),
                },
                Value::Object(map) => map.get(sel).cloned(),
                _ => None,
            }
            .ok_or_else(|| format!("{key}[{sel}] is not there"))?;
        }
    }
    Ok(Some(at))
}

/// What an evidence path names.
enum Target<'o> {
    /// A field of an object.
    Field(&'o Object, String),
    /// Another object as a whole.
    Object,
    /// A flag on a container's command line.
    Flag(Value, String),
    /// A label: a graph node (identities, holders) or a check's named summary.
    Label,
}

/// Resolves an evidence path against the hit's object and the case's objects.
fn target<'o>(
    id: &str,
    own: &'o Object,
    all: &'o [Object],
    path: &str,
) -> Result<Target<'o>, String> {
    use super::{HELD_BY_EVIDENCE, IDENTITY_EVIDENCE};
    if path.starts_with(HELD_BY_EVIDENCE) || path.starts_with(IDENTITY_EVIDENCE) {
        return Ok(Target::Label);
    }
    if LABELS.contains(&(id, path)) {
        return Ok(Target::Label);
    }
    let named = |r: &str| all.iter().find(|o| o.node_ref() == r);
    if named(path).is_some() {
        return Ok(Target::Object);
    }
    if let Some((before, flag)) = path.split_once(" command line: ") {
        let container = read(own, before)?.ok_or("no such container")?;
        return Ok(Target::Flag(container, flag.to_string()));
    }
    // `Kind:ns/name: field` (object names hold no spaces), or `Kind:ns/name.field` (RBAC rules:
    // the longest object reference the path starts with).
    if let Some((r, field)) = path.split_once(": ") {
        let o = named(r).ok_or_else(|| format!("no object {r}"))?;
        return Ok(Target::Field(o, field.to_string()));
    }
    if let Some(o) = all
        .iter()
        .filter(|o| {
            let r = o.node_ref();
            path.len() > r.len() && path.starts_with(&r) && path.as_bytes()[r.len()] == b'.'
        })
        .max_by_key(|o| o.node_ref().len())
    {
        return Ok(Target::Field(o, path[o.node_ref().len() + 1..].to_string()));
    }
    Ok(Target::Field(own, path.to_string()))
}

/// Whether the evidence's value is what `found` (the field as read) says, by the conventions
/// above; `Err` says why not.
fn holds(c: &Case, e: &Evidence, field: &str, found: Option<Value>) -> Result<(), String> {
    let value = &e.value;
    let Some(found) = found else {
        let defaulted = DEFAULTED.iter().any(|(id, path, v)| {
            *id == c.id
                && *path == e.path
                && serde_json::from_str::<Value>(v).ok().as_ref() == Some(value)
        });
        return match value.is_null() || defaulted {
            true => Ok(()),
            false => Err(format!("absent, yet the evidence gives {value}")),
        };
    };
    if *value == found {
        return Ok(());
    }
    if WITHHELD.iter().any(|w| value == w) && found.is_string() {
        return Ok(());
    }
    // A binding's roleRef, written as the role's node reference.
    if field == "roleRef" {
        let s = |k: &str| found.get(k).and_then(Value::as_str).unwrap_or("");
        return match value.as_str() {
            Some(v)
                if v.strip_prefix(s("kind"))
                    .and_then(|v| v.strip_prefix(':'))
                    .is_some_and(|v| v == s("name") || v.ends_with(&format!("/{}", s("name")))) =>
            {
                Ok(())
            }
            _ => Err(format!("{value} is not the roleRef {found}")),
        };
    }
    // A role's rule, written as kspm writes rules.
    let rule_index = field
        .strip_prefix("rules[")
        .and_then(|r| r.strip_suffix(']'))
        .is_some_and(|n| n.parse::<usize>().is_ok());
    if rule_index {
        let text = crate::rbac::rule_text(&found);
        return match value.as_str() == Some(text.as_str()) {
            true => Ok(()),
            false => Err(format!("{value} is not the rule {found} ({text})")),
        };
    }
    let last_key = segments(field)
        .last()
        .map(|s| s.split('[').next().unwrap_or(s))
        .unwrap_or("");
    if SUMMARISED
        .iter()
        .any(|(id, key, _)| *id == c.id && *key == last_key)
    {
        // A summary of a string starts with it.
        return match (value.as_str(), found.as_str()) {
            (Some(v), Some(f)) if !v.starts_with(f) => {
                Err(format!("{value} does not begin with {found}"))
            }
            _ => Ok(()),
        };
    }
    Err(format!("{value} but the field holds {found}"))
}

/// Checks every evidence of the hits of `c`'s bad case: how many, and what does not hold.
fn verify(c: &Case) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut failures = Vec::new();
    let objects = super::cases::objects_of(&c.bad);
    for o in &objects {
        if objects
            .iter()
            .filter(|x| x.node_ref() == o.node_ref())
            .count()
            > 1
        {
            failures.push(format!("{}: two objects are {}", c.id, o.node_ref()));
        }
    }
    let hits = evidence_of(c);
    if hits.is_empty() {
        failures.push(format!("{}: the bad case has no hit", c.id));
    }
    for (object, evidence) in hits {
        if evidence.is_empty() {
            failures.push(format!("{} on {}: no evidence", c.id, object.node_ref()));
        }
        for e in &evidence {
            checked += 1;
            let verdict = target(c.id, &object, &objects, &e.path).and_then(|t| match t {
                Target::Field(o, field) => {
                    let found = read(o, &field)?;
                    holds(c, e, &field, found)
                }
                Target::Flag(container, flag) => {
                    let flags = super::control_plane::command_flags(&container);
                    let name = flag.trim_start_matches('-');
                    let found = flags.get(name).map(|v| Value::String(v.clone()));
                    match (found, &e.value) {
                        (None, Value::Null) => Ok(()),
                        (Some(f), v) if f == *v => Ok(()),
                        (f, v) => Err(format!("{flag} is {f:?}, the evidence says {v}")),
                    }
                }
                Target::Object | Target::Label => Ok(()),
            });
            if let Err(why) = verdict {
                failures.push(format!(
                    "{} on {}: {} = {}: {why}",
                    c.id,
                    object.node_ref(),
                    e.path,
                    e.value
                ));
            }
        }
    }
    (checked, failures)
}

/// Every hit of every check's bad case names where it looked: each evidence path resolves, in
/// the finding's object or the object it names, to a field that holds the evidence's value (as
/// written, or withheld, or null for a missing setting), to an object, or to a command-line
/// flag with that value; the few labels and summaries are listed above with their reason.
#[test]
fn every_check_points_its_evidence_at_what_it_read() {
    let (mut checked, mut failures) = (0, Vec::new());
    for c in cases() {
        let (n, f) = verify(&c);
        checked += n;
        failures.extend(f);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 200, "{checked} evidence paths checked");
}

/// A rule an aggregated ClusterRole holds through its aggregation is evidenced where it is
/// written: in the ClusterRole it was aggregated from (a manifest's aggregate lists no rules;
/// the API's lists the union in its own order).
#[test]
fn aggregated_rules_are_evidenced_where_they_are_written() {
    use serde_json::json;
    let rbac = "rbac.authorization.k8s.io/v1";
    let bad = vec![
        json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "agg"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"to-agg": "true"}}]}, "rules": []}),
        json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "part", "labels": {"to-agg": "true"}},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
                      {"verbs": ["list"], "apiGroups": [""], "resources": ["secrets"]}]}),
        json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "agg"},
            "subjects": [{"kind": "User", "name": "alice"}]}),
    ];
    let c = Case {
        id: "KSPM-R-003",
        bad,
        good: Vec::new(),
        provider: crate::snapshot::Provider::Generic,
        options: Default::default(),
    };
    let (checked, failures) = verify(&c);
    assert!(
        checked >= 2 && failures.is_empty(),
        "{checked}: {failures:?}"
    );
    let found = evidence_of(&c);
    assert!(
        found[0]
            .1
            .iter()
            .any(|e| e.path == "ClusterRole:part.rules[1]"),
        "{found:?}"
    );
}

#[test]
fn the_reader_knows_absent_settings_from_paths_to_nothing() {
    let o = crate::parse::parse_text(
        r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n",
            "annotations": {"a.b/c": "x"}}, "data": {"config.conf": "bind: 0.0.0.0\n"}}"#,
        "c.json",
        crate::parse::Syntax::Json,
    )
    .objects
    .remove(0);
    assert_eq!(
        read(&o, "metadata.annotations[a.b/c]"),
        Ok(Some("x".into()))
    );
    assert_eq!(
        read(&o, "data[config.conf].bind"),
        Ok(Some("0.0.0.0".into()))
    );
    assert_eq!(read(&o, "data[config.conf].port"), Ok(None));
    assert_eq!(read(&o, "spec.replicas"), Ok(None));
    assert!(read(&o, "metadata.annotations[other]").is_err());
    assert!(read(&o, "spec.containers[0].image").is_err());
    assert!(read(&o, "metadata.name.first").is_err());
}
