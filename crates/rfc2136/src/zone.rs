//! What a zone holds, as last read by AXFR and since written: the base of every UPDATE's
//! prerequisites (so that a change never clobbers one made by someone else since the read), and
//! of the checks that refuse, before sending, what the server would silently drop.

use std::collections::{BTreeMap, HashMap};

use exodns_core::endpoint::canonical_targets;
use exodns_core::{DnsName, Endpoint, RecordType, Targets, Ttl};
use hickory_proto::rr::{DNSClass, Record, RecordType as WireType};

use crate::convert::{coexists_with_cname, exodns_type, target_text};

/// One record set as the zone holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rrset {
    pub ttl: u32,
    pub targets: Targets,
}

impl Rrset {
    /// Same TTL and the same set of targets.
    pub fn same(&self, other: &Rrset) -> bool {
        self.ttl == other.ttl && self.targets.same(&other.targets)
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ZoneState {
    /// The record sets exodns carries.
    pub rrsets: BTreeMap<(DnsName, RecordType), Rrset>,
    /// Names that also hold records exodns does not carry (SOA, HINFO, …): their types. They
    /// block a CNAME as much as any other record.
    pub others: HashMap<DnsName, Vec<String>>,
}

/// How a zone transfer was read.
#[derive(Debug, Default)]
pub(crate) struct ReadStats {
    /// Records left out: names or data exodns cannot parse.
    pub unreadable: usize,
    /// Records of a more specific configured zone (delegation NS and glue in the parent).
    pub other_zone: usize,
}

impl ZoneState {
    /// The state of a zone from its transfer; `in_zone` tells whether a name belongs to this
    /// zone rather than to a more specific configured one.
    pub fn from_transfer(records: &[Record], in_zone: impl Fn(&DnsName) -> bool) -> (ZoneState, ReadStats) {
        let mut state = ZoneState::default();
        let mut stats = ReadStats::default();
        let mut raw: BTreeMap<(DnsName, RecordType), (u32, Vec<String>)> = BTreeMap::new();
        for rec in records.iter().filter(|r| r.dns_class == DNSClass::IN) {
            let Ok(name) = DnsName::parse(&rec.name.to_ascii()) else {
                stats.unreadable += 1;
                tracing::debug!(name = %rec.name, "record name exodns cannot carry; skipped");
                continue;
            };
            if !in_zone(&name) {
                stats.other_zone += 1;
                continue;
            }
            let wt = rec.record_type();
            match exodns_type(wt) {
                Some(rt) => {
                    let entry = raw.entry((name, rt)).or_insert_with(|| (rec.ttl, Vec::new()));
                    entry.1.push(target_text(&rec.data));
                }
                None if coexists_with_cname(wt) => {}
                None => {
                    let types = state.others.entry(name).or_default();
                    let t = wt.to_string();
                    if !types.contains(&t) {
                        types.push(t);
                    }
                }
            }
        }
        for ((name, rt), (ttl, texts)) in raw {
            match canonical_targets(rt, texts.iter().map(String::as_str)) {
                Ok(targets) => {
                    state.rrsets.insert((name, rt), Rrset { ttl, targets });
                }
                Err(e) => {
                    stats.unreadable += texts.len();
                    tracing::warn!(%name, record_type = %rt, "cannot read record set, skipped: {e}");
                    state.others.entry(name).or_default().push(rt.to_string());
                }
            }
        }
        (state, stats)
    }

    /// The record sets as endpoints, sorted by name and type.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.rrsets
            .iter()
            .map(|((name, rt), rr)| Endpoint::new(name.clone(), *rt, rr.targets.clone()).with_ttl(Ttl(rr.ttl)))
            .collect()
    }

    pub fn get(&self, name: &DnsName, rt: RecordType) -> Option<&Rrset> {
        self.rrsets.get(&(name.clone(), rt))
    }

    /// Sets what the zone holds at (`name`, `rt`); `None`: nothing.
    pub fn set(&mut self, name: &DnsName, rt: RecordType, rrset: Option<Rrset>) {
        match rrset {
            Some(r) => {
                self.rrsets.insert((name.clone(), rt), r);
            }
            None => {
                self.rrsets.remove(&(name.clone(), rt));
            }
        }
    }

    /// Every type held at `name` (CNAME included), as text.
    pub fn types_at(&self, name: &DnsName) -> Vec<String> {
        let mut out: Vec<String> = self
            .rrsets
            .range((name.clone(), RecordType::ALL[0])..)
            .take_while(|((n, _), _)| n == name)
            .map(|((_, rt), _)| rt.to_string())
            .collect();
        out.extend(self.others.get(name).into_iter().flatten().cloned());
        out
    }

    /// Whether the zone holds a record of wire type `wt` (any) at `name`, for messages.
    pub fn has(&self, name: &DnsName, wt: WireType) -> bool {
        self.types_at(name).iter().any(|t| *t == wt.to_string())
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::rdata::{A, CNAME, HINFO, TXT};
    use hickory_proto::rr::{Name, RData};

    use super::*;

    fn rec(name: &str, ttl: u32, data: RData) -> Record {
        Record::from_rdata(Name::from_ascii(name).unwrap(), ttl, data)
    }

    #[test]
    fn a_transfer_becomes_record_sets() {
        let records = vec![
            rec("www.example.test.", 60, RData::A(A::new(192, 0, 2, 2))),
            rec("WWW.example.test.", 60, RData::A(A::new(192, 0, 2, 1))),
            rec("alias.example.test.", 300, RData::CNAME(CNAME(Name::from_ascii("LB.example.net.").unwrap()))),
            rec("a-www.example.test.", 0, RData::TXT(TXT::new(vec!["heritage=external-dns".into()]))),
            rec("host.example.test.", 300, RData::HINFO(HINFO::new("cpu".into(), "os".into()))),
            rec("ns1.sub.example.test.", 300, RData::A(A::new(192, 0, 2, 9))),
        ];
        let (state, stats) = ZoneState::from_transfer(&records, |n| !n.is_within("sub.example.test"));
        assert_eq!(stats.other_zone, 1);
        let eps = state.endpoints();
        let shown: Vec<String> = eps
            .iter()
            .map(|e| format!("{} {} {} {:?}", e.dns_name.as_str(), e.record_type, e.ttl.0, &e.targets[..]))
            .collect();
        assert_eq!(
            shown,
            [
                "a-www.example.test TXT 0 [\"\\\"heritage=external-dns\\\"\"]",
                "alias.example.test CNAME 300 [\"lb.example.net\"]",
                "www.example.test A 60 [\"192.0.2.2\", \"192.0.2.1\"]",
            ]
        );
        let host = DnsName::parse("host.example.test").unwrap();
        assert_eq!(state.types_at(&host), ["HINFO"]);
        assert!(state.has(&host, WireType::HINFO));
        assert_eq!(state.types_at(&DnsName::parse("www.example.test").unwrap()), ["A"]);
    }
}
