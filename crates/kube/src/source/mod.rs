//! [`KubeSource`]: the watches of the enabled sources, their caches as a [`ClusterView`], and
//! the controller's [`ObjectSource`] over them.
//!
//! Each watched resource has one watcher (list, then watch from the last resourceVersion, as
//! kube-rs's; the list streamed, `stream`; kube-rs's default backoff on errors) and one cache. Objects are cut down
//! ([`crate::strip`]) before they enter the cache, and an update that changes nothing the
//! sources read is not passed on. Every change becomes a [`SourceEvent::Changed`] naming the
//! objects whose endpoints may differ: the object itself, or the dependents of a Gateway, Pod,
//! EndpointSlice, Node or Namespace.
//!
//! Watches are started only for what the enabled sources read. EndpointSlices, Pods and Nodes
//! for the `service` source start when the first Service that reads them appears (a headless or
//! NodePort Service with a host name and no `target` annotation, admitted by
//! `--service-type-filter`); Namespaces when a Gateway listener selects route namespaces by
//! label; Nodes for the `pod` source when a Pod takes its node's addresses. A watch, once
//! started, runs until the source is dropped.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use exodns_core::source::{SourceEvent, SourceHealth};
use exodns_sources::resource::Strip;
use exodns_sources::store::Caches;
use exodns_sources::{SourceConfig, SourceKind, Watched};
use kube::core::ApiResource;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::client::KubeClient;
use crate::events::EventSink;

mod lookups;
mod stream;
#[cfg(test)]
mod tests;
mod view;
mod watch;

/// First wait before asking discovery again about a resource the cluster does not serve;
/// doubles up to [`DISCOVERY_RETRY_MAX`].
const DISCOVERY_RETRY_FIRST: Duration = Duration::from_secs(1);
const DISCOVERY_RETRY_MAX: Duration = Duration::from_secs(60);
/// While a watch keeps failing, its error is logged at warn level this often (debug between).
const ERROR_LOG_EVERY: Duration = Duration::from_secs(300);
/// While the apiserver is unreachable, how often `/version` is asked whether it is back.
const PROBE_EVERY: Duration = Duration::from_secs(2);

/// What one watch has done so far (for health, metrics and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchStatus {
    /// A source needs it and its task runs.
    pub started: bool,
    /// The `apiVersion` discovery chose (`gateway.networking.k8s.io/v1`).
    pub api_version: Option<String>,
    /// Its first full list has arrived.
    pub synced: bool,
    /// Why the last attempt failed; cleared by the next event or accepted watch request.
    pub error: Option<String>,
    /// A re-list is under way (the watch could not resume): the cache may be stale.
    pub relisting: bool,
    /// Full lists (1 after the first; more are re-lists).
    pub lists: u64,
    /// Watch events (adds, updates, deletes) received after the lists.
    pub events: u64,
    /// Of those, updates that changed nothing the sources read (not passed on).
    pub unchanged: u64,
    /// Failed list or watch attempts.
    pub errors: u64,
    /// Objects in the cache.
    pub objects: usize,
}

#[derive(Debug, Default)]
struct WatchState {
    status: WatchStatus,
    /// Sources whose health this watch is part of.
    needed_by: BTreeSet<SourceKind>,
    api: Option<ApiResource>,
    /// The error comes from discovery (not cleared by a watch request).
    discovery_error: bool,
    /// The last error was an unreachable apiserver.
    unreachable: bool,
    error_since: Option<Instant>,
    last_warn: Option<Instant>,
}

/// The Kubernetes side of exodns: watches, caches, and the controller's [`ObjectSource`].
///
/// Dropping it stops its watches.
pub struct KubeSource {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    client: KubeClient,
    cfg: SourceConfig,
    strip: Strip,
    sources: Vec<SourceKind>,
    events: mpsc::Sender<SourceEvent>,
    runtime: tokio::runtime::Handle,
    caches: Caches,
    watches: Mutex<BTreeMap<Watched, WatchState>>,
    last_health: Mutex<Vec<SourceHealth>>,
    tasks: Mutex<Vec<AbortHandle>>,
    /// Status writes under way: (kind label, namespace, name, patch).
    status_writes: Mutex<HashSet<(&'static str, String, String, String)>>,
    /// The last pool report of each object that declares a failover pool (its status).
    pool_reports: Mutex<HashMap<exodns_core::ObjectRef, exodns_core::failover::pool::PoolReport>>,
    /// Kubernetes Events on source objects.
    events_out: EventSink,
    /// Woken when the apiserver answers again after watches found it unreachable.
    apiserver_back: tokio::sync::Notify,
    probing: std::sync::atomic::AtomicBool,
    /// Whether the apiserver serves streaming lists (learnt by the first watch).
    streaming_lists: Arc<stream::StreamingLists>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl KubeSource {
    /// Starts the watches of `sources` (discovery first for custom resources) and returns at
    /// once; `events` hears of every change. Must be called inside a Tokio runtime.
    pub fn start(
        client: KubeClient,
        sources: &[SourceKind],
        cfg: SourceConfig,
        events: mpsc::Sender<SourceEvent>,
    ) -> KubeSource {
        let mut kinds: Vec<SourceKind> = Vec::new();
        for s in sources {
            if !kinds.contains(s) {
                kinds.push(*s);
            }
        }
        let runtime = tokio::runtime::Handle::current();
        let shared = Arc::new(Shared {
            events_out: EventSink::new(&client, runtime.clone()),
            client,
            strip: Strip::new(&cfg),
            cfg,
            sources: kinds,
            events,
            runtime,
            caches: Caches::new(),
            watches: Mutex::new(BTreeMap::new()),
            last_health: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            status_writes: Mutex::new(HashSet::new()),
            pool_reports: Mutex::new(HashMap::new()),
            apiserver_back: tokio::sync::Notify::new(),
            probing: std::sync::atomic::AtomicBool::new(false),
            streaming_lists: Arc::default(),
        });
        {
            let s = shared.clone();
            let mut rx = shared.client.watch_starts();
            let task = tokio::spawn(async move {
                loop {
                    match rx.recv().await {
                        Ok(ws) if ws.status == 200 => s.watch_accepted(&ws.group, &ws.plural).await,
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
            lock(&shared.tasks).push(task.abort_handle());
        }
        for src in shared.sources.clone() {
            for read in src.spec().reads.iter().filter(|r| !r.on_demand) {
                shared.ensure(read.resource, src);
            }
        }
        *lock(&shared.last_health) = shared.compute_health();
        KubeSource { shared }
    }

    /// The state of every started watch.
    pub fn watch_status(&self) -> BTreeMap<Watched, WatchStatus> {
        let mut out = BTreeMap::new();
        for (w, st) in lock(&self.shared.watches).iter().filter(|(_, st)| st.status.started) {
            let mut s = st.status.clone();
            s.objects = self.shared.cache_len(*w);
            out.insert(*w, s);
        }
        out
    }

    /// The enabled sources.
    pub fn sources(&self) -> &[SourceKind] {
        &self.shared.sources
    }
}

impl Drop for KubeSource {
    fn drop(&mut self) {
        for t in lock(&self.shared.tasks).drain(..) {
            t.abort();
        }
    }
}

impl Debug for KubeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeSource").field("sources", &self.shared.sources).finish_non_exhaustive()
    }
}
