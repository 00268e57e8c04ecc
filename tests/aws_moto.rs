//! `kspm scan --aws` and `kspm collect --aws` against moto (EKS, IAM, STS, EC2) with an overlay
//! in front of it serving what moto lacks (access entries, access policies, Pod Identity,
//! `accessConfig`) and pointing the cluster's endpoint at the fake API server holding the demo
//! EKS cluster. The overlay records every AWS call: all must be reads the collector declares.
//!
//! Needs `KSPM_TEST_MOTO` (moto's URL) and `KSPM_TEST_MOTO_PYTHON` (a Python with boto3), which
//! `scripts/test` provides; under CI a missing moto fails the test instead of skipping it.

mod common;
#[path = "support/fake_apiserver.rs"]
mod fake_apiserver;

use common::{kspm_env, repo};
use fake_apiserver::FakeApiServer;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const ACCT: &str = "123456789012";
/// The bearer token `aws sso login` cached, and the access key the portal trades it for.
const SSO_BEARER: &str = "kspm-test-sso-bearer-token";
const SSO_ACCESS_KEY: &str = "ASIAKSPMSSOTEST00001";
/// The access key a `credential_process` helper prints.
const PROCESS_ACCESS_KEY: &str = "ASIAKSPMPROCESS00001";

fn moto() -> Option<(String, String)> {
    match (
        std::env::var("KSPM_TEST_MOTO"),
        std::env::var("KSPM_TEST_MOTO_PYTHON"),
    ) {
        (Ok(url), Ok(py)) => Some((url, py)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "KSPM_TEST_MOTO / KSPM_TEST_MOTO_PYTHON are not set: CI must run the tests through scripts/test, which starts moto"
            );
            eprintln!("skipping: moto is not running (scripts/test starts it)");
            None
        }
    }
}

struct Overlay {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    /// An account whose roles may not be assumed (AccessDenied, as a trust without kspm gives).
    deny_assume: Arc<Mutex<String>>,
    /// The access key IDs requests were signed with.
    signers: Arc<Mutex<BTreeSet<String>>>,
    _runtime: tokio::runtime::Runtime,
}

struct OverlayState {
    moto: String,
    apiserver: String,
    deny_region: String,
    deny_assume: Arc<Mutex<String>>,
    signers: Arc<Mutex<BTreeSet<String>>>,
    log: Arc<Mutex<Vec<String>>>,
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `Credential=AKID/DATE/REGION/SERVICE/aws4_request` → (region, service).
fn scope(auth: &str) -> (String, String) {
    let cred = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split(',').next())
        .unwrap_or("");
    let parts: Vec<&str> = cred.split('/').collect();
    (
        parts.get(2).unwrap_or(&"").to_string(),
        parts.get(3).unwrap_or(&"").to_string(),
    )
}

fn eks_action(method: &str, path: &str) -> String {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let action = match (method, segs.as_slice()) {
        ("GET", ["clusters"]) => "ListClusters",
        ("GET", ["clusters", _]) => "DescribeCluster",
        ("GET", ["clusters", _, "node-groups"]) => "ListNodegroups",
        ("GET", ["clusters", _, "node-groups", _]) => "DescribeNodegroup",
        ("GET", ["clusters", _, "access-entries"]) => "ListAccessEntries",
        ("GET", ["clusters", _, "access-entries", _]) => "DescribeAccessEntry",
        ("GET", ["clusters", _, "access-entries", _, "access-policies"]) => {
            "ListAssociatedAccessPolicies"
        }
        ("GET", ["clusters", _, "pod-identity-associations"]) => "ListPodIdentityAssociations",
        ("GET", ["clusters", _, "pod-identity-associations", _]) => {
            "DescribePodIdentityAssociation"
        }
        _ => return format!("eks:UNEXPECTED {method} {path}"),
    };
    format!("eks:{action}")
}

fn json_response(status: u16, v: Value) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(v.to_string())))
        .expect("response")
}

const PLATFORM: &str = "arn:aws:iam::123456789012:role/platform-admins";

fn eks_local(action: &str, cluster: &str) -> Option<Value> {
    let prod = cluster == "prod";
    Some(match action {
        "eks:ListAccessEntries" => {
            json!({"accessEntries": if prod { vec![PLATFORM] } else { vec![] }})
        }
        "eks:DescribeAccessEntry" => {
            json!({"accessEntry": {"clusterName": cluster, "principalArn": PLATFORM,
            "kubernetesGroups": [], "type": "STANDARD", "username": format!("arn:aws:sts::{ACCT}:assumed-role/platform-admins/{{{{SessionName}}}}"),
            "accessEntryArn": format!("arn:aws:eks:us-east-1:{ACCT}:access-entry/{cluster}/role/{ACCT}/platform-admins/1")}})
        }
        "eks:ListAssociatedAccessPolicies" => {
            json!({"clusterName": cluster, "principalArn": PLATFORM,
            "associatedAccessPolicies": [{"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                "accessScope": {"type": "cluster", "namespaces": []}, "associatedAt": 1.7e9, "modifiedAt": 1.7e9}]})
        }
        "eks:ListPodIdentityAssociations" => json!({"associations": if prod {
            vec![json!({"clusterName": cluster, "namespace": "shop", "serviceAccount": "checkout", "associationId": "a-checkout",
                        "associationArn": format!("arn:aws:eks:us-east-1:{ACCT}:podidentityassociation/{cluster}/a-checkout")})]
        } else { vec![] }}),
        "eks:DescribePodIdentityAssociation" => {
            json!({"association": {"clusterName": cluster, "namespace": "shop",
            "serviceAccount": "checkout", "roleArn": format!("arn:aws:iam::{ACCT}:role/eks-prod-shop-checkout"),
            "associationId": "a-checkout", "disableSessionTags": false}})
        }
        _ => return None,
    })
}

async fn handle(
    st: Arc<OverlayState>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (region, service) = scope(&auth);
    let path = parts.uri.path().to_string();
    if let Some(key) = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').next())
    {
        st.signers.lock().expect("signers").insert(key.to_string());
    }
    // The IAM Identity Center portal (what an `aws sso login` profile asks for credentials):
    // GetRoleCredentials with the cached bearer token.
    if path == "/federation/credentials" {
        let bearer = parts
            .headers
            .get("x-amz-sso_bearer_token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        st.log.lock().expect("log").push(format!(
            "sso:GetRoleCredentials {bearer} {}",
            parts.uri.query().unwrap_or("")
        ));
        if bearer != SSO_BEARER {
            return Ok(json_response(
                401,
                json!({"message": "Session token not found or invalid"}),
            ));
        }
        return Ok(json_response(
            200,
            json!({"roleCredentials": {"accessKeyId": SSO_ACCESS_KEY, "secretAccessKey": "sso-secret",
                "sessionToken": "sso-session", "expiration": 4_102_444_800_000_u64}}),
        ));
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .map(str::to_string);
    let action = if service == "eks" {
        eks_action(parts.method.as_str(), &path)
    } else if let Some(operation) = target {
        // JSON protocol services (Organizations) name the operation in a header.
        format!("{service}:{operation}")
    } else {
        let form = String::from_utf8_lossy(&body).to_string();
        let a = form
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .unwrap_or("UNKNOWN")
            .to_string();
        format!("{service}:{a}")
    };
    st.log.lock().expect("log").push(action.clone());
    let denied_account = st.deny_assume.lock().expect("deny").clone();
    if action == "sts:AssumeRole"
        && !denied_account.is_empty()
        && percent_decode(&String::from_utf8_lossy(&body))
            .contains(&format!(":iam::{denied_account}:role/"))
    {
        return Ok(hyper::Response::builder()
            .status(403)
            .header("content-type", "text/xml")
            .body(Full::new(Bytes::from(format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/testing is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{denied_account}:role/KspmReadOnly</Message></Error><RequestId>r</RequestId></ErrorResponse>"
            ))))
            .expect("response"));
    }
    let cluster = path
        .split('/')
        .nth(2)
        .map(percent_decode)
        .unwrap_or_default();
    if service == "eks" {
        if action == "eks:ListClusters" && region == st.deny_region {
            return Ok(denied());
        }
        if let Some(v) = eks_local(&action, &cluster) {
            return Ok(json_response(200, v));
        }
    }
    // Everything else goes to moto as it came.
    let uri = format!(
        "{}{}",
        st.moto,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut fwd = hyper::Request::builder()
        .method(parts.method.clone())
        .uri(uri);
    for (k, v) in &parts.headers {
        if k != "host" {
            fwd = fwd.header(k, v);
        }
    }
    let resp = match st
        .client
        .request(fwd.body(Full::new(body)).expect("request"))
        .await
    {
        Ok(r) => r,
        Err(e) => return Ok(json_response(502, json!({"message": e.to_string()}))),
    };
    let (rparts, rbody) = resp.into_parts();
    let mut bytes = rbody
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if action == "eks:DescribeCluster" && rparts.status.is_success() {
        // moto drops accessConfig and serves a fake endpoint: fill in both.
        if let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) {
            v["cluster"]["accessConfig"] = json!({"authenticationMode": "API_AND_CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": false});
            v["cluster"]["endpoint"] = json!(st.apiserver);
            bytes = Bytes::from(v.to_string());
        }
    }
    let mut out = hyper::Response::builder().status(rparts.status);
    for (k, v) in &rparts.headers {
        if k != "content-length" && k != "transfer-encoding" {
            out = out.header(k, v);
        }
    }
    Ok(out.body(Full::new(bytes)).expect("response"))
}

/// An EKS-style AccessDeniedException, as an SCP denying a region gives.
fn denied() -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(403)
        .header("content-type", "application/json")
        .header("x-amzn-errortype", "AccessDeniedException")
        .body(Full::new(Bytes::from(
            json!({"message": "User is not authorized to perform: eks:ListClusters with an explicit deny in a service control policy"}).to_string(),
        )))
        .expect("response")
}

impl Overlay {
    fn start(moto: &str, apiserver: &str, deny_region: &str) -> Overlay {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let log = Arc::new(Mutex::new(Vec::new()));
        let deny_assume = Arc::new(Mutex::new(String::new()));
        let signers = Arc::new(Mutex::new(BTreeSet::new()));
        let st = Arc::new(OverlayState {
            moto: moto.trim_end_matches('/').to_string(),
            apiserver: apiserver.to_string(),
            deny_region: deny_region.to_string(),
            deny_assume: deny_assume.clone(),
            signers: signers.clone(),
            log: log.clone(),
            client: hyper_util::client::legacy::Client::builder(
                hyper_util::rt::TokioExecutor::new(),
            )
            .build_http(),
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Overlay {
            addr,
            log,
            deny_assume,
            signers,
            _runtime: runtime,
        }
    }

    fn actions(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }
}

fn seed(moto: &str, python: &str) -> Value {
    seed_with("seed_moto.py", moto, python)
}

fn seed_with(script: &str, moto: &str, python: &str) -> Value {
    let mut command = std::process::Command::new(python);
    // The scripts name moto and its credentials themselves; kspm's AWS settings stay out.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
        command.env_remove(k);
    }
    let out = command
        .arg(repo().join("tests/fixtures/aws").join(script))
        .arg(moto)
        .output()
        .expect("run the seed script");
    assert!(
        out.status.success(),
        "seed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("seed output")
}

fn aws_env(overlay: &Overlay) -> Vec<(String, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        (
            "AWS_ENDPOINT_URL".into(),
            format!("http://{}", overlay.addr),
        ),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ("AWS_CONFIG_FILE".into(), "/nonexistent".into()),
        ("AWS_SHARED_CREDENTIALS_FILE".into(), "/nonexistent".into()),
        ("AWS_PROFILE".into(), String::new()),
    ]
}

fn run(args: &[&str], env: &[(String, String)]) -> std::process::Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    kspm_env(args, &env)
}

fn essence(report: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let findings = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}",
                f["cluster"], f["check"], f["resource"], f["message"]
            )
        })
        .collect();
    let paths = report["attack_paths"]
        .as_array()
        .expect("paths")
        .iter()
        .map(|p| {
            format!(
                "{} {} {} {}",
                p["cluster"], p["source"], p["target"], p["nodes"]
            )
        })
        .collect();
    (findings, paths)
}

#[test]
fn aws_discovery_scan_and_collect_against_moto() {
    let Some((moto, python)) = moto() else {
        return;
    };
    let seeded = seed(&moto, &python);
    assert!(seeded["issuer"].as_str().is_some());
    let demo = repo().join("examples/demo-fleet/eks-prod-us-east-1");
    let apiserver = FakeApiServer::start(&demo);
    let overlay = Overlay::start(&moto, &format!("http://{}", apiserver.addr), "eu-west-1");
    let env = aws_env(&overlay);
    let tmp = tempfile::tempdir().expect("tmp");
    let config = tmp.path().join("kspm.toml");
    std::fs::write(
        &config,
        "[aws]\nregions = [\"us-east-1\", \"eu-west-1\"]\nsession_name = \"kspm-test\"\n\n[[aws.account]]\n# ambient credentials\n\n[[aws.account]]\nrole_arn = \"arn:aws:iam::210987654321:role/KspmReadOnly\"\nexternal_id = \"kspm-external-id\"\n",
    )
    .expect("config");

    let out = run(
        &[
            "scan",
            "--aws",
            "--config",
            config.to_str().expect("utf8"),
            "-f",
            "json",
        ],
        &env,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");

    // Discovery: the one cluster, read through its API server, and the denied region reported.
    let clusters = report["clusters"].as_array().expect("clusters");
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    assert_eq!(clusters[0]["name"], "prod");
    assert_eq!(clusters[0]["provider"], "eks");
    assert!(
        clusters[0]["objects"].as_u64().unwrap_or(0) > 100,
        "{}",
        clusters[0]
    );
    let errors = report["errors"].as_array().expect("errors");
    let messages: Vec<&str> = errors
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("eks:ListClusters") && m.contains("region not scanned")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("kube-system/aws-node") && m.contains("no IRSA edge")),
        "the CNI role trusts another ServiceAccount: {messages:?}"
    );

    // Control-plane findings with CIS EKS IDs.
    let findings = report["findings"].as_array().expect("findings");
    let has = |check: &str, resource: &str| {
        findings
            .iter()
            .any(|f| f["check"] == check && f["resource"].as_str().unwrap_or("") == resource)
    };
    assert!(has("KSPM-E-003", "EksCluster:prod"), "public endpoint");
    assert!(has("KSPM-E-001", "EksCluster:prod"), "audit logs off");
    assert!(
        has("KSPM-E-009", "EksNodegroup:prod-general"),
        "IMDSv1 on the node group"
    );
    assert!(has("KSPM-E-012", &format!("EksAccessEntry:{PLATFORM}")));
    let e003 = findings
        .iter()
        .find(|f| f["check"] == "KSPM-E-003")
        .expect("E-003");
    assert!(
        e003["controls"].to_string().contains("5.4.1"),
        "{}",
        e003["controls"]
    );

    // Cross-layer paths with evidence from both layers.
    let paths = report["attack_paths"].as_array().expect("paths");
    let catalog = format!("AwsRole:arn:aws:iam::{ACCT}:role/eks-prod-shop-catalog-s3");
    let mission = paths
        .iter()
        .find(|p| p["source"] == "Internet" && p["target"] == format!("CloudAdmin:aws:{ACCT}"))
        .unwrap_or_else(|| {
            panic!(
                "internet → account admin: {}",
                serde_json::to_string_pretty(paths).unwrap_or_default()
            )
        });
    let nodes: Vec<&str> = mission["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        nodes.contains(&"ServiceAccount:shop/frontend") && nodes.contains(&catalog.as_str()),
        "{nodes:?}"
    );
    let steps = mission["steps"].as_array().expect("steps");
    let irsa = steps
        .iter()
        .find(|s| s["technique"] == "IRSA_ASSUME")
        .expect("IRSA step");
    assert!(irsa["evidence"]
        .as_str()
        .unwrap_or("")
        .contains("system:serviceaccount:shop:frontend"));
    let admin = steps
        .iter()
        .find(|s| s["technique"] == "CLOUD_ROLE_TO_ADMIN")
        .expect("admin step");
    assert!(
        admin["evidence"]
            .as_str()
            .unwrap_or("")
            .contains("ops-instance-admin"),
        "{admin}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p["source"] == format!("AwsRole:{PLATFORM}") && p["target"] == "ClusterAdmin"),
        "access policy → cluster-admin"
    );

    // The cluster was read with an EKS token minted in-process, GETs only.
    let log = apiserver.log();
    assert!(log.len() > 20);
    assert!(log.iter().all(|r| r.method == "GET"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    for r in &log {
        let token = r
            .authorization
            .strip_prefix("Bearer ")
            .expect("bearer token");
        kspm_collectors::cloud::eks_token::verify(token, now).expect("a valid EKS token");
    }

    // Collect (every enabled region this time), then scan offline: the same findings and paths.
    let all_regions = tmp.path().join("all-regions.toml");
    std::fs::write(&all_regions, "[aws]\nsession_name = \"kspm-test\"\n").expect("config");
    let out_dir = tmp.path().join("fleet");
    let out = run(
        &[
            "collect",
            "--aws",
            "--config",
            all_regions.to_str().expect("utf8"),
            "--out",
            out_dir.to_str().expect("utf8"),
        ],
        &env,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out_dir.join("prod/cloud/describe-cluster.json").is_file());
    // Launch-template user data (moto serves it; bootstrap scripts carry secrets) is in no
    // file of the snapshot, while the template's metadata options are.
    assert_eq!(
        seeded["user_data_served"], true,
        "moto no longer serves UserData"
    );
    let user_data = seeded["user_data"].as_str().expect("user data");
    let canary = "kspm-moto-userdata-canary-3b9d";
    let mut files = vec![out_dir.clone()];
    let mut templates = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(
                std::fs::read_dir(&p)
                    .expect("dir")
                    .map(|e| e.expect("entry").path()),
            );
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        assert!(
            !text.contains(user_data) && !text.contains(canary),
            "user data in {}",
            p.display()
        );
        if p.to_string_lossy().contains("launch-templates") {
            templates += 1;
            assert!(text.contains("HttpPutResponseHopLimit"), "{text}");
        }
    }
    assert!(templates > 0, "no launch template collected");
    assert!(out_dir
        .join(format!(
            "cloud/aws/{ACCT}/account-authorization-details-0.json"
        ))
        .is_file());
    let out = run(
        &["scan", out_dir.to_str().expect("utf8"), "-f", "json"],
        &env,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offline: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(canary));
    let (lf, lp) = essence(&report);
    let (of, op) = essence(&offline);
    assert_eq!(
        lf, of,
        "findings differ between the cloud scan and the scan of its export"
    );
    assert_eq!(
        lp, op,
        "paths differ between the cloud scan and the scan of its export"
    );

    // Every AWS call was a read the collector declares; the declared reads were all used.
    let actions: BTreeSet<String> = overlay.actions().into_iter().collect();
    let allowed: BTreeSet<String> = kspm_collectors::cloud::aws::ACTIONS
        .iter()
        .chain(kspm_collectors::cloud::aws::CENTRAL_ACTIONS)
        .map(|a| a.to_string())
        .collect();
    let extra: Vec<&String> = actions.difference(&allowed).collect();
    assert!(extra.is_empty(), "undeclared AWS calls: {extra:?}");
    let unused: Vec<&String> = allowed.difference(&actions).collect();
    assert!(unused.is_empty(), "declared but never called: {unused:?}");

    // The service: a target with `[tenant.target.aws]` discovers the same fleet every scan.
    for (k, v) in &env {
        std::env::set_var(k, v);
    }
    let config = kspm_api::service::config::Config::parse(&format!(
        "[[tenant]]\nname = \"acme\"\n[[tenant.target]]\nname = \"aws\"\ninterval = \"1h\"\n[tenant.target.aws]\nregions = [\"us-east-1\"]\nendpoint_url = \"http://{}\"\n",
        overlay.addr
    ))
    .expect("service config");
    let target = &config.tenants[0].targets[0];
    assert!(
        !target.is_live(),
        "an AWS target is not a kubeconfig target"
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let record = runtime
        .block_on(kspm_api::service::scan::run(
            "acme",
            target,
            &kspm_engine::ScanOptions::default(),
            "replica-1",
        ))
        .expect("service scan");
    assert_eq!(record.clusters.len(), 1);
    assert_eq!(record.clusters[0].name, "prod");
    let stored = format!("{record:?}");
    assert!(!stored.contains(canary) && !stored.contains(user_data));
    assert!(record
        .paths
        .iter()
        .any(|p| p.target == format!("CloudAdmin:aws:{ACCT}")));
    // Snapshot paths beside discovery are read with it, as `kspm scan --aws PATHS` reads them
    // (before the one pipeline, the service left a cloud target's paths unread).
    let mut with_paths = target.clone();
    with_paths.paths =
        vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small-cluster")];
    let record = runtime
        .block_on(kspm_api::service::scan::run(
            "acme",
            &with_paths,
            &kspm_engine::ScanOptions::default(),
            "replica-1",
        ))
        .expect("service scan with paths");
    let names: Vec<&str> = record.clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["prod", "small"]);
    assert!(record.findings.iter().any(|f| f.cluster == "small"));
    assert!(record.findings.iter().any(|f| f.cluster == "prod"));

    // An organization: every active account is read through its member role (the management
    // account's included); a closed account is not read at all; an account whose role cannot be
    // assumed is a gap of its own and the rest carries on.
    let org = seed_with("seed_moto_org.py", &moto, &python);
    let member = |name: &str| org["accounts"][name].as_str().expect("account").to_string();
    assert_eq!(org["states"][member("closed")], "SUSPENDED", "{org}");
    *overlay.deny_assume.lock().expect("deny") = member("denied");
    let before = overlay.actions().len();
    let org_config = tmp.path().join("organization.toml");
    std::fs::write(
        &org_config,
        "[aws]\nregions = [\"us-east-1\"]\n[[aws.account]]\n# the ambient credentials: the management account\n[aws.organization]\nmember_role = \"KspmReadOnly\"\nexternal_id = \"kspm-external-id\"\n",
    )
    .expect("config");
    let org_dir = tmp.path().join("organization");
    let out = run(
        &[
            "collect",
            "--aws",
            "--config",
            org_config.to_str().expect("utf8"),
            "--out",
            org_dir.to_str().expect("utf8"),
        ],
        &env,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let read = |account: &str| {
        org_dir
            .join(format!(
                "cloud/aws/{account}/account-authorization-details-0.json"
            ))
            .is_file()
    };
    for account in [ACCT.to_string(), member("dev"), member("staging")] {
        assert!(read(&account), "account {account} was not read: {stderr}");
    }
    assert!(!read(&member("closed")), "a closed account was read");
    assert!(!read(&member("denied")), "the denied account was read");
    assert!(
        stderr.contains(&format!(
            "arn:aws:iam::{}:role/KspmReadOnly",
            member("denied")
        )) && stderr.contains("AssumeRole"),
        "the denied account is not reported: {stderr}"
    );
    assert!(org_dir.join("prod/cloud/describe-cluster.json").is_file());
    let calls: Vec<String> = overlay.actions()[before..].to_vec();
    let declared: BTreeSet<&str> = kspm_collectors::cloud::aws::ACTIONS
        .iter()
        .chain(kspm_collectors::cloud::aws::CENTRAL_ACTIONS)
        .chain(kspm_collectors::cloud::aws::organization::ORGANIZATION_ACTIONS)
        .copied()
        .collect();
    let undeclared: Vec<&String> = calls
        .iter()
        .filter(|c| !declared.contains(c.as_str()))
        .collect();
    assert!(
        undeclared.is_empty(),
        "undeclared AWS calls: {undeclared:?}"
    );
    for a in kspm_collectors::cloud::aws::organization::ORGANIZATION_ACTIONS {
        assert!(calls.iter().any(|c| c == a), "{a} not called: {calls:?}");
    }
    // Five accounts listed, four active; the management account is the configured ambient one,
    // read once without a role: the three others assumed once each.
    assert_eq!(
        calls.iter().filter(|c| *c == "sts:AssumeRole").count(),
        3,
        "{calls:?}"
    );

    // An `aws sso login` profile (IAM Identity Center, sso-session form): the cached bearer
    // token is traded at the portal for role credentials, and every AWS call is signed with them.
    let home = tmp.path().join("home");
    let cache = home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).expect("mkdir");
    let digest = std::process::Command::new(&python)
        .args([
            "-c",
            "import hashlib, sys; print(hashlib.sha1(sys.argv[1].encode()).hexdigest())",
            "corp",
        ])
        .output()
        .expect("sha1");
    let name = String::from_utf8_lossy(&digest.stdout).trim().to_string();
    std::fs::write(
        cache.join(format!("{name}.json")),
        json!({"accessToken": SSO_BEARER, "expiresAt": "2099-12-31T00:00:00Z",
               "startUrl": "https://corp.awsapps.com/start", "region": "us-east-1"})
        .to_string(),
    )
    .expect("cache");
    let aws_config = tmp.path().join("aws-config");
    std::fs::write(
        &aws_config,
        format!("[profile kspm-sso]\nsso_session = corp\nsso_account_id = {ACCT}\nsso_role_name = SecurityAudit\nregion = us-east-1\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n"),
    )
    .expect("aws config");
    let sso_env: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| {
            ![
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_PROFILE",
                "AWS_CONFIG_FILE",
            ]
            .contains(&k.as_str())
        })
        .cloned()
        .chain([
            ("AWS_PROFILE".to_string(), "kspm-sso".to_string()),
            (
                "AWS_CONFIG_FILE".to_string(),
                aws_config.display().to_string(),
            ),
            ("HOME".to_string(), home.display().to_string()),
        ])
        .collect();
    // The service part above exported the static keys into this process; the profile must be
    // the only credential source.
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        std::env::remove_var(k);
    }
    let before = overlay.actions().len();
    let out = run(
        &["scan", "--aws", "--aws-region", "us-east-1", "-f", "json"],
        &sso_env,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let calls: Vec<String> = overlay.actions()[before..].to_vec();
    assert!(
        calls.iter().any(
            |c| c.starts_with(&format!("sso:GetRoleCredentials {SSO_BEARER} "))
                && c.contains("role_name=SecurityAudit")
                && c.contains(&format!("account_id={ACCT}"))
        ),
        "{calls:?}"
    );
    assert!(
        overlay
            .signers
            .lock()
            .expect("signers")
            .contains(SSO_ACCESS_KEY),
        "no call was signed with the SSO role credentials"
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["clusters"][0]["name"], "prod", "{stderr}");

    // A `credential_process` profile: kspm runs the command and signs with what it prints.
    let helper = tmp.path().join("credential-helper.sh");
    std::fs::write(
        &helper,
        format!("#!/bin/sh\necho '{{\"Version\": 1, \"AccessKeyId\": \"{PROCESS_ACCESS_KEY}\", \"SecretAccessKey\": \"process-secret\", \"SessionToken\": \"process-session\"}}'\n"),
    )
    .expect("helper");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let process_config = tmp.path().join("aws-config-process");
    std::fs::write(
        &process_config,
        format!(
            "[profile kspm-process]\ncredential_process = {}\nregion = us-east-1\n",
            helper.display()
        ),
    )
    .expect("aws config");
    let process_env: Vec<(String, String)> = sso_env
        .iter()
        .filter(|(k, _)| !["AWS_PROFILE", "AWS_CONFIG_FILE"].contains(&k.as_str()))
        .cloned()
        .chain([
            ("AWS_PROFILE".to_string(), "kspm-process".to_string()),
            (
                "AWS_CONFIG_FILE".to_string(),
                process_config.display().to_string(),
            ),
        ])
        .collect();
    let out = run(
        &["scan", "--aws", "--aws-region", "us-east-1", "-f", "json"],
        &process_env,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        overlay
            .signers
            .lock()
            .expect("signers")
            .contains(PROCESS_ACCESS_KEY),
        "no call was signed with the credential_process credentials"
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["clusters"][0]["name"], "prod", "{stderr}");
}
