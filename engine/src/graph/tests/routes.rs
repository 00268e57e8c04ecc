//! What an internet-facing Ingress or Gateway forwards reaches its backends only where the
//! network policies let its senders — the ingress controller's or gateway's pods, or a cloud
//! load balancer outside the cluster — connect to the backend pods on the port routed to: the
//! source's egress and the backend's ingress, as for any pod-to-pod connection.

use super::*;

const CONTROLLER_NS: &str = "ingress-nginx";

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

/// ingress-nginx behind an internet-facing LoadBalancer in its own namespace, an Ingress of
/// class nginx in `app` routing `backend` (a Service port) to Service `web`, whose pods listen
/// on 8080 (`http`, port 80) and 9090 (`metrics`).
fn fleet(backend: Value, extra: &[Value]) -> Vec<Value> {
    let mut objects = vec![
        namespace(CONTROLLER_NS),
        namespace("app"),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ingress-nginx-controller", "namespace": CONTROLLER_NS},
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
              "template": {"metadata": {"labels": {"app.kubernetes.io/name": "ingress-nginx"}},
                "spec": {"containers": [{"name": "controller", "image": "registry.k8s.io/ingress-nginx/controller:v1.12.1",
                  "ports": [{"name": "http", "containerPort": 80}]}]}}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ingress-nginx-controller", "namespace": CONTROLLER_NS},
            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "selector": {"app.kubernetes.io/name": "ingress-nginx"}, "ports": [{"port": 80, "targetPort": "http"}]},
            "status": lb_status("203.0.113.10")}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "app"},
            "spec": {"ingressClassName": "nginx", "rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
              "backend": {"service": {"name": "web", "port": backend}}}]}}]}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "app"},
            "spec": {"selector": {"app": "web"}, "ports": [
              {"name": "http", "port": 80, "targetPort": 8080},
              {"name": "metrics", "port": 9090, "targetPort": 9090}]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "app"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
              "spec": {"containers": [{"name": "c", "image": "x:1", "ports": [{"containerPort": 8080}, {"containerPort": 9090}]}]}}}}),
    ];
    objects.extend_from_slice(extra);
    objects
}

fn np(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

/// Denies every connection to the pods of `ns` (from them, when `egress`).
fn deny(ns: &str, egress: bool) -> Value {
    let types = if egress {
        json!(["Egress"])
    } else {
        json!(["Ingress"])
    };
    np(ns, "deny", json!({"podSelector": {}, "policyTypes": types}))
}

/// Admits the ingress controller's namespace to the pods of `app` on `port`.
fn from_controller(port: u16) -> Value {
    np(
        "app",
        "from-ingress",
        json!({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": CONTROLLER_NS}}}],
            "ports": [{"port": port}]}]}),
    )
}

fn port_number(n: u16) -> Value {
    json!({"number": n})
}

/// The evidence of the Ingress → Service edge, if drawn.
fn routed(objects: &[Value]) -> Option<String> {
    let g = graph(objects);
    assert!(
        has(
            &g,
            "Internet",
            "Ingress:app/i",
            Technique::INTERNET_TO_INGRESS
        ),
        "the Ingress itself is exposed"
    );
    let (a, b) = (
        g.find(Some("c"), "Ingress:app/i")?,
        g.find(Some("c"), "Service:app/web")?,
    );
    g.graph
        .edges_connecting(a, b)
        .find(|e| e.weight().technique == Technique::INTERNET_TO_INGRESS)
        .map(|e| e.weight().evidence.clone())
}

#[test]
fn an_ingress_reaches_its_backend_where_no_policy_applies() {
    assert_eq!(
        routed(&fleet(port_number(80), &[])).as_deref(),
        Some("rule backend Service app/web"),
        "no policy: the evidence is the route alone"
    );
}

#[test]
fn a_backend_whose_ingress_denies_the_controller_is_not_reached() {
    assert_eq!(routed(&fleet(port_number(80), &[deny("app", false)])), None);
    // Egress rules of the backend's namespace do not stop what arrives.
    let egress_only = np(
        "app",
        "deny-egress",
        json!({"podSelector": {}, "policyTypes": ["Egress"]}),
    );
    assert!(routed(&fleet(port_number(80), &[egress_only])).is_some());
}

#[test]
fn a_rule_admitting_the_controller_on_the_routed_port_keeps_the_route() {
    let why = routed(&fleet(
        port_number(80),
        &[deny("app", false), from_controller(8080)],
    ))
    .expect("admitted on 8080, the target of port 80");
    assert!(
        why.contains("Deployment:ingress-nginx/ingress-nginx-controller may connect to Deployment:app/web on 8080/TCP")
            && why.contains("ingress allowed by NetworkPolicy:app/from-ingress")
            && !why.contains("egress allowed"),
        "{why}"
    );
    // The rule admits another namespace's pods only: not the controller's.
    let other = np(
        "app",
        "from-ingress",
        json!({"podSelector": {}, "ingress": [{
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}]}),
    );
    assert_eq!(
        routed(&fleet(port_number(80), &[deny("app", false), other])),
        None
    );
}

#[test]
fn only_the_service_port_the_ingress_routes_to_counts() {
    // Admitted on 9090 only: the Ingress sends to port 80 (→ 8080), denied.
    let metrics_only = [deny("app", false), from_controller(9090)];
    assert_eq!(routed(&fleet(port_number(80), &metrics_only)), None);
    // Routing to port 9090, by number or by the Service port's name, is admitted.
    assert!(routed(&fleet(port_number(9090), &metrics_only)).is_some());
    assert!(routed(&fleet(json!({"name": "metrics"}), &metrics_only)).is_some());
    assert_eq!(routed(&fleet(json!({"name": "http"}), &metrics_only)), None);
}

#[test]
fn the_controllers_egress_is_decided_by_its_own_namespace() {
    // Default-deny egress where the controller runs: it forwards nowhere.
    assert_eq!(
        routed(&fleet(port_number(80), &[deny(CONTROLLER_NS, true)])),
        None
    );
    let to_app = np(
        CONTROLLER_NS,
        "to-app",
        json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "app"}}}],
            "ports": [{"port": 8080}]}]}),
    );
    let why = routed(&fleet(
        port_number(80),
        &[deny(CONTROLLER_NS, true), to_app.clone()],
    ))
    .expect("egress to app on 8080 admitted");
    assert!(
        why.contains("egress allowed by NetworkPolicy:ingress-nginx/to-app")
            && !why.contains("ingress allowed"),
        "{why}"
    );
    // Admitted on 8080 only: routing to 9090 is denied.
    assert_eq!(
        routed(&fleet(
            port_number(9090),
            &[deny(CONTROLLER_NS, true), to_app]
        )),
        None
    );
}

#[test]
fn a_host_network_controller_is_not_decided_by_pod_policies() {
    let mut objects = fleet(port_number(80), &[deny("app", false)]);
    objects[2]["spec"]["template"]["spec"]["hostNetwork"] = json!(true);
    let why = routed(&objects).expect("kept: undecidable");
    assert!(
        why.contains("is not decidable") && why.contains("host network"),
        "{why}"
    );
}

#[test]
fn a_cloud_load_balancer_sends_from_outside_the_cluster() {
    // An ALB Ingress: the requests come from the load balancer, outside the cluster.
    let cloud = |class: &str, extra: &[Value], traffic: Option<&str>| {
        let mut objects = fleet(port_number(80), extra);
        objects[4] = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "app",
            "annotations": {"alb.ingress.kubernetes.io/scheme": "internet-facing"}},
            "spec": {"ingressClassName": class, "rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
              "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]},
            "status": lb_status("k8s-app-i-123.elb.amazonaws.com")});
        if let Some(traffic) = traffic {
            objects[5]["spec"]["type"] = json!("NodePort");
            objects[5]["spec"]["externalTrafficPolicy"] = json!(traffic);
        }
        routed(&objects)
    };
    let alb = |extra: &[Value], traffic: &str| cloud("alb", extra, Some(traffic));
    assert_eq!(
        alb(&[], "Local").as_deref(),
        Some("rule backend Service app/web")
    );
    assert_eq!(alb(&[deny("app", false)], "Local"), None);
    // Through the nodes with externalTrafficPolicy Cluster: the node's address may be the
    // source, which policies never block.
    let why = alb(&[deny("app", false)], "Cluster").expect("kept");
    assert!(why.contains("externalTrafficPolicy Cluster"), "{why}");
    // The controller's namespace is not the sender here: admitting it admits nothing.
    assert_eq!(
        alb(&[deny("app", false), from_controller(8080)], "Local"),
        None
    );
    // A ClusterIP backend is reached directly (ALB `ip` targets, GKE NEGs): decided.
    assert_eq!(cloud("alb", &[deny("app", false)], None), None);
    assert_eq!(cloud("gce", &[deny("app", false)], None), None);
    let everyone = np(
        "app",
        "from-anywhere",
        json!({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}]}]}),
    );
    let why = cloud("alb", &[deny("app", false), everyone], None).expect("admitted");
    assert!(
        why.contains("allowed by NetworkPolicy:app/from-anywhere"),
        "{why}"
    );
    // AKS application routing runs NGINX in the cluster: with its pods not in the input, the
    // senders are unknown and the route is kept.
    assert_eq!(
        cloud(
            "webapprouting.kubernetes.azure.com",
            &[deny("app", false)],
            None
        )
        .as_deref(),
        Some("rule backend Service app/web")
    );
}

/// Gateway `app/public` (class istio, routes from its namespace) implemented by the
/// internet-facing LoadBalancer `public-istio` in front of its proxy pods.
fn public_gateway() -> Vec<Value> {
    vec![
        namespace("app"),
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "public", "namespace": "app"},
            "spec": {"gatewayClassName": "istio", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "public-istio", "namespace": "app",
            "labels": {"gateway.networking.k8s.io/gateway-name": "public"}},
            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "selector": {"gateway.networking.k8s.io/gateway-name": "public"}, "ports": [{"port": 80}]},
            "status": lb_status("203.0.113.30")}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "public-istio", "namespace": "app"},
            "spec": {"template": {"metadata": {"labels": {"gateway.networking.k8s.io/gateway-name": "public"}},
              "spec": {"containers": [{"name": "istio-proxy", "image": "istio/proxyv2:1.24.0"}]}}}}),
    ]
}

#[test]
fn a_gateways_routes_reach_backends_its_proxies_may_connect_to() {
    let objects = |extra: &[Value]| {
        let mut o = public_gateway();
        o.extend([
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "web", "namespace": "app"},
                "spec": {"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [{"name": "web", "port": 80}]}]}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "app"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "app"},
                "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}),
        ]);
        o.extend_from_slice(extra);
        graph(&o)
    };
    let routes = |g: &AttackGraph| {
        has(
            g,
            "Gateway:app/public",
            "Service:app/web",
            Technique::INTERNET_TO_GATEWAY,
        )
    };
    // The gateway pods' own ingress from the internet stays open.
    let web_only = np(
        "app",
        "deny",
        json!({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]}),
    );
    assert!(routes(&objects(&[])));
    let denied = objects(std::slice::from_ref(&web_only));
    assert!(has(
        &denied,
        "Internet",
        "Gateway:app/public",
        Technique::INTERNET_TO_GATEWAY
    ));
    assert!(!routes(&denied));
    let from_gateway = np(
        "app",
        "from-gateway",
        json!({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{
            "from": [{"podSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "public"}}}]}]}),
    );
    assert!(routes(&objects(&[web_only.clone(), from_gateway])));
    // A second LoadBalancer implements the Gateway (an IPv6 or UDP twin) with pods of its own:
    // its pods send too, whichever Service the evidence names.
    let twin = [
        web_only.clone(),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "public-istio-v6", "namespace": "app",
            "labels": {"gateway.networking.k8s.io/gateway-name": "public"}},
            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "selector": {"twin": "v6"}, "ports": [{"port": 80}]},
            "status": lb_status("2001:db8::30")}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "public-istio-v6", "namespace": "app"},
            "spec": {"template": {"metadata": {"labels": {"twin": "v6"}},
              "spec": {"containers": [{"name": "istio-proxy", "image": "istio/proxyv2:1.24.0"}]}}}}),
        np(
            "app",
            "from-twin",
            json!({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"twin": "v6"}}}]}]}),
        ),
    ];
    assert!(routes(&objects(&twin)));
    assert!(
        !routes(&objects(&twin[..3])),
        "without the rule admitting the twin"
    );
}

#[test]
fn a_route_to_another_namespaces_backend_is_kept_unchecked() {
    // A backend in another namespace (under a ReferenceGrant) is not in a namespace part's
    // input: kept, and said to be unchecked.
    let mut objects = public_gateway();
    objects.extend([
        namespace("shop"),
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "web", "namespace": "app"},
            "spec": {"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [{"name": "shop", "namespace": "shop", "port": 80}]}]}}),
        json!({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant", "metadata": {"name": "g", "namespace": "shop"},
            "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "app"}], "to": [{"group": "", "kind": "Service"}]}}),
        np(
            "shop",
            "deny",
            json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
        ),
    ]);
    let g = graph(&objects);
    let (a, b) = (
        g.find(Some("c"), "Gateway:app/public").expect("gateway"),
        g.find(Some("c"), "Service:shop/shop").expect("service"),
    );
    let why = g
        .graph
        .edges_connecting(a, b)
        .map(|e| e.weight().evidence.clone())
        .next()
        .expect("kept");
    assert!(
        why.ends_with("; not checked against network policies: the Service is in another namespace than the route"),
        "{why}"
    );
}

#[test]
fn a_cilium_deny_rule_without_default_deny_closes_a_load_balancer() {
    let lb = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "app"},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        "status": lb_status("203.0.113.10")});
    let web = pod(
        "web",
        json!({"containers": [{"name": "c", "image": "x:1"}]}),
    );
    let deny_world = |entity: &str| {
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "no-world", "namespace": "app"},
            "spec": {"endpointSelector": {"matchLabels": {"app": "web"}}, "enableDefaultDeny": {"ingress": false},
              "ingressDeny": [{"fromEntities": [entity]}]}})
    };
    let exposed = |extra: Value| {
        has(
            &graph(&[lb.clone(), web.clone(), extra]),
            "Internet",
            "Service:app/web",
            Technique::INTERNET_TO_LB,
        )
    };
    assert!(!exposed(deny_world("world")));
    assert!(exposed(deny_world("cluster")));
}
