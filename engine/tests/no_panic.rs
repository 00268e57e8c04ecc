//! Hostile input never panics, never hangs and never leaks a Secret: hundreds of deterministic
//! mutations of real manifests and of Secrets carrying a canary (truncated, spliced, bytes
//! flipped, types swapped, tags, anchors, merge keys) go through the whole engine — parse, every
//! check, the attack graph, paths and every renderer — within a time bound.

use kspm_engine::parse::{parse_text, Syntax};
use kspm_engine::render::{render, Format};
use kspm_engine::snapshot::{ClusterSnapshot, Snapshot};
use kspm_engine::{evaluate_with, ScanOptions};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    include_str!("../../tests/fixtures/small-cluster/workloads.yaml"),
    include_str!("../../tests/fixtures/small-cluster/rbac.yaml"),
    "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: a}\nspec: {type: LoadBalancer, selector: {app: x}, ports: [{port: 80, targetPort: http}]}\nstatus: {loadBalancer: {ingress: [{ip: 203.0.113.1}]}}\n",
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: a}\nspec: {podSelector: {matchExpressions: [{key: app, operator: In, values: [x]}]}, policyTypes: [Ingress, Egress]}\n",
    "apiVersion: v1\nkind: Secret\nmetadata: {name: t, namespace: a, annotations: {kubernetes.io/service-account.name: d}}\ntype: kubernetes.io/service-account-token\ndata: {token: eA==}\n",
    // Secrets carrying the canary in every shape the parser must survive without quoting it.
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: c1\n  namespace: a\nstringData:\n  password: !!int KSPMCANARY7F3A\n  token: &t KSPMCANARY7F3A\n  again: *t\n",
    "apiVersion: v1\nkind: Secret\nstringData:\n  token: &v KSPMCANARY7F3A\n  <<: {merged: KSPMCANARY7F3A}\ndata:\n  key: S1NQTUNBTkFSWTdGM0E=\n  bad: not base64 KSPMCANARY7F3A\nmetadata:\n  labels:\n    copy: *v\n  name: *v\n  namespace: a\n  annotations:\n    kubernetes.io/service-account.name: *v\ntype: kubernetes.io/service-account-token\n",
    "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"c3\"}, \"stringData\": {\"a\": \"KSPMCANARY7F3A\", \"b\": [\"KSPMCANARY7F3A\"], \"a\": 7}}\n",
];

/// The canary and its base64 form (`S1NQTUNBTkFSWTdGM0E=`): neither may reach any output.
const CANARY: &str = "KSPMCANARY7F3A";
const CANARY_B64: &str = "S1NQTUNBTkFSWTdGM0E";

/// Whether every line of `text` that carries the canary is a value of a Secret's `data` or
/// `stringData` (block style: the nearest less-indented line above it is that key, in a
/// document that declares `kind: Secret`). A mutation that moves the canary anywhere else makes
/// it an ordinary field, which outputs may show.
fn canary_only_in_secrets(text: &str) -> bool {
    text.split("\n---").all(|doc| {
        let lines: Vec<&str> = doc.lines().collect();
        let indent = |l: &str| l.len() - l.trim_start().len();
        lines.iter().enumerate().all(|(i, l)| {
            if !l.contains(CANARY) && !l.contains(CANARY_B64) {
                return true;
            }
            let parent = lines[..i]
                .iter()
                .rev()
                .find(|p| !p.trim().is_empty() && indent(p) < indent(l));
            doc.lines().any(|x| x == "kind: Secret")
                && parent.is_some_and(|p| *p == "data:" || *p == "stringData:")
        })
    })
}

/// Replacements that turn well-typed fields into the wrong types.
const SWAPS: &[(&str, &str)] = &[
    ("true", "[1, 2]"),
    ("false", "{a: b}"),
    ("name: ", "name: \n  - x\n  "),
    ("[", "{"),
    ("{", "["),
    ("containers:", "containers: 7\n  x:"),
    ("rules:", "rules: {}\n  y:"),
    ("0", "-999999999999999999999"),
    (":", ": *a\n"),
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut s = text.to_string();
    for _ in 0..1 + rng.below(3) {
        match rng.below(5) {
            0 if !s.is_empty() => {
                let cut = rng.below(s.len());
                let cut = (0..=cut)
                    .rev()
                    .find(|i| s.is_char_boundary(*i))
                    .unwrap_or(0);
                s.truncate(cut);
            }
            1 => {
                let (from, to) = SWAPS[rng.below(SWAPS.len())];
                if let Some(pos) = s.match_indices(from).map(|(i, _)| i).nth(rng.below(4)) {
                    s.replace_range(pos..pos + from.len(), to);
                }
            }
            2 => {
                let other = SEEDS[rng.below(SEEDS.len())];
                let at = rng.below(other.len());
                let at = (0..=at)
                    .rev()
                    .find(|i| other.is_char_boundary(*i))
                    .unwrap_or(0);
                s.push_str("\n---\n");
                s.push_str(&other[at..]);
            }
            3 if !s.is_empty() => {
                let mut bytes = s.into_bytes();
                let i = rng.below(bytes.len());
                {
                    let alphabet = b"{}[]:,-'\"\n\t &*!|>%@`";
                    bytes[i] = alphabet[rng.below(alphabet.len())];
                }
                s = String::from_utf8_lossy(&bytes).into_owned();
            }
            _ => s = s.replace("  ", " "),
        }
    }
    s
}

#[test]
fn hundreds_of_mutated_manifests_never_panic() {
    let mut rng = Rng(0x5eed);
    let mut parsed_objects = 0;
    let mut errors = 0;
    let mut canary_rounds = 0;
    let started = std::time::Instant::now();
    for round in 0..800 {
        let round_started = std::time::Instant::now();
        let seed = SEEDS[round % SEEDS.len()];
        let text = mutate(&mut rng, seed);
        let syntax = if round % 7 == 0 {
            Syntax::Json
        } else {
            Syntax::Yaml
        };
        let out = parse_text(&text, "fuzz.yaml", syntax);
        parsed_objects += out.objects.len();
        errors += out.errors.len();
        let guarded = canary_only_in_secrets(&text) && text.contains(CANARY);
        let messages: Vec<String> = out.errors.iter().map(|e| e.message.clone()).collect();
        let snapshot = Snapshot {
            clusters: vec![ClusterSnapshot {
                objects: out.objects,
                errors: out.errors,
                ..Default::default()
            }],
            ..Default::default()
        };
        let report = evaluate_with(&snapshot, &ScanOptions::default());
        let mut outputs = messages;
        for f in [Format::Table, Format::Json, Format::Sarif] {
            outputs.push(render(&report, f, round % 2 == 0));
        }
        if guarded {
            canary_rounds += 1;
            for o in &outputs {
                assert!(
                    !o.contains(CANARY) && !o.contains(CANARY_B64),
                    "round {round}: the canary leaked\ninput:\n{text}\noutput:\n{o}"
                );
            }
        }
        assert!(
            round_started.elapsed() < std::time::Duration::from_secs(10),
            "round {round} hung: {text}"
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(240),
        "800 rounds took {:?}",
        started.elapsed()
    );
    assert!(
        canary_rounds > 50,
        "only {canary_rounds} rounds carried the canary in Secrets"
    );
    // The mutations exercise both paths: many documents still parse, many do not.
    assert!(
        parsed_objects > 400 && errors > 200,
        "objects {parsed_objects}, errors {errors}"
    );
}
