//! `kspm.toml`: the service's listeners, database, tenants and their scan targets.
//!
//! ```toml
//! [service]
//! listen = "127.0.0.1:50051"          # gRPC
//! metrics_listen = "127.0.0.1:9464"   # Prometheus /metrics (optional)
//! web_listen = "127.0.0.1:8080"       # the live web view (optional)
//! database_url = "sqlite://kspm.db"   # or postgres://user@host/db; KSPM_DATABASE_URL overrides
//! retention = 30                      # scans kept per target
//! lease_seconds = 60
//! # tls_cert = "server.pem"; tls_key = "server.key"; client_ca = "clients.pem"
//! # admission_listen = "0.0.0.0:8443"  # the admission webhook (HTTPS; needs tls_cert)
//! # own_namespace = "kspm"              # never refused by the webhook
//!
//! [[tenant]]
//! name = "acme"
//! token_sha256 = ["<sha256 hex of the tenant's bearer token>"]
//!
//! [[tenant.target]]
//! name = "demo"
//! paths = ["examples/demo-fleet"]     # snapshot directories or files
//! interval = "15m"
//!
//! [[tenant.target]]
//! name = "prod"
//! kubeconfig = "/etc/kspm/kubeconfig" # optional; default: the usual kubeconfig
//! context = "prod-eu"
//! # [tenant.target.admission]         # answer this cluster's admission reviews
//! # mode = "warn"                     # warn | audit | deny
//! # severity = "high"                 # reported (or refused) at or above
//! # exclude_namespaces = ["dev"]
//! # key_sha256 = "<sha256 hex of the key in the webhook's path>"
//!
//! [[tenant.target]]
//! name = "aws-org"                    # every EKS cluster these accounts can see
//! interval = "1h"
//! [tenant.target.aws]
//! regions = ["us-east-1", "eu-west-1"]
//! [[tenant.target.aws.account]]
//! role_arn = "arn:aws:iam::111122223333:role/KspmReadOnly"
//! external_id = "..."
//! ```
//!
//! Tokens are stored only as SHA-256 hashes (`printf %s "$TOKEN" | sha256sum`).

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listeners, database, scheduling.
    #[serde(default)]
    pub service: ServiceConfig,
    /// Tenants.
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<Tenant>,
    /// `[aws]` for `kspm scan --aws --config` (the service reads each target's own).
    #[serde(default)]
    pub aws: Option<crate::cloud::AwsSection>,
    /// `[gcp]`, likewise.
    #[serde(default)]
    pub gcp: Option<crate::cloud::GcpSection>,
    /// `[azure]`, likewise.
    #[serde(default)]
    pub azure: Option<crate::cloud::AzureSection>,
}

/// `[service]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// gRPC listen address.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Prometheus listen address (no metrics endpoint when absent).
    pub metrics_listen: Option<String>,
    /// Web view listen address (no web view when absent). Plain HTTP: loopback only unless
    /// `web_plaintext` says otherwise.
    pub web_listen: Option<String>,
    /// Allow a non-loopback `web_listen` (for a TLS-terminating proxy on another host).
    #[serde(default)]
    pub web_plaintext: bool,
    /// Allow plaintext gRPC on a non-loopback `listen` (behind a TLS-terminating proxy or a
    /// service mesh); otherwise a non-loopback `listen` needs `tls_cert` and `tls_key`.
    #[serde(default)]
    pub grpc_plaintext: bool,
    /// `sqlite://FILE` (default `sqlite://kspm.db`) or `postgres://...`.
    #[serde(default = "default_db")]
    pub database_url: String,
    /// Scans kept per target (older ones are pruned).
    #[serde(default = "default_retention")]
    pub retention: u32,
    /// How long a replica holds a scan job without renewing its lease.
    #[serde(default = "default_lease")]
    pub lease_seconds: u64,
    /// Name of this replica in leases and scan records (default: host name and process ID).
    pub replica: Option<String>,
    /// PEM certificate chain for TLS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    pub tls_key: Option<PathBuf>,
    /// PEM CA bundle: when set, clients must present a certificate it signed.
    pub client_ca: Option<PathBuf>,
    /// Admission webhook listen address (HTTPS with `tls_cert` and `tls_key`; no webhook when
    /// absent): the API servers of targets with `[tenant.target.admission]` call it.
    pub admission_listen: Option<String>,
    /// The namespace kspm runs in: the webhook never refuses a change there (default `kspm`).
    #[serde(default = "default_own_namespace")]
    pub own_namespace: String,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            listen: default_listen(),
            metrics_listen: None,
            web_listen: None,
            web_plaintext: false,
            grpc_plaintext: false,
            database_url: default_db(),
            retention: default_retention(),
            lease_seconds: default_lease(),
            replica: None,
            tls_cert: None,
            tls_key: None,
            client_ca: None,
            admission_listen: None,
            own_namespace: default_own_namespace(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:50051".into()
}
fn default_db() -> String {
    "sqlite://kspm.db".into()
}
fn default_own_namespace() -> String {
    "kspm".into()
}
fn default_retention() -> u32 {
    30
}
fn default_lease() -> u64 {
    60
}

/// `[[tenant]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Tenant name.
    pub name: String,
    /// SHA-256 (hex) of each bearer token that acts as this tenant.
    #[serde(default)]
    pub token_sha256: Vec<String>,
    /// What to scan.
    #[serde(default, rename = "target")]
    pub targets: Vec<Target>,
}

/// `[[tenant.target]]`: one scan job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Target name (unique within the tenant).
    pub name: String,
    /// Snapshot directories or files (offline input).
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// kubeconfig file for a live cluster.
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context for a live cluster.
    pub context: Option<String>,
    /// Scan interval such as `30s`, `15m`, `6h` (default `15m`). For a live cluster this is
    /// how often it is read in full (kubelet settings included); in between, watches
    /// re-evaluate it within seconds of each change.
    #[serde(default = "default_interval")]
    pub interval: String,
    /// Keep watches on a live cluster between full reads (default true).
    #[serde(default = "yes")]
    pub watch: bool,
    /// Read kubelet settings through `nodes/proxy` (default true). Set false where the collector
    /// identity does not hold `get` on `nodes/proxy` (`kspm collector-rbac --no-kubelet-config`):
    /// the kubelet checks then report "not assessable".
    #[serde(default = "yes")]
    pub kubelet_config: bool,
    /// Longest a scan of this target may run, such as `90s` or `10m` (default `10m`): a scan
    /// past it fails and frees its slot.
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// Discover EKS clusters with AWS credentials (`[tenant.target.aws]`, as `[aws]` of
    /// `kspm scan --aws --config`): every scan reads every cluster the accounts can see.
    pub aws: Option<crate::cloud::AwsSection>,
    /// Discover GKE clusters (`[tenant.target.gcp]`).
    pub gcp: Option<crate::cloud::GcpSection>,
    /// Discover AKS clusters (`[tenant.target.azure]`).
    pub azure: Option<crate::cloud::AzureSection>,
    /// Image vulnerability reports (files or directories of Trivy, Grype or CycloneDX JSON), as
    /// `kspm scan --vulns`: read again at every scan, so a nightly image scan is picked up.
    #[serde(default)]
    pub vulns: Vec<PathBuf>,
    /// CISA's KEV catalogue, as `kspm scan --kev`.
    pub kev: Option<PathBuf>,
    /// FIRST's EPSS scores, as `kspm scan --epss`.
    pub epss: Option<PathBuf>,
    /// Answer admission reviews for this live cluster (`[tenant.target.admission]`): its own
    /// watches keep the state the reviews are judged against.
    pub admission: Option<crate::webhook::Policy>,
}

fn yes() -> bool {
    true
}

fn default_interval() -> String {
    "15m".into()
}

fn default_timeout() -> String {
    "10m".into()
}

impl Target {
    /// The clouds this target discovers, if it is a cloud target.
    pub fn cloud_targets(&self) -> Option<crate::cloud::CloudTargets> {
        let t = crate::cloud::CloudTargets {
            aws: self.aws.as_ref().map(|a| a.options()),
            gcp: self.gcp.as_ref().map(|g| g.options()),
            azure: self.azure.as_ref().map(|a| a.options()),
        };
        t.any().then_some(t)
    }

    /// Whether this target is a live cluster (otherwise snapshot paths).
    pub fn is_live(&self) -> bool {
        self.paths.is_empty() && self.aws.is_none() && self.gcp.is_none() && self.azure.is_none()
    }

    /// The interval as a duration.
    pub fn interval(&self) -> Duration {
        parse_duration(&self.interval).unwrap_or(Duration::from_secs(900))
    }

    /// The scan deadline.
    pub fn timeout(&self) -> Duration {
        parse_duration(&self.timeout).unwrap_or(Duration::from_secs(600))
    }
}

/// Reads the TLS files the configuration names and checks that each holds what it must — the
/// certificate chain at least one PEM certificate, the key one PEM private key, the client CA at
/// least one certificate — so a bad file is an error at start-up that names it, not a
/// "transport error" on the first connection.
pub fn check_tls_files(svc: &ServiceConfig) -> Result<(), String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let certs = |field: &str, p: &Path| -> Result<(), String> {
        let bytes = read(p)?;
        let parsed: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&bytes).collect();
        match parsed {
            Ok(c) if !c.is_empty() => Ok(()),
            Ok(_) => Err(format!(
                "service.{field} {}: no PEM certificate in it",
                p.display()
            )),
            Err(e) => Err(format!(
                "service.{field} {}: not a PEM certificate ({e})",
                p.display()
            )),
        }
    };
    if let Some(cert) = &svc.tls_cert {
        certs("tls_cert", cert)?;
    }
    if let Some(key) = &svc.tls_key {
        let bytes = read(key)?;
        PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
            format!(
                "service.tls_key {}: no PEM private key in it ({e})",
                key.display()
            )
        })?;
    }
    if let Some(ca) = &svc.client_ca {
        certs("client_ca", ca)?;
    }
    Ok(())
}

/// Whether a listen address (`host:port`, `[v6]:port`) binds only the loopback interface.
fn is_loopback(addr: &str) -> bool {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Parses `500ms`, `90s`, `15m`, `2h`, `1d` or a plain number of seconds (positive).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().ok()?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        "h" => Duration::from_secs(n.checked_mul(3600)?),
        "d" => Duration::from_secs(n.checked_mul(86400)?),
        _ => return None,
    };
    (!d.is_zero()).then_some(d)
}

/// SHA-256 hex of a token, as `token_sha256` stores it.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Config {
    /// Reads and validates a config file; errors name the file and line.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config = Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        // A database URL may hold a password: deployments pass it from a Secret instead.
        if let Ok(url) = std::env::var("KSPM_DATABASE_URL") {
            if !url.is_empty() {
                config.service.database_url = url;
            }
        }
        Ok(config)
    }

    /// Parses and validates config text. Relative paths stay relative to the working directory.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!("line {}: ", text[..s.start].lines().count().max(1)))
                .unwrap_or_default();
            format!("{line}{}", e.message())
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the configuration as a whole; run again after command-line overrides.
    pub fn validate(&self) -> Result<(), String> {
        let mut tenants = std::collections::HashSet::new();
        let mut hashes = std::collections::HashSet::new();
        for t in &self.tenants {
            if t.name.is_empty() || !tenants.insert(&t.name) {
                return Err(format!("tenant name `{}` is empty or repeated", t.name));
            }
            for h in &t.token_sha256 {
                if h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!(
                        "tenant `{}`: token_sha256 entries are 64 hex digits (the SHA-256 of the token, never the token)",
                        t.name
                    ));
                }
                if !hashes.insert(h.to_ascii_lowercase()) {
                    return Err(format!(
                        "tenant `{}`: a token hash is used by two tenants",
                        t.name
                    ));
                }
            }
            let mut names = std::collections::HashSet::new();
            for target in &t.targets {
                if target.name.is_empty() || !names.insert(&target.name) {
                    return Err(format!(
                        "tenant `{}`: target name `{}` is empty or repeated",
                        t.name, target.name
                    ));
                }
                if !target.paths.is_empty()
                    && (target.context.is_some() || target.kubeconfig.is_some())
                {
                    return Err(format!(
                        "tenant `{}`, target `{}`: give either paths or a kubeconfig context, not both",
                        t.name, target.name
                    ));
                }
                if parse_duration(&target.interval).is_none() {
                    return Err(format!(
                        "tenant `{}`, target `{}`: interval `{}` is not a duration like 30s, 15m, 6h",
                        t.name, target.name, target.interval
                    ));
                }
                if let Some(a) = &target.admission {
                    if !target.is_live() {
                        return Err(format!(
                            "tenant `{}`, target `{}`: admission needs a live cluster (kubeconfig or context), not paths or cloud discovery",
                            t.name, target.name
                        ));
                    }
                    let k = &a.key_sha256;
                    if k.len() != 64 || !k.chars().all(|c| c.is_ascii_hexdigit()) {
                        return Err(format!(
                            "tenant `{}`, target `{}`: admission.key_sha256 is 64 hex digits (the SHA-256 of the webhook path's key, never the key)",
                            t.name, target.name
                        ));
                    }
                    if self.service.admission_listen.is_none() {
                        return Err(format!(
                            "tenant `{}`, target `{}`: admission needs service.admission_listen",
                            t.name, target.name
                        ));
                    }
                }
                if parse_duration(&target.timeout).is_none() {
                    return Err(format!(
                        "tenant `{}`, target `{}`: timeout `{}` is not a positive duration like 90s, 10m",
                        t.name, target.name, target.timeout
                    ));
                }
            }
        }
        if self.service.retention < 2 {
            return Err(
                "service: retention must be at least 2 (drift compares a scan with the one before)"
                    .into(),
            );
        }
        if !is_loopback(&self.service.listen)
            && self.service.tls_cert.is_none()
            && !self.service.grpc_plaintext
        {
            return Err(format!(
                "service: listen {} is not a loopback address and gRPC has no TLS (tokens would cross the network in clear): set tls_cert and tls_key, or grpc_plaintext = true behind a TLS-terminating proxy or service mesh",
                self.service.listen
            ));
        }
        if let Some(addr) = &self.service.web_listen {
            if !is_loopback(addr) && !self.service.web_plaintext {
                return Err(format!(
                    "service: web_listen {addr} is not a loopback address and the web view speaks plain HTTP (tokens would cross the network in clear): bind it to 127.0.0.1 behind a TLS-terminating proxy, or set web_plaintext = true"
                ));
            }
        }
        if self.service.tls_cert.is_some() != self.service.tls_key.is_some() {
            return Err("service: tls_cert and tls_key go together".into());
        }
        if self.service.admission_listen.is_some() && self.service.tls_cert.is_none() {
            return Err("service: admission_listen needs tls_cert and tls_key (API servers call webhooks over HTTPS only)".into());
        }
        if self.service.client_ca.is_some() && self.service.tls_cert.is_none() {
            return Err("service: client_ca needs tls_cert and tls_key".into());
        }
        Ok(())
    }

    /// The tenant a bearer token belongs to.
    pub fn tenant_for_token(&self, token: &str) -> Option<&Tenant> {
        let h = hash_token(token);
        self.tenants
            .iter()
            .find(|t| t.token_sha256.iter().any(|x| x.eq_ignore_ascii_case(&h)))
    }

    /// A tenant by name.
    pub fn tenant(&self, name: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("0ms"), None);
        assert_eq!(parse_duration("5 weeks"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn errors_name_the_line_and_reject_plain_tokens() {
        let e = Config::parse("[service]\nlisten = 5\n").expect_err("must be refused");
        assert!(e.starts_with("line 2:"), "{e}");
        let e = Config::parse("[[tenant]]\nname = \"a\"\ntoken_sha256 = [\"secret-token\"]\n")
            .expect_err("must be refused");
        assert!(e.contains("64 hex digits"), "{e}");
        let e = Config::parse("[service]\nweb_listen = \"0.0.0.0:8080\"\n")
            .expect_err("must be refused");
        assert!(e.contains("plain HTTP"), "{e}");
        assert!(Config::parse("[service]\nweb_listen = \"127.0.0.1:8080\"\n").is_ok());
        assert!(Config::parse("[service]\nweb_listen = \"[::1]:8080\"\n").is_ok());
        assert!(Config::parse("[service]\nretention = 1\n").is_err());
        // Plaintext gRPC off the loopback needs TLS or an explicit opt-in.
        let e =
            Config::parse("[service]\nlisten = \"0.0.0.0:50051\"\n").expect_err("must be refused");
        assert!(e.contains("no TLS"), "{e}");
        assert!(
            Config::parse("[service]\nlisten = \"0.0.0.0:50051\"\ngrpc_plaintext = true\n").is_ok()
        );
        assert!(Config::parse(
            "[service]\nlisten = \"0.0.0.0:50051\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n"
        )
        .is_ok());
        assert!(Config::parse("[service]\nlisten = \"[::1]:50051\"\n").is_ok());
        let e = Config::parse("[[tenant]]\nname = \"a\"\n[[tenant.target]]\nname = \"x\"\npaths = [\"d\"]\ncontext = \"c\"\n").expect_err("must be refused");
        assert!(e.contains("either paths or"), "{e}");
    }

    #[test]
    fn tls_files_are_checked_at_start_and_named() {
        let dir = std::env::temp_dir().join(format!("kspm-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").expect("write");
        let svc = ServiceConfig {
            tls_cert: Some(junk.clone()),
            tls_key: Some(junk.clone()),
            ..Default::default()
        };
        let e = check_tls_files(&svc).expect_err("junk is refused");
        assert!(e.contains("tls_cert") && e.contains("junk.pem"), "{e}");
        let missing = ServiceConfig {
            tls_cert: Some(dir.join("absent.pem")),
            tls_key: Some(junk),
            ..Default::default()
        };
        let e = check_tls_files(&missing).expect_err("a missing file is refused");
        assert!(e.contains("absent.pem"), "{e}");
        assert!(check_tls_files(&ServiceConfig::default()).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_aws_organization_target_reads_its_member_role() {
        let text = "[[tenant]]\nname = \"a\"\n[[tenant.target]]\nname = \"org\"\n[tenant.target.aws]\n[tenant.target.aws.organization]\nmember_role = \"KspmReadOnly\"\nexternal_id = \"x-id\"\nmanagement_role_arn = \"arn:aws:iam::999988887777:role/KspmReadOnly\"\n";
        let c = Config::parse(text).expect("valid");
        let aws = c.tenants[0].targets[0].aws.as_ref().expect("aws").options();
        let org = aws.organization.expect("organization");
        assert_eq!(org.member_role, "KspmReadOnly");
        assert_eq!(org.external_id.as_deref(), Some("x-id"));
        assert_eq!(
            org.management_role_arn.as_deref(),
            Some("arn:aws:iam::999988887777:role/KspmReadOnly")
        );
        assert!(aws.accounts.is_empty());
        // Without a member role, or with a key kspm does not know, the file is refused.
        let missing = Config::parse(&text.replace("member_role = \"KspmReadOnly\"\n", ""))
            .expect_err("no member role");
        assert!(missing.contains("member_role"), "{missing}");
        let unknown =
            Config::parse(&text.replace("external_id", "externalid")).expect_err("unknown key");
        assert!(unknown.contains("line"), "{unknown}");
    }

    #[test]
    fn tokens_map_to_tenants_by_hash() {
        let text = format!(
            "[[tenant]]\nname = \"a\"\ntoken_sha256 = [\"{}\"]\n[[tenant]]\nname = \"b\"\ntoken_sha256 = [\"{}\"]\n",
            hash_token("token-a"),
            hash_token("token-b")
        );
        let c = Config::parse(&text).expect("valid");
        assert_eq!(
            c.tenant_for_token("token-a").map(|t| t.name.as_str()),
            Some("a")
        );
        assert_eq!(
            c.tenant_for_token("token-b").map(|t| t.name.as_str()),
            Some("b")
        );
        assert!(c.tenant_for_token("token-c").is_none());
    }
}
