//! The scan pipeline, one for every caller: a [`Source`] read (collectors → snapshots), each
//! cluster evaluated by the caller's function ([`Read::evaluate`]), the fleet joined into a
//! report ([`scan`]), timed and logged.

use crate::cloud::CloudTargets;
use kspm_collectors::live::LiveOptions;
use kspm_engine::evaluate::assemble_fleet_graph;
use kspm_engine::options::ExceptionsFile;
use kspm_engine::parallel::parallel_map;
use kspm_engine::snapshot::ClusterSnapshot;
use kspm_engine::{evaluate_cluster_result, LoadError, Object, Report, ScanOptions};
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;
use std::time::Instant;
use tracing::info;

/// A scan's result.
pub struct ScanOutcome {
    /// What the engine made of the input.
    pub report: Report,
    /// What was and was not reached, for the user (cloud scans).
    pub summary: Option<String>,
    /// The fleet graph the report's paths were searched in (the HTML report's explorer reads
    /// it; drop it early when nothing does).
    pub graph: Option<kspm_engine::graph::AttackGraph>,
}

/// The scan options with the vulnerability data of the fleets' own `vulns/` directories added
/// (a directory nothing can be read from is an error of the report, not of the scan); what
/// could not be read is in `vulnerabilities.errors()`, for the report.
pub fn with_fleet_vulnerabilities(
    options: &ScanOptions,
    plan: &kspm_collectors::files::Plan,
) -> ScanOptions {
    let mut options = options.clone();
    if !plan.vulns_dirs.is_empty() {
        let sources = kspm_collectors::vulns::Sources {
            reports: plan.vulns_dirs.clone(),
            ..Default::default()
        };
        let mut db = (*options.vulnerabilities).clone();
        match kspm_collectors::vulns::load(&sources) {
            Ok(fleet) => db.extend(fleet),
            Err(message) => db.add_errors([kspm_engine::LoadError {
                file: plan.vulns_dirs[0].display().to_string(),
                line: None,
                column: None,
                message,
            }]),
        }
        options.vulnerabilities = std::sync::Arc::new(db);
    }
    options
}

/// Where a scan reads its clusters: snapshot paths, alone or beside one live cluster or every
/// cluster cloud discovery finds. The CLI (`kspm scan`, `kspm compliance`), `kspm diff` and the
/// service's scans all read a source through [`Source::read`] and evaluate it through
/// [`Read::evaluate`].
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// Snapshot files and directories.
    Paths(&'a [PathBuf]),
    /// One live cluster through its API server (read-only), and snapshot paths.
    Live(&'a LiveOptions, &'a [PathBuf]),
    /// Every cluster the clouds' credentials see, through their APIs, and snapshot paths.
    Cloud(&'a CloudTargets, &'a LiveOptions, &'a [PathBuf]),
}

impl Source<'_> {
    /// Reads the clusters an API serves (a live cluster, a discovered fleet) and plans the
    /// snapshot paths (each cluster is loaded only when it is evaluated). A live cluster that
    /// cannot be read is [`ReadError::Unreached`] (the CLI fails, the service records the
    /// cluster as unreached); a cloud account, project or subscription that cannot be read is
    /// an error of the report, as is a path that cannot be listed.
    pub async fn read(&self) -> Result<Read, ReadError> {
        // The paths are listed off the async workers (file-system calls block).
        let planned = || {
            let paths = self.paths().to_vec();
            async move {
                tokio::task::spawn_blocking(move || Read::paths(&paths))
                    .await
                    .map_err(|e| {
                        ReadError::Failed(format!("listing the snapshot paths failed: {e}"))
                    })
            }
        };
        match *self {
            Source::Paths(_) => planned().await,
            Source::Live(live, _) => {
                let collection = kspm_collectors::live::collect(live)
                    .await
                    .map_err(|e| ReadError::Unreached(e.to_string()))?;
                Ok(Read {
                    clusters: vec![collection.snapshot],
                    ..planned().await?
                })
            }
            Source::Cloud(targets, live, _) => {
                let fleet = crate::cloud::read_fleet(targets, live).await;
                let unread = fleet
                    .clusters
                    .iter()
                    .filter(|c| !c.snapshot.coverage_gaps.is_empty() && c.raw.is_none())
                    .map(|c| c.snapshot.info.name.clone())
                    .collect();
                Ok(Read {
                    discovered: Some(unread),
                    clusters: fleet.clusters.into_iter().map(|c| c.snapshot).collect(),
                    fleet_cloud: fleet.fleet_cloud,
                    errors: fleet.errors,
                    ..planned().await?
                })
            }
        }
    }

    /// The snapshot paths read beside the source's API.
    pub fn paths(&self) -> &[PathBuf] {
        match *self {
            Source::Paths(p) | Source::Live(_, p) | Source::Cloud(_, _, p) => p,
        }
    }
}

/// Why a source could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The live cluster's API server could not be read (unreachable, refused, no credentials):
    /// the service records the cluster as unreached, the CLI fails (exit 2).
    Unreached(String),
    /// The scan itself failed (no async runtime, a listing that panicked): an error everywhere.
    Failed(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Unreached(why) | ReadError::Failed(why) => f.write_str(why),
        }
    }
}

impl From<ReadError> for String {
    fn from(e: ReadError) -> String {
        e.to_string()
    }
}

/// A source read ([`Source::read`]): the clusters its APIs served, the plan of its snapshot
/// paths, and what discovery read and could not read of the fleet.
pub struct Read {
    /// Clusters read through an API, in the order read.
    clusters: Vec<ClusterSnapshot>,
    /// The snapshot paths' clusters, fleet documents and vulnerability directories.
    plan: kspm_collectors::files::Plan,
    /// Account, project and subscription documents discovery read.
    fleet_cloud: Vec<Object>,
    /// What discovery could not read.
    errors: Vec<LoadError>,
    /// For a cloud source: the discovered clusters whose API server was not read.
    discovered: Option<Vec<String>>,
}

/// A source's clusters evaluated ([`Read::evaluate`]), before they are joined into a report.
pub struct Evaluated<T> {
    /// Each cluster as the caller evaluated it: those read through an API first, then the
    /// snapshot paths' in the order given.
    pub clusters: Vec<T>,
    /// Fleet-level cloud documents: the snapshot fleets', then discovery's.
    pub fleet_cloud: Vec<Object>,
    /// Inputs of no one cluster that could not be read: fleet documents, paths, discovery,
    /// vulnerability data, in that order.
    pub fleet_errors: Vec<LoadError>,
    /// For a cloud source, one line on what discovery reached ([`crate::cloud::reach_summary`]).
    pub summary: Option<String>,
}

impl Read {
    /// Snapshot paths planned (nothing read through an API).
    pub fn paths(paths: &[PathBuf]) -> Read {
        Read {
            clusters: Vec::new(),
            plan: kspm_collectors::files::plan(paths),
            fleet_cloud: Vec::new(),
            errors: Vec::new(),
            discovered: None,
        }
    }

    /// Whether the source holds no cluster at all (read or planned).
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty() && self.plan.clusters.is_empty()
    }

    /// `options` with the vulnerability data of the snapshot fleets' own `vulns/` directories
    /// added ([`with_fleet_vulnerabilities`]); the service names their files as the tenant sees
    /// them before evaluating.
    pub fn options(&self, options: &ScanOptions) -> ScanOptions {
        with_fleet_vulnerabilities(options, &self.plan)
    }

    /// Whether the snapshot paths hold vulnerability directories of their own.
    pub fn has_fleet_vulnerabilities(&self) -> bool {
        !self.plan.vulns_dirs.is_empty()
    }

    /// Evaluates every cluster with `per_cluster` (`options` as [`Read::options`] made them):
    /// those read through an API one after another, then the snapshot paths' one cluster at a
    /// time per core — each loaded, evaluated and dropped, so memory follows the largest
    /// cluster, not the fleet — and gathers the fleet's documents and errors.
    pub fn evaluate<T: Send>(
        self,
        options: &ScanOptions,
        per_cluster: impl Fn(&ClusterSnapshot) -> T + Sync,
    ) -> Evaluated<T> {
        let started = Instant::now();
        let mut clusters: Vec<T> = self.clusters.iter().map(&per_cluster).collect();
        drop(self.clusters);
        let load_ns = std::sync::atomic::AtomicU64::new(0);
        clusters.extend(parallel_map(&self.plan.clusters, |source| {
            let t = Instant::now();
            let cluster = kspm_collectors::files::load_source(source);
            load_ns.fetch_add(
                t.elapsed().as_nanos() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            let evaluated = per_cluster(&cluster);
            // Freeing the objects' trees is a twentieth of a large cluster's scan: beside the
            // rest.
            std::thread::spawn(move || drop(cluster));
            evaluated
        }));
        let (mut fleet_cloud, mut fleet_errors) =
            kspm_collectors::files::load_fleet_cloud(&self.plan);
        fleet_cloud.extend(self.fleet_cloud);
        fleet_errors.extend(self.plan.errors);
        fleet_errors.extend(self.errors);
        fleet_errors.extend_from_slice(options.vulnerabilities.errors());
        let summary = self.discovered.map(|unread| {
            let total = clusters.len() - self.plan.clusters.len();
            crate::cloud::reach_summary(total, &unread, &fleet_errors)
        });
        info!(
            clusters = clusters.len(),
            load_ms = Duration::from_nanos(load_ns.into_inner()).as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "clusters evaluated"
        );
        Evaluated {
            clusters,
            fleet_cloud,
            fleet_errors,
            summary,
        }
    }
}

/// Reads a source and evaluates it into one report: `kspm scan`, `kspm compliance`.
pub fn scan(source: Source<'_>, options: &ScanOptions) -> Result<ScanOutcome, String> {
    let started = Instant::now();
    let read = match source {
        // (No async runtime for files.)
        Source::Paths(paths) => Read::paths(paths),
        // Either error ends the CLI's scan: a live cluster it cannot read gives no report.
        _ => crate::runtime::start()?.block_on(source.read())?,
    };
    let options = &read.options(options);
    let evaluated = read.evaluate(options, |c| evaluate_cluster_result(c, options));
    let (report, graph) = assemble_fleet_graph(
        evaluated.clusters,
        &evaluated.fleet_errors,
        &evaluated.fleet_cloud,
    );
    info!(
        clusters = report.summary.clusters,
        objects = report.summary.objects,
        findings = report.summary.findings,
        errors = report.summary.errors,
        total_ms = started.elapsed().as_millis() as u64,
        "scan finished"
    );
    Ok(ScanOutcome {
        report,
        summary: evaluated.summary,
        graph: Some(graph),
    })
}

/// Why a scan of `paths` that read no object at all is an error, or `None` when something was
/// read. A CI gate pointed at the wrong folder, at Helm chart sources, or at files that could not
/// be decoded must not pass.
pub fn nothing_read(report: &Report, paths: &[PathBuf]) -> Option<String> {
    if report.summary.objects > 0 {
        return None;
    }
    let errors: Vec<String> = report
        .errors
        .iter()
        .map(|e| match e.line {
            Some(l) => format!("{}:{l}: {}", e.file, e.message),
            None => format!("{}: {}", e.file, e.message),
        })
        .collect();
    Some(no_objects_message(paths, &errors))
}

/// "No Kubernetes objects found in PATHS", with a hint for chart and kustomize sources and the
/// first of the read errors.
pub fn no_objects_message(paths: &[PathBuf], errors: &[String]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut msg = if shown.is_empty() {
        "no Kubernetes objects were read".to_string()
    } else {
        format!("no Kubernetes objects found in {}", shown.join(", "))
    };
    if let Some(hint) = source_hint(paths) {
        msg.push_str(&format!(" ({hint})"));
    }
    if !errors.is_empty() {
        let first: Vec<&str> = errors.iter().take(5).map(String::as_str).collect();
        msg.push_str(&format!("; could not read: {}", first.join("; ")));
        if errors.len() > first.len() {
            msg.push_str(&format!(" (and {} more)", errors.len() - first.len()));
        }
    }
    msg
}

/// A hint when the paths hold sources that render to manifests rather than manifests.
fn source_hint(paths: &[PathBuf]) -> Option<&'static str> {
    const HELM: &str =
        "these look like Helm chart sources: render them first, e.g. `helm template NAME CHART > manifests.yaml`";
    const KUSTOMIZE: &str =
        "these look like kustomize sources: render them first, e.g. `kustomize build DIR > manifests.yaml`";
    let mut stack: Vec<(PathBuf, u32)> = paths.iter().map(|p| (p.clone(), 0)).collect();
    let mut seen = 0usize;
    while let Some((p, depth)) = stack.pop() {
        seen += 1;
        if seen > 10_000 {
            break;
        }
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if matches!(name, "Chart.yaml" | "Chart.yml") {
            return Some(HELM);
        }
        if matches!(
            name,
            "kustomization.yaml" | "kustomization.yml" | "Kustomization"
        ) {
            return Some(KUSTOMIZE);
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() && depth < 4 {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| (e.path(), depth + 1)));
            }
        } else if meta.is_file()
            && meta.len() < 1 << 20
            && (name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".tpl"))
        {
            if let Ok(text) = std::fs::read_to_string(&p) {
                if text.contains("{{") && text.contains("}}") {
                    return Some(HELM);
                }
            }
        }
    }
    None
}

/// Reads an exceptions file (YAML or JSON). Errors name the file and line.
pub fn load_exceptions(path: &Path) -> Result<ExceptionsFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    kspm_engine::yaml::from_str(&text).map_err(|e| {
        let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        format!(
            "{}{line}: invalid exceptions file: {}",
            path.display(),
            e.message
        )
    })
}

/// Today's date in UTC as YYYY-MM-DD (for exception expiry).
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = kspm_engine::civil::from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Reads one live cluster and writes it in the snapshot format (`redact`: see
/// `kspm_engine::redact`).
pub fn collect_to(
    live: &kspm_collectors::live::LiveOptions,
    out: &std::path::Path,
    redact: bool,
) -> Result<usize, String> {
    let runtime = crate::runtime::start()?;
    let collection = runtime
        .block_on(kspm_collectors::live::collect(live))
        .map_err(|e| e.to_string())?;
    kspm_collectors::live::write_snapshot(&collection, out, redact)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    for e in &collection.snapshot.errors {
        tracing::warn!("{e}");
    }
    Ok(collection.snapshot.objects.len())
}
