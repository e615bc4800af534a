//! [`ClusterView`] and [`ObjectSource`] over the caches.

use exodns_core::ObjectRef;
use exodns_core::source::{ObjectNote, ObjectSource, SourceHealth, SourceOutput};
use exodns_sources::cluster::{AnyArc, ClusterView};
use exodns_sources::kind::{Source, SourceVisitor, StatusInput};
use exodns_sources::store::CachedSource;
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
    /// The enabled kinds' objects in the caches, and what each makes.
    fn cached(&self) -> CachedSource<'_> {
        let s = &self.shared;
        CachedSource { caches: &s.caches, kinds: &s.sources, cfg: &s.cfg }
    }

    /// The enabled kinds whose objects `object` names (several when kinds of one name share a
    /// label, such as Traefik's two API groups).
    fn kinds_of<'a>(&'a self, object: &'a ObjectRef) -> impl Iterator<Item = SourceKind> + 'a {
        // Asked for every object after every sync (`published`): the few enabled kinds, not all.
        self.shared.sources.iter().copied().filter(|k| k.label() == object.kind)
    }
}

impl ObjectSource for KubeSource {
    fn objects(&self) -> Vec<ObjectRef> {
        self.cached().objects()
    }

    /// What every enabled kind that holds the object makes of it, merged; what was made of it
    /// before while it and what it looked up are unchanged.
    fn endpoints(&self, object: &ObjectRef) -> Option<Arc<SourceOutput>> {
        self.cached().endpoints(object)
    }

    fn each_output(&self, f: &mut dyn FnMut(&ObjectRef, &Arc<SourceOutput>)) {
        self.cached().each_output(f)
    }

    fn version(&self) -> Option<u64> {
        Some(self.cached().version())
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
