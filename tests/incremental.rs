//! The incremental evaluator (continuous mode) against a full evaluation of the same objects:
//! after every batch of random changes — workloads, pods, Services, Ingresses, RBAC,
//! ServiceAccounts, Secrets, Namespaces — its findings, graph and attack paths must be those of
//! `kspm scan`, and its deltas must add up to its state.

use kspm_engine::incremental::{Incremental, Key};
use kspm_engine::object::{Object, Source};
use kspm_engine::parse::object_from_map;
use kspm_engine::snapshot::{ClusterSnapshot, Snapshot};
use kspm_engine::ScanOptions;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A small deterministic generator (no dependency, same sequence on every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn key_of(o: &Object) -> Key {
    (
        o.kind.clone(),
        o.namespace.clone().unwrap_or_default(),
        o.name.clone(),
    )
}

fn object(v: Value) -> Object {
    let Value::Object(map) = v else {
        panic!("not an object")
    };
    object_from_map(
        map,
        Source {
            file: "test".into(),
            line: None,
        },
    )
    .expect("valid object")
}

fn load(dir: &Path) -> ClusterSnapshot {
    let plan = kspm_collectors::files::plan(&[dir.to_path_buf()]);
    assert_eq!(plan.clusters.len(), 1, "{}", dir.display());
    kspm_collectors::files::load_source(&plan.clusters[0])
}

type GraphSets = (
    BTreeSet<(Option<String>, String, String, bool)>,
    BTreeSet<(String, String, String, String)>,
);

fn graph_sets(g: &kspm_engine::graph::AttackGraph) -> GraphSets {
    let nodes = g
        .graph
        .node_weights()
        .map(|n| {
            (
                n.cluster.clone(),
                n.reference.clone(),
                format!("{:?}", n.kind),
                n.entry,
            )
        })
        .collect();
    let edges = g
        .graph
        .raw_edges()
        .iter()
        .map(|e| {
            (
                g.graph[e.source()].reference.clone(),
                g.graph[e.target()].reference.clone(),
                format!("{:?}", e.weight.technique),
                e.weight.evidence.clone(),
            )
        })
        .collect();
    (nodes, edges)
}

fn finding_rows<'a>(findings: impl Iterator<Item = &'a kspm_engine::Finding>) -> Vec<String> {
    let mut rows: Vec<String> = findings
        .map(|f| json!([f.check, f.resource, f.message, f.evidence, f.controls]).to_string())
        .collect();
    rows.sort();
    rows
}

/// A graph dump as sets: nodes (cluster, reference, kind, entry) and edges (ends, technique,
/// evidence, likelihood, the changes that remove it).
fn dump_sets(d: &kspm_engine::graph::GraphDump) -> (BTreeSet<String>, BTreeSet<String>) {
    let node = |i: usize| {
        let n = &d.nodes[i];
        format!("{:?} {}", n.cluster, n.reference)
    };
    let nodes = d
        .nodes
        .iter()
        .map(|n| json!([n.cluster, n.reference, n.kind, n.entry]).to_string())
        .collect();
    let likelihood: BTreeMap<usize, f64> = d.edge_likelihoods.iter().copied().collect();
    let remedies: BTreeMap<usize, BTreeSet<String>> = d
        .edge_remedies
        .iter()
        .map(|(e, r)| {
            let set = r
                .iter()
                .map(|i| serde_json::to_string(&d.remedies[*i as usize]).unwrap_or_default())
                .collect();
            (*e, set)
        })
        .collect();
    let edges = d
        .edges
        .iter()
        .enumerate()
        .map(|(i, (a, b, t, ev))| {
            format!(
                "{} -> {} {t} {ev} {:?} {:?}",
                node(*a),
                node(*b),
                likelihood.get(&i),
                remedies.get(&i)
            )
        })
        .collect();
    (nodes, edges)
}

/// A report as JSON, its lists whose order ties leave open (findings, paths of equal rank,
/// suppressions, errors) sorted.
fn report_json(r: &kspm_engine::Report) -> Value {
    let mut v = serde_json::to_value(r).expect("report json");
    for k in ["findings", "attack_paths", "suppressed", "errors"] {
        if let Some(Value::Array(items)) = v.get_mut(k) {
            items.sort_by_key(|x| x.to_string());
        }
    }
    v
}

/// Asserts that the incremental state equals a full evaluation of its objects.
fn assert_equivalent(inc: &Incremental, meta: &ClusterSnapshot, step: &str) {
    let mut cluster = meta.clone();
    cluster.objects = inc.objects().cloned().collect();
    let snapshot = Snapshot {
        clusters: vec![cluster],
        errors: Vec::new(),
        cloud: Vec::new(),
    };
    let options = inc.options().clone();
    let full = kspm_engine::evaluate_cluster_result(&snapshot.clusters[0], &options);
    let full_facts = kspm_engine::drift::Facts::collect(&snapshot.clusters[0], full.graph());
    let full_cluster_graph = dump_sets(&full.graph().dump());
    let (report, graph) = kspm_engine::assemble_fleet_graph(vec![full], &[], &[]);
    // What a scan stores of these objects, from the incremental state: the cluster's result
    // (before the fleet's bridges), its posture digest, and the report assembled from it.
    let result = inc.cluster_result().expect("evaluated");
    let mut facts = inc.object_facts();
    facts
        .categories
        .extend(kspm_engine::drift::Facts::of_graph(result.graph()).categories);
    assert_eq!(facts, full_facts, "{step}: posture digest");
    let own = dump_sets(&result.graph().dump());
    assert!(
        own == full_cluster_graph,
        "{step}: the cluster's graph before the bridges\nnodes missing {:#?}\nnodes extra {:#?}\nedges missing {:#?}\nedges extra {:#?}",
        full_cluster_graph.0.difference(&own.0).take(5).collect::<Vec<_>>(),
        own.0.difference(&full_cluster_graph.0).take(5).collect::<Vec<_>>(),
        full_cluster_graph.1.difference(&own.1).take(5).collect::<Vec<_>>(),
        own.1.difference(&full_cluster_graph.1).take(5).collect::<Vec<_>>(),
    );
    let (assembled, assembled_graph) = kspm_engine::assemble_fleet_graph(vec![result], &[], &[]);
    assert!(
        dump_sets(&assembled_graph.dump()) == dump_sets(&graph.dump()),
        "{step}: fleet graph"
    );
    let (expected_report, actual_report) = (report_json(&report), report_json(&assembled));
    for (k, v) in expected_report.as_object().expect("report") {
        assert!(
            actual_report.get(k) == Some(v),
            "{step}: report {k} differs\nfull: {}\nincremental: {}",
            v.to_string().chars().take(600).collect::<String>(),
            actual_report
                .get(k)
                .map(|a| a.to_string().chars().take(600).collect::<String>())
                .unwrap_or_default()
        );
    }
    let expected = finding_rows(report.findings.iter());
    let actual = finding_rows(inc.findings().into_iter());
    if expected != actual {
        let e: BTreeSet<&String> = expected.iter().collect();
        let a: BTreeSet<&String> = actual.iter().collect();
        panic!(
            "{step}: findings differ\nmissing: {:#?}\nextra: {:#?}",
            e.difference(&a).take(5).collect::<Vec<_>>(),
            a.difference(&e).take(5).collect::<Vec<_>>()
        );
    }
    let (en, ee) = graph_sets(&graph);
    let (an, ae) = graph_sets(inc.graph().expect("evaluated"));
    assert!(
        en == an,
        "{step}: graph nodes differ\nmissing: {:#?}\nextra: {:#?}",
        en.difference(&an).take(5).collect::<Vec<_>>(),
        an.difference(&en).take(5).collect::<Vec<_>>()
    );
    assert!(
        ee == ae,
        "{step}: graph edges differ\nmissing: {:#?}\nextra: {:#?}",
        ee.difference(&ae).take(5).collect::<Vec<_>>(),
        ae.difference(&ee).take(5).collect::<Vec<_>>()
    );
    // The signature kept through every change is the graph's own, and the full evaluation's.
    assert_eq!(
        inc.graph_signature(),
        Some(kspm_engine::graph::joined::signature_of(&graph)),
        "{step}: graph signature"
    );
    assert_eq!(
        report.summary.attack_paths,
        inc.paths().len(),
        "{step}: number of attack paths"
    );
    // Equal graphs give equal paths: the search does not depend on the order of insertion.
    let rank = |p: &kspm_engine::report::AttackPath| {
        let steps: Vec<String> = p
            .steps
            .iter()
            .map(|s| serde_json::to_string(s).unwrap_or_default())
            .collect();
        let folded: Vec<&str> = p.folded.iter().map(|f| f.id.as_str()).collect();
        format!(
            "{} {:.3} {:?} {:?} {steps:?} {folded:?}",
            p.id, p.score, p.severity, p.nodes
        )
    };
    let expected: BTreeSet<String> = report.attack_paths.iter().map(rank).collect();
    let actual: BTreeSet<String> = inc
        .paths()
        .iter()
        .take(report.attack_paths.len())
        .map(rank)
        .collect();
    if report.summary.attack_paths <= report.attack_paths.len() {
        assert_eq!(expected, actual, "{step}: attack paths");
    }
}

/// One random change to the cluster's objects.
fn mutate(rng: &mut Rng, objects: &[Object], n: usize) -> (Key, Option<Object>) {
    let namespaced: Vec<&Object> = objects
        .iter()
        .filter(|o| o.effective_namespace().is_some())
        .collect();
    let pick = |rng: &mut Rng, kind: &str| -> Option<Object> {
        let of: Vec<&&Object> = namespaced.iter().filter(|o| o.kind == kind).collect();
        (!of.is_empty()).then(|| (*of[rng.below(of.len())]).clone())
    };
    let namespaces: Vec<String> = objects
        .iter()
        .filter_map(|o| o.effective_namespace().map(str::to_string))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ns = namespaces[rng.below(namespaces.len())].clone();
    let labels = |rng: &mut Rng| -> Value {
        let apps: Vec<&Object> = namespaced
            .iter()
            .copied()
            .filter(|o| o.kind == "Deployment" && o.effective_namespace() == Some(ns.as_str()))
            .collect();
        match apps.get(rng.below(apps.len().max(1))) {
            Some(d) => d
                .body
                .pointer("/spec/template/metadata/labels")
                .cloned()
                .unwrap_or(json!({"app": "x"})),
            None => json!({"app": "x"}),
        }
    };
    match rng.below(19) {
        // A bare pod: privileged, host paths, an ingress controller image, another SA.
        0 | 1 => {
            let sa = ["default", "deployer", "builder"][rng.below(3)];
            let image = ["nginx:1", "registry.k8s.io/ingress-nginx/controller:v1.9"][rng.below(2)];
            let host = ["/var/run/docker.sock", "/var/lib/kubelet/pods", "/etc"][rng.below(3)];
            // Sometimes a pod of an existing ReplicaSet (evaluated on its owner).
            let owner = pick(rng, "ReplicaSet")
                .filter(|r| r.effective_namespace() == Some(ns.as_str()))
                .map(|r| {
                    json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": r.name,
                    "uid": r.uid, "controller": true}])
                })
                .unwrap_or(json!([]));
            let pod = json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("probe-{n}"), "namespace": ns, "labels": labels(rng),
                    "ownerReferences": owner},
                "spec": {"serviceAccountName": sa, "nodeName": format!("node-{}", rng.below(3)),
                    "hostPID": rng.below(2) == 0,
                    "volumes": [{"name": "h", "hostPath": {"path": host}}],
                    "containers": [{"name": "c", "image": image,
                        "volumeMounts": [{"name": "h", "mountPath": "/s"}],
                        "securityContext": {"privileged": rng.below(2) == 0}}]}});
            let o = object(pod);
            (key_of(&o), Some(o))
        }
        // Edit a Deployment's template.
        2 | 3 => match pick(rng, "Deployment") {
            Some(mut d) => {
                let spec = d.body.pointer_mut("/spec/template/spec").expect("template");
                match rng.below(3) {
                    0 => spec["hostNetwork"] = json!(true),
                    1 => spec["serviceAccountName"] = json!("deployer"),
                    _ => spec["containers"][0]["securityContext"] = json!({"privileged": true}),
                }
                let o = object(d.body.clone());
                (key_of(&o), Some(o))
            }
            None => mutate(rng, objects, n + 1),
        },
        // Delete a namespaced object of any kind.
        4 | 5 => {
            let o = namespaced[rng.below(namespaced.len())];
            (key_of(o), None)
        }
        // An internet-facing load balancer.
        6 => {
            let svc = json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": format!("lb-{n}"), "namespace": ns},
                "spec": {"type": "LoadBalancer", "selector": labels(rng), "ports": [{"port": 80}]},
                "status": {"loadBalancer": {"ingress": [{"hostname": format!("lb-{n}.elb.amazonaws.com")}]}}});
            let o = object(svc);
            (key_of(&o), Some(o))
        }
        // An Ingress served by the nginx class.
        7 => {
            let svcs: Vec<&Object> = namespaced
                .iter()
                .copied()
                .filter(|o| o.kind == "Service" && o.effective_namespace() == Some(ns.as_str()))
                .collect();
            let backend = svcs
                .get(rng.below(svcs.len().max(1)))
                .map_or("web".to_string(), |s| s.name.clone());
            let ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": format!("ing-{n}"), "namespace": ns},
                "spec": {"ingressClassName": "nginx", "rules": [{"http": {"paths": [{"path": "/",
                    "pathType": "Prefix", "backend": {"service": {"name": backend, "port": {"number": 80}}}}]}}]}});
            let o = object(ing);
            (key_of(&o), Some(o))
        }
        // A RoleBinding granting secrets or pods/exec to a ServiceAccount of another namespace.
        8 => {
            let other = &namespaces[rng.below(namespaces.len())];
            let role = ["edit", "admin", "view", "cluster-admin"][rng.below(4)];
            let rb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": format!("rb-{n}"), "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": other}]});
            let o = object(rb);
            (key_of(&o), Some(o))
        }
        // A ServiceAccount (new, or one pods already name, or an existing one changed): its
        // automount, the cloud identity it asks for, its labels (Calico policies read them) and
        // its uid (token Secrets naming another uid are dead).
        9 => {
            let name = match rng.below(3) {
                0 => format!("sa-{n}"),
                _ => ["default", "deployer", "builder"][rng.below(3)].to_string(),
            };
            let mut sa = match pick(rng, "ServiceAccount").filter(|_| rng.below(2) == 0) {
                Some(existing) => existing.body.clone(),
                None => json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": name, "namespace": ns}}),
            };
            sa["automountServiceAccountToken"] = json!(rng.below(2) == 0);
            let annotation = [
                json!({}),
                json!({"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/app"}),
                json!({"iam.gke.io/gcp-service-account": "app@demo.iam.gserviceaccount.com"}),
                json!({"azure.workload.identity/client-id": "00000000-0000-0000-0000-000000000001"}),
            ][rng.below(4)]
            .clone();
            sa["metadata"]["annotations"] = annotation;
            sa["metadata"]["labels"] = json!({"role": (["edge", "app"][rng.below(2)])});
            sa["metadata"]["uid"] = json!(format!("uid-{}", rng.below(2)));
            let o = object(sa);
            (key_of(&o), Some(o))
        }
        // A Secret of a ServiceAccount (live, dead by its uid, or of another type).
        10 => {
            let ty = [
                "kubernetes.io/service-account-token",
                "Opaque",
                "helm.sh/release.v1",
            ][rng.below(3)];
            let owner = ["default", "deployer"][rng.below(2)];
            let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": ty,
                "metadata": {"name": format!("tok-{}", rng.below(4)), "namespace": ns,
                    "annotations": {"kubernetes.io/service-account.name": owner,
                        "kubernetes.io/service-account.uid": format!("uid-{}", rng.below(2))}}});
            let o = object(secret);
            (key_of(&o), Some(o))
        }
        // A new namespace, a Namespace's Pod Security labels, or its annotations alone (an
        // ignore annotation among them).
        11 => {
            let existing: Vec<&Object> = objects.iter().filter(|o| o.kind == "Namespace").collect();
            if rng.below(3) == 0 && !existing.is_empty() {
                let mut body = existing[rng.below(existing.len())].body.clone();
                let ignore = ["*", "KSPM-N-001", "KSPM-P-001"][rng.below(3)];
                body["metadata"]["annotations"] = match rng.below(3) {
                    0 => json!({"kspm.io/ignore": ignore}),
                    1 => json!({"note": format!("n{n}")}),
                    _ => json!({}),
                };
                body["metadata"]["resourceVersion"] = json!(format!("{n}"));
                let o = object(body);
                return (key_of(&o), Some(o));
            }
            let new = rng.below(2) == 0;
            let name = if new { format!("ns-{n}") } else { ns.clone() };
            let level = ["privileged", "baseline", "restricted"][rng.below(3)];
            let mut labels = json!({"pod-security.kubernetes.io/enforce": level});
            // The team label namespace selectors read (or none).
            if let Some(team) = [Some("a"), Some("b"), None][rng.below(3)] {
                labels["team"] = json!(team);
            }
            let o = object(json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "labels": labels}}));
            (key_of(&o), Some(o))
        }
        // A NetworkPolicy (isolating, or admitting a team's namespaces), a ConfigMap, an
        // EndpointSlice, Calico's policies, tiers and network sets (namespaced and
        // cluster-wide), or a mutating webhook covering a team's namespaces.
        12 => {
            let o = match rng.below(8) {
                6 => object(
                    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": format!("np-{n}"), "namespace": ns},
                    "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": (["a", "b"][rng.below(2)])}}}]}],
                        "egress": [{"to": [{"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["b"]}]}}]}]}}),
                ),
                7 => {
                    let svc = pick(rng, "Service").map_or("web".to_string(), |s| s.name);
                    object(
                        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                        "metadata": {"name": format!("hook-{}", rng.below(2))},
                        "webhooks": [{"name": "m.example.com",
                            "clientConfig": {"service": {"namespace": ns, "name": svc}},
                            "namespaceSelector": {"matchLabels": {"team": (["a", "b"][rng.below(2)])}},
                            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]}),
                    )
                }
                3 => object(
                    json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
                    "metadata": {"name": format!("cnp-{n}"), "namespace": ns},
                    "spec": {"order": (rng.below(3) * 1000), "selector": (["all()", "app == 'web'"][rng.below(2)]),
                        "types": ["Ingress", "Egress"],
                        "ingress": [{"action": (["Allow", "Deny", "Pass"][rng.below(3)]),
                            "source": {"namespaceSelector": "pod-security.kubernetes.io/enforce == 'restricted'"}}],
                        "egress": [{"action": "Deny", "destination": {"selector": "role == 'imds'"}},
                            {"action": "Allow"}]}}),
                ),
                4 => object(
                    json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkSet",
                    "metadata": {"name": format!("set-{n}"), "namespace": ns, "labels": {"role": "imds"}},
                    "spec": {"nets": ["169.254.169.254/32", "fd00:ec2::254/128"]}}),
                ),
                5 => match rng.below(3) {
                    0 => object(
                        json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
                        "metadata": {"name": format!("gnp-{n}")},
                        "spec": {"tier": (["default", "security"][rng.below(2)]), "order": 10,
                            "namespaceSelector": "pod-security.kubernetes.io/enforce != 'privileged'",
                            "selector": "all()", "types": ["Ingress", "Egress"],
                            "ingress": [{"action": "Pass", "source": {"nets": ["0.0.0.0/0", "::/0"]}}],
                            "egress": [{"action": "Deny", "destination": {"selector": "role == 'imds'", "namespaceSelector": "all()"}},
                                {"action": "Pass"}]}}),
                    ),
                    1 => object(json!({"apiVersion": "projectcalico.org/v3", "kind": "Tier",
                        "metadata": {"name": "security"},
                        "spec": {"order": ([100, 2_000_000][rng.below(2)]), "defaultAction": (["Deny", "Pass"][rng.below(2)])}})),
                    _ => object(
                        json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkSet",
                        "metadata": {"name": format!("gset-{n}"), "labels": {"role": "imds"}},
                        "spec": {"nets": ["169.254.169.254/32"]}}),
                    ),
                },
                0 => object(
                    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": format!("np-{n}"), "namespace": ns},
                    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
                ),
                1 => object(json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("cm-{n}"), "namespace": ns},
                    "data": {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}})),
                _ => {
                    let svc = pick(rng, "Service").map_or("web".to_string(), |s| s.name);
                    let ready = rng.below(2) == 0;
                    object(
                        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                        "metadata": {"name": format!("es-{n}"), "namespace": ns,
                            "labels": {"kubernetes.io/service-name": svc}},
                        "addressType": "IPv4",
                        "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": ready}}]}),
                    )
                }
            };
            (key_of(&o), Some(o))
        }
        // RBAC anywhere: ClusterRoleBindings to ServiceAccounts, their namespaces' groups, every
        // ServiceAccount, users and groups; ClusterRoles that impersonate names, aggregate into
        // the defaults or grant Secrets and pods; deleting a cluster-wide binding or role.
        15 => {
            let subject = match rng.below(6) {
                0 => json!({"kind": "ServiceAccount", "name": "default", "namespace": ns}),
                1 => json!({"kind": "Group", "name": format!("system:serviceaccounts:{ns}")}),
                2 => json!({"kind": "Group", "name": "system:authenticated"}),
                3 => json!({"kind": "User", "name": format!("alice-{}", rng.below(3))}),
                4 => json!({"kind": "Group", "name": format!("devs-{}", rng.below(3))}),
                _ => {
                    json!({"kind": "User", "name": format!("system:serviceaccount:{ns}:deployer")})
                }
            };
            let role = ["edit", "view", "cluster-admin", "imp", "secrets", "tokens"][rng.below(6)];
            let o = match rng.below(4) {
                0 | 1 => object(
                    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": format!("crb-{}", rng.below(4))},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                    "subjects": [subject]}),
                ),
                2 => {
                    let rules = match role {
                        "imp" => json!([{"verbs": ["impersonate"], "apiGroups": [""],
                            "resources": ["users", "groups"],
                            "resourceNames": [format!("alice-{}", rng.below(3)), format!("devs-{}", rng.below(3))]}]),
                        "secrets" => {
                            json!([{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["secrets"]}])
                        }
                        // ServiceAccounts by name: impersonated, their tokens minted.
                        "tokens" => json!([{"verbs": ["impersonate"], "apiGroups": [""],
                            "resources": ["serviceaccounts"],
                            "resourceNames": [format!("sa-{}", rng.below(40)), "deployer"]},
                            {"verbs": ["create"], "apiGroups": [""],
                            "resources": ["serviceaccounts/token"],
                            "resourceNames": ["builder", format!("sa-{}", rng.below(40))]}]),
                        _ => {
                            json!([{"verbs": ["create"], "apiGroups": [""], "resources": ["pods", "pods/exec"]}])
                        }
                    };
                    let name = if matches!(role, "imp" | "secrets" | "tokens") {
                        role.to_string()
                    } else {
                        format!("extra-{}", rng.below(2))
                    };
                    let labels = if rng.below(2) == 0 {
                        json!({"rbac.authorization.k8s.io/aggregate-to-edit": "true"})
                    } else {
                        json!({})
                    };
                    object(
                        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                        "metadata": {"name": name, "labels": labels}, "rules": rules}),
                    )
                }
                _ => {
                    let rbac: Vec<&Object> = objects
                        .iter()
                        .filter(|o| matches!(o.kind.as_str(), "ClusterRoleBinding" | "ClusterRole"))
                        .collect();
                    match rbac.get(rng.below(rbac.len().max(1))) {
                        Some(o) => return (key_of(o), None),
                        None => return mutate(rng, objects, n + 1),
                    }
                }
            };
            (key_of(&o), Some(o))
        }
        // A namespace's own Role and RoleBinding, or another subject on an existing RoleBinding.
        16 => {
            let o = match (rng.below(3), pick(rng, "RoleBinding")) {
                (0, Some(mut rb)) => {
                    let other = &namespaces[rng.below(namespaces.len())];
                    rb.body["subjects"] = json!([{"kind": "ServiceAccount",
                        "name": (["default", "deployer"][rng.below(2)]), "namespace": other}]);
                    object(rb.body.clone())
                }
                (1, _) => object(
                    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": "local", "namespace": ns},
                    "rules": [{"verbs": [(["get", "*"][rng.below(2)])], "apiGroups": [""],
                        "resources": [(["secrets", "pods", "serviceaccounts"][rng.below(3)])]}]}),
                ),
                _ => object(
                    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": "local", "namespace": ns},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "local"},
                    "subjects": [{"kind": "ServiceAccount", "name": (["default", "deployer"][rng.below(2)]), "namespace": ns}]}),
                ),
            };
            (key_of(&o), Some(o))
        }
        // Nodes come and go (node pools without listed nodes leave workloads their roles),
        // report their status, change pools (the labels pods' placement reads) or get an
        // external address (NodePorts then face the internet).
        13 => {
            let nodes: Vec<&Object> = objects.iter().filter(|o| o.kind == "Node").collect();
            let pools: Vec<String> = nodes
                .iter()
                .flat_map(|n| {
                    [
                        "eks.amazonaws.com/nodegroup",
                        "cloud.google.com/gke-nodepool",
                    ]
                    .iter()
                    .filter_map(|l| n.labels.get(*l).cloned())
                })
                .chain(["other-pool".to_string()])
                .collect();
            match (rng.below(4), nodes.get(rng.below(nodes.len().max(1)))) {
                (0, Some(node)) => (key_of(node), None),
                (1, Some(node)) => {
                    // A status report: what no check or technique reads.
                    let mut body = node.body.clone();
                    body["metadata"]["resourceVersion"] = json!(format!("{n}"));
                    body["status"]["conditions"] = json!([{"type": "Ready", "status": "True",
                        "lastHeartbeatTime": format!("2026-12-06T12:{:02}:00Z", n % 60)}]);
                    let o = object(body);
                    (key_of(&o), Some(o))
                }
                (2, Some(node)) => {
                    let mut body = node.body.clone();
                    let label = [
                        "eks.amazonaws.com/nodegroup",
                        "cloud.google.com/gke-nodepool",
                    ][rng.below(2)];
                    body["metadata"]["labels"][label] = json!(pools[rng.below(pools.len())]);
                    let o = object(body);
                    (key_of(&o), Some(o))
                }
                _ => {
                    // A node named as placed pods name theirs (or an existing one's name).
                    let name = match nodes.get(rng.below(nodes.len() + 3)) {
                        Some(node) => node.name.clone(),
                        None => format!("node-{}", rng.below(3)),
                    };
                    let label = [
                        "eks.amazonaws.com/nodegroup",
                        "cloud.google.com/gke-nodepool",
                    ][rng.below(2)];
                    let mut addresses = vec![json!({"type": "InternalIP", "address": "10.0.0.9"})];
                    if rng.below(3) == 0 {
                        addresses.push(json!({"type": "ExternalIP", "address": "203.0.113.9"}));
                    }
                    let o = object(json!({"apiVersion": "v1", "kind": "Node",
                        "metadata": {"name": name, "labels": {label: pools[rng.below(pools.len())]}},
                        "status": {"addresses": addresses}}));
                    (key_of(&o), Some(o))
                }
            }
        }
        // A namespace deleted (its Namespace: the batch takes what is in it, as the namespace
        // controller deletes it: see `run_with`), or EKS's aws-auth changed.
        17 if rng.below(2) == 0 => {
            deleted_namespace(rng, objects).unwrap_or_else(|| aws_auth(rng, n))
        }
        17 | 18 => aws_auth(rng, n),
        // Change a Service's selector or type.
        _ => match pick(rng, "Service") {
            Some(mut s) => {
                let ty = ["NodePort", "ClusterIP", "LoadBalancer"][rng.below(3)];
                s.body["spec"]["type"] = json!(ty);
                s.body["spec"]["selector"] = labels(rng);
                let o = object(s.body.clone());
                (key_of(&o), Some(o))
            }
            None => mutate(rng, objects, n + 1),
        },
    }
}

/// A Namespace deleted (of those made by [`mutate_labels`], `fresh-…`, two times in three when
/// there are some; one with objects in it only while three namespaces hold some); `None` when
/// there is none.
fn deleted_namespace(rng: &mut Rng, objects: &[Object]) -> Option<(Key, Option<Object>)> {
    let holding: BTreeSet<&str> = objects
        .iter()
        .filter_map(|o| o.effective_namespace())
        .collect();
    let namespaces: Vec<&Object> = objects
        .iter()
        .filter(|o| o.kind == "Namespace")
        .filter(|o| holding.len() >= 3 || !holding.contains(o.name.as_str()))
        .collect();
    let fresh: Vec<&Object> = namespaces
        .iter()
        .copied()
        .filter(|o| o.name.starts_with("fresh-"))
        .collect();
    let from = if !fresh.is_empty() && rng.below(3) > 0 {
        fresh
    } else {
        namespaces
    };
    let o = from.get(rng.below(from.len()))?;
    Some((key_of(o), None))
}

/// EKS's aws-auth ConfigMap: deleted, malformed, or mapping an IAM role and a user (of the demo
/// account's — one an access entry overrides among them — or another's) to a group (`system:masters`, one the demo's RBAC binds, the nodes',
/// or one nothing binds).
fn aws_auth(rng: &mut Rng, n: usize) -> (Key, Option<Object>) {
    let key = (
        "ConfigMap".to_string(),
        "kube-system".to_string(),
        "aws-auth".to_string(),
    );
    if rng.below(6) == 0 {
        return (key, None);
    }
    let group = |rng: &mut Rng| {
        [
            "system:masters".to_string(),
            "oncall-engineers".to_string(),
            "system:nodes".to_string(),
            format!("team-{}", rng.below(3)),
        ][rng.below(4)]
        .clone()
    };
    let role = [
        "arn:aws:iam::123456789012:role/github-actions-deploy",
        "arn:aws:iam::123456789012:role/shop-developers",
        "arn:aws:iam::123456789012:role/ops-instance-admin",
        "arn:aws:iam::123456789012:role/eks-prod-general-node-role",
        "arn:aws:iam::111122223333:role/app",
    ][rng.below(5)];
    let map_roles = if rng.below(6) == 0 {
        "- rolearn: [unclosed".to_string()
    } else {
        let username = ["deployer", "system:node:{{EC2PrivateDNSName}}"][rng.below(2)];
        format!(
            "- rolearn: {role}\n  username: {username}\n  groups:\n  - {}\n",
            group(rng)
        )
    };
    let map_users = format!(
        "- userarn: arn:aws:iam::123456789012:user/jane.ops\n  username: jane-{}\n  groups:\n  - {}\n",
        n % 2,
        group(rng)
    );
    let o = object(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": {"mapRoles": map_roles, "mapUsers": map_users}}));
    (key, Some(o))
}

/// An evaluator's objects, findings and paths, as comparable sets.
fn summary(inc: &Incremental) -> (Vec<String>, BTreeSet<String>, BTreeSet<String>) {
    let objects = inc
        .objects()
        .map(|o| format!("{:?} {}", key_of(o), o.body))
        .collect();
    let findings = inc
        .findings()
        .into_iter()
        .map(kspm_engine::drift::finding_key)
        .collect();
    let paths = inc
        .paths()
        .iter()
        .flat_map(|p| p.with_folded())
        .map(|p| p.id)
        .collect();
    (objects, findings, paths)
}

/// A delta's findings and paths, added and resolved, as comparable sets (with the added
/// findings' attack-path facts).
fn delta_summary(d: &kspm_engine::incremental::Delta) -> [BTreeSet<String>; 4] {
    let findings = |fs: &[kspm_engine::Finding]| {
        fs.iter()
            .map(|f| {
                format!(
                    "{} {:?} {:?}",
                    kspm_engine::drift::finding_key(f),
                    f.on_attack_path,
                    f.blast_radius
                )
            })
            .collect()
    };
    let paths = |ps: &[kspm_engine::report::AttackPath]| ps.iter().map(|p| p.id.clone()).collect();
    [
        findings(&d.added_findings),
        findings(&d.resolved_findings),
        paths(&d.added_paths),
        paths(&d.resolved_paths),
    ]
}

fn run(meta: ClusterSnapshot, seed: u64, batches: usize) -> Exercised {
    run_with(meta, seed, batches, ScanOptions::default(), mutate)
}

/// A random change of [`mutate_labels`]'s weight: two in six relabel an existing Namespace
/// (its team, environment and Pod Security level), one in six adds a Namespace (alone in its
/// namespace), one in six deletes one ([`deleted_namespace`]), one in six adds what reads those
/// labels (a policy admitting a team, a binding that lets a namespace's ServiceAccounts create
/// workloads in another), the rest are [`mutate`]'s.
fn mutate_labels(rng: &mut Rng, objects: &[Object], n: usize) -> (Key, Option<Object>) {
    let namespaces: Vec<&Object> = objects.iter().filter(|o| o.kind == "Namespace").collect();
    let name = |rng: &mut Rng| namespaces[rng.below(namespaces.len())].name.clone();
    let o = match rng.below(6) {
        5 => return deleted_namespace(rng, objects).unwrap_or_else(|| mutate(rng, objects, n)),
        4 => {
            let team = ["a", "b"][rng.below(2)];
            let level = ["privileged", "restricted"][rng.below(2)];
            object(json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": format!("fresh-{n}"),
                    "labels": {"team": team, "pod-security.kubernetes.io/enforce": level}}}))
        }
        0 | 1 if !namespaces.is_empty() => {
            let mut body = namespaces[rng.below(namespaces.len())].body.clone();
            let mut labels = body["metadata"]["labels"].clone();
            if !labels.is_object() {
                labels = json!({});
            }
            let (key, values): (&str, &[&str]) = [
                ("team", &["a", "b"][..]),
                ("env", &["prod", "dev"][..]),
                (
                    "pod-security.kubernetes.io/enforce",
                    &["privileged", "baseline", "restricted"][..],
                ),
            ][rng.below(3)];
            match rng.below(values.len() + 1) {
                i if i < values.len() => labels[key] = json!(values[i]),
                _ => {
                    labels.as_object_mut().map(|m| m.remove(key));
                }
            }
            body["metadata"]["labels"] = labels;
            object(body)
        }
        2 if !namespaces.is_empty() => {
            let ns = name(rng);
            if rng.below(2) == 0 {
                object(
                    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": format!("team-{}", rng.below(3)), "namespace": ns},
                    "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": (["a", "b"][rng.below(2)])}}}]}]}}),
                )
            } else {
                let from = name(rng);
                object(
                    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": format!("deploy-{}", rng.below(3)), "namespace": ns},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                    "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": from}]}),
                )
            }
        }
        _ => return mutate(rng, objects, n),
    };
    (key_of(&o), Some(o))
}

/// A random change to a cluster's objects (the `n`th).
type Mutate = fn(&mut Rng, &[Object], usize) -> (Key, Option<Object>);

/// How many batches the dependency rules of the rarer kinds evaluated without the whole
/// cluster ([`run_with`]).
#[derive(Debug, Default)]
struct Exercised {
    /// Batches that deleted a Namespace (with what was in it, or after it).
    namespaces_removed: usize,
    /// Batches that changed EKS's aws-auth ConfigMap.
    aws_auth: usize,
}

impl std::ops::AddAssign for Exercised {
    fn add_assign(&mut self, other: Exercised) {
        self.namespaces_removed += other.namespaces_removed;
        self.aws_auth += other.aws_auth;
    }
}

/// [`run`], evaluating with `options`, drawing changes from `mutate`.
fn run_with(
    meta: ClusterSnapshot,
    seed: u64,
    batches: usize,
    options: ScanOptions,
    mutate: Mutate,
) -> Exercised {
    let mut exercised = Exercised::default();
    let mut inc = Incremental::new(meta.clone(), options);
    let mut meta = meta;
    meta.objects.clear();
    let first = inc.apply(Vec::new());
    assert!(first.whole_cluster);
    assert_equivalent(&inc, &meta, "initial");
    // The deltas add up: the findings known from them equal the state.
    let mut known: BTreeMap<String, usize> = BTreeMap::new();
    for f in &first.added_findings {
        *known.entry(kspm_engine::drift::finding_key(f)).or_default() += 1;
    }
    let mut paths: BTreeSet<String> = first.added_paths.iter().map(|p| p.id.clone()).collect();
    let mut rng = Rng(seed);
    let mut partial = 0;
    // A Namespace whose objects a batch deleted, deleted in the next (as a watch sees the
    // namespace controller's work: the Namespace's deletion comes last).
    let mut last: Vec<(Key, Option<Object>)> = Vec::new();
    for b in 0..batches {
        let objects: Vec<Object> = inc.objects().cloned().collect();
        let size = if rng.below(3) == 0 {
            2 + rng.below(2)
        } else {
            1
        };
        let mut changes: Vec<(Key, Option<Object>)> = std::mem::take(&mut last);
        for i in 0..size {
            let (key, object) = mutate(&mut rng, &objects, b * 10 + i);
            if key.0 == "Namespace" && object.is_none() {
                // What is in it goes with it (as the webhook reviews the deletion), or goes
                // first.
                let mut deleted = inc.deletion("Namespace", key);
                if rng.below(3) == 0 {
                    last.extend(deleted.pop());
                }
                changes.extend(deleted);
            } else {
                changes.push((key, object));
            }
        }
        let what: Vec<String> = changes
            .iter()
            .map(|(k, o)| format!("{}{:?}", if o.is_some() { "+" } else { "-" }, k))
            .collect();
        let removes_namespace = changes
            .iter()
            .any(|((kind, _, _), o)| kind == "Namespace" && o.is_none());
        let changes_aws_auth = changes.iter().any(|((kind, ns, name), _)| {
            kind == "ConfigMap" && ns == "kube-system" && name == "aws-auth"
        });
        // A preview says what the apply will, and leaves the evaluation as it was.
        let preview = (b % 3 == 0).then(|| {
            let before = summary(&inc);
            let preview = inc.preview(changes.clone());
            assert_eq!(
                summary(&inc),
                before,
                "batch {b} {what:?}: the preview changed the state"
            );
            // The graph it put back is the cluster's too.
            assert_equivalent(&inc, &meta, &format!("batch {b} {what:?}, after a preview"));
            preview
        });
        let delta = inc.apply(changes);
        if let Some(preview) = preview {
            assert_eq!(
                delta_summary(&preview),
                delta_summary(&delta),
                "batch {b} {what:?}: the preview differs from the apply"
            );
        }
        partial += usize::from(!delta.whole_cluster);
        if !delta.whole_cluster {
            exercised.namespaces_removed += usize::from(removes_namespace);
            exercised.aws_auth += usize::from(changes_aws_auth);
        }
        let step = format!(
            "batch {b} {what:?} (whole cluster: {})",
            delta.whole_cluster
        );
        assert_equivalent(&inc, &meta, &step);
        for f in &delta.resolved_findings {
            known.remove(&kspm_engine::drift::finding_key(f));
        }
        for f in &delta.added_findings {
            *known.entry(kspm_engine::drift::finding_key(f)).or_default() += 1;
        }
        let state: BTreeSet<String> = inc
            .findings()
            .into_iter()
            .map(kspm_engine::drift::finding_key)
            .collect();
        assert_eq!(
            known.keys().cloned().collect::<BTreeSet<_>>(),
            state,
            "{step}: deltas do not add up to the findings"
        );
        for p in &delta.resolved_paths {
            paths.remove(&p.id);
        }
        paths.extend(delta.added_paths.iter().map(|p| p.id.clone()));
        // Deltas count folded paths too (a path folded into another still exists).
        let now: BTreeSet<String> = inc
            .paths()
            .iter()
            .flat_map(|p| p.with_folded())
            .map(|p| p.id)
            .collect();
        assert_eq!(paths, now, "{step}: path deltas do not add up");
    }
    assert!(
        partial * 4 >= batches,
        "only {partial} of {batches} batches were evaluated namespace by namespace"
    );
    exercised
}

#[test]
fn incremental_equals_full_evaluation_with_exceptions_annotations_and_read_errors() {
    // What the service evaluates with: the tenant's exceptions (one of every finding of a
    // check, one of a resource glob), an object that ignores every check by annotation, and
    // read errors of the cluster.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-fleet");
    let mut cluster = load(&root.join("eks-prod-us-east-1"));
    let ignored = cluster
        .objects
        .iter_mut()
        .find(|o| o.kind == "Deployment")
        .expect("a Deployment");
    ignored
        .annotations
        .insert(kspm_engine::options::IGNORE_ANNOTATION.into(), "*".into());
    if let Some(meta) = ignored.body.get_mut("metadata") {
        meta["annotations"][kspm_engine::options::IGNORE_ANNOTATION] = json!("*");
    }
    cluster.errors.push(kspm_engine::LoadError {
        file: "api://eks-prod-us-east-1/pods/shop/bad".into(),
        line: None,
        column: None,
        message: "not a Kubernetes object: `kind` is missing".into(),
    });
    let mut options = ScanOptions::default();
    for (check, resource) in [("KSPM-W-001", None), ("*", Some("*:kube-system/*"))] {
        options.exceptions.push(kspm_engine::options::Exception {
            check: check.into(),
            resource: resource.map(str::to_string),
            cluster: None,
            reason: "accepted".into(),
            expires: None,
        });
    }
    run_with(cluster, 41, 30, options, mutate);
}

#[test]
fn incremental_equals_full_evaluation_on_the_demo_clusters() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-fleet");
    let plan = kspm_collectors::files::plan(std::slice::from_ref(&root));
    let (cloud, errors) = kspm_collectors::files::load_fleet_cloud(&plan);
    assert!(errors.is_empty() && !cloud.is_empty(), "{errors:?}");
    let mut exercised = Exercised::default();
    for (i, name) in [
        "eks-prod-us-east-1",
        "gke-staging-eu",
        "aks-payments-westeurope",
    ]
    .iter()
    .enumerate()
    {
        // The fleet's IAM documents join the cluster's, so the cloud bridges grant what they
        // allow.
        let mut cluster = load(&root.join(name));
        cluster.objects.extend(cloud.iter().cloned());
        for extra in 0..=extra_seeds() {
            exercised += run(cluster.clone(), 7 + i as u64 + 100 * extra, 60);
        }
    }
    // The rule for aws-auth was exercised. (A namespace's deletion is, in the other tests:
    // here Calico's and Cilium's objects, which read Namespaces' labels anywhere, take the whole
    // cluster.)
    assert!(exercised.aws_auth > 0, "{exercised:?}");
}

/// A whole scan runs the checks that do not declare the attack graph among their needs while the
/// graph is being built, with none to read: each must give the same hits with and without it
/// (a check that read the graph undeclared would lose its hits in whole scans only).
#[test]
fn only_the_checks_that_declare_the_graph_read_it() {
    use kspm_engine::checks::{catalogue, Context};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-fleet");
    let plan = kspm_collectors::files::plan(std::slice::from_ref(&root));
    let (cloud, errors) = kspm_collectors::files::load_fleet_cloud(&plan);
    assert!(errors.is_empty(), "{errors:?}");
    let options = ScanOptions::default();
    let mut compared = 0;
    for name in [
        "eks-prod-us-east-1",
        "gke-staging-eu",
        "aks-payments-westeurope",
    ] {
        let mut cluster = load(&root.join(name));
        cluster.objects.extend(cloud.iter().cloned());
        let inv = kspm_engine::inventory::Inventory::new(&cluster);
        let rbac = kspm_engine::evaluate::effective_rbac(&cluster);
        let mut graph = kspm_engine::graph::AttackGraph::default();
        graph.build_cluster_with(&cluster, &inv, &rbac, &options.vulnerabilities);
        let with = Context {
            inv: &inv,
            rbac: &rbac,
            graph: Some(&graph),
            options: &options,
            reports: &kspm_engine::checks::every_object,
        };
        let without = Context {
            graph: None,
            ..with
        };
        let rows = |hits: Vec<kspm_engine::checks::Hit<'_>>| {
            hits.iter()
                .map(|h| {
                    format!(
                        "{} {} {:?} {:?}",
                        h.object.node_ref(),
                        h.message,
                        h.evidence,
                        h.severity
                    )
                })
                .collect::<Vec<_>>()
        };
        for check in catalogue() {
            if check.needs.reads_the_graph() {
                assert!(check.needs.missing(&without).is_some(), "{}", check.id);
                continue;
            }
            let (a, b) = (rows((check.run)(&with)), rows((check.run)(&without)));
            assert_eq!(
                a, b,
                "{} reads the attack graph without declaring it",
                check.id
            );
            compared += a.len();
        }
    }
    assert!(
        compared > 50,
        "the demo clusters give hits to compare: {compared}"
    );
}

/// How many more seeds the random-batch tests run (`KSPM_INCREMENTAL_SEEDS`, 0 by default):
/// for a longer search by hand after a change to the engine's invalidation.
fn extra_seeds() -> u64 {
    std::env::var("KSPM_INCREMENTAL_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn incremental_equals_full_evaluation_on_a_generated_cluster() {
    let tmp = tempfile::tempdir().expect("tmp");
    kspm_fleetgen::generate(tmp.path(), kspm_fleetgen::Shape::realistic(1, 300, true), 5)
        .expect("generate");
    let cluster = load(&tmp.path().join("cluster-00"));
    let mut exercised = Exercised::default();
    for extra in 0..=extra_seeds() {
        exercised += run(cluster.clone(), 99 + 100 * extra, 80);
    }
    assert!(exercised.namespaces_removed > 0, "{exercised:?}");
}

/// Namespaces relabeled, among changes to what reads their labels: the cluster part and only
/// the namespaces that read them are evaluated again, with the same result as a full evaluation.
#[test]
fn incremental_equals_full_evaluation_when_namespaces_are_relabeled() {
    let tmp = tempfile::tempdir().expect("tmp");
    kspm_fleetgen::generate(
        tmp.path(),
        kspm_fleetgen::Shape::realistic(1, 120, true),
        11,
    )
    .expect("generate");
    let cluster = load(&tmp.path().join("cluster-00"));
    let mut exercised = Exercised::default();
    for extra in 0..=extra_seeds() {
        exercised += run_with(
            cluster.clone(),
            7 + 100 * extra,
            40,
            ScanOptions::default(),
            mutate_labels,
        );
    }
    assert!(exercised.namespaces_removed > 0, "{exercised:?}");
}

/// An incremental evaluator of cluster `c` holding `objects`, evaluated once and checked
/// against a full evaluation; with the cluster's metadata (no objects) for later checks.
fn started(objects: Vec<Object>) -> (Incremental, ClusterSnapshot) {
    let mut meta = ClusterSnapshot::default();
    meta.info.name = "c".into();
    meta.objects = objects;
    let mut inc = Incremental::new(meta.clone(), ScanOptions::default());
    meta.objects.clear();
    assert!(inc.apply(Vec::new()).whole_cluster);
    assert_equivalent(&inc, &meta, "initial");
    (inc, meta)
}

/// Whether the evaluator's graph has an edge from `from` to `to` in cluster `c`.
fn edge(inc: &Incremental, from: &str, to: &str) -> bool {
    let g = inc.graph().expect("graph");
    let (Some(a), Some(b)) = (g.find(Some("c"), from), g.find(Some("c"), to)) else {
        return false;
    };
    g.graph.edges_connecting(a, b).next().is_some()
}

/// Ingress `app/i` of class nginx, whose default backend is Service `app/web` (port 80 to the
/// pods' 8080, pods labelled app=web).
fn nginx_ingress_to_web() -> [Object; 2] {
    [
        object(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "app"},
            "spec": {"ingressClassName": "nginx", "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}),
        ),
        object(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "app"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
        ),
    ]
}

/// Facts one namespace's change can flip for every other namespace: whether any pod is placed
/// on a node ("any node" then hosts only known pods), and the Namespace labels a webhook's
/// namespaceSelector matches (a namespace part holds only its own Namespace object).
#[test]
fn incremental_follows_scheduling_and_namespace_labels() {
    let ns = |name: &str, labels: Value| {
        object(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}),
        )
    };
    let deploy = |name: &str, namespace: &str, spec: Value| {
        object(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}),
        )
    };
    let objects = vec![
        ns("app", json!({"inject": "true"})),
        ns("agents", json!({})),
        ns("kyverno", json!({})),
        object(
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "agents"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}},
              "spec": {"containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": true}}]}}}}),
        ),
        deploy(
            "ops",
            "app",
            json!({"serviceAccountName": "ops", "containers": [{"name": "c", "image": "x:1"}]}),
        ),
        object(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "ops"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "ops", "namespace": "app"}]}),
        ),
        deploy(
            "kyverno",
            "kyverno",
            json!({"containers": [{"name": "c", "image": "x:1"}]}),
        ),
        object(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kyverno-svc", "namespace": "kyverno"},
            "spec": {"selector": {"app": "kyverno"}, "ports": [{"port": 443}]}}),
        ),
        object(
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration", "metadata": {"name": "kyverno"},
            "webhooks": [{"name": "m.kyverno.svc", "clientConfig": {"service": {"namespace": "kyverno", "name": "kyverno-svc"}},
              "namespaceSelector": {"matchLabels": {"inject": "true"}},
              "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]}),
        ),
    ];
    let (mut inc, meta) = started(objects);
    assert!(edge(&inc, "Node:*", "Deployment:app/ops"));
    assert!(edge(
        &inc,
        "Deployment:kyverno/kyverno",
        "ServiceAccounts:app"
    ));
    // Only the kyverno namespace changes: the selector still sees app's label.
    let changed = deploy(
        "kyverno",
        "kyverno",
        json!({"containers": [{"name": "c", "image": "x:2"}]}),
    );
    let d = inc.apply(vec![(key_of(&changed), Some(changed))]);
    assert!(!d.whole_cluster);
    assert_equivalent(&inc, &meta, "kyverno changed");
    assert!(edge(
        &inc,
        "Deployment:kyverno/kyverno",
        "ServiceAccounts:app"
    ));
    // A scheduled pod appears in a third namespace: placement is known from now on.
    let placed = object(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "agents"},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "x:1"}]}}),
    );
    inc.apply(vec![(key_of(&placed), Some(placed.clone()))]);
    assert_equivalent(&inc, &meta, "first scheduled pod");
    assert!(!edge(&inc, "Node:*", "Deployment:app/ops"));
    // ... and gone again.
    inc.apply(vec![(key_of(&placed), None)]);
    assert_equivalent(&inc, &meta, "last scheduled pod gone");
    assert!(edge(&inc, "Node:*", "Deployment:app/ops"));
}

/// An Ingress's route to its backend depends on policies of two namespaces: the backend's
/// ingress (its own namespace) and the ingress controller's egress (the controller's, which
/// the controller's namespace part feeds every namespace with an Ingress). Changing either
/// namespace alone must give what a full evaluation gives. With Calico too (its policies
/// re-evaluate the whole cluster), whose rules may read the controller's ServiceAccount labels,
/// an object of another namespace than the backend's part.
#[test]
fn incremental_follows_the_policies_between_an_ingress_controller_and_its_backends() {
    let ns = |name: &str| {
        object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
    };
    let np = |namespace: &str, name: &str, spec: Value| {
        object(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}),
        )
    };
    let mut objects = vec![
        ns("ingress-nginx"),
        ns("app"),
        object(
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ingress-nginx", "namespace": "ingress-nginx", "labels": {"role": "edge"}}}),
        ),
        object(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "controller", "namespace": "ingress-nginx"},
            "spec": {"selector": {"matchLabels": {"app": "ctrl"}}, "template": {"metadata": {"labels": {"app": "ctrl"}},
              "spec": {"serviceAccountName": "ingress-nginx", "containers": [{"name": "c", "image": "registry.k8s.io/ingress-nginx/controller:v1.12.1"}]}}}}),
        ),
        object(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "controller", "namespace": "ingress-nginx"},
            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "selector": {"app": "ctrl"}, "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}}),
        ),
        object(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "app"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
              "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}),
        ),
    ];
    objects.extend(nginx_ingress_to_web());
    let (mut inc, meta) = started(objects);
    let routed = |inc: &Incremental| edge(inc, "Ingress:app/i", "Service:app/web");
    assert!(routed(&inc));
    let step = |inc: &mut Incremental, what: &str, o: Object, present: bool, expected: bool| {
        let d = inc.apply(vec![(key_of(&o), present.then_some(o.clone()))]);
        assert!(!d.whole_cluster, "{what}: one namespace changed");
        assert_equivalent(inc, &meta, what);
        assert_eq!(routed(inc), expected, "{what}");
    };
    // The backend's namespace alone: default-deny ingress, then a rule admitting the controller.
    let deny = np(
        "app",
        "deny",
        json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
    );
    step(&mut inc, "backend default-deny", deny, true, false);
    let admit = np(
        "app",
        "from-ingress",
        json!({"podSelector": {}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]}]}),
    );
    step(
        &mut inc,
        "admit the controller's namespace",
        admit.clone(),
        true,
        true,
    );
    // The controller's namespace alone: default-deny egress, then lifted.
    let no_egress = np(
        "ingress-nginx",
        "no-egress",
        json!({"podSelector": {}, "policyTypes": ["Egress"]}),
    );
    step(
        &mut inc,
        "controller default-deny egress",
        no_egress.clone(),
        true,
        false,
    );
    step(&mut inc, "controller egress lifted", no_egress, false, true);
    step(&mut inc, "admission removed", admit, false, false);
    // Calico: admitted by the source's ServiceAccount labels (another namespace's object;
    // `namespaceSelector` lets the rule look outside the policy's namespace).
    let calico = |selector: &str| {
        object(
            json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "edge", "namespace": "app"},
            "spec": {"order": 10, "selector": "all()", "types": ["Ingress"], "ingress": [
              {"action": "Allow", "source": {"namespaceSelector": "all()", "serviceAccounts": {"selector": selector}}}]}}),
        )
    };
    let d = inc.apply(vec![(
        key_of(&calico("role == 'edge'")),
        Some(calico("role == 'edge'")),
    )]);
    assert_equivalent(&inc, &meta, "calico admits the controller's ServiceAccount");
    assert!(routed(&inc), "whole cluster: {}", d.whole_cluster);
    let d = inc.apply(vec![(
        key_of(&calico("role == 'batch'")),
        Some(calico("role == 'batch'")),
    )]);
    assert_equivalent(&inc, &meta, "calico admits another ServiceAccount");
    assert!(!routed(&inc), "whole cluster: {}", d.whole_cluster);
}

/// A backend's Namespace relabeled out of what an ingress controller's egress policy admits:
/// the route closes, as a full evaluation finds, whatever other namespace with an internet-facing
/// load balancer comes later (each namespace part keeps a copy of every Namespace's labels as they
/// were when it was evaluated; the gathered exposure reads the cluster's, not the last copy).
#[test]
fn a_relabeled_backend_namespace_closes_the_controllers_route() {
    let ns = |name: &str, labels: Value| {
        object(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}),
        )
    };
    let deploy = |ns: &str, app: &str, image: &str| {
        object(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app, "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": app}},
                "template": {"metadata": {"labels": {"app": app}},
                    "spec": {"containers": [{"name": "c", "image": image}]}}}}))
    };
    let lb = |ns: &str, app: &str, ip: &str| {
        object(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": ns},
            "spec": {"type": "LoadBalancer", "selector": {"app": app}, "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}),
        )
    };
    let mut objects = vec![
        ns("app", json!({"ingress": "allowed"})),
        ns("ingress-nginx", json!({})),
        // Later than both, with a load balancer of its own: its part holds app's labels too.
        ns("zz-shop", json!({})),
        deploy(
            "ingress-nginx",
            "ctrl",
            "registry.k8s.io/ingress-nginx/controller:v1.12.1",
        ),
        lb("ingress-nginx", "ctrl", "203.0.113.10"),
        object(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "egress", "namespace": "ingress-nginx"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [
                {"namespaceSelector": {"matchLabels": {"ingress": "allowed"}}}]}]}}),
        ),
        deploy("zz-shop", "shop", "x:1"),
        lb("zz-shop", "shop", "203.0.113.20"),
        deploy("app", "web", "x:1"),
    ];
    objects.extend(nginx_ingress_to_web());
    let (mut inc, meta) = started(objects);
    let routed = |inc: &Incremental| edge(inc, "Ingress:app/i", "Service:app/web");
    assert!(routed(&inc), "the controller may send to app");
    let relabel = |inc: &mut Incremental, labels: Value| {
        let o = ns("app", labels);
        inc.apply([(key_of(&o), Some(o))])
    };
    // A label the controller's policy does not read: nothing it decides changes.
    let d = relabel(&mut inc, json!({"ingress": "allowed", "team": "web"}));
    assert!(!d.whole_cluster);
    assert_equivalent(&inc, &meta, "a label no selector reads");
    assert!(routed(&inc));
    let d = relabel(&mut inc, json!({"team": "web"}));
    assert!(!d.whole_cluster);
    assert_equivalent(&inc, &meta, "out of the controller's egress");
    assert!(!routed(&inc), "the controller may no longer send to app");
    let d = relabel(&mut inc, json!({"ingress": "allowed"}));
    assert!(!d.whole_cluster);
    assert_equivalent(&inc, &meta, "back in");
    assert!(routed(&inc));
}

/// A load balancer's changes reach the Ingresses at its address, and those alone: a new one
/// elsewhere, egress closed and opened again in its namespace, its address moved (each step
/// as a full evaluation finds it).
#[test]
fn load_balancer_changes_reach_the_ingresses_at_their_addresses() {
    let ns = |name: &str| {
        object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
    };
    let deploy = |ns: &str, app: &str| {
        object(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app, "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": app}},
                "template": {"metadata": {"labels": {"app": app}},
                    "spec": {"containers": [{"name": "c", "image": "x:1", "ports": [{"containerPort": 8080}]}]}}}}))
    };
    let lb = |ns: &str, name: &str, app: &str, ip: &str| {
        object(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"type": "LoadBalancer", "selector": {"app": app}, "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}),
        )
    };
    let ingress = |ns: &str, ip: &str| {
        [
            object(
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": ns},
                "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}},
                "status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}),
            ),
            object(
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
            ),
            deploy(ns, "web"),
        ]
    };
    let mut objects = vec![
        ns("edge"),
        ns("app"),
        ns("other"),
        ns("zz"),
        deploy("edge", "proxy"),
        lb("edge", "proxy", "proxy", "203.0.113.10"),
        deploy("zz", "shop"),
    ];
    objects.extend(ingress("app", "203.0.113.10"));
    objects.extend(ingress("other", "203.0.113.99"));
    let (mut inc, meta) = started(objects);
    let routed = |inc: &Incremental| edge(inc, "Ingress:app/i", "Service:app/web");
    assert!(routed(&inc), "the proxy at app's address may send to web");
    let mut step = |what: &str, o: Object, present: bool, expected: bool| {
        let d = inc.apply([(key_of(&o), present.then_some(o.clone()))]);
        assert!(!d.whole_cluster, "{what}");
        assert_equivalent(&inc, &meta, what);
        assert_eq!(routed(&inc), expected, "{what}");
    };
    step(
        "another load balancer, at an address no Ingress has",
        lb("zz", "shop", "shop", "198.51.100.1"),
        true,
        true,
    );
    let no_egress = object(
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "no-egress", "namespace": "edge"},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}),
    );
    step("the proxy's egress closed", no_egress.clone(), true, false);
    step("and opened again", no_egress, false, true);
    step(
        "the proxy's load balancer at another address",
        lb("edge", "proxy", "proxy", "203.0.113.11"),
        true,
        false,
    );
    step(
        "and back",
        lb("edge", "proxy", "proxy", "203.0.113.10"),
        true,
        true,
    );
}

/// KSPM-N-019 under Calico's order, as a full evaluation judges it: kube-system's default deny
/// closes it, a GlobalNetworkPolicy admitting every namespace first opens it, and a Calico
/// policy of kube-system denying some namespaces before that closes it again.
#[test]
fn incremental_judges_sensitive_namespaces_in_calicos_order() {
    let (mut inc, meta) = started(vec![
        object(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}),
        ),
        object(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coredns", "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-dns"}}, "template": {"metadata": {"labels": {"k8s-app": "kube-dns"}},
              "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}),
        ),
        object(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "kube-system"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        ),
    ]);
    let open = |inc: &Incremental| inc.findings().iter().any(|f| f.check == "KSPM-N-019");
    assert!(!open(&inc), "default deny");
    let gnp = object(
        json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "open"},
        "spec": {"order": 10, "selector": "all()", "types": ["Ingress"], "ingress": [{"action": "Allow", "source": {"namespaceSelector": "all()"}}]}}),
    );
    inc.apply(vec![(key_of(&gnp), Some(gnp))]);
    assert_equivalent(
        &inc,
        &meta,
        "a GlobalNetworkPolicy opens every namespace first",
    );
    assert!(open(&inc));
    let first = object(
        json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "ops-first", "namespace": "kube-system"},
        "spec": {"order": 1, "selector": "all()", "types": ["Ingress"], "ingress": [{"action": "Deny", "source": {"namespaceSelector": "team == 'ops'"}}]}}),
    );
    inc.apply(vec![(key_of(&first), Some(first))]);
    assert_equivalent(&inc, &meta, "a deny for some namespaces before it");
    assert!(!open(&inc));
}

/// Policies of another namespace — a Calico policy, an Antrea policy — do not change how
/// kube-system is judged, whether the cluster is evaluated whole or namespace by namespace.
#[test]
fn another_namespaces_plugin_policies_leave_kube_system_judged_alike() {
    let (inc, _) = started(vec![
        object(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}),
        ),
        object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})),
        object(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coredns", "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-dns"}}, "template": {"metadata": {"labels": {"k8s-app": "kube-dns"}},
              "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}),
        ),
        object(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "open", "namespace": "kube-system"},
            "spec": {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]}}),
        ),
        object(
            json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "shop", "namespace": "shop"},
            "spec": {"selector": "all()", "types": ["Ingress"], "ingress": [{"action": "Deny"}]}}),
        ),
        object(
            json!({"apiVersion": "crd.antrea.io/v1beta1", "kind": "NetworkPolicy", "metadata": {"name": "shop", "namespace": "shop"},
            "spec": {"priority": 1, "appliedTo": [{"podSelector": {}}], "ingress": [{"action": "Drop", "from": [{"namespaceSelector": {}}]}]}}),
        ),
    ]);
    let found: Vec<String> = inc
        .findings()
        .iter()
        .filter(|f| f.check == "KSPM-N-019")
        .map(|f| f.message.clone())
        .collect();
    assert!(
        found.len() == 1
            && found[0].contains("NetworkPolicy:kube-system/open spec.ingress[0] admits every pod"),
        "{found:?}"
    );
}

/// An RBAC change evaluates the cluster part and only the namespaces it reaches: its own
/// namespace and its subjects' (a RoleBinding), none (a binding to a user no ServiceAccount
/// impersonates), every one (a binding to a group every ServiceAccount carries) — and the
/// result is the whole cluster's evaluation each time.
#[test]
fn rbac_changes_evaluate_only_the_namespaces_they_reach() {
    let tmp = tempfile::tempdir().expect("tmp");
    kspm_fleetgen::generate(tmp.path(), kspm_fleetgen::Shape::realistic(1, 120, true), 3)
        .expect("generate");
    let mut meta = load(&tmp.path().join("cluster-00"));
    let mut inc = Incremental::new(meta.clone(), ScanOptions::default());
    meta.objects.clear();
    let first = inc.apply(Vec::new());
    assert!(first.whole_cluster);
    let namespaces: Vec<String> = inc
        .objects()
        .filter(|o| o.kind == "Namespace")
        .map(|o| o.name.clone())
        .filter(|n| n != "kube-system")
        .collect();
    assert!(namespaces.len() >= 2, "{namespaces:?}");
    let (a, b) = (&namespaces[0], &namespaces[1]);
    let binding = |kind: &str, ns: Option<&str>, role: &str, subject: Value| {
        let mut metadata = json!({"name": "probe"});
        if let Some(ns) = ns {
            metadata["namespace"] = json!(ns);
        }
        object(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [subject]}),
        )
    };
    let cases = [
        (
            binding(
                "RoleBinding",
                Some(a),
                "admin",
                json!({"kind": "ServiceAccount", "name": "default", "namespace": b}),
            ),
            Some(2),
        ),
        (
            binding(
                "ClusterRoleBinding",
                None,
                "view",
                json!({"kind": "User", "name": "auditor"}),
            ),
            Some(0),
        ),
        (
            binding(
                "ClusterRoleBinding",
                None,
                "view",
                json!({"kind": "Group", "name": "system:serviceaccounts"}),
            ),
            None,
        ),
    ];
    for (o, expected) in cases {
        let what = format!("{:?}", key_of(&o));
        let key = key_of(&o);
        for change in [Some(o), None] {
            let delta = inc.apply([(key.clone(), change)]);
            assert!(
                delta.cluster_part && !delta.whole_cluster,
                "{what}: RBAC alone evaluated again"
            );
            assert_eq!(
                delta.namespaces,
                expected.unwrap_or(first.namespaces),
                "{what}: namespaces evaluated again"
            );
            assert_equivalent(&inc, &meta, &what);
        }
    }
}

/// A ServiceAccount or token Secret change evaluates the cluster part, the account's namespace
/// and the namespaces whose ServiceAccounts' grants read accounts by name (impersonating one,
/// minting its token) or read token Secrets — each only when what it reads changed — and the
/// whole cluster when Calico's policies read the accounts' labels. The edges that read them
/// follow (a user that impersonates the new account by name; a reader of its token Secret).
#[test]
fn service_account_changes_evaluate_only_the_namespaces_that_read_them() {
    let ns = |name: &str| {
        object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
    };
    let sa = |ns: &str, name: &str, annotations: Value| {
        object(json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": ns, "uid": format!("{ns}-{name}"), "annotations": annotations}}))
    };
    let role = |name: &str, rules: Value| {
        object(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules}),
        )
    };
    let bind = |name: &str, role: &str, subject: Value| {
        object(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [subject]}),
        )
    };
    let token = |ns: &str, name: &str, account: &str, ty: &str| {
        object(json!({"apiVersion": "v1", "kind": "Secret", "type": ty,
            "metadata": {"name": name, "namespace": ns,
                "annotations": {"kubernetes.io/service-account.name": account,
                    "kubernetes.io/service-account.uid": format!("{ns}-{account}")}}}))
    };
    let objects = vec![
        ns("a"),
        ns("b"),
        ns("c"),
        ns("d"),
        sa("a", "default", json!({})),
        sa("b", "imp", json!({})),
        sa("c", "reader", json!({})),
        sa("d", "default", json!({})),
        role(
            "impersonate-x",
            json!([{"verbs": ["impersonate"], "apiGroups": [""],
            "resources": ["serviceaccounts"], "resourceNames": ["x"]}]),
        ),
        role(
            "read-secrets",
            json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]),
        ),
        bind(
            "imp",
            "impersonate-x",
            json!({"kind": "ServiceAccount", "name": "imp", "namespace": "b"}),
        ),
        bind(
            "alice",
            "impersonate-x",
            json!({"kind": "User", "name": "alice"}),
        ),
        bind(
            "reader",
            "read-secrets",
            json!({"kind": "ServiceAccount", "name": "reader", "namespace": "c"}),
        ),
    ];
    let (mut inc, meta) = started(objects);
    let x = sa("a", "x", json!({}));
    let annotated = sa(
        "a",
        "x",
        json!({"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"}),
    );
    let live = token("a", "x-token", "x", "kubernetes.io/service-account-token");
    let opaque = token("a", "x-opaque", "x", "Opaque");
    // (change, namespaces evaluated again, whether the cluster part was)
    type Case<'a> = (&'a str, (Key, Option<Object>), usize, bool);
    let cases: Vec<Case> = vec![
        (
            "a new account: a, and b (impersonates it)",
            (key_of(&x), Some(x.clone())),
            2,
            true,
        ),
        (
            "its annotation: a alone",
            (key_of(&annotated), Some(annotated.clone())),
            1,
            true,
        ),
        (
            "its token Secret: a, and c (reads Secrets)",
            (key_of(&live), Some(live.clone())),
            2,
            true,
        ),
        (
            "another kind of Secret: a's part alone",
            (key_of(&opaque), Some(opaque)),
            1,
            false,
        ),
        ("the token Secret gone", (key_of(&live), None), 2, true),
        ("the account gone", (key_of(&x), None), 2, true),
    ];
    for (what, change, namespaces, cluster) in cases {
        let delta = inc.apply([change]);
        assert!(!delta.whole_cluster, "{what}: not the whole cluster");
        assert_eq!(delta.cluster_part, cluster, "{what}: the cluster part");
        assert_eq!(
            delta.namespaces, namespaces,
            "{what}: namespaces evaluated again"
        );
        assert_equivalent(&inc, &meta, what);
        let account = inc.holds(&key_of(&x));
        assert_eq!(
            edge(&inc, "User:alice", "ServiceAccount:a/x"),
            account,
            "{what}: alice impersonates x by name while it exists"
        );
    }
    inc.apply([
        (key_of(&x), Some(x.clone())),
        (key_of(&live), Some(live.clone())),
    ]);
    assert!(edge(&inc, "Secret:a/x-token", "ServiceAccount:a/x"));
    assert_equivalent(&inc, &meta, "account and token back");
    // Calico policies read the accounts' labels in every namespace: the whole cluster.
    let gnp = object(
        json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
        "metadata": {"name": "edge"},
        "spec": {"selector": "all()", "types": ["Ingress"],
            "ingress": [{"action": "Allow", "source": {"serviceAccounts": {"selector": "role == 'edge'"}}}]}}),
    );
    inc.apply([(key_of(&gnp), Some(gnp))]);
    let mut labelled = x.clone();
    labelled.body["metadata"]["labels"] = json!({"role": "edge"});
    let labelled = object(labelled.body.clone());
    let delta = inc.apply([(key_of(&labelled), Some(labelled))]);
    assert!(delta.whole_cluster, "Calico reads the labels everywhere");
    assert_equivalent(&inc, &meta, "labels Calico reads");
}

/// Whether the evaluator's graph has an edge from `from` in cluster `c` to the cloud principal
/// `to`.
fn cloud_edge(inc: &Incremental, from: &str, to: &str) -> bool {
    let g = inc.graph().expect("graph");
    let (Some(a), Some(b)) = (g.find(Some("c"), from), g.find(None, to)) else {
        return false;
    };
    g.graph.edges_connecting(a, b).next().is_some()
}

/// A Node change re-evaluates the cluster part and only the namespaces whose pods run on a
/// node whose view changed (its pool labels, its being there): a status report none; a node's
/// new pool the namespaces with pods on it, whose IMDS hop now reaches the other pool's role.
/// An external address (NodePorts facing the internet) is read by every namespace: the whole
/// cluster. With cloud facts, the cloud principals the namespaces reach feed the cluster part's
/// bridges: a change to them beyond the node roles it draws itself takes the whole cluster.
#[test]
fn node_changes_evaluate_only_the_namespaces_running_on_them() {
    for with_cloud in [false, true] {
        nodes_case(with_cloud);
    }
}

fn nodes_case(with_cloud: bool) {
    let ns = |name: &str| {
        object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
    };
    let cloud = |kind: &str, name: &str, spec: Value| {
        object(
            json!({"apiVersion": "cloud.kspm.io/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}),
        )
    };
    let nodegroup = |name: &str| {
        cloud(
            "EksNodegroup",
            name,
            json!({"nodegroupName": name, "nodeRole": format!("arn:aws:iam::111122223333:role/{name}"),
                "launchTemplate": {"id": "lt-1", "version": "1"}}),
        )
    };
    let node = |name: &str, pool: &str, addresses: Value| {
        object(json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"eks.amazonaws.com/nodegroup": pool}},
            "status": {"addresses": addresses}}))
    };
    let pod = |ns: &str, on: &str| {
        object(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": ns},
            "spec": {"nodeName": on, "containers": [{"name": "c", "image": "x:1"}]}}))
    };
    let account = |ns: &str| {
        object(json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": ns}}))
    };
    let internal = json!([{"type": "InternalIP", "address": "10.0.0.1"}]);
    let mut objects = vec![
        ns("a"),
        ns("b"),
        ns("c"),
        nodegroup("ng1"),
        nodegroup("ng2"),
        // A node group without listed nodes: only workloads that may be scheduled anywhere
        // reach its role.
        nodegroup("ng3"),
        cloud(
            "Ec2LaunchTemplateVersion",
            "lt-1:1",
            json!({"LaunchTemplateId": "lt-1", "VersionNumber": 1,
                "LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 2}}}),
        ),
        node("n1", "ng1", internal.clone()),
        node("n2", "ng2", internal.clone()),
        pod("a", "n1"),
        pod("b", "n2"),
        // (Accounts only pod templates name feed the cloud bridges: every namespace has its
        // default account.)
        account("a"),
        account("b"),
        account("c"),
        object(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "namespace": "c"},
            "spec": {"type": "NodePort", "ports": [{"port": 80}]}})),
    ];
    if with_cloud {
        objects.push(cloud(
            "EksCluster",
            "c",
            json!({"name": "c", "arn": "arn:aws:eks:us-east-1:111122223333:cluster/c",
                "accessConfig": {"authenticationMode": "API"}}),
        ));
    }
    let (mut inc, meta) = started(objects);
    let ng1 = "AwsRole:arn:aws:iam::111122223333:role/ng1";
    let ng2 = "AwsRole:arn:aws:iam::111122223333:role/ng2";
    assert!(cloud_edge(&inc, "Pod:a/p", ng1) && !cloud_edge(&inc, "Pod:a/p", ng2));
    assert!(cloud_edge(&inc, "Node:n1", ng1));
    let mut reported = node("n1", "ng1", internal.clone());
    reported.body["status"]["conditions"] =
        json!([{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-12-06T12:00:00Z"}]);
    let reported = object(reported.body.clone());
    let moved = node("n1", "ng2", internal.clone());
    let new = node("n3", "ng1", internal.clone());
    let public = node(
        "n4",
        "ng1",
        json!([{"type": "ExternalIP", "address": "203.0.113.4"}]),
    );
    let placed = pod("a", "n1");
    // (change, namespaces evaluated again, whether the cluster part was, whether the whole
    // cluster was)
    type Case<'a> = (&'a str, (Key, Option<Object>), usize, bool, bool);
    let local: Vec<Case> = vec![
        (
            "a status report: the cluster part alone",
            (key_of(&reported), Some(reported.clone())),
            0,
            true,
            false,
        ),
        (
            "the same status again: nothing",
            (key_of(&reported), Some(reported.clone())),
            0,
            false,
            false,
        ),
        (
            "a's pod gone: a (ng1's role is the cluster part's own, by n1)",
            (key_of(&placed), None),
            1,
            false,
            false,
        ),
        (
            "a's pod back: a",
            (key_of(&placed), Some(placed.clone())),
            1,
            false,
            false,
        ),
        (
            "a new node without pods: the cluster part alone",
            (key_of(&new), Some(new.clone())),
            0,
            true,
            false,
        ),
    ];
    for (what, change, namespaces, cluster, whole) in local {
        let delta = inc.apply([change]);
        assert_eq!(delta.whole_cluster, whole, "{what}: the whole cluster");
        assert_eq!(delta.cluster_part, cluster, "{what}: the cluster part");
        assert_eq!(
            delta.namespaces, namespaces,
            "{what}: namespaces evaluated again"
        );
        assert_equivalent(&inc, &meta, what);
    }
    assert!(cloud_edge(&inc, "Node:n3", ng1));
    // n1 into ng2: a's pod runs there, and reaches ng2's role instead of ng1's (both roles of
    // listed nodes, the cluster part's own: n3 is in ng1).
    let delta = inc.apply([(key_of(&moved), Some(moved.clone()))]);
    assert!(!delta.whole_cluster, "n1 into ng2");
    assert_eq!(
        (delta.cluster_part, delta.namespaces),
        (true, 1),
        "n1 into ng2: a"
    );
    assert_equivalent(&inc, &meta, "n1 into ng2");
    assert!(cloud_edge(&inc, "Pod:a/p", ng2) && !cloud_edge(&inc, "Pod:a/p", ng1));
    assert!(cloud_edge(&inc, "Node:n1", ng2) && !cloud_edge(&inc, "Node:n1", ng1));
    // n2 gone: b's pod runs on a node of no known pool, so may be on any: it reaches ng3's
    // role, which no listed node draws. With cloud facts the bridges read it: the cluster part
    // evaluated for the node is put back and the whole cluster evaluated (previewed first).
    let gone = (key_of(&node("n2", "ng2", internal.clone())), None);
    let before = summary(&inc);
    let preview = inc.preview([gone.clone()]);
    assert_eq!(summary(&inc), before, "the preview leaves the state");
    assert_equivalent(&inc, &meta, "n2 gone, previewed");
    let delta = inc.apply([gone]);
    assert_eq!(delta_summary(&preview), delta_summary(&delta), "n2 gone");
    assert_eq!(delta.whole_cluster, with_cloud, "n2 gone");
    if !with_cloud {
        assert_eq!(
            (delta.cluster_part, delta.namespaces),
            (true, 1),
            "n2 gone: b"
        );
    }
    assert_equivalent(&inc, &meta, "n2 gone");
    let ng3 = "AwsRole:arn:aws:iam::111122223333:role/ng3";
    assert!(cloud_edge(&inc, "Pod:b/p", ng3) && !cloud_edge(&inc, "Node:n2", ng2));
    // A workload placed nowhere reaches every pool's role too, ng3's already reached.
    let anywhere = object(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "anywhere", "namespace": "c"},
        "spec": {"selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}));
    let delta = inc.apply([(key_of(&anywhere), Some(anywhere.clone()))]);
    assert!(!delta.whole_cluster, "a workload placed nowhere");
    assert_equivalent(&inc, &meta, "a workload placed nowhere");
    assert!(cloud_edge(&inc, "Deployment:c/anywhere", ng3));
    for (what, change) in [
        (
            "a node with an external address",
            (key_of(&public), Some(public.clone())),
        ),
        ("it goes", (key_of(&public), None)),
    ] {
        let delta = inc.apply([change]);
        assert!(delta.whole_cluster, "{what}: the whole cluster");
        assert_equivalent(&inc, &meta, what);
    }
}

/// A Namespace whose labels stay (annotations, an ignore annotation, status) re-evaluates its
/// own namespace only: other parts read a Namespace's name and labels alone. Its labels are
/// read by selectors and Pod Security everywhere: the whole cluster.
#[test]
fn namespace_annotations_evaluate_only_their_namespace() {
    let ns = |name: &str, metadata: Value| {
        let mut m = metadata;
        m["name"] = json!(name);
        object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": m}))
    };
    let deploy = |ns: &str| {
        object(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}))
    };
    let objects = vec![
        ns("a", json!({})),
        ns("b", json!({})),
        deploy("a"),
        deploy("b"),
    ];
    let (mut inc, meta) = started(objects);
    let on_a = |inc: &Incremental| {
        inc.findings()
            .iter()
            .filter(|f| f.resource == "Namespace:a")
            .count()
    };
    let before = on_a(&inc);
    assert!(before > 0, "a namespace without policies has findings");
    let cases = [
        (
            "an annotation",
            ns("a", json!({"annotations": {"note": "x"}})),
            false,
        ),
        (
            "an ignore annotation",
            ns("a", json!({"annotations": {"kspm.io/ignore": "*"}})),
            false,
        ),
        (
            "a label",
            ns(
                "a",
                json!({"annotations": {"kspm.io/ignore": "*"}, "labels": {"team": "x"}}),
            ),
            true,
        ),
        (
            "its resourceVersion alone",
            ns(
                "a",
                json!({"annotations": {"kspm.io/ignore": "*"}, "labels": {"team": "x"}, "resourceVersion": "9"}),
            ),
            false,
        ),
    ];
    // (A label: the cluster part reads the Namespaces' labels; no other namespace does here.)
    for (what, change, cluster_part) in cases {
        let delta = inc.apply([(key_of(&change), Some(change))]);
        assert!(!delta.whole_cluster, "{what}: not the whole cluster");
        assert_eq!(delta.cluster_part, cluster_part, "{what}: the cluster part");
        assert_eq!(delta.namespaces, 1, "{what}: its namespace alone");
        assert_equivalent(&inc, &meta, what);
    }
    assert_eq!(
        on_a(&inc),
        0,
        "the ignore annotation suppresses a's findings"
    );
    // The same Namespace again (a relist): nothing is evaluated.
    let same = ns(
        "a",
        json!({"annotations": {"kspm.io/ignore": "*"}, "labels": {"team": "x"}, "resourceVersion": "9"}),
    );
    let delta = inc.apply([(key_of(&same), Some(same))]);
    assert!(!delta.whole_cluster && !delta.cluster_part && delta.namespaces == 0);
}

/// A Namespace's labels are read by its own part, by namespace selectors elsewhere and — whether
/// Pod Security forbids privileged pods there — by the identities that may create or change
/// workloads there: a relabel evaluates the cluster part, the namespace, the namespaces whose
/// selectors now say otherwise of it and, when its guard changed, those whose ServiceAccounts
/// may create workloads there; the whole cluster when a cluster-scoped selector says otherwise.
#[test]
fn namespace_labels_evaluate_only_what_reads_them() {
    let ns = |name: &str, labels: Value| {
        object(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}),
        )
    };
    let deploy = |ns: &str| {
        object(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "x:1", "ports": [{"containerPort": 80}]}]}}}}))
    };
    let admits = |ns: &str, name: &str, selector: Value| {
        object(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": selector}]}]}}),
        )
    };
    let mut objects = vec![];
    for n in ["shop", "db", "web", "ci", "quiet"] {
        objects.push(ns(n, json!({})));
        objects.push(deploy(n));
    }
    objects.extend([
        admits("db", "from-team", json!({"matchLabels": {"team": "shop"}})),
        admits("web", "from-all", json!({})),
        object(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": "ci"}})),
        object(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "deployer"},
            "rules": [{"verbs": ["create"], "apiGroups": ["apps"], "resources": ["deployments"]}]})),
        object(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "builder", "namespace": "shop"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "deployer"},
            "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}]})),
    ]);
    let (mut inc, meta) = started(objects);
    let privileged = |inc: &Incremental| edge(inc, "ServiceAccount:ci/builder", "Node:*");
    assert!(privileged(&inc), "shop admits privileged pods");
    let relabel = |inc: &mut Incremental, labels: Value| {
        let o = ns("shop", labels);
        inc.apply([(key_of(&o), Some(o))])
    };
    // Joining the team db admits: shop and db (web admits every namespace either way).
    let d = relabel(&mut inc, json!({"team": "shop"}));
    assert!(!d.whole_cluster && d.cluster_part);
    assert_eq!(d.namespaces, 2, "shop and db");
    assert_equivalent(&inc, &meta, "team label");
    // Another label no selector reads: shop alone.
    let d = relabel(&mut inc, json!({"team": "shop", "env": "prod"}));
    assert!(!d.whole_cluster);
    assert_eq!(d.namespaces, 1, "shop alone");
    assert_equivalent(&inc, &meta, "env label");
    // Pod Security now forbids privileged pods: ci's builder, which may create Deployments
    // there, loses its way to the nodes.
    let guarded =
        json!({"team": "shop", "env": "prod", "pod-security.kubernetes.io/enforce": "baseline"});
    let d = relabel(&mut inc, guarded.clone());
    assert!(!d.whole_cluster);
    assert_eq!(d.namespaces, 2, "shop and ci");
    assert!(!privileged(&inc), "baseline forbids privileged pods");
    assert_equivalent(&inc, &meta, "guarded");
    // Another level that forbids them too: the guard stays, shop alone.
    let mut restricted = guarded.clone();
    restricted["pod-security.kubernetes.io/enforce"] = json!("restricted");
    let d = relabel(&mut inc, restricted);
    assert_eq!((d.whole_cluster, d.namespaces), (false, 1));
    assert_equivalent(&inc, &meta, "restricted");
    // Leaving the team and the guard in one batch.
    let d = relabel(&mut inc, json!({}));
    assert_eq!((d.whole_cluster, d.namespaces), (false, 3));
    assert!(privileged(&inc));
    assert_equivalent(&inc, &meta, "unlabelled");
    // A mutating webhook's selector is read by the namespace serving it.
    let hook = object(
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "inject"},
        "webhooks": [{"name": "m.example.com", "clientConfig": {"service": {"namespace": "quiet", "name": "web"}},
            "namespaceSelector": {"matchLabels": {"inject": "true"}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]}),
    );
    inc.apply([(key_of(&hook), Some(hook))]);
    assert_equivalent(&inc, &meta, "webhook");
    let d = relabel(&mut inc, json!({"inject": "true"}));
    assert_eq!(
        (d.whole_cluster, d.namespaces),
        (false, 2),
        "shop and quiet"
    );
    assert_equivalent(&inc, &meta, "injected");
    // ... and when the guard changes, the namespace serving it reads that.
    let d = relabel(
        &mut inc,
        json!({"inject": "true", "pod-security.kubernetes.io/enforce": "baseline"}),
    );
    assert!(!d.whole_cluster);
    assert_eq!(d.namespaces, 3, "shop, ci and quiet");
    assert_equivalent(&inc, &meta, "injected and guarded");
    // A preview leaves the state as it was.
    let o = ns("shop", json!({"inject": "true", "team": "shop"}));
    let before = summary(&inc);
    let d = inc.preview([(key_of(&o), Some(o))]);
    assert!(!d.whole_cluster);
    assert_eq!(summary(&inc), before, "a preview changes nothing");
    assert_equivalent(&inc, &meta, "after a preview");
    // ... nor the facts the next change is judged against.
    let d = relabel(
        &mut inc,
        json!({"inject": "true", "team": "shop", "pod-security.kubernetes.io/enforce": "baseline"}),
    );
    assert_eq!((d.whole_cluster, d.namespaces), (false, 2), "shop and db");
    assert_equivalent(&inc, &meta, "after a preview, applied");
    // A new Namespace, alone in its namespace: the cluster part, it and the namespaces whose
    // selectors match it (db admits team shop, web every namespace, quiet serves the webhook).
    let fresh = ns("new", json!({"team": "shop", "inject": "true"}));
    let before = summary(&inc);
    let d = inc.preview([(key_of(&fresh), Some(fresh.clone()))]);
    assert_eq!((d.whole_cluster, d.namespaces), (false, 4));
    assert_eq!(summary(&inc), before, "a preview changes nothing");
    assert_equivalent(&inc, &meta, "after a new namespace's preview");
    let d = inc.apply([(key_of(&fresh), Some(fresh.clone()))]);
    assert!(!d.whole_cluster && d.cluster_part);
    assert_eq!(d.namespaces, 4, "new, db, web and quiet");
    assert!(
        d.added_findings
            .iter()
            .any(|f| f.resource == "Namespace:new"),
        "the new namespace is judged"
    );
    assert_equivalent(&inc, &meta, "a new namespace");
    // ... a ClusterRoleBinding letting ci's builder create Deployments anywhere reads it: a
    // second new one, which Pod Security guards, leaves builder its way through the others.
    let anywhere = object(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "builder"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "deployer"},
        "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}]}),
    );
    inc.apply([(key_of(&anywhere), Some(anywhere))]);
    assert_equivalent(&inc, &meta, "builder deploys anywhere");
    let guarded = ns(
        "guarded",
        json!({"pod-security.kubernetes.io/enforce": "restricted"}),
    );
    let d = inc.apply([(key_of(&guarded), Some(guarded))]);
    assert_eq!(
        (d.whole_cluster, d.namespaces),
        (false, 3),
        "guarded, ci and web (which admits every namespace)"
    );
    assert_equivalent(&inc, &meta, "a guarded new namespace");
    // A new Namespace with objects in it, or objects in a namespace no Namespace names: the
    // whole cluster (the set of namespaces changes with what they hold).
    let with_objects = ns("full", json!({}));
    let d = inc.apply([
        (key_of(&with_objects), Some(with_objects)),
        (key_of(&deploy("full")), Some(deploy("full"))),
    ]);
    assert!(d.whole_cluster);
    assert_equivalent(&inc, &meta, "a new namespace with a workload");
    let d = inc.apply([(key_of(&deploy("nameless")), Some(deploy("nameless")))]);
    assert!(d.whole_cluster);
    assert_equivalent(&inc, &meta, "a workload in a namespace without a Namespace");
    // Deleting a Namespace, nothing in it: the cluster part and the namespaces that read it (db
    // admitted team shop, web every namespace, quiet served the webhook covering it, and ci's
    // builder may create Deployments in it); its part goes.
    let before = summary(&inc);
    let d = inc.preview([(key_of(&fresh), None)]);
    assert_eq!((d.whole_cluster, d.namespaces), (false, 4));
    assert_eq!(summary(&inc), before, "a preview changes nothing");
    assert_equivalent(&inc, &meta, "after a namespace deletion's preview");
    let d = inc.apply([(key_of(&fresh), None)]);
    assert!(!d.whole_cluster && d.cluster_part);
    assert_eq!(d.namespaces, 4, "db, web, quiet and ci");
    assert!(
        d.resolved_findings
            .iter()
            .any(|f| f.resource == "Namespace:new"),
        "the namespace's findings resolve"
    );
    assert!(d.added_findings.is_empty());
    assert_equivalent(&inc, &meta, "a namespace deleted");
    // Deleting one with objects in it (a workload, a binding, a ServiceAccount), as the namespace
    // controller does: alike, its findings and paths resolved.
    let has =
        |inc: &Incremental, ns: &str| inc.objects().any(|o| o.namespace.as_deref() == Some(ns));
    let binding = object(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "builder", "namespace": "full"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "full"}]}),
    );
    let account = object(
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "full"}}),
    );
    inc.apply([
        (key_of(&binding), Some(binding)),
        (key_of(&account), Some(account)),
    ]);
    assert_equivalent(&inc, &meta, "full's binding");
    let key = ("Namespace".to_string(), String::new(), "full".to_string());
    let deletion = inc.deletion("Namespace", key);
    assert_eq!(deletion.len(), 4, "the Namespace and what is in it");
    let d = inc.apply(deletion);
    assert!(!d.whole_cluster && d.cluster_part);
    assert!(!has(&inc, "full"));
    assert!(
        d.resolved_findings
            .iter()
            .any(|f| f.resource == "Deployment:full/web"),
        "the workload's findings resolve"
    );
    assert!(d.added_findings.is_empty() && d.added_paths.is_empty());
    assert_equivalent(&inc, &meta, "a namespace with objects deleted");
    // A Namespace deleted while objects stay in its namespace (not what the API server leaves):
    // the whole cluster.
    let key = ("Namespace".to_string(), String::new(), "web".to_string());
    let d = inc.apply([(key, None)]);
    assert!(d.whole_cluster);
    assert!(has(&inc, "web"));
    assert_equivalent(&inc, &meta, "a Namespace deleted, its objects left");
}

/// Whether Pod Security guards a namespace is read by more than workload grants: binding a role
/// that creates pods, escalating a Role, and controlling mutating webhooks (cluster-wide: "some
/// namespace admits privileged pods") each lead to the nodes only where it does not.
#[test]
fn pod_security_is_read_by_binding_escalating_and_webhook_control() {
    let ns = |name: &str, labels: Value| {
        object(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}),
        )
    };
    let rbac = |v: Value| object(v);
    let sa = |name: &str| {
        object(
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "a"}}),
        )
    };
    let to = |name: &str| json!([{"kind": "ServiceAccount", "name": name, "namespace": "a"}]);
    let objects = vec![
        ns(
            "a",
            json!({"pod-security.kubernetes.io/enforce": "baseline"}),
        ),
        ns("c", json!({})),
        sa("binder"),
        sa("escalator"),
        sa("hooker"),
        rbac(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "podmaker"},
            "rules": [{"verbs": ["create"], "apiGroups": [""], "resources": ["pods"]}]}),
        ),
        rbac(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "binder"},
            "rules": [{"verbs": ["create"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"]},
                      {"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "resourceNames": ["podmaker"]}]}),
        ),
        rbac(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "binder", "namespace": "c"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "binder"}, "subjects": to("binder")}),
        ),
        rbac(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "c"},
            "rules": [{"verbs": ["escalate", "update"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"]}]}),
        ),
        rbac(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "r", "namespace": "c"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}, "subjects": to("escalator")}),
        ),
        rbac(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "hooks"},
            "rules": [{"verbs": ["create"], "apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingwebhookconfigurations"]}]}),
        ),
        rbac(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "hooks"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "hooks"},
            "subjects": [{"kind": "ServiceAccount", "name": "hooker", "namespace": "a"}, {"kind": "User", "name": "alice"}]}),
        ),
    ];
    let (mut inc, meta) = started(objects);
    let to_nodes = |inc: &Incremental| -> Vec<&str> {
        [
            "ServiceAccount:a/binder",
            "ServiceAccount:a/escalator",
            "ServiceAccount:a/hooker",
            "User:alice",
        ]
        .into_iter()
        .filter(|from| edge(inc, from, "Node:*"))
        .collect()
    };
    let unguarded = to_nodes(&inc);
    for who in [
        "ServiceAccount:a/escalator",
        "ServiceAccount:a/hooker",
        "User:alice",
    ] {
        assert!(unguarded.contains(&who), "c admits privileged pods: {who}");
    }
    for (labels, step, reaching) in [
        (
            json!({"pod-security.kubernetes.io/enforce": "restricted"}),
            "c guarded, every namespace guarded",
            vec![],
        ),
        (json!({}), "c unguarded again", unguarded.clone()),
    ] {
        let o = ns("c", labels);
        let d = inc.apply([(key_of(&o), Some(o))]);
        assert!(!d.whole_cluster, "{step}");
        assert_equivalent(&inc, &meta, step);
        assert_eq!(to_nodes(&inc), reaching, "{step}");
    }
}

/// A user named after a ServiceAccount (`system:serviceaccount:NS:NAME`) is that account to
/// RBAC: its graph is the cluster part's, and taking the account out of a binding takes the
/// grant from the workloads that run as it (the fix's cost), which only the account's
/// namespace holds. The cluster part reads them: a batch that changes which workloads run as
/// it evaluates the whole cluster; one that leaves them, its namespace.
#[test]
fn users_named_after_an_account_see_the_workloads_that_run_as_it() {
    let deploy = |sa: &str| {
        object(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "app"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"serviceAccountName": sa, "containers": [{"name": "c", "image": "x:1"}]}}}}))
    };
    let objects = vec![
        object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})),
        object(json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "ops", "namespace": "app"}})),
        object(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "all"},
            "rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]}),
        ),
        object(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "ops", "namespace": "app"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "all"},
            "subjects": [{"kind": "ServiceAccount", "name": "ops", "namespace": "app"}]}),
        ),
        object(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "ops-by-name"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "all"},
            "subjects": [{"kind": "User", "name": "system:serviceaccount:app:ops"}]}),
        ),
        deploy("ops"),
    ];
    let (mut inc, meta) = started(objects);
    let other = deploy("default");
    let delta = inc.apply([(key_of(&other), Some(other))]);
    assert!(delta.whole_cluster, "which workloads run as ops changed");
    assert_equivalent(&inc, &meta, "web runs as default");
    let config = object(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "app"}}));
    let delta = inc.apply([(key_of(&config), Some(config))]);
    assert!(
        !delta.whole_cluster && delta.namespaces == 1,
        "a ConfigMap: app alone"
    );
    assert_equivalent(&inc, &meta, "a ConfigMap");
    let back = deploy("ops");
    let delta = inc.apply([(key_of(&back), Some(back))]);
    assert!(delta.whole_cluster, "web runs as ops again");
    assert_equivalent(&inc, &meta, "web runs as ops again");
}

/// EKS's aws-auth ConfigMap maps IAM identities to RBAC users and groups: a change to it
/// re-evaluates the cluster part (the groups it maps into, the cloud facts the bridges read) and
/// kube-system, not the whole cluster. Mapping a role to `system:masters` opens a path from the
/// role to cluster-admin, and taking the mapping out closes it; a malformed one is judged.
#[test]
fn aws_auth_changes_evaluate_the_cluster_part_and_its_namespace() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-fleet");
    let plan = kspm_collectors::files::plan(std::slice::from_ref(&root));
    let (cloud, errors) = kspm_collectors::files::load_fleet_cloud(&plan);
    assert!(errors.is_empty(), "{errors:?}");
    let mut cluster = load(&root.join("eks-prod-us-east-1"));
    cluster.objects.extend(cloud);
    let held = cluster
        .objects
        .iter()
        .find(|o| o.kind == "ConfigMap" && o.name == "aws-auth")
        .expect("the demo cluster's aws-auth")
        .clone();
    let mut inc = Incremental::new(cluster.clone(), ScanOptions::default());
    let mut meta = cluster;
    meta.objects.clear();
    assert!(inc.apply(Vec::new()).whole_cluster);
    // (The IRSA role of shop's catalog, which has no access entry: with one, the entry
    // overrides aws-auth.)
    let role = "arn:aws:iam::123456789012:role/eks-prod-shop-catalog-s3";
    // The bridge from the role to a group of the cluster (the role's node is the fleet's).
    let maps = |inc: &Incremental, group: &str| {
        let g = inc.graph().expect("graph");
        let (Some(a), Some(b)) = (
            g.find(None, &format!("AwsRole:{role}")),
            g.find(Some("eks-prod-us-east-1"), &format!("Group:{group}")),
        ) else {
            return false;
        };
        g.graph.edges_connecting(a, b).next().is_some()
    };
    let through_masters = |p: &kspm_engine::graph::paths::AttackPath| {
        p.nodes
            .windows(2)
            .any(|w| w[0] == format!("AwsRole:{role}") && w[1] == "Group:system:masters")
    };
    assert!(!maps(&inc, "system:masters"), "{role} is not mapped yet");
    assert!(!inc.paths().iter().any(through_masters));
    let with = |map_roles: &str| {
        let mut body = held.body.clone();
        body["data"]["mapRoles"] = json!(map_roles);
        object(body)
    };
    let mapped = with(&format!(
        "- rolearn: {role}\n  username: shop-dev\n  groups:\n  - system:masters\n"
    ));
    let before = summary(&inc);
    let preview = inc.preview([(key_of(&mapped), Some(mapped.clone()))]);
    assert_eq!(summary(&inc), before, "a preview changes nothing");
    let d = inc.apply([(key_of(&mapped), Some(mapped))]);
    assert_eq!(delta_summary(&preview), delta_summary(&d));
    assert!(!d.whole_cluster && d.cluster_part);
    assert_eq!(d.namespaces, 1, "kube-system");
    assert!(maps(&inc, "system:masters"));
    assert!(
        d.added_paths.iter().any(through_masters),
        "mapped to system:masters, the role reaches cluster-admin"
    );
    assert_equivalent(&inc, &meta, "a role mapped to system:masters");
    // A group nothing binds: its node is new; the masters' path resolves.
    let team = with(&format!(
        "- rolearn: {role}\n  username: shop-dev\n  groups:\n  - shop-team\n"
    ));
    let d = inc.apply([(key_of(&team), Some(team))]);
    assert!(!d.whole_cluster && d.cluster_part);
    assert!(maps(&inc, "shop-team") && !maps(&inc, "system:masters"));
    assert!(d.resolved_paths.iter().any(through_masters));
    assert_equivalent(&inc, &meta, "a role mapped to a group nothing binds");
    // Malformed: judged on the ConfigMap.
    let broken = with("- rolearn: [unclosed");
    let d = inc.apply([(key_of(&broken), Some(broken))]);
    assert!(!d.whole_cluster && d.cluster_part);
    assert!(
        d.added_findings
            .iter()
            .any(|f| f.resource == "ConfigMap:kube-system/aws-auth"),
        "{:?}",
        d.added_findings
    );
    assert_equivalent(&inc, &meta, "a malformed aws-auth");
    // Gone, then back as it was.
    let d = inc.apply([(key_of(&held), None)]);
    assert!(!d.whole_cluster && d.cluster_part);
    assert_equivalent(&inc, &meta, "aws-auth deleted");
    let d = inc.apply([(key_of(&held), Some(held.clone()))]);
    assert!(!d.whole_cluster && d.cluster_part);
    assert_equivalent(&inc, &meta, "aws-auth back");
}

/// A preview whose batch changes an object and changes it back puts the object back as it was,
/// its source too (the findings on it name where it comes from).
#[test]
fn a_preview_puts_back_each_object_with_its_source() {
    let shop = object(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "a"}}}),
    );
    let (mut inc, meta) = started(vec![shop.clone()]);
    let mut relabeled = shop.clone();
    relabeled.body["metadata"]["labels"]["team"] = json!("b");
    let relabeled = object(relabeled.body);
    let mut back = shop.clone();
    back.source.file = "change.yaml".into();
    let before = summary(&inc);
    inc.preview([
        (key_of(&relabeled), Some(relabeled)),
        (key_of(&back), Some(back)),
    ]);
    assert_eq!(summary(&inc), before);
    let held = inc.objects().find(|o| o.name == "shop").expect("held");
    assert_eq!(held.source, shop.source, "the source put back");
    assert_equivalent(&inc, &meta, "after a preview that changed an object back");
}
