//! Pod Security Standards, evaluated exactly as Pod Security Admission does.
//!
//! Each upstream check (`privileged`, `capabilities_restricted`, ...) is a set of versioned
//! implementations; a policy version `v1.N` runs, for every check of its level, the newest
//! implementation whose minimum version is ≤ 1.N. A restricted check may *override* a baseline
//! check from some version on (e.g. `capabilities_restricted` replaces `capabilities_baseline`
//! from v1.22), in which case only the restricted one runs. The visitor covers containers,
//! initContainers and ephemeralContainers. Start at [`evaluate`].

pub mod report;
mod rules;

use crate::object::Object;
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Everything allowed.
    Privileged,
    /// Known privilege escalations blocked.
    Baseline,
    /// Hardened best practice.
    Restricted,
}

impl Level {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            other => Err(format!(
                "unknown Pod Security level `{other}` (expected privileged, baseline or restricted)"
            )),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The newest policy version this engine knows; `latest` means this.
pub const LATEST_MINOR: u32 = 37;

/// A policy version: `v1.N` or `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Minor version (`N` of `v1.N`); versions newer than [`LATEST_MINOR`] behave as latest.
    pub minor: u32,
}

impl Version {
    /// The newest version.
    pub const LATEST: Version = Version {
        minor: LATEST_MINOR,
    };

    /// `v1.N`.
    pub const fn v1(minor: u32) -> Version {
        Version { minor }
    }
}

impl FromStr for Version {
    type Err = String;
    /// Parses `latest`, `v1.N` or `1.N` (a patch part is ignored, as PSA does with labels).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "latest" {
            return Ok(Version::LATEST);
        }
        let bad = || format!("invalid Pod Security version `{s}` (expected latest or v1.N)");
        let rest = s.strip_prefix('v').unwrap_or(s);
        let mut parts = rest.split('.');
        if parts.next() != Some("1") {
            return Err(bad());
        }
        let minor: u32 = parts.next().and_then(|m| m.parse().ok()).ok_or_else(bad)?;
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Version { minor })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v1.{}", self.minor)
    }
}

/// One failed Pod Security check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Upstream check ID, e.g. `privileged`, `capabilities_restricted`.
    pub check: &'static str,
    /// Short reason, as PSA phrases it (e.g. `privileged`).
    pub reason: String,
    /// Detail: which containers, fields and values.
    pub message: String,
    /// Field paths relative to the pod (`spec.containers[0].securityContext.privileged`).
    pub paths: Vec<String>,
}

/// A pod as PSA sees it: its metadata (for the annotation-based checks) and its spec.
#[derive(Debug, Clone, Copy)]
pub struct PodView<'a> {
    /// `metadata` of the pod or pod template (may be absent).
    pub metadata: Option<&'a Value>,
    /// `spec` of the pod or pod template.
    pub spec: &'a Value,
}

/// Evaluates a pod against a level at a policy version. An empty result means admitted.
pub fn evaluate(pod: PodView<'_>, level: Level, version: Version) -> Vec<Violation> {
    if level == Level::Privileged {
        return Vec::new();
    }
    let active = rules::active_checks(level, version);
    let mut out = Vec::new();
    for (check, imp) in active {
        if let Some(v) = imp(pod, version) {
            out.push(Violation {
                check,
                reason: v.reason,
                message: v.detail,
                paths: v.paths,
            });
        }
    }
    out
}

/// Runs one upstream check by ID at a version (the implementation active at that version),
/// regardless of level. `None` when it passes or the check does not exist at that version.
pub fn check(id: &str, pod: PodView<'_>, version: Version) -> Option<Violation> {
    let imp = rules::implementation(id, version)?;
    let check = rules::static_id(id)?;
    imp(pod, version).map(|v| Violation {
        check,
        reason: v.reason,
        message: v.detail,
        paths: v.paths,
    })
}

/// Every upstream check ID at a level and version, in evaluation order.
pub fn check_ids(level: Level, version: Version) -> Vec<&'static str> {
    rules::active_checks(level, version)
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

/// `(level, version)` a namespace enforces, from its labels.
pub fn enforced_level(ns: &Object) -> Option<(Level, Version)> {
    let level: Level = ns
        .labels
        .get("pod-security.kubernetes.io/enforce")?
        .parse()
        .ok()?;
    let version = ns
        .labels
        .get("pod-security.kubernetes.io/enforce-version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(Version::LATEST);
    Some((level, version))
}

#[cfg(test)]
mod tests;
