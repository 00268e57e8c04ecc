//! A finding: one failed check on one resource, with the evidence that made it fail and the
//! framework controls it maps to — what checks produce and every output (report, SARIF,
//! compliance, exceptions, store) reads.

use crate::controls::Control;
use crate::graph::paths::BlastRadius;
use crate::object::Source;
use crate::severity::Severity;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A catalogue string in a report (a check's ID, title or remediation, a control's ID):
/// borrowed from kspm's catalogue when a scan builds the report, owned when a stored or fetched
/// report is read back.
pub type Text = Cow<'static, str>;
use serde_json::Value;

/// The field that made a check fail, and what it held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Where the check looked, e.g. `spec.template.spec.containers[0].securityContext.privileged`.
    ///
    /// - A field of the finding's resource: keys joined by `.`; `[n]` a list element by index,
    ///   `[name]` the list element of that `name` (an AKS node pool), `[key]` a map key, which may
    ///   hold dots (`metadata.annotations[eks.amazonaws.com/role-arn]`); a string field holding a
    ///   document is read into (`data[config.conf].metricsBindAddress`). Azure (ARM) keys are
    ///   matched case-insensitively, as Azure does.
    /// - A field of another object: its node reference, `: ` and the field
    ///   (`Service:shop/web: spec.type`), or, for a role's rules, the reference and `.rules[n]`
    ///   (`ClusterRole:edit.rules[3]`, the role the rule is written in); the reference alone names
    ///   the object.
    /// - A control-plane flag: the container's path, ` command line: ` and the flag.
    /// - A label: `identity:` or `held-by:` and a graph node, or a check's named summary
    ///   (`default deny`, `open to every namespace`).
    ///
    /// `checks::evidence_paths` asserts this of every check's bad case.
    pub path: String,
    /// The observed value: the field as written; null when the field is absent (the missing
    /// setting is the finding) unless the rule's default is given; `<redacted>` for a secret
    /// value; for a few checks a summary that begins with the field's value (an image and its
    /// known-exploited vulnerabilities) or says what the field does.
    pub value: Value,
}

impl Evidence {
    /// Evidence for `path` holding `value`.
    pub fn new(path: impl Into<String>, value: impl Into<Value>) -> Self {
        Evidence {
            path: path.into(),
            value: value.into(),
        }
    }
}

/// A control reference as it appears in a finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ControlRef {
    /// Framework ID (`cis-kubernetes`, `nsa-cisa`, `pss`, `soc2`, ...).
    pub framework: Text,
    /// Control ID within the framework.
    pub id: Text,
}

impl From<&Control> for ControlRef {
    fn from(c: &Control) -> Self {
        ControlRef {
            framework: c.framework.id().into(),
            id: c.id.into(),
        }
    }
}

/// One failed check on one resource. Read back (from a stored scan or a report file), the
/// fields an older finding may lack default when absent: `fingerprint` and `object` (added
/// after the first stored scans), `vulnerabilities`, and `evidence`, `controls`, `source` and
/// `on_attack_path`; the check, its words, the cluster, resource and severity are required.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Stable check ID.
    pub check: Text,
    /// The finding's identity across scans ([`fingerprint`]): the same failure of the same check
    /// on the same resource keeps it when the message's wording or counts change.
    #[serde(default)]
    pub fingerprint: String,
    /// Check title.
    pub title: Text,
    /// Severity.
    pub severity: Severity,
    /// Cluster name.
    pub cluster: String,
    /// Node reference: `Kind:namespace/name` or `Kind:name`.
    pub resource: String,
    /// The same resource, structured: what an API client looks it up by.
    #[serde(default)]
    pub object: ObjectRef,
    /// Namespace, for namespaced resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// What is wrong, specifically.
    pub message: String,
    /// What to do.
    pub remediation: Text,
    /// The fields that made it fail.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Framework controls.
    #[serde(default)]
    pub controls: Vec<ControlRef>,
    /// Where the resource was read from.
    #[serde(default)]
    pub source: Source,
    /// Whether the resource lies on a reported attack path.
    #[serde(default)]
    pub on_attack_path: bool,
    /// What the resource can reach in the attack graph (sinks and hops), when it is in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blast_radius: Option<BlastRadius>,
    /// What the scan's image vulnerability reports say of the containers of the workload the
    /// finding is on (those a report covers; see [`crate::vulns`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<crate::vulns::ContainerVulnerabilities>,
}

/// A Kubernetes (or cloud) object as an API client names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// `apiVersion` (`apps/v1`).
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace, for namespaced objects (`default` when the manifest names none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// `metadata.uid`, when the input has it (live clusters and exports do; manifests do not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

impl ObjectRef {
    /// The reference of an object.
    pub fn of(o: &crate::object::Object) -> ObjectRef {
        ObjectRef {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            namespace: o.effective_namespace().map(str::to_string),
            name: o.name.clone(),
            uid: o.uid.clone(),
        }
    }
}

impl Finding {
    /// The order findings of one cluster are listed in when attack paths do not rank them (a
    /// plan, an admission answer): most severe first, then by check, resource and message.
    pub fn most_severe_first(a: &Finding, b: &Finding) -> std::cmp::Ordering {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| a.resource.cmp(&b.resource))
            .then_with(|| a.message.cmp(&b.message))
    }
}

/// A finding's identity across scans: FNV-1a (64 bit, so it does not depend on the Rust
/// version) of the cluster, the check, the resource and the evidence's field paths (what tells
/// two failures of one check on one resource apart, e.g. two containers) — not the message,
/// whose wording and counts may change. [`disambiguate`] numbers the rare findings that still
/// share one.
pub fn fingerprint(cluster: &str, check: &str, resource: &str, evidence: &[Evidence]) -> String {
    let mut paths: Vec<&str> = evidence.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    let mut h: u64 = 0xcbf29ce484222325;
    for part in [cluster, check, resource].into_iter().chain(paths) {
        for b in part.bytes().chain(std::iter::once(0u8)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

/// Makes the fingerprints of `findings` (one evaluation's, in its deterministic order) unique:
/// the second and later findings that share one get `-2`, `-3`, ….
pub fn disambiguate(findings: &mut [Finding]) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for f in findings {
        let n = seen.entry(f.fingerprint.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            f.fingerprint = format!("{}-{n}", f.fingerprint);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_follows_the_failure_not_the_wording() {
        let ev = |paths: &[&str]| -> Vec<Evidence> {
            paths.iter().map(|p| Evidence::new(*p, true)).collect()
        };
        let a = fingerprint(
            "c",
            "KSPM-W-001",
            "Pod:ns/p",
            &ev(&["spec.containers[0].x"]),
        );
        assert_eq!(a.len(), 16);
        // The same failure, evidence in another order: the same identity.
        assert_eq!(
            fingerprint("c", "KSPM-W-001", "Pod:ns/p", &ev(&["b", "a"])),
            fingerprint("c", "KSPM-W-001", "Pod:ns/p", &ev(&["a", "b"]))
        );
        // Another container, check, resource or cluster: another identity.
        for other in [
            fingerprint(
                "c",
                "KSPM-W-001",
                "Pod:ns/p",
                &ev(&["spec.containers[1].x"]),
            ),
            fingerprint(
                "c",
                "KSPM-W-002",
                "Pod:ns/p",
                &ev(&["spec.containers[0].x"]),
            ),
            fingerprint(
                "c",
                "KSPM-W-001",
                "Pod:ns/q",
                &ev(&["spec.containers[0].x"]),
            ),
            fingerprint(
                "d",
                "KSPM-W-001",
                "Pod:ns/p",
                &ev(&["spec.containers[0].x"]),
            ),
        ] {
            assert_ne!(a, other);
        }
        // Field boundaries count: ("ab", "c") is not ("a", "bc").
        assert_ne!(
            fingerprint("ab", "c", "r", &[]),
            fingerprint("a", "bc", "r", &[])
        );
    }
}
