//! The fleet graph of each scan, for the questions the gRPC API and the web view answer: loaded
//! from the store once, cached (a scan never changes), and asked through
//! [`kspm_engine::graph::query`] — the module `kspm query` uses, over the graph the scan's paths
//! were found in.

use super::failure::Failure;
use super::store::ScanRow;
use super::Shared;
use kspm_engine::graph::explore::Explorer;
use kspm_engine::graph::fixplan::{cuts_alone, plan, Alone, FindingSite, FixPlan, PlanOptions};
use kspm_engine::graph::query::{Query, QueryError};
use kspm_engine::graph::AttackGraph;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Graphs kept restored (one per scan).
const CACHED_GRAPHS: usize = 8;

/// The longest path, and the most paths, one question may ask for (gRPC and the web view).
pub const MAX_HOPS: u32 = 20;
/// See [`MAX_HOPS`].
pub const MAX_PATHS: u32 = 20;

/// Restored fleet graphs by scan ID, newest last.
#[derive(Default)]
pub struct FleetGraphs {
    cache: Mutex<VecDeque<(String, Arc<AttackGraph>)>>,
    /// The web view's explorer of a set of scans (by their IDs), newest last.
    explorers: Mutex<VecDeque<(Vec<String>, Arc<Explored>)>>,
}

/// The explorer of the latest scans of a tenant, with a digest of it (the web view re-renders
/// when the graph changes even if its findings and paths did not).
pub struct Explored {
    /// The explorer.
    pub explorer: Explorer,
    /// SHA-256 of its JSON, hex.
    pub digest: String,
    /// The fix plan of the scans (as [`Shared::fix_plan`] makes it with default options).
    pub plan: FixPlan,
    /// What each fix cuts on its own ([`kspm_engine::graph::fixplan::cuts_alone`]). A fix ID
    /// two targets share (one cloud document changed for both) keeps the last target's.
    pub alone: BTreeMap<String, Alone>,
}

/// Explorers kept built (one per set of latest scans: a tenant's, per scan commit).
const CACHED_EXPLORERS: usize = 4;

/// Why a question got no answer.
#[derive(Debug)]
pub enum AskError {
    /// Unknown reference, cluster or scan (with suggestions where the graph has them).
    NotFound(String),
    /// The store (or the service) failed.
    Internal(Failure),
}

impl Shared {
    /// The web view's explorer of `scans`' fleet graphs with their fix plan and what each fix
    /// cuts on its own: built once per set of scans (scans never change), off the async
    /// workers (a plan and a search per fix, on large graphs).
    pub async fn explorer(&self, scans: &[ScanRow]) -> Result<Arc<Explored>, Failure> {
        let ids: Vec<String> = scans.iter().map(|s| s.id.clone()).collect();
        if let Ok(cache) = self.graphs.explorers.lock() {
            if let Some((_, x)) = cache.iter().find(|(k, _)| *k == ids) {
                return Ok(x.clone());
            }
        }
        let inputs = self.plan_inputs(scans).await?;
        let x = tokio::task::spawn_blocking(move || {
            let options = PlanOptions::default();
            let mut explorer = Explorer::default();
            let mut plans = Vec::new();
            let mut alone = BTreeMap::new();
            for (g, findings) in &inputs {
                let index = g.index();
                let paths = index.attack_paths();
                let made = plan(g, &paths, findings, options);
                alone.extend(cuts_alone(g, &paths, &made));
                explorer.add_indexed(g, &index);
                plans.push(made);
            }
            use sha2::Digest;
            let digest = hex::encode(sha2::Sha256::digest(
                serde_json::to_vec(&explorer).unwrap_or_default(),
            ));
            Explored {
                explorer,
                digest,
                plan: FixPlan::merge(plans, options),
                alone,
            }
        })
        .await
        .map_err(|e| Failure::Other(format!("building the explorer: {e}")))?;
        let x = Arc::new(x);
        if let Ok(mut cache) = self.graphs.explorers.lock() {
            if cache.len() >= CACHED_EXPLORERS {
                cache.pop_front();
            }
            cache.push_back((ids, x.clone()));
        }
        Ok(x)
    }

    /// The fleet graph of a scan: as stored with it, or (scans written before fleet graphs were
    /// stored) its clusters' graphs joined.
    pub async fn fleet_graph(&self, scan: &ScanRow) -> Result<Arc<AttackGraph>, Failure> {
        if let Ok(cache) = self.graphs.cache.lock() {
            if let Some((_, g)) = cache.iter().find(|(id, _)| id == &scan.id) {
                return Ok(g.clone());
            }
        }
        let g = match self.store.scan_graph(&scan.id).await? {
            Some(dump) => AttackGraph::restore(dump),
            None => {
                let mut g = AttackGraph::default();
                for c in self.store.cluster_names(&scan.id).await? {
                    if let Some((dump, _)) = self.store.cluster_state(&scan.id, &c).await? {
                        g.absorb(AttackGraph::restore(dump));
                    }
                }
                g
            }
        };
        let g = Arc::new(g);
        if let Ok(mut cache) = self.graphs.cache.lock() {
            if cache.len() >= CACHED_GRAPHS {
                cache.pop_front();
            }
            cache.push_back((scan.id.clone(), g.clone()));
        }
        Ok(g)
    }

    /// The fix plan over the fleet graphs of `scans` (one plan per scan, merged): the engine
    /// behind `kspm fixes`, on the graph each scan's paths were found in, with its findings.
    pub async fn fix_plan(
        &self,
        scans: &[ScanRow],
        options: PlanOptions,
    ) -> Result<FixPlan, Failure> {
        let mut plans = Vec::new();
        for (g, findings) in self.plan_inputs(scans).await? {
            let paths = g.index().attack_paths();
            plans.push(plan(&g, &paths, &findings, options));
        }
        Ok(FixPlan::merge(plans, options))
    }

    /// What a fix plan of `scans` reads: each scan's fleet graph and its findings.
    async fn plan_inputs(
        &self,
        scans: &[ScanRow],
    ) -> Result<Vec<(Arc<AttackGraph>, Vec<FindingSite>)>, Failure> {
        let mut out = Vec::new();
        for s in scans {
            // Each stored finding read back into its type (one that does not read is logged and
            // left out of the plan).
            let stored = self.store.finding_keys(s).await?;
            let mut findings: Vec<kspm_engine::Finding> = Vec::new();
            super::convert::readable(
                stored
                    .iter()
                    .map(|(_, key, f)| (format!("finding {}/{key}", s.id), f)),
                &mut findings,
            );
            let sites = findings.iter().map(FindingSite::of).collect();
            out.push((self.fleet_graph(s).await?, sites));
        }
        Ok(out)
    }

    /// Answers `ask` on the fleet graphs of `scans` in order: the first graph that holds
    /// `cluster` (when one is named) and where the question can be asked gives the answer, with
    /// the ID of its scan; otherwise the last reason.
    pub async fn ask_fleet<T>(
        &self,
        scans: &[ScanRow],
        cluster: &str,
        ask: impl Fn(&Query<'_>) -> Result<T, QueryError>,
    ) -> Result<(T, String), AskError> {
        let mut last: Option<QueryError> = None;
        for s in scans {
            let g = self.fleet_graph(s).await.map_err(AskError::Internal)?;
            if !cluster.is_empty()
                && !g
                    .graph
                    .node_weights()
                    .any(|n| n.cluster.as_deref() == Some(cluster))
            {
                continue;
            }
            match ask(&Query::new(&g)) {
                Ok(v) => return Ok((v, s.id.clone())),
                Err(e) => last = Some(e),
            }
        }
        Err(AskError::NotFound(match last {
            Some(e) => e.0,
            None if cluster.is_empty() => "no scan to query yet".into(),
            None => format!("no cluster {cluster}"),
        }))
    }
}
