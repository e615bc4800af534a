//! The manifest files as an [`ObjectSource`] for the controller: read once at start and again
//! before every full resync.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use exodns_core::ObjectRef;
use exodns_core::source::{ObjectSource, SourceHealth, SourceOutput};
use tracing::warn;

use crate::SourceKind;
use crate::cluster::Objects;
use crate::config::SourceConfig;
use crate::error::Error;

/// What the manifest files make, object by object.
#[derive(Debug, Default)]
struct Snapshot {
    by_object: HashMap<ObjectRef, Arc<SourceOutput>>,
    /// Files or documents that could not be read.
    errors: Vec<String>,
}

/// Objects from `--manifest-path` files. The other `--source` kinds, when given, choose which
/// objects count (all kinds otherwise).
pub struct ManifestSource {
    paths: Vec<PathBuf>,
    kinds: Vec<SourceKind>,
    cfg: SourceConfig,
    snapshot: RwLock<Snapshot>,
    /// Files and documents that could not be read, over every read so far.
    read_errors: AtomicU64,
}

impl ManifestSource {
    /// Reads `paths` (files or folders) for the sources `kinds` (every kind when empty).
    pub fn new(paths: Vec<PathBuf>, kinds: &[SourceKind], cfg: SourceConfig) -> Result<Self, Error> {
        if paths.is_empty() {
            return Err(Error::config(
                "--manifest-path",
                "--source=manifest needs --manifest-path (a file or a folder of Kubernetes YAML)",
            ));
        }
        let source = ManifestSource {
            paths,
            kinds: if kinds.is_empty() { SourceKind::ALL.to_vec() } else { kinds.to_vec() },
            cfg,
            snapshot: RwLock::default(),
            read_errors: AtomicU64::new(0),
        };
        source.reload();
        Ok(source)
    }

    fn read(&self) -> RwLockReadGuard<'_, Snapshot> {
        self.snapshot.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the files again.
    pub fn reload(&self) {
        let mut objects = Objects::default();
        let mut errors = Vec::new();
        for path in &self.paths {
            match super::load(path) {
                Ok(loaded) => {
                    objects.merge(loaded.objects);
                    errors.extend(loaded.errors.iter().map(ToString::to_string));
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        self.read_errors.fetch_add(errors.len() as u64, Ordering::Relaxed);
        for e in &errors {
            // A document we could not read may hold objects whose records are published: the
            // controller holds back deletions while this source reports an error.
            warn!("{e}");
        }
        let mut outputs: HashMap<ObjectRef, SourceOutput> = HashMap::new();
        for (object, out) in super::per_object(&objects, &self.kinds, &self.cfg) {
            for inv in &out.invalid {
                warn!("{inv}");
            }
            outputs.entry(object).or_default().extend(out);
        }
        // An output as the last read made it is handed out as the same `Arc` again (the
        // controller compares by pointer first).
        let by_object = {
            let last = self.read();
            let reuse = |o: &ObjectRef, out: SourceOutput| match last.by_object.get(o) {
                Some(same) if **same == out => same.clone(),
                _ => Arc::new(out),
            };
            outputs.into_iter().map(|(o, out)| (o.clone(), reuse(&o, out))).collect()
        };
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Snapshot { by_object, errors };
    }
}

impl ObjectSource for ManifestSource {
    fn objects(&self) -> Vec<ObjectRef> {
        self.read().by_object.keys().cloned().collect()
    }

    fn endpoints(&self, object: &ObjectRef) -> Option<Arc<SourceOutput>> {
        self.read().by_object.get(object).cloned()
    }

    fn health(&self) -> Vec<SourceHealth> {
        let snap = self.read();
        let error =
            (!snap.errors.is_empty()).then(|| format!("{} manifest document(s) could not be read", snap.errors.len()));
        vec![SourceHealth { source: "manifest".into(), synced: true, error }]
    }

    fn refresh(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.reload();
        Box::pin(std::future::ready(()))
    }

    fn read_errors(&self) -> u64 {
        self.read_errors.load(Ordering::Relaxed)
    }
}
