//! Per-object admission results for `kspm pss`, and their table and JSON forms.

use super::{evaluate, Level, PodView, Version, Violation};
use crate::inventory::pod_template_of;
use crate::object::Object;
use serde::Serialize;
use std::fmt::Write;

/// Whether one object would be admitted.
#[derive(Debug, Clone, Serialize)]
pub struct AdmissionResult {
    /// The file it was read from.
    pub file: String,
    /// `Kind/name` (`null` for an entry that reports an unreadable file).
    pub object: Option<String>,
    /// Namespace, when the object names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Admitted at the level and version.
    pub allowed: bool,
    /// The checks it fails.
    pub violations: Vec<Violation>,
    /// Why the file could not be assessed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Evaluates one object; `None` when its kind carries no pod template.
pub fn admit(o: &Object, level: Level, version: Version) -> Option<AdmissionResult> {
    let t = pod_template_of(o)?;
    let violations: Vec<Violation> = evaluate(
        PodView {
            metadata: t.metadata,
            spec: t.spec,
        },
        level,
        version,
    )
    .into_iter()
    .map(|mut v| {
        // Paths relative to the pod become paths within the owner (`spec.template.spec...`).
        v.paths = v.paths.iter().map(|p| t.owner_path(p)).collect();
        v
    })
    .collect();
    Some(AdmissionResult {
        file: o.source.file.clone(),
        object: Some(format!("{}/{}", o.kind, o.name)),
        namespace: o.namespace.clone(),
        allowed: violations.is_empty(),
        violations,
        error: None,
    })
}

/// JSON array, one entry per object.
pub fn json(results: &[AdmissionResult]) -> String {
    let mut s = serde_json::to_string_pretty(results).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

/// One line per object, then one indented line per violation.
pub fn table(results: &[AdmissionResult], level: Level, version: Version) -> String {
    let mut out = String::new();
    for r in results {
        let verdict = if r.error.is_some() {
            "ERROR  "
        } else if r.allowed {
            "ALLOWED"
        } else {
            "DENIED "
        };
        let _ = writeln!(
            out,
            "{verdict}  {}  ({})",
            r.object.as_deref().unwrap_or("-"),
            r.file
        );
        if let Some(e) = &r.error {
            let _ = writeln!(out, "    {e}");
        }
        for v in &r.violations {
            let _ = writeln!(out, "    {} ({}): {}", v.check, v.reason, v.message);
        }
    }
    let denied = results.iter().filter(|r| !r.allowed).count();
    let _ = writeln!(
        out,
        "{} object(s), {} denied at {} {}",
        results.len(),
        denied,
        level,
        version
    );
    out
}
