//! Which namespaces an RBAC change reaches: the namespaces whose own bindings, or whose
//! ServiceAccounts' grants, differ between two RBAC states (for the incremental evaluator,
//! which evaluates again only those).
//!
//! The contract this rests on: a namespace's part of the evaluation reads RBAC only through
//! - the bindings of the namespace (its RoleBindings, with the roles they refer to), and
//! - the grants of the namespace's ServiceAccounts (those its pods run as, its objects and
//!   those bindings name): every binding one of their identities
//!   matches (`system:serviceaccount:<ns>:<name>`, `system:serviceaccounts`,
//!   `system:serviceaccounts:<ns>`, `system:authenticated`), in binding order (the first grant
//!   is the evidence), with the roles they refer to.
//!
//! Besides, what a part's identities may do makes it read more ([`Reads`]): impersonating
//! users or groups by name reads the names bindings name; creating RoleBindings reads every
//! Role it could bind; impersonating ServiceAccounts or minting their tokens by name reads the
//! ServiceAccounts; reading Secrets reads the live token Secrets; creating or changing
//! workloads, or adding ephemeral containers, reads whether Pod Security forbids privileged
//! pods where it grants them. Those parts are reached too when what they read changes.
//!
//! The users and groups of the cluster part are judged alike, one by one
//! ([`Comparison::same_grants`], [`reads`]).
//!
//! A namespace's *view* is the sequence of those bindings, each compared by what it says (not by
//! its index, nor its role's index: adding a role elsewhere shifts both) together with its role
//! as effective after aggregation. Two RBAC states reach a namespace when its views differ.

use super::{sets, BindingDef, Identity, Rbac, Subject};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

/// Groups every ServiceAccount's identity carries, whatever its namespace.
const EVERY_SERVICE_ACCOUNT: &[&str] = &["system:serviceaccounts", "system:authenticated"];

/// The namespaces of `namespaces` an RBAC change from `old` to `new` reaches: those whose view
/// differs (see the module documentation), and those whose ServiceAccounts' grants in `new` may
/// read one of `changed` (what else the change altered).
pub fn namespaces_reached(
    old: &Rbac,
    new: &Rbac,
    namespaces: &BTreeSet<String>,
    changed: impl IntoIterator<Item = Reads>,
) -> BTreeSet<String> {
    let (old_views, new_views) = (old.views(), new.views());
    let compared = Comparison::new(old, new);
    let every = !compared.same(&old_views.every, &new_views.every);
    let changed: Vec<Reads> = changed.into_iter().collect();
    let every_reads = changed
        .iter()
        .any(|what| what.allowed_among(new, &new_views.every));
    namespaces
        .iter()
        .filter(|ns| {
            let (o, n) = (old_views.of_namespace(ns), new_views.of_namespace(ns));
            // Its view is the bindings every namespace sees and its own, in binding order. A
            // binding every namespace sees names them all, one of a namespace does not: when
            // the former changed, every view did; else a view is the same when its own bindings
            // are and they fall among the others' in the same places.
            let alike = || {
                compared.same(o, n)
                    && interleaving(&old_views.every, o).eq(interleaving(&new_views.every, n))
            };
            let differs = every || ((!o.is_empty() || !n.is_empty()) && !alike());
            differs || every_reads || changed.iter().any(|what| what.allowed_among(new, n))
        })
        .cloned()
        .collect()
}

/// Two RBAC states compared binding by binding (see the module documentation), each pair of
/// their roles compared once.
pub struct Comparison<'r> {
    old: &'r Rbac,
    new: &'r Rbac,
    /// Whether role `i` of `old` is role `j` of `new`, by `(i, j)`, as compared so far.
    roles: Mutex<HashMap<(usize, usize), bool>>,
}

impl<'r> Comparison<'r> {
    /// `old` and `new`, to compare.
    pub fn new(old: &'r Rbac, new: &'r Rbac) -> Comparison<'r> {
        Comparison {
            old,
            new,
            roles: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `who` has the same grants in both states: the bindings it matches say the same
    /// (each with its role), in the same order.
    pub fn same_grants(&self, who: &Identity) -> bool {
        self.same(&self.old.bindings_for(who), &self.new.bindings_for(who))
    }

    /// Whether bindings `a` of the old state say what bindings `b` of the new one say, each
    /// with its role, in the same order.
    fn same(&self, a: &[usize], b: &[usize]) -> bool {
        let (old, new) = (self.old, self.new);
        if std::ptr::eq(old, new) {
            // One state: the same bindings are the same.
            return a == b;
        }
        a.len() == b.len()
            && a.iter().zip(b).all(|(i, j)| {
                let (x, y) = (&old.bindings[*i], &new.bindings[*j]);
                same_binding(x, y)
                    && match (x.role, y.role) {
                        (Some(r), Some(s)) => self.same_role(r, s),
                        (None, None) => true,
                        _ => false,
                    }
            })
    }

    /// Whether role `r` of the old state is role `s` of the new one.
    fn same_role(&self, r: usize, s: usize) -> bool {
        let known = self.roles.lock().ok().and_then(|m| m.get(&(r, s)).copied());
        known.unwrap_or_else(|| {
            let same = self.old.roles[r] == self.new.roles[s];
            if let Ok(mut m) = self.roles.lock() {
                m.insert((r, s), same);
            }
            same
        })
    }
}

/// Besides creating or changing workloads and writing RoleBindings, what reads whether Pod
/// Security forbids privileged pods: escalating roles (then changing them to create pods) and
/// controlling mutating webhooks (which patch pods before Pod Security validates them).
const POD_SECURITY_ALSO: &[(&str, &str, &str)] = &[
    ("escalate", "rbac.authorization.k8s.io", "roles"),
    ("escalate", "rbac.authorization.k8s.io", "clusterroles"),
    (
        "create",
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    (
        "update",
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    (
        "patch",
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
];

/// What an identity's part reads beyond its own bindings, when some rule they refer to may
/// allow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reads {
    /// The user and group names bindings name: impersonating users or groups by name.
    BoundNames,
    /// Every Role in scope, what each grants: creating RoleBindings that bind them.
    Roles,
    /// The ServiceAccounts of these namespaces by name: impersonating them, or minting their
    /// tokens, by `resourceNames`.
    ServiceAccounts(BTreeSet<String>),
    /// The live ServiceAccount token Secrets of these namespaces: reading Secrets.
    TokenSecrets(BTreeSet<String>),
    /// Whether Pod Security forbids privileged pods in these namespaces: creating workloads,
    /// changing their pod templates or adding ephemeral containers there, binding or
    /// escalating roles that do, or controlling mutating webhooks (where it does not, the new
    /// pods may be privileged ones).
    PodSecurity(BTreeSet<String>),
}

impl Reads {
    /// Whether a binding in `namespace` (`None`: cluster-wide) grants in scope of what this
    /// reads: the ServiceAccounts and token Secrets of a namespace are read only under its
    /// RoleBindings and the ClusterRoleBindings.
    fn in_scope(&self, namespace: Option<&str>) -> bool {
        match (self, namespace) {
            (
                Reads::ServiceAccounts(of) | Reads::TokenSecrets(of) | Reads::PodSecurity(of),
                Some(ns),
            ) => of.contains(ns),
            _ => true,
        }
    }

    /// Whether `rule` may allow what makes the part read this (a superset: names are not
    /// looked at).
    fn allowed_by(&self, rule: &super::Rule) -> bool {
        match self {
            Reads::BoundNames => {
                rule.verb_matches("impersonate")
                    && rule.api_group_matches("")
                    && (rule.resource_matches("users", "") || rule.resource_matches("groups", ""))
            }
            Reads::Roles => {
                ["create", "update", "patch"]
                    .iter()
                    .any(|v| rule.verb_matches(v))
                    && rule.api_group_matches("rbac.authorization.k8s.io")
                    && rule.resource_matches("rolebindings", "")
            }
            Reads::ServiceAccounts(_) => {
                rule.api_group_matches("")
                    && ((rule.verb_matches("impersonate")
                        && rule.resource_matches("serviceaccounts", ""))
                        || (rule.verb_matches("create")
                            && rule.resource_matches("serviceaccounts", "token")))
            }
            Reads::TokenSecrets(_) => {
                ["get", "list", "watch"]
                    .iter()
                    .any(|v| rule.verb_matches(v))
                    && rule.api_group_matches("")
                    && rule.resource_matches("secrets", "")
            }
            Reads::PodSecurity(_) => sets::CREATE_WORKLOADS
                .iter()
                .chain(sets::UPDATE_WORKLOADS)
                .chain(sets::EPHEMERAL_CONTAINERS)
                .chain(sets::WRITE_ROLEBINDINGS)
                .chain(POD_SECURITY_ALSO)
                .any(|(verb, group, resource)| {
                    let (resource, subresource) =
                        resource.split_once('/').unwrap_or((resource, ""));
                    rule.verb_matches(verb)
                        && rule.api_group_matches(group)
                        && rule.resource_matches(resource, subresource)
                }),
        }
    }

    /// Whether some rule of the roles `bindings` refer to may allow it, in its scope.
    fn allowed_among(&self, rbac: &Rbac, bindings: &[usize]) -> bool {
        bindings
            .iter()
            .map(|i| &rbac.bindings[*i])
            .filter(|b| self.in_scope(b.namespace.as_deref()))
            .filter_map(|b| b.role)
            .flat_map(|r| rbac.roles[r].rules.iter())
            .any(|rule| self.allowed_by(rule))
    }
}

/// Whether what `who`'s grants give in `rbac` may read `what` (see [`Reads`]).
pub fn reads(rbac: &Rbac, who: &Identity, what: &Reads) -> bool {
    what.allowed_among(rbac, &rbac.bindings_for(who))
}

/// Whether the Roles (namespaced) of `old` and `new` say the same, in the same order.
pub fn same_roles(old: &Rbac, new: &Rbac) -> bool {
    let roles = |rbac: &Rbac| -> Vec<usize> {
        (0..rbac.roles.len())
            .filter(|i| rbac.roles[*i].kind == super::RoleKind::Role)
            .collect()
    };
    let (a, b) = (roles(old), roles(new));
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(i, j)| old.roles[*i] == new.roles[*j])
}

/// Each binding's reach in one RBAC state: those every namespace's ServiceAccounts match, and
/// those of each namespace, in binding order (kept with the state: [`Rbac::views`]).
#[derive(Debug, Clone)]
pub(super) struct Views {
    every: Vec<usize>,
    namespaces: BTreeMap<String, Vec<usize>>,
}

impl Views {
    pub(super) fn of(rbac: &Rbac) -> Views {
        let mut views = Views {
            every: Vec::new(),
            namespaces: BTreeMap::new(),
        };
        for (i, b) in rbac.bindings.iter().enumerate() {
            let mut reached: BTreeSet<&str> = BTreeSet::new();
            let mut everyone = false;
            if let Some(ns) = &b.namespace {
                reached.insert(ns);
            }
            for s in &b.subjects {
                match s {
                    Subject::ServiceAccount { namespace, .. } => {
                        reached.insert(namespace);
                    }
                    Subject::User { name } => {
                        // A User subject with a ServiceAccount's user name is that account.
                        if let Some((ns, _)) = super::service_account_of(name) {
                            reached.insert(ns);
                        }
                    }
                    Subject::Group { name } => {
                        if EVERY_SERVICE_ACCOUNT.contains(&name.as_str()) {
                            everyone = true;
                        } else if let Some(ns) = name.strip_prefix("system:serviceaccounts:") {
                            reached.insert(ns);
                        }
                    }
                }
            }
            if everyone {
                views.every.push(i);
            } else {
                for ns in reached {
                    views.namespaces.entry(ns.to_string()).or_default().push(i);
                }
            }
        }
        views
    }

    fn of_namespace(&self, ns: &str) -> &[usize] {
        self.namespaces.get(ns).map_or(&[], Vec::as_slice)
    }
}

/// Where the items of two sorted index lists fall in the two merged in order: for each item of
/// that, whether it is `b`'s.
fn interleaving<'l>(a: &'l [usize], b: &'l [usize]) -> impl Iterator<Item = bool> + 'l {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        if j == b.len() || (i < a.len() && a[i] < b[j]) {
            i += 1;
            (i <= a.len()).then_some(false)
        } else {
            j += 1;
            Some(true)
        }
    })
}

/// Two bindings alike but for the index of their role.
fn same_binding(a: &BindingDef, b: &BindingDef) -> bool {
    a.node_ref == b.node_ref
        && a.name == b.name
        && a.namespace == b.namespace
        && a.role_ref == b.role_ref
        && a.subjects == b.subjects
        && a.positions == b.positions
        && a.synthetic == b.synthetic
        && a.association == b.association
        && a.assumed_default == b.assumed_default
        && a.managed == b.managed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_text, Syntax};
    use serde_json::json;

    fn rbac(objects: &[serde_json::Value]) -> Rbac {
        let text = json!({"apiVersion": "v1", "kind": "List", "items": objects}).to_string();
        let out = parse_text(&text, "rbac.json", Syntax::Json);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        Rbac::build(&out.objects, Some(30))
    }

    fn binding(kind: &str, ns: Option<&str>, name: &str, role: (&str, &str)) -> serde_json::Value {
        let mut meta = json!({"name": name});
        if let Some(ns) = ns {
            meta["namespace"] = json!(ns);
        }
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role.0, "name": role.1},
            "subjects": []})
    }

    fn with_subjects(mut b: serde_json::Value, subjects: serde_json::Value) -> serde_json::Value {
        b["subjects"] = subjects;
        b
    }

    fn role(kind: &str, ns: Option<&str>, name: &str, resources: &[&str]) -> serde_json::Value {
        let mut meta = json!({"name": name});
        if let Some(ns) = ns {
            meta["namespace"] = json!(ns);
        }
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": resources}]})
    }

    /// A ClusterRole `r` with `rule`, and two bindings of it to ServiceAccount `a/x`: a
    /// RoleBinding in namespace `c` and a ClusterRoleBinding.
    fn granted_to_a_x(rule: serde_json::Value) -> [serde_json::Value; 3] {
        let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "r"}, "rules": [rule]});
        let subject = json!([{"kind": "ServiceAccount", "name": "x", "namespace": "a"}]);
        let local = with_subjects(
            binding("RoleBinding", Some("c"), "r", ("ClusterRole", "r")),
            subject.clone(),
        );
        let everywhere = with_subjects(
            binding("ClusterRoleBinding", None, "r", ("ClusterRole", "r")),
            subject,
        );
        [role, local, everywhere]
    }

    /// The namespaces whose ServiceAccounts may read `what` (an unchanged RBAC state that
    /// changed `what`).
    fn reading(r: &Rbac, what: Reads) -> BTreeSet<String> {
        namespaces_reached(r, r, &namespaces(), [what])
    }

    fn namespaces() -> BTreeSet<String> {
        ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
    }

    fn reached(old: &[serde_json::Value], new: &[serde_json::Value]) -> Vec<String> {
        namespaces_reached(&rbac(old), &rbac(new), &namespaces(), [])
            .into_iter()
            .collect()
    }

    #[test]
    fn a_rolebinding_reaches_its_namespace_and_its_subjects_namespaces() {
        let sa = |ns: &str| json!([{"kind": "ServiceAccount", "name": "x", "namespace": ns}]);
        let rb = with_subjects(
            binding("RoleBinding", Some("a"), "rb", ("ClusterRole", "view")),
            sa("b"),
        );
        assert_eq!(reached(&[], std::slice::from_ref(&rb)), ["a", "b"]);
        // A User subject with a ServiceAccount's user name, and a namespace's ServiceAccounts'
        // group, are that namespace's.
        let user = with_subjects(
            binding("ClusterRoleBinding", None, "u", ("ClusterRole", "view")),
            json!([{"kind": "User", "name": "system:serviceaccount:c:x"}]),
        );
        assert_eq!(reached(&[], &[user]), ["c"]);
        let group = with_subjects(
            binding("ClusterRoleBinding", None, "g", ("ClusterRole", "view")),
            json!([{"kind": "Group", "name": "system:serviceaccounts:b"}]),
        );
        assert_eq!(reached(&[], &[group]), ["b"]);
        // Negative: a binding to a user or group no ServiceAccount carries reaches nobody.
        let alice = with_subjects(
            binding("ClusterRoleBinding", None, "alice", ("ClusterRole", "view")),
            json!([{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"}]),
        );
        assert!(reached(&[], &[alice]).is_empty());
        // Unchanged: nothing reached.
        let same = std::slice::from_ref(&rb);
        assert!(reached(same, same).is_empty());
    }

    #[test]
    fn groups_every_service_account_carries_reach_every_namespace() {
        for g in ["system:serviceaccounts", "system:authenticated"] {
            let b = with_subjects(
                binding("ClusterRoleBinding", None, "all", ("ClusterRole", "view")),
                json!([{"kind": "Group", "name": g}]),
            );
            assert_eq!(reached(&[], &[b]), ["a", "b", "c"], "{g}");
        }
    }

    #[test]
    fn a_role_change_reaches_the_namespaces_of_the_bindings_that_refer_to_it() {
        let rb = with_subjects(
            binding("RoleBinding", Some("a"), "rb", ("ClusterRole", "reader")),
            json!([{"kind": "ServiceAccount", "name": "x", "namespace": "a"}]),
        );
        let before = [role("ClusterRole", None, "reader", &["pods"]), rb.clone()];
        let after = [
            role("ClusterRole", None, "reader", &["secrets"]),
            rb.clone(),
        ];
        assert_eq!(reached(&before, &after), ["a"]);
        // A role nobody binds reaches nobody; a new role that shifts the others' indices
        // neither.
        let unbound = [
            role("ClusterRole", None, "aaa-first", &["secrets"]),
            role("ClusterRole", None, "reader", &["pods"]),
            rb.clone(),
            role("ClusterRole", None, "other", &["pods"]),
        ];
        assert!(reached(&before, &unbound).is_empty());
        // A dangling binding whose role appears.
        assert_eq!(reached(std::slice::from_ref(&rb), &before), ["a"]);
    }

    /// A namespace's view compared as its own bindings and where they fall among those every
    /// namespace sees is its whole view compared: for every pair of states of a few bindings
    /// (everyone's sorting before and after a namespace's, roles changing under them).
    #[test]
    fn views_compared_in_two_parts_are_the_whole_views_compared() {
        let sa = |ns: &str, name: &str| json!([{"kind": "ServiceAccount", "name": name, "namespace": ns}]);
        let everyone = json!([{"kind": "Group", "name": "system:authenticated"}]);
        let crb = |name: &str, role: &str, subjects: &serde_json::Value| {
            with_subjects(
                binding("ClusterRoleBinding", None, name, ("ClusterRole", role)),
                subjects.clone(),
            )
        };
        let rb = |ns: &str, name: &str, role: &str, subjects: serde_json::Value| {
            with_subjects(
                binding("RoleBinding", Some(ns), name, ("ClusterRole", role)),
                subjects,
            )
        };
        let pieces: Vec<Vec<serde_json::Value>> = vec![
            vec![crb("all", "view", &everyone)],
            vec![crb("all", "edit", &everyone)],
            vec![crb("aaa", "view", &everyone)],
            vec![crb("zzz", "view", &sa("b", "y"))],
            vec![rb("a", "rb", "view", sa("a", "x"))],
            vec![rb("a", "rb", "edit", sa("a", "x"))],
            vec![rb("b", "m", "view", sa("c", "x"))],
            vec![role("ClusterRole", None, "view", &["pods"])],
            vec![role("ClusterRole", None, "view", &["secrets"])],
        ];
        let states: Vec<Rbac> = (0u32..1 << pieces.len())
            .step_by(7)
            .map(|mask| {
                let objects: Vec<serde_json::Value> = (0..pieces.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .flat_map(|i| pieces[i].clone())
                    .collect();
                rbac(&objects)
            })
            .collect();
        let whole = |views: &Views, ns: &str| {
            let mut v: Vec<usize> = (views.every.iter())
                .chain(views.of_namespace(ns))
                .copied()
                .collect();
            v.sort_unstable();
            v
        };
        let mut reached_some = false;
        for old in &states {
            for new in &states {
                let (ov, nv) = (Views::of(old), Views::of(new));
                let expected: BTreeSet<String> = namespaces()
                    .into_iter()
                    .filter(|ns| !Comparison::new(old, new).same(&whole(&ov, ns), &whole(&nv, ns)))
                    .collect();
                reached_some |= !expected.is_empty() && expected.len() < 3;
                assert_eq!(namespaces_reached(old, new, &namespaces(), []), expected);
            }
        }
        assert!(reached_some);
    }

    #[test]
    fn interleaving_says_which_list_each_merged_item_comes_from() {
        let pattern = |a: &[usize], b: &[usize]| interleaving(a, b).collect::<Vec<_>>();
        assert_eq!(
            pattern(&[1, 4], &[2, 3, 9]),
            [false, true, true, false, true]
        );
        assert_eq!(pattern(&[], &[2]), [true]);
        assert_eq!(pattern(&[5], &[]), [false]);
        assert!(pattern(&[], &[]).is_empty());
    }

    #[test]
    fn binding_order_counts_within_a_view() {
        // The first grant is the evidence: the same bindings in another order are another view.
        let x = json!([{"kind": "ServiceAccount", "name": "x", "namespace": "a"}]);
        let one = with_subjects(
            binding("RoleBinding", Some("a"), "one", ("ClusterRole", "view")),
            x.clone(),
        );
        let two = with_subjects(
            binding("RoleBinding", Some("a"), "two", ("ClusterRole", "edit")),
            x,
        );
        let a = rbac(&[one.clone(), two.clone()]);
        let views = Views::of(&a);
        assert!(!Comparison::new(&a, &a).same(views.of_namespace("a"), &{
            let mut v = views.of_namespace("a").to_vec();
            v.reverse();
            v
        }));
        assert_eq!(reached(&[one.clone(), two.clone()], &[two, one]), ["a"]);
    }

    #[test]
    fn impersonating_names_is_told_by_the_rules_a_namespace_reaches() {
        let imp = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "imp"},
            "rules": [{"verbs": ["impersonate"], "apiGroups": [""], "resources": ["users"], "resourceNames": ["alice"]}]});
        let rb = with_subjects(
            binding("ClusterRoleBinding", None, "imp", ("ClusterRole", "imp")),
            json!([{"kind": "ServiceAccount", "name": "x", "namespace": "a"}]),
        );
        let r = rbac(&[imp, rb]);
        assert_eq!(
            reading(&r, Reads::BoundNames)
                .into_iter()
                .collect::<Vec<_>>(),
            ["a"]
        );
        assert!(reading(&r, Reads::Roles).is_empty());
        let sa = Identity::service_account("a", "x");
        assert!(reads(&r, &sa, &Reads::BoundNames) && !reads(&r, &sa, &Reads::Roles));
        assert!(!reads(
            &r,
            &Identity::service_account("b", "x"),
            &Reads::BoundNames
        ));
    }

    /// Which rules read the ServiceAccounts by name and the token Secrets: each rule that the
    /// graph's techniques read them under, and its near misses; and in which scope (a
    /// RoleBinding reads its own namespace's, a ClusterRoleBinding every namespace's).
    #[test]
    fn reading_accounts_and_token_secrets_is_told_by_the_rules_and_their_scope() {
        let reads_of = |verbs: &[&str], groups: &[&str], resources: &[&str]| {
            let [role, local, everywhere] = granted_to_a_x(
                json!({"verbs": verbs, "apiGroups": groups, "resources": resources, "resourceNames": ["n"]}),
            );
            let sa = Identity::service_account("a", "x");
            let other = Identity::service_account("b", "x");
            let of = |ns: &str| [ns.to_string()].into_iter().collect::<BTreeSet<String>>();
            let mut answers = Vec::new();
            for what in [Reads::ServiceAccounts, Reads::TokenSecrets] {
                let (in_c, in_a) = (what(of("c")), what(of("a")));
                let r = rbac(&[role.clone(), local.clone()]);
                assert!(!reads(&r, &other, &in_c), "only the bound account reads");
                assert!(
                    !reads(&r, &sa, &in_a),
                    "a RoleBinding reads in its namespace only"
                );
                let by_namespace = reading(&r, in_c.clone()).into_iter().collect::<Vec<_>>();
                assert_eq!(by_namespace.is_empty(), !reads(&r, &sa, &in_c));
                let answer = reads(&r, &sa, &in_c);
                let r = rbac(&[role.clone(), everywhere.clone()]);
                assert_eq!(
                    reads(&r, &sa, &in_a),
                    answer,
                    "a ClusterRoleBinding reads all"
                );
                answers.push(answer);
            }
            (answers[0], answers[1])
        };
        assert_eq!(
            reads_of(&["impersonate"], &[""], &["serviceaccounts"]),
            (true, false)
        );
        assert_eq!(
            reads_of(&["create"], &[""], &["serviceaccounts/token"]),
            (true, false)
        );
        assert_eq!(reads_of(&["*"], &["*"], &["*"]), (true, true));
        assert_eq!(reads_of(&["get"], &[""], &["secrets"]), (false, true));
        assert_eq!(reads_of(&["list"], &[""], &["secrets"]), (false, true));
        assert_eq!(reads_of(&["watch"], &[""], &["secrets"]), (false, true));
        // Near misses: another verb, group, resource or subresource.
        assert_eq!(
            reads_of(&["create"], &[""], &["serviceaccounts"]),
            (false, false)
        );
        assert_eq!(
            reads_of(&["get"], &[""], &["serviceaccounts/token"]),
            (false, false)
        );
        assert_eq!(
            reads_of(&["impersonate"], &["apps"], &["serviceaccounts"]),
            (false, false)
        );
        assert_eq!(reads_of(&["create"], &[""], &["secrets"]), (false, false));
        assert_eq!(reads_of(&["get"], &[""], &["configmaps"]), (false, false));
        assert_eq!(
            reads_of(&["impersonate"], &[""], &["users"]),
            (false, false)
        );
    }

    /// Which rules read a namespace's Pod Security guard: each request the graph's
    /// privileged-pod techniques ask (creating workloads, changing their templates, adding
    /// ephemeral containers) and its near misses; and in which scope.
    #[test]
    fn reading_pod_security_is_told_by_the_rules_and_their_scope() {
        let reads_of = |verbs: &[&str], groups: &[&str], resources: &[&str]| {
            let [role, local, everywhere] = granted_to_a_x(
                json!({"verbs": verbs, "apiGroups": groups, "resources": resources}),
            );
            let sa = Identity::service_account("a", "x");
            let of = |ns: &str| Reads::PodSecurity([ns.to_string()].into_iter().collect());
            let r = rbac(&[role.clone(), local]);
            assert!(
                !reads(&r, &sa, &of("a")),
                "a RoleBinding reads its own namespace's guard only"
            );
            assert!(!reads(&r, &Identity::service_account("b", "x"), &of("c")));
            let answer = reads(&r, &sa, &of("c"));
            // The namespace whose ServiceAccount holds the grant is reached (and the binding's,
            // whose view holds it), the third is not.
            let reached = reading(&r, of("c"));
            assert_eq!(reached.contains("a"), answer);
            assert!(!reached.contains("b"));
            let r = rbac(&[role, everywhere]);
            assert_eq!(
                reads(&r, &sa, &of("b")),
                answer,
                "a ClusterRoleBinding reads every namespace's"
            );
            answer
        };
        assert!(reads_of(&["create"], &[""], &["pods"]));
        assert!(reads_of(&["create"], &["apps"], &["deployments"]));
        assert!(reads_of(&["create"], &["batch"], &["cronjobs"]));
        assert!(reads_of(&["patch"], &["apps"], &["daemonsets"]));
        assert!(reads_of(&["update"], &[""], &["replicationcontrollers"]));
        assert!(reads_of(&["patch"], &[""], &["pods/ephemeralcontainers"]));
        assert!(reads_of(&["*"], &["*"], &["*"]));
        assert!(reads_of(&["update"], &["*"], &["*/ephemeralcontainers"]));
        // Binding or escalating roles that create pods, controlling mutating webhooks.
        let rbac = "rbac.authorization.k8s.io";
        assert!(reads_of(&["create"], &[rbac], &["rolebindings"]));
        assert!(reads_of(&["escalate"], &[rbac], &["roles"]));
        assert!(reads_of(&["escalate"], &[rbac], &["clusterroles"]));
        let webhooks = "admissionregistration.k8s.io";
        assert!(reads_of(
            &["patch"],
            &[webhooks],
            &["mutatingwebhookconfigurations"]
        ));
        assert!(!reads_of(&["get"], &[rbac], &["rolebindings"]));
        assert!(!reads_of(
            &["create"],
            &[webhooks],
            &["validatingwebhookconfigurations"]
        ));
        // Near misses: another verb, group, resource or subresource.
        assert!(!reads_of(
            &["get", "list"],
            &["", "apps"],
            &["pods", "deployments"]
        ));
        assert!(!reads_of(&["create"], &["extensions"], &["deployments"]));
        assert!(!reads_of(&["create"], &[""], &["configmaps"]));
        assert!(!reads_of(&["update"], &[""], &["pods/status"]));
        assert!(!reads_of(&["create"], &[""], &["pods/ephemeralcontainers"]));
    }

    #[test]
    fn binding_roles_is_told_by_the_rules_and_the_roles_compared() {
        let writer = with_subjects(
            binding("RoleBinding", Some("b"), "w", ("ClusterRole", "admin")),
            json!([{"kind": "ServiceAccount", "name": "x", "namespace": "b"}]),
        );
        let admin = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "admin"},
            "rules": [{"verbs": ["create"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"]}]});
        let r = rbac(&[admin.clone(), writer.clone()]);
        assert_eq!(
            reading(&r, Reads::Roles).into_iter().collect::<Vec<_>>(),
            ["b"]
        );
        // Roles compared by what they say: a new Role anywhere, or another rule, differs;
        // ClusterRoles do not count here.
        let with_role = |resources: &[&str]| {
            rbac(&[
                admin.clone(),
                writer.clone(),
                role("Role", Some("c"), "r", resources),
            ])
        };
        assert!(same_roles(&with_role(&["pods"]), &with_role(&["pods"])));
        assert!(!same_roles(&with_role(&["pods"]), &with_role(&["secrets"])));
        assert!(!same_roles(&r, &with_role(&["pods"])));
        let extra_cluster_role = rbac(&[
            admin.clone(),
            writer.clone(),
            role("ClusterRole", None, "other", &["pods"]),
        ]);
        assert!(same_roles(&r, &extra_cluster_role));
    }
}
