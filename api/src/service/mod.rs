//! `kspm serve`: the gRPC API over scan history, the scan scheduler, metrics.
//!
//! [`serve`] wires it together: [`store::Store`] (SQLite or PostgreSQL), [`scheduler`] (leased
//! scan jobs), [`jobs`] (the scans clients trigger), [`grpc::Api`] behind [`auth::interceptor`], gRPC health and reflection, an
//! optional Prometheus endpoint, web view ([`web`]) and admission webhook ([`webhook`]).

pub mod admission;
pub mod auth;
pub mod config;
pub mod convert;
pub mod failure;
pub mod fleet;
pub mod grpc;
pub mod jobs;
pub mod metrics;
pub mod scan;
pub mod scheduler;
pub mod store;
pub mod web;
pub mod webhook;

use config::Config;
use kspm_engine::ScanOptions;
use metrics::Metrics;
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::sync::watch;

/// Generated protobuf types, client and server (`proto/kspm/v1/posture.proto`).
#[allow(missing_docs, clippy::all)]
pub mod pb {
    tonic::include_proto!("kspm.v1");
    /// The encoded file descriptor set, for reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("kspm_descriptor");
}

/// State shared by the API and the scheduler.
pub struct Shared {
    /// The configuration.
    pub config: Arc<Config>,
    /// History.
    pub store: Store,
    /// Engine options for every scan.
    pub options: ScanOptions,
    /// This replica's name.
    pub replica: String,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Bumped after every local commit (wakes event streams).
    pub committed: watch::Sender<u64>,
    /// How often the scheduler looks for due jobs.
    pub poll: Duration,
    /// Scans evaluated at once by this replica (scheduled and triggered).
    pub scan_slots: tokio::sync::Semaphore,
    /// Turns true when the service stops (ends event streams so shutdown can drain).
    pub stopping: watch::Sender<bool>,
    /// Fleet graphs of recent scans, for queries.
    pub graphs: fleet::FleetGraphs,
    /// Coalescing, per-tenant slots and trigger limits.
    pub admission: admission::Admission,
    /// This replica's scan jobs (TriggerScan) that have not ended.
    pub jobs: jobs::Jobs,
    /// The admission webhook's reviewers, by target.
    pub reviewers: webhook::Reviewers,
    /// Where the admission webhook listens, once it does.
    pub admission_addr: std::sync::OnceLock<std::net::SocketAddr>,
}

impl Shared {
    /// Opens the store and builds the shared state.
    pub async fn open(config: Config, options: ScanOptions) -> Result<Arc<Shared>, String> {
        let store = Store::open(&config.service.database_url).await?;
        let replica = config
            .service
            .replica
            .clone()
            .unwrap_or_else(default_replica);
        Ok(Arc::new(Shared {
            reviewers: webhook::Reviewers::of(&config),
            admission_addr: std::sync::OnceLock::new(),
            config: Arc::new(config),
            store,
            options,
            replica,
            metrics: Arc::new(Metrics::default()),
            committed: watch::channel(0).0,
            poll: Duration::from_secs(1),
            scan_slots: tokio::sync::Semaphore::new(2),
            stopping: watch::channel(false).0,
            graphs: fleet::FleetGraphs::default(),
            admission: admission::Admission::default(),
            jobs: jobs::Jobs::default(),
        }))
    }
}

impl Shared {
    /// The scan options for a tenant's scans: the service's, with the tenant's active
    /// exceptions (CreateException) added.
    pub async fn options_for(&self, tenant: &str) -> store::StoreResult<ScanOptions> {
        let today = crate::pipeline::today_utc();
        let mut options = self.options.clone();
        for e in self.store.exceptions(tenant).await? {
            if !e.active(&today) {
                continue;
            }
            options.exceptions.push(kspm_engine::options::Exception {
                check: e.check,
                resource: Some(e.resource).filter(|r| !r.is_empty()),
                cluster: Some(e.cluster).filter(|c| !c.is_empty()),
                reason: format!("{} (exception {} by {})", e.reason, e.id, e.author),
                expires: Some(e.expires),
            });
        }
        options.today = Some(today);
        Ok(options)
    }

    /// The latest scan of each of the tenant's configured targets (all targets with history when
    /// this replica's configuration lists none, e.g. a read-only replica): a target removed from
    /// the configuration stops appearing in "latest" views, while its history stays listable.
    pub async fn latest_scans(&self, tenant: &str) -> store::StoreResult<Vec<store::ScanRow>> {
        let scans = self.store.latest_scans(tenant).await?;
        let configured: Vec<&str> = self
            .config
            .tenant(tenant)
            .map(|t| t.targets.iter().map(|g| g.name.as_str()).collect())
            .unwrap_or_default();
        if configured.is_empty() {
            return Ok(scans);
        }
        Ok(scans
            .into_iter()
            .filter(|s| configured.contains(&s.target.as_str()))
            .collect())
    }
}

/// One event stream's view of the tenant's commits: new scans as they are committed (by this
/// replica — woken at once — or another, seen within a second), until the service stops.
pub struct ScanFeed {
    follower: store::ScanFollower,
    wake: watch::Receiver<u64>,
    stopping: watch::Receiver<bool>,
    polled: bool,
}

impl ScanFeed {
    /// Starts at now: scans already committed are not delivered.
    pub async fn start(shared: &Shared, tenant: &str) -> store::StoreResult<ScanFeed> {
        Ok(ScanFeed {
            wake: shared.committed.subscribe(),
            stopping: shared.stopping.subscribe(),
            follower: store::ScanFollower::start(&shared.store, tenant).await?,
            polled: false,
        })
    }

    /// Starts after scan `after`: the scans committed since are the first batch.
    pub async fn start_after(
        shared: &Shared,
        tenant: &str,
        after: &store::ScanRow,
    ) -> store::StoreResult<ScanFeed> {
        Ok(ScanFeed {
            wake: shared.committed.subscribe(),
            stopping: shared.stopping.subscribe(),
            follower: store::ScanFollower::start_after(&shared.store, tenant, after).await?,
            polled: false,
        })
    }

    /// The next non-empty batch of new scans (or a database error); `None` once the service
    /// stops or `closed` (the client going away) resolves.
    pub async fn next(
        &mut self,
        shared: &Shared,
        closed: impl std::future::Future<Output = ()>,
    ) -> Option<store::StoreResult<Vec<store::ScanRow>>> {
        tokio::pin!(closed);
        loop {
            // Every poll but the first waits for a commit (or a second) first.
            if self.polled {
                tokio::select! {
                    _ = self.wake.changed() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = self.stopping.changed() => return None,
                    _ = &mut closed => return None,
                }
            }
            self.polled = true;
            if *self.stopping.borrow() {
                return None;
            }
            match self.follower.poll(&shared.store).await {
                Ok(scans) if scans.is_empty() => {}
                other => return Some(other),
            }
        }
    }
}

/// The next connection on `listener` (small answers go out at once: no Nagle wait for the
/// client's delayed ACK), or `None` once the service stops.
pub(crate) async fn next_connection(
    listener: &tokio::net::TcpListener,
    stopping: &mut watch::Receiver<bool>,
) -> Option<tokio::net::TcpStream> {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopping.wait_for(|s| *s) => return None,
        };
        if let Ok((sock, _)) = accepted {
            let _ = sock.set_nodelay(true);
            return Some(sock);
        }
    }
}

/// Serves one HTTP/1.1 connection (the web view's, the admission webhook's): `handle` answers
/// each request; a client gets 10 s to send a request's headers.
pub(crate) async fn serve_http1<I, H, Fut, B>(io: I, handle: H)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Fn(http::Request<hyper::body::Incoming>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = http::Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let svc = hyper::service::service_fn(move |req| {
        let answer = handle(req);
        async move { Ok::<_, std::convert::Infallible>(answer.await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(hyper_util::rt::TokioIo::new(io), svc)
        .await;
}

fn default_replica() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kspm".into());
    format!("{host}-{}", std::process::id())
}

/// Serves gRPC on `listener` until `stop`: the posture service behind authentication, health
/// and reflection, every error answer counted in the metrics.
async fn serve_grpc(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    use pb::posture_service_server::PostureServiceServer;
    let api = PostureServiceServer::with_interceptor(
        grpc::Api::new(shared.clone()),
        auth::interceptor(shared.config.clone()),
    );
    let (health_reporter, health) = tonic_health::server::health_reporter();
    // Serving from the start: reads work on history even before the first scan completes.
    tokio::spawn(async move {
        health_reporter
            .set_serving::<PostureServiceServer<grpc::Api>>()
            .await;
    });
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| format!("reflection: {e}"))?;
    let mut builder = tonic::transport::Server::builder();
    let svc = &shared.config.service;
    if let (Some(cert), Some(key)) = (&svc.tls_cert, &svc.tls_key) {
        let read =
            |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let identity = tonic::transport::Identity::from_pem(read(cert)?, read(key)?);
        let mut tls = tonic::transport::ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &svc.client_ca {
            tls = tls.client_ca_root(tonic::transport::Certificate::from_pem(read(ca)?));
        }
        builder = builder.tls_config(tls).map_err(|e| format!("TLS: {e}"))?;
    }
    // Every error answer, whichever RPC and whatever produced it, is counted by its code.
    let metrics = shared.metrics.clone();
    let count_errors =
        tower::util::MapResponseLayer::new(move |mut resp: http::Response<tonic::body::Body>| {
            let mut code = resp
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok())
                .unwrap_or(0);
            // A request body that is not the RPC's message is the client's mistake: tonic
            // answers INTERNAL ("failed to decode Protobuf message"); the API says
            // INVALID_ARGUMENT, and counts it as one.
            let undecodable = resp
                .headers()
                .get("grpc-message")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|m| m.contains("decode"));
            if code == tonic::Code::Internal as i32 && undecodable {
                code = tonic::Code::InvalidArgument as i32;
                resp.headers_mut()
                    .insert("grpc-status", http::HeaderValue::from_static("3"));
            }
            if code != 0 {
                metrics.api_error(&metrics::code_name(tonic::Code::from_i32(code)));
            }
            resp
        });
    // TCP_NODELAY on every accepted connection: without it a reply written in two segments
    // waits for the client's delayed ACK (Nagle), ~40 ms per call. tonic's own nodelay
    // setting applies only to listeners it binds, so the incoming stream sets it.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    builder
        .layer(count_errors)
        .add_service(health)
        .add_service(reflection)
        .add_service(api)
        .serve_with_incoming_shutdown(incoming, stop)
        .await
        .map_err(|e| format!("gRPC server: {e}"))
}

/// Runs the service until `shutdown` resolves: API, scheduler, metrics and web view. In-flight scans get
/// `grace` to finish.
pub async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    metrics_listener: Option<tokio::net::TcpListener>,
    web_listener: Option<tokio::net::TcpListener>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<(), String> {
    // Bound (and its TLS read) before anything starts: a bad address or certificate fails the
    // start, leaving nothing running.
    let webhook = match &shared.config.service.admission_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("admission_listen {addr}: {e}"))?;
            if let Ok(a) = listener.local_addr() {
                let _ = shared.admission_addr.set(a);
            }
            Some((listener, webhook::acceptor(&shared)?))
        }
        None => None,
    };
    let stop_rx = shared.stopping.subscribe();
    let stop_tx = shared.stopping.clone();
    let shared_stop = shared.stopping.clone();
    let shared_jobs = shared.clone();
    let scheduler = tokio::spawn(scheduler::run(shared.clone(), stop_rx.clone(), grace));
    let metrics_task =
        metrics_listener.map(|l| tokio::spawn(metrics::serve(l, shared.metrics.clone())));
    let web_task = web_listener.map(|l| tokio::spawn(web::serve(l, shared.clone())));
    let webhook_task = webhook.map(|(l, tls)| tokio::spawn(webhook::serve(l, tls, shared.clone())));
    let mut api_stop = stop_rx;
    tokio::spawn(async move {
        shutdown.await;
        stop_tx.send_replace(true);
    });
    let served = serve_grpc(shared, listener, async move {
        let _ = api_stop.wait_for(|s| *s).await;
    })
    .await;
    // The API stopped (shutdown, or it could not start): stop everything else too.
    shared_stop.send_replace(true);
    let _ = scheduler.await;
    jobs::Jobs::drain(&shared_jobs, grace).await;
    if let Some(t) = metrics_task {
        t.abort();
    }
    if let Some(t) = web_task {
        let _ = t.await;
    }
    if let Some(t) = webhook_task {
        let _ = t.await;
    }
    served
}
