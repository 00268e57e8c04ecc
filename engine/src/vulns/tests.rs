//! The readers against the formats' published shapes, matching by digest and by reference, and
//! the likelihood rule, each with its negative case.

use super::formats::{read_epss, read_kev, read_report};
use super::*;
use crate::parse::{parse_text, Syntax};
use crate::snapshot::ClusterSnapshot;

const DIGEST_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const DIGEST_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const CONFIG_C: &str = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

fn trivy(artifact: &str, repo_digest: &str) -> String {
    format!(
        r#"{{
  "SchemaVersion": 2,
  "CreatedAt": "2026-11-30T10:00:00Z",
  "ArtifactName": "{artifact}",
  "ArtifactType": "container_image",
  "Metadata": {{
    "OS": {{"Family": "debian", "Name": "12.5"}},
    "ImageID": "{CONFIG_C}",
    "RepoTags": ["{artifact}"],
    "RepoDigests": ["{repo_digest}"]
  }},
  "Results": [
    {{"Target": "app (debian 12.5)", "Class": "os-pkgs", "Type": "debian",
      "Vulnerabilities": [
        {{"VulnerabilityID": "CVE-2024-0001", "PkgName": "libssl3", "InstalledVersion": "3.0.11-1",
          "FixedVersion": "3.0.13-1", "Status": "fixed", "Severity": "HIGH",
          "CVSS": {{"nvd": {{"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "V3Score": 9.8}}}}}},
        {{"VulnerabilityID": "CVE-2024-0002", "PkgName": "login", "InstalledVersion": "1:4.13",
          "Status": "affected", "Severity": "CRITICAL",
          "CVSS": {{"nvd": {{"V3Vector": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"}}}}}}
      ]}},
    {{"Target": "app/app.jar", "Class": "lang-pkgs", "Type": "jar",
      "Vulnerabilities": [
        {{"VulnerabilityID": "CVE-2021-44228", "PkgName": "org.apache.logging.log4j:log4j-core",
          "InstalledVersion": "2.14.1", "FixedVersion": "2.15.0", "Severity": "CRITICAL",
          "CVSS": {{"ghsa": {{"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}}}}}}
      ]}},
    {{"Target": "/app/.env", "Class": "secret",
      "Secrets": [{{"RuleID": "aws-access-key-id", "Severity": "CRITICAL",
        "Match": "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7CANARY1"}}]}}
  ]
}}"#
    )
}

#[test]
fn trivy_reports_are_read_by_their_published_fields() {
    let scans = read_report(
        trivy(
            "registry.example.com/shop/web:1.4",
            &format!("registry.example.com/shop/web@{DIGEST_A}"),
        )
        .as_bytes(),
        "reports/web.json",
    )
    .expect("read");
    assert_eq!(scans.len(), 1);
    let s = &scans[0];
    assert_eq!(s.format, "Trivy");
    assert!(s.digests.contains(DIGEST_A) && s.digests.contains(CONFIG_C));
    assert!(s.references.contains("registry.example.com/shop/web:1.4"));
    let ids: Vec<&str> = s.vulnerabilities.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["CVE-2024-0001", "CVE-2024-0002", "CVE-2021-44228"]);
    let log4j = &s.vulnerabilities[2];
    assert_eq!(log4j.severity, VulnSeverity::Critical);
    // The GHSA rating is read when NVD gives none.
    assert_eq!(log4j.vector, AttackVector::Network);
    assert_eq!(log4j.fixed_in.as_deref(), Some("2.15.0"));
    assert_eq!(s.vulnerabilities[1].vector, AttackVector::Local);
    assert_eq!(s.vulnerabilities[1].fixed_in, None);
    // The secret scanner's match never enters the data.
    assert!(!format!("{s:?}").contains("CANARY"));
}

#[test]
fn unknown_formats_and_versions_are_errors_that_name_the_file() {
    let old = r#"{"SchemaVersion": 1, "Results": []}"#;
    let e = read_report(old.as_bytes(), "old.json").expect_err("schema 1");
    assert_eq!(e.file, "old.json");
    assert!(e.message.contains("SchemaVersion `1`"), "{}", e.message);
    let fs =
        r#"{"SchemaVersion": 2, "ArtifactName": ".", "ArtifactType": "filesystem", "Results": []}"#;
    assert!(read_report(fs.as_bytes(), "fs.json")
        .expect_err("fs")
        .message
        .contains("filesystem"));
    let other = r#"{"hello": "world"}"#;
    assert!(read_report(other.as_bytes(), "x.json")
        .expect_err("unknown")
        .message
        .contains("expected Trivy JSON"));
    let cdx13 = r#"{"bomFormat": "CycloneDX", "specVersion": "1.3", "components": []}"#;
    assert!(read_report(cdx13.as_bytes(), "c.json")
        .expect_err("1.3")
        .message
        .contains("1.3"));
    // Malformed JSON: file and line, and no value of the document in the message.
    let broken = "{\n  \"SchemaVersion\": 2,\n  \"ArtifactName\": \"hunter2-secret\" \"x\"\n}";
    let e = read_report(broken.as_bytes(), "broken.json").expect_err("syntax");
    assert_eq!((e.file.as_str(), e.line), ("broken.json", Some(3)));
    assert!(!e.message.contains("hunter2"), "{}", e.message);
    let truncated = &trivy("nginx:1.25", &format!("nginx@{DIGEST_A}"))[..200];
    assert!(read_report(truncated.as_bytes(), "t.json")
        .expect_err("eof")
        .message
        .contains("truncated"));
    // A report that names no image matches nothing: an error, not silence.
    let anonymous = r#"{"SchemaVersion": 2, "ArtifactType": "container_image",
        "Results": [{"Target": "t", "Class": "os-pkgs"}]}"#;
    assert!(read_report(anonymous.as_bytes(), "a.json")
        .expect_err("no image")
        .message
        .contains("names no image"));
}

const GRYPE: &str = r#"{
  "matches": [
    {"vulnerability": {"id": "GHSA-jfh8-c2jp-5v3q", "dataSource": "https://github.com/advisories/GHSA-jfh8-c2jp-5v3q",
       "namespace": "github:language:java", "severity": "Critical",
       "cvss": [],
       "fix": {"versions": ["2.15.0"], "state": "fixed"}},
     "relatedVulnerabilities": [{"id": "CVE-2021-44228", "severity": "Critical",
       "cvss": [{"source": "nvd@nist.gov", "type": "Primary", "version": "3.1",
                 "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "metrics": {"baseScore": 10.0}}]}],
     "matchDetails": [],
     "artifact": {"name": "log4j-core", "version": "2.14.1", "type": "java-archive"}},
    {"vulnerability": {"id": "CVE-2023-9999", "severity": "Medium",
       "cvss": [{"version": "2.0", "vector": "AV:N/AC:L/Au:N/C:P/I:N/A:N"}],
       "fix": {"versions": [], "state": "not-fixed"},
       "knownExploited": [{"cve": "CVE-2023-9999", "knownRansomwareCampaignUse": "Unknown"}],
       "epss": [{"cve": "CVE-2023-9999", "epss": 0.42, "percentile": 0.97, "date": "2026-11-30"}]},
     "artifact": {"name": "busybox", "version": "1.36.1-r2"}}
  ],
  "source": {"type": "image", "target": {"userInput": "ghcr.io/acme/api:2.0",
    "imageID": "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
    "manifestDigest": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "tags": ["ghcr.io/acme/api:2.0"], "repoDigests": []}},
  "distro": {"name": "alpine", "version": "3.19"},
  "descriptor": {"name": "grype", "version": "0.87.0"}
}"#;

#[test]
fn grype_reports_read_related_vulnerabilities_kev_and_epss() {
    let scans = read_report(GRYPE.as_bytes(), "grype.json").expect("read");
    let s = &scans[0];
    assert_eq!(s.format, "Grype");
    assert!(s.digests.contains(DIGEST_B));
    assert!(s.references.contains("ghcr.io/acme/api:2.0"));
    let ghsa = &s.vulnerabilities[0];
    assert_eq!(ghsa.aliases, ["CVE-2021-44228"]);
    assert_eq!(
        ghsa.vector,
        AttackVector::Network,
        "from the related CVE's CVSS"
    );
    assert_eq!(ghsa.fixed_in.as_deref(), Some("2.15.0"));
    let busybox = &s.vulnerabilities[1];
    assert!(busybox.known_exploited);
    assert_eq!(busybox.epss, Some(0.42));
    assert_eq!(busybox.vector, AttackVector::Network, "a CVSS v2 vector");
    assert_eq!(busybox.fixed_in, None, "not-fixed has no fix");
    let dir = r#"{"matches": [], "source": {"type": "directory", "target": "/src"}}"#;
    assert!(read_report(dir.as_bytes(), "d.json")
        .expect_err("dir")
        .message
        .contains("directory"));
}

const CYCLONEDX: &str = r#"{
  "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
  "metadata": {"component": {"bom-ref": "pkg:oci/web@sha256%3Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?repository_url=registry.example.com%2Fshop%2Fweb&tag=1.4",
    "type": "container", "name": "registry.example.com/shop/web:1.4",
    "purl": "pkg:oci/web@sha256%3Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?repository_url=registry.example.com%2Fshop%2Fweb&tag=1.4",
    "properties": [{"name": "aquasecurity:trivy:ImageID", "value": "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"}]}},
  "components": [{"bom-ref": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "type": "library",
    "name": "log4j-core", "version": "2.14.1", "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}],
  "vulnerabilities": [
    {"id": "CVE-2021-44228", "ratings": [{"severity": "critical", "score": 10.0, "method": "CVSSv31",
       "vector": "AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}],
     "recommendation": "Upgrade org.apache.logging.log4j:log4j-core to version 2.15.0",
     "affects": [{"ref": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}]},
    {"id": "CVE-2024-0001", "ratings": [{"severity": "high", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
     "analysis": {"state": "not_affected", "justification": "code_not_reachable"},
     "affects": [{"ref": "pkg:deb/debian/libssl3@3.0.11-1"}]}
  ]
}"#;

#[test]
fn cyclonedx_boms_read_purls_components_and_vex() {
    let scans = read_report(CYCLONEDX.as_bytes(), "web.cdx.json").expect("read");
    assert_eq!(scans.len(), 1);
    let s = &scans[0];
    assert!(s.digests.contains(DIGEST_A) && s.digests.contains(CONFIG_C));
    assert!(s.references.contains("registry.example.com/shop/web:1.4"));
    assert_eq!(s.vulnerabilities.len(), 1);
    let v = &s.vulnerabilities[0];
    assert_eq!(
        (v.package.as_str(), v.installed.as_str()),
        ("log4j-core", "2.14.1")
    );
    assert_eq!(v.vector, AttackVector::Network);
    assert_eq!(v.fixed_in.as_deref(), Some("2.15.0"));
    assert!(s.not_affected.contains("CVE-2024-0001"));
}

#[test]
fn references_normalise_as_runtimes_resolve_them() {
    let n = |s: &str| normalize_reference(s).expect("reference");
    assert_eq!(n("nginx"), "docker.io/library/nginx:latest");
    assert_eq!(n("nginx:1.25"), "docker.io/library/nginx:1.25");
    assert_eq!(n("docker.io/nginx:1.25"), "docker.io/library/nginx:1.25");
    assert_eq!(
        n("index.docker.io/library/nginx:1.25"),
        "docker.io/library/nginx:1.25"
    );
    assert_eq!(n("bitnami/redis:7"), "docker.io/bitnami/redis:7");
    assert_eq!(n("localhost:5000/app:dev"), "localhost:5000/app:dev");
    assert_eq!(n("ghcr.io/acme/api:2.0@sha256:abc"), "ghcr.io/acme/api:2.0");
    // Not the same image: another registry or repository.
    assert_ne!(n("quay.io/nginx:1.25"), n("nginx:1.25"));
    assert_eq!(
        digest_of(&format!("docker-pullable://nginx@{DIGEST_A}")).as_deref(),
        Some(DIGEST_A)
    );
    assert_eq!(
        digest_of(&format!("docker://{DIGEST_A}")).as_deref(),
        Some(DIGEST_A)
    );
    assert_eq!(digest_of("nginx@sha256:short"), None);
}

fn database() -> Database {
    let mut db = Database::default();
    db.add(
        read_report(
            trivy(
                "registry.example.com/shop/web:1.4",
                &format!("registry.example.com/shop/web@{DIGEST_A}"),
            )
            .as_bytes(),
            "web.json",
        )
        .expect("read"),
    );
    db.add(read_report(GRYPE.as_bytes(), "grype.json").expect("read"));
    db
}

#[test]
fn containers_match_by_digest_first_then_exact_reference() {
    let db = database();
    // The running digest decides, whatever tag the spec names.
    let (by, scans, _) = db
        .lookup(
            "registry.example.com/shop/web:other",
            &[DIGEST_A.to_string()],
        )
        .expect("digest");
    assert_eq!(
        (by, scans[0].file.as_str()),
        (MatchedBy::Digest, "web.json")
    );
    // No digest known: the exact reference.
    let (by, _, _) = db
        .lookup("registry.example.com/shop/web:1.4", &[])
        .expect("reference");
    assert_eq!(by, MatchedBy::Reference);
    // Another tag, another registry: no match.
    assert!(db
        .lookup("registry.example.com/shop/web:1.5", &[])
        .is_none());
    assert!(db.lookup("docker.io/shop/web:1.4", &[]).is_none());
    // Same tag, but the container runs another build than the report's: no match.
    assert!(db
        .lookup("registry.example.com/shop/web:1.4", &[DIGEST_B.to_string()])
        .is_none_or(|(_, s, _)| s.iter().all(|s| s.file != "web.json")));
}

fn cluster(yaml: &str) -> ClusterSnapshot {
    let mut c = ClusterSnapshot::default();
    c.info.name = "c".into();
    c.objects = parse_text(yaml, "t.yaml", Syntax::Yaml).objects;
    c
}

const WORKLOAD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d1}
spec:
  template:
    spec:
      containers:
      - {name: web, image: "registry.example.com/shop/web:1.4", ports: [{containerPort: 8080}]}
      - {name: sidecar, image: "envoyproxy/envoy:v1.30"}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d
  namespace: shop
  uid: r1
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d1, controller: true}]
spec:
  template:
    spec:
      containers:
      - {name: web, image: "registry.example.com/shop/web:1.4"}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d-x
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d, uid: r1, controller: true}]
spec:
  containers:
  - {name: web, image: "registry.example.com/shop/web:1.4"}
status:
  containerStatuses:
  - {name: web, image: "registry.example.com/shop/web:1.4", imageID: "registry.example.com/shop/web@DIGEST"}
"#;

fn deployment<'a>(inv: &'a Inventory<'a>) -> PodTemplate<'a> {
    inv.templates()
        .iter()
        .find(|t| t.owner.kind == "Deployment")
        .copied()
        .expect("a Deployment")
}

#[test]
fn a_workload_is_assessed_by_the_digests_its_pods_run() {
    let db = database();
    let c = cluster(&WORKLOAD.replace("DIGEST", DIGEST_A));
    let inv = Inventory::new(&c);
    let t = deployment(&inv);
    assert_eq!(
        inv.running_images(&t).get("web"),
        Some(&vec![format!("registry.example.com/shop/web@{DIGEST_A}")])
    );
    let a = db.assess(&t, &inv).expect("assessed");
    let web = &a.containers[0];
    assert_eq!(web.matched_by, Some(MatchedBy::Digest));
    // The worst network-usable vulnerability first: the critical network log4j flaw.
    assert_eq!(
        web.worst_by_network().map(|k| k.id.as_str()),
        Some("CVE-2021-44228")
    );
    assert_eq!(web.by_severity.get(&VulnSeverity::Critical), Some(&2));
    // The sidecar has no report: the default likelihood stays its part.
    assert_eq!(a.containers[1].matched_by, None);
    assert_eq!(a.likelihood(0.6), 0.85);
    assert!(a
        .evidence()
        .contains("no vulnerability report for image envoyproxy/envoy:v1.30"));
    // The pods run another build than the report's: the tag is no match.
    let other = format!("sha256:{}", "d".repeat(64));
    let c = cluster(&WORKLOAD.replace("DIGEST", &other));
    let inv = Inventory::new(&c);
    let t = deployment(&inv);
    assert_eq!(
        db.assess(&t, &inv).expect("assessed").containers[0].matched_by,
        None
    );
    // No report read at all: nothing is assessed (the graph and findings stay as they were).
    assert!(Database::default().assess(&t, &inv).is_none());
}

#[test]
fn the_likelihood_follows_the_worst_network_vulnerability() {
    let k = |severity, vector, known_exploited, epss| Known {
        id: "CVE-1".into(),
        package: "p".into(),
        installed: "1".into(),
        severity,
        vector,
        fixed_in: None,
        known_exploited,
        epss,
    };
    use AttackVector::{Adjacent, Local, Network};
    use VulnSeverity::*;
    assert_eq!(k(Low, Network, true, None).likelihood(), Some(0.95));
    assert_eq!(k(Critical, Network, false, None).likelihood(), Some(0.85));
    assert_eq!(
        k(High, AttackVector::Unknown, false, None).likelihood(),
        Some(0.75)
    );
    assert_eq!(k(Medium, Network, false, Some(0.9)).likelihood(), Some(0.9));
    assert_eq!(
        k(Medium, Network, false, Some(0.99)).likelihood(),
        Some(0.95)
    );
    // Local, adjacent and physical vectors are not the network hop's, known exploited or not.
    assert_eq!(k(Critical, Local, true, None).likelihood(), None);
    assert_eq!(k(Critical, Adjacent, false, None).likelihood(), None);
    // A scanned image without a network-usable one: lower than assumed; unscanned: assumed.
    let scanned = |top: Vec<Known>| ContainerVulnerabilities {
        serves: true,
        formats: vec!["Trivy"],
        container: "c".into(),
        image: "i".into(),
        matched_by: Some(MatchedBy::Digest),
        reports: vec![],
        by_severity: BTreeMap::new(),
        known_exploited: vec![],
        top,
    };
    let a = Assessment {
        containers: vec![scanned(vec![k(Critical, Local, false, None)])],
    };
    assert_eq!(a.likelihood(0.6), SCANNED_CLEAN_LIKELIHOOD);
    let mut unscanned = scanned(vec![]);
    unscanned.matched_by = None;
    let a = Assessment {
        containers: vec![scanned(vec![]), unscanned],
    };
    assert_eq!(a.likelihood(0.6), 0.6);
}

#[test]
fn kev_and_the_known_exploited_flag_of_a_related_id_count() {
    let mut db = Database::default();
    db.add(
        read_report(
            trivy("nginx:1.25", &format!("nginx@{DIGEST_A}")).as_bytes(),
            "n.json",
        )
        .expect("read"),
    );
    let kev = r#"{"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2026.11.30",
      "dateReleased": "2026-11-30T17:00:00.000Z", "count": 1,
      "vulnerabilities": [{"cveID": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j2",
        "vulnerabilityName": "Apache Log4j2 Remote Code Execution Vulnerability", "dateAdded": "2021-12-10",
        "shortDescription": "...", "requiredAction": "...", "dueDate": "2021-12-24",
        "knownRansomwareCampaignUse": "Known", "notes": "", "cwes": ["CWE-20"]}]}"#;
    db.add_known_exploited(read_kev(kev.as_bytes(), "kev.json").expect("kev"));
    let epss = "#model_version:v2025.03.14,score_date:2026-11-30T00:00:00+0000\ncve,epss,percentile\nCVE-2024-0001,0.91,0.99\nCVE-2024-0002,notanumber,0.5\n";
    let (scores, bad) = read_epss(epss.as_bytes(), "epss.csv").expect("epss");
    assert_eq!(scores, [("CVE-2024-0001".to_string(), 0.91)]);
    assert_eq!((bad.len(), bad[0].line), (1, Some(4)));
    db.add_epss(scores);
    let found = db.find("nginx:1.25", &[]);
    let c = db.container("web", "nginx:1.25", found);
    assert_eq!(c.known_exploited, ["CVE-2021-44228"]);
    let ssl = c.top.iter().find(|k| k.id == "CVE-2024-0001").expect("ssl");
    assert_eq!(ssl.epss, Some(0.91));
    assert!(read_kev(r#"{"cves": []}"#.as_bytes(), "k.json").is_err());
    assert!(read_epss("a,b\n1,2\n".as_bytes(), "e.csv").is_err());
}

#[test]
fn the_exploit_hop_carries_the_likelihood_through_joins_and_storage() {
    use crate::graph::{AttackGraph, Technique};
    use crate::rbac::Rbac;
    let db = database();
    let c = cluster(&WORKLOAD.replace("DIGEST", DIGEST_A));
    let inv = Inventory::new(&c);
    let rbac = Rbac::build(&c.objects, None);
    let exploit = |g: &AttackGraph| {
        g.graph
            .edge_weights()
            .find(|e| e.technique == Technique::ENDPOINT_EXPLOIT)
            .map(|e| (e.likelihood(), e.evidence.clone()))
            .expect("exploit hop")
    };
    let mut plain = AttackGraph::default();
    plain.build_cluster(&c, &inv, &rbac);
    assert_eq!(exploit(&plain).0, 0.6);
    assert!(!exploit(&plain).1.contains("CVE"));
    let mut g = AttackGraph::default();
    g.build_cluster_with(&c, &inv, &rbac, &db);
    let (l, evidence) = exploit(&g);
    assert_eq!(l, 0.85);
    assert!(
        evidence.contains("CVE-2021-44228") && evidence.contains("matched by digest"),
        "{evidence}"
    );
    // Stored and restored, merged into a fleet graph: the same likelihood.
    assert_eq!(exploit(&AttackGraph::restore(g.dump())).0, 0.85);
    let mut fleet = AttackGraph::default();
    fleet.merge(&g);
    assert_eq!(exploit(&fleet).0, 0.85);
    fleet.absorb(AttackGraph::restore(g.dump()));
    assert_eq!(exploit(&fleet).0, 0.85);
}

#[test]
fn documents_that_say_nothing_of_an_image_are_not_a_clean_scan() {
    // A CycloneDX SBOM (no vulnerabilities), and a Trivy report of the secret scanner alone.
    let sbom = r#"{"bomFormat": "CycloneDX", "specVersion": "1.5",
        "metadata": {"component": {"type": "container", "name": "nginx:1.25"}}, "components": []}"#;
    let e = read_report(sbom.as_bytes(), "sbom.json").expect_err("sbom");
    assert!(
        e.message.contains("carries no vulnerabilities"),
        "{}",
        e.message
    );
    let secrets = r#"{"SchemaVersion": 2, "ArtifactName": "nginx:1.25", "ArtifactType": "container_image",
        "Results": [{"Target": ".env", "Class": "secret", "Secrets": [{"Match": "x"}]}]}"#;
    let e = read_report(secrets.as_bytes(), "s.json").expect_err("secret scanner only");
    assert!(
        e.message.contains("no vulnerability scan results"),
        "{}",
        e.message
    );
    // A Trivy scan that found nothing is a clean scan.
    let clean = r#"{"SchemaVersion": 2, "ArtifactName": "nginx:1.25", "ArtifactType": "container_image",
        "Results": [{"Target": "nginx (debian 12)", "Class": "os-pkgs", "Type": "debian"}]}"#;
    assert!(read_report(clean.as_bytes(), "c.json").expect("clean")[0].scanned);
    // A VEX document alone is no scan: it matches nothing and the database stays empty.
    let vex = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6",
        "metadata": {"component": {"type": "container", "name": "nginx:1.25"}},
        "vulnerabilities": [{"id": "CVE-2021-44228", "analysis": {"state": "not_affected"}}]}"#;
    let mut db = Database::default();
    db.add(read_report(vex.as_bytes(), "v.json").expect("vex"));
    assert!(db.is_empty());
    assert!(db.lookup("nginx:1.25", &[]).is_none());
}

#[test]
fn vex_applies_to_every_report_of_the_image_and_to_related_ids() {
    // Grype reports the GHSA with the CVE related; the VEX names the CVE, by reference, while the
    // scan matched by digest.
    let mut db = Database::default();
    db.add(read_report(GRYPE.as_bytes(), "grype.json").expect("grype"));
    let vex = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6",
        "metadata": {"component": {"type": "container", "name": "ghcr.io/acme/api:2.0"}},
        "vulnerabilities": [{"id": "CVE-2021-44228", "analysis": {"state": "not_affected"}}]}"#;
    db.add(read_report(vex.as_bytes(), "v.json").expect("vex"));
    let matched = db.find("ghcr.io/acme/api:2.0", &[DIGEST_B.to_string()]);
    assert_eq!(matched.as_ref().map(|m| m.by), Some(MatchedBy::Digest));
    let c = db.container("api", "ghcr.io/acme/api:2.0", matched);
    assert!(
        c.top.iter().all(|k| k.id != "GHSA-jfh8-c2jp-5v3q"),
        "{:?}",
        c.top
    );
    // Without the VEX statement the GHSA is there.
    let mut plain = Database::default();
    plain.add(read_report(GRYPE.as_bytes(), "grype.json").expect("grype"));
    let m = plain.find("ghcr.io/acme/api:2.0", &[DIGEST_B.to_string()]);
    assert!(plain
        .container("api", "x", m)
        .top
        .iter()
        .any(|k| k.id == "GHSA-jfh8-c2jp-5v3q"));
}

#[test]
fn known_exploited_vulnerabilities_rank_first() {
    let k = |id: &str, known_exploited, epss| Known {
        id: id.into(),
        package: "p".into(),
        installed: "1".into(),
        severity: VulnSeverity::Critical,
        vector: AttackVector::Network,
        fixed_in: None,
        known_exploited,
        epss,
    };
    assert!(k("KEV", true, None).rank() > k("HOT", false, Some(0.97)).rank());
    // Known exploited but local: below a network critical.
    let mut local = k("LOCAL", true, None);
    local.vector = AttackVector::Local;
    assert!(local.rank() < k("NET", false, None).rank());
}

#[test]
fn component_names_and_digest_references_identify_images_exactly() {
    // A CycloneDX container named without a tag, its version the tag; a name with a registry
    // port is no tag.
    let bom = |name: &str, version: &str| {
        format!(
            r#"{{"bomFormat": "CycloneDX", "specVersion": "1.6",
            "metadata": {{"component": {{"type": "container", "name": "{name}", "version": "{version}"}}}},
            "vulnerabilities": [{{"id": "CVE-1", "ratings": [{{"severity": "high"}}]}}]}}"#
        )
    };
    let refs = |name: &str, version: &str| {
        read_report(bom(name, version).as_bytes(), "b.json").expect("bom")[0]
            .references
            .clone()
    };
    assert!(refs("registry.local:5000/app", "2.0").contains("registry.local:5000/app:2.0"));
    assert!(refs("ghcr.io/org/app", "1.2").contains("ghcr.io/org/app:1.2"));
    assert!(refs("ghcr.io/org/app:1.3", "sha256:x").contains("ghcr.io/org/app:1.3"));
    // A report known only by digest reference: its digest, no tag to match another build by.
    let trivy = format!(
        r#"{{"SchemaVersion": 2, "ArtifactName": "ghcr.io/org/app@{DIGEST_A}", "ArtifactType": "container_image",
          "Results": [{{"Target": "t", "Class": "os-pkgs"}}]}}"#
    );
    let s = &read_report(trivy.as_bytes(), "t.json").expect("trivy")[0];
    assert!(s.digests.contains(DIGEST_A) && s.references.is_empty());
    let mut db = Database::default();
    db.add(vec![s.clone()]);
    assert!(db
        .lookup(
            &format!("ghcr.io/org/app@{DIGEST_B}"),
            &[DIGEST_B.to_string()]
        )
        .is_none());
}

#[test]
fn messages_never_echo_document_values() {
    let hostile = r#"{"SchemaVersion": 2, "ArtifactType": "container_image", "ArtifactName": "x:1",
        "Results": [{"Class": "os-pkgs", "Vulnerabilities": [{"VulnerabilityID": "CVE-1",
        "CVSS": {"nvd": "AKIAIOSFODNN7SECRET99"}}]}]}"#;
    let e = read_report(hostile.as_bytes(), "h.json").expect_err("shape");
    assert!(!e.message.contains("AKIA"), "{}", e.message);
    let odd = r#"{"SchemaVersion": "AKIAIOSFODNN7SECRET99", "Results": []}"#;
    assert!(!read_report(odd.as_bytes(), "o.json")
        .expect_err("v")
        .message
        .contains("AKIA"));
    let kind = r#"{"SchemaVersion": 2, "ArtifactType": "AKIAIOSFODNN7SECRET99 with spaces", "Results": []}"#;
    assert!(!read_report(kind.as_bytes(), "k.json")
        .expect_err("k")
        .message
        .contains("AKIA"));
}

#[test]
fn only_containers_that_keep_running_weigh_the_exploit_hop() {
    let db = database();
    let yaml = r#"
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  initContainers:
  - {name: setup, image: "registry.example.com/shop/web:1.4"}
  containers:
  - {name: app, image: "ghcr.io/acme/api:2.0"}
"#;
    let c = cluster(yaml);
    let inv = Inventory::new(&c);
    let t = inv.templates()[0];
    let a = db.assess(&t, &inv).expect("assessed");
    // The exited init container's log4j does not count; the app's best network flaw does
    // (GHSA critical via the related CVE: 0.85).
    let by_name = |n: &str| {
        a.containers
            .iter()
            .find(|c| c.container == n)
            .expect("container")
    };
    assert!(!by_name("setup").serves && by_name("app").serves);
    assert_eq!(
        a.likelihood(0.6),
        0.95,
        "the app image's busybox flaw is known exploited"
    );
    assert!(!a.evidence().contains("setup"));
}
