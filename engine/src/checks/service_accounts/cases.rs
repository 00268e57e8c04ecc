//! The ServiceAccount and Secret checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use crate::options::ScanOptions;
use crate::snapshot::Provider;
use serde_json::json;

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        case(
            "KSPM-S-001",
            vec![pod(json!({"serviceAccountName": "app", "containers": []}))],
            vec![
                pod(json!({"serviceAccountName": "app", "containers": []})),
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": "shop"}, "automountServiceAccountToken": false}),
            ],
        ),
        case(
            "KSPM-S-002",
            vec![pod(json!({"containers": []}))],
            vec![pod(json!({"serviceAccountName": "app", "containers": []}))],
        ),
        case(
            "KSPM-S-003",
            vec![
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}}),
            ],
            vec![
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}, "automountServiceAccountToken": false}),
            ],
        ),
        case(
            "KSPM-S-004",
            vec![ctr(
                json!({"env": [{"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}),
            )],
            vec![ctr(
                json!({"env": [{"name": "DB", "valueFrom": {"configMapKeyRef": {"name": "db", "key": "host"}}}]}),
            )],
        ),
        case(
            "KSPM-S-005",
            vec![ctr(
                json!({"env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}),
            )],
            vec![ctr(
                json!({"env": [{"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db"}, {"name": "LOG_LEVEL", "value": "debug"}]}),
            )],
        ),
        case(
            "KSPM-S-006",
            vec![
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}, "data": {"api_token": "abc123def"}}),
            ],
            vec![
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}, "data": {"log_level": "info"}}),
            ],
        ),
        case(
            "KSPM-S-011",
            vec![
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop", "annotations": {"example.com/deploy-key": "ghp_0123456789abcdefghijKLMN"}}}),
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "shop"}, "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": {"app": "d"}, "annotations": {"example.com/kubeconfig": "apiVersion: v1\nkind: Config\nclusters:\n- name: c\nusers:\n- name: u\n  user:\n    token: abc\n"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}),
            ],
            vec![
                json!({"apiVersion": "v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "shop", "annotations": {"nginx.ingress.kubernetes.io/auth-secret": "basic-auth", "example.com/token-url": "https://example.com/token"}}}),
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"k\":\"ghp_0123456789abcdefghijKLMN\"}}"}}}),
            ],
        ),
        case(
            "KSPM-S-007",
            vec![
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t", "namespace": "shop", "annotations": {"kubernetes.io/service-account.name": "ci"}}, "type": "kubernetes.io/service-account-token"}),
            ],
            vec![
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t", "namespace": "shop"}, "type": "Opaque"}),
            ],
        ),
        case(
            "KSPM-S-008",
            vec![
                pod(json!({"serviceAccountName": "app", "containers": []})),
                binding(
                    "ClusterRoleBinding",
                    "ClusterRole",
                    "cluster-admin",
                    json!([{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]),
                ),
            ],
            vec![
                pod(
                    json!({"serviceAccountName": "app", "automountServiceAccountToken": false, "containers": []}),
                ),
                binding(
                    "ClusterRoleBinding",
                    "ClusterRole",
                    "cluster-admin",
                    json!([{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]),
                ),
                pod(json!({"serviceAccountName": "other", "containers": []})),
            ],
        ),
        case(
            "KSPM-S-009",
            vec![pod(json!({"serviceAccount": "app", "containers": []}))],
            vec![pod(
                json!({"serviceAccountName": "app", "serviceAccount": "app", "containers": []}),
            )],
        ),
        case(
            "KSPM-S-010",
            vec![
                pod(json!({"serviceAccountName": "ghost", "containers": []})),
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}}),
            ],
            vec![pod(
                json!({"serviceAccountName": "ghost", "containers": []}),
            )],
        ),
    ]
}

/// Credentials passed as command-line flags are as exposed as literal env values; the value is
/// never quoted.
#[test]
fn credentials_in_args_are_found_and_redacted() {
    let opts = ScanOptions::default();
    for args in [
        json!(["--password=hunter2"]),
        json!(["--db-token", "abc123"]),
        json!(["-api-key=xyz"]),
        json!(["run", "ghp_0123456789abcdefghijklmnop"]),
        json!([
            "--key",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"
        ]),
    ] {
        let found = hits(
            "KSPM-S-005",
            &[ctr(json!({"args": args.clone()}))],
            Provider::Generic,
            &opts,
        );
        assert_eq!(found.len(), 1, "{args}: {found:?}");
        assert!(
            !found[0].contains("hunter2") && !found[0].contains("abc123"),
            "{found:?}"
        );
    }
    for args in [
        json!(["--password-file=/run/secrets/p"]),
        json!(["--token", "$(TOKEN)"]),
        json!(["--log-level=debug", "--verbose"]),
        json!(["--enable-token", "--port", "8080"]),
        json!(["--validating-webhook-key=/usr/local/certificates/key"]),
        json!(["--secret-field-selector=type!=kubernetes.io/dockercfg"]),
    ] {
        assert!(
            hits(
                "KSPM-S-005",
                &[ctr(json!({"args": args.clone()}))],
                Provider::Generic,
                &opts
            )
            .is_empty(),
            "{args}"
        );
    }
}
