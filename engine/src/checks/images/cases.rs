//! The image checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use crate::options::ScanOptions;
use serde_json::json;

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        case(
            "KSPM-I-001",
            vec![ctr(json!({"image": "nginx"}))],
            vec![ctr(json!({"image": "nginx:1.27"}))],
        ),
        case(
            "KSPM-I-002",
            vec![
                ctr(json!({"image": "nginx:1.27"})),
                named(ctr(json!({"image": "nginx:1.27@sha256:abc"})), "p2"),
            ],
            vec![ctr(
                json!({"image": "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"}),
            )],
        ),
        Case {
            options: ScanOptions {
                allowed_registries: vec!["registry.example.com/".into()],
                ..Default::default()
            },
            ..case(
                "KSPM-I-003",
                vec![ctr(json!({"image": "evil.example.net/x:1"}))],
                vec![ctr(json!({"image": "registry.example.com/x:1"}))],
            )
        },
        Case {
            options: ScanOptions {
                // Blocked wins over allowed; Docker Hub short names are docker.io's.
                allowed_registries: vec!["docker.io/".into(), "registry.example.com/".into()],
                blocked_registries: vec!["docker.io/".into()],
                ..Default::default()
            },
            ..case(
                "KSPM-I-006",
                vec![ctr(json!({"image": "nginx:1.27"}))],
                vec![ctr(json!({"image": "registry.example.com/nginx:1.27"}))],
            )
        },
        case(
            "KSPM-I-004",
            vec![ctr(json!({"image": "k8s.gcr.io/pause:3.9"}))],
            vec![ctr(json!({"image": "registry.k8s.io/pause:3.9"}))],
        ),
        case(
            "KSPM-I-005",
            vec![ctr(json!({"image": "nginx:1.27"}))],
            vec![ctr(
                json!({"image": "nginx:1.27", "imagePullPolicy": "Always"}),
            )],
        ),
    ]
}
