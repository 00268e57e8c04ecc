//! Remedies: the configuration change that removes a technique edge — a subject taken out of a
//! binding, a field of a pod template, a Service's type, a legacy token Secret deleted — as a
//! JSON Patch (RFC 6902) on the object that holds it, with its cost and what else it takes away.
//!
//! The graph builders attach remedies where they read the precondition
//! ([`super::AttackGraph::edge_fixed`]); the fix plan ([`super::fixplan`]) chooses among them.
//! Every remedy only removes a precondition, never adds one, so an edge absent before a fix
//! stays absent after it and the plan can be proven on the graph itself.

use crate::inventory::{ContainerRef, PodTemplate};
use crate::object::Object;
use crate::pointer::Pointer as _;
use crate::rbac::{Association, BindingDef, RoleDef, Subject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The object a remedy changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    /// Cluster.
    pub cluster: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace, for namespaced objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl Target {
    /// The target of an object of `cluster`.
    pub fn of(cluster: &str, o: &Object) -> Target {
        Target {
            cluster: cluster.to_string(),
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            namespace: o.effective_namespace().map(str::to_string),
            name: o.name.clone(),
        }
    }

    /// kspm's copy of a provider document (`cloud.kspm.io/v1`, no namespace).
    pub fn document(cluster: &str, kind: &str, name: &str) -> Target {
        Target {
            cluster: cluster.to_string(),
            api_version: crate::cloud::kinds::CLOUD_API_VERSION.to_string(),
            kind: kind.to_string(),
            namespace: None,
            name: name.to_string(),
        }
    }

    /// `Kind:namespace/name` or `Kind:name`, as graph nodes and findings name objects.
    pub fn reference(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}:{ns}/{}", self.kind, self.name),
            None => format!("{}:{}", self.kind, self.name),
        }
    }

    /// The resource name kubectl takes (`deployment.apps`, `rolebinding.rbac.authorization.k8s.io`).
    fn kubectl_resource(&self) -> String {
        let kind = self.kind.to_ascii_lowercase();
        // Kind and group are input: quoted for the shell like every other word.
        shell_word(&match self.api_version.split_once('/') {
            Some((group, _)) => format!("{kind}.{group}"),
            None => kind,
        })
    }

    /// `kubectl --context C [-n NS]` for this object.
    fn kubectl(&self) -> String {
        let mut out = format!("kubectl --context {}", shell_word(&self.cluster));
        if let Some(ns) = &self.namespace {
            out.push_str(&format!(" -n {}", shell_word(ns)));
        }
        out
    }
}

/// One change to one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remedy {
    /// The object.
    pub target: Target,
    /// The change, in words.
    pub change: String,
    /// The fields it changes or removes, as findings' evidence names them
    /// (`spec.template.spec.containers[0].securityContext.privileged`).
    pub fields: Vec<String>,
    /// JSON Patch operations on the object (each removal guarded by a `test` of what it
    /// removes); empty when the object is deleted.
    pub ops: Vec<Value>,
    /// Whether the change deletes the object.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete: bool,
    /// Relative cost: 1 a grant to a person or an unused identity, or a long-lived token; 2 a
    /// security setting of a workload; 3 a mount the workload may use, or a grant its
    /// workloads use; 5 the workload's exposure itself.
    pub cost: u32,
    /// Why the change is not the cluster owner's to make (Kubernetes or the provider owns the
    /// object), when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfixable: Option<String>,
    /// What else the change takes away, so nobody breaks production blind.
    pub loses: Vec<String>,
    /// For a subject taken out of a binding: how many subjects of the binding can match
    /// someone (when all go, the binding grants nothing and its findings go with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding_subjects: Option<usize>,
    /// The command that makes the change outside Kubernetes (a cloud CLI), when it is one; the
    /// JSON Patch then applies to kspm's copy of the cloud document (`spec` is its answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cli: Option<String>,
    /// For a change that rewrites a whole value another change of the same object may rewrite
    /// too: what it removes, so that the changes chosen together are made as one
    /// ([`combine`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose: Option<Compose>,
}

/// What a whole-value rewrite takes out (see [`Remedy::compose`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Compose {
    /// Entries of `kube-system/aws-auth`'s `mapRoles` or `mapUsers` naming an ARN.
    AwsAuth {
        /// `mapRoles` or `mapUsers`.
        key: String,
        /// The ARN.
        arn: String,
    },
    /// A role's trust in an OIDC provider.
    Trust {
        /// The provider's ARN.
        provider: String,
        /// The role's name.
        role: String,
    },
    /// An Entra group of an AKS cluster's admin groups.
    AdminGroup {
        /// The group.
        group: String,
        /// Every admin group, as the cluster lists them.
        list: Vec<String>,
        /// The cluster's resource group.
        resource_group: String,
        /// The cluster's name.
        name: String,
    },
    /// An Ingress's routes to a Service.
    Unroute {
        /// The Service.
        backend: String,
        /// The Ingress as read.
        ingress: Value,
    },
}

/// What makes two remedies the same change.
pub type RemedyKey = (Target, String);

impl Remedy {
    /// Its identity: the object and the change.
    pub fn key(&self) -> RemedyKey {
        (self.target.clone(), self.change.clone())
    }

    /// Takes `subject` out of a (Cluster)RoleBinding: every entry of its `subjects` that names
    /// it. Bindings kspm assumed (Kubernetes defaults the snapshot lacks) and those Kubernetes or
    /// the provider own are not the cluster owner's to change. A ServiceAccount that workloads
    /// run as (`runs_as`) costs more: they lose the rights too.
    pub fn remove_subject(
        cluster: &str,
        binding: &BindingDef,
        role: Option<&RoleDef>,
        subject: &Subject,
        runs_as: &[String],
    ) -> Remedy {
        if binding.synthetic {
            return match &binding.association {
                Some(a) => Remedy::disassociate(cluster, a, subject),
                None => Remedy {
                    unfixable: Some("a grant kspm could not tie to its source".to_string()),
                    ..Remedy::remove_subject_of(cluster, binding, role, subject, runs_as)
                },
            };
        }
        Remedy::remove_subject_of(cluster, binding, role, subject, runs_as)
    }

    fn remove_subject_of(
        cluster: &str,
        binding: &BindingDef,
        role: Option<&RoleDef>,
        subject: &Subject,
        runs_as: &[String],
    ) -> Remedy {
        let kind = if binding.namespace.is_some() {
            "RoleBinding"
        } else {
            "ClusterRoleBinding"
        };
        let mut positions: Vec<usize> = binding
            .subjects
            .iter()
            .zip(&binding.positions)
            .filter(|(s, _)| *s == subject)
            .map(|(_, p)| *p)
            .collect();
        positions.sort_unstable();
        let name = match subject {
            Subject::User { name } | Subject::Group { name } => name,
            Subject::ServiceAccount { name, .. } => name,
        };
        let mut ops = Vec::new();
        for p in &positions {
            ops.push(json!({"op": "test", "path": format!("/subjects/{p}/name"), "value": name}));
            ops.push(json!({"op": "remove", "path": format!("/subjects/{p}")}));
        }
        let role_name = role.map_or_else(|| binding.role_ref.clone(), RoleDef::node_ref);
        let who = match subject {
            Subject::Group { .. } => format!("every member of {}", subject.node_ref()),
            _ => subject.node_ref(),
        };
        let rules = role.map_or(0, |r| r.rules.len());
        let unfixable = if binding.assumed_default {
            Some(
                "a Kubernetes default binding (absent from the snapshot, present in every cluster)"
                    .to_string(),
            )
        } else if binding.managed {
            Some("owned by Kubernetes or the provider (what it grants to whom)".to_string())
        } else {
            None
        };
        let mut loses = vec![format!(
            "{who} loses what {role_name} grants through this binding ({rules} rule{})",
            if rules == 1 { "" } else { "s" }
        )];
        if !runs_as.is_empty() {
            const SHOWN: usize = 5;
            let mut names = runs_as[..runs_as.len().min(SHOWN)].join(", ");
            if runs_as.len() > SHOWN {
                names.push_str(&format!(" and {} more", runs_as.len() - SHOWN));
            }
            loses.push(format!(
                "workloads running as {} lose it too: {names}",
                subject.node_ref()
            ));
        }
        Remedy {
            target: Target {
                cluster: cluster.to_string(),
                api_version: "rbac.authorization.k8s.io/v1".to_string(),
                kind: kind.to_string(),
                namespace: binding.namespace.clone(),
                name: binding.name.clone(),
            },
            change: format!("remove subject {} from the binding", subject.node_ref()),
            fields: positions.iter().map(|p| format!("subjects[{p}]")).collect(),
            ops,
            delete: false,
            cost: if runs_as.is_empty() { 1 } else { 3 },
            unfixable,
            loses,
            binding_subjects: Some(
                binding
                    .positions
                    .iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
            ),
            compose: None,
            cli: None,
        }
    }

    /// Disassociates an EKS access policy from its access entry (`aws eks
    /// disassociate-access-policy`); the patch removes it from kspm's copy of the
    /// `ListAssociatedAccessPolicies` answer.
    pub fn disassociate(cluster: &str, a: &Association, subject: &Subject) -> Remedy {
        let path = format!("/spec/associatedAccessPolicies/{}", a.position);
        let policy = a.policy_arn.rsplit('/').next().unwrap_or(&a.policy_arn);
        let eks = if a.cluster_name.is_empty() {
            cluster
        } else {
            &a.cluster_name
        };
        Remedy {
            target: Target::document(cluster, crate::cloud::kinds::EKS_ACCESS_POLICIES, &a.principal_arn),
            change: format!(
                "disassociate access policy {policy} from the access entry of {}",
                a.principal_arn
            ),
            fields: vec![format!("associatedAccessPolicies[{}]", a.position)],
            ops: vec![
                json!({"op": "test", "path": format!("{path}/policyArn"), "value": a.policy_arn}),
                json!({"op": "remove", "path": path}),
            ],
            delete: false,
            cost: 1,
            unfixable: None,
            loses: vec![format!(
                "{} ({}) loses what {policy} grants in the cluster",
                a.principal_arn,
                subject.node_ref()
            )],
            binding_subjects: None,
            compose: None,
            cli: Some(format!(
                "aws eks disassociate-access-policy --cluster-name {} --principal-arn {} --policy-arn {}",
                shell_word(eks),
                shell_word(&a.principal_arn),
                shell_word(&a.policy_arn)
            )),
        }
    }

    /// Takes a member out of a role binding of an IAM policy — a project's (`gcloud projects
    /// remove-iam-policy-binding`), a service account's (`gcloud iam service-accounts
    /// remove-iam-policy-binding`, `resource` `projects/p/serviceAccounts/email`), a folder's
    /// (`gcloud resource-manager folders …`) or an organization's (`gcloud organizations …`);
    /// the patch removes it from kspm's copy of the policy. Google-managed service agents are
    /// Google's, not the owner's, to change.
    pub fn remove_iam_member(
        resource: &str,
        binding: &crate::cloud::gcp::Binding,
        member: &str,
    ) -> Remedy {
        use crate::cloud::gcp::PolicyHolder;
        let holder = PolicyHolder::of(resource);
        let j = binding
            .members
            .iter()
            .position(|m| m == member)
            .unwrap_or_default();
        let path = format!("/spec/bindings/{}/members/{j}", binding.position);
        let agent = member.starts_with("serviceAccount:")
            && (member.contains("@gcp-sa-")
                || member.ends_with("@cloudservices.gserviceaccount.com")
                || member.contains("@container-engine-robot."));
        let condition = if binding.condition.is_some() {
            " --all"
        } else {
            " --condition=None"
        };
        let below = match holder {
            PolicyHolder::Folder(_) | PolicyHolder::Organization(_) => {
                " and in every project below it"
            }
            _ => "",
        };
        let (member_w, role_w) = (shell_word(member), shell_word(&binding.role));
        Remedy {
            target: Target::document(
                &holder.scope(),
                crate::cloud::kinds::GCP_IAM_POLICY,
                resource,
            ),
            change: format!(
                "remove {member} from {}{} on {}",
                binding.role,
                binding
                    .condition
                    .as_ref()
                    .map_or(String::new(), |_| format!(" (conditional binding {})", binding.position)),
                holder.describe()
            ),
            fields: vec![format!("bindings[{}].members[{j}]", binding.position)],
            ops: vec![
                json!({"op": "test", "path": path, "value": member}),
                json!({"op": "remove", "path": path}),
            ],
            delete: false,
            // The owner role is the project itself; editor and service accounts are in use.
            cost: match binding.role.as_str() {
                "roles/owner" => 5,
                "roles/editor" => 3,
                _ if member.starts_with("serviceAccount:") => 3,
                _ => 1,
            },
            unfixable: agent.then(|| "a Google-managed service agent".to_string()),
            loses: vec![format!(
                "{member} loses {} on {}: everything the role grants there{below}, not only in this cluster{}",
                binding.role,
                holder.describe(),
                if binding.condition.is_some() {
                    " (every conditional binding of the role for the member goes with --all)"
                } else {
                    ""
                }
            )],
            binding_subjects: None,
            compose: None,
            cli: Some(match holder {
                PolicyHolder::ServiceAccount { project, email } => format!(
                    "gcloud iam service-accounts remove-iam-policy-binding {} --project={} --member={member_w} --role={role_w}{condition}",
                    shell_word(email),
                    shell_word(project),
                ),
                PolicyHolder::Project(project) => format!(
                    "gcloud projects remove-iam-policy-binding {} --member={member_w} --role={role_w}{condition}",
                    shell_word(project),
                ),
                PolicyHolder::Folder(id) => format!(
                    "gcloud resource-manager folders remove-iam-policy-binding {} --member={member_w} --role={role_w}{condition}",
                    shell_word(id),
                ),
                PolicyHolder::Organization(id) => format!(
                    "gcloud organizations remove-iam-policy-binding {} --member={member_w} --role={role_w}{condition}",
                    shell_word(id),
                ),
            }),
        }
    }

    /// Deletes an Azure role assignment (`az role assignment delete`); kspm's document of it
    /// goes too.
    pub fn delete_role_assignment(cluster: &str, a: &crate::cloud::azure::Assignment) -> Remedy {
        Remedy {
            target: Target::document(
                cluster,
                crate::cloud::kinds::AZURE_ROLE_ASSIGNMENT,
                &a.document,
            ),
            change: format!(
                "delete the assignment of {} to {} {} at {}",
                a.role, a.principal_type, a.principal_id, a.scope
            ),
            fields: Vec::new(),
            ops: Vec::new(),
            delete: true,
            cost: if a.principal_type == "ServicePrincipal" {
                3
            } else {
                1
            },
            unfixable: None,
            loses: vec![format!(
                "{} {} loses {} at {}: everything the role grants there, not only in this cluster",
                a.principal_type, a.principal_id, a.role, a.scope
            )],
            binding_subjects: None,
            compose: None,
            cli: Some(format!(
                "az role assignment delete --ids {}",
                shell_word(&a.id)
            )),
        }
    }

    /// Deletes a federated identity credential of a managed identity (`az identity
    /// federated-credential delete`); kspm's document of it goes too.
    pub fn delete_federated_credential(
        cluster: &str,
        identity: &str,
        fic: &crate::cloud::azure::FederatedCredential,
    ) -> Remedy {
        // …/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID/federatedIdentityCredentials/NAME
        let after = |key: &str| crate::cloud::documents::arm_id_segment(&fic.id, key);
        Remedy {
            target: Target::document(cluster, crate::cloud::kinds::AZURE_FEDERATED_CREDENTIAL, &fic.document),
            change: format!(
                "delete the federated credential of {identity} that trusts {}",
                fic.subject
            ),
            fields: Vec::new(),
            ops: Vec::new(),
            delete: true,
            cost: 3,
            unfixable: None,
            loses: vec![format!(
                "{} can no longer act as {identity} (its workloads need another credential)",
                fic.subject
            )],
            binding_subjects: None,
            compose: None,
            cli: Some(format!(
                "az identity federated-credential delete --name {} --identity-name {} --resource-group {} --yes",
                shell_word(after("federatedIdentityCredentials")),
                shell_word(after("userAssignedIdentities")),
                shell_word(after("resourceGroups"))
            )),
        }
    }

    /// Removes an IAM principal's entries from `kube-system/aws-auth` (`data.mapRoles` or
    /// `mapUsers` rewritten; the patch tests the text it replaces).
    pub fn remove_aws_auth_mapping(
        cluster: &str,
        arn: &str,
        (key, old, new): (&str, String, String),
    ) -> Remedy {
        let path = format!("/data/{key}");
        Remedy {
            target: Target {
                cluster: cluster.to_string(),
                api_version: "v1".to_string(),
                kind: "ConfigMap".to_string(),
                namespace: Some("kube-system".to_string()),
                name: "aws-auth".to_string(),
            },
            change: format!("remove {arn} from {key} of aws-auth"),
            fields: vec![format!("data.{key}")],
            ops: vec![
                json!({"op": "test", "path": path, "value": old}),
                json!({"op": "replace", "path": path, "value": new}),
            ],
            delete: false,
            cost: 1,
            unfixable: None,
            loses: vec![format!(
                "{arn} no longer authenticates to the cluster through aws-auth (an access entry can grant what it needs)"
            )],
            binding_subjects: None,
            compose: Some(Compose::AwsAuth {
                key: key.to_string(),
                arn: arn.to_string(),
            }),
            cli: None,
        }
    }

    /// Rewrites an IAM role's trust policy without some statements (`aws iam
    /// update-assume-role-policy`); the patch replaces the document in kspm's copy of the
    /// `get-account-authorization-details` page (`page`, the role at `index` of its
    /// `RoleDetailList`), testing the one it replaces.
    #[allow(clippy::too_many_arguments)]
    pub fn rewrite_trust(
        cluster: &str,
        page: &str,
        index: usize,
        role_arn: &str,
        provider: &str,
        old: &Value,
        new: &Value,
        what: &str,
    ) -> Remedy {
        let path = format!("/spec/RoleDetailList/{index}/AssumeRolePolicyDocument");
        let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
        Remedy {
            target: Target::document(cluster, crate::cloud::kinds::AWS_AUTHORIZATION_DETAILS, page),
            change: format!("remove {what} from the trust policy of {role_arn}"),
            fields: vec![format!("RoleDetailList[{index}].AssumeRolePolicyDocument")],
            ops: vec![
                json!({"op": "test", "path": path, "value": old}),
                json!({"op": "replace", "path": path, "value": new}),
            ],
            delete: false,
            cost: 3,
            unfixable: None,
            loses: vec![format!(
                "the ServiceAccounts {what} admitted can no longer assume {role_arn}: the workloads that use it need another role"
            )],
            binding_subjects: None,
            compose: Some(Compose::Trust {
                provider: provider.to_string(),
                role: name.to_string(),
            }),
            cli: Some(format!(
                "aws iam update-assume-role-policy --role-name {} --policy-document {}",
                shell_word(name),
                shell_word(&new.to_string())
            )),
        }
    }

    /// Takes an Entra group out of an AKS cluster's `aadProfile.adminGroupObjectIDs` (`az aks
    /// update --aad-admin-group-object-ids` with the rest); the patch removes it from kspm's
    /// copy of the cluster. The last admin group cannot go this way (the CLI needs one).
    pub fn remove_admin_group(
        cluster: &str,
        f: &crate::cloud::azure::AksFacts,
        group: &str,
    ) -> Option<Remedy> {
        let (document, pointer, list) = f.admin_groups_at.as_ref()?;
        let at = list.iter().position(|g| g.as_str() == Some(group))?;
        let rest: Vec<&str> = list
            .iter()
            .filter(|g| g.as_str() != Some(group))
            .filter_map(Value::as_str)
            .collect();
        let path = format!("{pointer}/{at}");
        Some(Remedy {
            target: Target::document(cluster, crate::cloud::kinds::AKS_CLUSTER, document),
            change: format!("remove Entra group {group} from aadProfile.adminGroupObjectIDs"),
            fields: vec![format!("aadProfile.adminGroupObjectIDs[{at}]")],
            ops: vec![
                json!({"op": "test", "path": path, "value": group}),
                json!({"op": "remove", "path": path}),
            ],
            delete: false,
            cost: 1,
            unfixable: rest
                .is_empty()
                .then(|| "the cluster's only admin group (Entra-integrated AKS needs one)".to_string()),
            loses: vec![format!(
                "members of Entra group {group} are no longer cluster-admin (Azure RBAC or RBAC bindings can grant what they need)"
            )],
            binding_subjects: None,
            compose: Some(Compose::AdminGroup {
                group: group.to_string(),
                list: list
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                resource_group: f.resource_group.clone(),
                name: f.name.clone(),
            }),
            cli: Some(format!(
                "az aks update --resource-group {} --name {} --aad-admin-group-object-ids {}",
                shell_word(&f.resource_group),
                shell_word(&f.name),
                shell_word(&rest.join(","))
            )),
        })
    }

    /// Stops an Ingress routing to Service `backend`: its rule paths to it go (a rule left
    /// without paths goes whole), its default backend if that is the Service; when nothing
    /// would be left to route, the Ingress is deleted instead.
    pub fn unroute(cluster: &str, ingress: &Object, backend: &str) -> Remedy {
        let (ops, fields, delete) = unroute_ops(&ingress.body, &[backend.to_string()]);
        Remedy {
            target: Target::of(cluster, ingress),
            change: if delete {
                format!("delete the Ingress (it routes only to Service {backend})")
            } else {
                format!("remove the Ingress's routes to Service {backend}")
            },
            fields: if delete { Vec::new() } else { fields },
            ops: if delete { Vec::new() } else { ops },
            delete,
            cost: 4,
            unfixable: None,
            loses: vec![format!(
                "Service {backend} is no longer served from outside through {}",
                ingress.node_ref()
            )],
            binding_subjects: None,
            compose: Some(Compose::Unroute {
                backend: backend.to_string(),
                ingress: ingress.body.clone(),
            }),
            cli: None,
        }
    }

    /// Takes one of an IAM principal's policies away: detaches a managed policy, deletes an
    /// inline one, or takes a user out of a group (`aws iam detach-role-policy`,
    /// `delete-role-policy`, `detach-user-policy`, `delete-user-policy`,
    /// `remove-user-from-group`); the patch removes it from kspm's copy of the
    /// `get-account-authorization-details` page.
    pub fn drop_policy(
        cluster: &str,
        account: &crate::cloud::aws_account::Account,
        principal: &crate::cloud::aws_account::Role,
        source: &crate::cloud::aws_account::PolicySource,
    ) -> Option<Remedy> {
        use crate::cloud::aws_account::PolicySource as S;
        // Taking administrator rights from a principal is a larger change than a narrow grant.
        let grants: Vec<crate::cloud::aws_iam::Policy> = principal
            .policies
            .iter()
            .zip(&principal.sources)
            .filter(|(_, s)| *s == source)
            .map(|(p, _)| p.clone())
            .collect();
        let admin = crate::cloud::aws_iam::is_admin(&grants, None);
        let (page, at) = principal.origin?;
        let page = account.pages.get(page)?;
        let user = principal.arn.contains(":user/");
        let name = principal
            .full_arn
            .rsplit('/')
            .next()
            .unwrap_or(&principal.arn);
        let (list, kind, flag) = if user {
            ("UserDetailList", "user", "--user-name")
        } else {
            ("RoleDetailList", "role", "--role-name")
        };
        let base = format!("/spec/{list}/{at}");
        let (path, test, value, change, cli) = match source {
            S::Inline(k, policy) => (
                format!(
                    "{base}/{}PolicyList/{k}",
                    if user { "User" } else { "Role" }
                ),
                "PolicyName",
                policy.clone(),
                format!("delete inline policy {policy} of {}", principal.arn),
                format!(
                    "aws iam delete-{kind}-policy {flag} {} --policy-name {}",
                    shell_word(name),
                    shell_word(policy)
                ),
            ),
            S::Managed(k, arn) => (
                format!("{base}/AttachedManagedPolicies/{k}"),
                "PolicyArn",
                arn.clone(),
                format!("detach {arn} from {}", principal.arn),
                format!(
                    "aws iam detach-{kind}-policy {flag} {} --policy-arn {}",
                    shell_word(name),
                    shell_word(arn)
                ),
            ),
            S::Group(k, group) => (
                format!("{base}/GroupList/{k}"),
                "",
                group.clone(),
                format!("remove {} from group {group}", principal.arn),
                format!(
                    "aws iam remove-user-from-group --user-name {} --group-name {}",
                    shell_word(name),
                    shell_word(group)
                ),
            ),
        };
        let test_path = if test.is_empty() {
            path.clone()
        } else {
            format!("{path}/{test}")
        };
        Some(Remedy {
            target: Target::document(
                cluster,
                crate::cloud::kinds::AWS_AUTHORIZATION_DETAILS,
                page,
            ),
            change,
            fields: vec![path.trim_start_matches("/spec/").replace('/', ".")],
            ops: vec![
                json!({"op": "test", "path": test_path, "value": value}),
                json!({"op": "remove", "path": path}),
            ],
            delete: false,
            cost: if admin { 5 } else { 3 },
            unfixable: None,
            loses: vec![format!(
                "{} loses every permission {value} gives it, in every service{}",
                principal.arn,
                if admin { " (administrator access)" } else { "" }
            )],
            binding_subjects: None,
            compose: None,
            cli: Some(cli),
        })
    }

    /// `privileged: false` on a container.
    pub fn unprivilege(cluster: &str, t: &PodTemplate<'_>, c: &ContainerRef<'_>) -> Remedy {
        let path = container_pointer(t, c, "securityContext/privileged");
        Remedy::template(
            cluster,
            t,
            format!("set securityContext.privileged: false on {} `{}`", singular(c.list), c.name),
            vec![t.container_path(c, "securityContext.privileged")],
            vec![json!({"op": "replace", "path": path, "value": false})],
            2,
            vec![format!(
                "{} `{}` loses the host's devices and every capability (an agent that manages the node may need them)",
                singular(c.list),
                c.name
            )],
        )
    }

    /// Removes each entry of a container's `capabilities.add` that grants `capability`
    /// (itself or `ALL`, in any spelling): one remedy per entry.
    pub fn drop_capability(
        cluster: &str,
        t: &PodTemplate<'_>,
        c: &ContainerRef<'_>,
        capability: &str,
    ) -> Vec<Remedy> {
        c.container
            .at("/securityContext/capabilities/add")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, v)| {
                let raw = v.as_str()?;
                let n = crate::inventory::normalise_capability(raw);
                (n == capability || n == "ALL").then(|| {
                    let path = container_pointer(t, c, &format!("securityContext/capabilities/add/{i}"));
                    Remedy::template(
                        cluster,
                        t,
                        format!(
                            "remove {raw} (entry {i}) from securityContext.capabilities.add of {} `{}`",
                            singular(c.list),
                            c.name
                        ),
                        vec![t.container_path(c, &format!("securityContext.capabilities.add[{i}]"))],
                        vec![
                            json!({"op": "test", "path": path, "value": raw}),
                            json!({"op": "remove", "path": path}),
                        ],
                        2,
                        vec![format!("{} `{}` loses {raw}", singular(c.list), c.name)],
                    )
                })
            })
            .collect()
    }

    /// Removes a container's mounts of volume `volume` (the volume itself stays for others).
    pub fn unmount(
        cluster: &str,
        t: &PodTemplate<'_>,
        c: &ContainerRef<'_>,
        volume: &str,
        what: &str,
    ) -> Vec<Remedy> {
        c.container
            .get("volumeMounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, m)| m.get("name").and_then(Value::as_str) == Some(volume))
            .map(|(i, _)| {
                let path = container_pointer(t, c, &format!("volumeMounts/{i}"));
                Remedy::template(
                    cluster,
                    t,
                    format!(
                        "remove mount {i} (volume `{volume}`, {what}) from {} `{}`",
                        singular(c.list),
                        c.name
                    ),
                    vec![t.container_path(c, &format!("volumeMounts[{i}]"))],
                    vec![
                        json!({"op": "test", "path": format!("{path}/name"), "value": volume}),
                        json!({"op": "remove", "path": path}),
                    ],
                    3,
                    vec![format!(
                        "{} `{}` no longer sees {what}",
                        singular(c.list),
                        c.name
                    )],
                )
            })
            .collect()
    }

    /// `automountServiceAccountToken: false` on the pod template. Costs more when RBAC grants
    /// the ServiceAccount something (`granted`): the application likely calls the API.
    pub fn no_automount(
        cluster: &str,
        t: &PodTemplate<'_>,
        service_account: &str,
        granted: bool,
    ) -> Remedy {
        let mut loses = vec![format!(
            "the pods no longer hold ServiceAccount {service_account}'s token: an application that calls the Kubernetes API needs a projected token volume instead"
        )];
        if granted {
            loses.push(format!(
                "RBAC grants {service_account} rights, so the application probably uses them"
            ));
        }
        Remedy::template(
            cluster,
            t,
            "set automountServiceAccountToken: false on the pod template".to_string(),
            vec![t.path("automountServiceAccountToken")],
            vec![
                json!({"op": "add", "path": format!("{}/automountServiceAccountToken", spec_pointer(t)), "value": false}),
            ],
            if granted { 3 } else { 2 },
            loses,
        )
    }

    /// Type `ClusterIP` for a Service of type LoadBalancer or NodePort.
    pub fn internal_service(cluster: &str, s: &Object, ty: &str) -> Remedy {
        Remedy {
            target: Target::of(cluster, s),
            change: format!("change the Service's type from {ty} to ClusterIP"),
            fields: vec!["spec.type".to_string()],
            ops: vec![
                json!({"op": "test", "path": "/spec/type", "value": ty}),
                json!({"op": "replace", "path": "/spec/type", "value": "ClusterIP"}),
            ],
            delete: false,
            cost: 5,
            unfixable: None,
            binding_subjects: None,
            compose: None,
            cli: None,
            loses: vec![format!(
                "{} is no longer reachable from outside the cluster (clients, and Ingresses it serves, must reach it another way)",
                s.node_ref()
            )],
        }
    }

    /// Deletes a legacy (long-lived) ServiceAccount token Secret.
    pub fn delete_token_secret(cluster: &str, s: &Object, service_account: &str) -> Remedy {
        Remedy {
            target: Target::of(cluster, s),
            change: "delete the long-lived token Secret".to_string(),
            fields: Vec::new(),
            ops: Vec::new(),
            delete: true,
            cost: 1,
            unfixable: None,
            binding_subjects: None,
            compose: None,
            cli: None,
            loses: vec![format!(
                "whatever uses this token as ServiceAccount {service_account} must request a short-lived one (TokenRequest) instead"
            )],
        }
    }

    fn template(
        cluster: &str,
        t: &PodTemplate<'_>,
        change: String,
        fields: Vec<String>,
        ops: Vec<Value>,
        cost: u32,
        loses: Vec<String>,
    ) -> Remedy {
        // The platform's own namespaces hold its agents (CNI, CSI, kube-proxy): changing them
        // is possible but rarely what anyone should do first.
        let platform = matches!(
            t.owner.effective_namespace(),
            Some("kube-system" | "kube-public" | "kube-node-lease")
        );
        let mut loses = loses;
        if platform {
            loses.push(format!(
                "{} is in a namespace of the platform's own components: check that it is not a node agent that needs this",
                t.owner.node_ref()
            ));
        }
        Remedy {
            target: Target::of(cluster, t.owner),
            change,
            fields,
            ops,
            delete: false,
            cost: if platform { cost + 3 } else { cost },
            unfixable: None,
            loses,
            binding_subjects: None,
            compose: None,
            cli: None,
        }
    }

    /// Whether the change touches `field` of its object (a finding's evidence path): the field
    /// itself or something inside what it changes.
    pub fn touches(&self, field: &str) -> bool {
        self.delete
            || self.fields.iter().any(|f| {
                field == f
                    || field
                        .strip_prefix(f.as_str())
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            })
    }
}

/// The changes to one object merged into one JSON Patch: removals in an array run from the
/// last position to the first (so no removal moves another's target), each `test` just before
/// what it guards.
pub fn merged_patch(remedies: &[&Remedy]) -> Vec<Value> {
    let mut ops: Vec<(Vec<PathPart>, usize, Value)> = Vec::new();
    for r in remedies {
        for (k, op) in r.ops.iter().enumerate() {
            let path = op.get("path").and_then(Value::as_str).unwrap_or("");
            // A test guards the removal after it: same sort position, test first.
            let (key_path, order) = match op.get("op").and_then(Value::as_str) {
                Some("test") => {
                    let next = r
                        .ops
                        .get(k + 1)
                        .and_then(|n| n.get("path"))
                        .and_then(Value::as_str);
                    (next.unwrap_or(path), 0)
                }
                _ => (path, 1),
            };
            ops.push((split_pointer(key_path), order, op.clone()));
        }
    }
    ops.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ops.dedup_by(|a, b| a.2 == b.2);
    ops.into_iter().map(|(_, _, op)| op).collect()
}

/// The JSON Patch that stops an Ingress (`body` as read) routing to any of `backends`, with the
/// fields it removes, or `delete` when nothing would be left to route: rule paths to them go
/// (each guarded by a test of its Service), a rule left without paths goes whole (the API server
/// rejects an empty one), the default backend if it is one of them.
pub fn unroute_ops(body: &Value, backends: &[String]) -> (Vec<Value>, Vec<String>, bool) {
    let name_of = |b: &Value| {
        b.at("/service/name")
            .or_else(|| b.get("serviceName"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let service_field = |b: &Value| {
        if b.get("service").is_some() {
            "/service/name"
        } else {
            "/serviceName"
        }
    };
    let ours = |b: &Value| name_of(b).is_some_and(|n| backends.contains(&n));
    let mut ops = Vec::new();
    let mut fields = Vec::new();
    let mut left = 0;
    for field in ["defaultBackend", "backend"] {
        if let Some(b) = body.at(&format!("/spec/{field}")) {
            if ours(b) {
                let path = format!("/spec/{field}");
                ops.push(json!({"op": "test", "path": format!("{path}{}", service_field(b)), "value": name_of(b)}));
                ops.push(json!({"op": "remove", "path": path}));
                fields.push(format!("spec.{field}"));
            } else {
                left += 1;
            }
        }
    }
    let rules = body
        .at("/spec/rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (r, rule) in rules.iter().enumerate() {
        let paths = rule
            .at("/http/paths")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let gone: Vec<(usize, &Value)> = paths
            .iter()
            .enumerate()
            .filter(|(_, p)| p.get("backend").is_some_and(ours))
            .collect();
        if gone.is_empty() {
            left += 1;
            continue;
        }
        if gone.len() == paths.len() {
            for (p, path) in &gone {
                let b = &path["backend"];
                ops.push(json!({"op": "test", "path": format!("/spec/rules/{r}/http/paths/{p}/backend{}", service_field(b)), "value": name_of(b)}));
            }
            ops.push(json!({"op": "remove", "path": format!("/spec/rules/{r}")}));
            fields.push(format!("spec.rules[{r}]"));
            continue;
        }
        left += 1;
        for (p, path) in gone {
            let b = &path["backend"];
            let at = format!("/spec/rules/{r}/http/paths/{p}");
            ops.push(json!({"op": "test", "path": format!("{at}/backend{}", service_field(b)), "value": name_of(b)}));
            ops.push(json!({"op": "remove", "path": at}));
            fields.push(format!("spec.rules[{r}].http.paths[{p}]"));
        }
    }
    (ops, fields, left == 0)
}

/// The changes chosen for one object, those that rewrite a whole value made as one: aws-auth
/// lists without every ARN chosen, a trust policy without every provider chosen, an AKS
/// cluster's admin groups without every group chosen (one command), an Ingress without every
/// route chosen. The others are returned as they are.
pub fn combine(remedies: &[&Remedy]) -> Vec<Remedy> {
    let mut out: Vec<Remedy> = Vec::new();
    let mut groups: BTreeMap<String, Vec<&Remedy>> = BTreeMap::new();
    for r in remedies {
        let key = match &r.compose {
            None => {
                out.push((*r).clone());
                continue;
            }
            Some(Compose::AwsAuth { key, .. }) => format!("aws-auth {key}"),
            Some(Compose::Trust { role, .. }) => format!("trust {role}"),
            Some(Compose::AdminGroup { .. }) => "admin groups".to_string(),
            Some(Compose::Unroute { .. }) => "ingress".to_string(),
        };
        groups.entry(key).or_default().push(r);
    }
    for (_, rs) in groups {
        let mut first = rs[0].clone();
        let test_value = rs[0].ops.first().and_then(|o| o.get("value")).cloned();
        match &rs[0].compose {
            Some(Compose::AwsAuth { key, .. }) => {
                let arns: Vec<String> = rs
                    .iter()
                    .filter_map(|r| match &r.compose {
                        Some(Compose::AwsAuth { arn, .. }) => Some(arn.clone()),
                        _ => None,
                    })
                    .collect();
                let old = test_value.as_ref().and_then(Value::as_str).unwrap_or("");
                if let Some(new) = crate::cloud::aws_auth::rewrite(old, key == "mapRoles", &arns) {
                    let path = format!("/data/{key}");
                    first.ops = vec![
                        json!({"op": "test", "path": path, "value": old}),
                        json!({"op": "replace", "path": path, "value": new}),
                    ];
                }
            }
            Some(Compose::Trust { role, .. }) => {
                let providers: Vec<String> = rs
                    .iter()
                    .filter_map(|r| match &r.compose {
                        Some(Compose::Trust { provider, .. }) => Some(provider.clone()),
                        _ => None,
                    })
                    .collect();
                let path = rs[0].ops.first().and_then(|o| o.get("path")).cloned();
                if let (Some(old), Some(path)) = (test_value, path) {
                    if let Some((new, _)) = super::cloud::trust_without(&old, &providers) {
                        first.ops = vec![
                            json!({"op": "test", "path": path, "value": old}),
                            json!({"op": "replace", "path": path, "value": new}),
                        ];
                        first.cli = Some(format!(
                            "aws iam update-assume-role-policy --role-name {} --policy-document {}",
                            shell_word(role),
                            shell_word(&new.to_string())
                        ));
                    }
                }
            }
            Some(Compose::AdminGroup {
                list,
                resource_group,
                name,
                ..
            }) => {
                // Removals by position compose; the command sets the list once.
                let gone: Vec<&str> = rs
                    .iter()
                    .filter_map(|r| match &r.compose {
                        Some(Compose::AdminGroup { group, .. }) => Some(group.as_str()),
                        _ => None,
                    })
                    .collect();
                let rest: Vec<&str> = list
                    .iter()
                    .map(String::as_str)
                    .filter(|g| !gone.contains(g))
                    .collect();
                first.ops = rs.iter().flat_map(|r| r.ops.clone()).collect();
                first.cli = Some(if rest.is_empty() {
                    "# AKS needs an admin group: add another before removing these (az aks update --aad-admin-group-object-ids NEW)".to_string()
                } else {
                    format!(
                        "az aks update --resource-group {} --name {} --aad-admin-group-object-ids {}",
                        shell_word(resource_group),
                        shell_word(name),
                        shell_word(&rest.join(","))
                    )
                });
            }
            Some(Compose::Unroute { ingress, .. }) => {
                let backends: Vec<String> = rs
                    .iter()
                    .filter_map(|r| match &r.compose {
                        Some(Compose::Unroute { backend, .. }) => Some(backend.clone()),
                        _ => None,
                    })
                    .collect();
                let (ops, _, delete) = unroute_ops(ingress, &backends);
                first.delete = delete;
                first.ops = if delete { Vec::new() } else { ops };
            }
            None => {}
        }
        out.push(first);
    }
    out
}

/// The command that applies the merged changes to one object.
pub fn command(target: &Target, remedies: &[&Remedy]) -> String {
    let cli: Vec<&str> = remedies.iter().filter_map(|r| r.cli.as_deref()).collect();
    if !cli.is_empty() {
        return cli.join(" && ");
    }
    let kubectl = target.kubectl();
    let resource = target.kubectl_resource();
    let name = shell_word(&target.name);
    if remedies.iter().any(|r| r.delete) {
        return format!("{kubectl} delete {resource} {name}");
    }
    let patch = shell_word(&Value::Array(merged_patch(remedies)).to_string());
    if target.kind == "Pod" {
        // A running pod's spec is immutable: recreate it patched.
        return format!(
            "{kubectl} get pod {name} -o json | kubectl patch --local -f - --type json -p {patch} -o json | {kubectl} replace --force -f -"
        );
    }
    format!("{kubectl} patch {resource} {name} --type json -p {patch}")
}

/// A JSON pointer split into its parts, array positions compared as numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PathPart {
    Index(usize),
    Key(String),
}

fn split_pointer(p: &str) -> Vec<PathPart> {
    p.split('/')
        .skip(1)
        .map(|s| match s.parse::<usize>() {
            Ok(i) => PathPart::Index(i),
            Err(_) => PathPart::Key(s.replace("~1", "/").replace("~0", "~")),
        })
        .collect()
}

/// The JSON pointer of a template's pod spec (`/spec/template/spec`).
fn spec_pointer(t: &PodTemplate<'_>) -> String {
    format!("/{}", t.spec_path.replace('.', "/"))
}

fn container_pointer(t: &PodTemplate<'_>, c: &ContainerRef<'_>, rel: &str) -> String {
    format!("{}/{}/{}/{rel}", spec_pointer(t), c.list, c.index)
}

fn singular(list: &str) -> &'static str {
    match list {
        "initContainers" => "init container",
        "ephemeralContainers" => "ephemeral container",
        _ => "container",
    }
}

/// A word as a POSIX shell reads it back unchanged.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@=,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Applies JSON Patch operations (add, remove, replace, test) to a document; the first that
/// fails stops it with the reason. For tests and previews: kspm never writes to a cluster.
pub fn apply_patch(doc: &mut Value, ops: &[Value]) -> Result<(), String> {
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op.get("path").and_then(Value::as_str).unwrap_or("");
        let (parent, last) = match path.rsplit_once('/') {
            Some(x) => x,
            None => return Err(format!("bad path {path:?}")),
        };
        let last = last.replace("~1", "/").replace("~0", "~");
        match kind {
            "test" => {
                if doc.at(path) != op.get("value") {
                    return Err(format!("test failed at {path}"));
                }
            }
            "remove" | "replace" | "add" => {
                let value = op.get("value").cloned();
                let target = doc
                    .pointer_mut(parent)
                    .ok_or_else(|| format!("no {parent} for {path}"))?;
                match target {
                    Value::Object(m) => {
                        if kind == "remove" {
                            m.remove(&last).ok_or_else(|| format!("no {path}"))?;
                        } else {
                            if kind == "replace" && !m.contains_key(&last) {
                                return Err(format!("no {path} to replace"));
                            }
                            m.insert(last, value.unwrap_or(Value::Null));
                        }
                    }
                    Value::Array(a) => {
                        let i = if kind == "add" && last == "-" {
                            a.len()
                        } else {
                            last.parse().map_err(|_| format!("bad index in {path}"))?
                        };
                        let limit = if kind == "add" { a.len() + 1 } else { a.len() };
                        if i >= limit {
                            return Err(format!("no {path}"));
                        }
                        let v = value.unwrap_or(Value::Null);
                        match kind {
                            "remove" => {
                                a.remove(i);
                            }
                            "add" => a.insert(i, v),
                            _ => a[i] = v,
                        }
                    }
                    _ => return Err(format!("{parent} is not a container")),
                }
            }
            other => return Err(format!("unsupported op {other:?}")),
        }
    }
    Ok(())
}
