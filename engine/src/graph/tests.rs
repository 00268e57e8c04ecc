//! Every technique of sections 1–3 with its positive and negative cases, and the path search.

use super::*;
use crate::parse::{parse_text, Syntax};
use crate::snapshot::{ClusterSnapshot, Provider, Snapshot};
use serde_json::{json, Value};

mod cases;
mod remedies;
mod routes;

fn graph_with(objects: &[Value], provider: Provider, version: &str) -> AttackGraph {
    let text = objects
        .iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join("\n---\n");
    let out = parse_text(&text, "g.yaml", Syntax::Yaml);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let mut c = ClusterSnapshot {
        objects: out.objects,
        ..Default::default()
    };
    c.info.name = "c".into();
    c.info.provider = provider;
    c.info.kubernetes_version = Some(version.into());
    AttackGraph::build(&Snapshot {
        clusters: vec![c],
        ..Default::default()
    })
}

fn graph(objects: &[Value]) -> AttackGraph {
    graph_with(objects, Provider::Generic, "1.33")
}

fn has(g: &AttackGraph, from: &str, to: &str, t: Technique) -> bool {
    let cluster = |r: &str| if r == "Internet" { None } else { Some("c") };
    let (Some(a), Some(b)) = (g.find(cluster(from), from), g.find(cluster(to), to)) else {
        return false;
    };
    g.graph
        .edges_connecting(a, b)
        .any(|e| e.weight().technique == t)
}

fn pod(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "app", "labels": {"app": name}}, "spec": spec})
}

fn one(name: &str, ctr: Value) -> Value {
    let mut c = json!({"name": "c", "image": "x:1"});
    for (k, v) in ctr.as_object().cloned().unwrap_or_default() {
        c[k] = v;
    }
    pod(name, json!({"containers": [c]}))
}

fn sc(v: Value) -> Value {
    json!({"securityContext": v})
}

fn host(path: &str, read_only: bool) -> Value {
    pod(
        "h",
        json!({"volumes": [{"name": "v", "hostPath": {"path": path}}], "containers": [{"name": "c", "image": "x:1", "volumeMounts": [{"name": "v", "mountPath": "/h", "readOnly": read_only}]}]}),
    )
}

fn ns(name: &str, enforce: Option<&str>) -> Value {
    let mut n =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {}}});
    if let Some(l) = enforce {
        n["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = json!(l);
    }
    n
}

fn svc(name: &str, spec: Value, annotations: Value, status: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "app", "annotations": annotations}, "spec": spec, "status": status})
}

fn lb_status(ip: &str) -> Value {
    json!({"loadBalancer": {"ingress": [{"ip": ip}]}})
}

/// A ClusterRole `r` with `rules` bound (CRB, or RB in `app` when `ns` is true) to user alice.
fn grant(rules: Value, namespaced: bool) -> Vec<Value> {
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}, "rules": rules});
    let mut b = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": if namespaced { "RoleBinding" } else { "ClusterRoleBinding" },
        "metadata": {"name": "b"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
        "subjects": [{"kind": "User", "name": "alice"}]});
    if namespaced {
        b["metadata"]["namespace"] = json!("app");
    }
    vec![role, b, ns("app", None)]
}

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
    json!([{"verbs": verbs, "apiGroups": groups, "resources": resources}])
}

fn with(mut v: Vec<Value>, extra: &[Value]) -> Vec<Value> {
    v.extend_from_slice(extra);
    v
}

const ALICE: &str = "User:alice";

// ---- 1. Exposure and workload identity ----------------------------------------------------

#[test]
fn internet_to_lb() {
    let public = svc(
        "web",
        json!({"type": "LoadBalancer", "selector": {"app": "web"}}),
        json!({}),
        lb_status("203.0.113.10"),
    );
    assert!(has(
        &graph(std::slice::from_ref(&public)),
        "Internet",
        "Service:app/web",
        Technique::INTERNET_TO_LB
    ));
    let internal = svc(
        "web",
        json!({"type": "LoadBalancer"}),
        json!({"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}),
        lb_status("10.0.0.5"),
    );
    assert!(!has(
        &graph(&[internal]),
        "Internet",
        "Service:app/web",
        Technique::INTERNET_TO_LB
    ));
    let ranged = svc(
        "web",
        json!({"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"]}),
        json!({}),
        lb_status("203.0.113.10"),
    );
    assert!(!has(
        &graph(&[ranged]),
        "Internet",
        "Service:app/web",
        Technique::INTERNET_TO_LB
    ));
    // Not provisioned yet (a manifest): the provider's default, internet-facing, applies.
    let pending = svc("web", json!({"type": "LoadBalancer"}), json!({}), json!({}));
    let g = graph(&[pending]);
    assert!(has(
        &g,
        "Internet",
        "Service:app/web",
        Technique::INTERNET_TO_LB
    ));
    assert!(g.graph.edge_weights().any(
        |e| e.technique == Technique::INTERNET_TO_LB && e.evidence.contains("once provisioned")
    ));
    let pending_internal = svc(
        "web",
        json!({"type": "LoadBalancer"}),
        json!({"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}),
        json!({}),
    );
    assert!(!has(
        &graph(&[pending_internal]),
        "Internet",
        "Service:app/web",
        Technique::INTERNET_TO_LB
    ));
    // The AWS Load Balancer Controller defaults to internal.
    let lbc = svc(
        "web",
        json!({"type": "LoadBalancer"}),
        json!({"service.beta.kubernetes.io/aws-load-balancer-type": "external"}),
        lb_status("203.0.113.10"),
    );
    assert!(!has(
        &graph_with(std::slice::from_ref(&lbc), Provider::Eks, "1.31"),
        "Internet",
        "Service:app/web",
        Technique::INTERNET_TO_LB
    ));
    let mut facing = lbc;
    facing["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] =
        json!("internet-facing");
    assert!(has(
        &graph_with(&[facing], Provider::Eks, "1.31"),
        "Internet",
        "Service:app/web",
        Technique::INTERNET_TO_LB
    ));
}

#[test]
fn internet_to_ingress_and_nodeport() {
    let controller = svc(
        "ctrl",
        json!({"type": "LoadBalancer"}),
        json!({}),
        lb_status("203.0.113.10"),
    );
    let ing = |ip: &str| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "app"},
        "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]},
        "status": lb_status(ip)})
    };
    let g = graph(&[controller.clone(), ing("203.0.113.10")]);
    assert!(has(
        &g,
        "Internet",
        "Ingress:app/i",
        Technique::INTERNET_TO_INGRESS
    ));
    assert!(has(
        &g,
        "Ingress:app/i",
        "Service:app/web",
        Technique::INTERNET_TO_INGRESS
    ));
    assert!(!has(
        &graph(&[controller, ing("10.1.1.1")]),
        "Internet",
        "Ingress:app/i",
        Technique::INTERNET_TO_INGRESS
    ));
    // A manifest Ingress (no status yet) of class nginx, served by a public ingress-nginx.
    let ctrl_workload = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ingress-nginx-controller", "namespace": "app"},
        "spec": {"template": {"metadata": {"labels": {"app": "ctrl"}}, "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/ingress-nginx/controller:v1.12.1"}]}}}});
    let public_ctrl = svc(
        "ctrl",
        json!({"type": "LoadBalancer", "selector": {"app": "ctrl"}}),
        json!({}),
        lb_status("203.0.113.10"),
    );
    let internal_ctrl = svc(
        "ctrl",
        json!({"type": "LoadBalancer", "selector": {"app": "ctrl"}}),
        json!({"networking.gke.io/load-balancer-type": "Internal"}),
        lb_status("10.0.0.9"),
    );
    let classed = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "m", "namespace": "app"},
        "spec": {"ingressClassName": "nginx", "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}});
    assert!(has(
        &graph(&[ctrl_workload.clone(), public_ctrl, classed.clone()]),
        "Internet",
        "Ingress:app/m",
        Technique::INTERNET_TO_INGRESS
    ));
    assert!(!has(
        &graph(&[ctrl_workload, internal_ctrl, classed]),
        "Internet",
        "Ingress:app/m",
        Technique::INTERNET_TO_INGRESS
    ));
    let np = svc("np", json!({"type": "NodePort"}), json!({}), json!({}));
    let node = |t: &str| json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "status": {"addresses": [{"type": t, "address": "198.51.100.7"}]}});
    assert!(has(
        &graph(&[np.clone(), node("ExternalIP")]),
        "Internet",
        "Service:app/np",
        Technique::INTERNET_TO_NODEPORT
    ));
    assert!(!has(
        &graph(&[np, node("InternalIP")]),
        "Internet",
        "Service:app/np",
        Technique::INTERNET_TO_NODEPORT
    ));
}

#[test]
fn svc_selects_pod() {
    let p = pod(
        "web",
        json!({"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]}),
    );
    let s = |sel: &str, port: Value| {
        svc(
            "web",
            json!({"selector": {"app": sel}, "ports": [{"port": 80, "targetPort": port}]}),
            json!({}),
            json!({}),
        )
    };
    assert!(has(
        &graph(&[p.clone(), s("web", json!("http"))]),
        "Service:app/web",
        "Endpoint:Pod:app/web",
        Technique::SVC_SELECTS_POD
    ));
    assert!(
        has(
            &graph(&[p.clone(), s("web", json!(9999))]),
            "Service:app/web",
            "Endpoint:Pod:app/web",
            Technique::SVC_SELECTS_POD
        ),
        "numeric ports always resolve"
    );
    assert!(!has(
        &graph(&[p.clone(), s("web", json!("grpc"))]),
        "Service:app/web",
        "Endpoint:Pod:app/web",
        Technique::SVC_SELECTS_POD
    ));
    assert!(!has(
        &graph(&[p.clone(), s("api", json!("http"))]),
        "Service:app/web",
        "Endpoint:Pod:app/web",
        Technique::SVC_SELECTS_POD
    ));
    let slice = |ready: bool| {
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "web-x", "namespace": "app", "labels": {"kubernetes.io/service-name": "web"}},
        "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": ready}}]})
    };
    assert!(has(
        &graph(&[p.clone(), s("web", json!("http")), slice(true)]),
        "Service:app/web",
        "Endpoint:Pod:app/web",
        Technique::SVC_SELECTS_POD
    ));
    assert!(!has(
        &graph(&[p, s("web", json!("http")), slice(false)]),
        "Service:app/web",
        "Endpoint:Pod:app/web",
        Technique::SVC_SELECTS_POD
    ));
}

#[test]
fn endpoint_exploit_is_an_explicit_assumed_hop() {
    let p = pod(
        "web",
        json!({"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]}),
    );
    let lb = svc(
        "web",
        json!({"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}),
        json!({}),
        lb_status("203.0.113.10"),
    );
    let g = graph(&[p.clone(), lb.clone()]);
    // The Service reaches the ports, never the pod itself.
    assert!(has(
        &g,
        "Service:app/web",
        "Endpoint:Pod:app/web",
        Technique::SVC_SELECTS_POD
    ));
    assert!(!has(
        &g,
        "Service:app/web",
        "Pod:app/web",
        Technique::SVC_SELECTS_POD
    ));
    let (Some(e), Some(w)) = (
        g.find(Some("c"), "Endpoint:Pod:app/web"),
        g.find(Some("c"), "Pod:app/web"),
    ) else {
        panic!("endpoint and workload nodes");
    };
    let exploit: Vec<_> = g.graph.edges_connecting(e, w).collect();
    assert_eq!(exploit.len(), 1);
    assert_eq!(exploit[0].weight().technique, Technique::ENDPOINT_EXPLOIT);
    assert!(exploit[0]
        .weight()
        .evidence
        .contains("8080/TCP (http, container c)"));
    assert!(has(
        &g,
        "Service:app/web",
        "Endpoint:Pod:app/web",
        Technique::SVC_SELECTS_POD
    ));
    let selects = g
        .graph
        .edges_connecting(g.find(Some("c"), "Service:app/web").expect("svc"), e)
        .next()
        .expect("selects");
    assert!(selects.weight().evidence.contains("ports 80→http/TCP"));
    // Every way in from the network crosses the assumed hop; nothing else does.
    for edge in g.graph.edge_indices() {
        let (a, b) = g.graph.edge_endpoints(edge).expect("edge");
        let t = g.graph[edge].technique;
        if g.graph[b].kind == NodeKind::Endpoint {
            assert!(matches!(
                t,
                Technique::SVC_SELECTS_POD | Technique::INCLUDES | Technique::PORT_FORWARD
            ));
        }
        if g.graph[a].kind == NodeKind::Endpoint {
            assert_eq!(t, Technique::ENDPOINT_EXPLOIT);
        }
    }
    // Port-forward only: the path to the pod's ServiceAccount names the assumption.
    let mut objects = grant(rule(&["create"], &[""], &["pods/portforward"]), true);
    objects.push(p);
    let g = graph(&objects);
    assert!(!has(&g, ALICE, "Pods:app", Technique::PORT_FORWARD));
    let from = g.find(Some("c"), ALICE).expect("alice");
    let to = g.find(Some("c"), "ServiceAccount:app/default").expect("sa");
    let route = g.shortest_path(from, to, 10).expect("route");
    let techniques: Vec<&str> = route.iter().map(|x| x.technique.as_str()).collect();
    assert_eq!(
        techniques,
        vec![
            "PORT_FORWARD",
            "INCLUDES",
            "ENDPOINT_EXPLOIT",
            "POD_RUNS_CONTAINER",
            "CONTAINER_HAS_SA_TOKEN"
        ]
    );
    // No declared port: the evidence says so rather than inventing one.
    let g = graph(&[pod("bare", json!({"containers": [{"name": "c"}]}))]);
    let e = g
        .find(Some("c"), "Endpoint:Pod:app/bare")
        .expect("endpoint");
    let w = g.find(Some("c"), "Pod:app/bare").expect("workload");
    assert!(g
        .graph
        .edges_connecting(e, w)
        .any(|x| x.weight().evidence.contains("no containerPort declared")));
}

#[test]
fn containers_tokens_and_secrets() {
    let p = pod(
        "w",
        json!({"initContainers": [{"name": "init"}], "containers": [{"name": "c"}], "ephemeralContainers": [{"name": "debug"}],
        "volumes": [{"name": "s", "secret": {"secretName": "db"}}, {"name": "cm", "configMap": {"name": "conf"}}]}),
    );
    let g = graph(&[p]);
    for c in ["init", "c", "debug"] {
        assert!(
            has(
                &g,
                "Pod:app/w",
                &format!("Container:app/w/{c}"),
                Technique::POD_RUNS_CONTAINER
            ),
            "{c}"
        );
    }
    assert!(has(
        &g,
        "Container:app/w/c",
        "ServiceAccount:app/default",
        Technique::CONTAINER_HAS_SA_TOKEN
    ));
    assert!(has(
        &g,
        "Pod:app/w",
        "Secret:app/db",
        Technique::POD_MOUNTS_SECRET
    ));
    assert!(!has(
        &g,
        "Pod:app/w",
        "Secret:app/conf",
        Technique::POD_MOUNTS_SECRET
    ));
    let env = one("e", json!({"envFrom": [{"secretRef": {"name": "api"}}]}));
    assert!(has(
        &graph(&[env]),
        "Pod:app/e",
        "Secret:app/api",
        Technique::POD_MOUNTS_SECRET
    ));
    let off = pod(
        "o",
        json!({"automountServiceAccountToken": false, "containers": [{"name": "c"}]}),
    );
    assert!(!has(
        &graph(&[off]),
        "Container:app/o/c",
        "ServiceAccount:app/default",
        Technique::CONTAINER_HAS_SA_TOKEN
    ));
    let sa_off = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "app"}, "automountServiceAccountToken": false});
    let plain = pod("p", json!({"containers": [{"name": "c"}]}));
    assert!(!has(
        &graph(&[plain, sa_off.clone()]),
        "Container:app/p/c",
        "ServiceAccount:app/default",
        Technique::CONTAINER_HAS_SA_TOKEN
    ));
    let pod_on = pod(
        "p",
        json!({"automountServiceAccountToken": true, "containers": [{"name": "c"}]}),
    );
    assert!(
        has(
            &graph(&[pod_on, sa_off]),
            "Container:app/p/c",
            "ServiceAccount:app/default",
            Technique::CONTAINER_HAS_SA_TOKEN
        ),
        "the pod overrides the SA"
    );
    let projected = pod(
        "t",
        json!({"automountServiceAccountToken": false, "volumes": [{"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}],
        "containers": [{"name": "c", "volumeMounts": [{"name": "tok", "mountPath": "/t"}]}, {"name": "d"}]}),
    );
    let g = graph(&[projected]);
    assert!(has(
        &g,
        "Container:app/t/c",
        "ServiceAccount:app/default",
        Technique::CONTAINER_HAS_SA_TOKEN
    ));
    assert!(!has(
        &g,
        "Container:app/t/d",
        "ServiceAccount:app/default",
        Technique::CONTAINER_HAS_SA_TOKEN
    ));
}

#[test]
fn secret_authenticates_as_and_share_process_ns() {
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ci", "namespace": "app", "uid": "u1"}});
    let tok = |labels: Value, uid: &str| {
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "ci-token", "namespace": "app", "labels": labels, "annotations": {"kubernetes.io/service-account.name": "ci", "kubernetes.io/service-account.uid": uid}}})
    };
    assert!(has(
        &graph(&[sa.clone(), tok(json!({}), "u1")]),
        "Secret:app/ci-token",
        "ServiceAccount:app/ci",
        Technique::SECRET_AUTHENTICATES_AS
    ));
    assert!(!has(
        &graph(&[
            sa.clone(),
            tok(
                json!({"kubernetes.io/legacy-token-invalid-since": "2024-01-01"}),
                "u1"
            )
        ]),
        "Secret:app/ci-token",
        "ServiceAccount:app/ci",
        Technique::SECRET_AUTHENTICATES_AS
    ));
    assert!(
        !has(
            &graph(&[sa, tok(json!({}), "other")]),
            "Secret:app/ci-token",
            "ServiceAccount:app/ci",
            Technique::SECRET_AUTHENTICATES_AS
        ),
        "token of a deleted SA with the same name"
    );
    let shared = pod(
        "s",
        json!({"shareProcessNamespace": true, "containers": [{"name": "a"}, {"name": "b"}]}),
    );
    let g = graph(&[shared]);
    assert!(
        has(
            &g,
            "Container:app/s/a",
            "Container:app/s/b",
            Technique::SHARE_PROCESS_NS
        ) && has(
            &g,
            "Container:app/s/b",
            "Container:app/s/a",
            Technique::SHARE_PROCESS_NS
        )
    );
    let apart = pod("s", json!({"containers": [{"name": "a"}, {"name": "b"}]}));
    assert!(!has(
        &graph(&[apart]),
        "Container:app/s/a",
        "Container:app/s/b",
        Technique::SHARE_PROCESS_NS
    ));
}

// ---- 2. Host escape and node pivots ---------------------------------------------------------

#[test]
fn privileged_nsenter_module_load() {
    let g = graph(&[one("p", sc(json!({"privileged": true})))]);
    assert!(has(
        &g,
        "Container:app/p/c",
        "Node:*",
        Technique::CE_PRIV_MOUNT
    ));
    assert!(has(
        &g,
        "Container:app/p/c",
        "Node:*",
        Technique::CE_MODULE_LOAD
    ));
    assert!(!has(
        &g,
        "Container:app/p/c",
        "Node:*",
        Technique::CE_NSENTER
    ));
    let both = pod(
        "p",
        json!({"hostPID": true, "containers": [{"name": "c", "securityContext": {"privileged": true}}]}),
    );
    assert!(has(
        &graph(&[both]),
        "Container:app/p/c",
        "Node:*",
        Technique::CE_NSENTER
    ));
    let g = graph(&[one("p", sc(json!({"privileged": false})))]);
    assert!(!has(
        &g,
        "Container:app/p/c",
        "Node:*",
        Technique::CE_PRIV_MOUNT
    ));
    assert!(has(
        &graph(&[one(
            "m",
            sc(json!({"capabilities": {"add": ["cap_sys_module"]}}))
        )]),
        "Container:app/m/c",
        "Node:*",
        Technique::CE_MODULE_LOAD
    ));
    assert!(has(
        &graph(&[one("m", sc(json!({"capabilities": {"add": ["ALL"]}})))]),
        "Container:app/m/c",
        "Node:*",
        Technique::CE_MODULE_LOAD
    ));
    assert!(!has(
        &graph(&[one(
            "m",
            sc(json!({"capabilities": {"add": ["NET_ADMIN"]}}))
        )]),
        "Container:app/m/c",
        "Node:*",
        Technique::CE_MODULE_LOAD
    ));
}

#[test]
fn capability_escapes() {
    let ptrace = |apparmor: Option<&str>| {
        let mut c = json!({"name": "c", "securityContext": {"capabilities": {"add": ["SYS_PTRACE", "SYS_ADMIN"]}}});
        if let Some(a) = apparmor {
            c["securityContext"]["appArmorProfile"] = json!({"type": a});
        }
        pod("t", json!({"hostPID": true, "containers": [c]}))
    };
    assert!(has(
        &graph(&[ptrace(Some("Unconfined"))]),
        "Container:app/t/c",
        "Node:*",
        Technique::CE_SYS_PTRACE
    ));
    assert!(
        !has(
            &graph(&[ptrace(None)]),
            "Container:app/t/c",
            "Node:*",
            Technique::CE_SYS_PTRACE
        ),
        "AppArmor confines ptrace from 1.31"
    );
    assert!(has(
        &graph_with(&[ptrace(None)], Provider::Generic, "1.30"),
        "Container:app/t/c",
        "Node:*",
        Technique::CE_SYS_PTRACE
    ));
    let g = graph(&[ptrace(None)]);
    assert!(has(
        &g,
        "Container:app/t/c",
        "Node:*",
        Technique::CE_CGROUP_SYSADMIN
    ));
    assert!(!has(
        &g,
        "Container:app/t/c",
        "Node:*",
        Technique::CE_DAC_READ_SEARCH
    ));
    assert!(has(
        &graph(&[one(
            "d",
            sc(json!({"capabilities": {"add": ["DAC_READ_SEARCH"]}}))
        )]),
        "Container:app/d/c",
        "Node:*",
        Technique::CE_DAC_READ_SEARCH
    ));
    assert!(!has(
        &graph(&[one("d", sc(json!({"capabilities": {"add": ["CHOWN"]}})))]),
        "Container:app/d/c",
        "Node:*",
        Technique::CE_CGROUP_SYSADMIN
    ));
}

#[test]
fn host_path_escapes() {
    let to_node =
        |objs: &[Value], t: Technique| has(&graph(objs), "Container:app/h/c", "Node:*", t);
    assert!(
        to_node(&[host("/proc", false)], Technique::CE_UMH_CORE_PATTERN),
        "root by default"
    );
    assert!(
        !to_node(&[host("/proc", true)], Technique::CE_UMH_CORE_PATTERN),
        "core_pattern is written: a read-only mount cannot"
    );
    let mut non_root = host("/proc", false);
    non_root["spec"]["securityContext"] = json!({"runAsNonRoot": true});
    assert!(!to_node(&[non_root], Technique::CE_UMH_CORE_PATTERN));
    assert!(to_node(
        &[host("/etc", false)],
        Technique::EXPLOIT_HOST_WRITE
    ));
    assert!(!to_node(
        &[host("/var/log/app", false)],
        Technique::EXPLOIT_HOST_WRITE
    ));
    assert!(!to_node(
        &[host("/etc", true)],
        Technique::EXPLOIT_HOST_WRITE
    ));
    assert!(to_node(
        &[host("/etc/kubernetes", true)],
        Technique::EXPLOIT_HOST_READ
    ));
    assert!(!to_node(
        &[host("/opt/data", true)],
        Technique::EXPLOIT_HOST_READ
    ));
    assert!(
        to_node(
            &[host("/run/containerd", true)],
            Technique::EXPLOIT_RUNTIME_SOCKET
        ),
        "a parent directory of the socket, read-only"
    );
    assert!(!to_node(
        &[host("/run/app", true)],
        Technique::EXPLOIT_RUNTIME_SOCKET
    ));
    // /var/log, writable (the symlink is written there), plus pods/log read.
    let logs = grant_sa(rule(&["get"], &[""], &["pods/log"]));
    assert!(to_node(
        &with(logs.clone(), &[host("/var/log", false)]),
        Technique::CE_VAR_LOG_SYMLINK
    ));
    assert!(!to_node(
        &with(logs, &[host("/var/log", true)]),
        Technique::CE_VAR_LOG_SYMLINK
    ));
    assert!(!to_node(
        &[host("/var/log", false)],
        Technique::CE_VAR_LOG_SYMLINK
    ));
}

/// Rules bound to the `default` ServiceAccount of namespace `app`.
fn grant_sa(rules: Value) -> Vec<Value> {
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "app"}, "rules": rules});
    let b = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "b", "namespace": "app"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}, "subjects": [{"kind": "ServiceAccount", "name": "default"}]});
    vec![role, b]
}

#[test]
fn nodes_tokens_and_control_plane() {
    let placed = |name: &str, node: &str, sa: &str, extra: Value| {
        let mut p = pod(
            name,
            json!({"nodeName": node, "serviceAccountName": sa, "containers": [{"name": "c"}]}),
        );
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            p["spec"][k] = v;
        }
        p
    };
    let traverse = json!({"volumes": [{"name": "k", "hostPath": {"path": "/var/lib/kubelet"}}], "containers": [{"name": "c", "volumeMounts": [{"name": "k", "mountPath": "/k"}]}]});
    let node = |n: &str, labels: Value| json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n, "labels": labels}});
    let g = graph(&[
        node("n1", json!({})),
        node("n2", json!({})),
        placed("agent", "n1", "agent", traverse.clone()),
        placed("same", "n1", "same-sa", json!({})),
        placed("other", "n2", "other-sa", json!({})),
    ]);
    assert!(has(
        &g,
        "Container:app/agent/c",
        "ServiceAccount:app/same-sa",
        Technique::HOST_TRAVERSE_TOKENS
    ));
    assert!(
        !has(
            &g,
            "Container:app/agent/c",
            "ServiceAccount:app/other-sa",
            Technique::HOST_TRAVERSE_TOKENS
        ),
        "pods on other nodes"
    );
    // A pod on the same node that holds no token leaves none in the pod directories; one that
    // mounts a projected token volume does (the token fact the checks read too).
    let tokens = graph(&[
        node("n1", json!({})),
        placed("agent", "n1", "agent", traverse.clone()),
        placed(
            "tokenless",
            "n1",
            "quiet",
            json!({"automountServiceAccountToken": false}),
        ),
        placed(
            "projected",
            "n1",
            "projected-sa",
            json!({"automountServiceAccountToken": false,
                "volumes": [{"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}],
                "containers": [{"name": "c", "volumeMounts": [{"name": "tok", "mountPath": "/t"}]}]}),
        ),
    ]);
    assert!(!has(
        &tokens,
        "Container:app/agent/c",
        "ServiceAccount:app/quiet",
        Technique::HOST_TRAVERSE_TOKENS
    ));
    assert!(has(
        &tokens,
        "Container:app/agent/c",
        "ServiceAccount:app/projected-sa",
        Technique::HOST_TRAVERSE_TOKENS
    ));
    assert!(has(
        &g,
        "Node:n1",
        "Pod:app/same",
        Technique::NODE_HOSTS_POD
    ));
    assert!(!has(
        &g,
        "Node:n2",
        "Pod:app/same",
        Technique::NODE_HOSTS_POD
    ));
    assert!(has(
        &g,
        "Node:n1",
        "User:system:node:n1",
        Technique::NODE_CREDENTIALS
    ));
    let cp = [node(
        "cp",
        json!({"node-role.kubernetes.io/control-plane": ""}),
    )];
    assert!(has(
        &graph(&cp),
        "Node:cp",
        "ClusterAdmin",
        Technique::CONTROL_PLANE_NODE
    ));
    assert!(
        !has(
            &graph_with(&cp, Provider::Eks, "1.31"),
            "Node:cp",
            "ClusterAdmin",
            Technique::CONTROL_PLANE_NODE
        ),
        "never on managed clusters"
    );
}

// ---- 3. RBAC abuse ----------------------------------------------------------------------------

#[test]
fn create_pods_and_privileged_pods() {
    let r = rule(&["create"], &["apps"], &["deployments"]);
    let g = graph(&grant(r.clone(), true));
    assert!(has(
        &g,
        ALICE,
        "ServiceAccounts:app",
        Technique::CREATE_POD_AS_SA
    ));
    assert!(
        has(&g, ALICE, "Node:*", Technique::CREATE_PRIVILEGED_POD),
        "no Pod Security level enforced"
    );
    let mut named = grant(
        json!([{"verbs": ["create"], "apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["x"]}]),
        true,
    );
    named.push(ns("app", None));
    assert!(
        !has(
            &graph(&named),
            ALICE,
            "ServiceAccounts:app",
            Technique::CREATE_POD_AS_SA
        ),
        "create never matches resourceNames"
    );
    let mut guarded = grant(r.clone(), true);
    guarded[2] = ns("app", Some("baseline"));
    let g = graph(&guarded);
    assert!(has(
        &g,
        ALICE,
        "ServiceAccounts:app",
        Technique::CREATE_POD_AS_SA
    ));
    assert!(
        !has(&g, ALICE, "Node:*", Technique::CREATE_PRIVILEGED_POD),
        "Pod Security baseline forbids privileged pods"
    );
    let mut relabel = grant(
        json!([{"verbs": ["create"], "apiGroups": ["apps"], "resources": ["deployments"]}, {"verbs": ["patch"], "apiGroups": [""], "resources": ["namespaces"]}]),
        true,
    );
    relabel[2] = ns("app", Some("restricted"));
    assert!(
        has(
            &graph(&relabel),
            ALICE,
            "Node:*",
            Technique::CREATE_PRIVILEGED_POD
        ),
        "unless the subject can relabel its namespace"
    );
}

#[test]
fn workload_pod_and_exec_techniques() {
    let g = graph(&grant(rule(&["patch"], &["apps"], &["deployments"]), true));
    assert!(has(
        &g,
        ALICE,
        "ServiceAccounts:app",
        Technique::UPDATE_WORKLOAD_AS_SA
    ));
    let g = graph(&grant(
        rule(&["patch"], &["apps"], &["deployments/scale"]),
        true,
    ));
    assert!(!has(
        &g,
        ALICE,
        "ServiceAccounts:app",
        Technique::UPDATE_WORKLOAD_AS_SA
    ));
    assert!(has(
        &graph(&grant(rule(&["patch"], &[""], &["pods"]), true)),
        ALICE,
        "Pods:app",
        Technique::PATCH_POD_IMAGE
    ));
    assert!(!has(
        &graph(&grant(rule(&["get"], &[""], &["pods"]), true)),
        ALICE,
        "Pods:app",
        Technique::PATCH_POD_IMAGE
    ));
    assert!(has(
        &graph(&grant(rule(&["create"], &[""], &["pods/exec"]), true)),
        ALICE,
        "Pods:app",
        Technique::EXEC_INTO_POD
    ));
    let get_exec = grant(rule(&["get"], &[""], &["pods/exec"]), true);
    assert!(
        has(
            &graph_with(&get_exec, Provider::Generic, "1.34"),
            ALICE,
            "Pods:app",
            Technique::EXEC_INTO_POD
        ),
        "get was enough before 1.35"
    );
    assert!(!has(
        &graph_with(&get_exec, Provider::Generic, "1.35"),
        ALICE,
        "Pods:app",
        Technique::EXEC_INTO_POD
    ));
    // Port-forward follows the same rule (one permission set for the check and the graph).
    let get_forward = grant(rule(&["get"], &[""], &["pods/portforward"]), true);
    assert!(
        has(
            &graph_with(&get_forward, Provider::Generic, "1.34"),
            ALICE,
            "Endpoints:app",
            Technique::PORT_FORWARD
        ),
        "get was enough before 1.35"
    );
    assert!(!has(
        &graph_with(&get_forward, Provider::Generic, "1.35"),
        ALICE,
        "Endpoints:app",
        Technique::PORT_FORWARD
    ));
    assert!(has(
        &graph(&grant(
            rule(&["patch"], &[""], &["pods/ephemeralcontainers"]),
            true
        )),
        ALICE,
        "Pods:app",
        Technique::EPHEMERAL_CONTAINER
    ));
    assert!(!has(
        &graph(&grant(rule(&["patch"], &[""], &["pods/status"]), true)),
        ALICE,
        "Pods:app",
        Technique::EPHEMERAL_CONTAINER
    ));
    assert!(has(
        &graph(&grant(
            rule(&["create"], &[""], &["pods/portforward"]),
            true
        )),
        ALICE,
        "Endpoints:app",
        Technique::PORT_FORWARD
    ));
    // `get` is a WebSocket port-forward before 1.35 (tested above with exec); `list` never is.
    assert!(!has(
        &graph(&grant(rule(&["list"], &[""], &["pods/portforward"]), true)),
        ALICE,
        "Endpoints:app",
        Technique::PORT_FORWARD
    ));
}

fn token_secret() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ci", "namespace": "app"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": {"name": "ci-token", "namespace": "app", "annotations": {"kubernetes.io/service-account.name": "ci"}}}),
    ]
}

#[test]
fn secrets_and_tokens() {
    let named = |names: &[&str]| {
        with(
            grant(
                json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": names}]),
                true,
            ),
            &token_secret(),
        )
    };
    let g = graph(&named(&["ci-token"]));
    assert!(has(
        &g,
        ALICE,
        "ServiceAccount:app/ci",
        Technique::READ_SA_TOKEN_SECRET
    ));
    assert!(
        !has(&g, ALICE, "Secrets:app", Technique::READ_SECRET),
        "get by name is not a read of every Secret"
    );
    assert!(!has(
        &graph(&named(&["other"])),
        ALICE,
        "ServiceAccount:app/ci",
        Technique::READ_SA_TOKEN_SECRET
    ));
    assert!(has(
        &graph(&grant(rule(&["list"], &[""], &["secrets"]), false)),
        ALICE,
        "AllSecrets",
        Technique::READ_SECRET
    ));
    assert!(has(
        &graph(&grant(rule(&["watch"], &[""], &["secrets"]), true)),
        ALICE,
        "Secrets:app",
        Technique::READ_SECRET
    ));
    let token = |names: Value| {
        with(
            grant(
                json!([{"verbs": ["create"], "apiGroups": [""], "resources": ["serviceaccounts/token"], "resourceNames": names}]),
                true,
            ),
            &token_secret(),
        )
    };
    assert!(has(
        &graph(&token(json!(["ci"]))),
        ALICE,
        "ServiceAccount:app/ci",
        Technique::MINT_TOKEN_REQUEST
    ));
    assert!(!has(
        &graph(&token(json!(["other"]))),
        ALICE,
        "ServiceAccount:app/ci",
        Technique::MINT_TOKEN_REQUEST
    ));
    assert!(has(
        &graph(&token(json!([]))),
        ALICE,
        "ServiceAccounts:app",
        Technique::MINT_TOKEN_REQUEST
    ));
    let legacy = grant(
        json!([{"verbs": ["create", "list"], "apiGroups": [""], "resources": ["secrets"]}]),
        true,
    );
    assert!(has(
        &graph(&legacy),
        ALICE,
        "ServiceAccounts:app",
        Technique::MINT_LEGACY_TOKEN_SECRET
    ));
    assert!(!has(
        &graph(&grant(rule(&["create"], &[""], &["secrets"]), true)),
        ALICE,
        "ServiceAccounts:app",
        Technique::MINT_LEGACY_TOKEN_SECRET
    ));
}

#[test]
fn impersonation() {
    assert!(has(
        &graph(&grant(rule(&["impersonate"], &[""], &["users"]), false)),
        ALICE,
        "Users:*",
        Technique::IMPERSONATE
    ));
    let masters = grant(
        json!([{"verbs": ["impersonate"], "apiGroups": [""], "resources": ["users"]}, {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["groups"], "resourceNames": ["system:masters"]}]),
        false,
    );
    assert!(has(
        &graph(&masters),
        ALICE,
        "ClusterAdmin",
        Technique::IMPERSONATE
    ));
    let groups_only = grant(rule(&["impersonate"], &[""], &["groups"]), false);
    let g = graph(&groups_only);
    assert!(
        !has(&g, ALICE, "ClusterAdmin", Technique::IMPERSONATE)
            && !has(&g, ALICE, "Groups:*", Technique::IMPERSONATE),
        "impersonating a group alone is rejected"
    );
    assert!(has(
        &graph(&grant(
            rule(&["impersonate"], &[""], &["serviceaccounts"]),
            true
        )),
        ALICE,
        "ServiceAccounts:app",
        Technique::IMPERSONATE
    ));
}

/// `bind` on `roles` binds Roles (of the namespace, by name) and gains what they grant; binding
/// a ClusterRole takes `bind` on `clusterroles`.
#[test]
fn bind_roles_is_not_bind_clusterroles() {
    let bind_roles = |names: Option<&[&str]>| {
        let mut b = json!({"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"]});
        if let Some(n) = names {
            b["resourceNames"] = json!(n);
        }
        grant(
            json!([{"verbs": ["create"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"]}, b]),
            true,
        )
    };
    let ns_role = |name: &str, rules: Value| json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name, "namespace": "app"}, "rules": rules});
    // No Role in sight: nothing to bind, no path (was: ClusterAdmin-bound SAs of the namespace).
    let g = graph(&bind_roles(None));
    for target in [
        "ServiceAccounts:app",
        "Secrets:app",
        "ClusterAdmin",
        "Node:*",
    ] {
        assert!(!has(&g, ALICE, target, Technique::BIND_ROLE), "{target}");
    }
    // A Role that creates pods and reads Secrets: both.
    let deployer = ns_role(
        "deployer",
        json!([{"verbs": ["create"], "apiGroups": [""], "resources": ["pods"]}, {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["secrets"]}]),
    );
    let g = graph(&with(bind_roles(None), std::slice::from_ref(&deployer)));
    assert!(has(&g, ALICE, "ServiceAccounts:app", Technique::BIND_ROLE));
    assert!(has(&g, ALICE, "Secrets:app", Technique::BIND_ROLE));
    assert!(!has(&g, ALICE, "ClusterAdmin", Technique::BIND_ROLE));
    // A Role that only reads ConfigMaps gives nothing worth an edge.
    let reader = ns_role("reader", rule(&["get"], &[""], &["configmaps"]));
    assert!(!has(
        &graph(&with(bind_roles(None), &[reader])),
        ALICE,
        "Secrets:app",
        Technique::BIND_ROLE
    ));
    // bind restricted by resourceNames binds only the Roles it names.
    let g = graph(&with(
        bind_roles(Some(&["other"])),
        std::slice::from_ref(&deployer),
    ));
    assert!(!has(&g, ALICE, "ServiceAccounts:app", Technique::BIND_ROLE));
    let g = graph(&with(bind_roles(Some(&["deployer"])), &[deployer]));
    assert!(has(&g, ALICE, "ServiceAccounts:app", Technique::BIND_ROLE));
    // Every bindable Role counts: one reads Secrets, another creates pods.
    let reader_first = ns_role("a-secret-reader", rule(&["get"], &[""], &["secrets"]));
    let creator = ns_role("z-creator", rule(&["create"], &[""], &["pods"]));
    let g = graph(&with(bind_roles(None), &[reader_first, creator]));
    assert!(has(&g, ALICE, "Secrets:app", Technique::BIND_ROLE));
    assert!(has(&g, ALICE, "ServiceAccounts:app", Technique::BIND_ROLE));
    // bind on roles named edit does not bind the edit ClusterRole.
    let edit_as_role = grant(
        json!([{"verbs": ["create"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"]}, {"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "resourceNames": ["edit", "admin", "cluster-admin"]}]),
        true,
    );
    let g = graph(&edit_as_role);
    assert!(!has(&g, ALICE, "Secrets:app", Technique::BIND_ROLE));
    // Binding edit (a ClusterRole) in a namespace without Pod Security enforcement also
    // reaches a node: edit creates pods, privileged ones are admitted.
    let bind_edit = grant(
        json!([{"verbs": ["create"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"]}, {"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "resourceNames": ["edit"]}]),
        true,
    );
    assert!(has(
        &graph(&bind_edit),
        ALICE,
        "Node:*",
        Technique::BIND_ROLE
    ));
    let mut guarded = bind_edit.clone();
    guarded.retain(|o| o["kind"] != "Namespace");
    guarded.push(ns("app", Some("baseline")));
    assert!(!has(
        &graph(&guarded),
        ALICE,
        "Node:*",
        Technique::BIND_ROLE
    ));
}

#[test]
fn bind_and_escalate() {
    let bind = grant(
        json!([{"verbs": ["create"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterrolebindings"]}, {"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"]}]),
        false,
    );
    assert!(has(
        &graph(&bind),
        ALICE,
        "ClusterAdmin",
        Technique::BIND_ROLE
    ));
    let create_only = grant(
        rule(
            &["create"],
            &["rbac.authorization.k8s.io"],
            &["clusterrolebindings"],
        ),
        false,
    );
    assert!(
        !has(
            &graph(&create_only),
            ALICE,
            "ClusterAdmin",
            Technique::BIND_ROLE
        ),
        "create bindings alone is not an escalation"
    );
    let ns_bind = grant(
        json!([{"verbs": ["create"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"]}, {"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"]}]),
        true,
    );
    let g = graph(&ns_bind);
    assert!(
        has(&g, ALICE, "ServiceAccounts:app", Technique::BIND_ROLE)
            && !has(&g, ALICE, "ClusterAdmin", Technique::BIND_ROLE),
        "a RoleBinding-granted bind works only in its namespace"
    );
    let bind_edit = grant(
        json!([{"verbs": ["create"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"]}, {"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "resourceNames": ["edit"]}]),
        true,
    );
    assert!(
        has(
            &graph(&bind_edit),
            ALICE,
            "Secrets:app",
            Technique::BIND_ROLE
        ),
        "binding edit in the namespace owns it"
    );
    let escalate = grant(
        json!([{"verbs": ["escalate", "update"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"]}]),
        false,
    );
    assert!(has(
        &graph(&escalate),
        ALICE,
        "ClusterAdmin",
        Technique::ESCALATE_ROLE
    ));
    assert!(!has(
        &graph(&grant(
            rule(
                &["escalate"],
                &["rbac.authorization.k8s.io"],
                &["clusterroles"]
            ),
            false
        )),
        ALICE,
        "ClusterAdmin",
        Technique::ESCALATE_ROLE
    ));
}

#[test]
fn cluster_scoped_abuse() {
    let csr = json!([
        {"verbs": ["create"], "apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"]},
        {"verbs": ["update"], "apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"]},
        {"verbs": ["approve"], "apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "resourceNames": ["kubernetes.io/kube-apiserver-client"]}]);
    assert!(has(
        &graph(&grant(csr.clone(), false)),
        ALICE,
        "Identities:*",
        Technique::CSR_MINT_CLIENT_CERT
    ));
    assert!(
        !has(
            &graph_with(&grant(csr.clone(), false), Provider::Eks, "1.31"),
            ALICE,
            "Identities:*",
            Technique::CSR_MINT_CLIENT_CERT
        ),
        "EKS does not issue these certificates"
    );
    let signing = json!([
        {"verbs": ["create"], "apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"]},
        {"verbs": ["update"], "apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/status"]},
        {"verbs": ["sign"], "apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "resourceNames": ["kubernetes.io/*"]}]);
    assert!(
        has(
            &graph(&grant(signing, false)),
            ALICE,
            "Identities:*",
            Technique::CSR_MINT_CLIENT_CERT
        ),
        "signing directly works too"
    );
    let mut no_signer = csr;
    no_signer.as_array_mut().map(|a| a.pop());
    assert!(!has(
        &graph(&grant(no_signer, false)),
        ALICE,
        "Identities:*",
        Technique::CSR_MINT_CLIENT_CERT
    ));
    let g = graph(&grant(csr_free_masters(), false));
    assert!(
        !has(
            &g,
            "Identities:*",
            "Group:system:masters",
            Technique::INCLUDES
        ),
        "CSR certificates cannot carry system:masters"
    );
    assert!(has(
        &graph(&grant(rule(&["get"], &[""], &["nodes/proxy"]), false)),
        ALICE,
        "Pods:*",
        Technique::NODES_PROXY_EXEC
    ));
    assert!(!has(
        &graph(&grant(rule(&["get"], &[""], &["nodes"]), false)),
        ALICE,
        "Pods:*",
        Technique::NODES_PROXY_EXEC
    ));
    assert!(has(
        &graph(&grant(
            rule(
                &["patch"],
                &["admissionregistration.k8s.io"],
                &["mutatingwebhookconfigurations"]
            ),
            false
        )),
        ALICE,
        "ServiceAccounts:*",
        Technique::CONTROL_WEBHOOK
    ));
    assert!(!has(
        &graph(&grant(
            rule(
                &["patch"],
                &["admissionregistration.k8s.io"],
                &["validatingwebhookconfigurations"]
            ),
            false
        )),
        ALICE,
        "ServiceAccounts:*",
        Technique::CONTROL_WEBHOOK
    ));
    let pv = json!([{"verbs": ["create"], "apiGroups": [""], "resources": ["persistentvolumes", "persistentvolumeclaims", "pods"]}]);
    assert!(has(
        &graph(&grant(pv, false)),
        ALICE,
        "Node:*",
        Technique::CREATE_HOSTPATH_PV
    ));
    assert!(!has(
        &graph(&grant(
            rule(&["create"], &[""], &["persistentvolumes"]),
            false
        )),
        ALICE,
        "Node:*",
        Technique::CREATE_HOSTPATH_PV
    ));
    let steal = json!([{"verbs": ["delete"], "apiGroups": [""], "resources": ["pods"]}, {"verbs": ["patch"], "apiGroups": [""], "resources": ["nodes"]}]);
    assert!(has(
        &graph(&grant(steal, false)),
        ALICE,
        "ServiceAccounts:*",
        Technique::STEAL_POD_SCHEDULING
    ));
    assert!(!has(
        &graph(&grant(rule(&["delete"], &[""], &["pods"]), false)),
        ALICE,
        "ServiceAccounts:*",
        Technique::STEAL_POD_SCHEDULING
    ));
}

fn csr_free_masters() -> Value {
    json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]}])
}

#[test]
fn admin_equivalent() {
    assert!(has(
        &graph(&grant(rule(&["*"], &["*"], &["*"]), false)),
        ALICE,
        "ClusterAdmin",
        Technique::ADMIN_EQUIVALENT
    ));
    assert!(
        !has(
            &graph(&grant(rule(&["*"], &["*"], &["*"]), true)),
            ALICE,
            "ClusterAdmin",
            Technique::ADMIN_EQUIVALENT
        ),
        "a RoleBinding grants a namespace, not the cluster"
    );
    let masters = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "m"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "Group", "name": "system:masters"}]});
    assert!(has(
        &graph(&[masters]),
        "Group:system:masters",
        "ClusterAdmin",
        Technique::ADMIN_EQUIVALENT
    ));
}

// ---- Paths -----------------------------------------------------------------------------------

#[test]
fn internet_to_cluster_admin_path_is_found_and_explained() {
    let objects = vec![
        ns("app", None),
        svc(
            "web",
            json!({"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]}),
            json!({}),
            lb_status("203.0.113.10"),
        ),
        pod(
            "web",
            json!({"serviceAccountName": "web", "containers": [{"name": "c"}]}),
        ),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "oops"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": "app"}]}),
    ];
    let g = graph(&objects);
    let paths = g.index().attack_paths();
    let p = paths
        .iter()
        .find(|p| p.source == "Internet" && p.target == "ClusterAdmin")
        .expect("internet → admin");
    assert_eq!(
        paths::techniques(p),
        vec![
            "INTERNET_TO_LB",
            "SVC_SELECTS_POD",
            "ENDPOINT_EXPLOIT",
            "POD_RUNS_CONTAINER",
            "CONTAINER_HAS_SA_TOKEN",
            "ADMIN_EQUIVALENT"
        ]
    );
    // Reaching the ports is not running code: the assumed exploit makes it high, not critical.
    assert_eq!(p.severity, crate::severity::Severity::High);
    assert!(p.steps.iter().all(|s| !s.evidence.is_empty()));
    assert!(p
        .steps
        .last()
        .is_some_and(|s| s.evidence.contains("ClusterRoleBinding:oops")));
    // Shortest-path queries agree, and nothing continues through ClusterAdmin.
    let from = g.find(None, "Internet").expect("internet");
    let to = g.find(Some("c"), "ClusterAdmin").expect("admin");
    assert_eq!(g.shortest_path(from, to, 10).map(|s| s.len()), Some(6));
    assert!(g.shortest_path(from, to, 5).is_none(), "max hops");
    let admin_reach = g.reach(to, 10);
    assert!(admin_reach.is_empty(), "cluster admin is terminal");
}

#[test]
fn no_path_without_exposure_and_every_variant_is_catalogued() {
    let g = graph(&[pod("web", json!({"containers": [{"name": "c"}]}))]);
    assert!(!g
        .index()
        .attack_paths()
        .iter()
        .any(|p| p.target == "ClusterAdmin"));
    for t in techniques::CATALOGUE {
        assert!(paths::is_technique(&t.id.id()));
        assert!(!t.precondition.is_empty());
        // Looked up by discriminant, as a search of the catalogue finds it.
        let found = techniques::CATALOGUE.iter().find(|c| c.id == t.id);
        assert!(found.is_some_and(|f| std::ptr::eq(f, t.id.info())));
        assert_eq!(t.id.name(), format!("{:?}", t.id));
        assert_eq!(t.id.id(), format!("{:?}", t.id));
    }
    assert_eq!(techniques::CATALOGUE.len(), 67);
}

/// Every workload is an assumed breach, kube-system's included: a privileged system DaemonSet
/// starts paths like any other workload.
#[test]
fn kube_system_workloads_are_entries() {
    let mut calico = one("calico-node", sc(json!({"privileged": true})));
    calico["metadata"]["namespace"] = json!("kube-system");
    let g = graph(&[calico]);
    let w = g
        .find(Some("c"), "Pod:kube-system/calico-node")
        .expect("workload node");
    assert!(g.graph[w].entry);
    let paths = g.index().attack_paths();
    assert!(
        paths
            .iter()
            .any(|p| p.source == "Pod:kube-system/calico-node"),
        "{paths:?}"
    );
}

/// Impersonating system:masters needs a user to impersonate alongside: any user name the rules
/// allow (bound anywhere or not) or a ServiceAccount will do; groups alone are rejected.
#[test]
fn group_impersonation_with_a_named_user_or_service_account() {
    let masters = json!({"verbs": ["impersonate"], "apiGroups": [""], "resources": ["groups"], "resourceNames": ["system:masters"]});
    let named_user = json!({"verbs": ["impersonate"], "apiGroups": [""], "resources": ["users"], "resourceNames": ["nobody-binds-me"]});
    let any_sa =
        json!({"verbs": ["impersonate"], "apiGroups": [""], "resources": ["serviceaccounts"]});
    for rules in [
        json!([masters.clone(), named_user]),
        json!([masters.clone(), any_sa]),
    ] {
        assert!(
            has(
                &graph(&grant(rules.clone(), false)),
                ALICE,
                "ClusterAdmin",
                Technique::IMPERSONATE
            ),
            "{rules}"
        );
    }
    assert!(!has(
        &graph(&grant(json!([masters]), false)),
        ALICE,
        "ClusterAdmin",
        Technique::IMPERSONATE
    ));
}

/// `escalate` restricted by resourceNames to the subject's own Role, with update on it: the
/// subject adds any rule to that Role, in its binding's namespace.
#[test]
fn escalate_own_role_by_name() {
    let own = |rules: Value| {
        let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "self", "namespace": "app"}, "rules": rules});
        let b = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "b", "namespace": "app"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "self"}, "subjects": [{"kind": "User", "name": "alice"}]});
        vec![role, b, ns("app", None)]
    };
    let g = graph(&own(
        json!([{"verbs": ["escalate", "update"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "resourceNames": ["self"]}]),
    ));
    for target in ["ServiceAccounts:app", "Secrets:app", "Node:*"] {
        assert!(has(&g, ALICE, target, Technique::ESCALATE_ROLE), "{target}");
    }
    assert!(!has(&g, ALICE, "ClusterAdmin", Technique::ESCALATE_ROLE));
    // escalate on another Role's name, or without update, is nothing.
    for rules in [
        json!([{"verbs": ["escalate", "update"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "resourceNames": ["other"]}]),
        json!([{"verbs": ["escalate"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "resourceNames": ["self"]}]),
    ] {
        assert!(
            !has(
                &graph(&own(rules.clone())),
                ALICE,
                "Secrets:app",
                Technique::ESCALATE_ROLE
            ),
            "{rules}"
        );
    }
}

/// node-exporter as kube-prometheus ships it: UID 65534, runAsNonRoot, drop ALL, host `/`
/// read-only. It cannot open the runtime socket, root-only files or the kubelet's pod
/// directories; the same mounts as root (or as the image's user) can.
#[test]
fn host_mounts_follow_who_the_container_runs_as() {
    let exporter = |sc: Value, pod_sc: Value| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "h", "namespace": "app"},
            "spec": {"nodeName": "n1", "securityContext": pod_sc,
                "containers": [{"name": "c", "image": "x:1", "securityContext": sc,
                    "volumeMounts": [{"name": "root", "mountPath": "/host/root", "readOnly": true},
                                     {"name": "sock", "mountPath": "/run/containerd"}]}],
                "volumes": [{"name": "root", "hostPath": {"path": "/"}},
                            {"name": "sock", "hostPath": {"path": "/run/containerd"}}]}})
    };
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}});
    let victim = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "v", "namespace": "app"},
        "spec": {"nodeName": "n1", "serviceAccountName": "powerful", "containers": [{"name": "c", "image": "x:1"}]}});
    let escapes = |g: &AttackGraph| {
        [
            Technique::EXPLOIT_RUNTIME_SOCKET,
            Technique::EXPLOIT_HOST_READ,
            Technique::EXPLOIT_HOST_WRITE,
        ]
        .iter()
        .filter(|t| has(g, "Container:app/h/c", "Node:n1", **t))
        .count()
            + usize::from(has(
                g,
                "Container:app/h/c",
                "ServiceAccount:app/powerful",
                Technique::HOST_TRAVERSE_TOKENS,
            ))
    };
    // As kube-prometheus ships it: no runAsGroup, drop ALL, allowPrivilegeEscalation: false.
    let locked = json!({"capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false});
    let nobody = json!({"runAsUser": 65534, "runAsNonRoot": true});
    let stock = exporter(locked.clone(), nobody.clone());
    assert_eq!(escapes(&graph(&[stock, node.clone(), victim.clone()])), 0);
    // drop ALL alone also keeps a setuid binary from handing root back.
    let dropped = exporter(json!({"capabilities": {"drop": ["ALL"]}}), nobody.clone());
    assert_eq!(escapes(&graph(&[dropped, node.clone(), victim.clone()])), 0);
    // The same mounts as root, as the image's user, with DAC_READ_SEARCH, root's group, or a
    // setuid binary's way back to root (neither allowPrivilegeEscalation: false nor drop ALL).
    let escalation = json!({"readOnlyRootFilesystem": true});
    for (sc, pod_sc) in [
        (json!({}), json!({"runAsUser": 0})),
        (json!({}), json!({})),
        (
            json!({"capabilities": {"add": ["DAC_READ_SEARCH"]}, "allowPrivilegeEscalation": false}),
            nobody.clone(),
        ),
        (locked.clone(), json!({"runAsUser": 65534, "runAsGroup": 0})),
        (escalation, nobody.clone()),
        (
            json!({"capabilities": {"add": ["SETUID"]}, "allowPrivilegeEscalation": false}),
            nobody.clone(),
        ),
    ] {
        let g = graph(&[
            exporter(sc.clone(), pod_sc.clone()),
            node.clone(),
            victim.clone(),
        ]);
        assert!(escapes(&g) >= 2, "{sc} {pod_sc}");
    }
}

fn workload(kind: &str, name: &str, ns_: &str, spec: Value) -> Value {
    let group = if kind == "Pod" { "v1" } else { "apps/v1" };
    if kind == "Pod" {
        return json!({"apiVersion": group, "kind": kind, "metadata": {"name": name, "namespace": ns_}, "spec": spec});
    }
    json!({"apiVersion": group, "kind": kind, "metadata": {"name": name, "namespace": ns_},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}})
}

/// Root on "any node" (placement unknown) reaches what may run beside the attacker's pod:
/// DaemonSets everywhere, other workloads unless pinned, and the kubelet's group.
#[test]
fn any_node_reaches_co_scheduled_workloads() {
    let admin_sa = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "ops"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "ops", "namespace": "app"}]});
    let plain = json!({"serviceAccountName": "ops", "containers": [{"name": "c", "image": "x:1"}]});
    let privileged = workload(
        "DaemonSet",
        "agent",
        "kube-system",
        json!({"containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": true}}]}),
    );
    let g = graph(&[
        privileged.clone(),
        workload("Deployment", "ops", "app", plain.clone()),
        workload("DaemonSet", "logs", "app", plain.clone()),
        admin_sa.clone(),
    ]);
    assert!(has(
        &g,
        "Node:*",
        "Deployment:app/ops",
        Technique::NODE_MAY_HOST_POD
    ));
    assert!(has(
        &g,
        "Node:*",
        "DaemonSet:app/logs",
        Technique::NODE_HOSTS_POD
    ));
    assert!(has(
        &g,
        "Node:*",
        "Group:system:nodes",
        Technique::NODE_CREDENTIALS
    ));
    // The privileged DaemonSet now leads on to cluster admin, through the assumed co-location.
    let paths = g.index().attack_paths();
    let p = paths
        .iter()
        .find(|p| p.source == "DaemonSet:kube-system/agent" && p.target == "ClusterAdmin")
        .expect("privileged agent → admin");
    assert!(
        paths::techniques(p).contains(&"NODE_MAY_HOST_POD")
            || paths::techniques(p).contains(&"NODE_HOSTS_POD")
    );
    // Pinned workloads are kept apart.
    let mut pinned = plain.clone();
    pinned["nodeSelector"] = json!({"pool": "ops"});
    let mut required = plain.clone();
    required["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["ops"]}]}]}}});
    let g = graph(&[
        workload("Deployment", "pinned", "app", pinned.clone()),
        workload("DaemonSet", "pinned-ds", "app", pinned),
        workload("Deployment", "affine", "app", required),
    ]);
    // Selecting on os or arch alone keeps a pod off no node (Helm charts' usual selector).
    let mut linux = plain.clone();
    linux["nodeSelector"] = json!({"kubernetes.io/os": "linux"});
    let mut arch = plain.clone();
    arch["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]}]}]}}});
    let g2 = graph(&[
        workload("DaemonSet", "linux-ds", "app", linux),
        workload("Deployment", "any-arch", "app", arch),
    ]);
    assert!(has(
        &g2,
        "Node:*",
        "DaemonSet:app/linux-ds",
        Technique::NODE_HOSTS_POD
    ));
    assert!(has(
        &g2,
        "Node:*",
        "Deployment:app/any-arch",
        Technique::NODE_MAY_HOST_POD
    ));
    for w in [
        "Deployment:app/pinned",
        "DaemonSet:app/pinned-ds",
        "Deployment:app/affine",
    ] {
        assert!(!has(&g, "Node:*", w, Technique::NODE_MAY_HOST_POD), "{w}");
        assert!(!has(&g, "Node:*", w, Technique::NODE_HOSTS_POD), "{w}");
    }
    // Where placement is known (scheduled pods), any node hosts only what runs on its nodes.
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}});
    let mut placed = workload("Pod", "placed", "app", plain.clone());
    placed["spec"]["nodeName"] = json!("n1");
    let g = graph(&[
        node,
        placed,
        workload("Deployment", "ops", "app", plain),
        admin_sa,
    ]);
    assert!(!has(
        &g,
        "Node:*",
        "Deployment:app/ops",
        Technique::NODE_MAY_HOST_POD
    ));
    assert!(has(
        &g,
        "Node:n1",
        "Pod:app/placed",
        Technique::NODE_HOSTS_POD
    ));
    assert!(!has(
        &g,
        "Node:*",
        "Group:system:nodes",
        Technique::NODE_CREDENTIALS
    ));
}

/// Rewriting workloads or controlling a mutating webhook makes pods: privileged ones, where
/// Pod Security admits them, are a way to a node.
#[test]
fn control_over_pods_reaches_a_node() {
    let update = rule(&["patch"], &["apps"], &["deployments"]);
    assert!(has(
        &graph(&grant(update.clone(), true)),
        ALICE,
        "Node:*",
        Technique::UPDATE_WORKLOAD_AS_SA
    ));
    let mut guarded = grant(update, true);
    guarded[2] = ns("app", Some("baseline"));
    let g = graph(&guarded);
    assert!(has(
        &g,
        ALICE,
        "ServiceAccounts:app",
        Technique::UPDATE_WORKLOAD_AS_SA
    ));
    assert!(!has(&g, ALICE, "Node:*", Technique::UPDATE_WORKLOAD_AS_SA));

    let hooks = rule(
        &["patch"],
        &["admissionregistration.k8s.io"],
        &["mutatingwebhookconfigurations"],
    );
    assert!(has(
        &graph(&grant(hooks.clone(), false)),
        ALICE,
        "Node:*",
        Technique::CONTROL_WEBHOOK
    ));
    let mut all_guarded = grant(hooks, false);
    all_guarded[2] = ns("app", Some("restricted"));
    assert!(!has(
        &graph(&all_guarded),
        ALICE,
        "Node:*",
        Technique::CONTROL_WEBHOOK
    ));

    // The webhook's backend pods control it too, for the namespaces its selector covers.
    let server = workload(
        "Deployment",
        "kyverno",
        "kyverno",
        json!({"containers": [{"name": "c", "image": "x:1", "ports": [{"containerPort": 9443}]}]}),
    );
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kyverno-svc", "namespace": "kyverno"},
        "spec": {"selector": {"app": "kyverno"}, "ports": [{"port": 443, "targetPort": 9443}]}});
    let config = |resources: Value, selector: Value| {
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration", "metadata": {"name": "kyverno-resource"},
            "webhooks": [{"name": "mutate.kyverno.svc", "clientConfig": {"service": {"namespace": "kyverno", "name": "kyverno-svc"}},
                "namespaceSelector": selector,
                "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": resources}]}]})
    };
    let objects = |c: Value| {
        vec![
            server.clone(),
            service.clone(),
            c,
            ns("app", None),
            ns("kyverno", None),
            ns("prod", Some("restricted")),
        ]
    };
    let g = graph(&objects(config(json!(["pods"]), json!({}))));
    assert!(has(
        &g,
        "Deployment:kyverno/kyverno",
        "ServiceAccounts:*",
        Technique::CONTROL_WEBHOOK
    ));
    assert!(has(
        &g,
        "Deployment:kyverno/kyverno",
        "Node:*",
        Technique::CONTROL_WEBHOOK
    ));
    // Rules that do not cover creating core pods: pod subresources only, UPDATE only, another
    // group, a Cluster scope.
    let rule_config = |rule: Value| {
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration", "metadata": {"name": "other"},
            "webhooks": [{"name": "m.example.com", "clientConfig": {"service": {"namespace": "kyverno", "name": "kyverno-svc"}},
                "rules": [rule]}]})
    };
    for rule in [
        json!({"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods/*"]}),
        json!({"operations": ["UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}),
        json!({"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["pods"]}),
        json!({"operations": ["CREATE"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"], "scope": "Cluster"}),
    ] {
        let g = graph(&objects(rule_config(rule.clone())));
        assert!(
            !has(
                &g,
                "Deployment:kyverno/kyverno",
                "ServiceAccounts:*",
                Technique::CONTROL_WEBHOOK
            ),
            "{rule}"
        );
    }
    let g = graph(&objects(rule_config(
        json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*/*"], "scope": "*"}),
    )));
    assert!(has(
        &g,
        "Deployment:kyverno/kyverno",
        "ServiceAccounts:*",
        Technique::CONTROL_WEBHOOK
    ));
    // A selector on a custom namespace label is matched against the Namespace objects.
    let mut injected = ns("app", None);
    injected["metadata"]["labels"]["inject"] = json!("true");
    let g = graph(&[
        server.clone(),
        service.clone(),
        config(json!(["pods"]), json!({"matchLabels": {"inject": "true"}})),
        injected,
        ns("kyverno", None),
        ns("prod", Some("restricted")),
    ]);
    assert!(has(
        &g,
        "Deployment:kyverno/kyverno",
        "ServiceAccounts:app",
        Technique::CONTROL_WEBHOOK
    ));
    assert!(!has(
        &g,
        "Deployment:kyverno/kyverno",
        "ServiceAccounts:prod",
        Technique::CONTROL_WEBHOOK
    ));
    // Not pods: nothing.
    let g = graph(&objects(config(json!(["configmaps"]), json!({}))));
    assert!(!has(
        &g,
        "Deployment:kyverno/kyverno",
        "ServiceAccounts:*",
        Technique::CONTROL_WEBHOOK
    ));
    // A selector covering only a restricted namespace: its ServiceAccounts, no node.
    let only_prod = json!({"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["prod"]}]});
    let g = graph(&objects(config(json!(["pods"]), only_prod)));
    assert!(has(
        &g,
        "Deployment:kyverno/kyverno",
        "ServiceAccounts:prod",
        Technique::CONTROL_WEBHOOK
    ));
    assert!(!has(
        &g,
        "Deployment:kyverno/kyverno",
        "ServiceAccounts:app",
        Technique::CONTROL_WEBHOOK
    ));
    assert!(!has(
        &g,
        "Deployment:kyverno/kyverno",
        "Node:*",
        Technique::CONTROL_WEBHOOK
    ));
}

/// An attack is reported once: a path that is an exact tail of a higher-ranked path to the
/// same sink is folded into it and stays queryable.
#[test]
fn suffix_paths_are_folded_into_the_path_that_contains_them() {
    let admin = |sa: &str| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": format!("admin-{sa}")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": "app"}]})
    };
    let g = graph(&[
        pod(
            "web",
            json!({"serviceAccountName": "ops", "containers": [{"name": "c"}]}),
        ),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ops", "namespace": "app"}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "idle", "namespace": "app"}}),
        admin("ops"),
        admin("idle"),
    ]);
    let paths = g.index().attack_paths();
    let to_admin: Vec<&paths::AttackPath> = paths
        .iter()
        .filter(|p| p.target == "ClusterAdmin")
        .collect();
    let web = to_admin
        .iter()
        .find(|p| p.source == "Pod:app/web")
        .expect("workload path");
    // The ServiceAccount's own path is the workload path's tail: folded, with its own ID.
    assert!(!to_admin
        .iter()
        .any(|p| p.source == "ServiceAccount:app/ops"));
    assert_eq!(web.folded.len(), 1);
    assert_eq!(web.folded[0].source, "ServiceAccount:app/ops");
    assert_eq!(
        web.folded[0].id,
        paths::path_id("c", "ServiceAccount:app/ops", "ClusterAdmin")
    );
    assert!(web.folded[0].score < web.score);
    // A path that is no one's tail stays.
    let idle = to_admin
        .iter()
        .find(|p| p.source == "ServiceAccount:app/idle")
        .expect("unmounted ServiceAccount keeps its path");
    assert!(idle.folded.is_empty());
    // Still queryable from its own entry point, with the same ID.
    let q = query::Query::new(&g);
    let asked = q
        .paths(&query::PathQuery {
            from: "ServiceAccount:app/ops",
            to: "ClusterAdmin",
            cluster: Some("c"),
            max_hops: 10,
            limit: 1,
        })
        .expect("query");
    assert_eq!(asked[0].id, web.folded[0].id);

    // Folding keeps a higher-ranked tail: the longer path is not anyone's suffix.
    let mut sorted = vec![
        path_of("a", &["x", "y", "z"], 90.0),
        path_of("b", &["y", "z"], 95.0),
    ];
    paths::sort_paths(&mut sorted);
    let kept = paths::fold_suffixes(sorted);
    assert_eq!(kept.len(), 2, "a tail ranked first is not folded");
    let kept = paths::fold_suffixes(vec![
        path_of("a", &["x", "y", "z"], 95.0),
        path_of("b", &["y", "z"], 90.0),
        path_of("c", &["w", "z"], 80.0),
    ]);
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0].folded.len(), 1);
    assert_eq!(kept[1].source, "w", "same sink, different hops: kept");
}

fn path_of(id: &str, nodes: &[&str], score: f64) -> paths::AttackPath {
    let steps: Vec<paths::Step> = nodes
        .windows(2)
        .map(|w| paths::Step {
            from: w[0].to_string(),
            to: w[1].to_string(),
            technique: "READ_SECRET".into(),
            evidence: "e".into(),
        })
        .collect();
    paths::AttackPath {
        id: id.into(),
        cluster: "c".into(),
        source: nodes[0].into(),
        target: nodes[nodes.len() - 1].into(),
        severity: crate::severity::Severity::High,
        score,
        nodes: nodes.iter().map(|n| n.to_string()).collect(),
        steps,
        folded: Vec::new(),
    }
}

/// Gateway API and Istio exposure: a route reaches the internet only through a Gateway that is
/// internet-facing and whose listener admits the route's namespace; another namespace's Service
/// only under a ReferenceGrant.
#[test]
fn gateway_api_and_istio_routes_are_entries() {
    let gw_ns = ns("infra", None);
    let mut team = ns("team", None);
    team["metadata"]["labels"]["expose"] = json!("yes");
    let gateway = |allowed: Value| {
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "public", "namespace": "infra"},
            "spec": {"gatewayClassName": "istio", "listeners": [{"name": "https", "port": 443, "protocol": "HTTPS", "allowedRoutes": allowed}]}})
    };
    // Istio's implementation Service for the Gateway: an internet-facing LoadBalancer.
    let gw_svc = |lb_annotations: Value| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "public-istio", "namespace": "infra",
            "labels": {"gateway.networking.k8s.io/gateway-name": "public"}, "annotations": lb_annotations},
            "spec": {"type": "LoadBalancer", "selector": {"gateway.networking.k8s.io/gateway-name": "public"}, "ports": [{"port": 443}]},
            "status": lb_status("203.0.113.20")})
    };
    let route = |namespace: &str, backend_ns: Option<&str>| {
        let mut backend = json!({"name": "grafana", "port": 3000});
        if let Some(b) = backend_ns {
            backend["namespace"] = json!(b);
        }
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "grafana", "namespace": namespace},
            "spec": {"parentRefs": [{"name": "public", "namespace": "infra"}], "rules": [{"backendRefs": [backend]}]}})
    };
    let from = |f: &str| json!({"namespaces": {"from": f}});
    let edge = |g: &AttackGraph, to: &str| {
        has(
            g,
            "Gateway:infra/public",
            to,
            Technique::INTERNET_TO_GATEWAY,
        )
    };
    // Same (the default): only routes of the Gateway's namespace attach.
    let g = graph(&[
        gw_ns.clone(),
        team.clone(),
        gateway(json!({})),
        gw_svc(json!({})),
        route("team", None),
    ]);
    assert!(!edge(&g, "Service:team/grafana"));
    let g = graph(&[
        gw_ns.clone(),
        team.clone(),
        gateway(from("All")),
        gw_svc(json!({})),
        route("team", None),
    ]);
    assert!(edge(&g, "Service:team/grafana"));
    assert!(has(
        &g,
        "Internet",
        "Gateway:infra/public",
        Technique::INTERNET_TO_GATEWAY
    ));
    // Selector: the namespace's labels decide.
    let selector =
        json!({"namespaces": {"from": "Selector", "selector": {"matchLabels": {"expose": "yes"}}}});
    let g = graph(&[
        gw_ns.clone(),
        team.clone(),
        gateway(selector.clone()),
        gw_svc(json!({})),
        route("team", None),
    ]);
    assert!(edge(&g, "Service:team/grafana"));
    let g = graph(&[
        gw_ns.clone(),
        ns("team", None),
        gateway(selector),
        gw_svc(json!({})),
        route("team", None),
    ]);
    assert!(!edge(&g, "Service:team/grafana"));
    // An internal load balancer does not make the Gateway internet-facing.
    let internal = json!({"networking.gke.io/load-balancer-type": "Internal"});
    let g = graph_with(
        &[
            gw_ns.clone(),
            team.clone(),
            gateway(from("All")),
            gw_svc(internal),
            route("team", None),
        ],
        Provider::Gke,
        "1.31",
    );
    assert!(!has(
        &g,
        "Internet",
        "Gateway:infra/public",
        Technique::INTERNET_TO_GATEWAY
    ));
    // Cross-namespace backends need a ReferenceGrant in the backend's namespace.
    let grant = json!({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant", "metadata": {"name": "g", "namespace": "monitoring"},
        "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "team"}], "to": [{"group": "", "kind": "Service"}]}});
    let objs = vec![
        gw_ns.clone(),
        team.clone(),
        ns("monitoring", None),
        gateway(from("All")),
        gw_svc(json!({})),
        route("team", Some("monitoring")),
    ];
    assert!(!edge(&graph(&objs), "Service:monitoring/grafana"));
    let mut with_grant = objs.clone();
    with_grant.push(grant.clone());
    assert!(edge(&graph(&with_grant), "Service:monitoring/grafana"));
    // A grant lives in the target namespace: one in the route's own namespace grants nothing.
    let mut misplaced = grant;
    misplaced["metadata"]["namespace"] = json!("team");
    let mut wrong = objs.clone();
    wrong.push(misplaced);
    assert!(!edge(&graph(&wrong), "Service:monitoring/grafana"));
    // sectionName picks the listener: a route naming a listener that does not admit it stays out.
    let mut two = gateway(json!({}));
    two["spec"]["listeners"]
        .as_array_mut()
        .expect("listeners")
        .push(json!({"name": "open", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}}));
    let mut named = route("team", None);
    named["spec"]["parentRefs"][0]["sectionName"] = json!("https");
    let g = graph(&[
        gw_ns.clone(),
        team.clone(),
        two.clone(),
        gw_svc(json!({})),
        named.clone(),
    ]);
    assert!(!edge(&g, "Service:team/grafana"));
    named["spec"]["parentRefs"][0]["sectionName"] = json!("open");
    let g = graph(&[gw_ns.clone(), team.clone(), two, gw_svc(json!({})), named]);
    assert!(edge(&g, "Service:team/grafana"));
    // A managed external GatewayClass is internet-facing by itself.
    let mut managed = gateway(from("All"));
    managed["spec"]["gatewayClassName"] = json!("gke-l7-global-external-managed");
    let g = graph_with(
        &[gw_ns.clone(), team.clone(), managed, route("team", None)],
        Provider::Gke,
        "1.31",
    );
    assert!(edge(&g, "Service:team/grafana"));

    // Istio: a VirtualService bound to a Gateway whose selector picks the public gateway pods.
    let ingressgateway = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
        "spec": {"selector": {"matchLabels": {"istio": "ingressgateway"}}, "template": {"metadata": {"labels": {"istio": "ingressgateway"}}, "spec": {"containers": [{"name": "istio-proxy", "image": "istio/proxyv2:1.24.0"}]}}}});
    let igw_svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
        "spec": {"type": "LoadBalancer", "selector": {"istio": "ingressgateway"}, "ports": [{"port": 443}]}, "status": lb_status("203.0.113.30")});
    let istio_gw = |selector: Value| {
        json!({"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "public", "namespace": "team"},
            "spec": {"selector": selector, "servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["*"]}]}})
    };
    let vs = json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "grafana", "namespace": "team"},
        "spec": {"hosts": ["grafana.example.com"], "gateways": ["public", "mesh"], "http": [{"route": [{"destination": {"host": "grafana.monitoring.svc.cluster.local"}}, {"destination": {"host": "api"}}, {"destination": {"host": "api.example"}}]}]}});
    let base = vec![
        team.clone(),
        ns("istio-system", None),
        ns("monitoring", None),
        ingressgateway,
        igw_svc,
        vs,
    ];
    let mut objs = base.clone();
    objs.push(istio_gw(json!({"istio": "ingressgateway"})));
    let g = graph(&objs);
    assert!(has(
        &g,
        "Gateway:team/public",
        "Service:monitoring/grafana",
        Technique::INTERNET_TO_GATEWAY
    ));
    assert!(has(
        &g,
        "Gateway:team/public",
        "Service:team/api",
        Technique::INTERNET_TO_GATEWAY
    ));
    // A host with a dot is a host name, not a short Service name.
    assert!(g.find(Some("c"), "Service:example/api").is_none());
    let mut objs = base;
    objs.push(istio_gw(json!({"istio": "internal-gateway"})));
    assert!(!has(
        &graph(&objs),
        "Internet",
        "Gateway:team/public",
        Technique::INTERNET_TO_GATEWAY
    ));
}
