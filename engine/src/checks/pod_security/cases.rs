//! The Pod Security checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use serde_json::json;

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        case(
            "KSPM-W-001",
            vec![sc(json!({"privileged": true}))],
            vec![sc(json!({"privileged": false}))],
        ),
        case(
            "KSPM-W-006",
            vec![ctr(
                json!({"ports": [{"containerPort": 80, "hostPort": 8080}]}),
            )],
            vec![ctr(json!({"ports": [{"containerPort": 80}]}))],
        ),
        case(
            "KSPM-W-007",
            vec![sc(json!({"capabilities": {"add": ["NET_RAW"]}}))],
            vec![sc(json!({"capabilities": {"add": ["CHOWN"]}}))],
        ),
        case(
            "KSPM-W-008",
            vec![sc(json!({"capabilities": {"drop": ["NET_RAW"]}}))],
            vec![sc(json!({"capabilities": {"drop": ["ALL"]}}))],
        ),
        case(
            "KSPM-W-009",
            vec![sc(json!({}))],
            vec![sc(json!({"allowPrivilegeEscalation": false}))],
        ),
        case(
            "KSPM-W-010",
            vec![sc(json!({}))],
            vec![sc(json!({"runAsNonRoot": true}))],
        ),
        case(
            "KSPM-W-011",
            vec![sc(json!({"runAsUser": 0}))],
            vec![sc(json!({"runAsUser": 1000}))],
        ),
        case(
            "KSPM-W-012",
            vec![sc(json!({}))],
            vec![sc(json!({"seccompProfile": {"type": "RuntimeDefault"}}))],
        ),
        case(
            "KSPM-W-013",
            vec![sc(json!({"seccompProfile": {"type": "Unconfined"}}))],
            vec![sc(
                json!({"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}),
            )],
        ),
        case(
            "KSPM-W-014",
            vec![sc(json!({"appArmorProfile": {"type": "Unconfined"}}))],
            vec![sc(json!({"appArmorProfile": {"type": "RuntimeDefault"}}))],
        ),
        case(
            "KSPM-W-015",
            vec![sc(json!({"seLinuxOptions": {"type": "spc_t"}}))],
            vec![sc(
                json!({"seLinuxOptions": {"type": "container_t", "level": "s0:c1"}}),
            )],
        ),
        case(
            "KSPM-W-016",
            vec![sc(json!({"procMount": "Unmasked"}))],
            vec![sc(json!({"procMount": "Default"}))],
        ),
        case(
            "KSPM-W-017",
            vec![pod(
                json!({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}, "containers": []}),
            )],
            vec![pod(
                json!({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]}, "containers": []}),
            )],
        ),
        case(
            "KSPM-W-018",
            vec![sc(json!({"windowsOptions": {"hostProcess": true}}))],
            vec![sc(json!({"windowsOptions": {"hostProcess": false}}))],
        ),
        case(
            "KSPM-W-019",
            vec![ctr(
                json!({"livenessProbe": {"httpGet": {"host": "169.254.169.254", "port": 80}}}),
            )],
            vec![ctr(json!({"livenessProbe": {"httpGet": {"port": 80}}}))],
        ),
        case(
            "KSPM-W-020",
            vec![pod(
                json!({"volumes": [{"name": "v", "nfs": {"server": "n", "path": "/"}}], "containers": []}),
            )],
            vec![pod(
                json!({"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}], "containers": []}),
            )],
        ),
        case(
            "KSPM-P-003",
            vec![ns(
                "shop",
                json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"}),
            )],
            vec![
                ns(
                    "shop",
                    json!({"pod-security.kubernetes.io/enforce": "restricted"}),
                ),
                ns(
                    "kube-system",
                    json!({"pod-security.kubernetes.io/enforce": "baseline"}),
                ),
            ],
        ),
        case(
            "KSPM-P-001",
            vec![ns(
                "shop",
                json!({"pod-security.kubernetes.io/enforce": "privileged"}),
            )],
            vec![
                ns(
                    "shop",
                    json!({"pod-security.kubernetes.io/enforce": "baseline"}),
                ),
                ns("kube-system", json!({})),
            ],
        ),
        case(
            "KSPM-P-002",
            vec![
                ns(
                    "shop",
                    json!({"pod-security.kubernetes.io/enforce": "baseline"}),
                ),
                sc(json!({"privileged": true})),
            ],
            vec![
                ns(
                    "shop",
                    json!({"pod-security.kubernetes.io/enforce": "baseline"}),
                ),
                sc(json!({"capabilities": {"drop": ["ALL"]}})),
            ],
        ),
    ]
}
