//! The database: scan history, scan jobs and exceptions, in SQLite (embedded default) or
//! PostgreSQL (shared by replicas), through one set of SQL statements; one module per concept:
//! - [`scans`]: the history — scans, their clusters, graphs and posture digests, in commit order;
//! - [`findings`]: a scan's findings, stored by difference;
//! - [`paths`]: a scan's attack paths, ranked in SQL;
//! - [`blobs`]: the large parts, stored once per tenant and content;
//! - [`leases`]: which replica runs which target's scan;
//! - [`jobs`]: the scan jobs the API triggers and reports on;
//! - [`exceptions`]: accepted risks and their audit.
//!
//! This module opens the database, applies the schema migrations and holds the helpers the
//! others share.

use serde_json::Value;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};

/// Schema migrations, applied in order at start (the same SQL for both databases).
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_fleet_graph.sql")),
    (
        3,
        include_str!("../../migrations/0003_finding_identity.sql"),
    ),
    (4, include_str!("../../migrations/0004_path_severity.sql")),
    (5, include_str!("../../migrations/0005_commit_order.sql")),
    (6, include_str!("../../migrations/0006_exceptions.sql")),
    (7, include_str!("../../migrations/0007_scan_jobs.sql")),
    (8, include_str!("../../migrations/0008_blobs.sql")),
    (9, include_str!("../../migrations/0009_finding_spans.sql")),
    (10, include_str!("../../migrations/0010_path_bodies.sql")),
    (
        11,
        include_str!("../../migrations/0011_target_ordinals.sql"),
    ),
    (12, include_str!("../../migrations/0012_path_scores.sql")),
];

mod blobs;
mod error;
mod exceptions;
mod findings;
mod jobs;
mod leases;
mod paths;
mod scans;
pub use error::{StoreError, StoreResult};
pub use exceptions::ExceptionRow;
pub use findings::{FindingFilter, FindingRow};
pub use jobs::{JobRow, JobState, JOB_RETENTION_MS};
pub use leases::Lease;
pub use scans::{new_scan_id, ClusterRecord, ScanFollower, ScanRecord, ScanRow};

/// A database error of any source, as the store reports it.
fn db<E: Into<StoreError>>(e: E) -> StoreError {
    e.into()
}

/// The database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    postgres: bool,
    /// Fault injection for tests ([`Store::abandon_commits`]).
    abandon: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// The rank stored for a severity name.
pub fn severity_rank(s: &str) -> i64 {
    match s {
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        _ => 0,
    }
}

/// Now, Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// `$1, $2, ...` placeholders from `start`.
fn params(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Connects (creating a SQLite file if needed) and applies migrations.
    pub async fn open(url: &str) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let postgres = url.starts_with("postgres:") || url.starts_with("postgresql:");
        let memory = url.contains(":memory:");
        let url = if url.starts_with("sqlite:") && !url.contains('?') && !memory {
            format!("{url}?mode=rwc")
        } else {
            url.to_string()
        };
        let mut options = AnyPoolOptions::new();
        if memory {
            // Each new connection to `:memory:` is a new, empty database: keep the one forever.
            options = options
                .min_connections(1)
                .max_lifetime(None)
                .idle_timeout(None);
        }
        let pool = options
            .max_connections(if postgres { 8 } else { 1 })
            .connect(&url)
            .await
            .map_err(db)?;
        let store = Store {
            pool,
            postgres,
            abandon: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Fault injection for tests: while on, every commit ([`Store::commit_scan`]) is abandoned
    /// after its findings are written, as a crash would abandon it, and fails.
    pub fn abandon_commits(&self, on: bool) {
        self.abandon.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        if self.postgres {
            // Replicas starting together migrate one at a time.
            sqlx::query("SELECT pg_advisory_xact_lock(7419283)")
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        sqlx::query("CREATE TABLE IF NOT EXISTS kspm_migrations (version BIGINT PRIMARY KEY)")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let applied: Vec<i64> = sqlx::query("SELECT version FROM kspm_migrations")
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?
            .iter()
            .filter_map(|r| r.try_get::<i64, _>(0).ok())
            .collect();
        // A database a newer kspm wrote is never written by this one (it would store history
        // the newer one cannot read): upgrade every replica, or none.
        let known = MIGRATIONS.iter().map(|(v, _)| *v).max().unwrap_or(0);
        if let Some(newer) = applied.iter().copied().filter(|v| *v > known).max() {
            return Err(StoreError::Newer {
                found: newer,
                known,
            });
        }
        for (version, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                sqlx::query(stmt).execute(&mut *tx).await.map_err(db)?;
            }
            if *version == 9 {
                findings::convert_legacy(&mut tx).await?;
            }
            if *version == 11 {
                // Findings are listed in byte order of their sort key (ORDER BY … LIMIT): an
                // index in that order, which on PostgreSQL names the byte-order collation.
                let collate = if self.postgres { " COLLATE \"C\"" } else { "" };
                sqlx::query(&format!(
                    "CREATE INDEX finding_spans_order ON finding_spans (tenant, target, sort_key{collate})"
                ))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            sqlx::query("INSERT INTO kspm_migrations (version) VALUES ($1)")
                .bind(*version)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    /// The number a `SELECT COUNT(*) ...` query with `binds` answers.
    pub(super) async fn count_of(&self, sql: &str, binds: &[Bind]) -> StoreResult<i64> {
        bind_all(sqlx::query(sql), binds)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?
            .try_get::<i64, _>(0)
            .map_err(db)
    }

    /// Removes everything (tests).
    pub async fn clear(&self) -> StoreResult<()> {
        for t in [
            "scans",
            "scan_clusters",
            "scan_graphs",
            "findings",
            "paths",
            "leases",
            "scan_jobs",
            "blobs",
            "finding_spans",
        ] {
            sqlx::query(&format!("DELETE FROM {t}"))
                .execute(&self.pool)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    /// Rows of a table (tests: proving nothing partial was left).
    pub async fn count(&self, table: &str) -> StoreResult<i64> {
        let table = match table {
            "scans" | "scan_clusters" | "findings" | "paths" | "leases" | "blobs"
            | "finding_spans" => table,
            _ => return Err(StoreError::Failed(format!("no table {table}"))),
        };
        sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.pool)
            .await
            .map_err(db)?
            .try_get(0)
            .map_err(db)
    }
}

/// A bound value of a dynamically built query.
#[derive(Debug, Clone)]
pub enum Bind {
    /// Text.
    Text(String),
    /// Integer.
    Int(i64),
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(i) => q.bind(*i),
        };
    }
    q
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    /// Migrations are split into statements at `;`: one inside a comment would cut a statement
    /// in two (each piece must start, after its comments, with a statement).
    #[test]
    fn every_migration_splits_into_statements() {
        for (version, sql) in MIGRATIONS {
            for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                let code = stmt
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with("--"))
                    .unwrap_or("");
                assert!(
                    ["CREATE ", "ALTER ", "INSERT "]
                        .iter()
                        .any(|k| code.starts_with(k)),
                    "migration {version}: a statement starts with {code:?}"
                );
            }
        }
    }
}
