//! The `ingress` source: `networking.k8s.io/v1` Ingresses.
//!
//! Host names: `spec.rules[].host`, `spec.tls[].hosts[]` and the `hostname` annotation
//! (`ingress-hostname-source` picks `defined-hosts-only` or `annotation-only`), then
//! `--fqdn-template`. Targets: the `target` annotation, else the load balancer status (IPs and
//! host names). `--ingress-class` keeps Ingresses whose `spec.ingressClassName` is listed, or,
//! without one, whose `kubernetes.io/ingress.class` annotation is.

use k8s_openapi::api::networking::v1::Ingress;

use crate::SourceOutput;
use crate::annotations::{HOSTNAME, HostnameSource, INGRESS_HOSTNAME_SOURCE};
use crate::cluster::ClusterView;
use crate::common::{Ctx, Routing};
use crate::config::{INGRESS_CLASS_ANNOTATION, SourceConfig};
use crate::kind::{Read, Source};
use crate::resource::Watched;

/// The `ingress` source.
pub struct IngressSource;

impl Source for IngressSource {
    const NAME: &'static str = "ingress";
    const LABEL: &'static str = "ingress";
    type Object = Ingress;
    const READS: &'static [Read] = &[Read::own(Watched::Ingresses)];

    fn endpoints(ing: &Ingress, _view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints(ing, cfg)
    }
}

/// The endpoints of one Ingress.
pub fn endpoints(ing: &Ingress, cfg: &SourceConfig) -> SourceOutput {
    if !class_allowed(ing, cfg) {
        return SourceOutput::default();
    }
    let mut ctx = match Ctx::admit::<IngressSource>(&ing.metadata, Routing::Annotations, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let targets = match ctx.annotation_targets() {
        Some(t) => t,
        None => {
            let ingress = ing.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|lb| lb.ingress.as_ref());
            let mut raw = Vec::new();
            for i in ingress.into_iter().flatten() {
                raw.extend(i.ip.as_deref().filter(|s| !s.is_empty()));
                raw.extend(i.hostname.as_deref().filter(|s| !s.is_empty()));
            }
            ctx.targets("status.loadBalancer.ingress", raw)
        }
    };
    let source = match ctx.ann.hostname_source(INGRESS_HOSTNAME_SOURCE, &ctx.obj) {
        Ok(s) => Some(s),
        Err(e) => {
            // Upstream publishes nothing for an unknown value; so do we, but say why.
            ctx.invalid.push(e);
            None
        }
    };
    if let Some(source) = source {
        let mut hosts: Vec<(String, String)> = Vec::new();
        if source != HostnameSource::AnnotationOnly {
            let spec = ing.spec.as_ref();
            if !cfg.ignore_ingress_rules_spec {
                for (i, rule) in spec.and_then(|s| s.rules.as_ref()).into_iter().flatten().enumerate() {
                    if let Some(h) = rule.host.as_deref().filter(|h| !h.is_empty()) {
                        hosts.push((format!("spec.rules[{i}].host"), h.to_owned()));
                    }
                }
            }
            if !cfg.ignore_ingress_tls_spec {
                for (i, tls) in spec.and_then(|s| s.tls.as_ref()).into_iter().flatten().enumerate() {
                    for (j, h) in tls.hosts.iter().flatten().enumerate() {
                        if !h.is_empty() {
                            hosts.push((format!("spec.tls[{i}].hosts[{j}]"), h.clone()));
                        }
                    }
                }
            }
        }
        if source != HostnameSource::DefinedHostsOnly && !cfg.ignore_hostname_annotation {
            let field = ctx.ann.field(HOSTNAME);
            hosts.extend(ctx.ann.hostnames().into_iter().map(|h| (field.clone(), h)));
        }
        for (field, h) in hosts {
            if let Some(name) = ctx.hostname(&field, &h) {
                ctx.add(&name, &targets);
            }
        }
    }
    if let Some(hosts) = ctx.template_hostnames("Ingress", "networking.k8s.io/v1", &ing.metadata) {
        for h in hosts {
            if let Some(name) = ctx.hostname("--fqdn-template", &h) {
                ctx.add(&name, &targets);
            }
        }
    }
    ctx.finish()
}

fn class_allowed(ing: &Ingress, cfg: &SourceConfig) -> bool {
    if cfg.ingress_class.is_empty() {
        return true;
    }
    let class = ing.spec.as_ref().and_then(|s| s.ingress_class_name.as_deref()).filter(|c| !c.is_empty());
    let class = class.or_else(|| {
        ing.metadata.annotations.as_ref().and_then(|a| a.get(INGRESS_CLASS_ANNOTATION)).map(String::as_str)
    });
    let allowed = class.is_some_and(|c| cfg.ingress_class.iter().any(|want| want == c));
    if !allowed {
        tracing::debug!(ingress = ?ing.metadata.name, class = ?class, "skipped by --ingress-class");
    }
    allowed
}

#[cfg(test)]
#[path = "ingress_tests.rs"]
mod tests;
