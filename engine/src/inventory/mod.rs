//! Typed, indexed view over one cluster's objects: lookups by kind and the pod templates that
//! checks evaluate (each workload once, on its top-most owner present in the snapshot).

mod tokens;

use crate::object::Object;
use crate::pointer::Pointer as _;
use crate::snapshot::ClusterSnapshot;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;
pub use tokens::{PodTokens, Tokens};

/// Kinds that carry a pod template, with the path of the pod spec inside them.
pub const POD_TEMPLATE_KINDS: &[(&str, &str)] = &[
    ("Pod", "spec"),
    ("Deployment", "spec.template.spec"),
    ("StatefulSet", "spec.template.spec"),
    ("DaemonSet", "spec.template.spec"),
    ("ReplicaSet", "spec.template.spec"),
    ("ReplicationController", "spec.template.spec"),
    ("Job", "spec.template.spec"),
    ("CronJob", "spec.jobTemplate.spec.template.spec"),
];

/// The kinds that carry a pod template (or are a pod), followed by any extra kinds given: one
/// list for every place that names them.
macro_rules! workload_kinds {
    ($($extra:literal),* $(,)?) => {
        &[
            "Pod",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
            "CronJob",
            $($extra),*
        ]
    };
}
pub(crate) use workload_kinds;

/// Kinds the engine reads (everything else is kept and counted as "not evaluated").
pub const EVALUATED_KINDS: &[&str] = workload_kinds!(
    "Namespace",
    "ServiceAccount",
    "Secret",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    // Read by the attack graph.
    "Service",
    "Ingress",
    "IngressClass",
    "EndpointSlice",
    "Node",
    "ConfigMap",
    // Network policies of every API the network checks read.
    "NetworkPolicy",
    "GlobalNetworkPolicy",
    "CiliumNetworkPolicy",
    "CiliumClusterwideNetworkPolicy",
    // Read with Calico's policies.
    "Tier",
    "NetworkSet",
    "GlobalNetworkSet",
    // The policy API's cluster-wide policies.
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
);

/// A pod spec found in a workload, with the path to it (for evidence).
#[derive(Debug, Clone, Copy)]
pub struct PodTemplate<'a> {
    /// The object that owns the template (the Deployment, or the bare Pod).
    pub owner: &'a Object,
    /// The pod spec (`spec` of a Pod, `spec.template.spec` of a Deployment, ...).
    pub spec: &'a Value,
    /// The pod's metadata (`metadata` of a Pod, `spec.template.metadata` of a Deployment).
    pub metadata: Option<&'a Value>,
    /// Dotted path of `spec` within the owner, e.g. `spec.template.spec`.
    pub spec_path: &'static str,
}

/// One container of a pod template.
#[derive(Debug, Clone)]
pub struct ContainerRef<'a> {
    /// The container object.
    pub container: &'a Value,
    /// `containers`, `initContainers` or `ephemeralContainers`.
    pub list: &'static str,
    /// Index within its list.
    pub index: usize,
    /// Its name (empty when missing).
    pub name: &'a str,
}

/// A hostPath volume of a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPathVolume<'a> {
    /// Its index in `volumes` (for evidence paths).
    pub index: usize,
    /// Its name (empty when missing).
    pub name: &'a str,
    /// The host path as written.
    pub raw: &'a str,
    /// The host path, normalised.
    pub path: String,
}

/// A port a container declares (`ports[]`).
#[derive(Debug, Clone, Copy)]
pub struct DeclaredPort<'a> {
    /// `name`, when given.
    pub name: Option<&'a str>,
    /// `containerPort`.
    pub number: u64,
    /// `protocol` (TCP when left out).
    pub protocol: &'a str,
}

impl<'a> ContainerRef<'a> {
    /// The ports the container declares (entries without a numeric `containerPort` skipped).
    pub fn ports(&self) -> impl Iterator<Item = DeclaredPort<'a>> + 'a {
        self.array("ports").filter_map(|p| {
            Some(DeclaredPort {
                name: p.get("name").and_then(Value::as_str),
                number: p.get("containerPort")?.as_u64()?,
                protocol: p.get("protocol").and_then(Value::as_str).unwrap_or("TCP"),
            })
        })
    }

    /// Its image reference (empty when missing).
    pub fn image(&self) -> &'a str {
        self.container
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `securityContext.privileged: true`.
    pub fn privileged(&self) -> bool {
        self.container
            .at("/securityContext/privileged")
            .and_then(Value::as_bool)
            == Some(true)
    }

    /// The capabilities `securityContext.capabilities.add` lists, normalised
    /// ([`normalise_capability`]: `cap_sys_admin` is `SYS_ADMIN`).
    pub fn added_capabilities(&self) -> Vec<String> {
        self.capabilities("add")
    }

    /// The capabilities `securityContext.capabilities.drop` lists, normalised.
    pub fn dropped_capabilities(&self) -> Vec<String> {
        self.capabilities("drop")
    }

    fn capabilities(&self, field: &str) -> Vec<String> {
        self.container
            .get("securityContext")
            .and_then(|s| s.get("capabilities"))
            .and_then(|c| c.get(field))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(normalise_capability)
            .collect()
    }

    /// The container's `env` entries with their indexes.
    pub fn env(&self) -> impl Iterator<Item = (usize, &'a Value)> + 'a {
        self.array("env").enumerate()
    }

    /// The container's `volumeMounts` entries.
    pub fn volume_mounts(&self) -> impl Iterator<Item = &'a Value> + 'a {
        self.array("volumeMounts")
    }

    fn array(&self, field: &str) -> impl Iterator<Item = &'a Value> + 'a {
        self.container
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }
}

impl<'a> PodTemplate<'a> {
    /// The UID a container runs as when the manifest says (container `securityContext`
    /// overrides the pod's); `None` when the image decides.
    pub fn run_as_user(&self, c: &ContainerRef<'_>) -> Option<i64> {
        c.container
            .at("/securityContext/runAsUser")
            .or_else(|| self.spec.at("/securityContext/runAsUser"))
            .and_then(Value::as_i64)
    }

    /// Whether a container is known not to run as root: an explicit non-zero `runAsUser`, or
    /// `runAsNonRoot: true` (the kubelet refuses to start it as UID 0).
    pub fn runs_as_non_root(&self, c: &ContainerRef<'_>) -> bool {
        let non_root = c
            .container
            .at("/securityContext/runAsNonRoot")
            .or_else(|| self.spec.at("/securityContext/runAsNonRoot"))
            .and_then(Value::as_bool);
        match self.run_as_user(c) {
            Some(uid) => uid != 0,
            None => non_root == Some(true),
        }
    }

    /// Whether a container definitely cannot open root-only host files — the runtime sockets
    /// (0660 root), the kubelet's pod directories (0750 root), root's 0600 files: it runs as
    /// non-root ([`Self::runs_as_non_root`]), is not privileged, adds none of `DAC_OVERRIDE`,
    /// `DAC_READ_SEARCH`, `FOWNER`, `CHOWN`, `SETUID`, `SETGID` or `ALL`, cannot regain root
    /// through a setuid binary (`allowPrivilegeEscalation: false`, or every capability dropped),
    /// and has neither group 0 (`runAsGroup`) nor supplemental groups or an `fsGroup` that could
    /// match the file's group. Without `runAsGroup` the image's group applies; it is taken as
    /// not 0 (an image whose user has group 0 is the residual risk). One fact for the
    /// host-mount checks (their severity) and the graph's host escapes.
    pub fn cannot_open_root_files(&self, c: &ContainerRef<'_>) -> bool {
        let sc = c.container.get("securityContext");
        const AROUND_PERMISSIONS: &[&str] = &[
            "DAC_OVERRIDE",
            "DAC_READ_SEARCH",
            "FOWNER",
            "CHOWN",
            "SETUID",
            "SETGID",
            "ALL",
        ];
        let added = c
            .added_capabilities()
            .iter()
            .any(|cap| AROUND_PERMISSIONS.contains(&cap.as_str()));
        let no_escalation = sc
            .and_then(|s| s.get("allowPrivilegeEscalation"))
            .and_then(Value::as_bool)
            == Some(false)
            || c.dropped_capabilities().iter().any(|cap| cap == "ALL");
        let gid = sc
            .and_then(|s| s.get("runAsGroup"))
            .or_else(|| self.spec.at("/securityContext/runAsGroup"))
            .and_then(Value::as_i64);
        let supplemental = self
            .spec
            .at("/securityContext/supplementalGroups")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
            || self.spec.at("/securityContext/fsGroup").is_some();
        self.runs_as_non_root(c)
            && gid != Some(0)
            && no_escalation
            && !c.privileged()
            && !added
            && !supplemental
    }

    /// `hostPID: true`.
    pub fn host_pid(&self) -> bool {
        self.spec.get("hostPID").and_then(Value::as_bool) == Some(true)
    }

    /// The pod's hostPath volumes, their paths normalised as the kubelet resolves them
    /// ([`crate::host_path::normalise`]).
    pub fn host_path_volumes(&self) -> Vec<HostPathVolume<'a>> {
        self.spec
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(index, v)| {
                let raw = v.get("hostPath")?.get("path")?.as_str()?;
                Some(HostPathVolume {
                    index,
                    name: v.get("name").and_then(Value::as_str).unwrap_or(""),
                    raw,
                    path: crate::host_path::normalise(raw),
                })
            })
            .collect()
    }

    /// Every container: `containers`, then `initContainers`, then `ephemeralContainers`.
    pub fn containers(&self) -> impl Iterator<Item = ContainerRef<'a>> + 'a {
        let spec = self.spec;
        ["containers", "initContainers", "ephemeralContainers"]
            .into_iter()
            .flat_map(move |list| {
                spec.get(list)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(move |(index, container)| ContainerRef {
                        container,
                        list,
                        index,
                        name: container.get("name").and_then(Value::as_str).unwrap_or(""),
                    })
            })
    }

    /// The full path of a field of the pod spec, e.g. `spec.template.spec.hostPID`.
    pub fn path(&self, rel: &str) -> String {
        format!("{}.{}", self.spec_path, rel)
    }

    /// The full path of a field of a container, e.g.
    /// `spec.template.spec.containers[1].securityContext.privileged`.
    pub fn container_path(&self, c: &ContainerRef<'_>, rel: &str) -> String {
        format!("{}.{}[{}].{}", self.spec_path, c.list, c.index, rel)
    }

    /// Maps a path relative to the pod (`spec.containers[0]...`, `metadata.annotations[k]`) to
    /// the path within the owner (`spec.template.spec.containers[0]...`).
    pub fn owner_path(&self, pod_path: &str) -> String {
        if self.spec_path == "spec" {
            return pod_path.to_string();
        }
        match pod_path.strip_prefix("spec.") {
            Some(rest) => format!("{}.{rest}", self.spec_path),
            None => {
                let prefix = self
                    .spec_path
                    .strip_suffix(".spec")
                    .unwrap_or(self.spec_path);
                format!("{prefix}.{pod_path}")
            }
        }
    }

    /// The ServiceAccount its pods run as: (namespace, name).
    pub fn service_account(&self) -> (&'a str, &'a str) {
        (
            self.owner.effective_namespace().unwrap_or("default"),
            self.service_account_name(),
        )
    }

    /// The name of the ServiceAccount its pods run as (`default` when unset).
    pub fn service_account_name(&self) -> &'a str {
        service_account_name(self.spec)
    }

    /// Pod annotations (from the pod or template metadata).
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.metadata?.get("annotations")?.get(key)?.as_str()
    }
}

/// `cap_sys_admin`, `CAP_SYS_ADMIN` and `SYS_ADMIN` are the same capability to the runtime.
pub(crate) fn normalise_capability(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_string()
}

/// The ServiceAccount a pod template runs as (`default` when unset).
fn service_account_name(spec: &Value) -> &str {
    spec.get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            spec.get("serviceAccount")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .unwrap_or("default")
}

/// The pod template of one object, if its kind carries one and the spec is a mapping.
pub fn pod_template_of(o: &Object) -> Option<PodTemplate<'_>> {
    let (_, path) = POD_TEMPLATE_KINDS.iter().find(|(k, _)| *k == o.kind)?;
    let spec = o.field(path).filter(|s| s.is_object())?;
    let metadata = match path.strip_suffix(".spec") {
        Some(p) => o.field(&format!("{p}.metadata")),
        None => o.body.get("metadata"),
    };
    Some(PodTemplate {
        owner: o,
        spec,
        metadata,
        spec_path: path,
    })
}

/// Indexed objects of one cluster.
pub struct Inventory<'a> {
    /// The cluster.
    pub cluster: &'a ClusterSnapshot,
    objects: Vec<&'a Object>,
    by_kind: HashMap<&'a str, Vec<&'a Object>>,
    templates: Vec<PodTemplate<'a>>,
    tokens: OnceLock<Tokens>,
    running: OnceLock<RunningImages>,
}

/// The image IDs each workload's pods run, from their `status` (read once, on first use):
/// owner (kind, namespace, name) → container name → image IDs.
type RunningImages = HashMap<(String, Option<String>, String), HashMap<String, Vec<String>>>;

impl<'a> Inventory<'a> {
    /// Builds the index.
    pub fn new(cluster: &'a ClusterSnapshot) -> Self {
        Self::of_objects(cluster, cluster.objects.iter())
    }

    /// Builds the index of some objects of a cluster (`cluster` gives its identity and
    /// coverage; its own `objects` are not read): the incremental evaluator's view of one
    /// namespace and the cluster-scoped objects.
    pub fn of_objects(
        cluster: &'a ClusterSnapshot,
        objects: impl IntoIterator<Item = &'a Object>,
    ) -> Self {
        let objects = objects.into_iter();
        // (At most as many as the iterator may give: filtered indexes grow once, not by doubling.)
        let mut all: Vec<&'a Object> =
            Vec::with_capacity(objects.size_hint().1.unwrap_or_default());
        all.extend(objects);
        let objects = all;
        let mut by_kind: HashMap<&'a str, Vec<&'a Object>> = HashMap::new();
        // (Objects come in runs of one kind, as the incremental evaluator keys them: each run is
        // looked up once.)
        for run in objects.chunk_by(|a, b| a.kind == b.kind) {
            by_kind.entry(run[0].kind.as_str()).or_default().extend(run);
        }
        let mut inv = Inventory {
            cluster,
            objects,
            by_kind,
            templates: Vec::new(),
            tokens: OnceLock::new(),
            running: OnceLock::new(),
        };
        inv.templates = inv.compute_pod_templates();
        inv
    }

    /// Every object indexed, in input order.
    pub fn objects(&self) -> &[&'a Object] {
        &self.objects
    }

    /// Every object of a kind.
    pub fn of_kind(&self, kind: &str) -> &[&'a Object] {
        self.by_kind.get(kind).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Object counts per kind, sorted by kind.
    pub fn kind_counts(&self) -> BTreeMap<String, usize> {
        self.by_kind
            .iter()
            .map(|(k, v)| (k.to_string(), v.len()))
            .collect()
    }

    /// Every pod template to evaluate. A Pod, ReplicaSet or Job whose controller is in the
    /// snapshot is skipped: its owner's template is evaluated instead, so a finding is reported
    /// once, on the object a user edits.
    pub fn pod_templates(&self) -> Vec<PodTemplate<'a>> {
        self.templates.clone()
    }

    /// What decides the ServiceAccount tokens of the inventory's pods (read once, on first use).
    pub fn tokens(&self) -> &Tokens {
        self.tokens.get_or_init(|| Tokens::of(self))
    }

    /// The images the containers of a template's pods run, by container name: the `imageID` of
    /// every container status (as the runtime reports it, `docker-pullable://…@sha256:…`) of
    /// every Pod whose controllers lead to the template's owner (a Deployment's through its
    /// ReplicaSets), or of the bare Pod itself.
    pub fn running_images(&self, t: &PodTemplate<'_>) -> HashMap<&str, Vec<String>> {
        let running = self.running.get_or_init(|| self.compute_running());
        let key = (
            t.owner.kind.clone(),
            t.owner.effective_namespace().map(str::to_string),
            t.owner.name.clone(),
        );
        running
            .get(&key)
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.clone())).collect())
            .unwrap_or_default()
    }

    fn compute_running(&self) -> RunningImages {
        let mut present: HashMap<(&str, Option<&str>, &str), &Object> = HashMap::new();
        for (kind, _) in POD_TEMPLATE_KINDS {
            for o in self.of_kind(kind) {
                present.insert(
                    (o.kind.as_str(), o.effective_namespace(), o.name.as_str()),
                    o,
                );
            }
        }
        let mut out: RunningImages = HashMap::new();
        for pod in self.of_kind("Pod") {
            // Up the controller chain, within the namespace, to the top-most owner present.
            let mut top: &Object = pod;
            for _ in 0..4 {
                let Some(next) = top.owners.iter().filter(|r| r.controller).find_map(|r| {
                    present
                        .get(&(r.kind.as_str(), pod.effective_namespace(), r.name.as_str()))
                        .copied()
                }) else {
                    break;
                };
                top = next;
            }
            let containers = out
                .entry((
                    top.kind.clone(),
                    top.effective_namespace().map(str::to_string),
                    top.name.clone(),
                ))
                .or_default();
            for list in [
                "containerStatuses",
                "initContainerStatuses",
                "ephemeralContainerStatuses",
            ] {
                let statuses = pod
                    .body
                    .at(&format!("/status/{list}"))
                    .and_then(Value::as_array);
                for s in statuses.into_iter().flatten() {
                    let (Some(name), Some(id)) = (
                        s.get("name").and_then(Value::as_str),
                        s.get("imageID").and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    let d = containers.entry(name.to_string()).or_default();
                    if !id.is_empty() && !d.iter().any(|x| x == id) {
                        d.push(id.to_string());
                    }
                }
            }
        }
        out
    }

    /// [`Inventory::pod_templates`] without a copy.
    pub fn templates(&self) -> &[PodTemplate<'a>] {
        &self.templates
    }

    fn compute_pod_templates(&self) -> Vec<PodTemplate<'a>> {
        let mut present: HashSet<(&str, Option<&str>, &str)> = HashSet::new();
        // Owners are in their dependent's namespace: a uid elsewhere does not own it.
        let mut uids: HashSet<(Option<&str>, &str)> = HashSet::new();
        for (kind, _) in POD_TEMPLATE_KINDS {
            for o in self.of_kind(kind) {
                present.insert((o.kind.as_str(), o.effective_namespace(), o.name.as_str()));
                if let Some(uid) = &o.uid {
                    uids.insert((o.effective_namespace(), uid.as_str()));
                }
            }
        }
        let mut out = Vec::new();
        for (kind, _) in POD_TEMPLATE_KINDS {
            for o in self.of_kind(kind) {
                let controlled_by_present_owner = o.owners.iter().any(|r| {
                    r.controller
                        && (r
                            .uid
                            .as_deref()
                            .is_some_and(|u| uids.contains(&(o.effective_namespace(), u)))
                            || present.contains(&(
                                r.kind.as_str(),
                                o.effective_namespace(),
                                r.name.as_str(),
                            )))
                });
                if controlled_by_present_owner {
                    continue;
                }
                if let Some(t) = pod_template_of(o) {
                    out.push(t);
                }
            }
        }
        out
    }
}

/// A container's command line: `command` then `args`, as written.
pub fn command_words(container: &Value) -> Vec<&str> {
    ["command", "args"]
        .iter()
        .flat_map(|k| {
            container
                .get(*k)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(Value::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_text, Syntax};

    fn cluster(yaml: &str) -> ClusterSnapshot {
        let out = parse_text(yaml, "t.yaml", Syntax::Yaml);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        ClusterSnapshot {
            objects: out.objects,
            ..Default::default()
        }
    }

    #[test]
    fn container_and_volume_facts_are_read_once_the_same_way() {
        let c = cluster(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: a}
spec:
  hostPID: true
  volumes:
  - {name: cfg, configMap: {name: x}}
  - {name: sock, hostPath: {path: "/run//containerd/./containerd.sock"}}
  - {name: odd, hostPath: {}}
  containers:
  - name: c
    securityContext:
      privileged: true
      capabilities: {add: [cap_sys_admin, NET_RAW], drop: [all]}
  - name: d
"#,
        );
        let inv = Inventory::new(&c);
        let t = inv.pod_templates()[0];
        assert!(t.host_pid());
        let volumes = t.host_path_volumes();
        assert_eq!(volumes.len(), 1, "a hostPath without a path is not one");
        assert_eq!(
            (volumes[0].index, volumes[0].name, volumes[0].raw),
            (1, "sock", "/run//containerd/./containerd.sock")
        );
        assert_eq!(volumes[0].path, "/run/containerd/containerd.sock");
        let containers: Vec<_> = t.containers().collect();
        assert!(containers[0].privileged() && !containers[1].privileged());
        assert_eq!(containers[0].added_capabilities(), ["SYS_ADMIN", "NET_RAW"]);
        assert_eq!(containers[0].dropped_capabilities(), ["ALL"]);
        assert!(containers[1].added_capabilities().is_empty());
    }

    #[test]
    fn owned_pods_are_evaluated_on_their_owner_only() {
        let c = cluster(
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d1}
spec: {template: {spec: {containers: [{name: a, image: x}]}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-1
  namespace: shop
  uid: r1
  ownerReferences: [{kind: Deployment, name: web, uid: d1, controller: true}]
spec: {template: {spec: {containers: [{name: a, image: x}]}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1-abc
  namespace: shop
  uid: p1
  ownerReferences: [{kind: ReplicaSet, name: web-1, uid: r1, controller: true}]
spec: {containers: [{name: a, image: x}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: orphan
  namespace: shop
  ownerReferences: [{kind: ReplicaSet, name: gone, uid: zz, controller: true}]
spec: {containers: [{name: a, image: x}], initContainers: [{name: i}]}
"#,
        );
        let inv = Inventory::new(&c);
        let t: Vec<_> = inv
            .pod_templates()
            .iter()
            .map(|t| t.owner.node_ref())
            .collect();
        assert_eq!(t, vec!["Pod:shop/orphan", "Deployment:shop/web"]);
        let pods = inv.pod_templates();
        let names: Vec<_> = pods[0].containers().map(|c| (c.list, c.name)).collect();
        assert_eq!(names, vec![("containers", "a"), ("initContainers", "i")]);
        assert_eq!(
            pods[1].container_path(&pods[1].containers().next().expect("one"), "image"),
            "spec.template.spec.containers[0].image"
        );
    }

    #[test]
    fn cronjob_template_path() {
        let c = cluster("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: {spec: {template: {metadata: {annotations: {a: b}}, spec: {containers: []}}}}}\n");
        let inv = Inventory::new(&c);
        let t = inv.pod_templates();
        assert_eq!(t[0].spec_path, "spec.jobTemplate.spec.template.spec");
        assert_eq!(t[0].annotation("a"), Some("b"));
    }
}
