//! Workload checks: what a pod template lets its containers do to the node they run on.

use super::pod_security::WORKLOAD_KINDS;
use super::Context;
use super::Needs;
use super::{Check, Evidence, Hit};
use crate::controls::{c, Framework::*};
use crate::inventory::{ContainerRef, PodTemplate};
use crate::options::Profile;
use crate::pointer::Pointer as _;
use crate::severity::Severity;
use serde_json::Value;

/// The workload checks.
pub static CHECKS: &[Check] = &[
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
        profile: Profile::Security,
        needs: Needs::Nothing,
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
        profile: Profile::Security,
        needs: Needs::Nothing,
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
        profile: Profile::Security,
        needs: Needs::Nothing,
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
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: host_path,
    },
    Check {
        id: "KSPM-W-021",
        title: "Container runtime socket mounted",
        severity: Severity::Critical,
        description: "Mounting the Docker, containerd or CRI-O socket (or a directory holding it) lets the container ask the runtime to start a privileged container on the node: full node takeover, even when mounted read-only. Medium instead when every container mounting it definitely runs as non-root without DAC capabilities, group 0 or supplemental groups (the socket is 0660 root).",
        remediation: "Remove the hostPath volume. Build images with a daemonless builder (kaniko, buildah) and read runtime state through the Kubernetes API.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(NsaCisa, "N8"),
            c(Pss, "baseline:hostPathVolumes"),
            c(Soc2, "CC6.1"),
            c(PciDss, "2.2.1"),
            c(Iso27001, "A.8.2"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: runtime_socket,
    },
    Check {
        id: "KSPM-W-022",
        title: "Sensitive host path mounted",
        severity: Severity::High,
        description: "Host paths such as /, /etc, /root, /proc, /sys, /var/lib/kubelet or /etc/kubernetes expose node credentials, every pod's service-account tokens, or kernel interfaces; writable, they let the container change the node. Medium instead when every container mounting it definitely runs as non-root without DAC capabilities, group 0 or supplemental groups (root-only files stay out of reach).",
        remediation: "Remove the mount or narrow it to the specific file the agent needs, read-only.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.2.12"),
            c(NsaCisa, "N8"),
            c(Pss, "baseline:hostPathVolumes"),
            c(Soc2, "CC6.1"),
            c(PciDss, "2.2.1"),
            c(Iso27001, "A.8.2"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: sensitive_host_path,
    },
    Check {
        id: "KSPM-W-023",
        title: "Dangerous capability added",
        severity: Severity::High,
        description: "SYS_ADMIN, SYS_MODULE, SYS_PTRACE, SYS_RAWIO, DAC_READ_SEARCH, NET_ADMIN, BPF, PERFMON, SYS_BOOT, MAC_ADMIN, MAC_OVERRIDE or ALL each give a known path from the container to the node (mounts, kernel modules, ptrace of host processes, reading host files by handle, eBPF).",
        remediation: "Remove the capability; if a node agent needs it, isolate that agent in its own namespace with restricted RBAC.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.2.9"),
            c(NsaCisa, "N6"),
            c(Pss, "baseline:capabilities_baseline"),
            c(Soc2, "CC6.1"),
            c(PciDss, "2.2.1"),
            c(Iso27001, "A.8.2"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: dangerous_capabilities,
    },
    Check {
        id: "KSPM-W-024",
        title: "Container runs with the root group",
        severity: Severity::Low,
        description: "GID 0 (runAsGroup, fsGroup or supplementalGroups) gives the process root-group access to files on shared and host volumes.",
        remediation: "Set `runAsGroup`, `fsGroup` and `supplementalGroups` to non-zero IDs.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N1"), c(Iso27001, "A.8.2"), c(Nist800190, "4.4.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: root_group,
    },
    Check {
        id: "KSPM-W-025",
        title: "Container root filesystem is writable",
        severity: Severity::Low,
        description: "A writable root filesystem lets an attacker drop tools and persist changes inside the container.",
        remediation: "Set `securityContext.readOnlyRootFilesystem: true` and mount emptyDir volumes where the application writes.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(CisKubernetes, "5.7.3"), c(NsaCisa, "N2"), c(PciDss, "2.2.1"), c(Iso27001, "A.8.9"), c(Nist800190, "4.4.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: writable_root_filesystem,
    },
    Check {
        id: "KSPM-W-026",
        title: "Workload in the default namespace",
        severity: Severity::Low,
        description: "The default namespace is where everything lands by accident; it rarely carries the policies, quotas and RBAC boundaries of a purpose-made namespace.",
        remediation: "Move the workload to a dedicated namespace with its own Pod Security level, NetworkPolicies and RBAC.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(CisKubernetes, "5.7.4"), c(NsaCisa, "N13"), c(Iso27001, "A.8.22")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: default_namespace,
    },
    Check {
        id: "KSPM-W-027",
        title: "Pod overrides /etc/hosts with hostAliases",
        severity: Severity::Low,
        description: "hostAliases rewrite name resolution inside the pod, bypassing cluster DNS; in a template they can silently redirect a dependency to another address.",
        remediation: "Use DNS (a Service, an ExternalName Service or CoreDNS configuration) instead.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(Iso27001, "A.8.9")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: host_aliases,
    },
    Check {
        id: "KSPM-W-028",
        title: "Container or Service exposes an SSH port",
        severity: Severity::Low,
        description: "An SSH server in a container is a second, unmanaged way in, outside Kubernetes authentication and audit; a Service on port 22 or 2222 publishes it.",
        remediation: "Remove the SSH server; use `kubectl exec` (audited) or ephemeral debug containers.",
        kinds: SSH_KINDS,
        controls: &[c(NsaCisa, "N12"), c(Iso27001, "A.8.20"), c(Nist800190, "4.4.2")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: ssh_port,
    },
    Check {
        id: "KSPM-W-029",
        title: "Container entrypoint uses sudo",
        severity: Severity::Low,
        description: "sudo in the command means the image ships a privilege-escalation path, and the process expects to become root.",
        remediation: "Run the process as its final user; set up what needs root at build time.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N1"), c(Nist800190, "4.4.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: sudo_entrypoint,
    },
    Check {
        id: "KSPM-W-030",
        title: "User workload in kube-system",
        severity: Severity::Medium,
        description: "kube-system holds the cluster's own components and their highly privileged ServiceAccounts and Secrets; an application there shares their trust boundary and is usually exempt from the Pod Security level and policies other namespaces get.",
        remediation: "Move the workload to its own namespace with a Pod Security level, NetworkPolicies and narrow RBAC.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N13"), c(Iso27001, "A.8.22"), c(Nist800190, "4.3.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: kube_system_user_workloads,
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

fn container_word(list: &str) -> &'static str {
    match list {
        "initContainers" => "init container",
        "ephemeralContainers" => "ephemeral container",
        _ => "container",
    }
}

fn host_namespace<'a>(ctx: &Context<'a>, field: &str, what: &str) -> Vec<Hit<'a>> {
    ctx.inv
        .pod_templates()
        .into_iter()
        .filter(|t| is_true(t.spec.get(field)))
        .map(|t| Hit {
            severity: None,
            object: t.owner,
            message: format!("{} shares the host {what} namespace", kind_word(&t)),
            evidence: vec![Evidence::new(t.path(field), true)],
        })
        .collect()
}

fn host_pid<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    host_namespace(ctx, "hostPID", "PID")
}

fn host_ipc<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    host_namespace(ctx, "hostIPC", "IPC")
}

fn host_network<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    host_namespace(ctx, "hostNetwork", "network")
}

fn host_path<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for v in t.host_path_volumes() {
            // Runtime sockets and sensitive paths have their own, more severe checks.
            if is_runtime_socket_path(&v.path) || is_sensitive_path(&v.path) {
                continue;
            }
            let (i, vol_name, host) = (v.index, v.name, v.raw);
            let writable = writable_by(&t, vol_name);
            let access = if writable.is_empty() {
                String::from("read-only or unmounted")
            } else {
                format!("writable by {}", writable.join(", "))
            };
            hits.push(Hit {
                severity: None,
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

use crate::host_path::is_parent_or_same;

/// Names of the containers that mount volume `volume` without `readOnly: true`.
fn writable_by<'a>(t: &PodTemplate<'a>, volume: &str) -> Vec<&'a str> {
    t.containers()
        .filter(|c| {
            c.volume_mounts().any(|m| {
                m.get("name").and_then(Value::as_str) == Some(volume) && !is_true(m.get("readOnly"))
            })
        })
        .map(|c| c.name)
        .collect()
}

/// When every container that mounts `volume` definitely cannot open root-only host files
/// ([`PodTemplate::cannot_open_root_files`]), the lower severity and why; else `None`.
fn out_of_reach(t: &PodTemplate<'_>, volume: &str) -> Option<(Severity, &'static str)> {
    let mounting: Vec<ContainerRef<'_>> = t
        .containers()
        .filter(|c| {
            c.volume_mounts()
                .any(|m| m.get("name").and_then(Value::as_str) == Some(volume))
        })
        .collect();
    // An unmounted volume stays at the check's severity: an ephemeral container added later
    // may mount it as anyone.
    (!mounting.is_empty() && mounting.iter().all(|c| t.cannot_open_root_files(c))).then_some((
            Severity::Medium,
            "; every container mounting it runs as non-root without DAC capabilities, group 0 or supplemental groups, so root-only host files are out of its reach",
        ))
}

fn runtime_socket<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for v in t.host_path_volumes() {
            let (i, name, path) = (v.index, v.name, v.path);
            if let Some(sock) = crate::host_path::runtime_socket(&path) {
                let lowered = out_of_reach(&t, name);
                let why = lowered.map_or("", |(_, why)| why);
                hits.push(Hit {
                    severity: lowered.map(|(s, _)| s),
                    object: t.owner,
                    message: if path == sock {
                        format!("volume `{name}` mounts the container runtime socket {path}{why}")
                    } else {
                        format!("volume `{name}` mounts {path}, which contains the runtime socket {sock}{why}")
                    },
                    evidence: vec![Evidence::new(t.path(&format!("volumes[{i}].hostPath.path")), v.raw)],
                });
            }
        }
    }
    hits
}

/// Host paths whose exposure is a node compromise or credential theft.
const SENSITIVE_PATHS: &[&str] = &[
    "/",
    "/etc",
    "/root",
    "/home",
    "/proc",
    "/sys",
    "/boot",
    "/dev",
    "/var/lib/kubelet",
    "/etc/kubernetes",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/run",
    "/run",
    "/var",
    "/var/lib",
    "/usr",
    "/lib",
    "/bin",
    "/sbin",
];

fn is_runtime_socket_path(path: &str) -> bool {
    crate::host_path::runtime_socket(path).is_some()
}

fn is_sensitive_path(path: &str) -> bool {
    SENSITIVE_PATHS.contains(&path)
        || [
            "/etc",
            "/etc/kubernetes",
            "/var/lib/kubelet",
            "/root",
            "/proc",
            "/sys",
            "/boot",
            "/dev",
        ]
        .iter()
        .any(|d| is_parent_or_same(d, path))
}

fn sensitive_host_path<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for v in t.host_path_volumes() {
            let (i, name, path) = (v.index, v.name, v.path);
            // Runtime sockets are their own (critical) check.
            if is_runtime_socket_path(&path) || !is_sensitive_path(&path) {
                continue;
            }
            let writable = writable_by(&t, name);
            let access = if writable.is_empty() {
                "read-only".to_string()
            } else {
                format!("writable by {}", writable.join(", "))
            };
            let lowered = out_of_reach(&t, name);
            let why = lowered.map_or("", |(_, why)| why);
            hits.push(Hit {
                severity: lowered.map(|(s, _)| s),
                object: t.owner,
                message: format!(
                    "volume `{name}` mounts sensitive host path {path} ({access}){why}"
                ),
                evidence: vec![Evidence::new(
                    t.path(&format!("volumes[{i}].hostPath.path")),
                    v.raw,
                )],
            });
        }
    }
    hits
}

const DANGEROUS_CAPS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "DAC_READ_SEARCH",
    "NET_ADMIN",
    "BPF",
    "PERFMON",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
];

fn dangerous_capabilities<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for c in t.containers() {
            let Some(add) = c
                .container
                .at("/securityContext/capabilities/add")
                .and_then(Value::as_array)
            else {
                continue;
            };
            for (i, cap) in add.iter().enumerate() {
                let raw = cap.as_str().unwrap_or("");
                let norm = crate::inventory::normalise_capability(raw);
                if DANGEROUS_CAPS.contains(&norm.as_str()) {
                    hits.push(Hit {
                        severity: None,
                        object: t.owner,
                        message: format!("{} `{}` adds {norm}", container_word(c.list), c.name),
                        evidence: vec![Evidence::new(
                            t.container_path(&c, &format!("securityContext.capabilities.add[{i}]")),
                            raw,
                        )],
                    });
                }
            }
        }
    }
    hits
}

fn root_group<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        let mut ev = Vec::new();
        for f in ["runAsGroup", "fsGroup"] {
            if t.spec
                .at(&format!("/securityContext/{f}"))
                .and_then(Value::as_i64)
                == Some(0)
            {
                ev.push(Evidence::new(t.path(&format!("securityContext.{f}")), 0));
            }
        }
        if let Some(groups) = t
            .spec
            .at("/securityContext/supplementalGroups")
            .and_then(Value::as_array)
        {
            for (i, g) in groups.iter().enumerate() {
                if g.as_i64() == Some(0) {
                    ev.push(Evidence::new(
                        t.path(&format!("securityContext.supplementalGroups[{i}]")),
                        0,
                    ));
                }
            }
        }
        for c in t.containers() {
            if c.container
                .at("/securityContext/runAsGroup")
                .and_then(Value::as_i64)
                == Some(0)
            {
                ev.push(Evidence::new(
                    t.container_path(&c, "securityContext.runAsGroup"),
                    0,
                ));
            }
        }
        if !ev.is_empty() {
            hits.push(Hit {
                severity: None,
                object: t.owner,
                message: format!(
                    "GID 0 set in {}",
                    ev.iter()
                        .map(|e| e.path.rsplit('.').next().unwrap_or(""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                evidence: ev,
            });
        }
    }
    hits
}

fn writable_root_filesystem<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for c in t.containers() {
            // Ephemeral debug containers are interactive by design.
            if c.list == "ephemeralContainers" {
                continue;
            }
            let v = c.container.at("/securityContext/readOnlyRootFilesystem");
            if !is_true(v) {
                hits.push(Hit {
                    severity: None,
                    object: t.owner,
                    message: format!(
                        "{} `{}` has a writable root filesystem",
                        container_word(c.list),
                        c.name
                    ),
                    evidence: vec![Evidence::new(
                        t.container_path(&c, "securityContext.readOnlyRootFilesystem"),
                        v.cloned().unwrap_or(Value::Null),
                    )],
                });
            }
        }
    }
    hits
}

fn default_namespace<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .pod_templates()
        .into_iter()
        .filter(|t| t.owner.effective_namespace() == Some("default"))
        .map(|t| Hit {
            severity: None,
            object: t.owner,
            message: format!("{} runs in the default namespace", t.owner.kind),
            evidence: vec![Evidence::new(
                "metadata.namespace",
                t.owner
                    .namespace
                    .clone()
                    .map(Value::String)
                    .unwrap_or(Value::Null),
            )],
        })
        .collect()
}

fn host_aliases<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .pod_templates()
        .into_iter()
        .filter_map(|t| {
            let aliases = t
                .spec
                .get("hostAliases")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())?;
            let names: Vec<&str> = aliases
                .iter()
                .flat_map(|a| {
                    a.get("hostnames")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .filter_map(Value::as_str)
                .collect();
            Some(Hit {
                severity: None,
                object: t.owner,
                message: format!("hostAliases pin {} to fixed addresses", names.join(", ")),
                evidence: vec![Evidence::new(
                    t.path("hostAliases"),
                    Value::Array(aliases.clone()),
                )],
            })
        })
        .collect()
}

/// Workloads and Services (W-028).
const SSH_KINDS: &[&str] = crate::inventory::workload_kinds!("Service");

fn ssh_port<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for c in t.containers() {
            for (i, p) in c
                .container
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let port = p.get("containerPort").and_then(Value::as_i64);
                let named_ssh = p
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.to_ascii_lowercase().contains("ssh"));
                if port == Some(22) || (named_ssh && port.is_some()) {
                    hits.push(Hit {
                        severity: None,
                        object: t.owner,
                        message: format!(
                            "container `{}` listens on port {} (SSH)",
                            c.name,
                            port.unwrap_or(22)
                        ),
                        evidence: vec![Evidence::new(
                            t.container_path(&c, &format!("ports[{i}].containerPort")),
                            port.unwrap_or(22),
                        )],
                    });
                }
            }
        }
    }
    // Services that publish SSH's ports (22, and 2222 as SSH servers in containers use).
    for s in ctx.inv.of_kind("Service") {
        for (i, p) in s
            .body
            .at("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let number = |k: &str| p.get(k).and_then(Value::as_i64);
            let Some((field, n)) = [
                ("port", number("port")),
                ("targetPort", number("targetPort")),
            ]
            .into_iter()
            .find_map(|(f, n)| n.filter(|n| *n == 22 || *n == 2222).map(|n| (f, n))) else {
                continue;
            };
            hits.push(Hit {
                severity: None,
                object: s,
                message: format!("Service publishes port {n} (SSH)"),
                evidence: vec![Evidence::new(format!("spec.ports[{i}].{field}"), n)],
            });
        }
    }
    hits
}

fn sudo_entrypoint<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for c in t.containers() {
            for field in ["command", "args"] {
                let Some(parts) = c.container.get(field).and_then(Value::as_array) else {
                    continue;
                };
                let uses_sudo = parts.iter().filter_map(Value::as_str).any(|p| {
                    p == "sudo"
                        || p.ends_with("/sudo")
                        || p.split(|ch: char| {
                            ch.is_whitespace() || ch == ';' || ch == '&' || ch == '|'
                        })
                        .any(|w| w == "sudo")
                });
                if uses_sudo {
                    hits.push(Hit {
                        severity: None,
                        object: t.owner,
                        message: format!("container `{}` runs sudo in its {field}", c.name),
                        evidence: vec![Evidence::new(
                            t.container_path(&c, field),
                            Value::Array(parts.clone()),
                        )],
                    });
                    break;
                }
            }
        }
    }
    hits
}

/// Name prefixes of components Kubernetes, the managed providers and common cluster add-ons run
/// in kube-system.
const SYSTEM_COMPONENTS: &[&str] = &[
    "coredns",
    "kube-dns",
    "kube-proxy",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
    "metrics-server",
    "cluster-autoscaler",
    "konnectivity",
    "aws-node",
    "aws-load-balancer-controller",
    "ebs-csi",
    "efs-csi",
    "eks-pod-identity-agent",
    "vpc-cni",
    "gke-",
    "fluentbit-gke",
    "pdcsi",
    "netd",
    "event-exporter",
    "l7-default-backend",
    "ip-masq-agent",
    "calico",
    "cilium",
    "antrea",
    "weave",
    "flannel",
    "kube-flannel",
    "azure-",
    "cloud-node-manager",
    "csi-azure",
    "csi-",
    "konnectivity-agent",
    "tunnelfront",
    "aks-",
    "omsagent",
    "ama-",
    "secrets-store-csi",
    "node-local-dns",
    "nvidia-",
    "kube-state-metrics",
    "dns-autoscaler",
    "coredns-autoscaler",
];

fn is_system_component(o: &crate::object::Object) -> bool {
    let marked = o.labels.contains_key("addonmanager.kubernetes.io/mode")
        || o.labels
            .get("kubernetes.io/cluster-service")
            .map(String::as_str)
            == Some("true")
        || o.labels.contains_key("eks.amazonaws.com/component")
        || o.labels.contains_key("tier")
            && o.labels.get("tier").map(String::as_str) == Some("control-plane")
        || o.annotations.contains_key("kubernetes.io/config.mirror");
    marked || SYSTEM_COMPONENTS.iter().any(|p| o.name.starts_with(p))
}

fn kube_system_user_workloads<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .pod_templates()
        .into_iter()
        .filter(|t| {
            t.owner.effective_namespace() == Some("kube-system") && !is_system_component(t.owner)
        })
        .map(|t| Hit {
            severity: None,
            object: t.owner,
            message: format!(
                "{} {} runs in kube-system but is not a recognised cluster component",
                t.owner.kind, t.owner.name
            ),
            evidence: vec![Evidence::new("metadata.namespace", "kube-system")],
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod cases;
