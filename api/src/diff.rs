//! `kspm diff OLD NEW`: drift between two snapshots (findings, attack paths and posture changes)
//! or two JSON reports (findings and attack paths; reports carry no posture digest).

use kspm_engine::drift::{self, finding_key, Change, Facts};
use kspm_engine::graph::paths::AttackPath;
use kspm_engine::{assemble_fleet, evaluate_cluster_result, Finding, ScanOptions};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

/// What a comparison reads of a report: its findings and attack paths (a report file of any
/// v1 version has these; the rest is not compared).
#[derive(Debug, serde::Deserialize)]
pub struct Compared {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Attack paths.
    #[serde(default)]
    pub attack_paths: Vec<AttackPath>,
}

/// One side of a comparison.
pub struct Side {
    /// What is compared of its report.
    pub report: Compared,
    /// Posture digests per cluster (none for a report file).
    pub facts: Option<BTreeMap<String, Facts>>,
}

/// A posture change in one cluster.
#[derive(Debug, Serialize)]
pub struct ClusterChange {
    /// Cluster.
    pub cluster: String,
    /// The change.
    #[serde(flatten)]
    pub change: Change,
}

/// The drift between two sides.
#[derive(Debug, Serialize, Default)]
pub struct Drift {
    /// Findings that appeared.
    pub new_findings: Vec<Finding>,
    /// Findings that resolved.
    pub resolved_findings: Vec<Finding>,
    /// Attack paths that appeared.
    pub new_paths: Vec<AttackPath>,
    /// Attack paths that resolved.
    pub resolved_paths: Vec<AttackPath>,
    /// Posture changes (absent when either side is a report file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<ClusterChange>>,
}

impl Drift {
    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.new_findings.is_empty()
            && self.resolved_findings.is_empty()
            && self.new_paths.is_empty()
            && self.resolved_paths.is_empty()
            && self.changes.as_ref().is_none_or(Vec::is_empty)
    }
}

/// Reads a side: a kspm JSON report file, or snapshot paths to scan.
pub fn load(path: &Path, options: &ScanOptions) -> Result<Side, String> {
    if path.is_file() && path.extension().is_some_and(|e| e == "json") {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            if v.get("schema_version").and_then(Value::as_str)
                == Some(kspm_engine::report::REPORT_SCHEMA_VERSION)
            {
                let report = serde_json::from_value::<Compared>(v).map_err(|e| {
                    format!(
                        "{}: a kspm report this version cannot read: {e}",
                        path.display()
                    )
                })?;
                return Ok(Side {
                    report,
                    facts: None,
                });
            }
        }
    }
    let read = crate::pipeline::Read::paths(&[path.to_path_buf()]);
    if read.is_empty() {
        return Err(format!(
            "{}: no kspm report and no snapshot to read",
            path.display()
        ));
    }
    // As `kspm scan` evaluates it: the fleet's own vulnerability reports included.
    let options = &read.options(options);
    let evaluated = read.evaluate(options, |cluster| {
        let result = evaluate_cluster_result(cluster, options);
        let facts = Facts::collect(cluster, result.graph());
        (result, (cluster.info.name.clone(), facts))
    });
    let (results, facts): (Vec<_>, BTreeMap<_, _>) = evaluated.clusters.into_iter().unzip();
    let report = assemble_fleet(results, &evaluated.fleet_errors, &evaluated.fleet_cloud);
    Ok(Side {
        report: Compared {
            findings: report.findings,
            attack_paths: report.attack_paths,
        },
        facts: Some(facts),
    })
}

/// Compares two sides.
pub fn compare(old: &Side, new: &Side) -> Drift {
    let keys = |r: &Compared| -> HashSet<String> { r.findings.iter().map(finding_key).collect() };
    let (of, nf) = (keys(&old.report), keys(&new.report));
    // Every path counts, folded ones included: a path that becomes folded into another, or
    // stops being folded, still exists and is neither new nor resolved.
    let (old_paths, new_paths) = (
        kspm_engine::graph::paths::AttackPath::all(&old.report.attack_paths),
        kspm_engine::graph::paths::AttackPath::all(&new.report.attack_paths),
    );
    let (op, np) = (path_ids(&old_paths), path_ids(&new_paths));
    let mut d = Drift {
        new_findings: new
            .report
            .findings
            .iter()
            .filter(|f| !of.contains(&finding_key(f)))
            .cloned()
            .collect(),
        resolved_findings: old
            .report
            .findings
            .iter()
            .filter(|f| !nf.contains(&finding_key(f)))
            .cloned()
            .collect(),
        new_paths: new_paths
            .iter()
            .filter(|p| !op.contains(&p.id))
            .cloned()
            .collect(),
        resolved_paths: old_paths
            .iter()
            .filter(|p| !np.contains(&p.id))
            .cloned()
            .collect(),
        changes: None,
    };
    if let (Some(a), Some(b)) = (&old.facts, &new.facts) {
        let clusters: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        let empty = Facts::default();
        d.changes = Some(
            clusters
                .into_iter()
                .flat_map(|c| {
                    drift::diff(a.get(c).unwrap_or(&empty), b.get(c).unwrap_or(&empty))
                        .into_iter()
                        .map(move |change| ClusterChange {
                            cluster: c.clone(),
                            change,
                        })
                })
                .collect(),
        );
    }
    d
}

/// The drift as JSON, as it has always been written: the drift's fields in their order, each
/// finding's and path's keys in alphabetical order; pretty-printed with a trailing newline.
pub fn json(d: &Drift) -> Result<String, String> {
    #[derive(Serialize)]
    struct Written<'a> {
        new_findings: Vec<Value>,
        resolved_findings: Vec<Value>,
        new_paths: Vec<Value>,
        resolved_paths: Vec<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        changes: Option<&'a Vec<ClusterChange>>,
    }
    fn values<T: Serialize>(items: &[T]) -> Result<Vec<Value>, String> {
        items
            .iter()
            .map(|x| serde_json::to_value(x).map_err(|e| e.to_string()))
            .collect()
    }
    let written = Written {
        new_findings: values(&d.new_findings)?,
        resolved_findings: values(&d.resolved_findings)?,
        new_paths: values(&d.new_paths)?,
        resolved_paths: values(&d.resolved_paths)?,
        changes: d.changes.as_ref(),
    };
    let mut s = serde_json::to_string_pretty(&written).map_err(|e| e.to_string())?;
    s.push('\n');
    Ok(s)
}

/// Human-readable drift.
pub fn table(d: &Drift) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{} new finding(s), {} resolved; {} new attack path(s), {} resolved; {} posture change(s)\n",
        d.new_findings.len(),
        d.resolved_findings.len(),
        d.new_paths.len(),
        d.resolved_paths.len(),
        d.changes.as_ref().map_or(0, Vec::len)
    ));
    for (mark, fs) in [("+", &d.new_findings), ("-", &d.resolved_findings)] {
        for f in fs {
            s.push_str(&format!(
                "{mark} finding  {:<8} {} {} {}: {}\n",
                f.severity.as_str(),
                f.cluster,
                f.check,
                f.resource,
                f.message
            ));
        }
    }
    for (mark, ps) in [("+", &d.new_paths), ("-", &d.resolved_paths)] {
        for p in ps {
            s.push_str(&format!(
                "{mark} path     {:<8} {} {} → {}\n",
                p.severity.as_str(),
                p.cluster,
                p.source,
                p.target
            ));
        }
    }
    if let Some(changes) = &d.changes {
        for c in changes {
            let mark = match c.change.change.as_str() {
                "added" => "+",
                "removed" => "-",
                _ => "~",
            };
            s.push_str(&format!(
                "{mark} {:<18} {} {}\n",
                c.change.category, c.cluster, c.change.item
            ));
        }
    } else {
        s.push_str(
            "(posture changes need two snapshots; report files carry findings and paths only)\n",
        );
    }
    s
}

/// The IDs of attack paths.
pub fn path_ids(paths: &[AttackPath]) -> BTreeSet<String> {
    paths.iter().map(|p| p.id.clone()).collect()
}
