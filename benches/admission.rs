//! Admission reviews and plans on a generated cluster of realistic shape (kspm-fleetgen,
//! 10,000 pods): the base is read and evaluated once, then every review is answered as the
//! webhook of `kspm serve` answers it (parse, preview on the incremental engine, undo, answer)
//! and timed alone; a plan's change (10 Deployments at once) is timed as `kspm plan` applies
//! it. Prints p50/p95/p99/max per kind of change.
//!
//! Run: `cargo bench --bench admission` (`-- --quick` for 1,000 pods and fewer reviews;
//! `-- --only WORD` for the rows whose name holds WORD, e.g. to profile one kind of review;
//! `-- --reviews N` for N reviews in every row).

use kspm_api::webhook::{self, Mode, Policy};
use kspm_engine::incremental::{key_of, Incremental};
use kspm_engine::{ScanOptions, Severity};
use kspm_fleetgen::{generate, Shape};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

// The allocator `kspm` itself runs with.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn review(operation: &str, object: &Value, old: Option<&Value>) -> Vec<u8> {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "bench",
            "kind": {"group": "", "version": "v1", "kind": object["kind"]},
            "name": object["metadata"]["name"],
            "namespace": object["metadata"].get("namespace").cloned().unwrap_or(Value::Null),
            "operation": operation,
            "userInfo": {"username": "bench"},
            "object": object,
            "oldObject": old,
        }
    })
    .to_string()
    .into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn row(name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
        times.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times.last().map_or(0.0, |t| t.as_secs_f64() * 1000.0)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let wanted = |name: &str| only.as_deref().is_none_or(|w| name.contains(w));
    // (`label_n`: reviews of changes to a namespace's labels, the set of namespaces or aws-auth,
    // which reach across the cluster; 100, so that their p99 is not their maximum.)
    let (pods, mut n, mut rbac_n, mut label_n) = if quick {
        (1_000, 50, 5, 5)
    } else {
        (10_000, 300, 100, 100)
    };
    if let Some(count) = args
        .iter()
        .position(|a| a == "--reviews")
        .and_then(|i| args.get(i + 1)?.parse().ok())
    {
        (n, rbac_n, label_n) = (count, count, count);
    }
    let root = std::env::temp_dir().join("kspm-bench-admission");
    let _ = std::fs::remove_dir_all(&root);
    if let Err(e) = generate(&root, Shape::realistic(1, pods, true), 9) {
        eprintln!("cannot generate {}: {e}", root.display());
        return;
    }
    let t = Instant::now();
    let (mut engine, errors) =
        kspm_api::plan::load_base(&root, None, &ScanOptions::default()).expect("base");
    assert!(errors.is_empty(), "{errors:?}");
    engine.apply(std::iter::empty());
    println!(
        "{} objects, {} findings, {} attack paths; base read and evaluated in {:.2} s\n",
        engine.len(),
        engine.findings().len(),
        engine.paths().len(),
        t.elapsed().as_secs_f64()
    );
    let policy = Policy {
        mode: Mode::Deny,
        severity: Severity::High,
        exclude_namespaces: Vec::new(),
        key_sha256: String::new(),
    };
    let deployments: Vec<Value> = engine
        .objects()
        .filter(|o| o.kind == "Deployment")
        .map(|o| o.body.clone())
        .collect();
    let namespaces: Vec<String> = engine
        .objects()
        .filter(|o| o.kind == "Namespace" && !o.name.starts_with("kube-"))
        .map(|o| o.name.clone())
        .collect();
    let timed = |engine: &mut Incremental, body: Vec<u8>| {
        let t = Instant::now();
        let answer = webhook::review(Some(engine), &body, &policy, "kspm").expect("answered");
        std::hint::black_box(&answer);
        t.elapsed()
    };
    // One row: `count` reviews, the `i`th made by `make(i)`, each timed alone.
    let measure =
        |engine: &mut Incremental, name: &str, count: usize, make: &dyn Fn(usize) -> Vec<u8>| {
            if wanted(name) {
                row(name, (0..count).map(|i| timed(engine, make(i))).collect());
            }
        };
    println!("| change reviewed | reviews | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    measure(&mut engine, "create a privileged Pod", n, &|i| {
        let ns = &namespaces[i % namespaces.len()];
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("debug-{i}"), "namespace": ns},
                "spec": {"hostPID": true, "containers": [{"name": "c", "image": "busybox:1.36",
                    "securityContext": {"privileged": true}}]}});
        review("CREATE", &pod, None)
    });
    measure(&mut engine, "update a Deployment's image", n, &|i| {
        let old = &deployments[i % deployments.len()];
        let mut new = old.clone();
        new["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!(format!("registry.example.com/app:{i}"));
        review("UPDATE", &new, Some(old))
    });
    measure(
        &mut engine,
        "create a RoleBinding to cluster-admin",
        rbac_n,
        &|i| {
            let ns = &namespaces[i % namespaces.len()];
            let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": format!("bench-admin-{i}"), "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}]});
            review("CREATE", &binding, None)
        },
    );
    measure(&mut engine, "create a ServiceAccount", n, &|i| {
        let ns = &namespaces[i % namespaces.len()];
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": format!("bench-sa-{i}"), "namespace": ns,
                    "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/bench"}}});
        review("CREATE", &sa, None)
    });
    measure(
        &mut engine,
        "create a ServiceAccount token Secret",
        n,
        &|i| {
            let ns = &namespaces[i % namespaces.len()];
            let secret = json!({"apiVersion": "v1", "kind": "Secret",
                "type": "kubernetes.io/service-account-token",
                "metadata": {"name": format!("bench-token-{i}"), "namespace": ns,
                    "annotations": {"kubernetes.io/service-account.name": "default"}}});
            review("CREATE", &secret, None)
        },
    );
    let namespace_bodies: Vec<Value> = engine
        .objects()
        .filter(|o| o.kind == "Namespace" && !o.name.starts_with("kube-"))
        .map(|o| o.body.clone())
        .collect();
    measure(
        &mut engine,
        "annotate a Namespace (its labels kept)",
        n,
        &|i| {
            let old = &namespace_bodies[i % namespace_bodies.len()];
            let mut new = old.clone();
            new["metadata"]["annotations"] = json!({"owner": format!("team-{i}")});
            review("UPDATE", &new, Some(old))
        },
    );
    // What reaches across the cluster: a Namespace whose labels change (selectors and Pod
    // Security read them) and a new namespace (the set of namespaces).
    measure(
        &mut engine,
        "relabel a Namespace (Pod Security level)",
        label_n,
        &|i| {
            let old = &namespace_bodies[i % namespace_bodies.len()];
            let mut new = old.clone();
            new["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = json!("restricted");
            review("UPDATE", &new, Some(old))
        },
    );
    measure(&mut engine, "create a Namespace", label_n, &|i| {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": format!("bench-new-{i}")}});
        review("CREATE", &ns, None)
    });
    // A Namespace deleted (reviewed with what is in it, as the namespace controller deletes it:
    // the namespace removed) and EKS's aws-auth ConfigMap (IAM identities mapped to RBAC users
    // and groups; the generated cluster holds none, so the review creates it).
    measure(
        &mut engine,
        "delete a Namespace (and what is in it)",
        label_n,
        &|i| {
            let old = &namespace_bodies[i % namespace_bodies.len()];
            json!({
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "request": {
                    "uid": "bench",
                    "kind": {"group": "", "version": "v1", "kind": "Namespace"},
                    "name": old["metadata"]["name"],
                    "operation": "DELETE",
                    "userInfo": {"username": "bench"},
                    "object": null,
                    "oldObject": old,
                }
            })
            .to_string()
            .into_bytes()
        },
    );
    // (An EKS cluster's kube-system holds aws-auth: the generated cluster has neither, so they are
    // applied first, and taken out again after the row.)
    let kube_system = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "kube-system"}});
    let aws_auth = |map_roles: String| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": {"mapRoles": map_roles}})
    };
    let nodes = aws_auth("- rolearn: arn:aws:iam::111122223333:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n".to_string());
    let held: Vec<kspm_engine::Object> = [&kube_system, &nodes]
        .iter()
        .map(|v| {
            let text = v.to_string();
            let mut parsed = kspm_engine::parse::parse_text(
                &text,
                "bench.json",
                kspm_engine::parse::Syntax::Json,
            );
            parsed.objects.remove(0)
        })
        .collect();
    let aws_auth_row = "update EKS's aws-auth ConfigMap (a role to system:masters)";
    if wanted(aws_auth_row) {
        engine.apply(held.iter().map(|o| (key_of(o), Some(o.clone()))));
    }
    measure(&mut engine, aws_auth_row, label_n, &|i| {
        let mut map_roles = nodes["data"]["mapRoles"].as_str().unwrap_or("").to_string();
        map_roles.push_str(&format!("- rolearn: arn:aws:iam::111122223333:role/bench-{i}\n  username: bench\n  groups: [system:masters]\n"));
        review("UPDATE", &aws_auth(map_roles), Some(&nodes))
    });
    if wanted(aws_auth_row) {
        engine.apply(held.iter().map(|o| (key_of(o), None)));
    }
    // Services, Ingresses and NetworkPolicies, which the webhook judges too.
    let services: Vec<Value> = engine
        .objects()
        .filter(|o| {
            o.kind == "Service"
                && o.namespace
                    .as_deref()
                    .is_some_and(|n| !n.starts_with("kube-"))
        })
        .map(|o| o.body.clone())
        .collect();
    measure(&mut engine, "create a ClusterIP Service", n, &|i| {
        let old = &services[i % services.len()];
        let mut new = old.clone();
        new["metadata"]["name"] = json!(format!("bench-svc-{i}"));
        new["spec"]["type"] = json!("ClusterIP");
        review("CREATE", &new, None)
    });
    measure(
        &mut engine,
        "create an internet-facing LoadBalancer Service",
        label_n,
        &|i| {
            let old = &services[i % services.len()];
            let mut new = old.clone();
            new["metadata"]["name"] = json!(format!("bench-lb-{i}"));
            new["spec"]["type"] = json!("LoadBalancer");
            new["status"] = json!({"loadBalancer": {"ingress": [{"ip": format!("198.51.100.{}", i % 250 + 1)}]}});
            review("CREATE", &new, None)
        },
    );
    measure(&mut engine, "create an Ingress", n, &|i| {
        let svc = &services[i % services.len()];
        let ingress = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": format!("bench-ingress-{i}"), "namespace": svc["metadata"]["namespace"]},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": format!("bench-{i}.example.com"),
                "http": {"paths": [{"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": svc["metadata"]["name"], "port": {"number": 80}}}}]}}]}});
        review("CREATE", &ingress, None)
    });
    measure(
        &mut engine,
        "create a NetworkPolicy (allow from its namespace's pods)",
        n,
        &|i| {
            let ns = &namespaces[i % namespaces.len()];
            let policy = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": format!("bench-np-pods-{i}"), "namespace": ns},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
                    {"podSelector": {}}]}]}});
            review("CREATE", &policy, None)
        },
    );
    // The first namespace selector of a cluster whose policies had none: every namespace's
    // pods are told apart by name from then on (network reach segments them so), and the
    // reach is drawn again whole.
    measure(
        &mut engine,
        "create a NetworkPolicy (allow from a namespace)",
        n,
        &|i| {
            let ns = &namespaces[i % namespaces.len()];
            let other = &namespaces[(i + 1) % namespaces.len()];
            let policy = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": format!("bench-np-{i}"), "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": other}}}]}]}});
            review("CREATE", &policy, None)
        },
    );
    // A plan's change: 10 Deployments at once, applied as `kspm plan` applies them (and put
    // back between runs).
    if wanted("plan: 10 Deployments changed at once") {
        let plan_times: Vec<Duration> = (0..10)
            .map(|r| {
                let changed: Vec<_> = (0..10)
                    .map(|i| {
                        let old = &deployments[(r * 10 + i) % deployments.len()];
                        let mut new = old.clone();
                        new["spec"]["template"]["spec"]["containers"][0]["securityContext"] =
                            json!({"privileged": true});
                        let o = kspm_engine::parse::object_from_map(
                            new.as_object().cloned().unwrap_or_default(),
                            kspm_engine::object::Source::default(),
                        )
                        .expect("object");
                        let back = kspm_engine::parse::object_from_map(
                            old.as_object().cloned().unwrap_or_default(),
                            kspm_engine::object::Source::default(),
                        )
                        .expect("object");
                        (o, back)
                    })
                    .collect();
                let t = Instant::now();
                let delta = engine.apply(changed.iter().map(|(o, _)| (key_of(o), Some(o.clone()))));
                let took = t.elapsed();
                std::hint::black_box(&delta);
                engine.apply(changed.into_iter().map(|(_, b)| (key_of(&b), Some(b))));
                took
            })
            .collect();
        row("plan: 10 Deployments changed at once", plan_times);
    }
}
