//! The upstream Pod Security checks, each with its versioned implementations.

use super::{Level, PodView, Version, LATEST_MINOR};
use crate::pointer::Pointer as _;
use serde_json::Value;

/// A failed check, before it is tagged with its ID.
pub(super) struct Fail {
    pub reason: String,
    pub detail: String,
    pub paths: Vec<String>,
}

type Imp = fn(PodView<'_>, Version) -> Option<Fail>;

struct Versioned {
    min: u32,
    imp: Imp,
    /// Baseline checks this implementation replaces while it is active.
    overrides: &'static [&'static str],
}

struct CheckDef {
    id: &'static str,
    level: Level,
    versions: &'static [Versioned],
}

const fn v(min: u32, imp: Imp) -> Versioned {
    Versioned {
        min,
        imp,
        overrides: &[],
    }
}

const fn vo(min: u32, imp: Imp, overrides: &'static [&'static str]) -> Versioned {
    Versioned {
        min,
        imp,
        overrides,
    }
}

static CHECKS: &[CheckDef] = &[
    CheckDef {
        id: "hostNamespaces",
        level: Level::Baseline,
        versions: &[v(0, host_namespaces)],
    },
    CheckDef {
        id: "privileged",
        level: Level::Baseline,
        versions: &[v(0, privileged)],
    },
    CheckDef {
        id: "capabilities_baseline",
        level: Level::Baseline,
        versions: &[v(0, capabilities_baseline)],
    },
    CheckDef {
        id: "hostPathVolumes",
        level: Level::Baseline,
        versions: &[v(0, host_path_volumes)],
    },
    CheckDef {
        id: "hostPorts",
        level: Level::Baseline,
        versions: &[v(0, host_ports)],
    },
    CheckDef {
        id: "appArmorProfile",
        level: Level::Baseline,
        versions: &[v(0, app_armor)],
    },
    CheckDef {
        id: "seLinuxOptions",
        level: Level::Baseline,
        versions: &[v(0, selinux_1_0), v(31, selinux_1_31)],
    },
    CheckDef {
        id: "procMount",
        level: Level::Baseline,
        versions: &[v(0, proc_mount_1_0), v(35, proc_mount_1_35)],
    },
    CheckDef {
        id: "seccompProfile_baseline",
        level: Level::Baseline,
        versions: &[v(0, seccomp_baseline_1_0), v(19, seccomp_baseline_1_19)],
    },
    CheckDef {
        id: "sysctls",
        level: Level::Baseline,
        versions: &[v(0, sysctls)],
    },
    CheckDef {
        id: "windowsHostProcess",
        level: Level::Baseline,
        versions: &[v(0, windows_host_process)],
    },
    CheckDef {
        id: "hostProbesAndHostLifecycle",
        level: Level::Baseline,
        versions: &[v(34, host_probes_and_lifecycle)],
    },
    CheckDef {
        id: "restrictedVolumes",
        level: Level::Restricted,
        versions: &[vo(0, restricted_volumes, &["hostPathVolumes"])],
    },
    CheckDef {
        id: "allowPrivilegeEscalation",
        level: Level::Restricted,
        versions: &[
            v(8, allow_privilege_escalation_1_8),
            v(25, allow_privilege_escalation_1_25),
        ],
    },
    CheckDef {
        id: "runAsNonRoot",
        level: Level::Restricted,
        versions: &[v(0, run_as_non_root_1_0), v(35, run_as_non_root_1_35)],
    },
    CheckDef {
        id: "runAsUser",
        level: Level::Restricted,
        versions: &[v(23, run_as_user_1_23), v(35, run_as_user_1_35)],
    },
    CheckDef {
        id: "seccompProfile_restricted",
        level: Level::Restricted,
        versions: &[
            vo(19, seccomp_restricted_1_19, &["seccompProfile_baseline"]),
            vo(25, seccomp_restricted_1_25, &["seccompProfile_baseline"]),
        ],
    },
    CheckDef {
        id: "capabilities_restricted",
        level: Level::Restricted,
        versions: &[
            vo(22, capabilities_restricted_1_22, &["capabilities_baseline"]),
            vo(25, capabilities_restricted_1_25, &["capabilities_baseline"]),
        ],
    },
    CheckDef {
        id: "procMount_restricted",
        level: Level::Restricted,
        versions: &[vo(35, proc_mount_restricted, &["procMount"])],
    },
];

/// The checks (ID and implementation) that run at a level and version.
pub(super) fn active_checks(level: Level, version: Version) -> Vec<(&'static str, Imp)> {
    let minor = version.minor.min(LATEST_MINOR);
    let mut active: Vec<(&'static str, &Versioned)> = CHECKS
        .iter()
        .filter(|c| c.level <= level)
        .filter_map(|c| {
            c.versions
                .iter()
                .rev()
                .find(|v| v.min <= minor)
                .map(|v| (c.id, v))
        })
        .collect();
    let overridden: Vec<&str> = active
        .iter()
        .flat_map(|(_, v)| v.overrides.iter().copied())
        .collect();
    active.retain(|(id, _)| !overridden.contains(id));
    active.into_iter().map(|(id, v)| (id, v.imp)).collect()
}

/// The implementation of one check active at a version.
pub(super) fn implementation(id: &str, version: Version) -> Option<Imp> {
    let minor = version.minor.min(LATEST_MINOR);
    let def = CHECKS.iter().find(|c| c.id == id)?;
    def.versions
        .iter()
        .rev()
        .find(|v| v.min <= minor)
        .map(|v| v.imp)
}

/// The static ID string for an ID.
pub(super) fn static_id(id: &str) -> Option<&'static str> {
    CHECKS.iter().find(|c| c.id == id).map(|c| c.id)
}

// ---------------------------------------------------------------------------------------------
// Helpers

struct Ctr<'a> {
    c: &'a Value,
    name: &'a str,
    path: String,
}

/// containers, initContainers, ephemeralContainers, with their paths relative to the pod.
fn containers<'a>(pod: &PodView<'a>) -> Vec<Ctr<'a>> {
    let mut out = Vec::new();
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        if let Some(arr) = pod.spec.get(list).and_then(Value::as_array) {
            for (i, c) in arr.iter().enumerate() {
                out.push(Ctr {
                    c,
                    name: c.get("name").and_then(Value::as_str).unwrap_or(""),
                    path: format!("spec.{list}[{i}]"),
                });
            }
        }
    }
    out
}

fn pod_sc<'a>(pod: &PodView<'a>) -> Option<&'a Value> {
    pod.spec.get("securityContext").filter(|v| v.is_object())
}

fn ctr_sc<'a>(c: &Ctr<'a>) -> Option<&'a Value> {
    c.c.get("securityContext").filter(|v| v.is_object())
}

fn is_true(v: Option<&Value>) -> bool {
    v.and_then(Value::as_bool) == Some(true)
}

fn str_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

fn annotations<'a>(pod: &PodView<'a>) -> Option<&'a serde_json::Map<String, Value>> {
    pod.metadata?.get("annotations")?.as_object()
}

fn is_windows(pod: &PodView<'_>) -> bool {
    str_of(pod.spec.at("/os/name")) == Some("windows")
}

/// `spec.hostUsers: false` — a user-namespaced pod.
fn user_namespaced(pod: &PodView<'_>) -> bool {
    pod.spec.get("hostUsers").and_then(Value::as_bool) == Some(false)
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        one.to_string()
    } else {
        many.to_string()
    }
}

/// A failure for containers that set a field to a forbidden value.
fn containers_fail(reason: &str, bad: &[&Ctr<'_>], what: &str, rel: &str) -> Fail {
    let names: Vec<&str> = bad.iter().map(|c| c.name).collect();
    Fail {
        reason: reason.to_string(),
        detail: format!(
            "{} {} {what}",
            plural(names.len(), "container", "containers"),
            quoted(&names),
        ),
        paths: bad.iter().map(|c| format!("{}.{rel}", c.path)).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Baseline

fn host_namespaces(pod: PodView<'_>, _: Version) -> Option<Fail> {
    let mut set = Vec::new();
    for f in ["hostNetwork", "hostPID", "hostIPC"] {
        if is_true(pod.spec.get(f)) {
            set.push(f);
        }
    }
    if set.is_empty() {
        return None;
    }
    Some(Fail {
        reason: "host namespaces".into(),
        detail: set
            .iter()
            .map(|f| format!("{f}=true"))
            .collect::<Vec<_>>()
            .join(", "),
        paths: set.iter().map(|f| format!("spec.{f}")).collect(),
    })
}

fn privileged(pod: PodView<'_>, _: Version) -> Option<Fail> {
    let cs = containers(&pod);
    let bad: Vec<&Ctr> = cs
        .iter()
        .filter(|c| is_true(ctr_sc(c).and_then(|s| s.get("privileged"))))
        .collect();
    (!bad.is_empty()).then(|| {
        containers_fail(
            "privileged",
            &bad,
            "must not set securityContext.privileged=true",
            "securityContext.privileged",
        )
    })
}

const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn cap_list<'a>(c: &Ctr<'a>, field: &str) -> Option<Vec<&'a str>> {
    let arr = ctr_sc(c)?.get("capabilities")?.get(field)?.as_array()?;
    Some(arr.iter().map(|v| v.as_str().unwrap_or("")).collect())
}

fn capabilities_baseline(pod: PodView<'_>, _: Version) -> Option<Fail> {
    let mut bad_caps: Vec<String> = Vec::new();
    let mut bad: Vec<&Ctr> = Vec::new();
    let cs = containers(&pod);
    for c in &cs {
        let added = cap_list(c, "add").unwrap_or_default();
        let forbidden: Vec<&str> = added
            .into_iter()
            .filter(|cap| !BASELINE_CAPS.contains(cap))
            .collect();
        if !forbidden.is_empty() {
            bad.push(c);
            for cap in forbidden {
                if !bad_caps.iter().any(|b| b == cap) {
                    bad_caps.push(cap.to_string());
                }
            }
        }
    }
    (!bad.is_empty()).then(|| {
        containers_fail(
            "non-default capabilities",
            &bad,
            &format!(
                "must not include {} in securityContext.capabilities.add",
                quoted(&bad_caps.iter().map(String::as_str).collect::<Vec<_>>())
            ),
            "securityContext.capabilities.add",
        )
    })
}

fn host_path_volumes(pod: PodView<'_>, _: Version) -> Option<Fail> {
    let mut names = Vec::new();
    let mut paths = Vec::new();
    for (i, vol) in volumes(&pod) {
        if vol.get("hostPath").is_some_and(|h| !h.is_null()) {
            names.push(vol.get("name").and_then(Value::as_str).unwrap_or(""));
            paths.push(format!("spec.volumes[{i}].hostPath"));
        }
    }
    (!names.is_empty()).then(|| Fail {
        reason: "hostPath volumes".into(),
        detail: format!(
            "{} {}",
            plural(names.len(), "volume", "volumes"),
            quoted(&names)
        ),
        paths,
    })
}

fn volumes<'a>(pod: &PodView<'a>) -> impl Iterator<Item = (usize, &'a Value)> {
    pod.spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

fn host_ports(pod: PodView<'_>, _: Version) -> Option<Fail> {
    let cs = containers(&pod);
    let mut bad: Vec<&Ctr> = Vec::new();
    let mut ports = Vec::new();
    let mut paths = Vec::new();
    for c in &cs {
        let mut this = false;
        for (i, p) in
            c.c.get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
        {
            let hp = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            if hp != 0 {
                this = true;
                ports.push(hp.to_string());
                paths.push(format!("{}.ports[{i}].hostPort", c.path));
            }
        }
        if this {
            bad.push(c);
        }
    }
    (!bad.is_empty()).then(|| {
        let names: Vec<&str> = bad.iter().map(|c| c.name).collect();
        Fail {
            reason: "hostPort".into(),
            detail: format!(
                "{} {} {} {}",
                plural(names.len(), "container", "containers"),
                quoted(&names),
                plural(ports.len(), "uses hostPort", "use hostPorts"),
                ports.join(", ")
            ),
            paths,
        }
    })
}

const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn app_armor(pod: PodView<'_>, _: Version) -> Option<Fail> {
    let mut bad = Vec::new();
    let mut paths = Vec::new();
    if let Some(ann) = annotations(&pod) {
        for (k, v) in ann {
            if let Some(ctr) = k.strip_prefix(APPARMOR_ANNOTATION_PREFIX) {
                let val = v.as_str().unwrap_or("");
                if !(val.is_empty() || val == "runtime/default" || val.starts_with("localhost/")) {
                    bad.push(format!("{k}={val:?}"));
                    paths.push(format!("metadata.annotations[{ctr}]"));
                }
            }
        }
    }
    let valid = |t: Option<&str>| matches!(t, Some("RuntimeDefault") | Some("Localhost"));
    if let Some(p) = pod_sc(&pod)
        .and_then(|s| s.get("appArmorProfile"))
        .filter(|p| !p.is_null())
    {
        let t = str_of(p.get("type"));
        if !valid(t) {
            bad.push(format!(
                "pod must not set appArmorProfile.type to {:?}",
                t.unwrap_or("")
            ));
            paths.push("spec.securityContext.appArmorProfile.type".into());
        }
    }
    for c in containers(&pod) {
        if let Some(p) = ctr_sc(&c)
            .and_then(|s| s.get("appArmorProfile"))
            .filter(|p| !p.is_null())
        {
            let t = str_of(p.get("type"));
            if !valid(t) {
                bad.push(format!(
                    "container {:?} must not set appArmorProfile.type to {:?}",
                    c.name,
                    t.unwrap_or("")
                ));
                paths.push(format!("{}.securityContext.appArmorProfile.type", c.path));
            }
        }
    }
    (!bad.is_empty()).then(|| Fail {
        reason: "forbidden AppArmor profile".into(),
        detail: bad.join("; "),
        paths,
    })
}

fn selinux(pod: PodView<'_>, allowed_types: &[&str]) -> Option<Fail> {
    let mut bad = Vec::new();
    let mut paths = Vec::new();
    let mut check = |opts: Option<&Value>, who: String, path: String| {
        let Some(o) = opts.filter(|o| o.is_object()) else {
            return;
        };
        let t = str_of(o.get("type")).unwrap_or("");
        if !allowed_types.contains(&t) {
            bad.push(format!("{who} seLinuxOptions.type {t:?}"));
            paths.push(format!("{path}.seLinuxOptions.type"));
        }
        for f in ["user", "role"] {
            let val = str_of(o.get(f)).unwrap_or("");
            if !val.is_empty() {
                bad.push(format!("{who} seLinuxOptions.{f} {val:?}"));
                paths.push(format!("{path}.seLinuxOptions.{f}"));
            }
        }
    };
    check(
        pod_sc(&pod).and_then(|s| s.get("seLinuxOptions")),
        "pod".into(),
        "spec.securityContext".into(),
    );
    for c in containers(&pod) {
        check(
            ctr_sc(&c).and_then(|s| s.get("seLinuxOptions")),
            format!("container {:?}", c.name),
            format!("{}.securityContext", c.path),
        );
    }
    (!bad.is_empty()).then(|| Fail {
        reason: "seLinuxOptions".into(),
        detail: format!("forbidden {}", bad.join(", ")),
        paths,
    })
}

fn selinux_1_0(pod: PodView<'_>, _: Version) -> Option<Fail> {
    selinux(
        pod,
        &["", "container_t", "container_init_t", "container_kvm_t"],
    )
}

fn selinux_1_31(pod: PodView<'_>, _: Version) -> Option<Fail> {
    selinux(
        pod,
        &[
            "",
            "container_t",
            "container_init_t",
            "container_kvm_t",
            "container_engine_t",
        ],
    )
}

fn proc_mount_any(pod: PodView<'_>) -> Option<Fail> {
    let cs = containers(&pod);
    let bad: Vec<&Ctr> = cs
        .iter()
        .filter(|c| {
            ctr_sc(c)
                .and_then(|s| s.get("procMount"))
                .and_then(Value::as_str)
                .is_some_and(|m| m != "Default")
        })
        .collect();
    (!bad.is_empty()).then(|| {
        containers_fail(
            "procMount",
            &bad,
            "must not set securityContext.procMount to a value other than \"Default\"",
            "securityContext.procMount",
        )
    })
}

fn proc_mount_1_0(pod: PodView<'_>, _: Version) -> Option<Fail> {
    proc_mount_any(pod)
}

fn proc_mount_1_35(pod: PodView<'_>, _: Version) -> Option<Fail> {
    if user_namespaced(&pod) {
        return None;
    }
    proc_mount_any(pod)
}

fn proc_mount_restricted(pod: PodView<'_>, _: Version) -> Option<Fail> {
    proc_mount_any(pod)
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn seccomp_baseline_1_0(pod: PodView<'_>, _: Version) -> Option<Fail> {
    let valid =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let mut bad = Vec::new();
    let mut paths = Vec::new();
    let ann = annotations(&pod);
    if let Some(v) = ann.and_then(|a| a.get(SECCOMP_POD_ANNOTATION)) {
        let v = v.as_str().unwrap_or("");
        if !valid(v) {
            bad.push(format!("{SECCOMP_POD_ANNOTATION}={v:?}"));
            paths.push(format!("metadata.annotations[{SECCOMP_POD_ANNOTATION}]"));
        }
    }
    for c in containers(&pod) {
        let key = format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", c.name);
        if let Some(v) = ann.and_then(|a| a.get(&key)) {
            let v = v.as_str().unwrap_or("");
            if !valid(v) {
                bad.push(format!("{key}={v:?}"));
                paths.push(format!("metadata.annotations[{key}]"));
            }
        }
    }
    (!bad.is_empty()).then(|| Fail {
        reason: "seccompProfile".into(),
        detail: format!("forbidden annotations {}", bad.join(", ")),
        paths,
    })
}

fn valid_seccomp_type(t: Option<&str>) -> bool {
    matches!(t, Some("RuntimeDefault") | Some("Localhost"))
}

fn seccomp_profile(sc: Option<&Value>) -> Option<&Value> {
    sc?.get("seccompProfile").filter(|p| !p.is_null())
}

fn seccomp_baseline_1_19(pod: PodView<'_>, _: Version) -> Option<Fail> {
    let mut bad = Vec::new();
    let mut paths = Vec::new();
    if let Some(p) = seccomp_profile(pod_sc(&pod)) {
        let t = str_of(p.get("type"));
        if !valid_seccomp_type(t) {
            bad.push(format!(
                "pod must not set securityContext.seccompProfile.type to {:?}",
                t.unwrap_or("")
            ));
            paths.push("spec.securityContext.seccompProfile.type".into());
        }
    }
    for c in containers(&pod) {
        if let Some(p) = seccomp_profile(ctr_sc(&c)) {
            let t = str_of(p.get("type"));
            if !valid_seccomp_type(t) {
                bad.push(format!(
                    "container {:?} must not set securityContext.seccompProfile.type to {:?}",
                    c.name,
                    t.unwrap_or("")
                ));
                paths.push(format!("{}.securityContext.seccompProfile.type", c.path));
            }
        }
    }
    (!bad.is_empty()).then(|| Fail {
        reason: "seccompProfile".into(),
        detail: bad.join("; "),
        paths,
    })
}

fn allowed_sysctls(minor: u32) -> Vec<&'static str> {
    let mut s = vec![
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    ];
    if minor >= 27 {
        s.push("net.ipv4.ip_local_reserved_ports");
    }
    if minor >= 29 {
        s.extend([
            "net.ipv4.tcp_keepalive_time",
            "net.ipv4.tcp_fin_timeout",
            "net.ipv4.tcp_keepalive_intvl",
            "net.ipv4.tcp_keepalive_probes",
        ]);
    }
    if minor >= 32 {
        s.extend(["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]);
    }
    if minor >= 37 {
        s.extend([
            "net.ipv4.tcp_slow_start_after_idle",
            "net.ipv4.tcp_notsent_lowat",
        ]);
    }
    s
}

fn sysctls(pod: PodView<'_>, version: Version) -> Option<Fail> {
    let allowed = allowed_sysctls(version.minor.min(LATEST_MINOR));
    let mut bad = Vec::new();
    let mut paths = Vec::new();
    let list = pod_sc(&pod)
        .and_then(|s| s.get("sysctls"))
        .and_then(Value::as_array);
    for (i, s) in list.into_iter().flatten().enumerate() {
        let name = str_of(s.get("name")).unwrap_or("");
        if !allowed.contains(&name) {
            bad.push(name);
            paths.push(format!("spec.securityContext.sysctls[{i}].name"));
        }
    }
    (!bad.is_empty()).then(|| Fail {
        reason: "forbidden sysctls".into(),
        detail: bad.join(", "),
        paths,
    })
}

fn windows_host_process(pod: PodView<'_>, _: Version) -> Option<Fail> {
    let mut who = Vec::new();
    let mut paths = Vec::new();
    if is_true(pod_sc(&pod).and_then(|s| s.at("/windowsOptions/hostProcess"))) {
        who.push("pod".to_string());
        paths.push("spec.securityContext.windowsOptions.hostProcess".to_string());
    }
    for c in containers(&pod) {
        if is_true(ctr_sc(&c).and_then(|s| s.at("/windowsOptions/hostProcess"))) {
            who.push(format!("container {:?}", c.name));
            paths.push(format!(
                "{}.securityContext.windowsOptions.hostProcess",
                c.path
            ));
        }
    }
    (!who.is_empty()).then(|| Fail {
        reason: "hostProcess".into(),
        detail: format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            who.join(", ")
        ),
        paths,
    })
}

fn host_probes_and_lifecycle(pod: PodView<'_>, _: Version) -> Option<Fail> {
    let mut bad = Vec::new();
    let mut paths = Vec::new();
    for c in containers(&pod) {
        let handlers = [
            ("livenessProbe", c.c.get("livenessProbe")),
            ("readinessProbe", c.c.get("readinessProbe")),
            ("startupProbe", c.c.get("startupProbe")),
            ("lifecycle.postStart", c.c.at("/lifecycle/postStart")),
            ("lifecycle.preStop", c.c.at("/lifecycle/preStop")),
        ];
        for (name, h) in handlers {
            let Some(h) = h else { continue };
            for kind in ["httpGet", "tcpSocket"] {
                let host = str_of(h.get(kind).and_then(|k| k.get("host"))).unwrap_or("");
                if !host.is_empty() {
                    bad.push(format!(
                        "container {:?} {name}.{kind}.host={host:?}",
                        c.name
                    ));
                    paths.push(format!("{}.{name}.{kind}.host", c.path));
                }
            }
        }
    }
    (!bad.is_empty()).then(|| Fail {
        reason: "probe or lifecycle host".into(),
        detail: bad.join(", "),
        paths,
    })
}

// ---------------------------------------------------------------------------------------------
// Restricted

const ALLOWED_VOLUME_SOURCES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

const FORBIDDEN_VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "portworxVolume",
    "photonPersistentDisk",
    "scaleIO",
    "storageos",
];

fn restricted_volumes(pod: PodView<'_>, _: Version) -> Option<Fail> {
    let mut bad = Vec::new();
    let mut types: Vec<&str> = Vec::new();
    let mut paths = Vec::new();
    for (i, vol) in volumes(&pod) {
        let has = |k: &str| vol.get(k).is_some_and(|v| !v.is_null());
        if ALLOWED_VOLUME_SOURCES.iter().any(|k| has(k)) {
            continue;
        }
        // A volume with no source at all is defaulted to emptyDir by the API server.
        if let Some(t) = FORBIDDEN_VOLUME_SOURCES.iter().find(|k| has(k)) {
            bad.push(vol.get("name").and_then(Value::as_str).unwrap_or(""));
            if !types.contains(t) {
                types.push(t);
            }
            paths.push(format!("spec.volumes[{i}].{t}"));
        }
    }
    (!bad.is_empty()).then(|| Fail {
        reason: "restricted volume types".into(),
        detail: format!(
            "{} {} {} {}",
            plural(bad.len(), "volume", "volumes"),
            quoted(&bad),
            plural(
                bad.len(),
                "uses restricted volume type",
                "use restricted volume types"
            ),
            quoted(&types)
        ),
        paths,
    })
}

fn allow_privilege_escalation_any(pod: PodView<'_>) -> Option<Fail> {
    let cs = containers(&pod);
    let bad: Vec<&Ctr> = cs
        .iter()
        .filter(|c| {
            ctr_sc(c)
                .and_then(|s| s.get("allowPrivilegeEscalation"))
                .and_then(Value::as_bool)
                != Some(false)
        })
        .collect();
    (!bad.is_empty()).then(|| {
        containers_fail(
            "allowPrivilegeEscalation != false",
            &bad,
            "must set securityContext.allowPrivilegeEscalation=false",
            "securityContext.allowPrivilegeEscalation",
        )
    })
}

fn allow_privilege_escalation_1_8(pod: PodView<'_>, _: Version) -> Option<Fail> {
    allow_privilege_escalation_any(pod)
}

fn allow_privilege_escalation_1_25(pod: PodView<'_>, _: Version) -> Option<Fail> {
    if is_windows(&pod) {
        return None;
    }
    allow_privilege_escalation_any(pod)
}

fn run_as_non_root_any(pod: PodView<'_>) -> Option<Fail> {
    let mut pod_bad = false;
    let mut pod_ok = false;
    if let Some(v) = pod_sc(&pod)
        .and_then(|s| s.get("runAsNonRoot"))
        .and_then(Value::as_bool)
    {
        if v {
            pod_ok = true;
        } else {
            pod_bad = true;
        }
    }
    let cs = containers(&pod);
    let mut explicit: Vec<&Ctr> = Vec::new();
    let mut implicit: Vec<&Ctr> = Vec::new();
    for c in &cs {
        match ctr_sc(c)
            .and_then(|s| s.get("runAsNonRoot"))
            .and_then(Value::as_bool)
        {
            Some(false) => explicit.push(c),
            Some(true) => {}
            None if !pod_ok => implicit.push(c),
            None => {}
        }
    }
    if !pod_bad && explicit.is_empty() && implicit.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    let mut paths = Vec::new();
    if pod_bad {
        parts.push("pod must not set securityContext.runAsNonRoot=false".to_string());
        paths.push("spec.securityContext.runAsNonRoot".to_string());
    }
    if !explicit.is_empty() {
        let names: Vec<&str> = explicit.iter().map(|c| c.name).collect();
        parts.push(format!(
            "{} {} must not set securityContext.runAsNonRoot=false",
            plural(names.len(), "container", "containers"),
            quoted(&names)
        ));
        paths.extend(
            explicit
                .iter()
                .map(|c| format!("{}.securityContext.runAsNonRoot", c.path)),
        );
    }
    if !implicit.is_empty() {
        let names: Vec<&str> = implicit.iter().map(|c| c.name).collect();
        parts.push(format!(
            "pod or {} {} must set securityContext.runAsNonRoot=true",
            plural(names.len(), "container", "containers"),
            quoted(&names)
        ));
        paths.extend(
            implicit
                .iter()
                .map(|c| format!("{}.securityContext.runAsNonRoot", c.path)),
        );
    }
    Some(Fail {
        reason: "runAsNonRoot != true".into(),
        detail: parts.join("; "),
        paths,
    })
}

fn run_as_non_root_1_0(pod: PodView<'_>, _: Version) -> Option<Fail> {
    run_as_non_root_any(pod)
}

fn run_as_non_root_1_35(pod: PodView<'_>, _: Version) -> Option<Fail> {
    if user_namespaced(&pod) {
        return None;
    }
    run_as_non_root_any(pod)
}

fn run_as_user_any(pod: PodView<'_>) -> Option<Fail> {
    let mut who = Vec::new();
    let mut paths = Vec::new();
    if pod_sc(&pod)
        .and_then(|s| s.get("runAsUser"))
        .and_then(Value::as_i64)
        == Some(0)
    {
        who.push("pod".to_string());
        paths.push("spec.securityContext.runAsUser".to_string());
    }
    for c in containers(&pod) {
        if ctr_sc(&c)
            .and_then(|s| s.get("runAsUser"))
            .and_then(Value::as_i64)
            == Some(0)
        {
            who.push(format!("container {:?}", c.name));
            paths.push(format!("{}.securityContext.runAsUser", c.path));
        }
    }
    (!who.is_empty()).then(|| Fail {
        reason: "runAsUser=0".into(),
        detail: format!("{} must not set runAsUser=0", who.join(", ")),
        paths,
    })
}

fn run_as_user_1_23(pod: PodView<'_>, _: Version) -> Option<Fail> {
    run_as_user_any(pod)
}

fn run_as_user_1_35(pod: PodView<'_>, _: Version) -> Option<Fail> {
    if user_namespaced(&pod) {
        return None;
    }
    run_as_user_any(pod)
}

fn seccomp_restricted_any(pod: PodView<'_>) -> Option<Fail> {
    let mut parts = Vec::new();
    let mut paths = Vec::new();
    let mut pod_set = false;
    if let Some(p) = seccomp_profile(pod_sc(&pod)) {
        let t = str_of(p.get("type"));
        if valid_seccomp_type(t) {
            pod_set = true;
        } else {
            parts.push(format!(
                "pod must not set securityContext.seccompProfile.type to {:?}",
                t.unwrap_or("")
            ));
            paths.push("spec.securityContext.seccompProfile.type".to_string());
        }
    }
    let mut implicit = Vec::new();
    for c in containers(&pod) {
        match seccomp_profile(ctr_sc(&c)) {
            Some(p) => {
                let t = str_of(p.get("type"));
                if !valid_seccomp_type(t) {
                    parts.push(format!(
                        "container {:?} must not set securityContext.seccompProfile.type to {:?}",
                        c.name,
                        t.unwrap_or("")
                    ));
                    paths.push(format!("{}.securityContext.seccompProfile.type", c.path));
                }
            }
            None if !pod_set => {
                implicit.push(c.name);
                paths.push(format!("{}.securityContext.seccompProfile", c.path));
            }
            None => {}
        }
    }
    if !implicit.is_empty() {
        parts.push(format!(
            "pod or {} {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
            plural(implicit.len(), "container", "containers"),
            quoted(&implicit)
        ));
    }
    (!parts.is_empty()).then(|| Fail {
        reason: "seccompProfile".into(),
        detail: parts.join("; "),
        paths,
    })
}

fn seccomp_restricted_1_19(pod: PodView<'_>, _: Version) -> Option<Fail> {
    seccomp_restricted_any(pod)
}

fn seccomp_restricted_1_25(pod: PodView<'_>, _: Version) -> Option<Fail> {
    if is_windows(&pod) {
        return None;
    }
    seccomp_restricted_any(pod)
}

fn capabilities_restricted_any(pod: PodView<'_>) -> Option<Fail> {
    let mut parts = Vec::new();
    let mut paths = Vec::new();
    let cs = containers(&pod);
    let mut no_drop = Vec::new();
    let mut bad_add: Vec<&str> = Vec::new();
    let mut bad_add_ctrs = Vec::new();
    for c in &cs {
        let drops = cap_list(c, "drop").unwrap_or_default();
        if !drops.contains(&"ALL") {
            no_drop.push(c.name);
            paths.push(format!("{}.securityContext.capabilities.drop", c.path));
        }
        let adds = cap_list(c, "add").unwrap_or_default();
        let forbidden: Vec<&str> = adds
            .into_iter()
            .filter(|a| *a != "NET_BIND_SERVICE")
            .collect();
        if !forbidden.is_empty() {
            bad_add_ctrs.push(c.name);
            paths.push(format!("{}.securityContext.capabilities.add", c.path));
            for f in forbidden {
                if !bad_add.contains(&f) {
                    bad_add.push(f);
                }
            }
        }
    }
    if !no_drop.is_empty() {
        parts.push(format!(
            "{} {} must set securityContext.capabilities.drop=[\"ALL\"]",
            plural(no_drop.len(), "container", "containers"),
            quoted(&no_drop)
        ));
    }
    if !bad_add_ctrs.is_empty() {
        parts.push(format!(
            "{} {} must not include {} in securityContext.capabilities.add",
            plural(bad_add_ctrs.len(), "container", "containers"),
            quoted(&bad_add_ctrs),
            quoted(&bad_add)
        ));
    }
    (!parts.is_empty()).then(|| Fail {
        reason: "unrestricted capabilities".into(),
        detail: parts.join("; "),
        paths,
    })
}

fn capabilities_restricted_1_22(pod: PodView<'_>, _: Version) -> Option<Fail> {
    capabilities_restricted_any(pod)
}

fn capabilities_restricted_1_25(pod: PodView<'_>, _: Version) -> Option<Fail> {
    if is_windows(&pod) {
        return None;
    }
    capabilities_restricted_any(pod)
}
