//! Source configuration: upstream's flags as given ([`SourceFlags`]) checked once
//! ([`SourceConfig`]). A bad selector, template or target fails here, naming the flag, and never
//! at sync time.

use exodns_core::DnsName;
use exodns_core::failover::Region;
use exodns_core::target::{canonical_target, infer_type};

use crate::annotations::DEFAULT_PREFIX;
use crate::compat::Compatibility;
use crate::error::Error;
use crate::flags::SourceFlags;
use crate::kind::SourceName;
use crate::post::PostProcess;
use crate::selector::Selector;
use crate::template::FqdnTemplate;
use crate::types::unstructured::{self, ResourceArg};

/// The legacy ingress-class annotation, still honoured by `--ingress-class`.
pub const INGRESS_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// Service types `--service-type-filter` accepts.
pub const SERVICE_TYPES: &[&str] = &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];

/// Checked source configuration. Build it with [`SourceConfig::new`]; `Default` is the
/// configuration of no flags at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    pub annotation_prefix: String,
    pub namespace: Option<String>,
    pub label_filter: Selector,
    pub annotation_filter: Selector,
    pub ingress_class: Vec<String>,
    /// Empty: every type.
    pub service_type_filter: Vec<String>,
    pub gateway_name: Option<String>,
    pub gateway_namespace: Option<String>,
    /// `--openshift-router-name`.
    pub openshift_router_name: Option<String>,
    /// `--connector-source-server` (`host:port`).
    pub connector_source_server: String,
    pub gateway_label_filter: Selector,
    /// Routes may attach to ListenerSets (`--gateway-listener-sets`).
    pub gateway_listener_sets: bool,
    pub publish_internal_services: bool,
    pub publish_host_ip: bool,
    pub always_publish_not_ready_addresses: bool,
    pub ignore_hostname_annotation: bool,
    pub ignore_ingress_tls_spec: bool,
    pub ignore_ingress_rules_spec: bool,
    pub fqdn_template: Option<FqdnTemplate>,
    pub fqdn_target_template: Option<FqdnTemplate>,
    /// `--target-template` (read by the `unstructured` source).
    pub target_template: Option<FqdnTemplate>,
    /// `--unstructured-resource`, in order (the places of [`crate::types::unstructured`]).
    pub unstructured_resources: Vec<ResourceArg>,
    pub combine_fqdn_annotation: bool,
    /// Canonical targets.
    pub default_targets: Vec<String>,
    pub force_default_targets: bool,
    pub pod_source_domain: Option<DnsName>,
    pub exclude_unschedulable: bool,
    pub ignore_non_host_network_pods: bool,
    /// Whether `external-dns.alpha.kubernetes.io/` keys are read beside the prefix.
    pub legacy_annotation_prefix: bool,
    pub expose_internal_ipv6: bool,
    /// What upstream's source wrappers do to every endpoint.
    pub post: PostProcess,
    pub compatibility: Option<Compatibility>,
    pub resolve_service_load_balancer_hostname: bool,
    /// Where FailoverRecord targets without a region serve from; see
    /// [`SourceConfig::default_failover_region`].
    pub failover_region: Option<Region>,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig::new(&SourceFlags::default()).expect("the default flags are valid")
    }
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn selector(flag: &'static str, src: &str) -> Result<Selector, Error> {
    Selector::parse(src).map_err(|e| Error::config(flag, format!("{src:?} is not a label selector: {e}")))
}

/// A template flag: its values joined with commas, as upstream joins them; `None` when empty.
fn template(flag: &'static str, values: &[String]) -> Result<Option<FqdnTemplate>, Error> {
    let joined = values.join(",");
    if joined.trim().is_empty() {
        return Ok(None);
    }
    FqdnTemplate::parse(&joined).map(Some).map_err(|e| Error::config(flag, e))
}

impl SourceConfig {
    /// Checks every flag once.
    pub fn new(f: &SourceFlags) -> Result<Self, Error> {
        let prefix = f.annotation_prefix.trim();
        if prefix.is_empty() || !prefix.ends_with('/') || prefix.contains(char::is_whitespace) {
            return Err(Error::config(
                "--annotation-prefix",
                format!("{prefix:?} must be a key prefix ending with '/', like {DEFAULT_PREFIX:?}"),
            ));
        }
        let label_filter = selector("--label-filter", &f.label_filter)?;
        let annotation_filter = selector("--annotation-filter", &f.annotation_filter)?;
        let gateway_label_filter = selector("--gateway-label-filter", &f.gateway_label_filter)?;
        let ingress_class: Vec<String> = f.ingress_class.iter().filter_map(|c| opt(c)).collect();
        if !ingress_class.is_empty() && annotation_filter.mentions(INGRESS_CLASS_ANNOTATION) {
            return Err(Error::config(
                "--ingress-class",
                format!("cannot be combined with an --annotation-filter on {INGRESS_CLASS_ANNOTATION}"),
            ));
        }
        let mut service_type_filter = Vec::new();
        // Upstream: an empty entry turns the filter off.
        if !f.service_type_filter.iter().any(|t| t.trim().is_empty()) {
            for t in &f.service_type_filter {
                let t = t.trim();
                if !SERVICE_TYPES.contains(&t) {
                    return Err(Error::config(
                        "--service-type-filter",
                        format!("{t:?} is not a service type; use one of {}", SERVICE_TYPES.join(", ")),
                    ));
                }
                service_type_filter.push(t.to_owned());
            }
        }
        let fqdn_template = template("--fqdn-template", &f.fqdn_template)?;
        let fqdn_target_template = template("--fqdn-target-template", &f.fqdn_target_template)?;
        let target_template = template("--target-template", &f.target_template)?;
        // `.Spec…` and the other raw sections: only the unstructured source's objects have them
        // (the typed sources would render them empty, where upstream reads their typed fields).
        let others: Vec<&str> = f
            .source
            .iter()
            .filter_map(|s| match s {
                SourceName::Kinds(n) if *n != "unstructured" => Some(*n),
                _ => None,
            })
            .collect();
        // --target-template is read by the unstructured, traefik-proxy and f5 sources only.
        let typed_target_readers: Vec<&str> =
            others.iter().copied().filter(|s| crate::flags::TARGET_TEMPLATE_SOURCES.contains(s)).collect();
        for (flag, t, others) in [
            ("--fqdn-template", &fqdn_template, &others),
            ("--fqdn-target-template", &fqdn_target_template, &others),
            ("--target-template", &target_template, &typed_target_readers),
        ] {
            if let Some(t) = t.as_ref().filter(|t| t.reads_raw() && !others.is_empty()) {
                return Err(Error::config(
                    flag,
                    format!(
                        "{:?} reads .Spec, .Status, .Metadata or .Object, which exodns has only for the unstructured source, not for {}",
                        t.as_str(),
                        others.join(", ")
                    ),
                ));
            }
        }
        let mut unstructured_resources = Vec::new();
        for r in &f.unstructured_resource {
            unstructured_resources
                .push(ResourceArg::parse(r).map_err(|e| Error::config("--unstructured-resource", e))?);
        }
        if !unstructured_resources.is_empty() {
            unstructured::choose(&unstructured_resources).map_err(|e| Error::config("--unstructured-resource", e))?;
        }
        let mut default_targets = Vec::new();
        for t in f.default_targets.iter().flat_map(|t| t.split(',')).map(str::trim).filter(|t| !t.is_empty()) {
            let c =
                canonical_target(infer_type(t), t).map_err(|e| Error::config("--default-targets", e.to_string()))?;
            if !default_targets.contains(&c) {
                default_targets.push(c);
            }
        }
        let pod_source_domain = match opt(&f.pod_source_domain) {
            None => None,
            Some(d) => Some(
                DnsName::parse(&d)
                    .map_err(|e| Error::config("--pod-source-domain", format!("{d:?} is not a DNS name: {e}")))?,
            ),
        };
        let failover_region = match opt(&f.failover_region) {
            None => None,
            Some(r) => {
                Some(Region::parse(&r, "--failover-region").map_err(|e| Error::config("--failover-region", e.reason))?)
            }
        };
        Ok(SourceConfig {
            failover_region,
            annotation_prefix: prefix.to_owned(),
            namespace: opt(&f.namespace),
            label_filter,
            annotation_filter,
            ingress_class,
            service_type_filter,
            gateway_name: opt(&f.gateway_name),
            gateway_namespace: opt(&f.gateway_namespace),
            openshift_router_name: opt(&f.openshift_router_name),
            connector_source_server: f.connector_source_server.trim().to_owned(),
            gateway_label_filter,
            gateway_listener_sets: f.gateway_listener_sets,
            publish_internal_services: f.publish_internal_services,
            publish_host_ip: f.publish_host_ip,
            always_publish_not_ready_addresses: f.always_publish_not_ready_addresses,
            ignore_hostname_annotation: f.ignore_hostname_annotation,
            ignore_ingress_tls_spec: f.ignore_ingress_tls_spec,
            ignore_ingress_rules_spec: f.ignore_ingress_rules_spec,
            fqdn_template,
            fqdn_target_template,
            target_template,
            unstructured_resources,
            combine_fqdn_annotation: f.combine_fqdn_annotation,
            default_targets,
            force_default_targets: f.force_default_targets,
            pod_source_domain,
            exclude_unschedulable: f.exclude_unschedulable(),
            ignore_non_host_network_pods: f.ignore_non_host_network_pods,
            legacy_annotation_prefix: f.legacy_annotation_prefix(),
            expose_internal_ipv6: f.expose_internal_ipv6,
            compatibility: Compatibility::from_flag(&f.compatibility),
            resolve_service_load_balancer_hostname: f.resolve_service_load_balancer_hostname,
            post: PostProcess {
                prefer_alias: f.prefer_alias,
                ..PostProcess::new(&f.nat64_networks, &f.target_net_filter, &f.exclude_target_net, f.min_ttl)?
            },
        })
    }

    /// Installs the PTR wrapper when PTR is a managed record type (`managed`), as upstream:
    /// `--create-ptr` without it is refused.
    pub fn with_managed_ptr(mut self, create_ptr: bool, managed: bool) -> Result<Self, Error> {
        if create_ptr && !managed {
            return Err(Error::config("--create-ptr", "needs PTR in --managed-record-types (as upstream)"));
        }
        self.post.ptr = managed.then_some(create_ptr);
        Ok(self)
    }

    /// `--failover-region`'s default, `--txt-owner-id`, when the flag is not set and the owner id
    /// is a DNS label (otherwise targets without a region are reported).
    pub fn default_failover_region(mut self, owner_id: &str) -> Self {
        if self.failover_region.is_none() {
            self.failover_region = Region::parse(owner_id, "--txt-owner-id").ok();
        }
        self
    }

    /// Whether a template names hosts (`--fqdn-template`, `--fqdn-target-template`).
    pub fn has_dns_name_template(&self) -> bool {
        self.fqdn_template.is_some() || self.fqdn_target_template.is_some()
    }

    /// Whether the namespace filter (`--namespace`) lets `namespace` through.
    pub fn namespace_allowed(&self, namespace: &str) -> bool {
        self.namespace.as_deref().is_none_or(|n| n == namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(edit: impl FnOnce(&mut SourceFlags)) -> Result<SourceConfig, Error> {
        let mut f = SourceFlags::default();
        edit(&mut f);
        SourceConfig::new(&f)
    }

    #[test]
    fn errors_name_the_flag() {
        type Edit = Box<dyn FnOnce(&mut SourceFlags)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("--label-filter", Box::new(|f| f.label_filter = "a in (".into())),
            ("--annotation-filter", Box::new(|f| f.annotation_filter = "=x".into())),
            ("--gateway-label-filter", Box::new(|f| f.gateway_label_filter = "a b".into())),
            ("--fqdn-template", Box::new(|f| f.fqdn_template = vec!["{{define \"x\"}}x{{end}}".into()])),
            (
                "--fqdn-template",
                Box::new(|f| {
                    f.source = vec![SourceName::Kinds("service"), SourceName::Kinds("unstructured")];
                    f.fqdn_template = vec!["{{.Spec.host}}".into()]
                }),
            ),
            ("--target-template", Box::new(|f| f.target_template = vec!["{{range}}".into()])),
            (
                "--target-template",
                Box::new(|f| {
                    f.source = vec![SourceName::Kinds("traefik-proxy"), SourceName::Kinds("unstructured")];
                    f.target_template = vec!["{{.Status.address}}".into()]
                }),
            ),
            ("--unstructured-resource", Box::new(|f| f.unstructured_resource = vec!["configmaps".into()])),
            ("--unstructured-resource", Box::new(|f| f.unstructured_resource = vec!["a.v1".into(); 9])),
            ("--fqdn-target-template", Box::new(|f| f.fqdn_target_template = vec!["{{if}}".into()])),
            ("--service-type-filter", Box::new(|f| f.service_type_filter = vec!["Headless".into()])),
            ("--default-targets", Box::new(|f| f.default_targets = vec!["bad..name".into()])),
            ("--pod-source-domain", Box::new(|f| f.pod_source_domain = "a b".into())),
            ("--annotation-prefix", Box::new(|f| f.annotation_prefix = "no-slash".into())),
            ("--target-net-filter", Box::new(|f| f.target_net_filter = vec!["10.0.0.0".into()])),
            ("--exclude-target-net", Box::new(|f| f.exclude_target_net = vec!["10.0.0.0/40".into()])),
            ("--nat64-networks", Box::new(|f| f.nat64_networks = vec!["64:ff9b::/64".into()])),
            (
                "--ingress-class",
                Box::new(|f| {
                    f.ingress_class = vec!["nginx".into()];
                    f.annotation_filter = "kubernetes.io/ingress.class=nginx".into();
                }),
            ),
        ];
        for (flag, edit) in cases {
            let err = flags(edit).unwrap_err().to_string();
            assert!(err.starts_with(flag), "{flag}: {err}");
        }
    }

    #[test]
    fn raw_sections_in_the_target_template_only_trouble_its_readers() {
        // Services do not read --target-template: .Status there concerns only unstructured.
        let c = flags(|f| {
            f.source = vec![SourceName::Kinds("service"), SourceName::Kinds("unstructured")];
            f.target_template = vec!["{{.Status.address}}".into()];
        });
        assert!(c.is_ok(), "{c:?}");
    }

    #[test]
    fn defaults() {
        let c = SourceConfig::default();
        assert_eq!(c.annotation_prefix, DEFAULT_PREFIX);
        assert!(c.exclude_unschedulable);
        assert!(c.namespace_allowed("anything"));
        let c = flags(|f| f.service_type_filter = vec!["LoadBalancer".into(), "".into()]).unwrap();
        assert!(c.service_type_filter.is_empty());
    }
}
