//! Pod Security Standards as posture checks: each check runs one upstream PSS rule (the same
//! implementation `kspm pss` uses) on every pod template, plus the namespace-level checks —
//! which namespaces enforce a level, and which workloads their namespace would reject.

use super::Needs;
use super::{Check, Context, Evidence, Hit};
use crate::controls::{c, Framework::*};
use crate::inventory::PodTemplate;
use crate::options::Profile;
use crate::pss::{self, Level, PodView, Version};
use crate::severity::Severity;
use serde_json::Value;

pub(crate) const WORKLOAD_KINDS: &[&str] = crate::inventory::workload_kinds!();

/// Namespaces Kubernetes itself owns; PSA labels there are the platform's business.
pub(crate) const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

fn view<'a>(t: &PodTemplate<'a>) -> PodView<'a> {
    PodView {
        metadata: t.metadata,
        spec: t.spec,
    }
}

fn evidence(t: &PodTemplate<'_>, pod_paths: &[String]) -> Vec<Evidence> {
    pod_paths
        .iter()
        .map(|p| {
            let path = t.owner_path(p);
            let value = t.owner.value_at(&path).cloned().unwrap_or(Value::Null);
            Evidence { path, value }
        })
        .collect()
}

/// Runs one upstream PSS rule (latest policy version) on every pod template.
fn pss_hits<'a>(ctx: &Context<'a>, id: &str) -> Vec<Hit<'a>> {
    ctx.inv
        .pod_templates()
        .into_iter()
        .filter_map(|t| {
            let v = pss::check(id, view(&t), Version::LATEST)?;
            Some(Hit {
                severity: None,
                object: t.owner,
                message: v.message,
                evidence: evidence(&t, &v.paths),
            })
        })
        .collect()
}

macro_rules! pss_run {
    ($name:ident, $id:literal) => {
        fn $name<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
            pss_hits(ctx, $id)
        }
    };
}

pss_run!(privileged, "privileged");
pss_run!(host_ports, "hostPorts");
pss_run!(capabilities_baseline, "capabilities_baseline");
pss_run!(capabilities_restricted, "capabilities_restricted");
pss_run!(allow_privilege_escalation, "allowPrivilegeEscalation");
pss_run!(run_as_user, "runAsUser");
pss_run!(seccomp_restricted, "seccompProfile_restricted");
pss_run!(seccomp_baseline, "seccompProfile_baseline");
pss_run!(app_armor, "appArmorProfile");
pss_run!(selinux, "seLinuxOptions");
pss_run!(proc_mount, "procMount");
pss_run!(sysctls, "sysctls");
pss_run!(windows_host_process, "windowsHostProcess");
pss_run!(host_probes, "hostProbesAndHostLifecycle");
/// PSS `runAsNonRoot`, reported only where a container may really run as root: a container
/// with an explicit non-zero `runAsUser` does not, whatever `runAsNonRoot` says.
fn run_as_non_root<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .pod_templates()
        .into_iter()
        .filter(|t| t.containers().any(|c| !t.runs_as_non_root(&c)))
        .filter_map(|t| {
            let v = pss::check("runAsNonRoot", view(&t), Version::LATEST)?;
            Some(Hit {
                severity: None,
                object: t.owner,
                message: v.message,
                evidence: evidence(&t, &v.paths),
            })
        })
        .collect()
}

/// Volume sources the restricted profile allows.
const ALLOWED_SOURCES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Restricted volume types other than hostPath (hostPath has its own checks, W-005/21/22).
fn restricted_volumes<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .pod_templates()
        .into_iter()
        .filter_map(|t| {
            let mut spec = t.spec.clone();
            if let Some(vols) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
                vols.retain(|v| v.get("hostPath").is_none());
            }
            let v = pss::check(
                "restrictedVolumes",
                PodView {
                    metadata: t.metadata,
                    spec: &spec,
                },
                Version::LATEST,
            )?;
            // Evidence indexes the original volume list (the filtered copy's indices differ).
            let evidence = t
                .spec
                .get("volumes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .filter(|(_, vol)| vol.get("hostPath").is_none())
                .filter(|(_, vol)| {
                    vol.as_object().is_some_and(|m| {
                        m.len() > 1 && !m.keys().any(|k| ALLOWED_SOURCES.contains(&k.as_str()))
                    })
                })
                .map(|(i, vol)| Evidence::new(t.path(&format!("volumes[{i}]")), vol.clone()))
                .collect();
            Some(Hit {
                severity: None,
                object: t.owner,
                message: v.message,
                evidence,
            })
        })
        .collect()
}

/// The Pod Security checks.
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
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: privileged,
    },
    Check {
        id: "KSPM-W-006",
        title: "Container binds a host port",
        severity: Severity::Medium,
        description: "A hostPort binds the container to the node's network interface, bypassing Service and NetworkPolicy controls and pinning the pod to nodes where the port is free.",
        remediation: "Remove `ports[].hostPort`; expose the container through a Service.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.2.13"),
            c(NsaCisa, "N8"),
            c(Pss, "baseline:hostPorts"),
            c(Soc2, "CC6.6"),
            c(PciDss, "1.3.1"),
            c(Iso27001, "A.8.22"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: host_ports,
    },
    Check {
        id: "KSPM-W-007",
        title: "Container adds capabilities beyond the default set",
        severity: Severity::High,
        description: "Capabilities outside the container runtime's default set (for example NET_RAW, SYS_ADMIN, NET_ADMIN) widen what a compromised process can do to the node and the pod network.",
        remediation: "Remove the extra entries from `securityContext.capabilities.add`; keep only what the process demonstrably needs.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.2.8"),
            c(CisKubernetes, "5.2.9"),
            c(NsaCisa, "N6"),
            c(Pss, "baseline:capabilities_baseline"),
            c(Soc2, "CC6.1"),
            c(PciDss, "2.2.1"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: capabilities_baseline,
    },
    Check {
        id: "KSPM-W-008",
        title: "Container does not drop all capabilities",
        severity: Severity::Low,
        description: "Without `capabilities.drop: [ALL]` the container keeps the runtime's default capabilities (CHOWN, DAC_OVERRIDE, SETUID, NET_BIND_SERVICE, ...), which a compromised process can use.",
        remediation: "Set `securityContext.capabilities.drop: [\"ALL\"]` and add back only NET_BIND_SERVICE if needed.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(CisKubernetes, "5.7.3"), 
            c(CisKubernetes, "5.2.10"),
            c(NsaCisa, "N6"),
            c(Pss, "restricted:capabilities_restricted"),
            c(PciDss, "2.2.1"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: capabilities_restricted,
    },
    Check {
        id: "KSPM-W-009",
        title: "Container allows privilege escalation",
        severity: Severity::Medium,
        description: "Unless `allowPrivilegeEscalation` is false, a process can gain more privileges than its parent (setuid binaries, file capabilities).",
        remediation: "Set `securityContext.allowPrivilegeEscalation: false` on every container.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(CisKubernetes, "5.7.3"), 
            c(CisKubernetes, "5.2.6"),
            c(CisEks, "4.2.5"),
            c(CisAks, "4.2.5"),
            c(NsaCisa, "N5"),
            c(Pss, "restricted:allowPrivilegeEscalation"),
            c(Soc2, "CC6.1"),
            c(PciDss, "2.2.1"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: allow_privilege_escalation,
    },
    Check {
        id: "KSPM-W-010",
        title: "Container may run as root",
        severity: Severity::Medium,
        description: "Unless `runAsNonRoot: true` is set (on the pod or the container), the image decides the user, and most images run as root: a container escape then lands as root on the node.",
        remediation: "Set `securityContext.runAsNonRoot: true` (pod level) and a non-zero `runAsUser`; build images with a non-root USER.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(CisKubernetes, "5.7.3"), 
            c(CisKubernetes, "5.2.7"),
            c(NsaCisa, "N1"),
            c(Pss, "restricted:runAsNonRoot"),
            c(Soc2, "CC6.1"),
            c(PciDss, "2.2.1"),
            c(Iso27001, "A.8.2"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: run_as_non_root,
    },
    Check {
        id: "KSPM-W-011",
        title: "Container runs as UID 0",
        severity: Severity::High,
        description: "`runAsUser: 0` explicitly runs the container as root.",
        remediation: "Set `runAsUser` to a non-zero UID and `runAsNonRoot: true`.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.2.7"),
            c(NsaCisa, "N1"),
            c(Pss, "restricted:runAsUser"),
            c(Soc2, "CC6.1"),
            c(PciDss, "2.2.1"),
            c(Iso27001, "A.8.2"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: run_as_user,
    },
    Check {
        id: "KSPM-W-012",
        title: "Seccomp profile not set to RuntimeDefault or Localhost",
        severity: Severity::Low,
        description: "Without a seccomp profile the container can make every system call, including the rarely needed ones most kernel exploits use.",
        remediation: "Set `securityContext.seccompProfile.type: RuntimeDefault` at pod level (or Localhost with a profile).",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.7.2"),
            c(NsaCisa, "N7"),
            c(Pss, "restricted:seccompProfile_restricted"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: seccomp_restricted,
    },
    Check {
        id: "KSPM-W-013",
        title: "Seccomp explicitly disabled",
        severity: Severity::High,
        description: "A seccomp profile of `Unconfined` (or the legacy `unconfined` annotation) removes the runtime's default system-call filter.",
        remediation: "Use `seccompProfile.type: RuntimeDefault` (or Localhost).",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.7.2"),
            c(NsaCisa, "N7"),
            c(Pss, "baseline:seccompProfile_baseline"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: seccomp_baseline,
    },
    Check {
        id: "KSPM-W-014",
        title: "AppArmor profile overridden",
        severity: Severity::High,
        description: "Setting the AppArmor profile to `Unconfined` (or any value other than the runtime default or a localhost profile) removes mandatory access control from the container.",
        remediation: "Remove the override, or use `appArmorProfile.type: RuntimeDefault` / `Localhost`.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(NsaCisa, "N7"),
            c(Pss, "baseline:appArmorProfile"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: app_armor,
    },
    Check {
        id: "KSPM-W-015",
        title: "Custom SELinux type, user or role",
        severity: Severity::High,
        description: "Setting an SELinux type other than the container types, or any user or role, can lift the container out of its SELinux confinement (e.g. `spc_t`).",
        remediation: "Remove `seLinuxOptions.type`, `.user` and `.role` (keep `level` if needed).",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(NsaCisa, "N7"),
            c(Pss, "baseline:seLinuxOptions"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: selinux,
    },
    Check {
        id: "KSPM-W-016",
        title: "Unmasked /proc mount",
        severity: Severity::High,
        description: "`procMount: Unmasked` exposes kernel interfaces under /proc that the runtime normally masks.",
        remediation: "Remove `securityContext.procMount` (or set it to `Default`).",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(NsaCisa, "N7"),
            c(Pss, "baseline:procMount"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: proc_mount,
    },
    Check {
        id: "KSPM-W-017",
        title: "Unsafe sysctls",
        severity: Severity::High,
        description: "Sysctls outside the namespaced safe set can change kernel behaviour for every pod on the node.",
        remediation: "Remove the sysctl, or set it on the node through the node's configuration.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(NsaCisa, "N7"),
            c(Pss, "baseline:sysctls"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: sysctls,
    },
    Check {
        id: "KSPM-W-018",
        title: "Windows HostProcess container",
        severity: Severity::Critical,
        description: "A Windows HostProcess container runs directly on the host with the node's privileges.",
        remediation: "Remove `windowsOptions.hostProcess: true`.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.2.11"),
            c(NsaCisa, "N3"),
            c(Pss, "baseline:windowsHostProcess"),
            c(Iso27001, "A.8.2"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: windows_host_process,
    },
    Check {
        id: "KSPM-W-019",
        title: "Probe or lifecycle handler targets another host",
        severity: Severity::Medium,
        description: "A `host` on an httpGet/tcpSocket probe or lifecycle hook makes the kubelet connect to an arbitrary address from the node's network (a server-side request forgery primitive).",
        remediation: "Remove the `host` field so the kubelet targets the pod's own IP.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(Pss, "baseline:hostProbesAndHostLifecycle"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: host_probes,
    },
    Check {
        id: "KSPM-W-020",
        title: "Volume type outside the restricted set",
        severity: Severity::Low,
        description: "Volume types such as nfs, iscsi, gitRepo or cloud disks attach storage directly to the node on the pod's behalf; the restricted profile allows only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret.",
        remediation: "Use a PersistentVolumeClaim (the cluster admin provisions the volume) or one of the allowed types.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(Pss, "restricted:restrictedVolumes"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.4.3"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: restricted_volumes,
    },
    Check {
        id: "KSPM-P-001",
        title: "Namespace does not enforce a Pod Security level",
        severity: Severity::Medium,
        description: "Without a `pod-security.kubernetes.io/enforce` label of baseline or restricted (and no Kyverno or Gatekeeper policy engine in the cluster), nothing stops a privileged pod from being created in the namespace.",
        remediation: "Label the namespace `pod-security.kubernetes.io/enforce: restricted` (or `baseline`), with `enforce-version` pinned, after checking with `kspm pss` that its workloads pass.",
        kinds: &["Namespace"],
        controls: &[
            c(CisKubernetes, "5.2.1"),
            c(CisGke, "4.2.1"),
            c(NsaCisa, "N9"),
            c(Soc2, "CC8.1"),
            c(PciDss, "2.2.1"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.3.2"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: namespace_without_enforcement,
    },
    Check {
        id: "KSPM-P-002",
        title: "Workload violates its namespace's enforced Pod Security level",
        severity: Severity::High,
        description: "The namespace enforces a Pod Security level that this workload's pods fail: new pods (a rollout, a restart, a rescheduling) will be rejected, or the pod predates the label and runs outside the policy its namespace claims.",
        remediation: "Fix the pod template so it passes the level (see the listed checks), or, if the exception is deliberate, run it in a namespace with a lower level.",
        kinds: WORKLOAD_KINDS,
        controls: &[
            c(CisKubernetes, "5.2.1"),
            c(NsaCisa, "N9"),
            c(Soc2, "CC8.1"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.3.2"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: workload_violates_namespace_level,
    },
    Check {
        id: "KSPM-P-003",
        title: "Namespace enforces baseline, not restricted",
        severity: Severity::Low,
        description: "Baseline stops known privilege escalations (privileged, host namespaces, hostPath) but still admits pods running as root, with the runtime's default capabilities and no seccomp profile. CIS 5.2.x and NSA/CISA recommend the restricted level for application namespaces.",
        remediation: "Run `kspm pss --level restricted` on the namespace's workloads, fix what fails (runAsNonRoot, drop ALL, seccompProfile RuntimeDefault, allowPrivilegeEscalation: false), then set `pod-security.kubernetes.io/enforce: restricted`.",
        kinds: &["Namespace"],
        controls: &[
            c(CisKubernetes, "5.2.1"),
            c(NsaCisa, "N9"),
            c(Iso27001, "A.8.9"),
            c(Nist800190, "4.3.2"),
        ],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: namespace_enforces_baseline,
    },
];

fn namespace_enforces_baseline<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .of_kind("Namespace")
        .iter()
        .filter(|ns| !SYSTEM_NAMESPACES.contains(&ns.name.as_str()))
        .filter(|ns| {
            ns.labels
                .get("pod-security.kubernetes.io/enforce")
                .map(String::as_str)
                == Some("baseline")
        })
        .map(|ns| Hit {
            severity: None,
            object: ns,
            message: "namespace enforces the baseline Pod Security level; restricted would also require non-root, dropped capabilities and a seccomp profile".to_string(),
            evidence: vec![Evidence::new(
                "metadata.labels[pod-security.kubernetes.io/enforce]",
                "baseline",
            )],
        })
        .collect()
}

/// Whether an admission policy engine (Kyverno, Gatekeeper, ValidatingAdmissionPolicy) is
/// installed: CIS 5.2.1 accepts one in place of PSA labels.
fn has_policy_engine(ctx: &Context<'_>) -> bool {
    let crd_named = |suffix: &str| {
        ctx.inv
            .of_kind("CustomResourceDefinition")
            .iter()
            .any(|c| c.name.ends_with(suffix))
    };
    crd_named(".kyverno.io")
        || crd_named(".gatekeeper.sh")
        || !ctx
            .inv
            .of_kind("ValidatingAdmissionPolicyBinding")
            .is_empty()
}

fn namespace_without_enforcement<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    if has_policy_engine(ctx) {
        return Vec::new();
    }
    ctx.inv
        .of_kind("Namespace")
        .iter()
        .filter(|ns| !SYSTEM_NAMESPACES.contains(&ns.name.as_str()))
        .filter_map(|ns| {
            let label = ns.labels.get("pod-security.kubernetes.io/enforce");
            // audit and warn only report violations; they do not stop a pod.
            let report_only: Vec<String> = ["audit", "warn"]
                .iter()
                .filter_map(|mode| {
                    let l = ns.labels.get(&format!("pod-security.kubernetes.io/{mode}"))?;
                    Some(format!("{mode}={l}"))
                })
                .collect();
            let message = match label.map(String::as_str) {
                None if !report_only.is_empty() => format!(
                    "namespace has no pod-security.kubernetes.io/enforce label ({} only report violations)",
                    report_only.join(", ")
                ),
                None => "namespace has no pod-security.kubernetes.io/enforce label".to_string(),
                Some("privileged") => "namespace enforces the privileged level (no restrictions)".to_string(),
                Some("baseline") | Some("restricted") => return None,
                Some(other) => format!("namespace's enforce label has the invalid level {other:?} (PSA falls back to its default)"),
            };
            Some(Hit {
                severity: None,
                object: ns,
                message,
                evidence: vec![Evidence::new(
                    "metadata.labels[pod-security.kubernetes.io/enforce]",
                    label.map(|l| Value::String(l.clone())).unwrap_or(Value::Null),
                )],
            })
        })
        .collect()
}

fn workload_violates_namespace_level<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let levels: std::collections::HashMap<&str, (Level, Version)> = ctx
        .inv
        .of_kind("Namespace")
        .iter()
        .filter_map(|ns| Some((ns.name.as_str(), crate::pss::enforced_level(ns)?)))
        .collect();
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        let Some(ns) = t.owner.effective_namespace() else {
            continue;
        };
        let Some(&(level, version)) = levels.get(ns) else {
            continue;
        };
        let violations = pss::evaluate(view(&t), level, version);
        if violations.is_empty() {
            continue;
        }
        let ids: Vec<&str> = violations.iter().map(|v| v.check).collect();
        let paths: Vec<String> = violations.iter().flat_map(|v| v.paths.clone()).collect();
        hits.push(Hit {
            severity: None,
            object: t.owner,
            message: format!(
                "namespace {ns} enforces {level} {version}; the pod fails {}",
                ids.join(", ")
            ),
            evidence: evidence(&t, &paths),
        });
    }
    hits
}

#[cfg(test)]
pub(crate) mod cases;
