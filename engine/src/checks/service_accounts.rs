//! ServiceAccount token and credential-handling checks. Values are never reported: evidence
//! names the key and shows `<redacted>`.

use super::pod_security::{SYSTEM_NAMESPACES, WORKLOAD_KINDS};
use super::Needs;
use super::{Check, Context, Evidence, Hit};
use crate::controls::{c, Framework::*};
use crate::credentials::{
    command_values, credential_name, credential_value, kubeconfig_like, literal_secret_value,
    REDACTED,
};
use crate::options::Profile;
use crate::parse::LAST_APPLIED_ANNOTATION;
use crate::pointer::Pointer as _;
use crate::rbac::sets;
use crate::severity::Severity;
use serde_json::Value;
use std::collections::HashMap;

fn token_automounted<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let tokens = ctx.inv.tokens();
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        let pods = tokens.of_pods(&t);
        let (ns, sa, pod_setting) = (pods.namespace, pods.service_account, pods.pod_setting);
        let mounted = pods.automounted();
        if mounted {
            hits.push(Hit {
                severity: None,
                object: t.owner,
                message: format!("pods mount a token for ServiceAccount {ns}/{sa}"),
                evidence: vec![Evidence::new(
                    t.path("automountServiceAccountToken"),
                    pod_setting.map(Value::Bool).unwrap_or(Value::Null),
                )],
            });
        }
    }
    hits
}

fn default_service_account_used<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .pod_templates()
        .into_iter()
        .filter(|t| t.service_account_name() == "default")
        .filter(|t| {
            !t.owner
                .effective_namespace()
                .is_some_and(|ns| SYSTEM_NAMESPACES.contains(&ns))
        })
        .map(|t| Hit {
            severity: None,
            object: t.owner,
            message: "pods run as the namespace's default ServiceAccount".to_string(),
            evidence: vec![Evidence::new(
                t.path("serviceAccountName"),
                t.spec
                    .get("serviceAccountName")
                    .cloned()
                    .unwrap_or(Value::Null),
            )],
        })
        .collect()
}

fn default_sa_automount<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .of_kind("ServiceAccount")
        .iter()
        .filter(|sa| sa.name == "default")
        .filter(|sa| {
            !sa.effective_namespace()
                .is_some_and(|ns| SYSTEM_NAMESPACES.contains(&ns))
        })
        .filter(|sa| {
            sa.body
                .get("automountServiceAccountToken")
                .and_then(Value::as_bool)
                != Some(false)
        })
        .map(|sa| Hit {
            severity: None,
            object: sa,
            message: "the default ServiceAccount does not set automountServiceAccountToken: false"
                .to_string(),
            evidence: vec![Evidence::new(
                "automountServiceAccountToken",
                sa.body
                    .get("automountServiceAccountToken")
                    .cloned()
                    .unwrap_or(Value::Null),
            )],
        })
        .collect()
}

fn secrets_in_env<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for c in t.containers() {
            let mut ev = Vec::new();
            for (i, e) in c.env() {
                if let Some(r) = e.at("/valueFrom/secretKeyRef") {
                    let name = r.get("name").and_then(Value::as_str).unwrap_or("");
                    ev.push(Evidence::new(
                        t.container_path(&c, &format!("env[{i}].valueFrom.secretKeyRef.name")),
                        name,
                    ));
                }
            }
            for (i, e) in c
                .container
                .get("envFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(r) = e.get("secretRef") {
                    let name = r.get("name").and_then(Value::as_str).unwrap_or("");
                    ev.push(Evidence::new(
                        t.container_path(&c, &format!("envFrom[{i}].secretRef.name")),
                        name,
                    ));
                }
            }
            if !ev.is_empty() {
                let names: Vec<String> = ev
                    .iter()
                    .filter_map(|e| e.value.as_str().map(str::to_string))
                    .collect();
                hits.push(Hit {
                    severity: None,
                    object: t.owner,
                    message: format!(
                        "container `{}` reads Secret(s) {} into environment variables",
                        c.name,
                        names.join(", ")
                    ),
                    evidence: ev,
                });
            }
        }
    }
    hits
}

fn literal_credentials_in_env<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for c in t.containers() {
            for (i, e) in c.env() {
                let name = e.get("name").and_then(Value::as_str).unwrap_or("");
                let Some(value) = e.get("value").and_then(Value::as_str) else {
                    continue;
                };
                if (credential_name(name) && literal_secret_value(value)) || credential_value(value)
                {
                    hits.push(Hit {
                        severity: None,
                        object: t.owner,
                        message: format!(
                            "container `{}` sets {name} to a literal credential value",
                            c.name
                        ),
                        evidence: vec![Evidence::new(
                            t.container_path(&c, &format!("env[{i}].value")),
                            REDACTED,
                        )],
                    });
                }
            }
            // `--password=…`, `--token …` in the command line: as visible as env, and in every
            // process listing on the node besides.
            for field in ["command", "args"] {
                let Some(items) = c.container.get(field).and_then(Value::as_array) else {
                    continue;
                };
                let words: Vec<&str> = items.iter().map(|v| v.as_str().unwrap_or("")).collect();
                for v in command_values(&words) {
                    let Some(name) = v.flag else {
                        hits.push(Hit {
                            severity: None,
                            object: t.owner,
                            message: format!(
                                "container `{}` passes a credential in {field}[{}]",
                                c.name, v.word
                            ),
                            evidence: vec![Evidence::new(
                                t.container_path(&c, &format!("{field}[{}]", v.word)),
                                REDACTED,
                            )],
                        });
                        continue;
                    };
                    // A path names where the credential is kept (`--tls-key=/certs/key`).
                    let path = v.value.starts_with('/') || v.value.starts_with("./");
                    if (credential_name(name) && literal_secret_value(v.value) && !path)
                        || credential_value(v.value)
                    {
                        hits.push(Hit {
                            severity: None,
                            object: t.owner,
                            message: format!(
                                "container `{}` passes --{name} a literal credential value in {field}",
                                c.name
                            ),
                            evidence: vec![Evidence::new(
                                t.container_path(&c, &format!("{field}[{}]", v.flag_word)),
                                format!("--{name}={REDACTED}"),
                            )],
                        });
                    }
                }
            }
        }
    }
    hits
}

fn credentials_in_configmaps<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for cm in ctx.inv.of_kind("ConfigMap") {
        let Some(data) = cm.body.get("data").and_then(Value::as_object) else {
            continue;
        };
        let mut keys = Vec::new();
        let mut ev = Vec::new();
        for (k, v) in data {
            let v = v.as_str().unwrap_or("");
            if (credential_name(k) && literal_secret_value(v) && !v.contains('\n'))
                || credential_value(v)
            {
                keys.push(k.as_str());
                ev.push(Evidence::new(format!("data[{k}]"), REDACTED));
            }
        }
        if !keys.is_empty() {
            hits.push(Hit {
                severity: None,
                object: cm,
                message: format!(
                    "ConfigMap key(s) {} hold what looks like a credential",
                    keys.join(", ")
                ),
                evidence: ev,
            });
        }
    }
    hits
}

/// Annotations that hold a credential by its value (a well-known token format, a private key, a
/// kubeconfig): readable by everyone who may read the object's metadata — far more than may
/// read Secrets. Names are not judged (`auth-secret` names a Secret), and kubectl's
/// last-applied copy is the object's own fields, which the other checks read.
fn credentials_in_annotations<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    let flagged = |annotations: &mut dyn Iterator<Item = (&str, &str)>| -> Vec<String> {
        annotations
            .filter(|(k, _)| *k != LAST_APPLIED_ANNOTATION)
            .filter(|(_, v)| credential_value(v) || kubeconfig_like(v))
            .map(|(k, _)| k.to_string())
            .collect()
    };
    for o in ctx.inv.objects() {
        let mut own = o.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let keys = flagged(&mut own);
        if !keys.is_empty() {
            hits.push(Hit {
                severity: None,
                object: o,
                message: format!("annotation(s) {} hold a credential", keys.join(", ")),
                evidence: keys
                    .iter()
                    .map(|k| Evidence::new(format!("metadata.annotations[{k}]"), REDACTED))
                    .collect(),
            });
        }
    }
    for t in ctx.inv.pod_templates() {
        let Some(ann) = t
            .metadata
            .filter(|_| t.spec_path != "spec")
            .and_then(|m| m.get("annotations"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        let mut it = ann
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)));
        let keys = flagged(&mut it);
        if !keys.is_empty() {
            hits.push(Hit {
                severity: None,
                object: t.owner,
                message: format!(
                    "pod template annotation(s) {} hold a credential",
                    keys.join(", ")
                ),
                evidence: keys
                    .iter()
                    .map(|k| {
                        Evidence::new(
                            t.owner_path(&format!("metadata.annotations[{k}]")),
                            REDACTED,
                        )
                    })
                    .collect(),
            });
        }
    }
    hits
}

fn legacy_token_secrets<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .of_kind("Secret")
        .iter()
        .filter(|s| s.body.get("type").and_then(Value::as_str) == Some("kubernetes.io/service-account-token"))
        .filter(|s| !s.labels.contains_key("kubernetes.io/legacy-token-invalid-since"))
        .map(|s| {
            let sa = s.annotations.get("kubernetes.io/service-account.name").cloned().unwrap_or_default();
            Hit {
                severity: None,
                object: s,
                message: format!("long-lived token Secret for ServiceAccount {sa}: it never expires and is readable by anyone who can read Secrets in the namespace"),
                evidence: vec![Evidence::new("type", "kubernetes.io/service-account-token")],
            }
        })
        .collect()
}

/// Permissions that turn a compromised pod into more: (what, requests any of which gives it,
/// cluster-scoped). Exec follows the cluster's version ([`sets::exec`]).
fn powerful_requests(minor: Option<u32>) -> [(&'static str, sets::Requests, bool); 11] {
    [
        ("full control of the cluster", &[("*", "*", "*")], true),
        ("read Secrets", sets::READ_SECRETS, false),
        ("create pods", sets::CREATE_WORKLOADS, false),
        ("exec into pods", sets::exec(minor), false),
        ("mint ServiceAccount tokens", sets::MINT_TOKENS, false),
        ("impersonate users", &[("impersonate", "", "users")], true),
        (
            "bind ClusterRoles",
            &[("bind", "rbac.authorization.k8s.io", "clusterroles")],
            true,
        ),
        (
            "escalate ClusterRoles",
            &[("escalate", "rbac.authorization.k8s.io", "clusterroles")],
            true,
        ),
        (
            "create ClusterRoleBindings",
            &[("create", "rbac.authorization.k8s.io", "clusterrolebindings")],
            true,
        ),
        (
            "use nodes/proxy",
            &[("get", "", "nodes/proxy"), ("create", "", "nodes/proxy")],
            true,
        ),
        (
            "change mutating webhooks",
            &[(
                "update",
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
            )],
            true,
        ),
    ]
}

fn powerful_service_account<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let tokens = ctx.inv.tokens();
    let mut hits = Vec::new();
    type Powers = (Vec<&'static str>, Vec<Evidence>);
    let mut cache: HashMap<(String, String), Powers> = HashMap::new();
    for t in ctx.inv.pod_templates() {
        let ns = t.owner.effective_namespace().unwrap_or("default");
        let sa = t.service_account_name();
        // Automounted, a projected token volume, or one EKS injects: any token is the
        // ServiceAccount's permissions in the container that holds it.
        let mounted = tokens.of_pods(&t).held(&t);
        if !mounted {
            continue;
        }
        let key = (ns.to_string(), sa.to_string());
        let (powers, ev) = cache
            .entry(key)
            .or_insert_with(|| {
                let who = crate::rbac::Identity::service_account(ns, sa);
                let bindings = ctx.rbac.bindings_for(&who);
                let mut powers = Vec::new();
                let mut ev = Vec::new();
                for (what, requests, cluster) in &powerful_requests(ctx.rbac.minor_version) {
                    // Any of the requests is the same exposure (`get` or `watch` on Secrets
                    // reads them as `list` does).
                    let grant = requests.iter().find_map(|(verb, group, resource)| {
                        let req = crate::rbac::Request::resource(
                            verb,
                            group,
                            resource,
                            if *cluster { None } else { Some(ns) },
                            None,
                        );
                        // Grants the platform itself manages are its components' business.
                        bindings
                            .iter()
                            .map(|i| &ctx.rbac.bindings[*i])
                            .filter(|b| !b.managed)
                            .find_map(|b| ctx.rbac.first_grant_in(b, &req))
                    });
                    if let Some(g) = grant {
                        powers.push(*what);
                        ev.push(Evidence::new(
                            g.binding.node_ref.clone(),
                            Value::String(g.describe()),
                        ));
                        if *what == "full control of the cluster" {
                            break;
                        }
                    }
                }
                (powers, ev)
            })
            .clone();
        if !powers.is_empty() {
            hits.push(Hit {
                severity: None,
                object: t.owner,
                message: format!(
                    "pods run as ServiceAccount {ns}/{sa}, whose mounted token can {}",
                    powers.join(", ")
                ),
                evidence: ev,
            });
        }
    }
    hits
}

fn deprecated_service_account_field<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .pod_templates()
        .into_iter()
        .filter_map(|t| {
            let old = t.spec.get("serviceAccount")?.as_str().filter(|s| !s.is_empty())?;
            let message = match t.spec.get("serviceAccountName").and_then(Value::as_str) {
                None | Some("") => {
                    "uses the deprecated `serviceAccount` field instead of `serviceAccountName`"
                        .to_string()
                }
                Some(name) if name == old => return None,
                // The API server keeps serviceAccountName; a reader of the manifest may
                // believe the other.
                Some(name) => format!("sets `serviceAccount: {old}` and `serviceAccountName: {name}`: the pods run as {name}, the deprecated field says otherwise"),
            };
            Some(Hit {
                severity: None,
                object: t.owner,
                message,
                evidence: vec![Evidence::new(t.path("serviceAccount"), Value::String(old.to_string()))],
            })
        })
        .collect()
}

fn missing_service_account<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let tokens = ctx.inv.tokens();
    // Only namespaces whose ServiceAccounts the snapshot carries can be judged.
    let known_ns = tokens.namespaces();
    ctx.inv
        .pod_templates()
        .into_iter()
        .filter_map(|t| {
            let ns = t.owner.effective_namespace().unwrap_or("default");
            let sa = t.service_account_name();
            (known_ns.contains(ns) && sa != "default" && !tokens.knows(ns, sa)).then(|| Hit {
                severity: None,
                object: t.owner,
                message: format!("references ServiceAccount {ns}/{sa}, which does not exist: pods cannot start, and whoever creates it decides what they can do"),
                evidence: vec![Evidence::new(t.path("serviceAccountName"), sa)],
            })
        })
        .collect()
}

/// The ServiceAccount and credential checks.
pub static CHECKS: &[Check] = &[
    Check {
        id: "KSPM-S-001",
        title: "ServiceAccount token mounted into pods",
        severity: Severity::Low,
        description: "A mounted token lets anyone who compromises the container act as its ServiceAccount against the API server; most applications never call the API.",
        remediation: "Set `automountServiceAccountToken: false` on the pod (or the ServiceAccount) unless the workload calls the Kubernetes API.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(CisKubernetes, "5.1.6"), c(CisEks, "4.1.6"), c(CisGke, "4.1.5"), c(CisAks, "4.1.6"), c(NsaCisa, "N10"), c(Soc2, "CC6.1"), c(Iso27001, "A.5.17"), c(Nist800190, "4.3.2")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: token_automounted,
    },
    Check {
        id: "KSPM-S-002",
        title: "Pods run as the default ServiceAccount",
        severity: Severity::Low,
        description: "Workloads sharing the namespace's default ServiceAccount share whatever is ever granted to it, and cannot be told apart in audit logs or cloud IAM.",
        remediation: "Create a ServiceAccount per workload and set `serviceAccountName`.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(CisKubernetes, "5.1.5"), c(CisEks, "4.1.5"), c(CisGke, "4.1.4"), c(CisAks, "4.1.5"), c(NsaCisa, "N10"), c(Iso27001, "A.5.16"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: default_service_account_used,
    },
    Check {
        id: "KSPM-S-003",
        title: "Default ServiceAccount automounts its token",
        severity: Severity::Low,
        description: "CIS asks that the default ServiceAccount not be used: with `automountServiceAccountToken: false` on it, pods that forget to name a ServiceAccount at least get no token.",
        remediation: "Set `automountServiceAccountToken: false` on every namespace's default ServiceAccount.",
        kinds: &["ServiceAccount"],
        controls: &[c(CisKubernetes, "5.1.5"), c(CisEks, "4.1.5"), c(CisGke, "4.1.4"), c(CisAks, "4.1.5"), c(NsaCisa, "N10"), c(Iso27001, "A.5.17")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: default_sa_automount,
    },
    Check {
        id: "KSPM-S-004",
        title: "Secrets passed as environment variables",
        severity: Severity::Low,
        description: "Environment variables leak into logs, crash dumps and child processes, and are visible to anyone who can read the pod spec of a running process's /proc.",
        remediation: "Mount the Secret as a file (a secret volume) and read it from there.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(CisKubernetes, "5.4.1"), c(NsaCisa, "N10"), c(Soc2, "CC6.1"), c(PciDss, "3.5.1"), c(Iso27001, "A.8.24"), c(Nist800190, "4.1.4")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: secrets_in_env,
    },
    Check {
        id: "KSPM-S-005",
        title: "Literal credential in an environment variable",
        severity: Severity::High,
        description: "A password, token or key written into the pod spec is readable by everyone who can read the workload, is stored in etcd unencrypted, and lands in Git and CI logs.",
        remediation: "Move the value into a Secret (or an external secret store) and reference it with `valueFrom.secretKeyRef`; rotate the exposed credential.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N10"), c(Soc2, "CC6.1"), c(PciDss, "8.3.2"), c(Hipaa, "164.312(a)(2)(iv)"), c(Iso27001, "A.5.17"), c(Nist800190, "4.1.4")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: literal_credentials_in_env,
    },
    Check {
        id: "KSPM-S-006",
        title: "Credential stored in a ConfigMap",
        severity: Severity::High,
        description: "ConfigMaps are not protected like Secrets: they are readable by `view`, shown in dashboards and never encrypted at rest.",
        remediation: "Move the value into a Secret or an external secret store; rotate the exposed credential.",
        kinds: &["ConfigMap"],
        controls: &[c(NsaCisa, "N10"), c(Soc2, "CC6.1"), c(PciDss, "8.3.2"), c(Hipaa, "164.312(a)(2)(iv)"), c(Iso27001, "A.5.17"), c(Nist800190, "4.1.4")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: credentials_in_configmaps,
    },
    Check {
        id: "KSPM-S-007",
        title: "Long-lived ServiceAccount token Secret",
        severity: Severity::Low,
        description: "Secrets of type kubernetes.io/service-account-token hold tokens that never expire; bound tokens from the TokenRequest API expire and are tied to a pod.",
        remediation: "Delete the Secret and use projected (bound) tokens; if an external system needs a token, issue a short-lived one with `kubectl create token`.",
        kinds: &["Secret"],
        controls: &[c(NsaCisa, "N10"), c(Soc2, "CC6.1"), c(PciDss, "8.6.3"), c(Iso27001, "A.5.17"), c(Nist800190, "4.3.2")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: legacy_token_secrets,
    },
    Check {
        id: "KSPM-S-008",
        title: "Workload's ServiceAccount holds powerful permissions",
        severity: Severity::High,
        description: "The pods mount a token whose RBAC permissions (evaluated exactly, including aggregation and implicit groups) reach beyond the workload: whoever compromises one container inherits them.",
        remediation: "Give the workload its own ServiceAccount with only what it needs, or set `automountServiceAccountToken: false` if it never calls the API.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N10"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.8.2"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: powerful_service_account,
    },
    Check {
        id: "KSPM-S-009",
        title: "Deprecated serviceAccount field",
        severity: Severity::Info,
        description: "`spec.serviceAccount` is a deprecated alias of `serviceAccountName`.",
        remediation: "Use `serviceAccountName`.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(Iso27001, "A.8.9")],
        profile: Profile::All,
        needs: Needs::Nothing,
        run: deprecated_service_account_field,
    },
    Check {
        id: "KSPM-S-010",
        title: "Workload references a ServiceAccount that does not exist",
        severity: Severity::Low,
        description: "Pods for this workload cannot be created until the ServiceAccount exists, and whoever creates it later decides the pods' permissions.",
        remediation: "Create the ServiceAccount with the workload (same manifest set), or fix the name.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N10"), c(Iso27001, "A.5.16")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: missing_service_account,
    },
    Check {
        id: "KSPM-S-011",
        title: "Credential in an annotation",
        severity: Severity::High,
        description: "An annotation holding a token, a private key or a kubeconfig is readable by everyone who may read the object's metadata (list, watch, metadata-only clients, audit logs), far more than may read Secrets, and it is copied by every tool that copies metadata.",
        remediation: "Move the credential into a Secret and reference it; rotate the exposed credential.",
        kinds: &["*"],
        controls: &[c(NsaCisa, "N10"), c(Soc2, "CC6.1"), c(PciDss, "8.3.2"), c(Hipaa, "164.312(a)(2)(iv)"), c(Iso27001, "A.5.17"), c(Nist800190, "4.1.4")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: credentials_in_annotations,
    },
];

#[cfg(test)]
pub(crate) mod cases;
