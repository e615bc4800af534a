//! The desired endpoints: sources → endpoints, with what must be protected because its input
//! was broken.

use anyhow::{Context, bail};
use exodns_controller::Protected;
use exodns_core::{Endpoint, Invalid};
use exodns_sources::{SourceConfig, SourceFlags, SourceKind, manifest};
use tracing::warn;

use crate::cli::Config;

/// Desired endpoints of one gathering.
#[derive(Debug, Default)]
pub struct Desired {
    pub endpoints: Vec<Endpoint>,
    pub invalid: Vec<Invalid>,
    pub protected: Protected,
}

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

/// The `--source` values, checked.
pub fn source_kinds(cfg: &Config) -> anyhow::Result<Vec<SourceKind>> {
    if cfg.general.source.is_empty() {
        bail!("--source is required (e.g. --source=service, or --source=manifest --manifest-path=DIR)");
    }
    cfg.general
        .source
        .iter()
        .map(|s| s.parse::<SourceKind>().with_context(|| format!("--source {s:?}")))
        .collect()
}

/// Reads the manifest files and turns them into endpoints. Objects come from `--manifest-path`;
/// the other `--source` kinds, when given, choose which of them count (all kinds otherwise).
pub fn from_manifests(cfg: &Config, kinds: &[SourceKind], source_cfg: &SourceConfig) -> anyhow::Result<Desired> {
    if cfg.sources.manifest_path.is_empty() {
        bail!("--source=manifest needs --manifest-path (a file or a folder of Kubernetes YAML)");
    }
    let mut objects = exodns_sources::Objects::default();
    let mut errors = Vec::new();
    for path in &cfg.sources.manifest_path {
        match manifest::load(path) {
            Ok(loaded) => {
                objects.merge(loaded.objects);
                errors.extend(loaded.errors);
            }
            Err(e) => errors.push(e),
        }
    }
    let mut protected = Protected::default();
    for e in &errors {
        warn!("{e}");
    }
    if !errors.is_empty() {
        // A document we could not read may hold objects whose records are published: no
        // deletions until it reads again.
        protected.all = true;
    }
    let selected: Vec<SourceKind> = kinds.iter().copied().filter(|k| *k != SourceKind::Manifest).collect();
    let kinds = if selected.is_empty() { SourceKind::ALL.to_vec() } else { selected };
    let out = manifest::endpoints(&objects, &kinds, source_cfg);
    for inv in &out.invalid {
        warn!("{inv}");
        if let Some(obj) = &inv.object {
            protected.resources.insert(obj.resource_label());
        }
    }
    Ok(Desired { endpoints: out.endpoints, invalid: out.invalid, protected })
}
