//! The AKS checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use crate::options::ScanOptions;
use crate::snapshot::Provider;
use serde_json::{json, Value};

/// An AKS cluster that passes every AKS check, with `over` merged into `properties`.
fn aks_cluster(over: Value) -> Value {
    let mut p = json!({
        "enableRBAC": true, "disableLocalAccounts": true,
        "aadProfile": {"managed": true, "enableAzureRBAC": true, "adminGroupObjectIDs": []},
        "apiServerAccessProfile": {"enablePrivateCluster": true, "disableRunCommand": true},
        "networkProfile": {"networkPlugin": "azure", "networkPolicy": "azure"},
        "securityProfile": {"azureKeyVaultKms": {"enabled": true}, "workloadIdentity": {"enabled": true}},
        "oidcIssuerProfile": {"enabled": true, "issuerURL": "https://westeurope.oic.prod-aks.azure.com/t/u/"},
        "agentPoolProfiles": [{"name": "np1", "enableNodePublicIP": false}]
    });
    merge(&mut p, over);
    cloud(
        "AksCluster",
        "payments",
        json!({"id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/payments",
        "name": "payments", "type": "Microsoft.ContainerService/ManagedClusters", "properties": p}),
    )
}

/// A role assignment of `role` (a role definition GUID) to `principal` at `scope`.
fn role_assignment(principal: &str, principal_type: &str, role: &str, scope: &str) -> Value {
    cloud(
        "AzureRoleAssignment",
        &format!("{principal}-{role}"),
        json!({"id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{principal}-{role}"),
        "principalId": principal, "principalType": principal_type,
        "roleDefinitionId": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{role}"),
        "scope": scope}),
    )
}

/// A custom role definition `guid` with these ARM actions.
fn role_definition(guid: &str, name: &str, actions: Value) -> Value {
    cloud(
        "AzureRoleDefinition",
        guid,
        json!({"name": guid, "id": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        "properties": {"roleName": name, "type": "CustomRole", "permissions": [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}]}}),
    )
}

/// The AKS cluster of [`aks_cluster`]'s ARM ID.
const AKS_ID: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/payments";

/// Azure Kubernetes Service Cluster Admin Role / Cluster User Role (built-in GUIDs).
const AKS_ADMIN_CREDENTIAL_ROLE: &str = "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8";

const AKS_USER_CREDENTIAL_ROLE: &str = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f";

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        case(
            "KSPM-A-001",
            vec![aks_cluster(json!({"enableRBAC": false}))],
            vec![aks_cluster(json!({}))],
        ),
        case(
            "KSPM-A-002",
            vec![aks_cluster(json!({"disableLocalAccounts": false}))],
            vec![aks_cluster(json!({}))],
        ),
        case(
            "KSPM-A-003",
            vec![aks_cluster(json!({"aadProfile": null}))],
            vec![aks_cluster(json!({}))],
        ),
        case(
            "KSPM-A-004",
            vec![aks_cluster(
                json!({"apiServerAccessProfile": {"enablePrivateCluster": false, "authorizedIPRanges": []}}),
            )],
            vec![aks_cluster(
                json!({"apiServerAccessProfile": {"enablePrivateCluster": false, "authorizedIPRanges": ["203.0.113.0/24"], "disableRunCommand": true}}),
            )],
        ),
        case(
            "KSPM-A-005",
            vec![aks_cluster(
                json!({"apiServerAccessProfile": {"enablePrivateCluster": false, "authorizedIPRanges": ["203.0.113.0/24"], "disableRunCommand": true}}),
            )],
            vec![aks_cluster(json!({}))],
        ),
        case(
            "KSPM-A-006",
            vec![aks_cluster(
                json!({"networkProfile": {"networkPlugin": "kubenet", "networkPolicy": "none"}}),
            )],
            vec![
                aks_cluster(json!({})),
                aks_cluster(
                    json!({"networkProfile": {"networkPlugin": "azure", "networkDataplane": "cilium"}}),
                ),
            ],
        ),
        case(
            "KSPM-A-007",
            vec![aks_cluster(
                json!({"securityProfile": {"workloadIdentity": {"enabled": true}}}),
            )],
            vec![aks_cluster(json!({}))],
        ),
        case(
            "KSPM-A-008",
            vec![aks_cluster(
                json!({"securityProfile": {"azureKeyVaultKms": {"enabled": true}}}),
            )],
            vec![aks_cluster(json!({}))],
        ),
        case(
            "KSPM-A-009",
            vec![aks_cluster(json!({"aadProfile": {"managed": true}}))],
            vec![aks_cluster(json!({}))],
        ),
        case(
            "KSPM-A-010",
            vec![aks_cluster(
                json!({"agentPoolProfiles": [{"name": "np1", "enableNodePublicIP": true}]}),
            )],
            vec![aks_cluster(json!({}))],
        ),
        case(
            "KSPM-A-011",
            vec![aks_cluster(
                json!({"apiServerAccessProfile": {"enablePrivateCluster": true}}),
            )],
            vec![aks_cluster(json!({}))],
        ),
        Case {
            provider: Provider::Aks,
            ..case(
                "KSPM-A-012",
                vec![
                    aks_cluster(json!({"disableLocalAccounts": false})),
                    role_assignment("u1", "User", AKS_ADMIN_CREDENTIAL_ROLE, AKS_ID),
                ],
                vec![
                    // Local accounts off and Entra-integrated: no credential is an admin kubeconfig.
                    aks_cluster(json!({})),
                    role_assignment("u1", "User", AKS_ADMIN_CREDENTIAL_ROLE, AKS_ID),
                    role_assignment("u2", "User", AKS_USER_CREDENTIAL_ROLE, "/subscriptions/s1"),
                ],
            )
        },
    ]
}

/// Who may fetch an AKS cluster's admin kubeconfig is an answer about its subscription's role
/// assignments: without any of them read, KSPM-A-012 is not assessed — said in the errors and
/// in compliance — rather than passed. Negative: one assignment of the subscription read (a
/// harmless one) makes it assessed, and passed.
#[test]
fn admin_kubeconfig_holders_are_not_assessed_without_the_role_assignments() {
    let evaluate =
        |objects: Vec<Value>| evaluate_case(&objects, Provider::Aks, &ScanOptions::default());
    let no_entra = aks_cluster(json!({"aadProfile": null, "disableLocalAccounts": false}));
    let status = |r: &crate::report::Report| {
        r.compliance
            .iter()
            .find(|c| c.framework == "cis-aks")
            .and_then(|c| c.controls.iter().find(|x| x.id == "5.5.1"))
            .map(|x| (x.status.clone(), x.reason.clone().unwrap_or_default()))
            .expect("CIS AKS 5.5.1")
    };
    let unread = evaluate(vec![no_entra.clone()]);
    assert!(
        unread
            .errors
            .iter()
            .any(|e| e.cluster.as_deref() == Some("c")
                && e.message
                    .contains("no role assignment of subscription s1 was read")
                && e.message.contains("KSPM-A-012")),
        "{:?}",
        unread.errors
    );
    let (st, why) = status(&unread);
    assert_eq!(st, "not_assessable", "{why}");
    assert!(
        why.contains("AzureRoleAssignment of subscription s1"),
        "{why}"
    );
    // With Entra integration and local accounts off no credential is an admin one: the answer
    // needs no role assignment (the missing listing is still said).
    let entra_only = evaluate(vec![aks_cluster(json!({}))]);
    assert!(entra_only.errors.iter().any(|e| e
        .message
        .contains("no role assignment of subscription s1 was read")));
    assert_ne!(status(&entra_only).0, "not_assessable");

    let read = evaluate(vec![
        no_entra,
        role_definition(
            "9e000000-0000-4000-8000-000000000002",
            "reads",
            json!(["Microsoft.ContainerService/managedClusters/read"]),
        ),
        role_assignment(
            "reader",
            "ServicePrincipal",
            "9e000000-0000-4000-8000-000000000002",
            "/subscriptions/s1",
        ),
    ]);
    assert!(
        !read
            .errors
            .iter()
            .any(|e| e.message.contains("no role assignment of subscription")),
        "{:?}",
        read.errors
    );
    assert_ne!(status(&read).0, "not_assessable");
}

#[test]
fn who_may_fetch_an_admin_kubeconfig_follows_the_cluster_and_the_role() {
    // listClusterUserCredential alone, in a custom role like kspm's own collector role.
    let reader = role_definition(
        "9e000000-0000-4000-8000-000000000001",
        "kspm collector: Entra cluster credential",
        json!(["Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"]),
    );
    let reads_only = role_definition(
        "9e000000-0000-4000-8000-000000000002",
        "reads",
        json!(["Microsoft.ContainerService/managedClusters/read", "*/read"]),
    );
    let assign = |principal: &str, role: &str, scope: &str| {
        role_assignment(principal, "ServicePrincipal", role, scope)
    };
    let run = |cluster: Value, more: Vec<Value>| {
        let mut objects = vec![cluster, reader.clone(), reads_only.clone()];
        objects.extend(more);
        hits(
            "KSPM-A-012",
            &objects,
            Provider::Aks,
            &ScanOptions::default(),
        )
    };
    let no_entra = || aks_cluster(json!({"aadProfile": null, "disableLocalAccounts": false}));
    let local_accounts = || aks_cluster(json!({"disableLocalAccounts": false}));
    let custom = "9e000000-0000-4000-8000-000000000001";
    // Without Entra integration the user credential is an admin certificate: at the cluster,
    // its resource group or its subscription.
    for scope in [
        AKS_ID,
        "/subscriptions/s1/resourceGroups/rg",
        "/subscriptions/s1",
    ] {
        let found = run(no_entra(), vec![assign("collector", custom, scope)]);
        assert_eq!(found.len(), 1, "{scope}: {found:?}");
        assert!(
            found[0].contains("AzureServicePrincipal:collector"),
            "{found:?}"
        );
    }
    // The same role on an Entra-integrated cluster (local accounts on or off) fetches a
    // kubeconfig without a secret.
    assert!(run(local_accounts(), vec![assign("collector", custom, AKS_ID)]).is_empty());
    assert!(run(
        aks_cluster(json!({})),
        vec![assign("collector", custom, AKS_ID)]
    )
    .is_empty());
    // Another cluster's scope, another subscription, a namespace of the cluster, read actions.
    for scope in [
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/other",
        "/subscriptions/s2",
        &format!("{AKS_ID}/namespaces/shop"),
    ] {
        let found = run(no_entra(), vec![assign("collector", custom, scope)]);
        assert!(found.is_empty(), "{scope}: {found:?}");
    }
    assert!(run(
        no_entra(),
        vec![assign(
            "r",
            "9e000000-0000-4000-8000-000000000002",
            "/subscriptions/s1"
        )]
    )
    .is_empty());
    // listClusterAdminCredential while local accounts are on, and Owner, whose actions hold it;
    // every holder named once, in one finding.
    let found = run(
        local_accounts(),
        vec![
            assign("admin", AKS_ADMIN_CREDENTIAL_ROLE, AKS_ID),
            assign(
                "owner",
                "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                "/subscriptions/s1",
            ),
            assign("user", AKS_USER_CREDENTIAL_ROLE, "/subscriptions/s1"),
        ],
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("2 Azure principal(s)")
            && found[0].contains("AzureServicePrincipal:admin")
            && found[0].contains("AzureServicePrincipal:owner")
            && !found[0].contains("AzureServicePrincipal:user"),
        "{found:?}"
    );
    // Roles whose main effect is something else still list credentials: the Azure RBAC for
    // Kubernetes Cluster Admin and Admin roles hold listClusterUserCredential (an admin
    // certificate without Entra, where Azure RBAC does not apply), a custom role the older
    // accessProfiles/listCredential; User Access Administrator holds no cluster action.
    let legacy = role_definition(
        "9e000000-0000-4000-8000-000000000003",
        "legacy credential",
        json!(["Microsoft.ContainerService/managedClusters/accessProfiles/listCredential/action"]),
    );
    let found = run(
        no_entra(),
        vec![
            assign(
                "rbac-cluster-admin",
                "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
                "/subscriptions/s1",
            ),
            assign("rbac-admin", "3498e952-d568-435e-9b2c-8d77e338d7f7", AKS_ID),
            assign(
                "rbac-reader",
                "7f6c6a51-bcf8-42ba-9220-52d62157d7db",
                AKS_ID,
            ),
            assign(
                "uaa",
                "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
                "/subscriptions/s1",
            ),
            legacy.clone(),
            assign("legacy", "9e000000-0000-4000-8000-000000000003", AKS_ID),
        ],
    );
    assert_eq!(found.len(), 1, "{found:?}");
    for holder in ["rbac-cluster-admin", "rbac-admin", "legacy"] {
        assert!(
            found[0].contains(&format!("AzureServicePrincipal:{holder}")),
            "{holder}: {found:?}"
        );
    }
    for other in ["rbac-reader", "uaa"] {
        assert!(
            !found[0].contains(&format!("AzureServicePrincipal:{other}")),
            "{other}: {found:?}"
        );
    }
    // A principal that is cluster-admin another way first (an Entra admin group) and may also
    // fetch the admin kubeconfig is still named.
    let found = run(
        aks_cluster(
            json!({"disableLocalAccounts": false, "aadProfile": {"managed": true, "adminGroupObjectIDs": ["ops"]}}),
        ),
        vec![role_assignment(
            "ops",
            "Group",
            AKS_ADMIN_CREDENTIAL_ROLE,
            AKS_ID,
        )],
    );
    assert!(
        found.len() == 1 && found[0].contains("AzureGroup:ops"),
        "{found:?}"
    );
    // Local accounts off: neither is an admin kubeconfig any more.
    assert!(run(
        aks_cluster(json!({})),
        vec![assign("admin", AKS_ADMIN_CREDENTIAL_ROLE, AKS_ID)]
    )
    .is_empty());
}
