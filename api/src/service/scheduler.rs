//! The scan scheduler: every replica leases due scan jobs from the database, scans them, commits
//! the scan, and releases the job with its next due time. A lease is renewed while its scan runs;
//! a replica that dies stops renewing, and another takes the job once the lease expires.

use super::config::Target;
use super::scan;
use super::store::ScanRecord;
use super::store::{self, now_ms, ScanRow};
use super::Shared;
use kspm_engine::drift::finding_key_json;
use kspm_engine::snapshot::ClusterSnapshot;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify, Semaphore};
use tracing::{info, warn};

/// Scans run at once by one replica.
const CONCURRENT_SCANS: usize = 2;

/// The words a scan that ran past its target's timeout fails with.
pub const TIMED_OUT: &str = "did not finish within";

/// Scans a target now and commits it; returns the committed scan. A scan of the same target
/// already queued or running is joined instead (its result is returned); the tenant's scans run
/// one at a time; the scan ends with an error at the target's deadline.
pub async fn scan_now(shared: &Shared, tenant: &str, target: &Target) -> Result<ScanRow, String> {
    shared
        .admission
        .coalesce(tenant, &target.name, || {
            scan_exclusive(shared, tenant, target)
        })
        .await
}

async fn scan_exclusive(shared: &Shared, tenant: &str, target: &Target) -> Result<ScanRow, String> {
    let tenant_slot = shared.admission.tenant_slot(tenant);
    let _own = tenant_slot.acquire().await.map_err(|e| e.to_string())?;
    let _slot = shared
        .scan_slots
        .acquire()
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let options = shared.options_for(tenant).await?;
    let limit = target.timeout();
    let record = tokio::time::timeout(limit, scan::run(tenant, target, &options, &shared.replica))
        .await
        .map_err(|_| {
            format!(
                "scan of target {} {TIMED_OUT} {} s (its timeout)",
                target.name,
                limit.as_secs()
            )
        })??;
    commit(shared, &record, started.elapsed().as_secs_f64()).await?;
    shared
        .store
        .scan(tenant, &record.id)
        .await?
        .ok_or_else(|| "the committed scan is not readable".to_string())
}

/// Commits a record, with metrics, pruning and wake-up of event streams.
async fn commit(shared: &Shared, record: &ScanRecord, seconds: f64) -> Result<(), String> {
    let storing = Instant::now();
    let commit = shared
        .store
        .commit_scan(
            record,
            shared
                .fail_commits
                .load(std::sync::atomic::Ordering::Relaxed),
        )
        .await;
    shared.metrics.scan(record, commit.is_ok(), seconds);
    commit?;
    let store_seconds = storing.elapsed().as_secs_f64();
    info!(tenant = %record.tenant, target = %record.target, scan = %record.id, findings = record.findings.len(),
        paths = record.paths.len(), seconds, store_seconds, "scan committed");
    if let Err(e) = shared
        .store
        .prune(
            &record.tenant,
            &record.target,
            shared.config.service.retention,
        )
        .await
    {
        warn!(error = %e, "pruning old scans failed");
    }
    shared.committed.send_modify(|n| *n += 1);
    Ok(())
}

/// Whether two records differ in findings, attack paths or posture digests.
fn posture_changed(a: &ScanRecord, b: &ScanRecord) -> bool {
    let keys =
        |r: &ScanRecord| -> HashSet<String> { r.findings.iter().map(finding_key_json).collect() };
    let paths = |r: &ScanRecord| -> HashSet<String> {
        r.paths
            .iter()
            .filter_map(|p| p.get("id").and_then(Value::as_str).map(str::to_string))
            .collect()
    };
    let facts = |r: &ScanRecord| {
        r.clusters
            .iter()
            .map(|c| c.facts.clone())
            .collect::<Vec<_>>()
    };
    keys(a) != keys(b) || paths(a) != paths(b) || facts(a) != facts(b)
}

/// How a job ended, which decides when it is next due.
enum Done {
    /// A scan was committed: due again after the interval.
    Scanned,
    /// A live cluster was held (read, then watched) for its interval: due again at once.
    Held,
}

/// When a job is next due after it ended as `done` (`None`: it failed, and is retried sooner
/// than a full interval).
fn next_due(target: &Target, done: Option<&Done>) -> i64 {
    let interval = target.interval().as_millis() as i64;
    now_ms()
        + match done {
            Some(Done::Held) => 0,
            Some(Done::Scanned) => interval,
            None => 30_000.min(interval),
        }
}

/// Aborts a task when dropped, so no early return leaves watches running.
pub(super) struct AbortOnDrop<T>(pub(super) tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A live cluster held for one interval: a full read (kubelet settings included) committed as a
/// scan, then watches; each batch of changes is re-evaluated and committed when the posture
/// changed. Ends at the interval, when the lease is lost, or when the watches fail.
async fn watch_session(
    shared: &Arc<Shared>,
    tenant: &str,
    target: &Target,
    beat: &tokio::task::JoinHandle<()>,
) -> Result<Done, String> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + target.interval();
    let opts = scan::live_options(target);
    let base = match kspm_collectors::live::collect(&opts).await {
        Ok(c) => c.snapshot,
        Err(_) => {
            // Unreachable: record it (scan_now marks the cluster unreached); try again after
            // the interval, like any scan.
            return scan_now(shared, tenant, target)
                .await
                .map(|_| Done::Scanned);
        }
    };
    // The target's vulnerability reports, read once for this watch (a full scan reads them
    // again), not at every change.
    let vulns = {
        let target = target.clone();
        tokio::task::spawn_blocking(move || scan::target_vulnerabilities(&target))
            .await
            .map_err(|e| format!("reading vulnerability reports failed: {e}"))?
    };
    let evaluate = |cluster: ClusterSnapshot, started_at: i64| {
        let shared = shared.clone();
        let (tenant, target) = (tenant.to_string(), target.clone());
        let vulns = vulns.clone();
        async move {
            let mut options = shared.options_for(&tenant).await?;
            tokio::task::spawn_blocking(move || {
                let mut ev = scan::Evaluated::default();
                if let Some(db) = vulns {
                    ev.fleet_errors(db.errors().to_vec());
                    options.vulnerabilities = db;
                }
                ev.add(&cluster, &options);
                let mut rec = scan::record(&tenant, &target.name, &shared.replica, started_at, ev);
                scan::relative_to_target(&mut rec, &target);
                rec
            })
            .await
            .map_err(|e| format!("evaluation failed: {e}"))
        }
    };
    // What watches do not carry: kubelet settings, version, coverage gaps of the full read.
    let kubelet: Vec<kspm_engine::Object> = base
        .objects
        .iter()
        .filter(|o| o.kind == "KubeletConfiguration")
        .cloned()
        .collect();
    let (version, gaps, provider) = (
        base.info.kubernetes_version.clone(),
        base.coverage_gaps.clone(),
        base.info.provider,
    );
    let mut last = evaluate(base, now_ms()).await?;
    commit(shared, &last, started.elapsed().as_secs_f64()).await?;
    let latest: Arc<Mutex<Option<(ClusterSnapshot, i64)>>> = Arc::new(Mutex::new(None));
    let wake = Arc::new(Notify::new());
    let watcher = {
        let (latest, wake) = (latest.clone(), wake.clone());
        AbortOnDrop(tokio::spawn(async move {
            crate::watch::run_batches(&opts, Duration::from_millis(200), move |batch| {
                let mut c = batch.cluster;
                c.objects.extend(kubelet.iter().cloned());
                c.info.kubernetes_version = version.clone();
                c.info.provider = provider;
                c.coverage_gaps = gaps.clone();
                let arrived = now_ms() - batch.earliest.elapsed().as_millis() as i64;
                if let Ok(mut l) = latest.lock() {
                    // Latest wins: a batch not yet evaluated is replaced by a newer one.
                    *l = Some((c, arrived));
                }
                wake.notify_one();
                true
            })
            .await
        }))
    };
    loop {
        tokio::select! {
            _ = wake.notified() => {
                let next = latest.lock().ok().and_then(|mut l| l.take());
                if let Some((cluster, arrived)) = next {
                    let t = Instant::now();
                    let record = evaluate(cluster, arrived).await?;
                    if posture_changed(&last, &record) {
                        commit(shared, &record, t.elapsed().as_secs_f64()).await?;
                        last = record;
                    }
                }
            }
            _ = tokio::time::sleep_until(deadline) => return Ok(Done::Held),
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if beat.is_finished() {
                    return Err("lease lost".to_string());
                }
                if watcher.0.is_finished() {
                    return Err("the watches ended".to_string());
                }
            }
        }
    }
}

fn find_target<'a>(shared: &'a Shared, tenant: &str, target: &str) -> Option<&'a Target> {
    shared
        .config
        .tenant(tenant)?
        .targets
        .iter()
        .find(|t| t.name == target)
}

/// Keeps `owner`'s lease of a job alive until aborted (or until it is lost).
fn heartbeat(
    shared: &Arc<Shared>,
    owner: &str,
    tenant: &str,
    name: &str,
) -> tokio::task::JoinHandle<()> {
    let lease_ms = (shared.config.service.lease_seconds * 1000) as i64;
    let shared = shared.clone();
    let (owner, tenant, name) = (owner.to_string(), tenant.to_string(), name.to_string());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis((lease_ms / 3).max(100) as u64)).await;
            match shared
                .store
                .heartbeat(&owner, &tenant, &name, now_ms() + lease_ms)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    warn!(tenant, target = %name, "lease lost while scanning");
                    return;
                }
                Err(e) => warn!(error = %e, "lease heartbeat failed"),
            }
        }
    })
}

/// The lease owner name of this replica's triggered scans (its scheduler's is the replica).
fn trigger_owner(shared: &Shared) -> String {
    format!("{}/trigger", shared.replica)
}

/// A scan a client asked for (TriggerScan), under the job's lease, so that no replica scans
/// the target at the same time: with the lease free, this replica scans under it (in a task of
/// its own, which finishes and releases the lease even if the client goes away; the scheduled
/// scan is then due an interval later, a watched target's at once); with this replica holding
/// it (its scheduler, or another trigger), the running scan is joined; with another replica
/// holding it, that replica's commit is the answer (within the target's timeout) — but for a
/// watched live target, whose holder commits only on change, this replica reads it now.
///
/// `progress` is the job's row (see [`super::jobs`]): running once this replica scans or joins
/// its own scan, queued with the holder's name while another replica's scan is awaited.
pub async fn trigger(
    shared: &Arc<Shared>,
    tenant: &str,
    target: &Target,
    progress: &super::jobs::Progress,
) -> Result<ScanRow, String> {
    let lease_ms = (shared.config.service.lease_seconds * 1000) as i64;
    let since = shared.store.last_commit().await?;
    let give_up = Instant::now() + target.timeout() + Duration::from_millis(lease_ms as u64);
    let owner = trigger_owner(shared);
    loop {
        match shared
            .store
            .take_lease(&owner, tenant, &target.name, now_ms(), lease_ms)
            .await?
        {
            store::Lease::Taken => {
                progress.running().await;
                let (shared, tenant, target, owner) = (
                    shared.clone(),
                    tenant.to_string(),
                    target.clone(),
                    owner.clone(),
                );
                let job = tokio::spawn(async move {
                    let beat = heartbeat(&shared, &owner, &tenant, &target.name);
                    let result = scan_now(&shared, &tenant, &target).await;
                    beat.abort();
                    // A watched target is watched again at once, as after its own session.
                    let done = if target.is_live() && target.watch {
                        Done::Held
                    } else {
                        Done::Scanned
                    };
                    let next = next_due(&target, result.as_ref().ok().map(|_| &done));
                    if let Err(e) = shared
                        .store
                        .release(&owner, &tenant, &target.name, next)
                        .await
                    {
                        warn!(error = %e, "releasing the lease failed");
                    }
                    result
                });
                return job
                    .await
                    .map_err(|e| format!("triggered scan failed: {e}"))?;
            }
            store::Lease::Unregistered => {
                progress.running().await;
                return scan_now(shared, tenant, target).await;
            }
            store::Lease::HeldBy(h) if h == shared.replica || h == owner => {
                progress.running().await;
                return scan_now(shared, tenant, target).await;
            }
            store::Lease::HeldBy(_) if target.is_live() && target.watch => {
                progress.running().await;
                return scan_now(shared, tenant, target).await;
            }
            store::Lease::HeldBy(holder) => {
                progress.waiting_for(&holder).await;
                if let Some(row) = shared
                    .store
                    .committed_after(tenant, &target.name, since)
                    .await?
                {
                    return Ok(row);
                }
                if Instant::now() > give_up {
                    return Err(format!(
                        "scan of target {} {TIMED_OUT} {} s (its timeout) on another replica",
                        target.name,
                        target.timeout().as_secs()
                    ));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Runs one leased job: scan with heartbeats, commit, release.
async fn run_job(shared: Arc<Shared>, tenant: String, target: Target) {
    let beat = heartbeat(&shared, &shared.replica, &tenant, &target.name);
    let result = if target.is_live() && target.watch {
        watch_session(&shared, &tenant, &target, &beat).await
    } else {
        scan_now(&shared, &tenant, &target)
            .await
            .map(|_| Done::Scanned)
    };
    beat.abort();
    let next = next_due(&target, result.as_ref().ok());
    if let Err(e) = &result {
        warn!(tenant, target = %target.name, error = %e, "scan failed");
    }
    if let Err(e) = shared
        .store
        .release(&shared.replica, &tenant, &target.name, next)
        .await
    {
        warn!(error = %e, "releasing the lease failed");
    }
}

/// Leases and runs due jobs until `shutdown` turns true; then waits up to `grace` for running
/// scans (a scan still running after that is abandoned: nothing of it is committed, and its
/// lease expires for another replica).
pub async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>, grace: Duration) {
    let jobs: Vec<(String, String)> = shared
        .config
        .tenants
        .iter()
        .flat_map(|t| t.targets.iter().map(|g| (t.name.clone(), g.name.clone())))
        .collect();
    if let Err(e) = shared.store.ensure_jobs(&jobs).await {
        warn!(error = %e, "registering scan jobs failed");
    }
    let slots = Arc::new(Semaphore::new(CONCURRENT_SCANS));
    let lease_ms = (shared.config.service.lease_seconds * 1000) as i64;
    let mut running = tokio::task::JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let free = slots.available_permits() as i64;
        if free > 0 {
            match shared
                .store
                .lease_due(&shared.replica, now_ms(), lease_ms, free)
                .await
            {
                Ok(due) => {
                    for (tenant, name) in due {
                        let Some(target) = find_target(&shared, &tenant, &name).cloned() else {
                            // Not in this replica's configuration (removed, or a rolling
                            // config change): hand it back at once.
                            let _ = shared
                                .store
                                .release(&shared.replica, &tenant, &name, 0)
                                .await;
                            continue;
                        };
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            break;
                        };
                        let shared = shared.clone();
                        running.spawn(async move {
                            run_job(shared, tenant, target).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => warn!(error = %e, "leasing scan jobs failed"),
            }
        }
        while running.try_join_next().is_some() {}
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(shared.poll) => {}
        }
    }
    info!(running = running.len(), "scheduler stopping");
    let deadline = tokio::time::sleep(grace);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = running.join_next() => if next.is_none() { break },
            _ = &mut deadline => {
                warn!(abandoned = running.len(), "abandoning unfinished scans");
                running.abort_all();
                break;
            }
        }
    }
}
