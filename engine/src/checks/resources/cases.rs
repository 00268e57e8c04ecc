//! The resource checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use serde_json::json;

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    let shop_ns = ns("shop", json!({}));
    vec![
        case(
            "KSPM-Q-001",
            vec![ctr(json!({}))],
            vec![ctr(json!({"resources": {"limits": {"memory": "128Mi"}}}))],
        ),
        case(
            "KSPM-Q-002",
            vec![ctr(json!({}))],
            vec![ctr(json!({"resources": {"limits": {"cpu": "500m"}}}))],
        ),
        case(
            "KSPM-Q-003",
            vec![ctr(json!({"resources": {"requests": {"cpu": "1"}}}))],
            vec![ctr(
                json!({"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}),
            )],
        ),
        case(
            "KSPM-Q-004",
            vec![ctr(json!({}))],
            vec![ctr(json!({"livenessProbe": {"tcpSocket": {"port": 80}}}))],
        ),
        case(
            "KSPM-Q-005",
            vec![ctr(json!({}))],
            vec![ctr(json!({"readinessProbe": {"tcpSocket": {"port": 80}}}))],
        ),
        case(
            "KSPM-Q-006",
            vec![
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "shop"}, "spec": {"template": {"spec": {"containers": []}}}}),
            ],
            vec![deployment(json!({}))],
        ),
        case(
            "KSPM-Q-007",
            vec![shop_ns.clone(), pod(json!({"containers": []}))],
            vec![
                shop_ns.clone(),
                pod(json!({"containers": []})),
                json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l", "namespace": "shop"}}),
            ],
        ),
        case(
            "KSPM-Q-008",
            vec![shop_ns.clone(), pod(json!({"containers": []}))],
            vec![
                shop_ns.clone(),
                pod(json!({"containers": []})),
                json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "shop"}}),
            ],
        ),
        case(
            "KSPM-Q-009",
            vec![pod(json!({"containers": []}))],
            vec![
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop", "ownerReferences": [{"kind": "ReplicaSet", "name": "r", "uid": "u", "controller": true}]}, "spec": {"containers": []}}),
            ],
        ),
        case(
            "KSPM-Q-010",
            vec![deployment(json!({"app": "web"}))],
            vec![
                deployment(json!({"app": "web"})),
                json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "pdb", "namespace": "shop"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "minAvailable": 1}}),
            ],
        ),
        case(
            "KSPM-Q-011",
            vec![ctr(json!({}))],
            vec![ctr(json!({"securityContext": {"runAsNonRoot": true}}))],
        ),
    ]
}
