//! Exceptions (accepted risks) of a tenant, each created and ended with an audit record.

use super::{db, params, Store, StoreResult};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A stored exception (an accepted risk) of a tenant.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExceptionRow {
    /// ID.
    pub id: String,
    /// Check ID or `*`.
    pub check: String,
    /// Resource pattern (empty: all).
    pub resource: String,
    /// Cluster pattern (empty: all).
    pub cluster: String,
    /// Why.
    pub reason: String,
    /// Last day it applies (YYYY-MM-DD).
    pub expires: String,
    /// Who accepted it.
    pub author: String,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Ended by the API, Unix ms (0: not ended).
    pub expired_at: i64,
}

impl ExceptionRow {
    /// Whether it applies on `today` (YYYY-MM-DD): not ended, not past its last day.
    pub fn active(&self, today: &str) -> bool {
        self.expired_at == 0 && self.expires.as_str() >= today
    }
}

fn exception_row(r: &AnyRow) -> StoreResult<ExceptionRow> {
    Ok(ExceptionRow {
        id: r.try_get("id").map_err(db)?,
        check: r.try_get("check_id").map_err(db)?,
        resource: r.try_get("resource").map_err(db)?,
        cluster: r.try_get("cluster").map_err(db)?,
        reason: r.try_get("reason").map_err(db)?,
        expires: r.try_get("expires").map_err(db)?,
        author: r.try_get("author").map_err(db)?,
        created_at: r.try_get("created_at").map_err(db)?,
        expired_at: r.try_get("expired_at").map_err(db)?,
    })
}

const EXCEPTION_COLUMNS: &str =
    "id, check_id, resource, cluster, reason, expires, author, created_at, expired_at";

impl Store {
    /// Stores a tenant's new exception and audits it.
    pub async fn create_exception(&self, tenant: &str, e: &ExceptionRow) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(&format!(
            "INSERT INTO exceptions (tenant, {EXCEPTION_COLUMNS}) VALUES ({})",
            params(1, 10)
        ))
        .bind(tenant)
        .bind(&e.id)
        .bind(&e.check)
        .bind(&e.resource)
        .bind(&e.cluster)
        .bind(&e.reason)
        .bind(&e.expires)
        .bind(&e.author)
        .bind(e.created_at)
        .bind(e.expired_at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        Self::audit(&mut tx, tenant, &e.id, "created", &e.author, e.created_at).await?;
        tx.commit().await.map_err(db)
    }

    async fn audit(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &str,
        id: &str,
        action: &str,
        author: &str,
        at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO exception_audit (tenant, exception_id, action, author, at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant)
        .bind(id)
        .bind(action)
        .bind(author)
        .bind(at)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
        Ok(())
    }

    /// A tenant's exceptions, newest first.
    pub async fn exceptions(&self, tenant: &str) -> StoreResult<Vec<ExceptionRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {EXCEPTION_COLUMNS} FROM exceptions WHERE tenant = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(exception_row).collect()
    }

    /// Ends a tenant's exception at `at` (audited); `None` when the tenant has no such one.
    pub async fn expire_exception(
        &self,
        tenant: &str,
        id: &str,
        author: &str,
        at: i64,
    ) -> StoreResult<Option<ExceptionRow>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let done = sqlx::query(
            "UPDATE exceptions SET expired_at = $1 WHERE tenant = $2 AND id = $3 AND expired_at = 0",
        )
        .bind(at)
        .bind(tenant)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() > 0 {
            Self::audit(&mut tx, tenant, id, "expired", author, at).await?;
        }
        let row = sqlx::query(&format!(
            "SELECT {EXCEPTION_COLUMNS} FROM exceptions WHERE tenant = $1 AND id = $2"
        ))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        row.as_ref().map(exception_row).transpose()
    }

    /// The audit of a tenant's exceptions: (exception, action, author, at), oldest first.
    pub async fn exception_audit(
        &self,
        tenant: &str,
    ) -> StoreResult<Vec<(String, String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT exception_id, action, author, at FROM exception_audit WHERE tenant = $1 ORDER BY at, exception_id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(db)?,
                    r.try_get(1).map_err(db)?,
                    r.try_get(2).map_err(db)?,
                    r.try_get(3).map_err(db)?,
                ))
            })
            .collect()
    }
}
