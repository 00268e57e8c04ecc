//! Continuous mode: a live inventory kept by watches, re-evaluated after every batch of changes,
//! reporting the findings and attack paths that appear or resolve. The service reuses this loop.

use kspm_collectors::live::watch::{watch, Change};
use kspm_collectors::live::{connect, detect_provider, LiveOptions};
use kspm_engine::drift::finding_key;
use kspm_engine::object::Source;
use kspm_engine::parse::object_from_map;
use kspm_engine::report::AttackPath;
use kspm_engine::snapshot::{ClusterInfo, ClusterSnapshot};
use kspm_engine::{assemble, evaluate_cluster_result, Finding, LoadError, Report, ScanOptions};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What changed after one batch of cluster changes.
#[derive(Debug, Default)]
pub struct WatchUpdate {
    /// True for the first evaluation (everything is "added").
    pub initial: bool,
    /// Findings that appeared.
    pub added_findings: Vec<Finding>,
    /// Findings that resolved.
    pub resolved_findings: Vec<Finding>,
    /// Attack paths that appeared.
    pub added_paths: Vec<AttackPath>,
    /// Attack paths that resolved.
    pub resolved_paths: Vec<AttackPath>,
    /// Changes applied in this batch.
    pub changes: usize,
    /// From the earliest change of the batch to the updated report.
    pub latency: Duration,
    /// Objects in the inventory.
    pub objects: usize,
}

fn object_key(v: &Value) -> (String, String) {
    (
        v.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        v.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    )
}

/// The inventory: every object by resource and key.
#[derive(Default)]
struct Inventory {
    by_resource: BTreeMap<String, BTreeMap<(String, String), Value>>,
}

impl Inventory {
    fn apply(&mut self, change: Change) -> Instant {
        match change {
            Change::Replace {
                resource,
                items,
                at,
            } => {
                let set = items.into_iter().map(|v| (object_key(&v), v)).collect();
                self.by_resource.insert(resource.stem.clone(), set);
                at
            }
            Change::Upsert {
                resource,
                object,
                at,
            } => {
                self.by_resource
                    .entry(resource.stem.clone())
                    .or_default()
                    .insert(object_key(&object), object);
                at
            }
            Change::Delete {
                resource,
                object,
                at,
            } => {
                if let Some(set) = self.by_resource.get_mut(&resource.stem) {
                    set.remove(&object_key(&object));
                }
                at
            }
            Change::Synced => Instant::now(),
        }
    }

    fn snapshot(&self, name: &str) -> ClusterSnapshot {
        let mut c = ClusterSnapshot::default();
        let nodes: Vec<Value> = self
            .by_resource
            .get("nodes")
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        c.info = ClusterInfo {
            name: name.to_string(),
            provider: detect_provider(&nodes),
            ..Default::default()
        };
        c.origin = format!("api://{name}");
        for (stem, set) in &self.by_resource {
            for ((ns, obj), v) in set {
                let file = format!("api://{name}/{stem}");
                let converted = match v.clone() {
                    Value::Object(map) => object_from_map(
                        map,
                        Source {
                            file: file.clone(),
                            line: None,
                        },
                    ),
                    _ => Err("not a JSON object".to_string()),
                };
                match converted {
                    Ok(o) => c.objects.push(o),
                    // Nothing is dropped silently: the report says what could not be read.
                    Err(message) => c.errors.push(LoadError {
                        file: format!(
                            "{file}/{}{obj}",
                            if ns.is_empty() {
                                String::new()
                            } else {
                                format!("{ns}/")
                            }
                        ),
                        line: None,
                        column: None,
                        message,
                    }),
                }
            }
        }
        c
    }
}

/// Diffs two reports.
fn diff(before: Option<&Report>, after: &Report) -> WatchUpdate {
    let old_f: HashMap<String, &Finding> = before
        .map(|r| r.findings.iter().map(|f| (finding_key(f), f)).collect())
        .unwrap_or_default();
    let new_f: HashMap<String, &Finding> =
        after.findings.iter().map(|f| (finding_key(f), f)).collect();
    let old_p: HashMap<&str, &AttackPath> = before
        .map(|r| r.attack_paths.iter().map(|p| (p.id.as_str(), p)).collect())
        .unwrap_or_default();
    let new_p: HashMap<&str, &AttackPath> = after
        .attack_paths
        .iter()
        .map(|p| (p.id.as_str(), p))
        .collect();
    let mut u = WatchUpdate {
        initial: before.is_none(),
        added_findings: after
            .findings
            .iter()
            .filter(|f| !old_f.contains_key(&finding_key(f)))
            .cloned()
            .collect(),
        added_paths: after
            .attack_paths
            .iter()
            .filter(|p| !old_p.contains_key(p.id.as_str()))
            .cloned()
            .collect(),
        objects: after.summary.objects,
        ..Default::default()
    };
    if let Some(b) = before {
        u.resolved_findings = b
            .findings
            .iter()
            .filter(|f| !new_f.contains_key(&finding_key(f)))
            .cloned()
            .collect();
        u.resolved_paths = b
            .attack_paths
            .iter()
            .filter(|p| !new_p.contains_key(p.id.as_str()))
            .cloned()
            .collect();
    }
    u
}

/// One re-evaluation's input: the cluster as the watches see it after a batch of changes.
pub struct Batch {
    /// The cluster's objects now.
    pub cluster: ClusterSnapshot,
    /// Changes in the batch (0 for the initial state).
    pub changes: usize,
    /// When the earliest change of the batch arrived.
    pub earliest: Instant,
    /// True for the initial state.
    pub initial: bool,
}

/// Watches the cluster of `live` and calls `on_batch` with the whole cluster after the initial
/// lists and after every batch of changes (changes closer than `settle` form one batch). Returns
/// when `on_batch` returns false or the watches end.
pub async fn run_batches(
    live: &LiveOptions,
    settle: Duration,
    mut on_batch: impl FnMut(Batch) -> bool,
) -> Result<(), String> {
    let (client, name) = connect(live).await.map_err(|e| e.to_string())?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let opts = live.clone();
    let watcher = tokio::spawn(async move { watch(client, opts, tx).await });
    let mut inventory = Inventory::default();
    // The initial lists arrive resource by resource: evaluate once they all have.
    let mut synced = false;
    while !synced {
        match rx.recv().await {
            Some(Change::Synced) => synced = true,
            Some(c) => {
                inventory.apply(c);
            }
            None => return Err("the watches ended before the initial lists completed".into()),
        }
    }
    let mut initial = true;
    loop {
        let (mut earliest, mut changes) = if initial {
            (Instant::now(), 0)
        } else {
            match rx.recv().await {
                Some(c) => (inventory.apply(c), 1),
                None => break,
            }
        };
        while let Ok(Some(c)) = tokio::time::timeout(settle, rx.recv()).await {
            earliest = earliest.min(inventory.apply(c));
            changes += 1;
        }
        let batch = Batch {
            cluster: inventory.snapshot(&name),
            changes,
            earliest,
            initial,
        };
        initial = false;
        if !on_batch(batch) {
            break;
        }
    }
    watcher.abort();
    Ok(())
}

/// Watches the cluster of `live` and calls `on_update` after every batch of changes (the first
/// call carries the initial state). Returns when `on_update` returns false or the watches end.
pub async fn run(
    live: &LiveOptions,
    options: &ScanOptions,
    settle: Duration,
    mut on_update: impl FnMut(WatchUpdate) -> bool,
) -> Result<(), String> {
    let mut previous: Option<Report> = None;
    run_batches(live, settle, |batch| {
        let report = assemble(vec![evaluate_cluster_result(&batch.cluster, options)], &[]);
        let mut update = diff(previous.as_ref(), &report);
        update.changes = batch.changes;
        update.latency = batch.earliest.elapsed();
        previous = Some(report);
        on_update(update)
    })
    .await
}
