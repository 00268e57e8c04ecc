//! Pod Security Standards edge cases, one test per rule, with the negative cases.

use super::*;
use serde_json::{json, Value};

fn pod(spec: Value) -> (Value, Value) {
    (json!({}), spec)
}

fn checks(meta: &Value, spec: &Value, level: Level, version: &str) -> Vec<&'static str> {
    let view = PodView {
        metadata: Some(meta),
        spec,
    };
    evaluate(view, level, version.parse().expect("version"))
        .into_iter()
        .map(|v| v.check)
        .collect()
}

fn baseline(spec: Value) -> Vec<&'static str> {
    let (m, s) = pod(spec);
    checks(&m, &s, Level::Baseline, "latest")
}

/// A pod that passes restricted at every version; tests mutate it.
fn restricted_ok() -> Value {
    json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "a", "image": "x", "securityContext": {
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]
    })
}

fn restricted(spec: &Value, version: &str) -> Vec<&'static str> {
    checks(&json!({}), spec, Level::Restricted, version)
}

#[test]
fn versions_parse() {
    assert_eq!("v1.25".parse::<Version>(), Ok(Version::v1(25)));
    assert_eq!("1.3".parse::<Version>(), Ok(Version::v1(3)));
    assert_eq!("latest".parse::<Version>(), Ok(Version::LATEST));
    for bad in ["v2.1", "1", "v1.x", "v1.2.3", ""] {
        assert!(bad.parse::<Version>().is_err(), "{bad}");
    }
}

#[test]
fn minimal_pod_passes_baseline_and_fails_restricted() {
    let s = json!({"containers": [{"name": "a", "image": "x"}]});
    assert!(baseline(s.clone()).is_empty());
    let got = restricted(&s, "latest");
    assert_eq!(
        got,
        vec![
            "allowPrivilegeEscalation",
            "runAsNonRoot",
            "seccompProfile_restricted",
            "capabilities_restricted"
        ]
    );
    assert!(restricted(&restricted_ok(), "latest").is_empty());
    assert!(restricted(&restricted_ok(), "v1.0").is_empty());
}

#[test]
fn privileged_level_allows_everything() {
    let s = json!({"hostPID": true, "containers": [{"name": "a", "securityContext": {"privileged": true}}]});
    assert!(checks(&json!({}), &s, Level::Privileged, "latest").is_empty());
}

#[test]
fn privileged_in_any_container_list() {
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let s = json!({ list: [{"name": "a", "securityContext": {"privileged": true}}] });
        assert_eq!(baseline(s), vec!["privileged"], "{list}");
    }
    assert!(baseline(
        json!({"containers": [{"name": "a", "securityContext": {"privileged": false}}]})
    )
    .is_empty());
}

#[test]
fn host_namespaces() {
    for f in ["hostNetwork", "hostPID", "hostIPC"] {
        assert_eq!(
            baseline(json!({ f: true, "containers": [] })),
            vec!["hostNamespaces"]
        );
        assert!(baseline(json!({ f: false, "containers": [] })).is_empty());
    }
}

#[test]
fn baseline_capabilities_default_set_only() {
    let with = |caps: Value| json!({"containers": [{"name": "a", "securityContext": {"capabilities": {"add": caps}}}]});
    assert!(baseline(with(json!([
        "CHOWN",
        "NET_BIND_SERVICE",
        "SYS_CHROOT",
        "AUDIT_WRITE"
    ])))
    .is_empty());
    assert_eq!(
        baseline(with(json!(["NET_RAW"]))),
        vec!["capabilities_baseline"]
    );
    assert_eq!(
        baseline(with(json!(["SYS_ADMIN"]))),
        vec!["capabilities_baseline"]
    );
    // Exact names: a CAP_ prefix or lower case is not the default set.
    assert_eq!(
        baseline(with(json!(["CAP_CHOWN"]))),
        vec!["capabilities_baseline"]
    );
    assert_eq!(
        baseline(with(json!(["chown"]))),
        vec!["capabilities_baseline"]
    );
    assert_eq!(
        baseline(with(json!(["ALL"]))),
        vec!["capabilities_baseline"]
    );
}

#[test]
fn host_path_and_host_ports() {
    assert_eq!(
        baseline(json!({"volumes": [{"name": "h", "hostPath": {"path": "/"}}], "containers": []})),
        vec!["hostPathVolumes"]
    );
    let port = |hp: i64| json!({"containers": [{"name": "a", "ports": [{"containerPort": 80, "hostPort": hp}]}]});
    assert_eq!(baseline(port(8080)), vec!["hostPorts"]);
    assert!(baseline(port(0)).is_empty());
}

#[test]
fn apparmor_annotations_and_fields() {
    let s = json!({"containers": [{"name": "a"}]});
    let ann =
        |v: &str| json!({"annotations": {"container.apparmor.security.beta.kubernetes.io/a": v}});
    for ok in ["runtime/default", "localhost/my-profile", ""] {
        assert!(
            checks(&ann(ok), &s, Level::Baseline, "latest").is_empty(),
            "{ok}"
        );
    }
    for bad in ["unconfined", "docker/default"] {
        assert_eq!(
            checks(&ann(bad), &s, Level::Baseline, "latest"),
            vec!["appArmorProfile"],
            "{bad}"
        );
    }
    let field = |t: &str| json!({"securityContext": {"appArmorProfile": {"type": t}}, "containers": [{"name": "a"}]});
    assert!(baseline(field("RuntimeDefault")).is_empty());
    assert!(baseline(field("Localhost")).is_empty());
    assert_eq!(baseline(field("Unconfined")), vec!["appArmorProfile"]);
    let ctr = json!({"containers": [{"name": "a", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]});
    assert_eq!(baseline(ctr), vec!["appArmorProfile"]);
}

#[test]
fn selinux_types_users_roles_and_the_1_31_addition() {
    let t = |ty: &str| json!({"securityContext": {"seLinuxOptions": {"type": ty}}, "containers": [{"name": "a"}]});
    for ok in ["container_t", "container_init_t", "container_kvm_t", ""] {
        assert!(baseline(t(ok)).is_empty(), "{ok}");
    }
    assert_eq!(baseline(t("spc_t")), vec!["seLinuxOptions"]);
    let (m, s) = pod(t("container_engine_t"));
    assert_eq!(
        checks(&m, &s, Level::Baseline, "v1.30"),
        vec!["seLinuxOptions"]
    );
    assert!(checks(&m, &s, Level::Baseline, "v1.31").is_empty());
    let user = json!({"containers": [{"name": "a", "securityContext": {"seLinuxOptions": {"user": "root"}}}]});
    assert_eq!(baseline(user), vec!["seLinuxOptions"]);
    let level = json!({"containers": [{"name": "a", "securityContext": {"seLinuxOptions": {"level": "s0:c1"}}}]});
    assert!(baseline(level).is_empty());
}

#[test]
fn proc_mount_and_user_namespaces() {
    let s = |host_users: Option<bool>| {
        let mut s =
            json!({"containers": [{"name": "a", "securityContext": {"procMount": "Unmasked"}}]});
        if let Some(h) = host_users {
            s["hostUsers"] = json!(h);
        }
        s
    };
    let (m, _) = pod(json!({}));
    assert_eq!(
        checks(&m, &s(None), Level::Baseline, "latest"),
        vec!["procMount"]
    );
    assert_eq!(
        checks(&m, &s(Some(false)), Level::Baseline, "v1.34"),
        vec!["procMount"]
    );
    assert!(checks(&m, &s(Some(false)), Level::Baseline, "v1.35").is_empty());
    assert_eq!(
        checks(&m, &s(Some(true)), Level::Baseline, "v1.35"),
        vec!["procMount"]
    );
    // Restricted replaces it from v1.35 with no user-namespace relaxation.
    let mut r = restricted_ok();
    r["hostUsers"] = json!(false);
    r["containers"][0]["securityContext"]["procMount"] = json!("Unmasked");
    assert_eq!(restricted(&r, "v1.35"), vec!["procMount_restricted"]);
    assert_eq!(restricted(&r, "v1.34"), vec!["procMount"]);
    r["containers"][0]["securityContext"]["procMount"] = json!("Default");
    assert!(restricted(&r, "latest").is_empty());
}

#[test]
fn seccomp_baseline_annotations_before_1_19_fields_after() {
    let s = json!({"containers": [{"name": "a"}]});
    let pod_ann =
        json!({"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}});
    assert_eq!(
        checks(&pod_ann, &s, Level::Baseline, "v1.18"),
        vec!["seccompProfile_baseline"]
    );
    assert!(checks(&pod_ann, &s, Level::Baseline, "v1.19").is_empty());
    let ctr_ann = json!({"annotations": {"container.seccomp.security.alpha.kubernetes.io/a": "docker/default"}});
    assert!(checks(&ctr_ann, &s, Level::Baseline, "v1.0").is_empty());
    let field = json!({"containers": [{"name": "a", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]});
    assert!(checks(&json!({}), &field, Level::Baseline, "v1.18").is_empty());
    assert_eq!(
        checks(&json!({}), &field, Level::Baseline, "v1.19"),
        vec!["seccompProfile_baseline"]
    );
}

#[test]
fn sysctls_grow_by_version() {
    let s = |name: &str| json!({"securityContext": {"sysctls": [{"name": name, "value": "1"}]}, "containers": []});
    let (m, _) = pod(json!({}));
    assert!(checks(&m, &s("net.ipv4.tcp_syncookies"), Level::Baseline, "v1.0").is_empty());
    assert_eq!(
        checks(
            &m,
            &s("net.ipv4.ip_local_reserved_ports"),
            Level::Baseline,
            "v1.26"
        ),
        vec!["sysctls"]
    );
    assert!(checks(
        &m,
        &s("net.ipv4.ip_local_reserved_ports"),
        Level::Baseline,
        "v1.27"
    )
    .is_empty());
    assert_eq!(
        checks(
            &m,
            &s("net.ipv4.tcp_keepalive_time"),
            Level::Baseline,
            "v1.28"
        ),
        vec!["sysctls"]
    );
    assert!(checks(
        &m,
        &s("net.ipv4.tcp_keepalive_time"),
        Level::Baseline,
        "v1.29"
    )
    .is_empty());
    assert_eq!(
        checks(&m, &s("net.ipv4.tcp_rmem"), Level::Baseline, "v1.31"),
        vec!["sysctls"]
    );
    assert!(checks(&m, &s("net.ipv4.tcp_rmem"), Level::Baseline, "v1.32").is_empty());
    assert_eq!(
        checks(
            &m,
            &s("net.ipv4.tcp_notsent_lowat"),
            Level::Baseline,
            "v1.36"
        ),
        vec!["sysctls"]
    );
    assert!(checks(
        &m,
        &s("net.ipv4.tcp_notsent_lowat"),
        Level::Baseline,
        "latest"
    )
    .is_empty());
    assert_eq!(
        checks(&m, &s("kernel.msgmax"), Level::Baseline, "latest"),
        vec!["sysctls"]
    );
}

#[test]
fn windows_host_process() {
    let pod_level =
        json!({"securityContext": {"windowsOptions": {"hostProcess": true}}, "containers": []});
    assert_eq!(baseline(pod_level), vec!["windowsHostProcess"]);
    let ctr = json!({"containers": [{"name": "a", "securityContext": {"windowsOptions": {"hostProcess": true}}}]});
    assert_eq!(baseline(ctr), vec!["windowsHostProcess"]);
}

#[test]
fn host_probes_and_lifecycle_from_1_34() {
    let s = json!({"containers": [{"name": "a",
        "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}},
        "lifecycle": {"preStop": {"tcpSocket": {"host": "example.com", "port": 1}}}}]});
    let (m, _) = pod(json!({}));
    assert!(checks(&m, &s, Level::Baseline, "v1.33").is_empty());
    assert_eq!(
        checks(&m, &s, Level::Baseline, "v1.34"),
        vec!["hostProbesAndHostLifecycle"]
    );
    let empty_host = json!({"containers": [{"name": "a", "readinessProbe": {"httpGet": {"host": "", "port": 80}}}]});
    assert!(baseline(empty_host).is_empty());
}

#[test]
fn restricted_volumes_replace_host_path() {
    let mut s = restricted_ok();
    s["volumes"] = json!([{"name": "h", "hostPath": {"path": "/x"}}]);
    assert_eq!(restricted(&s, "latest"), vec!["restrictedVolumes"]);
    for ok in [
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    ] {
        s["volumes"] = json!([{ "name": "v", ok: {} }]);
        assert!(restricted(&s, "latest").is_empty(), "{ok}");
    }
    for bad in ["nfs", "gitRepo", "awsElasticBlockStore", "iscsi", "cephfs"] {
        s["volumes"] = json!([{ "name": "v", bad: {} }]);
        assert_eq!(restricted(&s, "latest"), vec!["restrictedVolumes"], "{bad}");
    }
    // No source at all: the API server defaults it to emptyDir.
    s["volumes"] = json!([{"name": "v"}]);
    assert!(restricted(&s, "latest").is_empty());
}

#[test]
fn allow_privilege_escalation_from_1_8_and_windows_from_1_25() {
    let mut s = restricted_ok();
    s["containers"][0]["securityContext"]
        .as_object_mut()
        .expect("sc")
        .remove("allowPrivilegeEscalation");
    assert!(restricted(&s, "v1.7").is_empty());
    assert_eq!(restricted(&s, "v1.8"), vec!["allowPrivilegeEscalation"]);
    s["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true);
    assert_eq!(restricted(&s, "latest"), vec!["allowPrivilegeEscalation"]);
    s["os"] = json!({"name": "windows"});
    assert_eq!(restricted(&s, "v1.24"), vec!["allowPrivilegeEscalation"]);
    assert!(restricted(&s, "v1.25").is_empty());
}

#[test]
fn run_as_non_root_pod_and_container_levels() {
    let mut s = restricted_ok();
    // The pod sets true: containers may leave it unset, but none may set false.
    s["containers"][0]["securityContext"]["runAsNonRoot"] = json!(false);
    assert_eq!(restricted(&s, "latest"), vec!["runAsNonRoot"]);
    // Pod unset, container true: allowed.
    let mut s = restricted_ok();
    s["securityContext"]
        .as_object_mut()
        .expect("sc")
        .remove("runAsNonRoot");
    s["containers"][0]["securityContext"]["runAsNonRoot"] = json!(true);
    assert!(restricted(&s, "latest").is_empty());
    // Pod false even though the container says true.
    s["securityContext"]["runAsNonRoot"] = json!(false);
    assert_eq!(restricted(&s, "latest"), vec!["runAsNonRoot"]);
    // User namespaces relax it from v1.35.
    s["hostUsers"] = json!(false);
    assert_eq!(restricted(&s, "v1.34"), vec!["runAsNonRoot"]);
    assert!(restricted(&s, "v1.35").is_empty());
}

#[test]
fn run_as_user_zero_from_1_23() {
    let mut s = restricted_ok();
    s["containers"][0]["securityContext"]["runAsUser"] = json!(0);
    assert!(restricted(&s, "v1.22").is_empty());
    assert_eq!(restricted(&s, "v1.23"), vec!["runAsUser"]);
    s["containers"][0]["securityContext"]["runAsUser"] = json!(1000);
    assert!(restricted(&s, "latest").is_empty());
    s["securityContext"]["runAsUser"] = json!(0);
    assert_eq!(restricted(&s, "latest"), vec!["runAsUser"]);
    s["hostUsers"] = json!(false);
    assert!(restricted(&s, "v1.35").is_empty());
}

#[test]
fn seccomp_restricted_pod_default_container_override() {
    let mut s = restricted_ok();
    s["containers"][0]["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"});
    assert_eq!(restricted(&s, "latest"), vec!["seccompProfile_restricted"]);
    // Before v1.19 restricted used the baseline (annotation) check.
    assert!(restricted(&s, "v1.18").is_empty());
    let mut s = restricted_ok();
    s["securityContext"]
        .as_object_mut()
        .expect("sc")
        .remove("seccompProfile");
    assert_eq!(restricted(&s, "latest"), vec!["seccompProfile_restricted"]);
    s["containers"][0]["securityContext"]["seccompProfile"] =
        json!({"type": "Localhost", "localhostProfile": "p.json"});
    assert!(restricted(&s, "latest").is_empty());
    // Windows pods are exempt from v1.25.
    let mut w = restricted_ok();
    w["securityContext"]
        .as_object_mut()
        .expect("sc")
        .remove("seccompProfile");
    w["os"] = json!({"name": "windows"});
    assert_eq!(restricted(&w, "v1.24"), vec!["seccompProfile_restricted"]);
    assert!(restricted(&w, "v1.25").is_empty());
}

#[test]
fn capabilities_restricted_from_1_22() {
    let mut s = restricted_ok();
    s["containers"][0]["securityContext"]["capabilities"] = json!({"drop": ["NET_RAW"]});
    assert!(restricted(&s, "v1.21").is_empty());
    assert_eq!(restricted(&s, "v1.22"), vec!["capabilities_restricted"]);
    s["containers"][0]["securityContext"]["capabilities"] =
        json!({"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]});
    assert!(restricted(&s, "latest").is_empty());
    s["containers"][0]["securityContext"]["capabilities"] =
        json!({"drop": ["ALL"], "add": ["CHOWN"]});
    assert_eq!(restricted(&s, "latest"), vec!["capabilities_restricted"]);
    // Before v1.22 the baseline rule applies: CHOWN is in the default set.
    assert!(restricted(&s, "v1.21").is_empty());
    s["containers"][0]["securityContext"]["capabilities"] = json!({"drop": ["all"]});
    assert_eq!(
        restricted(&s, "latest"),
        vec!["capabilities_restricted"],
        "drop ALL is case-sensitive"
    );
}

#[test]
fn violations_carry_paths() {
    let s = json!({"initContainers": [{"name": "i", "securityContext": {"privileged": true}}], "containers": []});
    let v = evaluate(
        PodView {
            metadata: None,
            spec: &s,
        },
        Level::Baseline,
        Version::LATEST,
    );
    assert_eq!(
        v[0].paths,
        vec!["spec.initContainers[0].securityContext.privileged"]
    );
    assert!(v[0].message.contains("\"i\""));
}
