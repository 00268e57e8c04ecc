//! One Kubernetes object as the engine sees it: identity, metadata and the raw body.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Where an object came from: a file (and the line its document starts on) or a live API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
pub struct Source {
    /// File path as the user gave it (or `api://...` for live collection).
    pub file: String,
    /// 1-based line where the object's document starts, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// An owner reference (`metadata.ownerReferences[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    /// Owner kind, e.g. `ReplicaSet`.
    pub kind: String,
    /// Owner name.
    pub name: String,
    /// Owner UID, when present.
    pub uid: Option<String>,
    /// Whether this reference is the managing controller.
    pub controller: bool,
}

/// A Kubernetes object. Secret values never reach this type: the parser drops them.
#[derive(Debug, Clone)]
pub struct Object {
    /// `apiVersion`, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind`, e.g. `Deployment`.
    pub kind: String,
    /// `metadata.name` (or `generateName` for manifests that only have that).
    pub name: String,
    /// `metadata.namespace`; `None` for cluster-scoped objects and namespaced manifests without one.
    pub namespace: Option<String>,
    /// `metadata.uid`, when present (live and exported objects).
    pub uid: Option<String>,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `metadata.ownerReferences`.
    pub owners: Vec<OwnerRef>,
    /// For Secrets: the key names of `data` and `stringData` (values are dropped at parse time).
    pub secret_keys: Vec<String>,
    /// The full object as parsed (for Secrets: without `data`, `stringData` and the
    /// last-applied-configuration annotation).
    pub body: Value,
    /// Where it came from.
    pub source: Source,
}

/// Kinds that are cluster-scoped in Kubernetes (used for node references and namespace defaulting).
pub const CLUSTER_SCOPED_KINDS: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "RuntimeClass",
    "IngressClass",
    "GatewayClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "CertificateSigningRequest",
    "APIService",
    "PodSecurityPolicy",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "ClusterIssuer",
    "ClusterPolicy",
    "KubeletConfiguration",
    // Network policies that apply across namespaces (Calico, Cilium, the policy API).
    "GlobalNetworkPolicy",
    "GlobalNetworkSet",
    "Tier",
    "CiliumClusterwideNetworkPolicy",
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
    "ClusterNetworkPolicy",
];

impl Object {
    /// Whether the kind is cluster-scoped.
    pub fn is_cluster_scoped(&self) -> bool {
        // (Asked of every object again and again, through `effective_namespace`: one lookup,
        // not a walk through some fifty names.)
        static SCOPED: std::sync::OnceLock<hashbrown::HashSet<&'static str>> =
            std::sync::OnceLock::new();
        SCOPED
            .get_or_init(|| {
                CLUSTER_SCOPED_KINDS
                    .iter()
                    .chain(crate::cloud::kinds::CLOUD_KINDS)
                    .copied()
                    .collect()
            })
            .contains(self.kind.as_str())
    }

    /// The namespace to use for a namespaced object (`default` when the manifest names none).
    pub fn effective_namespace(&self) -> Option<&str> {
        if self.is_cluster_scoped() {
            None
        } else {
            Some(self.namespace.as_deref().unwrap_or("default"))
        }
    }

    /// The node reference string: `Kind:namespace/name` or `Kind:name` for cluster-scoped kinds.
    pub fn node_ref(&self) -> String {
        match self.effective_namespace() {
            Some(ns) => format!("{}:{}/{}", self.kind, ns, self.name),
            None => format!("{}:{}", self.kind, self.name),
        }
    }

    /// The API group of the object (`""` for the core group).
    pub fn api_group(&self) -> &str {
        match self.api_version.split_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }

    /// The value at an evidence path such as `spec.containers[1].securityContext.privileged` or
    /// `metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]`.
    pub fn value_at(&self, path: &str) -> Option<&Value> {
        let mut cur = &self.body;
        let mut rest = path;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']')?;
                let key = &r[..end];
                cur = match key.parse::<usize>() {
                    Ok(i) if cur.is_array() => cur.get(i)?,
                    _ => cur.get(key)?,
                };
                rest = r[end + 1..].strip_prefix('.').unwrap_or(&r[end + 1..]);
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                cur = cur.get(&rest[..end])?;
                rest = rest[end..].strip_prefix('.').unwrap_or(&rest[end..]);
            }
        }
        Some(cur)
    }

    /// A field by a dotted path of map keys, e.g. `spec.template.spec`.
    pub fn field(&self, path: &str) -> Option<&Value> {
        path.split('.').try_fold(&self.body, |v, key| v.get(key))
    }
}
