//! `--source=fake`: made-up endpoints for trying a provider without a cluster, shaped as
//! upstream's fake source makes them.
//!
//! The domains are the host names `--fqdn-template` gives for a Pod `fake` in namespace
//! `default` (`example.com` without a template). At every read, for each domain, one endpoint of
//! each record type upstream knows, in its order — A, AAAA, CNAME, TXT, SRV, NS, PTR, MX, NAPTR,
//! DNAME — with random four-letter names under the domain (the NS target three letters):
//!
//! - A and AAAA: `xxxx.<domain>`, as many addresses as there are domains, from 192.0.2.1–253
//!   (RFC 5737) and `2001:db8::<1–ffff>:<1–ffff>` (RFC 3849);
//! - CNAME and DNAME: `xxxx.<domain>` → `xxxx.<domain>`; TXT: `xxxx.<domain>` →
//!   `"heritage=external-dns,external-dns/owner=fake"`;
//! - SRV: `_sip._udp.<domain>` → `10 20 5060 xxxx.<domain>.`; NAPTR: `_sip._udp.<domain>` →
//!   `100 10 "u" "E2U+sip" "!^.*$!sip:info@<domain>!" .`;
//! - NS: `<domain>` → `xxx.<domain>`; MX: `<domain>` → `10 xxxx.<domain>`; PTR: the reverse name of
//!   a random 192.0.2.x address → `xxxx.<domain>`.
//!
//! Every endpoint has the set identifier `fake` and the `resource` label
//! `fake/default/<its name>`, and the names change at every read (every sync), as upstream's.
//! The random numbers are exodns's own, from a fixed seed: the same sequence at every start, not
//! upstream's (which comes from Go's `math/rand`).

use exodns_core::endpoint::label;
use exodns_core::source::SourceOutput;
use exodns_core::{Endpoint, ObjectRef, RecordType};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::config::SourceConfig;
use crate::direct::{Direct, ReadError, Reader};
use crate::error::Error;
use crate::template::TemplateInput;

/// The domain without `--fqdn-template`, as upstream's.
pub const DEFAULT_DOMAIN: &str = "example.com";
/// The set identifier, namespace and object name upstream gives every fake endpoint.
const FAKE: &str = "fake";
const NAMESPACE: &str = "default";
/// Upstream's seed (the sequence differs: see the module's documentation).
const SEED: u64 = 9673;

/// The `fake` source.
pub struct FakeSource {
    domains: Vec<String>,
    rng: SplitMix64,
}

impl Direct for FakeSource {
    const NAME: &'static str = FAKE;
    const READS: &'static str = "nothing: random endpoints under --fqdn-template's domains, new at every sync";

    fn reader(cfg: &SourceConfig) -> Result<Box<dyn Reader>, Error> {
        Ok(Box::new(FakeSource::new(cfg)))
    }
}

impl FakeSource {
    pub fn new(cfg: &SourceConfig) -> Self {
        let meta = ObjectMeta { name: Some(FAKE.into()), namespace: Some(NAMESPACE.into()), ..Default::default() };
        let mut domains = cfg
            .fqdn_template
            .as_ref()
            .map(|t| {
                t.hostnames(&TemplateInput { source: FAKE, kind: "Pod", api_version: "v1", metadata: &meta, raw: None })
            })
            .unwrap_or_default();
        if domains.is_empty() {
            domains.push(DEFAULT_DOMAIN.into());
        }
        FakeSource { domains, rng: SplitMix64(SEED) }
    }

    fn letters(&mut self, n: usize, domain: &str) -> String {
        let mut s: String = (0..n).map(|_| char::from(b'a' + self.rng.below(26) as u8)).collect();
        s.push('.');
        s.push_str(domain);
        s
    }

    fn ipv4(&mut self) -> String {
        format!("192.0.2.{}", self.rng.below(253) + 1)
    }

    fn ipv6(&mut self) -> String {
        format!("2001:db8::{:x}:{:x}", self.rng.below(0xffff) + 1, self.rng.below(0xffff) + 1)
    }

    /// Name, type and targets of one endpoint of each type for `domain`.
    fn records(&mut self, domain: &str) -> Vec<(String, RecordType, Vec<String>)> {
        let n = self.domains.len();
        let mut out = Vec::with_capacity(10);
        let a = (0..n).map(|_| self.ipv4()).collect();
        out.push((self.letters(4, domain), RecordType::A, a));
        let aaaa = (0..n).map(|_| self.ipv6()).collect();
        out.push((self.letters(4, domain), RecordType::AAAA, aaaa));
        let (name, target) = (self.letters(4, domain), self.letters(4, domain));
        out.push((name, RecordType::CNAME, vec![target]));
        let txt = r#""heritage=external-dns,external-dns/owner=fake""#.to_owned();
        out.push((self.letters(4, domain), RecordType::TXT, vec![txt]));
        let srv = format!("10 20 5060 {}.", self.letters(4, domain));
        out.push((format!("_sip._udp.{domain}"), RecordType::SRV, vec![srv]));
        let ns = self.letters(3, domain);
        out.push((domain.to_owned(), RecordType::NS, vec![ns]));
        let (name, ip) = (self.letters(4, domain), self.ipv4());
        out.push((reverse_v4(&ip), RecordType::PTR, vec![name]));
        let mx = format!("10 {}", self.letters(4, domain));
        out.push((domain.to_owned(), RecordType::MX, vec![mx]));
        let naptr = format!(r#"100 10 "u" "E2U+sip" "!^.*$!sip:info@{domain}!" ."#);
        out.push((format!("_sip._udp.{domain}"), RecordType::NAPTR, vec![naptr]));
        let (name, target) = (self.letters(4, domain), self.letters(4, domain));
        out.push((name, RecordType::DNAME, vec![target]));
        out
    }
}

/// `4.2.0.192.in-addr.arpa` for `192.0.2.4`.
fn reverse_v4(ip: &str) -> String {
    let mut parts: Vec<&str> = ip.split('.').collect();
    parts.reverse();
    format!("{}.in-addr.arpa", parts.join("."))
}

impl Reader for FakeSource {
    fn object(&self) -> ObjectRef {
        ObjectRef::cluster(FAKE, FAKE)
    }

    fn read(&mut self) -> Result<SourceOutput, ReadError> {
        let mut out = SourceOutput::default();
        for domain in self.domains.clone() {
            for (name, rt, targets) in self.records(&domain) {
                // Made here from names this source chose: a domain the template gave that is
                // not a DNS name is the one thing that can fail, reported as refused input.
                let raw: Vec<&str> = targets.iter().map(String::as_str).collect();
                match Endpoint::parse(&name, rt, &raw) {
                    Ok(ep) => {
                        let resource = ObjectRef::namespaced(FAKE, NAMESPACE, ep.dns_name.as_str()).resource_label();
                        let mut ep = ep.with_set_identifier(FAKE.to_owned());
                        ep.labels.insert(label::RESOURCE.to_owned(), resource);
                        // Upstream sends SRV and NAPTR hosts as written (absolute).
                        ep.spell(&name, raw);
                        out.endpoints.push(ep);
                    }
                    Err(e) => out.invalid.push(e.at("--fqdn-template").on(&self.object())),
                }
            }
        }
        Ok(out)
    }
}

/// SplitMix64: a small, fixed, well-mixed generator (no cryptographic use).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (the slight bias of a modulo does not matter here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceFlags;

    fn fake(templates: &[&str]) -> FakeSource {
        let f = SourceFlags { fqdn_template: templates.iter().map(|t| t.to_string()).collect(), ..Default::default() };
        FakeSource::new(&SourceConfig::new(&f).unwrap())
    }

    /// The name with its random first label (letters, or a PTR name's last octet) as `?`.
    fn masked(name: &str) -> String {
        let (first, rest) = name.split_once('.').unwrap_or((name, ""));
        let random = (3..=4).contains(&first.len()) && first.bytes().all(|b| b.is_ascii_lowercase())
            || rest.ends_with("in-addr.arpa") && first.bytes().all(|b| b.is_ascii_digit());
        if random { format!("?.{rest}") } else { name.to_owned() }
    }

    /// Upstream's shape: one endpoint of each type per domain, set identifier and resource label,
    /// A and AAAA with one address per domain.
    #[test]
    fn shape_as_upstream() {
        let mut f = fake(&[]);
        let out = f.read().unwrap();
        assert!(out.invalid.is_empty(), "{:?}", out.invalid);
        let got: Vec<(String, RecordType, usize)> =
            out.endpoints.iter().map(|e| (masked(e.dns_name.as_str()), e.record_type, e.targets.len())).collect();
        let want = |n: &str, t, k| (n.to_owned(), t, k);
        assert_eq!(
            got,
            [
                want("?.example.com", RecordType::A, 1),
                want("?.example.com", RecordType::AAAA, 1),
                want("?.example.com", RecordType::CNAME, 1),
                want("?.example.com", RecordType::TXT, 1),
                want("_sip._udp.example.com", RecordType::SRV, 1),
                want("example.com", RecordType::NS, 1),
                want("?.2.0.192.in-addr.arpa", RecordType::PTR, 1),
                want("example.com", RecordType::MX, 1),
                want("_sip._udp.example.com", RecordType::NAPTR, 1),
                want("?.example.com", RecordType::DNAME, 1),
            ]
        );
        for ep in &out.endpoints {
            assert_eq!(ep.set_identifier, "fake");
            assert_eq!(ep.resource(), Some(format!("fake/default/{}", ep.dns_name).as_str()));
        }
        let a = &out.endpoints[0].targets[0];
        assert!(a.starts_with("192.0.2.") && a != "192.0.2.0" && a != "192.0.2.255", "{a}");
        assert!(out.endpoints[1].targets[0].starts_with("2001:db8::"));
        let srv = out.endpoints.iter().find(|e| e.record_type == RecordType::SRV).unwrap();
        assert!(srv.wire_targets()[0].ends_with(".example.com."), "{:?}", srv.wire_targets());
    }

    /// New names at every read; the same sequence at every start.
    #[test]
    fn names_change_at_every_read_from_a_fixed_start() {
        let names = |o: SourceOutput| o.endpoints.into_iter().map(|e| e.dns_name.to_string()).collect::<Vec<_>>();
        let (mut one, mut two) = (fake(&[]), fake(&[]));
        let first = names(one.read().unwrap());
        assert_eq!(first, names(two.read().unwrap()));
        assert_ne!(first, names(one.read().unwrap()));
    }

    /// Domains from the template rendered for Pod default/fake; A and AAAA records get one
    /// address per domain.
    #[test]
    fn domains_from_the_template() {
        let mut f = fake(&["{{.Name}}.one.example.org,{{.Namespace}}.two.example.org"]);
        assert_eq!(f.domains, ["default.two.example.org", "fake.one.example.org"]);
        let out = f.read().unwrap();
        assert_eq!(out.endpoints.len(), 20);
        assert!(out.endpoints.iter().filter(|e| e.record_type == RecordType::A).all(|e| e.targets.len() == 2));
        let mut bad = fake(&["{{.Name}}..example.org"]);
        let out = bad.read().unwrap();
        assert!(out.endpoints.iter().all(|e| e.record_type == RecordType::PTR), "{:?}", out.endpoints);
        assert!(out.invalid[0].to_string().starts_with("fake/fake: --fqdn-template"), "{}", out.invalid[0]);
    }
}
