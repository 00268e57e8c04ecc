//! Compliance summaries: per cluster and framework, which mapped controls pass and which fail.
//!
//! A control is assessed by the checks that map to it; it fails when any of those checks has a
//! finding in the cluster. Controls no check maps to are not listed (they are not assessed).

use crate::checks::Check;
use crate::controls::Framework;
use crate::report::Finding;
use crate::snapshot::ClusterSnapshot;
use serde::Serialize;
use std::collections::BTreeMap;

/// Result of one control.
#[derive(Debug, Clone, Serialize)]
pub struct ControlResult {
    /// Control ID.
    pub id: &'static str,
    /// `pass` or `fail`.
    pub status: &'static str,
    /// Checks that assess it.
    pub checks: Vec<&'static str>,
    /// Findings that make it fail.
    pub findings: usize,
}

/// One framework on one cluster.
#[derive(Debug, Clone, Serialize)]
pub struct ComplianceSummary {
    /// Cluster.
    pub cluster: String,
    /// Framework ID.
    pub framework: &'static str,
    /// Framework title.
    pub title: &'static str,
    /// Controls assessed.
    pub controls_total: usize,
    /// Controls passing.
    pub controls_passed: usize,
    /// Percentage of assessed controls passing (0–100, one decimal).
    pub score: f64,
    /// Per control.
    pub controls: Vec<ControlResult>,
}

/// Summarises one cluster's findings per framework.
pub fn summarize(
    cluster: &ClusterSnapshot,
    catalogue: &[&'static Check],
    findings: &[Finding],
) -> Vec<ComplianceSummary> {
    let mut out = Vec::new();
    for fw in Framework::ALL {
        if !fw.applies_to(cluster.info.provider) {
            continue;
        }
        let mut controls: BTreeMap<&'static str, (Vec<&'static str>, usize)> = BTreeMap::new();
        for check in catalogue {
            for ctl in check.controls.iter().filter(|c| c.framework == fw) {
                let entry = controls.entry(ctl.id).or_default();
                entry.0.push(check.id);
                entry.1 += findings.iter().filter(|f| f.check == check.id).count();
            }
        }
        if controls.is_empty() {
            continue;
        }
        let results: Vec<ControlResult> = controls
            .into_iter()
            .map(|(id, (checks, n))| ControlResult {
                id,
                status: if n == 0 { "pass" } else { "fail" },
                checks,
                findings: n,
            })
            .collect();
        let passed = results.iter().filter(|r| r.findings == 0).count();
        let total = results.len();
        out.push(ComplianceSummary {
            cluster: cluster.info.name.clone(),
            framework: fw.id(),
            title: fw.title(),
            controls_total: total,
            controls_passed: passed,
            score: (passed as f64 * 1000.0 / total as f64).round() / 10.0,
            controls: results,
        });
    }
    out
}
