//! Cloud identity semantics, pure (the cloud collectors fetch the documents): [`aws_iam`], the
//! IAM policy evaluator behind the cross-layer edges (IRSA and Pod Identity trusts, node roles,
//! admin classification); [`aws_auth`], the EKS aws-auth ConfigMap; [`eks_access`], access
//! entries, access policies as synthetic RBAC, and the authentication mode deciding between them;
//! [`gcp`] and [`azure`], the same for GKE and AKS; [`documents`], how provider JSON is stored.

pub mod aws_account;
pub mod aws_auth;
pub mod aws_iam;
pub mod azure;
pub mod documents;
pub mod eks;
pub mod eks_access;
pub mod gcp;
pub mod kinds;

/// Every ServiceAccount of a cluster — the objects and those pod templates name — with the
/// value of `annotation` (the cloud identity it asks for): (namespace, name, annotation).
pub fn service_accounts(
    inv: &crate::inventory::Inventory<'_>,
    annotation: &str,
) -> Vec<(String, String, Option<String>)> {
    service_accounts_of(
        inv.of_kind("ServiceAccount").iter().copied(),
        inv.templates().iter().map(|t| t.service_account()),
        annotation,
    )
}

/// [`service_accounts`] of the ServiceAccount objects `objects` and the accounts pod templates
/// name, `named` (those without an object have no annotation), sorted.
pub fn service_accounts_of<'o>(
    objects: impl IntoIterator<Item = &'o crate::Object>,
    named: impl IntoIterator<Item = (&'o str, &'o str)>,
    annotation: &str,
) -> Vec<(String, String, Option<String>)> {
    let mut sas: std::collections::BTreeMap<(String, String), Option<String>> =
        std::collections::BTreeMap::new();
    for sa in objects {
        sas.insert(
            (
                sa.effective_namespace().unwrap_or("default").to_string(),
                sa.name.clone(),
            ),
            sa.annotations.get(annotation).cloned(),
        );
    }
    for (ns, name) in named {
        sas.entry((ns.to_string(), name.to_string()))
            .or_insert(None);
    }
    sas.into_iter().map(|((ns, n), a)| (ns, n, a)).collect()
}
