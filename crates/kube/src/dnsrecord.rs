//! `--registry=crd`: ownership kept in DNSRecord objects (`externaldns.k8s.io/v1alpha1`, the CRD
//! of upstream ExternalDNS v0.23), one per record, in `--crd-registry-namespace`.
//!
//! As upstream v0.23 writes them: the object's name is the record's name with `-` for what RFC
//! 1123 refuses, then `-` and 8 hex digits of the SHA-256 of `name/TYPE/set-identifier`; the
//! label `externaldns.k8s.io/owner` names the owner; `spec.endpoint` is the endpoint as
//! published (labels with `resource`); `status.conditions[Ready]` says `Accepted` (written,
//! not yet applied), `Programmed` or `Failed`. Unlike upstream, the records of the zone are
//! still read from the provider: an object only says who owns the record of its key, so a
//! record changed by hand is repaired and a foreign record is never overwritten.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use exodns_core::endpoint::{EndpointKey, RawEndpoint, label};
use exodns_core::registry::TableWrite;
use exodns_core::{Endpoint, error_chain};
use exodns_provider::store::Outcome;
use exodns_provider::{Loaded, OwnershipStore, ProviderError, Refused};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::{debug, warn};

use crate::KubeClient;

/// The owner label upstream puts on every DNSRecord.
pub const OWNER_LABEL: &str = "externaldns.k8s.io/owner";
const STORE: &str = "crd";
/// Objects per list page.
const PAGE: u32 = 500;

/// What to install when the cluster lacks the CRD.
const HINT: &str = "install upstream ExternalDNS v0.23's CRD (config/crd/standard/dnsrecords.externaldns.k8s.io.yaml, or its chart with registry: crd)";

/// The DNSRecord object name of a record, as upstream's `recordObjectName`.
pub fn object_name(key: &EndpointKey) -> String {
    let name = key.dns_name.as_str().trim_end_matches('.').to_ascii_lowercase();
    let identity = format!("{name}/{}/{}", key.record_type.as_str().to_ascii_uppercase(), key.set_identifier);
    let hash = Sha256::digest(identity.as_bytes());
    let suffix = format!("-{:02x}{:02x}{:02x}{:02x}", hash[0], hash[1], hash[2], hash[3]);
    let dashed: String =
        name.chars().map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' }).collect();
    // Runs of refused characters become one dash, as the regexp `[^a-z0-9]+` does.
    let mut base = String::with_capacity(dashed.len());
    for c in dashed.chars() {
        if !(c == '-' && base.ends_with('-')) {
            base.push(c);
        }
    }
    let mut base = base.trim_matches('-').to_owned();
    let max = 253 - suffix.len();
    if base.len() > max {
        base = base[..max].trim_matches('-').to_owned();
    }
    if base.is_empty() {
        base = "record".into();
    }
    base + &suffix
}

/// The DNSRecord store of one owner in one namespace.
pub struct DnsRecordStore {
    api: Api<DynamicObject>,
    namespace: String,
    owner: String,
    /// The object of each key, as last read or written: its name and `spec.endpoint`.
    objects: Mutex<HashMap<EndpointKey, (String, Value)>>,
}

impl DnsRecordStore {
    pub fn new(client: &KubeClient, namespace: &str, owner: &str) -> Self {
        let gvk = GroupVersionKind::gvk("externaldns.k8s.io", "v1alpha1", "DNSRecord");
        let ar = ApiResource::from_gvk_with_plural(&gvk, "dnsrecords");
        DnsRecordStore {
            api: Api::namespaced_with(client.client().clone(), namespace, &ar),
            namespace: namespace.to_owned(),
            owner: owner.to_owned(),
            objects: Mutex::new(HashMap::new()),
        }
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, HashMap<EndpointKey, (String, Value)>> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn error(&self, what: &str, e: &kube::Error) -> ProviderError {
        let message = match e {
            kube::Error::Api(s) if s.code == 404 && what.starts_with("listing") => {
                format!("{what}: the cluster does not serve dnsrecords.externaldns.k8s.io; {HINT}")
            }
            _ => format!("{what}: {}", crate::KubeError::from_kube(e)),
        };
        match e {
            kube::Error::Api(s) if s.code == 400 || s.code == 422 => ProviderError::permanent(STORE, message),
            _ => ProviderError::transient(STORE, message),
        }
    }

    /// Upstream's Ready condition with `reason` (`Accepted`, `Programmed`, `Failed`).
    async fn set_status(&self, name: &str, reason: &str, message: &str) {
        let now = serde_json::to_value(Time(k8s_openapi::jiff::Timestamp::now())).unwrap_or(Value::Null);
        let status = if reason == "Programmed" { "True" } else { "False" };
        let patch = json!({"status": {"conditions": [{
            "type": "Ready", "status": status, "reason": reason, "message": message, "lastTransitionTime": now,
        }]}});
        if let Err(e) = self.api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            // Only what the object shows: the ownership itself is written.
            warn!(dnsrecord = %format!("{}/{name}", self.namespace), reason, "cannot write the status of a DNSRecord: {}", error_chain(&e));
        }
    }

    /// `spec.endpoint`: the endpoint as published, its owner among its labels (as upstream).
    fn spec(ep: &Endpoint) -> Value {
        serde_json::to_value(ep).unwrap_or(Value::Null)
    }

    /// Creates the object of a claim; an object already there is ours to refresh, or another
    /// owner's (refused).
    async fn claim(&self, ep: &Endpoint) -> Result<Option<Refused>, ProviderError> {
        let key = ep.key();
        let name = object_name(&key);
        let spec = Self::spec(ep);
        let mut obj = DynamicObject::new(&name, &self.api_resource()).within(&self.namespace);
        obj.metadata.labels = Some([(OWNER_LABEL.to_owned(), self.owner.clone())].into());
        obj.data = json!({"spec": {"endpoint": spec}});
        match self.api.create(&PostParams::default(), &obj).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let existing =
                    self.api.get(&name).await.map_err(|e| self.error(&format!("reading DNSRecord {name}"), &e))?;
                let owner =
                    existing.metadata.labels.as_ref().and_then(|l| l.get(OWNER_LABEL)).cloned().unwrap_or_default();
                if owner != self.owner {
                    return Ok(Some(Refused { key, owner }));
                }
                self.replace_spec(existing, &spec).await?;
            }
            Err(e) => return Err(self.error(&format!("creating DNSRecord {}/{name}", self.namespace), &e)),
        }
        self.objects().insert(key, (name.clone(), spec));
        self.set_status(&name, "Accepted", "Endpoint accepted by exodns; not yet programmed").await;
        Ok(None)
    }

    async fn update(&self, ep: &Endpoint) -> Result<(), ProviderError> {
        let key = ep.key();
        let spec = Self::spec(ep);
        let known = self.objects().get(&key).cloned();
        let name = known.as_ref().map(|(n, _)| n.clone()).unwrap_or_else(|| object_name(&key));
        if known.is_some_and(|(_, s)| s == spec) {
            return Ok(());
        }
        let existing = match self.api.get(&name).await {
            Ok(o) => o,
            // Gone meanwhile: claim it again.
            Err(kube::Error::Api(s)) if s.code == 404 => return self.claim(ep).await.map(drop),
            Err(e) => return Err(self.error(&format!("reading DNSRecord {}/{name}", self.namespace), &e)),
        };
        self.replace_spec(existing, &spec).await?;
        self.objects().insert(key, (name.clone(), spec));
        self.set_status(&name, "Accepted", "Endpoint accepted by exodns; not yet programmed").await;
        Ok(())
    }

    async fn replace_spec(&self, mut existing: DynamicObject, spec: &Value) -> Result<(), ProviderError> {
        let name = existing.metadata.name.clone().unwrap_or_default();
        existing.data["spec"] = json!({"endpoint": spec});
        self.api
            .replace(&name, &PostParams::default(), &existing)
            .await
            .map(drop)
            .map_err(|e| self.error(&format!("updating DNSRecord {}/{name}", self.namespace), &e))
    }

    fn api_resource(&self) -> ApiResource {
        let gvk = GroupVersionKind::gvk("externaldns.k8s.io", "v1alpha1", "DNSRecord");
        ApiResource::from_gvk_with_plural(&gvk, "dnsrecords")
    }

    /// One object as an entry, or why it owns nothing.
    fn entry(&self, obj: &DynamicObject) -> Result<(EndpointKey, Endpoint, Value), String> {
        let object = format!("DNSRecord {}/{}", self.namespace, obj.metadata.name.as_deref().unwrap_or(""));
        let Some(spec) = obj.data.get("spec").and_then(|s| s.get("endpoint")) else {
            return Err(format!("{object}: field spec.endpoint is missing"));
        };
        let raw: RawEndpoint = serde_path_to_error::deserialize(spec)
            .map_err(|e| format!("{object}: field spec.endpoint.{}: {}", e.path(), e.inner()))?;
        let mut ep = Endpoint::try_from(raw).map_err(|inv| format!("{object}: field spec.endpoint: {inv}"))?;
        ep.labels.insert(label::OWNER.to_owned(), self.owner.clone());
        Ok((ep.key(), ep, spec.clone()))
    }
}

#[async_trait]
impl OwnershipStore for DnsRecordStore {
    fn describe(&self) -> String {
        format!("DNSRecords of owner {} in namespace {}", self.owner, self.namespace)
    }

    async fn load(&self) -> Result<Loaded, ProviderError> {
        let mut loaded = Loaded::default();
        let mut objects = HashMap::new();
        // Every object of the namespace: those of other owners hold keys this owner must not claim.
        let mut params = ListParams::default().limit(PAGE);
        loop {
            let page = self
                .api
                .list(&params)
                .await
                .map_err(|e| self.error(&format!("listing DNSRecords in namespace {}", self.namespace), &e))?;
            for obj in &page.items {
                let owner = obj.metadata.labels.as_ref().and_then(|l| l.get(OWNER_LABEL)).cloned().unwrap_or_default();
                if owner != self.owner {
                    // Another owner's object: its key only; what else it holds is not ours to judge.
                    if let Ok((key, _, _)) = self.entry(obj) {
                        loaded.table.insert_foreign(key, owner);
                    }
                    continue;
                }
                match self.entry(obj) {
                    Ok((key, ep, spec)) => {
                        let name = obj.metadata.name.clone().unwrap_or_default();
                        if let Some((first, _)) = objects.get(&key) {
                            loaded.invalid.push(format!(
                                "DNSRecord {}/{name}: field spec.endpoint: the same record as DNSRecord {first} ({} {})",
                                self.namespace, key.dns_name, key.record_type
                            ));
                            continue;
                        }
                        loaded.table.insert(key.clone(), ep.labels.clone());
                        objects.insert(key, (name, spec));
                    }
                    Err(why) => loaded.invalid.push(why),
                }
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => params = params.continue_token(&c),
                None => break,
            }
        }
        debug!(entries = loaded.table.len(), namespace = %self.namespace, "DNSRecords read");
        *self.objects() = objects;
        Ok(loaded)
    }

    async fn prepare(&self, writes: &[TableWrite]) -> Result<Vec<Refused>, ProviderError> {
        let mut refused = Vec::new();
        for w in writes {
            match w {
                TableWrite::Claim(ep) => refused.extend(self.claim(ep).await?),
                TableWrite::Update(ep) => self.update(ep).await?,
                TableWrite::Release(_) => {}
            }
        }
        Ok(refused)
    }

    async fn finish(&self, outcome: &Outcome) -> Result<(), ProviderError> {
        let name_of = |k: &EndpointKey| self.objects().get(k).map(|(n, _)| n.clone()).unwrap_or_else(|| object_name(k));
        for k in &outcome.applied {
            self.set_status(&name_of(k), "Programmed", "Endpoint applied to the DNS provider").await;
        }
        for (k, why) in &outcome.failed {
            self.set_status(&name_of(k), "Failed", &format!("The provider refused the change: {why}")).await;
        }
        for k in &outcome.releases {
            let name = name_of(k);
            match self.api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(self.error(&format!("deleting DNSRecord {}/{name}", self.namespace), &e)),
            }
            self.objects().remove(k);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exodns_core::{DnsName, RecordType};

    fn key(name: &str, rt: RecordType, set: &str) -> EndpointKey {
        EndpointKey { dns_name: DnsName::parse(name).unwrap(), record_type: rt, set_identifier: set.into() }
    }

    /// Names as upstream v0.23's `recordObjectName` gives them (its crd_test.go's cases, the
    /// hashes computed with `printf 'name/TYPE/set' | sha256sum`).
    #[test]
    fn object_names_as_upstream() {
        let n = object_name(&key("sub.example.io", RecordType::A, ""));
        assert!(n.starts_with("sub-example-io-") && n.len() == "sub-example-io-".len() + 8, "{n}");
        let hash = Sha256::digest(b"sub.example.io/A/");
        assert_eq!(
            &n["sub-example-io-".len()..],
            format!("{:02x}{:02x}{:02x}{:02x}", hash[0], hash[1], hash[2], hash[3])
        );
        // Distinct set identifiers and look-alike names differ.
        assert_ne!(n, object_name(&key("sub.example.io", RecordType::A, "blue")));
        assert_ne!(n, object_name(&key("sub-example.io", RecordType::A, "")));
        let w = object_name(&key("*.example.io", RecordType::CNAME, ""));
        assert!(w.starts_with("example-io-"), "{w}");
        let long = format!("{}.example.org", ["a".repeat(63), "b".repeat(63), "c".repeat(63)].join("."));
        assert!(object_name(&key(&long, RecordType::TXT, "")).len() <= 253);
    }
}
