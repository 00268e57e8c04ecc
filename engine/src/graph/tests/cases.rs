//! One case per technique of sections 0–3, as the checks have theirs: the smallest input that
//! draws the edge (between the ends named) and the nearest input without the precondition, which
//! must not. `every_technique_of_the_cluster_sections_has_a_case` fails when a technique of the
//! catalogue has none (the cloud bridges of section 4 have theirs in `engine/tests/cloud_bridges.rs`,
//! `every_cloud_technique_has_a_case`).

use super::*;

/// An input: objects of cluster `c`, its provider and Kubernetes version.
struct Input {
    objects: Vec<Value>,
    provider: Provider,
    version: &'static str,
}

fn on(objects: Vec<Value>) -> Input {
    Input {
        objects,
        provider: Provider::Generic,
        version: "1.33",
    }
}

fn on_provider(objects: Vec<Value>, provider: Provider, version: &'static str) -> Input {
    Input {
        objects,
        provider,
        version,
    }
}

/// A technique's case: `yes` draws an edge of it from `from` to `to`; `no` draws none.
struct Case {
    technique: Technique,
    from: &'static str,
    to: &'static str,
    yes: Input,
    no: Input,
}

fn case(technique: Technique, from: &'static str, to: &'static str, yes: Input, no: Input) -> Case {
    Case {
        technique,
        from,
        to,
        yes,
        no,
    }
}

/// Whether the graph has an edge of `t` from `from` to `to`; an end ending in `%` is any node
/// whose reference starts with what precedes it.
fn drawn(g: &AttackGraph, from: &str, to: &str, t: Technique) -> bool {
    let matches = |pattern: &str, reference: &str| match pattern.strip_suffix('%') {
        Some(prefix) => reference.starts_with(prefix),
        None => reference == pattern,
    };
    g.graph.edge_indices().any(|e| {
        let (a, b) = g.graph.edge_endpoints(e).expect("edge");
        g.graph[e].technique == t
            && matches(from, &g.graph[a].reference)
            && matches(to, &g.graph[b].reference)
    })
}

fn pods_on_nodes() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "agent", "namespace": "app"},
            "spec": {"nodeName": "n1", "volumes": [{"name": "k", "hostPath": {"path": "/var/lib/kubelet"}}],
                "containers": [{"name": "c", "volumeMounts": [{"name": "k", "mountPath": "/k"}]}]}}),
    ]
}

fn neighbour(automount: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "app"},
        "spec": {"nodeName": "n1", "serviceAccountName": "web", "automountServiceAccountToken": automount,
            "containers": [{"name": "c"}]}})
}

fn public_lb(selector: &str) -> Value {
    svc(
        "web",
        json!({"type": "LoadBalancer", "selector": {"app": selector}, "ports": [{"port": 80, "targetPort": 8080}]}),
        json!({}),
        lb_status("203.0.113.10"),
    )
}

fn web_pod() -> Value {
    pod(
        "web",
        json!({"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]}),
    )
}

fn deny_all() -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "app"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
}

fn gateway(class: &str) -> Vec<Value> {
    vec![
        ns("app", None),
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "public", "namespace": "app"},
            "spec": {"gatewayClassName": class, "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}),
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "web", "namespace": "app"},
            "spec": {"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [{"name": "web", "port": 80}]}]}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "public-gw", "namespace": "app",
            "labels": {"gateway.networking.k8s.io/gateway-name": "public"}},
            "spec": {"type": if class == "internal" { "ClusterIP" } else { "LoadBalancer" }, "selector": {"gw": "public"}, "ports": [{"port": 80}]},
            "status": if class == "internal" { json!({}) } else { lb_status("203.0.113.30") }}),
    ]
}

fn ingress(ip: &str) -> Vec<Value> {
    vec![
        svc(
            "ctrl",
            json!({"type": "LoadBalancer"}),
            json!({}),
            lb_status("203.0.113.10"),
        ),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "app"},
            "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]},
            "status": lb_status(ip)}),
    ]
}

fn node_with(address: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": labels},
        "status": {"addresses": [{"type": address, "address": "198.51.100.7"}]}})
}

fn webhook(rules_operations: &[&str]) -> Vec<Value> {
    vec![
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration", "metadata": {"name": "m"},
            "webhooks": [{"name": "m.example.com", "clientConfig": {"service": {"name": "hook", "namespace": "app"}},
                "rules": [{"operations": rules_operations, "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
                "sideEffects": "None", "admissionReviewVersions": ["v1"]}]}),
        svc(
            "hook",
            json!({"selector": {"app": "hook"}, "ports": [{"port": 443}]}),
            json!({}),
            json!({}),
        ),
        pod("hook", json!({"containers": [{"name": "c"}]})),
    ]
}

fn privileged_pod() -> Value {
    one("p", sc(json!({"privileged": true})))
}

fn caps(add: &[&str]) -> Value {
    one("d", sc(json!({"capabilities": {"add": add}})))
}

fn ptrace(apparmor: &str) -> Value {
    pod(
        "t",
        json!({"hostPID": true, "containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["SYS_PTRACE", "SYS_ADMIN"]}, "appArmorProfile": {"type": apparmor}}}]}),
    )
}

fn aws_auth_edit() -> Vec<Value> {
    let mut g = grant(
        json!([{"verbs": ["update"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["aws-auth"]}]),
        false,
    );
    g.push(ns("kube-system", None));
    g
}

fn cases() -> Vec<Case> {
    use Technique as T;
    let plain = json!({"serviceAccountName": "ops", "containers": [{"name": "c", "image": "x:1"}]});
    let mut pinned = plain.clone();
    pinned["nodeSelector"] = json!({"pool": "ops"});
    let get_logs = grant_sa(rule(&["get"], &[""], &["pods/log"]));
    vec![
        // 0. Relations.
        case(
            T::MEMBER_OF,
            "ServiceAccount:app/x",
            "Group:system:serviceaccounts:app",
            on(vec![
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x", "namespace": "app"}}),
            ]),
            on(vec![
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x", "namespace": "other"}}),
            ]),
        ),
        case(
            T::INCLUDES,
            "Pods:app",
            "Pod:app/web",
            on(vec![web_pod()]),
            on(vec![workload(
                "Pod",
                "web",
                "other",
                json!({"containers": [{"name": "c"}]}),
            )]),
        ),
        // 1. Exposure and workload identity.
        case(
            T::INTERNET_TO_LB,
            "Internet",
            "Service:app/web",
            on(vec![public_lb("web")]),
            on(vec![svc(
                "web",
                json!({"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"]}),
                json!({}),
                lb_status("203.0.113.10"),
            )]),
        ),
        case(
            T::INTERNET_TO_INGRESS,
            "Internet",
            "Ingress:app/i",
            on(ingress("203.0.113.10")),
            on(ingress("10.1.1.1")),
        ),
        case(
            T::INTERNET_TO_NODEPORT,
            "Internet",
            "Service:app/np",
            on(vec![
                svc("np", json!({"type": "NodePort"}), json!({}), json!({})),
                node_with("ExternalIP", json!({})),
            ]),
            on(vec![
                svc("np", json!({"type": "NodePort"}), json!({}), json!({})),
                node_with("InternalIP", json!({})),
            ]),
        ),
        case(
            T::INTERNET_TO_GATEWAY,
            "Internet",
            "Gateway:app/public",
            on(gateway("istio")),
            on(gateway("internal")),
        ),
        case(
            T::SVC_SELECTS_POD,
            "Service:app/web",
            "Endpoint:Pod:app/web",
            on(vec![web_pod(), public_lb("web")]),
            on(vec![web_pod(), public_lb("api")]),
        ),
        case(
            T::NETWORK_REACH,
            "Network:%",
            "Ports:%",
            on(vec![
                web_pod(),
                pod(
                    "api",
                    json!({"containers": [{"name": "c", "ports": [{"containerPort": 9090}]}]}),
                ),
            ]),
            on(vec![
                web_pod(),
                pod(
                    "api",
                    json!({"containers": [{"name": "c", "ports": [{"containerPort": 9090}]}]}),
                ),
                deny_all(),
            ]),
        ),
        case(
            T::ENDPOINT_EXPLOIT,
            "Endpoint:Pod:app/web",
            "Pod:app/web",
            on(vec![web_pod()]),
            on(vec![workload(
                "Pod",
                "web",
                "other",
                json!({"containers": [{"name": "c"}]}),
            )]),
        ),
        case(
            T::POD_RUNS_CONTAINER,
            "Pod:app/web",
            "Container:app/web/c",
            on(vec![web_pod()]),
            on(vec![pod("web", json!({"containers": [{"name": "other"}]}))]),
        ),
        case(
            T::CONTAINER_HAS_SA_TOKEN,
            "Container:app/p/c",
            "ServiceAccount:app/default",
            on(vec![pod("p", json!({"containers": [{"name": "c"}]}))]),
            on(vec![pod(
                "p",
                json!({"automountServiceAccountToken": false, "containers": [{"name": "c"}]}),
            )]),
        ),
        case(
            T::POD_MOUNTS_SECRET,
            "Pod:app/w",
            "Secret:app/db",
            on(vec![pod(
                "w",
                json!({"volumes": [{"name": "s", "secret": {"secretName": "db"}}], "containers": [{"name": "c"}]}),
            )]),
            on(vec![pod(
                "w",
                json!({"volumes": [{"name": "s", "configMap": {"name": "db"}}], "containers": [{"name": "c"}]}),
            )]),
        ),
        case(
            T::SECRET_AUTHENTICATES_AS,
            "Secret:app/ci-token",
            "ServiceAccount:app/ci",
            on(token_secret()),
            on(vec![
                token_secret()[0].clone(),
                json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "ci-token", "namespace": "app", "annotations": {"kubernetes.io/service-account.name": "ci"}}}),
            ]),
        ),
        case(
            T::SHARE_PROCESS_NS,
            "Container:app/s/a",
            "Container:app/s/b",
            on(vec![pod(
                "s",
                json!({"shareProcessNamespace": true, "containers": [{"name": "a"}, {"name": "b"}]}),
            )]),
            on(vec![pod(
                "s",
                json!({"containers": [{"name": "a"}, {"name": "b"}]}),
            )]),
        ),
        // 2. Host escape and node pivots.
        case(
            T::CE_PRIV_MOUNT,
            "Container:app/p/c",
            "Node:*",
            on(vec![privileged_pod()]),
            on(vec![one("p", sc(json!({"privileged": false})))]),
        ),
        case(
            T::CE_NSENTER,
            "Container:app/p/c",
            "Node:*",
            on(vec![pod(
                "p",
                json!({"hostPID": true, "containers": [{"name": "c", "securityContext": {"privileged": true}}]}),
            )]),
            on(vec![privileged_pod()]),
        ),
        case(
            T::CE_MODULE_LOAD,
            "Container:app/d/c",
            "Node:*",
            on(vec![caps(&["cap_sys_module"])]),
            on(vec![caps(&["NET_ADMIN"])]),
        ),
        case(
            T::CE_SYS_PTRACE,
            "Container:app/t/c",
            "Node:*",
            on(vec![ptrace("Unconfined")]),
            on(vec![ptrace("RuntimeDefault")]),
        ),
        case(
            T::CE_CGROUP_SYSADMIN,
            "Container:app/d/c",
            "Node:*",
            on(vec![caps(&["SYS_ADMIN"])]),
            on(vec![caps(&["CHOWN"])]),
        ),
        case(
            T::CE_DAC_READ_SEARCH,
            "Container:app/d/c",
            "Node:*",
            on(vec![caps(&["DAC_READ_SEARCH"])]),
            on(vec![caps(&["DAC_OVERRIDE"])]),
        ),
        case(
            T::CE_UMH_CORE_PATTERN,
            "Container:app/h/c",
            "Node:*",
            on(vec![host("/proc", false)]),
            on(vec![host("/proc", true)]),
        ),
        case(
            T::CE_VAR_LOG_SYMLINK,
            "Container:app/h/c",
            "Node:*",
            on(with(get_logs.clone(), &[host("/var/log", false)])),
            on(vec![host("/var/log", false)]),
        ),
        case(
            T::EXPLOIT_HOST_WRITE,
            "Container:app/h/c",
            "Node:*",
            on(vec![host("/etc", false)]),
            on(vec![host("/etc", true)]),
        ),
        case(
            T::EXPLOIT_HOST_READ,
            "Container:app/h/c",
            "Node:*",
            on(vec![host("/etc/kubernetes", true)]),
            on(vec![host("/opt/data", true)]),
        ),
        case(
            T::EXPLOIT_RUNTIME_SOCKET,
            "Container:app/h/c",
            "Node:*",
            on(vec![host("/run/containerd/containerd.sock", true)]),
            on(vec![host("/run/app", true)]),
        ),
        case(
            T::HOST_TRAVERSE_TOKENS,
            "Container:app/agent/c",
            "ServiceAccount:app/web",
            on(with(pods_on_nodes(), &[neighbour(true)])),
            on(with(pods_on_nodes(), &[neighbour(false)])),
        ),
        case(
            T::NODE_HOSTS_POD,
            "Node:n1",
            "Pod:app/web",
            on(with(pods_on_nodes(), &[neighbour(true)])),
            on(pods_on_nodes()),
        ),
        case(
            T::NODE_MAY_HOST_POD,
            "Node:*",
            "Deployment:app/ops",
            on(vec![workload("Deployment", "ops", "app", plain.clone())]),
            on(vec![workload("Deployment", "ops", "app", pinned)]),
        ),
        case(
            T::NODE_CREDENTIALS,
            "Node:n1",
            "User:system:node:n1",
            on(vec![node_with("InternalIP", json!({}))]),
            on(vec![]),
        ),
        case(
            T::CONTROL_PLANE_NODE,
            "Node:n1",
            "ClusterAdmin",
            on(vec![node_with(
                "InternalIP",
                json!({"node-role.kubernetes.io/control-plane": ""}),
            )]),
            on_provider(
                vec![node_with(
                    "InternalIP",
                    json!({"node-role.kubernetes.io/control-plane": ""}),
                )],
                Provider::Eks,
                "1.31",
            ),
        ),
        // 3. RBAC abuse.
        case(
            T::UPDATE_AWS_AUTH,
            ALICE,
            "Group:system:masters",
            on_provider(aws_auth_edit(), Provider::Eks, "1.31"),
            on(aws_auth_edit()),
        ),
        case(
            T::CREATE_POD_AS_SA,
            ALICE,
            "ServiceAccounts:app",
            on(grant(rule(&["create"], &["batch"], &["cronjobs"]), true)),
            on(grant(
                rule(&["get", "list", "watch"], &["batch"], &["cronjobs"]),
                true,
            )),
        ),
        case(
            T::CREATE_PRIVILEGED_POD,
            ALICE,
            "Node:*",
            on(grant(rule(&["create"], &[""], &["pods"]), true)),
            on({
                let mut g = grant(rule(&["create"], &[""], &["pods"]), true);
                g[2] = ns("app", Some("baseline"));
                g
            }),
        ),
        case(
            T::UPDATE_WORKLOAD_AS_SA,
            ALICE,
            "ServiceAccounts:app",
            on(grant(rule(&["patch"], &["apps"], &["statefulsets"]), true)),
            on(grant(
                rule(&["patch"], &["apps"], &["statefulsets/scale"]),
                true,
            )),
        ),
        case(
            T::PATCH_POD_IMAGE,
            ALICE,
            "Pods:app",
            on(grant(rule(&["patch"], &[""], &["pods"]), true)),
            on(grant(rule(&["get"], &[""], &["pods"]), true)),
        ),
        case(
            T::EXEC_INTO_POD,
            ALICE,
            "Pods:app",
            on(grant(rule(&["create"], &[""], &["pods/exec"]), true)),
            on_provider(
                grant(rule(&["get"], &[""], &["pods/exec"]), true),
                Provider::Generic,
                "1.35",
            ),
        ),
        case(
            T::EPHEMERAL_CONTAINER,
            ALICE,
            "Pods:app",
            on(grant(
                rule(&["patch"], &[""], &["pods/ephemeralcontainers"]),
                true,
            )),
            on(grant(rule(&["patch"], &[""], &["pods/status"]), true)),
        ),
        case(
            T::PORT_FORWARD,
            ALICE,
            "Endpoints:app",
            on(grant(rule(&["create"], &[""], &["pods/portforward"]), true)),
            on_provider(
                grant(rule(&["get"], &[""], &["pods/portforward"]), true),
                Provider::Generic,
                "1.35",
            ),
        ),
        case(
            T::READ_SA_TOKEN_SECRET,
            ALICE,
            "ServiceAccount:app/ci",
            on(with(
                grant(
                    json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["ci-token"]}]),
                    true,
                ),
                &token_secret(),
            )),
            on(with(
                grant(
                    json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["other"]}]),
                    true,
                ),
                &token_secret(),
            )),
        ),
        case(
            T::READ_SECRET,
            ALICE,
            "Secrets:app",
            on(grant(rule(&["watch"], &[""], &["secrets"]), true)),
            on(grant(
                rule(&["create", "delete"], &[""], &["secrets"]),
                true,
            )),
        ),
        case(
            T::MINT_TOKEN_REQUEST,
            ALICE,
            "ServiceAccounts:app",
            on(grant(
                rule(&["create"], &[""], &["serviceaccounts/token"]),
                true,
            )),
            on(grant(
                rule(&["get"], &[""], &["serviceaccounts/token"]),
                true,
            )),
        ),
        case(
            T::MINT_LEGACY_TOKEN_SECRET,
            ALICE,
            "ServiceAccounts:app",
            on(grant(rule(&["create", "list"], &[""], &["secrets"]), true)),
            on(grant(rule(&["create"], &[""], &["secrets"]), true)),
        ),
        case(
            T::IMPERSONATE,
            ALICE,
            "ServiceAccounts:app",
            on(grant(
                rule(&["impersonate"], &[""], &["serviceaccounts"]),
                true,
            )),
            on(grant(rule(&["get"], &[""], &["serviceaccounts"]), true)),
        ),
        case(
            T::BIND_ROLE,
            ALICE,
            "ClusterAdmin",
            on(grant(
                json!([{"verbs": ["create"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterrolebindings"]}, {"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"]}]),
                false,
            )),
            on(grant(
                rule(
                    &["create"],
                    &["rbac.authorization.k8s.io"],
                    &["clusterrolebindings"],
                ),
                false,
            )),
        ),
        case(
            T::ESCALATE_ROLE,
            ALICE,
            "ClusterAdmin",
            on(grant(
                json!([{"verbs": ["escalate", "update"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"]}]),
                false,
            )),
            on(grant(
                rule(
                    &["escalate"],
                    &["rbac.authorization.k8s.io"],
                    &["clusterroles"],
                ),
                false,
            )),
        ),
        case(
            T::CSR_MINT_CLIENT_CERT,
            ALICE,
            "Identities:*",
            on(grant(
                json!([
                {"verbs": ["create"], "apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"]},
                {"verbs": ["update"], "apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"]},
                {"verbs": ["approve"], "apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "resourceNames": ["kubernetes.io/kube-apiserver-client"]}]),
                false,
            )),
            on(grant(
                json!([
                {"verbs": ["create"], "apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"]},
                {"verbs": ["update"], "apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"]}]),
                false,
            )),
        ),
        case(
            T::NODES_PROXY_EXEC,
            ALICE,
            "Pods:*",
            on(grant(rule(&["get"], &[""], &["nodes/proxy"]), false)),
            on(grant(rule(&["get"], &[""], &["nodes"]), false)),
        ),
        case(
            T::CONTROL_WEBHOOK,
            "Pod:app/hook",
            "ServiceAccounts:*",
            on(webhook(&["CREATE"])),
            on(webhook(&["DELETE"])),
        ),
        case(
            T::CREATE_HOSTPATH_PV,
            ALICE,
            "Node:*",
            on(grant(
                json!([{"verbs": ["create"], "apiGroups": [""], "resources": ["persistentvolumes", "persistentvolumeclaims", "pods"]}]),
                false,
            )),
            on(grant(
                rule(&["create"], &[""], &["persistentvolumes"]),
                false,
            )),
        ),
        case(
            T::STEAL_POD_SCHEDULING,
            ALICE,
            "ServiceAccounts:*",
            on(grant(
                json!([{"verbs": ["delete"], "apiGroups": [""], "resources": ["pods"]}, {"verbs": ["patch"], "apiGroups": [""], "resources": ["nodes"]}]),
                false,
            )),
            on(grant(rule(&["delete"], &[""], &["pods"]), false)),
        ),
        case(
            T::ADMIN_EQUIVALENT,
            ALICE,
            "ClusterAdmin",
            on(grant(rule(&["*"], &["*"], &["*"]), false)),
            on(grant(rule(&["*"], &["*"], &["*"]), true)),
        ),
    ]
}

#[test]
fn every_technique_of_the_cluster_sections_has_a_case() {
    let cases = cases();
    let mut failures = Vec::new();
    for c in &cases {
        let build = |i: &Input| graph_with(&i.objects, i.provider, i.version);
        if !drawn(&build(&c.yes), c.from, c.to, c.technique) {
            failures.push(format!(
                "{:?}: no {} → {} on its positive case",
                c.technique, c.from, c.to
            ));
        }
        if drawn(&build(&c.no), c.from, c.to, c.technique) {
            failures.push(format!(
                "{:?}: {} → {} drawn on its negative case",
                c.technique, c.from, c.to
            ));
        }
    }
    let covered: std::collections::BTreeSet<Technique> =
        cases.iter().map(|c| c.technique).collect();
    for t in super::super::techniques::CATALOGUE {
        if t.section <= 3 && !covered.contains(&t.id) {
            failures.push(format!("{:?} (section {}) has no case", t.id, t.section));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
