//! Resource and availability checks: limits, requests, probes, replicas, namespace quotas.

use super::pod_security::{SYSTEM_NAMESPACES, WORKLOAD_KINDS};
use super::Needs;
use super::{Check, Context, Evidence, Hit};
use crate::controls::{c, Framework::*};
use crate::options::Profile;
use crate::pointer::Pointer as _;
use crate::severity::Severity;
use serde_json::Value;

fn missing_field<'a>(
    ctx: &Context<'a>,
    pointer: &str,
    rel: &str,
    what: &str,
    skip_init: bool,
) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for c in t.containers() {
            if c.list == "ephemeralContainers" || (skip_init && c.list == "initContainers") {
                continue;
            }
            let v = c.container.at(pointer);
            if v.is_none_or(|v| v.is_null() || v.as_str() == Some("")) {
                hits.push(Hit {
                    severity: None,
                    object: t.owner,
                    message: format!("container `{}` has no {what}", c.name),
                    evidence: vec![Evidence::new(t.container_path(&c, rel), Value::Null)],
                });
            }
        }
    }
    hits
}

fn memory_limits<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    missing_field(
        ctx,
        "/resources/limits/memory",
        "resources.limits.memory",
        "memory limit",
        false,
    )
}

fn cpu_limits<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    missing_field(
        ctx,
        "/resources/limits/cpu",
        "resources.limits.cpu",
        "CPU limit",
        false,
    )
}

fn requests<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = missing_field(
        ctx,
        "/resources/requests/memory",
        "resources.requests.memory",
        "memory request",
        false,
    );
    hits.extend(missing_field(
        ctx,
        "/resources/requests/cpu",
        "resources.requests.cpu",
        "CPU request",
        false,
    ));
    hits
}

fn has_probe_support(kind: &str) -> bool {
    // Jobs run to completion: liveness/readiness probes are not expected there.
    !matches!(kind, "Job" | "CronJob")
}

fn liveness<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    missing_field(
        ctx,
        "/livenessProbe",
        "livenessProbe",
        "liveness probe",
        true,
    )
    .into_iter()
    .filter(|h| has_probe_support(&h.object.kind))
    .collect()
}

fn readiness<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    missing_field(
        ctx,
        "/readinessProbe",
        "readinessProbe",
        "readiness probe",
        true,
    )
    .into_iter()
    .filter(|h| has_probe_support(&h.object.kind))
    .collect()
}

fn single_replica<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for kind in ["Deployment", "StatefulSet"] {
        for o in ctx.inv.of_kind(kind) {
            let replicas = o
                .body
                .at("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if replicas == 1 {
                hits.push(Hit {
                    severity: None,
                    object: o,
                    message: format!("{kind} runs a single replica"),
                    evidence: vec![Evidence::new(
                        "spec.replicas",
                        o.body.at("/spec/replicas").cloned().unwrap_or(Value::Null),
                    )],
                });
            }
        }
    }
    hits
}

fn namespaces_without<'a>(ctx: &Context<'a>, kind: &str) -> Vec<Hit<'a>> {
    let covered: std::collections::HashSet<&str> = ctx
        .inv
        .of_kind(kind)
        .iter()
        .filter_map(|o| o.effective_namespace())
        .collect();
    let with_workloads: std::collections::HashSet<&str> = ctx
        .inv
        .pod_templates()
        .iter()
        .filter_map(|t| t.owner.effective_namespace())
        .collect();
    ctx.inv
        .of_kind("Namespace")
        .iter()
        .filter(|ns| !SYSTEM_NAMESPACES.contains(&ns.name.as_str()))
        .filter(|ns| {
            with_workloads.contains(&ns.name.as_str()) && !covered.contains(&ns.name.as_str())
        })
        .map(|ns| Hit {
            severity: None,
            object: ns,
            message: format!("namespace runs workloads but has no {kind}"),
            evidence: vec![Evidence::new(
                "metadata.name",
                Value::String(ns.name.clone()),
            )],
        })
        .collect()
}

fn no_limit_range<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    namespaces_without(ctx, "LimitRange")
}

fn no_resource_quota<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    namespaces_without(ctx, "ResourceQuota")
}

/// The resource checks.
pub static CHECKS: &[Check] = &[
    Check {
        id: "KSPM-Q-001",
        title: "Container has no memory limit",
        severity: Severity::Low,
        description: "Without a memory limit one container can exhaust the node's memory and get its neighbours evicted (a denial of service from inside the cluster).",
        remediation: "Set `resources.limits.memory` (or a namespace LimitRange default).",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N15"), c(Soc2, "A1.1"), c(Iso27001, "A.8.6"), c(Nist800190, "4.4.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: memory_limits,
    },
    Check {
        id: "KSPM-Q-002",
        title: "Container has no CPU limit",
        severity: Severity::Low,
        description: "Without a CPU limit a container can starve its neighbours on the node.",
        remediation: "Set `resources.limits.cpu` (or a namespace LimitRange default).",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N15"), c(Soc2, "A1.1"), c(Iso27001, "A.8.6"), c(Nist800190, "4.4.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: cpu_limits,
    },
    Check {
        id: "KSPM-Q-003",
        title: "Container has no resource requests",
        severity: Severity::Info,
        description: "Without requests the scheduler cannot place the pod sensibly and it is evicted first under pressure.",
        remediation: "Set `resources.requests.cpu` and `.memory`.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(Soc2, "A1.1"), c(Iso27001, "A.8.6")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: requests,
    },
    Check {
        id: "KSPM-Q-004",
        title: "Container has no liveness probe",
        severity: Severity::Info,
        description: "Without a liveness probe a hung process keeps running and serving errors.",
        remediation: "Add a `livenessProbe`.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(Soc2, "A1.1")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: liveness,
    },
    Check {
        id: "KSPM-Q-005",
        title: "Container has no readiness probe",
        severity: Severity::Info,
        description: "Without a readiness probe traffic reaches the container before it can serve it.",
        remediation: "Add a `readinessProbe`.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(Soc2, "A1.1")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: readiness,
    },
    Check {
        id: "KSPM-Q-006",
        title: "Workload runs a single replica",
        severity: Severity::Info,
        description: "One replica means every rollout, node drain or crash is an outage.",
        remediation: "Run at least two replicas with a PodDisruptionBudget.",
        kinds: &["Deployment", "StatefulSet"],
        controls: &[c(Soc2, "A1.2")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: single_replica,
    },
    Check {
        id: "KSPM-Q-007",
        title: "Namespace has no LimitRange",
        severity: Severity::Low,
        description: "A LimitRange gives containers default and maximum resources; without one, any container may be unbounded.",
        remediation: "Add a LimitRange with default requests and limits to the namespace.",
        kinds: &["Namespace"],
        controls: &[c(NsaCisa, "N15"), c(Soc2, "A1.1"), c(Iso27001, "A.8.6")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: no_limit_range,
    },
    Check {
        id: "KSPM-Q-008",
        title: "Namespace has no ResourceQuota",
        severity: Severity::Low,
        description: "A ResourceQuota caps what a namespace can consume in total; without one, a runaway or compromised workload can take the cluster's capacity.",
        remediation: "Add a ResourceQuota to the namespace.",
        kinds: &["Namespace"],
        controls: &[c(NsaCisa, "N15"), c(Soc2, "A1.1"), c(Iso27001, "A.8.6")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: no_resource_quota,
    },
    Check {
        id: "KSPM-Q-009",
        title: "Bare pod without a controller",
        severity: Severity::Info,
        description: "A pod no controller owns is not recreated when its node fails, and is often a leftover debugging session.",
        remediation: "Run it from a Deployment, StatefulSet or Job, or delete it.",
        kinds: &["Pod"],
        controls: &[c(Soc2, "A1.2")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: naked_pods,
    },
    Check {
        id: "KSPM-Q-010",
        title: "Replicated workload without a PodDisruptionBudget",
        severity: Severity::Info,
        description: "Without a PodDisruptionBudget a node drain may evict every replica at once.",
        remediation: "Add a PodDisruptionBudget selecting the workload's pods.",
        kinds: &["Deployment", "StatefulSet"],
        controls: &[c(Soc2, "A1.2")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: no_pdb,
    },
    Check {
        id: "KSPM-Q-011",
        title: "Container without any securityContext",
        severity: Severity::Info,
        description: "Neither the pod nor the container sets a securityContext: everything is left to the image and the runtime's defaults.",
        remediation: "Set at least runAsNonRoot, allowPrivilegeEscalation: false, capabilities.drop: [ALL], readOnlyRootFilesystem and a seccomp profile.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(CisKubernetes, "5.7.3"), c(Iso27001, "A.8.9")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: no_security_context,
    },
];

fn naked_pods<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .of_kind("Pod")
        .iter()
        .filter(|p| !p.owners.iter().any(|o| o.controller))
        // Static (mirror) pods are owned by the kubelet.
        .filter(|p| !p.annotations.contains_key("kubernetes.io/config.mirror"))
        .map(|p| Hit {
            severity: None,
            object: p,
            message: "pod has no controller".into(),
            evidence: vec![Evidence::new("metadata.ownerReferences", Value::Null)],
        })
        .collect()
}

fn no_pdb<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let pdbs: Vec<(Option<&str>, crate::selector::LabelSelector)> = ctx
        .inv
        .of_kind("PodDisruptionBudget")
        .iter()
        .map(|p| {
            (
                p.effective_namespace(),
                crate::selector::LabelSelector::from_value(p.body.at("/spec/selector")),
            )
        })
        .collect();
    let mut hits = Vec::new();
    for kind in ["Deployment", "StatefulSet"] {
        for o in ctx.inv.of_kind(kind) {
            let replicas = o
                .body
                .at("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if replicas < 2 {
                continue;
            }
            let labels =
                crate::selector::LabelSelector::labels_of(o.body.at("/spec/template/metadata"));
            if !pdbs
                .iter()
                .any(|(ns, sel)| *ns == o.effective_namespace() && sel.matches(&labels))
            {
                hits.push(Hit {
                    severity: None,
                    object: o,
                    message: format!("{kind} with {replicas} replicas has no PodDisruptionBudget"),
                    evidence: vec![Evidence::new("spec.replicas", replicas)],
                });
            }
        }
    }
    hits
}

fn no_security_context<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        let pod_sc = t
            .spec
            .get("securityContext")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty());
        if pod_sc {
            continue;
        }
        for c in t.containers() {
            let ctr_sc = c
                .container
                .get("securityContext")
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty());
            if !ctr_sc && c.list != "ephemeralContainers" {
                hits.push(Hit {
                    severity: None,
                    object: t.owner,
                    message: format!("container `{}` and its pod set no securityContext", c.name),
                    evidence: vec![Evidence::new(
                        t.container_path(&c, "securityContext"),
                        Value::Null,
                    )],
                });
            }
        }
    }
    hits
}

#[cfg(test)]
pub(crate) mod cases;
