//! Azure discovery over ARM REST (CLOUD.md §3; the `azure_mgmt_containerservice` crate was
//! rejected, see §3.6): for each subscription (configured, or every one the identity sees), the
//! managed clusters, role assignments, custom role definitions, user-assigned identities and
//! their federated credentials, following `nextLink` and retrying throttling. The API server's
//! address and CA come from `listClusterUserCredential` — only for Entra-integrated clusters,
//! where that kubeconfig holds no secret; local-account clusters are never asked for credentials.

use super::aws::Gap;
use super::gcp::{CloudCluster, CloudCollection};
use super::rest::{RestClient, TokenSource};
use base64::Engine;
use serde_json::{json, Value};

/// Every ARM action the collector uses: reads (`listClusterUserCredential` returns a
/// kubeconfig without secrets on Entra-integrated clusters, the only ones it is called on).
pub const ACTIONS: &[&str] = &[
    "Microsoft.Resources/subscriptions/read",
    "Microsoft.ContainerService/managedClusters/read",
    "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
    "Microsoft.Authorization/roleAssignments/read",
    "Microsoft.Authorization/roleDefinitions/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
];

/// The AKS server application: tokens for the Kubernetes API are requested for it.
pub const AKS_SERVER_SCOPE: &str = "6dae42f8-4368-4678-94ff-3960e28e3630/.default";

/// What to discover.
#[derive(Debug, Clone)]
pub struct AzureOptions {
    /// Subscription IDs (empty: every enabled subscription).
    pub subscriptions: Vec<String>,
    /// Token for ARM.
    pub token: TokenSource,
    /// Token for the AKS API servers (none: clusters are read from ARM only).
    pub aks_token: Option<TokenSource>,
    /// `https://management.azure.com` (tests: a fake).
    pub endpoint: String,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Every item of a paged ARM list (`value` + absolute `nextLink`).
async fn list(client: &RestClient, url: &str) -> Result<Vec<Value>, super::rest::RestError> {
    let mut out = Vec::new();
    let mut next = Some(url.to_string());
    let mut pages = 0;
    while let Some(u) = next.take() {
        let v = client.get(&u).await?;
        out.extend(
            v.get("value")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        );
        next = v
            .get("nextLink")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        pages += 1;
        if pages > 1000 {
            break;
        }
    }
    Ok(out)
}

/// Discovers every subscription and cluster; never fails as a whole.
pub async fn discover(opts: &AzureOptions) -> CloudCollection {
    let mut out = CloudCollection::default();
    let client = match RestClient::new(opts.token.clone()) {
        Ok(c) => c,
        Err(e) => {
            out.gaps.push(Gap {
                scope: "azure".into(),
                message: e,
            });
            return out;
        }
    };
    let aks_client = opts.aks_token.clone().and_then(|t| RestClient::new(t).ok());
    let base = opts.endpoint.trim_end_matches('/');
    let subscriptions = if opts.subscriptions.is_empty() {
        match list(
            &client,
            &format!("{base}/subscriptions?api-version=2022-12-01"),
        )
        .await
        {
            Ok(items) => items
                .iter()
                .filter(|x| s(x, "state").is_empty() || s(x, "state") == "Enabled")
                .map(|x| s(x, "subscriptionId").to_string())
                .collect(),
            Err(e) => {
                out.gaps.push(Gap {
                    scope: "azure".into(),
                    message: format!("subscriptions: {e}; configure [azure] subscriptions"),
                });
                Vec::new()
            }
        }
    } else {
        opts.subscriptions.clone()
    };
    for sub in subscriptions {
        read_subscription(base, &client, aks_client.as_ref(), &sub, &mut out).await;
    }
    out.requests = client.requests();
    out
}

async fn read_subscription(
    base: &str,
    client: &RestClient,
    aks_client: Option<&RestClient>,
    sub: &str,
    out: &mut CloudCollection,
) {
    let scope = format!("subscription {sub}");
    let dir = format!("azure/{sub}");
    let prefix = format!("{base}/subscriptions/{sub}/providers");
    match list(
        client,
        &format!("{prefix}/Microsoft.ContainerService/managedClusters?api-version=2025-07-01"),
    )
    .await
    {
        Ok(clusters) => {
            for c in clusters {
                out.clusters
                    .push(read_cluster(base, client, aks_client, sub, c).await);
            }
        }
        Err(e) => out.gaps.push(Gap {
            scope: scope.clone(),
            message: format!("managedClusters: {e}; no cluster of this subscription is scanned"),
        }),
    }
    let reads = [
        ("role-assignments.json", format!("{prefix}/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"), "role assignments: AKS access and subscription admin are not assessed"),
        ("role-definitions.json", format!("{prefix}/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$filter=type%20eq%20'CustomRole'"), "custom role definitions"),
    ];
    for (file, url, what) in reads {
        match list(client, &url).await {
            Ok(items) => out
                .documents
                .push((format!("{dir}/{file}"), json!({"value": items}))),
            Err(e) => out.gaps.push(Gap {
                scope: scope.clone(),
                message: format!("{what}: {e}"),
            }),
        }
    }
    match list(
        client,
        &format!(
            "{prefix}/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2023-01-31"
        ),
    )
    .await
    {
        Ok(ids) => {
            for id in &ids {
                let url = format!(
                    "{base}{}/federatedIdentityCredentials?api-version=2023-01-31",
                    s(id, "id")
                );
                match list(client, &url).await {
                    Ok(fics) if !fics.is_empty() => out.documents.push((
                        format!("{dir}/federated-credentials/{}.json", s(id, "name")),
                        json!({"value": fics}),
                    )),
                    Ok(_) => {}
                    Err(e) => out.gaps.push(Gap {
                        scope: scope.clone(),
                        message: format!("federated credentials of {}: {e}", s(id, "name")),
                    }),
                }
            }
            out.documents
                .push((format!("{dir}/identities.json"), json!({"value": ids})));
        }
        Err(e) => out.gaps.push(Gap {
            scope: scope.clone(),
            message: format!("managed identities: {e}; workload identity is not assessed"),
        }),
    }
}

/// `server` and `certificate-authority-data` of a kubeconfig.
fn kubeconfig_server(text: &str) -> Option<(String, Option<String>)> {
    let v = kspm_engine::yaml::value(text).ok()?;
    let cluster = v.get("clusters")?.get(0)?.get("cluster")?;
    let server = cluster.get("server")?.as_str()?.to_string();
    let ca = cluster
        .get("certificate-authority-data")
        .and_then(|c| c.as_str())
        .map(str::to_string);
    Some((server, ca))
}

async fn read_cluster(
    base: &str,
    client: &RestClient,
    aks_client: Option<&RestClient>,
    sub: &str,
    c: Value,
) -> CloudCluster {
    let mut cluster = CloudCluster {
        provider: kspm_engine::Provider::Aks,
        account: sub.to_string(),
        region: s(&c, "location").to_string(),
        name: s(&c, "name").to_string(),
        endpoint: None,
        ca_data: None,
        token: None,
        documents: vec![("cluster.json".into(), c.clone())],
        gaps: Vec::new(),
    };
    let scope = format!("cluster {}", cluster.name);
    let entra = c
        .pointer("/properties/aadProfile")
        .is_some_and(Value::is_object);
    if !entra {
        cluster.gaps.push(Gap { scope, message: "not Entra-integrated: its credentials would be an admin certificate, so kspm does not fetch them; the Kubernetes API is not read".into() });
        return cluster;
    }
    let Some(aks) = aks_client else {
        cluster.gaps.push(Gap {
            scope,
            message: "no token source for the AKS API servers; the Kubernetes API is not read"
                .into(),
        });
        return cluster;
    };
    let url = format!(
        "{base}{}/listClusterUserCredential?api-version=2025-07-01",
        s(&c, "id")
    );
    match client.post(&url, &json!({})).await {
        Ok(v) => {
            let kubeconfig = v
                .pointer("/kubeconfigs/0/value")
                .and_then(Value::as_str)
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|t| kubeconfig_server(&t));
            match kubeconfig {
                Some((server, ca)) => {
                    cluster.endpoint = Some(server);
                    cluster.ca_data = ca;
                    match aks.token().await {
                        Ok(t) => cluster.token = Some(t),
                        Err(e) => cluster.gaps.push(Gap {
                            scope,
                            message: format!("no token for the AKS API server: {e}"),
                        }),
                    }
                }
                None => cluster.gaps.push(Gap {
                    scope,
                    message: "listClusterUserCredential returned no usable kubeconfig".into(),
                }),
            }
        }
        Err(e) => cluster.gaps.push(Gap {
            scope,
            message: format!("listClusterUserCredential: {e}; the Kubernetes API is not read"),
        }),
    }
    cluster
}
