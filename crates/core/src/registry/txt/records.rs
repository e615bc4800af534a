//! Reading a zone (upstream's `Records()`): ownership TXTs out, their labels onto the records
//! they own, `txt/force-update` where a TXT is missing.

use std::collections::HashSet;

use super::{TxtRegistry, is_alias_a};
use crate::endpoint::{Endpoint, FORCE_UPDATE_PROPERTY, Labels, label};
use crate::name::DnsName;
use crate::record_type::RecordType;
use crate::registry::index::OwnerIndex;
use crate::registry::mapper::apex_owned_name;
use crate::registry::{ExistingTxt, Owned, labels};

impl TxtRegistry {
    /// Upstream's `Records()` on the records the provider listed.
    pub(super) fn read_zone(&self, raw: Vec<Endpoint>) -> Owned {
        // Zones hold about as many ownership TXTs as records.
        let mut txts: Vec<ExistingTxt> = Vec::with_capacity(raw.len() / 2);
        let mut txt_labels: Vec<Labels> = Vec::with_capacity(raw.len() / 2);
        // (Collected in place: the records keep the input's allocation.)
        let mut endpoints: Vec<Endpoint> = raw
            .into_iter()
            .filter_map(|ep| {
                if ep.record_type != RecordType::TXT {
                    return Some(ep);
                }
                // Registry TXTs have one target. Some providers list routing-policy records
                // without any.
                let Some(target) = ep.targets.first() else {
                    tracing::error!(name = %ep.dns_name, "TXT record has no targets");
                    return None;
                };
                match labels::decode(target, self.key.as_ref()) {
                    Some(labels) => {
                        txt_labels.push(labels);
                        txts.push(ExistingTxt {
                            target: ep.targets,
                            name: ep.dns_name,
                            set_identifier: ep.set_identifier,
                            labels: None,
                        });
                        None
                    }
                    // Not an ownership record: an ordinary TXT record.
                    None => Some(ep),
                }
            })
            .collect();

        {
            let mut index = OwnerIndex::with_capacity(txts.len());
            for (i, txt) in txts.iter().enumerate() {
                // A DnsName is lowercase already.
                if let Some((name, rt)) = self.mapper.read_lowercase(txt.name.as_str()) {
                    index.insert(apex_owned_name(name), rt, txt.set_identifier.as_str(), i);
                }
            }
            // Upstream's set of TXT names, for the force-update check; built only if the TXT
            // found through the index does not settle it.
            let mut txt_names: Option<HashSet<&str>> = None;

            // Which TXT owns each record, and how many records each TXT owns (usually one: its
            // labels are then moved rather than copied).
            let mut buf = String::new();
            let found: Vec<Option<usize>> = endpoints.iter().map(|ep| self.owning_txt(ep, &index, &mut buf)).collect();
            let mut uses = vec![0u32; txts.len()];
            for i in found.iter().flatten() {
                uses[*i] += 1;
            }
            let keep_labels = self.key.is_some();

            for (ep, found) in endpoints.iter_mut().zip(found) {
                if let Some(i) = found {
                    uses[i] -= 1;
                    let owner_labels = if uses[i] == 0 && !keep_labels {
                        std::mem::take(&mut txt_labels[i])
                    } else {
                        txt_labels[i].clone()
                    };
                    if ep.labels.is_empty() {
                        ep.labels = owner_labels;
                    } else {
                        ep.labels.extend(owner_labels);
                    }
                }

                if !self.old_owner_id.is_empty() && ep.owner() == Some(self.old_owner_id.as_str()) {
                    ep.labels.insert(label::OWNER.to_owned(), self.owner_id.clone());
                    // Its TXT still names the old owner: one update rewrites it, and after that
                    // the record reads as ours with nothing to do. (Upstream instead has the
                    // planner compare owners, which re-plans an update on every sync.)
                    if self.is_managed(ep.record_type) {
                        ep.set_property(FORCE_UPDATE_PROPERTY, "true");
                    }
                }

                // A record of ours whose TXT (new format) is missing: force an update, which
                // writes it. Upstream does this only when the zone has some ownership TXT.
                if !txts.is_empty() && self.is_ours(ep) && self.is_managed(ep.record_type) {
                    self.mapper.write_txt_name(ep.dns_name.as_str(), ep.record_type, &mut buf);
                    let mut exists = found.is_some_and(|i| txts[i].name.as_str() == buf)
                        || txt_names
                            .get_or_insert_with(|| txts.iter().map(|t| t.name.as_str()).collect())
                            .contains(buf.as_str());
                    // A zone apex may be owned through its name inside the zone instead.
                    if !exists && let Some(i) = found {
                        exists =
                            txts[i].name.as_str() == self.mapper.to_apex_txt_name(ep.dns_name.as_str(), ep.record_type);
                    }
                    // A TXT that cannot be named cannot be written either: no endless updates.
                    if !exists && DnsName::parse(&buf).is_ok() {
                        ep.set_property(FORCE_UPDATE_PROPERTY, "true");
                    }
                }
            }
        }

        if self.key.is_some() {
            for (txt, labels) in txts.iter_mut().zip(txt_labels) {
                txt.labels = Some(labels);
            }
        }
        endpoints.shrink_to_fit();
        let mut owned = Owned::new(endpoints);
        owned.txt = txts;
        owned
    }

    /// The TXT whose labels `ep` takes: its own type's, then for an A alias the legacy `cname`
    /// one, then (all types but AAAA) the old format's.
    fn owning_txt(&self, ep: &Endpoint, index: &OwnerIndex<'_>, buf: &mut String) -> Option<usize> {
        // TXT names hold the wildcard replacement where the record has `*`.
        let wildcard = self.mapper.wildcard_replacement();
        let name: &str = match ep.dns_name.as_str().strip_prefix('*') {
            Some(rest) if !wildcard.is_empty() && (rest.is_empty() || rest.starts_with('.')) => {
                buf.clear();
                buf.push_str(wildcard);
                buf.push_str(rest);
                buf
            }
            _ => ep.dns_name.as_str(),
        };
        let chain = index.chain(name);
        let find = |rt| index.find(chain, rt, ep.set_identifier.as_str());
        let mut found = find(Some(ep.record_type));
        if is_alias_a(ep) {
            // A alias records were owned through the `cname-` TXT before v0.22.
            if let Some(legacy) = find(Some(RecordType::CNAME)) {
                found = found.or(Some(legacy));
                self.warn_legacy_alias(name);
            }
        }
        if found.is_none() && ep.record_type != RecordType::AAAA {
            found = find(None);
        }
        found
    }
}
