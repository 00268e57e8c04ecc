//! `kspm scan --gcp --azure` and `kspm collect --gcp --azure` against fake Google (Container,
//! Resource Manager, IAM) and Azure Resource Manager servers serving the real wire shapes
//! (CLOUD.md §4.4–4.5) — built from the demo fleet's gcloud/az exports — with the clusters'
//! endpoints pointing at fake API servers holding the demo GKE and AKS clusters.
//!
//! Proves: discovery with pagination (`nextPageToken`, absolute `nextLink`), throttling retried
//! (`429` + `Retry-After`), a failing project reported while the rest is scanned, only reads,
//! the clusters read with the clouds' tokens, and the same findings and paths as the offline
//! scan of the CLI exports and of the collected snapshot.

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

const PROJECT: &str = "demo-staging-000000";
const SUB: &str = "00000000-0000-0000-0000-000000000000";
/// The demo project's folder and organization (`cloud/gcp/<project>/ancestry.json`).
const FOLDER: &str = "405060708090";
/// The service account of the key and impersonation cases of Application Default Credentials.
const SA_EMAIL: &str = "kspm-collector@demo-staging-000000.iam.gserviceaccount.com";
const ORG: &str = "102030405060";

struct Fake {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<(String, String, String)>>>,
    /// (path, `x-goog-user-project`) of each request that named a quota project.
    quota: Arc<Mutex<Vec<(String, String)>>>,
    _runtime: tokio::runtime::Runtime,
}

struct State {
    gke_apiserver: String,
    aks_apiserver: String,
    base: Mutex<String>,
    log: Arc<Mutex<Vec<(String, String, String)>>>,
    quota: Arc<Mutex<Vec<(String, String)>>>,
    throttled: Mutex<bool>,
}

fn read(path: &str) -> Value {
    let text =
        std::fs::read_to_string(repo().join("examples/demo-fleet").join(path)).expect("demo file");
    serde_json::from_str(&text).expect("json")
}

fn respond(status: u16, v: Value) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(v.to_string())))
        .expect("response")
}

/// An `az` CLI item (flattened) in the ARM wire shape (`properties`).
fn arm(item: &Value, keep_top: &[&str]) -> Value {
    let mut top = serde_json::Map::new();
    let mut props = serde_json::Map::new();
    for (k, v) in item.as_object().into_iter().flatten() {
        if keep_top.contains(&k.as_str()) {
            top.insert(k.clone(), v.clone());
        } else if k != "resourceGroup" {
            props.insert(k.clone(), v.clone());
        }
    }
    top.insert("properties".into(), Value::Object(props));
    Value::Object(top)
}

fn gcp(
    st: &State,
    method: &str,
    path: &str,
    query: &str,
    auth: &str,
    body: &[u8],
) -> hyper::Response<Full<Bytes>> {
    if auth != "Bearer gcp-test-token" {
        return respond(
            401,
            json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}),
        );
    }
    let denied = || {
        respond(
            403,
            json!({"error": {"code": 403, "message": "Permission denied on resource project broken-project.", "status": "PERMISSION_DENIED"}}),
        )
    };
    match (method, path) {
        ("GET", p) if p == format!("/v1/projects/{PROJECT}/locations/-/clusters") => {
            let mut c = read("gke-staging-eu/cloud/cluster.json");
            c["endpoint"] = json!(st.gke_apiserver);
            c["controlPlaneEndpointsConfig"]["ipEndpointsConfig"]["publicEndpoint"] =
                json!(st.gke_apiserver);
            respond(200, json!({"clusters": [c], "missingZones": []}))
        }
        ("POST", p) if p == format!("/v3/projects/{PROJECT}:getIamPolicy") => respond(
            200,
            read(&format!("cloud/gcp/{PROJECT}/project-iam-policy.json")),
        ),
        // Resource Manager v1 getAncestry: the demo's `gcloud projects get-ancestors` output in
        // the API's shape. `other-project` sits under another folder of the organization.
        ("POST", p) if p.ends_with(":getAncestry") && !p.contains("broken-project") => {
            let project = p
                .trim_start_matches("/v1/projects/")
                .trim_end_matches(":getAncestry");
            let list = if project == PROJECT {
                read(&format!("cloud/gcp/{PROJECT}/ancestry.json"))
            } else {
                json!([{"id": project, "type": "project"}, {"id": "999000999000", "type": "folder"},
                       {"id": ORG, "type": "organization"}])
            };
            let ancestor: Vec<Value> = list
                .as_array()
                .expect("ancestry")
                .iter()
                .map(|a| json!({"resourceId": {"type": a["type"], "id": a["id"]}}))
                .collect();
            respond(200, json!({ "ancestor": ancestor }))
        }
        ("POST", p) if p == format!("/v3/folders/{FOLDER}:getIamPolicy") => {
            respond(200, read(&format!("cloud/gcp/folders/{FOLDER}.json")))
        }
        ("POST", p) if p == format!("/v3/organizations/{ORG}:getIamPolicy") => {
            respond(200, read(&format!("cloud/gcp/organizations/{ORG}.json")))
        }
        ("POST", "/v3/folders/999000999000:getIamPolicy") => {
            respond(200, json!({"etag": "ACAB", "version": 1}))
        }
        ("GET", "/v3/projects:search") => respond(
            200,
            json!({"projects": [
                {"projectId": PROJECT, "state": "ACTIVE"},
                {"projectId": "other-project", "state": "ACTIVE"},
                {"projectId": "broken-project", "state": "ACTIVE"},
                {"projectId": "old-project", "state": "DELETE_REQUESTED"}
            ]}),
        ),
        ("GET", p) if p == format!("/v1/projects/{PROJECT}/serviceAccounts") => {
            // Two pages, through nextPageToken.
            let account = |name: &str| {
                json!({"name": format!("projects/{PROJECT}/serviceAccounts/{name}@{PROJECT}.iam.gserviceaccount.com"),
                "email": format!("{name}@{PROJECT}.iam.gserviceaccount.com"), "uniqueId": "1", "disabled": false})
            };
            if query.contains("pageToken=p2") {
                respond(200, json!({"accounts": [account("shop-catalog")]}))
            } else {
                respond(
                    200,
                    json!({"accounts": [account("ci-deployer")], "nextPageToken": "p2"}),
                )
            }
        }
        ("POST", p)
            if p.starts_with(&format!("/v1/projects/{PROJECT}/serviceAccounts/"))
                && p.ends_with(":getIamPolicy") =>
        {
            // Google's reference: the request body must be empty; the policy version is the
            // query parameter `options.requestedPolicyVersion` (conditional bindings need 3).
            if !body.is_empty() {
                return respond(
                    400,
                    json!({"error": {"code": 400, "message": "Invalid JSON payload received. Unknown name \"options\": Cannot bind query parameter. Field 'options' could not be found in request message.", "status": "INVALID_ARGUMENT"}}),
                );
            }
            if !query
                .split('&')
                .any(|kv| kv == "options.requestedPolicyVersion=3")
            {
                return respond(
                    400,
                    json!({"error": {"code": 400, "message": "policy version 1 cannot hold conditional bindings; request options.requestedPolicyVersion=3", "status": "INVALID_ARGUMENT"}}),
                );
            }
            let email = p
                .rsplit('/')
                .next()
                .unwrap_or("")
                .trim_end_matches(":getIamPolicy");
            let file = repo().join(format!(
                "examples/demo-fleet/cloud/gcp/{PROJECT}/service-accounts/{email}.json"
            ));
            match std::fs::read_to_string(file) {
                Ok(t) => respond(200, serde_json::from_str(&t).expect("json")),
                Err(_) => respond(200, json!({"version": 1, "etag": "ACAB"})),
            }
        }
        (_, p) if p.contains("/broken-project") => denied(),
        _ => respond(
            404,
            json!({"error": {"code": 404, "message": format!("no route {method} {path}"), "status": "NOT_FOUND"}}),
        ),
    }
}

fn azure(
    st: &State,
    method: &str,
    path: &str,
    query: &str,
    auth: &str,
) -> hyper::Response<Full<Bytes>> {
    if auth != "Bearer arm-test-token" {
        return respond(
            401,
            json!({"error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}}),
        );
    }
    if !query.contains("api-version=") {
        return respond(
            400,
            json!({"error": {"code": "MissingApiVersionParameter", "message": "The api-version query parameter is required."}}),
        );
    }
    let base = st.base.lock().expect("base").clone();
    let cluster = read("aks-payments-westeurope/cloud/cluster.json");
    let cluster_id = cluster["id"].as_str().unwrap_or("").to_string();
    let sub = format!("/subscriptions/{SUB}/providers");
    let identities = read(&format!("cloud/azure/{SUB}/identities.json"));
    let identity_id = identities[0]["id"].as_str().unwrap_or("").to_string();
    match method {
        "GET" if path == format!("{sub}/Microsoft.ContainerService/managedClusters") => {
            if query.contains("skiptoken=2") {
                respond(200, json!({"value": []}))
            } else {
                // Two pages: the second through an absolute nextLink.
                respond(
                    200,
                    json!({"value": [cluster], "nextLink": format!("{base}{path}?api-version=2025-07-01&$skiptoken=2")}),
                )
            }
        }
        "GET" if path == format!("{sub}/Microsoft.Authorization/roleAssignments") => {
            let mut throttled = st.throttled.lock().expect("throttle");
            if !*throttled {
                *throttled = true;
                return hyper::Response::builder()
                    .status(429)
                    .header("retry-after", "1")
                    .body(Full::new(Bytes::from(
                        json!({"error": {"code": "TooManyRequests", "message": "throttled"}})
                            .to_string(),
                    )))
                    .expect("response");
            }
            let items: Vec<Value> = read(&format!("cloud/azure/{SUB}/role-assignments.json"))
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| arm(a, &["id", "name", "type"]))
                .collect();
            respond(200, json!({"value": items}))
        }
        "GET" if path == format!("{sub}/Microsoft.Authorization/roleDefinitions") => {
            respond(200, json!({"value": []}))
        }
        "GET" if path == format!("{sub}/Microsoft.ManagedIdentity/userAssignedIdentities") => {
            let items: Vec<Value> = identities
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| arm(i, &["id", "name", "type", "location"]))
                .collect();
            respond(200, json!({"value": items}))
        }
        "GET" if path == format!("{identity_id}/federatedIdentityCredentials") => {
            let items: Vec<Value> = read(&format!("cloud/azure/{SUB}/federated-credentials.json"))
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| arm(f, &["id", "name", "type"]))
                .collect();
            respond(200, json!({"value": items}))
        }
        "POST" if path == format!("{cluster_id}/listClusterUserCredential") => {
            let kubeconfig = format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: aks\n  cluster:\n    server: {}\ncontexts:\n- name: aks\n  context: {{cluster: aks, user: u}}\nusers:\n- name: u\n  user:\n    exec: {{command: kubelogin}}\ncurrent-context: aks\n",
                st.aks_apiserver
            );
            use base64::Engine;
            respond(
                200,
                json!({"kubeconfigs": [{"name": "clusterUser", "value": base64::engine::general_purpose::STANDARD.encode(kubeconfig)}]}),
            )
        }
        _ => respond(
            404,
            json!({"error": {"code": "NotFound", "message": format!("no route {method} {path}")}}),
        ),
    }
}

/// Whether a bearer token is a JWT self-signed by a service-account key (what Google's library
/// would send for a key file, which GKE's API server refuses) for `email`.
fn self_signed_by(auth: &str, email: &str) -> bool {
    use base64::Engine;
    let Some(jwt) = auth.strip_prefix("Bearer ") else {
        return false;
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    let claims = parts
        .get(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .unwrap_or(Value::Null);
    parts.len() == 3
        && claims["iss"] == email
        && claims["sub"] == email
        && claims["scope"]
            .as_str()
            .is_some_and(|s| s.contains("https://www.googleapis.com/auth/cloud-platform"))
}

/// A token request's parameters: a form, or (as Google's endpoints also accept) a JSON object.
fn form(body: &[u8]) -> std::collections::BTreeMap<String, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
            .collect(),
        _ => form_urlencoded::parse(body).into_owned().collect(),
    }
}

/// Google's token endpoints, as the credentials files point at them: OAuth refresh (user
/// credentials; refresh token `impersonator` gets the impersonation's source token, `revoked`
/// is refused), STS (workload identity federation, the subject token read from its file), IAM
/// Credentials `generateAccessToken` (impersonation, called with the source token) and the
/// metadata server (`Metadata-Flavor: Google` required).
fn google_token_endpoint(
    method: &str,
    path: &str,
    auth: &str,
    flavor: bool,
    body: &[u8],
) -> Option<hyper::Response<Full<Bytes>>> {
    let token = |t: &str| json!({"access_token": t, "expires_in": 3599, "token_type": "Bearer"});
    Some(match (method, path) {
        ("POST", "/oauth2/token") => {
            let f = form(body);
            if f.get("grant_type").map(String::as_str)
                == Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
            {
                let ok = f.get("assertion").is_some_and(|a| key_assertion_ok(a));
                return Some(if ok {
                    respond(200, token("gcp-test-token"))
                } else {
                    respond(
                        400,
                        json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
                    )
                });
            }
            match (
                f.get("grant_type").map(String::as_str),
                f.get("refresh_token").map(String::as_str),
            ) {
                (Some("refresh_token"), Some("revoked")) => respond(
                    400,
                    json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
                ),
                (Some("refresh_token"), Some("impersonator")) => {
                    respond(200, token("source-token"))
                }
                (Some("refresh_token"), Some(_)) => respond(200, token("gcp-test-token")),
                _ => respond(400, json!({"error": "unsupported_grant_type"})),
            }
        }
        ("POST", "/sts/v1/token") => {
            let f = form(body);
            if f.get("subject_token").map(String::as_str) == Some("federated-subject-token")
                && f.get("grant_type").map(String::as_str)
                    == Some("urn:ietf:params:oauth:grant-type:token-exchange")
            {
                respond(
                    200,
                    json!({"access_token": "gcp-test-token", "issued_token_type":
                    "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer", "expires_in": 3599}),
                )
            } else {
                respond(400, json!({"error": "invalid_grant"}))
            }
        }
        ("POST", p)
            if p == format!("/v1/projects/-/serviceAccounts/{SA_EMAIL}:generateAccessToken") =>
        {
            if auth == "Bearer source-token" {
                respond(
                    200,
                    json!({"accessToken": "gcp-test-token", "expireTime": "2099-01-01T00:00:00Z"}),
                )
            } else {
                respond(
                    403,
                    json!({"error": {"code": 403, "message": "Permission 'iam.serviceAccounts.getAccessToken' denied", "status": "PERMISSION_DENIED"}}),
                )
            }
        }
        ("GET", "/computeMetadata/v1/instance/service-accounts/default/token") if flavor => {
            respond(200, token("gcp-test-token"))
        }
        _ => return None,
    })
}

async fn handle(
    st: Arc<State>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    st.log
        .lock()
        .expect("log")
        .push((method.clone(), path.clone(), query.clone()));
    if let Some(project) = parts
        .headers
        .get("x-goog-user-project")
        .and_then(|v| v.to_str().ok())
    {
        st.quota
            .lock()
            .expect("quota")
            .push((path.clone(), project.to_string()));
    }
    let flavor = parts
        .headers
        .get("metadata-flavor")
        .is_some_and(|v| v == "Google");
    if let Some(r) = google_token_endpoint(&method, &path, &auth, flavor, &body) {
        return Ok(r);
    }
    // An App Service / Container Apps identity endpoint (`IDENTITY_ENDPOINT`), which wants
    // its `IDENTITY_HEADER` back and answers `expires_on` as a string of epoch seconds.
    if path == "/msi/token" {
        let header = parts
            .headers
            .get("x-identity-header")
            .and_then(|v| v.to_str().ok());
        return Ok(if header == Some("identity-header-canary") {
            let token = if query.contains("6dae42f8-4368-4678-94ff-3960e28e3630") {
                "aks-test-token"
            } else {
                "arm-test-token"
            };
            respond(
                200,
                json!({"access_token": token, "expires_on": "4070908800",
                "resource": "r", "token_type": "Bearer"}),
            )
        } else {
            respond(
                400,
                json!({"error": "invalid_request", "error_description": "no identity header"}),
            )
        });
    }
    Ok(if path.starts_with("/subscriptions") {
        azure(&st, &method, &path, &query, &auth)
    } else {
        gcp(&st, &method, &path, &query, &auth, &body)
    })
}

/// A runtime for a fake server and a listener on a free local port.
fn local_listener(workers: usize) -> (tokio::runtime::Runtime, tokio::net::TcpListener) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    (runtime, listener)
}

impl Fake {
    fn start(gke_apiserver: String, aks_apiserver: String) -> Fake {
        let (runtime, listener) = local_listener(2);
        let log = Arc::new(Mutex::new(Vec::new()));
        let quota = Arc::new(Mutex::new(Vec::new()));
        let st = Arc::new(State {
            gke_apiserver,
            aks_apiserver,
            base: Mutex::new(String::new()),
            log: log.clone(),
            quota: quota.clone(),
            throttled: Mutex::new(false),
        });
        let addr = listener.local_addr().expect("addr");
        *st.base.lock().expect("base") = format!("http://{addr}");
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
        Fake {
            addr,
            log,
            quota,
            _runtime: runtime,
        }
    }
}

fn essence(report: &Value, clusters: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let keep = |v: &Value| clusters.contains(&v["cluster"].as_str().unwrap_or(""));
    let findings = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| keep(f))
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
        .filter(|p| keep(p))
        .map(|p| {
            format!(
                "{} {} {} {}",
                p["cluster"], p["source"], p["target"], p["nodes"]
            )
        })
        .collect();
    (findings, paths)
}

/// The names of a report's clusters, in order.
fn cluster_names(report: &Value) -> Vec<&str> {
    report["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect()
}

fn run(args: &[&str]) -> Value {
    run_with_stderr(args).0
}

fn run_with_stderr(args: &[&str]) -> (Value, String) {
    let out = kspm_env(
        args,
        &[
            ("GOOGLE_OAUTH_ACCESS_TOKEN", "gcp-test-token"),
            ("AZURE_ACCESS_TOKEN", "arm-test-token"),
            ("AZURE_AKS_ACCESS_TOKEN", "aks-test-token"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    if args.first() == Some(&"collect") {
        return (Value::Null, stderr);
    }
    (serde_json::from_slice(&out.stdout).expect("json"), stderr)
}

#[test]
fn gcp_and_azure_discovery_scan_and_collect_against_fakes() {
    let gke = FakeApiServer::start(&repo().join("examples/demo-fleet/gke-staging-eu"));
    let aks = FakeApiServer::start(&repo().join("examples/demo-fleet/aks-payments-westeurope"));
    let fake = Fake::start(
        format!("http://{}", gke.addr),
        format!("http://{}", aks.addr),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let config = tmp.path().join("kspm.toml");
    let url = format!("http://{}", fake.addr);
    std::fs::write(&config, format!(
        "[gcp]\nprojects = [\"{PROJECT}\", \"broken-project\"]\ncontainer_endpoint = \"{url}\"\nresource_manager_endpoint = \"{url}\"\niam_endpoint = \"{url}\"\n\n[azure]\nsubscriptions = [\"{SUB}\"]\nendpoint = \"{url}\"\n"
    )).expect("config");
    let cfg = config.to_str().expect("utf8");
    // The demo fleet's image reports, which its offline scan reads from its `vulns/`.
    let vulns = repo().join("examples/demo-fleet/vulns");
    let vulns = vulns.to_str().expect("utf8");
    let (report, stderr) = run_with_stderr(&[
        "scan", "--gcp", "--azure", "--config", cfg, "-f", "json", "--vulns", vulns,
    ]);
    assert!(
        stderr.contains("discovered 2 cluster(s): 2 read in full")
            && stderr.contains("not reached: gcp://project broken-project"),
        "{stderr}"
    );

    let names = cluster_names(&report);
    assert_eq!(names, ["gke-staging-eu", "aks-payments-westeurope"]);
    for c in report["clusters"].as_array().expect("clusters") {
        assert!(c["objects"].as_u64().unwrap_or(0) > 90, "{c}");
    }
    let messages: Vec<String> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| format!("{} {}", e["file"], e["message"]))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("broken-project") && m.contains("Permission denied")),
        "{messages:?}"
    );
    // A service account whose policy grants nothing (`{"version": 1, "etag": "ACAB"}`) is read,
    // not reported as an unknown document; every service account's policy call is accepted.
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("not a recognised provider document")
                || m.contains("INVALID_ARGUMENT")
                || (m.contains("getIamPolicy") && !m.contains("broken-project"))),
        "{messages:?}"
    );

    let findings = report["findings"].as_array().expect("findings");
    let g008 = findings
        .iter()
        .find(|f| f["check"] == "KSPM-G-008" && f["resource"] == "GkeCluster:gke-staging-eu")
        .expect("GKE public endpoint");
    assert!(g008["controls"].to_string().contains("5.6.3"));
    let a002 = findings
        .iter()
        .find(|f| {
            f["check"] == "KSPM-A-002" && f["resource"] == "AksCluster:aks-payments-westeurope"
        })
        .expect("AKS local accounts");
    assert!(a002["controls"].to_string().contains("5.5.1"));
    let paths = report["attack_paths"].as_array().expect("paths");
    for (target, technique) in [
        (format!("CloudAdmin:gcp:{PROJECT}"), "GKE_WI_ASSUME"),
        (format!("CloudAdmin:azure:{SUB}"), "AKS_WI_ASSUME"),
    ] {
        let p = paths
            .iter()
            .find(|p| p["source"] == "Internet" && p["target"] == target.as_str())
            .unwrap_or_else(|| panic!("no path to {target}"));
        assert!(
            p["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .any(|s| s["technique"] == technique),
            "{p}"
        );
    }

    // The API servers were read with the clouds' tokens, GETs only.
    for (server, token) in [
        (&gke, "Bearer gcp-test-token"),
        (&aks, "Bearer aks-test-token"),
    ] {
        let log = server.log();
        assert!(log.len() > 20);
        assert!(
            log.iter()
                .all(|r| r.method == "GET" && r.authorization == token),
            "{:?}",
            log.first()
        );
    }
    // Only reads; pagination followed; throttling retried.
    let log = fake.log.lock().expect("log").clone();
    for (method, path, _) in &log {
        assert!(
            method == "GET"
                || path.ends_with(":getIamPolicy")
                || path.ends_with(":getAncestry")
                || path.ends_with("/listClusterUserCredential"),
            "not a read: {method} {path}"
        );
    }
    assert!(
        log.iter().any(|(_, _, q)| q.contains("skiptoken=2")),
        "nextLink followed"
    );
    assert!(
        log.iter().any(|(_, _, q)| q.contains("pageToken=p2")),
        "nextPageToken followed"
    );
    assert_eq!(
        log.iter()
            .filter(|(_, p, _)| p.ends_with("/roleAssignments"))
            .count(),
        2,
        "429 retried once"
    );

    // The same findings and paths as the offline scan of the CLI exports in the demo fleet ...
    let demo = run(&[
        "scan",
        repo().join("examples/demo-fleet").to_str().expect("utf8"),
        "-f",
        "json",
    ]);
    let both = ["gke-staging-eu", "aks-payments-westeurope"];
    assert_eq!(
        essence(&report, &both),
        essence(&demo, &both),
        "API-shaped and CLI-shaped data disagree"
    );
    // ... and as the offline scan of what `kspm collect` wrote.
    let out = tmp.path().join("fleet");
    run(&[
        "collect",
        "--gcp",
        "--azure",
        "--config",
        cfg,
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert!(out.join("gke-staging-eu/cloud/cluster.json").is_file());
    assert!(out
        .join(format!("cloud/gcp/{PROJECT}/project-iam-policy.json"))
        .is_file());
    assert!(out
        .join(format!("cloud/azure/{SUB}/role-assignments.json"))
        .is_file());
    for file in [
        format!("cloud/gcp/{PROJECT}/ancestry.json"),
        format!("cloud/gcp/folders/{FOLDER}.json"),
        format!("cloud/gcp/organizations/{ORG}.json"),
    ] {
        assert!(out.join(&file).is_file(), "{file}");
    }
    let offline = run(&[
        "scan",
        out.to_str().expect("utf8"),
        "-f",
        "json",
        "--vulns",
        vulns,
    ]);
    assert_eq!(
        essence(&report, &both),
        essence(&offline, &both),
        "the collected snapshot scans differently"
    );
    // The folder's binding, inherited by the project, reached the graph through discovery.
    assert!(
        report["attack_paths"]
            .as_array()
            .expect("paths")
            .iter()
            .any(
                |p| p["source"] == "GcpGroup:platform-admins@demo-staging.example"
                    && p["target"] == "ClusterAdmin"
                    && p["steps"]
                        .to_string()
                        .contains(&format!("folder {FOLDER} (above project {PROJECT})"))
            ),
        "inherited folder binding"
    );

    // Projects below a folder, at any depth, found through projects:search and each project's
    // ancestry: the project under another folder is not read, and one whose ancestry cannot be
    // read is a gap, not a guess.
    let below = tmp.path().join("below.toml");
    std::fs::write(&below, format!(
        "[gcp]\nfolders = [\"{FOLDER}\", \"staging\"]\ncontainer_endpoint = \"{url}\"\nresource_manager_endpoint = \"{url}\"\niam_endpoint = \"{url}\"\n"
    )).expect("config");
    fake.log.lock().expect("log").clear();
    let (report, stderr) = run_with_stderr(&[
        "scan",
        "--gcp",
        "--config",
        below.to_str().expect("utf8"),
        "-f",
        "json",
        "--vulns",
        vulns,
    ]);
    assert!(stderr.contains("discovered 1 cluster(s)"), "{stderr}");
    let names = cluster_names(&report);
    assert_eq!(names, ["gke-staging-eu"]);
    let log = fake.log.lock().expect("log").clone();
    assert!(
        log.iter()
            .any(|(_, p, _)| p == "/v1/projects/other-project:getAncestry"),
        "{log:?}"
    );
    assert!(
        !log.iter()
            .any(|(_, p, _)| p.contains("/projects/other-project/")
                || p.contains("old-project")
                || p.contains("999000999000")),
        "a project outside the folder was read: {log:?}"
    );
    assert_eq!(
        log.iter()
            .filter(|(_, p, _)| p == &format!("/v1/projects/{PROJECT}:getAncestry"))
            .count(),
        1,
        "the ancestry is asked once"
    );
    let errors = report["errors"].to_string();
    assert!(
        errors.contains("broken-project") && errors.contains("not scanned"),
        "{errors}"
    );
    assert!(errors.contains("is not a folder ID"), "{errors}");
}

/// A fresh RSA key for the run, and its PKCS#8 DER.
fn rsa_key() -> (aws_lc_rs::rsa::KeyPair, Vec<u8>) {
    use aws_lc_rs::encoding::AsDer;
    let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
    let der = key.as_der().expect("pkcs8").as_ref().to_vec();
    (key, der)
}

/// The public key of the service-account key of this run (the token endpoint verifies its
/// assertions with it).
static SA_PUBLIC_KEY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Whether a JWT bearer assertion (RFC 7523) is what a key of the service account signs for
/// Google's token endpoint: its key ID, the account, the cloud-platform scope, this endpoint,
/// a valid RS256 signature.
fn key_assertion_ok(jwt: &str) -> bool {
    let Some((h, c)) = SA_PUBLIC_KEY.get().and_then(|k| verified_jwt(jwt, k)) else {
        return false;
    };
    h["kid"] == "k1"
        && c["iss"] == SA_EMAIL
        && c["aud"]
            .as_str()
            .is_some_and(|a| a.ends_with("/oauth2/token"))
        && c["scope"] == "https://www.googleapis.com/auth/cloud-platform"
}

/// The header and claims of an RS256 JWT whose signature this RSA public key (PKCS#1 DER)
/// verifies and which has not expired.
fn verified_jwt(jwt: &str, public_key: &[u8]) -> Option<(Value, Value)> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return None;
    };
    let json = |p: &str| {
        b64.decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .unwrap_or(Value::Null)
    };
    let (h, c) = (json(header), json(claims));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        public_key,
    )
    .verify(
        format!("{header}.{claims}").as_bytes(),
        &b64.decode(signature).ok()?,
    )
    .ok()?;
    (h["alg"] == "RS256" && c["exp"].as_u64().is_some_and(|e| e > now)).then_some((h, c))
}

/// A fresh service-account key (PKCS#8 PEM), generated for the run; its public half is kept
/// for the token endpoint.
fn service_account_key_pem() -> String {
    use aws_lc_rs::signature::KeyPair;
    use base64::Engine;
    let (key, der) = rsa_key();
    let _ = SA_PUBLIC_KEY.set(key.public_key().as_ref().to_vec());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// Google's Application Default Credentials, every kind a user or a workload has, through
/// Google's own library against local token endpoints: gcloud's user login (in
/// `GOOGLE_APPLICATION_CREDENTIALS` and at gcloud's well-known path), a service-account key
/// (exchanged at its token endpoint with a signed assertion the endpoint verifies),
/// `--impersonate-service-account`, workload identity federation and the
/// metadata server. Each case discovers and reads the GKE cluster with the token it gets. A
/// refused login names its source and the fix, and no refresh token or key appears in any
/// output.
#[test]
fn google_application_default_credentials_of_every_kind() {
    let gke = FakeApiServer::start(&repo().join("examples/demo-fleet/gke-staging-eu"));
    let fake = Fake::start(
        format!("http://{}", gke.addr),
        format!("http://{}", gke.addr),
    );
    let url = format!("http://{}", fake.addr);
    let tmp = tempfile::tempdir().expect("tmp");
    let config = tmp.path().join("kspm.toml");
    std::fs::write(&config, format!(
        "[gcp]\nprojects = [\"{PROJECT}\"]\ncontainer_endpoint = \"{url}\"\nresource_manager_endpoint = \"{url}\"\niam_endpoint = \"{url}\"\nmetadata_endpoint = \"{url}\"\n"
    )).expect("config");
    let subject = tmp.path().join("subject-token");
    std::fs::write(&subject, "federated-subject-token").expect("subject");
    let user = |refresh: &str| {
        json!({"type": "authorized_user", "client_id": "client-id.apps.googleusercontent.com",
               "client_secret": "client-secret-canary", "refresh_token": refresh,
               "token_uri": format!("{url}/oauth2/token"), "quota_project_id": "billing-project"})
    };
    let key = service_account_key_pem();
    let cases = [
        ("user", user("refresh-token-canary")),
        (
            "key",
            json!({"type": "service_account", "project_id": PROJECT, "private_key_id": "k1",
                   "private_key": key, "client_email": SA_EMAIL, "client_id": "1",
                   "token_uri": format!("{url}/oauth2/token")}),
        ),
        (
            "impersonated",
            json!({"type": "impersonated_service_account",
                   "service_account_impersonation_url": format!("{url}/v1/projects/-/serviceAccounts/{SA_EMAIL}:generateAccessToken"),
                   "source_credentials": user("impersonator"), "delegates": []}),
        ),
        (
            "federated",
            json!({"type": "external_account",
                   "audience": "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ci/providers/github",
                   "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                   "token_url": format!("{url}/sts/v1/token"),
                   "credential_source": {"file": subject.to_str().expect("utf8")}}),
        ),
    ];
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let home = home.to_str().expect("utf8").to_string();
    let scan = |env: &[(&str, &str)]| {
        let mut env: Vec<(&str, &str)> = env.to_vec();
        env.push(("GOOGLE_OAUTH_ACCESS_TOKEN", ""));
        let out = kspm_env(
            &[
                "scan",
                "--gcp",
                "--config",
                config.to_str().expect("utf8"),
                "-f",
                "json",
            ],
            &env,
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        for canary in [
            "refresh-token-canary",
            "client-secret-canary",
            "PRIVATE KEY",
            "federated-subject-token",
        ] {
            assert!(
                !stdout.contains(canary) && !stderr.contains(canary),
                "{canary} leaked: {stderr}"
            );
        }
        (stdout, stderr)
    };
    for (name, doc) in &cases {
        let file = tmp.path().join(format!("{name}.json"));
        std::fs::write(&file, doc.to_string()).expect("adc");
        let (_, stderr) = scan(&[
            (
                "GOOGLE_APPLICATION_CREDENTIALS",
                file.to_str().expect("utf8"),
            ),
            ("HOME", &home),
        ]);
        assert!(
            stderr.contains("discovered 1 cluster(s): 1 read in full"),
            "{name}: {stderr}"
        );
    }
    // User credentials name their quota project on Google's APIs (never to the API server).
    let quota = fake.quota.lock().expect("quota").clone();
    assert!(
        quota
            .iter()
            .any(|(p, q)| p.ends_with("/clusters") && q == "billing-project"),
        "{quota:?}"
    );
    // The key was exchanged for an access token (the API server takes no self-signed JWT).
    assert!(!gke
        .log()
        .iter()
        .any(|r| self_signed_by(&r.authorization, SA_EMAIL)));
    let log = fake.log.lock().expect("log").clone();
    for path in [
        "/oauth2/token".to_string(),
        "/sts/v1/token".to_string(),
        format!("/v1/projects/-/serviceAccounts/{SA_EMAIL}:generateAccessToken"),
    ] {
        assert!(log.iter().any(|(_, p, _)| *p == path), "{path} not asked");
    }

    // gcloud's well-known file, then the metadata server when there is none.
    let gcloud = tmp.path().join("home/.config/gcloud");
    std::fs::create_dir_all(&gcloud).expect("gcloud dir");
    std::fs::write(
        gcloud.join("application_default_credentials.json"),
        user("refresh-token-canary").to_string(),
    )
    .expect("well-known");
    fake.log.lock().expect("log").clear();
    let (_, stderr) = scan(&[("HOME", &home)]);
    assert!(stderr.contains("1 read in full"), "well-known: {stderr}");
    assert!(fake
        .log
        .lock()
        .expect("log")
        .iter()
        .any(|(_, p, _)| p == "/oauth2/token"));
    std::fs::remove_file(gcloud.join("application_default_credentials.json")).expect("rm");
    let (_, stderr) = scan(&[("HOME", &home)]);
    assert!(
        stderr.contains("1 read in full"),
        "metadata server: {stderr}"
    );
    assert!(fake
        .log
        .lock()
        .expect("log")
        .iter()
        .any(|(_, p, _)| p == "/computeMetadata/v1/instance/service-accounts/default/token"));

    // A token the API server refuses (401) names its source and the fix.
    let user_file = tmp.path().join("user.json");
    gke.faults(|f| f.unauthorized = true);
    let (stdout, stderr) = scan(&[
        (
            "GOOGLE_APPLICATION_CREDENTIALS",
            user_file.to_str().expect("utf8"),
        ),
        ("HOME", &home),
    ]);
    gke.faults(|f| f.unauthorized = false);
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("cannot reach the API server: HTTP 401")
            && all.contains(&format!(
                "the token from user credentials (GOOGLE_APPLICATION_CREDENTIALS: {}) was refused: run `gcloud auth application-default login` again",
                user_file.display()
            )),
        "{all}"
    );

    // A revoked login: one line naming the credentials and the fix, nothing read.
    let revoked = tmp.path().join("revoked.json");
    std::fs::write(&revoked, user("revoked").to_string()).expect("revoked");
    let (stdout, stderr) = scan(&[
        (
            "GOOGLE_APPLICATION_CREDENTIALS",
            revoked.to_str().expect("utf8"),
        ),
        ("HOME", &home),
    ]);
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains(&format!(
            "user credentials (GOOGLE_APPLICATION_CREDENTIALS: {})",
            revoked.display()
        )) && all.contains("gcloud auth application-default login"),
        "{all}"
    );
}

/// A service principal's certificate as Entra ID knows it: the public key that verifies its
/// assertions and its SHA-1 thumbprint (`x5t`).
struct KnownCertificate {
    public_key: Vec<u8>,
    thumbprint: String,
}

/// Whether a client assertion is what Entra ID accepts for a certificate credential: a JWT
/// naming the certificate by thumbprint, for client `c1` and this token endpoint, not expired,
/// with a valid RS256 signature by the certificate's key.
fn certificate_assertion_ok(jwt: &str, known: &KnownCertificate, audience: &str) -> bool {
    let Some((h, c)) = verified_jwt(jwt, &known.public_key) else {
        return false;
    };
    h["x5t"] == known.thumbprint.as_str()
        && c["aud"] == audience
        && c["iss"] == "c1"
        && c["sub"] == "c1"
}

/// An Entra ID token endpoint over HTTPS (azure_identity refuses an `http` authority), with a
/// CA of its own: (authority URL, CA file). Client credentials with the secret
/// `client-secret-canary`, the federated assertion `projected-token-canary`, or an assertion
/// signed by the known certificate get `aks-test-token` for the AKS server application and
/// `arm-test-token` for ARM; anything else is refused as Entra refuses a wrong secret.
fn https_authority(
    dir: &std::path::Path,
    known: KnownCertificate,
) -> (String, std::path::PathBuf, tokio::runtime::Runtime) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use tokio_rustls::rustls;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("sign");
    let ca_file = dir.join("entra-ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("ca file");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("key der"),
        )
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let (runtime, listener) = local_listener(1);
    let port = listener.local_addr().expect("addr").port();
    let authority = format!("https://localhost:{port}");
    let audience = Arc::new(format!("{authority}/t1/oauth2/v2.0/token"));
    let known = Arc::new(known);
    runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let (known, audience) = (known.clone(), audience.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (known, audience) = (known.clone(), audience.clone());
                    async move {
                    let path = req.uri().path().to_string();
                    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let f = form(&body);
                    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
                    let allowed = get("grant_type") == "client_credentials"
                        && (get("client_secret") == "client-secret-canary"
                            || get("client_assertion") == "projected-token-canary"
                            || (get("client_assertion_type")
                                == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                                && certificate_assertion_ok(get("client_assertion"), &known, &audience)));
                    let token = if get("scope").starts_with("6dae42f8-4368-4678-94ff-3960e28e3630") {
                        "aks-test-token"
                    } else {
                        "arm-test-token"
                    };
                    Ok::<_, std::convert::Infallible>(if path.ends_with("/oauth2/v2.0/token") && allowed {
                        respond(200, json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}))
                    } else {
                        respond(401, json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215]}))
                    })
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (authority, ca_file, runtime)
}

/// Entra ID credentials as `DefaultAzureCredential` picks them, through Microsoft's
/// `azure_identity`: a service principal's client secret or certificate (an RS256 assertion the
/// authority verifies against the certificate), workload identity (the projected token) — all
/// against an HTTPS authority — and, with no managed identity answering, the
/// Azure CLI's login (an `az` on PATH). Each discovers the AKS cluster through ARM and reads its
/// API server with the AKS application's token. A wrong secret names the credential and the fix;
/// no secret or projected token appears in any output.
#[test]
fn azure_credentials_as_default_azure_credential_picks_them() {
    let aks = FakeApiServer::start(&repo().join("examples/demo-fleet/aks-payments-westeurope"));
    let fake = Fake::start(
        format!("http://{}", aks.addr),
        format!("http://{}", aks.addr),
    );
    let url = format!("http://{}", fake.addr);
    let tmp = tempfile::tempdir().expect("tmp");
    // The service principal's certificate: a PEM file with the certificate and its RSA key.
    let (rsa, pkcs8) = rsa_key();
    let cert_key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8),
        &rcgen::PKCS_RSA_SHA256,
    )
    .expect("rcgen key");
    let cert = rcgen::CertificateParams::new(vec!["kspm-collector".to_string()])
        .expect("params")
        .self_signed(&cert_key)
        .expect("certificate");
    let cert_file = tmp.path().join("kspm-collector.pem");
    std::fs::write(
        &cert_file,
        format!("{}{}", cert.pem(), cert_key.serialize_pem()),
    )
    .expect("pem");
    let known = KnownCertificate {
        public_key: {
            use aws_lc_rs::signature::KeyPair;
            rsa.public_key().as_ref().to_vec()
        },
        thumbprint: {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.der())
                    .as_ref(),
            )
        },
    };
    let (authority, ca_file, _authority_runtime) = https_authority(tmp.path(), known);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let no_imds = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let config = tmp.path().join("kspm.toml");
    std::fs::write(&config, format!(
        "[azure]\nsubscriptions = [\"{SUB}\"]\nendpoint = \"{url}\"\nimds_endpoint = \"{no_imds}\"\n"
    )).expect("config");
    let projected = tmp.path().join("projected-token");
    std::fs::write(&projected, "projected-token-canary").expect("token file");
    // An `az` that prints `az account get-access-token -o json` for the scope it is asked.
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let az = bin.join("az");
    std::fs::write(&az, "#!/bin/sh\ncase \"$*\" in\n  *6dae42f8-4368-4678-94ff-3960e28e3630*) t=aks-test-token ;;\n  *) t=arm-test-token ;;\nesac\nprintf '{\"accessToken\": \"%s\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": 4070908800, \"subscription\": \"00000000-0000-0000-0000-000000000000\", \"tenant\": \"t1\", \"tokenType\": \"Bearer\"}\\n' \"$t\"\n").expect("az");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let ca = ca_file.to_str().expect("utf8").to_string();
    let token_file = projected.to_str().expect("utf8").to_string();
    let scan = |env: &[(&str, &str)]| {
        let out = kspm_env(
            &[
                "scan",
                "--azure",
                "--config",
                config.to_str().expect("utf8"),
                "-f",
                "json",
            ],
            env,
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        for canary in [
            "client-secret-canary",
            "projected-token-canary",
            "wrong-secret-canary",
        ] {
            assert!(
                !stdout.contains(canary) && !stderr.contains(canary),
                "{canary} leaked: {stderr}"
            );
        }
        format!("{stdout}{stderr}")
    };
    let read = "discovered 1 cluster(s): 1 read in full";
    let common = [
        ("AZURE_TENANT_ID", "t1"),
        ("AZURE_CLIENT_ID", "c1"),
        ("AZURE_AUTHORITY_HOST", authority.as_str()),
        ("SSL_CERT_FILE", ca.as_str()),
    ];
    let with = |more: &[(&'static str, &str)]| {
        let mut env: Vec<(&str, &str)> = common.to_vec();
        env.extend_from_slice(more);
        scan(&env)
    };
    let secret = with(&[("AZURE_CLIENT_SECRET", "client-secret-canary")]);
    assert!(secret.contains(read), "client secret: {secret}");
    let workload = with(&[("AZURE_FEDERATED_TOKEN_FILE", token_file.as_str())]);
    assert!(workload.contains(read), "workload identity: {workload}");
    let cert_path = cert_file.to_str().expect("utf8").to_string();
    let certificate = with(&[("AZURE_CLIENT_CERTIFICATE_PATH", cert_path.as_str())]);
    assert!(
        certificate.contains(read),
        "client certificate: {certificate}"
    );
    assert!(!certificate.contains("PRIVATE KEY"), "{certificate}");
    let cli = scan(&[("PATH", path.as_str())]);
    assert!(cli.contains(read), "Azure CLI: {cli}");
    let msi = format!("{url}/msi/token");
    let platform = scan(&[
        ("IDENTITY_ENDPOINT", msi.as_str()),
        ("IDENTITY_HEADER", "identity-header-canary"),
    ]);
    assert!(
        platform.contains(read),
        "platform identity endpoint: {platform}"
    );
    assert!(!platform.contains("identity-header-canary"), "{platform}");
    assert!(fake
        .log
        .lock()
        .expect("log")
        .iter()
        .any(|(_, p, _)| p == "/msi/token"));
    // The API server was read with the AKS application's token every time.
    assert!(aks
        .log()
        .iter()
        .all(|r| r.authorization == "Bearer aks-test-token"));
    let wrong = with(&[("AZURE_CLIENT_SECRET", "wrong-secret-canary")]);
    assert!(
        wrong.contains("the client secret of c1 in tenant t1 (AZURE_CLIENT_SECRET)")
            && wrong.contains("AADSTS7000215")
            && wrong.contains("has not expired"),
        "{wrong}"
    );
}
