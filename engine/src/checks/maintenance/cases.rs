//! The maintenance checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use serde_json::json;

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        case(
            "KSPM-M-001",
            vec![
                json!({"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "shop"}}),
            ],
            vec![
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "shop"}}),
            ],
        ),
        case(
            "KSPM-M-002",
            vec![ctr(
                json!({"image": "gcr.io/kubernetes-helm/tiller:v2.16.1"}),
            )],
            vec![ctr(json!({"image": "alpine/helm:3.14.0"}))],
        ),
        case(
            "KSPM-M-003",
            vec![
                service(json!({"selector": {"app": "nope"}}), json!({})),
                deployment(json!({"app": "web"})),
            ],
            vec![
                service(json!({"selector": {"app": "web"}}), json!({})),
                deployment(json!({"app": "web"})),
            ],
        ),
        case(
            "KSPM-M-004",
            vec![ingress(
                json!({"rules": [{"http": {"paths": [{"path": "/", "backend": {"service": {"name": "gone", "port": {"number": 80}}}}]}}]}),
                json!({}),
            )],
            vec![
                service(json!({"selector": {"app": "web"}}), json!({})),
                ingress(
                    json!({"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}),
                    json!({}),
                ),
            ],
        ),
        case(
            "KSPM-M-005",
            vec![ctr(
                json!({"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]}),
            )],
            vec![ctr(
                json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}),
            )],
        ),
        case(
            "KSPM-M-006",
            vec![ctr(
                json!({"image": "registry.k8s.io/ingress-nginx/controller:v1.11.3@sha256:abc"}),
            )],
            vec![
                ctr(json!({"image": "registry.k8s.io/ingress-nginx/controller:v1.12.1"})),
                ctr(json!({"image": "registry.k8s.io/ingress-nginx/controller:v1.11.5"})),
            ],
        ),
        case(
            "KSPM-M-007",
            vec![ctr(
                json!({"image": "registry.k8s.io/ingress-nginx/controller:v1.14.3@sha256:abc"}),
            )],
            // F5's NGINX Ingress Controller is another, maintained project.
            vec![ctr(json!({"image": "nginx/nginx-ingress:5.2.1"}))],
        ),
    ]
}
