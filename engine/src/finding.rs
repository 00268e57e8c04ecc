//! A finding: one failed check on one resource, with the evidence that made it fail and the
//! framework controls it maps to — what checks produce and every output (report, SARIF,
//! compliance, exceptions, store) reads.

use crate::controls::Control;
use crate::graph::paths::BlastRadius;
use crate::object::Source;
use crate::severity::Severity;
use serde::Serialize;
use serde_json::Value;

/// The field that made a check fail, and what it held.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Field path within the resource, e.g. `spec.template.spec.containers[0].securityContext.privileged`.
    pub path: String,
    /// The observed value.
    pub value: Value,
}

impl Evidence {
    /// Evidence for `path` holding `value`.
    pub fn new(path: impl Into<String>, value: impl Into<Value>) -> Self {
        Evidence {
            path: path.into(),
            value: value.into(),
        }
    }
}

/// A control reference as it appears in a finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ControlRef {
    /// Framework ID (`cis-kubernetes`, `nsa-cisa`, `pss`, `soc2`, ...).
    pub framework: &'static str,
    /// Control ID within the framework.
    pub id: &'static str,
}

impl From<&Control> for ControlRef {
    fn from(c: &Control) -> Self {
        ControlRef {
            framework: c.framework.id(),
            id: c.id,
        }
    }
}

/// One failed check on one resource.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable check ID.
    pub check: &'static str,
    /// Check title.
    pub title: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Cluster name.
    pub cluster: String,
    /// Node reference: `Kind:namespace/name` or `Kind:name`.
    pub resource: String,
    /// Namespace, for namespaced resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// What is wrong, specifically.
    pub message: String,
    /// What to do.
    pub remediation: &'static str,
    /// The fields that made it fail.
    pub evidence: Vec<Evidence>,
    /// Framework controls.
    pub controls: Vec<ControlRef>,
    /// Where the resource was read from.
    pub source: Source,
    /// Whether the resource lies on a reported attack path.
    pub on_attack_path: bool,
    /// What the resource can reach in the attack graph (sinks and hops), when it is in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blast_radius: Option<BlastRadius>,
}
