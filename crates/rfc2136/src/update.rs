//! From a zone's share of a change set to UPDATE messages.
//!
//! 1. Changes to one record set (name, type) merge into one operation: what the zone holds
//!    (its [`ZoneState`]) becomes what it should hold. An operation that changes nothing is
//!    dropped.
//! 2. Operations are grouped: those at one name (a CNAME and anything else there conflict), and
//!    an ownership TXT (label `ownedRecord`) with the record it owns, so that a record is never
//!    written without its ownership. A group goes in one message, which the server applies
//!    whole or not at all.
//! 3. What the server would accept and silently drop is refused before sending (RFC 2136
//!    §3.4.2.2: a CNAME added beside other records, or a record beside a CNAME).
//! 4. Each operation carries its prerequisites: the record set exactly as read (RRset exists,
//!    value dependent) or its absence (RRset does not exist), and for a new CNAME that its name
//!    is not in use. A record changed by someone else since the read fails the message instead
//!    of being overwritten.
//! 5. Groups are packed, in order, into messages of at most `--rfc2136-batch-change-size`
//!    record sets and under 64 KB.

use std::collections::HashMap;

use exodns_core::endpoint::label;
use exodns_core::{DnsName, Endpoint, RecordType};
use exodns_provider::grouping::group_changes;
use hickory_proto::op::update_message::UpdateMessage;
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType as WireType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use crate::config::Rfc2136Config;
use crate::convert::{fqdn, rdata, wire_type};
use crate::zone::{Rrset, ZoneState};

/// Room kept in a message for the header, the zone section and the TSIG record.
pub(crate) const MESSAGE_OVERHEAD: usize = 1024;

/// What the change set asks for one endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Item<'a> {
    /// A create, or the new state of an update.
    Put(&'a Endpoint),
    Delete(&'a Endpoint),
}

impl<'a> Item<'a> {
    fn endpoint(self) -> &'a Endpoint {
        match self {
            Item::Put(ep) | Item::Delete(ep) => ep,
        }
    }
}

/// One record set to change.
#[derive(Debug)]
pub(crate) struct Op<'a> {
    pub name: DnsName,
    pub rtype: RecordType,
    /// What the zone holds, as last read or written.
    pub current: Option<Rrset>,
    /// What it should hold.
    pub desired: Option<Rrset>,
    /// The endpoints that asked for it: they are the ones reported if it fails.
    pub sources: Vec<&'a Endpoint>,
    pub group: usize,
    prereqs: Vec<Record>,
    deletes: Vec<Record>,
    adds: Vec<Record>,
    /// Bytes in a message at most (names uncompressed).
    size: usize,
}

/// A zone's operations, grouped, and what was refused before sending.
#[derive(Debug, Default)]
pub(crate) struct ZonePlan<'a> {
    pub ops: Vec<Op<'a>>,
    /// Op indices per group, in order.
    pub groups: Vec<Vec<usize>>,
    /// Endpoints refused before sending, with the reason.
    pub refused: Vec<(&'a Endpoint, String)>,
    /// Operations dropped because the zone already holds what they ask for.
    pub unchanged: usize,
}

impl<'a> ZonePlan<'a> {
    /// Plans `items` against `state`.
    pub fn build(items: &[Item<'a>], state: &ZoneState, cfg: &Rfc2136Config) -> ZonePlan<'a> {
        let mut plan = ZonePlan::default();
        let mut ops = merge(items, state, cfg);
        let before = ops.len();
        ops.retain(|op| match (&op.current, &op.desired) {
            (None, None) => false,
            (Some(c), Some(d)) => !c.same(d),
            _ => true,
        });
        plan.unchanged = before - ops.len();

        // Groups: same name, and ownership TXT → owned name.
        let (group_of, mut groups) = group_changes(ops.iter().map(|op| (op.name.as_str(), op.sources.as_slice())));
        for (op, g) in ops.iter_mut().zip(group_of) {
            op.group = g;
        }

        // What the server would drop, and what cannot be encoded, refuses its whole group.
        let mut removed: HashMap<DnsName, Vec<RecordType>> = HashMap::new();
        for op in ops.iter().filter(|o| o.desired.is_none()) {
            removed.entry(op.name.clone()).or_default().push(op.rtype);
        }
        let mut refusal: Vec<Option<String>> = vec![None; groups.len()];
        for op in &mut ops {
            let gone = removed.get(&op.name).map(Vec::as_slice).unwrap_or_default();
            let reason = conflict(op, gone, state).or_else(|| encode(op, gone, state).err());
            if let Some(reason) = reason {
                refusal[op.group].get_or_insert(reason);
            }
        }
        for (g, members) in groups.iter_mut().enumerate() {
            if let Some(reason) = &refusal[g] {
                for &i in members.iter() {
                    let op = &ops[i];
                    for src in &op.sources {
                        plan.refused.push((src, reason.clone()));
                    }
                }
                members.clear();
            }
        }
        plan.ops = ops;
        plan.groups = groups.into_iter().filter(|g| !g.is_empty()).collect();
        plan
    }

    /// Number of endpoints behind the ops of `groups`.
    pub fn changes(&self, groups: &[usize]) -> usize {
        groups.iter().flat_map(|&g| &self.groups[g]).map(|&i| self.ops[i].sources.len()).sum()
    }

    /// Packs the groups, in order, into batches of at most `max_changes` endpoints and
    /// `max_bytes`; a group that alone exceeds them is a batch of its own.
    pub fn batches(&self, max_changes: usize, max_bytes: usize) -> Vec<Vec<usize>> {
        let budget = max_bytes.saturating_sub(MESSAGE_OVERHEAD);
        let mut out: Vec<Vec<usize>> = Vec::new();
        let (mut current, mut changes, mut bytes) = (Vec::new(), 0usize, 0usize);
        for g in 0..self.groups.len() {
            let c = self.changes(&[g]);
            let b: usize = self.groups[g].iter().map(|&i| self.ops[i].size).sum();
            if !current.is_empty() && (changes + c > max_changes || bytes + b > budget) {
                out.push(std::mem::take(&mut current));
                (changes, bytes) = (0, 0);
            }
            current.push(g);
            changes += c;
            bytes += b;
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }

    /// The UPDATE message for `groups` of zone `zone`: every prerequisite, then every
    /// deletion, then every addition.
    pub fn message(&self, zone: &Name, groups: &[usize]) -> Message {
        let mut msg = Message::new(rand::random(), MessageType::Query, OpCode::Update);
        msg.add_zone(Query::query(zone.clone(), WireType::SOA));
        let ops = || groups.iter().flat_map(|&g| &self.groups[g]).map(|&i| &self.ops[i]);
        for op in ops() {
            msg.add_pre_requisites(op.prereqs.iter().cloned());
        }
        for op in ops() {
            msg.add_updates(op.deletes.iter().cloned());
        }
        for op in ops() {
            msg.add_updates(op.adds.iter().cloned());
        }
        msg
    }

    /// A message that takes back what ops `ops` just created, if it is still as written: for an
    /// ownership TXT whose record the server dropped.
    pub fn withdrawal(&self, zone: &Name, ops: &[usize]) -> Result<Message, String> {
        let mut msg = Message::new(rand::random(), MessageType::Query, OpCode::Update);
        msg.add_zone(Query::query(zone.clone(), WireType::SOA));
        for &i in ops {
            let op = &self.ops[i];
            let (Some(want), Some(wt)) = (&op.desired, wire_type(op.rtype)) else { continue };
            let name = fqdn(op.name.as_str())?;
            for t in want.targets.iter() {
                msg.add_pre_requisite(Record::from_rdata(name.clone(), 0, rdata(op.rtype, t)?));
            }
            msg.add_update(class(Record::update0(name, 0, wt), DNSClass::ANY));
        }
        Ok(msg)
    }

    /// Ownership TXT ops among `ops` that own the record of op `owned` and created their record
    /// set (nothing was there before).
    pub fn ownership_of(&self, ops: &[usize], owned: usize) -> Vec<usize> {
        let target = &self.ops[owned];
        ops.iter()
            .copied()
            .filter(|&i| {
                let op = &self.ops[i];
                op.rtype == RecordType::TXT
                    && op.current.is_none()
                    && op.group == target.group
                    && op.sources.iter().any(|s| {
                        s.labels
                            .get(label::OWNED_RECORD)
                            .and_then(|o| DnsName::parse(o).ok())
                            .is_some_and(|o| o == target.name)
                    })
            })
            .collect()
    }

    /// The ops of `groups`, by index.
    pub fn op_indices(&self, groups: &[usize]) -> Vec<usize> {
        groups.iter().flat_map(|&g| self.groups[g].iter().copied()).collect()
    }
}

/// One op per (name, type); Puts union their targets.
fn merge<'a>(items: &[Item<'a>], state: &ZoneState, cfg: &Rfc2136Config) -> Vec<Op<'a>> {
    let mut index: HashMap<(DnsName, RecordType), usize> = HashMap::new();
    let mut ops: Vec<Op<'a>> = Vec::new();
    for item in items {
        let ep = item.endpoint();
        let key = (ep.dns_name.clone(), ep.record_type);
        let i = *index.entry(key).or_insert_with(|| {
            ops.push(Op {
                name: ep.dns_name.clone(),
                rtype: ep.record_type,
                current: state.get(&ep.dns_name, ep.record_type).cloned(),
                desired: None,
                sources: Vec::new(),
                group: 0,
                prereqs: Vec::new(),
                deletes: Vec::new(),
                adds: Vec::new(),
                size: 0,
            });
            ops.len() - 1
        });
        let op = &mut ops[i];
        op.sources.push(ep);
        if let Item::Put(ep) = item {
            let min = u32::try_from(cfg.min_ttl.as_secs()).unwrap_or(u32::MAX);
            // No TTL asked for: the record keeps the one it has.
            let ttl = match (&op.current, ep.ttl.0) {
                (Some(cur), 0) => cur.ttl.max(min),
                (_, t) => cfg.ttl_for(t),
            };
            let desired = op.desired.get_or_insert_with(|| Rrset { ttl, targets: Default::default() });
            desired.targets.edit(|d| {
                for t in ep.targets.iter() {
                    if !d.iter().any(|d| d.eq_ignore_ascii_case(t)) {
                        d.push(t.to_owned());
                    }
                }
            });
        }
    }
    ops
}

/// Why the server would silently drop `op` (RFC 2136 §3.4.2.2), if it would; `removed`: the
/// types the plan removes at its name.
fn conflict(op: &Op<'_>, removed: &[RecordType], state: &ZoneState) -> Option<String> {
    op.desired.as_ref()?;
    let removed: Vec<String> = removed.iter().map(|t| t.to_string()).collect();
    let staying: Vec<String> = state.types_at(&op.name).into_iter().filter(|t| !removed.contains(t)).collect();
    if op.rtype == RecordType::CNAME {
        let others: Vec<&String> = staying.iter().filter(|t| *t != "CNAME").collect();
        if !others.is_empty() {
            let list = others.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
            return Some(format!(
                "{} holds {list} record(s) that exodns does not remove, and a CNAME cannot sit beside other records \
                 (the server would accept the UPDATE and silently drop the CNAME)",
                op.name.as_str()
            ));
        }
    } else if staying.iter().any(|t| t == "CNAME") {
        return Some(format!(
            "{} holds a CNAME that exodns does not remove, and no other record can sit beside a CNAME \
             (the server would accept the UPDATE and silently drop the {})",
            op.name.as_str(),
            op.rtype
        ));
    }
    None
}

/// Encodes `op`'s prerequisites and updates; `removed`: the types the plan removes at its name.
fn encode(op: &mut Op<'_>, removed: &[RecordType], state: &ZoneState) -> Result<(), String> {
    let name = fqdn(op.name.as_str())?;
    let rtype = op.rtype;
    let wt = wire_type(rtype).ok_or_else(|| format!("a {rtype} record cannot be written to an RFC2136 server"))?;
    let removes_any = !removed.is_empty();
    let cname_removed = removed.contains(&RecordType::CNAME);
    let mut prereqs = Vec::new();
    let mut deletes = Vec::new();
    let mut adds = Vec::new();
    let records = |rr: &Rrset, ttl: u32| -> Result<Vec<Record>, String> {
        rr.targets.iter().map(|t| rdata(rtype, t).map(|d| Record::from_rdata(name.clone(), ttl, d))).collect()
    };
    match &op.current {
        // RRset exists (value dependent): exactly what was read (RFC 2136 §2.4.2).
        Some(cur) => {
            prereqs.extend(records(cur, 0)?);
            deletes.push(class(Record::update0(name.clone(), 0, wt), DNSClass::ANY));
        }
        // RRset does not exist (§2.4.3).
        None => {
            prereqs.push(class(Record::update0(name.clone(), 0, wt), DNSClass::NONE));
            if op.desired.is_some() {
                if rtype == RecordType::CNAME && !removes_any {
                    // Name is not in use (§2.4.5): nothing appeared beside the new CNAME.
                    prereqs.push(class(Record::update0(name.clone(), 0, WireType::ANY), DNSClass::NONE));
                } else if rtype != RecordType::CNAME && !cname_removed && !state.has(&op.name, WireType::CNAME) {
                    // No CNAME appeared at the name since the read.
                    prereqs.push(class(Record::update0(name.clone(), 0, WireType::CNAME), DNSClass::NONE));
                }
            }
        }
    }
    if let Some(want) = &op.desired {
        adds.extend(records(want, want.ttl)?);
    }
    let size = prereqs.iter().chain(&deletes).chain(&adds).map(wire_len).sum();
    (op.prereqs, op.deletes, op.adds, op.size) = (prereqs, deletes, adds, size);
    Ok(())
}

fn class(mut r: Record, c: DNSClass) -> Record {
    r.dns_class = c;
    r
}

/// A record's length in a message, its name uncompressed.
fn wire_len(r: &Record) -> usize {
    let mut buf = Vec::with_capacity(64);
    let mut enc = BinEncoder::new(&mut buf);
    match r.emit(&mut enc) {
        Ok(()) => buf.len(),
        // Cannot happen for records built from valid data; count it as a whole message so
        // that it travels alone.
        Err(_) => crate::config::MAX_MESSAGE,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use exodns_core::Ttl;

    use super::*;
    use crate::config::MAX_MESSAGE;

    fn cfg() -> Rfc2136Config {
        Rfc2136Config::new(vec!["h".into()], vec!["example.test".into()], None)
    }

    fn ep(name: &str, rt: RecordType, targets: &[&str]) -> Endpoint {
        Endpoint::parse(name, rt, targets).unwrap()
    }

    fn owner_txt(name: &str, owned: &str) -> Endpoint {
        ep(name, RecordType::TXT, &["\"heritage=external-dns,external-dns/owner=default\""])
            .with_label(label::OWNED_RECORD, owned)
    }

    fn state(records: &[(&str, RecordType, &[&str])]) -> ZoneState {
        let mut s = ZoneState::default();
        for (n, rt, t) in records {
            let e = ep(n, *rt, t);
            s.set(&e.dns_name, *rt, Some(Rrset { ttl: 60, targets: e.targets }));
        }
        s
    }

    fn shown(msg: &Message) -> (Vec<String>, Vec<String>) {
        let show = |rs: &[Record]| {
            rs.iter().map(|r| format!("{} {} {} {}", r.name, r.dns_class, r.record_type(), r.data)).collect()
        };
        (show(msg.prerequisites()), show(msg.updates()))
    }

    #[test]
    fn a_create_with_its_ownership_is_one_group_guarded_by_absence() {
        let a = ep("www.example.test", RecordType::A, &["192.0.2.1"]).with_ttl(Ttl(60));
        let txt = owner_txt("a-www.example.test", "www.example.test");
        let items = [Item::Put(&a), Item::Put(&txt)];
        let plan = ZonePlan::build(&items, &ZoneState::default(), &cfg());
        assert!(plan.refused.is_empty());
        assert_eq!(plan.groups, [vec![0, 1]]);
        let (pre, upd) = shown(&plan.message(&fqdn("example.test").unwrap(), &[0]));
        assert_eq!(
            pre,
            [
                "www.example.test. NONE A UPDATE",
                "www.example.test. NONE CNAME UPDATE",
                "a-www.example.test. NONE TXT UPDATE",
                "a-www.example.test. NONE CNAME UPDATE",
            ]
        );
        assert_eq!(
            upd,
            [
                "www.example.test. IN A 192.0.2.1",
                "a-www.example.test. IN TXT heritage=external-dns,external-dns/owner=default"
            ]
        );
    }

    #[test]
    fn an_update_is_guarded_by_what_was_read() {
        let s = state(&[("www.example.test", RecordType::A, &["192.0.2.1", "192.0.2.2"])]);
        let new = ep("www.example.test", RecordType::A, &["192.0.2.3"]);
        let plan = ZonePlan::build(&[Item::Put(&new)], &s, &cfg());
        let msg = plan.message(&fqdn("example.test").unwrap(), &[0]);
        let (pre, upd) = shown(&msg);
        assert_eq!(pre, ["www.example.test. IN A 192.0.2.1", "www.example.test. IN A 192.0.2.2"]);
        assert_eq!(upd, ["www.example.test. ANY A UPDATE", "www.example.test. IN A 192.0.2.3"]);
        assert!(msg.prerequisites().iter().all(|r| r.ttl == 0));
        assert_eq!(msg.updates()[1].ttl, 60, "no TTL asked: the record keeps its own");
    }

    #[test]
    fn what_the_server_would_drop_is_refused_with_its_group() {
        let s = state(&[("www.example.test", RecordType::A, &["192.0.2.1"])]);
        let cname = ep("www.example.test", RecordType::CNAME, &["lb.example.net"]);
        let txt = owner_txt("cname-www.example.test", "www.example.test");
        let other = ep("ok.example.test", RecordType::A, &["192.0.2.9"]);
        let plan = ZonePlan::build(&[Item::Put(&cname), Item::Put(&txt), Item::Put(&other)], &s, &cfg());
        assert_eq!(plan.refused.len(), 2, "the CNAME and its ownership TXT");
        assert!(plan.refused[0].1.contains("holds A record(s)"), "{}", plan.refused[0].1);
        assert_eq!(plan.groups.len(), 1);
        assert_eq!(plan.ops[plan.groups[0][0]].name.as_str(), "ok.example.test");

        // A → CNAME in one change: the A goes in the same message.
        let old_a = ep("www.example.test", RecordType::A, &["192.0.2.1"]);
        let plan = ZonePlan::build(&[Item::Delete(&old_a), Item::Put(&cname)], &s, &cfg());
        assert!(plan.refused.is_empty(), "{:?}", plan.refused);
        let (_, upd) = shown(&plan.message(&fqdn("example.test").unwrap(), &[0]));
        assert_eq!(upd, ["www.example.test. ANY A UPDATE", "www.example.test. IN CNAME lb.example.net."]);

        let s = state(&[("alias.example.test", RecordType::CNAME, &["lb.example.net"])]);
        let a = ep("alias.example.test", RecordType::A, &["192.0.2.1"]);
        let plan = ZonePlan::build(&[Item::Put(&a)], &s, &cfg());
        assert!(plan.refused[0].1.contains("holds a CNAME"), "{:?}", plan.refused);
        let alias = ep("x.example.test", RecordType::ALIAS, &["lb.example.net"]);
        let plan = ZonePlan::build(&[Item::Put(&alias)], &s, &cfg());
        assert!(plan.refused[0].1.contains("cannot be written"), "{:?}", plan.refused);
    }

    #[test]
    fn a_new_cname_needs_its_name_free() {
        let cname = ep("new.example.test", RecordType::CNAME, &["lb.example.net"]);
        let plan = ZonePlan::build(&[Item::Put(&cname)], &ZoneState::default(), &cfg());
        let (pre, _) = shown(&plan.message(&fqdn("example.test").unwrap(), &[0]));
        assert_eq!(pre, ["new.example.test. NONE CNAME UPDATE", "new.example.test. NONE ANY UPDATE"]);
    }

    #[test]
    fn nothing_to_do_is_dropped() {
        let s = state(&[("www.example.test", RecordType::A, &["192.0.2.1"])]);
        let same = ep("www.example.test", RecordType::A, &["192.0.2.1"]);
        let gone = ep("gone.example.test", RecordType::A, &["192.0.2.1"]);
        let plan = ZonePlan::build(&[Item::Put(&same), Item::Delete(&gone)], &s, &cfg());
        assert!(plan.groups.is_empty());
        assert_eq!(plan.unchanged, 2);
    }

    #[test]
    fn batches_respect_count_and_size() {
        let eps: Vec<Endpoint> =
            (0..10).map(|i| ep(&format!("h{i}.example.test"), RecordType::A, &["192.0.2.1"])).collect();
        let items: Vec<Item<'_>> = eps.iter().map(Item::Put).collect();
        let plan = ZonePlan::build(&items, &ZoneState::default(), &cfg());
        assert_eq!(plan.batches(3, MAX_MESSAGE).iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 3, 1]);

        // 2 000 long TXT values do not fit one message: the batches stay under 64 KB on the wire.
        let value = format!("\"{}\"", "v".repeat(200));
        let eps: Vec<Endpoint> =
            (0..2000).map(|i| ep(&format!("t{i}.example.test"), RecordType::TXT, &[value.as_str()])).collect();
        let items: Vec<Item<'_>> = eps.iter().map(Item::Put).collect();
        let plan = ZonePlan::build(&items, &ZoneState::default(), &cfg());
        let batches = plan.batches(usize::MAX, MAX_MESSAGE);
        assert!(batches.len() > 1);
        for b in &batches {
            let wire = plan.message(&fqdn("example.test").unwrap(), b).to_vec().unwrap();
            assert!(wire.len() + MESSAGE_OVERHEAD / 2 < MAX_MESSAGE, "{} bytes", wire.len());
        }
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 2000);
    }

    #[test]
    fn min_ttl_applies_to_writes() {
        let mut c = cfg();
        c.min_ttl = Duration::from_secs(120);
        let a = ep("www.example.test", RecordType::A, &["192.0.2.1"]).with_ttl(Ttl(30));
        let plan = ZonePlan::build(&[Item::Put(&a)], &ZoneState::default(), &c);
        assert_eq!(plan.ops[0].desired.as_ref().unwrap().ttl, 120);
    }
}
