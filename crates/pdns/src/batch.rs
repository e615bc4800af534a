//! From a zone's share of a change set to ordered PATCH bodies.
//!
//! 1. Every endpoint becomes a contribution to one rrset key (absolute name, type as written):
//!    creates and updates REPLACE, deletes DELETE. Contributions to one key merge into one
//!    rrset change (PowerDNS refuses a PATCH that names an rrset twice with one changetype):
//!    REPLACEs union their records, and a REPLACE makes a DELETE of the same key redundant.
//! 2. Changes are grouped: the names of one group may conflict with each other (a CNAME and
//!    anything else at one name), and a registry TXT (label `ownedRecord`) joins the group of
//!    the record it owns, so a record and its ownership land in the same atomic PATCH.
//! 3. Inside a PATCH, DELETEs go before REPLACEs: PowerDNS applies the rrsets in order, so a
//!    type change on one name (CNAME → A, A → CNAME) never meets `Conflicts with pre-existing
//!    RRset`.
//! 4. Groups are packed, in order, into chunks whose body stays under the byte limit; a group is
//!    split only when it alone exceeds the limit. Each rrset change is measured when built and
//!    written straight into the body of the PATCH that carries it: no change keeps its JSON (at
//!    20 000 rrsets that was 4 MiB held through every PATCH).

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use exodns_core::{Endpoint, RecordType};
use exodns_provider::grouping::group_changes;

use crate::convert::{content, physical_type};
use crate::model::{BODY_HEAD, BODY_TAIL, ChangeType, RRSetChange, RecordOut};

/// What the change set asks for one endpoint.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    /// Create, or the new state of an update; `old` is the update's old state, whose written
    /// type may differ (CNAME ↔ ALIAS), in which case the old rrset is deleted.
    Replace {
        ep: &'a Endpoint,
        old: Option<&'a Endpoint>,
    },
    Delete {
        ep: &'a Endpoint,
    },
}

/// One rrset change of a PATCH.
#[derive(Debug)]
pub struct Op<'a> {
    /// Absolute name.
    pub name: String,
    /// Type as written (ALIAS for an apex CNAME).
    pub rtype: RecordType,
    pub change: ChangeType,
    /// Length of this change as JSON.
    pub json_len: usize,
    /// A REPLACE's TTL.
    ttl: u32,
    /// The endpoints that asked for it; they are the ones reported if PowerDNS refuses it. The
    /// first `replacing` are a REPLACE's, whose targets are its records.
    pub sources: Vec<&'a Endpoint>,
    replacing: usize,
    /// Index of its group.
    pub group: usize,
}

/// A zone's changes, merged and grouped.
#[derive(Debug, Default)]
pub struct ZoneBatch<'a> {
    pub ops: Vec<Op<'a>>,
    /// Op indices per group, DELETEs first.
    pub groups: Vec<Vec<usize>>,
}

#[derive(Default)]
struct Merged<'a> {
    replace: Vec<&'a Endpoint>,
    delete: Vec<&'a Endpoint>,
}

impl<'a> ZoneBatch<'a> {
    /// Merges, serialises and groups the changes of zone `zone_fqdn` (absolute).
    pub fn build(zone_fqdn: &str, items: &[Item<'a>], default_ttl: u32) -> Self {
        let mut merged: BTreeMap<(String, RecordType), Merged<'a>> = BTreeMap::new();
        for item in items {
            match *item {
                Item::Replace { ep, old } => {
                    let rtype = physical_type(ep, zone_fqdn);
                    merged.entry((ep.dns_name.fqdn(), rtype)).or_default().replace.push(ep);
                    if let Some(old) = old {
                        let old_type = physical_type(old, zone_fqdn);
                        if old_type != rtype || old.dns_name != ep.dns_name {
                            merged.entry((old.dns_name.fqdn(), old_type)).or_default().delete.push(ep);
                        }
                    }
                }
                Item::Delete { ep } => {
                    merged.entry((ep.dns_name.fqdn(), physical_type(ep, zone_fqdn))).or_default().delete.push(ep);
                }
            }
        }

        let mut ops = Vec::with_capacity(merged.len());
        let mut scratch = Vec::new();
        for ((name, rtype), m) in merged {
            let (change, ttl, replacing, sources) = if m.replace.is_empty() {
                (ChangeType::Delete, 0, 0, m.delete)
            } else {
                let ttl = m.replace.iter().map(|e| e.ttl.0).find(|t| *t != 0).unwrap_or(default_ttl);
                let extra: Vec<&'a Endpoint> =
                    m.delete.into_iter().filter(|d| !m.replace.iter().any(|s| std::ptr::eq(*s, *d))).collect();
                let replacing = m.replace.len();
                let mut sources = m.replace;
                sources.extend(extra);
                (ChangeType::Replace, ttl, replacing, sources)
            };
            let mut op = Op { name, rtype, change, json_len: 0, ttl, sources, replacing, group: 0 };
            scratch.clear();
            op.write_json(&mut scratch);
            op.json_len = scratch.len();
            ops.push(op);
        }

        // Groups: names joined by "same name" (implicit: ops of one name share the node) and by
        // registry ownership (TXT ownedRecord → the owned name).
        let (group_of, mut groups) = group_changes(ops.iter().map(|op| (op.name.as_str(), op.sources.as_slice())));
        for (op, g) in ops.iter_mut().zip(group_of) {
            op.group = g;
        }
        for g in &mut groups {
            g.sort_by_key(|&i| ops[i].change); // stable: DELETEs first, order kept otherwise
        }
        ZoneBatch { ops, groups }
    }

    /// Size of a PATCH body holding `indices`.
    pub fn body_len(&self, indices: &[usize]) -> usize {
        BODY_HEAD.len()
            + BODY_TAIL.len()
            + indices.iter().map(|&i| self.ops[i].json_len).sum::<usize>()
            + indices.len().saturating_sub(1)
    }

    /// Packs groups, in order, into chunks whose body is at most `max_body` bytes. Each chunk
    /// lists its DELETEs first. A single rrset change bigger than the limit gets a chunk of its
    /// own (the server will refuse it, and it is reported).
    pub fn chunks(&self, max_body: usize) -> Vec<Vec<usize>> {
        let overhead = BODY_HEAD.len() + BODY_TAIL.len();
        let mut chunks: Vec<Vec<usize>> = Vec::new();
        let mut current: Vec<usize> = Vec::new();
        let mut size = overhead;
        let op_size = |i: usize| self.ops[i].json_len + 1; // with its comma
        // Every op is counted with a comma; the last one has none.
        let limit = max_body.saturating_add(1);
        for group in &self.groups {
            let group_size: usize = group.iter().map(|&i| op_size(i)).sum();
            if size + group_size <= limit {
                current.extend_from_slice(group);
                size += group_size;
                continue;
            }
            if !current.is_empty() {
                chunks.push(std::mem::take(&mut current));
                size = overhead;
            }
            if overhead + group_size <= limit {
                current.extend_from_slice(group);
                size += group_size;
                continue;
            }
            // A group larger than the limit: split it, keeping its order (DELETEs first).
            for &i in group {
                if !current.is_empty() && size + op_size(i) > limit {
                    chunks.push(std::mem::take(&mut current));
                    size = overhead;
                }
                current.push(i);
                size += op_size(i);
            }
        }
        if !current.is_empty() {
            chunks.push(current);
        }
        for chunk in &mut chunks {
            self.order(chunk);
        }
        chunks
    }

    /// DELETEs first, otherwise in the order given.
    pub fn order(&self, indices: &mut [usize]) {
        indices.sort_by_key(|&i| self.ops[i].change);
    }

    /// Splits a batch that PowerDNS refused in two halves to try apart: by groups when it holds
    /// more than one, so that a name's changes stay together; each half keeps DELETEs first.
    pub fn split(&self, batch: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let mut groups: Vec<usize> = Vec::new();
        for &i in batch {
            if !groups.contains(&self.ops[i].group) {
                groups.push(self.ops[i].group);
            }
            if groups.len() > 2 {
                break;
            }
        }
        if groups.len() >= 2 {
            let mut seen: Vec<usize> = Vec::new();
            let mut group_order: HashMap<usize, usize> = HashMap::new();
            for &i in batch {
                let g = self.ops[i].group;
                if let std::collections::hash_map::Entry::Vacant(v) = group_order.entry(g) {
                    v.insert(seen.len());
                    seen.push(g);
                }
            }
            let half = seen.len() / 2;
            let (mut a, mut b): (Vec<usize>, Vec<usize>) =
                batch.iter().partition(|&&i| group_order[&self.ops[i].group] < half);
            self.order(&mut a);
            self.order(&mut b);
            (a, b)
        } else {
            let mid = batch.len() / 2;
            (batch[..mid].to_vec(), batch[mid..].to_vec())
        }
    }

    /// The PATCH body for `indices`, in that order.
    pub fn body(&self, indices: &[usize]) -> Bytes {
        let mut body = Vec::with_capacity(self.body_len(indices));
        body.extend_from_slice(BODY_HEAD);
        for (n, &i) in indices.iter().enumerate() {
            if n > 0 {
                body.push(b',');
            }
            self.ops[i].write_json(&mut body);
        }
        body.extend_from_slice(BODY_TAIL);
        Bytes::from(body)
    }
}

impl Op<'_> {
    /// Appends this change as JSON: a DELETE, or a REPLACE with the targets of its endpoints,
    /// each content once, in order.
    fn write_json(&self, out: &mut Vec<u8>) {
        let (name, rtype) = (self.name.as_str(), self.rtype.as_str());
        // Writing plain strings and numbers into a Vec cannot fail.
        if self.change == ChangeType::Delete {
            let change = RRSetChange { name, rtype, changetype: ChangeType::Delete, ttl: None, records: None };
            let _ = serde_json::to_writer(out, &change);
            return;
        }
        let mut contents: Vec<std::borrow::Cow<'_, str>> = Vec::new();
        for ep in &self.sources[..self.replacing] {
            for t in ep.targets.iter() {
                let c = content(self.rtype, t);
                if !contents.contains(&c) {
                    contents.push(c);
                }
            }
        }
        let records = contents.iter().map(|c| RecordOut { content: c, disabled: false }).collect();
        let change =
            RRSetChange { name, rtype, changetype: ChangeType::Replace, ttl: Some(self.ttl), records: Some(records) };
        let _ = serde_json::to_writer(out, &change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exodns_core::Ttl;
    use exodns_core::endpoint::label;

    fn ep(name: &str, rt: RecordType, t: &str) -> Endpoint {
        Endpoint::parse(name, rt, &[t]).unwrap()
    }

    fn txt_for(owned: &str, name: &str) -> Endpoint {
        ep(name, RecordType::TXT, "\"heritage=external-dns,external-dns/owner=default\"")
            .with_label(label::OWNED_RECORD, owned)
    }

    fn body_str(b: &ZoneBatch<'_>, idx: &[usize]) -> String {
        String::from_utf8(b.body(idx).to_vec()).unwrap()
    }

    #[test]
    fn merges_duplicates_and_writes_absolute() {
        let a1 = ep("www.example.org", RecordType::A, "1.1.1.1").with_set_identifier("one");
        let a2 = ep("www.example.org", RecordType::A, "2.2.2.2").with_set_identifier("two").with_ttl(Ttl(60));
        let cname = ep("example.org", RecordType::CNAME, "lb.example.net");
        let items = [
            Item::Replace { ep: &a1, old: None },
            Item::Replace { ep: &a2, old: None },
            Item::Replace { ep: &cname, old: None },
        ];
        let b = ZoneBatch::build("example.org.", &items, 300);
        assert_eq!(b.ops.len(), 2);
        let body = body_str(&b, &[0, 1]);
        assert_eq!(
            body,
            r#"{"rrsets":[{"name":"example.org.","type":"ALIAS","changetype":"REPLACE","ttl":300,"records":[{"content":"lb.example.net.","disabled":false}]},{"name":"www.example.org.","type":"A","changetype":"REPLACE","ttl":60,"records":[{"content":"1.1.1.1","disabled":false},{"content":"2.2.2.2","disabled":false}]}]}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["rrsets"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn type_change_deletes_first_in_one_group() {
        let old = ep("x.example.org", RecordType::CNAME, "lb.example.net");
        let new = ep("x.example.org", RecordType::A, "1.1.1.1");
        let old_txt = txt_for("x.example.org", "cname-x.example.org");
        let new_txt = txt_for("x.example.org", "a-x.example.org");
        let other = ep("y.example.org", RecordType::A, "1.1.1.1");
        let items = [
            Item::Replace { ep: &new, old: None },
            Item::Replace { ep: &new_txt, old: None },
            Item::Replace { ep: &other, old: None },
            Item::Delete { ep: &old },
            Item::Delete { ep: &old_txt },
        ];
        let b = ZoneBatch::build("example.org.", &items, 300);
        assert_eq!(b.groups.len(), 2, "{:?}", b.groups);
        let x_group = b.groups.iter().find(|g| g.len() == 4).unwrap();
        let kinds: Vec<_> =
            x_group.iter().map(|&i| (b.ops[i].change, b.ops[i].name.as_str(), b.ops[i].rtype)).collect();
        assert_eq!(kinds[0].0, ChangeType::Delete);
        assert_eq!(kinds[1].0, ChangeType::Delete);
        assert!(kinds[2..].iter().all(|k| k.0 == ChangeType::Replace), "{kinds:?}");
        // A chunk limit that fits one group only: the x group stays whole and ordered.
        let limit = b.body_len(x_group);
        let chunks = b.chunks(limit);
        assert_eq!(chunks.len(), 2);
        for c in &chunks {
            let first_replace = c.iter().position(|&i| b.ops[i].change == ChangeType::Replace).unwrap_or(c.len());
            assert!(c[first_replace..].iter().all(|&i| b.ops[i].change == ChangeType::Replace));
            assert!(b.body_len(c) <= limit);
        }
    }

    #[test]
    fn alias_change_on_update_deletes_the_old_type() {
        let old = ep("w.example.org", RecordType::CNAME, "lb.example.net").with_property("alias", "true");
        let new = ep("w.example.org", RecordType::CNAME, "lb.example.net");
        let b = ZoneBatch::build("example.org.", &[Item::Replace { ep: &new, old: Some(&old) }], 300);
        let ops: Vec<_> = b.groups[0].iter().map(|&i| (b.ops[i].change, b.ops[i].rtype)).collect();
        assert_eq!(ops, vec![(ChangeType::Delete, RecordType::ALIAS), (ChangeType::Replace, RecordType::CNAME)]);
    }

    #[test]
    fn replace_wins_over_delete_of_the_same_rrset() {
        let del = ep("x.example.org", RecordType::A, "1.1.1.1").with_set_identifier("a");
        let rep = ep("x.example.org", RecordType::A, "2.2.2.2").with_set_identifier("b");
        let b =
            ZoneBatch::build("example.org.", &[Item::Delete { ep: &del }, Item::Replace { ep: &rep, old: None }], 300);
        assert_eq!(b.ops.len(), 1);
        assert_eq!(b.ops[0].change, ChangeType::Replace);
        assert_eq!(b.ops[0].sources.len(), 2);
    }

    #[test]
    fn chunks_respect_the_limit_and_keep_everything() {
        let eps: Vec<Endpoint> =
            (0..2000).map(|i| ep(&format!("h{i}.example.org"), RecordType::A, "10.0.0.1")).collect();
        let txts: Vec<Endpoint> =
            (0..2000).map(|i| txt_for(&format!("h{i}.example.org"), &format!("a-h{i}.example.org"))).collect();
        let items: Vec<Item<'_>> = eps.iter().chain(&txts).map(|e| Item::Replace { ep: e, old: None }).collect();
        let b = ZoneBatch::build("example.org.", &items, 300);
        assert_eq!(b.groups.len(), 2000);
        let chunks = b.chunks(20_000);
        assert!(chunks.len() > 10);
        let mut all: Vec<usize> = chunks.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..4000).collect::<Vec<_>>());
        for c in &chunks {
            assert!(b.body_len(c) <= 20_000);
            assert_eq!(b.body(c).len(), b.body_len(c));
            // each record with its ownership TXT
            let names: Vec<&str> = c.iter().map(|&i| b.ops[i].name.as_str()).collect();
            for n in names.iter().filter(|n| !n.starts_with("a-")) {
                assert!(names.contains(&format!("a-{n}").as_str()), "{n} without its TXT");
            }
        }
        assert_eq!(b.chunks(usize::MAX).len(), 1);
    }

    #[test]
    fn split_keeps_groups_together() {
        let old = ep("x.example.org", RecordType::CNAME, "lb.example.net");
        let new = ep("x.example.org", RecordType::A, "1.1.1.1");
        let others: Vec<Endpoint> =
            (0..5).map(|i| ep(&format!("o{i}.example.org"), RecordType::A, "1.1.1.1")).collect();
        let mut items = vec![Item::Delete { ep: &old }, Item::Replace { ep: &new, old: None }];
        items.extend(others.iter().map(|e| Item::Replace { ep: e, old: None }));
        let b = ZoneBatch::build("example.org.", &items, 300);
        let all = b.chunks(usize::MAX).remove(0);
        let (l, r) = b.split(&all);
        assert_eq!(l.len() + r.len(), all.len());
        let x_in_l = l.iter().filter(|&&i| b.ops[i].name == "x.example.org.").count();
        let x_in_r = r.iter().filter(|&&i| b.ops[i].name == "x.example.org.").count();
        assert!(x_in_l == 2 || x_in_r == 2);
        let single = b.groups.iter().find(|g| g.len() == 2).unwrap();
        let (l, r) = b.split(single);
        assert_eq!((l.len(), r.len()), (1, 1));
        assert_eq!(b.ops[l[0]].change, ChangeType::Delete);
    }
}
