//! Compliance summaries: per cluster and framework, each control passed, failed or not
//! assessable (a manual control, data the snapshot lacks, or checks outside the profile).

use crate::checks::Check;
use crate::controls::Framework;
use crate::finding::Finding;
use crate::finding::Text;
use crate::frameworks;
use crate::snapshot::ClusterInfo;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Result of one control.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControlResult {
    /// Control ID.
    pub id: Text,
    /// Title, where the framework catalogue has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<Text>,
    /// The same control in other versions of the framework (`cis-1.12:5.2.9`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// `pass`, `fail` or `not_assessable`.
    pub status: Text,
    /// Checks that assess it.
    pub checks: Vec<Text>,
    /// Findings that make it fail.
    pub findings: usize,
    /// Why it is not assessable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One framework on one cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ComplianceSummary {
    /// Cluster.
    pub cluster: String,
    /// Framework ID.
    pub framework: Text,
    /// Framework title.
    pub title: Text,
    /// Controls listed.
    pub controls_total: usize,
    /// Controls passing.
    pub controls_passed: usize,
    /// Controls failing.
    pub controls_failed: usize,
    /// Controls that could not be assessed.
    pub controls_not_assessable: usize,
    /// Percentage of assessed controls passing (0–100, one decimal); `null` if none assessed.
    pub score: Option<f64>,
    /// Per control.
    pub controls: Vec<ControlResult>,
}

/// How the report words a check skipped because the collector could not list a kind it needs.
pub const COVERAGE_GAP: &str = "the collector could not list";

/// Summarises one cluster's findings per framework. `all_checks` is the whole catalogue;
/// `skipped` says, per check ID that did not run, why.
pub fn summarize(
    cluster: &ClusterInfo,
    all_checks: &[&'static Check],
    skipped: &BTreeMap<&'static str, String>,
    findings: &[&Finding],
) -> Vec<ComplianceSummary> {
    let mut per_check: BTreeMap<&str, usize> = BTreeMap::new();
    for f in findings {
        *per_check.entry(f.check.as_ref()).or_default() += 1;
    }
    let mut out = Vec::new();
    for fw in Framework::ALL {
        if !fw.applies_to(cluster.provider) {
            continue;
        }
        let mut mapped: BTreeMap<&'static str, Vec<&'static str>> = BTreeMap::new();
        for check in all_checks {
            for ctl in check.controls.iter().filter(|c| c.framework == fw) {
                mapped.entry(ctl.id).or_default().push(check.id);
            }
        }
        let defs: Vec<(&'static str, Option<&'static str>, Option<&'static str>)> =
            match frameworks::catalogue(fw) {
                Some(cat) => cat
                    .iter()
                    .map(|d| (d.id, Some(d.title), d.manual))
                    .collect(),
                None => mapped.keys().map(|id| (*id, None, None)).collect(),
            };
        if defs.is_empty() {
            continue;
        }
        let controls: Vec<ControlResult> = defs
            .into_iter()
            .map(|(id, title, manual)| {
                let checks = mapped.get(id).cloned().unwrap_or_default();
                let ran: Vec<&str> = checks
                    .iter()
                    .copied()
                    .filter(|c| !skipped.contains_key(c))
                    .collect();
                let aliases =
                    if fw == Framework::CisKubernetes && frameworks::cis_v1_12_id(id) != id {
                        vec![format!("cis-1.12:{}", frameworks::cis_v1_12_id(id))]
                    } else {
                        Vec::new()
                    };
                // Input the collector could not read leaves the control unassessed, even if
                // another of its checks ran on what was read.
                let gap = checks.iter().find_map(|c| {
                    skipped
                        .get(c)
                        .filter(|why| why.starts_with(COVERAGE_GAP))
                        .map(String::as_str)
                });
                let (status, n, reason) = if let Some(why) = gap {
                    ("not_assessable", 0, Some(why.to_string()))
                } else if ran.is_empty() {
                    let why = match manual {
                        Some(m) => m.to_string(),
                        None if checks.is_empty() => "no check covers it yet".to_string(),
                        None => {
                            let mut reasons: Vec<&str> = checks
                                .iter()
                                .filter_map(|c| skipped.get(c).map(String::as_str))
                                .collect();
                            reasons.dedup();
                            reasons.join("; ")
                        }
                    };
                    ("not_assessable", 0, Some(why))
                } else {
                    let n: usize = ran
                        .iter()
                        .map(|c| per_check.get(c).copied().unwrap_or(0))
                        .sum();
                    (if n == 0 { "pass" } else { "fail" }, n, None)
                };
                ControlResult {
                    id: id.into(),
                    title: title.map(Into::into),
                    aliases,
                    status: status.into(),
                    checks: checks.into_iter().map(Into::into).collect(),
                    findings: n,
                    reason,
                }
            })
            .collect();
        let passed = controls.iter().filter(|c| c.status == "pass").count();
        let failed = controls.iter().filter(|c| c.status == "fail").count();
        let assessed = passed + failed;
        out.push(ComplianceSummary {
            cluster: cluster.name.clone(),
            framework: fw.id().into(),
            title: fw.title().into(),
            controls_total: controls.len(),
            controls_passed: passed,
            controls_failed: failed,
            controls_not_assessable: controls.len() - assessed,
            score: (assessed > 0)
                .then(|| (passed as f64 * 1000.0 / assessed as f64).round() / 10.0),
            controls,
        });
    }
    out
}
