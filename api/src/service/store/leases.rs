//! Scan jobs and their leases: which replica runs which target's scan, and when each is next
//! due (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas skip each other's locked rows).

use super::{db, Store, StoreResult};
use sqlx::Row;

/// What [`Store::take_lease`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// It was free or expired: now the caller's, to release.
    Taken,
    /// Someone holds it (this replica's scheduler or a trigger, or another replica).
    HeldBy(String),
    /// No such job (not registered yet).
    Unregistered,
}

impl Store {
    /// Registers scan jobs (idempotent; a new job is due at once).
    pub async fn ensure_jobs(&self, jobs: &[(String, String)]) -> StoreResult<()> {
        for (tenant, target) in jobs {
            sqlx::query(
                "INSERT INTO leases (tenant, target, owner, expires_at, next_due) VALUES ($1, $2, '', 0, 0) \
                 ON CONFLICT (tenant, target) DO NOTHING",
            )
            .bind(tenant)
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        }
        Ok(())
    }

    /// Leases up to `limit` due jobs whose lease is free or expired to `owner` until
    /// `now + lease_ms`. On PostgreSQL, concurrent replicas skip each other's locked rows.
    pub async fn lease_due(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<(String, String)>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let lock = if self.postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let rows = sqlx::query(&format!(
            "SELECT tenant, target FROM leases WHERE next_due <= $1 AND (owner = '' OR expires_at < $1) \
             ORDER BY next_due, tenant, target LIMIT $2{lock}"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut out = Vec::new();
        for r in &rows {
            let tenant: String = r.try_get("tenant").map_err(db)?;
            let target: String = r.try_get("target").map_err(db)?;
            // The WHERE repeats the condition: on SQLite (no row locks) this is what makes the
            // lease exclusive.
            let done = sqlx::query(
                "UPDATE leases SET owner = $1, expires_at = $2 WHERE tenant = $3 AND target = $4 \
                 AND next_due <= $5 AND (owner = '' OR expires_at < $5)",
            )
            .bind(owner)
            .bind(now + lease_ms)
            .bind(&tenant)
            .bind(&target)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            if done.rows_affected() == 1 {
                out.push((tenant, target));
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    /// Extends a lease still held by `owner`; false when it was lost (expired and taken).
    pub async fn heartbeat(
        &self,
        owner: &str,
        tenant: &str,
        target: &str,
        until: i64,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE leases SET expires_at = $1 WHERE tenant = $2 AND target = $3 AND owner = $4",
        )
        .bind(until)
        .bind(tenant)
        .bind(target)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(r.rows_affected() == 1)
    }

    /// Releases a lease and sets when the job is next due.
    pub async fn release(
        &self,
        owner: &str,
        tenant: &str,
        target: &str,
        next_due: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE leases SET owner = '', expires_at = 0, next_due = $1 WHERE tenant = $2 AND target = $3 AND owner = $4",
        )
        .bind(next_due)
        .bind(tenant)
        .bind(target)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    /// Takes a job's lease for `owner` now if it is free or expired — one conditional update,
    /// so two takers never both succeed — else says who holds it.
    pub async fn take_lease(
        &self,
        owner: &str,
        tenant: &str,
        target: &str,
        now: i64,
        lease_ms: i64,
    ) -> StoreResult<Lease> {
        let taken = sqlx::query(
            "UPDATE leases SET owner = $1, expires_at = $2 WHERE tenant = $3 AND target = $4 \
             AND (owner = '' OR expires_at < $5)",
        )
        .bind(owner)
        .bind(now + lease_ms)
        .bind(tenant)
        .bind(target)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if taken.rows_affected() > 0 {
            return Ok(Lease::Taken);
        }
        let holder = sqlx::query("SELECT owner FROM leases WHERE tenant = $1 AND target = $2")
            .bind(tenant)
            .bind(target)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(match holder {
            None => Lease::Unregistered,
            Some(r) => Lease::HeldBy(r.try_get(0).map_err(db)?),
        })
    }

    /// Makes a job due now (TriggerScan on another replica's schedule).
    pub async fn make_due(&self, tenant: &str, target: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE leases SET next_due = $1 WHERE tenant = $2 AND target = $3")
            .bind(now)
            .bind(tenant)
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}
