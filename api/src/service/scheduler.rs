//! The scan scheduler: every replica leases due scan jobs from the database, scans them, commits
//! the scan, and releases the job with its next due time. A lease is renewed while its scan runs;
//! a replica that dies stops renewing, and another takes the job once the lease expires.

use super::config::Target;
use super::scan;
use super::store::ScanRecord;
use super::store::{self, now_ms, ScanRow};
use super::Shared;
use crate::watch::{lock_held, Held};
use kspm_engine::drift::{finding_key, finding_key_json, Facts};
use kspm_engine::snapshot::ClusterSnapshot;
use kspm_engine::ScanOptions;
use std::collections::{BTreeSet, HashSet};
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

/// Commits a record, with metrics, pruning and wake-up of event streams; returns its commit
/// number.
async fn commit(shared: &Shared, record: &ScanRecord, seconds: f64) -> Result<i64, String> {
    let storing = Instant::now();
    let commit = shared.store.commit_scan(record).await;
    shared.metrics.scan(record, commit.is_ok(), seconds);
    let seq = commit?;
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
    Ok(seq)
}

/// What decides whether a watched batch is committed: a scan's findings (by drift key), its
/// attack paths (by ID) and its clusters' posture digests.
#[derive(PartialEq)]
struct Posture {
    findings: HashSet<String>,
    paths: HashSet<String>,
    facts: Vec<Facts>,
}

impl Posture {
    /// The posture of a scan to commit.
    fn of(r: &ScanRecord) -> Posture {
        Posture {
            findings: r.findings.iter().map(finding_key).collect(),
            paths: r.paths.iter().map(|p| p.id.clone()).collect(),
            facts: r.clusters.iter().map(|c| c.facts.clone()).collect(),
        }
    }

    /// The posture of a committed scan, read from the store (a stored path that does not read
    /// back is logged and left out).
    async fn stored(shared: &Shared, row: &ScanRow) -> Result<Posture, String> {
        let store = &shared.store;
        let findings = store
            .finding_keys(row)
            .await?
            .iter()
            .map(|(_, _, body)| finding_key_json(body))
            .collect();
        let mut facts = Vec::new();
        for name in store.cluster_names(&row.id).await? {
            let state = store.cluster_state(&row.id, &name).await?;
            facts.push(state.map(|(_, facts)| facts).unwrap_or_default());
        }
        let paths = super::convert::readable_paths(&row.id, &store.paths(&row.id).await?)
            .into_iter()
            .map(|p| p.id)
            .collect();
        Ok(Posture {
            findings,
            paths,
            facts,
        })
    }
}

/// What a triggered scan ([`trigger`]) tells whoever waits for it (a TriggerScan job's row).
pub trait Progress: Sync {
    /// The scan runs now (under its lease, or joining this replica's scan of the target).
    fn running(&self) -> impl std::future::Future<Output = ()> + Send;
    /// The scan another replica runs (`holder`, its lease owner) is awaited.
    fn waiting_for(&self, holder: &str) -> impl std::future::Future<Output = ()> + Send;
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
/// scan, then watches kept by the incremental engine ([`crate::watch::hold_with`]), which
/// evaluates again only what each batch of changes reaches. After a batch that changes
/// findings, attack paths, the attack graph or the objects' posture digest ([`Gate`]), the
/// cluster's result as the engine holds it — what a full evaluation of the held objects gives,
/// not computed again — is assembled into a scan as a scan is, and committed when the posture
/// changed; any other batch (status updates, most of a cluster's traffic) costs its incremental
/// evaluation alone. Ends at the interval, when the lease is lost, or when the watches fail.
async fn watch_session(
    shared: &Arc<Shared>,
    tenant: &str,
    target: &Target,
    beat: &tokio::task::JoinHandle<()>,
) -> Result<Done, String> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + target.interval();
    let opts = scan::live_options(target);
    let (base, forbidden) = match kspm_collectors::live::collect(&opts).await {
        Ok(c) => (c.snapshot, c.forbidden),
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
    // The tenant's options now (exceptions may change while the cluster is watched).
    let options_now = || {
        let (shared, vulns) = (shared.clone(), vulns.clone());
        async move {
            let mut options = shared.options_for(tenant).await?;
            if let Some(db) = vulns {
                options.vulnerabilities = db;
            }
            Ok::<_, String>(options)
        }
    };
    // The record of a cluster read (evaluated in full), or held by the incremental engine.
    let record = |cluster: Assessed, options: ScanOptions, started_at: i64| {
        let shared = shared.clone();
        let (tenant, target) = (tenant.to_string(), target.clone());
        tokio::task::spawn_blocking(move || {
            let mut ev = scan::Evaluated::default();
            ev.fleet_errors(options.vulnerabilities.errors().to_vec());
            match cluster {
                Assessed::Read(cluster) => ev.add(&cluster, &options),
                Assessed::Held(held) => ev.add_held(&held.meta, held.result, held.objects),
            }
            let mut rec = scan::record(&tenant, &target.name, &shared.replica, started_at, ev);
            scan::relative_to_target(&mut rec, &target);
            rec
        })
    };
    // What watches do not carry: kubelet settings (and the errors of reading them), version,
    // and the coverage gaps the API server refused to fill, with their errors. (The full read's
    // other errors — objects it could not read, lists that failed and that the watches retry
    // until they list them — are the watches' own to report, as they stand now.)
    let refused = |kind: &str| forbidden.iter().any(|(k, _)| k == kind);
    let kept = ClusterSnapshot {
        info: base.info.clone(),
        objects: base
            .objects
            .iter()
            .filter(|o| o.kind == "KubeletConfiguration")
            .cloned()
            .collect(),
        errors: base
            .errors
            .iter()
            .filter(|e| {
                e.file.ends_with("/proxy/configz") || forbidden.iter().any(|(_, f)| f == *e)
            })
            .cloned()
            .collect(),
        coverage_gaps: base
            .coverage_gaps
            .iter()
            .filter(|g| refused(g))
            .cloned()
            .collect(),
        ..Default::default()
    };
    // The options are read again every 10 s (on the tick), not at every batch.
    let mut options = options_now().await?;
    let first = record(Assessed::Read(Box::new(base)), options.clone(), now_ms())
        .await
        .map_err(|e| format!("evaluation failed: {e}"))?;
    // The commit number of the session's last commit: a later one of this target (a scan
    // triggered meanwhile) becomes what the next batch's scan is compared with.
    let mut last_seq = commit(shared, &first, started.elapsed().as_secs_f64()).await?;
    // The last committed scan of the target, and its posture.
    let (mut last_id, mut last) = (first.id.clone(), Posture::of(&first));
    drop(first);
    let held = Held::default();
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let wake = Arc::new(Notify::new());
    let mut watcher = {
        let (seen, wake, held) = (seen.clone(), wake.clone(), held.clone());
        let options = options.clone();
        AbortOnDrop(tokio::spawn(async move {
            let settle = Duration::from_millis(200);
            crate::watch::hold_with(&opts, &options, settle, &held, kept, move |u| {
                let arrived = now_ms() - u.latency.as_millis() as i64;
                if let Ok(mut s) = seen.lock() {
                    s.add(&u, arrived);
                }
                wake.notify_one();
                true
            })
            .await
        }))
    };
    let mut gate = Gate::default();
    // Lease, watches and options are checked on a tick of their own (batches may come closer
    // than it); the options (exceptions added or expiring, a new day) every 20th.
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = wake.notified() => {
                let Some(batch) = seen.lock().ok().map(|mut s| std::mem::take(&mut *s)) else {
                    continue;
                };
                let Some(arrived) = batch.arrived else { continue };
                let t = Instant::now();
                let judged = {
                    let (held, options) = (held.clone(), options.clone());
                    let changed = batch.changed;
                    tokio::task::spawn_blocking(move || gate.judge(&held, changed, &options))
                        .await
                        .map_err(|e| format!("evaluation failed: {e}"))?
                };
                gate = judged.0;
                let mut outcome = "unchanged";
                if let Some(cluster) = judged.1 {
                    let record = record(Assessed::Held(Box::new(cluster)), options.clone(), arrived)
                        .await
                        .map_err(|e| format!("evaluation failed: {e}"))?;
                    outcome = "evaluated";
                    let posture = Posture::of(&record);
                    if posture != last {
                        last_seq = commit(shared, &record, t.elapsed().as_secs_f64()).await?;
                        (last_id, last) = (record.id.clone(), posture);
                        outcome = "committed";
                    }
                }
                let seconds = t.elapsed().as_secs_f64();
                shared.metrics.watch_batch(tenant, &target.name, outcome, seconds);
                tracing::debug!(tenant, target = %target.name, outcome, seconds, "watched batch");
            }
            _ = tokio::time::sleep_until(deadline) => return Ok(Done::Held),
            _ = tick.tick() => {
                if beat.is_finished() {
                    return Err("lease lost".to_string());
                }
                if watcher.0.is_finished() {
                    return Err(match (&mut watcher.0).await {
                        Ok(Err(e)) => format!("the watches ended: {e}"),
                        _ => "the watches ended".to_string(),
                    });
                }
                ticks += 1;
                if ticks.is_multiple_of(20) {
                    // New options (exceptions added or expiring, a new day) are evaluated with
                    // at once; a database that does not answer now leaves the options as they
                    // were. A scan of this target committed by another path (a triggered scan)
                    // becomes what the held state is compared with.
                    let mut look = false;
                    match options_now().await {
                        Ok(now) => {
                            look |= options_differ(&options, &now);
                            options = now;
                        }
                        Err(e) => warn!(tenant, target = %target.name, error = %e, "reading the options failed"),
                    }
                    let newer = shared.store.committed_after(tenant, &target.name, last_seq).await;
                    match newer {
                        Ok(Some(row)) if row.id != last_id => match Posture::stored(shared, &row).await {
                            Ok(theirs) => {
                                // The held state is compared with it, and committed if it differs.
                                (last_id, last) = (row.id.clone(), theirs);
                                last_seq = row.commit_seq;
                                look = true;
                            }
                            Err(e) => warn!(tenant, target = %target.name, error = %e, "reading the latest scan failed"),
                        },
                        Ok(_) => {}
                        Err(e) => warn!(tenant, target = %target.name, error = %e, "reading the latest scan failed"),
                    }
                    if look {
                        if let Ok(mut s) = seen.lock() {
                            s.changed = true;
                            s.arrived.get_or_insert_with(now_ms);
                        }
                        wake.notify_one();
                    }
                }
            }
        }
    }
}

/// Whether a cluster evaluated with `held` must be evaluated again with `now`: exceptions
/// added, removed or expiring (a new day).
fn options_differ(held: &ScanOptions, now: &ScanOptions) -> bool {
    held.exceptions != now.exceptions || held.today != now.today
}

/// What the watches reported since the session last looked.
#[derive(Default)]
struct Seen {
    /// Some batch changed findings or attack paths (or was the first evaluation).
    changed: bool,
    /// When the earliest change not yet looked at arrived (Unix milliseconds); `None`: no batch.
    arrived: Option<i64>,
}

impl Seen {
    fn add(&mut self, u: &crate::watch::WatchUpdate, arrived: i64) {
        self.changed |= u.initial
            || !u.added_findings.is_empty()
            || !u.resolved_findings.is_empty()
            || !u.added_paths.is_empty()
            || !u.resolved_paths.is_empty();
        self.arrived = Some(self.arrived.map_or(arrived, |a| a.min(arrived)));
    }
}

/// Decides, after batches of changes the incremental engine evaluated, whether the posture may
/// have changed: findings or attack paths did ([`Seen::changed`]), the options did (exceptions
/// added or expired: the cluster is evaluated again with them), the attack graph did (its
/// signature: what the digest's graph part, the paths' ranking and blast radius read), or the
/// digest of the objects did ([`Facts::of_objects`]: RBAC, NetworkPolicies, Pod Security
/// labels, webhooks, registries). A pod's status update, most of a cluster's traffic, changes
/// none of them.
#[derive(Debug, Default)]
struct Gate {
    objects: Option<Facts>,
    graph: Option<u64>,
    /// The attack paths' IDs, folded paths not among them (what a scan's paths list).
    paths: Option<BTreeSet<String>>,
}

/// A cluster to make a scan of.
enum Assessed {
    /// Read in full: evaluated as a scan evaluates.
    Read(Box<ClusterSnapshot>),
    /// Held by the incremental engine: its evaluation as it holds it.
    Held(Box<HeldResult>),
}

/// What a scan keeps of a cluster the incremental engine holds: its identity, result and
/// objects' digest ([`scan::Evaluated::add_held`]).
struct HeldResult {
    meta: ClusterSnapshot,
    result: kspm_engine::evaluate::ClusterResult,
    objects: Facts,
}

impl Gate {
    /// The held cluster's result when the posture may have changed (`None` otherwise, or when
    /// nothing is held yet), with the gate as it now stands.
    fn judge(
        mut self,
        held: &Held,
        mut changed: bool,
        options: &ScanOptions,
    ) -> (Gate, Option<HeldResult>) {
        let mut guard = lock_held(held);
        let Some(inc) = guard.as_mut() else {
            return (self, None);
        };
        if options_differ(inc.options(), options) {
            inc.set_options(options.clone());
            inc.apply(Vec::new());
            changed = true;
        }
        let objects = inc.object_facts();
        changed |= self.objects.as_ref() != Some(&objects);
        self.objects = Some(objects);
        let graph = inc.graph_signature();
        changed |= graph != self.graph;
        self.graph = graph;
        let paths: BTreeSet<String> = inc.paths().iter().map(|p| p.id.clone()).collect();
        changed |= self.paths.as_ref() != Some(&paths);
        self.paths = Some(paths);
        if !changed {
            return (self, None);
        }
        let held = inc.cluster_result().map(|result| HeldResult {
            meta: inc.meta().clone(),
            result,
            objects: self.objects.clone().unwrap_or_default(),
        });
        (self, held)
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
/// `progress` hears what the triggered scan does: running once this replica scans or joins its
/// own scan, waiting with the holder's name while another replica's scan is awaited.
pub async fn trigger(
    shared: &Arc<Shared>,
    tenant: &str,
    target: &Target,
    progress: &impl Progress,
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

#[cfg(test)]
mod gate_tests {
    use super::*;
    use kspm_engine::incremental::{key_of, Delta, Incremental};
    use kspm_engine::object::{Object, Source};
    use serde_json::{json, Value};

    fn held() -> Held {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/small-cluster");
        let plan = kspm_collectors::files::plan(&[dir]);
        let snapshot = kspm_collectors::files::load_source(&plan.clusters[0]);
        let mut inc = Incremental::new(snapshot, ScanOptions::default());
        inc.apply(Vec::new());
        Arc::new(Mutex::new(Some(inc)))
    }

    fn object(v: Value) -> Object {
        let Value::Object(map) = v else {
            panic!("an object")
        };
        kspm_engine::parse::object_from_map(
            map,
            Source {
                file: "test".into(),
                line: None,
            },
        )
        .expect("object")
    }

    fn apply(held: &Held, v: Value) -> Delta {
        let o = object(v);
        let mut guard = lock_held(held);
        let inc = guard.as_mut().expect("held");
        inc.apply(vec![(key_of(&o), Some(o))])
    }

    fn quiet(d: &Delta) -> bool {
        d.added_findings.is_empty()
            && d.resolved_findings.is_empty()
            && d.added_paths.is_empty()
            && d.resolved_paths.is_empty()
    }

    /// The gate lets through what may change the posture — findings or paths, the digest of
    /// objects, the graph, the options — and nothing else; what it lets through is the held
    /// cluster's result.
    #[test]
    fn the_gate_lets_through_what_may_change_the_posture_and_nothing_else() {
        let options = ScanOptions::default();
        let (_, nothing) = Gate::default().judge(&Held::default(), true, &options);
        assert!(nothing.is_none(), "nothing held yet: nothing to evaluate");
        let held = held();
        let through = |gate: Gate, changed: bool, options: &ScanOptions, why: &str| {
            let (gate, r) = gate.judge(&held, changed, options);
            assert!(r.is_some(), "{why}: let through");
            (gate, r.expect("held"))
        };
        let stopped = |gate: Gate, options: &ScanOptions, why: &str| {
            let (gate, r) = gate.judge(&held, false, options);
            assert!(r.is_none(), "{why}: stopped");
            gate
        };
        // The first look knows no digest yet.
        let (gate, first) = through(Gate::default(), false, &options, "first look");
        // (The result equals a full evaluation of the held objects: tests/incremental.rs.)
        assert!(first.result.graph().graph.node_count() > 0);
        assert_eq!(first.meta.info.name, "small");
        let gate = stopped(gate, &options, "nothing changed");
        // A ConfigMap nothing reads: quiet, and the digest stays.
        let d = apply(
            &held,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "harmless", "namespace": "shop"}, "data": {"a": "b"}}),
        );
        assert!(quiet(&d), "{d:?}");
        let gate = stopped(gate, &options, "a harmless change");
        // A Role no one is bound to: no finding or path, but the RBAC digest changed; the
        // held cluster's read errors go with its result.
        let d = apply(
            &held,
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "unbound", "namespace": "shop"},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}),
        );
        assert!(quiet(&d), "{d:?}");
        let unreadable = kspm_engine::LoadError {
            file: "api://small/pods/shop/bad".into(),
            line: None,
            column: None,
            message: "not a Kubernetes object: `kind` is missing".into(),
        };
        if let Some(inc) = lock_held(&held).as_mut() {
            inc.set_errors(vec![unreadable.clone()]);
        }
        let signature = |held: &Held| lock_held(held).as_ref().and_then(|i| i.graph_signature());
        let before = signature(&held);
        let (gate, role) = through(gate, false, &options, "the digest changed");
        assert_eq!(signature(&held), before, "the digest alone changed");
        assert!(role
            .objects
            .categories
            .get("rbac_role")
            .is_some_and(|roles| roles.contains_key("Role:shop/unbound")));
        // The held read errors are the scan's.
        let (report, _) = kspm_engine::assemble_fleet_graph(vec![role.result], &[], &[]);
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.file == unreadable.file && e.message == unreadable.message),
            "{:?}",
            report.errors
        );
        // Findings or paths that changed are let through as they are, and nothing else is.
        let (gate, _) = through(gate, true, &options, "findings changed");
        let gate = stopped(gate, &options, "nothing since");
        // A pod, then its status alone changing (most of a cluster's traffic): stopped.
        let pod = |phase: &str| {
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "probe", "namespace": "shop"},
                "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx:1.27"}]},
                "status": {"phase": phase}})
        };
        apply(&held, pod("Pending"));
        let (gate, _) = through(gate, false, &options, "a new pod");
        let d = apply(&held, pod("Running"));
        assert!(quiet(&d), "{d:?}");
        let gate = stopped(gate, &options, "a pod's status update");
        // New options (an exception): evaluated again with them.
        let mut excepted = options.clone();
        excepted.exceptions.push(kspm_engine::options::Exception {
            check: "*".into(),
            resource: None,
            cluster: None,
            reason: "accepted".into(),
            expires: None,
        });
        let before = lock_held(&held).as_ref().map_or(0, |i| i.findings().len());
        assert!(before > 0);
        let (gate, _) = through(gate, false, &excepted, "the options changed");
        assert_eq!(
            lock_held(&held).as_ref().map(|i| i.findings().len()),
            Some(0),
            "held with the new options"
        );
        let gate = stopped(gate, &excepted, "the same options again");
        // A new day: exceptions may have expired.
        let mut tomorrow = excepted.clone();
        tomorrow.today = Some("2999-01-01".into());
        let (gate, _) = through(gate, false, &tomorrow, "a new day");
        // A change of the graph alone: a Service in front of the shop's pods.
        let before = signature(&held);
        let objects = lock_held(&held).as_ref().map(|i| i.object_facts());
        let paths = |held: &Held| {
            lock_held(held)
                .as_ref()
                .map(|i| i.paths().iter().map(|p| p.id.clone()).collect::<Vec<_>>())
        };
        let paths_before = paths(&held);
        let d = apply(
            &held,
            json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "probe", "namespace": "shop"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 8080}]}}),
        );
        assert!(quiet(&d), "{d:?}");
        assert_ne!(before, signature(&held), "the Service is in the graph");
        assert_eq!(objects, lock_held(&held).as_ref().map(|i| i.object_facts()));
        assert_eq!(paths_before, paths(&held));
        let (gate, _) = through(gate, false, &tomorrow, "a changed graph");
        stopped(gate, &tomorrow, "nothing since");
    }
}
