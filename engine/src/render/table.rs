//! Human output: findings grouped by severity, then errors and a summary line.

use crate::report::Report;
use crate::severity::Severity;
use std::fmt::Write;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "\x1b[1;31m",
        Severity::High => "\x1b[31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low => "\x1b[34m",
        Severity::Info => "\x1b[2m",
    }
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// Every escape sequence the table's colours use: the only ones [`super::terminal_safe`]
/// lets through.
pub(crate) const PALETTE: &[&str] = &[
    RESET,
    BOLD,
    DIM,
    "\x1b[1;31m",
    "\x1b[31m",
    "\x1b[33m",
    "\x1b[34m",
];

/// Renders the table.
pub fn render(report: &Report, color: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    let multi_cluster = report.clusters.len() > 1;
    if !report.attack_paths.is_empty() {
        let shown = report.attack_paths.len().min(10);
        let heading = format!(
            "ATTACK PATHS ({} found, top {shown})",
            report.summary.attack_paths
        );
        let _ = writeln!(out, "{}", p.wrap(BOLD, &heading));
        for path in report.attack_paths.iter().take(shown) {
            let sev = format!("{:<8}", path.severity.as_str().to_uppercase());
            let cluster = if multi_cluster {
                format!("{}  ", path.cluster)
            } else {
                String::new()
            };
            let folded = super::paths::folded_count(path);
            let _ = writeln!(
                out,
                "  {} {:>5.1}  {cluster}{}{folded}",
                p.wrap(severity_color(path.severity), &sev),
                path.score,
                super::paths::one_line(path)
            );
        }
        let _ = writeln!(
            out,
            "  (kspm query paths PATH --from REF --to REF explains any of them hop by hop)\n"
        );
    }
    out.push_str(&super::fixes::section(&report.fix_plan, 5));
    for sev in Severity::DESCENDING {
        let group: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.severity == sev)
            .collect();
        if group.is_empty() {
            continue;
        }
        let heading = format!("{} ({})", sev.as_str().to_uppercase(), group.len());
        let _ = writeln!(out, "{}", p.wrap(severity_color(sev), &heading));
        let rows: Vec<[String; 3]> = group
            .iter()
            .map(|f| {
                let resource = if multi_cluster {
                    format!("{}  {}", f.cluster, f.resource)
                } else {
                    f.resource.clone()
                };
                [resource, f.check.to_string(), f.message.clone()]
            })
            .collect();
        let w0 = rows
            .iter()
            .map(|r| r[0].chars().count())
            .max()
            .unwrap_or(0)
            .max(8);
        let w1 = rows
            .iter()
            .map(|r| r[1].chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        let header = format!("  {:w0$}  {:w1$}  MESSAGE", "RESOURCE", "CHECK");
        let _ = writeln!(out, "{}", p.wrap(DIM, &header));
        for r in rows {
            let _ = writeln!(out, "  {:w0$}  {:w1$}  {}", r[0], r[1], r[2]);
        }
        out.push('\n');
    }
    if report.findings.is_empty() {
        let _ = writeln!(out, "No findings.\n");
    }
    if !report.errors.is_empty() {
        let heading = format!("NOT ASSESSED ({})", report.errors.len());
        let _ = writeln!(out, "{}", p.wrap(BOLD, &heading));
        for e in &report.errors {
            let mut loc = e.file.clone();
            if let Some(l) = e.line {
                let _ = write!(loc, ":{l}");
            }
            let _ = writeln!(out, "  {loc}: {}", e.message);
        }
        out.push('\n');
    }
    let s = &report.summary;
    let counts: Vec<String> = Severity::DESCENDING
        .iter()
        .filter_map(|sev| s.by_severity.get(sev).map(|n| format!("{n} {sev}")))
        .collect();
    let _ = writeln!(
        out,
        "{} cluster{}, {} objects, {} finding{}{}{}",
        s.clusters,
        plural(s.clusters),
        s.objects,
        s.findings,
        plural(s.findings),
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        },
        if s.errors > 0 {
            format!(", {} input error{}", s.errors, plural(s.errors))
        } else {
            String::new()
        }
    );
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
