//! KSPM-N-016: administrative web interfaces (dashboards, notebooks, CD and observability UIs)
//! exposed outside the cluster — by a LoadBalancer or NodePort Service, or by a route (Ingress,
//! Gateway API route, Istio VirtualService) of their namespace. Recognised by the image they
//! run, never by name. Whether such an entry is reachable from the internet is the attack
//! graph's answer (a path from `Internet`); this check says the UI is published at all.

use super::pod_security::WORKLOAD_KINDS;
use super::{Check, Context, Evidence, Hit, Needs};
use crate::controls::{c, Framework::*};
use crate::inventory::PodTemplate;
use crate::options::Profile;
use crate::pointer::Pointer as _;
use crate::selector::LabelSelector;
use crate::severity::Severity;
use serde_json::Value;

/// Admin UIs by image (repository path fragment), with the words their command or args must
/// contain when the image also runs other components (Argo CD's image runs every component).
const ADMIN_UIS: &[(&str, &str, &[&str])] = &[
    ("kubernetesui/dashboard", "Kubernetes Dashboard", &[]),
    ("headlamp-k8s/headlamp", "Headlamp", &[]),
    ("grafana/grafana", "Grafana", &[]),
    ("prometheus/prometheus", "Prometheus", &[]),
    ("prom/prometheus", "Prometheus", &[]),
    ("prometheus/alertmanager", "Alertmanager", &[]),
    ("prom/alertmanager", "Alertmanager", &[]),
    ("argoproj/argocd", "Argo CD", &["argocd-server"]),
    ("argoproj/argocli", "Argo Workflows", &["server"]),
    ("kubeflownotebookswg/centraldashboard", "Kubeflow", &[]),
    ("kubeflow/centraldashboard", "Kubeflow", &[]),
    ("jupyterhub/k8s-hub", "JupyterHub", &[]),
    ("jupyter/", "Jupyter", &[]),
    ("kibana/kibana", "Kibana", &[]),
    ("elastic/kibana", "Kibana", &[]),
    (
        "opensearchproject/opensearch-dashboards",
        "OpenSearch Dashboards",
        &[],
    ),
    ("kiali/kiali", "Kiali", &[]),
    ("jaegertracing/all-in-one", "Jaeger", &[]),
    ("jaegertracing/jaeger-query", "Jaeger", &[]),
    ("longhornio/longhorn-ui", "Longhorn UI", &[]),
    ("rancher/rancher", "Rancher", &[]),
    ("weaveworks/scope", "Weave Scope", &[]),
    ("apache/airflow", "Airflow", &["webserver", "api-server"]),
];

/// The admin UI a template runs, if any.
fn admin_ui(t: &PodTemplate<'_>) -> Option<&'static str> {
    t.containers().find_map(|c| {
        let image = Some(c.image()).filter(|i| !i.is_empty())?;
        let repo = crate::image::parse_image(image).name;
        let words = crate::inventory::command_words(c.container);
        // The repository, not a substring of it: `grafana/grafana-agent` is not Grafana. An
        // entry ending in `/` names an organisation (every Jupyter image).
        let matches = |fragment: &str| {
            if fragment.ends_with('/') {
                repo.starts_with(fragment) || repo.contains(&format!("/{fragment}"))
            } else {
                repo == fragment || repo.ends_with(&format!("/{fragment}"))
            }
        };
        ADMIN_UIS.iter().find_map(|(fragment, name, needs)| {
            (matches(fragment)
                && (needs.is_empty() || words.iter().any(|w| needs.iter().any(|n| w.contains(n)))))
            .then_some(*name)
        })
    })
}

fn exposed_admin_uis<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let provider = ctx.inv.cluster.info.provider;
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        let Some(ui) = admin_ui(&t) else { continue };
        let ns = t.owner.effective_namespace().unwrap_or("default");
        let labels = LabelSelector::labels_of(t.metadata);
        let services: Vec<&crate::object::Object> = ctx
            .inv
            .of_kind("Service")
            .iter()
            .filter(|s| s.effective_namespace().unwrap_or("default") == ns)
            .filter(|s| {
                LabelSelector::from_map(s.body.at("/spec/selector"))
                    .is_some_and(|sel| sel.matches(&labels))
            })
            .copied()
            .collect();
        let mut ways: Vec<(Severity, String, Evidence)> = Vec::new();
        for s in &services {
            let ty = s
                .body
                .at("/spec/type")
                .and_then(Value::as_str)
                .unwrap_or("ClusterIP");
            if let Some(why) = crate::exposure::internet_facing(s, provider) {
                ways.push((
                    Severity::High,
                    format!("internet-facing LoadBalancer {} ({why})", s.node_ref()),
                    Evidence::new(format!("{}: spec.type", s.node_ref()), ty),
                ));
            } else if ty == "LoadBalancer" || ty == "NodePort" {
                ways.push((
                    Severity::Medium,
                    format!("{ty} Service {}", s.node_ref()),
                    Evidence::new(format!("{}: spec.type", s.node_ref()), ty),
                ));
            }
        }
        for kind in crate::exposure::ROUTE_KINDS {
            for r in ctx.inv.of_kind(kind) {
                if r.effective_namespace().unwrap_or("default") != ns {
                    continue;
                }
                for (field, bns, svc) in crate::exposure::route_backends(r) {
                    if bns == ns && services.iter().any(|s| s.name == svc) {
                        ways.push((
                            Severity::Medium,
                            format!("{} routing to Service {ns}/{svc}", r.node_ref()),
                            Evidence::new(format!("{}: {field}", r.node_ref()), svc),
                        ));
                    }
                }
            }
        }
        if ways.is_empty() {
            continue;
        }
        let severity = ways
            .iter()
            .map(|(s, _, _)| *s)
            .max()
            .unwrap_or(Severity::Medium);
        let via: Vec<&str> = ways.iter().map(|(_, w, _)| w.as_str()).collect();
        hits.push(Hit {
            severity: Some(severity),
            object: t.owner,
            message: format!(
                "{ui} is published outside the cluster through {}",
                via.join("; ")
            ),
            evidence: ways.into_iter().map(|(_, _, e)| e).collect(),
        });
    }
    hits
}

/// The admin-UI exposure check.
pub static CHECKS: &[Check] = &[Check {
    id: "KSPM-N-016",
    title: "Admin interface published outside the cluster",
    severity: Severity::High,
    description: "Dashboards, notebooks and CD or observability UIs (Kubernetes Dashboard, Argo CD, Grafana, Prometheus, Kubeflow, Jupyter, Kibana, ...) act with powerful ServiceAccounts or run code by design; published through a LoadBalancer, a NodePort or a route, they are a favourite first foothold. High when an internet-facing LoadBalancer serves it, medium through a NodePort, a route or an internal load balancer (the attack paths show whether those face the internet).",
    remediation: "Keep admin UIs on ClusterIP Services reached through kubectl port-forward or an authenticating proxy with SSO; if they must be published, restrict source ranges and require authentication in front of them.",
    kinds: WORKLOAD_KINDS,
    controls: &[c(NsaCisa, "N25"), c(NsaCisa, "N7"), c(Soc2, "CC6.6"), c(PciDss, "1.4.1"), c(Iso27001, "A.8.20"), c(Nist800190, "4.3.3")],
    profile: Profile::Security,
    needs: Needs::Nothing,
    run: exposed_admin_uis,
}];

#[cfg(test)]
pub(crate) mod cases;
