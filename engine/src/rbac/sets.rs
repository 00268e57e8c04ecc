//! Named permission sets: the requests that each give one capability, written once and read by
//! the RBAC checks, the attack graph's techniques, the powerful-ServiceAccount check and the
//! platform-binding test alike. Each is a list of `(verb, API group, resource)`; a grant of any
//! one of them gives the capability.

/// Requests as `(verb, API group, resource)`.
pub type Requests = &'static [(&'static str, &'static str, &'static str)];

/// Creating pods, directly or through any built-in controller that makes them: each runs a pod
/// as any ServiceAccount of the namespace, with whatever the pod spec asks for.
pub const CREATE_WORKLOADS: Requests = &[
    ("create", "", "pods"),
    ("create", "apps", "deployments"),
    ("create", "apps", "daemonsets"),
    ("create", "apps", "replicasets"),
    ("create", "apps", "statefulsets"),
    ("create", "batch", "jobs"),
    ("create", "batch", "cronjobs"),
    ("create", "", "replicationcontrollers"),
];

/// Changing a controller's pod template: its new pods run as any ServiceAccount of the
/// namespace.
pub const UPDATE_WORKLOADS: Requests = &[
    ("update", "apps", "deployments"),
    ("patch", "apps", "deployments"),
    ("update", "apps", "daemonsets"),
    ("patch", "apps", "daemonsets"),
    ("update", "apps", "statefulsets"),
    ("patch", "apps", "statefulsets"),
    ("update", "apps", "replicasets"),
    ("patch", "apps", "replicasets"),
    ("update", "batch", "jobs"),
    ("patch", "batch", "jobs"),
    ("update", "batch", "cronjobs"),
    ("patch", "batch", "cronjobs"),
    ("update", "", "replicationcontrollers"),
    ("patch", "", "replicationcontrollers"),
];

/// Reading Secret values: `get` by name, or `list`/`watch` (both return whole objects).
pub const READ_SECRETS: Requests = &[
    ("get", "", "secrets"),
    ("list", "", "secrets"),
    ("watch", "", "secrets"),
];

/// Listing or watching Secrets: every value without knowing a name.
pub const LIST_SECRETS: Requests = &[("list", "", "secrets"), ("watch", "", "secrets")];

/// Changing a running pod (its image: new code under the pod's identity).
pub const PATCH_PODS: Requests = &[("update", "", "pods"), ("patch", "", "pods")];

/// Adding an ephemeral container to a running pod.
pub const EPHEMERAL_CONTAINERS: Requests = &[
    ("update", "", "pods/ephemeralcontainers"),
    ("patch", "", "pods/ephemeralcontainers"),
];

/// Creating or changing RoleBindings.
pub const WRITE_ROLEBINDINGS: Requests = &[
    ("create", "rbac.authorization.k8s.io", "rolebindings"),
    ("update", "rbac.authorization.k8s.io", "rolebindings"),
    ("patch", "rbac.authorization.k8s.io", "rolebindings"),
];

/// Minting a token for a ServiceAccount (TokenRequest).
pub const MINT_TOKENS: Requests = &[("create", "", "serviceaccounts/token")];

/// Whether the API server authorizes a WebSocket upgrade of exec, attach and port-forward as
/// `get` only: before Kubernetes 1.35 (`AuthorizePodWebsocketUpgradeCreatePermission`), and
/// for an unknown version, to be safe.
fn websocket_get_suffices(minor: Option<u32>) -> bool {
    minor.is_none_or(|m| m < 35)
}

/// Running a command in a pod's container: exec or attach (`create`, or `get` where a WebSocket
/// upgrade needs only that, see [`websocket_get_suffices`]).
pub fn exec(minor: Option<u32>) -> Requests {
    if websocket_get_suffices(minor) {
        &[
            ("create", "", "pods/exec"),
            ("create", "", "pods/attach"),
            ("get", "", "pods/exec"),
            ("get", "", "pods/attach"),
        ]
    } else {
        &[("create", "", "pods/exec"), ("create", "", "pods/attach")]
    }
}

/// Forwarding a port of a pod (`create`, or `get` where a WebSocket upgrade needs only that).
pub fn port_forward(minor: Option<u32>) -> Requests {
    if websocket_get_suffices(minor) {
        &[
            ("create", "", "pods/portforward"),
            ("get", "", "pods/portforward"),
        ]
    } else {
        &[("create", "", "pods/portforward")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::{Request, Rule};

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Rule {
        Rule {
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            api_groups: groups.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            resource_names: vec![],
            non_resource_urls: vec![],
        }
    }

    fn grants(set: Requests, r: &Rule) -> bool {
        set.iter()
            .any(|(v, g, res)| r.allows(&Request::resource(v, g, res, Some("ns"), None)))
    }

    #[test]
    fn every_pod_making_controller_counts_as_creating_workloads() {
        for (group, resource) in [
            ("", "pods"),
            ("apps", "statefulsets"),
            ("apps", "replicasets"),
            ("batch", "cronjobs"),
            ("", "replicationcontrollers"),
        ] {
            assert!(grants(
                CREATE_WORKLOADS,
                &rule(&["create"], &[group], &[resource])
            ));
        }
        // Reading or deleting them creates nothing; a subresource is not the resource.
        assert!(!grants(
            CREATE_WORKLOADS,
            &rule(&["get", "list", "delete"], &["apps"], &["deployments"])
        ));
        assert!(!grants(
            CREATE_WORKLOADS,
            &rule(&["create"], &["apps"], &["deployments/scale"])
        ));
        assert!(!grants(
            UPDATE_WORKLOADS,
            &rule(&["create"], &["apps"], &["deployments"])
        ));
        assert!(grants(
            UPDATE_WORKLOADS,
            &rule(&["patch"], &["batch"], &["cronjobs"])
        ));
    }

    #[test]
    fn websocket_get_gives_exec_and_port_forward_only_before_1_35() {
        let get_exec = rule(&["get"], &[""], &["pods/exec"]);
        let get_forward = rule(&["get"], &[""], &["pods/portforward"]);
        for minor in [None, Some(30), Some(34)] {
            assert!(grants(exec(minor), &get_exec), "{minor:?}");
            assert!(grants(port_forward(minor), &get_forward), "{minor:?}");
        }
        for minor in [Some(35), Some(36)] {
            assert!(!grants(exec(minor), &get_exec), "{minor:?}");
            assert!(!grants(port_forward(minor), &get_forward), "{minor:?}");
            assert!(grants(
                exec(minor),
                &rule(&["create"], &[""], &["pods/attach"])
            ));
        }
        // `get pods` is not exec.
        assert!(!grants(exec(None), &rule(&["get"], &[""], &["pods"])));
    }

    #[test]
    fn watching_secrets_reads_them() {
        assert!(grants(READ_SECRETS, &rule(&["watch"], &[""], &["secrets"])));
        assert!(grants(LIST_SECRETS, &rule(&["watch"], &[""], &["secrets"])));
        assert!(!grants(LIST_SECRETS, &rule(&["get"], &[""], &["secrets"])));
        assert!(!grants(
            READ_SECRETS,
            &rule(&["create", "delete"], &[""], &["secrets"])
        ));
    }
}
