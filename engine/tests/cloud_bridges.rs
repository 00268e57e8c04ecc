//! Cross-layer scenarios for every AWS bridge technique, each with its negative cases: the
//! trust side (or the mapping, or the IAM policy) decides, never an annotation alone.

use kspm_engine::evaluate::fleet_graph;
use kspm_engine::graph::{AttackGraph, Technique};
use kspm_engine::object::Source;
use kspm_engine::parse::{parse_text, Syntax};
use kspm_engine::{evaluate, ClusterSnapshot, Object, Provider, ScanOptions, Snapshot};
use serde_json::{json, Value};

const ACCT: &str = "111122223333";
const OTHER: &str = "444455556666";

fn issuer(id: &str) -> String {
    format!("https://oidc.eks.us-east-1.amazonaws.com/id/{id}")
}

fn cloud(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "cloud.kspm.io/v1", "kind": kind, "metadata": {"name": name}, "spec": spec})
}

fn describe(name: &str, account: &str, oidc: &str, mode: &str) -> Value {
    cloud(
        "EksCluster",
        name,
        json!({"name": name, "arn": format!("arn:aws:eks:us-east-1:{account}:cluster/{name}"),
               "identity": {"oidc": {"issuer": issuer(oidc)}},
               "accessConfig": {"authenticationMode": mode}}),
    )
}

/// A web Deployment in `shop` running as ServiceAccount `api`, behind a public LoadBalancer.
fn web_app(sa_annotation: Option<&str>) -> Vec<Value> {
    let mut sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "shop"}});
    if let Some(a) = sa_annotation {
        sa["metadata"]["annotations"] = json!({"eks.amazonaws.com/role-arn": a});
    }
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "batch"}}),
        sa,
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "worker", "namespace": "batch"}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                 "spec": {"serviceAccountName": "api", "containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]},
               "status": {"loadBalancer": {"ingress": [{"hostname": "web.elb.amazonaws.com"}]}}}),
    ]
}

fn cluster(name: &str, objects: Vec<Value>) -> ClusterSnapshot {
    let text = objects
        .iter()
        .map(|o| serde_json::to_string(o).expect("json"))
        .collect::<Vec<_>>()
        .join("\n---\n");
    let out = parse_text(&text, &format!("{name}.yaml"), Syntax::Yaml);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let mut c = ClusterSnapshot {
        objects: out.objects,
        ..Default::default()
    };
    c.info.name = name.into();
    c.info.provider = Provider::Eks;
    c.info.kubernetes_version = Some("1.31".into());
    c
}

fn irsa_trust(oidc: &str, account: &str, op: &str, sub: &str) -> Value {
    let host = issuer(oidc).trim_start_matches("https://").to_string();
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{account}:oidc-provider/{host}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {op: {format!("{host}:sub"): sub, format!("{host}:aud"): "sts.amazonaws.com"}}}]})
}

fn admin_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
}

fn s3_read() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
}

fn role(account: &str, name: &str, trust: Value, policy: Value) -> Value {
    json!({"Arn": format!("arn:aws:iam::{account}:role/{name}"), "RoleName": name,
           "AssumeRolePolicyDocument": trust,
           "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": policy}]})
}

fn gaad(roles: Vec<Value>) -> Object {
    gaad_with_users(roles, vec![])
}

fn user(account: &str, name: &str, policy: Value) -> Value {
    json!({"Arn": format!("arn:aws:iam::{account}:user/{name}"), "UserName": name,
           "UserPolicyList": [{"PolicyName": "inline", "PolicyDocument": policy}], "GroupList": []})
}

fn gaad_with_users(roles: Vec<Value>, users: Vec<Value>) -> Object {
    let doc = json!({"RoleDetailList": roles, "UserDetailList": users, "GroupDetailList": [], "Policies": []});
    kspm_engine::cloud::documents::objects_from_document(
        doc,
        &Source {
            file: "cloud/aws/gaad.json".into(),
            line: Some(1),
        },
        0,
    )
    .expect("gaad")
    .remove(0)
}

fn fleet(clusters: Vec<ClusterSnapshot>, cloud: Vec<Object>) -> Snapshot {
    Snapshot {
        clusters,
        errors: vec![],
        cloud,
    }
}

fn graph(s: &Snapshot) -> (AttackGraph, Vec<String>) {
    let (g, errors) = fleet_graph(s, &ScanOptions::default());
    (g, errors.into_iter().map(|e| e.message).collect())
}

fn node(g: &AttackGraph, reference: &str) -> Option<kspm_engine::graph::NodeIndex> {
    // `cluster|Reference` for cluster nodes, bare references for cloud ones.
    match reference.split_once('|') {
        Some((c, r)) => g.find(Some(c), r),
        None => g.find(None, reference),
    }
}

fn has(g: &AttackGraph, from: &str, to: &str, t: Technique) -> bool {
    let (Some(a), Some(b)) = (node(g, from), node(g, to)) else {
        return false;
    };
    g.graph
        .edges_connecting(a, b)
        .any(|e| e.weight().technique == t)
}

/// The changes that remove the edge `t` between two nodes (none when it has none).
fn fixes_of(
    g: &AttackGraph,
    from: &str,
    to: &str,
    t: Technique,
) -> Vec<kspm_engine::graph::remedy::Remedy> {
    let (Some(a), Some(b)) = (node(g, from), node(g, to)) else {
        return Vec::new();
    };
    g.graph
        .edges_connecting(a, b)
        .filter(|e| e.weight().technique == t)
        .flat_map(|e| e.weight().remedies.clone().unwrap_or_default())
        .map(|i| g.remedies()[i as usize].clone())
        .collect()
}

fn role_ref(account: &str, name: &str) -> String {
    format!("AwsRole:arn:aws:iam::{account}:role/{name}")
}

#[test]
fn irsa_trust_decides_not_the_annotation() {
    let app_role = format!("arn:aws:iam::{ACCT}:role/app");
    let roles = vec![
        role(
            ACCT,
            "app",
            irsa_trust("A", ACCT, "StringEquals", "system:serviceaccount:shop:api"),
            admin_policy(),
        ),
        // Trusts another ServiceAccount: the annotation pointing at it gives nothing.
        role(
            ACCT,
            "other",
            irsa_trust(
                "A",
                ACCT,
                "StringEquals",
                "system:serviceaccount:batch:worker",
            ),
            s3_read(),
        ),
        // Trusts any ServiceAccount of namespace shop.
        role(
            ACCT,
            "shop-any",
            irsa_trust("A", ACCT, "StringLike", "system:serviceaccount:shop:*"),
            s3_read(),
        ),
        // Trusts another cluster's issuer.
        role(
            ACCT,
            "foreign",
            irsa_trust("B", ACCT, "StringEquals", "system:serviceaccount:shop:api"),
            s3_read(),
        ),
    ];
    let mut objects = web_app(Some(&app_role));
    objects.push(describe("prod", ACCT, "A", "API"));
    let s = fleet(vec![cluster("prod", objects)], vec![gaad(roles)]);
    let (g, _) = graph(&s);
    assert!(has(
        &g,
        "prod|ServiceAccount:shop/api",
        &role_ref(ACCT, "app"),
        Technique::IRSA_ASSUME
    ));
    assert!(
        has(
            &g,
            "prod|ServiceAccount:batch/worker",
            &role_ref(ACCT, "other"),
            Technique::IRSA_ASSUME
        ),
        "no annotation needed: the trust names the ServiceAccount"
    );
    assert!(!has(
        &g,
        "prod|ServiceAccount:shop/api",
        &role_ref(ACCT, "other"),
        Technique::IRSA_ASSUME
    ));
    assert!(has(
        &g,
        "prod|ServiceAccount:shop/api",
        &role_ref(ACCT, "shop-any"),
        Technique::IRSA_ASSUME
    ));
    assert!(!has(
        &g,
        "prod|ServiceAccount:batch/worker",
        &role_ref(ACCT, "shop-any"),
        Technique::IRSA_ASSUME
    ));
    assert!(!has(
        &g,
        "prod|ServiceAccount:shop/api",
        &role_ref(ACCT, "foreign"),
        Technique::IRSA_ASSUME
    ));
    assert!(has(
        &g,
        &role_ref(ACCT, "app"),
        &format!("CloudAdmin:aws:{ACCT}"),
        Technique::CLOUD_ROLE_TO_ADMIN
    ));
    assert!(!has(
        &g,
        &role_ref(ACCT, "other"),
        &format!("CloudAdmin:aws:{ACCT}"),
        Technique::CLOUD_ROLE_TO_ADMIN
    ));

    // The mission's chain, as one reported path: internet → LB → pod → SA → role → account admin.
    let report = evaluate(&s);
    let p = report
        .attack_paths
        .iter()
        .find(|p| p.source == "Internet" && p.target == format!("CloudAdmin:aws:{ACCT}"))
        .expect("internet → cloud admin path");
    let techniques: Vec<&str> = p.steps.iter().map(|s| s.technique.as_str()).collect();
    assert!(techniques.contains(&"INTERNET_TO_LB"), "{techniques:?}");
    assert!(techniques.contains(&"IRSA_ASSUME"), "{techniques:?}");
    assert_eq!(techniques.last(), Some(&"CLOUD_ROLE_TO_ADMIN"));
    assert_eq!(p.cluster, "prod");
}

#[test]
fn irsa_annotation_without_trust_is_reported_not_linked() {
    let mut objects = web_app(Some(&format!("arn:aws:iam::{ACCT}:role/other")));
    objects.push(describe("prod", ACCT, "A", "API"));
    let roles = vec![role(
        ACCT,
        "other",
        irsa_trust(
            "A",
            ACCT,
            "StringEquals",
            "system:serviceaccount:batch:worker",
        ),
        s3_read(),
    )];
    let (g, notes) = graph(&fleet(vec![cluster("prod", objects)], vec![gaad(roles)]));
    assert!(!has(
        &g,
        "prod|ServiceAccount:shop/api",
        &role_ref(ACCT, "other"),
        Technique::IRSA_ASSUME
    ));
    assert!(
        notes
            .iter()
            .any(|n| n.contains("shop/api") && n.contains("no IRSA edge")),
        "{notes:?}"
    );

    // A role in an account whose IAM was not scanned: unverified, reported.
    let mut objects = web_app(Some(&format!("arn:aws:iam::{OTHER}:role/x")));
    objects.push(describe("prod", ACCT, "A", "API"));
    let roles = vec![role(
        ACCT,
        "other",
        irsa_trust(
            "A",
            ACCT,
            "StringEquals",
            "system:serviceaccount:batch:worker",
        ),
        s3_read(),
    )];
    let (_, notes) = graph(&fleet(vec![cluster("prod", objects)], vec![gaad(roles)]));
    assert!(
        notes.iter().any(|n| n.contains("was not scanned")),
        "{notes:?}"
    );
}

#[test]
fn irsa_without_sub_condition_reaches_every_service_account() {
    let host = issuer("A").trim_start_matches("https://").to_string();
    let trust = json!({"Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCT}:oidc-provider/{host}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{host}:aud"): "sts.amazonaws.com"}}}]});
    let mut objects = web_app(None);
    objects.push(describe("prod", ACCT, "A", "API"));
    let (g, _) = graph(&fleet(
        vec![cluster("prod", objects)],
        vec![gaad(vec![role(ACCT, "open", trust, s3_read())])],
    ));
    assert!(has(
        &g,
        "prod|ServiceAccount:shop/api",
        &role_ref(ACCT, "open"),
        Technique::IRSA_ASSUME
    ));
    assert!(has(
        &g,
        "prod|ServiceAccount:batch/worker",
        &role_ref(ACCT, "open"),
        Technique::IRSA_ASSUME
    ));
}

#[test]
fn pod_identity_needs_the_association_and_the_trust() {
    let pods_trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"]}]});
    let no_tag = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": "sts:AssumeRole"}]});
    let mut objects = web_app(None);
    objects.push(describe("prod", ACCT, "A", "API"));
    objects.push(cloud(
        "EksPodIdentityAssociation",
        "a-1",
        json!({"associationId": "a-1", "namespace": "shop",
        "serviceAccount": "api", "roleArn": format!("arn:aws:iam::{ACCT}:role/pi"),
        "targetRoleArn": format!("arn:aws:iam::{OTHER}:role/target")}),
    ));
    objects.push(cloud(
        "EksPodIdentityAssociation",
        "a-2",
        json!({"associationId": "a-2", "namespace": "batch",
        "serviceAccount": "worker", "roleArn": format!("arn:aws:iam::{ACCT}:role/broken")}),
    ));
    let roles = vec![
        role(ACCT, "pi", pods_trust, s3_read()),
        role(ACCT, "broken", no_tag, admin_policy()),
    ];
    let (g, notes) = graph(&fleet(vec![cluster("prod", objects)], vec![gaad(roles)]));
    assert!(has(
        &g,
        "prod|ServiceAccount:shop/api",
        &role_ref(ACCT, "pi"),
        Technique::EKS_POD_IDENTITY
    ));
    assert!(has(
        &g,
        &role_ref(ACCT, "pi"),
        &role_ref(OTHER, "target"),
        Technique::EKS_POD_IDENTITY
    ));
    assert!(!has(
        &g,
        "prod|ServiceAccount:batch/worker",
        &role_ref(ACCT, "broken"),
        Technique::EKS_POD_IDENTITY
    ));
    assert!(
        notes
            .iter()
            .any(|n| n.contains("a-2") && n.contains("broken")),
        "{notes:?}"
    );
}

fn aws_auth(map_roles: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "aws-auth", "namespace": "kube-system"},
           "data": {"mapRoles": map_roles}})
}

#[test]
fn aws_auth_and_access_entries_follow_the_authentication_mode() {
    let ops = format!("arn:aws:iam::{ACCT}:role/ops");
    let masters = aws_auth(&format!(
        "- rolearn: {ops}\n  username: ops\n  groups: [system:masters]\n"
    ));
    for (mode, expect) in [
        ("CONFIG_MAP", true),
        ("API_AND_CONFIG_MAP", true),
        ("API", false),
    ] {
        let objects = vec![describe("prod", ACCT, "A", mode), masters.clone()];
        let (g, _) = graph(&fleet(vec![cluster("prod", objects)], vec![]));
        assert_eq!(
            has(
                &g,
                &role_ref(ACCT, "ops"),
                "prod|Group:system:masters",
                Technique::AWS_AUTH_MAP
            ),
            expect,
            "{mode}"
        );
    }
    // An access entry overrides aws-auth for the same principal in API_AND_CONFIG_MAP.
    let entry = cloud(
        "EksAccessEntry",
        &ops,
        json!({"principalArn": ops, "type": "STANDARD", "kubernetesGroups": ["viewers"]}),
    );
    let viewers = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "viewers"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "Group", "name": "viewers", "apiGroup": "rbac.authorization.k8s.io"}]});
    let objects = vec![
        describe("prod", ACCT, "A", "API_AND_CONFIG_MAP"),
        masters.clone(),
        entry.clone(),
        viewers.clone(),
    ];
    let (g, _) = graph(&fleet(vec![cluster("prod", objects)], vec![]));
    assert!(!has(
        &g,
        &role_ref(ACCT, "ops"),
        "prod|Group:system:masters",
        Technique::AWS_AUTH_MAP
    ));
    assert!(has(
        &g,
        &role_ref(ACCT, "ops"),
        "prod|Group:viewers",
        Technique::EKS_ACCESS_ENTRY
    ));
    // ... and is ignored in CONFIG_MAP mode.
    let objects = vec![describe("prod", ACCT, "A", "CONFIG_MAP"), entry, viewers];
    let (g, _) = graph(&fleet(vec![cluster("prod", objects)], vec![]));
    assert!(!has(
        &g,
        &role_ref(ACCT, "ops"),
        "prod|Group:viewers",
        Technique::EKS_ACCESS_ENTRY
    ));
}

#[test]
fn an_aws_auth_mapping_is_removed_by_rewriting_its_list() {
    let ops = format!("arn:aws:iam::{ACCT}:role/ops");
    let node_role = format!("arn:aws:iam::{ACCT}:role/node");
    let text = format!(
        "- rolearn: {node_role}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n  groups: [system:nodes]\n- rolearn: {ops}\n  username: ops\n  groups: [system:masters]\n"
    );
    let objects = vec![describe("prod", ACCT, "A", "CONFIG_MAP"), aws_auth(&text)];
    let mut snapshot = fleet(vec![cluster("prod", objects)], vec![]);
    let (g, _) = graph(&snapshot);
    let fix = fixes_of(
        &g,
        &role_ref(ACCT, "ops"),
        "prod|Group:system:masters",
        Technique::AWS_AUTH_MAP,
    );
    assert_eq!(fix.len(), 1, "{fix:?}");
    assert_eq!(fix[0].target.reference(), "ConfigMap:kube-system/aws-auth");
    // Applied, the ops entry is gone, the node role's stays, and so does nothing else.
    let cm = snapshot.clusters[0]
        .objects
        .iter_mut()
        .find(|o| o.kind == "ConfigMap")
        .expect("aws-auth");
    kspm_engine::graph::remedy::apply_patch(&mut cm.body, &fix[0].ops).expect("applies");
    let (g, _) = graph(&snapshot);
    assert!(!has(
        &g,
        &role_ref(ACCT, "ops"),
        "prod|Group:system:masters",
        Technique::AWS_AUTH_MAP
    ));
    assert!(has(
        &g,
        &role_ref(ACCT, "node"),
        "prod|Group:system:nodes",
        Technique::AWS_AUTH_MAP
    ));
    // With mapAccounts naming its account the principal would still be mapped: no fix there.
    let mut accounts = aws_auth(&text);
    accounts["data"]["mapAccounts"] = json!(format!("- \"{ACCT}\"\n"));
    let objects = vec![describe("prod", ACCT, "A", "CONFIG_MAP"), accounts];
    let (g, _) = graph(&fleet(vec![cluster("prod", objects)], vec![]));
    assert!(has(
        &g,
        &role_ref(ACCT, "ops"),
        "prod|Group:system:masters",
        Technique::AWS_AUTH_MAP
    ));
    assert!(fixes_of(
        &g,
        &role_ref(ACCT, "ops"),
        "prod|Group:system:masters",
        Technique::AWS_AUTH_MAP
    )
    .is_empty());
}

#[test]
fn irsa_is_fixed_by_the_trust_policy_whatever_its_encoding() {
    // The same trust as JSON and URL-encoded (as get-account-authorization-details writes it),
    // with a second statement for EC2 that the fix keeps.
    let mut trust = irsa_trust("A", ACCT, "StringEquals", "system:serviceaccount:shop:api");
    let ec2 = json!({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"});
    trust["Statement"]
        .as_array_mut()
        .expect("statements")
        .push(ec2.clone());
    let encoded: String = trust
        .to_string()
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    for doc in [trust.clone(), Value::String(encoded)] {
        let snapshot = fleet(
            vec![cluster("prod", {
                let mut o = web_app(None);
                o.push(describe("prod", ACCT, "A", "API"));
                o
            })],
            vec![gaad(vec![role(ACCT, "app", doc, s3_read())])],
        );
        let (g, _) = graph(&snapshot);
        let fix = fixes_of(
            &g,
            "prod|ServiceAccount:shop/api",
            &role_ref(ACCT, "app"),
            Technique::IRSA_ASSUME,
        );
        assert_eq!(fix.len(), 1, "{fix:?}");
        let cli = fix[0].cli.clone().unwrap_or_default();
        assert!(
            cli.starts_with("aws iam update-assume-role-policy --role-name app "),
            "{cli}"
        );
        // Applied: the EC2 statement stays, the role is no longer reachable from the cluster.
        let mut after = snapshot.clone();
        kspm_engine::graph::remedy::apply_patch(&mut after.cloud[0].body, &fix[0].ops)
            .expect("applies");
        let new = &after.cloud[0].body["spec"]["RoleDetailList"][0]["AssumeRolePolicyDocument"];
        assert_eq!(new["Statement"], json!([ec2]));
        let (g, _) = graph(&after);
        assert!(!has(
            &g,
            "prod|ServiceAccount:shop/api",
            &role_ref(ACCT, "app"),
            Technique::IRSA_ASSUME
        ));
    }
}

#[test]
fn username_templates_match_bound_users() {
    let ops = format!("arn:aws:iam::{ACCT}:role/ops");
    let cm = aws_auth(&format!(
        "- rolearn: {ops}\n  username: admin-{{{{SessionName}}}}\n  groups: []\n"
    ));
    let bind = |user: &str| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": user},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}]})
    };
    let objects = vec![
        describe("prod", ACCT, "A", "CONFIG_MAP"),
        cm,
        bind("admin-bob"),
        bind("ops-bob"),
    ];
    let (g, _) = graph(&fleet(vec![cluster("prod", objects)], vec![]));
    // The caller picks the session name: it can be `bob`.
    assert!(has(
        &g,
        &role_ref(ACCT, "ops"),
        "prod|User:admin-bob",
        Technique::AWS_AUTH_MAP
    ));
    assert!(!has(
        &g,
        &role_ref(ACCT, "ops"),
        "prod|User:ops-bob",
        Technique::AWS_AUTH_MAP
    ));
}

#[test]
fn access_policies_grant_at_their_scope() {
    let dev = format!("arn:aws:iam::{ACCT}:role/dev");
    let admin = format!("arn:aws:iam::{ACCT}:role/admin");
    let policies = |arn: &str, policy: &str, scope: Value| {
        cloud(
            "EksAssociatedAccessPolicies",
            arn,
            json!({"principalArn": arn,
        "associatedAccessPolicies": [{"policyArn": format!("arn:aws:eks::aws:cluster-access-policy/{policy}"), "accessScope": scope}]}),
        )
    };
    let mut objects = web_app(None);
    objects.extend([
        describe("prod", ACCT, "A", "API"),
        cloud(
            "EksAccessEntry",
            &dev,
            json!({"principalArn": dev, "type": "STANDARD"}),
        ),
        policies(
            &dev,
            "AmazonEKSEditPolicy",
            json!({"type": "namespace", "namespaces": ["shop"]}),
        ),
        cloud(
            "EksAccessEntry",
            &admin,
            json!({"principalArn": admin, "type": "STANDARD"}),
        ),
        policies(
            &admin,
            "AmazonEKSClusterAdminPolicy",
            json!({"type": "cluster"}),
        ),
    ]);
    let (g, _) = graph(&fleet(vec![cluster("prod", objects)], vec![]));
    assert!(has(
        &g,
        &role_ref(ACCT, "admin"),
        "prod|ClusterAdmin",
        Technique::EKS_ACCESS_POLICY
    ));
    let group = format!("prod|Group:eks:access-entry:{dev}");
    assert!(has(
        &g,
        &role_ref(ACCT, "dev"),
        &group,
        Technique::EKS_ACCESS_POLICY
    ));
    assert!(!has(
        &g,
        &role_ref(ACCT, "dev"),
        "prod|ClusterAdmin",
        Technique::EKS_ACCESS_POLICY
    ));
    // Edit in shop: exec into shop's pods and impersonate its ServiceAccounts, not batch's.
    assert!(
        has(
            &g,
            &group,
            "prod|ServiceAccount:shop/api",
            Technique::IMPERSONATE
        ) || has(
            &g,
            &group,
            "prod|ServiceAccounts:shop",
            Technique::IMPERSONATE
        ),
        "edit policy in shop"
    );
    assert!(!has(
        &g,
        &group,
        "prod|ServiceAccount:batch/worker",
        Technique::IMPERSONATE
    ));
    assert!(!has(
        &g,
        &group,
        "prod|ServiceAccounts:batch",
        Technique::IMPERSONATE
    ));
    // The fix of an access policy is its disassociation (an AWS call), never a patch to the
    // binding kspm made to stand for it.
    let fixes = |from: &str, to: &str, t: Technique| -> Vec<String> {
        fixes_of(&g, from, to, t)
            .into_iter()
            .map(|r| r.cli.unwrap_or_default())
            .collect()
    };
    assert_eq!(
        fixes(&role_ref(ACCT, "admin"), "prod|ClusterAdmin", Technique::EKS_ACCESS_POLICY),
        vec![format!("aws eks disassociate-access-policy --cluster-name prod --principal-arn {admin} --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")]
    );
    let edit = ["prod|ServiceAccounts:shop", "prod|ServiceAccount:shop/api"]
        .iter()
        .flat_map(|t| fixes(&group, t, Technique::IMPERSONATE))
        .collect::<Vec<_>>();
    assert!(
        !edit.is_empty()
            && edit
                .iter()
                .all(|c| c.contains("disassociate-access-policy")
                    && c.contains("AmazonEKSEditPolicy")),
        "{edit:?}"
    );
    assert!(g
        .remedies()
        .iter()
        .all(|r| !r.target.name.starts_with("eks:access-entry:")));
}

/// Two clusters joined by one IAM role: an internet-exposed workload of `edge` may assume it
/// through IRSA, and `core`'s access entry makes it cluster-admin. Returns the role's ARN.
fn shared_role_fleet() -> (String, Snapshot) {
    let shared = format!("arn:aws:iam::{ACCT}:role/shared");
    let mut a = web_app(Some(&shared));
    a.push(describe("edge", ACCT, "A", "API"));
    let b = vec![
        describe("core", ACCT, "B", "API"),
        cloud(
            "EksAccessEntry",
            &shared,
            json!({"principalArn": shared, "type": "STANDARD"}),
        ),
        cloud(
            "EksAssociatedAccessPolicies",
            &shared,
            json!({"principalArn": shared, "associatedAccessPolicies": [
            {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", "accessScope": {"type": "cluster"}}]}),
        ),
    ];
    let roles = vec![role(
        ACCT,
        "shared",
        irsa_trust("A", ACCT, "StringEquals", "system:serviceaccount:shop:api"),
        s3_read(),
    )];
    let s = fleet(
        vec![cluster("edge", a), cluster("core", b)],
        vec![gaad(roles)],
    );
    (shared, s)
}

#[test]
fn a_pod_in_one_cluster_reaches_admin_of_another_through_a_shared_role() {
    let (shared, s) = shared_role_fleet();
    let report = evaluate(&s);
    let p = report
        .attack_paths
        .iter()
        .find(|p| p.cluster == "core" && p.target == "ClusterAdmin" && p.source == "Internet")
        .expect("one path from edge's internet exposure to core's cluster-admin");
    assert!(
        p.nodes
            .iter()
            .any(|n| n == "[edge] ServiceAccount:shop/api"),
        "{:?}",
        p.nodes
    );
    assert!(p.nodes.contains(&format!("AwsRole:{shared}")));
    let techniques: Vec<&str> = p.steps.iter().map(|s| s.technique.as_str()).collect();
    assert!(
        techniques.ends_with(&["IRSA_ASSUME", "EKS_ACCESS_POLICY"]),
        "{techniques:?}"
    );
}

/// The query module answers from the same fleet graph: every path the report lists across two
/// clusters joined by a shared IRSA role — including the one that crosses clusters — comes back
/// as the same object when asked with its source, sink and cluster.
#[test]
fn queries_reproduce_every_reported_path_across_clusters() {
    use kspm_engine::graph::query::{PathQuery, Query};
    let (shared, s) = shared_role_fleet();
    let report = evaluate(&s);
    let (g, _) = graph(&s);
    let q = Query::new(&g);
    // The edge cluster's own entry points are folded into the internet's path through them.
    assert!(report
        .attack_paths
        .iter()
        .flat_map(|p| &p.folded)
        .any(|f| f.source.starts_with("[edge] ")));
    for p in &report.attack_paths {
        for f in &p.folded {
            let tail = q
                .paths(&PathQuery {
                    from: &f.source,
                    to: if p.target.contains("Node:") {
                        "NodeRoot"
                    } else {
                        p.target.as_str()
                    },
                    cluster: Some(&p.cluster),
                    max_hops: 30,
                    limit: 1,
                })
                .unwrap_or_else(|e| panic!("{}: {e}", f.source));
            assert_eq!(tail[0].id, f.id);
            assert_eq!(tail[0].score, f.score);
            assert!(
                tail[0].steps.len() < p.steps.len(),
                "a folded path is shorter"
            );
            let skip = p.steps.len() - tail[0].steps.len();
            assert_eq!(
                serde_json::to_value(&tail[0].steps).expect("json"),
                serde_json::to_value(&p.steps[skip..]).expect("json"),
                "a folded path is the tail of its container"
            );
        }
        let mut p = p.clone();
        p.folded.clear();
        let p = &p;
        let to = if p.target.starts_with("Node:") || p.target.contains("] Node:") {
            "NodeRoot"
        } else {
            p.target.as_str()
        };
        let found = q
            .paths(&PathQuery {
                from: &p.source,
                to,
                cluster: Some(&p.cluster),
                max_hops: 30,
                limit: 1,
            })
            .unwrap_or_else(|e| panic!("{} → {to}: {e}", p.source));
        assert_eq!(
            serde_json::to_value(&found[0]).expect("json"),
            serde_json::to_value(p).expect("json"),
            "{} → {to} in {}",
            p.source,
            p.cluster
        );
    }
    // The shared role can be named, and reaches the other cluster's admin.
    let reached = q
        .reach(None, &format!("AwsRole:{shared}"), 4)
        .expect("reach");
    assert!(reached
        .iter()
        .any(|r| r.node == "ClusterAdmin" && r.cluster.as_deref() == Some("core")));
}

#[test]
fn eks_api_rights_and_iam_escalation() {
    let eks_admin = json!({"Statement": [{"Effect": "Allow", "Action": ["eks:CreateAccessEntry", "eks:AssociateAccessPolicy"], "Resource": "*"}]});
    let pass_run = json!({"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}]});
    let assume_admin = json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": format!("arn:aws:iam::{ACCT}:role/break-glass")}]});
    let ec2_trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let root_trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCT}:root")}, "Action": "sts:AssumeRole"}]});
    let sa_trust = |sa: &str| {
        irsa_trust(
            "A",
            ACCT,
            "StringEquals",
            &format!("system:serviceaccount:shop:{sa}"),
        )
    };
    let roles = vec![
        role(ACCT, "eks-admin", sa_trust("api"), eks_admin),
        role(ACCT, "launcher", sa_trust("api"), pass_run),
        role(ACCT, "hopper", sa_trust("api"), assume_admin),
        role(ACCT, "reader", sa_trust("api"), s3_read()),
        role(ACCT, "instance-admin", ec2_trust, admin_policy()),
        role(ACCT, "break-glass", root_trust, admin_policy()),
    ];
    let mut objects = web_app(None);
    objects.push(describe("prod", ACCT, "A", "API"));
    let other = vec![describe("elsewhere", OTHER, "C", "API")];
    let (g, _) = graph(&fleet(
        vec![cluster("prod", objects), cluster("elsewhere", other)],
        vec![gaad(roles)],
    ));
    let admin = format!("CloudAdmin:aws:{ACCT}");
    assert!(has(
        &g,
        &role_ref(ACCT, "eks-admin"),
        "prod|ClusterAdmin",
        Technique::AWS_IAM_TO_EKS_API
    ));
    assert!(
        !has(
            &g,
            &role_ref(ACCT, "eks-admin"),
            "elsewhere|ClusterAdmin",
            Technique::AWS_IAM_TO_EKS_API
        ),
        "no EKS rights across accounts"
    );
    assert!(has(
        &g,
        &role_ref(ACCT, "launcher"),
        &admin,
        Technique::CLOUD_ROLE_TO_ADMIN
    ));
    // Assuming an admin role is its own hop: hopper → break-glass → account admin.
    assert!(has(
        &g,
        &role_ref(ACCT, "hopper"),
        &role_ref(ACCT, "break-glass"),
        Technique::AWS_ASSUME_ROLE
    ));
    assert!(has(
        &g,
        &role_ref(ACCT, "break-glass"),
        &admin,
        Technique::CLOUD_ROLE_TO_ADMIN
    ));
    assert!(!has(
        &g,
        &role_ref(ACCT, "reader"),
        &admin,
        Technique::CLOUD_ROLE_TO_ADMIN
    ));
    assert!(!has(
        &g,
        &role_ref(ACCT, "reader"),
        "prod|ClusterAdmin",
        Technique::AWS_IAM_TO_EKS_API
    ));
}

fn nodegroup(lt_version: &str) -> Value {
    cloud(
        "EksNodegroup",
        "ng1",
        json!({"nodegroupName": "ng1", "nodeRole": format!("arn:aws:iam::{ACCT}:role/node"),
        "launchTemplate": {"id": "lt-1", "version": lt_version}}),
    )
}

fn lt(version: u64, options: Value) -> Value {
    cloud(
        "Ec2LaunchTemplateVersion",
        &format!("lt-1:{version}"),
        json!({"LaunchTemplateId": "lt-1", "VersionNumber": version,
        "LaunchTemplateData": {"MetadataOptions": options}}),
    )
}

#[test]
fn imds_reachability_decides_the_pod_to_node_role_edge() {
    let host_net = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "batch"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}},
          "spec": {"hostNetwork": true, "containers": [{"name": "a", "image": "agent:1"}]}}}});
    let node_obj = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ip-10-0-0-1", "labels": {"eks.amazonaws.com/nodegroup": "ng1"}}});
    let node_role = role_ref(ACCT, "node");
    for (options, web, agent) in [
        (
            json!({"HttpTokens": "optional", "HttpPutResponseHopLimit": 1}),
            true,
            true,
        ),
        (
            json!({"HttpTokens": "required", "HttpPutResponseHopLimit": 2}),
            true,
            true,
        ),
        (
            json!({"HttpTokens": "required", "HttpPutResponseHopLimit": 1}),
            false,
            true,
        ),
        (
            json!({"HttpTokens": "optional", "HttpEndpoint": "disabled"}),
            false,
            false,
        ),
    ] {
        let mut objects = web_app(None);
        objects.extend([
            describe("prod", ACCT, "A", "API"),
            nodegroup("2"),
            lt(1, json!({"HttpTokens": "optional"})),
            lt(2, options.clone()),
            host_net.clone(),
            node_obj.clone(),
        ]);
        let (g, _) = graph(&fleet(vec![cluster("prod", objects)], vec![]));
        assert_eq!(
            has(
                &g,
                "prod|Deployment:shop/web",
                &node_role,
                Technique::POD_IMDS_PIVOT
            ),
            web,
            "{options}"
        );
        assert_eq!(
            has(
                &g,
                "prod|DaemonSet:batch/agent",
                &node_role,
                Technique::POD_IMDS_PIVOT
            ),
            agent,
            "{options}"
        );
        assert!(has(
            &g,
            "prod|Node:ip-10-0-0-1",
            &node_role,
            Technique::NODE_CLOUD_IDENTITY
        ));
    }
}

/// An egress NetworkPolicy that denies the metadata server removes the pod → node role edge
/// (both IMDS addresses denied); one that allows it, or none, keeps it; a cluster with Calico
/// or Cilium policies keeps it and says it cannot decide.
#[test]
fn egress_policies_decide_the_imds_pivot() {
    let node_role = role_ref(ACCT, "node");
    let np = |name: &str, spec: Value| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "shop"}, "spec": spec})
    };
    let deny_all = np(
        "deny",
        json!({"podSelector": {}, "policyTypes": ["Egress"]}),
    );
    let dns_only = np(
        "dns",
        json!({"podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}),
    );
    let all_but_metadata = np(
        "out",
        json!({"podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]}]}),
    );
    let internet = np(
        "out",
        json!({"podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}),
    );
    let other_ns = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "deny", "namespace": "batch"}, "spec": {"podSelector": {}, "policyTypes": ["Egress"]}});
    // Antrea's policies are not evaluated: the pivot stays, said to be undecided.
    let antrea = json!({"apiVersion": "crd.antrea.io/v1beta1", "kind": "ClusterNetworkPolicy",
        "metadata": {"name": "g"}, "spec": {"priority": 5, "appliedTo": [{"podSelector": {}}]}});
    // Calico's are: an allow in an order before the NetworkPolicies' 1000 wins over their deny,
    // and a rule-less GlobalNetworkPolicy is an ingress policy that leaves egress alone.
    let calico_allow = json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
        "metadata": {"name": "g"}, "spec": {"order": 10, "selector": "all()", "egress": [{"action": "Allow"}]}});
    let calico_ingress = json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
        "metadata": {"name": "g"}, "spec": {"selector": "all()"}});
    let calico_deny = json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
        "metadata": {"name": "g"}, "spec": {"selector": "all()", "types": ["Egress"],
        "egress": [{"action": "Deny", "destination": {"nets": ["169.254.169.254/32", "fd00:ec2::254/128"]}}, {"action": "Allow"}]}});
    for (policies, edge) in [
        (vec![], true),
        (vec![deny_all.clone()], false),
        (vec![dns_only], false),
        (vec![all_but_metadata], false),
        (vec![internet], true),
        (vec![other_ns], true),
        (vec![deny_all.clone(), antrea], true),
        (vec![deny_all.clone(), calico_allow], true),
        (vec![deny_all, calico_ingress.clone()], false),
        (vec![calico_ingress], true),
        (vec![calico_deny], false),
    ] {
        let mut objects = web_app(None);
        objects.extend([
            describe("prod", ACCT, "A", "API"),
            nodegroup("1"),
            lt(
                1,
                json!({"HttpTokens": "optional", "HttpPutResponseHopLimit": 2}),
            ),
        ]);
        let undecided = policies.iter().any(|p| p["kind"] == "ClusterNetworkPolicy");
        objects.extend(policies.iter().cloned());
        let (g, _) = graph(&fleet(vec![cluster("prod", objects)], vec![]));
        let found = has(
            &g,
            "prod|Deployment:shop/web",
            &node_role,
            Technique::POD_IMDS_PIVOT,
        );
        assert_eq!(found, edge, "{policies:?}");
        if undecided {
            let (a, b) = (
                node(&g, "prod|Deployment:shop/web").expect("web"),
                node(&g, &node_role).expect("role"),
            );
            assert!(g
                .graph
                .edges_connecting(a, b)
                .any(|e| e.weight().evidence.contains("cannot be decided")));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GCP / GKE

fn doc_objects(doc: Value, file: &str) -> Vec<Object> {
    kspm_engine::cloud::documents::objects_from_document(
        doc,
        &Source {
            file: file.into(),
            line: Some(1),
        },
        0,
    )
    .expect("recognised")
}

fn gke(name: &str, pool: Option<&str>, node_mode: &str, extra: Value) -> Value {
    let mut c = json!({"name": name,
        "selfLink": format!("https://container.googleapis.com/v1/projects/p1/locations/europe-west1/clusters/{name}"),
        "nodePools": [{"name": "pool-1", "config": {"serviceAccount": "nodes@p1.iam.gserviceaccount.com",
            "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"], "workloadMetadataConfig": {"mode": node_mode}}}]});
    if let Some(p) = pool {
        c["workloadIdentityConfig"] = json!({"workloadPool": p});
    }
    if let (Some(m), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    cloud("GkeCluster", name, c)
}

fn gke_cluster(name: &str, objects: Vec<Value>) -> ClusterSnapshot {
    let mut c = cluster(name, objects);
    c.info.provider = Provider::Gke;
    c
}

fn project_policy(bindings: Value) -> Vec<Object> {
    doc_objects(
        json!({"version": 3, "etag": "BwX", "bindings": bindings}),
        "fleet/cloud/gcp/p1/project-iam-policy.json",
    )
}

fn gsa_policy(email: &str, bindings: Value) -> Vec<Object> {
    doc_objects(
        json!({"bindings": bindings}),
        &format!("fleet/cloud/gcp/p1/service-accounts/{email}.json"),
    )
}

/// The web app on GKE cluster `staging` of project p1, with Workload Identity on.
fn staging_with_workload_identity() -> Vec<Value> {
    let mut objects = web_app(None);
    objects.push(gke(
        "staging",
        Some("p1.svc.id.goog"),
        "GKE_METADATA",
        json!({}),
    ));
    objects
}

#[test]
fn gke_workload_identity_needs_the_binding_for_the_pool_and_the_service_account() {
    let gsa = "app@p1.iam.gserviceaccount.com";
    let objects = staging_with_workload_identity();
    let mut cloud_docs = gsa_policy(
        gsa,
        json!([{"role": "roles/iam.workloadIdentityUser",
        "members": ["serviceAccount:p1.svc.id.goog[shop/api]", "serviceAccount:p2.svc.id.goog[batch/worker]"]}]),
    );
    cloud_docs.extend(project_policy(
        json!([{"role": "roles/owner", "members": [format!("serviceAccount:{gsa}")]}]),
    ));
    let s = fleet(
        vec![gke_cluster("staging", objects.clone())],
        cloud_docs.clone(),
    );
    let (g, _) = graph(&s);
    let gsa_ref = format!("GcpServiceAccount:{gsa}");
    assert!(has(
        &g,
        "staging|ServiceAccount:shop/api",
        &gsa_ref,
        Technique::GKE_WI_ASSUME
    ));
    assert!(
        !has(
            &g,
            "staging|ServiceAccount:batch/worker",
            &gsa_ref,
            Technique::GKE_WI_ASSUME
        ),
        "another project's pool"
    );
    assert!(has(
        &g,
        &gsa_ref,
        "CloudAdmin:gcp:p1",
        Technique::CLOUD_ROLE_TO_ADMIN
    ));
    let report = evaluate(&s);
    assert!(
        report.attack_paths.iter().any(|p| p.source == "Internet"
            && p.target == "CloudAdmin:gcp:p1"
            && p.steps.iter().any(|s| s.technique == "GKE_WI_ASSUME")),
        "internet → pod → KSA → GSA → project owner"
    );
    // Without Workload Identity on the cluster the pool's tokens do not exist.
    let mut no_wi = web_app(None);
    no_wi.push(gke("staging", None, "GKE_METADATA", json!({})));
    let (g, _) = graph(&fleet(vec![gke_cluster("staging", no_wi)], cloud_docs));
    assert!(!has(
        &g,
        "staging|ServiceAccount:shop/api",
        &gsa_ref,
        Technique::GKE_WI_ASSUME
    ));
}

#[test]
fn gke_iam_roles_are_kubernetes_rights() {
    let objects = staging_with_workload_identity();
    let mut docs = project_policy(json!([
        {"role": "roles/container.developer", "members": ["user:dev@example.com", "allAuthenticatedUsers"]},
        {"role": "roles/container.admin", "members": ["group:platform@example.com"]},
        {"role": "roles/container.viewer", "members": ["user:viewer@example.com"]},
        {"role": "projects/p1/roles/secretReader", "members": ["user:auditor@example.com"], "condition": {"title": "t", "expression": "request.time < timestamp('2027-01-01T00:00:00Z')"}},
        {"role": "projects/p1/roles/unexported", "members": ["user:x@example.com"]},
        {"role": "roles/container.developer", "members": ["serviceAccount:p1.svc.id.goog[batch/worker]"]}
    ]));
    docs.extend(doc_objects(json!({"name": "projects/p1/roles/secretReader", "includedPermissions": ["container.secrets.get", "container.pods.get"]}), "fleet/cloud/gcp/p1/roles/secretReader.json"));
    let (g, notes) = graph(&fleet(vec![gke_cluster("staging", objects)], docs));
    assert!(has(
        &g,
        "GcpUser:dev@example.com",
        "staging|AllSecrets",
        Technique::GKE_IAM_TO_K8S
    ));
    assert!(has(
        &g,
        "GcpUser:dev@example.com",
        "staging|ServiceAccounts:*",
        Technique::GKE_IAM_TO_K8S
    ));
    assert!(
        has(
            &g,
            "Internet",
            "staging|AllSecrets",
            Technique::GKE_IAM_TO_K8S
        ),
        "allAuthenticatedUsers is anyone with a Google account"
    );
    assert!(has(
        &g,
        "GcpGroup:platform@example.com",
        "staging|ClusterAdmin",
        Technique::GKE_IAM_TO_K8S
    ));
    assert!(!has(
        &g,
        "GcpUser:viewer@example.com",
        "staging|AllSecrets",
        Technique::GKE_IAM_TO_K8S
    ));
    assert!(has(
        &g,
        "GcpUser:auditor@example.com",
        "staging|AllSecrets",
        Technique::GKE_IAM_TO_K8S
    ));
    assert!(
        has(
            &g,
            "staging|ServiceAccount:batch/worker",
            "staging|AllSecrets",
            Technique::GKE_IAM_TO_K8S
        ),
        "a KSA granted a project role"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("projects/p1/roles/unexported")),
        "{notes:?}"
    );
}

/// IAM is inherited down the resource hierarchy: a folder's or the organization's binding holds
/// on every project below it, and a project's on every service account in it. Negatives: a
/// folder that is not above the project grants nothing there, and without the ancestry the
/// inherited bindings are not joined — which is said, as is a folder whose policy is missing.
#[test]
fn gcp_bindings_are_inherited_from_folders_and_the_organization() {
    let app = "app@p1.iam.gserviceaccount.com";
    let objects = staging_with_workload_identity();
    let policy = |file: &str, bindings: Value| {
        doc_objects(
            json!({"version": 3, "etag": "BwX", "bindings": bindings}),
            file,
        )
    };
    let mut docs = project_policy(json!([
        {"role": "roles/iam.serviceAccountTokenCreator", "members": ["serviceAccount:p1.svc.id.goog[batch/worker]"]}
    ]));
    docs.extend(doc_objects(
        json!({"etag": "ACAB", "version": 1}),
        &format!("fleet/cloud/gcp/p1/service-accounts/{app}.json"),
    ));
    docs.extend(policy(
        "fleet/cloud/gcp/folders/111.json",
        json!([{"role": "roles/container.admin", "members": ["group:platform@example.com"]}]),
    ));
    docs.extend(policy(
        "fleet/cloud/gcp/folders/333.json",
        json!([{"role": "roles/container.admin", "members": ["user:elsewhere@example.com"]}]),
    ));
    docs.extend(policy(
        "fleet/cloud/gcp/organizations/222.json",
        json!([
            {"role": "roles/iam.workloadIdentityUser", "members": ["serviceAccount:p1.svc.id.goog[shop/api]"]},
            {"role": "roles/resourcemanager.organizationAdmin", "members": [format!("serviceAccount:{app}")]}
        ]),
    ));
    let ancestry = doc_objects(
        json!([{"id": "p1", "type": "project"}, {"id": "111", "type": "folder"},
               {"id": "222", "type": "organization"}]),
        "fleet/cloud/gcp/p1/ancestry.json",
    );
    let app_ref = format!("GcpServiceAccount:{app}");

    let mut with = docs.clone();
    with.extend(ancestry.clone());
    let (g, notes) = graph(&fleet(vec![gke_cluster("staging", objects.clone())], with));
    assert!(!notes.iter().any(|n| n.contains("not read")), "{notes:?}");
    assert!(has(
        &g,
        "GcpGroup:platform@example.com",
        "staging|ClusterAdmin",
        Technique::GKE_IAM_TO_K8S
    ));
    let fixes = fixes_of(
        &g,
        "GcpGroup:platform@example.com",
        "staging|ClusterAdmin",
        Technique::GKE_IAM_TO_K8S,
    );
    assert!(
        fixes.iter().any(|f| f.cli.as_deref() == Some(
            "gcloud resource-manager folders remove-iam-policy-binding 111 --member=group:platform@example.com --role=roles/container.admin --condition=None"
        ) && f.target.cluster == "gcp:folders/111" && f.target.name == "folders/111"),
        "{fixes:?}"
    );
    assert!(
        node(&g, "GcpUser:elsewhere@example.com").is_none(),
        "folder 333 is not above p1"
    );
    // The organization lets shop/api act as every service account of p1; the project lets
    // batch/worker mint their tokens.
    for ksa in [
        "staging|ServiceAccount:shop/api",
        "staging|ServiceAccount:batch/worker",
    ] {
        assert!(has(&g, ksa, &app_ref, Technique::GKE_WI_ASSUME), "{ksa}");
    }
    let e = g
        .graph
        .edges_connecting(
            node(&g, "staging|ServiceAccount:shop/api").expect("ksa"),
            node(&g, &app_ref).expect("gsa"),
        )
        .next()
        .expect("edge");
    assert!(
        e.weight()
            .evidence
            .contains("organization 222 (inherited by app@p1.iam.gserviceaccount.com)"),
        "{}",
        e.weight().evidence
    );
    assert!(has(
        &g,
        &app_ref,
        "CloudAdmin:gcp:p1",
        Technique::CLOUD_ROLE_TO_ADMIN
    ));

    // Without the ancestry nothing above the project is joined, and that is said.
    let (g, notes) = graph(&fleet(
        vec![gke_cluster("staging", objects.clone())],
        docs.clone(),
    ));
    assert!(!has(
        &g,
        "GcpGroup:platform@example.com",
        "staging|ClusterAdmin",
        Technique::GKE_IAM_TO_K8S
    ));
    assert!(!has(
        &g,
        "staging|ServiceAccount:shop/api",
        &app_ref,
        Technique::GKE_WI_ASSUME
    ));
    assert!(has(
        &g,
        "staging|ServiceAccount:batch/worker",
        &app_ref,
        Technique::GKE_WI_ASSUME
    ));
    assert!(
        notes
            .iter()
            .any(|n| n.contains("above project p1 were not read")),
        "{notes:?}"
    );
    // An ancestor whose policy was not read is named.
    let mut partial: Vec<Object> = docs
        .into_iter()
        .filter(|o| o.name != "organizations/222")
        .collect();
    partial.extend(ancestry);
    let (g, notes) = graph(&fleet(vec![gke_cluster("staging", objects)], partial));
    assert!(has(
        &g,
        "GcpGroup:platform@example.com",
        "staging|ClusterAdmin",
        Technique::GKE_IAM_TO_K8S
    ));
    assert!(
        notes
            .iter()
            .any(|n| n
                .contains("the IAM policy of organization 222 (above project p1) was not read")),
        "{notes:?}"
    );
}

/// The evidence of the edges `t` between two nodes.
fn evidence_of(g: &AttackGraph, from: &str, to: &str, t: Technique) -> Vec<String> {
    let (Some(a), Some(b)) = (node(g, from), node(g, to)) else {
        return Vec::new();
    };
    g.graph
        .edges_connecting(a, b)
        .filter(|e| e.weight().technique == t)
        .map(|e| e.weight().evidence.clone())
        .collect()
}

/// Who is admin of a project, by grants on it or above it: owner/editor at a folder, a role
/// that rewrites a folder's policy granted on the organization (it holds on every folder),
/// projectIamAdmin on the project. A project-wide token-creator grant reaches a service
/// account known only from an annotation. The organization's fix is `gcloud organizations`,
/// a conditional folder binding's takes `--all`, and inherited roles kspm does not know are one
/// note per policy. Negatives: a folder role that rewrites only folders granted on a folder
/// that is not above the project, and a user (not a KSA) granted token creator, reach nothing.
#[test]
fn gcp_admin_grants_hold_from_above_the_project() {
    let mut objects = staging_with_workload_identity();
    for o in objects.iter_mut() {
        if o["kind"] == "ServiceAccount" && o["metadata"]["name"] == "api" {
            o["metadata"]["annotations"] =
                json!({"iam.gke.io/gcp-service-account": "annotated@p1.iam.gserviceaccount.com"});
        }
    }
    objects.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}}));
    objects.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "iam", "namespace": "ops"}}));
    let policy = |file: &str, bindings: Value| {
        doc_objects(
            json!({"version": 3, "etag": "BwX", "bindings": bindings}),
            file,
        )
    };
    let mut docs = project_policy(json!([
        {"role": "roles/resourcemanager.projectIamAdmin", "members": ["serviceAccount:p1.svc.id.goog[ops/iam]"]},
        {"role": "roles/iam.serviceAccountTokenCreator", "members": ["serviceAccount:p1.svc.id.goog[batch/worker]", "user:someone@example.com"]}
    ]));
    docs.extend(policy(
        "fleet/cloud/gcp/folders/111.json",
        json!([
            {"role": "roles/editor", "members": ["serviceAccount:p1.svc.id.goog[shop/api]"]},
            {"role": "roles/container.admin", "members": ["group:night-shift@example.com"],
             "condition": {"title": "nights", "expression": "request.time.getHours('UTC') < 6"}},
            {"role": "roles/billing.viewer", "members": ["group:finance@example.com"]},
            {"role": "roles/logging.viewer", "members": ["group:finance@example.com"]}
        ]),
    ));
    docs.extend(policy(
        "fleet/cloud/gcp/folders/333.json",
        json!([{"role": "roles/resourcemanager.folderIamAdmin", "members": ["serviceAccount:p1.svc.id.goog[batch/worker]"]}]),
    ));
    docs.extend(policy(
        "fleet/cloud/gcp/organizations/222.json",
        json!([
            {"role": "roles/resourcemanager.folderIamAdmin", "members": ["serviceAccount:p1.svc.id.goog[batch/worker]"]},
            {"role": "roles/container.developer", "members": ["user:contractor@example.com"]}
        ]),
    ));
    docs.extend(doc_objects(
        json!([{"id": "p1", "type": "project"}, {"id": "111", "type": "folder"},
               {"id": "222", "type": "organization"}]),
        "fleet/cloud/gcp/p1/ancestry.json",
    ));
    let (g, notes) = graph(&fleet(vec![gke_cluster("staging", objects)], docs));
    let admin = |ksa: &str| {
        evidence_of(
            &g,
            &format!("staging|ServiceAccount:{ksa}"),
            "CloudAdmin:gcp:p1",
            Technique::CLOUD_ROLE_TO_ADMIN,
        )
    };
    assert_eq!(
        admin("shop/api"),
        ["folder 111 grants serviceAccount:p1.svc.id.goog[shop/api] roles/editor, which project p1 inherits"]
    );
    assert_eq!(
        admin("ops/iam"),
        ["project p1 grants serviceAccount:p1.svc.id.goog[ops/iam] roles/resourcemanager.projectIamAdmin"]
    );
    let worker = admin("batch/worker");
    assert!(
        worker.len() == 1
            && worker[0].contains("organization 222 grants serviceAccount:p1.svc.id.goog[batch/worker] roles/resourcemanager.folderIamAdmin"),
        "folder 333 is not above p1: {worker:?}"
    );
    // Project-wide token creator: every service account of p1, one known by its annotation.
    let annotated = "GcpServiceAccount:annotated@p1.iam.gserviceaccount.com";
    assert!(has(
        &g,
        "staging|ServiceAccount:batch/worker",
        annotated,
        Technique::GKE_WI_ASSUME
    ));
    assert!(node(&g, "GcpUser:someone@example.com").is_none());
    // Fixes on the organization's policy and on a conditional folder binding.
    let org_fix = fixes_of(
        &g,
        "GcpUser:contractor@example.com",
        "staging|AllSecrets",
        Technique::GKE_IAM_TO_K8S,
    );
    assert!(
        org_fix.iter().any(|f| f.cli.as_deref() == Some("gcloud organizations remove-iam-policy-binding 222 --member=user:contractor@example.com --role=roles/container.developer --condition=None")),
        "{org_fix:?}"
    );
    let night = fixes_of(
        &g,
        "GcpGroup:night-shift@example.com",
        "staging|ClusterAdmin",
        Technique::GKE_IAM_TO_K8S,
    );
    assert!(
        night.iter().any(|f| f.cli.as_deref().is_some_and(|c| c
            .starts_with("gcloud resource-manager folders remove-iam-policy-binding 111 ")
            && c.ends_with(" --all"))),
        "{night:?}"
    );
    let unknown: Vec<&String> = notes
        .iter()
        .filter(|n| n.contains("not in the export"))
        .collect();
    assert_eq!(unknown.len(), 1, "{notes:?}");
    assert!(
        unknown[0].contains(
            "roles roles/billing.viewer, roles/logging.viewer of folder 111 (above project p1)"
        ),
        "{unknown:?}"
    );
}

#[test]
fn gke_node_service_account_and_public_authenticated_group() {
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gke-n1", "labels": {"cloud.google.com/gke-nodepool": "pool-1"}}});
    let admin_for_all = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "oops"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}]});
    let nodes_sa = "GcpServiceAccount:nodes@p1.iam.gserviceaccount.com";
    for (mode, guard, exposed, public) in [
        ("GCE_METADATA", true, true, true),
        ("GKE_METADATA", false, false, false),
    ] {
        let mut objects = web_app(None);
        let extra = if guard {
            json!({})
        } else {
            json!({"rbacBindingConfig": {"enableInsecureBindingSystemAuthenticated": false}})
        };
        objects.extend([
            gke("staging", Some("p1.svc.id.goog"), mode, extra),
            node.clone(),
            admin_for_all.clone(),
        ]);
        let (g, _) = graph(&fleet(vec![gke_cluster("staging", objects)], vec![]));
        assert_eq!(
            has(
                &g,
                "staging|Deployment:shop/web",
                nodes_sa,
                Technique::POD_IMDS_PIVOT
            ),
            exposed,
            "{mode}"
        );
        assert!(has(
            &g,
            "staging|Node:gke-n1",
            nodes_sa,
            Technique::NODE_CLOUD_IDENTITY
        ));
        assert_eq!(
            has(
                &g,
                "Internet",
                "staging|Group:system:authenticated",
                Technique::GKE_AUTHENTICATED_PUBLIC
            ),
            public
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Azure / AKS

const AKS_ID: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/payments";
const AKS_ISSUER: &str = "https://westeurope.oic.prod-aks.azure.com/tenant/payments/";

fn aks(extra: Value) -> Value {
    let mut p = json!({"enableRBAC": true, "disableLocalAccounts": false,
        "aadProfile": {"managed": true, "enableAzureRBAC": true, "adminGroupObjectIDs": ["grp-admins"]},
        "oidcIssuerProfile": {"enabled": true, "issuerURL": AKS_ISSUER},
        "identityProfile": {"kubeletidentity": {"resourceId": "/subscriptions/s1/resourceGroups/mc_rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/payments-agentpool", "clientId": "k1", "objectId": "obj-kubelet"}}});
    if let (Some(m), Some(e)) = (p.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    cloud(
        "AksCluster",
        "payments",
        json!({"id": AKS_ID, "name": "payments", "type": "Microsoft.ContainerService/ManagedClusters", "properties": p}),
    )
}

#[test]
fn an_aks_admin_group_is_removed_unless_it_is_the_last() {
    let remedies_of = |g: &AttackGraph, group: &str| {
        fixes_of(
            g,
            &format!("AzureGroup:{group}"),
            "payments|ClusterAdmin",
            Technique::AKS_ENTRA_TO_K8S,
        )
    };
    // Two groups, the key spelled as az writes it: each can go, the other stays.
    let mut two = aks(json!({}));
    let props = two["spec"]["properties"]
        .as_object_mut()
        .expect("properties");
    props.remove("aadProfile");
    props.insert(
        "aadprofile".into(),
        json!({"managed": true, "adminGroupObjectIDs": ["grp-a", "grp-b"]}),
    );
    let mut snapshot = fleet(vec![aks_cluster(vec![two])], vec![]);
    let (g, _) = graph(&snapshot);
    let fix = remedies_of(&g, "grp-b");
    assert_eq!(fix.len(), 1, "{fix:?}");
    assert!(fix[0].unfixable.is_none());
    assert_eq!(
        fix[0].cli.as_deref(),
        Some(
            "az aks update --resource-group rg --name payments --aad-admin-group-object-ids grp-a"
        )
    );
    let doc = snapshot.clusters[0]
        .objects
        .iter_mut()
        .find(|o| o.kind == "AksCluster")
        .expect("cluster");
    kspm_engine::graph::remedy::apply_patch(&mut doc.body, &fix[0].ops).expect("applies");
    let (g, _) = graph(&snapshot);
    assert!(!has(
        &g,
        "AzureGroup:grp-b",
        "payments|ClusterAdmin",
        Technique::AKS_ENTRA_TO_K8S
    ));
    assert!(has(
        &g,
        "AzureGroup:grp-a",
        "payments|ClusterAdmin",
        Technique::AKS_ENTRA_TO_K8S
    ));
    // The only one cannot go (the CLI needs a group): the edge stays, said why.
    let (g, _) = graph(&fleet(vec![aks_cluster(vec![aks(json!({}))])], vec![]));
    let fix = remedies_of(&g, "grp-admins");
    assert!(fix.len() == 1 && fix[0].unfixable.is_some(), "{fix:?}");
}

fn aks_cluster(objects: Vec<Value>) -> ClusterSnapshot {
    let mut c = cluster("payments", objects);
    c.info.provider = Provider::Aks;
    c
}

fn assignment(principal: &str, ptype: &str, role_guid: &str, scope: &str) -> Value {
    json!({"id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{principal}-{role_guid}"),
           "principalId": principal, "principalType": ptype, "scope": scope,
           "roleDefinitionId": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{role_guid}")})
}

const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const RBAC_CLUSTER_ADMIN: &str = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b";
const RBAC_WRITER: &str = "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb";
const CLUSTER_ADMIN_ROLE: &str = "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8";

fn azure_docs(assignments: Vec<Value>) -> Vec<Object> {
    let uami = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/payments-api";
    let mut out = doc_objects(
        json!(assignments),
        "fleet/cloud/azure/s1/role-assignments.json",
    );
    out.extend(doc_objects(json!([{"id": uami, "name": "payments-api", "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "principalId": "obj-api", "clientId": "client-api"}]), "fleet/cloud/azure/s1/identities.json"));
    out.extend(doc_objects(json!({"value": [
        {"id": format!("{uami}/federatedIdentityCredentials/shop-api"), "name": "shop-api",
         "properties": {"issuer": AKS_ISSUER, "subject": "system:serviceaccount:shop:api", "audiences": ["api://AzureADTokenExchange"]}},
        {"id": format!("{uami}/federatedIdentityCredentials/other-cluster"), "name": "other-cluster",
         "properties": {"issuer": "https://westeurope.oic.prod-aks.azure.com/tenant/other/", "subject": "system:serviceaccount:batch:worker", "audiences": ["api://AzureADTokenExchange"]}}]}),
        "fleet/cloud/azure/s1/federated-credentials.json"));
    out
}

/// A role means each thing its actions and data actions grant, not only the strongest: a custom
/// role that lists the user credential (or may update clusters) and reads Secrets through Azure
/// RBAC for Kubernetes reads them — at the cluster, and at a namespace scope where only its data
/// actions apply. Negative: without Azure RBAC for Kubernetes the data actions grant nothing.
#[test]
fn a_role_means_each_thing_its_actions_and_data_actions_grant() {
    const K8S: &str = "Microsoft.ContainerService/managedClusters";
    let definition = |guid: &str, actions: Vec<String>, data: Vec<String>| {
        json!({"id": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
               "name": guid, "roleName": guid, "type": "Microsoft.Authorization/roleDefinitions",
               "permissions": [{"actions": actions, "notActions": [], "dataActions": data, "notDataActions": []}]})
    };
    let reader_with_kubeconfig = "9e000000-0000-4000-8000-0000000000a1";
    let updater_and_reader = "9e000000-0000-4000-8000-0000000000a2";
    let definitions = json!([
        definition(
            reader_with_kubeconfig,
            vec![
                format!("{K8S}/listClusterUserCredential/action"),
                format!("{K8S}/read")
            ],
            vec![format!("{K8S}/secrets/read")]
        ),
        definition(
            updater_and_reader,
            vec![format!("{K8S}/write"), format!("{K8S}/read")],
            vec![format!("{K8S}/secrets/read")]
        ),
    ]);
    let assignments = vec![
        assignment("u-kubeconfig", "User", reader_with_kubeconfig, AKS_ID),
        assignment("u-updater", "User", updater_and_reader, AKS_ID),
        assignment(
            "u-ns",
            "User",
            updater_and_reader,
            &format!("{AKS_ID}/namespaces/shop"),
        ),
    ];
    for azure_rbac in [true, false] {
        let mut objects = web_app(None);
        objects.push(aks(json!({"disableLocalAccounts": true,
            "aadProfile": {"managed": true, "enableAzureRBAC": azure_rbac, "adminGroupObjectIDs": []}})));
        let mut docs = azure_docs(assignments.clone());
        docs.extend(doc_objects(
            definitions.clone(),
            "fleet/cloud/azure/s1/role-definitions.json",
        ));
        let (g, _) = graph(&fleet(vec![aks_cluster(objects)], docs));
        let edge = |from: &str, to: &str| has(&g, from, to, Technique::AKS_ENTRA_TO_K8S);
        assert_eq!(
            edge("AzureUser:u-kubeconfig", "payments|AllSecrets"),
            azure_rbac,
            "a credential role's data actions (azure_rbac {azure_rbac})"
        );
        assert!(
            !edge("AzureUser:u-kubeconfig", "payments|ClusterAdmin"),
            "an Entra kubeconfig is no admin credential"
        );
        assert!(edge("AzureUser:u-updater", "payments|ClusterAdmin"));
        assert_eq!(
            edge("AzureUser:u-updater", "payments|AllSecrets"),
            azure_rbac
        );
        assert_eq!(edge("AzureUser:u-ns", "payments|Secrets:shop"), azure_rbac);
        assert!(
            !edge("AzureUser:u-ns", "payments|ClusterAdmin"),
            "a namespace scope holds no ARM action on the cluster"
        );
    }
}

#[test]
fn aks_workload_identity_and_subscription_admin() {
    let uami = "AzureIdentity:/subscriptions/s1/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/payments-api";
    let mut objects = web_app(None);
    objects.push(aks(json!({})));
    let docs = azure_docs(vec![assignment(
        "obj-api",
        "ServicePrincipal",
        OWNER,
        "/subscriptions/s1",
    )]);
    let s = fleet(vec![aks_cluster(objects)], docs);
    let (g, _) = graph(&s);
    assert!(has(
        &g,
        "payments|ServiceAccount:shop/api",
        uami,
        Technique::AKS_WI_ASSUME
    ));
    assert!(
        !has(
            &g,
            "payments|ServiceAccount:batch/worker",
            uami,
            Technique::AKS_WI_ASSUME
        ),
        "the credential trusts another cluster's issuer"
    );
    assert!(has(
        &g,
        uami,
        "CloudAdmin:azure:s1",
        Technique::CLOUD_ROLE_TO_ADMIN
    ));
    let kubelet = "AzureIdentity:/subscriptions/s1/resourcegroups/mc_rg/providers/microsoft.managedidentity/userassignedidentities/payments-agentpool";
    assert!(has(
        &g,
        "payments|Deployment:shop/web",
        kubelet,
        Technique::POD_IMDS_PIVOT
    ));
    let report = evaluate(&s);
    assert!(
        report
            .attack_paths
            .iter()
            .any(|p| p.source == "Internet" && p.target == "CloudAdmin:azure:s1"),
        "internet → pod → KSA → UAMI → subscription owner"
    );
}

#[test]
fn aks_azure_rbac_local_accounts_and_admin_groups() {
    let rg = "/subscriptions/s1/resourceGroups/rg";
    let assignments = vec![
        assignment("u-admin", "User", RBAC_CLUSTER_ADMIN, AKS_ID),
        assignment(
            "u-writer",
            "User",
            RBAC_WRITER,
            &format!("{AKS_ID}/namespaces/shop"),
        ),
        assignment("u-creds", "User", CLUSTER_ADMIN_ROLE, AKS_ID),
        assignment("g-contrib", "Group", CONTRIBUTOR, rg),
        assignment(
            "u-other",
            "User",
            RBAC_CLUSTER_ADMIN,
            "/subscriptions/s1/resourceGroups/other",
        ),
    ];
    for (extra, azure_rbac, local) in [
        (json!({}), true, true),
        (
            json!({"disableLocalAccounts": true, "aadProfile": {"managed": true, "enableAzureRBAC": false, "adminGroupObjectIDs": ["grp-admins"]}}),
            false,
            false,
        ),
    ] {
        let mut objects = web_app(None);
        objects.push(aks(extra));
        let (g, _) = graph(&fleet(
            vec![aks_cluster(objects)],
            azure_docs(assignments.clone()),
        ));
        assert_eq!(
            has(
                &g,
                "AzureUser:u-admin",
                "payments|ClusterAdmin",
                Technique::AKS_ENTRA_TO_K8S
            ),
            azure_rbac
        );
        assert_eq!(
            has(
                &g,
                "AzureUser:u-writer",
                "payments|ServiceAccounts:shop",
                Technique::AKS_ENTRA_TO_K8S
            ),
            azure_rbac
        );
        assert!(!has(
            &g,
            "AzureUser:u-writer",
            "payments|ServiceAccounts:batch",
            Technique::AKS_ENTRA_TO_K8S
        ));
        assert_eq!(
            has(
                &g,
                "AzureUser:u-creds",
                "payments|ClusterAdmin",
                Technique::AKS_ENTRA_TO_K8S
            ),
            local
        );
        assert!(
            has(
                &g,
                "AzureGroup:g-contrib",
                "payments|ClusterAdmin",
                Technique::AKS_ENTRA_TO_K8S
            ),
            "Contributor can rewrite the cluster"
        );
        assert!(
            !has(
                &g,
                "AzureUser:u-other",
                "payments|ClusterAdmin",
                Technique::AKS_ENTRA_TO_K8S
            ),
            "assignment on another resource group"
        );
        assert!(has(
            &g,
            "AzureGroup:grp-admins",
            "payments|ClusterAdmin",
            Technique::AKS_ENTRA_TO_K8S
        ));
    }
}

/// ARM lists a subscription's role assignments with those it inherits from its management
/// groups (and the root): such an assignment applies to the subscriptions whose listing holds it
/// — Azure RBAC for Kubernetes on their clusters, Owner as their admin — and to no other.
#[test]
fn management_group_assignments_apply_to_the_subscriptions_that_list_them() {
    let mg = "/providers/Microsoft.Management/managementGroups/platform";
    let listed_in = |subscription: &str, scope: &str| {
        doc_objects(
            json!({"value": [
                assignment("g-platform", "Group", RBAC_CLUSTER_ADMIN, scope),
                assignment("g-platform", "Group", OWNER, scope),
            ]}),
            &format!("fleet/cloud/azure/{subscription}/role-assignments.json"),
        )
    };
    let cluster = || vec![aks_cluster(vec![aks(json!({}))])];
    for scope in [mg, "/"] {
        let (g, _) = graph(&fleet(cluster(), listed_in("s1", scope)));
        assert!(
            has(
                &g,
                "AzureGroup:g-platform",
                "payments|ClusterAdmin",
                Technique::AKS_ENTRA_TO_K8S
            ),
            "{scope}"
        );
        assert!(
            has(
                &g,
                "AzureGroup:g-platform",
                "CloudAdmin:azure:s1",
                Technique::CLOUD_ROLE_TO_ADMIN
            ),
            "{scope}"
        );
    }
    // Held by another subscription's listing only: the group is above s2, not the cluster's s1.
    let (g, _) = graph(&fleet(cluster(), listed_in("s2", mg)));
    assert!(!has(
        &g,
        "AzureGroup:g-platform",
        "payments|ClusterAdmin",
        Technique::AKS_ENTRA_TO_K8S
    ));
    assert!(!has(
        &g,
        "AzureGroup:g-platform",
        "CloudAdmin:azure:s1",
        Technique::CLOUD_ROLE_TO_ADMIN
    ));
    // A listing outside `cloud/azure/<subscription>/` says nothing about which subscription.
    let (g, _) = graph(&fleet(
        cluster(),
        doc_objects(
            json!({"value": [assignment("g-platform", "Group", RBAC_CLUSTER_ADMIN, mg)]}),
            "fleet/role-assignments.json",
        ),
    ));
    assert!(!has(
        &g,
        "AzureGroup:g-platform",
        "payments|ClusterAdmin",
        Technique::AKS_ENTRA_TO_K8S
    ));
}

/// `az aks show` flattens `properties` and spells acronyms its own way (`issuerUrl`,
/// `enableAzureRbac`, `authorizedIpRanges`, `enableRbac`, `enableNodePublicIp`); ARM property
/// names are case-insensitive, so both shapes mean the same cluster: the same edges and the same
/// AKS findings. Negative: with the features really off, in az spelling, the edges go.
#[test]
fn az_cli_spelling_means_what_the_arm_spelling_means() {
    let az = |rbac: bool, issuer: bool| {
        let mut doc = json!({"id": AKS_ID, "name": "payments", "type": "Microsoft.ContainerService/ManagedClusters",
            "enableRbac": true, "disableLocalAccounts": false,
            "aadProfile": {"managed": true, "enableAzureRbac": rbac, "adminGroupObjectIDs": ["grp-admins"]},
            "apiServerAccessProfile": {"authorizedIpRanges": ["203.0.113.0/24"], "enablePrivateCluster": false},
            "agentPoolProfiles": [{"name": "pool1", "enableNodePublicIp": true}],
            "identityProfile": {"kubeletidentity": {"resourceId": "/subscriptions/s1/resourceGroups/mc_rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/payments-agentpool", "clientId": "k1", "objectId": "obj-kubelet"}}});
        if issuer {
            doc["oidcIssuerProfile"] = json!({"enabled": true, "issuerUrl": AKS_ISSUER});
        }
        cloud("AksCluster", "payments", doc)
    };
    let arm = aks(json!({
        "apiServerAccessProfile": {"authorizedIPRanges": ["203.0.113.0/24"], "enablePrivateCluster": false},
        "agentPoolProfiles": [{"name": "pool1", "enableNodePublicIP": true}]}));
    let assignments = vec![
        assignment("obj-api", "ServicePrincipal", OWNER, "/subscriptions/s1"),
        assignment("u-admin", "User", RBAC_CLUSTER_ADMIN, AKS_ID),
    ];
    let run = |doc: Value| {
        let mut objects = web_app(None);
        objects.push(doc);
        let s = fleet(vec![aks_cluster(objects)], azure_docs(assignments.clone()));
        let (g, _) = graph(&s);
        let mut aks_findings: Vec<(String, String)> = evaluate(&s)
            .findings
            .iter()
            .filter(|f| f.check.starts_with("KSPM-A-"))
            .map(|f| (f.check.to_string(), f.message.clone()))
            .collect();
        aks_findings.sort();
        (g, aks_findings)
    };
    let uami = "AzureIdentity:/subscriptions/s1/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/payments-api";
    let (g_arm, f_arm) = run(arm);
    let (g_az, f_az) = run(az(true, true));
    for g in [&g_arm, &g_az] {
        assert!(has(
            g,
            "payments|ServiceAccount:shop/api",
            uami,
            Technique::AKS_WI_ASSUME
        ));
        assert!(has(
            g,
            "AzureUser:u-admin",
            "payments|ClusterAdmin",
            Technique::AKS_ENTRA_TO_K8S
        ));
    }
    assert_eq!(f_arm, f_az);
    assert!(f_az.iter().any(|(_, m)| m.contains("pool1")), "{f_az:?}");
    assert!(
        !f_az
            .iter()
            .any(|(_, m)| m.contains("no authorized IP ranges")),
        "authorizedIpRanges read: {f_az:?}"
    );
    let (g_off, f_off) = run(az(false, false));
    assert!(!has(
        &g_off,
        "payments|ServiceAccount:shop/api",
        uami,
        Technique::AKS_WI_ASSUME
    ));
    assert!(!has(
        &g_off,
        "AzureUser:u-admin",
        "payments|ClusterAdmin",
        Technique::AKS_ENTRA_TO_K8S
    ));
    assert!(
        f_off.iter().any(|(_, m)| m.contains("Azure RBAC")),
        "{f_off:?}"
    );
}

#[test]
fn editing_aws_auth_is_system_masters_while_the_mode_reads_it() {
    let role = |names: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "cm-editor", "namespace": "kube-system"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"], "resourceNames": names}]})
    };
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "cm-editor", "namespace": "kube-system"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-editor"},
        "subjects": [{"kind": "ServiceAccount", "name": "worker", "namespace": "batch"}]});
    for (mode, names, expect) in [
        ("API_AND_CONFIG_MAP", json!(["aws-auth"]), true),
        ("CONFIG_MAP", json!([]), true),
        ("API_AND_CONFIG_MAP", json!(["coredns"]), false),
        ("API", json!(["aws-auth"]), false),
    ] {
        let mut objects = web_app(None);
        objects.extend([
            describe("prod", ACCT, "A", mode),
            role(names.clone()),
            binding.clone(),
        ]);
        let (g, _) = graph(&fleet(vec![cluster("prod", objects)], vec![]));
        assert_eq!(
            has(
                &g,
                "prod|ServiceAccount:batch/worker",
                "prod|Group:system:masters",
                Technique::UPDATE_AWS_AUTH
            ),
            expect,
            "{mode} {names}"
        );
        if expect {
            assert!(has(
                &g,
                "prod|Group:system:masters",
                "prod|ClusterAdmin",
                Technique::ADMIN_EQUIVALENT
            ));
        }
    }
}

#[test]
fn google_groups_for_rbac_joins_google_groups_to_kubernetes_groups() {
    let bind = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "sre"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "name": "sre@example.com", "apiGroup": "rbac.authorization.k8s.io"}]});
    for (enabled, expect) in [(true, true), (false, false)] {
        let mut objects = web_app(None);
        objects.extend([gke("staging", Some("p1.svc.id.goog"), "GKE_METADATA",
            json!({"authenticatorGroupsConfig": {"enabled": enabled, "securityGroup": "gke-security-groups@example.com"}})), bind.clone()]);
        let (g, _) = graph(&fleet(vec![gke_cluster("staging", objects)], vec![]));
        assert_eq!(
            has(
                &g,
                "GcpGroup:sre@example.com",
                "staging|Group:sre@example.com",
                Technique::GKE_GROUPS_RBAC
            ),
            expect
        );
    }
}

#[test]
fn review_fixes_hold() {
    // aws-auth spells the role in lower case; IAM (and IRSA) spell it as created.
    let cm = aws_auth(&format!("- rolearn: arn:aws:iam::{ACCT}:role/nodeinstancerole\n  username: ops\n  groups: [system:masters]\n"));
    let host = issuer("A").trim_start_matches("https://").to_string();
    let custom_aud = json!({"Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCT}:oidc-provider/{host}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{host}:sub"): "system:serviceaccount:shop:api", format!("{host}:aud"): "vault"}}}]});
    let roles = vec![
        role(
            ACCT,
            "NodeInstanceRole",
            irsa_trust("A", ACCT, "StringEquals", "system:serviceaccount:shop:api"),
            s3_read(),
        ),
        role(ACCT, "custom-audience", custom_aud, s3_read()),
    ];
    let mut objects = web_app(None);
    objects.extend([describe("prod", ACCT, "A", "CONFIG_MAP"), cm]);
    let (g, _) = graph(&fleet(vec![cluster("prod", objects)], vec![gaad(roles)]));
    let node_role = role_ref(ACCT, "NodeInstanceRole");
    assert!(
        has(
            &g,
            &node_role,
            "prod|Group:system:masters",
            Technique::AWS_AUTH_MAP
        ),
        "case-insensitive join"
    );
    assert!(has(
        &g,
        "prod|ServiceAccount:shop/api",
        &node_role,
        Technique::IRSA_ASSUME
    ));
    assert!(
        has(
            &g,
            "prod|ServiceAccount:shop/api",
            &role_ref(ACCT, "custom-audience"),
            Technique::IRSA_ASSUME
        ),
        "the token's minter picks the audience"
    );

    // Azure: writing the cluster is cluster-admin, not subscription admin; issuers match exactly.
    const AKS_CONTRIBUTOR: &str = "ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8";
    let mut objects = web_app(None);
    objects.push(aks(json!({"oidcIssuerProfile": {"enabled": true, "issuerURL": AKS_ISSUER.trim_end_matches('/')}})));
    let docs = azure_docs(vec![assignment(
        "u-aks",
        "User",
        AKS_CONTRIBUTOR,
        "/subscriptions/s1",
    )]);
    let (g, notes) = graph(&fleet(vec![aks_cluster(objects)], docs));
    assert!(has(
        &g,
        "AzureUser:u-aks",
        "payments|ClusterAdmin",
        Technique::AKS_ENTRA_TO_K8S
    ));
    assert!(!has(
        &g,
        "AzureUser:u-aks",
        "CloudAdmin:azure:s1",
        Technique::CLOUD_ROLE_TO_ADMIN
    ));
    let uami = "AzureIdentity:/subscriptions/s1/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/payments-api";
    assert!(
        !has(
            &g,
            "payments|ServiceAccount:shop/api",
            uami,
            Technique::AKS_WI_ASSUME
        ),
        "issuer differs by a slash"
    );
    assert!(
        notes.iter().any(|n| n.contains("trailing slash")),
        "{notes:?}"
    );

    // GCP: two compute service accounts in the policy — the project's own is not guessed.
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gke-n1", "labels": {"cloud.google.com/gke-nodepool": "pool-1"}}});
    let pool = json!({"nodePools": [{"name": "pool-1", "config": {"serviceAccount": "default", "workloadMetadataConfig": {"mode": "GCE_METADATA"}}}]});
    for (members, expect) in [
        (
            json!(["serviceAccount:111-compute@developer.gserviceaccount.com"]),
            true,
        ),
        (
            json!([
                "serviceAccount:111-compute@developer.gserviceaccount.com",
                "serviceAccount:222-compute@developer.gserviceaccount.com"
            ]),
            false,
        ),
    ] {
        let mut objects = web_app(None);
        objects.extend([
            gke(
                "staging",
                Some("p1.svc.id.goog"),
                "GCE_METADATA",
                pool.clone(),
            ),
            node.clone(),
        ]);
        let docs = project_policy(json!([{"role": "roles/editor", "members": members}]));
        let (g, _) = graph(&fleet(vec![gke_cluster("staging", objects)], docs));
        assert_eq!(
            has(
                &g,
                "GcpServiceAccount:default-compute@p1",
                "CloudAdmin:gcp:p1",
                Technique::CLOUD_ROLE_TO_ADMIN
            ),
            expect
        );
    }
}

#[test]
fn a_principal_reaches_every_account_it_can_become_admin_of() {
    const THIRD: &str = "777788889999";
    let assume_all = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let trusts_hub = || {
        json!({"Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCT}:role/hub")}, "Action": "sts:AssumeRole"}]})
    };
    let mut objects = web_app(None);
    objects.push(describe("prod", ACCT, "A", "API"));
    let docs = vec![
        gaad(vec![role(
            ACCT,
            "hub",
            irsa_trust("A", ACCT, "StringEquals", "system:serviceaccount:shop:api"),
            assume_all,
        )]),
        gaad(vec![role(OTHER, "admin", trusts_hub(), admin_policy())]),
        gaad(vec![role(THIRD, "admin", trusts_hub(), admin_policy())]),
    ];
    let (g, _) = graph(&fleet(vec![cluster("prod", objects)], docs));
    assert!(has(
        &g,
        &role_ref(ACCT, "hub"),
        &format!("CloudAdmin:aws:{ACCT}"),
        Technique::CLOUD_ROLE_TO_ADMIN
    ));
    // The other accounts through the admin roles it may assume (a hop each).
    for acct in [OTHER, THIRD] {
        assert!(
            has(
                &g,
                &role_ref(ACCT, "hub"),
                &role_ref(acct, "admin"),
                Technique::AWS_ASSUME_ROLE
            ),
            "{acct}"
        );
        assert!(
            has(
                &g,
                &role_ref(acct, "admin"),
                &format!("CloudAdmin:aws:{acct}"),
                Technique::CLOUD_ROLE_TO_ADMIN
            ),
            "{acct}"
        );
    }
}

#[test]
fn chained_pod_identity_and_gsa_token_creators_are_checked() {
    // targetRoleArn in a scanned account: its trust decides the chained edge.
    let pods_trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"]}]});
    let trusts = |who: &str| {
        json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": who}, "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"sts:ExternalId": "x-1"}}}]})
    };
    let mut objects = web_app(None);
    objects.push(describe("prod", ACCT, "A", "API"));
    for (id, target) in [("a-ok", "target-ok"), ("a-no", "target-no")] {
        objects.push(cloud("EksPodIdentityAssociation", id, json!({"associationId": id, "namespace": "shop", "serviceAccount": "api",
            "roleArn": format!("arn:aws:iam::{ACCT}:role/pi"), "targetRoleArn": format!("arn:aws:iam::{OTHER}:role/{target}"), "externalId": "x-1"})));
    }
    let docs = vec![
        gaad(vec![role(ACCT, "pi", pods_trust, s3_read())]),
        gaad(vec![
            role(
                OTHER,
                "target-ok",
                trusts(&format!("arn:aws:iam::{ACCT}:role/pi")),
                s3_read(),
            ),
            role(
                OTHER,
                "target-no",
                trusts(&format!("arn:aws:iam::{ACCT}:role/someone-else")),
                s3_read(),
            ),
        ]),
    ];
    let (g, notes) = graph(&fleet(vec![cluster("prod", objects)], docs));
    assert!(has(
        &g,
        &role_ref(ACCT, "pi"),
        &role_ref(OTHER, "target-ok"),
        Technique::EKS_POD_IDENTITY
    ));
    assert!(!has(
        &g,
        &role_ref(ACCT, "pi"),
        &role_ref(OTHER, "target-no"),
        Technique::EKS_POD_IDENTITY
    ));
    assert!(notes.iter().any(|n| n.contains("a-no")), "{notes:?}");

    // A GSA whose policy gives serviceAccountTokenCreator to a direct-federation principal.
    let gsa = "ops@p1.iam.gserviceaccount.com";
    let objects = staging_with_workload_identity();
    let principal = "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p1.svc.id.goog/subject/ns/shop/sa/api";
    let mut docs = gsa_policy(
        gsa,
        json!([{"role": "roles/iam.serviceAccountTokenCreator", "members": [principal]}]),
    );
    docs.extend(project_policy(json!([{"role": "roles/owner", "members": ["serviceAccount:p1.svc.id.goog[batch/worker]"]}])));
    let (g, _) = graph(&fleet(vec![gke_cluster("staging", objects)], docs));
    assert!(has(
        &g,
        "staging|ServiceAccount:shop/api",
        &format!("GcpServiceAccount:{gsa}"),
        Technique::GKE_WI_ASSUME
    ));
    assert!(
        has(
            &g,
            "staging|ServiceAccount:batch/worker",
            "CloudAdmin:gcp:p1",
            Technique::CLOUD_ROLE_TO_ADMIN
        ),
        "a KSA that is project owner"
    );
}

/// GKE node OAuth scopes limit the node's token: with the legacy read-only defaults the node
/// service account's project roles are out of reach (no edge); with cloud-platform they are not.
#[test]
fn gke_node_scopes_limit_the_node_token() {
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gke-n1", "labels": {"cloud.google.com/gke-nodepool": "pool-1"}}});
    let nodes_sa = "GcpServiceAccount:nodes@p1.iam.gserviceaccount.com";
    let legacy = json!([
        "https://www.googleapis.com/auth/devstorage.read_only",
        "https://www.googleapis.com/auth/logging.write",
        "https://www.googleapis.com/auth/monitoring",
        "https://www.googleapis.com/auth/servicecontrol",
        "https://www.googleapis.com/auth/service.management.readonly",
        "https://www.googleapis.com/auth/trace.append"
    ]);
    for (scopes, reachable) in [
        (legacy, false),
        (
            json!(["https://www.googleapis.com/auth/cloud-platform"]),
            true,
        ),
        (json!(["https://www.googleapis.com/auth/compute"]), true),
    ] {
        let mut c = gke("staging", None, "GCE_METADATA", json!({}));
        c["spec"]["nodePools"][0]["config"]["oauthScopes"] = scopes.clone();
        let mut objects = web_app(None);
        objects.extend([c, node.clone()]);
        let (g, _) = graph(&fleet(vec![gke_cluster("staging", objects)], vec![]));
        assert_eq!(
            has(
                &g,
                "staging|Node:gke-n1",
                nodes_sa,
                Technique::NODE_CLOUD_IDENTITY
            ),
            reachable,
            "{scopes}"
        );
        assert_eq!(
            has(
                &g,
                "staging|Deployment:shop/web",
                nodes_sa,
                Technique::POD_IMDS_PIVOT
            ),
            reachable,
            "{scopes}"
        );
    }
}

/// AWS role chaining: a principal that may assume a role (trust admits it, and its own policies
/// allow the call unless the trust names it in the same account) reaches that role, and on to
/// what the role is in the cluster; cycles end; both policies are named.
#[test]
fn aws_role_chaining_reaches_mapped_roles_and_admin() {
    let assume = |target: &str| json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": format!("arn:aws:iam::{ACCT}:role/{target}")}]});
    let trust_of = |arn: String| json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}]});
    let root_trust = trust_of(format!("arn:aws:iam::{ACCT}:root"));
    let alice = format!("arn:aws:iam::{ACCT}:user/alice");
    let roles = vec![
        // The pod's IRSA role may assume `deployer` (account-root trust + identity policy).
        role(
            ACCT,
            "pod",
            irsa_trust("A", ACCT, "StringEquals", "system:serviceaccount:shop:api"),
            assume("deployer"),
        ),
        role(ACCT, "deployer", root_trust.clone(), assume("hop")),
        role(ACCT, "hop", root_trust.clone(), assume("deployer")),
        // `ops` is mapped to system:masters and trusts alice by name.
        role(ACCT, "ops", trust_of(alice.clone()), s3_read()),
        // Trusts the account, but nobody's policy allows assuming it.
        role(ACCT, "unused", root_trust.clone(), s3_read()),
        // Trusts only a service.
        role(
            ACCT,
            "lambda",
            json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            s3_read(),
        ),
    ];
    let users = vec![
        user(ACCT, "alice", s3_read()),
        // bob's policy allows assuming ops, but ops's trust names only alice.
        user(ACCT, "bob", assume("ops")),
    ];
    let mut objects = web_app(Some(&format!("arn:aws:iam::{ACCT}:role/pod")));
    objects.push(describe("prod", ACCT, "A", "CONFIG_MAP"));
    objects.push(aws_auth(&format!(
        "- rolearn: arn:aws:iam::{ACCT}:role/deployer\n  username: deployer\n  groups: [system:masters]\n- rolearn: arn:aws:iam::{ACCT}:role/ops\n  username: ops\n  groups: [system:masters]\n"
    )));
    let (g, _) = graph(&fleet(
        vec![cluster("prod", objects)],
        vec![gaad_with_users(roles, users)],
    ));
    let pod = role_ref(ACCT, "pod");
    let deployer = role_ref(ACCT, "deployer");
    assert!(has(&g, &pod, &deployer, Technique::AWS_ASSUME_ROLE));
    // The cycle deployer → hop → deployer exists and ends; the IRSA role trusts no AWS caller.
    let hop = role_ref(ACCT, "hop");
    assert!(has(&g, &deployer, &hop, Technique::AWS_ASSUME_ROLE));
    assert!(has(&g, &hop, &deployer, Technique::AWS_ASSUME_ROLE));
    assert!(!has(&g, &hop, &pod, Technique::AWS_ASSUME_ROLE));
    let edge = {
        let (a, b) = (
            node(&g, &pod).expect("pod"),
            node(&g, &deployer).expect("deployer"),
        );
        g.graph
            .edges_connecting(a, b)
            .next()
            .expect("edge")
            .weight()
            .evidence
            .clone()
    };
    assert!(
        edge.contains("identity policies of") && edge.contains("trust policy of"),
        "{edge}"
    );
    // Named in the trust, same account: no identity policy needed.
    let alice_ref = format!("AwsUser:{alice}");
    assert!(has(
        &g,
        &alice_ref,
        &role_ref(ACCT, "ops"),
        Technique::AWS_ASSUME_ROLE
    ));
    assert!(
        g.graph[node(&g, &alice_ref).expect("alice")].entry,
        "a caller that may assume a mapped role is an entry point"
    );
    assert!(!has(
        &g,
        &format!("AwsUser:arn:aws:iam::{ACCT}:user/bob"),
        &role_ref(ACCT, "ops"),
        Technique::AWS_ASSUME_ROLE
    ));
    assert!(
        node(&g, &role_ref(ACCT, "unused")).is_none(),
        "no one may assume it"
    );
    // who-can answers the same: alice holds system:masters through the role she may assume.
    let q = kspm_engine::graph::query::Query::new(&g);
    let subjects: std::collections::HashSet<String> =
        ["Group:system:masters".to_string()].into_iter().collect();
    let holders = q.cloud_holders("prod", &subjects, false);
    let alice_holds = holders
        .iter()
        .find(|h| h.principal == alice_ref && h.becomes == "Group:system:masters")
        .expect("alice through ops");
    assert_eq!(alice_holds.technique, "AWS_ASSUME_ROLE");
    assert!(
        alice_holds.evidence.contains("role/ops"),
        "{}",
        alice_holds.evidence
    );
    assert!(
        !holders
            .iter()
            .any(|h| h.principal == format!("AwsUser:arn:aws:iam::{ACCT}:user/bob")),
        "bob may not assume ops"
    );
    assert!(
        node(&g, &role_ref(ACCT, "lambda")).is_none(),
        "service trust only"
    );
    // The whole chain is one path: internet → … → pod role → deployer → system:masters.
    let report = evaluate(&fleet(
        vec![cluster("prod", {
            let mut o = web_app(Some(&format!("arn:aws:iam::{ACCT}:role/pod")));
            o.push(describe("prod", ACCT, "A", "CONFIG_MAP"));
            o.push(aws_auth(&format!(
                    "- rolearn: arn:aws:iam::{ACCT}:role/deployer\n  username: deployer\n  groups: [system:masters]\n"
                )));
            o
        })],
        vec![gaad(vec![
            role(
                ACCT,
                "pod",
                irsa_trust("A", ACCT, "StringEquals", "system:serviceaccount:shop:api"),
                assume("deployer"),
            ),
            role(ACCT, "deployer", root_trust, s3_read()),
        ])],
    ));
    let p = report
        .attack_paths
        .iter()
        .find(|p| p.nodes.iter().any(|n| n == "Deployment:shop/web") && p.target == "ClusterAdmin")
        .expect("web → admin through the chain");
    let techniques: Vec<&str> = p.steps.iter().map(|s| s.technique.as_str()).collect();
    assert!(
        techniques
            .windows(2)
            .any(|w| w == ["IRSA_ASSUME", "AWS_ASSUME_ROLE"]),
        "{techniques:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// One case per cloud technique (section 4), as the cluster sections have theirs in
// `engine/src/graph/tests/cases.rs`: a fleet that draws the edge between the ends named, and the
// nearest fleet without the precondition, which must not.

/// A cloud technique's case.
struct CloudCase {
    technique: Technique,
    from: String,
    to: String,
    yes: Snapshot,
    no: Snapshot,
}

fn cloud_case(
    technique: Technique,
    from: &str,
    to: &str,
    yes: Snapshot,
    no: Snapshot,
) -> CloudCase {
    CloudCase {
        technique,
        from: from.to_string(),
        to: to.to_string(),
        yes,
        no,
    }
}

/// An EKS cluster `prod` running the web app, with `extra` objects and the account's roles.
fn eks_fleet(mode: &str, extra: Vec<Value>, roles: Vec<Value>) -> Snapshot {
    let mut objects = web_app(None);
    objects.push(describe("prod", ACCT, "A", mode));
    objects.extend(extra);
    let cloud = if roles.is_empty() {
        vec![]
    } else {
        vec![gaad(roles)]
    };
    fleet(vec![cluster("prod", objects)], cloud)
}

/// A GKE cluster `staging` running the web app.
fn gke_fleet(
    pool: Option<&str>,
    mode: &str,
    gke_extra: Value,
    extra: Vec<Value>,
    docs: Vec<Object>,
) -> Snapshot {
    let mut objects = web_app(None);
    objects.push(gke("staging", pool, mode, gke_extra));
    objects.extend(extra);
    fleet(vec![gke_cluster("staging", objects)], docs)
}

/// An AKS cluster `payments` running the web app.
fn aks_fleet(aks_extra: Value, assignments: Vec<Value>) -> Snapshot {
    let mut objects = web_app(None);
    objects.push(aks(aks_extra));
    fleet(vec![aks_cluster(objects)], azure_docs(assignments))
}

fn cloud_cases() -> Vec<CloudCase> {
    use Technique as T;
    let node_role = role_ref(ACCT, "node");
    let eks_node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ip-10-0-0-1", "labels": {"eks.amazonaws.com/nodegroup": "ng1"}}});
    let imds = |options: Value| vec![nodegroup("1"), lt(1, options), eks_node.clone()];
    let sub = |sa: &str| {
        irsa_trust(
            "A",
            ACCT,
            "StringEquals",
            &format!("system:serviceaccount:{sa}"),
        )
    };
    let pods_trust = |actions: Value| json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": actions}]});
    let association = cloud(
        "EksPodIdentityAssociation",
        "a-1",
        json!({"associationId": "a-1", "namespace": "shop", "serviceAccount": "api", "roleArn": format!("arn:aws:iam::{ACCT}:role/pi")}),
    );
    let ops = format!("arn:aws:iam::{ACCT}:role/ops");
    let masters = aws_auth(&format!(
        "- rolearn: {ops}\n  username: ops\n  groups: [system:masters]\n"
    ));
    let entry = cloud(
        "EksAccessEntry",
        &ops,
        json!({"principalArn": ops, "type": "STANDARD", "kubernetesGroups": ["viewers"]}),
    );
    let viewers = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "viewers"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "Group", "name": "viewers", "apiGroup": "rbac.authorization.k8s.io"}]});
    let access_policy = |policy: &str, scope: Value| {
        vec![
            cloud(
                "EksAccessEntry",
                &ops,
                json!({"principalArn": ops, "type": "STANDARD"}),
            ),
            cloud(
                "EksAssociatedAccessPolicies",
                &ops,
                json!({"principalArn": ops,
                "associatedAccessPolicies": [{"policyArn": format!("arn:aws:eks::aws:cluster-access-policy/{policy}"), "accessScope": scope}]}),
            ),
        ]
    };
    let eks_admin = json!({"Statement": [{"Effect": "Allow", "Action": ["eks:CreateAccessEntry", "eks:AssociateAccessPolicy"], "Resource": "*"}]});
    let root_trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCT}:root")}, "Action": "sts:AssumeRole"}]});
    let assume_admin = json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": format!("arn:aws:iam::{ACCT}:role/break-glass")}]});
    let gsa = "app@p1.iam.gserviceaccount.com";
    let wi_docs = || {
        let mut d = gsa_policy(
            gsa,
            json!([{"role": "roles/iam.workloadIdentityUser", "members": ["serviceAccount:p1.svc.id.goog[shop/api]"]}]),
        );
        d.extend(project_policy(
            json!([{"role": "roles/owner", "members": [format!("serviceAccount:{gsa}")]}]),
        ));
        d
    };
    let project_role = |role: &str| {
        project_policy(json!([{"role": role, "members": ["group:platform@example.com"]}]))
    };
    let sre = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "sre"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "name": "sre@example.com", "apiGroup": "rbac.authorization.k8s.io"}]});
    let groups = |enabled: bool| json!({"authenticatorGroupsConfig": {"enabled": enabled, "securityGroup": "gke-security-groups@example.com"}});
    let admin_for_all = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "oops"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}]});
    let gke_node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gke-n1", "labels": {"cloud.google.com/gke-nodepool": "pool-1"}}});
    let uami = "AzureIdentity:/subscriptions/s1/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/payments-api";
    let owner = || {
        vec![assignment(
            "obj-api",
            "ServicePrincipal",
            OWNER,
            "/subscriptions/s1",
        )]
    };
    vec![
        cloud_case(
            T::NODE_CLOUD_IDENTITY,
            "staging|Node:gke-n1",
            "GcpServiceAccount:nodes@p1.iam.gserviceaccount.com",
            gke_fleet(
                Some("p1.svc.id.goog"),
                "GKE_METADATA",
                json!({}),
                vec![gke_node.clone()],
                vec![],
            ),
            gke_fleet(
                Some("p1.svc.id.goog"),
                "GKE_METADATA",
                json!({}),
                vec![
                    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gke-n1", "labels": {"cloud.google.com/gke-nodepool": "pool-9"}}}),
                ],
                vec![],
            ),
        ),
        cloud_case(
            T::POD_IMDS_PIVOT,
            "prod|Deployment:shop/web",
            &node_role,
            eks_fleet(
                "API",
                imds(json!({"HttpTokens": "optional", "HttpPutResponseHopLimit": 1})),
                vec![],
            ),
            eks_fleet(
                "API",
                imds(json!({"HttpTokens": "required", "HttpPutResponseHopLimit": 1})),
                vec![],
            ),
        ),
        cloud_case(
            T::IRSA_ASSUME,
            "prod|ServiceAccount:shop/api",
            &role_ref(ACCT, "app"),
            eks_fleet(
                "API",
                vec![],
                vec![role(ACCT, "app", sub("shop:api"), s3_read())],
            ),
            eks_fleet(
                "API",
                vec![],
                vec![role(ACCT, "app", sub("batch:worker"), s3_read())],
            ),
        ),
        cloud_case(
            T::EKS_POD_IDENTITY,
            "prod|ServiceAccount:shop/api",
            &role_ref(ACCT, "pi"),
            eks_fleet(
                "API",
                vec![association.clone()],
                vec![role(
                    ACCT,
                    "pi",
                    pods_trust(json!(["sts:AssumeRole", "sts:TagSession"])),
                    s3_read(),
                )],
            ),
            eks_fleet(
                "API",
                vec![association],
                vec![role(
                    ACCT,
                    "pi",
                    pods_trust(json!("sts:AssumeRole")),
                    s3_read(),
                )],
            ),
        ),
        cloud_case(
            T::AWS_AUTH_MAP,
            &role_ref(ACCT, "ops"),
            "prod|Group:system:masters",
            eks_fleet("CONFIG_MAP", vec![masters.clone()], vec![]),
            eks_fleet("API", vec![masters], vec![]),
        ),
        cloud_case(
            T::EKS_ACCESS_ENTRY,
            &role_ref(ACCT, "ops"),
            "prod|Group:viewers",
            eks_fleet(
                "API_AND_CONFIG_MAP",
                vec![entry.clone(), viewers.clone()],
                vec![],
            ),
            eks_fleet("CONFIG_MAP", vec![entry, viewers], vec![]),
        ),
        cloud_case(
            T::EKS_ACCESS_POLICY,
            &role_ref(ACCT, "ops"),
            "prod|ClusterAdmin",
            eks_fleet(
                "API",
                access_policy("AmazonEKSClusterAdminPolicy", json!({"type": "cluster"})),
                vec![],
            ),
            eks_fleet(
                "API",
                access_policy(
                    "AmazonEKSEditPolicy",
                    json!({"type": "namespace", "namespaces": ["shop"]}),
                ),
                vec![],
            ),
        ),
        cloud_case(
            T::AWS_IAM_TO_EKS_API,
            &role_ref(ACCT, "eks-admin"),
            "prod|ClusterAdmin",
            eks_fleet(
                "API",
                vec![],
                vec![role(ACCT, "eks-admin", sub("shop:api"), eks_admin)],
            ),
            eks_fleet(
                "API",
                vec![],
                vec![role(ACCT, "eks-admin", sub("shop:api"), s3_read())],
            ),
        ),
        cloud_case(
            T::CLOUD_ROLE_TO_ADMIN,
            &role_ref(ACCT, "app"),
            &format!("CloudAdmin:aws:{ACCT}"),
            eks_fleet(
                "API",
                vec![],
                vec![role(ACCT, "app", sub("shop:api"), admin_policy())],
            ),
            eks_fleet(
                "API",
                vec![],
                vec![role(ACCT, "app", sub("shop:api"), s3_read())],
            ),
        ),
        cloud_case(
            T::AWS_ASSUME_ROLE,
            &role_ref(ACCT, "hopper"),
            &role_ref(ACCT, "break-glass"),
            eks_fleet(
                "API",
                vec![],
                vec![
                    role(ACCT, "hopper", sub("shop:api"), assume_admin),
                    role(ACCT, "break-glass", root_trust.clone(), admin_policy()),
                ],
            ),
            eks_fleet(
                "API",
                vec![],
                vec![
                    role(ACCT, "hopper", sub("shop:api"), s3_read()),
                    role(ACCT, "break-glass", root_trust, admin_policy()),
                ],
            ),
        ),
        cloud_case(
            T::GKE_WI_ASSUME,
            "staging|ServiceAccount:shop/api",
            &format!("GcpServiceAccount:{gsa}"),
            gke_fleet(
                Some("p1.svc.id.goog"),
                "GKE_METADATA",
                json!({}),
                vec![],
                wi_docs(),
            ),
            gke_fleet(None, "GKE_METADATA", json!({}), vec![], wi_docs()),
        ),
        cloud_case(
            T::GKE_IAM_TO_K8S,
            "GcpGroup:platform@example.com",
            "staging|ClusterAdmin",
            gke_fleet(
                Some("p1.svc.id.goog"),
                "GKE_METADATA",
                json!({}),
                vec![],
                project_role("roles/container.admin"),
            ),
            gke_fleet(
                Some("p1.svc.id.goog"),
                "GKE_METADATA",
                json!({}),
                vec![],
                project_role("roles/container.viewer"),
            ),
        ),
        cloud_case(
            T::GKE_GROUPS_RBAC,
            "GcpGroup:sre@example.com",
            "staging|Group:sre@example.com",
            gke_fleet(
                Some("p1.svc.id.goog"),
                "GKE_METADATA",
                groups(true),
                vec![sre.clone()],
                vec![],
            ),
            gke_fleet(
                Some("p1.svc.id.goog"),
                "GKE_METADATA",
                groups(false),
                vec![sre],
                vec![],
            ),
        ),
        cloud_case(
            T::GKE_AUTHENTICATED_PUBLIC,
            "Internet",
            "staging|Group:system:authenticated",
            gke_fleet(
                Some("p1.svc.id.goog"),
                "GKE_METADATA",
                json!({}),
                vec![admin_for_all.clone(), gke_node.clone()],
                vec![],
            ),
            gke_fleet(
                Some("p1.svc.id.goog"),
                "GKE_METADATA",
                json!({"rbacBindingConfig": {"enableInsecureBindingSystemAuthenticated": false}}),
                vec![admin_for_all, gke_node],
                vec![],
            ),
        ),
        cloud_case(
            T::AKS_WI_ASSUME,
            "payments|ServiceAccount:shop/api",
            uami,
            aks_fleet(json!({}), owner()),
            aks_fleet(
                json!({"oidcIssuerProfile": {"enabled": true, "issuerURL": "https://westeurope.oic.prod-aks.azure.com/tenant/elsewhere/"}}),
                owner(),
            ),
        ),
        cloud_case(
            T::AKS_ENTRA_TO_K8S,
            "AzureUser:u-admin",
            "payments|ClusterAdmin",
            aks_fleet(
                json!({}),
                vec![assignment("u-admin", "User", RBAC_CLUSTER_ADMIN, AKS_ID)],
            ),
            aks_fleet(
                json!({"aadProfile": {"managed": true, "enableAzureRBAC": false, "adminGroupObjectIDs": ["grp-admins"]}}),
                vec![assignment("u-admin", "User", RBAC_CLUSTER_ADMIN, AKS_ID)],
            ),
        ),
    ]
}

#[test]
fn every_cloud_technique_has_a_case() {
    let cases = cloud_cases();
    let mut failures = Vec::new();
    for c in &cases {
        let (yes, _) = graph(&c.yes);
        if !has(&yes, &c.from, &c.to, c.technique) {
            failures.push(format!(
                "{:?}: no {} → {} on its positive case",
                c.technique, c.from, c.to
            ));
        }
        let (no, _) = graph(&c.no);
        if has(&no, &c.from, &c.to, c.technique) {
            failures.push(format!(
                "{:?}: {} → {} drawn on its negative case",
                c.technique, c.from, c.to
            ));
        }
    }
    for t in kspm_engine::graph::techniques::CATALOGUE {
        if t.section == 4 && !cases.iter().any(|c| c.technique == t.id) {
            failures.push(format!("{:?} (section 4) has no case", t.id));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// KSPM-N-020: a pod that reaches IMDS is reported only when the node role it obtains is
/// powerful on the fleet's graph (here: account admin by its IAM policy); the same pod with a
/// node role that can only read S3 objects, or with the metadata server denied by an egress
/// policy, is not. The compliance summary counts what the report lists.
#[test]
fn metadata_identity_is_reported_only_when_the_node_role_is_powerful() {
    let n020 = |policy: Value, extra: Vec<Value>| {
        let mut objects = web_app(None);
        objects.extend([
            describe("prod", ACCT, "A", "API"),
            nodegroup("1"),
            lt(1, json!({"HttpTokens": "optional"})),
        ]);
        objects.extend(extra);
        let node_role = role(ACCT, "node", json!({}), policy);
        let report = evaluate(&fleet(
            vec![cluster("prod", objects)],
            vec![gaad(vec![node_role])],
        ));
        // Findings counted by the controls KSPM-N-020 maps to, and how many such controls.
        let controls: Vec<usize> = report
            .compliance
            .iter()
            .flat_map(|s| s.controls.iter())
            .filter(|c| c.checks.iter().any(|x| x == "KSPM-N-020"))
            .map(|c| c.findings)
            .collect();
        let failing = (controls.iter().sum::<usize>(), controls.len());
        let found: Vec<String> = report
            .findings
            .into_iter()
            .filter(|f| f.check == "KSPM-N-020")
            .map(|f| format!("{}: {}", f.resource, f.message))
            .collect();
        (found, failing)
    };
    let (found, failing) = n020(admin_policy(), vec![]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("Deployment:shop/web: pods may take node identity AwsRole:arn:aws:iam::111122223333:role/node")
            && found[0].contains("reaches CloudAdmin"),
        "{found:?}"
    );
    let (found, weak) = n020(s3_read(), vec![]);
    assert!(found.is_empty(), "{found:?}");
    // Each control KSPM-N-020 maps counts its one finding, and only where it is reported.
    assert!(failing.1 > 0 && failing.1 == weak.1);
    assert_eq!(failing.0, weak.0 + failing.1, "{failing:?} {weak:?}");
    // An exception suppresses what the graph confirms, and only that: a candidate the graph
    // drops is not listed as suppressed either.
    let excepted = |policy: Value| {
        let mut objects = web_app(None);
        objects.extend([
            describe("prod", ACCT, "A", "API"),
            nodegroup("1"),
            lt(1, json!({"HttpTokens": "optional"})),
        ]);
        let options = ScanOptions {
            exceptions: vec![kspm_engine::options::Exception {
                check: "KSPM-N-020".into(),
                resource: Some("Deployment:shop/*".into()),
                cluster: None,
                reason: "accepted".into(),
                expires: None,
            }],
            ..Default::default()
        };
        let snapshot = fleet(
            vec![cluster("prod", objects)],
            vec![gaad(vec![role(ACCT, "node", json!({}), policy)])],
        );
        let report = kspm_engine::evaluate_with(&snapshot, &options);
        let count = |checks: Vec<&str>| checks.iter().filter(|c| **c == "KSPM-N-020").count();
        (
            count(report.findings.iter().map(|f| f.check.as_ref()).collect()),
            count(report.suppressed.iter().map(|s| s.check.as_ref()).collect()),
            report.summary.suppressed,
        )
    };
    let (listed, suppressed, total) = excepted(admin_policy());
    assert_eq!((listed, suppressed), (0, 1));
    let (_, weak_suppressed, weak_total) = excepted(s3_read());
    assert_eq!(weak_suppressed, 0);
    assert_eq!(total, weak_total + 1);
    let deny = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "no-egress", "namespace": "shop"},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"]}});
    let (found, _) = n020(admin_policy(), vec![deny]);
    assert!(found.is_empty(), "{found:?}");
}
