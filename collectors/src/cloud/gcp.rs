//! GCP discovery (CLOUD.md §2): for each project (configured, every project below configured
//! folders or organizations, or every project the identity can see through `projects:search`),
//! every GKE cluster in one `locations/-` call, the project's place in the hierarchy
//! (`getAncestry`) and the IAM policies of the project, of each folder and organization above
//! it (read once however many projects share them) and of its service accounts (Workload
//! Identity bindings), and the custom roles the policies use. Documents are kept as the APIs
//! return them (proto3 JSON). The actions are listed in [`ACTIONS`]; a failing project or a
//! partial answer (`missingZones`) is a gap.

use super::aws::Gap;
use super::rest::{RestClient, TokenSource};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The GCP permissions the collector uses on projects: all reads. (`getAncestry` needs
/// `resourcemanager.projects.get`.)
pub const ACTIONS: &[&str] = &[
    "resourcemanager.projects.get",
    "resourcemanager.projects.getIamPolicy",
    "container.clusters.list",
    "iam.serviceAccounts.list",
    "iam.serviceAccounts.getIamPolicy",
    "iam.roles.get",
];

/// The reads of the folders and organization above the projects (their IAM policies, which
/// the projects inherit). Google takes them only in roles granted on a folder or organization:
/// a project-level custom role cannot hold them.
pub const HIERARCHY_ACTIONS: &[&str] = &[
    "resourcemanager.folders.getIamPolicy",
    "resourcemanager.organizations.getIamPolicy",
];

/// What to discover.
#[derive(Debug, Clone)]
pub struct GcpOptions {
    /// Project IDs (with no folders or organizations either: every active project
    /// `projects:search` returns).
    pub projects: Vec<String>,
    /// Folder IDs: every visible project below them (at any depth) is read too.
    pub folders: Vec<String>,
    /// Organization IDs: every visible project below them is read too.
    pub organizations: Vec<String>,
    /// Token source (see [`TokenSource`]).
    pub token: TokenSource,
    /// `https://container.googleapis.com` (tests: a fake).
    pub container_endpoint: String,
    /// `https://cloudresourcemanager.googleapis.com`.
    pub resource_manager_endpoint: String,
    /// `https://iam.googleapis.com`.
    pub iam_endpoint: String,
}

impl Default for GcpOptions {
    fn default() -> Self {
        GcpOptions {
            projects: Vec::new(),
            folders: Vec::new(),
            organizations: Vec::new(),
            token: TokenSource::Google(super::google_adc::GoogleAdc::from_environment(None)),
            container_endpoint: "https://container.googleapis.com".into(),
            resource_manager_endpoint: "https://cloudresourcemanager.googleapis.com".into(),
            iam_endpoint: "https://iam.googleapis.com".into(),
        }
    }
}

/// One discovered Kubernetes cluster of GKE or AKS. It holds no token, only where one comes from.
#[derive(Clone)]
pub struct CloudCluster {
    /// `gke` or `aks`.
    pub provider: kspm_engine::Provider,
    /// Project or subscription.
    pub account: String,
    /// Location.
    pub region: String,
    /// Cluster name.
    pub name: String,
    /// API server URL, if reachable at all.
    pub endpoint: Option<String>,
    /// CA bundle, base64 of PEM.
    pub ca_data: Option<String>,
    /// Where the API server's token comes from: asked just before the cluster is read
    /// (clusters are read after every cloud's discovery), and what a refusal of it means.
    pub token_client: Option<RestClient>,
    /// Documents for the cluster's `cloud/` directory.
    pub documents: Vec<(String, Value)>,
    /// What could not be read about it.
    pub gaps: Vec<Gap>,
}

impl std::fmt::Debug for CloudCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudCluster")
            .field("provider", &self.provider)
            .field("account", &self.account)
            .field("region", &self.region)
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field(
                "token_source",
                &self.token_client.as_ref().map(|c| c.token_source()),
            )
            .field("documents", &self.documents.len())
            .field("gaps", &self.gaps)
            .finish_non_exhaustive()
    }
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct CloudCollection {
    /// Clusters.
    pub clusters: Vec<CloudCluster>,
    /// Fleet documents: (path under the fleet's `cloud/`, JSON).
    pub documents: Vec<(String, Value)>,
    /// What could not be read.
    pub gaps: Vec<Gap>,
    /// Requests made (`METHOD /path`).
    pub requests: Vec<String>,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Discovers every project and cluster; never fails as a whole.
pub async fn discover(opts: &GcpOptions) -> CloudCollection {
    let mut out = CloudCollection::default();
    let client = match RestClient::new(opts.token.clone()) {
        Ok(c) => c,
        Err(e) => {
            out.gaps.push(Gap {
                scope: "gcp".into(),
                message: e,
            });
            return out;
        }
    };
    // Folders and organizations as the ancestry names them (numeric IDs; `folders/` and
    // `organizations/` prefixes accepted).
    let mut below: BTreeSet<(String, String)> = BTreeSet::new();
    for (ty, prefix, ids) in [
        ("folder", "folders/", &opts.folders),
        ("organization", "organizations/", &opts.organizations),
    ] {
        for id in ids {
            let bare = id.trim_start_matches(prefix);
            if numeric(bare) {
                below.insert((ty.to_string(), bare.to_string()));
            } else {
                out.gaps.push(Gap {
                    scope: "gcp".into(),
                    message: format!(
                        "[gcp] {ty} {id:?} is not a {ty} ID (a number, as `gcloud resource-manager folders list` or `gcloud organizations list` print it): no project below it is scanned"
                    ),
                });
            }
        }
    }
    let filtered = !opts.folders.is_empty() || !opts.organizations.is_empty();
    let searched = if opts.projects.is_empty() || filtered {
        search_projects(opts, &client, filtered, &mut out).await
    } else {
        Vec::new()
    };
    let mut hierarchy = Hierarchy::default();
    let mut projects: Vec<String> = opts.projects.clone();
    for project in searched {
        if projects.contains(&project) {
            continue;
        }
        if !filtered {
            projects.push(project);
            continue;
        }
        // Only projects below a configured folder or organization, at any depth.
        match hierarchy.ancestry(opts, &client, &project).await {
            Ok(ancestors) => {
                if ancestors.iter().any(|a| below.contains(a)) {
                    projects.push(project);
                }
            }
            Err(e) => out.gaps.push(Gap {
                scope: format!("project {project}"),
                message: format!(
                    "getAncestry: {e}; whether it is below the configured folders or organizations is unknown, so it is not scanned"
                ),
            }),
        }
    }
    let mut roles = BTreeSet::new();
    for project in &projects {
        // Project IDs name URLs and files: anything else is refused.
        if !project_id(project) {
            out.gaps.push(Gap {
                scope: "gcp".into(),
                message: format!("{project:?} is not a project ID; not read"),
            });
            continue;
        }
        read_project(opts, &client, project, &mut roles, &mut out).await;
        read_ancestors(opts, &client, project, &mut hierarchy, &mut roles, &mut out).await;
    }
    read_roles(opts, &client, roles, &mut out).await;
    out.requests = client.requests();
    out
}

/// Whether `id` is a folder or organization ID (a number).
fn numeric(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `id` is a project ID (lower-case letters, digits, hyphens; a legacy one has
/// `domain:`), so that it may name a URL path and a file.
fn project_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b))
}

/// Every active project `projects:search` returns (a gap when it fails); `filtered`: it is
/// how projects below the configured folders and organizations are found.
async fn search_projects(
    opts: &GcpOptions,
    client: &RestClient,
    filtered: bool,
    out: &mut CloudCollection,
) -> Vec<String> {
    let mut list = Vec::new();
    let mut page = String::new();
    loop {
        let url = format!(
            "{}/v3/projects:search?pageToken={page}",
            opts.resource_manager_endpoint
        );
        match client.get(&url).await {
            Ok(v) => {
                list.extend(
                    v.get("projects")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter(|p| s(p, "state") == "ACTIVE" || s(p, "state").is_empty())
                        .map(|p| s(p, "projectId").to_string()),
                );
                page = s(&v, "nextPageToken").to_string();
                if page.is_empty() {
                    break;
                }
            }
            Err(e) => {
                out.gaps.push(Gap {
                    scope: "gcp".into(),
                    message: if filtered {
                        format!("projects:search: {e}; the projects below [gcp] folders and organizations are found through it: list them in [gcp] projects")
                    } else {
                        format!("projects:search: {e}; configure [gcp] projects")
                    },
                });
                break;
            }
        }
    }
    list
}

/// A project's `getAncestry` answer: the document as returned, and its folders and
/// organization above the project, nearest first, as (`folder` | `organization`, ID).
type Ancestry = (Value, Vec<(String, String)>);

/// What was read of the resource hierarchy: each project's ancestry answer and the folders and
/// organizations whose policies were read (or tried).
#[derive(Default)]
struct Hierarchy {
    ancestry: BTreeMap<String, Result<Ancestry, String>>,
    policies_read: BTreeSet<String>,
}

impl Hierarchy {
    /// A project's ancestors above it, nearest first, as (`folder` | `organization`, ID),
    /// asked once. IDs that are not numbers are refused (they name files and URLs).
    async fn ancestry(
        &mut self,
        opts: &GcpOptions,
        client: &RestClient,
        project: &str,
    ) -> Result<Vec<(String, String)>, String> {
        if !self.ancestry.contains_key(project) {
            let url = format!(
                "{}/v1/projects/{project}:getAncestry",
                opts.resource_manager_endpoint
            );
            let answer = match client.post(&url, &json!({})).await {
                Ok(doc) => match kspm_engine::cloud::documents::gcp_ancestry(&doc) {
                    Some(all) => {
                        let own = all.iter().any(|(ty, id)| ty == "project" && id == project);
                        let above: Vec<(String, String)> =
                            all.into_iter().filter(|(ty, _)| ty != "project").collect();
                        if !own {
                            Err("the answer is another project's ancestry".into())
                        } else if above.iter().all(|(_, id)| numeric(id)) {
                            Ok((doc, above))
                        } else {
                            Err("the answer names a folder or organization whose ID is not a number".into())
                        }
                    }
                    None => Err("the answer is not an ancestry".into()),
                },
                Err(e) => Err(e.to_string()),
            };
            self.ancestry.insert(project.to_string(), answer);
        }
        match self.ancestry.get(project) {
            Some(Ok((_, above))) => Ok(above.clone()),
            Some(Err(e)) => Err(e.clone()),
            None => Err("not asked".into()),
        }
    }
}

/// A project's ancestry document, and the IAM policy of each folder and organization above it
/// not read yet (`cloud/gcp/folders/<id>.json`, `cloud/gcp/organizations/<id>.json`).
async fn read_ancestors(
    opts: &GcpOptions,
    client: &RestClient,
    project: &str,
    hierarchy: &mut Hierarchy,
    roles: &mut BTreeSet<String>,
    out: &mut CloudCollection,
) {
    let above = match hierarchy.ancestry(opts, client, project).await {
        Ok(above) => above,
        Err(e) => {
            out.gaps.push(Gap {
                scope: format!("project {project}"),
                message: format!(
                    "getAncestry: {e}; IAM inherited from its folders and organization is not assessed"
                ),
            });
            return;
        }
    };
    if let Some(Ok((doc, _))) = hierarchy.ancestry.get(project) {
        out.documents
            .push((format!("gcp/{project}/ancestry.json"), doc.clone()));
    }
    for (ty, id) in above {
        let collection = if ty == "folder" {
            "folders"
        } else {
            "organizations"
        };
        let resource = format!("{collection}/{id}");
        if !hierarchy.policies_read.insert(resource.clone()) {
            continue;
        }
        let url = format!(
            "{}/v3/{resource}:getIamPolicy",
            opts.resource_manager_endpoint
        );
        match client
            .post(&url, &json!({"options": {"requestedPolicyVersion": 3}}))
            .await
        {
            Ok(p) => {
                roles.extend(custom_roles(&p));
                out.documents.push((format!("gcp/{resource}.json"), p));
            }
            Err(e) => out.gaps.push(Gap {
                scope: format!("{ty} {id}"),
                message: format!(
                    "getIamPolicy: {e}; bindings every project below it inherits are not assessed"
                ),
            }),
        }
    }
}

/// The custom roles a policy's bindings use (`projects/…/roles/…`, `organizations/…/roles/…`).
fn custom_roles(policy: &Value) -> BTreeSet<String> {
    policy
        .get("bindings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|b| s(b, "role").to_string())
        .filter(|r| r.starts_with("projects/") || r.starts_with("organizations/"))
        .collect()
}

/// Each custom role's definition, once: `cloud/gcp/<project>/roles/<id>.json` or
/// `cloud/gcp/organizations/<org>/roles/<id>.json`. A role name of another shape is not fetched.
async fn read_roles(
    opts: &GcpOptions,
    client: &RestClient,
    roles: BTreeSet<String>,
    out: &mut CloudCollection,
) {
    for role in roles {
        let parts: Vec<&str> = role.split('/').collect();
        let safe = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                && p != ".."
                && p != "."
        };
        let [collection, owner, "roles", id] = parts[..] else {
            out.gaps.push(Gap {
                scope: "gcp".into(),
                message: format!("custom role {role}: not a role name; not read"),
            });
            continue;
        };
        if !(safe(owner) && safe(id)) {
            out.gaps.push(Gap {
                scope: "gcp".into(),
                message: format!("custom role {role}: not a role name; not read"),
            });
            continue;
        }
        let path = if collection == "projects" {
            format!("gcp/{owner}/roles/{id}.json")
        } else {
            format!("gcp/organizations/{owner}/roles/{id}.json")
        };
        match client
            .get(&format!("{}/v1/{role}", opts.iam_endpoint))
            .await
        {
            Ok(r) => out.documents.push((path, r)),
            Err(e) => out.gaps.push(Gap {
                scope: format!("{} {owner}", collection.trim_end_matches('s')),
                message: format!("iam.roles.get {role}: {e}"),
            }),
        }
    }
}

async fn read_project(
    opts: &GcpOptions,
    client: &RestClient,
    project: &str,
    roles: &mut BTreeSet<String>,
    out: &mut CloudCollection,
) {
    let scope = format!("project {project}");
    // Clusters.
    let url = format!(
        "{}/v1/projects/{project}/locations/-/clusters",
        opts.container_endpoint
    );
    match client.get(&url).await {
        Ok(v) => {
            let missing: Vec<&str> = v
                .get("missingZones")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if !missing.is_empty() {
                out.gaps.push(Gap {
                    scope: scope.clone(),
                    message: format!(
                        "clusters list is partial: zones {} did not answer",
                        missing.join(", ")
                    ),
                });
            }
            for c in v
                .get("clusters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let endpoint = c
                    .pointer("/controlPlaneEndpointsConfig/ipEndpointsConfig/publicEndpoint")
                    .or_else(|| c.get("endpoint"))
                    .and_then(Value::as_str)
                    .filter(|e| !e.is_empty())
                    .map(|e| {
                        if e.contains("://") {
                            e.to_string()
                        } else {
                            format!("https://{e}")
                        }
                    });
                out.clusters.push(CloudCluster {
                    provider: kspm_engine::Provider::Gke,
                    account: project.to_string(),
                    region: s(c, "location").to_string(),
                    name: s(c, "name").to_string(),
                    endpoint,
                    ca_data: c
                        .pointer("/masterAuth/clusterCaCertificate")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    token_client: Some(client.clone()),
                    documents: vec![("cluster.json".into(), c.clone())],
                    gaps: Vec::new(),
                });
            }
        }
        Err(e) => out.gaps.push(Gap {
            scope: scope.clone(),
            message: format!("container.clusters.list: {e}; no cluster of this project is scanned"),
        }),
    }
    // The project's IAM policy (the custom roles it uses are read after every project).
    let base = format!("gcp/{project}");
    let policy = client
        .post(
            &format!(
                "{}/v3/projects/{project}:getIamPolicy",
                opts.resource_manager_endpoint
            ),
            &json!({"options": {"requestedPolicyVersion": 3}}),
        )
        .await;
    match policy {
        Ok(p) => {
            roles.extend(custom_roles(&p));
            out.documents
                .push((format!("{base}/project-iam-policy.json"), p));
        }
        Err(e) => out.gaps.push(Gap {
            scope: scope.clone(),
            message: format!("getIamPolicy: {e}; GKE IAM and project admin edges are not assessed"),
        }),
    }
    // Service accounts and their own policies (Workload Identity bindings).
    let mut page = String::new();
    loop {
        let url = format!(
            "{}/v1/projects/{project}/serviceAccounts?pageToken={page}",
            opts.iam_endpoint
        );
        let v = match client.get(&url).await {
            Ok(v) => v,
            Err(e) => {
                out.gaps.push(Gap {
                    scope: scope.clone(),
                    message: format!(
                        "iam.serviceAccounts.list: {e}; Workload Identity is not assessed"
                    ),
                });
                break;
            }
        };
        for a in v
            .get("accounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let email = s(a, "email");
            // The e-mail names a URL path and a file.
            if email.is_empty()
                || email.contains("..")
                || !email
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"@.-_".contains(&b))
            {
                out.gaps.push(Gap {
                    scope: scope.clone(),
                    message: format!("service account {email:?}: not an e-mail; not read"),
                });
                continue;
            }
            // `projects.serviceAccounts.getIamPolicy` takes the policy version as a query
            // parameter and an empty body (unlike Resource Manager's getIamPolicy).
            let url = format!(
                "{}/v1/projects/{project}/serviceAccounts/{email}:getIamPolicy?options.requestedPolicyVersion=3",
                opts.iam_endpoint
            );
            match client.post_empty(&url).await {
                Ok(p) => out
                    .documents
                    .push((format!("{base}/service-accounts/{email}.json"), p)),
                Err(e) => out.gaps.push(Gap {
                    scope: scope.clone(),
                    message: format!("getIamPolicy {email}: {e}"),
                }),
            }
        }
        page = s(&v, "nextPageToken").to_string();
        if page.is_empty() {
            break;
        }
    }
}
