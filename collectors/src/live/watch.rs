//! Continuous collection: list every wanted resource once, then keep one watch per resource and
//! report every change as a [`Change`]. A watch resumes from its last resourceVersion when the
//! connection drops (bookmarks keep that version fresh), and relists when the server says the
//! version is too old (410), so no change is lost or applied twice: the consumer keeps objects
//! by key and a relist replaces a resource's whole set.

use super::http::{HttpError, ReadOnlyClient, METADATA_ONLY};
use super::{discover, list_all_rv, list_path, LiveOptions, WANTED};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{debug, warn};

/// One resource the watch keeps: where it lives and what its items are.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `deployments.apps`, `pods`, ...
    pub stem: String,
    /// `apps/v1`.
    pub api_version: String,
    /// `Deployment`.
    pub kind: String,
    path: String,
    metadata_only: bool,
}

/// A change to the cluster's objects.
#[derive(Debug, Clone)]
pub enum Change {
    /// The complete set of a resource's objects (initial list, or a relist after 410).
    Replace {
        /// Which resource.
        resource: Arc<Resource>,
        /// Every object, with `apiVersion` and `kind` set.
        items: Vec<Value>,
        /// When the list arrived.
        at: Instant,
    },
    /// An object was added or modified.
    Upsert {
        /// Which resource.
        resource: Arc<Resource>,
        /// The object, with `apiVersion` and `kind` set.
        object: Value,
        /// When the event arrived.
        at: Instant,
    },
    /// Every resource has delivered its initial list: the inventory is complete.
    Synced,
    /// An object was deleted.
    Delete {
        /// Which resource.
        resource: Arc<Resource>,
        /// The last state of the object.
        object: Value,
        /// When the event arrived.
        at: Instant,
    },
}

fn typed(resource: &Resource, mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("apiVersion".into(), json!(resource.api_version));
        m.insert("kind".into(), json!(resource.kind));
        if resource.metadata_only {
            m.remove("data");
            m.remove("stringData");
            if let Some(Value::Object(ann)) = m
                .get_mut("metadata")
                .and_then(|md| md.get_mut("annotations"))
            {
                ann.remove(kspm_engine::parse::LAST_APPLIED_ANNOTATION);
            }
        }
    }
    v
}

/// Lists and watches every wanted resource of the cluster behind `client`, sending changes to
/// `tx` until the receiver is dropped.
pub async fn watch(
    client: kube::Client,
    opts: LiveOptions,
    tx: mpsc::UnboundedSender<Change>,
) -> Result<(), HttpError> {
    let api = Arc::new(ReadOnlyClient::new(client, opts.limits));
    let discovered = discover(&api).await?;
    let mut tasks = tokio::task::JoinSet::new();
    let mut resources = Vec::new();
    for want in WANTED {
        let Some((group, version, resource, kind, _)) = discovered
            .resources
            .iter()
            .find(|r| r.0 == want.group && r.2 == want.resource)
            .cloned()
        else {
            continue;
        };
        let res = Arc::new(Resource {
            stem: if group.is_empty() {
                resource.clone()
            } else {
                format!("{resource}.{group}")
            },
            api_version: if group.is_empty() {
                version.clone()
            } else {
                format!("{group}/{version}")
            },
            kind,
            path: list_path(&group, &version, &resource),
            metadata_only: want.metadata_only,
        });
        resources.push(res);
    }
    // The last resource to finish its initial list announces that the inventory is complete.
    let pending = Arc::new(std::sync::atomic::AtomicUsize::new(resources.len()));
    if resources.is_empty() {
        let _ = tx.send(Change::Synced);
    }
    for res in resources {
        let api = Arc::clone(&api);
        let tx = tx.clone();
        let page = opts.page_size.max(1);
        let pending = Arc::clone(&pending);
        tasks.spawn(async move { watch_resource(api, res, tx, page, pending).await });
    }
    drop(tx);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

async fn relist(
    api: &ReadOnlyClient,
    res: &Arc<Resource>,
    tx: &mpsc::UnboundedSender<Change>,
    page: u32,
) -> Option<String> {
    let accept = if res.metadata_only {
        METADATA_ONLY
    } else {
        "application/json"
    };
    let mut backoff = Duration::from_millis(200);
    loop {
        match list_all_rv(api, &res.path, accept, page, None).await {
            Ok((items, rv)) => {
                let items = items.into_iter().map(|v| typed(res, v)).collect();
                tx.send(Change::Replace {
                    resource: Arc::clone(res),
                    items,
                    at: Instant::now(),
                })
                .ok()?;
                return Some(rv);
            }
            Err(HttpError::Status(403, _)) => {
                debug!(resource = %res.stem, "forbidden, not watched");
                return None;
            }
            Err(e) => {
                warn!(resource = %res.stem, error = %e, "list failed, retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                if tx.is_closed() {
                    return None;
                }
            }
        }
    }
}

async fn watch_resource(
    api: Arc<ReadOnlyClient>,
    res: Arc<Resource>,
    tx: mpsc::UnboundedSender<Change>,
    page: u32,
    pending: Arc<std::sync::atomic::AtomicUsize>,
) {
    let first = relist(&api, &res, &tx, page).await;
    if pending.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
        let _ = tx.send(Change::Synced);
    }
    let Some(mut rv) = first else {
        return;
    };
    let accept = if res.metadata_only {
        METADATA_ONLY
    } else {
        "application/json"
    };
    let mut backoff = Duration::from_millis(100);
    while !tx.is_closed() {
        let query = format!(
            "{}?watch=1&allowWatchBookmarks=true&resourceVersion={}&timeoutSeconds=300",
            res.path,
            super::encode(&rv)
        );
        let mut expired = false;
        let mut last_rv = rv.clone();
        let result = api
            .watch_lines(&query, accept, |ev| {
                let kind = ev.get("type").and_then(Value::as_str).unwrap_or("");
                let object = ev.get("object").cloned().unwrap_or(Value::Null);
                if let Some(v) = object
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                {
                    if kind != "ERROR" {
                        last_rv = v.to_string();
                    }
                }
                let change = match kind {
                    "ADDED" | "MODIFIED" => Some(Change::Upsert {
                        resource: Arc::clone(&res),
                        object: typed(&res, object),
                        at: Instant::now(),
                    }),
                    "DELETED" => Some(Change::Delete {
                        resource: Arc::clone(&res),
                        object: typed(&res, object),
                        at: Instant::now(),
                    }),
                    "ERROR" => {
                        expired = object.get("code").and_then(Value::as_u64) == Some(410);
                        None
                    }
                    _ => None, // BOOKMARK: only the resourceVersion matters.
                };
                if let Some(c) = change {
                    let _ = tx.send(c);
                }
            })
            .await;
        rv = last_rv;
        match result {
            Ok(()) if expired => {
                debug!(resource = %res.stem, "resourceVersion too old, relisting");
                match relist(&api, &res, &tx, page).await {
                    Some(new) => rv = new,
                    None => return,
                }
                backoff = Duration::from_millis(100);
            }
            Ok(()) => backoff = Duration::from_millis(100),
            Err(HttpError::Status(410, _)) => match relist(&api, &res, &tx, page).await {
                Some(new) => rv = new,
                None => return,
            },
            Err(e) => {
                debug!(resource = %res.stem, error = %e, "watch dropped, resuming");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}
