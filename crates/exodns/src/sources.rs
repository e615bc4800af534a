//! Where desired endpoints come from: the source the flags choose.

use std::sync::Arc;

use exodns_core::source::{ObjectSource, SourceEvent};
use exodns_kube::KubeSource;
use exodns_sources::manifest::ManifestSource;
use exodns_sources::{Selection, SourceConfig};
use tokio::sync::mpsc;

use crate::cli::Config;

/// The manifest files when `--source=manifest` is given, the cluster's watches otherwise.
pub async fn object_source(
    cfg: &Config,
    sel: &Selection,
    source_cfg: SourceConfig,
    events: mpsc::Sender<SourceEvent>,
) -> anyhow::Result<Arc<dyn ObjectSource>> {
    if sel.manifest {
        return Ok(Arc::new(ManifestSource::new(cfg.sources.manifest_path.clone(), &sel.kinds, source_cfg)?));
    }
    let client = exodns_kube::connect(&crate::cmd_run::kube_settings(cfg)).await?;
    Ok(Arc::new(KubeSource::start(client, &sel.kinds, source_cfg, events)))
}
