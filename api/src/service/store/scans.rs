//! The history: scans, their clusters (summary, compliance, attack graph, posture digest) and
//! fleet graphs, in the order they were committed.
//!
//! A scan is written in one transaction and its `scans` row — the only way readers find it — is
//! part of that transaction, so a scan that fails or crashes half-way is never visible.

use super::{
    blobs, db, findings, json, now_ms, params, severity_rank, Store, StoreError, StoreResult,
};
use kspm_engine::compliance::ComplianceSummary;
use kspm_engine::drift::Facts;
use kspm_engine::graph::paths::AttackPath;
use kspm_engine::graph::GraphDump;
use kspm_engine::report::ClusterSummary;
use kspm_engine::Finding;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::sync::atomic::{AtomicU64, Ordering};

/// One cluster of a scan.
#[derive(Debug, Clone, Default)]
pub struct ClusterRecord {
    /// Cluster name.
    pub name: String,
    /// Whether it was read (a live cluster that could not be reached was not).
    pub reached: bool,
    /// The report's summary of it (provider, version, origin, objects, findings per severity);
    /// `None` when it was not read.
    pub summary: Option<ClusterSummary>,
    /// The kinds it did not let the scan list.
    pub coverage_gaps: Vec<String>,
    /// What could not be read, each as `file:line: message` (or why it was not reached).
    pub error_messages: Vec<String>,
    /// Its compliance summaries, one per framework.
    pub compliance: Vec<ComplianceSummary>,
    /// Posture digest for drift.
    pub facts: Facts,
    /// Attack graph, for queries.
    pub graph: GraphDump,
}

impl ClusterRecord {
    /// A cluster that could not be read at all, and why.
    pub fn unreached(name: &str, why: String) -> ClusterRecord {
        ClusterRecord {
            name: name.to_string(),
            error_messages: vec![why],
            ..Default::default()
        }
    }

    /// The `summary` column: the report's summary of the cluster (its name, `provider:
    /// unknown` and no objects when it was not read) with `reached`, `coverage_gaps` and
    /// `error_messages` (what the service's `convert::StoredCluster` reads back).
    fn summary_column(&self) -> StoreResult<String> {
        let mut column = match &self.summary {
            Some(s) => serde_json::to_value(s).map_err(db)?,
            None if self.reached => Value::Object(Default::default()),
            None => serde_json::json!({"name": self.name, "objects": 0, "provider": "unknown"}),
        };
        if let Some(o) = column.as_object_mut() {
            o.insert("reached".into(), Value::Bool(self.reached));
            o.insert(
                "coverage_gaps".into(),
                serde_json::json!(self.coverage_gaps),
            );
            o.insert(
                "error_messages".into(),
                serde_json::json!(self.error_messages),
            );
        }
        Ok(column.to_string())
    }

    /// The `compliance` column: the cluster's compliance summaries as JSON, keys in order (as
    /// every version wrote it).
    fn compliance_column(&self) -> StoreResult<String> {
        Ok(serde_json::to_value(&self.compliance)
            .map_err(db)?
            .to_string())
    }
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
    /// Findings, in report order.
    pub findings: Vec<Finding>,
    /// Attack paths, ranked.
    pub paths: Vec<AttackPath>,
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

impl Store {
    /// Writes a scan atomically; returns its commit number ([`ScanRow::commit_seq`]).
    pub async fn commit_scan(&self, s: &ScanRecord) -> StoreResult<i64> {
        // The bodies first, each written on its own (no lock is held across the scan's
        // transaction, so two commits sharing bodies never wait on, or deadlock with, each
        // other); one just written or reused is safe from pruning for an hour (`used_at`).
        let now = now_ms();
        let put = |body: Vec<u8>| blobs::put(&self.pool, &s.tenant, body, now);
        let graph = put(serde_json::to_vec(&s.graph).map_err(db)?).await?;
        // The paths as every version wrote them (keys in order), so a body stored before an
        // upgrade is the body after it.
        let paths = serde_json::to_value(&s.paths).map_err(db)?;
        let paths = put(serde_json::to_vec(&paths).map_err(db)?).await?;
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
            .bind(c.summary_column()?)
            .bind(c.compliance_column()?)
            .bind(facts)
            .bind(graph)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        findings::write(&mut tx, s, ordinal).await?;
        if self.abandon.load(Ordering::Relaxed) {
            tx.rollback().await.map_err(db)?;
            return Err(StoreError::Abandoned);
        }
        // A row per path, for counting and ranking in SQL (the bodies are the scan's paths
        // blob).
        let rows: Vec<(usize, &AttackPath)> = s.paths.iter().enumerate().collect();
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
                q = q
                    .bind(&s.id)
                    .bind(*seq as i64)
                    .bind(&p.id)
                    .bind(&p.cluster)
                    .bind(&p.target)
                    .bind("")
                    .bind(severity_rank(p.severity.as_str()))
                    .bind(p.score);
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

    /// The names of the clusters of a scan, in order.
    pub async fn cluster_names(&self, scan_id: &str) -> StoreResult<Vec<String>> {
        let rows =
            sqlx::query("SELECT cluster FROM scan_clusters WHERE scan_id = $1 ORDER BY cluster")
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The summary column holds what earlier versions wrote (`convert::StoredCluster` reads it):
    /// a cluster not reached as its name, provider `unknown` and why; one read as the report's
    /// summary with `reached`, its coverage gaps and errors.
    #[test]
    fn a_cluster_summary_is_stored_as_before() {
        let unreached = ClusterRecord::unreached("prod", "connection refused".into());
        let column: Value =
            serde_json::from_str(&unreached.summary_column().expect("column")).expect("json");
        assert_eq!(
            column,
            json!({"name": "prod", "reached": false, "objects": 0, "provider": "unknown",
                   "coverage_gaps": [], "error_messages": ["connection refused"]})
        );
        let summary: ClusterSummary = serde_json::from_value(json!({"name": "prod",
            "provider": "eks", "kubernetes_version": "1.31", "origin": "fleet/prod",
            "objects": 12, "kinds": {"Pod": 12}, "unevaluated_kinds": {},
            "findings_by_severity": {"high": 2}, "errors": 1}))
        .expect("summary");
        let reached = ClusterRecord {
            name: "prod".into(),
            reached: true,
            summary: Some(summary.clone()),
            coverage_gaps: vec!["secrets".into()],
            error_messages: vec!["prod/x.yaml:3: bad".into()],
            ..Default::default()
        };
        let text = reached.summary_column().expect("column");
        let mut want = serde_json::to_value(&summary).expect("json");
        want["reached"] = json!(true);
        want["coverage_gaps"] = json!(["secrets"]);
        want["error_messages"] = json!(["prod/x.yaml:3: bad"]);
        assert_eq!(text, want.to_string(), "keys in order, as before");
    }
}
