//! The NetworkPolicy rules one by one, each with the case that must not match.

use super::*;
use crate::parse::{parse_text, Syntax};
use crate::snapshot::ClusterSnapshot;

pub(super) const WEB: &str = "Deployment:shop/web";
pub(super) const DB: &str = "Deployment:shop/db";
pub(super) const OTHER: &str = "Deployment:ops/tool";

/// shop/web (app=web), shop/db (app=db, port `pg` 5432, `metrics` 9100), ops/tool (app=web, in
/// a namespace labelled team=ops), plus the policies given.
pub(crate) fn cluster(policies: &str) -> ClusterSnapshot {
    let base = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops, labels: {team: ops}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:1"}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: "db:1"
        ports: [{name: pg, containerPort: 5432}, {name: metrics, containerPort: 9100}, {name: dns, containerPort: 53, protocol: UDP}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tool, namespace: ops}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: tool, image: "tool:1"}]}
"#;
    let text = format!("{base}\n---\n{policies}");
    let out = parse_text(&text, "c.yaml", Syntax::Yaml);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    ClusterSnapshot {
        objects: out.objects,
        ..Default::default()
    }
}

pub(super) fn np(ns: &str, name: &str, spec: &str) -> String {
    format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {spec}\n---\n")
}

pub(super) fn ask(policies: &str, from: &str, to: &str, port: u16, protocol: &str) -> Verdict {
    let c = cluster(policies);
    let inv = Inventory::new(&c);
    let model = Model::of(&inv);
    let party = |r: &str| match r.parse::<IpAddr>() {
        Ok(ip) => Party::Address(ip),
        Err(_) => Party::Pods(pods_of(&inv, r).expect(r)),
    };
    model.connect(&party(from), &party(to), port, protocol)
}

pub(super) fn answer(policies: &str, from: &str, to: &str, port: u16) -> Answer {
    ask(policies, from, to, port, "TCP").answer
}

#[test]
fn no_policy_means_open() {
    assert_eq!(answer("", WEB, DB, 5432), Answer::Yes);
}

#[test]
fn a_default_deny_isolates_only_its_own_namespace() {
    let deny = np("shop", "deny", "{podSelector: {}, policyTypes: [Ingress]}");
    let v = ask(&deny, WEB, DB, 5432, "TCP");
    assert_eq!(v.answer, Answer::No);
    assert_eq!(
        v.ingress.expect("ingress").isolated_by,
        ["NetworkPolicy:shop/deny"]
    );
    // The same policy in another namespace isolates nothing here.
    let elsewhere = np("ops", "deny", "{podSelector: {}, policyTypes: [Ingress]}");
    assert_eq!(answer(&elsewhere, WEB, DB, 5432), Answer::Yes);
    // A policy selecting other pods does not isolate db.
    let others = np(
        "shop",
        "web-only",
        "{podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}",
    );
    assert_eq!(answer(&others, WEB, DB, 5432), Answer::Yes);
}

#[test]
fn policy_types_default_as_the_api_server_defaults_them() {
    // No policyTypes, an egress rule: Ingress and Egress are both isolated.
    let p = np(
        "shop",
        "p",
        "{podSelector: {matchLabels: {app: db}}, egress: [{}]}",
    );
    assert_eq!(
        answer(&p, WEB, DB, 5432),
        Answer::No,
        "ingress is isolated with no rule"
    );
    assert_eq!(
        answer(&p, DB, WEB, 80),
        Answer::Yes,
        "egress is allowed to everyone"
    );
    // An empty egress list does not add Egress.
    let p = np(
        "shop",
        "p",
        "{podSelector: {matchLabels: {app: web}}, egress: []}",
    );
    let v = ask(&p, WEB, DB, 5432, "TCP");
    assert!(v.egress.expect("egress").isolated_by.is_empty());
    // Explicit Egress only: ingress stays open.
    let p = np(
        "shop",
        "p",
        "{podSelector: {matchLabels: {app: db}}, policyTypes: [Egress]}",
    );
    assert_eq!(answer(&p, WEB, DB, 5432), Answer::Yes);
    assert_eq!(answer(&p, DB, WEB, 80), Answer::No);
}

#[test]
fn both_directions_must_allow() {
    let egress_deny = np(
        "shop",
        "e",
        "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress]}",
    );
    let ingress_allow = np(
        "shop",
        "i",
        "{podSelector: {matchLabels: {app: db}}, ingress: [{}]}",
    );
    let v = ask(
        &format!("{egress_deny}{ingress_allow}"),
        WEB,
        DB,
        5432,
        "TCP",
    );
    assert_eq!(v.answer, Answer::No);
    assert_eq!(v.ingress.expect("i").allowed_by, ["NetworkPolicy:shop/i"]);
}

#[test]
fn pod_selector_peers_are_the_policy_namespace_only() {
    let p = np("shop", "p", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]}");
    assert_eq!(answer(&p, WEB, DB, 5432), Answer::Yes);
    // ops/tool carries app=web too, but lives in another namespace.
    assert_eq!(answer(&p, OTHER, DB, 5432), Answer::No);
}

#[test]
fn namespace_and_pod_selectors_and_in_one_peer_or_across_peers() {
    let and = np("shop", "p", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}, podSelector: {matchLabels: {app: nope}}}]}]}");
    assert_eq!(answer(&and, OTHER, DB, 5432), Answer::No);
    let or = np("shop", "p", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}}, {podSelector: {matchLabels: {app: nope}}}]}]}");
    assert_eq!(answer(&or, OTHER, DB, 5432), Answer::Yes);
    assert_eq!(answer(&or, WEB, DB, 5432), Answer::No);
    // The name label every namespace carries.
    let by_name = np("shop", "p", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}}]}]}");
    assert_eq!(answer(&by_name, OTHER, DB, 5432), Answer::Yes);
    // An empty namespaceSelector is every namespace; an empty podSelector every pod of the policy's.
    let all_ns = np(
        "shop",
        "p",
        "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: {}}]}]}",
    );
    assert_eq!(answer(&all_ns, OTHER, DB, 5432), Answer::Yes);
    let same_ns = np(
        "shop",
        "p",
        "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {}}]}]}",
    );
    assert_eq!(answer(&same_ns, WEB, DB, 5432), Answer::Yes);
    assert_eq!(answer(&same_ns, OTHER, DB, 5432), Answer::No);
}

#[test]
fn ports_by_number_range_name_and_protocol() {
    let rule = |ports: &str| {
        np(
            "shop",
            "p",
            &format!(
                "{{podSelector: {{matchLabels: {{app: db}}}}, ingress: [{{ports: {ports}}}]}}"
            ),
        )
    };
    assert_eq!(answer(&rule("[{port: 5432}]"), WEB, DB, 5432), Answer::Yes);
    assert_eq!(answer(&rule("[{port: 5432}]"), WEB, DB, 9100), Answer::No);
    assert_eq!(
        answer(&rule("[{port: 9000, endPort: 9200}]"), WEB, DB, 9100),
        Answer::Yes
    );
    assert_eq!(
        answer(&rule("[{port: 9000, endPort: 9050}]"), WEB, DB, 9100),
        Answer::No
    );
    assert_eq!(answer(&rule("[{port: pg}]"), WEB, DB, 5432), Answer::Yes);
    assert_eq!(answer(&rule("[{port: pg}]"), WEB, DB, 9100), Answer::No);
    assert_eq!(
        answer(&rule("[{port: 5432, protocol: UDP}]"), WEB, DB, 5432),
        Answer::No
    );
    assert_eq!(
        ask(&rule("[{protocol: UDP}]"), WEB, DB, 53, "UDP").answer,
        Answer::Yes
    );
    assert_eq!(answer(&rule("[{protocol: UDP}]"), WEB, DB, 53), Answer::No);
    // Egress: a named port is the destination's, not the source's.
    let egress = np("shop", "e", "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{ports: [{port: metrics}]}]}");
    assert_eq!(answer(&egress, WEB, DB, 9100), Answer::Yes);
    assert_eq!(answer(&egress, WEB, DB, 5432), Answer::No);
}

#[test]
fn ip_blocks_match_addresses_outside_their_exceptions() {
    let p = np("shop", "e", "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]}]}");
    assert_eq!(answer(&p, WEB, "10.2.3.4", 443), Answer::Yes);
    assert_eq!(answer(&p, WEB, "10.1.3.4", 443), Answer::No);
    assert_eq!(answer(&p, WEB, "192.168.1.1", 443), Answer::No);
    let meta = np("shop", "m", "{podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]}]}");
    assert_eq!(answer(&meta, WEB, "169.254.169.254", 80), Answer::No);
    assert_eq!(answer(&meta, WEB, "203.0.113.9", 80), Answer::Yes);
    // A pod whose address the input does not hold: not decidable.
    let v = ask(&meta, WEB, DB, 5432, "TCP");
    assert_eq!(v.answer, Answer::Unknown);
    assert!(!v.notes.is_empty());
    // IPv6.
    let v6 = np(
        "shop",
        "e",
        "{podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 'fd00::/8'}}]}]}",
    );
    assert_eq!(answer(&v6, WEB, "fd00:ec2::254", 80), Answer::Yes);
    assert_eq!(answer(&v6, WEB, "2001:db8::1", 80), Answer::No);
}

#[test]
fn other_plugins_policies_make_the_answer_undecidable() {
    let antrea = "apiVersion: crd.antrea.io/v1beta1\nkind: ClusterNetworkPolicy\nmetadata: {name: c}\nspec: {priority: 5, appliedTo: [{podSelector: {}}]}\n---\n";
    let v = ask(antrea, WEB, DB, 5432, "TCP");
    assert_eq!(v.answer, Answer::Unknown);
    assert!(
        v.notes.iter().any(|n| n.contains("ClusterNetworkPolicy:c")),
        "{:?}",
        v.notes
    );
    // Calico's are evaluated (see calico::tests): a GlobalNetworkPolicy with no rules is an
    // ingress policy that drops everything.
    let calico = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: c}\nspec: {selector: all()}\n---\n";
    assert_eq!(answer(calico, WEB, DB, 5432), Answer::No);
    // Cilium's CRD alone: its policies may exist where the input does not show them.
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: ciliumnetworkpolicies.cilium.io}\nspec: {group: cilium.io, names: {kind: CiliumNetworkPolicy}}\n---\n";
    assert_eq!(answer(crd, WEB, DB, 5432), Answer::Unknown);
    // With a Cilium policy in the input, the input carries them: evaluated, CRD or not.
    let open = cnp(
        "shop",
        "c",
        "{endpointSelector: {matchLabels: {app: nothing}}, ingress: [{}]}",
    );
    assert_eq!(answer(&format!("{crd}{open}"), WEB, DB, 5432), Answer::Yes);
}

/// A CiliumNetworkPolicy (or, with an empty namespace, a clusterwide one).
fn cnp(ns: &str, name: &str, spec: &str) -> String {
    if ns.is_empty() {
        format!("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: {name}}}\nspec: {spec}\n---\n")
    } else {
        format!("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {spec}\n---\n")
    }
}

#[test]
fn cilium_endpoint_selectors_namespaces_and_default_deny() {
    const DB_TO_WEB: &str = "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{matchLabels: {app: db}}]}]}";
    let p = cnp("shop", "web", DB_TO_WEB);
    assert_eq!(answer(&p, DB, WEB, 8080), Answer::Yes);
    // A selector that names no namespace is the policy's namespace: ops/tool is not app=db,
    // and would not be let in from ops anyway.
    assert_eq!(answer(&p, OTHER, WEB, 8080), Answer::No);
    // Only web is selected: db stays open.
    assert_eq!(answer(&p, WEB, DB, 5432), Answer::Yes);
    // Naming the namespace reaches across it; `k8s:` prefixes are the same labels.
    let ops = cnp("shop", "web", "{endpointSelector: {matchLabels: {'k8s:app': web}}, ingress: [{fromEndpoints: [{matchLabels: {'k8s:io.kubernetes.pod.namespace': ops}}]}]}");
    assert_eq!(answer(&ops, OTHER, WEB, 8080), Answer::Yes);
    assert_eq!(answer(&ops, DB, WEB, 8080), Answer::No);
    // Namespace labels and the ServiceAccount are labels too.
    let team = cnp("shop", "web", "{endpointSelector: {matchLabels: {io.cilium.k8s.policy.serviceaccount: default}}, ingress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.team: ops, io.kubernetes.pod.namespace: ops}}]}]}");
    assert_eq!(answer(&team, OTHER, WEB, 8080), Answer::Yes);
    assert_eq!(
        answer(&team, WEB, DB, 5432),
        Answer::No,
        "db runs as default too: selected"
    );
    // An empty rule admits nothing: Cilium's default deny.
    let deny = cnp("shop", "deny", "{endpointSelector: {}, ingress: [{}]}");
    assert_eq!(answer(&deny, DB, WEB, 8080), Answer::No);
    assert_eq!(
        answer(&deny, WEB, OTHER, 8080),
        Answer::Yes,
        "ops is not selected"
    );
    // An empty list is no section: nothing isolated.
    assert_eq!(
        answer(
            &cnp("shop", "none", "{endpointSelector: {}, ingress: []}"),
            DB,
            WEB,
            8080
        ),
        Answer::Yes
    );
    // A clusterwide policy selects in every namespace.
    let everywhere = cnp(
        "",
        "web",
        "{endpointSelector: {matchLabels: {app: web}}, ingress: [{}]}",
    );
    assert_eq!(answer(&everywhere, DB, OTHER, 8080), Answer::No);
    assert_eq!(answer(&everywhere, DB, WEB, 8080), Answer::No);
    assert_eq!(answer(&everywhere, WEB, DB, 5432), Answer::Yes);
    // A clusterwide policy's endpoint selectors are not limited to a namespace.
    let from_db = cnp("", "web", "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{matchLabels: {app: db}}]}]}");
    assert_eq!(answer(&from_db, DB, OTHER, 8080), Answer::Yes);
    // `specs` holds several rule sets.
    let specs = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: s, namespace: shop}\nspecs:\n- {endpointSelector: {matchLabels: {app: web}}, ingress: [{}]}\n- {endpointSelector: {matchLabels: {app: db}}, ingress: [{}]}\n---\n";
    assert_eq!(answer(specs, WEB, DB, 5432), Answer::No);
    assert_eq!(answer(specs, DB, WEB, 80), Answer::No);
}

#[test]
fn cilium_ports_entities_cidrs_and_denies() {
    // Ports without a peer: every peer on those ports.
    let port = cnp("shop", "web", "{endpointSelector: {matchLabels: {app: web}}, ingress: [{toPorts: [{ports: [{port: '8080', protocol: TCP}]}]}]}");
    assert_eq!(answer(&port, OTHER, WEB, 8080), Answer::Yes);
    assert_eq!(answer(&port, OTHER, WEB, 22), Answer::No);
    assert_eq!(ask(&port, OTHER, WEB, 8080, "UDP").answer, Answer::No);
    // Protocol ANY (left out), named ports, and ranges.
    let named = cnp("shop", "db", "{endpointSelector: {matchLabels: {app: db}}, ingress: [{fromEndpoints: [{}], toPorts: [{ports: [{port: pg}, {port: '9000', endPort: 9200}]}]}]}");
    assert_eq!(answer(&named, WEB, DB, 5432), Answer::Yes);
    assert_eq!(answer(&named, WEB, DB, 9100), Answer::Yes);
    assert_eq!(ask(&named, WEB, DB, 9100, "UDP").answer, Answer::Yes);
    assert_eq!(answer(&named, WEB, DB, 5433), Answer::No);
    // Entities: cluster is every pod, world what is outside.
    let cluster_only = cnp(
        "shop",
        "web",
        "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEntities: [cluster]}]}",
    );
    assert_eq!(answer(&cluster_only, OTHER, WEB, 8080), Answer::Yes);
    let outside = Party::Outside;
    let c = cluster(&cluster_only);
    let inv = Inventory::new(&c);
    let web = Party::Pods(pods_of(&inv, WEB).expect("web"));
    assert_eq!(
        Model::of(&inv).connect(&outside, &web, 8080, "TCP").answer,
        Answer::No
    );
    let world = cnp(
        "shop",
        "web",
        "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEntities: [world]}]}",
    );
    assert_eq!(answer(&world, OTHER, WEB, 8080), Answer::No);
    let c = cluster(&world);
    let inv = Inventory::new(&c);
    assert_eq!(
        Model::of(&inv).connect(&outside, &web, 8080, "TCP").answer,
        Answer::Yes
    );
    // CIDR rules match addresses outside the cluster, never pods.
    let imds = cnp("shop", "out", "{endpointSelector: {}, egress: [{toCIDR: [169.254.169.254/32]}, {toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]}]}");
    assert_eq!(answer(&imds, WEB, "169.254.169.254", 80), Answer::Yes);
    assert_eq!(answer(&imds, WEB, "10.2.3.4", 80), Answer::Yes);
    assert_eq!(answer(&imds, WEB, "10.1.3.4", 80), Answer::No);
    assert_eq!(answer(&imds, WEB, DB, 5432), Answer::No);
    // A deny rule wins over any allow, a NetworkPolicy's included; alone it isolates too.
    let allow_all = np("shop", "all", "{podSelector: {}, ingress: [{}]}");
    let deny_db = cnp("shop", "no-db", "{endpointSelector: {matchLabels: {app: web}}, ingressDeny: [{fromEndpoints: [{matchLabels: {app: db}}]}]}");
    assert_eq!(
        answer(&format!("{allow_all}{deny_db}"), DB, WEB, 8080),
        Answer::No
    );
    assert_eq!(
        answer(&format!("{allow_all}{deny_db}"), OTHER, WEB, 8080),
        Answer::Yes
    );
    assert_eq!(
        answer(&deny_db, OTHER, WEB, 8080),
        Answer::No,
        "default deny"
    );
    let v = ask(&format!("{allow_all}{deny_db}"), DB, WEB, 8080, "TCP");
    assert_eq!(
        v.ingress.expect("ingress").denied_by,
        vec!["CiliumNetworkPolicy:shop/no-db".to_string()]
    );
    // enableDefaultDeny: false — the deny still denies, nothing else is isolated.
    let soft = cnp("shop", "no-db", "{endpointSelector: {matchLabels: {app: web}}, enableDefaultDeny: {ingress: false}, ingressDeny: [{fromEndpoints: [{matchLabels: {app: db}}]}]}");
    assert_eq!(answer(&soft, OTHER, WEB, 8080), Answer::Yes);
    assert_eq!(answer(&soft, DB, WEB, 8080), Answer::No);
}

#[test]
fn cilium_what_is_not_decided_here_is_unknown() {
    for spec in [
        // L7 rules decide which requests pass.
        "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{matchLabels: {app: db}}], toPorts: [{ports: [{port: '8080'}], rules: {http: [{method: GET}]}}]}]}",
        // Requirements narrow the peers.
        "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{matchLabels: {app: db}}], fromRequires: [{matchLabels: {env: prod}}]}]}",
        // A peer kind not evaluated here.
        "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromNodes: [{matchLabels: {pool: a}}]}]}",
    ] {
        assert_eq!(answer(&cnp("shop", "c", spec), DB, WEB, 8080), Answer::Unknown, "{spec}");
    }
    // A label of another source is on no pod: a selector requiring it selects none, one
    // excluding it every pod.
    let host = cnp(
        "shop",
        "c",
        "{endpointSelector: {matchLabels: {'reserved:host': ''}}, ingress: [{}]}",
    );
    assert_eq!(answer(&host, DB, WEB, 8080), Answer::Yes);
    let not_host = cnp("shop", "c", "{endpointSelector: {matchExpressions: [{key: 'reserved:host', operator: DoesNotExist}]}, ingress: [{}]}");
    assert_eq!(answer(&not_host, DB, WEB, 8080), Answer::No);
    let from_host = cnp("shop", "c", "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{matchLabels: {'reserved:host': ''}}]}]}");
    assert_eq!(answer(&from_host, DB, WEB, 8080), Answer::No);
    // Undecided rules never turn a no into an unknown: other ports stay denied.
    let l7 = cnp("shop", "c", "{endpointSelector: {matchLabels: {app: web}}, ingress: [{toPorts: [{ports: [{port: '8080'}], rules: {http: [{method: GET}]}}]}]}");
    assert_eq!(answer(&l7, DB, WEB, 22), Answer::No);
}

#[test]
fn an_allow_all_rule_voids_a_default_deny() {
    let deny = np(
        "shop",
        "deny",
        "{podSelector: {}, policyTypes: [Ingress, Egress]}",
    );
    let all = np("shop", "all", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}, {}]}");
    let c = cluster(&format!("{deny}{all}"));
    let inv = Inventory::new(&c);
    let r = Model::of(&inv).reopened();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (
            r[0].direction,
            r[0].rule.as_str(),
            r[0].peers,
            r[0].for_all_pods
        ),
        ("ingress", "spec.ingress[1]", "every source", false)
    );
    assert_eq!(r[0].denied_by, "NetworkPolicy:shop/deny");
    // Every pod of every namespace, on every port, egress.
    let wide = np(
        "shop",
        "wide",
        "{podSelector: {}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {}}]}]}",
    );
    let c = cluster(&format!("{deny}{wide}"));
    let r = Model::of(&Inventory::new(&c)).reopened();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0].direction, r[0].peers, r[0].for_all_pods),
        ("egress", "every pod of every namespace", true)
    );
    // Not re-opened: a rule limited by port or by peer, or an allow-all in another namespace.
    for narrow in [
        np("shop", "narrow", "{podSelector: {}, ingress: [{ports: [{port: 443}]}]}"),
        np("shop", "narrow", "{podSelector: {}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}]}]}"),
        np("ops", "narrow", "{podSelector: {}, ingress: [{}]}"),
    ] {
        let c = cluster(&format!("{deny}{narrow}"));
        assert!(Model::of(&Inventory::new(&c)).reopened().is_empty(), "{narrow}");
    }
}

#[test]
fn what_the_input_does_not_hold_is_not_guessed() {
    // No Namespace object for `batch`: a selector on its name decides, one on other labels not.
    let c = cluster("");
    let inv = Inventory::new(&c);
    let mut tool = pods_of(&inv, OTHER).expect("tool");
    tool.namespace = "batch".into();
    let from = Party::Pods(tool);
    let to = || Party::Pods(pods_of(&inv, DB).expect("db"));
    let ask_with = |spec: &str| {
        let c = cluster(&np("shop", "p", spec));
        Model::of(&Inventory::new(&c))
            .connect(&from, &to(), 5432, "TCP")
            .answer
    };
    assert_eq!(ask_with("{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: batch}}}]}]}"), Answer::Yes);
    assert_eq!(ask_with("{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]}]}"), Answer::No);
    assert_eq!(ask_with("{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}}]}]}"), Answer::Unknown);
    // A port the API server would refuse opens nothing.
    assert_eq!(
        answer(
            &np(
                "shop",
                "p",
                "{podSelector: {}, ingress: [{ports: [{port: 70000}]}]}"
            ),
            WEB,
            DB,
            5432
        ),
        Answer::No
    );
    // An installed policy CRD of another API means such policies may exist unseen.
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: adminnetworkpolicies.policy.networking.k8s.io}\nspec: {group: policy.networking.k8s.io, names: {kind: AdminNetworkPolicy}}\n---\n";
    assert_eq!(answer(crd, WEB, DB, 5432), Answer::Unknown);
}

// ---- Segments: reach between sets of pods is the reach between their members ----------------

pub(crate) fn members(inv: &Inventory<'_>) -> Vec<Member> {
    inv.pod_templates()
        .iter()
        .map(|t| {
            let pods = Pods::of(t);
            let listens = pods
                .ports
                .iter()
                .map(|(_, p, pr)| (*p, pr.clone()))
                .collect();
            Member { pods, listens }
        })
        .collect()
}

/// What the segments say about `from` → `to`: Yes/Unknown through the hub or a link, None
/// when denied (or `to` listens on nothing).
pub(super) fn segment_answer(r: &Reach, from: usize, to: usize) -> Option<Answer> {
    let seg = |m: usize| {
        r.segments
            .iter()
            .position(|s| s.members.contains(&m))
            .expect("placed")
    };
    let (s, d) = (seg(from), seg(to));
    if r.segments[s].open_egress() && r.segments[d].open_ingress() {
        return Some(if r.open_notes.is_empty() {
            Answer::Yes
        } else {
            Answer::Unknown
        });
    }
    r.links[s]
        .iter()
        .find(|l| *l.to == *r.segments[d].name)
        .map(|l| l.answer)
}

/// The same question asked pair by pair, port by port.
pub(super) fn direct_answer(model: &Model, from: &Member, to: &Member) -> Option<Answer> {
    let answers: Vec<Answer> = to
        .listens
        .iter()
        .map(|(port, protocol)| {
            let (a, b) = (Party::Pods(from.pods.clone()), Party::Pods(to.pods.clone()));
            let full = model.connect(&a, &b, *port, protocol).answer;
            // The cheap answer is the same answer.
            assert_eq!(model.answer(&a, &b, *port, protocol), full);
            full
        })
        .collect();
    if answers.contains(&Answer::Yes) {
        Some(Answer::Yes)
    } else if answers.contains(&Answer::Unknown) {
        Some(Answer::Unknown)
    } else {
        None
    }
}

/// Policy sets of every kind segments read: none, default denies, selectors on pods and
/// namespaces, ports by name and range, ipBlocks, egress by port, Cilium's policies.
pub(crate) fn policy_sets() -> Vec<String> {
    vec![
        String::new(),
        np("shop", "deny", "{podSelector: {}, policyTypes: [Ingress, Egress]}"),
        np("shop", "deny", "{podSelector: {}, policyTypes: [Ingress]}")
            + &np(
                "shop",
                "db",
                "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: pg}]}]}",
            ),
        np(
            "shop",
            "db",
            "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}, podSelector: {matchExpressions: [{key: app, operator: In, values: [web]}]}}], ports: [{port: 9000, endPort: 9200}]}]}",
        ),
        np(
            "ops",
            "out",
            "{podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}, {to: [{podSelector: {}, namespaceSelector: {matchLabels: {team: shop}}}], ports: [{port: 53, protocol: UDP}]}]}",
        ),
        np("shop", "web-out", "{podSelector: {matchLabels: {app: web}}, egress: [{ports: [{port: 5432}]}]}"),
        named_namespaces(),
        cnp("", "web", "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: shop}}]}]}"),
        cnp("shop", "sa", "{endpointSelector: {matchLabels: {io.cilium.k8s.policy.serviceaccount: default}}, ingressDeny: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.team: ops}}], toPorts: [{ports: [{port: '5432'}]}]}]}")
            + &np("shop", "all", "{podSelector: {}, ingress: [{}]}"),
    ]
}

/// Policies whose namespace selectors name namespaces by their name label (`In`, `NotIn`,
/// `matchLabels`), with listening workloads in namespaces they name (`lab`) and do not name,
/// known (`dev`) and not (`qa`).
fn named_namespaces() -> String {
    let deployment = |ns: &str| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec: {{containers: [{{name: c, image: \"x:1\", ports: [{{containerPort: 8080}}]}}]}}\n---\n")
    };
    let namespace =
        |ns: &str| format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\n");
    np(
        "shop",
        "from-ops",
        "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}}]}]}",
    ) + &np(
        "shop",
        "not-lab",
        "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [lab]}]}}]}]}",
    ) + &np(
        "ops",
        "to-shop",
        "{podSelector: {}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [shop, lab]}]}}]}]}",
    ) + &namespace("dev")
        + &namespace("lab")
        + &deployment("dev")
        + &deployment("lab")
        + &deployment("qa")
}

/// A namespace's name tells its pods apart only where a selector names it: the namespaces no
/// selector names share their segments, known or not.
#[test]
fn namespaces_no_selector_names_share_their_segments() {
    let c = cluster(&named_namespaces());
    let inv = Inventory::new(&c);
    let ms = members(&inv);
    let r = Model::of(&inv).reach(&ms);
    let names: Vec<(&str, Vec<&str>)> = r
        .segments
        .iter()
        .map(|s| {
            let members = s.members.iter().map(|i| ms[*i].pods.reference.as_str());
            (s.name.as_str(), members.collect())
        })
        .collect();
    assert_eq!(
        names,
        [
            (
                "*{app=web}",
                vec!["Deployment:dev/api", "Deployment:qa/api"]
            ),
            ("lab{app=web}", vec!["Deployment:lab/api"]),
            ("ops{app=web}", vec!["Deployment:ops/tool"]),
            ("shop{app=db}", vec!["Deployment:shop/db"]),
            ("shop{app=web}", vec!["Deployment:shop/web"]),
        ]
    );
}

#[test]
fn segments_answer_exactly_as_pairs_do() {
    let sets = policy_sets();
    for set in &sets {
        let c = cluster(set);
        let inv = Inventory::new(&c);
        let model = Model::of(&inv);
        let ms = members(&inv);
        let r = model.reach(&ms);
        for (i, a) in ms.iter().enumerate() {
            for (j, b) in ms.iter().enumerate() {
                assert_eq!(
                    segment_answer(&r, i, j).filter(|_| !b.listens.is_empty()),
                    direct_answer(&model, a, b),
                    "{} → {} under {set}",
                    a.pods.reference,
                    b.pods.reference
                );
            }
        }
    }
}

#[test]
fn pods_no_policy_tells_apart_share_a_segment() {
    let c = cluster("");
    let inv = Inventory::new(&c);
    let r = Model::of(&inv).reach(&members(&inv));
    assert_eq!(r.segments.len(), 1);
    assert_eq!(r.segments[0].name, "*");
    assert!(r.links.iter().all(|row| row.is_empty()));
    // A policy on app=web labels splits by that key, in its namespace and elsewhere.
    let c = cluster(&np(
        "shop",
        "p",
        "{podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}",
    ));
    let inv = Inventory::new(&c);
    let r = Model::of(&inv).reach(&members(&inv));
    let names: Vec<&str> = r.segments.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["*{app=web}", "shop{app=db}", "shop{app=web}"]);
}

#[test]
fn a_client_from_outside_matches_no_pod_peer_and_only_an_unbounded_block() {
    let deny = np("shop", "deny", "{podSelector: {}, policyTypes: [Ingress]}");
    let c = cluster(&deny);
    let inv = Inventory::new(&c);
    let model = Model::of(&inv);
    let db = Party::Pods(pods_of(&inv, DB).expect("db"));
    assert_eq!(
        model.connect(&Party::Outside, &db, 5432, "TCP").answer,
        Answer::No
    );
    for (peer, expected) in [
        ("{namespaceSelector: {}}", Answer::No),
        // One family only: the client may be of the other.
        ("{ipBlock: {cidr: 0.0.0.0/0}}", Answer::Unknown),
        (
            "{ipBlock: {cidr: 0.0.0.0/0}}, {ipBlock: {cidr: \"::/0\"}}",
            Answer::Yes,
        ),
        (
            "{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}, {ipBlock: {cidr: \"::/0\"}}",
            Answer::Unknown,
        ),
        ("{ipBlock: {cidr: 203.0.113.0/24}}", Answer::Unknown),
    ] {
        let p = np(
            "shop",
            "in",
            &format!("{{podSelector: {{}}, ingress: [{{from: [{peer}]}}]}}"),
        );
        let c = cluster(&p);
        let inv = Inventory::new(&c);
        let model = Model::of(&inv);
        let db = Party::Pods(pods_of(&inv, DB).expect("db"));
        assert_eq!(
            model.connect(&Party::Outside, &db, 5432, "TCP").answer,
            expected,
            "{peer}"
        );
    }
}

/// Host-network pods are the node's network: traffic between a pod and its own node is always
/// allowed and plugins differ on selecting them, so a connection involving one is yes where the
/// policies allow it as for any pod, else unknown — never no.
#[test]
fn host_network_pods_are_never_denied_only_allowed_or_unknown() {
    let ask_host = |policies: &str, host_is_source: bool, ip: Option<&str>| {
        let c = cluster(policies);
        let inv = Inventory::new(&c);
        let mut db = pods_of(&inv, DB).expect("db");
        db.host_network = true;
        db.ip = ip.map(|i| i.parse().expect("ip"));
        let web = Party::Pods(pods_of(&inv, WEB).expect("web"));
        let db = Party::Pods(db);
        let model = Model::of(&inv);
        if host_is_source {
            model.connect(&db, &web, 80, "TCP")
        } else {
            model.connect(&web, &db, 5432, "TCP")
        }
    };
    assert_eq!(ask_host("", false, None).answer, Answer::Yes);
    let deny = np("shop", "deny", "{podSelector: {}, policyTypes: [Ingress]}");
    let v = ask_host(&deny, false, None);
    assert_eq!(v.answer, Answer::Unknown);
    assert!(
        v.notes.iter().any(|n| n.contains("host network")),
        "{:?}",
        v.notes
    );
    // Egress on another port only: the node-local exception still may let it through.
    let dns_only = np(
        "shop",
        "dns",
        "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{ports: [{port: 53, protocol: UDP}]}]}",
    );
    assert_eq!(ask_host(&dns_only, false, None).answer, Answer::Unknown);
    // Allowed as for any pod: yes.
    let to_db = np(
        "shop",
        "to-db",
        "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]}",
    );
    assert_eq!(ask_host(&to_db, false, None).answer, Answer::Yes);
    let to_nodes = np(
        "shop",
        "to-nodes",
        "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.0.0.0/16}}]}]}",
    );
    assert_eq!(
        ask_host(&to_nodes, false, Some("10.0.3.4")).answer,
        Answer::Yes
    );
    assert_eq!(
        ask_host(&to_nodes, false, Some("192.168.1.1")).answer,
        Answer::Unknown
    );
    // As the source.
    let from_db = np(
        "shop",
        "from-db",
        "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: {matchLabels: {app: db}}}]}]}",
    );
    assert_eq!(ask_host(&from_db, true, None).answer, Answer::Yes);
    assert_eq!(ask_host(&deny, true, None).answer, Answer::Unknown);
    // Two ordinary pods under the same deny: no.
    assert_eq!(answer(&deny, WEB, DB, 5432), Answer::No);
}

/// The policies [`Model::shadowed`] names, by reference.
fn shadowed(policies: &str) -> Vec<String> {
    let c = cluster(policies);
    let inv = Inventory::new(&c);
    Model::of(&inv)
        .shadowed()
        .into_iter()
        .map(|s| s.policy)
        .collect()
}

#[test]
fn a_policy_an_allow_all_rule_covers_changes_nothing() {
    const WEB_FROM_FE: &str = "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: {matchLabels: {app: fe}}}], ports: [{port: 8080}]}]}";
    let web = np("shop", "web", WEB_FROM_FE);
    let shop_web = "NetworkPolicy:shop/web".to_string();
    // Every peer on every port, for every pod: nothing web allows or denies is left.
    let all = np("shop", "all", "{podSelector: {}, ingress: [{}]}");
    assert_eq!(shadowed(&format!("{web}{all}")), vec![shop_web.clone()]);
    // The same through a selector that covers web's (app exists).
    let exists = np(
        "shop",
        "all",
        "{podSelector: {matchExpressions: [{key: app, operator: Exists}]}, ingress: [{}]}",
    );
    assert_eq!(shadowed(&format!("{web}{exists}")), vec![shop_web.clone()]);
    // Every pod of every namespace covers a rule naming pods, not one naming addresses.
    let pods = np(
        "shop",
        "pods",
        "{podSelector: {}, ingress: [{from: [{namespaceSelector: {}}]}]}",
    );
    assert_eq!(shadowed(&format!("{web}{pods}")), vec![shop_web.clone()]);
    let block = np("shop", "web", "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]}");
    assert!(shadowed(&format!("{block}{pods}")).is_empty());
    // Negative cases: the other policy selects other pods, names ports, lives elsewhere, or
    // leaves a direction web isolates.
    for other in [
        np("shop", "all", "{podSelector: {matchLabels: {app: db}}, ingress: [{}]}"),
        np("shop", "all", "{podSelector: {matchLabels: {app: web, tier: fe}}, ingress: [{}]}"),
        np("shop", "all", "{podSelector: {}, ingress: [{ports: [{port: 443}]}]}"),
        np("ops", "all", "{podSelector: {}, ingress: [{}]}"),
        np("shop", "all", "{podSelector: {}, policyTypes: [Egress], egress: [{}]}"),
        np("shop", "all", "{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}}]}]}"),
    ] {
        assert!(shadowed(&format!("{web}{other}")).is_empty(), "{other}");
    }
    let both = np("shop", "web", "{podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress, Egress], ingress: [{from: [{podSelector: {}}]}], egress: [{to: [{podSelector: {}}]}]}");
    assert!(shadowed(&format!("{both}{all}")).is_empty());
    let all_both = np(
        "shop",
        "all",
        "{podSelector: {}, policyTypes: [Ingress, Egress], ingress: [{}], egress: [{}]}",
    );
    assert_eq!(
        shadowed(&format!("{both}{all_both}")),
        vec![shop_web.clone()]
    );
    // Two allow-all policies open; neither is "without effect". A default deny for every pod
    // voided this way is reopened()'s finding, not this one; one for some pods is this one.
    let all2 = np("shop", "all2", "{podSelector: {}, ingress: [{}]}");
    assert!(shadowed(&format!("{all}{all2}")).is_empty());
    let deny = np("shop", "deny", "{podSelector: {}, policyTypes: [Ingress]}");
    assert!(shadowed(&format!("{deny}{all}")).is_empty());
    let deny_web = np(
        "shop",
        "deny-web",
        "{podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}",
    );
    assert_eq!(
        shadowed(&format!("{deny_web}{all}")),
        vec!["NetworkPolicy:shop/deny-web".to_string()]
    );
    // A default deny for one direction with rules for the other: the deny is reopened()'s
    // (KSPM-N-017) and not named here; the voided egress rules are.
    let half = np(
        "shop",
        "half",
        "{podSelector: {}, policyTypes: [Ingress, Egress], egress: [{to: [{podSelector: {}}]}]}",
    );
    let c = cluster(&format!("{half}{all_both}"));
    let inv = Inventory::new(&c);
    let model = Model::of(&inv);
    let found = model.shadowed();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].policy, "NetworkPolicy:shop/half");
    assert_eq!(
        found[0].by.iter().map(|b| b.0).collect::<Vec<_>>(),
        vec!["egress"]
    );
    assert!(model
        .reopened()
        .iter()
        .any(|r| r.denied_by == "NetworkPolicy:shop/half" && r.direction == "ingress"));
    // What shadowed() claims, the evaluator agrees with: removing the policy changes no answer.
    for (with, without) in [
        (format!("{web}{all}"), all.clone()),
        (format!("{web}{pods}"), pods.clone()),
        (format!("{both}{all_both}"), all_both.clone()),
        (format!("{deny_web}{all}"), all.clone()),
        (format!("{half}{all_both}"), all_both.clone()),
    ] {
        for (from, to, port) in [
            (DB, WEB, 8080),
            (OTHER, WEB, 8080),
            (OTHER, WEB, 22),
            (WEB, DB, 5432),
            ("10.1.2.3", WEB, 8080),
        ] {
            assert_eq!(
                answer(&with, from, to, port),
                answer(&without, from, to, port),
                "{with} {from} → {to}:{port}"
            );
        }
    }
}

/// [`Model::open_to_every_namespace`] for shop/web.
pub(super) fn open_web(policies: &str) -> Option<Option<String>> {
    let c = cluster(policies);
    let inv = Inventory::new(&c);
    Model::of(&inv).open_to_every_namespace(&pods_of(&inv, WEB).expect("web"))
}

/// NetworkPolicy specs for shop that open web to every pod of every namespace on every port.
pub(super) const OPEN_TO_EVERY_NAMESPACE: &[&str] = &[
    "{podSelector: {}, ingress: [{}]}",
    "{podSelector: {}, ingress: [{from: [{namespaceSelector: {}}]}]}",
    "{podSelector: {}, ingress: [{from: [{namespaceSelector: {}, podSelector: {}}]}]}",
    "{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: Exists}]}}]}]}",
    "{podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: fe}}}]}, {from: [{namespaceSelector: {}}]}]}",
];

/// NetworkPolicy specs for shop that restrict who may connect to web, or on which ports.
pub(super) const RESTRICTED: &[&str] = &[
    "{podSelector: {}, policyTypes: [Ingress]}",
    "{podSelector: {}, ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 53, protocol: UDP}]}]}",
    "{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: shop}}}]}]}",
    "{podSelector: {}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: fe}}}]}]}",
    "{podSelector: {}, ingress: [{from: [{podSelector: {}}]}]}",
    "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]}",
    "{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: team, operator: Exists}]}}]}]}",
    "{podSelector: {}, ingress: [{ports: [{protocol: TCP}]}]}",
];

#[test]
fn ingress_open_to_every_namespace_is_exact() {
    assert_eq!(open_web(""), Some(None));
    // Isolated for egress only: ingress still open.
    assert_eq!(
        open_web(&np("shop", "e", "{podSelector: {}, policyTypes: [Egress]}")),
        Some(None)
    );
    for spec in OPEN_TO_EVERY_NAMESPACE {
        let got = open_web(&np("shop", "p", spec));
        assert!(
            matches!(&got, Some(Some(rule)) if rule.starts_with("NetworkPolicy:shop/p spec.ingress[")),
            "{spec}: {got:?}"
        );
    }
    for spec in RESTRICTED {
        assert_eq!(open_web(&np("shop", "p", spec)), None, "{spec}");
    }
    // A policy that selects other pods does not isolate web.
    assert_eq!(
        open_web(&np(
            "shop",
            "p",
            "{podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}"
        )),
        Some(None)
    );
}

/// Cilium's own behaviour where it differs from a reading of the fields alone (each from its
/// validation and identity code): what it refuses, strips, overrides or cannot know.
#[test]
fn cilium_validation_identity_and_unknown_namespaces() {
    // enableDefaultDeny adds no isolation to a direction without rules.
    let flag = cnp("shop", "db", "{endpointSelector: {matchLabels: {app: db}}, enableDefaultDeny: {ingress: true, egress: true}, egress: [{toEndpoints: [{}]}]}");
    assert_eq!(answer(&flag, WEB, DB, 5432), Answer::Yes);
    // A rule with two kinds of peer is refused: the whole object enforces nothing.
    let mixed = cnp("shop", "all", "{endpointSelector: {}, egress: [{toEndpoints: [{matchLabels: {app: dns}}], toEntities: [world]}]}");
    assert_eq!(answer(&mixed, WEB, DB, 5432), Answer::Yes);
    // An empty peer list selects nothing (it is not every peer).
    let none = cnp("shop", "db", "{endpointSelector: {matchLabels: {app: db}}, ingress: [{fromEndpoints: [], toPorts: [{ports: [{port: '5432'}]}]}]}");
    assert_eq!(answer(&none, WEB, DB, 5432), Answer::No);
    // A namespaced policy selects in its own namespace whatever its selector names.
    let elsewhere = cnp("shop", "web", "{endpointSelector: {matchLabels: {'k8s:io.kubernetes.pod.namespace': ops, app: web}}, ingress: [{}]}");
    assert_eq!(answer(&elsewhere, DB, WEB, 8080), Answer::No);
    assert_eq!(answer(&elsewhere, DB, OTHER, 8080), Answer::Yes);
    // Labels the default identity filter leaves out, and Cilium's cluster label: unknown.
    let hash = cnp(
        "shop",
        "web",
        "{endpointSelector: {matchLabels: {pod-template-hash: abc}}, ingress: [{}]}",
    );
    assert_eq!(answer(&hash, DB, WEB, 8080), Answer::Unknown);
    let named_cluster = cnp("shop", "web", "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.policy.cluster: default, app: db}}]}]}");
    assert_eq!(answer(&named_cluster, DB, WEB, 8080), Answer::Unknown);
    // A pod cannot give itself Cilium's labels: they are stripped and set by Cilium.
    let forged = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: forged, namespace: ops}\nspec:\n  selector: {matchLabels: {app: forged}}\n  template:\n    metadata: {labels: {app: forged, io.cilium.k8s.namespace.labels.team: shop}}\n    spec: {containers: [{name: f, image: 'f:1'}]}\n---\n";
    let team_shop = cnp("shop", "db", "{endpointSelector: {matchLabels: {app: db}}, ingress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.team: shop, io.kubernetes.pod.namespace: ops}}]}]}");
    assert_eq!(
        answer(
            &format!("{forged}{team_shop}"),
            "Deployment:ops/forged",
            DB,
            5432
        ),
        Answer::No
    );
    let team_ops = team_shop.replace("team: shop", "team: ops");
    assert_eq!(
        answer(
            &format!("{forged}{team_ops}"),
            "Deployment:ops/forged",
            DB,
            5432
        ),
        Answer::Yes
    );
    // A namespace the input holds no object of: its name is known, its other labels are not.
    let lab = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: probe, namespace: lab}\nspec:\n  selector: {matchLabels: {app: probe}}\n  template:\n    metadata: {labels: {app: probe}}\n    spec: {containers: [{name: p, image: 'p:1'}]}\n---\n";
    let by_label = cnp("shop", "db", "{endpointSelector: {matchLabels: {app: db}}, ingress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.team: lab}}]}]}");
    assert_eq!(
        answer(
            &format!("{lab}{by_label}"),
            "Deployment:lab/probe",
            DB,
            5432
        ),
        Answer::Unknown
    );
    let by_name = cnp("shop", "db", "{endpointSelector: {matchLabels: {app: db}}, ingress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name: lab}}]}]}");
    assert_eq!(
        answer(&format!("{lab}{by_name}"), "Deployment:lab/probe", DB, 5432),
        Answer::Yes
    );
    // A Cilium kind the collector could not list leaves every answer unknown.
    let mut c = cluster(&none);
    c.coverage_gaps = vec!["CiliumClusterwideNetworkPolicy".into()];
    let inv = Inventory::new(&c);
    let web = Party::Pods(pods_of(&inv, WEB).expect("web"));
    let db = Party::Pods(pods_of(&inv, DB).expect("db"));
    let v = Model::of(&inv).connect(&web, &db, 5432, "TCP");
    assert_eq!(v.answer, Answer::Unknown);
    assert!(
        v.notes.iter().any(|n| n.contains("could not be listed")),
        "{:?}",
        v.notes
    );
}

#[test]
fn no_pod_has_a_link_local_loopback_or_multicast_address() {
    let to = |cidr: &str| {
        np(
            "shop",
            "out",
            &format!("{{podSelector: {{matchLabels: {{app: web}}}}, policyTypes: [Egress], egress: [{{to: [{{ipBlock: {{cidr: \"{cidr}\"}}}}]}}]}}"),
        )
    };
    // A pod of unknown address may be in 10.0.0.0/8, never in 169.254.169.254/32 or fe80::/10.
    assert_eq!(answer(&to("10.0.0.0/8"), WEB, DB, 5432), Answer::Unknown);
    assert_eq!(answer(&to("169.254.169.254/32"), WEB, DB, 5432), Answer::No);
    assert_eq!(answer(&to("fe80::/64"), WEB, DB, 5432), Answer::No);
    assert_eq!(answer(&to("127.0.0.0/8"), WEB, DB, 5432), Answer::No);
    // A range reaching beyond them may hold a pod.
    assert_eq!(answer(&to("169.0.0.0/8"), WEB, DB, 5432), Answer::Unknown);
}

/// A namespace relabeled: the links decided under the model with the old labels, those of the
/// namespace's segments forgotten ([`Decided::forget_namespaces`]), give the reach decided
/// afresh under the new labels; kept without forgetting, some would not.
#[test]
fn links_of_other_namespaces_hold_when_a_namespace_is_relabeled() {
    let labels = [
        vec![("team", "ops")],
        vec![("team", "shop")],
        vec![],
        vec![("team", "ops"), ("env", "prod")],
    ];
    let ops: std::collections::BTreeSet<String> = ["ops".to_string()].into_iter().collect();
    let mut stale_differs = false;
    for set in &policy_sets() {
        let mut decided = Decided::default();
        let mut unforgotten = Decided::default();
        for l in &labels {
            let c = ops_labelled(set, Some(l));
            let inv = Inventory::new(&c);
            let model = Model::of(&inv);
            let ms = members(&inv);
            drop(decided.forget_namespaces(&ops));
            let kept = model.reach_with(&ms, &mut decided);
            let afresh = model.reach(&ms);
            assert_eq!(
                format!("{kept:?}"),
                format!("{afresh:?}"),
                "under {set} with ops labelled {l:?}"
            );
            let stale = model.reach_with(&ms, &mut unforgotten);
            stale_differs |= format!("{stale:?}") != format!("{afresh:?}");
        }
    }
    assert!(stale_differs, "some link reads the relabeled namespace");
}

/// Links decided under a model are kept for its next reach ([`Decided`]): that reach is exactly
/// the one decided afresh, whatever the workloads did meanwhile — one added to a segment, one
/// that sorts first and so stands for its segment now (a host-network one, whose reference the
/// evidence names), one listening where nothing did, and all of them gone again.
#[test]
fn links_decided_before_are_the_links_decided_afresh() {
    let deployment = |ns: &str, name: &str, labels: &str, spec: &str| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {labels}}}\n  template:\n    metadata: {{labels: {labels}}}\n    spec: {{{spec}containers: [{{name: c, image: \"x:1\", ports: [{{containerPort: 8080}}]}}]}}\n---\n")
    };
    let host = |name: &str| deployment("shop", name, "{app: web}", "hostNetwork: true, ");
    let added = deployment("shop", "web2", "{app: web}", "") + &host("m-host");
    let workloads = [
        String::new(),
        added.clone(),
        // Sorting first, these stand for their segments now.
        added + &host("a-host") + &deployment("shop", "a-web", "{app: web}", ""),
        deployment("ops", "a-tool", "{app: web}", "")
            + &deployment("ops", "listener", "{app: other}", ""),
        String::new(),
    ];
    let policies = policy_sets();
    for set in &policies {
        let mut decided = Decided::default();
        let mut links = 0;
        for extra in &workloads {
            let c = cluster(&format!("{set}{extra}"));
            let inv = Inventory::new(&c);
            let model = Model::of(&inv);
            let ms = members(&inv);
            let kept = model.reach_with(&ms, &mut decided);
            let afresh = model.reach(&ms);
            assert_eq!(
                format!("{kept:?}"),
                format!("{afresh:?}"),
                "under {set} with {extra}"
            );
            links += afresh.links.iter().map(|row| row.len()).sum::<usize>();
        }
        assert!(set.is_empty() || links > 0, "{set}");
    }
}

/// [`cluster`] under `set`, with namespace ops labelled `labels` (`None`: its Namespace object
/// unknown, its name label alone known).
fn ops_labelled(set: &str, labels: Option<&[(&str, &str)]>) -> ClusterSnapshot {
    let mut c = cluster(set);
    let Some(labels) = labels else {
        c.objects
            .retain(|o| !(o.kind == "Namespace" && o.name == "ops"));
        return c;
    };
    for o in c
        .objects
        .iter_mut()
        .filter(|o| o.kind == "Namespace" && o.name == "ops")
    {
        o.labels = (labels.iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }
    c
}

/// A Namespace relabeled where no selector reads what changed leaves every answer as it was:
/// [`Model::reads_namespaces_alike`] says so only then (the incremental evaluator then keeps the
/// reach it drew), and says otherwise for some relabeling of each set that reads the labels.
#[test]
fn a_relabeling_no_selector_reads_changes_no_answer() {
    let variants: [Option<&[(&str, &str)]>; 5] = [
        Some(&[("team", "ops")]),
        Some(&[("team", "ops"), ("env", "prod")]),
        Some(&[("team", "shop")]),
        Some(&[]),
        None,
    ];
    let mut told_apart = 0;
    for set in &policy_sets() {
        for a in &variants {
            for b in &variants {
                let (ca, cb) = (ops_labelled(set, *a), ops_labelled(set, *b));
                let (ia, ib) = (Inventory::new(&ca), Inventory::new(&cb));
                let (ma, mb) = (Model::of(&ia), Model::of(&ib));
                let (wa, wb) = (members(&ia), members(&ib));
                assert!(ma.same_but_namespaces(&mb));
                if !ma.reads_namespaces_alike(&mb, ["ops"]) {
                    told_apart += 1;
                    continue;
                }
                assert!(ma.reads_alike(&mb), "{a:?} / {b:?} under {set}");
                assert_eq!(
                    format!("{:?}", ma.reach(&wa)),
                    format!("{:?}", mb.reach(&wb)),
                    "{a:?} / {b:?} under {set}"
                );
                for x in &wa {
                    for y in &wa {
                        assert_eq!(
                            direct_answer(&ma, x, y),
                            direct_answer(&mb, x, y),
                            "{} → {}: {a:?} / {b:?} under {set}",
                            x.pods.reference,
                            y.pods.reference
                        );
                    }
                }
            }
        }
    }
    assert!(told_apart > 0, "some set reads the labels that changed");
}

/// Models merged at once are the models merged one by one: each reference once (the first
/// model's policy of it), sorted, indexed, with their plugin policies.
#[test]
fn models_merged_at_once_are_models_merged_in_turn() {
    let sets = policy_sets();
    let models: Vec<Model> = sets
        .iter()
        .map(|set| {
            let c = cluster(set);
            Model::of(&Inventory::new(&c)).with_plugin_policies(vec![format!("x/{}", set.len())])
        })
        .collect();
    // One by one, as `merge_policies` merged before it merged many at once.
    let mut in_turn = Model::default();
    for m in &models {
        merge_by_reference(&mut in_turn.policies, &m.policies, |p| &p.reference);
        in_turn.index();
        in_turn.others.extend(m.others.iter().cloned());
        in_turn.others.sort();
        in_turn.others.dedup();
    }
    let mut at_once = Model::default();
    at_once.merge_policies_of(&models);
    assert_eq!(at_once, in_turn);
    assert!(at_once.policies.len() > 1 && at_once.others.len() > 1);
    // A reference two models hold is the first one's.
    assert!(sets.iter().filter(|s| s.contains("name: db,")).count() > 1);
}

/// Links decided under one set of policies, but those of the namespaces whose own policies
/// another set changes ([`Model::policies_changed_in`]), are that set's links decided afresh;
/// a change to what every namespace reads (a cluster-wide policy) keeps none.
#[test]
fn links_of_namespaces_whose_policies_stay_hold_when_others_change() {
    let sets = policy_sets();
    let (mut patched, mut replaced) = (0, 0);
    for a in &sets {
        for b in &sets {
            let (ca, cb) = (cluster(a), cluster(b));
            let (ia, ib) = (Inventory::new(&ca), Inventory::new(&cb));
            let (ma, mb) = (Model::of(&ia), Model::of(&ib));
            let (wa, wb) = (members(&ia), members(&ib));
            let mut decided = Decided::default();
            let _ = ma.reach_with(&wa, &mut decided);
            match ma.policies_changed_in(&mb) {
                Some(namespaces) => {
                    patched += usize::from(!namespaces.is_empty());
                    drop(decided.forget_namespaces(&namespaces));
                }
                None => {
                    replaced += 1;
                    decided = Decided::default();
                }
            }
            assert_eq!(
                format!("{:?}", mb.reach_with(&wb, &mut decided)),
                format!("{:?}", mb.reach(&wb)),
                "from {a} to {b}"
            );
        }
    }
    assert!(
        patched > 0 && replaced > 0,
        "{patched} patched, {replaced} replaced"
    );
}
