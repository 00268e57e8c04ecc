//! Maintenance checks: removed API versions, end-of-life components, references to objects
//! that do not exist.

use super::pod_security::WORKLOAD_KINDS;
use super::{Check, Context, Evidence, Hit, Needs};
use crate::controls::{c, Framework::*};
use crate::options::Profile;
use crate::severity::Severity;
use serde_json::Value;
use std::collections::HashSet;

/// (apiVersion, kind or `*`, removed in 1.N, replacement).
const REMOVED_APIS: &[(&str, &str, u32, &str)] = &[
    ("extensions/v1beta1", "Ingress", 22, "networking.k8s.io/v1"),
    (
        "extensions/v1beta1",
        "NetworkPolicy",
        16,
        "networking.k8s.io/v1",
    ),
    (
        "extensions/v1beta1",
        "PodSecurityPolicy",
        16,
        "none (Pod Security Admission)",
    ),
    ("extensions/v1beta1", "*", 16, "apps/v1"),
    ("apps/v1beta1", "*", 16, "apps/v1"),
    ("apps/v1beta2", "*", 16, "apps/v1"),
    ("networking.k8s.io/v1beta1", "*", 22, "networking.k8s.io/v1"),
    (
        "rbac.authorization.k8s.io/v1beta1",
        "*",
        22,
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "rbac.authorization.k8s.io/v1alpha1",
        "*",
        22,
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "*",
        22,
        "admissionregistration.k8s.io/v1",
    ),
    (
        "apiextensions.k8s.io/v1beta1",
        "*",
        22,
        "apiextensions.k8s.io/v1",
    ),
    (
        "apiregistration.k8s.io/v1beta1",
        "*",
        22,
        "apiregistration.k8s.io/v1",
    ),
    (
        "certificates.k8s.io/v1beta1",
        "*",
        22,
        "certificates.k8s.io/v1",
    ),
    (
        "coordination.k8s.io/v1beta1",
        "*",
        22,
        "coordination.k8s.io/v1",
    ),
    ("scheduling.k8s.io/v1beta1", "*", 22, "scheduling.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "*", 22, "storage.k8s.io/v1"),
    ("batch/v1beta1", "CronJob", 25, "batch/v1"),
    (
        "policy/v1beta1",
        "PodSecurityPolicy",
        25,
        "none (Pod Security Admission)",
    ),
    ("policy/v1beta1", "PodDisruptionBudget", 25, "policy/v1"),
    ("discovery.k8s.io/v1beta1", "*", 25, "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "*", 25, "events.k8s.io/v1"),
    ("node.k8s.io/v1beta1", "*", 25, "node.k8s.io/v1"),
    ("autoscaling/v2beta1", "*", 25, "autoscaling/v2"),
    ("autoscaling/v2beta2", "*", 26, "autoscaling/v2"),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "*",
        26,
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "*",
        29,
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "*",
        32,
        "flowcontrol.apiserver.k8s.io/v1",
    ),
];

fn removed_apis<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .objects()
        .iter()
        .copied()
        .filter_map(|o| {
            let (_, _, removed, replacement) = REMOVED_APIS
                .iter()
                .find(|(v, k, _, _)| *v == o.api_version && (*k == "*" || *k == o.kind))?;
            Some(Hit {
                severity: None,
                object: o,
                message: format!(
                    "{} {} was removed in Kubernetes 1.{removed}; use {replacement}",
                    o.api_version, o.kind
                ),
                evidence: vec![Evidence::new("apiVersion", o.api_version.clone())],
            })
        })
        .collect()
}

fn tiller<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for ctr in t.containers() {
            let image = ctr.image();
            if image.contains("kubernetes-helm/tiller")
                || image.contains("helm/tiller")
                || image.ends_with("/tiller")
                || image.contains("/tiller:")
            {
                hits.push(Hit {
                    severity: None,
                    object: t.owner,
                    message: format!("Helm v2 Tiller is deployed (image {image}): an unauthenticated gRPC endpoint with cluster-admin-like power"),
                    evidence: vec![Evidence::new(t.container_path(&ctr, "image"), image)],
                });
            }
        }
    }
    hits
}

/// KSPM-M-003 (hygiene) judges the namespaces not read live, from the snapshot's templates;
/// in a namespace whose running pods the input holds, KSPM-N-012 judges instead.
fn dangling_services<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    super::network::services_selecting_nothing(ctx, false)
}

/// KSPM-M-004 (hygiene) judges the namespaces not read live (a manifest set may leave the
/// Service out); in a namespace read live, KSPM-N-013 judges instead.
fn dangling_ingresses<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    super::network::ingresses_to_missing_services(ctx, false)
}

fn duplicate_env<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for ctr in t.containers() {
            let mut seen = HashSet::new();
            for (i, e) in ctr.env() {
                let name = e.get("name").and_then(Value::as_str).unwrap_or("");
                if !seen.insert(name) {
                    hits.push(Hit {
                        severity: None,
                        object: t.owner,
                        message: format!(
                            "container `{}` sets {name} twice; the last one wins silently",
                            ctr.name
                        ),
                        evidence: vec![Evidence::new(
                            t.container_path(&ctr, &format!("env[{i}].name")),
                            name,
                        )],
                    });
                }
            }
        }
    }
    hits
}

fn vulnerable_ingress_nginx<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for c in crate::image::ingress_nginx_controllers(ctx.inv) {
        let Some(v) = c.version else {
            continue;
        };
        // CVE-2025-1097/1098/1974/24514: fixed in 1.11.5 and 1.12.1.
        let vulnerable = v < (1, 11, 5) || (v.0, v.1) == (1, 12) && v.2 < 1;
        if vulnerable {
            hits.push(Hit {
                severity: None,
                object: c.template.owner,
                message: format!("ingress-nginx controller {} is vulnerable to IngressNightmare (CVE-2025-1974 and related): any pod that reaches its admission webhook can run code in the controller, which reads every Secret", c.tag.unwrap_or("")),
                evidence: vec![Evidence::new(c.template.container_path(&c.container, "image"), c.image)],
            });
        }
    }
    hits
}

/// KSPM-M-007: the community ingress-nginx controller, retired by Kubernetes SIG Network and
/// the Security Response Committee (best-effort maintenance ended in March 2026).
fn retired_ingress_nginx<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    crate::image::ingress_nginx_controllers(ctx.inv)
        .into_iter()
        .map(|c| Hit {
            severity: None,
            object: c.template.owner,
            message: format!(
                "container `{}` runs the community ingress-nginx controller {}: the project was retired in March 2026 and gets no releases or security fixes",
                c.container.name,
                c.tag.unwrap_or("(untagged)")
            ),
            evidence: vec![Evidence::new(
                c.template.container_path(&c.container, "image"),
                c.image,
            )],
        })
        .collect()
}

/// The maintenance checks.
pub static CHECKS: &[Check] = &[
    Check {
        id: "KSPM-M-001",
        title: "Object uses a removed API version",
        severity: Severity::Low,
        description: "API versions removed from Kubernetes cannot be applied to current clusters; manifests still using them are not being maintained, and upgrades break on them.",
        remediation: "Migrate the manifest to the stable API version (`kubectl convert` or by hand).",
        kinds: &["*"],
        controls: &[c(NsaCisa, "N25"), c(Soc2, "CC8.1"), c(Iso27001, "A.8.8"), c(Nist800190, "4.3.4")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: removed_apis,
    },
    Check {
        id: "KSPM-M-002",
        title: "Helm v2 Tiller deployed",
        severity: Severity::High,
        description: "Tiller (Helm v2, end of life since 2020) exposes an unauthenticated gRPC API in the cluster and usually runs with cluster-admin.",
        remediation: "Migrate releases to Helm 3 and delete Tiller.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N25"), c(Iso27001, "A.8.8"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: tiller,
    },
    Check {
        id: "KSPM-M-003",
        title: "Service selects no workload",
        severity: Severity::Info,
        description: "A Service whose selector matches no workload of the snapshot is dead configuration (or a typo that silently breaks traffic). Judged in namespaces the input does not hold running pods of (manifests); where it does, KSPM-N-012 reports it.",
        remediation: "Fix the selector or delete the Service.",
        kinds: &["Service"],
        controls: &[c(Iso27001, "A.8.9")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: dangling_services,
    },
    Check {
        id: "KSPM-M-004",
        title: "Ingress routes to a missing Service",
        severity: Severity::Info,
        description: "A backend Service that does not exist in the snapshot means the route is broken — and whoever later creates a Service with that name receives the traffic. Judged in namespaces the input does not hold running pods of (manifests); where it does, KSPM-N-013 reports it.",
        remediation: "Fix the backend name or delete the rule.",
        kinds: &["Ingress"],
        controls: &[c(Iso27001, "A.8.9")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: dangling_ingresses,
    },
    Check {
        id: "KSPM-M-005",
        title: "Environment variable set twice",
        severity: Severity::Info,
        description: "Duplicate env names are accepted by the API server; the last value wins, which hides configuration mistakes.",
        remediation: "Remove the duplicate.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(Iso27001, "A.8.9")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: duplicate_env,
    },
    Check {
        id: "KSPM-M-006",
        title: "ingress-nginx controller vulnerable to IngressNightmare",
        severity: Severity::Critical,
        description: "ingress-nginx before 1.11.5 and 1.12.1 lets anyone who can reach its admission webhook from inside the cluster inject configuration and run code in the controller (CVE-2025-1974, with CVE-2025-1097, -1098 and -24514); the controller's ServiceAccount reads every Secret.",
        remediation: "Upgrade the controller to 1.11.5, 1.12.1 or later; until then, restrict access to the admission webhook with a NetworkPolicy or disable it.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N25"), c(Soc2, "CC7.1"), c(PciDss, "6.3.3"), c(Iso27001, "A.8.8"), c(Nist800190, "4.1.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: vulnerable_ingress_nginx,
    },
    Check {
        id: "KSPM-M-007",
        title: "Retired ingress-nginx controller",
        severity: Severity::Medium,
        description: "Kubernetes retired the community ingress-nginx controller: best-effort maintenance ended in March 2026, and no release, bug fix or security fix has shipped since. An internet-facing proxy that reads every TLS Secret and no longer gets patches is a growing risk.",
        remediation: "Migrate to a maintained Gateway API implementation or another maintained ingress controller; until then, keep the controller at its last release, disable snippets and restrict its admission webhook.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N25"), c(Soc2, "CC7.1"), c(PciDss, "6.3.3"), c(Iso27001, "A.8.8"), c(Nist800190, "4.1.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: retired_ingress_nginx,
    },
];

#[cfg(test)]
pub(crate) mod cases;
