//! The workload checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use crate::options::ScanOptions;
use crate::snapshot::Provider;
use serde_json::{json, Value};

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        case(
            "KSPM-W-002",
            vec![pod(json!({"hostPID": true, "containers": []}))],
            vec![pod(json!({"hostPID": false, "containers": []}))],
        ),
        case(
            "KSPM-W-003",
            vec![pod(json!({"hostIPC": true, "containers": []}))],
            vec![pod(json!({"containers": []}))],
        ),
        case(
            "KSPM-W-004",
            vec![pod(json!({"hostNetwork": true, "containers": []}))],
            vec![pod(json!({"containers": []}))],
        ),
        case(
            "KSPM-W-005",
            vec![pod(
                json!({"volumes": [{"name": "v", "hostPath": {"path": "/data"}}], "containers": []}),
            )],
            vec![pod(
                json!({"volumes": [{"name": "v", "emptyDir": {}}], "containers": []}),
            )],
        ),
        case(
            "KSPM-W-021",
            vec![pod(
                json!({"volumes": [{"name": "v", "hostPath": {"path": "/var/run/"}}], "containers": []}),
            )],
            vec![pod(
                json!({"volumes": [{"name": "v", "hostPath": {"path": "/var/log/app"}}], "containers": []}),
            )],
        ),
        case(
            "KSPM-W-022",
            vec![pod(
                json!({"volumes": [{"name": "v", "hostPath": {"path": "/etc/kubernetes/pki"}}], "containers": []}),
            )],
            vec![pod(
                json!({"volumes": [{"name": "v", "hostPath": {"path": "/var/log/app"}}], "containers": []}),
            )],
        ),
        case(
            "KSPM-W-023",
            vec![sc(json!({"capabilities": {"add": ["cap_sys_admin"]}}))],
            vec![sc(json!({"capabilities": {"add": ["NET_BIND_SERVICE"]}}))],
        ),
        case(
            "KSPM-W-024",
            vec![pod(
                json!({"securityContext": {"fsGroup": 0}, "containers": []}),
            )],
            vec![pod(
                json!({"securityContext": {"fsGroup": 2000}, "containers": []}),
            )],
        ),
        case(
            "KSPM-W-025",
            vec![sc(json!({"readOnlyRootFilesystem": false}))],
            vec![sc(json!({"readOnlyRootFilesystem": true}))],
        ),
        case(
            "KSPM-W-026",
            vec![
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}),
            ],
            vec![pod(json!({"containers": []}))],
        ),
        case(
            "KSPM-W-027",
            vec![pod(
                json!({"hostAliases": [{"ip": "10.0.0.9", "hostnames": ["api.example.com"]}], "containers": []}),
            )],
            vec![pod(json!({"hostAliases": [], "containers": []}))],
        ),
        case(
            "KSPM-W-028",
            vec![
                ctr(json!({"ports": [{"containerPort": 22}]})),
                service(
                    json!({"ports": [{"port": 2222, "targetPort": 8022}]}),
                    json!({}),
                ),
            ],
            vec![
                ctr(json!({"ports": [{"containerPort": 2222}]})),
                service(
                    json!({"ports": [{"port": 443, "targetPort": 8443}]}),
                    json!({}),
                ),
            ],
        ),
        case(
            "KSPM-W-029",
            vec![ctr(json!({"command": ["sh", "-c", "sudo -E /app/run"]}))],
            vec![ctr(json!({"command": ["/app/run", "--pseudo"]}))],
        ),
        case(
            "KSPM-W-030",
            vec![
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "billing-api", "namespace": "kube-system"}, "spec": {"template": {"spec": {"containers": []}}}}),
            ],
            vec![
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coredns", "namespace": "kube-system"}, "spec": {"template": {"spec": {"containers": []}}}}),
                json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "kube-system", "labels": {"addonmanager.kubernetes.io/mode": "Reconcile"}}, "spec": {"template": {"spec": {"containers": []}}}}),
            ],
        ),
    ]
}

/// KSPM-W-021/022 follow who the container runs as, the fact the graph's host escapes use: a
/// mount every mounting container definitely cannot use (non-root, no DAC capabilities, no group
/// 0 or supplemental groups, not privileged) is medium; anything else keeps the check's severity.
#[test]
fn host_mount_severity_follows_who_the_container_runs_as() {
    use crate::severity::Severity;
    let severity = |id: &str, path: &str, ctr_sc: Value, pod_sc: Value, mounted: bool| {
        let mounts = if mounted {
            json!([{"name": "host", "mountPath": "/host", "readOnly": true}])
        } else {
            json!([])
        };
        let p = pod(json!({"securityContext": pod_sc,
            "volumes": [{"name": "host", "hostPath": {"path": path}}],
            "containers": [{"name": "a", "image": "x:1", "securityContext": ctr_sc, "volumeMounts": mounts}]}));
        let report = evaluate_case(&[p], Provider::Generic, &ScanOptions::default());
        let found: Vec<Severity> = report
            .findings
            .iter()
            .filter(|f| f.check == id)
            .map(|f| f.severity)
            .collect();
        assert_eq!(found.len(), 1, "{id} {path}");
        found[0]
    };
    let nobody = json!({"runAsUser": 65534, "runAsGroup": 65534, "runAsNonRoot": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
    // node-exporter: UID 65534, host / read-only.
    // (host / holds the runtime socket: KSPM-W-021, not W-022.)
    assert_eq!(
        severity("KSPM-W-021", "/", nobody.clone(), json!({}), true),
        Severity::Medium
    );
    assert_eq!(
        severity("KSPM-W-022", "/etc", nobody.clone(), json!({}), true),
        Severity::Medium
    );
    assert_eq!(
        severity(
            "KSPM-W-021",
            "/run/containerd/containerd.sock",
            nobody.clone(),
            json!({}),
            true
        ),
        Severity::Medium
    );
    // Root, or the image's user, or a way around file permissions: the check's severity.
    for (ctr, pod_sc) in [
        (json!({"runAsUser": 0}), json!({})),
        (json!({}), json!({})),
        (
            json!({"runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": false, "capabilities": {"add": ["DAC_READ_SEARCH"]}}),
            json!({}),
        ),
        (
            json!({"runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": false, "capabilities": {"add": ["cap_dac_override"]}}),
            json!({}),
        ),
        (
            json!({"runAsUser": 1000, "runAsGroup": 0, "allowPrivilegeEscalation": false}),
            json!({}),
        ),
        (
            json!({"runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": false}),
            json!({"supplementalGroups": [998]}),
        ),
        (
            json!({"runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": false}),
            json!({"fsGroup": 2000}),
        ),
        (
            json!({"runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": false, "privileged": true}),
            json!({}),
        ),
        (
            json!({"runAsNonRoot": true, "runAsUser": 0, "runAsGroup": 1000, "allowPrivilegeEscalation": false}),
            json!({}),
        ),
    ] {
        assert_eq!(
            severity(
                "KSPM-W-022",
                "/etc/kubernetes",
                ctr.clone(),
                pod_sc.clone(),
                true
            ),
            Severity::High,
            "{ctr} {pod_sc}"
        );
        assert_eq!(
            severity(
                "KSPM-W-021",
                "/var/run/docker.sock",
                ctr.clone(),
                pod_sc.clone(),
                true
            ),
            Severity::Critical,
            "{ctr} {pod_sc}"
        );
    }
    // The pod-level runAsUser and runAsGroup count like the container's.
    assert_eq!(
        severity(
            "KSPM-W-022",
            "/var/lib/kubelet",
            json!({"allowPrivilegeEscalation": false}),
            json!({"runAsUser": 65534, "runAsGroup": 65534}),
            true
        ),
        Severity::Medium
    );
    // Without allowPrivilegeEscalation: false (or drop ALL) a setuid binary gets root back;
    // FOWNER gets around permissions.
    for ctr in [
        json!({"runAsUser": 65534, "runAsGroup": 65534}),
        json!({"runAsUser": 65534, "runAsGroup": 65534, "allowPrivilegeEscalation": false, "capabilities": {"add": ["FOWNER"]}}),
    ] {
        assert_eq!(
            severity("KSPM-W-022", "/etc", ctr.clone(), json!({}), true),
            Severity::High,
            "{ctr}"
        );
    }
    // Declared but not mounted: an ephemeral container may mount it as anyone.
    assert_eq!(
        severity(
            "KSPM-W-021",
            "/var/run/docker.sock",
            nobody,
            json!({}),
            false
        ),
        Severity::Critical
    );
}
