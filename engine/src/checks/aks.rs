//! Azure AKS control-plane checks (CIS AKS Benchmark, CONTROLS.md §4.3), on the ARM
//! `ManagedCluster` (`az aks show`, snapshot: the cluster's `cloud/` directory). Fields are read
//! under `properties` (ARM) or at the top (as the CLI flattens some of them).

use super::judged::{Reached, HELD_BY_EVIDENCE};
use super::{Check, Context, Evidence, Hit, Needs};
use crate::cloud::azure::{ADMIN_CREDENTIAL, USER_CREDENTIAL};
use crate::cloud::documents::{arm_get, arm_pointer, spec, AKS_CLUSTER};
use crate::controls::{c, Framework::*};
use crate::finding::Finding;
use crate::graph::query::CloudHolder;
use crate::graph::Technique;
use crate::options::Profile;
use crate::severity::Severity;
use serde_json::Value;

type Rule = fn(&Value) -> Option<(String, &'static str)>;

fn props(c: &Value) -> &Value {
    arm_get(c, "properties").unwrap_or(c)
}

fn hits<'a>(ctx: &Context<'a>, rule: Rule) -> Vec<Hit<'a>> {
    super::document::hits(
        ctx,
        AKS_CLUSTER,
        |o| Some(props(spec(o))),
        |_, p| {
            rule(p).map(|(message, field)| {
                let value = arm_pointer(p, &format!("/{}", field.replace('.', "/")));
                let evidence = Evidence::new(
                    format!("spec.properties.{field}"),
                    value.cloned().unwrap_or(Value::Null),
                );
                (message, evidence)
            })
        },
    )
}

fn flag(p: &Value, path: &str) -> Option<bool> {
    arm_pointer(p, path).and_then(Value::as_bool)
}

fn rbac_off(p: &Value) -> Option<(String, &'static str)> {
    (flag(p, "/enableRBAC") == Some(false)).then(|| {
        (
            "Kubernetes RBAC is disabled: every authenticated caller is effectively cluster-admin"
                .into(),
            "enableRBAC",
        )
    })
}

fn local_accounts(p: &Value) -> Option<(String, &'static str)> {
    (flag(p, "/disableLocalAccounts") != Some(true)).then(|| {
        ("local accounts are enabled: listClusterAdminCredential returns a static admin kubeconfig that bypasses Entra ID".into(), "disableLocalAccounts")
    })
}

fn no_entra(p: &Value) -> Option<(String, &'static str)> {
    (!arm_get(p, "aadProfile").is_some_and(Value::is_object)).then(|| {
        (
            "the cluster is not integrated with Entra ID: identities are certificates".into(),
            "aadProfile",
        )
    })
}

fn public_api(p: &Value) -> Option<(String, &'static str)> {
    let private = flag(p, "/apiServerAccessProfile/enablePrivateCluster") == Some(true);
    let ranges = arm_pointer(p, "/apiServerAccessProfile/authorizedIPRanges")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    (!private && !ranges).then(|| {
        ("the API server is public with no authorized IP ranges: reachable from the whole internet".into(), "apiServerAccessProfile")
    })
}

fn not_private(p: &Value) -> Option<(String, &'static str)> {
    (flag(p, "/apiServerAccessProfile/enablePrivateCluster") != Some(true)).then(|| {
        (
            "the cluster is not private".into(),
            "apiServerAccessProfile.enablePrivateCluster",
        )
    })
}

fn network_policy(p: &Value) -> Option<(String, &'static str)> {
    let policy = arm_pointer(p, "/networkProfile/networkPolicy")
        .and_then(Value::as_str)
        .unwrap_or("");
    let cilium = arm_pointer(p, "/networkProfile/networkDataplane").and_then(Value::as_str)
        == Some("cilium");
    (!(cilium || matches!(policy, "azure" | "calico" | "cilium"))).then(|| {
        (
            "NetworkPolicy is not enforced (networkPolicy none)".into(),
            "networkProfile",
        )
    })
}

fn kms(p: &Value) -> Option<(String, &'static str)> {
    (flag(p, "/securityProfile/azureKeyVaultKms/enabled") != Some(true)).then(|| {
        (
            "Secrets are not encrypted with a Key Vault key (KMS)".into(),
            "securityProfile.azureKeyVaultKms",
        )
    })
}

fn workload_identity(p: &Value) -> Option<(String, &'static str)> {
    let wi = flag(p, "/securityProfile/workloadIdentity/enabled") == Some(true)
        && flag(p, "/oidcIssuerProfile/enabled") == Some(true);
    (!wi).then(|| {
        (
            "workload identity is off: pods that need Azure use the kubelet or node identities"
                .into(),
            "securityProfile.workloadIdentity",
        )
    })
}

fn azure_rbac(p: &Value) -> Option<(String, &'static str)> {
    (flag(p, "/aadProfile/enableAzureRBAC") != Some(true)).then(|| {
        (
            "Azure RBAC for Kubernetes authorization is off".into(),
            "aadProfile.enableAzureRBAC",
        )
    })
}

fn node_public_ip(p: &Value) -> Option<(String, &'static str)> {
    let pools: Vec<&str> = arm_get(p, "agentPoolProfiles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| arm_get(a, "enableNodePublicIP").and_then(Value::as_bool) == Some(true))
        .filter_map(|a| arm_get(a, "name").and_then(Value::as_str))
        .collect();
    (!pools.is_empty()).then(|| {
        (
            format!("node pools with public IPs: {}", pools.join(", ")),
            "agentPoolProfiles",
        )
    })
}

fn run_command(p: &Value) -> Option<(String, &'static str)> {
    (flag(p, "/apiServerAccessProfile/disableRunCommand") != Some(true)).then(|| {
        ("runCommand is enabled: Azure principals with managedClusters/runCommand/action run kubectl as cluster-admin inside the cluster".into(), "apiServerAccessProfile.disableRunCommand")
    })
}

/// KSPM-A-012's candidates: every AKS cluster (the first description, as the graph reads it);
/// who may fetch its admin kubeconfig is the fleet graph's answer, once the subscriptions' role
/// assignments have joined.
fn admin_kubeconfig_candidates<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .of_kind(AKS_CLUSTER)
        .first()
        .map(|&object| Hit {
            severity: None,
            object,
            message: "Azure principals may fetch an admin kubeconfig of the cluster".into(),
            evidence: vec![Evidence::new(
                format!("{HELD_BY_EVIDENCE}ClusterAdmin"),
                Value::Null,
            )],
        })
        .into_iter()
        .collect()
}

/// KSPM-A-012's rule on the fleet's graph: reported when some principal holds the cluster's
/// admin by a role assignment whose grant is a credential the cloud hands out (an
/// `AKS_ENTRA_TO_K8S` edge for [`ADMIN_CREDENTIAL`] or [`USER_CREDENTIAL`], the words
/// [`crate::cloud::azure::AksFacts::admin_kubeconfig`] gives the edge); the evidence names each.
pub(crate) fn settle_admin_kubeconfig(f: &Finding, reached: &[Reached]) -> Option<Finding> {
    let holders: Vec<&CloudHolder> = reached
        .iter()
        .flat_map(|r| &r.held_by)
        .filter(|h| {
            h.technique == Technique::AKS_ENTRA_TO_K8S.id()
                && [ADMIN_CREDENTIAL, USER_CREDENTIAL]
                    .iter()
                    .any(|c| h.evidence.contains(c))
        })
        .collect();
    if holders.is_empty() {
        return None;
    }
    let mut f = f.clone();
    let names: Vec<&str> = holders.iter().map(|h| h.principal.as_str()).collect();
    f.message = format!(
        "{} Azure principal(s) may fetch an admin kubeconfig of the cluster, cluster-admin outside Entra ID: {}",
        holders.len(),
        names.join(", ")
    );
    f.evidence = holders
        .iter()
        .map(|h| {
            Evidence::new(
                format!("{HELD_BY_EVIDENCE}{}", h.principal),
                Value::String(h.evidence.clone()),
            )
        })
        .collect();
    Some(f)
}

document_run!(run_rbac_off, rbac_off);
document_run!(run_local_accounts, local_accounts);
document_run!(run_no_entra, no_entra);
document_run!(run_public_api, public_api);
document_run!(run_not_private, not_private);
document_run!(run_network_policy, network_policy);
document_run!(run_kms, kms);
document_run!(run_workload_identity, workload_identity);
document_run!(run_azure_rbac, azure_rbac);
document_run!(run_node_public_ip, node_public_ip);
document_run!(run_run_command, run_command);

/// The AKS checks.
pub static CHECKS: &[Check] = &[
    Check {
        id: "KSPM-A-001",
        title: "AKS cluster has Kubernetes RBAC disabled",
        severity: Severity::Critical,
        description: "Without RBAC every authenticated identity can do everything.",
        remediation: "Recreate the cluster with RBAC enabled (it cannot be turned on in place).",
        kinds: &[AKS_CLUSTER],
        controls: &[c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(PciDss, "7.2.1"), c(Iso27001, "A.8.3")],
        profile: Profile::Security,
        needs: Needs::AksCluster,
        run: run_rbac_off,
    },
    Check {
        id: "KSPM-A-002",
        title: "AKS local accounts are enabled",
        severity: Severity::High,
        description: "A static admin kubeconfig bypasses Entra ID, conditional access and auditing of who did what.",
        remediation: "`az aks update --disable-local-accounts` (with Entra integration).",
        kinds: &[AKS_CLUSTER],
        controls: &[c(CisAks, "5.5.1"), c(NsaCisa, "N20"), c(Soc2, "CC6.1"), c(Iso27001, "A.8.5")],
        profile: Profile::Security,
        needs: Needs::AksCluster,
        run: run_local_accounts,
    },
    Check {
        id: "KSPM-A-003",
        title: "AKS cluster is not integrated with Entra ID",
        severity: Severity::Medium,
        description: "Without Entra ID, access is by certificates that cannot be revoked individually.",
        remediation: "`az aks update --enable-aad`.",
        kinds: &[AKS_CLUSTER],
        controls: &[c(CisAks, "5.5.1"), c(NsaCisa, "N20"), c(Soc2, "CC6.2"), c(Iso27001, "A.5.16")],
        profile: Profile::Security,
        needs: Needs::AksCluster,
        run: run_no_entra,
    },
    Check {
        id: "KSPM-A-004",
        title: "AKS API server is open to the internet",
        severity: Severity::High,
        description: "A public API server without authorized IP ranges accepts connections from anywhere.",
        remediation: "Set `apiServerAccessProfile.authorizedIPRanges`, or make the cluster private.",
        kinds: &[AKS_CLUSTER],
        controls: &[c(CisAks, "5.4.1"), c(NsaCisa, "N17"), c(Soc2, "CC6.6"), c(PciDss, "1.3.1"), c(Iso27001, "A.8.20")],
        profile: Profile::Security,
        needs: Needs::AksCluster,
        run: run_public_api,
    },
    Check {
        id: "KSPM-A-005",
        title: "AKS cluster is not private",
        severity: Severity::Low,
        description: "A private cluster keeps the API server off the internet.",
        remediation: "Create private clusters (`--enable-private-cluster`).",
        kinds: &[AKS_CLUSTER],
        controls: &[c(CisAks, "5.4.2"), c(NsaCisa, "N17"), c(Iso27001, "A.8.22")],
        profile: Profile::Security,
        needs: Needs::AksCluster,
        run: run_not_private,
    },
    Check {
        id: "KSPM-A-006",
        title: "AKS does not enforce NetworkPolicy",
        severity: Severity::Medium,
        description: "With `networkPolicy: none`, NetworkPolicy objects have no effect.",
        remediation: "Use Azure, Calico or Cilium network policy.",
        kinds: &[AKS_CLUSTER],
        controls: &[c(CisAks, "5.4.4"), c(NsaCisa, "N14"), c(Soc2, "CC6.6"), c(PciDss, "1.2.1"), c(Iso27001, "A.8.22")],
        profile: Profile::Security,
        needs: Needs::AksCluster,
        run: run_network_policy,
    },
    Check {
        id: "KSPM-A-007",
        title: "AKS Secrets are not encrypted with a Key Vault key",
        severity: Severity::Medium,
        description: "KMS encryption adds a customer-managed key, a key policy and an audit trail to Secrets at rest.",
        remediation: "`az aks update --enable-azure-keyvault-kms --azure-keyvault-kms-key-id ...`.",
        kinds: &[AKS_CLUSTER],
        controls: &[c(CisAks, "5.3.1"), c(NsaCisa, "N16"), c(PciDss, "3.5.1"), c(Hipaa, "164.312(a)(2)(iv)"), c(Iso27001, "A.8.24")],
        profile: Profile::Security,
        needs: Needs::AksCluster,
        run: run_kms,
    },
    Check {
        id: "KSPM-A-008",
        title: "AKS workload identity is off",
        severity: Severity::Low,
        description: "Without workload identity pods that need Azure use the kubelet identity, shared by every pod on the node.",
        remediation: "`az aks update --enable-oidc-issuer --enable-workload-identity`.",
        kinds: &[AKS_CLUSTER],
        controls: &[c(CisAks, "5.2.1"), c(NsaCisa, "N10"), c(Soc2, "CC6.3"), c(Iso27001, "A.8.2")],
        profile: Profile::Security,
        needs: Needs::AksCluster,
        run: run_workload_identity,
    },
    Check {
        id: "KSPM-A-009",
        title: "AKS Azure RBAC for Kubernetes is off",
        severity: Severity::Low,
        description: "Azure RBAC puts Kubernetes authorization under Azure role assignments, with conditional access and central audit.",
        remediation: "`az aks update --enable-azure-rbac`.",
        kinds: &[AKS_CLUSTER],
        controls: &[c(CisAks, "5.5.2"), c(Soc2, "CC6.3"), c(Iso27001, "A.5.18")],
        profile: Profile::Security,
        needs: Needs::AksCluster,
        run: run_azure_rbac,
    },
    Check {
        id: "KSPM-A-010",
        title: "AKS node pool has public IPs",
        severity: Severity::Medium,
        description: "Nodes with public IPs are reachable from the internet.",
        remediation: "Disable `enableNodePublicIP` on agent pools.",
        kinds: &[AKS_CLUSTER],
        controls: &[c(CisAks, "5.4.3"), c(NsaCisa, "N17"), c(Iso27001, "A.8.22")],
        profile: Profile::Security,
        needs: Needs::AksCluster,
        run: run_node_public_ip,
    },
    Check {
        id: "KSPM-A-011",
        title: "AKS runCommand is enabled",
        severity: Severity::Low,
        description: "runCommand lets Azure principals run kubectl inside the cluster with cluster-admin rights.",
        remediation: "`az aks update --disable-run-command`.",
        kinds: &[AKS_CLUSTER],
        controls: &[c(Soc2, "CC6.3"), c(Iso27001, "A.8.2")],
        profile: Profile::Security,
        needs: Needs::AksCluster,
        run: run_run_command,
    },
    Check {
        id: "KSPM-A-012",
        title: "Azure principals can fetch an admin kubeconfig of the AKS cluster",
        severity: Severity::High,
        description: "A role assignment on the cluster or a scope above it lets its principal call listClusterAdminCredential while local accounts are on, or listClusterUserCredential on a cluster without Entra integration (where the user credential is an admin certificate): a static kubeconfig that is cluster-admin, outside Entra ID, conditional access and per-user audit. Roles that look read-only carry these actions (Azure Kubernetes Service Cluster User Role, custom reader roles), and so do Owner and Contributor. Judged on the fleet's graph, where the subscriptions' role assignments join.",
        remediation: "Disable local accounts (`az aks update --disable-local-accounts`, with Entra integration) so no credential is an admin kubeconfig; until then, remove the assignments named (or narrow the role to what the principal needs).",
        kinds: &[AKS_CLUSTER],
        controls: &[c(CisAks, "5.5.1"), c(NsaCisa, "N20"), c(Soc2, "CC6.3"), c(PciDss, "7.2.1"), c(Iso27001, "A.8.2")],
        profile: Profile::Security,
        needs: Needs::AksClusterOnTheGraph,
        run: admin_kubeconfig_candidates,
    },
];

#[cfg(test)]
pub(crate) mod cases;
