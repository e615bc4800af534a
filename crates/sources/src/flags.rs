//! The source flags, declared once: upstream ExternalDNS's names, each also read from
//! `EXTERNAL_DNS_<FLAG>`, every one `global` so that `exodns plan` takes them too. The binary
//! flattens [`SourceFlags`] into its command line; [`crate::SourceConfig::new`] checks them.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{ArgAction, Args};

use crate::annotations::DEFAULT_PREFIX;
use crate::error::Error;
use crate::kind::{DirectKind, SourceKind, SourceName};

/// The source flags as the user gave them.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Sources")]
pub struct SourceFlags {
    /// Where desired records come from; repeat for several. `manifest` reads the other kinds
    /// named (or all of them) from --manifest-path instead of a cluster.
    #[arg(long, env = "EXTERNAL_DNS_SOURCE", global = true, value_delimiter = '\n', value_parser = SourceNameParser)]
    pub source: Vec<SourceName>,
    /// Files or folders of Kubernetes YAML for the manifest source.
    #[arg(long, env = "EXTERNAL_DNS_MANIFEST_PATH", global = true, value_delimiter = '\n')]
    pub manifest_path: Vec<PathBuf>,
    /// Only objects in this namespace (all when empty).
    #[arg(long, env = "EXTERNAL_DNS_NAMESPACE", global = true, default_value = "")]
    pub namespace: String,
    /// Label selector objects must match.
    #[arg(long, env = "EXTERNAL_DNS_LABEL_FILTER", global = true, default_value = "")]
    pub label_filter: String,
    /// Selector over annotations objects must match.
    #[arg(long, env = "EXTERNAL_DNS_ANNOTATION_FILTER", global = true, default_value = "")]
    pub annotation_filter: String,
    /// Annotation prefix; the legacy `external-dns.alpha.kubernetes.io/` keys are read as well.
    #[arg(long, env = "EXTERNAL_DNS_ANNOTATION_PREFIX", global = true, default_value = DEFAULT_PREFIX)]
    pub annotation_prefix: String,
    /// Only Ingresses of these classes.
    #[arg(long, env = "EXTERNAL_DNS_INGRESS_CLASS", global = true, value_delimiter = '\n')]
    pub ingress_class: Vec<String>,
    /// Only Services of these types.
    #[arg(long, env = "EXTERNAL_DNS_SERVICE_TYPE_FILTER", global = true, value_delimiter = '\n')]
    pub service_type_filter: Vec<String>,
    /// Only routes attached to the Gateway of this name.
    #[arg(long, env = "EXTERNAL_DNS_GATEWAY_NAME", global = true, default_value = "")]
    pub gateway_name: String,
    /// Only Gateways in this namespace.
    #[arg(long, env = "EXTERNAL_DNS_GATEWAY_NAMESPACE", global = true, default_value = "")]
    pub gateway_namespace: String,
    /// Label selector Gateways must match.
    #[arg(long, env = "EXTERNAL_DNS_GATEWAY_LABEL_FILTER", global = true, default_value = "")]
    pub gateway_label_filter: String,
    /// Publish ClusterIP Services too.
    #[arg(long, env = "EXTERNAL_DNS_PUBLISH_INTERNAL_SERVICES", global = true)]
    pub publish_internal_services: bool,
    /// Publish the host IP of headless Services' pods.
    #[arg(long, env = "EXTERNAL_DNS_PUBLISH_HOST_IP", global = true)]
    pub publish_host_ip: bool,
    /// Publish not-ready addresses of headless Services.
    #[arg(long, env = "EXTERNAL_DNS_ALWAYS_PUBLISH_NOT_READY_ADDRESSES", global = true)]
    pub always_publish_not_ready_addresses: bool,
    /// Ignore the hostname annotation (use the FQDN template).
    #[arg(long, env = "EXTERNAL_DNS_IGNORE_HOSTNAME_ANNOTATION", global = true)]
    pub ignore_hostname_annotation: bool,
    /// Ignore the spec.tls section of Ingresses: its hosts are not published.
    #[arg(long, env = "EXTERNAL_DNS_IGNORE_INGRESS_TLS_SPEC", global = true)]
    pub ignore_ingress_tls_spec: bool,
    /// Ignore the spec.rules section of Ingresses: its hosts are not published.
    #[arg(long, env = "EXTERNAL_DNS_IGNORE_INGRESS_RULES_SPEC", global = true)]
    pub ignore_ingress_rules_spec: bool,
    /// Template for names of objects without a hostname, e.g. {{.Name}}.{{.Namespace}}.example.org.
    #[arg(long, env = "EXTERNAL_DNS_FQDN_TEMPLATE", global = true, value_delimiter = '\n')]
    pub fqdn_template: Vec<String>,
    /// Template giving comma-separated `host:target` pairs for Services, Nodes and Pods, e.g.
    /// {{.Name}}.example.org:{{index .Annotations "ip"}}.
    #[arg(long, env = "EXTERNAL_DNS_FQDN_TARGET_TEMPLATE", global = true, value_delimiter = '\n')]
    pub fqdn_target_template: Vec<String>,
    /// Use the template as well as the annotations.
    #[arg(long, env = "EXTERNAL_DNS_COMBINE_FQDN_ANNOTATION", global = true)]
    pub combine_fqdn_annotation: bool,
    /// Targets for DNSEndpoint records that have none.
    #[arg(long, env = "EXTERNAL_DNS_DEFAULT_TARGETS", global = true, value_delimiter = '\n')]
    pub default_targets: Vec<String>,
    /// Use --default-targets even where the source has its own.
    #[arg(long, env = "EXTERNAL_DNS_FORCE_DEFAULT_TARGETS", global = true)]
    pub force_default_targets: bool,
    /// Domain for pod records of the pod source.
    #[arg(long, env = "EXTERNAL_DNS_POD_SOURCE_DOMAIN", global = true, default_value = "")]
    pub pod_source_domain: String,
    /// Leave out Nodes marked unschedulable (node source); --no-exclude-unschedulable or
    /// --exclude-unschedulable=false keeps them.
    #[arg(
        long,
        env = "EXTERNAL_DNS_EXCLUDE_UNSCHEDULABLE",
        global = true,
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_value_t = true,
        default_missing_value = "true",
        overrides_with = "no_exclude_unschedulable"
    )]
    pub exclude_unschedulable: bool,
    /// Upstream's negated form of --exclude-unschedulable.
    #[arg(long, global = true, hide = true, overrides_with = "exclude_unschedulable")]
    pub no_exclude_unschedulable: bool,
    /// Leave out Pods that do not use the host network (pod source).
    #[arg(long, env = "EXTERNAL_DNS_IGNORE_NON_HOST_NETWORK_PODS", global = true)]
    pub ignore_non_host_network_pods: bool,
    /// Also read the legacy `external-dns.alpha.kubernetes.io/` annotations (default: true, as
    /// upstream up to v0.21; upstream v0.22 never reads them, v0.23 only with this flag):
    /// --enable-legacy-annotation-prefix=false turns it off.
    #[arg(
        long,
        env = "EXTERNAL_DNS_ENABLE_LEGACY_ANNOTATION_PREFIX",
        global = true,
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_value_t = true,
        default_missing_value = "true",
        overrides_with = "no_enable_legacy_annotation_prefix"
    )]
    pub enable_legacy_annotation_prefix: bool,
    /// Upstream's negated form of --enable-legacy-annotation-prefix.
    #[arg(long, global = true, hide = true, overrides_with = "enable_legacy_annotation_prefix")]
    pub no_enable_legacy_annotation_prefix: bool,
    /// Node source: publish the nodes' InternalIP IPv6 addresses beside their ExternalIP ones.
    #[arg(long = "expose-internal-ipv6", env = "EXTERNAL_DNS_EXPOSE_INTERNAL_IPV6", global = true)]
    pub expose_internal_ipv6: bool,
    /// For each AAAA target in one of these NAT64 /96 prefixes, also publish an A record with
    /// the IPv4 address it embeds (repeat for several).
    #[arg(long, env = "EXTERNAL_DNS_NAT64_NETWORKS", global = true, value_delimiter = '\n')]
    pub nat64_networks: Vec<String>,
    /// Publish only targets in these networks (repeat for several); a target that is not an IP
    /// address does not pass, as upstream.
    #[arg(long, env = "EXTERNAL_DNS_TARGET_NET_FILTER", global = true, value_delimiter = '\n')]
    pub target_net_filter: Vec<String>,
    /// Never publish targets in these networks (repeat for several).
    #[arg(long, env = "EXTERNAL_DNS_EXCLUDE_TARGET_NET", global = true, value_delimiter = '\n')]
    pub exclude_target_net: Vec<String>,
    /// Publish the addresses a LoadBalancer Service's load balancer host name resolves to (A/AAAA
    /// records) instead of a CNAME to it; re-resolved at every full synchronisation.
    #[arg(long, env = "EXTERNAL_DNS_RESOLVE_SERVICE_LOAD_BALANCER_HOSTNAME", global = true)]
    pub resolve_service_load_balancer_hostname: bool,
    /// Accepted for upstream compatibility: exodns always re-plans a Service whose records come
    /// from its EndpointSlices when they change (upstream does only with this flag).
    #[arg(long, env = "EXTERNAL_DNS_LISTEN_ENDPOINT_EVENTS", global = true)]
    pub listen_endpoint_events: bool,
    /// Publish CNAME records as ALIAS records where the provider has them (PowerDNS, Route 53):
    /// marks them `alias=true` unless an `alias` annotation says otherwise.
    #[arg(long, env = "EXTERNAL_DNS_PREFER_ALIAS", global = true)]
    pub prefer_alias: bool,
    /// Also read the annotations of the controllers ExternalDNS replaced: mate, molecule or
    /// kops-dns-controller.
    #[arg(long, env = "EXTERNAL_DNS_COMPATIBILITY", global = true, default_value = "", value_parser = crate::compat::Compatibility::VALUES)]
    pub compatibility: String,
    /// Gateway route sources: also publish routes attached to ListenerSets (Gateway API 1.5
    /// and later), with the listeners of the ListenerSet and the addresses of its parent Gateway.
    #[arg(long, env = "EXTERNAL_DNS_GATEWAY_LISTENER_SETS", global = true)]
    pub gateway_listener_sets: bool,
    /// Give every A and AAAA record a PTR record per address, in the reverse zones
    /// (in-addr.arpa, ip6.arpa) the provider holds; a `record-type` annotation decides per
    /// object (`ptr`: yes, anything else: no). Needs PTR in --managed-record-types, and the
    /// reverse zones in --domain-filter when one is set.
    #[arg(long, env = "EXTERNAL_DNS_CREATE_PTR", global = true)]
    pub create_ptr: bool,
    /// apiVersion of the crd source's objects. Accepted for upstream compatibility: exodns
    /// reads DNSEndpoint externaldns.k8s.io/v1alpha1, as upstream has since v0.21 whatever this
    /// says; another value is warned about at start.
    #[arg(long, env = "EXTERNAL_DNS_CRD_SOURCE_APIVERSION", global = true, default_value = CRD_SOURCE_APIVERSION)]
    pub crd_source_apiversion: String,
    /// Kind of the crd source's objects (see --crd-source-apiversion).
    #[arg(long, env = "EXTERNAL_DNS_CRD_SOURCE_KIND", global = true, default_value = CRD_SOURCE_KIND)]
    pub crd_source_kind: String,
    /// traefik-proxy: also read the legacy `traefik.containo.us` group (Traefik v2).
    #[arg(long, env = "EXTERNAL_DNS_TRAEFIK_ENABLE_LEGACY", global = true)]
    pub traefik_enable_legacy: bool,
    /// traefik-proxy: do not read the `traefik.io` group (Traefik v2.10 and later).
    #[arg(long, env = "EXTERNAL_DNS_TRAEFIK_DISABLE_NEW", global = true)]
    pub traefik_disable_new: bool,
    /// connector: the TCP server (`host:port`) that sends the endpoints, read at every sync.
    #[arg(long, env = "EXTERNAL_DNS_CONNECTOR_SOURCE_SERVER", global = true, default_value = CONNECTOR_SOURCE_SERVER)]
    pub connector_source_server: String,
    /// openshift-route: publish Routes through this router only (`status.ingress[].routerName`);
    /// by default the first router that admitted the Route.
    #[arg(long, env = "EXTERNAL_DNS_OPENSHIFT_ROUTER_NAME", global = true, default_value = "")]
    pub openshift_router_name: String,
    /// unstructured: a resource to read, as resource.version.group (widgets.v1.example.org;
    /// configmaps.v1 for the core group); repeat for several (at most 8).
    #[arg(long, env = "EXTERNAL_DNS_UNSTRUCTURED_RESOURCE", global = true, value_delimiter = '\n')]
    pub unstructured_resource: Vec<String>,
    /// unstructured, traefik-proxy, f5-*: template of the targets of --fqdn-template's names
    /// (comma-separated), e.g. {{.Status.address}}.
    #[arg(long, env = "EXTERNAL_DNS_TARGET_TEMPLATE", global = true, value_delimiter = '\n')]
    pub target_template: Vec<String>,
    /// TTL of records whose source sets none (0: the provider's default).
    #[arg(long, env = "EXTERNAL_DNS_MIN_TTL", global = true, default_value = "0s", value_parser = duration)]
    pub min_ttl: Duration,
    /// The region this exodns publishes failover members for (`<region>._pool.<hostname>`,
    /// failover source) [default: --txt-owner-id].
    #[arg(long, env = "EXTERNAL_DNS_FAILOVER_REGION", global = true, default_value = "")]
    pub failover_region: String,
}

/// The sources that read `--target-template` (upstream's `ApplyTemplates`).
pub const TARGET_TEMPLATE_SOURCES: &[&str] =
    &["unstructured", "traefik-proxy", "f5-virtualserver", "f5-transportserver"];

/// `--connector-source-server`'s default, as upstream's.
pub const CONNECTOR_SOURCE_SERVER: &str = "localhost:8080";

/// The only `--crd-source-apiversion` and `--crd-source-kind` upstream reads since v0.21.
pub const CRD_SOURCE_APIVERSION: &str = "externaldns.k8s.io/v1alpha1";
pub const CRD_SOURCE_KIND: &str = "DNSEndpoint";

fn duration(s: &str) -> Result<Duration, String> {
    exodns_core::duration::parse_go_duration(s).map_err(|e| e.to_string())
}

impl Default for SourceFlags {
    /// The flags of an empty command line (a test checks it against clap's defaults).
    fn default() -> Self {
        SourceFlags {
            source: Vec::new(),
            manifest_path: Vec::new(),
            annotation_prefix: DEFAULT_PREFIX.to_owned(),
            namespace: String::new(),
            label_filter: String::new(),
            annotation_filter: String::new(),
            ingress_class: Vec::new(),
            service_type_filter: Vec::new(),
            gateway_name: String::new(),
            gateway_namespace: String::new(),
            gateway_label_filter: String::new(),
            publish_internal_services: false,
            publish_host_ip: false,
            always_publish_not_ready_addresses: false,
            ignore_hostname_annotation: false,
            ignore_ingress_tls_spec: false,
            ignore_ingress_rules_spec: false,
            fqdn_template: Vec::new(),
            combine_fqdn_annotation: false,
            default_targets: Vec::new(),
            force_default_targets: false,
            pod_source_domain: String::new(),
            exclude_unschedulable: true,
            no_exclude_unschedulable: false,
            ignore_non_host_network_pods: false,
            enable_legacy_annotation_prefix: true,
            no_enable_legacy_annotation_prefix: false,
            expose_internal_ipv6: false,
            nat64_networks: Vec::new(),
            target_net_filter: Vec::new(),
            exclude_target_net: Vec::new(),
            min_ttl: Duration::ZERO,
            compatibility: String::new(),
            fqdn_target_template: Vec::new(),
            prefer_alias: false,
            listen_endpoint_events: false,
            resolve_service_load_balancer_hostname: false,
            create_ptr: false,
            gateway_listener_sets: false,
            crd_source_apiversion: CRD_SOURCE_APIVERSION.to_owned(),
            crd_source_kind: CRD_SOURCE_KIND.to_owned(),
            failover_region: String::new(),
            traefik_enable_legacy: false,
            traefik_disable_new: false,
            openshift_router_name: String::new(),
            unstructured_resource: Vec::new(),
            target_template: Vec::new(),
            connector_source_server: CONNECTOR_SOURCE_SERVER.to_owned(),
        }
    }
}

/// What `--source` chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The kinds of the names given that the flags select, each once, in the order given.
    pub kinds: Vec<SourceKind>,
    /// The kinds that read no cluster objects, each once, in the order given.
    pub direct: Vec<DirectKind>,
    /// `manifest`: the kinds read `--manifest-path` (all kinds when none is named).
    pub manifest: bool,
}

impl Selection {
    /// Whether objects are read (from the cluster, or from manifests), beside the kinds that
    /// read none.
    pub fn reads_objects(&self) -> bool {
        self.manifest || !self.kinds.is_empty()
    }
}

impl SourceFlags {
    /// The `--source` values; an error when there are none.
    pub fn selection(&self) -> Result<Selection, Error> {
        if self.source.is_empty() {
            return Err(Error::config(
                "--source",
                "required, as in upstream (e.g. --source=service, or --source=manifest --manifest-path=DIR)",
            ));
        }
        let mut sel = Selection { kinds: Vec::new(), direct: Vec::new(), manifest: false };
        for name in &self.source {
            match name {
                SourceName::Kinds(n) => {
                    for k in SourceKind::named(n).filter(|k| k.selected(self)) {
                        if !sel.kinds.contains(&k) {
                            sel.kinds.push(k);
                        }
                    }
                }
                SourceName::Direct(d) => {
                    if !sel.direct.contains(d) {
                        sel.direct.push(*d);
                    }
                }
                SourceName::Manifest => sel.manifest = true,
            }
        }
        Ok(sel)
    }

    /// `--exclude-unschedulable`, after its negated form.
    pub fn exclude_unschedulable(&self) -> bool {
        self.exclude_unschedulable && !self.no_exclude_unschedulable
    }

    /// What to warn about at start: flags accepted but not acted on as their value asks.
    pub fn ignored(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.crd_source_apiversion.trim() != CRD_SOURCE_APIVERSION || self.crd_source_kind.trim() != CRD_SOURCE_KIND
        {
            out.push(format!(
                "--crd-source-apiversion={:?} --crd-source-kind={:?}: the crd source reads {CRD_SOURCE_KIND} \
                 {CRD_SOURCE_APIVERSION} objects (as upstream ExternalDNS v0.21 and later, which ignore these flags)",
                self.crd_source_apiversion, self.crd_source_kind
            ));
        }
        let unstructured = self.source.contains(&SourceName::Kinds("unstructured"));
        if unstructured && self.unstructured_resource.is_empty() {
            out.push("--source=unstructured without --unstructured-resource reads nothing (as upstream)".into());
        }
        let reads_target_template = TARGET_TEMPLATE_SOURCES.iter().any(|s| self.source.contains(&SourceName::Kinds(s)));
        if !reads_target_template && !self.target_template.is_empty() {
            out.push(format!(
                "--target-template: read only by the {} sources (and upstream's gloo-proxy), none of them enabled",
                TARGET_TEMPLATE_SOURCES.join(", ")
            ));
        }
        out
    }

    /// `--enable-legacy-annotation-prefix`, after its negated form.
    pub fn legacy_annotation_prefix(&self) -> bool {
        self.enable_legacy_annotation_prefix && !self.no_enable_legacy_annotation_prefix
    }
}

/// `--source` values: [`SourceName`]'s own parsing (case and spaces forgiven, an error that names
/// every known source), and the list for `--help`.
#[derive(Debug, Clone, Copy)]
struct SourceNameParser;

impl TypedValueParser for SourceNameParser {
    type Value = SourceName;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<SourceName, clap::Error> {
        let text = value.to_str().ok_or_else(|| clap::Error::new(ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        text.parse::<SourceName>()
            .map_err(|e| clap::Error::raw(ErrorKind::InvalidValue, format!("--source: {e}\n")).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(SourceName::all().map(|n| PossibleValue::new(n.as_str()))))
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        flags: SourceFlags,
    }

    fn parse(args: &[&str]) -> Result<SourceFlags, clap::Error> {
        let cmd = Cli::command();
        let m = cmd.try_get_matches_from(std::iter::once("exodns").chain(args.iter().copied()))?;
        Ok(Cli::from_arg_matches(&m)?.flags)
    }

    #[test]
    fn default_is_an_empty_command_line() {
        assert_eq!(parse(&[]).unwrap(), SourceFlags::default());
    }

    #[test]
    fn every_flag_is_global_with_its_env_var() {
        let cmd = Cli::command();
        for arg in cmd.get_arguments().filter(|a| a.get_id() != "help") {
            let long = arg.get_long().expect("source flags are long flags");
            assert!(arg.is_global_set(), "--{long} is global, so `exodns plan` takes it");
            if long.starts_with("no-") {
                continue;
            }
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
            let upstream = format!("EXTERNAL_DNS_{}", long.to_uppercase().replace('-', "_"));
            assert_eq!(env, upstream, "--{long} is also read from {upstream}");
        }
    }

    #[test]
    fn sources_are_checked_and_listed() {
        let f = parse(&["--source", "Service", "--source= pod", "--source=manifest", "--source=service"]).unwrap();
        let sel = f.selection().unwrap();
        assert_eq!(
            sel,
            Selection { kinds: vec![SourceKind::Service, SourceKind::Pod], direct: vec![], manifest: true }
        );
        let f = parse(&["--source=connector", "--source=fake", "--source=Connector"]).unwrap();
        let sel = f.selection().unwrap();
        assert_eq!(
            sel,
            Selection { kinds: vec![], direct: vec![DirectKind::Connector, DirectKind::Fake], manifest: false }
        );
        let err = parse(&["--source=istio-gatway"]).unwrap_err().to_string();
        assert!(err.contains("\"istio-gatway\"") && err.contains("gateway-httproute, "), "{err}");
        let err = SourceFlags::default().selection().unwrap_err().to_string();
        assert!(err.starts_with("--source: required"), "{err}");
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("gateway-udproute") && help.contains("manifest"), "{help}");
    }

    #[test]
    fn exclude_unschedulable_both_ways() {
        let ex = |args: &[&str]| parse(args).unwrap().exclude_unschedulable();
        assert!(ex(&[]));
        assert!(ex(&["--exclude-unschedulable"]));
        assert!(!ex(&["--exclude-unschedulable=false"]));
        assert!(!ex(&["--no-exclude-unschedulable"]));
        assert!(ex(&["--no-exclude-unschedulable", "--exclude-unschedulable"]));
        assert!(!ex(&["--exclude-unschedulable", "--no-exclude-unschedulable"]));
    }
}
