//! A read-only client over `kube::Client`: it can only GET. Requests are paced by a token
//! bucket (QPS and burst), time out, and 429 / 5xx answers are retried with exponential backoff
//! that honours `Retry-After`.

use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Media type asking the API server for metadata only (`PartialObjectMetadataList`).
pub const METADATA_ONLY: &str =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

/// Why a GET failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The API server answered with this status (after retries for 429/5xx).
    Status(u16, String),
    /// No answer in time.
    Timeout,
    /// Transport failure.
    Transport(String),
    /// Not JSON.
    Decode(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Status(code, msg) => write!(f, "HTTP {code}: {msg}"),
            HttpError::Timeout => write!(f, "timed out"),
            HttpError::Transport(m) => write!(f, "connection failed: {m}"),
            HttpError::Decode(m) => write!(f, "unreadable response: {m}"),
        }
    }
}

/// Client-side rate limit: `qps` requests per second on average, bursts of `burst`.
struct TokenBucket {
    qps: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// Time to wait before the next request may go.
    fn reserve(&mut self) -> Duration {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.qps).min(self.burst);
        self.last = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.qps)
        }
    }
}

/// Limits and timeouts of the read-only client.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Average requests per second.
    pub qps: f64,
    /// Burst size.
    pub burst: u32,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries for 429 and 5xx answers.
    pub retries: u32,
}

impl Default for Limits {
    fn default() -> Self {
        // Modest defaults: a scan must never hurt the API server it reads.
        Limits {
            qps: 20.0,
            burst: 40,
            timeout: Duration::from_secs(30),
            retries: 5,
        }
    }
}

/// The only way collectors talk to a cluster: GET requests, nothing else.
pub struct ReadOnlyClient {
    client: kube::Client,
    limits: Limits,
    bucket: Mutex<TokenBucket>,
}

impl ReadOnlyClient {
    /// Wraps a kube client.
    pub fn new(client: kube::Client, limits: Limits) -> Self {
        let qps = limits.qps.max(0.1);
        ReadOnlyClient {
            client,
            limits,
            bucket: Mutex::new(TokenBucket {
                qps,
                burst: f64::from(limits.burst.max(1)),
                tokens: f64::from(limits.burst.max(1)),
                last: Instant::now(),
            }),
        }
    }

    /// GETs a watch stream and hands each JSON line to `on_event` until the server ends the
    /// stream. Only the connection is retried here; the caller resumes from its last
    /// resourceVersion.
    pub async fn watch_lines(
        &self,
        path_and_query: &str,
        accept: &str,
        mut on_event: impl FnMut(Value),
    ) -> Result<(), HttpError> {
        let wait = self.bucket.lock().await.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let req = Request::get(path_and_query)
            .header(http::header::ACCEPT, accept)
            .body(kube::client::Body::empty())
            .map_err(|e| HttpError::Transport(e.to_string()))?;
        let resp = tokio::time::timeout(self.limits.timeout, self.client.send(req))
            .await
            .map_err(|_| HttpError::Timeout)?
            .map_err(|e| HttpError::Transport(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(HttpError::Status(
                resp.status().as_u16(),
                "watch refused".into(),
            ));
        }
        let mut body = resp.into_body();
        let mut buf: Vec<u8> = Vec::new();
        // A watch is idle between events; give up on a silent connection after a while.
        let idle = self.limits.timeout * 10;
        loop {
            let frame = match tokio::time::timeout(idle, body.frame()).await {
                Err(_) => return Err(HttpError::Timeout),
                Ok(None) => return Ok(()),
                Ok(Some(Err(e))) => return Err(HttpError::Transport(e.to_string())),
                Ok(Some(Ok(f))) => f,
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            buf.extend_from_slice(&data);
            while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                if let Ok(v) = serde_json::from_slice::<Value>(&line) {
                    on_event(v);
                }
            }
        }
    }

    /// GETs `path_and_query` and parses the JSON body.
    pub async fn get_json(&self, path_and_query: &str, accept: &str) -> Result<Value, HttpError> {
        let bytes = self.get(path_and_query, accept).await?;
        serde_json::from_slice(&bytes).map_err(|e| HttpError::Decode(e.to_string()))
    }

    /// GETs `path_and_query`, retrying 429 and 5xx.
    pub async fn get(&self, path_and_query: &str, accept: &str) -> Result<Vec<u8>, HttpError> {
        let mut attempt = 0u32;
        loop {
            let wait = self.bucket.lock().await.reserve();
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let req = Request::get(path_and_query)
                .header(http::header::ACCEPT, accept)
                .body(kube::client::Body::empty())
                .map_err(|e| HttpError::Transport(e.to_string()))?;
            let resp = match tokio::time::timeout(self.limits.timeout, self.client.send(req)).await
            {
                Err(_) => Err(HttpError::Timeout),
                Ok(Err(e)) => Err(HttpError::Transport(e.to_string())),
                Ok(Ok(r)) => Ok(r),
            };
            let (status, retry_after, body) = match resp {
                Ok(r) => {
                    let status = r.status();
                    let retry_after = r
                        .headers()
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let body =
                        match tokio::time::timeout(self.limits.timeout, r.into_body().collect())
                            .await
                        {
                            Err(_) => return Err(HttpError::Timeout),
                            Ok(Err(e)) => return Err(HttpError::Transport(e.to_string())),
                            Ok(Ok(b)) => b.to_bytes().to_vec(),
                        };
                    (status, retry_after, body)
                }
                Err(e) if attempt < self.limits.retries && e == HttpError::Timeout => {
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if status.is_success() {
                return Ok(body);
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable && attempt < self.limits.retries {
                attempt += 1;
                let backoff = Duration::from_millis(100 * 2u64.pow(attempt.min(6)));
                tokio::time::sleep(retry_after.unwrap_or(backoff).min(Duration::from_secs(60)))
                    .await;
                continue;
            }
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
            return Err(HttpError::Status(status.as_u16(), message));
        }
    }
}
