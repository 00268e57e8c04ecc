//! Findings stored by difference. Each scan of a target has an ordinal (1, 2, … in commit order);
//! a finding is one row — a span — for the stretch of consecutive scans of its target that report
//! it the same, from the first such scan's ordinal (`from_ord`) to the first that does not
//! (`to_ord`, [`OPEN`] while the latest scan still reports it). A scan's findings are the spans
//! alive at its ordinal. An unchanged rescan writes no finding; a changed one closes the spans of
//! what went and opens spans for what came.
//!
//! A finding's identity within a scan is the hash of its body (and its occurrence, for the rare
//! identical twin); its order is the report's, kept as a byte-ordered sort key.

use super::{db, params, severity_rank, Bind, ScanRecord, ScanRow, Store, StoreResult};
use kspm_engine::Finding;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::{HashMap, HashSet};

/// `to_ord` of a span the latest scan still reports.
pub const OPEN: i64 = i64::MAX;

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

/// A stored finding as read.
#[derive(Debug, Clone)]
pub struct FindingRow {
    /// Scan.
    pub scan_id: String,
    /// Its identity within the scan (and across scans while it is unchanged).
    pub key: String,
    /// Its place in the report's order (a page cursor).
    pub cursor: String,
    /// Report JSON, with `first_seen`.
    pub body: Value,
}

/// A finding prepared for storage.
struct Span {
    hash: String,
    sort_key: String,
    cluster: String,
    check: String,
    severity: i64,
    namespace: String,
    on_path: bool,
    controls: String,
    fkey: String,
    fingerprint: String,
    body: String,
}

/// The separator of the sort key's parts: below every character a report holds, so the key's
/// byte order is the report's order part by part.
const SEP: char = '\u{1}';

/// A body stored before version 9, which may carry `first_seen`, without it.
fn without_first_seen(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(o) = body.as_object_mut() {
        o.remove("first_seen");
    }
    body
}

/// A finding's stored body: its report JSON as a JSON value writes it (keys in order), the
/// bytes its identity is the hash of, the same in every version.
fn body_of_finding(f: &Finding) -> Value {
    // Serialising the engine's types into a value cannot fail (string keys, finite numbers).
    serde_json::to_value(f).unwrap_or(Value::Null)
}

/// A hash that JSON is written into as it is serialised (no string is made).
struct Hashing(Sha256);

impl std::io::Write for Hashing {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The hash of a stored body (as its text), followed by `twin` for the n-th identical body
/// (n > 1).
fn digest(body: &Value, twin: u32) -> [u8; 32] {
    let mut h = Hashing(Sha256::new());
    // Writing into a hash cannot fail.
    let _ = serde_json::to_writer(&mut h, body);
    if twin > 1 {
        h.0.update(twin.to_string().as_bytes());
    }
    h.0.finalize().into()
}

/// Identifies a scan's findings (report order) by their stored bodies (`body`): the hash of
/// each, the n-th of identical bodies (n > 1) hashed with its n. Bodies are made and hashed on
/// every core, one at a time (this is most of an unchanged rescan's storing).
fn identify<T: Sync>(findings: &[T], body: impl Fn(&T) -> Value + Sync) -> Vec<String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = findings.len().div_ceil(cores).max(512);
    let body = &body;
    let digested: Vec<[u8; 32]> = std::thread::scope(|scope| {
        let parts: Vec<_> = findings
            .chunks(per)
            .map(|part| {
                scope.spawn(move || part.iter().map(|f| digest(&body(f), 1)).collect::<Vec<_>>())
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut seen: HashMap<[u8; 32], u32> = HashMap::new();
    findings
        .iter()
        .zip(digested)
        .map(|(f, d)| {
            let twin = seen.entry(d).or_default();
            *twin += 1;
            let d = if *twin == 1 {
                d
            } else {
                digest(&body(f), *twin)
            };
            hex::encode(&d[..12])
        })
        .collect()
}

/// What a span stores beside a finding's body (`body`, its stored text): its place in the
/// report's order and the columns filters read.
fn detail(f: &Finding, body: String, hash: String) -> Span {
    let severity = severity_rank(f.severity.as_str());
    // The engine's order: on a path first, then severity (high first), cluster, check,
    // resource, message; then fingerprint and hash for a total order.
    let sort_key = [
        &format!(
            "{}{}",
            u8::from(!f.on_attack_path),
            4 - severity.clamp(0, 4)
        ),
        &f.cluster,
        &*f.check,
        &f.resource,
        &f.message,
        &f.fingerprint,
        &hash,
    ]
    .map(below_separator)
    .join(&SEP.to_string());
    let controls: String = f
        .controls
        .iter()
        .map(|c| format!("|{}|{}:{}", c.framework, c.framework, c.id))
        .collect();
    Span {
        sort_key,
        cluster: f.cluster.clone(),
        check: f.check.to_string(),
        severity,
        namespace: f.namespace.clone().unwrap_or_default(),
        on_path: f.on_attack_path,
        controls: format!("{controls}|"),
        fkey: kspm_engine::drift::finding_key(f).replace('\0', "\u{fffd}"),
        fingerprint: f.fingerprint.clone(),
        body,
        hash,
    }
}

/// A span of a body stored before version 9 that no longer reads as a finding: kept as it was
/// (nothing is lost), its filter columns empty, after every readable finding in the order, its
/// drift key its own (two such bodies are never one finding to drift).
fn unreadable(body: String, hash: String) -> Span {
    Span {
        sort_key: ["2", "", "", "", "", "", &hash].join(&SEP.to_string()),
        cluster: String::new(),
        check: String::new(),
        severity: 0,
        namespace: String::new(),
        on_path: false,
        controls: "|".into(),
        fkey: format!("unreadable:{hash}"),
        fingerprint: String::new(),
        body,
        hash,
    }
}

/// A sort key's part with no character at or below the separator (a NUL, which PostgreSQL's
/// text refuses, or the separator itself, which would end the part early): such a character
/// reads as the one just above the separator.
fn below_separator(part: &str) -> String {
    if part.chars().all(|c| c > SEP) {
        return part.to_string();
    }
    part.chars()
        .map(|c| if c <= SEP { '\u{2}' } else { c })
        .collect()
}

/// Prepares findings stored before version 9 (report JSON of their time, perhaps with
/// `first_seen`): each is identified by its body as it was stored, without `first_seen`.
fn prepare_legacy(bodies: &[Value]) -> Vec<Span> {
    bodies
        .iter()
        .zip(identify(bodies, without_first_seen))
        .map(|(b, id)| {
            let body = without_first_seen(b);
            match serde_json::from_value::<Finding>(body.clone()) {
                Ok(f) => detail(&f, body.to_string(), id),
                Err(_) => unreadable(body.to_string(), id),
            }
        })
        .collect()
}

const SPAN_COLUMNS: &str = "tenant, target, hash, from_ord, to_ord, sort_key, cluster, check_id, severity, namespace, on_path, controls, fkey, fingerprint, first_seen, body";

/// Inserts spans, each with its first sighting, from `from_ord` to `to_ord`.
async fn insert(
    tx: &mut Transaction<'_, Any>,
    (tenant, target): (&str, &str),
    spans: &[(Span, i64)],
    (from_ord, to_ord): (i64, i64),
) -> StoreResult<()> {
    // Many rows per statement (16 parameters each, well under SQLite's limit).
    for chunk in spans.chunks(50) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", params(i * 16 + 1, 16)))
            .collect();
        let sql = format!(
            "INSERT INTO finding_spans ({SPAN_COLUMNS}) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (s, first_seen) in chunk {
            q = q
                .bind(tenant)
                .bind(target)
                .bind(&s.hash)
                .bind(from_ord)
                .bind(to_ord)
                .bind(&s.sort_key)
                .bind(&s.cluster)
                .bind(&s.check)
                .bind(s.severity)
                .bind(&s.namespace)
                .bind(i64::from(s.on_path))
                .bind(&s.controls)
                .bind(&s.fkey)
                .bind(&s.fingerprint)
                .bind(*first_seen)
                .bind(&s.body);
        }
        q.execute(&mut **tx).await.map_err(db)?;
    }
    Ok(())
}

/// Writes a scan's findings as the difference from the spans its target's latest scan left
/// open: those it no longer reports end at `ordinal`, new ones start there (first seen when a
/// finding of the same fingerprint was, else at the scan's end).
pub(super) async fn write(
    tx: &mut Transaction<'_, Any>,
    s: &ScanRecord,
    ordinal: i64,
) -> StoreResult<()> {
    let open = sqlx::query(
        "SELECT hash FROM finding_spans WHERE tenant = $1 AND target = $2 AND to_ord = $3",
    )
    .bind(&s.tenant)
    .bind(&s.target)
    .bind(OPEN)
    .fetch_all(&mut **tx)
    .await
    .map_err(db)?;
    let open_hashes = open
        .iter()
        .map(|r| r.try_get::<String, _>(0).map_err(db))
        .collect::<StoreResult<HashSet<String>>>()?;
    let ids = identify(&s.findings, body_of_finding);
    let reported: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let gone: Vec<&String> = open_hashes
        .iter()
        .filter(|h| !reported.contains(h.as_str()))
        .collect();
    let came: Vec<Span> = s
        .findings
        .iter()
        .zip(ids)
        .filter(|(_, id)| !open_hashes.contains(id))
        .map(|(f, id)| detail(f, body_of_finding(f).to_string(), id))
        .collect();
    // First sightings carried from the open spans of the same fingerprints.
    let mut first_seen: HashMap<String, i64> = HashMap::new();
    let fingerprints: Vec<&str> = came
        .iter()
        .map(|x| x.fingerprint.as_str())
        .filter(|f| !f.is_empty())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    for chunk in fingerprints.chunks(200) {
        let sql = format!(
            "SELECT fingerprint, MIN(first_seen) FROM finding_spans WHERE tenant = $1 \
             AND target = $2 AND to_ord = $3 AND fingerprint IN ({}) GROUP BY fingerprint",
            params(4, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(&s.tenant).bind(&s.target).bind(OPEN);
        for f in chunk {
            q = q.bind(*f);
        }
        for r in q.fetch_all(&mut **tx).await.map_err(db)? {
            first_seen.insert(r.try_get(0).map_err(db)?, r.try_get(1).map_err(db)?);
        }
    }
    // Then what went ends here (after its first sightings were read).
    for chunk in gone.chunks(200) {
        let sql = format!(
            "UPDATE finding_spans SET to_ord = $1 WHERE tenant = $2 AND target = $3 \
             AND to_ord = $4 AND hash IN ({})",
            params(5, chunk.len())
        );
        let mut q = sqlx::query(&sql)
            .bind(ordinal)
            .bind(&s.tenant)
            .bind(&s.target)
            .bind(OPEN);
        for h in chunk {
            q = q.bind(h.as_str());
        }
        q.execute(&mut **tx).await.map_err(db)?;
    }
    let came: Vec<(Span, i64)> = came
        .into_iter()
        .map(|x| {
            let at = first_seen.get(&x.fingerprint).copied();
            (x, at.unwrap_or(s.finished_at))
        })
        .collect();
    insert(tx, (&s.tenant, &s.target), &came, (ordinal, OPEN)).await
}

/// Converts the findings of scans stored before version 9 (one row per scan and finding): each
/// target's scans get ordinals in commit order, and each finding a span of its own scan (the
/// latest scan's left open, for the next scan to be written against).
pub(super) async fn convert_legacy(tx: &mut Transaction<'_, Any>) -> StoreResult<()> {
    let scans = sqlx::query(
        "SELECT id, tenant, target FROM scans ORDER BY tenant, target, commit_seq, finished_at, id",
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(db)?;
    let mut ordinals: Vec<(String, String, String, i64, bool)> = Vec::new();
    for r in &scans {
        let (id, tenant, target): (String, String, String) = (
            r.try_get("id").map_err(db)?,
            r.try_get("tenant").map_err(db)?,
            r.try_get("target").map_err(db)?,
        );
        let ordinal = match ordinals.last_mut() {
            Some(last) if last.1 == tenant && last.2 == target => {
                last.4 = false;
                last.3 + 1
            }
            _ => 1,
        };
        ordinals.push((id, tenant, target, ordinal, true));
    }
    for (id, tenant, target, ordinal, latest) in &ordinals {
        sqlx::query("UPDATE scans SET ordinal = $1 WHERE id = $2")
            .bind(*ordinal)
            .bind(id)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        let rows =
            sqlx::query("SELECT body, first_seen FROM findings WHERE scan_id = $1 ORDER BY seq")
                .bind(id)
                .fetch_all(&mut **tx)
                .await
                .map_err(db)?;
        let mut bodies = Vec::new();
        let mut seen = Vec::new();
        for r in &rows {
            bodies.push(super::json(&r.try_get::<String, _>("body").map_err(db)?));
            seen.push(r.try_get::<i64, _>("first_seen").map_err(db)?);
        }
        let spans: Vec<(Span, i64)> = prepare_legacy(&bodies).into_iter().zip(seen).collect();
        let to_ord = if *latest { OPEN } else { ordinal + 1 };
        insert(tx, (tenant, target), &spans, (*ordinal, to_ord)).await?;
    }
    sqlx::query("DELETE FROM findings")
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

/// The conditions of the spans alive in `scan`, binding from `$n`. (`+to_ord` keeps the
/// planner off the open-spans index, whose range on `to_ord` selects nearly every row: a listing
/// walks the report-order index instead and stops at its page.)
fn alive(scan: &ScanRow, binds: &mut Vec<Bind>) -> String {
    let n = binds.len();
    binds.push(Bind::Text(scan.tenant.clone()));
    binds.push(Bind::Text(scan.target.clone()));
    binds.push(Bind::Int(scan.ordinal));
    format!(
        "tenant = ${} AND target = ${} AND from_ord <= ${} AND +to_ord > ${}",
        n + 1,
        n + 2,
        n + 3,
        n + 3
    )
}

/// A body as read: the stored JSON with the span's `first_seen`.
fn body_of(r: &AnyRow) -> StoreResult<Value> {
    let mut body = super::json(&r.try_get::<String, _>("body").map_err(db)?);
    if let Some(o) = body.as_object_mut() {
        o.insert(
            "first_seen".into(),
            Value::from(r.try_get::<i64, _>("first_seen").map_err(db)?),
        );
    }
    Ok(body)
}

impl Store {
    /// The filter's conditions (each starting with ` AND`), binding after `binds`.
    pub(super) fn filter_where(f: &FindingFilter, binds: &mut Vec<Bind>) -> String {
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

    /// ` COLLATE "C"` on PostgreSQL, so text orders by bytes as on SQLite.
    pub(super) fn bytewise(&self) -> &'static str {
        if self.postgres {
            " COLLATE \"C\""
        } else {
            ""
        }
    }

    /// Findings of the given scans matching the filter, after the cursor `(scan_id, cursor)`,
    /// in (scan, report) order; and the total number matching.
    pub async fn findings(
        &self,
        scans: &[ScanRow],
        filter: &FindingFilter,
        after: Option<(String, String)>,
        limit: i64,
    ) -> StoreResult<(Vec<FindingRow>, i64)> {
        let mut scans: Vec<&ScanRow> = scans.iter().collect();
        scans.sort_by(|a, b| a.id.cmp(&b.id));
        let mut total = 0;
        let mut out = Vec::new();
        for scan in scans {
            let mut binds = Vec::new();
            let mut where_ = alive(scan, &mut binds);
            where_.push_str(&Self::filter_where(filter, &mut binds));
            total += self
                .count_of(
                    &format!("SELECT COUNT(*) FROM finding_spans WHERE {where_}"),
                    &binds,
                )
                .await?;
            let room = limit - out.len() as i64;
            match &after {
                Some((s, _)) if scan.id < *s => continue,
                _ if room <= 0 => continue,
                Some((s, cursor)) if scan.id == *s => {
                    binds.push(Bind::Text(cursor.clone()));
                    where_.push_str(&format!(
                        " AND sort_key{} > ${}",
                        self.bytewise(),
                        binds.len()
                    ));
                }
                _ => {}
            }
            binds.push(Bind::Int(room));
            let sql = format!(
                "SELECT hash, sort_key, body, first_seen FROM finding_spans WHERE {where_} \
                 ORDER BY sort_key{} LIMIT ${}",
                self.bytewise(),
                binds.len()
            );
            let rows = super::bind_all(sqlx::query(&sql), &binds)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
            for r in &rows {
                out.push(FindingRow {
                    scan_id: scan.id.clone(),
                    key: r.try_get("hash").map_err(db)?,
                    cursor: r.try_get("sort_key").map_err(db)?,
                    body: body_of(r)?,
                });
            }
        }
        Ok((out, total))
    }

    /// One finding of a scan, by its key.
    pub async fn finding(&self, scan: &ScanRow, key: &str) -> StoreResult<Option<Value>> {
        let mut binds = Vec::new();
        let where_ = alive(scan, &mut binds);
        binds.push(Bind::Text(key.to_string()));
        let sql = format!(
            "SELECT body, first_seen FROM finding_spans WHERE {where_} AND hash = ${}",
            binds.len()
        );
        let row = super::bind_all(sqlx::query(&sql), &binds)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(body_of).transpose()
    }

    /// Every finding of a scan as (drift key, key, body), in report order.
    pub async fn finding_keys(&self, scan: &ScanRow) -> StoreResult<Vec<(String, String, Value)>> {
        let mut binds = Vec::new();
        let where_ = alive(scan, &mut binds);
        let sql = format!(
            "SELECT fkey, hash, body, first_seen FROM finding_spans WHERE {where_} ORDER BY sort_key{}",
            self.bytewise()
        );
        let rows = super::bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("fkey").map_err(db)?,
                    r.try_get("hash").map_err(db)?,
                    body_of(r)?,
                ))
            })
            .collect()
    }

    /// Deletes the spans no scan of the target from ordinal `oldest` on reports.
    pub(super) async fn forget_spans_before(
        tx: &mut Transaction<'_, Any>,
        tenant: &str,
        target: &str,
        oldest: i64,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM finding_spans WHERE tenant = $1 AND target = $2 AND to_ord <= $3")
            .bind(tenant)
            .bind(target)
            .bind(oldest)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Prepares every finding of a scan for storage, as [`write`] prepares those that came.
    fn prepare(findings: &[Finding]) -> Vec<Span> {
        findings
            .iter()
            .zip(identify(findings, body_of_finding))
            .map(|(f, id)| detail(f, body_of_finding(f).to_string(), id))
            .collect()
    }

    /// A finding as report JSON (as an older report or stored body may hold it).
    fn finding_json(on_path: bool, severity: &str, check: &str, resource: &str) -> Value {
        json!({"on_attack_path": on_path, "severity": severity, "cluster": "c", "check": check,
               "title": "t", "remediation": "r", "resource": resource, "message": "m",
               "fingerprint": format!("{check}{resource}")})
    }

    fn finding(on_path: bool, severity: &str, check: &str, resource: &str) -> Finding {
        serde_json::from_value(finding_json(on_path, severity, check, resource)).expect("finding")
    }

    #[test]
    fn the_sort_key_orders_as_the_report() {
        // The engine's order, written out: on a path first, then severity, check, resource.
        let ordered = [
            finding(true, "low", "B", "x"),
            finding(false, "critical", "A", "y"),
            finding(false, "high", "A", "x"),
            finding(false, "high", "A", "xy"),
            finding(false, "high", "B", "a"),
            finding(false, "info", "A", "a"),
        ];
        let keys: Vec<String> = prepare(&ordered).into_iter().map(|s| s.sort_key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    /// A finding's identity is the hash of its stored body, and the body is the report's JSON
    /// with its keys in order — the bytes every version since findings were stored by
    /// difference wrote. Were the body written in the type's field order instead, every span
    /// would change on upgrade and every finding be "new" (first seen reset).
    #[test]
    fn the_stored_body_is_the_same_bytes_in_every_version() {
        let stored = concat!(
            r#"{"check":"KSPM-W-001","cluster":"prod","controls":[{"framework":"pss","id":"baseline"}],"#,
            r#""evidence":[{"path":"spec.containers[0].securityContext.privileged","value":true}],"#,
            r#""fingerprint":"0123456789abcdef","message":"container c is privileged","namespace":"shop","#,
            r#""object":{"api_version":"v1","kind":"Pod","name":"web","namespace":"shop"},"#,
            r#""on_attack_path":true,"remediation":"drop it","resource":"Pod:shop/web","#,
            r#""severity":"critical","source":{"file":"prod/pods.yaml","line":3},"title":"Privileged"}"#
        );
        let f: Finding = serde_json::from_str(stored).expect("a finding");
        assert_eq!(body_of_finding(&f).to_string(), stored);
        let want = hex::encode(&Sha256::digest(stored.as_bytes())[..12]);
        let span = &prepare(std::slice::from_ref(&f))[0];
        assert_eq!(
            (span.hash.as_str(), span.body.as_str()),
            (want.as_str(), stored)
        );
        assert_eq!(
            (
                span.cluster.as_str(),
                span.check.as_str(),
                span.namespace.as_str()
            ),
            ("prod", "KSPM-W-001", "shop")
        );
        assert_eq!((span.severity, span.on_path), (4, true));
        assert_eq!(span.controls, "|pss|pss:baseline|");
        assert_eq!(span.fkey, kspm_engine::drift::finding_key(&f));
    }

    #[test]
    fn control_characters_keep_the_order_and_never_reach_the_database() {
        let mut nul = finding(false, "high", "A", "x");
        nul.message = "a\u{0}b".into();
        let mut sep = finding(false, "high", "A", "x");
        sep.message = "a\u{1}b".into();
        for f in [nul, sep] {
            let span = &prepare(&[f])[0];
            assert!(!span.sort_key.contains('\0') && !span.fkey.contains('\0'));
            // Seven parts, however the message reads.
            assert_eq!(span.sort_key.split(SEP).count(), 7);
        }
    }

    #[test]
    fn identity_tells_twins_apart() {
        let a = finding(false, "high", "A", "x");
        let spans = prepare(&[a.clone(), a.clone()]);
        assert_ne!(
            spans[0].hash, spans[1].hash,
            "identical twins are two findings"
        );
        assert_eq!(prepare(std::slice::from_ref(&a))[0].hash, spans[0].hash);
        let mut changed = a;
        changed.message = "n".into();
        assert_ne!(prepare(&[changed])[0].hash, spans[0].hash);
    }

    /// Bodies stored before version 9 are identified by their stored text without
    /// `first_seen`; one that no longer reads as a finding is kept whole, after the rest.
    #[test]
    fn older_bodies_are_identified_as_stored() {
        let plain = finding_json(false, "high", "A", "x");
        let mut with_first_seen = plain.clone();
        with_first_seen["first_seen"] = json!(5);
        let want = hex::encode(&Sha256::digest(plain.to_string().as_bytes())[..12]);
        let spans = prepare_legacy(&[with_first_seen, plain.clone()]);
        assert_eq!(spans[0].hash, want);
        assert_eq!(spans[0].body, plain.to_string());
        assert_ne!(spans[1].hash, want, "the same body twice: twins");
        assert_eq!(spans[0].check, "A");
        let odd = json!({"check": "A", "severity": 7});
        let kept = &prepare_legacy(std::slice::from_ref(&odd))[0];
        assert_eq!(
            (kept.body.as_str(), kept.check.as_str()),
            (odd.to_string().as_str(), "")
        );
        assert!(
            kept.sort_key > spans[0].sort_key,
            "after every readable finding"
        );
        let other = &prepare_legacy(&[json!({"check": "B"})])[0];
        assert_ne!(
            kept.fkey, other.fkey,
            "two unreadable bodies are two findings"
        );
    }
}
