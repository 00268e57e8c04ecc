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

/// The ARM actions the collector uses on each subscription: reads, none of which returns a
/// credential.
pub const ACTIONS: &[&str] = &[
    "Microsoft.Resources/subscriptions/read",
    "Microsoft.ContainerService/managedClusters/read",
    "Microsoft.Authorization/roleAssignments/read",
    "Microsoft.Authorization/roleDefinitions/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
];

/// The ARM actions the collector uses on each Entra-integrated cluster, and only there:
/// `listClusterUserCredential` returns the API server's address and CA there (a kubeconfig with
/// an exec plug-in, no secret); on a cluster without Entra integration it would return an admin
/// certificate, so it is never granted on a subscription or resource group (the Terraform
/// module assigns it per cluster and refuses a cluster without Entra integration) and never
/// called on such a cluster.
pub const CLUSTER_CREDENTIAL_ACTIONS: &[&str] =
    &["Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"];

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
        token_client: aks_client.cloned(),
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
    if aks_client.is_none() {
        cluster.gaps.push(Gap {
            scope,
            message: "no token source for the AKS API servers; the Kubernetes API is not read"
                .into(),
        });
        return cluster;
    }
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
                }
                None => cluster.gaps.push(Gap {
                    scope,
                    message: "listClusterUserCredential returned no usable kubeconfig".into(),
                }),
            }
        }
        Err(e) => cluster.gaps.push(Gap {
            scope,
            message: format!(
                "listClusterUserCredential: {e}; the Kubernetes API is not read{}",
                if e.status == 403 {
                    " (kspm's credential role is assigned per Entra-integrated cluster: add this cluster to the azure-collector module's entra_clusters, or assign the role on it)"
                } else {
                    ""
                }
            ),
        }),
    }
    cluster
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A local ARM that refuses every request with 403, as ARM answers an action the identity
    /// was not granted; counts the requests.
    fn refusing_arm() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { return };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                    .ok();
                let mut chunk = [0u8; 8192];
                let _ = s.read(&mut chunk);
                let body = r#"{"error":{"code":"AuthorizationFailed","message":"The client does not have authorization to perform action 'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action'"}}"#;
                let _ = write!(
                    s,
                    "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (base, seen)
    }

    fn cluster(aad: Option<Value>) -> Value {
        let mut properties = json!({"fqdn": "payments.hcp.westeurope.azmk8s.io"});
        if let Some(a) = aad {
            properties["aadProfile"] = a;
        }
        json!({"id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/payments",
               "name": "payments", "location": "westeurope", "properties": properties})
    }

    /// The collector never asks for the credentials of a cluster without Entra integration
    /// (they would be an admin certificate), and a refused request on an Entra-integrated one
    /// says which assignment is missing.
    #[tokio::test]
    async fn cluster_credentials_only_on_entra_clusters_and_a_refusal_says_what_to_grant() {
        let (base, seen) = refusing_arm();
        let client = RestClient::new(TokenSource::Static("arm".into())).expect("client");
        let aks = RestClient::new(TokenSource::Static("aks".into())).expect("client");

        let plain = read_cluster(&base, &client, Some(&aks), "s1", cluster(None)).await;
        assert!(client.requests().is_empty(), "{:?}", client.requests());
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert!(plain.endpoint.is_none());
        assert!(
            plain.gaps[0].message.contains("admin certificate"),
            "{:?}",
            plain.gaps
        );

        let entra = read_cluster(
            &base,
            &client,
            Some(&aks),
            "s1",
            cluster(Some(json!({"managed": true}))),
        )
        .await;
        assert_eq!(
            client.requests(),
            vec!["POST /subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/payments/listClusterUserCredential"]
        );
        assert!(entra.endpoint.is_none());
        let message = &entra.gaps[0].message;
        assert!(
            message.contains("HTTP 403") && message.contains("entra_clusters"),
            "{message}"
        );
    }

    #[test]
    fn no_subscription_wide_action_returns_a_credential() {
        for a in ACTIONS {
            let lower = a.to_lowercase();
            assert!(
                !lower.contains("credential/action") && !lower.contains("/list"),
                "{a} is granted on whole subscriptions but returns credentials"
            );
        }
        assert!(CLUSTER_CREDENTIAL_ACTIONS
            .iter()
            .all(|a| a.ends_with("/listClusterUserCredential/action")));
    }
}
