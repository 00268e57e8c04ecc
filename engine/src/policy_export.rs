//! The per-object checks an admission controller can decide on the object alone, as policies
//! for the controllers people already run: Kubernetes ValidatingAdmissionPolicies and Kyverno
//! ClusterPolicies, both in CEL (`kspm policies export`).
//!
//! Each [`Exported`] policy is one CEL expression over the pod spec of a Pod or of a workload's
//! template, written to the semantics of the kspm checks it stands for: the round-trip test holds
//! it rejecting every bad case and admitting every good case of those checks
//! (`checks/cases.rs`), and agreeing with the check on every case object of the catalogue.
//! Accepted risks (the exceptions file) become match conditions: an excepted object is not
//! judged. What needs more than the object (the graph, RBAC, other objects, image scan reports,
//! registry lists spelled as the runtime resolves them) is not exported.

use crate::checks::by_id;
use crate::options::Exception;
use serde_json::{json, Value};

/// One exported policy.
pub struct Exported {
    /// Its name (`kspm-<name>` in the cluster).
    pub name: &'static str,
    /// The checks whose failing cases it rejects (the first names it: title, severity).
    pub checks: &'static [&'static str],
    /// The checks whose passing cases it admits (its exact semantics; a policy that stands for
    /// a stricter rule than some of `checks` admits only its own).
    pub admits: &'static [&'static str],
    /// CEL over `variables.spec` (the pod spec) and `variables.containers` (every container,
    /// init and ephemeral ones included): true admits.
    pub expression: &'static str,
    /// The message of a rejection.
    pub message: &'static str,
}

/// The kinds whose pod spec the policies read, by API group and resource (a debug container
/// added to a running pod is a change to its containers).
pub const RESOURCES: &[(&str, &[&str])] = &[
    (
        "",
        &["pods", "pods/ephemeralcontainers", "replicationcontrollers"],
    ),
    (
        "apps",
        &["deployments", "statefulsets", "daemonsets", "replicasets"],
    ),
    ("batch", &["jobs", "cronjobs"]),
];

/// The pod spec of `of` (`object` or `oldObject`) wherever its kind keeps it.
fn pod_spec(of: &str) -> String {
    format!("{of}.kind == 'Pod' ? {of}.spec : {of}.kind == 'CronJob' ? {of}.spec.jobTemplate.spec.template.spec : {of}.spec.template.spec")
}

/// The built-in controllers that create ReplicaSets, Jobs and Pods from the workloads that own
/// them (with and without per-controller credentials). What they create is judged where kspm
/// judges it: on the workload a user wrote, when it was created or changed.
pub const CONTROLLERS: &[&str] = &[
    "system:serviceaccount:kube-system:deployment-controller",
    "system:serviceaccount:kube-system:replicaset-controller",
    "system:serviceaccount:kube-system:replication-controller",
    "system:serviceaccount:kube-system:statefulset-controller",
    "system:serviceaccount:kube-system:daemon-set-controller",
    "system:serviceaccount:kube-system:job-controller",
    "system:serviceaccount:kube-system:cronjob-controller",
    "system:kube-controller-manager",
];

/// The match conditions every policy has (CEL over `object`, `oldObject` and `request`; no
/// variables): an update that leaves the pod spec as it was is not judged (labels, finalizers,
/// scaling, status), as Pod Security admission does not judge it; nor is what a built-in
/// controller creates from a workload (judged on the workload, as the scan judges it).
pub fn conditions() -> Vec<(&'static str, String)> {
    let controllers = CONTROLLERS
        .iter()
        .map(|c| cel_string(c))
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        (
            "pod-spec-changed",
            format!(
                "request.operation != 'UPDATE' || ({}) != ({})",
                pod_spec("object"),
                pod_spec("oldObject")
            ),
        ),
        (
            "not-made-by-a-workload-controller",
            format!("!(request.userInfo.username in [{controllers}])"),
        ),
    ]
}

/// The CEL variables every policy reads: the pod spec wherever the kind keeps it, and every
/// container of it.
pub const VARIABLES: &[(&str, &str)] = &[
    // (`pod_spec("object")`, spelled out as a constant; a test holds them equal.)
    (
        "spec",
        "object.kind == 'Pod' ? object.spec : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec",
    ),
    (
        "containers",
        "(has(variables.spec.containers) ? variables.spec.containers : []) + (has(variables.spec.initContainers) ? variables.spec.initContainers : []) + (has(variables.spec.ephemeralContainers) ? variables.spec.ephemeralContainers : [])",
    ),
];

/// Every exported policy.
pub fn policies() -> Vec<Exported> {
    vec![
        Exported {
            name: "privileged",
            checks: &["KSPM-W-001"],
            admits: &["KSPM-W-001"],
            expression: "variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || c.securityContext.privileged != true)",
            message: "containers must not set securityContext.privileged=true",
        },
        Exported {
            name: "host-pid",
            checks: &["KSPM-W-002"],
            admits: &["KSPM-W-002"],
            expression: "!has(variables.spec.hostPID) || variables.spec.hostPID != true",
            message: "the pod must not share the host PID namespace (hostPID)",
        },
        Exported {
            name: "host-ipc",
            checks: &["KSPM-W-003"],
            admits: &["KSPM-W-003"],
            expression: "!has(variables.spec.hostIPC) || variables.spec.hostIPC != true",
            message: "the pod must not share the host IPC namespace (hostIPC)",
        },
        Exported {
            name: "host-network",
            checks: &["KSPM-W-004"],
            admits: &["KSPM-W-004"],
            expression: "!has(variables.spec.hostNetwork) || variables.spec.hostNetwork != true",
            message: "the pod must not use the host network (hostNetwork)",
        },
        // Pod Security baseline's hostPathVolumes: no hostPath at all (kspm reports a runtime
        // socket and a sensitive path under their own, more severe checks).
        Exported {
            name: "host-path",
            checks: &["KSPM-W-005", "KSPM-W-021", "KSPM-W-022"],
            admits: &["KSPM-W-005"],
            expression: "!has(variables.spec.volumes) || variables.spec.volumes.all(v, !has(v.hostPath))",
            message: "the pod must not mount hostPath volumes",
        },
        Exported {
            name: "host-ports",
            checks: &["KSPM-W-006"],
            admits: &["KSPM-W-006"],
            expression: "variables.containers.all(c, !has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0))",
            message: "containers must not bind host ports (ports[].hostPort)",
        },
        Exported {
            name: "capabilities-baseline",
            checks: &["KSPM-W-007"],
            admits: &["KSPM-W-007"],
            expression: const_format_capabilities(),
            message: "containers may add only the runtime's default capabilities (securityContext.capabilities.add)",
        },
        Exported {
            name: "allow-privilege-escalation",
            checks: &["KSPM-W-009"],
            admits: &["KSPM-W-009"],
            expression: "(has(variables.spec.os) && has(variables.spec.os.name) && variables.spec.os.name == 'windows') || variables.containers.all(c, has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation) && c.securityContext.allowPrivilegeEscalation == false)",
            message: "containers must set securityContext.allowPrivilegeEscalation=false",
        },
        Exported {
            name: "run-as-user-root",
            checks: &["KSPM-W-011"],
            admits: &["KSPM-W-011"],
            expression: "(has(variables.spec.hostUsers) && variables.spec.hostUsers == false) || ((!has(variables.spec.securityContext) || !has(variables.spec.securityContext.runAsUser) || variables.spec.securityContext.runAsUser != 0) && variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.runAsUser) || c.securityContext.runAsUser != 0))",
            message: "neither the pod nor a container may set runAsUser=0",
        },
        Exported {
            name: "mutable-tag",
            checks: &["KSPM-I-001"],
            admits: &["KSPM-I-001"],
            expression: const_format_mutable_tag(),
            message: "images must name a tag other than latest, or a digest",
        },
        Exported {
            name: "image-digest",
            checks: &["KSPM-I-002"],
            admits: &["KSPM-I-002"],
            expression: const_format_digest(),
            message: "images must be pinned by digest (image@sha256:...)",
        },
    ]
}

/// W-007's expression (the capability list spelled once).
const fn const_format_capabilities() -> &'static str {
    concat!(
        "variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.capabilities) || !has(c.securityContext.capabilities.add) || c.securityContext.capabilities.add.all(cap, cap in ",
        "['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']",
        "))"
    )
}

/// I-001's expression: no image, a valid digest, or a tag (after the last `:` of the last path
/// component, before any `@`) other than `latest`.
const fn const_format_mutable_tag() -> &'static str {
    concat!(
        "variables.containers.all(c, !has(c.image) || c.image == '' || ",
        "c.image.matches('^[^@]*@(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$')",
        " || (c.image.split('@')[0].lastIndexOf(':') > c.image.split('@')[0].lastIndexOf('/') && !c.image.split('@')[0].endsWith(':latest')))"
    )
}

/// I-002's expression: no image, or a valid digest.
const fn const_format_digest() -> &'static str {
    concat!(
        "variables.containers.all(c, !has(c.image) || c.image == '' || ",
        "c.image.matches('^[^@]*@(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$')",
        ")"
    )
}

/// What an exported policy does with an object it rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Refuse it.
    Deny,
    /// Admit it with a warning.
    Warn,
    /// Admit it, recording the failure in the audit log.
    Audit,
}

/// The format of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `admissionregistration.k8s.io/v1` ValidatingAdmissionPolicy and its binding.
    ValidatingAdmissionPolicy,
    /// Kyverno `kyverno.io/v1` ClusterPolicy with CEL validation.
    Kyverno,
}

/// A `*`-glob as an anchored RE2 pattern (`*` any run of characters, everything else literal:
/// RE2's metacharacters escaped).
fn glob_regex(glob: &str) -> String {
    let mut out = String::from("^");
    for ch in glob.chars() {
        match ch {
            '*' => out.push_str(".*"),
            c if "\\.+?()|[]{}^$".contains(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('$');
    out
}

/// A string as a CEL single-quoted literal.
fn cel_string(s: &str) -> String {
    let mut out = String::from("'");
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The CEL condition under which `exceptions` leave an object of `policy` unjudged (`None`:
/// none applies): the object's reference as findings name it (`Kind:namespace/name`) matches
/// an exception of one of its checks (or of `*`) whose cluster pattern, if any, matches
/// `cluster`, and which has not expired by `today`.
pub fn excepted(
    policy: &Exported,
    exceptions: &[Exception],
    cluster: Option<&str>,
    today: Option<&str>,
) -> Option<String> {
    let applies = |e: &&Exception| {
        (match (&e.expires, today) {
            (Some(exp), Some(today)) => today <= exp.as_str(),
            _ => true,
        }) && (match (&e.cluster, cluster) {
            (None, _) => true,
            (Some(p), Some(c)) => crate::options::glob_match(p, c),
            (Some(_), None) => false,
        })
    };
    let live: Vec<&Exception> = exceptions.iter().filter(applies).collect();
    let resource = |e: &Exception| e.resource.clone().unwrap_or_else(|| "*".into());
    // A policy that stands for several checks leaves an object unjudged only where every one of
    // them is accepted (an accepted benign hostPath is not an accepted runtime socket).
    let covers = |pattern: &str| {
        policy.checks.iter().all(|id| {
            live.iter()
                .any(|e| (e.check == "*" || e.check == *id) && resource(e) == pattern)
        })
    };
    let mut patterns: Vec<String> = live
        .iter()
        .filter(|e| e.check == "*" || policy.checks.contains(&e.check.as_str()))
        .map(|e| resource(e))
        .filter(|pattern| covers(pattern))
        .map(|pattern| glob_regex(&pattern))
        .collect();
    patterns.sort();
    patterns.dedup();
    if patterns.is_empty() {
        return None;
    }
    let reference = "object.kind + ':' + (has(object.metadata.namespace) && object.metadata.namespace != '' ? object.metadata.namespace : request.namespace) + '/' + object.metadata.name";
    Some(
        patterns
            .iter()
            .map(|p| format!("({reference}).matches({})", cel_string(p)))
            .collect::<Vec<_>>()
            .join(" || "),
    )
}

/// What to export.
pub struct Export<'a> {
    /// The controller's format.
    pub format: Format,
    /// What a rejection does.
    pub action: Action,
    /// Accepted risks (those that apply are left unjudged).
    pub exceptions: &'a [Exception],
    /// The cluster the policies are for (exceptions scoped to others are left out).
    pub cluster: Option<&'a str>,
    /// Today (`YYYY-MM-DD`): expired exceptions are left out.
    pub today: Option<&'a str>,
    /// Namespaces not judged (the platform's own: kube-system's node agents and static pods).
    pub exclude_namespaces: &'a [String],
}

/// The earliest expiry among the exceptions an export applies: admission has no clock, so
/// from that day on the policies leave unjudged what the scan judges again (export anew).
pub fn earliest_expiry(x: &Export<'_>) -> Option<String> {
    policies()
        .iter()
        .filter(|p| excepted(p, x.exceptions, x.cluster, x.today).is_some())
        .flat_map(|p| {
            x.exceptions
                .iter()
                .filter(|e| e.check == "*" || p.checks.contains(&e.check.as_str()))
                .filter_map(|e| e.expires.clone())
                .filter(|exp| x.today.is_none_or(|t| t <= exp.as_str()))
                .collect::<Vec<_>>()
        })
        .min()
}

/// The documents of the export: for each policy, a ValidatingAdmissionPolicy and its binding,
/// or a Kyverno ClusterPolicy.
pub fn export(x: &Export<'_>) -> Vec<Value> {
    let (format, action, exceptions, cluster, today) =
        (x.format, x.action, x.exceptions, x.cluster, x.today);
    let expiry = earliest_expiry(x);
    let mut docs = Vec::new();
    for p in policies() {
        let check = p.checks.first().and_then(|id| by_id(id));
        let title = check.map_or(p.message, |c| c.title);
        let severity = check.map_or("medium", |c| c.severity.as_str());
        let name = format!("kspm-{}", p.name);
        let mut annotations = json!({
            "kspm.dev/checks": p.checks.join(","),
            "kspm.dev/title": title,
            "kspm.dev/severity": severity,
        });
        if let Some(day) = &expiry {
            annotations["kspm.dev/exceptions-expire"] = json!(day);
        }
        let variables: Vec<Value> = VARIABLES
            .iter()
            .map(|(n, e)| json!({"name": n, "expression": e}))
            .collect();
        let unjudged = excepted(&p, exceptions, cluster, today);
        let mut conditions: Vec<Value> = conditions()
            .into_iter()
            .map(|(name, expression)| json!({"name": name, "expression": expression}))
            .collect();
        if let Some(cond) = &unjudged {
            conditions.push(json!({
                "name": "not-an-accepted-risk",
                "expression": format!("!({cond})"),
            }));
        }
        let message = format!("{} ({})", p.message, p.checks.join(", "));
        match format {
            Format::ValidatingAdmissionPolicy => {
                let rules = resource_rules(RESOURCES, &["CREATE", "UPDATE"], None);
                let mut spec = json!({
                    "failurePolicy": "Fail",
                    "matchConstraints": {"resourceRules": rules},
                    "variables": variables,
                    "validations": [{"expression": p.expression, "message": message}],
                });
                spec["matchConditions"] = json!(conditions);
                docs.push(json!({
                    "apiVersion": "admissionregistration.k8s.io/v1",
                    "kind": "ValidatingAdmissionPolicy",
                    "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kspm"}, "annotations": annotations},
                    "spec": spec,
                }));
                let actions = match action {
                    Action::Deny => json!(["Deny"]),
                    Action::Warn => json!(["Warn"]),
                    Action::Audit => json!(["Audit"]),
                };
                docs.push(json!({
                    "apiVersion": "admissionregistration.k8s.io/v1",
                    "kind": "ValidatingAdmissionPolicyBinding",
                    "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kspm"}},
                    "spec": binding_spec(&name, actions, x.exclude_namespaces),
                }));
            }
            Format::Kyverno => {
                // The workload kinds the checks read, and a debug container added to a pod.
                let kinds: Vec<&str> = crate::checks::pod_security::WORKLOAD_KINDS
                    .iter()
                    .copied()
                    .chain(["Pod/ephemeralcontainers"])
                    .collect();
                let mut rule = json!({
                    "name": p.name,
                    "match": {"any": [{"resources": {"kinds": kinds, "operations": ["CREATE", "UPDATE"]}}]},
                    "validate": {"cel": {
                        "variables": variables,
                        "expressions": [{"expression": p.expression, "message": message}],
                    }},
                });
                rule["celPreconditions"] = json!(conditions);
                rule["validate"]["failureAction"] = json!(if action == Action::Deny {
                    "Enforce"
                } else {
                    "Audit"
                });
                if !x.exclude_namespaces.is_empty() {
                    rule["exclude"] =
                        json!({"any": [{"resources": {"namespaces": x.exclude_namespaces}}]});
                }
                docs.push(json!({
                    "apiVersion": "kyverno.io/v1",
                    "kind": "ClusterPolicy",
                    "metadata": {
                        "name": name,
                        "labels": {"app.kubernetes.io/managed-by": "kspm"},
                        "annotations": {
                            "policies.kyverno.io/title": title,
                            "policies.kyverno.io/severity": severity,
                            "policies.kyverno.io/subject": "Pod",
                            "kspm.dev/checks": p.checks.join(","),
                        },
                    },
                    // Admission only: the preconditions read the request (who made the
                    // change, what it was before), which background scans do not have.
                    "spec": {
                        "validationFailureAction": if action == Action::Deny { "Enforce" } else { "Audit" },
                        "emitWarning": action == Action::Warn,
                        "background": false,
                        "rules": [rule],
                    },
                }));
            }
        }
    }
    docs
}

/// An `admissionregistration.k8s.io` rule per API group of `groups`, for `operations` (and,
/// when given, `scope`): what a webhook or a policy is sent.
pub fn resource_rules(
    groups: &[(&str, &[&str])],
    operations: &[&str],
    scope: Option<&str>,
) -> Vec<Value> {
    groups
        .iter()
        .map(|(group, resources)| {
            let mut rule = json!({
                "apiGroups": [group],
                "apiVersions": ["*"],
                "operations": operations,
                "resources": resources,
            });
            if let Some(scope) = scope {
                rule["scope"] = json!(scope);
            }
            rule
        })
        .collect()
}

/// A namespace selector by name: the namespaces whose `kubernetes.io/metadata.name` label is
/// (`operator` `In`) or is not (`NotIn`) one of `names`.
pub fn namespaces_by_name<S: serde::Serialize>(operator: &str, names: &[S]) -> Value {
    json!({"matchExpressions": [{
        "key": "kubernetes.io/metadata.name",
        "operator": operator,
        "values": names,
    }]})
}

/// A binding's spec: the policy, what a rejection does, and the namespaces left out.
fn binding_spec(name: &str, actions: Value, exclude_namespaces: &[String]) -> Value {
    let mut spec = json!({"policyName": name, "validationActions": actions});
    if !exclude_namespaces.is_empty() {
        spec["matchResources"] =
            json!({"namespaceSelector": namespaces_by_name("NotIn", exclude_namespaces)});
    }
    spec
}

#[cfg(test)]
mod tests;
