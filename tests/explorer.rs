//! The explorer's graph data (`graph::explore`) holds the same answers as the query module the
//! CLI, gRPC and the live view ask: walking its route tables from any node gives the route
//! `kspm query paths` returns first (and the report lists), its edges give what
//! `kspm query reach` reaches, and its nodes and edges are the graph's, each once. The browser
//! test (web/tests/browser.mjs) holds the page's own walk and search to `kspm query`'s output.

use kspm_engine::evaluate::evaluate_with_graph;
use kspm_engine::graph::explore::{Explorer, RouteTable, STEP, TERMINAL};
use kspm_engine::graph::query::{PathQuery, Query};
use kspm_engine::graph::AttackGraph;
use kspm_engine::ScanOptions;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};

fn graph_of(dir: &Path) -> (kspm_engine::Report, AttackGraph) {
    let snapshot = kspm_collectors::files::load(&[dir.to_path_buf()]);
    evaluate_with_graph(&snapshot, &ScanOptions::default())
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo-fleet")
}

/// The node references of the way from `from` in one route table, as paths print them (nodes of
/// another cluster than `cluster` qualified as `[c] reference`); `None` when it reaches nothing.
fn walk(x: &Explorer, t: &RouteTable, from: u32, cluster: &str) -> Option<Vec<String>> {
    let first = |table: &[i64]| -> HashMap<u32, i64> {
        table.chunks(2).map(|p| (p[0] as u32, p[1])).collect()
    };
    let full = first(&t.full);
    let direct = t.direct.as_deref().map(first);
    // The way that does not cross the network, when there is one (and it is not empty).
    let table = match &direct {
        Some(d) if d.get(&from).is_some_and(|e| *e >= 0) => d,
        _ => &full,
    };
    table.get(&from)?;
    let name = |n: u32| {
        let (r, c) = x.node(n).unwrap_or(("?", None));
        match c {
            Some(c) if c != cluster => format!("[{c}] {r}"),
            _ => r.to_string(),
        }
    };
    let mut out = vec![name(from)];
    let mut cur = from;
    while let Some(e) = table.get(&cur).copied().filter(|e| *e >= 0) {
        cur = x.edges[e as usize * 4 + 1];
        out.push(name(cur));
        assert!(out.len() < 200, "a route table loops");
    }
    Some(out)
}

fn node_cluster(x: &Explorer, n: u32) -> Option<&str> {
    x.node(n).and_then(|(_, c)| c)
}

/// Every entry's walked route to every sink class equals the first path `Query::paths` gives for
/// the same question, node for node and in score.
fn routes_are_the_query_modules(graph: &AttackGraph) -> usize {
    let x = Explorer::of(graph);
    let q = Query::new(graph);
    let mut compared = 0;
    for t in &x.routes {
        for (n, (reference, _, _, flags)) in x.nodes.iter().enumerate() {
            if flags & kspm_engine::graph::explore::ENTRY == 0 {
                continue;
            }
            let n = n as u32;
            let home = node_cluster(&x, n);
            let (to, cluster) = if t.sink == "CloudAdmin" {
                (format!("CloudAdmin:{}", t.key), home)
            } else {
                (t.sink.to_string(), Some(t.key.as_str()))
            };
            // A node of another cluster than the sink's is asked for as the paths print it.
            let from = match home {
                Some(c) if Some(c) != cluster => format!("[{c}] {reference}"),
                _ => reference.clone(),
            };
            let asked = q.paths(&PathQuery {
                from: &from,
                to: &to,
                cluster,
                max_hops: 1000,
                limit: 1,
            });
            let first = asked.ok().and_then(|p| p.into_iter().next());
            let path_cluster = first
                .as_ref()
                .map(|p| p.cluster.clone())
                .unwrap_or_default();
            let walked = walk(&x, t, n, &path_cluster).filter(|w| w.len() > 1);
            assert_eq!(
                walked,
                first.as_ref().map(|p| p.nodes.clone()),
                "{from} to {to} in {}",
                t.key
            );
            compared += usize::from(first.is_some());
        }
    }
    compared
}

/// What a breadth-first walk over the explorer's edges reaches from `from` (not past a terminal
/// sink, answers without the steps) equals `Query::reach`, with the same hop counts.
fn reach_is_the_query_modules(graph: &AttackGraph, every: usize) -> usize {
    let x = Explorer::of(graph);
    let q = Query::new(graph);
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); x.nodes.len()];
    for e in x.edges.chunks(4) {
        out[e[0] as usize].push(e[1]);
    }
    let mut compared = 0;
    for (n, (reference, _, _, _)) in x.nodes.iter().enumerate().step_by(every) {
        let n = n as u32;
        let cluster = node_cluster(&x, n);
        let Ok(reached) = q.reach(cluster, reference, 12) else {
            continue;
        };
        let expected: BTreeSet<(String, Option<String>, u32)> = reached
            .into_iter()
            .map(|r| (r.node, r.cluster, r.hops))
            .collect();
        let mut dist: HashMap<u32, u32> = HashMap::from([(n, 0)]);
        let mut queue = VecDeque::from([n]);
        let mut found = BTreeSet::new();
        while let Some(m) = queue.pop_front() {
            let d = dist[&m];
            let (r, c, _, flags) = &x.nodes[m as usize];
            if m != n && flags & STEP == 0 {
                let c = usize::try_from(*c).ok().map(|c| x.clusters[c].clone());
                found.insert((r.clone(), c, d));
            }
            if d >= 12 || (m != n && flags & TERMINAL != 0) {
                continue;
            }
            for t in &out[m as usize] {
                if !dist.contains_key(t) {
                    dist.insert(*t, d + 1);
                    queue.push_back(*t);
                }
            }
        }
        assert_eq!(found, expected, "reach from {reference}");
        compared += 1;
    }
    compared
}

/// Nodes and edges are the graph's: each node once, each edge once with its technique,
/// evidence and likelihood (its own, else its technique's).
fn holds_the_whole_graph(graph: &AttackGraph) {
    let x = Explorer::of(graph);
    assert_eq!(x.likelihoods.len(), x.techniques.len());
    let own: HashMap<u32, f64> = x.edge_likelihoods.iter().copied().collect();
    for (i, e) in graph.graph.edge_indices().enumerate() {
        let mine = own
            .get(&(i as u32))
            .copied()
            .unwrap_or(x.likelihoods[x.edges[i * 4 + 2] as usize]);
        assert_eq!(mine, graph.graph[e].likelihood(), "edge {i}");
    }
    assert_eq!(x.nodes.len(), graph.graph.node_count());
    assert_eq!(x.edges.len(), graph.graph.edge_count() * 4);
    let mine: BTreeSet<(String, String, String, String)> = x
        .edges
        .chunks(4)
        .map(|e| {
            let name = |n: u32| {
                let (r, c) = x.node(n).unwrap_or(("?", None));
                format!("{}|{r}", c.unwrap_or(""))
            };
            (
                name(e[0]),
                name(e[1]),
                x.techniques[e[2] as usize].clone(),
                x.texts[e[3] as usize].clone(),
            )
        })
        .collect();
    let theirs: BTreeSet<(String, String, String, String)> = graph
        .graph
        .edge_indices()
        .filter_map(|e| {
            let (s, t) = graph.graph.edge_endpoints(e)?;
            let name = |n: kspm_engine::graph::NodeIndex| {
                let w = &graph.graph[n];
                format!("{}|{}", w.cluster.as_deref().unwrap_or(""), w.reference)
            };
            let w = &graph.graph[e];
            Some((name(s), name(t), w.technique.id(), w.evidence.clone()))
        })
        .collect();
    assert_eq!(mine, theirs);
}

#[test]
fn demo_fleet_explorer_answers_as_the_query_module() {
    let (report, graph) = graph_of(&demo());
    holds_the_whole_graph(&graph);
    let compared = routes_are_the_query_modules(&graph);
    // Every reported path is one of the compared routes.
    assert!(
        compared >= report.attack_paths.len(),
        "{compared} < {}",
        report.attack_paths.len()
    );
    assert!(reach_is_the_query_modules(&graph, 1) > 500);
}

#[test]
fn generated_fleet_explorer_answers_as_the_query_module() {
    let tmp = tempfile::tempdir().expect("tempdir");
    kspm_fleetgen::generate(
        tmp.path(),
        kspm_fleetgen::Shape::realistic(2, 200, true),
        11,
    )
    .expect("generate");
    let (_, graph) = graph_of(tmp.path());
    holds_the_whole_graph(&graph);
    assert!(routes_are_the_query_modules(&graph) > 50);
    assert!(reach_is_the_query_modules(&graph, 7) > 100);
}

/// Two graphs of one explorer (two scan targets of the live view) stay apart, as the service
/// asks each target's graph alone: every node and edge of each, routes on their own edges.
#[test]
fn two_targets_stay_apart() {
    let (_, a) = graph_of(&demo());
    let tmp = tempfile::tempdir().expect("tempdir");
    kspm_fleetgen::generate(tmp.path(), kspm_fleetgen::Shape::realistic(1, 50, true), 3)
        .expect("generate");
    let (_, b) = graph_of(tmp.path());
    let first = Explorer::of(&a);
    let mut x = Explorer::of(&a);
    x.add(&b);
    assert_eq!(x.nodes.len(), a.graph.node_count() + b.graph.node_count());
    assert_eq!(
        x.edges.len(),
        (a.graph.edge_count() + b.graph.edge_count()) * 4
    );
    assert_eq!(
        x.nodes.iter().filter(|n| n.0 == "Internet").count(),
        2,
        "each target keeps its Internet"
    );
    assert_eq!(x.parts, vec![0, a.graph.node_count() as u32]);
    assert!(x.routes[..first.routes.len()].iter().all(|t| t.part == 0));
    // The second graph's routes walk its own edges, from its own nodes.
    for t in x.routes.iter().skip(first.routes.len()) {
        assert_eq!(t.part, 1);
        for p in t.full.chunks(2) {
            assert!(p[0] as usize >= a.graph.node_count());
            if p[1] >= 0 {
                assert!(p[1] as usize >= a.graph.edge_count());
                assert_eq!(x.edges[p[1] as usize * 4], p[0] as u32);
            }
        }
    }
}
