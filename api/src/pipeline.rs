//! The scan pipeline: collectors → Snapshot → engine → Report, timed and logged.

use kspm_engine::{evaluate, Report, Snapshot};
use std::path::PathBuf;
use std::time::Instant;
use tracing::info;

/// A scan's result with the snapshot it was computed from.
pub struct ScanOutcome {
    /// What was collected.
    pub snapshot: Snapshot,
    /// What the engine made of it.
    pub report: Report,
}

/// Reads snapshot paths from disk and evaluates them.
pub fn scan_paths(paths: &[PathBuf]) -> ScanOutcome {
    let started = Instant::now();
    let snapshot = kspm_collectors::files::load(paths);
    let loaded = started.elapsed();
    let report = evaluate(&snapshot);
    info!(
        clusters = report.summary.clusters,
        objects = report.summary.objects,
        findings = report.summary.findings,
        errors = report.summary.errors,
        load_ms = loaded.as_millis() as u64,
        total_ms = started.elapsed().as_millis() as u64,
        "scan finished"
    );
    ScanOutcome { snapshot, report }
}
