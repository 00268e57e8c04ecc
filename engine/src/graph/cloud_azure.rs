//! Azure ↔ AKS bridges (ATTACK-TECHNIQUES.md §4): workload identity (a federated credential
//! whose issuer is the cluster's and whose subject is the ServiceAccount decides), Azure RBAC for
//! Kubernetes, admin groups, local accounts and credential-listing roles, control-plane write
//! (Owner/Contributor can make themselves cluster-admin), the kubelet identity every pod reaches
//! through IMDS, and subscription admin.

use super::cloud::CloudNotes;
use super::remedy::Remedy;
use super::{AttackGraph, NodeIndex, NodeKind, Technique as T};
use crate::cloud::azure::{AksFacts, Assignment, AzureRbac, RoleEffect};
use crate::inventory::Inventory;
use serde_json::Value;

fn identity_ref(id: &str) -> String {
    format!("AzureIdentity:{id}")
}

/// The graph reference of an assignment's principal: a managed identity kspm knows, else the
/// principal by type and object ID; and whether it is an identity.
fn principal_ref(rbac: &AzureRbac, a: &Assignment) -> (String, bool) {
    if let Some(i) = rbac
        .identities
        .values()
        .find(|i| !i.principal_id.is_empty() && i.principal_id == a.principal_id)
    {
        return (identity_ref(&i.id), true);
    }
    let kind = match a.principal_type.as_str() {
        "Group" => "AzureGroup",
        "User" => "AzureUser",
        _ => "AzureServicePrincipal",
    };
    (format!("{kind}:{}", a.principal_id), false)
}

/// The graph node of an assignment's principal (people and applications are entry points).
fn principal(g: &mut AttackGraph, rbac: &AzureRbac, a: &Assignment) -> NodeIndex {
    let (reference, identity) = principal_ref(rbac, a);
    let i = g.node(None, &reference, NodeKind::CloudPrincipal);
    if !identity {
        g.mark_entry(i);
    }
    i
}

/// Per cluster: the kubelet identity, reachable from every pod through IMDS (AKS has no hop
/// limit), and from every node.
pub(super) fn kubelet_identity(
    g: &mut AttackGraph,
    cluster: &str,
    inv: &Inventory<'_>,
    on: &super::cloud::Draw<'_>,
) {
    let policies = on.policies;
    let Some(f) = crate::cloud::azure::facts(inv) else {
        return;
    };
    let Some(kubelet) = f.kubelet_identity else {
        return;
    };
    let target = g.node(None, &identity_ref(&kubelet), NodeKind::CloudPrincipal);
    for n in inv.of_kind("Node").iter().filter(|_| on.nodes) {
        let node = g.node(Some(cluster), &format!("Node:{}", n.name), NodeKind::Node);
        g.edge(
            node,
            target,
            T::NODE_CLOUD_IDENTITY,
            format!("the kubelet runs as managed identity {kubelet}"),
        );
    }
    for t in inv.pod_templates() {
        let host_network = t.spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
        let Some(egress) = super::cloud::metadata_egress(
            policies(),
            &t,
            host_network,
            crate::netpol::AZURE_METADATA,
        ) else {
            continue;
        };
        let w = g.node(Some(cluster), &t.owner.node_ref(), NodeKind::Workload);
        g.edge(w, target, T::POD_IMDS_PIVOT, format!(
            "any pod can ask 169.254.169.254/metadata/identity/oauth2/token for the kubelet identity {kubelet} (no hop limit on AKS; only egress policy blocks it){egress}"));
    }
}

impl AttackGraph {
    /// Adds the Azure bridges of every AKS cluster; returns what could not be assessed.
    pub fn add_azure_bridges(&mut self, clusters: &[AksFacts], rbac: &AzureRbac) -> CloudNotes {
        let mut notes = Vec::new();
        for f in clusters {
            self.aks_workload_identity(f, rbac, &mut notes);
            self.aks_access(f, rbac);
        }
        self.azure_admins(rbac);
        notes
    }

    /// AKS_WI_ASSUME.
    fn aks_workload_identity(&mut self, f: &AksFacts, rbac: &AzureRbac, notes: &mut CloudNotes) {
        let Some(issuer) = &f.issuer else {
            return;
        };
        let norm = |s: &str| s.trim_end_matches('/').to_string();
        for id in rbac.identities.values() {
            for fic in &id.federated {
                let (fic_issuer, subject) = (&fic.issuer, &fic.subject);
                // Entra compares issuers exactly: a missing or extra trailing slash breaks it.
                if fic_issuer != issuer {
                    if norm(fic_issuer) == norm(issuer) {
                        notes.push((f.cluster.clone(), format!(
                            "federated credential of {} names issuer {fic_issuer}, which differs from the cluster's {issuer} only by a trailing slash: Entra compares them exactly, so the exchange fails (no edge)",
                            id.name)));
                    }
                    continue;
                }
                let Some(rest) = subject.strip_prefix("system:serviceaccount:") else {
                    continue;
                };
                let Some((ns, name)) = rest.split_once(':') else {
                    continue;
                };
                if !f
                    .service_accounts
                    .iter()
                    .any(|(a, b, _)| a == ns && b == name)
                {
                    continue;
                }
                let annotated = f.service_accounts.iter().any(|(a, b, c)| {
                    a == ns && b == name && c.as_deref() == Some(id.client_id.as_str())
                });
                let sa = self.node(
                    Some(&f.cluster),
                    &format!("ServiceAccount:{ns}/{name}"),
                    NodeKind::ServiceAccount,
                );
                let target = self.node(None, &identity_ref(&id.id), NodeKind::CloudPrincipal);
                self.keep_token_edges(sa);
                let owner = format!("azure:{}", f.subscription);
                let fix = Remedy::delete_federated_credential(&owner, &id.name, fic);
                self.edge_fixed(sa, target, T::AKS_WI_ASSUME, format!(
                    "federated credential of {} trusts issuer {issuer} for subject {subject}; {}",
                    id.name,
                    if annotated { "the ServiceAccount's azure.workload.identity/client-id annotation selects it" }
                    else { "no annotation needed: the ServiceAccount's token can be exchanged directly" }),
                    vec![fix]);
            }
        }
    }

    /// AKS_ENTRA_TO_K8S: Azure RBAC for Kubernetes, credential-listing roles with local
    /// accounts, control-plane write, admin groups.
    fn aks_access(&mut self, f: &AksFacts, rbac: &AzureRbac) {
        let cluster = f.cluster.clone();
        let admin = self.node(Some(&cluster), "ClusterAdmin", NodeKind::ClusterAdmin);
        let assignments: Vec<Assignment> = rbac.covering(&f.id).cloned().collect();
        let ns_prefix = format!("{}/namespaces/", f.id);
        let why = |a: &Assignment, what: &str| {
            let cond = a
                .condition
                .as_ref()
                .map(|c| format!(" (conditional: {c})"))
                .unwrap_or_default();
            format!(
                "{} {} at {}: {what}{cond}",
                a.principal_type, a.role, a.scope
            )
        };
        // Credentials the cloud hands out come first: an edge a principal has several ways keeps
        // its first evidence, and "it may fetch an admin kubeconfig" is the one KSPM-A-012 and a
        // reader need to see.
        for a in &assignments {
            if a.scope.starts_with(&ns_prefix) {
                continue;
            }
            if let Some(credential) = f.admin_kubeconfig(a.credentials) {
                let p = principal(self, rbac, a);
                let fix = Remedy::delete_role_assignment(&format!("azure:{}", f.subscription), a);
                self.edge_fixed(p, admin, T::AKS_ENTRA_TO_K8S, why(a, credential), vec![fix]);
            }
        }
        for g in &f.admin_groups {
            let gi = self.node(None, &format!("AzureGroup:{g}"), NodeKind::CloudPrincipal);
            self.mark_entry(gi);
            let fix = Remedy::remove_admin_group(&cluster, f, g);
            self.edge_fixed(gi, admin, T::AKS_ENTRA_TO_K8S, format!(
                "Entra group {g} is in aadProfile.adminGroupObjectIDs: AKS binds it to cluster-admin"),
                fix.into_iter().collect());
        }
        for a in &assignments {
            let namespace = a.scope.strip_prefix(&ns_prefix).map(str::to_string);
            let why = |what: &str| why(a, what);
            let mut targets: Vec<(String, NodeKind, String)> = Vec::new();
            // Each thing the role means, its ARM effect first: the targets of both.
            for effect in &a.effects {
                match (*effect, &namespace) {
                    (RoleEffect::ScopeAdmin | RoleEffect::ClusterWrite, None) => {
                        let how = match f.admin_kubeconfig(a.credentials) {
                        Some(credential) => credential,
                        // User Access Administrator: no action on the cluster, but any role.
                        None if *effect == RoleEffect::ScopeAdmin && a.credentials == Default::default() => {
                            "it can assign itself any role on the cluster (roleAssignments/write)"
                        }
                        None => "it can update the cluster (add its group to adminGroupObjectIDs, re-enable local accounts) or use runCommand",
                    };
                        targets.push(("ClusterAdmin".into(), NodeKind::ClusterAdmin, why(how)));
                    }
                    (RoleEffect::K8sClusterAdmin, None) if f.azure_rbac => targets.push((
                        "ClusterAdmin".into(),
                        NodeKind::ClusterAdmin,
                        why("Azure RBAC for Kubernetes grants managedClusters/* data actions"),
                    )),
                    (
                        RoleEffect::K8sClusterAdmin | RoleEffect::K8sAdmin | RoleEffect::K8sWriter,
                        Some(ns),
                    ) if f.azure_rbac => {
                        targets.push((
                            format!("ServiceAccounts:{ns}"),
                            NodeKind::Hub,
                            why("create pods and read Secrets in the namespace"),
                        ));
                        targets.push((
                            format!("Secrets:{ns}"),
                            NodeKind::Hub,
                            why("read Secrets in the namespace"),
                        ));
                    }
                    (RoleEffect::K8sAdmin | RoleEffect::K8sWriter, None) if f.azure_rbac => {
                        targets.push((
                            "ServiceAccounts:*".into(),
                            NodeKind::Hub,
                            why("create pods as any ServiceAccount"),
                        ));
                        targets.push((
                            "AllSecrets".into(),
                            NodeKind::AllSecrets,
                            why("read every Secret"),
                        ));
                    }
                    (RoleEffect::K8sSecretReader, None) if f.azure_rbac => {
                        targets.push((
                            "AllSecrets".into(),
                            NodeKind::AllSecrets,
                            why("read every Secret"),
                        ));
                    }
                    (RoleEffect::K8sSecretReader, Some(ns)) if f.azure_rbac => {
                        targets.push((
                            format!("Secrets:{ns}"),
                            NodeKind::Hub,
                            why("read Secrets in the namespace"),
                        ));
                    }
                    _ => {}
                }
            }
            if targets.is_empty() {
                continue;
            }
            let p = principal(self, rbac, a);
            let fix = Remedy::delete_role_assignment(&format!("azure:{}", f.subscription), a);
            for (r, kind, evidence) in targets {
                let t = self.node(Some(&cluster), &r, kind);
                self.edge_fixed(p, t, T::AKS_ENTRA_TO_K8S, evidence, vec![fix.clone()]);
            }
        }
    }

    /// CLOUD_ROLE_TO_ADMIN: Owner, Contributor or User Access Administrator on a subscription
    /// or above it (a management group or the root: admin of the subscriptions whose listings
    /// hold the assignment), for principals in the graph.
    fn azure_admins(&mut self, rbac: &AzureRbac) {
        for a in rbac
            .assignments
            .iter()
            .filter(|a| a.effects.contains(&RoleEffect::ScopeAdmin))
        {
            let Some(sub) = a.admin_of_subscription() else {
                continue;
            };
            if let Some(p) = self.find(None, &principal_ref(rbac, a).0) {
                let sink = self.node(
                    None,
                    &format!("CloudAdmin:azure:{sub}"),
                    NodeKind::CloudAdmin,
                );
                self.edge(
                    p,
                    sink,
                    T::CLOUD_ROLE_TO_ADMIN,
                    format!("{} on subscription {sub}", a.role),
                );
            }
        }
    }
}
