//! AWS SDK answers back in the provider's JSON shape (the AWS CLI's output), so what the
//! collector reads is stored, exported and re-read exactly like data a user saved with the
//! `aws` CLI (see `docs/snapshot-format.md`). Only reads; no field is invented.

use aws_sdk_eks::types::{
    AccessEntry, AssociatedAccessPolicy, Cluster, Nodegroup, PodIdentityAssociation,
};
use aws_sdk_iam::types::{
    AttachedPolicy, GroupDetail, ManagedPolicyDetail, PolicyDetail, RoleDetail, UserDetail,
};
use serde_json::{json, Map, Value};

fn put(m: &mut Map<String, Value>, k: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        m.insert(k.into(), v.into());
    }
}

fn strings(v: &[String]) -> Value {
    json!(v)
}

/// `aws eks describe-cluster` → `{"cluster": ...}`.
// `encryptionConfig[].resources` is deprecated (EKS now encrypts all API data by default) but
// still returned; it is kept as the provider sends it.
#[allow(deprecated)]
pub fn cluster(c: &Cluster) -> Value {
    let mut m = Map::new();
    put(&mut m, "name", c.name());
    put(&mut m, "arn", c.arn());
    put(&mut m, "version", c.version());
    put(&mut m, "endpoint", c.endpoint());
    put(&mut m, "roleArn", c.role_arn());
    put(&mut m, "platformVersion", c.platform_version());
    put(&mut m, "status", c.status().map(|s| s.as_str().to_string()));
    if let Some(v) = c.resources_vpc_config() {
        let mut r = Map::new();
        r.insert("subnetIds".into(), strings(v.subnet_ids()));
        r.insert("securityGroupIds".into(), strings(v.security_group_ids()));
        put(
            &mut r,
            "clusterSecurityGroupId",
            v.cluster_security_group_id(),
        );
        put(&mut r, "vpcId", v.vpc_id());
        r.insert(
            "endpointPublicAccess".into(),
            json!(v.endpoint_public_access()),
        );
        r.insert(
            "endpointPrivateAccess".into(),
            json!(v.endpoint_private_access()),
        );
        r.insert("publicAccessCidrs".into(), strings(v.public_access_cidrs()));
        m.insert("resourcesVpcConfig".into(), Value::Object(r));
    }
    if let Some(l) = c.logging() {
        let setups: Vec<Value> = l
            .cluster_logging()
            .iter()
            .map(|s| {
                json!({"types": s.types().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                       "enabled": s.enabled()})
            })
            .collect();
        m.insert("logging".into(), json!({"clusterLogging": setups}));
    }
    let enc: Vec<Value> = c
        .encryption_config()
        .iter()
        .map(|e| {
            json!({"resources": e.resources(),
                   "provider": {"keyArn": e.provider().and_then(|p| p.key_arn())}})
        })
        .collect();
    m.insert("encryptionConfig".into(), json!(enc));
    if let Some(issuer) = c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()) {
        m.insert("identity".into(), json!({"oidc": {"issuer": issuer}}));
    }
    if let Some(a) = c.access_config() {
        let mut r = Map::new();
        put(
            &mut r,
            "bootstrapClusterCreatorAdminPermissions",
            a.bootstrap_cluster_creator_admin_permissions(),
        );
        put(
            &mut r,
            "authenticationMode",
            a.authentication_mode().map(|m| m.as_str().to_string()),
        );
        m.insert("accessConfig".into(), Value::Object(r));
    }
    if let Some(ca) = c.certificate_authority().and_then(|c| c.data()) {
        m.insert("certificateAuthority".into(), json!({"data": ca}));
    }
    if let Some(t) = c.tags() {
        m.insert("tags".into(), json!(t));
    }
    if let Some(u) = c.upgrade_policy().and_then(|u| u.support_type()) {
        m.insert("upgradePolicy".into(), json!({"supportType": u.as_str()}));
    }
    json!({"cluster": m})
}

/// `aws eks describe-nodegroup` → `{"nodegroup": ...}`.
pub fn nodegroup(n: &Nodegroup) -> Value {
    let mut m = Map::new();
    put(&mut m, "nodegroupName", n.nodegroup_name());
    put(&mut m, "nodegroupArn", n.nodegroup_arn());
    put(&mut m, "clusterName", n.cluster_name());
    put(&mut m, "version", n.version());
    put(&mut m, "releaseVersion", n.release_version());
    put(&mut m, "status", n.status().map(|s| s.as_str().to_string()));
    put(
        &mut m,
        "capacityType",
        n.capacity_type().map(|s| s.as_str().to_string()),
    );
    put(
        &mut m,
        "amiType",
        n.ami_type().map(|s| s.as_str().to_string()),
    );
    put(&mut m, "nodeRole", n.node_role());
    m.insert("subnets".into(), strings(n.subnets()));
    if let Some(l) = n.labels() {
        m.insert("labels".into(), json!(l));
    }
    if let Some(r) = n.remote_access() {
        let mut ra = Map::new();
        put(&mut ra, "ec2SshKey", r.ec2_ssh_key());
        ra.insert(
            "sourceSecurityGroups".into(),
            strings(r.source_security_groups()),
        );
        m.insert("remoteAccess".into(), Value::Object(ra));
    }
    if let Some(lt) = n.launch_template() {
        let mut l = Map::new();
        put(&mut l, "name", lt.name());
        put(&mut l, "version", lt.version());
        put(&mut l, "id", lt.id());
        m.insert("launchTemplate".into(), Value::Object(l));
    }
    json!({"nodegroup": m})
}

/// `aws eks describe-access-entry` → `{"accessEntry": ...}`.
pub fn access_entry(e: &AccessEntry) -> Value {
    let mut m = Map::new();
    put(&mut m, "clusterName", e.cluster_name());
    put(&mut m, "principalArn", e.principal_arn());
    m.insert("kubernetesGroups".into(), strings(e.kubernetes_groups()));
    put(&mut m, "accessEntryArn", e.access_entry_arn());
    put(&mut m, "username", e.username());
    put(&mut m, "type", e.r#type());
    json!({"accessEntry": m})
}

/// `aws eks list-associated-access-policies` (all pages).
pub fn associated_policies(
    cluster: &str,
    principal: &str,
    policies: &[AssociatedAccessPolicy],
) -> Value {
    let list: Vec<Value> = policies
        .iter()
        .map(|p| {
            let scope = p.access_scope();
            json!({"policyArn": p.policy_arn(),
                   "accessScope": {"type": scope.and_then(|s| s.r#type()).map(|t| t.as_str().to_string()),
                                   "namespaces": scope.map(|s| s.namespaces()).unwrap_or_default()}})
        })
        .collect();
    json!({"clusterName": cluster, "principalArn": principal, "associatedAccessPolicies": list})
}

/// `aws eks describe-pod-identity-association` → `{"association": ...}`.
pub fn pod_identity(a: &PodIdentityAssociation) -> Value {
    let mut m = Map::new();
    put(&mut m, "clusterName", a.cluster_name());
    put(&mut m, "namespace", a.namespace());
    put(&mut m, "serviceAccount", a.service_account());
    put(&mut m, "roleArn", a.role_arn());
    put(&mut m, "targetRoleArn", a.target_role_arn());
    put(&mut m, "externalId", a.external_id());
    put(&mut m, "associationArn", a.association_arn());
    put(&mut m, "associationId", a.association_id());
    put(&mut m, "disableSessionTags", a.disable_session_tags());
    json!({"association": m})
}

fn inline(list: &[PolicyDetail]) -> Value {
    json!(list
        .iter()
        .map(|p| json!({"PolicyName": p.policy_name(), "PolicyDocument": p.policy_document()}))
        .collect::<Vec<_>>())
}

fn attached(list: &[AttachedPolicy]) -> Value {
    json!(list
        .iter()
        .map(|p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()}))
        .collect::<Vec<_>>())
}

fn boundary(b: Option<&aws_sdk_iam::types::AttachedPermissionsBoundary>) -> Option<Value> {
    b.and_then(|b| b.permissions_boundary_arn())
        .map(|a| json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": a}))
}

/// One role of `GetAccountAuthorizationDetails` (documents stay URL-encoded, as IAM sends them).
pub fn role(r: &RoleDetail) -> Value {
    let mut m = Map::new();
    put(&mut m, "Path", r.path());
    put(&mut m, "RoleName", r.role_name());
    put(&mut m, "RoleId", r.role_id());
    put(&mut m, "Arn", r.arn());
    put(
        &mut m,
        "AssumeRolePolicyDocument",
        r.assume_role_policy_document(),
    );
    m.insert("RolePolicyList".into(), inline(r.role_policy_list()));
    m.insert(
        "AttachedManagedPolicies".into(),
        attached(r.attached_managed_policies()),
    );
    put(
        &mut m,
        "PermissionsBoundary",
        boundary(r.permissions_boundary()),
    );
    m.insert(
        "InstanceProfileList".into(),
        json!(r
            .instance_profile_list()
            .iter()
            .map(|p| json!({"InstanceProfileName": p.instance_profile_name(), "Arn": p.arn()}))
            .collect::<Vec<_>>()),
    );
    Value::Object(m)
}

/// One user of `GetAccountAuthorizationDetails`.
pub fn user(u: &UserDetail) -> Value {
    let mut m = Map::new();
    put(&mut m, "Path", u.path());
    put(&mut m, "UserName", u.user_name());
    put(&mut m, "UserId", u.user_id());
    put(&mut m, "Arn", u.arn());
    m.insert("UserPolicyList".into(), inline(u.user_policy_list()));
    m.insert("GroupList".into(), strings(u.group_list()));
    m.insert(
        "AttachedManagedPolicies".into(),
        attached(u.attached_managed_policies()),
    );
    put(
        &mut m,
        "PermissionsBoundary",
        boundary(u.permissions_boundary()),
    );
    Value::Object(m)
}

/// One group of `GetAccountAuthorizationDetails`.
pub fn group(g: &GroupDetail) -> Value {
    let mut m = Map::new();
    put(&mut m, "Path", g.path());
    put(&mut m, "GroupName", g.group_name());
    put(&mut m, "GroupId", g.group_id());
    put(&mut m, "Arn", g.arn());
    m.insert("GroupPolicyList".into(), inline(g.group_policy_list()));
    m.insert(
        "AttachedManagedPolicies".into(),
        attached(g.attached_managed_policies()),
    );
    Value::Object(m)
}

/// One managed policy of `GetAccountAuthorizationDetails`.
pub fn managed_policy(p: &ManagedPolicyDetail) -> Value {
    let mut m = Map::new();
    put(&mut m, "PolicyName", p.policy_name());
    put(&mut m, "PolicyId", p.policy_id());
    put(&mut m, "Arn", p.arn());
    put(&mut m, "DefaultVersionId", p.default_version_id());
    put(&mut m, "AttachmentCount", p.attachment_count());
    m.insert(
        "PolicyVersionList".into(),
        json!(p
            .policy_version_list()
            .iter()
            .map(|v| json!({"Document": v.document(), "VersionId": v.version_id(), "IsDefaultVersion": v.is_default_version()}))
            .collect::<Vec<_>>()),
    );
    Value::Object(m)
}
