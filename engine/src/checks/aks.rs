//! Azure AKS control-plane checks (CIS AKS Benchmark, CONTROLS.md §4.3), on the ARM
//! `ManagedCluster` (`az aks show`, snapshot: the cluster's `cloud/` directory). Fields are read
//! under `properties` (ARM) or at the top (as the CLI flattens some of them).

use super::{Check, Context, Evidence, Hit, Needs};
use crate::cloud::documents::{spec, AKS_CLUSTER};
use crate::controls::{c, Framework::*};
use crate::options::Profile;
use crate::severity::Severity;
use serde_json::Value;

type Rule = fn(&Value) -> Option<(String, &'static str)>;

fn props(c: &Value) -> &Value {
    c.get("properties").unwrap_or(c)
}

fn hits<'a>(ctx: &Context<'a>, rule: Rule) -> Vec<Hit<'a>> {
    ctx.inv
        .of_kind(AKS_CLUSTER)
        .iter()
        .filter_map(|o| {
            let p = props(spec(o));
            let (message, field) = rule(p)?;
            Some(Hit {
                severity: None,
                object: o,
                message,
                evidence: vec![Evidence::new(
                    format!("spec.properties.{field}"),
                    p.pointer(&format!("/{}", field.replace('.', "/")))
                        .cloned()
                        .unwrap_or(Value::Null),
                )],
            })
        })
        .collect()
}

fn flag(p: &Value, path: &str) -> Option<bool> {
    p.pointer(path).and_then(Value::as_bool)
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
    (!p.get("aadProfile").is_some_and(Value::is_object)).then(|| {
        (
            "the cluster is not integrated with Entra ID: identities are certificates".into(),
            "aadProfile",
        )
    })
}

fn public_api(p: &Value) -> Option<(String, &'static str)> {
    let private = flag(p, "/apiServerAccessProfile/enablePrivateCluster") == Some(true);
    let ranges = p
        .pointer("/apiServerAccessProfile/authorizedIPRanges")
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
    let policy = p
        .pointer("/networkProfile/networkPolicy")
        .and_then(Value::as_str)
        .unwrap_or("");
    let cilium = p
        .pointer("/networkProfile/networkDataplane")
        .and_then(Value::as_str)
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
    let pools: Vec<&str> = p
        .get("agentPoolProfiles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| a.get("enableNodePublicIP").and_then(Value::as_bool) == Some(true))
        .filter_map(|a| a.get("name").and_then(Value::as_str))
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

macro_rules! run {
    ($name:ident, $rule:ident) => {
        fn $name<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
            hits(ctx, $rule)
        }
    };
}

run!(run_rbac_off, rbac_off);
run!(run_local_accounts, local_accounts);
run!(run_no_entra, no_entra);
run!(run_public_api, public_api);
run!(run_not_private, not_private);
run!(run_network_policy, network_policy);
run!(run_kms, kms);
run!(run_workload_identity, workload_identity);
run!(run_azure_rbac, azure_rbac);
run!(run_node_public_ip, node_public_ip);
run!(run_run_command, run_command);

const fn k(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    description: &'static str,
    remediation: &'static str,
    controls: &'static [crate::controls::Control],
    run: for<'a> fn(&Context<'a>) -> Vec<Hit<'a>>,
) -> Check {
    Check {
        id,
        title,
        severity,
        description,
        remediation,
        kinds: &[AKS_CLUSTER],
        controls,
        profile: Profile::Security,
        needs: Needs::AksCluster,
        run,
    }
}

/// The AKS checks.
pub static CHECKS: &[Check] = &[
    k("KSPM-A-001", "AKS cluster has Kubernetes RBAC disabled", Severity::Critical,
        "Without RBAC every authenticated identity can do everything.",
        "Recreate the cluster with RBAC enabled (it cannot be turned on in place).",
        &[c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(PciDss, "7.2.1"), c(Iso27001, "A.8.3")], run_rbac_off),
    k("KSPM-A-002", "AKS local accounts are enabled", Severity::High,
        "A static admin kubeconfig bypasses Entra ID, conditional access and auditing of who did what.",
        "`az aks update --disable-local-accounts` (with Entra integration).",
        &[c(CisAks, "5.5.1"), c(NsaCisa, "N20"), c(Soc2, "CC6.1"), c(Iso27001, "A.8.5")], run_local_accounts),
    k("KSPM-A-003", "AKS cluster is not integrated with Entra ID", Severity::Medium,
        "Without Entra ID, access is by certificates that cannot be revoked individually.",
        "`az aks update --enable-aad`.",
        &[c(CisAks, "5.5.1"), c(NsaCisa, "N20"), c(Soc2, "CC6.2"), c(Iso27001, "A.5.16")], run_no_entra),
    k("KSPM-A-004", "AKS API server is open to the internet", Severity::High,
        "A public API server without authorized IP ranges accepts connections from anywhere.",
        "Set `apiServerAccessProfile.authorizedIPRanges`, or make the cluster private.",
        &[c(CisAks, "5.4.1"), c(NsaCisa, "N17"), c(Soc2, "CC6.6"), c(PciDss, "1.3.1"), c(Iso27001, "A.8.20")], run_public_api),
    k("KSPM-A-005", "AKS cluster is not private", Severity::Low,
        "A private cluster keeps the API server off the internet.",
        "Create private clusters (`--enable-private-cluster`).",
        &[c(CisAks, "5.4.2"), c(NsaCisa, "N17"), c(Iso27001, "A.8.22")], run_not_private),
    k("KSPM-A-006", "AKS does not enforce NetworkPolicy", Severity::Medium,
        "With `networkPolicy: none`, NetworkPolicy objects have no effect.",
        "Use Azure, Calico or Cilium network policy.",
        &[c(CisAks, "5.4.4"), c(NsaCisa, "N14"), c(Soc2, "CC6.6"), c(PciDss, "1.2.1"), c(Iso27001, "A.8.22")], run_network_policy),
    k("KSPM-A-007", "AKS Secrets are not encrypted with a Key Vault key", Severity::Medium,
        "KMS encryption adds a customer-managed key, a key policy and an audit trail to Secrets at rest.",
        "`az aks update --enable-azure-keyvault-kms --azure-keyvault-kms-key-id ...`.",
        &[c(CisAks, "5.3.1"), c(NsaCisa, "N16"), c(PciDss, "3.5.1"), c(Hipaa, "164.312(a)(2)(iv)"), c(Iso27001, "A.8.24")], run_kms),
    k("KSPM-A-008", "AKS workload identity is off", Severity::Low,
        "Without workload identity pods that need Azure use the kubelet identity, shared by every pod on the node.",
        "`az aks update --enable-oidc-issuer --enable-workload-identity`.",
        &[c(CisAks, "5.2.1"), c(NsaCisa, "N10"), c(Soc2, "CC6.3"), c(Iso27001, "A.8.2")], run_workload_identity),
    k("KSPM-A-009", "AKS Azure RBAC for Kubernetes is off", Severity::Low,
        "Azure RBAC puts Kubernetes authorization under Azure role assignments, with conditional access and central audit.",
        "`az aks update --enable-azure-rbac`.",
        &[c(CisAks, "5.2.2"), c(Soc2, "CC6.3"), c(Iso27001, "A.5.18")], run_azure_rbac),
    k("KSPM-A-010", "AKS node pool has public IPs", Severity::Medium,
        "Nodes with public IPs are reachable from the internet.",
        "Disable `enableNodePublicIP` on agent pools.",
        &[c(CisAks, "5.4.3"), c(NsaCisa, "N17"), c(Iso27001, "A.8.22")], run_node_public_ip),
    k("KSPM-A-011", "AKS runCommand is enabled", Severity::Low,
        "runCommand lets Azure principals run kubectl inside the cluster with cluster-admin rights.",
        "`az aks update --disable-run-command`.",
        &[c(Soc2, "CC6.3"), c(Iso27001, "A.8.2")], run_run_command),
];
