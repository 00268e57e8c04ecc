//! One AWS account's IAM as `GetAccountAuthorizationDetails` returns it (CLOUD.md §1.7), and the
//! Kubernetes → AWS identity bridges decided from it (§1.5): IRSA (the ServiceAccount annotation
//! *and* the role's trust policy) and EKS Pod Identity (an association *and* a trust for
//! `pods.eks.amazonaws.com`).

use super::aws_auth::canonical_arn;
use super::aws_iam::{evaluate, is_admin, trust_allows, Caller, Decision, Policy};
use crate::pointer::Pointer as _;
use serde_json::Value;
use std::collections::BTreeMap;

/// A principal's policies: a role's, or (with an empty trust policy) a user's, whose policies
/// include those of its groups.
#[derive(Debug, Clone, Default)]
pub struct Role {
    /// Role ARN (canonical: no path; the key trusts and aws-auth use); a user's ARN as is.
    pub arn: String,
    /// The ARN with its path, as IAM reports it (what `Resource` patterns such as
    /// `arn:aws:iam::A:role/ci/*` on `iam:PassRole` match).
    pub full_arn: String,
    /// Trust policy.
    pub trust: Policy,
    /// Inline and attached (default version) policies.
    pub policies: Vec<Policy>,
    /// Permissions boundary, if any.
    pub boundary: Option<Policy>,
    /// Where the role (or user) is in the export: (page, position in its `RoleDetailList` or
    /// `UserDetailList`).
    pub origin: Option<(usize, usize)>,
    /// Where each of [`Role::policies`] comes from, the same length and order.
    pub sources: Vec<PolicySource>,
    /// The trust policy as the export writes it (URL-encoded text or JSON).
    pub trust_document: Value,
}

/// Where one of a principal's policies comes from: what takes it away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// An inline policy: its position in `RolePolicyList`/`UserPolicyList` and its name.
    Inline(usize, String),
    /// An attached managed policy: its position in `AttachedManagedPolicies` and its ARN.
    Managed(usize, String),
    /// A user's group: its position in the user's `GroupList` and its name.
    Group(usize, String),
}

/// An account's roles and users, from one or more GAAD pages.
#[derive(Debug, Clone, Default)]
pub struct Account {
    /// Roles by canonical ARN.
    pub roles: BTreeMap<String, Role>,
    /// Users by ARN (their groups' policies included).
    pub users: BTreeMap<String, Role>,
    /// Documents that could not be read (role or policy, and why).
    pub errors: Vec<String>,
    /// Names of kspm's documents of the pages, in the order given (set by the caller).
    pub pages: Vec<String>,
}

fn doc(v: Option<&Value>) -> Result<Policy, String> {
    match v {
        Some(Value::String(s)) => Policy::parse(s),
        Some(o @ Value::Object(_)) => Policy::from_value(o),
        _ => Err("missing document".into()),
    }
}

fn list<'a>(page: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    page.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

/// A principal's inline (`inline_key`) and attached managed policies, each with its source.
fn attached(
    item: &Value,
    inline_key: &str,
    managed: &BTreeMap<String, Result<Policy, String>>,
    who: &str,
    errors: &mut Vec<String>,
) -> Vec<(Policy, PolicySource)> {
    let mut out = Vec::new();
    for (i, inline) in list(item, inline_key).enumerate() {
        match doc(inline.get("PolicyDocument")) {
            Ok(p) => out.push((p, PolicySource::Inline(i, str_of(inline, "PolicyName")))),
            Err(e) => errors.push(format!("{who} inline policy: {e}")),
        }
    }
    for (i, att) in list(item, "AttachedManagedPolicies").enumerate() {
        let parn = att.get("PolicyArn").and_then(Value::as_str).unwrap_or("");
        match managed.get(parn) {
            Some(Ok(p)) => out.push((p.clone(), PolicySource::Managed(i, parn.to_string()))),
            Some(Err(e)) => errors.push(format!("{who} policy {parn}: {e}")),
            // AWS-managed policies are in GAAD only with the `AWSManagedPolicy` filter.
            None => errors.push(format!("{who} policy {parn}: document not in the export")),
        }
    }
    out
}

fn boundary(
    item: &Value,
    managed: &BTreeMap<String, Result<Policy, String>>,
    who: &str,
    errors: &mut Vec<String>,
) -> Option<Policy> {
    let b = item
        .at("/PermissionsBoundary/PermissionsBoundaryArn")
        .and_then(Value::as_str)?;
    match managed.get(b) {
        Some(Ok(p)) => Some(p.clone()),
        _ => {
            errors.push(format!("{who} boundary {b}: document not in the export"));
            None
        }
    }
}

impl Account {
    /// Reads GAAD pages (`RoleDetailList`, `UserDetailList`, `GroupDetailList`, `Policies`
    /// with `PolicyVersionList`).
    pub fn from_gaad(pages: &[Value]) -> Account {
        let mut acct = Account::default();
        let mut managed: BTreeMap<String, Result<Policy, String>> = BTreeMap::new();
        for page in pages {
            for p in page
                .get("Policies")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let arn = p
                    .get("Arn")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let default = p
                    .get("PolicyVersionList")
                    .and_then(Value::as_array)
                    .and_then(|vs| {
                        vs.iter().find(|v| {
                            v.get("IsDefaultVersion").and_then(Value::as_bool) == Some(true)
                        })
                    })
                    .and_then(|v| v.get("Document"));
                managed.insert(arn, doc(default));
            }
        }
        let mut groups: BTreeMap<String, Vec<Policy>> = BTreeMap::new();
        for page in pages {
            for g in list(page, "GroupDetailList") {
                let name = str_of(g, "GroupName");
                let policies = attached(g, "GroupPolicyList", &managed, &name, &mut acct.errors)
                    .into_iter()
                    .map(|(p, _)| p)
                    .collect();
                groups.insert(name, policies);
            }
        }
        for (page_at, page) in pages.iter().enumerate() {
            for (at, r) in list(page, "RoleDetailList").enumerate() {
                let full_arn = str_of(r, "Arn");
                let arn = canonical_arn(&full_arn);
                let mut role = Role {
                    arn: arn.clone(),
                    full_arn,
                    origin: Some((page_at, at)),
                    trust_document: r
                        .get("AssumeRolePolicyDocument")
                        .cloned()
                        .unwrap_or(Value::Null),
                    ..Default::default()
                };
                match doc(r.get("AssumeRolePolicyDocument")) {
                    Ok(p) => role.trust = p,
                    Err(e) => acct.errors.push(format!("{arn} trust policy: {e}")),
                }
                (role.policies, role.sources) =
                    attached(r, "RolePolicyList", &managed, &arn, &mut acct.errors)
                        .into_iter()
                        .unzip();
                role.boundary = boundary(r, &managed, &arn, &mut acct.errors);
                acct.roles.insert(arn, role);
            }
            for (at, u) in list(page, "UserDetailList").enumerate() {
                let arn = str_of(u, "Arn");
                let mut user = Role {
                    arn: arn.clone(),
                    full_arn: arn.clone(),
                    origin: Some((page_at, at)),
                    ..Default::default()
                };
                (user.policies, user.sources) =
                    attached(u, "UserPolicyList", &managed, &arn, &mut acct.errors)
                        .into_iter()
                        .unzip();
                for (k, g) in u
                    .get("GroupList")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let name = g.as_str().unwrap_or("");
                    match groups.get(name) {
                        Some(ps) => {
                            user.policies.extend(ps.iter().cloned());
                            user.sources.extend(
                                ps.iter().map(|_| PolicySource::Group(k, name.to_string())),
                            );
                        }
                        None => acct
                            .errors
                            .push(format!("{arn} group {name}: not in the export")),
                    }
                }
                user.boundary = boundary(u, &managed, &arn, &mut acct.errors);
                acct.users.insert(arn, user);
            }
        }
        acct
    }

    /// A role (by any form of its ARN) or a user.
    pub fn principal(&self, arn: &str) -> Option<&Role> {
        self.roles
            .get(&canonical_arn(arn))
            .or_else(|| self.users.get(arn))
    }

    /// Whether the role holds administrator rights (`*` on `*`, boundary applied).
    pub fn role_is_admin(&self, arn: &str) -> bool {
        self.roles
            .get(&canonical_arn(arn))
            .is_some_and(|r| is_admin(&r.policies, r.boundary.as_ref()))
    }

    /// What a role may do for `action` on `resource`.
    pub fn role_allows(&self, arn: &str, action: &str, resource: &str) -> Decision {
        match self.roles.get(&canonical_arn(arn)) {
            Some(r) => evaluate(&r.policies, r.boundary.as_ref(), action, resource),
            None => Decision::Deny,
        }
    }
}

/// The OIDC provider ARN IAM uses for a cluster's issuer URL.
pub fn oidc_provider_arn(partition: &str, account: &str, issuer: &str) -> String {
    let host_path = issuer.trim_start_matches("https://").trim_end_matches('/');
    format!("arn:{partition}:iam::{account}:oidc-provider/{host_path}")
}

/// Whether pods running as ServiceAccount `namespace/name` of a cluster with OIDC `issuer` can
/// become `role_arn` through IRSA: the annotation only asks; the role's trust policy decides
/// (`sts:AssumeRoleWithWebIdentity` for the cluster's provider with the `sub`/`aud` conditions).
pub fn irsa(
    account: &Account,
    role_arn: &str,
    issuer: &str,
    namespace: &str,
    name: &str,
    audience: Option<&str>,
) -> Decision {
    let Some(role) = account.roles.get(&canonical_arn(role_arn)) else {
        return Decision::Deny;
    };
    let role_account = role_arn.split(':').nth(4).unwrap_or("");
    let partition = role_arn.split(':').nth(1).unwrap_or("aws");
    let provider = oidc_provider_arn(partition, role_account, issuer);
    let host_path = issuer.trim_start_matches("https://").trim_end_matches('/');
    let caller = Caller {
        kind: "Federated",
        id: &provider,
        account: None,
        context: BTreeMap::from([
            (
                format!("{host_path}:sub"),
                format!("system:serviceaccount:{namespace}:{name}"),
            ),
            (
                format!("{host_path}:aud"),
                audience.unwrap_or("sts.amazonaws.com").to_string(),
            ),
        ]),
    };
    trust_allows(&role.trust, &caller, "sts:AssumeRoleWithWebIdentity")
}

/// Whether an EKS Pod Identity association to `role_arn` works: the role must trust
/// `pods.eks.amazonaws.com` for both `sts:AssumeRole` and `sts:TagSession`.
pub fn pod_identity(account: &Account, role_arn: &str) -> Decision {
    let Some(role) = account.roles.get(&canonical_arn(role_arn)) else {
        return Decision::Deny;
    };
    let caller = Caller {
        kind: "Service",
        id: "pods.eks.amazonaws.com",
        account: None,
        context: BTreeMap::new(),
    };
    match (
        trust_allows(&role.trust, &caller, "sts:AssumeRole"),
        trust_allows(&role.trust, &caller, "sts:TagSession"),
    ) {
        (Decision::Allow, Decision::Allow) => Decision::Allow,
        (Decision::Deny, _) | (_, Decision::Deny) => Decision::Deny,
        (Decision::ConditionalAllow(c), _) | (_, Decision::ConditionalAllow(c)) => {
            Decision::ConditionalAllow(c)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC";

    fn gaad() -> Value {
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:ci:deployer",
                                           "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"}}}]});
        // IAM returns documents URL-encoded.
        let encoded: String = trust
            .to_string()
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        json!({
            "RoleDetailList": [
                {"Arn": "arn:aws:iam::111122223333:role/ci/deployer-role", "AssumeRolePolicyDocument": encoded,
                 "AttachedManagedPolicies": [{"PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]},
                {"Arn": "arn:aws:iam::111122223333:role/pods", "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]},
                 "RolePolicyList": [{"PolicyName": "read", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}]},
                {"Arn": "arn:aws:iam::111122223333:role/broken", "AssumeRolePolicyDocument": "%7Bnot json",
                 "AttachedManagedPolicies": [{"PolicyArn": "arn:aws:iam::aws:policy/Missing"}]}
            ],
            "Policies": [{"Arn": "arn:aws:iam::aws:policy/AdministratorAccess", "PolicyVersionList": [
                {"VersionId": "v1", "IsDefaultVersion": false, "Document": {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}},
                {"VersionId": "v2", "IsDefaultVersion": true, "Document": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}]}]
        })
    }

    #[test]
    fn irsa_needs_the_trust_not_just_the_annotation() {
        let acct = Account::from_gaad(&[gaad()]);
        let role = "arn:aws:iam::111122223333:role/ci/deployer-role";
        assert_eq!(
            irsa(&acct, role, ISSUER, "ci", "deployer", None),
            Decision::Allow
        );
        // Any other ServiceAccount annotated with the same role is refused by the trust.
        assert_eq!(
            irsa(&acct, role, ISSUER, "ci", "other", None),
            Decision::Deny
        );
        // Another cluster's issuer is another provider.
        assert_eq!(
            irsa(
                &acct,
                role,
                "https://oidc.eks.us-east-1.amazonaws.com/id/XYZ",
                "ci",
                "deployer",
                None
            ),
            Decision::Deny
        );
        assert_eq!(
            irsa(&acct, role, ISSUER, "ci", "deployer", Some("other-aud")),
            Decision::Deny
        );
        // The default policy version makes it an admin (v1 alone would not).
        assert!(acct.role_is_admin(role));
        let stored = &acct.roles["arn:aws:iam::111122223333:role/deployer-role"];
        assert_eq!(stored.full_arn, role);
        assert!(!acct.role_is_admin("arn:aws:iam::111122223333:role/pods"));
        assert_eq!(
            acct.role_allows(
                "arn:aws:iam::111122223333:role/pods",
                "s3:GetObject",
                "arn:aws:s3:::b/k"
            ),
            Decision::Allow
        );
    }

    #[test]
    fn pod_identity_and_unreadable_documents() {
        let acct = Account::from_gaad(&[gaad()]);
        assert_eq!(
            pod_identity(&acct, "arn:aws:iam::111122223333:role/pods"),
            Decision::Allow
        );
        assert_eq!(
            pod_identity(&acct, "arn:aws:iam::111122223333:role/ci/deployer-role"),
            Decision::Deny
        );
        assert_eq!(
            pod_identity(&acct, "arn:aws:iam::111122223333:role/unknown"),
            Decision::Deny
        );
        assert_eq!(acct.errors.len(), 2, "{:?}", acct.errors);
        assert!(acct
            .errors
            .iter()
            .any(|e| e.contains("broken trust policy")));
        assert!(acct.errors.iter().any(|e| e.contains("not in the export")));
        assert_eq!(
            oidc_provider_arn("aws", "1", "https://oidc.eks.eu-west-1.amazonaws.com/id/Z/"),
            "arn:aws:iam::1:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/Z"
        );
    }
}
