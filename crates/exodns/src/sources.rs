//! Where desired endpoints come from: the sources the flags choose — the cluster's watches or the
//! manifest files, and beside them the kinds that read no cluster objects.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use exodns_core::ObjectRef;
use exodns_core::source::{Combined, ObjectSource, SourceEvent, SourceHealth, SourceOutput};
use exodns_kube::KubeSource;
use exodns_sources::direct::Reader;
use exodns_sources::manifest::ManifestSource;
use exodns_sources::{DirectKind, Selection, SourceConfig};
use tokio::sync::mpsc;
use tracing::warn;

use crate::cli::Config;

/// The manifest files when `--source=manifest` is given, the cluster's watches when kinds that
/// read objects are named, and the kinds that read none beside them.
pub async fn object_source(
    cfg: &Config,
    sel: &Selection,
    source_cfg: SourceConfig,
    events: mpsc::Sender<SourceEvent>,
) -> anyhow::Result<Arc<dyn ObjectSource>> {
    let mut parts: Vec<Arc<dyn ObjectSource>> = Vec::new();
    if !sel.direct.is_empty() {
        let direct = DirectSource::new(&sel.direct, source_cfg.clone())?;
        direct.read_all().await;
        parts.push(Arc::new(direct));
    }
    if sel.manifest {
        parts.push(Arc::new(ManifestSource::new(cfg.sources.manifest_path.clone(), &sel.kinds, source_cfg)?));
    } else if sel.reads_objects() {
        let client = exodns_kube::connect(&crate::cmd_run::kube_settings(cfg)).await?;
        parts.push(Arc::new(KubeSource::start(client, &sel.kinds, source_cfg, events)));
    }
    Ok(match parts.len() {
        1 => parts.pop().expect("one part"),
        _ => Arc::new(Combined(parts)),
    })
}

/// What one kind read last.
#[derive(Default)]
struct Last {
    /// The last output read (kept through failed reads: what it should be instead is unknown).
    output: Option<Arc<SourceOutput>>,
    /// Why the last read failed.
    error: Option<String>,
}

struct Part {
    kind: DirectKind,
    object: ObjectRef,
    reader: Arc<Mutex<Box<dyn Reader>>>,
    last: RwLock<Last>,
}

/// The kinds that read no cluster objects, read at start and again before every full sync. A
/// failed read, or one with refused records, is that kind's health error, so the sync deletes
/// nothing; the next sync reads again.
pub struct DirectSource {
    parts: Vec<Part>,
    cfg: SourceConfig,
    /// The read at start serves the first sync.
    primed: AtomicBool,
    read_errors: AtomicU64,
}

impl DirectSource {
    pub fn new(kinds: &[DirectKind], cfg: SourceConfig) -> anyhow::Result<Self> {
        let mut parts = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let reader = kind.reader(&cfg)?;
            parts.push(Part {
                kind: *kind,
                object: reader.object(),
                reader: Arc::new(Mutex::new(reader)),
                last: RwLock::default(),
            });
        }
        Ok(DirectSource { parts, cfg, primed: AtomicBool::new(false), read_errors: AtomicU64::new(0) })
    }

    /// Reads every kind once (off the async threads: the connector's read blocks).
    pub async fn read_all(&self) {
        for part in &self.parts {
            let reader = part.reader.clone();
            let read = tokio::task::spawn_blocking(move || reader.lock().unwrap_or_else(|p| p.into_inner()).read())
                .await
                .unwrap_or_else(|e| {
                    Err(exodns_sources::direct::ReadError { what: part.kind.to_string(), reason: e.to_string() })
                });
            let mut last = part.last.write().unwrap_or_else(|p| p.into_inner());
            match read {
                Ok(out) => {
                    // Its records carry no label of their own (the connector's are as sent): which
                    // of them a refused one would have replaced is unknown, so none is deleted.
                    last.error = (!out.invalid.is_empty()).then(|| {
                        format!(
                            "{}: {} record(s) refused; no deletions until they are fixed",
                            part.object,
                            out.invalid.len()
                        )
                    });
                    last.output = Some(Arc::new(self.cfg.post.apply(out)));
                }
                Err(e) => {
                    self.read_errors.fetch_add(1, Ordering::Relaxed);
                    warn!(source = %part.kind, "{e}; no deletions until it reads again");
                    last.error = Some(e.to_string());
                }
            }
        }
        self.primed.store(true, Ordering::Relaxed);
    }
}

impl ObjectSource for DirectSource {
    fn objects(&self) -> Vec<ObjectRef> {
        let read = |p: &&Part| p.last.read().unwrap_or_else(|e| e.into_inner()).output.is_some();
        self.parts.iter().filter(read).map(|p| p.object.clone()).collect()
    }

    fn endpoints(&self, object: &ObjectRef) -> Option<Arc<SourceOutput>> {
        let part = self.parts.iter().find(|p| p.object == *object)?;
        part.last.read().unwrap_or_else(|e| e.into_inner()).output.clone()
    }

    fn health(&self) -> Vec<SourceHealth> {
        let health = |p: &Part| SourceHealth {
            source: p.kind.to_string(),
            synced: true,
            error: p.last.read().unwrap_or_else(|e| e.into_inner()).error.clone(),
        };
        self.parts.iter().map(health).collect()
    }

    fn refresh(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if !self.primed.swap(false, Ordering::Relaxed) {
                self.read_all().await;
                self.primed.store(false, Ordering::Relaxed);
            }
        })
    }

    fn read_errors(&self) -> u64 {
        self.read_errors.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use exodns_core::source::desired_now;
    use exodns_sources::SourceFlags;

    use super::*;

    fn source(kinds: &[DirectKind], edit: impl FnOnce(&mut SourceFlags)) -> DirectSource {
        let mut f = SourceFlags::default();
        edit(&mut f);
        DirectSource::new(kinds, SourceConfig::new(&f).unwrap()).unwrap()
    }

    /// `empty` makes nothing; `fake` makes new names at each refresh after the first sync's.
    #[tokio::test]
    async fn empty_and_fake() {
        let s = source(&[DirectKind::Empty, DirectKind::Fake], |_| {});
        s.read_all().await;
        let (first, protected, invalid) = desired_now(&s);
        assert_eq!(first.len(), 10, "{first:?}");
        assert!(protected.is_empty() && invalid.is_empty());
        let health: Vec<(String, bool)> = s.health().into_iter().map(|h| (h.source.clone(), h.healthy())).collect();
        assert_eq!(health, [("empty".to_owned(), true), ("fake".to_owned(), true)]);
        s.refresh().await;
        assert_eq!(desired_now(&s).0, first, "the read at start serves the first sync");
        s.refresh().await;
        assert_ne!(desired_now(&s).0, first, "new names at every later sync");
    }

    /// A server that cannot be reached: a health error naming it (no deletions), nothing
    /// desired, and a read error counted; a later read tries again.
    #[tokio::test]
    async fn unreachable_connector_holds_deletions() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let s = source(&[DirectKind::Connector], |f| f.connector_source_server = format!("127.0.0.1:{port}"));
        s.read_all().await;
        let (desired, protected, _) = desired_now(&s);
        assert!(desired.is_empty() && protected.all);
        let error = s.health()[0].error.clone().unwrap();
        assert!(error.contains(&format!("connector source server 127.0.0.1:{port}")), "{error}");
        s.refresh().await;
        s.refresh().await;
        assert_eq!(s.read_errors(), 2);
    }

    #[test]
    fn a_connector_server_without_a_port_is_refused() {
        let f = SourceFlags { connector_source_server: "localhost".into(), ..Default::default() };
        let e = DirectSource::new(&[DirectKind::Connector], SourceConfig::new(&f).unwrap()).err().unwrap();
        assert!(e.to_string().starts_with("--connector-source-server: \"localhost\""), "{e}");
    }
}
