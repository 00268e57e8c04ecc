//! Output of `kspm who-can` and `kspm can-i`.

use crate::rbac::{Decision, Grant, Subject};
use serde_json::{json, Value};
use std::fmt::Write;

/// One who-can answer for one cluster.
pub struct WhoCan<'a> {
    /// Cluster name.
    pub cluster: &'a str,
    /// Subjects with the grant that gives them the permission (`None` = privileged group).
    pub entries: Vec<(Subject, Option<Grant<'a>>)>,
    /// Cloud principals that hold it through the cluster's mapping of them.
    pub cloud: Vec<crate::graph::query::CloudHolder>,
}

/// A cloud principal's `can-i` answer in one cluster.
pub struct CloudCanI<'a> {
    /// Cluster name.
    pub cluster: &'a str,
    /// What the cluster maps the principal to.
    pub identity: crate::graph::query::CloudIdentity,
    /// Sinks that imply the request (technique, evidence).
    pub sinks: Vec<(String, String, String)>,
    /// The RBAC decision for each identity it authenticates as (`User:…` with its groups).
    pub decisions: Vec<(String, Decision<'a>)>,
}

impl CloudCanI<'_> {
    /// Whether the principal may make the request in this cluster.
    pub fn allowed(&self) -> bool {
        !self.sinks.is_empty() || self.decisions.iter().any(|(_, d)| d.allowed())
    }
}

/// `yes`/`no` per cluster for a cloud principal, with the mapping and the grants behind a yes.
pub fn can_i_cloud_table(principal: &str, answers: &[CloudCanI<'_>]) -> String {
    let mut out = String::new();
    for a in answers {
        let word = if a.allowed() { "yes" } else { "no" };
        let _ = writeln!(out, "{}: {word}", a.cluster);
        if a.identity.is_empty() {
            let _ = writeln!(out, "  {principal} is not mapped into this cluster");
            continue;
        }
        for (u, ev) in &a.identity.users {
            let _ = writeln!(out, "  authenticates as User:{u} ({ev})");
        }
        for (g, ev) in &a.identity.groups {
            let _ = writeln!(out, "  in Group:{g} ({ev})");
        }
        for (sink, technique, ev) in &a.sinks {
            let _ = writeln!(out, "  holds {sink} via {technique}: {ev}");
        }
        for (who, d) in &a.decisions {
            match d {
                Decision::PrivilegedGroup => {
                    let _ = writeln!(out, "  as {who}: via the privileged group system:masters");
                }
                Decision::Allowed(grants) => {
                    for g in grants {
                        let _ = writeln!(out, "  as {who}: via {}", g.describe());
                    }
                }
                Decision::Denied => {}
            }
        }
    }
    out
}

fn grant_json(g: &Option<Grant<'_>>) -> Value {
    match g {
        None => json!({"via": "privileged group system:masters (authorized before RBAC)"}),
        Some(g) => {
            let (role, index) = g.role.written_at(g.rule);
            json!({
                "binding": g.binding.node_ref,
                "role": g.role.node_ref(),
                "rule_index": g.rule,
                "rule": g.role.rules[g.rule].to_string(),
                "written_at": format!("{role}.rules[{index}]"),
                "assumed_default": g.binding.assumed_default || g.role.assumed_default,
            })
        }
    }
}

/// Table: one line per subject and grant.
pub fn who_can_table(answers: &[WhoCan<'_>]) -> String {
    let mut out = String::new();
    for a in answers {
        let _ = writeln!(out, "cluster {}:", a.cluster);
        let rows: Vec<[String; 2]> = a
            .entries
            .iter()
            .map(|(s, g)| {
                let via = match g {
                    None => "privileged group (authorized before RBAC)".to_string(),
                    Some(g) => {
                        let mut d = g.describe();
                        if g.binding.assumed_default || g.role.assumed_default {
                            d.push_str("  [assumed default]");
                        }
                        d
                    }
                };
                [s.node_ref(), via]
            })
            .collect();
        let w = rows.iter().map(|r| r[0].len()).max().unwrap_or(7).max(7);
        let _ = writeln!(out, "  {:w$}  GRANTED BY", "SUBJECT");
        for r in rows {
            let _ = writeln!(out, "  {:w$}  {}", r[0], r[1]);
        }
        if !a.cloud.is_empty() {
            let w = a
                .cloud
                .iter()
                .map(|c| c.principal.len())
                .max()
                .unwrap_or(15)
                .max(15);
            let _ = writeln!(out, "  {:w$}  BECOMES / MAPPING", "CLOUD PRINCIPAL");
            for c in &a.cloud {
                let _ = writeln!(
                    out,
                    "  {:w$}  {} via {}: {}",
                    c.principal, c.becomes, c.technique, c.evidence
                );
            }
        }
    }
    out
}

/// JSON: `[{cluster, subjects: [{subject, binding, role, rule_index, rule, written_at,
/// assumed_default}], cloud_principals}]`: `rule_index` counts among the role's effective rules
/// (an aggregate's union), `written_at` is where the rule is written (`ClusterRole:x.rules[n]`,
/// for an aggregated rule the ClusterRole it was aggregated from).
pub fn who_can_json(answers: &[WhoCan<'_>]) -> String {
    let v: Vec<Value> = answers
        .iter()
        .map(|a| {
            json!({
                "cluster": a.cluster,
                "subjects": a.entries.iter().map(|(s, g)| {
                    let mut e = grant_json(g);
                    e["subject"] = json!(s.node_ref());
                    e
                }).collect::<Vec<_>>(),
                "cloud_principals": a.cloud,
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

/// `yes`/`no` per cluster, with the grants behind a yes.
pub fn can_i_table(answers: &[(&str, &Decision<'_>)]) -> String {
    let mut out = String::new();
    for (cluster, d) in answers {
        let word = if d.allowed() { "yes" } else { "no" };
        if answers.len() > 1 {
            let _ = writeln!(out, "{cluster}: {word}");
        } else {
            let _ = writeln!(out, "{word}");
        }
        match d {
            Decision::PrivilegedGroup => {
                let _ = writeln!(out, "  via the privileged group system:masters");
            }
            Decision::Allowed(grants) => {
                for g in grants {
                    let _ = writeln!(out, "  via {}", g.describe());
                }
            }
            Decision::Denied => {}
        }
    }
    out
}

/// `kspm can-connect` answers per cluster: the verdict, then each direction's policies.
pub fn can_connect_table(answers: &[(&str, &crate::netpol::Verdict)]) -> String {
    use crate::netpol::{Answer, Side};
    let mut out = String::new();
    for (cluster, v) in answers {
        let word = match v.answer {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::Unknown => "unknown",
        };
        if answers.len() > 1 {
            let _ = writeln!(out, "{cluster}: {word}");
        } else {
            let _ = writeln!(out, "{word}");
        }
        let side = |out: &mut String, what: &str, s: &Option<Side>| {
            let Some(s) = s else { return };
            if s.isolated_by.is_empty() {
                let _ = writeln!(out, "  {what}: open (no NetworkPolicy isolates it)");
                return;
            }
            let _ = writeln!(out, "  {what}: isolated by {}", s.isolated_by.join(", "));
            if !s.denied_by.is_empty() {
                let _ = writeln!(out, "    denied by {}", s.denied_by.join(", "));
            } else if !s.allowed_by.is_empty() {
                let _ = writeln!(out, "    allowed by {}", s.allowed_by.join(", "));
            } else if !s.undecided_by.is_empty() {
                let _ = writeln!(out, "    maybe allowed by {}", s.undecided_by.join(", "));
            } else {
                let _ = writeln!(out, "    no rule allows it");
            }
            if s.denied_by.is_empty() && !s.deny_undecided_by.is_empty() {
                let _ = writeln!(
                    out,
                    "    maybe denied by {}",
                    s.deny_undecided_by.join(", ")
                );
            }
        };
        side(&mut out, "egress of the source", &v.egress);
        side(&mut out, "ingress of the destination", &v.ingress);
        for n in &v.notes {
            let _ = writeln!(out, "  note: {n}");
        }
    }
    out
}

/// `kspm can-connect --format json`.
pub fn can_connect_json(answers: &[(&str, &crate::netpol::Verdict)]) -> String {
    let list: Vec<Value> = answers
        .iter()
        .map(|(c, v)| json!({"cluster": c, "verdict": v}))
        .collect();
    let mut s = serde_json::to_string_pretty(&list).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_text, Syntax};
    use crate::rbac::{Rbac, Request};

    /// A rule an aggregate holds through its aggregation is located where it is written.
    #[test]
    fn who_can_says_where_an_aggregated_rule_is_written() {
        let yaml = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: agg}\naggregationRule: {clusterRoleSelectors: [{matchLabels: {to: agg}}]}\nrules: []\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: part, labels: {to: agg}}\nrules: [{apiGroups: [''], resources: [pods], verbs: [get]}, {apiGroups: [''], resources: [secrets], verbs: [list]}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agg}\nsubjects: [{kind: User, name: alice}]\n";
        let out = parse_text(yaml, "r.yaml", Syntax::Yaml);
        let rbac = Rbac::build(&out.objects, Some(33));
        let entries = rbac.who_can(&Request::resource("list", "", "secrets", Some("n"), None));
        let json: Value = serde_json::from_str(&who_can_json(&[WhoCan {
            cluster: "c",
            entries,
            cloud: Vec::new(),
        }]))
        .expect("json");
        let alice = json[0]["subjects"]
            .as_array()
            .expect("subjects")
            .iter()
            .find(|s| s["subject"] == "User:alice")
            .expect("alice")
            .clone();
        assert_eq!(alice["role"], "ClusterRole:agg");
        assert_eq!(alice["rule_index"], 1);
        assert_eq!(alice["written_at"], "ClusterRole:part.rules[1]");
    }
}
