//! A failing and a passing input for every check in the catalogue: each family owns its cases
//! (`checks/<family>/cases.rs`, with the family's own tests); here are the builders they share,
//! the runner, and the tests over every case — each check fails its bad case and passes its good
//! one, redaction changes no finding, and a check without a case fails the build's tests, so new
//! checks cannot land untested.

use super::{by_id, catalogue, Context, Hit};
use crate::inventory::Inventory;
use crate::options::ScanOptions;
use crate::parse::{parse_text, Syntax};
use crate::rbac::Rbac;
use crate::snapshot::{ClusterSnapshot, Provider};
use serde_json::{json, Value};

pub(crate) fn docs(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| serde_json::to_string(o).expect("json"))
        .collect::<Vec<_>>()
        .join("\n---\n")
}

pub(crate) fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}, "spec": spec})
}

/// A pod with one container `a` whose securityContext/extra fields are merged in.
pub(crate) fn ctr(extra: Value) -> Value {
    let mut c = json!({"name": "a", "image": "nginx:1.27"});
    if let (Some(m), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    pod(json!({"containers": [c]}))
}

pub(crate) fn sc(v: Value) -> Value {
    ctr(json!({"securityContext": v}))
}

pub(crate) fn ns(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
}

pub(crate) fn role(kind: &str, rules: Value) -> Value {
    let mut r = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": "r"}, "rules": rules});
    if kind == "Role" {
        r["metadata"]["namespace"] = json!("shop");
    }
    r
}

pub(crate) fn binding(kind: &str, role_kind: &str, role: &str, subjects: Value) -> Value {
    let mut b = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": "b"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}, "subjects": subjects});
    if kind == "RoleBinding" {
        b["metadata"]["namespace"] = json!("shop");
    }
    b
}

pub(crate) fn alice() -> Value {
    json!([{"kind": "User", "name": "alice"}])
}

pub(crate) fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
    json!([{"verbs": verbs, "apiGroups": groups, "resources": resources}])
}

pub(crate) fn deployment(labels: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "shop"},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}}}})
}

pub(crate) fn netpol(selector: Value, types: Value, extra: Value) -> Value {
    let mut spec = json!({"podSelector": selector, "policyTypes": types});
    if let (Some(m), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np", "namespace": "shop"}, "spec": spec})
}

/// A NetworkPolicy of `shop` named `name` with this podSelector and other spec fields.
pub(crate) fn np(name: &str, selector: Value, spec: Value) -> Value {
    let mut np = netpol(selector, json!(null), spec);
    np["metadata"]["name"] = json!(name);
    if np["spec"]["policyTypes"].is_null() {
        if let Some(m) = np["spec"].as_object_mut() {
            m.remove("policyTypes");
        }
    }
    np
}

pub(crate) fn service(spec: Value, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "shop", "annotations": annotations}, "spec": spec})
}

pub(crate) fn ingress(spec: Value, annotations: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "shop", "annotations": annotations}, "spec": spec})
}

pub(crate) struct Case {
    pub(crate) id: &'static str,
    pub(crate) bad: Vec<Value>,
    pub(crate) good: Vec<Value>,
    pub(crate) provider: Provider,
    pub(crate) options: ScanOptions,
}

pub(crate) fn case(id: &'static str, bad: Vec<Value>, good: Vec<Value>) -> Case {
    Case {
        id,
        bad,
        good,
        provider: Provider::Generic,
        options: ScanOptions::default(),
    }
}

pub(crate) fn kubelet(config: Value) -> Value {
    json!({"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", "metadata": {"name": "node-1"}, "config": config})
}

pub(crate) fn cloud(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "cloud.kspm.io/v1", "kind": kind, "metadata": {"name": name}, "spec": spec})
}

pub(crate) fn nodegroup(over: Value) -> Value {
    let mut n = json!({"nodegroupName": "ng1", "nodeRole": "arn:aws:iam::111122223333:role/node"});
    if let (Some(m), Some(o)) = (n.as_object_mut(), over.as_object()) {
        for (k, v) in o {
            m.insert(k.clone(), v.clone());
        }
    }
    cloud("EksNodegroup", "ng1", n)
}

pub(crate) fn launch_template(id: &str, version: u64, options: Value) -> Value {
    cloud(
        "Ec2LaunchTemplateVersion",
        &format!("{id}:{version}"),
        json!({"LaunchTemplateId": id, "VersionNumber": version, "LaunchTemplateData": {"MetadataOptions": options}}),
    )
}

pub(crate) fn aws_auth(map_roles: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": {"mapRoles": map_roles}})
}

pub(crate) fn merge(into: &mut Value, over: Value) {
    if let (Some(m), Some(o)) = (into.as_object_mut(), over.as_object()) {
        for (k, v) in o {
            m.insert(k.clone(), v.clone());
        }
    }
}

/// Every check's case, gathered from the families that own them (`checks::<family>::cases`).
pub(crate) fn cases() -> Vec<Case> {
    [
        super::kubelet::cases::cases(),
        super::pod_security::cases::cases(),
        super::workload::cases::cases(),
        super::images::cases::cases(),
        super::exploited::cases::cases(),
        super::resources::cases::cases(),
        super::service_accounts::cases::cases(),
        super::network::cases::cases(),
        super::rbac::cases::cases(),
        super::maintenance::cases::cases(),
        super::admin_ui::cases::cases(),
        super::gke::cases::cases(),
        super::aks::cases::cases(),
        super::eks::cases::cases(),
        super::metadata::cases::cases(),
        super::control_plane::cases::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A running pod of namespace shop labelled `app: NAME`.
pub(crate) fn running(app: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("{app}-1"), "namespace": "shop", "labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": "x:1"}]}})
}

/// Moving an object to another namespace.
pub(crate) trait PipeNs {
    fn pipe_ns(self, ns: &str) -> Value;
}

impl PipeNs for Value {
    fn pipe_ns(mut self, ns: &str) -> Value {
        self["metadata"]["namespace"] = json!(ns);
        self
    }
}

/// `obj` renamed.
pub(crate) fn named(mut obj: Value, name: &str) -> Value {
    obj["metadata"]["name"] = json!(name);
    obj
}

/// `obj` with labels.
pub(crate) fn labelled(mut obj: Value, labels: Value) -> Value {
    obj["metadata"]["labels"] = labels;
    obj
}

/// Names and labels are the binding author's: a backdoor named or labelled like a platform
/// default is graded like any other binding, and the defaults themselves stay quiet.
#[test]
fn platform_names_and_labels_hide_no_binding() {
    let opts = ScanOptions::default();
    let sa = json!([{"kind": "ServiceAccount", "name": "sa", "namespace": "shop"}]);
    let admin = |subjects: &Value| {
        binding(
            "ClusterRoleBinding",
            "ClusterRole",
            "cluster-admin",
            subjects.clone(),
        )
    };
    let evasions = [
        named(admin(&sa), "system:backdoor"),
        named(admin(&sa), "eks:backdoor"),
        named(admin(&sa), "kubeadm:backdoor"),
        named(admin(&sa), "gke:backdoor"),
        labelled(
            admin(&sa),
            json!({"kubernetes.io/bootstrapping": "rbac-defaults"}),
        ),
        labelled(
            admin(&sa),
            json!({"addonmanager.kubernetes.io/mode": "Reconcile"}),
        ),
        labelled(
            admin(&sa),
            json!({"eks.amazonaws.com/component": "x", "kubernetes.io/cluster-service": "true"}),
        ),
        // The default's name with one more subject.
        named(
            admin(
                &json!([{"kind": "Group", "name": "system:masters"}, {"kind": "ServiceAccount", "name": "sa", "namespace": "shop"}]),
            ),
            "cluster-admin",
        ),
        // ServiceAccounts in user form are not control-plane components.
        named(
            admin(&json!([{"kind": "User", "name": "system:serviceaccount:shop:sa"}])),
            "system:x",
        ),
    ];
    for b in &evasions {
        let found = hits(
            "KSPM-R-001",
            std::slice::from_ref(b),
            Provider::Generic,
            &opts,
        );
        assert_eq!(found.len(), 1, "{b}: {found:?}");
    }
    // cluster-admin for everyone, labelled as a bootstrap default: still R-013.
    let everyone = labelled(
        named(
            admin(&json!([{"kind": "Group", "name": "system:unauthenticated"}])),
            "system:public-info-viewer",
        ),
        json!({"kubernetes.io/bootstrapping": "rbac-defaults"}),
    );
    assert_eq!(
        hits(
            "KSPM-R-013",
            std::slice::from_ref(&everyone),
            Provider::Generic,
            &opts
        )
        .len(),
        1
    );
    assert_eq!(
        hits("KSPM-R-024", &[everyone], Provider::Generic, &opts).len(),
        1
    );
    // system:nodes holding cluster-admin: any node's credentials are cluster-admin.
    let nodes = named(
        admin(&json!([{"kind": "Group", "name": "system:nodes"}])),
        "system:node-admin",
    );
    assert_eq!(
        hits("KSPM-R-001", &[nodes], Provider::Generic, &opts).len(),
        1
    );
    // A wildcard role is not hidden by a system: name when a user's binding uses it.
    let evil_role = named(
        role("ClusterRole", rule(&["*"], &["*"], &["*"])),
        "system:evil",
    );
    let uses = binding("ClusterRoleBinding", "ClusterRole", "system:evil", alice());
    assert_eq!(
        hits(
            "KSPM-R-002",
            &[evil_role.clone(), uses],
            Provider::Generic,
            &opts
        )
        .len(),
        1
    );
    // A namespaced Role with a reserved name is not made a user's by a ClusterRoleBinding whose
    // roleRef spells its reference (a ClusterRoleBinding cannot refer to a Role)...
    let reserved = named(role("Role", rule(&["*"], &["*"], &["*"])), "system:x");
    let spelled = binding("ClusterRoleBinding", "Role", "shop/system:x", alice());
    assert!(hits(
        "KSPM-R-002",
        &[reserved.clone(), spelled],
        Provider::Generic,
        &opts
    )
    .is_empty());
    // ... but is by a RoleBinding of its namespace that uses it.
    let local = binding("RoleBinding", "Role", "system:x", alice());
    assert_eq!(
        hits("KSPM-R-002", &[reserved, local], Provider::Generic, &opts).len(),
        1
    );
    // ... nor when it aggregates into another role.
    let aggregated = labelled(
        evil_role,
        json!({"rbac.authorization.k8s.io/aggregate-to-edit": "true"}),
    );
    assert_eq!(
        hits("KSPM-R-002", &[aggregated], Provider::Generic, &opts).len(),
        1
    );
    // A default's name and roleRef, the role rewritten with wildcards, for an identity every
    // node holds: reported by the binding checks, the wildcard check and as an impostor.
    let rewritten = named(
        role("ClusterRole", rule(&["*"], &["*"], &["*"])),
        "gce:beta:kubelet-certificate-rotation",
    );
    let default_named = named(
        binding(
            "ClusterRoleBinding",
            "ClusterRole",
            "gce:beta:kubelet-certificate-rotation",
            json!([{"kind": "Group", "name": "system:nodes"}]),
        ),
        "gce:beta:kubelet-certificate-rotation",
    );
    for id in ["KSPM-R-001", "KSPM-R-002", "KSPM-R-024"] {
        assert_eq!(
            hits(
                id,
                &[rewritten.clone(), default_named.clone()],
                Provider::Gke,
                &opts
            )
            .len(),
            1,
            "{id}"
        );
    }
    // A Role written without a namespace lands in `default`; its system: name hides nothing.
    let mut ops = named(role("Role", rule(&["*"], &["*"], &["*"])), "system:ops");
    ops["metadata"]
        .as_object_mut()
        .map(|m| m.remove("namespace"));
    let mut uses_ops = binding("RoleBinding", "Role", "system:ops", alice());
    uses_ops["metadata"]["namespace"] = json!("default");
    assert_eq!(
        hits("KSPM-R-002", &[ops, uses_ops], Provider::Generic, &opts).len(),
        1
    );
    // The real defaults stay quiet, whatever their labels.
    let defaults = [
        named(
            admin(&json!([{"kind": "Group", "name": "system:masters"}])),
            "cluster-admin",
        ),
        named(
            binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "system:controller:generic-garbage-collector",
                json!([{"kind": "ServiceAccount", "name": "generic-garbage-collector", "namespace": "kube-system"}]),
            ),
            "system:controller:generic-garbage-collector",
        ),
        named(
            binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "cluster-admin",
                json!([{"kind": "User", "name": "eks:addon-manager"}]),
            ),
            "eks:addon-cluster-admin",
        ),
        named(
            binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "eks:node-manager",
                json!([{"kind": "User", "name": "eks:node-manager"}]),
            ),
            "eks:node-manager",
        ),
        named(
            binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "system:public-info-viewer",
                json!([{"kind": "Group", "name": "system:authenticated"}, {"kind": "Group", "name": "system:unauthenticated"}]),
            ),
            "system:public-info-viewer",
        ),
    ];
    for id in [
        "KSPM-R-001",
        "KSPM-R-013",
        "KSPM-R-014",
        "KSPM-R-015",
        "KSPM-R-024",
    ] {
        let found = hits(id, &defaults, Provider::Generic, &opts);
        assert!(found.is_empty(), "{id}: {found:?}");
    }
    let gc_role = named(
        role(
            "ClusterRole",
            rule(
                &["get", "list", "watch", "patch", "update", "delete"],
                &["*"],
                &["*"],
            ),
        ),
        "system:controller:generic-garbage-collector",
    );
    assert!(hits(
        "KSPM-R-002",
        &[gc_role, defaults[1].clone()],
        Provider::Generic,
        &opts
    )
    .is_empty());
}

/// One rule decides whether a load balancer faces the internet, in the checks as in the graph;
/// S-008 counts every way to read Secrets; a directory holding a runtime socket is the socket.
#[test]
fn exposure_secrets_and_sockets_follow_the_semantics() {
    let opts = ScanOptions::default();
    let count = |id: &str, objs: &[Value], p: Provider| hits(id, objs, p, &opts).len();
    let lb = |annotations: Value| {
        service(
            json!({"type": "LoadBalancer", "ports": [{"port": 443}]}),
            annotations,
        )
    };
    // Not provisioned: internet-facing by default.
    assert_eq!(count("KSPM-N-007", &[lb(json!({}))], Provider::Generic), 1);
    // The AWS Load Balancer Controller's default is internal, unless told internet-facing.
    let lbc = json!({"service.beta.kubernetes.io/aws-load-balancer-type": "external"});
    assert_eq!(count("KSPM-N-007", &[lb(lbc.clone())], Provider::Eks), 0);
    let mut facing = lbc;
    facing["service.beta.kubernetes.io/aws-load-balancer-scheme"] = json!("internet-facing");
    assert_eq!(count("KSPM-N-007", &[lb(facing)], Provider::Eks), 1);
    // On GKE the AWS annotation means nothing.
    assert_eq!(
        count(
            "KSPM-N-007",
            &[lb(
                json!({"service.beta.kubernetes.io/aws-load-balancer-type": "external"})
            )],
            Provider::Gke
        ),
        1
    );
    // get or watch on Secrets is the same exposure as list.
    for verb in ["get", "list", "watch"] {
        let objs = vec![
            pod(json!({"serviceAccountName": "app", "containers": []})),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "shop"}, "rules": rule(&[verb], &[""], &["secrets"])}),
            binding(
                "RoleBinding",
                "Role",
                "r",
                json!([{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]),
            ),
        ];
        assert_eq!(count("KSPM-S-008", &objs, Provider::Generic), 1, "{verb}");
    }
    // A token is a token: automount off but a projected serviceAccountToken volume mounted
    // gives the container the ServiceAccount's permissions (the graph's token fact).
    let admin = binding(
        "ClusterRoleBinding",
        "ClusterRole",
        "cluster-admin",
        json!([{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]),
    );
    let projected = |mounted: bool| {
        let mounts = if mounted {
            json!([{"name": "tok", "mountPath": "/t"}])
        } else {
            json!([])
        };
        pod(
            json!({"serviceAccountName": "app", "automountServiceAccountToken": false,
            "volumes": [{"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}],
            "containers": [{"name": "c", "volumeMounts": mounts}]}),
        )
    };
    assert_eq!(
        count(
            "KSPM-S-008",
            &[projected(true), admin.clone()],
            Provider::Generic
        ),
        1
    );
    assert_eq!(
        count(
            "KSPM-S-008",
            &[projected(false), admin.clone()],
            Provider::Generic
        ),
        0,
        "a projected volume no container mounts"
    );
    // Every pod-making controller runs pods as any ServiceAccount: creating a StatefulSet or a
    // CronJob is creating pods (the same set the RBAC checks and the graph read); reading them
    // is not.
    for (verbs, group, resource, expected) in [
        (&["create"][..], "apps", "statefulsets", 1),
        (&["create"][..], "batch", "cronjobs", 1),
        (&["get", "list", "watch"][..], "apps", "statefulsets", 0),
    ] {
        let objs = vec![
            pod(json!({"serviceAccountName": "app", "containers": []})),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "shop"}, "rules": rule(verbs, &[group], &[resource])}),
            binding(
                "RoleBinding",
                "Role",
                "r",
                json!([{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]),
            ),
        ];
        assert_eq!(
            count("KSPM-S-008", &objs, Provider::Generic),
            expected,
            "{verbs:?} {resource}"
        );
    }
    // /var/run/docker holds Docker's containerd socket.
    let mount = |path: &str| {
        pod(json!({"containers": [], "volumes": [{"name": "v", "hostPath": {"path": path}}]}))
    };
    assert_eq!(
        count("KSPM-W-021", &[mount("/var/run/docker")], Provider::Generic),
        1
    );
    assert_eq!(
        count(
            "KSPM-W-021",
            &[mount("/var/run/docker/")],
            Provider::Generic
        ),
        1
    );
    assert_eq!(
        count("KSPM-W-021", &[mount("/var/log/docker")], Provider::Generic),
        0
    );
    // Bootstrap Roles exist in every cluster: a binding to one is not dangling.
    let reader = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "auth-reader", "namespace": "kube-system"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "extension-apiserver-authentication-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "metrics-server", "namespace": "kube-system"}]});
    assert_eq!(
        count(
            "KSPM-R-017",
            std::slice::from_ref(&reader),
            Provider::Generic
        ),
        0
    );
    let mut elsewhere = reader;
    elsewhere["metadata"]["namespace"] = json!("shop");
    assert_eq!(count("KSPM-R-017", &[elsewhere], Provider::Generic), 1);
}

/// The whole evaluation of `objects` as one cluster (named `c`) on `provider`: the report users
/// see.
pub(crate) fn evaluate_case(
    objects: &[Value],
    provider: Provider,
    options: &ScanOptions,
) -> crate::report::Report {
    let out = parse_text(&docs(objects), "case.yaml", Syntax::Yaml);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let mut cluster = ClusterSnapshot {
        objects: out.objects,
        ..Default::default()
    };
    cluster.info.provider = provider;
    cluster.info.name = "c".into();
    crate::evaluate::evaluate_with(
        &crate::snapshot::Snapshot {
            clusters: vec![cluster],
            ..Default::default()
        },
        options,
    )
}

/// What check `id` reports on `objects`: each hit's object, message and evidence. Checks the
/// fleet's graph judges run through the whole evaluation, as users see them.
pub(crate) fn outcomes(
    id: &str,
    objects: &[Value],
    provider: Provider,
    options: &ScanOptions,
) -> Vec<(crate::object::Object, String, Vec<crate::finding::Evidence>)> {
    let out = parse_text(&docs(objects), "case.yaml", Syntax::Yaml);
    assert!(out.errors.is_empty(), "{id}: {:?}", out.errors);
    let mut cluster = ClusterSnapshot {
        objects: out.objects,
        ..Default::default()
    };
    cluster.info.provider = provider;
    let check = by_id(id).unwrap_or_else(|| panic!("no check {id}"));
    if check.judged_on_the_fleet_graph() {
        // Its hits are candidates until the fleet's graph judges them: the whole evaluation.
        let report = evaluate_case(objects, provider, options);
        let objects = &cluster.objects;
        return report
            .findings
            .into_iter()
            .filter(|f| f.check == id)
            .map(|f| {
                let o = objects
                    .iter()
                    .find(|o| o.node_ref() == f.resource)
                    .unwrap_or_else(|| panic!("{id}: no object {}", f.resource));
                (o.clone(), f.message, f.evidence)
            })
            .collect();
    }
    let inv = Inventory::new(&cluster);
    let rbac = Rbac::build_for(&cluster.objects, None, provider);
    let mut graph = crate::graph::AttackGraph::default();
    graph.build_cluster(&cluster, &inv, &rbac);
    let ctx = Context {
        inv: &inv,
        rbac: &rbac,
        graph: Some(&graph),
        options,
        reports: &crate::checks::every_object,
    };
    (check.run)(&ctx)
        .into_iter()
        .map(|h| (h.object.clone(), h.message, h.evidence))
        .collect()
}

/// What check `id` reports on `objects`, as `resource: message` lines.
pub(crate) fn hits(
    id: &str,
    objects: &[Value],
    provider: Provider,
    options: &ScanOptions,
) -> Vec<String> {
    outcomes(id, objects, provider, options)
        .into_iter()
        .map(|(o, message, _)| format!("{}: {message}", o.node_ref()))
        .collect()
}

#[test]
fn every_check_fails_its_bad_case_and_passes_its_good_case() {
    for c in cases() {
        let bad = hits(c.id, &c.bad, c.provider, &c.options);
        assert!(!bad.is_empty(), "{}: bad case produced no finding", c.id);
        let good = hits(c.id, &c.good, c.provider, &c.options);
        assert!(good.is_empty(), "{}: good case produced {good:?}", c.id);
    }
}

/// `kspm collect --redact` keeps every finding: each check judges its redacted cases as it
/// judges the originals.
#[test]
fn redacted_cases_give_the_same_findings() {
    let redacted = |objects: &[Value]| -> Vec<Value> {
        let mut objects = objects.to_vec();
        objects.iter_mut().for_each(crate::redact::redact_object);
        objects
    };
    for c in cases() {
        for objects in [&c.bad, &c.good] {
            assert_eq!(
                hits(c.id, &redacted(objects), c.provider, &c.options),
                hits(c.id, objects, c.provider, &c.options),
                "{}",
                c.id
            );
        }
    }
}

#[test]
fn every_check_has_a_case() {
    let covered: Vec<&str> = cases().iter().map(|c| c.id).collect();
    for check in catalogue() {
        assert!(
            covered.contains(&check.id),
            "{} has no test case in checks/cases.rs",
            check.id
        );
    }
}

/// A case's objects, as the scan reads them.
pub(crate) fn objects_of(objects: &[Value]) -> Vec<crate::object::Object> {
    parse_text(&docs(objects), "case.yaml", Syntax::Yaml).objects
}

/// The objects each hit of a case's bad input is on, with its evidence.
pub(crate) fn evidence_of(c: &Case) -> Vec<(crate::object::Object, Vec<crate::finding::Evidence>)> {
    outcomes(c.id, &c.bad, c.provider, &c.options)
        .into_iter()
        .map(|(o, _, evidence)| (o, evidence))
        .collect()
}

/// A check told which objects' hits are reported ([`Context::reports`]) may skip the others,
/// and nothing else: on every case of the catalogue (each with a Role and a ClusterRole with
/// wildcards beside), for each namespace there and for the cluster-scoped objects, what it
/// reports is exactly what it reports of all objects on those.
#[test]
fn checks_told_what_is_reported_report_the_same_of_it() {
    let wildcards = vec![
        role("ClusterRole", json!([rule(&["*"], &["*"], &["*"])])),
        named(
            role("Role", json!([rule(&["*"], &[""], &["pods"])])),
            "wild",
        ),
    ];
    for case in cases() {
        let check = by_id(case.id).unwrap_or_else(|| panic!("no check {}", case.id));
        for objects in [&case.bad, &case.good] {
            let objects: Vec<Value> = objects.iter().chain(&wildcards).cloned().collect();
            let out = parse_text(&docs(&objects), "case.yaml", Syntax::Yaml);
            assert!(out.errors.is_empty(), "{}: {:?}", case.id, out.errors);
            let mut cluster = ClusterSnapshot {
                objects: out.objects,
                ..Default::default()
            };
            cluster.info.provider = case.provider;
            let inv = Inventory::new(&cluster);
            let rbac = Rbac::build_for(&cluster.objects, None, case.provider);
            let mut graph = crate::graph::AttackGraph::default();
            graph.build_cluster(&cluster, &inv, &rbac);
            let all = Context {
                inv: &inv,
                rbac: &rbac,
                graph: Some(&graph),
                options: &case.options,
                reports: &crate::checks::every_object,
            };
            let rows = |hits: Vec<Hit<'_>>| -> Vec<String> {
                hits.iter()
                    .map(|h| format!("{} {} {:?}", h.object.node_ref(), h.message, h.evidence))
                    .collect()
            };
            let every = rows((check.run)(&all));
            let scopes: std::collections::BTreeSet<Option<&str>> = cluster
                .objects
                .iter()
                .map(|o| o.effective_namespace())
                .collect();
            for scope in scopes {
                let reported = |o: &crate::object::Object| o.effective_namespace() == scope;
                let told = Context {
                    reports: &reported,
                    ..all
                };
                let told = (check.run)(&told);
                // Nothing it gives is new; of the reported objects, nothing is missing.
                assert!(
                    rows(told.clone()).iter().all(|r| every.contains(r)),
                    "{} in {scope:?}",
                    case.id
                );
                let on = |hits: Vec<Hit<'_>>| {
                    rows(hits.into_iter().filter(|h| reported(h.object)).collect())
                };
                assert_eq!(on(told), on((check.run)(&all)), "{} in {scope:?}", case.id);
            }
        }
    }
}
