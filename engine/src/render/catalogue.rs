//! The check catalogue as text: `kspm checks list` (table, JSON) and `docs/checks.md` (Markdown),
//! all from the checks' own metadata so they cannot drift apart.

use crate::checks::Check;
use serde_json::json;
use std::fmt::Write;

fn controls(c: &Check) -> Vec<String> {
    c.controls
        .iter()
        .map(|ctl| format!("{} {}", ctl.framework.id(), ctl.id))
        .collect()
}

/// One line per check.
pub fn table(checks: &[&Check]) -> String {
    let w = checks.iter().map(|c| c.title.len()).max().unwrap_or(5);
    let mut out = format!("{:12}  {:8}  {:w$}  KINDS\n", "ID", "SEVERITY", "TITLE");
    for c in checks {
        let _ = writeln!(
            out,
            "{:12}  {:8}  {:w$}  {}",
            c.id,
            c.severity.as_str(),
            c.title,
            c.kinds.join(",")
        );
    }
    out
}

/// JSON array of every check's metadata.
pub fn json(checks: &[&Check]) -> String {
    let arr: Vec<_> = checks
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "title": c.title,
                "severity": c.severity,
                "description": c.description,
                "remediation": c.remediation,
                "kinds": c.kinds,
                "controls": c.controls.iter().map(|ctl| json!({"framework": ctl.framework.id(), "id": ctl.id})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&arr).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

/// The Markdown page committed as `docs/checks.md`.
pub fn markdown(checks: &[&Check]) -> String {
    let mut out = String::from(
        "# Check catalogue\n\nGenerated from the checks' metadata by `kspm checks list --format markdown`; a test fails when this file is stale.\n\n| ID | Severity | Title | Kinds |\n|---|---|---|---|\n",
    );
    for c in checks {
        let _ = writeln!(
            out,
            "| [{id}](#{anchor}) | {} | {} | {} |",
            c.severity,
            c.title,
            c.kinds.join(", "),
            id = c.id,
            anchor = c.id.to_ascii_lowercase()
        );
    }
    out.push_str("\n## Framework mappings\n\nEvery control a check maps to, per framework (generated from the same metadata).\n");
    for fw in crate::controls::Framework::ALL {
        let mut rows: std::collections::BTreeMap<&str, Vec<&str>> =
            std::collections::BTreeMap::new();
        for c in checks {
            for ctl in c.controls.iter().filter(|ctl| ctl.framework == fw) {
                rows.entry(ctl.id).or_default().push(c.id);
            }
        }
        let _ = write!(
            out,
            "\n### {} (`{}`)\n\n| Control | Checks |\n|---|---|\n",
            fw.title(),
            fw.id()
        );
        for (id, ids) in rows {
            let _ = writeln!(out, "| {id} | {} |", ids.join(", "));
        }
    }
    out.push_str("\n## Checks\n");
    for c in checks {
        let _ = write!(
            out,
            "\n### {}\n\n**{}** — severity {}\n\n{}\n\n**Remediation:** {}\n\n**Applies to:** {}\n\n**Controls:** {}\n",
            c.id,
            c.title,
            c.severity,
            c.description,
            c.remediation,
            c.kinds.join(", "),
            controls(c).join(", ")
        );
    }
    out
}
