//! Scan jobs clients asked for (TriggerScan): one row each, written by the replica that runs the
//! job and read by any replica (GetScanJob, ListScanJobs).

use super::{db, params, Store, StoreResult};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Where a job is. Stored as its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Accepted; waiting for the target's lease (another replica's scan of it).
    Queued,
    /// Scanning the target (or waiting for one of this replica's scan slots).
    Running,
    /// Ended with a committed scan.
    Succeeded,
    /// Ended without one.
    Failed,
}

impl JobState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> JobState {
        match s {
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            _ => JobState::Queued,
        }
    }

    /// Whether the job has ended.
    pub fn ended(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed)
    }
}

/// A stored scan job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    /// Job ID.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Target.
    pub target: String,
    /// State.
    pub state: JobState,
    /// What it is doing or waiting for, or why it failed (tenant-safe words).
    pub detail: String,
    /// Replica running it.
    pub replica: String,
    /// Accepted, Unix ms.
    pub created_at: i64,
    /// Started scanning (or joined a scan), Unix ms; 0 before.
    pub started_at: i64,
    /// Ended, Unix ms; 0 before.
    pub finished_at: i64,
    /// Last written by its replica, Unix ms (renewed while it runs).
    pub updated_at: i64,
    /// The scan it committed or joined (empty unless succeeded).
    pub scan_id: String,
}

impl JobRow {
    /// The row as a reader should see it at `now`: a job not ended whose replica has not
    /// renewed it for `stale_ms` was abandoned (the replica stopped), and is reported failed.
    pub fn as_seen(mut self, now: i64, stale_ms: i64) -> JobRow {
        if !self.state.ended() && now - self.updated_at > stale_ms {
            self.state = JobState::Failed;
            self.detail = format!(
                "abandoned: replica {} stopped while the job ran; trigger the scan again",
                self.replica
            );
            self.finished_at = self.updated_at;
        }
        self
    }
}

const JOB_COLUMNS: &str =
    "id, tenant, target, state, detail, replica, created_at, started_at, finished_at, updated_at, scan_id";

fn job_row(r: &AnyRow) -> StoreResult<JobRow> {
    Ok(JobRow {
        id: r.try_get("id").map_err(db)?,
        tenant: r.try_get("tenant").map_err(db)?,
        target: r.try_get("target").map_err(db)?,
        state: JobState::parse(&r.try_get::<String, _>("state").map_err(db)?),
        detail: r.try_get("detail").map_err(db)?,
        replica: r.try_get("replica").map_err(db)?,
        created_at: r.try_get("created_at").map_err(db)?,
        started_at: r.try_get("started_at").map_err(db)?,
        finished_at: r.try_get("finished_at").map_err(db)?,
        updated_at: r.try_get("updated_at").map_err(db)?,
        scan_id: r.try_get("scan_id").map_err(db)?,
    })
}

/// How long a job stays listable after it was last written (it ended, or its replica stopped).
pub const JOB_RETENTION_MS: i64 = 24 * 3600 * 1000;

impl Store {
    /// Forgets the jobs last written before `before` (ended, or abandoned by their replica).
    pub async fn prune_jobs(&self, before: i64) -> StoreResult<u64> {
        let gone = sqlx::query("DELETE FROM scan_jobs WHERE updated_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(gone.rows_affected())
    }

    /// Records a new job.
    pub async fn create_job(&self, job: &JobRow) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO scan_jobs ({JOB_COLUMNS}) VALUES ({})",
            params(1, 11)
        ))
        .bind(&job.id)
        .bind(&job.tenant)
        .bind(&job.target)
        .bind(job.state.as_str())
        .bind(&job.detail)
        .bind(&job.replica)
        .bind(job.created_at)
        .bind(job.started_at)
        .bind(job.finished_at)
        .bind(job.updated_at)
        .bind(&job.scan_id)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    /// Writes a job's state, detail, times and scan (the row's other columns do not change).
    pub async fn update_job(&self, job: &JobRow) -> StoreResult<()> {
        sqlx::query(
            "UPDATE scan_jobs SET state = $1, detail = $2, started_at = $3, finished_at = $4, \
             updated_at = $5, scan_id = $6 WHERE id = $7",
        )
        .bind(job.state.as_str())
        .bind(&job.detail)
        .bind(job.started_at)
        .bind(job.finished_at)
        .bind(job.updated_at)
        .bind(&job.scan_id)
        .bind(&job.id)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    /// Renews a running job's `updated_at`.
    pub async fn touch_job(&self, id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE scan_jobs SET updated_at = $1 WHERE id = $2 AND finished_at = 0")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// A tenant's job (`None` for another tenant's or an unknown ID).
    pub async fn job(&self, tenant: &str, id: &str) -> StoreResult<Option<JobRow>> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM scan_jobs WHERE tenant = $1 AND id = $2"
        ))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(job_row).transpose()
    }

    /// A tenant's newest jobs (of one target when given), newest first, at most `limit`.
    pub async fn jobs(&self, tenant: &str, target: &str, limit: i64) -> StoreResult<Vec<JobRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM scan_jobs WHERE tenant = $1 AND ($2 = '' OR target = $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(tenant)
        .bind(target)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(job_row).collect()
    }
}
