//! What upstream's source wrappers do to every endpoint after its source made it, in upstream's
//! order: `--nat64-networks` adds an A record beside each AAAA record in a NAT64 prefix;
//! `--target-net-filter` / `--exclude-target-net` keep the targets in (and not in) the given
//! networks; `--create-ptr` adds reverse records (see [`crate::ptr`]); `--min-ttl` gives a TTL to records that have none; `--prefer-alias` marks CNAME
//! records `alias=true` where no `alias` annotation decided. The wrappers act on each
//! endpoint alone, so exodns applies them per object, where the manifest reader and the cluster
//! watches both take an object's endpoints ([`endpoints_of`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use exodns_core::target::Targets;
use exodns_core::{Endpoint, RecordType, Ttl};

use crate::annotations::ALIAS as ALIAS_PROPERTY;
use crate::cluster::ClusterView;
use crate::config::SourceConfig;
use crate::error::Error;
use crate::kind::Source;
use exodns_core::source::SourceOutput;

/// An IP network (`10.0.0.0/8`, `64:ff9b::/96`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    bits: u8,
}

impl IpNet {
    /// Parses a CIDR; `flag` names where it came from in the error.
    pub fn parse(flag: &'static str, s: &str) -> Result<IpNet, Error> {
        let bad = |why: &str| Error::config(flag, format!("{s:?} is not a network ({why}; e.g. 10.0.0.0/8)"));
        let (addr, bits) = s.trim().split_once('/').ok_or_else(|| bad("no /prefix length"))?;
        let addr: IpAddr = addr.parse().map_err(|_| bad("not an IP address"))?;
        let bits: u8 = bits.parse().map_err(|_| bad("the prefix length is not a number"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if bits > max {
            return Err(bad("the prefix length is too long"));
        }
        Ok(IpNet { addr, bits })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let masked = |a: u128, width: u8| if self.bits == 0 { 0 } else { a >> (width - self.bits) };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => masked(u32::from(n).into(), 32) == masked(u32::from(a).into(), 32),
            (IpAddr::V6(n), IpAddr::V6(a)) => masked(u128::from(n), 128) == masked(u128::from(a), 128),
            _ => false,
        }
    }
}

/// The checked flags of the wrappers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostProcess {
    pub nat64_networks: Vec<IpNet>,
    pub target_net_filter: Vec<IpNet>,
    pub exclude_target_net: Vec<IpNet>,
    pub min_ttl: Ttl,
    pub prefer_alias: bool,
    /// `Some(--create-ptr)` when PTR is a managed record type (upstream installs its PTR
    /// wrapper only then); `None`: no reverse records, and `record-type` stays a property.
    pub ptr: Option<bool>,
}

fn nets(flag: &'static str, values: &[String]) -> Result<Vec<IpNet>, Error> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| IpNet::parse(flag, v))
        .collect()
}

impl PostProcess {
    pub fn new(
        nat64_networks: &[String],
        target_net_filter: &[String],
        exclude_target_net: &[String],
        min_ttl: std::time::Duration,
    ) -> Result<Self, Error> {
        let nat64_networks = nets("--nat64-networks", nat64_networks)?;
        if let Some(n) = nat64_networks.iter().find(|n| n.addr.is_ipv4() || n.bits != 96) {
            return Err(Error::config(
                "--nat64-networks",
                format!("{}/{} is not an IPv6 /96 prefix (as upstream requires)", n.addr, n.bits),
            ));
        }
        let seconds = min_ttl.as_secs();
        let min_ttl = if seconds == 0 {
            Ttl::default()
        } else {
            Ttl::checked(i64::try_from(seconds).unwrap_or(i64::MAX))
                .map_err(|e| Error::config("--min-ttl", e.to_string()))?
        };
        Ok(PostProcess {
            nat64_networks,
            target_net_filter: nets("--target-net-filter", target_net_filter)?,
            exclude_target_net: nets("--exclude-target-net", exclude_target_net)?,
            min_ttl,
            prefer_alias: false,
            ptr: None,
        })
    }

    /// Whether a target passes the net filters. As upstream: with a `--target-net-filter`, a
    /// target that is not an IP address (a CNAME's host name) does not pass; an exclusion never
    /// matches one.
    fn keeps(&self, target: &str) -> bool {
        let ip = target.parse::<IpAddr>().ok();
        let within = |nets: &[IpNet]| ip.is_some_and(|ip| nets.iter().any(|n| n.contains(ip)));
        (self.target_net_filter.is_empty() || within(&self.target_net_filter)) && !within(&self.exclude_target_net)
    }

    /// The A record upstream's NAT64 wrapper adds for an AAAA record: the last 32 bits of each
    /// target in a NAT64 prefix.
    fn nat64(&self, ep: &Endpoint) -> Option<Endpoint> {
        if ep.record_type != RecordType::AAAA {
            return None;
        }
        let v4: Vec<String> = ep
            .targets
            .iter()
            .filter_map(|t| t.parse::<Ipv6Addr>().ok())
            .filter(|ip| self.nat64_networks.iter().any(|n| n.contains(IpAddr::V6(*ip))))
            .map(|ip| Ipv4Addr::from(u32::try_from(u128::from(ip) & 0xffff_ffff).unwrap()).to_string())
            .collect();
        if v4.is_empty() {
            return None;
        }
        let mut a = ep.clone();
        a.record_type = RecordType::A;
        a.targets = Targets::new(v4);
        a.spelling = Default::default();
        Some(a)
    }

    pub fn is_noop(&self) -> bool {
        *self == PostProcess::default()
    }

    /// Applies the wrappers to one object's output.
    pub fn apply(&self, out: SourceOutput) -> SourceOutput {
        if self.is_noop() {
            return out;
        }
        let SourceOutput { mut endpoints, invalid } = out;
        let added: Vec<Endpoint> = endpoints.iter().filter_map(|ep| self.nat64(ep)).collect();
        // The candidates upstream's planner drops later, which its PTR wrapper still sees.
        let mut dropped = Vec::new();
        for a in added {
            // Upstream appends the A record unmerged; beside an A record of the same name its
            // planner then keeps one of the two, the lesser set of targets (fewer first).
            match endpoints.iter_mut().find(|e| e.key() == a.key()) {
                Some(existing) if a.targets.is_less(&existing.targets) => dropped.push(std::mem::replace(existing, a)),
                Some(_) => dropped.push(a),
                None => endpoints.push(a),
            }
        }
        if !self.target_net_filter.is_empty() || !self.exclude_target_net.is_empty() {
            endpoints.retain_mut(|ep| {
                if ep.targets.iter().any(|t| !self.keeps(t)) {
                    ep.targets.edit(|t| t.retain(|t| self.keeps(t)));
                }
                !ep.targets.is_empty()
            });
        }
        let mut merge = false;
        if let Some(default) = self.ptr {
            let kept = endpoints.len();
            endpoints.extend(dropped);
            let ptrs = crate::ptr::ptr_endpoints(&mut endpoints, default);
            endpoints.truncate(kept);
            merge |= !ptrs.is_empty();
            endpoints.extend(ptrs);
        }
        if self.min_ttl.is_set() {
            for ep in endpoints.iter_mut().filter(|ep| !ep.ttl.is_set()) {
                ep.ttl = self.min_ttl;
            }
        }
        if self.prefer_alias {
            for ep in endpoints.iter_mut().filter(|ep| ep.record_type == RecordType::CNAME) {
                if ep.property(ALIAS_PROPERTY).is_none() {
                    ep.set_property(ALIAS_PROPERTY, "true");
                }
            }
        }
        let out = SourceOutput { endpoints, invalid };
        // An added PTR record may share its name with one the object made.
        if merge { out.merged() } else { out }
    }
}

/// The endpoints of one object of source `S`, after the wrappers.
pub fn endpoints_of<S: Source>(object: &S::Object, view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
    cfg.post.apply(S::endpoints(object, view, cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(nat64: &[&str], filter: &[&str], exclude: &[&str], min_ttl: u64) -> PostProcess {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        PostProcess::new(&v(nat64), &v(filter), &v(exclude), std::time::Duration::from_secs(min_ttl)).unwrap()
    }

    fn ep(name: &str, rt: RecordType, targets: &[&str]) -> Endpoint {
        Endpoint::parse(name, rt, targets).unwrap()
    }

    fn run(p: &PostProcess, eps: Vec<Endpoint>) -> Vec<(String, RecordType, Vec<String>, u32)> {
        let out = p.apply(SourceOutput { endpoints: eps, invalid: Vec::new() });
        out.endpoints
            .into_iter()
            .map(|e| (e.dns_name.to_string(), e.record_type, e.targets.to_vec(), e.ttl.0))
            .collect()
    }

    #[test]
    fn networks_parse_and_contain() {
        let n = IpNet::parse("--x", "10.1.0.0/16").unwrap();
        assert!(n.contains("10.1.255.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(!n.contains("::1".parse().unwrap()));
        assert!(IpNet::parse("--x", "0.0.0.0/0").unwrap().contains("192.0.2.1".parse().unwrap()));
        assert!(IpNet::parse("--x", "2001:db8::/32").unwrap().contains("2001:db8:1::5".parse().unwrap()));
        for bad in ["10.0.0.0", "10.0.0.0/33", "x/8", "10.0.0.0/a"] {
            let e = IpNet::parse("--target-net-filter", bad).unwrap_err().to_string();
            assert!(e.starts_with("--target-net-filter") && e.contains(bad), "{e}");
        }
        let e = PostProcess::new(&["64:ff9b::/64".into()], &[], &[], Default::default()).unwrap_err().to_string();
        assert!(e.starts_with("--nat64-networks") && e.contains("/96"), "{e}");
    }

    #[test]
    fn nat64_adds_an_a_record_for_addresses_in_the_prefix() {
        let p = post(&["64:ff9b::/96"], &[], &[], 0);
        let got = run(&p, vec![ep("v6.example.org", RecordType::AAAA, &["64:ff9b::c000:201", "2001:db8::1"])]);
        let a = got.iter().find(|e| e.1 == RecordType::A).expect("an A record");
        assert_eq!(*a, ("v6.example.org".into(), RecordType::A, vec!["192.0.2.1".into()], 0));
        let aaaa = got.iter().find(|e| e.1 == RecordType::AAAA).unwrap();
        assert_eq!(aaaa.2.len(), 2, "the AAAA record keeps both addresses");
        assert_eq!(run(&p, vec![ep("o.example.org", RecordType::AAAA, &["2001:db8::1"])]).len(), 1);
        // Beside an A record of the object, the lesser of the two stays, as upstream's planner
        // picks one of two candidates.
        let v6 = ep("d.example.org", RecordType::AAAA, &["64:ff9b::c000:20b"]);
        let a_of = |got: Vec<(String, RecordType, Vec<String>, u32)>| {
            got.into_iter().filter(|e| e.1 == RecordType::A).map(|e| e.2).collect::<Vec<_>>()
        };
        let native = ep("d.example.org", RecordType::A, &["192.0.2.10"]);
        assert_eq!(a_of(run(&p, vec![native, v6.clone()])), [vec!["192.0.2.10".to_owned()]]);
        let two = ep("d.example.org", RecordType::A, &["192.0.2.1", "192.0.2.2"]);
        assert_eq!(a_of(run(&p, vec![two, v6])), [vec!["192.0.2.11".to_owned()]], "fewer targets win");
    }

    #[test]
    fn target_filters_as_upstream() {
        let p = post(&[], &["10.0.0.0/8"], &["10.9.0.0/16"], 0);
        let got = run(
            &p,
            vec![
                ep("a.example.org", RecordType::A, &["10.1.0.1", "10.9.0.1", "192.0.2.1"]),
                ep("b.example.org", RecordType::A, &["192.0.2.2"]),
                ep("c.example.org", RecordType::CNAME, &["lb.example.net"]),
            ],
        );
        assert_eq!(got, [("a.example.org".into(), RecordType::A, vec!["10.1.0.1".into()], 0)]);
        let only_exclude = post(&[], &[], &["10.0.0.0/8"], 0);
        let got = run(&only_exclude, vec![ep("c.example.org", RecordType::CNAME, &["lb.example.net"])]);
        assert_eq!(got.len(), 1, "an exclusion keeps host names");
    }

    #[test]
    fn prefer_alias_marks_cnames_without_an_alias_decision() {
        let p = PostProcess { prefer_alias: true, ..PostProcess::default() };
        let out = p.apply(SourceOutput {
            endpoints: vec![
                ep("c.example.org", RecordType::CNAME, &["lb.example.net"]),
                ep("d.example.org", RecordType::CNAME, &["lb.example.net"]).with_property("alias", "false"),
                ep("a.example.org", RecordType::A, &["192.0.2.1"]),
            ],
            invalid: Vec::new(),
        });
        let alias: Vec<Option<&str>> = out.endpoints.iter().map(|e| e.property("alias")).collect();
        assert_eq!(alias, [Some("true"), Some("false"), None]);
    }

    #[test]
    fn min_ttl_fills_unset_ttls_only() {
        let p = post(&[], &[], &[], 120);
        let got = run(
            &p,
            vec![
                ep("a.example.org", RecordType::A, &["192.0.2.1"]),
                ep("b.example.org", RecordType::A, &["192.0.2.2"]).with_ttl(Ttl(30)),
            ],
        );
        assert_eq!((got[0].3, got[1].3), (120, 30));
    }
}
