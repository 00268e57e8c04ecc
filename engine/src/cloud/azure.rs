//! Azure RBAC and AKS (CLOUD.md §3): role assignments resolved to role definitions (exported, or
//! the built-in AKS and generic roles by GUID), user-assigned identities with their federated
//! credentials, and one AKS cluster's facts (Entra integration, Azure RBAC, local accounts, OIDC
//! issuer, kubelet identity, workload identity annotations).

use super::documents::{
    arm_get, arm_pointer, azure_field, spec, AKS_CLUSTER, AZURE_FEDERATED_CREDENTIAL,
    AZURE_MANAGED_IDENTITY, AZURE_ROLE_ASSIGNMENT, AZURE_ROLE_DEFINITION,
};
use crate::inventory::Inventory;
use serde_json::Value;
use std::collections::BTreeMap;

/// One thing a role means for an AKS cluster and its subscription. A role may mean several:
/// its ARM actions (admin of the scope, or writing the cluster) and its data actions (Azure RBAC
/// for Kubernetes) apply apart — a custom role that may update clusters and read Secrets does
/// both, and at a namespace scope only the data actions apply. What credentials it lists is
/// kept apart too ([`CredentialActions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleEffect {
    /// `Owner`, `Contributor`, `User Access Administrator` (or role-assignment writes): admin of
    /// the scope (and, through the cluster resource, its Kubernetes API).
    ScopeAdmin,
    /// May write managed clusters (AKS Contributor Role, `managedClusters/write`): cluster-admin
    /// by updating the cluster, but not admin of the scope.
    ClusterWrite,
    /// Azure RBAC for Kubernetes: reads Secrets (nothing else modelled).
    K8sSecretReader,
    /// Azure RBAC for Kubernetes: cluster-admin (`managedClusters/*` data actions).
    K8sClusterAdmin,
    /// Azure RBAC for Kubernetes: namespace admin (RBAC Admin).
    K8sAdmin,
    /// Azure RBAC for Kubernetes: write, Secrets and pod creation included (RBAC Writer).
    K8sWriter,
}

/// The kubeconfig-returning actions a role holds on managed clusters, apart from its effect:
/// a role that is, say, Azure RBAC for Kubernetes cluster-admin may also list credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CredentialActions {
    /// `listClusterAdminCredential` (or the older `accessProfiles/listCredential`): the static
    /// admin kubeconfig while local accounts are on.
    pub admin: bool,
    /// `listClusterUserCredential`: an admin certificate on a cluster without Entra
    /// integration.
    pub user: bool,
}

const BOTH: CredentialActions = CredentialActions {
    admin: true,
    user: true,
};
const USER_ONLY: CredentialActions = CredentialActions {
    admin: false,
    user: true,
};

/// The credential actions of built-in roles (their published definitions): Owner and
/// Contributor (`*`), the AKS Cluster Admin Role (both, and `accessProfiles/listCredential`),
/// and the Cluster User, RBAC Cluster Admin and RBAC Admin roles (`listClusterUserCredential`,
/// so their holders can fetch a kubeconfig at all). Others hold none.
const BUILTIN_CREDENTIALS: &[(&str, CredentialActions)] = &[
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", BOTH),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", BOTH),
    ("0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8", BOTH),
    ("4abbcc35-e782-43d8-92c5-2d3f1bd2253f", USER_ONLY),
    ("b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b", USER_ONLY),
    ("3498e952-d568-435e-9b2c-8d77e338d7f7", USER_ONLY),
];

/// Built-in role GUIDs (role definition `name`) kspm knows without an export, with what they
/// mean (none: nothing kspm models, or only the credentials they list).
const BUILTIN: &[(&str, &str, &[RoleEffect])] = &[
    (
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "Owner",
        &[RoleEffect::ScopeAdmin],
    ),
    (
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Contributor",
        &[RoleEffect::ScopeAdmin],
    ),
    (
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
        &[RoleEffect::ScopeAdmin],
    ),
    (
        "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
        "Azure Kubernetes Service RBAC Cluster Admin",
        &[RoleEffect::K8sClusterAdmin],
    ),
    (
        "3498e952-d568-435e-9b2c-8d77e338d7f7",
        "Azure Kubernetes Service RBAC Admin",
        &[RoleEffect::K8sAdmin],
    ),
    (
        "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb",
        "Azure Kubernetes Service RBAC Writer",
        &[RoleEffect::K8sWriter],
    ),
    (
        "7f6c6a51-bcf8-42ba-9220-52d62157d7db",
        "Azure Kubernetes Service RBAC Reader",
        &[],
    ),
    (
        "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8",
        "Azure Kubernetes Service Cluster Admin Role",
        &[],
    ),
    (
        "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
        "Azure Kubernetes Service Cluster User Role",
        &[],
    ),
    (
        "ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8",
        "Azure Kubernetes Service Contributor Role",
        &[RoleEffect::ClusterWrite],
    ),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", &[]),
];

fn glob_action(pattern: &str, action: &str) -> bool {
    crate::cloud::aws_iam::glob(pattern, action, true)
}

/// A role definition's permission lists, each the union over its `permissions` entries.
struct Permissions {
    actions: Vec<String>,
    not_actions: Vec<String>,
    data_actions: Vec<String>,
    not_data_actions: Vec<String>,
}

impl Permissions {
    fn of(def: &Value) -> Permissions {
        let perms = azure_field(def, "permissions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let list = |k: &str| -> Vec<String> {
            perms
                .iter()
                .flat_map(|p| {
                    p.get(k)
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                })
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        };
        Permissions {
            actions: list("actions"),
            not_actions: list("notActions"),
            data_actions: list("dataActions"),
            not_data_actions: list("notDataActions"),
        }
    }

    fn allows(a: &str, granted: &[String], denied: &[String]) -> bool {
        granted.iter().any(|g| glob_action(g, a)) && !denied.iter().any(|d| glob_action(d, a))
    }

    /// Whether the role allows the ARM action.
    fn action(&self, a: &str) -> bool {
        Self::allows(a, &self.actions, &self.not_actions)
    }

    /// Whether the role allows the data action.
    fn data_action(&self, a: &str) -> bool {
        Self::allows(a, &self.data_actions, &self.not_data_actions)
    }
}

/// The credential actions of a custom or exported role definition.
fn credentials_of_permissions(p: &Permissions) -> CredentialActions {
    const K8S: &str = "Microsoft.ContainerService/managedClusters";
    CredentialActions {
        admin: p.action(&format!("{K8S}/listClusterAdminCredential/action"))
            || p.action(&format!("{K8S}/accessProfiles/listCredential/action")),
        user: p.action(&format!("{K8S}/listClusterUserCredential/action")),
    }
}

/// What a custom or exported role definition means, from its actions and data actions: at most
/// one ARM effect (the stronger) and one Azure RBAC for Kubernetes effect (the stronger).
fn effects_of_permissions(p: &Permissions) -> Vec<RoleEffect> {
    let action = |a: &str| p.action(a);
    let data_action = |a: &str| p.data_action(a);
    const K8S: &str = "Microsoft.ContainerService/managedClusters";
    let mut out = Vec::new();
    if action("Microsoft.Authorization/roleAssignments/write") {
        out.push(RoleEffect::ScopeAdmin);
    } else if action(&format!("{K8S}/write")) {
        out.push(RoleEffect::ClusterWrite);
    }
    if data_action(&format!(
        "{K8S}/rbac.authorization.k8s.io/clusterrolebindings/write"
    )) && data_action(&format!("{K8S}/secrets/read"))
    {
        out.push(RoleEffect::K8sClusterAdmin);
    } else if data_action(&format!("{K8S}/secrets/read")) {
        out.push(if data_action(&format!("{K8S}/pods/write")) {
            RoleEffect::K8sWriter
        } else {
            RoleEffect::K8sSecretReader
        });
    }
    out
}

/// One role assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Principal object ID.
    pub principal_id: String,
    /// `User`, `Group`, `ServicePrincipal`, ...
    pub principal_type: String,
    /// Role name (resolved) or the definition ID.
    pub role: String,
    /// What the role means here (none: nothing kspm models beyond its credentials).
    pub effects: Vec<RoleEffect>,
    /// The kubeconfig-returning actions the role holds.
    pub credentials: CredentialActions,
    /// Scope (lower-cased ARM ID).
    pub scope: String,
    /// ABAC condition, if any.
    pub condition: Option<String>,
    /// The assignment's ARM ID.
    pub id: String,
    /// Name of kspm's document of it.
    pub document: String,
    /// The subscription whose role-assignment listing held it (the document is under
    /// `cloud/azure/<subscription>/`; lower case). ARM lists a subscription's assignments with
    /// those it inherits from its management groups, so an assignment at a management group
    /// applies to the subscriptions whose listings hold it.
    pub listed_for: Option<String>,
}

/// The scope prefix of management groups (lower case, as [`Assignment::scope`] is kept).
const MANAGEMENT_GROUPS: &str = "/providers/microsoft.management/managementgroups/";

impl Assignment {
    /// Whether the assignment is above every subscription: at a management group or the root.
    pub fn above_subscriptions(&self) -> bool {
        self.scope == "/" || self.scope.starts_with(MANAGEMENT_GROUPS)
    }

    /// The subscription whose admin a scope-admin role makes its principal: the one it is
    /// assigned on, or, for one above subscriptions, the subscription whose listing holds it.
    pub fn admin_of_subscription(&self) -> Option<&str> {
        let parts: Vec<&str> = self.scope.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["subscriptions", s] => Some(s),
            _ if self.above_subscriptions() => self.listed_for.as_deref(),
            _ => None,
        }
    }
}

/// The subscription of a document from its path (`…/cloud/azure/<subscription>/<file>`).
fn listing_subscription(file: &str) -> Option<String> {
    let comps: Vec<&str> = std::path::Path::new(file)
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect();
    let azure = comps.iter().rposition(|c| *c == "azure")?;
    // The subscription directory, with the file below it.
    (azure + 2 < comps.len()).then(|| comps[azure + 1].to_lowercase())
}

/// The subscription of an ARM resource ID (lower case).
fn subscription_of(resource: &str) -> Option<&str> {
    let mut it = resource.split('/');
    it.by_ref()
        .find(|p| p.eq_ignore_ascii_case("subscriptions"))?;
    it.next().filter(|s| !s.is_empty())
}

/// A federated identity credential of a managed identity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FederatedCredential {
    /// Issuer it trusts.
    pub issuer: String,
    /// Subject it trusts (`system:serviceaccount:ns:name`).
    pub subject: String,
    /// Its ARM ID.
    pub id: String,
    /// Name of kspm's document of it.
    pub document: String,
}

/// A user-assigned managed identity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// ARM ID (lower case).
    pub id: String,
    /// Name.
    pub name: String,
    /// Principal (object) ID.
    pub principal_id: String,
    /// Client ID.
    pub client_id: String,
    /// Federated credentials: (issuer, subject).
    pub federated: Vec<FederatedCredential>,
}

/// The Azure RBAC of every scanned subscription.
#[derive(Debug, Clone, Default)]
pub struct AzureRbac {
    /// Role assignments.
    pub assignments: Vec<Assignment>,
    /// User-assigned identities by lower-cased ARM ID.
    pub identities: BTreeMap<String, Identity>,
}

fn text(v: &Value, k: &str) -> String {
    azure_field(v, k)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

impl AzureRbac {
    /// Whether a role-assignment listing of the subscription was read: some assignment is
    /// scoped within it or was listed for it. (Every subscription has one — its owner, or one
    /// it inherits, which its listing holds — so none means the listing is missing.)
    pub fn assignments_read(&self, subscription: &str) -> bool {
        let sub = subscription.to_lowercase();
        !sub.is_empty()
            && self.assignments.iter().any(|a| {
                a.listed_for.as_deref() == Some(sub.as_str())
                    || subscription_of(&a.scope) == Some(sub.as_str())
            })
    }

    /// From the synthetic Azure objects.
    pub fn from_objects<'a>(objects: impl Iterator<Item = &'a crate::Object> + Clone) -> AzureRbac {
        // Role definitions by GUID: name, effects, credentials.
        type Definition = (String, Vec<RoleEffect>, CredentialActions);
        let mut defs: BTreeMap<String, Definition> = BTreeMap::new();
        for o in objects.clone().filter(|o| o.kind == AZURE_ROLE_DEFINITION) {
            let d = spec(o);
            let guid = text(d, "name");
            let guid = if guid.is_empty() {
                text(d, "id").rsplit('/').next().unwrap_or("").to_string()
            } else {
                guid
            };
            defs.insert(guid.to_lowercase(), {
                let permissions = Permissions::of(d);
                (
                    text(d, "roleName"),
                    effects_of_permissions(&permissions),
                    credentials_of_permissions(&permissions),
                )
            });
        }
        let mut out = AzureRbac::default();
        for o in objects.clone() {
            let d = spec(o);
            if o.kind == AZURE_ROLE_ASSIGNMENT {
                let def_id = text(d, "roleDefinitionId");
                let guid = def_id.rsplit('/').next().unwrap_or("").to_lowercase();
                let builtin_credentials = BUILTIN_CREDENTIALS
                    .iter()
                    .find(|b| b.0 == guid)
                    .map(|b| b.1)
                    .unwrap_or_default();
                let (role, effects, credentials) =
                    match (defs.get(&guid), BUILTIN.iter().find(|b| b.0 == guid)) {
                        (Some((name, eff, creds)), builtin) => {
                            // A built-in's effects are known exactly; exported definitions fill
                            // the rest, and their actions say which credentials they list.
                            (
                                name.clone(),
                                builtin.map_or_else(|| eff.clone(), |b| b.2.to_vec()),
                                *creds,
                            )
                        }
                        (None, Some(b)) => (b.1.to_string(), b.2.to_vec(), builtin_credentials),
                        (None, None) => (def_id.clone(), Vec::new(), builtin_credentials),
                    };
                out.assignments.push(Assignment {
                    principal_id: text(d, "principalId"),
                    principal_type: text(d, "principalType"),
                    role,
                    effects,
                    credentials,
                    scope: text(d, "scope").to_lowercase(),
                    condition: azure_field(d, "condition")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    id: text(d, "id"),
                    document: o.name.clone(),
                    listed_for: listing_subscription(&o.source.file),
                });
            } else if o.kind == AZURE_MANAGED_IDENTITY {
                let id = text(d, "id").to_lowercase();
                let e = out.identities.entry(id.clone()).or_default();
                e.id = id;
                e.name = text(d, "name");
                e.principal_id = text(d, "principalId");
                e.client_id = text(d, "clientId");
            }
        }
        for o in objects.filter(|o| o.kind == AZURE_FEDERATED_CREDENTIAL) {
            let d = spec(o);
            let id = text(d, "id").to_lowercase();
            let Some(identity) = id.split("/federatedidentitycredentials/").next() else {
                continue;
            };
            let e = out.identities.entry(identity.to_string()).or_default();
            e.id = identity.to_string();
            e.federated.push(FederatedCredential {
                issuer: text(d, "issuer"),
                subject: text(d, "subject"),
                id: text(d, "id"),
                document: o.name.clone(),
            });
        }
        out
    }

    /// Assignments that apply to `resource`: on it, on a parent scope, on a management group
    /// above its subscription (one its subscription's listing holds), or on one of its
    /// namespaces (`<cluster>/namespaces/<ns>`, Azure RBAC for Kubernetes).
    pub fn covering<'a>(&'a self, resource: &'a str) -> impl Iterator<Item = &'a Assignment> + 'a {
        let r = resource.to_lowercase();
        let namespaces = format!("{r}/namespaces/");
        let subscription = subscription_of(&r).map(str::to_string);
        self.assignments.iter().filter(move |a| {
            let parent = a.scope.trim_end_matches('/');
            !a.scope.is_empty()
                && (r == a.scope
                    || a.scope == "/"
                    || r.starts_with(&format!("{parent}/"))
                    || (a.scope.starts_with(MANAGEMENT_GROUPS)
                        && subscription.is_some()
                        && a.listed_for == subscription)
                    || a.scope.starts_with(&namespaces))
        })
    }
}

/// One AKS cluster's cloud facts.
#[derive(Debug, Clone, Default)]
pub struct AksFacts {
    /// The cluster's name in the fleet.
    pub cluster: String,
    /// ARM ID (lower case).
    pub id: String,
    /// Subscription ID.
    pub subscription: String,
    /// Entra integration (`aadProfile`).
    pub entra: bool,
    /// Azure RBAC for Kubernetes authorization.
    pub azure_rbac: bool,
    /// Entra groups made cluster-admin.
    pub admin_groups: Vec<String>,
    /// Where they are in kspm's document of the cluster: (document name, JSON pointer of the
    /// list as the document spells it, the whole list), for the fix that takes one out.
    pub admin_groups_at: Option<(String, String, Vec<Value>)>,
    /// Resource group and name of the cluster (from its ARM ID).
    pub resource_group: String,
    /// The cluster's name in Azure.
    pub name: String,
    /// Local accounts enabled (a static admin kubeconfig exists).
    pub local_accounts: bool,
    /// OIDC issuer URL.
    pub issuer: Option<String>,
    /// Kubelet identity ARM ID (lower case).
    pub kubelet_identity: Option<String>,
    /// ServiceAccounts: (namespace, name, `azure.workload.identity/client-id`).
    pub service_accounts: Vec<(String, String, Option<String>)>,
}

/// Why a principal may fetch an admin kubeconfig: `listClusterAdminCredential` (or a role whose
/// actions include it) while local accounts are on.
pub const ADMIN_CREDENTIAL: &str =
    "listClusterAdminCredential returns a static admin kubeconfig (local accounts are on)";

/// Why a principal may fetch an admin kubeconfig: `listClusterUserCredential` on a cluster
/// without Entra integration.
pub const USER_CREDENTIAL: &str =
    "on a cluster without Entra integration the user credential is an admin certificate";

impl AksFacts {
    /// Why a role holding `credentials`, assigned on the whole cluster or a scope above it, lets
    /// its principal fetch a kubeconfig that is cluster-admin by itself ([`ADMIN_CREDENTIAL`],
    /// [`USER_CREDENTIAL`]); `None` when it does not. On an Entra-integrated cluster the user
    /// credential is a kubeconfig without a secret (the API server's address and CA and an exec
    /// plug-in): holding it grants nothing.
    pub fn admin_kubeconfig(&self, credentials: CredentialActions) -> Option<&'static str> {
        if credentials.admin && self.local_accounts {
            Some(ADMIN_CREDENTIAL)
        } else if credentials.user && !self.entra {
            Some(USER_CREDENTIAL)
        } else {
            None
        }
    }
}

/// The ServiceAccount annotation Azure Workload Identity reads: the managed identity's client id.
pub const CLIENT_ID_ANNOTATION: &str = "azure.workload.identity/client-id";

/// The cloud facts of an AKS cluster (`az aks show` / the ARM GET).
pub fn facts(inv: &Inventory<'_>) -> Option<AksFacts> {
    let object = inv.of_kind(AKS_CLUSTER).first().copied()?;
    let doc = spec(object);
    let p = arm_get(doc, "properties").unwrap_or(doc);
    let id = text(doc, "id").to_lowercase();
    let aad = arm_get(p, "aadProfile").filter(|a| a.is_object());
    let mut f = AksFacts {
        cluster: inv.cluster.info.name.clone(),
        subscription: id.split('/').nth(2).unwrap_or("").to_string(),
        id,
        entra: aad.is_some(),
        azure_rbac: aad
            .and_then(|a| arm_get(a, "enableAzureRBAC"))
            .and_then(Value::as_bool)
            == Some(true),
        admin_groups: aad
            .and_then(|a| arm_get(a, "adminGroupObjectIDs"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str().map(str::to_string))
            .collect(),
        local_accounts: arm_get(p, "disableLocalAccounts").and_then(Value::as_bool) != Some(true),
        issuer: arm_pointer(p, "/oidcIssuerProfile/issuerURL")
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty())
            .map(str::to_string),
        kubelet_identity: arm_pointer(p, "/identityProfile/kubeletidentity/resourceId")
            .and_then(Value::as_str)
            .map(str::to_lowercase),
        ..Default::default()
    };
    f.service_accounts = super::service_accounts(inv, CLIENT_ID_ANNOTATION);
    let raw_id = text(doc, "id");
    let segment = crate::cloud::documents::arm_id_segment;
    f.resource_group = segment(&raw_id, "resourceGroups").to_string();
    f.name = match segment(&raw_id, "managedClusters") {
        "" => text(doc, "name"),
        n => n.to_string(),
    };
    let under = if arm_get(doc, "properties").is_some() {
        "/properties/aadProfile/adminGroupObjectIDs"
    } else {
        "/aadProfile/adminGroupObjectIDs"
    };
    f.admin_groups_at = crate::cloud::documents::arm_spelled(doc, under).and_then(|pointer| {
        let list = arm_pointer(doc, under)?.as_array()?.clone();
        Some((object.name.clone(), format!("/spec{pointer}"), list))
    });
    Some(f)
}
