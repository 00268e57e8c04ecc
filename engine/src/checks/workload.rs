//! Workload checks: what a pod template lets its containers do to the node they run on.

use super::{Check, Evidence, Hit};
use crate::controls::{c, Framework::*};
use crate::inventory::{Inventory, PodTemplate};
use crate::severity::Severity;
use serde_json::Value;

const WORKLOAD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// The workload checks.
pub static CHECKS: &[Check] = &[
    Check {
        id: "KSPM-W-001",
        title: "Privileged container",
        severity: Severity::Critical,
        description: "A privileged container runs with every capability and full access to the host's devices; escaping to the node is trivial (mount the host disk, load a kernel module).",
        remediation: "Remove `securityContext.privileged: true`. Grant only the specific capabilities the workload needs, or move the function to a node-level component.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.2.2"),
            c(CisEks, "4.2.1"),
            c(CisGke, "4.2.1"),
            c(CisAks, "4.2.1"),
            c(NsaCisa, "N3"),
            c(Pss, "baseline:privileged"),
            c(Soc2, "CC6.1"),
            c(PciDss, "2.2.1"),
            c(Hipaa, "164.312(a)(1)"),
            c(Iso27001, "A.8.2"),
            c(Nist800190, "4.4.3"),
        ],
        run: privileged,
    },
    Check {
        id: "KSPM-W-002",
        title: "Pod shares the host PID namespace",
        severity: Severity::High,
        description: "With `hostPID: true` the pod sees every process on the node, can read their environment and, with enough privilege, enter their namespaces (nsenter) or ptrace them.",
        remediation: "Remove `hostPID: true` from the pod spec.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.2.3"),
            c(CisEks, "4.2.2"),
            c(CisGke, "4.2.1"),
            c(CisAks, "4.2.2"),
            c(NsaCisa, "N4"),
            c(Pss, "baseline:hostNamespaces"),
            c(Soc2, "CC6.1"),
            c(PciDss, "2.2.1"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        run: host_pid,
    },
    Check {
        id: "KSPM-W-003",
        title: "Pod shares the host IPC namespace",
        severity: Severity::High,
        description: "With `hostIPC: true` the pod can read and write the node's shared memory and message queues, including those of other pods' host-IPC processes.",
        remediation: "Remove `hostIPC: true` from the pod spec.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.2.4"),
            c(CisEks, "4.2.3"),
            c(CisGke, "4.2.1"),
            c(CisAks, "4.2.3"),
            c(NsaCisa, "N4"),
            c(Pss, "baseline:hostNamespaces"),
            c(Soc2, "CC6.1"),
            c(PciDss, "2.2.1"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        run: host_ipc,
    },
    Check {
        id: "KSPM-W-004",
        title: "Pod uses the host network",
        severity: Severity::High,
        description: "With `hostNetwork: true` the pod binds to the node's interfaces, bypasses NetworkPolicy, can sniff node traffic and reach the cloud metadata endpoint as the node.",
        remediation: "Remove `hostNetwork: true`; expose the workload through a Service instead.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.2.5"),
            c(CisEks, "4.2.4"),
            c(CisGke, "4.2.1"),
            c(CisAks, "4.2.4"),
            c(NsaCisa, "N4"),
            c(Pss, "baseline:hostNamespaces"),
            c(Soc2, "CC6.6"),
            c(PciDss, "1.3.1"),
            c(Iso27001, "A.8.22"),
            c(Nist800190, "4.3.3"),
        ],
        run: host_network,
    },
    Check {
        id: "KSPM-W-005",
        title: "Pod mounts a hostPath volume",
        severity: Severity::Medium,
        description: "A hostPath volume exposes the node's filesystem to the container. Writable or sensitive paths (/, /etc, /var/lib/kubelet, the container runtime socket) lead to node takeover.",
        remediation: "Replace hostPath volumes with emptyDir, configMap, secret, projected or persistent volumes. If a node agent truly needs one, mount the narrowest path read-only.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.2.12"),
            c(NsaCisa, "N8"),
            c(Pss, "baseline:hostPathVolumes"),
            c(Soc2, "CC6.1"),
            c(PciDss, "2.2.1"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        run: host_path,
    },
];

/// `true` only for a JSON `true`: a missing field or any other value is the API default (false).
fn is_true(v: Option<&Value>) -> bool {
    v.and_then(Value::as_bool) == Some(true)
}

fn kind_word(t: &PodTemplate<'_>) -> &'static str {
    if t.owner.kind == "Pod" {
        "pod"
    } else {
        "pod template"
    }
}

fn privileged<'a>(inv: &Inventory<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in inv.pod_templates() {
        for ctr in t.containers() {
            let v = ctr.container.pointer("/securityContext/privileged");
            if is_true(v) {
                hits.push(Hit {
                    object: t.owner,
                    message: format!(
                        "{} `{}` runs privileged",
                        container_word(ctr.list),
                        ctr.name
                    ),
                    evidence: vec![Evidence::new(
                        t.container_path(&ctr, "securityContext.privileged"),
                        true,
                    )],
                });
            }
        }
    }
    hits
}

fn container_word(list: &str) -> &'static str {
    match list {
        "initContainers" => "init container",
        "ephemeralContainers" => "ephemeral container",
        _ => "container",
    }
}

fn host_namespace<'a>(inv: &Inventory<'a>, field: &str, what: &str) -> Vec<Hit<'a>> {
    inv.pod_templates()
        .into_iter()
        .filter(|t| is_true(t.spec.get(field)))
        .map(|t| Hit {
            object: t.owner,
            message: format!("{} shares the host {what} namespace", kind_word(&t)),
            evidence: vec![Evidence::new(t.path(field), true)],
        })
        .collect()
}

fn host_pid<'a>(inv: &Inventory<'a>) -> Vec<Hit<'a>> {
    host_namespace(inv, "hostPID", "PID")
}

fn host_ipc<'a>(inv: &Inventory<'a>) -> Vec<Hit<'a>> {
    host_namespace(inv, "hostIPC", "IPC")
}

fn host_network<'a>(inv: &Inventory<'a>) -> Vec<Hit<'a>> {
    host_namespace(inv, "hostNetwork", "network")
}

fn host_path<'a>(inv: &Inventory<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in inv.pod_templates() {
        let Some(volumes) = t.spec.get("volumes").and_then(Value::as_array) else {
            continue;
        };
        for (i, vol) in volumes.iter().enumerate() {
            let Some(hp) = vol.get("hostPath") else {
                continue;
            };
            let vol_name = vol.get("name").and_then(Value::as_str).unwrap_or("");
            let host = hp.get("path").and_then(Value::as_str).unwrap_or("");
            let writable: Vec<&str> = t
                .containers()
                .filter(|ctr| {
                    ctr.container
                        .get("volumeMounts")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|m| {
                            m.get("name").and_then(Value::as_str) == Some(vol_name)
                                && !is_true(m.get("readOnly"))
                        })
                })
                .map(|ctr| ctr.name)
                .collect();
            let access = if writable.is_empty() {
                String::from("read-only or unmounted")
            } else {
                format!("writable by {}", writable.join(", "))
            };
            hits.push(Hit {
                object: t.owner,
                message: format!("volume `{vol_name}` mounts host path `{host}` ({access})"),
                evidence: vec![Evidence::new(
                    t.path(&format!("volumes[{i}].hostPath.path")),
                    host,
                )],
            });
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_text, Syntax};
    use crate::snapshot::ClusterSnapshot;

    fn run(check: &str, yaml: &str) -> Vec<(String, String, Vec<String>)> {
        let out = parse_text(yaml, "t.yaml", Syntax::Yaml);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let cluster = ClusterSnapshot {
            objects: out.objects,
            ..Default::default()
        };
        let inv = Inventory::new(&cluster);
        let c = CHECKS.iter().find(|c| c.id == check).expect("check");
        (c.run)(&inv)
            .into_iter()
            .map(|h| {
                (
                    h.object.node_ref(),
                    h.message,
                    h.evidence.into_iter().map(|e| e.path).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn privileged_in_every_container_list() {
        let hits = run(
            "KSPM-W-001",
            r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: mon}
spec:
  template:
    spec:
      initContainers: [{name: setup, securityContext: {privileged: true}}]
      containers:
      - {name: ok, securityContext: {privileged: false}}
      - {name: bad, securityContext: {privileged: true}}
      - {name: odd, securityContext: {privileged: "true"}}
"#,
        );
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].0, "DaemonSet:mon/agent");
        assert_eq!(
            hits[0].2,
            vec!["spec.template.spec.containers[1].securityContext.privileged"]
        );
        assert!(hits[1].1.contains("init container `setup`"));
    }

    #[test]
    fn host_namespaces_only_when_true() {
        let y = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostPID: true, hostIPC: false, containers: [{name: a}]}\n";
        assert_eq!(run("KSPM-W-002", y).len(), 1);
        assert_eq!(run("KSPM-W-002", y)[0].0, "Pod:default/p");
        assert!(run("KSPM-W-003", y).is_empty());
        assert!(run("KSPM-W-004", y).is_empty());
    }

    #[test]
    fn host_path_reports_path_and_writability() {
        let hits = run(
            "KSPM-W-005",
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: n}
spec:
  volumes:
  - {name: sock, hostPath: {path: /var/run/docker.sock}}
  - {name: logs, hostPath: {path: /var/log}}
  - {name: tmp, emptyDir: {}}
  containers:
  - name: a
    volumeMounts: [{name: sock, mountPath: /s}, {name: logs, mountPath: /l, readOnly: true}]
"#,
        );
        assert_eq!(hits.len(), 2);
        assert!(hits[0].1.contains("/var/run/docker.sock") && hits[0].1.contains("writable by a"));
        assert!(hits[1].1.contains("read-only"));
        assert_eq!(hits[0].2, vec!["spec.volumes[0].hostPath.path"]);
    }
}
