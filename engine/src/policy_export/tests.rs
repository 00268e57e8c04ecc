//! Round trip: every exported policy, evaluated by a CEL interpreter as the API server (or
//! Kyverno) evaluates it, rejects the failing cases and admits the passing cases of the checks it
//! stands for, and agrees with its check on every workload object of the case catalogue.

use super::*;
use crate::checks::cases::{cases, hits};
use std::sync::Arc;

fn env() -> Arc<cel::Env> {
    let mut env = cel::Env::stdlib();
    env.add_extension(cel::extensions::strings)
        .expect("strings extension");
    Arc::new(env)
}

/// Evaluates `expression` with `object`, `request` and `variables` bound, as JSON.
fn eval(
    env: &Arc<cel::Env>,
    expression: &str,
    object: &Value,
    variables: &Value,
) -> Result<Value, String> {
    let program = env
        .compile(expression)
        .map_err(|e| format!("{expression}: {e}"))?;
    let mut ctx = cel::Context::with_env(env.clone());
    ctx.add_variable("object", object.clone())
        .map_err(|e| e.to_string())?;
    ctx.add_variable("variables", variables.clone())
        .map_err(|e| e.to_string())?;
    ctx.add_variable(
        "request",
        json!({"namespace": object["metadata"]["namespace"]}),
    )
    .map_err(|e| e.to_string())?;
    let v = program
        .execute(&ctx)
        .map_err(|e| format!("{expression}: {e}"))?;
    v.json().map_err(|e| e.to_string())
}

/// Whether `policy` admits `object` (its exceptions applied), as a ValidatingAdmissionPolicy
/// does: variables first, then the match condition, then the validation.
fn admits(env: &Arc<cel::Env>, policy: &Exported, object: &Value, condition: Option<&str>) -> bool {
    let mut variables = json!({});
    for (name, expression) in VARIABLES {
        let v = eval(env, expression, object, &variables).expect("variable");
        variables[*name] = v;
    }
    if let Some(cond) = condition {
        let unjudged = eval(env, cond, object, &variables).expect("condition");
        if unjudged == json!(true) {
            return true;
        }
    }
    match eval(env, policy.expression, object, &variables) {
        Ok(Value::Bool(b)) => b,
        other => panic!("{}: {other:?} on {object}", policy.name),
    }
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
                if o.pointer("/metadata/ownerReferences").is_some() {
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

#[test]
fn the_documents_are_what_each_controller_reads() {
    let vap = export(
        Format::ValidatingAdmissionPolicy,
        Action::Deny,
        &[],
        None,
        None,
    );
    assert_eq!(vap.len(), policies().len() * 2);
    for pair in vap.chunks(2) {
        assert_eq!(pair[0]["kind"], "ValidatingAdmissionPolicy");
        assert_eq!(pair[1]["kind"], "ValidatingAdmissionPolicyBinding");
        assert_eq!(pair[1]["spec"]["policyName"], pair[0]["metadata"]["name"]);
        assert_eq!(pair[1]["spec"]["validationActions"], json!(["Deny"]));
        assert!(pair[0]["spec"]["matchConditions"].is_null());
    }
    let warn = export(
        Format::ValidatingAdmissionPolicy,
        Action::Warn,
        &[],
        None,
        None,
    );
    assert_eq!(warn[1]["spec"]["validationActions"], json!(["Warn"]));
    let kyverno = export(Format::Kyverno, Action::Audit, &[], None, None);
    assert_eq!(kyverno.len(), policies().len());
    for k in &kyverno {
        assert_eq!(k["kind"], "ClusterPolicy");
        assert_eq!(k["spec"]["validationFailureAction"], "Audit");
        assert!(
            k["spec"]["rules"][0]["validate"]["cel"]["expressions"][0]["expression"].is_string()
        );
    }
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
