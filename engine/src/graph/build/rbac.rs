//! RBAC abuse: what an identity's grants let it do — run pods as other ServiceAccounts, read Secrets, bind or escalate roles, impersonate, mint certificates or tokens, reach the kubelet (section 3 of the catalogue).

use super::*;

impl ClusterBuilder<'_, '_> {
    /// Namespaces where a subject's RoleBindings grant something, plus the cluster-wide scope.
    pub(super) fn scopes(&self, bindings: &[usize]) -> Vec<Option<String>> {
        let mut out: Vec<Option<String>> = vec![None];
        let mut seen = BTreeSet::new();
        for i in bindings {
            if let Some(ns) = &self.rbac.bindings[*i].namespace {
                if seen.insert(ns.clone()) {
                    out.push(Some(ns.clone()));
                }
            }
        }
        out
    }

    pub(super) fn privileged_allowed(&self, ns: Option<&str>) -> bool {
        match ns {
            Some(n) => !self.facts.guarded(n),
            None => {
                self.facts.namespaces.is_empty()
                    || self.facts.namespaces.iter().any(|n| !self.facts.guarded(n))
            }
        }
    }

    pub(super) fn rbac_edges(&mut self, subject: NodeIndex, who: &Identity, masters: bool) {
        let admin = self.n("ClusterAdmin", NodeKind::ClusterAdmin);
        if masters {
            self.g.edge(
                subject,
                admin,
                T::ADMIN_EQUIVALENT,
                "members of system:masters are authorized before RBAC (privileged group)",
            );
            return;
        }
        let bindings = self.rbac.bindings_for(who);
        if bindings.is_empty() {
            return;
        }
        self.grants_edges(subject, &bindings);
        self.attach_revocations(subject, who, &bindings);
    }

    /// The edges `bindings` (those of `subject`'s identity, or some of them) give it.
    fn grants_edges(&mut self, subject: NodeIndex, bindings: &[usize]) {
        let admin = self.n("ClusterAdmin", NodeKind::ClusterAdmin);
        let bindings = bindings.to_vec();
        let rbac = self.rbac;
        let minor = rbac.minor_version;
        let grant = |verb: &str,
                     group: &str,
                     resource: &str,
                     ns: Option<&str>,
                     name: Option<&str>|
         -> Option<Grant<'_>> {
            rbac.grant_among(
                &bindings,
                &Request::resource(verb, group, resource, ns, name),
            )
        };
        let any_of = |reqs: &[(&str, &str, &str)], ns: Option<&str>, name: Option<&str>| {
            reqs.iter().find_map(|(v, g, r)| grant(v, g, r, ns, name))
        };
        // Cluster-wide full control.
        if let Some(g) = grant("*", "*", "*", None, None).filter(|g| g.binding.namespace.is_none())
        {
            self.g.edge(
                subject,
                admin,
                T::ADMIN_EQUIVALENT,
                format!(
                    "every verb on every resource cluster-wide via {}",
                    g.describe()
                ),
            );
            return;
        }
        // Editing aws-auth maps any IAM principal (one's own) to system:masters.
        if self.facts.aws_auth_live {
            if let Some(g) = ["update", "patch"]
                .iter()
                .find_map(|v| grant(v, "", "configmaps", Some("kube-system"), Some("aws-auth")))
            {
                let masters = self.n(&format!("Group:{SYSTEM_MASTERS}"), NodeKind::Group);
                self.g.edge(
                    subject,
                    masters,
                    T::UPDATE_AWS_AUTH,
                    format!(
                        "can edit ConfigMap kube-system/aws-auth, which the cluster's authentication mode reads, via {}",
                        g.describe()
                    ),
                );
            }
        }
        for scope in self.scopes(&bindings) {
            let ns_req = Some(scope.as_deref().unwrap_or(ANY_NAMESPACE));
            let label = scope.clone().unwrap_or_else(|| "*".to_string());
            let where_ = match &scope {
                Some(n) => format!("in namespace {n}"),
                None => "in every namespace".to_string(),
            };
            let sas_hub = self.n(&format!("ServiceAccounts:{label}"), NodeKind::Hub);
            let pods_hub = self.n(&format!("Pods:{label}"), NodeKind::Hub);
            let endpoints_hub = self.n(&format!("Endpoints:{label}"), NodeKind::Hub);
            let secrets_target = match &scope {
                Some(n) => self.n(&format!("Secrets:{n}"), NodeKind::Hub),
                None => self.n("AllSecrets", NodeKind::AllSecrets),
            };
            let any_node = self.n("Node:*", NodeKind::Node);
            let create_pods = any_of(sets::CREATE_WORKLOADS, ns_req, None);
            if let Some(g) = create_pods {
                self.g.edge(
                    subject,
                    sas_hub,
                    T::CREATE_POD_AS_SA,
                    format!("can create pods {where_} via {}", g.describe()),
                );
                let relabel = grant("patch", "", "namespaces", None, scope.as_deref())
                    .or_else(|| grant("update", "", "namespaces", None, scope.as_deref()));
                if self.privileged_allowed(scope.as_deref()) || relabel.is_some() {
                    let why = if relabel.is_some() {
                        "can relabel the namespace's Pod Security level"
                    } else {
                        "Pod Security does not forbid privileged pods there"
                    };
                    self.g.edge(
                        subject,
                        any_node,
                        T::CREATE_PRIVILEGED_POD,
                        format!("can create pods {where_} via {}; {why}", g.describe()),
                    );
                }
            }
            if let Some(g) = any_of(sets::UPDATE_WORKLOADS, ns_req, Some("any")) {
                self.g.edge(
                    subject,
                    sas_hub,
                    T::UPDATE_WORKLOAD_AS_SA,
                    format!(
                        "can update workload controllers {where_} via {}",
                        g.describe()
                    ),
                );
                // A controller's new pod template makes new pods: privileged ones where Pod
                // Security admits them.
                if self.privileged_allowed(scope.as_deref()) {
                    self.g.edge(
                        subject,
                        any_node,
                        T::UPDATE_WORKLOAD_AS_SA,
                        format!(
                            "can rewrite workload pod templates {where_} via {}; Pod Security does not forbid privileged pods there",
                            g.describe()
                        ),
                    );
                }
            }
            if let Some(g) = any_of(sets::PATCH_PODS, ns_req, Some("any")) {
                self.g.edge(
                    subject,
                    pods_hub,
                    T::PATCH_POD_IMAGE,
                    format!("can patch pods {where_} via {}", g.describe()),
                );
            }
            if let Some(g) = any_of(sets::exec(minor), ns_req, Some("any")) {
                self.g.edge(
                    subject,
                    pods_hub,
                    T::EXEC_INTO_POD,
                    format!("can exec/attach {where_} via {}", g.describe()),
                );
            }
            if let Some(g) = any_of(sets::EPHEMERAL_CONTAINERS, ns_req, Some("any")) {
                self.g.edge(
                    subject,
                    pods_hub,
                    T::EPHEMERAL_CONTAINER,
                    format!("can add ephemeral containers {where_} via {}", g.describe()),
                );
                if self.privileged_allowed(scope.as_deref()) {
                    self.g.edge(
                        subject,
                        any_node,
                        T::EPHEMERAL_CONTAINER,
                        format!(
                            "privileged ephemeral containers are allowed {where_}; via {}",
                            g.describe()
                        ),
                    );
                }
            }
            if let Some(g) = any_of(sets::port_forward(minor), ns_req, Some("any")) {
                self.g.edge(
                    subject,
                    endpoints_hub,
                    T::PORT_FORWARD,
                    format!(
                        "can port-forward to the pods' ports {where_} via {}",
                        g.describe()
                    ),
                );
            }
            // Secrets.
            let list = any_of(sets::LIST_SECRETS, ns_req, None);
            let get_any = grant("get", "", "secrets", ns_req, None);
            if let Some(g) = list.or(get_any) {
                self.g.edge(
                    subject,
                    secrets_target,
                    T::READ_SECRET,
                    format!("can read Secrets {where_} via {}", g.describe()),
                );
            }
            self.token_secret_edges(subject, &scope, &bindings, list.is_some());
            // TokenRequest.
            if let Some(g) = any_of(sets::MINT_TOKENS, ns_req, None) {
                self.g.edge(
                    subject,
                    sas_hub,
                    T::MINT_TOKEN_REQUEST,
                    format!(
                        "can create tokens for any ServiceAccount {where_} via {}",
                        g.describe()
                    ),
                );
            } else {
                self.named_token_requests(subject, &scope, &bindings);
            }
            if let Some(g) = grant("create", "", "secrets", ns_req, None) {
                if list.is_some() || get_any.is_some() || create_pods.is_some() {
                    self.g.edge(
                        subject,
                        sas_hub,
                        T::MINT_LEGACY_TOKEN_SECRET,
                        format!(
                            "can create Secrets {where_} via {} and read them back",
                            g.describe()
                        ),
                    );
                }
            }
            // Binding and escalation.
            if let Some(rb) = any_of(sets::WRITE_ROLEBINDINGS, ns_req, None) {
                // A RoleBinding whose roleRef is a ClusterRole needs `bind` on `clusterroles`
                // (by name): any of the ClusterRoles that own a namespace — cluster-admin,
                // admin or edit — gives its pods' ServiceAccounts and its Secrets.
                let cluster_role = ["cluster-admin", "admin", "edit"].iter().find_map(|r| {
                    grant(
                        "bind",
                        "rbac.authorization.k8s.io",
                        "clusterroles",
                        ns_req,
                        Some(r),
                    )
                    .map(|g| (format!("ClusterRole:{r}"), g, true, true, None))
                });
                // One whose roleRef is a Role needs `bind` on `roles`: only Roles that exist in
                // the namespace can be bound, and each gives what it grants — every such Role
                // counts (one may create pods, another read Secrets, in other namespaces).
                let roles: Vec<_> = rbac
                    .roles
                    .iter()
                    .filter(|r| {
                        r.kind == crate::rbac::RoleKind::Role
                            && scope
                                .as_deref()
                                .is_none_or(|n| r.namespace.as_deref() == Some(n))
                    })
                    .filter_map(|r| {
                        let ns = r.namespace.as_deref();
                        let allows = |reqs: &[(&str, &str, &str)]| {
                            reqs.iter().any(|(v, g, res)| {
                                let req = Request::resource(v, g, res, ns, None);
                                r.rules.iter().any(|rule| rule.allows(&req))
                            })
                        };
                        let pods = allows(sets::CREATE_WORKLOADS);
                        let secrets = allows(sets::READ_SECRETS);
                        if !(pods || secrets) {
                            return None;
                        }
                        grant(
                            "bind",
                            "rbac.authorization.k8s.io",
                            "roles",
                            ns,
                            Some(&r.name),
                        )
                        .map(|g| (r.node_ref(), g, pods, secrets, ns))
                    })
                    .collect();
                for (bound, b, pods, secrets, role_ns) in cluster_role.into_iter().chain(roles) {
                    let ev = format!(
                        "can create RoleBindings {where_} via {} and bind {bound} via {}",
                        rb.describe(),
                        b.describe()
                    );
                    // A Role gives its own namespace, whatever the scope of the bind grant.
                    let (sas, secret_hub, pod_ns) = match role_ns {
                        Some(n) => (
                            self.n(&format!("ServiceAccounts:{n}"), NodeKind::Hub),
                            self.n(&format!("Secrets:{n}"), NodeKind::Hub),
                            Some(n.to_string()),
                        ),
                        None => (sas_hub, secrets_target, scope.clone()),
                    };
                    if pods {
                        self.g.edge(subject, sas, T::BIND_ROLE, ev.clone());
                        if self.privileged_allowed(pod_ns.as_deref()) {
                            self.g.edge(
                                subject,
                                any_node,
                                T::BIND_ROLE,
                                format!("{ev}; it creates pods, and Pod Security does not forbid privileged pods there"),
                            );
                        }
                    }
                    if secrets {
                        self.g.edge(subject, secret_hub, T::BIND_ROLE, ev);
                    }
                }
            }
            if rbac.may_grant_in(
                &bindings,
                ns_req,
                "escalate",
                "rbac.authorization.k8s.io",
                "roles",
            ) || rbac.may_grant_in(
                &bindings,
                ns_req,
                "escalate",
                "rbac.authorization.k8s.io",
                "clusterroles",
            ) {
                // Escalating a role the subject is bound to — `escalate` and update or patch on
                // that role, by name or any — in that binding's scope.
                for i in &bindings {
                    let b = &rbac.bindings[*i];
                    if b.namespace.as_deref() != scope.as_deref() {
                        continue;
                    }
                    let Some(role_idx) = b.role else { continue };
                    let role = &rbac.roles[role_idx];
                    let (res, role_ns) = match role.kind {
                        crate::rbac::RoleKind::ClusterRole => ("clusterroles", None),
                        crate::rbac::RoleKind::Role => ("roles", role.namespace.as_deref()),
                    };
                    let upd = grant(
                        "update",
                        "rbac.authorization.k8s.io",
                        res,
                        role_ns.or(ns_req),
                        Some(&role.name),
                    )
                    .or_else(|| {
                        grant(
                            "patch",
                            "rbac.authorization.k8s.io",
                            res,
                            role_ns.or(ns_req),
                            Some(&role.name),
                        )
                    });
                    let esc = grant(
                        "escalate",
                        "rbac.authorization.k8s.io",
                        res,
                        role_ns.or(ns_req),
                        Some(&role.name),
                    );
                    if let (Some(g), Some(u)) = (esc, upd) {
                        let ev = format!(
                            "can escalate {} via {} and update it (bound through {}) via {}",
                            role.node_ref(),
                            g.describe(),
                            b.node_ref,
                            u.describe()
                        );
                        if scope.is_none() {
                            self.g.edge(subject, admin, T::ESCALATE_ROLE, ev);
                        } else {
                            self.g.edge(subject, sas_hub, T::ESCALATE_ROLE, ev.clone());
                            self.g
                                .edge(subject, secrets_target, T::ESCALATE_ROLE, ev.clone());
                            if self.privileged_allowed(scope.as_deref()) {
                                self.g.edge(
                                    subject,
                                    any_node,
                                    T::ESCALATE_ROLE,
                                    format!("{ev}; it can grant itself pod creation, and Pod Security does not forbid privileged pods there"),
                                );
                            }
                        }
                        break;
                    }
                }
            }
            // Impersonation (users and groups are cluster-scoped; ServiceAccounts are namespaced).
            if scope.is_none() {
                self.cluster_scoped_edges(subject, &bindings);
            }
            if let Some(g) = grant("impersonate", "", "serviceaccounts", ns_req, None) {
                self.g.edge(
                    subject,
                    sas_hub,
                    T::IMPERSONATE,
                    format!(
                        "can impersonate any ServiceAccount {where_} via {}",
                        g.describe()
                    ),
                );
            } else if rbac.may_grant_in(&bindings, ns_req, "impersonate", "", "serviceaccounts") {
                // ServiceAccounts named in resourceNames (impersonation is namespaced).
                let candidates = self.service_accounts_in(scope.as_deref());
                for (ns, name) in candidates {
                    let req_ns = if scope.is_some() {
                        ns.as_str()
                    } else {
                        ANY_NAMESPACE
                    };
                    if let Some(g) = grant(
                        "impersonate",
                        "",
                        "serviceaccounts",
                        Some(req_ns),
                        Some(&name),
                    ) {
                        let sai = self.n(
                            &format!("ServiceAccount:{ns}/{name}"),
                            NodeKind::ServiceAccount,
                        );
                        self.g.edge(
                            subject,
                            sai,
                            T::IMPERSONATE,
                            format!(
                                "can impersonate ServiceAccount {ns}/{name} via {}",
                                g.describe()
                            ),
                        );
                    }
                }
            }
            // Evict pods + taint nodes: pods reschedule onto a node the attacker holds.
            let evict = any_of(
                &[("delete", "", "pods"), ("create", "", "pods/eviction")],
                ns_req,
                Some("any"),
            );
            let taint = any_of(
                &[
                    ("patch", "", "nodes"),
                    ("update", "", "nodes"),
                    ("patch", "", "nodes/status"),
                    ("update", "", "nodes/status"),
                ],
                None,
                Some("any"),
            );
            if let (Some(e), Some(t)) = (evict, taint) {
                self.g.edge(
                    subject,
                    sas_hub,
                    T::STEAL_POD_SCHEDULING,
                    format!(
                        "can evict pods {where_} via {} and taint nodes via {}",
                        e.describe(),
                        t.describe()
                    ),
                );
            }
        }
    }

    /// Ties each edge the grants gave `subject` to the bindings it must leave for the edge to
    /// go: the same evaluation run again without them, so the answer is RBAC's own. One binding
    /// whose removal alone removes the edge when there is one (the first the cluster owner can
    /// change), else the fewest found by dropping them one at a time. An edge that a binding
    /// Kubernetes or the provider owns also gives stays without remedy.
    fn attach_revocations(&mut self, subject: NodeIndex, who: &Identity, bindings: &[usize]) {
        let rbac = self.rbac;
        let changeable: Vec<usize> = bindings
            .iter()
            .copied()
            .filter(|i| {
                let b = &rbac.bindings[*i];
                // A synthetic binding stands for a grant the owner made (an access policy).
                !b.assumed_default && (b.synthetic || !b.managed)
            })
            .collect();
        if changeable.is_empty() {
            return;
        }
        let granted: Vec<(petgraph::graph::EdgeIndex, String, T)> = self
            .g
            .graph
            .edges_directed(subject, petgraph::Direction::Outgoing)
            .filter(|e| e.weight().technique.info().section == 3)
            .map(|e| {
                (
                    e.id(),
                    self.g.graph[e.target()].reference.clone(),
                    e.weight().technique,
                )
            })
            .collect();
        if granted.is_empty() {
            return;
        }
        let reference = self.g.graph[subject].reference.clone();
        let kind = self.g.graph[subject].kind;
        // What the grants give with some bindings taken away, by (target, technique).
        let mut runs: HashMap<Vec<usize>, HashSet<(String, T)>> = HashMap::new();
        let mut without = |this: &mut Self, removed: &[usize]| -> HashSet<(String, T)> {
            let mut key = removed.to_vec();
            key.sort_unstable();
            if let Some(r) = runs.get(&key) {
                return r.clone();
            }
            let kept: Vec<usize> = bindings
                .iter()
                .copied()
                .filter(|b| !key.contains(b))
                .collect();
            let saved = std::mem::take(&mut *this.g);
            if !kept.is_empty() {
                let s = this.n(&reference, kind);
                this.grants_edges(s, &kept);
            }
            let out: HashSet<(String, T)> = this
                .g
                .graph
                .raw_edges()
                .iter()
                .filter(|e| this.g.graph[e.source()].reference == reference)
                .map(|e| {
                    (
                        this.g.graph[e.target()].reference.clone(),
                        e.weight.technique,
                    )
                })
                .collect();
            *this.g = saved;
            runs.insert(key, out.clone());
            out
        };
        // What the grants give now: a cut is only good if, without it, the edge is gone and no
        // edge appears that the graph lacks (the builder leaves out what a stronger grant makes
        // redundant — `*` on `*` returns early — and those would come back).
        let full: HashSet<(String, T)> = granted
            .iter()
            .map(|(_, target, t)| (target.clone(), *t))
            .collect();
        for (edge, target, technique) in granted {
            let key = (target, technique);
            let mut good = |this: &mut Self, removed: &[usize]| {
                let rest = without(this, removed);
                !rest.contains(&key) && rest.is_subset(&full)
            };
            let mut cut: Option<Vec<usize>> = None;
            if bindings.len() == 1 {
                cut = Some(changeable.clone());
            } else {
                for b in &changeable {
                    if good(self, &[*b]) {
                        cut = Some(vec![*b]);
                        break;
                    }
                }
                if cut.is_none() && changeable.len() > 1 && good(self, &changeable) {
                    let mut set = changeable.clone();
                    let mut k = 0;
                    while k < set.len() {
                        let mut fewer = set.clone();
                        fewer.remove(k);
                        if good(self, &fewer) {
                            set = fewer;
                        } else {
                            k += 1;
                        }
                    }
                    cut = Some(set);
                }
            }
            let Some(cut) = cut else { continue };
            let inv = self.inv;
            let users = self.sa_users.get_or_insert_with(|| {
                let mut m: HashMap<String, Vec<String>> = HashMap::new();
                for t in inv.pod_templates() {
                    let (ns, sa) = t.service_account();
                    m.entry(format!("ServiceAccount:{ns}/{sa}"))
                        .or_default()
                        .push(t.owner.node_ref());
                }
                m
            });
            let users: &HashMap<String, Vec<String>> = users;
            let cluster = self.name;
            let remedies: Vec<Remedy> = cut
                .iter()
                .flat_map(|b| {
                    let def = &rbac.bindings[*b];
                    let role = def.role.map(|r| &rbac.roles[r]);
                    def.subjects
                        .iter()
                        .filter(|s| s.applies_to(who))
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .map(move |s| {
                            let runs_as = users
                                .get(&s.node_ref())
                                .map(Vec::as_slice)
                                .unwrap_or_default();
                            Remedy::remove_subject(cluster, def, role, s, runs_as)
                        })
                })
                .collect();
            self.g.set_remedies(edge, remedies);
        }
    }

    pub(super) fn cluster_scoped_edges(&mut self, subject: NodeIndex, bindings: &[usize]) {
        let rbac = self.rbac;
        let grant = |verb: &str, group: &str, resource: &str, name: Option<&str>| {
            rbac.grant_among(
                bindings,
                &Request::resource(verb, group, resource, None, name),
            )
        };
        let admin = self.n("ClusterAdmin", NodeKind::ClusterAdmin);
        // Impersonation.
        let user_any = grant("impersonate", "", "users", None);
        if let Some(g) = user_any {
            let users = self.n("Users:*", NodeKind::Hub);
            self.g.edge(
                subject,
                users,
                T::IMPERSONATE,
                format!("can impersonate any user via {}", g.describe()),
            );
        }
        // Named users (only worth asking about when some rule mentions impersonating users).
        let named_users =
            if rbac.may_grant_in(bindings, Some(ANY_NAMESPACE), "impersonate", "", "users") {
                self.facts.bound.users.clone()
            } else {
                Vec::new()
            };
        // Impersonating groups needs some user to impersonate alongside — any user name the
        // rules allow (existing or not: impersonation does not look users up), or a
        // ServiceAccount (its user name carries the impersonated groups as well).
        let can_some_user = user_any.is_some()
            || rbac.may_grant_in(bindings, Some(ANY_NAMESPACE), "impersonate", "", "users")
            || rbac.may_grant(bindings, "impersonate", "", "serviceaccounts");
        if user_any.is_none() {
            for u in &named_users {
                if let Some(g) = grant("impersonate", "", "users", Some(u)) {
                    let ui = self.n(&format!("User:{u}"), NodeKind::User);
                    self.g.edge(
                        subject,
                        ui,
                        T::IMPERSONATE,
                        format!("can impersonate user {u} via {}", g.describe()),
                    );
                }
            }
        }
        // Groups need some user to impersonate alongside.
        if can_some_user {
            if let Some(g) = grant("impersonate", "", "groups", Some(SYSTEM_MASTERS)) {
                self.g.edge(
                    subject,
                    admin,
                    T::IMPERSONATE,
                    format!("can impersonate group system:masters via {}", g.describe()),
                );
            }
            if let Some(g) = grant("impersonate", "", "groups", None) {
                let groups = self.n("Groups:*", NodeKind::Hub);
                self.g.edge(
                    subject,
                    groups,
                    T::IMPERSONATE,
                    format!("can impersonate any group via {}", g.describe()),
                );
            } else if rbac.may_grant_in(bindings, Some(ANY_NAMESPACE), "impersonate", "", "groups")
            {
                // Groups named in resourceNames: each bound group it may become.
                for gname in &self.facts.bound.groups.clone() {
                    if let Some(g) = grant("impersonate", "", "groups", Some(gname)) {
                        let gi = self.n(&format!("Group:{gname}"), NodeKind::Group);
                        self.g.edge(
                            subject,
                            gi,
                            T::IMPERSONATE,
                            format!("can impersonate group {gname} via {}", g.describe()),
                        );
                    }
                }
            }
        }
        // Binding cluster roles cluster-wide.
        let crb = ["create", "update", "patch"]
            .iter()
            .find_map(|v| grant(v, "rbac.authorization.k8s.io", "clusterrolebindings", None));
        if let Some(c) = crb {
            // Binding edit or admin cluster-wide: every namespace's pods and Secrets.
            if let Some(b) = ["admin", "edit"]
                .iter()
                .find_map(|r| grant("bind", "rbac.authorization.k8s.io", "clusterroles", Some(r)))
            {
                let ev = format!(
                    "can create ClusterRoleBindings via {} and bind {} cluster-wide via {}",
                    c.describe(),
                    b.role.rules[b.rule],
                    b.describe()
                );
                let sas = self.n("ServiceAccounts:*", NodeKind::Hub);
                let secrets = self.n("AllSecrets", NodeKind::AllSecrets);
                self.g.edge(subject, sas, T::BIND_ROLE, ev.clone());
                self.g.edge(subject, secrets, T::BIND_ROLE, ev);
            }
            if let Some(b) = grant(
                "bind",
                "rbac.authorization.k8s.io",
                "clusterroles",
                Some("cluster-admin"),
            ) {
                self.g.edge(
                    subject,
                    admin,
                    T::BIND_ROLE,
                    format!(
                        "can create ClusterRoleBindings via {} and bind cluster-admin via {}",
                        c.describe(),
                        b.describe()
                    ),
                );
            }
        }
        // CSR: mint a client certificate for any identity but system:masters.
        let signer = grant(
            "approve",
            "certificates.k8s.io",
            "signers",
            Some("kubernetes.io/kube-apiserver-client"),
        )
        .or_else(|| {
            grant(
                "approve",
                "certificates.k8s.io",
                "signers",
                Some("kubernetes.io/*"),
            )
        });
        // Approving (approval subresource + approve on the signer) or signing directly (status
        // subresource + sign on the signer) both yield a certificate.
        let sign = grant(
            "sign",
            "certificates.k8s.io",
            "signers",
            Some("kubernetes.io/kube-apiserver-client"),
        )
        .or_else(|| {
            grant(
                "sign",
                "certificates.k8s.io",
                "signers",
                Some("kubernetes.io/*"),
            )
        });
        let approval = grant(
            "update",
            "certificates.k8s.io",
            "certificatesigningrequests/approval",
            Some("any"),
        );
        let status = grant(
            "update",
            "certificates.k8s.io",
            "certificatesigningrequests/status",
            Some("any"),
        );
        let issue = match (approval.zip(signer), status.zip(sign)) {
            (Some(pair), _) | (None, Some(pair)) => Some(pair),
            _ => None,
        };
        if let (Some(c), Some((a, s))) = (
            grant(
                "create",
                "certificates.k8s.io",
                "certificatesigningrequests",
                None,
            ),
            issue,
        ) {
            // EKS does not issue kube-apiserver-client certificates.
            if self.cluster.info.provider != Provider::Eks {
                let ids = self.n("Identities:*", NodeKind::Hub);
                self.g.edge(subject, ids, T::CSR_MINT_CLIENT_CERT, format!("can create CSRs via {}, approve or sign them via {} and the kube-apiserver-client signer via {}", c.describe(), a.describe(), s.describe()));
            }
        }
        if let Some(g) = grant("get", "", "nodes/proxy", Some("any"))
            .or_else(|| grant("create", "", "nodes/proxy", Some("any")))
        {
            let pods = self.n("Pods:*", NodeKind::Hub);
            self.g.edge(
                subject,
                pods,
                T::NODES_PROXY_EXEC,
                format!("can reach every kubelet's exec API via {}", g.describe()),
            );
        }
        if let Some(g) = ["create", "update", "patch"].iter().find_map(|v| {
            grant(
                v,
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
                Some("any"),
            )
        }) {
            let sas = self.n("ServiceAccounts:*", NodeKind::Hub);
            self.g.edge(
                subject,
                sas,
                T::CONTROL_WEBHOOK,
                format!(
                    "can control mutating admission webhooks via {}",
                    g.describe()
                ),
            );
            // Mutation happens before Pod Security validates: a webhook can make pods
            // privileged only in namespaces that admit them.
            if self.privileged_allowed(None) {
                let any_node = self.n("Node:*", NodeKind::Node);
                self.g.edge(
                    subject,
                    any_node,
                    T::CONTROL_WEBHOOK,
                    format!(
                        "can control mutating admission webhooks via {}; some namespace's Pod Security admits the privileged pods they can make",
                        g.describe()
                    ),
                );
            }
        }
        if let Some(pv) = grant("create", "", "persistentvolumes", None) {
            let claim = rbac
                .grant_among(
                    bindings,
                    &Request::resource(
                        "create",
                        "",
                        "persistentvolumeclaims",
                        Some(ANY_NAMESPACE),
                        None,
                    ),
                )
                .or_else(|| {
                    self.scopes(bindings).into_iter().flatten().find_map(|ns| {
                        rbac.grant_among(
                            bindings,
                            &Request::resource(
                                "create",
                                "",
                                "persistentvolumeclaims",
                                Some(&ns),
                                None,
                            ),
                        )
                    })
                });
            let pods = rbac
                .grant_among(
                    bindings,
                    &Request::resource("create", "", "pods", Some(ANY_NAMESPACE), None),
                )
                .or_else(|| {
                    self.scopes(bindings).into_iter().flatten().find_map(|ns| {
                        rbac.grant_among(
                            bindings,
                            &Request::resource("create", "", "pods", Some(&ns), None),
                        )
                    })
                });
            if let (Some(_), Some(_)) = (claim, pods) {
                let any_node = self.n("Node:*", NodeKind::Node);
                self.g.edge(subject, any_node, T::CREATE_HOSTPATH_PV, format!("can create a hostPath PersistentVolume via {}, claim it and mount it in a pod", pv.describe()));
            }
        }
    }
}
