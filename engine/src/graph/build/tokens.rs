//! ServiceAccount token Secrets: which ones authenticate, and who can read or mint them (SECRET_AUTHENTICATES_AS, READ_SA_TOKEN_SECRET, MINT_TOKEN_REQUEST by name).

use super::*;

impl ClusterBuilder<'_, '_> {
    pub(super) fn secrets(&mut self) {
        let sa_uids = super::accounts::uids(self.inv);
        for s in self.inv.of_kind("Secret").to_vec() {
            let ns = s.effective_namespace().unwrap_or("default").to_string();
            let si = self.n(&s.node_ref(), NodeKind::Secret);
            let hub = self.n(&format!("Secrets:{ns}"), NodeKind::Hub);
            self.g
                .edge(hub, si, T::INCLUDES, "Secrets of the namespace");
            if let Some(sa) = super::accounts::live_token_secret_sa(s, &sa_uids) {
                let sai = self.n(
                    &format!("ServiceAccount:{ns}/{sa}"),
                    NodeKind::ServiceAccount,
                );
                let fix = Remedy::delete_token_secret(self.name, s, &format!("{ns}/{sa}"));
                self.g.edge_fixed(
                    si,
                    sai,
                    T::SECRET_AUTHENTICATES_AS,
                    format!(
                        "type kubernetes.io/service-account-token for ServiceAccount {ns}/{sa}"
                    ),
                    vec![fix],
                );
            }
        }
    }

    /// READ_SA_TOKEN_SECRET to each ServiceAccount with a live token Secret in scope.
    pub(super) fn token_secret_edges(
        &mut self,
        subject: NodeIndex,
        scope: &Option<String>,
        bindings: &[usize],
        can_list: bool,
    ) {
        let rbac = self.rbac;
        let scope_ns = Some(scope.as_deref().unwrap_or(ANY_NAMESPACE));
        if self.facts.accounts.token_secrets.is_empty()
            || !(can_list || rbac.may_grant_in(bindings, scope_ns, "get", "", "secrets"))
        {
            return;
        }
        let secrets = self.facts.accounts.token_secrets.clone();
        for (ns, name, sa) in secrets {
            if scope.as_deref().is_some_and(|n| n != ns) {
                continue;
            }
            let ns_req = Some(if scope.is_some() {
                ns.as_str()
            } else {
                ANY_NAMESPACE
            });
            let how = if can_list {
                rbac.grant_among(
                    bindings,
                    &Request::resource("list", "", "secrets", ns_req, None),
                )
                .or_else(|| {
                    rbac.grant_among(
                        bindings,
                        &Request::resource("watch", "", "secrets", ns_req, None),
                    )
                })
            } else {
                rbac.grant_among(
                    bindings,
                    &Request::resource("get", "", "secrets", ns_req, Some(&name)),
                )
            };
            if let Some(g) = how {
                let sai = self.n(
                    &format!("ServiceAccount:{ns}/{sa}"),
                    NodeKind::ServiceAccount,
                );
                self.g.edge(
                    subject,
                    sai,
                    T::READ_SA_TOKEN_SECRET,
                    format!("can read token Secret {ns}/{name} via {}", g.describe()),
                );
            }
        }
    }

    /// MINT_TOKEN_REQUEST limited by resourceNames to specific ServiceAccounts.
    pub(super) fn named_token_requests(
        &mut self,
        subject: NodeIndex,
        scope: &Option<String>,
        bindings: &[usize],
    ) {
        let rbac = self.rbac;
        let scope_ns = Some(scope.as_deref().unwrap_or(ANY_NAMESPACE));
        if !rbac.may_grant_in(bindings, scope_ns, "create", "", "serviceaccounts/token") {
            return;
        }
        let candidates = self.service_accounts_in(scope.as_deref());
        for (ns, name) in candidates {
            let ns_req = if scope.is_some() {
                ns.as_str()
            } else {
                ANY_NAMESPACE
            };
            if let Some(g) = rbac.grant_among(
                bindings,
                &Request::resource(
                    "create",
                    "",
                    "serviceaccounts/token",
                    Some(ns_req),
                    Some(&name),
                ),
            ) {
                let sai = self.n(
                    &format!("ServiceAccount:{ns}/{name}"),
                    NodeKind::ServiceAccount,
                );
                self.g.edge(
                    subject,
                    sai,
                    T::MINT_TOKEN_REQUEST,
                    format!(
                        "can create tokens for ServiceAccount {ns}/{name} via {}",
                        g.describe()
                    ),
                );
            }
        }
    }
}
