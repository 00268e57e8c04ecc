//! Cloud provider documents as the engine stores them: the raw JSON a provider API (or its CLI)
//! returns, recognised by shape and wrapped as synthetic objects (`apiVersion:
//! cloud.kspm.io/v1`) so checks, the graph and storage treat them like any other object. The
//! file loader and the cloud collectors both go through [`objects_from_document`], which is
//! why a snapshot exported with `aws eks describe-cluster` and one written by `kspm collect`
//! read the same.

use crate::object::{Object, Source};
use crate::parse::object_from_map;
use serde_json::{json, Value};

pub use super::kinds::*;

/// A field of an Azure resource: at the top (as the `az` CLI flattens it) or under
/// `properties` (as ARM returns it), by [`arm_get`]'s spelling rule.
pub fn azure_field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    arm_get(v, key)
        .filter(|x| !x.is_null())
        .or_else(|| arm_get(v, "properties").and_then(|p| arm_get(p, key)))
}

/// A property of an ARM object. ARM property names are case-insensitive, and the two sources
/// spell acronyms differently: the REST API (and a resource's JSON view) says `issuerURL`,
/// `enableAzureRBAC`, `authorizedIPRanges`, `enableRBAC`, `enableNodePublicIP`; `az aks show`
/// says `issuerUrl`, `enableAzureRbac`, `authorizedIpRanges`, `enableRbac`,
/// `enableNodePublicIp`. The exact spelling is taken first, then any that differs only in case.
pub fn arm_get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let map = v.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, x)| x)
    })
}

/// [`arm_get`] along a `/`-separated path (`/aadProfile/enableAzureRBAC`).
pub fn arm_pointer<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .try_fold(v, |at, key| arm_get(at, key))
}

/// The segment after `key` in an ARM resource ID, the key matched without regard to case
/// (`arm_id_segment(id, "resourceGroups")` is the resource group); empty when absent.
pub fn arm_id_segment<'a>(id: &'a str, key: &str) -> &'a str {
    let mut parts = id.split('/');
    parts
        .by_ref()
        .find(|p| p.eq_ignore_ascii_case(key))
        .and_then(|_| parts.next())
        .unwrap_or("")
}

/// The JSON pointer of [`arm_pointer`]'s answer, with the keys as the document spells them
/// (what a patch to it must name).
pub fn arm_spelled(v: &Value, path: &str) -> Option<String> {
    let mut at = v;
    let mut out = String::new();
    for key in path.split('/').filter(|s| !s.is_empty()) {
        let map = at.as_object()?;
        let (k, next) = map
            .get_key_value(key)
            .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))?;
        out.push('/');
        out.push_str(&k.replace('~', "~0").replace('/', "~1"));
        at = next;
    }
    Some(out)
}

/// The Azure kind of one resource of a list, by its shape.
fn azure_kind(item: &Value) -> Option<&'static str> {
    let ty = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    if ty == "microsoft.containerservice/managedclusters" {
        Some(AKS_CLUSTER)
    } else if ty == "microsoft.managedidentity/userassignedidentities" {
        Some(AZURE_MANAGED_IDENTITY)
    } else if azure_field(item, "roleDefinitionId").is_some()
        && azure_field(item, "principalId").is_some()
    {
        Some(AZURE_ROLE_ASSIGNMENT)
    } else if azure_field(item, "roleName").is_some() && azure_field(item, "permissions").is_some()
    {
        Some(AZURE_ROLE_DEFINITION)
    } else if azure_field(item, "issuer").is_some() && azure_field(item, "subject").is_some() {
        Some(AZURE_FEDERATED_CREDENTIAL)
    } else {
        None
    }
}

/// The GCP resource whose IAM policy a file holds, from its path:
/// `cloud/gcp/folders/<id>.json` → that folder, `cloud/gcp/organizations/<id>.json` → that
/// organization (their IDs are numbers, which no file kspm or `gcloud` names under a project
/// is), and under `cloud/gcp/<project>/`: `service-accounts/<email>.json` → that service
/// account, anything else → the project.
fn gcp_policy_resource(file: &str) -> Option<String> {
    let path = std::path::Path::new(file);
    let comps: Vec<&str> = path
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect();
    let gcp = comps.iter().rposition(|c| *c == "gcp")?;
    let project = comps.get(gcp + 1)?;
    if comps.len() == gcp + 3 && matches!(*project, "folders" | "organizations") {
        let id = path.file_stem()?.to_str()?;
        if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            return Some(format!("{project}/{id}"));
        }
    }
    if comps.get(gcp + 2) == Some(&"service-accounts") {
        let email = path.file_stem()?.to_str()?;
        return Some(format!("projects/{project}/serviceAccounts/{email}"));
    }
    Some(format!("projects/{project}"))
}

/// The ancestors of a project, nearest first, as (`project` | `folder` | `organization`, ID):
/// from Resource Manager's `projects.getAncestry` (`{"ancestor": [{"resourceId": {"type",
/// "id"}}]}`) or `gcloud projects get-ancestors --format json` (`[{"id", "type"}]`). `None`
/// when the document is neither.
pub fn gcp_ancestry(doc: &Value) -> Option<Vec<(String, String)>> {
    let (items, wrapped) = match doc {
        Value::Array(a) => (a, false),
        Value::Object(m) => (m.get("ancestor")?.as_array()?, true),
        _ => return None,
    };
    let entries: Option<Vec<(String, String)>> = items
        .iter()
        .map(|i| {
            let r = if wrapped { i.get("resourceId")? } else { i };
            let ty = str_at(r, "type");
            let id = str_at(r, "id");
            (matches!(ty, "project" | "folder" | "organization") && !id.is_empty())
                .then(|| (ty.to_string(), id.to_string()))
        })
        .collect();
    entries.filter(|e| !e.is_empty())
}

/// The provider document a synthetic object wraps (`spec`).
pub fn spec(o: &Object) -> &Value {
    o.body.get("spec").unwrap_or(&Value::Null)
}

fn wrap(kind: &str, name: &str, doc: Value, source: &Source) -> Result<Object, String> {
    if name.is_empty() {
        return Err(format!("{kind} document without a name"));
    }
    let body = json!({
        "apiVersion": CLOUD_API_VERSION,
        "kind": kind,
        "metadata": {"name": name},
        "spec": doc,
    });
    match body {
        Value::Object(m) => object_from_map(m, source.clone()),
        _ => Err("internal: synthetic object is not a map".into()),
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The account an IAM export belongs to: the account field of its first ARN.
fn gaad_account(page: &Value) -> Option<String> {
    for list in ["RoleDetailList", "UserDetailList", "GroupDetailList"] {
        for item in page
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(acct) = str_at(item, "Arn").split(':').nth(4) {
                if !acct.is_empty() {
                    return Some(acct.to_string());
                }
            }
        }
    }
    page.get("Policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| str_at(p, "Arn").split(':').nth(4))
        .find(|a| !a.is_empty() && *a != "aws")
        .map(str::to_string)
}

/// Turns one provider document into synthetic objects, recognising it by shape:
///
/// | Document | Produced by |
/// |---|---|
/// | `{"cluster": {...}}` | `aws eks describe-cluster` |
/// | `{"nodegroup": {...}}` | `aws eks describe-nodegroup` |
/// | `{"accessEntry": {...}}` | `aws eks describe-access-entry` |
/// | `{"associatedAccessPolicies": [...], "principalArn": ...}` | `aws eks list-associated-access-policies` |
/// | `{"association": {...}}` | `aws eks describe-pod-identity-association` |
/// | `{"LaunchTemplateVersions": [...]}` | `aws ec2 describe-launch-template-versions` |
/// | `{"ancestor": [...]}`, `[{"id", "type": "project"}, ...]` | `projects.getAncestry`, `gcloud projects get-ancestors` |
/// | `{"RoleDetailList": ..., "UserDetailList": ..., ...}` | `aws iam get-account-authorization-details` |
///
/// `page` numbers IAM exports split over several files. Anything else is an error that says
/// what was expected.
pub fn objects_from_document(
    doc: Value,
    source: &Source,
    page: usize,
) -> Result<Vec<Object>, String> {
    // A project's ancestry (before Azure lists: `gcloud` prints it as an array).
    if let Some(ancestry) = gcp_ancestry(&doc) {
        let project = ancestry
            .iter()
            .find(|(ty, _)| ty == "project")
            .map(|(_, id)| id.clone())
            .ok_or("a GCP ancestry without its project")?;
        // A project ID: lower-case letters, digits, hyphens (a legacy one has `domain:`).
        if !project
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b))
        {
            return Err(format!(
                "a GCP ancestry whose project {project:?} is not a project ID"
            ));
        }
        // Under `cloud/gcp/<project>/` it must be that project's.
        if let Some(dir) = gcp_policy_resource(&source.file)
            .as_deref()
            .and_then(|r| r.strip_prefix("projects/"))
            .filter(|d| !d.contains('/'))
        {
            if dir != project {
                return Err(format!(
                    "the ancestry of project {project} sits under cloud/gcp/{dir}/: it belongs under cloud/gcp/{project}/"
                ));
            }
        }
        return Ok(vec![wrap(
            GCP_ANCESTRY,
            &format!("projects/{project}"),
            doc,
            source,
        )?]);
    }
    // Azure lists: the `az` CLI prints arrays, ARM answers `{"value": [...]}`.
    let items = match &doc {
        Value::Array(a) => Some(a.clone()),
        Value::Object(m) if m.get("value").is_some_and(Value::is_array) => {
            m.get("value").and_then(Value::as_array).cloned()
        }
        _ => None,
    };
    if let Some(items) = items {
        let mut out = Vec::new();
        for item in items {
            let kind = azure_kind(&item).ok_or_else(|| {
                "a list whose items are not Azure role assignments, role definitions, managed identities, federated credentials or AKS clusters".to_string()
            })?;
            let name = azure_field(&item, "id")
                .or_else(|| item.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            out.push(wrap(kind, &name, item, source)?);
        }
        return Ok(out);
    }
    let Value::Object(map) = &doc else {
        return Err("a cloud document must be a JSON object or an Azure list".into());
    };
    if let Some(kind) = azure_kind(&doc) {
        let name = if kind == AKS_CLUSTER {
            str_at(&doc, "name").to_string()
        } else {
            azure_field(&doc, "id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        return Ok(vec![wrap(kind, &name, doc.clone(), source)?]);
    }
    if map.contains_key("nodePools")
        || str_at(&doc, "selfLink").contains("container.googleapis.com")
        || (map.contains_key("currentMasterVersion") && map.contains_key("name"))
    {
        let name = str_at(&doc, "name").to_string();
        return Ok(vec![wrap(GKE_CLUSTER, &name, doc.clone(), source)?]);
    }
    if map.contains_key("includedPermissions") {
        let name = str_at(&doc, "name").to_string();
        return Ok(vec![wrap(GCP_ROLE, &name, doc.clone(), source)?]);
    }
    // A policy with no bindings is sent without the key (`{"etag": "ACAB", "version": 1}`):
    // recognised by its keys where an IAM policy belongs.
    let empty_policy = map.contains_key("etag")
        && map
            .keys()
            .all(|k| matches!(k.as_str(), "etag" | "version" | "bindings" | "auditConfigs"))
        && gcp_policy_resource(&source.file).is_some();
    if map.get("bindings").is_some_and(Value::is_array) || empty_policy {
        let resource = gcp_policy_resource(&source.file).ok_or(
            "an IAM policy must sit under cloud/gcp/<project>/ (service-accounts/<email>.json for a service account's), or be cloud/gcp/folders/<id>.json or cloud/gcp/organizations/<id>.json",
        )?;
        return Ok(vec![wrap(GCP_IAM_POLICY, &resource, doc.clone(), source)?]);
    }
    if let Some(c) = map.get("cluster").filter(|c| c.is_object()) {
        let name = str_at(c, "name").to_string();
        return Ok(vec![wrap(EKS_CLUSTER, &name, c.clone(), source)?]);
    }
    if let Some(n) = map.get("nodegroup").filter(|c| c.is_object()) {
        let name = str_at(n, "nodegroupName").to_string();
        return Ok(vec![wrap(EKS_NODEGROUP, &name, n.clone(), source)?]);
    }
    if let Some(e) = map.get("accessEntry").filter(|c| c.is_object()) {
        let name = str_at(e, "principalArn").to_string();
        return Ok(vec![wrap(EKS_ACCESS_ENTRY, &name, e.clone(), source)?]);
    }
    if map.contains_key("associatedAccessPolicies") {
        let name = str_at(&doc, "principalArn").to_string();
        return Ok(vec![wrap(EKS_ACCESS_POLICIES, &name, doc.clone(), source)?]);
    }
    if let Some(a) = map.get("association").filter(|c| c.is_object()) {
        let name = str_at(a, "associationId").to_string();
        return Ok(vec![wrap(EKS_POD_IDENTITY, &name, a.clone(), source)?]);
    }
    if let Some(versions) = map.get("LaunchTemplateVersions").and_then(Value::as_array) {
        let mut out = Vec::new();
        for v in versions {
            let id = str_at(v, "LaunchTemplateId");
            let number = v
                .get("VersionNumber")
                .map(|n| n.to_string())
                .unwrap_or_default();
            // User data often carries secrets (bootstrap tokens, passwords): dropped here,
            // like a Secret's values, so it is never stored, printed or reported.
            let mut v = v.clone();
            if let Some(data) = v
                .get_mut("LaunchTemplateData")
                .and_then(Value::as_object_mut)
            {
                data.remove("UserData");
            }
            out.push(wrap(
                EC2_LAUNCH_TEMPLATE_VERSION,
                &format!("{id}:{number}"),
                v,
                source,
            )?);
        }
        return Ok(out);
    }
    if ["RoleDetailList", "UserDetailList", "GroupDetailList"]
        .iter()
        .any(|k| map.contains_key(*k))
    {
        // The account: from the export's ARNs, else from a `cloud/aws/<account>/` directory.
        let from_dir = std::path::Path::new(&source.file)
            .parent()
            .and_then(|d| d.file_name())
            .and_then(|n| n.to_str())
            .filter(|n| n.len() == 12 && n.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string);
        let account = gaad_account(&doc).or(from_dir).ok_or(
            "IAM authorization details name no account (no ARNs in the export, and not under cloud/aws/<account>/)",
        )?;
        return Ok(vec![wrap(
            AWS_AUTHORIZATION_DETAILS,
            &format!("{account}:{page}"),
            doc.clone(),
            source,
        )?]);
    }
    let keys: Vec<&str> = map.keys().map(String::as_str).take(5).collect();
    Err(format!(
        "not a recognised provider document (top-level keys: {}); expected the JSON of `aws eks describe-cluster`, `describe-nodegroup`, `describe-access-entry`, `list-associated-access-policies`, `describe-pod-identity-association`, `aws ec2 describe-launch-template-versions`, `aws iam get-account-authorization-details`, `gcloud container clusters describe`, `gcloud projects get-iam-policy`, `gcloud iam roles describe`, `az aks show`, `az role assignment list`, `az role definition list`, `az identity list` or `az identity federated-credential list`",
        keys.join(", ")
    ))
}

/// The account of an `AwsAuthorizationDetails` object (`<account>:<page>`).
pub fn details_account(o: &Object) -> &str {
    o.name.split(':').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> Source {
        Source {
            file: "cloud/x.json".into(),
            line: Some(1),
        }
    }

    #[test]
    fn documents_are_recognised_by_shape() {
        let cases = [
            (
                json!({"cluster": {"name": "prod", "arn": "arn:aws:eks:us-east-1:1:cluster/prod"}}),
                EKS_CLUSTER,
                "prod",
            ),
            (
                json!({"nodegroup": {"nodegroupName": "ng1"}}),
                EKS_NODEGROUP,
                "ng1",
            ),
            (
                json!({"accessEntry": {"principalArn": "arn:aws:iam::1:role/a"}}),
                EKS_ACCESS_ENTRY,
                "arn:aws:iam::1:role/a",
            ),
            (
                json!({"clusterName": "prod", "principalArn": "arn:aws:iam::1:role/a", "associatedAccessPolicies": []}),
                EKS_ACCESS_POLICIES,
                "arn:aws:iam::1:role/a",
            ),
            (
                json!({"association": {"associationId": "a-1"}}),
                EKS_POD_IDENTITY,
                "a-1",
            ),
            (
                json!({"RoleDetailList": [{"Arn": "arn:aws:iam::111122223333:role/x"}]}),
                AWS_AUTHORIZATION_DETAILS,
                "111122223333:0",
            ),
        ];
        for (doc, kind, name) in cases {
            let objs = objects_from_document(doc, &src(), 0).expect("recognised");
            assert_eq!(objs.len(), 1);
            assert_eq!(objs[0].kind, kind);
            assert_eq!(objs[0].name, name);
            assert!(objs[0].is_cluster_scoped());
        }
        let lt = json!({"LaunchTemplateVersions": [
            {"LaunchTemplateId": "lt-1", "VersionNumber": 1, "LaunchTemplateData": {}},
            {"LaunchTemplateId": "lt-1", "VersionNumber": 2, "LaunchTemplateData": {}}]});
        let objs = objects_from_document(lt, &src(), 0).expect("lt");
        assert_eq!(
            objs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
            ["lt-1:1", "lt-1:2"]
        );
    }

    /// Launch template user data is dropped at parse time: it often carries secrets.
    #[test]
    fn launch_template_user_data_is_dropped() {
        let lt = json!({"LaunchTemplateVersions": [{"LaunchTemplateId": "lt-1", "VersionNumber": 3,
            "LaunchTemplateData": {"UserData": "VVNFUi1EQVRBLUNBTkFSWQ==",
                "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 2}}}]});
        let objs = objects_from_document(lt, &src(), 0).expect("lt");
        let body = serde_json::to_string(&objs[0].body).expect("json");
        assert!(!body.contains("VVNFUi1EQVRBLUNBTkFSWQ"), "{body}");
        assert!(!body.contains("UserData"), "{body}");
        assert!(
            body.contains("HttpPutResponseHopLimit"),
            "the rest is kept: {body}"
        );
    }

    /// Google sends a policy without bindings as `{"etag": "ACAB", "version": 1}`: a project's or
    /// a service account's policy that grants nothing, not an unknown document. Negative: the same
    /// keys outside `cloud/gcp/<project>/` are not guessed to be a policy.
    #[test]
    fn an_iam_policy_without_bindings_is_a_policy() {
        let at = |file: &str| Source {
            file: file.into(),
            line: Some(1),
        };
        let empty = json!({"etag": "ACAB", "version": 1});
        let objs = objects_from_document(
            empty.clone(),
            &at("fleet/cloud/gcp/shop-prod/service-accounts/api@shop-prod.iam.gserviceaccount.com.json"),
            0,
        )
        .expect("an empty policy");
        assert_eq!(objs[0].kind, GCP_IAM_POLICY);
        assert_eq!(
            objs[0].name,
            "projects/shop-prod/serviceAccounts/api@shop-prod.iam.gserviceaccount.com"
        );
        assert!(objects_from_document(empty, &at("fleet/cloud/x.json"), 0).is_err());
        assert!(objects_from_document(
            json!({"etag": "x", "other": 1}),
            &at("fleet/cloud/gcp/p/iam.json"),
            0
        )
        .is_err());
    }

    /// A project's ancestry reads the same from the API and from `gcloud`; folder and
    /// organization policies are named by their numeric file names. Negatives: a list of other
    /// types is not an ancestry, and a folder file whose name is not an ID is not a folder's.
    #[test]
    fn ancestry_and_folder_and_organization_policies() {
        let at = |file: &str| Source {
            file: file.into(),
            line: Some(1),
        };
        let api = json!({"ancestor": [
            {"resourceId": {"type": "project", "id": "shop-prod"}},
            {"resourceId": {"type": "folder", "id": "111"}},
            {"resourceId": {"type": "organization", "id": "222"}}]});
        let cli = json!([{"id": "shop-prod", "type": "project"}, {"id": "111", "type": "folder"},
            {"id": "222", "type": "organization"}]);
        for doc in [api, cli] {
            assert_eq!(
                gcp_ancestry(&doc).expect("ancestry"),
                [
                    ("project", "shop-prod"),
                    ("folder", "111"),
                    ("organization", "222")
                ]
                .map(|(a, b)| (a.to_string(), b.to_string()))
            );
            let e = objects_from_document(doc.clone(), &at("fleet/cloud/gcp/x/ancestry.json"), 0)
                .expect_err("another project's directory");
            assert!(e.contains("belongs under cloud/gcp/shop-prod/"), "{e}");
            let o = objects_from_document(doc, &at("fleet/cloud/gcp/shop-prod/ancestry.json"), 0)
                .expect("an ancestry");
            assert_eq!(
                (o[0].kind.as_str(), o[0].name.as_str()),
                (GCP_ANCESTRY, "projects/shop-prod")
            );
        }
        assert!(gcp_ancestry(&json!([{"id": "a", "type": "dns"}])).is_none());
        assert!(objects_from_document(
            json!([{"id": "111", "type": "folder"}]),
            &at("fleet/cloud/gcp/x/ancestry.json"),
            0
        )
        .is_err());
        assert!(objects_from_document(
            json!([{"id": "p/serviceAccounts/a@p.iam.gserviceaccount.com", "type": "project"}]),
            &at("fleet/cloud/gcp/p/ancestry.json"),
            0
        )
        .is_err());
        let policy = json!({"bindings": [{"role": "roles/owner", "members": ["user:a@x"]}]});
        for (file, name) in [
            ("fleet/cloud/gcp/folders/111.json", "folders/111"),
            (
                "fleet/cloud/gcp/organizations/222.json",
                "organizations/222",
            ),
            (
                "fleet/cloud/gcp/folders/project-iam-policy.json",
                "projects/folders",
            ),
        ] {
            let o = objects_from_document(policy.clone(), &at(file), 0).expect("a policy");
            assert_eq!(
                (o[0].kind.as_str(), o[0].name.as_str()),
                (GCP_IAM_POLICY, name)
            );
        }
    }

    #[test]
    fn unknown_or_nameless_documents_are_errors() {
        let e = objects_from_document(json!({"foo": 1}), &src(), 0).expect_err("unknown");
        assert!(e.contains("top-level keys: foo"), "{e}");
        assert!(objects_from_document(json!([1]), &src(), 0).is_err());
        assert!(objects_from_document(json!({"cluster": {}}), &src(), 0).is_err());
        assert!(objects_from_document(json!({"UserDetailList": []}), &src(), 0).is_err());
    }
}
