//! A failing and a passing input for every check in the catalogue; a test fails when a check
//! has no case, so new checks cannot land untested.

use super::{by_id, catalogue, Context};
use crate::inventory::Inventory;
use crate::options::ScanOptions;
use crate::parse::{parse_text, Syntax};
use crate::rbac::Rbac;
use crate::snapshot::{ClusterSnapshot, Provider};
use serde_json::{json, Value};

fn docs(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| serde_json::to_string(o).expect("json"))
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// Vulnerability reports for KSPM-I-007's case: web:1.4 with a known-exploited network flaw and
/// a known-exploited local one; api:2.0 whose only known-exploited flaw a VEX statement excludes.
fn exploited_database() -> crate::vulns::Database {
    use crate::vulns::formats::{read_kev, read_report};
    let trivy = |image: &str, vulns: &str| {
        format!(
            r#"{{"SchemaVersion": 2, "ArtifactName": "{image}", "ArtifactType": "container_image",
              "Results": [{{"Target": "t", "Class": "lang-pkgs", "Vulnerabilities": [{vulns}]}}]}}"#
        )
    };
    let log4j = r#"{"VulnerabilityID": "CVE-2021-44228", "PkgName": "log4j-core", "InstalledVersion": "2.14.1",
        "Severity": "CRITICAL", "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}}}"#;
    let glibc = r#"{"VulnerabilityID": "CVE-2023-4911", "PkgName": "libc6", "InstalledVersion": "2.31",
        "Severity": "HIGH", "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"}}}"#;
    let vex = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6",
        "metadata": {"component": {"type": "container", "name": "registry.example.com/shop/api:2.0"}},
        "vulnerabilities": [{"id": "CVE-2021-44228", "analysis": {"state": "not_affected"}}]}"#;
    let mut db = crate::vulns::Database::default();
    for (text, file) in [
        (
            trivy(
                "registry.example.com/shop/web:1.4",
                &format!("{log4j}, {glibc}"),
            ),
            "web.json",
        ),
        (
            trivy("registry.example.com/shop/api:2.0", log4j),
            "api.json",
        ),
        (vex.to_string(), "api.vex.json"),
    ] {
        db.add(read_report(text.as_bytes(), file).expect("report"));
    }
    let kev = r#"{"vulnerabilities": [{"cveID": "CVE-2021-44228"}, {"cveID": "CVE-2023-4911"}]}"#;
    db.add_known_exploited(read_kev(kev.as_bytes(), "kev.json").expect("kev"));
    db
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}, "spec": spec})
}

/// A pod with one container `a` whose securityContext/extra fields are merged in.
fn ctr(extra: Value) -> Value {
    let mut c = json!({"name": "a", "image": "nginx:1.27"});
    if let (Some(m), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    pod(json!({"containers": [c]}))
}

fn sc(v: Value) -> Value {
    ctr(json!({"securityContext": v}))
}

fn ns(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
}

fn role(kind: &str, rules: Value) -> Value {
    let mut r = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": "r"}, "rules": rules});
    if kind == "Role" {
        r["metadata"]["namespace"] = json!("shop");
    }
    r
}

fn binding(kind: &str, role_kind: &str, role: &str, subjects: Value) -> Value {
    let mut b = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": "b"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}, "subjects": subjects});
    if kind == "RoleBinding" {
        b["metadata"]["namespace"] = json!("shop");
    }
    b
}

fn alice() -> Value {
    json!([{"kind": "User", "name": "alice"}])
}

fn granted(rules: Value) -> Vec<Value> {
    vec![
        role("ClusterRole", rules),
        binding("ClusterRoleBinding", "ClusterRole", "r", alice()),
    ]
}

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
    json!([{"verbs": verbs, "apiGroups": groups, "resources": resources}])
}

fn deployment(labels: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "shop"},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}}}})
}

fn netpol(selector: Value, types: Value, extra: Value) -> Value {
    let mut spec = json!({"podSelector": selector, "policyTypes": types});
    if let (Some(m), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np", "namespace": "shop"}, "spec": spec})
}

/// A NetworkPolicy of `shop` named `name` with this podSelector and other spec fields.
fn np(name: &str, selector: Value, spec: Value) -> Value {
    let mut np = netpol(selector, json!(null), spec);
    np["metadata"]["name"] = json!(name);
    if np["spec"]["policyTypes"].is_null() {
        if let Some(m) = np["spec"].as_object_mut() {
            m.remove("policyTypes");
        }
    }
    np
}

fn service(spec: Value, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "shop", "annotations": annotations}, "spec": spec})
}

fn ingress(spec: Value, annotations: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "shop", "annotations": annotations}, "spec": spec})
}

pub(crate) struct Case {
    pub(crate) id: &'static str,
    pub(crate) bad: Vec<Value>,
    pub(crate) good: Vec<Value>,
    pub(crate) provider: Provider,
    pub(crate) options: ScanOptions,
}

fn case(id: &'static str, bad: Vec<Value>, good: Vec<Value>) -> Case {
    Case {
        id,
        bad,
        good,
        provider: Provider::Generic,
        options: ScanOptions::default(),
    }
}

fn kubelet(config: Value) -> Value {
    json!({"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", "metadata": {"name": "node-1"}, "config": config})
}

/// A kubelet configuration that passes every kubelet check.
fn hardened_kubelet() -> Value {
    json!({
        "authentication": {"anonymous": {"enabled": false}, "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}},
        "authorization": {"mode": "Webhook"},
        "readOnlyPort": 0,
        "streamingConnectionIdleTimeout": "4h0m0s",
        "makeIPTablesUtilChains": true,
        "serverTLSBootstrap": true,
        "rotateCertificates": true,
        "featureGates": {"RotateKubeletServerCertificate": true},
        "tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
        "podPidsLimit": 4096,
        "seccompDefault": true,
        "protectKernelDefaults": true
    })
}

fn weakened_kubelet(pointer: &str, value: Value) -> Value {
    let mut cfg = hardened_kubelet();
    if let Some(slot) = cfg.pointer_mut(pointer) {
        *slot = value;
    }
    kubelet(cfg)
}

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

fn cloud(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "cloud.kspm.io/v1", "kind": kind, "metadata": {"name": name}, "spec": spec})
}

fn pod_identity_association() -> Value {
    cloud(
        "EksPodIdentityAssociation",
        "a-1",
        json!({"associationId": "a-1", "namespace": "shop", "serviceAccount": "api", "roleArn": "arn:aws:iam::111122223333:role/api"}),
    )
}

fn nodegroup(over: Value) -> Value {
    let mut n = json!({"nodegroupName": "ng1", "nodeRole": "arn:aws:iam::111122223333:role/node"});
    if let (Some(m), Some(o)) = (n.as_object_mut(), over.as_object()) {
        for (k, v) in o {
            m.insert(k.clone(), v.clone());
        }
    }
    cloud("EksNodegroup", "ng1", n)
}

fn launch_template(id: &str, version: u64, options: Value) -> Value {
    cloud(
        "Ec2LaunchTemplateVersion",
        &format!("{id}:{version}"),
        json!({"LaunchTemplateId": id, "VersionNumber": version, "LaunchTemplateData": {"MetadataOptions": options}}),
    )
}

fn aws_auth(map_roles: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": {"mapRoles": map_roles}})
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

fn merge(into: &mut Value, over: Value) {
    if let (Some(m), Some(o)) = (into.as_object_mut(), over.as_object()) {
        for (k, v) in o {
            m.insert(k.clone(), v.clone());
        }
    }
}

pub(crate) fn cases() -> Vec<Case> {
    let shop_ns = ns("shop", json!({}));
    let good_kubelet = vec![kubelet(hardened_kubelet())];
    vec![
        case(
            "KSPM-K-001",
            vec![weakened_kubelet(
                "/authentication/anonymous/enabled",
                json!(true),
            )],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-002",
            vec![weakened_kubelet(
                "/authorization/mode",
                json!("AlwaysAllow"),
            )],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-003",
            vec![weakened_kubelet(
                "/authentication/x509/clientCAFile",
                json!(""),
            )],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-004",
            vec![weakened_kubelet("/readOnlyPort", json!(10255))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-005",
            vec![weakened_kubelet(
                "/streamingConnectionIdleTimeout",
                json!("0s"),
            )],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-006",
            vec![weakened_kubelet("/makeIPTablesUtilChains", json!(false))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-007",
            vec![weakened_kubelet("/serverTLSBootstrap", json!(false))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-008",
            vec![weakened_kubelet("/rotateCertificates", json!(false))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-009",
            vec![weakened_kubelet(
                "/featureGates/RotateKubeletServerCertificate",
                json!(false),
            )],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-010",
            vec![weakened_kubelet(
                "/tlsCipherSuites",
                json!(["TLS_RSA_WITH_AES_128_CBC_SHA"]),
            )],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-011",
            vec![weakened_kubelet("/podPidsLimit", json!(-1))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-012",
            vec![weakened_kubelet("/seccompDefault", json!(false))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-K-013",
            vec![weakened_kubelet("/protectKernelDefaults", json!(false))],
            good_kubelet.clone(),
        ),
        case(
            "KSPM-W-001",
            vec![sc(json!({"privileged": true}))],
            vec![sc(json!({"privileged": false}))],
        ),
        case(
            "KSPM-W-002",
            vec![pod(json!({"hostPID": true, "containers": []}))],
            vec![pod(json!({"hostPID": false, "containers": []}))],
        ),
        case(
            "KSPM-W-003",
            vec![pod(json!({"hostIPC": true, "containers": []}))],
            vec![pod(json!({"containers": []}))],
        ),
        case(
            "KSPM-W-004",
            vec![pod(json!({"hostNetwork": true, "containers": []}))],
            vec![pod(json!({"containers": []}))],
        ),
        case(
            "KSPM-W-005",
            vec![pod(
                json!({"volumes": [{"name": "v", "hostPath": {"path": "/data"}}], "containers": []}),
            )],
            vec![pod(
                json!({"volumes": [{"name": "v", "emptyDir": {}}], "containers": []}),
            )],
        ),
        case(
            "KSPM-W-006",
            vec![ctr(
                json!({"ports": [{"containerPort": 80, "hostPort": 8080}]}),
            )],
            vec![ctr(json!({"ports": [{"containerPort": 80}]}))],
        ),
        case(
            "KSPM-W-007",
            vec![sc(json!({"capabilities": {"add": ["NET_RAW"]}}))],
            vec![sc(json!({"capabilities": {"add": ["CHOWN"]}}))],
        ),
        case(
            "KSPM-W-008",
            vec![sc(json!({"capabilities": {"drop": ["NET_RAW"]}}))],
            vec![sc(json!({"capabilities": {"drop": ["ALL"]}}))],
        ),
        case(
            "KSPM-W-009",
            vec![sc(json!({}))],
            vec![sc(json!({"allowPrivilegeEscalation": false}))],
        ),
        case(
            "KSPM-W-010",
            vec![sc(json!({}))],
            vec![sc(json!({"runAsNonRoot": true}))],
        ),
        case(
            "KSPM-W-011",
            vec![sc(json!({"runAsUser": 0}))],
            vec![sc(json!({"runAsUser": 1000}))],
        ),
        case(
            "KSPM-W-012",
            vec![sc(json!({}))],
            vec![sc(json!({"seccompProfile": {"type": "RuntimeDefault"}}))],
        ),
        case(
            "KSPM-W-013",
            vec![sc(json!({"seccompProfile": {"type": "Unconfined"}}))],
            vec![sc(
                json!({"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}),
            )],
        ),
        case(
            "KSPM-W-014",
            vec![sc(json!({"appArmorProfile": {"type": "Unconfined"}}))],
            vec![sc(json!({"appArmorProfile": {"type": "RuntimeDefault"}}))],
        ),
        case(
            "KSPM-W-015",
            vec![sc(json!({"seLinuxOptions": {"type": "spc_t"}}))],
            vec![sc(
                json!({"seLinuxOptions": {"type": "container_t", "level": "s0:c1"}}),
            )],
        ),
        case(
            "KSPM-W-016",
            vec![sc(json!({"procMount": "Unmasked"}))],
            vec![sc(json!({"procMount": "Default"}))],
        ),
        case(
            "KSPM-W-017",
            vec![pod(
                json!({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}, "containers": []}),
            )],
            vec![pod(
                json!({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]}, "containers": []}),
            )],
        ),
        case(
            "KSPM-W-018",
            vec![sc(json!({"windowsOptions": {"hostProcess": true}}))],
            vec![sc(json!({"windowsOptions": {"hostProcess": false}}))],
        ),
        case(
            "KSPM-W-019",
            vec![ctr(
                json!({"livenessProbe": {"httpGet": {"host": "169.254.169.254", "port": 80}}}),
            )],
            vec![ctr(json!({"livenessProbe": {"httpGet": {"port": 80}}}))],
        ),
        case(
            "KSPM-W-020",
            vec![pod(
                json!({"volumes": [{"name": "v", "nfs": {"server": "n", "path": "/"}}], "containers": []}),
            )],
            vec![pod(
                json!({"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}], "containers": []}),
            )],
        ),
        case(
            "KSPM-W-021",
            vec![pod(
                json!({"volumes": [{"name": "v", "hostPath": {"path": "/var/run/"}}], "containers": []}),
            )],
            vec![pod(
                json!({"volumes": [{"name": "v", "hostPath": {"path": "/var/log/app"}}], "containers": []}),
            )],
        ),
        case(
            "KSPM-W-022",
            vec![pod(
                json!({"volumes": [{"name": "v", "hostPath": {"path": "/etc/kubernetes/pki"}}], "containers": []}),
            )],
            vec![pod(
                json!({"volumes": [{"name": "v", "hostPath": {"path": "/var/log/app"}}], "containers": []}),
            )],
        ),
        case(
            "KSPM-W-023",
            vec![sc(json!({"capabilities": {"add": ["cap_sys_admin"]}}))],
            vec![sc(json!({"capabilities": {"add": ["NET_BIND_SERVICE"]}}))],
        ),
        case(
            "KSPM-W-024",
            vec![pod(
                json!({"securityContext": {"fsGroup": 0}, "containers": []}),
            )],
            vec![pod(
                json!({"securityContext": {"fsGroup": 2000}, "containers": []}),
            )],
        ),
        case(
            "KSPM-W-025",
            vec![sc(json!({"readOnlyRootFilesystem": false}))],
            vec![sc(json!({"readOnlyRootFilesystem": true}))],
        ),
        case(
            "KSPM-W-026",
            vec![
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}),
            ],
            vec![pod(json!({"containers": []}))],
        ),
        case(
            "KSPM-P-003",
            vec![ns(
                "shop",
                json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"}),
            )],
            vec![
                ns(
                    "shop",
                    json!({"pod-security.kubernetes.io/enforce": "restricted"}),
                ),
                ns(
                    "kube-system",
                    json!({"pod-security.kubernetes.io/enforce": "baseline"}),
                ),
            ],
        ),
        case(
            "KSPM-P-001",
            vec![ns(
                "shop",
                json!({"pod-security.kubernetes.io/enforce": "privileged"}),
            )],
            vec![
                ns(
                    "shop",
                    json!({"pod-security.kubernetes.io/enforce": "baseline"}),
                ),
                ns("kube-system", json!({})),
            ],
        ),
        case(
            "KSPM-P-002",
            vec![
                ns(
                    "shop",
                    json!({"pod-security.kubernetes.io/enforce": "baseline"}),
                ),
                sc(json!({"privileged": true})),
            ],
            vec![
                ns(
                    "shop",
                    json!({"pod-security.kubernetes.io/enforce": "baseline"}),
                ),
                sc(json!({"capabilities": {"drop": ["ALL"]}})),
            ],
        ),
        case(
            "KSPM-I-001",
            vec![ctr(json!({"image": "nginx"}))],
            vec![ctr(json!({"image": "nginx:1.27"}))],
        ),
        case(
            "KSPM-I-002",
            vec![
                ctr(json!({"image": "nginx:1.27"})),
                named(ctr(json!({"image": "nginx:1.27@sha256:abc"})), "p2"),
            ],
            vec![ctr(
                json!({"image": "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"}),
            )],
        ),
        Case {
            options: ScanOptions {
                allowed_registries: vec!["registry.example.com/".into()],
                ..Default::default()
            },
            ..case(
                "KSPM-I-003",
                vec![ctr(json!({"image": "evil.example.net/x:1"}))],
                vec![ctr(json!({"image": "registry.example.com/x:1"}))],
            )
        },
        Case {
            options: ScanOptions {
                // Blocked wins over allowed; Docker Hub short names are docker.io's.
                allowed_registries: vec!["docker.io/".into(), "registry.example.com/".into()],
                blocked_registries: vec!["docker.io/".into()],
                ..Default::default()
            },
            ..case(
                "KSPM-I-006",
                vec![ctr(json!({"image": "nginx:1.27"}))],
                vec![ctr(json!({"image": "registry.example.com/nginx:1.27"}))],
            )
        },
        Case {
            // A report of web:1.4 with Log4Shell (known exploited, network) and a local glibc
            // flaw (known exploited too): the pod running 1.4 is reported, as is the sidecar (an
            // init container that keeps running); 1.5 (no report), a plain init container and
            // a VEX-excluded flaw are not.
            options: ScanOptions {
                vulnerabilities: std::sync::Arc::new(exploited_database()),
                ..Default::default()
            },
            ..case(
                "KSPM-I-007",
                vec![
                    ctr(json!({"image": "registry.example.com/shop/web:1.4"})),
                    named(pod(json!({"containers": [{"name": "a", "image": "nginx:1.27"}],
                        "initContainers": [{"name": "proxy", "image": "registry.example.com/shop/web:1.4", "restartPolicy": "Always"}]})), "p2"),
                ],
                vec![
                    ctr(json!({"image": "registry.example.com/shop/web:1.5"})),
                    pod(json!({"containers": [{"name": "a", "image": "nginx:1.27"}],
                        "initContainers": [{"name": "setup", "image": "registry.example.com/shop/web:1.4"}]})),
                    ctr(json!({"image": "registry.example.com/shop/api:2.0"})),
                ],
            )
        },
        case(
            "KSPM-I-004",
            vec![ctr(json!({"image": "k8s.gcr.io/pause:3.9"}))],
            vec![ctr(json!({"image": "registry.k8s.io/pause:3.9"}))],
        ),
        case(
            "KSPM-I-005",
            vec![ctr(json!({"image": "nginx:1.27"}))],
            vec![ctr(
                json!({"image": "nginx:1.27", "imagePullPolicy": "Always"}),
            )],
        ),
        case(
            "KSPM-Q-001",
            vec![ctr(json!({}))],
            vec![ctr(json!({"resources": {"limits": {"memory": "128Mi"}}}))],
        ),
        case(
            "KSPM-Q-002",
            vec![ctr(json!({}))],
            vec![ctr(json!({"resources": {"limits": {"cpu": "500m"}}}))],
        ),
        case(
            "KSPM-Q-003",
            vec![ctr(json!({"resources": {"requests": {"cpu": "1"}}}))],
            vec![ctr(
                json!({"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}),
            )],
        ),
        case(
            "KSPM-Q-004",
            vec![ctr(json!({}))],
            vec![ctr(json!({"livenessProbe": {"tcpSocket": {"port": 80}}}))],
        ),
        case(
            "KSPM-Q-005",
            vec![ctr(json!({}))],
            vec![ctr(json!({"readinessProbe": {"tcpSocket": {"port": 80}}}))],
        ),
        case(
            "KSPM-Q-006",
            vec![
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "shop"}, "spec": {"template": {"spec": {"containers": []}}}}),
            ],
            vec![deployment(json!({}))],
        ),
        case(
            "KSPM-Q-007",
            vec![shop_ns.clone(), pod(json!({"containers": []}))],
            vec![
                shop_ns.clone(),
                pod(json!({"containers": []})),
                json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l", "namespace": "shop"}}),
            ],
        ),
        case(
            "KSPM-Q-008",
            vec![shop_ns.clone(), pod(json!({"containers": []}))],
            vec![
                shop_ns.clone(),
                pod(json!({"containers": []})),
                json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "shop"}}),
            ],
        ),
        case(
            "KSPM-S-001",
            vec![pod(json!({"serviceAccountName": "app", "containers": []}))],
            vec![
                pod(json!({"serviceAccountName": "app", "containers": []})),
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": "shop"}, "automountServiceAccountToken": false}),
            ],
        ),
        case(
            "KSPM-S-002",
            vec![pod(json!({"containers": []}))],
            vec![pod(json!({"serviceAccountName": "app", "containers": []}))],
        ),
        case(
            "KSPM-S-003",
            vec![
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}}),
            ],
            vec![
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}, "automountServiceAccountToken": false}),
            ],
        ),
        case(
            "KSPM-S-004",
            vec![ctr(
                json!({"env": [{"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}),
            )],
            vec![ctr(
                json!({"env": [{"name": "DB", "valueFrom": {"configMapKeyRef": {"name": "db", "key": "host"}}}]}),
            )],
        ),
        case(
            "KSPM-S-005",
            vec![ctr(
                json!({"env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}),
            )],
            vec![ctr(
                json!({"env": [{"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db"}, {"name": "LOG_LEVEL", "value": "debug"}]}),
            )],
        ),
        case(
            "KSPM-S-006",
            vec![
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}, "data": {"api_token": "abc123def"}}),
            ],
            vec![
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}, "data": {"log_level": "info"}}),
            ],
        ),
        case(
            "KSPM-S-011",
            vec![
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop", "annotations": {"example.com/deploy-key": "ghp_0123456789abcdefghijKLMN"}}}),
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "shop"}, "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": {"app": "d"}, "annotations": {"example.com/kubeconfig": "apiVersion: v1\nkind: Config\nclusters:\n- name: c\nusers:\n- name: u\n  user:\n    token: abc\n"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}),
            ],
            vec![
                json!({"apiVersion": "v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "shop", "annotations": {"nginx.ingress.kubernetes.io/auth-secret": "basic-auth", "example.com/token-url": "https://example.com/token"}}}),
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"k\":\"ghp_0123456789abcdefghijKLMN\"}}"}}}),
            ],
        ),
        case(
            "KSPM-S-007",
            vec![
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t", "namespace": "shop", "annotations": {"kubernetes.io/service-account.name": "ci"}}, "type": "kubernetes.io/service-account-token"}),
            ],
            vec![
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t", "namespace": "shop"}, "type": "Opaque"}),
            ],
        ),
        case(
            "KSPM-N-001",
            vec![shop_ns.clone(), deployment(json!({"app": "web"}))],
            vec![
                shop_ns.clone(),
                deployment(json!({"app": "web"})),
                netpol(json!({}), json!(["Ingress"]), json!({})),
            ],
        ),
        case(
            "KSPM-N-002",
            vec![
                shop_ns.clone(),
                deployment(json!({"app": "web"})),
                netpol(
                    json!({"matchLabels": {"app": "web"}}),
                    json!(["Ingress"]),
                    json!({}),
                ),
            ],
            vec![
                shop_ns.clone(),
                deployment(json!({"app": "web"})),
                netpol(json!({}), json!(["Ingress"]), json!({})),
            ],
        ),
        case(
            "KSPM-N-003",
            vec![
                shop_ns.clone(),
                deployment(json!({"app": "web"})),
                netpol(
                    json!({}),
                    json!(["Egress"]),
                    json!({"egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}),
                ),
            ],
            vec![
                shop_ns.clone(),
                deployment(json!({"app": "web"})),
                netpol(json!({}), json!(["Ingress", "Egress"]), json!({})),
            ],
        ),
        case(
            "KSPM-N-004",
            vec![
                deployment(json!({"app": "web"})),
                netpol(
                    json!({"matchLabels": {"app": "db"}}),
                    json!(["Ingress"]),
                    json!({}),
                ),
            ],
            vec![
                deployment(json!({"app": "web"})),
                netpol(
                    json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "db"]}]}),
                    json!(["Ingress"]),
                    json!({}),
                ),
            ],
        ),
        case(
            "KSPM-N-005",
            vec![service(json!({"externalIPs": ["1.2.3.4"]}), json!({}))],
            vec![service(json!({"type": "ClusterIP"}), json!({}))],
        ),
        case(
            "KSPM-N-006",
            vec![service(json!({"type": "NodePort"}), json!({}))],
            vec![service(json!({"type": "ClusterIP"}), json!({}))],
        ),
        case(
            "KSPM-N-007",
            vec![service(
                json!({"type": "LoadBalancer", "ports": [{"port": 5432}]}),
                json!({}),
            )],
            vec![
                service(
                    json!({"type": "LoadBalancer"}),
                    json!({"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}),
                ),
                service(
                    json!({"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"]}),
                    json!({}),
                ),
            ],
        ),
        case(
            "KSPM-N-008",
            vec![ingress(json!({"rules": []}), json!({}))],
            vec![ingress(
                json!({"tls": [{"hosts": ["a.example.com"], "secretName": "t"}]}),
                json!({}),
            )],
        ),
        case(
            "KSPM-N-009",
            vec![ingress(
                json!({"tls": [{}]}),
                json!({"nginx.ingress.kubernetes.io/server-snippet": "location / {}"}),
            )],
            vec![ingress(
                json!({"tls": [{}]}),
                json!({"nginx.ingress.kubernetes.io/rewrite-target": "/"}),
            )],
        ),
        case(
            "KSPM-N-010",
            vec![ctr(json!({"image": "kubernetesui/dashboard:v2.7.0"}))],
            vec![ctr(json!({}))],
        ),
        case(
            "KSPM-R-001",
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "cluster-admin",
                alice(),
            )],
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "cluster-admin",
                json!([{"kind": "Group", "name": "system:masters"}]),
            )],
        ),
        case(
            "KSPM-R-002",
            vec![role("ClusterRole", rule(&["*"], &[""], &["pods"]))],
            vec![role("ClusterRole", rule(&["get"], &[""], &["pods"]))],
        ),
        case(
            "KSPM-R-003",
            granted(rule(&["list"], &[""], &["secrets"])),
            granted(rule(&["list"], &[""], &["configmaps"])),
        ),
        case(
            "KSPM-R-004",
            vec![
                role("Role", rule(&["get"], &[""], &["secrets"])),
                binding("RoleBinding", "Role", "r", alice()),
            ],
            vec![
                role("Role", rule(&["get"], &[""], &["configmaps"])),
                binding("RoleBinding", "Role", "r", alice()),
            ],
        ),
        case(
            "KSPM-R-005",
            granted(rule(&["create"], &["batch"], &["jobs"])),
            granted(rule(&["get", "list"], &["batch"], &["jobs"])),
        ),
        case(
            "KSPM-R-006",
            granted(rule(&["get"], &[""], &["pods/exec"])),
            granted(rule(&["get"], &[""], &["pods/log"])),
        ),
        case(
            "KSPM-R-007",
            granted(rule(&["create"], &[""], &["nodes/proxy"])),
            // The kubelet never authorizes update, patch or delete on nodes/proxy.
            granted(rule(&["update", "patch", "delete"], &[""], &["nodes/proxy"])),
        ),
        case(
            "KSPM-R-008",
            granted(rule(&["impersonate"], &[""], &["serviceaccounts"])),
            granted(rule(&["get"], &[""], &["serviceaccounts"])),
        ),
        case(
            "KSPM-R-009",
            granted(json!([
                {"verbs": ["update"], "apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"]},
                {"verbs": ["approve"], "apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "resourceNames": ["kubernetes.io/kube-apiserver-client"]},
            ])),
            // The approval subresource without `approve` on any signer approves nothing
            // (argocd-server's `patch` on every resource).
            granted(json!([
                {"verbs": ["patch", "update"], "apiGroups": ["*"], "resources": ["*"]},
                {"verbs": ["approve"], "apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "resourceNames": ["example.com/internal"]},
            ])),
        ),
        case(
            "KSPM-R-010",
            granted(rule(
                &["patch"],
                &["admissionregistration.k8s.io"],
                &["mutatingwebhookconfigurations"],
            )),
            granted(rule(
                &["list"],
                &["admissionregistration.k8s.io"],
                &["mutatingwebhookconfigurations"],
            )),
        ),
        case(
            "KSPM-R-011",
            granted(rule(&["create"], &[""], &["persistentvolumes"])),
            granted(rule(&["create"], &[""], &["persistentvolumeclaims"])),
        ),
        case(
            "KSPM-R-012",
            granted(rule(&["create"], &[""], &["serviceaccounts/token"])),
            granted(rule(&["get"], &[""], &["serviceaccounts"])),
        ),
        case(
            "KSPM-R-013",
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                json!([{"kind": "Group", "name": "system:unauthenticated"}]),
            )],
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                alice(),
            )],
        ),
        case(
            "KSPM-R-014",
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                json!([{"kind": "Group", "name": "system:authenticated"}]),
            )],
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                alice(),
            )],
        ),
        case(
            "KSPM-R-015",
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                json!([{"kind": "Group", "name": "system:masters"}]),
            )],
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                alice(),
            )],
        ),
        case(
            "KSPM-R-016",
            vec![binding(
                "RoleBinding",
                "ClusterRole",
                "view",
                json!([{"kind": "ServiceAccount", "name": "default"}]),
            )],
            vec![binding(
                "RoleBinding",
                "ClusterRole",
                "view",
                json!([{"kind": "ServiceAccount", "name": "app"}]),
            )],
        ),
        case(
            "KSPM-R-017",
            vec![binding("RoleBinding", "Role", "missing", alice())],
            vec![
                role("Role", rule(&["get"], &[""], &["pods"])),
                binding("RoleBinding", "Role", "r", alice()),
            ],
        ),
        case(
            "KSPM-W-027",
            vec![pod(
                json!({"hostAliases": [{"ip": "10.0.0.9", "hostnames": ["api.example.com"]}], "containers": []}),
            )],
            vec![pod(json!({"hostAliases": [], "containers": []}))],
        ),
        case(
            "KSPM-W-028",
            vec![
                ctr(json!({"ports": [{"containerPort": 22}]})),
                service(json!({"ports": [{"port": 2222, "targetPort": 8022}]}), json!({})),
            ],
            vec![
                ctr(json!({"ports": [{"containerPort": 2222}]})),
                service(json!({"ports": [{"port": 443, "targetPort": 8443}]}), json!({})),
            ],
        ),
        case(
            "KSPM-W-029",
            vec![ctr(json!({"command": ["sh", "-c", "sudo -E /app/run"]}))],
            vec![ctr(json!({"command": ["/app/run", "--pseudo"]}))],
        ),
        case(
            "KSPM-S-008",
            vec![
                pod(json!({"serviceAccountName": "app", "containers": []})),
                binding(
                    "ClusterRoleBinding",
                    "ClusterRole",
                    "cluster-admin",
                    json!([{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]),
                ),
            ],
            vec![
                pod(
                    json!({"serviceAccountName": "app", "automountServiceAccountToken": false, "containers": []}),
                ),
                binding(
                    "ClusterRoleBinding",
                    "ClusterRole",
                    "cluster-admin",
                    json!([{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]),
                ),
                pod(json!({"serviceAccountName": "other", "containers": []})),
            ],
        ),
        case(
            "KSPM-S-009",
            vec![pod(json!({"serviceAccount": "app", "containers": []}))],
            vec![pod(
                json!({"serviceAccountName": "app", "serviceAccount": "app", "containers": []}),
            )],
        ),
        case(
            "KSPM-S-010",
            vec![
                pod(json!({"serviceAccountName": "ghost", "containers": []})),
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}}),
            ],
            vec![pod(
                json!({"serviceAccountName": "ghost", "containers": []}),
            )],
        ),
        case(
            "KSPM-Q-009",
            vec![pod(json!({"containers": []}))],
            vec![
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop", "ownerReferences": [{"kind": "ReplicaSet", "name": "r", "uid": "u", "controller": true}]}, "spec": {"containers": []}}),
            ],
        ),
        case(
            "KSPM-Q-010",
            vec![deployment(json!({"app": "web"}))],
            vec![
                deployment(json!({"app": "web"})),
                json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "pdb", "namespace": "shop"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "minAvailable": 1}}),
            ],
        ),
        case(
            "KSPM-M-001",
            vec![
                json!({"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "shop"}}),
            ],
            vec![
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "shop"}}),
            ],
        ),
        case(
            "KSPM-M-002",
            vec![ctr(
                json!({"image": "gcr.io/kubernetes-helm/tiller:v2.16.1"}),
            )],
            vec![ctr(json!({"image": "alpine/helm:3.14.0"}))],
        ),
        case(
            "KSPM-M-003",
            vec![
                service(json!({"selector": {"app": "nope"}}), json!({})),
                deployment(json!({"app": "web"})),
            ],
            vec![
                service(json!({"selector": {"app": "web"}}), json!({})),
                deployment(json!({"app": "web"})),
            ],
        ),
        case(
            "KSPM-M-004",
            vec![ingress(
                json!({"rules": [{"http": {"paths": [{"path": "/", "backend": {"service": {"name": "gone", "port": {"number": 80}}}}]}}]}),
                json!({}),
            )],
            vec![
                service(json!({"selector": {"app": "web"}}), json!({})),
                ingress(
                    json!({"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}),
                    json!({}),
                ),
            ],
        ),
        case(
            "KSPM-M-005",
            vec![ctr(
                json!({"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]}),
            )],
            vec![ctr(
                json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}),
            )],
        ),
        case(
            "KSPM-R-019",
            granted(json!([{"verbs": ["patch"], "apiGroups": [""], "resources": ["configmaps"]}])),
            vec![
                role(
                    "Role",
                    json!([{"verbs": ["patch"], "apiGroups": [""], "resources": ["configmaps"]}]),
                ),
                binding("RoleBinding", "Role", "r", alice()),
            ],
        ),
        case(
            "KSPM-W-030",
            vec![
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "billing-api", "namespace": "kube-system"}, "spec": {"template": {"spec": {"containers": []}}}}),
            ],
            vec![
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coredns", "namespace": "kube-system"}, "spec": {"template": {"spec": {"containers": []}}}}),
                json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "kube-system", "labels": {"addonmanager.kubernetes.io/mode": "Reconcile"}}, "spec": {"template": {"spec": {"containers": []}}}}),
            ],
        ),
        case(
            "KSPM-M-006",
            vec![ctr(
                json!({"image": "registry.k8s.io/ingress-nginx/controller:v1.11.3@sha256:abc"}),
            )],
            vec![
                ctr(json!({"image": "registry.k8s.io/ingress-nginx/controller:v1.12.1"})),
                ctr(json!({"image": "registry.k8s.io/ingress-nginx/controller:v1.11.5"})),
            ],
        ),
        case(
            "KSPM-M-007",
            vec![ctr(
                json!({"image": "registry.k8s.io/ingress-nginx/controller:v1.14.3@sha256:abc"}),
            )],
            // F5's NGINX Ingress Controller is another, maintained project.
            vec![ctr(json!({"image": "nginx/nginx-ingress:5.2.1"}))],
        ),
        case(
            "KSPM-N-014",
            vec![
                nginx_controller("v1.13.0"),
                nginx_config(json!({"allow-snippet-annotations": "true", "annotations-risk-level": "Critical"})),
            ],
            vec![
                // From 1.12 the risk level (High by default) still rejects snippets.
                nginx_controller("v1.13.0"),
                nginx_config(json!({"allow-snippet-annotations": "true"})),
            ],
        ),
        case(
            "KSPM-N-016",
            vec![
                admin_ui_deployment("grafana/grafana:11.3.0", json!([])),
                service(json!({"type": "NodePort", "selector": {"app": "ui"}, "ports": [{"port": 3000}]}), json!({})),
            ],
            vec![
                admin_ui_deployment("grafana/grafana:11.3.0", json!([])),
                service(json!({"selector": {"app": "ui"}, "ports": [{"port": 3000}]}), json!({})),
                // Another workload published, not the UI.
                ingress(json!({"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}), json!({})),
            ],
        ),
        case(
            "KSPM-N-015",
            vec![kube_proxy_config("metricsBindAddress: 0.0.0.0:10249\n")],
            vec![kube_proxy_config("metricsBindAddress: 127.0.0.1:10249\n")],
        ),
        case(
            "KSPM-R-020",
            granted(rule(&["delete"], &[""], &["events"])),
            granted(rule(&["list"], &[""], &["events"])),
        ),
        case(
            "KSPM-R-025",
            vec![
                role(
                    "ClusterRole",
                    rule(&["delete"], &["apps"], &["daemonsets"]),
                ),
                binding("ClusterRoleBinding", "ClusterRole", "r", alice()),
            ],
            // The same right in the subject's own namespace only.
            vec![
                role(
                    "ClusterRole",
                    rule(&["delete"], &["apps"], &["daemonsets"]),
                ),
                binding("RoleBinding", "ClusterRole", "r", alice()),
            ],
        ),
        case(
            "KSPM-R-026",
            granted(rule(
                &["delete"],
                &["apiextensions.k8s.io"],
                &["customresourcedefinitions"],
            )),
            granted(rule(
                &["get", "list"],
                &["apiextensions.k8s.io"],
                &["customresourcedefinitions"],
            )),
        ),
        case(
            "KSPM-R-027",
            granted(rule(&["delete"], &[""], &["namespaces"])),
            granted(rule(&["delete"], &[""], &["persistentvolumeclaims"])),
        ),
        case(
            "KSPM-R-021",
            granted(rule(&["patch"], &["discovery.k8s.io"], &["endpointslices"])),
            granted(rule(&["get"], &["discovery.k8s.io"], &["endpointslices"])),
        ),
        case(
            "KSPM-R-022",
            granted(rule(
                &["create"],
                &["rbac.authorization.k8s.io"],
                &["rolebindings"],
            )),
            granted(rule(
                &["list"],
                &["rbac.authorization.k8s.io"],
                &["rolebindings"],
            )),
        ),
        case(
            "KSPM-R-023",
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                json!([{"kind": "ServiceAccount", "name": "kubernetes-dashboard", "namespace": "kubernetes-dashboard"}]),
            )],
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                alice(),
            )],
        ),
        case(
            "KSPM-Q-011",
            vec![ctr(json!({}))],
            vec![ctr(json!({"securityContext": {"runAsNonRoot": true}}))],
        ),
        Case {
            provider: Provider::Eks,
            ..case(
                "KSPM-R-018",
                granted(
                    json!([{"verbs": ["patch"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["aws-auth"]}]),
                ),
                granted(
                    json!([{"verbs": ["patch"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app-config"]}]),
                ),
            )
        },
        case("KSPM-G-001", vec![gke_cluster(json!({"legacyAbac": {"enabled": true}}))], vec![gke_cluster(json!({}))]),
        case("KSPM-G-002", vec![gke_cluster(json!({"masterAuth": {"clientCertificateConfig": {"issueClientCertificate": true}}}))], vec![gke_cluster(json!({}))]),
        case("KSPM-G-003", vec![gke_cluster(json!({"workloadIdentityConfig": {}}))], vec![gke_cluster(json!({})), gke_cluster(json!({"workloadIdentityConfig": {}, "autopilot": {"enabled": true}}))]),
        case("KSPM-G-004", vec![gke_cluster(json!({"nodePools": [{"name": "p", "config": {"serviceAccount": "n@p1.iam.gserviceaccount.com", "workloadMetadataConfig": {"mode": "GCE_METADATA"}}}]}))], vec![gke_cluster(json!({}))]),
        case("KSPM-G-005", vec![gke_cluster(json!({"nodePools": [{"name": "p", "config": {"serviceAccount": "default"}}]}))], vec![gke_cluster(json!({}))]),
        case("KSPM-G-006", vec![gke_cluster(json!({"nodePools": [{"name": "p", "config": {"serviceAccount": "n@p1.iam.gserviceaccount.com", "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"]}}]}))], vec![gke_cluster(json!({}))]),
        case("KSPM-G-007", vec![gke_cluster(json!({"databaseEncryption": {"state": "DECRYPTED"}}))], vec![gke_cluster(json!({}))]),
        case("KSPM-G-008", vec![gke_cluster(json!({"controlPlaneEndpointsConfig": {"ipEndpointsConfig": {"enablePublicEndpoint": true, "authorizedNetworksConfig": {"enabled": false}}}}))],
            vec![gke_cluster(json!({})), gke_cluster(json!({"controlPlaneEndpointsConfig": {"ipEndpointsConfig": {"enablePublicEndpoint": true, "authorizedNetworksConfig": {"enabled": true}}}}))]),
        case("KSPM-G-009", vec![gke_cluster(json!({"networkConfig": {"datapathProvider": "ADVANCED_DATAPATH"}}))], vec![gke_cluster(json!({}))]),
        case("KSPM-G-010", vec![gke_cluster(json!({"networkConfig": {"defaultEnablePrivateNodes": true}, "networkPolicy": {"enabled": false}}))],
            vec![gke_cluster(json!({})), gke_cluster(json!({"networkConfig": {"defaultEnablePrivateNodes": true}, "networkPolicy": {"provider": "CALICO", "enabled": true}}))]),
        case("KSPM-G-011", vec![gke_cluster(json!({"shieldedNodes": {"enabled": false}}))], vec![gke_cluster(json!({}))]),
        case("KSPM-G-012", vec![gke_cluster(json!({"nodePools": [{"name": "p", "config": {"workloadMetadataConfig": {"mode": "GKE_METADATA"}, "shieldedInstanceConfig": {"enableSecureBoot": true}}, "management": {"autoUpgrade": false, "autoRepair": true}}]}))], vec![gke_cluster(json!({}))]),
        case("KSPM-G-013", vec![gke_cluster(json!({"loggingService": "none"}))], vec![gke_cluster(json!({}))]),
        case("KSPM-G-014", vec![gke_cluster(json!({"addonsConfig": {"kubernetesDashboard": {"disabled": false}}}))], vec![gke_cluster(json!({}))]),
        case("KSPM-A-001", vec![aks_cluster(json!({"enableRBAC": false}))], vec![aks_cluster(json!({}))]),
        case("KSPM-A-002", vec![aks_cluster(json!({"disableLocalAccounts": false}))], vec![aks_cluster(json!({}))]),
        case("KSPM-A-003", vec![aks_cluster(json!({"aadProfile": null}))], vec![aks_cluster(json!({}))]),
        case("KSPM-A-004", vec![aks_cluster(json!({"apiServerAccessProfile": {"enablePrivateCluster": false, "authorizedIPRanges": []}}))],
            vec![aks_cluster(json!({"apiServerAccessProfile": {"enablePrivateCluster": false, "authorizedIPRanges": ["203.0.113.0/24"], "disableRunCommand": true}}))]),
        case("KSPM-A-005", vec![aks_cluster(json!({"apiServerAccessProfile": {"enablePrivateCluster": false, "authorizedIPRanges": ["203.0.113.0/24"], "disableRunCommand": true}}))], vec![aks_cluster(json!({}))]),
        case("KSPM-A-006", vec![aks_cluster(json!({"networkProfile": {"networkPlugin": "kubenet", "networkPolicy": "none"}}))],
            vec![aks_cluster(json!({})), aks_cluster(json!({"networkProfile": {"networkPlugin": "azure", "networkDataplane": "cilium"}}))]),
        case("KSPM-A-007", vec![aks_cluster(json!({"securityProfile": {"workloadIdentity": {"enabled": true}}}))], vec![aks_cluster(json!({}))]),
        case("KSPM-A-008", vec![aks_cluster(json!({"securityProfile": {"azureKeyVaultKms": {"enabled": true}}}))], vec![aks_cluster(json!({}))]),
        case("KSPM-A-009", vec![aks_cluster(json!({"aadProfile": {"managed": true}}))], vec![aks_cluster(json!({}))]),
        case("KSPM-A-010", vec![aks_cluster(json!({"agentPoolProfiles": [{"name": "np1", "enableNodePublicIP": true}]}))], vec![aks_cluster(json!({}))]),
        case("KSPM-A-011", vec![aks_cluster(json!({"apiServerAccessProfile": {"enablePrivateCluster": true}}))], vec![aks_cluster(json!({}))]),
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
        case(
            "KSPM-N-011",
            vec![running("web"), netpol(json!({"matchLabels": {"app": "wbe"}}), json!(["Ingress"]), json!({}))],
            vec![
                running("web"),
                netpol(json!({"matchLabels": {"app": "web"}}), json!(["Ingress"]), json!({})),
                // Manifests only (no running pods): operators create pods no manifest shows.
                netpol(json!({"matchLabels": {"app": "prometheus"}}), json!(["Ingress"]), json!({})).pipe_ns("monitoring"),
                deployment(json!({"app": "operator"})).pipe_ns("monitoring"),
            ],
        ),
        case(
            "KSPM-N-017",
            vec![
                netpol(json!({}), json!(["Ingress"]), json!({})),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "open", "namespace": "shop"},
                       "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]}}),
            ],
            vec![
                netpol(json!({}), json!(["Ingress"]), json!({})),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "web", "namespace": "shop"},
                       "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"ports": [{"port": 8080}]}]}}),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "open", "namespace": "other"},
                       "spec": {"podSelector": {}, "ingress": [{}]}}),
            ],
        ),
        case(
            "KSPM-N-018",
            vec![
                // Its rule admits pods of app=fe on 8080; "open" already admits everyone.
                np("web-only", json!({"matchLabels": {"app": "web"}}), json!({"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "fe"}}}], "ports": [{"port": 8080}]}]})),
                np("open", json!({}), json!({"ingress": [{}]})),
            ],
            vec![
                np("web-only", json!({"matchLabels": {"app": "web"}}), json!({"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "fe"}}}]}]})),
                // Selects other pods.
                np("open-db", json!({"matchLabels": {"app": "db"}}), json!({"ingress": [{}]})),
                // Names ports: not everything.
                np("open-443", json!({}), json!({"ingress": [{"ports": [{"port": 443}]}]})),
                // In another namespace.
                np("open", json!({}), json!({"ingress": [{}]})).pipe_ns("other"),
            ],
        ),
        case(
            "KSPM-N-019",
            vec![ns("kube-system", json!({})), deployment(json!({"k8s-app": "kube-dns"})).pipe_ns("kube-system")],
            vec![
                ns("kube-system", json!({})),
                deployment(json!({"k8s-app": "kube-dns"})).pipe_ns("kube-system"),
                // Every namespace may connect, but on DNS ports only.
                np("dns", json!({"matchLabels": {"k8s-app": "kube-dns"}}), json!({"policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}]})).pipe_ns("kube-system"),
                // An open namespace that is not sensitive.
                ns("shop", json!({})),
                deployment(json!({"app": "web"})),
            ],
        ),
        Case {
            provider: Provider::Eks,
            ..case(
                "KSPM-N-020",
                vec![
                    nodegroup(json!({"launchTemplate": {"id": "lt-1", "version": "1"}})),
                    launch_template("lt-1", 1, json!({"HttpTokens": "optional"})),
                    deployment(json!({"app": "web"})),
                    // The node role is cluster admin: what the fleet's graph judges.
                    aws_auth("- rolearn: arn:aws:iam::111122223333:role/node\n  username: node\n  groups: [system:masters]\n"),
                ],
                vec![
                    nodegroup(json!({"launchTemplate": {"id": "lt-1", "version": "1"}})),
                    launch_template("lt-1", 1, json!({"HttpTokens": "optional"})),
                    deployment(json!({"app": "web"})),
                    aws_auth("- rolearn: arn:aws:iam::111122223333:role/node\n  username: node\n  groups: [system:masters]\n"),
                    // Egress denied to everything, the metadata server included.
                    netpol(json!({}), json!(["Egress"]), json!({})),
                ],
            )
        },
        case(
            "KSPM-N-012",
            vec![running("web"), service(json!({"selector": {"app": "wbe"}}), json!({}))],
            vec![running("web"), service(json!({"selector": {"app": "web"}}), json!({}))],
        ),
        case(
            "KSPM-N-013",
            vec![
                running("web"),
                service(json!({"selector": {"app": "web"}}), json!({})),
                ingress(
                    json!({"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "gone", "port": {"number": 80}}}}]}}]}),
                    json!({}),
                ),
            ],
            vec![
                running("web"),
                service(json!({"selector": {"app": "web"}}), json!({})),
                ingress(
                    json!({"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}),
                    json!({}),
                ),
                // A namespace the input holds no running pods of: its Services may be elsewhere.
                ingress(
                    json!({"defaultBackend": {"service": {"name": "gone", "port": {"number": 80}}}}),
                    json!({}),
                )
                .pipe_ns("manifests"),
            ],
        ),
        case(
            "KSPM-R-024",
            vec![named(
                binding(
                    "ClusterRoleBinding",
                    "ClusterRole",
                    "cluster-admin",
                    json!([{"kind": "ServiceAccount", "name": "sa", "namespace": "shop"}]),
                ),
                "system:backdoor",
            )],
            vec![named(
                binding(
                    "ClusterRoleBinding",
                    "ClusterRole",
                    "system:node-proxier",
                    json!([{"kind": "User", "name": "system:kube-proxy"}]),
                ),
                "system:node-proxier",
            )],
        ),
    ]
    .into_iter()
    .chain(control_plane_cases())
    .collect()
}

/// A control-plane static pod in kube-system running `binary` with `flags`.
fn static_pod(binary: &str, flags: &[String]) -> Value {
    let mut command = vec![binary.to_string()];
    command.extend(flags.iter().cloned());
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("{binary}-cp1"), "namespace": "kube-system",
        "labels": {"component": binary, "tier": "control-plane"}},
        "spec": {"nodeName": "cp1", "hostNetwork": true, "containers": [{"name": binary, "image": format!("registry.k8s.io/{binary}:v1.31.0"), "command": command}]}})
}

/// Hardened flags of each control-plane component (what passes every rule).
fn hardened(binary: &str) -> Vec<String> {
    let flags: &[&str] = match binary {
        "kube-apiserver" => &[
            "--anonymous-auth=false",
            "--authorization-mode=Node,RBAC",
            "--client-ca-file=/pki/ca.crt",
            "--enable-admission-plugins=NodeRestriction",
            "--etcd-cafile=/pki/etcd/ca.crt",
            "--etcd-certfile=/pki/etcd-client.crt",
            "--etcd-keyfile=/pki/etcd-client.key",
            "--kubelet-client-certificate=/pki/kc.crt",
            "--kubelet-client-key=/pki/kc.key",
            "--kubelet-certificate-authority=/pki/ca.crt",
            "--profiling=false",
            "--audit-log-path=/var/log/audit.log",
            "--audit-policy-file=/etc/kubernetes/audit-policy.yaml",
            "--audit-log-maxage=30",
            "--audit-log-maxbackup=10",
            "--audit-log-maxsize=100",
            "--service-account-key-file=/pki/sa.pub",
            "--tls-cert-file=/pki/apiserver.crt",
            "--tls-private-key-file=/pki/apiserver.key",
            "--encryption-provider-config=/etc/kubernetes/enc.yaml",
        ],
        "kube-controller-manager" => &[
            "--profiling=false",
            "--use-service-account-credentials=true",
            "--service-account-private-key-file=/pki/sa.key",
            "--root-ca-file=/pki/ca.crt",
            "--bind-address=127.0.0.1",
        ],
        "kube-scheduler" => &["--profiling=false", "--bind-address=127.0.0.1"],
        _ => &[
            "--cert-file=/pki/etcd/server.crt",
            "--key-file=/pki/etcd/server.key",
            "--client-cert-auth=true",
            "--peer-cert-file=/pki/etcd/peer.crt",
            "--peer-key-file=/pki/etcd/peer.key",
            "--peer-client-cert-auth=true",
            "--trusted-ca-file=/pki/etcd/ca.crt",
        ],
    };
    flags.iter().map(|f| f.to_string()).collect()
}

/// `hardened(binary)` with `flag` replaced by `value` (`None`: removed).
fn changed(binary: &str, flag: &str, value: Option<&str>) -> Value {
    let mut flags: Vec<String> = hardened(binary)
        .into_iter()
        .filter(|f| f.split('=').next() != Some(flag))
        .collect();
    if let Some(v) = value {
        flags.push(format!("{flag}={v}"));
    }
    static_pod(binary, &flags)
}

/// One case per control-plane rule: the hardened flags pass, one bad flag fails.
fn control_plane_cases() -> Vec<Case> {
    let api = "kube-apiserver";
    let cm = "kube-controller-manager";
    let sched = "kube-scheduler";
    let etcd = "etcd";
    let good = |b: &str| vec![static_pod(b, &hardened(b))];
    let bad = |b: &str, flag: &str, v: Option<&str>| vec![changed(b, flag, v)];
    vec![
        case("KSPM-C-001", bad(api, "--anonymous-auth", None), good(api)),
        case(
            "KSPM-C-002",
            bad(api, "--token-auth-file", Some("/etc/tokens.csv")),
            good(api),
        ),
        case(
            "KSPM-C-003",
            bad(api, "--kubelet-client-key", None),
            good(api),
        ),
        case(
            "KSPM-C-004",
            bad(api, "--kubelet-certificate-authority", None),
            good(api),
        ),
        case(
            "KSPM-C-005",
            bad(api, "--authorization-mode", None),
            good(api),
        ),
        case(
            "KSPM-C-006",
            bad(api, "--authorization-mode", Some("RBAC")),
            good(api),
        ),
        case(
            "KSPM-C-007",
            bad(api, "--authorization-mode", Some("Node,ABAC")),
            good(api),
        ),
        case(
            "KSPM-C-008",
            bad(
                api,
                "--enable-admission-plugins",
                Some("NodeRestriction,AlwaysAdmit"),
            ),
            good(api),
        ),
        case(
            "KSPM-C-009",
            bad(api, "--disable-admission-plugins", Some("ServiceAccount")),
            good(api),
        ),
        case(
            "KSPM-C-010",
            bad(api, "--enable-admission-plugins", Some("PodSecurity")),
            good(api),
        ),
        case(
            "KSPM-C-011",
            bad(api, "--profiling", Some("true")),
            good(api),
        ),
        case("KSPM-C-012", bad(api, "--audit-log-path", None), good(api)),
        case(
            "KSPM-C-013",
            bad(api, "--audit-log-maxage", Some("7")),
            good(api),
        ),
        case(
            "KSPM-C-014",
            bad(api, "--service-account-lookup", Some("false")),
            good(api),
        ),
        case(
            "KSPM-C-015",
            bad(api, "--service-account-key-file", None),
            good(api),
        ),
        case("KSPM-C-016", bad(api, "--etcd-cafile", None), good(api)),
        case("KSPM-C-017", bad(api, "--client-ca-file", None), good(api)),
        case(
            "KSPM-C-018",
            bad(api, "--encryption-provider-config", None),
            good(api),
        ),
        case(
            "KSPM-C-019",
            bad(api, "--insecure-port", Some("8080")),
            vec![changed(api, "--insecure-port", Some("0"))],
        ),
        case("KSPM-C-020", bad(cm, "--profiling", None), good(cm)),
        case(
            "KSPM-C-021",
            bad(cm, "--use-service-account-credentials", None),
            good(cm),
        ),
        case("KSPM-C-022", bad(cm, "--root-ca-file", None), good(cm)),
        case(
            "KSPM-C-023",
            bad(
                cm,
                "--feature-gates",
                Some("RotateKubeletServerCertificate=false"),
            ),
            good(cm),
        ),
        case("KSPM-C-024", bad(cm, "--bind-address", None), good(cm)),
        case(
            "KSPM-C-025",
            bad(sched, "--profiling", Some("true")),
            good(sched),
        ),
        case(
            "KSPM-C-026",
            bad(sched, "--bind-address", Some("0.0.0.0")),
            good(sched),
        ),
        case("KSPM-C-027", bad(etcd, "--key-file", None), good(etcd)),
        case(
            "KSPM-C-028",
            bad(etcd, "--client-cert-auth", None),
            good(etcd),
        ),
        case(
            "KSPM-C-029",
            bad(etcd, "--auto-tls", Some("true")),
            good(etcd),
        ),
        case(
            "KSPM-C-030",
            bad(etcd, "--peer-client-cert-auth", Some("false")),
            good(etcd),
        ),
        case(
            "KSPM-C-031",
            bad(etcd, "--peer-auto-tls", Some("true")),
            good(etcd),
        ),
    ]
}

/// The kubeadm ClusterConfiguration stands in for missing static pods: kubeadm's own flags
/// pass what they should, `extraArgs` (map or v1beta4 list) override them; an external etcd is
/// not graded; a managed cluster's controls are not assessable.
#[test]
fn kubeadm_configuration_and_managed_control_planes() {
    let opts = ScanOptions::default();
    let kubeadm = |config: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
            "data": {"ClusterConfiguration": config}})
    };
    let count = |id: &str, objs: &[Value]| hits(id, objs, Provider::Generic, &opts).len();
    let plain = kubeadm("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n");
    // kubeadm sets Node,RBAC, NodeRestriction, TLS and etcd client certificates...
    for id in [
        "KSPM-C-005",
        "KSPM-C-006",
        "KSPM-C-007",
        "KSPM-C-010",
        "KSPM-C-016",
        "KSPM-C-017",
        "KSPM-C-021",
        "KSPM-C-024",
        "KSPM-C-028",
    ] {
        assert_eq!(count(id, std::slice::from_ref(&plain)), 0, "{id}");
    }
    // ... but not profiling=false, audit logging or encryption at rest.
    for id in [
        "KSPM-C-011",
        "KSPM-C-012",
        "KSPM-C-018",
        "KSPM-C-020",
        "KSPM-C-025",
    ] {
        assert_eq!(count(id, std::slice::from_ref(&plain)), 1, "{id}");
    }
    let v1beta3 = kubeadm("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n    authorization-mode: AlwaysAllow\n    profiling: \"false\"\n");
    assert_eq!(count("KSPM-C-005", std::slice::from_ref(&v1beta3)), 1);
    assert_eq!(count("KSPM-C-011", std::slice::from_ref(&v1beta3)), 0);
    let v1beta4 = kubeadm("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n  - name: enable-admission-plugins\n    value: PodSecurity\n");
    assert_eq!(count("KSPM-C-010", std::slice::from_ref(&v1beta4)), 1);
    let external = kubeadm("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  external:\n    endpoints: [https://etcd:2379]\n");
    assert_eq!(count("KSPM-C-028", std::slice::from_ref(&external)), 0);
    // A static pod wins over the configuration for its component.
    let pod = changed(
        "kube-apiserver",
        "--authorization-mode",
        Some("AlwaysAllow"),
    );
    assert_eq!(count("KSPM-C-005", &[pod, plain.clone()]), 1);
    // The binary decides, not the name: a pod named like the API server running something else
    // is not graded, a renamed one running kube-apiserver is.
    let mut imposter = static_pod("kube-apiserver", &[]);
    imposter["spec"]["containers"][0]["command"] = json!(["/bin/sh", "-c", "sleep 1d"]);
    assert_eq!(count("KSPM-C-005", &[imposter]), 0);
    let mut renamed = static_pod("/usr/local/bin/kube-apiserver", &[]);
    renamed["metadata"]["name"] = json!("api");
    renamed["metadata"]["labels"] = json!({});
    assert_eq!(count("KSPM-C-005", &[renamed]), 1);
    // Only kube-system's components are the control plane: an etcd elsewhere is a workload,
    // and does not hide the kubeadm configuration's etcd.
    let mut tenant_etcd = static_pod("etcd", &[]);
    tenant_etcd["metadata"]["namespace"] = json!("tenant");
    assert_eq!(count("KSPM-C-028", std::slice::from_ref(&tenant_etcd)), 0);
    let insecure_etcd = kubeadm("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  local:\n    extraArgs:\n      client-cert-auth: \"false\"\n");
    assert_eq!(count("KSPM-C-028", &[tenant_etcd, insecure_etcd]), 1);
    // Repeated list flags add up: AlwaysAllow cannot hide behind a later --authorization-mode.
    let mut flags = hardened("kube-apiserver");
    flags.push("--authorization-mode=AlwaysAllow".into());
    assert_eq!(
        count("KSPM-C-005", &[static_pod("kube-apiserver", &flags)]),
        1
    );
    // An external etcd: the API server's etcd client flags come from etcd.external.
    let no_tls = kubeadm("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  external:\n    endpoints: [http://etcd:2379]\n");
    assert_eq!(count("KSPM-C-016", std::slice::from_ref(&no_tls)), 1);
    let tls = kubeadm("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  external:\n    endpoints: [https://etcd:2379]\n    caFile: /pki/ca.crt\n    certFile: /pki/c.crt\n    keyFile: /pki/c.key\n");
    assert_eq!(count("KSPM-C-016", std::slice::from_ref(&tls)), 0);
    // Audit: a log path without a policy records nothing.
    assert_eq!(
        count(
            "KSPM-C-012",
            &[changed("kube-apiserver", "--audit-policy-file", None)]
        ),
        1
    );
    // Managed control planes: not assessable, with the reason.
    let out = parse_text(
        &docs(&[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})]),
        "x.yaml",
        Syntax::Yaml,
    );
    let mut cluster = ClusterSnapshot {
        objects: out.objects,
        ..Default::default()
    };
    cluster.info.provider = Provider::Eks;
    let inv = Inventory::new(&cluster);
    let rbac = Rbac::build_for(&cluster.objects, None, Provider::Eks);
    let ctx = Context {
        inv: &inv,
        rbac: &rbac,
        graph: None,
        options: &opts,
    };
    let why = by_id("KSPM-C-005")
        .expect("check")
        .needs
        .missing(&ctx)
        .expect("not assessable");
    assert!(why.contains("provider manages the control plane"), "{why}");
}

/// A running pod of namespace shop labelled `app: NAME`.
fn running(app: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("{app}-1"), "namespace": "shop", "labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": "x:1"}]}})
}

/// Moving an object to another namespace.
trait PipeNs {
    fn pipe_ns(self, ns: &str) -> Value;
}

impl PipeNs for Value {
    fn pipe_ns(mut self, ns: &str) -> Value {
        self["metadata"]["namespace"] = json!(ns);
        self
    }
}

/// `obj` renamed.
fn named(mut obj: Value, name: &str) -> Value {
    obj["metadata"]["name"] = json!(name);
    obj
}

/// `obj` with labels.
fn labelled(mut obj: Value, labels: Value) -> Value {
    obj["metadata"]["labels"] = labels;
    obj
}

/// Names and labels are the binding author's: a backdoor named or labelled like a platform
/// default is graded like any other binding, and the defaults themselves stay quiet.
#[test]
fn platform_names_and_labels_hide_no_binding() {
    let opts = ScanOptions::default();
    let sa = json!([{"kind": "ServiceAccount", "name": "sa", "namespace": "shop"}]);
    let admin = |subjects: &Value| {
        binding(
            "ClusterRoleBinding",
            "ClusterRole",
            "cluster-admin",
            subjects.clone(),
        )
    };
    let evasions = [
        named(admin(&sa), "system:backdoor"),
        named(admin(&sa), "eks:backdoor"),
        named(admin(&sa), "kubeadm:backdoor"),
        named(admin(&sa), "gke:backdoor"),
        labelled(
            admin(&sa),
            json!({"kubernetes.io/bootstrapping": "rbac-defaults"}),
        ),
        labelled(
            admin(&sa),
            json!({"addonmanager.kubernetes.io/mode": "Reconcile"}),
        ),
        labelled(
            admin(&sa),
            json!({"eks.amazonaws.com/component": "x", "kubernetes.io/cluster-service": "true"}),
        ),
        // The default's name with one more subject.
        named(
            admin(
                &json!([{"kind": "Group", "name": "system:masters"}, {"kind": "ServiceAccount", "name": "sa", "namespace": "shop"}]),
            ),
            "cluster-admin",
        ),
        // ServiceAccounts in user form are not control-plane components.
        named(
            admin(&json!([{"kind": "User", "name": "system:serviceaccount:shop:sa"}])),
            "system:x",
        ),
    ];
    for b in &evasions {
        let found = hits(
            "KSPM-R-001",
            std::slice::from_ref(b),
            Provider::Generic,
            &opts,
        );
        assert_eq!(found.len(), 1, "{b}: {found:?}");
    }
    // cluster-admin for everyone, labelled as a bootstrap default: still R-013.
    let everyone = labelled(
        named(
            admin(&json!([{"kind": "Group", "name": "system:unauthenticated"}])),
            "system:public-info-viewer",
        ),
        json!({"kubernetes.io/bootstrapping": "rbac-defaults"}),
    );
    assert_eq!(
        hits(
            "KSPM-R-013",
            std::slice::from_ref(&everyone),
            Provider::Generic,
            &opts
        )
        .len(),
        1
    );
    assert_eq!(
        hits("KSPM-R-024", &[everyone], Provider::Generic, &opts).len(),
        1
    );
    // system:nodes holding cluster-admin: any node's credentials are cluster-admin.
    let nodes = named(
        admin(&json!([{"kind": "Group", "name": "system:nodes"}])),
        "system:node-admin",
    );
    assert_eq!(
        hits("KSPM-R-001", &[nodes], Provider::Generic, &opts).len(),
        1
    );
    // A wildcard role is not hidden by a system: name when a user's binding uses it.
    let evil_role = named(
        role("ClusterRole", rule(&["*"], &["*"], &["*"])),
        "system:evil",
    );
    let uses = binding("ClusterRoleBinding", "ClusterRole", "system:evil", alice());
    assert_eq!(
        hits(
            "KSPM-R-002",
            &[evil_role.clone(), uses],
            Provider::Generic,
            &opts
        )
        .len(),
        1
    );
    // A namespaced Role with a reserved name is not made a user's by a ClusterRoleBinding whose
    // roleRef spells its reference (a ClusterRoleBinding cannot refer to a Role)...
    let reserved = named(role("Role", rule(&["*"], &["*"], &["*"])), "system:x");
    let spelled = binding("ClusterRoleBinding", "Role", "shop/system:x", alice());
    assert!(hits(
        "KSPM-R-002",
        &[reserved.clone(), spelled],
        Provider::Generic,
        &opts
    )
    .is_empty());
    // ... but is by a RoleBinding of its namespace that uses it.
    let local = binding("RoleBinding", "Role", "system:x", alice());
    assert_eq!(
        hits("KSPM-R-002", &[reserved, local], Provider::Generic, &opts).len(),
        1
    );
    // ... nor when it aggregates into another role.
    let aggregated = labelled(
        evil_role,
        json!({"rbac.authorization.k8s.io/aggregate-to-edit": "true"}),
    );
    assert_eq!(
        hits("KSPM-R-002", &[aggregated], Provider::Generic, &opts).len(),
        1
    );
    // A default's name and roleRef, the role rewritten with wildcards, for an identity every
    // node holds: reported by the binding checks, the wildcard check and as an impostor.
    let rewritten = named(
        role("ClusterRole", rule(&["*"], &["*"], &["*"])),
        "gce:beta:kubelet-certificate-rotation",
    );
    let default_named = named(
        binding(
            "ClusterRoleBinding",
            "ClusterRole",
            "gce:beta:kubelet-certificate-rotation",
            json!([{"kind": "Group", "name": "system:nodes"}]),
        ),
        "gce:beta:kubelet-certificate-rotation",
    );
    for id in ["KSPM-R-001", "KSPM-R-002", "KSPM-R-024"] {
        assert_eq!(
            hits(
                id,
                &[rewritten.clone(), default_named.clone()],
                Provider::Gke,
                &opts
            )
            .len(),
            1,
            "{id}"
        );
    }
    // A Role written without a namespace lands in `default`; its system: name hides nothing.
    let mut ops = named(role("Role", rule(&["*"], &["*"], &["*"])), "system:ops");
    ops["metadata"]
        .as_object_mut()
        .map(|m| m.remove("namespace"));
    let mut uses_ops = binding("RoleBinding", "Role", "system:ops", alice());
    uses_ops["metadata"]["namespace"] = json!("default");
    assert_eq!(
        hits("KSPM-R-002", &[ops, uses_ops], Provider::Generic, &opts).len(),
        1
    );
    // The real defaults stay quiet, whatever their labels.
    let defaults = [
        named(
            admin(&json!([{"kind": "Group", "name": "system:masters"}])),
            "cluster-admin",
        ),
        named(
            binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "system:controller:generic-garbage-collector",
                json!([{"kind": "ServiceAccount", "name": "generic-garbage-collector", "namespace": "kube-system"}]),
            ),
            "system:controller:generic-garbage-collector",
        ),
        named(
            binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "cluster-admin",
                json!([{"kind": "User", "name": "eks:addon-manager"}]),
            ),
            "eks:addon-cluster-admin",
        ),
        named(
            binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "eks:node-manager",
                json!([{"kind": "User", "name": "eks:node-manager"}]),
            ),
            "eks:node-manager",
        ),
        named(
            binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "system:public-info-viewer",
                json!([{"kind": "Group", "name": "system:authenticated"}, {"kind": "Group", "name": "system:unauthenticated"}]),
            ),
            "system:public-info-viewer",
        ),
    ];
    for id in [
        "KSPM-R-001",
        "KSPM-R-013",
        "KSPM-R-014",
        "KSPM-R-015",
        "KSPM-R-024",
    ] {
        let found = hits(id, &defaults, Provider::Generic, &opts);
        assert!(found.is_empty(), "{id}: {found:?}");
    }
    let gc_role = named(
        role(
            "ClusterRole",
            rule(
                &["get", "list", "watch", "patch", "update", "delete"],
                &["*"],
                &["*"],
            ),
        ),
        "system:controller:generic-garbage-collector",
    );
    assert!(hits(
        "KSPM-R-002",
        &[gc_role, defaults[1].clone()],
        Provider::Generic,
        &opts
    )
    .is_empty());
}

/// Calico and Cilium policies protect pods as NetworkPolicies do: they count for coverage, for
/// the pods they select, and as default denies; namespaces known only from their objects are
/// not skipped.
#[test]
fn every_policy_api_counts_and_every_namespace_is_seen() {
    let opts = ScanOptions::default();
    let web = deployment(json!({"app": "web"}));
    let other = deployment(json!({"app": "other"}));
    let shop = ns("shop", json!({}));
    let cilium = |spec: Value| json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "c", "namespace": "shop"}, "spec": spec});
    let calico = |spec: Value| json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "k", "namespace": "shop"}, "spec": spec});
    let global = |spec: Value| json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "g"}, "spec": spec});
    let clusterwide = |spec: Value| json!({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "cw"}, "spec": spec});
    let count = |id: &str, objs: &[Value]| hits(id, objs, Provider::Generic, &opts).len();
    // Selecting policies of each API: the namespace is covered, the selected pods isolated.
    for policy in [
        cilium(
            json!({"endpointSelector": {"matchLabels": {"k8s:app": "web"}}, "ingress": [{"fromEndpoints": [{}]}]}),
        ),
        calico(
            json!({"selector": "app == 'web'", "types": ["Ingress"], "ingress": [{"action": "Allow"}]}),
        ),
        calico(json!({"selector": "app in {'web', 'api'}", "ingress": [{"action": "Allow"}]})),
    ] {
        assert_eq!(
            count("KSPM-N-001", &[shop.clone(), web.clone(), policy.clone()]),
            0,
            "{policy}"
        );
        assert_eq!(
            count("KSPM-N-004", &[shop.clone(), web.clone(), policy.clone()]),
            0,
            "{policy}"
        );
        assert_eq!(
            count("KSPM-N-004", &[shop.clone(), other.clone(), policy.clone()]),
            1,
            "{policy}"
        );
    }
    // Default denies of each API, namespaced and cluster-wide.
    for policy in [
        cilium(json!({"endpointSelector": {}, "ingress": [{}], "egress": [{}]})),
        calico(json!({"selector": "all()", "types": ["Ingress", "Egress"]})),
        global(json!({"selector": "all()", "types": ["Ingress", "Egress"]})),
        clusterwide(json!({"endpointSelector": {}, "ingress": [{}], "egress": [{}]})),
    ] {
        for id in ["KSPM-N-001", "KSPM-N-002", "KSPM-N-003", "KSPM-N-004"] {
            assert_eq!(
                count(id, &[shop.clone(), web.clone(), policy.clone()]),
                0,
                "{id}: {policy}"
            );
        }
    }
    // Allowing everything is no default deny; a global policy for other namespaces covers nothing.
    let allow_all = cilium(json!({"endpointSelector": {}, "ingress": [{"fromEntities": ["all"]}]}));
    assert_eq!(
        count("KSPM-N-002", &[shop.clone(), web.clone(), allow_all]),
        1
    );
    let elsewhere = global(
        json!({"selector": "all()", "namespaceSelector": "projectcalico.org/name == 'prod'", "types": ["Ingress"]}),
    );
    assert_eq!(
        count(
            "KSPM-N-001",
            &[shop.clone(), web.clone(), elsewhere.clone()]
        ),
        1
    );
    let mut prod_web = deployment(json!({"app": "web"}));
    prod_web["metadata"]["namespace"] = json!("prod");
    assert_eq!(
        count("KSPM-N-001", &[ns("prod", json!({})), prod_web, elsewhere]),
        0
    );
    // A cluster-wide policy for kube-system's pods covers no other namespace; host-endpoint
    // Calico policies and unparsable namespace selectors cover nothing.
    let kube_system_only = clusterwide(
        json!({"endpointSelector": {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system"}}, "ingress": [{}]}),
    );
    assert_eq!(
        count("KSPM-N-001", &[shop.clone(), web.clone(), kube_system_only]),
        1
    );
    let pre_dnat = global(
        json!({"selector": "all()", "types": ["Ingress"], "preDNAT": true, "applyOnForward": true}),
    );
    assert_eq!(
        count("KSPM-N-001", &[shop.clone(), web.clone(), pre_dnat]),
        1
    );
    let broken_ns =
        global(json!({"selector": "all()", "namespaceSelector": "name ==", "types": ["Ingress"]}));
    assert_eq!(
        count("KSPM-N-001", &[shop.clone(), web.clone(), broken_ns]),
        1
    );
    // A manifest folder without Namespace objects: the workload is reported (N-004), not skipped.
    assert_eq!(count("KSPM-N-004", std::slice::from_ref(&web)), 1);
    assert_eq!(count("KSPM-N-004", &[shop.clone(), web.clone()]), 0);
    assert_eq!(count("KSPM-N-001", &[shop, web]), 1);
}

/// One rule decides whether a load balancer faces the internet, in the checks as in the graph;
/// S-008 counts every way to read Secrets; a directory holding a runtime socket is the socket.
#[test]
fn exposure_secrets_and_sockets_follow_the_semantics() {
    let opts = ScanOptions::default();
    let count = |id: &str, objs: &[Value], p: Provider| hits(id, objs, p, &opts).len();
    let lb = |annotations: Value| {
        service(
            json!({"type": "LoadBalancer", "ports": [{"port": 443}]}),
            annotations,
        )
    };
    // Not provisioned: internet-facing by default.
    assert_eq!(count("KSPM-N-007", &[lb(json!({}))], Provider::Generic), 1);
    // The AWS Load Balancer Controller's default is internal, unless told internet-facing.
    let lbc = json!({"service.beta.kubernetes.io/aws-load-balancer-type": "external"});
    assert_eq!(count("KSPM-N-007", &[lb(lbc.clone())], Provider::Eks), 0);
    let mut facing = lbc;
    facing["service.beta.kubernetes.io/aws-load-balancer-scheme"] = json!("internet-facing");
    assert_eq!(count("KSPM-N-007", &[lb(facing)], Provider::Eks), 1);
    // On GKE the AWS annotation means nothing.
    assert_eq!(
        count(
            "KSPM-N-007",
            &[lb(
                json!({"service.beta.kubernetes.io/aws-load-balancer-type": "external"})
            )],
            Provider::Gke
        ),
        1
    );
    // get or watch on Secrets is the same exposure as list.
    for verb in ["get", "list", "watch"] {
        let objs = vec![
            pod(json!({"serviceAccountName": "app", "containers": []})),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "shop"}, "rules": rule(&[verb], &[""], &["secrets"])}),
            binding(
                "RoleBinding",
                "Role",
                "r",
                json!([{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]),
            ),
        ];
        assert_eq!(count("KSPM-S-008", &objs, Provider::Generic), 1, "{verb}");
    }
    // A token is a token: automount off but a projected serviceAccountToken volume mounted
    // gives the container the ServiceAccount's permissions (the graph's token fact).
    let admin = binding(
        "ClusterRoleBinding",
        "ClusterRole",
        "cluster-admin",
        json!([{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]),
    );
    let projected = |mounted: bool| {
        let mounts = if mounted {
            json!([{"name": "tok", "mountPath": "/t"}])
        } else {
            json!([])
        };
        pod(
            json!({"serviceAccountName": "app", "automountServiceAccountToken": false,
            "volumes": [{"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}],
            "containers": [{"name": "c", "volumeMounts": mounts}]}),
        )
    };
    assert_eq!(
        count(
            "KSPM-S-008",
            &[projected(true), admin.clone()],
            Provider::Generic
        ),
        1
    );
    assert_eq!(
        count(
            "KSPM-S-008",
            &[projected(false), admin.clone()],
            Provider::Generic
        ),
        0,
        "a projected volume no container mounts"
    );
    // Every pod-making controller runs pods as any ServiceAccount: creating a StatefulSet or a
    // CronJob is creating pods (the same set the RBAC checks and the graph read); reading them
    // is not.
    for (verbs, group, resource, expected) in [
        (&["create"][..], "apps", "statefulsets", 1),
        (&["create"][..], "batch", "cronjobs", 1),
        (&["get", "list", "watch"][..], "apps", "statefulsets", 0),
    ] {
        let objs = vec![
            pod(json!({"serviceAccountName": "app", "containers": []})),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "shop"}, "rules": rule(verbs, &[group], &[resource])}),
            binding(
                "RoleBinding",
                "Role",
                "r",
                json!([{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]),
            ),
        ];
        assert_eq!(
            count("KSPM-S-008", &objs, Provider::Generic),
            expected,
            "{verbs:?} {resource}"
        );
    }
    // /var/run/docker holds Docker's containerd socket.
    let mount = |path: &str| {
        pod(json!({"containers": [], "volumes": [{"name": "v", "hostPath": {"path": path}}]}))
    };
    assert_eq!(
        count("KSPM-W-021", &[mount("/var/run/docker")], Provider::Generic),
        1
    );
    assert_eq!(
        count(
            "KSPM-W-021",
            &[mount("/var/run/docker/")],
            Provider::Generic
        ),
        1
    );
    assert_eq!(
        count("KSPM-W-021", &[mount("/var/log/docker")], Provider::Generic),
        0
    );
    // Bootstrap Roles exist in every cluster: a binding to one is not dangling.
    let reader = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "auth-reader", "namespace": "kube-system"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "extension-apiserver-authentication-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "metrics-server", "namespace": "kube-system"}]});
    assert_eq!(
        count(
            "KSPM-R-017",
            std::slice::from_ref(&reader),
            Provider::Generic
        ),
        0
    );
    let mut elsewhere = reader;
    elsewhere["metadata"]["namespace"] = json!("shop");
    assert_eq!(count("KSPM-R-017", &[elsewhere], Provider::Generic), 1);
}

/// A subject that holds a capability through several bindings is one finding that names every
/// binding; two subjects of one binding are two findings.
#[test]
fn one_finding_per_subject_and_capability() {
    let opts = ScanOptions::default();
    let sa = json!([{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]);
    let reader = role("ClusterRole", rule(&["list"], &[""], &["secrets"]));
    let objs = vec![
        reader.clone(),
        named(
            binding("ClusterRoleBinding", "ClusterRole", "r", sa.clone()),
            "b1",
        ),
        named(
            binding("ClusterRoleBinding", "ClusterRole", "r", sa.clone()),
            "b2",
        ),
        named(binding("ClusterRoleBinding", "ClusterRole", "r", sa), "b3"),
    ];
    let found = hits("KSPM-R-003", &objs, Provider::Generic, &opts);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("ClusterRoleBinding:b2") && found[0].contains("ClusterRoleBinding:b3"),
        "{found:?}"
    );
    let two = vec![
        reader,
        binding(
            "ClusterRoleBinding",
            "ClusterRole",
            "r",
            json!([{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"}]),
        ),
    ];
    assert_eq!(hits("KSPM-R-003", &two, Provider::Generic, &opts).len(), 2);
}

/// The Dashboard's stock bindings (its own Secrets and settings by name, read-only metrics) are
/// what it needs; a binding that gives it more is R-023.
#[test]
fn dashboard_stock_bindings_are_not_findings() {
    let opts = ScanOptions::default();
    let sa =
        json!([{"kind": "ServiceAccount", "name": "kubernetes-dashboard", "namespace": "shop"}]);
    let stock_role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "shop"}, "rules": [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["kubernetes-dashboard-key-holder", "kubernetes-dashboard-certs", "kubernetes-dashboard-csrf"], "verbs": ["get", "update", "delete"]},
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["kubernetes-dashboard-settings"], "verbs": ["get", "update"]},
        {"apiGroups": [""], "resources": ["services/proxy"], "resourceNames": ["heapster", "dashboard-metrics-scraper"], "verbs": ["get"]}]});
    let metrics = named(
        role(
            "ClusterRole",
            json!([{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]}]),
        ),
        "metrics",
    );
    let stock = vec![
        stock_role,
        binding("RoleBinding", "Role", "r", sa.clone()),
        metrics,
        named(
            binding("ClusterRoleBinding", "ClusterRole", "metrics", sa.clone()),
            "m",
        ),
    ];
    assert!(hits("KSPM-R-023", &stock, Provider::Generic, &opts).is_empty());
    let more = vec![
        role("ClusterRole", rule(&["list"], &[""], &["secrets"])),
        binding("ClusterRoleBinding", "ClusterRole", "r", sa),
    ];
    assert_eq!(hits("KSPM-R-023", &more, Provider::Generic, &opts).len(), 1);
}

/// Credentials passed as command-line flags are as exposed as literal env values; the value is
/// never quoted.
#[test]
fn credentials_in_args_are_found_and_redacted() {
    let opts = ScanOptions::default();
    for args in [
        json!(["--password=hunter2"]),
        json!(["--db-token", "abc123"]),
        json!(["-api-key=xyz"]),
        json!(["run", "ghp_0123456789abcdefghijklmnop"]),
        json!([
            "--key",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"
        ]),
    ] {
        let found = hits(
            "KSPM-S-005",
            &[ctr(json!({"args": args.clone()}))],
            Provider::Generic,
            &opts,
        );
        assert_eq!(found.len(), 1, "{args}: {found:?}");
        assert!(
            !found[0].contains("hunter2") && !found[0].contains("abc123"),
            "{found:?}"
        );
    }
    for args in [
        json!(["--password-file=/run/secrets/p"]),
        json!(["--token", "$(TOKEN)"]),
        json!(["--log-level=debug", "--verbose"]),
        json!(["--enable-token", "--port", "8080"]),
        json!(["--validating-webhook-key=/usr/local/certificates/key"]),
        json!(["--secret-field-selector=type!=kubernetes.io/dockercfg"]),
    ] {
        assert!(
            hits(
                "KSPM-S-005",
                &[ctr(json!({"args": args.clone()}))],
                Provider::Generic,
                &opts
            )
            .is_empty(),
            "{args}"
        );
    }
}

/// What check `id` reports on `objects`: each hit's object, message and evidence. Checks the
/// fleet's graph judges run through the whole evaluation, as users see them.
pub(crate) fn outcomes(
    id: &str,
    objects: &[Value],
    provider: Provider,
    options: &ScanOptions,
) -> Vec<(crate::object::Object, String, Vec<crate::finding::Evidence>)> {
    let out = parse_text(&docs(objects), "case.yaml", Syntax::Yaml);
    assert!(out.errors.is_empty(), "{id}: {:?}", out.errors);
    let mut cluster = ClusterSnapshot {
        objects: out.objects,
        ..Default::default()
    };
    cluster.info.provider = provider;
    let check = by_id(id).unwrap_or_else(|| panic!("no check {id}"));
    if check.judged_on_the_fleet_graph() {
        // Its hits are candidates until the fleet's graph judges them: the whole evaluation.
        cluster.info.name = "c".into();
        let snapshot = crate::snapshot::Snapshot {
            clusters: vec![cluster],
            ..Default::default()
        };
        let report = crate::report::evaluate_with(&snapshot, options);
        let objects = &snapshot.clusters[0].objects;
        return report
            .findings
            .into_iter()
            .filter(|f| f.check == id)
            .map(|f| {
                let o = objects
                    .iter()
                    .find(|o| o.node_ref() == f.resource)
                    .unwrap_or_else(|| panic!("{id}: no object {}", f.resource));
                (o.clone(), f.message, f.evidence)
            })
            .collect();
    }
    let inv = Inventory::new(&cluster);
    let rbac = Rbac::build_for(&cluster.objects, None, provider);
    let mut graph = crate::graph::AttackGraph::default();
    graph.build_cluster(&cluster, &inv, &rbac);
    let ctx = Context {
        inv: &inv,
        rbac: &rbac,
        graph: Some(&graph),
        options,
    };
    (check.run)(&ctx)
        .into_iter()
        .map(|h| (h.object.clone(), h.message, h.evidence))
        .collect()
}

/// What check `id` reports on `objects`, as `resource: message` lines.
pub(crate) fn hits(
    id: &str,
    objects: &[Value],
    provider: Provider,
    options: &ScanOptions,
) -> Vec<String> {
    outcomes(id, objects, provider, options)
        .into_iter()
        .map(|(o, message, _)| format!("{}: {message}", o.node_ref()))
        .collect()
}

/// Who may fetch an AKS cluster's admin kubeconfig is an answer about its subscription's role
/// assignments: without any of them read, KSPM-A-012 is not assessed — said in the errors and
/// in compliance — rather than passed. Negative: one assignment of the subscription read (a
/// harmless one) makes it assessed, and passed.
#[test]
fn admin_kubeconfig_holders_are_not_assessed_without_the_role_assignments() {
    let evaluate = |objects: Vec<Value>| {
        let out = parse_text(&docs(&objects), "case.yaml", Syntax::Yaml);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let mut cluster = ClusterSnapshot {
            objects: out.objects,
            ..Default::default()
        };
        cluster.info.provider = Provider::Aks;
        cluster.info.name = "c".into();
        crate::report::evaluate_with(
            &crate::snapshot::Snapshot {
                clusters: vec![cluster],
                ..Default::default()
            },
            &ScanOptions::default(),
        )
    };
    let no_entra = aks_cluster(json!({"aadProfile": null, "disableLocalAccounts": false}));
    let status = |r: &crate::report::Report| {
        r.compliance
            .iter()
            .find(|c| c.framework == "cis-aks")
            .and_then(|c| c.controls.iter().find(|x| x.id == "5.5.1"))
            .map(|x| (x.status, x.reason.clone().unwrap_or_default()))
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

#[test]
fn every_check_fails_its_bad_case_and_passes_its_good_case() {
    for c in cases() {
        let bad = hits(c.id, &c.bad, c.provider, &c.options);
        assert!(!bad.is_empty(), "{}: bad case produced no finding", c.id);
        let good = hits(c.id, &c.good, c.provider, &c.options);
        assert!(good.is_empty(), "{}: good case produced {good:?}", c.id);
    }
}

/// `kspm collect --redact` keeps every finding: each check judges its redacted cases as it
/// judges the originals.
#[test]
fn redacted_cases_give_the_same_findings() {
    let redacted = |objects: &[Value]| -> Vec<Value> {
        let mut objects = objects.to_vec();
        objects.iter_mut().for_each(crate::redact::redact_object);
        objects
    };
    for c in cases() {
        for objects in [&c.bad, &c.good] {
            assert_eq!(
                hits(c.id, &redacted(objects), c.provider, &c.options),
                hits(c.id, objects, c.provider, &c.options),
                "{}",
                c.id
            );
        }
    }
}

#[test]
fn every_check_has_a_case() {
    let covered: Vec<&str> = cases().iter().map(|c| c.id).collect();
    for check in catalogue() {
        assert!(
            covered.contains(&check.id),
            "{} has no test case in checks/cases.rs",
            check.id
        );
    }
}

/// KSPM-W-021/022 follow who the container runs as, the fact the graph's host escapes use: a
/// mount every mounting container definitely cannot use (non-root, no DAC capabilities, no group
/// 0 or supplemental groups, not privileged) is medium; anything else keeps the check's severity.
#[test]
fn host_mount_severity_follows_who_the_container_runs_as() {
    use crate::severity::Severity;
    let severity = |id: &str, path: &str, ctr_sc: Value, pod_sc: Value, mounted: bool| {
        let mounts = if mounted {
            json!([{"name": "host", "mountPath": "/host", "readOnly": true}])
        } else {
            json!([])
        };
        let p = pod(json!({"securityContext": pod_sc,
            "volumes": [{"name": "host", "hostPath": {"path": path}}],
            "containers": [{"name": "a", "image": "x:1", "securityContext": ctr_sc, "volumeMounts": mounts}]}));
        let out = parse_text(&docs(&[p]), "case.yaml", Syntax::Yaml);
        let mut cluster = ClusterSnapshot {
            objects: out.objects,
            ..Default::default()
        };
        cluster.info.name = "c".into();
        let report = crate::report::evaluate(&crate::snapshot::Snapshot {
            clusters: vec![cluster],
            ..Default::default()
        });
        let found: Vec<Severity> = report
            .findings
            .iter()
            .filter(|f| f.check == id)
            .map(|f| f.severity)
            .collect();
        assert_eq!(found.len(), 1, "{id} {path}");
        found[0]
    };
    let nobody = json!({"runAsUser": 65534, "runAsGroup": 65534, "runAsNonRoot": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
    // node-exporter: UID 65534, host / read-only.
    // (host / holds the runtime socket: KSPM-W-021, not W-022.)
    assert_eq!(
        severity("KSPM-W-021", "/", nobody.clone(), json!({}), true),
        Severity::Medium
    );
    assert_eq!(
        severity("KSPM-W-022", "/etc", nobody.clone(), json!({}), true),
        Severity::Medium
    );
    assert_eq!(
        severity(
            "KSPM-W-021",
            "/run/containerd/containerd.sock",
            nobody.clone(),
            json!({}),
            true
        ),
        Severity::Medium
    );
    // Root, or the image's user, or a way around file permissions: the check's severity.
    for (ctr, pod_sc) in [
        (json!({"runAsUser": 0}), json!({})),
        (json!({}), json!({})),
        (
            json!({"runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": false, "capabilities": {"add": ["DAC_READ_SEARCH"]}}),
            json!({}),
        ),
        (
            json!({"runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": false, "capabilities": {"add": ["cap_dac_override"]}}),
            json!({}),
        ),
        (
            json!({"runAsUser": 1000, "runAsGroup": 0, "allowPrivilegeEscalation": false}),
            json!({}),
        ),
        (
            json!({"runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": false}),
            json!({"supplementalGroups": [998]}),
        ),
        (
            json!({"runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": false}),
            json!({"fsGroup": 2000}),
        ),
        (
            json!({"runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": false, "privileged": true}),
            json!({}),
        ),
        (
            json!({"runAsNonRoot": true, "runAsUser": 0, "runAsGroup": 1000, "allowPrivilegeEscalation": false}),
            json!({}),
        ),
    ] {
        assert_eq!(
            severity(
                "KSPM-W-022",
                "/etc/kubernetes",
                ctr.clone(),
                pod_sc.clone(),
                true
            ),
            Severity::High,
            "{ctr} {pod_sc}"
        );
        assert_eq!(
            severity(
                "KSPM-W-021",
                "/var/run/docker.sock",
                ctr.clone(),
                pod_sc.clone(),
                true
            ),
            Severity::Critical,
            "{ctr} {pod_sc}"
        );
    }
    // The pod-level runAsUser and runAsGroup count like the container's.
    assert_eq!(
        severity(
            "KSPM-W-022",
            "/var/lib/kubelet",
            json!({"allowPrivilegeEscalation": false}),
            json!({"runAsUser": 65534, "runAsGroup": 65534}),
            true
        ),
        Severity::Medium
    );
    // Without allowPrivilegeEscalation: false (or drop ALL) a setuid binary gets root back;
    // FOWNER gets around permissions.
    for ctr in [
        json!({"runAsUser": 65534, "runAsGroup": 65534}),
        json!({"runAsUser": 65534, "runAsGroup": 65534, "allowPrivilegeEscalation": false, "capabilities": {"add": ["FOWNER"]}}),
    ] {
        assert_eq!(
            severity("KSPM-W-022", "/etc", ctr.clone(), json!({}), true),
            Severity::High,
            "{ctr}"
        );
    }
    // Declared but not mounted: an ephemeral container may mount it as anyone.
    assert_eq!(
        severity(
            "KSPM-W-021",
            "/var/run/docker.sock",
            nobody,
            json!({}),
            false
        ),
        Severity::Critical
    );
}

/// Destruction and evidence tampering: the delete rights on critical objects, each with where
/// it does and does not apply.
#[test]
fn delete_rights_on_critical_objects() {
    let opts = ScanOptions::default();
    let count = |id: &str, objs: &[Value]| hits(id, objs, Provider::Generic, &opts).len();
    assert_eq!(
        count(
            "KSPM-R-027",
            &granted(rule(&["delete"], &[""], &["persistentvolumes"]))
        ),
        1
    );
    assert_eq!(
        count(
            "KSPM-R-027",
            &granted(rule(&["deletecollection"], &[""], &["namespaces"]))
        ),
        1
    );
    assert_eq!(
        count(
            "KSPM-R-027",
            &granted(rule(
                &["get", "list", "watch"],
                &[""],
                &["namespaces", "persistentvolumes"]
            ))
        ),
        0
    );
    // Policy engines switched off: ValidatingAdmissionPolicy bindings count as webhooks do.
    assert_eq!(
        count(
            "KSPM-R-010",
            &granted(rule(
                &["delete"],
                &["admissionregistration.k8s.io"],
                &["validatingadmissionpolicybindings"]
            ))
        ),
        1
    );
    assert_eq!(
        count(
            "KSPM-R-010",
            &granted(rule(
                &["list"],
                &["admissionregistration.k8s.io"],
                &["validatingadmissionpolicybindings"]
            ))
        ),
        0
    );
    // A RoleBinding in kube-system gives the right there.
    let mut in_kube_system = binding("RoleBinding", "ClusterRole", "r", alice());
    in_kube_system["metadata"]["namespace"] = json!("kube-system");
    let role_ = role(
        "ClusterRole",
        rule(&["deletecollection"], &["apps"], &["deployments"]),
    );
    assert_eq!(count("KSPM-R-025", &[role_.clone(), in_kube_system]), 1);
    // ... and `*` on resources covers it.
    assert_eq!(
        count("KSPM-R-025", &granted(rule(&["delete"], &["apps"], &["*"]))),
        1
    );
    assert_eq!(
        count("KSPM-R-025", &granted(rule(&["delete"], &[""], &["pods"]))),
        0
    );
}

/// One fact, one check: a Service selecting nothing and an Ingress routing to a missing Service
/// are security findings (N-012, N-013) in namespaces read live and hygiene findings (M-003,
/// M-004) in manifests, never both.
#[test]
fn dangling_services_and_routes_are_reported_once() {
    let opts = ScanOptions::default();
    let count = |id: &str, objs: &[Value]| hits(id, objs, Provider::Generic, &opts).len();
    let svc = service(json!({"selector": {"app": "nothing"}}), json!({}));
    let route = ingress(
        json!({"rules": [{"http": {"paths": [{"backend": {"serviceName": "gone", "servicePort": 80}}]}}]}),
        json!({}),
    );
    let live = vec![running("web"), svc.clone(), route.clone()];
    let manifests = vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}}}),
        svc,
        route,
    ];
    for (objs, security) in [(&live, 1), (&manifests, 0)] {
        assert_eq!(count("KSPM-N-012", objs), security);
        assert_eq!(count("KSPM-M-003", objs), 1 - security);
        assert_eq!(count("KSPM-N-013", objs), security);
        assert_eq!(count("KSPM-M-004", objs), 1 - security);
    }
}

fn nginx_controller(version: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"},
        "spec": {"template": {"spec": {"containers": [{"name": "controller",
            "image": format!("registry.k8s.io/ingress-nginx/controller:{version}"),
            "args": ["/nginx-ingress-controller", "--configmap=$(POD_NAMESPACE)/ingress-nginx-controller"]}]}}}})
}

fn nginx_config(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"}, "data": data})
}

fn kube_proxy_config(conf: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
        "data": {"config.conf": format!("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n{conf}")}})
}

/// ingress-nginx's snippet settings by version, and kube-proxy's metrics address in the flag
/// and in the configuration.
#[test]
fn ingress_nginx_settings_and_kube_proxy_metrics() {
    let opts = ScanOptions::default();
    let count = |id: &str, objs: &[Value]| hits(id, objs, Provider::Generic, &opts).len();
    // Before 1.9 snippets are allowed by default; before 1.12 there is no risk level.
    assert_eq!(count("KSPM-N-014", &[nginx_controller("v1.8.4")]), 1);
    assert_eq!(count("KSPM-N-014", &[nginx_controller("v1.10.0")]), 0);
    assert_eq!(
        count(
            "KSPM-N-014",
            &[
                nginx_controller("v1.10.0"),
                nginx_config(json!({"allow-snippet-annotations": "true"}))
            ]
        ),
        1
    );
    assert_eq!(
        count(
            "KSPM-N-014",
            &[
                nginx_controller("v1.8.4"),
                nginx_config(json!({"allow-snippet-annotations": "false"}))
            ]
        ),
        0
    );
    // A ConfigMap of another name is not the controller's.
    let mut other = nginx_config(json!({"allow-snippet-annotations": "true"}));
    other["metadata"]["name"] = json!("something-else");
    assert_eq!(
        count("KSPM-N-014", &[nginx_controller("v1.10.0"), other]),
        0
    );
    // kube-proxy's flag.
    let ds = |flag: &str| {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
            "spec": {"template": {"spec": {"hostNetwork": true, "containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.31.0",
                "command": ["kube-proxy", "--config=/var/lib/kube-proxy/config.conf", flag]}]}}}})
    };
    assert_eq!(
        count("KSPM-N-015", &[ds("--metrics-bind-address=0.0.0.0:10249")]),
        1
    );
    assert_eq!(
        count("KSPM-N-015", &[ds("--metrics-bind-address=:10249")]),
        1
    );
    assert_eq!(
        count("KSPM-N-015", &[ds("--metrics-bind-address=[::]:10249")]),
        1
    );
    assert_eq!(
        count(
            "KSPM-N-015",
            &[ds("--metrics-bind-address=127.0.0.1:10249")]
        ),
        0
    );
    assert_eq!(
        count("KSPM-N-015", &[ds("--metrics-bind-address=[::1]:10249")]),
        0
    );
    assert_eq!(
        count(
            "KSPM-N-015",
            &[kube_proxy_config("metricsBindAddress: \"\"\n")]
        ),
        0
    );
    assert_eq!(
        count(
            "KSPM-N-015",
            &[kube_proxy_config("clusterCIDR: 10.0.0.0/8\n")]
        ),
        0
    );
}

fn admin_ui_deployment(image: &str, args: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ui", "namespace": "shop"},
        "spec": {"template": {"metadata": {"labels": {"app": "ui"}}, "spec": {"containers": [{"name": "ui", "image": image, "args": args}]}}}})
}

/// Admin UIs by the image they run, published by Service type or by a route of their namespace,
/// with the severity that way deserves.
#[test]
fn admin_interfaces_published_outside_the_cluster() {
    let opts = ScanOptions::default();
    let count = |objs: &[Value]| hits("KSPM-N-016", objs, Provider::Generic, &opts).len();
    let clusterip = service(
        json!({"selector": {"app": "ui"}, "ports": [{"port": 80}]}),
        json!({}),
    );
    let argocd = admin_ui_deployment("quay.io/argoproj/argocd:v2.13.0", json!(["argocd-server"]));
    let repo_server = admin_ui_deployment(
        "quay.io/argoproj/argocd:v2.13.0",
        json!(["argocd-repo-server"]),
    );
    let route = ingress(
        json!({"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "s", "port": {"number": 80}}}}]}}]}),
        json!({}),
    );
    assert_eq!(
        count(&[argocd.clone(), clusterip.clone(), route.clone()]),
        1
    );
    assert_eq!(
        count(&[repo_server, clusterip.clone(), route.clone()]),
        0,
        "Argo CD's image, not its UI"
    );
    let httproute = json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r", "namespace": "shop"},
        "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "s", "port": 80}]}]}});
    assert_eq!(count(&[argocd.clone(), clusterip.clone(), httproute]), 1);
    // Severity: an internet-facing LoadBalancer is high, a route medium.
    let lb = service(
        json!({"type": "LoadBalancer", "selector": {"app": "ui"}, "ports": [{"port": 80}]}),
        json!({}),
    );
    let severity = |objs: &[Value]| {
        let out = parse_text(&docs(objs), "case.yaml", Syntax::Yaml);
        let mut cluster = ClusterSnapshot {
            objects: out.objects,
            ..Default::default()
        };
        cluster.info.name = "c".into();
        let report = crate::report::evaluate(&crate::snapshot::Snapshot {
            clusters: vec![cluster],
            ..Default::default()
        });
        report
            .findings
            .iter()
            .find(|f| f.check == "KSPM-N-016")
            .map(|f| f.severity)
    };
    assert_eq!(
        severity(&[argocd.clone(), lb]),
        Some(crate::severity::Severity::High)
    );
    assert_eq!(
        severity(&[argocd, clusterip, route]),
        Some(crate::severity::Severity::Medium)
    );
    // Not an admin UI: nothing (Grafana's agent is not Grafana).
    for image in [
        "nginx:1.27",
        "grafana/grafana-agent:v0.43.0",
        "grafana/grafana-image-renderer:3.11.0",
    ] {
        let other = admin_ui_deployment(image, json!([]));
        let lb = service(
            json!({"type": "LoadBalancer", "selector": {"app": "ui"}, "ports": [{"port": 80}]}),
            json!({}),
        );
        assert_eq!(count(&[other, lb]), 0, "{image}");
    }
    assert_eq!(
        count(&[
            admin_ui_deployment("docker.io/grafana/grafana:11.3.0", json!([])),
            service(
                json!({"type": "NodePort", "selector": {"app": "ui"}, "ports": [{"port": 80}]}),
                json!({})
            ),
        ]),
        1
    );
    let web = admin_ui_deployment("nginx:1.27", json!([]));
    let lb = service(
        json!({"type": "LoadBalancer", "selector": {"app": "ui"}, "ports": [{"port": 80}]}),
        json!({}),
    );
    assert_eq!(count(&[web, lb]), 0);
}

/// KSPM-N-019: which namespaces are sensitive is the attack graph's answer for their
/// ServiceAccounts (any grant, whatever its name), and only a rule that restricts peers or ports
/// closes them.
#[test]
fn sensitive_namespaces_come_from_rbac_and_only_restrictions_close_them() {
    let opts = ScanOptions::default();
    let n019 = |objects: Vec<Value>| hits("KSPM-N-019", &objects, Provider::Generic, &opts);
    let server = || {
        let mut d = deployment(json!({"app": "server"})).pipe_ns("argocd");
        d["spec"]["template"]["spec"]["serviceAccountName"] = json!("argocd-server");
        d
    };
    let sa = json!([{"kind": "ServiceAccount", "name": "argocd-server", "namespace": "argocd"}]);
    let cluster_admin = named(
        binding(
            "ClusterRoleBinding",
            "ClusterRole",
            "cluster-admin",
            sa.clone(),
        ),
        "system:argocd",
    );
    // cluster-admin for its ServiceAccount, under a binding named like the platform's.
    let found = n019(vec![
        ns("argocd", json!({})),
        server(),
        cluster_admin.clone(),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("ServiceAccount:argocd/argocd-server reaches ClusterAdmin"),
        "{found:?}"
    );
    // Reading Secrets in every namespace.
    let secrets = vec![
        role("ClusterRole", rule(&["list"], &[""], &["secrets"])),
        binding("ClusterRoleBinding", "ClusterRole", "r", sa.clone()),
    ];
    let found = n019([vec![ns("argocd", json!({})), server()], secrets].concat());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("ServiceAccount:argocd/argocd-server reaches AllSecrets"),
        "{found:?}"
    );
    // Reading the Secrets of its own namespace only: not sensitive.
    let mut own = role("Role", rule(&["get", "list"], &[""], &["secrets"]));
    own["metadata"]["namespace"] = json!("argocd");
    let mut own_binding = binding("RoleBinding", "Role", "r", sa.clone());
    own_binding["metadata"]["namespace"] = json!("argocd");
    assert!(n019(vec![ns("argocd", json!({})), server(), own, own_binding]).is_empty());
    // An allow-all from every namespace keeps it open; a rule naming namespaces closes it.
    let every = np(
        "open",
        json!({}),
        json!({"ingress": [{"from": [{"namespaceSelector": {}}]}]}),
    )
    .pipe_ns("argocd");
    let found = n019(vec![
        ns("argocd", json!({})),
        server(),
        cluster_admin.clone(),
        every,
    ]);
    assert!(
        found.len() == 1 && found[0].contains("NetworkPolicy:argocd/open spec.ingress[0]"),
        "{found:?}"
    );
    let ingress_ns = np("from-ingress", json!({}), json!({"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]}]})).pipe_ns("argocd");
    assert!(n019(vec![
        ns("argocd", json!({})),
        server(),
        cluster_admin,
        ingress_ns
    ])
    .is_empty());
    // kube-system: host-network pods and pods a policy the evaluator does not read may select
    // (Antrea's) are not judged; Calico's policies and AdminNetworkPolicies are evaluated in
    // their order; without a Namespace object the finding goes on the workload.
    let dns = || deployment(json!({"k8s-app": "kube-dns"})).pipe_ns("kube-system");
    let mut host = dns();
    host["spec"]["template"]["spec"]["hostNetwork"] = json!(true);
    assert!(n019(vec![ns("kube-system", json!({})), host]).is_empty());
    let calico = json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "dns", "namespace": "kube-system"},
        "spec": {"selector": "k8s-app == 'kube-dns'", "types": ["Ingress"], "ingress": [{"action": "Allow", "protocol": "UDP", "destination": {"ports": [53]}}]}});
    assert!(n019(vec![ns("kube-system", json!({})), dns(), calico]).is_empty());
    let calico_open = json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "open"},
        "spec": {"selector": "all()", "types": ["Ingress"], "ingress": [{"action": "Allow", "source": {"namespaceSelector": "all()"}}]}});
    let found = n019(vec![ns("kube-system", json!({})), dns(), calico_open]);
    assert!(
        found.len() == 1
            && found[0].contains("every way through the policies in order admits every pod of every namespace on every port (GlobalNetworkPolicy:open spec.ingress[0])"),
        "{found:?}"
    );
    let anp = |action: &str| json!({"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": {"name": "a"}, "spec": {"priority": 1, "subject": {"namespaces": {}}, "ingress": [{"name": "r", "action": action, "from": [{"namespaces": {}}]}]}});
    assert!(n019(vec![ns("kube-system", json!({})), dns(), anp("Deny")]).is_empty());
    // Admitted by the admin tier before kube-system's default deny can drop it.
    let default_deny =
        np("deny", json!({}), json!({"policyTypes": ["Ingress"]})).pipe_ns("kube-system");
    let found = n019(vec![
        ns("kube-system", json!({})),
        dns(),
        anp("Allow"),
        default_deny,
    ]);
    assert!(
        found.len() == 1 && found[0].contains("(AdminNetworkPolicy:a spec.ingress[0])"),
        "{found:?}"
    );
    let antrea = json!({"apiVersion": "crd.antrea.io/v1beta1", "kind": "ClusterNetworkPolicy", "metadata": {"name": "acnp"},
        "spec": {"priority": 1, "appliedTo": [{"namespaceSelector": {}}], "ingress": [{"action": "Drop", "from": [{"namespaceSelector": {}}]}]}});
    assert!(n019(vec![ns("kube-system", json!({})), dns(), antrea]).is_empty());
    // An Antrea NetworkPolicy leaves its own namespace unjudged, not the others.
    let antrea_np = |namespace: &str| {
        json!({"apiVersion": "crd.antrea.io/v1beta1", "kind": "NetworkPolicy", "metadata": {"name": "anp", "namespace": namespace},
        "spec": {"priority": 1, "appliedTo": [{"podSelector": {}}], "ingress": [{"action": "Drop", "from": [{"namespaceSelector": {}}]}]}})
    };
    assert!(n019(vec![
        ns("kube-system", json!({})),
        dns(),
        antrea_np("kube-system")
    ])
    .is_empty());
    assert_eq!(
        n019(vec![ns("kube-system", json!({})), dns(), antrea_np("shop")]).len(),
        1
    );
    // An AdminNetworkPolicy for another namespace leaves kube-system to its Cilium default deny.
    let cilium_deny = json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "deny", "namespace": "kube-system"},
        "spec": {"endpointSelector": {}, "ingress": [{}]}});
    let shop_only = json!({"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": {"name": "shop"},
        "spec": {"priority": 1, "subject": {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}}, "ingress": [{"name": "r", "action": "Allow", "from": [{"namespaces": {}}]}]}});
    assert!(n019(vec![
        ns("kube-system", json!({})),
        dns(),
        cilium_deny,
        shop_only
    ])
    .is_empty());
    // Cilium's policies are evaluated: a default deny closes, the `cluster` entity on every
    // port opens, a deny rule may restrict.
    let cnp = |name: &str, spec: Value| json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": name, "namespace": "kube-system"}, "spec": spec});
    let deny = cnp("deny", json!({"endpointSelector": {}, "ingress": [{}]}));
    assert!(n019(vec![ns("kube-system", json!({})), dns(), deny]).is_empty());
    let cluster = cnp(
        "open",
        json!({"endpointSelector": {}, "ingress": [{"fromEntities": ["cluster"]}]}),
    );
    let found = n019(vec![ns("kube-system", json!({})), dns(), cluster.clone()]);
    assert!(
        found.len() == 1
            && found[0].contains("CiliumNetworkPolicy:kube-system/open spec.ingress[0]"),
        "{found:?}"
    );
    let some_deny = cnp(
        "no-ops",
        json!({"endpointSelector": {}, "ingressDeny": [{"fromEndpoints": [{"matchLabels": {"io.kubernetes.pod.namespace": "ops"}}]}]}),
    );
    assert!(n019(vec![
        ns("kube-system", json!({})),
        dns(),
        cluster,
        some_deny
    ])
    .is_empty());
    // A policy CRD with no object of its kind: the input may lack such policies.
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "globalnetworkpolicies.crd.projectcalico.org"},
        "spec": {"group": "crd.projectcalico.org", "names": {"kind": "GlobalNetworkPolicy"}}});
    assert!(n019(vec![ns("kube-system", json!({})), dns(), crd]).is_empty());
    // Cilium's CRDs beside Cilium policies: the input holds Cilium's kinds, read together.
    let ccnp_crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "ciliumclusterwidenetworkpolicies.cilium.io"},
        "spec": {"group": "cilium.io", "names": {"kind": "CiliumClusterwideNetworkPolicy"}}});
    let elsewhere = json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "x", "namespace": "shop"},
        "spec": {"endpointSelector": {}, "ingress": [{}]}});
    assert_eq!(
        n019(vec![
            ns("kube-system", json!({})),
            dns(),
            ccnp_crd.clone(),
            elsewhere
        ])
        .len(),
        1
    );
    assert!(n019(vec![ns("kube-system", json!({})), dns(), ccnp_crd]).is_empty());
    let found = n019(vec![dns()]);
    assert!(
        found.len() == 1 && found[0].starts_with("Deployment:kube-system/d"),
        "{found:?}"
    );
    // An AdminNetworkPolicy only takes the pods its subject selects out (and only with ingress
    // rules); one of another API group is nobody's.
    let anp_for = |subject: Value, ingress: Value| {
        json!({"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": {"name": "a"},
               "spec": {"priority": 1, "subject": subject, "ingress": ingress}})
    };
    let deny_all = json!([{"name": "deny", "action": "Deny", "from": [{"namespaces": {}}]}]);
    let other_ns = anp_for(
        json!({"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}}),
        deny_all.clone(),
    );
    assert_eq!(
        n019(vec![ns("kube-system", json!({})), dns(), other_ns]).len(),
        1
    );
    let egress_only = anp_for(json!({"namespaces": {}}), json!([]));
    assert_eq!(
        n019(vec![ns("kube-system", json!({})), dns(), egress_only]).len(),
        1
    );
    let by_pods = anp_for(
        json!({"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}}),
        deny_all.clone(),
    );
    assert!(n019(vec![ns("kube-system", json!({})), dns(), by_pods]).is_empty());
    let mut foreign = anp_for(json!({"namespaces": {}}), deny_all);
    foreign["apiVersion"] = json!("example.com/v1");
    assert_eq!(
        n019(vec![ns("kube-system", json!({})), dns(), foreign]).len(),
        1
    );
}

/// A case's objects, as the scan reads them.
pub(crate) fn objects_of(objects: &[Value]) -> Vec<crate::object::Object> {
    parse_text(&docs(objects), "case.yaml", Syntax::Yaml).objects
}

/// The objects each hit of a case's bad input is on, with its evidence.
pub(crate) fn evidence_of(c: &Case) -> Vec<(crate::object::Object, Vec<crate::finding::Evidence>)> {
    outcomes(c.id, &c.bad, c.provider, &c.options)
        .into_iter()
        .map(|(o, _, evidence)| (o, evidence))
        .collect()
}
