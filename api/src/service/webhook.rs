//! The admission webhook of `kspm serve` (`admission_listen`, HTTPS): `POST
//! /admission/<tenant>/<target>/<key>` takes an `admission.k8s.io/v1` AdmissionReview from
//! that target's API server and answers it ([`crate::webhook`]) against the target as this
//! replica watches it.
//!
//! Every replica keeps its own watches on each target with `[tenant.target.admission]` (read
//! only, like the scans'), independent of the scan leases, so whichever replica the API
//! server reaches answers from a current state. The key in the path is the webhook's
//! credential (managed API servers cannot present one of their own): the configuration holds
//! only its SHA-256, and a wrong key is answered as an unknown path.

use super::config::{hash_token, Target};
use super::Shared;
use crate::watch::{lock_held, Held};
use crate::webhook::{Policy, MAX_REVIEW_BYTES};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tracing::{info, warn};

/// Reviews of one target answered or waiting at once: past them a review is answered 503 (the
/// API server, fail-open, lets the change through) rather than queued on the blocking threads.
const REVIEWS_IN_FLIGHT: usize = 8;

/// One target's reviewer: its policy and the state its watches keep.
pub struct Reviewer {
    /// How its reviews are answered.
    pub policy: Policy,
    /// The target as its watches see it.
    pub held: Held,
    /// Reviews in flight.
    in_flight: Arc<tokio::sync::Semaphore>,
}

/// The reviewers of every target with admission, by (tenant, target).
#[derive(Default)]
pub struct Reviewers {
    by_target: HashMap<(String, String), Arc<Reviewer>>,
}

impl Reviewers {
    /// One reviewer per target that has `[tenant.target.admission]`, none read yet.
    pub fn of(config: &super::config::Config) -> Reviewers {
        let mut by_target = HashMap::new();
        for t in &config.tenants {
            for target in &t.targets {
                if let Some(policy) = &target.admission {
                    by_target.insert(
                        (t.name.clone(), target.name.clone()),
                        Arc::new(Reviewer {
                            policy: policy.clone(),
                            held: Held::default(),
                            in_flight: Arc::new(tokio::sync::Semaphore::new(REVIEWS_IN_FLIGHT)),
                        }),
                    );
                }
            }
        }
        Reviewers { by_target }
    }

    /// The reviewer of (tenant, target).
    pub fn get(&self, tenant: &str, target: &str) -> Option<&Arc<Reviewer>> {
        self.by_target
            .get(&(tenant.to_string(), target.to_string()))
    }

    /// Whether any target has admission.
    pub fn is_empty(&self) -> bool {
        self.by_target.is_empty()
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            json!({ "error": body }).to_string().into_bytes(),
        )))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// Answers one HTTP request.
async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let parts: Vec<String> = req
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let [root, tenant, target, key] = parts.as_slice() else {
        return text(StatusCode::NOT_FOUND, "not found".into());
    };
    // A wrong key reads as an unknown path: nothing tells which targets exist.
    let reviewer = match shared.reviewers.get(tenant, target) {
        Some(r)
            if root == "admission"
                && hash_token(key).eq_ignore_ascii_case(&r.policy.key_sha256) =>
        {
            r.clone()
        }
        _ => return text(StatusCode::NOT_FOUND, "not found".into()),
    };
    if req.method() != http::Method::POST {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST an admission.k8s.io/v1 AdmissionReview".into(),
        );
    }
    let body = match Limited::new(req.into_body(), MAX_REVIEW_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            shared.metrics.review(tenant, target, "bad_request");
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the review is larger than {MAX_REVIEW_BYTES} bytes, or was cut off"),
            );
        }
    };
    let Ok(permit) = reviewer.in_flight.clone().try_acquire_owned() else {
        shared.metrics.review(tenant, target, "busy");
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "kspm is answering other reviews of this cluster".into(),
        );
    };
    let own = shared.config.service.own_namespace.clone();
    let judged = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let request = crate::webhook::parse(&body)?;
        let mut guard = lock_held(&reviewer.held);
        let judged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::webhook::judge(guard.as_mut(), &request, &reviewer.policy)
        }));
        let judgement = judged.unwrap_or_else(|_| {
            // The preview may have left the state half-changed: dropped, read again.
            *guard = None;
            crate::webhook::Judgement {
                not_judged: Some(
                    "kspm failed to evaluate this change; it reads the cluster again".into(),
                ),
                ..Default::default()
            }
        });
        drop(guard);
        let answer = crate::webhook::answer(&request, &judgement, &reviewer.policy, &own);
        let outcome = if judgement.not_judged.is_some() {
            "not_judged"
        } else if answer.pointer("/response/allowed") == Some(&json!(false)) {
            "denied"
        } else if judgement.paths.is_empty() && judgement.findings.is_empty() {
            "allowed"
        } else {
            "warned"
        };
        if !request.dry_run && outcome == "denied" {
            info!(uid = %request.uid, object = %request.reference(), "admission refused");
        }
        Ok::<_, crate::webhook::ReviewError>((answer, outcome))
    })
    .await;
    match judged {
        Ok(Ok((answer, outcome))) => {
            shared.metrics.review(tenant, target, outcome);
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(answer.to_string().into_bytes())))
                .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
        }
        Ok(Err(e)) => {
            shared.metrics.review(tenant, target, "bad_request");
            text(StatusCode::BAD_REQUEST, e.0)
        }
        Err(e) => {
            warn!(error = %e, "admission review failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the review could not be evaluated".into(),
            )
        }
    }
}

/// The TLS acceptor of `tls_cert` and `tls_key` (HTTP/1.1).
pub fn acceptor(shared: &Shared) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let svc = &shared.config.service;
    let (Some(cert), Some(key)) = (&svc.tls_cert, &svc.tls_key) else {
        return Err("admission_listen needs tls_cert and tls_key".into());
    };
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let cert_pem = read(cert)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_slice(&read(key)?)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Keeps the watches of one target with admission, reconnecting after a failure (5 s, doubling
/// up to a minute), until the service stops.
async fn keep_watching(shared: Arc<Shared>, tenant: String, target: Target, held: Held) {
    let mut stopping = shared.stopping.subscribe();
    let mut backoff = Duration::from_secs(5);
    loop {
        let options = match shared.options_for(&tenant).await {
            Ok(o) => {
                let t = target.clone();
                tokio::task::spawn_blocking(move || super::scan::with_vulnerabilities(&t, o))
                    .await
                    .ok()
            }
            Err(e) => {
                warn!(tenant, target = %target.name, error = %e, "admission: options");
                None
            }
        };
        if let Some(options) = options {
            let live = super::scan::live_options(&target);
            let watched = tokio::select! {
                r = crate::watch::hold(&live, &options, Duration::from_millis(100), &held, |u| {
                    if u.initial {
                        info!(tenant, target = %target.name, objects = u.objects, "admission: cluster read");
                    }
                    backoff = Duration::from_secs(5);
                    true
                }) => r,
                _ = stopping.wait_for(|s| *s) => return,
            };
            if let Err(e) = watched {
                warn!(tenant, target = %target.name, error = %e, "admission: watches ended");
            }
            // Until the cluster is read again, reviews are not judged on an old state.
            *lock_held(&held) = None;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
}

/// Serves the webhook on `listener` and keeps the targets' watches, until the service stops.
pub async fn serve(listener: TcpListener, tls: tokio_rustls::TlsAcceptor, shared: Arc<Shared>) {
    // Dropped (aborted) when the webhook stops.
    let mut watches = Vec::new();
    for t in &shared.config.tenants {
        for target in t.targets.iter().filter(|g| g.admission.is_some()) {
            if let Some(r) = shared.reviewers.get(&t.name, &target.name) {
                watches.push(super::scheduler::AbortOnDrop(tokio::spawn(keep_watching(
                    shared.clone(),
                    t.name.clone(),
                    target.clone(),
                    r.held.clone(),
                ))));
            }
        }
    }
    let mut stopping = shared.stopping.subscribe();
    while let Some(sock) = super::next_connection(&listener, &mut stopping).await {
        let (shared, tls) = (shared.clone(), tls.clone());
        tokio::spawn(async move {
            let Ok(Ok(stream)) =
                tokio::time::timeout(Duration::from_secs(10), tls.accept(sock)).await
            else {
                return;
            };
            super::serve_http1(stream, move |req| handle(shared.clone(), req)).await;
        });
    }
}
