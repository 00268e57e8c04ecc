//! The fix plan as text: a summary section for the scan's table, and the whole plan (every
//! change with its patch command, the paths it cuts and what it takes away) for `kspm fixes`.

use crate::graph::fixplan::FixPlan;
use std::fmt::Write;

/// One line: how many fixes cut how many paths, and how many remain and why.
pub fn headline(plan: &FixPlan) -> String {
    let budget = plan
        .remaining
        .iter()
        .filter(|r| r.reason.starts_with("beyond the budget"))
        .count();
    let surfaced = plan.remaining.iter().filter(|r| r.surfaced).count();
    let mut why = Vec::new();
    if budget > 0 {
        why.push(format!("{budget} beyond the budget"));
    }
    let other = plan.remaining.len() - budget;
    if other > 0 {
        why.push(format!("{other} with no hop kspm can cut"));
    }
    if surfaced > 0 {
        why.push(format!(
            "{surfaced} of them surfaced only once cheaper routes were cut"
        ));
    }
    format!(
        "fix {} object{} (cost {}, {}) to cut {} of {} {}-or-worse path{}; {} remain{}",
        plan.fixes.len(),
        plural(plan.fixes.len()),
        plan.cost,
        match plan.method.as_str() {
            "exact" => "optimal".to_string(),
            "greedy" => format!("greedy, optimum ≥ {}", plan.lower_bound),
            m => m.to_string(),
        },
        plan.paths_cut,
        plan.paths,
        plan.severity.as_str(),
        plural(plan.paths),
        plan.remaining.len(),
        if why.is_empty() {
            String::new()
        } else {
            format!(" ({})", why.join("; "))
        }
    )
}

/// The summary section of the scan's table: the headline and the first fixes.
pub fn section(plan: &FixPlan, limit: usize) -> String {
    let mut out = String::new();
    if plan.fixes.is_empty() {
        return out;
    }
    let _ = writeln!(out, "FIX PLAN: {}", headline(plan));
    for f in plan.fixes.iter().take(limit) {
        let first = f.changes.first().map(String::as_str).unwrap_or_default();
        let more = match f.changes.len() {
            0 | 1 => String::new(),
            n => format!(" (+{} more change{})", n - 1, plural(n - 1)),
        };
        let _ = writeln!(
            out,
            "  {}  {}  {}: {first}{more}  (cuts {})",
            f.id,
            f.object.cluster,
            f.object.reference(),
            f.breaks.len()
        );
    }
    if plan.fixes.len() > limit {
        let _ = writeln!(out, "  … {} more", plan.fixes.len() - limit);
    }
    let _ = writeln!(
        out,
        "  (kspm fixes PATH shows each fix's command, the paths it cuts and what it takes away)\n"
    );
    out
}

/// The whole plan.
pub fn table(plan: &FixPlan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "FIX PLAN: {}\n", headline(plan));
    for (i, f) in plan.fixes.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. {}  [{}] {}  cost {}",
            i + 1,
            f.id,
            f.object.cluster,
            f.object.reference(),
            f.cost
        );
        for c in &f.changes {
            let _ = writeln!(out, "   change: {c}");
        }
        let _ = writeln!(out, "   run:    {}", f.command);
        let _ = writeln!(
            out,
            "   cuts:   {} path{}: {}",
            f.breaks.len(),
            plural(f.breaks.len()),
            f.breaks.join(", ")
        );
        if !f.resolves.is_empty() {
            let _ = writeln!(
                out,
                "   resolves: {} finding{}",
                f.resolves.len(),
                plural(f.resolves.len())
            );
        }
        for l in &f.loses {
            let _ = writeln!(out, "   loses:  {l}");
        }
        out.push('\n');
    }
    if !plan.remaining.is_empty() {
        let _ = writeln!(out, "REMAINING ({})", plan.remaining.len());
        for r in &plan.remaining {
            let _ = writeln!(
                out,
                "  {} {:<8} {}  {} → {}: {}",
                r.id,
                r.severity.as_str().to_uppercase(),
                r.cluster,
                r.source,
                r.target,
                r.reason
            );
        }
        out.push('\n');
    }
    if plan.clusters.len() > 1 {
        let _ = writeln!(out, "PER CLUSTER OR CLOUD ACCOUNT");
        for (c, p) in &plan.clusters {
            let _ = writeln!(
                out,
                "  {c}: {} fix{}, {} path{} cut, {} remaining",
                p.fixes,
                if p.fixes == 1 { "" } else { "es" },
                p.paths_cut,
                plural(p.paths_cut),
                p.remaining
            );
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
