//! The solver and the plan on small graphs whose best answer is known.

use super::*;
use crate::graph::remedy::apply_patch;
use crate::graph::NodeKind;
use serde_json::json;

fn remedy(name: &str, cost: u32, unfixable: bool) -> Remedy {
    Remedy {
        target: Target {
            cluster: "c".into(),
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("ns".into()),
            name: name.into(),
        },
        change: format!("change {name}"),
        fields: vec![format!("data.{name}")],
        ops: vec![json!({"op": "remove", "path": format!("/data/{name}")})],
        delete: false,
        cost,
        unfixable: unfixable.then(|| "owned by the provider".to_string()),
        loses: vec![format!("{name} goes")],
        binding_subjects: None,
        cli: None,
        compose: None,
    }
}

/// Workloads W1, W2 (entries) → ServiceAccount SA → ClusterAdmin, each hop with its remedy.
fn two_ways(sa_cost: u32) -> AttackGraph {
    let mut g = AttackGraph::default();
    let admin = g.node(Some("c"), "ClusterAdmin", NodeKind::ClusterAdmin);
    let sa = g.node(Some("c"), "ServiceAccount:ns/sa", NodeKind::ServiceAccount);
    for w in ["W1", "W2"] {
        let wi = g.node(Some("c"), &format!("Deployment:ns/{w}"), NodeKind::Workload);
        g.mark_entry(wi);
        g.edge_fixed(
            wi,
            sa,
            Technique::CONTAINER_HAS_SA_TOKEN,
            "token",
            vec![remedy(w, 2, false)],
        );
    }
    g.edge_fixed(
        sa,
        admin,
        Technique::ADMIN_EQUIVALENT,
        "bound to cluster-admin",
        vec![remedy("binding", sa_cost, false)],
    );
    g
}

fn plan_of(g: &AttackGraph, options: PlanOptions) -> FixPlan {
    let paths = g.index().attack_paths();
    plan(g, &paths, &[], options)
}

fn changed(p: &FixPlan) -> BTreeSet<String> {
    p.fixes.iter().map(|f| f.object.name.clone()).collect()
}

#[test]
fn the_shared_hop_is_cut_when_it_is_cheaper() {
    let p = plan_of(&two_ways(3), PlanOptions::default());
    assert_eq!(p.paths, 2);
    assert_eq!(p.paths_cut, 2);
    assert_eq!(changed(&p), BTreeSet::from(["binding".to_string()]));
    assert_eq!((p.cost, p.lower_bound, p.method.as_str()), (3, 3, "exact"));
    assert_eq!(p.fixes[0].breaks.len(), 2);
    assert!(p.remaining.is_empty());
}

#[test]
fn the_separate_hops_are_cut_when_together_they_are_cheaper() {
    let p = plan_of(&two_ways(5), PlanOptions::default());
    assert_eq!(
        changed(&p),
        BTreeSet::from(["W1".to_string(), "W2".to_string()])
    );
    assert_eq!(p.cost, 4);
    assert!(p.fixes.iter().all(|f| f.breaks.len() == 1));
}

#[test]
fn a_hop_no_one_can_change_is_left_with_its_reason() {
    let mut g = AttackGraph::default();
    let admin = g.node(Some("c"), "ClusterAdmin", NodeKind::ClusterAdmin);
    let sa = g.node(Some("c"), "ServiceAccount:ns/sa", NodeKind::ServiceAccount);
    let w = g.node(Some("c"), "Deployment:ns/w", NodeKind::Workload);
    g.mark_entry(w);
    g.edge_fixed(
        w,
        sa,
        Technique::CONTAINER_HAS_SA_TOKEN,
        "token",
        vec![remedy("managed", 1, true)],
    );
    g.edge(sa, admin, Technique::ADMIN_EQUIVALENT, "a fact");
    let p = plan_of(&g, PlanOptions::default());
    assert!(p.fixes.is_empty());
    assert_eq!(p.remaining.len(), 1);
    assert!(p.remaining[0].reason.contains("owned by the provider"));
    assert_eq!(p.clusters["c"].remaining, 1);
    // An edge that arose two ways, one of them unchangeable, is unchangeable.
    let mut g = two_ways(1);
    let sa = g.find(Some("c"), "ServiceAccount:ns/sa").expect("present");
    let admin = g.find(Some("c"), "ClusterAdmin").expect("present");
    g.edge(
        sa,
        admin,
        Technique::ADMIN_EQUIVALENT,
        "also granted by a default",
    );
    let p = plan_of(&g, PlanOptions::default());
    assert_eq!(
        changed(&p),
        BTreeSet::from(["W1".to_string(), "W2".to_string()])
    );
}

#[test]
fn an_edge_that_arose_two_ways_needs_both_undone() {
    let mut g = two_ways(1);
    let sa = g.find(Some("c"), "ServiceAccount:ns/sa").expect("present");
    let admin = g.find(Some("c"), "ClusterAdmin").expect("present");
    g.edge_fixed(
        sa,
        admin,
        Technique::ADMIN_EQUIVALENT,
        "bound again",
        vec![remedy("binding2", 1, false)],
    );
    let p = plan_of(&g, PlanOptions::default());
    assert_eq!(
        changed(&p),
        BTreeSet::from(["binding".to_string(), "binding2".to_string()])
    );
    assert_eq!(p.cost, 2);
}

#[test]
fn a_longer_way_found_after_the_cut_is_cut_too() {
    // W → SA → admin (reported), and W → X → SA2 → admin, found only once the first is cut.
    let mut g = two_ways(1);
    let w = g.find(Some("c"), "Deployment:ns/W1").expect("present");
    let admin = g.find(Some("c"), "ClusterAdmin").expect("present");
    let x = g.node(Some("c"), "ServiceAccount:ns/x", NodeKind::ServiceAccount);
    let sa2 = g.node(Some("c"), "ServiceAccount:ns/sa2", NodeKind::ServiceAccount);
    g.edge_fixed(
        w,
        x,
        Technique::CONTAINER_HAS_SA_TOKEN,
        "token",
        vec![remedy("x", 2, false)],
    );
    g.edge(x, sa2, Technique::IMPERSONATE, "impersonates");
    g.edge_fixed(
        sa2,
        admin,
        Technique::ADMIN_EQUIVALENT,
        "bound",
        vec![remedy("binding-sa2", 1, false)],
    );
    let p = plan_of(&g, PlanOptions::default());
    assert!(p.rounds >= 2, "{p:?}");
    assert!(p.remaining.is_empty(), "{:?}", p.remaining);
    assert_eq!(
        changed(&p),
        BTreeSet::from(["binding".to_string(), "binding-sa2".to_string()])
    );
    // Proven: without the plan's edges, nothing reaches the sink.
    let chosen: BTreeSet<u32> = (0..g.remedies().len() as u32)
        .filter(|i| changed(&p).contains(&g.remedies()[*i as usize].target.name))
        .collect();
    let rest = g.without(&removed_edges(&g, &chosen));
    assert!(rest.index().attack_paths().is_empty());
}

#[test]
fn a_budget_takes_the_fix_that_cuts_most() {
    let p = plan_of(
        &two_ways(3),
        PlanOptions {
            severity: Severity::High,
            budget: Some(1),
        },
    );
    assert_eq!(changed(&p), BTreeSet::from(["binding".to_string()]));
    assert_eq!(p.method, "budget");
    let mut g = two_ways(3);
    // A third workload with its own way: one fix cannot cut all.
    let admin = g.find(Some("c"), "ClusterAdmin").expect("present");
    let w3 = g.node(Some("c"), "Deployment:ns/W3", NodeKind::Workload);
    g.mark_entry(w3);
    g.edge_fixed(
        w3,
        admin,
        Technique::ADMIN_EQUIVALENT,
        "direct",
        vec![remedy("W3", 1, false)],
    );
    let p = plan_of(
        &g,
        PlanOptions {
            severity: Severity::High,
            budget: Some(1),
        },
    );
    assert_eq!(changed(&p), BTreeSet::from(["binding".to_string()]));
    assert_eq!(p.remaining.len(), 1);
    assert!(p.remaining[0].reason.contains("budget"));
}

#[test]
fn below_the_severity_nothing_is_planned() {
    let p = plan_of(
        &two_ways(3),
        PlanOptions {
            severity: Severity::Critical,
            budget: None,
        },
    );
    assert_eq!((p.paths, p.fixes.len()), (0, 0));
}

/// Constraints over remedies 0..n: path i is cut by any of its options.
fn instance(options: &[&[&[u32]]]) -> Vec<Constraint> {
    options
        .iter()
        .enumerate()
        .map(|(i, o)| Constraint {
            id: format!("p{i}"),
            options: o.iter().map(|x| x.to_vec()).collect(),
            edges: Vec::new(),
        })
        .collect()
}

#[test]
fn greedy_is_bounded_and_exact_is_optimal() {
    // The classic trap for greedy: one big cheap-looking set vs two exact halves.
    let c = instance(&[
        &[&[0], &[1]],
        &[&[0], &[1]],
        &[&[0], &[2]],
        &[&[0], &[2]],
        &[&[3], &[1]],
        &[&[3], &[2]],
    ]);
    let cost = |r: u32| [3, 2, 2, 3][r as usize];
    let (exact, method, bound) = solve(&c, &cost);
    assert_eq!(method, "exact");
    assert_eq!(exact, BTreeSet::from([1, 2]));
    assert_eq!(bound, 4);
    let (greedy, method, lower) = solve_within(&c, &cost, 1);
    assert_eq!(method, "greedy");
    assert!(c.iter().all(|x| covered(x, &greedy)));
    let greedy_cost: u32 = greedy.iter().map(|r| cost(*r)).sum();
    assert!(
        lower <= 4 && 4 <= greedy_cost,
        "{lower} ≤ 4 ≤ {greedy_cost}"
    );
}

#[test]
fn merged_patches_apply_in_one_go() {
    let mut binding = json!({"subjects": [
        {"kind": "User", "name": "a"}, {"kind": "User", "name": "b"}, {"kind": "User", "name": "c"}
    ]});
    let r = |p: usize, n: &str| Remedy {
        ops: vec![
            json!({"op": "test", "path": format!("/subjects/{p}/name"), "value": n}),
            json!({"op": "remove", "path": format!("/subjects/{p}")}),
        ],
        ..remedy(n, 1, false)
    };
    let (a, c) = (r(0, "a"), r(2, "c"));
    let ops = merged_patch(&[&a, &c]);
    apply_patch(&mut binding, &ops).expect("present");
    assert_eq!(
        binding,
        json!({"subjects": [{"kind": "User", "name": "b"}]})
    );
    // A stale position fails its test instead of removing someone else.
    assert!(apply_patch(&mut binding, &a.ops).is_err());
    let target = &a.target;
    let cmd = command(target, &[&a]);
    assert!(cmd.starts_with("kubectl --context c -n ns patch configmap a --type json -p '"));
    let quoted = Target {
        name: "it's".into(),
        ..target.clone()
    };
    assert!(command(&quoted, &[&a]).contains(r"'it'\''s'"));
}
