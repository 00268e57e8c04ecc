//! EKS access entries and access policies (CLOUD.md §1.4.1–1.4.2): who an IAM principal is in
//! the cluster under the cluster's authentication mode, and what the EKS authorizer grants it.
//! Access policies are not RBAC objects; they are modelled as synthetic RBAC bindings to the
//! equivalent roles (shipped here as data, since no API returns their rules), so the one RBAC
//! engine answers for both.

use super::aws_auth::{canonical_arn, AwsAuth, CallerIdentity, K8sIdentity};
use crate::object::{Object, Source};
use crate::parse::object_from_map;
use crate::pointer::Pointer as _;
use serde_json::{json, Value};

/// The cluster's `accessConfig.authenticationMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// aws-auth only.
    ConfigMap,
    /// Access entries, then aws-auth (an entry overrides the ConfigMap for the same principal).
    ApiAndConfigMap,
    /// Access entries only.
    Api,
}

impl AuthMode {
    /// From the API's value (`CONFIG_MAP`, `API_AND_CONFIG_MAP`, `API`); absent means `CONFIG_MAP`.
    pub fn parse(s: Option<&str>) -> AuthMode {
        match s {
            Some("API") => AuthMode::Api,
            Some("API_AND_CONFIG_MAP") => AuthMode::ApiAndConfigMap,
            _ => AuthMode::ConfigMap,
        }
    }
}

/// Where an access policy applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Cluster-wide.
    Cluster,
    /// Only in these namespaces.
    Namespaces(Vec<String>),
}

/// One access entry with its associated policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    /// `principalArn`.
    pub principal_arn: String,
    /// `type` (`STANDARD`, `EC2_LINUX`, ...).
    pub kind: String,
    /// `username` as stored (a template for roles).
    pub username: String,
    /// `kubernetesGroups`.
    pub groups: Vec<String>,
    /// Associated access policies: (policy ARN, scope), in the answer's order.
    pub policies: Vec<(String, Scope)>,
    /// `clusterName` of the answers (empty when they do not say).
    pub cluster_name: String,
}

impl AccessEntry {
    /// From `DescribeAccessEntry` (`{"accessEntry": {...}}` or the inner object) and
    /// `ListAssociatedAccessPolicies` (`{"associatedAccessPolicies": [...]}`) answers.
    pub fn from_api(entry: &Value, policies: Option<&Value>) -> Result<AccessEntry, String> {
        let e = entry.get("accessEntry").unwrap_or(entry);
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let principal_arn = s("principalArn");
        if principal_arn.is_empty() {
            return Err("access entry without principalArn".into());
        }
        let kind = if s("type").is_empty() {
            "STANDARD".into()
        } else {
            s("type")
        };
        let mut username = s("username");
        if username.is_empty() {
            username = default_username(&principal_arn, &kind);
        }
        let groups = e
            .get("kubernetesGroups")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|g| g.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut out = Vec::new();
        for p in policies
            .and_then(|p| p.get("associatedAccessPolicies"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let arn = p
                .get("policyArn")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let scope = match p.at("/accessScope/type").and_then(Value::as_str) {
                Some("namespace") => Scope::Namespaces(
                    p.at("/accessScope/namespaces")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|n| n.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                _ => Scope::Cluster,
            };
            out.push((arn, scope));
        }
        let cluster_name = [
            e.get("clusterName"),
            policies.and_then(|p| p.get("clusterName")),
        ]
        .into_iter()
        .flatten()
        .find_map(Value::as_str)
        .unwrap_or("")
        .to_string();
        Ok(AccessEntry {
            principal_arn,
            kind,
            username,
            groups,
            policies: out,
            cluster_name,
        })
    }
}

/// The username EKS gives an entry created without one.
pub fn default_username(principal_arn: &str, kind: &str) -> String {
    match kind {
        k if k.starts_with("EC2") => "system:node:{{EC2PrivateDNSName}}".into(),
        "FARGATE_LINUX" | "HYBRID_LINUX" => "system:node:{{SessionName}}".into(),
        _ => {
            let canonical = canonical_arn(principal_arn);
            match canonical.split_once(":role/") {
                Some((prefix, name)) => format!(
                    "{}:assumed-role/{name}/{{{{SessionName}}}}",
                    prefix.replacen(":iam:", ":sts:", 1)
                ),
                None => principal_arn.to_string(),
            }
        }
    }
}

/// The role an access policy is equivalent to (EKS user guide, paraphrased in CLOUD.md §1.4.2),
/// and for the two without a Kubernetes default role, the rules of a synthetic ClusterRole.
pub fn policy_role(policy_arn: &str) -> Option<(&'static str, Option<Value>)> {
    let name = policy_arn.rsplit('/').next().unwrap_or(policy_arn);
    Some(match name {
        "AmazonEKSClusterAdminPolicy" => ("cluster-admin", None),
        "AmazonEKSAdminPolicy" => ("admin", None),
        "AmazonEKSEditPolicy" => ("edit", None),
        "AmazonEKSViewPolicy" => ("view", None),
        "AmazonEKSAdminViewPolicy" => (
            "eks:access-policy:AmazonEKSAdminViewPolicy",
            Some(
                json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]),
            ),
        ),
        "AmazonEKSSecretReaderPolicy" => (
            "eks:access-policy:AmazonEKSSecretReaderPolicy",
            Some(
                json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}]),
            ),
        ),
        _ => return None,
    })
}

fn object(v: Value, origin: &str) -> Option<Object> {
    match v {
        Value::Object(m) => object_from_map(
            m,
            Source {
                file: origin.to_string(),
                line: None,
            },
        )
        .ok(),
        _ => None,
    }
}

/// The synthetic group an access entry's principal carries: access policies belong to the entry
/// (its principal), not to a username another mapping could share.
pub fn entry_group(e: &AccessEntry) -> String {
    format!("eks:access-entry:{}", canonical_arn(&e.principal_arn))
}

/// Synthetic RBAC objects standing for the access policies of these entries: bindings of each
/// entry's [`entry_group`] to the equivalent role (cluster-wide, or per namespace — `dev-*`
/// patterns expanded over the cluster's `namespaces`), plus the ClusterRoles that have no
/// Kubernetes default. Policies kspm does not know are returned by name (EKS-internal "system"
/// grants, reported as not assessed).
pub fn synthetic_rbac(
    entries: &[AccessEntry],
    namespaces: &[String],
    origin: &str,
) -> (Vec<Object>, Vec<String>) {
    let mut objects = Vec::new();
    let mut unknown = Vec::new();
    let mut roles_made = std::collections::BTreeSet::new();
    for (i, e) in entries.iter().enumerate() {
        for (position, (arn, scope)) in e.policies.iter().enumerate() {
            let Some((role, rules)) = policy_role(arn) else {
                unknown.push(arn.clone());
                continue;
            };
            if let Some(rules) = rules {
                if roles_made.insert(role) {
                    objects.extend(object(
                        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                               "metadata": {"name": role, "labels": {"kspm.io/synthetic": "eks-access-policy"}},
                               "rules": rules}),
                        origin,
                    ));
                }
            }
            let subject = json!([{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": entry_group(e)}]);
            let role_ref = json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role});
            let policy = arn.rsplit('/').next().unwrap_or(arn);
            let annotations = json!({"kspm.io/access-entry": e.principal_arn, "kspm.io/access-policy": arn,
                "kspm.io/access-policy-position": position.to_string(), "kspm.io/eks-cluster": e.cluster_name});
            match scope {
                Scope::Cluster => objects.extend(object(
                    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                           "metadata": {"name": format!("eks:access-entry:{i}:{policy}"), "annotations": annotations},
                           "roleRef": role_ref, "subjects": subject}),
                    origin,
                )),
                Scope::Namespaces(patterns) => {
                    let mut nss: Vec<&String> = Vec::new();
                    for p in patterns {
                        match p.strip_suffix('*') {
                            Some(prefix) => {
                                nss.extend(namespaces.iter().filter(|n| n.starts_with(prefix)))
                            }
                            None => nss.push(p),
                        }
                    }
                    nss.sort();
                    nss.dedup();
                    for ns in nss {
                        objects.extend(object(
                            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                                   "metadata": {"name": format!("eks:access-entry:{i}:{policy}"), "namespace": ns, "annotations": annotations},
                                   "roleRef": role_ref, "subjects": subject}),
                            origin,
                        ));
                    }
                }
            }
        }
    }
    (objects, unknown)
}

/// Who a caller is in the cluster under `mode`: an access entry for its (canonical) principal,
/// else — unless the mode is `API` — the aws-auth mapping.
pub fn identity(
    mode: AuthMode,
    entries: &[AccessEntry],
    aws_auth: Option<&AwsAuth>,
    caller: &CallerIdentity,
) -> Option<K8sIdentity> {
    let canonical = canonical_arn(&caller.arn);
    if mode != AuthMode::ConfigMap {
        if let Some(e) = entries
            .iter()
            .find(|e| canonical_arn(&e.principal_arn) == canonical || e.principal_arn == caller.arn)
        {
            let mut groups: Vec<String> = e.groups.clone();
            groups.push(entry_group(e));
            if e.kind.starts_with("EC2") {
                groups.extend([
                    "system:bootstrappers".to_string(),
                    "system:nodes".to_string(),
                ]);
            }
            return Some(K8sIdentity {
                username: caller.render(&e.username),
                groups,
            });
        }
    }
    if mode == AuthMode::Api {
        return None;
    }
    aws_auth.and_then(|a| a.identity(caller))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::{Identity, Rbac, Request};

    fn entry(arn: &str, policies: Value) -> AccessEntry {
        AccessEntry::from_api(&json!({"accessEntry": {"principalArn": arn, "type": "STANDARD", "kubernetesGroups": ["devs"]}}), Some(&policies))
            .expect("entry")
    }

    #[test]
    fn default_usernames() {
        assert_eq!(
            default_username("arn:aws:iam::1:role/path/dev", "STANDARD"),
            "arn:aws:sts::1:assumed-role/dev/{{SessionName}}"
        );
        assert_eq!(
            default_username("arn:aws:iam::1:user/bob", "STANDARD"),
            "arn:aws:iam::1:user/bob"
        );
        assert_eq!(
            default_username("arn:aws:iam::1:role/node", "EC2_LINUX"),
            "system:node:{{EC2PrivateDNSName}}"
        );
    }

    #[test]
    fn access_policies_grant_through_the_rbac_engine() {
        let admin = entry(
            "arn:aws:iam::1:role/platform",
            json!({"associatedAccessPolicies": [
            {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", "accessScope": {"type": "cluster"}}]}),
        );
        let reader = entry(
            "arn:aws:iam::1:role/audit",
            json!({"associatedAccessPolicies": [
            {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSSecretReaderPolicy", "accessScope": {"type": "namespace", "namespaces": ["payments", "dev-*"]}},
            {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAutoNodePolicy", "accessScope": {"type": "cluster"}}]}),
        );
        let namespaces: Vec<String> = ["payments", "dev-a", "dev-b", "prod"]
            .map(String::from)
            .to_vec();
        let (objects, unknown) = synthetic_rbac(
            &[admin.clone(), reader.clone()],
            &namespaces,
            "eks://c/access-entries",
        );
        assert_eq!(
            unknown,
            ["arn:aws:eks::aws:cluster-access-policy/AmazonEKSAutoNodePolicy"]
        );
        let rbac = Rbac::build(&objects, Some(31));
        // The grant follows the principal (its identity carries the entry's group), whatever the
        // session, and not a username another mapping could share.
        let as_caller = |e: &AccessEntry, session: &str| {
            let caller = CallerIdentity {
                arn: format!(
                    "{}/{session}",
                    e.principal_arn
                        .replace(":iam:", ":sts:")
                        .replace(":role/", ":assumed-role/")
                ),
                ..Default::default()
            };
            let id =
                identity(AuthMode::Api, std::slice::from_ref(e), None, &caller).expect("mapped");
            Identity::parse_as(&id.username, &id.groups)
        };
        let any_secret = Request::resource("list", "", "secrets", None, None);
        assert!(rbac
            .authorize(&as_caller(&admin, "alice"), &any_secret)
            .allowed());
        assert!(!rbac
            .authorize(&Identity::parse_as(&admin.username, &[]), &any_secret)
            .allowed());
        let reader_id = as_caller(&reader, "bob");
        let secret_in = |ns: &str| Request::resource("get", "", "secrets", Some(ns), None);
        assert!(rbac.authorize(&reader_id, &secret_in("payments")).allowed());
        assert!(rbac.authorize(&reader_id, &secret_in("dev-b")).allowed());
        assert!(!rbac.authorize(&reader_id, &secret_in("prod")).allowed());
        assert!(!rbac
            .authorize(
                &reader_id,
                &Request::resource("create", "", "pods", Some("payments"), None)
            )
            .allowed());
    }

    #[test]
    fn authentication_modes_choose_the_source() {
        let cm = crate::parse::parse_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: aws-auth, namespace: kube-system}\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::1:role/dev\n      username: from-configmap\n      groups: [cm-group]\n",
            "aws-auth.yaml",
            crate::parse::Syntax::Yaml,
        )
        .objects
        .remove(0);
        let auth = AwsAuth::from_configmap(&cm);
        let entries = vec![entry("arn:aws:iam::1:role/dev", json!({}))];
        let caller = CallerIdentity {
            arn: "arn:aws:sts::1:assumed-role/dev/alice".into(),
            ..Default::default()
        };
        let cm_only = identity(AuthMode::ConfigMap, &entries, Some(&auth), &caller).expect("cm");
        assert_eq!(cm_only.username, "from-configmap");
        let both = identity(AuthMode::ApiAndConfigMap, &entries, Some(&auth), &caller)
            .expect("entry wins");
        assert_eq!(both.username, "arn:aws:sts::1:assumed-role/dev/alice");
        assert_eq!(
            both.groups,
            ["devs", "eks:access-entry:arn:aws:iam::1:role/dev"]
        );
        let stranger = CallerIdentity {
            arn: "arn:aws:sts::1:assumed-role/other/x".into(),
            ..Default::default()
        };
        assert!(identity(AuthMode::Api, &entries, Some(&auth), &stranger).is_none());
        // API mode ignores aws-auth entirely.
        let no_entries: Vec<AccessEntry> = Vec::new();
        assert!(identity(AuthMode::Api, &no_entries, Some(&auth), &caller).is_none());
        assert_eq!(AuthMode::parse(None), AuthMode::ConfigMap);
        assert!(AccessEntry::from_api(&json!({"accessEntry": {}}), None).is_err());
    }
}
