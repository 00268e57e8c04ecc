//! Self-managed control planes (CIS Kubernetes 1.2–1.4 and 2): the flags of the API server,
//! controller manager, scheduler and etcd. They come from the components' static pods (kubeadm's
//! mirror pods as the API lists them, or manifests copied from `/etc/kubernetes/manifests`),
//! recognised by the binary their container runs, not by name or label; without a static pod,
//! from the kubeadm `ClusterConfiguration` (ConfigMap `kube-system/kubeadm-config`): its
//! `extraArgs` over the flags kubeadm itself generates. Managed control planes (EKS, GKE, AKS)
//! show neither: their controls are "not assessable" and the provider's benchmark applies.
//!
//! A flag missing from the command line takes the component's upstream default, which is what
//! each rule judges (`--authorization-mode` defaults to AlwaysAllow, `--profiling` to true,
//! the controller manager's `--bind-address` to 0.0.0.0, etcd's `--client-cert-auth` to false).

use super::{Check, Context, Evidence, Hit, Needs};
use crate::controls::{c, Control, Framework::*};
use crate::object::Object;
use crate::options::Profile;
use crate::pointer::Pointer as _;
use crate::severity::Severity;
use serde_json::Value;
use std::collections::BTreeMap;

/// A control-plane component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// kube-apiserver.
    ApiServer,
    /// kube-controller-manager.
    ControllerManager,
    /// kube-scheduler.
    Scheduler,
    /// etcd.
    Etcd,
}

impl Component {
    /// The binary its container runs.
    pub fn binary(self) -> &'static str {
        match self {
            Component::ApiServer => "kube-apiserver",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
            Component::Etcd => "etcd",
        }
    }

    /// The `ClusterConfiguration` field holding its `extraArgs`.
    fn kubeadm_field(self) -> &'static str {
        match self {
            Component::ApiServer => "apiServer",
            Component::ControllerManager => "controllerManager",
            Component::Scheduler => "scheduler",
            Component::Etcd => "etcd.local",
        }
    }

    /// The flags kubeadm generates for the component (paths as kubeadm writes them): what a
    /// `ClusterConfiguration` without `extraArgs` runs.
    fn kubeadm_defaults(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Component::ApiServer => &[
                ("allow-privileged", "true"),
                ("authorization-mode", "Node,RBAC"),
                ("client-ca-file", "/etc/kubernetes/pki/ca.crt"),
                ("enable-admission-plugins", "NodeRestriction"),
                ("enable-bootstrap-token-auth", "true"),
                ("etcd-cafile", "/etc/kubernetes/pki/etcd/ca.crt"),
                (
                    "etcd-certfile",
                    "/etc/kubernetes/pki/apiserver-etcd-client.crt",
                ),
                (
                    "etcd-keyfile",
                    "/etc/kubernetes/pki/apiserver-etcd-client.key",
                ),
                ("etcd-servers", "https://127.0.0.1:2379"),
                (
                    "kubelet-client-certificate",
                    "/etc/kubernetes/pki/apiserver-kubelet-client.crt",
                ),
                (
                    "kubelet-client-key",
                    "/etc/kubernetes/pki/apiserver-kubelet-client.key",
                ),
                ("secure-port", "6443"),
                (
                    "service-account-issuer",
                    "https://kubernetes.default.svc.cluster.local",
                ),
                ("service-account-key-file", "/etc/kubernetes/pki/sa.pub"),
                (
                    "service-account-signing-key-file",
                    "/etc/kubernetes/pki/sa.key",
                ),
                ("tls-cert-file", "/etc/kubernetes/pki/apiserver.crt"),
                ("tls-private-key-file", "/etc/kubernetes/pki/apiserver.key"),
            ],
            Component::ControllerManager => &[
                ("bind-address", "127.0.0.1"),
                ("client-ca-file", "/etc/kubernetes/pki/ca.crt"),
                ("cluster-signing-cert-file", "/etc/kubernetes/pki/ca.crt"),
                ("cluster-signing-key-file", "/etc/kubernetes/pki/ca.key"),
                ("controllers", "*,bootstrapsigner,tokencleaner"),
                ("kubeconfig", "/etc/kubernetes/controller-manager.conf"),
                ("leader-elect", "true"),
                ("root-ca-file", "/etc/kubernetes/pki/ca.crt"),
                (
                    "service-account-private-key-file",
                    "/etc/kubernetes/pki/sa.key",
                ),
                ("use-service-account-credentials", "true"),
            ],
            Component::Scheduler => &[
                ("bind-address", "127.0.0.1"),
                ("kubeconfig", "/etc/kubernetes/scheduler.conf"),
                ("leader-elect", "true"),
            ],
            Component::Etcd => &[
                ("cert-file", "/etc/kubernetes/pki/etcd/server.crt"),
                ("client-cert-auth", "true"),
                ("key-file", "/etc/kubernetes/pki/etcd/server.key"),
                ("peer-cert-file", "/etc/kubernetes/pki/etcd/peer.crt"),
                ("peer-client-cert-auth", "true"),
                ("peer-key-file", "/etc/kubernetes/pki/etcd/peer.key"),
                ("peer-trusted-ca-file", "/etc/kubernetes/pki/etcd/ca.crt"),
                ("trusted-ca-file", "/etc/kubernetes/pki/etcd/ca.crt"),
            ],
        }
    }
}

const COMPONENTS: [Component; 4] = [
    Component::ApiServer,
    Component::ControllerManager,
    Component::Scheduler,
    Component::Etcd,
];

/// One component's effective flags and where they were read.
pub struct Flags<'a> {
    /// The static pod or the kubeadm-config ConfigMap.
    pub object: &'a Object,
    /// The component.
    pub component: Component,
    /// Flag name (without `--`) → value (`true` for a bare flag).
    pub values: BTreeMap<String, String>,
    /// The field that holds a flag, for evidence (`{flag}` is replaced).
    field: String,
}

impl Flags<'_> {
    fn get(&self, flag: &str) -> Option<&str> {
        self.values.get(flag).map(String::as_str)
    }

    /// Whether a comma-separated flag lists `item`.
    fn lists(&self, flag: &str, item: &str) -> bool {
        self.get(flag)
            .is_some_and(|v| v.split(',').any(|x| x.trim() == item))
    }

    fn evidence(&self, flag: &str) -> Evidence {
        Evidence::new(
            self.field.replace("{flag}", flag),
            self.get(flag)
                .map_or(Value::Null, |v| Value::String(v.to_string())),
        )
    }
}

/// Flags whose values add up when repeated (string slices); any other flag's last value wins.
const LIST_FLAGS: &[&str] = &[
    "authorization-mode",
    "enable-admission-plugins",
    "disable-admission-plugins",
    "feature-gates",
];

/// Adds one flag occurrence, as the component's flag parser would.
fn set_flag(out: &mut BTreeMap<String, String>, k: &str, v: &str) {
    match out.get_mut(k) {
        Some(existing) if LIST_FLAGS.contains(&k) => {
            existing.push(',');
            existing.push_str(v);
        }
        _ => {
            out.insert(k.to_string(), v.to_string());
        }
    }
}

/// A container's flags (`command` then `args`), as [`parse_flags`] reads them; the binary and
/// other positional words are not flags.
pub(crate) fn command_flags(container: &Value) -> BTreeMap<String, String> {
    parse_flags(crate::inventory::command_words(container))
}

/// Parses `--name=value`, `--name value` and bare `--name` words.
fn parse_flags<'w>(words: impl IntoIterator<Item = &'w str>) -> BTreeMap<String, String> {
    let words: Vec<&str> = words.into_iter().collect();
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < words.len() {
        if let Some(flag) = words[i].strip_prefix("--") {
            match flag.split_once('=') {
                Some((k, v)) => set_flag(&mut out, k, v),
                None => match words.get(i + 1).filter(|n| !n.starts_with("--")) {
                    Some(v) => {
                        set_flag(&mut out, flag, v);
                        i += 1;
                    }
                    None => set_flag(&mut out, flag, "true"),
                },
            }
        }
        i += 1;
    }
    out
}

/// The component a container runs, from its first command word (or first arg).
fn component_of(container: &Value) -> Option<Component> {
    let first = ["command", "args"].iter().find_map(|k| {
        container
            .get(*k)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
    })?;
    let binary = first.rsplit('/').next().unwrap_or(first);
    COMPONENTS.iter().copied().find(|c| c.binary() == binary)
}

/// Every control-plane component's flags the inventory shows: static pods first; the kubeadm
/// configuration for components without one.
pub fn control_plane_flags<'a>(ctx: &Context<'a>) -> Vec<Flags<'a>> {
    let mut out: Vec<Flags<'a>> = Vec::new();
    // The cluster's own components run in kube-system; an etcd or API server elsewhere
    // (vcluster, Kamaji, an application's etcd) is a workload, not this control plane.
    for pod in ctx
        .inv
        .of_kind("Pod")
        .iter()
        .filter(|p| p.effective_namespace() == Some("kube-system"))
    {
        for (i, container) in pod
            .body
            .at("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(component) = component_of(container) else {
                continue;
            };
            out.push(Flags {
                object: pod,
                component,
                values: command_flags(container),
                field: format!("spec.containers[{i}] command line: --{{flag}}"),
            });
        }
    }
    let kubeadm = ctx
        .inv
        .of_kind("ConfigMap")
        .iter()
        .find(|m| m.name == "kubeadm-config" && m.effective_namespace() == Some("kube-system"));
    let config: Option<(&Object, Value)> = kubeadm.and_then(|m| {
        let text = m.body.at("/data/ClusterConfiguration")?.as_str()?;
        Some((*m, crate::yaml::value(text).ok()?))
    });
    if let Some((m, cfg)) = config {
        for component in COMPONENTS {
            if out.iter().any(|f| f.component == component) {
                continue;
            }
            if component == Component::Etcd && cfg.at("/etcd/external").is_some() {
                continue;
            }
            let field = component.kubeadm_field();
            let pointer = format!("/{}/extraArgs", field.replace('.', "/"));
            let mut values: BTreeMap<String, String> = component
                .kubeadm_defaults()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            if component == Component::ApiServer {
                if let Some(external) = cfg.at("/etcd/external") {
                    // An external etcd: the API server uses its endpoints and certificates.
                    for (flag, field) in [
                        ("etcd-cafile", "caFile"),
                        ("etcd-certfile", "certFile"),
                        ("etcd-keyfile", "keyFile"),
                    ] {
                        match external.get(field).and_then(Value::as_str) {
                            Some(v) if !v.is_empty() => {
                                values.insert(flag.to_string(), v.to_string());
                            }
                            _ => {
                                values.remove(flag);
                            }
                        }
                    }
                    let endpoints: Vec<&str> = external
                        .get("endpoints")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    values.insert("etcd-servers".to_string(), endpoints.join(","));
                }
            }
            // extraArgs replace kubeadm's own value of a flag.
            let mut extra: BTreeMap<String, String> = BTreeMap::new();
            match cfg.at(&pointer) {
                // v1beta3: a map.
                Some(Value::Object(map)) => {
                    for (k, v) in map {
                        set_flag(&mut extra, k, &scalar(v));
                    }
                }
                // v1beta4: a list of {name, value} (a name may repeat).
                Some(Value::Array(list)) => {
                    for arg in list {
                        if let Some(k) = arg.get("name").and_then(Value::as_str) {
                            set_flag(
                                &mut extra,
                                k,
                                &arg.get("value").map(scalar).unwrap_or_default(),
                            );
                        }
                    }
                }
                _ => {}
            }
            values.extend(extra);
            out.push(Flags {
                object: m,
                component,
                values,
                field: format!("data.ClusterConfiguration.{field}.extraArgs[{{flag}}] (kubeadm default if absent)"),
            });
        }
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Why a component's checks cannot run on this input, if they cannot.
pub fn missing(ctx: &Context<'_>, component: Component) -> Option<&'static str> {
    if control_plane_flags(ctx)
        .iter()
        .any(|f| f.component == component)
    {
        return None;
    }
    Some(match ctx.inv.cluster.info.provider {
        crate::snapshot::Provider::Eks
        | crate::snapshot::Provider::Gke
        | crate::snapshot::Provider::Aks => {
            "the provider manages the control plane: its flags are not visible (the provider's CIS benchmark applies)"
        }
        crate::snapshot::Provider::Generic => {
            "the snapshot carries no static pod of this control-plane component and no kubeadm ClusterConfiguration (kube-system/kubeadm-config)"
        }
    })
}

/// A rule: what fails, as (flag for evidence, message), or `None`.
type Test = fn(&Flags<'_>) -> Option<(&'static str, String)>;

/// A control-plane rule and its catalogue entry.
struct Rule {
    id: &'static str,
    component: Component,
    title: &'static str,
    severity: Severity,
    description: &'static str,
    remediation: &'static str,
    controls: &'static [Control],
    test: Test,
}

fn unset(f: &Flags<'_>, flag: &'static str) -> Option<(&'static str, String)> {
    f.get(flag)
        .is_none_or(str::is_empty)
        .then(|| (flag, format!("--{flag} is not set")))
}

fn not_value(
    f: &Flags<'_>,
    flag: &'static str,
    want: &str,
    default: &str,
) -> Option<(&'static str, String)> {
    let v = f.get(flag).unwrap_or(default);
    (!v.eq_ignore_ascii_case(want)).then(|| {
        let shown = if f.get(flag).is_some() {
            format!("--{flag}={v}")
        } else {
            format!("--{flag} is not set (default {default})")
        };
        (flag, shown)
    })
}

fn first<const N: usize>(
    checks: [Option<(&'static str, String)>; N],
) -> Option<(&'static str, String)> {
    checks.into_iter().flatten().next()
}

fn number_below(f: &Flags<'_>, flag: &'static str, min: u64) -> Option<(&'static str, String)> {
    match f.get(flag).map(|v| v.parse::<u64>()) {
        Some(Ok(n)) if n >= min => None,
        Some(_) => Some((
            flag,
            format!("--{flag}={} is below {min}", f.get(flag).unwrap_or("")),
        )),
        None => Some((
            flag,
            format!("--{flag} is not set (CIS asks for at least {min})"),
        )),
    }
}

fn loopback_bind(f: &Flags<'_>) -> Option<(&'static str, String)> {
    let v = f.get("bind-address").unwrap_or("0.0.0.0");
    (!(v.starts_with("127.") || v == "::1" || v == "localhost")).then(|| {
        (
            "bind-address",
            format!("--bind-address={v}: the metrics and health endpoints listen beyond loopback"),
        )
    })
}

const APISERVER_BASE: &[Control] = &[
    c(NsaCisa, "N16"),
    c(Soc2, "CC6.1"),
    c(Iso27001, "A.8.9"),
    c(Nist800190, "4.5.1"),
];

macro_rules! controls {
    ($($cis:literal),+) => {
        &[$(c(CisKubernetes, $cis),)+ c(NsaCisa, "N16"), c(Soc2, "CC6.1"), c(Iso27001, "A.8.9"), c(Nist800190, "4.5.1")]
    };
}

const RULES: &[Rule] = &[
    Rule { id: "KSPM-C-001", component: Component::ApiServer, title: "API server allows anonymous requests", severity: Severity::Low,
        description: "With --anonymous-auth not false, requests without credentials are system:anonymous; only RBAC (and the default public-info bindings) stands between them and the API.",
        remediation: "Set --anonymous-auth=false (or, from 1.32, limit anonymous access to health endpoints with an AuthenticationConfiguration).",
        controls: controls!("1.2.1"), test: |f| not_value(f, "anonymous-auth", "false", "true") },
    Rule { id: "KSPM-C-002", component: Component::ApiServer, title: "API server accepts static tokens", severity: Severity::High,
        description: "--token-auth-file holds long-lived bearer tokens in clear text on the control-plane host; they cannot be rotated without a restart.",
        remediation: "Remove --token-auth-file; use certificates, OIDC or ServiceAccount tokens.",
        controls: controls!("1.2.2"), test: |f| f.get("token-auth-file").filter(|v| !v.is_empty()).map(|v| ("token-auth-file", format!("--token-auth-file={v}"))) },
    Rule { id: "KSPM-C-003", component: Component::ApiServer, title: "API server has no kubelet client certificate", severity: Severity::Medium,
        description: "Without --kubelet-client-certificate and --kubelet-client-key the API server cannot authenticate to kubelets, which must then accept unauthenticated requests for exec, logs and port-forward.",
        remediation: "Set --kubelet-client-certificate and --kubelet-client-key.",
        controls: controls!("1.2.4"), test: |f| first([unset(f, "kubelet-client-certificate"), unset(f, "kubelet-client-key")]) },
    Rule { id: "KSPM-C-004", component: Component::ApiServer, title: "API server does not verify kubelet certificates", severity: Severity::Medium,
        description: "Without --kubelet-certificate-authority the API server does not verify the kubelet's serving certificate: a man in the middle on the node network receives exec sessions and logs.",
        remediation: "Set --kubelet-certificate-authority to the CA that signs kubelet serving certificates.",
        controls: controls!("1.2.5"), test: |f| unset(f, "kubelet-certificate-authority") },
    Rule { id: "KSPM-C-005", component: Component::ApiServer, title: "API server authorizes every request (AlwaysAllow)", severity: Severity::Critical,
        description: "With AlwaysAllow in --authorization-mode (its default when neither it nor --authorization-config is set) every authenticated request is allowed: RBAC is not consulted.",
        remediation: "Set --authorization-mode=Node,RBAC.",
        controls: controls!("1.2.6"), test: |f| {
            if f.get("authorization-config").is_some() { return None; }
            match f.get("authorization-mode") {
                None => Some(("authorization-mode", "--authorization-mode is not set: the default is AlwaysAllow".to_string())),
                Some(_) if f.lists("authorization-mode", "AlwaysAllow") => Some(("authorization-mode", format!("--authorization-mode={} includes AlwaysAllow", f.get("authorization-mode").unwrap_or("")))),
                Some(_) => None,
            }
        } },
    Rule { id: "KSPM-C-006", component: Component::ApiServer, title: "API server does not use the Node authorizer", severity: Severity::Medium,
        description: "Without Node in --authorization-mode, kubelets are authorized by RBAC alone: a node's credentials read Secrets and pods of every node, not just its own.",
        remediation: "Add Node to --authorization-mode (Node,RBAC) and enable NodeRestriction.",
        controls: controls!("1.2.7"), test: |f| (f.get("authorization-config").is_none() && !f.lists("authorization-mode", "Node")).then(|| ("authorization-mode", format!("--authorization-mode={} does not include Node", f.get("authorization-mode").unwrap_or("")))) },
    Rule { id: "KSPM-C-007", component: Component::ApiServer, title: "API server does not use RBAC", severity: Severity::High,
        description: "Without RBAC in --authorization-mode, Roles and bindings are ignored: access is whatever the other authorizers say.",
        remediation: "Add RBAC to --authorization-mode.",
        controls: controls!("1.2.8"), test: |f| (f.get("authorization-config").is_none() && !f.lists("authorization-mode", "RBAC")).then(|| ("authorization-mode", format!("--authorization-mode={} does not include RBAC", f.get("authorization-mode").unwrap_or("")))) },
    Rule { id: "KSPM-C-008", component: Component::ApiServer, title: "API server admits every request (AlwaysAdmit)", severity: Severity::High,
        description: "The AlwaysAdmit admission plugin accepts every object, disabling admission control.",
        remediation: "Remove AlwaysAdmit from --enable-admission-plugins.",
        controls: controls!("1.2.10"), test: |f| f.lists("enable-admission-plugins", "AlwaysAdmit").then(|| ("enable-admission-plugins", "--enable-admission-plugins includes AlwaysAdmit".to_string())) },
    Rule { id: "KSPM-C-009", component: Component::ApiServer, title: "API server disables the ServiceAccount or NamespaceLifecycle admission plugin", severity: Severity::Medium,
        description: "ServiceAccount admission gives every pod a ServiceAccount and enforces mountable secrets; NamespaceLifecycle stops objects being created in terminating or missing namespaces. Both are on by default.",
        remediation: "Remove them from --disable-admission-plugins.",
        controls: controls!("1.2.12", "1.2.13"), test: |f| ["ServiceAccount", "NamespaceLifecycle"].iter().find(|p| f.lists("disable-admission-plugins", p)).map(|p| ("disable-admission-plugins", format!("--disable-admission-plugins includes {p}"))) },
    Rule { id: "KSPM-C-010", component: Component::ApiServer, title: "API server does not enable NodeRestriction", severity: Severity::High,
        description: "Without the NodeRestriction admission plugin a kubelet may modify other nodes and pods bound to them, and label its own node to attract sensitive workloads.",
        remediation: "Add NodeRestriction to --enable-admission-plugins.",
        controls: controls!("1.2.14"), test: |f| (!f.lists("enable-admission-plugins", "NodeRestriction")).then(|| ("enable-admission-plugins", "--enable-admission-plugins does not include NodeRestriction".to_string())) },
    Rule { id: "KSPM-C-011", component: Component::ApiServer, title: "API server profiling enabled", severity: Severity::Low,
        description: "--profiling (on by default) exposes pprof endpoints that reveal internals and can be used to load the API server.",
        remediation: "Set --profiling=false.",
        controls: controls!("1.2.15"), test: |f| not_value(f, "profiling", "false", "true") },
    Rule { id: "KSPM-C-012", component: Component::ApiServer, title: "API server audit logging disabled", severity: Severity::Medium,
        description: "Without --audit-policy-file the API server records no audit events, and without --audit-log-path (or an audit webhook) it writes them nowhere: incidents cannot be investigated.",
        remediation: "Set --audit-policy-file and --audit-log-path (or --audit-webhook-config-file).",
        controls: &[c(CisKubernetes, "1.2.16"), c(CisKubernetes, "3.2.1"), c(NsaCisa, "N22"), c(Soc2, "CC7.2"), c(PciDss, "10.2.1"), c(Hipaa, "164.312(b)"), c(Iso27001, "A.8.15"), c(Nist800190, "4.5.1")],
        test: |f| {
            if f.get("audit-policy-file").is_none_or(str::is_empty) {
                return Some(("audit-policy-file", "--audit-policy-file is not set: the API server records no audit events".to_string()));
            }
            (f.get("audit-webhook-config-file").is_none()).then(|| unset(f, "audit-log-path")).flatten()
        } },
    Rule { id: "KSPM-C-013", component: Component::ApiServer, title: "API server keeps audit logs too briefly", severity: Severity::Low,
        description: "CIS asks audit logs to be kept at least 30 days, in at least 10 files of at least 100 MB each.",
        remediation: "Set --audit-log-maxage=30, --audit-log-maxbackup=10 and --audit-log-maxsize=100 (or more).",
        controls: &[c(CisKubernetes, "1.2.17"), c(CisKubernetes, "1.2.18"), c(CisKubernetes, "1.2.19"), c(NsaCisa, "N22"), c(Soc2, "CC7.2"), c(PciDss, "10.5.1"), c(Iso27001, "A.8.15")],
        test: |f| f.get("audit-log-path").filter(|p| !p.is_empty() && *p != "-").and_then(|_| first([number_below(f, "audit-log-maxage", 30), number_below(f, "audit-log-maxbackup", 10), number_below(f, "audit-log-maxsize", 100)])) },
    Rule { id: "KSPM-C-014", component: Component::ApiServer, title: "API server does not look up ServiceAccount tokens", severity: Severity::Medium,
        description: "With --service-account-lookup=false a token stays valid after its ServiceAccount is deleted.",
        remediation: "Remove --service-account-lookup=false (the default is true).",
        controls: controls!("1.2.21"), test: |f| not_value(f, "service-account-lookup", "true", "true") },
    Rule { id: "KSPM-C-015", component: Component::ApiServer, title: "API server has no ServiceAccount key file", severity: Severity::Medium,
        description: "Without --service-account-key-file the API server verifies ServiceAccount tokens with its TLS key, so the keys cannot be rotated separately.",
        remediation: "Set --service-account-key-file to the public key of the ServiceAccount signing key pair.",
        controls: controls!("1.2.22"), test: |f| unset(f, "service-account-key-file") },
    Rule { id: "KSPM-C-016", component: Component::ApiServer, title: "API server talks to etcd without TLS client authentication", severity: Severity::High,
        description: "Without --etcd-certfile, --etcd-keyfile and --etcd-cafile the API server neither proves itself to etcd nor verifies it: every Secret crosses the network in a way others can read or impersonate.",
        remediation: "Set --etcd-certfile, --etcd-keyfile and --etcd-cafile.",
        controls: controls!("1.2.23", "1.2.26"), test: |f| first([unset(f, "etcd-certfile"), unset(f, "etcd-keyfile"), unset(f, "etcd-cafile")]) },
    Rule { id: "KSPM-C-017", component: Component::ApiServer, title: "API server TLS or client CA not configured", severity: Severity::High,
        description: "Without --tls-cert-file/--tls-private-key-file the API server serves a self-signed certificate; without --client-ca-file it accepts no client certificates (kubelets, controllers).",
        remediation: "Set --tls-cert-file, --tls-private-key-file and --client-ca-file.",
        controls: controls!("1.2.24", "1.2.25"), test: |f| first([unset(f, "tls-cert-file"), unset(f, "tls-private-key-file"), unset(f, "client-ca-file")]) },
    Rule { id: "KSPM-C-018", component: Component::ApiServer, title: "API server does not encrypt Secrets at rest", severity: Severity::Medium,
        description: "Without --encryption-provider-config, Secrets are stored in etcd in plain text: an etcd backup or disk is every credential of the cluster.",
        remediation: "Set --encryption-provider-config with a kms (v2), aescbc or secretbox provider first.",
        controls: &[c(CisKubernetes, "1.2.27"), c(NsaCisa, "N16"), c(Soc2, "CC6.1"), c(PciDss, "3.5.1"), c(Hipaa, "164.312(a)(2)(iv)"), c(Iso27001, "A.8.24"), c(Nist800190, "4.5.1")],
        test: |f| unset(f, "encryption-provider-config") },
    Rule { id: "KSPM-C-019", component: Component::ApiServer, title: "API server serves an insecure port", severity: Severity::Critical,
        description: "A non-zero --insecure-port (removed in 1.24) serves the whole API without authentication or authorization.",
        remediation: "Set --insecure-port=0 (or upgrade: the flag no longer exists).",
        controls: APISERVER_BASE, test: |f| f.get("insecure-port").filter(|p| *p != "0").map(|p| ("insecure-port", format!("--insecure-port={p}"))) },
    Rule { id: "KSPM-C-020", component: Component::ControllerManager, title: "Controller manager profiling enabled", severity: Severity::Low,
        description: "--profiling (on by default) exposes pprof endpoints of the controller manager.",
        remediation: "Set --profiling=false.",
        controls: controls!("1.3.2"), test: |f| not_value(f, "profiling", "false", "true") },
    Rule { id: "KSPM-C-021", component: Component::ControllerManager, title: "Controllers share the controller manager's credentials", severity: Severity::Medium,
        description: "Without --use-service-account-credentials=true every controller acts with the controller manager's own, all-powerful identity instead of a ServiceAccount with only its controller's rights.",
        remediation: "Set --use-service-account-credentials=true.",
        controls: controls!("1.3.3"), test: |f| not_value(f, "use-service-account-credentials", "true", "false") },
    Rule { id: "KSPM-C-022", component: Component::ControllerManager, title: "Controller manager lacks the ServiceAccount key or root CA", severity: Severity::Medium,
        description: "--service-account-private-key-file signs ServiceAccount tokens (rotatable apart from TLS keys); --root-ca-file lets pods verify the API server's certificate.",
        remediation: "Set --service-account-private-key-file and --root-ca-file.",
        controls: controls!("1.3.4", "1.3.5"), test: |f| first([unset(f, "service-account-private-key-file"), unset(f, "root-ca-file")]) },
    Rule { id: "KSPM-C-023", component: Component::ControllerManager, title: "Kubelet serving certificate rotation disabled", severity: Severity::Low,
        description: "With the RotateKubeletServerCertificate feature gate off, kubelet serving certificates are not renewed through the API.",
        remediation: "Remove RotateKubeletServerCertificate=false from --feature-gates.",
        controls: controls!("1.3.6"), test: |f| f.get("feature-gates").filter(|g| g.split(',').any(|x| x.trim().eq_ignore_ascii_case("RotateKubeletServerCertificate=false"))).map(|_| ("feature-gates", "--feature-gates sets RotateKubeletServerCertificate=false".to_string())) },
    Rule { id: "KSPM-C-024", component: Component::ControllerManager, title: "Controller manager listens beyond loopback", severity: Severity::Low,
        description: "The controller manager's --bind-address defaults to 0.0.0.0: its health and metrics endpoints are open to the node's network.",
        remediation: "Set --bind-address=127.0.0.1.",
        controls: controls!("1.3.7"), test: loopback_bind },
    Rule { id: "KSPM-C-025", component: Component::Scheduler, title: "Scheduler profiling enabled", severity: Severity::Low,
        description: "--profiling (on by default) exposes pprof endpoints of the scheduler.",
        remediation: "Set --profiling=false.",
        controls: controls!("1.4.1"), test: |f| not_value(f, "profiling", "false", "true") },
    Rule { id: "KSPM-C-026", component: Component::Scheduler, title: "Scheduler listens beyond loopback", severity: Severity::Low,
        description: "The scheduler's --bind-address defaults to 0.0.0.0: its health and metrics endpoints are open to the node's network.",
        remediation: "Set --bind-address=127.0.0.1.",
        controls: controls!("1.4.2"), test: loopback_bind },
    Rule { id: "KSPM-C-027", component: Component::Etcd, title: "etcd serves clients without TLS", severity: Severity::High,
        description: "Without --cert-file and --key-file etcd serves its clients in plain text: every Secret of the cluster on the wire.",
        remediation: "Set --cert-file and --key-file.",
        controls: controls!("2.1"), test: |f| first([unset(f, "cert-file"), unset(f, "key-file")]) },
    Rule { id: "KSPM-C-028", component: Component::Etcd, title: "etcd does not authenticate clients", severity: Severity::High,
        description: "Without --client-cert-auth=true (its default is false) anyone who reaches etcd's client port reads and writes the whole cluster state.",
        remediation: "Set --client-cert-auth=true with --trusted-ca-file.",
        controls: controls!("2.2"), test: |f| not_value(f, "client-cert-auth", "true", "false") },
    Rule { id: "KSPM-C-029", component: Component::Etcd, title: "etcd uses self-signed client certificates (auto-tls)", severity: Severity::Medium,
        description: "--auto-tls=true makes etcd generate self-signed certificates that clients cannot verify.",
        remediation: "Remove --auto-tls and use certificates from the etcd CA.",
        controls: controls!("2.3"), test: |f| f.get("auto-tls").filter(|v| v.eq_ignore_ascii_case("true")).map(|_| ("auto-tls", "--auto-tls=true".to_string())) },
    Rule { id: "KSPM-C-030", component: Component::Etcd, title: "etcd peers not authenticated over TLS", severity: Severity::Medium,
        description: "Without --peer-cert-file/--peer-key-file and --peer-client-cert-auth=true etcd members replicate in plain text and accept any peer.",
        remediation: "Set --peer-cert-file, --peer-key-file and --peer-client-cert-auth=true.",
        controls: controls!("2.4", "2.5"), test: |f| first([unset(f, "peer-cert-file"), unset(f, "peer-key-file"), not_value(f, "peer-client-cert-auth", "true", "false")]) },
    Rule { id: "KSPM-C-031", component: Component::Etcd, title: "etcd uses self-signed peer certificates (peer-auto-tls)", severity: Severity::Medium,
        description: "--peer-auto-tls=true makes etcd generate self-signed peer certificates that members cannot verify.",
        remediation: "Remove --peer-auto-tls and use certificates from the etcd CA.",
        controls: controls!("2.6"), test: |f| f.get("peer-auto-tls").filter(|v| v.eq_ignore_ascii_case("true")).map(|_| ("peer-auto-tls", "--peer-auto-tls=true".to_string())) },
];

fn run_rule<'a, const I: usize>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let rule = &RULES[I];
    control_plane_flags(ctx)
        .into_iter()
        .filter(|f| f.component == rule.component)
        .filter_map(|f| {
            let (flag, why) = (rule.test)(&f)?;
            Some(Hit {
                severity: None,
                object: f.object,
                message: format!("{}: {why}", f.component.binary()),
                evidence: vec![f.evidence(flag)],
            })
        })
        .collect()
}

const fn check<const I: usize>() -> Check {
    let r = &RULES[I];
    Check {
        id: r.id,
        title: r.title,
        severity: r.severity,
        description: r.description,
        remediation: r.remediation,
        kinds: &["Pod", "ConfigMap"],
        controls: r.controls,
        profile: Profile::Security,
        needs: Needs::ControlPlane(r.component),
        run: run_rule::<I>,
    }
}

/// The control-plane checks.
pub static CHECKS: &[Check] = &[
    check::<0>(),
    check::<1>(),
    check::<2>(),
    check::<3>(),
    check::<4>(),
    check::<5>(),
    check::<6>(),
    check::<7>(),
    check::<8>(),
    check::<9>(),
    check::<10>(),
    check::<11>(),
    check::<12>(),
    check::<13>(),
    check::<14>(),
    check::<15>(),
    check::<16>(),
    check::<17>(),
    check::<18>(),
    check::<19>(),
    check::<20>(),
    check::<21>(),
    check::<22>(),
    check::<23>(),
    check::<24>(),
    check::<25>(),
    check::<26>(),
    check::<27>(),
    check::<28>(),
    check::<29>(),
    check::<30>(),
];

#[cfg(test)]
pub(crate) mod cases;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_a_check() {
        assert_eq!(CHECKS.len(), RULES.len());
        for (c, r) in CHECKS.iter().zip(RULES) {
            assert_eq!(c.id, r.id);
        }
    }

    #[test]
    fn flags_parse_in_every_form() {
        let f = parse_flags(["--a=1", "--b", "2", "--c", "--d=x=y"]);
        assert_eq!(f.get("a").map(String::as_str), Some("1"));
        assert_eq!(f.get("b").map(String::as_str), Some("2"));
        assert_eq!(f.get("c").map(String::as_str), Some("true"));
        assert_eq!(f.get("d").map(String::as_str), Some("x=y"));
    }
}
