//! The RBAC semantics, rule by rule (numbers follow ATTACK-TECHNIQUES.md's last section).

use super::*;
use crate::parse::{parse_text, Syntax};

fn rbac(yaml: &str) -> Rbac {
    let out = parse_text(yaml, "rbac.yaml", Syntax::Yaml);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    Rbac::build(&out.objects, Some(33))
}

fn user(name: &str) -> Identity {
    Identity::parse_as(name, &[])
}

fn can(
    r: &Rbac,
    who: &Identity,
    verb: &str,
    res: &str,
    ns: Option<&str>,
    name: Option<&str>,
) -> bool {
    let req = Request::parse(verb, res, ns, name).expect("request");
    r.authorize(who, &req).allowed()
}

const ROLE_HEADER: &str = "apiVersion: rbac.authorization.k8s.io/v1\n";

fn cluster_role(name: &str, rules: &str) -> String {
    format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: {name}}}\nrules: {rules}\n---\n")
}

fn crb(name: &str, role: &str, subjects: &str) -> String {
    format!("{ROLE_HEADER}kind: ClusterRoleBinding\nmetadata: {{name: {name}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role}}}\nsubjects: {subjects}\n---\n")
}

fn rb(ns: &str, name: &str, kind: &str, role: &str, subjects: &str) -> String {
    format!("{ROLE_HEADER}kind: RoleBinding\nmetadata: {{name: {name}, namespace: '{ns}'}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {kind}, name: {role}}}\nsubjects: {subjects}\n---\n")
}

#[test]
fn r1_r2_verbs_exact_or_star_and_union_of_bindings() {
    let r = rbac(
        &[
            cluster_role(
                "reader",
                "[{apiGroups: [''], resources: [pods], verbs: [get]}]",
            ),
            cluster_role(
                "lister",
                "[{apiGroups: [''], resources: [pods], verbs: ['*']}]",
            ),
            crb("a", "reader", "[{kind: User, name: alice}]"),
            crb("b", "lister", "[{kind: User, name: bob}]"),
        ]
        .concat(),
    );
    let alice = user("alice");
    assert!(can(&r, &alice, "get", "pods", Some("x"), Some("p")));
    assert!(!can(&r, &alice, "list", "pods", Some("x"), None));
    assert!(
        !can(&r, &alice, "GET", "pods", Some("x"), Some("p")),
        "verbs are case-sensitive"
    );
    assert!(can(
        &r,
        &user("bob"),
        "deletecollection",
        "pods",
        Some("x"),
        None
    ));
    assert!(!can(
        &r,
        &user("carol"),
        "get",
        "pods",
        Some("x"),
        Some("p")
    ));
}

#[test]
fn r3_api_groups_exact_core_is_empty_string() {
    let r = rbac(&[
        cluster_role("deploy", "[{apiGroups: [apps], resources: [deployments], verbs: [create]}, {apiGroups: [''], resources: [deployments], verbs: [delete]}]"),
        crb("a", "deploy", "[{kind: User, name: alice}]")
    ].concat());
    let alice = user("alice");
    assert!(can(
        &r,
        &alice,
        "create",
        "deployments.apps",
        Some("n"),
        None
    ));
    assert!(
        can(&r, &alice, "create", "deployments", Some("n"), None),
        "known resources default to their group"
    );
    assert!(!can(
        &r,
        &alice,
        "create",
        "deployments.extensions",
        Some("n"),
        None
    ));
    assert!(!can(
        &r,
        &alice,
        "delete",
        "deployments.apps",
        Some("n"),
        Some("d")
    ));
}

#[test]
fn r4_resource_wildcards_and_subresources() {
    let r = rbac(
        &(format!(
            "{}{}{}{}{}{}",
            cluster_role(
                "star",
                "[{apiGroups: [''], resources: ['*'], verbs: [create]}]"
            ),
            cluster_role(
                "pods-only",
                "[{apiGroups: [''], resources: [pods], verbs: [create]}]"
            ),
            cluster_role(
                "star-exec",
                "[{apiGroups: [''], resources: ['*/exec'], verbs: [create]}]"
            ),
            cluster_role(
                "pods-star",
                "[{apiGroups: [''], resources: ['pods/*'], verbs: [create]}]"
            ),
            crb("a", "star", "[{kind: User, name: star}]"),
            crb("b", "pods-only", "[{kind: User, name: pods}]"),
        ) + &crb("c", "star-exec", "[{kind: User, name: starexec}]")
            + &crb("d", "pods-star", "[{kind: User, name: podsstar}]")),
    );
    assert!(
        can(
            &r,
            &user("star"),
            "create",
            "pods/exec",
            Some("n"),
            Some("p")
        ),
        "`*` matches subresources"
    );
    assert!(can(&r, &user("pods"), "create", "pods", Some("n"), None));
    assert!(
        !can(
            &r,
            &user("pods"),
            "create",
            "pods/exec",
            Some("n"),
            Some("p")
        ),
        "`pods` does not match pods/exec"
    );
    assert!(can(
        &r,
        &user("starexec"),
        "create",
        "pods/exec",
        Some("n"),
        Some("p")
    ));
    assert!(!can(
        &r,
        &user("starexec"),
        "create",
        "pods",
        Some("n"),
        None
    ));
    assert!(
        !can(
            &r,
            &user("podsstar"),
            "create",
            "pods/exec",
            Some("n"),
            Some("p")
        ),
        "`pods/*` is literal"
    );
}

#[test]
fn r5_resource_names_exact_and_never_for_nameless_verbs() {
    let r = rbac(&[
        cluster_role("named", "[{apiGroups: [''], resources: [pods, secrets, serviceaccounts/token], verbs: [get, list, create], resourceNames: [p1, sa1]}]"),
        crb("a", "named", "[{kind: User, name: alice}]")
    ].concat());
    let a = user("alice");
    assert!(can(&r, &a, "get", "pods", Some("n"), Some("p1")));
    assert!(!can(&r, &a, "get", "pods", Some("n"), Some("p2")));
    assert!(!can(&r, &a, "get", "pods", Some("n"), Some("p*")));
    assert!(
        !can(&r, &a, "list", "pods", Some("n"), None),
        "list carries no name"
    );
    assert!(
        !can(&r, &a, "create", "pods", Some("n"), None),
        "create carries no name"
    );
    assert!(
        can(
            &r,
            &a,
            "create",
            "serviceaccounts/token",
            Some("n"),
            Some("sa1")
        ),
        "TokenRequest names the SA"
    );
    assert!(!can(
        &r,
        &a,
        "create",
        "serviceaccounts/token",
        Some("n"),
        Some("sa2")
    ));
}

#[test]
fn r6_non_resource_urls_only_via_cluster_role_bindings() {
    let r = rbac(
        &[
            cluster_role(
                "metrics",
                "[{nonResourceURLs: ['/metrics', '/debug/*'], verbs: [get]}]",
            ),
            crb("a", "metrics", "[{kind: User, name: alice}]"),
            rb(
                "n",
                "b",
                "ClusterRole",
                "metrics",
                "[{kind: User, name: bob}]",
            ),
        ]
        .concat(),
    );
    let get = |who: &str, path: &str| {
        r.authorize(&user(who), &Request::non_resource("get", path))
            .allowed()
    };
    assert!(get("alice", "/metrics"));
    assert!(get("alice", "/debug/pprof/heap"));
    assert!(!get("alice", "/metricsz"));
    assert!(
        !get("alice", "/debug"),
        "prefix `/debug/` does not match `/debug`"
    );
    assert!(
        !get("bob", "/metrics"),
        "RoleBindings cannot grant non-resource URLs"
    );
    // Every authenticated user reaches discovery through the assumed default binding.
    assert!(get("carol", "/version"));
    assert!(!get("system:anonymous", "/api"));
    assert!(get("system:anonymous", "/healthz"));
}

#[test]
fn r7_binding_scope() {
    let r = rbac(&[
        cluster_role("ns-admin", "[{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]"),
        rb("team", "b", "ClusterRole", "ns-admin", "[{kind: User, name: alice}]"),
        format!("{ROLE_HEADER}kind: Role\nmetadata: {{name: r, namespace: other}}\nrules: [{{apiGroups: [''], resources: [secrets], verbs: [get]}}]\n---\n"),
        rb("team", "c", "Role", "r", "[{kind: User, name: bob}]"),
        rb("other", "d", "Role", "r", "[{kind: User, name: carol}]")
    ].concat());
    let a = user("alice");
    assert!(can(&r, &a, "delete", "secrets", Some("team"), Some("s")));
    assert!(
        !can(&r, &a, "get", "secrets", Some("prod"), Some("s")),
        "RoleBinding applies in its namespace only"
    );
    assert!(
        !can(&r, &a, "get", "nodes", None, Some("n1")),
        "cluster-scoped resources are out of reach"
    );
    assert!(!can(&r, &a, "list", "namespaces", None, None));
    assert!(
        can(&r, &a, "delete", "namespaces", None, Some("team")),
        "but its own Namespace object is in scope"
    );
    assert!(!can(&r, &a, "delete", "namespaces", None, Some("prod")));
    assert!(
        !can(&r, &user("bob"), "get", "secrets", Some("team"), Some("s")),
        "a RoleBinding's Role is looked up in the binding's namespace"
    );
    assert!(can(
        &r,
        &user("carol"),
        "get",
        "secrets",
        Some("other"),
        Some("s")
    ));
}

#[test]
fn r8_subject_matching_and_namespace_defaulting() {
    let r = rbac(
        &[
            cluster_role(
                "reader",
                "[{apiGroups: [''], resources: [configmaps], verbs: [get]}]",
            ),
            rb(
                "team",
                "a",
                "ClusterRole",
                "reader",
                "[{kind: ServiceAccount, name: builder}]",
            ),
            crb(
                "b",
                "reader",
                "[{kind: ServiceAccount, name: orphan}, {kind: Robot, name: r2}]",
            ),
            crb(
                "c",
                "reader",
                "[{kind: User, name: 'system:serviceaccount:ci:deployer'}]",
            ),
        ]
        .concat(),
    );
    let sa = |ns: &str, n: &str| Identity::service_account(ns, n);
    assert!(can(
        &r,
        &sa("team", "builder"),
        "get",
        "configmaps",
        Some("team"),
        Some("x")
    ));
    assert!(!can(
        &r,
        &sa("other", "builder"),
        "get",
        "configmaps",
        Some("team"),
        Some("x")
    ));
    assert!(
        !can(
            &r,
            &sa("default", "orphan"),
            "get",
            "configmaps",
            Some("default"),
            Some("x")
        ),
        "namespace-less SA in a CRB matches nobody"
    );
    assert!(
        !can(&r, &user("r2"), "get", "configmaps", Some("a"), Some("x")),
        "unknown subject kinds match nobody"
    );
    assert!(
        can(
            &r,
            &sa("ci", "deployer"),
            "get",
            "configmaps",
            Some("q"),
            Some("x")
        ),
        "a User subject can name an SA's user name"
    );
}

#[test]
fn r9_implicit_groups() {
    let r = rbac(
        &[
            cluster_role(
                "reader",
                "[{apiGroups: [''], resources: [configmaps], verbs: [list]}]",
            ),
            crb(
                "a",
                "reader",
                "[{kind: Group, name: 'system:serviceaccounts:ci'}]",
            ),
            crb(
                "b",
                "reader",
                "[{kind: Group, name: 'system:unauthenticated'}]",
            ),
            rb(
                "x",
                "c",
                "ClusterRole",
                "reader",
                "[{kind: Group, name: 'system:authenticated'}]",
            ),
        ]
        .concat(),
    );
    assert!(can(
        &r,
        &Identity::service_account("ci", "any"),
        "list",
        "configmaps",
        Some("z"),
        None
    ));
    assert!(!can(
        &r,
        &Identity::service_account("dev", "any"),
        "list",
        "configmaps",
        Some("z"),
        None
    ));
    assert!(can(
        &r,
        &user("system:anonymous"),
        "list",
        "configmaps",
        Some("z"),
        None
    ));
    assert!(can(
        &r,
        &user("alice"),
        "list",
        "configmaps",
        Some("x"),
        None
    ));
    assert!(!can(
        &r,
        &user("alice"),
        "list",
        "configmaps",
        Some("y"),
        None
    ));
}

#[test]
fn r10_system_masters_is_allowed_everything() {
    let r = rbac("");
    let root = Identity::parse_as("root", &["system:masters".to_string()]);
    assert!(matches!(
        r.authorize(
            &root,
            &Request::parse("escalate", "clusterroles", None, Some("x")).expect("req")
        ),
        Decision::PrivilegedGroup
    ));
    let who = r.who_can(&Request::parse("get", "secrets", Some("a"), Some("s")).expect("req"));
    assert!(who
        .iter()
        .any(|(s, _)| s.node_ref() == "Group:system:masters"));
}

#[test]
fn r11_default_bindings_are_assumed_only_when_missing() {
    let r = rbac("");
    assert!(r
        .bindings
        .iter()
        .any(|b| b.node_ref == "ClusterRoleBinding:system:basic-user" && b.assumed_default));
    assert!(can(
        &r,
        &user("alice"),
        "create",
        "selfsubjectaccessreviews.authorization.k8s.io",
        None,
        None
    ));
    // A snapshot that has the binding (here: pointing elsewhere) is taken as it is.
    let r = rbac(&crb(
        "system:basic-user",
        "system:basic-user",
        "[{kind: User, name: only-me}]",
    ));
    assert!(!can(
        &r,
        &user("alice"),
        "create",
        "selfsubjectaccessreviews.authorization.k8s.io",
        None,
        None
    ));
    assert!(can(
        &r,
        &user("only-me"),
        "create",
        "selfsubjectaccessreviews.authorization.k8s.io",
        None,
        None
    ));
}

#[test]
fn r12_aggregation_is_recomputed_to_a_fixed_point() {
    let r = rbac(&[
        format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: top}}\naggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{tier: top}}}}]}}\nrules: []\n---\n"),
        format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: mid, labels: {{tier: top}}}}\naggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{tier: mid}}}}]}}\nrules: []\n---\n"),
        format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: leaf, labels: {{tier: mid}}}}\nrules: [{{apiGroups: [''], resources: [secrets], verbs: [get]}}]\n---\n"),
        crb("a", "top", "[{kind: User, name: alice}]")
    ].concat());
    assert!(can(
        &r,
        &user("alice"),
        "get",
        "secrets",
        Some("n"),
        Some("s")
    ));
    // Where the rule is written: the leaf it was aggregated from, through the chain.
    let role = |r: &Rbac, name: &str| {
        r.roles
            .iter()
            .find(|x| x.name == name)
            .cloned()
            .expect("role")
    };
    assert_eq!(
        role(&r, "top").written_at(0),
        ("ClusterRole:leaf".to_string(), 0)
    );
    assert_eq!(
        role(&r, "leaf").written_at(0),
        ("ClusterRole:leaf".to_string(), 0)
    );
    // An aggregate as the API returns it (its rules already the union): written in place.
    let live = rbac(&[
        format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: top}}\naggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{tier: top}}}}]}}\nrules: [{{apiGroups: [''], resources: [pods], verbs: [get]}}, {{apiGroups: [''], resources: [secrets], verbs: [get]}}]\n---\n"),
        format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: leaf, labels: {{tier: top}}}}\nrules: [{{apiGroups: [''], resources: [secrets], verbs: [get]}}]\n---\n"),
    ].concat());
    assert!(role(&live, "top").written.is_empty());
    assert_eq!(
        role(&live, "top").written_at(1),
        ("ClusterRole:top".to_string(), 1)
    );
    // A cycle of aggregates as the API returns them: each holds the union itself, in place.
    let cycle = rbac(&[
        format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: a, labels: {{to: b}}}}\naggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{to: a}}}}]}}\nrules: [{{apiGroups: [''], resources: [pods], verbs: [get]}}, {{apiGroups: [''], resources: [secrets], verbs: [get]}}]\n---\n"),
        format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: b, labels: {{to: a}}}}\naggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{to: b}}}}]}}\nrules: [{{apiGroups: [''], resources: [secrets], verbs: [get]}}, {{apiGroups: [''], resources: [pods], verbs: [get]}}]\n---\n"),
    ].concat());
    assert_eq!(
        role(&cycle, "b").written_at(0),
        ("ClusterRole:b".to_string(), 1)
    );
    assert_eq!(
        role(&cycle, "b").written_at(1),
        ("ClusterRole:b".to_string(), 0)
    );
    assert!(role(&cycle, "a").written.is_empty());
    // `edit` assumed (not in the input): its defaults are not credited to roles the input lacks;
    // a ClusterRole of the input that aggregates into it is.
    let assumed = rbac(&[
        rb("shop", "devs", "ClusterRole", "edit", "[{kind: Group, name: devs}]"),
        format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: crds, labels: {{rbac.authorization.k8s.io/aggregate-to-edit: 'true'}}}}\nrules: [{{apiGroups: [example.com], resources: [widgets], verbs: [create]}}]\n---\n"),
    ].concat());
    let edit = role(&assumed, "edit");
    let at: Vec<(String, usize)> = (0..edit.rules.len()).map(|k| edit.written_at(k)).collect();
    assert!(
        at.iter()
            .all(|(r, _)| r == "ClusterRole:edit" || r == "ClusterRole:crds"),
        "{at:?}"
    );
    assert!(at.contains(&("ClusterRole:crds".to_string(), 0)), "{at:?}");
    // Built-in aggregation: a RoleBinding to `edit` with no roles in the snapshot grants exec,
    // secrets and pod creation (edit includes view's rules; admin includes edit's).
    let r = rbac(&rb(
        "shop",
        "devs",
        "ClusterRole",
        "edit",
        "[{kind: Group, name: devs}]",
    ));
    let dev = Identity::parse_as("d", &["devs".to_string()]);
    assert!(can(
        &r,
        &dev,
        "create",
        "pods/exec",
        Some("shop"),
        Some("p")
    ));
    assert!(can(&r, &dev, "get", "secrets", Some("shop"), Some("s")));
    assert!(
        can(&r, &dev, "list", "pods", Some("shop"), None),
        "view's rules reach edit"
    );
    assert!(
        !can(&r, &dev, "create", "rolebindings", Some("shop"), None),
        "admin-only rules do not"
    );
    let r = rbac(&rb(
        "shop",
        "leads",
        "ClusterRole",
        "admin",
        "[{kind: Group, name: devs}]",
    ));
    assert!(can(&r, &dev, "create", "rolebindings", Some("shop"), None));
    assert!(can(&r, &dev, "watch", "deployments", Some("shop"), None));
}

#[test]
fn dangling_bindings_grant_nothing() {
    let r = rbac(
        &[
            rb(
                "n",
                "gone",
                "Role",
                "does-not-exist",
                "[{kind: User, name: alice}]",
            ),
            crb("bad", "no-such-role", "[{kind: User, name: alice}]"),
        ]
        .concat(),
    );
    assert_eq!(r.dangling_bindings().count(), 2);
    assert!(!can(
        &r,
        &user("alice"),
        "get",
        "pods",
        Some("n"),
        Some("p")
    ));
}

#[test]
fn who_can_lists_subjects_with_binding_and_rule() {
    let r = rbac(
        &[
            cluster_role(
                "secret-reader",
                "[{apiGroups: [''], resources: [secrets], verbs: [get, list]}]",
            ),
            crb(
                "readers",
                "secret-reader",
                "[{kind: Group, name: auditors}]",
            ),
            rb(
                "shop",
                "shop-readers",
                "ClusterRole",
                "secret-reader",
                "[{kind: ServiceAccount, name: app}]",
            ),
        ]
        .concat(),
    );
    let req = Request::parse("list", "secrets", Some("shop"), None).expect("req");
    let who: Vec<(String, String)> = r
        .who_can(&req)
        .into_iter()
        .map(|(s, g)| (s.node_ref(), g.map(|g| g.describe()).unwrap_or_default()))
        .collect();
    // system:masters twice: the privileged-group authorizer, and the default cluster-admin binding.
    assert_eq!(who.len(), 4, "{who:?}");
    assert_eq!(who[1].0, "Group:auditors");
    assert!(who[1].1.starts_with(
        "ClusterRoleBinding:readers → ClusterRole:secret-reader rule #0: verbs=[get,list]"
    ));
    assert_eq!(who[2].0, "ServiceAccount:shop/app");
    assert_eq!(who[3].0, "Group:system:masters");
    let elsewhere = Request::parse("list", "secrets", Some("prod"), None).expect("req");
    assert_eq!(r.who_can(&elsewhere).len(), 3);
}

#[test]
fn request_parsing() {
    assert!(Request::parse("get", "pods/exec/x", None, None).is_err());
    assert!(Request::parse("", "pods", None, None).is_err());
    let r = Request::parse("get", "widgets.example.com/status", Some("n"), None).expect("ok");
    assert_eq!(
        (
            r.api_group.as_str(),
            r.resource.as_str(),
            r.subresource.as_str()
        ),
        ("example.com", "widgets", "status")
    );
    let id = Identity::parse_as("system:serviceaccount:ci:deployer", &[]);
    assert_eq!(
        id.groups,
        vec![
            "system:serviceaccounts",
            "system:serviceaccounts:ci",
            "system:authenticated"
        ]
    );
}

/// Aggregation chains and cycles: the fixed point in time linear in their size (a chain 2,000
/// deep took minutes when every level was recomputed on every pass).
#[test]
fn deep_aggregation_chains_and_cycles_are_fast_and_exact() {
    let depth = 2000;
    let mut yaml = String::new();
    for i in 0..depth {
        // Role i aggregates from role i+1 and is aggregated into role i-1.
        yaml.push_str(&format!(
            "{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: r{i}, labels: {{level: l{i}}}}}\naggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{level: l{}}}}}]}}\nrules: []\n---\n",
            i + 1
        ));
    }
    yaml.push_str(&format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: leaf, labels: {{level: l{depth}}}}}\nrules: [{{apiGroups: [''], resources: [secrets], verbs: [get]}}]\n---\n"));
    // A cycle: a ↔ b, each with one rule of its own; c aggregates from the cycle.
    yaml.push_str(&format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: a, labels: {{ring: 'yes'}}}}\naggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{ring: 'yes'}}}}]}}\nrules: [{{apiGroups: [''], resources: [pods], verbs: [list]}}]\n---\n"));
    yaml.push_str(&format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: b, labels: {{ring: 'yes'}}}}\naggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{ring: 'yes'}}}}]}}\nrules: [{{apiGroups: [''], resources: [nodes], verbs: [list]}}]\n---\n"));
    yaml.push_str(&format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: c}}\naggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{ring: 'yes'}}}}]}}\nrules: []\n---\n"));
    yaml.push_str(&crb("top", "r0", "[{kind: User, name: alice}]"));
    yaml.push_str(&crb("ring", "a", "[{kind: User, name: bob}]"));
    yaml.push_str(&crb("outer", "c", "[{kind: User, name: carol}]"));
    let started = std::time::Instant::now();
    let r = rbac(&yaml);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(can(
        &r,
        &user("alice"),
        "get",
        "secrets",
        Some("n"),
        Some("s")
    ));
    assert!(!can(&r, &user("alice"), "list", "pods", Some("n"), None));
    for who in ["bob", "carol"] {
        assert!(
            can(&r, &user(who), "list", "pods", Some("n"), None),
            "{who}"
        );
        assert!(can(&r, &user(who), "list", "nodes", None, None), "{who}");
        assert!(
            !can(&r, &user(who), "get", "secrets", Some("n"), Some("s")),
            "{who}"
        );
    }
}

/// What an RBAC state says, to compare two: its roles, and its bindings as resolved (role
/// index, whether the platform owns it, subjects).
fn said(r: &Rbac) -> (Vec<RoleDef>, Vec<String>) {
    (
        r.roles.clone(),
        r.bindings.iter().map(|b| format!("{b:?}")).collect(),
    )
}

#[test]
fn pieces_read_one_by_one_assemble_into_what_the_objects_build() {
    let objects = |yaml: &str| {
        let out = parse_text(yaml, "rbac.yaml", Syntax::Yaml);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        out.objects
    };
    let pieces_of = |objects: &[Object]| -> Vec<Piece> {
        objects.iter().map(|o| Piece::of(o, false)).collect()
    };
    let assembled = |pieces: &[Piece]| {
        Rbac::assemble(
            pieces.iter().cloned(),
            Some(33),
            crate::snapshot::Provider::Generic,
        )
    };
    let built = |objects: &[Object]| Rbac::build(objects, Some(33));
    // A binding to a role that is not there yet, one naming a Role from a ClusterRoleBinding,
    // a namespace-less ServiceAccount subject, an aggregate, a kube-system binding the
    // platform owns by what it grants.
    let base = [
        rb("team", "early", "Role", "later", "[{kind: ServiceAccount, name: app}]"),
        crb("odd", "reader", "[{kind: User, name: alice}]").replace("kind: ClusterRole, name: reader", "kind: Role, name: reader"),
        cluster_role("reader", "[{apiGroups: [''], resources: [pods], verbs: [get]}]"),
        format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: agg}}\naggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{to-agg: 'true'}}}}]}}\nrules: []\n---\n"),
        crb("readers", "agg", "[{kind: Group, name: team}]"),
        rb("kube-system", "ctrl", "ClusterRole", "reader", "[{kind: User, name: system:kube-controller-manager}]"),
    ]
    .concat();
    let mut objs = objects(&base);
    let mut pieces = pieces_of(&objs);
    assert_eq!(said(&assembled(&pieces)), said(&built(&objs)));
    // The Role appears after its binding was read: the binding finds it.
    let role = objects(&format!("{ROLE_HEADER}kind: Role\nmetadata: {{name: later, namespace: team}}\nrules: [{{apiGroups: [''], resources: [secrets], verbs: ['*']}}]\n---\n"));
    objs.push(role[0].clone());
    pieces.push(Piece::of(&role[0], false));
    let with_role = assembled(&pieces);
    assert_eq!(said(&with_role), said(&built(&objs)));
    assert!(with_role
        .bindings
        .iter()
        .any(|b| b.name == "early" && b.role.is_some()));
    // A ClusterRole joins the aggregate, and `reader` changes under the bindings read before.
    let changed = objects(&[
        format!("{ROLE_HEADER}kind: ClusterRole\nmetadata: {{name: member, labels: {{to-agg: 'true'}}}}\nrules: [{{apiGroups: [''], resources: [configmaps], verbs: [list]}}]\n---\n"),
        cluster_role("reader", "[{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]"),
    ].concat());
    let at = objs
        .iter()
        .position(|o| o.name == "reader" && o.kind == "ClusterRole")
        .expect("reader");
    objs[at] = changed[1].clone();
    pieces[at] = Piece::of(&changed[1], false);
    objs.insert(0, changed[0].clone());
    pieces.insert(0, Piece::of(&changed[0], false));
    assert_eq!(said(&assembled(&pieces)), said(&built(&objs)));
    // The Role goes: its binding refers to nothing again.
    let at = objs.iter().position(|o| o.name == "later").expect("later");
    objs.remove(at);
    pieces.remove(at);
    let without = assembled(&pieces);
    assert_eq!(said(&without), said(&built(&objs)));
    assert!(without
        .bindings
        .iter()
        .any(|b| b.name == "early" && b.role.is_none()));
}
