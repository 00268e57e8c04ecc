//! Admission reviews, shaped as the Kubernetes API reference defines `admission.k8s.io/v1`
//! AdmissionReview, answered against the demo EKS cluster: what a change introduces is warned
//! about, audited or refused by the target's policy; nothing else is; a review never changes
//! the state it is judged against; malformed reviews are errors that quote nothing.

mod common;

use common::{kspm, repo};
use kspm_api::webhook::{self, Mode, Policy};
use kspm_engine::incremental::Incremental;
use kspm_engine::{ScanOptions, Severity};
use serde_json::{json, Value};
use std::path::Path;

fn demo() -> Incremental {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-fleet");
    let (mut engine, errors) =
        kspm_api::plan::load_base(&root, Some("eks-prod-us-east-1"), &ScanOptions::default())
            .expect("base");
    assert!(errors.is_empty(), "{errors:?}");
    engine.apply(std::iter::empty());
    engine
}

fn policy(mode: Mode, severity: Severity) -> Policy {
    Policy {
        mode,
        severity,
        exclude_namespaces: vec!["sandbox".into()],
        key_sha256: String::new(),
    }
}

/// The resource a kind is served as (its plural, lower case), as the API server names it in a
/// review and the watches key it (`resource.group`).
fn plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else if lower.ends_with('s') {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

/// The key a watched cluster holds an object under.
fn watch_key(o: &kspm_engine::Object) -> kspm_engine::incremental::Key {
    let group = o.api_version.split_once('/').map_or("", |(g, _)| g);
    let resource = if group.is_empty() {
        plural(&o.kind)
    } else {
        format!("{}.{group}", plural(&o.kind))
    };
    let k = kspm_engine::incremental::key_of(o);
    (resource, k.1, k.2)
}

/// An AdmissionReview of `operation` on `object` (with `old` for updates and deletes).
fn review(operation: &str, object: Option<Value>, old: Option<Value>, dry_run: bool) -> Vec<u8> {
    let o = object.as_ref().or(old.as_ref()).expect("an object");
    let api_version = o["apiVersion"].as_str().expect("apiVersion");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = o["kind"].as_str().expect("kind");
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": plural(kind)},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "name": o["metadata"]["name"],
            "namespace": o["metadata"].get("namespace").cloned().unwrap_or(Value::Null),
            "operation": operation,
            "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
            "object": object,
            "oldObject": old,
            "dryRun": dry_run,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": format!("{}Options", operation[..1].to_string() + &operation[1..].to_lowercase())},
        }
    })
    .to_string()
    .into_bytes()
}

fn privileged_pod(namespace: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "debug", "namespace": namespace},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
            "securityContext": {"privileged": true}}]}})
}

fn admin_binding() -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "frontend-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "frontend", "namespace": "shop"}]})
}

fn answer(engine: &mut Incremental, body: &[u8], p: &Policy) -> Value {
    webhook::review(Some(engine), body, p, "kspm").expect("answered")
}

/// The body of the first object `engine` holds of `kind` in namespace `ns` (`None`:
/// cluster-scoped) named `name` (`None`: any).
fn body_of(engine: &Incremental, kind: &str, ns: Option<&str>, name: Option<&str>) -> Value {
    engine
        .objects()
        .find(|o| {
            o.kind == kind && o.namespace.as_deref() == ns && name.is_none_or(|n| o.name == n)
        })
        .map(|o| o.body.clone())
        .unwrap_or_else(|| panic!("no {kind} in {ns:?} named {name:?}"))
}

/// Whether some warning of `a` holds every one of `parts`.
fn warns(a: &Value, parts: &[&str]) -> bool {
    warnings(a)
        .iter()
        .any(|w| parts.iter().all(|p| w.contains(p)))
}

fn warnings(a: &Value) -> Vec<String> {
    a["response"]["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The engine's findings and paths, to show a review left them as they were.
fn state(engine: &Incremental) -> (Vec<String>, Vec<String>) {
    let mut f: Vec<String> = engine
        .findings()
        .into_iter()
        .map(kspm_engine::drift::finding_key)
        .collect();
    f.sort();
    let p = engine.paths().iter().map(|p| p.id.clone()).collect();
    (f, p)
}

#[test]
fn a_privileged_pod_is_warned_about_audited_or_refused_by_the_policy() {
    let mut engine = demo();
    let before = state(&engine);
    let body = review("CREATE", Some(privileged_pod("default")), None, false);
    let a = answer(&mut engine, &body, &policy(Mode::Warn, Severity::High));
    assert_eq!(a["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(a["kind"], "AdmissionReview");
    assert_eq!(a["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert_eq!(a["response"]["allowed"], true);
    let w = warnings(&a);
    assert!(
        w.iter()
            .any(|l| l.contains("KSPM-W-001") && l.contains("Pod:default/debug")),
        "{w:?}"
    );
    assert!(w.iter().all(|l| l.chars().count() <= 256));

    let a = answer(&mut engine, &body, &policy(Mode::Audit, Severity::High));
    assert_eq!(a["response"]["allowed"], true);
    assert!(a["response"].get("warnings").is_none());
    let notes = &a["response"]["auditAnnotations"];
    assert!(
        notes["introduced-findings"]
            .as_str()
            .is_some_and(|n| n != "0"),
        "{a}"
    );
    assert!(notes["summary"]
        .as_str()
        .is_some_and(|s| s.contains("KSPM-W-001")));

    let a = answer(&mut engine, &body, &policy(Mode::Deny, Severity::High));
    assert_eq!(a["response"]["allowed"], false);
    assert_eq!(a["response"]["status"]["code"], 403);
    let msg = a["response"]["status"]["message"]
        .as_str()
        .expect("message");
    assert!(
        msg.contains("Pod:default/debug") && msg.contains("KSPM-W-001"),
        "{msg}"
    );

    // Below the policy's severity nothing is said: the same pod at `critical` still is (W-001
    // is critical), an unprivileged one is not.
    let plain = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "plain", "namespace": "default"},
        "spec": {"securityContext": {"runAsNonRoot": true},
            "containers": [{"name": "c", "image": "busybox@sha256:1111111111111111111111111111111111111111111111111111111111111111"}]}});
    let a = answer(
        &mut engine,
        &review("CREATE", Some(plain), None, false),
        &policy(Mode::Deny, Severity::Critical),
    );
    assert_eq!(a["response"]["allowed"], true, "{a}");
    assert!(warnings(&a).is_empty(), "{a}");
    // No review changed what the engine holds.
    assert_eq!(state(&engine), before);
}

#[test]
fn a_binding_to_cluster_admin_is_refused_naming_the_path_and_dry_runs_are_answered_alike() {
    let mut engine = demo();
    let before = state(&engine);
    let p = policy(Mode::Deny, Severity::High);
    let real = answer(
        &mut engine,
        &review("CREATE", Some(admin_binding()), None, false),
        &p,
    );
    let dry = answer(
        &mut engine,
        &review("CREATE", Some(admin_binding()), None, true),
        &p,
    );
    assert_eq!(real, dry, "a dry run is answered as the change itself");
    assert_eq!(real["response"]["allowed"], false);
    let msg = real["response"]["status"]["message"]
        .as_str()
        .expect("message");
    assert!(msg.contains("ClusterRoleBinding:frontend-admin"), "{msg}");
    assert!(
        msg.contains("opens attack path")
            && msg.contains("ServiceAccount:shop/frontend → ClusterAdmin"),
        "{msg}"
    );
    assert_eq!(state(&engine), before);
}

#[test]
fn deleting_a_binding_resolves_and_is_allowed_and_an_unchanged_object_says_nothing() {
    let mut engine = demo();
    let p = policy(Mode::Deny, Severity::Info);
    let tiller = body_of(&engine, "ClusterRoleBinding", None, Some("tiller"));
    let a = answer(
        &mut engine,
        &review("DELETE", None, Some(tiller.clone()), false),
        &p,
    );
    assert_eq!(a["response"]["allowed"], true, "{a}");
    assert!(warnings(&a).is_empty(), "{a}");
    // Re-applying what is there introduces nothing, even at `info`.
    let a = answer(
        &mut engine,
        &review("UPDATE", Some(tiller.clone()), Some(tiller), false),
        &p,
    );
    assert_eq!(a["response"]["allowed"], true, "{a}");
    assert!(warnings(&a).is_empty(), "{a}");
    // Deleting a Namespace deletes what is in it: no finding appears, and nothing at the
    // usual threshold (the network segments regroup: paths from them may be renamed).
    let shop = body_of(&engine, "Namespace", None, Some("shop"));
    let body = review("DELETE", None, Some(shop), false);
    let a = answer(&mut engine, &body, &policy(Mode::Deny, Severity::High));
    assert_eq!(a["response"]["allowed"], true, "{a}");
    let a = answer(&mut engine, &body, &p);
    assert!(warnings(&a).is_empty(), "{a}");
    // Deleting a NetworkPolicy can open reach: the segments it regroups are judged afresh.
    let catalog = body_of(&engine, "NetworkPolicy", Some("shop"), None);
    let a = answer(
        &mut engine,
        &review("DELETE", None, Some(catalog), false),
        &p,
    );
    assert!(warns(&a, &["opens attack path [", "Network:"]), "{a}");
}

#[test]
fn an_irsa_annotation_an_existing_trust_accepts_is_a_new_way_to_the_account() {
    let mut engine = demo();
    let p = policy(Mode::Deny, Severity::Info);
    let annotated = |engine: &Incremental, ns: &str, name: &str| {
        let mut sa = engine
            .objects()
            .find(|o| {
                o.kind == "ServiceAccount" && o.namespace.as_deref() == Some(ns) && o.name == name
            })
            .map(|o| o.body.clone())
            .expect("service account");
        let old = sa.clone();
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] =
            json!("arn:aws:iam::123456789012:role/eks-prod-shop-catalog-s3");
        (sa, old)
    };
    // The role trusts system:serviceaccount:shop:*: cart becomes a way to it.
    let (sa, old) = annotated(&engine, "shop", "cart");
    let a = answer(
        &mut engine,
        &review("UPDATE", Some(sa), Some(old), false),
        &p,
    );
    assert_eq!(a["response"]["allowed"], false, "{a}");
    let msg = a["response"]["status"]["message"]
        .as_str()
        .expect("message");
    assert!(
        msg.contains("ServiceAccount:shop/cart → AwsRole:arn:aws:iam::123456789012:role/eks-prod-shop-catalog-s3"),
        "{msg}"
    );
    // The same annotation outside `shop`: the trust refuses the token, no new path.
    let (sa, old) = annotated(&engine, "monitoring", "kube-prometheus-stack-operator");
    let a = answer(
        &mut engine,
        &review("UPDATE", Some(sa), Some(old), false),
        &p,
    );
    let all = a.to_string();
    assert!(!all.contains("eks-prod-shop-catalog-s3"), "{all}");
}

#[test]
fn excluded_unjudged_and_own_namespace_changes_are_never_refused() {
    let mut engine = demo();
    let p = policy(Mode::Deny, Severity::Info);
    // Excluded: allowed without evaluation, saying so.
    let a = answer(
        &mut engine,
        &review("CREATE", Some(privileged_pod("sandbox")), None, false),
        &p,
    );
    assert_eq!(a["response"]["allowed"], true);
    assert!(warns(&a, &["excluded"]), "{a}");
    // kspm's own namespace: judged, reported, not refused.
    let a = answer(
        &mut engine,
        &review("CREATE", Some(privileged_pod("kspm")), None, false),
        &p,
    );
    assert_eq!(a["response"]["allowed"], true, "{a}");
    let w = warnings(&a);
    assert!(w.iter().any(|l| l.contains("own namespace")), "{w:?}");
    assert!(w.iter().any(|l| l.contains("KSPM-W-001")), "{w:?}");
    // A cluster not read yet: allowed (fail open), saying why.
    let body = review("CREATE", Some(privileged_pod("default")), None, false);
    let a = webhook::review(None, &body, &p, "kspm").expect("answered");
    assert_eq!(a["response"]["allowed"], true);
    assert!(warns(&a, &["not read"]), "{a}");
    // A subresource that is not the object (status) is not judged.
    let mut v: Value = serde_json::from_slice(&body).expect("json");
    v["request"]["subResource"] = json!("status");
    let a = answer(&mut engine, v.to_string().as_bytes(), &p);
    assert_eq!(a["response"]["allowed"], true, "{a}");
    // An ephemeral container is a change to the Pod: judged.
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "standalone", "namespace": "default"},
        "spec": {"securityContext": {"runAsNonRoot": true},
            "containers": [{"name": "c", "image": "busybox:1.36"}]}});
    let mut debugged = pod.clone();
    debugged["spec"]["ephemeralContainers"] = json!([{"name": "dbg", "image": "busybox:1.36",
        "securityContext": {"privileged": true}}]);
    let mut v: Value =
        serde_json::from_slice(&review("UPDATE", Some(debugged), Some(pod), false)).expect("json");
    v["request"]["subResource"] = json!("ephemeralcontainers");
    let a = answer(&mut engine, v.to_string().as_bytes(), &p);
    assert_eq!(a["response"]["allowed"], false, "{a}");
    assert!(warns(&a, &["KSPM-W-001", "\"dbg\""]), "{a}");
}

#[test]
fn a_generated_name_is_judged_under_its_prefix() {
    let mut engine = demo();
    let mut pod = privileged_pod("default");
    pod["metadata"] = json!({"generateName": "web-", "namespace": "default"});
    let mut v: Value =
        serde_json::from_slice(&review("CREATE", Some(pod), None, false)).expect("json");
    v["request"]["name"] = json!("");
    let a = answer(
        &mut engine,
        v.to_string().as_bytes(),
        &policy(Mode::Warn, Severity::High),
    );
    assert!(warns(&a, &["Pod:default/web-<generated>"]), "{a}");
}

#[test]
fn malformed_reviews_are_errors_that_quote_nothing() {
    let mut engine = demo();
    let p = policy(Mode::Deny, Severity::High);
    let secret_value = "aHVudGVyMi1zZWNyZXQtdmFsdWU=";
    let secret = json!({"kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
        "data": {"password": secret_value}});
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "not JSON"),
        (b"{\"kind\":\"AdmissionReview\"".to_vec(), "not JSON"),
        (json!({"kind": "Pod"}).to_string().into_bytes(), "not an AdmissionReview"),
        (
            json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}}).to_string().into_bytes(),
            "only admission.k8s.io/v1",
        ),
        (
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).to_string().into_bytes(),
            "no request",
        ),
        (
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {"kind": {"kind": "Pod"}, "operation": "CREATE"}}).to_string().into_bytes(),
            "no uid",
        ),
        (
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {"uid": "u", "kind": {"kind": "Pod"}, "operation": "PATCH"}}).to_string().into_bytes(),
            "operation",
        ),
        (
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {"uid": "u", "kind": {"kind": "Pod"}, "operation": "CREATE", "object": "x"}}).to_string().into_bytes(),
            "not an object",
        ),
        (
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {"uid": "u", "kind": {"kind": "Pod"}, "operation": "DELETE"}}).to_string().into_bytes(),
            "names no object",
        ),
        // A Secret without apiVersion: refused, and its value is nowhere in the error.
        (
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {"uid": "u", "kind": {"kind": "Secret"}, "operation": "CREATE", "namespace": "default", "object": secret}}).to_string().into_bytes(),
            "apiVersion",
        ),
        (vec![b' '; webhook::MAX_REVIEW_BYTES + 1], "larger than"),
    ];
    for (body, expect) in cases {
        let e = webhook::review(Some(&mut engine), &body, &p, "kspm").expect_err("malformed");
        assert!(e.0.contains(expect), "{e} (expected {expect})");
        assert!(
            !e.0.contains(secret_value) && !e.0.contains("hunter2"),
            "{e}"
        );
    }
    // A well-formed Secret is judged without its value entering the answer.
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
        "type": "Opaque", "data": {"password": secret_value}});
    let a = answer(
        &mut engine,
        &review("CREATE", Some(secret), None, false),
        &policy(Mode::Warn, Severity::Info),
    );
    assert!(!a.to_string().contains(secret_value), "{a}");
}

#[test]
fn the_registration_is_fail_open_side_effect_free_and_reads_back_as_written() {
    let excluded = vec!["dev".to_string(), "kube-public".to_string()];
    let ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let v = webhook::registration(&webhook::Registration {
        name: "kspm",
        url: "https://kspm.example.com:8443/admission/acme/prod/0123456789abcdef0123456789abcdef",
        ca_pem: Some(ca),
        timeout_seconds: 10,
        exclude_namespaces: &excluded,
    });
    assert_eq!(v["kind"], "ValidatingWebhookConfiguration");
    assert_eq!(v["apiVersion"], "admissionregistration.k8s.io/v1");
    let hooks = v["webhooks"].as_array().expect("webhooks");
    assert_eq!(
        hooks.len(),
        2,
        "changes, and kube-system ConfigMaps (aws-auth)"
    );
    for h in hooks {
        assert_eq!(h["failurePolicy"], "Ignore");
        assert_eq!(h["sideEffects"], "None");
        assert_eq!(h["admissionReviewVersions"], json!(["v1"]));
        assert_eq!(h["timeoutSeconds"], 10);
        assert!(h["name"]
            .as_str()
            .is_some_and(|n| n.split('.').count() >= 3));
        use base64::Engine as _;
        let bundle = base64::engine::general_purpose::STANDARD
            .decode(h["clientConfig"]["caBundle"].as_str().expect("caBundle"))
            .expect("base64");
        assert_eq!(bundle, ca.as_bytes());
    }
    let selector = &hooks[0]["namespaceSelector"]["matchExpressions"][0];
    assert_eq!(selector["operator"], "NotIn");
    assert_eq!(selector["values"], json!(excluded));
    let resources: Vec<&str> = hooks[0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .flat_map(|r| {
            r["resources"]
                .as_array()
                .expect("resources")
                .iter()
                .filter_map(Value::as_str)
        })
        .collect();
    for r in [
        "pods",
        "clusterrolebindings",
        "rolebindings",
        "serviceaccounts",
        "services",
        "ingresses",
        "networkpolicies",
        "deployments",
        "namespaces",
    ] {
        assert!(resources.contains(&r), "{r} is not sent");
    }
    assert!(
        !resources.contains(&"secrets"),
        "Secrets are never sent to kspm"
    );
    // The YAML reads back (as kubectl reads it) to the same object.
    let yaml = kspm_engine::yaml::to_string(&v).expect("yaml");
    let parsed =
        kspm_engine::parse::parse_text(&yaml, "webhook.yaml", kspm_engine::parse::Syntax::Yaml);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.objects.len(), 1);
    let mut back = parsed.objects[0].body.clone();
    // (The parser keeps the object's identity fields beside the body.)
    for k in ["apiVersion", "kind", "metadata"] {
        if back.get(k).is_none() {
            back[k] = v[k].clone();
        }
    }
    assert_eq!(back["webhooks"], v["webhooks"], "{yaml}");
}

#[test]
fn a_watched_cluster_keyed_by_resource_is_judged_on_the_object_it_holds() {
    // As `kspm serve`'s watches hold the cluster: keyed by resource, not kind.
    let snapshot = demo();
    let meta = kspm_engine::snapshot::ClusterSnapshot {
        info: snapshot.info().clone(),
        ..Default::default()
    };
    let mut engine = Incremental::new(meta, ScanOptions::default());
    engine.apply(
        snapshot
            .objects()
            .map(|o| (watch_key(o), Some(o.clone())))
            .collect::<Vec<_>>(),
    );
    drop(snapshot);
    let objects_before = engine.len();
    let p = policy(Mode::Deny, Severity::Info);
    // Deleting a NetworkPolicy removes the one held (its paths are judged).
    let netpol = body_of(&engine, "NetworkPolicy", Some("shop"), None);
    let a = answer(
        &mut engine,
        &review("DELETE", None, Some(netpol.clone()), false),
        &p,
    );
    assert!(warns(&a, &["opens attack path ["]), "{a}");
    // Updating it to what it is changes nothing: the held object is replaced, not doubled.
    let a = answer(
        &mut engine,
        &review("UPDATE", Some(netpol.clone()), Some(netpol), false),
        &p,
    );
    assert!(warnings(&a).is_empty(), "{a}");
    // A Namespace update names the Namespace as the request's namespace: still the same object.
    let shop = body_of(&engine, "Namespace", None, Some("shop"));
    let mut v: Value = serde_json::from_slice(&review(
        "UPDATE",
        Some(shop.clone()),
        Some(shop.clone()),
        false,
    ))
    .expect("json");
    v["request"]["namespace"] = json!("shop");
    let a = answer(&mut engine, v.to_string().as_bytes(), &p);
    assert!(warnings(&a).is_empty(), "{a}");
    assert_eq!(
        engine.len(),
        objects_before,
        "no review left an object behind"
    );
    // Deletions in a terminating namespace are the namespace controller emptying it: never
    // refused.
    let mut terminating = shop;
    terminating["status"] = json!({"phase": "Terminating"});
    let ns = kspm_engine::parse::object_from_map(
        terminating.as_object().cloned().expect("map"),
        kspm_engine::object::Source::default(),
    )
    .expect("namespace");
    engine.apply([(watch_key(&ns), Some(ns))]);
    let netpol = body_of(&engine, "NetworkPolicy", Some("shop"), None);
    let a = answer(
        &mut engine,
        &review("DELETE", None, Some(netpol), false),
        &p,
    );
    assert_eq!(a["response"]["allowed"], true, "{a}");
    assert!(warns(&a, &["being deleted"]), "{a}");
}

#[test]
fn yaml_keys_and_strings_read_back_as_written() {
    let v = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
        "data": {"y": "on", "": "empty key", "a: b": "colon", "123": "number-like",
            "null": "\u{85}next line\u{7f}", "list": [[1, 2], [], {}], "nested": [{"a": [{}]}]}});
    let yaml = kspm_engine::yaml::to_string(&v).expect("yaml");
    let parsed = kspm_engine::parse::parse_text(&yaml, "x.yaml", kspm_engine::parse::Syntax::Yaml);
    assert!(parsed.errors.is_empty(), "{:?}\n{yaml}", parsed.errors);
    assert_eq!(parsed.objects[0].body["data"], v["data"], "{yaml}");
}

#[test]
fn updating_a_role_binding_to_add_an_exposed_service_account_is_judged() {
    let mut engine = demo();
    let p = policy(Mode::Warn, Severity::Info);
    let old = body_of(
        &engine,
        "RoleBinding",
        Some("shop"),
        Some("catalog-config-reader"),
    );
    let mut new = old.clone();
    new["subjects"]
        .as_array_mut()
        .expect("subjects")
        .push(json!({"kind": "ServiceAccount", "name": "frontend", "namespace": "shop"}));
    // The internet-facing frontend's ServiceAccount may now read shop's Secrets, and the
    // frontend's pods carry its token.
    let a = answer(
        &mut engine,
        &review("UPDATE", Some(new.clone()), Some(old.clone()), false),
        &p,
    );
    assert!(
        warns(
            &a,
            &[
                "KSPM-R-004",
                "ServiceAccount shop/frontend can read Secrets"
            ]
        ),
        "{a}"
    );
    assert!(
        warns(&a, &["KSPM-S-008", "Deployment:shop/frontend"]),
        "{a}"
    );
    // Taking the subject out again (against the state with it) introduces nothing.
    let a = answer(
        &mut engine,
        &review("UPDATE", Some(old), Some(new), false),
        &p,
    );
    assert!(warnings(&a).is_empty(), "{a}");
}

#[test]
fn the_commands_print_the_registration_answer_reviews_and_export_policies() {
    let dir = tempfile::tempdir().expect("tmp");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.to_string_lossy().into_owned()
    };
    // The registration: the key goes in the URL, its hash to stderr for kspm.toml.
    let key = "0123456789abcdef0123456789abcdef";
    let key_file = write("webhook.key", &format!("{key}\n"));
    let out = kspm(&[
        "admission-config",
        "--url",
        "https://kspm.example.com:8443",
        "--tenant",
        "acme",
        "--target",
        "prod",
        "--key-file",
        &key_file,
        "--exclude-namespace",
        "dev",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8_lossy(&out.stdout).into_owned();
    let parsed = kspm_engine::parse::parse_text(&yaml, "w.yaml", kspm_engine::parse::Syntax::Yaml);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let hooks = &parsed.objects[0].body["webhooks"];
    assert_eq!(
        hooks[0]["clientConfig"]["url"],
        format!("https://kspm.example.com:8443/admission/acme/prod/{key}")
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&kspm_api::service::config::hash_token(key)),
        "{stderr}"
    );
    // Plain HTTP and a short key are refused.
    let out = kspm(&[
        "admission-config",
        "--url",
        "http://kspm",
        "--tenant",
        "a",
        "--target",
        "b",
        "--key-file",
        &key_file,
    ]);
    assert!(!out.status.success());
    let short = write("short.key", "abc");
    let out = kspm(&[
        "admission-config",
        "--url",
        "https://kspm",
        "--tenant",
        "a",
        "--target",
        "b",
        "--key-file",
        &short,
    ]);
    assert!(!out.status.success());

    // A review against a snapshot: exit 1 when refused, 0 when allowed, 2 when malformed.
    let demo = repo().join("examples/demo-fleet");
    let demo = demo.to_string_lossy();
    let refused = write(
        "pod.json",
        &String::from_utf8(review(
            "CREATE",
            Some(privileged_pod("default")),
            None,
            false,
        ))
        .expect("utf8"),
    );
    let args = |file: &str, mode: &str| -> Vec<String> {
        [
            "admission-review",
            "--base",
            &demo,
            "--cluster",
            "eks-prod-us-east-1",
            "--mode",
            mode,
            file,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |a: Vec<String>| kspm(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let out = run(args(&refused, "deny"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(answer["response"]["allowed"], false);
    assert_eq!(run(args(&refused, "warn")).status.code(), Some(0));
    let malformed = write("bad.json", "{\"kind\": \"AdmissionReview\"}");
    let out = run(args(&malformed, "deny"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("admission.k8s.io/v1"));

    // Policies for the admission controllers people run, with an accepted risk left unjudged.
    let exceptions = write(
        "exceptions.yaml",
        "exceptions:\n- check: KSPM-W-001\n  resource: DaemonSet:monitoring/*\n  reason: node agents\n",
    );
    for (format, kind, per_policy) in [
        (
            "validating-admission-policy",
            "ValidatingAdmissionPolicy",
            2,
        ),
        ("kyverno", "ClusterPolicy", 1),
    ] {
        let out = kspm(&[
            "policies",
            "export",
            "--format",
            format,
            "--exceptions",
            &exceptions,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let parsed =
            kspm_engine::parse::parse_text(&text, "p.yaml", kspm_engine::parse::Syntax::Yaml);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let count = kspm_engine::policy_export::policies().len();
        assert_eq!(parsed.objects.len(), count * per_policy, "{format}");
        let privileged = parsed
            .objects
            .iter()
            .find(|o| o.kind == kind && o.name == "kspm-privileged")
            .expect("the privileged policy");
        let text = privileged.body.to_string();
        assert!(text.contains("DaemonSet:monitoring/.*"), "{text}");
        // Only the excepted check's policy carries the condition.
        let host_pid = parsed
            .objects
            .iter()
            .find(|o| o.kind == kind && o.name == "kspm-host-pid")
            .expect("the hostPID policy");
        assert!(!host_pid.body.to_string().contains("monitoring"));
    }
}
