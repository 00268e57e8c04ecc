//! Cloud scans: discover every EKS cluster the configured AWS accounts can see, read each one
//! through its API server with a token minted from IAM, and evaluate them as one fleet with the
//! accounts' IAM (`kspm scan --aws`); or write all of it in the snapshot format
//! (`kspm collect --aws --out DIR`) so `kspm scan DIR` gives the same result offline.
//!
//! ```toml
//! [aws]
//! regions = ["us-east-1", "eu-west-1"]     # default: every enabled region
//! session_name = "kspm"
//! [[aws.account]]
//! role_arn = "arn:aws:iam::111122223333:role/KspmReadOnly"
//! external_id = "..."
//! ```

use kspm_collectors::cloud::aws::{self, AwsAccount, AwsCollection, AwsOptions};
use kspm_collectors::cloud::eks_cluster;
use kspm_collectors::live::LiveOptions;
use kspm_engine::cloud::documents::objects_from_document;
use kspm_engine::object::Source;
use kspm_engine::report::parallel_map;
use kspm_engine::{
    assemble_fleet, evaluate_cluster_result, ClusterSnapshot, LoadError, Object, ScanOptions,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
        }
    }
}

#[derive(Deserialize)]
struct FileWithAws {
    #[serde(default)]
    aws: Option<AwsSection>,
}

/// Reads the `[aws]` section of a TOML file (other sections are the service's and ignored here).
pub fn load_aws_section(path: &Path) -> Result<AwsSection, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: FileWithAws =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(file.aws.unwrap_or_default())
}

/// The discovered clusters read and joined; fleet documents and errors alongside.
pub struct CloudFleet {
    /// One snapshot per discovered cluster (Kubernetes objects and cloud documents).
    pub clusters: Vec<ClusterSnapshot>,
    /// Raw collections, for writing snapshots.
    pub raw: Vec<Option<kspm_collectors::live::LiveCollection>>,
    /// The accounts' IAM as synthetic objects.
    pub fleet_cloud: Vec<Object>,
    /// Raw account documents: (account, pages).
    pub accounts: Vec<(String, Vec<serde_json::Value>)>,
    /// What could not be read (accounts, regions).
    pub errors: Vec<LoadError>,
    /// Discovered clusters (for writing `cloud/`).
    pub discovered: AwsCollection,
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Unique fleet names: the EKS name, qualified by account and region when it repeats.
fn names(c: &AwsCollection) -> Vec<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for x in &c.clusters {
        *count.entry(x.name.as_str()).or_default() += 1;
    }
    c.clusters
        .iter()
        .map(|x| {
            if count[x.name.as_str()] > 1 {
                format!("{}-{}-{}", x.name, x.account, x.region)
            } else {
                x.name.clone()
            }
        })
        .collect()
}

/// Discovers and reads every cluster.
pub async fn read_fleet(aws: &AwsOptions, live: &LiveOptions) -> CloudFleet {
    let discovered = aws::discover(aws).await;
    let names = names(&discovered);
    let mut clusters = Vec::new();
    let mut raw = Vec::new();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (c, name)) in discovered.clusters.iter().cloned().zip(names).enumerate() {
        let live = live.clone();
        let slots = slots.clone();
        tasks.spawn(async move {
            let _slot = slots.acquire().await;
            let (snap, col) = eks_cluster::collect(&c, &name, &live, now_unix()).await;
            (i, snap, col)
        });
    }
    let mut done = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Ok(x) = r {
            done.push(x);
        }
    }
    done.sort_by_key(|x| x.0);
    for (_, snap, col) in done {
        clusters.push(snap);
        raw.push(col);
    }
    let mut fleet_cloud = Vec::new();
    let mut errors: Vec<LoadError> = discovered
        .gaps
        .iter()
        .map(|g| LoadError {
            file: format!("aws://{}", g.scope),
            line: None,
            column: None,
            message: g.message.clone(),
        })
        .collect();
    for (acct, pages) in &discovered.accounts {
        for (i, page) in pages.iter().enumerate() {
            let source = Source {
                file: format!("aws://{acct}/iam"),
                line: None,
            };
            match objects_from_document(page.clone(), &source, i) {
                Ok(o) => fleet_cloud.extend(o),
                // An account without roles or users: nothing to join.
                Err(m) if m.contains("name no account") => {}
                Err(m) => errors.push(LoadError {
                    file: source.file,
                    line: None,
                    column: None,
                    message: m,
                }),
            }
        }
    }
    info!(
        clusters = clusters.len(),
        errors = errors.len(),
        "cloud fleet read"
    );
    CloudFleet {
        clusters,
        raw,
        fleet_cloud,
        accounts: discovered.accounts.clone(),
        errors,
        discovered,
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// `kspm scan --aws`: the discovered fleet, plus any snapshot paths given alongside.
pub fn scan_cloud(
    aws: &AwsOptions,
    live: &LiveOptions,
    paths: &[PathBuf],
    options: &ScanOptions,
) -> Result<crate::pipeline::ScanOutcome, String> {
    let fleet = runtime()?.block_on(read_fleet(aws, live));
    let plan = kspm_collectors::files::plan(paths);
    let mut results: Vec<_> = fleet
        .clusters
        .iter()
        .map(|c| evaluate_cluster_result(c, options))
        .collect();
    results.extend(parallel_map(&plan.clusters, |source| {
        evaluate_cluster_result(&kspm_collectors::files::load_source(source), options)
    }));
    let (mut cloud, mut errors) = kspm_collectors::files::load_fleet_cloud(&plan);
    cloud.extend(fleet.fleet_cloud);
    errors.extend(plan.errors);
    errors.extend(fleet.errors);
    let report = assemble_fleet(results, &errors, &cloud);
    Ok(crate::pipeline::ScanOutcome { report })
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

/// `kspm collect --aws --out DIR`: a fleet directory with one cluster directory per discovered
/// cluster (Kubernetes objects, `cloud/` documents) and `cloud/aws/<account>/` IAM exports.
/// Returns (clusters written, errors).
pub fn collect_cloud(
    aws: &AwsOptions,
    live: &LiveOptions,
    out: &Path,
) -> Result<(usize, Vec<LoadError>), String> {
    let fleet = runtime()?.block_on(read_fleet(aws, live));
    let io = |e: std::io::Error| format!("{}: {e}", out.display());
    for ((snap, col), c) in fleet
        .clusters
        .iter()
        .zip(&fleet.raw)
        .zip(&fleet.discovered.clusters)
    {
        let dir = out.join(&snap.info.name);
        match col {
            Some(col) => kspm_collectors::live::write_snapshot(col, &dir).map_err(io)?,
            None => std::fs::create_dir_all(&dir).map_err(io)?,
        }
        let mut meta = format!(
            "apiVersion: kspm.io/v1\nkind: ClusterInfo\nname: {:?}\nprovider: eks\nregion: {:?}\naccount: {:?}\n",
            snap.info.name, c.region, c.account
        );
        if let Some(v) = &snap.info.kubernetes_version {
            meta.push_str(&format!("kubernetesVersion: {v:?}\n"));
        }
        std::fs::write(dir.join("kspm-cluster.yaml"), meta).map_err(io)?;
        for (path, doc) in &c.documents {
            write_json(&dir.join("cloud").join(path), doc).map_err(io)?;
        }
    }
    for (acct, pages) in &fleet.accounts {
        for (i, page) in pages.iter().enumerate() {
            write_json(
                &out.join("cloud/aws")
                    .join(acct)
                    .join(format!("account-authorization-details-{i}.json")),
                page,
            )
            .map_err(io)?;
        }
    }
    let mut errors = fleet.errors;
    for c in &fleet.clusters {
        errors.extend(c.errors.iter().cloned());
    }
    Ok((fleet.clusters.len(), errors))
}
