//! Each remediable technique tied to the change that removes it, and its negative case: what
//! RBAC itself says a binding contributes, fields by their JSON pointers, nothing for what no
//! change of the owner's removes.

use super::*;
use crate::graph::remedy::apply_patch;

/// The changes that remove an edge, as `object: change`, or `None` when none does.
fn fixes(g: &AttackGraph, from: &str, to: &str, t: Technique) -> Option<Vec<String>> {
    let cluster = |r: &str| if r == "Internet" { None } else { Some("c") };
    let (a, b) = (g.find(cluster(from), from)?, g.find(cluster(to), to)?);
    let e = g
        .graph
        .edges_connecting(a, b)
        .find(|e| e.weight().technique == t)?;
    e.weight().remedies.as_ref().map(|ids| {
        let mut v: Vec<String> = ids
            .iter()
            .map(|i| {
                let r = &g.remedies()[*i as usize];
                format!("{}: {}", r.target.reference(), r.change)
            })
            .collect();
        v.sort();
        v
    })
}

fn binding(name: &str, role: &str, subjects: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}, "subjects": subjects})
}

fn role(name: &str, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules})
}

#[test]
fn a_grant_goes_with_every_binding_that_gives_it_and_only_those() {
    let alice = json!([{"kind": "User", "name": "bob"}, {"kind": "User", "name": "alice"}]);
    let g = graph(&[
        role("pods", rule(&["create"], &[""], &["pods"])),
        role("pods-too", rule(&["create"], &[""], &["pods"])),
        role("secrets", rule(&["get", "list"], &[""], &["secrets"])),
        binding("b1", "pods", alice.clone()),
        binding("b2", "pods-too", json!([{"kind": "User", "name": "alice"}])),
        binding("b3", "secrets", alice),
        ns("app", None),
    ]);
    // Two bindings give pod creation: both must lose alice.
    assert_eq!(
        fixes(&g, ALICE, "ServiceAccounts:*", Technique::CREATE_POD_AS_SA).expect("present"),
        vec![
            "ClusterRoleBinding:b1: remove subject User:alice from the binding",
            "ClusterRoleBinding:b2: remove subject User:alice from the binding"
        ]
    );
    // Secrets come from b3 alone.
    assert_eq!(
        fixes(&g, ALICE, "AllSecrets", Technique::READ_SECRET).expect("present"),
        vec!["ClusterRoleBinding:b3: remove subject User:alice from the binding"]
    );
    // The patch removes alice (position 1), not bob.
    let r = g
        .remedies()
        .iter()
        .find(|r| r.target.name == "b1")
        .expect("present");
    let mut doc =
        json!({"subjects": [{"kind": "User", "name": "bob"}, {"kind": "User", "name": "alice"}]});
    apply_patch(&mut doc, &r.ops).expect("present");
    assert_eq!(doc, json!({"subjects": [{"kind": "User", "name": "bob"}]}));
}

#[test]
fn a_binding_needed_only_with_another_is_enough_alone() {
    // BIND_ROLE needs RoleBinding writes (b1) and bind on cluster-admin (b2): either goes.
    let g = graph(&[
        role(
            "write-bindings",
            rule(
                &["create"],
                &["rbac.authorization.k8s.io"],
                &["rolebindings"],
            ),
        ),
        role(
            "bind",
            json!([{"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "resourceNames": ["cluster-admin"]}]),
        ),
        binding(
            "b1",
            "write-bindings",
            json!([{"kind": "User", "name": "alice"}]),
        ),
        binding("b2", "bind", json!([{"kind": "User", "name": "alice"}])),
        ns("app", None),
    ]);
    let f = fixes(&g, ALICE, "ServiceAccounts:*", Technique::BIND_ROLE).expect("present");
    assert_eq!(f.len(), 1, "{f:?}");
}

#[test]
fn members_of_system_masters_have_no_binding_to_lose() {
    let g = graph(&[binding(
        "masters",
        "cluster-admin",
        json!([{"kind": "Group", "name": "system:masters"}]),
    )]);
    assert!(has(
        &g,
        "Group:system:masters",
        "ClusterAdmin",
        Technique::ADMIN_EQUIVALENT
    ));
    assert_eq!(
        fixes(
            &g,
            "Group:system:masters",
            "ClusterAdmin",
            Technique::ADMIN_EQUIVALENT
        ),
        None
    );
}

#[test]
fn escapes_go_with_the_fields_that_make_them() {
    let g = graph(&[
        pod(
            "p",
            json!({"hostPID": true, "containers": [{"name": "c", "image": "x:1",
                "securityContext": {"privileged": true, "capabilities": {"add": ["CAP_SYS_ADMIN", "all"]}}}]}),
        ),
        ns("app", None),
    ]);
    let c = "Container:app/p/c";
    assert_eq!(
        fixes(&g, c, "Node:*", Technique::CE_PRIV_MOUNT).expect("present"),
        vec!["Pod:app/p: set securityContext.privileged: false on container `c`"]
    );
    // SYS_ADMIN is added twice (by name and by ALL): both entries go.
    assert_eq!(
        fixes(&g, c, "Node:*", Technique::CE_CGROUP_SYSADMIN).expect("present"),
        vec![
            "Pod:app/p: remove CAP_SYS_ADMIN (entry 0) from securityContext.capabilities.add of container `c`",
            "Pod:app/p: remove all (entry 1) from securityContext.capabilities.add of container `c`"
        ]
    );
    // Module loading needs privileged and ALL gone.
    assert_eq!(
        fixes(&g, c, "Node:*", Technique::CE_MODULE_LOAD)
            .expect("present")
            .len(),
        2
    );
    let r = g
        .remedies()
        .iter()
        .find(|r| r.change.contains("privileged"))
        .expect("present");
    assert_eq!(
        r.ops,
        vec![
            json!({"op": "replace", "path": "/spec/containers/0/securityContext/privileged", "value": false})
        ]
    );
    assert_eq!(
        r.fields,
        vec!["spec.containers[0].securityContext.privileged"]
    );
}

#[test]
fn host_mounts_go_with_the_mount() {
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "app"},
        "spec": {"selector": {"matchLabels": {"a": "d"}}, "template": {"metadata": {"labels": {"a": "d"}}, "spec": {
            "volumes": [{"name": "sock", "hostPath": {"path": "/run/containerd/containerd.sock"}}],
            "containers": [{"name": "c", "image": "x:1", "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "sock", "mountPath": "/s"}]}]}}}});
    let g = graph(&[deploy, ns("app", None)]);
    let f = fixes(
        &g,
        "Container:app/d/c",
        "Node:*",
        Technique::EXPLOIT_RUNTIME_SOCKET,
    )
    .expect("present");
    assert_eq!(
        f,
        vec!["Deployment:app/d: remove mount 1 (volume `sock`, host path /run/containerd/containerd.sock) from container `c`"]
    );
    let r = g
        .remedies()
        .iter()
        .find(|r| r.change.contains("volume `sock`"))
        .expect("present");
    assert_eq!(
        r.ops[1],
        json!({"op": "remove", "path": "/spec/template/spec/containers/0/volumeMounts/1"})
    );
}

#[test]
fn tokens_go_with_automount_and_projected_mounts() {
    let g = graph(&[
        pod(
            "p",
            json!({"volumes": [{"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}],
                "containers": [{"name": "c", "image": "x:1", "volumeMounts": [{"name": "tok", "mountPath": "/t"}]}]}),
        ),
        ns("app", None),
    ]);
    let f = fixes(
        &g,
        "Container:app/p/c",
        "ServiceAccount:app/default",
        Technique::CONTAINER_HAS_SA_TOKEN,
    )
    .expect("present");
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f[0].contains("(volume `tok`"), "{f:?}");
    assert!(
        f[1].contains("automountServiceAccountToken: false"),
        "{f:?}"
    );
}

#[test]
fn exposure_goes_with_the_service_type_and_tokens_with_their_secret() {
    let g = graph(&[
        svc(
            "web",
            json!({"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]}),
            json!({}),
            lb_status("203.0.113.7"),
        ),
        one("web", json!({})),
        ns("app", None),
    ]);
    assert_eq!(
        fixes(&g, "Internet", "Service:app/web", Technique::INTERNET_TO_LB).expect("present"),
        vec!["Service:app/web: change the Service's type from LoadBalancer to ClusterIP"]
    );
    // Relations and assumed flaws are no one's change.
    assert_eq!(
        fixes(
            &g,
            "Endpoint:Pod:app/web",
            "Pod:app/web",
            Technique::ENDPOINT_EXPLOIT
        ),
        None
    );
    let mut objects = token_secret();
    objects.push(ns("app", None));
    let g = graph(&objects);
    let secret = g
        .remedies()
        .iter()
        .find(|r| r.delete)
        .expect("the token Secret can be deleted");
    assert_eq!(secret.target.kind, "Secret");
}

#[test]
fn an_ingress_stops_routing_to_a_service_and_goes_when_nothing_is_left() {
    let text = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "app"},
        "spec": {"defaultBackend": {"service": {"name": "other", "port": {"number": 80}}},
                 "rules": [
                    {"host": "a", "http": {"paths": [
                        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                        {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"number": 80}}}}]}},
                    {"host": "b", "http": {"paths": [
                        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}})
    .to_string();
    let mut ingress = parse_text(&text, "i.yaml", Syntax::Yaml).objects.remove(0);
    let r = crate::graph::remedy::Remedy::unroute("c", &ingress, "web");
    assert!(!r.delete);
    let patch = crate::graph::remedy::merged_patch(&[&r]);
    apply_patch(&mut ingress.body, &patch).expect("applies");
    let rules = &ingress.body["spec"]["rules"];
    assert_eq!(rules.as_array().map(Vec::len), Some(1), "rule b went whole");
    assert_eq!(
        rules[0]["http"]["paths"][0]["backend"]["service"]["name"],
        "api"
    );
    assert_eq!(
        ingress.body["spec"]["defaultBackend"]["service"]["name"],
        "other"
    );
    // Routing to nothing but `web`: the Ingress goes.
    let only = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "j", "namespace": "app"},
        "spec": {"rules": [{"http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}})
    .to_string();
    let only = parse_text(&only, "j.yaml", Syntax::Yaml).objects.remove(0);
    let r = crate::graph::remedy::Remedy::unroute("c", &only, "web");
    assert!(r.delete && r.ops.is_empty(), "{r:?}");
}

#[test]
fn the_platforms_own_workloads_cost_more_to_change() {
    let privileged = |ns: &str| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "agent", "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": true}}]}})
    };
    let cost = |ns: &str| {
        let g = graph(&[privileged(ns), ns_obj(ns)]);
        g.remedies()
            .iter()
            .find(|r| r.change.contains("privileged"))
            .map(|r| r.cost)
    };
    assert_eq!(cost("app"), Some(2));
    assert_eq!(cost("kube-system"), Some(5));
}

fn ns_obj(name: &str) -> Value {
    ns(name, None)
}

#[test]
fn a_cut_that_would_uncover_grants_the_graph_left_out_takes_those_too() {
    // `*` on `*` makes the graph say only ADMIN_EQUIVALENT; without b1 the pod-creation grant of
    // b2 would remain, so cutting the admin edge takes both bindings.
    let g = graph(&[
        role("pods", rule(&["create"], &[""], &["pods"])),
        binding(
            "b1",
            "cluster-admin",
            json!([{"kind": "User", "name": "alice"}]),
        ),
        binding("b2", "pods", json!([{"kind": "User", "name": "alice"}])),
        ns("app", None),
    ]);
    assert!(!has(
        &g,
        ALICE,
        "ServiceAccounts:*",
        Technique::CREATE_POD_AS_SA
    ));
    assert_eq!(
        fixes(&g, ALICE, "ClusterAdmin", Technique::ADMIN_EQUIVALENT).expect("removable"),
        vec![
            "ClusterRoleBinding:b1: remove subject User:alice from the binding",
            "ClusterRoleBinding:b2: remove subject User:alice from the binding"
        ]
    );
}

#[test]
fn rewrites_of_one_value_chosen_together_are_made_as_one() {
    use crate::graph::remedy::{combine, merged_patch, Remedy};
    // Two routes of one Ingress, each to another Service: both chosen, nothing is left to route.
    let text = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "app"},
        "spec": {"rules": [
            {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "a", "port": {"number": 80}}}}]}},
            {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "b", "port": {"number": 80}}}}]}}]}})
    .to_string();
    let ingress = parse_text(&text, "i.yaml", Syntax::Yaml).objects.remove(0);
    let (a, b) = (
        Remedy::unroute("c", &ingress, "a"),
        Remedy::unroute("c", &ingress, "b"),
    );
    assert!(!a.delete && !b.delete);
    let made = combine(&[&a, &b]);
    assert_eq!(made.len(), 1);
    assert!(made[0].delete, "{made:?}");
    // Two ARNs out of one mapRoles: the text loses both, not just the last one rewritten.
    let text = "- rolearn: arn:aws:iam::1:role/x\n  username: x\n- rolearn: arn:aws:iam::1:role/y\n  username: y\n- rolearn: arn:aws:iam::1:role/z\n  username: z\n";
    let edit = |arn: &str| {
        let new =
            crate::cloud::aws_auth::rewrite(text, true, &[arn.to_string()]).expect("names it");
        Remedy::remove_aws_auth_mapping("c", arn, ("mapRoles", text.to_string(), new))
    };
    let (x, y) = (edit("arn:aws:iam::1:role/x"), edit("arn:aws:iam::1:role/y"));
    let made = combine(&[&x, &y]);
    let refs: Vec<&Remedy> = made.iter().collect();
    let mut cm = json!({"data": {"mapRoles": text}});
    apply_patch(&mut cm, &merged_patch(&refs)).expect("applies");
    let left = cm["data"]["mapRoles"].as_str().expect("text");
    assert!(
        left.contains("role/z") && !left.contains("role/x") && !left.contains("role/y"),
        "{left}"
    );
}
