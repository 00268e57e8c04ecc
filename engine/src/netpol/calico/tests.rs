//! Calico's evaluation order and rule matching, rule by rule, each with the case that must not
//! match. The cluster is the NetworkPolicy tests' one: shop/web (app=web), shop/db (app=db,
//! ports `pg` 5432, `metrics` 9100, `dns` 53/UDP), ops/tool (app=web, namespace team=ops).

use crate::inventory::Inventory;
use crate::netpol::tests::{
    answer, ask, cluster, direct_answer, members, np, open_web, segment_answer, DB,
    OPEN_TO_EVERY_NAMESPACE, OTHER, RESTRICTED, WEB,
};
use crate::netpol::{pods_of, Answer, Model, Party};

/// A Calico NetworkPolicy in `ns`.
fn cnp(ns: &str, name: &str, spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {spec}\n---\n")
}

/// A Calico GlobalNetworkPolicy.
fn gnp(name: &str, spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: {name}}}\nspec: {spec}\n---\n")
}

fn tier(name: &str, spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {{name: {name}}}\nspec: {spec}\n---\n")
}

/// An answer from an address to `to`, or from `from` to an address.
fn with_address(policies: &str, from: &str, to: &str, port: u16) -> Answer {
    let c = cluster(policies);
    let inv = Inventory::new(&c);
    let model = Model::of(&inv);
    let party = |r: &str| match r {
        "internet" => Party::Outside,
        _ => match r.parse() {
            Ok(ip) => Party::Address(ip),
            Err(_) => Party::Pods(pods_of(&inv, r).expect(r)),
        },
    };
    let (a, b) = (party(from), party(to));
    let full = model.connect(&a, &b, port, "TCP").answer;
    assert_eq!(model.answer(&a, &b, port, "TCP"), full, "cheap answer");
    full
}

const DENY_WEB_TO_DB: &str =
    "{selector: \"app == 'db'\", ingress: [{action: Deny, source: {selector: \"app == 'web'\"}}]}";
const ALLOW_ALL_TO_DB: &str = "{podSelector: {matchLabels: {app: db}}, ingress: [{}]}";

#[test]
fn lower_order_first_kubernetes_policies_at_1000() {
    let allow = np("shop", "all", ALLOW_ALL_TO_DB);
    // Order 10 comes before the NetworkPolicy's 1000: the deny decides.
    let deny = |order: &str| {
        cnp(
            "shop",
            "deny",
            &DENY_WEB_TO_DB.replacen('{', &format!("{{order: {order}, "), 1),
        )
    };
    let v = ask(&format!("{allow}{}", deny("10")), WEB, DB, 5432, "TCP");
    assert_eq!(v.answer, Answer::No);
    let ingress = v.ingress.expect("ingress");
    assert_eq!(
        ingress.denied_by,
        ["NetworkPolicy.projectcalico.org:shop/deny spec.ingress[0]"]
    );
    assert!(ingress
        .isolated_by
        .contains(&"NetworkPolicy:shop/all".to_string()));
    // Order 2000: the NetworkPolicy's allow comes first.
    let v = ask(&format!("{allow}{}", deny("2000")), WEB, DB, 5432, "TCP");
    assert_eq!(v.answer, Answer::Yes);
    assert_eq!(
        v.ingress.expect("ingress").allowed_by,
        ["NetworkPolicy:shop/all"]
    );
    // No order is last, after every ordered policy.
    assert_eq!(
        answer(
            &format!("{allow}{}", cnp("shop", "deny", DENY_WEB_TO_DB)),
            WEB,
            DB,
            5432
        ),
        Answer::Yes
    );
    // The deny alone: the first rule that matches decides; others fall to the end of the tier.
    assert_eq!(
        answer(&cnp("shop", "deny", DENY_WEB_TO_DB), WEB, DB, 5432),
        Answer::No
    );
    assert_eq!(
        answer(&cnp("shop", "deny", DENY_WEB_TO_DB), OTHER, DB, 5432),
        Answer::No,
        "the tier's end denies what no rule matched"
    );
}

#[test]
fn equal_orders_go_by_name_and_rules_by_position() {
    let allow = "{order: 100, selector: \"app == 'db'\", ingress: [{action: Allow}]}";
    let deny = "{order: 100, selector: \"app == 'db'\", ingress: [{action: Deny}]}";
    assert_eq!(
        answer(
            &(cnp("shop", "a", allow) + &cnp("shop", "b", deny)),
            WEB,
            DB,
            5432
        ),
        Answer::Yes
    );
    assert_eq!(
        answer(
            &(cnp("shop", "a", deny) + &cnp("shop", "b", allow)),
            WEB,
            DB,
            5432
        ),
        Answer::No
    );
    // Within a policy, the first matching rule; Log only logs.
    let rules = |r: &str| {
        cnp(
            "shop",
            "p",
            &format!("{{selector: \"app == 'db'\", ingress: [{r}]}}"),
        )
    };
    assert_eq!(
        answer(
            &rules("{action: Log}, {action: Allow}, {action: Deny}"),
            WEB,
            DB,
            5432
        ),
        Answer::Yes
    );
    assert_eq!(
        answer(
            &rules("{action: Deny, protocol: UDP}, {action: Allow}"),
            WEB,
            DB,
            5432
        ),
        Answer::Yes,
        "a rule for another protocol does not match"
    );
    assert_eq!(
        answer(
            &rules("{action: Deny, protocol: 6}, {action: Allow}"),
            WEB,
            DB,
            5432
        ),
        Answer::No,
        "protocols by number"
    );
    assert_eq!(
        answer(
            &rules("{action: Deny, notProtocol: TCP}, {action: Allow}"),
            WEB,
            DB,
            5432
        ),
        Answer::Yes
    );
}

#[test]
fn tiers_pass_and_their_default_action() {
    let security = tier("security", "{order: 100}");
    let pass = gnp(
        "pass",
        "{tier: security, selector: \"app == 'db'\", ingress: [{action: Pass, source: {selector: \"app == 'web' && projectcalico.org/namespace == 'shop'\"}}]}",
    );
    // Passed on, and no later tier has a policy for db: the namespace profile admits.
    assert_eq!(
        answer(&format!("{security}{pass}"), WEB, DB, 5432),
        Answer::Yes
    );
    // Not passed (tool is in ops): the end of the security tier drops it.
    assert_eq!(
        answer(&format!("{security}{pass}"), OTHER, DB, 5432),
        Answer::No
    );
    // Passed to the default tier, whose policies decide.
    let deny = cnp("shop", "deny", DENY_WEB_TO_DB);
    assert_eq!(
        answer(&format!("{security}{pass}{deny}"), WEB, DB, 5432),
        Answer::No
    );
    // A tier whose default action is Pass hands on what no rule matched.
    let passing = tier("security", "{order: 100, defaultAction: Pass}");
    assert_eq!(
        answer(&format!("{passing}{pass}"), OTHER, DB, 5432),
        Answer::Yes
    );
    // An allow in an earlier tier ends the evaluation: the default tier's deny never runs.
    let allow = gnp(
        "allow",
        "{tier: security, selector: \"app == 'db'\", ingress: [{action: Allow}]}",
    );
    assert_eq!(
        answer(&format!("{security}{allow}{deny}"), WEB, DB, 5432),
        Answer::Yes
    );
    // After the default tier (order 1,000,000), the deny comes first.
    let late = tier("security", "{order: 2000000}");
    assert_eq!(
        answer(&format!("{late}{allow}{deny}"), WEB, DB, 5432),
        Answer::No
    );
    // A tier the input holds no object of: its order is unknown when another tier applies too.
    assert_eq!(
        answer(&format!("{allow}{deny}"), WEB, DB, 5432),
        Answer::Unknown
    );
    assert_eq!(
        answer(&allow, WEB, DB, 5432),
        Answer::Yes,
        "one tier: order does not matter"
    );
}

#[test]
fn types_default_as_calico_defaults_them() {
    // Egress rules only: the policy is an egress policy, db's ingress stays open.
    let egress_only = cnp(
        "shop",
        "p",
        "{selector: \"app == 'db'\", egress: [{action: Deny}]}",
    );
    assert_eq!(answer(&egress_only, WEB, DB, 5432), Answer::Yes);
    assert_eq!(answer(&egress_only, DB, WEB, 80), Answer::No);
    // No rules at all: an ingress policy that drops everything.
    let empty = cnp("shop", "p", "{selector: \"app == 'db'\"}");
    assert_eq!(answer(&empty, WEB, DB, 5432), Answer::No);
    assert_eq!(answer(&empty, DB, WEB, 80), Answer::Yes);
    // Explicit types win.
    let both = cnp(
        "shop",
        "p",
        "{selector: \"app == 'db'\", types: [Ingress, Egress], ingress: [{action: Allow}]}",
    );
    assert_eq!(answer(&both, WEB, DB, 5432), Answer::Yes);
    assert_eq!(answer(&both, DB, WEB, 80), Answer::No);
}

#[test]
fn selectors_namespaces_and_calico_labels() {
    let allow_from = |source: &str| {
        cnp(
            "shop",
            "p",
            &format!(
                "{{selector: \"app == 'db'\", ingress: [{{action: Allow, source: {source}}}]}}"
            ),
        )
    };
    // A selector alone: endpoints of the policy's namespace.
    let same_ns = allow_from("{selector: \"app == 'web'\"}");
    assert_eq!(answer(&same_ns, WEB, DB, 5432), Answer::Yes);
    assert_eq!(answer(&same_ns, OTHER, DB, 5432), Answer::No);
    // With a namespace selector: those namespaces.
    let ops = allow_from("{selector: \"app == 'web'\", namespaceSelector: \"team == 'ops'\"}");
    assert_eq!(answer(&ops, OTHER, DB, 5432), Answer::Yes);
    assert_eq!(answer(&ops, WEB, DB, 5432), Answer::No);
    let by_name = allow_from("{namespaceSelector: \"projectcalico.org/name == 'ops'\"}");
    assert_eq!(answer(&by_name, OTHER, DB, 5432), Answer::Yes);
    // Calico's labels on the pod: its namespace and its namespace's labels.
    let gl = |sel: &str| {
        gnp(
            "g",
            &format!("{{selector: \"app == 'db'\", ingress: [{{action: Allow, source: {{selector: \"{sel}\"}}}}]}}"),
        )
    };
    assert_eq!(
        answer(&gl("pcns.team == 'ops'"), OTHER, DB, 5432),
        Answer::Yes
    );
    assert_eq!(answer(&gl("pcns.team == 'ops'"), WEB, DB, 5432), Answer::No);
    assert_eq!(
        answer(&gl("projectcalico.org/namespace == 'ops'"), OTHER, DB, 5432),
        Answer::Yes
    );
    assert_eq!(
        answer(
            &gl("projectcalico.org/serviceaccount == 'default'"),
            WEB,
            DB,
            5432
        ),
        Answer::Yes
    );
    // A GlobalNetworkPolicy's selector alone: endpoints of every namespace.
    assert_eq!(answer(&gl("app == 'web'"), OTHER, DB, 5432), Answer::Yes);
    // notSelector: every source but the selected endpoints (of any namespace); in a
    // namespaced policy, endpoints of its namespace only, as with any selector.
    let not_web = allow_from("{notSelector: \"app == 'web'\"}");
    assert_eq!(answer(&not_web, WEB, DB, 5432), Answer::No);
    assert_eq!(with_address(&not_web, "203.0.113.9", DB, 5432), Answer::No);
    let not_web_global = gl("x").replace("selector: \"x\"", "notSelector: \"app == 'web'\"");
    assert_eq!(
        with_address(&not_web_global, "203.0.113.9", DB, 5432),
        Answer::Yes
    );
    assert_eq!(
        answer(&not_web_global, OTHER, DB, 5432),
        Answer::No,
        "not scoped"
    );
    // An empty selector is no selector.
    let blank = allow_from("{selector: '', notSelector: '', namespaceSelector: ''}");
    assert_eq!(with_address(&blank, "203.0.113.9", DB, 5432), Answer::Yes);
    assert_eq!(answer(&blank, OTHER, DB, 5432), Answer::Yes);
    // A pod's own `pcns.` labels override its namespace's: a namespace selector sees them.
    let spoofed = gl("x").replace(
        "source: {selector: \"x\"}",
        "source: {namespaceSelector: \"team == 'trusted'\"}",
    );
    assert_eq!(answer(&spoofed, WEB, DB, 5432), Answer::No);
    let c = cluster(&spoofed);
    let inv = Inventory::new(&c);
    let mut web = pods_of(&inv, WEB).expect("web");
    web.labels.insert("pcns.team".into(), "trusted".into());
    let db = Party::Pods(pods_of(&inv, DB).expect("db"));
    assert_eq!(
        Model::of(&inv)
            .connect(&Party::Pods(web), &db, 5432, "TCP")
            .answer,
        Answer::Yes
    );
    // A selector never matches an address (no network set holds it).
    assert_eq!(with_address(&same_ns, "203.0.113.9", DB, 5432), Answer::No);
    // Which pods a GlobalNetworkPolicy applies to: its namespaceSelector too.
    let only_ops = gnp(
        "deny",
        "{namespaceSelector: \"team == 'ops'\", selector: all(), types: [Ingress, Egress]}",
    );
    assert_eq!(answer(&only_ops, WEB, DB, 5432), Answer::Yes);
    assert_eq!(answer(&only_ops, OTHER, DB, 5432), Answer::No);
    // A namespaced policy applies in its namespace only.
    let deny_ops = cnp("ops", "deny", "{selector: all(), types: [Egress]}");
    assert_eq!(answer(&deny_ops, OTHER, DB, 5432), Answer::No);
    assert_eq!(answer(&deny_ops, WEB, DB, 5432), Answer::Yes);
}

#[test]
fn ports_ranges_names_and_protocols() {
    let allow = |dest: &str, protocol: &str| {
        cnp(
            "shop",
            "p",
            &format!("{{selector: \"app == 'db'\", ingress: [{{action: Allow, protocol: {protocol}, destination: {dest}}}]}}"),
        )
    };
    for (dest, protocol, port, expected) in [
        ("{ports: [5432]}", "TCP", 5432, Answer::Yes),
        ("{ports: [5432]}", "TCP", 9100, Answer::No),
        ("{ports: ['5000:6000']}", "TCP", 5432, Answer::Yes),
        ("{ports: ['5000:6000']}", "TCP", 9100, Answer::No),
        ("{ports: [pg]}", "TCP", 5432, Answer::Yes),
        ("{ports: [pg]}", "TCP", 9100, Answer::No),
        ("{ports: [pg]}", "UDP", 5432, Answer::No),
        ("{notPorts: [9100]}", "TCP", 5432, Answer::Yes),
        ("{notPorts: [9100]}", "TCP", 9100, Answer::No),
    ] {
        assert_eq!(
            answer(&allow(dest, protocol), WEB, DB, port),
            expected,
            "{dest} {protocol} {port}"
        );
    }
    // Ports without a protocol that has them: Calico refuses the object, which enforces nothing.
    let refused = cnp(
        "shop",
        "p",
        "{selector: \"app == 'db'\", ingress: [{action: Deny, destination: {ports: [5432]}}]}",
    );
    assert_eq!(answer(&refused, WEB, DB, 5432), Answer::Yes);
    let bad_selector = cnp(
        "shop",
        "p",
        "{selector: \"app ==\", ingress: [{action: Deny}]}",
    );
    assert_eq!(answer(&bad_selector, WEB, DB, 5432), Answer::Yes);
    let bad_action = cnp("shop", "p", "{selector: all(), ingress: [{action: Drop}]}");
    assert_eq!(answer(&bad_action, WEB, DB, 5432), Answer::Yes);
}

#[test]
fn nets_network_sets_and_the_internet() {
    let db = DB;
    let egress = |dest: &str, action: &str| {
        cnp(
            "shop",
            "out",
            &format!("{{selector: \"app == 'db'\", egress: [{{action: {action}, destination: {dest}}}, {{action: Allow}}]}}"),
        )
    };
    let metadata = egress("{nets: [169.254.169.254/32]}", "Deny");
    assert_eq!(
        with_address(&metadata, db, "169.254.169.254", 80),
        Answer::No
    );
    assert_eq!(with_address(&metadata, db, "203.0.113.9", 80), Answer::Yes);
    let but_metadata =
        egress("{notNets: [169.254.0.0/16]}", "Allow").replace(", {action: Allow}", "");
    assert_eq!(
        with_address(&but_metadata, db, "169.254.169.254", 80),
        Answer::No
    );
    assert_eq!(
        with_address(&but_metadata, db, "203.0.113.9", 80),
        Answer::Yes
    );
    // A network set the selector picks stands for its nets.
    let set = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: imds, labels: {role: imds}}\nspec: {nets: [169.254.169.254/32]}\n---\n";
    let by_set = gnp(
        "no-imds",
        "{order: 1, selector: all(), types: [Egress], egress: [{action: Deny, destination: {selector: \"role == 'imds'\"}}, {action: Allow}]}",
    );
    let both = format!("{set}{by_set}");
    assert_eq!(with_address(&both, db, "169.254.169.254", 80), Answer::No);
    assert_eq!(with_address(&both, db, "203.0.113.9", 80), Answer::Yes);
    assert_eq!(
        with_address(&by_set, db, "169.254.169.254", 80),
        Answer::Yes,
        "without the set, the selector picks no address"
    );
    // Network sets carry their namespace and its labels; global() picks global ones.
    let ops_set = "apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata: {name: imds, namespace: ops, labels: {role: imds}}\nspec: {nets: [169.254.169.254/32]}\n---\n";
    let by = |dest: &str| {
        gnp(
            "no-imds",
            &format!("{{selector: all(), types: [Egress], egress: [{{action: Deny, destination: {dest}}}, {{action: Allow}}]}}"),
        )
    };
    for (sets, dest, expected) in [
        (ops_set, "{selector: \"pcns.team == 'ops'\"}", Answer::No),
        (
            ops_set,
            "{selector: \"projectcalico.org/namespace == 'ops'\"}",
            Answer::No,
        ),
        (
            ops_set,
            "{namespaceSelector: \"team == 'ops'\"}",
            Answer::No,
        ),
        (
            ops_set,
            "{namespaceSelector: \"team == 'shop'\"}",
            Answer::Yes,
        ),
        (ops_set, "{namespaceSelector: global()}", Answer::Yes),
        (set, "{namespaceSelector: global()}", Answer::No),
        (set, "{namespaceSelector: \"!has(team)\"}", Answer::No),
        (set, "{namespaceSelector: \"team == 'ops'\"}", Answer::Yes),
    ] {
        assert_eq!(
            with_address(&format!("{sets}{}", by(dest)), db, "169.254.169.254", 80),
            expected,
            "{dest} on {sets}"
        );
    }
    // A namespaced policy's selector picks network sets of its own namespace only.
    let ns_set = "apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata: {name: imds, namespace: ops, labels: {role: imds}}\nspec: {nets: [169.254.169.254/32]}\n---\n";
    let ns_policy = cnp(
        "shop",
        "no-imds",
        "{selector: all(), types: [Egress], egress: [{action: Deny, destination: {selector: \"role == 'imds'\"}}, {action: Allow}]}",
    );
    assert_eq!(
        with_address(&format!("{ns_set}{ns_policy}"), db, "169.254.169.254", 80),
        Answer::Yes
    );
    assert_eq!(
        with_address(
            &format!("{}{ns_policy}", ns_set.replace("ops", "shop")),
            db,
            "169.254.169.254",
            80
        ),
        Answer::No
    );
    // The internet: only nets holding every address of both families surely match it.
    let from = |nets: &str| {
        cnp(
            "shop",
            "in",
            &format!("{{selector: \"app == 'db'\", ingress: [{{action: Allow, source: {{nets: {nets}}}}}]}}"),
        )
    };
    assert_eq!(
        with_address(&from("[0.0.0.0/0, '::/0']"), "internet", db, 5432),
        Answer::Yes
    );
    assert_eq!(
        with_address(&from("[0.0.0.0/0]"), "internet", db, 5432),
        Answer::Unknown
    );
    assert_eq!(
        with_address(&from("[10.0.0.0/8]"), "internet", db, 5432),
        Answer::Unknown
    );
    // A pod whose address is unknown against nets: not decidable, unless no pod's address can
    // be in them (link-local, loopback, multicast), as with the metadata server's.
    let pods = egress("{nets: [10.0.0.0/8]}", "Deny");
    assert_eq!(answer(&pods, DB, WEB, 80), Answer::Unknown);
    assert_eq!(answer(&metadata, DB, WEB, 80), Answer::Yes);
    assert_eq!(
        answer(&both, DB, WEB, 80),
        Answer::Yes,
        "through the network set too"
    );
}

#[test]
fn service_accounts_and_what_is_not_decided_here() {
    let rule = |r: &str| {
        cnp(
            "shop",
            "p",
            &format!("{{selector: \"app == 'db'\", ingress: [{r}]}}"),
        )
    };
    let by_sa = rule("{action: Allow, source: {serviceAccounts: {names: [default]}}}");
    assert_eq!(answer(&by_sa, WEB, DB, 5432), Answer::Yes);
    let other_sa = rule("{action: Allow, source: {serviceAccounts: {names: [builder]}}}");
    assert_eq!(answer(&other_sa, WEB, DB, 5432), Answer::No);
    // Labels of a ServiceAccount the input holds no object of: unknown.
    let sa_labels =
        rule("{action: Allow, source: {serviceAccounts: {selector: \"team == 'web'\"}}}");
    assert_eq!(answer(&sa_labels, WEB, DB, 5432), Answer::Unknown);
    let sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: shop, labels: {team: web}}\n---\n";
    assert_eq!(
        answer(&format!("{sa}{sa_labels}"), WEB, DB, 5432),
        Answer::Yes
    );
    // HTTP matches and services peers are not decided: an allow that may match is unknown,
    // and a deny that may match before an allow too.
    for r in [
        "{action: Allow, http: {methods: [GET]}}",
        "{action: Allow, source: {services: {name: web, namespace: shop}}}",
    ] {
        assert_eq!(answer(&rule(r), WEB, DB, 5432), Answer::Unknown, "{r}");
    }
    let deny_http = rule("{action: Deny, http: {methods: [POST]}}, {action: Allow}");
    let v = ask(&deny_http, WEB, DB, 5432, "TCP");
    assert_eq!(v.answer, Answer::Unknown);
    let ingress = v.ingress.expect("ingress");
    assert_eq!(
        ingress.undecided_by,
        ["NetworkPolicy.projectcalico.org:shop/p spec.ingress[1]"]
    );
    assert_eq!(
        ingress.deny_undecided_by,
        ["NetworkPolicy.projectcalico.org:shop/p spec.ingress[0]"]
    );
    // A namespace's labels unknown (no Namespace object): a selector on them is unknown.
    let unknown_ns = gnp(
        "g",
        "{selector: \"pcns.tier == 'gold'\", ingress: [{action: Deny}]}",
    );
    let c = cluster(&unknown_ns);
    let inv = Inventory::new(&c);
    let model = Model::of(&inv);
    let mut db = pods_of(&inv, DB).expect("db");
    db.namespace = "elsewhere".into();
    let web = Party::Pods(pods_of(&inv, WEB).expect("web"));
    assert_eq!(
        model.connect(&web, &Party::Pods(db), 5432, "TCP").answer,
        Answer::Unknown
    );
}

#[test]
fn calico_and_cilium_together_are_not_evaluated_and_crds_alone_keep_it_unknown() {
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: networkpolicies.crd.projectcalico.org}\nspec: {group: crd.projectcalico.org, names: {kind: NetworkPolicy}}\n---\n";
    assert_eq!(answer(crd, WEB, DB, 5432), Answer::Unknown);
    let allow = cnp(
        "shop",
        "p",
        "{selector: \"app == 'db'\", ingress: [{action: Allow}]}",
    );
    assert_eq!(answer(&format!("{crd}{allow}"), WEB, DB, 5432), Answer::Yes);
    // Stored as crd.projectcalico.org/v1: the same policy.
    let stored = allow.replace("projectcalico.org/v3", "crd.projectcalico.org/v1");
    assert_eq!(
        answer(
            &format!("{crd}{stored}").replace("action: Allow", "action: Deny"),
            WEB,
            DB,
            5432
        ),
        Answer::No
    );
    let cilium = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: c, namespace: shop}\nspec: {endpointSelector: {}, ingress: [{}]}\n---\n";
    let v = ask(&format!("{allow}{cilium}"), WEB, DB, 5432, "TCP");
    assert_eq!(v.answer, Answer::Unknown);
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("NetworkPolicy.projectcalico.org:shop/p")),
        "{:?}",
        v.notes
    );
}

#[test]
fn calico_segments_answer_exactly_as_pairs_do() {
    let sets = [
        cnp("shop", "deny", DENY_WEB_TO_DB) + &np("shop", "all", ALLOW_ALL_TO_DB),
        tier("security", "{order: 100}")
            + &gnp(
                "pass",
                "{tier: security, selector: \"app == 'db'\", ingress: [{action: Pass, source: {selector: \"pcns.team == 'shop'\"}}]}",
            ),
        gnp(
            "g",
            "{order: 5, namespaceSelector: \"team == 'ops'\", selector: all(), types: [Egress], egress: [{action: Allow, protocol: TCP, destination: {ports: [pg]}}]}",
        ) + &cnp(
            "shop",
            "p",
            "{selector: \"app == 'db'\", ingress: [{action: Deny, protocol: TCP, destination: {notPorts: ['9000:9200']}, source: {notSelector: \"app == 'web'\"}}, {action: Allow}]}",
        ),
        cnp(
            "ops",
            "sa",
            "{selector: all(), serviceAccountSelector: \"projectcalico.org/name == 'default'\", types: [Egress], egress: [{action: Allow, destination: {serviceAccounts: {names: [default]}, namespaceSelector: all()}}]}",
        ),
        // A rule on the protocol alone: db listens on TCP and UDP ports.
        gnp(
            "udp",
            "{selector: \"app == 'db'\", ingress: [{action: Deny, protocol: TCP}, {action: Allow}]}",
        ),
        // ServiceAccount labels differ by namespace for the same name.
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: ops, labels: {role: admin}}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: shop}\n---\n".to_string()
            + &gnp(
                "admins",
                "{selector: all(), ingress: [{action: Allow, source: {serviceAccounts: {selector: \"role == 'admin'\"}}}]}",
            ),
        anp(
            "a",
            Some(3),
            "subject: {namespaces: {}}, ingress: [{action: Deny, from: [{pods: {namespaceSelector: {matchLabels: {team: ops}}, podSelector: {}}}], ports: [{namedPort: pg}]}]",
        ) + &anp(
            "",
            None,
            "subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}}, ingress: [{action: Deny, from: [{namespaces: {}}]}]",
        ),
    ];
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

/// An AdminNetworkPolicy (`priority` given) or, with `None`, the BaselineAdminNetworkPolicy.
fn anp(name: &str, priority: Option<u32>, spec: &str) -> String {
    let (kind, name, priority) = match priority {
        Some(p) => ("AdminNetworkPolicy", name, format!("priority: {p}, ")),
        None => ("BaselineAdminNetworkPolicy", "default", String::new()),
    };
    format!("apiVersion: policy.networking.k8s.io/v1alpha1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec: {{{priority}{spec}}}\n---\n")
}

const SHOP: &str = "subject: {namespaces: {matchLabels: {team: shop}}}";

#[test]
fn admin_policies_come_before_network_policies_and_pass_to_them() {
    let allow_all = np("shop", "all", ALLOW_ALL_TO_DB);
    let deny_ops = anp(
        "deny-ops",
        Some(10),
        &format!("{SHOP}, ingress: [{{action: Deny, from: [{{namespaces: {{matchLabels: {{team: ops}}}}}}]}}]"),
    );
    let both = format!("{allow_all}{deny_ops}");
    let v = ask(&both, OTHER, DB, 5432, "TCP");
    assert_eq!(v.answer, Answer::No, "the admin deny wins over the allow");
    assert_eq!(
        v.ingress.expect("ingress").denied_by,
        ["AdminNetworkPolicy:deny-ops spec.ingress[0]"]
    );
    assert_eq!(
        answer(&both, WEB, DB, 5432),
        Answer::Yes,
        "no admin rule matches: on to NetworkPolicies"
    );
    // An admin allow admits what a NetworkPolicy's default deny would not.
    let deny = np("shop", "deny", "{podSelector: {}, policyTypes: [Ingress]}");
    let allow_ops = anp(
        "allow-ops",
        Some(10),
        &format!("{SHOP}, ingress: [{{action: Allow, from: [{{pods: {{namespaceSelector: {{matchLabels: {{team: ops}}}}, podSelector: {{matchLabels: {{app: web}}}}}}}}]}}]"),
    );
    assert_eq!(
        answer(&format!("{deny}{allow_ops}"), OTHER, DB, 5432),
        Answer::Yes
    );
    assert_eq!(
        answer(&format!("{deny}{allow_ops}"), WEB, DB, 5432),
        Answer::No
    );
    // Pass skips the other admin policies: the deny at priority 20 never runs.
    let pass = anp(
        "pass-ops",
        Some(5),
        &format!("{SHOP}, ingress: [{{action: Pass, from: [{{namespaces: {{matchLabels: {{team: ops}}}}}}]}}]"),
    );
    assert_eq!(
        answer(
            &format!("{pass}{}", deny_ops.replace("priority: 10", "priority: 20")),
            OTHER,
            DB,
            5432
        ),
        Answer::Yes
    );
    assert_eq!(
        answer(&format!("{pass}{deny_ops}"), OTHER, DB, 5432),
        Answer::Yes,
        "5 before 10"
    );
    assert_eq!(
        answer(
            &format!("{}{deny_ops}", pass.replace("priority: 5", "priority: 50")),
            OTHER,
            DB,
            5432
        ),
        Answer::No,
        "10 before 50"
    );
    // Equal priorities: the order is the implementation's, both are followed.
    let allow_same = deny_ops
        .replace("deny-ops", "allow-ops")
        .replace("action: Deny", "action: Allow");
    assert_eq!(
        answer(&format!("{allow_same}{deny_ops}"), OTHER, DB, 5432),
        Answer::Unknown
    );
}

#[test]
fn the_baseline_applies_only_where_no_network_policy_selects() {
    let baseline = anp(
        "",
        None,
        "subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}]}]",
    );
    assert_eq!(answer(&baseline, WEB, DB, 5432), Answer::No);
    let db_from_web = np(
        "shop",
        "db",
        "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]}",
    );
    let both = format!("{baseline}{db_from_web}");
    assert_eq!(
        answer(&both, WEB, DB, 5432),
        Answer::Yes,
        "the NetworkPolicy decides"
    );
    assert_eq!(answer(&both, OTHER, DB, 5432), Answer::No);
    // A baseline has no Pass: refused, it enforces nothing.
    let refused = baseline.replace("action: Deny", "action: Pass");
    assert_eq!(answer(&refused, WEB, DB, 5432), Answer::Yes);
}

#[test]
fn admin_policy_peers_and_ports() {
    let egress = |to: &str, ports: &str| {
        anp(
            "out",
            Some(1),
            &format!("subject: {{pods: {{namespaceSelector: {{}}, podSelector: {{matchLabels: {{app: db}}}}}}}}, egress: [{{action: Deny, to: [{to}]{ports}}}]"),
        )
    };
    let imds = egress("{networks: [169.254.169.254/32]}", "");
    assert_eq!(with_address(&imds, DB, "169.254.169.254", 80), Answer::No);
    assert_eq!(with_address(&imds, DB, "203.0.113.9", 80), Answer::Yes);
    assert_eq!(
        answer(&imds, DB, WEB, 80),
        Answer::Yes,
        "no pod has that address"
    );
    assert_eq!(
        with_address(&imds, WEB, "169.254.169.254", 80),
        Answer::Yes,
        "web is no subject"
    );
    // Nodes and domain names are never pods; which addresses they are is not in the input.
    let nodes = egress("{nodes: {}}", "");
    assert_eq!(answer(&nodes, DB, WEB, 80), Answer::Yes);
    assert_eq!(with_address(&nodes, DB, "10.0.0.1", 80), Answer::Unknown);
    // Ports: by number and protocol, range, name.
    let deny_in = |ports: &str| {
        anp(
            "in",
            Some(1),
            &format!(
                "{SHOP}, ingress: [{{action: Deny, from: [{{namespaces: {{}}}}], ports: {ports}}}]"
            ),
        )
    };
    for (ports, port, expected) in [
        (
            "[{portNumber: {protocol: TCP, port: 5432}}]",
            5432,
            Answer::No,
        ),
        (
            "[{portNumber: {protocol: TCP, port: 5432}}]",
            9100,
            Answer::Yes,
        ),
        (
            "[{portNumber: {protocol: UDP, port: 5432}}]",
            5432,
            Answer::Yes,
        ),
        ("[{portRange: {start: 9000, end: 9200}}]", 9100, Answer::No),
        ("[{portRange: {start: 9000, end: 9200}}]", 5432, Answer::Yes),
        ("[{namedPort: pg}]", 5432, Answer::No),
        ("[{namedPort: pg}]", 9100, Answer::Yes),
        (
            "[{namedPort: metrics}, {portNumber: {port: 5432}}]",
            5432,
            Answer::No,
        ),
    ] {
        assert_eq!(
            answer(&deny_in(ports), WEB, DB, port),
            expected,
            "{ports} {port}"
        );
    }
    // What the API server refuses enforces nothing: two subjects, no peers.
    let two = anp(
        "two",
        Some(1),
        "subject: {namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}, ingress: [{action: Deny, from: [{namespaces: {}}]}]",
    );
    assert_eq!(answer(&two, WEB, DB, 5432), Answer::Yes);
    let no_peers = anp(
        "none",
        Some(1),
        &format!("{SHOP}, ingress: [{{action: Deny, from: []}}]"),
    );
    assert_eq!(answer(&no_peers, WEB, DB, 5432), Answer::Yes);
}

#[test]
fn admin_policy_crds_alone_and_the_newer_api_stay_unknown() {
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: adminnetworkpolicies.policy.networking.k8s.io}\nspec: {group: policy.networking.k8s.io, names: {kind: AdminNetworkPolicy}}\n---\n";
    assert_eq!(answer(crd, WEB, DB, 5432), Answer::Unknown);
    let deny = anp(
        "deny",
        Some(1),
        &format!("{SHOP}, ingress: [{{action: Deny, from: [{{namespaces: {{}}}}]}}]"),
    );
    assert_eq!(answer(&format!("{crd}{deny}"), WEB, DB, 5432), Answer::No);
    let cnp_v2 = "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: c}\nspec: {tier: Admin, priority: 1, subject: {namespaces: {}}}\n---\n";
    assert_eq!(
        answer(&format!("{cnp_v2}{deny}"), WEB, DB, 5432),
        Answer::Unknown
    );
}

/// `open_to_every_namespace`'s answer when every way through the ordered policies admits,
/// naming the allows met.
fn in_order(allows: &str) -> Option<Option<String>> {
    Some(Some(format!(
        "every way through the policies in order admits every pod of every namespace on every port ({allows})"
    )))
}

/// A `security` tier before the default one whose policy passes everything on.
fn passing() -> String {
    format!(
        "{}{}",
        tier("security", "{order: 100}"),
        gnp(
            "pass",
            "{tier: security, selector: all(), ingress: [{action: Pass}]}"
        )
    )
}

/// "Open to every pod of every namespace on every port" (KSPM-N-019) in Calico's order: the
/// pod's ingress side for some pod, which one unknown, on every port — yes only when every way
/// through the tiers admits it.
#[test]
fn open_to_every_namespace_in_calicos_order() {
    // A Calico policy applies to web and passes: the NetworkPolicies decide in the default
    // tier, each for some pod on every port, as the NetworkPolicy reading decides them.
    for spec in OPEN_TO_EVERY_NAMESPACE {
        let got = open_web(&format!("{}{}", passing(), np("shop", "p", spec)));
        assert_eq!(got, in_order("NetworkPolicy:shop/p"), "{spec}");
    }
    for spec in RESTRICTED {
        assert_eq!(
            open_web(&format!("{}{}", passing(), np("shop", "p", spec))),
            None,
            "{spec}"
        );
    }
    // With nothing after the pass, the namespace's profile admits.
    assert_eq!(
        open_web(&passing()),
        in_order("the profile of namespace shop (no tier decides)")
    );
    // A Calico policy for other pods only: the NetworkPolicies' reading, rule and all.
    let elsewhere = gnp(
        "elsewhere",
        "{selector: \"app == 'nothing'\", ingress: [{action: Allow}]}",
    );
    assert_eq!(
        open_web(&format!("{elsewhere}{}", np("shop", "p", OPEN_TO_EVERY_NAMESPACE[0]))),
        Some(Some(
            "NetworkPolicy:shop/p spec.ingress[0] admits every pod of every namespace on every port"
                .into()
        ))
    );
    assert_eq!(open_web(&elsewhere), Some(None), "no policy applies to web");
    // Calico's own rules: every source, every namespace, on every port and protocol.
    let open = |ingress: &str| {
        open_web(&gnp(
            "g",
            &format!("{{selector: \"app == 'web'\", ingress: [{ingress}]}}"),
        ))
    };
    for rule in [
        "{action: Allow}",
        "{action: Allow, source: {namespaceSelector: all()}}",
        "{action: Allow, source: {selector: all()}}",
        // A deny that no pod can meet (link-local addresses are never a pod's).
        "{action: Deny, source: {nets: [169.254.0.0/16]}}, {action: Allow}",
        "{action: Log}, {action: Allow}",
    ] {
        let last = rule.matches("action:").count() - 1;
        assert_eq!(
            open(rule),
            in_order(&format!("GlobalNetworkPolicy:g spec.ingress[{last}]")),
            "{rule}"
        );
    }
    for rule in [
        "{action: Allow, source: {selector: \"role == 'fe'\"}}",
        "{action: Allow, source: {notSelector: \"role == 'fe'\"}}",
        "{action: Allow, source: {namespaceSelector: \"team == 'shop'\"}}",
        "{action: Allow, source: {namespaceSelector: global()}}",
        "{action: Allow, source: {serviceAccounts: {names: [fe]}}}",
        "{action: Allow, protocol: TCP}",
        "{action: Allow, protocol: TCP, destination: {ports: [8080]}}",
        "{action: Allow, protocol: TCP, destination: {notPorts: [22]}}",
        "{action: Allow, notProtocol: UDP}",
        "{action: Allow, ipVersion: 4}",
        "{action: Allow, source: {nets: [10.0.0.0/8]}}",
        // Some pod may meet the deny first.
        "{action: Deny, source: {selector: \"role == 'bad'\"}}, {action: Allow}",
        "{action: Deny, source: {namespaceSelector: \"team == 'ops'\"}}, {action: Allow}",
        "{action: Deny, protocol: UDP}, {action: Allow}",
    ] {
        assert_eq!(open(rule), None, "{rule}");
    }
    // A ServiceAccount selector for every account admits every pod.
    assert_eq!(
        open("{action: Allow, source: {serviceAccounts: {selector: all()}}}"),
        in_order("GlobalNetworkPolicy:g spec.ingress[0]")
    );
    // Passed on from the last tier: the namespace's profile admits.
    assert_eq!(
        open("{action: Pass}"),
        in_order("the profile of namespace shop (no tier decides)")
    );
    // A namespaced Calico policy's source selector looks in its own namespace only, unless its
    // namespaceSelector opens every namespace.
    let namespaced = |source: &str| {
        open_web(&cnp(
            "shop",
            "p",
            &format!("{{selector: all(), ingress: [{{action: Allow, source: {source}}}]}}"),
        ))
    };
    assert_eq!(namespaced("{selector: all()}"), None);
    assert_eq!(
        namespaced("{namespaceSelector: all()}"),
        in_order("NetworkPolicy.projectcalico.org:shop/p spec.ingress[0]")
    );
    // Cilium's policies beside Calico's order are not evaluated together: not decided.
    let cilium = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: deny, namespace: shop}\nspec: {endpointSelector: {}, ingress: [{}]}\n---\n";
    assert_eq!(open_web(&format!("{cilium}{}", passing())), None);
}

/// The same question under AdminNetworkPolicies: they come first, the baseline last.
#[test]
fn open_to_every_namespace_under_admin_policies() {
    let every = "subject: {namespaces: {}}";
    let allow = anp(
        "allow",
        Some(5),
        &format!("{every}, ingress: [{{action: Allow, from: [{{namespaces: {{}}}}]}}]"),
    );
    // Admitted before the NetworkPolicies' default deny can drop it.
    assert_eq!(
        open_web(&format!("{allow}{}", np("shop", "p", RESTRICTED[0]))),
        in_order("AdminNetworkPolicy:allow spec.ingress[0]")
    );
    let deny_ops = anp(
        "deny-ops",
        Some(1),
        &format!("{every}, ingress: [{{action: Deny, from: [{{namespaces: {{matchLabels: {{team: ops}}}}}}]}}]"),
    );
    assert_eq!(open_web(&format!("{deny_ops}{allow}")), None);
    let ports = anp(
        "web-port",
        Some(5),
        &format!("{every}, ingress: [{{action: Allow, from: [{{namespaces: {{}}}}], ports: [{{portNumber: {{protocol: TCP, port: 8080}}}}]}}]"),
    );
    assert_eq!(
        open_web(&format!("{ports}{}", np("shop", "p", RESTRICTED[0]))),
        None
    );
    // A peer in the API's earlier shape (`sameLabels`) is not read as every namespace.
    let earlier = anp(
        "earlier",
        Some(5),
        &format!(
            "{every}, ingress: [{{action: Allow, from: [{{namespaces: {{sameLabels: [team]}}}}]}}]"
        ),
    );
    assert_eq!(
        open_web(&format!("{earlier}{}", np("shop", "p", RESTRICTED[0]))),
        None
    );
    // The baseline denies what no NetworkPolicy selects.
    let baseline = anp(
        "",
        None,
        &format!("{every}, ingress: [{{action: Deny, from: [{{namespaces: {{}}}}]}}]"),
    );
    assert_eq!(open_web(&baseline), None);
    assert_eq!(
        open_web(&format!(
            "{baseline}{}",
            np("shop", "p", OPEN_TO_EVERY_NAMESPACE[1])
        )),
        in_order("NetworkPolicy:shop/p")
    );
}
