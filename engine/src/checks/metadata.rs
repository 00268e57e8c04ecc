//! KSPM-N-020: pods that can take their node's cloud identity from the instance metadata server
//! while that identity is powerful.
//!
//! Whether a pod reaches the metadata server and what it obtains there is the attack graph's
//! one answer (`POD_IMDS_PIVOT`: the node pool's metadata settings — IMDSv1 or a hop limit of
//! 2 or more on EKS, `GCE_METADATA` mode on GKE, always on AKS — placement, host network, and the
//! pods' egress NetworkPolicies for 169.254.169.254 and the IPv6 addresses). This check turns
//! each such edge into a candidate; whether the identity is powerful is decided on the fleet's
//! graph, where the cloud's IAM joins ([`super::judged`]): only identities that reach cluster
//! admin or every Secret (of any cluster) or a cloud account's admin are reported.

use super::judged::{keep_powerful_evidence, sink_names, Reached, IDENTITY_EVIDENCE};
use super::pod_security::WORKLOAD_KINDS;
use super::{Check, Context, Evidence, Hit, Needs};
use crate::controls::{c, Framework::*};
use crate::graph::Technique;
use crate::object::Object;
use crate::options::Profile;
use crate::severity::Severity;
use petgraph::visit::EdgeRef;
use std::collections::HashMap;

/// The metadata checks.
pub static CHECKS: &[Check] = &[Check {
    id: "KSPM-N-020",
    title: "Pods can take a powerful node identity from the metadata server",
    severity: Severity::High,
    description: "The pods may connect to the cloud's instance metadata server (169.254.169.254; fd00:ec2::254 on EKS, fd20:ce::254 on GKE) — the node pool lets them (IMDSv1 or a hop limit of 2 or more on EKS, GCE_METADATA mode on GKE, always on AKS) and no egress NetworkPolicy denies it — and receive credentials of the node's cloud identity, which the fleet's IAM lets reach cluster admin, every Secret or a cloud account's admin. Any code running in the pods holds that identity.",
    remediation: "Deny egress to the metadata addresses for these pods (an egress NetworkPolicy whose ipBlock excepts 169.254.169.254/32 and the IPv6 address), close the node side (EKS: IMDSv2 with hop limit 1; GKE: Workload Identity with the GKE metadata server; AKS: no pod needs the kubelet identity — give workloads their own with Workload ID), and take from the node identity what nodes do not need.",
    kinds: WORKLOAD_KINDS,
    // No CIS recommendation names pod egress to the metadata server: the node-side settings are
    // KSPM-E-009 and KSPM-G-004's.
    controls: &[
        c(NsaCisa, "N14"),
        c(NsaCisa, "N19"),
        c(Soc2, "CC6.1"),
        c(Soc2, "CC6.6"),
        c(PciDss, "1.3.1"),
        c(Iso27001, "A.8.22"),
        c(Nist800190, "4.3.3"),
        c(Nist800190, "4.5.4"),
    ],
    profile: Profile::Security,
    needs: Needs::AttackGraph,
    run: node_identity_from_metadata,
}];

fn node_identity_from_metadata<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let Some(g) = ctx.graph else {
        return Vec::new();
    };
    let owners: HashMap<String, &'a Object> = ctx
        .inv
        .templates()
        .iter()
        .map(|t| (t.owner.node_ref(), t.owner))
        .collect();
    let mut hits = Vec::new();
    for e in g.graph.edge_references() {
        if e.weight().technique != Technique::POD_IMDS_PIVOT {
            continue;
        }
        let (workload, identity) = (&g.graph[e.source()], &g.graph[e.target()]);
        let Some(object) = owners.get(&workload.reference) else {
            continue;
        };
        hits.push(Hit {
            severity: None,
            object,
            message: format!(
                "pods may take node identity {} from the metadata server: {}",
                identity.reference,
                e.weight().evidence
            ),
            evidence: vec![Evidence::new(
                format!("{IDENTITY_EVIDENCE}{}", identity.reference),
                e.weight().evidence.clone(),
            )],
        });
    }
    hits.sort_by(|a, b| {
        (a.object.node_ref(), &a.evidence[0].path).cmp(&(b.object.node_ref(), &b.evidence[0].path))
    });
    hits
}

/// KSPM-N-020's rule on the fleet's graph: reported when the identity reaches something, which
/// the message names (the hops are in the evidence).
pub(crate) fn settle_node_identity(
    f: &crate::finding::Finding,
    reached: &[Reached],
) -> Option<crate::finding::Finding> {
    let r = reached.iter().find(|r| !r.sinks.is_empty())?;
    let mut f = f.clone();
    f.message = format!("{}; it reaches {}", f.message, sink_names(r).join(", "));
    keep_powerful_evidence(&mut f, reached);
    Some(f)
}

#[cfg(test)]
pub(crate) mod cases;
