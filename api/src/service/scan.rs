//! One scan of one target: its source (snapshot paths, a live cluster, or cloud discovery with
//! any paths beside it) read and evaluated through the one pipeline ([`crate::pipeline`]), and
//! the result shaped for the store — the report's findings and paths, and per cluster its
//! summary, compliance, attack graph and posture digest.

use super::config::Target;
use super::store::{new_scan_id, now_ms, ClusterRecord, ScanRecord};
use crate::pipeline::{self, Source};
use kspm_collectors::live::{http::Limits, LiveOptions};
use kspm_engine::drift::Facts;
use kspm_engine::evaluate::ClusterResult;
use kspm_engine::snapshot::ClusterSnapshot;
use kspm_engine::{evaluate_cluster_result, LoadError, ScanOptions};

/// Evaluates one cluster and keeps what the store needs besides the report.
pub fn evaluate(
    cluster: &ClusterSnapshot,
    options: &ScanOptions,
) -> (ClusterResult, ClusterRecord) {
    let result = evaluate_cluster_result(cluster, options);
    let facts = Facts::collect(cluster, result.graph());
    let record = cluster_record(cluster, &result, facts);
    (result, record)
}

/// What the store keeps of one cluster besides the report: `cluster` gives its name and
/// coverage gaps (its objects are not read), `facts` its posture digest.
fn cluster_record(
    cluster: &ClusterSnapshot,
    result: &ClusterResult,
    facts: Facts,
) -> ClusterRecord {
    ClusterRecord {
        name: cluster.info.name.clone(),
        reached: true,
        coverage_gaps: cluster.coverage_gaps.clone(),
        facts,
        graph: result.graph().dump(),
        ..Default::default()
    }
}

/// The read options for a live target.
pub fn live_options(target: &Target) -> LiveOptions {
    LiveOptions {
        kubeconfig: target.kubeconfig.clone(),
        context: target.context.clone(),
        limits: Limits::default(),
        concurrency: 4,
        page_size: 500,
        skip_kubelet_config: !target.kubelet_config,
    }
}

/// Clusters evaluated for one scan, before they are joined into a report.
#[derive(Default)]
pub struct Evaluated {
    results: Vec<ClusterResult>,
    records: Vec<ClusterRecord>,
    fleet_errors: Vec<LoadError>,
    /// Fleet-level cloud documents.
    fleet_cloud: Vec<kspm_engine::Object>,
    /// Clusters that could not be read at all: (name, why).
    unreached: Vec<(String, String)>,
}

impl From<pipeline::Evaluated<(ClusterResult, ClusterRecord)>> for Evaluated {
    fn from(e: pipeline::Evaluated<(ClusterResult, ClusterRecord)>) -> Evaluated {
        let (results, records) = e.clusters.into_iter().unzip();
        Evaluated {
            results,
            records,
            fleet_errors: e.fleet_errors,
            fleet_cloud: e.fleet_cloud,
            unreached: Vec::new(),
        }
    }
}

impl Evaluated {
    /// Evaluates one cluster into the set.
    pub fn add(&mut self, cluster: &ClusterSnapshot, options: &ScanOptions) {
        let (r, rec) = evaluate(cluster, options);
        self.results.push(r);
        self.records.push(rec);
    }

    /// Adds a cluster the incremental engine holds evaluated, as [`Evaluated::add`] would add
    /// its objects, without evaluating them again: its result
    /// ([`kspm_engine::incremental::Incremental::cluster_result`]) and the digest of its
    /// objects ([`kspm_engine::incremental::Incremental::object_facts`]).
    pub fn add_held(
        &mut self,
        meta: &ClusterSnapshot,
        result: ClusterResult,
        mut object_facts: Facts,
    ) {
        object_facts
            .categories
            .extend(Facts::of_graph(result.graph()).categories);
        self.records
            .push(cluster_record(meta, &result, object_facts));
        self.results.push(result);
    }

    /// Records inputs that belong to no cluster and could not be read.
    pub fn fleet_errors(&mut self, errors: Vec<LoadError>) {
        self.fleet_errors.extend(errors);
    }

    /// Records a cluster that could not be read.
    pub fn unreached(&mut self, name: String, why: String) {
        self.unreached.push((name, why));
    }
}

/// Scans a target and returns the record to commit (not yet committed). A live cluster that
/// cannot be reached yields a scan with that cluster marked unreached and the error recorded;
/// an evaluation that fails (an engine bug) is an error, never an empty scan.
pub async fn run(
    tenant: &str,
    target: &Target,
    options: &ScanOptions,
    replica: &str,
) -> Result<ScanRecord, String> {
    let failed = |e: tokio::task::JoinError| format!("evaluation of {} failed: {e}", target.name);
    let started_at = now_ms();
    let options = {
        let target = target.clone();
        let options = options.clone();
        tokio::task::spawn_blocking(move || with_vulnerabilities(&target, options))
            .await
            .map_err(failed)?
    };
    let clouds = target.cloud_targets();
    let live = live_options(target);
    let source = match &clouds {
        Some(clouds) => Source::Cloud(clouds, &live, &target.paths),
        None if target.is_live() => Source::Live(&live, &target.paths),
        None => Source::Paths(&target.paths),
    };
    // (Boxed: the read's future is deep, and scan jobs spawn this one.)
    let ev = match Box::pin(source.read()).await {
        Ok(read) => {
            let roots = vuln_roots(target);
            tokio::task::spawn_blocking(move || {
                // The fleet's own `vulns/` directories join the target's data, their files named
                // as the tenant sees them.
                let mut options = read.options(&options);
                if read.has_fleet_vulnerabilities() {
                    let mut db = (*options.vulnerabilities).clone();
                    relative_to(&mut db, &roots);
                    options.vulnerabilities = std::sync::Arc::new(db);
                }
                Evaluated::from(read.evaluate(&options, |c| evaluate(c, &options)))
            })
            .await
            .map_err(failed)?
        }
        Err(pipeline::ReadError::Failed(why)) => return Err(why),
        Err(pipeline::ReadError::Unreached(why)) => {
            // A live cluster that cannot be read: a scan that says so.
            let name = target
                .context
                .clone()
                .unwrap_or_else(|| target.name.clone());
            let mut ev = Evaluated::default();
            ev.unreached(name, why);
            ev.fleet_errors(options.vulnerabilities.errors().to_vec());
            ev
        }
    };
    let mut rec = record(tenant, &target.name, replica, started_at, ev);
    relative_to_target(&mut rec, target);
    Ok(rec)
}

/// The roots a target's file names are shown relative to: its snapshot paths and its
/// vulnerability data.
fn vuln_roots(target: &Target) -> Vec<std::path::PathBuf> {
    target
        .paths
        .iter()
        .chain(&target.vulns)
        .chain(&target.kev)
        .chain(&target.epss)
        .cloned()
        .collect()
}

/// The scan options with the target's vulnerability data (`vulns`, `kev`, `epss`) read, the
/// files named relative to the target; what cannot be read is an error of the scan's report
/// (`vulnerabilities.errors()`), never a reason to skip the posture scan.
pub fn with_vulnerabilities(target: &Target, mut options: ScanOptions) -> ScanOptions {
    if let Some(db) = target_vulnerabilities(target) {
        options.vulnerabilities = db;
    }
    options
}

/// Report files and read errors named as the tenant sees them: relative to `roots`.
fn relative_to(db: &mut kspm_engine::vulns::Database, roots: &[std::path::PathBuf]) {
    db.rename_files(|f| tenant_path(f, roots));
    db.scrub_messages(|m| scrub_paths(m, roots));
}

/// The target's vulnerability data (`vulns`, `kev`, `epss`), read now and named relative to the
/// target, with what could not be read among its errors; `None` when the target names none.
pub fn target_vulnerabilities(
    target: &Target,
) -> Option<std::sync::Arc<kspm_engine::vulns::Database>> {
    let sources = kspm_collectors::vulns::Sources {
        reports: target.vulns.clone(),
        kev: target.kev.clone(),
        epss: target.epss.clone(),
    };
    if sources.is_empty() {
        return None;
    }
    let roots = vuln_roots(target);
    Some(match kspm_collectors::vulns::load(&sources) {
        Ok(mut db) => {
            relative_to(&mut db, &roots);
            std::sync::Arc::new(db)
        }
        Err(message) => {
            let file = sources
                .reports
                .first()
                .or(sources.kev.as_ref())
                .or(sources.epss.as_ref())
                .map(|p| tenant_path(&p.to_string_lossy(), &roots))
                .unwrap_or_default();
            let error = LoadError {
                file,
                line: None,
                column: None,
                message: scrub_paths(&message, &roots),
            };
            let mut db = kspm_engine::vulns::Database::default();
            db.add_errors([error]);
            std::sync::Arc::new(db)
        }
    })
}

/// A path of the server's file system as a tenant sees it: relative to the root it is under
/// (`eks-prod/workloads.yaml`), the root's own name for the root itself, and only its file name
/// for an absolute path under none. A relative path, or anything else (`api://…`), is kept.
pub fn tenant_path(path: &str, roots: &[std::path::PathBuf]) -> String {
    let p = std::path::Path::new(path);
    let name_of = |q: &std::path::Path| {
        q.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    for root in roots {
        if root.as_os_str().is_empty() {
            continue;
        }
        if let Ok(rest) = p.strip_prefix(root) {
            return if rest.as_os_str().is_empty() {
                name_of(root)
            } else {
                rest.to_string_lossy().into_owned()
            };
        }
    }
    if p.is_absolute() {
        return name_of(p);
    }
    path.to_string()
}

/// `text` with every absolute file-system path in it (a word that starts with `/`, after an
/// opening quote or bracket; `file:line` kept together) shown as [`tenant_path`] shows it.
pub fn scrub_paths(text: &str, roots: &[std::path::PathBuf]) -> String {
    text.split(' ')
        .map(|word| {
            let start = word
                .find(|c: char| !matches!(c, '"' | '\'' | '(' | '[' | '`'))
                .unwrap_or(word.len());
            let (lead, rest) = word.split_at(start);
            if !rest.starts_with('/') {
                return word.to_string();
            }
            let end = rest
                .find([':', '"', '\'', ')', ']', '`', ','])
                .unwrap_or(rest.len());
            let (path, tail) = rest.split_at(end);
            format!("{lead}{}{tail}", tenant_path(path, roots))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Removes the server's file-system paths from what a tenant reads: the findings' sources, the
/// clusters' origins and error messages — relative to the target's paths (and kubeconfig), any
/// other absolute path reduced to its file name.
pub fn relative_to_target(rec: &mut ScanRecord, target: &Target) {
    let roots: Vec<std::path::PathBuf> = target
        .paths
        .iter()
        .cloned()
        .chain(
            target
                .kubeconfig
                .iter()
                .filter_map(|k| k.parent().map(|p| p.to_path_buf())),
        )
        .collect();
    for f in &mut rec.findings {
        f.source.file = tenant_path(&f.source.file, &roots);
    }
    for c in &mut rec.clusters {
        if let Some(summary) = &mut c.summary {
            summary.origin = tenant_path(&summary.origin, &roots);
        }
        for text in &mut c.error_messages {
            *text = scrub_paths(text, &roots);
        }
    }
}

/// Joins evaluated clusters into the record to commit.
pub fn record(
    tenant: &str,
    target: &str,
    replica: &str,
    started_at: i64,
    ev: Evaluated,
) -> ScanRecord {
    let Evaluated {
        results,
        mut records,
        fleet_errors,
        fleet_cloud,
        unreached,
    } = ev;
    let (report, graph) = kspm_engine::assemble_fleet_graph(results, &fleet_errors, &fleet_cloud);
    let kspm_engine::Report {
        clusters: summaries,
        findings,
        attack_paths,
        compliance,
        errors,
        ..
    } = report;
    for rec in &mut records {
        rec.summary = summaries.iter().find(|c| c.name == rec.name).cloned();
        rec.error_messages = errors
            .iter()
            .filter(|e| e.cluster.as_deref() == Some(&rec.name))
            .map(|e| {
                let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
                format!("{}{line}: {}", e.file, e.message)
            })
            .collect();
        rec.compliance = compliance
            .iter()
            .filter(|c| c.cluster == rec.name)
            .cloned()
            .collect();
    }
    for (name, why) in &unreached {
        records.push(ClusterRecord::unreached(name, why.clone()));
    }
    let finished_at = now_ms();
    ScanRecord {
        id: new_scan_id(finished_at),
        tenant: tenant.to_string(),
        target: target.to_string(),
        started_at,
        finished_at,
        replica: replica.to_string(),
        clusters: records,
        findings,
        paths: attack_paths,
        errors: (errors.len() + unreached.len()) as i64,
        graph: graph.dump(),
    }
}

#[cfg(test)]
mod tenant_path_tests {
    use super::{scrub_paths, tenant_path};
    use std::path::PathBuf;

    #[test]
    fn server_paths_become_target_relative() {
        let roots = vec![PathBuf::from("/srv/fleet/"), PathBuf::from("/srv/one.yaml")];
        assert_eq!(tenant_path("/srv/fleet/prod/w.yaml", &roots), "prod/w.yaml");
        assert_eq!(tenant_path("/srv/fleet", &roots), "fleet");
        assert_eq!(tenant_path("/srv/one.yaml", &roots), "one.yaml");
        assert_eq!(tenant_path("/srv/fleetX/a.yaml", &roots), "a.yaml");
        assert_eq!(tenant_path("/etc/elsewhere/x.json", &roots), "x.json");
        assert_eq!(tenant_path("api://prod/pods", &roots), "api://prod/pods");
        assert_eq!(tenant_path("/etc/x.json", &[]), "x.json");
    }

    #[test]
    fn paths_inside_messages_are_scrubbed() {
        let roots = vec![PathBuf::from("/srv/fleet")];
        assert_eq!(
            scrub_paths(
                "/srv/fleet/prod/w.yaml:12: mapping values are not allowed",
                &roots
            ),
            "prod/w.yaml:12: mapping values are not allowed"
        );
        assert_eq!(
            scrub_paths(
                "cannot read '/home/ops/.kube/config': permission denied",
                &roots
            ),
            "cannot read 'config': permission denied"
        );
        assert_eq!(
            scrub_paths(
                "GET https://10.0.0.1/api failed (see /var/log/x.log)",
                &roots
            ),
            "GET https://10.0.0.1/api failed (see x.log)"
        );
    }
}
