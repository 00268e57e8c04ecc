//! The live collector: reads one cluster through its API server, GET only, into the same
//! [`ClusterSnapshot`] the file collector produces — and, for `kspm collect`, into the snapshot
//! format on disk.
//!
//! API discovery decides what exists. Lists are paginated (`limit`/`continue`, relisting when a
//! continue token expires with 410), Secrets are listed as metadata only (their values are never
//! requested) with field selectors on `type` to learn the types that matter, kubelet settings
//! come from each node's `configz`. A kind the identity may not list (403) becomes a coverage gap:
//! the report lists it and the checks that needed it are "not assessable".

pub mod http;
pub mod rbac;
pub mod watch;

use self::http::{HttpError, Limits, ReadOnlyClient, METADATA_ONLY};
use kspm_engine::object::Source;
use kspm_engine::parse::{object_from_map, LoadError};
use kspm_engine::snapshot::{ClusterInfo, ClusterSnapshot, Provider};
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tracing::{debug, info, warn};

/// How to reach and read a cluster.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Kubeconfig file (default: `$KUBECONFIG` or `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    /// Context (default: the current context).
    pub context: Option<String>,
    /// Request pacing and timeouts.
    pub limits: Limits,
    /// Requests in flight at once across kinds.
    pub concurrency: usize,
    /// Objects per list page.
    pub page_size: u32,
    /// Skip `nodes/proxy/configz` (it needs `get` on `nodes/proxy`).
    pub skip_kubelet_config: bool,
}

/// A resource the engine reads.
#[derive(Debug, Clone)]
pub(crate) struct Wanted {
    pub(crate) group: &'static str,
    pub(crate) resource: &'static str,
    pub(crate) metadata_only: bool,
}

const fn w(group: &'static str, resource: &'static str) -> Wanted {
    Wanted {
        group,
        resource,
        metadata_only: false,
    }
}

/// Every kind the engine uses.
pub(crate) const WANTED: &[Wanted] = &[
    w("", "namespaces"),
    w("", "nodes"),
    w("", "pods"),
    w("", "services"),
    w("", "serviceaccounts"),
    w("", "configmaps"),
    w("", "limitranges"),
    w("", "resourcequotas"),
    w("", "replicationcontrollers"),
    Wanted {
        group: "",
        resource: "secrets",
        metadata_only: true,
    },
    w("apps", "deployments"),
    w("apps", "statefulsets"),
    w("apps", "daemonsets"),
    w("apps", "replicasets"),
    w("batch", "jobs"),
    w("batch", "cronjobs"),
    w("networking.k8s.io", "ingresses"),
    w("networking.k8s.io", "ingressclasses"),
    w("networking.k8s.io", "networkpolicies"),
    // Cilium's policies, evaluated beside NetworkPolicies (where Cilium is installed).
    w("cilium.io", "ciliumnetworkpolicies"),
    w("cilium.io", "ciliumclusterwidenetworkpolicies"),
    // Calico's policies, tiers and network sets, evaluated in Calico's order (where Calico is
    // installed; its CRD group, always served, not the optional aggregated projectcalico.org
    // API, which serves the same objects again).
    w("crd.projectcalico.org", "networkpolicies"),
    w("crd.projectcalico.org", "globalnetworkpolicies"),
    w("crd.projectcalico.org", "tiers"),
    w("crd.projectcalico.org", "networksets"),
    w("crd.projectcalico.org", "globalnetworksets"),
    // The policy API's cluster-wide policies, evaluated around NetworkPolicies.
    w("policy.networking.k8s.io", "adminnetworkpolicies"),
    w("policy.networking.k8s.io", "baselineadminnetworkpolicies"),
    w("discovery.k8s.io", "endpointslices"),
    w("rbac.authorization.k8s.io", "roles"),
    w("rbac.authorization.k8s.io", "clusterroles"),
    w("rbac.authorization.k8s.io", "rolebindings"),
    w("rbac.authorization.k8s.io", "clusterrolebindings"),
    w(
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
    w(
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    w(
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
    ),
    w(
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
    ),
    w("policy", "poddisruptionbudgets"),
    w("apiextensions.k8s.io", "customresourcedefinitions"),
    Wanted {
        group: "certificates.k8s.io",
        resource: "certificatesigningrequests",
        metadata_only: true,
    },
    w("gateway.networking.k8s.io", "gateways"),
    w("gateway.networking.k8s.io", "httproutes"),
    w("kyverno.io", "clusterpolicies"),
    w("kyverno.io", "policies"),
    w("templates.gatekeeper.sh", "constrainttemplates"),
];

/// Secret types worth knowing (learned with metadata-only lists and a `type` field selector).
const SECRET_TYPES: &[&str] = &[
    "kubernetes.io/service-account-token",
    "kubernetes.io/dockerconfigjson",
    "kubernetes.io/tls",
    "kubernetes.io/basic-auth",
    "kubernetes.io/ssh-auth",
    "bootstrap.kubernetes.io/token",
    "Opaque",
];

/// What a live collection read.
#[derive(Debug, Default)]
pub struct LiveCollection {
    /// The cluster, ready for the engine.
    pub snapshot: ClusterSnapshot,
    /// Raw items per resource (`deployments.apps`, ...), for `kspm collect`.
    pub raw: Vec<(String, Vec<Value>)>,
    /// `configz` per node.
    pub kubelet: Vec<(String, Value)>,
    /// The coverage gaps the API server refused to fill (403: the credentials may not list the
    /// kind, or read kubelet settings), each with its error — unlike a list that failed for
    /// another reason, which a retry (a watch) may fill.
    pub forbidden: Vec<(String, LoadError)>,
}

/// Why a cluster could not be read at all.
#[derive(Debug)]
pub struct CollectError(pub String);

impl std::fmt::Display for CollectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds a kube client from the kubeconfig and context.
pub async fn connect(opts: &LiveOptions) -> Result<(kube::Client, String), CollectError> {
    let kubeconfig = match &opts.kubeconfig {
        Some(p) => kube::config::Kubeconfig::read_from(p)
            .map_err(|e| CollectError(format!("{}: {e}", p.display())))?,
        None => kube::config::Kubeconfig::read()
            .map_err(|e| CollectError(format!("cannot read the kubeconfig: {e}")))?,
    };
    let context = opts
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .ok_or_else(|| {
            CollectError("no context given and the kubeconfig has no current-context".into())
        })?;
    let options = kube::config::KubeConfigOptions {
        context: Some(context.clone()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| CollectError(format!("context {context}: {e}")))?;
    let client = kube::Client::try_from(config)
        .map_err(|e| CollectError(format!("context {context}: {e}")))?;
    Ok((client, context))
}

pub(crate) struct Discovered {
    /// (group, version, resource, kind, namespaced)
    pub(crate) resources: Vec<(String, String, String, String, bool)>,
}

pub(crate) async fn discover(api: &ReadOnlyClient) -> Result<Discovered, HttpError> {
    let mut resources = Vec::new();
    let mut add = |group: &str, version: &str, list: &Value| {
        for r in list
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = r.get("name").and_then(Value::as_str).unwrap_or("");
            if name.contains('/') {
                continue;
            }
            resources.push((
                group.to_string(),
                version.to_string(),
                name.to_string(),
                r.get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                r.get("namespaced")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            ));
        }
    };
    let core = api.get_json("/api/v1", "application/json").await?;
    add("", "v1", &core);
    let groups = api.get_json("/apis", "application/json").await?;
    for g in groups
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = g.get("name").and_then(Value::as_str).unwrap_or("");
        if !WANTED.iter().any(|w| w.group == name) {
            continue;
        }
        let Some(version) = g
            .pointer("/preferredVersion/version")
            .and_then(Value::as_str)
        else {
            continue;
        };
        match api
            .get_json(&format!("/apis/{name}/{version}"), "application/json")
            .await
        {
            Ok(list) => add(name, version, &list),
            Err(e) => warn!(group = name, error = %e, "discovery of a group failed"),
        }
    }
    Ok(Discovered { resources })
}

pub(crate) fn list_path(group: &str, version: &str, resource: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}/{resource}")
    } else {
        format!("/apis/{group}/{version}/{resource}")
    }
}

/// Lists every item of a resource, page by page; relists when a continue token expires.
async fn list_all(
    api: &ReadOnlyClient,
    path: &str,
    accept: &str,
    page: u32,
    field_selector: Option<&str>,
) -> Result<Vec<Value>, HttpError> {
    list_all_rv(api, path, accept, page, field_selector)
        .await
        .map(|(items, _)| items)
}

/// [`list_all`] that also returns the list's resourceVersion (where a watch starts).
pub(crate) async fn list_all_rv(
    api: &ReadOnlyClient,
    path: &str,
    accept: &str,
    page: u32,
    field_selector: Option<&str>,
) -> Result<(Vec<Value>, String), HttpError> {
    let mut relists = 0;
    'relist: loop {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = format!("{path}?limit={page}");
            if let Some(fs) = field_selector {
                query.push_str(&format!("&fieldSelector={}", encode(fs)));
            }
            if let Some(t) = &token {
                query.push_str(&format!("&continue={}", encode(t)));
            }
            let list = match api.get_json(&query, accept).await {
                Ok(l) => l,
                // An expired continue token: the list changed too much; start over.
                Err(HttpError::Status(410, _)) if token.is_some() && relists < 3 => {
                    relists += 1;
                    debug!(path, "continue token expired, relisting");
                    continue 'relist;
                }
                Err(e) => return Err(e),
            };
            if let Some(arr) = list.get("items").and_then(Value::as_array) {
                items.extend(arr.iter().cloned());
            }
            token = list
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                let rv = list
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                return Ok((items, rv));
            }
        }
    }
}

/// Percent-encodes a query value.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The managed platform a cluster runs on, judged from its nodes (providerID and labels).
pub fn detect_provider(nodes: &[Value]) -> Provider {
    for n in nodes {
        let provider_id = n
            .pointer("/spec/providerID")
            .and_then(Value::as_str)
            .unwrap_or("");
        let labels = n.pointer("/metadata/labels").and_then(Value::as_object);
        let has = |prefix: &str| labels.is_some_and(|l| l.keys().any(|k| k.starts_with(prefix)));
        if provider_id.starts_with("aws://") && has("eks.amazonaws.com/") {
            return Provider::Eks;
        }
        if provider_id.starts_with("gce://") && has("cloud.google.com/gke") {
            return Provider::Gke;
        }
        if provider_id.starts_with("azure://") && has("kubernetes.azure.com/") {
            return Provider::Aks;
        }
    }
    Provider::Generic
}

/// Reads the cluster behind `client`.
pub async fn collect_with(
    client: kube::Client,
    name: &str,
    opts: &LiveOptions,
) -> Result<LiveCollection, CollectError> {
    let api = Arc::new(ReadOnlyClient::new(client, opts.limits));
    let page = opts.page_size.max(1);
    let version = api
        .get_json("/version", "application/json")
        .await
        .map_err(|e| CollectError(format!("cluster {name}: cannot reach the API server: {e}")))?;
    let discovered = discover(&api)
        .await
        .map_err(|e| CollectError(format!("cluster {name}: discovery failed: {e}")))?;
    let mut collection = LiveCollection::default();
    let origin = format!("api://{name}");
    let mut errors = Vec::new();
    let mut gaps: Vec<String> = Vec::new();
    // One task per wanted resource that exists, bounded.
    let semaphore = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (idx, want) in WANTED.iter().enumerate() {
        let Some((group, version, resource, kind, _)) = discovered
            .resources
            .iter()
            .find(|r| r.0 == want.group && r.2 == want.resource)
            .cloned()
        else {
            continue;
        };
        let api = Arc::clone(&api);
        let sem = Arc::clone(&semaphore);
        let metadata_only = want.metadata_only;
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let path = list_path(&group, &version, &resource);
            let accept = if metadata_only {
                METADATA_ONLY
            } else {
                "application/json"
            };
            let mut result = list_all(&api, &path, accept, page, None).await;
            // Metadata-only Secrets: learn the types that matter through field selectors.
            if resource == "secrets" {
                if let Ok(items) = &mut result {
                    for ty in SECRET_TYPES {
                        if let Ok(typed) = list_all(
                            &api,
                            &path,
                            METADATA_ONLY,
                            page,
                            Some(&format!("type={ty}")),
                        )
                        .await
                        {
                            let names: std::collections::HashSet<(String, String)> =
                                typed.iter().filter_map(meta_key).collect();
                            for it in items.iter_mut() {
                                if meta_key(it).is_some_and(|k| names.contains(&k)) {
                                    it["type"] = json!(ty);
                                }
                            }
                        }
                    }
                }
            }
            (idx, group, version, resource, kind, path, result)
        });
    }
    let mut results = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(r) => results.push(r),
            Err(e) => errors.push(LoadError {
                file: origin.clone(),
                line: None,
                column: None,
                message: format!("internal error while listing: {e}"),
            }),
        }
    }
    results.sort_by_key(|r| r.0);
    let mut nodes = Vec::new();
    for (_, group, version, resource, kind, path, result) in results {
        let api_version = if group.is_empty() {
            version.clone()
        } else {
            format!("{group}/{version}")
        };
        match result {
            Ok(items) => {
                let mut raw = Vec::with_capacity(items.len());
                for mut item in items {
                    if let Value::Object(m) = &mut item {
                        m.insert("apiVersion".into(), json!(api_version));
                        m.insert("kind".into(), json!(kind));
                        // Metadata-only answers carry nothing else; make sure no value field
                        // exists, and drop the annotation kubectl copies the values into.
                        if resource == "secrets" {
                            m.remove("data");
                            m.remove("stringData");
                            if let Some(Value::Object(ann)) = m
                                .get_mut("metadata")
                                .and_then(|md| md.get_mut("annotations"))
                            {
                                ann.remove(kspm_engine::parse::LAST_APPLIED_ANNOTATION);
                            }
                        }
                    }
                    if resource == "nodes" {
                        nodes.push(item.clone());
                    }
                    let Value::Object(map) = item.clone() else {
                        continue;
                    };
                    match object_from_map(
                        map,
                        Source {
                            file: format!("{origin}{path}"),
                            line: None,
                        },
                    ) {
                        Ok(o) => collection.snapshot.objects.push(o),
                        Err(m) => errors.push(LoadError {
                            file: format!("{origin}{path}"),
                            line: None,
                            column: None,
                            message: m,
                        }),
                    }
                    raw.push(item);
                }
                let stem = if group.is_empty() {
                    resource.clone()
                } else {
                    format!("{resource}.{group}")
                };
                collection.raw.push((stem, raw));
            }
            Err(HttpError::Status(403, msg)) => {
                gaps.push(kind.clone());
                let error = LoadError {
                    file: format!("{origin}{path}"),
                    line: None,
                    column: None,
                    message: format!("forbidden to list {resource}: checks that need {kind} are not assessable ({msg})"),
                };
                collection.forbidden.push((kind.clone(), error.clone()));
                errors.push(error);
            }
            Err(e) => {
                gaps.push(kind.clone());
                errors.push(LoadError {
                    file: format!("{origin}{path}"),
                    line: None,
                    column: None,
                    message: format!("cannot list {resource}: {e}"),
                });
            }
        }
    }
    if !opts.skip_kubelet_config {
        let mut forbidden = false;
        for n in &nodes {
            let Some(node) = n.pointer("/metadata/name").and_then(Value::as_str) else {
                continue;
            };
            let path = format!("/api/v1/nodes/{node}/proxy/configz");
            match api.get_json(&path, "application/json").await {
                Ok(v) => {
                    let config = v.get("kubeletconfig").cloned().unwrap_or(v);
                    let mut body = Map::new();
                    body.insert("apiVersion".into(), json!("kubelet.config.k8s.io/v1beta1"));
                    body.insert("kind".into(), json!("KubeletConfiguration"));
                    body.insert("metadata".into(), json!({"name": node}));
                    body.insert("config".into(), config.clone());
                    if let Ok(o) = object_from_map(
                        body,
                        Source {
                            file: format!("{origin}{path}"),
                            line: None,
                        },
                    ) {
                        collection.snapshot.objects.push(o);
                    }
                    collection
                        .kubelet
                        .push((node.to_string(), json!({"kubeletconfig": config})));
                }
                Err(HttpError::Status(403, _)) => {
                    forbidden = true;
                    break;
                }
                // Virtual nodes (Fargate, virtual-kubelet) have no kubelet configz.
                Err(HttpError::Status(404, _)) => debug!(node, "no kubelet configz"),
                Err(e) => errors.push(LoadError {
                    file: format!("{origin}{path}"),
                    line: None,
                    column: None,
                    message: format!("cannot read kubelet configz: {e}"),
                }),
            }
        }
        if forbidden {
            gaps.push("KubeletConfiguration".into());
            let error = LoadError {
                file: format!("{origin}/api/v1/nodes/*/proxy/configz"),
                line: None,
                column: None,
                message:
                    "forbidden to get nodes/proxy: kubelet checks (CIS 4.2.x) are not assessable"
                        .into(),
            };
            collection
                .forbidden
                .push(("KubeletConfiguration".into(), error.clone()));
            errors.push(error);
        }
    }
    let version_str = version
        .get("gitVersion")
        .and_then(Value::as_str)
        .map(str::to_string);
    collection.snapshot.info = ClusterInfo {
        name: name.to_string(),
        provider: detect_provider(&nodes),
        kubernetes_version: version_str,
        ..Default::default()
    };
    collection.snapshot.origin = origin;
    collection.snapshot.errors = errors;
    collection.snapshot.coverage_gaps = gaps;
    info!(
        cluster = name,
        objects = collection.snapshot.objects.len(),
        gaps = collection.snapshot.coverage_gaps.len(),
        "collected"
    );
    Ok(collection)
}

fn meta_key(v: &Value) -> Option<(String, String)> {
    Some((
        v.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        v.pointer("/metadata/name")?.as_str()?.to_string(),
    ))
}

/// Connects with the options and reads the cluster; the cluster is named after the context.
pub async fn collect(opts: &LiveOptions) -> Result<LiveCollection, CollectError> {
    let (client, context) = connect(opts).await?;
    collect_with(client, &context, opts).await
}

/// Writes a collection in the snapshot format: `kspm-cluster.yaml`, one JSON List per
/// resource, `kubelet/<node>.json`. With `redact`, every object goes through
/// `kspm_engine::redact` first (values no check needs are replaced; the findings stay the same).
pub fn write_snapshot(
    c: &LiveCollection,
    dir: &std::path::Path,
    redact: bool,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let info = &c.snapshot.info;
    let mut meta = format!(
        "apiVersion: kspm.io/v1\nkind: ClusterInfo\nname: {:?}\nprovider: {}\n",
        info.name,
        info.provider.as_str()
    );
    if let Some(v) = &info.kubernetes_version {
        meta.push_str(&format!("kubernetesVersion: {v:?}\n"));
    }
    std::fs::write(dir.join("kspm-cluster.yaml"), meta)?;
    for (stem, items) in &c.raw {
        let mut list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
        if redact {
            kspm_engine::redact::redact_object(&mut list);
        }
        std::fs::write(
            dir.join(format!("{stem}.json")),
            serde_json::to_vec_pretty(&list).map_err(std::io::Error::other)?,
        )?;
    }
    if !c.kubelet.is_empty() {
        std::fs::create_dir_all(dir.join("kubelet"))?;
        for (node, v) in &c.kubelet {
            std::fs::write(
                dir.join("kubelet").join(format!("{node}.json")),
                serde_json::to_vec_pretty(v).map_err(std::io::Error::other)?,
            )?;
        }
    }
    Ok(())
}
