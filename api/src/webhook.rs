//! Validating admission: an `admission.k8s.io/v1` AdmissionReview answered with the findings
//! and attack paths the change would introduce into the cluster as kspm holds it (the watched
//! state of `kspm serve`, or a snapshot). The change is previewed on the incremental engine
//! ([`Incremental::preview`]) and never kept: the watches bring it in once the API server has
//! stored it.
//!
//! Per target, a [`Policy`] says what an answer does with what it finds at or above its
//! severity: `warn` (allowed, with admission warnings), `audit` (allowed, with audit
//! annotations) or `deny` (refused, the message naming the path). Whatever kspm cannot judge is
//! allowed (fail open, with a warning saying why); excluded namespaces are allowed without
//! evaluation; kspm's own namespace is never refused. A request that is not an AdmissionReview
//! is a [`ReviewError`] (HTTP 400), never a crash, and no value of it is echoed (it may hold
//! anything, Secret values included).

use kspm_engine::graph::paths::AttackPath;
use kspm_engine::incremental::{key_of, reference, Delta, Incremental, Key};
use kspm_engine::object::{Object, Source};
use kspm_engine::parse::object_from_map;
use kspm_engine::policy_export::{namespaces_by_name, resource_rules};
use kspm_engine::{Finding, Severity};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The AdmissionReview version kspm answers (the one `kspm admission-config` registers).
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// Largest review body read (an object and its old version, each at most the API server's
/// 3 MiB request limit, with room to spare).
pub const MAX_REVIEW_BYTES: usize = 8 * 1024 * 1024;

/// Admission warnings per answer (the API server may drop the rest of a long list).
const MAX_WARNINGS: usize = 10;

/// Characters per warning: the API server truncates longer ones.
const MAX_WARNING_CHARS: usize = 256;

/// What an answer does with the findings and paths a change introduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Allowed, with admission warnings (`kubectl` prints them).
    #[default]
    Warn,
    /// Allowed, with audit annotations (the API server's audit log records them).
    Audit,
    /// Refused when something is at or above the severity; the message names it.
    Deny,
}

/// `[tenant.target.admission]`: how a target's reviews are answered.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// `warn` (default), `audit` or `deny`.
    #[serde(default)]
    pub mode: Mode,
    /// Findings and paths at or above this severity are reported or refused (default `high`).
    #[serde(default = "default_severity")]
    pub severity: Severity,
    /// Namespaces whose objects are allowed without evaluation (cluster-scoped objects are
    /// always evaluated). `kspm admission-config` also leaves them out of the webhook's
    /// `namespaceSelector`, so the API server does not send them.
    #[serde(default)]
    pub exclude_namespaces: Vec<String>,
    /// SHA-256 (hex) of the key in the webhook's path: the API server's configuration holds the
    /// key, kspm only its hash. A review on another path is refused (HTTP 403).
    pub key_sha256: String,
}

fn default_severity() -> Severity {
    Severity::High
}

/// A request that is not an AdmissionReview kspm can answer: HTTP 400 with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewError(pub String);

impl std::fmt::Display for ReviewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One admission request, as kspm reads it.
#[derive(Debug)]
pub struct Request {
    /// The request's UID, echoed in the answer.
    pub uid: String,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    pub operation: String,
    /// The object's namespace (`""` for a cluster-scoped object).
    pub namespace: String,
    /// The subresource, if any (`""` for the object itself).
    pub sub_resource: String,
    /// Whether the API server will not persist the change (it is answered all the same: an
    /// answer has no side effects).
    pub dry_run: bool,
    /// The object's key as a watched cluster holds it: (`resource` or `resource.group`,
    /// namespace, name), as the watches list it.
    pub key: Key,
    /// Its key as a snapshot holds it: (kind, namespace, name) ([`key_of`]).
    pub kind_key: Key,
    /// The object as it would be after the change (`None`: deleted).
    pub object: Option<Object>,
}

impl Request {
    /// `Kind:namespace/name` or `Kind:name`.
    pub fn reference(&self) -> String {
        reference(&self.kind_key)
    }

    /// The key `engine` holds the object under (watched clusters key by resource, snapshots by
    /// kind); for an object it does not hold, the resource key.
    fn key_in(&self, engine: &Incremental) -> Key {
        [&self.key, &self.kind_key]
            .into_iter()
            .find(|k| engine.holds(k))
            .unwrap_or(&self.key)
            .clone()
    }
}

fn text<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Reads an AdmissionReview body. Errors say what is missing or malformed, never what a field
/// holds.
pub fn parse(body: &[u8]) -> Result<Request, ReviewError> {
    if body.len() > MAX_REVIEW_BYTES {
        return Err(ReviewError(format!(
            "the review is larger than {MAX_REVIEW_BYTES} bytes"
        )));
    }
    // A syntax error's message names line and column, never the text.
    let review: Value = serde_json::from_slice(body)
        .map_err(|e| ReviewError(format!("the body is not JSON: {e}")))?;
    if text(&review, "/kind") != "AdmissionReview" {
        return Err(ReviewError("the body is not an AdmissionReview".into()));
    }
    if text(&review, "/apiVersion") != API_VERSION {
        return Err(ReviewError(format!(
            "only {API_VERSION} AdmissionReviews are answered (register the webhook with admissionReviewVersions: [v1])"
        )));
    }
    let request = match review.get("request") {
        Some(r @ Value::Object(_)) => r,
        _ => return Err(ReviewError("the AdmissionReview has no request".into())),
    };
    let uid = text(request, "/uid");
    if uid.is_empty() {
        return Err(ReviewError("the request has no uid".into()));
    }
    let operation = text(request, "/operation");
    if !matches!(operation, "CREATE" | "UPDATE" | "DELETE" | "CONNECT") {
        return Err(ReviewError(
            "the request's operation is not CREATE, UPDATE, DELETE or CONNECT".into(),
        ));
    }
    let kind = text(request, "/kind/kind");
    if kind.is_empty() {
        return Err(ReviewError("the request has no kind".into()));
    }
    // The API server names a Namespace's own name as the request's namespace (for updates and
    // deletes); a cluster-scoped object has none.
    let cluster_scoped = kspm_engine::object::CLUSTER_SCOPED_KINDS.contains(&kind);
    let namespace = if cluster_scoped {
        String::new()
    } else {
        text(request, "/namespace").to_string()
    };
    let resource = match (
        text(request, "/resource/resource"),
        text(request, "/resource/group"),
    ) {
        ("", _) => None,
        (r, "") => Some(r.to_string()),
        (r, g) => Some(format!("{r}.{g}")),
    };
    let sub_resource = text(request, "/subResource").to_string();
    let dry_run = request
        .get("dryRun")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let source = |name: &str| Source {
        file: format!("admission://{kind}/{namespace}/{name}"),
        line: None,
    };
    let read = |field: &str| -> Result<Option<Object>, ReviewError> {
        match request.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => {
                let mut map = map.clone();
                // The API server sends the object as it will store it; a created object may
                // not have its generated name yet, nor (in a namespaced request) a namespace.
                let meta = map
                    .entry("metadata")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(meta) = meta {
                    if !namespace.is_empty() && !meta.contains_key("namespace") {
                        meta.insert("namespace".into(), Value::String(namespace.clone()));
                    }
                    let named = meta
                        .get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| !n.is_empty());
                    if !named {
                        let name = match text(request, "/name") {
                            "" => format!(
                                "{}<generated>",
                                meta.get("generateName")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                            ),
                            n => n.to_string(),
                        };
                        meta.insert("name".into(), Value::String(name));
                    }
                }
                object_from_map(map, source(text(request, "/name")))
                    .map(Some)
                    .map_err(|e| ReviewError(format!("request.{field}: {e}")))
            }
            Some(_) => Err(ReviewError(format!("request.{field} is not an object"))),
        }
    };
    let (kind_key, object) = match operation {
        "DELETE" => {
            let old = read("oldObject")?;
            let key = match &old {
                Some(o) => key_of(o),
                None => {
                    let name = text(request, "/name");
                    if name.is_empty() {
                        return Err(ReviewError(
                            "a DELETE request names no object (no name, no oldObject)".into(),
                        ));
                    }
                    (kind.to_string(), namespace.clone(), name.to_string())
                }
            };
            (key, None)
        }
        "CONNECT" => ((kind.to_string(), namespace.clone(), String::new()), None),
        _ => {
            let o = read("object")?
                .ok_or_else(|| ReviewError(format!("a {operation} request carries no object")))?;
            (key_of(&o), Some(o))
        }
    };
    let key = match resource {
        Some(r) => (r, kind_key.1.clone(), kind_key.2.clone()),
        None => kind_key.clone(),
    };
    Ok(Request {
        uid: uid.to_string(),
        operation: operation.to_string(),
        namespace,
        sub_resource,
        dry_run,
        key,
        kind_key,
        object,
    })
}

/// Subresources whose request carries the whole object with the change (an ephemeral debug
/// container is a change to the Pod's containers); any other is not a change kspm judges.
const JUDGED_SUBRESOURCES: &[&str] = &["ephemeralcontainers"];

/// The changes a request makes to the engine's objects: the object put, or removed (a
/// Namespace with what is in it: [`Incremental::deletion`]).
fn changes(engine: &Incremental, request: &Request) -> Vec<(Key, Option<Object>)> {
    let key = request.key_in(engine);
    match &request.object {
        Some(o) => vec![(key, Some(o.clone()))],
        None => engine.deletion(&request.kind_key.0, key),
    }
}

/// Whether namespace `ns` is being deleted (its Namespace terminating): its objects are going
/// with it.
fn terminating(engine: &Incremental, ns: &str) -> bool {
    !ns.is_empty()
        && engine.objects_in("").any(|o| {
            o.kind == "Namespace"
                && o.name == ns
                && (o.body.pointer("/metadata/deletionTimestamp").is_some()
                    || o.body.pointer("/status/phase").and_then(Value::as_str)
                        == Some("Terminating"))
        })
}

/// What a review found, before the policy turns it into an answer.
#[derive(Debug, Default)]
pub struct Judgement {
    /// Attack paths the change opens, at or above the policy's severity, highest score first.
    pub paths: Vec<AttackPath>,
    /// Findings it introduces, at or above the policy's severity, most severe first.
    pub findings: Vec<Finding>,
    /// Why the change was not judged, when it was not (allowed without evaluation).
    pub not_judged: Option<String>,
}

/// Judges `request` against the cluster `engine` holds (`None`: not read yet).
pub fn judge(engine: Option<&mut Incremental>, request: &Request, policy: &Policy) -> Judgement {
    let skip = |why: String| Judgement {
        not_judged: Some(why),
        ..Default::default()
    };
    if request.operation == "CONNECT"
        || (!request.sub_resource.is_empty()
            && !JUDGED_SUBRESOURCES.contains(&request.sub_resource.as_str()))
    {
        return skip(format!(
            "{} of {} is not a change kspm judges",
            request.operation,
            if request.sub_resource.is_empty() {
                request.kind_key.0.clone()
            } else {
                format!("{}/{}", request.kind_key.0, request.sub_resource)
            }
        ));
    }
    if !request.namespace.is_empty() && policy.exclude_namespaces.contains(&request.namespace) {
        return skip(format!(
            "namespace {} is excluded from review",
            request.namespace
        ));
    }
    let Some(engine) = engine else {
        return skip("kspm has not read this cluster yet; the change was not evaluated".into());
    };
    if request.object.is_none() && terminating(engine, &request.namespace) {
        // The namespace controller empties a terminating namespace: refusing one of its
        // deletions would only keep the namespace from going.
        return skip(format!(
            "namespace {} is being deleted, with what is in it",
            request.namespace
        ));
    }
    let delta: Delta = engine.preview(changes(engine, request));
    // Deleting an object that is not a policy removes nodes and edges from the graph and adds
    // none: it opens no way in. What appears then is the path search choosing another route of
    // a reach that was there (a network segment regrouped and renamed, a sink no longer behind
    // a better one), not a new path.
    let opens_nothing = request.object.is_none() && !may_open_reach(&request.kind_key.0);
    let mut paths: Vec<AttackPath> = delta
        .added_paths
        .iter()
        .filter(|p| p.severity >= policy.severity && !opens_nothing)
        .cloned()
        .collect();
    paths.sort_by(AttackPath::highest_score_first);
    // A finding that only changes (its wording, its evidence, its severity down) resolves and
    // appears again on the same check and resource: it is not new unless it became more
    // severe.
    let mut was: std::collections::HashMap<(&str, &str), Severity> = Default::default();
    for f in &delta.resolved_findings {
        let s = was
            .entry((f.check.as_ref(), f.resource.as_str()))
            .or_insert(f.severity);
        *s = (*s).max(f.severity);
    }
    let mut findings: Vec<Finding> = delta
        .added_findings
        .iter()
        .filter(|f| f.severity >= policy.severity)
        .filter(|f| {
            was.get(&(f.check.as_ref(), f.resource.as_str()))
                .is_none_or(|s| *s < f.severity)
        })
        .cloned()
        .collect();
    findings.sort_by(Finding::most_severe_first);
    Judgement {
        paths,
        findings,
        not_judged: None,
    }
}

/// Whether deleting an object of `kind` may open a way in: a policy of any API (NetworkPolicy,
/// AdminNetworkPolicy, Calico's, Cilium's, Istio's), Calico's tiers, network sets and host
/// endpoints, or a CustomResourceDefinition (the objects of its kind go with it).
fn may_open_reach(kind: &str) -> bool {
    kind.contains("Policy")
        || matches!(
            kind,
            "Tier"
                | "NetworkSet"
                | "GlobalNetworkSet"
                | "HostEndpoint"
                | "CustomResourceDefinition"
        )
}

/// One line for a path: severity, score and its nodes.
fn path_line(p: &AttackPath) -> String {
    format!(
        "opens attack path [{}, score {:.0}] {}",
        p.severity.as_str().to_uppercase(),
        p.score,
        p.nodes.join(" → ")
    )
}

/// One line for a finding: severity, check, resource and message.
fn finding_line(f: &Finding) -> String {
    format!(
        "introduces [{}] {} on {}: {}",
        f.severity.as_str().to_uppercase(),
        f.check,
        f.resource,
        f.message
    )
}

/// Cuts `s` to at most `max` characters, marking the cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The AdmissionReview answering `request` under `policy`, from its [`Judgement`].
/// `own_namespace` is kspm's: a change there is never refused (kspm must stay deployable).
pub fn answer(
    request: &Request,
    judgement: &Judgement,
    policy: &Policy,
    own_namespace: &str,
) -> Value {
    let lines: Vec<String> = judgement
        .paths
        .iter()
        .map(path_line)
        .chain(judgement.findings.iter().map(finding_line))
        .collect();
    let mut warnings: Vec<String> = Vec::new();
    if let Some(why) = &judgement.not_judged {
        warnings.push(clip(&format!("kspm: {why}"), MAX_WARNING_CHARS));
    }
    let listed = |warnings: &mut Vec<String>| {
        for l in lines.iter().take(MAX_WARNINGS) {
            warnings.push(clip(&format!("kspm: {l}"), MAX_WARNING_CHARS));
        }
        if lines.len() > MAX_WARNINGS {
            warnings.push(format!(
                "kspm: and {} more (kspm plan or the report lists them all)",
                lines.len() - MAX_WARNINGS
            ));
        }
    };
    let own = !own_namespace.is_empty()
        && (request.namespace == own_namespace
            || (request.kind_key.0 == "Namespace" && request.kind_key.2 == own_namespace));
    let mut response = Map::new();
    response.insert("uid".into(), Value::String(request.uid.clone()));
    let refuse = policy.mode == Mode::Deny && !lines.is_empty() && !own;
    match policy.mode {
        Mode::Warn => listed(&mut warnings),
        Mode::Audit => {
            if !lines.is_empty() {
                response.insert(
                    "auditAnnotations".into(),
                    json!({
                        "introduced-paths": judgement.paths.len().to_string(),
                        "introduced-findings": judgement.findings.len().to_string(),
                        "summary": clip(&lines.join("; "), 4096),
                    }),
                );
            }
        }
        Mode::Deny if refuse => {
            let what = match (judgement.paths.len(), judgement.findings.len()) {
                (0, f) => format!("{f} finding(s)"),
                (p, 0) => format!("{p} attack path(s)"),
                (p, f) => format!("{p} attack path(s) and {f} finding(s)"),
            };
            response.insert(
                "status".into(),
                json!({
                    "code": 403,
                    "reason": "Forbidden",
                    "message": clip(&format!(
                        "kspm refuses {} {}: it introduces {what} at or above {}: {}",
                        request.operation.to_lowercase(),
                        request.reference(),
                        policy.severity.as_str(),
                        lines[0]
                    ), 1024),
                }),
            );
            listed(&mut warnings);
        }
        Mode::Deny => {
            if own && !lines.is_empty() {
                warnings.push(format!(
                    "kspm: not refused: {own_namespace} is kspm's own namespace"
                ));
            }
            listed(&mut warnings);
        }
    }
    response.insert("allowed".into(), Value::Bool(!refuse));
    if !warnings.is_empty() {
        response.insert("warnings".into(), json!(warnings));
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": "AdmissionReview",
        "response": Value::Object(response),
    })
}

/// Reviews an AdmissionReview body against `engine`: the answer, or the error to return as
/// HTTP 400.
pub fn review(
    engine: Option<&mut Incremental>,
    body: &[u8],
    policy: &Policy,
    own_namespace: &str,
) -> Result<Value, ReviewError> {
    let request = parse(body)?;
    let judgement = judge(engine, &request, policy);
    Ok(answer(&request, &judgement, policy, own_namespace))
}

/// What `kspm admission-config` registers: the webhook of one target.
pub struct Registration<'a> {
    /// The ValidatingWebhookConfiguration's name (its webhooks are named under
    /// `<name>.kspm.dev`).
    pub name: &'a str,
    /// The webhook's URL: `https://HOST:PORT/admission/<tenant>/<target>/<key>`.
    pub url: &'a str,
    /// PEM of the CA that signed kspm's serving certificate (none: the API server's own
    /// trust roots).
    pub ca_pem: Option<&'a str>,
    /// Seconds the API server waits for an answer (1 to 30) before it lets the change through.
    pub timeout_seconds: u8,
    /// Namespaces the API server does not send (the policy's `exclude_namespaces`).
    pub exclude_namespaces: &'a [String],
}

/// The resources whose changes kspm judges, by API group. (Webhook configurations and
/// admission policies are not here: the API server never sends them to a webhook; scans and
/// watches report them.)
pub const RULES: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "pods",
            "pods/ephemeralcontainers",
            "services",
            "serviceaccounts",
            "namespaces",
        ],
    ),
    (
        "apps",
        &["deployments", "statefulsets", "daemonsets", "replicasets"],
    ),
    ("batch", &["jobs", "cronjobs"]),
    (
        "rbac.authorization.k8s.io",
        &[
            "roles",
            "rolebindings",
            "clusterroles",
            "clusterrolebindings",
        ],
    ),
    ("networking.k8s.io", &["ingresses", "networkpolicies"]),
    (
        "gateway.networking.k8s.io",
        &[
            "gateways",
            "httproutes",
            "grpcroutes",
            "tlsroutes",
            "tcproutes",
        ],
    ),
];

/// The ValidatingWebhookConfiguration of `r`: fail-open (`failurePolicy: Ignore`), no side
/// effects (dry-run requests are sent too), v1 reviews only. A second webhook sends
/// ConfigMaps of `kube-system` only (EKS's `aws-auth` maps IAM identities to RBAC groups).
pub fn registration(r: &Registration<'_>) -> Value {
    use base64::Engine as _;
    let mut client = json!({ "url": r.url });
    if let Some(ca) = r.ca_pem {
        client["caBundle"] = Value::String(base64::engine::general_purpose::STANDARD.encode(ca));
    }
    let operations = ["CREATE", "UPDATE", "DELETE"];
    let rules = resource_rules(RULES, &operations, Some("*"));
    let webhook = |name: &str, rules: Vec<Value>, selector: Value| {
        json!({
            "name": format!("{name}.{}.kspm.dev", r.name),
            "admissionReviewVersions": ["v1"],
            "clientConfig": client,
            "rules": rules,
            "failurePolicy": "Ignore",
            "matchPolicy": "Equivalent",
            "sideEffects": "None",
            "timeoutSeconds": r.timeout_seconds.clamp(1, 30),
            "namespaceSelector": selector,
        })
    };
    let everywhere = if r.exclude_namespaces.is_empty() {
        json!({})
    } else {
        namespaces_by_name("NotIn", r.exclude_namespaces)
    };
    let mut webhooks = vec![webhook("changes", rules, everywhere)];
    if !r.exclude_namespaces.iter().any(|n| n == "kube-system") {
        webhooks.push(webhook(
            "aws-auth",
            vec![json!({
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": operations,
                "resources": ["configmaps"],
                "scope": "Namespaced",
            })],
            namespaces_by_name("In", &["kube-system"]),
        ));
    }
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {
            "name": r.name,
            "labels": { "app.kubernetes.io/managed-by": "kspm" },
        },
        "webhooks": webhooks,
    })
}
