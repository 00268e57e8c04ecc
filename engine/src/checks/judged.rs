//! Checks whose hits the fleet's attack graph judges: a hit names cloud or Kubernetes
//! identities (evidence `identity:<node reference>`), and whether it is a finding — and how it
//! reads — depends on what those identities reach once the clouds' IAM has joined the graph.
//! The graph's reach is the one answer to "is this identity powerful"; these checks do not ask
//! RBAC or IAM a second time.

use crate::finding::Finding;

/// The evidence path prefix that names an identity a hit is about (`identity:<node>`).
pub const IDENTITY_EVIDENCE: &str = "identity:";

/// The evidence path prefix that names a sink whose cloud holders a hit is about
/// (`held-by:ClusterAdmin`, in the hit's cluster): the judge lists the cloud principals the
/// cluster maps to it ([`Reached::held_by`]: the query module's `cloud_holders`, the answer
/// `who-can` gives).
pub const HELD_BY_EVIDENCE: &str = "held-by:";

/// What one identity a hit names reaches on the fleet's graph.
#[derive(Debug, Clone)]
pub struct Reached {
    /// The identity's node reference.
    pub identity: String,
    /// The sinks it reaches other than root on a node, named (`ClusterAdmin`, `CloudAdmin of
    /// aws:111122223333`, `AllSecrets of cluster prod`) with their fewest hops; empty: it is not
    /// powerful.
    pub sinks: Vec<(String, u32)>,
    /// Whether the internet reaches the ports of the identity's pods, when it is a workload
    /// (its `Endpoint:` node is among [`crate::graph::AttackGraph::internet_exposed`]).
    pub internet_exposed: bool,
    /// For a sink named by [`HELD_BY_EVIDENCE`]: the cloud principals that hold it, by
    /// reference (empty otherwise).
    pub held_by: Vec<crate::graph::query::CloudHolder>,
}

/// Applies a judged check's rule to one of its hits, given what each named identity reaches:
/// `None` drops the hit; otherwise the finding it makes, maybe rewritten (message, evidence,
/// severity). (The hit is copied only when it stands.)
pub fn settle(f: &Finding, reached: &[Reached]) -> Option<Finding> {
    match f.check.as_ref() {
        "KSPM-N-019" => super::network::settle_sensitive_namespace(f, reached),
        "KSPM-N-020" => super::metadata::settle_node_identity(f, reached),
        "KSPM-I-007" => super::exploited::settle_exploited_image(f, reached),
        "KSPM-A-012" => super::aks::settle_admin_kubeconfig(f, reached),
        _ => None,
    }
}

/// The sink names of a [`Reached`], without hops (for messages, which must not change when only
/// a distance does).
pub(crate) fn sink_names(r: &Reached) -> Vec<&str> {
    r.sinks.iter().map(|(name, _)| name.as_str()).collect()
}

/// Keeps the `identity:` evidence of the identities that reach something, with what they reach
/// after the hit's own words, and drops the others.
pub(crate) fn keep_powerful_evidence(f: &mut Finding, reached: &[Reached]) {
    f.evidence.retain_mut(|e| {
        let Some(identity) = e.path.strip_prefix(IDENTITY_EVIDENCE) else {
            return true;
        };
        let Some(r) = reached
            .iter()
            .find(|r| r.identity == identity && !r.sinks.is_empty())
        else {
            return false;
        };
        let said = e.value.as_str().unwrap_or_default();
        let sinks: Vec<String> = r
            .sinks
            .iter()
            .map(|(name, hops)| format!("{name} in {hops} hop(s)"))
            .collect();
        let reaches = format!("reaches {}", sinks.join(", "));
        e.value = serde_json::Value::String(if said.is_empty() {
            reaches
        } else {
            format!("{said}; {reaches}")
        });
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Evidence;
    use crate::severity::Severity;

    /// A KSPM-N-019 hit on namespace `ns`, naming one ServiceAccount.
    fn sensitive_hit(ns: &str) -> Finding {
        let mut f: Finding = serde_json::from_value(serde_json::json!({
            "check": "KSPM-N-019", "title": "t", "severity": "high", "cluster": "c",
            "resource": format!("Namespace:{ns}"), "message": "its pods are open",
            "remediation": "r",
        }))
        .expect("a finding");
        f.evidence = vec![
            Evidence::new("metadata.name", ns),
            Evidence::new(format!("{IDENTITY_EVIDENCE}ServiceAccount:{ns}/app"), ""),
        ];
        f
    }

    fn reached(ns: &str, sinks: &[(&str, u32)]) -> Vec<Reached> {
        vec![Reached {
            identity: format!("ServiceAccount:{ns}/app"),
            sinks: sinks.iter().map(|(s, h)| (s.to_string(), *h)).collect(),
            internet_exposed: false,
            held_by: Vec::new(),
        }]
    }

    /// The rule as the check states it: a namespace whose identity reaches a sink stands as
    /// found (its severity kept); kube-system stands in any case, medium when nothing reaches;
    /// any other namespace is dropped, and so is a hit of a check the graph does not judge.
    #[test]
    fn a_hit_stands_rewritten_or_is_dropped_untouched() {
        let hit = sensitive_hit("shop");
        let kept = settle(&hit, &reached("shop", &[("ClusterAdmin", 2)])).expect("reaches");
        assert_eq!(kept.severity, Severity::High);
        assert!(kept
            .message
            .contains("ServiceAccount:shop/app reaches ClusterAdmin"));
        assert!(settle(&hit, &reached("shop", &[])).is_none());

        let system = sensitive_hit("kube-system");
        let kept = settle(&system, &reached("kube-system", &[])).expect("kube-system");
        assert_eq!(kept.severity, Severity::Medium);
        let kept = settle(&system, &reached("kube-system", &[("AllSecrets", 1)])).expect("reaches");
        assert_eq!(kept.severity, Severity::High);

        // A check the graph does not judge: dropped.
        let mut other = sensitive_hit("shop");
        other.check = "KSPM-W-001".into();
        assert!(settle(&other, &reached("shop", &[("ClusterAdmin", 1)])).is_none());
    }
}
