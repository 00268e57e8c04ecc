//! The Terraform modules against the code: the cloud actions each collector calls (kept as data
//! next to it) must equal what the modules grant — calling something not granted, or granting
//! something nothing calls, fails — and the service module's workload must come out of a kspm
//! scan with no high or critical finding.

mod common;

use common::{kspm, repo};
use serde_json::Value;
use std::collections::BTreeSet;

/// The quoted strings of the list assigned to `name` in a Terraform file.
fn tf_list(file: &str, name: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let start = text
        .find(&format!("{name} = ["))
        .unwrap_or_else(|| panic!("{file}: no list {name}"));
    let body = &text[start..];
    let end = body
        .find(']')
        .unwrap_or_else(|| panic!("{file}: {name} is not closed"));
    body[..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn modules_grant_exactly_what_the_collectors_call() {
    use kspm_collectors::cloud::{aws, azure, gcp};
    let cases = [
        (
            "terraform/modules/aws-member-role/actions.tf",
            "kspm_collector_actions",
            set(aws::ACTIONS),
        ),
        (
            "terraform/modules/aws-member-role/actions.tf",
            "kspm_organization_actions",
            set(kspm_collectors::cloud::aws::organization::ORGANIZATION_ACTIONS),
        ),
        (
            "terraform/modules/aws-central-role/main.tf",
            "kspm_central_actions",
            set(aws::CENTRAL_ACTIONS),
        ),
        (
            "terraform/modules/gcp-collector/permissions.tf",
            "kspm_collector_permissions",
            set(gcp::ACTIONS),
        ),
        (
            "terraform/modules/gcp-collector/permissions.tf",
            "kspm_hierarchy_permissions",
            set(gcp::HIERARCHY_ACTIONS),
        ),
        (
            "terraform/modules/azure-collector/actions.tf",
            "kspm_collector_actions",
            set(azure::ACTIONS),
        ),
        (
            "terraform/modules/azure-collector/actions.tf",
            "kspm_cluster_credential_actions",
            set(azure::CLUSTER_CREDENTIAL_ACTIONS),
        ),
    ];
    for (file, name, code) in cases {
        let granted = tf_list(file, name);
        let missing: Vec<_> = code.difference(&granted).collect();
        let unused: Vec<_> = granted.difference(&code).collect();
        assert!(
            missing.is_empty(),
            "{file}: the collector calls {missing:?}, which the module does not grant"
        );
        assert!(
            unused.is_empty(),
            "{file}: the module grants {unused:?}, which no collector calls"
        );
    }
}

#[test]
fn the_service_module_deploys_a_workload_kspm_finds_nothing_serious_in() {
    // As main.tf computes the lists, with the admission webhook on (port 8443, a TLS Secret).
    let main = std::fs::read_to_string(repo().join("terraform/modules/kspm-service/main.tf"))
        .expect("main.tf");
    for fact in [
        "containerPort = var.admission_port",
        "secretName = var.tls_secret",
        "port = 443, targetPort = \"admission\"",
        "ports = [{ port = var.admission_port }]",
    ] {
        assert!(main.contains(fact), "main.tf no longer says {fact}");
    }
    let template = std::fs::read_to_string(
        repo().join("terraform/modules/kspm-service/kspm-service.yaml.tftpl"),
    )
    .expect("template");
    let rendered = [
        ("${container_ports}", r#"[{"name":"grpc","containerPort":50051},{"name":"metrics","containerPort":9464},{"name":"admission","containerPort":8443}]"#),
        ("${volume_mounts}", r#"[{"name":"config","mountPath":"/etc/kspm","readOnly":true},{"name":"tmp","mountPath":"/tmp"},{"name":"tls","mountPath":"/etc/kspm/tls","readOnly":true}]"#),
        ("${volumes}", r#"[{"name":"config","configMap":{"name":"kspm-config"}},{"name":"tmp","emptyDir":{}},{"name":"tls","secret":{"secretName":"kspm-tls"}}]"#),
        ("${service_ports}", r#"[{"name":"grpc","port":50051,"targetPort":"grpc"},{"name":"admission","port":443,"targetPort":"admission"}]"#),
        ("${ingress}", r#"[{"ports":[{"port":50051}]},{"ports":[{"port":8443}]}]"#),
        ("${namespace}", "kspm"),
        ("${service_account}", "kspm"),
        ("${service_account_annotations}", r#"{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/kspm-central"}"#),
        ("${config}", r#""[service]\nlisten = \"0.0.0.0:50051\"\n""#),
        ("${image}", "registry.example.com/kspm@sha256:0f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a6978"),
        ("${replicas}", "2"),
        ("${database_secret}", "kspm-database"),
    ]
    .iter()
    .fold(template, |t, (k, v)| t.replace(k, v));
    assert!(!rendered.contains("${"), "unrendered variable left");
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("kspm.yaml"), &rendered).expect("write");
    let out = kspm(&["scan", dir.path().to_str().expect("utf8"), "-f", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        report["errors"].as_array().map(Vec::len),
        Some(0),
        "{}",
        report["errors"]
    );
    assert!(report["clusters"][0]["kinds"]["Deployment"] == 1);
    let serious: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == "high" || f["severity"] == "critical")
        .map(|f| format!("{} {} {}", f["check"], f["resource"], f["message"]))
        .collect();
    assert!(serious.is_empty(), "kspm's own workload: {serious:?}");
    // And it is admitted under the restricted Pod Security level its namespace enforces.
    let pss = kspm(&[
        "pss",
        "--level",
        "restricted",
        dir.path().to_str().expect("utf8"),
    ]);
    assert!(
        pss.status.success(),
        "{}",
        String::from_utf8_lossy(&pss.stdout)
    );
}
