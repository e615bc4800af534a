//! Between Cloud DNS resource record sets and exodns endpoints.
//!
//! Cloud DNS keeps names absolute (`www.example.org.`), and host names in `rrdatas` absolute too;
//! exodns keeps both without the trailing dot. TXT `rrdatas` are in quoted presentation form on
//! both sides (`"heritage=external-dns,…"`), as upstream writes them.

use exodns_core::endpoint::canonical_targets;
use exodns_core::target::with_absolute_hosts;
use exodns_core::{DnsName, Endpoint, RecordType, Ttl};

use crate::model::RRSet;

/// TTL written for an endpoint without one (upstream's `defaultTTL`).
pub const DEFAULT_TTL: u32 = 300;

/// Why an rrset read from Cloud DNS is not returned as an endpoint.
#[derive(Debug, PartialEq, Eq)]
pub enum Skip {
    /// SOA, or a type exodns does not carry.
    Unmanaged,
    /// A routing policy (geo, weighted): no plain data to compare.
    RoutingPolicy,
    /// The name or a target does not parse.
    Unparsable(String),
}

/// Turns one rrset into an endpoint.
pub fn rrset_to_endpoint(rr: &RRSet) -> Result<Endpoint, Skip> {
    let rtype: RecordType = rr.rtype.parse().map_err(|_| Skip::Unmanaged)?;
    if !writable(rtype) {
        return Err(Skip::Unmanaged);
    }
    if rr.routing_policy.is_some() || rr.rrdatas.is_empty() {
        return Err(Skip::RoutingPolicy);
    }
    let name = DnsName::parse(&rr.name).map_err(|e| Skip::Unparsable(format!("name {:?}: {e}", rr.name)))?;
    let targets = canonical_targets(rtype, rr.rrdatas.iter().map(String::as_str))
        .map_err(|e| Skip::Unparsable(format!("{} {}: {e}", rr.name, rr.rtype)))?;
    let mut ep = Endpoint::new(name, rtype, targets).with_ttl(Ttl(rr.ttl));
    ep.spell(&rr.name, rr.rrdatas.iter().map(String::as_str));
    Ok(ep)
}

/// The rrset Cloud DNS is sent for `ep`.
pub fn endpoint_to_rrset(ep: &Endpoint) -> RRSet {
    RRSet {
        name: ep.dns_name.fqdn(),
        rtype: ep.record_type.as_str().to_owned(),
        ttl: if ep.ttl.is_set() { ep.ttl.0 } else { DEFAULT_TTL },
        rrdatas: ep.targets.iter().map(|t| with_absolute_hosts(ep.record_type, t).into_owned()).collect(),
        routing_policy: None,
    }
}

/// Types Cloud DNS holds and exodns writes (SOA is the zone's own).
pub fn writable(rtype: RecordType) -> bool {
    !matches!(rtype, RecordType::SOA | RecordType::ALIAS | RecordType::LUA | RecordType::DNAME)
}

/// Whether `rr` (as read) holds the same records as `ep`: then a deletion of `ep` sends `rr`
/// byte for byte, as Cloud DNS compares deletions with what it has.
pub fn same_records(rr: &RRSet, ep: &Endpoint) -> bool {
    rrset_to_endpoint(rr).is_ok_and(|cur| cur.ttl == ep.ttl && cur.targets.same(&ep.targets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(name: &str, rtype: &str, ttl: u32, data: &[&str]) -> RRSet {
        RRSet {
            name: name.into(),
            rtype: rtype.into(),
            ttl,
            rrdatas: data.iter().map(|s| (*s).to_owned()).collect(),
            routing_policy: None,
        }
    }

    #[test]
    fn reads_and_writes_the_same() {
        for (t, data) in [
            ("A", vec!["192.0.2.1", "192.0.2.2"]),
            ("AAAA", vec!["2001:db8::1"]),
            ("CNAME", vec!["lb.example.net."]),
            ("TXT", vec!["\"heritage=external-dns,external-dns/owner=o\""]),
            ("MX", vec!["10 mail.example.org."]),
            ("SRV", vec!["0 50 5060 sip.example.org."]),
            ("NS", vec!["ns1.example.net."]),
            ("CAA", vec!["0 issue \"letsencrypt.org\""]),
        ] {
            let r = rr("x.example.org.", t, 60, &data);
            let ep = rrset_to_endpoint(&r).unwrap();
            assert_eq!(ep.dns_name.as_str(), "x.example.org");
            assert_eq!(endpoint_to_rrset(&ep), r, "{t}");
            assert!(same_records(&r, &ep));
        }
    }

    #[test]
    fn defaults_and_skips() {
        let ep = Endpoint::parse("www.example.org", RecordType::CNAME, &["lb.example.net"]).unwrap();
        assert_eq!(endpoint_to_rrset(&ep), rr("www.example.org.", "CNAME", 300, &["lb.example.net."]));
        assert_eq!(rrset_to_endpoint(&rr("example.org.", "SOA", 1, &["a. b. 1 2 3 4 5"])), Err(Skip::Unmanaged));
        assert_eq!(rrset_to_endpoint(&rr("x.example.org.", "HINFO", 1, &["a b"])), Err(Skip::Unmanaged));
        let mut geo = rr("g.example.org.", "A", 1, &[]);
        geo.routing_policy = Some(serde_json::json!({"geo": {}}));
        assert_eq!(rrset_to_endpoint(&geo), Err(Skip::RoutingPolicy));
        assert!(matches!(rrset_to_endpoint(&rr("x.example.org.", "A", 1, &["nope"])), Err(Skip::Unparsable(_))));
        // A record read back with other spelling is still the same record.
        let upper = rr("x.example.org.", "CNAME", 60, &["LB.Example.net."]);
        let ep = Endpoint::parse("x.example.org", RecordType::CNAME, &["lb.example.net"]).unwrap().with_ttl(Ttl(60));
        assert!(same_records(&upper, &ep));
        assert!(!same_records(&upper, &ep.clone().with_ttl(Ttl(61))));
    }
}
