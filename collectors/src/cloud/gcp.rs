//! GCP discovery (CLOUD.md §2): for each project (configured, or every project the identity can
//! see through `projects:search`), every GKE cluster in one `locations/-` call, the project's IAM
//! policy, its service accounts' IAM policies (Workload Identity bindings) and the custom roles
//! the policies use. Documents are kept as the APIs return them (proto3 JSON). The actions are
//! listed in [`ACTIONS`]; a failing project or a partial answer (`missingZones`) is a gap.

use super::aws::Gap;
use super::rest::{RestClient, TokenSource};
use serde_json::{json, Value};

/// Every GCP permission the collector uses: all reads.
pub const ACTIONS: &[&str] = &[
    "resourcemanager.projects.get",
    "resourcemanager.projects.getIamPolicy",
    "container.clusters.list",
    "iam.serviceAccounts.list",
    "iam.serviceAccounts.getIamPolicy",
    "iam.roles.get",
];

/// What to discover.
#[derive(Debug, Clone)]
pub struct GcpOptions {
    /// Project IDs (empty: every active project `projects:search` returns).
    pub projects: Vec<String>,
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
            token: TokenSource::GcpMetadata {
                base: "http://metadata.google.internal".into(),
            },
            container_endpoint: "https://container.googleapis.com".into(),
            resource_manager_endpoint: "https://cloudresourcemanager.googleapis.com".into(),
            iam_endpoint: "https://iam.googleapis.com".into(),
        }
    }
}

/// One discovered Kubernetes cluster of GKE or AKS.
#[derive(Debug, Clone)]
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
    /// Bearer token for the API server.
    pub token: Option<String>,
    /// Documents for the cluster's `cloud/` directory.
    pub documents: Vec<(String, Value)>,
    /// What could not be read about it.
    pub gaps: Vec<Gap>,
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
    let projects = if opts.projects.is_empty() {
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
                        message: format!("projects:search: {e}; configure [gcp] projects"),
                    });
                    break;
                }
            }
        }
        list
    } else {
        opts.projects.clone()
    };
    for project in projects {
        read_project(opts, &client, &project, &mut out).await;
    }
    out.requests = client.requests();
    out
}

async fn read_project(
    opts: &GcpOptions,
    client: &RestClient,
    project: &str,
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
            let token = client.token().await.ok();
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
                    token: token.clone(),
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
    // The project's IAM policy and the custom roles it uses.
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
            let custom: std::collections::BTreeSet<String> = p
                .get("bindings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|b| s(b, "role").to_string())
                .filter(|r| r.starts_with("projects/") || r.starts_with("organizations/"))
                .collect();
            out.documents
                .push((format!("{base}/project-iam-policy.json"), p));
            for role in custom {
                match client
                    .get(&format!("{}/v1/{role}", opts.iam_endpoint))
                    .await
                {
                    Ok(r) => out.documents.push((
                        format!(
                            "{base}/roles/{}.json",
                            role.rsplit('/').next().unwrap_or("role")
                        ),
                        r,
                    )),
                    Err(e) => out.gaps.push(Gap {
                        scope: scope.clone(),
                        message: format!("iam.roles.get {role}: {e}"),
                    }),
                }
            }
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
