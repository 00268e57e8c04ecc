//! Scan jobs (TriggerScan): a triggered scan runs as a job of its own, detached from the call
//! that asked for it. The call answers at once with the job (or, asked to, waits for it); the job
//! finishes even when the client goes away or its deadline passes; its row in the store says
//! where it is — queued behind another replica's scan, running, succeeded with its scan, or
//! failed and why — to any replica (GetScanJob). A second trigger of a target whose job has not
//! ended joins that job.

use super::config::Target;
use super::failure::Failure;
use super::scheduler::{self, TIMED_OUT};
use super::store::{new_scan_id, now_ms, JobRow, JobState, ScanRow, JOB_RETENTION_MS};
use super::Shared;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

/// How a job ended: the scan it committed (or joined), or the error.
pub type JobOutcome = Result<ScanRow, String>;

/// This replica's jobs that have not ended, by (tenant, target), and their tasks.
#[derive(Default)]
pub struct Jobs {
    active: Mutex<HashMap<(String, String), Started>>,
    tasks: Mutex<tokio::task::JoinSet<()>>,
}

/// A job as started (or joined): its ID, whether its row is written, and its outcome once it
/// ends.
#[derive(Clone)]
pub struct Started {
    /// Job ID.
    pub id: String,
    accepted: watch::Receiver<Option<Result<(), Failure>>>,
    done: watch::Receiver<Option<JobOutcome>>,
}

impl Started {
    /// Waits until the job's row is written (readable by GetScanJob on any replica).
    async fn accepted(&mut self) -> Result<(), Failure> {
        match self.accepted.wait_for(Option::is_some).await {
            Ok(a) => a.clone().unwrap_or(Ok(())),
            Err(_) => Err(Failure::Other(
                "the job was not recorded (the service is stopping)".into(),
            )),
        }
    }

    /// Waits for the job to end.
    pub async fn outcome(mut self) -> JobOutcome {
        match self.done.wait_for(Option::is_some).await {
            Ok(o) => o
                .clone()
                .unwrap_or_else(|| Err("the job has no outcome".into())),
            Err(_) => Err("the job stopped without an outcome (the service is stopping)".into()),
        }
    }
}

/// Starts a job scanning `target` for `tenant` — or joins the one of that target not ended on
/// this replica — and returns it once its row is written. The row is written, and the job run,
/// by a task of the job's own: a caller that goes away (deadline, reset) leaves neither a job
/// without a row nor a row without a job.
pub async fn start(
    shared: &Arc<Shared>,
    tenant: &str,
    target: &Target,
) -> Result<Started, Failure> {
    let key = (tenant.to_string(), target.name.clone());
    let mut started = {
        let mut active = shared.jobs.active.lock().unwrap_or_else(|e| e.into_inner());
        match active.get(&key) {
            Some(running) => running.clone(),
            None => {
                let now = now_ms();
                let (accepted_tx, accepted) = watch::channel(None);
                let (done_tx, done) = watch::channel(None);
                let started = Started {
                    id: format!("j{}", &new_scan_id(now)[1..]),
                    accepted,
                    done,
                };
                active.insert(key.clone(), started.clone());
                let row = JobRow {
                    id: started.id.clone(),
                    tenant: tenant.to_string(),
                    target: target.name.clone(),
                    state: JobState::Queued,
                    detail: "queued".into(),
                    replica: shared.replica.clone(),
                    created_at: now,
                    started_at: 0,
                    finished_at: 0,
                    updated_at: now,
                    scan_id: String::new(),
                };
                let job = run(
                    shared.clone(),
                    key,
                    target.clone(),
                    row,
                    accepted_tx,
                    done_tx,
                );
                shared
                    .jobs
                    .tasks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .spawn(job);
                started
            }
        }
    };
    started.accepted().await?;
    Ok(started)
}

/// A job's task: records it, runs it to its end, records the end, then lets it go.
async fn run(
    shared: Arc<Shared>,
    key: (String, String),
    target: Target,
    row: JobRow,
    accepted: watch::Sender<Option<Result<(), Failure>>>,
    done: watch::Sender<Option<JobOutcome>>,
) {
    if let Err(e) = shared
        .store
        .prune_jobs(row.created_at - JOB_RETENTION_MS)
        .await
    {
        warn!(error = %e, "forgetting old scan jobs failed");
    }
    if let Err(e) = shared.store.create_job(&row).await {
        warn!(job = %row.id, error = %e, "recording a scan job failed");
        forget(&shared, &key, &row.id);
        let _ = done.send(Some(Err(e.to_string())));
        let _ = accepted.send(Some(Err(e.into())));
        return;
    }
    info!(tenant = %key.0, target = %target.name, job = %row.id, "scan job accepted");
    let _ = accepted.send(Some(Ok(())));
    let progress = Progress {
        shared: shared.clone(),
        row: Mutex::new(row),
    };
    let beat = progress.keep_alive();
    let outcome = scheduler::trigger(&shared, &key.0, &target, &progress).await;
    progress.end(&outcome).await;
    beat.abort();
    forget(&shared, &key, &progress.id());
    let _ = done.send(Some(outcome));
}

impl Jobs {
    /// Whether `id` is a job of this replica that has not ended.
    fn is_active(&self, id: &str) -> bool {
        let active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        active.values().any(|s| s.id == id)
    }

    /// On shutdown: waits up to `grace` for the running jobs; the ones still running then are
    /// stopped and recorded as failed (the service stopped), so no reader waits on them. (A
    /// stopped job's lease expires after `lease_seconds`, as a stopped replica's does.)
    pub async fn drain(shared: &Shared, grace: Duration) {
        let mut tasks =
            std::mem::take(&mut *shared.jobs.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let deadline = tokio::time::sleep(grace);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = tasks.join_next() => if next.is_none() { return },
                _ = &mut deadline => break,
            }
        }
        tasks.abort_all();
        let left: Vec<(String, String)> = {
            let active = shared.jobs.active.lock().unwrap_or_else(|e| e.into_inner());
            active
                .iter()
                .map(|((tenant, _), s)| (tenant.clone(), s.id.clone()))
                .collect()
        };
        warn!(jobs = left.len(), "stopping unfinished scan jobs");
        for (tenant, id) in left {
            if let Ok(Some(mut row)) = shared.store.job(&tenant, &id).await {
                let now = now_ms();
                row.state = JobState::Failed;
                row.detail =
                    "the service stopped before the job ended; trigger the scan again".into();
                row.finished_at = now;
                row.updated_at = now;
                if let Err(e) = shared.store.update_job(&row).await {
                    warn!(job = %id, error = %e, "recording a stopped job failed");
                }
            }
        }
    }
}

/// Drops a job from the active ones (it ended): the next trigger starts a new one.
fn forget(shared: &Shared, key: &(String, String), id: &str) {
    let mut active = shared.jobs.active.lock().unwrap_or_else(|e| e.into_inner());
    if active.get(key).is_some_and(|s| s.id == id) {
        active.remove(key);
    }
}

/// A running job's row, written as the job moves on.
pub struct Progress {
    shared: Arc<Shared>,
    row: Mutex<JobRow>,
}

impl Progress {
    fn id(&self) -> String {
        self.lock().id.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JobRow> {
        self.row.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the row and writes it; `tries` writes at most (backing off), since a row left
    /// unended would be reported abandoned.
    async fn write(&self, tries: u32, change: impl FnOnce(&mut JobRow)) {
        let row = {
            let mut row = self.lock();
            change(&mut row);
            row.updated_at = now_ms();
            row.clone()
        };
        for attempt in 1..=tries {
            match self.shared.store.update_job(&row).await {
                Ok(()) => return,
                Err(e) if attempt == tries => {
                    warn!(job = %row.id, error = %e, "recording the job's progress failed");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await,
            }
        }
    }

    async fn end(&self, outcome: &JobOutcome) {
        let id = self.id();
        self.write(8, |r| {
            r.finished_at = now_ms();
            if r.started_at == 0 {
                r.started_at = r.finished_at;
            }
            match outcome {
                Ok(scan) => {
                    r.state = JobState::Succeeded;
                    r.detail = if scan.replica == r.replica {
                        "scan committed".into()
                    } else {
                        format!("scan committed by replica {}", scan.replica)
                    };
                    r.scan_id = scan.id.clone();
                }
                Err(e) => {
                    r.state = JobState::Failed;
                    r.detail = tenant_words(e, &id);
                }
            }
        })
        .await;
        match outcome {
            Ok(scan) => info!(job = %id, scan = %scan.id, "scan job succeeded"),
            Err(e) => warn!(job = %id, error = %e, "scan job failed"),
        }
    }

    /// Renews the row while the job runs, so readers can tell a job whose replica stopped.
    fn keep_alive(&self) -> tokio::task::JoinHandle<()> {
        let (shared, id) = (self.shared.clone(), self.id());
        let every = (shared.config.service.lease_seconds * 1000 / 3) as i64;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(every.max(100) as u64)).await;
                if let Err(e) = shared.store.touch_job(&id, now_ms()).await {
                    warn!(job = %id, error = %e, "renewing the job failed");
                }
            }
        })
    }
}

impl scheduler::Progress for Progress {
    /// The job scans the target now (under its lease, or joining this replica's scan of it).
    async fn running(&self) {
        self.write(1, |r| {
            r.state = JobState::Running;
            r.detail = "scanning".into();
            if r.started_at == 0 {
                r.started_at = now_ms();
            }
        })
        .await;
    }

    /// The job waits for the scan another replica is running (its commit is the answer).
    async fn waiting_for(&self, holder: &str) {
        // A lease owner is a replica, or a replica's triggers (`<replica>/trigger`).
        let replica = holder.split('/').next().unwrap_or(holder);
        let detail = format!("waiting for replica {replica}'s scan of the target");
        if self.lock().detail == detail {
            return;
        }
        self.write(1, |r| {
            r.state = JobState::Queued;
            r.detail = detail;
        })
        .await;
    }
}

/// The words a failed job shows its tenant: a timeout says so (target and limit only); any other
/// cause — a database or read error, which can name server paths and hosts — stays in the log.
fn tenant_words(error: &str, job: &str) -> String {
    if error.contains(TIMED_OUT) {
        error.to_string()
    } else {
        format!("the scan failed; the service log has the cause (job {job})")
    }
}

/// After how long without renewal a job not ended counts as abandoned: three lease times (it is
/// renewed every third of one), so a slow database or some clock skew between replicas is not
/// taken for a stopped replica.
pub fn stale_ms(shared: &Shared) -> i64 {
    (shared.config.service.lease_seconds * 3000).max(1000) as i64
}

/// A job as readers see it now (see [`JobRow::as_seen`]); a job this replica is running is
/// never judged abandoned.
pub fn as_seen(shared: &Shared, row: JobRow) -> JobRow {
    if shared.jobs.is_active(&row.id) {
        return row;
    }
    row.as_seen(now_ms(), stale_ms(shared))
}

/// A tenant's job as readers see it now.
pub async fn seen(
    shared: &Shared,
    tenant: &str,
    id: &str,
) -> super::store::StoreResult<Option<JobRow>> {
    Ok(shared
        .store
        .job(tenant, id)
        .await?
        .map(|j| as_seen(shared, j)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_timeout_reaches_the_tenant_in_words() {
        let timed_out = format!("scan of target t {TIMED_OUT} 5 s (its timeout)");
        assert_eq!(tenant_words(&timed_out, "j1"), timed_out);
        let private = "database: error connecting to /var/lib/kspm/db.sqlite";
        let words = tenant_words(private, "j1");
        assert!(!words.contains("/var/lib"), "{words}");
        assert!(words.contains("j1"), "{words}");
    }

    #[test]
    fn a_job_not_renewed_is_seen_as_abandoned() {
        let row = JobRow {
            id: "j1".into(),
            tenant: "t".into(),
            target: "x".into(),
            state: JobState::Running,
            detail: "scanning".into(),
            replica: "r1".into(),
            created_at: 1_000,
            started_at: 1_000,
            finished_at: 0,
            updated_at: 2_000,
            scan_id: String::new(),
        };
        // Renewed within the window: as stored.
        assert_eq!(row.clone().as_seen(2_500, 1_000), row);
        // Not renewed for longer: failed, naming the replica, ended when last renewed.
        let seen = row.clone().as_seen(3_001, 1_000);
        assert_eq!(seen.state, JobState::Failed);
        assert!(seen.detail.contains("replica r1"), "{}", seen.detail);
        assert_eq!(seen.finished_at, 2_000);
        // An ended job is never re-judged.
        let ended = JobRow {
            state: JobState::Succeeded,
            finished_at: 2_000,
            ..row
        };
        assert_eq!(ended.clone().as_seen(1_000_000, 1_000), ended);
    }
}
