//! The `service` source: Services of every type.
//!
//! Host names come from the `hostname` and `internal-hostname` annotations, then from
//! `--fqdn-template`. Targets come from the `target` annotation, else from the Service by type:
//! LoadBalancer (external IPs, else the load balancer's IPs and host names — resolved to addresses
//! with `--resolve-service-load-balancer-hostname`; ClusterIP for
//! `internal-hostname`), headless ClusterIP (one record per ready pod from the EndpointSlices, and
//! `<pod hostname>.<name>` for pods with `spec.hostname`), ClusterIP (only for `internal-hostname`
//! or `--publish-internal-services`), NodePort (node addresses plus an SRV record per node port)
//! and ExternalName (external IPs, else a CNAME). With `--compatibility`, a Service that names no
//! host so is read as the controller named there would read it ([`crate::compat`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use exodns_core::target::{canonical_target, infer_type};
use exodns_core::{DnsName, Endpoint, Invalid, InvalidKind, ObjectRef, RecordType, Targets};
use k8s_openapi::api::core::v1::{Node, Pod, Service, ServiceSpec};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::SourceOutput;
use crate::annotations::{ACCESS, Annotations, ENDPOINTS_TYPE, HOSTNAME, INTERNAL_HOSTNAME, TARGET, split_list};
use crate::cluster::{ClusterView, ClusterViewExt, SERVICE_NAME_LABEL, namespace_of};
use crate::common::{Ctx, Routing};
use crate::config::{SERVICE_TYPES, SourceConfig};
use crate::kind::{AnyObject, Change, Filter, Read, Source};
use crate::resource::Watched;
use crate::selector::Selector;

/// `endpoints-type` value: publish the ExternalIPs of the pods' nodes.
pub const ENDPOINTS_TYPE_NODE_EXTERNAL_IP: &str = "NodeExternalIP";
/// `endpoints-type` value: publish the pods' `status.hostIP`.
pub const ENDPOINTS_TYPE_HOST_IP: &str = "HostIP";

/// The `service` source.
pub struct ServiceSource;

/// Headless Services publish ready or not-ready endpoints of pods that still run; NodePort with
/// `Local` looks at running pods. Finished pods are never read.
const RUNNING_PODS: &str = "status.phase!=Succeeded,status.phase!=Failed";

impl Source for ServiceSource {
    const NAME: &'static str = "service";
    const LABEL: &'static str = "service";
    type Object = Service;
    const READS: &'static [Read] = &[
        Read::own(Watched::Services),
        Read::lookup(Watched::EndpointSlices).on_demand().namespace(Filter::Sources),
        Read::lookup(Watched::Pods).on_demand().namespace(Filter::Sources).fields(RUNNING_PODS),
        Read::lookup(Watched::Nodes).on_demand(),
    ];

    fn endpoints(svc: &Service, view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints(svc, view, cfg)
    }

    fn dependents(change: &Change<'_>, view: &dyn ClusterView, cfg: &SourceConfig, out: &mut Vec<ObjectRef>) {
        if let Some((old, new)) = change.get::<Pod>() {
            // The Services of the pod's namespace that select it, before or after.
            let ns = change.either::<Pod>().and_then(|p| p.metadata.namespace.as_deref()).unwrap_or_default();
            for svc in view.services(Some(ns)) {
                if !needs(&svc, cfg).pods {
                    continue;
                }
                let sel = selector(&svc);
                if [old, new].iter().flatten().any(|p| sel.matches(p.metadata.labels.as_ref())) {
                    out.push(Self::object_ref(&svc.metadata));
                }
            }
        } else if let Some((old, new)) = change.get::<EndpointSlice>() {
            for slice in [old, new].into_iter().flatten() {
                let ns = slice.metadata.namespace.as_deref().unwrap_or_default();
                let Some(svc) = slice.metadata.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)) else {
                    continue;
                };
                if let Some(svc) = view.get::<Service>(ns, svc) {
                    let r = Self::object_ref(&svc.metadata);
                    if !out.contains(&r) {
                        out.push(r);
                    }
                }
            }
        } else if change.get::<Node>().is_some() {
            for svc in view.services(None) {
                if needs(&svc, cfg).nodes {
                    out.push(Self::object_ref(&svc.metadata));
                }
            }
        }
    }

    fn needs(object: AnyObject<'_>, cfg: &SourceConfig) -> Vec<Watched> {
        let Some(svc) = object.get::<Service>() else {
            return Vec::new();
        };
        let n = needs(svc, cfg);
        [(n.slices, Watched::EndpointSlices), (n.pods, Watched::Pods), (n.nodes, Watched::Nodes)]
            .into_iter()
            .filter_map(|(needed, w)| needed.then_some(w))
            .collect()
    }
}

/// What the `service` source reads for one Service besides the Service.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Needs {
    pub(crate) pods: bool,
    pub(crate) slices: bool,
    pub(crate) nodes: bool,
}

/// What the `service` source reads for this Service besides the Service. Errs on the side of
/// reading more: any name from annotations or `--fqdn-template` counts, filters are not
/// applied (a cluster's watch already honours `--namespace` and `--label-filter`).
pub(crate) fn needs(svc: &Service, cfg: &SourceConfig) -> Needs {
    let mut n = needs_for_names(svc, cfg);
    n.nodes |= crate::compat::service_needs_nodes(svc, cfg.compatibility);
    n
}

fn needs_for_names(svc: &Service, cfg: &SourceConfig) -> Needs {
    let Some(spec) = svc.spec.as_ref() else {
        return Needs::default();
    };
    let t = spec.type_.as_deref().filter(|t| !t.is_empty()).unwrap_or("ClusterIP");
    if !cfg.service_type_filter.is_empty() && !cfg.service_type_filter.iter().any(|f| f == t) {
        return Needs::default();
    }
    let headless = t == "ClusterIP" && spec.cluster_ip.as_deref() == Some("None");
    let node_port = t == "NodePort";
    if !headless && !node_port {
        return Needs::default();
    }
    let ann = Annotations::read(svc.metadata.annotations.as_ref(), cfg);
    let named = cfg.fqdn_template.is_some()
        || (!cfg.ignore_hostname_annotation && (!ann.hostnames().is_empty() || !ann.internal_hostnames().is_empty()));
    if !named || ann.has_targets() {
        return Needs::default();
    }
    if headless {
        Needs { pods: true, slices: true, nodes: ann.get(ENDPOINTS_TYPE) == Some(ENDPOINTS_TYPE_NODE_EXTERNAL_IP) }
    } else {
        Needs { pods: spec.external_traffic_policy.as_deref() == Some("Local"), slices: false, nodes: true }
    }
}

/// The pod selector of a Service.
fn selector(svc: &Service) -> Selector {
    Selector::from_map(&svc.spec.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default())
}

/// The endpoints of one Service.
pub fn endpoints(svc: &Service, cluster: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
    let mut ctx = match Ctx::admit::<ServiceSource>(&svc.metadata, Routing::Annotations, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let default_spec = ServiceSpec::default();
    let spec = svc.spec.as_ref().unwrap_or(&default_spec);
    // The API server defaults a missing type to ClusterIP; manifests often leave it out.
    let svc_type = spec.type_.as_deref().filter(|t| !t.is_empty()).unwrap_or("ClusterIP");
    if !cfg.service_type_filter.is_empty() && !cfg.service_type_filter.iter().any(|t| t == svc_type) {
        return SourceOutput::default();
    }
    if !SERVICE_TYPES.contains(&svc_type) {
        let reason = format!("not a service type; one of {}", SERVICE_TYPES.join(", "));
        ctx.invalid.push(Invalid::new(InvalidKind::Object, "spec.type", svc_type, reason).on(&ctx.obj));
        return ctx.finish();
    }
    let s = Svc { svc, spec, svc_type, cluster };
    if !cfg.ignore_hostname_annotation {
        let field = ctx.ann.field(HOSTNAME);
        for h in ctx.ann.hostnames() {
            s.generate(&mut ctx, &field, &h, false);
        }
        let field = ctx.ann.field(INTERNAL_HOSTNAME);
        for h in ctx.ann.internal_hostnames() {
            s.generate(&mut ctx, &field, &h, true);
        }
    }
    if ctx.endpoints.is_empty() {
        // As upstream: the legacy annotations only when the Service names no host itself.
        crate::compat::service(&mut ctx, svc, svc_type, cluster);
    }
    ctx.add_target_pairs("Service", "v1", &svc.metadata);
    if let Some(hosts) = ctx.template_hostnames("Service", "v1", &svc.metadata) {
        for h in hosts {
            s.generate(&mut ctx, "--fqdn-template", &h, false);
        }
    }
    ctx.finish()
}

struct Svc<'a> {
    svc: &'a Service,
    spec: &'a ServiceSpec,
    svc_type: &'a str,
    cluster: &'a dyn ClusterView,
}

impl Svc<'_> {
    fn name(&self) -> &str {
        self.svc.metadata.name.as_deref().unwrap_or_default()
    }

    fn namespace(&self) -> &str {
        namespace_of(&self.svc.metadata)
    }

    fn generate(&self, ctx: &mut Ctx<'_>, field: &str, raw: &str, use_cluster_ip: bool) {
        let Some(name) = ctx.hostname(field, raw) else {
            return;
        };
        if let Some(targets) = ctx.annotation_targets() {
            ctx.add(&name, &targets);
            return;
        }
        let targets = match self.svc_type {
            "LoadBalancer" if use_cluster_ip => self.cluster_ip(ctx),
            "LoadBalancer" => self.load_balancer(ctx),
            "ClusterIP" if self.spec.cluster_ip.as_deref() == Some("None") => {
                self.headless(ctx, &name);
                Vec::new()
            }
            "ClusterIP" if use_cluster_ip || ctx.cfg.publish_internal_services => self.cluster_ip(ctx),
            "NodePort" => {
                self.node_port_srv(ctx, &name);
                self.node_port_targets(ctx)
            }
            "ExternalName" => match &self.spec.external_ips {
                Some(ips) if !ips.is_empty() => ctx.targets("spec.externalIPs", ips.iter().map(String::as_str)),
                _ => ctx.targets("spec.externalName", self.spec.external_name.as_deref()),
            },
            _ => Vec::new(),
        };
        ctx.add(&name, &targets);
    }

    fn cluster_ip(&self, ctx: &mut Ctx<'_>) -> Vec<String> {
        match self.spec.cluster_ip.as_deref() {
            Some("None") | None => Vec::new(),
            Some(ip) => ctx.targets("spec.clusterIP", [ip]),
        }
    }

    fn load_balancer(&self, ctx: &mut Ctx<'_>) -> Vec<String> {
        if let Some(ips) = self.spec.external_ips.as_ref().filter(|i| !i.is_empty()) {
            return ctx.targets("spec.externalIPs", ips.iter().map(String::as_str));
        }
        let ingress =
            self.svc.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|lb| lb.ingress.as_ref());
        let mut raw: Vec<String> = Vec::new();
        for i in ingress.into_iter().flatten() {
            raw.extend(i.ip.clone().filter(|s| !s.is_empty()));
            let Some(host) = i.hostname.as_deref().filter(|s| !s.is_empty()) else { continue };
            if ctx.cfg.resolve_service_load_balancer_hostname {
                match resolve(host) {
                    Ok(ips) => raw.extend(ips),
                    // Reported on the object, so its records are kept rather than deleted.
                    Err(e) => ctx.invalid.push(
                        Invalid::new(
                            InvalidKind::Target,
                            "status.loadBalancer.ingress.hostname",
                            host,
                            format!("--resolve-service-load-balancer-hostname: cannot resolve it: {e}"),
                        )
                        .on(&ctx.obj),
                    ),
                }
            } else {
                raw.push(host.to_owned());
            }
        }
        ctx.targets("status.loadBalancer.ingress", raw.iter().map(String::as_str))
    }

    /// Pods the Service selects (an empty selector selects every pod of the namespace).
    fn pods(&self) -> Vec<Arc<Pod>> {
        let sel = Selector::from_map(&self.spec.selector.clone().unwrap_or_default());
        self.cluster.pods(self.namespace()).into_iter().filter(|p| sel.matches(p.metadata.labels.as_ref())).collect()
    }

    fn headless(&self, ctx: &mut Ctx<'_>, name: &DnsName) {
        let endpoints_type = ctx.ann.get(ENDPOINTS_TYPE).unwrap_or_default().to_owned();
        if !matches!(endpoints_type.as_str(), "" | ENDPOINTS_TYPE_NODE_EXTERNAL_IP | ENDPOINTS_TYPE_HOST_IP) {
            let msg = format!(
                "must be {ENDPOINTS_TYPE_NODE_EXTERNAL_IP:?} or {ENDPOINTS_TYPE_HOST_IP:?}; pod IPs are published"
            );
            ctx.invalid.push(
                Invalid::new(InvalidKind::Annotation, ctx.ann.field(ENDPOINTS_TYPE), &endpoints_type, msg).on(&ctx.obj),
            );
        }
        let node_external = endpoints_type == ENDPOINTS_TYPE_NODE_EXTERNAL_IP;
        let host_ip = !node_external && (endpoints_type == ENDPOINTS_TYPE_HOST_IP || ctx.cfg.publish_host_ip);
        let publish_pod_ips = !node_external && !host_ip;
        let not_ready_ok =
            self.spec.publish_not_ready_addresses.unwrap_or(false) || ctx.cfg.always_publish_not_ready_addresses;
        let pods = self.pods();
        let mut by_name: BTreeMap<(DnsName, RecordType), Vec<String>> = BTreeMap::new();
        for slice in self.cluster.endpoint_slices(self.namespace(), self.name()) {
            let ip_family = matches!(slice.address_type.as_str(), "IPv4" | "IPv6");
            for ep in &slice.endpoints {
                let ready = ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
                if (!ready && !not_ready_ok) || (publish_pod_ips && !ip_family) {
                    continue;
                }
                let Some(pod) = ep
                    .target_ref
                    .as_ref()
                    .filter(|r| {
                        r.kind.as_deref() == Some("Pod") && r.api_version.as_deref().unwrap_or_default().is_empty()
                    })
                    .and_then(|r| pods.iter().find(|p| p.metadata.name.is_some() && p.metadata.name == r.name))
                else {
                    tracing::debug!(object = %ctx.obj, "endpoint without a selected pod skipped");
                    continue;
                };
                let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
                let mut names = vec![name.clone()];
                if let Some(h) = pod.spec.as_ref().and_then(|s| s.hostname.as_deref()).filter(|h| !h.is_empty()) {
                    let full = format!("{h}.{name}");
                    match DnsName::parse(&full) {
                        Ok(n) => names.push(n),
                        Err(e) => {
                            ctx.invalid.push(e.invalid(format!("pod {pod_name} spec.hostname"), &full).on(&ctx.obj))
                        }
                    }
                }
                let pod_ann = Annotations::read(pod.metadata.annotations.as_ref(), ctx.cfg);
                let targets: Vec<String> = if pod_ann.has_targets() {
                    let field = format!("pod {pod_name} {}", pod_ann.field(TARGET));
                    let raw = split_list(pod_ann.get(TARGET).unwrap_or_default());
                    ctx.targets(&field, raw.iter().map(String::as_str))
                } else if node_external {
                    let node =
                        pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).and_then(|n| self.cluster.node(n));
                    let ips = node.map(|n| addresses(&n, "ExternalIP")).unwrap_or_default();
                    ctx.targets(&format!("pod {pod_name} node status.addresses"), ips.iter().map(String::as_str))
                } else if host_ip {
                    let ip = pod.status.as_ref().and_then(|s| s.host_ip.as_deref());
                    ctx.targets(&format!("pod {pod_name} status.hostIP"), ip)
                } else {
                    ctx.targets("endpointSlice addresses", ep.addresses.first().map(String::as_str))
                };
                for n in &names {
                    for t in &targets {
                        let list = by_name.entry((n.clone(), infer_type(t))).or_default();
                        if !list.contains(t) {
                            list.push(t.clone());
                        }
                    }
                }
            }
        }
        for ((n, rt), targets) in by_name {
            let ep = ctx.decorate(Endpoint::new(n, rt, Targets::new(targets)).with_ttl(ctx.ttl));
            ctx.endpoints.push(ep);
        }
    }

    /// Nodes with running pods of the Service, at the best readiness any of them has (ready and
    /// not terminating, else ready and terminating, else running) — `externalTrafficPolicy: Local`.
    fn local_nodes(&self) -> Vec<Arc<Node>> {
        let mut best: BTreeMap<String, u8> = BTreeMap::new();
        for pod in self.pods() {
            if pod.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Running") {
                continue;
            }
            let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
                continue;
            };
            let ready = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                .is_some_and(|c| c.status == "True");
            let p = match (ready, pod.metadata.deletion_timestamp.is_some()) {
                (true, false) => 3,
                (true, true) => 2,
                _ => 1,
            };
            let e = best.entry(node).or_default();
            *e = (*e).max(p);
        }
        let top = best.values().copied().max().unwrap_or(0);
        best.into_iter().filter(|(_, p)| *p == top).filter_map(|(n, _)| self.cluster.node(&n)).collect()
    }

    fn node_port_targets(&self, ctx: &mut Ctx<'_>) -> Vec<String> {
        let nodes = if self.spec.external_traffic_policy.as_deref() == Some("Local") {
            self.local_nodes()
        } else {
            self.cluster.nodes()
        };
        let (mut external, mut internal) = (Vec::new(), Vec::new());
        for node in nodes {
            if ctx.cfg.exclude_unschedulable && node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false) {
                continue;
            }
            external.extend(addresses(&node, "ExternalIP"));
            internal.extend(addresses(&node, "InternalIP"));
        }
        let access = ctx.ann.get(ACCESS).unwrap_or_default().to_owned();
        let chosen = match access.as_str() {
            "public" => external,
            "private" => internal,
            other => {
                if !other.is_empty() {
                    let msg = "must be \"public\" or \"private\"; external addresses are used, else internal ones";
                    ctx.invalid
                        .push(Invalid::new(InvalidKind::Annotation, ctx.ann.field(ACCESS), other, msg).on(&ctx.obj));
                }
                if external.is_empty() { internal } else { external }
            }
        };
        ctx.targets("node status.addresses", chosen.iter().map(String::as_str))
    }

    /// `_<service>._<protocol>.<host>` SRV `0 50 <nodePort> <host>` for every node port.
    fn node_port_srv(&self, ctx: &mut Ctx<'_>, host: &DnsName) {
        for (i, port) in self.spec.ports.iter().flatten().enumerate() {
            let Some(node_port) = port.node_port.filter(|p| *p > 0) else {
                continue;
            };
            let proto = port.protocol.as_deref().filter(|p| !p.is_empty()).unwrap_or("TCP").to_ascii_lowercase();
            // Written with the host as the object wrote it, as upstream does.
            let host = ctx.written_name(host).to_owned();
            let raw_name = format!("_{}._{proto}.{host}", self.name());
            let Some(name) = ctx.hostname(&format!("spec.ports[{i}]"), &raw_name) else {
                continue;
            };
            let raw_target = format!("0 50 {node_port} {}.", host.strip_suffix('.').unwrap_or(&host));
            match canonical_target(RecordType::SRV, &raw_target) {
                Ok(t) => {
                    ctx.written_target(&t, &raw_target);
                    let ep =
                        ctx.decorate(Endpoint::new(name, RecordType::SRV, Targets::new(vec![t])).with_ttl(ctx.ttl));
                    ctx.endpoints.push(ep);
                }
                Err(e) => ctx.invalid.push(e.at(format!("spec.ports[{i}].nodePort")).on(&ctx.obj)),
            }
        }
    }
}

/// The addresses of a load balancer's host name, with the system resolver (as upstream's
/// `net.LookupIP`), each once, in a stable order.
fn resolve(host: &str) -> std::io::Result<Vec<String>> {
    use std::net::ToSocketAddrs;
    let mut ips: Vec<String> = (host, 0).to_socket_addrs()?.map(|a| a.ip().to_string()).collect();
    ips.sort();
    ips.dedup();
    Ok(ips)
}

/// The addresses of one type (`ExternalIP`, `InternalIP`) of a node.
pub(crate) fn addresses(node: &Node, kind: &str) -> Vec<String> {
    node.status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten()
        .filter(|a| a.type_ == kind)
        .map(|a| a.address.clone())
        .collect()
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
