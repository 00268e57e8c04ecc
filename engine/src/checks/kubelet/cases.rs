//! The kubelet checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use serde_json::{json, Value};

/// A kubelet configuration that passes every kubelet check.
fn hardened_kubelet() -> Value {
    json!({
        "authentication": {"anonymous": {"enabled": false}, "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}},
        "authorization": {"mode": "Webhook"},
        "readOnlyPort": 0,
        "streamingConnectionIdleTimeout": "4h0m0s",
        "makeIPTablesUtilChains": true,
        "serverTLSBootstrap": true,
        "rotateCertificates": true,
        "featureGates": {"RotateKubeletServerCertificate": true},
        "tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
        "podPidsLimit": 4096,
        "seccompDefault": true,
        "protectKernelDefaults": true
    })
}

fn weakened_kubelet(pointer: &str, value: Value) -> Value {
    let mut cfg = hardened_kubelet();
    if let Some(slot) = cfg.pointer_mut(pointer) {
        *slot = value;
    }
    kubelet(cfg)
}

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    let good_kubelet = vec![kubelet(hardened_kubelet())];
    vec![
        case(
            "KSPM-K-001",
            vec![weakened_kubelet(
                "/authentication/anonymous/enabled",
                json!(true),
            )],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-002",
            vec![weakened_kubelet(
                "/authorization/mode",
                json!("AlwaysAllow"),
            )],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-003",
            vec![weakened_kubelet(
                "/authentication/x509/clientCAFile",
                json!(""),
            )],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-004",
            vec![weakened_kubelet("/readOnlyPort", json!(10255))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-005",
            vec![weakened_kubelet(
                "/streamingConnectionIdleTimeout",
                json!("0s"),
            )],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-006",
            vec![weakened_kubelet("/makeIPTablesUtilChains", json!(false))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-007",
            vec![weakened_kubelet("/serverTLSBootstrap", json!(false))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-008",
            vec![weakened_kubelet("/rotateCertificates", json!(false))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-009",
            vec![weakened_kubelet(
                "/featureGates/RotateKubeletServerCertificate",
                json!(false),
            )],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-010",
            vec![weakened_kubelet(
                "/tlsCipherSuites",
                json!(["TLS_RSA_WITH_AES_128_CBC_SHA"]),
            )],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-011",
            vec![weakened_kubelet("/podPidsLimit", json!(-1))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-012",
            vec![weakened_kubelet("/seccompDefault", json!(false))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-013",
            vec![weakened_kubelet("/protectKernelDefaults", json!(false))],
            good_kubelet.clone(),
        ),
    ]
}
