//! Stored report parts, read back into the engine's types, to protobuf messages; page tokens.

use super::pb;
use super::store::{JobRow, JobState, ScanRow};
use kspm_engine::compliance::ComplianceSummary;
use kspm_engine::graph::paths::{AttackPath, Step};
use kspm_engine::vulns::ContainerVulnerabilities;
use kspm_engine::Finding;
use serde_json::Value;
use tonic::Status;

/// Severity name to protobuf enum.
pub fn severity(name: &str) -> pb::Severity {
    match name {
        "info" => pb::Severity::Info,
        "low" => pb::Severity::Low,
        "medium" => pb::Severity::Medium,
        "high" => pb::Severity::High,
        "critical" => pb::Severity::Critical,
        _ => pb::Severity::Unspecified,
    }
}

/// The engine's severity as the protobuf enum.
pub fn engine_to_pb(s: kspm_engine::Severity) -> pb::Severity {
    use kspm_engine::Severity as S;
    match s {
        S::Critical => pb::Severity::Critical,
        S::High => pb::Severity::High,
        S::Medium => pb::Severity::Medium,
        S::Low => pb::Severity::Low,
        S::Info => pb::Severity::Info,
    }
}

/// Protobuf severity to the engine's (unspecified: info).
pub fn engine_severity(s: pb::Severity) -> kspm_engine::Severity {
    use kspm_engine::Severity as S;
    match s {
        pb::Severity::Critical => S::Critical,
        pb::Severity::High => S::High,
        pb::Severity::Medium => S::Medium,
        pb::Severity::Low => S::Low,
        _ => S::Info,
    }
}

/// A fix plan as the API gives it.
pub fn fix_plan(p: &kspm_engine::graph::fixplan::FixPlan) -> pb::GetFixPlanResponse {
    let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    pb::GetFixPlanResponse {
        severity: severity(p.severity.as_str()) as i32,
        method: p.method.clone(),
        cost: p.cost,
        lower_bound: p.lower_bound,
        paths: n(p.paths),
        paths_cut: n(p.paths_cut),
        fixes: p
            .fixes
            .iter()
            .map(|f| pb::Fix {
                id: f.id.clone(),
                cluster: f.object.cluster.clone(),
                object: Some(pb::ObjectRef {
                    api_version: f.object.api_version.clone(),
                    kind: f.object.kind.clone(),
                    namespace: f.object.namespace.clone().unwrap_or_default(),
                    name: f.object.name.clone(),
                    uid: String::new(),
                }),
                changes: f.changes.clone(),
                fields: f.fields.clone(),
                patch_json: Value::Array(f.patch.clone()).to_string(),
                delete: f.delete,
                command: f.command.clone(),
                cost: f.cost,
                breaks: f.breaks.clone(),
                resolves: f.resolves.clone(),
                loses: f.loses.clone(),
            })
            .collect(),
        remaining: p
            .remaining
            .iter()
            .map(|r| pb::RemainingPath {
                id: r.id.clone(),
                cluster: r.cluster.clone(),
                source: r.source.clone(),
                target: r.target.clone(),
                severity: severity(r.severity.as_str()) as i32,
                reason: r.reason.clone(),
                surfaced: r.surfaced,
            })
            .collect(),
        cut_steps: p
            .cut_steps
            .iter()
            .map(|(id, steps)| pb::PathCut {
                path_id: id.clone(),
                steps: steps.iter().map(|s| n(*s)).collect(),
            })
            .collect(),
        clusters: p
            .clusters
            .iter()
            .map(|(c, x)| pb::ClusterFixes {
                cluster: c.clone(),
                fixes: n(x.fixes),
                paths_cut: n(x.paths_cut),
                remaining: n(x.remaining),
            })
            .collect(),
    }
}

/// RFC 3339 (UTC, milliseconds) from Unix milliseconds.
pub fn rfc3339(ms: i64) -> String {
    let ((y, m, d), rem) = kspm_engine::civil::from_unix(ms.div_euclid(1000));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// A time (Unix milliseconds) as a protobuf Timestamp.
pub fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// Unix milliseconds of a protobuf Timestamp.
pub fn millis(t: &prost_types::Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos) / 1_000_000)
}

/// A stored exception as a message; `today` (YYYY-MM-DD) decides `active`.
pub fn exception(e: &super::store::ExceptionRow, today: &str) -> pb::Exception {
    pb::Exception {
        id: e.id.clone(),
        check: e.check.clone(),
        resource: e.resource.clone(),
        cluster: e.cluster.clone(),
        reason: e.reason.clone(),
        expires: e.expires.clone(),
        author: e.author.clone(),
        created_at: Some(timestamp(e.created_at)),
        expired_at: (e.expired_at > 0).then(|| timestamp(e.expired_at)),
        active: e.active(today),
    }
}

/// The severity of a stored rank (`store::severity_rank`); 0 is unknown (rows stored before
/// severities were).
pub fn severity_of_rank(rank: i64) -> pb::Severity {
    match rank {
        1 => pb::Severity::Low,
        2 => pb::Severity::Medium,
        3 => pb::Severity::High,
        4 => pb::Severity::Critical,
        _ => pb::Severity::Unspecified,
    }
}

/// Whether `text` is a calendar day written `YYYY-MM-DD` (the month's length and leap years
/// counted).
pub fn valid_day(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (Some(y), Some(mo), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=month_days).contains(&d)
}

/// A stored report part read back into the engine's type it was written from; the error names
/// what (`what`, e.g. `finding <scan>/<key>`) could not be read — never a message with fields
/// silently empty.
pub fn typed<T: serde::de::DeserializeOwned>(v: &Value, what: &str) -> Result<T, String> {
    T::deserialize(v).map_err(|e| format!("stored {what} is not readable: {e}"))
}

/// The stored parts of a list that read back into their type; each that does not is logged
/// (with why) and left out, so one unreadable row (a corrupt body, a newer replica's value this
/// version does not know) does not fail the whole list. Returns how many were left out.
pub fn readable<'v, T: serde::de::DeserializeOwned>(
    items: impl IntoIterator<Item = (String, &'v Value)>,
    out: &mut Vec<T>,
) -> usize {
    let mut skipped = 0;
    for (what, v) in items {
        match or_left_out(typed(v, &what)) {
            Some(t) => out.push(t),
            None => skipped += 1,
        }
    }
    skipped
}

/// A stored part of a list answer read back, or — logged with why — left out of it.
pub fn or_left_out<T>(read: Result<T, String>) -> Option<T> {
    read.map_err(|e| tracing::warn!(error = %e, "left out of the answer"))
        .ok()
}

/// How an error names the stored attack path at `seq` of a scan.
pub fn path_at(scan_id: &str, seq: usize) -> String {
    format!("attack path #{seq} of scan {scan_id}")
}

/// A scan's stored attack paths that read back ([`readable`]).
pub fn readable_paths(scan_id: &str, paths: &[Value]) -> Vec<AttackPath> {
    let mut out = Vec::new();
    readable(
        paths
            .iter()
            .enumerate()
            .map(|(i, p)| (path_at(scan_id, i), p)),
        &mut out,
    );
    out
}

/// A finding as the store keeps it: the report's finding and when it was first seen.
#[derive(Debug)]
pub struct StoredFinding {
    /// The finding as the report gave it.
    pub finding: Finding,
    /// Unix ms of the first scan that found it, when the store knows.
    pub first_seen: Option<i64>,
}

impl StoredFinding {
    /// A stored finding body read back; `what` names it in the error.
    pub fn read(v: &Value, what: &str) -> Result<StoredFinding, String> {
        Ok(StoredFinding {
            finding: typed(v, what)?,
            first_seen: v.get("first_seen").and_then(Value::as_i64),
        })
    }
}

/// A cluster of a stored scan as its summary column reads back (what
/// [`super::store::ClusterRecord`] writes): what the report said of the cluster when it was
/// read — only its name and provider `unknown` when it was not — with its coverage gaps and
/// error messages. Every field defaults, so the summary of any earlier version reads.
#[derive(Debug, serde::Deserialize)]
#[serde(default)]
pub struct StoredCluster {
    /// `eks`, `gke`, `aks`, `generic`, or `unknown` (not read, or not said).
    pub provider: String,
    /// Kubernetes version, when known.
    pub kubernetes_version: String,
    /// Where it was read from.
    pub origin: String,
    /// Objects read.
    pub objects: u64,
    /// Findings per severity name.
    pub findings_by_severity: std::collections::BTreeMap<String, u64>,
    /// The kinds it did not let the scan list.
    pub coverage_gaps: Vec<String>,
    /// What could not be read (`file:line: message`), or why it was not reached.
    pub error_messages: Vec<String>,
}

impl Default for StoredCluster {
    fn default() -> Self {
        StoredCluster {
            provider: "unknown".into(),
            kubernetes_version: String::new(),
            origin: String::new(),
            objects: 0,
            findings_by_severity: Default::default(),
            coverage_gaps: Vec::new(),
            error_messages: Vec::new(),
        }
    }
}

impl StoredCluster {
    /// A stored summary read back; one that does not read is logged and read as nothing known
    /// of the cluster but its name.
    pub fn read(summary: &Value, what: &str) -> StoredCluster {
        or_left_out(typed(summary, what)).unwrap_or_default()
    }
}

/// The per-control results of one stored framework summary (report JSON `compliance[]`).
pub fn control_statuses(summary: &ComplianceSummary) -> Vec<pb::ControlStatus> {
    summary
        .controls
        .iter()
        .map(|c| pb::ControlStatus {
            id: c.id.to_string(),
            title: c.title.as_deref().unwrap_or("").to_string(),
            status: c.status.to_string(),
            checks: c.checks.iter().map(ToString::to_string).collect(),
            findings: c.findings as u32,
            reason: c.reason.clone().unwrap_or_default(),
            aliases: c.aliases.clone(),
        })
        .collect()
}

/// A finding's `vulnerabilities` entry.
fn container_vulnerabilities(c: &ContainerVulnerabilities) -> pb::ContainerVulnerabilities {
    pb::ContainerVulnerabilities {
        container: c.container.clone(),
        image: c.image.clone(),
        matched_by: c
            .matched_by
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        reports: c.reports.clone(),
        by_severity: c
            .by_severity
            .iter()
            .map(|(k, n)| (k.as_str().to_string(), *n as u32))
            .collect(),
        known_exploited: c.known_exploited.clone(),
        top: c
            .top
            .iter()
            .map(|k| pb::KnownVulnerability {
                id: k.id.clone(),
                package: k.package.clone(),
                installed: k.installed.clone(),
                severity: k.severity.as_str().to_string(),
                vector: k.vector.as_str().to_string(),
                fixed_in: k.fixed_in.clone().unwrap_or_default(),
                known_exploited: k.known_exploited,
                epss: k.epss.unwrap_or(0.0),
            })
            .collect(),
    }
}

/// A stored finding as a message; `scanned_at` (Unix ms) is the end of its scan (`last_seen`).
pub fn finding(scan_id: &str, key: &str, stored: &StoredFinding, scanned_at: i64) -> pb::Finding {
    let f = &stored.finding;
    pb::Finding {
        id: format!("{scan_id}/{key}"),
        fingerprint: f.fingerprint.clone(),
        first_seen: stored.first_seen.map(timestamp),
        last_seen: Some(timestamp(scanned_at)),
        blast_radius: f
            .blast_radius
            .iter()
            .flat_map(|b| &b.reaches)
            .map(|(sink, hops)| pb::SinkReach {
                sink: sink.clone(),
                hops: *hops,
            })
            .collect(),
        // Findings stored before objects were structured have none.
        object: (f.object != kspm_engine::finding::ObjectRef::default()).then(|| pb::ObjectRef {
            api_version: f.object.api_version.clone(),
            kind: f.object.kind.clone(),
            namespace: f.object.namespace.clone().unwrap_or_default(),
            name: f.object.name.clone(),
            uid: f.object.uid.clone().unwrap_or_default(),
        }),
        check: f.check.to_string(),
        title: f.title.to_string(),
        severity: engine_to_pb(f.severity) as i32,
        cluster: f.cluster.clone(),
        resource: f.resource.clone(),
        namespace: f.namespace.clone().unwrap_or_default(),
        message: f.message.clone(),
        remediation: f.remediation.to_string(),
        evidence: f
            .evidence
            .iter()
            .map(|e| pb::Evidence {
                path: e.path.clone(),
                value_json: e.value.to_string(),
            })
            .collect(),
        controls: f
            .controls
            .iter()
            .map(|c| pb::ControlRef {
                framework: c.framework.to_string(),
                control: c.id.to_string(),
            })
            .collect(),
        vulnerabilities: f
            .vulnerabilities
            .iter()
            .map(container_vulnerabilities)
            .collect(),
        on_attack_path: f.on_attack_path,
        blast_radius_json: f
            .blast_radius
            .as_ref()
            .and_then(|b| serde_json::to_string(b).ok())
            .unwrap_or_default(),
        scan_id: scan_id.to_string(),
        // Scans stored before sources were made target-relative still hold server paths:
        // reduced to the file name when read.
        source: {
            let file = super::scan::tenant_path(&f.source.file, &[]);
            match f.source.line {
                Some(l) => format!("{file}:{l}"),
                None => file,
            }
        },
    }
}

/// A hop as a message.
fn step(st: &Step) -> pb::Step {
    pb::Step {
        from: st.from.clone(),
        to: st.to.clone(),
        technique: st.technique.clone(),
        evidence: st.evidence.clone(),
    }
}

/// An attack path as a message.
pub fn path(scan_id: &str, p: &AttackPath) -> pb::AttackPath {
    pb::AttackPath {
        id: p.id.clone(),
        cluster: p.cluster.clone(),
        source: p.source.clone(),
        target: p.target.clone(),
        score: p.score,
        steps: p.steps.iter().map(step).collect(),
        scan_id: scan_id.to_string(),
        severity: engine_to_pb(p.severity) as i32,
        folded: p
            .folded
            .iter()
            .map(|f| pb::FoldedPath {
                id: f.id.clone(),
                source: f.source.clone(),
                score: f.score,
                severity: engine_to_pb(f.severity) as i32,
                via: f.via.as_ref().map(step),
            })
            .collect(),
    }
}

/// A scan row as a message.
pub fn scan(r: &ScanRow) -> pb::Scan {
    pb::Scan {
        id: r.id.clone(),
        target: r.target.clone(),
        started_at: Some(timestamp(r.started_at)),
        finished_at: Some(timestamp(r.finished_at)),
        clusters: r.clusters as u32,
        findings: r.findings as u64,
        attack_paths: r.attack_paths as u64,
        errors: r.errors as u64,
        replica: r.replica.clone(),
    }
}

/// A scan job as the API shows it, with its scan when it succeeded and history still has it.
pub fn job(j: &JobRow, scan: Option<&ScanRow>) -> pb::ScanJob {
    use pb::scan_job::State;
    let state = match j.state {
        JobState::Queued => State::Queued,
        JobState::Running => State::Running,
        JobState::Succeeded => State::Succeeded,
        JobState::Failed => State::Failed,
    };
    let at = |ms: i64| (ms > 0).then(|| timestamp(ms));
    pb::ScanJob {
        id: j.id.clone(),
        target: j.target.clone(),
        state: state as i32,
        detail: j.detail.clone(),
        created_at: at(j.created_at),
        started_at: at(j.started_at),
        finished_at: at(j.finished_at),
        updated_at: at(j.updated_at),
        scan_id: j.scan_id.clone(),
        scan: scan.map(self::scan),
        replica: j.replica.clone(),
    }
}

/// An opaque page token for `payload`.
pub fn token(payload: &str) -> String {
    hex::encode(payload.as_bytes())
}

/// Decodes a page token; a token that is not one of ours is `InvalidArgument`.
pub fn untoken(token: &str) -> Result<String, Status> {
    hex::decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| Status::invalid_argument("page_token is not a token this API issued"))
}

/// An offset page token's offset (`o:N`), 0 for none.
pub fn offset(page_token: &str) -> Result<usize, Status> {
    if page_token.is_empty() {
        return Ok(0);
    }
    untoken(page_token)?
        .strip_prefix("o:")
        .and_then(|n| n.parse::<u32>().ok())
        .map(|n| n as usize)
        .ok_or_else(|| Status::invalid_argument("page_token is not a token this API issued"))
}

/// Page size: `default` for 0, at most `max`.
pub fn page_size(requested: u32, default: u32, max: u32) -> Result<usize, Status> {
    match requested {
        0 => Ok(default as usize),
        n if n > max => Err(Status::invalid_argument(format!(
            "page_size must be at most {max}"
        ))),
        n => Ok(n as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_checked_as_calendar_days() {
        for good in ["2026-12-02", "2028-02-29", "2000-02-29", "2026-04-30"] {
            assert!(valid_day(good), "{good}");
        }
        for bad in [
            "",
            "yesterday",
            "2026-13-02",
            "2026-02-29",
            "1900-02-29",
            "2026-02-31",
            "2026-04-31",
            "2026-12-00",
            "2026-12-2",
            "2026-12-02T09:00:00Z",
            "+026-12-02",
        ] {
            assert!(!valid_day(bad), "{bad}");
        }
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_651_073_123), "2026-11-25T23:57:53.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    /// A stored finding reads back into the engine's type: its fields reach the message; one
    /// stored before objects were structured has no object (not an empty one); an unreadable
    /// one in a list is left out and counted, the others kept.
    #[test]
    fn stored_findings_read_back_typed() {
        let body = serde_json::json!({"check": "KSPM-W-001", "title": "Privileged container",
            "severity": "high", "cluster": "c", "resource": "Pod:shop/p", "namespace": "shop",
            "message": "m", "remediation": "r", "fingerprint": "f1", "first_seen": 5,
            "object": {"api_version": "v1", "kind": "Pod", "namespace": "shop", "name": "p"},
            "evidence": [{"path": "spec.containers[0].securityContext.privileged", "value": true}],
            "controls": [{"framework": "pss", "id": "baseline"}],
            "source": {"file": "p.yaml", "line": 3}, "on_attack_path": true});
        let stored = StoredFinding::read(&body, "finding s/k").expect("reads");
        let m = finding("s", "k", &stored, 9);
        assert_eq!(
            (m.check.as_str(), m.severity),
            ("KSPM-W-001", pb::Severity::High as i32)
        );
        assert_eq!(m.first_seen, Some(timestamp(5)));
        assert_eq!(m.object.as_ref().map(|o| o.kind.as_str()), Some("Pod"));
        assert_eq!(m.evidence[0].value_json, "true");
        assert_eq!(m.source, "p.yaml:3");
        assert!(m.on_attack_path);
        let mut old = body.clone();
        old.as_object_mut().expect("object").remove("object");
        let stored = StoredFinding::read(&old, "finding s/old").expect("an older finding reads");
        assert!(finding("s", "old", &stored, 9).object.is_none());
        let mut renamed = body.clone();
        renamed.as_object_mut().expect("object").remove("check");
        let err = StoredFinding::read(&renamed, "finding s/bad").expect_err("refused");
        assert!(
            err.contains("finding s/bad") && err.contains("check"),
            "{err}"
        );
        let mut read: Vec<Finding> = Vec::new();
        let skipped = readable(
            [
                ("a".to_string(), &body),
                ("b".to_string(), &renamed),
                ("c".to_string(), &Value::Null),
            ],
            &mut read,
        );
        assert_eq!((read.len(), skipped), (1, 2));
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        assert_eq!(offset(&token("o:40")).ok(), Some(40));
        assert!(offset("zz").is_err());
        assert!(offset(&token("x:1")).is_err());
        assert_eq!(offset("").ok(), Some(0));
        assert!(offset(&token("o:18446744073709551615")).is_err());
    }
}

/// A posture digest's value ([`kspm_engine::drift::Facts`]) as structured data: the JSON it
/// encodes (bindings, roles, NetworkPolicy specs, labels, webhooks; `null` for a missing spec),
/// or the text as a string
/// value where it is not JSON (edge evidence, counts).
pub fn digest_value(text: &str) -> prost_types::Value {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Object(_) | Value::Array(_) | Value::Null)) => json_value(&v),
        _ => prost_types::Value {
            kind: Some(prost_types::value::Kind::StringValue(text.to_string())),
        },
    }
}

/// JSON as a `google.protobuf.Value`.
fn json_value(v: &Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(json_value).collect(),
        }),
        Value::Object(map) => Kind::StructValue(prost_types::Struct {
            fields: map
                .iter()
                .map(|(k, v)| (k.clone(), json_value(v)))
                .collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}

#[cfg(test)]
mod digest_value_tests {
    use super::digest_value;
    use prost_types::value::Kind;

    #[test]
    fn json_digests_become_structures_and_other_text_stays_text() {
        let v = digest_value(r#"{"roleRef":{"kind":"ClusterRole","name":"view"},"subjects":null}"#);
        let Some(Kind::StructValue(s)) = v.kind else {
            panic!("{v:?}")
        };
        let Some(Kind::StructValue(role)) = s.fields["roleRef"].kind.clone() else {
            panic!("{s:?}")
        };
        assert_eq!(
            role.fields["name"].kind,
            Some(Kind::StringValue("view".into()))
        );
        assert_eq!(s.fields["subjects"].kind, Some(Kind::NullValue(0)));
        assert_eq!(digest_value("null").kind, Some(Kind::NullValue(0)));
        // Text that is not a JSON object or list stays the text (a number-like count too).
        for text in ["3 workload(s)", "42", "RoleBinding shop/x grants edit", ""] {
            assert_eq!(
                digest_value(text).kind,
                Some(Kind::StringValue(text.into())),
                "{text}"
            );
        }
    }
}

#[cfg(test)]
mod stored_cluster_tests {
    use super::StoredCluster;

    /// A stored cluster summary reads back whatever version wrote it: a cluster not reached
    /// as provider `unknown` with why, one read with the report's fields, and one no version
    /// wrote as nothing known (logged), never as an error of the answer.
    #[test]
    fn stored_cluster_summaries_read_back() {
        let unreached = serde_json::json!({"name": "prod", "reached": false, "objects": 0,
            "provider": "unknown", "coverage_gaps": [], "error_messages": ["connection refused"]});
        let read = StoredCluster::read(&unreached, "summary");
        assert_eq!(
            (
                read.provider.as_str(),
                read.objects,
                read.error_messages.len()
            ),
            ("unknown", 0, 1)
        );
        let reached = serde_json::json!({"name": "prod", "provider": "eks",
            "kubernetes_version": "1.31", "origin": "fleet/prod", "objects": 12,
            "kinds": {"Pod": 12}, "unevaluated_kinds": {}, "findings_by_severity": {"high": 2},
            "errors": 1, "reached": true, "coverage_gaps": ["secrets"], "error_messages": []});
        let read = StoredCluster::read(&reached, "summary");
        assert_eq!(
            (
                read.provider.as_str(),
                read.kubernetes_version.as_str(),
                read.objects
            ),
            ("eks", "1.31", 12)
        );
        assert_eq!(read.findings_by_severity.get("high"), Some(&2));
        assert_eq!(read.coverage_gaps, ["secrets"]);
        // Before coverage gaps and errors were stored: none.
        let older = serde_json::json!({"name": "prod", "provider": "gke", "objects": 3});
        let read = StoredCluster::read(&older, "summary");
        assert_eq!(
            (read.provider.as_str(), read.coverage_gaps.len()),
            ("gke", 0)
        );
        let odd = StoredCluster::read(&serde_json::json!({"objects": "many"}), "summary");
        assert_eq!((odd.provider.as_str(), odd.objects), ("unknown", 0));
    }
}
