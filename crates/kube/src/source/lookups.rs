//! The shared state's lookups, what a change means for the enabled sources, and starting the
//! watches they need — all through the source kinds' descriptions.

use std::sync::Arc;

use exodns_core::ObjectRef;
use exodns_core::source::SourceEvent;
use exodns_sources::cluster::{AnyArc, ClusterView};
use exodns_sources::kind::{AnyObject, Change, Filter, Source, SourceVisitor, watch_filters};
use exodns_sources::resource::{ResourceVisitor, StoredForm};
use exodns_sources::{ObjectType, SourceKind, Watched};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::watcher;
use tracing::{debug, info};

use exodns_sources::store::StoredMap;

use super::watch::{name_sources, run};
use super::{Shared, lock};

impl ClusterView for Shared {
    fn list_any(&self, resource: Watched, namespace: Option<&str>) -> Vec<AnyArc> {
        self.caches.of(resource).list_any(namespace)
    }

    fn get_any(&self, resource: Watched, namespace: &str, name: &str) -> Option<AnyArc> {
        self.caches.of(resource).get_any(namespace, name)
    }
}

impl Shared {
    /// The `apiVersion` discovery chose for `w`, or the one exodns prefers.
    pub(super) fn served_api_version(&self, w: Watched) -> String {
        lock(&self.watches)
            .get(&w)
            .and_then(|st| st.api.as_ref().map(|a| a.api_version.clone()))
            .unwrap_or_else(|| w.api_version(w.versions()[0]))
    }

    /// The object an Event regards: its kind, the API version it is served at, and its uid.
    pub(super) fn regarding(&self, object: &ObjectRef) -> Option<ObjectReference> {
        struct Regarding<'a> {
            shared: &'a Shared,
            object: &'a ObjectRef,
        }
        impl SourceVisitor for Regarding<'_> {
            type Output = Option<ObjectReference>;
            fn visit<S: Source>(self) -> Option<ObjectReference> {
                let (o, w) = (self.object, S::Object::RESOURCE);
                let ns = o.namespace.as_deref().unwrap_or_default();
                let found = self.shared.caches.get::<S::Object>().get(ns, &o.name)?;
                Some(ObjectReference {
                    api_version: Some(self.shared.served_api_version(w)),
                    kind: Some(w.kind().to_owned()),
                    name: Some(o.name.clone()),
                    namespace: o.namespace.clone(),
                    uid: k8s_openapi::Metadata::metadata(found.as_ref()).uid.clone(),
                    ..ObjectReference::default()
                })
            }
        }
        // Kinds of one name may share a label: the first that holds the object.
        SourceKind::with_label(&object.kind).find_map(|k| k.visit(Regarding { shared: self, object }))
    }

    /// `source gateway-tcproute` / `sources service, pod`: the enabled sources that read `w`.
    pub(super) fn sources_of(&self, w: Watched) -> String {
        let names: Vec<&str> = self.sources.iter().filter(|s| s.read(w).is_some()).map(|s| s.as_str()).collect();
        name_sources(&names)
    }

    pub(super) fn cache_len(&self, w: Watched) -> usize {
        self.caches.of(w).len()
    }

    /// What `change` (an object of any watched resource) means for the enabled sources: the
    /// objects whose endpoints may differ, into `out`. Starts the watches `change.new` makes
    /// necessary first.
    pub(super) fn changed(self: &Arc<Self>, change: &Change<'_>, out: &mut Vec<ObjectRef>) {
        struct Changed<'a> {
            shared: &'a Arc<Shared>,
            kind: SourceKind,
            change: &'a Change<'a>,
            out: &'a mut Vec<ObjectRef>,
        }
        impl SourceVisitor for Changed<'_> {
            type Output = ();
            fn visit<S: Source>(self) {
                let Some(w) = self.change.resource() else { return };
                if self.kind.read(w).is_none() {
                    return;
                }
                let cfg = &self.shared.cfg;
                if let Some(new) = self.change.new {
                    for needed in S::needs(new, cfg) {
                        self.shared.ensure(needed, self.kind);
                    }
                }
                if w == S::Object::RESOURCE {
                    let object = self.change.either::<S::Object>().expect("an object of the source's type");
                    self.out.push(S::object_ref(k8s_openapi::Metadata::metadata(object)));
                } else {
                    S::dependents(self.change, self.shared.as_ref(), cfg, self.out);
                }
            }
        }
        for kind in &self.sources {
            kind.visit(Changed { shared: self, kind: *kind, change, out });
        }
    }

    /// After a full list of `K`: starts the watches its objects make necessary.
    pub(super) fn listed<K: ObjectType>(self: &Arc<Self>, objects: &StoredMap<K>) {
        struct Listed<'a, K: ObjectType> {
            shared: &'a Arc<Shared>,
            kind: SourceKind,
            objects: &'a StoredMap<K>,
        }
        impl<K: ObjectType> SourceVisitor for Listed<'_, K> {
            type Output = ();
            fn visit<S: Source>(self) {
                if self.kind.read(K::RESOURCE).is_none() {
                    return;
                }
                for o in self.objects.values() {
                    let o = K::Stored::load(o);
                    for needed in S::needs(AnyObject::new(o.as_ref()), &self.shared.cfg) {
                        self.shared.ensure(needed, self.kind);
                    }
                }
            }
        }
        for kind in &self.sources {
            kind.visit(Listed::<K> { shared: self, kind: *kind, objects });
        }
    }

    /// Makes `w` part of `by`'s health and starts its watch if it does not run yet. The watch
    /// counts as not synced from this moment, before any event that depends on it is sent.
    pub(super) fn ensure(self: &Arc<Self>, w: Watched, by: SourceKind) {
        let start = {
            let mut watches = lock(&self.watches);
            let st = watches.entry(w).or_default();
            st.needed_by.insert(by);
            let start = !st.status.started;
            st.status.started = true;
            start
        };
        if !start {
            return;
        }
        if by.read(w).is_some_and(|r| r.on_demand) {
            info!(resource = %w, source = %by, "starting watch (an object needs it)");
        } else {
            debug!(resource = %w, source = %by, "starting watch");
        }
        struct Spawn(Arc<Shared>);
        impl ResourceVisitor for Spawn {
            type Output = tokio::task::JoinHandle<()>;
            fn visit<K: ObjectType>(self) -> Self::Output {
                let s = self.0;
                s.runtime.clone().spawn(run::<K>(s))
            }
        }
        let task = w.visit(Spawn(self.clone()));
        lock(&self.tasks).push(task.abort_handle());
    }

    /// Namespace scope of a watch: `--namespace` or `--gateway-namespace` when every enabled
    /// source that reads `w` limits it so.
    pub(super) fn scope(&self, w: Watched) -> Option<&str> {
        match watch_filters(&self.sources, w).namespace {
            _ if !w.namespaced() => None,
            Filter::None => None,
            Filter::Sources => self.cfg.namespace.as_deref(),
            Filter::Gateways => self.cfg.gateway_namespace.as_deref(),
        }
    }

    /// List+watch settings of a watch: the label and field selectors every enabled source that
    /// reads `w` applies.
    pub(crate) fn watcher_config(&self, w: Watched) -> watcher::Config {
        // Served from the apiserver's watch cache in one answer, as client-go's informers do:
        // with a page size, kube-rs leaves out `resourceVersion=0` and the apiserver pages from
        // etcd (20 requests for 10 000 Services, each behind the --kube-api-qps limiter).
        let mut c = watcher::Config::default().any_semantic();
        c.page_size = None;
        let filters = watch_filters(&self.sources, w);
        let selector = match filters.labels {
            Filter::None => None,
            Filter::Sources => Some(&self.cfg.label_filter),
            Filter::Gateways => Some(&self.cfg.gateway_label_filter),
        };
        if let Some(sel) = selector.filter(|s| !s.is_empty()) {
            c = c.labels(&sel.to_string());
        }
        if let Some(fields) = filters.fields {
            c = c.fields(fields);
        }
        c
    }

    pub(super) async fn send(&self, ev: SourceEvent) {
        // A closed channel means the controller is gone; the watches stop with the source.
        let _ = self.events.send(ev).await;
    }
}
