//! NETWORK_REACH on the graph: a foothold reaches another workload's ports where the policies
//! let it, and an attack path exists only then; the internet reaches a load balancer's pods only
//! where their ingress admits outside clients.

use super::super::paths::techniques;
use super::super::{AttackGraph, NodeKind, Technique};
use super::Drawing;
use crate::parse::{parse_text, Syntax};
use crate::snapshot::{ClusterSnapshot, Snapshot};

/// Namespace `app` with a workload that can do nothing; namespace `ops` with one whose
/// ServiceAccount is cluster-admin and that listens on 8080.
const BASE: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      containers: [{name: web, image: "web:1"}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: ops}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: deployer-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: deployer, namespace: ops}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cluster-admin}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: deployer, namespace: ops}
spec:
  selector: {matchLabels: {app: deployer}}
  template:
    metadata: {labels: {app: deployer}}
    spec:
      serviceAccountName: deployer
      containers: [{name: api, image: "deployer:1", ports: [{name: http, containerPort: 8080}]}]
"#;

fn graph(extra: &str) -> AttackGraph {
    let text = format!("{BASE}\n---\n{extra}");
    let out = parse_text(&text, "g.yaml", Syntax::Yaml);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let mut c = ClusterSnapshot {
        objects: out.objects,
        ..Default::default()
    };
    c.info.name = "c".into();
    AttackGraph::build(&Snapshot {
        clusters: vec![c],
        ..Default::default()
    })
}

/// The reported path from the segment of `app/web` to cluster admin that crosses the network.
fn lateral(g: &AttackGraph) -> Option<Vec<String>> {
    g.index()
        .attack_paths()
        .into_iter()
        .flat_map(|p| p.with_folded())
        .find(|p| {
            p.target == "ClusterAdmin"
                && p.source.starts_with("Network:")
                && techniques(p).contains(&"NETWORK_REACH")
        })
        .map(|p| p.nodes)
}

fn np(ns: &str, name: &str, spec: &str) -> String {
    format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {spec}\n---\n")
}

#[test]
fn without_policies_every_foothold_reaches_the_admin_workload() {
    let g = graph("");
    let nodes = lateral(&g).expect("a lateral path");
    assert_eq!(
        nodes,
        [
            "Network:*",
            "Ports:(no ingress policy)",
            "Ports:*",
            "Endpoint:Deployment:ops/deployer",
            "Deployment:ops/deployer",
            "Container:ops/deployer/api",
            "ServiceAccount:ops/deployer",
            "ClusterAdmin"
        ]
    );
    // The workload's own way is its segment's: not reported twice.
    let paths = g.index().attack_paths();
    assert!(!paths
        .iter()
        .any(|p| p.source == "Deployment:app/web" && p.target == "ClusterAdmin"));
    // ...but the workload still reaches it (queries and blast radius).
    let web = g.find(Some("c"), "Deployment:app/web").expect("web");
    let admin = g.find(Some("c"), "ClusterAdmin").expect("admin");
    assert!(g.shortest_path(web, admin, 20).is_some());
    assert!(g
        .index()
        .blast_radius("c", web)
        .reaches
        .contains_key("ClusterAdmin"));
}

#[test]
fn a_default_deny_in_the_target_namespace_cuts_the_path() {
    let deny = np("ops", "deny", "{podSelector: {}, policyTypes: [Ingress]}");
    let g = graph(&deny);
    assert_eq!(lateral(&g), None);
    let web = g.find(Some("c"), "Deployment:app/web").expect("web");
    assert!(!g
        .index()
        .blast_radius("c", web)
        .reaches
        .contains_key("ClusterAdmin"));
    // An allow rule for app's pods on the listening port re-opens it, through a link.
    let allow = np(
        "ops",
        "from-app",
        "{podSelector: {matchLabels: {app: deployer}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: app}}}], ports: [{port: http}]}]}",
    );
    let g = graph(&format!("{deny}{allow}"));
    let nodes = lateral(&g).expect("allowed again");
    assert!(
        nodes.contains(&"Ports:ops{app=deployer}".to_string()),
        "{nodes:?}"
    );
    // On another port only: no path.
    let other = np(
        "ops",
        "from-app",
        "{podSelector: {matchLabels: {app: deployer}}, ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 9090}]}]}",
    );
    assert_eq!(lateral(&graph(&format!("{deny}{other}"))), None);
}

#[test]
fn a_default_deny_egress_at_the_source_cuts_the_path_too() {
    let deny = np("app", "deny", "{podSelector: {}, policyTypes: [Egress]}");
    assert_eq!(lateral(&graph(&deny)), None);
    // Egress allowed to port 8080 anywhere: reach again.
    let allow = np(
        "app",
        "out",
        "{podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: 8080}]}]}",
    );
    assert!(lateral(&graph(&allow)).is_some());
}

#[test]
fn a_workload_with_no_known_listening_port_is_no_destination() {
    // web declares no port and no Service sends to it: nothing reaches its Endpoint by network.
    let g = graph("");
    let endpoint = g
        .find(Some("c"), "Endpoint:Deployment:app/web")
        .expect("endpoint");
    assert!(!g
        .graph
        .edges_directed(endpoint, petgraph::Direction::Incoming)
        .any(|e| g.graph[petgraph::visit::EdgeRef::source(&e)]
            .reference
            .starts_with("Ports:")));
    // A Service's target port makes it one.
    let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: app}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8000}]}\n";
    let g = graph(svc);
    let ports = g.find(Some("c"), "Ports:*").expect("ports");
    let endpoint = g
        .find(Some("c"), "Endpoint:Deployment:app/web")
        .expect("endpoint");
    let e = g.graph.find_edge(ports, endpoint).expect("included");
    assert!(g.graph[e].evidence.contains("8000/TCP"));
}

#[test]
fn segments_are_entries_and_steps() {
    let g = graph("");
    let n = g.find(Some("c"), "Network:*").expect("segment");
    assert_eq!(g.graph[n].kind, NodeKind::Segment);
    assert!(g.graph[n].entry);
    let web = g.find(Some("c"), "Deployment:app/web").expect("web");
    let e = g.graph.find_edge(web, n).expect("member");
    assert_eq!(g.graph[e].technique, Technique::MEMBER_OF);
}

/// A public LoadBalancer in front of ops/deployer that keeps the client's address.
const LB: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: ops}\nspec: {type: LoadBalancer, externalTrafficPolicy: Local, selector: {app: deployer}, ports: [{port: 443, targetPort: http}]}\nstatus: {loadBalancer: {ingress: [{ip: 203.0.113.10}]}}\n---\n";

fn internet_edge(g: &AttackGraph) -> Option<String> {
    let i = g.find(None, "Internet")?;
    let s = g.find(Some("c"), "Service:ops/api")?;
    let e = g.graph.find_edge(i, s)?;
    Some(g.graph[e].evidence.clone())
}

#[test]
fn the_internet_reaches_a_load_balancer_only_where_ingress_admits_outside_clients() {
    assert!(internet_edge(&graph(LB)).is_some());
    let deny = np("ops", "deny", "{podSelector: {}, policyTypes: [Ingress]}");
    assert_eq!(internet_edge(&graph(&format!("{LB}{deny}"))), None);
    // Pod peers never match a client from outside.
    let pods_only = np(
        "ops",
        "pods",
        "{podSelector: {}, ingress: [{from: [{namespaceSelector: {}}]}]}",
    );
    assert_eq!(internet_edge(&graph(&format!("{LB}{pods_only}"))), None);
    // Every source on the target port: reachable, said in the evidence.
    let all = np(
        "ops",
        "public",
        "{podSelector: {}, ingress: [{ports: [{port: 8080}]}]}",
    );
    let ev = internet_edge(&graph(&format!("{LB}{deny}{all}"))).expect("admitted");
    assert!(ev.contains("allowed by NetworkPolicy:ops/public"), "{ev}");
    // On another port: not.
    let wrong = np(
        "ops",
        "public",
        "{podSelector: {}, ingress: [{ports: [{port: 9090}]}]}",
    );
    assert_eq!(internet_edge(&graph(&format!("{LB}{wrong}"))), None);
    // An ipBlock short of everything may or may not admit the client: kept, said.
    let block = np(
        "ops",
        "office",
        "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 198.51.100.0/24}}]}]}",
    );
    let ev = internet_edge(&graph(&format!("{LB}{block}"))).expect("undecided");
    assert!(ev.contains("not decidable"), "{ev}");
    let world = np(
        "ops",
        "world",
        "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}, {ipBlock: {cidr: \"::/0\"}}]}]}",
    );
    let ev = internet_edge(&graph(&format!("{LB}{world}"))).expect("admitted");
    assert!(ev.contains("allowed by NetworkPolicy:ops/world"), "{ev}");
    // With externalTrafficPolicy Cluster the client may arrive from the pod's own node, which
    // no policy blocks: kept, and said.
    let cluster_policy = LB.replace("externalTrafficPolicy: Local, ", "");
    let ev = internet_edge(&graph(&format!("{cluster_policy}{deny}"))).expect("undecided");
    assert!(ev.contains("externalTrafficPolicy Cluster"), "{ev}");
}

/// Two segments that reach the same workload the same way: the lower-ranked path is folded
/// into the other with its own first hop, and unfolds into the path the query gives.
#[test]
fn a_path_from_another_segment_is_folded_with_its_first_hop() {
    let api = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: app}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec: {automountServiceAccountToken: false, containers: [{name: api, image: \"api:1\"}]}\n---\n";
    // A policy reading the app label splits namespace app into two segments.
    let split = np(
        "app",
        "web-only",
        "{podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}",
    );
    let g = graph(&format!("{api}{split}"));
    let paths = g.index().attack_paths();
    let container = paths
        .iter()
        .find(|p| p.target == "ClusterAdmin" && p.folded.iter().any(|f| f.via.is_some()))
        .expect("a path with a sibling");
    assert!(
        container.source.starts_with("Network:app{app="),
        "{}",
        container.source
    );
    for p in container.unfold() {
        assert_eq!(p.nodes.len(), p.steps.len() + 1, "{p:?}");
        assert_eq!(p.nodes[0], p.source);
        for (k, st) in p.steps.iter().enumerate() {
            assert_eq!(st.from, p.nodes[k]);
            assert_eq!(st.to, p.nodes[k + 1]);
        }
        let from = g.find(Some("c"), &p.source).expect("source");
        let admin = g.find(Some("c"), "ClusterAdmin").expect("admin");
        let asked = g.shortest_path(from, admin, 20).expect("reachable");
        assert_eq!(asked.len(), p.steps.len());
    }
}

// ---- Drawn piece by piece -------------------------------------------------------------------

/// The nodes (with kind and entry mark) and edges (with evidence) of a graph, as sets.
type Drawn = (
    std::collections::BTreeSet<(String, String, bool)>,
    std::collections::BTreeSet<(String, String, String, String)>,
);

fn drawn(g: &AttackGraph) -> Drawn {
    use petgraph::visit::EdgeRef;
    let nodes = g
        .graph
        .node_weights()
        .map(|w| (w.reference.clone(), format!("{:?}", w.kind), w.entry))
        .collect();
    let edges = g
        .graph
        .edge_references()
        .map(|e| {
            (
                g.graph[e.source()].reference.clone(),
                g.graph[e.target()].reference.clone(),
                e.weight().technique.id().to_string(),
                e.weight().evidence.clone(),
            )
        })
        .collect();
    (nodes, edges)
}

/// The network reach of the netpol tests' cluster (shop/web, shop/db, ops/tool) with `extra`.
fn reach_of(extra: &str) -> Drawing {
    let c = crate::netpol::tests::cluster(extra);
    let inv = crate::inventory::Inventory::new(&c);
    let model = crate::netpol::Model::of(&inv);
    let members = crate::netpol::tests::members(&inv);
    Drawing::of(
        &model,
        &members
            .into_iter()
            .map(std::sync::Arc::new)
            .collect::<Vec<_>>(),
    )
}

/// Replacing one reach's pieces with another's in a joined graph gives exactly the graph the
/// other draws whole — whatever changed: a workload added to a shared segment, one that listens
/// (its segment's ports appear), a workload gone, policies that split segments, rename them or
/// isolate them, everything gone.
#[test]
fn redrawing_piece_by_piece_is_drawing_whole() {
    let deployment = |ns: &str, name: &str, labels: &str, ports: &str| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {labels}}}\n  template:\n    metadata: {{labels: {labels}}}\n    spec: {{containers: [{{name: c, image: \"x:1\"{ports}}}]}}\n---\n")
    };
    let listening = ", ports: [{containerPort: 8080}]";
    let drawings = [
        Drawing::default(),
        reach_of(""),
        reach_of(&deployment("ops", "debug", "{app: debug}", "")),
        reach_of(&deployment("ops", "api", "{app: web}", listening)),
        reach_of(&(deployment("ops", "api", "{app: web}", listening)
            + &deployment("shop", "cache", "{app: cache}", listening))),
        reach_of(&np("shop", "deny", "{podSelector: {}, policyTypes: [Ingress, Egress]}")),
        reach_of(
            &(np("shop", "db", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: pg}]}]}")
                + &deployment("shop", "cache", "{app: cache}", listening)),
        ),
        reach_of(&np("ops", "out", "{podSelector: {}, policyTypes: [Egress]}")),
    ];
    let whole = |d: &Drawing| {
        let mut g = AttackGraph::default();
        d.draw(&mut g, "c");
        drawn(&g)
    };
    assert!(!whole(&drawings[1]).1.is_empty());
    for (i, a) in drawings.iter().enumerate() {
        for (j, b) in drawings.iter().enumerate() {
            let mut joined = crate::graph::joined::Joined::default();
            joined.redraw(&Drawing::default(), a, "c");
            assert_eq!(
                drawn(joined.graph()),
                whole(a),
                "drawing {i} piece by piece"
            );
            joined.redraw(a, b, "c");
            assert_eq!(
                drawn(joined.graph()),
                whole(b),
                "drawing {i} redrawn as {j}"
            );
        }
    }
    // A workload added to a segment changes its own piece alone.
    let (out, into) = drawings[1].changes(&drawings[2], "c");
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(into.len(), 1);
    assert_eq!(into[0].graph.edge_count(), 1);
    // A destination closed to one source takes out that one link: the source's head and its
    // other links stay.
    let db = |from: &str| {
        np(
            "shop",
            "db",
            &format!(
                "{{podSelector: {{matchLabels: {{app: db}}}}, ingress: [{{from: [{from}]}}]}}"
            ),
        )
    };
    let (open, closed) = (
        reach_of(&db("{namespaceSelector: {}}")),
        reach_of(&db("{podSelector: {}}")),
    );
    let (out, into) = open.changes(&closed, "c");
    assert!(into.is_empty(), "{into:?}");
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(drawn(&out[0]).1.len(), 1);
    assert!(format!("{:?}", drawn(&out[0])).contains("Network:*{app=web}"));
    // The same reach changes nothing.
    let (out, into) = drawings[3].changes(
        &reach_of(&deployment("ops", "api", "{app: web}", listening)),
        "c",
    );
    assert!(out.is_empty() && into.is_empty());
}
