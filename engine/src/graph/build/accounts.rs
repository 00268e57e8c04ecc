//! The cluster's ServiceAccounts and their live token Secrets, as identities' grants read them
//! by name: impersonating a ServiceAccount or minting its token by `resourceNames`, reading a
//! token Secret (READ_SA_TOKEN_SECRET).

use crate::inventory::Inventory;
use crate::object::Object;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The ServiceAccounts of a cluster and their live token Secrets (a part of
/// [`super::ClusterFacts`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounts {
    /// Live ServiceAccount token Secrets: (namespace, secret name, ServiceAccount name).
    pub(super) token_secrets: Vec<(String, String, String)>,
    /// ServiceAccounts in the snapshot: (namespace, name).
    pub(super) service_accounts: Vec<(String, String)>,
}

impl Accounts {
    /// The ServiceAccounts and live token Secrets of `inv`, in its order.
    pub fn of(inv: &Inventory<'_>) -> Accounts {
        let uids = uids(inv);
        Accounts {
            token_secrets: inv
                .of_kind("Secret")
                .iter()
                .filter_map(|s| {
                    Some((
                        s.effective_namespace()?.to_string(),
                        s.name.clone(),
                        live_token_secret_sa(s, &uids)?,
                    ))
                })
                .collect(),
            service_accounts: inv
                .of_kind("ServiceAccount")
                .iter()
                .map(|sa| {
                    (
                        sa.effective_namespace().unwrap_or("default").to_string(),
                        sa.name.clone(),
                    )
                })
                .collect(),
        }
    }

    /// The namespaces whose ServiceAccounts `other` lists otherwise (others, or in another
    /// order).
    pub fn service_accounts_differ(&self, other: &Accounts) -> BTreeSet<String> {
        differing(
            &self.service_accounts,
            &other.service_accounts,
            |(ns, _)| ns,
        )
    }

    /// The namespaces whose live token Secrets `other` lists otherwise.
    pub fn token_secrets_differ(&self, other: &Accounts) -> BTreeSet<String> {
        differing(&self.token_secrets, &other.token_secrets, |(ns, _, _)| ns)
    }
}

/// The namespaces (`namespace` of an item) whose items, in order, differ between `a` and `b`.
fn differing<T: PartialEq>(a: &[T], b: &[T], namespace: fn(&T) -> &String) -> BTreeSet<String> {
    let (a, b) = (by_namespace(a, namespace), by_namespace(b, namespace));
    a.keys()
        .chain(b.keys())
        .filter(|ns| a.get(*ns) != b.get(*ns))
        .map(|ns| ns.to_string())
        .collect()
}

/// `items` by their namespace, in order.
fn by_namespace<T>(items: &[T], namespace: fn(&T) -> &String) -> BTreeMap<&String, Vec<&T>> {
    let mut out: BTreeMap<&String, Vec<&T>> = BTreeMap::new();
    for item in items {
        out.entry(namespace(item)).or_default().push(item);
    }
    out
}

/// The uid of each ServiceAccount of `inv` that has one, by (namespace, name): a token Secret
/// whose `kubernetes.io/service-account.uid` names another uid belongs to an account deleted
/// since.
pub(super) fn uids<'a>(inv: &Inventory<'a>) -> HashMap<(&'a str, &'a str), &'a str> {
    inv.of_kind("ServiceAccount")
        .iter()
        .filter_map(|sa| {
            Some((
                (sa.effective_namespace()?, sa.name.as_str()),
                sa.uid.as_deref()?,
            ))
        })
        .collect()
}

/// Whether `o` is a ServiceAccount token Secret (live or not).
pub fn is_token_secret(o: &Object) -> bool {
    o.kind == "Secret"
        && o.body.get("type").and_then(Value::as_str) == Some("kubernetes.io/service-account-token")
}

/// The ServiceAccount a live legacy token Secret authenticates as.
pub(super) fn live_token_secret_sa(
    s: &Object,
    sa_uids: &HashMap<(&str, &str), &str>,
) -> Option<String> {
    if !is_token_secret(s) {
        return None;
    }
    if s.labels
        .contains_key("kubernetes.io/legacy-token-invalid-since")
    {
        return None;
    }
    let sa = s.annotations.get("kubernetes.io/service-account.name")?;
    let ns = s.effective_namespace()?;
    if let (Some(want), Some(have)) = (
        s.annotations.get("kubernetes.io/service-account.uid"),
        sa_uids.get(&(ns, sa.as_str())),
    ) {
        if want != have {
            return None;
        }
    }
    Some(sa.clone())
}
