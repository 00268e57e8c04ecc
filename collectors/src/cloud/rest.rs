//! A thin JSON-over-HTTPS client for the Google and Azure management APIs: bearer tokens from
//! a [`TokenSource`] (cached until shortly before expiry), retries of 429 and 5xx answers that
//! honour `Retry-After`, timeouts, and errors that carry the provider's own message. Every
//! request is logged as `<method> <path>` so tests can prove the collector only reads.

use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where bearer tokens come from. Its `Debug` never shows a token.
#[derive(Clone)]
pub enum TokenSource {
    /// A token given as is (tests).
    Static(String),
    /// A token from an environment variable (`GOOGLE_OAUTH_ACCESS_TOKEN`, `AZURE_ACCESS_TOKEN`,
    /// `AZURE_AKS_ACCESS_TOKEN`).
    Env {
        /// The variable's name.
        var: String,
        /// The token.
        token: String,
    },
    /// Google's Application Default Credentials (a credentials file, or the GCE/GKE metadata
    /// server's Workload Identity or node service account), through Google's auth library.
    Google(super::google_adc::GoogleAdc),
    /// An Entra ID credential of Microsoft's `azure_identity` (client secret, workload
    /// identity, Azure CLI).
    Azure(super::azure_credential::AzureCredential),
    /// The first of these that gives a token (as `DefaultAzureCredential` tries the managed
    /// identity, then the Azure CLI); the one that did is kept. Sources are not nested.
    Chain(Chain),
    /// Azure managed identity through IMDS.
    AzureManagedIdentity {
        /// Base URL (default `http://169.254.169.254`).
        base: String,
        /// Resource (`https://management.azure.com/`).
        resource: String,
        /// The user-assigned identity to use (`AZURE_CLIENT_ID`), when the machine has several.
        client_id: Option<String>,
    },
}

/// Sources tried in order, and which one answered — shared by the chains of one identity (its
/// ARM and its AKS tokens), so that both come from the same source.
#[derive(Clone)]
pub struct Chain {
    /// The sources, in order.
    pub sources: Vec<TokenSource>,
    /// The position of the one that gave a token.
    pub chosen: Arc<Mutex<Option<usize>>>,
}

impl Chain {
    /// These sources, sharing `chosen` with other chains of the same identity.
    pub fn new(sources: Vec<TokenSource>, chosen: Arc<Mutex<Option<usize>>>) -> Chain {
        Chain { sources, chosen }
    }

    /// What each source says, in order, joined by `between`.
    fn each(&self, say: fn(&TokenSource) -> String, between: &str) -> String {
        self.sources
            .iter()
            .map(say)
            .collect::<Vec<_>>()
            .join(between)
    }
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source())
    }
}

/// The AKS server application's ID (tokens for the AKS API servers are for it).
const AKS_SERVER_APP: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";

impl TokenSource {
    /// What the source is, for messages (never the token).
    pub fn source(&self) -> String {
        match self {
            TokenSource::Static(_) => "the token given".into(),
            TokenSource::Env { var, .. } => var.clone(),
            TokenSource::Google(adc) => adc.source(),
            TokenSource::Azure(c) => c.source(),
            TokenSource::Chain(c) => c.each(TokenSource::source, ", then "),
            TokenSource::AzureManagedIdentity { base, .. } => {
                format!("the Azure managed identity (IMDS at {base})")
            }
        }
    }

    /// The quota project to name on Google API calls (`x-goog-user-project`), if any.
    pub fn quota_project(&self) -> Option<String> {
        match self {
            TokenSource::Google(adc) => adc.quota_project(),
            _ => None,
        }
    }

    /// What to say when a server refuses the source's token (HTTP 401): which source, and what
    /// to do.
    pub fn refused(&self) -> String {
        format!(
            "the token from {} was refused: {}",
            self.source(),
            self.remedy()
        )
    }

    /// What to do when the source gives no token, or its token is refused.
    pub fn remedy(&self) -> String {
        match self {
            TokenSource::Static(_) => "give a valid token".into(),
            TokenSource::Env { var, .. } if var.starts_with("GOOGLE") => format!(
                "access tokens last about an hour: run `gcloud auth login` if needed, then export {var}=\"$(gcloud auth print-access-token)\""
            ),
            TokenSource::Env { var, .. } => format!(
                "access tokens last about an hour: run `az login` if needed, then {}",
                az_export(var)
            ),
            TokenSource::Google(adc) => adc.remedy(),
            TokenSource::Azure(c) => c.remedy(),
            TokenSource::Chain(c) => c.each(TokenSource::remedy, "; or "),
            TokenSource::AzureManagedIdentity { .. } => "on Azure, assign kspm's VM or node pool a managed identity; elsewhere set up workload identity (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID) or a service principal (AZURE_CLIENT_SECRET)".into(),
        }
    }
}

/// `export VAR="$(az account get-access-token …)"` for one of kspm's Azure token variables: the
/// AKS server application's token for `AZURE_AKS_ACCESS_TOKEN`, ARM's for the others.
fn az_export(var: &str) -> String {
    let resource = if var == "AZURE_AKS_ACCESS_TOKEN" {
        format!(" --resource {AKS_SERVER_APP}")
    } else {
        String::new()
    };
    format!("export {var}=\"$(az account get-access-token{resource} --query accessToken -o tsv)\"")
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

    /// Where the client's tokens come from.
    pub fn token_source(&self) -> &TokenSource {
        &self.token
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
        let (token, ttl) = match &self.token {
            TokenSource::Chain(chain) => self.fetch_chain(chain).await?,
            one => self.fetch_token(one).await?,
        };
        if let Ok(mut c) = self.cached.lock() {
            *c = Some((
                token.clone(),
                Instant::now() + ttl.saturating_sub(Duration::from_secs(120)),
            ));
        }
        Ok(token)
    }

    /// A token from the source of a chain that gave one before, else from the first that
    /// gives one. A source is passed over only when it is not there — no answer, or (IMDS)
    /// no identity on this machine (HTTP 400/404) — as `DefaultAzureCredential` does; another
    /// failure (throttling, a refusal) is the answer. When none is there, every source's
    /// failure is said, in order.
    async fn fetch_chain(&self, chain: &Chain) -> Result<(String, Duration), RestError> {
        let chosen = chain.chosen.lock().ok().and_then(|c| *c);
        if let Some(source) = chosen.and_then(|i| chain.sources.get(i)) {
            return self.fetch_token(source).await;
        }
        let mut failures = Vec::new();
        for (i, source) in chain.sources.iter().enumerate() {
            match self.fetch_token(source).await {
                Ok(t) => {
                    if let Ok(mut c) = chain.chosen.lock() {
                        *c = Some(i);
                    }
                    return Ok(t);
                }
                Err(e) if matches!(e.status, 0 | 400 | 404) => failures.push(e.message),
                Err(e) => return Err(e),
            }
        }
        Err(RestError {
            status: 0,
            message: failures.join(" — "),
        })
    }

    async fn fetch_token(&self, source: &TokenSource) -> Result<(String, Duration), RestError> {
        // Every failure names the source and what to do; never the token or the assertion.
        let fail = |status: u16, m: String| RestError {
            status,
            message: format!(
                "no token from {}: {m}; {}",
                source.source(),
                source.remedy()
            ),
        };
        let req = match source {
            TokenSource::Static(t) | TokenSource::Env { token: t, .. } => {
                return Ok((t.clone(), Duration::from_secs(3000)))
            }
            // The library caches and refreshes its tokens (a zero lifetime: asked every time).
            TokenSource::Google(adc) => return adc.token().await.map_err(|m| fail(0, m)),
            TokenSource::Azure(c) => return c.token().await.map_err(|m| fail(0, m)),
            TokenSource::Chain(_) => {
                return Err(fail(0, "a chain of token sources inside another".into()))
            }
            // Off Azure nothing answers at the link-local address: not worth the client's
            // full connect timeout when the Azure CLI may be next.
            TokenSource::AzureManagedIdentity {
                base,
                resource,
                client_id,
            } => self
                .http
                .get(format!("{base}/metadata/identity/oauth2/token"))
                .query(&[
                    ("api-version", "2018-02-01"),
                    ("resource", resource.as_str()),
                ])
                .query(
                    &client_id
                        .iter()
                        .map(|c| ("client_id", c.as_str()))
                        .collect::<Vec<_>>(),
                )
                .header("Metadata", "true")
                .timeout(Duration::from_secs(5)),
        };
        let resp = req.send().await.map_err(|e| {
            let why = if e.is_connect() {
                "no answer (connection failed)".to_string()
            } else if e.is_timeout() {
                "no answer (timed out)".to_string()
            } else {
                e.without_url().to_string()
            };
            fail(0, why)
        })?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        if status >= 300 {
            return Err(fail(
                status,
                format!("HTTP {status}: {}", message_of(&body)),
            ));
        }
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| fail(status, format!("the answer is not JSON ({e})")))?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| fail(status, "the answer holds no access_token".into()))?;
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
            if let Some(project) = self.token.quota_project() {
                req = req.header("x-goog-user-project", project);
            }
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
            if status == 401 {
                return Err(RestError {
                    status,
                    message: format!("{}; {}", message_of(&text), self.token.refused()),
                });
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A local server answering every request with `status` and `body`.
    pub(crate) fn answering(status: u16, body: &'static str) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { return };
                s.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut chunk = [0u8; 8192];
                let _ = s.read(&mut chunk);
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        base
    }

    /// A port nothing listens on.
    fn closed() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        drop(listener);
        base
    }

    async fn token_error(source: TokenSource) -> String {
        let client = RestClient::new(source).expect("client");
        client.token().await.expect_err("no token").to_string()
    }

    /// Each source that gives no token says which it was and what to do, in one line — never
    /// the token, the assertion or a chain of transport errors.
    #[tokio::test]
    async fn a_missing_token_names_its_source_and_the_fix() {
        let gcp = token_error(TokenSource::Google(
            super::super::google_adc::GoogleAdc::metadata_server(Some(&closed())),
        ))
        .await;
        assert!(
            gcp.contains("the GCP metadata server")
                && gcp.contains("gcloud auth application-default login"),
            "{gcp}"
        );
        let imds = token_error(TokenSource::AzureManagedIdentity {
            base: answering(
                400,
                r#"{"error":"invalid_request","error_description":"Identity not found"}"#,
            ),
            resource: "https://management.azure.com/".into(),
            client_id: None,
        })
        .await;
        assert!(
            imds.contains("managed identity")
                && imds.contains("HTTP 400")
                && imds.contains("Identity not found")
                && imds.contains("AZURE_CLIENT_SECRET"),
            "{imds}"
        );
        for m in [&gcp, &imds] {
            assert!(!m.contains('\n'), "{m}");
        }
    }

    /// A chain gives the first source's token that answers and keeps to it; when none does,
    /// every source's failure is said, in order.
    #[tokio::test]
    async fn a_chain_takes_the_first_source_that_answers() {
        let mi = |base: String| TokenSource::AzureManagedIdentity {
            base,
            resource: "https://management.azure.com/".into(),
            client_id: None,
        };
        let chain =
            |sources: Vec<TokenSource>| TokenSource::Chain(Chain::new(sources, Arc::default()));
        let chosen = Arc::default();
        let client = RestClient::new(TokenSource::Chain(Chain::new(
            vec![mi(closed()), TokenSource::Static("from-the-second".into())],
            Arc::clone(&chosen),
        )))
        .expect("client");
        assert_eq!(client.token().await.expect("token"), "from-the-second");
        assert_eq!(chosen.lock().map(|c| *c).ok().flatten(), Some(1));
        let none = token_error(chain(vec![
            mi(closed()),
            mi(answering(
                400,
                r#"{"error":"invalid_request","error_description":"Identity not found"}"#,
            )),
        ]))
        .await;
        assert!(
            none.contains("no answer (connection failed)") && none.contains("Identity not found"),
            "{none}"
        );
        // Throttling is an answer, not an absence: the next source is not tried.
        let throttled = token_error(chain(vec![
            mi(answering(429, r#"{"error":"too many requests"}"#)),
            TokenSource::Static("not-this".into()),
        ]))
        .await;
        assert!(throttled.contains("HTTP 429"), "{throttled}");
    }

    /// A token from the environment that the API refuses says which variable and how to get a
    /// new one, and never repeats the token.
    #[tokio::test]
    async fn a_refused_token_names_its_variable_and_how_to_renew_it() {
        let base = answering(
            401,
            r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#,
        );
        for (var, fix) in [
            (
                "GOOGLE_OAUTH_ACCESS_TOKEN",
                "gcloud auth print-access-token",
            ),
            ("AZURE_ACCESS_TOKEN", "az account get-access-token --query"),
            ("AZURE_AKS_ACCESS_TOKEN", AKS_SERVER_APP),
        ] {
            let source = TokenSource::Env {
                var: var.into(),
                token: "ya29.secret-token-canary".into(),
            };
            assert!(!format!("{source:?}").contains("canary"));
            let client = RestClient::new(source).expect("client");
            let e = client
                .get(&format!("{base}/v1/projects"))
                .await
                .expect_err("refused");
            let m = e.to_string();
            assert_eq!(e.status, 401);
            assert!(
                m.contains("invalid authentication credentials")
                    && m.contains(&format!("the token from {var} was refused"))
                    && m.contains(fix),
                "{m}"
            );
            assert!(!m.contains("canary"), "{m}");
        }
    }
}
