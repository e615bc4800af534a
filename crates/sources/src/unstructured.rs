//! The `unstructured` source: objects of any resource `--unstructured-resource` names
//! (`configmaps.v1`, `widgets.v1alpha1.example.org`), read whole, published by their annotations
//! and the templates — one description over the [`SLOTS`](crate::types::unstructured::SLOTS)
//! places such a resource can take ([`UnstructuredSource`]).
//!
//! As upstream: records from the `hostname` annotation with the `target` annotation's targets
//! (both needed); then, when the object made none (or with `--combine-fqdn-annotation`), from
//! `--fqdn-target-template`'s `host:target` pairs, then from `--fqdn-template`'s names with
//! `--target-template`'s targets (a template name needs a template target; [`Ctx::apply_templates`]
//! as for traefik-proxy and f5). The `ttl` annotation
//! applies; `set-identifier`, the provider-specific annotations and `--ignore-hostname-annotation`
//! do not (upstream reads none of them here). Templates see `.Spec`, `.Status`, `.Metadata` and
//! `.Object` besides the usual fields. The `resource` label is the lowercase kind discovery found
//! (`configmap/apps/web`). A template that fails on an object (a field of a list, a position past
//! the end) is reported on that object, whose template records are left out; upstream fails the
//! whole source for it.

use std::marker::PhantomData;

use crate::SourceOutput;
use crate::cluster::ClusterView;
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::flags::SourceFlags;
use crate::kind::{Read, Source};
use crate::resource::ObjectType;
use crate::template::TemplateInput;
use crate::types::Unstructured;
use crate::types::unstructured::{label_of, slot_of};

/// The `unstructured` source over the resource in one place.
pub struct UnstructuredSource<K>(PhantomData<K>);

impl<const N: usize> Source for UnstructuredSource<Unstructured<N>> {
    const NAME: &'static str = "unstructured";
    const LABEL: &'static str = "unstructured";
    type Object = Unstructured<N>;
    const READS: &'static [Read] = &[Read::own(Unstructured::<N>::RESOURCE)];

    /// One kind per resource the flag names.
    fn selected(flags: &SourceFlags) -> bool {
        N < flags.unstructured_resource.len()
    }

    fn label() -> &'static str {
        slot_of(Unstructured::<N>::RESOURCE).map_or(Self::LABEL, label_of)
    }

    fn endpoints(object: &Unstructured<N>, _view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints::<N>(object, cfg)
    }
}

/// The endpoints of one object.
pub fn endpoints<const N: usize>(object: &Unstructured<N>, cfg: &SourceConfig) -> SourceOutput {
    let meta = &object.metadata;
    let mut ctx = match Ctx::admit::<UnstructuredSource<Unstructured<N>>>(meta, Routing::Ignored, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let field = ctx.ann.field(crate::annotations::HOSTNAME);
    let hosts: Vec<(String, String)> = ctx.ann.hostnames().into_iter().map(|h| (field.clone(), h)).collect();
    if !hosts.is_empty()
        && let Some(targets) = ctx.annotation_targets()
    {
        ctx.add_hosts(&hosts, &targets);
    }
    let templates = [&cfg.fqdn_template, &cfg.fqdn_target_template, &cfg.target_template];
    if templates.iter().all(|t| t.is_none()) {
        return ctx.finish();
    }
    let spec = Unstructured::<N>::RESOURCE.spec();
    let api_version = Unstructured::<N>::RESOURCE.api_version(spec.versions[0]);
    let raw = object.to_json();
    let input = TemplateInput {
        source: ctx.source,
        kind: spec.kind,
        api_version: &api_version,
        metadata: meta,
        raw: Some(&raw),
    };
    ctx.apply_templates(&input);
    ctx.finish()
}

#[cfg(test)]
#[path = "unstructured_tests.rs"]
mod tests;
