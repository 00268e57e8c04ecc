//! Host escapes: from a container to its node through privilege, capabilities, host namespaces and host paths (CE_*, EXPLOIT_HOST_WRITE, EXPLOIT_HOST_READ, EXPLOIT_RUNTIME_SOCKET, HOST_TRAVERSE_TOKENS).

use super::*;
use crate::pointer::Pointer as _;

impl ClusterBuilder<'_, '_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn escapes(
        &mut self,
        t: &PodTemplate<'_>,
        c: &ContainerRef<'_>,
        ci: NodeIndex,
        wref: &str,
        ns: &str,
        sa_name: &str,
        host_pid: bool,
        pod_apparmor: Option<&str>,
        volumes: &[HostPathVolume<'_>],
        minor: Option<u32>,
    ) {
        let sc = c.container.get("securityContext");
        let privileged = c.privileged();
        let caps = c.added_capabilities();
        let has_cap = |cap: &str| caps.iter().any(|c| c == cap || c == "ALL");
        let path = |rel: &str| t.container_path(c, rel);
        // Each escape with the changes that together take its precondition away.
        let mut escapes: Vec<(T, String, Vec<Remedy>)> = Vec::new();
        let cluster = self.name;
        let unprivilege = || {
            if privileged {
                vec![Remedy::unprivilege(cluster, t, c)]
            } else {
                Vec::new()
            }
        };
        let drop_cap = |cap: &str| Remedy::drop_capability(cluster, t, c, cap);
        if privileged {
            escapes.push((
                T::CE_PRIV_MOUNT,
                format!("{} = true", path("securityContext.privileged")),
                unprivilege(),
            ));
            if host_pid {
                escapes.push((
                    T::CE_NSENTER,
                    format!(
                        "{} = true and {} = true",
                        path("securityContext.privileged"),
                        t.path("hostPID")
                    ),
                    unprivilege(),
                ));
            }
        }
        if privileged || has_cap("SYS_MODULE") {
            let mut fix = unprivilege();
            fix.extend(drop_cap("SYS_MODULE"));
            escapes.push((
                T::CE_MODULE_LOAD,
                if privileged {
                    format!("{} = true", path("securityContext.privileged"))
                } else {
                    format!(
                        "{} adds SYS_MODULE",
                        path("securityContext.capabilities.add")
                    )
                },
                fix,
            ));
        }
        let ctr_apparmor = sc
            .and_then(|s| s.at("/appArmorProfile/type"))
            .and_then(Value::as_str);
        let apparmor_annotation = t.annotation(&format!(
            "container.apparmor.security.beta.kubernetes.io/{}",
            c.name
        ));
        let unconfined = ctr_apparmor.or(pod_apparmor) == Some("Unconfined")
            || apparmor_annotation == Some("unconfined");
        let old_k8s = minor.is_some_and(|m| m < 31);
        if host_pid && has_cap("SYS_PTRACE") && has_cap("SYS_ADMIN") && (unconfined || old_k8s) {
            escapes.push((
                T::CE_SYS_PTRACE,
                format!(
                    "hostPID, {} adds SYS_PTRACE and SYS_ADMIN, {}",
                    path("securityContext.capabilities.add"),
                    if unconfined {
                        "AppArmor Unconfined"
                    } else {
                        "Kubernetes < 1.31"
                    }
                ),
                drop_cap("SYS_ADMIN"),
            ));
        }
        if has_cap("SYS_ADMIN") {
            escapes.push((
                T::CE_CGROUP_SYSADMIN,
                format!(
                    "{} adds SYS_ADMIN",
                    path("securityContext.capabilities.add")
                ),
                drop_cap("SYS_ADMIN"),
            ));
        }
        if has_cap("DAC_READ_SEARCH") {
            escapes.push((
                T::CE_DAC_READ_SEARCH,
                format!(
                    "{} adds DAC_READ_SEARCH",
                    path("securityContext.capabilities.add")
                ),
                drop_cap("DAC_READ_SEARCH"),
            ));
        }
        // Host path mounts of this container. Who it runs as decides which host files it can
        // use: the runtime sockets (0660 root), the kubelet's pod directories (0750 root) and
        // root-only files are out of reach of a definitely non-root process without
        // DAC_OVERRIDE/DAC_READ_SEARCH or root's group. One fact for checks and graph:
        // `PodTemplate::runs_as_non_root`.
        let uid = t.run_as_user(c);
        let root = !t.runs_as_non_root(c);
        // Definitely unable to open root-only host files.
        let blocked = t.cannot_open_root_files(c);
        let as_who = if uid == Some(0) {
            ", container runs as UID 0".to_string()
        } else if uid.is_none() && root {
            ", container runs as the image's user (root unless the image sets another)".to_string()
        } else {
            String::new()
        };
        let mut traverse_tokens = None;
        for m in c.volume_mounts() {
            let Some(vname) = m.get("name").and_then(Value::as_str) else {
                continue;
            };
            let Some(host) = volumes.iter().find(|v| v.name == vname).map(|v| &v.path) else {
                continue;
            };
            let read_only = m.get("readOnly").and_then(Value::as_bool) == Some(true);
            let ev = format!(
                "volume `{vname}` mounts host path {host}{}",
                if read_only { " read-only" } else { "" }
            );
            let unmount = || Remedy::unmount(cluster, t, c, vname, &format!("host path {host}"));
            if blocked {
                // Nothing below is reachable for this user (writes included: host directories
                // are root's).
                continue;
            }
            if let Some(sock) = crate::host_path::runtime_socket(host) {
                escapes.push((
                    T::EXPLOIT_RUNTIME_SOCKET,
                    format!("{ev} (runtime socket {sock}){as_who}"),
                    unmount(),
                ));
            }
            // Writing core_pattern needs a writable mount and root.
            if root
                && !read_only
                && ["/", "/proc", "/proc/sys", "/proc/sys/kernel"].contains(&host.as_str())
            {
                escapes.push((T::CE_UMH_CORE_PATTERN, format!("{ev}{as_who}"), unmount()));
            }
            if !read_only && ["/", "/var", "/var/log"].contains(&host.as_str()) {
                let who = Identity::service_account(ns, sa_name);
                let bindings = self.rbac.bindings_for(&who);
                if let Some(g) = self.rbac.grant_among(
                    &bindings,
                    &Request::resource("get", "", "pods/log", Some(ns), Some("x")),
                ) {
                    escapes.push((
                        T::CE_VAR_LOG_SYMLINK,
                        format!(
                            "{ev}; ServiceAccount {ns}/{sa_name} can get pods/log via {}",
                            g.describe()
                        ),
                        unmount(),
                    ));
                }
            }
            if !read_only && !safe_writable(host) {
                escapes.push((
                    T::EXPLOIT_HOST_WRITE,
                    format!("{ev}, writable{as_who}"),
                    unmount(),
                ));
            }
            if read_only
                && [
                    "/",
                    "/etc",
                    "/root",
                    "/home",
                    "/proc",
                    "/etc/kubernetes",
                    "/var/lib/kubelet",
                ]
                .iter()
                .any(|p| host == p || (*p != "/" && host.starts_with(&format!("{p}/"))))
            {
                escapes.push((T::EXPLOIT_HOST_READ, format!("{ev}{as_who}"), unmount()));
            }
            if ["/", "/var", "/var/lib", "/var/lib/kubelet"].contains(&host.as_str())
                || host.starts_with("/var/lib/kubelet/pods")
            {
                // Several such mounts: the tokens stay until the last one goes.
                let mut fix: Vec<Remedy> =
                    traverse_tokens.take().map(|(_, f)| f).unwrap_or_default();
                fix.extend(unmount());
                traverse_tokens = Some((format!("{ev}{as_who}"), fix));
            }
        }
        if escapes.is_empty() && traverse_tokens.is_none() {
            return;
        }
        let targets = self.escape_targets(wref);
        for (tech, ev, fix) in escapes {
            for target in &targets {
                self.g
                    .edge_fixed(ci, *target, tech, ev.clone(), fix.clone());
            }
        }
        if let Some((ev, fix)) = traverse_tokens {
            // The kubelet's pod directories hold the tokens of every pod on the same node.
            let nodes: Vec<String> = self
                .placement
                .get(wref)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            if self.part == Part::Namespace {
                // Pods of every namespace may share its nodes: the join adds these edges.
                let cref = self.g.graph[ci].reference.clone();
                self.neighbours
                    .traversers
                    .push((cref, ev, nodes.into_iter().collect(), fix));
                return;
            }
            let inv = self.inv;
            let holders = self.token_holders.get_or_insert_with(|| {
                let tokens = inv.tokens();
                inv.templates()
                    .iter()
                    // Only pods that hold a token leave one in the node's pod directories.
                    .filter(|t| tokens.of_pods(t).held(t))
                    .map(|t| {
                        (
                            t.owner.node_ref(),
                            t.owner
                                .effective_namespace()
                                .unwrap_or("default")
                                .to_string(),
                            t.service_account_name().to_string(),
                        )
                    })
                    .collect()
            });
            let placement = &self.placement;
            let neighbours: Vec<(String, String)> = holders
                .iter()
                .filter(|(wref, _, _)| {
                    nodes.is_empty()
                        || placement
                            .get(wref)
                            .is_some_and(|p| p.iter().any(|n| nodes.contains(n)))
                })
                .map(|(_, ns, sa)| (ns.clone(), sa.clone()))
                .collect();
            for (ns2, sa2) in neighbours {
                let sa = self.n(
                    &format!("ServiceAccount:{ns2}/{sa2}"),
                    NodeKind::ServiceAccount,
                );
                self.g.edge_fixed(
                    ci,
                    sa,
                    T::HOST_TRAVERSE_TOKENS,
                    format!("{ev}: tokens of pods on the same node"),
                    fix.clone(),
                );
            }
        }
    }
}

pub(super) fn safe_writable(host: &str) -> bool {
    const SAFE: &[&str] = &[
        "/tmp",
        "/var/tmp",
        "/var/log/pods",
        "/var/log/containers",
        "/dev/shm",
        "/run/xtables.lock",
        "/var/run/xtables.lock",
        "/var/lib/kubelet/plugins",
        "/var/lib/kubelet/plugins_registry",
        "/var/lib/kubelet/device-plugins",
        "/var/lib/kubelet/pod-resources",
        "/var/run/secrets-store-csi",
        "/etc/cni/net.d",
        "/opt/cni/bin",
        "/var/lib/cni",
        "/var/run/netns",
        "/run/netns",
    ];
    // /var/log itself is not safe (CE_VAR_LOG_SYMLINK), but application log sub-directories are.
    SAFE.iter()
        .any(|s| host == *s || host.starts_with(&format!("{s}/")))
        || (host.starts_with("/var/log/")
            && !host.starts_with("/var/log/pods/..")
            && host != "/var/log")
        || host.starts_with("/data/")
        || host.starts_with("/mnt/")
}
