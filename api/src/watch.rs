//! Continuous mode: a live inventory kept by watches, re-evaluated after every batch of changes,
//! reporting the findings and attack paths that appear or resolve. The service reuses this loop.

use kspm_collectors::live::watch::{watch, Change};
use kspm_collectors::live::{connect, detect_provider, LiveOptions};
use kspm_engine::incremental::{Incremental, Key};
use kspm_engine::object::{Object, Source};
use kspm_engine::parse::object_from_map;
use kspm_engine::report::AttackPath;
use kspm_engine::snapshot::{ClusterInfo, ClusterSnapshot};
use kspm_engine::{Finding, LoadError, ScanOptions};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
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
    /// Namespaces evaluated again, or `None` when the batch needed the whole cluster.
    pub namespaces: Option<usize>,
    /// Whether the cluster part was evaluated again (an RBAC, ServiceAccount, token Secret or
    /// Node change: with only the `namespaces` it reaches).
    pub cluster_part: bool,
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

/// Turns watch changes into the incremental evaluator's object changes, remembering which
/// objects each resource holds (a relist replaces them all).
#[derive(Default)]
struct Tracker {
    keys: HashMap<String, std::collections::HashSet<(String, String)>>,
    /// The objects held that could not be converted, by key: nothing is dropped silently.
    unreadable: BTreeMap<Key, LoadError>,
}

impl Tracker {
    fn convert(&mut self, cluster: &str, changes: Vec<Change>) -> Vec<(Key, Option<Object>)> {
        let mut out = Vec::new();
        for change in changes {
            match change {
                Change::Replace {
                    resource, items, ..
                } => {
                    let stem = resource.stem.clone();
                    let fresh: std::collections::HashSet<(String, String)> =
                        items.iter().map(object_key).collect();
                    let held = self.keys.entry(stem.clone()).or_default();
                    for (ns, name) in held.iter().filter(|k| !fresh.contains(*k)) {
                        let key = (stem.clone(), ns.clone(), name.clone());
                        self.unreadable.remove(&key);
                        out.push((key, None));
                    }
                    *held = fresh;
                    for v in items {
                        let (ns, name) = object_key(&v);
                        let key = (stem.clone(), ns, name);
                        let o = self.read(cluster, &key, v);
                        out.push((key, o));
                    }
                }
                Change::Upsert {
                    resource, object, ..
                } => {
                    let (ns, name) = object_key(&object);
                    self.keys
                        .entry(resource.stem.clone())
                        .or_default()
                        .insert((ns.clone(), name.clone()));
                    let key = (resource.stem.clone(), ns, name);
                    let o = self.read(cluster, &key, object);
                    out.push((key, o));
                }
                Change::Delete {
                    resource, object, ..
                } => {
                    let (ns, name) = object_key(&object);
                    if let Some(held) = self.keys.get_mut(&resource.stem) {
                        held.remove(&(ns.clone(), name.clone()));
                    }
                    let key = (resource.stem.clone(), ns, name);
                    self.unreadable.remove(&key);
                    out.push((key, None));
                }
                Change::Synced => {}
            }
        }
        out
    }

    /// [`convert`]ed, or `None` (the object is not evaluated: held as unreadable, with a
    /// warning).
    fn read(&mut self, cluster: &str, key: &Key, v: Value) -> Option<Object> {
        let (stem, ns, name) = key;
        match convert(cluster, stem, v) {
            Ok(o) => {
                self.unreadable.remove(key);
                Some(o)
            }
            Err(message) => {
                tracing::warn!("api://{cluster}/{stem}: {message}: not evaluated");
                self.unreadable
                    .insert(key.clone(), unreadable(cluster, stem, ns, name, message));
                None
            }
        }
    }
}

/// The report's error for a watched object that could not be read.
fn unreadable(cluster: &str, stem: &str, ns: &str, name: &str, message: String) -> LoadError {
    LoadError {
        file: format!(
            "api://{cluster}/{stem}/{}{name}",
            if ns.is_empty() {
                String::new()
            } else {
                format!("{ns}/")
            }
        ),
        line: None,
        column: None,
        message,
    }
}

/// The engine's object for a watched one.
fn convert(cluster: &str, stem: &str, v: Value) -> Result<Object, String> {
    match v {
        Value::Object(map) => object_from_map(
            map,
            Source {
                file: format!("api://{cluster}/{stem}"),
                line: None,
            },
        ),
        _ => Err("not a JSON object".to_string()),
    }
}

/// Applies one batch of converted changes to `engine` (the provider learnt again from the nodes
/// when `nodes_changed`: a cluster watched from zero nodes learns it late): the delta and the
/// objects held.
fn step(
    engine: &mut Incremental,
    converted: Vec<(Key, Option<Object>)>,
    nodes_changed: bool,
) -> (kspm_engine::incremental::Delta, usize) {
    if nodes_changed {
        let mut nodes: BTreeMap<String, Value> = engine
            .objects()
            .filter(|o| o.kind == "Node")
            .map(|o| (o.name.clone(), o.body.clone()))
            .collect();
        for ((stem, _, node), o) in &converted {
            if stem == "nodes" {
                match o {
                    Some(o) => nodes.insert(node.clone(), o.body.clone()),
                    None => nodes.remove(node),
                };
            }
        }
        let nodes: Vec<Value> = nodes.into_values().collect();
        let mut info = engine.info().clone();
        info.provider = detect_provider(&nodes);
        engine.set_info(info);
    }
    let delta = engine.apply(converted);
    (delta, engine.len())
}

/// When a change arrived (`Synced` carries no time: now).
fn arrival(c: &Change) -> Instant {
    match c {
        Change::Replace { at, .. } | Change::Upsert { at, .. } | Change::Delete { at, .. } => *at,
        Change::Synced => Instant::now(),
    }
}

/// The evaluated state of a watched cluster, shared with those who read it between batches
/// (the admission webhook previews changes on it); `None` until the initial lists are
/// evaluated.
pub type Held = Arc<Mutex<Option<Incremental>>>;

/// Locks `held`. A panic while it was locked may have left the state half-changed: it is
/// dropped then (its readers fail open, and the watches, finding it gone, read the cluster
/// again).
pub fn lock_held(held: &Held) -> MutexGuard<'_, Option<Incremental>> {
    match held.lock() {
        Ok(g) => g,
        Err(poisoned) => {
            let mut g = poisoned.into_inner();
            *g = None;
            held.clear_poison();
            g
        }
    }
}

/// Aborts the watch task when its loop ends, however it ends.
struct Watching<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Watching<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Watches the cluster of `live` and calls `on_update` after every batch of changes (the first
/// call carries the initial state). Only the namespaces a batch touches are evaluated again
/// (see [`kspm_engine::incremental`]). Returns when `on_update` returns false or the watches
/// end.
pub async fn run(
    live: &LiveOptions,
    options: &ScanOptions,
    settle: Duration,
    on_update: impl FnMut(WatchUpdate) -> bool,
) -> Result<(), String> {
    hold(live, options, settle, &Held::default(), on_update).await
}

/// [`run`], keeping the evaluated cluster in `held`: replaced once the initial lists are
/// evaluated, then updated batch by batch (each batch applied under its lock, off the async
/// workers).
pub async fn hold(
    live: &LiveOptions,
    options: &ScanOptions,
    settle: Duration,
    held: &Held,
    on_update: impl FnMut(WatchUpdate) -> bool,
) -> Result<(), String> {
    hold_with(
        live,
        options,
        settle,
        held,
        ClusterSnapshot::default(),
        on_update,
    )
    .await
}

/// [`hold`], with what the watches do not carry taken from `base` (a full read of the same
/// cluster): its Kubernetes version, coverage gaps and errors, and its objects the watches do
/// not list (kubelet settings), which stay as they are.
pub async fn hold_with(
    live: &LiveOptions,
    options: &ScanOptions,
    settle: Duration,
    held: &Held,
    base: ClusterSnapshot,
    mut on_update: impl FnMut(WatchUpdate) -> bool,
) -> Result<(), String> {
    let (client, name) = connect(live).await.map_err(|e| e.to_string())?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let opts = live.clone();
    let _watcher = Watching(tokio::spawn(async move { watch(client, opts, tx).await }));
    let mut initial = Vec::new();
    loop {
        match rx.recv().await {
            Some(Change::Synced) => break,
            Some(c) => initial.push(c),
            None => return Err("the watches ended before the initial lists completed".into()),
        }
    }
    let nodes: Vec<Value> = initial
        .iter()
        .filter_map(|c| match c {
            Change::Replace {
                resource, items, ..
            } if resource.stem == "nodes" => Some(items.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let base_errors = base.errors;
    let meta = ClusterSnapshot {
        info: ClusterInfo {
            name: name.clone(),
            provider: detect_provider(&nodes),
            kubernetes_version: base.info.kubernetes_version,
            ..Default::default()
        },
        origin: format!("api://{name}"),
        objects: base.objects,
        errors: base_errors.clone(),
        coverage_gaps: base.coverage_gaps,
    };
    // The first evaluation is built aside: readers keep the previous state until it is ready.
    let mut fresh = Some(Incremental::new(meta, options.clone()));
    let mut tracker = Tracker::default();
    let mut batch = initial;
    let mut earliest = Instant::now();
    let mut first = true;
    loop {
        let changes = if first { 0 } else { batch.len() };
        let nodes_changed = batch.iter().any(|c| match c {
            Change::Replace { resource, .. }
            | Change::Upsert { resource, .. }
            | Change::Delete { resource, .. } => resource.stem == "nodes",
            Change::Synced => false,
        });
        let converted = tracker.convert(&name, std::mem::take(&mut batch));
        // The held cluster's read errors: the base's and the watched objects unreadable now.
        let errors: Vec<LoadError> = base_errors
            .iter()
            .chain(tracker.unreadable.values())
            .cloned()
            .collect();
        let engine = fresh.take();
        let (held, cluster, renodes) = (held.clone(), name.clone(), nodes_changed && !first);
        let evaluated = tokio::task::spawn_blocking(move || match engine {
            Some(mut engine) => {
                let out = step(&mut engine, converted, false);
                engine.set_errors(errors);
                *lock_held(&held) = Some(engine);
                Ok::<_, String>(out)
            }
            None => {
                let mut guard = lock_held(&held);
                let engine = guard
                    .as_mut()
                    .ok_or_else(|| format!("{cluster}: the watched state is gone"))?;
                engine.set_errors(errors);
                Ok(step(engine, converted, renodes))
            }
        });
        let (delta, objects) = evaluated
            .await
            .map_err(|e| format!("evaluation failed: {e}"))??;
        let update = WatchUpdate {
            initial: first,
            added_findings: delta.added_findings,
            resolved_findings: delta.resolved_findings,
            added_paths: delta.added_paths,
            resolved_paths: delta.resolved_paths,
            changes,
            latency: earliest.elapsed(),
            objects,
            namespaces: (!delta.whole_cluster).then_some(delta.namespaces),
            cluster_part: delta.cluster_part,
        };
        first = false;
        if !on_update(update) {
            break;
        }
        match rx.recv().await {
            Some(c) => {
                earliest = arrival(&c);
                batch.push(c);
            }
            None => break,
        }
        while let Ok(Some(c)) = tokio::time::timeout(settle, rx.recv()).await {
            earliest = earliest.min(arrival(&c));
            batch.push(c);
        }
    }
    Ok(())
}
