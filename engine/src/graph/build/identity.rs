//! Identities: ServiceAccounts, users and groups, their implicit groups, and which of them are entry points (MEMBER_OF).

use super::*;

impl ClusterBuilder<'_, '_> {
    pub(super) fn identities(&mut self) {
        // Every identity: ServiceAccounts (objects, referenced, bound), users and groups bound.
        // A namespace part adds only the ServiceAccounts its pod templates name: bound and
        // existing identities are the cluster part's.
        let mut sas: BTreeSet<(String, String)> = self
            .inv
            .templates()
            .iter()
            .map(|t| {
                let (ns, name) = t.service_account();
                (ns.to_string(), name.to_string())
            })
            .collect();
        let mut users: BTreeSet<String> = BTreeSet::new();
        let mut groups: BTreeSet<String> = BTreeSet::new();
        if self.part != Part::Namespace {
            self.cluster_identities(&mut sas, &mut users, &mut groups);
        }
        let authenticated = self.n("Group:system:authenticated", NodeKind::Group);
        let identities_hub = self.n("Identities:*", NodeKind::Hub);
        let users_hub = self.n("Users:*", NodeKind::Hub);
        let groups_hub = self.n("Groups:*", NodeKind::Hub);
        for (ns, name) in &sas {
            let sa = self.n(
                &format!("ServiceAccount:{ns}/{name}"),
                NodeKind::ServiceAccount,
            );
            if !SYSTEM_NAMESPACES.contains(&ns.as_str()) {
                self.g.mark_entry(sa);
            }
            let hub = self.n(&format!("ServiceAccounts:{ns}"), NodeKind::Hub);
            self.g
                .edge(hub, sa, T::INCLUDES, "ServiceAccounts of the namespace");
            let all = self.n("Group:system:serviceaccounts", NodeKind::Group);
            self.g.edge(
                sa,
                all,
                T::MEMBER_OF,
                "every ServiceAccount token carries system:serviceaccounts",
            );
            let nsg = self.n(
                &format!("Group:system:serviceaccounts:{ns}"),
                NodeKind::Group,
            );
            self.g.edge(
                sa,
                nsg,
                T::MEMBER_OF,
                format!("ServiceAccount tokens of {ns} carry system:serviceaccounts:{ns}"),
            );
            self.g.edge(
                sa,
                authenticated,
                T::MEMBER_OF,
                "every authenticated identity is in system:authenticated",
            );
            let id = Identity::service_account(ns, name);
            self.rbac_edges(sa, &id, false);
        }
        // A user or group is an entry point when a binding the cluster owner manages names it.
        let owned_subjects: HashSet<String> = self
            .rbac
            .bindings
            .iter()
            .filter(|b| !b.managed)
            .flat_map(|b| b.subjects.iter().map(|s| s.node_ref()))
            .collect();
        for u in &users {
            let ui = self.n(&format!("User:{u}"), NodeKind::User);
            if owned_subjects.contains(&format!("User:{u}"))
                && !PLATFORM_PREFIXES.iter().any(|p| u.starts_with(p))
            {
                self.g.mark_entry(ui);
            }
            self.g.edge(users_hub, ui, T::INCLUDES, "any user name");
            self.g.edge(identities_hub, ui, T::INCLUDES, "any identity");
            if u != "system:anonymous" {
                self.g.edge(
                    ui,
                    authenticated,
                    T::MEMBER_OF,
                    "every authenticated identity is in system:authenticated",
                );
            } else {
                let unauth = self.n("Group:system:unauthenticated", NodeKind::Group);
                self.g.edge(
                    ui,
                    unauth,
                    T::MEMBER_OF,
                    "anonymous requests are in system:unauthenticated",
                );
            }
            let id = Identity {
                user: u.clone(),
                groups: Vec::new(),
            };
            self.rbac_edges(ui, &id, false);
        }
        for gname in &groups {
            let gi = self.n(&format!("Group:{gname}"), NodeKind::Group);
            let everyone = gname == "system:authenticated" || gname == "system:unauthenticated";
            if everyone
                || (owned_subjects.contains(&format!("Group:{gname}"))
                    && !PLATFORM_PREFIXES.iter().any(|p| gname.starts_with(p)))
            {
                self.g.mark_entry(gi);
            }
            self.g.edge(groups_hub, gi, T::INCLUDES, "any group name");
            if gname != SYSTEM_MASTERS {
                // CSR-minted certificates can carry any group but system:masters.
                self.g.edge(
                    identities_hub,
                    gi,
                    T::INCLUDES,
                    "any identity but system:masters",
                );
            }
            let id = Identity {
                user: String::new(),
                groups: vec![gname.clone()],
            };
            self.rbac_edges(gi, &id, gname == SYSTEM_MASTERS);
        }
    }

    /// The identities of the whole cluster: ServiceAccount objects and those bindings name,
    /// users and groups bindings name, node users, and the groups EKS maps IAM principals into.
    pub(super) fn cluster_identities(
        &self,
        sas: &mut BTreeSet<(String, String)>,
        users: &mut BTreeSet<String>,
        groups: &mut BTreeSet<String>,
    ) {
        sas.extend(self.inv.of_kind("ServiceAccount").iter().map(|sa| {
            (
                sa.effective_namespace().unwrap_or("default").to_string(),
                sa.name.clone(),
            )
        }));
        groups.extend(
            [
                "system:authenticated",
                "system:unauthenticated",
                "system:serviceaccounts",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        for b in &self.rbac.bindings {
            for s in &b.subjects {
                match s {
                    Subject::User { name } => {
                        users.insert(name.clone());
                    }
                    Subject::Group { name } => {
                        groups.insert(name.clone());
                    }
                    Subject::ServiceAccount { namespace, name } => {
                        sas.insert((namespace.clone(), name.clone()));
                    }
                }
            }
        }
        for node in self.inv.of_kind("Node") {
            users.insert(format!("system:node:{}", node.name));
        }
        // Groups EKS maps IAM principals into (aws-auth, access entries): system:masters needs
        // its node even when no binding names it.
        if self.facts.aws_auth_live {
            groups.insert(SYSTEM_MASTERS.to_string());
        }
        if let Some(cm) = crate::cloud::eks::aws_auth_configmap(self.inv) {
            let parsed = crate::cloud::aws_auth::AwsAuth::from_configmap(cm);
            groups.extend(
                parsed
                    .mappings
                    .iter()
                    .flat_map(|m| m.groups.iter().cloned()),
            );
        }
        groups.extend(
            crate::cloud::eks::access_entries(self.inv)
                .0
                .iter()
                .flat_map(|e| e.groups.iter().cloned()),
        );
    }
}
