//! Content-addressed, compressed bodies: the large parts of a scan (attack graphs, attack paths,
//! posture digests) are stored once per tenant and content, and a scan's column refers to them as
//! `zstd:<hash>`. Columns written before (JSON text) are still read as they are.

use super::{db, Store, StoreError, StoreResult};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

/// The prefix of a column that refers to a blob.
const PREFIX: &str = "zstd:";

/// zstd level: fast to write (a 14 MB graph in ~40 ms), ~10× smaller for this JSON.
const LEVEL: i32 = 3;

/// A body no scan refers to is deleted only once it has not been used for this long, so a scan
/// committing while old scans are pruned never loses a body it reuses.
pub const UNUSED_MS: i64 = 3_600_000;

/// The reference a body gets: the tenant is part of the hash, so tenants never share a body.
fn hash(tenant: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(tenant.as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(&h.finalize()[..16])
}

/// Stores `body` (JSON) for `tenant` unless stored already — then only marks it used at `now`
/// — and returns the column value that refers to it. Each statement stands alone (no
/// transaction): a commit never holds a body's row while it writes the rest of the scan.
pub(super) async fn put(
    pool: &AnyPool,
    tenant: &str,
    body: Vec<u8>,
    now: i64,
) -> StoreResult<String> {
    let h = hash(tenant, &body);
    let touched = sqlx::query("UPDATE blobs SET used_at = $1 WHERE hash = $2")
        .bind(now)
        .bind(&h)
        .execute(pool)
        .await
        .map_err(db)?;
    if touched.rows_affected() == 0 {
        let packed = zstd::bulk::compress(&body, LEVEL).map_err(db)?;
        sqlx::query(
            "INSERT INTO blobs (hash, body, used_at) VALUES ($1, $2, $3) \
             ON CONFLICT (hash) DO UPDATE SET used_at = $3",
        )
        .bind(&h)
        .bind(packed)
        .bind(now)
        .execute(pool)
        .await
        .map_err(db)?;
    }
    Ok(format!("{PREFIX}{h}"))
}

impl Store {
    /// Reads a column written by [`put`] (or, for scans stored before, the JSON itself).
    pub(super) async fn load<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        let Some(h) = column.strip_prefix(PREFIX) else {
            return serde_json::from_str(column).map_err(db);
        };
        let row = sqlx::query("SELECT body FROM blobs WHERE hash = $1")
            .bind(h)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or_else(|| StoreError::Failed(format!("stored body {h} is missing")))?;
        let packed: Vec<u8> = row.try_get(0).map_err(db)?;
        let body = zstd::stream::decode_all(packed.as_slice()).map_err(db)?;
        serde_json::from_slice(&body).map_err(db)
    }

    /// After pruning: deletes unused bodies (see [`Store::forget_unused_blobs`]) at most once
    /// every ten minutes per process — the search reads every scan's references.
    pub(super) async fn forget_unused_blobs_now_and_then(&self) -> StoreResult<()> {
        static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        let now = super::now_ms();
        let last = LAST.load(std::sync::atomic::Ordering::Relaxed);
        if now - last < 600_000
            || LAST
                .compare_exchange(
                    last,
                    now,
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_err()
        {
            return Ok(());
        }
        self.forget_unused_blobs(now - UNUSED_MS).await.map(|_| ())
    }

    /// Deletes the bodies no scan refers to that were last used before `before`.
    pub async fn forget_unused_blobs(&self, before: i64) -> StoreResult<u64> {
        let referred = |table: &str, column: &str| {
            format!(
                "SELECT SUBSTR({column}, {}) FROM {table} WHERE {column} LIKE '{PREFIX}%'",
                PREFIX.len() + 1
            )
        };
        let gone = sqlx::query(&format!(
            "DELETE FROM blobs WHERE used_at < $1 AND hash NOT IN ({} UNION {} UNION {} UNION {})",
            referred("scan_graphs", "graph"),
            referred("scan_graphs", "paths"),
            referred("scan_clusters", "graph"),
            referred("scan_clusters", "facts"),
        ))
        .bind(before)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(gone.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_never_share_a_body() {
        assert_eq!(hash("a", b"{}"), hash("a", b"{}"));
        assert_ne!(hash("a", b"{}"), hash("b", b"{}"));
        // The separator keeps (tenant, body) pairs apart.
        assert_ne!(hash("ab", b"c"), hash("a", b"bc"));
    }
}
