//! Reading vulnerability data: Trivy JSON (`trivy image -f json`, schema 2), Grype JSON
//! (`grype IMAGE -o json`), CycloneDX JSON vulnerability BOMs and VEX (1.4–1.6, as Trivy and
//! Grype write them), CISA's KEV catalogue JSON and FIRST's EPSS CSV.
//!
//! Every reader streams from an `io::Read` into small typed records: only the fields kspm uses
//! are kept, everything else (descriptions, references, the secret and misconfiguration results
//! Trivy may carry) is skipped as it is read, so a 200 MB report is never held whole. An
//! unknown format or version is an error that names the file (and line, for malformed JSON).

use super::{digest_of, normalize_reference, AttackVector, ImageScan, VulnSeverity, Vulnerability};
use crate::parse::LoadError;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;

/// A value of the document in a message: shown when it is a short word (`filesystem`, `1.3`),
/// else only said to be unsupported — a document's values are not echoed at length.
fn shown(v: &str) -> String {
    if !v.is_empty()
        && v.len() <= 32
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        format!("`{v}`")
    } else {
        "an unsupported value".to_string()
    }
}

fn error(file: &str, line: Option<usize>, message: impl Into<String>) -> LoadError {
    LoadError {
        file: file.to_string(),
        line,
        column: None,
        message: message.into(),
    }
}

fn json_error(file: &str, e: &serde_json::Error, what: &str) -> LoadError {
    let line = (e.line() > 0).then_some(e.line());
    // serde's message without the value it quotes: only the offending type or field.
    let message = match e.classify() {
        serde_json::error::Category::Io => format!("cannot read {what}: {e}"),
        serde_json::error::Category::Eof => format!("{what} ends early (truncated JSON)"),
        serde_json::error::Category::Syntax => format!("{what} is not valid JSON"),
        serde_json::error::Category::Data => {
            format!(
                "{what} has an unexpected shape: {}",
                crate::parse::serde_message(&e.to_string())
            )
        }
    };
    error(file, line, message)
}

/// The reader, buffered; a compressed file is named as such rather than called malformed JSON
/// or CSV.
fn buffered<R: Read>(reader: R, file: &str) -> Result<std::io::BufReader<R>, LoadError> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(reader);
    let head = reader
        .fill_buf()
        .map_err(|e| error(file, None, format!("cannot read: {e}")))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        return Err(error(
            file,
            None,
            "the file is gzip-compressed: decompress it first (gunzip)",
        ));
    }
    Ok(reader)
}

/// Whether the document is a JSON array (its first byte past white space, in the buffer).
fn starts_with_array<R: Read>(reader: &mut std::io::BufReader<R>) -> bool {
    use std::io::BufRead;
    reader.fill_buf().is_ok_and(|head| {
        head.iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'[')
    })
}

/// A vulnerability report of any supported format (the union of their top-level fields, so one
/// streaming pass reads any of them).
#[derive(Deserialize)]
struct Document {
    // Trivy.
    #[serde(rename = "SchemaVersion")]
    schema_version: Option<serde_json::Value>,
    #[serde(rename = "ArtifactName")]
    artifact_name: Option<String>,
    #[serde(rename = "ArtifactType")]
    artifact_type: Option<String>,
    #[serde(rename = "Metadata")]
    trivy_metadata: Option<TrivyMetadata>,
    #[serde(rename = "Results")]
    results: Option<Vec<TrivyResult>>,
    // Trivy's Kubernetes report (`trivy k8s`): recognised, to say so.
    #[serde(rename = "ClusterName")]
    cluster_name: Option<serde::de::IgnoredAny>,
    // Grype.
    matches: Option<Compacted<GrypeMatch>>,
    source: Option<GrypeSource>,
    // CycloneDX.
    #[serde(rename = "bomFormat")]
    bom_format: Option<String>,
    #[serde(rename = "specVersion")]
    spec_version: Option<String>,
    metadata: Option<CdxMetadata>,
    components: Option<Vec<CdxComponent>>,
    vulnerabilities: Option<Vec<CdxVulnerability>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TrivyMetadata {
    #[serde(rename = "ImageID")]
    image_id: Option<String>,
    #[serde(rename = "RepoTags")]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "RepoDigests")]
    repo_digests: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TrivyResult {
    #[serde(rename = "Class")]
    class: Option<String>,
    #[serde(rename = "Vulnerabilities")]
    vulnerabilities: Option<Compacted<TrivyVulnerability>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TrivyVulnerability {
    #[serde(rename = "VulnerabilityID")]
    id: String,
    #[serde(rename = "PkgName")]
    package: String,
    #[serde(rename = "InstalledVersion")]
    installed: String,
    #[serde(rename = "FixedVersion")]
    fixed: Option<String>,
    #[serde(rename = "Severity")]
    severity: Option<String>,
    #[serde(rename = "CVSS")]
    cvss: Option<BTreeMap<String, TrivyCvss>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TrivyCvss {
    #[serde(rename = "V40Vector")]
    v40: Option<String>,
    #[serde(rename = "V3Vector")]
    v3: Option<String>,
    #[serde(rename = "V2Vector")]
    v2: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GrypeMatch {
    vulnerability: GrypeVulnerability,
    #[serde(rename = "relatedVulnerabilities")]
    related: Vec<GrypeVulnerability>,
    artifact: GrypeArtifact,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GrypeVulnerability {
    id: String,
    severity: Option<String>,
    cvss: Vec<GrypeCvss>,
    fix: Option<GrypeFix>,
    #[serde(rename = "knownExploited")]
    known_exploited: Option<Vec<serde::de::IgnoredAny>>,
    epss: Option<Vec<GrypeEpss>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GrypeCvss {
    vector: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GrypeFix {
    versions: Vec<String>,
    state: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GrypeEpss {
    epss: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GrypeArtifact {
    name: String,
    version: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GrypeSource {
    #[serde(rename = "type")]
    kind: Option<String>,
    target: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxMetadata {
    component: Option<CdxComponent>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct CdxComponent {
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    properties: Vec<CdxProperty>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct CdxProperty {
    name: String,
    value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxVulnerability {
    id: String,
    ratings: Vec<CdxRating>,
    affects: Vec<CdxAffects>,
    analysis: Option<CdxAnalysis>,
    recommendation: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxRating {
    severity: Option<String>,
    vector: Option<String>,
    score: Option<f64>,
    source: Option<CdxSource>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxSource {
    name: Option<String>,
}

impl CdxRating {
    /// Grype writes KEV and EPSS as ratings of their own sources.
    fn source(&self) -> &str {
        self.source
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .unwrap_or("")
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxAffects {
    #[serde(rename = "ref")]
    reference: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxAnalysis {
    state: Option<String>,
}

/// Reads one vulnerability report (Trivy, Grype or CycloneDX JSON) of one image (or, for VEX,
/// of the images its statements name).
pub fn read_report(reader: impl Read, file: &str) -> Result<Vec<ImageScan>, LoadError> {
    let mut reader = buffered(reader, file)?;
    if starts_with_array(&mut reader) {
        return Err(error(
            file,
            Some(1),
            "a JSON array: Trivy's layout before SchemaVersion 2 (Trivy 0.20) is not supported, scan again with a current Trivy",
        ));
    }
    let mut de = serde_json::Deserializer::from_reader(reader);
    let doc = Document::deserialize(&mut de)
        .map_err(|e| json_error(file, &e, "the vulnerability report"))?;
    de.end()
        .map_err(|e| json_error(file, &e, "the vulnerability report"))?;
    if doc.bom_format.is_some() || doc.spec_version.is_some() {
        return cyclonedx(doc, file);
    }
    if doc.matches.is_some() {
        return grype(doc, file);
    }
    if doc.cluster_name.is_some() {
        return Err(error(
            file,
            None,
            "a Trivy Kubernetes report (`trivy k8s`) is not read: give image reports (`trivy image -f json IMAGE`)",
        ));
    }
    if doc.schema_version.is_some() || doc.results.is_some() {
        return trivy(doc, file);
    }
    Err(error(
        file,
        None,
        "not a vulnerability report kspm reads: expected Trivy JSON (`trivy image -f json`, SchemaVersion 2), Grype JSON (`grype -o json`: matches and source) or CycloneDX JSON (bomFormat CycloneDX, specVersion 1.4–1.6)",
    ))
}

fn trivy(doc: Document, file: &str) -> Result<Vec<ImageScan>, LoadError> {
    match &doc.schema_version {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(2) => {}
        Some(v) => {
            let v = match v {
                serde_json::Value::Number(n) => shown(&n.to_string()),
                _ => "that is not a number".to_string(),
            };
            return Err(error(
                file,
                None,
                format!("Trivy report SchemaVersion {v} is not supported (2 is: Trivy 0.20 and later)"),
            ));
        }
        None => {
            return Err(error(
                file,
                None,
                "Trivy report without SchemaVersion (Trivy before 0.20) is not supported: scan again with a current Trivy",
            ))
        }
    }
    if let Some(t) = doc.artifact_type.as_deref() {
        if t != "container_image" {
            return Err(error(
                file,
                None,
                format!("a Trivy report of {} (ArtifactType) names no container image: give image reports (`trivy image -f json IMAGE`)", shown(t)),
            ));
        }
    }
    let results = doc.results.unwrap_or_default();
    // Only the vulnerability scanner's results (OS and language packages) say what the image
    // carries; a report of the secret or misconfiguration scanners alone says nothing of it.
    let scanned = results.iter().any(|r| {
        matches!(r.class.as_deref(), Some("os-pkgs" | "lang-pkgs")) || r.vulnerabilities.is_some()
    });
    if !scanned {
        return Err(error(
            file,
            None,
            "the Trivy report holds no vulnerability scan results (no os-pkgs or lang-pkgs result): scan with the vulnerability scanner (`trivy image --scanners vuln -f json`)",
        ));
    }
    let mut scan = ImageScan {
        file: file.to_string(),
        format: "Trivy",
        scanned: true,
        ..Default::default()
    };
    let meta = doc.trivy_metadata.unwrap_or_default();
    for d in meta
        .repo_digests
        .iter()
        .flatten()
        .chain(meta.image_id.iter())
    {
        if let Some(d) = digest_of(d) {
            scan.digests.insert(d);
        }
    }
    for r in meta
        .repo_tags
        .iter()
        .flatten()
        .chain(doc.artifact_name.iter())
    {
        add_reference(&mut scan, r);
    }
    scan.vulnerabilities = results
        .into_iter()
        .flat_map(|r| r.vulnerabilities.map(|v| v.0).unwrap_or_default())
        .collect();
    identified(scan, file).map(|s| vec![s])
}

fn grype(doc: Document, file: &str) -> Result<Vec<ImageScan>, LoadError> {
    let source = doc.source.unwrap_or_default();
    if let Some(kind) = source.kind.as_deref() {
        if kind != "image" {
            return Err(error(
                file,
                None,
                format!("a Grype report of a {} source names no container image: give image reports (`grype IMAGE -o json`)", shown(kind)),
            ));
        }
    }
    let mut scan = ImageScan {
        file: file.to_string(),
        format: "Grype",
        scanned: true,
        ..Default::default()
    };
    if let Some(target) = source.target.as_ref().and_then(|t| t.as_object()) {
        let text = |k: &str| target.get(k).and_then(serde_json::Value::as_str);
        let list = |k: &str| {
            target
                .get(k)
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(serde_json::Value::as_str)
        };
        for d in ["manifestDigest", "imageID"]
            .into_iter()
            .filter_map(text)
            .chain(list("repoDigests"))
        {
            if let Some(d) = digest_of(d) {
                scan.digests.insert(d);
            }
        }
        let refs: Vec<String> = list("tags")
            .chain(text("userInput"))
            .map(str::to_string)
            .collect();
        for r in refs {
            add_reference(&mut scan, &r);
        }
    }
    if let Some(matches) = doc.matches {
        scan.vulnerabilities = matches.0;
    }
    identified(scan, file).map(|s| vec![s])
}

/// A JSON array of a format's vulnerability entries, each turned into a [`Vulnerability`] as it
/// is read: the format's own (heavier) records are never all held at once.
struct Compacted<T>(Vec<Vulnerability>, std::marker::PhantomData<T>);

/// A format's vulnerability entry made compact (`None`: an entry without an ID).
trait Compact {
    fn compact(self) -> Option<Vulnerability>;
}

impl<'de, T: Deserialize<'de> + Compact> Deserialize<'de> for Compacted<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Compact> serde::de::Visitor<'de> for Entries<T> {
            type Value = Compacted<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = seq.next_element::<T>()? {
                    out.extend(entry.compact());
                }
                Ok(Compacted(out, std::marker::PhantomData))
            }
        }
        d.deserialize_seq(Entries(std::marker::PhantomData))
    }
}

impl Compact for TrivyVulnerability {
    fn compact(self) -> Option<Vulnerability> {
        let v = self;
        if v.id.is_empty() {
            return None;
        }
        let vector = v.cvss.as_ref().map_or(AttackVector::Unknown, |sources| {
            // NVD's rating first, then the others in name order; the newest CVSS version of each.
            let nvd = sources.get("nvd");
            nvd.into_iter()
                .chain(sources.iter().filter(|(k, _)| *k != "nvd").map(|(_, c)| c))
                .find_map(|c| {
                    [&c.v40, &c.v3, &c.v2]
                        .into_iter()
                        .flatten()
                        .map(|x| AttackVector::of_cvss(x))
                        .find(|a| *a != AttackVector::Unknown)
                })
                .unwrap_or(AttackVector::Unknown)
        });
        Some(Vulnerability {
            id: v.id,
            aliases: Vec::new(),
            package: v.package,
            installed: v.installed,
            severity: VulnSeverity::parse(v.severity.as_deref().unwrap_or("")),
            vector,
            fixed_in: v.fixed.filter(|f| !f.trim().is_empty()),
            known_exploited: false,
            epss: None,
        })
    }
}

impl Compact for GrypeMatch {
    fn compact(self) -> Option<Vulnerability> {
        let m = self;
        let v = m.vulnerability;
        if v.id.is_empty() {
            return None;
        }
        let vector = v
            .cvss
            .iter()
            .chain(m.related.iter().flat_map(|r| &r.cvss))
            .filter_map(|c| c.vector.as_deref())
            .map(AttackVector::of_cvss)
            .find(|a| *a != AttackVector::Unknown)
            .unwrap_or(AttackVector::Unknown);
        let fixed_in = v
            .fix
            .as_ref()
            .filter(|f| f.state.as_deref() == Some("fixed"))
            .and_then(|f| f.versions.first().cloned());
        let known_exploited = std::iter::once(&v)
            .chain(&m.related)
            .any(|x| x.known_exploited.as_ref().is_some_and(|k| !k.is_empty()));
        let epss = std::iter::once(&v)
            .chain(&m.related)
            .flat_map(|x| x.epss.iter().flatten())
            .filter_map(|e| e.epss)
            .fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.max(p))));
        let mut severity = VulnSeverity::parse(v.severity.as_deref().unwrap_or(""));
        if severity == VulnSeverity::Unknown {
            severity = m
                .related
                .iter()
                .map(|r| VulnSeverity::parse(r.severity.as_deref().unwrap_or("")))
                .max()
                .unwrap_or(VulnSeverity::Unknown);
        }
        Some(Vulnerability {
            aliases: m
                .related
                .iter()
                .map(|r| r.id.clone())
                .filter(|id| !id.is_empty() && *id != v.id)
                .collect(),
            id: v.id,
            package: m.artifact.name,
            installed: m.artifact.version,
            severity,
            vector,
            fixed_in,
            known_exploited,
            epss,
        })
    }
}

/// VEX analysis states that say the vulnerability does not affect the image.
const NOT_AFFECTED_STATES: &[&str] = &[
    "not_affected",
    "false_positive",
    "resolved",
    "resolved_with_pedigree",
];

fn cyclonedx(doc: Document, file: &str) -> Result<Vec<ImageScan>, LoadError> {
    if doc.bom_format.as_deref() != Some("CycloneDX") {
        return Err(error(
            file,
            None,
            format!(
                "bomFormat {} is not CycloneDX",
                shown(doc.bom_format.as_deref().unwrap_or(""))
            ),
        ));
    }
    let version = doc.spec_version.as_deref().unwrap_or("");
    if !matches!(version, "1.4" | "1.5" | "1.6" | "1.7") {
        return Err(error(
            file,
            None,
            format!(
                "CycloneDX specVersion {} is not supported (1.4–1.7 carry vulnerabilities)",
                shown(version)
            ),
        ));
    }
    let components: HashMap<String, CdxComponent> = doc
        .components
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.bom_ref.clone()?, c)))
        .collect();
    let subject = doc.metadata.and_then(|m| m.component);
    let mut images: BTreeMap<String, ImageScan> = BTreeMap::new();
    let blank = || ImageScan {
        file: file.to_string(),
        format: "CycloneDX",
        ..Default::default()
    };
    let mut base = blank();
    if let Some(c) = &subject {
        identify_component(&mut base, c);
    }
    for v in doc.vulnerabilities.into_iter().flatten() {
        if v.id.is_empty() {
            continue;
        }
        let state = v.analysis.as_ref().and_then(|a| a.state.as_deref());
        let excluded = state.is_some_and(|s| NOT_AFFECTED_STATES.contains(&s));
        // The images the statement is about: affects refs that are image purls, else the BOM's own.
        let mut targets: Vec<String> = Vec::new();
        let mut packages: Vec<(String, String)> = Vec::new();
        for r in v.affects.iter().filter_map(|a| a.reference.as_deref()) {
            if r.starts_with("pkg:oci/") || r.starts_with("pkg:docker/") {
                let key = r.to_string();
                images.entry(key.clone()).or_insert_with(|| {
                    let mut s = blank();
                    identify_purl(&mut s, r);
                    s
                });
                targets.push(key);
            } else if let Some(c) = components.get(r) {
                if c.kind.as_deref() == Some("container") {
                    let key = format!("component:{r}");
                    images.entry(key.clone()).or_insert_with(|| {
                        let mut s = blank();
                        identify_component(&mut s, c);
                        s
                    });
                    targets.push(key);
                } else {
                    packages.push((
                        c.name.clone().unwrap_or_default(),
                        c.version.clone().unwrap_or_default(),
                    ));
                }
            } else if subject.as_ref().and_then(|c| c.bom_ref.as_deref()) == Some(r) {
                // The BOM's own image: the statement is about it.
            } else if let Some((name, version)) = purl_package(r) {
                packages.push((name, version));
            }
        }
        let rating = |r: &CdxRating| {
            (
                VulnSeverity::parse(r.severity.as_deref().unwrap_or("")),
                // CycloneDX vectors may lack the `CVSS:3.1/` prefix: `AV:` is read wherever it is.
                r.vector
                    .as_deref()
                    .map_or(AttackVector::Unknown, AttackVector::of_cvss),
            )
        };
        let severity = v
            .ratings
            .iter()
            .map(|r| rating(r).0)
            .max()
            .unwrap_or(VulnSeverity::Unknown);
        let vector = v
            .ratings
            .iter()
            .map(|r| rating(r).1)
            .find(|a| *a != AttackVector::Unknown)
            .unwrap_or(AttackVector::Unknown);
        let known_exploited = v.ratings.iter().any(|r| r.source() == "CISA KEV Catalog");
        let epss = v
            .ratings
            .iter()
            .filter(|r| r.source() == "FIRST")
            .filter_map(|r| r.score)
            .filter(|p| (0.0..=1.0).contains(p))
            .fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.max(p))));
        if packages.is_empty() {
            packages.push((String::new(), String::new()));
        }
        let fixed_in = v
            .recommendation
            .as_deref()
            .and_then(|r| r.strip_prefix("Upgrade "))
            .and_then(|r| r.split(" to version ").nth(1))
            .map(|s| s.trim_end_matches('.').to_string());
        let add = |scan: &mut ImageScan| {
            if excluded {
                scan.not_affected.insert(v.id.clone());
                return;
            }
            scan.scanned = true;
            for (package, installed) in &packages {
                scan.vulnerabilities.push(Vulnerability {
                    id: v.id.clone(),
                    aliases: Vec::new(),
                    package: package.clone(),
                    installed: installed.clone(),
                    severity,
                    vector,
                    fixed_in: fixed_in.clone(),
                    known_exploited,
                    epss,
                });
            }
        };
        if targets.is_empty() {
            add(&mut base);
        } else {
            for t in &targets {
                if let Some(scan) = images.get_mut(t) {
                    add(scan);
                }
            }
        }
    }
    let mut out = Vec::new();
    if !base.vulnerabilities.is_empty() || !base.not_affected.is_empty() {
        out.push(identified(base, file)?);
    }
    for (_, s) in images {
        out.push(identified(s, file)?);
    }
    if out.is_empty() {
        // An SBOM, or a BOM whose scan found nothing: which one cannot be told, so the image is
        // not called clean.
        return Err(error(
            file,
            None,
            "the CycloneDX document carries no vulnerabilities: an SBOM, or a BOM whose scan found none, cannot be told from an image never scanned; give the scanner's JSON report (`trivy image -f json`, `grype -o json`) or a BOM with its vulnerabilities",
        ));
    }
    Ok(out)
}

/// The image a CycloneDX component stands for: its purl, Trivy's properties
/// (`aquasecurity:trivy:RepoDigest`, `RepoTag`, `ImageID`), or Grype's name and digest version.
fn identify_component(scan: &mut ImageScan, c: &CdxComponent) {
    if let Some(p) = &c.purl {
        identify_purl(scan, p);
    }
    for p in &c.properties {
        let Some(value) = p.value.as_deref() else {
            continue;
        };
        match p.name.as_str() {
            "aquasecurity:trivy:RepoDigest" | "aquasecurity:trivy:ImageID" => {
                if let Some(d) = digest_of(value) {
                    scan.digests.insert(d);
                }
            }
            "aquasecurity:trivy:RepoTag" => add_reference(scan, value),
            _ => {}
        }
    }
    if c.kind.as_deref() == Some("container") {
        if let Some(d) = c.version.as_deref().and_then(digest_of) {
            scan.digests.insert(d);
        }
        if let Some(name) = c.name.as_deref() {
            // `name:tag` (Trivy, Grype: what was scanned) as written; a bare name with a version
            // that is a tag; a bare name alone says no tag, so no reference.
            let r = crate::image::parse_image(name);
            if r.tag.is_some() || r.digest.is_some() {
                add_reference(scan, name);
            } else if let Some(tag) = c.version.as_deref().filter(|v| digest_of(v).is_none()) {
                add_reference(scan, &format!("{name}:{tag}"));
            }
        }
    }
}

/// `pkg:oci/nginx@sha256%3A…?repository_url=index.docker.io/library/nginx&tag=1.25` (or
/// `pkg:docker/library/nginx@1.25`): the digest and the reference it was scanned as.
fn identify_purl(scan: &mut ImageScan, purl: &str) {
    let (head, query) = purl.split_once('?').unwrap_or((purl, ""));
    let query: HashMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect();
    let (path, version) = match head.rsplit_once('@') {
        Some((p, v)) => (p, Some(percent_decode(v))),
        None => (head, None),
    };
    if let Some(d) = version.as_deref().and_then(digest_of) {
        scan.digests.insert(d);
    }
    if let Some(path) = path.strip_prefix("pkg:oci/") {
        let repo = query
            .get("repository_url")
            .cloned()
            .unwrap_or_else(|| percent_decode(path));
        if let Some(tag) = query.get("tag") {
            add_reference(scan, &format!("{repo}:{tag}"));
        }
    } else if let Some(path) = path.strip_prefix("pkg:docker/") {
        let repo = match query.get("repository_url") {
            Some(reg) => format!("{reg}/{}", percent_decode(path)),
            None => percent_decode(path),
        };
        if let Some(tag) = version.filter(|v| digest_of(v).is_none()) {
            add_reference(scan, &format!("{repo}:{tag}"));
        }
    }
}

/// Name and version of a package purl (`pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1`).
fn purl_package(purl: &str) -> Option<(String, String)> {
    let rest = purl.strip_prefix("pkg:")?;
    let head = rest.split(['?', '#']).next()?;
    let (path, version) = head.rsplit_once('@')?;
    let name = path.rsplit('/').next()?;
    Some((percent_decode(name), percent_decode(version)))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Adds a reference the report was scanned as; a digest in it (`repo@sha256:…`) identifies the
/// image too, and a reference by digest alone is no tag to match by.
fn add_reference(scan: &mut ImageScan, r: &str) {
    let parsed = crate::image::parse_image(r.trim());
    if let Some(d) = parsed.valid_digest() {
        scan.digests.insert(d.to_string());
    }
    if parsed.digest.is_some() && parsed.tag.is_none() {
        return;
    }
    if let Some(n) = normalize_reference(r) {
        scan.references.insert(n);
    }
}

/// A report must say which image it is about, or nothing can be matched to it.
fn identified(scan: ImageScan, file: &str) -> Result<ImageScan, LoadError> {
    if scan.digests.is_empty() && scan.references.is_empty() {
        return Err(error(
            file,
            None,
            format!(
                "the {} report names no image (no digest and no reference): nothing can be matched to it",
                scan.format
            ),
        ));
    }
    Ok(scan)
}

#[derive(Deserialize)]
struct KevCatalog {
    vulnerabilities: Vec<KevEntry>,
}

#[derive(Deserialize)]
struct KevEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
}

/// Reads CISA's Known Exploited Vulnerabilities catalogue (`known_exploited_vulnerabilities.json`
/// as published): the CVE IDs it lists.
pub fn read_kev(reader: impl Read, file: &str) -> Result<Vec<String>, LoadError> {
    let reader = buffered(reader, file)?;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let c = KevCatalog::deserialize(&mut de).map_err(|e| {
        let mut err = json_error(file, &e, "the KEV catalogue");
        if e.is_data() {
            err.message.push_str(" (expected CISA's known_exploited_vulnerabilities.json: an object with vulnerabilities[].cveID)");
        }
        err
    })?;
    de.end()
        .map_err(|e| json_error(file, &e, "the KEV catalogue"))?;
    Ok(c.vulnerabilities.into_iter().map(|v| v.cve_id).collect())
}

/// EPSS scores read (CVE ID, probability) and the rows that were skipped.
pub type EpssScores = (Vec<(String, f64)>, Vec<LoadError>);

/// Reads FIRST's EPSS scores (`epss_scores-YYYY-MM-DD.csv`: a `#model_version:…` comment line,
/// the header `cve,epss,percentile`, then one row per CVE). Rows that do not parse are reported
/// (file and line) and skipped; a file without the header is an error.
pub fn read_epss(reader: impl Read, file: &str) -> Result<EpssScores, LoadError> {
    use std::io::BufRead;
    let mut scores = Vec::new();
    let mut bad = Vec::new();
    let mut columns: Option<(usize, usize)> = None;
    let reader = buffered(reader, file)?;
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line =
            line.map_err(|e| error(file, Some(n), format!("cannot read the EPSS file: {e}")))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let Some((cve, epss)) = columns else {
            let cve = fields.iter().position(|f| f.eq_ignore_ascii_case("cve"));
            let epss = fields.iter().position(|f| f.eq_ignore_ascii_case("epss"));
            match (cve, epss) {
                (Some(c), Some(e)) => columns = Some((c, e)),
                _ => {
                    return Err(error(
                        file,
                        Some(n),
                        "not an EPSS file: expected the header `cve,epss,percentile` (FIRST's epss_scores CSV)",
                    ))
                }
            }
            continue;
        };
        match (
            fields.get(cve),
            fields.get(epss).and_then(|p| p.parse::<f64>().ok()),
        ) {
            (Some(id), Some(p)) if !id.is_empty() && (0.0..=1.0).contains(&p) => {
                scores.push((id.to_string(), p))
            }
            _ => {
                if bad.len() < 10 {
                    bad.push(error(
                        file,
                        Some(n),
                        "EPSS row skipped: expected a CVE ID and a probability between 0 and 1",
                    ));
                }
            }
        }
    }
    if columns.is_none() {
        return Err(error(
            file,
            None,
            "not an EPSS file: no header `cve,epss,percentile`",
        ));
    }
    Ok((scores, bad))
}
