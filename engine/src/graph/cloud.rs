//! Cloud ↔ cluster bridges (ATTACK-TECHNIQUES.md §4) for AWS: node instance roles reached
//! through IMDS (per cluster), and the fleet-wide pass that joins every EKS cluster to the IAM
//! of every scanned account — IRSA and Pod Identity (the trust side evaluated, not just the
//! annotation), aws-auth and access entries under the cluster's authentication mode, EKS API
//! rights that make a principal cluster-admin, and IAM rights that make it account admin.
//! Cloud principals belong to no cluster, so a role shared by two clusters joins their graphs:
//! a pod in one cluster reaching cluster-admin of another is one path.

use super::remedy::Remedy;
use super::{AttackGraph, NodeIndex, NodeKind, Technique as T};
use crate::cloud::aws_account::{irsa, oidc_provider_arn, pod_identity, Account, Role};
use crate::cloud::aws_auth::{canonical_arn, CallerIdentity};
use crate::cloud::aws_iam::{
    evaluate, explicitly_denies, glob, is_admin, trust_allows, Caller, Decision, Effect, Policy,
    Statement,
};
use crate::cloud::eks::{nodegroups, EksFacts, Imds};
use crate::cloud::eks_access::{self, AuthMode};
use crate::inventory::Inventory;
use crate::netpol;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The graph node reference of an AWS principal.
pub fn principal_ref(arn: &str) -> String {
    let canonical = canonical_arn(arn);
    let resource = canonical.splitn(6, ':').nth(5).unwrap_or("");
    if resource.starts_with("role/") {
        format!("AwsRole:{canonical}")
    } else if resource.starts_with("user/") {
        format!("AwsUser:{canonical}")
    } else {
        format!("AwsPrincipal:{canonical}")
    }
}

/// The account-admin sink of an AWS account.
pub fn cloud_admin_ref(account: &str) -> String {
    format!("CloudAdmin:aws:{account}")
}

fn principal(g: &mut AttackGraph, arn: &str) -> NodeIndex {
    g.node(None, &principal_ref(arn), NodeKind::CloudPrincipal)
}

fn decided(d: &Decision) -> Option<String> {
    match d {
        Decision::Allow => Some(String::new()),
        Decision::ConditionalAllow(c) => Some(format!(" (conditional: {c})")),
        Decision::Deny => None,
    }
}

// -------------------------------------------------------------------------------------------
// Per cluster: node instance roles.

/// The nodes labelled (`label`) as members of one of the pools `names` (EKS node groups, GKE
/// node pools): (node name, pool index), in inventory order.
pub(super) fn pool_nodes<'a>(
    inv: &Inventory<'a>,
    label: &str,
    names: &[&str],
) -> Vec<(&'a str, usize)> {
    inv.of_kind("Node")
        .iter()
        .filter_map(|n| {
            let pool = n.labels.get(label)?;
            let i = names.iter().position(|x| x == pool)?;
            Some((n.name.as_str(), i))
        })
        .collect()
}

/// The pools a workload runs on: where its pods are (`spec.nodeName`, live snapshots), else every
/// pool it may be scheduled on (all, or the one its `nodeSelector` names by `label`). Returns the
/// pool indices and whether they come from actual placement.
pub(super) fn workload_pools(
    t: &crate::inventory::PodTemplate<'_>,
    placement: &HashMap<String, BTreeSet<String>>,
    node_pool: &HashMap<&str, usize>,
    names: &[&str],
    label: &str,
) -> (BTreeSet<usize>, bool) {
    let placed: BTreeSet<usize> = placement
        .get(&t.owner.node_ref())
        .into_iter()
        .flatten()
        .filter_map(|n| node_pool.get(n.as_str()).copied())
        .collect();
    if !placed.is_empty() {
        return (placed, true);
    }
    let pinned = t
        .spec
        .get("nodeSelector")
        .and_then(|s| s.get(label))
        .and_then(Value::as_str);
    let all = (0..names.len())
        .filter(|i| pinned.is_none_or(|p| names[*i] == p))
        .collect();
    (all, false)
}

/// What the per-cluster bridges of nodes and workloads to the nodes' cloud identities draw on.
pub(super) struct Draw<'a> {
    /// Whether to draw the nodes' own edges (NODE_CLOUD_IDENTITY): the cluster part's, or the
    /// whole cluster's; a namespace part draws only its workloads'.
    pub nodes: bool,
    /// Workload node reference → the nodes its pods run on.
    pub placement: &'a HashMap<String, BTreeSet<String>>,
    /// The NetworkPolicies (whether pods reach the metadata server), read when first asked.
    pub policies: &'a dyn Fn() -> &'a netpol::Model,
}

/// NODE_CLOUD_IDENTITY (node → its instance role) and POD_IMDS_PIVOT (workload → the instance
/// role of the nodes it runs on, when IMDS is reachable from its pods).
pub(super) fn node_roles(g: &mut AttackGraph, cluster: &str, inv: &Inventory<'_>, on: &Draw<'_>) {
    let groups = nodegroups(inv);
    if groups.is_empty() {
        return;
    }
    const LABEL: &str = super::build::EKS_NODEGROUP_LABEL;
    let names: Vec<&str> = groups.iter().map(|x| x.name.as_str()).collect();
    let node_group = pool_nodes(inv, LABEL, &names);
    let lookup: HashMap<&str, usize> = node_group.iter().copied().collect();
    let (placement, policies) = (on.placement, on.policies);
    for (node_name, i) in node_group.iter().filter(|_| on.nodes) {
        if !groups[*i].role_arn.is_empty() {
            let node = g.node(Some(cluster), &format!("Node:{node_name}"), NodeKind::Node);
            let role = principal(g, &groups[*i].role_arn);
            g.edge(
                node,
                role,
                T::NODE_CLOUD_IDENTITY,
                format!(
                    "node group {} runs its instances with role {}",
                    groups[*i].name, groups[*i].role_arn
                ),
            );
        }
    }
    for t in inv.pod_templates() {
        let wref = t.owner.node_ref();
        let host_network = t.spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
        let (candidates, placed) = workload_pools(&t, placement, &lookup, &names, LABEL);
        let Some(egress) = metadata_egress(policies(), &t, host_network, netpol::AWS_METADATA)
        else {
            continue;
        };
        for i in candidates {
            let ng = &groups[i];
            if ng.role_arn.is_empty() {
                continue;
            }
            let why = match (&ng.imds, host_network) {
                (Imds::Disabled, _) => continue,
                (Imds::AllPods(w), _) => w.clone(),
                (Imds::HostNetworkOnly(w) | Imds::Unknown(w), true) => {
                    format!("hostNetwork pod: the node's IMDS answers it directly ({w})")
                }
                (Imds::HostNetworkOnly(_) | Imds::Unknown(_), false) => continue,
            };
            let w = g.node(Some(cluster), &wref, NodeKind::Workload);
            let role = principal(g, &ng.role_arn);
            let place = if placed {
                "runs on"
            } else {
                "may be scheduled on"
            };
            g.edge(
                w,
                role,
                T::POD_IMDS_PIVOT,
                format!(
                    "{place} node group {}; 169.254.169.254 gives the instance role {}: {why}{egress}",
                    ng.name, ng.role_arn
                ),
            );
        }
    }
}

/// Whether a template's pods may reach the metadata server by the NetworkPolicies: `None` when
/// the policies deny it (no edge), else what the edge's evidence adds (nothing when allowed,
/// the reason when it cannot be decided). Host-network pods are not governed by policies.
pub(super) fn metadata_egress(
    policies: &netpol::Model,
    t: &crate::inventory::PodTemplate<'_>,
    host_network: bool,
    addresses: &[&str],
) -> Option<String> {
    if host_network {
        return Some(String::new());
    }
    match policies.metadata_egress(&netpol::Pods::of(t), addresses) {
        (netpol::Answer::No, _) => None,
        (netpol::Answer::Yes, _) => Some(String::new()),
        (netpol::Answer::Unknown, why) => Some(format!(
            "; whether NetworkPolicies let the pods reach it cannot be decided: {why}"
        )),
    }
}

// -------------------------------------------------------------------------------------------
// Fleet-wide: IAM ↔ Kubernetes.

/// Every scanned account's IAM, by account ID.
pub type Accounts = BTreeMap<String, Account>;

/// What the cloud pass could not verify, per cluster (reported as errors of that cluster).
pub type CloudNotes = Vec<(String, String)>;

fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or("")
}

/// IRSA for any audience the trust accepts: whoever mints the ServiceAccount's token (a pod, a
/// TokenRequest) chooses its audience, so each `<issuer>:aud` value the trust names is tried
/// (the default `sts.amazonaws.com` when it names none).
fn irsa_any_audience(
    account: &Account,
    role: &Role,
    issuer: &str,
    ns: &str,
    name: &str,
) -> Decision {
    let host_path = issuer.trim_start_matches("https://").trim_end_matches('/');
    let key = format!("{host_path}:aud");
    let mut audiences: Vec<String> = Vec::new();
    for s in &role.trust.statements {
        for (_, v) in string_conditions(s, &key) {
            match v {
                Value::String(a) => audiences.push(a.clone()),
                Value::Array(a) => {
                    audiences.extend(a.iter().filter_map(|x| x.as_str().map(str::to_string)))
                }
                _ => {}
            }
        }
    }
    if audiences.is_empty() {
        return irsa(account, &role.arn, issuer, ns, name, None);
    }
    let mut best = Decision::Deny;
    for aud in audiences {
        match irsa(account, &role.arn, issuer, ns, name, Some(&aud)) {
            Decision::Allow => return Decision::Allow,
            d @ Decision::ConditionalAllow(_) => best = d,
            Decision::Deny => {}
        }
    }
    best
}

/// A principal ARN as the scanned IAM spells it (case-insensitive match of the canonical ARN),
/// or as given when its account was not scanned or it does not exist.
fn resolve_arn(accounts: &Accounts, arn: &str) -> String {
    let canonical = canonical_arn(arn).to_lowercase();
    accounts
        .get(account_of(arn))
        .and_then(|a| {
            a.roles
                .keys()
                .chain(a.users.keys())
                .find(|k| k.to_lowercase() == canonical)
        })
        .cloned()
        .unwrap_or_else(|| arn.to_string())
}

/// Whether a trust statement names `provider` (or anyone) as its Federated principal.
fn names_federated(s: &Statement, provider: &str) -> bool {
    match &s.principals {
        Some((false, p)) => {
            p.contains_key("*")
                || p.get("Federated")
                    .is_some_and(|ids| ids.iter().any(|i| i == provider || i == "*"))
        }
        _ => false,
    }
}

/// A trust policy (as the export writes it: URL-encoded text or JSON) without the Allow
/// statements that name any of `providers` as federated principal, with how many went; when
/// none would be left, an explicit Deny of the first provider keeps it valid (IAM rejects a
/// trust policy without statements). `None` when no statement names one.
pub(crate) fn trust_without(old: &Value, providers: &[String]) -> Option<(Value, usize)> {
    let mut doc = match old {
        Value::String(text) => crate::cloud::aws_iam::Policy::json(text).ok()?,
        v @ Value::Object(_) => v.clone(),
        _ => return None,
    };
    let admits = |s: &Value| {
        crate::cloud::aws_iam::Policy::from_value(&serde_json::json!({"Statement": [s]}))
            .ok()
            .is_some_and(|p| {
                p.statements.iter().any(|st| {
                    st.effect == Effect::Allow && providers.iter().any(|pr| names_federated(st, pr))
                })
            })
    };
    let statements: Vec<Value> = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => return None,
    };
    let mut kept: Vec<Value> = statements.iter().filter(|s| !admits(s)).cloned().collect();
    let dropped = statements.len() - kept.len();
    if dropped == 0 {
        return None;
    }
    if kept.is_empty() {
        kept.push(
            serde_json::json!({"Effect": "Deny", "Principal": {"Federated": providers[0]},
            "Action": "sts:AssumeRoleWithWebIdentity"}),
        );
    }
    doc["Statement"] = Value::Array(kept);
    Some((doc, dropped))
}

/// The change that stops a role trusting a cluster's OIDC provider: its trust policy without
/// the Allow statements that name the provider (every ServiceAccount they admit loses the
/// role), or `None` when the export does not say where the role is.
fn untrust_provider(
    cluster: &str,
    account: &crate::cloud::aws_account::Account,
    role: &Role,
    provider: &str,
) -> Option<Remedy> {
    let (page, index) = role.origin?;
    let page = account.pages.get(page)?;
    let old = &role.trust_document;
    let (doc, dropped) = trust_without(old, &[provider.to_string()])?;
    let host = provider
        .rsplit_once(":oidc-provider/")
        .map_or(provider, |(_, h)| h);
    Some(Remedy::rewrite_trust(
        cluster,
        page,
        index,
        &role.full_arn,
        provider,
        old,
        &doc,
        &format!(
            "the statement{} trusting {host}",
            if dropped == 1 { "" } else { "s" }
        ),
    ))
}

/// The policy sources of `me` whose removal together makes `holds` false: one when one
/// suffices, else the fewest found by dropping them one at a time; `None` when it still holds
/// without all of them. Only sources without a Deny are removed (taking a Deny away grants).
fn policy_cut(
    me: &Role,
    holds: &dyn Fn(&Role) -> bool,
) -> Option<Vec<crate::cloud::aws_account::PolicySource>> {
    let mut units: Vec<crate::cloud::aws_account::PolicySource> = Vec::new();
    for s in &me.sources {
        if !units.contains(s) {
            units.push(s.clone());
        }
    }
    units.retain(|u| {
        me.sources
            .iter()
            .zip(&me.policies)
            .filter(|(s, _)| *s == u)
            .all(|(_, p)| p.statements.iter().all(|st| st.effect != Effect::Deny))
    });
    let without = |gone: &[&crate::cloud::aws_account::PolicySource]| -> Role {
        let mut r = me.clone();
        let (policies, sources): (Vec<_>, Vec<_>) = me
            .policies
            .iter()
            .zip(&me.sources)
            .filter(|(_, s)| !gone.contains(s))
            .map(|(p, s)| (p.clone(), s.clone()))
            .unzip();
        r.policies = policies;
        r.sources = sources;
        r
    };
    let all: Vec<&crate::cloud::aws_account::PolicySource> = units.iter().collect();
    if all.is_empty() || holds(&without(&all)) {
        return None;
    }
    if let Some(u) = units.iter().find(|u| !holds(&without(&[*u]))) {
        return Some(vec![u.clone()]);
    }
    let mut set = all;
    let mut k = 0;
    while k < set.len() {
        let mut fewer = set.clone();
        fewer.remove(k);
        if holds(&without(&fewer)) {
            k += 1;
        } else {
            set = fewer;
        }
    }
    Some(set.into_iter().cloned().collect())
}

fn trusts_federated(role: &Role, provider: &str) -> bool {
    role.trust
        .statements
        .iter()
        .any(|s| names_federated(s, provider))
}

/// The values a statement's `StringEquals` (false) and `StringLike` (true) conditions give
/// `key`, as written (a string or a list).
fn string_conditions<'s>(s: &'s Statement, key: &str) -> Vec<(bool, &'s Value)> {
    [("StringEquals", false), ("StringLike", true)]
        .into_iter()
        .filter_map(|(op, like)| {
            let v = s.condition.as_ref()?.get(op)?.get(key)?;
            Some((like, v))
        })
        .collect()
}

/// The `sub` values the statements trusting `provider` allow, as (StringLike?, value), when
/// every such Allow statement pins `<host>:sub` with StringEquals or StringLike; `None` when one
/// does not (then every ServiceAccount is a candidate). Only a pre-filter: Deny statements and
/// the other conditions are left to the evaluator.
fn sub_candidates(role: &Role, provider: &str, host_path: &str) -> Option<Vec<(bool, String)>> {
    let key = format!("{host_path}:sub");
    let mut out = Vec::new();
    for s in &role.trust.statements {
        if !names_federated(s, provider) || s.effect != Effect::Allow {
            continue;
        }
        let pins = string_conditions(s, &key);
        if pins.is_empty() {
            return None;
        }
        for (like, v) in pins {
            match v {
                Value::String(x) => out.push((like, x.clone())),
                Value::Array(a) => out.extend(
                    a.iter()
                        .filter_map(|x| x.as_str().map(|x| (like, x.to_string()))),
                ),
                _ => return None,
            }
        }
    }
    Some(out)
}

impl AttackGraph {
    /// Adds the AWS bridges of every EKS cluster against every scanned account; returns what
    /// could not be verified.
    pub fn add_aws_bridges(&mut self, clusters: &[EksFacts], accounts: &Accounts) -> CloudNotes {
        let mut notes = Vec::new();
        for f in clusters {
            self.workload_identity(f, accounts, &mut notes);
            self.identity_mappings(f, accounts);
        }
        self.role_chaining(accounts);
        self.cloud_privileges(clusters, accounts);
        notes
    }

    /// AWS_ASSUME_ROLE between scanned principals: the roles the AWS principals of the graph may
    /// assume, transitively (forward); then every scanned user or role that may assume one of
    /// those, transitively (backward) — the latter become entry points. Both are closures, so
    /// the result does not depend on order, and cycles end there.
    fn role_chaining(&mut self, accounts: &Accounts) {
        let all: Vec<(&str, &Role)> = accounts
            .iter()
            .flat_map(|(a, acct)| {
                acct.roles
                    .values()
                    .chain(acct.users.values())
                    .map(move |r| (a.as_str(), r))
            })
            .collect();
        let in_graph: Vec<usize> = (0..all.len())
            .filter(|i| self.find(None, &principal_ref(&all[*i].1.arn)).is_some())
            .collect();
        if in_graph.is_empty() {
            return;
        }
        // The pairs worth evaluating: callers a target's trust names (by ARN, account or `*`).
        let by_arn: HashMap<&str, usize> = all
            .iter()
            .enumerate()
            .flat_map(|(i, (_, r))| [(r.arn.as_str(), i), (r.full_arn.as_str(), i)])
            .collect();
        let by_account: HashMap<&str, Vec<usize>> =
            all.iter()
                .enumerate()
                .fold(HashMap::new(), |mut m, (i, (a, _))| {
                    m.entry(*a).or_default().push(i);
                    m
                });
        let mut out: Vec<Vec<(usize, String)>> = vec![Vec::new(); all.len()];
        let mut into: Vec<Vec<usize>> = vec![Vec::new(); all.len()];
        for (t, (t_acct, target)) in all.iter().enumerate() {
            if !target.arn.contains(":role/") || !trusts_aws_principals(target) {
                continue;
            }
            let mut callers: BTreeSet<usize> = BTreeSet::new();
            for (_, ids) in target.trust.statements.iter().filter_map(|s| {
                (s.effect == Effect::Allow)
                    .then_some(s.principals.as_ref())
                    .flatten()
                    .filter(|(not, _)| !*not)
            }) {
                for (kind, values) in ids {
                    if kind != "AWS" && kind != "*" {
                        continue;
                    }
                    for v in values {
                        let account = v
                            .strip_prefix("arn:")
                            .and_then(|r| r.strip_suffix(":root"))
                            .and_then(|r| r.rsplit(':').next())
                            .unwrap_or(v);
                        if v == "*" {
                            callers.extend(0..all.len());
                        } else if let Some(list) = by_account.get(account) {
                            callers.extend(list);
                        } else if let Some(i) = by_arn.get(canonical_arn(v).as_str()) {
                            callers.insert(*i);
                        } else if let Some(i) = by_arn.get(v.as_str()) {
                            callers.insert(*i);
                        }
                    }
                }
            }
            for s in callers {
                if s == t {
                    continue;
                }
                let (s_acct, source) = all[s];
                if let Some(why) = may_assume(source, s_acct, target, t_acct) {
                    out[s].push((t, why));
                    into[t].push(s);
                }
            }
        }
        let closure = |start: &[usize], next: &dyn Fn(usize) -> Vec<usize>| -> BTreeSet<usize> {
            let mut seen: BTreeSet<usize> = start.iter().copied().collect();
            let mut queue: Vec<usize> = start.to_vec();
            while let Some(i) = queue.pop() {
                for j in next(i) {
                    if seen.insert(j) {
                        queue.push(j);
                    }
                }
            }
            seen
        };
        let reached = closure(&in_graph, &|i| out[i].iter().map(|(t, _)| *t).collect());
        let reached_list: Vec<usize> = reached.iter().copied().collect();
        let callers = closure(&reached_list, &|i| into[i].clone());
        for i in &callers {
            let me = principal(self, &all[*i].1.arn);
            if !reached.contains(i) {
                self.mark_entry(me);
            }
            for (t, why) in &out[*i] {
                if callers.contains(t) {
                    let target = principal(self, &all[*t].1.arn);
                    self.edge(me, target, T::AWS_ASSUME_ROLE, why.clone());
                }
            }
        }
    }

    fn sa_node(&mut self, f: &EksFacts, ns: &str, name: &str) -> NodeIndex {
        self.node(
            Some(&f.cluster),
            &format!("ServiceAccount:{ns}/{name}"),
            NodeKind::ServiceAccount,
        )
    }

    /// IRSA_ASSUME and EKS_POD_IDENTITY.
    fn workload_identity(&mut self, f: &EksFacts, accounts: &Accounts, notes: &mut CloudNotes) {
        if let Some(issuer) = &f.issuer {
            let host_path = issuer.trim_start_matches("https://").trim_end_matches('/');
            for (acct_id, account) in accounts {
                let provider = oidc_provider_arn(&f.partition, acct_id, issuer);
                for role in account.roles.values() {
                    if !trusts_federated(role, &provider) {
                        continue;
                    }
                    let candidates = sub_candidates(role, &provider, host_path);
                    // Documents of an account are the account's, whichever cluster uses them.
                    let untrust =
                        untrust_provider(&format!("aws:{acct_id}"), account, role, &provider);
                    for (ns, name, annotation) in &f.service_accounts {
                        // A cheap filter on the `sub` values first; the evaluator decides.
                        if let Some(patterns) = &candidates {
                            let sub = format!("system:serviceaccount:{ns}:{name}");
                            if !patterns.iter().any(|(like, p)| {
                                if *like {
                                    glob(p, &sub, false)
                                } else {
                                    *p == sub
                                }
                            }) {
                                continue;
                            }
                        }
                        let d = irsa_any_audience(account, role, issuer, ns, name);
                        let Some(cond) = decided(&d) else { continue };
                        let annotated = annotation
                            .as_deref()
                            .is_some_and(|a| canonical_arn(a) == role.arn);
                        let sa = self.sa_node(f, ns, name);
                        let r = principal(self, &role.arn);
                        self.edge_fixed(
                            sa,
                            r,
                            T::IRSA_ASSUME,
                            format!(
                                "trust policy of {} lets {host_path} tokens with sub system:serviceaccount:{ns}:{name} call sts:AssumeRoleWithWebIdentity{cond}; {}",
                                role.arn,
                                if annotated {
                                    "the ServiceAccount's eks.amazonaws.com/role-arn annotation injects it"
                                } else {
                                    "no annotation needed: any pod or TokenRequest for this ServiceAccount can present the token"
                                }
                            ),
                            untrust.clone().into_iter().collect(),
                        );
                    }
                }
            }
        }
        // Annotations the scanned IAM cannot confirm.
        for (ns, name, annotation) in &f.service_accounts {
            let Some(arn) = annotation else { continue };
            let acct = account_of(arn);
            match accounts.get(acct) {
                // Without any IAM in the snapshot, cloud edges are simply not evaluated.
                None if accounts.is_empty() => {}
                None => notes.push((
                    f.cluster.clone(),
                    format!(
                        "ServiceAccount {ns}/{name} names IAM role {arn} in account {acct}, whose IAM was not scanned: IRSA edge not verified"
                    ),
                )),
                Some(account) => {
                    let verified = f.issuer.as_deref().is_some_and(|i| {
                        account.roles.get(&canonical_arn(arn)).is_some_and(|role| {
                            decided(&irsa_any_audience(account, role, i, ns, name)).is_some()
                        })
                    });
                    if !verified {
                        notes.push((
                            f.cluster.clone(),
                            format!(
                                "ServiceAccount {ns}/{name} names IAM role {arn}, but {} lets this cluster's issuer assume it for that ServiceAccount: no IRSA edge",
                                if account.principal(arn).is_some() { "its trust policy never" } else { "the role does not exist, nothing" }
                            ),
                        ));
                    }
                }
            }
        }
        for a in &f.pod_identity {
            let acct = account_of(&a.role_arn);
            let (ok, why) = match accounts.get(acct) {
                None => (
                    true,
                    format!(" (account {acct} not scanned: the role's trust policy is unverified)"),
                ),
                Some(account) => match decided(&pod_identity(account, &a.role_arn)) {
                    Some(c) => (true, c),
                    None => (false, String::new()),
                },
            };
            if !ok {
                notes.push((
                    f.cluster.clone(),
                    format!(
                        "Pod Identity association {} names {}, whose trust policy does not allow pods.eks.amazonaws.com sts:AssumeRole and sts:TagSession: the association is broken, no edge",
                        a.id, a.role_arn
                    ),
                ));
                continue;
            }
            let sa = self.sa_node(f, &a.namespace, &a.service_account);
            let r = principal(self, &a.role_arn);
            self.edge(
                sa,
                r,
                T::EKS_POD_IDENTITY,
                format!(
                    "Pod Identity association {} gives pods of {}/{} the role {}{why}",
                    a.id, a.namespace, a.service_account, a.role_arn
                ),
            );
            if let Some(target) = &a.target_role_arn {
                // EKS assumes the target role as the association's role, with the external ID:
                // the target's trust must allow that (when its account was scanned).
                let trust = accounts.get(account_of(target)).map(|acct| {
                    match acct.roles.get(&canonical_arn(target)) {
                        None => Decision::Deny,
                        Some(t) => {
                            let source = accounts
                                .get(account_of(&a.role_arn))
                                .and_then(|x| x.roles.get(&canonical_arn(&a.role_arn)))
                                .map_or(a.role_arn.clone(), |r| r.full_arn.clone());
                            let mut context = BTreeMap::new();
                            if let Some(x) = &a.external_id {
                                context.insert("sts:ExternalId".to_string(), x.clone());
                            }
                            let caller = Caller {
                                kind: "AWS",
                                id: &source,
                                account: Some(account_of(&a.role_arn)),
                                context,
                            };
                            trust_allows(&t.trust, &caller, "sts:AssumeRole")
                        }
                    }
                });
                match trust.as_ref().map(decided) {
                    Some(None) => notes.push((
                        f.cluster.clone(),
                        format!(
                            "association {} names targetRoleArn {target}, whose trust policy does not let {} assume it: no chained edge",
                            a.id, a.role_arn
                        ),
                    )),
                    found => {
                        let cond = found.flatten().unwrap_or_else(|| {
                            " (target account not scanned: its trust is unverified)".to_string()
                        });
                        let t = principal(self, target);
                        self.edge(
                            r,
                            t,
                            T::EKS_POD_IDENTITY,
                            format!(
                                "association {} chains {} into targetRoleArn {target}{cond}",
                                a.id, a.role_arn
                            ),
                        );
                    }
                }
            }
        }
    }

    /// AWS_AUTH_MAP, EKS_ACCESS_ENTRY and EKS_ACCESS_POLICY: who each IAM principal is in the
    /// cluster, under the authentication mode.
    fn identity_mappings(&mut self, f: &EksFacts, accounts: &Accounts) {
        let mode = f.auth_mode();
        let mut arns: BTreeSet<String> = BTreeSet::new();
        if mode != AuthMode::ConfigMap {
            arns.extend(f.entries.iter().map(|e| e.principal_arn.clone()));
        }
        if let Some(a) = f.aws_auth.as_ref().filter(|_| mode != AuthMode::Api) {
            arns.extend(a.mappings.iter().map(|m| m.arn.clone()));
            for acct in &a.accounts {
                if let Some(account) = accounts.get(acct) {
                    arns.extend(account.roles.keys().cloned());
                    arns.extend(account.users.keys().cloned());
                }
            }
        }
        for arn in arns {
            self.map_principal(f, &arn, &resolve_arn(accounts, &arn));
        }
    }

    /// `arn` as the mapping writes it; `iam_arn` the same principal as the IAM export spells it
    /// (the authenticator compares ARNs case-insensitively, the graph joins on IAM's spelling).
    fn map_principal(&mut self, f: &EksFacts, arn: &str, iam_arn: &str) {
        let mode = f.auth_mode();
        let canonical = canonical_arn(arn);
        let is_role = canonical.contains(":role/");
        // The session name is the caller's choice: render it as a wildcard.
        let caller = CallerIdentity {
            arn: if is_role {
                let name = canonical.rsplit('/').next().unwrap_or("");
                format!(
                    "arn:{}:sts::{}:assumed-role/{name}/*",
                    canonical.split(':').nth(1).unwrap_or("aws"),
                    account_of(&canonical)
                )
            } else {
                arn.to_string()
            },
            ec2_private_dns: Some("*".into()),
        };
        let entry = (mode != AuthMode::ConfigMap)
            .then(|| {
                f.entries
                    .iter()
                    .find(|e| canonical_arn(&e.principal_arn) == canonical)
            })
            .flatten();
        let Some(id) = eks_access::identity(mode, &f.entries, f.aws_auth.as_ref(), &caller) else {
            return;
        };
        let (technique, source) = match entry {
            Some(e) => (
                T::EKS_ACCESS_ENTRY,
                format!("access entry ({} type {})", e.principal_arn, e.kind),
            ),
            None => (T::AWS_AUTH_MAP, "kube-system/aws-auth".to_string()),
        };
        let p = principal(self, iam_arn);
        let node_only = id.groups.iter().all(|g| {
            g == "system:nodes"
                || g == "system:bootstrappers"
                || g == "system:node-proxier"
                || g.starts_with("eks:access-entry:")
        }) && entry.is_none_or(|e| e.policies.is_empty());
        if !node_only {
            self.mark_entry(p);
        }
        let cluster = f.cluster.as_str();
        // Through aws-auth: the principal's entries go (none offered when mapAccounts would
        // map it anyway).
        let unmap: Vec<Remedy> = match (technique, f.aws_auth.as_ref()) {
            (T::AWS_AUTH_MAP, Some(a)) => [true, false]
                .iter()
                .filter_map(|role| a.without(arn, *role))
                .map(|edit| Remedy::remove_aws_auth_mapping(cluster, arn, edit))
                .collect(),
            _ => Vec::new(),
        };
        let mut targets: Vec<(NodeIndex, T, String, Vec<Remedy>)> = Vec::new();
        for u in &f.bound_users {
            if glob(&id.username, u, false) {
                if let Some(ui) = self.find(Some(cluster), &format!("User:{u}")) {
                    targets.push((
                        ui,
                        technique,
                        format!(
                            "{source} maps {arn} to username {} (matches {u})",
                            id.username
                        ),
                        unmap.clone(),
                    ));
                }
            }
        }
        for gname in id
            .groups
            .iter()
            .chain(["system:authenticated".to_string()].iter())
        {
            if let Some(entry) = entry.filter(|_| gname.starts_with("eks:access-entry:")) {
                let policies: Vec<String> = entry
                    .policies
                    .iter()
                    .map(|(a, s)| {
                        format!(
                            "{} ({})",
                            a.rsplit('/').next().unwrap_or(a),
                            match s {
                                eks_access::Scope::Cluster => "cluster".to_string(),
                                eks_access::Scope::Namespaces(n) => n.join(", "),
                            }
                        )
                    })
                    .collect();
                let admin_at: Vec<usize> = entry
                    .policies
                    .iter()
                    .enumerate()
                    .filter(|(_, (a, s))| {
                        a.ends_with("/AmazonEKSClusterAdminPolicy")
                            && *s == eks_access::Scope::Cluster
                    })
                    .map(|(k, _)| k)
                    .collect();
                let admin = !admin_at.is_empty();
                // Cluster-admin goes when every association goes: with the admin policy gone
                // the entry's group — and whatever its other policies grant — would appear, so
                // they go too. Lesser policies alone are the synthetic bindings' (their RBAC
                // edges carry the disassociation).
                let subject = crate::rbac::Subject::Group {
                    name: gname.clone(),
                };
                let every: Vec<usize> = (0..entry.policies.len()).collect();
                let fix: Vec<Remedy> = every
                    .iter()
                    .filter(|_| admin)
                    .map(|k| {
                        Remedy::disassociate(
                            cluster,
                            &crate::rbac::Association {
                                cluster_name: entry.cluster_name.clone(),
                                principal_arn: entry.principal_arn.clone(),
                                policy_arn: entry.policies[*k].0.clone(),
                                position: *k,
                            },
                            &subject,
                        )
                    })
                    .collect();
                let target = if admin {
                    Some(self.node(Some(cluster), "ClusterAdmin", NodeKind::ClusterAdmin))
                } else {
                    self.find(Some(cluster), &format!("Group:{gname}"))
                };
                if let Some(t) = target {
                    targets.push((
                        t,
                        T::EKS_ACCESS_POLICY,
                        format!(
                            "access policies associated with {}: {}",
                            entry.principal_arn,
                            policies.join("; ")
                        ),
                        fix,
                    ));
                }
                continue;
            }
            if let Some(gi) = self.find(Some(cluster), &format!("Group:{gname}")) {
                targets.push((
                    gi,
                    technique,
                    format!(
                        "{source} maps {arn} to username {} in group {gname}",
                        id.username
                    ),
                    unmap.clone(),
                ));
            }
        }
        for (t, tech, why, fix) in targets {
            self.edge_fixed(p, t, tech, why, fix);
        }
    }

    /// AWS_IAM_TO_EKS_API and CLOUD_ROLE_TO_ADMIN for every AWS principal in the graph.
    fn cloud_privileges(&mut self, clusters: &[EksFacts], accounts: &Accounts) {
        let principals: Vec<(NodeIndex, String)> = self
            .graph
            .node_indices()
            .filter(|i| self.graph[*i].kind == NodeKind::CloudPrincipal)
            .filter_map(|i| {
                let r = &self.graph[i].reference;
                let arn = r
                    .strip_prefix("AwsRole:")
                    .or_else(|| r.strip_prefix("AwsUser:"))?;
                Some((i, arn.to_string()))
            })
            .collect();
        let admins: Vec<(&str, &Role)> = accounts
            .iter()
            .flat_map(|(a, acct)| {
                acct.roles
                    .values()
                    .filter(|r| is_admin(&r.policies, r.boundary.as_ref()))
                    .map(move |r| (a.as_str(), r))
            })
            .collect();
        for (node, arn) in principals {
            let acct_id = account_of(&arn).to_string();
            let Some(me) = accounts.get(&acct_id).and_then(|a| a.principal(&arn)) else {
                continue;
            };
            let allows = |action: &str, resource: &str| {
                evaluate(&me.policies, me.boundary.as_ref(), action, resource)
            };
            // EKS control plane: grant oneself cluster-admin (same account; EKS has no
            // resource policies).
            for f in clusters
                .iter()
                .filter(|f| f.account == acct_id && !f.arn.is_empty())
            {
                let entry_arn = format!(
                    "arn:{}:eks:{}:{}:access-entry/{}/*",
                    f.partition,
                    f.arn.split(':').nth(3).unwrap_or(""),
                    f.account,
                    f.eks_name()
                );
                let create = allows("eks:CreateAccessEntry", &f.arn);
                let associate = allows("eks:AssociateAccessPolicy", &entry_arn);
                let mut needed = vec![
                    ("eks:CreateAccessEntry", create),
                    ("eks:AssociateAccessPolicy", associate),
                ];
                if f.auth_mode() == AuthMode::ConfigMap {
                    needed.push((
                        "eks:UpdateClusterConfig",
                        allows("eks:UpdateClusterConfig", &f.arn),
                    ));
                }
                if needed.iter().all(|(_, d)| *d != Decision::Deny) {
                    let conds: Vec<String> = needed
                        .iter()
                        .filter_map(|(a, d)| match d {
                            Decision::ConditionalAllow(c) => Some(format!("{a} if {c}")),
                            _ => None,
                        })
                        .collect();
                    let actions: Vec<&str> = needed.iter().map(|(a, _)| *a).collect();
                    let admin = self.node(Some(&f.cluster), "ClusterAdmin", NodeKind::ClusterAdmin);
                    let account = &accounts[&acct_id];
                    let config_map = f.auth_mode() == AuthMode::ConfigMap;
                    let holds = |r: &Role| {
                        let ok = |action: &str, resource: &str| {
                            evaluate(&r.policies, r.boundary.as_ref(), action, resource)
                                != Decision::Deny
                        };
                        ok("eks:CreateAccessEntry", &f.arn)
                            && ok("eks:AssociateAccessPolicy", &entry_arn)
                            && (!config_map || ok("eks:UpdateClusterConfig", &f.arn))
                    };
                    let fix = policy_cut(me, &holds)
                        .into_iter()
                        .flatten()
                        .filter_map(|s| {
                            Remedy::drop_policy(&format!("aws:{acct_id}"), account, me, &s)
                        })
                        .collect();
                    self.edge_fixed(
                        node,
                        admin,
                        T::AWS_IAM_TO_EKS_API,
                        format!(
                            "IAM policies of {arn} allow {} on {}: it can give itself AmazonEKSClusterAdminPolicy{}",
                            actions.join(" + "),
                            f.arn,
                            if conds.is_empty() { String::new() } else { format!(" (conditional: {})", conds.join("; ")) }
                        ),
                        fix,
                    );
                }
            }
            for (target_account, why) in admin_reason(me, &arn, &admins) {
                let sink = self.node(
                    None,
                    &cloud_admin_ref(&target_account),
                    NodeKind::CloudAdmin,
                );
                let holds = |r: &Role| {
                    admin_reason(r, &arn, &admins)
                        .iter()
                        .any(|(a, _)| *a == target_account)
                };
                let account = &accounts[&acct_id];
                let fix = policy_cut(me, &holds)
                    .into_iter()
                    .flatten()
                    .filter_map(|s| Remedy::drop_policy(&format!("aws:{acct_id}"), account, me, &s))
                    .collect();
                self.edge_fixed(node, sink, T::CLOUD_ROLE_TO_ADMIN, why, fix);
            }
        }
    }
}

/// IAM actions that let a principal raise its own rights (CLOUD.md §1.7), on itself or on `*`.
const PRIVESC_ACTIONS: &[&str] = &[
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:PutGroupPolicy",
    "iam:AddUserToGroup",
    "iam:UpdateAssumeRolePolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
];

/// Compute services that run code as a passed role: (create action, service principal).
const PASS_ROLE_COMPUTE: &[(&str, &str)] = &[
    ("ec2:RunInstances", "ec2.amazonaws.com"),
    ("lambda:CreateFunction", "lambda.amazonaws.com"),
    ("ecs:RunTask", "ecs-tasks.amazonaws.com"),
    ("eks:CreateNodegroup", "ec2.amazonaws.com"),
];

/// Every account a principal is (or can become) admin of, with the first reason found for each:
/// its own account through its policies, and any scanned account whose admin role it may assume.
fn admin_reason(me: &Role, arn: &str, admins: &[(&str, &Role)]) -> BTreeMap<String, String> {
    let own = account_of(arn).to_string();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let allows = |action: &str, resource: &str| {
        evaluate(&me.policies, me.boundary.as_ref(), action, resource)
    };
    if is_admin(&me.policies, me.boundary.as_ref()) {
        out.insert(
            own.clone(),
            format!("IAM policies of {arn} allow every action on every resource"),
        );
    }
    for action in PRIVESC_ACTIONS {
        for resource in ["*", me.full_arn.as_str()] {
            if out.contains_key(&own) {
                break;
            }
            if let Some(c) = decided(&allows(action, resource)) {
                out.insert(
                    own.clone(),
                    format!("IAM policies of {arn} allow {action} on {resource}: it can grant itself AdministratorAccess{c}"),
                );
            }
        }
    }
    for (acct, admin) in admins {
        if admin.arn == me.arn || out.contains_key(*acct) {
            continue;
        }
        // Pass an admin role to compute it creates.
        if *acct == own {
            for (create, service) in PASS_ROLE_COMPUTE {
                let trusts = trust_allows(
                    &admin.trust,
                    &Caller {
                        kind: "Service",
                        id: service,
                        account: None,
                        context: BTreeMap::new(),
                    },
                    "sts:AssumeRole",
                ) == Decision::Allow;
                if !trusts {
                    continue;
                }
                if let (Some(c1), Some(c2)) = (
                    decided(&allows("iam:PassRole", &admin.full_arn)),
                    decided(&allows(create, "*")),
                ) {
                    out.insert(
                        own.clone(),
                        format!("{arn} may iam:PassRole admin role {} to {service} and call {create}{c1}{c2}", admin.arn),
                    );
                    break;
                }
            }
        }
        // Assuming an admin role is a hop of its own (AWS_ASSUME_ROLE, see `may_assume`).
    }
    out
}

/// Whether principal `me` (of account `own`) may call sts:AssumeRole on `target` (of account
/// `target_account`): the target's trust policy must admit the caller, and — unless the trust
/// names the caller itself in the same account — the caller's identity policies (boundary
/// applied) must allow the call. Returns the evidence, naming both policies and any condition.
fn may_assume(me: &Role, own: &str, target: &Role, target_account: &str) -> Option<String> {
    let caller = Caller {
        kind: "AWS",
        id: &me.full_arn,
        account: Some(own),
        context: BTreeMap::new(),
    };
    let c1 = decided(&trust_allows(&target.trust, &caller, "sts:AssumeRole"))?;
    // The trust allows the caller by its own ARN (not its account): then, in the same account,
    // the caller's identity policies need not allow the call — but an explicit deny there, or
    // (for a role) its permissions boundary, still stops it.
    let naming = Policy {
        statements: target
            .trust
            .statements
            .iter()
            .filter(|s| {
                s.effect == Effect::Allow
                    && s.principals.as_ref().is_some_and(|(not, p)| {
                        !not && p.get("AWS").is_some_and(|ids| {
                            ids.iter().any(|i| *i == me.full_arn || *i == me.arn)
                        })
                    })
            })
            .cloned()
            .collect(),
    };
    let named = target_account == own
        && trust_allows(&naming, &caller, "sts:AssumeRole") != Decision::Deny
        && !explicitly_denies(&me.policies, "sts:AssumeRole", &target.full_arn)
        && (!me.arn.contains(":role/")
            || me.boundary.as_ref().is_none_or(|b| {
                evaluate(
                    std::slice::from_ref(b),
                    None,
                    "sts:AssumeRole",
                    &target.full_arn,
                ) != Decision::Deny
            }));
    let identity = evaluate(
        &me.policies,
        me.boundary.as_ref(),
        "sts:AssumeRole",
        &target.full_arn,
    );
    let trust = format!("the trust policy of {} admits {}{c1}", target.arn, me.arn);
    match (named, decided(&identity)) {
        (true, _) => Some(format!(
            "{trust} by name in its own account (no identity policy needed)"
        )),
        (false, Some(c2)) => Some(format!(
            "the identity policies of {} allow sts:AssumeRole on {}{c2}; {trust}",
            me.arn, target.arn
        )),
        (false, None) => None,
    }
}

/// Whether a role's trust policy admits any AWS principal at all (a cheap filter: service and
/// federated trusts are not for sts:AssumeRole by IAM principals).
fn trusts_aws_principals(role: &Role) -> bool {
    role.trust.statements.iter().any(|s| {
        s.effect == Effect::Allow
            && s.principals
                .as_ref()
                .is_some_and(|(not, p)| !*not && (p.contains_key("AWS") || p.contains_key("*")))
    })
}

#[cfg(test)]
mod assume_tests {
    use super::*;
    use serde_json::json;

    const A: &str = "111122223333";
    const B: &str = "444455556666";

    fn policy(v: serde_json::Value) -> Policy {
        Policy::from_value(&v).expect("policy")
    }

    fn principal_of(account: &str, name: &str, policies: Vec<serde_json::Value>) -> Role {
        let arn = format!("arn:aws:iam::{account}:role/{name}");
        Role {
            arn: arn.clone(),
            full_arn: arn,
            trust: Policy::default(),
            policies: policies.into_iter().map(policy).collect(),
            boundary: None,
            ..Default::default()
        }
    }

    fn target(account: &str, trusted: &str) -> Role {
        let mut r = principal_of(account, "target", vec![]);
        r.trust = policy(
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}]}),
        );
        r
    }

    fn allow_assume() -> serde_json::Value {
        json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
    }

    /// The sts:AssumeRole rules: the trust must admit the caller; the caller's identity
    /// policies must allow the call unless the trust names it in the same account; an explicit
    /// deny, or a role's permissions boundary, stops it even then.
    #[test]
    fn may_assume_follows_the_iam_rules() {
        let me = |policies| principal_of(A, "me", policies);
        let me_arn = format!("arn:aws:iam::{A}:role/me");
        let root = format!("arn:aws:iam::{A}:root");
        // Named in the trust, same account: no identity policy needed.
        assert!(may_assume(&me(vec![]), A, &target(A, &me_arn), A).is_some());
        // Trusted through the account root: the identity policy must allow it.
        assert!(may_assume(&me(vec![]), A, &target(A, &root), A).is_none());
        let via_root = may_assume(&me(vec![allow_assume()]), A, &target(A, &root), A)
            .expect("identity allows");
        assert!(via_root.contains("identity policies of") && via_root.contains("trust policy of"));
        // Cross-account: named in the trust is not enough.
        assert!(may_assume(&me(vec![]), A, &target(B, &me_arn), B).is_none());
        assert!(may_assume(&me(vec![allow_assume()]), A, &target(B, &me_arn), B).is_some());
        // Not admitted by the trust: nothing, whatever the identity policy says.
        let other = format!("arn:aws:iam::{A}:role/other");
        assert!(may_assume(&me(vec![allow_assume()]), A, &target(A, &other), A).is_none());
        // An explicit deny in the caller's policies wins over a trust that names it.
        let deny = json!({"Statement": [{"Effect": "Deny", "Action": "sts:*", "Resource": "*"}]});
        assert!(may_assume(&me(vec![deny]), A, &target(A, &me_arn), A).is_none());
        // A role's permissions boundary that does not allow the call stops it too.
        let mut bounded = me(vec![]);
        bounded.boundary = Some(policy(
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
        ));
        assert!(may_assume(&bounded, A, &target(A, &me_arn), A).is_none());
        // A Deny statement naming the caller does not count as naming it.
        let mut denied_by_name = target(A, &root);
        denied_by_name.trust.statements.extend(
            policy(json!({"Statement": [{"Effect": "Deny", "Principal": {"AWS": me_arn}, "Action": "sts:TagSession"}]}))
                .statements,
        );
        assert!(may_assume(&me(vec![]), A, &denied_by_name, A).is_none());
    }
}
