//! The TXT registry (`--registry=txt`), upstream's `registry/txt/registry.go`.

use std::collections::HashSet;
use std::sync::Mutex;

use super::crypto::{self, AesKey};
use super::labels;
use super::mapper::{self, APEX_LABEL, NameMapper};
use super::{Owned, Registry, RegistryChanges};
use crate::changes::Changes;
use crate::endpoint::{Endpoint, Labels, Ttl, label};
use crate::error::{Error, Invalid, InvalidKind};
use crate::name::DnsName;
use crate::record_type::{DEFAULT_MANAGED, RecordType};
use crate::spelling::Spelling;
use crate::target::Targets;

mod records;

/// The provider-specific property that marks an AWS alias record (`true` or `A` on an A record).
const ALIAS_PROPERTY: &str = "alias";

/// Settings of the TXT registry, named after upstream's flags.
#[derive(Debug, Clone)]
pub struct TxtConfig {
    /// `--txt-owner-id`; must not be empty.
    pub owner_id: String,
    /// `--txt-prefix`; may hold `%{record_type}`.
    pub prefix: String,
    /// `--txt-suffix`; may hold `%{record_type}`. Exclusive with `prefix`.
    pub suffix: String,
    /// `--txt-wildcard-replacement`: what a leading `*` becomes in TXT names.
    pub wildcard_replacement: String,
    /// `--txt-encrypt-enabled`: write values encrypted. Needs `encryption_key`.
    pub encrypt: bool,
    /// `--txt-encrypt-aes-key`. When set, values are decrypted when read even if `encrypt` is
    /// off (so a zone can move back to plain text), as upstream does.
    pub encryption_key: Option<AesKey>,
    /// `--migrate-from-txt-owner`: records of this owner are taken over; empty for none.
    pub old_owner_id: String,
    /// `--managed-record-types`: only these get `txt/force-update` when their TXT is missing.
    pub managed_types: Vec<RecordType>,
    /// `--exclude-record-types`; wins over `managed_types`.
    pub excluded_types: Vec<RecordType>,
}

impl Default for TxtConfig {
    /// Upstream's flag defaults.
    fn default() -> Self {
        TxtConfig {
            owner_id: "default".to_owned(),
            prefix: String::new(),
            suffix: String::new(),
            wildcard_replacement: String::new(),
            encrypt: false,
            encryption_key: None,
            old_owner_id: String::new(),
            managed_types: DEFAULT_MANAGED.to_vec(),
            excluded_types: Vec::new(),
        }
    }
}

/// Ownership through TXT records next to each record.
#[derive(Debug)]
pub struct TxtRegistry {
    owner_id: String,
    old_owner_id: String,
    mapper: NameMapper,
    key: Option<AesKey>,
    encrypt: bool,
    managed_types: Vec<RecordType>,
    excluded_types: Vec<RecordType>,
    /// Legacy `cname-` TXTs of A alias records already reported, to report each once.
    legacy_alias_warned: Mutex<HashSet<String>>,
}

impl TxtRegistry {
    pub fn new(config: TxtConfig) -> Result<Self, Error> {
        if config.owner_id.is_empty() {
            return Err(Error::config("--txt-owner-id", "the owner id cannot be empty"));
        }
        if config.encrypt && config.encryption_key.is_none() {
            return Err(Error::config(
                "--txt-encrypt-aes-key",
                "the AES encryption key must be set when TXT record encryption is enabled",
            ));
        }
        Ok(TxtRegistry {
            mapper: NameMapper::new(&config.prefix, &config.suffix, &config.wildcard_replacement)?,
            owner_id: config.owner_id,
            old_owner_id: config.old_owner_id,
            key: config.encryption_key,
            encrypt: config.encrypt,
            managed_types: config.managed_types,
            excluded_types: config.excluded_types,
            legacy_alias_warned: Mutex::new(HashSet::new()),
        })
    }

    pub fn mapper(&self) -> &NameMapper {
        &self.mapper
    }

    /// The name of the ownership TXT that [`apply`](Registry::apply) writes for `ep`: a TXT the
    /// zone already has under one of its names keeps that name; else upstream's name, unless
    /// `ep` is the apex of a zone that upstream's name lies outside of: then the apex name
    /// inside the zone (see [`mapper`](super::mapper)).
    pub fn txt_name(&self, ep: &Endpoint, owned: &Owned) -> Result<DnsName, Invalid> {
        let name = ep.dns_name.as_str();
        let upstream = self.parse_txt_name(ep, self.mapper.to_txt_name(name, ep.record_type));
        let Some(zones) = owned.zones.as_ref().filter(|z| z.is_apex(&ep.dns_name)) else {
            return upstream;
        };
        if let Ok(n) = &upstream
            && (owned.has_txt(n, &ep.set_identifier) || zones.zone_of(n) == Some(name))
        {
            return upstream;
        }
        self.parse_txt_name(ep, self.mapper.to_apex_txt_name(name, ep.record_type))
    }

    fn parse_txt_name(&self, ep: &Endpoint, candidate: String) -> Result<DnsName, Invalid> {
        DnsName::parse(&candidate).map_err(|e| {
            let mut reason =
                format!("the ownership TXT name for {} {} is not a valid DNS name: {e}", ep.dns_name, ep.record_type);
            if ep.dns_name.is_wildcard() && self.mapper.wildcard_replacement().is_empty() {
                reason.push_str(" (set --txt-wildcard-replacement for wildcard records)");
            }
            Invalid::new(InvalidKind::Name, "ownership TXT name", &candidate, reason)
        })
    }

    /// Refuses to write `ep` when its ownership TXT could not be written in the same change:
    /// a name exodns never owns, or (when the zones are known) a TXT outside the record's zone.
    fn check_writable(&self, ep: &Endpoint, txt: &DnsName, owned: &Owned) -> Result<(), Invalid> {
        if mapper::is_reserved(ep.dns_name.as_str()) {
            let reason = format!(
                "the first label {APEX_LABEL} is reserved: exodns names the ownership records of zone apexes with it"
            );
            return Err(Invalid::new(InvalidKind::Name, "name", ep.dns_name.as_str(), reason));
        }
        let Some(zones) = &owned.zones else { return Ok(()) };
        let zone = zones.zone_of(&ep.dns_name);
        if zone.is_some() && zones.zone_of(txt) != zone && !owned.has_txt(txt, &ep.set_identifier) {
            let reason = format!(
                "the ownership TXT {txt} of {} {} would not lie in the zone {} of the record",
                ep.dns_name,
                ep.record_type,
                zone.unwrap_or_default()
            );
            return Err(Invalid::new(InvalidKind::Name, "ownership TXT name", txt.as_str(), reason));
        }
        Ok(())
    }

    /// The ownership TXT of `r` as it should be (a create, the new side of an update), as
    /// upstream's `generateTXTRecord`. Takes the record over from the old owner, and with
    /// encryption may add the nonce label to it, as upstream does.
    pub fn ownership_txt(&self, r: &mut Endpoint, owned: &Owned) -> Result<Endpoint, Invalid> {
        self.txt_for(r, owned, Side::New)
    }

    fn txt_for(&self, r: &mut Endpoint, owned: &Owned, side: Side) -> Result<Endpoint, Invalid> {
        if !self.old_owner_id.is_empty() && r.owner() == Some(self.old_owner_id.as_str()) {
            r.labels.insert(label::OWNER.to_owned(), self.owner_id.clone());
        }
        let name = self.txt_name(r, owned)?;
        if side == Side::New {
            self.check_writable(r, &name, owned)?;
        }
        let value = self.txt_value(r, &name, owned, side)?;
        // Upstream names the TXT after the record as written (`a-Web.Example.org`).
        let mut spelling = Spelling::default();
        if let Some(written) = r.spelling.name()
            && name.as_str() == self.mapper.to_txt_name(r.dns_name.as_str(), r.record_type)
        {
            spelling.set_name(name.as_str(), &self.mapper.to_txt_name(written, r.record_type));
        }
        let mut labels = Labels::new();
        labels.insert(label::OWNED_RECORD.to_owned(), r.wire_name().to_owned());
        Ok(Endpoint {
            dns_name: name,
            targets: Targets::new(vec![value]),
            record_type: RecordType::TXT,
            set_identifier: r.set_identifier.clone(),
            ttl: Ttl::default(),
            labels,
            provider_specific: r.provider_specific.clone(),
            spelling,
        })
    }

    /// The TXT target for `r`'s labels. With a key, the zone's own bytes are used where they
    /// hold the same labels: always for the old side (so a provider deleting by value finds
    /// them), and for the new side when encrypting and the zone's value is encrypted (Go's and
    /// Rust's gzip differ; without this every update would rewrite the value).
    fn txt_value(&self, r: &mut Endpoint, name: &DnsName, owned: &Owned, side: Side) -> Result<String, Invalid> {
        let existing = owned.existing(name, &r.set_identifier).and_then(|e| Some((&e.target[0], e.labels.as_ref()?)));
        if let Some((target, existing_labels)) = existing {
            let sealed = existing_labels.contains_key(label::TXT_ENCRYPTION_NONCE);
            let reuse = side == Side::Old || (self.encrypt && sealed);
            if reuse && labels::same_value(existing_labels, &r.labels) {
                return Ok(target.clone());
            }
        }
        let key = match &self.key {
            Some(key) if self.encrypt => key,
            _ => return Ok(labels::encode_plain(&r.labels)),
        };
        // Upstream reuses the nonce of the labels. Never reuse one the zone's value was sealed
        // with for other labels (that would break GCM); take a fresh one then.
        let ours = r.labels.get(label::TXT_ENCRYPTION_NONCE);
        let used_for_other = existing.and_then(|(_, l)| l.get(label::TXT_ENCRYPTION_NONCE));
        let nonce = match ours.and_then(|n| crypto::nonce_from_label(n)) {
            Some(nonce) if used_for_other != ours => nonce,
            _ => {
                let nonce = crypto::random_nonce();
                r.labels.insert(label::TXT_ENCRYPTION_NONCE.to_owned(), crypto::nonce_to_label(&nonce));
                nonce
            }
        };
        let sealed = crypto::encrypt(&labels::to_plain(&r.labels), key, &nonce)
            .map_err(|e| Invalid::new(InvalidKind::TxtValue, "ownership TXT value", name.as_str(), e.to_string()))?;
        Ok(format!("\"{sealed}\""))
    }

    fn is_managed(&self, rt: RecordType) -> bool {
        !self.excluded_types.contains(&rt) && self.managed_types.contains(&rt)
    }

    fn is_ours(&self, ep: &Endpoint) -> bool {
        ep.owner() == Some(self.owner_id.as_str())
    }

    fn warn_legacy_alias(&self, name: &str) {
        let legacy = self.mapper.to_txt_name(name, RecordType::CNAME);
        let mut warned = self.legacy_alias_warned.lock().unwrap_or_else(|e| e.into_inner());
        if warned.insert(legacy.clone()) {
            tracing::warn!(
                legacy_txt = %legacy,
                record = %name,
                now = %self.mapper.to_txt_name(name, RecordType::A),
                "obsolete legacy ownership TXT of an A alias record can be removed"
            );
        }
    }
}

/// Which side of a change a TXT is made for: what the zone has (update old, delete) or what it
/// should have (create, update new).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Old,
    New,
}

fn is_alias_a(ep: &Endpoint) -> bool {
    ep.record_type == RecordType::A && matches!(ep.property(ALIAS_PROPERTY), Some("true" | "A"))
}

impl Registry for TxtRegistry {
    fn owner_id(&self) -> &str {
        &self.owner_id
    }

    fn records(&self, raw: Vec<Endpoint>) -> Owned {
        self.read_zone(raw)
    }

    fn apply(&self, changes: Changes, owned: &Owned) -> RegistryChanges {
        let Changes { create, update_old, update_new, delete } = changes;
        let mut out = Changes::default();
        let mut invalid = Vec::new();

        let mut txts = Vec::new();
        for mut r in create {
            r.labels.insert(label::OWNER.to_owned(), self.owner_id.clone());
            match self.txt_for(&mut r, owned, Side::New) {
                Ok(txt) => {
                    // A TXT left behind by a record deleted by hand is reused, not created twice.
                    if !owned.has_txt(&txt.dns_name, &txt.set_identifier) {
                        txts.push(txt);
                    }
                    out.create.push(r);
                }
                Err(e) => invalid.push(not_written(e, "the record is not created")),
            }
        }
        out.create.append(&mut txts);

        for mut r in delete.into_iter().filter(|r| self.is_ours(r)) {
            match self.txt_for(&mut r, owned, Side::Old) {
                Ok(txt) => txts.push(txt),
                Err(e) => invalid.push(not_written(e, "the record is deleted without it")),
            }
            out.delete.push(r);
        }
        out.delete.append(&mut txts);

        // Upstream filters both sides on their own; the planner gives the new state the old
        // one's owner, so keeping a pair only when both are ours is the same and keeps pairs.
        let mut new_txts = Vec::new();
        for (mut old, mut new) in update_old.into_iter().zip(update_new) {
            if !self.is_ours(&old) || !self.is_ours(&new) {
                continue;
            }
            match (self.txt_for(&mut old, owned, Side::Old), self.txt_for(&mut new, owned, Side::New)) {
                (Ok(old_txt), Ok(new_txt)) => {
                    txts.push(old_txt);
                    new_txts.push(new_txt);
                    out.update_old.push(old);
                    out.update_new.push(new);
                }
                // A record is never left without its ownership: it keeps its old state.
                (Err(e), _) | (_, Err(e)) => invalid.push(not_written(e, "the record is not updated")),
            }
        }
        out.update_old.append(&mut txts);
        out.update_new.append(&mut new_txts);

        RegistryChanges { changes: out, invalid, table: Vec::new() }
    }

    fn ownership_names(&self, ep: &Endpoint) -> Vec<DnsName> {
        let name = ep.dns_name.as_str();
        // Whether `ep` is a zone apex is not known here: its apex name is a candidate too.
        let mut candidates =
            vec![self.mapper.to_txt_name(name, ep.record_type), self.mapper.to_apex_txt_name(name, ep.record_type)];
        if is_alias_a(ep) {
            candidates.push(self.mapper.to_txt_name(name, RecordType::CNAME));
        }
        if ep.record_type != RecordType::AAAA {
            candidates.push(self.mapper.to_old_format_txt_name(name));
        }
        let mut names: Vec<DnsName> = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            if let Ok(n) = DnsName::parse(&candidate)
                && !names.contains(&n)
            {
                names.push(n);
            }
        }
        names
    }
}

fn not_written(mut e: Invalid, what: &str) -> Invalid {
    e.reason = format!("{}; {what}", e.reason);
    e
}
