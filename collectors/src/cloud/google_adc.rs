//! Google credentials the way users already have them: Application Default Credentials through
//! Google's own auth library (`google-cloud-auth`, the one the `google-cloud-*` clients use). It
//! looks where `gcloud` and every Google client look (AIP-4110): the file named by
//! `GOOGLE_APPLICATION_CREDENTIALS`, else `gcloud auth application-default login`'s file, else
//! the GCE/GKE metadata server; and it reads every kind of file they write — a user's refresh
//! token (`authorized_user`), a service-account key (a self-signed JWT, no token endpoint), an
//! impersonated service account (`--impersonate-service-account`), workload identity
//! federation (`external_account`) — refreshing and caching the tokens itself.
//!
//! One exception: a service-account key. The library signs a JWT with it and sends that as
//! the token, which some Google APIs accept but GKE's API server does not (it takes OAuth
//! access tokens); so the key's JWT is exchanged here at its `token_uri` for an access token
//! (the JWT bearer grant, RFC 7523), as gcloud does.
//!
//! This module only says which of those it found, for messages (never a token, key or refresh
//! token), and what to do when it gives none.

use google_cloud_auth::credentials::{mds, AccessTokenCredentials, Builder};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long one token request may take (the metadata server of a machine outside Google does
/// not answer at all).
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the credentials were found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    /// A credentials file: from `GOOGLE_APPLICATION_CREDENTIALS` or gcloud's well-known path;
    /// its `type`, and whom it names (an e-mail or audience; never a secret).
    File {
        path: PathBuf,
        from_env: bool,
        kind: String,
        names: Option<String>,
        /// Its `quota_project_id` (gcloud writes the project set when it logged in).
        quota_project: Option<String>,
    },
    /// The metadata server at this address (`configured`: kspm's, else the library's choice).
    Metadata { endpoint: String, configured: bool },
}

/// What gives the tokens.
#[derive(Clone)]
enum Provider {
    /// Google's library.
    Library(AccessTokenCredentials),
    /// A service-account key, exchanged at its token endpoint.
    Key(Arc<ServiceAccountKey>),
}

/// Application Default Credentials, as found in this process's environment. The library's
/// credentials are built on the first token request: they start a refresh task on the Tokio
/// runtime that builds them.
#[derive(Clone)]
pub struct GoogleAdc {
    credentials: Arc<tokio::sync::OnceCell<Result<Provider, String>>>,
    origin: Arc<Origin>,
}

/// A service-account key file's identity and key (never printed).
struct ServiceAccountKey {
    email: String,
    key_id: String,
    key: aws_lc_rs::rsa::KeyPair,
    token_uri: String,
    http: reqwest::Client,
}

impl ServiceAccountKey {
    fn read(path: &std::path::Path) -> Result<ServiceAccountKey, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|_| format!("{} is not JSON", path.display()))?;
        let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let key = super::jwt::rsa_key(&field("private_key"))
            .ok_or_else(|| format!("{} holds no RSA private_key", path.display()))?;
        let token_uri = Some(field("token_uri"))
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into());
        Ok(ServiceAccountKey {
            email: field("client_email"),
            key_id: field("private_key_id"),
            key,
            token_uri,
            http: reqwest::Client::builder()
                .timeout(TOKEN_TIMEOUT)
                .build()
                .map_err(|e| format!("cannot build an HTTP client: {e}"))?,
        })
    }

    /// An access token for the cloud-platform scope, and how long it lasts.
    async fn token(&self) -> Result<(String, Duration), String> {
        let now = super::jwt::now()?;
        let assertion = super::jwt::sign_rs256(
            &self.key,
            serde_json::json!({"kid": self.key_id}),
            &serde_json::json!({
                "iss": self.email, "aud": self.token_uri, "iat": now, "exp": now + 3600,
                "scope": "https://www.googleapis.com/auth/cloud-platform",
            }),
        )?;
        let resp = self
            .http
            .post(&self.token_uri)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| format!("{}: no answer ({})", self.token_uri, e.without_url()))?;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
        if status >= 300 {
            // OAuth's error fields only: the rest of an answer is not repeated.
            return Err(format!(
                "{}: HTTP {status}: {} {}",
                self.token_uri,
                text("error"),
                text("error_description")
            )
            .trim_end()
            .to_string());
        }
        let token = text("access_token");
        if token.is_empty() {
            return Err(format!(
                "{}: the answer holds no access_token",
                self.token_uri
            ));
        }
        let ttl = v.get("expires_in").and_then(Value::as_u64).unwrap_or(3000);
        Ok((token.to_string(), Duration::from_secs(ttl)))
    }
}

impl std::fmt::Debug for GoogleAdc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source())
    }
}

/// gcloud's well-known ADC file (`gcloud auth application-default login` writes it).
fn well_known() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    Some(PathBuf::from(home).join(".config/gcloud/application_default_credentials.json"))
}

/// The `type` of a credentials file, whom it names and its quota project, read without
/// keeping anything else.
fn describe_file(path: &std::path::Path) -> (String, Option<String>, Option<String>) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return (String::new(), None, None);
    };
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let kind = field("type").unwrap_or_default();
    let names = match kind.as_str() {
        "service_account" => field("client_email"),
        // `…/projects/-/serviceAccounts/<email>:generateAccessToken`
        "impersonated_service_account" => field("service_account_impersonation_url").map(|u| {
            u.rsplit('/')
                .next()
                .unwrap_or("")
                .trim_end_matches(":generateAccessToken")
                .to_string()
        }),
        "external_account" => field("audience"),
        _ => None,
    };
    (
        kind,
        names.filter(|n| !n.is_empty()),
        field("quota_project_id").filter(|q| !q.is_empty()),
    )
}

impl GoogleAdc {
    /// The credentials Google's library finds in this environment: a credentials file, else
    /// the metadata server — at `metadata_endpoint` when given (kspm's `[gcp]
    /// metadata_endpoint`), else where the library looks (`GCE_METADATA_HOST`, else
    /// `metadata.google.internal`).
    pub fn from_environment(metadata_endpoint: Option<&str>) -> GoogleAdc {
        let from_env = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").map(PathBuf::from);
        let file = match from_env {
            Some(p) => Some((p, true)),
            None => well_known().filter(|p| p.is_file()).map(|p| (p, false)),
        };
        let Some((path, from_env)) = file else {
            return GoogleAdc::metadata_server(metadata_endpoint);
        };
        let (kind, names, quota_project) = describe_file(&path);
        GoogleAdc::of(Origin::File {
            path,
            from_env,
            kind,
            names,
            quota_project,
        })
    }

    /// The project Google bills and rate-limits these credentials' API calls to, sent as
    /// `x-goog-user-project` (user credentials need one for some APIs):
    /// `GOOGLE_CLOUD_QUOTA_PROJECT`, else the file's `quota_project_id` — as the library
    /// chooses it.
    pub fn quota_project(&self) -> Option<String> {
        std::env::var("GOOGLE_CLOUD_QUOTA_PROJECT")
            .ok()
            .filter(|q| !q.is_empty())
            .or_else(|| match self.origin.as_ref() {
                Origin::File { quota_project, .. } => quota_project.clone(),
                Origin::Metadata { .. } => None,
            })
    }

    /// The metadata server's credentials only: at `endpoint` when given, else where the
    /// library looks (`GCE_METADATA_HOST`, else `metadata.google.internal`).
    pub fn metadata_server(endpoint: Option<&str>) -> GoogleAdc {
        // The library prefers GCE_METADATA_HOST to an endpoint it is given: say what it asks.
        let from_env = std::env::var("GCE_METADATA_HOST")
            .ok()
            .filter(|h| !h.is_empty());
        GoogleAdc::of(match endpoint {
            Some(e) if from_env.is_none() => Origin::Metadata {
                endpoint: e.to_string(),
                configured: true,
            },
            _ => Origin::Metadata {
                endpoint: from_env
                    .map(|h| format!("http://{h} (GCE_METADATA_HOST)"))
                    .unwrap_or_else(|| "http://metadata.google.internal".into()),
                configured: false,
            },
        })
    }

    fn of(origin: Origin) -> GoogleAdc {
        GoogleAdc {
            credentials: Arc::default(),
            origin: Arc::new(origin),
        }
    }

    /// The provider for the origin (in a Tokio runtime).
    fn build(&self) -> Result<Provider, String> {
        let built = match self.origin.as_ref() {
            Origin::File { path, kind, .. } if kind == "service_account" => {
                return ServiceAccountKey::read(path).map(|k| Provider::Key(Arc::new(k)));
            }
            // The library reads the same file again, as every Google client does.
            Origin::File { .. } => Builder::default().build_access_token_credentials(),
            Origin::Metadata {
                endpoint,
                configured: true,
            } => mds::Builder::default()
                .with_endpoint(endpoint)
                .build_access_token_credentials(),
            Origin::Metadata { .. } => mds::Builder::default().build_access_token_credentials(),
        };
        built.map(Provider::Library).map_err(|e| one_line(&e))
    }

    /// What the credentials are, for messages.
    pub fn source(&self) -> String {
        match self.origin.as_ref() {
            Origin::Metadata { endpoint, .. } => format!("the GCP metadata server ({endpoint})"),
            Origin::File {
                path,
                from_env,
                kind,
                names,
                ..
            } => {
                let what = match kind.as_str() {
                    "authorized_user" => "user credentials".to_string(),
                    "service_account" => "the service-account key".to_string(),
                    "impersonated_service_account" => {
                        "impersonated service-account credentials".to_string()
                    }
                    "external_account" => "workload identity federation credentials".to_string(),
                    "" => "the credentials file".to_string(),
                    other => format!("{other} credentials"),
                };
                let names = names
                    .as_ref()
                    .map(|n| format!(" for {n}"))
                    .unwrap_or_default();
                let whence = if *from_env {
                    "GOOGLE_APPLICATION_CREDENTIALS"
                } else {
                    "gcloud application-default credentials"
                };
                format!("{what}{names} ({whence}: {})", path.display())
            }
        }
    }

    /// What to do when these credentials give no token, or their token is refused.
    pub fn remedy(&self) -> String {
        match self.origin.as_ref() {
            Origin::Metadata { .. } => "kspm is not on GCE or GKE, or no service account is attached there: on a workstation run `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS to a credentials file); on GKE, give kspm's ServiceAccount a Google service account through Workload Identity".into(),
            Origin::File { kind, from_env, .. } => match kind.as_str() {
                "authorized_user" => "run `gcloud auth application-default login` again (the login was revoked or has expired)".into(),
                "service_account" => "check that the key still exists and is enabled (`gcloud iam service-accounts keys list --iam-account=…`); better, use workload identity instead of a key".into(),
                "impersonated_service_account" => "the signed-in account needs roles/iam.serviceAccountTokenCreator on the impersonated service account; run `gcloud auth application-default login --impersonate-service-account=…` again".into(),
                "external_account" => "check the file's credential_source (the token it reads must exist and be fresh) and that the workload identity pool provider accepts it".into(),
                _ if *from_env => "GOOGLE_APPLICATION_CREDENTIALS must name a credentials file gcloud or the Cloud console wrote: `gcloud auth application-default login`, a service-account key, or `gcloud iam workload-identity-pools create-cred-config`".into(),
                _ => "run `gcloud auth application-default login` again".into(),
            },
        }
    }

    /// A token and how long it may be kept (zero: the library caches and refreshes it, so ask
    /// it every time).
    pub async fn token(&self) -> Result<(String, Duration), String> {
        let provider = self
            .credentials
            .get_or_init(|| async { self.build() })
            .await
            .as_ref()
            .map_err(Clone::clone)?;
        let credentials = match provider {
            Provider::Key(key) => return key.token().await,
            Provider::Library(c) => c,
        };
        match tokio::time::timeout(TOKEN_TIMEOUT, credentials.access_token()).await {
            Err(_) => Err("no answer (timed out)".into()),
            Ok(Err(e)) => Err(one_line(&e)),
            Ok(Ok(t)) => Ok((t.token, Duration::ZERO)),
        }
    }
}

/// The library's words that say nothing about the cause (its retry advice is for programs).
const GENERIC: &[&str] = &[
    "Request to fetch the token failed. Subsequent calls with this credential will also fail.",
    "and future attempts will not succeed",
    "but future attempts may succeed",
    "cannot create the authentication headers",
];

/// The library quotes answers as `body=<…>`: a token endpoint's error, but also a subject-token
/// source's whole JSON, which holds the token. Only OAuth's `error` and `error_description` are
/// kept of one.
fn redact_bodies(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("body=<") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "body=<".len()..];
        let (body, next) = match after.find('>') {
            Some(end) => (&after[..end], &after[end + 1..]),
            None => (after, ""),
        };
        let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let kept: Vec<&str> = ["error", "error_description"]
            .iter()
            .filter_map(|k| v.get(*k).and_then(Value::as_str))
            .collect();
        let shown = if kept.is_empty() {
            "…".to_string()
        } else {
            kept.join(": ")
        };
        out.push_str(&format!("body=<{shown}>"));
        rest = next;
    }
    out.push_str(rest);
    out
}

/// An error and its causes on one line, without the library's generic words or repeats, and
/// without the answers it quotes (see [`redact_bodies`]).
fn one_line(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause = Some(e);
    while let Some(c) = cause {
        let mut text = c.to_string();
        for g in GENERIC {
            text = text.replace(g, "");
        }
        let text = redact_bodies(&text.split_whitespace().collect::<Vec<_>>().join(" "));
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = c.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the library quotes of an answer keeps OAuth's error words and nothing else: a
    /// subject-token source's JSON (which holds the token) is not repeated.
    #[test]
    fn quoted_answers_keep_only_oauth_error_words() {
        assert_eq!(
            redact_bodies(
                r#"failed to refresh, body=<{"error":"invalid_grant","error_description":"Token has been expired or revoked."}>: HTTP 400"#
            ),
            "failed to refresh, body=<invalid_grant: Token has been expired or revoked.>: HTTP 400"
        );
        let leaked = redact_bodies(
            r#"field not found, body=<{"id_token":"subject-token-canary","expires":1}> and then"#,
        );
        assert!(!leaked.contains("canary"), "{leaked}");
        assert_eq!(leaked, "field not found, body=<…> and then");
        assert!(!redact_bodies("cut body=<{\"access_token\":\"canary").contains("canary"));
    }
}
