//! One EKS cluster's cloud side, read from its synthetic cloud objects (see
//! [`super::documents`]) and its aws-auth ConfigMap: what the fleet-wide graph pass needs to
//! bridge IAM and Kubernetes (issuer, authentication mode, identity mappings, Pod Identity
//! associations, ServiceAccounts), and the node groups' instance roles with IMDS reachability.

use super::aws_auth::AwsAuth;
use super::documents::{
    spec, EC2_LAUNCH_TEMPLATE_VERSION, EKS_ACCESS_ENTRY, EKS_ACCESS_POLICIES, EKS_CLUSTER,
    EKS_NODEGROUP, EKS_POD_IDENTITY,
};
use super::eks_access::{synthetic_rbac, AccessEntry, AuthMode};
use crate::inventory::Inventory;
use crate::object::Object;
use crate::pointer::Pointer as _;
use crate::snapshot::Provider;
use serde_json::Value;
use std::collections::BTreeMap;

/// A Pod Identity association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodIdentity {
    /// Association ID.
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// ServiceAccount name.
    pub service_account: String,
    /// Role EKS hands the pods.
    pub role_arn: String,
    /// Role EKS chains into (cross-account), if any.
    pub target_role_arn: Option<String>,
    /// External ID EKS presents to the target role.
    pub external_id: Option<String>,
}

/// Whether pods reach the node's instance role through IMDS (CLOUD.md §1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imds {
    /// Every pod on the node reaches it (IMDSv1 allowed, or IMDSv2 with hop limit ≥ 2).
    AllPods(String),
    /// Only `hostNetwork` pods reach it (IMDSv2 required, hop limit 1).
    HostNetworkOnly(String),
    /// The metadata endpoint is off.
    Disabled,
    /// The settings are not in the snapshot: only `hostNetwork` pods are assumed to reach it.
    Unknown(String),
}

/// A managed node group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nodegroup {
    /// Name.
    pub name: String,
    /// Node instance role ARN.
    pub role_arn: String,
    /// IMDS reachability from pods.
    pub imds: Imds,
}

/// One EKS cluster's cloud facts.
#[derive(Debug, Clone, Default)]
pub struct EksFacts {
    /// The cluster's name in the fleet.
    pub cluster: String,
    /// EKS cluster ARN (empty when DescribeCluster is not in the snapshot).
    pub arn: String,
    /// Account ID.
    pub account: String,
    /// Partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// OIDC issuer URL, for IRSA.
    pub issuer: Option<String>,
    /// Authentication mode (absent DescribeCluster: the aws-auth era's `CONFIG_MAP`).
    pub mode: Option<AuthMode>,
    /// The aws-auth ConfigMap, if the cluster has one.
    pub aws_auth: Option<AwsAuth>,
    /// Access entries with their policies.
    pub entries: Vec<AccessEntry>,
    /// Pod Identity associations.
    pub pod_identity: Vec<PodIdentity>,
    /// ServiceAccounts: (namespace, name, `eks.amazonaws.com/role-arn` annotation).
    pub service_accounts: Vec<(String, String, Option<String>)>,
    /// User names RBAC bindings name (for username templates such as `{{SessionName}}`).
    pub bound_users: Vec<String>,
    /// What could not be read.
    pub errors: Vec<String>,
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

impl EksFacts {
    /// The authentication mode in force.
    pub fn auth_mode(&self) -> AuthMode {
        self.mode.unwrap_or(AuthMode::ConfigMap)
    }

    /// The cluster's EKS name (the last segment of its ARN).
    pub fn eks_name(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or("")
    }
}

/// The aws-auth ConfigMap of a cluster.
pub fn aws_auth_configmap<'a>(inv: &Inventory<'a>) -> Option<&'a Object> {
    inv.of_kind("ConfigMap")
        .iter()
        .find(|c| c.name == "aws-auth" && c.namespace.as_deref() == Some("kube-system"))
        .copied()
}

/// The access entries of a cluster, each with its associated policies.
pub fn access_entries(inv: &Inventory<'_>) -> (Vec<AccessEntry>, Vec<String>) {
    let policies: BTreeMap<&str, &Value> = inv
        .of_kind(EKS_ACCESS_POLICIES)
        .iter()
        .map(|o| (o.name.as_str(), spec(o)))
        .collect();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for o in inv.of_kind(EKS_ACCESS_ENTRY) {
        match AccessEntry::from_api(spec(o), policies.get(o.name.as_str()).copied()) {
            Ok(e) => out.push(e),
            Err(e) => errors.push(format!("{}: {e}", o.source.file)),
        }
    }
    (out, errors)
}

/// Synthetic RBAC objects for the cluster's access policies (empty for other clusters).
pub fn access_policy_objects(inv: &Inventory<'_>) -> Vec<Object> {
    let (entries, _) = access_entries(inv);
    if entries.iter().all(|e| e.policies.is_empty()) {
        return Vec::new();
    }
    let mode = inv.of_kind(EKS_CLUSTER).first().map(|c| {
        AuthMode::parse(
            spec(c)
                .at("/accessConfig/authenticationMode")
                .and_then(Value::as_str),
        )
    });
    // Access entries are ignored in CONFIG_MAP mode.
    if mode == Some(AuthMode::ConfigMap) {
        return Vec::new();
    }
    let namespaces: Vec<String> = inv
        .of_kind("Namespace")
        .iter()
        .map(|n| n.name.clone())
        .collect();
    synthetic_rbac(&entries, &namespaces, "cloud/access-policies").0
}

/// The launch template version a node group runs (`$Latest`, `$Default` or a number).
fn launch_template_version<'a>(inv: &Inventory<'a>, lt: &Value) -> Option<&'a Value> {
    let id = s(lt, "id");
    let name = s(lt, "name");
    let version = lt
        .get("version")
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
        .unwrap_or_default();
    let candidates: Vec<&Value> = inv
        .of_kind(EC2_LAUNCH_TEMPLATE_VERSION)
        .iter()
        .map(|o| spec(o))
        .filter(|v| {
            (!id.is_empty() && s(v, "LaunchTemplateId") == id)
                || (!name.is_empty() && s(v, "LaunchTemplateName") == name)
        })
        .collect();
    let number = |v: &Value| v.get("VersionNumber").and_then(Value::as_u64).unwrap_or(0);
    match version.as_str() {
        "$Latest" => candidates.into_iter().max_by_key(|v| number(v)),
        "$Default" | "" => candidates
            .iter()
            .find(|v| v.get("DefaultVersion").and_then(Value::as_bool) == Some(true))
            .copied()
            .or_else(|| {
                // Without DefaultVersion flags a single version is the only choice.
                (candidates.len() == 1).then(|| candidates[0])
            }),
        n => candidates.into_iter().find(|v| number(v).to_string() == n),
    }
}

/// IMDS reachability from `MetadataOptions` (launch template data or instance).
pub fn imds_of(options: Option<&Value>) -> Imds {
    let Some(o) = options.filter(|o| o.is_object()) else {
        return Imds::Unknown("the launch template sets no metadata options".into());
    };
    if s(o, "HttpEndpoint") == "disabled" {
        return Imds::Disabled;
    }
    let hops = o.get("HttpPutResponseHopLimit").and_then(Value::as_u64);
    match (s(o, "HttpTokens"), hops) {
        ("optional", _) => Imds::AllPods("IMDSv1 allowed (HttpTokens: optional)".into()),
        ("required", Some(h)) if h >= 2 => Imds::AllPods(format!(
            "IMDSv2 with HttpPutResponseHopLimit {h} (a pod is one hop further than the node)"
        )),
        ("required", Some(h)) => Imds::HostNetworkOnly(format!(
            "IMDSv2 required with HttpPutResponseHopLimit {h}: only hostNetwork pods reach it"
        )),
        (tokens, hops) => Imds::Unknown(format!(
            "metadata options incomplete (HttpTokens {tokens:?}, hop limit {hops:?})"
        )),
    }
}

/// The node groups of a cluster with their instance roles and IMDS reachability.
pub fn nodegroups(inv: &Inventory<'_>) -> Vec<Nodegroup> {
    inv.of_kind(EKS_NODEGROUP)
        .iter()
        .map(|o| {
            let ng = spec(o);
            let imds = match ng.get("launchTemplate").filter(|l| l.is_object()) {
                Some(lt) => match launch_template_version(inv, lt) {
                    Some(v) => imds_of(v.at("/LaunchTemplateData/MetadataOptions")),
                    None => Imds::Unknown(format!(
                        "launch template {} is not in the snapshot (aws ec2 describe-launch-template-versions)",
                        if s(lt, "id").is_empty() { s(lt, "name") } else { s(lt, "id") }
                    )),
                },
                None => Imds::Unknown(
                    "the node group uses EKS's default launch template; its metadata options are not in the snapshot".into(),
                ),
            };
            Nodegroup {
                name: o.name.clone(),
                role_arn: s(ng, "nodeRole").to_string(),
                imds,
            }
        })
        .collect()
}

/// The ServiceAccount annotation IRSA reads: the IAM role the account asks for.
pub const ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// The cloud facts of a cluster, if it is an EKS cluster (by provider, DescribeCluster output
/// or an aws-auth ConfigMap).
pub fn facts(inv: &Inventory<'_>, bound_users: Vec<String>) -> Option<EksFacts> {
    let cluster = inv.cluster;
    let describe = inv.of_kind(EKS_CLUSTER).first().map(|o| spec(o));
    let cm = aws_auth_configmap(inv);
    if cluster.info.provider != Provider::Eks && describe.is_none() && cm.is_none() {
        return None;
    }
    let mut f = EksFacts {
        cluster: cluster.info.name.clone(),
        bound_users,
        ..Default::default()
    };
    if let Some(d) = describe {
        f.arn = s(d, "arn").to_string();
        let parts: Vec<&str> = f.arn.split(':').collect();
        f.partition = parts.get(1).copied().unwrap_or("aws").to_string();
        f.account = parts.get(4).copied().unwrap_or("").to_string();
        f.issuer = d
            .at("/identity/oidc/issuer")
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty())
            .map(str::to_string);
        f.mode = Some(AuthMode::parse(
            d.at("/accessConfig/authenticationMode")
                .and_then(Value::as_str),
        ));
    }
    if f.account.is_empty() {
        f.account = cluster.info.account.clone().unwrap_or_default();
    }
    if f.partition.is_empty() {
        f.partition = "aws".into();
    }
    if let Some(cm) = cm {
        let parsed = AwsAuth::from_configmap(cm);
        f.errors
            .extend(parsed.errors.iter().map(|e| format!("aws-auth: {e}")));
        f.aws_auth = Some(parsed);
    }
    let (entries, errors) = access_entries(inv);
    f.entries = entries;
    f.errors.extend(errors);
    for o in inv.of_kind(EKS_POD_IDENTITY) {
        let a = spec(o);
        let role = s(a, "roleArn");
        if role.is_empty() {
            f.errors.push(format!(
                "{}: Pod Identity association {} has no roleArn (ListPodIdentityAssociations gives summaries; use DescribePodIdentityAssociation)",
                o.source.file, o.name
            ));
            continue;
        }
        f.pod_identity.push(PodIdentity {
            id: o.name.clone(),
            namespace: s(a, "namespace").to_string(),
            service_account: s(a, "serviceAccount").to_string(),
            role_arn: role.to_string(),
            target_role_arn: a
                .get("targetRoleArn")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            external_id: a
                .get("externalId")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        });
    }
    f.service_accounts = super::service_accounts(inv, ROLE_ANNOTATION);
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn imds_reachability_follows_the_metadata_options() {
        let cases = [
            (
                json!({"HttpTokens": "optional", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"}),
                "all",
            ),
            (
                json!({"HttpTokens": "required", "HttpPutResponseHopLimit": 2}),
                "all",
            ),
            (
                json!({"HttpTokens": "required", "HttpPutResponseHopLimit": 1}),
                "host",
            ),
            (
                json!({"HttpTokens": "optional", "HttpEndpoint": "disabled"}),
                "off",
            ),
            (json!({"HttpPutResponseHopLimit": 2}), "unknown"),
        ];
        for (opts, want) in cases {
            let got = match imds_of(Some(&opts)) {
                Imds::AllPods(_) => "all",
                Imds::HostNetworkOnly(_) => "host",
                Imds::Disabled => "off",
                Imds::Unknown(_) => "unknown",
            };
            assert_eq!(got, want, "{opts}");
        }
        assert!(matches!(imds_of(None), Imds::Unknown(_)));
    }
}
