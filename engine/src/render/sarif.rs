//! SARIF 2.1.0 output, shaped for GitHub code scanning: every check is a rule with help text and
//! a `security-severity`; every finding is a result located at the file and line of its object.

use crate::checks::{catalogue, Check};
use crate::graph::paths::AttackPath;
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
        "shortDescription": {"text": "A new attack path"},
        "fullDescription": {"text": "The change opens a way from an entry point (the internet, a workload, an identity) to a sink (cluster admin, node root, Secrets, a cloud account), each hop a catalogued technique with its evidence."},
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
    let rules: Vec<Value> = checks.iter().map(|c| rule(c)).collect();
    let results = finding_results(&checks, &report.findings);
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
