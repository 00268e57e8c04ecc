//! Entra ID tokens through Microsoft's own library (`azure_identity`), selected from the
//! environment as `DefaultAzureCredential` does in Azure's other SDKs: a service principal's
//! client secret (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`), workload
//! identity (`AZURE_FEDERATED_TOKEN_FILE` with the same IDs, as AKS injects them), else the
//! managed identity and then the Azure CLI's login (see [`super::rest::TokenSource::Chain`]).
//! `AZURE_AUTHORITY_HOST` moves the Entra endpoint (sovereign clouds; tests).
//!
//! This module says which credential it is, for messages (never a secret or token), and what
//! to do when it gives none.

use azure_core::credentials::{Secret, TokenCredential};
use std::sync::Arc;
use std::time::Duration;

/// How long one token request may take (the CLI may be slow to start).
const TOKEN_TIMEOUT: Duration = Duration::from_secs(60);

/// Which credential.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    ClientSecret { tenant: String, client: String },
    WorkloadIdentity { client: String },
    Cli,
}

/// One `azure_identity` credential and the scope kspm asks it for.
#[derive(Clone)]
pub struct AzureCredential {
    credential: Result<Arc<dyn TokenCredential>, String>,
    kind: Kind,
    scope: String,
}

impl std::fmt::Debug for AzureCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source())
    }
}

/// An `azure_core` error on one line (the library ends some with a troubleshooting link).
fn one_line(e: &azure_core::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl AzureCredential {
    /// A service principal's client secret.
    pub fn client_secret(
        tenant: &str,
        client: &str,
        secret: String,
        scope: &str,
    ) -> AzureCredential {
        AzureCredential {
            credential: azure_identity::ClientSecretCredential::new(
                tenant,
                client.to_string(),
                Secret::new(secret),
                None,
            )
            .map(|c| c as Arc<dyn TokenCredential>)
            .map_err(|e| one_line(&e)),
            kind: Kind::ClientSecret {
                tenant: tenant.to_string(),
                client: client.to_string(),
            },
            scope: scope.to_string(),
        }
    }

    /// Workload identity: the projected token in `AZURE_FEDERATED_TOKEN_FILE` exchanged for
    /// the app `AZURE_CLIENT_ID`'s token of `AZURE_TENANT_ID`.
    pub fn workload_identity(client: &str, scope: &str) -> AzureCredential {
        AzureCredential {
            credential: azure_identity::WorkloadIdentityCredential::new(None)
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| one_line(&e)),
            kind: Kind::WorkloadIdentity {
                client: client.to_string(),
            },
            scope: scope.to_string(),
        }
    }

    /// The Azure CLI's signed-in account (`az account get-access-token`).
    pub fn cli(scope: &str) -> AzureCredential {
        AzureCredential {
            credential: azure_identity::AzureCliCredential::new(None)
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| one_line(&e)),
            kind: Kind::Cli,
            scope: scope.to_string(),
        }
    }

    /// What the credential is, for messages.
    pub fn source(&self) -> String {
        match &self.kind {
            Kind::ClientSecret { tenant, client } => {
                format!("the client secret of {client} in tenant {tenant} (AZURE_CLIENT_SECRET)")
            }
            Kind::WorkloadIdentity { client } => {
                format!("Azure workload identity (client {client}, AZURE_FEDERATED_TOKEN_FILE)")
            }
            Kind::Cli => "the Azure CLI's login (az account get-access-token)".into(),
        }
    }

    /// What to do when it gives no token, or its token is refused.
    pub fn remedy(&self) -> String {
        match &self.kind {
            Kind::ClientSecret { .. } => "check AZURE_TENANT_ID, AZURE_CLIENT_ID and that the secret has not expired (`az ad app credential list --id <client>`)".into(),
            Kind::WorkloadIdentity { .. } => "check that AZURE_FEDERATED_TOKEN_FILE is the pod's projected token, and that the identity AZURE_CLIENT_ID of AZURE_TENANT_ID has a federated credential for this cluster's issuer and kspm's ServiceAccount".into(),
            Kind::Cli => "run `az login` (and `az account set --subscription …`), or give kspm a service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)".into(),
        }
    }

    /// A token and how long it lasts (the library caches and refreshes it).
    pub async fn token(&self) -> Result<(String, Duration), String> {
        let credential = self.credential.as_ref().map_err(Clone::clone)?;
        let scopes = [self.scope.as_str()];
        let t = match tokio::time::timeout(TOKEN_TIMEOUT, credential.get_token(&scopes, None)).await
        {
            Err(_) => return Err("no answer (timed out)".into()),
            Ok(Err(e)) => return Err(one_line(&e)),
            Ok(Ok(t)) => t,
        };
        let left = t.expires_on - azure_core::time::OffsetDateTime::now_utc();
        let ttl = Duration::from_secs(left.whole_seconds().max(0).unsigned_abs());
        Ok((t.token.secret().to_string(), ttl))
    }
}
