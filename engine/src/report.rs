//! The Report: what a scan found, in the shape the JSON schema (`docs/report.schema.json`)
//! publishes — types only, written by [`crate::evaluate`] and read back (from a stored scan, a
//! report file or the service's API) by everything that consumes one.

use crate::compliance::ComplianceSummary;
use crate::finding::Text;
pub use crate::finding::{ControlRef, Finding};
use crate::graph::fixplan::FixPlan;
use crate::parse::LoadError;
use crate::severity::Severity;
use crate::snapshot::Provider;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the report format.
pub const REPORT_SCHEMA_VERSION: &str = "kspm.io/report/v1";

/// Per-cluster summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterSummary {
    /// Name.
    pub name: String,
    /// Platform.
    pub provider: Provider,
    /// Kubernetes version, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// Cloud region or location, when known (`kspm-cluster.yaml`, discovery).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// AWS account, GCP project or Azure subscription, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Where it was read from.
    pub origin: String,
    /// Objects read.
    pub objects: usize,
    /// Objects per kind.
    pub kinds: BTreeMap<String, usize>,
    /// Kinds that were read and kept but that no check evaluates yet (CRDs, unknown kinds).
    pub unevaluated_kinds: BTreeMap<String, usize>,
    /// Findings per severity.
    pub findings_by_severity: BTreeMap<Severity, usize>,
    /// Number of files or documents that could not be read.
    pub errors: usize,
}

/// An input that could not be read or assessed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportError {
    /// Cluster it belongs to, when it belongs to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// File.
    pub file: String,
    /// Line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// Message.
    pub message: String,
}

impl ReportError {
    /// The error of an input the loader could not read.
    pub(crate) fn from_load(cluster: Option<&str>, e: &LoadError) -> Self {
        ReportError {
            cluster: cluster.map(str::to_string),
            file: e.file.clone(),
            line: e.line,
            column: e.column,
            message: e.message.clone(),
        }
    }
}

pub use crate::graph::paths::AttackPath;

/// Totals over the whole report.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Summary {
    /// Clusters scanned.
    pub clusters: usize,
    /// Objects read.
    pub objects: usize,
    /// Findings.
    pub findings: usize,
    /// Findings per severity.
    pub by_severity: BTreeMap<Severity, usize>,
    /// Inputs that could not be read.
    pub errors: usize,
    /// Findings suppressed by exceptions or `kspm.io/ignore` annotations.
    #[serde(default)]
    pub suppressed: usize,
    /// Attack paths found (the report lists the highest-scoring ones, see `attack_paths`).
    pub attack_paths: usize,
    /// Nodes and edges of the attack graph.
    #[serde(default)]
    pub graph: GraphSize,
}

/// Size of the attack graph.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct GraphSize {
    /// Nodes.
    pub nodes: usize,
    /// Edges.
    pub edges: usize,
}

/// How many attack paths a report lists at most (the summary counts them all).
pub const MAX_REPORTED_PATHS: usize = 500;

/// A finding that an exception or annotation suppressed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Suppressed {
    /// Check ID.
    pub check: Text,
    /// Cluster.
    pub cluster: String,
    /// Resource.
    pub resource: String,
    /// Why: the exception's reason, or the annotation.
    pub reason: String,
}

/// The result of a scan. Read back, the compliance, error and suppression lists (and the totals
/// of suppressions and the graph) default when absent; the rest, the fix plan included, is
/// required, so a report that is not one is refused, not read as empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Report format version.
    pub schema_version: Text,
    /// Tool name and version.
    pub tool: Tool,
    /// Totals.
    pub summary: Summary,
    /// Clusters.
    pub clusters: Vec<ClusterSummary>,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Attack paths, highest blast radius first.
    pub attack_paths: Vec<AttackPath>,
    /// The fewest, cheapest changes that cut the high and critical paths, proven by a new
    /// search ([`crate::graph::fixplan`]).
    pub fix_plan: FixPlan,
    /// Compliance per cluster and framework.
    #[serde(default)]
    pub compliance: Vec<ComplianceSummary>,
    /// What could not be read or assessed.
    #[serde(default)]
    pub errors: Vec<ReportError>,
    /// Findings suppressed by exceptions.
    #[serde(default)]
    pub suppressed: Vec<Suppressed>,
    /// Where the objects on the reported attack paths were read from — (cluster, node
    /// reference) → file and line — for renderers that point into files (SARIF code flows).
    /// Not part of the JSON report.
    #[serde(skip)]
    pub locations: BTreeMap<(String, String), crate::object::Source>,
}

/// Tool identification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    /// `kspm`.
    pub name: Text,
    /// Crate version.
    pub version: Text,
}

impl Report {
    /// Whether any finding is at or above `threshold`.
    pub fn has_finding_at_or_above(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }
}
