//! AWS discovery (CLOUD.md §1.1): for each configured account, credentials (the ambient ones, or
//! `sts:AssumeRole` with an external ID), the enabled regions, every EKS cluster with its node
//! groups, launch template versions, access entries with their policies and Pod Identity
//! associations, and one paginated `GetAccountAuthorizationDetails` per account. Everything read
//! is kept as the provider's JSON (see [`super::aws_json`]) and the IAM actions used are listed
//! in [`ACTIONS`]. A failing account, region or cluster becomes a [`Gap`]; the rest carries on.

pub mod organization;

use super::aws_json;
use super::ec2::Ec2;
use super::eks_token::Credentials;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tracing::{info, warn};

/// Every AWS API action the collector calls: all reads. Terraform grants exactly these (a test
/// compares the two), and the moto test checks that nothing else is called.
pub const ACTIONS: &[&str] = &[
    "sts:GetCallerIdentity",
    "ec2:DescribeRegions",
    "ec2:DescribeLaunchTemplateVersions",
    "eks:ListClusters",
    "eks:DescribeCluster",
    "eks:ListNodegroups",
    "eks:DescribeNodegroup",
    "eks:ListAccessEntries",
    "eks:DescribeAccessEntry",
    "eks:ListAssociatedAccessPolicies",
    "eks:ListPodIdentityAssociations",
    "eks:DescribePodIdentityAssociation",
    "iam:GetAccountAuthorizationDetails",
];

/// The one action the central identity needs on member accounts' roles.
pub const CENTRAL_ACTIONS: &[&str] = &["sts:AssumeRole"];

/// One account to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsAccount {
    /// Role to assume in it (none: use the ambient credentials as they are).
    pub role_arn: Option<String>,
    /// External ID the role's trust policy requires.
    pub external_id: Option<String>,
}

/// What to discover.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Accounts (empty: the ambient credentials' own account).
    pub accounts: Vec<AwsAccount>,
    /// Regions (empty: every region `ec2:DescribeRegions` lists as enabled).
    pub regions: Vec<String>,
    /// Endpoint for every service (tests: moto).
    pub endpoint_url: Option<String>,
    /// Endpoint for EKS only (tests: the overlay serving what moto lacks).
    pub eks_endpoint_url: Option<String>,
    /// Requests in flight at once (accounts × regions × clusters).
    pub concurrency: usize,
    /// AssumeRole session name (shows in CloudTrail and EKS usernames).
    pub session_name: String,
    /// Every active account of an AWS organization, besides [`AwsOptions::accounts`].
    pub organization: Option<organization::AwsOrganization>,
}

/// Something that could not be read, and what it leaves unassessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// `account 1234`, `account 1234 region eu-west-1`, `cluster prod`.
    pub scope: String,
    /// Why.
    pub message: String,
}

/// One EKS cluster as the AWS APIs describe it.
#[derive(Debug, Clone)]
pub struct EksCluster {
    /// Account ID.
    pub account: String,
    /// Region.
    pub region: String,
    /// EKS cluster name.
    pub name: String,
    /// API server endpoint.
    pub endpoint: Option<String>,
    /// Cluster CA, base64 of PEM.
    pub ca_data: Option<String>,
    /// Provider documents: (path under the cluster's `cloud/`, JSON).
    pub documents: Vec<(String, Value)>,
    /// Credentials to mint the cluster's bearer token with.
    pub credentials: Credentials,
    /// What could not be read about this cluster.
    pub gaps: Vec<Gap>,
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct AwsCollection {
    /// Clusters.
    pub clusters: Vec<EksCluster>,
    /// IAM per account: (account ID, GAAD pages).
    pub accounts: Vec<(String, Vec<Value>)>,
    /// Accounts and regions that could not be read.
    pub gaps: Vec<Gap>,
}

/// An SDK error with its chain of causes.
pub(crate) fn err<E: std::error::Error>(e: E) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

async fn base_config(opts: &AwsOptions, region: &str) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region.to_string()));
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    loader.load().await
}

async fn credentials_of(config: &SdkConfig) -> Result<Credentials, String> {
    let provider = config
        .credentials_provider()
        .ok_or("no AWS credentials found (environment, profile, web identity or instance role)")?;
    let c = provider.provide_credentials().await.map_err(err)?;
    Ok(Credentials {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: c.secret_access_key().to_string(),
        session_token: c.session_token().map(str::to_string),
    })
}

/// The account's config: the ambient credentials, or an assumed role.
pub(crate) async fn account_config(
    opts: &AwsOptions,
    account: &AwsAccount,
    region: &str,
) -> Result<SdkConfig, String> {
    let base = base_config(opts, region).await;
    let Some(role) = &account.role_arn else {
        return Ok(base);
    };
    let sts = aws_sdk_sts::Client::new(&base);
    let mut req =
        sts.assume_role()
            .role_arn(role)
            .role_session_name(if opts.session_name.is_empty() {
                "kspm"
            } else {
                &opts.session_name
            });
    if let Some(x) = &account.external_id {
        req = req.external_id(x);
    }
    let out = req
        .send()
        .await
        .map_err(|e| format!("sts:AssumeRole {role}: {}", err(e)))?;
    let c = out
        .credentials()
        .ok_or("sts:AssumeRole returned no credentials")?;
    let creds = aws_credential_types::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "kspm-assume-role",
    );
    Ok(base
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build())
}

fn with_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config
        .clone()
        .into_builder()
        .region(Region::new(region.to_string()))
        .build()
}

fn eks_client(opts: &AwsOptions, config: &SdkConfig) -> aws_sdk_eks::Client {
    let mut b = aws_sdk_eks::config::Builder::from(config);
    if let Some(url) = &opts.eks_endpoint_url {
        b = b.endpoint_url(url.clone());
    }
    aws_sdk_eks::Client::from_conf(b.build())
}

/// The accounts to read: those configured, and an organization's active accounts (one whose
/// ID a configured role already names is read through that role); the ambient credentials'
/// own account when neither is given. A failed listing is a gap and leaves the configured ones.
async fn accounts_to_read(opts: &AwsOptions, gaps: &mut Vec<Gap>) -> Vec<AwsAccount> {
    use organization::{account_of, accounts};
    let mut out = opts.accounts.clone();
    let Some(org) = &opts.organization else {
        if out.is_empty() {
            out.push(AwsAccount::default());
        }
        return out;
    };
    match accounts(opts, org).await {
        Ok(found) => {
            // A configured account read with the ambient credentials is known by its ID only
            // once asked (sts:GetCallerIdentity); it is then not read a second time.
            let ambient = if out.iter().any(|a| a.role_arn.is_none()) {
                let home = opts.regions.first().map_or("us-east-1", String::as_str);
                let config = base_config(opts, home).await;
                aws_sdk_sts::Client::new(&config)
                    .get_caller_identity()
                    .send()
                    .await
                    .ok()
                    .and_then(|o| o.account().map(str::to_string))
            } else {
                None
            };
            for a in found {
                let id = a.role_arn.as_deref().and_then(account_of);
                let configured = out
                    .iter()
                    .any(|c| c.role_arn.as_deref().and_then(account_of) == id)
                    || (id.is_some() && id == ambient.as_deref());
                if !configured {
                    out.push(a);
                }
            }
        }
        Err(e) => gaps.push(Gap {
            scope: "organization".into(),
            message: if out.is_empty() {
                format!("{e}; no account is read")
            } else {
                format!("{e}; only the configured accounts are read")
            },
        }),
    }
    out
}

/// Discovers every account, region and cluster; never fails as a whole.
pub async fn discover(opts: &AwsOptions) -> AwsCollection {
    let mut listing_gaps = Vec::new();
    let accounts = accounts_to_read(opts, &mut listing_gaps).await;
    let slots = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for account in accounts {
        let opts = opts.clone();
        let slots = slots.clone();
        tasks.spawn(async move { read_account(&opts, &account, slots).await });
    }
    let mut out = AwsCollection {
        gaps: listing_gaps,
        ..Default::default()
    };
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(part) => {
                out.clusters.extend(part.clusters);
                out.accounts.extend(part.accounts);
                out.gaps.extend(part.gaps);
            }
            Err(e) => out.gaps.push(Gap {
                scope: "aws".into(),
                message: format!("account task failed: {e}"),
            }),
        }
    }
    out.clusters
        .sort_by(|a, b| (&a.account, &a.region, &a.name).cmp(&(&b.account, &b.region, &b.name)));
    out.accounts.sort_by(|a, b| a.0.cmp(&b.0));
    info!(
        clusters = out.clusters.len(),
        accounts = out.accounts.len(),
        gaps = out.gaps.len(),
        "AWS discovery finished"
    );
    out
}

async fn read_account(
    opts: &AwsOptions,
    account: &AwsAccount,
    slots: Arc<Semaphore>,
) -> AwsCollection {
    let mut out = AwsCollection::default();
    let home = opts
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| "us-east-1".into());
    let label = account
        .role_arn
        .clone()
        .unwrap_or_else(|| "ambient credentials".into());
    let config = match account_config(opts, account, &home).await {
        Ok(c) => c,
        Err(e) => {
            out.gaps.push(Gap {
                scope: format!("account {label}"),
                message: e,
            });
            return out;
        }
    };
    let id = match aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(o) => o.account().unwrap_or_default().to_string(),
        Err(e) => {
            out.gaps.push(Gap {
                scope: format!("account {label}"),
                message: format!("sts:GetCallerIdentity: {}", err(e)),
            });
            return out;
        }
    };
    let credentials = match credentials_of(&config).await {
        Ok(c) => c,
        Err(e) => {
            out.gaps.push(Gap {
                scope: format!("account {id}"),
                message: e,
            });
            return out;
        }
    };
    match gaad(&config).await {
        Ok(pages) => out.accounts.push((id.clone(), pages)),
        Err(e) => out.gaps.push(Gap {
            scope: format!("account {id}"),
            message: format!("iam:GetAccountAuthorizationDetails: {e}; IRSA, Pod Identity and admin edges of this account are not assessed"),
        }),
    }
    let regions = if opts.regions.is_empty() {
        let listed = match Ec2::new(&config, &credentials) {
            Ok(ec2) => ec2.describe_regions().await,
            Err(e) => Err(e),
        };
        match listed {
            Ok(regions) => regions,
            Err(e) => {
                out.gaps.push(Gap {
                    scope: format!("account {id}"),
                    message: format!("ec2:DescribeRegions: {e}; scanning {home} only"),
                });
                vec![home.clone()]
            }
        }
    } else {
        opts.regions.clone()
    };
    let mut tasks = tokio::task::JoinSet::new();
    for region in regions {
        let config = with_region(&config, &region);
        let opts = opts.clone();
        let id = id.clone();
        let credentials = credentials.clone();
        let slots = slots.clone();
        tasks.spawn(
            async move { read_region(&opts, &config, &id, &region, credentials, slots).await },
        );
    }
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok((clusters, gaps)) => {
                out.clusters.extend(clusters);
                out.gaps.extend(gaps);
            }
            Err(e) => out.gaps.push(Gap {
                scope: format!("account {id}"),
                message: format!("region task failed: {e}"),
            }),
        }
    }
    out
}

async fn read_region(
    opts: &AwsOptions,
    config: &SdkConfig,
    account: &str,
    region: &str,
    credentials: Credentials,
    slots: Arc<Semaphore>,
) -> (Vec<EksCluster>, Vec<Gap>) {
    let eks = eks_client(opts, config);
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = {
            let _slot = slots.acquire().await;
            eks.list_clusters()
                .set_next_token(token.clone())
                .send()
                .await
        };
        match page {
            Ok(o) => {
                names.extend(o.clusters().iter().cloned());
                token = o.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            Err(e) => {
                // Opted-out regions and SCP denials end up here: not scanned, not fatal.
                return (
                    Vec::new(),
                    vec![Gap {
                        scope: format!("account {account} region {region}"),
                        message: format!("eks:ListClusters: {}; region not scanned", err(e)),
                    }],
                );
            }
        }
    }
    // One EC2 client (one HTTP connection pool) for the region's clusters.
    let ec2 = Arc::new(Ec2::new(config, &credentials));
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        let eks = eks.clone();
        let ec2 = ec2.clone();
        let account = account.to_string();
        let region = region.to_string();
        let credentials = credentials.clone();
        let slots = slots.clone();
        tasks.spawn(async move {
            let _slot = slots.acquire().await;
            read_cluster(&eks, &ec2, &account, &region, &name, credentials).await
        });
    }
    let mut clusters = Vec::new();
    let mut gaps = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Ok(c)) => clusters.push(c),
            Ok(Err(g)) => gaps.push(g),
            Err(e) => gaps.push(Gap {
                scope: format!("account {account} region {region}"),
                message: format!("cluster task failed: {e}"),
            }),
        }
    }
    (clusters, gaps)
}

fn file_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

async fn read_cluster(
    eks: &aws_sdk_eks::Client,
    ec2: &Result<Ec2, String>,
    account: &str,
    region: &str,
    name: &str,
    credentials: Credentials,
) -> Result<EksCluster, Gap> {
    let scope = format!("cluster {name} ({account} {region})");
    let described = eks
        .describe_cluster()
        .name(name)
        .send()
        .await
        .map_err(|e| Gap {
            scope: scope.clone(),
            message: format!("eks:DescribeCluster: {}", err(e)),
        })?;
    let Some(c) = described.cluster() else {
        return Err(Gap {
            scope,
            message: "eks:DescribeCluster returned no cluster".into(),
        });
    };
    let mut out = EksCluster {
        account: account.to_string(),
        region: region.to_string(),
        name: name.to_string(),
        endpoint: c.endpoint().map(str::to_string),
        ca_data: c
            .certificate_authority()
            .and_then(|a| a.data())
            .map(str::to_string),
        documents: vec![("describe-cluster.json".into(), aws_json::cluster(c))],
        credentials,
        gaps: Vec::new(),
    };
    let mut gap = |what: &str, e: String| {
        warn!(cluster = name, "{what}: {e}");
        out.gaps.push(Gap {
            scope: scope.clone(),
            message: format!("{what}: {e}"),
        });
    };
    // Node groups and their launch templates.
    let mut nodegroups = Vec::new();
    let mut token = None;
    loop {
        match eks
            .list_nodegroups()
            .cluster_name(name)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(o) => {
                nodegroups.extend(o.nodegroups().iter().cloned());
                token = o.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            Err(e) => {
                gap("eks:ListNodegroups", err(e));
                break;
            }
        }
    }
    let mut docs = Vec::new();
    let mut templates: Vec<(String, String)> = Vec::new();
    for ng in &nodegroups {
        match eks
            .describe_nodegroup()
            .cluster_name(name)
            .nodegroup_name(ng)
            .send()
            .await
        {
            Ok(o) => {
                if let Some(n) = o.nodegroup() {
                    if let Some(lt) = n.launch_template() {
                        if let (Some(id), Some(v)) = (lt.id(), lt.version()) {
                            templates.push((id.to_string(), v.to_string()));
                        }
                    }
                    docs.push((
                        format!("nodegroups/{}.json", file_name(ng)),
                        aws_json::nodegroup(n),
                    ));
                }
            }
            Err(e) => gap(&format!("eks:DescribeNodegroup {ng}"), err(e)),
        }
    }
    templates.sort();
    templates.dedup();
    for (id, version) in templates {
        let read = match ec2 {
            Ok(ec2) => ec2.describe_launch_template_versions(&id, &version).await,
            Err(e) => Err(e.clone()),
        };
        match read {
            Ok(versions) => docs.push((
                format!(
                    "launch-templates/{}-{}.json",
                    file_name(&id),
                    file_name(&version)
                ),
                versions,
            )),
            Err(e) => gap(
                &format!("ec2:DescribeLaunchTemplateVersions {id}"),
                format!("{e}; IMDS reachability of its node group is unknown"),
            ),
        }
    }
    // Access entries and their policies.
    let mut principals = Vec::new();
    let mut token = None;
    let mut entries_ok = true;
    loop {
        match eks
            .list_access_entries()
            .cluster_name(name)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(o) => {
                principals.extend(o.access_entries().iter().cloned());
                token = o.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            Err(e) => {
                gap(
                    "eks:ListAccessEntries",
                    format!("{}; access entries are not assessed", err(e)),
                );
                entries_ok = false;
                break;
            }
        }
    }
    for p in principals.iter().filter(|_| entries_ok) {
        let base = file_name(p);
        match eks
            .describe_access_entry()
            .cluster_name(name)
            .principal_arn(p)
            .send()
            .await
        {
            Ok(o) => {
                if let Some(e) = o.access_entry() {
                    docs.push((
                        format!("access-entries/{base}.json"),
                        aws_json::access_entry(e),
                    ));
                }
            }
            Err(e) => {
                gap(&format!("eks:DescribeAccessEntry {p}"), err(e));
                continue;
            }
        }
        let mut policies = Vec::new();
        let mut token = None;
        loop {
            match eks
                .list_associated_access_policies()
                .cluster_name(name)
                .principal_arn(p)
                .set_next_token(token)
                .send()
                .await
            {
                Ok(o) => {
                    policies.extend(o.associated_access_policies().iter().cloned());
                    token = o.next_token().map(str::to_string);
                    if token.is_none() {
                        break;
                    }
                }
                Err(e) => {
                    gap(&format!("eks:ListAssociatedAccessPolicies {p}"), err(e));
                    break;
                }
            }
        }
        docs.push((
            format!("access-entries/{base}-policies.json"),
            aws_json::associated_policies(name, p, &policies),
        ));
    }
    // Pod Identity associations.
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        match eks
            .list_pod_identity_associations()
            .cluster_name(name)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(o) => {
                ids.extend(
                    o.associations()
                        .iter()
                        .filter_map(|a| a.association_id().map(str::to_string)),
                );
                token = o.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            Err(e) => {
                gap(
                    "eks:ListPodIdentityAssociations",
                    format!("{}; Pod Identity is not assessed", err(e)),
                );
                break;
            }
        }
    }
    for id in ids {
        match eks
            .describe_pod_identity_association()
            .cluster_name(name)
            .association_id(&id)
            .send()
            .await
        {
            Ok(o) => {
                if let Some(a) = o.association() {
                    docs.push((
                        format!("pod-identity/{}.json", file_name(&id)),
                        aws_json::pod_identity(a),
                    ));
                }
            }
            Err(e) => gap(&format!("eks:DescribePodIdentityAssociation {id}"), err(e)),
        }
    }
    out.documents.extend(docs);
    Ok(out)
}

/// Every page of `GetAccountAuthorizationDetails`, with only the managed policies something
/// in the account attaches (the export otherwise carries every AWS-managed policy).
async fn gaad(config: &SdkConfig) -> Result<Vec<Value>, String> {
    let iam = aws_sdk_iam::Client::new(config);
    let mut pages = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let o = iam
            .get_account_authorization_details()
            .set_marker(marker.clone())
            .max_items(1000)
            .send()
            .await
            .map_err(err)?;
        pages.push(serde_json::json!({
            "RoleDetailList": o.role_detail_list().iter().map(aws_json::role).collect::<Vec<_>>(),
            "UserDetailList": o.user_detail_list().iter().map(aws_json::user).collect::<Vec<_>>(),
            "GroupDetailList": o.group_detail_list().iter().map(aws_json::group).collect::<Vec<_>>(),
            "Policies": o.policies().iter().map(aws_json::managed_policy).collect::<Vec<_>>(),
        }));
        marker = o.marker().map(str::to_string);
        if !o.is_truncated() || marker.is_none() {
            break;
        }
    }
    keep_attached_policies(&mut pages);
    Ok(pages)
}

/// Drops managed policies no role, user or group of the export attaches or uses as boundary.
pub fn keep_attached_policies(pages: &mut [Value]) {
    let mut used = std::collections::BTreeSet::new();
    for page in pages.iter() {
        for list in ["RoleDetailList", "UserDetailList", "GroupDetailList"] {
            for item in page
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for a in item
                    .get("AttachedManagedPolicies")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(arn) = a.get("PolicyArn").and_then(Value::as_str) {
                        used.insert(arn.to_string());
                    }
                }
                if let Some(b) = item
                    .pointer("/PermissionsBoundary/PermissionsBoundaryArn")
                    .and_then(Value::as_str)
                {
                    used.insert(b.to_string());
                }
            }
        }
    }
    for page in pages.iter_mut() {
        if let Some(Value::Array(ps)) = page.get_mut("Policies") {
            ps.retain(|p| {
                p.get("Arn")
                    .and_then(Value::as_str)
                    .is_some_and(|a| used.contains(a))
            });
        }
    }
}
