//! Facts about host paths a pod mounts, shared by the workload checks and the attack graph: the
//! container runtime sockets and how paths nest.

/// The container runtime sockets of the runtimes Kubernetes nodes run (Docker and its embedded
/// containerd, containerd, CRI-O, cri-dockerd, dockershim, k3s). Mounting one, or a directory
/// that contains one, gives control of every container on the node.
pub const RUNTIME_SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/docker/containerd/containerd.sock",
    "/run/docker/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/var/run/cri-dockerd.sock",
    "/run/cri-dockerd.sock",
    "/var/run/dockershim.sock",
    "/run/k3s/containerd/containerd.sock",
];

/// Normalises a host path: no trailing slash (except `/`), no `//`, no `.` segments.
pub fn normalise(path: &str) -> String {
    let mut p = String::new();
    for seg in path.split('/').filter(|s| !s.is_empty() && *s != ".") {
        p.push('/');
        p.push_str(seg);
    }
    if p.is_empty() {
        p.push('/');
    }
    p
}

/// Whether `dir` is `path` or one of its parents.
pub fn is_parent_or_same(dir: &str, path: &str) -> bool {
    dir == "/" || path == dir || path.starts_with(&format!("{dir}/"))
}

/// The runtime socket a mount of `path` (normalised) exposes, if any.
pub fn runtime_socket(path: &str) -> Option<&'static str> {
    RUNTIME_SOCKETS
        .iter()
        .copied()
        .find(|s| is_parent_or_same(path, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_are_found_through_their_directories() {
        assert_eq!(
            runtime_socket("/var/run/docker.sock"),
            Some("/var/run/docker.sock")
        );
        assert_eq!(
            runtime_socket(&normalise("/var/run/docker/")),
            Some("/var/run/docker/containerd/containerd.sock")
        );
        assert_eq!(
            runtime_socket("/run/containerd"),
            Some("/run/containerd/containerd.sock")
        );
        assert!(runtime_socket("/var/run").is_some());
        assert!(runtime_socket("/").is_some());
        assert_eq!(runtime_socket("/var/run/secrets"), None);
        assert_eq!(runtime_socket("/var/run/docker.sock.bak"), None);
        assert_eq!(runtime_socket("/var/log"), None);
        assert_eq!(normalise("//var//run/./docker/"), "/var/run/docker");
    }
}
