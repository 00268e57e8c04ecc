//! The GKE checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use serde_json::{json, Value};

/// A GKE cluster description that passes every GKE check, with `over` merged in (top level).
fn gke_cluster(over: Value) -> Value {
    let mut c = json!({
        "name": "staging", "selfLink": "https://container.googleapis.com/v1/projects/p1/locations/europe-west1/clusters/staging",
        "legacyAbac": {}, "masterAuth": {"clientCertificateConfig": {}},
        "workloadIdentityConfig": {"workloadPool": "p1.svc.id.goog"},
        "databaseEncryption": {"state": "ENCRYPTED", "keyName": "projects/p1/locations/europe-west1/keyRings/r/cryptoKeys/k"},
        "controlPlaneEndpointsConfig": {"ipEndpointsConfig": {"enablePublicEndpoint": false, "authorizedNetworksConfig": {"enabled": true}}},
        "networkConfig": {"defaultEnablePrivateNodes": true, "datapathProvider": "ADVANCED_DATAPATH"},
        "shieldedNodes": {"enabled": true},
        "loggingService": "logging.googleapis.com/kubernetes",
        "addonsConfig": {"kubernetesDashboard": {"disabled": true}},
        "nodePools": [{"name": "pool-1", "config": {"serviceAccount": "nodes@p1.iam.gserviceaccount.com",
            "oauthScopes": ["https://www.googleapis.com/auth/devstorage.read_only"],
            "workloadMetadataConfig": {"mode": "GKE_METADATA"},
            "shieldedInstanceConfig": {"enableSecureBoot": true, "enableIntegrityMonitoring": true}},
            "management": {"autoUpgrade": true, "autoRepair": true}}]
    });
    merge(&mut c, over);
    cloud("GkeCluster", "staging", c)
}

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        case(
            "KSPM-G-001",
            vec![gke_cluster(json!({"legacyAbac": {"enabled": true}}))],
            vec![gke_cluster(json!({}))],
        ),
        case(
            "KSPM-G-002",
            vec![gke_cluster(
                json!({"masterAuth": {"clientCertificateConfig": {"issueClientCertificate": true}}}),
            )],
            vec![gke_cluster(json!({}))],
        ),
        case(
            "KSPM-G-003",
            vec![gke_cluster(json!({"workloadIdentityConfig": {}}))],
            vec![
                gke_cluster(json!({})),
                gke_cluster(json!({"workloadIdentityConfig": {}, "autopilot": {"enabled": true}})),
            ],
        ),
        case(
            "KSPM-G-004",
            vec![gke_cluster(
                json!({"nodePools": [{"name": "p", "config": {"serviceAccount": "n@p1.iam.gserviceaccount.com", "workloadMetadataConfig": {"mode": "GCE_METADATA"}}}]}),
            )],
            vec![gke_cluster(json!({}))],
        ),
        case(
            "KSPM-G-005",
            vec![gke_cluster(
                json!({"nodePools": [{"name": "p", "config": {"serviceAccount": "default"}}]}),
            )],
            vec![gke_cluster(json!({}))],
        ),
        case(
            "KSPM-G-006",
            vec![gke_cluster(
                json!({"nodePools": [{"name": "p", "config": {"serviceAccount": "n@p1.iam.gserviceaccount.com", "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"]}}]}),
            )],
            vec![gke_cluster(json!({}))],
        ),
        case(
            "KSPM-G-007",
            vec![gke_cluster(
                json!({"databaseEncryption": {"state": "DECRYPTED"}}),
            )],
            vec![gke_cluster(json!({}))],
        ),
        case(
            "KSPM-G-008",
            vec![gke_cluster(
                json!({"controlPlaneEndpointsConfig": {"ipEndpointsConfig": {"enablePublicEndpoint": true, "authorizedNetworksConfig": {"enabled": false}}}}),
            )],
            vec![
                gke_cluster(json!({})),
                gke_cluster(
                    json!({"controlPlaneEndpointsConfig": {"ipEndpointsConfig": {"enablePublicEndpoint": true, "authorizedNetworksConfig": {"enabled": true}}}}),
                ),
            ],
        ),
        case(
            "KSPM-G-009",
            vec![gke_cluster(
                json!({"networkConfig": {"datapathProvider": "ADVANCED_DATAPATH"}}),
            )],
            vec![gke_cluster(json!({}))],
        ),
        case(
            "KSPM-G-010",
            vec![gke_cluster(
                json!({"networkConfig": {"defaultEnablePrivateNodes": true}, "networkPolicy": {"enabled": false}}),
            )],
            vec![
                gke_cluster(json!({})),
                gke_cluster(
                    json!({"networkConfig": {"defaultEnablePrivateNodes": true}, "networkPolicy": {"provider": "CALICO", "enabled": true}}),
                ),
            ],
        ),
        case(
            "KSPM-G-011",
            vec![gke_cluster(json!({"shieldedNodes": {"enabled": false}}))],
            vec![gke_cluster(json!({}))],
        ),
        case(
            "KSPM-G-012",
            vec![gke_cluster(
                json!({"nodePools": [{"name": "p", "config": {"workloadMetadataConfig": {"mode": "GKE_METADATA"}, "shieldedInstanceConfig": {"enableSecureBoot": true}}, "management": {"autoUpgrade": false, "autoRepair": true}}]}),
            )],
            vec![gke_cluster(json!({}))],
        ),
        case(
            "KSPM-G-013",
            vec![gke_cluster(json!({"loggingService": "none"}))],
            vec![gke_cluster(json!({}))],
        ),
        case(
            "KSPM-G-014",
            vec![gke_cluster(
                json!({"addonsConfig": {"kubernetesDashboard": {"disabled": false}}}),
            )],
            vec![gke_cluster(json!({}))],
        ),
    ]
}
