//! Who reads a Namespace's labels, for the incremental evaluator: when a batch changes the
//! labels of Namespaces that stay (same name), adds a Namespace for a namespace that holds
//! nothing yet, or removes a namespace (its Namespace and everything in it, as the namespace
//! controller does), the cluster part and these namespaces are evaluated again instead of the
//! whole cluster.
//!
//! A namespace part reads its own Namespace's labels (Pod Security, its policies' scope, its
//! pods' labels as Cilium sees them) and, of other namespaces, only:
//! - what a namespace selector of one of its objects says of them (NetworkPolicy peers,
//!   Calico's rules, Gateway listeners, ...): [`selector_readers`] finds the objects whose
//!   selectors may now say otherwise of a relabeled namespace;
//! - whether Pod Security guards them, where its ServiceAccounts may create or change
//!   workloads ([`crate::rbac::reach::Reads::PodSecurity`]), or where a mutating webhook
//!   its pods serve patches pods ([`webhook_backends`]), and which namespaces that webhook's
//!   selector covers;
//! - the labels network reach keys pods by, which the join takes from the cluster's facts
//!   ([`crate::graph::merged_policies`]).
//!
//! A new namespace is, to a selector, one it did not match before; a removed one, one it does
//! not match after. A cluster-scoped object
//! whose selector may say otherwise makes the whole cluster read the change (a cluster-wide
//! policy), but an admission webhook's, which only the namespaces serving it read. So does any
//! Calico or Cilium object: Calico's selectors read namespace labels under `pcns.` anywhere,
//! its network sets are scoped by their own namespace's labels (a link between two namespaces'
//! pods may read a third's), and Cilium's read a pod's namespace labels as its own labels
//! (which the internet-facing load balancers' policies, gathered from their namespaces, hold a
//! copy of).

use crate::object::Object;
use crate::pointer::Pointer as _;
use crate::selector::LabelSelector;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A namespace's labels, as namespace selectors see them.
pub(super) type Labels = BTreeMap<String, String>;

/// A namespace's labels before (`None`: the namespace is new) and after (`None`: the namespace
/// is removed) a batch.
pub(super) type Change = (Option<Labels>, Option<Labels>);

/// Kinds none of whose namespace selectors kspm reads (a pod template's affinity terms hold
/// some; placement is read from node selectors and node affinity only): not searched.
const NO_NAMESPACE_SELECTOR: &[&str] = &[
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
    "PodTemplate",
    "ConfigMap",
    "Secret",
    "Service",
    "Endpoints",
    "EndpointSlice",
    "ServiceAccount",
    "Event",
    "Node",
    "Namespace",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
];

/// Whether `o` is of a kind that may hold a namespace selector kspm reads (see
/// [`NO_NAMESPACE_SELECTOR`]): those [`selector_readers`] asks.
pub(super) fn may_select_namespaces(o: &Object) -> bool {
    !NO_NAMESPACE_SELECTOR.contains(&o.kind.as_str())
}

/// A Namespace's labels before and after, as selectors see them (with the
/// `kubernetes.io/metadata.name` label the API server sets).
pub(super) fn as_selected(name: &str, labels: &Labels) -> Labels {
    let mut l = labels.clone();
    l.insert("kubernetes.io/metadata.name".to_string(), name.to_string());
    l
}

/// Admission webhook configurations: their selectors are read by the namespaces serving them.
const WEBHOOK_CONFIGURATIONS: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The namespaces (of `objects`, each with its namespace, `""` when cluster-scoped) whose
/// objects hold a namespace selector that may say otherwise of a namespace after than before
/// (`changes`, labelled as selectors see them: [`as_selected`]) and those serving a webhook whose selector may; `None` when another
/// cluster-scoped object's selector may, or a Calico or Cilium object is present.
pub(super) fn selector_readers<'o>(
    objects: impl IntoIterator<Item = (&'o str, &'o Object)>,
    changes: &[Change],
) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for (ns, o) in objects {
        if !may_select_namespaces(o) {
            continue;
        }
        if o.api_version.starts_with("projectcalico.org/")
            || o.api_version.starts_with("crd.projectcalico.org/")
            || o.api_version.starts_with("cilium.io/")
        {
            return None;
        }
        if out.contains(ns) {
            continue;
        }
        if reads(&o.body, changes) {
            if !ns.is_empty() {
                out.insert(ns.to_string());
            } else if WEBHOOK_CONFIGURATIONS.contains(&o.kind.as_str()) {
                out.extend(backends(o));
            } else {
                return None;
            }
        }
    }
    Some(out)
}

/// Whether `v` holds a namespace selector (a `namespaceSelector`, or a `namespaces` object as
/// AdminNetworkPolicy's and Gateway listeners' are) that may say otherwise of a namespace
/// after than before.
fn reads(v: &Value, changes: &[Change]) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(key, v)| {
            let selector = match key.as_str() {
                "namespaceSelector" => true,
                // A list of names (Istio's, Gatekeeper's) reads no labels.
                "namespaces" => !v.is_array(),
                _ => false,
            };
            (selector && verdict_may_change(v, changes)) || reads(v, changes)
        }),
        Value::Array(items) => items.iter().any(|v| reads(v, changes)),
        _ => false,
    }
}

/// Whether a selector may match a namespace before and not after, or after and not before (a
/// new namespace is matched only after, a removed one only before): a label selector is asked;
/// any other shape (Calico's selector expressions, AdminNetworkPolicy's `sameLabels`, a
/// Gateway's `from`) is taken to.
fn verdict_may_change(selector: &Value, changes: &[Change]) -> bool {
    match selector {
        Value::Null => false,
        Value::Object(m)
            if m.keys()
                .all(|k| k == "matchLabels" || k == "matchExpressions") =>
        {
            let s = LabelSelector::from_value(Some(selector));
            changes.iter().any(|(before, after)| {
                before.as_ref().is_some_and(|b| s.matches(b))
                    != after.as_ref().is_some_and(|a| s.matches(a))
            })
        }
        _ => true,
    }
}

/// The namespaces of the Services that mutating admission webhooks covering a namespace
/// labelled as one of `covering` call (among the cluster-scoped `objects`): their pods' parts
/// read whether Pod Security guards the namespaces the webhooks cover.
pub(super) fn webhook_backends<'o>(
    objects: impl IntoIterator<Item = &'o Object>,
    covering: &[Labels],
) -> BTreeSet<String> {
    objects
        .into_iter()
        .filter(|o| o.kind == "MutatingWebhookConfiguration")
        .flat_map(webhooks)
        .filter(|hook| {
            let selector = LabelSelector::from_value(hook.get("namespaceSelector"));
            covering.iter().any(|labels| selector.matches(labels))
        })
        .filter_map(backend)
        .collect()
}

/// The webhooks of a webhook configuration.
fn webhooks(config: &Object) -> impl Iterator<Item = &Value> {
    config
        .body
        .get("webhooks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The namespace of the Service a webhook calls.
fn backend(hook: &Value) -> Option<String> {
    hook.at("/clientConfig/service/namespace")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The namespaces of the Services a webhook configuration's webhooks call.
fn backends(config: &Object) -> impl Iterator<Item = String> + '_ {
    webhooks(config).filter_map(backend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Object {
        let text = v.to_string();
        let mut out = crate::parse::parse_text(&text, "o.json", crate::parse::Syntax::Json);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        out.objects.remove(0)
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        as_selected(
            "shop",
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn policy(ns: &str, peer: Value) -> Object {
        object(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "p", "namespace": ns},
            "spec": {"podSelector": {}, "ingress": [{"from": [peer]}]}}),
        )
    }

    fn readers(objects: &[Object], (before, after): (Labels, Labels)) -> Option<Vec<String>> {
        created(objects, (Some(before), Some(after)))
    }

    fn created(objects: &[Object], change: Change) -> Option<Vec<String>> {
        let objects = objects
            .iter()
            .map(|o| (o.namespace.as_deref().unwrap_or(""), o));
        selector_readers(objects, &[change]).map(|r| r.into_iter().collect())
    }

    #[test]
    fn a_selector_reads_a_relabeled_namespace_when_its_verdict_changes() {
        let team = policy(
            "db",
            json!({"namespaceSelector": {"matchLabels": {"team": "shop"}}}),
        );
        let every = policy("web", json!({"namespaceSelector": {}}));
        let by_name = policy(
            "api",
            json!({"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["shop"]}]}}),
        );
        let pods_only = policy("ops", json!({"podSelector": {"matchLabels": {"app": "x"}}}));
        let all = [team, every, by_name, pods_only];
        // Joining the team: only the policy whose verdict changes reads it.
        assert_eq!(
            readers(&all, (labels(&[]), labels(&[("team", "shop")]))),
            Some(vec!["db".to_string()])
        );
        // Another label: no selector says otherwise.
        assert_eq!(
            readers(
                &all,
                (
                    labels(&[("team", "shop")]),
                    labels(&[("team", "shop"), ("env", "x")])
                )
            ),
            Some(vec![])
        );
        // Nested anywhere (an egress peer), leaving the team.
        let egress = object(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "e", "namespace": "cache"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                "egress": [{"to": [{"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["shop"]}]}}]}]}}),
        );
        assert_eq!(
            readers(
                std::slice::from_ref(&egress),
                (labels(&[("team", "shop")]), labels(&[]))
            ),
            Some(vec!["cache".to_string()])
        );
        // A new namespace: the selectors that match it read it.
        let mut all = all.to_vec();
        all.push(egress);
        assert_eq!(
            created(&all, (None, Some(labels(&[("team", "shop")])))),
            Some(vec!["api".to_string(), "db".to_string(), "web".to_string()])
        );
        // A removed namespace: the selectors that matched it read it.
        assert_eq!(
            created(&all, (Some(labels(&[("team", "shop")])), None)),
            Some(vec!["api".to_string(), "db".to_string(), "web".to_string()])
        );
        assert_eq!(
            created(&all, (Some(labels(&[("team", "ops")])), None)),
            Some(vec![
                "api".to_string(),
                "cache".to_string(),
                "web".to_string()
            ])
        );
        assert_eq!(
            created(&all, (None, Some(labels(&[("team", "ops")])))),
            Some(vec![
                "api".to_string(),
                "cache".to_string(),
                "web".to_string()
            ])
        );
    }

    #[test]
    fn selectors_not_asked_are_taken_to_read_and_cluster_scoped_ones_read_for_the_cluster() {
        let change = (labels(&[]), labels(&[("env", "prod")]));
        let calico = object(
            json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
            "metadata": {"name": "c", "namespace": "db"},
            "spec": {"selector": "all()", "ingress": [{"action": "Allow", "source": {"namespaceSelector": "team == 'x'"}}]}}),
        );
        let cilium = object(
            json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": "c", "namespace": "web"}, "spec": {"endpointSelector": {}}}),
        );
        let gateway = object(
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "g", "namespace": "edge"},
            "spec": {"listeners": [{"name": "l", "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"a": "b"}}}}}]}}),
        );
        let names = object(
            json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
            "metadata": {"name": "i", "namespace": "mesh"},
            "spec": {"rules": [{"from": [{"source": {"namespaces": ["shop"]}}]}]}}),
        );
        assert_eq!(
            readers(&[gateway, names], change.clone()),
            Some(vec!["edge".to_string()])
        );
        // Calico and Cilium: the whole cluster, whatever their selectors say.
        assert_eq!(readers(&[calico], change.clone()), None);
        assert_eq!(readers(&[cilium], change.clone()), None);
        let set = object(
            json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkSet",
            "metadata": {"name": "s", "namespace": "sets"}, "spec": {"nets": ["10.0.0.0/8"]}}),
        );
        assert_eq!(readers(&[set], change.clone()), None);
        let webhook = |selector: Value| {
            object(
                json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                "metadata": {"name": "w"},
                "webhooks": [{"name": "w.x", "clientConfig": {"service": {"namespace": "kyverno", "name": "svc"}},
                    "namespaceSelector": selector}]}),
            )
        };
        // A webhook's selector: the namespace serving it reads it; another cluster-scoped
        // object's, the whole cluster.
        assert_eq!(
            readers(
                &[webhook(json!({"matchLabels": {"env": "prod"}}))],
                change.clone()
            ),
            Some(vec!["kyverno".to_string()])
        );
        let global = object(
            json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
            "metadata": {"name": "g"},
            "spec": {"namespaceSelector": "env == 'prod'", "selector": "all()"}}),
        );
        assert_eq!(readers(&[global], change.clone()), None);
        let unmoved = webhook(json!({"matchLabels": {"env": "dev"}}));
        assert_eq!(
            readers(std::slice::from_ref(&unmoved), change),
            Some(vec![])
        );
        // Pod templates' affinity terms are not read.
        let pod = object(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "x"},
            "spec": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"namespaceSelector": {"matchLabels": {"env": "prod"}}, "topologyKey": "k"}]}}}}),
        );
        assert_eq!(
            readers(&[pod], (labels(&[]), labels(&[("env", "prod")]))),
            Some(vec![])
        );
        // Its backend reads the guard of the namespaces it covers only.
        let dev = labels(&[("env", "dev")]);
        assert_eq!(
            webhook_backends([&unmoved], &[dev])
                .into_iter()
                .collect::<Vec<_>>(),
            ["kyverno"]
        );
        assert!(webhook_backends([&unmoved], &[labels(&[("env", "prod")])]).is_empty());
    }
}
