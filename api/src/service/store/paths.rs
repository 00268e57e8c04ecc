//! A scan's attack paths: their bodies one blob per scan (shared by scans that found the same),
//! a row per path for counting and ranking in SQL.

use super::{bind_all, db, json, params, Bind, Store, StoreResult};
use serde_json::Value;
use sqlx::Row;

impl Store {
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
}
