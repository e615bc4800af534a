//! The `traefik-proxy` source: Traefik's IngressRoutes, IngressRouteTCPs and IngressRouteUDPs,
//! of `traefik.io` and, with `--traefik-enable-legacy`, of Traefik v2's `traefik.containo.us`
//! (`--traefik-disable-new` drops the first). One `--source` name over six resources: six kinds
//! of one description, [`TraefikSource`] over each type.
//!
//! Host names: the `hostname` annotation, and the hosts in the rules (`match`) of IngressRoutes
//! (`Host`, `HostHeader`) and IngressRouteTCPs (`HostSNI`), `*` skipped. Targets: the `target`
//! annotation only (Traefik writes no address in its objects): an object without one publishes
//! nothing. Then, as upstream's `ApplyTemplates`, for an object with no records of its own (always
//! with `--combine-fqdn-annotation`): `--fqdn-target-template`'s pairs, then `--fqdn-template`'s
//! names with `--target-template`'s targets ([`Ctx::apply_templates`]).

use std::marker::PhantomData;
use std::sync::LazyLock;

use regex::Regex;

use crate::SourceOutput;
use crate::cluster::ClusterView;
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::flags::SourceFlags;
use crate::kind::{Read, Source};
use crate::types::TraefikObject;

/// The `traefik-proxy` source over the objects of one Traefik resource.
pub struct TraefikSource<K>(PhantomData<K>);

impl<K: TraefikObject> Source for TraefikSource<K> {
    const NAME: &'static str = "traefik-proxy";
    const LABEL: &'static str = K::LABEL;
    type Object = K;
    const READS: &'static [Read] = &[Read::own(K::RESOURCE)];

    fn selected(flags: &SourceFlags) -> bool {
        if K::LEGACY { flags.traefik_enable_legacy } else { !flags.traefik_disable_new }
    }

    fn endpoints(object: &K, _view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints(object, cfg)
    }
}

/// The endpoints of one Traefik router object.
pub fn endpoints<K: TraefikObject>(object: &K, cfg: &SourceConfig) -> SourceOutput {
    let meta = object.meta();
    let mut ctx = match Ctx::admit::<TraefikSource<K>>(meta, Routing::Annotations, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let targets = ctx.annotation_targets().unwrap_or_default();
    let mut hosts = ctx.annotation_hosts();
    if K::RULES {
        for (i, route) in object.spec().routes.iter().enumerate() {
            let field = format!("spec.routes[{i}].match");
            hosts.extend(rule_hosts(&route.match_).into_iter().map(|h| (field.clone(), h)));
        }
    }
    ctx.add_hosts(&hosts, &targets);
    ctx.apply_typed_templates::<K>(meta);
    ctx.finish()
}

/// A `Host`, `HostHeader` or `HostSNI` matcher with its backquoted arguments, and one argument:
/// upstream's two patterns (RE2 and the regex crate agree on them; `\s` is spelled out as RE2's
/// ASCII class).
static MATCHER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:HostSNI|HostHeader|Host)[\t\n\x0C\r ]*\([\t\n\x0C\r ]*(`.*?`)[\t\n\x0C\r ]*\)").unwrap()
});
static ARGUMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^,`]+)`").unwrap());

/// The host names a Traefik rule matches on, in order (`*`, which matches any, skipped).
/// `HostRegexp` and `HostSNIRegexp` name none; v2's `Host(`a`, `b`)` names both.
pub fn rule_hosts(rule: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in MATCHER.find_iter(rule) {
        for a in ARGUMENT.captures_iter(m.as_str()) {
            let host = &a[1];
            if host != "*" {
                out.push(host.to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "traefik_tests.rs"]
mod tests;
