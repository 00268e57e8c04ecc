//! Round trip: every exported policy, evaluated by a CEL interpreter as the API server (or
//! Kyverno) evaluates it, rejects the failing cases and admits the passing cases of the checks it
//! stands for, and agrees with its check on every workload object of the case catalogue.

use super::*;
use crate::checks::cases::{cases, hits};
use crate::pointer::Pointer as _;
use std::sync::Arc;

fn env() -> Arc<cel::Env> {
    let mut env = cel::Env::stdlib();
    env.add_extension(cel::extensions::strings)
        .expect("strings extension");
    Arc::new(env)
}

/// An admission request: a user's CREATE of `object`, unless `old` (an UPDATE) or `by` (another
/// requester) say otherwise.
struct Req<'a> {
    object: &'a Value,
    old: Option<&'a Value>,
    by: &'a str,
}

fn create(object: &Value) -> Req<'_> {
    Req {
        object,
        old: None,
        by: "alice",
    }
}

/// Evaluates `expression` with `object`, `oldObject`, `request` and `variables` bound, as JSON.
fn eval(
    env: &Arc<cel::Env>,
    expression: &str,
    req: &Req<'_>,
    variables: &Value,
) -> Result<Value, String> {
    let program = env
        .compile(expression)
        .map_err(|e| format!("{expression}: {e}"))?;
    let mut ctx = cel::Context::with_env(env.clone());
    let request = json!({
        "namespace": req.object["metadata"]["namespace"],
        "operation": if req.old.is_some() { "UPDATE" } else { "CREATE" },
        "userInfo": {"username": req.by},
    });
    for (name, value) in [
        ("object", req.object.clone()),
        ("oldObject", req.old.cloned().unwrap_or(Value::Null)),
        ("variables", variables.clone()),
        ("request", request),
    ] {
        ctx.add_variable(name, value).map_err(|e| e.to_string())?;
    }
    let v = program
        .execute(&ctx)
        .map_err(|e| format!("{expression}: {e}"))?;
    v.json().map_err(|e| e.to_string())
}

/// Whether `policy` admits the request (`exception`: the accepted risks' condition), as a
/// ValidatingAdmissionPolicy does: the match conditions (a false one: not judged), then the
/// variables, then the validation.
fn admits_request(
    env: &Arc<cel::Env>,
    policy: &Exported,
    req: &Req<'_>,
    exception: Option<&str>,
) -> bool {
    let none = json!({});
    for (name, expression) in conditions() {
        match eval(env, &expression, req, &none) {
            Ok(Value::Bool(true)) => {}
            Ok(Value::Bool(false)) => return true,
            other => panic!("{name}: {other:?}"),
        }
    }
    if let Some(cond) = exception {
        if eval(env, cond, req, &none).expect("condition") == json!(true) {
            return true;
        }
    }
    let mut variables = json!({});
    for (name, expression) in VARIABLES {
        let v = eval(env, expression, req, &variables).expect("variable");
        variables[*name] = v;
    }
    match eval(env, policy.expression, req, &variables) {
        Ok(Value::Bool(b)) => b,
        other => panic!("{}: {other:?} on {}", policy.name, req.object),
    }
}

/// [`admits_request`] for a user's CREATE.
fn admits(env: &Arc<cel::Env>, policy: &Exported, object: &Value, exception: Option<&str>) -> bool {
    admits_request(env, policy, &create(object), exception)
}

fn workloads(objects: &[Value]) -> Vec<&Value> {
    objects
        .iter()
        .filter(|o| {
            crate::checks::pod_security::WORKLOAD_KINDS.contains(&o["kind"].as_str().unwrap_or(""))
        })
        .collect()
}

#[test]
fn every_policy_rejects_its_checks_failing_cases_and_admits_the_passing_ones() {
    let env = env();
    let all = cases();
    for p in policies() {
        for id in p.checks {
            let c = all
                .iter()
                .find(|c| c.id == *id)
                .unwrap_or_else(|| panic!("{id}: no case"));
            let bad = workloads(&c.bad);
            assert!(!bad.is_empty(), "{id}: the failing case has no workload");
            assert!(
                bad.iter().any(|o| !admits(&env, &p, o, None)),
                "{}: admits the failing case of {id}",
                p.name
            );
            if p.admits.contains(id) {
                for o in workloads(&c.good) {
                    assert!(
                        admits(&env, &p, o, None),
                        "{}: rejects the passing case of {id}: {o}",
                        p.name
                    );
                }
            }
        }
    }
}

#[test]
fn every_single_check_policy_agrees_with_its_check_on_every_case_object() {
    let env = env();
    let all = cases();
    let mut compared = 0;
    for p in policies().iter().filter(|p| p.checks == p.admits) {
        let id = p.checks[0];
        for c in &all {
            for o in workloads(&c.bad).into_iter().chain(workloads(&c.good)) {
                // A controller's pods are judged on the controller, by the check and by the
                // policy alike (the policy also sees the pod: not compared).
                if o.at("/metadata/ownerReferences").is_some() {
                    continue;
                }
                let flagged = !hits(id, std::slice::from_ref(o), c.provider, &c.options).is_empty();
                assert_eq!(
                    !admits(&env, p, o, None),
                    flagged,
                    "{} and {id} disagree on {o}",
                    p.name
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 500, "only {compared} comparisons");
}

#[test]
fn accepted_risks_leave_their_objects_unjudged_and_only_those() {
    let env = env();
    let exception =
        |check: &str, resource: &str, cluster: Option<&str>, expires: Option<&str>| Exception {
            check: check.into(),
            resource: Some(resource.into()),
            cluster: cluster.map(str::to_string),
            reason: "accepted".into(),
            expires: expires.map(str::to_string),
        };
    let privileged = policies()
        .into_iter()
        .find(|p| p.name == "privileged")
        .expect("privileged");
    let pod = |ns: &str, name: &str| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "a", "image": "x:1", "securityContext": {"privileged": true}}]}})
    };
    let exceptions = vec![
        exception("KSPM-W-001", "Pod:monitoring/node-*", None, None),
        exception("KSPM-W-001", "Pod:prod/*", Some("prod-*"), None),
        exception("KSPM-W-001", "Pod:old/*", None, Some("2026-01-01")),
        exception("KSPM-W-002", "Pod:other/*", None, None),
    ];
    let cond = excepted(
        &privileged,
        &exceptions,
        Some("staging-1"),
        Some("2026-12-04"),
    )
    .expect("a condition");
    let judged = |ns: &str, name: &str| !admits(&env, &privileged, &pod(ns, name), Some(&cond));
    assert!(
        !judged("monitoring", "node-exporter-x1"),
        "excepted by glob"
    );
    assert!(judged("monitoring", "grafana"), "not excepted");
    assert!(
        judged("prod", "web"),
        "the exception is for another cluster"
    );
    assert!(judged("old", "web"), "the exception expired");
    assert!(judged("other", "web"), "the exception is for another check");
    // Regex characters in a name are literal.
    let dotted = vec![exception("KSPM-W-001", "Pod:a.b/c", None, None)];
    let cond = excepted(&privileged, &dotted, None, None).expect("a condition");
    assert!(!admits(&env, &privileged, &pod("axb", "c"), Some(&cond)));
    assert!(admits(&env, &privileged, &pod("a.b", "c"), Some(&cond)));
}

fn options<'a>(format: Format, action: Action, exclude: &'a [String]) -> Export<'a> {
    Export {
        format,
        action,
        exceptions: &[],
        cluster: None,
        today: None,
        exclude_namespaces: exclude,
    }
}

#[test]
fn unchanged_pod_specs_and_what_controllers_make_are_not_judged() {
    assert_eq!(VARIABLES[0].1, pod_spec("object"));
    let env = env();
    let privileged = policies()
        .into_iter()
        .find(|p| p.name == "privileged")
        .expect("privileged");
    let deployment = |privileged: bool, replicas: u32, image: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "a", "image": image,
                "securityContext": {"privileged": privileged}}]}}}})
    };
    let bad = deployment(true, 1, "x:1");
    let good = deployment(false, 1, "x:1");
    let scaled = deployment(true, 3, "x:1");
    let still_bad = deployment(true, 1, "x:2");
    let update = |object, old| Req {
        object,
        old: Some(old),
        by: "alice",
    };
    // Scaling a workload that already violates (its pod spec unchanged) is not judged...
    assert!(admits_request(
        &env,
        &privileged,
        &update(&scaled, &bad),
        None
    ));
    // ... making it violate, or changing the spec of one that does, is.
    assert!(!admits_request(
        &env,
        &privileged,
        &update(&bad, &good),
        None
    ));
    assert!(!admits_request(
        &env,
        &privileged,
        &update(&still_bad, &bad),
        None
    ));
    // What the ReplicaSet controller creates is judged on the workload; a user's pod is not,
    // nor one a look-alike ServiceAccount of another namespace creates.
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {"containers": [{"name": "a", "image": "x:1", "securityContext": {"privileged": true}}]}});
    let by = |who| Req {
        object: &pod,
        old: None,
        by: who,
    };
    assert!(admits_request(
        &env,
        &privileged,
        &by("system:serviceaccount:kube-system:replicaset-controller"),
        None
    ));
    assert!(!admits(&env, &privileged, &pod, None));
    assert!(!admits_request(
        &env,
        &privileged,
        &by("system:serviceaccount:shop:replicaset-controller"),
        None
    ));
}

#[test]
fn a_policy_for_several_checks_honours_only_exceptions_of_all_of_them() {
    let exception = |check: &str| Exception {
        check: check.into(),
        resource: Some("DaemonSet:logging/*".into()),
        cluster: None,
        reason: "accepted".into(),
        expires: None,
    };
    let host_path = policies()
        .into_iter()
        .find(|p| p.name == "host-path")
        .expect("host-path");
    assert!(excepted(&host_path, &[exception("KSPM-W-005")], None, None).is_none());
    let all = [
        exception("KSPM-W-005"),
        exception("KSPM-W-021"),
        exception("KSPM-W-022"),
    ];
    assert!(excepted(&host_path, &all, None, None).is_some());
    assert!(excepted(&host_path, &[exception("*")], None, None).is_some());
}

#[test]
fn the_documents_are_what_each_controller_reads() {
    let system = vec!["kube-system".to_string()];
    let vap = export(&options(
        Format::ValidatingAdmissionPolicy,
        Action::Deny,
        &system,
    ));
    assert_eq!(vap.len(), policies().len() * 2);
    for pair in vap.chunks(2) {
        assert_eq!(pair[0]["kind"], "ValidatingAdmissionPolicy");
        assert_eq!(pair[1]["kind"], "ValidatingAdmissionPolicyBinding");
        assert_eq!(pair[1]["spec"]["policyName"], pair[0]["metadata"]["name"]);
        assert_eq!(pair[1]["spec"]["validationActions"], json!(["Deny"]));
        assert_eq!(
            pair[0]["spec"]["matchConditions"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(
            pair[1]["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"][0]["values"],
            json!(["kube-system"])
        );
    }
    let warn = export(&options(
        Format::ValidatingAdmissionPolicy,
        Action::Warn,
        &[],
    ));
    assert_eq!(warn[1]["spec"]["validationActions"], json!(["Warn"]));
    assert!(warn[1]["spec"]["matchResources"].is_null());
    let kyverno = export(&options(Format::Kyverno, Action::Warn, &system));
    assert_eq!(kyverno.len(), policies().len());
    for k in &kyverno {
        assert_eq!(k["kind"], "ClusterPolicy");
        assert_eq!(k["spec"]["validationFailureAction"], "Audit");
        assert_eq!(k["spec"]["emitWarning"], true);
        assert_eq!(k["spec"]["background"], false);
        let rule = &k["spec"]["rules"][0];
        assert_eq!(
            rule["exclude"]["any"][0]["resources"]["namespaces"],
            json!(["kube-system"])
        );
        assert_eq!(rule["celPreconditions"].as_array().map(Vec::len), Some(2));
        assert!(rule["validate"]["cel"]["expressions"][0]["expression"].is_string());
    }
    // An exception that expires is announced: admission has no clock.
    let expiring = [Exception {
        check: "KSPM-W-001".into(),
        resource: Some("Pod:a/b".into()),
        cluster: None,
        reason: "until the fix".into(),
        expires: Some("2027-01-31".into()),
    }];
    let x = Export {
        exceptions: &expiring,
        today: Some("2026-12-04"),
        ..options(Format::ValidatingAdmissionPolicy, Action::Deny, &[])
    };
    assert_eq!(earliest_expiry(&x).as_deref(), Some("2027-01-31"));
    assert_eq!(
        export(&x)[0]["metadata"]["annotations"]["kspm.dev/exceptions-expire"],
        "2027-01-31"
    );
}

#[test]
fn image_policies_read_references_as_the_checks_do() {
    let env = env();
    let hex64 = "0123456789abcdef".repeat(4);
    let images = [
        "nginx".to_string(),
        "nginx:latest".into(),
        "nginx:1.27".into(),
        "localhost:5000/app".into(),
        "localhost:5000/app:latest".into(),
        "localhost:5000/app:v1".into(),
        format!("registry.io/a/b@sha256:{hex64}"),
        "registry.io/a/b:1@sha256:abc".into(),
        format!("registry.io/a/b:latest@sha256:{hex64}"),
        format!("x@sha512:{hex64}{hex64}"),
        format!("x@sha256:{}", hex64.to_uppercase()),
        "a:b:c".into(),
        "repo:".into(),
        "host:5000/path:latest/x".into(),
        String::new(),
    ];
    let all = policies();
    for name in ["mutable-tag", "image-digest"] {
        let p = all.iter().find(|p| p.name == name).expect("policy");
        for image in &images {
            let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
                "spec": {"containers": [{"name": "a", "image": image}]}});
            let flagged = !hits(
                p.checks[0],
                std::slice::from_ref(&pod),
                crate::snapshot::Provider::Generic,
                &crate::options::ScanOptions::default(),
            )
            .is_empty();
            assert_eq!(!admits(&env, p, &pod, None), flagged, "{name} on {image:?}");
        }
    }
}
