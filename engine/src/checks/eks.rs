//! Amazon EKS control-plane and node-group checks (CIS Amazon EKS Benchmark, CONTROLS.md §4.3),
//! on the provider's own description of the cluster: `aws eks describe-cluster` and
//! `describe-nodegroup` (snapshot: the cluster's `cloud/` directory), plus the aws-auth ConfigMap
//! and the access entries that decide who is who inside it.

use super::{Check, Context, Evidence, Hit, Needs};
use crate::cloud::aws_auth::AwsAuth;
use crate::cloud::documents::{
    spec, EKS_ACCESS_ENTRY, EKS_ACCESS_POLICIES, EKS_CLUSTER, EKS_NODEGROUP,
};
use crate::cloud::eks::{access_entries, aws_auth_configmap, nodegroups, Imds};
use crate::cloud::eks_access::{AuthMode, Scope};
use crate::controls::{c, Framework::*};
use crate::object::Object;
use crate::options::Profile;
use crate::pointer::Pointer as _;
use crate::severity::Severity;
use serde_json::{json, Value};

fn hits<'a>(ctx: &Context<'a>, rule: fn(&Value) -> Option<(String, Evidence)>) -> Vec<Hit<'a>> {
    super::document::hits(ctx, EKS_CLUSTER, |o| Some(spec(o)), |_, c| rule(c))
}

fn audit_logging(c: &Value) -> Option<(String, Evidence)> {
    let logging = c
        .at("/logging/clusterLogging")
        .cloned()
        .unwrap_or(Value::Null);
    let enabled: Vec<&str> = logging
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e.get("enabled").and_then(Value::as_bool) == Some(true))
        .flat_map(|e| {
            e.get("types")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(Value::as_str)
        .collect();
    let missing: Vec<&str> = ["audit", "authenticator"]
        .into_iter()
        .filter(|t| !enabled.contains(t))
        .collect();
    (!missing.is_empty()).then(|| {
        (
            format!(
                "control-plane log types not sent to CloudWatch: {}",
                missing.join(", ")
            ),
            Evidence::new("spec.logging.clusterLogging", logging),
        )
    })
}

fn secrets_encryption(c: &Value) -> Option<(String, Evidence)> {
    let config = c.get("encryptionConfig").cloned().unwrap_or(Value::Null);
    // `resources` is deprecated (EKS encrypts all API data by default, with an AWS-owned key);
    // the control asks for a customer-managed KMS key covering Secrets.
    let ok = config.as_array().into_iter().flatten().any(|e| {
        e.get("resources")
            .and_then(Value::as_array)
            .is_none_or(|r| r.is_empty() || r.iter().any(|x| x == "secrets"))
            && e.at("/provider/keyArn")
                .and_then(Value::as_str)
                .is_some_and(|k| !k.is_empty())
    });
    (!ok).then(|| {
        (
            "Secrets are not envelope-encrypted with a customer-managed KMS key".to_string(),
            Evidence::new("spec.encryptionConfig", config),
        )
    })
}

fn public_cidrs(c: &Value) -> Vec<String> {
    c.at("/resourcesVpcConfig/publicAccessCidrs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        // The API's default when public access is on and no CIDRs are given.
        .unwrap_or_else(|| vec!["0.0.0.0/0".into()])
}

fn endpoint_public(c: &Value) -> bool {
    // EKS defaults to a public endpoint.
    c.at("/resourcesVpcConfig/endpointPublicAccess")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

fn endpoint_open(c: &Value) -> Option<(String, Evidence)> {
    let cidrs = public_cidrs(c);
    let open = endpoint_public(c) && cidrs.iter().any(|x| x == "0.0.0.0/0" || x == "::/0");
    open.then(|| {
        (
            "the API server endpoint is public and accepts connections from any address"
                .to_string(),
            Evidence::new("spec.resourcesVpcConfig.publicAccessCidrs", json!(cidrs)),
        )
    })
}

fn endpoint_private(c: &Value) -> Option<(String, Evidence)> {
    let private = c
        .at("/resourcesVpcConfig/endpointPrivateAccess")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    (endpoint_public(c) || !private).then(|| {
        (
            format!(
                "endpoint access: public {}, private {private}",
                endpoint_public(c)
            ),
            Evidence::new(
                "spec.resourcesVpcConfig",
                c.get("resourcesVpcConfig").cloned().unwrap_or(Value::Null),
            ),
        )
    })
}

fn auth_mode(c: &Value) -> Option<(String, Evidence)> {
    let raw = c
        .at("/accessConfig/authenticationMode")
        .and_then(Value::as_str);
    (AuthMode::parse(raw) == AuthMode::ConfigMap).then(|| {
        (
            "cluster access is managed only through the aws-auth ConfigMap (authentication mode CONFIG_MAP)".to_string(),
            Evidence::new(
                "spec.accessConfig.authenticationMode",
                raw.map_or(Value::Null, |r| json!(r)),
            ),
        )
    })
}

fn creator_admin(c: &Value) -> Option<(String, Evidence)> {
    let v = c
        .at("/accessConfig/bootstrapClusterCreatorAdminPermissions")
        .and_then(Value::as_bool);
    let mode = AuthMode::parse(
        c.at("/accessConfig/authenticationMode")
            .and_then(Value::as_str),
    );
    // In CONFIG_MAP mode (and before access entries) the creator is an invisible system:masters.
    let hidden = mode == AuthMode::ConfigMap && v != Some(false);
    (v == Some(true) || hidden).then(|| {
        (
            if hidden {
                "the identity that created the cluster holds system:masters, invisible in aws-auth and RBAC".to_string()
            } else {
                "the identity that created the cluster got a cluster-admin access entry".to_string()
            },
            Evidence::new(
                "spec.accessConfig.bootstrapClusterCreatorAdminPermissions",
                v.map_or(Value::Null, Value::Bool),
            ),
        )
    })
}

fn workload_identity(c: &Value) -> Option<(String, Evidence)> {
    let issuer = c.at("/identity/oidc/issuer").and_then(Value::as_str);
    issuer.is_none_or(str::is_empty).then(|| {
        (
            "the cluster has no OIDC issuer: pods cannot use IRSA and fall back to node credentials".to_string(),
            Evidence::new("spec.identity.oidc.issuer", Value::Null),
        )
    })
}

document_run!(run_audit_logging, audit_logging);
document_run!(run_secrets_encryption, secrets_encryption);
document_run!(run_endpoint_open, endpoint_open);
document_run!(run_endpoint_private, endpoint_private);
document_run!(run_auth_mode, auth_mode);
document_run!(run_creator_admin, creator_admin);

fn run_workload_identity<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    if !ctx
        .inv
        .of_kind(crate::cloud::documents::EKS_POD_IDENTITY)
        .is_empty()
    {
        return Vec::new();
    }
    hits(ctx, workload_identity)
}

fn run_ssh_open<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .of_kind(EKS_NODEGROUP)
        .iter()
        .filter_map(|o| {
            let ra = spec(o).get("remoteAccess")?;
            let key = ra.get("ec2SshKey").and_then(Value::as_str).filter(|k| !k.is_empty())?;
            let sgs = ra
                .get("sourceSecurityGroups")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            (!sgs).then(|| Hit {
                severity: None,
                object: o,
                message: format!(
                    "node group {} allows SSH with key {key} and no source security groups: EKS opens port 22 to 0.0.0.0/0",
                    o.name
                ),
                evidence: vec![Evidence::new("spec.remoteAccess", ra.clone())],
            })
        })
        .collect()
}

fn run_imds<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let groups = nodegroups(ctx.inv);
    ctx.inv
        .of_kind(EKS_NODEGROUP)
        .iter()
        .filter_map(|o| {
            let ng = groups.iter().find(|g| g.name == o.name)?;
            let Imds::AllPods(why) = &ng.imds else {
                return None;
            };
            Some(Hit {
                severity: None,
                object: o,
                message: format!(
                    "pods on node group {} can read the instance role {} from IMDS: {why}",
                    o.name, ng.role_arn
                ),
                evidence: vec![Evidence::new(
                    "spec.launchTemplate",
                    spec(o)
                        .get("launchTemplate")
                        .cloned()
                        .unwrap_or(Value::Null),
                )],
            })
        })
        .collect()
}

fn run_aws_auth_masters<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let Some(cm) = aws_auth_configmap(ctx.inv) else {
        return Vec::new();
    };
    let parsed = AwsAuth::from_configmap(cm);
    parsed
        .masters()
        .map(|m| Hit {
            severity: None,
            object: cm,
            message: format!(
                "{} {} is mapped to system:masters: cluster-admin that no RBAC change can revoke",
                if m.role { "IAM role" } else { "IAM user" },
                m.arn
            ),
            evidence: vec![Evidence::new(
                if m.role {
                    "data.mapRoles"
                } else {
                    "data.mapUsers"
                },
                json!({"arn": m.arn, "groups": m.groups}),
            )],
        })
        .collect()
}

fn run_aws_auth_malformed<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let Some(cm) = aws_auth_configmap(ctx.inv) else {
        return Vec::new();
    };
    AwsAuth::from_configmap(cm)
        .errors
        .into_iter()
        .map(|e| Hit {
            severity: None,
            object: cm,
            message: format!("aws-auth does not parse: {e}"),
            evidence: vec![Evidence::new(
                "data",
                cm.body.get("data").cloned().unwrap_or(Value::Null),
            )],
        })
        .collect()
}

/// Where an access entry's association with `policy` is written: its element in the
/// principal's associated access policies (a document of its own; without one, the entry).
fn association_evidence(ctx: &Context<'_>, entry: &Object, policy: &str) -> Evidence {
    let listed = ctx
        .inv
        .of_kind(EKS_ACCESS_POLICIES)
        .iter()
        // The last of its name, as `access_entries` reads them.
        .rfind(|o| o.name == entry.name)
        .and_then(|o| {
            let i = spec(o)
                .get("associatedAccessPolicies")?
                .as_array()?
                .iter()
                .position(|p| p.get("policyArn").and_then(Value::as_str) == Some(policy))?;
            Some(format!(
                "{}: spec.associatedAccessPolicies[{i}].policyArn",
                o.node_ref()
            ))
        });
    Evidence::new(listed.unwrap_or_else(|| entry.node_ref()), policy)
}

fn run_access_entry_admin<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let (entries, _) = access_entries(ctx.inv);
    ctx.inv
        .of_kind(EKS_ACCESS_ENTRY)
        .iter()
        .filter_map(|o| {
            let e = entries.iter().find(|e| e.principal_arn == o.name)?;
            let admin = e.policies.iter().find(|(a, s)| {
                a.ends_with("/AmazonEKSClusterAdminPolicy") && *s == Scope::Cluster
            })?;
            Some(Hit {
                severity: None,
                object: o,
                message: format!(
                    "{} holds AmazonEKSClusterAdminPolicy on the whole cluster (invisible to kubectl get clusterrolebindings)",
                    e.principal_arn
                ),
                evidence: vec![association_evidence(ctx, o, &admin.0)],
            })
        })
        .collect()
}

const CLUSTER: &[&str] = &[EKS_CLUSTER];
const NODEGROUP: &[&str] = &[EKS_NODEGROUP];

/// The EKS checks.
pub static CHECKS: &[Check] = &[
    Check {
        id: "KSPM-E-001",
        title: "EKS control-plane audit logs are off",
        severity: Severity::Medium,
        description: "Without the `audit` and `authenticator` log types nobody can reconstruct who did what through the API server, or which IAM identity a Kubernetes user was.",
        remediation: "`aws eks update-cluster-config --logging '{\"clusterLogging\":[{\"types\":[\"api\",\"audit\",\"authenticator\",\"controllerManager\",\"scheduler\"],\"enabled\":true}]}'`.",
        kinds: CLUSTER,
        controls: &[c(CisEks, "2.1.1"), c(NsaCisa, "N22"), c(Soc2, "CC7.2"), c(PciDss, "10.2.1"), c(Hipaa, "164.312(b)"), c(Iso27001, "A.8.15"), c(Nist800190, "4.3.4")],
        profile: Profile::Security,
        needs: Needs::EksCluster,
        run: run_audit_logging,
    },
    Check {
        id: "KSPM-E-002",
        title: "EKS Secrets are not encrypted with a KMS key",
        severity: Severity::Medium,
        description: "Without envelope encryption, Secrets sit in etcd under AWS's storage encryption only; a KMS key adds a key policy and an audit trail for every decryption.",
        remediation: "`aws eks associate-encryption-config` with `resources: [secrets]` and a customer-managed KMS key.",
        kinds: CLUSTER,
        controls: &[c(CisEks, "5.3.1"), c(NsaCisa, "N16"), c(Soc2, "CC6.1"), c(PciDss, "3.5.1"), c(Hipaa, "164.312(a)(2)(iv)"), c(Iso27001, "A.8.24"), c(Nist800190, "4.4.4")],
        profile: Profile::Security,
        needs: Needs::EksCluster,
        run: run_secrets_encryption,
    },
    Check {
        id: "KSPM-E-003",
        title: "EKS API endpoint is open to the internet",
        severity: Severity::High,
        description: "A public endpoint reachable from 0.0.0.0/0 exposes the API server (and any anonymous or leaked-credential access) to everyone.",
        remediation: "Restrict `publicAccessCidrs` to known ranges, or turn public access off and use the private endpoint.",
        kinds: CLUSTER,
        controls: &[c(CisEks, "5.4.1"), c(NsaCisa, "N17"), c(Soc2, "CC6.6"), c(PciDss, "1.3.1"), c(Hipaa, "164.312(e)(1)"), c(Iso27001, "A.8.20"), c(Nist800190, "4.3.3")],
        profile: Profile::Security,
        needs: Needs::EksCluster,
        run: run_endpoint_open,
    },
    Check {
        id: "KSPM-E-004",
        title: "EKS private endpoint is not enforced",
        severity: Severity::Low,
        description: "With the public endpoint on (or the private one off), API traffic from nodes and admins may leave the VPC.",
        remediation: "Enable `endpointPrivateAccess` and disable `endpointPublicAccess`.",
        kinds: CLUSTER,
        controls: &[c(CisEks, "5.4.2"), c(NsaCisa, "N17"), c(Soc2, "CC6.6"), c(Iso27001, "A.8.22")],
        profile: Profile::Security,
        needs: Needs::EksCluster,
        run: run_endpoint_private,
    },
    Check {
        id: "KSPM-E-005",
        title: "EKS cluster access is managed only by the aws-auth ConfigMap",
        severity: Severity::Medium,
        description: "In CONFIG_MAP mode anyone who can edit kube-system/aws-auth decides who is cluster-admin, a typo locks everyone out, and the cluster creator is an invisible system:masters.",
        remediation: "Switch `accessConfig.authenticationMode` to `API_AND_CONFIG_MAP`, migrate mappings to access entries, then to `API`.",
        kinds: CLUSTER,
        controls: &[c(CisEks, "4.1.7"), c(NsaCisa, "N20"), c(Soc2, "CC6.2"), c(PciDss, "7.2.1"), c(Iso27001, "A.5.18")],
        profile: Profile::Security,
        needs: Needs::EksCluster,
        run: run_auth_mode,
    },
    Check {
        id: "KSPM-E-006",
        title: "EKS cluster creator holds admin rights",
        severity: Severity::Low,
        description: "The creating identity (often a CI role or a person) keeps cluster-admin: hidden system:masters in CONFIG_MAP mode, or an access entry created at bootstrap.",
        remediation: "Create clusters with `bootstrapClusterCreatorAdminPermissions: false` and grant admins through access entries; in API modes delete the creator's entry once others exist.",
        kinds: CLUSTER,
        controls: &[c(CisKubernetes, "5.1.1"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.8.2")],
        profile: Profile::Security,
        needs: Needs::EksCluster,
        run: run_creator_admin,
    },
    Check {
        id: "KSPM-E-007",
        title: "EKS cluster cannot give pods their own IAM identity",
        severity: Severity::Low,
        description: "With no OIDC issuer and no Pod Identity associations, pods that need AWS access use the node's instance role, shared by every pod on the node.",
        remediation: "Use EKS Pod Identity associations or IRSA (an IAM OIDC provider for the cluster's issuer) per ServiceAccount.",
        kinds: CLUSTER,
        controls: &[c(CisEks, "5.2.1"), c(NsaCisa, "N10"), c(Soc2, "CC6.3"), c(Iso27001, "A.8.2")],
        profile: Profile::Security,
        needs: Needs::EksCluster,
        run: run_workload_identity,
    },
    Check {
        id: "KSPM-E-008",
        title: "EKS node group allows SSH from anywhere",
        severity: Severity::High,
        description: "A node group with an SSH key and no source security groups gets port 22 open to 0.0.0.0/0.",
        remediation: "Remove `remoteAccess`, or restrict it with `sourceSecurityGroups`; prefer SSM Session Manager.",
        kinds: NODEGROUP,
        controls: &[c(NsaCisa, "N17"), c(Soc2, "CC6.6"), c(PciDss, "1.3.1"), c(Iso27001, "A.8.20"), c(Nist800190, "4.5.1")],
        profile: Profile::Security,
        needs: Needs::EksNodegroups,
        run: run_ssh_open,
    },
    Check {
        id: "KSPM-E-009",
        title: "Pods can take the node's IAM role from IMDS",
        severity: Severity::High,
        description: "With IMDSv1 allowed or an IMDSv2 hop limit of 2 or more, every pod can read the node instance role's credentials from 169.254.169.254 and act as the node in AWS and in the cluster.",
        remediation: "Set the launch template's `MetadataOptions` to `HttpTokens: required` and `HttpPutResponseHopLimit: 1`; give pods their own roles with Pod Identity or IRSA.",
        kinds: NODEGROUP,
        controls: &[c(NsaCisa, "N19"), c(Soc2, "CC6.1"), c(Iso27001, "A.8.2"), c(Nist800190, "4.5.4")],
        profile: Profile::Security,
        needs: Needs::EksNodegroups,
        run: run_imds,
    },
    Check {
        id: "KSPM-E-010",
        title: "aws-auth maps an IAM identity to system:masters",
        severity: Severity::Critical,
        description: "system:masters is authorized before RBAC: the mapped role or user is cluster-admin and no RoleBinding change can take it away.",
        remediation: "Map the identity to a group bound to a narrower ClusterRole, or use an access entry with a scoped access policy.",
        kinds: &["ConfigMap"],
        controls: &[c(CisKubernetes, "5.1.7"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.8.2")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: run_aws_auth_masters,
    },
    Check {
        id: "KSPM-E-011",
        title: "aws-auth ConfigMap does not parse",
        severity: Severity::Medium,
        description: "The authenticator skips what it cannot parse: mapped admins (or nodes) lose access, and the mappings in force are not the ones written.",
        remediation: "Fix the YAML in `data.mapRoles`, `data.mapUsers` and `data.mapAccounts`; validate it before applying.",
        kinds: &["ConfigMap"],
        controls: &[c(Soc2, "CC8.1"), c(Iso27001, "A.8.9")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: run_aws_auth_malformed,
    },
    Check {
        id: "KSPM-E-012",
        title: "EKS access entry grants cluster-admin",
        severity: Severity::Medium,
        description: "AmazonEKSClusterAdminPolicy at cluster scope is cluster-admin through the EKS authorizer; it does not show in RBAC listings.",
        remediation: "Keep cluster-admin access entries to a break-glass role; scope others to namespaces with AmazonEKSAdminPolicy or narrower.",
        kinds: &[EKS_ACCESS_ENTRY],
        controls: &[c(CisKubernetes, "5.1.1"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.8.2")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: run_access_entry_admin,
    },
];

#[cfg(test)]
pub(crate) mod cases;
