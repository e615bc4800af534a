//! Reverse records: `--create-ptr` and the `record-type: ptr` annotation give every A and AAAA
//! record a PTR record per address, in the reverse zone (`in-addr.arpa`, `ip6.arpa`), as
//! upstream's PTR wrapper does. Installed only when PTR is a managed record type; then the
//! `record-type` property is consumed here and reaches no provider.

use std::collections::BTreeMap;
use std::net::IpAddr;

use exodns_core::target::Targets;
use exodns_core::{DnsName, Endpoint, RecordType, Ttl};

use crate::annotations::RECORD_TYPE;

/// The reverse name of an address: `4.3.2.1.in-addr.arpa`, or the 32 nibbles of an IPv6 address
/// under `ip6.arpa`.
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

/// Whether `ep` asks for reverse records: its `record-type` property when it has one (`ptr`
/// in any case: yes; anything else: no), else `default` (`--create-ptr`). The property is
/// removed from every endpoint, as upstream's wrapper removes it; on a record that cannot
/// have reverse records (not A/AAAA, or a wildcard) it is ignored.
fn wants_ptr(ep: &mut Endpoint, default: bool) -> bool {
    let asked = ep.property(RECORD_TYPE).map(|v| v.eq_ignore_ascii_case("ptr"));
    ep.remove_property(RECORD_TYPE);
    matches!(ep.record_type, RecordType::A | RecordType::AAAA) && !ep.dns_name.is_wildcard() && asked.unwrap_or(default)
}

/// The PTR records of `endpoints` (one object's): one per address, whose targets are the names
/// pointing at it, with the lowest TTL among them (unset counts as lowest, so `--min-ttl`
/// applies afterwards as to any record without one). They carry no labels: upstream's have no
/// `resource`, so the ownership TXT values match.
pub fn ptr_endpoints(endpoints: &mut [Endpoint], default: bool) -> Vec<Endpoint> {
    let mut by_ip: BTreeMap<IpAddr, (Vec<String>, Ttl)> = BTreeMap::new();
    for ep in endpoints.iter_mut() {
        if !wants_ptr(ep, default) {
            continue;
        }
        for ip in ep.targets.iter().filter_map(|t| t.parse::<IpAddr>().ok()) {
            let entry = by_ip.entry(ip).or_insert_with(|| (Vec::new(), ep.ttl));
            let name = ep.dns_name.to_string();
            if !entry.0.contains(&name) {
                entry.0.push(name);
            }
            entry.1 = entry.1.min(ep.ttl);
        }
    }
    by_ip
        .into_iter()
        .filter_map(|(ip, (mut names, ttl))| {
            let name = DnsName::parse(&reverse_name(ip)).ok()?;
            names.sort();
            Some(Endpoint::new(name, RecordType::PTR, Targets::new(names)).with_ttl(ttl))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(name: &str, rt: RecordType, targets: &[&str]) -> Endpoint {
        Endpoint::parse(name, rt, targets).unwrap()
    }

    #[test]
    fn reverse_names_as_dig_x() {
        assert_eq!(reverse_name("192.0.2.10".parse().unwrap()), "10.2.0.192.in-addr.arpa");
        assert_eq!(
            reverse_name("2001:db8::567:89ab".parse().unwrap()),
            "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
    }

    #[test]
    fn one_ptr_per_address_with_every_name_and_the_lowest_ttl() {
        let mut eps = vec![
            ep("b.example.org", RecordType::A, &["192.0.2.1"]).with_ttl(Ttl(300)),
            ep("a.example.org", RecordType::A, &["192.0.2.1", "192.0.2.2"]).with_ttl(Ttl(60)),
            ep("*.example.org", RecordType::A, &["192.0.2.1"]),
            ep("c.example.org", RecordType::CNAME, &["a.example.org"]).with_property("record-type", "ptr"),
            ep("v6.example.org", RecordType::AAAA, &["2001:db8::1"]).with_property("record-type", "none"),
        ];
        let got: Vec<(String, Vec<String>, u32)> = ptr_endpoints(&mut eps, true)
            .into_iter()
            .map(|e| (e.dns_name.to_string(), e.targets.to_vec(), e.ttl.0))
            .collect();
        assert_eq!(
            got,
            [
                ("1.2.0.192.in-addr.arpa".to_owned(), vec!["a.example.org".to_owned(), "b.example.org".to_owned()], 60),
                ("2.2.0.192.in-addr.arpa".to_owned(), vec!["a.example.org".to_owned()], 60),
            ]
        );
        assert!(eps.iter().all(|e| e.property("record-type").is_none()), "the property is consumed");
    }

    #[test]
    fn the_annotation_asks_without_the_flag() {
        let mut eps = vec![
            ep("a.example.org", RecordType::A, &["192.0.2.1"]).with_property("record-type", "PTR"),
            ep("b.example.org", RecordType::A, &["192.0.2.2"]),
        ];
        let got = ptr_endpoints(&mut eps, false);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].dns_name.as_str(), "1.2.0.192.in-addr.arpa");
        assert!(got[0].labels.get("resource").is_none());
    }
}
