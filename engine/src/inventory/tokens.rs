//! ServiceAccount tokens in pods: which containers of a pod template hold their
//! ServiceAccount's token, and why — one reading for the token checks, the powerful-ServiceAccount
//! check and the attack graph (CONTAINER_HAS_SA_TOKEN, and the tokens a node's pod directories
//! expose to HOST_TRAVERSE_TOKENS).
//!
//! A container holds the token when the pod automounts it (the pod's
//! `automountServiceAccountToken` wins over the ServiceAccount's; mounted when neither says),
//! when it mounts a projected `serviceAccountToken` volume of the pod, or — on EKS — when the pod
//! identity webhook injects one (an `eks.amazonaws.com/role-arn` ServiceAccount annotation, or a
//! Pod Identity association) whatever `automountServiceAccountToken` says.

use super::{ContainerRef, Inventory, PodTemplate};
use crate::cloud::documents::{spec, EKS_CLUSTER, EKS_POD_IDENTITY};
use crate::pointer::Pointer as _;
use crate::snapshot::Provider;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// What decides the tokens of every pod of an inventory: each ServiceAccount's automount
/// setting, and the ServiceAccounts EKS injects a token for.
#[derive(Debug, Default)]
pub struct Tokens {
    /// (namespace, name) → the ServiceAccount's `automountServiceAccountToken`.
    automount: HashMap<(String, String), Option<bool>>,
    /// (namespace, name) → why EKS's webhook injects a token into its pods.
    injected: HashMap<(String, String), String>,
}

impl Tokens {
    /// Reads the ServiceAccounts (and EKS Pod Identity associations) of an inventory.
    pub fn of(inv: &Inventory<'_>) -> Tokens {
        let key = |o: &crate::object::Object| {
            (
                o.effective_namespace().unwrap_or("default").to_string(),
                o.name.clone(),
            )
        };
        let automount = inv
            .of_kind("ServiceAccount")
            .iter()
            .map(|sa| {
                (
                    key(sa),
                    sa.body
                        .get("automountServiceAccountToken")
                        .and_then(Value::as_bool),
                )
            })
            .collect();
        let mut injected = HashMap::new();
        let eks =
            inv.cluster.info.provider == Provider::Eks || !inv.of_kind(EKS_CLUSTER).is_empty();
        if eks {
            for sa in inv.of_kind("ServiceAccount") {
                if let Some(role) = sa.annotations.get("eks.amazonaws.com/role-arn") {
                    injected.insert(
                        key(sa),
                        format!("ServiceAccount annotated eks.amazonaws.com/role-arn: {role}"),
                    );
                }
            }
            for a in inv.of_kind(EKS_POD_IDENTITY) {
                let spec = spec(a);
                let field = |k: &str| {
                    spec.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                injected.insert(
                    (field("namespace"), field("serviceAccount")),
                    format!("Pod Identity association {}", a.name),
                );
            }
        }
        Tokens {
            automount,
            injected,
        }
    }

    /// Whether the inventory holds ServiceAccount `namespace/name`.
    pub fn knows(&self, namespace: &str, name: &str) -> bool {
        self.automount
            .contains_key(&(namespace.to_string(), name.to_string()))
    }

    /// The namespaces some ServiceAccount of the inventory is in (where a missing one can be
    /// told apart from one the input left out).
    pub fn namespaces(&self) -> HashSet<&str> {
        self.automount.keys().map(|(ns, _)| ns.as_str()).collect()
    }

    /// The tokens of one pod template's pods.
    pub fn of_pods<'a>(&'a self, t: &PodTemplate<'a>) -> PodTokens<'a> {
        let (namespace, service_account) = t.service_account();
        let key = (namespace.to_string(), service_account.to_string());
        let projected = t
            .spec
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| {
                v.at("/projected/sources")
                    .and_then(Value::as_array)
                    .is_some_and(|s| s.iter().any(|x| x.get("serviceAccountToken").is_some()))
            })
            .filter_map(|v| v.get("name").and_then(Value::as_str))
            .collect();
        PodTokens {
            namespace,
            service_account,
            pod_setting: t
                .spec
                .get("automountServiceAccountToken")
                .and_then(Value::as_bool),
            account_setting: self.automount.get(&key).copied().flatten(),
            projected,
            injected: self.injected.get(&key).map(String::as_str),
        }
    }
}

/// The ServiceAccount token of one pod template's pods: whether it is automounted, and which
/// containers hold it otherwise.
#[derive(Debug, Clone)]
pub struct PodTokens<'a> {
    /// The pods' namespace.
    pub namespace: &'a str,
    /// Their ServiceAccount.
    pub service_account: &'a str,
    /// The pod's `automountServiceAccountToken`.
    pub pod_setting: Option<bool>,
    /// The ServiceAccount's `automountServiceAccountToken`.
    pub account_setting: Option<bool>,
    /// Names of the pod's projected volumes with a `serviceAccountToken` source.
    projected: Vec<&'a str>,
    /// Why EKS injects a token, when it does.
    injected: Option<&'a str>,
}

impl PodTokens<'_> {
    /// Whether the token is automounted into every container: the pod's setting, else the
    /// ServiceAccount's, else yes.
    pub fn automounted(&self) -> bool {
        self.pod_setting.or(self.account_setting).unwrap_or(true)
    }

    /// The projected token volumes container `c` mounts.
    pub fn projected_in(&self, c: &ContainerRef<'_>) -> Vec<&str> {
        let mounts: Vec<&str> = c
            .volume_mounts()
            .filter_map(|m| m.get("name").and_then(Value::as_str))
            .collect();
        self.projected
            .iter()
            .copied()
            .filter(|v| mounts.contains(v))
            .collect()
    }

    /// Whether EKS's pod identity webhook mounts a token whatever the pod says.
    pub fn injected(&self) -> bool {
        self.injected.is_some()
    }

    /// Why container `c` holds the ServiceAccount's token, if it does.
    pub fn in_container(&self, c: &ContainerRef<'_>) -> Option<String> {
        let (ns, sa) = (self.namespace, self.service_account);
        if self.automounted() {
            let why = match (self.pod_setting, self.account_setting) {
                (Some(true), _) => "pod sets automountServiceAccountToken: true",
                (None, Some(true)) => "ServiceAccount sets automountServiceAccountToken: true",
                _ => {
                    "automountServiceAccountToken not set to false on the pod or the ServiceAccount"
                }
            };
            return Some(format!("token of ServiceAccount {ns}/{sa} mounted: {why}"));
        }
        let mounts: Vec<&str> = c
            .volume_mounts()
            .filter_map(|m| m.get("name").and_then(Value::as_str))
            .collect();
        let mounted = self.projected.iter().find(|v| mounts.contains(v));
        if let Some(v) = mounted {
            return Some(format!(
                "projected serviceAccountToken volume `{v}` mounted"
            ));
        }
        self.injected.map(|why| {
            format!("{why}: EKS's pod identity webhook mounts a projected token of {ns}/{sa} whatever automountServiceAccountToken says")
        })
    }

    /// Whether some container of the pods holds the token (and with it, the node's pod
    /// directory of the pod).
    pub fn held(&self, t: &PodTemplate<'_>) -> bool {
        self.automounted()
            || self.injected.is_some()
            || t.containers().any(|c| self.in_container(&c).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_text, Syntax};
    use crate::snapshot::ClusterSnapshot;

    fn cluster(yaml: &str, provider: Provider) -> ClusterSnapshot {
        let out = parse_text(yaml, "t.yaml", Syntax::Yaml);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let mut c = ClusterSnapshot {
            objects: out.objects,
            ..Default::default()
        };
        c.info.provider = provider;
        c
    }

    /// (pod, container) → whether it holds the token, for every container of every pod.
    fn holders(yaml: &str, provider: Provider) -> Vec<(String, String, bool)> {
        let c = cluster(yaml, provider);
        let inv = Inventory::new(&c);
        let mut out = Vec::new();
        for t in inv.pod_templates() {
            let pods = inv.tokens().of_pods(&t);
            for ctr in t.containers() {
                out.push((
                    t.owner.name.clone(),
                    ctr.name.to_string(),
                    pods.in_container(&ctr).is_some(),
                ));
            }
            let any = t.containers().any(|ctr| pods.in_container(&ctr).is_some());
            assert_eq!(pods.held(&t), any, "{}", t.owner.name);
        }
        out
    }

    const ACCOUNTS: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: closed, namespace: a}
automountServiceAccountToken: false
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: open, namespace: a}
automountServiceAccountToken: true
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: irsa, namespace: a, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::1:role/r"}}
automountServiceAccountToken: false
"#;

    #[test]
    fn the_pod_setting_wins_over_the_service_account() {
        let yaml = format!(
            "{ACCOUNTS}---
apiVersion: v1
kind: Pod
metadata: {{name: pod-on, namespace: a}}
spec: {{serviceAccountName: closed, automountServiceAccountToken: true, containers: [{{name: c}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: pod-off, namespace: a}}
spec: {{serviceAccountName: open, automountServiceAccountToken: false, containers: [{{name: c}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: sa-off, namespace: a}}
spec: {{serviceAccountName: closed, containers: [{{name: c}}, {{name: d}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: unset, namespace: a}}
spec: {{serviceAccountName: missing, initContainers: [{{name: i}}], containers: [{{name: c}}]}}
"
        );
        let got = holders(&yaml, Provider::Generic);
        let holds = |pod: &str, c: &str| {
            got.iter()
                .find(|(p, n, _)| p == pod && n == c)
                .map(|x| x.2)
                .expect("container")
        };
        assert!(holds("pod-on", "c"));
        assert!(!holds("pod-off", "c"));
        assert!(!holds("sa-off", "c") && !holds("sa-off", "d"));
        // Neither says: mounted, init containers too.
        assert!(holds("unset", "c") && holds("unset", "i"));
    }

    #[test]
    fn a_projected_token_is_held_only_where_it_is_mounted() {
        let yaml = format!(
            "{ACCOUNTS}---
apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: a}}
spec:
  serviceAccountName: closed
  volumes: [{{name: tok, projected: {{sources: [{{serviceAccountToken: {{path: t}}}}]}}}}, {{name: cm, projected: {{sources: [{{configMap: {{name: x}}}}]}}}}]
  containers: [{{name: reader, volumeMounts: [{{name: tok, mountPath: /t}}]}}, {{name: other, volumeMounts: [{{name: cm, mountPath: /c}}]}}]
"
        );
        let got = holders(&yaml, Provider::Generic);
        assert_eq!(
            got,
            vec![
                ("p".to_string(), "reader".to_string(), true),
                ("p".to_string(), "other".to_string(), false)
            ]
        );
    }

    #[test]
    fn eks_injects_a_token_whatever_automount_says_but_only_on_eks() {
        let yaml = format!(
            "{ACCOUNTS}---
apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: a}}
spec: {{serviceAccountName: irsa, containers: [{{name: c}}]}}
"
        );
        assert_eq!(
            holders(&yaml, Provider::Eks),
            vec![("p".to_string(), "c".to_string(), true)]
        );
        assert_eq!(
            holders(&yaml, Provider::Gke),
            vec![("p".to_string(), "c".to_string(), false)]
        );
    }
}
