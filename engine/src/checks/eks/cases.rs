//! The EKS checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use serde_json::{json, Value};

/// A synthetic `EksCluster` object: a hardened DescribeCluster output with `over` merged in.
fn eks_cluster(over: Value) -> Value {
    let mut c = json!({
        "name": "prod", "arn": "arn:aws:eks:us-east-1:111122223333:cluster/prod",
        "logging": {"clusterLogging": [{"types": ["api", "audit", "authenticator"], "enabled": true}]},
        "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:us-east-1:111122223333:key/k"}}],
        "resourcesVpcConfig": {"endpointPublicAccess": false, "endpointPrivateAccess": true},
        "accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": false},
        "identity": {"oidc": {"issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"}}
    });
    if let (Some(m), Some(o)) = (c.as_object_mut(), over.as_object()) {
        for (k, v) in o {
            m.insert(k.clone(), v.clone());
        }
    }
    cloud("EksCluster", "prod", c)
}

fn pod_identity_association() -> Value {
    cloud(
        "EksPodIdentityAssociation",
        "a-1",
        json!({"associationId": "a-1", "namespace": "shop", "serviceAccount": "api", "roleArn": "arn:aws:iam::111122223333:role/api"}),
    )
}

fn access_entry(arn: &str) -> Value {
    cloud(
        "EksAccessEntry",
        arn,
        json!({"principalArn": arn, "type": "STANDARD", "kubernetesGroups": []}),
    )
}

fn access_policies(arn: &str, policy: &str, scope: Value) -> Value {
    cloud(
        "EksAssociatedAccessPolicies",
        arn,
        json!({"principalArn": arn, "associatedAccessPolicies": [
        {"policyArn": format!("arn:aws:eks::aws:cluster-access-policy/{policy}"), "accessScope": scope}]}),
    )
}

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        case("KSPM-E-001", vec![eks_cluster(json!({"logging": {"clusterLogging": [{"types": ["audit"], "enabled": true}, {"types": ["authenticator"], "enabled": false}]}}))], vec![eks_cluster(json!({}))]),

        case("KSPM-E-002", vec![eks_cluster(json!({"encryptionConfig": [{"resources": ["configmaps"], "provider": {"keyArn": "arn:aws:kms:us-east-1:111122223333:key/k"}}]}))], vec![eks_cluster(json!({}))]),

        case("KSPM-E-003", vec![eks_cluster(json!({"resourcesVpcConfig": {"endpointPublicAccess": true, "endpointPrivateAccess": true}}))], vec![eks_cluster(json!({"resourcesVpcConfig": {"endpointPublicAccess": true, "endpointPrivateAccess": true, "publicAccessCidrs": ["203.0.113.0/24"]}}))]),

        case("KSPM-E-004", vec![eks_cluster(json!({"resourcesVpcConfig": {"endpointPublicAccess": true, "endpointPrivateAccess": true, "publicAccessCidrs": ["203.0.113.0/24"]}}))], vec![eks_cluster(json!({}))]),

        case("KSPM-E-005", vec![eks_cluster(json!({"accessConfig": {"authenticationMode": "CONFIG_MAP"}}))], vec![eks_cluster(json!({}))]),

        case("KSPM-E-006", vec![eks_cluster(json!({"accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": true}}))], vec![eks_cluster(json!({}))]),

        case("KSPM-E-007", vec![eks_cluster(json!({"identity": {}}))], vec![eks_cluster(json!({"identity": {}})), pod_identity_association()]),

        case("KSPM-E-008", vec![nodegroup(json!({"remoteAccess": {"ec2SshKey": "ops"}}))], vec![nodegroup(json!({"remoteAccess": {"ec2SshKey": "ops", "sourceSecurityGroups": ["sg-1"]}})), nodegroup(json!({}))]),

        case("KSPM-E-009", vec![nodegroup(json!({"launchTemplate": {"id": "lt-1", "version": "2"}})), launch_template("lt-1", 2, json!({"HttpTokens": "required", "HttpPutResponseHopLimit": 2}))],
            vec![nodegroup(json!({"launchTemplate": {"id": "lt-1", "version": "2"}})), launch_template("lt-1", 2, json!({"HttpTokens": "required", "HttpPutResponseHopLimit": 1})), launch_template("lt-1", 1, json!({"HttpTokens": "optional"}))]),

        case("KSPM-E-010", vec![aws_auth("- rolearn: arn:aws:iam::111122223333:role/ops\n  username: ops\n  groups: [system:masters]\n")], vec![aws_auth("- rolearn: arn:aws:iam::111122223333:role/ops\n  username: ops\n  groups: [ops-admins]\n")]),

        case("KSPM-E-011", vec![aws_auth("- rolearn: [unclosed\n")], vec![aws_auth("- rolearn: arn:aws:iam::111122223333:role/ops\n  groups: [ops]\n")]),

        case("KSPM-E-012", vec![access_entry("arn:aws:iam::111122223333:role/ops"), access_policies("arn:aws:iam::111122223333:role/ops", "AmazonEKSClusterAdminPolicy", json!({"type": "cluster"}))],
            vec![access_entry("arn:aws:iam::111122223333:role/ops"), access_policies("arn:aws:iam::111122223333:role/ops", "AmazonEKSClusterAdminPolicy", json!({"type": "namespace", "namespaces": ["dev"]}))]),
    ]
}
