//! Kubelet configuration checks (CIS 4.2.x), on the effective configuration the kubelet reports
//! at `/api/v1/nodes/<node>/proxy/configz` (snapshot: `kubelet/<node>.json`). Defaults are the
//! `kubelet.config.k8s.io/v1beta1` ones, since configz reports the merged configuration.

use super::Needs;
use super::{Check, Context, Evidence, Hit};
use crate::controls::{c, Framework::*};
use crate::options::Profile;
use crate::pointer::Pointer as _;
use crate::severity::Severity;
use serde_json::Value;

/// Cipher suites CIS 4.2.12 accepts.
const STRONG_CIPHERS: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// A setting and why its value fails, or `None` when it passes.
type Rule = fn(&Value) -> Option<(&'static str, Value, String)>;

fn at<'a>(cfg: &'a Value, pointer: &str) -> Option<&'a Value> {
    cfg.at(pointer).filter(|v| !v.is_null())
}

fn anonymous(cfg: &Value) -> Option<(&'static str, Value, String)> {
    let v = at(cfg, "/authentication/anonymous/enabled");
    (v.and_then(Value::as_bool) == Some(true)).then(|| {
        (
            "authentication.anonymous.enabled",
            Value::Bool(true),
            "anonymous requests to the kubelet API are allowed".into(),
        )
    })
}

fn authorization(cfg: &Value) -> Option<(&'static str, Value, String)> {
    let mode = at(cfg, "/authorization/mode")
        .and_then(Value::as_str)
        .unwrap_or("Webhook");
    (mode == "AlwaysAllow").then(|| {
        (
            "authorization.mode",
            Value::String(mode.into()),
            "the kubelet authorizes every authenticated request (AlwaysAllow)".into(),
        )
    })
}

fn client_ca(cfg: &Value) -> Option<(&'static str, Value, String)> {
    let set = at(cfg, "/authentication/x509/clientCAFile");
    let ca = set.and_then(Value::as_str).unwrap_or("");
    ca.is_empty().then(|| {
        (
            "authentication.x509.clientCAFile",
            // What is there: absent (null), or an empty path.
            set.cloned().unwrap_or(Value::Null),
            "no client CA: the kubelet cannot authenticate clients by certificate".into(),
        )
    })
}

fn read_only_port(cfg: &Value) -> Option<(&'static str, Value, String)> {
    let port = at(cfg, "/readOnlyPort")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    (port != 0).then(|| {
        (
            "readOnlyPort",
            Value::from(port),
            format!("the unauthenticated read-only port {port} is open"),
        )
    })
}

fn streaming_timeout(cfg: &Value) -> Option<(&'static str, Value, String)> {
    let t = at(cfg, "/streamingConnectionIdleTimeout").and_then(Value::as_str)?;
    matches!(t, "0" | "0s" | "0m" | "0h").then(|| {
        (
            "streamingConnectionIdleTimeout",
            Value::String(t.into()),
            "streaming connections (exec, port-forward) never time out".into(),
        )
    })
}

fn iptables_chains(cfg: &Value) -> Option<(&'static str, Value, String)> {
    (at(cfg, "/makeIPTablesUtilChains").and_then(Value::as_bool) == Some(false)).then(|| {
        (
            "makeIPTablesUtilChains",
            Value::Bool(false),
            "the kubelet does not manage its iptables utility chains".into(),
        )
    })
}

fn tls_files(cfg: &Value) -> Option<(&'static str, Value, String)> {
    let bootstrap = at(cfg, "/serverTLSBootstrap").and_then(Value::as_bool) == Some(true);
    // The first of the two files that is missing, as it is there: absent (null) or empty.
    let missing = ["tlsCertFile", "tlsPrivateKeyFile"]
        .into_iter()
        .find_map(|field| {
            let set = at(cfg, &format!("/{field}"));
            set.and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
                .then(|| (field, set.cloned().unwrap_or(Value::Null)))
        });
    let (field, value) = missing.filter(|_| !bootstrap)?;
    Some((field, value, "no serving certificate and no serverTLSBootstrap: the kubelet serves a self-signed certificate".into()))
}

fn rotate_certificates(cfg: &Value) -> Option<(&'static str, Value, String)> {
    let v = at(cfg, "/rotateCertificates")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    (!v).then(|| {
        (
            "rotateCertificates",
            Value::Bool(v),
            "client certificate rotation is off".into(),
        )
    })
}

fn server_cert_rotation(cfg: &Value) -> Option<(&'static str, Value, String)> {
    (at(cfg, "/featureGates/RotateKubeletServerCertificate").and_then(Value::as_bool)
        == Some(false))
    .then(|| {
        (
            "featureGates.RotateKubeletServerCertificate",
            Value::Bool(false),
            "serving certificate rotation is disabled".into(),
        )
    })
}

fn ciphers(cfg: &Value) -> Option<(&'static str, Value, String)> {
    match at(cfg, "/tlsCipherSuites").and_then(Value::as_array) {
        None => Some((
            "tlsCipherSuites",
            Value::Null,
            "no cipher suites set: Go's defaults include CBC suites".into(),
        )),
        Some(list) => {
            let weak: Vec<&str> = list
                .iter()
                .filter_map(Value::as_str)
                .filter(|c| !STRONG_CIPHERS.contains(c))
                .collect();
            (!weak.is_empty()).then(|| {
                (
                    "tlsCipherSuites",
                    Value::Array(list.clone()),
                    format!("weak cipher suites allowed: {}", weak.join(", ")),
                )
            })
        }
    }
}

fn pid_limit(cfg: &Value) -> Option<(&'static str, Value, String)> {
    let v = at(cfg, "/podPidsLimit")
        .and_then(Value::as_i64)
        .unwrap_or(-1);
    (v <= 0).then(|| {
        (
            "podPidsLimit",
            Value::from(v),
            "no per-pod PID limit: one pod can fork-bomb the node".into(),
        )
    })
}

fn seccomp_default(cfg: &Value) -> Option<(&'static str, Value, String)> {
    let v = at(cfg, "/seccompDefault")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    (!v).then(|| {
        (
            "seccompDefault",
            Value::Bool(v),
            "pods without a seccomp profile run Unconfined (seccompDefault is off)".into(),
        )
    })
}

fn protect_kernel(cfg: &Value) -> Option<(&'static str, Value, String)> {
    let v = at(cfg, "/protectKernelDefaults")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    (!v).then(|| {
        (
            "protectKernelDefaults",
            Value::Bool(v),
            "the kubelet may change kernel tunables the node's defaults set".into(),
        )
    })
}

fn hits<'a>(ctx: &Context<'a>, rule: Rule) -> Vec<Hit<'a>> {
    super::document::hits(
        ctx,
        "KubeletConfiguration",
        |o| o.body.get("config"),
        |o, cfg| {
            rule(cfg).map(|(field, value, message)| {
                (
                    format!("node {}: {message}", o.name),
                    Evidence::new(format!("config.{field}"), value),
                )
            })
        },
    )
}

document_run!(run_anonymous, anonymous);
document_run!(run_authorization, authorization);
document_run!(run_client_ca, client_ca);
document_run!(run_read_only_port, read_only_port);
document_run!(run_streaming_timeout, streaming_timeout);
document_run!(run_iptables_chains, iptables_chains);
document_run!(run_tls_files, tls_files);
document_run!(run_rotate_certificates, rotate_certificates);
document_run!(run_server_cert_rotation, server_cert_rotation);
document_run!(run_ciphers, ciphers);
document_run!(run_pid_limit, pid_limit);
document_run!(run_seccomp_default, seccomp_default);
document_run!(run_protect_kernel, protect_kernel);

/// The kubelet checks.
pub static CHECKS: &[Check] = &[
    Check {
        id: "KSPM-K-001",
        title: "Kubelet allows anonymous requests",
        severity: Severity::Critical,
        description: "With anonymous authentication on, anyone who reaches port 10250 is `system:anonymous` to the kubelet; with a permissive authorizer that is exec into every pod on the node.",
        remediation: "Set `authentication.anonymous.enabled: false` in the kubelet configuration.",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisKubernetes, "4.2.1"), c(CisEks, "3.2.1"), c(CisAks, "3.2.1"), c(NsaCisa, "N18"), c(Soc2, "CC6.1"), c(PciDss, "8.2.1"), c(Iso27001, "A.8.5"), c(Nist800190, "4.5.4")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_anonymous,
    },
    Check {
        id: "KSPM-K-002",
        title: "Kubelet authorizes every request (AlwaysAllow)",
        severity: Severity::Critical,
        description: "With authorization mode AlwaysAllow any authenticated client may use the whole kubelet API.",
        remediation: "Set `authorization.mode: Webhook`.",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisKubernetes, "4.2.2"), c(CisEks, "3.2.2"), c(CisAks, "3.2.2"), c(NsaCisa, "N18"), c(Soc2, "CC6.1"), c(Iso27001, "A.8.3"), c(Nist800190, "4.5.4")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_authorization,
    },
    Check {
        id: "KSPM-K-003",
        title: "Kubelet has no client CA",
        severity: Severity::High,
        description: "Without `authentication.x509.clientCAFile` the kubelet cannot authenticate the API server or other clients by certificate.",
        remediation: "Set `authentication.x509.clientCAFile` to the cluster CA.",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisKubernetes, "4.2.3"), c(CisEks, "3.2.3"), c(CisAks, "3.2.3"), c(NsaCisa, "N18"), c(Iso27001, "A.8.5")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_client_ca,
    },
    Check {
        id: "KSPM-K-004",
        title: "Kubelet read-only port is open",
        severity: Severity::High,
        description: "The read-only port (10255) serves pod and node information without authentication.",
        remediation: "Set `readOnlyPort: 0`.",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisKubernetes, "4.2.4"), c(CisEks, "3.2.4"), c(CisAks, "3.2.4"), c(NsaCisa, "N18"), c(Soc2, "CC6.6"), c(Iso27001, "A.8.20"), c(Nist800190, "4.5.4")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_read_only_port,
    },
    Check {
        id: "KSPM-K-005",
        title: "Kubelet streaming connections never time out",
        severity: Severity::Medium,
        description: "`streamingConnectionIdleTimeout: 0` keeps idle exec and port-forward sessions open forever.",
        remediation: "Set `streamingConnectionIdleTimeout` to a bounded duration such as 4h.",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisKubernetes, "4.2.5"), c(CisEks, "3.2.5"), c(CisAks, "3.2.5"), c(Iso27001, "A.8.9")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_streaming_timeout,
    },
    Check {
        id: "KSPM-K-006",
        title: "Kubelet does not manage iptables utility chains",
        severity: Severity::Low,
        description: "With `makeIPTablesUtilChains: false` the node's iptables rules can drift from what the kubelet and kube-proxy expect.",
        remediation: "Set `makeIPTablesUtilChains: true`.",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisKubernetes, "4.2.6"), c(CisEks, "3.2.6"), c(CisAks, "3.2.7"), c(Iso27001, "A.8.9")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_iptables_chains,
    },
    Check {
        id: "KSPM-K-007",
        title: "Kubelet serves a self-signed certificate",
        severity: Severity::Medium,
        description: "Without a serving certificate (or serverTLSBootstrap), clients cannot verify they talk to the real kubelet.",
        remediation: "Set `tlsCertFile`/`tlsPrivateKeyFile`, or `serverTLSBootstrap: true` with CSR approval.",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisKubernetes, "4.2.9"), c(Soc2, "CC6.7"), c(PciDss, "4.2.1"), c(Iso27001, "A.8.24")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_tls_files,
    },
    Check {
        id: "KSPM-K-008",
        title: "Kubelet client certificate rotation is off",
        severity: Severity::Medium,
        description: "Without rotation the kubelet's client certificate is long-lived: a stolen one stays valid.",
        remediation: "Set `rotateCertificates: true`.",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisKubernetes, "4.2.10"), c(CisEks, "3.2.8"), c(CisAks, "3.2.8"), c(Iso27001, "A.8.24")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_rotate_certificates,
    },
    Check {
        id: "KSPM-K-009",
        title: "Kubelet serving certificate rotation disabled",
        severity: Severity::Medium,
        description: "The RotateKubeletServerCertificate feature gate is explicitly disabled.",
        remediation: "Remove `featureGates.RotateKubeletServerCertificate: false`.",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisKubernetes, "4.2.11"), c(CisEks, "3.2.9"), c(CisAks, "3.2.9"), c(Iso27001, "A.8.24")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_server_cert_rotation,
    },
    Check {
        id: "KSPM-K-010",
        title: "Kubelet allows weak TLS cipher suites",
        severity: Severity::Medium,
        description: "Cipher suites outside the ECDHE/AES-GCM/ChaCha20 set are vulnerable or lack forward secrecy.",
        remediation: "Set `tlsCipherSuites` to the strong suites only.",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisKubernetes, "4.2.12"), c(Soc2, "CC6.7"), c(PciDss, "4.2.1"), c(Iso27001, "A.8.24")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_ciphers,
    },
    Check {
        id: "KSPM-K-011",
        title: "Kubelet sets no pod PID limit",
        severity: Severity::Low,
        description: "Without `podPidsLimit` one pod can exhaust the node's process IDs.",
        remediation: "Set `podPidsLimit` (e.g. 4096).",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisKubernetes, "4.2.13"), c(NsaCisa, "N15"), c(Soc2, "A1.1"), c(Iso27001, "A.8.6")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_pid_limit,
    },
    Check {
        id: "KSPM-K-012",
        title: "Kubelet does not default pods to RuntimeDefault seccomp",
        severity: Severity::Low,
        description: "With `seccompDefault: true` every pod without a profile gets the runtime's default filter instead of none.",
        remediation: "Set `seccompDefault: true`.",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisKubernetes, "4.2.14"), c(NsaCisa, "N7"), c(Iso27001, "A.8.9"), c(Nist800190, "4.4.3")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_seccomp_default,
    },
    Check {
        id: "KSPM-K-013",
        title: "Kubelet does not protect kernel defaults",
        severity: Severity::Low,
        description: "With `protectKernelDefaults: true` the kubelet refuses to start if kernel tunables differ from its expectations instead of changing them.",
        remediation: "Set `protectKernelDefaults: true` and tune the node's sysctls accordingly.",
        kinds: &["KubeletConfiguration"],
        controls: &[c(CisAks, "3.2.6"), c(NsaCisa, "N18"), c(Iso27001, "A.8.9")],
        profile: Profile::Security,
        needs: Needs::KubeletConfig,
        run: run_protect_kernel,
    },
];

#[cfg(test)]
pub(crate) mod cases;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The serving-certificate rule names the file that is missing, as it is there.
    #[test]
    fn a_missing_serving_file_is_named_as_it_is() {
        let cert = json!({"tlsCertFile": "/var/lib/kubelet/pki/kubelet.crt"});
        assert_eq!(
            tls_files(&cert).map(|(f, v, _)| (f, v)),
            Some(("tlsPrivateKeyFile", Value::Null))
        );
        let empty = json!({"tlsCertFile": "", "tlsPrivateKeyFile": "/k.key"});
        assert_eq!(
            tls_files(&empty).map(|(f, v, _)| (f, v)),
            Some(("tlsCertFile", json!("")))
        );
        // Negative: both files, or serverTLSBootstrap.
        let both = json!({"tlsCertFile": "/c.crt", "tlsPrivateKeyFile": "/k.key"});
        assert_eq!(tls_files(&both), None);
        assert_eq!(tls_files(&json!({"serverTLSBootstrap": true})), None);
    }

    /// The client CA rule shows what the field holds: absent (null) or an empty path.
    #[test]
    fn a_missing_client_ca_is_shown_as_it_is() {
        let empty = json!({"authentication": {"x509": {"clientCAFile": ""}}});
        assert_eq!(client_ca(&empty).map(|(_, v, _)| v), Some(json!("")));
        assert_eq!(client_ca(&json!({})).map(|(_, v, _)| v), Some(Value::Null));
        let set = json!({"authentication": {"x509": {"clientCAFile": "/ca.crt"}}});
        assert_eq!(client_ca(&set), None);
    }
}
