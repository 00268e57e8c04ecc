//! Questions about the fleet graph the scan builds — reach, paths (with alternatives), node
//! references — answered once for the CLI, the gRPC service and the web view.
//!
//! A path to a sink class (`ClusterAdmin`, `AllSecrets`, `NodeRoot`, `CloudAdmin[:account]`) is
//! found with the same reverse search, tie-breaks, scoring and identifier as the report's paths,
//! so a path the report lists and the same question asked here are the same object. Other
//! targets (any node) use the same search and scoring with criticality 1.

use super::paths::{exposure, is_terminal, path_id, sort_paths, AttackPath, Mask, Sink};
use super::{AttackGraph, NodeIndex, NodeKind};
use petgraph::graph::EdgeIndex;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// The most start nodes one paths question may name (`NodeRoot` as a start names every node).
const MAX_STARTS: usize = 64;

/// A question that cannot be answered: an unknown or ambiguous reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QueryError {}

/// The node references the graph understands, for help texts and documentation: (form, meaning).
pub const REFERENCES: &[(&str, &str)] = &[
    ("Internet", "the internet (entry point)"),
    ("[cluster] reference", "a node of another cluster, as paths across clusters print it: `[gke-a] Deployment:shop/web`"),
    ("Kind:namespace/name", "a namespaced object: `Deployment:shop/web`, `ServiceAccount:ci/deployer`, `Pod:shop/web-1`, `Secret:shop/db`"),
    ("Kind:name", "a cluster-scoped object or identity: `Node:ip-10-0-1-5`, `User:alice`, `Group:devs`, `ClusterRole:edit`"),
    ("ClusterAdmin", "sink: full control of a cluster (every cluster, or the one named by --cluster)"),
    ("AllSecrets", "sink: reading every Secret of a cluster"),
    ("NodeRoot", "sink: root on any node of a cluster"),
    ("CloudAdmin", "sink: admin of any cloud account, project or subscription"),
    ("CloudAdmin:aws:ACCOUNT | CloudAdmin:gcp:PROJECT | CloudAdmin:azure:SUBSCRIPTION", "sink: admin of one cloud account, project or subscription"),
    ("AwsRole:ARN | AwsUser:ARN | AwsPrincipal:ARN", "an AWS IAM role, user or other principal (fleet-wide)"),
    ("GcpServiceAccount:EMAIL | GcpUser:EMAIL | GcpGroup:EMAIL | GcpDomain:DOMAIN", "a Google identity (fleet-wide)"),
    ("AzureIdentity:ID | AzureGroup:ID | AzureUser:ID", "an Entra ID identity (fleet-wide)"),
];

/// What a reference names: nodes, or a sink class searched like the report does.
enum Target {
    /// One or more nodes (criticality 1).
    Nodes(Vec<NodeIndex>),
    /// Sink classes: the (cluster or account, sink) groups of the report's search.
    Sinks(Vec<((String, Sink), Vec<NodeIndex>)>),
}

/// A node a query reached.
#[derive(Debug, Clone, Serialize)]
pub struct Reached {
    /// Node reference.
    pub node: String,
    /// Cluster, or `None` for fleet-wide nodes (the Internet, cloud principals and admins).
    pub cluster: Option<String>,
    /// Node kind.
    pub kind: NodeKind,
    /// Fewest hops from the start.
    pub hops: u32,
}

/// A paths question.
#[derive(Debug, Clone)]
pub struct PathQuery<'a> {
    /// Start reference.
    pub from: &'a str,
    /// Target reference or sink class.
    pub to: &'a str,
    /// Cluster the references are looked up in (needed when one is in several clusters).
    pub cluster: Option<&'a str>,
    /// Longest path considered.
    pub max_hops: u32,
    /// How many distinct paths to return (the best first, then alternatives).
    pub limit: usize,
}

/// Queries over one graph (the fleet graph of a scan).
pub struct Query<'g> {
    graph: &'g AttackGraph,
    sinks: BTreeMap<(String, Sink), Vec<NodeIndex>>,
}

fn sink_class(name: &str) -> Option<Sink> {
    match name {
        "ClusterAdmin" => Some(Sink::ClusterAdmin),
        "AllSecrets" => Some(Sink::AllSecrets),
        "NodeRoot" => Some(Sink::NodeRoot),
        "CloudAdmin" => Some(Sink::CloudAdmin),
        _ => None,
    }
}

impl<'g> Query<'g> {
    /// A query over `graph`.
    pub fn new(graph: &'g AttackGraph) -> Query<'g> {
        Query {
            graph,
            sinks: graph.sink_targets(),
        }
    }

    fn clusters(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .graph
            .graph
            .node_weights()
            .filter_map(|n| n.cluster.as_deref())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The nodes a reference names (`NodeRoot` and the sink names stand for every such node of
    /// the cluster, or of every cluster).
    pub fn resolve(
        &self,
        cluster: Option<&str>,
        reference: &str,
    ) -> Result<Vec<NodeIndex>, QueryError> {
        match self.target(cluster, reference)? {
            Target::Nodes(n) => Ok(n),
            Target::Sinks(groups) => {
                let mut all: Vec<NodeIndex> = groups.into_iter().flat_map(|(_, n)| n).collect();
                all.sort_unstable();
                all.dedup();
                Ok(all)
            }
        }
    }

    fn target(&self, cluster: Option<&str>, reference: &str) -> Result<Target, QueryError> {
        // `[cluster] reference`, as reports qualify nodes of another cluster on a path.
        let (cluster, reference) =
            match reference.strip_prefix('[').and_then(|r| r.split_once("] ")) {
                Some((c, r)) => (Some(c), r),
                None => (cluster, reference),
            };
        if let Some(c) = cluster {
            if !self.clusters().contains(&c) {
                return Err(QueryError(format!(
                    "no cluster `{c}` in the graph (clusters: {})",
                    self.clusters().join(", ")
                )));
            }
        }
        let (class, account) = match reference.split_once(':') {
            Some(("CloudAdmin", acct)) => (Some(Sink::CloudAdmin), Some(acct)),
            _ => (sink_class(reference), None),
        };
        if let Some(sink) = class {
            let groups: Vec<((String, Sink), Vec<NodeIndex>)> = self
                .sinks
                .iter()
                .filter(|((key, s), _)| {
                    *s == sink
                        && match (sink, account) {
                            (Sink::CloudAdmin, Some(a)) => key == a,
                            (Sink::CloudAdmin, None) => true,
                            _ => cluster.is_none_or(|c| key == c),
                        }
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if groups.is_empty() {
                return Err(self.unknown(reference));
            }
            return Ok(Target::Sinks(groups));
        }
        if let Some(i) = self.graph.find(None, reference) {
            return Ok(Target::Nodes(vec![i]));
        }
        let clusters: Vec<&str> = match cluster {
            Some(c) => vec![c],
            None => self.clusters(),
        };
        let found: Vec<(&str, NodeIndex)> = clusters
            .iter()
            .filter_map(|c| self.graph.find(Some(c), reference).map(|i| (*c, i)))
            .collect();
        match found.len() {
            0 => Err(self.unknown(reference)),
            1 => Ok(Target::Nodes(vec![found[0].1])),
            _ => Err(QueryError(format!(
                "`{reference}` exists in several clusters ({}); pick one with --cluster",
                found.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// "No node X", with the closest references the graph has.
    fn unknown(&self, reference: &str) -> QueryError {
        let suggestions = self.suggest(reference, 5);
        let mut msg = format!("no node `{reference}` in the attack graph");
        if suggestions.is_empty() {
            msg.push_str(" (references look like Deployment:shop/web, ServiceAccount:ci/deployer, User:alice, AwsRole:arn:aws:iam::123456789012:role/r, ClusterAdmin, CloudAdmin:aws:123456789012)");
        } else {
            msg.push_str(&format!("; did you mean {}?", suggestions.join(", ")));
        }
        QueryError(msg)
    }

    /// The references closest to `reference`: same kind first, then by edit distance.
    pub fn suggest(&self, reference: &str, n: usize) -> Vec<String> {
        let kind = reference.split(':').next().unwrap_or("");
        let mut seen = HashSet::new();
        let mut candidates: Vec<(bool, usize, String)> = self
            .graph
            .graph
            .node_weights()
            .filter(|w| w.kind != NodeKind::Hub)
            .map(|w| w.reference.clone())
            .chain(
                ["ClusterAdmin", "AllSecrets", "NodeRoot", "CloudAdmin"]
                    .iter()
                    .map(|s| s.to_string()),
            )
            .filter(|r| seen.insert(r.clone()))
            .map(|r| {
                let other = !r.starts_with(&format!("{kind}:")) && r != kind;
                (other, edit_distance(reference, &r), r)
            })
            .collect();
        candidates.sort();
        let limit = reference.len().max(4) / 2 + 2;
        candidates
            .into_iter()
            .filter(|(other, d, _)| !*other || *d <= limit)
            .take(n)
            .map(|(_, _, r)| r)
            .collect()
    }

    /// Everything `from` reaches within `max_hops`, nearest first (hubs, network segments and
    /// containers are steps, not answers).
    pub fn reach(
        &self,
        cluster: Option<&str>,
        from: &str,
        max_hops: u32,
    ) -> Result<Vec<Reached>, QueryError> {
        let starts = self.resolve(cluster, from)?;
        let Some(start) = starts.first().copied() else {
            return Err(self.unknown(from));
        };
        Ok(self
            .graph
            .reach(start, max_hops)
            .into_iter()
            .filter(|(i, _)| {
                !matches!(
                    self.graph.graph[*i].kind,
                    NodeKind::Hub | NodeKind::Container | NodeKind::Segment
                )
            })
            .map(|(i, hops)| {
                let n = &self.graph.graph[i];
                Reached {
                    node: n.reference.clone(),
                    cluster: n.cluster.clone(),
                    kind: n.kind,
                    hops,
                }
            })
            .collect())
    }

    /// Up to `limit` distinct paths from `from` to `to`, best first: the first is the route the
    /// report takes (fewest hops, then most likely); the others are the next-best loop-free
    /// routes that differ in at least one hop (Yen's algorithm over the same search).
    pub fn paths(&self, q: &PathQuery<'_>) -> Result<Vec<AttackPath>, QueryError> {
        let starts = self.resolve(q.cluster, q.from)?;
        // The target's cluster follows the start's when the start belongs to one.
        let start_cluster = starts
            .iter()
            .find_map(|i| self.graph.graph[*i].cluster.as_deref());
        let to_cluster = q.cluster.or(start_cluster);
        let target = match self.target(to_cluster, q.to) {
            Err(_) if q.cluster.is_none() && to_cluster.is_some() => self.target(None, q.to)?,
            other => other?,
        };
        let groups: Vec<(String, Option<Sink>, Vec<NodeIndex>)> = match target {
            Target::Nodes(n) => n
                .into_iter()
                .map(|i| {
                    let key = self.graph.graph[i].cluster.clone().unwrap_or_default();
                    (key, None, vec![i])
                })
                .collect(),
            Target::Sinks(g) => g.into_iter().map(|((k, s), n)| (k, Some(s), n)).collect(),
        };
        if starts.len() > MAX_STARTS {
            return Err(QueryError(format!(
                "`{}` names {} nodes; ask from one of them (at most {MAX_STARTS})",
                q.from,
                starts.len()
            )));
        }
        let limit = q.limit.max(1);
        // (rank among its start and target's routes, path): the routes the report takes come
        // first, ranked as it ranks them; alternatives after, in the same order.
        let mut out: Vec<(usize, AttackPath)> = Vec::new();
        for (key, sink, targets) in &groups {
            for from in &starts {
                for (rank, edges) in self
                    .routes(*from, targets, q.max_hops, limit)
                    .into_iter()
                    .enumerate()
                {
                    if let Some(p) = self.path(key, *sink, *from, &edges, rank) {
                        out.push((rank, p));
                    }
                }
            }
        }
        let mut by_rank: Vec<AttackPath> = Vec::new();
        let max_rank = out.iter().map(|(r, _)| *r).max().unwrap_or(0);
        for rank in 0..=max_rank {
            let mut level: Vec<AttackPath> = out
                .iter()
                .filter(|(r, _)| *r == rank)
                .map(|(_, p)| p.clone())
                .collect();
            sort_paths(&mut level);
            by_rank.extend(level);
        }
        let mut seen = HashSet::new();
        by_rank.retain(|p| seen.insert((p.nodes.clone(), techniques(p))));
        by_rank.truncate(limit);
        Ok(by_rank)
    }

    /// The path object for a route, as the report builds it (rank 0) or as an alternative.
    fn path(
        &self,
        key: &str,
        sink: Option<Sink>,
        from: NodeIndex,
        edges: &[EdgeIndex],
        rank: usize,
    ) -> Option<AttackPath> {
        if edges.is_empty() {
            return None;
        }
        let g = self.graph;
        let n = &g.graph[from];
        let cluster = match sink {
            Some(Sink::ClusterAdmin | Sink::AllSecrets | Sink::NodeRoot) => key.to_string(),
            _ => g
                .first_cluster(from, edges)
                .unwrap_or_else(|| key.to_string()),
        };
        let criticality = sink.map_or(1.0, Sink::criticality);
        let sink_name = match sink {
            Some(s) if s != Sink::CloudAdmin => Some(s.as_str()),
            _ => None,
        };
        let e = exposure(n.kind, &n.reference).unwrap_or(1.0);
        let mut p = g.path_object(&cluster, sink_name, criticality, from, edges, e);
        if rank > 0 {
            let route: Vec<String> = p
                .steps
                .iter()
                .map(|s| format!("{}>{}", s.technique, s.to))
                .collect();
            // Its own identifier of the report's form, from the route it takes.
            p.id = path_id(&cluster, &p.source, &route.join("|"));
        }
        Some(p)
    }

    /// The best route and up to `limit - 1` alternatives (edge lists), each at most `max_hops`.
    fn routes(
        &self,
        from: NodeIndex,
        targets: &[NodeIndex],
        max_hops: u32,
        limit: usize,
    ) -> Vec<Vec<EdgeIndex>> {
        let g = self.graph;
        let within = |r: &Vec<EdgeIndex>| !r.is_empty() && r.len() <= max_hops as usize;
        // The report's route; when it is longer than allowed, the shortest of all.
        let Some(best) = g.preferred_route(from, targets).filter(within).or_else(|| {
            g.reverse_bfs_masked(targets, &Mask::default())
                .walk(g, from)
                .filter(within)
        }) else {
            return Vec::new();
        };
        let mut found: Vec<Vec<EdgeIndex>> = vec![best];
        let mut candidates: Vec<(usize, f64, Vec<EdgeIndex>)> = Vec::new();
        let likelihood = |edges: &[EdgeIndex]| -> f64 {
            edges.iter().map(|e| g.graph[*e].likelihood()).product()
        };
        while found.len() < limit {
            let last = found[found.len() - 1].clone();
            let nodes: Vec<NodeIndex> = std::iter::once(from)
                .chain(
                    last.iter()
                        .filter_map(|e| g.graph.edge_endpoints(*e).map(|x| x.1)),
                )
                .collect();
            for i in 0..last.len() {
                let spur = nodes[i];
                if i > 0 && is_terminal(g.graph[spur].kind) {
                    break;
                }
                let root = &last[..i];
                let mut mask = Mask::default();
                for p in &found {
                    if p.len() > i && p[..i] == *root {
                        mask.leave_edge(p[i]);
                    }
                }
                for n in &nodes[..i] {
                    mask.leave_node(*n);
                }
                let d = g.reverse_bfs_masked(targets, &mask);
                let Some(tail) = d.walk(g, spur) else {
                    continue;
                };
                let mut route = root.to_vec();
                route.extend(tail);
                if route.is_empty()
                    || route.len() > max_hops as usize
                    || found.contains(&route)
                    || candidates.iter().any(|(_, _, r)| *r == route)
                {
                    continue;
                }
                candidates.push((route.len(), likelihood(&route), route));
            }
            if candidates.is_empty() {
                break;
            }
            // Fewest hops, then most likely, then the first found.
            let best = candidates
                .iter()
                .enumerate()
                .min_by(|(ia, a), (ib, b)| {
                    a.0.cmp(&b.0)
                        .then_with(|| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal))
                        .then_with(|| ia.cmp(ib))
                })
                .map(|(i, _)| i)
                .unwrap_or(0);
            found.push(candidates.remove(best).2);
        }
        found
    }
}

/// A cloud principal that holds a Kubernetes right in a cluster through how the cluster maps it
/// (aws-auth, access entries and policies, GKE's IAM authorizer and Google Groups, Azure RBAC
/// and admin groups).
#[derive(Debug, Clone, Serialize)]
pub struct CloudHolder {
    /// The principal (`AwsRole:…`, `GcpServiceAccount:…`, `AzureGroup:…`).
    pub principal: String,
    /// What it becomes in the cluster: `User:…`, `Group:…`, or the sink it holds outright
    /// (`ClusterAdmin`, `AllSecrets`).
    pub becomes: String,
    /// The mapping's technique.
    pub technique: String,
    /// The mapping's evidence.
    pub evidence: String,
}

/// What a cloud principal is in one cluster.
#[derive(Debug, Clone, Default)]
pub struct CloudIdentity {
    /// Kubernetes user names it authenticates as (with the mapping's evidence).
    pub users: Vec<(String, String)>,
    /// Groups it is put in (with the mapping's evidence).
    pub groups: Vec<(String, String)>,
    /// Sinks it holds outright (`ClusterAdmin`, `AllSecrets`), with technique and evidence.
    pub sinks: Vec<(String, String, String)>,
}

impl CloudIdentity {
    /// Whether the cluster maps the principal to anything.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty() && self.sinks.is_empty()
    }
}

impl Query<'_> {
    /// The mappings of fleet-wide principals into `cluster`: (principal, target node, edge).
    fn mappings<'s>(
        &'s self,
        cluster: &'s str,
    ) -> impl Iterator<Item = (NodeIndex, NodeIndex, EdgeIndex)> + 's {
        use petgraph::visit::EdgeRef;
        let g = &self.graph.graph;
        g.node_indices()
            .filter(move |i| g[*i].kind == NodeKind::CloudPrincipal && g[*i].cluster.is_none())
            .flat_map(move |p| {
                g.edges_directed(p, petgraph::Direction::Outgoing)
                    .filter(move |e| g[e.target()].cluster.as_deref() == Some(cluster))
                    .map(move |e| (p, e.target(), e.id()))
            })
    }

    /// Cloud principals that become one of `subjects` of `cluster` (node references such as
    /// `User:alice`, `Group:devs`, as an RBAC answer lists them), or hold a sink that implies
    /// the right (`ClusterAdmin` always; `AllSecrets` when `reads_secrets`).
    pub fn cloud_holders(
        &self,
        cluster: &str,
        subjects: &HashSet<String>,
        reads_secrets: bool,
    ) -> Vec<CloudHolder> {
        let g = &self.graph.graph;
        let mut out: Vec<CloudHolder> = self
            .mappings(cluster)
            .filter(|(_, t, _)| {
                let n = &g[*t];
                match n.kind {
                    NodeKind::ClusterAdmin => true,
                    NodeKind::AllSecrets => reads_secrets,
                    NodeKind::User | NodeKind::Group => subjects.contains(&n.reference),
                    _ => false,
                }
            })
            .map(|(p, t, e)| CloudHolder {
                principal: g[p].reference.clone(),
                becomes: g[t].reference.clone(),
                technique: g[e].technique.id(),
                evidence: g[e].evidence.clone(),
            })
            .collect();
        // Whoever may assume a holder (AWS role chaining, transitively) holds the same right:
        // the graph's paths say so, and so must this answer.
        let direct: Vec<CloudHolder> = out.clone();
        let mut seen: HashSet<String> = direct
            .iter()
            .map(|h| format!("{}\u{0}{}", h.principal, h.becomes))
            .collect();
        for holder in &direct {
            let Some(start) = self.graph.find(None, &holder.principal) else {
                continue;
            };
            let mut queue = vec![(start, vec![holder.principal.clone()])];
            while let Some((node, chain)) = queue.pop() {
                for e in g.edges_directed(node, petgraph::Direction::Incoming) {
                    use petgraph::visit::EdgeRef;
                    if e.weight().technique != super::Technique::AWS_ASSUME_ROLE {
                        continue;
                    }
                    let caller = &g[e.source()].reference;
                    if !seen.insert(format!("{caller}\u{0}{}", holder.becomes))
                        || chain.contains(caller)
                    {
                        continue;
                    }
                    let mut longer = vec![caller.clone()];
                    longer.extend(chain.iter().cloned());
                    out.push(CloudHolder {
                        principal: caller.clone(),
                        becomes: holder.becomes.clone(),
                        technique: "AWS_ASSUME_ROLE".to_string(),
                        evidence: format!(
                            "assumes {} ({}), which {}: {}",
                            holder.principal,
                            longer.join(" → "),
                            holder.technique,
                            holder.evidence
                        ),
                    });
                    queue.push((e.source(), longer));
                }
            }
        }
        out.sort_by(|a, b| (&a.principal, &a.becomes).cmp(&(&b.principal, &b.becomes)));
        out
    }

    /// What the principal named by `reference` is in `cluster` (empty when the cluster does
    /// not map it).
    pub fn cloud_identity(
        &self,
        cluster: &str,
        reference: &str,
    ) -> Result<CloudIdentity, QueryError> {
        let Some(p) = self
            .graph
            .find(None, reference)
            .filter(|i| self.graph.graph[*i].kind == NodeKind::CloudPrincipal)
        else {
            return Err(self.unknown(reference));
        };
        let g = &self.graph.graph;
        let mut id = CloudIdentity::default();
        for (_, t, e) in self.mappings(cluster).filter(|(src, _, _)| *src == p) {
            let n = &g[t];
            let ev = g[e].evidence.clone();
            match n.kind {
                NodeKind::User => id
                    .users
                    .push((n.reference.trim_start_matches("User:").to_string(), ev)),
                NodeKind::Group => id
                    .groups
                    .push((n.reference.trim_start_matches("Group:").to_string(), ev)),
                NodeKind::ClusterAdmin | NodeKind::AllSecrets => {
                    id.sinks
                        .push((n.reference.clone(), g[e].technique.id(), ev))
                }
                _ => {}
            }
        }
        Ok(id)
    }

    /// Whether `reference` names a fleet-wide cloud principal.
    pub fn is_cloud_principal(&self, reference: &str) -> bool {
        self.graph
            .find(None, reference)
            .is_some_and(|i| self.graph.graph[i].kind == NodeKind::CloudPrincipal)
    }
}

fn techniques(p: &AttackPath) -> Vec<String> {
    p.steps.iter().map(|s| s.technique.clone()).collect()
}

/// Levenshtein distance over characters (for suggestions).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
