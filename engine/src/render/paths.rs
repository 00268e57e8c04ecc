//! Attack paths as text, JSON, Graphviz DOT and Mermaid.

use crate::graph::paths::{AttackPath, Step};
use serde_json::json;
use std::fmt::Write;

fn label(reference: &str) -> String {
    match reference {
        "Node:*" => "any node".to_string(),
        "AllSecrets" => "every Secret".to_string(),
        r => r.to_string(),
    }
}

/// One block per path: a header, then one line per hop with technique and evidence.
pub fn table(paths: &[&AttackPath]) -> String {
    let mut out = String::new();
    for p in paths {
        let _ = writeln!(
            out,
            "[{} {:.1}] {} → {} ({} hops, cluster {})",
            p.severity,
            p.score,
            label(&p.source),
            label(&p.target),
            p.steps.len(),
            p.cluster
        );
        for s in &p.steps {
            let _ = writeln!(
                out,
                "    {} ──{}──▶ {}",
                label(&s.from),
                s.technique,
                label(&s.to)
            );
            let _ = writeln!(out, "        {}", s.evidence);
        }
        if !p.folded.is_empty() {
            let _ = writeln!(out, "    {}", folded_note(p));
        }
    }
    if paths.is_empty() {
        out.push_str("no path\n");
    }
    out
}

/// `+N shorter entry points (…)`, `+M other network segments the same way (…)`: the paths
/// folded into `p`, by entry point.
pub fn folded_note(p: &AttackPath) -> String {
    let (siblings, shorter): (Vec<_>, Vec<_>) = p.folded.iter().partition(|f| f.via.is_some());
    let mut parts = Vec::new();
    if !shorter.is_empty() {
        let n = shorter.len();
        let noun = if n == 1 { "point" } else { "points" };
        let sources: Vec<String> = shorter.iter().map(|f| label(&f.source)).collect();
        parts.push(format!(
            "+{n} shorter entry {noun} on this path: {}",
            sources.join(", ")
        ));
    }
    if !siblings.is_empty() {
        let n = siblings.len();
        let noun = if n == 1 { "segment" } else { "segments" };
        let sources: Vec<String> = siblings.iter().map(|f| label(&f.source)).collect();
        parts.push(format!(
            "+{n} other network {noun} the same way: {}",
            sources.join(", ")
        ));
    }
    parts.join("; ")
}

/// `  (+N shorter entry points, +M other network segments)` for one-line listings.
pub fn folded_count(p: &AttackPath) -> String {
    let siblings = p.folded.iter().filter(|f| f.via.is_some()).count();
    let shorter = p.folded.len() - siblings;
    let mut parts = Vec::new();
    match shorter {
        0 => {}
        1 => parts.push("+1 shorter entry point".to_string()),
        n => parts.push(format!("+{n} shorter entry points")),
    }
    match siblings {
        0 => {}
        1 => parts.push("+1 other network segment".to_string()),
        n => parts.push(format!("+{n} other network segments")),
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("  ({})", parts.join(", "))
    }
}

/// One line per path: `entry → … → sink` (for the scan table).
pub fn one_line(p: &AttackPath) -> String {
    let hops: Vec<String> = p
        .steps
        .iter()
        .filter(|s| s.technique != "INCLUDES" && s.technique != "MEMBER_OF")
        .map(|s| format!("─{}→ {}", s.technique, label(&s.to)))
        .collect();
    format!("{} {}", label(&p.source), hops.join(" "))
}

/// `{"paths": [...]}`.
pub fn json(paths: &[&AttackPath]) -> String {
    let mut s =
        serde_json::to_string_pretty(&json!({ "paths": paths })).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// JSON for a reach question: `{from, reaches: [{node, cluster, kind, hops}]}`.
pub fn reach_json(from: &str, reached: &[crate::graph::query::Reached]) -> String {
    let mut s = serde_json::to_string_pretty(&json!({"from": from, "reaches": reached}))
        .unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// A reach answer as text: nearest first, nodes of a cluster qualified with it.
pub fn reach_table(from: &str, reached: &[crate::graph::query::Reached]) -> String {
    let mut s = format!("{from} reaches {} node(s):\n", reached.len());
    for r in reached {
        let node = match &r.cluster {
            Some(c) => format!("[{c}] {}", r.node),
            None => r.node.clone(),
        };
        s.push_str(&format!("  {:>2} hop(s)  {node}\n", r.hops));
    }
    s
}

fn edges(paths: &[&AttackPath]) -> Vec<Step> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for p in paths {
        for s in &p.steps {
            if seen.insert((s.from.clone(), s.to.clone(), s.technique.clone())) {
                out.push(s.clone());
            }
        }
    }
    out
}

fn escape_dot(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz DOT of the union of the paths.
pub fn dot(paths: &[&AttackPath]) -> String {
    let mut out = String::from(
        "digraph kspm_attack_paths {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n",
    );
    for s in edges(paths) {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\", tooltip=\"{}\"];",
            escape_dot(&label(&s.from)),
            escape_dot(&label(&s.to)),
            escape_dot(&s.technique),
            escape_dot(&s.evidence)
        );
    }
    out.push_str("}\n");
    out
}

/// Mermaid flowchart of the union of the paths.
pub fn mermaid(paths: &[&AttackPath]) -> String {
    let mut ids: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut out = String::from("flowchart LR\n");
    let mut id_of = |r: &str, out: &mut String| -> String {
        if let Some(id) = ids.get(r) {
            return id.clone();
        }
        let id = format!("n{}", ids.len());
        let _ = writeln!(out, "  {id}[\"{}\"]", label(r).replace('"', "'"));
        ids.insert(r.to_string(), id.clone());
        id
    };
    for s in edges(paths) {
        let a = id_of(&s.from, &mut out);
        let b = id_of(&s.to, &mut out);
        let _ = writeln!(out, "  {a} -->|{}| {b}", s.technique);
    }
    out
}
