//! The `kspm.v1.PostureService` implementation. Every call runs as the tenant that
//! [`super::auth`] attached to the request, and only ever reads that tenant's scans.

use super::auth::TenantName;
use super::convert::{self, offset, page_size, token, untoken};
use super::failure::Failure;
use super::fleet::{AskError, MAX_HOPS, MAX_PATHS};
use super::pb::{self, posture_service_server::PostureService};
use super::store::{FindingFilter, JobRow, ScanRow};
use super::Shared;
use kspm_engine::drift;
use kspm_engine::graph::fixplan::PlanOptions;
use kspm_engine::graph::query::{PathQuery, Query, QueryError};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::pin::Pin;
use std::sync::Arc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// The gRPC service.
pub struct Api {
    shared: Arc<Shared>,
}

impl Api {
    /// A service over the shared state.
    pub fn new(shared: Arc<Shared>) -> Api {
        Api { shared }
    }
}

fn tenant<T>(req: &Request<T>) -> Result<String, Status> {
    req.extensions()
        .get::<TenantName>()
        .map(|t| t.0.clone())
        .ok_or_else(|| Status::unauthenticated("no tenant credentials"))
}

/// A request that failed on the service's side, answered by kind ([`Failure`]).
fn internal(e: impl Into<Failure>) -> Status {
    e.into().into()
}
impl Api {
    /// A tenant's scan job as seen now; NOT_FOUND for an unknown ID or another tenant's.
    async fn job(&self, tenant: &str, id: &str) -> Result<pb::ScanJob, Status> {
        let row = super::jobs::seen(&self.shared, tenant, id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found(format!("no scan job {id}")))?;
        self.with_scan(tenant, &row).await
    }

    /// A job for the API, with its scan when it has one that history still keeps.
    async fn with_scan(&self, tenant: &str, row: &JobRow) -> Result<pb::ScanJob, Status> {
        let scan = if row.scan_id.is_empty() {
            None
        } else {
            self.shared
                .store
                .scan(tenant, &row.scan_id)
                .await
                .map_err(internal)?
        };
        Ok(convert::job(row, scan.as_ref()))
    }

    /// The scans a read covers: the given one (which must be the tenant's) or the latest of
    /// every target.
    async fn scope(&self, tenant: &str, scan_id: &str) -> Result<Vec<ScanRow>, Status> {
        if scan_id.is_empty() {
            return self.shared.latest_scans(tenant).await.map_err(internal);
        }
        match self
            .shared
            .store
            .scan(tenant, scan_id)
            .await
            .map_err(internal)?
        {
            Some(s) => Ok(vec![s]),
            None => Err(Status::not_found(format!("no scan {scan_id}"))),
        }
    }

    /// NOT_FOUND unless one of `scans` (the tenant's own) read cluster `cluster`; an empty
    /// name asks for none. Another tenant's cluster is not found exactly like a missing one.
    async fn require_cluster(&self, scans: &[ScanRow], cluster: &str) -> Result<(), Status> {
        if cluster.is_empty() {
            return Ok(());
        }
        for s in scans {
            let names = self
                .shared
                .store
                .cluster_names(&s.id)
                .await
                .map_err(internal)?;
            if names.iter().any(|n| n == cluster) {
                return Ok(());
            }
        }
        Err(Status::not_found(format!("no cluster {cluster}")))
    }

    /// NOT_FOUND unless the tenant has target `target` configured or scanned before; an empty
    /// name asks for none. Another tenant's target is not found exactly like a missing one.
    async fn require_target(&self, tenant: &str, target: &str) -> Result<(), Status> {
        if target.is_empty() {
            return Ok(());
        }
        let configured = self
            .shared
            .config
            .tenant(tenant)
            .is_some_and(|t| t.targets.iter().any(|g| g.name == target));
        if configured
            || self
                .shared
                .store
                .has_target(tenant, target)
                .await
                .map_err(internal)?
        {
            return Ok(());
        }
        Err(Status::not_found(format!("no target {target}")))
    }

    /// Answers `ask` on the fleet graph of the scan (`scan_id`) or of the latest scan of each
    /// target (see [`Shared::ask_fleet`]).
    async fn on_fleet<T>(
        &self,
        tenant: &str,
        scan_id: &str,
        cluster: &str,
        ask: impl Fn(&Query<'_>) -> Result<T, QueryError>,
    ) -> Result<(T, String), Status> {
        let scans = self.scope(tenant, scan_id).await?;
        self.shared
            .ask_fleet(&scans, cluster, ask)
            .await
            .map_err(|e| match e {
                AskError::NotFound(m) => Status::not_found(m),
                AskError::Internal(m) => internal(m),
            })
    }
}

fn required(reference: &str) -> Result<(), Status> {
    if reference.is_empty() {
        return Err(Status::invalid_argument("a node reference is required"));
    }
    Ok(())
}

fn max_hops(requested: u32, default: u32) -> Result<u32, Status> {
    match requested {
        0 => Ok(default),
        n if n > MAX_HOPS => Err(Status::invalid_argument(format!(
            "max_hops must be at most {MAX_HOPS}"
        ))),
        n => Ok(n),
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::WatchEventsResponse, Status>> + Send>>;

type OcsfStream = Pin<Box<dyn Stream<Item = Result<pb::ExportOcsfResponse, Status>> + Send>>;

/// Events per ExportOcsf message, at most.
const OCSF_PAGE: usize = 500;

/// JSON bytes per ExportOcsf message, about (a page ends at the event that passes it): well
/// under gRPC clients' usual 4 MiB limit.
const OCSF_PAGE_BYTES: usize = 1 << 20;

/// The OCSF events of one stored scan (one cluster's when `cluster` is set), stamped with the
/// scan's end: its findings, as stored, and its reported paths.
async fn ocsf_events(shared: &Shared, scan: &ScanRow, cluster: &str) -> Result<Vec<Value>, Status> {
    use kspm_engine::render::ocsf::events;
    let filter = FindingFilter {
        cluster: cluster.to_string(),
        ..Default::default()
    };
    let mut findings = Vec::new();
    let mut unreadable = 0usize;
    let mut after = None;
    loop {
        let (rows, _) = shared
            .store
            .findings(std::slice::from_ref(scan), &filter, after.clone(), 20_000)
            .await
            .map_err(internal)?;
        let Some(last) = rows.last() else {
            break;
        };
        after = Some((last.scan_id.clone(), last.cursor.clone()));
        for r in rows {
            // A body no version of the report could have written is counted, never fatal to
            // the rest of the export (older bodies lack fields `Finding` defaults).
            match serde_json::from_value::<kspm_engine::Finding>(r.body) {
                Ok(f) => findings.push(f),
                Err(_) => unreadable += 1,
            }
        }
    }
    let mut paths = Vec::new();
    for v in shared.store.paths(&scan.id).await.map_err(internal)? {
        match serde_json::from_value::<kspm_engine::graph::paths::AttackPath>(v) {
            Ok(p) if cluster.is_empty() || p.cluster == cluster => paths.push(p),
            Ok(_) => {}
            Err(_) => unreadable += 1,
        }
    }
    if unreadable > 0 {
        tracing::warn!(
            scan = %scan.id,
            unreadable,
            "ExportOcsf: stored findings or paths that could not be read were left out"
        );
    }
    // Each cluster's stored summary says where it runs (provider, region, account).
    let platforms: HashMap<String, kspm_engine::render::ocsf::Platform> = shared
        .store
        .clusters(&scan.id)
        .await
        .map_err(internal)?
        .into_iter()
        .filter_map(|(name, summary, _)| Some((name, serde_json::from_value(summary).ok()?)))
        .collect();
    Ok(events(
        &findings,
        &paths,
        &platforms,
        u64::try_from(scan.finished_at).unwrap_or(0),
    ))
}

#[tonic::async_trait]
impl PostureService for Api {
    async fn list_clusters(
        &self,
        req: Request<pb::ListClustersRequest>,
    ) -> Result<Response<pb::ListClustersResponse>, Status> {
        let tenant = tenant(&req)?;
        let mut clusters = Vec::new();
        for s in self.scope(&tenant, "").await? {
            for (name, summary, _) in self.shared.store.clusters(&s.id).await.map_err(internal)? {
                let summary = convert::StoredCluster::read(
                    &summary,
                    &format!("summary of {name} in scan {}", s.id),
                );
                clusters.push(pb::Cluster {
                    name,
                    target: s.target.clone(),
                    provider: summary.provider,
                    kubernetes_version: summary.kubernetes_version,
                    // (Scans stored before origins were made target-relative: file names.)
                    origin: super::scan::tenant_path(&summary.origin, &[]),
                    objects: summary.objects,
                    coverage_gaps: summary.coverage_gaps,
                    errors: summary
                        .error_messages
                        .iter()
                        .map(|e| super::scan::scrub_paths(e, &[]))
                        .collect(),
                    scan_id: s.id.clone(),
                    scanned_at: Some(convert::timestamp(s.finished_at)),
                });
            }
        }
        Ok(Response::new(pb::ListClustersResponse { clusters }))
    }

    async fn get_posture(
        &self,
        req: Request<pb::GetPostureRequest>,
    ) -> Result<Response<pb::GetPostureResponse>, Status> {
        let tenant = tenant(&req)?;
        let want = &req.get_ref().cluster;
        let fw = &req.get_ref().framework;
        if !fw.is_empty()
            && !kspm_engine::controls::Framework::ALL
                .iter()
                .any(|f| f.id() == fw)
        {
            return Err(Status::invalid_argument(format!("no framework `{fw}`")));
        }
        let mut out = pb::GetPostureResponse::default();
        let mut found = want.is_empty();
        for s in self.scope(&tenant, "").await? {
            for (name, summary, compliance) in
                self.shared.store.clusters(&s.id).await.map_err(internal)?
            {
                if !want.is_empty() && &name != want {
                    continue;
                }
                found = true;
                // The cluster's compliance read back into its type (a summary that does not
                // read is logged and left out).
                let mut read: Vec<kspm_engine::compliance::ComplianceSummary> = Vec::new();
                let what = format!("compliance of {name} in scan {}", s.id);
                convert::readable(
                    compliance
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| (what.clone(), c)),
                    &mut read,
                );
                for c in read {
                    if !fw.is_empty() && c.framework != fw.as_str() {
                        continue;
                    }
                    let controls = if req.get_ref().with_controls {
                        convert::control_statuses(&c)
                    } else {
                        Vec::new()
                    };
                    out.frameworks.push(pb::FrameworkScore {
                        controls,
                        cluster: name.clone(),
                        framework: c.framework.to_string(),
                        passed: c.controls_passed as u32,
                        failed: c.controls_failed as u32,
                        not_assessable: c.controls_not_assessable as u32,
                        score: c.score.unwrap_or(0.0),
                    });
                }
                let what = format!("summary of {name} in scan {}", s.id);
                let summary = convert::StoredCluster::read(&summary, &what);
                for (sev, count) in summary.findings_by_severity {
                    out.severities.push(pb::SeverityCount {
                        cluster: name.clone(),
                        severity: convert::severity(&sev) as i32,
                        count,
                    });
                }
            }
            for (cluster, rank, n) in self
                .shared
                .store
                .path_counts(&s.id)
                .await
                .map_err(internal)?
            {
                if !want.is_empty() && cluster != *want {
                    continue;
                }
                out.attack_paths += n;
                out.path_severities.push(pb::SeverityCount {
                    cluster,
                    severity: convert::severity_of_rank(rank) as i32,
                    count: n,
                });
            }
        }
        if !found {
            return Err(Status::not_found(format!("no cluster {want}")));
        }
        Ok(Response::new(out))
    }

    async fn list_findings(
        &self,
        req: Request<pb::ListFindingsRequest>,
    ) -> Result<Response<pb::ListFindingsResponse>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        let limit = page_size(r.page_size, 100, 1000)?;
        let min_severity = match pb::Severity::try_from(r.min_severity) {
            Ok(pb::Severity::Unspecified) => None,
            Ok(s) => Some(s as i64 - 1),
            Err(_) => return Err(Status::invalid_argument("min_severity is not a severity")),
        };
        if !r.check.is_empty() && kspm_engine::checks::by_id(&r.check).is_none() {
            return Err(Status::invalid_argument(format!("no check {}", r.check)));
        }
        if !r.control.is_empty() {
            let fw = r.control.split(':').next().unwrap_or("");
            if !kspm_engine::controls::Framework::ALL
                .iter()
                .any(|f| f.id().eq_ignore_ascii_case(fw))
            {
                return Err(Status::invalid_argument(format!(
                    "control must be `framework` or `framework:control`; no framework `{fw}`"
                )));
            }
        }
        let after = if r.page_token.is_empty() {
            None
        } else {
            // `f2:`, a scan ID, `/`, the last finding's place in the report order.
            let t = untoken(&r.page_token)?;
            let (scan, cursor) = t
                .strip_prefix("f2:")
                .and_then(|t| t.split_once('/'))
                .filter(|(scan, cursor)| !scan.is_empty() && !cursor.is_empty())
                .ok_or_else(|| {
                    Status::invalid_argument("page_token is not a token this API issued")
                })?;
            Some((scan.to_string(), cursor.to_string()))
        };
        let in_scope = self.scope(&tenant, &r.scan_id).await?;
        self.require_cluster(&in_scope, &r.cluster).await?;
        let scanned_at: HashMap<String, i64> = in_scope
            .iter()
            .map(|s| (s.id.clone(), s.finished_at))
            .collect();
        let filter = FindingFilter {
            cluster: r.cluster.clone(),
            min_severity,
            check: r.check.clone(),
            control: r.control.clone(),
            namespace: r.namespace.clone(),
            on_attack_path: r.on_attack_path,
        };
        let (rows, total) = self
            .shared
            .store
            .findings(&in_scope, &filter, after, limit as i64 + 1)
            .await
            .map_err(internal)?;
        let more = rows.len() > limit;
        let page: Vec<_> = rows.into_iter().take(limit).collect();
        let next_page_token = match (more, page.last()) {
            (true, Some(last)) => token(&format!("f2:{}/{}", last.scan_id, last.cursor)),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListFindingsResponse {
            // An unreadable stored finding is logged and left out of the page.
            findings: page
                .iter()
                .filter_map(|f| {
                    let at = scanned_at.get(&f.scan_id).copied().unwrap_or_default();
                    let what = format!("finding {}/{}", f.scan_id, f.key);
                    let stored =
                        convert::or_left_out(convert::StoredFinding::read(&f.body, &what))?;
                    Some(convert::finding(&f.scan_id, &f.key, &stored, at))
                })
                .collect(),
            next_page_token,
            total: total as u64,
        }))
    }

    async fn get_finding(
        &self,
        req: Request<pb::GetFindingRequest>,
    ) -> Result<Response<pb::GetFindingResponse>, Status> {
        let tenant = tenant(&req)?;
        let id = &req.get_ref().id;
        let (scan, key) = id
            .split_once('/')
            .filter(|(scan, key)| !scan.is_empty() && !key.is_empty() && !key.contains('/'))
            .ok_or_else(|| Status::invalid_argument("finding IDs look like <scan>/<key>"))?;
        let not_found = || Status::not_found(format!("no finding {id}"));
        // Another tenant's scan is "not found", exactly like a missing one.
        let row = self
            .shared
            .store
            .scan(&tenant, scan)
            .await
            .map_err(internal)?
            .ok_or_else(not_found)?;
        let body = self
            .shared
            .store
            .finding(&row, key)
            .await
            .map_err(internal)?
            .ok_or_else(not_found)?;
        Ok(Response::new(pb::GetFindingResponse {
            finding: Some(convert::finding(
                scan,
                key,
                &convert::StoredFinding::read(&body, &format!("finding {id}")).map_err(internal)?,
                row.finished_at,
            )),
        }))
    }

    async fn list_attack_paths(
        &self,
        req: Request<pb::ListAttackPathsRequest>,
    ) -> Result<Response<pb::ListAttackPathsResponse>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        let limit = page_size(r.page_size, 50, 500)?;
        let start = offset(&r.page_token)?;
        if !r.technique.is_empty() && !kspm_engine::graph::paths::is_technique(&r.technique) {
            return Err(Status::invalid_argument(format!(
                "no technique {}",
                r.technique
            )));
        }
        let in_scope = self.scope(&tenant, &r.scan_id).await?;
        self.require_cluster(&in_scope, &r.cluster).await?;
        if r.technique.is_empty() && r.through.is_empty() {
            // Counted, ranked and paged by the database; only the page's scans' bodies read.
            let ids: Vec<String> = in_scope.iter().map(|s| s.id.clone()).collect();
            let store = &self.shared.store;
            if let Some((total, rows)) = store
                .path_page(&ids, &r.cluster, &r.target, start, limit)
                .await
                .map_err(internal)?
            {
                let on_page: Vec<String> = rows
                    .iter()
                    .map(|(scan, _)| scan.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let bodies = store.paths_of(&on_page).await.map_err(internal)?;
                // (A scan pruned since the page was chosen leaves its rows out.)
                // An unreadable stored path is logged and left out of the page.
                let paths: Vec<pb::AttackPath> = rows
                    .iter()
                    .filter_map(|(scan, seq)| {
                        let p = bodies.get(scan)?.get(*seq)?;
                        let read = convert::typed(p, &convert::path_at(scan, *seq));
                        Some(convert::path(scan, &convert::or_left_out(read)?))
                    })
                    .collect();
                let next_page_token = if start + rows.len() < total as usize {
                    token(&format!("o:{}", start + rows.len()))
                } else {
                    String::new()
                };
                return Ok(Response::new(pb::ListAttackPathsResponse {
                    paths,
                    next_page_token,
                    total,
                }));
            }
        }
        // Filters on steps and nodes (and scans stored before paths had scores): the bodies,
        // read back into paths (one that does not read is logged and left out).
        let mut all = Vec::new();
        for s in in_scope {
            let stored = self.shared.store.paths(&s.id).await.map_err(internal)?;
            for p in convert::readable_paths(&s.id, &stored) {
                let keep = (r.cluster.is_empty() || p.cluster == r.cluster)
                    && (r.target.is_empty() || p.target == r.target)
                    && (r.technique.is_empty()
                        || p.steps.iter().any(|x| x.technique == r.technique))
                    && (r.through.is_empty() || p.nodes.contains(&r.through));
                if keep {
                    all.push(convert::path(&s.id, &p));
                }
            }
        }
        // The database's order: score, path ID, scan ID, position (the sort is stable).
        all.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| a.scan_id.cmp(&b.scan_id))
        });
        let total = all.len();
        let paths: Vec<_> = all.into_iter().skip(start).take(limit).collect();
        let next_page_token = if start + paths.len() < total {
            token(&format!("o:{}", start + paths.len()))
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListAttackPathsResponse {
            paths,
            next_page_token,
            total: total as u64,
        }))
    }

    async fn get_attack_path(
        &self,
        req: Request<pb::GetAttackPathRequest>,
    ) -> Result<Response<pb::GetAttackPathResponse>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        if r.id.is_empty() {
            return Err(Status::invalid_argument("id is required"));
        }
        for s in self.scope(&tenant, &r.scan_id).await? {
            // A reported path with the paths folded into it, as ListAttackPaths gives it; a
            // folded path keeps its ID and is answered as a path of its own.
            let stored = self.shared.store.paths(&s.id).await.map_err(internal)?;
            let stored = convert::readable_paths(&s.id, &stored);
            if let Some(p) = stored.iter().find(|p| p.id == r.id) {
                return Ok(Response::new(pb::GetAttackPathResponse {
                    path: Some(convert::path(&s.id, p)),
                }));
            }
            for p in kspm_engine::graph::paths::AttackPath::all(&stored) {
                if p.id == r.id {
                    return Ok(Response::new(pb::GetAttackPathResponse {
                        path: Some(convert::path(&s.id, &p)),
                    }));
                }
            }
        }
        Err(Status::not_found(format!("no attack path {}", r.id)))
    }

    async fn query_reach(
        &self,
        req: Request<pb::QueryReachRequest>,
    ) -> Result<Response<pb::QueryReachResponse>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        let hops = max_hops(r.max_hops, 6)?;
        required(&r.from)?;
        let cluster = (!r.cluster.is_empty()).then_some(r.cluster.as_str());
        let reached = self
            .on_fleet(&tenant, &r.scan_id, &r.cluster, |q| {
                q.reach(cluster, &r.from, hops)
            })
            .await?
            .0
            .into_iter()
            .map(|n| pb::ReachedNode {
                node: n.node,
                kind: format!("{:?}", n.kind),
                hops: n.hops,
                cluster: n.cluster.unwrap_or_default(),
            })
            .collect();
        Ok(Response::new(pb::QueryReachResponse { reached }))
    }

    async fn query_path(
        &self,
        req: Request<pb::QueryPathRequest>,
    ) -> Result<Response<pb::QueryPathResponse>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        let hops = max_hops(r.max_hops, 12)?;
        required(&r.from)?;
        required(&r.to)?;
        if r.limit > MAX_PATHS {
            return Err(Status::invalid_argument(format!(
                "limit must be at most {MAX_PATHS}"
            )));
        }
        let cluster = (!r.cluster.is_empty()).then_some(r.cluster.as_str());
        let (found, scan) = self
            .on_fleet(&tenant, &r.scan_id, &r.cluster, |q| {
                q.paths(&PathQuery {
                    from: &r.from,
                    to: &r.to,
                    cluster,
                    max_hops: hops,
                    limit: r.limit.max(1) as usize,
                })
            })
            .await?;
        let paths: Vec<pb::AttackPath> = found.iter().map(|p| convert::path(&scan, p)).collect();
        Ok(Response::new(pb::QueryPathResponse {
            path: paths.first().cloned(),
            paths,
        }))
    }

    async fn get_fix_plan(
        &self,
        req: Request<pb::GetFixPlanRequest>,
    ) -> Result<Response<pb::GetFixPlanResponse>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        let severity = match pb::Severity::try_from(r.severity) {
            Ok(pb::Severity::Unspecified) => kspm_engine::Severity::High,
            Ok(s) => convert::engine_severity(s),
            Err(_) => return Err(Status::invalid_argument("severity is not a severity")),
        };
        let options = PlanOptions {
            severity,
            budget: (r.budget > 0).then_some(r.budget as usize),
        };
        let scans = self.scope(&tenant, &r.scan_id).await?;
        let plan = self
            .shared
            .fix_plan(&scans, options)
            .await
            .map_err(internal)?;
        Ok(Response::new(convert::fix_plan(&plan)))
    }

    async fn list_scans(
        &self,
        req: Request<pb::ListScansRequest>,
    ) -> Result<Response<pb::ListScansResponse>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        let limit = page_size(r.page_size, 50, 500)?;
        let start = offset(&r.page_token)?;
        self.require_target(&tenant, &r.target).await?;
        let window = (
            r.since.as_ref().map_or(i64::MIN, convert::millis),
            r.until.as_ref().map_or(i64::MAX, convert::millis),
        );
        let (rows, total) = self
            .shared
            .store
            .list_scans(&tenant, &r.target, window, start as i64, limit as i64 + 1)
            .await
            .map_err(internal)?;
        let more = rows.len() > limit;
        let scans: Vec<_> = rows.iter().take(limit).map(convert::scan).collect();
        Ok(Response::new(pb::ListScansResponse {
            total,
            next_page_token: if more {
                token(&format!("o:{}", start + limit))
            } else {
                String::new()
            },
            scans,
        }))
    }

    async fn get_drift(
        &self,
        req: Request<pb::GetDriftRequest>,
    ) -> Result<Response<pb::GetDriftResponse>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        if r.from_scan_id.is_empty() {
            return Err(Status::invalid_argument("from_scan_id is required"));
        }
        let store = &self.shared.store;
        let from = store
            .scan(&tenant, &r.from_scan_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found(format!("no scan {}", r.from_scan_id)))?;
        let to = if r.to_scan_id.is_empty() {
            store
                .latest_scans(&tenant)
                .await
                .map_err(internal)?
                .into_iter()
                .find(|s| s.target == from.target)
                .ok_or_else(|| Status::not_found("no latest scan"))?
        } else {
            store
                .scan(&tenant, &r.to_scan_id)
                .await
                .map_err(internal)?
                .ok_or_else(|| Status::not_found(format!("no scan {}", r.to_scan_id)))?
        };
        if to.target != from.target {
            return Err(Status::invalid_argument(
                "the two scans must be of the same target",
            ));
        }
        Ok(Response::new(
            drift_between(&self.shared, &from, &to).await?,
        ))
    }

    async fn trigger_scan(
        &self,
        req: Request<pb::TriggerScanRequest>,
    ) -> Result<Response<pb::TriggerScanResponse>, Status> {
        let tenant = tenant(&req)?;
        if let Err(wait) = self.shared.admission.allow_trigger(&tenant) {
            return Err(Status::resource_exhausted(format!(
                "too many scan triggers for this tenant: try again in {} s",
                wait.as_secs().max(1)
            )));
        }
        let want = &req.get_ref().target;
        let t = self
            .shared
            .config
            .tenant(&tenant)
            .ok_or_else(|| Status::permission_denied("tenant has no configuration"))?;
        let targets: Vec<_> = t
            .targets
            .iter()
            .filter(|x| want.is_empty() || &x.name == want)
            .cloned()
            .collect();
        if targets.is_empty() {
            return Err(Status::not_found(format!("no target {want}")));
        }
        let mut started = Vec::new();
        for target in &targets {
            started.push(
                super::jobs::start(&self.shared, &tenant, target)
                    .await
                    .map_err(internal)?,
            );
        }
        let mut scans = Vec::new();
        if req.get_ref().wait {
            for job in started.clone() {
                let row = job.outcome().await.map_err(|e| {
                    if e.contains(super::scheduler::TIMED_OUT) {
                        Status::deadline_exceeded(e)
                    } else {
                        internal(e)
                    }
                })?;
                scans.push(convert::scan(&row));
            }
        }
        let mut jobs = Vec::new();
        for job in &started {
            jobs.push(self.job(&tenant, &job.id).await?);
        }
        Ok(Response::new(pb::TriggerScanResponse { scans, jobs }))
    }

    async fn get_scan_job(
        &self,
        req: Request<pb::GetScanJobRequest>,
    ) -> Result<Response<pb::GetScanJobResponse>, Status> {
        let tenant = tenant(&req)?;
        let job = self.job(&tenant, &req.get_ref().id).await?;
        Ok(Response::new(pb::GetScanJobResponse { job: Some(job) }))
    }

    async fn list_scan_jobs(
        &self,
        req: Request<pb::ListScanJobsRequest>,
    ) -> Result<Response<pb::ListScanJobsResponse>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        let limit = page_size(r.page_size, 50, 500)?;
        self.require_target(&tenant, &r.target).await?;
        let rows = self
            .shared
            .store
            .jobs(&tenant, &r.target, limit as i64)
            .await
            .map_err(internal)?;
        let mut jobs = Vec::new();
        for row in rows {
            let row = super::jobs::as_seen(&self.shared, row);
            jobs.push(self.with_scan(&tenant, &row).await?);
        }
        Ok(Response::new(pb::ListScanJobsResponse { jobs }))
    }

    type WatchEventsStream = EventStream;

    async fn create_exception(
        &self,
        req: Request<pb::CreateExceptionRequest>,
    ) -> Result<Response<pb::CreateExceptionResponse>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        let bad = |m: String| Err(Status::invalid_argument(m));
        if r.check != "*" && kspm_engine::checks::by_id(&r.check).is_none() {
            return bad(format!("no check {} (a check ID, or `*`)", r.check));
        }
        if r.reason.trim().is_empty() || r.author.trim().is_empty() {
            return bad("an exception needs a reason and an author".into());
        }
        if r.reason.len() > 2000
            || r.author.len() > 200
            || r.resource.len() > 500
            || r.cluster.len() > 500
        {
            return bad("reason (2,000), author (200) and patterns (500) are too long".into());
        }
        if !r.resource.is_empty() && r.resource != "*" && !r.resource.contains(':') {
            return bad(format!(
                "resource `{}` is not a resource pattern: write `Kind:namespace/name` or `Kind:name`, `*` globbing (`Deployment:shop/*`)",
                r.resource
            ));
        }
        let everything = |p: &str| p.is_empty() || p.chars().all(|c| c == '*');
        if r.check == "*" && everything(&r.resource) && everything(&r.cluster) {
            return bad("an exception for every check needs a resource or cluster pattern: it would hide every finding".into());
        }
        let today = crate::pipeline::today_utc();
        let in_a_year = {
            let now = super::store::now_ms() / 1000;
            let (y, m, d) = kspm_engine::civil::from_days(now / 86_400 + 365);
            format!("{y:04}-{m:02}-{d:02}")
        };
        if !convert::valid_day(&r.expires) {
            return bad(format!(
                "expires must be a day, YYYY-MM-DD (got `{}`)",
                r.expires
            ));
        }
        if r.expires < today || r.expires > in_a_year {
            return bad(format!(
                "expires must be between today ({today}) and a year from now ({in_a_year})"
            ));
        }
        let now = super::store::now_ms();
        let row = super::store::ExceptionRow {
            id: super::store::new_scan_id(now).replacen('s', "x", 1),
            check: r.check.clone(),
            resource: r.resource.clone(),
            cluster: r.cluster.clone(),
            reason: r.reason.clone(),
            expires: r.expires.clone(),
            author: r.author.clone(),
            created_at: now,
            expired_at: 0,
        };
        self.shared
            .store
            .create_exception(&tenant, &row)
            .await
            .map_err(internal)?;
        Ok(Response::new(pb::CreateExceptionResponse {
            exception: Some(convert::exception(&row, &today)),
        }))
    }

    async fn list_exceptions(
        &self,
        req: Request<pb::ListExceptionsRequest>,
    ) -> Result<Response<pb::ListExceptionsResponse>, Status> {
        let tenant = tenant(&req)?;
        let today = crate::pipeline::today_utc();
        let all = self
            .shared
            .store
            .exceptions(&tenant)
            .await
            .map_err(internal)?;
        Ok(Response::new(pb::ListExceptionsResponse {
            exceptions: all
                .iter()
                .filter(|e| req.get_ref().include_expired || e.active(&today))
                .map(|e| convert::exception(e, &today))
                .collect(),
        }))
    }

    type ExportOcsfStream = OcsfStream;

    async fn export_ocsf(
        &self,
        req: Request<pb::ExportOcsfRequest>,
    ) -> Result<Response<Self::ExportOcsfStream>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        let scans = self.scope(&tenant, &r.scan_id).await?;
        self.require_cluster(&scans, &r.cluster).await?;
        let shared = self.shared.clone();
        let cluster = r.cluster.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            for s in &scans {
                let events = match ocsf_events(&shared, s, &cluster).await {
                    Ok(e) => e,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                // Pages of at most OCSF_PAGE events and about OCSF_PAGE_BYTES of JSON.
                let mut page: Vec<String> = Vec::new();
                let mut bytes = 0usize;
                let mut pending = events.iter().map(Value::to_string).peekable();
                while let Some(e) = pending.next() {
                    bytes += e.len();
                    page.push(e);
                    let full = page.len() >= OCSF_PAGE
                        || bytes >= OCSF_PAGE_BYTES
                        || pending.peek().is_none();
                    if full {
                        let message = pb::ExportOcsfResponse {
                            events_json: std::mem::take(&mut page),
                        };
                        bytes = 0;
                        if tx.send(Ok(message)).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn expire_exception(
        &self,
        req: Request<pb::ExpireExceptionRequest>,
    ) -> Result<Response<pb::ExpireExceptionResponse>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        if r.author.trim().is_empty() {
            return Err(Status::invalid_argument(
                "ending an exception needs an author",
            ));
        }
        // Another tenant's exception is not found, exactly like a missing one.
        let row = self
            .shared
            .store
            .expire_exception(&tenant, &r.id, &r.author, super::store::now_ms())
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found(format!("no exception {}", r.id)))?;
        Ok(Response::new(pb::ExpireExceptionResponse {
            exception: Some(convert::exception(&row, &crate::pipeline::today_utc())),
        }))
    }

    async fn watch_events(
        &self,
        req: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        let tenant = tenant(&req)?;
        let r = req.get_ref();
        let filter = EventFilter {
            cluster: r.cluster.clone(),
            min_severity: match pb::Severity::try_from(r.min_severity) {
                Ok(pb::Severity::Unspecified) => None,
                Ok(s) => Some(s as i32),
                Err(_) => return Err(Status::invalid_argument("min_severity is not a severity")),
            },
            kinds: r
                .kinds
                .iter()
                .map(|k| {
                    pb::watch_events_response::Kind::try_from(*k)
                        .ok()
                        .filter(|k| *k != pb::watch_events_response::Kind::Unspecified)
                        .map(|k| k as i32)
                        .ok_or_else(|| {
                            Status::invalid_argument(format!("{k} is not an event kind"))
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        // Resuming: the cursor is one of the tenant's scans, or nothing is found.
        let after = if r.after.is_empty() {
            None
        } else {
            Some(
                self.shared
                    .store
                    .scan(&tenant, &r.after)
                    .await
                    .map_err(internal)?
                    .ok_or_else(|| Status::not_found(format!("no cursor {}", r.after)))?,
            )
        };
        let shared = self.shared.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        tokio::spawn(async move {
            let started = match &after {
                Some(a) => super::ScanFeed::start_after(&shared, &tenant, a).await,
                None => super::ScanFeed::start(&shared, &tenant).await,
            };
            let mut feed = match started {
                Ok(f) => f,
                Err(e) => {
                    let _ = tx.send(Err(internal(e))).await;
                    return;
                }
            };
            while let Some(batch) = feed.next(&shared, tx.closed()).await {
                let scans = match batch {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(internal(e))).await;
                        return;
                    }
                };
                for s in scans {
                    let events = match scan_events(&shared, &s, &filter).await {
                        Ok(ev) => ev,
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    };
                    for ev in events {
                        if tx.send(Ok(ev)).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

/// What a WatchEvents stream asks for.
struct EventFilter {
    /// Only this cluster (empty: all).
    cluster: String,
    /// Only findings and paths of at least this severity (proto enum value).
    min_severity: Option<i32>,
    /// Only these kinds (proto enum values; empty: all).
    kinds: Vec<i32>,
}

/// The events a committed scan produces against its target's previous scan, as `filter` keeps
/// them; each carries the scan as its cursor.
async fn scan_events(
    shared: &Shared,
    s: &ScanRow,
    filter: &EventFilter,
) -> Result<Vec<pb::WatchEventsResponse>, Status> {
    use pb::watch_events_response::Kind;
    let cluster = filter.cluster.as_str();
    let severe = |sev: i32| filter.min_severity.is_none_or(|min| sev >= min);
    let mut out = Vec::new();
    if let Some(prev) = shared.store.previous_scan(s).await.map_err(internal)? {
        let d = drift_between(shared, &prev, s).await?;
        let keep_f =
            |f: &pb::Finding| (cluster.is_empty() || f.cluster == cluster) && severe(f.severity);
        let keep_p =
            |p: &pb::AttackPath| (cluster.is_empty() || p.cluster == cluster) && severe(p.severity);
        for f in d.new_findings.into_iter().filter(keep_f) {
            out.push(pb::WatchEventsResponse {
                kind: Kind::FindingAdded as i32,
                finding: Some(f),
                ..Default::default()
            });
        }
        for f in d.resolved_findings.into_iter().filter(keep_f) {
            out.push(pb::WatchEventsResponse {
                kind: Kind::FindingResolved as i32,
                finding: Some(f),
                ..Default::default()
            });
        }
        for p in d.new_paths.into_iter().filter(keep_p) {
            out.push(pb::WatchEventsResponse {
                kind: Kind::PathAdded as i32,
                path: Some(p),
                ..Default::default()
            });
        }
        for p in d.resolved_paths.into_iter().filter(keep_p) {
            out.push(pb::WatchEventsResponse {
                kind: Kind::PathResolved as i32,
                path: Some(p),
                ..Default::default()
            });
        }
    }
    // A scan that did not read the cluster asked about is not its news.
    let read_it = cluster.is_empty()
        || shared
            .store
            .cluster_names(&s.id)
            .await
            .map_err(internal)?
            .iter()
            .any(|c| c == cluster);
    if read_it {
        out.push(pb::WatchEventsResponse {
            kind: Kind::ScanCommitted as i32,
            scan: Some(convert::scan(s)),
            ..Default::default()
        });
    }
    for ev in &mut out {
        ev.cursor = s.id.clone();
    }
    out.retain(|ev| filter.kinds.is_empty() || filter.kinds.contains(&ev.kind));
    Ok(out)
}

/// Findings, paths and posture changes from one scan to another of the same target.
pub async fn drift_between(
    shared: &Shared,
    from: &ScanRow,
    to: &ScanRow,
) -> Result<pb::GetDriftResponse, Status> {
    let store = &shared.store;
    let old = store.finding_keys(from).await.map_err(internal)?;
    let new = store.finding_keys(to).await.map_err(internal)?;
    let old_keys: HashMap<&str, ()> = old.iter().map(|(k, _, _)| (k.as_str(), ())).collect();
    let new_keys: HashMap<&str, ()> = new.iter().map(|(k, _, _)| (k.as_str(), ())).collect();
    let mut out = pb::GetDriftResponse {
        from_scan_id: from.id.clone(),
        to_scan_id: to.id.clone(),
        ..Default::default()
    };
    // A stored finding that does not read back is logged and left out of the drift.
    let read = |scan: &ScanRow, key: &str, b: &Value| {
        let what = format!("finding {}/{key}", scan.id);
        let stored = convert::or_left_out(convert::StoredFinding::read(b, &what))?;
        Some(convert::finding(&scan.id, key, &stored, scan.finished_at))
    };
    out.new_findings = new
        .iter()
        .filter(|(k, _, _)| !old_keys.contains_key(k.as_str()))
        .filter_map(|(_, key, b)| read(to, key, b))
        .collect();
    out.resolved_findings = old
        .iter()
        .filter(|(k, _, _)| !new_keys.contains_key(k.as_str()))
        .filter_map(|(_, key, b)| read(from, key, b))
        .collect();
    let old_p = kspm_engine::graph::paths::AttackPath::all(&convert::readable_paths(
        &from.id,
        &store.paths(&from.id).await.map_err(internal)?,
    ));
    let new_p = kspm_engine::graph::paths::AttackPath::all(&convert::readable_paths(
        &to.id,
        &store.paths(&to.id).await.map_err(internal)?,
    ));
    let (oi, ni) = (crate::diff::path_ids(&old_p), crate::diff::path_ids(&new_p));
    out.new_paths = new_p
        .iter()
        .filter(|p| !oi.contains(&p.id))
        .map(|p| convert::path(&to.id, p))
        .collect();
    out.resolved_paths = old_p
        .iter()
        .filter(|p| !ni.contains(&p.id))
        .map(|p| convert::path(&from.id, p))
        .collect();
    let names =
        |cs: Vec<(String, Value, Value)>| cs.into_iter().map(|c| c.0).collect::<BTreeSet<_>>();
    let clusters: BTreeSet<String> = names(store.clusters(&from.id).await.map_err(internal)?)
        .union(&names(store.clusters(&to.id).await.map_err(internal)?))
        .cloned()
        .collect();
    for c in clusters {
        let a = store
            .cluster_state(&from.id, &c)
            .await
            .map_err(internal)?
            .map(|x| x.1)
            .unwrap_or_default();
        let b = store
            .cluster_state(&to.id, &c)
            .await
            .map_err(internal)?
            .map(|x| x.1)
            .unwrap_or_default();
        for ch in drift::diff(&a, &b) {
            out.changes.push(pb::Change {
                category: ch.category,
                cluster: c.clone(),
                item: ch.item,
                change: ch.change,
                before_value: ch.before.as_deref().map(convert::digest_value),
                after_value: ch.after.as_deref().map(convert::digest_value),
                before: ch.before.unwrap_or_default(),
                after: ch.after.unwrap_or_default(),
            });
        }
    }
    Ok(out)
}
