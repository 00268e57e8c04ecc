//! Authorization requests and identities, and how the CLI spells them.

/// A request as the authorizer sees it (`authorizer.Attributes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Verb (`get`, `create`, `impersonate`, ...).
    pub verb: String,
    /// API group (`""` for core).
    pub api_group: String,
    /// Resource, plural lower case.
    pub resource: String,
    /// Subresource (`exec`, `token`, ...) or empty.
    pub subresource: String,
    /// Object name, when the request names one.
    pub name: Option<String>,
    /// Namespace; `None` for cluster-scoped requests.
    pub namespace: Option<String>,
    /// Non-resource URL path (`/healthz`); when set, the resource fields are unused.
    pub path: Option<String>,
}

/// Resources kubectl users name without their group, and the group they belong to.
const KNOWN_GROUPS: &[(&str, &str)] = &[
    ("deployments", "apps"),
    ("daemonsets", "apps"),
    ("statefulsets", "apps"),
    ("replicasets", "apps"),
    ("controllerrevisions", "apps"),
    ("jobs", "batch"),
    ("cronjobs", "batch"),
    ("roles", "rbac.authorization.k8s.io"),
    ("rolebindings", "rbac.authorization.k8s.io"),
    ("clusterroles", "rbac.authorization.k8s.io"),
    ("clusterrolebindings", "rbac.authorization.k8s.io"),
    ("certificatesigningrequests", "certificates.k8s.io"),
    (
        "validatingwebhookconfigurations",
        "admissionregistration.k8s.io",
    ),
    (
        "mutatingwebhookconfigurations",
        "admissionregistration.k8s.io",
    ),
    ("ingresses", "networking.k8s.io"),
    ("networkpolicies", "networking.k8s.io"),
    ("horizontalpodautoscalers", "autoscaling"),
    ("poddisruptionbudgets", "policy"),
    ("customresourcedefinitions", "apiextensions.k8s.io"),
    ("endpointslices", "discovery.k8s.io"),
    ("leases", "coordination.k8s.io"),
    ("storageclasses", "storage.k8s.io"),
    ("tokenreviews", "authentication.k8s.io"),
    ("subjectaccessreviews", "authorization.k8s.io"),
    ("signers", "certificates.k8s.io"),
];

impl Request {
    /// A resource request. `resource` may carry a subresource (`pods/exec`).
    pub fn resource(
        verb: &str,
        api_group: &str,
        resource: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Request {
        let (res, sub) = resource.split_once('/').unwrap_or((resource, ""));
        Request {
            verb: verb.to_string(),
            api_group: api_group.to_string(),
            resource: res.to_string(),
            subresource: sub.to_string(),
            name: name.map(str::to_string),
            namespace: namespace.map(str::to_string),
            path: None,
        }
    }

    /// A non-resource request (`get /healthz`).
    pub fn non_resource(verb: &str, path: &str) -> Request {
        Request {
            verb: verb.to_string(),
            api_group: String::new(),
            resource: String::new(),
            subresource: String::new(),
            name: None,
            namespace: None,
            path: Some(path.to_string()),
        }
    }

    /// Parses the CLI form: `VERB` and `RESOURCE[.GROUP][/SUB]` or `/non/resource/url`.
    /// Common resources (`deployments`, `roles`, ...) get their group when none is given.
    pub fn parse(
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Result<Request, String> {
        if verb.is_empty() {
            return Err("empty verb".into());
        }
        if resource.starts_with('/') {
            return Ok(Request::non_resource(verb, resource));
        }
        let (main, sub) = resource.split_once('/').unwrap_or((resource, ""));
        if main.is_empty() || sub.contains('/') {
            return Err(format!(
                "invalid resource `{resource}` (expected RESOURCE[.GROUP][/SUBRESOURCE])"
            ));
        }
        let (res, group) = match main.split_once('.') {
            Some((r, g)) => (r.to_string(), g.to_string()),
            None => {
                let g = KNOWN_GROUPS
                    .iter()
                    .find(|(r, _)| *r == main)
                    .map(|(_, g)| g.to_string())
                    .unwrap_or_default();
                (main.to_string(), g)
            }
        };
        let combined = if sub.is_empty() {
            res
        } else {
            format!("{res}/{sub}")
        };
        Ok(Request::resource(verb, &group, &combined, namespace, name))
    }

    /// Whether this is a non-resource request.
    pub fn is_non_resource(&self) -> bool {
        self.path.is_some()
    }

    /// The namespace the authorizer sees: a request on a Namespace object is "in" that
    /// namespace, so a RoleBinding granting verbs on `namespaces` reaches its own Namespace.
    pub fn effective_namespace(&self) -> Option<&str> {
        if self.api_group.is_empty() && self.resource == "namespaces" {
            if let Some(n) = self.name.as_deref() {
                return Some(n);
            }
        }
        self.namespace.as_deref()
    }
}

/// An authenticated identity: user name and groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User name (`alice`, `system:serviceaccount:ns:name`).
    pub user: String,
    /// Groups, including the implicit ones.
    pub groups: Vec<String>,
}

impl Identity {
    /// The identity a ServiceAccount token authenticates as.
    pub fn service_account(namespace: &str, name: &str) -> Identity {
        Identity {
            user: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }

    /// The identity for `--as NAME [--as-group G]...`: ServiceAccount user names get their
    /// implicit groups, `system:anonymous` gets `system:unauthenticated`, everyone else
    /// `system:authenticated`.
    pub fn parse_as(user: &str, extra_groups: &[String]) -> Identity {
        let mut id = match user.strip_prefix("system:serviceaccount:") {
            Some(rest) => match rest.split_once(':') {
                Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains(':') => {
                    Identity::service_account(ns, name)
                }
                _ => Identity {
                    user: user.to_string(),
                    groups: vec!["system:authenticated".into()],
                },
            },
            None if user == "system:anonymous" => Identity {
                user: user.to_string(),
                groups: vec!["system:unauthenticated".into()],
            },
            None => Identity {
                user: user.to_string(),
                groups: vec!["system:authenticated".into()],
            },
        };
        for g in extra_groups {
            if !id.groups.contains(g) {
                id.groups.push(g.clone());
            }
        }
        id
    }
}
