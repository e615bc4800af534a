//! The watches: discovery until the resource is served, list+watch into the caches, and the
//! health each watch reports.

use std::collections::BTreeMap;
use std::sync::Arc;

use exodns_core::error_chain;
use exodns_core::source::{SourceEvent, SourceHealth};
use exodns_sources::kind::Change;
use exodns_sources::resource::StoredForm;
use exodns_sources::store::{StoredMap, key_of};
use exodns_sources::{ObjectType, Watched};
use futures::StreamExt;
use kube::api::Api;
use kube::core::ApiResource;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, DefaultBackoff, Event};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::error::KubeError;
use crate::resources::{Obj, discover};

use super::{DISCOVERY_RETRY_FIRST, DISCOVERY_RETRY_MAX, ERROR_LOG_EVERY, PROBE_EVERY, Shared, WatchState, lock};

impl Shared {
    pub(super) fn compute_health(&self) -> Vec<SourceHealth> {
        let watches = lock(&self.watches);
        // One health per `--source` name, over the watches of all its kinds.
        let mut names: Vec<&'static str> = Vec::new();
        for src in &self.sources {
            if !names.contains(&src.as_str()) {
                names.push(src.as_str());
            }
        }
        names
            .into_iter()
            .map(|name| {
                let mut synced = true;
                let mut errors = Vec::new();
                let needed = |st: &WatchState| st.needed_by.iter().any(|k| k.as_str() == name);
                for (w, st) in watches.iter().filter(|(_, st)| needed(st)) {
                    synced &= st.status.synced;
                    if let Some(e) = &st.status.error {
                        errors.push(e.clone());
                    } else if st.status.relisting {
                        errors.push(format!("re-listing {w}: its watch could not resume"));
                    }
                }
                SourceHealth {
                    source: name.to_owned(),
                    synced,
                    error: (!errors.is_empty()).then(|| join_errors(errors)),
                }
            })
            .collect()
    }

    /// Sends [`SourceEvent::Health`] when any source's health differs from the last one sent.
    async fn health_changed(&self) {
        let now = self.compute_health();
        let changed = {
            let mut last = lock(&self.last_health);
            if *last == now {
                false
            } else {
                *last = now;
                true
            }
        };
        if changed {
            self.send(SourceEvent::Health).await;
        }
    }

    fn update<R>(&self, w: Watched, f: impl FnOnce(&mut WatchState) -> R) -> R {
        f(lock(&self.watches).entry(w).or_default())
    }

    /// Discovery, retried with backoff until the resource is served.
    async fn discover_until_served(&self, w: Watched) -> ApiResource {
        let mut delay = DISCOVERY_RETRY_FIRST;
        loop {
            match discover(self.client.client(), w).await {
                Ok(ar) => {
                    let recovered = self.update(w, |st| {
                        st.status.api_version = Some(ar.api_version.clone());
                        st.api = Some(ar.clone());
                        let had = st.discovery_error;
                        if had {
                            st.status.error = None;
                            st.discovery_error = false;
                            st.error_since = None;
                        }
                        had
                    });
                    if recovered {
                        info!(resource = %w, api_version = %ar.api_version, "the cluster serves it now");
                    }
                    if w.is_custom() {
                        debug!(resource = %w, api_version = %ar.api_version, "watching");
                    }
                    self.health_changed().await;
                    return ar;
                }
                Err(e) => {
                    let msg = e.to_string();
                    let first = self.update(w, |st| {
                        st.status.errors += 1;
                        let first = st.status.error.is_none();
                        st.status.error = Some(msg.clone());
                        st.discovery_error = true;
                        first
                    });
                    if first {
                        let sources = self.sources_of(w);
                        warn!(resource = %w, retry_in = ?delay, error_kind = e.metric_label(), "{sources}: {msg}");
                    } else {
                        debug!(resource = %w, retry_in = ?delay, "still not served: {e}");
                    }
                    self.health_changed().await;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(DISCOVERY_RETRY_MAX);
                }
            }
        }
    }

    /// The apiserver accepted a watch request for `(group, plural)`: the watch runs again.
    pub(super) async fn watch_accepted(&self, group: &str, plural: &str) {
        let Some(w) = Watched::ALL.iter().copied().find(|w| w.group() == group && w.plural() == plural) else {
            return;
        };
        // Another source on the same client may watch what this one does not.
        // A discovery error is not the watch's: it clears when discovery succeeds.
        let cleared = lock(&self.watches).get_mut(&w).and_then(|st| clear_error(st, false));
        self.running_again(w, cleared).await;
    }

    /// An event arrived: whatever failed before works now.
    async fn watch_ok(&self, w: Watched) {
        let cleared = self.update(w, |st| clear_error(st, true));
        self.running_again(w, cleared).await;
    }

    /// Logs and publishes the recovery of a watch that had failed `since`.
    async fn running_again(&self, w: Watched, since: Option<Instant>) {
        if let Some(since) = since {
            info!(resource = %w, after = ?since.elapsed(), "watch running again");
            self.health_changed().await;
        }
    }

    /// Records a failed list or watch; whether the apiserver could not be reached.
    async fn watch_failed(&self, w: Watched, e: &watcher::Error) -> bool {
        if let watcher::Error::WatchError(st) = e
            && st.code == 410
        {
            // The resourceVersion is too old to resume from: kube-rs lists again (Init next).
            debug!(resource = %w, "watch expired; listing again");
            return false;
        }
        let unreachable = is_unreachable(e);
        let msg = describe_watch_error(w, e);
        let now = Instant::now();
        let (first, warn_again) = self.update(w, |st| {
            st.status.errors += 1;
            st.unreachable = unreachable;
            let first = st.status.error.is_none();
            st.status.error = Some(msg.clone());
            if first {
                st.error_since = Some(now);
                st.last_warn = Some(now);
            }
            let again = !first && st.last_warn.is_none_or(|t| now.duration_since(t) >= ERROR_LOG_EVERY);
            if again {
                st.last_warn = Some(now);
            }
            (first, again.then(|| st.error_since.map(|s| now.duration_since(s)).unwrap_or_default()))
        });
        if first {
            let sources = self.sources_of(w);
            warn!(resource = %w, "{sources}: {msg}; retrying with backoff (their names are kept meanwhile)");
        } else if let Some(failing_for) = warn_again {
            let sources = self.sources_of(w);
            warn!(resource = %w, ?failing_for, "{sources}: still failing: {msg}");
        } else {
            debug!(resource = %w, "{msg}");
        }
        self.health_changed().await;
        unreachable
    }

    /// While a watch waits because the apiserver could not be reached, asks `/readyz` every
    /// [`PROBE_EVERY`]; the first answer after a failure wakes every such watch at once
    /// (instead of after up to 30 s of backoff). Errors of other kinds (Forbidden, …) keep
    /// their backoff.
    fn ensure_prober(self: Arc<Self>) {
        if self.probing.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let s = self.clone();
        let task = self.runtime.spawn(async move {
            let mut answered = false;
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                let waiting = lock(&s.watches).values().any(|st| st.unreachable && st.status.error.is_some());
                if !waiting {
                    break;
                }
                // `/readyz`, not `/version`: a starting apiserver answers `/version` (and accepts
                // watches) before its storage and watch caches are ready.
                let ready = http::Request::get("/readyz").body(Vec::new()).expect("a valid request");
                let ok = s.client.client().request_text(ready).await.is_ok_and(|t| t.trim() == "ok");
                if ok && !answered {
                    s.apiserver_back.notify_waiters();
                }
                answered = ok;
            }
            s.probing.store(false, std::sync::atomic::Ordering::SeqCst);
        });
        lock(&self.tasks).push(task.abort_handle());
    }
}

/// `source gateway-httproute` / `sources service, pod`.
pub(super) fn name_sources(names: &[&str]) -> String {
    match names {
        [one] => format!("source {one}"),
        many => format!("sources {}", many.join(", ")),
    }
}

/// Messages of several failed watches of one source, with "does not serve" ones that share a
/// hint said once: `the cluster does not serve a (looked for v1), b (looked for v1); hint`.
pub(super) fn join_errors(errors: Vec<String>) -> String {
    const NOT_SERVED: &str = "the cluster does not serve ";
    let mut out: Vec<String> = Vec::new();
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for e in errors {
        match e.strip_prefix(NOT_SERVED).and_then(|rest| rest.split_once("; ")) {
            Some((what, hint)) => match grouped.iter_mut().find(|(h, _)| h == hint) {
                Some((_, whats)) => whats.push(what.to_owned()),
                None => grouped.push((hint.to_owned(), vec![what.to_owned()])),
            },
            None => {
                if !out.contains(&e) {
                    out.push(e)
                }
            }
        }
    }
    for (hint, whats) in grouped {
        out.push(format!("{NOT_SERVED}{}; {hint}", whats.join(", ")));
    }
    out.join("; ")
}

fn is_unreachable(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::InitialListFailed(k) | watcher::Error::WatchStartFailed(k) | watcher::Error::WatchFailed(k) => {
            matches!(KubeError::from_kube(k), KubeError::Unreachable(_))
        }
        _ => false,
    }
}

fn describe_watch_error(w: Watched, e: &watcher::Error) -> String {
    let inner = match e {
        watcher::Error::InitialListFailed(k) | watcher::Error::WatchStartFailed(k) | watcher::Error::WatchFailed(k) => {
            k
        }
        watcher::Error::WatchError(st) if st.code == 403 => {
            return KubeError::Forbidden(st.message.clone()).to_string();
        }
        other => return format!("watch of {w}: {}", error_chain(other)),
    };
    match inner {
        kube::Error::Api(st) if st.code == 404 => {
            format!("the cluster does not serve {} any more (was the CRD deleted?); {}", w.resource_name(), w.hint())
        }
        k => format!("watch of {w}: {}", KubeError::from_kube(k)),
    }
}

/// One watch: discovery, then list+watch into the cache for as long as the source lives.
pub(super) async fn run<K: ObjectType>(s: Arc<Shared>) {
    let w = K::RESOURCE;
    let ar = s.discover_until_served(w).await;
    let client = s.client.client().clone();
    let ns = s.scope(w).filter(|_| w.namespaced());
    let api: Api<Obj<K>> = match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let url_path = <Obj<K> as kube::Resource>::url_path(&ar, ns);
    // The watcher with kube-rs's default backoff (client-go's: 0.8 s doubling to 30 s, with
    // jitter), applied here rather than by `StreamBackoff` so that a wait caused by an
    // unreachable apiserver ends as soon as the apiserver answers again.
    let mut stream =
        super::stream::watcher(api, client, url_path, s.watcher_config(w), s.streaming_lists.clone()).boxed();
    let mut backoff = DefaultBackoff::default();
    let mut buffer: Option<StoredMap<K>> = None;
    while let Some(item) = stream.next().await {
        let ev = match item {
            Ok(ev) => ev,
            Err(e) => {
                let unreachable = s.watch_failed(w, &e).await;
                let delay = backoff.next().unwrap_or(DISCOVERY_RETRY_MAX);
                if unreachable {
                    s.clone().ensure_prober();
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = s.apiserver_back.notified() => debug!(resource = %w, "the apiserver answers again; retrying now"),
                    }
                } else {
                    tokio::time::sleep(delay).await;
                }
                continue;
            }
        };
        backoff.reset();
        s.watch_ok(w).await;
        match ev {
            Event::Init => {
                let relist = s.update(w, |st| {
                    st.status.lists += 1;
                    st.status.relisting = st.status.synced;
                    st.status.relisting
                });
                if relist {
                    info!(resource = %w, "listing again (the watch could not resume from where it was)");
                    s.health_changed().await;
                }
                buffer = Some(BTreeMap::new());
            }
            Event::InitApply(Obj(mut o)) => {
                o.strip(&s.strip);
                buffer.get_or_insert_default().insert(key_of(o.metadata()), Arc::new(K::Stored::store(o)));
            }
            Event::InitDone => {
                let map = buffer.take().unwrap_or_default();
                s.listed::<K>(&map);
                let n = map.len();
                s.caches.get::<K>().replace(map);
                let first = s.update(w, |st| {
                    let first = !st.status.synced;
                    st.status.synced = true;
                    st.status.relisting = false;
                    first
                });
                if first {
                    debug!(resource = %w, objects = n, "listed");
                } else {
                    info!(resource = %w, objects = n, "listed again");
                }
                s.health_changed().await;
                s.send(SourceEvent::All).await;
            }
            Event::Apply(Obj(mut o)) => {
                o.strip(&s.strip);
                let key = key_of(o.metadata());
                let new = Arc::new(K::Stored::store(o));
                let old = s.caches.get::<K>().insert(key, new.clone()).map(|o| K::Stored::load(&o));
                let new = K::Stored::load(&new);
                let unchanged = old.as_deref().is_some_and(|o| K::same(o, &new));
                s.update(w, |st| {
                    st.status.events += 1;
                    st.status.unchanged += u64::from(unchanged);
                });
                if unchanged {
                    continue;
                }
                let mut out = Vec::new();
                s.changed(&Change::new(old.as_deref(), Some(&new)), &mut out);
                // A watch this object started counts before anyone hears of the object.
                s.health_changed().await;
                if !out.is_empty() {
                    s.send(SourceEvent::Changed(out)).await;
                }
            }
            Event::Delete(Obj(mut o)) => {
                let key = key_of(o.metadata());
                let old = match s.caches.get::<K>().remove(&key) {
                    Some(old) => K::Stored::load(&old),
                    None => {
                        o.strip(&s.strip);
                        Arc::new(o)
                    }
                };
                s.update(w, |st| st.status.events += 1);
                let mut out = Vec::new();
                s.changed(&Change::new(Some(old.as_ref()), None), &mut out);
                if !out.is_empty() {
                    s.send(SourceEvent::Changed(out)).await;
                }
            }
        }
    }
    warn!(resource = %w, "watch stream ended");
}

/// Clears a watch's error, a discovery error only if `discovery_too`; when there was one, since
/// when the watch had been failing.
fn clear_error(st: &mut WatchState, discovery_too: bool) -> Option<Instant> {
    if st.status.error.is_none() || (st.discovery_error && !discovery_too) {
        return None;
    }
    st.status.error = None;
    st.error_since.take()
}
