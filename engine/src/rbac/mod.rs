//! Kubernetes RBAC, evaluated the way the API server's authorizer evaluates it.
//!
//! [`Rbac::build`] reads Roles, ClusterRoles and their bindings from a cluster's objects,
//! recomputes aggregated ClusterRoles to a fixed point, and adds the default bootstrap roles and
//! bindings the snapshot lacks. [`Rbac::authorize`] answers one request for one identity (with the
//! privileged `system:masters` group in front, as in the API server), and [`Rbac::who_can`] lists
//! every subject a request is granted to, with the binding and rule that grant it.
//! The semantics are those of `../shared/ATTACK-TECHNIQUES.md` (last section); the tests in
//! `tests.rs` spell out each rule with its negative cases.

mod bootstrap;
pub mod platform;
pub mod reach;
mod request;
mod rule;
pub mod sets;

pub use request::{Identity, Request};
pub use rule::Rule;

use crate::object::Object;
use crate::pointer::Pointer as _;
use crate::selector::LabelSelector;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// The group whose members the API server authorizes before RBAC runs.
pub const SYSTEM_MASTERS: &str = "system:masters";

/// A binding subject, resolved (namespace defaulting applied).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "PascalCase")]
pub enum Subject {
    /// A user name.
    User {
        /// Name.
        name: String,
    },
    /// A group name.
    Group {
        /// Name.
        name: String,
    },
    /// A ServiceAccount.
    ServiceAccount {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
}

/// The ServiceAccount (namespace, name) a user name is, to RBAC: `system:serviceaccount:NS:NAME`
/// (a ServiceAccount subject matches that user; so does a User subject of that name).
pub fn service_account_of(user: &str) -> Option<(&str, &str)> {
    user.strip_prefix("system:serviceaccount:")?.split_once(':')
}

impl Subject {
    /// Node reference: `User:alice`, `Group:devs`, `ServiceAccount:ns/name`.
    pub fn node_ref(&self) -> String {
        match self {
            Subject::User { name } => format!("User:{name}"),
            Subject::Group { name } => format!("Group:{name}"),
            Subject::ServiceAccount { namespace, name } => {
                format!("ServiceAccount:{namespace}/{name}")
            }
        }
    }

    /// Whether the subject is part of this identity.
    pub fn applies_to(&self, who: &Identity) -> bool {
        match self {
            Subject::User { name } => *name == who.user,
            Subject::Group { name } => who.groups.iter().any(|g| g == name),
            Subject::ServiceAccount { namespace, name } => {
                service_account_of(&who.user).is_some_and(|(ns, n)| ns == namespace && n == name)
            }
        }
    }
}

/// Role or ClusterRole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum RoleKind {
    /// Namespaced Role.
    Role,
    /// ClusterRole.
    ClusterRole,
}

/// A role with its effective rules.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleDef {
    /// Kind.
    pub kind: RoleKind,
    /// Namespace (Roles only).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Effective rules (for aggregated ClusterRoles: the recomputed union).
    pub rules: Vec<Rule>,
    /// Labels (for aggregation).
    pub labels: std::collections::BTreeMap<String, String>,
    /// Whether this is a default role kspm added because the snapshot lacked it.
    pub assumed_default: bool,
    /// For aggregated ClusterRoles: where each effective rule is written (the ClusterRole's
    /// node reference and the rule's index in its `rules`); empty when every effective rule is
    /// the role's own, at its own index.
    pub written: Vec<(String, usize)>,
}

impl RoleDef {
    /// Node reference of the role.
    pub fn node_ref(&self) -> String {
        match (&self.kind, &self.namespace) {
            (RoleKind::Role, Some(ns)) => format!("Role:{ns}/{}", self.name),
            _ => format!("ClusterRole:{}", self.name),
        }
    }

    /// Where effective rule `rule` is written: the role's node reference and the rule's index
    /// in its `rules` (another ClusterRole's, for a rule an aggregate holds through its
    /// aggregation) — what evidence points at.
    pub fn written_at(&self, rule: usize) -> (String, usize) {
        match self.written.get(rule) {
            Some((role, index)) => (role.clone(), *index),
            None => (self.node_ref(), rule),
        }
    }
}

/// A RoleBinding or ClusterRoleBinding, resolved.
#[derive(Debug, Clone)]
pub struct BindingDef {
    /// Node reference of the binding.
    pub node_ref: String,
    /// Binding name.
    pub name: String,
    /// `None` for a ClusterRoleBinding, the namespace for a RoleBinding.
    pub namespace: Option<String>,
    /// Index into [`Rbac::roles`] of the referenced role, when it exists.
    pub role: Option<usize>,
    /// The roleRef as written (`ClusterRole:edit`, `Role:ns/name`).
    pub role_ref: String,
    /// Subjects that can match someone.
    pub subjects: Vec<Subject>,
    /// For each of [`BindingDef::subjects`], its position in the object's `subjects` list as
    /// written (empty for a default binding kspm added): what a fix removes.
    pub positions: Vec<usize>,
    /// Whether kspm made the binding to stand for a grant outside RBAC (an EKS access policy):
    /// the change is to that grant, not to an object in the cluster.
    pub synthetic: bool,
    /// For a synthetic binding: the EKS access policy association it stands for.
    pub association: Option<Association>,
    /// Whether this is a default binding kspm added because the snapshot lacked it.
    pub assumed_default: bool,
    /// Whether Kubernetes, kubeadm or the cloud provider owns the binding, decided by what it
    /// grants to whom ([`platform`]), never by its name or labels: findings on it are not the
    /// cluster owner's to fix.
    pub managed: bool,
}

/// An EKS access policy associated with an access entry (what a synthetic binding stands for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    /// The EKS cluster's name (empty when the answers did not say).
    pub cluster_name: String,
    /// The entry's principal.
    pub principal_arn: String,
    /// The access policy.
    pub policy_arn: String,
    /// Its position in `ListAssociatedAccessPolicies`' answer.
    pub position: usize,
}

impl Association {
    /// Read back from a synthetic binding kspm made (`eks_access::synthetic_rbac`): its own
    /// annotations, never those of an object read from input.
    fn of(b: &Object) -> Option<Association> {
        let a = |k: &str| b.annotations.get(k).cloned();
        Some(Association {
            cluster_name: a("kspm.io/eks-cluster").unwrap_or_default(),
            principal_arn: a("kspm.io/access-entry")?,
            policy_arn: a("kspm.io/access-policy")?,
            position: a("kspm.io/access-policy-position")?.parse().ok()?,
        })
    }
}

/// What one object says of RBAC on its own ([`Piece::of`]): a cluster's RBAC is its objects'
/// pieces put together ([`Rbac::assemble`]), so a cluster kept up to date reads again only the
/// objects that changed.
#[derive(Debug, Clone)]
pub enum Piece {
    /// A Role or ClusterRole as written, with a ClusterRole's aggregation selectors.
    Role(RoleDef, Option<Vec<LabelSelector>>),
    /// A RoleBinding or ClusterRoleBinding, its role not yet looked up.
    Binding(BindingPiece),
    /// Anything else.
    None,
}

/// A binding read on its own: all of its [`BindingDef`] but what the roles decide (which role
/// it refers to, whether the platform owns it).
#[derive(Debug, Clone)]
pub struct BindingPiece {
    /// The binding, with no role and not managed.
    binding: BindingDef,
    /// The role its roleRef names, as roles are looked up: none for a roleRef of another kind
    /// (or none), and for a ClusterRoleBinding naming a Role, which cannot refer to one.
    role: Option<(RoleKind, Option<String>, String)>,
}

impl Piece {
    /// Reads `o` (`made`: an object kspm made to stand for a grant outside RBAC).
    pub fn of(o: &Object, made: bool) -> Piece {
        if o.api_group() != "rbac.authorization.k8s.io" {
            return Piece::None;
        }
        match o.kind.as_str() {
            "ClusterRole" | "Role" => {
                let kind = if o.kind == "Role" {
                    RoleKind::Role
                } else {
                    RoleKind::ClusterRole
                };
                let selectors = (kind == RoleKind::ClusterRole)
                    .then(|| {
                        o.body
                            .at("/aggregationRule/clusterRoleSelectors")
                            .and_then(Value::as_array)
                    })
                    .flatten()
                    .map(|sels| {
                        sels.iter()
                            .map(|s| LabelSelector::from_value(Some(s)))
                            .collect()
                    });
                let role = RoleDef {
                    kind,
                    namespace: if kind == RoleKind::Role {
                        o.effective_namespace().map(str::to_string)
                    } else {
                        None
                    },
                    name: o.name.clone(),
                    rules: parse_rules(o.body.get("rules")),
                    labels: o.labels.clone(),
                    assumed_default: false,
                    written: Vec::new(),
                };
                Piece::Role(role, selectors)
            }
            "ClusterRoleBinding" | "RoleBinding" => Piece::Binding(BindingPiece::of(o, made)),
            _ => Piece::None,
        }
    }
}

impl BindingPiece {
    fn of(b: &Object, made: bool) -> BindingPiece {
        let cluster_binding = b.kind == "ClusterRoleBinding";
        let ns = if cluster_binding {
            None
        } else {
            Some(b.effective_namespace().unwrap_or("default").to_string())
        };
        let rk = b
            .body
            .at("/roleRef/kind")
            .and_then(Value::as_str)
            .unwrap_or("");
        let rn = b
            .body
            .at("/roleRef/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let (role, role_ref) = match (rk, cluster_binding) {
            ("ClusterRole", _) => (
                Some((RoleKind::ClusterRole, None, rn.to_string())),
                format!("ClusterRole:{rn}"),
            ),
            // A RoleBinding's Role is always in the binding's own namespace.
            ("Role", false) => (
                Some((RoleKind::Role, ns.clone(), rn.to_string())),
                format!("Role:{}/{rn}", ns.as_deref().unwrap_or("")),
            ),
            // A ClusterRoleBinding cannot reference a Role.
            _ => (None, format!("{rk}:{rn}")),
        };
        let (subjects, positions): (Vec<Subject>, Vec<usize>) =
            resolve_subjects(b, ns.as_deref()).into_iter().unzip();
        BindingPiece {
            binding: BindingDef {
                managed: false,
                node_ref: b.node_ref(),
                name: b.name.clone(),
                subjects,
                positions,
                synthetic: made,
                association: if made { Association::of(b) } else { None },
                namespace: ns,
                role: None,
                role_ref,
                assumed_default: false,
            },
            role,
        }
    }
}

/// One grant of a request: which binding, role and rule.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    /// The binding.
    pub binding: &'a BindingDef,
    /// The role.
    pub role: &'a RoleDef,
    /// Index of the rule within the role's effective rules.
    pub rule: usize,
}

impl Grant<'_> {
    /// `binding → role rule #n (rule text)` for messages and evidence.
    pub fn describe(&self) -> String {
        format!(
            "{} → {} rule #{}: {}",
            self.binding.node_ref,
            self.role.node_ref(),
            self.rule,
            self.role.rules[self.rule]
        )
    }
}

/// The outcome of an authorization.
#[derive(Debug)]
pub enum Decision<'a> {
    /// Allowed by membership in `system:masters` (before RBAC).
    PrivilegedGroup,
    /// Allowed by RBAC, with every grant that allows it.
    Allowed(Vec<Grant<'a>>),
    /// No rule allows it.
    Denied,
}

impl Decision<'_> {
    /// Whether the request is allowed.
    pub fn allowed(&self) -> bool {
        !matches!(self, Decision::Denied)
    }
}

/// The RBAC state of one cluster.
#[derive(Debug, Clone, Default)]
pub struct Rbac {
    /// Every role, including assumed defaults.
    pub roles: Vec<RoleDef>,
    /// Every binding, including assumed defaults.
    pub bindings: Vec<BindingDef>,
    /// Kubernetes minor version, when known (for version-gated semantics).
    pub minor_version: Option<u32>,
    /// Binding indices by the user name or group name a subject matches (ServiceAccount
    /// subjects are indexed under their user name `system:serviceaccount:ns:name`).
    by_user: HashMap<String, Vec<usize>>,
    by_group: HashMap<String, Vec<usize>>,
    /// Binding indices by the binding's node reference.
    by_ref: HashMap<String, Vec<usize>>,
    /// Each binding's reach by namespace ([`Rbac::views`]), worked out once asked.
    views: std::sync::OnceLock<reach::Views>,
}

/// From how many RBAC objects [`Rbac::build_with`] reads them in parallel.
const PARALLEL_RBAC_OBJECTS: usize = 512;

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// One rule as written in a role, in kspm's wording of rules (what evidence gives).
#[cfg(test)]
pub(crate) fn rule_text(rule: &Value) -> String {
    parse_rules(Some(&Value::Array(vec![rule.clone()])))
        .first()
        .map(ToString::to_string)
        .unwrap_or_default()
}

fn parse_rules(v: Option<&Value>) -> Vec<Rule> {
    v.and_then(Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .map(|r| Rule {
                    verbs: str_list(r.get("verbs")),
                    api_groups: str_list(r.get("apiGroups")),
                    resources: str_list(r.get("resources")),
                    resource_names: str_list(r.get("resourceNames")),
                    non_resource_urls: str_list(r.get("nonResourceURLs")),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The binding's subjects that can match someone, with their positions in `subjects`.
fn resolve_subjects(b: &Object, binding_ns: Option<&str>) -> Vec<(Subject, usize)> {
    b.body
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(position, s)| {
            let kind = s.get("kind")?.as_str()?;
            let name = s.get("name")?.as_str()?.to_string();
            let subject = match kind {
                "User" => Some(Subject::User { name }),
                "Group" => Some(Subject::Group { name }),
                "ServiceAccount" => {
                    // A namespace-less SA subject defaults to the RoleBinding's namespace; in a
                    // ClusterRoleBinding it matches nobody.
                    let ns = s
                        .get("namespace")
                        .and_then(Value::as_str)
                        .filter(|n| !n.is_empty())
                        .map(str::to_string)
                        .or_else(|| binding_ns.map(str::to_string))?;
                    Some(Subject::ServiceAccount {
                        namespace: ns,
                        name,
                    })
                }
                _ => None,
            }?;
            Some((subject, position))
        })
        .collect()
}

impl Rbac {
    /// Builds the RBAC state from a cluster's objects.
    pub fn build<'o>(
        objects: impl IntoIterator<Item = &'o Object>,
        minor_version: Option<u32>,
    ) -> Rbac {
        Rbac::build_for(objects, minor_version, crate::snapshot::Provider::Generic)
    }

    /// [`Rbac::build`] for a cluster of a known provider: its documented default bindings count
    /// as the platform's on that provider only.
    pub fn build_for<'o>(
        objects: impl IntoIterator<Item = &'o Object>,
        minor_version: Option<u32>,
        provider: crate::snapshot::Provider,
    ) -> Rbac {
        Rbac::build_with(objects, &[], minor_version, provider)
    }

    /// [`Rbac::build_for`] with objects kspm made to stand for grants outside RBAC (EKS access
    /// policies): their bindings are [`BindingDef::synthetic`], no object anyone can patch.
    pub fn build_with<'o>(
        objects: impl IntoIterator<Item = &'o Object>,
        synthetic: &'o [Object],
        minor_version: Option<u32>,
        provider: crate::snapshot::Provider,
    ) -> Rbac {
        let objects: Vec<(&Object, bool)> = objects
            .into_iter()
            .map(|o| (o, false))
            .chain(synthetic.iter().map(|o| (o, true)))
            .filter(|(o, _)| o.api_group() == "rbac.authorization.k8s.io")
            .collect();
        // Each object is read on its own: a cluster's thousands of RBAC objects on every core (a
        // few are not worth the threads).
        let read = |&(o, made): &(&Object, bool)| Piece::of(o, made);
        let pieces: Vec<Piece> = if objects.len() >= PARALLEL_RBAC_OBJECTS {
            crate::parallel::parallel_map(&objects, read)
        } else {
            objects.iter().map(read).collect()
        };
        Rbac::assemble(pieces, minor_version, provider)
    }

    /// The RBAC state of a cluster from the [`Piece`]s of its objects, in the objects' order:
    /// what [`Rbac::build_with`] builds from the objects themselves.
    pub fn assemble(
        pieces: impl IntoIterator<Item = Piece>,
        minor_version: Option<u32>,
        provider: crate::snapshot::Provider,
    ) -> Rbac {
        let mut roles = Vec::new();
        let mut aggregation: Vec<(usize, Vec<LabelSelector>)> = Vec::new();
        let mut binding_pieces = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Role(role, selectors) => {
                    if let Some(selectors) = selectors {
                        aggregation.push((roles.len(), selectors));
                    }
                    roles.push(role);
                }
                Piece::Binding(b) => binding_pieces.push(b),
                Piece::None => {}
            }
        }
        // Default ClusterRoles the snapshot lacks (a manifest folder binding `edit`, say).
        let present: BTreeSet<String> = roles
            .iter()
            .filter(|r| r.kind == RoleKind::ClusterRole)
            .map(|r| r.name.clone())
            .collect();
        for def in bootstrap::cluster_roles() {
            if !present.contains(def.name.as_str()) {
                if let Some(sels) = def.aggregate_from.clone() {
                    aggregation.push((roles.len(), sels));
                }
                roles.push(def.role);
            }
        }
        aggregate(&mut roles, &aggregation);

        let mut lookup: HashMap<(RoleKind, Option<String>, String), usize> = HashMap::new();
        for (i, r) in roles.iter().enumerate() {
            lookup.insert((r.kind, r.namespace.clone(), r.name.clone()), i);
        }
        let mut bindings: Vec<BindingDef> = binding_pieces
            .into_iter()
            .map(|piece| {
                let role = piece.role.as_ref().and_then(|k| lookup.get(k).copied());
                let mut b = piece.binding;
                // By content only: names and labels are the binding author's to choose.
                b.managed = platform::is_platform_binding(&platform::BindingFacts {
                    namespace: b.namespace.as_deref(),
                    name: &b.name,
                    role_ref: &b.role_ref,
                    subjects: &b.subjects,
                    rules: role.map(|r| roles[r].rules.as_slice()),
                    provider,
                });
                b.role = role;
                b
            })
            .collect();
        let present_bindings: BTreeSet<String> = bindings
            .iter()
            .filter(|b| b.namespace.is_none())
            .map(|b| b.node_ref.clone())
            .collect();
        for (name, role, subjects) in bootstrap::cluster_role_bindings() {
            let node_ref = format!("ClusterRoleBinding:{name}");
            if present_bindings.contains(&node_ref) {
                continue;
            }
            let role_idx = lookup
                .get(&(RoleKind::ClusterRole, None, role.to_string()))
                .copied();
            bindings.push(BindingDef {
                node_ref,
                name: name.to_string(),
                namespace: None,
                role: role_idx,
                role_ref: format!("ClusterRole:{role}"),
                subjects,
                positions: Vec::new(),
                synthetic: false,
                association: None,
                assumed_default: true,
                managed: true,
            });
        }
        let mut by_user: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_group: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, b) in bindings.iter().enumerate() {
            for s in &b.subjects {
                let slot = match s {
                    Subject::User { name } => by_user.entry(name.clone()).or_default(),
                    Subject::Group { name } => by_group.entry(name.clone()).or_default(),
                    Subject::ServiceAccount { namespace, name } => by_user
                        .entry(format!("system:serviceaccount:{namespace}:{name}"))
                        .or_default(),
                };
                if slot.last() != Some(&i) {
                    slot.push(i);
                }
            }
        }
        let mut by_ref: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, b) in bindings.iter().enumerate() {
            by_ref.entry(b.node_ref.clone()).or_default().push(i);
        }
        Rbac {
            roles,
            bindings,
            minor_version,
            by_user,
            by_group,
            by_ref,
            views: std::sync::OnceLock::new(),
        }
    }

    /// Which namespaces' ServiceAccounts each binding may match ([`reach`]), worked out the
    /// first time they are asked for: a state kept across changes is not read again for them.
    fn views(&self) -> &reach::Views {
        self.views.get_or_init(|| reach::Views::of(self))
    }

    /// The bindings with one of the node references `refs`, in binding order (cheap when
    /// `refs` are few: a namespace's bindings out of a whole cluster's).
    pub fn bindings_named<'r>(
        &'r self,
        refs: impl IntoIterator<Item = &'r str>,
    ) -> Vec<&'r BindingDef> {
        let mut idx: Vec<usize> = refs
            .into_iter()
            .flat_map(|r| self.by_ref.get(r).into_iter().flatten().copied())
            .collect();
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter().map(|i| &self.bindings[i]).collect()
    }

    /// Whether a binding's scope covers the request.
    fn binding_applies(b: &BindingDef, req: &Request) -> bool {
        match &b.namespace {
            None => true,
            Some(ns) => req.effective_namespace() == Some(ns.as_str()),
        }
    }

    /// The grants in one binding that allow the request (ignoring subjects).
    pub fn grants_in<'a>(
        &'a self,
        b: &'a BindingDef,
        req: &Request,
    ) -> impl Iterator<Item = Grant<'a>> + 'a {
        let role = b.role.map(|i| &self.roles[i]);
        let applies = Self::binding_applies(b, req);
        let cluster_binding = b.namespace.is_none();
        let req = req.clone();
        role.into_iter()
            .filter(move |_| applies)
            .flat_map(move |role| {
                let req = req.clone();
                role.rules
                    .iter()
                    .enumerate()
                    .filter(move |(_, r)| {
                        if req.is_non_resource() {
                            // Non-resource URLs are only granted through ClusterRoleBindings.
                            cluster_binding && r.allows(&req)
                        } else {
                            r.allows(&req)
                        }
                    })
                    .map(move |(i, _)| Grant {
                        binding: b,
                        role,
                        rule: i,
                    })
            })
    }

    /// The first grant in one binding that allows the request (no allocation).
    pub fn first_grant_in<'a>(&'a self, b: &'a BindingDef, req: &Request) -> Option<Grant<'a>> {
        let role = &self.roles[b.role?];
        if !Self::binding_applies(b, req) || (req.is_non_resource() && b.namespace.is_some()) {
            return None;
        }
        let rule = role.rules.iter().position(|r| r.allows(req))?;
        Some(Grant {
            binding: b,
            role,
            rule,
        })
    }

    /// Authorizes one request for one identity.
    pub fn authorize(&self, who: &Identity, req: &Request) -> Decision<'_> {
        if who.groups.iter().any(|g| g == SYSTEM_MASTERS) {
            return Decision::PrivilegedGroup;
        }
        let grants: Vec<Grant<'_>> = self
            .bindings_for(who)
            .into_iter()
            .flat_map(|i| self.grants_in(&self.bindings[i], req))
            .collect();
        if grants.is_empty() {
            Decision::Denied
        } else {
            Decision::Allowed(grants)
        }
    }

    /// Indices of the bindings whose subjects include the identity (user, SA or any group).
    pub fn bindings_for(&self, who: &Identity) -> Vec<usize> {
        let mut out: Vec<usize> = self.by_user.get(&who.user).cloned().unwrap_or_default();
        for g in &who.groups {
            if let Some(v) = self.by_group.get(g) {
                out.extend_from_slice(v);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether any rule of the given bindings could allow `verb` on `group`/`resource` at all
    /// (ignoring scope and resourceNames): a cheap filter before per-object questions.
    pub fn may_grant(&self, bindings: &[usize], verb: &str, group: &str, resource: &str) -> bool {
        self.may_grant_in(bindings, None, verb, group, resource)
    }

    /// [`Rbac::may_grant`] restricted to the bindings that reach a scope: with `Some(ns)`,
    /// ClusterRoleBindings and RoleBindings of `ns`; with `None`, every binding.
    pub fn may_grant_in(
        &self,
        bindings: &[usize],
        namespace: Option<&str>,
        verb: &str,
        group: &str,
        resource: &str,
    ) -> bool {
        let (res, sub) = resource.split_once('/').unwrap_or((resource, ""));
        bindings.iter().any(|i| {
            let b = &self.bindings[*i];
            let in_scope = match (namespace, &b.namespace) {
                (Some(ns), Some(bns)) => ns == bns,
                _ => true,
            };
            in_scope
                && b.role.is_some_and(|r| {
                    self.roles[r].rules.iter().any(|rule| {
                        rule.verb_matches(verb)
                            && rule.api_group_matches(group)
                            && rule.resource_matches(res, sub)
                    })
                })
        })
    }

    /// The first grant of the request among the given bindings (see [`Rbac::bindings_for`]):
    /// the same decision as [`Rbac::authorize`] without rescanning every binding.
    pub fn grant_among(&self, bindings: &[usize], req: &Request) -> Option<Grant<'_>> {
        bindings
            .iter()
            .find_map(|i| self.first_grant_in(&self.bindings[*i], req))
    }

    /// Every subject the request is granted to, with each grant; `system:masters` first.
    pub fn who_can(&self, req: &Request) -> Vec<(Subject, Option<Grant<'_>>)> {
        let mut out: Vec<(Subject, Option<Grant<'_>>)> = vec![(
            Subject::Group {
                name: SYSTEM_MASTERS.to_string(),
            },
            None,
        )];
        for b in &self.bindings {
            for g in self.grants_in(b, req) {
                for s in &b.subjects {
                    out.push((s.clone(), Some(g)));
                }
            }
        }
        out
    }

    /// Roles a binding references that do not exist (dangling bindings).
    pub fn dangling_bindings(&self) -> impl Iterator<Item = &BindingDef> {
        self.bindings.iter().filter(|b| b.role.is_none())
    }
}

/// Recomputes aggregated ClusterRoles to a fixed point: each aggregate's rules become its own
/// rules plus those of every ClusterRole its selectors match (aggregates can feed aggregates,
/// in chains or cycles). The fixed point is computed in one pass over the strongly connected
/// components of the "aggregates from" graph, dependencies first — time linear in the roles,
/// the selector matches and the rules, not in the depth of the chains.
fn aggregate(roles: &mut [RoleDef], aggregation: &[(usize, Vec<LabelSelector>)]) {
    if aggregation.is_empty() {
        return;
    }
    let n = roles.len();
    // Edges: aggregate → every other ClusterRole its selectors match, in role order.
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (idx, selectors) in aggregation {
        edges[*idx] = roles
            .iter()
            .enumerate()
            .filter(|(j, other)| {
                *j != *idx
                    && other.kind == RoleKind::ClusterRole
                    && selectors.iter().any(|s| s.matches(&other.labels))
            })
            .map(|(j, _)| j)
            .collect();
    }
    let is_aggregate: Vec<bool> = {
        let mut v = vec![false; n];
        for (idx, _) in aggregation {
            v[*idx] = true;
        }
        v
    };
    // Tarjan's algorithm (iterative): components come out dependencies first.
    let components = strongly_connected(&edges);
    // Each aggregate's effective rules, each with the role (index) and the position in its own
    // rules where it was found.
    type Found = Vec<(Rule, (usize, usize))>;
    let mut effective: Vec<Option<Found>> = vec![None; n];
    let own = |roles: &[RoleDef], m: usize| -> Found {
        roles[m]
            .rules
            .iter()
            .enumerate()
            .map(|(k, r)| (r.clone(), (m, k)))
            .collect()
    };
    for comp in components {
        if comp.len() == 1 && !is_aggregate[comp[0]] {
            continue;
        }
        // Own rules of the members first, then what they aggregate from outside the component.
        let mut union: Found = Vec::new();
        let mut seen: std::collections::HashSet<Rule> = std::collections::HashSet::new();
        let mut add = |rules: Vec<(Rule, (usize, usize))>,
                       union: &mut Vec<(Rule, (usize, usize))>| {
            for (r, at) in rules {
                if !seen.contains(&r) {
                    seen.insert(r.clone());
                    union.push((r, at));
                }
            }
        };
        let mut members = comp.clone();
        members.sort_unstable();
        for m in &members {
            add(own(roles, *m), &mut union);
        }
        for m in &members {
            for j in &edges[*m] {
                if members.binary_search(j).is_ok() {
                    continue;
                }
                match &effective[*j] {
                    Some(rules) => add(rules.clone(), &mut union),
                    None => add(own(roles, *j), &mut union),
                }
            }
        }
        for m in &members {
            if is_aggregate[*m] {
                effective[*m] = Some(union.clone());
            }
        }
    }
    for (i, rules) in effective.into_iter().enumerate() {
        let Some(rules) = rules else {
            continue;
        };
        // Where each rule is written: the aggregate's own rules when they list it (as the API
        // returns an aggregate, or a member of a cycle); else the role it was aggregated from,
        // unless that is a default kspm assumed (not in the input): then the aggregate itself.
        let mut own_at: HashMap<&Rule, usize> = HashMap::new();
        for (k, r) in roles[i].rules.iter().enumerate() {
            own_at.entry(r).or_insert(k);
        }
        let at: Vec<(usize, usize)> = rules
            .iter()
            .enumerate()
            .map(|(k, (r, (from, index)))| match own_at.get(r) {
                Some(p) => (i, *p),
                None if roles[*from].assumed_default => (i, k),
                None => (*from, *index),
            })
            .collect();
        let in_place = at.iter().enumerate().all(|(k, w)| *w == (i, k));
        let written = match in_place {
            true => Vec::new(),
            false => at
                .into_iter()
                .map(|(from, index)| (roles[from].node_ref(), index))
                .collect(),
        };
        roles[i].rules = rules.into_iter().map(|(r, _)| r).collect();
        roles[i].written = written;
    }
}

/// Strongly connected components of a graph given as adjacency lists, each component after
/// every component it has edges to (Tarjan's algorithm, without recursion).
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = edges.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // (node, position in its edge list)
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut pos)) = work.last_mut() {
            if let Some(&w) = edges[v].get(*pos) {
                *pos += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(comp);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
