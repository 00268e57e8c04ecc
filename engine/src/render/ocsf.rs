//! OCSF 1.5.0 output (a JSON array of events): every finding as a Compliance Finding (class
//! 2003), every reported attack path as a Detection Finding (class 2004) whose related events
//! are the findings on its objects and whose evidence is its hops. Resources carry their
//! Kubernetes identity (cluster, kind, namespace, name, uid) and, for cloud principals, their
//! cloud identifier (ARN, e-mail, object ID); clusters on EKS, GKE and AKS add the `cloud`
//! profile's provider. Validated in the tests against the OCSF schema (`ocsf-json-schema`).

use crate::controls::Framework;
use crate::graph::paths::AttackPath;
use crate::report::{Finding, Report};
use crate::severity::Severity;
use crate::snapshot::Provider;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The OCSF schema version the events follow.
pub const OCSF_VERSION: &str = "1.5.0";

/// OCSF `severity_id` and its caption.
fn severity(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// OCSF `risk_level_id` and its caption.
fn risk_level(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Info => (0, "Info"),
        Severity::Low => (1, "Low"),
        Severity::Medium => (2, "Medium"),
        Severity::High => (3, "High"),
        Severity::Critical => (4, "Critical"),
    }
}

/// The cloud provider's name as OCSF's `cloud.provider` writes it.
fn provider(p: Provider) -> Option<&'static str> {
    match p {
        Provider::Eks => Some("AWS"),
        Provider::Gke => Some("GCP"),
        Provider::Aks => Some("Azure"),
        Provider::Generic => None,
    }
}

fn metadata(uid: &str, cloud: bool) -> Value {
    let mut m = json!({
        "version": OCSF_VERSION,
        "product": {"name": "kspm", "vendor_name": "kspm", "version": env!("CARGO_PKG_VERSION")},
        "uid": uid,
    });
    if cloud {
        m["profiles"] = json!(["cloud"]);
    }
    m
}

/// The common head of an event of `class` (2003 or 2004), activity Create, status New.
fn event(class: u32, class_name: &str, s: Severity, time_ms: u64) -> Map<String, Value> {
    let (severity_id, severity_name) = severity(s);
    let mut e = Map::new();
    e.insert("category_uid".into(), json!(2));
    e.insert("category_name".into(), json!("Findings"));
    e.insert("class_uid".into(), json!(class));
    e.insert("class_name".into(), json!(class_name));
    e.insert("activity_id".into(), json!(1));
    e.insert("activity_name".into(), json!("Create"));
    e.insert("type_uid".into(), json!(class * 100 + 1));
    e.insert("type_name".into(), json!(format!("{class_name}: Create")));
    e.insert("severity_id".into(), json!(severity_id));
    e.insert("severity".into(), json!(severity_name));
    e.insert("status_id".into(), json!(1));
    e.insert("status".into(), json!("New"));
    e.insert("time".into(), json!(time_ms));
    e
}

/// A graph node or finding resource as an OCSF resource: `Kind:namespace/name` split, the
/// cluster as its group; cloud principals keep their cloud identifier as the uid.
fn resource(cluster: &str, node: &str, uid: Option<&str>) -> Value {
    // A node of another cluster on a path is written `[B] ref`.
    let (other, reference) = crate::graph::paths::split_reference(node);
    let cluster = other.unwrap_or(cluster);
    let (kind, rest) = reference.split_once(':').unwrap_or(("", reference));
    // `Endpoint:Deployment:ns/name`: the ports of a workload's pods.
    let rest = match kind {
        "Endpoint" => rest.split_once(':').map_or(rest, |(_, r)| r),
        _ => rest,
    };
    let cloud_principal = matches!(
        kind,
        "AwsRole"
            | "AwsUser"
            | "AwsPrincipal"
            | "GcpServiceAccount"
            | "GcpUser"
            | "GcpGroup"
            | "AzureIdentity"
            | "AzureUser"
            | "AzureGroup"
            | "AzureServicePrincipal"
    ) || reference.starts_with("CloudAdmin:");
    let (namespace, name) = if cloud_principal {
        (None, rest)
    } else {
        match rest.split_once('/') {
            Some((ns, name)) => (Some(ns), name),
            None => (None, rest),
        }
    };
    let mut r = json!({
        "uid": uid.map(str::to_string).unwrap_or_else(|| if cloud_principal { rest.to_string() } else { format!("{cluster}/{reference}") }),
        "name": if name.is_empty() { reference } else { name },
        "type": if kind.is_empty() { "Node" } else { kind },
        "group": {"name": cluster},
        "labels": [format!("kspm.io/reference={reference}")],
    });
    if let Some(ns) = namespace {
        r["namespace"] = json!(ns);
    }
    r
}

fn finding_uid(f: &Finding) -> String {
    if f.fingerprint.is_empty() {
        // Stored before fingerprints: the check on the resource stands for it.
        format!("kspm:{}:{}:{}", f.cluster, f.check, f.resource)
    } else {
        format!("kspm:{}:{}", f.cluster, f.fingerprint)
    }
}

fn compliance_event(f: &Finding, cloud: Option<&Value>, time_ms: u64) -> Value {
    let mut e = event(2003, "Compliance Finding", f.severity, time_ms);
    let uid = finding_uid(f);
    e.insert("message".into(), json!(f.message));
    e.insert("metadata".into(), metadata(&uid, cloud.is_some()));
    let description = crate::checks::by_id(&f.check).map_or("", |c| c.description);
    e.insert(
        "finding_info".into(),
        json!({
            "uid": uid,
            "title": f.title,
            "desc": description,
            "types": ["Kubernetes Posture"],
            "created_time": time_ms,
        }),
    );
    let mut standards: Vec<&str> = f
        .controls
        .iter()
        .filter_map(|c| Framework::ALL.iter().find(|fw| fw.id() == c.framework))
        .map(|fw| fw.title())
        .collect();
    standards.dedup();
    if standards.is_empty() {
        standards.push("kspm");
    }
    let requirements: Vec<String> = f
        .controls
        .iter()
        .map(|c| format!("{} {}", c.framework, c.id))
        .collect();
    let mut compliance = json!({
        "standards": standards,
        "control": format!("{}: {}", f.check, f.title),
        "status_id": 3,
        "status": "Fail",
    });
    if !requirements.is_empty() {
        compliance["requirements"] = json!(requirements);
    }
    e.insert("compliance".into(), compliance);
    let mut res = resource(&f.cluster, &f.resource, f.object.uid.as_deref());
    res["data"] = json!({
        "api_version": f.object.api_version,
        "source": f.source,
    });
    e.insert("resources".into(), json!([res]));
    e.insert("remediation".into(), json!({"desc": f.remediation}));
    if !f.evidence.is_empty() {
        e.insert(
            "evidences".into(),
            json!([{"data": {"fields": f.evidence}}]),
        );
    }
    if let Some(c) = cloud {
        e.insert("cloud".into(), c.clone());
    }
    let mut unmapped = json!({
        "check_id": f.check,
        "cluster": f.cluster,
        "fingerprint": f.fingerprint,
        "on_attack_path": f.on_attack_path,
    });
    if !f.vulnerabilities.is_empty() {
        unmapped["vulnerabilities"] = json!(f.vulnerabilities);
    }
    e.insert("unmapped".into(), unmapped);
    Value::Object(e)
}

fn detection_event(
    p: &AttackPath,
    related: &[String],
    cloud: Option<&Value>,
    time_ms: u64,
) -> Value {
    let mut e = event(2004, "Detection Finding", p.severity, time_ms);
    let uid = format!("kspm:path:{}", p.id);
    let hops: Vec<&str> = p.steps.iter().map(|s| s.technique.as_str()).collect();
    e.insert(
        "message".into(),
        json!(format!(
            "attack path {} → {} (cluster {}): {}",
            p.source,
            p.target,
            p.cluster,
            hops.join(" → ")
        )),
    );
    e.insert("metadata".into(), metadata(&uid, cloud.is_some()));
    let mut info = json!({
        "uid": uid,
        "title": format!("Attack path: {} → {}", p.source, p.target),
        "desc": p.steps.iter().map(|s| format!("{} -[{}]-> {}: {}", s.from, s.technique, s.to, s.evidence)).collect::<Vec<_>>().join("\n"),
        "types": ["Attack Path"],
        "created_time": time_ms,
    });
    if !related.is_empty() {
        info["related_events"] = json!(related
            .iter()
            .map(|uid| json!({"uid": uid, "type_uid": 200301}))
            .collect::<Vec<_>>());
    }
    e.insert("finding_info".into(), info);
    let (risk_id, risk_name) = risk_level(p.severity);
    e.insert("risk_level_id".into(), json!(risk_id));
    e.insert("risk_level".into(), json!(risk_name));
    e.insert("risk_score".into(), json!(p.score.round() as i64));
    e.insert(
        "resources".into(),
        json!(p
            .nodes
            .iter()
            .map(|n| resource(&p.cluster, n, None))
            .collect::<Vec<_>>()),
    );
    e.insert("evidences".into(), json!([{"data": {"steps": p.steps}}]));
    e.insert(
        "remediation".into(),
        json!({"desc": "Break the path at one of its hops: drop the grant, the exposure or the token its evidence names (the report's fix plan gives the fewest changes that cut every high and critical path)."}),
    );
    if let Some(c) = cloud {
        e.insert("cloud".into(), c.clone());
    }
    e.insert(
        "unmapped".into(),
        json!({"cluster": p.cluster, "score": p.score, "path_id": p.id}),
    );
    Value::Object(e)
}

/// Where a cluster runs, for the events' `cloud` object: provider, region, account.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Platform {
    /// The platform.
    pub provider: Provider,
    /// Cloud region or location.
    #[serde(default)]
    pub region: Option<String>,
    /// AWS account, GCP project or Azure subscription.
    #[serde(default)]
    pub account: Option<String>,
}

impl Platform {
    /// The OCSF `cloud` object (EKS, GKE and AKS only).
    fn cloud(&self) -> Option<Value> {
        let mut c = json!({"provider": provider(self.provider)?});
        if let Some(r) = &self.region {
            c["region"] = json!(r);
        }
        if let Some(a) = &self.account {
            c["account"] = json!({"uid": a});
        }
        Some(c)
    }
}

/// The OCSF events of findings and attack paths, stamped `time_ms` (epoch milliseconds):
/// `platforms` says where each cluster runs (EKS, GKE and AKS clusters' events carry the
/// `cloud` profile, with region and account when known).
pub fn events(
    findings: &[Finding],
    paths: &[AttackPath],
    platforms: &HashMap<String, Platform>,
    time_ms: u64,
) -> Vec<Value> {
    let clouds: HashMap<&str, Value> = platforms
        .iter()
        .filter_map(|(name, p)| Some((name.as_str(), p.cloud()?)))
        .collect();
    let cloud = |cluster: &str| clouds.get(cluster);
    let mut events: Vec<Value> = findings
        .iter()
        .map(|f| compliance_event(f, cloud(&f.cluster), time_ms))
        .collect();
    // The findings on each path's objects are its related events.
    let mut by_resource: HashMap<(&str, &str), Vec<String>> = HashMap::new();
    for f in findings {
        by_resource
            .entry((f.cluster.as_str(), f.resource.as_str()))
            .or_default()
            .push(finding_uid(f));
    }
    for p in paths {
        let related: Vec<String> = p
            .nodes
            .iter()
            .filter_map(|n| by_resource.get(&(p.cluster.as_str(), n.as_str())))
            .flatten()
            .cloned()
            .collect();
        events.push(detection_event(p, &related, cloud(&p.cluster), time_ms));
    }
    events
}

/// Renders the report as OCSF events (a JSON array), stamped `time_ms` (epoch milliseconds).
pub fn render(report: &Report, time_ms: u64) -> String {
    let platforms: HashMap<String, Platform> = report
        .clusters
        .iter()
        .map(|c| {
            let p = Platform {
                provider: c.provider,
                region: c.region.clone(),
                account: c.account.clone(),
            };
            (c.name.clone(), p)
        })
        .collect();
    let events = events(&report.findings, &report.attack_paths, &platforms, time_ms);
    let mut s = serde_json::to_string_pretty(&events).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finding stored before fingerprints and structured objects existed still exports.
    #[test]
    fn findings_of_older_reports_still_make_events() {
        let old = json!({"check": "KSPM-W-001", "title": "Privileged container", "severity": "high",
            "cluster": "c", "resource": "Pod:ns/p", "message": "m", "remediation": "r",
            "evidence": [], "controls": [{"framework": "nsa-cisa", "id": "N1"}],
            "source": {"file": "a.yaml", "line": 3}, "on_attack_path": false});
        let f: Finding = serde_json::from_value(old).expect("an older finding reads");
        let platform = Platform {
            provider: Provider::Eks,
            region: Some("us-east-1".into()),
            account: Some("111122223333".into()),
        };
        let platforms = HashMap::from([("c".to_string(), platform)]);
        let e = &events(&[f], &[], &platforms, 1_764_000_000_000)[0];
        assert_eq!(e["cloud"]["account"]["uid"], "111122223333");
        assert_eq!(e["cloud"]["region"], "us-east-1");
        assert_eq!(e["metadata"]["uid"], "kspm:c:KSPM-W-001:Pod:ns/p");
        assert_eq!(
            (e["class_uid"].as_u64(), e["severity_id"].as_u64()),
            (Some(2003), Some(4))
        );
        assert_eq!(e["cloud"]["provider"], "AWS");
        assert_eq!(e["resources"][0]["namespace"], "ns");
    }
}
