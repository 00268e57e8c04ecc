//! The live web view: the HTML report's page served by `kspm serve` (`web_listen`), fed from
//! the tenant's latest scans, updated through server-sent events, with drift between scans.
//! Same credentials as the gRPC API (`Authorization: Bearer <token>` on every `/api/` call; the
//! page itself holds no data).

use super::failure::Failure;
use super::grpc::drift_between;
use super::store::ScanRow;
use super::{convert, ScanFeed, Shared};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

type Body = BoxBody<Bytes, Infallible>;

fn full(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .body(Full::new(body.into()).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    full(status, "application/json", v.to_string())
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, &json!({ "error": message }))
}

fn tenant(shared: &Shared, req: &Request<Incoming>) -> Option<String> {
    let token = super::auth::bearer_token(req.headers().get("authorization")?.to_str().ok()?)?;
    shared
        .config
        .tenant_for_token(token)
        .map(|t| t.name.clone())
}

fn query(req: &Request<Incoming>) -> BTreeMap<String, String> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The report parts of the tenant's latest scans (what [`crate::html::model`] shows), read back
/// into their types, with totals, cluster summaries and errors as the store keeps them.
struct Latest {
    summary: Value,
    clusters: Value,
    errors: Vec<Value>,
    findings: Vec<kspm_engine::Finding>,
    paths: Vec<kspm_engine::graph::paths::AttackPath>,
    compliance: Vec<kspm_engine::compliance::ComplianceSummary>,
}

/// The tenant's latest scans ([`Latest`]) and the explorer of their fleet graphs (the graphs
/// `/api/paths` and `/api/reach` ask).
async fn latest_report(
    shared: &Shared,
    tenant: &str,
) -> Result<(Latest, Arc<super::fleet::Explored>), Failure> {
    let mut clusters = Vec::new();
    let mut compliance = Vec::new();
    let mut findings: Vec<kspm_engine::Finding> = Vec::new();
    let mut paths = Vec::new();
    let mut errors = Vec::new();
    let mut by_severity: BTreeMap<String, u64> = BTreeMap::new();
    let mut objects = 0;
    let mut unreadable = 0usize;
    let scans = shared.latest_scans(tenant).await?;
    let explorer = shared.explorer(&scans).await?;
    for s in scans {
        for (name, summary, comp) in shared.store.clusters(&s.id).await? {
            let read = convert::StoredCluster::read(
                &summary,
                &format!("summary of {name} in scan {}", s.id),
            );
            objects += read.objects;
            for e in read.error_messages {
                errors.push(json!({"cluster": name, "file": e, "message": ""}));
            }
            clusters.push(summary);
            let what = format!("compliance of {name} in scan {}", s.id);
            unreadable += convert::readable(
                comp.as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| (what.clone(), c)),
                &mut compliance,
            );
        }
        // Stored parts that do not read back are logged, left out and said in the errors.
        let stored = shared.store.finding_keys(&s).await?;
        let first = findings.len();
        unreadable += convert::readable(
            stored
                .iter()
                .map(|(_, key, f)| (format!("finding {}/{key}", s.id), f)),
            &mut findings,
        );
        for f in &findings[first..] {
            *by_severity
                .entry(f.severity.as_str().to_string())
                .or_default() += 1;
        }
        let stored = shared.store.paths(&s.id).await?;
        let read = convert::readable_paths(&s.id, &stored);
        unreadable += stored.len() - read.len();
        paths.extend(read);
    }
    if unreadable > 0 {
        errors.push(json!({"cluster": "", "file": "", "message": format!(
            "{unreadable} stored finding(s), path(s) or compliance summaries could not be read back (see the service log)"
        )}));
    }
    // The page lists findings in report order across targets.
    findings.sort_by_key(|f| {
        (
            !f.on_attack_path,
            4 - super::store::severity_rank(f.severity.as_str()),
        )
    });
    paths.sort_by(|a, b| b.score.total_cmp(&a.score));
    let latest = Latest {
        summary: json!({"clusters": clusters.len(), "objects": objects, "findings": findings.len(),
            "by_severity": by_severity, "attack_paths": paths.len()}),
        clusters: Value::Array(clusters),
        errors,
        findings,
        paths,
        compliance,
    };
    Ok((latest, explorer))
}

fn drift_json(d: &super::pb::GetDriftResponse) -> Value {
    let sev = |s: i32| {
        super::pb::Severity::try_from(s)
            .map(|x| {
                x.as_str_name()
                    .trim_start_matches("SEVERITY_")
                    .to_ascii_lowercase()
            })
            .unwrap_or_default()
    };
    let f = |x: &super::pb::Finding| json!({"severity": sev(x.severity), "cluster": x.cluster, "check": x.check, "resource": x.resource, "message": x.message});
    let p = |x: &super::pb::AttackPath| {
        json!({"score": x.score, "cluster": x.cluster, "source": x.source, "target": x.target,
        "steps": x.steps.iter().map(|s| json!({"from": s.from, "to": s.to, "technique": s.technique})).collect::<Vec<_>>()})
    };
    json!({
        "from": d.from_scan_id, "to": d.to_scan_id,
        "new_findings": d.new_findings.iter().map(f).collect::<Vec<_>>(),
        "resolved_findings": d.resolved_findings.iter().map(f).collect::<Vec<_>>(),
        "new_paths": d.new_paths.iter().map(p).collect::<Vec<_>>(),
        "resolved_paths": d.resolved_paths.iter().map(p).collect::<Vec<_>>(),
        "changes": d.changes.iter().map(|c| json!({"category": c.category, "cluster": c.cluster, "item": c.item, "change": c.change})).collect::<Vec<_>>(),
    })
}

fn scan_json(s: &ScanRow) -> Value {
    json!({"id": s.id, "target": s.target, "finished_at": convert::rfc3339(s.finished_at),
        "findings": s.findings, "attack_paths": s.attack_paths})
}

/// Server-sent events: `event: scan` for every scan the tenant commits from now on.
fn events(shared: Arc<Shared>, tenant: String) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(16);
    tokio::spawn(async move {
        let Ok(mut feed) = ScanFeed::start(&shared, &tenant).await else {
            return;
        };
        if tx
            .send(Ok(Frame::data(Bytes::from(": connected\n\n"))))
            .await
            .is_err()
        {
            return;
        }
        // A failed poll is retried on the next wake-up; the page reloads on every event anyway.
        while let Some(batch) = feed.next(&shared, tx.closed()).await {
            for s in batch.unwrap_or_default() {
                let msg = format!("event: scan\ndata: {}\n\n", scan_json(&s));
                if tx.send(Ok(Frame::data(Bytes::from(msg)))).await.is_err() {
                    return;
                }
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-store")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    if req.method() != http::Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "read-only: GET only");
    }
    if path == "/" || path == "/index.html" {
        return full(
            StatusCode::OK,
            "text/html; charset=utf-8",
            crate::html::page(&Value::Null, true),
        );
    }
    if !path.starts_with("/api/") {
        return error(StatusCode::NOT_FOUND, "not found");
    }
    let Some(tenant) = tenant(&shared, &req) else {
        shared.metrics.api_error("unauthenticated");
        return error(
            StatusCode::UNAUTHORIZED,
            "send Authorization: Bearer <token>",
        );
    };
    match path.as_str() {
        "/api/model" => match latest_report(&shared, &tenant).await {
            Ok((r, x)) => {
                // `?graph=DIGEST`: the page holds that graph already — not sent again.
                let held = query(&req).get("graph") == Some(&x.digest);
                let data = crate::html::PageData {
                    summary: r.summary,
                    clusters: r.clusters,
                    errors: r.errors,
                    findings: &r.findings,
                    paths: &r.paths,
                    compliance: &r.compliance,
                    fix_plan: Some(&x.plan),
                    fix_alone: Some(&x.alone),
                };
                let mut m = crate::html::model(&data, (!held).then_some(&x.explorer));
                if let Some(o) = m.as_object_mut() {
                    o.insert("graph_digest".into(), Value::String(x.digest.clone()));
                    if held {
                        o.insert("graph_unchanged".into(), Value::Bool(true));
                    }
                }
                json_response(StatusCode::OK, &m)
            }
            Err(e) => internal(e),
        },
        "/api/scans" => match shared
            .store
            .list_scans(&tenant, "", (i64::MIN, i64::MAX), 0, 200)
            .await
        {
            Ok((scans, _)) => json_response(
                StatusCode::OK,
                &Value::Array(scans.iter().map(scan_json).collect()),
            ),
            Err(e) => internal(e),
        },
        "/api/drift" => {
            let q = query(&req);
            let (Some(from), Some(to)) = (q.get("from"), q.get("to")) else {
                return error(StatusCode::BAD_REQUEST, "from and to scan IDs are required");
            };
            let (a, b) = match (
                shared.store.scan(&tenant, from).await,
                shared.store.scan(&tenant, to).await,
            ) {
                (Ok(Some(a)), Ok(Some(b))) => (a, b),
                (Err(e), _) | (_, Err(e)) => return internal(e),
                _ => return error(StatusCode::NOT_FOUND, "no such scan"),
            };
            if a.target != b.target {
                return error(
                    StatusCode::BAD_REQUEST,
                    "the two scans must be of the same target",
                );
            }
            match drift_between(&shared, &a, &b).await {
                Ok(d) => json_response(StatusCode::OK, &drift_json(&d)),
                Err(status) if status.code() == tonic::Code::Unavailable => {
                    error(StatusCode::SERVICE_UNAVAILABLE, status.message())
                }
                Err(status) => error(StatusCode::INTERNAL_SERVER_ERROR, status.message()),
            }
        }
        "/api/events" => events(shared, tenant),
        "/api/paths" | "/api/reach" => ask(&shared, &tenant, &path, &query(&req)).await,
        _ => error(StatusCode::NOT_FOUND, "not found"),
    }
}

/// `/api/paths?from=&to=[&cluster=&limit=&max_hops=&scan=]` and
/// `/api/reach?from=[&cluster=&max_hops=&scan=]`: the questions `kspm query paths|reach` and the
/// gRPC `QueryPath`/`QueryReach` answer, on the same fleet graph, in the CLI's JSON.
async fn ask(
    shared: &Shared,
    tenant: &str,
    path: &str,
    q: &BTreeMap<String, String>,
) -> Response<Body> {
    use kspm_engine::graph::query::PathQuery;
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let number = |k: &str, default: u32, max: u32| match q.get(k) {
        None => Ok(default),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!("{k} must be a number from 1 to {max}")),
        },
    };
    let (hops, limit) = match (
        number("max_hops", 12, super::fleet::MAX_HOPS),
        number("limit", 1, super::fleet::MAX_PATHS),
    ) {
        (Ok(h), Ok(l)) => (h, l),
        (Err(e), _) | (_, Err(e)) => return error(StatusCode::BAD_REQUEST, &e),
    };
    if get("from").is_empty() || (path == "/api/paths" && get("to").is_empty()) {
        return error(
            StatusCode::BAD_REQUEST,
            "from (and, for paths, to) are required",
        );
    }
    let scans = match get("scan") {
        "" => shared.latest_scans(tenant).await,
        id => shared
            .store
            .scan(tenant, id)
            .await
            .map(|s| s.into_iter().collect()),
    };
    let scans = match scans {
        Ok(s) if s.is_empty() && !get("scan").is_empty() => {
            return error(StatusCode::NOT_FOUND, "no such scan")
        }
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    let cluster = (!get("cluster").is_empty()).then_some(get("cluster"));
    let answer = if path == "/api/paths" {
        shared
            .ask_fleet(&scans, get("cluster"), |query| {
                query.paths(&PathQuery {
                    from: get("from"),
                    to: get("to"),
                    cluster,
                    max_hops: hops,
                    limit: limit as usize,
                })
            })
            .await
            .map(|(found, _)| {
                let refs: Vec<&kspm_engine::graph::paths::AttackPath> = found.iter().collect();
                kspm_engine::render::paths::json(&refs)
            })
    } else {
        shared
            .ask_fleet(&scans, get("cluster"), |query| {
                query.reach(cluster, get("from"), hops)
            })
            .await
            .map(|(reached, _)| kspm_engine::render::paths::reach_json(get("from"), &reached))
    };
    match answer {
        Ok(text) => full(StatusCode::OK, "application/json", text),
        Err(super::fleet::AskError::NotFound(m)) => error(StatusCode::NOT_FOUND, &m),
        Err(super::fleet::AskError::Internal(e)) => internal(e),
    }
}

/// A web request that failed on the service's side, answered by kind ([`Failure`]): 503 when
/// the database cannot answer now, 500 otherwise; the cause logged, never shown.
fn internal(e: impl Into<Failure>) -> Response<Body> {
    let f = e.into();
    f.log("web request");
    let status = if f.retryable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    error(status, f.message())
}

/// Serves the web view until the service stops.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut stopping = shared.stopping.subscribe();
    while let Some(sock) = super::next_connection(&listener, &mut stopping).await {
        let shared = shared.clone();
        tokio::spawn(super::serve_http1(sock, move |req| {
            handle(shared.clone(), req)
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(percent_decode("s123%2Fx+y"), "s123/x y");
        assert_eq!(percent_decode("bad%zz%"), "bad%zz%");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("é%C3%A9%"), "éé%");
    }
}
