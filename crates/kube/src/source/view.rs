//! [`ClusterView`] and [`ObjectSource`] over the caches.

use exodns_core::ObjectRef;
use exodns_core::source::{ObjectNote, ObjectSource, SourceHealth, SourceOutput};
use exodns_sources::cluster::{AnyArc, ClusterView};
use exodns_sources::kind::{Source, SourceVisitor, StatusInput};
use exodns_sources::{ObjectType, SourceKind, Watched};
use kube::api::{Api, Patch, PatchParams};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, warn};

use crate::error::KubeError;
use crate::resources::Obj;

use super::{KubeSource, Shared, lock};

impl ClusterView for KubeSource {
    fn list_any(&self, resource: Watched, namespace: Option<&str>) -> Vec<AnyArc> {
        self.shared.list_any(resource, namespace)
    }

    fn get_any(&self, resource: Watched, namespace: &str, name: &str) -> Option<AnyArc> {
        self.shared.get_any(resource, namespace, name)
    }
}

/// The objects of one source in the caches.
struct Objects<'a>(&'a Shared);

impl SourceVisitor for Objects<'_> {
    type Output = Vec<ObjectRef>;
    fn visit<S: Source>(self) -> Vec<ObjectRef> {
        let keys = self.0.caches.get::<S::Object>().keys();
        keys.into_iter()
            .map(|(ns, name)| {
                if ns.is_empty() {
                    ObjectRef::cluster(S::label(), &name)
                } else {
                    ObjectRef::namespaced(S::label(), &ns, &name)
                }
            })
            .collect()
    }
}

/// The endpoints of one object of one source, if it is in the caches.
struct Endpoints<'a> {
    shared: &'a Shared,
    object: &'a ObjectRef,
}

impl SourceVisitor for Endpoints<'_> {
    type Output = Option<SourceOutput>;
    fn visit<S: Source>(self) -> Option<SourceOutput> {
        let ns = self.object.namespace.as_deref().unwrap_or_default();
        let found = self.shared.caches.get::<S::Object>().get(ns, &self.object.name)?;
        Some(exodns_sources::post::endpoints_of::<S>(&found, self.shared, &self.shared.cfg))
    }
}

/// Writes the status of one published object, if its source has a status writer.
struct WriteStatus<'a> {
    shared: &'a Arc<Shared>,
    object: &'a ObjectRef,
}

impl SourceVisitor for WriteStatus<'_> {
    type Output = ();
    fn visit<S: Source>(self) {
        let Some(status) = S::STATUS else { return };
        let s = self.shared;
        let ns = self.object.namespace.clone().unwrap_or_default();
        let name = self.object.name.clone();
        let Some(obj) = s.caches.get::<S::Object>().get(&ns, &name) else { return };
        let pool = lock(&s.pool_reports).get(self.object).cloned();
        let input = StatusInput { cfg: &s.cfg, pool: pool.as_ref() };
        let Some(patch) = status(&obj, &input) else { return };
        let Some(ar) = lock(&s.watches).get(&S::Object::RESOURCE).and_then(|st| st.api.clone()) else {
            return;
        };
        let key = (S::label(), ns.clone(), name.clone(), patch.to_string());
        if !lock(&s.status_writes).insert(key.clone()) {
            return;
        }
        let api: Api<Obj<S::Object>> = if S::Object::RESOURCE.namespaced() {
            Api::namespaced_with(s.client.client().clone(), &ns, &ar)
        } else {
            Api::all_with(s.client.client().clone(), &ar)
        };
        let shared = s.clone();
        let object = self.object.to_string();
        s.runtime.spawn(async move {
            match api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => debug!(%object, %patch, "status written"),
                Err(kube::Error::Api(st)) if st.code == 404 => debug!(%object, "gone before its status was written"),
                Err(e) => {
                    let e = KubeError::from_kube(&e);
                    warn!(%object, error_kind = e.metric_label(), "cannot write its status: {e}")
                }
            }
            lock(&shared.status_writes).remove(&key);
        });
    }
}

impl KubeSource {
    /// The enabled kinds whose objects `object` names (several when kinds of one name share a
    /// label, such as Traefik's two API groups).
    fn kinds_of<'a>(&'a self, object: &'a ObjectRef) -> impl Iterator<Item = SourceKind> + 'a {
        SourceKind::with_label(&object.kind).filter(|k| self.shared.enabled(*k))
    }
}

impl ObjectSource for KubeSource {
    fn objects(&self) -> Vec<ObjectRef> {
        let mut out: Vec<ObjectRef> =
            self.shared.sources.iter().flat_map(|src| src.visit(Objects(&self.shared))).collect();
        // One object may be held by two kinds that share a label.
        out.sort();
        out.dedup();
        out
    }

    /// What every enabled kind that holds the object makes of it, merged.
    fn endpoints(&self, object: &ObjectRef) -> Option<Arc<SourceOutput>> {
        let mut found: Option<SourceOutput> = None;
        for kind in self.kinds_of(object) {
            if let Some(out) = kind.visit(Endpoints { shared: &self.shared, object }) {
                found = Some(match found {
                    None => out,
                    Some(mut all) => {
                        all.extend(out);
                        all.merged()
                    }
                });
            }
        }
        found.map(Arc::new)
    }

    fn health(&self) -> Vec<SourceHealth> {
        self.shared.compute_health()
    }

    /// Failed lists, watches and discovery requests of every watch so far.
    fn read_errors(&self) -> u64 {
        lock(&self.shared.watches).values().map(|st| st.status.errors).sum()
    }

    /// A Kubernetes Event on the object (de-duplicated and rate-limited by the sink).
    fn note(&self, object: &ObjectRef, note: &ObjectNote) {
        if let ObjectNote::Pool(report) = note {
            lock(&self.shared.pool_reports).insert(object.clone(), (**report).clone());
            return;
        }
        if matches!(note, ObjectNote::Invalid { .. }) {
            // An object whose input turned bad may publish nothing, and so never be
            // `published`: its status (FailoverRecord's Valid=False) is written now.
            self.published(object);
        }
        if let Some(regarding) = self.shared.regarding(object) {
            self.shared.events_out.emit(regarding, note);
        }
    }

    /// The object's status, for sources that write one (DNSEndpoint's
    /// `status.observedGeneration`): a merge patch of the status subresource, in the
    /// background; failures are logged and the next publish tries again.
    fn published(&self, object: &ObjectRef) {
        for kind in self.kinds_of(object) {
            kind.visit(WriteStatus { shared: &self.shared, object });
        }
    }

    /// Waits for the status writes and Events still on their way.
    fn flush(&self, limit: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let s = &self.shared;
            let deadline = tokio::time::Instant::now() + limit;
            while (!lock(&s.status_writes).is_empty() || s.events_out.in_flight() > 0)
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    }
}
