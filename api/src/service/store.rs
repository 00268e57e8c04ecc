//! History: scans, their clusters, findings, attack paths, graphs and posture digests, in SQLite
//! (embedded default) or PostgreSQL (shared by replicas), through one set of SQL statements.
//!
//! A scan is written in one transaction and its `scans` row — the only way readers find it — is
//! part of that transaction, so a scan that fails or crashes half-way is never visible. Scan jobs
//! are leased through the `leases` table (`FOR UPDATE SKIP LOCKED` on PostgreSQL).

use kspm_engine::drift::Facts;
use kspm_engine::graph::GraphDump;
use serde_json::Value;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::sync::atomic::{AtomicU64, Ordering};

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
mod findings;
mod jobs;
pub use findings::FindingRow;
pub use jobs::{JobRow, JobState, JOB_RETENTION_MS};

/// A database error, as text (the service maps it to gRPC `Internal`).
pub type StoreResult<T> = Result<T, String>;

fn db<E: std::fmt::Display>(e: E) -> String {
    format!("database: {e}")
}

/// The database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    postgres: bool,
}

/// One cluster of a scan.
#[derive(Debug, Clone)]
pub struct ClusterRecord {
    /// Cluster name.
    pub name: String,
    /// Provider, version, origin, objects, coverage gaps, errors (JSON object).
    pub summary: Value,
    /// Compliance summaries (JSON array).
    pub compliance: Value,
    /// Posture digest for drift.
    pub facts: Facts,
    /// Attack graph, for queries.
    pub graph: GraphDump,
}

/// A scan to commit.
#[derive(Debug, Clone)]
pub struct ScanRecord {
    /// Scan ID (see [`new_scan_id`]).
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Target.
    pub target: String,
    /// Start, Unix milliseconds.
    pub started_at: i64,
    /// End, Unix milliseconds.
    pub finished_at: i64,
    /// Replica that ran it.
    pub replica: String,
    /// Clusters.
    pub clusters: Vec<ClusterRecord>,
    /// Findings as report JSON, in report order.
    pub findings: Vec<Value>,
    /// Attack paths as report JSON, ranked.
    pub paths: Vec<Value>,
    /// Errors (load, collection).
    pub errors: i64,
    /// The fleet graph the paths were found in (every cluster joined, cloud bridges added).
    pub graph: GraphDump,
}

/// A committed scan, as listed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScanRow {
    /// Scan ID.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Target.
    pub target: String,
    /// Start, Unix milliseconds.
    pub started_at: i64,
    /// End, Unix milliseconds.
    pub finished_at: i64,
    /// Replica.
    pub replica: String,
    /// Clusters.
    pub clusters: i64,
    /// Findings.
    pub findings: i64,
    /// Attack paths.
    pub attack_paths: i64,
    /// Errors.
    pub errors: i64,
    /// Position in the order scans were committed (0 for scans committed before it was kept).
    pub commit_seq: i64,
    /// Position among its target's scans, in commit order (1 for the first).
    pub ordinal: i64,
}

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

/// Finding filters (all optional; empty strings mean "any").
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Cluster.
    pub cluster: String,
    /// Minimum severity rank (0 info … 4 critical), if any.
    pub min_severity: Option<i64>,
    /// Check ID.
    pub check: String,
    /// `framework` or `framework:control`.
    pub control: String,
    /// Namespace.
    pub namespace: String,
    /// Only on attack paths.
    pub on_attack_path: bool,
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

/// A new, time-ordered, unique scan ID.
pub fn new_scan_id(now_ms: i64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    use sha2::{Digest, Sha256};
    let seed = format!(
        "{now_ms}-{}-{}-{:?}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
    );
    let h = hex::encode(Sha256::digest(seed.as_bytes()));
    format!("s{now_ms:013}{}", &h[..10])
}

/// Now, Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn scan_row(r: &AnyRow) -> StoreResult<ScanRow> {
    Ok(ScanRow {
        id: r.try_get("id").map_err(db)?,
        tenant: r.try_get("tenant").map_err(db)?,
        target: r.try_get("target").map_err(db)?,
        started_at: r.try_get("started_at").map_err(db)?,
        finished_at: r.try_get("finished_at").map_err(db)?,
        replica: r.try_get("replica").map_err(db)?,
        clusters: r.try_get("clusters").map_err(db)?,
        findings: r.try_get("findings").map_err(db)?,
        attack_paths: r.try_get("attack_paths").map_err(db)?,
        errors: r.try_get("errors").map_err(db)?,
        commit_seq: r.try_get("commit_seq").map_err(db)?,
        ordinal: r.try_get("ordinal").map_err(db)?,
    })
}

const SCAN_COLUMNS: &str = "id, tenant, target, started_at, finished_at, replica, clusters, findings, attack_paths, errors, commit_seq, ordinal";

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
        let store = Store { pool, postgres };
        store.migrate().await?;
        Ok(store)
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
            return Err(format!(
                "the database holds history schema version {newer}, written by a newer kspm; \
                 this one knows versions up to {known}: run the newer kspm on every replica"
            ));
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

    /// Writes a scan atomically; returns its commit number ([`ScanRow::commit_seq`]).
    /// `fail_after_findings` is a fault-injection hook for tests: the transaction is abandoned
    /// after the findings are written, as a crash would.
    pub async fn commit_scan(&self, s: &ScanRecord, fail_after_findings: bool) -> StoreResult<i64> {
        // The bodies first, each written on its own (no lock is held across the scan's
        // transaction, so two commits sharing bodies never wait on, or deadlock with, each
        // other); one just written or reused is safe from pruning for an hour (`used_at`).
        let now = now_ms();
        let put = |body: Vec<u8>| blobs::put(&self.pool, &s.tenant, body, now);
        let graph = put(serde_json::to_vec(&s.graph).map_err(db)?).await?;
        let paths = put(serde_json::to_vec(&s.paths).map_err(db)?).await?;
        let mut cluster_parts = Vec::new();
        for c in &s.clusters {
            let facts = put(serde_json::to_vec(&c.facts).map_err(db)?).await?;
            let graph = put(serde_json::to_vec(&c.graph).map_err(db)?).await?;
            cluster_parts.push((facts, graph));
        }
        let mut tx = self.pool.begin().await.map_err(db)?;
        // The target's next ordinal: its counter row, held to the end of this transaction, makes
        // the target's commits follow one another (on any replica), and never goes down.
        let ordinal: i64 = sqlx::query(
            "INSERT INTO target_ordinals (tenant, target, n) VALUES ($1, $2, 1) \
             ON CONFLICT (tenant, target) DO UPDATE SET n = target_ordinals.n + 1 RETURNING n",
        )
        .bind(&s.tenant)
        .bind(&s.target)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?
        .try_get(0)
        .map_err(db)?;
        sqlx::query(&format!(
            "INSERT INTO scan_graphs (scan_id, graph, paths) VALUES ({})",
            params(1, 3)
        ))
        .bind(&s.id)
        .bind(graph)
        .bind(paths)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        for (c, (facts, graph)) in s.clusters.iter().zip(cluster_parts) {
            sqlx::query(&format!(
                "INSERT INTO scan_clusters (scan_id, cluster, summary, compliance, facts, graph) VALUES ({})",
                params(1, 6)
            ))
            .bind(&s.id)
            .bind(&c.name)
            .bind(c.summary.to_string())
            .bind(c.compliance.to_string())
            .bind(facts)
            .bind(graph)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        findings::write(&mut tx, s, ordinal).await?;
        if fail_after_findings {
            tx.rollback().await.map_err(db)?;
            return Err("scan abandoned (fault injected)".into());
        }
        // A row per path, for counting and ranking in SQL (the bodies are the scan's paths
        // blob).
        let rows: Vec<(usize, &Value)> = s.paths.iter().enumerate().collect();
        for chunk in rows.chunks(100) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("({})", params(i * 8 + 1, 8)))
                .collect();
            let sql = format!(
                "INSERT INTO paths (scan_id, seq, path_id, cluster, target, body, severity, score) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (seq, p) in chunk {
                let str_of = |k: &str| crate::json::str_at(p, k).to_string();
                q = q
                    .bind(&s.id)
                    .bind(*seq as i64)
                    .bind(str_of("id"))
                    .bind(str_of("cluster"))
                    .bind(str_of("target"))
                    .bind("")
                    .bind(severity_rank(&str_of("severity")))
                    .bind(p.get("score").and_then(Value::as_f64).unwrap_or(0.0));
            }
            q.execute(&mut *tx).await.map_err(db)?;
        }
        // The commit's place in the order of commits: the counter row stays locked until this
        // transaction ends, so the numbers follow the order commits become visible.
        let commit_seq: i64 =
            sqlx::query("UPDATE commit_counter SET n = n + 1 WHERE id = 1 RETURNING n")
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?
                .try_get(0)
                .map_err(db)?;
        sqlx::query(&format!(
            "INSERT INTO scans ({SCAN_COLUMNS}) VALUES ({})",
            params(1, 12)
        ))
        .bind(&s.id)
        .bind(&s.tenant)
        .bind(&s.target)
        .bind(s.started_at)
        .bind(s.finished_at)
        .bind(&s.replica)
        .bind(s.clusters.len() as i64)
        .bind(s.findings.len() as i64)
        .bind(s.paths.len() as i64)
        .bind(s.errors)
        .bind(commit_seq)
        .bind(ordinal)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(commit_seq)
    }

    /// Deletes all but the newest `keep` scans of a target.
    pub async fn prune(&self, tenant: &str, target: &str, keep: u32) -> StoreResult<u64> {
        let old: Vec<String> = sqlx::query(
            "SELECT id FROM scans WHERE tenant = $1 AND target = $2 \
             ORDER BY ordinal DESC, finished_at DESC, id DESC",
        )
        .bind(tenant)
        .bind(target)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .skip(keep.max(1) as usize)
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .collect();
        for id in &old {
            let mut tx = self.pool.begin().await.map_err(db)?;
            // The scans row goes first: readers stop seeing the scan before its parts go.
            for table in ["scans", "scan_clusters", "scan_graphs", "findings", "paths"] {
                let col = if table == "scans" { "id" } else { "scan_id" };
                sqlx::query(&format!("DELETE FROM {table} WHERE {col} = $1"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
        }
        if !old.is_empty() {
            let mut tx = self.pool.begin().await.map_err(db)?;
            let oldest: i64 = sqlx::query(
                "SELECT COALESCE(MIN(ordinal), 0) FROM scans WHERE tenant = $1 AND target = $2",
            )
            .bind(tenant)
            .bind(target)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
            Self::forget_spans_before(&mut tx, tenant, target, oldest).await?;
            tx.commit().await.map_err(db)?;
            self.forget_unused_blobs_now_and_then().await?;
        }
        Ok(old.len() as u64)
    }

    /// The latest scan of every target of a tenant (only configured targets when given).
    pub async fn latest_scans(&self, tenant: &str) -> StoreResult<Vec<ScanRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans s WHERE tenant = $1 AND finished_at = \
             (SELECT MAX(finished_at) FROM scans t WHERE t.tenant = s.tenant AND t.target = s.target) \
             ORDER BY target, id DESC"
        ))
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut out: Vec<ScanRow> = Vec::new();
        for r in &rows {
            let s = scan_row(r)?;
            // Two scans finishing in the same millisecond: keep one per target.
            if out.last().is_none_or(|l| l.target != s.target) {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// One scan of a tenant.
    pub async fn scan(&self, tenant: &str, id: &str) -> StoreResult<Option<ScanRow>> {
        let row = sqlx::query(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE tenant = $1 AND id = $2"
        ))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(scan_row).transpose()
    }

    /// A page (`offset`, `limit`) of the tenant's scans (of `target`, or all), finished in `[since, until)` (Unix
    /// ms), newest first; and how many match in all.
    pub async fn list_scans(
        &self,
        tenant: &str,
        target: &str,
        (since, until): (i64, i64),
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<ScanRow>, u64)> {
        let matching =
            "tenant = $1 AND ($2 = '' OR target = $2) AND finished_at >= $3 AND finished_at < $4";
        let rows = sqlx::query(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE {matching} \
             ORDER BY finished_at DESC, id DESC LIMIT $5 OFFSET $6"
        ))
        .bind(tenant)
        .bind(target)
        .bind(since)
        .bind(until)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let total: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM scans WHERE {matching}"))
            .bind(tenant)
            .bind(target)
            .bind(since)
            .bind(until)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        Ok((
            rows.iter().map(scan_row).collect::<StoreResult<_>>()?,
            total.max(0) as u64,
        ))
    }

    /// The scan of the same target committed just before `scan`.
    pub async fn previous_scan(&self, scan: &ScanRow) -> StoreResult<Option<ScanRow>> {
        let row = sqlx::query(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE tenant = $1 AND target = $2 AND \
             (finished_at < $3 OR (finished_at = $3 AND id < $4)) ORDER BY finished_at DESC, id DESC LIMIT 1"
        ))
        .bind(&scan.tenant)
        .bind(&scan.target)
        .bind(scan.finished_at)
        .bind(&scan.id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(scan_row).transpose()
    }

    /// Scans of a tenant that finished after the given time (oldest first). Event streams ask
    /// with a look-back window: a scan commits some time after it finishes.
    pub async fn scans_since(&self, tenant: &str, after_ms: i64) -> StoreResult<Vec<ScanRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE tenant = $1 AND finished_at > $2 ORDER BY finished_at, id"
        ))
        .bind(tenant)
        .bind(after_ms)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(scan_row).collect()
    }

    /// The tenant's scans committed after commit number `seq`, in commit order.
    pub async fn scans_after_commit(&self, tenant: &str, seq: i64) -> StoreResult<Vec<ScanRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE tenant = $1 AND commit_seq > $2 ORDER BY commit_seq"
        ))
        .bind(tenant)
        .bind(seq)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(scan_row).collect()
    }

    /// The clusters of a scan: (name, summary, compliance).
    pub async fn clusters(&self, scan_id: &str) -> StoreResult<Vec<(String, Value, Value)>> {
        let rows = sqlx::query(
            "SELECT cluster, summary, compliance FROM scan_clusters WHERE scan_id = $1 ORDER BY cluster",
        )
        .bind(scan_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("cluster").map_err(db)?,
                    json(&r.try_get::<String, _>("summary").map_err(db)?),
                    json(&r.try_get::<String, _>("compliance").map_err(db)?),
                ))
            })
            .collect()
    }

    /// The fleet graph of a scan (`None` for scans written before it was stored).
    pub async fn scan_graph(&self, scan_id: &str) -> StoreResult<Option<GraphDump>> {
        let row = sqlx::query("SELECT graph FROM scan_graphs WHERE scan_id = $1")
            .bind(scan_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        let Some(r) = row else { return Ok(None) };
        let graph: String = r.try_get("graph").map_err(db)?;
        Ok(Some(self.load(&graph).await?))
    }

    /// The clusters of a scan, by name.
    pub async fn scan_cluster_names(&self, scan_id: &str) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query("SELECT cluster FROM scan_clusters WHERE scan_id = $1 ORDER BY cluster")
                .bind(scan_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?
                .iter()
                .filter_map(|r| r.try_get::<String, _>(0).ok())
                .collect(),
        )
    }

    /// A cluster's attack graph and posture digest in a scan.
    pub async fn cluster_state(
        &self,
        scan_id: &str,
        cluster: &str,
    ) -> StoreResult<Option<(GraphDump, Facts)>> {
        let row = sqlx::query(
            "SELECT graph, facts FROM scan_clusters WHERE scan_id = $1 AND cluster = $2",
        )
        .bind(scan_id)
        .bind(cluster)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(r) = row else { return Ok(None) };
        let graph: String = r.try_get("graph").map_err(db)?;
        let facts: String = r.try_get("facts").map_err(db)?;
        Ok(Some((self.load(&graph).await?, self.load(&facts).await?)))
    }

    /// The filter's conditions (each starting with ` AND`), binding after `binds`.
    fn filter_where(f: &FindingFilter, binds: &mut Vec<Bind>) -> String {
        let mut sql = String::new();
        let mut add = |clause: &str, b: Bind| {
            binds.push(b);
            sql.push_str(&clause.replace("$?", &format!("${}", binds.len())));
        };
        if !f.cluster.is_empty() {
            add(" AND cluster = $?", Bind::Text(f.cluster.clone()));
        }
        if let Some(min) = f.min_severity {
            add(" AND severity >= $?", Bind::Int(min));
        }
        if !f.check.is_empty() {
            add(" AND check_id = $?", Bind::Text(f.check.clone()));
        }
        if !f.control.is_empty() {
            // Exact token match, case-insensitive on both databases; LIKE wildcards escaped.
            let escaped = f
                .control
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            add(
                " AND LOWER(controls) LIKE $? ESCAPE '\\'",
                Bind::Text(format!("%|{escaped}|%")),
            );
        }
        if !f.namespace.is_empty() {
            add(" AND namespace = $?", Bind::Text(f.namespace.clone()));
        }
        if f.on_attack_path {
            sql.push_str(" AND on_path = 1");
        }
        sql
    }

    /// Every attack path of a scan, ranked.
    pub async fn paths(&self, scan_id: &str) -> StoreResult<Vec<Value>> {
        let stored = sqlx::query("SELECT paths FROM scan_graphs WHERE scan_id = $1")
            .bind(scan_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        if let Some(r) = stored {
            let column: String = r.try_get(0).map_err(db)?;
            if !column.is_empty() {
                return self.load(&column).await;
            }
        }
        // Scans stored before version 10: a body per row.
        let rows = sqlx::query("SELECT body FROM paths WHERE scan_id = $1 ORDER BY seq")
            .bind(scan_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map(|t| json(&t)).map_err(db))
            .collect()
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

    /// The attack paths of each of `scans` ([`Store::paths`]), a body shared by several scans
    /// (the same paths) read once.
    pub async fn paths_of(
        &self,
        scans: &[String],
    ) -> StoreResult<std::collections::HashMap<String, std::sync::Arc<Vec<Value>>>> {
        let mut out = std::collections::HashMap::new();
        if scans.is_empty() {
            return Ok(out);
        }
        let binds: Vec<Bind> = scans.iter().map(|s| Bind::Text(s.clone())).collect();
        let sql = format!(
            "SELECT scan_id, paths FROM scan_graphs WHERE scan_id IN ({})",
            params(1, scans.len())
        );
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let mut by_body: std::collections::HashMap<String, std::sync::Arc<Vec<Value>>> =
            std::collections::HashMap::new();
        for r in rows {
            let scan: String = r.try_get(0).map_err(db)?;
            let column: String = r.try_get(1).map_err(db)?;
            if column.is_empty() {
                continue;
            }
            let body = match by_body.get(&column) {
                Some(b) => b.clone(),
                None => {
                    let b = std::sync::Arc::new(self.load::<Vec<Value>>(&column).await?);
                    by_body.insert(column, b.clone());
                    b
                }
            };
            out.insert(scan, body);
        }
        for scan in scans {
            if !out.contains_key(scan) {
                let paths = self.paths(scan).await?;
                out.insert(scan.clone(), std::sync::Arc::new(paths));
            }
        }
        Ok(out)
    }

    /// The names of the clusters a scan read.
    pub async fn cluster_names(&self, scan_id: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT cluster FROM scan_clusters WHERE scan_id = $1")
            .bind(scan_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(db))
            .collect()
    }

    /// Whether the tenant has any scan of `target`.
    pub async fn has_target(&self, tenant: &str, target: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM scans WHERE tenant = $1 AND target = $2 LIMIT 1")
            .bind(tenant)
            .bind(target)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.is_some())
    }

    /// The attack paths of `scans` on `cluster` and to `target` (empty: any), ranked — score
    /// first, then path ID, scan ID and position — by the database: how many match, and the
    /// page of at most `limit` from `offset`, as (scan ID, position in the scan's [`Store::paths`]).
    /// `None` when some scan's paths were stored without scores (before schema version 12):
    /// then only their bodies rank them.
    pub async fn path_page(
        &self,
        scans: &[String],
        cluster: &str,
        target: &str,
        offset: usize,
        limit: usize,
    ) -> StoreResult<Option<(u64, Vec<(String, usize)>)>> {
        if scans.is_empty() {
            return Ok(Some((0, Vec::new())));
        }
        let mut binds: Vec<Bind> = scans.iter().map(|s| Bind::Text(s.clone())).collect();
        let mut filter = format!("scan_id IN ({})", params(1, scans.len()));
        let unscored = self
            .count_of(
                &format!("SELECT COUNT(*) FROM paths WHERE {filter} AND score IS NULL"),
                &binds,
            )
            .await?;
        if unscored > 0 {
            return Ok(None);
        }
        for (column, value) in [("cluster", cluster), ("target", target)] {
            if !value.is_empty() {
                binds.push(Bind::Text(value.to_string()));
                filter.push_str(&format!(" AND {column} = ${}", binds.len()));
            }
        }
        let total = self
            .count_of(
                &format!("SELECT COUNT(*) FROM paths WHERE {filter}"),
                &binds,
            )
            .await?
            .max(0) as u64;
        if offset as u64 >= total {
            return Ok(Some((total, Vec::new())));
        }
        // Text in byte order on both databases, as the ranking from bodies compares it.
        let b = self.bytewise();
        let page = format!(
            "SELECT scan_id, seq FROM paths WHERE {filter} \
             ORDER BY score DESC, path_id{b}, scan_id{b}, seq LIMIT {limit} OFFSET {offset}"
        );
        let rows = bind_all(sqlx::query(&page), &binds)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let page = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>(0).map_err(db)?,
                    r.try_get::<i64, _>(1).map_err(db)?.max(0) as usize,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some((total, page)))
    }

    /// How many attack paths a scan holds per cluster and severity rank, counted by the
    /// database.
    pub async fn path_counts(&self, scan_id: &str) -> StoreResult<Vec<(String, i64, u64)>> {
        let rows = sqlx::query(
            "SELECT cluster, severity, COUNT(*) AS n FROM paths WHERE scan_id = $1 GROUP BY cluster, severity ORDER BY cluster, severity",
        )
        .bind(scan_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("cluster").map_err(db)?,
                    r.try_get::<i64, _>("severity").map_err(db)?,
                    r.try_get::<i64, _>("n").map_err(db)?.max(0) as u64,
                ))
            })
            .collect()
    }

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

    /// The newest scan of a target committed after commit number `seq`, if any.
    pub async fn committed_after(
        &self,
        tenant: &str,
        target: &str,
        seq: i64,
    ) -> StoreResult<Option<ScanRow>> {
        let row = sqlx::query(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE tenant = $1 AND target = $2 AND commit_seq > $3 \
             ORDER BY commit_seq DESC LIMIT 1"
        ))
        .bind(tenant)
        .bind(target)
        .bind(seq)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(scan_row).transpose()
    }

    /// The last commit number so far (0 before any).
    pub async fn last_commit(&self) -> StoreResult<i64> {
        sqlx::query("SELECT n FROM commit_counter WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?
            .try_get(0)
            .map_err(db)
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
            _ => return Err(format!("no table {table}")),
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

/// Follows a tenant's newly committed scans for event streams. A scan commits some time after
/// it finishes (and replicas' clocks differ), so each poll looks back [`ScanFollower::WINDOW_MS`]
/// and skips scans already delivered: none is missed because a later one committed first.
pub struct ScanFollower {
    tenant: String,
    newest: i64,
    delivered: std::collections::HashMap<String, i64>,
    /// Scans to deliver before polling (a resumed stream's replay).
    pending: Vec<ScanRow>,
}

impl ScanFollower {
    /// How far back each poll looks.
    pub const WINDOW_MS: i64 = 120_000;

    /// Starts following from now: scans already committed are not delivered.
    pub async fn start(store: &Store, tenant: &str) -> StoreResult<ScanFollower> {
        let mut f = ScanFollower {
            tenant: tenant.to_string(),
            newest: now_ms(),
            delivered: std::collections::HashMap::new(),
            pending: Vec::new(),
        };
        f.poll(store).await?;
        Ok(f)
    }

    /// Starts following after scan `after` (one of the tenant's): every scan committed after it
    /// — in commit order, across replicas — is the first batch, then new commits follow. (A
    /// scan committed before the commit order was kept: those finished after it, by time.)
    pub async fn start_after(
        store: &Store,
        tenant: &str,
        after: &ScanRow,
    ) -> StoreResult<ScanFollower> {
        let replay: Vec<ScanRow> = if after.commit_seq > 0 {
            store.scans_after_commit(tenant, after.commit_seq).await?
        } else {
            store
                .scans_since(tenant, after.finished_at - 1)
                .await?
                .into_iter()
                .filter(|r| (r.finished_at, r.id.as_str()) > (after.finished_at, after.id.as_str()))
                .collect()
        };
        let newest = replay
            .iter()
            .map(|r| r.finished_at)
            .fold(after.finished_at, i64::max);
        // What the window of the next polls can see and the client has (committed up to the
        // cursor) or is about to get (the replay) is delivered; a scan committed since the replay
        // was read is not, so a poll finds it.
        let last = replay
            .iter()
            .map(|r| r.commit_seq)
            .fold(after.commit_seq, i64::max);
        let mut delivered = std::collections::HashMap::new();
        for r in store.scans_since(tenant, newest - Self::WINDOW_MS).await? {
            let had = if r.commit_seq > 0 {
                r.commit_seq <= last
            } else {
                (r.finished_at, r.id.as_str()) <= (after.finished_at, after.id.as_str())
            };
            if had {
                delivered.insert(r.id, r.finished_at);
            }
        }
        for r in &replay {
            delivered.insert(r.id.clone(), r.finished_at);
        }
        Ok(ScanFollower {
            tenant: tenant.to_string(),
            newest,
            delivered,
            pending: replay,
        })
    }

    /// Scans committed since the last poll, oldest first.
    pub async fn poll(&mut self, store: &Store) -> StoreResult<Vec<ScanRow>> {
        if !self.pending.is_empty() {
            return Ok(std::mem::take(&mut self.pending));
        }
        let from = self.newest - Self::WINDOW_MS;
        let rows = store.scans_since(&self.tenant, from).await?;
        let mut fresh = Vec::new();
        for r in rows {
            if self.delivered.contains_key(&r.id) {
                continue;
            }
            self.delivered.insert(r.id.clone(), r.finished_at);
            self.newest = self.newest.max(r.finished_at);
            fresh.push(r);
        }
        let horizon = self.newest - Self::WINDOW_MS;
        self.delivered.retain(|_, t| *t >= horizon);
        Ok(fresh)
    }
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
