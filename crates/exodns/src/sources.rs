//! Where desired endpoints come from: the source flags, and the source they choose.

use std::sync::Arc;

use anyhow::{Context, bail};
use exodns_core::source::{ObjectSource, SourceEvent};
use exodns_kube::KubeSource;
use exodns_sources::manifest::ManifestSource;
use exodns_sources::{SourceConfig, SourceFlags, SourceKind, SourceName};
use tokio::sync::mpsc;

use crate::cli::Config;

pub fn source_config(cfg: &Config) -> anyhow::Result<SourceConfig> {
    let s = &cfg.sources;
    let flags = SourceFlags {
        annotation_prefix: s.annotation_prefix.clone(),
        namespace: s.namespace.clone(),
        label_filter: s.label_filter.clone(),
        annotation_filter: s.annotation_filter.clone(),
        ingress_class: s.ingress_class.clone(),
        service_type_filter: s.service_type_filter.clone(),
        gateway_name: s.gateway_name.clone(),
        gateway_namespace: s.gateway_namespace.clone(),
        gateway_label_filter: s.gateway_label_filter.clone(),
        publish_internal_services: s.publish_internal_services,
        publish_host_ip: s.publish_host_ip,
        always_publish_not_ready_addresses: s.always_publish_not_ready_addresses,
        ignore_hostname_annotation: s.ignore_hostname_annotation,
        fqdn_template: s.fqdn_template.clone(),
        combine_fqdn_annotation: s.combine_fqdn_annotation,
        default_targets: s.default_targets.clone(),
        force_default_targets: s.force_default_targets,
        pod_source_domain: s.pod_source_domain.clone(),
        ..SourceFlags::default()
    };
    Ok(SourceConfig::new(&flags)?)
}

/// What `--source` chose.
pub struct Selection {
    pub kinds: Vec<SourceKind>,
    /// `manifest`: the kinds read manifest files (all kinds when none is named).
    pub manifest: bool,
}

/// The `--source` values, checked.
pub fn selection(cfg: &Config) -> anyhow::Result<Selection> {
    if cfg.general.source.is_empty() {
        bail!("--source is required (e.g. --source=service, or --source=manifest --manifest-path=DIR)");
    }
    let mut sel = Selection { kinds: Vec::new(), manifest: false };
    for s in &cfg.general.source {
        match s.parse::<SourceName>().with_context(|| format!("--source {s:?}"))? {
            SourceName::Kind(k) => sel.kinds.push(k),
            SourceName::Manifest => sel.manifest = true,
        }
    }
    Ok(sel)
}

/// The manifest files when `--source=manifest` is given, the cluster's watches otherwise.
pub async fn object_source(
    cfg: &Config,
    sel: &Selection,
    events: mpsc::Sender<SourceEvent>,
) -> anyhow::Result<Arc<dyn ObjectSource>> {
    let source_cfg = source_config(cfg)?;
    if sel.manifest {
        return Ok(Arc::new(ManifestSource::new(cfg.sources.manifest_path.clone(), &sel.kinds, source_cfg)?));
    }
    let client = exodns_kube::connect(&crate::cmd_run::kube_settings(cfg)).await?;
    Ok(Arc::new(KubeSource::start(client, &sel.kinds, source_cfg, events)))
}
