//! Google GKE control-plane and node-pool checks (CIS GKE Benchmark, CONTROLS.md §4.3), on the
//! provider's description of the cluster (`gcloud container clusters describe --format json`,
//! snapshot: the cluster's `cloud/` directory). Field names are the API's (proto3 JSON); the
//! deprecated fields are read when their replacements are absent.

use super::{Check, Context, Evidence, Hit, Needs};
use crate::cloud::documents::{spec, GKE_CLUSTER};
use crate::cloud::gcp::node_pools;
use crate::controls::{c, Framework::*};
use crate::options::Profile;
use crate::pointer::Pointer as _;
use crate::severity::Severity;
use serde_json::{json, Value};

type Rule = fn(&Value) -> Vec<(String, Evidence)>;

fn hits<'a>(ctx: &Context<'a>, rule: Rule) -> Vec<Hit<'a>> {
    super::document::hits(ctx, GKE_CLUSTER, |o| Some(spec(o)), |_, c| rule(c))
}

fn at<'a>(c: &'a Value, p: &str) -> Option<&'a Value> {
    c.at(p).filter(|v| !v.is_null())
}

fn flag(c: &Value, p: &str) -> Option<bool> {
    at(c, p).and_then(Value::as_bool)
}

fn one(cond: bool, message: &str, path: &str, c: &Value) -> Vec<(String, Evidence)> {
    if cond {
        let field = path.trim_start_matches('/').replace('/', ".");
        vec![(
            message.to_string(),
            Evidence::new(
                format!("spec.{field}"),
                at(c, path).cloned().unwrap_or(Value::Null),
            ),
        )]
    } else {
        Vec::new()
    }
}

fn legacy_abac(c: &Value) -> Vec<(String, Evidence)> {
    one(
        flag(c, "/legacyAbac/enabled") == Some(true),
        "legacy ABAC is enabled: it grants rights beside RBAC and IAM",
        "/legacyAbac/enabled",
        c,
    )
}

fn client_certificate(c: &Value) -> Vec<(String, Evidence)> {
    let issued = flag(
        c,
        "/masterAuth/clientCertificateConfig/issueClientCertificate",
    ) == Some(true)
        || at(c, "/masterAuth/clientCertificate")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
    one(
        issued,
        "a static client certificate exists: anyone with container.clusters.getCredentials gets it",
        "/masterAuth/clientCertificateConfig",
        c,
    )
}

fn workload_identity(c: &Value) -> Vec<(String, Evidence)> {
    let pool = at(c, "/workloadIdentityConfig/workloadPool")
        .and_then(Value::as_str)
        .unwrap_or("");
    let autopilot = flag(c, "/autopilot/enabled") == Some(true);
    one(
        pool.is_empty() && !autopilot,
        "Workload Identity is off: pods that need Google APIs use the node's service account",
        "/workloadIdentityConfig",
        c,
    )
}

fn metadata_server(c: &Value) -> Vec<(String, Evidence)> {
    let wi = at(c, "/workloadIdentityConfig/workloadPool").is_some();
    node_pools(c)
        .into_iter()
        .filter(|p| p.exposes_node_identity(wi))
        .map(|p| {
            (
                format!("node pool {} serves the node's service account {} to every pod (metadata mode {:?})", p.name, p.service_account, p.metadata_mode),
                Evidence::new(format!("spec.nodePools[{}].config.workloadMetadataConfig", p.name), json!({"mode": p.metadata_mode})),
            )
        })
        .collect()
}

fn default_service_account(c: &Value) -> Vec<(String, Evidence)> {
    node_pools(c)
        .into_iter()
        .filter(|p| {
            p.service_account == "default"
                || p.service_account
                    .ends_with("-compute@developer.gserviceaccount.com")
        })
        .map(|p| {
            (
                format!(
                    "node pool {} runs as the Compute Engine default service account",
                    p.name
                ),
                Evidence::new(
                    format!("spec.nodePools[{}].config.serviceAccount", p.name),
                    json!(p.service_account),
                ),
            )
        })
        .collect()
}

fn full_scope(c: &Value) -> Vec<(String, Evidence)> {
    node_pools(c)
        .into_iter()
        .filter(|p| p.scopes.iter().any(|s| s.ends_with("/auth/cloud-platform")))
        .map(|p| {
            (
                format!("node pool {} has the cloud-platform scope: its token carries every IAM right of {}", p.name, p.service_account),
                Evidence::new(format!("spec.nodePools[{}].config.oauthScopes", p.name), json!(p.scopes)),
            )
        })
        .collect()
}

fn secrets_encryption(c: &Value) -> Vec<(String, Evidence)> {
    let state = at(c, "/databaseEncryption/state")
        .and_then(Value::as_str)
        .unwrap_or("");
    let key = at(c, "/databaseEncryption/keyName")
        .and_then(Value::as_str)
        .unwrap_or("");
    one(
        state != "ENCRYPTED" || key.is_empty(),
        "application-layer Secrets encryption with a Cloud KMS key is off",
        "/databaseEncryption",
        c,
    )
}

fn public_endpoint(c: &Value) -> Vec<(String, Evidence)> {
    // The current API first, the deprecated fields second.
    let public = flag(
        c,
        "/controlPlaneEndpointsConfig/ipEndpointsConfig/enablePublicEndpoint",
    )
    .or_else(|| flag(c, "/privateClusterConfig/enablePrivateEndpoint").map(|p| !p))
    .unwrap_or(true);
    let authorized = flag(
        c,
        "/controlPlaneEndpointsConfig/ipEndpointsConfig/authorizedNetworksConfig/enabled",
    )
    .or_else(|| flag(c, "/masterAuthorizedNetworksConfig/enabled"))
    .unwrap_or(false);
    one(public && !authorized,
        "the control plane has a public endpoint and no authorized networks: reachable from the whole internet",
        "/controlPlaneEndpointsConfig", c)
}

fn private_nodes(c: &Value) -> Vec<(String, Evidence)> {
    let private = flag(c, "/networkConfig/defaultEnablePrivateNodes")
        .or_else(|| flag(c, "/privateClusterConfig/enablePrivateNodes"))
        .unwrap_or(false);
    one(
        !private,
        "nodes have public IP addresses",
        "/networkConfig",
        c,
    )
}

fn network_policy(c: &Value) -> Vec<(String, Evidence)> {
    let dataplane_v2 = at(c, "/networkConfig/datapathProvider").and_then(Value::as_str)
        == Some("ADVANCED_DATAPATH");
    let calico = flag(c, "/networkPolicy/enabled") == Some(true);
    one(
        !(dataplane_v2 || calico),
        "NetworkPolicy is not enforced (no Dataplane V2, no network policy add-on)",
        "/networkPolicy",
        c,
    )
}

fn shielded_nodes(c: &Value) -> Vec<(String, Evidence)> {
    let mut out = one(
        flag(c, "/shieldedNodes/enabled") != Some(true),
        "Shielded GKE nodes are off",
        "/shieldedNodes",
        c,
    );
    for p in c
        .get("nodePools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let secure_boot = p
            .at("/config/shieldedInstanceConfig/enableSecureBoot")
            .and_then(Value::as_bool)
            == Some(true);
        if !secure_boot {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            out.push((
                format!("node pool {name} boots without Secure Boot"),
                Evidence::new(
                    format!("spec.nodePools[{name}].config.shieldedInstanceConfig"),
                    p.at("/config/shieldedInstanceConfig")
                        .cloned()
                        .unwrap_or(Value::Null),
                ),
            ));
        }
    }
    out
}

fn auto_upgrade(c: &Value) -> Vec<(String, Evidence)> {
    c.get("nodePools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| {
            p.at("/management/autoUpgrade").and_then(Value::as_bool) != Some(true)
                || p.at("/management/autoRepair").and_then(Value::as_bool) != Some(true)
        })
        .map(|p| {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            (
                format!("node pool {name} does not auto-upgrade and auto-repair"),
                Evidence::new(
                    format!("spec.nodePools[{name}].management"),
                    p.get("management").cloned().unwrap_or(Value::Null),
                ),
            )
        })
        .collect()
}

fn logging(c: &Value) -> Vec<(String, Evidence)> {
    let service = at(c, "/loggingService")
        .and_then(Value::as_str)
        .unwrap_or("logging.googleapis.com/kubernetes");
    let components: Vec<&str> = at(c, "/loggingConfig/componentConfig/enableComponents")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let off = service == "none"
        || (at(c, "/loggingConfig").is_some() && !components.contains(&"SYSTEM_COMPONENTS"));
    one(
        off,
        "Cloud Logging of the cluster is off",
        "/loggingService",
        c,
    )
}

fn dashboard(c: &Value) -> Vec<(String, Evidence)> {
    one(
        flag(c, "/addonsConfig/kubernetesDashboard/disabled") == Some(false),
        "the Kubernetes Dashboard add-on is enabled",
        "/addonsConfig/kubernetesDashboard",
        c,
    )
}

document_run!(run_legacy_abac, legacy_abac);
document_run!(run_client_certificate, client_certificate);
document_run!(run_workload_identity, workload_identity);
document_run!(run_metadata_server, metadata_server);
document_run!(run_default_sa, default_service_account);
document_run!(run_full_scope, full_scope);
document_run!(run_secrets_encryption, secrets_encryption);
document_run!(run_public_endpoint, public_endpoint);
document_run!(run_private_nodes, private_nodes);
document_run!(run_network_policy, network_policy);
document_run!(run_shielded_nodes, shielded_nodes);
document_run!(run_auto_upgrade, auto_upgrade);
document_run!(run_logging, logging);
document_run!(run_dashboard, dashboard);

/// The GKE checks.
pub static CHECKS: &[Check] = &[
    Check {
        id: "KSPM-G-001",
        title: "GKE legacy ABAC is enabled",
        severity: Severity::Critical,
        description: "Legacy ABAC statically grants identities permissions beyond RBAC and IAM.",
        remediation: "`gcloud container clusters update C --no-enable-legacy-authorization`.",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "5.8.3"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(Iso27001, "A.8.3")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_legacy_abac,
    },
    Check {
        id: "KSPM-G-002",
        title: "GKE issues a static client certificate",
        severity: Severity::High,
        description: "A client certificate never expires and cannot be revoked short of rotating the cluster CA.",
        remediation: "Create clusters without `--issue-client-certificate`; rotate credentials on old ones.",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "5.8.1"), c(NsaCisa, "N20"), c(Soc2, "CC6.1"), c(Iso27001, "A.8.5")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_client_certificate,
    },
    Check {
        id: "KSPM-G-003",
        title: "GKE Workload Identity is off",
        severity: Severity::Medium,
        description: "Without Workload Identity pods that call Google APIs use the node's service account, shared by every pod on the node.",
        remediation: "Enable Workload Identity (`--workload-pool=PROJECT.svc.id.goog`) and the GKE metadata server on node pools.",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "5.2.2"), c(NsaCisa, "N10"), c(Soc2, "CC6.3"), c(Iso27001, "A.8.2")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_workload_identity,
    },
    Check {
        id: "KSPM-G-004",
        title: "GKE pods can take the node's service account",
        severity: Severity::High,
        description: "A node pool in GCE_METADATA mode (or without Workload Identity) hands the node service account's token to every pod.",
        remediation: "Set `workloadMetadataConfig.mode: GKE_METADATA` on every node pool.",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "5.4.1"), c(NsaCisa, "N19"), c(Soc2, "CC6.1"), c(Nist800190, "4.5.4")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_metadata_server,
    },
    Check {
        id: "KSPM-G-005",
        title: "GKE node pool runs as the Compute Engine default service account",
        severity: Severity::Medium,
        description: "The default compute service account historically holds roles/editor on the project.",
        remediation: "Run node pools as a dedicated least-privilege service account.",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "5.2.1"), c(Soc2, "CC6.3"), c(Iso27001, "A.8.2")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_default_sa,
    },
    Check {
        id: "KSPM-G-006",
        title: "GKE node pool has the cloud-platform scope",
        severity: Severity::Medium,
        description: "With the cloud-platform scope the node token carries every IAM right of its service account.",
        remediation: "Narrow `oauthScopes`, and rely on IAM with a dedicated service account.",
        kinds: &[GKE_CLUSTER],
        controls: &[c(Soc2, "CC6.3"), c(Iso27001, "A.8.2")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_full_scope,
    },
    Check {
        id: "KSPM-G-007",
        title: "GKE Secrets are not encrypted with a Cloud KMS key",
        severity: Severity::Medium,
        description: "Application-layer encryption with a customer-managed key adds a key policy and an audit trail for every decryption.",
        remediation: "`--database-encryption-key=projects/P/locations/L/keyRings/R/cryptoKeys/K`.",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "5.3.1"), c(NsaCisa, "N16"), c(PciDss, "3.5.1"), c(Hipaa, "164.312(a)(2)(iv)"), c(Iso27001, "A.8.24")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_secrets_encryption,
    },
    Check {
        id: "KSPM-G-008",
        title: "GKE control plane is open to the internet",
        severity: Severity::High,
        description: "A public endpoint without authorized networks accepts connections from anywhere.",
        remediation: "Enable authorized networks with known ranges, or a private endpoint.",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "5.6.3"), c(NsaCisa, "N17"), c(Soc2, "CC6.6"), c(PciDss, "1.3.1"), c(Iso27001, "A.8.20")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_public_endpoint,
    },
    Check {
        id: "KSPM-G-009",
        title: "GKE nodes have public IP addresses",
        severity: Severity::Low,
        description: "Nodes with public addresses are reachable from the internet on every port their firewall allows.",
        remediation: "Use private nodes (`--enable-private-nodes`).",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "5.6.5"), c(NsaCisa, "N17"), c(Iso27001, "A.8.22")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_private_nodes,
    },
    Check {
        id: "KSPM-G-010",
        title: "GKE does not enforce NetworkPolicy",
        severity: Severity::Medium,
        description: "Without Dataplane V2 or the network policy add-on, NetworkPolicy objects have no effect.",
        remediation: "Use Dataplane V2 (`--enable-dataplane-v2`) or enable network policy enforcement.",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "4.3.1"), c(NsaCisa, "N14"), c(Soc2, "CC6.6"), c(PciDss, "1.2.1"), c(Iso27001, "A.8.22")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_network_policy,
    },
    Check {
        id: "KSPM-G-011",
        title: "GKE nodes are not Shielded or lack Secure Boot",
        severity: Severity::Low,
        description: "Shielded nodes with Secure Boot protect against boot-level rootkits and node impersonation.",
        remediation: "`--enable-shielded-nodes` and `--shielded-secure-boot` on node pools.",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "5.5.5"), c(CisGke, "5.5.7"), c(Iso27001, "A.8.9")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_shielded_nodes,
    },
    Check {
        id: "KSPM-G-012",
        title: "GKE node pool does not auto-upgrade and auto-repair",
        severity: Severity::Low,
        description: "Without auto-upgrade nodes fall behind on security patches.",
        remediation: "Enable `management.autoUpgrade` and `management.autoRepair`.",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "5.5.2"), c(CisGke, "5.5.3"), c(NsaCisa, "N25"), c(Iso27001, "A.8.8")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_auto_upgrade,
    },
    Check {
        id: "KSPM-G-013",
        title: "GKE cluster logging is off",
        severity: Severity::Medium,
        description: "Without Cloud Logging of system components there is no record of control-plane activity.",
        remediation: "Set `loggingService` to `logging.googleapis.com/kubernetes` with SYSTEM_COMPONENTS (and APISERVER).",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "5.7.1"), c(NsaCisa, "N22"), c(Soc2, "CC7.2"), c(PciDss, "10.2.1"), c(Hipaa, "164.312(b)"), c(Iso27001, "A.8.15")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_logging,
    },
    Check {
        id: "KSPM-G-014",
        title: "GKE Kubernetes Dashboard add-on is enabled",
        severity: Severity::Medium,
        description: "The dashboard is a well-known attack surface (Tesla 2018).",
        remediation: "Disable the `kubernetesDashboard` add-on.",
        kinds: &[GKE_CLUSTER],
        controls: &[c(CisGke, "5.10.1"), c(NsaCisa, "N25"), c(Iso27001, "A.8.9")],
        profile: Profile::Security,
        needs: Needs::GkeCluster,
        run: run_dashboard,
    },
];

#[cfg(test)]
pub(crate) mod cases;
