//! A thin JSON-over-HTTPS client for the Google and Azure management APIs: bearer tokens from
//! a [`TokenSource`] (cached until shortly before expiry), retries of 429 and 5xx answers that
//! honour `Retry-After`, timeouts, and errors that carry the provider's own message. Every
//! request is logged as `<method> <path>` so tests can prove the collector only reads.

use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where bearer tokens come from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// A token given as is (`GOOGLE_OAUTH_ACCESS_TOKEN`, `AZURE_ACCESS_TOKEN`; tests).
    Static(String),
    /// The GCE/GKE metadata server (`…/instance/service-accounts/default/token`), which serves
    /// the Workload Identity or node service account kspm runs as.
    GcpMetadata {
        /// Base URL (default `http://metadata.google.internal`).
        base: String,
    },
    /// Azure workload identity: the projected Kubernetes token in `AZURE_FEDERATED_TOKEN_FILE`
    /// exchanged at Entra ID for the app `AZURE_CLIENT_ID` of `AZURE_TENANT_ID`.
    AzureWorkloadIdentity {
        /// `AZURE_AUTHORITY_HOST` (default `https://login.microsoftonline.com`).
        authority: String,
        /// Tenant.
        tenant: String,
        /// Client ID.
        client: String,
        /// Projected token file.
        token_file: String,
        /// Scope (`https://management.azure.com/.default`).
        scope: String,
    },
    /// Azure managed identity through IMDS.
    AzureManagedIdentity {
        /// Base URL (default `http://169.254.169.254`).
        base: String,
        /// Resource (`https://management.azure.com/`).
        resource: String,
    },
}

/// Why a request failed.
#[derive(Debug, Clone)]
pub struct RestError {
    /// HTTP status (0: no answer).
    pub status: u16,
    /// The provider's message.
    pub message: String,
}

impl std::fmt::Display for RestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.status == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "HTTP {}: {}", self.status, self.message)
        }
    }
}

/// The client.
#[derive(Clone)]
pub struct RestClient {
    http: reqwest::Client,
    token: TokenSource,
    cached: Arc<Mutex<Option<(String, Instant)>>>,
    log: Arc<Mutex<Vec<String>>>,
}

fn message_of(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    v.pointer("/error/message")
        .or_else(|| v.pointer("/message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| body.chars().take(200).collect())
}

impl RestClient {
    /// A client with this token source.
    pub fn new(token: TokenSource) -> Result<RestClient, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(RestClient {
            http,
            token,
            cached: Arc::default(),
            log: Arc::default(),
        })
    }

    /// `<METHOD> <path>` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// A bearer token (cached).
    pub async fn token(&self) -> Result<String, RestError> {
        if let Ok(c) = self.cached.lock() {
            if let Some((t, until)) = c.as_ref() {
                if Instant::now() < *until {
                    return Ok(t.clone());
                }
            }
        }
        let (token, ttl) = self.fetch_token().await?;
        if let Ok(mut c) = self.cached.lock() {
            *c = Some((
                token.clone(),
                Instant::now() + ttl.saturating_sub(Duration::from_secs(120)),
            ));
        }
        Ok(token)
    }

    async fn fetch_token(&self) -> Result<(String, Duration), RestError> {
        let fail = |m: String| RestError {
            status: 0,
            message: m,
        };
        let (req, what) = match &self.token {
            TokenSource::Static(t) => return Ok((t.clone(), Duration::from_secs(3000))),
            TokenSource::GcpMetadata { base } => (
                self.http
                    .get(format!(
                        "{base}/computeMetadata/v1/instance/service-accounts/default/token"
                    ))
                    .header("Metadata-Flavor", "Google"),
                "the GCP metadata server",
            ),
            TokenSource::AzureManagedIdentity { base, resource } => (
                self.http
                    .get(format!("{base}/metadata/identity/oauth2/token"))
                    .query(&[
                        ("api-version", "2018-02-01"),
                        ("resource", resource.as_str()),
                    ])
                    .header("Metadata", "true"),
                "Azure IMDS",
            ),
            TokenSource::AzureWorkloadIdentity {
                authority,
                tenant,
                client,
                token_file,
                scope,
            } => {
                let assertion = std::fs::read_to_string(token_file)
                    .map_err(|e| fail(format!("{token_file}: {e}")))?;
                (
                    self.http
                        .post(format!("{authority}/{tenant}/oauth2/v2.0/token"))
                        .form(&[
                            ("grant_type", "client_credentials"),
                            ("client_id", client.as_str()),
                            ("scope", scope.as_str()),
                            (
                                "client_assertion_type",
                                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                            ),
                            ("client_assertion", assertion.trim()),
                        ]),
                    "Entra ID (workload identity)",
                )
            }
        };
        let resp = req
            .send()
            .await
            .map_err(|e| fail(format!("no token from {what}: {e}")))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        if status >= 300 {
            return Err(RestError {
                status,
                message: format!("no token from {what}: {}", message_of(&body)),
            });
        }
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| fail(format!("token answer of {what}: {e}")))?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| fail(format!("{what} returned no access_token")))?;
        let ttl = v
            .get("expires_in")
            .and_then(|x| {
                x.as_u64()
                    .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(3000);
        Ok((token.to_string(), Duration::from_secs(ttl)))
    }

    /// GET a JSON document.
    pub async fn get(&self, url: &str) -> Result<Value, RestError> {
        self.send(reqwest::Method::GET, url, None).await
    }

    /// POST a JSON body (the read-only `getIamPolicy` and `listClusterUserCredential` calls).
    pub async fn post(&self, url: &str, body: &Value) -> Result<Value, RestError> {
        self.send(reqwest::Method::POST, url, Some(body)).await
    }

    /// POST with an empty body (methods whose parameters are all in the URL).
    pub async fn post_empty(&self, url: &str) -> Result<Value, RestError> {
        self.send(reqwest::Method::POST, url, None).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, RestError> {
        let path = url
            .split("://")
            .nth(1)
            .and_then(|r| r.split_once('/'))
            .map(|(_, p)| p)
            .unwrap_or("");
        let path = path.split('?').next().unwrap_or("");
        if let Ok(mut l) = self.log.lock() {
            l.push(format!("{method} /{path}"));
        }
        let token = self.token().await?;
        let mut attempt = 0u32;
        loop {
            let mut req = self.http.request(method.clone(), url).bearer_auth(&token);
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req.send().await;
            let (status, retry_after, text) = match resp {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let retry_after = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    (status, retry_after, r.text().await.unwrap_or_default())
                }
                Err(e) if attempt < 3 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                    let _ = e;
                    continue;
                }
                Err(e) => {
                    return Err(RestError {
                        status: 0,
                        message: format!("{url}: {e}"),
                    })
                }
            };
            if (status == 429 || status >= 500) && attempt < 4 {
                attempt += 1;
                let wait = retry_after.map_or(
                    Duration::from_millis(250 * u64::from(attempt)),
                    Duration::from_secs,
                );
                tokio::time::sleep(wait.min(Duration::from_secs(30))).await;
                continue;
            }
            if status >= 300 {
                return Err(RestError {
                    status,
                    message: message_of(&text),
                });
            }
            return serde_json::from_str(&text).map_err(|e| RestError {
                status,
                message: format!("{url}: not JSON: {e}"),
            });
        }
    }
}
