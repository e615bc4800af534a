//! Where desired endpoints come from: source flags, and the manifest files as an
//! [`ObjectSource`] for the controller.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::RwLock;

use anyhow::{Context, bail};
use exodns_controller::{ObjectEndpoints, ObjectSource, Protected, SourceHealth};
use exodns_core::{Endpoint, Invalid, ObjectRef};
use exodns_sources::{Objects, SourceConfig, SourceFlags, SourceKind, SourceOutput, manifest};
use tracing::warn;

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

/// The `--source` values, checked.
pub fn source_kinds(cfg: &Config) -> anyhow::Result<Vec<SourceKind>> {
    if cfg.general.source.is_empty() {
        bail!("--source is required (e.g. --source=service, or --source=manifest --manifest-path=DIR)");
    }
    cfg.general.source.iter().map(|s| s.parse::<SourceKind>().with_context(|| format!("--source {s:?}"))).collect()
}

/// What the manifest files make, object by object.
#[derive(Debug, Default)]
struct Snapshot {
    by_object: HashMap<ObjectRef, ObjectEndpoints>,
    /// Files or documents that could not be read.
    errors: Vec<String>,
}

/// Objects from `--manifest-path` files, read again at every full resync. The other `--source`
/// kinds, when given, choose which objects count (all kinds otherwise).
pub struct ManifestSource {
    paths: Vec<PathBuf>,
    kinds: Vec<SourceKind>,
    cfg: SourceConfig,
    snapshot: RwLock<Snapshot>,
}

impl ManifestSource {
    pub fn new(cfg: &Config, kinds: &[SourceKind], source_cfg: SourceConfig) -> anyhow::Result<Self> {
        if cfg.sources.manifest_path.is_empty() {
            bail!("--source=manifest needs --manifest-path (a file or a folder of Kubernetes YAML)");
        }
        let selected: Vec<SourceKind> = kinds.iter().copied().filter(|k| *k != SourceKind::Manifest).collect();
        let source = ManifestSource {
            paths: cfg.sources.manifest_path.clone(),
            kinds: if selected.is_empty() { SourceKind::ALL.to_vec() } else { selected },
            cfg: source_cfg,
            snapshot: RwLock::default(),
        };
        source.refresh();
        Ok(source)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.snapshot.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl ObjectSource for ManifestSource {
    fn objects(&self) -> Vec<ObjectRef> {
        self.read().by_object.keys().cloned().collect()
    }

    fn endpoints(&self, object: &ObjectRef) -> Option<ObjectEndpoints> {
        self.read().by_object.get(object).cloned()
    }

    fn health(&self) -> Vec<SourceHealth> {
        let snap = self.read();
        let error =
            (!snap.errors.is_empty()).then(|| format!("{} manifest document(s) could not be read", snap.errors.len()));
        vec![SourceHealth { source: "manifest".into(), synced: true, error }]
    }

    fn refresh(&self) {
        let mut objects = Objects::default();
        let mut errors = Vec::new();
        for path in &self.paths {
            match manifest::load(path) {
                Ok(loaded) => {
                    objects.merge(loaded.objects);
                    errors.extend(loaded.errors.iter().map(ToString::to_string));
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        for e in &errors {
            // A document we could not read may hold objects whose records are published: the
            // controller holds back deletions while this source reports an error.
            warn!("{e}");
        }
        let mut by_object: HashMap<ObjectRef, ObjectEndpoints> = HashMap::new();
        for (object, out) in manifest::per_object(&objects, &self.kinds, &self.cfg) {
            for inv in &out.invalid {
                warn!("{inv}");
            }
            let entry = by_object.entry(object).or_default();
            entry.endpoints.extend(out.endpoints);
            entry.invalid.extend(out.invalid);
        }
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Snapshot { by_object, errors };
    }
}

/// A full sync's view of `source`, read once: every desired endpoint, merged across objects as
/// the sources merge them; what must not be deleted (the records of objects with refused input,
/// and everything while any source reports an error); and the refused input itself.
pub fn desired_now(source: &dyn ObjectSource) -> (Vec<Endpoint>, Protected, Vec<Invalid>) {
    let mut protected = Protected { all: source.health().iter().any(|h| h.error.is_some()), ..Protected::default() };
    let mut invalid = Vec::new();
    let mut outputs = Vec::new();
    for object in source.objects() {
        let Some(oe) = source.endpoints(&object) else { continue };
        if !oe.invalid.is_empty() {
            protected.resources.insert(object.resource_label());
            invalid.extend(oe.invalid);
        }
        outputs.push(SourceOutput { endpoints: oe.endpoints, invalid: Vec::new() });
    }
    let merged: SourceOutput = outputs.into_iter().collect();
    (merged.endpoints, protected, invalid)
}
