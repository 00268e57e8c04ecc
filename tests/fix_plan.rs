//! The fix plan, proven the way a platform team would: its patches applied to the snapshot's
//! objects, the snapshot scanned again — no path the plan claims to cut is left, every finding
//! it claims to resolve is gone, and only paths it names as remaining stay.

use kspm_engine::evaluate::evaluate_with_graph;
use kspm_engine::graph::fixplan::{plan, FindingSite, FixPlan, PlanOptions};
use kspm_engine::graph::paths::AttackPath;
use kspm_engine::graph::remedy::apply_patch;
use kspm_engine::ScanOptions;
use kspm_engine::{evaluate, Severity, Snapshot};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Applies every fix of the plan to the snapshot (patches in place, deletions removed): the
/// object in its cluster, or a cloud document the fleet shares (a project's IAM policy).
fn apply(snapshot: &mut Snapshot, plan: &FixPlan) {
    for f in &plan.fixes {
        let is = |o: &kspm_engine::Object| {
            o.kind == f.object.kind
                && o.name == f.object.name
                && o.effective_namespace() == f.object.namespace.as_deref()
        };
        // The named cluster's object; a provider document of an account, project or
        // subscription (`aws:…`, `gcp:…`, `azure:…`) wherever the snapshot keeps it.
        let named = snapshot
            .clusters
            .iter()
            .position(|c| c.info.name == f.object.cluster && c.objects.iter().any(is));
        let any = snapshot
            .clusters
            .iter()
            .position(|c| c.objects.iter().any(is));
        let objects = match named.or(any) {
            Some(c) => &mut snapshot.clusters[c].objects,
            None => &mut snapshot.cloud,
        };
        let at = objects
            .iter()
            .position(is)
            .unwrap_or_else(|| panic!("object {} of {}", f.object.reference(), f.id));
        if f.delete {
            objects.remove(at);
        } else {
            apply_patch(&mut objects[at].body, &f.patch)
                .unwrap_or_else(|e| panic!("{}: {e}", f.id));
        }
    }
}

fn all_paths(paths: &[AttackPath]) -> Vec<AttackPath> {
    paths.iter().flat_map(AttackPath::with_folded).collect()
}

/// The plan at `severity` of a snapshot, with the report it came from.
fn plan_at(snapshot: &Snapshot, severity: Severity) -> (kspm_engine::Report, FixPlan) {
    let (report, graph) = evaluate_with_graph(snapshot, &ScanOptions::default());
    let sites: Vec<FindingSite> = report.findings.iter().map(FindingSite::of).collect();
    let paths = graph.index().attack_paths();
    let options = PlanOptions {
        severity,
        budget: None,
    };
    let p = plan(&graph, &paths, &sites, options);
    (report, p)
}

fn prove(dir: &Path, severity: Severity) {
    let mut snapshot = kspm_collectors::files::load(&[dir.to_path_buf()]);
    let (before, plan) = plan_at(&snapshot, severity);
    if severity == Severity::High {
        assert_eq!(
            serde_json::to_value(&plan).ok(),
            serde_json::to_value(&before.fix_plan).ok(),
            "the report's plan is the engine's"
        );
    }
    assert!(
        !plan.fixes.is_empty(),
        "{}: a plan with fixes",
        dir.display()
    );
    assert!(plan.paths_cut > 0 && plan.paths_cut <= plan.paths);
    assert_eq!(plan.cost, plan.fixes.iter().map(|f| f.cost).sum::<u32>());
    assert!(plan.lower_bound <= plan.cost);
    for f in &plan.fixes {
        assert!(!f.breaks.is_empty(), "{} cuts some path", f.id);
        assert!(f.delete || !f.patch.is_empty(), "{} has a patch", f.id);
        // kubectl names the object; a cloud CLI names it its own way.
        let name = f.object.name.rsplit('/').next().unwrap_or_default();
        assert!(
            f.command.contains(name)
                || ["aws ", "gcloud ", "az "]
                    .iter()
                    .any(|c| f.command.starts_with(c)),
            "{}",
            f.command
        );
        assert!(!f.loses.is_empty(), "{} says what it takes away", f.id);
    }
    let remaining: BTreeSet<&str> = plan.remaining.iter().map(|r| r.id.as_str()).collect();
    apply(&mut snapshot, &plan);
    let (after, again) = plan_at(&snapshot, severity);
    let left = all_paths(&after.attack_paths);
    // Nothing at the plan's severity but what it names as remaining.
    for p in left.iter().filter(|p| p.severity >= plan.severity) {
        assert!(
            remaining.contains(p.id.as_str()),
            "{}: path {} {} → {} ({:?}) survives the plan",
            dir.display(),
            p.id,
            p.source,
            p.target,
            p.severity
        );
    }
    // Every path a fix claims to cut is gone at the plan's severity.
    let left_ids: BTreeSet<&str> = left
        .iter()
        .filter(|p| p.severity >= plan.severity)
        .map(|p| p.id.as_str())
        .collect();
    for f in &plan.fixes {
        for id in &f.breaks {
            assert!(!left_ids.contains(id.as_str()), "{} claims {id}", f.id);
        }
    }
    // Every finding a fix resolves is gone (one fewer of its check on its object).
    let count = |r: &kspm_engine::Report| -> BTreeMap<(String, String, String), usize> {
        let mut m = BTreeMap::new();
        for f in &r.findings {
            *m.entry((f.cluster.clone(), f.check.to_string(), f.resource.clone()))
                .or_default() += 1;
        }
        m
    };
    let (was, now) = (count(&before), count(&after));
    for fx in &plan.fixes {
        for fp in &fx.resolves {
            let f = before
                .findings
                .iter()
                .find(|f| &f.fingerprint == fp)
                .expect("a resolved finding is a finding");
            let key = (f.cluster.clone(), f.check.to_string(), f.resource.clone());
            assert!(
                now.get(&key).copied().unwrap_or(0) < was[&key],
                "{} claims to resolve {} on {}",
                fx.id,
                f.check,
                f.resource
            );
        }
    }
    // The rescan's own plan has nothing left to fix.
    assert!(
        again.fixes.is_empty(),
        "{}: after the plan, still {:?}",
        dir.display(),
        again.fixes.iter().map(|f| &f.changes).collect::<Vec<_>>()
    );
}

#[test]
fn demo_fleet_plan_applied_and_rescanned() {
    let demo = repo().join("examples/demo-fleet");
    prove(&demo, Severity::High);
    // Medium and worse: more families (Workload Identity on GKE and AKS, more bindings).
    prove(&demo, Severity::Medium);
    let mut snapshot = kspm_collectors::files::load(&[demo]);
    let report = evaluate(&snapshot);
    let plan = &report.fix_plan;
    assert_eq!(plan.severity, Severity::High);
    assert_eq!(plan.method, "exact");
    apply(&mut snapshot, plan);
    let after = evaluate(&snapshot);
    let high = |r: &kspm_engine::Report| {
        all_paths(&r.attack_paths)
            .iter()
            .filter(|p| p.severity >= Severity::High)
            .count()
    };
    assert!(high(&report) > high(&after));
    assert_eq!(high(&after), plan.remaining.len());
    assert!(plan.remaining.iter().all(|r| !r.reason.is_empty()));
    // Per-cluster counts add up to the fleet's.
    let cut: usize = plan.clusters.values().map(|c| c.paths_cut).sum();
    assert_eq!(cut, plan.paths_cut);
    let fixes: usize = plan.clusters.values().map(|c| c.fixes).sum();
    assert_eq!(fixes, plan.fixes.len());
}

#[test]
fn generated_fleet_plan_applied_and_rescanned() {
    let tmp = tempfile::tempdir().expect("temp dir");
    kspm_fleetgen::generate(tmp.path(), kspm_fleetgen::Shape::realistic(2, 300, true), 7)
        .expect("fleet");
    prove(tmp.path(), Severity::High);
    prove(tmp.path(), Severity::Medium);
}

/// What one fix cuts on its own (`cuts_alone`, the explorer's "after FX-…" preview), proven by
/// applying that fix's patch alone and scanning again: every path it claims is gone at the
/// plan's severity, with the hops it removes marked. (The other paths of its `breaks` are the
/// masked search's: kept where another way stays, which a rescan may find weaker or gone — the
/// claim is conservative, as the plan's own proof is.)
#[test]
fn each_fix_alone_applied_and_rescanned() {
    let demo = repo().join("examples/demo-fleet");
    let snapshot = kspm_collectors::files::load(&[demo]);
    let (report, graph) = evaluate_with_graph(&snapshot, &ScanOptions::default());
    let plan = &report.fix_plan;
    let paths = graph.index().attack_paths();
    let alone = kspm_engine::graph::fixplan::cuts_alone(&graph, &paths, plan);
    assert_eq!(alone.len(), plan.fixes.len(), "every fix searched alone");
    let (mut cut_alone, mut together) = (0, 0);
    for f in &plan.fixes {
        let mut one = plan.clone();
        one.fixes.retain(|x| x.id == f.id);
        let mut changed = snapshot.clone();
        apply(&mut changed, &one);
        let left: BTreeSet<String> = all_paths(&evaluate(&changed).attack_paths)
            .into_iter()
            .filter(|p| p.severity >= plan.severity)
            .map(|p| p.id)
            .collect();
        let own = &alone[&f.id];
        for id in &own.paths {
            assert!(!left.contains(id), "{} alone claims {id}", f.id);
            assert!(
                own.steps.get(id).is_some_and(|s| !s.is_empty()),
                "{} marks its hops on {id}",
                f.id
            );
        }
        assert!(
            own.paths.iter().all(|id| f.breaks.contains(id)),
            "{}: alone within what it breaks",
            f.id
        );
        cut_alone += own.paths.len();
        together += f.breaks.len() - own.paths.len();
    }
    // Most of the plan's claims are single fixes' own; the rest are counted, not shown as cut.
    assert!(
        cut_alone > together,
        "{cut_alone} alone, {together} together"
    );
    println!("paths cut by one fix alone: {cut_alone}; only with another: {together}");
}
