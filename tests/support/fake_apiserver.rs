//! A fake Kubernetes API server for the live-collector tests: it serves a snapshot directory
//! with the API's semantics — discovery, `/version`, lists with `limit`/`continue`, metadata-only
//! answers (`as=PartialObjectMetadataList`), `type` field selectors on Secrets, kubelet `configz`
//! through `nodes/proxy` — plus injected faults (403 per resource, 429/500 once, an expired
//! continue token) and a log of every request. Unlike kspm's loader it keeps Secret values, so a
//! test can prove the collector never asks for them.
#![allow(dead_code)]

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Frame};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::mpsc;

type Body = BoxBody<Bytes, Infallible>;

/// A streaming body fed by a channel (`None` ends the stream).
struct ChannelBody(mpsc::UnboundedReceiver<Option<Bytes>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.0.poll_recv(cx) {
            Poll::Ready(Some(Some(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(_) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: String,
    pub accept: String,
    pub authorization: String,
}

/// Faults to inject.
#[derive(Debug, Default)]
pub struct Faults {
    /// Resources (plural) answered with 403.
    pub forbidden: HashSet<String>,
    /// Resource → statuses to answer before succeeding (429 comes with `Retry-After: 0`).
    pub fail_first: HashMap<String, Vec<u16>>,
    /// Answer the first request carrying a continue token with 410.
    pub expire_continue_once: bool,
    /// Answer the next watch with an ERROR 410 event ("resourceVersion too old").
    pub expire_next_watch: bool,
    /// Refuse every request's token with 401, as an API server refuses one it cannot
    /// authenticate.
    pub unauthorized: bool,
}

struct Kind {
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    kind: &'static str,
    namespaced: bool,
}

const fn k(
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> Kind {
    Kind {
        group,
        version,
        resource,
        kind,
        namespaced,
    }
}

const KINDS: &[Kind] = &[
    k("", "v1", "namespaces", "Namespace", false),
    k("", "v1", "nodes", "Node", false),
    k("", "v1", "pods", "Pod", true),
    k("", "v1", "services", "Service", true),
    k("", "v1", "serviceaccounts", "ServiceAccount", true),
    k("", "v1", "configmaps", "ConfigMap", true),
    k("", "v1", "secrets", "Secret", true),
    k("", "v1", "limitranges", "LimitRange", true),
    k("", "v1", "resourcequotas", "ResourceQuota", true),
    k(
        "",
        "v1",
        "replicationcontrollers",
        "ReplicationController",
        true,
    ),
    k("apps", "v1", "deployments", "Deployment", true),
    k("apps", "v1", "statefulsets", "StatefulSet", true),
    k("apps", "v1", "daemonsets", "DaemonSet", true),
    k("apps", "v1", "replicasets", "ReplicaSet", true),
    k("batch", "v1", "jobs", "Job", true),
    k("batch", "v1", "cronjobs", "CronJob", true),
    k("networking.k8s.io", "v1", "ingresses", "Ingress", true),
    k(
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "IngressClass",
        false,
    ),
    k(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
    ),
    k(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "EndpointSlice",
        true,
    ),
    k("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
        false,
    ),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
        true,
    ),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
    ),
    k(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        false,
    ),
    k(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        false,
    ),
    k(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        true,
    ),
    k(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
    ),
    k(
        "certificates.k8s.io",
        "v1",
        "certificatesigningrequests",
        "CertificateSigningRequest",
        false,
    ),
];

struct State {
    objects: Mutex<Vec<Value>>,
    /// Watch events so far: (resourceVersion, resource, JSON line).
    events: Mutex<Vec<(u64, String, Bytes)>>,
    watchers: Mutex<Vec<(String, mpsc::UnboundedSender<Option<Bytes>>)>>,
    rv: AtomicU64,
    kubelet: BTreeMap<String, Value>,
    version: String,
    log: Mutex<Vec<Logged>>,
    faults: Mutex<Faults>,
}

/// A running fake API server.
pub struct FakeApiServer {
    pub addr: SocketAddr,
    state: Arc<State>,
    _runtime: tokio::runtime::Runtime,
}

fn read_raw(dir: &Path, out: &mut Vec<Value>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if name.starts_with('.') || name.starts_with("kspm-cluster") {
            continue;
        }
        if p.is_dir() {
            if name != "kubelet" && name != "cloud" {
                read_raw(&p, out);
            }
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let docs: Vec<Value> = if name.ends_with(".json") {
            serde_json::from_str(&text).into_iter().collect()
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            kspm_engine::parse::yaml_documents(&text)
                .filter_map(|d| kspm_engine::yaml::value(&d).ok())
                .collect()
        } else {
            continue;
        };
        for d in docs {
            match d.get("items").and_then(Value::as_array) {
                Some(items)
                    if d.get("kind")
                        .and_then(Value::as_str)
                        .is_some_and(|k| k.ends_with("List")) =>
                {
                    out.extend(items.iter().cloned())
                }
                _ if d.is_object() => out.push(d),
                _ => {}
            }
        }
    }
}

impl FakeApiServer {
    /// Serves the cluster snapshot in `dir` on 127.0.0.1 (a free port).
    pub fn start(dir: &Path) -> FakeApiServer {
        let mut objects = Vec::new();
        read_raw(dir, &mut objects);
        let mut kubelet = BTreeMap::new();
        for e in std::fs::read_dir(dir.join("kubelet"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let p = e.path();
            if let (Some(stem), Ok(text)) = (
                p.file_stem().and_then(|s| s.to_str()),
                std::fs::read_to_string(&p),
            ) {
                if let Ok(v) = serde_json::from_str(&text) {
                    kubelet.insert(stem.to_string(), v);
                }
            }
        }
        let version = std::fs::read_to_string(dir.join("kspm-cluster.yaml"))
            .ok()
            .and_then(|t| kspm_engine::yaml::value(&t).ok())
            .and_then(|v| {
                v.get("kubernetesVersion")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "1.33".into());
        let state = Arc::new(State {
            objects: Mutex::new(objects),
            events: Mutex::new(Vec::new()),
            watchers: Mutex::new(Vec::new()),
            rv: AtomicU64::new(1000),
            kubelet,
            version,
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let st = Arc::clone(&state);
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let st = Arc::clone(&st);
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let st = Arc::clone(&st);
                        async move { Ok::<_, Infallible>(handle(&st, req)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        FakeApiServer {
            addr,
            state,
            _runtime: runtime,
        }
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Logged> {
        self.state.log.lock().expect("log").clone()
    }

    /// The object held of `kind` named `name` (in namespace `namespace`).
    pub fn stored(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let objects = self.state.objects.lock().expect("objects");
        objects
            .iter()
            .find(|o| {
                o.get("kind").and_then(Value::as_str) == Some(kind)
                    && o.pointer("/metadata/namespace").and_then(Value::as_str) == namespace
                    && o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
            })
            .cloned()
    }

    /// Applies a watch event (`ADDED`, `MODIFIED`, `DELETED`) to the store and to every open
    /// watch of `resource`; watches opened later from an older resourceVersion replay it.
    pub fn emit(&self, resource: &str, event: &str, mut object: Value) {
        let rv = self.state.rv.fetch_add(1, Ordering::SeqCst) + 1;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let kind = KINDS
            .iter()
            .find(|k| k.resource == resource)
            .map(|k| k.kind)
            .unwrap_or("");
        let key = |o: &Value| {
            (
                o.pointer("/metadata/namespace").cloned(),
                o.pointer("/metadata/name").cloned(),
            )
        };
        {
            let mut objects = self.state.objects.lock().expect("objects");
            objects.retain(|o| {
                !(o.get("kind").and_then(Value::as_str) == Some(kind) && key(o) == key(&object))
            });
            if event != "DELETED" {
                let mut stored = object.clone();
                stored["kind"] = json!(kind);
                objects.push(stored);
            }
        }
        let mut line =
            serde_json::to_vec(&json!({"type": event, "object": object})).unwrap_or_default();
        line.push(b'\n');
        let line = Bytes::from(line);
        self.state
            .events
            .lock()
            .expect("events")
            .push((rv, resource.to_string(), line.clone()));
        self.state
            .watchers
            .lock()
            .expect("watchers")
            .retain(|(r, tx)| r != resource || tx.send(Some(line.clone())).is_ok());
    }

    /// Drops every open watch connection (the client must resume from its resourceVersion).
    pub fn close_watches(&self) {
        for (_, tx) in self.state.watchers.lock().expect("watchers").drain(..) {
            let _ = tx.send(None);
        }
    }

    /// Open watches.
    pub fn open_watches(&self) -> usize {
        self.state
            .watchers
            .lock()
            .expect("watchers")
            .iter()
            .filter(|(_, tx)| !tx.is_closed())
            .count()
    }

    /// Changes the injected faults.
    pub fn faults(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.state.faults.lock().expect("faults"));
    }

    /// A kubeconfig file pointing at this server, with `context` as its current context.
    pub fn kubeconfig(&self, dir: &Path, context: &str) -> std::path::PathBuf {
        let path = dir.join(format!("kubeconfig-{context}"));
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\ncontexts:\n- name: {context}\n  context:\n    cluster: fake\n    user: reader\nusers:\n- name: reader\n  user:\n    token: kspm-test-token\ncurrent-context: {context}\n",
            self.addr
        );
        std::fs::write(&path, text).expect("kubeconfig");
        path
    }
}

fn json_response(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap_or_default())).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

fn status(code: u16, reason: &str, message: &str) -> Response<Body> {
    let mut r = json_response(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "message": message, "code": code}),
    );
    if code == 429 {
        r.headers_mut()
            .insert("retry-after", http::HeaderValue::from_static("0"));
    }
    r
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn handle(st: &State, req: Request<hyper::body::Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let accept = req
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let authorization = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    st.log.lock().expect("log").push(Logged {
        method: req.method().to_string(),
        path: path.clone(),
        query: query.clone(),
        accept: accept.clone(),
        authorization,
    });
    if req.method() != http::Method::GET {
        return status(405, "MethodNotAllowed", "the fake API server is read-only");
    }
    if st.faults.lock().expect("faults").unauthorized {
        return status(401, "Unauthorized", "Unauthorized");
    }
    if path == "/version" {
        return json_response(
            200,
            &json!({"major": "1", "minor": st.version.trim_start_matches("1."), "gitVersion": format!("v{}.0", st.version)}),
        );
    }
    if path == "/api" {
        return json_response(200, &json!({"kind": "APIVersions", "versions": ["v1"]}));
    }
    if path == "/apis" {
        let mut groups: Vec<&str> = KINDS
            .iter()
            .map(|k| k.group)
            .filter(|g| !g.is_empty())
            .collect();
        groups.dedup();
        let groups: Vec<Value> = groups
            .iter()
            .map(|g| json!({"name": g, "versions": [{"groupVersion": format!("{g}/v1"), "version": "v1"}], "preferredVersion": {"groupVersion": format!("{g}/v1"), "version": "v1"}}))
            .collect();
        return json_response(200, &json!({"kind": "APIGroupList", "groups": groups}));
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // Discovery of one group version.
    let (group, version, rest) = match parts.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return status(404, "NotFound", "no such path"),
    };
    if rest.is_empty() {
        let resources: Vec<Value> = KINDS
            .iter()
            .filter(|k| k.group == group && k.version == version)
            .map(|k| json!({"name": k.resource, "kind": k.kind, "namespaced": k.namespaced, "verbs": ["get", "list", "watch"]}))
            .collect();
        return json_response(
            200,
            &json!({"kind": "APIResourceList", "groupVersion": if group.is_empty() { version.to_string() } else { format!("{group}/{version}") }, "resources": resources}),
        );
    }
    // Kubelet configz through the node proxy.
    if let ["nodes", node, "proxy", "configz"] = rest {
        if st
            .faults
            .lock()
            .expect("faults")
            .forbidden
            .contains("nodes/proxy")
        {
            return status(403, "Forbidden", "nodes/proxy is forbidden");
        }
        return match st.kubelet.get(*node) {
            Some(v) => json_response(200, v),
            None => status(404, "NotFound", "no configz"),
        };
    }
    let [resource] = rest else {
        return status(404, "NotFound", "not served");
    };
    let Some(kind) = KINDS
        .iter()
        .find(|k| k.group == group && k.resource == *resource)
    else {
        return status(404, "NotFound", "unknown resource");
    };
    {
        let mut f = st.faults.lock().expect("faults");
        if f.forbidden.contains(*resource) {
            return status(
                403,
                "Forbidden",
                &format!(
                    "{resource} is forbidden: User \"reader\" cannot list resource \"{resource}\""
                ),
            );
        }
        if let Some(codes) = f.fail_first.get_mut(*resource) {
            if !codes.is_empty() {
                let code = codes.remove(0);
                return status(
                    code,
                    if code == 429 {
                        "TooManyRequests"
                    } else {
                        "InternalError"
                    },
                    "injected fault",
                );
            }
        }
        if f.expire_continue_once && query_param(&query, "continue").is_some() {
            f.expire_continue_once = false;
            return status(410, "Expired", "The provided continue parameter is too old");
        }
    }
    if query_param(&query, "watch").as_deref() == Some("1") {
        let (tx, rx) = mpsc::unbounded_channel();
        if std::mem::take(&mut st.faults.lock().expect("faults").expire_next_watch) {
            let mut line = serde_json::to_vec(&json!({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}})).unwrap_or_default();
            line.push(b'\n');
            let _ = tx.send(Some(Bytes::from(line)));
            let _ = tx.send(None);
        } else {
            let since: u64 = query_param(&query, "resourceVersion")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            // Replay what happened since the client's resourceVersion, then go live.
            let events = st.events.lock().expect("events");
            for (rv, r, line) in events.iter() {
                if *rv > since && r == resource {
                    let _ = tx.send(Some(line.clone()));
                }
            }
            st.watchers
                .lock()
                .expect("watchers")
                .push((resource.to_string(), tx));
        }
        return Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(ChannelBody(rx).boxed())
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()));
    }
    let metadata_only = accept.contains("as=PartialObjectMetadataList");
    let type_filter = query_param(&query, "fieldSelector")
        .and_then(|fs| fs.strip_prefix("type=").map(str::to_string));
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let objects = st.objects.lock().expect("objects").clone();
    let mut items: Vec<Value> = objects
        .iter()
        .filter(|o| o.get("kind").and_then(Value::as_str) == Some(kind.kind))
        .filter(|o| {
            type_filter
                .as_deref()
                .is_none_or(|t| o.get("type").and_then(Value::as_str).unwrap_or("Opaque") == t)
        })
        .cloned()
        .collect();
    let limit: usize = query_param(&query, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX);
    let offset: usize = query_param(&query, "continue")
        .and_then(|c| c.strip_prefix("o:").and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    let page: Vec<Value> = items.drain(offset.min(items.len())..).take(limit).collect();
    let next = offset + page.len();
    let more = next
        < objects
            .iter()
            .filter(|o| o.get("kind").and_then(Value::as_str) == Some(kind.kind))
            .count()
        && page.len() == limit;
    let page: Vec<Value> = page
        .into_iter()
        .map(|mut o| {
            if metadata_only {
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata").cloned().unwrap_or(json!({}))})
            } else {
                // Typed lists from the API omit kind/apiVersion on their items.
                if let Some(m) = o.as_object_mut() {
                    m.remove("kind");
                    m.remove("apiVersion");
                }
                o
            }
        })
        .collect();
    let list_kind = if metadata_only {
        "PartialObjectMetadataList".to_string()
    } else {
        format!("{}List", kind.kind)
    };
    let list_api = if metadata_only {
        "meta.k8s.io/v1".to_string()
    } else {
        api_version
    };
    let mut meta = json!({"resourceVersion": st.rv.load(Ordering::SeqCst).to_string()});
    if more && type_filter.is_none() {
        meta["continue"] = json!(format!("o:{next}"));
    }
    json_response(
        200,
        &json!({"kind": list_kind, "apiVersion": list_api, "metadata": meta, "items": page}),
    )
}
