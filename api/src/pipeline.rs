//! The scan pipeline: collectors → Snapshot → engine → Report, timed and logged.

use kspm_engine::evaluate::assemble_fleet_graph;
use kspm_engine::options::ExceptionsFile;
use kspm_engine::parallel::parallel_map;
use kspm_engine::{evaluate_cluster_result, Report, ScanOptions};
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

/// Reads snapshot paths from disk and evaluates them, one cluster at a time per core: a
/// cluster's objects are dropped as soon as it is evaluated, so memory follows the largest
/// cluster, not the fleet.
pub fn scan_paths(paths: &[PathBuf], options: &ScanOptions) -> ScanOutcome {
    let started = Instant::now();
    let plan = kspm_collectors::files::plan(paths);
    let options = &with_fleet_vulnerabilities(options, &plan);
    let load_ns = std::sync::atomic::AtomicU64::new(0);
    let results = parallel_map(&plan.clusters, |source| {
        let t = Instant::now();
        let cluster = kspm_collectors::files::load_source(source);
        load_ns.fetch_add(
            t.elapsed().as_nanos() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        let result = evaluate_cluster_result(&cluster, options);
        // Freeing the objects' trees is a twentieth of a large cluster's scan: beside the rest.
        std::thread::spawn(move || drop(cluster));
        result
    });
    let loaded = Duration::from_nanos(load_ns.into_inner());
    let (cloud, mut errors) = kspm_collectors::files::load_fleet_cloud(&plan);
    errors.extend(plan.errors);
    errors.extend_from_slice(options.vulnerabilities.errors());
    let (report, graph) = assemble_fleet_graph(results, &errors, &cloud);
    info!(
        clusters = report.summary.clusters,
        objects = report.summary.objects,
        findings = report.summary.findings,
        errors = report.summary.errors,
        load_ms = loaded.as_millis() as u64,
        total_ms = started.elapsed().as_millis() as u64,
        "scan finished"
    );
    ScanOutcome {
        report,
        summary: None,
        graph: Some(graph),
    }
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

/// The multi-threaded async runtime the blocking entry points (live and cloud scans, the
/// service, watch) run their collectors on.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
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

/// Reads one live cluster through its API server (read-only) and evaluates it, together with
/// any snapshot paths given alongside.
pub fn scan_live(
    live: &kspm_collectors::live::LiveOptions,
    paths: &[PathBuf],
    options: &ScanOptions,
) -> Result<ScanOutcome, String> {
    let started = Instant::now();
    let runtime = runtime()?;
    let collection = runtime
        .block_on(kspm_collectors::live::collect(live))
        .map_err(|e| e.to_string())?;
    let plan = kspm_collectors::files::plan(paths);
    let options = &with_fleet_vulnerabilities(options, &plan);
    let mut results = vec![evaluate_cluster_result(&collection.snapshot, options)];
    results.extend(parallel_map(&plan.clusters, |source| {
        evaluate_cluster_result(&kspm_collectors::files::load_source(source), options)
    }));
    let (cloud, mut errors) = kspm_collectors::files::load_fleet_cloud(&plan);
    errors.extend(plan.errors);
    errors.extend_from_slice(options.vulnerabilities.errors());
    let (report, graph) = assemble_fleet_graph(results, &errors, &cloud);
    info!(
        objects = report.summary.objects,
        findings = report.summary.findings,
        total_ms = started.elapsed().as_millis() as u64,
        "live scan finished"
    );
    Ok(ScanOutcome {
        report,
        summary: None,
        graph: Some(graph),
    })
}

/// Reads one live cluster and writes it in the snapshot format (`redact`: see
/// `kspm_engine::redact`).
pub fn collect_to(
    live: &kspm_collectors::live::LiveOptions,
    out: &std::path::Path,
    redact: bool,
) -> Result<usize, String> {
    let runtime = runtime()?;
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
