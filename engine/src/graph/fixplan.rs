//! The fix plan: the cheapest set of configuration changes that cuts every attack path at or
//! above a severity, proven by searching the graph again without what the changes remove.
//!
//! Each path is a set of edges; an edge goes when every change tied to it is made
//! ([`super::GraphEdge::remedies`]). Choosing changes so that every path loses an edge is a
//! weighted hitting set: solved exactly by branch and bound where the instance is small, else
//! greedily (best paths-per-cost first) with a computed lower bound on the optimum. Cutting the
//! reported route of a path can leave a longer one, so the plan is re-checked by a new path
//! search on the graph without the removed edges; routes found then join the constraints and
//! the plan is solved again, until the search finds nothing the owner can still cut. A plan
//! optimal for the routes found and cutting every route is optimal for all of them.

use super::paths::AttackPath;
use super::remedy::{combine, command, merged_patch, Remedy, Target};
use super::{AttackGraph, Technique};
use crate::finding::Finding;
use crate::severity::Severity;
use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// What the plan is asked for.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    /// Paths at or above this severity are to be cut.
    pub severity: Severity,
    /// At most this many fixes (objects changed), the most paths first; no budget when `None`.
    pub budget: Option<usize>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            severity: Severity::High,
            budget: None,
        }
    }
}

/// The plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixPlan {
    /// Paths at or above this severity are the plan's to cut.
    pub severity: Severity,
    /// `exact` (no cheaper set of changes cuts the same paths), `greedy` (see
    /// [`FixPlan::lower_bound`]) or `budget` (the most paths within the budget).
    pub method: String,
    /// Total cost of the fixes.
    pub cost: u32,
    /// No plan that cuts every path the owner can cut costs less than this.
    pub lower_bound: u32,
    /// Paths at or above the severity before the plan (folded ones counted).
    pub paths: usize,
    /// Of those, the paths the plan cuts.
    pub paths_cut: usize,
    /// Rounds of solving and searching again until no route was left to cut.
    pub rounds: usize,
    /// The changes, one fix per object, most paths first.
    pub fixes: Vec<Fix>,
    /// Paths at or above the severity that a new search still finds after the plan, and why.
    pub remaining: Vec<RemainingPath>,
    /// Per cluster (and per cloud account, project or subscription — `aws:…`, `gcp:…`,
    /// `azure:…` — for fixes to their documents): fixes, paths cut and paths remaining.
    pub clusters: BTreeMap<String, ClusterPlan>,
    /// For each path the plan cuts (by ID): the positions of its steps whose edges the plan
    /// removes — what a drawing of the path marks as cut.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cut_steps: BTreeMap<String, Vec<usize>>,
}

/// One fix: the changes to one object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fix {
    /// Stable ID (`FX-…`).
    pub id: String,
    /// The object.
    pub object: Target,
    /// The changes, in words.
    pub changes: Vec<String>,
    /// The fields changed or removed.
    pub fields: Vec<String>,
    /// One JSON Patch (RFC 6902) for all the changes, or empty when the object is deleted.
    pub patch: Vec<serde_json::Value>,
    /// Whether the fix deletes the object.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete: bool,
    /// The command that makes it.
    pub command: String,
    /// Its cost.
    pub cost: u32,
    /// IDs of the paths it cuts (alone or with other fixes of the plan).
    pub breaks: Vec<String>,
    /// Fingerprints of the findings it resolves: their evidence lies in what it changes.
    pub resolves: Vec<String>,
    /// What else the change takes away.
    pub loses: Vec<String>,
    /// Its changes (positions in [`AttackGraph::remedies`] of the graph it was planned in); not
    /// part of the JSON (empty in a plan read back), for [`cuts_alone`].
    #[serde(skip)]
    pub remedies: Vec<u32>,
}

/// What one fix does on its own (the plan's `breaks` counts a path a fix cuts together with
/// others, where the path has another way the other fixes cut).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Alone {
    /// IDs of the plan's paths it cuts by itself: no route at or above the plan's severity is
    /// left between their ends once its changes are made.
    pub paths: Vec<String>,
    /// Positions of the hops it removes on each of them.
    pub steps: BTreeMap<String, Vec<usize>>,
}

/// The most fixes [`cuts_alone`] searches again for (the plan's order: most paths first).
pub const MAX_ALONE: usize = 64;

/// What each fix of `plan` (made in `graph`, for `paths`) cuts on its own, proven as the plan
/// is: the graph searched again without the edges its changes remove. Conservative: an edge
/// that arose in several ways stays, at its likelihood, until every way is undone, so a path a
/// fix leaves only a weaker way along counts as staying. Fixes beyond [`MAX_ALONE`], and those
/// of a plan read back (no changes known), are left out.
pub fn cuts_alone(
    graph: &AttackGraph,
    paths: &[AttackPath],
    plan: &FixPlan,
) -> BTreeMap<String, Alone> {
    let initial = at_or_above(paths, plan.severity);
    let mut out = BTreeMap::new();
    for f in plan.fixes.iter().take(MAX_ALONE) {
        if f.remedies.is_empty() {
            continue;
        }
        let chosen: BTreeSet<u32> = f.remedies.iter().copied().collect();
        let cut = removed_edges(graph, &chosen);
        let left: HashSet<String> =
            at_or_above(&graph.without(&cut).index().attack_paths(), plan.severity)
                .into_iter()
                .map(|p| p.id)
                .collect();
        let mut alone = Alone::default();
        for p in &initial {
            if left.contains(&p.id) || !f.breaks.contains(&p.id) {
                continue;
            }
            alone.paths.push(p.id.clone());
            if let Some(at) = cut_positions(graph, p, &cut) {
                alone.steps.insert(p.id.clone(), at);
            }
        }
        alone.paths.sort();
        alone.paths.dedup();
        out.insert(f.id.clone(), alone);
    }
    out
}

/// A path the plan leaves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemainingPath {
    /// Path ID.
    pub id: String,
    /// Cluster.
    pub cluster: String,
    /// Entry point.
    pub source: String,
    /// Sink.
    pub target: String,
    /// Severity.
    pub severity: Severity,
    /// Why it stays.
    pub reason: String,
    /// Whether it reached the severity only once the plan cut the routes before it (a longer
    /// but likelier way between the same ends, or a pair below the severity until then).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub surfaced: bool,
}

/// A cluster's share of the plan.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClusterPlan {
    /// Fixes to the cluster's objects.
    pub fixes: usize,
    /// Its paths (at or above the severity) the plan cuts.
    pub paths_cut: usize,
    /// Its paths that remain.
    pub remaining: usize,
}

/// What the plan needs of a finding to tell whether a fix resolves it.
#[derive(Debug, Clone)]
pub struct FindingSite {
    /// Its fingerprint.
    pub fingerprint: String,
    /// Cluster.
    pub cluster: String,
    /// The object's kind, namespace and name.
    pub kind: String,
    /// Namespace.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Its evidence's field paths.
    pub fields: Vec<String>,
}

impl FindingSite {
    /// The site of a finding.
    pub fn of(f: &Finding) -> FindingSite {
        FindingSite {
            fingerprint: f.fingerprint.clone(),
            cluster: f.cluster.clone(),
            kind: f.object.kind.clone(),
            namespace: f.object.namespace.clone(),
            name: f.object.name.clone(),
            fields: f.evidence.iter().map(|e| e.path.clone()).collect(),
        }
    }
}

impl FixPlan {
    /// Several plans (of scans of different targets) as one: fixes and remaining paths side by
    /// side, counts added; greedy when any is.
    pub fn merge(plans: Vec<FixPlan>, options: PlanOptions) -> FixPlan {
        let mut out = FixPlan {
            cut_steps: BTreeMap::new(),
            severity: options.severity,
            method: match options.budget {
                Some(_) => "budget".to_string(),
                None => "exact".to_string(),
            },
            cost: 0,
            lower_bound: 0,
            paths: 0,
            paths_cut: 0,
            rounds: 0,
            fixes: Vec::new(),
            remaining: Vec::new(),
            clusters: BTreeMap::new(),
        };
        for p in plans {
            if p.method == "greedy" {
                out.method = p.method;
            }
            out.cost += p.cost;
            out.lower_bound += p.lower_bound;
            out.paths += p.paths;
            out.paths_cut += p.paths_cut;
            out.rounds = out.rounds.max(p.rounds);
            out.fixes.extend(p.fixes);
            out.cut_steps.extend(p.cut_steps);
            out.remaining.extend(p.remaining);
            for (c, x) in p.clusters {
                let e = out.clusters.entry(c).or_default();
                e.fixes += x.fixes;
                e.paths_cut += x.paths_cut;
                e.remaining += x.remaining;
            }
        }
        out
    }
}

/// Search steps of the exact solver before it settles for the greedy answer.
const EXACT_STEPS: usize = 200_000;
/// Rounds of solving and searching again.
const MAX_ROUNDS: usize = 12;

/// One path as the solver sees it.
struct Constraint {
    id: String,
    /// The change sets, one per edge the owner can remove; any one taken cuts the path.
    options: Vec<Vec<u32>>,
    /// The edges of the path.
    edges: Vec<EdgeIndex>,
}

/// Computes the fix plan for `paths` (a report's paths; folded ones are unfolded here) in the
/// graph they were searched in.
pub fn plan(
    graph: &AttackGraph,
    paths: &[AttackPath],
    findings: &[FindingSite],
    options: PlanOptions,
) -> FixPlan {
    // The changes numbered in the order of their keys, not in the graph's (the order its parts
    // were drawn in): between plans of equal cost, the same one is chosen however the graph was
    // built.
    let numbering = Numbering::of(graph.remedies());
    let table = numbering.table(graph.remedies());
    let cost = |r: u32| table[r as usize].cost;
    let mut constraints: Vec<Constraint> = Vec::new();
    let mut seen: HashSet<(String, Vec<EdgeIndex>)> = HashSet::new();
    let mut remaining: Vec<RemainingPath> = Vec::new();
    let mut add = |graph: &AttackGraph,
                   p: &AttackPath,
                   constraints: &mut Vec<Constraint>,
                   remaining: &mut Vec<RemainingPath>|
     -> bool {
        let Some(edges) = path_edges(graph, p) else {
            return false;
        };
        if !seen.insert((p.id.clone(), edges.clone())) {
            return false;
        }
        let mut options: Vec<Vec<u32>> = edges
            .iter()
            .filter_map(|e| graph.graph[*e].remedies.as_deref())
            .map(|r| numbering.of_graph(r))
            .filter(|r| r.iter().all(|i| table[*i as usize].unfixable.is_none()))
            .map(|mut r| {
                r.sort_unstable();
                r
            })
            .collect();
        options.sort();
        options.dedup();
        if options.is_empty() {
            remaining.push(RemainingPath {
                id: p.id.clone(),
                cluster: p.cluster.clone(),
                source: p.source.clone(),
                target: p.target.clone(),
                severity: p.severity,
                reason: unfixable_reason(graph, &edges),
                surfaced: false,
            });
            return false;
        }
        constraints.push(Constraint {
            id: p.id.clone(),
            options,
            edges,
        });
        true
    };
    let initial = at_or_above(paths, options.severity);
    let before = initial.len();
    for p in &initial {
        add(graph, p, &mut constraints, &mut remaining);
    }
    let mut chosen: BTreeSet<u32> = BTreeSet::new();
    let mut method = "exact".to_string();
    let mut lower_bound = 0;
    let mut rounds = 0;
    let mut after: Vec<AttackPath> = Vec::new();
    let mut cut_edges: HashSet<EdgeIndex> = HashSet::new();
    while rounds < MAX_ROUNDS {
        rounds += 1;
        let solved = match options.budget {
            Some(n) => (budgeted(&constraints, &table, n), "budget", 0),
            None => solve(&constraints, &cost),
        };
        chosen = solved.0;
        method = solved.1.to_string();
        lower_bound = solved.2;
        cut_edges = removed_edges(graph, &numbering.in_graph(&chosen));
        after = at_or_above(
            &graph.without(&cut_edges).index().attack_paths(),
            options.severity,
        );
        if options.budget.is_some() {
            break;
        }
        let mut grew = false;
        for p in &after {
            // The route in the masked graph is a route in the full one: same references.
            grew |= add(graph, p, &mut constraints, &mut remaining);
        }
        // A path with a route no change cuts stays whatever else is cut: the changes made
        // for its other routes are dropped and the rest solved again.
        let dead: HashSet<&str> = remaining.iter().map(|r| r.id.as_str()).collect();
        let before_len = constraints.len();
        constraints.retain(|c| !dead.contains(c.id.as_str()));
        grew |= constraints.len() != before_len;
        if !grew {
            break;
        }
    }
    if method == "exact" {
        lower_bound = chosen.iter().map(|r| cost(*r)).sum();
    }
    // What remains after the last plan: every route still found.
    let before_ids: BTreeSet<&str> = initial.iter().map(|p| p.id.as_str()).collect();
    let mut left: Vec<RemainingPath> = Vec::new();
    let mut left_ids: HashSet<String> = HashSet::new();
    for p in &after {
        if !left_ids.insert(p.id.clone()) {
            continue;
        }
        let reason = remaining
            .iter()
            .find(|r| r.id == p.id)
            .map(|r| r.reason.clone())
            .unwrap_or_else(|| match options.budget {
                Some(n) => format!("beyond the budget of {n} fix(es)"),
                None => "still reachable after the plan's rounds".to_string(),
            });
        left.push(RemainingPath {
            id: p.id.clone(),
            cluster: p.cluster.clone(),
            source: p.source.clone(),
            target: p.target.clone(),
            severity: p.severity,
            reason,
            surfaced: !before_ids.contains(p.id.as_str()),
        });
    }
    let paths_cut = before_ids
        .iter()
        .filter(|id| !left_ids.contains(**id))
        .count();
    // Fixes: the chosen changes grouped by object.
    let mut by_object: BTreeMap<Target, Vec<u32>> = BTreeMap::new();
    for r in &chosen {
        by_object
            .entry(table[*r as usize].target.clone())
            .or_default()
            .push(*r);
    }
    let mut fixes: Vec<Fix> = by_object
        .into_iter()
        .map(|(target, ids)| {
            let rs: Vec<&Remedy> = ids.iter().map(|i| table[*i as usize]).collect();
            // What is applied: whole-value rewrites chosen together made as one.
            let made = combine(&rs);
            let applied: Vec<&Remedy> = made.iter().collect();
            let own: HashSet<u32> = ids.iter().copied().collect();
            let mut breaks: Vec<String> = constraints
                .iter()
                .filter(|c| before_ids.contains(c.id.as_str()) && !left_ids.contains(&c.id))
                .filter(|c| {
                    c.edges.iter().any(|e| {
                        cut_edges.contains(e)
                            && graph.graph[*e].remedies.as_ref().is_some_and(|r| {
                                r.iter().any(|x| own.contains(&numbering.rank[*x as usize]))
                            })
                    })
                })
                .map(|c| c.id.clone())
                .collect();
            breaks.sort();
            breaks.dedup();
            let resolves = resolved_findings(findings, &target, &rs);
            Fix {
                id: fix_id(&target, &rs),
                changes: rs.iter().map(|r| r.change.clone()).collect(),
                fields: rs.iter().flat_map(|r| r.fields.clone()).collect(),
                patch: if applied.iter().any(|r| r.delete) {
                    Vec::new()
                } else {
                    merged_patch(&applied)
                },
                delete: applied.iter().any(|r| r.delete),
                command: command(&target, &applied),
                cost: rs.iter().map(|r| r.cost).sum(),
                breaks,
                resolves,
                loses: rs.iter().flat_map(|r| r.loses.clone()).collect(),
                remedies: numbering.in_graph(&ids).into_iter().collect(),
                object: target,
            }
        })
        .collect();
    fixes.sort_by(|a, b| {
        b.breaks
            .len()
            .cmp(&a.breaks.len())
            .then(a.cost.cmp(&b.cost))
            .then(a.id.cmp(&b.id))
    });
    let mut cut_steps: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for p in &initial {
        if left_ids.contains(&p.id) {
            continue;
        }
        if let Some(at) = cut_positions(graph, p, &cut_edges) {
            cut_steps.insert(p.id.clone(), at);
        }
    }
    let mut clusters: BTreeMap<String, ClusterPlan> = BTreeMap::new();
    for f in &fixes {
        clusters.entry(f.object.cluster.clone()).or_default().fixes += 1;
    }
    for p in &initial {
        let c = clusters.entry(p.cluster.clone()).or_default();
        if left_ids.contains(&p.id) {
            c.remaining += 1;
        } else {
            c.paths_cut += 1;
        }
    }
    // Routes found only by the re-search count where they remain.
    for p in &left {
        if !before_ids.contains(p.id.as_str()) {
            clusters.entry(p.cluster.clone()).or_default().remaining += 1;
        }
    }
    FixPlan {
        severity: options.severity,
        method,
        cost: fixes.iter().map(|f| f.cost).sum(),
        lower_bound,
        paths: before,
        paths_cut,
        rounds,
        fixes,
        remaining: left,
        clusters,
        cut_steps,
    }
}

/// The paths (folded ones unfolded) at or above `severity`: what a plan is made for.
fn at_or_above(paths: &[AttackPath], severity: Severity) -> Vec<AttackPath> {
    paths
        .iter()
        .flat_map(AttackPath::with_folded)
        .filter(|p| p.severity >= severity)
        .collect()
}

/// The positions of a path's hops among `cut`, when it has any.
fn cut_positions(
    graph: &AttackGraph,
    p: &AttackPath,
    cut: &HashSet<EdgeIndex>,
) -> Option<Vec<usize>> {
    let at: Vec<usize> = path_edges(graph, p)?
        .iter()
        .enumerate()
        .filter(|(_, e)| cut.contains(e))
        .map(|(i, _)| i)
        .collect();
    (!at.is_empty()).then_some(at)
}

/// The edges a path's steps take, found by their references and techniques.
fn path_edges(graph: &AttackGraph, p: &AttackPath) -> Option<Vec<EdgeIndex>> {
    let node = |r: &str| -> Option<NodeIndex> {
        if let Some(rest) = r.strip_prefix('[') {
            let (c, reference) = rest.split_once("] ")?;
            return graph.find(Some(c), reference);
        }
        graph
            .find(Some(&p.cluster), r)
            .or_else(|| graph.find(None, r))
    };
    p.steps
        .iter()
        .map(|s| {
            let (a, b) = (node(&s.from)?, node(&s.to)?);
            graph
                .graph
                .edges_connecting(a, b)
                .find(|e| e.weight().technique.id() == s.technique)
                .map(|e| e.id())
        })
        .collect()
}

/// Why no hop of a path is a change the owner can make.
fn unfixable_reason(graph: &AttackGraph, edges: &[EdgeIndex]) -> String {
    let table = graph.remedies();
    let owned: Vec<String> = edges
        .iter()
        .filter_map(|e| graph.graph[*e].remedies.as_ref())
        .flatten()
        .filter_map(|r| {
            let r = &table[*r as usize];
            r.unfixable
                .as_ref()
                .map(|why| format!("{} ({why})", r.target.reference()))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let techniques: BTreeSet<String> = edges
        .iter()
        .map(|e| graph.graph[*e].technique)
        .filter(|t| t.is_attack())
        .map(Technique::id)
        .collect();
    let mut out = format!(
        "no hop kspm can cut ({})",
        techniques.into_iter().collect::<Vec<_>>().join(", ")
    );
    if !owned.is_empty() {
        out.push_str(&format!("; cannot change: {}", owned.join(", ")));
    }
    out
}

/// A graph's changes numbered in the order of their keys ([`Remedy::key`]).
struct Numbering {
    /// The graph's position of each change, in this numbering's order.
    order: Vec<u32>,
    /// This numbering's position of each change of the graph.
    rank: Vec<u32>,
}

impl Numbering {
    /// The numbering of the changes `table` (a graph's).
    fn of(table: &[Remedy]) -> Numbering {
        let mut order: Vec<u32> = (0..table.len() as u32).collect();
        order.sort_by_cached_key(|i| table[*i as usize].key());
        let mut rank = vec![0; order.len()];
        for (n, i) in order.iter().enumerate() {
            rank[*i as usize] = n as u32;
        }
        Numbering { order, rank }
    }

    /// The graph's changes `table`, in this numbering's order.
    fn table<'t>(&self, table: &'t [Remedy]) -> Vec<&'t Remedy> {
        self.order.iter().map(|i| &table[*i as usize]).collect()
    }

    /// The graph's changes `ids`, numbered.
    fn of_graph(&self, ids: &[u32]) -> Vec<u32> {
        ids.iter().map(|i| self.rank[*i as usize]).collect()
    }

    /// The numbered changes `ids`, as the graph's.
    fn in_graph<'i>(&self, ids: impl IntoIterator<Item = &'i u32>) -> BTreeSet<u32> {
        ids.into_iter().map(|i| self.order[*i as usize]).collect()
    }
}

/// Every edge of the graph whose changes are all among `chosen`.
fn removed_edges(graph: &AttackGraph, chosen: &BTreeSet<u32>) -> HashSet<EdgeIndex> {
    if chosen.is_empty() {
        return HashSet::new();
    }
    graph
        .graph
        .edge_indices()
        .filter(|e| {
            graph.graph[*e]
                .remedies
                .as_ref()
                .is_some_and(|r| r.iter().all(|x| chosen.contains(x)))
        })
        .collect()
}

/// Whether the changes cut a path: some edge of it loses all its changes.
fn covered(c: &Constraint, chosen: &BTreeSet<u32>) -> bool {
    c.options
        .iter()
        .any(|o| o.iter().all(|r| chosen.contains(r)))
}

fn marginal(option: &[u32], chosen: &BTreeSet<u32>, cost: &dyn Fn(u32) -> u32) -> u32 {
    option
        .iter()
        .filter(|r| !chosen.contains(r))
        .map(|r| cost(*r))
        .sum()
}

/// Exact when the branch and bound finishes within its steps, else greedy with a lower bound.
fn solve(
    constraints: &[Constraint],
    cost: &dyn Fn(u32) -> u32,
) -> (BTreeSet<u32>, &'static str, u32) {
    solve_within(constraints, cost, EXACT_STEPS)
}

fn solve_within(
    constraints: &[Constraint],
    cost: &dyn Fn(u32) -> u32,
    limit: usize,
) -> (BTreeSet<u32>, &'static str, u32) {
    let greedy = greedy(constraints, cost);
    let greedy_cost: u32 = greedy.iter().map(|r| cost(*r)).sum();
    let mut best = (greedy_cost, greedy.clone());
    let mut steps = limit;
    let complete = branch(
        constraints,
        cost,
        &mut BTreeSet::new(),
        0,
        &mut best,
        &mut steps,
    );
    if complete {
        (best.1, "exact", best.0)
    } else {
        (greedy, "greedy", lower_bound(constraints, cost))
    }
}

/// Branch and bound: the uncovered path with the fewest ways to cut it, each way in turn.
/// Returns false when it ran out of steps.
fn branch(
    constraints: &[Constraint],
    cost: &dyn Fn(u32) -> u32,
    chosen: &mut BTreeSet<u32>,
    spent: u32,
    best: &mut (u32, BTreeSet<u32>),
    steps: &mut usize,
) -> bool {
    if *steps == 0 {
        return false;
    }
    *steps -= 1;
    let open = constraints
        .iter()
        .filter(|c| !covered(c, chosen))
        .min_by_key(|c| c.options.len());
    let Some(open) = open else {
        if spent < best.0 || (spent == best.0 && *chosen < best.1) {
            *best = (spent, chosen.clone());
        }
        return true;
    };
    let mut ways: Vec<(u32, &Vec<u32>)> = open
        .options
        .iter()
        .map(|o| (marginal(o, chosen, cost), o))
        .collect();
    ways.sort();
    for (extra, option) in ways {
        if spent + extra > best.0 {
            continue;
        }
        let added: Vec<u32> = option
            .iter()
            .copied()
            .filter(|r| !chosen.contains(r))
            .collect();
        chosen.extend(added.iter().copied());
        let ok = branch(constraints, cost, chosen, spent + extra, best, steps);
        for r in &added {
            chosen.remove(r);
        }
        if !ok {
            return false;
        }
    }
    true
}

/// Greedy: repeatedly the way to cut that cuts the most open paths per unit of cost.
fn greedy(constraints: &[Constraint], cost: &dyn Fn(u32) -> u32) -> BTreeSet<u32> {
    let mut chosen = BTreeSet::new();
    loop {
        let open: Vec<&Constraint> = constraints
            .iter()
            .filter(|c| !covered(c, &chosen))
            .collect();
        if open.is_empty() {
            return chosen;
        }
        let mut count: BTreeMap<&Vec<u32>, usize> = BTreeMap::new();
        for c in &open {
            for o in &c.options {
                *count.entry(o).or_default() += 1;
            }
        }
        let best = count
            .into_iter()
            .map(|(o, n)| (o, n, marginal(o, &chosen, cost).max(1)))
            .max_by(|a, b| {
                (a.1 as u64 * u64::from(b.2))
                    .cmp(&(b.1 as u64 * u64::from(a.2)))
                    .then_with(|| b.0.cmp(a.0))
            });
        match best {
            Some((o, _, _)) => chosen.extend(o.iter().copied()),
            None => return chosen,
        }
    }
}

/// The most paths within `budget` fixes (objects): greedy by paths cut, cost breaking ties.
fn budgeted(constraints: &[Constraint], table: &[&Remedy], budget: usize) -> BTreeSet<u32> {
    let mut chosen: BTreeSet<u32> = BTreeSet::new();
    let objects = |set: &BTreeSet<u32>| -> usize {
        set.iter()
            .map(|r| &table[*r as usize].target)
            .collect::<BTreeSet<_>>()
            .len()
    };
    loop {
        let open: Vec<&Constraint> = constraints
            .iter()
            .filter(|c| !covered(c, &chosen))
            .collect();
        let mut best: Option<(usize, u32, BTreeSet<u32>)> = None;
        let mut tried: HashSet<&Vec<u32>> = HashSet::new();
        for o in open.iter().flat_map(|c| c.options.iter()) {
            if !tried.insert(o) {
                continue;
            }
            let mut next = chosen.clone();
            next.extend(o.iter().copied());
            if objects(&next) > budget {
                continue;
            }
            let gain = open.iter().filter(|c| covered(c, &next)).count();
            let extra: u32 = next
                .difference(&chosen)
                .map(|r| table[*r as usize].cost)
                .sum();
            let better = match &best {
                None => true,
                Some((g, e, s)) => {
                    gain > *g || (gain == *g && (extra < *e || (extra == *e && next < *s)))
                }
            };
            if better {
                best = Some((gain, extra, next));
            }
        }
        match best {
            Some((gain, _, next)) if gain > 0 => chosen = next,
            _ => return chosen,
        }
    }
}

/// A lower bound on any plan's cost: paths that share no change can only be cut by separate
/// changes, so the cheapest way of each such path adds up.
fn lower_bound(constraints: &[Constraint], cost: &dyn Fn(u32) -> u32) -> u32 {
    let mut order: Vec<&Constraint> = constraints.iter().collect();
    order.sort_by_key(|c| c.options.iter().map(Vec::len).sum::<usize>());
    let mut used: HashSet<u32> = HashSet::new();
    let mut total = 0;
    for c in order {
        let mine: HashSet<u32> = c.options.iter().flatten().copied().collect();
        if mine.iter().any(|r| used.contains(r)) {
            continue;
        }
        total += c
            .options
            .iter()
            .map(|o| o.iter().map(|r| cost(*r)).sum::<u32>())
            .min()
            .unwrap_or(0);
        used.extend(mine);
    }
    total
}

/// Findings on the object whose every evidence field the changes touch, and every finding of
/// a binding the changes leave without subjects.
fn resolved_findings(findings: &[FindingSite], target: &Target, rs: &[&Remedy]) -> Vec<String> {
    let removed: BTreeSet<&String> = rs
        .iter()
        .filter(|r| r.binding_subjects.is_some())
        .flat_map(|r| r.fields.iter())
        .collect();
    let emptied = rs
        .iter()
        .find_map(|r| r.binding_subjects)
        .is_some_and(|n| removed.len() >= n);
    let mut out: Vec<String> = findings
        .iter()
        .filter(|f| {
            f.cluster == target.cluster
                && f.kind == target.kind
                && f.name == target.name
                && f.namespace == target.namespace
                && (emptied
                    || (!f.fields.is_empty()
                        && f.fields.iter().all(|e| rs.iter().any(|r| r.touches(e)))))
        })
        .map(|f| f.fingerprint.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn fix_id(target: &Target, rs: &[&Remedy]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    let mut feed = |s: &str| {
        for b in s.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    };
    feed(&target.cluster);
    feed(&target.reference());
    let mut changes: Vec<&str> = rs.iter().map(|r| r.change.as_str()).collect();
    changes.sort_unstable();
    for c in changes {
        feed(c);
    }
    format!("FX-{:012x}", h & 0xffff_ffff_ffff)
}

impl AttackGraph {
    /// A copy of the graph without some edges (node positions kept).
    pub fn without(&self, removed: &HashSet<EdgeIndex>) -> AttackGraph {
        let mut g = AttackGraph::default();
        for w in self.graph.node_weights() {
            let i = g.node(w.cluster.as_deref(), &w.reference, w.kind);
            if w.entry {
                g.mark_entry(i);
            }
        }
        for e in self.graph.edge_references() {
            if removed.contains(&e.id()) {
                continue;
            }
            g.edge(
                e.source(),
                e.target(),
                e.weight().technique,
                e.weight().evidence.as_str(),
            );
        }
        g
    }
}

#[cfg(test)]
mod tests;
