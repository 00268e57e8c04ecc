//! GCP ↔ GKE bridges (ATTACK-TECHNIQUES.md §4): Workload Identity (the GSA's
//! `roles/iam.workloadIdentityUser` binding for the pool's `[ns/ksa]` member decides), direct
//! Workload Identity Federation principals, GKE's IAM authorizer (project `container.*`
//! permissions are Kubernetes rights RBAC cannot reduce), node service accounts reached through
//! the metadata server, `system:authenticated` meaning any Google account, and project admin.
//! The Workload Identity pool is shared by every cluster of the project: the edge leaves each
//! cluster's ServiceAccount of that namespace and name.

use super::cloud::{pool_nodes, workload_pools, CloudNotes};
use super::remedy::Remedy;
use super::{AttackGraph, NodeIndex, NodeKind, Technique as T};
use crate::cloud::gcp::{is_admin_role, GcpIam, GkeFacts, PolicyHolder};
use crate::inventory::Inventory;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// The graph node of an IAM member, if it is a principal kspm models.
fn member_node(g: &mut AttackGraph, member: &str) -> Option<NodeIndex> {
    if member == "allUsers" || member == "allAuthenticatedUsers" {
        return Some(g.node(None, "Internet", NodeKind::Internet));
    }
    let (kind, id) = member.split_once(':')?;
    let reference = member_refs("", None, kind, id).into_iter().next()?;
    Some(g.node(None, &reference, NodeKind::CloudPrincipal))
}

/// The project's Compute Engine default service account (`<number>-compute@developer...`), as
/// node pools running as `default` use it: the one such account its own policy names. The
/// project number is not in the exports, so with two (another project's granted here) it is
/// left undecided rather than guessed.
fn default_compute(iam: &GcpIam, project: &str) -> Option<String> {
    let found: std::collections::BTreeSet<&str> = iam
        .project(project)
        .iter()
        .flat_map(|b| b.members.iter())
        .filter_map(|m| m.strip_prefix("serviceAccount:"))
        .filter(|id| id.ends_with("-compute@developer.gserviceaccount.com"))
        .collect();
    (found.len() == 1).then(|| found.into_iter().next().unwrap_or_default().to_string())
}

/// The node references of a member: the project's default compute service account also stands
/// for node pools running as `default`.
fn member_refs(project: &str, default_compute: Option<&str>, kind: &str, id: &str) -> Vec<String> {
    let mut out = match kind {
        "user" => vec![format!("GcpUser:{id}")],
        "serviceAccount" if !id.contains('[') => vec![format!("GcpServiceAccount:{id}")],
        "group" => vec![format!("GcpGroup:{id}")],
        "domain" => vec![format!("GcpDomain:{id}")],
        _ => Vec::new(),
    };
    if kind == "serviceAccount" && Some(id) == default_compute {
        out.push(format!("GcpServiceAccount:default-compute@{project}"));
    }
    out
}

/// A member standing for Kubernetes ServiceAccounts, in any form: (pool, namespace, name, or
/// `None` for every ServiceAccount of the namespace).
fn ksa_member(member: &str) -> Option<(&str, &str, Option<&str>)> {
    wi_member(member)
        .map(|(p, n, k)| (p, n, Some(k)))
        .or_else(|| wif_member(member))
}

/// `serviceAccount:<pool>[ns/ksa]` → (pool, ns, ksa).
fn wi_member(member: &str) -> Option<(&str, &str, &str)> {
    let rest = member.strip_prefix("serviceAccount:")?;
    let (pool, ksa) = rest.split_once('[')?;
    let (ns, name) = ksa.strip_suffix(']')?.split_once('/')?;
    Some((pool, ns, name))
}

/// `principal://…/workloadIdentityPools/<pool>/subject/ns/<ns>/sa/<ksa>` → (pool, ns, Some(ksa));
/// `principalSet://…/<pool>/namespace/<ns>` → (pool, ns, None).
fn wif_member(member: &str) -> Option<(&str, &str, Option<&str>)> {
    let rest = member
        .strip_prefix("principal://")
        .or_else(|| member.strip_prefix("principalSet://"))?;
    let after = rest.split("/workloadIdentityPools/").nth(1)?;
    let (pool, tail) = after.split_once('/')?;
    if let Some(s) = tail.strip_prefix("subject/ns/") {
        let (ns, sa) = s.split_once("/sa/")?;
        return Some((pool, ns, Some(sa)));
    }
    let ns = tail.strip_prefix("namespace/")?;
    Some((pool, ns, None))
}

/// Per cluster: NODE_CLOUD_IDENTITY and POD_IMDS_PIVOT for node pools whose metadata server
/// hands pods the node's service account.
pub(super) fn node_service_accounts(
    g: &mut AttackGraph,
    cluster: &str,
    inv: &Inventory<'_>,
    on: &super::cloud::Draw<'_>,
) {
    let (placement, policies) = (on.placement, on.policies);
    let Some(f) = crate::cloud::gcp::facts(inv) else {
        return;
    };
    if f.node_pools.is_empty() {
        return;
    }
    let wi = f.workload_pool.is_some();
    let gsa = |sa: &str| {
        if sa == "default" {
            format!("GcpServiceAccount:default-compute@{}", f.project)
        } else {
            format!("GcpServiceAccount:{sa}")
        }
    };
    const LABEL: &str = super::build::GKE_NODEPOOL_LABEL;
    let names: Vec<&str> = f.node_pools.iter().map(|x| x.name.as_str()).collect();
    let pool_of = pool_nodes(inv, LABEL, &names);
    let lookup: HashMap<&str, usize> = pool_of.iter().copied().collect();
    for (node_name, i) in pool_of.iter().filter(|_| on.nodes) {
        let pool = &f.node_pools[*i];
        // A scope-limited token cannot use the service account's roles: no edge to it.
        if !pool.token_can_escalate() {
            continue;
        }
        let node = g.node(Some(cluster), &format!("Node:{node_name}"), NodeKind::Node);
        let sa = g.node(None, &gsa(&pool.service_account), NodeKind::CloudPrincipal);
        g.edge(
            node,
            sa,
            T::NODE_CLOUD_IDENTITY,
            format!(
                "node pool {} runs as service account {} (scopes: {})",
                pool.name,
                pool.service_account,
                pool.scopes.join(", ")
            ),
        );
    }
    for t in inv.pod_templates() {
        let wref = t.owner.node_ref();
        let host_network = t.spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
        let (pools, placed) = workload_pools(&t, placement, &lookup, &names, LABEL);
        let Some(egress) = super::cloud::metadata_egress(
            policies(),
            &t,
            host_network,
            crate::netpol::GCP_METADATA,
        ) else {
            continue;
        };
        for i in pools {
            let p = &f.node_pools[i];
            if !p.token_can_escalate() {
                continue;
            }
            // hostNetwork pods bypass the GKE metadata server.
            let why = if p.exposes_node_identity(wi) {
                format!("node pool {} serves the node's service account to pods (workloadMetadataConfig {:?})", p.name, p.metadata_mode)
            } else if host_network {
                format!(
                    "hostNetwork pod on node pool {}: it bypasses the GKE metadata server",
                    p.name
                )
            } else {
                continue;
            };
            let w = g.node(Some(cluster), &wref, NodeKind::Workload);
            let sa = g.node(None, &gsa(&p.service_account), NodeKind::CloudPrincipal);
            g.edge(
                w,
                sa,
                T::POD_IMDS_PIVOT,
                format!(
                    "{} {why}; token scopes: {}{egress}",
                    if placed {
                        "runs on it:"
                    } else {
                        "may be scheduled there:"
                    },
                    if p.scopes.is_empty() {
                        "none listed".to_string()
                    } else {
                        p.scopes.join(", ")
                    }
                ),
            );
        }
    }
}

impl AttackGraph {
    /// Adds the GCP bridges of every GKE cluster; returns what could not be assessed.
    pub fn add_gcp_bridges(&mut self, clusters: &[GkeFacts], iam: &GcpIam) -> CloudNotes {
        let mut notes = Vec::new();
        // The Google service accounts known to exist: by their policies, and by annotations
        // (a project's or folder's grant holds on them whether or not their policy was read).
        let accounts: BTreeSet<String> = iam
            .policies
            .keys()
            .filter(|r| matches!(PolicyHolder::of(r), PolicyHolder::ServiceAccount { .. }))
            .cloned()
            .chain(
                clusters
                    .iter()
                    .flat_map(|f| f.service_accounts.iter())
                    .filter_map(|(_, _, gsa)| {
                        let email = gsa.as_deref()?;
                        let project = email
                            .split_once('@')?
                            .1
                            .strip_suffix(".iam.gserviceaccount.com")?;
                        (!email.contains('/') && !project.is_empty())
                            .then(|| format!("projects/{project}/serviceAccounts/{email}"))
                    }),
            )
            .collect();
        for f in clusters {
            if f.google_groups {
                self.google_groups(f);
            }
            if !f.project.is_empty() {
                notes.extend(
                    iam.hierarchy_gaps(&f.project)
                        .into_iter()
                        .map(|n| (f.cluster.clone(), n)),
                );
            }
            self.gke_iam_authorizer(f, iam, &mut notes);
            self.workload_identity_gcp(f, iam, &accounts);
            if f.authenticated_is_public {
                if let Some(group) = self.find(Some(&f.cluster), "Group:system:authenticated") {
                    let internet = self.node(None, "Internet", NodeKind::Internet);
                    self.mark_entry(internet);
                    self.edge(internet, group, T::GKE_AUTHENTICATED_PUBLIC,
                        "on GKE any Google account authenticates as a member of system:authenticated (rbacBindingConfig does not forbid binding it)");
                }
            }
        }
        self.gcp_admins(iam, clusters);
        notes
    }

    /// GKE_GROUPS_RBAC: with Google Groups for RBAC, a group RBAC names by e-mail holds its
    /// members (not expanded: membership needs Cloud Identity; the group is the entry point).
    fn google_groups(&mut self, f: &GkeFacts) {
        let groups: Vec<(NodeIndex, String)> = self
            .graph
            .node_indices()
            .filter(|i| self.graph[*i].cluster.as_deref() == Some(f.cluster.as_str()))
            .filter_map(|i| {
                let name = self.graph[i].reference.strip_prefix("Group:")?;
                name.contains('@').then(|| (i, name.to_string()))
            })
            .collect();
        for (k8s, email) in groups {
            let g = self.node(None, &format!("GcpGroup:{email}"), NodeKind::CloudPrincipal);
            self.mark_entry(g);
            self.edge(g, k8s, T::GKE_GROUPS_RBAC, format!(
                "Google Groups for RBAC is on: members of {email} (nested in the cluster's security group) authenticate with it as a Kubernetes group"));
        }
    }

    fn ksa_nodes(&mut self, f: &GkeFacts, ns: &str, name: Option<&str>) -> Vec<NodeIndex> {
        match name {
            Some(n) if f.service_accounts.iter().any(|(a, b, _)| a == ns && b == n) => {
                vec![self.node(
                    Some(&f.cluster),
                    &format!("ServiceAccount:{ns}/{n}"),
                    NodeKind::ServiceAccount,
                )]
            }
            Some(_) => Vec::new(),
            None => self
                .find(Some(&f.cluster), &format!("ServiceAccounts:{ns}"))
                .into_iter()
                .collect(),
        }
    }

    /// GKE_IAM_TO_K8S: project bindings whose roles carry `container.*` permissions.
    fn gke_iam_authorizer(&mut self, f: &GkeFacts, iam: &GcpIam, notes: &mut CloudNotes) {
        let cluster = f.cluster.clone();
        let compute = default_compute(iam, &f.project);
        let own = format!("projects/{}", f.project);
        // Roles of inherited bindings that are not in the export, by where they are bound (one
        // note each: an organization's policy often names many roles kspm does not know).
        let mut unknown: std::collections::BTreeMap<String, BTreeSet<&str>> = Default::default();
        for (resource, b) in iam.effective(&f.project) {
            // Where the binding is set: the project, or a folder or organization above it.
            let grantor = if resource == own {
                format!("project {}", f.project)
            } else {
                format!(
                    "{} (above project {})",
                    PolicyHolder::of(resource).describe(),
                    f.project
                )
            };
            let has = |p: &str| iam.role_has(&b.role, p);
            if has("container.pods.get").is_none() {
                if resource == own {
                    notes.push((cluster.clone(), format!(
                        "project role {} is not in the export (gcloud iam roles describe): what it grants in the cluster is not assessed", b.role)));
                } else {
                    unknown.entry(grantor).or_default().insert(&b.role);
                }
                continue;
            }
            let cond = b
                .condition
                .as_ref()
                .map(|c| format!(" (conditional: {c})"))
                .unwrap_or_default();
            let mut targets: Vec<(String, NodeKind, &str)> = Vec::new();
            let yes = |p: &str| has(p) == Some(true);
            if is_admin_role(&b.role)
                || (yes("container.clusterRoleBindings.create")
                    && (yes("container.clusterRoles.bind")
                        || yes("container.clusterRoles.escalate")))
            {
                targets.push((
                    "ClusterAdmin".into(),
                    NodeKind::ClusterAdmin,
                    "full Kubernetes API access",
                ));
            } else {
                if yes("container.secrets.get") || yes("container.secrets.list") {
                    targets.push((
                        "AllSecrets".into(),
                        NodeKind::AllSecrets,
                        "read every Secret (container.secrets.*)",
                    ));
                }
                if yes("container.pods.exec") {
                    targets.push((
                        "Pods:*".into(),
                        NodeKind::Hub,
                        "exec into any pod (container.pods.exec)",
                    ));
                }
                if yes("container.pods.create") || yes("container.serviceAccounts.createToken") {
                    targets.push((
                        "ServiceAccounts:*".into(),
                        NodeKind::Hub,
                        "run pods as, or mint tokens for, any ServiceAccount",
                    ));
                }
            }
            if targets.is_empty() {
                continue;
            }
            for m in &b.members {
                let sources: Vec<NodeIndex> = if let Some((pool, ns, ksa)) = ksa_member(m) {
                    if f.workload_pool.as_deref() != Some(pool) {
                        continue;
                    }
                    self.ksa_nodes(f, ns, ksa)
                } else {
                    let Some(i) = member_node(self, m) else {
                        continue;
                    };
                    if self.graph[i].kind == NodeKind::CloudPrincipal {
                        self.mark_entry(i);
                    }
                    let mut nodes = vec![i];
                    if let Some((kind, id)) = m.split_once(':') {
                        // The default compute service account, as node pools name it.
                        nodes.extend(
                            member_refs(&f.project, compute.as_deref(), kind, id)
                                .iter()
                                .skip(1)
                                .filter_map(|r| self.find(None, r)),
                        );
                    }
                    nodes
                };
                let fix = Remedy::remove_iam_member(resource, b, m);
                for src in sources {
                    for (r, kind, what) in &targets {
                        let t = self.node(Some(&cluster), r, *kind);
                        self.edge_fixed(src, t, T::GKE_IAM_TO_K8S, format!(
                            "{grantor} grants {m} {} — GKE's IAM authorizer allows it beside RBAC: {what}{cond}", b.role),
                            vec![fix.clone()]);
                    }
                }
            }
        }
        for (grantor, roles) in unknown {
            let roles: Vec<&str> = roles.into_iter().collect();
            notes.push((cluster.clone(), format!(
                "roles {} of {grantor} are not in the export (gcloud iam roles describe): what they grant in the cluster is not assessed",
                roles.join(", "))));
        }
    }

    /// GKE_WI_ASSUME: the GSA's policy — its own or one it inherits from its project, folders
    /// or organization — lets the pool's `[ns/ksa]` act as it. The GSAs: those whose policies
    /// were read, and those a ServiceAccount's annotation names (`accounts`).
    fn workload_identity_gcp(&mut self, f: &GkeFacts, iam: &GcpIam, accounts: &BTreeSet<String>) {
        let Some(pool) = f.workload_pool.clone() else {
            return;
        };
        for account in accounts {
            let PolicyHolder::ServiceAccount { email, .. } = PolicyHolder::of(account) else {
                continue;
            };
            // Either role lets the KSA's federated token become the GSA's access token, bound
            // on the account or inherited from its project, folders or organization.
            for (resource, b) in iam
                .effective_for_account(account)
                .into_iter()
                .filter(|(_, b)| {
                    b.role == "roles/iam.workloadIdentityUser"
                        || b.role == "roles/iam.serviceAccountTokenCreator"
                })
            {
                let grantor = if resource == account {
                    email.to_string()
                } else {
                    format!(
                        "{} (inherited by {email})",
                        PolicyHolder::of(resource).describe()
                    )
                };
                for m in &b.members {
                    // `serviceAccount:<pool>[ns/ksa]`, or the direct-federation principal forms.
                    let Some((p, ns, ksa)) = ksa_member(m) else {
                        continue;
                    };
                    if p != pool {
                        continue;
                    }
                    let annotated = f.service_accounts.iter().any(|(a, n, ann)| {
                        a == ns && ksa.is_none_or(|k| n == k) && ann.as_deref() == Some(email)
                    });
                    let fix = Remedy::remove_iam_member(resource, b, m);
                    for sa in self.ksa_nodes(f, ns, ksa) {
                        self.keep_token_edges(sa);
                        let gsa = self.node(
                            None,
                            &format!("GcpServiceAccount:{email}"),
                            NodeKind::CloudPrincipal,
                        );
                        self.edge_fixed(sa, gsa, T::GKE_WI_ASSUME, format!(
                            "{grantor} grants {} to {m} (pool {pool} is shared by the project's clusters); {}",
                            b.role,
                            if annotated { "the ServiceAccount's iam.gke.io/gcp-service-account annotation selects it" }
                            else { "no annotation needed: the ServiceAccount's token can be exchanged for the service account's" }),
                            vec![fix.clone()]);
                    }
                }
            }
        }
    }

    /// CLOUD_ROLE_TO_ADMIN for every GCP principal in the graph with an admin role on a project.
    fn gcp_admins(&mut self, iam: &GcpIam, clusters: &[GkeFacts]) {
        for project in iam.projects() {
            let own = format!("projects/{project}");
            let compute = default_compute(iam, project);
            for (resource, b) in iam.effective(project) {
                // Owner or editor, or rewriting the IAM policy of the project or of a folder or
                // organization above it (which every project below inherits).
                let holder = PolicyHolder::of(resource);
                let admin = is_admin_role(&b.role)
                    || holder
                        .set_policy_permissions()
                        .iter()
                        .any(|p| iam.role_has(&b.role, p) == Some(true));
                if !admin {
                    continue;
                }
                let why = |m: &str| {
                    if resource == own {
                        format!("project {project} grants {m} {}", b.role)
                    } else {
                        format!(
                            "{} grants {m} {}, which project {project} inherits",
                            holder.describe(),
                            b.role
                        )
                    }
                };
                for m in &b.members {
                    // A KSA granted the role directly (Workload Identity member forms).
                    if let Some((p, ns, ksa)) = ksa_member(m) {
                        for f in clusters
                            .iter()
                            .filter(|f| f.workload_pool.as_deref() == Some(p))
                        {
                            for sa in self.ksa_nodes(f, ns, ksa) {
                                let sink = self.node(
                                    None,
                                    &format!("CloudAdmin:gcp:{project}"),
                                    NodeKind::CloudAdmin,
                                );
                                self.edge(sa, sink, T::CLOUD_ROLE_TO_ADMIN, why(m));
                            }
                        }
                        continue;
                    }
                    let Some((kind, id)) = m.split_once(':') else {
                        continue;
                    };
                    for reference in member_refs(project, compute.as_deref(), kind, id) {
                        if let Some(p) = self.find(None, &reference) {
                            let sink = self.node(
                                None,
                                &format!("CloudAdmin:gcp:{project}"),
                                NodeKind::CloudAdmin,
                            );
                            self.edge(p, sink, T::CLOUD_ROLE_TO_ADMIN, why(m));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_identity_members_parse() {
        assert_eq!(
            wi_member("serviceAccount:p1.svc.id.goog[shop/api]"),
            Some(("p1.svc.id.goog", "shop", "api"))
        );
        assert_eq!(
            wi_member("serviceAccount:a@p1.iam.gserviceaccount.com"),
            None
        );
        let p = "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p1.svc.id.goog/subject/ns/shop/sa/api";
        assert_eq!(wif_member(p), Some(("p1.svc.id.goog", "shop", Some("api"))));
        let s = "principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p1.svc.id.goog/namespace/shop";
        assert_eq!(wif_member(s), Some(("p1.svc.id.goog", "shop", None)));
    }
}
