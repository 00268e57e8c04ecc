//! Framework control catalogues: every control kspm reports on, with its title, and for the
//! controls no check can judge from cluster data, why. Frameworks without a catalogue here
//! (SOC 2, PCI DSS, HIPAA, ISO 27001, NIST 800-190) list the controls the checks map to.

use crate::controls::Framework;

/// One control of a framework catalogue.
#[derive(Debug, Clone, Copy)]
pub struct ControlDef {
    /// Control ID (CIS v1.10 numbering for CIS Kubernetes).
    pub id: &'static str,
    /// Short title.
    pub title: &'static str,
    /// Why it cannot be assessed from cluster data, for controls no check covers.
    pub manual: Option<&'static str>,
}

const fn a(id: &'static str, title: &'static str) -> ControlDef {
    ControlDef {
        id,
        title,
        manual: None,
    }
}

const fn m(id: &'static str, title: &'static str, why: &'static str) -> ControlDef {
    ControlDef {
        id,
        title,
        manual: Some(why),
    }
}

/// CIS Kubernetes Benchmark v1.10, sections 1.2–1.4 and 2 (self-managed control planes), 3.2
/// (audit), 4.2 (kubelet) and 5 (policies).
pub static CIS_KUBERNETES: &[ControlDef] = &[
    a("1.2.1", "API server --anonymous-auth set to false"),
    a("1.2.2", "API server --token-auth-file not set"),
    m(
        "1.2.3",
        "DenyServiceExternalIPs admission plugin set",
        "whether Services may use external IPs is a site decision (CIS: manual)",
    ),
    a("1.2.4", "API server kubelet client certificate and key set"),
    a("1.2.5", "API server --kubelet-certificate-authority set"),
    a("1.2.6", "API server --authorization-mode not AlwaysAllow"),
    a("1.2.7", "API server --authorization-mode includes Node"),
    a("1.2.8", "API server --authorization-mode includes RBAC"),
    m(
        "1.2.9",
        "EventRateLimit admission plugin set",
        "rate limits depend on the cluster's load (CIS: manual)",
    ),
    a("1.2.10", "AlwaysAdmit admission plugin not set"),
    m(
        "1.2.11",
        "AlwaysPullImages admission plugin set",
        "trades image-pull load against private-image isolation (CIS: manual)",
    ),
    a("1.2.12", "ServiceAccount admission plugin set"),
    a("1.2.13", "NamespaceLifecycle admission plugin set"),
    a("1.2.14", "NodeRestriction admission plugin set"),
    a("1.2.15", "API server --profiling set to false"),
    a("1.2.16", "API server --audit-log-path set"),
    a("1.2.17", "API server --audit-log-maxage at least 30"),
    a("1.2.18", "API server --audit-log-maxbackup at least 10"),
    a("1.2.19", "API server --audit-log-maxsize at least 100"),
    m(
        "1.2.20",
        "API server --request-timeout appropriate",
        "the right timeout depends on the workloads (CIS: manual)",
    ),
    a("1.2.21", "API server --service-account-lookup set to true"),
    a("1.2.22", "API server --service-account-key-file set"),
    a(
        "1.2.23",
        "API server --etcd-certfile and --etcd-keyfile set",
    ),
    a(
        "1.2.24",
        "API server --tls-cert-file and --tls-private-key-file set",
    ),
    a("1.2.25", "API server --client-ca-file set"),
    a("1.2.26", "API server --etcd-cafile set"),
    a("1.2.27", "API server --encryption-provider-config set"),
    m(
        "1.2.28",
        "Encryption providers appropriately configured",
        "the EncryptionConfiguration file lives on the control-plane host, outside the API",
    ),
    m(
        "1.2.29",
        "API server uses strong cryptographic ciphers only",
        "depends on the clients the site must support (CIS: manual)",
    ),
    m(
        "1.3.1",
        "Controller manager --terminated-pod-gc-threshold set",
        "the threshold depends on the cluster's size (CIS: manual)",
    ),
    a("1.3.2", "Controller manager --profiling set to false"),
    a(
        "1.3.3",
        "Controller manager --use-service-account-credentials set to true",
    ),
    a(
        "1.3.4",
        "Controller manager --service-account-private-key-file set",
    ),
    a("1.3.5", "Controller manager --root-ca-file set"),
    a("1.3.6", "RotateKubeletServerCertificate set to true"),
    a(
        "1.3.7",
        "Controller manager --bind-address set to 127.0.0.1",
    ),
    a("1.4.1", "Scheduler --profiling set to false"),
    a("1.4.2", "Scheduler --bind-address set to 127.0.0.1"),
    a("2.1", "etcd --cert-file and --key-file set"),
    a("2.2", "etcd --client-cert-auth set to true"),
    a("2.3", "etcd --auto-tls not set to true"),
    a("2.4", "etcd --peer-cert-file and --peer-key-file set"),
    a("2.5", "etcd --peer-client-cert-auth set to true"),
    a("2.6", "etcd --peer-auto-tls not set to true"),
    m(
        "2.7",
        "A unique certificate authority for etcd",
        "comparing CA files needs the control-plane host's file system",
    ),
    a("3.2.1", "A minimal audit policy is created"),
    a("4.2.1", "Kubelet anonymous auth disabled"),
    a("4.2.2", "Kubelet authorization mode not AlwaysAllow"),
    a("4.2.3", "Kubelet client CA file set"),
    a("4.2.4", "Kubelet read-only port disabled"),
    a("4.2.5", "Kubelet streaming connection idle timeout not 0"),
    a("4.2.6", "Kubelet makes iptables util chains"),
    m(
        "4.2.7",
        "Kubelet hostname-override not set",
        "a kubelet flag, not part of the configz output",
    ),
    m(
        "4.2.8",
        "Kubelet eventRecordQPS appropriate",
        "depends on site policy for event capture",
    ),
    a("4.2.9", "Kubelet TLS certificate and key set"),
    a("4.2.10", "Kubelet rotates client certificates"),
    a("4.2.11", "Kubelet RotateKubeletServerCertificate enabled"),
    a("4.2.12", "Kubelet uses strong ciphers only"),
    a("4.2.13", "Kubelet pod PID limit set"),
    a("4.2.14", "Kubelet seccompDefault enabled (v1.12)"),
    a("5.1.1", "cluster-admin used only where required"),
    a("5.1.2", "Minimize access to secrets"),
    a("5.1.3", "Minimize wildcard use in Roles and ClusterRoles"),
    a("5.1.4", "Minimize access to create pods"),
    a("5.1.5", "Default service accounts are not actively used"),
    a(
        "5.1.6",
        "Service account tokens are only mounted where necessary",
    ),
    a("5.1.7", "Avoid use of the system:masters group"),
    a("5.1.8", "Limit Bind, Impersonate and Escalate permissions"),
    a("5.1.9", "Minimize access to create persistent volumes"),
    a(
        "5.1.10",
        "Minimize access to the proxy sub-resource of nodes",
    ),
    a(
        "5.1.11",
        "Minimize access to the approval sub-resource of CSRs",
    ),
    a("5.1.12", "Minimize access to webhook configuration objects"),
    a(
        "5.1.13",
        "Minimize access to the service account token creation",
    ),
    a(
        "5.2.1",
        "At least one active policy control mechanism in place",
    ),
    a("5.2.2", "Minimize the admission of privileged containers"),
    a(
        "5.2.3",
        "Minimize the admission of containers sharing the host PID namespace",
    ),
    a(
        "5.2.4",
        "Minimize the admission of containers sharing the host IPC namespace",
    ),
    a(
        "5.2.5",
        "Minimize the admission of containers sharing the host network namespace",
    ),
    a(
        "5.2.6",
        "Minimize the admission of containers with allowPrivilegeEscalation",
    ),
    a("5.2.7", "Minimize the admission of root containers"),
    a(
        "5.2.8",
        "Minimize the admission of containers with the NET_RAW capability",
    ),
    a(
        "5.2.9",
        "Minimize the admission of containers with added capabilities",
    ),
    a(
        "5.2.10",
        "Minimize the admission of containers with capabilities assigned",
    ),
    a(
        "5.2.11",
        "Minimize the admission of Windows HostProcess containers",
    ),
    a("5.2.12", "Minimize the admission of HostPath volumes"),
    a(
        "5.2.13",
        "Minimize the admission of containers which use HostPorts",
    ),
    m(
        "5.3.1",
        "The CNI in use supports NetworkPolicies",
        "needs the CNI plugin's capabilities (not judged from objects yet)",
    ),
    a("5.3.2", "All namespaces have NetworkPolicies defined"),
    a(
        "5.4.1",
        "Prefer using secrets as files over environment variables",
    ),
    m(
        "5.4.2",
        "Consider external secret storage",
        "a design review, not a cluster setting",
    ),
    a("5.5.1", "Configure image provenance"),
    m(
        "5.7.1",
        "Create administrative boundaries between resources using namespaces",
        "an organisational review",
    ),
    a(
        "5.7.2",
        "Seccomp profile set to docker/default in pod definitions",
    ),
    a("5.7.3", "Apply SecurityContext to pods and containers"),
    a("5.7.4", "The default namespace should not be used"),
];

/// CIS Kubernetes v1.12 renumbering of v1.10 IDs (where they differ).
pub static CIS_V1_12_ALIASES: &[(&str, &str)] = &[
    ("5.2.10", "5.2.9"),
    ("5.2.11", "5.2.10"),
    ("5.2.12", "5.2.11"),
    ("5.2.13", "5.2.12"),
    ("5.7.1", "5.6.1"),
    ("5.7.2", "5.6.2"),
    ("5.7.3", "5.6.3"),
    ("5.7.4", "5.6.4"),
];

/// NSA/CISA Kubernetes Hardening Guidance v1.2, as numbered in CONTROLS.md §5.
pub static NSA_CISA: &[ControlDef] = &[
    a("N1", "Run containers as non-root users"),
    a("N2", "Immutable container filesystems"),
    a("N3", "No privileged containers"),
    a("N4", "No host PID, IPC or network sharing"),
    a("N5", "Block privilege escalation"),
    a("N6", "Drop capabilities"),
    a("N7", "Kernel hardening: seccomp, AppArmor, SELinux"),
    a("N8", "Restrict hostPath and hostPort"),
    a("N9", "Enforce pod security with Pod Security Admission"),
    a("N10", "Protect service account tokens"),
    m(
        "N11",
        "Sandboxed runtimes for untrusted workloads",
        "needs a list of untrusted workloads",
    ),
    a("N12", "Scan images and use trusted sources"),
    a("N13", "Use namespaces for separation"),
    a("N14", "Default-deny network policies"),
    a(
        "N15",
        "Resource policies (LimitRange, ResourceQuota, limits)",
    ),
    m(
        "N16",
        "Control plane hardening and encryption at rest",
        "needs the provider's cluster description (cloud collectors)",
    ),
    a(
        "N17",
        "Restrict network access to the control plane and node ports",
    ),
    a("N18", "Kubelet hardening"),
    m(
        "N19",
        "Block access to cloud metadata endpoints",
        "needs node-pool metadata settings (cloud collectors)",
    ),
    a("N20", "Disable anonymous access; strong authentication"),
    a("N21", "RBAC with least privilege"),
    m(
        "N22",
        "Audit logging",
        "needs the provider's cluster description (cloud collectors)",
    ),
    m(
        "N23",
        "Log collection and threat detection",
        "a runtime capability, not visible in configuration",
    ),
    m(
        "N24",
        "Service mesh mTLS",
        "optional hardening; no check yet",
    ),
    a("N25", "Patch promptly; remove unused components"),
    m(
        "N26",
        "Periodic vulnerability scanning",
        "needs image scan data",
    ),
];

/// The catalogue of a framework, if kspm carries one.
pub fn catalogue(framework: Framework) -> Option<&'static [ControlDef]> {
    match framework {
        Framework::CisKubernetes => Some(CIS_KUBERNETES),
        Framework::NsaCisa => Some(NSA_CISA),
        _ => None,
    }
}

/// The v1.12 ID of a CIS Kubernetes v1.10 control.
pub fn cis_v1_12_id(id: &str) -> &str {
    CIS_V1_12_ALIASES
        .iter()
        .find(|(old, _)| *old == id)
        .map(|(_, new)| *new)
        .unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::catalogue as checks;

    #[test]
    fn every_mapped_control_is_in_its_catalogue_and_every_automated_one_is_mapped() {
        for fw in [Framework::CisKubernetes, Framework::NsaCisa] {
            let cat = catalogue(fw).expect("catalogue");
            let mapped: Vec<&str> = checks()
                .iter()
                .flat_map(|c| c.controls.iter())
                .filter(|c| c.framework == fw)
                .map(|c| c.id)
                .collect();
            for id in &mapped {
                assert!(
                    cat.iter().any(|d| d.id == *id),
                    "{fw:?} {id} is mapped but not in the catalogue"
                );
            }
            for d in cat.iter().filter(|d| d.manual.is_none()) {
                assert!(
                    mapped.contains(&d.id),
                    "{fw:?} {} has no check and no reason",
                    d.id
                );
            }
        }
    }
}
