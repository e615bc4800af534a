//! Between Route 53 record sets and exodns endpoints: names, alias records, routing policies
//! (the `aws/*` provider-specific properties upstream uses), and upstream's `AdjustEndpoints`.

use exodns_core::endpoint::canonical_targets;
use exodns_core::{DnsName, Endpoint, RecordType, Targets, Ttl};

use crate::alias_zones::CANONICAL_ZONES;
use crate::model::{
    AliasTarget, Coordinates, GeoLocation, GeoProximityLocation, ResourceRecord, ResourceRecordSet, ResourceRecords,
    unescape_name,
};

/// TTL written when an endpoint has none, and given to alias records (which have none).
pub const DEFAULT_TTL: u32 = 300;

pub const ALIAS: &str = "alias";
pub const TARGET_HOSTED_ZONE: &str = "aws/target-hosted-zone";
pub const HOSTED_ZONE_ID: &str = "aws/hosted-zone-id";
pub const EVALUATE_TARGET_HEALTH: &str = "aws/evaluate-target-health";
pub const WEIGHT: &str = "aws/weight";
pub const REGION: &str = "aws/region";
pub const FAILOVER: &str = "aws/failover";
pub const GEO_CONTINENT: &str = "aws/geolocation-continent-code";
pub const GEO_COUNTRY: &str = "aws/geolocation-country-code";
pub const GEO_SUBDIVISION: &str = "aws/geolocation-subdivision-code";
pub const GEOPROX_REGION: &str = "aws/geoproximity-region";
pub const GEOPROX_BIAS: &str = "aws/geoproximity-bias";
pub const GEOPROX_COORDINATES: &str = "aws/geoproximity-coordinates";
pub const GEOPROX_LOCAL_ZONE_GROUP: &str = "aws/geoproximity-local-zone-group";
pub const MULTI_VALUE_ANSWER: &str = "aws/multi-value-answer";
pub const HEALTH_CHECK_ID: &str = "aws/health-check-id";

/// Alias target zone meaning "the zone the record is written to" (filled in per zone).
pub const SAME_ZONE: &str = "same-zone";

/// The record types read from Route 53 (upstream's list for AWS); others are left alone.
pub fn is_supported(rt: &str) -> bool {
    matches!(rt, "A" | "AAAA" | "CNAME" | "SRV" | "TXT" | "NS" | "MX" | "NAPTR")
}

/// The hosted zone of an AWS endpoint host name (an ELB, CloudFront, …), if it is one.
pub fn canonical_hosted_zone(host: &str) -> Option<&'static str> {
    let host = host.trim_end_matches('.');
    let labels: Vec<&str> = host.split('.').collect();
    // The shortest matching suffix of two labels or more, as upstream looks them up.
    for i in (0..labels.len().saturating_sub(1)).rev() {
        let suffix = labels[i..].join(".");
        if let Ok(pos) = CANONICAL_ZONES.binary_search_by(|(s, _)| s.cmp(&suffix.as_str())) {
            return Some(CANONICAL_ZONES[pos].1);
        }
    }
    if host.ends_with(".amazonaws.com") {
        tracing::warn!(target = %host, "no known hosted zone for this AWS host name (a new region?); not an alias");
    }
    None
}

/// Why a record set read from Route 53 gives no endpoint.
#[derive(Debug, PartialEq, Eq)]
pub enum Skip {
    /// SOA, and types exodns does not manage in Route 53.
    Unsupported,
    /// The name or a value does not parse.
    Unparsable(String),
}

/// Turns a record set into its endpoint (upstream's `records()`).
pub fn rrset_to_endpoint(rr: &ResourceRecordSet) -> Result<Endpoint, Skip> {
    if !is_supported(&rr.rtype) {
        return Err(Skip::Unsupported);
    }
    let rt: RecordType = rr.rtype.parse().map_err(|_| Skip::Unsupported)?;
    let raw_name = unescape_name(&rr.name);
    let name = DnsName::parse(&raw_name).map_err(|e| Skip::Unparsable(format!("name {raw_name:?}: {e}")))?;
    let ttl = rr.ttl.and_then(|t| u32::try_from(t).ok()).unwrap_or(0);
    let mut ep = if let Some(alias) = &rr.alias_target {
        let target = unescape_name(&alias.dns_name);
        let target = target.trim_end_matches('.').to_ascii_lowercase();
        if target.is_empty() {
            return Err(Skip::Unparsable("alias target is empty".into()));
        }
        // An alias A/AAAA carries a host name: built directly, since an A target is otherwise
        // an address.
        let mut ep =
            Endpoint::new(name, rt, Targets::new(vec![target])).with_ttl(Ttl(if ttl == 0 { DEFAULT_TTL } else { ttl }));
        ep.set_property(EVALUATE_TARGET_HEALTH, if alias.evaluate_target_health { "true" } else { "false" });
        ep.set_property(ALIAS, "true");
        ep
    } else {
        let targets = canonical_targets(rt, rr.values()).map_err(|e| Skip::Unparsable(e.to_string()))?;
        let mut ep = Endpoint::new(name, rt, targets).with_ttl(Ttl(ttl));
        if rt == RecordType::CNAME {
            ep.set_property(ALIAS, "false");
        }
        ep
    };
    if let Some(id) = rr.set_identifier.as_deref().filter(|s| !s.is_empty()) {
        ep.set_identifier = id.to_owned();
        if let Some(w) = rr.weight {
            ep.set_property(WEIGHT, w.to_string());
        } else if let Some(r) = rr.region.as_deref().filter(|s| !s.is_empty()) {
            ep.set_property(REGION, r);
        } else if let Some(f) = rr.failover.as_deref().filter(|s| !s.is_empty()) {
            ep.set_property(FAILOVER, f);
        } else if rr.multi_value_answer == Some(true) {
            ep.set_property(MULTI_VALUE_ANSWER, "");
        } else if let Some(g) = &rr.geo_location {
            if let Some(c) = &g.continent_code {
                ep.set_property(GEO_CONTINENT, c);
            } else {
                if let Some(c) = &g.country_code {
                    ep.set_property(GEO_COUNTRY, c);
                }
                if let Some(s) = &g.subdivision_code {
                    ep.set_property(GEO_SUBDIVISION, s);
                }
            }
        } else if let Some(g) = &rr.geo_proximity_location {
            if let Some(r) = g.aws_region.as_deref().filter(|s| !s.is_empty()) {
                ep.set_property(GEOPROX_REGION, r);
            }
            if let Some(b) = g.bias {
                ep.set_property(GEOPROX_BIAS, b.to_string());
            }
            if let Some(c) = &g.coordinates {
                ep.set_property(GEOPROX_COORDINATES, format!("{},{}", c.latitude, c.longitude));
            }
            if let Some(l) = g.local_zone_group.as_deref().filter(|s| !s.is_empty()) {
                ep.set_property(GEOPROX_LOCAL_ZONE_GROUP, l);
            }
        }
    }
    if let Some(h) = rr.health_check_id.as_deref().filter(|s| !s.is_empty()) {
        ep.set_property(HEALTH_CHECK_ID, h);
    }
    Ok(ep)
}

/// The alias target zone of `ep`, when it is to be written as an alias record: its
/// `aws/target-hosted-zone`, else the zone of its AWS target, else [`SAME_ZONE`].
pub fn alias_target_zone(ep: &Endpoint) -> Option<String> {
    let alias = ep.property(ALIAS).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !alias || !matches!(ep.record_type, RecordType::A | RecordType::AAAA) {
        return None;
    }
    let target = ep.targets.iter().next()?;
    if let Some(z) = ep.property(TARGET_HOSTED_ZONE) {
        return Some(crate::model::clean_zone_id(z).to_owned());
    }
    Some(canonical_hosted_zone(target).unwrap_or(SAME_ZONE).to_owned())
}

/// Options of [`to_rrset`] from the flags.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// `--aws-evaluate-target-health`: the default of alias records.
    pub evaluate_target_health: bool,
}

/// The record set for `ep` (upstream's `newChange`), or why it cannot be written: a routing
/// property with a bad value is refused here, naming the property, rather than written as
/// something else (upstream turns a bad weight into 0).
pub fn to_rrset(ep: &Endpoint, opts: WriteOptions) -> Result<ResourceRecordSet, String> {
    let mut rr = ResourceRecordSet {
        name: ep.dns_name.as_str().to_owned(),
        rtype: ep.record_type.as_str().to_owned(),
        ..ResourceRecordSet::default()
    };
    if let Some(zone) = alias_target_zone(ep) {
        let evaluate = match ep.property(EVALUATE_TARGET_HEALTH) {
            Some(v) => parse_bool(v).ok_or_else(|| format!("{EVALUATE_TARGET_HEALTH} {v:?} is not true or false"))?,
            None => opts.evaluate_target_health,
        };
        rr.alias_target = Some(AliasTarget {
            hosted_zone_id: zone,
            dns_name: ep.targets.iter().next().unwrap_or_default().to_owned(),
            evaluate_target_health: evaluate,
        });
    } else {
        let ttl = if ep.ttl.is_set() { ep.ttl.0 } else { DEFAULT_TTL };
        rr.ttl = Some(i64::from(ttl));
        rr.resource_records = Some(ResourceRecords {
            items: ep.targets.iter().map(|t| ResourceRecord { value: t.to_owned() }).collect(),
        });
    }
    if !ep.set_identifier.is_empty() {
        rr.set_identifier = Some(ep.set_identifier.clone());
    }
    if let Some(w) = ep.property(WEIGHT) {
        let weight: i64 = w
            .trim()
            .parse()
            .ok()
            .filter(|w| (0..=255).contains(w))
            .ok_or_else(|| format!("{WEIGHT} {w:?} is not a weight (a whole number from 0 to 255)"))?;
        rr.weight = Some(weight);
    }
    if let Some(r) = ep.property(REGION) {
        rr.region = Some(r.to_owned());
    }
    if let Some(f) = ep.property(FAILOVER) {
        if !matches!(f, "PRIMARY" | "SECONDARY") {
            return Err(format!("{FAILOVER} {f:?} is not PRIMARY or SECONDARY"));
        }
        rr.failover = Some(f.to_owned());
    }
    if ep.property(MULTI_VALUE_ANSWER).is_some() {
        rr.multi_value_answer = Some(true);
    }
    if let Some(c) = ep.property(GEO_CONTINENT) {
        rr.geo_location = Some(GeoLocation { continent_code: Some(c.to_owned()), ..GeoLocation::default() });
    } else if ep.property(GEO_COUNTRY).is_some() || ep.property(GEO_SUBDIVISION).is_some() {
        rr.geo_location = Some(GeoLocation {
            continent_code: None,
            country_code: ep.property(GEO_COUNTRY).map(str::to_owned),
            subdivision_code: ep.property(GEO_SUBDIVISION).map(str::to_owned),
        });
    }
    rr.geo_proximity_location = geo_proximity(ep)?;
    if let Some(h) = ep.property(HEALTH_CHECK_ID) {
        rr.health_check_id = Some(h.to_owned());
    }
    Ok(rr)
}

fn geo_proximity(ep: &Endpoint) -> Result<Option<GeoProximityLocation>, String> {
    let mut g = GeoProximityLocation::default();
    let mut set = false;
    if let Some(r) = ep.property(GEOPROX_REGION) {
        g.aws_region = Some(r.to_owned());
        set = true;
    }
    if let Some(c) = ep.property(GEOPROX_COORDINATES) {
        let (lat, long) =
            c.split_once(',').ok_or_else(|| format!("{GEOPROX_COORDINATES} {c:?} is not \"latitude,longitude\""))?;
        let ok = |v: &str, limit: f64| v.trim().parse::<f64>().is_ok_and(|x| (-limit..=limit).contains(&x));
        if !ok(lat, 90.0) || !ok(long, 180.0) {
            return Err(format!("{GEOPROX_COORDINATES} {c:?}: latitude must be within ±90 and longitude within ±180"));
        }
        g.coordinates = Some(Coordinates { latitude: lat.trim().to_owned(), longitude: long.trim().to_owned() });
        set = true;
    }
    if let Some(l) = ep.property(GEOPROX_LOCAL_ZONE_GROUP) {
        g.local_zone_group = Some(l.to_owned());
        set = true;
    }
    if let Some(b) = ep.property(GEOPROX_BIAS) {
        let bias: i32 = b
            .trim()
            .parse()
            .ok()
            .filter(|b| (-99..=99).contains(b))
            .ok_or_else(|| format!("{GEOPROX_BIAS} {b:?} is not a bias (a whole number from -99 to 99)"))?;
        g.bias = Some(bias);
        set = true;
    }
    Ok(set.then_some(g))
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "t" => Some(true),
        "false" | "0" | "f" => Some(false),
        _ => None,
    }
}

/// Whether an update of `old` to `new` must be a DELETE and a CREATE (upstream's
/// `requiresDeleteCreate`): another type, alias ↔ plain A, another set identifier, or another
/// kind of routing policy.
pub fn requires_delete_create(old: &Endpoint, new: &Endpoint) -> bool {
    if old.record_type != new.record_type || old.set_identifier != new.set_identifier {
        return true;
    }
    if old.record_type == RecordType::A && old.property(ALIAS) != new.property(ALIAS) {
        return true;
    }
    [WEIGHT, REGION, FAILOVER, GEO_CONTINENT, GEO_COUNTRY, GEO_SUBDIVISION]
        .iter()
        .any(|p| old.property(p).is_some() != new.property(p).is_some())
}

/// Upstream's `AdjustEndpoints` for AWS: desired endpoints in the form [`rrset_to_endpoint`]
/// reads them back, so the planner compares like with like. A CNAME to an AWS endpoint becomes
/// an alias A (and AAAA) record unless `prefer_cname`.
pub fn adjust_endpoints(endpoints: Vec<Endpoint>, prefer_cname: bool, evaluate_target_health: bool) -> Vec<Endpoint> {
    let mut extra = Vec::new();
    let mut out = endpoints;
    for ep in &mut out {
        match ep.record_type {
            RecordType::A | RecordType::AAAA => {
                if ep.property(ALIAS) == Some("true") {
                    adjust_alias(ep, evaluate_target_health);
                } else {
                    ep.remove_property(ALIAS);
                    ep.remove_property(EVALUATE_TARGET_HEALTH);
                }
                adjust_geo_proximity(ep);
            }
            RecordType::CNAME => {
                if !matches!(ep.property(ALIAS), Some("true" | "false" | "A" | "AAAA")) {
                    let alias = !prefer_cname && ep.targets.iter().next().and_then(canonical_hosted_zone).is_some();
                    ep.set_property(ALIAS, if alias { "true" } else { "false" });
                }
                match ep.property(ALIAS) {
                    Some("true") => {
                        ep.record_type = RecordType::A;
                        adjust_alias(ep, evaluate_target_health);
                        adjust_geo_proximity(ep);
                        let mut aaaa = ep.clone();
                        aaaa.record_type = RecordType::AAAA;
                        extra.push(aaaa);
                        continue;
                    }
                    Some("A") => {
                        ep.record_type = RecordType::A;
                        adjust_alias(ep, evaluate_target_health);
                    }
                    Some("AAAA") => {
                        ep.record_type = RecordType::AAAA;
                        adjust_alias(ep, evaluate_target_health);
                    }
                    _ => ep.remove_property(EVALUATE_TARGET_HEALTH),
                }
                adjust_geo_proximity(ep);
            }
            _ => {}
        }
    }
    out.append(&mut extra);
    out
}

fn adjust_alias(ep: &mut Endpoint, default_evaluate: bool) {
    if ep.ttl.is_set() {
        ep.ttl = Ttl(DEFAULT_TTL);
    }
    let value = match ep.property(EVALUATE_TARGET_HEALTH).and_then(parse_bool) {
        Some(v) => v,
        None => default_evaluate,
    };
    ep.set_property(EVALUATE_TARGET_HEALTH, if value { "true" } else { "false" });
}

/// A geoproximity record without a bias reads back with bias 0: say so on the desired side.
fn adjust_geo_proximity(ep: &mut Endpoint) {
    if ep.set_identifier.is_empty() {
        return;
    }
    let located =
        [GEOPROX_REGION, GEOPROX_LOCAL_ZONE_GROUP, GEOPROX_COORDINATES].iter().any(|p| ep.property(p).is_some());
    if located && ep.property(GEOPROX_BIAS).is_none() {
        ep.set_property(GEOPROX_BIAS, "0");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(name: &str, rt: RecordType, t: &[&str]) -> Endpoint {
        Endpoint::parse(name, rt, t).unwrap()
    }

    /// What the planner compares: targets, TTL and the provider-specific properties as a set.
    fn same(a: &Endpoint, b: &Endpoint) -> bool {
        let props = |e: &Endpoint| {
            let mut p: Vec<(String, String)> =
                e.provider_specific.iter().map(|p| (p.name.clone(), p.value.clone())).collect();
            p.sort();
            p
        };
        a.targets.same(&b.targets) && (!b.ttl.is_set() || a.ttl == b.ttl) && props(a) == props(b) && a.key() == b.key()
    }

    const OPTS: WriteOptions = WriteOptions { evaluate_target_health: true };

    #[test]
    fn table_is_sorted_and_finds_load_balancers() {
        assert!(CANONICAL_ZONES.windows(2).all(|w| w[0].0 < w[1].0), "sorted for binary search");
        assert_eq!(canonical_hosted_zone("abc-123.us-east-1.elb.amazonaws.com"), Some("Z35SXDOTRQ7X7K"));
        assert_eq!(canonical_hosted_zone("dualstack.abc.eu-west-1.elb.amazonaws.com."), Some("Z32O12XQLNTSW2"));
        assert_eq!(canonical_hosted_zone("net-1.elb.us-east-1.amazonaws.com"), Some("Z26RNL4JYFTOTI"));
        assert_eq!(canonical_hosted_zone("d111111abcdef8.cloudfront.net"), Some("Z2FDTNDATAQYW2"));
        assert_eq!(canonical_hosted_zone("bucket.s3-website-us-east-1.amazonaws.com"), Some("Z3AQBSTGFYJSTF"));
        assert_eq!(canonical_hosted_zone("bucket.s3-website.eu-central-1.amazonaws.com"), Some("Z21DNDUVLTQW6Q"));
        assert_eq!(canonical_hosted_zone("lb.example.net"), None);
    }

    #[test]
    fn cname_to_an_elb_becomes_alias_a_and_aaaa() {
        let out = adjust_endpoints(
            vec![
                ep("lb.example.org", RecordType::CNAME, &["x.us-east-1.elb.amazonaws.com"]).with_ttl(Ttl(60)),
                ep("c.example.org", RecordType::CNAME, &["other.example.net"]),
                ep("a.example.org", RecordType::A, &["192.0.2.1"]).with_property(EVALUATE_TARGET_HEALTH, "true"),
            ],
            false,
            true,
        );
        assert_eq!(out.len(), 4);
        assert_eq!((out[0].record_type, out[0].ttl), (RecordType::A, Ttl(DEFAULT_TTL)));
        assert_eq!(out[0].property(ALIAS), Some("true"));
        assert_eq!(out[0].property(EVALUATE_TARGET_HEALTH), Some("true"));
        assert_eq!(out[3].record_type, RecordType::AAAA);
        assert_eq!(out[1].property(ALIAS), Some("false"));
        assert_eq!(out[2].property(EVALUATE_TARGET_HEALTH), None);
        let kept = adjust_endpoints(
            vec![ep("lb.example.org", RecordType::CNAME, &["x.us-east-1.elb.amazonaws.com"])],
            true,
            true,
        );
        assert_eq!((kept.len(), kept[0].record_type, kept[0].property(ALIAS)), (1, RecordType::CNAME, Some("false")));

        let rr = to_rrset(&out[0], WriteOptions { evaluate_target_health: false }).unwrap();
        let alias = rr.alias_target.as_ref().unwrap();
        assert_eq!((alias.hosted_zone_id.as_str(), alias.evaluate_target_health), ("Z35SXDOTRQ7X7K", true));
        assert_eq!((rr.ttl, rr.resource_records.is_none()), (None, true));
        // What Route 53 returns for it reads back as the adjusted endpoint.
        let back = rrset_to_endpoint(&rr).unwrap();
        assert_eq!(back.targets, out[0].targets);
        assert_eq!(back.ttl, out[0].ttl);
        assert!(same(&back, &out[0]), "{back:?} vs {:?}", out[0]);
    }

    #[test]
    fn routing_policies_round_trip() {
        let cases: Vec<Endpoint> = vec![
            ep("w.example.org", RecordType::A, &["192.0.2.1"]).with_set_identifier("blue").with_property(WEIGHT, "10"),
            ep("r.example.org", RecordType::A, &["192.0.2.1"])
                .with_set_identifier("eu")
                .with_property(REGION, "eu-west-1"),
            ep("f.example.org", RecordType::CNAME, &["x.example.net"])
                .with_set_identifier("p")
                .with_property(FAILOVER, "PRIMARY")
                .with_property(HEALTH_CHECK_ID, "hc-1"),
            ep("g.example.org", RecordType::A, &["192.0.2.1"])
                .with_set_identifier("de")
                .with_property(GEO_COUNTRY, "DE")
                .with_property(GEO_SUBDIVISION, "BY"),
            ep("m.example.org", RecordType::A, &["192.0.2.1"])
                .with_set_identifier("m1")
                .with_property(MULTI_VALUE_ANSWER, ""),
            ep("p.example.org", RecordType::A, &["192.0.2.1"])
                .with_set_identifier("p1")
                .with_property(GEOPROX_COORDINATES, "49.22,-74.01"),
        ];
        let desired = adjust_endpoints(cases, false, true);
        for d in &desired {
            let rr = to_rrset(d, OPTS).unwrap();
            let back = rrset_to_endpoint(&rr).unwrap();
            assert!(same(&back, d), "{d:?} read back as {back:?}");
        }
        assert_eq!(desired[5].property(GEOPROX_BIAS), Some("0"));
    }

    #[test]
    fn bad_routing_values_are_refused_by_name() {
        let bad =
            ep("w.example.org", RecordType::A, &["192.0.2.1"]).with_set_identifier("a").with_property(WEIGHT, "heavy");
        assert!(to_rrset(&bad, OPTS).unwrap_err().contains("aws/weight \"heavy\""));
        let bad = ep("w.example.org", RecordType::A, &["192.0.2.1"]).with_property(WEIGHT, "256");
        assert!(to_rrset(&bad, OPTS).is_err());
        let bad = ep("f.example.org", RecordType::A, &["192.0.2.1"]).with_property(FAILOVER, "primary-ish");
        assert!(to_rrset(&bad, OPTS).unwrap_err().contains(FAILOVER));
        let bad = ep("p.example.org", RecordType::A, &["192.0.2.1"]).with_property(GEOPROX_COORDINATES, "91,0");
        assert!(to_rrset(&bad, OPTS).unwrap_err().contains(GEOPROX_COORDINATES));
    }

    #[test]
    fn delete_create_rules() {
        let a = ep("a.example.org", RecordType::A, &["192.0.2.1"]);
        assert!(!requires_delete_create(&a, &ep("a.example.org", RecordType::A, &["192.0.2.2"])));
        assert!(requires_delete_create(&a, &a.clone().with_property(ALIAS, "true")));
        let w = a.clone().with_set_identifier("x").with_property(WEIGHT, "1");
        assert!(!requires_delete_create(&w, &w.clone().with_property(WEIGHT, "2")));
        assert!(requires_delete_create(&w, &a.clone().with_set_identifier("x").with_property(REGION, "us-east-1")));
    }
}
