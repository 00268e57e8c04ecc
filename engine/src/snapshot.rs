//! The Snapshot: plain data handed from collectors to the engine. One per fleet scan.

use crate::object::Object;
use crate::parse::LoadError;
use serde::{Deserialize, Serialize};

/// Which platform runs a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Amazon EKS.
    Eks,
    /// Google GKE.
    Gke,
    /// Azure AKS.
    Aks,
    /// Anything else (self-managed, kind, k3s, manifests).
    #[default]
    Generic,
}

impl Provider {
    /// Lower-case name, as in the snapshot metadata file.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Eks => "eks",
            Provider::Gke => "gke",
            Provider::Aks => "aks",
            Provider::Generic => "generic",
        }
    }
}

/// Cluster metadata: from the snapshot's `kspm-cluster.yaml`, or derived from the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterInfo {
    /// Cluster name, unique within the fleet (defaults to the directory name).
    #[serde(default)]
    pub name: String,
    /// Platform.
    #[serde(default)]
    pub provider: Provider,
    /// Kubernetes version (`1.31`, `v1.31.2`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// Cloud region or location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// AWS account ID, GCP project ID or Azure subscription ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Kept for the metadata file's own header (`apiVersion: kspm.io/v1`).
    #[serde(default, skip_serializing)]
    pub api_version: Option<String>,
    /// Kept for the metadata file's own header (`kind: ClusterInfo`).
    #[serde(default, skip_serializing)]
    pub kind: Option<String>,
}

impl ClusterInfo {
    /// The `(major, minor)` Kubernetes version, if it parses.
    pub fn version(&self) -> Option<(u32, u32)> {
        let v = self.kubernetes_version.as_deref()?.trim_start_matches('v');
        let mut parts = v.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }
}

/// Everything collected about one cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterSnapshot {
    /// Metadata.
    pub info: ClusterInfo,
    /// Where it was read from (a path or a kube context).
    pub origin: String,
    /// Every object read, in a deterministic order.
    pub objects: Vec<Object>,
    /// What could not be read.
    pub errors: Vec<LoadError>,
    /// Kinds the collector was not allowed (or not able) to list: checks that need them are
    /// reported as not assessable rather than passing.
    pub coverage_gaps: Vec<String>,
}

/// A fleet: every cluster of one scan.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The clusters, in the order they were given.
    pub clusters: Vec<ClusterSnapshot>,
    /// Errors that belong to no cluster (a path that does not exist, an unreadable directory).
    pub errors: Vec<LoadError>,
    /// Cloud documents that belong to no cluster (a fleet's `cloud/aws/<account>/`), as
    /// synthetic objects (see [`crate::cloud::documents`]).
    pub cloud: Vec<Object>,
}
