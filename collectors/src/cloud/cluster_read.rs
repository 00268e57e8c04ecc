//! One discovered cluster (EKS, GKE or AKS) into a [`ClusterSnapshot`]: its Kubernetes objects
//! read through the API server with a bearer token from the cloud's identity (an EKS token
//! minted from IAM, a Google access token, an Entra token for the AKS server app — no kubeconfig,
//! no cloud CLI), plus its provider documents as synthetic objects. An unreachable API server
//! leaves a cluster with only its cloud side and an error saying so.

use super::aws::{EksCluster, Gap};
use super::eks_token;
use super::gcp::CloudCluster;
use crate::live::{collect_with, LiveCollection, LiveOptions};
use base64::Engine;
use kspm_engine::cloud::documents::objects_from_document;
use kspm_engine::object::Source;
use kspm_engine::parse::LoadError;
use kspm_engine::snapshot::{ClusterSnapshot, Provider};

/// The kinds a live read provides: all of them are coverage gaps when the API server is not
/// read, so their checks are "not assessable" rather than passing on nothing.
const KUBERNETES_KINDS: &[&str] = &[
    "Namespace",
    "Node",
    "Pod",
    "Service",
    "ServiceAccount",
    "ConfigMap",
    "LimitRange",
    "ResourceQuota",
    "ReplicationController",
    "Secret",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Ingress",
    "IngressClass",
    "NetworkPolicy",
    "EndpointSlice",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "PodDisruptionBudget",
    "CustomResourceDefinition",
    "CertificateSigningRequest",
    "KubeletConfiguration",
];

/// DER certificates of a base64-encoded PEM bundle (`certificateAuthority.data`).
pub fn ca_certificates(data: &str) -> Result<Vec<Vec<u8>>, String> {
    let engine = base64::engine::general_purpose::STANDARD;
    let pem = engine
        .decode(data.trim())
        .map_err(|e| format!("certificateAuthority.data is not base64: {e}"))?;
    let pem = String::from_utf8(pem).map_err(|_| "certificateAuthority.data is not PEM text")?;
    let mut out = Vec::new();
    let mut body = String::new();
    let mut inside = false;
    for line in pem.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN CERTIFICATE") {
            inside = true;
            body.clear();
        } else if line.starts_with("-----END CERTIFICATE") {
            inside = false;
            out.push(
                engine
                    .decode(&body)
                    .map_err(|e| format!("certificate body is not base64: {e}"))?,
            );
        } else if inside {
            body.push_str(line);
        }
    }
    if out.is_empty() {
        return Err("certificateAuthority.data holds no certificate".into());
    }
    Ok(out)
}

/// A kube client for an API server URL, CA bundle (base64 PEM; required for https) and token.
pub fn kube_client(
    endpoint: &str,
    ca_data: Option<&str>,
    token: String,
) -> Result<kube::Client, String> {
    let url = endpoint
        .parse()
        .map_err(|e| format!("endpoint {endpoint}: {e}"))?;
    let mut config = kube::Config::new(url);
    if endpoint.starts_with("https://") {
        let ca = ca_data.ok_or("the provider gave no CA for the API server")?;
        config.root_cert = Some(ca_certificates(ca)?);
    }
    config.auth_info.token = Some(token.into());
    kube::Client::try_from(config).map_err(|e| format!("cannot build a client: {e}"))
}

/// A kube client for an EKS cluster, authenticated with a fresh EKS token.
pub fn client(c: &EksCluster, now_unix: i64) -> Result<kube::Client, String> {
    let endpoint = c
        .endpoint
        .as_deref()
        .ok_or("DescribeCluster gave no endpoint")?;
    let token = eks_token::token(&c.credentials, &c.region, &c.name, now_unix)?;
    kube_client(endpoint, c.ca_data.as_deref(), token)
}

/// The cloud documents of a discovered cluster as synthetic objects.
fn cloud_objects(
    origin: &str,
    documents: &[(String, serde_json::Value)],
    cluster: &mut ClusterSnapshot,
) {
    for (i, (path, doc)) in documents.iter().enumerate() {
        let source = Source {
            file: format!("{origin}/{path}"),
            line: None,
        };
        match objects_from_document(doc.clone(), &source, i) {
            Ok(objs) => cluster.objects.extend(objs),
            Err(m) => cluster.errors.push(LoadError {
                file: source.file,
                line: None,
                column: None,
                message: m,
            }),
        }
    }
}

/// Reads a cluster's Kubernetes side (when a client could be built) and joins its cloud side.
/// `refused`: what to add when the API server refuses the token (HTTP 401).
#[allow(clippy::too_many_arguments)]
async fn read(
    client: Result<kube::Client, String>,
    refused: Option<&str>,
    name: &str,
    origin: String,
    provider: Provider,
    live: &LiveOptions,
    documents: &[(String, serde_json::Value)],
    gaps: &[Gap],
) -> (ClusterSnapshot, Option<LiveCollection>) {
    let read = match client {
        Ok(client) => collect_with(client, name, live)
            .await
            .map_err(|e| match refused {
                Some(why) if e.0.contains("HTTP 401") => format!("{}; {why}", e.0),
                _ => e.0,
            }),
        Err(e) => Err(e),
    };
    let (mut cluster, collection) = match read {
        Ok(col) => (col.snapshot.clone(), Some(col)),
        Err(e) => {
            let mut cluster = ClusterSnapshot::default();
            cluster.errors.push(LoadError {
                file: origin.clone(),
                line: None,
                column: None,
                message: format!(
                    "Kubernetes API not read ({e}); only the cloud side of this cluster is assessed"
                ),
            });
            cluster.coverage_gaps = KUBERNETES_KINDS.iter().map(|k| k.to_string()).collect();
            (cluster, None)
        }
    };
    cluster.info.name = name.to_string();
    cluster.info.provider = provider;
    cluster.origin = origin;
    for g in gaps {
        cluster.errors.push(LoadError {
            file: cluster.origin.clone(),
            line: None,
            column: None,
            message: g.message.clone(),
        });
    }
    let origin = cluster.origin.clone();
    cloud_objects(&origin, documents, &mut cluster);
    (cluster, collection)
}

/// What an EKS API server's 401 most often means: the token (minted from kspm's IAM identity)
/// was valid, but the cluster maps that identity to no Kubernetes user.
const EKS_REFUSED: &str = "most often the cluster maps kspm's IAM identity to no Kubernetes user: give it an access entry (`aws eks create-access-entry --kubernetes-groups kspm-readers`, with kspm's ClusterRole from `kspm collector-rbac` bound to that group), or map it in kube-system/aws-auth while the authentication mode reads it; a clock far off also makes the minted token invalid";

/// Reads an EKS cluster.
pub async fn collect(
    c: &EksCluster,
    name: &str,
    live: &LiveOptions,
    now_unix: i64,
) -> (ClusterSnapshot, Option<LiveCollection>) {
    let origin = format!("aws://{}/{}/{}", c.account, c.region, c.name);
    let (mut cluster, col) = read(
        client(c, now_unix),
        Some(EKS_REFUSED),
        name,
        origin,
        Provider::Eks,
        live,
        &c.documents,
        &c.gaps,
    )
    .await;
    cluster.info.region = Some(c.region.clone());
    cluster.info.account = Some(c.account.clone());
    if cluster.info.kubernetes_version.is_none() {
        cluster.info.kubernetes_version = c
            .documents
            .first()
            .and_then(|(_, d)| d.pointer("/cluster/version"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
    }
    (cluster, col)
}

/// Reads a GKE or AKS cluster.
pub async fn collect_cloud_cluster(
    c: &CloudCluster,
    name: &str,
    live: &LiveOptions,
) -> (ClusterSnapshot, Option<LiveCollection>) {
    let origin = format!(
        "{}://{}/{}/{}",
        c.provider.as_str(),
        c.account,
        c.region,
        c.name
    );
    // The token is asked for now, not at discovery, when a long fleet could leave it near
    // its end.
    let client = match (&c.endpoint, &c.token_client) {
        (None, _) => Err("the provider gave no API server endpoint".to_string()),
        (_, None) => Err("no token for the API server".to_string()),
        (Some(e), Some(source)) => match source.token().await {
            Ok(t) => kube_client(e, c.ca_data.as_deref(), t),
            Err(why) => Err(format!("no token for the API server: {why}")),
        },
    };
    let refused = c.token_client.as_ref().map(|s| s.token_source().refused());
    let (mut cluster, col) = read(
        client,
        refused.as_deref(),
        name,
        origin,
        c.provider,
        live,
        &c.documents,
        &c.gaps,
    )
    .await;
    cluster.info.region = Some(c.region.clone());
    cluster.info.account = Some(c.account.clone());
    (cluster, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An API server that refuses the token (401) leaves the cluster with its cloud side, an
    /// error that says what the 401 means for this token's source, and every Kubernetes kind a
    /// coverage gap. Negative: another failure gets no such words.
    #[tokio::test]
    async fn a_refused_token_says_what_to_do() {
        let unauthorized = super::super::rest::tests::answering(
            401,
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#,
        );
        let forbidden = super::super::rest::tests::answering(403, r#"{"message":"forbidden"}"#);
        for (endpoint, refused) in [(unauthorized, true), (forbidden, false)] {
            let client = kube_client(&endpoint, None, "token".into());
            let (cluster, col) = read(
                client,
                Some(EKS_REFUSED),
                "c",
                "aws://1/r/c".into(),
                Provider::Eks,
                &LiveOptions::default(),
                &[],
                &[],
            )
            .await;
            assert!(col.is_none());
            let message = &cluster.errors[0].message;
            assert_eq!(message.contains("HTTP 401"), refused, "{message}");
            assert_eq!(
                message.contains("give it an access entry"),
                refused,
                "{message}"
            );
            assert!(cluster.coverage_gaps.iter().any(|k| k == "Secret"));
        }
    }

    #[test]
    fn ca_bundle_decodes_to_der() {
        let engine = base64::engine::general_purpose::STANDARD;
        let der = b"\x30\x03\x02\x01\x01";
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            engine.encode(der)
        );
        let certs = ca_certificates(&engine.encode(pem)).expect("ca");
        assert_eq!(certs, vec![der.to_vec()]);
        assert!(ca_certificates("not base64!").is_err());
        assert!(ca_certificates(&engine.encode("no pem here")).is_err());
    }
}
