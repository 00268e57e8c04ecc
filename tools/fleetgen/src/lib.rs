//! Synthetic fleets of realistic shape: per cluster, namespaces of microservices (Deployment →
//! ReplicaSet → Pods, Service, ConfigMap, Secret, ServiceAccount, Role/RoleBinding, sometimes a
//! NetworkPolicy), cluster RBAC and nodes, with a deterministic mix of hardened and careless
//! workloads. Written as block YAML, one object per document, so every scanner reads
//! the same input.

use serde_json::{json, Value};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

/// Shape of a generated fleet.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Clusters.
    pub clusters: usize,
    /// Namespaces per cluster.
    pub namespaces: usize,
    /// Deployments per namespace.
    pub apps: usize,
    /// Pods per Deployment.
    pub replicas: usize,
    /// ServiceAccounts per namespace (Deployments share them round-robin); 0 = one per Deployment.
    pub service_accounts: usize,
    /// RoleBindings per namespace.
    pub bindings: usize,
    /// Write JSON (`kubectl get -o json` style Lists) instead of YAML documents.
    pub json: bool,
}

impl Shape {
    /// A fleet of `clusters` clusters of `namespaces` × `apps` × `replicas`, one SA per app, one
    /// RoleBinding per namespace, YAML.
    pub const fn simple(clusters: usize, namespaces: usize, apps: usize, replicas: usize) -> Shape {
        Shape {
            clusters,
            namespaces,
            apps,
            replicas,
            service_accounts: 0,
            bindings: 1,
            json: false,
        }
    }

    /// A cluster of about `pods` pods in the proportions of a large shared cluster: 300
    /// namespaces per 10,000 pods, 3 replicas, ~2,000 ServiceAccounts and ~3,000 RoleBindings.
    pub fn realistic(clusters: usize, pods: usize, json: bool) -> Shape {
        let namespaces = (pods * 3 / 100).max(1);
        let apps = (pods / (namespaces * 3)).max(1);
        Shape {
            clusters,
            namespaces,
            apps,
            replicas: 3,
            service_accounts: 7,
            bindings: 10,
            json,
        }
    }
}

/// A small deterministic generator (SplitMix64): same seed, same fleet.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn uid(rng: &mut Rng) -> String {
    let a = rng.next();
    let b = rng.next();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

fn container(rng: &mut Rng, name: &str, hardened: bool) -> Value {
    let mut c = json!({
        "name": name,
        "image": format!("registry.example.com/{name}:1.{}.{}", rng.next() % 20, rng.next() % 10),
        "ports": [{"containerPort": 8080, "name": "http"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": format!("{name}-db"), "key": "password"}}}],
    });
    if hardened {
        c["securityContext"] = json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "runAsUser": 10001, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}});
        c["resources"] = json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}});
        c["livenessProbe"] = json!({"httpGet": {"path": "/healthz", "port": "http"}});
        c["readinessProbe"] = json!({"httpGet": {"path": "/ready", "port": "http"}});
    } else {
        if rng.chance(20) {
            c["image"] = json!(format!("docker.io/library/{name}:latest"));
        }
        if rng.chance(10) {
            c["securityContext"] = json!({"privileged": true});
        } else if rng.chance(20) {
            c["securityContext"] = json!({"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}});
        }
    }
    c
}

fn pod_spec(rng: &mut Rng, app: &str, hardened: bool) -> Value {
    let mut spec = json!({
        "serviceAccountName": app,
        "containers": [container(rng, app, hardened)],
        "volumes": [{"name": "config", "configMap": {"name": app}}, {"name": "tmp", "emptyDir": {}}],
    });
    if hardened {
        spec["automountServiceAccountToken"] = json!(false);
        spec["securityContext"] = json!({"runAsNonRoot": true, "fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}});
    } else if rng.chance(5) {
        spec["hostNetwork"] = json!(true);
        if let Some(v) = spec["volumes"].as_array_mut() {
            v.push(json!({"name": "host", "hostPath": {"path": "/var/log"}}));
        }
    }
    spec
}

fn meta(name: &str, ns: Option<&str>, uid: &str, labels: Value) -> Value {
    let mut m = json!({"name": name, "uid": uid, "resourceVersion": "1", "creationTimestamp": "2026-01-01T00:00:00Z", "labels": labels});
    if let Some(ns) = ns {
        m["namespace"] = json!(ns);
    }
    m
}

fn namespace_objects(rng: &mut Rng, ns: &str, shape: &Shape, out: &mut Vec<Value>) {
    let mut labels = json!({"kubernetes.io/metadata.name": ns});
    if rng.chance(40) {
        labels["pod-security.kubernetes.io/enforce"] = json!(if rng.chance(50) {
            "restricted"
        } else {
            "baseline"
        });
    }
    out.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns, None, &uid(rng), labels)}));
    out.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("default", Some(ns), &uid(rng), json!({}))}));
    let sa_of = |a: usize| {
        if shape.service_accounts == 0 {
            format!("svc-{a:03}")
        } else {
            format!("sa-{:02}", a % shape.service_accounts)
        }
    };
    for a in 0..shape.apps {
        let app = format!("svc-{a:03}");
        let hardened = rng.chance(60);
        let labels = json!({"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": ns});
        let dep_uid = uid(rng);
        let rs_uid = uid(rng);
        let mut spec = pod_spec(rng, &app, hardened);
        spec["serviceAccountName"] = json!(sa_of(a));
        out.push(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(&app, Some(ns), &dep_uid, labels.clone()),
            "spec": {"replicas": shape.replicas, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec}}}));
        let rs_name = format!("{app}-{:x}", rng.next() % 0xffff_ffff);
        let mut rs_meta = meta(&rs_name, Some(ns), &rs_uid, labels.clone());
        rs_meta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": dep_uid, "controller": true}]);
        out.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rs_meta, "spec": {"replicas": shape.replicas, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec}}}));
        for r in 0..shape.replicas {
            let mut pm = meta(
                &format!("{rs_name}-{r:05x}"),
                Some(ns),
                &uid(rng),
                labels.clone(),
            );
            pm["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": rs_uid, "controller": true}]);
            let mut pod_spec = spec.clone();
            pod_spec["nodeName"] =
                json!(format!("node-{:04}", rng.next() % node_count(shape) as u64));
            out.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": pm, "spec": pod_spec, "status": {"phase": "Running"}}));
        }
        let svc_type = if rng.chance(5) {
            "LoadBalancer"
        } else {
            "ClusterIP"
        };
        out.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(&app, Some(ns), &uid(rng), labels.clone()),
            "spec": {"type": svc_type, "selector": labels, "ports": [{"port": 80, "targetPort": "http"}]}}));
        if shape.service_accounts == 0 || a < shape.service_accounts {
            out.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(&sa_of(a), Some(ns), &uid(rng), json!({}))}));
        }
        out.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(&app, Some(ns), &uid(rng), json!({})), "data": {"LOG_LEVEL": "info", "FEATURE_FLAGS": "a,b,c"}}));
        out.push(json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta(&format!("{app}-db"), Some(ns), &uid(rng), json!({})), "type": "Opaque", "data": {"password": "c3ludGhldGlj"}}));
    }
    out.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta("app-reader", Some(ns), &uid(rng), json!({})),
        "rules": [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list", "watch"]}]}));
    for b in 0..shape.bindings {
        let (role_kind, role) = match b % 3 {
            0 => ("Role", "app-reader"),
            1 => ("ClusterRole", "view"),
            _ => ("ClusterRole", "edit"),
        };
        let subject = if b % 3 == 2 {
            json!({"kind": "Group", "name": format!("{ns}-developers")})
        } else {
            json!({"kind": "ServiceAccount", "name": sa_of(b), "namespace": ns})
        };
        out.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(&format!("binding-{b:02}"), Some(ns), &uid(rng), json!({})),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}, "subjects": [subject]}));
    }
    // One public entry per namespace: an Ingress to the first service.
    if shape.apps > 0 {
        let mut tls = json!([]);
        if rng.chance(70) {
            tls = json!([{"hosts": [format!("{ns}.example.com")], "secretName": format!("{ns}-tls")}]);
        }
        out.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("web", Some(ns), &uid(rng), json!({})),
            "spec": {"ingressClassName": "nginx", "tls": tls, "rules": [{"host": format!("{ns}.example.com"), "http": {"paths": [{"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "svc-000", "port": {"number": 80}}}}]}}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}}));
    }
    if rng.chance(50) {
        out.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("default-deny", Some(ns), &uid(rng), json!({})),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}));
    }
}

/// About 30 pods per node.
fn node_count(shape: &Shape) -> usize {
    (shape.namespaces * shape.apps * shape.replicas / 30).max(3)
}

fn cluster_objects(rng: &mut Rng, shape: &Shape, out: &mut Vec<Value>) {
    for n in 0..node_count(shape) {
        out.push(json!({"apiVersion": "v1", "kind": "Node", "metadata": meta(&format!("node-{n:04}"), None, &uid(rng), json!({"kubernetes.io/os": "linux"}))}));
    }
    for i in 0..40 {
        let wild = i % 10 == 0;
        let rules = if wild {
            json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
        } else {
            json!([{"apiGroups": ["", "apps"], "resources": ["pods", "deployments"], "verbs": ["get", "list", "watch"]}])
        };
        out.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta(&format!("team-role-{i}"), None, &uid(rng), json!({})), "rules": rules}));
        out.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta(&format!("team-binding-{i}"), None, &uid(rng), json!({})),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("team-role-{i}")}, "subjects": [{"kind": "Group", "name": format!("team-{i}")}]}));
    }
}

fn write_docs(path: &Path, objects: &[Value], json: bool) -> io::Result<()> {
    if json {
        let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": objects});
        return fs::write(
            path.with_extension("json"),
            serde_json::to_string_pretty(&list).map_err(io::Error::other)?,
        );
    }
    let mut text = String::new();
    for o in objects {
        // Block YAML, one object per document, as `kubectl get -o yaml` users keep manifests.
        let _ = writeln!(text, "---");
        text.push_str(&kspm_engine::yaml::to_string(o).map_err(io::Error::other)?);
    }
    fs::write(path, text)
}

/// Writes a fleet under `dir`: `dir/cluster-NN/{kspm-cluster.yaml, cluster.yaml, ns-*.yaml}`.
/// Returns the number of objects written.
pub fn generate(dir: &Path, shape: Shape, seed: u64) -> io::Result<usize> {
    let mut rng = Rng(seed);
    let mut total = 0;
    for c in 0..shape.clusters {
        let cdir = dir.join(format!("cluster-{c:02}"));
        fs::create_dir_all(&cdir)?;
        let provider = ["eks", "gke", "aks"][c % 3];
        fs::write(cdir.join("kspm-cluster.yaml"), format!("apiVersion: kspm.io/v1\nkind: ClusterInfo\nname: cluster-{c:02}\nprovider: {provider}\nkubernetesVersion: \"1.31\"\n"))?;
        let mut objects = Vec::new();
        cluster_objects(&mut rng, &shape, &mut objects);
        total += objects.len();
        write_docs(&cdir.join("cluster.yaml"), &objects, shape.json)?;
        for n in 0..shape.namespaces {
            let mut objects = Vec::new();
            namespace_objects(&mut rng, &format!("team-{n:03}"), &shape, &mut objects);
            total += objects.len();
            write_docs(&cdir.join(format!("ns-{n:03}.yaml")), &objects, shape.json)?;
        }
    }
    Ok(total)
}
