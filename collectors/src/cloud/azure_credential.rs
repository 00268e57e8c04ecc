//! Entra ID tokens through Microsoft's own library (`azure_identity`), selected from the
//! environment as `DefaultAzureCredential` does in Azure's other SDKs: a service principal's
//! client secret (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`) or certificate
//! (`AZURE_CLIENT_CERTIFICATE_PATH`), workload identity (`AZURE_FEDERATED_TOKEN_FILE` with the
//! same IDs, as AKS injects them), else the managed identity and then the Azure CLI's login
//! (see [`super::rest::TokenSource::Chain`]). `AZURE_AUTHORITY_HOST` moves the Entra endpoint
//! (sovereign clouds; tests).
//!
//! A certificate is exchanged through the library's client-assertion credential with an
//! assertion signed here (RS256 with aws-lc-rs, as the library's own certificate credential
//! signs it through OpenSSL, which this build does not link): a PEM file holding the
//! certificate and its RSA private key, as `az ad sp create-for-rbac --create-cert` writes it.
//!
//! This module says which credential it is, for messages (never a secret or token), and what
//! to do when it gives none.

use azure_core::credentials::{Secret, TokenCredential};
use base64::Engine;
use std::sync::Arc;
use std::time::Duration;

/// How long one token request may take (the CLI may be slow to start).
const TOKEN_TIMEOUT: Duration = Duration::from_secs(60);

/// Which credential.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    ClientSecret {
        tenant: String,
        client: String,
    },
    ClientCertificate {
        tenant: String,
        client: String,
        path: String,
    },
    WorkloadIdentity {
        client: String,
    },
    ManagedIdentity {
        endpoint: String,
    },
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

    /// A service principal's certificate (a PEM file with the certificate and its RSA key).
    pub fn client_certificate(
        tenant: &str,
        client: &str,
        path: &str,
        authority: &str,
        scope: &str,
    ) -> AzureCredential {
        let assertion = CertificateAssertion::read(path, tenant, client, authority);
        AzureCredential {
            credential: assertion.and_then(|a| {
                azure_identity::ClientAssertionCredential::new(
                    tenant.to_string(),
                    client.to_string(),
                    a,
                    None,
                )
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| one_line(&e))
            }),
            kind: Kind::ClientCertificate {
                tenant: tenant.to_string(),
                client: client.to_string(),
                path: path.to_string(),
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

    /// The managed identity of an App Service, Container Apps, Functions, Azure Arc or Service
    /// Fabric host — where the platform gives an identity endpoint (`IDENTITY_ENDPOINT`,
    /// `MSI_ENDPOINT`) rather than IMDS — or, with `client`, that user-assigned identity.
    pub fn managed_identity(endpoint: &str, client: Option<&str>, scope: &str) -> AzureCredential {
        let options = azure_identity::ManagedIdentityCredentialOptions {
            user_assigned_id: client
                .map(|c| azure_identity::UserAssignedId::ClientId(c.to_string())),
            ..Default::default()
        };
        AzureCredential {
            credential: azure_identity::ManagedIdentityCredential::new(Some(options))
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| one_line(&e)),
            kind: Kind::ManagedIdentity {
                endpoint: endpoint.to_string(),
            },
            scope: scope.to_string(),
        }
    }

    /// The Azure CLI's signed-in account (`az account get-access-token`).
    pub fn cli(scope: &str) -> AzureCredential {
        let options = azure_identity::AzureCliCredentialOptions {
            executor: Some(Arc::new(KillOnDrop)),
            ..Default::default()
        };
        AzureCredential {
            credential: azure_identity::AzureCliCredential::new(Some(options))
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
            Kind::ClientCertificate { tenant, client, path } => format!(
                "the certificate of {client} in tenant {tenant} (AZURE_CLIENT_CERTIFICATE_PATH: {path})"
            ),
            Kind::WorkloadIdentity { client } => {
                format!("Azure workload identity (client {client}, AZURE_FEDERATED_TOKEN_FILE)")
            }
            Kind::ManagedIdentity { endpoint } => {
                format!("the Azure managed identity (identity endpoint {endpoint})")
            }
            Kind::Cli => "the Azure CLI's login (az account get-access-token)".into(),
        }
    }

    /// What to do when it gives no token, or its token is refused.
    pub fn remedy(&self) -> String {
        match &self.kind {
            Kind::ClientSecret { .. } => "check AZURE_TENANT_ID, AZURE_CLIENT_ID and that the secret has not expired (`az ad app credential list --id <client>`)".into(),
            Kind::ClientCertificate { .. } => "the file must hold the certificate and its unencrypted RSA private key in PEM (convert a .pfx with `openssl pkcs12 -in cert.pfx -nodes -out cert.pem`), and the certificate must be one of the app's credentials (`az ad app credential list --id <client> --cert`)".into(),
            Kind::WorkloadIdentity { .. } => "check that AZURE_FEDERATED_TOKEN_FILE is the pod's projected token, and that the identity AZURE_CLIENT_ID of AZURE_TENANT_ID has a federated credential for this cluster's issuer and kspm's ServiceAccount".into(),
            Kind::ManagedIdentity { .. } => "assign the app or server a managed identity (system-assigned, or the user-assigned one AZURE_CLIENT_ID names) and give it kspm's reader roles".into(),
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

/// Runs the Azure CLI with no input, and kills it when kspm stops waiting for it (the
/// library's own executor would leave an `az` that outlived the token timeout running).
#[derive(Debug)]
struct KillOnDrop;

#[async_trait::async_trait]
impl azure_identity::Executor for KillOnDrop {
    async fn run(
        &self,
        program: &std::ffi::OsStr,
        args: &[&std::ffi::OsStr],
    ) -> std::io::Result<std::process::Output> {
        tokio::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
    }
}

/// A client assertion signed with a service principal's certificate: a JWT whose header names
/// the certificate by its SHA-1 thumbprint (`x5t`, as Entra ID matches it) and whose claims say
/// who (`iss`, `sub`: the client), for which token endpoint (`aud`) and for how long, signed
/// RS256 with the certificate's key. A fresh one per token request.
struct CertificateAssertion {
    key: aws_lc_rs::rsa::KeyPair,
    thumbprint: String,
    client: String,
    audience: String,
}

impl std::fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "certificate {} of {}", self.thumbprint, self.client)
    }
}

impl CertificateAssertion {
    /// From a PEM file with the certificate (the first one) and its RSA private key (PKCS#8 or
    /// PKCS#1). Errors never carry the key.
    fn read(path: &str, tenant: &str, client: &str, authority: &str) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {path}: {e} (a PEM file is expected)"))?;
        let cert = super::jwt::pem_blocks(&text, "CERTIFICATE")
            .into_iter()
            .next()
            .ok_or_else(|| format!("{path} holds no PEM certificate"))?;
        let key = super::jwt::rsa_key(&text).ok_or_else(|| {
            format!("{path} holds no unencrypted RSA private key (PRIVATE KEY or RSA PRIVATE KEY)")
        })?;
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &cert);
        Ok(CertificateAssertion {
            key,
            thumbprint: base64::engine::general_purpose::STANDARD.encode(sha1.as_ref()),
            client: client.to_string(),
            audience: format!(
                "{}/{tenant}/oauth2/v2.0/token",
                authority.trim_end_matches('/')
            ),
        })
    }

    fn sign(&self) -> Result<String, String> {
        let now = super::jwt::now()?;
        super::jwt::sign_rs256(
            &self.key,
            serde_json::json!({"x5t": self.thumbprint}),
            &serde_json::json!({
                "aud": self.audience, "iss": self.client, "sub": self.client,
                "jti": super::jwt::random_id()?, "nbf": now, "iat": now, "exp": now + 600,
            }),
        )
    }
}

#[async_trait::async_trait]
impl azure_identity::ClientAssertion for CertificateAssertion {
    async fn secret(
        &self,
        _: Option<azure_core::http::ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        self.sign().map_err(|m| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, m)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_identity::Executor;

    /// A command kspm stops waiting for is killed, not left running.
    #[tokio::test]
    async fn an_abandoned_command_is_killed() {
        let dir = tempfile::tempdir().expect("tmp");
        let pid_file = dir.path().join("pid");
        let script = format!("echo $$ > {}; exec sleep 30", pid_file.display());
        let sh = std::ffi::OsStr::new("/bin/sh");
        let args = [std::ffi::OsStr::new("-c"), std::ffi::OsStr::new(&script)];
        let waited =
            tokio::time::timeout(Duration::from_millis(500), KillOnDrop.run(sh, &args)).await;
        assert!(waited.is_err(), "the command should still be running");
        let pid = std::fs::read_to_string(&pid_file).expect("pid");
        let proc_dir = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
        let mut gone = false;
        for _ in 0..50 {
            let state = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
            // Gone, or a zombie waiting to be reaped.
            if state.is_empty() || state.split_whitespace().nth(2) == Some("Z") {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gone, "the abandoned command is still running");
    }
}
