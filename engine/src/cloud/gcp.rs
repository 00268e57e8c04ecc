//! GCP IAM and GKE (CLOUD.md §2): IAM policies of projects, service accounts, and the folders
//! and organization above a project (a resource's effective policy is its own bindings and
//! every ancestor's: a service account inherits its project's, a project its folders' and
//! organization's), role definitions expanded to permissions (with a built-in table for the
//! predefined roles that matter when no definition was exported), how GKE's IAM authorizer
//! turns `container.*` permissions into Kubernetes rights, and one GKE cluster's facts
//! (Workload Identity pool, node pools with their service accounts, metadata mode and scopes).

use super::documents::{gcp_ancestry, spec, GCP_ANCESTRY, GCP_IAM_POLICY, GCP_ROLE, GKE_CLUSTER};
use crate::inventory::Inventory;
use crate::pointer::Pointer as _;
use crate::snapshot::Provider;
use serde_json::Value;
use std::collections::BTreeMap;

/// One binding of an IAM policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Role (`roles/container.developer`, `projects/p/roles/custom`).
    pub role: String,
    /// Members (`user:a@x`, `serviceAccount:...`, `group:...`, `allUsers`, `principal://...`).
    pub members: Vec<String>,
    /// IAM condition title and expression, if the binding is conditional.
    pub condition: Option<String>,
    /// Its position in the policy's `bindings`.
    pub position: usize,
}

/// The IAM of every scanned project.
#[derive(Debug, Clone, Default)]
pub struct GcpIam {
    /// Policies by resource (`projects/p`, `projects/p/serviceAccounts/email`, `folders/id`,
    /// `organizations/id`).
    pub policies: BTreeMap<String, Vec<Binding>>,
    /// Role definitions exported (`includedPermissions`), by role name.
    pub roles: BTreeMap<String, Vec<String>>,
    /// The folders and organization above each project whose ancestry was read, nearest
    /// first (`folders/id`, `organizations/id`), by project ID.
    pub ancestors: BTreeMap<String, Vec<String>>,
}

/// The resource an IAM policy belongs to, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyHolder<'a> {
    /// `projects/<id>`.
    Project(&'a str),
    /// `projects/<project>/serviceAccounts/<email>`.
    ServiceAccount {
        /// The project the account belongs to.
        project: &'a str,
        /// Its e-mail.
        email: &'a str,
    },
    /// `folders/<id>`.
    Folder(&'a str),
    /// `organizations/<id>`.
    Organization(&'a str),
}

impl<'a> PolicyHolder<'a> {
    /// The holder a resource name stands for (a bare name is a project).
    pub fn of(resource: &'a str) -> PolicyHolder<'a> {
        if let Some(id) = resource.strip_prefix("folders/") {
            return PolicyHolder::Folder(id);
        }
        if let Some(id) = resource.strip_prefix("organizations/") {
            return PolicyHolder::Organization(id);
        }
        let rest = resource.strip_prefix("projects/").unwrap_or(resource);
        match rest.split_once("/serviceAccounts/") {
            Some((project, email)) => PolicyHolder::ServiceAccount { project, email },
            None => PolicyHolder::Project(rest),
        }
    }

    /// How messages name it: `project p`, `folder 1`, `organization 2`, or the account's e-mail.
    pub fn describe(&self) -> String {
        match self {
            PolicyHolder::Project(p) => format!("project {p}"),
            PolicyHolder::ServiceAccount { email, .. } => (*email).to_string(),
            PolicyHolder::Folder(id) => format!("folder {id}"),
            PolicyHolder::Organization(id) => format!("organization {id}"),
        }
    }

    /// The fix plan's scope for its policy: `gcp:<project>` (a service account's too),
    /// `gcp:folders/<id>`, `gcp:organizations/<id>`.
    pub fn scope(&self) -> String {
        match self {
            PolicyHolder::Project(p) | PolicyHolder::ServiceAccount { project: p, .. } => {
                format!("gcp:{p}")
            }
            PolicyHolder::Folder(id) => format!("gcp:folders/{id}"),
            PolicyHolder::Organization(id) => format!("gcp:organizations/{id}"),
        }
    }

    /// The permissions that, granted on this resource, rewrite the IAM policy of a project
    /// below it (or of a folder or organization above that project): a permission holds on
    /// every resource below the one it is granted on, so `folders.setIamPolicy` granted on the
    /// organization rewrites every folder's policy. A service account is below no project.
    pub fn set_policy_permissions(&self) -> &'static [&'static str] {
        const PROJECT: &str = "resourcemanager.projects.setIamPolicy";
        const FOLDER: &str = "resourcemanager.folders.setIamPolicy";
        const ORGANIZATION: &str = "resourcemanager.organizations.setIamPolicy";
        match self {
            PolicyHolder::Project(_) => &[PROJECT],
            PolicyHolder::ServiceAccount { .. } => &[],
            PolicyHolder::Folder(_) => &[FOLDER, PROJECT],
            PolicyHolder::Organization(_) => &[ORGANIZATION, FOLDER, PROJECT],
        }
    }
}

/// Permissions of predefined roles kspm knows without an export (the Kubernetes-relevant part).
fn builtin_role(role: &str) -> Option<&'static [&'static str]> {
    Some(match role {
        "roles/owner" | "roles/editor" | "roles/container.admin" => &["container.*"],
        "roles/container.developer" => &[
            "container.pods.create",
            "container.pods.exec",
            "container.pods.attach",
            "container.pods.portForward",
            "container.secrets.get",
            "container.secrets.list",
            "container.serviceAccounts.createToken",
            "container.deployments.create",
            "container.deployments.update",
        ],
        "roles/container.viewer" => &["container.pods.get", "container.pods.list"],
        "roles/container.clusterViewer" | "roles/container.clusterAdmin" => &[],
        "roles/iam.workloadIdentityUser" => &["iam.serviceAccounts.getAccessToken"],
        "roles/iam.serviceAccountTokenCreator" => &["iam.serviceAccounts.getAccessToken"],
        // Roles that rewrite IAM policies (their other permissions do not reach Kubernetes).
        "roles/resourcemanager.projectIamAdmin" => &["resourcemanager.projects.setIamPolicy"],
        "roles/resourcemanager.folderIamAdmin" | "roles/resourcemanager.folderAdmin" => {
            &["resourcemanager.folders.setIamPolicy"]
        }
        "roles/resourcemanager.organizationAdmin" => &[
            "resourcemanager.organizations.setIamPolicy",
            "resourcemanager.folders.setIamPolicy",
            "resourcemanager.projects.setIamPolicy",
        ],
        _ => return None,
    })
}

/// Roles that make a member admin of the project.
pub fn is_admin_role(role: &str) -> bool {
    matches!(role, "roles/owner" | "roles/editor")
}

impl GcpIam {
    /// From `GcpIamPolicy` and `GcpRole` objects.
    pub fn from_objects<'a>(objects: impl Iterator<Item = &'a crate::Object>) -> GcpIam {
        let mut iam = GcpIam::default();
        for o in objects {
            let s = spec(o);
            if o.kind == GCP_IAM_POLICY {
                let bindings = s
                    .get("bindings")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(position, b)| Binding {
                        position,
                        role: b
                            .get("role")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        members: b
                            .get("members")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|m| m.as_str().map(str::to_string))
                            .collect(),
                        condition: b.get("condition").map(|c| {
                            c.get("expression")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string()
                        }),
                    })
                    .collect();
                iam.policies.insert(o.name.clone(), bindings);
            } else if o.kind == GCP_ANCESTRY {
                let project = o.name.trim_start_matches("projects/").to_string();
                let above = gcp_ancestry(s)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(ty, id)| match ty.as_str() {
                        "folder" => Some(format!("folders/{id}")),
                        "organization" => Some(format!("organizations/{id}")),
                        _ => None,
                    })
                    .collect();
                iam.ancestors.insert(project, above);
            } else if o.kind == GCP_ROLE {
                let perms = s
                    .get("includedPermissions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect();
                iam.roles.insert(o.name.clone(), perms);
            }
        }
        iam
    }

    /// Whether `role` carries `permission` (from its exported definition, else the built-in
    /// table; `None` when the role is unknown).
    pub fn role_has(&self, role: &str, permission: &str) -> Option<bool> {
        let matches = |p: &str| {
            p == permission
                || p.strip_suffix('*')
                    .is_some_and(|prefix| permission.starts_with(prefix))
        };
        if let Some(perms) = self.roles.get(role) {
            return Some(perms.iter().any(|p| matches(p)));
        }
        builtin_role(role).map(|perms| perms.iter().any(|p| matches(p)))
    }

    /// Bindings of a project's policy.
    pub fn project(&self, project: &str) -> &[Binding] {
        self.policies
            .get(&format!("projects/{project}"))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// A project's effective bindings with the resource each is set on: its own, then each
    /// folder's and the organization's above it, nearest first (what was read of them).
    pub fn effective(&self, project: &str) -> Vec<(&str, &Binding)> {
        let own = format!("projects/{project}");
        let mut out: Vec<(&str, &Binding)> = Vec::new();
        if let Some((name, bindings)) = self.policies.get_key_value(&own) {
            out.extend(bindings.iter().map(|b| (name.as_str(), b)));
        }
        for above in self.ancestors.get(project).into_iter().flatten() {
            if let Some((name, bindings)) = self.policies.get_key_value(above) {
                out.extend(bindings.iter().map(|b| (name.as_str(), b)));
            }
        }
        out
    }

    /// A service account's effective bindings: its own policy's, then its project's
    /// [`effective`](Self::effective) ones.
    pub fn effective_for_account(&self, resource: &str) -> Vec<(&str, &Binding)> {
        let mut out: Vec<(&str, &Binding)> = Vec::new();
        if let Some((name, bindings)) = self.policies.get_key_value(resource) {
            out.extend(bindings.iter().map(|b| (name.as_str(), b)));
        }
        if let PolicyHolder::ServiceAccount { project, .. } = PolicyHolder::of(resource) {
            out.extend(self.effective(project));
        }
        out
    }

    /// Every project the IAM data names (by a policy or an ancestry), sorted.
    pub fn projects(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .policies
            .keys()
            .filter_map(|r| r.strip_prefix("projects/"))
            .chain(self.ancestors.keys().map(String::as_str))
            .filter(|p| !p.contains('/'))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// What of a project's hierarchy was not read, so that bindings inherited from it are not
    /// assessed: its ancestry, or the policy of a folder or organization above it.
    pub fn hierarchy_gaps(&self, project: &str) -> Vec<String> {
        let Some(above) = self.ancestors.get(project) else {
            return vec![format!(
                "the folders and organization above project {project} were not read (its ancestry: `gcloud projects get-ancestors {project} --format json`): IAM bindings inherited from them are not assessed"
            )];
        };
        above
            .iter()
            .filter(|r| !self.policies.contains_key(*r))
            .map(|r| {
                format!(
                    "the IAM policy of {} (above project {project}) was not read: bindings inherited from it are not assessed",
                    PolicyHolder::of(r).describe()
                )
            })
            .collect()
    }
}

/// A GKE node pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePool {
    /// Name.
    pub name: String,
    /// Node service account email (`default`: the Compute Engine default service account).
    pub service_account: String,
    /// `workloadMetadataConfig.mode` (`GKE_METADATA`, `GCE_METADATA`, or empty).
    pub metadata_mode: String,
    /// OAuth scopes.
    pub scopes: Vec<String>,
}

impl NodePool {
    /// Whether the node's token can act with its service account's roles beyond reading: the
    /// metadata server only mints tokens for the pool's OAuth scopes, and the legacy defaults
    /// (`devstorage.read_only`, `logging.write`, `monitoring`, `servicecontrol`,
    /// `service.management.readonly`, `trace.append`) allow neither IAM and Compute changes nor
    /// the Kubernetes API. `cloud-platform`, `compute`, `iam` or `userinfo.email` do; so do
    /// unlisted scopes (an export that omits them is not proof of a limit).
    pub fn token_can_escalate(&self) -> bool {
        self.scopes.is_empty()
            || self.scopes.iter().any(|s| {
                let short = s.rsplit('/').next().unwrap_or(s);
                matches!(
                    short,
                    "cloud-platform" | "compute" | "iam" | "userinfo.email"
                )
            })
    }

    /// Whether pods on the pool get the node's service account from the metadata server.
    pub fn exposes_node_identity(&self, workload_identity: bool) -> bool {
        match self.metadata_mode.as_str() {
            "GKE_METADATA" => false,
            "GCE_METADATA" => true,
            // Unspecified: the cluster default (GKE_METADATA when Workload Identity is on).
            _ => !workload_identity,
        }
    }
}

/// One GKE cluster's cloud facts.
#[derive(Debug, Clone, Default)]
pub struct GkeFacts {
    /// The cluster's name in the fleet.
    pub cluster: String,
    /// Project ID.
    pub project: String,
    /// Workload Identity pool (`<project>.svc.id.goog`).
    pub workload_pool: Option<String>,
    /// Whether GKE still allows bindings of `system:authenticated` (any Google account).
    pub authenticated_is_public: bool,
    /// ServiceAccounts: (namespace, name, `iam.gke.io/gcp-service-account` annotation).
    pub service_accounts: Vec<(String, String, Option<String>)>,
    /// Node pools.
    pub node_pools: Vec<NodePool>,
    /// Google Groups for RBAC (`authenticatorGroupsConfig.enabled`).
    pub google_groups: bool,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Node pools of a `GkeCluster` document.
pub fn node_pools(cluster: &Value) -> Vec<NodePool> {
    cluster
        .get("nodePools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let config = p.get("config").cloned().unwrap_or(Value::Null);
            let sa = s(&config, "serviceAccount");
            NodePool {
                name: s(p, "name").to_string(),
                service_account: if sa.is_empty() {
                    "default".into()
                } else {
                    sa.to_string()
                },
                metadata_mode: config
                    .at("/workloadMetadataConfig/mode")
                    .map(|m| {
                        m.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| m.to_string())
                    })
                    .unwrap_or_default(),
                scopes: config
                    .get("oauthScopes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
            }
        })
        .collect()
}

/// The project of a cluster: from its `selfLink`, else the snapshot metadata.
fn project_of(doc: &Value, fallback: Option<&str>) -> String {
    let link = s(doc, "selfLink");
    link.split("/projects/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .map(str::to_string)
        .or_else(|| fallback.map(str::to_string))
        .unwrap_or_default()
}

/// The ServiceAccount annotation GKE Workload Identity reads: the Google service account it acts as.
pub const GSA_ANNOTATION: &str = "iam.gke.io/gcp-service-account";

/// The cloud facts of a GKE cluster (its `gcloud container clusters describe` output).
pub fn facts(inv: &Inventory<'_>) -> Option<GkeFacts> {
    let describe = inv.of_kind(GKE_CLUSTER).first().map(|o| spec(o));
    if describe.is_none() && inv.cluster.info.provider != Provider::Gke {
        return None;
    }
    let doc = describe.cloned().unwrap_or(Value::Null);
    let mut f = GkeFacts {
        cluster: inv.cluster.info.name.clone(),
        project: project_of(&doc, inv.cluster.info.account.as_deref()),
        workload_pool: doc
            .at("/workloadIdentityConfig/workloadPool")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        authenticated_is_public: doc
            .at("/rbacBindingConfig/enableInsecureBindingSystemAuthenticated")
            .and_then(Value::as_bool)
            != Some(false),
        node_pools: node_pools(&doc),
        google_groups: doc
            .at("/authenticatorGroupsConfig/enabled")
            .and_then(Value::as_bool)
            == Some(true),
        ..Default::default()
    };
    f.service_accounts = super::service_accounts(inv, GSA_ANNOTATION);
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_expand_from_exports_then_the_builtin_table() {
        let mut iam = GcpIam::default();
        iam.roles.insert(
            "projects/p/roles/reader".into(),
            vec!["container.secrets.get".into()],
        );
        assert_eq!(
            iam.role_has("projects/p/roles/reader", "container.secrets.get"),
            Some(true)
        );
        assert_eq!(
            iam.role_has("projects/p/roles/reader", "container.pods.exec"),
            Some(false)
        );
        assert_eq!(
            iam.role_has(
                "roles/container.admin",
                "container.clusterRoleBindings.create"
            ),
            Some(true)
        );
        assert_eq!(
            iam.role_has("roles/container.developer", "container.secrets.list"),
            Some(true)
        );
        assert_eq!(
            iam.role_has("roles/container.viewer", "container.secrets.get"),
            Some(false)
        );
        assert_eq!(iam.role_has("roles/unknown", "container.secrets.get"), None);
    }

    #[test]
    fn metadata_mode_decides_node_identity_exposure() {
        let pool = |mode: &str| NodePool {
            name: "p".into(),
            service_account: "default".into(),
            metadata_mode: mode.into(),
            scopes: vec![],
        };
        assert!(pool("GCE_METADATA").exposes_node_identity(true));
        assert!(!pool("GKE_METADATA").exposes_node_identity(false));
        assert!(!pool("").exposes_node_identity(true));
        assert!(pool("").exposes_node_identity(false));
    }
}
