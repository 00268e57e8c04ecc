//! Identities: ServiceAccounts, users and groups, their implicit groups, and which of them are entry points (MEMBER_OF).

use super::*;

impl ClusterBuilder<'_, '_> {
    pub(super) fn identities(&mut self) {
        // Every identity: ServiceAccounts (objects, referenced, bound), users and groups bound.
        // A namespace part adds its namespace's ServiceAccounts (those its pod templates name,
        // its objects, those bindings name); the cluster part every other identity.
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
        match self.part {
            Part::Namespace => self.namespace_identities(&mut sas),
            Part::Cluster => {
                // (The namespace parts draw the ServiceAccounts of the cluster's namespaces.)
                let elsewhere = |ns: &str| !self.facts.namespaces.contains(ns);
                self.cluster_identities(&mut sas, &elsewhere, &mut users, &mut groups);
                sas.retain(|(ns, _)| elsewhere(ns));
            }
            Part::Whole => self.cluster_identities(&mut sas, &|_| true, &mut users, &mut groups),
        }
        let authenticated = self.n("Group:system:authenticated", NodeKind::Group);
        for hub in ["Identities:*", "Users:*", "Groups:*"] {
            self.n(hub, NodeKind::Hub);
        }
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
        if self.part != Part::Whole {
            // A namespace part has none; the cluster part's are built each on its own
            // ([`AttackGraph::identity_parts`]).
            return;
        }
        let owned = self.owned_subjects();
        for u in &users {
            self.user_identity(u, &owned);
        }
        for gname in &groups {
            self.group_identity(gname, &owned);
        }
    }

    /// The subjects a binding the cluster owner manages names: users and groups among them are
    /// entry points.
    fn owned_subjects(&self) -> HashSet<String> {
        self.rbac
            .bindings
            .iter()
            .filter(|b| !b.managed)
            .flat_map(|b| b.subjects.iter().map(|s| s.node_ref()))
            .collect()
    }

    /// A user: its membership, whether it is an entry point, and what its grants give.
    fn user_identity(&mut self, u: &str, owned: &HashSet<String>) {
        let authenticated = self.n("Group:system:authenticated", NodeKind::Group);
        let identities_hub = self.n("Identities:*", NodeKind::Hub);
        let users_hub = self.n("Users:*", NodeKind::Hub);
        let ui = self.n(&format!("User:{u}"), NodeKind::User);
        if owned.contains(&format!("User:{u}"))
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
        self.rbac_edges(ui, &user_identity(u), false);
    }

    /// A group: whether it is an entry point, who may claim it, and what its grants give.
    fn group_identity(&mut self, gname: &str, owned: &HashSet<String>) {
        let identities_hub = self.n("Identities:*", NodeKind::Hub);
        let groups_hub = self.n("Groups:*", NodeKind::Hub);
        let gi = self.n(&format!("Group:{gname}"), NodeKind::Group);
        let everyone = gname == "system:authenticated" || gname == "system:unauthenticated";
        if everyone
            || (owned.contains(&format!("Group:{gname}"))
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
        self.rbac_edges(gi, &group_identity(gname), gname == SYSTEM_MASTERS);
    }

    /// The users and groups of the cluster, each built on a graph of its own — those `rebuild`
    /// says (by node reference, with the identity RBAC sees); the others listed with `None`.
    pub(super) fn identity_parts(
        &mut self,
        rebuild: &dyn Fn(&str, &Identity) -> bool,
    ) -> BTreeMap<String, Option<AttackGraph>> {
        let (mut sas, mut users, mut groups) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        self.cluster_identities(&mut sas, &|_| false, &mut users, &mut groups);
        let owned = self.owned_subjects();
        let mut out = BTreeMap::new();
        let named = users
            .iter()
            .map(|u| (format!("User:{u}"), user_identity(u), u, true))
            .chain(
                groups
                    .iter()
                    .map(|g| (format!("Group:{g}"), group_identity(g), g, false)),
            );
        for (reference, who, name, user) in named {
            let graph = rebuild(&reference, &who).then(|| {
                let saved = std::mem::take(&mut *self.g);
                if user {
                    self.user_identity(name, &owned);
                } else {
                    self.group_identity(name, &owned);
                }
                std::mem::replace(&mut *self.g, saved)
            });
            out.insert(reference, graph);
        }
        out
    }

    /// The ServiceAccounts of a namespace part's namespace (its inventory holds that
    /// namespace's objects, and of the Namespaces its own): its objects and those bindings name.
    fn namespace_identities(&self, sas: &mut BTreeSet<(String, String)>) {
        let own: BTreeSet<&str> = self
            .inv
            .objects()
            .iter()
            .filter_map(|o| match o.effective_namespace() {
                Some(ns) => Some(ns),
                None => (o.kind == "Namespace").then_some(o.name.as_str()),
            })
            .collect();
        sas.extend(self.inv.of_kind("ServiceAccount").iter().map(|sa| {
            (
                sa.effective_namespace().unwrap_or("default").to_string(),
                sa.name.clone(),
            )
        }));
        for ns in own {
            sas.extend(
                self.facts
                    .bound
                    .service_accounts_of(ns)
                    .map(|name| (ns.to_string(), name.clone())),
            );
        }
    }

    /// The identities of the whole cluster: ServiceAccount objects and those bindings name (of
    /// the namespaces `sa_namespaces` wants), users and groups bindings name, node users, and
    /// the groups EKS maps IAM principals into.
    pub(super) fn cluster_identities(
        &self,
        sas: &mut BTreeSet<(String, String)>,
        sa_namespaces: &dyn Fn(&str) -> bool,
        users: &mut BTreeSet<String>,
        groups: &mut BTreeSet<String>,
    ) {
        sas.extend(self.inv.of_kind("ServiceAccount").iter().filter_map(|sa| {
            let ns = sa.effective_namespace().unwrap_or("default");
            sa_namespaces(ns).then(|| (ns.to_string(), sa.name.clone()))
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
                        if sa_namespaces(namespace) {
                            sas.insert((namespace.clone(), name.clone()));
                        }
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

/// The identity RBAC sees for a user a binding names (no groups: each group is its own node).
pub(super) fn user_identity(name: &str) -> Identity {
    Identity {
        user: name.to_string(),
        groups: Vec::new(),
    }
}

/// The identity RBAC sees for a group a binding names.
pub(super) fn group_identity(name: &str) -> Identity {
    Identity {
        user: String::new(),
        groups: vec![name.to_string()],
    }
}
