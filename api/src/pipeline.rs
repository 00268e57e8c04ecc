//! The scan pipeline: collectors → Snapshot → engine → Report, timed and logged.

use kspm_engine::options::ExceptionsFile;
use kspm_engine::report::parallel_map;
use kspm_engine::{assemble_fleet, evaluate_cluster_result, Report, ScanOptions};
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
}

/// Reads snapshot paths from disk and evaluates them, one cluster at a time per core: a
/// cluster's objects are dropped as soon as it is evaluated, so memory follows the largest
/// cluster, not the fleet.
pub fn scan_paths(paths: &[PathBuf], options: &ScanOptions) -> ScanOutcome {
    let started = Instant::now();
    let plan = kspm_collectors::files::plan(paths);
    let load_ns = std::sync::atomic::AtomicU64::new(0);
    let results = parallel_map(&plan.clusters, |source| {
        let t = Instant::now();
        let cluster = kspm_collectors::files::load_source(source);
        load_ns.fetch_add(
            t.elapsed().as_nanos() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        evaluate_cluster_result(&cluster, options)
    });
    let loaded = Duration::from_nanos(load_ns.into_inner());
    let (cloud, mut errors) = kspm_collectors::files::load_fleet_cloud(&plan);
    errors.extend(plan.errors);
    let report = assemble_fleet(results, &errors, &cloud);
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
    }
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
    serde_yaml::from_str(&text).map_err(|e| {
        let line = e
            .location()
            .map(|l| format!(":{}", l.line()))
            .unwrap_or_default();
        format!("{}{line}: invalid exceptions file: {e}", path.display())
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
    let mut results = vec![evaluate_cluster_result(&collection.snapshot, options)];
    results.extend(parallel_map(&plan.clusters, |source| {
        evaluate_cluster_result(&kspm_collectors::files::load_source(source), options)
    }));
    let (cloud, mut errors) = kspm_collectors::files::load_fleet_cloud(&plan);
    errors.extend(plan.errors);
    let report = assemble_fleet(results, &errors, &cloud);
    info!(
        objects = report.summary.objects,
        findings = report.summary.findings,
        total_ms = started.elapsed().as_millis() as u64,
        "live scan finished"
    );
    Ok(ScanOutcome {
        report,
        summary: None,
    })
}

/// Reads one live cluster and writes it in the snapshot format.
pub fn collect_to(
    live: &kspm_collectors::live::LiveOptions,
    out: &std::path::Path,
) -> Result<usize, String> {
    let runtime = runtime()?;
    let collection = runtime
        .block_on(kspm_collectors::live::collect(live))
        .map_err(|e| e.to_string())?;
    kspm_collectors::live::write_snapshot(&collection, out)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    for e in &collection.snapshot.errors {
        tracing::warn!("{e}");
    }
    Ok(collection.snapshot.objects.len())
}
