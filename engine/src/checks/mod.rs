//! The check catalogue. A check is metadata plus a function over a cluster's [`Inventory`];
//! one family of checks per module, with its tests beside it.

// Before the families: its `document_run!` is theirs.
#[macro_use]
mod document;
pub mod admin_ui;
pub mod aks;
pub mod control_plane;
pub mod eks;
pub mod exploited;
pub mod gke;
pub mod images;
pub mod judged;
pub mod kubelet;
pub mod maintenance;
pub mod metadata;
pub mod network;
pub mod pod_security;
pub mod rbac;
pub mod resources;
pub mod service_accounts;
pub mod workload;

use crate::controls::Control;
use crate::inventory::Inventory;
use crate::object::Object;
use crate::options::{Profile, ScanOptions};
use crate::rbac::Rbac;
use crate::severity::Severity;

pub use crate::finding::Evidence;
pub use judged::{settle, Reached, HELD_BY_EVIDENCE, IDENTITY_EVIDENCE};

/// One failure reported by a check function, before the engine attaches metadata.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    /// The resource that failed.
    pub object: &'a Object,
    /// What is wrong, specifically (names the container, the subject, ...).
    pub message: String,
    /// The fields that made it fail.
    pub evidence: Vec<Evidence>,
    /// The finding's severity when the facts of this instance make it differ from the check's
    /// (`None`: the check's).
    pub severity: Option<Severity>,
}

/// What a check function sees: the cluster's inventory, its RBAC state, its attack graph (when
/// the caller built one) and the scan options.
pub struct Context<'a> {
    /// Indexed objects.
    pub inv: &'a Inventory<'a>,
    /// Effective RBAC.
    pub rbac: &'a Rbac,
    /// The attack graph of these objects, before the fleet's cloud IAM joins it.
    pub graph: Option<&'a crate::graph::AttackGraph>,
    /// Scan options (site policy such as allowed registries).
    pub options: &'a ScanOptions,
    /// The objects whose hits are reported (a namespace part of the incremental engine reads
    /// the cluster-scoped objects too, and reports only its own): a check may leave the others
    /// out ([`Context::reports_on`]).
    pub reports: &'a (dyn Fn(&Object) -> bool + Sync),
}

impl Context<'_> {
    /// Whether hits on `o` are reported: a check need not work out those that are not.
    pub fn reports_on(&self, o: &Object) -> bool {
        (self.reports)(o)
    }
}

/// [`Context::reports`] when every object's hits are reported.
pub fn every_object(_: &Object) -> bool {
    true
}

/// Input a check needs beyond the cluster's objects; without it the check cannot assess
/// anything (its controls are "not assessable", not "passed").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing beyond the objects.
    Nothing,
    /// Kubelet `configz` output (`kubelet/<node>.json` in the snapshot).
    KubeletConfig,
    /// A configured registry allow-list (`--allowed-registry`).
    AllowedRegistries,
    /// A configured registry block-list (`--blocked-registry`).
    BlockedRegistries,
    /// The flags of a self-managed control-plane component (its static pod, or the kubeadm
    /// ClusterConfiguration).
    ControlPlane(control_plane::Component),
    /// `aws eks describe-cluster` output (the cluster's `cloud/` directory).
    EksCluster,
    /// `aws eks describe-nodegroup` output.
    EksNodegroups,
    /// `gcloud container clusters describe` output.
    GkeCluster,
    /// `az aks show` output.
    AksCluster,
    /// `az aks show` output and the attack graph: the hits are judged on the fleet's graph,
    /// where the subscriptions' role assignments join (as [`Needs::AttackGraph`]'s).
    AksClusterOnTheGraph,
    /// The cluster's attack graph: the check reads edges the graph decided, and its hits are
    /// candidates that the fleet's graph judges (see [`Check::judged_on_the_fleet_graph`]).
    AttackGraph,
    /// Image vulnerability reports that say which vulnerabilities are known to be exploited
    /// (`--vulns` with `--kev`, or Grype reports that carry CISA's KEV), and the attack graph
    /// (the hits are judged on the fleet's graph, as [`Needs::AttackGraph`]'s).
    KnownExploitedVulnerabilities,
}

impl Needs {
    /// Whether the check reads the cluster's attack graph ([`Context::graph`]). Only these see
    /// it: a whole scan runs the others while the graph is being built. (They are also the
    /// checks whose hits the fleet's graph judges.)
    pub fn reads_the_graph(self) -> bool {
        matches!(
            self,
            Needs::AttackGraph | Needs::KnownExploitedVulnerabilities | Needs::AksClusterOnTheGraph
        )
    }

    /// Why the check cannot run on this input, if it cannot.
    pub fn missing(self, ctx: &Context<'_>) -> Option<&'static str> {
        match self {
            Needs::Nothing => None,
            Needs::KubeletConfig => ctx
                .inv
                .of_kind("KubeletConfiguration")
                .is_empty()
                .then_some("the snapshot carries no kubelet configz output (kubelet/<node>.json)"),
            Needs::EksCluster => ctx
                .inv
                .of_kind(crate::cloud::documents::EKS_CLUSTER)
                .is_empty()
                .then_some("the snapshot carries no EKS DescribeCluster output (cloud/describe-cluster.json)"),
            Needs::EksNodegroups => ctx
                .inv
                .of_kind(crate::cloud::documents::EKS_NODEGROUP)
                .is_empty()
                .then_some("the snapshot carries no EKS DescribeNodegroup output (cloud/nodegroups/*.json)"),
            Needs::GkeCluster => ctx
                .inv
                .of_kind(crate::cloud::documents::GKE_CLUSTER)
                .is_empty()
                .then_some("the snapshot carries no GKE cluster description (cloud/cluster.json: gcloud container clusters describe)"),
            Needs::AksCluster => ctx
                .inv
                .of_kind(crate::cloud::documents::AKS_CLUSTER)
                .is_empty()
                .then_some("the snapshot carries no AKS cluster description (cloud/cluster.json: az aks show)"),
            Needs::AllowedRegistries => ctx
                .options
                .allowed_registries
                .is_empty()
                .then_some("no allowed registries configured (--allowed-registry)"),
            Needs::BlockedRegistries => ctx
                .options
                .blocked_registries
                .is_empty()
                .then_some("no blocked registries configured (--blocked-registry)"),
            Needs::ControlPlane(component) => control_plane::missing(ctx, component),
            Needs::AksClusterOnTheGraph => Needs::AksCluster
                .missing(ctx)
                .or_else(|| Needs::AttackGraph.missing(ctx)),
            Needs::AttackGraph => ctx
                .graph
                .is_none()
                .then_some("this evaluation builds no attack graph"),
            Needs::KnownExploitedVulnerabilities => {
                let v = &ctx.options.vulnerabilities;
                if v.is_empty() {
                    Some("no image vulnerability reports given (--vulns: Trivy, Grype or CycloneDX JSON)")
                } else if !v.knows_exploitation() {
                    Some("no known-exploited data: give CISA's KEV catalogue (--kev) or Grype reports that carry it")
                } else {
                    Needs::AttackGraph.missing(ctx)
                }
            }
        }
    }
}

/// A posture check: metadata and the function that evaluates it.
#[derive(Debug)]
pub struct Check {
    /// Stable ID, e.g. `KSPM-W-001`.
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Why it matters.
    pub description: &'static str,
    /// What to do.
    pub remediation: &'static str,
    /// Kinds it applies to.
    pub kinds: &'static [&'static str],
    /// Framework controls it maps to.
    pub controls: &'static [Control],
    /// The profile it belongs to (`Security` checks run by default).
    pub profile: Profile,
    /// Input it needs beyond the objects.
    pub needs: Needs,
    /// The evaluation.
    pub run: for<'a> fn(&Context<'a>) -> Vec<Hit<'a>>,
}

impl Check {
    /// Whether the check's hits are candidates that only the fleet's attack graph can confirm
    /// (they name a cloud identity whose power the fleet's IAM decides).
    pub fn judged_on_the_fleet_graph(&self) -> bool {
        self.needs.reads_the_graph()
    }
}

/// Every check, in catalogue order (by ID).
pub fn catalogue() -> Vec<&'static Check> {
    let mut all: Vec<&'static Check> = workload::CHECKS
        .iter()
        .chain(pod_security::CHECKS.iter())
        .chain(images::CHECKS.iter())
        .chain(exploited::CHECKS.iter())
        .chain(kubelet::CHECKS.iter())
        .chain(eks::CHECKS.iter())
        .chain(gke::CHECKS.iter())
        .chain(aks::CHECKS.iter())
        .chain(maintenance::CHECKS.iter())
        .chain(metadata::CHECKS.iter())
        .chain(resources::CHECKS.iter())
        .chain(service_accounts::CHECKS.iter())
        .chain(network::CHECKS.iter())
        .chain(rbac::CHECKS.iter())
        .chain(control_plane::CHECKS.iter())
        .chain(admin_ui::CHECKS.iter())
        .collect();
    all.sort_by_key(|c| c.id);
    all
}

/// Looks a check up by ID.
pub fn by_id(id: &str) -> Option<&'static Check> {
    catalogue().into_iter().find(|c| c.id == id)
}

#[cfg(test)]
pub(crate) mod cases;
#[cfg(test)]
mod evidence_paths;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_metadata_complete() {
        let mut seen = HashSet::new();
        for c in catalogue() {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert!(c.id.starts_with("KSPM-"), "{}", c.id);
            assert!(!c.title.is_empty() && !c.description.is_empty() && !c.remediation.is_empty());
            assert!(!c.kinds.is_empty() && !c.controls.is_empty(), "{}", c.id);
        }
    }
}
