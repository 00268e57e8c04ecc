//! Evaluation: every check of a snapshot's clusters, their attack graphs joined into the
//! fleet's, the paths, blast radius, fix plan, compliance and totals assembled into a
//! [`Report`]; deterministic for the same input.

use crate::checks::{self, Context};
use crate::compliance;
use crate::finding::{ControlRef, Finding};
use crate::graph::paths::{AttackPath, BlastRadius};
use crate::graph::AttackGraph;
use crate::inventory::{Inventory, EVALUATED_KINDS};
use crate::options::{ScanOptions, IGNORE_ANNOTATION};
use crate::parallel::parallel_map;
use crate::parse::LoadError;
use crate::rbac::Rbac;
use crate::report::{
    ClusterSummary, GraphSize, Report, ReportError, Summary, Suppressed, Tool, MAX_REPORTED_PATHS,
    REPORT_SCHEMA_VERSION,
};
use crate::snapshot::{ClusterSnapshot, Snapshot};
use std::collections::BTreeMap;

/// Evaluates every check on every cluster of the snapshot with default options.
pub fn evaluate(snapshot: &Snapshot) -> Report {
    evaluate_with(snapshot, &ScanOptions::default())
}

/// Evaluates the checks of the options' profile on every cluster of the snapshot.
pub fn evaluate_with(snapshot: &Snapshot, options: &ScanOptions) -> Report {
    evaluate_with_graph(snapshot, options).0
}

/// As [`evaluate_with`], also returning the fleet graph the report's paths were searched in.
pub fn evaluate_with_graph(snapshot: &Snapshot, options: &ScanOptions) -> (Report, AttackGraph) {
    let catalogue = checks::catalogue();
    // Clusters are independent until their graphs are joined: evaluate them on every core.
    let results = parallel_map(&snapshot.clusters, |c| evaluate_one(c, &catalogue, options));
    assemble_fleet_graph(results, &snapshot.errors, &snapshot.cloud)
}

/// Joins per-cluster results (in fleet order) and the fleet-level load errors into a report:
/// one attack graph across the fleet, paths, blast radius, ordering and totals.
pub fn assemble(results: Vec<ClusterResult>, fleet_errors: &[LoadError]) -> Report {
    assemble_fleet(results, fleet_errors, &[])
}

/// As [`assemble`], with fleet-level cloud documents (`cloud/aws/<account>/` of a fleet): the
/// IAM of every account joins the clusters' graphs (see [`crate::graph::cloud`]).
pub fn assemble_fleet(
    results: Vec<ClusterResult>,
    fleet_errors: &[LoadError],
    fleet_cloud: &[crate::Object],
) -> Report {
    assemble_fleet_graph(results, fleet_errors, fleet_cloud).0
}

/// As [`assemble_fleet`], also returning the fleet graph the report's paths were searched in
/// (for queries that must see what the scan saw).
pub fn assemble_fleet_graph(
    results: Vec<ClusterResult>,
    fleet_errors: &[LoadError],
    fleet_cloud: &[crate::Object],
) -> (Report, AttackGraph) {
    let mut suppressed = Vec::new();
    let mut findings = Vec::new();
    let mut clusters = Vec::new();
    let mut compliance = Vec::new();
    let mut errors: Vec<ReportError> = fleet_errors
        .iter()
        .map(|e| ReportError::from_load(None, e))
        .collect();
    let mut graph = AttackGraph::default();
    let mut binding_subjects: std::collections::HashMap<(String, String), Vec<String>> =
        std::collections::HashMap::new();
    let mut cloud = CloudParts::default();
    let mut pending = Vec::new();
    let mut assessed = Vec::new();
    let mut sources: std::collections::HashMap<(String, String), crate::object::Source> =
        std::collections::HashMap::new();
    for r in results {
        let name = r.info.name.clone();
        sources.extend(r.locations.into_iter().map(|(k, v)| ((name.clone(), k), v)));
        cloud.add(r.cloud);
        graph.absorb(r.graph);
        binding_subjects.extend(r.binding_subjects);
        suppressed.extend(r.suppressed);
        clusters.push(r.summary);
        errors.extend(r.errors);
        findings.extend(r.findings);
        pending.extend(r.pending);
        assessed.push((r.info, r.skipped));
    }
    let (cloud_errors, unassessed) = cloud_bridges(&mut graph, cloud, fleet_cloud);
    errors.extend(cloud_errors);
    for (cluster, check, why) in unassessed {
        if let Some((_, skipped)) = assessed.iter_mut().find(|(info, _)| info.name == cluster) {
            skipped.insert(check, why);
        }
    }
    let index = graph.index();
    for (f, reason) in judge_on_fleet_graph(&pending, &graph, &index) {
        if let Some(reason) = reason {
            suppressed.push(Suppressed::of(f, reason));
            continue;
        }
        if let Some(c) = clusters.iter_mut().find(|c| c.name == f.cluster) {
            *c.findings_by_severity.entry(f.severity).or_insert(0) += 1;
        }
        findings.push(f);
    }
    // (Judged: what stands was copied out.)
    drop(pending);
    let catalogue = checks::catalogue();
    let mut by_cluster: std::collections::HashMap<&str, Vec<&Finding>> =
        std::collections::HashMap::new();
    for f in &findings {
        by_cluster.entry(f.cluster.as_str()).or_default().push(f);
    }
    for (info, skipped) in &assessed {
        let own = by_cluster
            .get(info.name.as_str())
            .map_or(&[][..], Vec::as_slice);
        compliance.extend(compliance::summarize(info, &catalogue, skipped, own));
    }
    let all_paths = index.attack_paths();
    let path_count = all_paths.len();
    let sites: Vec<crate::graph::fixplan::FindingSite> = findings
        .iter()
        .map(crate::graph::fixplan::FindingSite::of)
        .collect();
    let fix_plan = crate::graph::fixplan::plan(&graph, &all_paths, &sites, Default::default());
    let attack_paths: Vec<AttackPath> = all_paths.into_iter().take(MAX_REPORTED_PATHS).collect();
    // The objects on the reported paths, located; a node of another cluster (`[B] ref`) in B.
    let mut locations = BTreeMap::new();
    for p in &attack_paths {
        for n in &p.nodes {
            let (other, reference) = crate::graph::paths::split_reference(n);
            let cluster = other.unwrap_or(&p.cluster);
            if let Some(src) = sources.get(&(cluster.to_string(), reference.to_string())) {
                locations.insert((p.cluster.clone(), n.clone()), src.clone());
            }
        }
    }
    drop(sources);
    annotate(
        &mut findings,
        &graph,
        &index,
        &attack_paths,
        &binding_subjects,
    );
    let (graph_nodes, graph_edges) = graph.size();
    findings.sort_by(|a, b| {
        b.on_attack_path
            .cmp(&a.on_attack_path)
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| a.cluster.cmp(&b.cluster))
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| a.resource.cmp(&b.resource))
            .then_with(|| a.message.cmp(&b.message))
    });
    let mut summary = Summary {
        clusters: clusters.len(),
        objects: clusters.iter().map(|c| c.objects).sum(),
        findings: findings.len(),
        errors: errors.len(),
        suppressed: suppressed.len(),
        attack_paths: path_count,
        graph: GraphSize {
            nodes: graph_nodes,
            edges: graph_edges,
        },
        ..Default::default()
    };
    for f in &findings {
        *summary.by_severity.entry(f.severity).or_insert(0) += 1;
    }
    let report = Report {
        schema_version: REPORT_SCHEMA_VERSION.into(),
        tool: Tool {
            name: "kspm".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        summary,
        clusters,
        findings,
        attack_paths,
        fix_plan,
        compliance,
        errors,
        suppressed,
        locations,
    };
    (report, graph)
}

/// The pending hits ([`Pending`]) that the graph confirms, each with its suppression reason:
/// every identity a hit names (evidence `identity:<node>`) is looked up and what it reaches —
/// cluster admin or every Secret of any cluster, a cloud account's admin; root on a node is not
/// enough, the pods' own node is where they run already — is handed to the check's own rule
/// ([`checks::settle`]), which keeps, rewrites or drops the hit. A kept hit's fingerprint is
/// computed again from the evidence it keeps.
pub(crate) fn judge_on_fleet_graph<'p>(
    pending: impl IntoIterator<Item = &'p Pending>,
    graph: &AttackGraph,
    index: &crate::graph::paths::PathIndex<'_>,
) -> Vec<(Finding, Option<String>)> {
    // Computed once, on the first hit that names a workload.
    let exposed = std::cell::OnceCell::new();
    pending
        .into_iter()
        .filter_map(|p| {
            let f = &p.finding;
            let held_by = f
                .evidence
                .iter()
                .filter_map(|e| e.path.strip_prefix(checks::HELD_BY_EVIDENCE))
                .map(|reference| checks::Reached {
                    identity: reference.to_string(),
                    sinks: Vec::new(),
                    internet_exposed: false,
                    held_by: crate::graph::query::Query::new(graph)
                        .cloud_holders(
                            &f.cluster,
                            &std::collections::HashSet::from([reference.to_string()]),
                            reference == "AllSecrets",
                        )
                        .into_iter()
                        .filter(|h| h.becomes == reference)
                        .collect(),
                });
            let reached: Vec<checks::Reached> = f
                .evidence
                .iter()
                .filter_map(|e| e.path.strip_prefix(checks::IDENTITY_EVIDENCE))
                .map(|identity| {
                    let node = graph
                        .find(None, identity)
                        .or_else(|| graph.find(Some(&f.cluster), identity));
                    let sinks = node.map(|n| index.reach_everywhere(n)).unwrap_or_default();
                    let internet_exposed = node
                        .is_some_and(|n| graph.graph[n].kind == crate::graph::NodeKind::Workload)
                        && graph
                            .find(Some(&f.cluster), &format!("Endpoint:{identity}"))
                            .is_some_and(|e| {
                                exposed
                                    .get_or_init(|| graph.internet_exposed())
                                    .contains(&e)
                            });
                    checks::Reached {
                        identity: identity.to_string(),
                        internet_exposed,
                        sinks: sinks
                            .into_iter()
                            .filter(|(_, sink, _)| *sink != crate::graph::paths::Sink::NodeRoot)
                            .map(|(key, sink, hops)| {
                                let name = if key == f.cluster {
                                    sink.as_str().to_string()
                                } else if sink == crate::graph::paths::Sink::CloudAdmin {
                                    format!("{} of {key}", sink.as_str())
                                } else {
                                    format!("{} of cluster {key}", sink.as_str())
                                };
                                (name, hops)
                            })
                            .collect(),
                        held_by: Vec::new(),
                    }
                })
                .chain(held_by)
                .collect();
            let mut f = checks::settle(f, &reached)?;
            f.fingerprint =
                crate::finding::fingerprint(&f.cluster, &f.check, &f.resource, &f.evidence);
            Some((f, p.suppressed.clone()))
        })
        .collect()
}

/// Marks the findings whose resource lies on one of `attack_paths` and attaches what each
/// resource can reach in the graph.
pub(crate) fn annotate(
    findings: &mut [Finding],
    graph: &AttackGraph,
    index: &crate::graph::paths::PathIndex<'_>,
    attack_paths: &[AttackPath],
    binding_subjects: &std::collections::HashMap<(String, String), Vec<String>>,
) {
    let on_path: std::collections::HashSet<(&str, &str)> = attack_paths
        .iter()
        .flat_map(|p| {
            p.nodes
                .iter()
                .map(move |n| (p.cluster.as_str(), n.as_str()))
        })
        .collect();
    // Bindings whose grants a reported path uses (evidence names them as `Binding:... →`).
    let mut bindings_on_paths: std::collections::HashSet<(String, String)> =
        std::collections::HashSet::new();
    for p in attack_paths {
        for s in &p.steps {
            for (i, _) in s.evidence.match_indices("Binding:") {
                let start = s.evidence[..i]
                    .rfind(|c: char| c.is_whitespace())
                    .map_or(0, |x| x + 1);
                if let Some(end) = s.evidence[i..].find(" →") {
                    bindings_on_paths
                        .insert((p.cluster.clone(), s.evidence[start..i + end].to_string()));
                }
            }
        }
    }
    let mut radius_cache: std::collections::HashMap<(String, String), Option<BlastRadius>> =
        std::collections::HashMap::new();
    for f in findings.iter_mut() {
        let is_binding = matches!(
            f.resource.split_once(':').map(|(k, _)| k),
            Some("ClusterRoleBinding") | Some("RoleBinding")
        );
        let refs: Vec<String> = match f.resource.split_once(':').map(|(k, _)| k) {
            Some("ClusterRoleBinding") | Some("RoleBinding") => binding_subjects
                .get(&(f.cluster.clone(), f.resource.clone()))
                .cloned()
                .unwrap_or_default(),
            Some("KubeletConfiguration") => {
                vec![f.resource.replacen("KubeletConfiguration:", "Node:", 1)]
            }
            _ => vec![f.resource.clone()],
        };
        f.on_attack_path = if is_binding {
            bindings_on_paths.contains(&(f.cluster.clone(), f.resource.clone()))
        } else {
            refs.iter()
                .any(|r| on_path.contains(&(f.cluster.as_str(), r.as_str())))
        };
        f.blast_radius = radius_cache
            .entry((f.cluster.clone(), f.resource.clone()))
            .or_insert_with(|| {
                let mut radius = BlastRadius {
                    reaches: std::collections::BTreeMap::new(),
                };
                for r in &refs {
                    if let Some(i) = graph.find(Some(&f.cluster), r) {
                        for (sink, hops) in index.blast_radius(&f.cluster, i).reaches {
                            let e = radius.reaches.entry(sink).or_insert(hops);
                            *e = (*e).min(hops);
                        }
                    }
                }
                (!radius.reaches.is_empty()).then_some(radius)
            })
            .clone();
    }
}

/// The fleet's joined attack graph and what the cloud pass reported (for tests and queries
/// that need the graph itself rather than the report).
pub fn fleet_graph(snapshot: &Snapshot, options: &ScanOptions) -> (AttackGraph, Vec<ReportError>) {
    let catalogue = checks::catalogue();
    let mut graph = AttackGraph::default();
    let mut cloud = CloudParts::default();
    for c in &snapshot.clusters {
        let r = evaluate_one(c, &catalogue, options);
        cloud.add(r.cloud);
        graph.absorb(r.graph);
    }
    let (errors, _) = cloud_bridges(&mut graph, cloud, &snapshot.cloud);
    (graph, errors)
}

/// What one cluster brings to the fleet-wide cloud pass.
#[derive(Default, Clone)]
pub(crate) struct ClusterCloud {
    eks: Option<crate::cloud::eks::EksFacts>,
    gke: Option<crate::cloud::gcp::GkeFacts>,
    aks: Option<crate::cloud::azure::AksFacts>,
    /// Account, project and subscription documents found in the cluster's `cloud/`.
    iam: Vec<crate::Object>,
}

impl ClusterCloud {
    /// Whether the cluster carries any cloud facts or documents.
    pub(crate) fn is_present(&self) -> bool {
        self.eks.is_some() || self.gke.is_some() || self.aks.is_some() || !self.iam.is_empty()
    }

    pub(crate) fn of(inv: &Inventory<'_>, rbac: &Rbac) -> ClusterCloud {
        ClusterCloud {
            eks: crate::cloud::eks::facts(inv, crate::graph::BoundNames::users_of(rbac)),
            gke: crate::cloud::gcp::facts(inv),
            aks: crate::cloud::azure::facts(inv),
            iam: crate::cloud::documents::IAM_KINDS
                .iter()
                .flat_map(|k| inv.of_kind(k).iter().map(|o| (*o).clone()))
                .collect(),
        }
    }

    /// These facts under another RBAC state of the same cluster (its objects otherwise alike),
    /// whose bindings name `bound`: RBAC decides only the user names bindings name.
    pub(crate) fn under(&self, bound: &crate::graph::BoundNames) -> ClusterCloud {
        let mut facts = self.clone();
        if let Some(eks) = &mut facts.eks {
            eks.bound_users = bound.users().to_vec();
        }
        facts
    }

    /// These facts with the ServiceAccounts of `shared` (which holds every ServiceAccount
    /// object of the cluster, its other objects alike) and those pod templates name without
    /// an object, `unlisted` (what [`crate::cloud::service_accounts`] reads of the whole
    /// cluster).
    pub(crate) fn with_accounts(
        &self,
        shared: &Inventory<'_>,
        unlisted: &std::collections::BTreeSet<(String, String)>,
    ) -> ClusterCloud {
        let accounts = |annotation: &str| {
            crate::cloud::service_accounts_of(
                shared.of_kind("ServiceAccount").iter().copied(),
                unlisted.iter().map(|(ns, n)| (ns.as_str(), n.as_str())),
                annotation,
            )
        };
        let mut facts = self.clone();
        if let Some(f) = &mut facts.eks {
            f.service_accounts = accounts(crate::cloud::eks::ROLE_ANNOTATION);
        }
        if let Some(f) = &mut facts.gke {
            f.service_accounts = accounts(crate::cloud::gcp::GSA_ANNOTATION);
        }
        if let Some(f) = &mut facts.aks {
            f.service_accounts = accounts(crate::cloud::azure::CLIENT_ID_ANNOTATION);
        }
        facts
    }
}

/// Every cluster's cloud side, gathered for the fleet-wide pass.
#[derive(Default)]
pub(crate) struct CloudParts {
    eks: Vec<crate::cloud::eks::EksFacts>,
    gke: Vec<crate::cloud::gcp::GkeFacts>,
    aks: Vec<crate::cloud::azure::AksFacts>,
    iam: Vec<crate::Object>,
}

impl CloudParts {
    pub(crate) fn add(&mut self, c: ClusterCloud) {
        self.eks.extend(c.eks);
        self.gke.extend(c.gke);
        self.aks.extend(c.aks);
        self.iam.extend(c.iam);
    }
}

/// A check the cloud data leaves unassessed on one cluster: (cluster, check, why — starting
/// with [`crate::compliance::COVERAGE_GAP`]).
pub(crate) type Unassessed = (String, &'static str, String);

/// Joins the clusters to the IAM of every scanned AWS account, GCP project and Azure
/// subscription (fleet documents and those in the clusters' own `cloud/` directories); returns
/// what could not be read or verified, and the checks that leaves unassessed.
pub(crate) fn cloud_bridges(
    graph: &mut AttackGraph,
    parts: CloudParts,
    fleet_cloud: &[crate::Object],
) -> (Vec<ReportError>, Vec<Unassessed>) {
    use crate::cloud::documents::{details_account, spec, AWS_AUTHORIZATION_DETAILS};
    let all: Vec<&crate::Object> = fleet_cloud.iter().chain(parts.iam.iter()).collect();
    let mut pages: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    let mut page_names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut origins: BTreeMap<String, String> = BTreeMap::new();
    for o in all.iter().filter(|o| o.kind == AWS_AUTHORIZATION_DETAILS) {
        let acct = details_account(o).to_string();
        origins
            .entry(acct.clone())
            .or_insert_with(|| o.source.file.clone());
        page_names
            .entry(acct.clone())
            .or_default()
            .push(o.name.clone());
        pages.entry(acct).or_default().push(spec(o).clone());
    }
    let mut errors = Vec::new();
    let note = |cluster: Option<String>, file: String, message: String| ReportError {
        cluster,
        file,
        line: None,
        column: None,
        message,
    };
    let accounts: crate::graph::cloud::Accounts = pages
        .into_iter()
        .map(|(acct, p)| {
            let mut a = crate::cloud::aws_account::Account::from_gaad(&p);
            a.pages = page_names.remove(&acct).unwrap_or_default();
            let file = origins.get(&acct).cloned().unwrap_or_default();
            errors.extend(
                a.errors
                    .iter()
                    .map(|e| note(None, file.clone(), format!("IAM of account {acct}: {e}"))),
            );
            (acct, a)
        })
        .collect();
    for f in &parts.eks {
        errors.extend(
            f.errors
                .iter()
                .map(|e| note(Some(f.cluster.clone()), "cloud".into(), e.clone())),
        );
    }
    let gcp = crate::cloud::gcp::GcpIam::from_objects(all.iter().copied());
    let azure = crate::cloud::azure::AzureRbac::from_objects(all.iter().copied());
    let mut notes = graph.add_aws_bridges(&parts.eks, &accounts);
    notes.extend(graph.add_gcp_bridges(&parts.gke, &gcp));
    notes.extend(graph.add_azure_bridges(&parts.aks, &azure));
    // An AKS cluster whose subscription's role assignments were not read: who holds it through
    // Azure is unknown, so the check that names them is not assessed (not passed).
    let mut unassessed = Vec::new();
    for f in parts
        .aks
        .iter()
        .filter(|f| !f.subscription.is_empty() && !azure.assignments_read(&f.subscription))
    {
        notes.push((f.cluster.clone(), format!(
            "no role assignment of subscription {} was read (az role assignment list --all --include-inherited): Azure principals that may fetch an admin kubeconfig (KSPM-A-012), Azure RBAC for Kubernetes and the subscription's admins are not assessed",
            f.subscription)));
        // With Entra integration and no local accounts no credential is an admin one: the
        // check's answer does not depend on who holds which role.
        if f.entra && !f.local_accounts {
            continue;
        }
        unassessed.push((
            f.cluster.clone(),
            "KSPM-A-012",
            format!(
                "{} AzureRoleAssignment of subscription {}",
                crate::compliance::COVERAGE_GAP,
                f.subscription
            ),
        ));
    }
    for (cluster, message) in notes {
        errors.push(note(Some(cluster), "cloud".into(), message));
    }
    (errors, unassessed)
}

/// The first kind a check needs that the collector could not list.
fn coverage_gap<'g>(check: &checks::Check, gaps: &'g [String]) -> Option<&'g str> {
    const RBAC_KINDS: &[&str] = &["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];
    // Effective-permission checks need every RBAC kind, whatever object they report on.
    let needs_rbac =
        check.id.starts_with("KSPM-R-") || ["KSPM-S-008", "KSPM-N-019"].contains(&check.id);
    gaps.iter()
        .find(|g| {
            check.kinds.contains(&g.as_str()) || (needs_rbac && RBAC_KINDS.contains(&g.as_str()))
        })
        .map(String::as_str)
}

/// Everything one cluster contributes to the report (see [`evaluate_cluster_result`]).
pub struct ClusterResult {
    findings: Vec<Finding>,
    /// Hits of the checks the fleet's graph judges ([`judge_on_fleet_graph`]).
    pending: Vec<Pending>,
    suppressed: Vec<Suppressed>,
    /// The checks that did not run, and why (the compliance summary reads them once the
    /// fleet's graph has judged the pending findings).
    skipped: std::collections::BTreeMap<&'static str, String>,
    info: crate::snapshot::ClusterInfo,
    summary: ClusterSummary,
    errors: Vec<ReportError>,
    graph: AttackGraph,
    binding_subjects: Vec<((String, String), Vec<String>)>,
    cloud: ClusterCloud,
    /// Node reference → where its object was read from, for every graph node that is an object.
    locations: std::collections::HashMap<String, crate::object::Source>,
}

impl ClusterResult {
    /// The cluster's attack graph (before it is joined with the fleet's).
    pub fn graph(&self) -> &AttackGraph {
        &self.graph
    }
}

/// Evaluates one cluster on its own; [`assemble`] joins the results into a report. This lets a
/// caller read, evaluate and drop one cluster at a time instead of holding the whole fleet.
pub fn evaluate_cluster_result(cluster: &ClusterSnapshot, options: &ScanOptions) -> ClusterResult {
    evaluate_one(cluster, &checks::catalogue(), options)
}

fn evaluate_one(
    cluster: &ClusterSnapshot,
    catalogue: &[&'static checks::Check],
    options: &ScanOptions,
) -> ClusterResult {
    let placed;
    let cluster = match &options.default_namespace {
        Some(ns) => {
            placed = with_default_namespace(cluster, ns);
            &placed
        }
        None => cluster,
    };
    let inv = Inventory::new(cluster);
    let rbac = cluster_rbac(&inv);
    // The attack graph is built on a thread of its own while the checks that do not read it
    // run (on every core for a large cluster); then the few that read it.
    let without_graph = Context {
        inv: &inv,
        rbac: &rbac,
        graph: None,
        options,
        reports: &checks::every_object,
    };
    let build = || {
        let mut graph = AttackGraph::default();
        graph.build_cluster_with(cluster, &inv, &rbac, &options.vulnerabilities);
        graph
    };
    let early = |c: &checks::Check| !c.needs.reads_the_graph();
    let (ran_early, graph) = if inv.objects().len() >= PARALLEL_CHECKS_FROM {
        crate::parallel::both(|| run_checks(&without_graph, catalogue, early), build)
    } else {
        let ran = run_checks(&without_graph, catalogue, early);
        (ran, build())
    };
    let cloud = ClusterCloud::of(&inv, &rbac);
    let with_graph = Context {
        graph: Some(&graph),
        ..without_graph
    };
    let ran_late = run_checks(&with_graph, catalogue, |c| c.needs.reads_the_graph());
    let ran = ran_early
        .into_iter()
        .zip(ran_late)
        .map(|(early, late)| early.or(late))
        .collect();
    let evaluation = findings_of(cluster, &inv, catalogue, ran, options, &|_| true);
    ClusterResult::of_evaluation(&inv, &rbac, graph, cloud, evaluation, catalogue)
}

impl ClusterResult {
    /// The result of one cluster from its evaluation: `inv` holds every object of the cluster
    /// (its `cluster` gives the identity, origin and read errors), `graph` is its attack graph
    /// before the fleet's cloud bridges, `cloud` what it brings to them. (The incremental engine
    /// builds one from its parts: [`crate::incremental::Incremental::cluster_result`].)
    pub(crate) fn of_evaluation(
        inv: &Inventory<'_>,
        rbac: &Rbac,
        graph: AttackGraph,
        cloud: ClusterCloud,
        evaluation: Evaluation,
        catalogue: &[&'static checks::Check],
    ) -> ClusterResult {
        let cluster = inv.cluster;
        let Evaluation {
            findings,
            pending,
            suppressed,
            skipped,
        } = evaluation;
        let kinds = inv.kind_counts();
        // Kinds some check reads are evaluated, as are those the graph and the inventory read.
        let checked: std::collections::HashSet<&str> = catalogue
            .iter()
            .flat_map(|c| c.kinds.iter().copied())
            .collect();
        let unevaluated_kinds = kinds
            .iter()
            .filter(|(k, _)| {
                !EVALUATED_KINDS.contains(&k.as_str())
                    && !checked.contains(k.as_str())
                    && !crate::cloud::documents::CLOUD_KINDS.contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let mut by_sev = BTreeMap::new();
        for f in &findings {
            *by_sev.entry(f.severity).or_insert(0) += 1;
        }
        ClusterResult {
            skipped,
            info: cluster.info.clone(),
            pending,
            summary: ClusterSummary {
                name: cluster.info.name.clone(),
                provider: cluster.info.provider,
                kubernetes_version: cluster.info.kubernetes_version.clone(),
                region: cluster.info.region.clone(),
                account: cluster.info.account.clone(),
                origin: cluster.origin.clone(),
                objects: inv.objects().len(),
                kinds,
                unevaluated_kinds,
                findings_by_severity: by_sev,
                errors: cluster.errors.len(),
            },
            errors: cluster
                .errors
                .iter()
                .map(|e| ReportError::from_load(Some(&cluster.info.name), e))
                .chain(misplaced_service_accounts(inv, rbac))
                .collect(),
            findings,
            suppressed,
            locations: object_locations(inv, &graph),
            graph,
            binding_subjects: binding_subjects(&cluster.info.name, rbac).collect(),
            cloud,
        }
    }
}

/// Where each object that is a node of the cluster's graph was read from.
fn object_locations(
    inv: &Inventory<'_>,
    graph: &AttackGraph,
) -> std::collections::HashMap<String, crate::object::Source> {
    let cluster = inv.cluster.info.name.as_str();
    inv.objects()
        .iter()
        .filter_map(|o| {
            let r = o.node_ref();
            graph.find(Some(cluster), &r).map(|_| (r, o.source.clone()))
        })
        .collect()
}

/// The cluster with every namespaced object that names no namespace placed in `ns`.
fn with_default_namespace(cluster: &ClusterSnapshot, ns: &str) -> ClusterSnapshot {
    let mut c = cluster.clone();
    for o in &mut c.objects {
        if o.namespace.is_none() && !o.is_cluster_scoped() {
            o.namespace = Some(ns.to_string());
            if let Some(meta) = o
                .body
                .get_mut("metadata")
                .and_then(serde_json::Value::as_object_mut)
            {
                meta.insert(
                    "namespace".into(),
                    serde_json::Value::String(ns.to_string()),
                );
            }
        }
    }
    c
}

/// Bindings whose ServiceAccount subject names a namespace that has no such ServiceAccount while
/// `default` has one: manifests meant for `kubectl apply -n NS` read without it, so the
/// binding's grants miss the workload that would hold them.
fn misplaced_service_accounts(inv: &Inventory<'_>, rbac: &Rbac) -> Vec<ReportError> {
    let cluster = inv.cluster;
    let sas: std::collections::HashSet<(&str, &str)> = inv
        .of_kind("ServiceAccount")
        .iter()
        .filter_map(|o| Some((o.effective_namespace()?, o.name.as_str())))
        .collect();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for b in rbac.bindings.iter().filter(|b| !b.assumed_default) {
        for s in &b.subjects {
            let crate::rbac::Subject::ServiceAccount { namespace, name } = s else {
                continue;
            };
            if namespace != "default"
                && !sas.contains(&(namespace.as_str(), name.as_str()))
                && sas.contains(&("default", name.as_str()))
                && seen.insert(namespace.clone())
            {
                out.push(ReportError {
                    cluster: Some(cluster.info.name.clone()),
                    file: b.node_ref.clone(),
                    line: None,
                    column: None,
                    message: format!(
                        "binds ServiceAccount {namespace}/{name}, which the input lacks, while default/{name} exists: manifests meant for `kubectl apply -n {namespace}` were read into `default`; scan with --namespace {namespace}"
                    ),
                });
            }
        }
    }
    out
}

/// The subjects of every binding, by (cluster, binding reference): a finding on a binding is on
/// an attack path when its subjects are.
pub(crate) fn binding_subjects<'r>(
    cluster: &'r str,
    rbac: &'r Rbac,
) -> impl Iterator<Item = ((String, String), Vec<String>)> + 'r {
    rbac.bindings.iter().map(move |b| {
        (
            (cluster.to_string(), b.node_ref.clone()),
            b.subjects.iter().map(|s| s.node_ref()).collect(),
        )
    })
}

/// The effective RBAC of a cluster as every check and the graph see it: its RBAC objects and,
/// on EKS, the access policies (for `who-can` and `can-i`).
pub fn effective_rbac(cluster: &ClusterSnapshot) -> Rbac {
    cluster_rbac(&Inventory::new(cluster))
}

/// The effective RBAC of the cluster `inv` holds: its RBAC objects and, on EKS, the access
/// policies (authorized beside RBAC, they join it as synthetic bindings).
pub(crate) fn cluster_rbac(inv: &Inventory<'_>) -> Rbac {
    let minor = inv.cluster.info.version().map(|(_, m)| m);
    let access_policies = crate::cloud::eks::access_policy_objects(inv);
    Rbac::build_with(
        inv.objects().iter().copied(),
        &access_policies,
        minor,
        inv.cluster.info.provider,
    )
}

/// The RBAC of the [`Piece`](crate::rbac::Piece)s of a cluster's RBAC objects (every one, in
/// the order of the objects), with the EKS access policies `inv` holds: what [`cluster_rbac`]
/// reads from the objects themselves.
pub(crate) fn rbac_of<'p>(
    pieces: impl IntoIterator<Item = &'p crate::rbac::Piece>,
    inv: &Inventory<'_>,
) -> Rbac {
    let minor = inv.cluster.info.version().map(|(_, m)| m);
    let access_policies: Vec<crate::rbac::Piece> = crate::cloud::eks::access_policy_objects(inv)
        .iter()
        .map(|o| crate::rbac::Piece::of(o, true))
        .collect();
    Rbac::assemble(
        pieces.into_iter().cloned().chain(access_policies),
        minor,
        inv.cluster.info.provider,
    )
}

/// A hit of a check the fleet's graph judges ([`checks::Check::judged_on_the_fleet_graph`]),
/// with the reason it is suppressed if it is (an exception or the object's annotation, decided
/// where the object is at hand and applied once the graph has confirmed it).
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) finding: Finding,
    pub(crate) suppressed: Option<String>,
}

/// What running the catalogue on one cluster (or part of one) gives.
pub(crate) struct Evaluation {
    /// Findings.
    pub(crate) findings: Vec<Finding>,
    /// Hits the fleet's graph judges ([`judge_on_fleet_graph`]).
    pub(crate) pending: Vec<Pending>,
    /// Findings an exception or annotation suppresses.
    pub(crate) suppressed: Vec<Suppressed>,
    /// The checks that did not run, and why.
    pub(crate) skipped: std::collections::BTreeMap<&'static str, String>,
}

/// Why `check` does not run on the cluster `ctx` holds (`None`: it runs): not in the
/// options' profile, a kind it needs could not be listed, or input it needs is missing.
fn skip_reason(check: &checks::Check, ctx: &checks::Context<'_>) -> Option<String> {
    if check.profile > ctx.options.profile {
        return Some(format!("{} is not in the selected profile", check.id));
    }
    if let Some(kind) = coverage_gap(check, &ctx.inv.cluster.coverage_gaps) {
        return Some(format!("{} {kind}", crate::compliance::COVERAGE_GAP));
    }
    check.needs.missing(ctx).map(str::to_string)
}

/// The checks of `catalogue` that do not run on the cluster `inv` holds (every object), and why
/// ([`evaluate_cluster`]'s `skipped`, for a caller that ran the checks on parts of it).
pub(crate) fn skipped_checks(
    inv: &Inventory<'_>,
    rbac: &Rbac,
    graph: Option<&AttackGraph>,
    catalogue: &[&'static checks::Check],
    options: &ScanOptions,
) -> std::collections::BTreeMap<&'static str, String> {
    let ctx = Context {
        inv,
        rbac,
        graph,
        options,
        reports: &checks::every_object,
    };
    catalogue
        .iter()
        .filter_map(|c| Some((c.id, skip_reason(c, &ctx)?)))
        .collect()
}

/// From how many objects the checks of one cluster (or namespace part) run on every core:
/// below it, starting threads costs more than it saves.
const PARALLEL_CHECKS_FROM: usize = 2000;

/// Runs the catalogue on `inv` (objects of `cluster`, whose attack graph `graph` is when the
/// caller built it), keeping the hits on objects `keep` accepts.
pub(crate) fn evaluate_cluster(
    cluster: &ClusterSnapshot,
    inv: &Inventory<'_>,
    rbac: &Rbac,
    graph: Option<&AttackGraph>,
    catalogue: &[&'static checks::Check],
    options: &ScanOptions,
    keep: &(dyn Fn(&crate::Object) -> bool + Sync),
) -> Evaluation {
    let ctx = Context {
        inv,
        rbac,
        graph,
        options,
        reports: keep,
    };
    let ran = run_checks(&ctx, catalogue, |_| true);
    findings_of(cluster, inv, catalogue, ran, options, keep)
}

/// What one check gave: its hits, or why it did not run.
type Ran<'a> = Result<Vec<checks::Hit<'a>>, String>;

/// Runs the checks of `catalogue` that `chosen` accepts, on every core for a large input (the
/// checks only read); one slot per check of the catalogue, in its order whatever the
/// scheduling (`None` for those not chosen).
fn run_checks<'a>(
    ctx: &Context<'a>,
    catalogue: &[&'static checks::Check],
    chosen: impl Fn(&checks::Check) -> bool + Sync,
) -> Vec<Option<Ran<'a>>> {
    let run = |check: &&'static checks::Check| -> Option<Ran<'a>> {
        if !chosen(check) {
            return None;
        }
        Some(match skip_reason(check, ctx) {
            Some(why) => Err(why),
            None => Ok((check.run)(ctx)),
        })
    };
    if ctx.inv.objects().len() >= PARALLEL_CHECKS_FROM {
        parallel_map(catalogue, run)
    } else {
        catalogue.iter().map(run).collect()
    }
}

/// The findings of the checks' hits (`ran`, one slot per check of `catalogue`; an empty slot is
/// a check not run) on the objects `keep` accepts: exceptions and ignore annotations applied,
/// those judged on the fleet graph set aside.
fn findings_of(
    cluster: &ClusterSnapshot,
    inv: &Inventory<'_>,
    catalogue: &[&'static checks::Check],
    ran: Vec<Option<Ran<'_>>>,
    options: &ScanOptions,
    keep: &dyn Fn(&crate::Object) -> bool,
) -> Evaluation {
    let mut out = Vec::new();
    let mut pending = Vec::new();
    let mut suppressed = Vec::new();
    let mut skipped = std::collections::BTreeMap::new();
    // What the vulnerability reports say of each workload's containers, for its findings.
    let vulnerabilities: std::collections::HashMap<
        String,
        Vec<crate::vulns::ContainerVulnerabilities>,
    > = if options.vulnerabilities.is_empty() {
        std::collections::HashMap::new()
    } else {
        inv.templates()
            .iter()
            .filter_map(|t| {
                let scanned = options.vulnerabilities.assess(t, inv)?.scanned();
                (!scanned.is_empty()).then(|| (t.owner.node_ref(), scanned))
            })
            .collect()
    };
    for (check, ran) in catalogue.iter().zip(ran) {
        let hits = match ran {
            Some(Ok(hits)) => hits,
            None => continue,
            Some(Err(why)) => {
                skipped.insert(check.id, why);
                continue;
            }
        };
        for hit in hits {
            if !keep(hit.object) {
                continue;
            }
            let ignored_by_annotation =
                hit.object
                    .annotations
                    .get(IGNORE_ANNOTATION)
                    .is_some_and(|v| {
                        v.split(',')
                            .any(|id| id.trim() == check.id || id.trim() == "*")
                    });
            let resource = hit.object.node_ref();
            let known = vulnerabilities.get(&resource).cloned().unwrap_or_default();
            let finding = Finding {
                check: check.id.into(),
                fingerprint: crate::finding::fingerprint(
                    &cluster.info.name,
                    check.id,
                    &resource,
                    &hit.evidence,
                ),
                title: check.title.into(),
                severity: hit.severity.unwrap_or(check.severity),
                cluster: cluster.info.name.clone(),
                resource,
                object: crate::finding::ObjectRef::of(hit.object),
                namespace: hit.object.effective_namespace().map(str::to_string),
                message: hit.message,
                remediation: check.remediation.into(),
                evidence: hit.evidence,
                controls: check
                    .controls
                    .iter()
                    .filter(|c| c.framework.applies_to(cluster.info.provider))
                    .map(ControlRef::from)
                    .collect(),
                source: hit.object.source.clone(),
                on_attack_path: false,
                blast_radius: None,
                vulnerabilities: known,
            };
            let reason = if ignored_by_annotation {
                Some(format!("annotation {IGNORE_ANNOTATION}"))
            } else {
                options
                    .exceptions
                    .iter()
                    .find(|e| e.matches(&finding, options.today.as_deref()))
                    .map(|e| e.reason.clone())
            };
            if check.judged_on_the_fleet_graph() {
                pending.push(Pending {
                    finding,
                    suppressed: reason,
                });
                continue;
            }
            match reason {
                Some(reason) => suppressed.push(Suppressed::of(finding, reason)),
                None => out.push(finding),
            }
        }
    }
    crate::finding::disambiguate(&mut out);
    Evaluation {
        findings: out,
        pending,
        suppressed,
        skipped,
    }
}

impl Suppressed {
    fn of(f: Finding, reason: String) -> Suppressed {
        Suppressed {
            check: f.check,
            cluster: f.cluster,
            resource: f.resource,
            reason,
        }
    }
}
