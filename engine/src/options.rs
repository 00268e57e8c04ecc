//! What a scan is asked to do: which checks run, what is suppressed, site policy.

use crate::finding::Finding;
use serde::Deserialize;

/// Which checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Security checks only (the default).
    #[default]
    Security,
    /// Security checks plus operational hygiene (probes, replicas, requests).
    All,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "security" => Ok(Profile::Security),
            "all" => Ok(Profile::All),
            o => Err(format!("unknown profile `{o}` (expected security or all)")),
        }
    }
}

/// One accepted risk: findings it matches are suppressed and counted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    /// Check ID, or `*` for every check.
    pub check: String,
    /// Node reference pattern (`*` matches any run of characters), default every resource.
    #[serde(default)]
    pub resource: Option<String>,
    /// Cluster name pattern, default every cluster.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Why the risk is accepted (shown in the report).
    pub reason: String,
    /// Last day (YYYY-MM-DD) the exception applies; after it the finding comes back.
    #[serde(default)]
    pub expires: Option<String>,
}

/// The `--exceptions` file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionsFile {
    /// The exceptions.
    #[serde(default)]
    pub exceptions: Vec<Exception>,
}

/// `*`-glob match (the only wildcard).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

impl Exception {
    /// Whether this exception suppresses a finding on `today` (YYYY-MM-DD).
    pub fn matches(&self, f: &Finding, today: Option<&str>) -> bool {
        if let (Some(exp), Some(today)) = (&self.expires, today) {
            // ISO dates compare correctly as strings.
            if today > exp.as_str() {
                return false;
            }
        }
        (self.check == "*" || self.check == f.check)
            && self
                .resource
                .as_deref()
                .is_none_or(|p| glob_match(p, &f.resource))
            && self
                .cluster
                .as_deref()
                .is_none_or(|p| glob_match(p, &f.cluster))
    }
}

/// Options of one scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Which checks run.
    pub profile: Profile,
    /// Accepted risks.
    pub exceptions: Vec<Exception>,
    /// Image registries allowed (prefixes such as `registry.example.com/` or `ghcr.io/acme/`);
    /// empty disables the registry check.
    pub allowed_registries: Vec<String>,
    /// Image registries (prefixes, as `allowed_registries`) no image may come from, whatever
    /// the allow-list says; empty disables the block-list check.
    pub blocked_registries: Vec<String>,
    /// Today's date (YYYY-MM-DD) for exception expiry; `None` never expires them.
    pub today: Option<String>,
    /// The namespace of namespaced objects whose manifest names none (`kubectl apply -n NS`'s
    /// meaning); `None` leaves them in `default`, as `kubectl apply` without `-n` does.
    pub default_namespace: Option<String>,
    /// Image vulnerability reports, with the KEV catalogue and EPSS scores (`--vulns`, `--kev`,
    /// `--epss`): they weigh each workload's exploit hop and feed KSPM-I-007; empty by default.
    pub vulnerabilities: std::sync::Arc<crate::vulns::Database>,
}

/// The annotation that suppresses checks on one object: `kspm.io/ignore: KSPM-W-001,KSPM-W-016`.
pub const IGNORE_ANNOTATION: &str = "kspm.io/ignore";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("Deployment:shop/*", "Deployment:shop/web"));
        assert!(!glob_match("Deployment:shop/*", "Deployment:shopx/web"));
        assert!(glob_match(
            "*:kube-system/*",
            "DaemonSet:kube-system/aws-node"
        ));
        assert!(glob_match("a*b*c", "aXXbYYc") && !glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("exact", "exact") && !glob_match("exact", "exactly"));
    }
}
