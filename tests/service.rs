//! `kspm serve` end to end: a tonic client against the real server (every RPC, pagination,
//! filters, streaming, health, reflection, auth negatives, tenant isolation), history in SQLite
//! and in the local PostgreSQL, drift, crash atomicity, and two replicas sharing work.
//!
//! PostgreSQL: `KSPM_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`) must
//! reach a server where the user may create databases; each test makes and drops its own.

mod common;
#[path = "support/fake_apiserver.rs"]
mod fake_apiserver;

use kspm_api::service::config::{hash_token, Config};
use kspm_api::service::pb::posture_service_client::PostureServiceClient;
use kspm_api::service::pb::{self, watch_events_response::Kind};
use kspm_api::service::{self, Shared};
use kspm_engine::ScanOptions;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::Channel;
use tonic::{Code, Request};

const TOKEN_A: &str = "token-of-tenant-a";
const TOKEN_B: &str = "token-of-tenant-b";

struct Server {
    addr: String,
    web: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl Server {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.task.await;
    }
}

fn config(
    db: &str,
    replica: &str,
    targets_a: &[(&str, &Path, &str)],
    targets_b: &[(&str, &Path, &str)],
) -> Config {
    let mut text = format!(
        "[service]\ndatabase_url = \"{db}\"\nreplica = \"{replica}\"\nlease_seconds = 2\nretention = 50\n"
    );
    for (tenant, token, targets) in [
        ("tenant-a", TOKEN_A, targets_a),
        ("tenant-b", TOKEN_B, targets_b),
    ] {
        text.push_str(&format!(
            "[[tenant]]\nname = \"{tenant}\"\ntoken_sha256 = [\"{}\"]\n",
            hash_token(token)
        ));
        for (name, path, interval) in targets {
            text.push_str(&format!(
                "[[tenant.target]]\nname = \"{name}\"\npaths = [\"{}\"]\ninterval = \"{interval}\"\n",
                path.display()
            ));
        }
    }
    Config::parse(&text).expect("test config")
}

async fn open(config: Config) -> Arc<Shared> {
    let mut shared = Shared::open(config, ScanOptions::default())
        .await
        .expect("open store");
    Arc::get_mut(&mut shared).expect("sole owner").poll = Duration::from_millis(100);
    shared
}

async fn start(config: Config) -> Server {
    run(open(config).await).await
}

async fn run(shared: Arc<Shared>) -> Server {
    run_with_grace(shared, Duration::from_secs(5)).await
}

/// [`run`], giving running scans and jobs `grace` to finish when stopped.
async fn run_with_grace(shared: Arc<Shared>, grace: Duration) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    let web = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let web_addr = format!("http://{}", web.local_addr().expect("addr"));
    let web = Some(web);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(service::serve(
        shared.clone(),
        listener,
        None,
        web,
        async move {
            let _ = rx.await;
        },
        grace,
    ));
    Server {
        addr,
        web: web_addr,
        shared,
        stop: Some(tx),
        task,
    }
}

async fn client(addr: &str) -> PostureServiceClient<Channel> {
    for _ in 0..50 {
        if let Ok(c) = PostureServiceClient::connect(addr.to_string()).await {
            return c.max_decoding_message_size(64 << 20);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {addr} did not come up");
}

fn req<T>(token: &str, body: T) -> Request<T> {
    let mut r = Request::new(body);
    r.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    r
}

/// Waits until the tenant has at least `n` scans.
async fn wait_scans(c: &mut PostureServiceClient<Channel>, token: &str, n: usize) -> Vec<pb::Scan> {
    for _ in 0..600 {
        let scans = c
            .list_scans(req(token, pb::ListScansRequest::default()))
            .await
            .expect("list scans")
            .into_inner()
            .scans;
        if scans.len() >= n {
            return scans;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} scans after 60 s");
}

fn demo() -> PathBuf {
    common::repo().join("examples/demo-fleet")
}

fn small() -> PathBuf {
    common::repo().join("tests/fixtures/small-cluster")
}

/// The offline report of the same input, for comparison.
fn offline(path: &Path) -> serde_json::Value {
    let paths = [path.to_path_buf()];
    let out = kspm_api::pipeline::scan(
        kspm_api::pipeline::Source::Paths(&paths),
        &ScanOptions::default(),
    )
    .expect("a scan of files");
    serde_json::to_value(&out.report).expect("report json")
}

/// The sink class a reported path's target belongs to (a node for NodeRoot, the account for
/// CloudAdmin), as a query names it.
fn sink_of(target: &str) -> String {
    if target.starts_with("Node:") || target.contains("] Node:") {
        "NodeRoot".into()
    } else {
        target.to_string()
    }
}

/// A TriggerScan that answers once the scans are committed (empty target: every target).
fn waiting(target: impl Into<String>) -> pb::TriggerScanRequest {
    pb::TriggerScanRequest {
        target: target.into(),
        wait: true,
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> Code {
    r.expect_err("expected an error").code()
}

/// Creates a fresh PostgreSQL database and returns its URL.
async fn postgres_db(tag: &str) -> String {
    let base = std::env::var("KSPM_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base} (set KSPM_TEST_POSTGRES): {e}"));
    let name = format!("kspm_test_{tag}_{}", std::process::id());
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&admin)
        .await;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create database");
    let (prefix, _) = base.rsplit_once('/').expect("database URL");
    format!("{prefix}/{name}")
}

async fn every_rpc(db: &str) {
    let demo = demo();
    let small = small();
    let server = start(config(
        db,
        "r1",
        &[("demo", &demo, "1h")],
        &[("small", &small, "1h")],
    ))
    .await;
    let mut c = client(&server.addr).await;
    let first = wait_scans(&mut c, TOKEN_A, 1).await;
    wait_scans(&mut c, TOKEN_B, 1).await;
    let expected = offline(&demo);
    let total = expected["findings"].as_array().map_or(0, Vec::len) as u64;

    // Clusters.
    let clusters = c
        .list_clusters(req(TOKEN_A, pb::ListClustersRequest::default()))
        .await
        .expect("clusters")
        .into_inner()
        .clusters;
    let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "aks-payments-westeurope",
            "eks-prod-us-east-1",
            "gke-staging-eu"
        ]
    );
    assert!(clusters
        .iter()
        .all(|c| c.objects > 0 && c.target == "demo" && !c.provider.is_empty()));
    // No server path reaches a tenant: origins are relative to the target's path.
    let root = demo.to_string_lossy().into_owned();
    for c in &clusters {
        assert!(
            !c.origin.contains(&root) && !c.origin.starts_with('/'),
            "{}",
            c.origin
        );
        assert_eq!(c.origin, c.name, "a cluster directory of the fleet");
    }

    // Posture: per-severity counts add up to the findings.
    let posture = c
        .get_posture(req(TOKEN_A, pb::GetPostureRequest::default()))
        .await
        .expect("posture")
        .into_inner();
    assert_eq!(
        posture.severities.iter().map(|s| s.count).sum::<u64>(),
        total
    );
    assert!(posture
        .frameworks
        .iter()
        .any(|f| f.framework == "cis-kubernetes" && f.failed > 0));
    assert!(posture.frameworks.iter().all(|f| f.controls.is_empty()));
    // Attack paths by cluster and severity add up, and match the offline report's.
    assert_eq!(
        posture.path_severities.iter().map(|p| p.count).sum::<u64>(),
        posture.attack_paths
    );
    let mut offline_paths: std::collections::BTreeMap<(String, String), u64> = Default::default();
    for p in expected["attack_paths"].as_array().expect("paths") {
        *offline_paths
            .entry((
                p["cluster"].as_str().unwrap_or("").to_string(),
                p["severity"].as_str().unwrap_or("").to_string(),
            ))
            .or_default() += 1;
    }
    let served_paths: std::collections::BTreeMap<(String, String), u64> = posture
        .path_severities
        .iter()
        .map(|p| {
            let sev = pb::Severity::try_from(p.severity)
                .map(|s| {
                    s.as_str_name()
                        .trim_start_matches("SEVERITY_")
                        .to_lowercase()
                })
                .unwrap_or_default();
            ((p.cluster.clone(), sev), p.count)
        })
        .collect();
    assert_eq!(served_paths, offline_paths);
    // Per control, on request: the same results as the CLI's JSON report.
    let cis = c
        .get_posture(req(
            TOKEN_A,
            pb::GetPostureRequest {
                with_controls: true,
                framework: "cis-kubernetes".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("posture with controls")
        .into_inner();
    assert!(!cis.frameworks.is_empty());
    for f in &cis.frameworks {
        assert_eq!(f.framework, "cis-kubernetes");
        assert_eq!(
            f.controls.len() as u32,
            f.passed + f.failed + f.not_assessable,
            "{}",
            f.cluster
        );
        let offline: std::collections::BTreeSet<(String, String)> = expected["compliance"]
            .as_array()
            .expect("compliance")
            .iter()
            .filter(|x| x["cluster"] == f.cluster.as_str() && x["framework"] == "cis-kubernetes")
            .flat_map(|x| x["controls"].as_array().cloned().unwrap_or_default())
            .map(|ctl| {
                (
                    ctl["id"].as_str().unwrap_or("").to_string(),
                    ctl["status"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let served: std::collections::BTreeSet<(String, String)> = f
            .controls
            .iter()
            .map(|ctl| (ctl.id.clone(), ctl.status.clone()))
            .collect();
        assert_eq!(served, offline, "{}", f.cluster);
        assert!(f
            .controls
            .iter()
            .filter(|ctl| ctl.status == "fail")
            .all(|ctl| ctl.findings > 0 && !ctl.checks.is_empty()));
    }
    assert_eq!(
        code(
            c.get_posture(req(
                TOKEN_A,
                pb::GetPostureRequest {
                    framework: "nope".into(),
                    ..Default::default()
                },
            ))
            .await
        ),
        Code::InvalidArgument
    );
    assert_eq!(
        posture.attack_paths as usize,
        expected["attack_paths"].as_array().map_or(0, Vec::len)
    );
    assert_eq!(
        code(
            c.get_posture(req(
                TOKEN_A,
                pb::GetPostureRequest {
                    cluster: "nope".into(),
                    ..Default::default()
                }
            ))
            .await
        ),
        Code::NotFound
    );

    // Findings: every page, in report order, equal to the offline scan.
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_findings(req(
                TOKEN_A,
                pb::ListFindingsRequest {
                    page_size: 37,
                    page_token: token.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("findings page")
            .into_inner();
        assert_eq!(page.total, total);
        assert!(page.findings.len() <= 37);
        all.extend(page.findings);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(all.len() as u64, total);
    let got: Vec<(String, String, String)> = all
        .iter()
        .map(|f| (f.check.clone(), f.resource.clone(), f.message.clone()))
        .collect();
    let want: Vec<(String, String, String)> = expected["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (s("check"), s("resource"), s("message"))
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        all.iter().map(|f| &f.id).collect::<HashSet<_>>().len(),
        all.len()
    );

    // Filters.
    let list = |f: pb::ListFindingsRequest| {
        let mut c = c.clone();
        async move { c.list_findings(req(TOKEN_A, f)).await }
    };
    let high = list(pb::ListFindingsRequest {
        min_severity: pb::Severity::High as i32,
        page_size: 1000,
        ..Default::default()
    })
    .await
    .expect("high")
    .into_inner();
    let want_high = all
        .iter()
        .filter(|f| f.severity >= pb::Severity::High as i32)
        .count();
    assert_eq!(high.total as usize, want_high);
    assert!(high
        .findings
        .iter()
        .all(|f| f.severity >= pb::Severity::High as i32));
    let sample = all
        .iter()
        .find(|f| !f.namespace.is_empty())
        .expect("a namespaced finding");
    let by = list(pb::ListFindingsRequest {
        cluster: sample.cluster.clone(),
        check: sample.check.clone(),
        namespace: sample.namespace.clone(),
        page_size: 1000,
        ..Default::default()
    })
    .await
    .expect("filtered")
    .into_inner();
    let want_by = all
        .iter()
        .filter(|f| {
            f.cluster == sample.cluster
                && f.check == sample.check
                && f.namespace == sample.namespace
        })
        .count();
    assert_eq!(by.findings.len(), want_by);
    assert!(by.findings.iter().any(|f| f.id == sample.id));
    let on_path = list(pb::ListFindingsRequest {
        on_attack_path: true,
        page_size: 1000,
        ..Default::default()
    })
    .await
    .expect("on path")
    .into_inner();
    assert_eq!(
        on_path.total as usize,
        all.iter().filter(|f| f.on_attack_path).count()
    );
    assert!(on_path.total > 0);
    // Controls with `_` (a LIKE wildcard) match exactly, case-insensitively, on both databases.
    let underscored = all
        .iter()
        .flat_map(|f| f.controls.iter())
        .find(|c| c.control.contains('_'))
        .expect("a control id with an underscore")
        .clone();
    let wanted = format!("{}:{}", underscored.framework, underscored.control);
    let got = list(pb::ListFindingsRequest {
        control: wanted.to_uppercase(),
        page_size: 1000,
        ..Default::default()
    })
    .await
    .expect("underscored control")
    .into_inner();
    assert_eq!(
        got.total as usize,
        all.iter()
            .filter(|f| f
                .controls
                .iter()
                .any(|x| x.framework == underscored.framework && x.control == underscored.control))
            .count()
    );
    let control = sample.controls.first().expect("controls");
    let by_control = list(pb::ListFindingsRequest {
        control: format!("{}:{}", control.framework, control.control),
        page_size: 1000,
        ..Default::default()
    })
    .await
    .expect("by control")
    .into_inner();
    assert_eq!(
        by_control.total as usize,
        all.iter()
            .filter(|f| f
                .controls
                .iter()
                .any(|x| x.framework == control.framework && x.control == control.control))
            .count()
    );
    for bad in [
        pb::ListFindingsRequest {
            page_size: 5000,
            ..Default::default()
        },
        pb::ListFindingsRequest {
            check: "KSPM-NOPE".into(),
            ..Default::default()
        },
        pb::ListFindingsRequest {
            control: "made-up:1.1".into(),
            ..Default::default()
        },
        pb::ListFindingsRequest {
            page_token: "not-a-token".into(),
            ..Default::default()
        },
        pb::ListFindingsRequest {
            min_severity: 42,
            ..Default::default()
        },
    ] {
        assert_eq!(code(list(bad).await), Code::InvalidArgument);
    }
    assert_eq!(
        code(
            list(pb::ListFindingsRequest {
                scan_id: "s-nope".into(),
                ..Default::default()
            })
            .await
        ),
        Code::NotFound
    );

    // One finding.
    let one = c
        .get_finding(req(
            TOKEN_A,
            pb::GetFindingRequest {
                id: sample.id.clone(),
            },
        ))
        .await
        .expect("finding")
        .into_inner()
        .finding
        .expect("set");
    assert_eq!(one, *sample);
    assert!(!one.evidence.is_empty() && !one.remediation.is_empty() && !one.source.is_empty());
    // The blast radius as messages says what its JSON says, for every finding.
    for f in &all {
        let radius: serde_json::Value = if f.blast_radius_json.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_str(&f.blast_radius_json).expect("json")
        };
        let reaches = radius["reaches"].as_object().cloned().unwrap_or_default();
        assert_eq!(f.blast_radius.len(), reaches.len(), "{}", f.id);
        for r in &f.blast_radius {
            assert_eq!(
                reaches[&r.sink].as_u64(),
                Some(u64::from(r.hops)),
                "{}",
                r.sink
            );
        }
    }
    assert!(all.iter().any(|f| !f.blast_radius.is_empty()));
    // The resource, structured, is the reference's parts.
    let object = one.object.clone().expect("object");
    let reference = if object.namespace.is_empty() {
        format!("{}:{}", object.kind, object.name)
    } else {
        format!("{}:{}/{}", object.kind, object.namespace, object.name)
    };
    assert_eq!(reference, one.resource);
    assert!(!object.api_version.is_empty());
    // The source is the file within the target (cluster directory/file:line), not the server's.
    assert!(
        !one.source.starts_with('/') && !one.source.contains(&root),
        "{}",
        one.source
    );
    assert!(
        one.source.starts_with(&format!("{}/", one.cluster)),
        "{}",
        one.source
    );
    assert_eq!(
        code(
            c.get_finding(req(
                TOKEN_A,
                pb::GetFindingRequest {
                    id: format!("{}/999999", first[0].id)
                }
            ))
            .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.get_finding(req(
                TOKEN_A,
                pb::GetFindingRequest {
                    id: "garbage".into()
                }
            ))
            .await
        ),
        Code::InvalidArgument
    );

    // Attack paths: paged, ranked, filterable; one by ID.
    let mut paths = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_attack_paths(req(
                TOKEN_A,
                pb::ListAttackPathsRequest {
                    page_size: 10,
                    page_token: token.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("paths")
            .into_inner();
        paths.extend(page.paths);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        paths.len(),
        expected["attack_paths"].as_array().map_or(0, Vec::len)
    );
    assert!(paths.windows(2).all(|w| w[0].score >= w[1].score));
    // Paged by the database in the documented order — score, then path ID — every path once.
    let mut ranked: Vec<(f64, String)> = expected["attack_paths"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    (
                        p["score"].as_f64().unwrap_or(0.0),
                        p["id"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    assert_eq!(
        paths.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        ranked.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    );
    let top = paths[0].clone();
    assert!(!top.steps.is_empty());
    let to_admin = c
        .list_attack_paths(req(
            TOKEN_A,
            pb::ListAttackPathsRequest {
                target: "ClusterAdmin".into(),
                page_size: 500,
                ..Default::default()
            },
        ))
        .await
        .expect("filtered paths")
        .into_inner();
    assert_eq!(
        to_admin.total as usize,
        paths.iter().filter(|p| p.target == "ClusterAdmin").count()
    );
    let technique = top.steps[0].technique.clone();
    let with_tech = c
        .list_attack_paths(req(
            TOKEN_A,
            pb::ListAttackPathsRequest {
                technique: technique.clone(),
                page_size: 500,
                ..Default::default()
            },
        ))
        .await
        .expect("by technique")
        .into_inner();
    assert!(with_tech
        .paths
        .iter()
        .all(|p| p.steps.iter().any(|s| s.technique == technique)));
    assert!(with_tech.paths.iter().any(|p| p.id == top.id));
    assert_eq!(
        code(
            c.list_attack_paths(req(
                TOKEN_A,
                pb::ListAttackPathsRequest {
                    technique: "NOT_A_TECHNIQUE".into(),
                    ..Default::default()
                }
            ))
            .await
        ),
        Code::InvalidArgument
    );
    let got = c
        .get_attack_path(req(
            TOKEN_A,
            pb::GetAttackPathRequest {
                id: top.id.clone(),
                scan_id: String::new(),
            },
        ))
        .await
        .expect("path")
        .into_inner()
        .path
        .expect("set");
    assert_eq!(got, top);
    assert_eq!(
        code(
            c.get_attack_path(req(
                TOKEN_A,
                pb::GetAttackPathRequest {
                    id: "nope".into(),
                    scan_id: String::new()
                }
            ))
            .await
        ),
        Code::NotFound
    );

    // Reachability and path queries on the stored graph.
    let reach = c
        .query_reach(req(
            TOKEN_A,
            pb::QueryReachRequest {
                cluster: top.cluster.clone(),
                from: top.source.clone(),
                max_hops: 10,
                ..Default::default()
            },
        ))
        .await
        .expect("reach")
        .into_inner();
    assert!(
        reach.reached.iter().any(|n| n.node == top.target),
        "{reach:?}"
    );
    let q = c
        .query_path(req(
            TOKEN_A,
            pb::QueryPathRequest {
                cluster: top.cluster.clone(),
                from: top.source.clone(),
                to: sink_of(&top.target),
                max_hops: 20,
                ..Default::default()
            },
        ))
        .await
        .expect("query path")
        .into_inner()
        .path
        .expect("a path");
    let mut top_route = top.clone();
    top_route.folded.clear();
    assert_eq!(q, top_route, "the query answers with the scan's path");
    // Every path of the scan, asked through QueryPath on the fleet graph: the same object.
    let all_paths = &paths;
    assert!(all_paths.len() > 50, "{}", all_paths.len());
    for p in all_paths {
        let answer = c
            .query_path(req(
                TOKEN_A,
                pb::QueryPathRequest {
                    cluster: p.cluster.clone(),
                    from: p.source.clone(),
                    to: sink_of(&p.target),
                    max_hops: 20,
                    ..Default::default()
                },
            ))
            .await
            .expect("query path")
            .into_inner();
        // The route is the scan's; which shorter paths the report folded into it is the
        // report's grouping, not part of the route.
        let mut route = p.clone();
        route.folded.clear();
        assert_eq!(
            answer.path.as_ref(),
            Some(&route),
            "{} {} → {}",
            p.cluster,
            p.source,
            p.target
        );
    }
    // The fix plan: the offline report's, computed on the stored fleet graph.
    let plan = c
        .get_fix_plan(req(TOKEN_A, pb::GetFixPlanRequest::default()))
        .await
        .expect("fix plan")
        .into_inner();
    let want = &expected["fix_plan"];
    let ids = |v: &serde_json::Value, list: &str| -> Vec<String> {
        v[list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| f["id"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        plan.fixes.iter().map(|f| f.id.clone()).collect::<Vec<_>>(),
        ids(want, "fixes")
    );
    assert_eq!(
        plan.remaining
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>(),
        ids(want, "remaining")
    );
    assert_eq!(
        u64::from(plan.paths_cut),
        want["paths_cut"].as_u64().expect("paths_cut")
    );
    assert_eq!(plan.method, "exact");
    assert_eq!(plan.severity, pb::Severity::High as i32);
    let first_fix = &plan.fixes[0];
    let patch: serde_json::Value = serde_json::from_str(&first_fix.patch_json).expect("JSON");
    assert_eq!(patch, want["fixes"][0]["patch"]);
    assert_eq!(
        first_fix.resolves.len(),
        want["fixes"][0]["resolves"]
            .as_array()
            .expect("resolves")
            .len()
    );
    assert!(!first_fix.breaks.is_empty() && first_fix.object.is_some());
    let cut: u32 = plan.clusters.iter().map(|c| c.paths_cut).sum();
    assert_eq!(cut, plan.paths_cut);
    assert_eq!(
        plan.cut_steps.len(),
        want["cut_steps"].as_object().map_or(0, |m| m.len())
    );
    let one = c
        .get_fix_plan(req(
            TOKEN_A,
            pb::GetFixPlanRequest {
                budget: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("budget")
        .into_inner();
    assert_eq!((one.fixes.len(), one.method.as_str()), (1, "budget"));
    assert!(one.paths_cut <= plan.paths_cut && one.paths_cut > 0);
    assert_eq!(
        code(
            c.get_fix_plan(req(
                TOKEN_A,
                pb::GetFixPlanRequest {
                    severity: 42,
                    ..Default::default()
                },
            ))
            .await
        ),
        Code::InvalidArgument
    );
    // A folded path keeps its ID: GetAttackPath and QueryPath answer it as the container's
    // tail.
    let container = paths
        .iter()
        .find(|p| !p.folded.is_empty())
        .expect("the demo fleet folds some paths");
    let folded = &container.folded[0];
    let got = c
        .get_attack_path(req(
            TOKEN_A,
            pb::GetAttackPathRequest {
                id: folded.id.clone(),
                scan_id: String::new(),
            },
        ))
        .await
        .expect("folded path")
        .into_inner()
        .path
        .expect("set");
    assert_eq!(got.source, folded.source);
    assert!(got.steps.len() < container.steps.len());
    assert_eq!(
        got.steps[..],
        container.steps[container.steps.len() - got.steps.len()..]
    );
    let asked = c
        .query_path(req(
            TOKEN_A,
            pb::QueryPathRequest {
                cluster: container.cluster.clone(),
                from: folded.source.clone(),
                to: sink_of(&container.target),
                max_hops: 20,
                ..Default::default()
            },
        ))
        .await
        .expect("query folded")
        .into_inner()
        .path
        .expect("a path");
    assert_eq!(asked, got, "one answer for the folded path");
    // Alternatives: distinct routes, best first, the first being the scan's.
    let alts = c
        .query_path(req(
            TOKEN_A,
            pb::QueryPathRequest {
                cluster: top.cluster.clone(),
                from: top.source.clone(),
                to: sink_of(&top.target),
                max_hops: 20,
                limit: 3,
                ..Default::default()
            },
        ))
        .await
        .expect("alternatives")
        .into_inner();
    assert_eq!(alts.paths.first(), Some(&top_route));
    let routes: HashSet<Vec<String>> = alts
        .paths
        .iter()
        .map(|p| {
            p.steps
                .iter()
                .map(|s| format!("{} {}", s.technique, s.to))
                .collect()
        })
        .collect();
    assert_eq!(routes.len(), alts.paths.len());

    // The web view answers the same questions from the same graph, in the CLI's JSON.
    for (question, cli) in [
        (
            "/api/paths?from=Internet&to=CloudAdmin&limit=3",
            vec!["query", "paths", "--from", "Internet", "--to", "CloudAdmin", "--limit", "3"],
        ),
        (
            "/api/paths?from=Internet&to=ClusterAdmin&cluster=eks-prod-us-east-1",
            vec!["query", "paths", "--from", "Internet", "--to", "ClusterAdmin", "--cluster", "eks-prod-us-east-1"],
        ),
        (
            "/api/reach?from=ServiceAccount%3Ashop%2Ffrontend&cluster=eks-prod-us-east-1&max_hops=6",
            vec!["query", "reach", "--from", "ServiceAccount:shop/frontend", "--cluster", "eks-prod-us-east-1", "--max-hops", "6"],
        ),
    ] {
        let (status, body) = http_get(&server.web, question, Some(TOKEN_A)).await;
        assert_eq!(status, 200, "{question}: {body}");
        let mut args = cli.clone();
        args.insert(2, demo.to_str().expect("utf8"));
        args.extend(["-f", "json"]);
        let out = common::kspm(&args);
        assert!(out.status.success(), "{args:?}");
        let web: serde_json::Value = serde_json::from_str(&body).expect("web json");
        let local: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cli json");
        assert_eq!(web, local, "{question}");
    }
    let (status, body) = http_get(
        &server.web,
        "/api/paths?from=Internet&to=Nope%3Ax",
        Some(TOKEN_A),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        http_get(&server.web, "/api/paths?from=Internet", Some(TOKEN_A))
            .await
            .0,
        400
    );
    assert_eq!(
        http_get(
            &server.web,
            "/api/paths?from=Internet&to=ClusterAdmin",
            None
        )
        .await
        .0,
        401
    );
    assert_eq!(
        code(
            c.query_reach(req(
                TOKEN_A,
                pb::QueryReachRequest {
                    cluster: top.cluster.clone(),
                    from: "Pod:nope/nope".into(),
                    max_hops: 3,
                    ..Default::default()
                }
            ))
            .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.query_reach(req(
                TOKEN_A,
                pb::QueryReachRequest {
                    cluster: top.cluster.clone(),
                    from: String::new(),
                    max_hops: 3,
                    ..Default::default()
                }
            ))
            .await
        ),
        Code::InvalidArgument
    );
    assert_eq!(
        code(
            c.query_path(req(
                TOKEN_A,
                pb::QueryPathRequest {
                    cluster: top.cluster.clone(),
                    from: top.source.clone(),
                    to: top.target.clone(),
                    max_hops: 99,
                    ..Default::default()
                }
            ))
            .await
        ),
        Code::InvalidArgument
    );

    // Live events: a triggered scan streams its commit; same input means no drift.
    let mut events = c
        .watch_events(req(TOKEN_A, pb::WatchEventsRequest::default()))
        .await
        .expect("watch")
        .into_inner();
    let triggered = c
        .trigger_scan(req(TOKEN_A, waiting("demo")))
        .await
        .expect("trigger")
        .into_inner()
        .scans;
    assert_eq!(triggered.len(), 1);
    let ev = tokio::time::timeout(Duration::from_secs(10), events.message())
        .await
        .expect("an event in time")
        .expect("stream ok")
        .expect("an event");
    assert_eq!(ev.kind, Kind::ScanCommitted as i32);
    assert_eq!(ev.scan.map(|s| s.id), Some(triggered[0].id.clone()));
    let drift = c
        .get_drift(req(
            TOKEN_A,
            pb::GetDriftRequest {
                from_scan_id: first[0].id.clone(),
                to_scan_id: triggered[0].id.clone(),
            },
        ))
        .await
        .expect("drift")
        .into_inner();
    assert!(drift.new_findings.is_empty() && drift.resolved_findings.is_empty());
    assert!(
        drift.new_paths.is_empty() && drift.changes.is_empty(),
        "{:?}",
        drift.changes
    );
    assert_eq!(
        code(c.trigger_scan(req(TOKEN_A, waiting("nope"))).await),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.get_drift(req(TOKEN_A, pb::GetDriftRequest::default()))
                .await
        ),
        Code::InvalidArgument
    );
    let scans = c
        .list_scans(req(
            TOKEN_A,
            pb::ListScansRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("scans")
        .into_inner();
    assert_eq!(scans.scans[0].id, triggered[0].id, "newest first");
    assert!(!scans.next_page_token.is_empty());

    // Scan jobs: a trigger answers with its job (the waiting one above had one too); the job
    // ends with the scan it committed, which ListScans shows; other tenants do not see it.
    let waited = c
        .trigger_scan(req(TOKEN_A, waiting("demo")))
        .await
        .expect("trigger")
        .into_inner();
    let done = &waited.jobs[0];
    assert_eq!(done.state, pb::scan_job::State::Succeeded as i32);
    assert_eq!(done.scan_id, waited.scans[0].id);
    let accepted = c
        .trigger_scan(req(
            TOKEN_A,
            pb::TriggerScanRequest {
                target: "demo".into(),
                wait: false,
            },
        ))
        .await
        .expect("trigger")
        .into_inner();
    assert!(accepted.scans.is_empty(), "not waited for: no scan yet");
    let job = ended_job(&mut c, TOKEN_A, &accepted.jobs[0].id).await;
    assert_eq!(job.state, pb::scan_job::State::Succeeded as i32, "{job:?}");
    assert_eq!((job.target.as_str(), job.replica.as_str()), ("demo", "r1"));
    let newest = wait_scans(&mut c, TOKEN_A, 1).await;
    assert_eq!(job.scan_id, newest[0].id);
    assert_eq!(
        job.scan.as_ref().map(|s| s.id.as_str()),
        Some(newest[0].id.as_str())
    );
    assert!(
        ms(&job.created_at) <= ms(&job.started_at) && ms(&job.started_at) <= ms(&job.finished_at)
    );
    let listed = c
        .list_scan_jobs(req(
            TOKEN_A,
            pb::ListScanJobsRequest {
                target: "demo".into(),
                page_size: 1,
            },
        ))
        .await
        .expect("jobs")
        .into_inner()
        .jobs;
    assert_eq!(listed, vec![job.clone()], "newest first, the same job");
    for (token, id) in [(TOKEN_B, job.id.as_str()), (TOKEN_A, "j-unknown")] {
        let asked = c
            .get_scan_job(req(token, pb::GetScanJobRequest { id: id.into() }))
            .await;
        assert_eq!(code(asked), Code::NotFound);
    }
    let foreign = c
        .list_scan_jobs(req(
            TOKEN_B,
            pb::ListScanJobsRequest {
                target: "demo".into(),
                page_size: 0,
            },
        ))
        .await;
    assert_eq!(code(foreign), Code::NotFound);

    // Health and reflection.
    let channel = Channel::from_shared(server.addr.clone())
        .expect("uri")
        .connect()
        .await
        .expect("channel");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "kspm.v1.PostureService".into(),
        })
        .await
        .expect("health")
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let mut refl =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(channel);
    let ask = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let mut answers = refl
        .server_reflection_info(tokio_stream::iter(vec![ask]))
        .await
        .expect("reflection")
        .into_inner();
    let answer = answers.message().await.expect("answer").expect("some");
    let listed = format!("{answer:?}");
    assert!(listed.contains("kspm.v1.PostureService"), "{listed}");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_against_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    every_rpc(&format!(
        "sqlite://{}",
        dir.path().join("kspm.db").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_against_postgres() {
    every_rpc(&postgres_db("rpc").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_isolated_and_credentials_required() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let (demo, small) = (demo(), small());
    let server = start(config(
        &db,
        "r1",
        &[("demo", &demo, "1h")],
        &[("small", &small, "1h")],
    ))
    .await;
    let mut c = client(&server.addr).await;
    let a_scans = wait_scans(&mut c, TOKEN_A, 1).await;
    let b_scans = wait_scans(&mut c, TOKEN_B, 1).await;
    assert!(a_scans.iter().all(|s| s.target == "demo"));
    assert!(b_scans.iter().all(|s| s.target == "small"));

    // B sees only its own cluster and findings.
    let b_clusters = c
        .list_clusters(req(TOKEN_B, pb::ListClustersRequest::default()))
        .await
        .expect("clusters")
        .into_inner()
        .clusters;
    assert_eq!(b_clusters.len(), 1);
    assert_eq!(b_clusters[0].target, "small");
    let b_findings = c
        .list_findings(req(
            TOKEN_B,
            pb::ListFindingsRequest {
                page_size: 1000,
                ..Default::default()
            },
        ))
        .await
        .expect("findings")
        .into_inner();
    assert!(b_findings
        .findings
        .iter()
        .all(|f| f.scan_id == b_scans[0].id));
    let a_finding = c
        .list_findings(req(
            TOKEN_A,
            pb::ListFindingsRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("a findings")
        .into_inner()
        .findings
        .remove(0);
    let a_path = c
        .list_attack_paths(req(
            TOKEN_A,
            pb::ListAttackPathsRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("a paths")
        .into_inner()
        .paths
        .remove(0);

    // Nothing of A through B's token: reads, queries, drift, triggers.
    // A cluster or target named in a filter is B's own or NOT_FOUND: A's names and unknown
    // names answer alike, so nothing tells B whether they exist elsewhere.
    let a_cluster = a_finding.cluster.clone();
    let b_cluster = b_clusters[0].name.clone();
    for cluster in [a_cluster.as_str(), "no-such-cluster"] {
        let findings = c
            .list_findings(req(
                TOKEN_B,
                pb::ListFindingsRequest {
                    cluster: cluster.into(),
                    ..Default::default()
                },
            ))
            .await;
        assert_eq!(code(findings), Code::NotFound, "{cluster}");
        let paths = c
            .list_attack_paths(req(
                TOKEN_B,
                pb::ListAttackPathsRequest {
                    cluster: cluster.into(),
                    ..Default::default()
                },
            ))
            .await;
        assert_eq!(code(paths), Code::NotFound, "{cluster}");
    }
    for target in ["demo", "no-such-target"] {
        let scans = c
            .list_scans(req(
                TOKEN_B,
                pb::ListScansRequest {
                    target: target.into(),
                    ..Default::default()
                },
            ))
            .await;
        assert_eq!(code(scans), Code::NotFound, "{target}");
    }
    // Its own names answer OK.
    let own = c
        .list_findings(req(
            TOKEN_B,
            pb::ListFindingsRequest {
                cluster: b_cluster.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("own cluster")
        .into_inner();
    assert!(own.findings.iter().all(|f| f.cluster == b_cluster));
    let own_scans = c
        .list_scans(req(
            TOKEN_B,
            pb::ListScansRequest {
                target: "small".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("own target")
        .into_inner();
    assert!(!own_scans.scans.is_empty());
    assert_eq!(
        code(
            c.get_finding(req(
                TOKEN_B,
                pb::GetFindingRequest {
                    id: a_finding.id.clone()
                }
            ))
            .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.list_findings(req(
                TOKEN_B,
                pb::ListFindingsRequest {
                    scan_id: a_scans[0].id.clone(),
                    ..Default::default()
                }
            ))
            .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.get_attack_path(req(
                TOKEN_B,
                pb::GetAttackPathRequest {
                    id: a_path.id.clone(),
                    scan_id: String::new()
                }
            ))
            .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.get_attack_path(req(
                TOKEN_B,
                pb::GetAttackPathRequest {
                    id: a_path.id.clone(),
                    scan_id: a_scans[0].id.clone()
                }
            ))
            .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.query_reach(req(
                TOKEN_B,
                pb::QueryReachRequest {
                    cluster: a_path.cluster.clone(),
                    from: a_path.source.clone(),
                    max_hops: 3,
                    ..Default::default()
                }
            ))
            .await
        ),
        Code::NotFound
    );
    // Another tenant's scan cannot be planned on, nor its fixes seen.
    assert_eq!(
        code(
            c.get_fix_plan(req(
                TOKEN_B,
                pb::GetFixPlanRequest {
                    scan_id: a_scans[0].id.clone(),
                    ..Default::default()
                }
            ))
            .await
        ),
        Code::NotFound
    );
    let b_plan = c
        .get_fix_plan(req(TOKEN_B, pb::GetFixPlanRequest::default()))
        .await
        .expect("B's own plan")
        .into_inner();
    assert!(
        b_plan.fixes.iter().all(|f| f.cluster != a_path.cluster),
        "{b_plan:?}"
    );
    assert_eq!(
        code(
            c.get_drift(req(
                TOKEN_B,
                pb::GetDriftRequest {
                    from_scan_id: a_scans[0].id.clone(),
                    to_scan_id: String::new()
                }
            ))
            .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(c.trigger_scan(req(TOKEN_B, waiting("demo"))).await),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.get_posture(req(
                TOKEN_B,
                pb::GetPostureRequest {
                    cluster: a_path.cluster.clone(),
                    ..Default::default()
                }
            ))
            .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.list_scans(req(
                TOKEN_B,
                pb::ListScansRequest {
                    target: "demo".into(),
                    ..Default::default()
                },
            ))
            .await
        ),
        Code::NotFound
    );

    // B's event stream stays silent while A scans; A's sees it.
    let mut b_events = c
        .watch_events(req(TOKEN_B, pb::WatchEventsRequest::default()))
        .await
        .expect("b watch")
        .into_inner();
    let mut a_events = c
        .watch_events(req(TOKEN_A, pb::WatchEventsRequest::default()))
        .await
        .expect("a watch")
        .into_inner();
    c.trigger_scan(req(TOKEN_A, waiting("")))
        .await
        .expect("trigger");
    let a_ev = tokio::time::timeout(Duration::from_secs(10), a_events.message())
        .await
        .expect("a event");
    assert!(a_ev.expect("ok").is_some());
    assert!(
        tokio::time::timeout(Duration::from_secs(2), b_events.message())
            .await
            .is_err(),
        "B saw A's scan"
    );

    // The web view's API: same credentials, same isolation.
    assert_eq!(http_get(&server.web, "/api/model", None).await.0, 401);
    assert_eq!(
        http_get(&server.web, "/api/model", Some("wrong")).await.0,
        401
    );
    let (status, page) = http_get(&server.web, "/", None).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("cytoscape") && !page.contains(&a_finding.resource),
        "the page itself carries no data"
    );
    let (status, body) = http_get(&server.web, "/api/model", Some(TOKEN_B)).await;
    assert_eq!(status, 200);
    let model: serde_json::Value = serde_json::from_str(&body).expect("model json");
    let names: Vec<&str> = model["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["small"]);
    assert!(!body.contains(&a_path.id));
    let drift = format!("/api/drift?from={}&to={}", a_scans[0].id, a_scans[0].id);
    assert_eq!(http_get(&server.web, &drift, Some(TOKEN_B)).await.0, 404);
    assert_eq!(http_get(&server.web, &drift, Some(TOKEN_A)).await.0, 200);

    // Credentials.
    for bad in [
        None,
        Some("Bearer wrong-token"),
        Some("Basic dXNlcjpwYXNz"),
        Some(TOKEN_A),
    ] {
        let mut r = Request::new(pb::ListClustersRequest::default());
        if let Some(h) = bad {
            r.metadata_mut()
                .insert("authorization", h.parse().expect("header"));
        }
        assert_eq!(
            code(c.list_clusters(r).await),
            Code::Unauthenticated,
            "{bad:?}"
        );
    }
    let mut r = Request::new(pb::WatchEventsRequest::default());
    r.metadata_mut()
        .insert("authorization", "Bearer nope".parse().expect("header"));
    assert_eq!(code(c.watch_events(r).await), Code::Unauthenticated);
    server.stop().await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).expect("copy");
        }
    }
}

const CHANGES: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop}
spec:
  serviceAccountName: default
  containers:
  - name: sh
    image: ghcr.io/example/busybox:1.36
    securityContext: {privileged: true}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: shop-ci-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: ci, namespace: shop}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_and_events_after_a_change() {
    let dir = tempfile::tempdir().expect("tmp");
    let snap = dir.path().join("cluster");
    copy_dir(&small(), &snap);
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let server = start(config(&db, "r1", &[("c", &snap, "1h")], &[])).await;
    let mut c = client(&server.addr).await;
    let first = wait_scans(&mut c, TOKEN_A, 1).await.remove(0);
    let mut events = c
        .watch_events(req(TOKEN_A, pb::WatchEventsRequest::default()))
        .await
        .expect("watch")
        .into_inner();
    std::fs::write(snap.join("changes.yaml"), CHANGES).expect("write");
    let second = c
        .trigger_scan(req(TOKEN_A, waiting("")))
        .await
        .expect("trigger")
        .into_inner()
        .scans
        .remove(0);
    let d = c
        .get_drift(req(
            TOKEN_A,
            pb::GetDriftRequest {
                from_scan_id: first.id.clone(),
                to_scan_id: String::new(),
            },
        ))
        .await
        .expect("drift")
        .into_inner();
    assert_eq!(d.to_scan_id, second.id);
    assert!(
        d.new_findings
            .iter()
            .any(|f| f.resource == "Pod:shop/debug" && f.severity == pb::Severity::Critical as i32),
        "{:?}",
        d.new_findings
    );
    assert!(d
        .new_findings
        .iter()
        .any(|f| f.resource == "ClusterRoleBinding:shop-ci-admin"));
    assert!(d.resolved_findings.is_empty());
    assert!(!d.new_paths.is_empty());
    let has = |cat: &str, change: &str, item: &str| {
        d.changes
            .iter()
            .any(|c| c.category == cat && c.change == change && c.item.contains(item))
    };
    assert!(
        has("rbac_binding", "added", "ClusterRoleBinding:shop-ci-admin"),
        "{:?}",
        d.changes
    );
    assert!(has("image_registry", "added", "ghcr.io"));
    assert!(has("escalation_edge", "added", "ServiceAccount:shop/ci"));

    // The stream told the same story.
    let mut kinds = BTreeMap::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.message())
            .await
            .expect("event in time")
            .expect("ok")
            .expect("event");
        *kinds.entry(ev.kind).or_insert(0usize) += 1;
        if ev.kind == Kind::ScanCommitted as i32 {
            break;
        }
    }
    assert_eq!(
        kinds.get(&(Kind::FindingAdded as i32)).copied(),
        Some(d.new_findings.len())
    );
    assert_eq!(
        kinds.get(&(Kind::PathAdded as i32)).copied(),
        Some(d.new_paths.len())
    );

    // Reverting resolves them.
    std::fs::remove_file(snap.join("changes.yaml")).expect("rm");
    let third = c
        .trigger_scan(req(TOKEN_A, waiting("")))
        .await
        .expect("trigger")
        .into_inner()
        .scans
        .remove(0);
    let back = c
        .get_drift(req(
            TOKEN_A,
            pb::GetDriftRequest {
                from_scan_id: second.id.clone(),
                to_scan_id: third.id.clone(),
            },
        ))
        .await
        .expect("drift")
        .into_inner();
    assert_eq!(back.resolved_findings.len(), d.new_findings.len());
    assert_eq!(back.resolved_paths.len(), d.new_paths.len());
    assert!(back.new_findings.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_that_fails_half_way_is_never_visible() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let copy = dir.path().join("small");
    copy_dir(&small(), &copy);
    let server = start(config(&db, "r1", &[("c", &copy, "1h")], &[])).await;
    let mut c = client(&server.addr).await;
    let before = wait_scans(&mut c, TOKEN_A, 1).await;
    let count = |t: &'static str| {
        let shared = server.shared.clone();
        async move { shared.store.count(t).await.expect("count") }
    };
    let (scans, findings, paths, clusters) = (
        count("scans").await,
        count("finding_spans").await,
        count("paths").await,
        count("scan_clusters").await,
    );
    assert!(findings > 0);
    // The abandoned scan would add findings (a new privileged pod) and resolve none.
    std::fs::write(
        copy.join("added.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: added, namespace: default}\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n    securityContext: {privileged: true}\n",
    )
    .expect("write");
    server.shared.store.abandon_commits(true);
    assert_eq!(
        code(c.trigger_scan(req(TOKEN_A, waiting(""))).await),
        Code::Internal
    );
    assert_eq!(count("scans").await, scans);
    assert_eq!(
        count("finding_spans").await,
        findings,
        "findings of the abandoned scan remain"
    );
    assert_eq!(count("paths").await, paths);
    assert_eq!(count("scan_clusters").await, clusters);
    let after = c
        .list_scans(req(TOKEN_A, pb::ListScansRequest::default()))
        .await
        .expect("scans")
        .into_inner()
        .scans;
    assert_eq!(after, before);
    server.shared.store.abandon_commits(false);
    c.trigger_scan(req(TOKEN_A, waiting("")))
        .await
        .expect("recovers");
    assert!(
        count("finding_spans").await > findings,
        "the next scan stores them"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_work_through_postgres() {
    let db = postgres_db("replicas").await;
    let small = small();
    let targets: Vec<(String, PathBuf)> =
        (0..8).map(|i| (format!("t{i}"), small.clone())).collect();
    let refs: Vec<(&str, &Path, &str)> = targets
        .iter()
        .map(|(n, p)| (n.as_str(), p.as_path(), "3s"))
        .collect();
    // Both replicas are ready before either starts scheduling.
    let (s1, s2) = (
        open(config(&db, "replica-1", &refs, &[])).await,
        open(config(&db, "replica-2", &refs, &[])).await,
    );
    let (r1, r2) = (run(s1).await, run(s2).await);
    tokio::time::sleep(Duration::from_millis(7500)).await;
    r1.stop().await;
    r2.stop().await;

    // Read the history back through a third server.
    let reader = start(config(&db, "reader", &[], &[])).await;
    let mut c = client(&reader.addr).await;
    let scans = c
        .list_scans(req(
            TOKEN_A,
            pb::ListScansRequest {
                page_size: 500,
                ..Default::default()
            },
        ))
        .await
        .expect("scans")
        .into_inner()
        .scans;
    let mut by_target: BTreeMap<String, Vec<&pb::Scan>> = BTreeMap::new();
    for s in &scans {
        by_target.entry(s.target.clone()).or_default().push(s);
    }
    assert_eq!(by_target.len(), 8, "every target scanned");
    for (t, list) in &by_target {
        // 7.5 s at a 3 s interval: 3 scans (at 0, 3, 6 s), never two in one interval.
        assert!((2..=3).contains(&list.len()), "{t}: {} scans", list.len());
        let mut starts: Vec<i64> = list.iter().map(|s| ms(&s.started_at)).collect();
        starts.sort();
        for w in starts.windows(2) {
            let gap = w[1] - w[0];
            assert!(gap >= 2900, "{t}: scans {gap} ms apart");
        }
    }
    let replicas: HashSet<&str> = scans.iter().map(|s| s.replica.as_str()).collect();
    assert!(
        replicas.contains("replica-1") && replicas.contains("replica-2"),
        "{replicas:?}"
    );
    reader.stop().await;

    // A replica that dies holding a lease: its job waits for the lease to expire, then another
    // replica takes it over.
    let store = kspm_api::service::store::Store::open(&db)
        .await
        .expect("store");
    store.clear().await.expect("clear");
    let now = kspm_api::service::store::now_ms();
    store
        .ensure_jobs(&[("tenant-a".into(), "t0".into())])
        .await
        .expect("job");
    let taken = store
        .lease_due("dead-replica", now, 2000, 10)
        .await
        .expect("lease");
    assert_eq!(taken, [("tenant-a".to_string(), "t0".to_string())]);
    let survivor = start(config(&db, "survivor", &refs[..1], &[])).await;
    let mut c = client(&survivor.addr).await;
    let s = wait_scans(&mut c, TOKEN_A, 1).await.remove(0);
    assert_eq!(s.replica, "survivor");
    assert!(
        ms(&s.started_at) >= now + 2000,
        "taken over before the lease expired"
    );
    survivor.stop().await;
}

/// The day `days` from today, as exceptions name days.
fn in_days(days: i64) -> String {
    let (y, m, d) =
        kspm_engine::civil::from_days(kspm_api::service::store::now_ms() / 86_400_000 + days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Milliseconds of a timestamp the API sent.
fn ms(t: &Option<prost_types::Timestamp>) -> i64 {
    let t = t.as_ref().expect("a time");
    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_targets_are_read_then_watched_and_changes_stream_in_seconds() {
    let dir = tempfile::tempdir().expect("tmp");
    live_targets_are_watched(&format!(
        "sqlite://{}",
        dir.path().join("kspm.db").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_targets_are_watched_with_postgres() {
    live_targets_are_watched(&postgres_db("watch").await).await;
}

/// A live target read, then watched: a change streams in seconds and is a committed scan with
/// its drift; a batch that changes nothing judged takes the incremental evaluation alone; an
/// exception accepted meanwhile applies from the next batch.
async fn live_targets_are_watched(db: &str) {
    // The fake server drives its own runtime: keep its blocking calls off this one's workers.
    let server = tokio::task::block_in_place(|| fake_apiserver::FakeApiServer::start(&small()));
    let dir = tempfile::tempdir().expect("tmp");
    let kubeconfig = server.kubeconfig(dir.path(), "small");
    let text = format!(
        "[service]\ndatabase_url = \"{db}\"\nreplica = \"r1\"\n[[tenant]]\nname = \"tenant-a\"\ntoken_sha256 = [\"{}\"]\n[[tenant.target]]\nname = \"live\"\nkubeconfig = \"{}\"\ncontext = \"small\"\ninterval = \"1h\"\n",
        hash_token(TOKEN_A),
        kubeconfig.display()
    );
    let svc = start(Config::parse(&text).expect("config")).await;
    let mut c = client(&svc.addr).await;
    let first = wait_scans(&mut c, TOKEN_A, 1).await.remove(0);
    let clusters = c
        .list_clusters(req(TOKEN_A, pb::ListClustersRequest::default()))
        .await
        .expect("clusters")
        .into_inner()
        .clusters;
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].name, "small");
    assert!(
        clusters[0].origin.starts_with("https://")
            || clusters[0].origin.starts_with("http://")
            || clusters[0].origin.starts_with("api://"),
        "{}",
        clusters[0].origin
    );
    let mut events = c
        .watch_events(req(TOKEN_A, pb::WatchEventsRequest::default()))
        .await
        .expect("watch")
        .into_inner();
    // Wait for the session's watches, then change the cluster.
    for _ in 0..200 {
        if tokio::task::block_in_place(|| server.open_watches()) >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        tokio::task::block_in_place(|| server.open_watches()) >= 10,
        "watches not open"
    );
    let emitted = std::time::Instant::now();
    tokio::task::block_in_place(|| {
        server.emit(
        "pods",
        "ADDED",
        serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "intruder", "namespace": "shop"},
            "spec": {"containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": true}}]}}),
    )
    });
    let mut seen = false;
    while !seen {
        let ev = tokio::time::timeout(Duration::from_secs(15), events.message())
            .await
            .expect("an event within seconds")
            .expect("ok")
            .expect("event");
        seen = ev.kind == Kind::FindingAdded as i32
            && ev
                .finding
                .is_some_and(|f| f.check == "KSPM-W-001" && f.resource == "Pod:shop/intruder");
    }
    let took = emitted.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // The change is a committed scan with its drift.
    let scans = c
        .list_scans(req(TOKEN_A, pb::ListScansRequest::default()))
        .await
        .expect("scans")
        .into_inner()
        .scans;
    assert!(scans.len() >= 2);
    let d = c
        .get_drift(req(
            TOKEN_A,
            pb::GetDriftRequest {
                from_scan_id: first.id.clone(),
                to_scan_id: String::new(),
            },
        ))
        .await
        .expect("drift")
        .into_inner();
    assert!(d
        .new_findings
        .iter()
        .any(|f| f.resource == "Pod:shop/intruder"));
    // A watch batch that changes nothing in the posture commits nothing.
    let before = scans.len();
    tokio::task::block_in_place(|| {
        server.emit("configmaps", "ADDED", serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "harmless", "namespace": "shop"}, "data": {"a": "b"}}))
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = c
        .list_scans(req(TOKEN_A, pb::ListScansRequest::default()))
        .await
        .expect("scans")
        .into_inner()
        .scans;
    assert_eq!(after.len(), before);
    // It took the incremental evaluation alone: no full evaluation, no commit.
    let batches = |outcome: &str| {
        let text = svc.shared.metrics.render();
        let name = format!(
            "kspm_watch_batches_total{{tenant=\"tenant-a\",target=\"live\",outcome=\"{outcome}\"}} "
        );
        text.lines()
            .find_map(|l| l.strip_prefix(&name))
            .map_or(0, |n| n.parse::<u64>().expect("count"))
    };
    assert!(batches("unchanged") >= 1, "{}", svc.shared.metrics.render());
    assert!(batches("committed") >= 1);
    // An exception accepted through the API while the cluster is watched applies within seconds
    // (the session reads the tenant's options every 10 s): the finding is suppressed in the scan
    // it commits then.
    c.create_exception(req(
        TOKEN_A,
        pb::CreateExceptionRequest {
            check: "KSPM-W-001".into(),
            resource: "Pod:shop/intruder".into(),
            reason: "a test of the watch".into(),
            expires: in_days(30),
            author: "alice".into(),
            ..Default::default()
        },
    ))
    .await
    .expect("exception");
    tokio::task::block_in_place(|| {
        server.emit("configmaps", "ADDED", serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "harmless-2", "namespace": "shop"}, "data": {"a": "b"}}))
    });
    let mut resolved = false;
    while !resolved {
        let ev = tokio::time::timeout(Duration::from_secs(30), events.message())
            .await
            .expect("an event within seconds")
            .expect("ok")
            .expect("event");
        resolved = ev.kind == Kind::FindingResolved as i32
            && ev
                .finding
                .is_some_and(|f| f.check == "KSPM-W-001" && f.resource == "Pod:shop/intruder");
    }
    // A scan triggered meanwhile (this replica holds the target: a full read, committed) becomes
    // what the session compares with: it looks again, finds the same posture and commits no
    // second scan of it.
    let evaluated = batches("evaluated");
    let before = c
        .list_scans(req(TOKEN_A, pb::ListScansRequest::default()))
        .await
        .expect("scans")
        .into_inner()
        .total;
    c.trigger_scan(req(TOKEN_A, waiting("live")))
        .await
        .expect("trigger");
    for _ in 0..300 {
        if batches("evaluated") > evaluated {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(batches("evaluated") > evaluated, "the session looked again");
    let after = c
        .list_scans(req(TOKEN_A, pb::ListScansRequest::default()))
        .await
        .expect("scans")
        .into_inner()
        .total;
    assert_eq!(after, before + 1, "the triggered scan alone");
    // Only GETs reached the API server.
    assert!(tokio::task::block_in_place(|| server.log())
        .iter()
        .all(|l| l.method == "GET"));
    svc.stop().await;
    tokio::task::block_in_place(move || drop(server));
}

/// A watched 10,000-pod target in `kspm serve`: what a batch of changes costs after its
/// incremental evaluation — a pod's status update (nothing judged changes: the incremental
/// evaluation alone) and a privileged pod (a full evaluation and a commit) — and how long from
/// the change to its FINDING_ADDED event. Run: `cargo test --release --test service -- --ignored
/// watched_10k --nocapture` (numbers in docs/benchmarks.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn watched_10k_pod_target_in_serve() {
    let tmp = tempfile::tempdir().expect("tmp");
    kspm_fleetgen::generate(
        tmp.path(),
        kspm_fleetgen::Shape::realistic(1, 10_000, false),
        11,
    )
    .expect("generate");
    let server = tokio::task::block_in_place(|| {
        fake_apiserver::FakeApiServer::start(&tmp.path().join("cluster-00"))
    });
    let kubeconfig = server.kubeconfig(tmp.path(), "cluster-00");
    let text = format!(
        "[service]\ndatabase_url = \"sqlite://{}\"\nreplica = \"r1\"\n[[tenant]]\nname = \"tenant-a\"\ntoken_sha256 = [\"{}\"]\n[[tenant.target]]\nname = \"live\"\nkubeconfig = \"{}\"\ncontext = \"cluster-00\"\ninterval = \"1h\"\ntimeout = \"10m\"\n",
        tmp.path().join("kspm.db").display(),
        hash_token(TOKEN_A),
        kubeconfig.display()
    );
    let svc = start(Config::parse(&text).expect("config")).await;
    let mut c = client(&svc.addr).await;
    let t = std::time::Instant::now();
    wait_scans(&mut c, TOKEN_A, 1).await;
    println!("first scan committed after {:?}", t.elapsed());
    let mut events = c
        .watch_events(req(TOKEN_A, pb::WatchEventsRequest::default()))
        .await
        .expect("watch")
        .into_inner();
    // (outcome → (batches, seconds)) from the metrics.
    let batches = |outcome: &str| -> (u64, f64) {
        let text = svc.shared.metrics.render();
        let read = |metric: &str| {
            let name =
                format!("{metric}{{tenant=\"tenant-a\",target=\"live\",outcome=\"{outcome}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&name))
                .map_or(0.0, |n| n.parse::<f64>().expect("number"))
        };
        (
            read("kspm_watch_batches_total") as u64,
            read("kspm_watch_batch_seconds_sum"),
        )
    };
    // The session's first look (its watches' initial lists) is a full evaluation.
    let looked = || {
        ["unchanged", "evaluated", "committed"]
            .iter()
            .map(|o| batches(o).0)
            .sum::<u64>()
    };
    for _ in 0..1200 {
        if looked() >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(looked() >= 1, "the session did not look at its watches");
    let pod = |i: usize, privileged: bool, phase: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("probe-{i}"), "namespace": format!("team-{:03}", i % 7)},
            "spec": {"nodeName": "node-0001", "containers": [{"name": "c", "image": "x:1",
                "securityContext": {"privileged": privileged}}]},
            "status": {"phase": phase}})
    };
    let wait_for = |outcome: &'static str, n: u64| {
        let batches = &batches;
        async move {
            for _ in 0..600 {
                if batches(outcome).0 >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("no {outcome} batch");
        }
    };
    // Privileged pods: a full evaluation and a commit each; the change's FINDING_ADDED.
    let mut latencies = Vec::new();
    for i in 0..5 {
        let committed = batches("committed").0;
        let emitted = std::time::Instant::now();
        tokio::task::block_in_place(|| server.emit("pods", "ADDED", pod(i, true, "Pending")));
        let name = format!("Pod:team-{:03}/probe-{i}", i % 7);
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(60), events.message())
                .await
                .expect("an event")
                .expect("ok")
                .expect("event");
            if ev.kind == Kind::FindingAdded as i32
                && ev.finding.is_some_and(|f| f.resource == name)
            {
                break;
            }
        }
        latencies.push(emitted.elapsed());
        wait_for("committed", committed + 1).await;
    }
    // Status updates of those pods: nothing judged changes.
    let unchanged = batches("unchanged").0;
    for round in 0..4 {
        for i in 0..5 {
            let phase = ["Running", "Pending"][round % 2];
            tokio::task::block_in_place(|| server.emit("pods", "MODIFIED", pod(i, true, phase)));
            wait_for("unchanged", unchanged + (round * 5 + i) as u64 + 1).await;
        }
    }
    let (n, s) = batches("unchanged");
    println!(
        "status update, incremental evaluation alone: {n} batches, {:.1} ms each after it (the gate: digest of objects, graph signature, paths)",
        s * 1000.0 / n as f64
    );
    let (n, s) = batches("committed");
    println!(
        "privileged pod, the held result assembled into a scan and committed: {n} batches, {:.0} ms each after the incremental evaluation",
        s * 1000.0 / n as f64
    );
    latencies.sort();
    println!(
        "change to FINDING_ADDED: p50 {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    svc.stop().await;
    tokio::task::block_in_place(move || drop(server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificates() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let dir = tempfile::tempdir().expect("tmp");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let leaf = |name: &str| {
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec![name.to_string()])
            .expect("params")
            .signed_by(&key, &ca)
            .expect("sign");
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf("localhost");
    let (client_cert, client_key) = leaf("scanner-client");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let (sc, sk, ca_file) = (
        write("tls.crt", &server_cert),
        write("tls.key", &server_key),
        write("ca.pem", &ca.pem()),
    );
    let small = small();
    let text = format!(
        "[service]\ndatabase_url = \"sqlite://{}\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\nclient_ca = \"{}\"\n[[tenant]]\nname = \"tenant-a\"\ntoken_sha256 = [\"{}\"]\n[[tenant.target]]\nname = \"c\"\npaths = [\"{}\"]\n",
        dir.path().join("kspm.db").display(),
        sc.display(),
        sk.display(),
        ca_file.display(),
        hash_token(TOKEN_A),
        small.display()
    );
    let server = start(Config::parse(&text).expect("config")).await;
    let https = server.addr.replace("http://", "https://");
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca.pem()))
        .domain_name("localhost");
    // With a client certificate and a token: served.
    let channel = Channel::from_shared(https.clone())
        .expect("uri")
        .tls_config(
            tls.clone()
                .identity(Identity::from_pem(&client_cert, &client_key)),
        )
        .expect("tls")
        .connect()
        .await
        .expect("mutual TLS connects");
    let mut c = PostureServiceClient::new(channel);
    wait_scans(&mut c, TOKEN_A, 1).await;
    // Without a client certificate: refused at the handshake or on the first call.
    let refused = match Channel::from_shared(https)
        .expect("uri")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
    {
        Err(_) => true,
        Ok(ch) => PostureServiceClient::new(ch)
            .list_scans(req(TOKEN_A, pb::ListScansRequest::default()))
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate was served");
    // Plain text: refused.
    let plain = match Channel::from_shared(server.addr.clone())
        .expect("uri")
        .connect()
        .await
    {
        Err(_) => true,
        Ok(ch) => PostureServiceClient::new(ch)
            .list_scans(req(TOKEN_A, pb::ListScansRequest::default()))
            .await
            .is_err(),
    };
    assert!(plain, "a plain-text client was served");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_the_newest_scans_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let small = small();
    let mut cfg = config(&db, "r1", &[("c", &small, "1h")], &[]);
    cfg.service.retention = 2;
    let server = start(cfg).await;
    let mut c = client(&server.addr).await;
    wait_scans(&mut c, TOKEN_A, 1).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let s = c
            .trigger_scan(req(TOKEN_A, waiting("")))
            .await
            .expect("trigger")
            .into_inner()
            .scans
            .remove(0);
        ids.push(s.id);
    }
    let kept: Vec<String> = c
        .list_scans(req(TOKEN_A, pb::ListScansRequest::default()))
        .await
        .expect("scans")
        .into_inner()
        .scans
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(kept, [ids[2].clone(), ids[1].clone()]);
    // The pruned scans' parts are gone too; the kept scans report the same findings, stored
    // once (one row each, shared).
    let newest = server
        .shared
        .store
        .scan("tenant-a", &ids[2])
        .await
        .expect("scan")
        .expect("kept");
    let per_scan = server
        .shared
        .store
        .findings(&[newest], &Default::default(), None, 100_000)
        .await
        .expect("findings")
        .1;
    assert!(per_scan > 0);
    assert_eq!(
        server
            .shared
            .store
            .count("finding_spans")
            .await
            .expect("count"),
        per_scan
    );
    assert_eq!(
        server
            .shared
            .store
            .count("scan_clusters")
            .await
            .expect("count"),
        2
    );
    server.stop().await;
}

/// `kspm serve` as a process: serves, exposes metrics, never logs a token, stops on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serve_binary_logs_no_secrets_and_stops_gracefully() {
    let dir = tempfile::tempdir().expect("tmp");
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port()
    };
    let (port, metrics_port) = (free(), free());
    let cfg = dir.path().join("kspm.toml");
    std::fs::write(
        &cfg,
        format!(
            "[service]\nlisten = \"127.0.0.1:{port}\"\nmetrics_listen = \"127.0.0.1:{metrics_port}\"\ndatabase_url = \"sqlite://{}\"\n[[tenant]]\nname = \"tenant-a\"\ntoken_sha256 = [\"{}\"]\n[[tenant.target]]\nname = \"demo\"\npaths = [\"{}\"]\n",
            dir.path().join("kspm.db").display(),
            hash_token(TOKEN_A),
            demo().display()
        ),
    )
    .expect("config");
    let stderr = dir.path().join("stderr.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .args(["-vvv", "--log-json"])
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("log file"))
        .spawn()
        .expect("spawn kspm serve");
    let mut c = client(&format!("http://127.0.0.1:{port}")).await;
    wait_scans(&mut c, TOKEN_A, 1).await;
    let mut bad = Request::new(pb::ListClustersRequest::default());
    bad.metadata_mut().insert(
        "authorization",
        "Bearer wrong-secret-token-value".parse().expect("header"),
    );
    assert_eq!(code(c.list_clusters(bad).await), Code::Unauthenticated);
    c.list_clusters(req(TOKEN_A, pb::ListClustersRequest::default()))
        .await
        .expect("clusters");
    let missing = c
        .get_finding(req(TOKEN_A, pb::GetFindingRequest { id: "s0/1".into() }))
        .await;
    assert_eq!(code(missing), Code::NotFound);

    // Metrics over plain HTTP.
    let metrics = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s =
            std::net::TcpStream::connect(("127.0.0.1", metrics_port)).expect("metrics port");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read");
        text
    })
    .await
    .expect("metrics");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains("kspm_scans_total{tenant=\"tenant-a\",target=\"demo\",result=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kspm_api_errors_total{code=\"unauthenticated\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kspm_api_errors_total{code=\"not_found\"} 1"),
        "{metrics}"
    );
    assert!(metrics
        .contains("kspm_findings{tenant=\"tenant-a\",target=\"demo\",severity=\"critical\"}"));

    // SIGTERM: a clean exit.
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = child.try_wait().expect("wait") {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = exited.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("kspm serve did not stop within 10 s of SIGTERM")
    });
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(&stderr).expect("log");
    assert!(
        log.contains("scan committed") && log.contains("shutting down"),
        "{log}"
    );
    assert!(
        log.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "log lines are JSON"
    );
    for secret in [TOKEN_A, "wrong-secret-token-value"] {
        assert!(!log.contains(secret), "the log contains a token");
    }
}

/// A GET on the web view: (status, body).
async fn http_get(base: &str, path: &str, token: Option<&str>) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(host)
        .await
        .expect("connect web");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_removed_from_the_configuration_leaves_the_latest_views() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let (demo, small) = (demo(), small());
    let first = start(config(
        &db,
        "r1",
        &[("demo", &demo, "1h"), ("small", &small, "1h")],
        &[],
    ))
    .await;
    let mut c = client(&first.addr).await;
    wait_scans(&mut c, TOKEN_A, 2).await;
    first.stop().await;
    // The same database, `demo` no longer configured.
    let second = start(config(&db, "r1", &[("small", &small, "1h")], &[])).await;
    let mut c = client(&second.addr).await;
    let clusters = c
        .list_clusters(req(TOKEN_A, pb::ListClustersRequest::default()))
        .await
        .expect("clusters")
        .into_inner()
        .clusters;
    assert!(
        !clusters.is_empty() && clusters.iter().all(|c| c.target == "small"),
        "{clusters:?}"
    );
    // Its history is still there.
    let old = c
        .list_scans(req(
            TOKEN_A,
            pb::ListScansRequest {
                target: "demo".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("scans")
        .into_inner()
        .scans;
    assert!(!old.is_empty());
    second.stop().await;
}

/// A codec that sends raw bytes: a request body that is not the RPC's message.
#[derive(Clone, Default)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        use bytes::Buf;
        let v = src.chunk().to_vec();
        src.advance(v.len());
        Ok(Some(v))
    }
}

/// An undecodable request is the client's error: INVALID_ARGUMENT, counted as one.
#[tokio::test]
async fn undecodable_requests_are_invalid_arguments() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("k.db").display());
    let server = start(config(&db, "r1", &[], &[])).await;
    let channel = tonic::transport::Endpoint::from_shared(server.addr.clone())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::from_static("/kspm.v1.PostureService/ListFindings");
    // Field 1 (cluster, a string) with a length that runs past the end.
    let r = grpc
        .unary(req(TOKEN_A, vec![0x0a, 0xff, 0x01]), path, RawCodec)
        .await;
    assert_eq!(code(r), Code::InvalidArgument);
    let metrics = server.shared.metrics.render();
    assert!(
        metrics.contains("kspm_api_errors_total{code=\"invalid_argument\"} 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("code=\"internal\""), "{metrics}");
    server.stop().await;
}

/// One tenant cannot take the service: concurrent triggers of one target are one scan, triggers
/// beyond the burst are refused with RESOURCE_EXHAUSTED, and another tenant is not limited.
#[tokio::test]
async fn triggers_coalesce_and_are_rate_limited() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let (demo, small) = (demo(), small());
    let server = start(config(
        &db,
        "r1",
        &[("demo", &demo, "1h")],
        &[("small", &small, "1h")],
    ))
    .await;
    let mut c = client(&server.addr).await;
    wait_scans(&mut c, TOKEN_A, 1).await;
    let trigger = |token: &'static str| {
        let mut c = c.clone();
        async move { c.trigger_scan(req(token, waiting(String::new()))).await }
    };
    let answers = futures_join(vec![
        trigger(TOKEN_A),
        trigger(TOKEN_A),
        trigger(TOKEN_A),
        trigger(TOKEN_A),
    ])
    .await;
    let ids: std::collections::BTreeSet<String> = answers
        .into_iter()
        .map(|r| r.expect("trigger").into_inner().scans[0].id.clone())
        .collect();
    assert!(
        ids.len() < 4,
        "concurrent triggers of one target were coalesced: {ids:?}"
    );
    // The burst is spent: refused, with a wait; the other tenant is not affected.
    let mut refused = None;
    for _ in 0..kspm_api::service::admission::TRIGGER_BURST as usize {
        if let Err(e) = trigger(TOKEN_A).await {
            refused = Some(e);
            break;
        }
    }
    let refused = refused.expect("the burst ends");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(
        refused.message().contains("try again"),
        "{}",
        refused.message()
    );
    assert!(trigger(TOKEN_B).await.is_ok());
}

/// A generated cluster of `pods` pods (fleetgen's realistic shape), in a directory that lives as
/// long as the returned guard.
fn generated_cluster(pods: usize, seed: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    kspm_fleetgen::generate(
        dir.path(),
        kspm_fleetgen::Shape::realistic(1, pods, false),
        seed,
    )
    .expect("generate");
    let cluster = dir.path().join("cluster-00");
    (dir, cluster)
}

/// Polls a scan job until it ends (60 s at most).
async fn ended_job(c: &mut PostureServiceClient<Channel>, token: &str, id: &str) -> pb::ScanJob {
    for _ in 0..600 {
        let job = c
            .get_scan_job(req(token, pb::GetScanJobRequest { id: id.into() }))
            .await
            .expect("job")
            .into_inner()
            .job
            .expect("a job");
        if job.finished_at.is_some() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not end within 60 s");
}

/// TriggerScan answers at once with a job that runs to its end whatever the client does: a
/// second trigger joins it, a client that gives up does not stop it, a failure is reported in
/// words that keep the cause in the log, and a job whose replica stopped is reported abandoned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggered_scans_are_jobs_that_outlive_their_call() {
    use pb::scan_job::State;
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let (_big, cluster) = generated_cluster(3000, 5);
    let shared = open(config(&db, "r1", &[("big", &cluster, "1h")], &[])).await;
    let server = run_with_grace(shared, Duration::ZERO).await;
    let mut c = client(&server.addr).await;
    wait_scans(&mut c, TOKEN_A, 1).await;
    let started = std::time::Instant::now();
    let trigger = |wait| pb::TriggerScanRequest {
        target: "big".into(),
        wait,
    };
    let first = c
        .trigger_scan(req(TOKEN_A, trigger(false)))
        .await
        .expect("trigger")
        .into_inner();
    let answered = started.elapsed();
    let job = first.jobs[0].clone();
    assert!(first.scans.is_empty());
    assert!(
        matches!(
            State::try_from(job.state),
            Ok(State::Queued | State::Running)
        ),
        "answered before the scan ended: {job:?}"
    );
    assert!(job.finished_at.is_none() && job.scan_id.is_empty());
    // A second trigger while it runs is the same job.
    let second = c
        .trigger_scan(req(TOKEN_A, trigger(false)))
        .await
        .expect("trigger")
        .into_inner();
    assert_eq!(second.jobs[0].id, job.id, "joined, not a second scan");
    let ended = ended_job(&mut c, TOKEN_A, &job.id).await;
    let took = started.elapsed();
    assert_eq!(ended.state, State::Succeeded as i32, "{ended:?}");
    assert!(
        answered * 5 < took,
        "the call ({answered:?}) did not wait for the scan ({took:?})"
    );
    assert_eq!(
        wait_scans(&mut c, TOKEN_A, 2).await.len(),
        2,
        "one scan for both"
    );

    // A client that gives up: its call ends, the job does not.
    let mut impatient = req(TOKEN_A, trigger(true));
    impatient.set_timeout(Duration::from_millis(50));
    assert!(c.trigger_scan(impatient).await.is_err());
    let newest = c
        .list_scan_jobs(req(TOKEN_A, pb::ListScanJobsRequest::default()))
        .await
        .expect("jobs")
        .into_inner()
        .jobs;
    assert_ne!(newest[0].id, job.id, "a new job was accepted");
    let outlived = ended_job(&mut c, TOKEN_A, &newest[0].id).await;
    assert_eq!(outlived.state, State::Succeeded as i32, "{outlived:?}");
    assert_eq!(wait_scans(&mut c, TOKEN_A, 3).await.len(), 3);

    // A failed commit: the job fails, in words that name it and keep the cause in the log.
    server.shared.store.abandon_commits(true);
    let failing = c
        .trigger_scan(req(TOKEN_A, trigger(false)))
        .await
        .expect("trigger")
        .into_inner();
    let failed = ended_job(&mut c, TOKEN_A, &failing.jobs[0].id).await;
    assert_eq!(failed.state, State::Failed as i32, "{failed:?}");
    assert!(failed.detail.contains(&failed.id), "{}", failed.detail);
    assert!(!failed.detail.contains("fault"), "{}", failed.detail);
    assert!(failed.scan_id.is_empty() && failed.scan.is_none());
    let refused = c.trigger_scan(req(TOKEN_A, trigger(true))).await;
    assert_eq!(
        code(refused),
        Code::Internal,
        "waiting on a failing job fails"
    );
    server.shared.store.abandon_commits(false);

    // A job whose replica stopped renewing it is abandoned, and says so.
    let now = kspm_api::service::store::now_ms();
    let orphan = kspm_api::service::store::JobRow {
        id: "j-orphan".into(),
        tenant: "tenant-a".into(),
        target: "big".into(),
        state: kspm_api::service::store::JobState::Running,
        detail: "scanning".into(),
        replica: "r9".into(),
        created_at: now - 60_000,
        started_at: now - 60_000,
        finished_at: 0,
        updated_at: now - 30_000,
        scan_id: String::new(),
    };
    server
        .shared
        .store
        .create_job(&orphan)
        .await
        .expect("orphan");
    let seen = c
        .get_scan_job(req(
            TOKEN_A,
            pb::GetScanJobRequest {
                id: "j-orphan".into(),
            },
        ))
        .await
        .expect("job")
        .into_inner()
        .job
        .expect("a job");
    assert_eq!(seen.state, State::Failed as i32);
    assert!(
        seen.detail.contains("abandoned") && seen.detail.contains("r9"),
        "{}",
        seen.detail
    );

    // The service stops (no grace) while a job runs: the job is recorded as stopped, not left
    // running for readers to wait on.
    let last = c
        .trigger_scan(req(TOKEN_A, trigger(false)))
        .await
        .expect("trigger")
        .into_inner()
        .jobs[0]
        .id
        .clone();
    let store = server.shared.store.clone();
    server.stop().await;
    let stopped = store
        .job("tenant-a", &last)
        .await
        .expect("read")
        .expect("the job");
    assert_eq!(
        stopped.state,
        kspm_api::service::store::JobState::Failed,
        "{stopped:?}"
    );
    assert!(
        stopped.detail.contains("service stopped"),
        "{}",
        stopped.detail
    );
}

/// The Python example client (`examples/api/client.py`), run as an integrator runs it: stubs
/// generated from `proto/` (with the well-known types), a scan triggered and followed through its
/// job, then clusters, posture, findings and paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_client_triggers_and_reads() {
    let Ok(python) = std::env::var("KSPM_TEST_GRPC_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KSPM_TEST_GRPC_PYTHON is not set: CI runs the tests through scripts/test, which installs grpcio"
        );
        eprintln!("skipping: no grpcio (scripts/test installs it)");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let demo = demo();
    let server = start(config(&db, "r1", &[("demo", &demo, "1h")], &[])).await;
    let mut c = client(&server.addr).await;
    wait_scans(&mut c, TOKEN_A, 1).await;
    let addr = server.addr.trim_start_matches("http://").to_string();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(common::repo().join("examples/api/client.py"))
            .args([addr.as_str(), "--trigger", "demo"])
            .env("KSPM_TOKEN", TOKEN_A)
            .output()
    })
    .await
    .expect("join")
    .expect("the client runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("STATE_SUCCEEDED (scan committed)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("457 findings, 128 attack paths"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cluster eks-prod-us-east-1 (eks 1.31)"),
        "{stdout}"
    );
    assert!(stdout.contains("critical findings; first 5:"), "{stdout}");
    // Two scans of the target: their drift (the same posture, so no change).
    assert!(
        stdout.contains("drift of demo from ") && stdout.contains(": 0 posture changes"),
        "{stdout}"
    );
    assert_eq!(wait_scans(&mut c, TOKEN_A, 2).await.len(), 2);
    server.stop().await;
}

/// Runs futures concurrently and returns their outputs in order.
async fn futures_join<F>(fs: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("join"));
    }
    out
}

/// A scan that runs past its target's timeout fails with DEADLINE_EXCEEDED and frees its slot.
#[tokio::test]
async fn a_scan_past_its_timeout_fails_and_frees_its_slot() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let (_big, cluster) = generated_cluster(4000, 3);
    let text = format!(
        "[service]\ndatabase_url = \"{db}\"\nreplica = \"r1\"\nlease_seconds = 2\nretention = 50\n[[tenant]]\nname = \"tenant-a\"\ntoken_sha256 = [\"{}\"]\n[[tenant.target]]\nname = \"big\"\npaths = [\"{}\"]\ninterval = \"1h\"\ntimeout = \"1ms\"\n",
        hash_token(TOKEN_A),
        cluster.display()
    );
    let server = start(Config::parse(&text).expect("config")).await;
    let mut c = client(&server.addr).await;
    let err = c
        .trigger_scan(req(TOKEN_A, waiting("")))
        .await
        .expect_err("timed out");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{}", err.message());
    // The scheduler's own first scan of the target (due at start, timing out the same way) may
    // hold a slot for a moment; every slot is free again soon after, none is kept.
    let mut free = 0;
    for _ in 0..100 {
        free = server.shared.scan_slots.available_permits();
        if free == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(free, 2, "the slots are free again");
    // A bad timeout is a configuration error.
    let bad = text.replace("timeout = \"1ms\"", "timeout = \"soon\"");
    assert!(Config::parse(&bad).is_err());
}

/// The p10, p50 and p95 of `n` sequential calls, in milliseconds.
async fn latency<F, Fut>(n: usize, mut call: F) -> (f64, f64, f64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut took = Vec::with_capacity(n);
    for _ in 0..n {
        let start = std::time::Instant::now();
        call().await;
        took.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    took.sort_by(f64::total_cmp);
    (took[n / 10], took[n / 2], took[(n * 95).div_ceil(100) - 1])
}

/// Answers larger than one TCP segment go out at once: accepted connections set TCP_NODELAY,
/// so a reply is not held back until the client's delayed ACK (~40 ms a call before, on every
/// call: even the fastest calls would take 40 ms or more). Alone, a debug build answers in
/// 5–17 ms (p50, depending on the machine); beside the other tests on two cores the tail reached
/// 37 ms (2026-12-03) and the median 21.6 ms (2026-12-06) and 34 ms (2026-12-07, a slower
/// machine), so the bound is on the fastest tenth of the calls, which the delay would hold back
/// as it would every other, at three quarters of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_calls_are_not_held_back_by_nagle() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let demo = demo();
    let server = start(config(&db, "r1", &[("demo", &demo, "1h")], &[])).await;
    let mut c = client(&server.addr).await;
    wait_scans(&mut c, TOKEN_A, 1).await;
    // Warm the connection and the caches.
    for _ in 0..5 {
        c.get_posture(req(TOKEN_A, pb::GetPostureRequest::default()))
            .await
            .expect("posture");
    }
    let (p10, p50, p95) = latency(50, || {
        let mut c = c.clone();
        async move {
            let posture = c
                .get_posture(req(TOKEN_A, pb::GetPostureRequest::default()))
                .await
                .expect("posture")
                .into_inner();
            assert!(!posture.severities.is_empty());
        }
    })
    .await;
    let (clusters_p10, clusters_p50, clusters_p95) = latency(50, || {
        let mut c = c.clone();
        async move {
            c.list_clusters(req(TOKEN_A, pb::ListClustersRequest::default()))
                .await
                .expect("clusters");
        }
    })
    .await;
    eprintln!(
        "GetPosture p10 {p10:.2} ms p50 {p50:.2} ms p95 {p95:.2} ms; ListClusters p10 {clusters_p10:.2} ms p50 {clusters_p50:.2} ms p95 {clusters_p95:.2} ms"
    );
    assert!(
        p10 < 30.0,
        "GetPosture p10 {p10:.2} ms (p50 {p50:.2} ms, p95 {p95:.2} ms)"
    );
    assert!(
        clusters_p10 < 30.0,
        "ListClusters p10 {clusters_p10:.2} ms (p50 {clusters_p50:.2} ms, p95 {clusters_p95:.2} ms)"
    );
    server.stop().await;
}

/// Plain `kspm serve` (no `-v`) tells an operator what it does: its listeners, targets and
/// database at start-up, every committed scan, and shutting down — at its default level, in
/// text; nothing below info.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_serve_logs_start_up_and_each_scan() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let cfg = dir.path().join("kspm.toml");
    std::fs::write(
        &cfg,
        format!(
            "[service]\nlisten = \"127.0.0.1:{port}\"\ndatabase_url = \"sqlite://{}\"\n[[tenant]]\nname = \"tenant-a\"\ntoken_sha256 = [\"{}\"]\n[[tenant.target]]\nname = \"demo\"\npaths = [\"{}\"]\n",
            dir.path().join("kspm.db").display(),
            hash_token(TOKEN_A),
            demo().display()
        ),
    )
    .expect("config");
    let stderr = dir.path().join("stderr.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("log file"))
        .spawn()
        .expect("spawn kspm serve");
    let mut c = client(&format!("http://127.0.0.1:{port}")).await;
    wait_scans(&mut c, TOKEN_A, 1).await;
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    for _ in 0..100 {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let log = std::fs::read_to_string(&stderr).expect("log");
    let started = log
        .lines()
        .find(|l| l.contains("kspm serve started"))
        .unwrap_or_else(|| panic!("no start-up line:\n{log}"));
    for field in [
        format!("listen=127.0.0.1:{port}"),
        "metrics=off".to_string(),
        "targets=1".to_string(),
        "database=\"sqlite\"".to_string(),
    ] {
        assert!(
            started.contains(&field) || started.contains(&field.replace('"', "")),
            "{field} in {started}"
        );
    }
    let committed = log
        .lines()
        .find(|l| l.contains("scan committed"))
        .unwrap_or_else(|| panic!("no committed scan:\n{log}"));
    assert!(
        committed.contains("target=demo") && committed.contains("findings="),
        "{committed}"
    );
    assert!(log.contains("shutting down"), "{log}");
    assert!(
        !log.contains("DEBUG") && !log.contains("TRACE"),
        "nothing below info by default:\n{log}"
    );
}

/// A finding keeps its fingerprint from scan to scan, its first_seen is the first scan's end
/// and its last_seen the end of the scan it is read from; two findings of one scan never share
/// a fingerprint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_keep_their_identity_across_scans() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let small = small();
    let server = start(config(&db, "r1", &[("small", &small, "1h")], &[])).await;
    let mut c = client(&server.addr).await;
    let first = wait_scans(&mut c, TOKEN_A, 1).await.remove(0);
    c.trigger_scan(req(TOKEN_A, waiting("small")))
        .await
        .expect("second scan");
    let scans = wait_scans(&mut c, TOKEN_A, 2).await;
    let second = scans
        .iter()
        .find(|s| s.id != first.id)
        .expect("second scan")
        .clone();
    let of = |scan: &str| {
        let mut c = c.clone();
        let scan = scan.to_string();
        async move {
            c.list_findings(req(
                TOKEN_A,
                pb::ListFindingsRequest {
                    scan_id: scan,
                    page_size: 1000,
                    ..Default::default()
                },
            ))
            .await
            .expect("findings")
            .into_inner()
            .findings
        }
    };
    let (before, after) = (of(&first.id).await, of(&second.id).await);
    assert!(!after.is_empty());
    let prints = |fs: &[pb::Finding]| -> std::collections::BTreeSet<String> {
        fs.iter().map(|f| f.fingerprint.clone()).collect()
    };
    assert_eq!(prints(&after).len(), after.len(), "unique within a scan");
    assert_eq!(prints(&before), prints(&after), "the same across scans");
    for f in &after {
        assert_eq!(f.fingerprint.len(), 16, "{}", f.fingerprint);
        assert_eq!(f.first_seen, first.finished_at, "{}", f.check);
        assert_eq!(f.last_seen, second.finished_at, "{}", f.check);
    }
    for f in &before {
        assert_eq!(
            (&f.first_seen, &f.last_seen),
            (&first.finished_at, &first.finished_at)
        );
    }
    // GetFinding answers the same identity.
    let one = c
        .get_finding(req(
            TOKEN_A,
            pb::GetFindingRequest {
                id: after[0].id.clone(),
            },
        ))
        .await
        .expect("finding")
        .into_inner()
        .finding
        .expect("finding");
    assert_eq!(one.fingerprint, after[0].fingerprint);
    assert_eq!(one.first_seen, first.finished_at);
    // ListScans counts all pages and takes a time range.
    let list = |since: Option<prost_types::Timestamp>, until: Option<prost_types::Timestamp>| {
        let mut c = c.clone();
        async move {
            c.list_scans(req(
                TOKEN_A,
                pb::ListScansRequest {
                    page_size: 1,
                    since,
                    until,
                    ..Default::default()
                },
            ))
            .await
            .map(|r| r.into_inner())
        }
    };
    let all = list(None, None).await.expect("scans");
    assert_eq!((all.total, all.scans.len()), (2, 1));
    assert_eq!(all.scans[0].id, second.id, "newest first");
    let since = list(second.finished_at, None).await.expect("since");
    assert_eq!(since.total, 1);
    assert_eq!(since.scans[0].id, second.id);
    let until = list(None, second.finished_at).await.expect("until");
    assert_eq!(until.total, 1);
    assert_eq!(until.scans[0].id, first.id);
    server.stop().await;
}

/// The next event of a stream (within 10 s).
async fn next_event(s: &mut tonic::Streaming<pb::WatchEventsResponse>) -> pb::WatchEventsResponse {
    tokio::time::timeout(Duration::from_secs(10), s.message())
        .await
        .expect("an event in time")
        .expect("ok")
        .expect("open")
}

/// WatchEvents resumes after a cursor (every scan committed since is replayed first), keeps
/// only the kinds asked for, and sends a scan's commit only to a stream of a cluster it read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_resume_and_filter() {
    use pb::watch_events_response::Kind;
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let small = small();
    let server = start(config(&db, "r1", &[("small", &small, "1h")], &[])).await;
    let mut c = client(&server.addr).await;
    let first = wait_scans(&mut c, TOKEN_A, 1).await.remove(0);
    let trigger = |mut c: PostureServiceClient<Channel>| async move {
        c.trigger_scan(req(TOKEN_A, waiting("small")))
            .await
            .expect("trigger")
            .into_inner()
    };
    let second = trigger(c.clone()).await.scans.remove(0);
    let watch = |mut c: PostureServiceClient<Channel>, r: pb::WatchEventsRequest| async move {
        c.watch_events(req(TOKEN_A, r))
            .await
            .map(|s| s.into_inner())
    };
    // Resume after the first scan: the second is replayed at once, without a new commit.
    let mut resumed = watch(
        c.clone(),
        pb::WatchEventsRequest {
            after: first.id.clone(),
            ..Default::default()
        },
    )
    .await
    .expect("resume");
    let ev = next_event(&mut resumed).await;
    assert_eq!(ev.kind, Kind::ScanCommitted as i32);
    assert_eq!(ev.scan.expect("scan").id, second.id);
    assert_eq!(ev.cursor, second.id);
    // From the second on, only commits: the third scan's.
    let mut commits = watch(
        c.clone(),
        pb::WatchEventsRequest {
            after: second.id.clone(),
            kinds: vec![Kind::ScanCommitted as i32],
            ..Default::default()
        },
    )
    .await
    .expect("commits");
    let mut elsewhere = watch(
        c.clone(),
        pb::WatchEventsRequest {
            after: second.id.clone(),
            cluster: "not-read-by-these-scans".into(),
            ..Default::default()
        },
    )
    .await
    .expect("elsewhere");
    let third = trigger(c.clone()).await.scans.remove(0);
    let ev = next_event(&mut commits).await;
    assert_eq!(
        (ev.kind, ev.scan.map(|s| s.id)),
        (Kind::ScanCommitted as i32, Some(third.id.clone()))
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), elsewhere.message())
            .await
            .is_err(),
        "a scan that did not read the cluster is not its news"
    );
    // A cursor of no scan of the tenant's is not found; a kind that is none is invalid.
    let missing = watch(
        c.clone(),
        pb::WatchEventsRequest {
            after: "s0".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(code(missing), Code::NotFound);
    let bad = watch(
        c.clone(),
        pb::WatchEventsRequest {
            kinds: vec![99],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(code(bad), Code::InvalidArgument);
    server.stop().await;
}

/// A value as JSON (for comparing types without `PartialEq`).
fn as_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("json")
}

/// A scan's large parts (attack graphs, posture digests) are stored once per tenant and content,
/// compressed: an unchanged rescan adds no body, tenants never share one, a body goes once no
/// scan refers to it (after its unused hour), and scans stored before as JSON text still read.
async fn scan_parts_are_stored_once(db: &str) {
    use kspm_api::service::store::{ClusterRecord, ScanRecord, Store};
    use kspm_engine::graph::GraphDump;
    let store = Store::open(db).await.expect("store");
    let graph = |technique: &str| -> GraphDump {
        serde_json::from_value(serde_json::json!({
            "nodes": [{"cluster": "c", "reference": "Workload:a/b", "kind": "Workload", "entry": false}],
            "edges": [[0, 0, technique, "evidence ".repeat(500)]]
        }))
        .expect("graph")
    };
    let facts: kspm_engine::drift::Facts = serde_json::from_value(serde_json::json!({
        "categories": {"rbac": {"binding": "x".repeat(5000)}}
    }))
    .expect("facts");
    let now = kspm_api::service::store::now_ms();
    let scan = |id: &str, tenant: &str, g: &GraphDump| ScanRecord {
        tenant: tenant.into(),
        clusters: vec![ClusterRecord {
            name: "c".into(),
            reached: true,
            facts: facts.clone(),
            graph: g.clone(),
            ..Default::default()
        }],
        paths: vec![attack_path(serde_json::json!({"id": "p1", "cluster": "c",
            "source": "Internet", "target": "ClusterAdmin", "severity": "high", "score": 1.0,
            "nodes": [], "steps": [{"from": "Internet", "to": "ClusterAdmin", "technique": "EXEC",
            "evidence": "e ".repeat(300)}]}))],
        graph: g.clone(),
        ..record_with(id, now, vec![])
    };
    let (g1, g2) = (graph("EXEC"), graph("PORT_FORWARD"));
    store.commit_scan(&scan("s1", "a", &g1)).await.expect("s1");
    // The fleet graph and the cluster's are the same body: three bodies, graph, digest, paths.
    assert_eq!(store.count("blobs").await.expect("count"), 3);
    store.commit_scan(&scan("s2", "a", &g1)).await.expect("s2");
    assert_eq!(
        store.count("blobs").await.expect("count"),
        3,
        "unchanged: no body added"
    );
    store.commit_scan(&scan("s3", "b", &g1)).await.expect("s3");
    assert_eq!(
        store.count("blobs").await.expect("count"),
        6,
        "another tenant's own"
    );
    assert_eq!(
        as_json(&store.scan_graph("s2").await.expect("read")),
        as_json(&Some(&g1))
    );
    let (cg, cf) = store
        .cluster_state("s3", "c")
        .await
        .expect("read")
        .expect("state");
    assert_eq!(as_json(&(cg, cf)), as_json(&(&g1, &facts)));
    store.commit_scan(&scan("s4", "a", &g2)).await.expect("s4");
    assert_eq!(
        store.count("blobs").await.expect("count"),
        7,
        "only the new graph"
    );
    assert_eq!(store.prune("a", "t", 1).await.expect("prune"), 2);
    // Tenant a's first graph is no longer referred to, but was used within the hour: kept.
    assert_eq!(store.count("blobs").await.expect("count"), 7);
    let gone = store
        .forget_unused_blobs(kspm_api::service::store::now_ms() + 1)
        .await
        .expect("forget");
    assert_eq!(gone, 1, "only the body no scan refers to");
    assert_eq!(
        as_json(&store.scan_graph("s4").await.expect("read")),
        as_json(&Some(&g2))
    );
    // The paths: one body for the scans that share them, a row each for counting.
    let paths = store.paths("s4").await.expect("paths");
    assert_eq!(
        serde_json::Value::Array(paths),
        serde_json::to_value(scan("s9", "a", &g1).paths).expect("json")
    );
    assert_eq!(
        store.path_counts("s4").await.expect("counts"),
        [("c".to_string(), 3, 1)]
    );
    assert_eq!(
        as_json(&store.scan_graph("s3").await.expect("read")),
        as_json(&Some(&g1))
    );
    // A scan stored before (its graph as JSON text) still reads.
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(db).await.expect("raw");
    sqlx::query("INSERT INTO scan_graphs (scan_id, graph) VALUES ($1, $2)")
        .bind("legacy")
        .bind(serde_json::to_string(&g1).expect("json"))
        .execute(&raw)
        .await
        .expect("legacy row");
    assert_eq!(
        as_json(&store.scan_graph("legacy").await.expect("read")),
        as_json(&Some(&g1))
    );
}

/// An attack path as the report writes it, read into its type.
fn attack_path(v: serde_json::Value) -> kspm_engine::graph::paths::AttackPath {
    serde_json::from_value(v).expect("an attack path")
}

/// A scan record of target "t" with these findings (report JSON, report order).
fn record_with(
    id: &str,
    finished_at: i64,
    findings: Vec<serde_json::Value>,
) -> kspm_api::service::store::ScanRecord {
    kspm_api::service::store::ScanRecord {
        id: id.into(),
        tenant: "a".into(),
        target: "t".into(),
        started_at: finished_at - 1,
        finished_at,
        replica: "r".into(),
        clusters: vec![],
        findings: findings
            .into_iter()
            .map(|f| serde_json::from_value(f).expect("a finding"))
            .collect(),
        paths: vec![],
        errors: 0,
        graph: Default::default(),
    }
}

/// A finding as the report writes it.
fn finding_json(check: &str, resource: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"check": check, "title": "t", "cluster": "c", "resource": resource,
        "message": message, "remediation": "r", "severity": "high", "namespace": "ns",
        "on_attack_path": false,
        "fingerprint": format!("fp-{check}-{resource}"), "controls": []})
}

/// The (check, resource, message, first_seen) of a scan's stored findings, in order.
async fn stored_findings(
    store: &kspm_api::service::store::Store,
    id: &str,
) -> Vec<(String, String, String, i64)> {
    let scan = store.scan("a", id).await.expect("scan").expect("stored");
    let (rows, total) = store
        .findings(&[scan], &Default::default(), None, 1000)
        .await
        .expect("findings");
    assert_eq!(rows.len() as i64, total);
    rows.iter()
        .map(|r| {
            let s = |k: &str| r.body[k].as_str().unwrap_or("").to_string();
            (
                s("check"),
                s("resource"),
                s("message"),
                r.body["first_seen"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// Findings are stored by difference: a rescan that reports the same finding writes nothing for
/// it, a finding that goes ends its row, one that comes (or changes) starts one — first seen
/// carried by fingerprint — and every scan still reads exactly what it reported, in report order;
/// pruning drops only rows no kept scan reports.
async fn findings_are_stored_by_difference(db: &str) {
    let store = kspm_api::service::store::Store::open(db)
        .await
        .expect("store");
    let (a, b, c) = (
        finding_json("A", "x", "m"),
        finding_json("B", "y", "m"),
        finding_json("C", "z", "m"),
    );
    let mut b2 = b.clone();
    b2["message"] = serde_json::json!("m, changed");
    store
        .commit_scan(&record_with("s1", 1000, vec![a.clone(), b.clone()]))
        .await
        .expect("s1");
    assert_eq!(store.count("finding_spans").await.expect("count"), 2);
    store
        .commit_scan(&record_with("s2", 2000, vec![a.clone(), b.clone()]))
        .await
        .expect("s2");
    assert_eq!(
        store.count("finding_spans").await.expect("count"),
        2,
        "unchanged: nothing written"
    );
    store
        .commit_scan(&record_with("s3", 3000, vec![a.clone(), b2, c]))
        .await
        .expect("s3");
    assert_eq!(
        store.count("finding_spans").await.expect("count"),
        4,
        "B changed, C came"
    );
    store
        .commit_scan(&record_with("s4", 4000, vec![a]))
        .await
        .expect("s4");
    let row = |c: &str, r: &str, m: &str, t: i64| (c.to_string(), r.to_string(), m.to_string(), t);
    assert_eq!(
        stored_findings(&store, "s2").await,
        [row("A", "x", "m", 1000), row("B", "y", "m", 1000)]
    );
    assert_eq!(
        stored_findings(&store, "s3").await,
        [
            row("A", "x", "m", 1000),
            row("B", "y", "m, changed", 1000),
            row("C", "z", "m", 3000)
        ],
        "a changed finding keeps its first sighting"
    );
    assert_eq!(
        stored_findings(&store, "s4").await,
        [row("A", "x", "m", 1000)]
    );
    // GetFinding's key: the same finding in two scans that share it.
    let s1 = store.scan("a", "s1").await.expect("scan").expect("s1");
    let (rows, _) = store
        .findings(std::slice::from_ref(&s1), &Default::default(), None, 10)
        .await
        .expect("rows");
    let s4 = store.scan("a", "s4").await.expect("scan").expect("s4");
    assert!(
        store
            .finding(&s4, &rows[0].key)
            .await
            .expect("read")
            .is_some(),
        "A, shared"
    );
    assert!(
        store
            .finding(&s4, &rows[1].key)
            .await
            .expect("read")
            .is_none(),
        "B, gone"
    );
    // Pages: a cursor continues after the finding it names.
    let (first, _) = store
        .findings(std::slice::from_ref(&s1), &Default::default(), None, 1)
        .await
        .expect("page");
    let after = Some((first[0].scan_id.clone(), first[0].cursor.clone()));
    let (second, total) = store
        .findings(&[s1], &Default::default(), after, 1)
        .await
        .expect("page");
    assert_eq!((second[0].key.clone(), total), (rows[1].key.clone(), 2));
    // Keep the two newest scans: the rows only s1 and s2 reported go.
    assert_eq!(store.prune("a", "t", 2).await.expect("prune"), 2);
    assert_eq!(
        store.count("finding_spans").await.expect("count"),
        3,
        "A, B changed, C"
    );
    assert_eq!(stored_findings(&store, "s3").await.len(), 3);
    // Ordinals never go down, pruned scans' included: the next scan is the fifth.
    store
        .commit_scan(&record_with("s5", 5000, vec![]))
        .await
        .expect("s5");
    let s5 = store.scan("a", "s5").await.expect("scan").expect("s5");
    assert_eq!(s5.ordinal, 5);
    assert!(stored_findings(&store, "s5").await.is_empty());
    assert_eq!(
        stored_findings(&store, "s4").await.len(),
        1,
        "s4 keeps its own"
    );
}

/// A database that a newer kspm wrote (a schema version this one does not know) is refused,
/// not written with history the newer one could not read.
#[tokio::test]
async fn a_database_of_a_newer_kspm_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("kspm.db").display());
    drop(
        kspm_api::service::store::Store::open(&db)
            .await
            .expect("store"),
    );
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&db).await.expect("raw");
    sqlx::query("INSERT INTO kspm_migrations (version) VALUES (9999)")
        .execute(&raw)
        .await
        .expect("newer version");
    raw.close().await;
    let refused = kspm_api::service::store::Store::open(&db)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(
            refused,
            kspm_api::service::store::StoreError::Newer { found: 9999, .. }
        ),
        "{refused}"
    );
    let refused = refused.to_string();
    assert!(
        refused.contains("newer kspm") && refused.contains("9999"),
        "{refused}"
    );
}

#[tokio::test]
async fn findings_are_stored_by_difference_in_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    findings_are_stored_by_difference(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("kspm.db").display()
    ))
    .await;
}

#[tokio::test]
async fn findings_are_stored_by_difference_in_postgres() {
    findings_are_stored_by_difference(&postgres_db("spans").await).await;
}

/// A history written before findings were stored by difference (schema version 8: a row per
/// scan and finding) is converted when the store opens: each scan reads what it reported, with
/// its first sightings, and the next scan is written against the latest.
async fn an_older_history_is_converted(db: &str) {
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(db).await.expect("raw");
    let migrations = [
        include_str!("../api/migrations/0001_init.sql"),
        include_str!("../api/migrations/0002_fleet_graph.sql"),
        include_str!("../api/migrations/0003_finding_identity.sql"),
        include_str!("../api/migrations/0004_path_severity.sql"),
        include_str!("../api/migrations/0005_commit_order.sql"),
        include_str!("../api/migrations/0006_exceptions.sql"),
        include_str!("../api/migrations/0007_scan_jobs.sql"),
        include_str!("../api/migrations/0008_blobs.sql"),
    ];
    sqlx::query("CREATE TABLE kspm_migrations (version BIGINT PRIMARY KEY)")
        .execute(&raw)
        .await
        .expect("migrations table");
    for (i, sql) in migrations.iter().enumerate() {
        for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            sqlx::query(stmt).execute(&raw).await.expect("old schema");
        }
        sqlx::query("INSERT INTO kspm_migrations (version) VALUES ($1)")
            .bind(i as i64 + 1)
            .execute(&raw)
            .await
            .expect("version");
    }
    // Two scans of target t (s2 committed last although it finished first), one of u.
    let (a, b) = (finding_json("A", "x", "m"), finding_json("B", "y", "m"));
    for (id, target, finished, seq, findings) in [
        (
            "s1",
            "t",
            2000,
            1,
            vec![(a.clone(), 500), (b.clone(), 2000)],
        ),
        ("s2", "t", 1500, 2, vec![(a.clone(), 500)]),
        ("s3", "u", 1000, 3, vec![(b.clone(), 1000)]),
    ] {
        sqlx::query(
            "INSERT INTO scans (id, tenant, target, started_at, finished_at, replica, clusters, \
             findings, attack_paths, errors, commit_seq) VALUES ($1, 'a', $2, 0, $3, 'r', 0, $4, 0, 0, $5)",
        )
        .bind(id)
        .bind(target)
        .bind(finished as i64)
        .bind(findings.len() as i64)
        .bind(seq as i64)
        .execute(&raw)
        .await
        .expect("old scan");
        for (n, (f, first_seen)) in findings.into_iter().enumerate() {
            let mut body = f.clone();
            body["first_seen"] = serde_json::json!(first_seen);
            sqlx::query(
                "INSERT INTO findings (scan_id, seq, cluster, check_id, severity, namespace, on_path, \
                 controls, fkey, body, fingerprint, first_seen) VALUES ($1, $2, 'c', $3, 3, 'ns', 0, '|', $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(n as i64)
            .bind(f["check"].as_str().unwrap_or(""))
            .bind(kspm_engine::drift::finding_key_json(&f))
            .bind(body.to_string())
            .bind(f["fingerprint"].as_str().unwrap_or(""))
            .bind(first_seen as i64)
            .execute(&raw)
            .await
            .expect("old finding");
        }
    }
    let old_path = serde_json::json!({"id": "p1", "cluster": "c", "target": "ClusterAdmin"});
    sqlx::query(
        "INSERT INTO paths (scan_id, seq, path_id, cluster, target, body, severity) \
         VALUES ('s1', 0, 'p1', 'c', 'ClusterAdmin', $1, 3)",
    )
    .bind(old_path.to_string())
    .execute(&raw)
    .await
    .expect("old path");
    raw.close().await;
    let store = kspm_api::service::store::Store::open(db)
        .await
        .expect("converted");
    assert_eq!(store.paths("s1").await.expect("paths"), [old_path]);
    // Its paths have no score (before version 12): the database does not rank them, their
    // bodies do.
    assert_eq!(
        store
            .path_page(&["s1".to_string()], "", "", 0, 10)
            .await
            .expect("page"),
        None
    );
    let row = |c: &str, r: &str, t: i64| (c.to_string(), r.to_string(), "m".to_string(), t);
    assert_eq!(
        stored_findings(&store, "s1").await,
        [row("A", "x", 500), row("B", "y", 2000)]
    );
    assert_eq!(stored_findings(&store, "s2").await, [row("A", "x", 500)]);
    assert_eq!(stored_findings(&store, "s3").await, [row("B", "y", 1000)]);
    assert_eq!(
        store.count("findings").await.expect("count"),
        0,
        "the old rows are gone"
    );
    // The next scan of t is written against s2, the latest committed: A goes on (first seen
    // carried), B comes back new.
    store
        .commit_scan(&record_with("s4", 3000, vec![a, b]))
        .await
        .expect("s4");
    assert_eq!(
        stored_findings(&store, "s4").await,
        [row("A", "x", 500), row("B", "y", 3000)]
    );
    assert_eq!(
        store
            .path_page(&["s4".to_string()], "", "", 0, 10)
            .await
            .expect("page")
            .map(|(total, _)| total),
        Some(0),
        "a new scan's paths are ranked by the database"
    );
}

/// Attack paths are counted, ranked and paged by the database: score first, then path ID,
/// then scan ID (byte order on both databases), then position; filtered by cluster; a page past
/// the end is empty.
async fn paths_are_ranked_by_the_database(db: &str) {
    let store = kspm_api::service::store::Store::open(db)
        .await
        .expect("store");
    let path = |id: &str, score: f64, cluster: &str| {
        attack_path(
            serde_json::json!({"id": id, "cluster": cluster, "source": "Internet",
            "target": "ClusterAdmin", "score": score, "severity": "critical", "nodes": [],
            "steps": []}),
        )
    };
    for (id, target, finished, paths) in [
        (
            "s2",
            "t2",
            2000,
            vec![path("AP-b", 9.0, "d"), path("AP-c", 5.0, "d")],
        ),
        (
            "s1",
            "t1",
            1000,
            vec![path("AP-b", 9.0, "c"), path("AP-a", 5.0, "c")],
        ),
    ] {
        let mut r = record_with(id, finished, Vec::new());
        r.target = target.into();
        r.paths = paths;
        store.commit_scan(&r).await.expect("commit");
    }
    let scans = ["s2".to_string(), "s1".to_string()];
    let page = |cluster: &'static str, offset: usize, limit: usize| {
        let (store, scans) = (&store, &scans);
        async move {
            store
                .path_page(scans, cluster, "", offset, limit)
                .await
                .expect("page")
                .expect("ranked by the database")
        }
    };
    let at = |s: &str, n: usize| (s.to_string(), n);
    assert_eq!(
        page("", 0, 10).await,
        (4, vec![at("s1", 0), at("s2", 0), at("s1", 1), at("s2", 1)])
    );
    assert_eq!(page("", 1, 2).await, (4, vec![at("s2", 0), at("s1", 1)]));
    assert_eq!(page("d", 1, 5).await, (2, vec![at("s2", 1)]));
    assert_eq!(page("", 10, 5).await, (4, Vec::new()));
    assert_eq!(page("", usize::MAX, 5).await, (4, Vec::new()));
    assert_eq!(page("nowhere", 0, 5).await, (0, Vec::new()));
}

#[tokio::test]
async fn paths_are_ranked_by_the_database_in_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    paths_are_ranked_by_the_database(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("kspm.db").display()
    ))
    .await;
}

#[tokio::test]
async fn paths_are_ranked_by_the_database_in_postgres() {
    paths_are_ranked_by_the_database(&postgres_db("rank").await).await;
}

#[tokio::test]
async fn an_older_history_is_converted_in_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    an_older_history_is_converted(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("kspm.db").display()
    ))
    .await;
}

#[tokio::test]
async fn an_older_history_is_converted_in_postgres() {
    an_older_history_is_converted(&postgres_db("convert").await).await;
}

#[tokio::test]
async fn scan_parts_are_stored_once_in_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    scan_parts_are_stored_once(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("kspm.db").display()
    ))
    .await;
}

#[tokio::test]
async fn scan_parts_are_stored_once_in_postgres() {
    scan_parts_are_stored_once(&postgres_db("blobs").await).await;
}

/// Resuming follows the order scans were committed, not their clocks: a scan that finished
/// earlier but committed later (another replica, a slow commit) still comes after a cursor it
/// committed after, and one committed before the cursor does not come again.
#[tokio::test]
async fn resuming_follows_commit_order_not_clocks() {
    use kspm_api::service::store::{ScanFollower, ScanRecord, Store};
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("kspm.db").display()
    ))
    .await
    .expect("store");
    let now = kspm_api::service::store::now_ms();
    let scan = |id: &str, finished_at: i64| ScanRecord {
        id: id.to_string(),
        tenant: "t".into(),
        target: "x".into(),
        started_at: finished_at - 10,
        finished_at,
        replica: "r".into(),
        clusters: vec![],
        findings: vec![],
        paths: vec![],
        errors: 0,
        graph: Default::default(),
    };
    // b finishes later but commits first; a (finished earlier) commits after it.
    store.commit_scan(&scan("b", now + 101)).await.expect("b");
    store.commit_scan(&scan("a", now + 100)).await.expect("a");
    store.commit_scan(&scan("c", now + 102)).await.expect("c");
    let row = |id: &str| {
        let store = store.clone();
        let id = id.to_string();
        async move { store.scan("t", &id).await.expect("read").expect("scan") }
    };
    let ids = |rows: Vec<kspm_api::service::store::ScanRow>| -> Vec<String> {
        rows.into_iter().map(|r| r.id).collect()
    };
    let mut after_b = ScanFollower::start_after(&store, "t", &row("b").await)
        .await
        .expect("follow");
    assert_eq!(ids(after_b.poll(&store).await.expect("poll")), ["a", "c"]);
    assert!(after_b.poll(&store).await.expect("poll").is_empty());
    let mut after_a = ScanFollower::start_after(&store, "t", &row("a").await)
        .await
        .expect("follow");
    assert_eq!(
        ids(after_a.poll(&store).await.expect("poll")),
        ["c"],
        "b was committed before a"
    );
    // A scan committed after the stream resumed is followed.
    store.commit_scan(&scan("d", now + 90)).await.expect("d");
    assert_eq!(ids(after_a.poll(&store).await.expect("poll")), ["d"]);
}

/// Exceptions through the API: created, applied to the tenant's next scans (the finding is
/// suppressed), listed, ended (it comes back), audited, and invisible to another tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceptions_are_managed_through_the_api() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let small = small();
    let server = start(config(
        &db,
        "r1",
        &[("small", &small, "1h")],
        &[("small", &small, "1h")],
    ))
    .await;
    let mut c = client(&server.addr).await;
    wait_scans(&mut c, TOKEN_A, 1).await;
    wait_scans(&mut c, TOKEN_B, 1).await;
    let shared_client = c.clone();
    let privileged = |token: &'static str| {
        let mut c = shared_client.clone();
        async move {
            c.list_findings(req(
                token,
                pb::ListFindingsRequest {
                    check: "KSPM-W-001".into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("findings")
            .into_inner()
            .total
        }
    };
    let before = privileged(TOKEN_A).await;
    assert!(before > 0, "the fixture runs a privileged container");
    let rescan = |token: &'static str| {
        let mut c = shared_client.clone();
        async move {
            c.trigger_scan(req(token, waiting(""))).await.expect("scan");
        }
    };
    // Validation.
    for (check, resource, reason, expires) in [
        ("KSPM-X-999", "", "r", in_days(30)),
        ("KSPM-W-001", "", "", in_days(30)),
        ("KSPM-W-001", "", "r", "2020-01-01".to_string()),
        ("KSPM-W-001", "", "r", in_days(800)),
        ("KSPM-W-001", "", "r", "soon".to_string()),
        ("KSPM-W-001", "log-shipper", "r", in_days(30)),
        ("*", "", "every finding", in_days(30)),
        ("*", "*", "every finding", in_days(30)),
    ] {
        let r = c
            .create_exception(req(
                TOKEN_A,
                pb::CreateExceptionRequest {
                    check: check.into(),
                    resource: resource.into(),
                    reason: reason.into(),
                    expires,
                    author: "alice".into(),
                    ..Default::default()
                },
            ))
            .await;
        assert_eq!(
            code(r),
            Code::InvalidArgument,
            "{check} {resource} {reason}"
        );
    }
    let created = c
        .create_exception(req(
            TOKEN_A,
            pb::CreateExceptionRequest {
                check: "KSPM-W-001".into(),
                resource: "DaemonSet:logging/*".into(),
                reason: "the log shipper needs the host".into(),
                expires: in_days(30),
                author: "alice".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("create")
        .into_inner()
        .exception
        .expect("exception");
    assert!(created.active && created.expired_at.is_none());
    rescan(TOKEN_A).await;
    assert_eq!(
        privileged(TOKEN_A).await,
        0,
        "suppressed from the next scan on"
    );
    // Another tenant neither sees nor ends it, and its own scans are not affected.
    rescan(TOKEN_B).await;
    assert_eq!(privileged(TOKEN_B).await, before);
    let b_list = c
        .list_exceptions(req(TOKEN_B, pb::ListExceptionsRequest::default()))
        .await
        .expect("list")
        .into_inner();
    assert!(b_list.exceptions.is_empty());
    let b_end = c
        .expire_exception(req(
            TOKEN_B,
            pb::ExpireExceptionRequest {
                id: created.id.clone(),
                author: "mallory".into(),
            },
        ))
        .await;
    assert_eq!(code(b_end), Code::NotFound);
    // Ended: listed as expired only on request, and the finding comes back.
    let ended = c
        .expire_exception(req(
            TOKEN_A,
            pb::ExpireExceptionRequest {
                id: created.id.clone(),
                author: "bob".into(),
            },
        ))
        .await
        .expect("expire")
        .into_inner()
        .exception
        .expect("exception");
    assert!(!ended.active && ended.expired_at.is_some());
    let active = c
        .list_exceptions(req(TOKEN_A, pb::ListExceptionsRequest::default()))
        .await
        .expect("list")
        .into_inner();
    assert!(active.exceptions.is_empty());
    let all = c
        .list_exceptions(req(
            TOKEN_A,
            pb::ListExceptionsRequest {
                include_expired: true,
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(all.exceptions.len(), 1);
    rescan(TOKEN_A).await;
    assert_eq!(privileged(TOKEN_A).await, before, "back after it ended");
    let audit = server
        .shared
        .store
        .exception_audit("tenant-a")
        .await
        .expect("audit");
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|(_, action, author, _)| (action.as_str(), author.as_str()))
        .collect();
    assert_eq!(actions, [("created", "alice"), ("expired", "bob")]);
    server.stop().await;
}

/// TriggerScan takes the job's lease: while another replica holds it (its scan running), the
/// trigger does not scan the target again but answers with that replica's commit; with the
/// lease free, this replica scans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_never_duplicates_another_replicas_scan() {
    use kspm_api::service::store::{Lease, ScanRecord};
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let small = small();
    let server = start(config(&db, "r1", &[("small", &small, "1h")], &[])).await;
    let mut c = client(&server.addr).await;
    wait_scans(&mut c, TOKEN_A, 1).await;
    let store = server.shared.store.clone();
    let now = kspm_api::service::store::now_ms();
    // The scheduler releases its lease right after its first commit: wait for that.
    let mut held = Lease::Unregistered;
    for _ in 0..100 {
        held = store
            .take_lease(
                "ghost",
                "tenant-a",
                "small",
                kspm_api::service::store::now_ms(),
                60_000,
            )
            .await
            .expect("lease");
        if held == Lease::Taken {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(held, Lease::Taken);
    let mut patient = c.clone();
    let trigger = tokio::spawn(async move {
        patient
            .trigger_scan(req(TOKEN_A, waiting("small")))
            .await
            .expect("trigger")
            .into_inner()
            .scans
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !trigger.is_finished(),
        "it waits for the replica that holds the lease"
    );
    // Its job says so.
    let queued = c
        .list_scan_jobs(req(TOKEN_A, pb::ListScanJobsRequest::default()))
        .await
        .expect("jobs")
        .into_inner()
        .jobs;
    assert_eq!(queued[0].state, pb::scan_job::State::Queued as i32);
    assert_eq!(
        queued[0].detail,
        "waiting for replica ghost's scan of the target"
    );
    let ghost = ScanRecord {
        id: "s-ghost".into(),
        tenant: "tenant-a".into(),
        target: "small".into(),
        started_at: now,
        finished_at: kspm_api::service::store::now_ms(),
        replica: "ghost".into(),
        clusters: vec![],
        findings: vec![],
        paths: vec![],
        errors: 0,
        graph: Default::default(),
    };
    store.commit_scan(&ghost).await.expect("ghost commit");
    let answered = tokio::time::timeout(Duration::from_secs(10), trigger)
        .await
        .expect("answered")
        .expect("joined");
    assert_eq!(answered[0].id, "s-ghost");
    let joined = ended_job(&mut c, TOKEN_A, &queued[0].id).await;
    assert_eq!(
        (joined.scan_id.as_str(), joined.detail.as_str()),
        ("s-ghost", "scan committed by replica ghost")
    );
    let scans = wait_scans(&mut c, TOKEN_A, 2).await;
    assert_eq!(
        scans.len(),
        2,
        "no second scan of the target while it was leased"
    );
    // Lease free again: this replica scans.
    // (Due again only in an hour, so the scheduler does not race the trigger.)
    store
        .release("ghost", "tenant-a", "small", now + 3_600_000)
        .await
        .expect("release");
    let own = c
        .trigger_scan(req(TOKEN_A, waiting("small")))
        .await
        .expect("trigger")
        .into_inner()
        .scans;
    assert_ne!(own[0].id, "s-ghost");
    assert_eq!(wait_scans(&mut c, TOKEN_A, 3).await.len(), 3);
    // A trigger whose client gives up at once still finishes under the lease and releases it.
    let mut impatient = req(TOKEN_A, waiting("small"));
    impatient.set_timeout(Duration::from_millis(1));
    let _ = c.trigger_scan(impatient).await;
    let mut freed = false;
    for _ in 0..100 {
        let now = kspm_api::service::store::now_ms();
        if store
            .take_lease("ghost", "tenant-a", "small", now, 60_000)
            .await
            .expect("lease")
            == Lease::Taken
        {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(freed, "the lease of an abandoned trigger is released");
    server.stop().await;
}

/// A target's `vulns`/`kev`: findings carry what the images hold (gRPC `vulnerabilities`),
/// KSPM-I-007 is judged, and the reports are named relative to the target — never by the
/// server's own paths.
#[tokio::test]
async fn a_targets_vulnerability_reports_reach_findings_without_server_paths() {
    let dir = tempfile::tempdir().expect("tmp");
    let fixtures = common::repo().join("tests/fixtures/vulns");
    let text = format!(
        "[service]\ndatabase_url = \"sqlite://{}\"\nreplica = \"r1\"\n[[tenant]]\nname = \"tenant-a\"\ntoken_sha256 = [\"{}\"]\n[[tenant.target]]\nname = \"shop\"\npaths = [\"{}\"]\nvulns = [\"{}\"]\nkev = \"{}\"\ninterval = \"1h\"\n",
        dir.path().join("kspm.db").display(),
        hash_token(TOKEN_A),
        fixtures.join("cluster").display(),
        fixtures.join("reports").display(),
        fixtures.join("kev.json").display(),
    );
    let server = start(Config::parse(&text).expect("config")).await;
    let mut c = client(&server.addr).await;
    wait_scans(&mut c, TOKEN_A, 1).await;
    let findings = c
        .list_findings(req(
            TOKEN_A,
            pb::ListFindingsRequest {
                check: "KSPM-I-007".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("findings")
        .into_inner()
        .findings;
    let web = findings
        .iter()
        .find(|f| f.resource == "Deployment:shop/web")
        .expect("web is reported");
    assert_eq!(web.severity, pb::Severity::Critical as i32);
    let v = &web.vulnerabilities[0];
    assert_eq!(
        (v.container.as_str(), v.matched_by.as_str()),
        ("web", "reference")
    );
    assert_eq!(v.known_exploited, ["CVE-2021-44228"]);
    assert_eq!(v.top[0].fixed_in, "2.15.0");
    assert_eq!(v.reports, ["Trivy web.trivy.json"]);
    let root = common::repo().display().to_string();
    for f in &findings {
        let all = format!("{f:?}");
        assert!(
            !all.contains(&root),
            "a server path reaches the tenant: {all}"
        );
    }
    let paths = c
        .list_attack_paths(req(TOKEN_A, pb::ListAttackPathsRequest::default()))
        .await
        .expect("paths")
        .into_inner()
        .paths;
    let evidence: Vec<&str> = paths
        .iter()
        .flat_map(|p| &p.steps)
        .filter(|s| s.technique == "ENDPOINT_EXPLOIT")
        .map(|s| s.evidence.as_str())
        .collect();
    assert!(evidence.iter().any(|e| e.contains("CVE-2021-44228")));
    assert!(evidence.iter().all(|e| !e.contains(&root)), "{evidence:?}");
    server.stop().await;
}

/// ExportOcsf: the stored scan as the OCSF events `kspm scan --format ocsf` writes of the same
/// input — every finding and path, the same identities — stamped with the scan's end, valid
/// against the OCSF schema; a cluster filter keeps that cluster's only.
#[tokio::test]
async fn scans_export_as_the_ocsf_events_of_the_cli() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("kspm.db").display());
    let demo = demo();
    let server = start(config(&db, "r1", &[("demo", &demo, "1h")], &[])).await;
    let mut c = client(&server.addr).await;
    let scans = wait_scans(&mut c, TOKEN_A, 1).await;
    let export = |cluster: &str| {
        let mut c = c.clone();
        let cluster = cluster.to_string();
        async move {
            let mut stream = c
                .export_ocsf(req(
                    TOKEN_A,
                    pb::ExportOcsfRequest {
                        cluster,
                        ..Default::default()
                    },
                ))
                .await
                .expect("export")
                .into_inner();
            let mut events: Vec<serde_json::Value> = Vec::new();
            while let Some(page) = stream.message().await.expect("page") {
                assert!(page.events_json.len() <= 500);
                events.extend(
                    page.events_json
                        .iter()
                        .map(|e| serde_json::from_str::<serde_json::Value>(e).expect("event")),
                );
            }
            events
        }
    };
    let events = export("").await;
    let out = common::kspm(&["scan", "-f", "ocsf", demo.to_str().expect("utf8")]);
    let cli: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("cli ocsf");
    let uids = |v: &[serde_json::Value]| -> std::collections::BTreeSet<String> {
        v.iter()
            .filter_map(|e| e["metadata"]["uid"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(events.len(), cli.len());
    assert_eq!(uids(&events), uids(&cli));
    let finished = scans[0]
        .finished_at
        .as_ref()
        .map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000);
    assert!(
        events.iter().all(|e| e["time"].as_i64() == finished),
        "stamped with the scan's end"
    );
    // Where each cluster runs comes from its stored summary.
    let eks = serde_json::json!({"provider": "AWS", "region": "us-east-1", "account": {"uid": "123456789012"}});
    assert!(events.iter().any(|e| e["cloud"] == eks));
    let gke = export("gke-staging-eu").await;
    assert!(!gke.is_empty() && gke.len() < events.len());
    assert!(gke
        .iter()
        .all(|e| e["unmapped"]["cluster"] == "gke-staging-eu"));
    if let Ok(python) = std::env::var("KSPM_TEST_OCSF_PYTHON") {
        let file = dir.path().join("events.json");
        std::fs::write(&file, serde_json::to_vec(&events).expect("json")).expect("write");
        let out = std::process::Command::new(python)
            .arg(common::repo().join("tests/fixtures/ocsf/validate.py"))
            .arg(&file)
            .arg("-q")
            .output()
            .expect("validator");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    server.stop().await;
}

/// A review of creating a privileged pod in `shop`, as the API server sends it.
fn privileged_pod_review(name: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": format!("uid-{name}"),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": name,
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": {"username": "alice"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"},
                "spec": {"containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": true}}]}},
            "oldObject": null,
            "dryRun": false,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admission_webhook_answers_over_https_from_the_watched_cluster() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let server = tokio::task::block_in_place(|| fake_apiserver::FakeApiServer::start(&small()));
    let dir = tempfile::tempdir().expect("tmp");
    let kubeconfig = server.kubeconfig(dir.path(), "small");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("sign");
    std::fs::write(dir.path().join("tls.crt"), leaf.pem()).expect("write");
    std::fs::write(dir.path().join("tls.key"), key.serialize_pem()).expect("write");
    let webhook_key = "0123456789abcdef0123456789abcdef-webhook";
    let text = format!(
        "[service]\ndatabase_url = \"sqlite://{db}\"\nreplica = \"r1\"\ntls_cert = \"{d}/tls.crt\"\ntls_key = \"{d}/tls.key\"\nadmission_listen = \"127.0.0.1:0\"\n[[tenant]]\nname = \"tenant-a\"\ntoken_sha256 = [\"{}\"]\n[[tenant.target]]\nname = \"live\"\nkubeconfig = \"{}\"\ncontext = \"small\"\ninterval = \"1h\"\nwatch = false\n[tenant.target.admission]\nmode = \"deny\"\nseverity = \"high\"\nkey_sha256 = \"{}\"\n",
        hash_token(TOKEN_A),
        kubeconfig.display(),
        hash_token(webhook_key),
        db = dir.path().join("kspm.db").display(),
        d = dir.path().display(),
    );
    let svc = start(Config::parse(&text).expect("config")).await;
    let addr = {
        let mut addr = None;
        for _ in 0..100 {
            addr = svc.shared.admission_addr.get().copied();
            if addr.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        addr.expect("the webhook listens")
    };
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("ca"))
        .resolve("localhost", addr)
        .build()
        .expect("client");
    let url = |key: &str| {
        format!(
            "https://localhost:{}/admission/tenant-a/live/{key}",
            addr.port()
        )
    };
    let post = |key: &str, body: String| {
        client
            .post(url(key))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // Until the watches have read the cluster, reviews are allowed (fail open), saying why.
    let reviewer = svc
        .shared
        .reviewers
        .get("tenant-a", "live")
        .expect("reviewer");
    let mut read = false;
    for _ in 0..300 {
        if reviewer.held.lock().map(|h| h.is_some()).unwrap_or(false) {
            read = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(read, "the admission watches read the cluster");
    let r = post(webhook_key, privileged_pod_review("intruder").to_string())
        .await
        .expect("review");
    assert_eq!(r.status(), 200);
    let a: serde_json::Value = r.json().await.expect("json");
    assert_eq!(a["kind"], "AdmissionReview");
    assert_eq!(a["response"]["uid"], "uid-intruder");
    assert_eq!(a["response"]["allowed"], false, "{a}");
    let msg = a["response"]["status"]["message"]
        .as_str()
        .expect("message");
    assert!(
        msg.contains("KSPM-W-001") && msg.contains("Pod:shop/intruder"),
        "{msg}"
    );
    // Once the API server stored the pod, the watches bring it in: the same pod introduces
    // nothing any more.
    tokio::task::block_in_place(|| {
        server.emit(
            "pods",
            "ADDED",
            privileged_pod_review("intruder")["request"]["object"].clone(),
        )
    });
    let mut allowed = false;
    for _ in 0..200 {
        let a: serde_json::Value = post(webhook_key, privileged_pod_review("intruder").to_string())
            .await
            .expect("review")
            .json()
            .await
            .expect("json");
        if a["response"]["allowed"] == true {
            allowed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(allowed, "the watched pod is no longer new");
    // A wrong key reads as an unknown path; a malformed review is a 400 that says why.
    let r = post("not-the-key", privileged_pod_review("x").to_string())
        .await
        .expect("review");
    assert_eq!(r.status(), 404);
    let r = post(webhook_key, "{\"kind\": \"AdmissionReview\"".to_string())
        .await
        .expect("review");
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.expect("json");
    assert!(
        e["error"].as_str().is_some_and(|m| m.contains("not JSON")),
        "{e}"
    );
    let r = client.get(url(webhook_key)).send().await.expect("get");
    assert_eq!(r.status(), 405);
    // Reviews are counted by outcome.
    let metrics = svc.shared.metrics.render();
    assert!(
        metrics.contains(
            "kspm_admission_reviews_total{tenant=\"tenant-a\",target=\"live\",outcome=\"denied\"}"
        ),
        "{metrics}"
    );
    // The watches only read.
    assert!(tokio::task::block_in_place(|| server.log())
        .iter()
        .all(|l| l.method == "GET"));
    svc.stop().await;
    tokio::task::block_in_place(move || drop(server));
}

/// Launch-template user data (bootstrap scripts often carry secrets) never reaches the store or
/// the API: a fleet whose launch template versions carry a canary in `UserData` — well formed,
/// in a file that does not parse and in one of the wrong shape — is scanned by the service; the
/// database files, every answer and the web view's model hold no trace of it, the malformed
/// files are named among the scan's errors, and the scan is otherwise the demo fleet's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_template_user_data_reaches_neither_the_store_nor_the_api() {
    use base64::Engine;
    const CANARY: &str = "kspm-userdata-canary-5d2e8f31";
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!(
        "#!/bin/bash\nexport DB_PASSWORD={CANARY}\n/etc/eks/bootstrap.sh prod\n"
    ));
    let dir = tempfile::tempdir().expect("tmp");
    let fleet = dir.path().join("fleet");
    copy_dir(&demo(), &fleet);
    let templates = fleet.join("eks-prod-us-east-1/cloud/launch-templates");
    std::fs::create_dir_all(&templates).expect("mkdir");
    let version = |user_data: &str| {
        format!(
            r#"{{"LaunchTemplateVersions": [{{"LaunchTemplateId": "lt-0c1d", "VersionNumber": 1, "LaunchTemplateData": {{"UserData": "{user_data}", "MetadataOptions": {{"HttpTokens": "optional", "HttpPutResponseHopLimit": 2}}}}}}]}}"#
        )
    };
    // The templates the demo's node groups use carry it too: they are read (KSPM-E-009).
    let used = fleet.join("eks-prod-us-east-1/cloud/launch-template-versions.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&used).expect("read")).expect("json");
    for v in doc["LaunchTemplateVersions"]
        .as_array_mut()
        .expect("versions")
    {
        v["LaunchTemplateData"]["UserData"] = serde_json::json!(encoded);
    }
    std::fs::write(&used, doc.to_string()).expect("write");
    std::fs::write(templates.join("lt-0c1d-1.json"), version(&encoded)).expect("write");
    std::fs::write(templates.join("lt-0c1d-2.json"), version(CANARY)).expect("write");
    let broken = version(CANARY);
    std::fs::write(
        templates.join("lt-broken.json"),
        &broken[..broken.len() - 20],
    )
    .expect("write");
    std::fs::write(
        templates.join("lt-wrong-shape.json"),
        format!(r#"{{"LaunchTemplateVersions": {{"UserData": "{CANARY}"}}}}"#),
    )
    .expect("write");

    let db_path = dir.path().join("kspm.db");
    let db = format!("sqlite://{}", db_path.display());
    let server = start(config(&db, "r1", &[("demo", &fleet, "1h")], &[])).await;
    let mut c = client(&server.addr).await;
    let scans = wait_scans(&mut c, TOKEN_A, 1).await;
    let mut answers = format!("{scans:?}");
    answers.push_str(&format!(
        "{:?}",
        c.get_posture(req(TOKEN_A, pb::GetPostureRequest::default()))
            .await
            .expect("posture")
            .into_inner()
    ));
    answers.push_str(&format!(
        "{:?}",
        c.list_clusters(req(TOKEN_A, pb::ListClustersRequest::default()))
            .await
            .expect("clusters")
            .into_inner()
    ));
    let mut page_token = String::new();
    let mut findings = 0;
    loop {
        let page = c
            .list_findings(req(
                TOKEN_A,
                pb::ListFindingsRequest {
                    page_size: 500,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("findings")
            .into_inner();
        findings += page.findings.len();
        answers.push_str(&format!("{page:?}"));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert!(findings > 100, "{findings} findings");
    assert!(
        answers.contains("KSPM-E-009") && answers.contains("HttpPutResponseHopLimit"),
        "the launch templates were not read"
    );
    answers.push_str(&format!(
        "{:?}",
        c.list_attack_paths(req(TOKEN_A, pb::ListAttackPathsRequest::default()))
            .await
            .expect("paths")
            .into_inner()
    ));
    let (status, model) = http_get(&server.web, "/api/model", Some(TOKEN_A)).await;
    assert_eq!(status, 200, "{model}");
    answers.push_str(&model);
    server.stop().await;

    // The two malformed files are named, and nothing of them is quoted.
    let offline = offline(&fleet);
    let errors = offline["errors"].to_string();
    assert!(
        errors.contains("lt-broken.json") && errors.contains("lt-wrong-shape.json"),
        "{errors}"
    );
    answers.push_str(&offline.to_string());
    for text in [&answers, &errors] {
        assert!(!text.contains(CANARY), "user data leaked");
        assert!(!text.contains(&encoded), "encoded user data leaked");
    }
    let mut stored = Vec::new();
    for e in std::fs::read_dir(dir.path()).expect("dir") {
        let e = e.expect("entry");
        if e.file_name().to_string_lossy().starts_with("kspm.db") {
            stored.extend(std::fs::read(e.path()).expect("db file"));
        }
    }
    assert!(stored.len() > 100_000, "{} bytes stored", stored.len());
    let stored = String::from_utf8_lossy(&stored);
    assert!(!stored.contains(CANARY), "user data stored");
    assert!(!stored.contains(&encoded), "encoded user data stored");
}

/// Database errors are classified by what they mean, on both databases: a connection the
/// server ends (PostgreSQL's 57P01, an administrator or a restart) and a SQLite file another
/// connection holds locked are worth trying again (`Unavailable`: gRPC UNAVAILABLE); a missing
/// table and a missing privilege (42501, whose digits once read as SQLite's "busy") are not.
#[tokio::test]
async fn database_errors_are_classified_by_what_they_mean() {
    use kspm_api::service::store::StoreError;
    let unavailable = |e: sqlx::Error| matches!(StoreError::from(e), StoreError::Unavailable(_));
    sqlx::any::install_default_drivers();
    let url = postgres_db("errors").await;
    let pool = sqlx::AnyPool::connect(&url).await.expect("postgres");
    let missing = sqlx::query("SELECT * FROM no_such_table")
        .execute(&pool)
        .await
        .expect_err("no such table");
    assert!(!unavailable(missing));
    let mut conn = pool.acquire().await.expect("connection");
    let role = format!("kspm_test_noperm_{}", std::process::id());
    for stmt in [
        "CREATE TABLE guarded (x INT)".to_string(),
        format!("DROP ROLE IF EXISTS {role}"),
        format!("CREATE ROLE {role} NOLOGIN"),
        format!("SET ROLE {role}"),
    ] {
        sqlx::query(&stmt).execute(&mut *conn).await.expect(&stmt);
    }
    let denied = sqlx::query("SELECT * FROM guarded")
        .execute(&mut *conn)
        .await
        .expect_err("permission denied");
    assert!(!unavailable(denied), "a missing privilege is not retried");
    for stmt in ["RESET ROLE".to_string(), format!("DROP ROLE {role}")] {
        sqlx::query(&stmt).execute(&mut *conn).await.expect(&stmt);
    }
    let ended = sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())")
        .execute(&mut *conn)
        .await
        .expect_err("the server ends the connection");
    assert!(
        unavailable(ended),
        "a connection the server ended is retried"
    );
    drop(conn);
    pool.close().await;

    let dir = tempfile::tempdir().expect("tempdir");
    let file = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("locked.db").display()
    );
    let holder = sqlx::AnyPool::connect(&file).await.expect("sqlite");
    let other = sqlx::AnyPool::connect(&file).await.expect("sqlite");
    sqlx::query("CREATE TABLE t (x INTEGER)")
        .execute(&holder)
        .await
        .expect("table");
    let mut held = holder.acquire().await.expect("connection");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut *held)
        .await
        .expect("lock");
    let mut waiting = other.acquire().await.expect("connection");
    sqlx::query("PRAGMA busy_timeout = 0")
        .execute(&mut *waiting)
        .await
        .expect("no wait");
    let busy = sqlx::query("INSERT INTO t (x) VALUES (1)")
        .execute(&mut *waiting)
        .await
        .expect_err("the file is locked");
    assert!(unavailable(busy), "a locked SQLite file is retried");
    sqlx::query("COMMIT")
        .execute(&mut *held)
        .await
        .expect("unlock");
    let missing = sqlx::query("SELECT * FROM no_such_table")
        .execute(&mut *waiting)
        .await
        .expect_err("no such table");
    assert!(!unavailable(missing), "a missing table is not retried");
}
