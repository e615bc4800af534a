//! What every source does with one object: the filters, the annotations every source reads,
//! building endpoints with their labels, the template and default-target rules, and merging.

use exodns_core::endpoint::{endpoints_for_targets, label};
use exodns_core::spelling::Spelling;
use exodns_core::{DnsName, Endpoint, Invalid, InvalidKind, ObjectRef, ProviderSpecific, RecordType, Ttl};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::SourceOutput;
use crate::annotations::{Annotations, check_targets};
use crate::cluster::namespace_of;
use crate::config::SourceConfig;
use crate::kind::Source;
use crate::resource::{ObjectType, is_namespaced};
use crate::template::{FqdnTemplate, TemplateInput};

/// Which annotations beyond `ttl` and `target` a source applies (upstream's node and pod sources
/// ignore `set-identifier` and the provider-specific ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routing {
    Annotations,
    Ignored,
}

/// The state of turning one object into endpoints.
pub(crate) struct Ctx<'a> {
    pub obj: ObjectRef,
    /// The `--source` name (templates' `isSource`).
    pub source: &'static str,
    pub cfg: &'a SourceConfig,
    pub ann: Annotations,
    pub ttl: Ttl,
    pub set_identifier: String,
    pub provider_specific: Vec<ProviderSpecific>,
    pub endpoints: Vec<Endpoint>,
    pub invalid: Vec<Invalid>,
    /// The `ttl` annotation is bad: the object's records would carry a TTL nobody asked for, so
    /// it publishes nothing until the annotation is fixed (what it has published stays, see
    /// `Protected`). Its other input is still checked and reported.
    bad_ttl: bool,
    annotation_targets: Option<Vec<String>>,
    /// Host names as the object wrote them, where that differs from their canonical form.
    written_names: Vec<(DnsName, String)>,
    /// Targets as written (upstream puts them on the webhook wire that way).
    written_targets: Spelling,
}

/// The reference of an object, or a diagnostic when it has no name.
pub(crate) fn object_ref(kind: &str, meta: &ObjectMeta, namespaced: bool) -> Result<ObjectRef, Invalid> {
    let name = meta.name.as_deref().unwrap_or_default();
    if name.is_empty() {
        return Err(Invalid::new(InvalidKind::Object, "metadata.name", "", format!("a {kind} object needs a name")));
    }
    Ok(if namespaced { ObjectRef::namespaced(kind, namespace_of(meta), name) } else { ObjectRef::cluster(kind, name) })
}

impl<'a> Ctx<'a> {
    /// Applies `--namespace` (for namespaced objects), `--label-filter`, `--annotation-filter` and
    /// the `controller` annotation, then reads `ttl` (and `set-identifier` and the provider-specific
    /// annotations with [`Routing::Annotations`]). `Err` carries what to return for a skipped
    /// object: nothing, or the diagnostic that made it unusable.
    pub fn admit<S: Source>(meta: &ObjectMeta, routing: Routing, cfg: &'a SourceConfig) -> Result<Self, SourceOutput> {
        let namespaced = is_namespaced::<S::Object>();
        let obj = object_ref(S::label(), meta, namespaced).map_err(SourceOutput::invalid)?;
        if namespaced && !cfg.namespace_allowed(namespace_of(meta)) {
            return Err(SourceOutput::default());
        }
        if !cfg.label_filter.matches(meta.labels.as_ref()) {
            tracing::debug!(object = %obj, filter = %cfg.label_filter, "skipped by --label-filter");
            return Err(SourceOutput::default());
        }
        let ann = Annotations::read(meta.annotations.as_ref(), cfg);
        if !cfg.annotation_filter.matches(Some(ann.effective())) {
            tracing::debug!(object = %obj, filter = %cfg.annotation_filter, "skipped by --annotation-filter");
            return Err(SourceOutput::default());
        }
        if !ann.controller_matches() {
            tracing::debug!(object = %obj, "skipped: the controller annotation names another controller");
            return Err(SourceOutput::default());
        }
        let mut invalid = Vec::new();
        let ttl = ann.ttl(&obj, &mut invalid);
        let bad_ttl = !invalid.is_empty();
        let (set_identifier, provider_specific) = match routing {
            Routing::Ignored => (String::new(), Vec::new()),
            Routing::Annotations => match ann.set_identifier(&obj) {
                Ok(id) => (id, ann.provider_specific()),
                Err(e) => {
                    // Without its set identifier a record would clash with the routing policy of
                    // its siblings; publish nothing for this object.
                    invalid.push(e);
                    return Err(SourceOutput { endpoints: Vec::new(), invalid });
                }
            },
        };
        Ok(Ctx {
            obj,
            source: S::NAME,
            cfg,
            ann,
            ttl,
            set_identifier,
            provider_specific,
            endpoints: Vec::new(),
            invalid,
            bad_ttl,
            annotation_targets: None,
            written_names: Vec::new(),
            written_targets: Spelling::default(),
        })
    }

    /// Parses a host name; a bad one becomes a diagnostic on `field`.
    pub fn hostname(&mut self, field: &str, raw: &str) -> Option<DnsName> {
        match DnsName::parse(raw) {
            Ok(n) => {
                if n.as_str() != raw && !self.written_names.iter().any(|(c, _)| *c == n) {
                    self.written_names.push((n.clone(), raw.to_owned()));
                }
                Some(n)
            }
            Err(e) => {
                self.invalid.push(e.invalid(field, raw).on(&self.obj));
                None
            }
        }
    }

    /// Checks discovered targets; bad ones become diagnostics on `field`.
    pub fn targets<'s>(&mut self, field: &str, raw: impl IntoIterator<Item = &'s str>) -> Vec<String> {
        check_targets(raw, &self.obj, field, &mut self.invalid, &mut self.written_targets)
    }

    /// `name` as the object wrote it (its canonical form when written so).
    pub fn written_name<'n>(&'n self, name: &'n DnsName) -> &'n str {
        self.written_names.iter().find(|(c, _)| c == name).map_or(name.as_str(), |(_, w)| w.as_str())
    }

    /// Records that the target `canonical` was written `written`.
    pub fn written_target(&mut self, canonical: &str, written: &str) {
        self.written_targets.set_target(canonical, written);
    }

    /// The `target` annotation, checked once: `None` when absent or empty.
    pub fn annotation_targets(&mut self) -> Option<Vec<String>> {
        if !self.ann.has_targets() {
            return None;
        }
        if self.annotation_targets.is_none() {
            let t = self.ann.targets(&self.obj, &mut self.invalid, &mut self.written_targets);
            self.annotation_targets = Some(t);
        }
        self.annotation_targets.clone()
    }

    /// Sets the object's set identifier, provider-specific properties and `resource` label.
    pub fn decorate(&self, mut ep: Endpoint) -> Endpoint {
        ep.set_identifier.clone_from(&self.set_identifier);
        ep.provider_specific.clone_from(&self.provider_specific);
        ep.labels.insert(label::RESOURCE.to_owned(), self.obj.resource_label());
        ep
    }

    /// Endpoints for `name` from already checked bare targets, one per inferred type.
    pub fn add(&mut self, name: &DnsName, targets: &[String]) {
        if targets.is_empty() {
            tracing::debug!(object = %self.obj, name = %name, "no targets yet");
            return;
        }
        let (eps, errs) = endpoints_for_targets(name, targets, self.ttl);
        for e in errs {
            self.invalid.push(e.on(&self.obj));
        }
        for ep in eps {
            let ep = self.decorate(ep);
            self.endpoints.push(ep);
        }
    }

    /// Host names from `--fqdn-template` when it applies: always with `--combine-fqdn-annotation`,
    /// otherwise only when the object gave no endpoints of its own. A template that fails on the
    /// object is reported on it (upstream fails the whole source).
    pub fn template_hostnames(&mut self, kind: &str, api_version: &str, meta: &ObjectMeta) -> Option<Vec<String>> {
        let cfg = self.cfg;
        let t = cfg.fqdn_template.as_ref()?;
        if !cfg.combine_fqdn_annotation && !self.endpoints.is_empty() {
            return None;
        }
        let input = TemplateInput { source: self.source, kind, api_version, metadata: meta, raw: None };
        Some(self.rendered("--fqdn-template", t, &input))
    }

    /// Endpoints from `--fqdn-target-template`'s `host:target` pairs when it applies: as
    /// `--fqdn-template`, always with `--combine-fqdn-annotation`, otherwise only when the object
    /// gave no endpoints of its own.
    pub fn add_target_pairs(&mut self, kind: &str, api_version: &str, meta: &ObjectMeta) {
        let cfg = self.cfg;
        let Some(t) = cfg.fqdn_target_template.as_ref() else { return };
        if !cfg.combine_fqdn_annotation && !self.endpoints.is_empty() {
            return;
        }
        self.add_pairs(t, &TemplateInput { source: self.source, kind, api_version, metadata: meta, raw: None });
    }

    /// Endpoints for a `--fqdn-target-template`'s `host:target` pairs on the object.
    fn add_pairs(&mut self, t: &FqdnTemplate, input: &TemplateInput<'_>) {
        match t.try_pairs(input) {
            Ok(pairs) => {
                for (host, target) in pairs {
                    if let Some(name) = self.hostname("--fqdn-target-template", &host) {
                        let targets = self.targets("--fqdn-target-template", [target.as_str()]);
                        self.add(&name, &targets);
                    }
                }
            }
            Err(e) => self.template_failed("--fqdn-target-template", t, e),
        }
    }

    /// Upstream's `ApplyTemplates` (the sources whose templates give their own targets:
    /// traefik-proxy, f5, unstructured): when the object has no records yet, or always with
    /// `--combine-fqdn-annotation`, `--fqdn-target-template`'s `host:target` pairs; then, on the
    /// same condition, `--fqdn-template`'s names with `--target-template`'s targets (a name
    /// without a target makes nothing). A template that fails is reported on the object.
    pub fn apply_templates(&mut self, input: &TemplateInput<'_>) {
        let cfg = self.cfg;
        if (cfg.combine_fqdn_annotation || self.endpoints.is_empty())
            && let Some(t) = &cfg.fqdn_target_template
        {
            self.add_pairs(t, input);
        }
        if !cfg.combine_fqdn_annotation && !self.endpoints.is_empty() {
            return;
        }
        let Some(hostnames) = cfg.fqdn_template.as_ref().map(|t| self.rendered("--fqdn-template", t, input)) else {
            return;
        };
        if hostnames.is_empty() {
            return;
        }
        let raw_targets =
            cfg.target_template.as_ref().map(|t| self.rendered("--target-template", t, input)).unwrap_or_default();
        let targets = self.targets("--target-template", raw_targets.iter().map(String::as_str));
        let hosts: Vec<(String, String)> = hostnames.into_iter().map(|h| ("--fqdn-template".to_owned(), h)).collect();
        self.add_hosts(&hosts, &targets);
    }

    /// [`Ctx::apply_templates`] on an object of a typed resource (no raw sections).
    pub fn apply_typed_templates<K: ObjectType>(&mut self, meta: &ObjectMeta) {
        let api_version = K::RESOURCE.api_version(K::VERSIONS[0]);
        let kind = K::RESOURCE.kind();
        self.apply_templates(&TemplateInput {
            source: self.source,
            kind,
            api_version: &api_version,
            metadata: meta,
            raw: None,
        });
    }

    /// `t`'s comma-separated output on the object; a failure is reported on `flag`.
    fn rendered(&mut self, flag: &str, t: &FqdnTemplate, input: &TemplateInput<'_>) -> Vec<String> {
        t.try_hostnames(input).unwrap_or_else(|e| {
            self.template_failed(flag, t, e);
            Vec::new()
        })
    }

    fn template_failed(&mut self, flag: &str, t: &FqdnTemplate, e: String) {
        self.invalid.push(Invalid::new(InvalidKind::Object, flag, t.as_str(), e).on(&self.obj));
    }

    /// Endpoints for each `(field, host name)` with the same targets; bad names become
    /// diagnostics on their field.
    pub fn add_hosts(&mut self, hosts: &[(String, String)], targets: &[String]) {
        for (field, h) in hosts {
            if let Some(name) = self.hostname(field, h) {
                self.add(&name, targets);
            }
        }
    }

    /// The `hostname` annotation as `(field, host name)` pairs, or none with
    /// `--ignore-hostname-annotation`.
    pub fn annotation_hosts(&self) -> Vec<(String, String)> {
        if self.cfg.ignore_hostname_annotation {
            return Vec::new();
        }
        let field = self.ann.field(crate::annotations::HOSTNAME);
        self.ann.hostnames().into_iter().map(|h| (field.clone(), h)).collect()
    }

    /// Endpoints for the names `--fqdn-template` gives the object (when it applies, see
    /// [`Ctx::template_hostnames`]), with `targets`.
    pub fn add_template_hosts(&mut self, kind: &str, api_version: &str, meta: &ObjectMeta, targets: &[String]) {
        if let Some(hosts) = self.template_hostnames(kind, api_version, meta) {
            for h in hosts {
                if let Some(name) = self.hostname("--fqdn-template", &h) {
                    self.add(&name, targets);
                }
            }
        }
    }

    /// The `target` annotation when set, else `status` (checked, diagnostics on `field`).
    pub fn targets_or<'s>(&mut self, field: &str, status: impl IntoIterator<Item = &'s str>) -> Vec<String> {
        match self.annotation_targets() {
            Some(t) => t,
            None => self.targets(field, status),
        }
    }

    /// Applies `--default-targets`, then merges the object's endpoints.
    pub fn finish(self) -> SourceOutput {
        let Ctx { cfg, mut endpoints, mut invalid, obj, written_names, written_targets, bad_ttl, .. } = self;
        if bad_ttl {
            endpoints.clear();
        }
        for ep in &mut endpoints {
            // The name and targets as written, for the webhook wire (upstream's form).
            if let Some((_, w)) = written_names.iter().find(|(c, _)| *c == ep.dns_name) {
                ep.spelling.set_name(ep.dns_name.as_str(), w);
            }
            for t in &ep.targets {
                ep.spelling.set_target(t, written_targets.target(t));
            }
        }
        let out = with_default_targets(endpoints, cfg, &obj, &mut invalid);
        SourceOutput { endpoints: out, invalid }.merged()
    }
}

/// `--default-targets` in place of an endpoint's targets: when it has none, or with
/// `--force-default-targets` for A, AAAA and CNAME records (upstream's multi-source wrapper). A
/// default target that does not fit is reported on `obj`.
pub(crate) fn with_default_targets(
    endpoints: Vec<Endpoint>,
    cfg: &SourceConfig,
    obj: &ObjectRef,
    invalid: &mut Vec<Invalid>,
) -> Vec<Endpoint> {
    let mut out = Vec::with_capacity(endpoints.len());
    for ep in endpoints {
        let replace = !cfg.default_targets.is_empty()
            && (ep.targets.is_empty()
                || (cfg.force_default_targets
                    && matches!(ep.record_type, RecordType::A | RecordType::AAAA | RecordType::CNAME)));
        if !replace {
            out.push(ep);
            continue;
        }
        let (eps, errs) = endpoints_for_targets(&ep.dns_name, &cfg.default_targets, ep.ttl);
        invalid.extend(errs.into_iter().map(|e| e.on(obj)));
        for mut d in eps {
            d.set_identifier.clone_from(&ep.set_identifier);
            d.provider_specific.clone_from(&ep.provider_specific);
            d.labels.clone_from(&ep.labels);
            out.push(d);
        }
    }
    out
}
