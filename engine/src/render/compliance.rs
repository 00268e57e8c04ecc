//! `kspm compliance`: one framework's controls per cluster.

use crate::compliance::ComplianceSummary;
use std::fmt::Write;

/// A table per cluster: control, status, findings or reason, title.
pub fn table(summaries: &[&ComplianceSummary]) -> String {
    let mut out = String::new();
    for s in summaries {
        let score = s
            .score
            .map(|v| format!("{v:.1}%"))
            .unwrap_or_else(|| "n/a".into());
        let _ = writeln!(
            out,
            "{} — {} on {}: {score} ({} passed, {} failed, {} not assessable)",
            s.framework,
            s.title,
            s.cluster,
            s.controls_passed,
            s.controls_failed,
            s.controls_not_assessable
        );
        let w = s
            .controls
            .iter()
            .map(|c| c.id.len())
            .max()
            .unwrap_or(2)
            .max(2);
        for c in &s.controls {
            let status = match c.status.as_ref() {
                "pass" => "PASS",
                "fail" => "FAIL",
                _ => "N/A ",
            };
            let detail = match (&c.reason, c.findings) {
                (Some(r), _) => format!("({r})"),
                (None, 0) => String::new(),
                (None, n) => format!(
                    "{n} finding{} [{}]",
                    if n == 1 { "" } else { "s" },
                    c.checks.join(", ")
                ),
            };
            let _ = writeln!(
                out,
                "  {:w$}  {status}  {}  {detail}",
                c.id,
                c.title.as_deref().unwrap_or("")
            );
        }
        out.push('\n');
    }
    out
}

/// JSON array of the summaries.
pub fn json(summaries: &[&ComplianceSummary]) -> String {
    let mut s = serde_json::to_string_pretty(summaries).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}
