//! Cloud scans: discover every EKS, GKE and AKS cluster the configured AWS accounts, GCP projects
//! and Azure subscriptions can see, read each one through its API server with a token from the
//! cloud's identity, and evaluate them as one fleet with the accounts' IAM (`kspm scan --aws
//! --gcp --azure`); or write all of it in the snapshot format (`kspm collect ... --out DIR`) so
//! `kspm scan DIR` gives the same result offline.
//!
//! ```toml
//! [aws]
//! regions = ["us-east-1", "eu-west-1"]     # default: every enabled region
//! session_name = "kspm"
//! [[aws.account]]
//! role_arn = "arn:aws:iam::111122223333:role/KspmReadOnly"
//! external_id = "..."
//! [aws.organization]                       # and every active account of the organization
//! member_role = "KspmReadOnly"
//! external_id = "..."
//! management_role_arn = "arn:aws:iam::999988887777:role/KspmReadOnly"
//!
//! [gcp]
//! projects = ["prod-123"]                  # default: every project the identity sees
//!
//! [azure]
//! subscriptions = ["00000000-..."]         # default: every enabled subscription
//! ```

use kspm_collectors::cloud::aws::{self, AwsAccount, AwsOptions};
use kspm_collectors::cloud::azure::{self, AzureOptions};
use kspm_collectors::cloud::azure_credential::AzureCredential;
use kspm_collectors::cloud::cluster_read;
use kspm_collectors::cloud::gcp::{self, CloudCluster, GcpOptions};
use kspm_collectors::cloud::google_adc::GoogleAdc;
use kspm_collectors::cloud::rest::{Chain, TokenSource};
use kspm_collectors::live::LiveOptions;
use kspm_engine::cloud::documents::objects_from_document;
use kspm_engine::object::Source;
use kspm_engine::{ClusterSnapshot, LoadError, Object};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use tracing::info;

/// `[aws]` of `kspm.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AwsSection {
    /// Accounts to read (none: the ambient credentials' account).
    #[serde(default, rename = "account")]
    pub accounts: Vec<AwsAccountSection>,
    /// Regions (none: every enabled region).
    #[serde(default)]
    pub regions: Vec<String>,
    /// Endpoint for every AWS service (a local emulator); default: AWS.
    pub endpoint_url: Option<String>,
    /// Endpoint for EKS only.
    pub eks_endpoint_url: Option<String>,
    /// AssumeRole session name.
    pub session_name: Option<String>,
    /// Requests in flight at once (default 8).
    pub concurrency: Option<usize>,
    /// Every active account of an AWS organization.
    pub organization: Option<AwsOrganizationSection>,
}

/// `[aws.organization]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AwsOrganizationSection {
    /// Role name assumed in every active account.
    pub member_role: String,
    /// External ID of the member roles' (and the management role's) trust.
    pub external_id: Option<String>,
    /// Role in the management or a delegated administrator account allowed
    /// `organizations:ListAccounts`; default: the ambient credentials call it.
    pub management_role_arn: Option<String>,
}

/// `[[aws.account]]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AwsAccountSection {
    /// Account ID (documentation; the role decides).
    pub id: Option<String>,
    /// Role to assume.
    pub role_arn: Option<String>,
    /// External ID the role's trust requires.
    pub external_id: Option<String>,
}

impl AwsSection {
    /// Collector options.
    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            accounts: self
                .accounts
                .iter()
                .map(|a| AwsAccount {
                    role_arn: a.role_arn.clone(),
                    external_id: a.external_id.clone(),
                })
                .collect(),
            regions: self.regions.clone(),
            endpoint_url: self.endpoint_url.clone(),
            eks_endpoint_url: self.eks_endpoint_url.clone(),
            concurrency: self.concurrency.unwrap_or(8),
            session_name: self.session_name.clone().unwrap_or_else(|| "kspm".into()),
            organization: self.organization.as_ref().map(|o| {
                kspm_collectors::cloud::aws::organization::AwsOrganization {
                    member_role: o.member_role.clone(),
                    external_id: o.external_id.clone(),
                    management_role_arn: o.management_role_arn.clone(),
                }
            }),
        }
    }
}

/// `[gcp]` of `kspm.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GcpSection {
    /// Project IDs (with no folders or organizations either: every project the identity can
    /// see).
    #[serde(default)]
    pub projects: Vec<String>,
    /// Folder IDs: every project below them, at any depth, is scanned too.
    #[serde(default)]
    pub folders: Vec<String>,
    /// Organization IDs: every project below them is scanned too.
    #[serde(default)]
    pub organizations: Vec<String>,
    /// Endpoint overrides (a local fake); default: Google's.
    pub container_endpoint: Option<String>,
    /// Resource Manager endpoint override.
    pub resource_manager_endpoint: Option<String>,
    /// IAM endpoint override.
    pub iam_endpoint: Option<String>,
    /// Metadata server override (tokens when `GOOGLE_OAUTH_ACCESS_TOKEN` is not set).
    pub metadata_endpoint: Option<String>,
}

impl GcpSection {
    /// Collector options; the token is `GOOGLE_OAUTH_ACCESS_TOKEN` if set, else Google's
    /// Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, `gcloud auth
    /// application-default login`, else the metadata server: Workload Identity or the VM's
    /// service account).
    pub fn options(&self) -> GcpOptions {
        let d = GcpOptions::default();
        GcpOptions {
            projects: self.projects.clone(),
            folders: self.folders.clone(),
            organizations: self.organizations.clone(),
            token: match std::env::var("GOOGLE_OAUTH_ACCESS_TOKEN") {
                Ok(t) if !t.is_empty() => TokenSource::Env {
                    var: "GOOGLE_OAUTH_ACCESS_TOKEN".into(),
                    token: t,
                },
                _ => TokenSource::Google(GoogleAdc::from_environment(
                    self.metadata_endpoint.as_deref(),
                )),
            },
            container_endpoint: self
                .container_endpoint
                .clone()
                .unwrap_or(d.container_endpoint),
            resource_manager_endpoint: self
                .resource_manager_endpoint
                .clone()
                .unwrap_or(d.resource_manager_endpoint),
            iam_endpoint: self.iam_endpoint.clone().unwrap_or(d.iam_endpoint),
        }
    }
}

/// `[azure]` of `kspm.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AzureSection {
    /// Subscription IDs (none: every enabled subscription).
    #[serde(default)]
    pub subscriptions: Vec<String>,
    /// ARM endpoint override (a local fake); default `https://management.azure.com`.
    pub endpoint: Option<String>,
    /// IMDS override (managed identity tokens).
    pub imds_endpoint: Option<String>,
}

impl AzureSection {
    /// Collector options. Tokens: `AZURE_ACCESS_TOKEN` (ARM) and `AZURE_AKS_ACCESS_TOKEN` (the
    /// AKS API servers) if set; else, as `DefaultAzureCredential` chooses, through Microsoft's
    /// `azure_identity`: a service principal's secret (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// `AZURE_CLIENT_SECRET`) or certificate (`AZURE_CLIENT_CERTIFICATE_PATH`); workload identity (`AZURE_FEDERATED_TOKEN_FILE` with the same
    /// IDs); else the managed identity through IMDS, then the Azure CLI's login.
    pub fn options(&self) -> AzureOptions {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let imds = self
            .imds_endpoint
            .clone()
            .unwrap_or_else(|| "http://169.254.169.254".into());
        // The ARM and AKS chains keep to one source: the identity's two tokens come from it.
        let chosen: std::sync::Arc<std::sync::Mutex<Option<usize>>> = Default::default();
        let authority = env("AZURE_AUTHORITY_HOST")
            .unwrap_or_else(|| "https://login.microsoftonline.com".into());
        let source = |scope: &str, resource: &str| match (
            env("AZURE_TENANT_ID"),
            env("AZURE_CLIENT_ID"),
            env("AZURE_CLIENT_SECRET"),
            env("AZURE_CLIENT_CERTIFICATE_PATH"),
            env("AZURE_FEDERATED_TOKEN_FILE"),
        ) {
            (Some(tenant), Some(client), Some(secret), _, _) => TokenSource::Azure(
                AzureCredential::client_secret(&tenant, &client, secret, scope),
            ),
            (Some(tenant), Some(client), None, Some(path), _) => TokenSource::Azure(
                AzureCredential::client_certificate(&tenant, &client, &path, &authority, scope),
            ),
            (Some(_), Some(client), None, None, Some(_)) => {
                TokenSource::Azure(AzureCredential::workload_identity(&client, scope))
            }
            (_, client, _, _, _) => TokenSource::Chain(Chain::new(
                vec![
                    // A platform identity endpoint (App Service, Container Apps, Arc, …)
                    // through the library; else the VM's or node's IMDS. A user-assigned
                    // identity, as DefaultAzureCredential selects it: AZURE_CLIENT_ID.
                    match env("IDENTITY_ENDPOINT").or_else(|| env("MSI_ENDPOINT")) {
                        Some(endpoint) => TokenSource::Azure(AzureCredential::managed_identity(
                            &endpoint,
                            client.as_deref(),
                            scope,
                        )),
                        None => TokenSource::AzureManagedIdentity {
                            base: imds.clone(),
                            resource: resource.to_string(),
                            client_id: client,
                        },
                    },
                    TokenSource::Azure(AzureCredential::cli(scope)),
                ],
                std::sync::Arc::clone(&chosen),
            )),
        };
        let arm = match env("AZURE_ACCESS_TOKEN") {
            Some(t) => TokenSource::Env {
                var: "AZURE_ACCESS_TOKEN".into(),
                token: t,
            },
            None => source(
                "https://management.azure.com/.default",
                "https://management.azure.com/",
            ),
        };
        let aks = match env("AZURE_AKS_ACCESS_TOKEN") {
            Some(t) => TokenSource::Env {
                var: "AZURE_AKS_ACCESS_TOKEN".into(),
                token: t,
            },
            None if env("AZURE_ACCESS_TOKEN").is_some() => {
                // A static ARM token without an AKS one: the API servers cannot be read.
                return AzureOptions {
                    subscriptions: self.subscriptions.clone(),
                    token: arm,
                    aks_token: None,
                    endpoint: self
                        .endpoint
                        .clone()
                        .unwrap_or_else(|| "https://management.azure.com".into()),
                };
            }
            None => source(
                azure::AKS_SERVER_SCOPE,
                "6dae42f8-4368-4678-94ff-3960e28e3630",
            ),
        };
        AzureOptions {
            subscriptions: self.subscriptions.clone(),
            token: arm,
            aks_token: Some(aks),
            endpoint: self
                .endpoint
                .clone()
                .unwrap_or_else(|| "https://management.azure.com".into()),
        }
    }
}

/// The cloud sections of a config file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CloudSections {
    /// `[aws]`.
    #[serde(default)]
    pub aws: Option<AwsSection>,
    /// `[gcp]`.
    #[serde(default)]
    pub gcp: Option<GcpSection>,
    /// `[azure]`.
    #[serde(default)]
    pub azure: Option<AzureSection>,
}

/// Reads the cloud sections of a config file (other sections are the service's).
pub fn load_sections(path: &Path) -> Result<CloudSections, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Which clouds to discover.
#[derive(Debug, Clone, Default)]
pub struct CloudTargets {
    /// AWS.
    pub aws: Option<AwsOptions>,
    /// GCP.
    pub gcp: Option<GcpOptions>,
    /// Azure.
    pub azure: Option<AzureOptions>,
}

impl CloudTargets {
    /// Whether any cloud is asked for.
    pub fn any(&self) -> bool {
        self.aws.is_some() || self.gcp.is_some() || self.azure.is_some()
    }
}

/// One discovered cluster, read and joined.
pub struct CloudClusterRead {
    /// The snapshot (Kubernetes objects and cloud documents).
    pub snapshot: ClusterSnapshot,
    /// The raw collection, for writing snapshots.
    pub raw: Option<kspm_collectors::live::LiveCollection>,
    /// Documents for its `cloud/` directory.
    pub documents: Vec<(String, serde_json::Value)>,
}

/// The discovered clusters read and joined; fleet documents and errors alongside.
pub struct CloudFleet {
    /// Every discovered cluster.
    pub clusters: Vec<CloudClusterRead>,
    /// The accounts', projects' and subscriptions' documents as synthetic objects.
    pub fleet_cloud: Vec<Object>,
    /// The same documents: (path under the fleet's `cloud/`, JSON).
    pub documents: Vec<(String, serde_json::Value)>,
    /// What could not be read (accounts, projects, subscriptions, regions).
    pub errors: Vec<LoadError>,
    /// Every request the GCP and Azure clients made (`METHOD /path`).
    pub requests: Vec<String>,
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Unique fleet names: the cluster's name, qualified by account and region when it repeats.
fn unique_names(clusters: &[(String, String, String)]) -> Vec<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, _, _) in clusters {
        *count.entry(name.as_str()).or_default() += 1;
    }
    clusters
        .iter()
        .map(|(name, account, region)| {
            if count[name.as_str()] > 1 {
                format!("{name}-{account}-{region}")
            } else {
                name.clone()
            }
        })
        .collect()
}

enum Discovered {
    Eks(kspm_collectors::cloud::aws::EksCluster),
    Other(CloudCluster),
}

fn gap_error(g: &kspm_collectors::cloud::aws::Gap, cloud: &str) -> LoadError {
    LoadError {
        file: format!("{cloud}://{}", g.scope),
        line: None,
        column: None,
        message: g.message.clone(),
    }
}

/// Discovers and reads every cluster of every asked-for cloud.
pub async fn read_fleet(targets: &CloudTargets, live: &LiveOptions) -> CloudFleet {
    let mut discovered: Vec<Discovered> = Vec::new();
    let mut documents: Vec<(String, serde_json::Value)> = Vec::new();
    let mut errors = Vec::new();
    let mut requests = Vec::new();
    if let Some(opts) = &targets.aws {
        let c = aws::discover(opts).await;
        errors.extend(c.gaps.iter().map(|g| gap_error(g, "aws")));
        for (acct, pages) in c.accounts {
            for (i, page) in pages.into_iter().enumerate() {
                documents.push((
                    format!("aws/{acct}/account-authorization-details-{i}.json"),
                    page,
                ));
            }
        }
        discovered.extend(c.clusters.into_iter().map(Discovered::Eks));
    }
    for (cloud, collection) in [
        (
            "gcp",
            match &targets.gcp {
                Some(o) => Some(gcp::discover(o).await),
                None => None,
            },
        ),
        (
            "azure",
            match &targets.azure {
                Some(o) => Some(azure::discover(o).await),
                None => None,
            },
        ),
    ] {
        let Some(c) = collection else { continue };
        errors.extend(c.gaps.iter().map(|g| gap_error(g, cloud)));
        documents.extend(c.documents);
        requests.extend(c.requests);
        discovered.extend(c.clusters.into_iter().map(Discovered::Other));
    }
    let keys: Vec<(String, String, String)> = discovered
        .iter()
        .map(|d| match d {
            Discovered::Eks(c) => (c.name.clone(), c.account.clone(), c.region.clone()),
            Discovered::Other(c) => (c.name.clone(), c.account.clone(), c.region.clone()),
        })
        .collect();
    let names = unique_names(&keys);
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (d, name)) in discovered.into_iter().zip(names).enumerate() {
        let live = live.clone();
        let slots = slots.clone();
        tasks.spawn(async move {
            let _slot = slots.acquire().await;
            let (snap, raw, docs) = match &d {
                Discovered::Eks(c) => {
                    let (s, r) = cluster_read::collect(c, &name, &live, now_unix()).await;
                    (s, r, c.documents.clone())
                }
                Discovered::Other(c) => {
                    let (s, r) = cluster_read::collect_cloud_cluster(c, &name, &live).await;
                    (s, r, c.documents.clone())
                }
            };
            (
                i,
                CloudClusterRead {
                    snapshot: snap,
                    raw,
                    documents: docs,
                },
            )
        });
    }
    let mut clusters = Vec::new();
    let total = tasks.len();
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    while let Some(r) = tasks.join_next().await {
        if progress {
            eprint!("\rkspm: read {}/{total} clusters", clusters.len() + 1);
            if clusters.len() + 1 == total {
                eprintln!();
            }
        }
        match r {
            Ok(x) => clusters.push(x),
            Err(e) => errors.push(LoadError {
                file: "cloud".into(),
                line: None,
                column: None,
                message: format!("a cluster read failed: {e}"),
            }),
        }
    }
    clusters.sort_by_key(|x| x.0);
    let clusters: Vec<CloudClusterRead> = clusters.into_iter().map(|x| x.1).collect();
    let mut fleet_cloud = Vec::new();
    for (i, (path, doc)) in documents.iter().enumerate() {
        let source = Source {
            file: format!("cloud/{path}"),
            line: None,
        };
        match objects_from_document(doc.clone(), &source, i) {
            Ok(o) => fleet_cloud.extend(o),
            // An account without roles or users, an empty list: nothing to join.
            Err(m) if m.contains("name no account") => {}
            Err(m) => errors.push(LoadError {
                file: source.file,
                line: None,
                column: None,
                message: m,
            }),
        }
    }
    info!(
        clusters = clusters.len(),
        errors = errors.len(),
        "cloud fleet read"
    );
    CloudFleet {
        clusters,
        fleet_cloud,
        documents,
        errors,
        requests,
    }
}

/// One line on what discovery reached: clusters read in full, clusters whose API server was not
/// read, and accounts/projects/subscriptions/regions that failed.
/// (`discovered` clusters, `unread` those whose API server was not read.)
pub fn reach_summary(discovered: usize, unread: &[String], fleet_errors: &[LoadError]) -> String {
    let mut out = format!(
        "discovered {discovered} cluster(s): {} read in full",
        discovered - unread.len()
    );
    if !unread.is_empty() {
        out.push_str(&format!(
            "; cloud side only (API server not read): {}",
            unread.join(", ")
        ));
    }
    if !fleet_errors.is_empty() {
        let scopes: std::collections::BTreeSet<&str> =
            fleet_errors.iter().map(|e| e.file.as_str()).collect();
        out.push_str(&format!(
            "; not reached: {} (details in the report's errors)",
            scopes.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    out
}

fn write_json(path: &Path, v: &serde_json::Value) -> std::io::Result<()> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::write(
        path,
        serde_json::to_vec_pretty(v).map_err(std::io::Error::other)?,
    )
}

/// `kspm collect --aws/--gcp/--azure --out DIR`: a fleet directory with one cluster directory
/// per discovered cluster (Kubernetes objects, `cloud/` documents) and the accounts', projects'
/// and subscriptions' documents under `cloud/`. With `redact`, the Kubernetes objects go through
/// `kspm_engine::redact` (cloud documents hold policies and identities, not values). Returns
/// (clusters written, errors).
pub fn collect_cloud(
    targets: &CloudTargets,
    live: &LiveOptions,
    out: &Path,
    redact: bool,
) -> Result<(usize, Vec<LoadError>), String> {
    let fleet = crate::runtime::start()?.block_on(read_fleet(targets, live));
    let io = |e: std::io::Error| format!("{}: {e}", out.display());
    for c in &fleet.clusters {
        let snap = &c.snapshot;
        let dir = out.join(&snap.info.name);
        match &c.raw {
            Some(col) => kspm_collectors::live::write_snapshot(col, &dir, redact).map_err(io)?,
            None => std::fs::create_dir_all(&dir).map_err(io)?,
        }
        let mut meta = format!(
            "apiVersion: kspm.io/v1\nkind: ClusterInfo\nname: {:?}\nprovider: {}\n",
            snap.info.name,
            snap.info.provider.as_str()
        );
        for (k, v) in [
            ("region", &snap.info.region),
            ("account", &snap.info.account),
            ("kubernetesVersion", &snap.info.kubernetes_version),
        ] {
            if let Some(v) = v {
                meta.push_str(&format!("{k}: {v:?}\n"));
            }
        }
        std::fs::write(dir.join("kspm-cluster.yaml"), meta).map_err(io)?;
        for (path, doc) in &c.documents {
            write_json(&dir.join("cloud").join(path), doc).map_err(io)?;
        }
    }
    for (path, doc) in &fleet.documents {
        write_json(&out.join("cloud").join(path), doc).map_err(io)?;
    }
    let mut errors = fleet.errors;
    for c in &fleet.clusters {
        errors.extend(c.snapshot.errors.iter().cloned());
    }
    Ok((fleet.clusters.len(), errors))
}
