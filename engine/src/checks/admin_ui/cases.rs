//! The admin interface checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use crate::options::ScanOptions;
use crate::snapshot::Provider;
use serde_json::{json, Value};

fn admin_ui_deployment(image: &str, args: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ui", "namespace": "shop"},
        "spec": {"template": {"metadata": {"labels": {"app": "ui"}}, "spec": {"containers": [{"name": "ui", "image": image, "args": args}]}}}})
}

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    vec![case(
        "KSPM-N-016",
        vec![
            admin_ui_deployment("grafana/grafana:11.3.0", json!([])),
            service(
                json!({"type": "NodePort", "selector": {"app": "ui"}, "ports": [{"port": 3000}]}),
                json!({}),
            ),
        ],
        vec![
            admin_ui_deployment("grafana/grafana:11.3.0", json!([])),
            service(
                json!({"selector": {"app": "ui"}, "ports": [{"port": 3000}]}),
                json!({}),
            ),
            // Another workload published, not the UI.
            ingress(
                json!({"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}),
                json!({}),
            ),
        ],
    )]
}

/// Admin UIs by the image they run, published by Service type or by a route of their namespace,
/// with the severity that way deserves.
#[test]
fn admin_interfaces_published_outside_the_cluster() {
    let opts = ScanOptions::default();
    let count = |objs: &[Value]| hits("KSPM-N-016", objs, Provider::Generic, &opts).len();
    let clusterip = service(
        json!({"selector": {"app": "ui"}, "ports": [{"port": 80}]}),
        json!({}),
    );
    let argocd = admin_ui_deployment("quay.io/argoproj/argocd:v2.13.0", json!(["argocd-server"]));
    let repo_server = admin_ui_deployment(
        "quay.io/argoproj/argocd:v2.13.0",
        json!(["argocd-repo-server"]),
    );
    let route = ingress(
        json!({"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "s", "port": {"number": 80}}}}]}}]}),
        json!({}),
    );
    assert_eq!(
        count(&[argocd.clone(), clusterip.clone(), route.clone()]),
        1
    );
    assert_eq!(
        count(&[repo_server, clusterip.clone(), route.clone()]),
        0,
        "Argo CD's image, not its UI"
    );
    let httproute = json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r", "namespace": "shop"},
        "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "s", "port": 80}]}]}});
    assert_eq!(count(&[argocd.clone(), clusterip.clone(), httproute]), 1);
    // Severity: an internet-facing LoadBalancer is high, a route medium.
    let lb = service(
        json!({"type": "LoadBalancer", "selector": {"app": "ui"}, "ports": [{"port": 80}]}),
        json!({}),
    );
    let severity = |objs: &[Value]| {
        evaluate_case(objs, Provider::Generic, &ScanOptions::default())
            .findings
            .iter()
            .find(|f| f.check == "KSPM-N-016")
            .map(|f| f.severity)
    };
    assert_eq!(
        severity(&[argocd.clone(), lb]),
        Some(crate::severity::Severity::High)
    );
    assert_eq!(
        severity(&[argocd, clusterip, route]),
        Some(crate::severity::Severity::Medium)
    );
    // Not an admin UI: nothing (Grafana's agent is not Grafana).
    for image in [
        "nginx:1.27",
        "grafana/grafana-agent:v0.43.0",
        "grafana/grafana-image-renderer:3.11.0",
    ] {
        let other = admin_ui_deployment(image, json!([]));
        let lb = service(
            json!({"type": "LoadBalancer", "selector": {"app": "ui"}, "ports": [{"port": 80}]}),
            json!({}),
        );
        assert_eq!(count(&[other, lb]), 0, "{image}");
    }
    assert_eq!(
        count(&[
            admin_ui_deployment("docker.io/grafana/grafana:11.3.0", json!([])),
            service(
                json!({"type": "NodePort", "selector": {"app": "ui"}, "ports": [{"port": 80}]}),
                json!({})
            ),
        ]),
        1
    );
    let web = admin_ui_deployment("nginx:1.27", json!([]));
    let lb = service(
        json!({"type": "LoadBalancer", "selector": {"app": "ui"}, "ports": [{"port": 80}]}),
        json!({}),
    );
    assert_eq!(count(&[web, lb]), 0);
}
