//! SARIF 2.1.0 output, shaped for GitHub code scanning: every check is a rule with help text and
//! a `security-severity`; every finding is a result located at the file and line of its object.

use crate::checks::{catalogue, Check};
use crate::graph::paths::AttackPath;
use crate::object::Source;
use crate::report::{Finding, Report};
use crate::severity::Severity;
use serde_json::{json, Value};

const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` score bands: critical > 9.0, high 7.0–8.9, medium 4.0–6.9, low < 4.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn rule(c: &Check) -> Value {
    let controls: Vec<String> = c
        .controls
        .iter()
        .map(|ctl| format!("{} {}", ctl.framework.id(), ctl.id))
        .collect();
    let name: String = c
        .title
        .split(|ch: char| !ch.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + cs.as_str(),
                None => String::new(),
            }
        })
        .collect();
    json!({
        "id": c.id,
        "name": name,
        "shortDescription": {"text": c.title},
        "fullDescription": {"text": c.description},
        "help": {
            "text": format!("{}\n\nRemediation: {}\n\nControls: {}", c.description, c.remediation, controls.join(", ")),
            "markdown": format!("**{}**\n\n{}\n\n**Remediation:** {}\n\n**Controls:** {}", c.title, c.description, c.remediation, controls.join(", ")),
        },
        "defaultConfiguration": {"level": level(c.severity)},
        "properties": {
            "tags": ["security", "kubernetes"],
            "precision": "high",
            "problem.severity": match c.severity { Severity::Critical | Severity::High => "error", Severity::Medium => "warning", _ => "recommendation" },
            "security-severity": security_severity(c.severity),
        }
    })
}

/// Percent-encodes what may not stand in a URI reference path, and makes separators forward.
fn file_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn result(f: &Finding, rule_index: usize) -> Value {
    let mut physical = json!({"artifactLocation": {"uri": file_uri(&f.source.file)}});
    physical["region"] = json!({"startLine": f.source.line.unwrap_or(1).max(1)});
    json!({
        "ruleId": f.check,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": format!("{}: {} (cluster {})", f.resource, f.message, f.cluster)},
        "locations": [{
            "physicalLocation": physical,
            "logicalLocations": [{"fullyQualifiedName": format!("{}/{}", f.cluster, f.resource), "kind": "resource"}]
        }],
        "partialFingerprints": {"kspmFinding/v2": f.fingerprint},
        "properties": {
            "cluster": f.cluster,
            "resource": f.resource,
            "severity": f.severity.as_str(),
            "evidence": f.evidence,
        }
    })
}

/// An attack path and where to show it: the file and line of the object it is about.
pub struct PathAt<'a> {
    /// The path.
    pub path: &'a AttackPath,
    /// File and line, when the path goes through an object read from a file.
    pub at: Option<(&'a str, Option<usize>)>,
}

/// The rule of an attack path result (`kspm plan`).
const PATH_RULE: &str = "KSPM-PATH";

fn path_rule() -> Value {
    json!({
        "id": PATH_RULE,
        "name": "AttackPath",
        "shortDescription": {"text": "An attack path"},
        "fullDescription": {"text": "A way from an entry point (the internet, a workload, an identity) to a sink (cluster admin, node root, Secrets, a cloud account), each hop a catalogued technique with its evidence."},
        "help": {
            "text": "Break the path at the changed object it goes through: drop the grant, the exposure or the token that the hop's evidence names.",
            "markdown": "Break the path at the changed object it goes through: drop the grant, the exposure or the token that the hop's evidence names.",
        },
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", "kubernetes", "attack-path"], "precision": "high", "security-severity": "8.0"}
    })
}

fn path_result(p: &AttackPath, at: Option<(&str, Option<usize>)>, rule_index: usize) -> Value {
    let hops: Vec<String> = p
        .steps
        .iter()
        .map(|s| format!("{} -[{}]-> {}", s.from, s.technique, s.to))
        .collect();
    let mut location = json!({"logicalLocations": [{"fullyQualifiedName": format!("{}/{}", p.cluster, p.source), "kind": "resource"}]});
    if let Some((file, line)) = at {
        location["physicalLocation"] = json!({
            "artifactLocation": {"uri": file_uri(file)},
            "region": {"startLine": line.unwrap_or(1).max(1)}
        });
    }
    let mut r = json!({
        "ruleId": PATH_RULE,
        "ruleIndex": rule_index,
        "level": level(p.severity),
        "message": {"text": format!("new attack path {} → {} (cluster {}): {}", p.source, p.target, p.cluster, hops.join("; "))},
        "locations": [location],
        "partialFingerprints": {"kspmPath/v1": p.id},
        "properties": {"cluster": p.cluster, "severity": p.severity.as_str(), "score": p.score}
    });
    r["properties"]["security-severity"] = json!(security_severity(p.severity));
    r
}

/// Where a hop's node was read from: its own object; a container or an endpoint (the pods'
/// ports) is shown at its workload (`Endpoint:` names it, a container follows it on the path).
fn hop_location<'r>(report: &'r Report, p: &AttackPath, i: usize) -> Option<&'r Source> {
    let key = |r: &str| (p.cluster.clone(), r.to_string());
    let node = p.nodes.get(i)?;
    if let Some(s) = report.locations.get(&key(node)) {
        return Some(s);
    }
    let (other, reference) = crate::graph::paths::split_reference(node);
    if let Some(w) = reference.strip_prefix("Endpoint:") {
        let w = match other {
            Some(c) => format!("[{c}] {w}"),
            None => w.to_string(),
        };
        return report.locations.get(&key(&w));
    }
    if reference.starts_with("Container:") && i > 0 {
        return hop_location(report, p, i - 1);
    }
    None
}

/// A SARIF location for a node: the file and line of its object when it was read from a file,
/// always its logical name.
fn node_location(p: &AttackPath, node: &str, at: Option<&Source>, message: String) -> Value {
    let mut location = json!({
        "logicalLocations": [{"fullyQualifiedName": format!("{}/{node}", p.cluster), "kind": "resource"}],
        "message": {"text": message},
    });
    if let Some(src) = at.filter(|s| !s.file.is_empty()) {
        location["physicalLocation"] = json!({
            "artifactLocation": {"uri": file_uri(&src.file)},
            "region": {"startLine": src.line.unwrap_or(1).max(1)}
        });
    }
    location
}

/// A reported attack path as a result with a code flow: one thread flow whose locations are
/// its nodes in order, each at its object's file and line, the hop that reaches it (technique
/// and evidence) as the message.
fn path_flow_result(report: &Report, p: &AttackPath, rule_index: usize) -> Value {
    let mut flow = Vec::with_capacity(p.nodes.len());
    for (i, node) in p.nodes.iter().enumerate() {
        let message = match i.checked_sub(1).and_then(|k| p.steps.get(k)) {
            Some(s) => format!("{} → {node} [{}]: {}", s.from, s.technique, s.evidence),
            None => format!("entry point {node}"),
        };
        flow.push(json!({
            "location": node_location(p, node, hop_location(report, p, i), message),
            "executionOrder": i,
            "importance": if i == 0 || i + 1 == p.nodes.len() { "essential" } else { "important" },
        }));
    }
    // The result sits at the first hop read from a file (code scanning shows results in files);
    // a path through no file (identities, cloud principals) at a file of its cluster.
    let first = (0..p.nodes.len()).find_map(|i| hop_location(report, p, i).map(|s| (i, s)));
    let anchor = match first {
        Some((i, src)) => node_location(
            p,
            &p.nodes[i],
            Some(src),
            format!("{} on the path", p.nodes[i]),
        ),
        None => {
            let in_cluster = report
                .locations
                .iter()
                .find(|((c, _), _)| *c == p.cluster)
                .map(|(_, s)| s)
                .or_else(|| {
                    report
                        .findings
                        .iter()
                        .find(|f| f.cluster == p.cluster && !f.source.file.is_empty())
                        .map(|f| &f.source)
                });
            node_location(
                p,
                &p.source,
                in_cluster,
                format!(
                    "{}: the path reads no file of its own (shown in its cluster)",
                    p.source
                ),
            )
        }
    };
    let hops: Vec<&str> = p.steps.iter().map(|s| s.technique.as_str()).collect();
    json!({
        "ruleId": PATH_RULE,
        "ruleIndex": rule_index,
        "level": level(p.severity),
        "message": {"text": format!("attack path {} → {} (cluster {}, score {}): {}", p.source, p.target, p.cluster, p.score, hops.join(" → "))},
        "locations": [anchor],
        "codeFlows": [{
            "message": {"text": format!("{} → {}", p.source, p.target)},
            "threadFlows": [{"locations": flow}],
        }],
        "partialFingerprints": {"kspmPath/v1": p.id},
        "properties": {"cluster": p.cluster, "severity": p.severity.as_str(), "score": p.score, "security-severity": security_severity(p.severity)},
    })
}

/// The SARIF document around `results`.
fn document(rules: Vec<Value>, results: Vec<Value>, notifications: Vec<Value>) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let doc = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kspm",
                "version": version,
                "semanticVersion": version,
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "columnKind": "unicodeCodePoints",
        }]
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

fn finding_results(checks: &[&Check], findings: &[Finding]) -> Vec<Value> {
    findings
        .iter()
        .map(|f| {
            let idx = checks.iter().position(|c| c.id == f.check).unwrap_or(0);
            result(f, idx)
        })
        .collect()
}

/// Renders SARIF 2.1.0.
pub fn render(report: &Report) -> String {
    let checks = catalogue();
    let mut rules: Vec<Value> = checks.iter().map(|c| rule(c)).collect();
    rules.push(path_rule());
    let mut results = finding_results(&checks, &report.findings);
    results.extend(
        report
            .attack_paths
            .iter()
            .map(|p| path_flow_result(report, p, checks.len())),
    );
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": {"text": e.message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": file_uri(&e.file)},
                    "region": {"startLine": e.line.unwrap_or(1).max(1)}
                }}]
            })
        })
        .collect();
    document(rules, results, notifications)
}

/// Renders what a change introduces (`kspm plan`) as SARIF 2.1.0: its findings, located at
/// their objects (the changed manifests), and its attack paths, each located where given (the
/// changed object it goes through).
pub fn render_plan(findings: &[Finding], paths: &[PathAt<'_>]) -> String {
    let checks = catalogue();
    let mut rules: Vec<Value> = checks.iter().map(|c| rule(c)).collect();
    rules.push(path_rule());
    let mut results = finding_results(&checks, findings);
    results.extend(
        paths
            .iter()
            .map(|p| path_result(p.path, p.at, checks.len())),
    );
    document(rules, results, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded_and_relative() {
        assert_eq!(file_uri("./a b\\c.yaml"), "a%20b/c.yaml");
    }
}
