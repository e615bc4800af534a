//! Cloudflare's recorded answers (`testdata/cloudflare/`, see its README): every record type
//! there is read and written back to the same fields, or skipped for a stated reason.

use std::collections::BTreeMap;

use exodns_core::RecordType;
use serde_json::Value;

use crate::convert::{Skip, record_target, write_fields};
use crate::model::{Envelope, Record, Zone};

fn page(name: &str) -> String {
    let path = format!("{}/../../testdata/cloudflare/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn records() -> Vec<Record> {
    (1..=3)
        .flat_map(|i| {
            let env: Envelope<Vec<Record>> =
                serde_json::from_str(&page(&format!("cloudflare-dns_records-page-{i}.json"))).unwrap();
            let info = env.result_info.unwrap();
            assert_eq!((info.page as u32, info.total_pages), (i, Some(3.0)));
            env.result.unwrap()
        })
        .collect()
}

/// What happens to each type of the fixtures.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    RoundTrip,
    /// Read into an endpoint, but exodns does not write this type to Cloudflare.
    ReadOnly,
    Skipped(&'static str),
}

#[test]
fn every_recorded_type_round_trips_or_is_skipped_with_a_reason() {
    let recs = records();
    assert!(recs.len() >= 27, "{} records", recs.len());
    let mut seen: BTreeMap<String, Outcome> = BTreeMap::new();
    for r in &recs {
        let outcome = match record_target(r) {
            Ok((rt, target)) => match write_fields(rt, &target) {
                Some((content, data, priority)) => {
                    match rt {
                        RecordType::MX => {
                            assert_eq!(content.as_deref(), r.content.as_deref(), "{r:?}");
                            assert_eq!(priority.map(f64::from), r.priority, "{r:?}");
                        }
                        RecordType::SRV | RecordType::CAA => {
                            let want = r.data.as_ref().unwrap();
                            let got = data.unwrap();
                            for (k, v) in got.as_object().unwrap() {
                                let w = &want[k];
                                let same = match (v, w) {
                                    (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                                    (a, b) => a == b,
                                };
                                assert!(same, "{} {k}: wrote {v}, recorded {w}", r.name);
                            }
                        }
                        RecordType::TXT => {
                            // Read in quoted form; written as read (upstream writes its TXT quoted).
                            assert_eq!(content.as_deref(), r.content.as_deref(), "{r:?}");
                        }
                        _ => assert_eq!(
                            content.as_deref().map(str::to_ascii_lowercase),
                            r.content.as_deref().map(|c| c.trim_end_matches('.').to_ascii_lowercase()),
                            "{r:?}"
                        ),
                    }
                    Outcome::RoundTrip
                }
                None => Outcome::ReadOnly,
            },
            Err(Skip::Soa) => Outcome::Skipped("Cloudflare's own SOA"),
            Err(Skip::UnknownType(_)) => Outcome::Skipped("a type exodns does not carry"),
            Err(Skip::Unparsable(why)) => panic!("{} {}: {why}", r.name, r.rtype),
        };
        if let Some(prev) = seen.get(&r.rtype) {
            assert_eq!(prev, &outcome, "{}: every record of a type has the same outcome", r.rtype);
        }
        seen.insert(r.rtype.clone(), outcome);
    }
    let want: BTreeMap<String, Outcome> = [
        ("A", Outcome::RoundTrip),
        ("AAAA", Outcome::RoundTrip),
        ("CAA", Outcome::RoundTrip),
        ("CNAME", Outcome::RoundTrip),
        ("MX", Outcome::RoundTrip),
        ("NS", Outcome::RoundTrip),
        ("PTR", Outcome::RoundTrip),
        ("SRV", Outcome::RoundTrip),
        ("TXT", Outcome::RoundTrip),
        ("DS", Outcome::ReadOnly),
        ("HTTPS", Outcome::ReadOnly),
        ("NAPTR", Outcome::ReadOnly),
        ("SSHFP", Outcome::ReadOnly),
        ("SVCB", Outcome::ReadOnly),
        ("SOA", Outcome::Skipped("Cloudflare's own SOA")),
        ("LOC", Outcome::Skipped("a type exodns does not carry")),
        ("SPF", Outcome::Skipped("a type exodns does not carry")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(seen, want);
}

#[test]
fn zone_pages_parse() {
    let mut names = Vec::new();
    for i in 1..=3 {
        let env: Envelope<Vec<Zone>> = serde_json::from_str(&page(&format!("cloudflare-zones-page-{i}.json"))).unwrap();
        assert!(env.success);
        names.extend(env.result.unwrap().into_iter().map(|z| z.name));
    }
    assert_eq!(names.len(), 5, "{names:?}");
    let rh: Envelope<Vec<crate::model::RegionalHostname>> =
        serde_json::from_str(&page("cloudflare-regional_hostnames.json")).unwrap();
    let rh = rh.result.unwrap();
    assert_eq!((rh[0].hostname.as_str(), rh[0].region_key.as_str()), ("www.unit.tests", "eu"));
}
