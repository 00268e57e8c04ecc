//! Image vulnerability data on the attack graph's exploit hop, without being a vulnerability
//! scanner: reports people already produce (Trivy JSON, Grype JSON, CycloneDX vulnerability BOMs
//! and VEX), optionally CISA's Known Exploited Vulnerabilities catalogue and FIRST's EPSS scores,
//! matched to containers by image digest first, then by exact reference.
//!
//! [`Database`] holds what was read; [`Database::assess`] answers, for one workload, which
//! known vulnerabilities its containers carry and how likely a network attacker turns reach of
//! its ports into code execution ([`Assessment::likelihood`]). That one answer is used by the
//! graph's `ENDPOINT_EXPLOIT` hop, the findings' `vulnerabilities` and KSPM-I-007 alike.
//! Reading the files is [`formats`]'s (streamed: a report is never held as a JSON tree).

pub mod formats;
#[cfg(test)]
mod tests;

use crate::image::parse_image;
use crate::inventory::{Inventory, PodTemplate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A vulnerability's severity, as the report rates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VulnSeverity {
    /// Unknown or negligible.
    Unknown,
    /// Low.
    Low,
    /// Medium (moderate).
    Medium,
    /// High (important).
    High,
    /// Critical.
    Critical,
}

impl VulnSeverity {
    /// Reads the spellings reports use (`CRITICAL`, `Critical`, `critical`, `important`,
    /// `moderate`, `negligible`, ...); anything else is unknown.
    pub fn parse(s: &str) -> VulnSeverity {
        match s.trim().to_ascii_lowercase().as_str() {
            "critical" => VulnSeverity::Critical,
            "high" | "important" => VulnSeverity::High,
            "medium" | "moderate" => VulnSeverity::Medium,
            "low" => VulnSeverity::Low,
            _ => VulnSeverity::Unknown,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            VulnSeverity::Critical => "critical",
            VulnSeverity::High => "high",
            VulnSeverity::Medium => "medium",
            VulnSeverity::Low => "low",
            VulnSeverity::Unknown => "unknown",
        }
    }
}

/// Where an attacker must be to exploit a vulnerability (CVSS attack vector).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttackVector {
    /// Over the network (`AV:N`).
    Network,
    /// From the same network segment (`AV:A`).
    Adjacent,
    /// With local access (`AV:L`).
    Local,
    /// With physical access (`AV:P`).
    Physical,
    /// No CVSS vector in the report.
    Unknown,
}

impl AttackVector {
    /// The attack vector of a CVSS v2, v3 or v4 vector string (`CVSS:3.1/AV:N/...`,
    /// `AV:N/AC:L/Au:N/...`), or `Unknown`.
    pub fn of_cvss(vector: &str) -> AttackVector {
        for part in vector.split('/') {
            if let Some(v) = part.strip_prefix("AV:") {
                return match v {
                    "N" => AttackVector::Network,
                    "A" => AttackVector::Adjacent,
                    "L" => AttackVector::Local,
                    "P" => AttackVector::Physical,
                    _ => AttackVector::Unknown,
                };
            }
        }
        AttackVector::Unknown
    }

    /// Whether a network attacker who reaches the workload's ports may use it: network, or not
    /// known (a missing vector is no proof it needs local access).
    pub fn by_network(self) -> bool {
        matches!(self, AttackVector::Network | AttackVector::Unknown)
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttackVector::Network => "network",
            AttackVector::Adjacent => "adjacent",
            AttackVector::Local => "local",
            AttackVector::Physical => "physical",
            AttackVector::Unknown => "unknown",
        }
    }

    /// The more remote of two (network first), for merging reports of one vulnerability.
    fn most_remote(self, other: AttackVector) -> AttackVector {
        self.min(other)
    }
}

/// One vulnerability of one package in a scanned image.
#[derive(Debug, Clone, PartialEq)]
pub struct Vulnerability {
    /// Its ID (`CVE-2021-44228`, `GHSA-…`, `RHSA-…`).
    pub id: String,
    /// Other IDs of the same flaw the report names (Grype's related CVEs), for the KEV and EPSS
    /// lookups.
    pub aliases: Vec<String>,
    /// The affected package.
    pub package: String,
    /// Its installed version.
    pub installed: String,
    /// Severity.
    pub severity: VulnSeverity,
    /// Attack vector.
    pub vector: AttackVector,
    /// The version that fixes it, when one is known.
    pub fixed_in: Option<String>,
    /// Whether the report itself says it is known to be exploited (Grype's `knownExploited`).
    pub known_exploited: bool,
    /// The report's own EPSS score, if any.
    pub epss: Option<f64>,
}

/// What one report says of one image.
#[derive(Debug, Clone, Default)]
pub struct ImageScan {
    /// The report's file, as the user named it.
    pub file: String,
    /// The report's format (`Trivy`, `Grype`, `CycloneDX`).
    pub format: &'static str,
    /// Digests of the image (`sha256:…`): repository digests, manifest digest, image ID.
    pub digests: BTreeSet<String>,
    /// Normalised references (`docker.io/library/nginx:1.25`) it was scanned as.
    pub references: BTreeSet<String>,
    /// Its vulnerabilities (those a VEX statement in the same document excludes left out).
    pub vulnerabilities: Vec<Vulnerability>,
    /// IDs a VEX statement in the document says do not affect this image (not affected, false
    /// positive, resolved): they are dropped from every report of the same image.
    pub not_affected: BTreeSet<String>,
    /// Whether the document is a vulnerability scan of the image (a VEX document that only
    /// excludes vulnerabilities is not: it says nothing of what else the image carries).
    pub scanned: bool,
}

/// How a container's image was matched to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    /// The digest the container runs (or pins) is one the report names.
    Digest,
    /// The container's image reference equals one the report was scanned as, and no digest
    /// says they differ.
    Reference,
}

impl MatchedBy {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::Digest => "digest",
            MatchedBy::Reference => "reference",
        }
    }
}

/// Every report read, with the KEV catalogue and EPSS scores; empty when no vulnerability data
/// was given (then nothing about the exploit hop changes).
#[derive(Debug, Default, Clone)]
pub struct Database {
    /// What could not be read (files, rows), for the report's errors.
    errors: Vec<crate::parse::LoadError>,
    scans: Vec<ImageScan>,
    by_digest: HashMap<String, Vec<usize>>,
    by_reference: HashMap<String, Vec<usize>>,
    kev: HashSet<String>,
    epss: HashMap<String, f64>,
    summaries: Summaries,
    /// How many of `scans` are scans (not VEX alone), counted as they are added.
    scanned: usize,
    /// Whether some report flags a vulnerability as exploited, noted as they are added.
    flags_exploited: bool,
}

impl Database {
    /// Adds what one report says of its images.
    pub fn add(&mut self, scans: Vec<ImageScan>) {
        self.summaries.clear();
        for s in scans {
            let i = self.scans.len();
            for d in &s.digests {
                self.by_digest.entry(d.clone()).or_default().push(i);
            }
            for r in &s.references {
                self.by_reference.entry(r.clone()).or_default().push(i);
            }
            self.scanned += usize::from(s.scanned);
            self.flags_exploited |= s.vulnerabilities.iter().any(|v| v.known_exploited);
            self.scans.push(s);
        }
    }

    /// Adds what could not be read (kept for the report's errors).
    pub fn add_errors(&mut self, errors: impl IntoIterator<Item = crate::parse::LoadError>) {
        self.errors.extend(errors);
    }

    /// What could not be read.
    pub fn errors(&self) -> &[crate::parse::LoadError] {
        &self.errors
    }

    /// Renames the report files as `rename` says (the service shows tenants paths relative to
    /// their target, never the server's own), in what matches and in the read errors.
    pub fn rename_files(&mut self, rename: impl Fn(&str) -> String) {
        self.summaries.clear();
        for s in &mut self.scans {
            s.file = rename(&s.file);
        }
        for e in &mut self.errors {
            e.file = rename(&e.file);
        }
    }

    /// Rewrites the messages of the read errors (the service takes its own paths out of them).
    pub fn scrub_messages(&mut self, scrub: impl Fn(&str) -> String) {
        for e in &mut self.errors {
            e.message = scrub(&e.message);
        }
    }

    /// Adds everything another database holds.
    pub fn extend(&mut self, other: Database) {
        self.errors.extend(other.errors);
        self.kev.extend(other.kev);
        self.epss.extend(other.epss);
        self.add(other.scans);
    }

    /// Adds CISA KEV catalogue entries (CVE IDs).
    pub fn add_known_exploited(&mut self, ids: impl IntoIterator<Item = String>) {
        self.summaries.clear();
        self.kev
            .extend(ids.into_iter().map(|i| i.trim().to_ascii_uppercase()));
    }

    /// Adds EPSS scores (CVE ID → probability 0–1).
    pub fn add_epss(&mut self, scores: impl IntoIterator<Item = (String, f64)>) {
        self.summaries.clear();
        for (id, p) in scores {
            self.epss.insert(id.trim().to_ascii_uppercase(), p);
        }
    }

    /// Whether no vulnerability scan was read (KEV, EPSS and VEX alone match no container).
    pub fn is_empty(&self) -> bool {
        self.scanned == 0
    }

    /// Whether anything says which vulnerabilities are exploited: the KEV catalogue, or a
    /// report that flags one (Grype's `knownExploited`, a CycloneDX KEV rating).
    pub fn knows_exploitation(&self) -> bool {
        !self.kev.is_empty() || self.flags_exploited
    }

    /// The reports for one container: by a digest it runs or pins, else by its exact reference
    /// unless a digest of the report and one of the container are both known and none is
    /// shared (the report is of another build of the same tag); with the IDs that VEX
    /// statements about the same image (by digest or reference alike) say do not affect it.
    pub fn lookup(
        &self,
        image: &str,
        digests: &[String],
    ) -> Option<(MatchedBy, Vec<&ImageScan>, BTreeSet<&str>)> {
        self.find(image, digests).map(|m| {
            let scans = m.scans.iter().map(|i| &self.scans[*i]).collect();
            (m.by, scans, m.not_affected)
        })
    }

    /// [`Database::lookup`] by position in the database.
    fn find(&self, image: &str, digests: &[String]) -> Option<Found<'_>> {
        let mut by_digest: Vec<usize> = digests
            .iter()
            .filter_map(|d| self.by_digest.get(d))
            .flatten()
            .copied()
            .collect();
        by_digest.sort_unstable();
        by_digest.dedup();
        let by_reference: Vec<usize> = normalize_reference(image)
            .and_then(|r| self.by_reference.get(&r))
            .into_iter()
            .flatten()
            .copied()
            .filter(|i| {
                let s = &self.scans[*i];
                digests.is_empty()
                    || s.digests.is_empty()
                    || s.digests.iter().any(|d| digests.contains(d))
            })
            .collect();
        let not_affected: BTreeSet<&str> = by_digest
            .iter()
            .chain(&by_reference)
            .flat_map(|i| self.scans[*i].not_affected.iter().map(String::as_str))
            .collect();
        let scanned = |ids: &[usize]| -> Vec<usize> {
            ids.iter()
                .copied()
                .filter(|i| self.scans[*i].scanned)
                .collect()
        };
        let (by, mut scans) = match scanned(&by_digest) {
            d if !d.is_empty() => (MatchedBy::Digest, d),
            _ => (MatchedBy::Reference, scanned(&by_reference)),
        };
        scans.sort_unstable();
        scans.dedup();
        (!scans.is_empty()).then_some(Found {
            by,
            scans,
            not_affected,
        })
    }

    /// Whether KEV lists the vulnerability (or the report says it is exploited).
    fn known_exploited(&self, v: &Vulnerability) -> bool {
        v.known_exploited
            || std::iter::once(&v.id)
                .chain(&v.aliases)
                .any(|id| self.kev.contains(&id.to_ascii_uppercase()))
    }

    /// The highest EPSS score of the vulnerability's IDs (the table's or the report's).
    fn epss(&self, v: &Vulnerability) -> Option<f64> {
        std::iter::once(&v.id)
            .chain(&v.aliases)
            .filter_map(|id| self.epss.get(&id.to_ascii_uppercase()).copied())
            .chain(v.epss)
            .fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.max(p))))
    }

    /// What is known of the vulnerabilities of a workload's containers, and the likelihood of its
    /// exploit hop; `None` when no vulnerability report was read at all.
    pub fn assess(&self, t: &PodTemplate<'_>, inv: &Inventory<'_>) -> Option<Assessment> {
        if self.is_empty() {
            return None;
        }
        let running = inv.running_images(t);
        let mut containers = Vec::new();
        for c in t.containers() {
            let image = c.image();
            let mut digests: Vec<String> = running
                .get(c.name)
                .into_iter()
                .flatten()
                .filter_map(|id| digest_of(id))
                .collect();
            digests.dedup();
            if let Some(d) = parse_image(image).valid_digest() {
                if !digests.iter().any(|x| x == d) {
                    digests.push(d.to_string());
                }
            }
            let matched = self.find(image, &digests);
            let mut assessed = self.container(c.name, image, matched);
            assessed.serves = serves(&c);
            containers.push(assessed);
        }
        Some(Assessment { containers })
    }

    fn container(
        &self,
        name: &str,
        image: &str,
        matched: Option<Found<'_>>,
    ) -> ContainerVulnerabilities {
        let summary = matched.as_ref().map(|m| {
            // Many workloads run one image: what its reports say is worked out once.
            let key = (
                m.scans.clone(),
                m.not_affected.iter().map(|s| s.to_string()).collect(),
            );
            if let Some(s) = self.summaries.get(&key) {
                return s;
            }
            let s = std::sync::Arc::new(self.summarize(m));
            self.summaries.put(key, s.clone());
            s
        });
        let Some((m, s)) = matched.zip(summary) else {
            return ContainerVulnerabilities {
                container: name.to_string(),
                image: image.to_string(),
                matched_by: None,
                reports: Vec::new(),
                by_severity: BTreeMap::new(),
                known_exploited: Vec::new(),
                top: Vec::new(),
                serves: true,
                formats: Vec::new(),
            };
        };
        ContainerVulnerabilities {
            container: name.to_string(),
            image: image.to_string(),
            matched_by: Some(m.by),
            reports: s.reports.clone(),
            by_severity: s.by_severity.clone(),
            known_exploited: s.known_exploited.clone(),
            top: s.top.clone(),
            serves: true,
            formats: s.formats.clone(),
        }
    }

    /// What the matched reports say of an image, VEX exclusions applied.
    fn summarize(&self, m: &Found<'_>) -> Summary {
        let scans: Vec<&ImageScan> = m.scans.iter().map(|i| &self.scans[*i]).collect();
        // One entry per (ID, package): reports of the same image by two tools merge.
        let mut merged: BTreeMap<(&str, &str), Known> = BTreeMap::new();
        for v in scans.iter().flat_map(|s| &s.vulnerabilities) {
            let excluded = std::iter::once(&v.id)
                .chain(&v.aliases)
                .any(|id| m.not_affected.contains(id.as_str()));
            if excluded {
                continue;
            }
            let k = Known {
                id: v.id.clone(),
                package: v.package.clone(),
                installed: v.installed.clone(),
                severity: v.severity,
                vector: v.vector,
                fixed_in: v.fixed_in.clone(),
                known_exploited: self.known_exploited(v),
                epss: self.epss(v),
            };
            merged
                .entry((v.id.as_str(), v.package.as_str()))
                .and_modify(|x| x.merge(&k))
                .or_insert(k);
        }
        let mut all: Vec<Known> = merged.into_values().collect();
        all.sort_by(|a, b| b.rank().total_cmp(&a.rank()).then_with(|| a.id.cmp(&b.id)));
        let mut by_severity = BTreeMap::new();
        let mut known_exploited = Vec::new();
        let mut seen = HashSet::new();
        for k in &all {
            *by_severity.entry(k.severity).or_insert(0) += 1;
            if k.known_exploited && seen.insert(k.id.as_str()) {
                known_exploited.push(k.id.clone());
            }
        }
        let mut reports: Vec<String> = scans
            .iter()
            .map(|s| format!("{} {}", s.format, s.file))
            .collect();
        reports.sort();
        reports.dedup();
        let mut formats: Vec<&'static str> = scans.iter().map(|s| s.format).collect();
        formats.sort_unstable();
        formats.dedup();
        all.truncate(TOP_VULNERABILITIES);
        Summary {
            reports,
            by_severity,
            known_exploited,
            top: all,
            formats,
        }
    }
}

/// The reports a container's image matched ([`Database::lookup`], by position).
struct Found<'d> {
    by: MatchedBy,
    scans: Vec<usize>,
    not_affected: BTreeSet<&'d str>,
}

/// What the reports matched to an image say, shared by every container that runs it.
#[derive(Debug)]
struct Summary {
    reports: Vec<String>,
    by_severity: BTreeMap<VulnSeverity, usize>,
    known_exploited: Vec<String>,
    top: Vec<Known>,
    formats: Vec<&'static str>,
}

/// Summaries by (reports, VEX exclusions), computed on first use; a copy of the database starts
/// without them.
#[derive(Debug, Default)]
struct Summaries(std::sync::Mutex<HashMap<SummaryKey, std::sync::Arc<Summary>>>);

/// The reports (by position) and the IDs VEX excludes: what a [`Summary`] depends on.
type SummaryKey = (Vec<usize>, Vec<String>);

impl Summaries {
    fn get(&self, key: &SummaryKey) -> Option<std::sync::Arc<Summary>> {
        self.0.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: SummaryKey, s: std::sync::Arc<Summary>) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(key, s);
        }
    }

    fn clear(&self) {
        if let Ok(mut m) = self.0.lock() {
            m.clear();
        }
    }
}

impl Clone for Summaries {
    fn clone(&self) -> Self {
        Summaries::default()
    }
}

/// Whether a container runs beside the pod's life and may listen: an app container or a sidecar
/// (an init container with `restartPolicy: Always`); a plain init container has exited, an
/// ephemeral one is a debugging session.
fn serves(c: &crate::inventory::ContainerRef<'_>) -> bool {
    match c.list {
        "containers" => true,
        "initContainers" => {
            c.container
                .get("restartPolicy")
                .and_then(serde_json::Value::as_str)
                == Some("Always")
        }
        _ => false,
    }
}

/// How many vulnerabilities of a container a finding lists (the worst first); the counts cover
/// all of them.
pub const TOP_VULNERABILITIES: usize = 5;

/// The likelihood of the exploit hop for a workload whose images were scanned and carry no known
/// vulnerability a network attacker can use: a flaw of the application itself remains possible.
pub const SCANNED_CLEAN_LIKELIHOOD: f64 = 0.3;

/// The highest likelihood a vulnerability gives the exploit hop (known exploited, network).
pub const KNOWN_EXPLOITED_LIKELIHOOD: f64 = 0.95;

/// One known vulnerability of a container, as findings and the graph's evidence show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Known {
    /// Its ID.
    pub id: String,
    /// The affected package.
    pub package: String,
    /// Its installed version.
    pub installed: String,
    /// Severity.
    pub severity: VulnSeverity,
    /// Attack vector.
    pub vector: AttackVector,
    /// The fixing version, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_in: Option<String>,
    /// Listed in the KEV catalogue (or the report says it is exploited).
    pub known_exploited: bool,
    /// EPSS probability of exploitation activity in the next 30 days, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epss: Option<f64>,
}

impl Known {
    /// The likelihood that a network attacker who reaches the ports turns this vulnerability into
    /// code execution, or `None` when it needs local, adjacent or physical access: known
    /// exploited 0.95; otherwise by severity (critical 0.85, high 0.75, medium 0.5, low or
    /// unknown 0.3), raised to the EPSS probability when that is higher (capped at 0.95).
    pub fn likelihood(&self) -> Option<f64> {
        if !self.vector.by_network() {
            return None;
        }
        if self.known_exploited {
            return Some(KNOWN_EXPLOITED_LIKELIHOOD);
        }
        let base = match self.severity {
            VulnSeverity::Critical => 0.85,
            VulnSeverity::High => 0.75,
            VulnSeverity::Medium => 0.5,
            VulnSeverity::Low | VulnSeverity::Unknown => 0.3,
        };
        Some(
            self.epss
                .map_or(base, |p| base.max(p.min(KNOWN_EXPLOITED_LIKELIHOOD))),
        )
    }

    /// Ordering weight: known exploited and usable over the network first, then the network
    /// likelihood, severity, EPSS and a known fix.
    fn rank(&self) -> f64 {
        let exploited = self.known_exploited && self.vector.by_network();
        f64::from(u8::from(exploited)) * 1000.0
            + self.likelihood().unwrap_or(0.0) * 100.0
            + self.severity as u8 as f64
            + self.epss.unwrap_or(0.0) * 0.5
            + if self.fixed_in.is_some() { 0.1 } else { 0.0 }
    }

    fn merge(&mut self, other: &Known) {
        self.severity = self.severity.max(other.severity);
        self.vector = self.vector.most_remote(other.vector);
        self.known_exploited |= other.known_exploited;
        if self.fixed_in.is_none() {
            self.fixed_in.clone_from(&other.fixed_in);
        }
        self.epss = match (self.epss, other.epss) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// `CVE-… (critical, network, known exploited, EPSS 0.97, log4j-core 2.14.1, fixed in 2.15.0)`.
    pub fn describe(&self) -> String {
        let mut parts = vec![
            self.severity.as_str().to_string(),
            format!("attack vector {}", self.vector.as_str()),
        ];
        if self.known_exploited {
            parts.push("known exploited".into());
        }
        if let Some(p) = self.epss {
            parts.push(format!("EPSS {p:.2}"));
        }
        parts.push(format!("{} {}", self.package, self.installed));
        parts.push(match &self.fixed_in {
            Some(f) => format!("fixed in {f}"),
            None => "no fix".to_string(),
        });
        format!("{} ({})", self.id, parts.join(", "))
    }
}

/// What is known of one container's image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerVulnerabilities {
    /// The container's name.
    pub container: String,
    /// Its image reference.
    pub image: String,
    /// How a report was matched to it; `None`: no report covers its image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<MatchedBy>,
    /// The matching reports (`Trivy reports/web.json`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<String>,
    /// Vulnerability counts by severity.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_severity: BTreeMap<VulnSeverity, usize>,
    /// IDs known to be exploited (KEV).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_exploited: Vec<String>,
    /// The worst ones ([`TOP_VULNERABILITIES`]), network-usable first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top: Vec<Known>,
    /// Whether the container runs beside the pod's life and may listen (an app container or a
    /// sidecar): only those weigh the exploit hop and KSPM-I-007.
    #[serde(skip)]
    pub serves: bool,
    /// The formats of the matching reports (`Trivy`, `Grype`, `CycloneDX`), for evidence that
    /// must read the same wherever the files lie.
    #[serde(skip)]
    pub formats: Vec<&'static str>,
}

impl ContainerVulnerabilities {
    /// `matched by digest in Trivy report(s)` (no file: evidence reads the same on every
    /// machine; the files are in [`Self::reports`]).
    pub fn provenance(&self) -> String {
        let by = self.matched_by.map_or("", |m| m.as_str());
        format!(
            "matched by {by} in {} report(s)",
            self.formats.join(" and ")
        )
    }
}

impl ContainerVulnerabilities {
    /// The known-exploited vulnerabilities among the worst ones listed ([`Self::top`] ranks
    /// them first: they carry the highest likelihood).
    pub fn top_known_exploited(&self) -> Vec<&Known> {
        self.top.iter().filter(|k| k.known_exploited).collect()
    }

    /// The vulnerability of this container a network attacker would use first, if any.
    pub fn worst_by_network(&self) -> Option<&Known> {
        self.top.iter().find(|k| k.likelihood().is_some())
    }
}

/// What is known of a workload's images.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Every container (matched or not), in the pod spec's order.
    pub containers: Vec<ContainerVulnerabilities>,
}

impl Assessment {
    /// The exploit hop's likelihood: the highest over the containers that serve (app containers
    /// and sidecars; the default when there is none) — a container's worst
    /// network-usable vulnerability ([`Known::likelihood`]); a scanned container without one
    /// [`SCANNED_CLEAN_LIKELIHOOD`]; a container no report covers the technique's default
    /// (`default`), since nothing is known of it.
    pub fn likelihood(&self, default: f64) -> f64 {
        self.containers
            .iter()
            .filter(|c| c.serves)
            .map(|c| match (c.matched_by, c.worst_by_network()) {
                (None, _) => default,
                (Some(_), Some(k)) => k.likelihood().unwrap_or(SCANNED_CLEAN_LIKELIHOOD),
                (Some(_), None) => SCANNED_CLEAN_LIKELIHOOD,
            })
            .fold(None, |m: Option<f64>, l| Some(m.map_or(l, |m| m.max(l))))
            .unwrap_or(default)
    }

    /// The containers with a report, for findings (`vulnerabilities`).
    pub fn scanned(&self) -> Vec<ContainerVulnerabilities> {
        self.containers
            .iter()
            .filter(|c| c.matched_by.is_some())
            .cloned()
            .collect()
    }

    /// What the exploit hop's evidence adds: per container, the vulnerability that sets its
    /// likelihood with the report and how it matched, or that no report covers the image.
    pub fn evidence(&self) -> String {
        let parts: Vec<String> = self
            .containers
            .iter()
            .filter(|c| c.serves)
            .map(|c| match (c.matched_by, c.worst_by_network()) {
                (None, _) => format!(
                    "container {}: no vulnerability report for image {} (flaw assumed)",
                    c.container, c.image
                ),
                (Some(_), Some(k)) => {
                    let more = c
                        .top
                        .iter()
                        .filter(|o| o.id != k.id && o.likelihood().is_some())
                        .map(|o| o.id.as_str())
                        .collect::<Vec<_>>();
                    let more = if more.is_empty() {
                        String::new()
                    } else {
                        format!("; also {}", more.join(", "))
                    };
                    format!(
                        "container {}: {}{more} in image {} ({})",
                        c.container,
                        k.describe(),
                        c.image,
                        c.provenance()
                    )
                }
                (Some(_), None) => format!(
                    "container {}: no known vulnerability a network attacker can use in image {} ({})",
                    c.container,
                    c.image,
                    c.provenance()
                ),
            })
            .collect();
        parts.join("; ")
    }
}

/// `docker.io/library/nginx:latest` for `nginx`: the registry defaulted to Docker Hub (whose
/// one-part names live under `library/`), the tag to `latest`; the digest dropped (matched
/// separately). `None` for an empty reference.
pub fn normalize_reference(image: &str) -> Option<String> {
    let r = parse_image(image.trim());
    if r.name.is_empty() {
        return None;
    }
    let mut name = r.name.to_string();
    let explicit_registry = name
        .split_once('/')
        .is_some_and(|(first, _)| first == r.registry);
    let (registry, path) = if explicit_registry {
        let (reg, path) = name.split_once('/').unwrap_or(("", ""));
        (reg.to_string(), path.to_string())
    } else {
        ("docker.io".to_string(), std::mem::take(&mut name))
    };
    let registry = match registry.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        _ => registry,
    };
    let path = if registry == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    let tag = match (r.tag, r.digest) {
        (Some(t), _) => t.to_string(),
        (None, Some(_)) => return Some(format!("{registry}/{path}")),
        (None, None) => "latest".to_string(),
    };
    Some(format!("{registry}/{path}:{tag}"))
}

/// The digest in an image ID or repository digest (`docker-pullable://nginx@sha256:…`,
/// `nginx@sha256:…`, `sha256:…`, `docker://sha256:…`), when well formed.
pub fn digest_of(id: &str) -> Option<String> {
    let tail = id.rsplit_once('@').map_or(id, |(_, d)| d);
    let tail = tail.rsplit_once("://").map_or(tail, |(_, d)| d);
    let parsed = crate::image::ImageRef {
        registry: "",
        name: "",
        tag: None,
        digest: Some(tail),
    };
    parsed.valid_digest().map(str::to_string)
}
