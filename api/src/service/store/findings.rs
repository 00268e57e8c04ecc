//! Findings stored by difference. Each scan of a target has an ordinal (1, 2, … in commit order);
//! a finding is one row — a span — for the stretch of consecutive scans of its target that report
//! it the same, from the first such scan's ordinal (`from_ord`) to the first that does not
//! (`to_ord`, [`OPEN`] while the latest scan still reports it). A scan's findings are the spans
//! alive at its ordinal. An unchanged rescan writes no finding; a changed one closes the spans of
//! what went and opens spans for what came.
//!
//! A finding's identity within a scan is the hash of its body (and its occurrence, for the rare
//! identical twin); its order is the report's, kept as a byte-ordered sort key.

use super::{
    db, params, severity_rank, Bind, FindingFilter, ScanRecord, ScanRow, Store, StoreResult,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::{HashMap, HashSet};

/// `to_ord` of a span the latest scan still reports.
pub const OPEN: i64 = i64::MAX;

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

/// The body of a finding as stored: the report's JSON without `first_seen` (only bodies
/// stored before version 9 carried one).
fn stored_body(f: &Value) -> String {
    if f.get("first_seen").is_none() {
        return f.to_string();
    }
    let mut body = f.clone();
    if let Some(o) = body.as_object_mut() {
        o.remove("first_seen");
    }
    body.to_string()
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

/// The hash of a finding's stored body (the bytes [`stored_body`] makes), followed by `twin`
/// for the n-th identical body (n > 1).
fn digest(f: &Value, twin: u32) -> [u8; 32] {
    let mut h = Hashing(Sha256::new());
    if f.get("first_seen").is_none() {
        // Writing into a hash cannot fail.
        let _ = serde_json::to_writer(&mut h, f);
    } else {
        h.0.update(stored_body(f).as_bytes());
    }
    if twin > 1 {
        h.0.update(twin.to_string().as_bytes());
    }
    h.0.finalize().into()
}

/// Identifies a scan's findings (report JSON, report order): the hash of each stored body, the
/// n-th of identical bodies (n > 1) hashed with its n. Bodies are hashed as they are serialised,
/// on every core (this is most of an unchanged rescan's storing).
fn identify(findings: &[Value]) -> Vec<String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = findings.len().div_ceil(cores).max(512);
    let digested: Vec<[u8; 32]> = std::thread::scope(|scope| {
        let parts: Vec<_> = findings
            .chunks(per)
            .map(|part| scope.spawn(move || part.iter().map(|f| digest(f, 1)).collect::<Vec<_>>()))
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
            let d = if *twin == 1 { d } else { digest(f, *twin) };
            hex::encode(&d[..12])
        })
        .collect()
}

/// What a span stores beside a finding's body: its place in the report's order and the
/// columns filters read.
fn detail(f: &Value, hash: String) -> Span {
    let str_of = |k: &str| crate::json::str_at(f, k).to_string();
    let severity = severity_rank(&str_of("severity"));
    let on_path = f
        .get("on_attack_path")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // The engine's order: on a path first, then severity (high first), cluster, check,
    // resource, message; then fingerprint and hash for a total order.
    let sort_key = [
        format!("{}{}", u8::from(!on_path), 4 - severity.clamp(0, 4)),
        str_of("cluster"),
        str_of("check"),
        str_of("resource"),
        str_of("message"),
        str_of("fingerprint"),
        hash.clone(),
    ]
    .map(|part| below_separator(&part))
    .join(&SEP.to_string());
    let controls: String = f
        .get("controls")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let fw = c.get("framework").and_then(Value::as_str).unwrap_or("");
                    let ctl = c.get("id").and_then(Value::as_str).unwrap_or("");
                    format!("|{fw}|{fw}:{ctl}")
                })
                .collect()
        })
        .unwrap_or_default();
    Span {
        sort_key,
        cluster: str_of("cluster"),
        check: str_of("check"),
        severity,
        namespace: str_of("namespace"),
        on_path,
        controls: format!("{controls}|"),
        fkey: kspm_engine::drift::finding_key_json(f).replace('\0', "\u{fffd}"),
        fingerprint: str_of("fingerprint"),
        body: stored_body(f),
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

/// Prepares every finding of a scan for storage.
fn prepare(findings: &[Value]) -> Vec<Span> {
    findings
        .iter()
        .zip(identify(findings))
        .map(|(f, id)| detail(f, id))
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
    let ids = identify(&s.findings);
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
        .map(|(f, id)| detail(f, id))
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
        let spans: Vec<(Span, i64)> = prepare(&bodies).into_iter().zip(seen).collect();
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

    fn finding(on_path: bool, severity: &str, check: &str, resource: &str) -> Value {
        json!({"on_attack_path": on_path, "severity": severity, "cluster": "c", "check": check,
               "resource": resource, "message": "m", "fingerprint": format!("{check}{resource}"),
               "first_seen": 5})
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

    #[test]
    fn the_identity_is_the_hash_of_the_stored_body() {
        let with_first_seen = finding(false, "high", "A", "x");
        let mut plain = with_first_seen.clone();
        if let Some(o) = plain.as_object_mut() {
            o.remove("first_seen");
        }
        let want = hex::encode(&Sha256::digest(plain.to_string().as_bytes())[..12]);
        assert_eq!(identify(std::slice::from_ref(&plain))[0], want);
        assert_eq!(identify(&[with_first_seen])[0], want);
        assert_eq!(prepare(&[plain.clone()])[0].body, plain.to_string());
    }

    #[test]
    fn control_characters_keep_the_order_and_never_reach_the_database() {
        let mut nul = finding(false, "high", "A", "x");
        nul["message"] = json!("a\u{0}b");
        let mut sep = finding(false, "high", "A", "x");
        sep["message"] = json!("a\u{1}b");
        for f in [nul, sep] {
            let span = &prepare(&[f])[0];
            assert!(!span.sort_key.contains('\0') && !span.fkey.contains('\0'));
            // Seven parts, however the message reads.
            assert_eq!(span.sort_key.split(SEP).count(), 7);
        }
    }

    #[test]
    fn identity_ignores_first_seen_and_tells_twins_apart() {
        let a = finding(false, "high", "A", "x");
        let mut later = a.clone();
        later["first_seen"] = json!(99);
        let spans = prepare(&[a.clone(), a.clone()]);
        assert_ne!(
            spans[0].hash, spans[1].hash,
            "identical twins are two findings"
        );
        assert_eq!(prepare(&[later])[0].hash, spans[0].hash);
        assert!(!spans[0].body.contains("first_seen"));
        let mut changed = a;
        changed["message"] = json!("n");
        assert_ne!(prepare(&[changed])[0].hash, spans[0].hash);
    }
}
