//! The network checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use crate::options::ScanOptions;
use crate::snapshot::Provider;
use serde_json::{json, Value};

fn nginx_controller(version: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"},
        "spec": {"template": {"spec": {"containers": [{"name": "controller",
            "image": format!("registry.k8s.io/ingress-nginx/controller:{version}"),
            "args": ["/nginx-ingress-controller", "--configmap=$(POD_NAMESPACE)/ingress-nginx-controller"]}]}}}})
}

fn nginx_config(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"}, "data": data})
}

fn kube_proxy_config(conf: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
        "data": {"config.conf": format!("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n{conf}")}})
}

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    let shop_ns = ns("shop", json!({}));
    vec![
        case(
            "KSPM-N-001",
            vec![shop_ns.clone(), deployment(json!({"app": "web"}))],
            vec![
                shop_ns.clone(),
                deployment(json!({"app": "web"})),
                netpol(json!({}), json!(["Ingress"]), json!({})),
            ],
        ),

        case(
            "KSPM-N-002",
            vec![
                shop_ns.clone(),
                deployment(json!({"app": "web"})),
                netpol(
                    json!({"matchLabels": {"app": "web"}}),
                    json!(["Ingress"]),
                    json!({}),
                ),
            ],
            vec![
                shop_ns.clone(),
                deployment(json!({"app": "web"})),
                netpol(json!({}), json!(["Ingress"]), json!({})),
            ],
        ),

        case(
            "KSPM-N-003",
            vec![
                shop_ns.clone(),
                deployment(json!({"app": "web"})),
                netpol(
                    json!({}),
                    json!(["Egress"]),
                    json!({"egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}),
                ),
            ],
            vec![
                shop_ns.clone(),
                deployment(json!({"app": "web"})),
                netpol(json!({}), json!(["Ingress", "Egress"]), json!({})),
            ],
        ),

        case(
            "KSPM-N-004",
            vec![
                deployment(json!({"app": "web"})),
                netpol(
                    json!({"matchLabels": {"app": "db"}}),
                    json!(["Ingress"]),
                    json!({}),
                ),
            ],
            vec![
                deployment(json!({"app": "web"})),
                netpol(
                    json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "db"]}]}),
                    json!(["Ingress"]),
                    json!({}),
                ),
            ],
        ),

        case(
            "KSPM-N-005",
            vec![service(json!({"externalIPs": ["1.2.3.4"]}), json!({}))],
            vec![service(json!({"type": "ClusterIP"}), json!({}))],
        ),

        case(
            "KSPM-N-006",
            vec![service(json!({"type": "NodePort"}), json!({}))],
            vec![service(json!({"type": "ClusterIP"}), json!({}))],
        ),

        case(
            "KSPM-N-007",
            vec![service(
                json!({"type": "LoadBalancer", "ports": [{"port": 5432}]}),
                json!({}),
            )],
            vec![
                service(
                    json!({"type": "LoadBalancer"}),
                    json!({"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}),
                ),
                service(
                    json!({"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"]}),
                    json!({}),
                ),
            ],
        ),

        case(
            "KSPM-N-008",
            vec![ingress(json!({"rules": []}), json!({}))],
            vec![ingress(
                json!({"tls": [{"hosts": ["a.example.com"], "secretName": "t"}]}),
                json!({}),
            )],
        ),

        case(
            "KSPM-N-009",
            vec![ingress(
                json!({"tls": [{}]}),
                json!({"nginx.ingress.kubernetes.io/server-snippet": "location / {}"}),
            )],
            vec![ingress(
                json!({"tls": [{}]}),
                json!({"nginx.ingress.kubernetes.io/rewrite-target": "/"}),
            )],
        ),

        case(
            "KSPM-N-010",
            vec![ctr(json!({"image": "kubernetesui/dashboard:v2.7.0"}))],
            vec![ctr(json!({}))],
        ),

        case(
            "KSPM-N-014",
            vec![
                nginx_controller("v1.13.0"),
                nginx_config(json!({"allow-snippet-annotations": "true", "annotations-risk-level": "Critical"})),
            ],
            vec![
                // From 1.12 the risk level (High by default) still rejects snippets.
                nginx_controller("v1.13.0"),
                nginx_config(json!({"allow-snippet-annotations": "true"})),
            ],
        ),

        case(
            "KSPM-N-015",
            vec![kube_proxy_config("metricsBindAddress: 0.0.0.0:10249\n")],
            vec![kube_proxy_config("metricsBindAddress: 127.0.0.1:10249\n")],
        ),

        case(
            "KSPM-N-011",
            vec![running("web"), netpol(json!({"matchLabels": {"app": "wbe"}}), json!(["Ingress"]), json!({}))],
            vec![
                running("web"),
                netpol(json!({"matchLabels": {"app": "web"}}), json!(["Ingress"]), json!({})),
                // Manifests only (no running pods): operators create pods no manifest shows.
                netpol(json!({"matchLabels": {"app": "prometheus"}}), json!(["Ingress"]), json!({})).pipe_ns("monitoring"),
                deployment(json!({"app": "operator"})).pipe_ns("monitoring"),
            ],
        ),

        case(
            "KSPM-N-017",
            vec![
                netpol(json!({}), json!(["Ingress"]), json!({})),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "open", "namespace": "shop"},
                       "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]}}),
            ],
            vec![
                netpol(json!({}), json!(["Ingress"]), json!({})),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "web", "namespace": "shop"},
                       "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"ports": [{"port": 8080}]}]}}),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "open", "namespace": "other"},
                       "spec": {"podSelector": {}, "ingress": [{}]}}),
            ],
        ),

        case(
            "KSPM-N-018",
            vec![
                // Its rule admits pods of app=fe on 8080; "open" already admits everyone.
                np("web-only", json!({"matchLabels": {"app": "web"}}), json!({"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "fe"}}}], "ports": [{"port": 8080}]}]})),
                np("open", json!({}), json!({"ingress": [{}]})),
            ],
            vec![
                np("web-only", json!({"matchLabels": {"app": "web"}}), json!({"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "fe"}}}]}]})),
                // Selects other pods.
                np("open-db", json!({"matchLabels": {"app": "db"}}), json!({"ingress": [{}]})),
                // Names ports: not everything.
                np("open-443", json!({}), json!({"ingress": [{"ports": [{"port": 443}]}]})),
                // In another namespace.
                np("open", json!({}), json!({"ingress": [{}]})).pipe_ns("other"),
            ],
        ),

        case(
            "KSPM-N-019",
            vec![ns("kube-system", json!({})), deployment(json!({"k8s-app": "kube-dns"})).pipe_ns("kube-system")],
            vec![
                ns("kube-system", json!({})),
                deployment(json!({"k8s-app": "kube-dns"})).pipe_ns("kube-system"),
                // Every namespace may connect, but on DNS ports only.
                np("dns", json!({"matchLabels": {"k8s-app": "kube-dns"}}), json!({"policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}]})).pipe_ns("kube-system"),
                // An open namespace that is not sensitive.
                ns("shop", json!({})),
                deployment(json!({"app": "web"})),
            ],
        ),

        case(
            "KSPM-N-012",
            vec![running("web"), service(json!({"selector": {"app": "wbe"}}), json!({}))],
            vec![running("web"), service(json!({"selector": {"app": "web"}}), json!({}))],
        ),

        case(
            "KSPM-N-013",
            vec![
                running("web"),
                service(json!({"selector": {"app": "web"}}), json!({})),
                ingress(
                    json!({"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "gone", "port": {"number": 80}}}}]}}]}),
                    json!({}),
                ),
            ],
            vec![
                running("web"),
                service(json!({"selector": {"app": "web"}}), json!({})),
                ingress(
                    json!({"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}),
                    json!({}),
                ),
                // A namespace the input holds no running pods of: its Services may be elsewhere.
                ingress(
                    json!({"defaultBackend": {"service": {"name": "gone", "port": {"number": 80}}}}),
                    json!({}),
                )
                .pipe_ns("manifests"),
            ],
        ),
    ]
}

/// Calico and Cilium policies protect pods as NetworkPolicies do: they count for coverage, for
/// the pods they select, and as default denies; namespaces known only from their objects are
/// not skipped.
#[test]
fn every_policy_api_counts_and_every_namespace_is_seen() {
    let opts = ScanOptions::default();
    let web = deployment(json!({"app": "web"}));
    let other = deployment(json!({"app": "other"}));
    let shop = ns("shop", json!({}));
    let cilium = |spec: Value| json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "c", "namespace": "shop"}, "spec": spec});
    let calico = |spec: Value| json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "k", "namespace": "shop"}, "spec": spec});
    let global = |spec: Value| json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "g"}, "spec": spec});
    let clusterwide = |spec: Value| json!({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "cw"}, "spec": spec});
    let count = |id: &str, objs: &[Value]| hits(id, objs, Provider::Generic, &opts).len();
    // Selecting policies of each API: the namespace is covered, the selected pods isolated.
    for policy in [
        cilium(
            json!({"endpointSelector": {"matchLabels": {"k8s:app": "web"}}, "ingress": [{"fromEndpoints": [{}]}]}),
        ),
        calico(
            json!({"selector": "app == 'web'", "types": ["Ingress"], "ingress": [{"action": "Allow"}]}),
        ),
        calico(json!({"selector": "app in {'web', 'api'}", "ingress": [{"action": "Allow"}]})),
    ] {
        assert_eq!(
            count("KSPM-N-001", &[shop.clone(), web.clone(), policy.clone()]),
            0,
            "{policy}"
        );
        assert_eq!(
            count("KSPM-N-004", &[shop.clone(), web.clone(), policy.clone()]),
            0,
            "{policy}"
        );
        assert_eq!(
            count("KSPM-N-004", &[shop.clone(), other.clone(), policy.clone()]),
            1,
            "{policy}"
        );
    }
    // Default denies of each API, namespaced and cluster-wide.
    for policy in [
        cilium(json!({"endpointSelector": {}, "ingress": [{}], "egress": [{}]})),
        calico(json!({"selector": "all()", "types": ["Ingress", "Egress"]})),
        global(json!({"selector": "all()", "types": ["Ingress", "Egress"]})),
        clusterwide(json!({"endpointSelector": {}, "ingress": [{}], "egress": [{}]})),
    ] {
        for id in ["KSPM-N-001", "KSPM-N-002", "KSPM-N-003", "KSPM-N-004"] {
            assert_eq!(
                count(id, &[shop.clone(), web.clone(), policy.clone()]),
                0,
                "{id}: {policy}"
            );
        }
    }
    // Allowing everything is no default deny; a global policy for other namespaces covers nothing.
    let allow_all = cilium(json!({"endpointSelector": {}, "ingress": [{"fromEntities": ["all"]}]}));
    assert_eq!(
        count("KSPM-N-002", &[shop.clone(), web.clone(), allow_all]),
        1
    );
    let elsewhere = global(
        json!({"selector": "all()", "namespaceSelector": "projectcalico.org/name == 'prod'", "types": ["Ingress"]}),
    );
    assert_eq!(
        count(
            "KSPM-N-001",
            &[shop.clone(), web.clone(), elsewhere.clone()]
        ),
        1
    );
    let mut prod_web = deployment(json!({"app": "web"}));
    prod_web["metadata"]["namespace"] = json!("prod");
    assert_eq!(
        count("KSPM-N-001", &[ns("prod", json!({})), prod_web, elsewhere]),
        0
    );
    // A cluster-wide policy for kube-system's pods covers no other namespace; host-endpoint
    // Calico policies and unparsable namespace selectors cover nothing.
    let kube_system_only = clusterwide(
        json!({"endpointSelector": {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system"}}, "ingress": [{}]}),
    );
    assert_eq!(
        count("KSPM-N-001", &[shop.clone(), web.clone(), kube_system_only]),
        1
    );
    let pre_dnat = global(
        json!({"selector": "all()", "types": ["Ingress"], "preDNAT": true, "applyOnForward": true}),
    );
    assert_eq!(
        count("KSPM-N-001", &[shop.clone(), web.clone(), pre_dnat]),
        1
    );
    let broken_ns =
        global(json!({"selector": "all()", "namespaceSelector": "name ==", "types": ["Ingress"]}));
    assert_eq!(
        count("KSPM-N-001", &[shop.clone(), web.clone(), broken_ns]),
        1
    );
    // A manifest folder without Namespace objects: the workload is reported (N-004), not skipped.
    assert_eq!(count("KSPM-N-004", std::slice::from_ref(&web)), 1);
    assert_eq!(count("KSPM-N-004", &[shop.clone(), web.clone()]), 0);
    assert_eq!(count("KSPM-N-001", &[shop, web]), 1);
}

/// One fact, one check: a Service selecting nothing and an Ingress routing to a missing Service
/// are security findings (N-012, N-013) in namespaces read live and hygiene findings (M-003,
/// M-004) in manifests, never both.
#[test]
fn dangling_services_and_routes_are_reported_once() {
    let opts = ScanOptions::default();
    let count = |id: &str, objs: &[Value]| hits(id, objs, Provider::Generic, &opts).len();
    let svc = service(json!({"selector": {"app": "nothing"}}), json!({}));
    let route = ingress(
        json!({"rules": [{"http": {"paths": [{"backend": {"serviceName": "gone", "servicePort": 80}}]}}]}),
        json!({}),
    );
    let live = vec![running("web"), svc.clone(), route.clone()];
    let manifests = vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}}}),
        svc,
        route,
    ];
    for (objs, security) in [(&live, 1), (&manifests, 0)] {
        assert_eq!(count("KSPM-N-012", objs), security);
        assert_eq!(count("KSPM-M-003", objs), 1 - security);
        assert_eq!(count("KSPM-N-013", objs), security);
        assert_eq!(count("KSPM-M-004", objs), 1 - security);
    }
}

/// ingress-nginx's snippet settings by version, and kube-proxy's metrics address in the flag
/// and in the configuration.
#[test]
fn ingress_nginx_settings_and_kube_proxy_metrics() {
    let opts = ScanOptions::default();
    let count = |id: &str, objs: &[Value]| hits(id, objs, Provider::Generic, &opts).len();
    // Before 1.9 snippets are allowed by default; before 1.12 there is no risk level.
    assert_eq!(count("KSPM-N-014", &[nginx_controller("v1.8.4")]), 1);
    assert_eq!(count("KSPM-N-014", &[nginx_controller("v1.10.0")]), 0);
    assert_eq!(
        count(
            "KSPM-N-014",
            &[
                nginx_controller("v1.10.0"),
                nginx_config(json!({"allow-snippet-annotations": "true"}))
            ]
        ),
        1
    );
    assert_eq!(
        count(
            "KSPM-N-014",
            &[
                nginx_controller("v1.8.4"),
                nginx_config(json!({"allow-snippet-annotations": "false"}))
            ]
        ),
        0
    );
    // A ConfigMap of another name is not the controller's.
    let mut other = nginx_config(json!({"allow-snippet-annotations": "true"}));
    other["metadata"]["name"] = json!("something-else");
    assert_eq!(
        count("KSPM-N-014", &[nginx_controller("v1.10.0"), other]),
        0
    );
    // kube-proxy's flag.
    let ds = |flag: &str| {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
            "spec": {"template": {"spec": {"hostNetwork": true, "containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.31.0",
                "command": ["kube-proxy", "--config=/var/lib/kube-proxy/config.conf", flag]}]}}}})
    };
    assert_eq!(
        count("KSPM-N-015", &[ds("--metrics-bind-address=0.0.0.0:10249")]),
        1
    );
    assert_eq!(
        count("KSPM-N-015", &[ds("--metrics-bind-address=:10249")]),
        1
    );
    assert_eq!(
        count("KSPM-N-015", &[ds("--metrics-bind-address=[::]:10249")]),
        1
    );
    assert_eq!(
        count(
            "KSPM-N-015",
            &[ds("--metrics-bind-address=127.0.0.1:10249")]
        ),
        0
    );
    assert_eq!(
        count("KSPM-N-015", &[ds("--metrics-bind-address=[::1]:10249")]),
        0
    );
    assert_eq!(
        count(
            "KSPM-N-015",
            &[kube_proxy_config("metricsBindAddress: \"\"\n")]
        ),
        0
    );
    assert_eq!(
        count(
            "KSPM-N-015",
            &[kube_proxy_config("clusterCIDR: 10.0.0.0/8\n")]
        ),
        0
    );
}

/// KSPM-N-019: which namespaces are sensitive is the attack graph's answer for their
/// ServiceAccounts (any grant, whatever its name), and only a rule that restricts peers or ports
/// closes them.
#[test]
fn sensitive_namespaces_come_from_rbac_and_only_restrictions_close_them() {
    let opts = ScanOptions::default();
    let n019 = |objects: Vec<Value>| hits("KSPM-N-019", &objects, Provider::Generic, &opts);
    let server = || {
        let mut d = deployment(json!({"app": "server"})).pipe_ns("argocd");
        d["spec"]["template"]["spec"]["serviceAccountName"] = json!("argocd-server");
        d
    };
    let sa = json!([{"kind": "ServiceAccount", "name": "argocd-server", "namespace": "argocd"}]);
    let cluster_admin = named(
        binding(
            "ClusterRoleBinding",
            "ClusterRole",
            "cluster-admin",
            sa.clone(),
        ),
        "system:argocd",
    );
    // cluster-admin for its ServiceAccount, under a binding named like the platform's.
    let found = n019(vec![
        ns("argocd", json!({})),
        server(),
        cluster_admin.clone(),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("ServiceAccount:argocd/argocd-server reaches ClusterAdmin"),
        "{found:?}"
    );
    // Reading Secrets in every namespace.
    let secrets = vec![
        role("ClusterRole", rule(&["list"], &[""], &["secrets"])),
        binding("ClusterRoleBinding", "ClusterRole", "r", sa.clone()),
    ];
    let found = n019([vec![ns("argocd", json!({})), server()], secrets].concat());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("ServiceAccount:argocd/argocd-server reaches AllSecrets"),
        "{found:?}"
    );
    // Reading the Secrets of its own namespace only: not sensitive.
    let mut own = role("Role", rule(&["get", "list"], &[""], &["secrets"]));
    own["metadata"]["namespace"] = json!("argocd");
    let mut own_binding = binding("RoleBinding", "Role", "r", sa.clone());
    own_binding["metadata"]["namespace"] = json!("argocd");
    assert!(n019(vec![ns("argocd", json!({})), server(), own, own_binding]).is_empty());
    // An allow-all from every namespace keeps it open; a rule naming namespaces closes it.
    let every = np(
        "open",
        json!({}),
        json!({"ingress": [{"from": [{"namespaceSelector": {}}]}]}),
    )
    .pipe_ns("argocd");
    let found = n019(vec![
        ns("argocd", json!({})),
        server(),
        cluster_admin.clone(),
        every,
    ]);
    assert!(
        found.len() == 1 && found[0].contains("NetworkPolicy:argocd/open spec.ingress[0]"),
        "{found:?}"
    );
    let ingress_ns = np("from-ingress", json!({}), json!({"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]}]})).pipe_ns("argocd");
    assert!(n019(vec![
        ns("argocd", json!({})),
        server(),
        cluster_admin,
        ingress_ns
    ])
    .is_empty());
    // kube-system: host-network pods and pods a policy the evaluator does not read may select
    // (Antrea's) are not judged; Calico's policies and AdminNetworkPolicies are evaluated in
    // their order; without a Namespace object the finding goes on the workload.
    let dns = || deployment(json!({"k8s-app": "kube-dns"})).pipe_ns("kube-system");
    let mut host = dns();
    host["spec"]["template"]["spec"]["hostNetwork"] = json!(true);
    assert!(n019(vec![ns("kube-system", json!({})), host]).is_empty());
    let calico = json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "dns", "namespace": "kube-system"},
        "spec": {"selector": "k8s-app == 'kube-dns'", "types": ["Ingress"], "ingress": [{"action": "Allow", "protocol": "UDP", "destination": {"ports": [53]}}]}});
    assert!(n019(vec![ns("kube-system", json!({})), dns(), calico]).is_empty());
    let calico_open = json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "open"},
        "spec": {"selector": "all()", "types": ["Ingress"], "ingress": [{"action": "Allow", "source": {"namespaceSelector": "all()"}}]}});
    let found = n019(vec![ns("kube-system", json!({})), dns(), calico_open]);
    assert!(
        found.len() == 1
            && found[0].contains("every way through the policies in order admits every pod of every namespace on every port (GlobalNetworkPolicy:open spec.ingress[0])"),
        "{found:?}"
    );
    let anp = |action: &str| json!({"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": {"name": "a"}, "spec": {"priority": 1, "subject": {"namespaces": {}}, "ingress": [{"name": "r", "action": action, "from": [{"namespaces": {}}]}]}});
    assert!(n019(vec![ns("kube-system", json!({})), dns(), anp("Deny")]).is_empty());
    // Admitted by the admin tier before kube-system's default deny can drop it.
    let default_deny =
        np("deny", json!({}), json!({"policyTypes": ["Ingress"]})).pipe_ns("kube-system");
    let found = n019(vec![
        ns("kube-system", json!({})),
        dns(),
        anp("Allow"),
        default_deny,
    ]);
    assert!(
        found.len() == 1 && found[0].contains("(AdminNetworkPolicy:a spec.ingress[0])"),
        "{found:?}"
    );
    let antrea = json!({"apiVersion": "crd.antrea.io/v1beta1", "kind": "ClusterNetworkPolicy", "metadata": {"name": "acnp"},
        "spec": {"priority": 1, "appliedTo": [{"namespaceSelector": {}}], "ingress": [{"action": "Drop", "from": [{"namespaceSelector": {}}]}]}});
    assert!(n019(vec![ns("kube-system", json!({})), dns(), antrea]).is_empty());
    // An Antrea NetworkPolicy leaves its own namespace unjudged, not the others.
    let antrea_np = |namespace: &str| {
        json!({"apiVersion": "crd.antrea.io/v1beta1", "kind": "NetworkPolicy", "metadata": {"name": "anp", "namespace": namespace},
        "spec": {"priority": 1, "appliedTo": [{"podSelector": {}}], "ingress": [{"action": "Drop", "from": [{"namespaceSelector": {}}]}]}})
    };
    assert!(n019(vec![
        ns("kube-system", json!({})),
        dns(),
        antrea_np("kube-system")
    ])
    .is_empty());
    assert_eq!(
        n019(vec![ns("kube-system", json!({})), dns(), antrea_np("shop")]).len(),
        1
    );
    // An AdminNetworkPolicy for another namespace leaves kube-system to its Cilium default deny.
    let cilium_deny = json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "deny", "namespace": "kube-system"},
        "spec": {"endpointSelector": {}, "ingress": [{}]}});
    let shop_only = json!({"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": {"name": "shop"},
        "spec": {"priority": 1, "subject": {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}}, "ingress": [{"name": "r", "action": "Allow", "from": [{"namespaces": {}}]}]}});
    assert!(n019(vec![
        ns("kube-system", json!({})),
        dns(),
        cilium_deny,
        shop_only
    ])
    .is_empty());
    // Cilium's policies are evaluated: a default deny closes, the `cluster` entity on every
    // port opens, a deny rule may restrict.
    let cnp = |name: &str, spec: Value| json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": name, "namespace": "kube-system"}, "spec": spec});
    let deny = cnp("deny", json!({"endpointSelector": {}, "ingress": [{}]}));
    assert!(n019(vec![ns("kube-system", json!({})), dns(), deny]).is_empty());
    let cluster = cnp(
        "open",
        json!({"endpointSelector": {}, "ingress": [{"fromEntities": ["cluster"]}]}),
    );
    let found = n019(vec![ns("kube-system", json!({})), dns(), cluster.clone()]);
    assert!(
        found.len() == 1
            && found[0].contains("CiliumNetworkPolicy:kube-system/open spec.ingress[0]"),
        "{found:?}"
    );
    let some_deny = cnp(
        "no-ops",
        json!({"endpointSelector": {}, "ingressDeny": [{"fromEndpoints": [{"matchLabels": {"io.kubernetes.pod.namespace": "ops"}}]}]}),
    );
    assert!(n019(vec![
        ns("kube-system", json!({})),
        dns(),
        cluster,
        some_deny
    ])
    .is_empty());
    // A policy CRD with no object of its kind: the input may lack such policies.
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "globalnetworkpolicies.crd.projectcalico.org"},
        "spec": {"group": "crd.projectcalico.org", "names": {"kind": "GlobalNetworkPolicy"}}});
    assert!(n019(vec![ns("kube-system", json!({})), dns(), crd]).is_empty());
    // Cilium's CRDs beside Cilium policies: the input holds Cilium's kinds, read together.
    let ccnp_crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "ciliumclusterwidenetworkpolicies.cilium.io"},
        "spec": {"group": "cilium.io", "names": {"kind": "CiliumClusterwideNetworkPolicy"}}});
    let elsewhere = json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "x", "namespace": "shop"},
        "spec": {"endpointSelector": {}, "ingress": [{}]}});
    assert_eq!(
        n019(vec![
            ns("kube-system", json!({})),
            dns(),
            ccnp_crd.clone(),
            elsewhere
        ])
        .len(),
        1
    );
    assert!(n019(vec![ns("kube-system", json!({})), dns(), ccnp_crd]).is_empty());
    let found = n019(vec![dns()]);
    assert!(
        found.len() == 1 && found[0].starts_with("Deployment:kube-system/d"),
        "{found:?}"
    );
    // An AdminNetworkPolicy only takes the pods its subject selects out (and only with ingress
    // rules); one of another API group is nobody's.
    let anp_for = |subject: Value, ingress: Value| {
        json!({"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": {"name": "a"},
               "spec": {"priority": 1, "subject": subject, "ingress": ingress}})
    };
    let deny_all = json!([{"name": "deny", "action": "Deny", "from": [{"namespaces": {}}]}]);
    let other_ns = anp_for(
        json!({"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}}),
        deny_all.clone(),
    );
    assert_eq!(
        n019(vec![ns("kube-system", json!({})), dns(), other_ns]).len(),
        1
    );
    let egress_only = anp_for(json!({"namespaces": {}}), json!([]));
    assert_eq!(
        n019(vec![ns("kube-system", json!({})), dns(), egress_only]).len(),
        1
    );
    let by_pods = anp_for(
        json!({"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}}),
        deny_all.clone(),
    );
    assert!(n019(vec![ns("kube-system", json!({})), dns(), by_pods]).is_empty());
    let mut foreign = anp_for(json!({"namespaces": {}}), deny_all);
    foreign["apiVersion"] = json!("example.com/v1");
    assert_eq!(
        n019(vec![ns("kube-system", json!({})), dns(), foreign]).len(),
        1
    );
}
