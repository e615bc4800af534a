//! The connector source's gob decoder on streams Go wrote (`testdata/connector/*.gob`, written by
//! the test peer `crates/testbed/peers/connector-server -dump` from the `.json` beside them) and
//! on streams of arbitrary endpoints, cut and damaged: the endpoints come back as sent, and no
//! input panics or is taken for a value it is not.

use std::path::PathBuf;

use exodns_core::ProviderSpecific;
use exodns_sources::connector::gob::decode_endpoints;
use exodns_sources::types::DNSEndpointEntry;
use proptest::prelude::*;

fn testdata(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/connector").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn decode(bytes: &[u8]) -> Result<Vec<DNSEndpointEntry>, String> {
    decode_endpoints(&mut &bytes[..]).map_err(|e| e.to_string())
}

/// Go's stream of the endpoints in `endpoints.json` decodes to exactly them.
#[test]
fn go_stream_decodes_to_what_was_sent() {
    let want: Vec<DNSEndpointEntry> = serde_json::from_slice(&testdata("endpoints.json")).unwrap();
    let got = decode(&testdata("endpoints.gob")).unwrap();
    assert_eq!(got, want);
    assert_eq!(decode(&testdata("empty.gob")).unwrap(), []);
}

/// The type definitions Go sends first (everything before the value message of `empty.gob`,
/// whose value is `04 ff8a 00 00`: 4 bytes, type id 69, delta 0, no elements).
fn type_definitions() -> Vec<u8> {
    let empty = testdata("empty.gob");
    assert_eq!(&empty[empty.len() - 5..], [0x04, 0xff, 0x8a, 0x00, 0x00]);
    empty[..empty.len() - 5].to_vec()
}

/// A gob unsigned integer.
fn uint(out: &mut Vec<u8>, v: u64) {
    if v < 0x80 {
        out.push(v as u8);
        return;
    }
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push((-((8 - skip) as i8)) as u8);
    out.extend(&bytes[skip..]);
}

fn int(out: &mut Vec<u8>, v: i64) {
    uint(out, if v < 0 { (!(v as u64) << 1) | 1 } else { (v as u64) << 1 });
}

fn string(out: &mut Vec<u8>, s: &str) {
    uint(out, s.len() as u64);
    out.extend(s.as_bytes());
}

/// The value message Go's encoder writes for `eps` with the type ids of [`type_definitions`]
/// (Endpoint's fields numbered as Go numbers them; zero values left out).
fn value_message(eps: &[DNSEndpointEntry]) -> Vec<u8> {
    let mut v = Vec::new();
    int(&mut v, 69);
    uint(&mut v, 0);
    uint(&mut v, eps.len() as u64);
    for e in eps {
        let mut last: i64 = -1;
        let mut field = |v: &mut Vec<u8>, n: i64| {
            uint(v, (n - last) as u64);
            last = n;
        };
        if !e.dns_name.is_empty() {
            field(&mut v, 0);
            string(&mut v, &e.dns_name);
        }
        if !e.targets.is_empty() {
            field(&mut v, 1);
            uint(&mut v, e.targets.len() as u64);
            e.targets.iter().for_each(|t| string(&mut v, t));
        }
        if !e.record_type.is_empty() {
            field(&mut v, 2);
            string(&mut v, &e.record_type);
        }
        if !e.set_identifier.is_empty() {
            field(&mut v, 3);
            string(&mut v, &e.set_identifier);
        }
        if let Some(ttl) = e.record_ttl.filter(|t| *t != 0) {
            field(&mut v, 4);
            int(&mut v, ttl);
        }
        if !e.labels.is_empty() {
            field(&mut v, 5);
            uint(&mut v, e.labels.len() as u64);
            for (k, l) in &e.labels {
                string(&mut v, k);
                string(&mut v, l);
            }
        }
        if !e.provider_specific.is_empty() {
            field(&mut v, 6);
            uint(&mut v, e.provider_specific.len() as u64);
            for p in &e.provider_specific {
                let mut f = -1;
                for (n, s) in [(0, &p.name), (1, &p.value)] {
                    if !s.is_empty() {
                        uint(&mut v, (n - f) as u64);
                        f = n;
                        string(&mut v, s);
                    }
                }
                uint(&mut v, 0);
            }
        }
        uint(&mut v, 0);
    }
    let mut out = Vec::new();
    uint(&mut out, v.len() as u64);
    out.extend(v);
    out
}

fn stream(eps: &[DNSEndpointEntry]) -> Vec<u8> {
    let mut s = type_definitions();
    s.extend(value_message(eps));
    s
}

/// The test encoder writes what Go writes, but for the order of map entries (Go's is random).
#[test]
fn the_test_encoder_writes_what_go_writes() {
    let want: Vec<DNSEndpointEntry> = serde_json::from_slice(&testdata("endpoints.json")).unwrap();
    let (ours, go) = (stream(&want), testdata("endpoints.gob"));
    assert_eq!(ours.len(), go.len());
    let sorted = |b: &[u8]| {
        let mut v = b.to_vec();
        v.sort();
        v
    };
    assert_eq!(sorted(&ours), sorted(&go));
    assert_eq!(decode(&ours).unwrap(), want);
}

/// Bad streams are refused with what is wrong, never taken for endpoints.
#[test]
fn bad_streams_say_what_is_wrong() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "ends before any message"),
        (b"HTTP/1.1 400 Bad Request\r\n", "a message of"),
        (&[0x03, 0x04, 0x00, 0x06], "holds int, not a slice of endpoints"),
        (&[0x03, 0xff, 0x82, 0x00], "holds type id 65, not a slice of endpoints"),
        (&[0xf7, 0x01], "message length of 9 bytes"),
    ];
    for (bytes, want) in cases {
        let e = decode(bytes).unwrap_err();
        assert!(e.contains(want), "{bytes:?}: {e}");
    }
    let defs = type_definitions();
    let e = decode(&defs).unwrap_err();
    assert!(e.contains("ends after 6 type definitions, before the value"), "{e}");
    // Endpoint's TTL sent as a string: the type, not the value, is refused (as gob does).
    let mut wrong = defs.clone();
    let at = wrong.windows(11).position(|w| w == b"\tRecordTTL\x01").unwrap() + 11;
    assert_eq!(wrong[at], 0x04);
    wrong[at] = 0x0c;
    wrong.extend(value_message(&[]));
    let e = decode(&wrong).unwrap_err();
    assert!(e.contains("endpoint field RecordTTL is string, exodns reads int"), "{e}");
}

fn entry() -> impl Strategy<Value = DNSEndpointEntry> {
    let s = "[a-z0-9.*_\" -]{0,20}";
    (
        s,
        prop::collection::vec(s, 0..4),
        "(A|AAAA|CNAME|TXT|)",
        "[a-z]{0,3}",
        prop::option::of(any::<i64>()),
        prop::collection::btree_map("[a-z/]{1,8}", s, 0..3),
        prop::collection::vec(("[a-z/]{1,8}", s), 0..3),
    )
        .prop_map(|(dns_name, targets, record_type, set_identifier, ttl, labels, props)| DNSEndpointEntry {
            dns_name,
            targets,
            record_type,
            set_identifier,
            record_ttl: ttl.filter(|t| *t != 0),
            labels,
            provider_specific: props.into_iter().map(|(name, value)| ProviderSpecific { name, value }).collect(),
        })
}

proptest! {
    /// Whatever endpoints are sent come back as sent (properties with an empty name and value
    /// aside: Go sends them too, as empty structs).
    #[test]
    fn endpoints_round_trip(eps in prop::collection::vec(entry(), 0..20)) {
        prop_assert_eq!(decode(&stream(&eps)).unwrap(), eps);
    }

    /// A stream cut anywhere is an error, not fewer endpoints.
    #[test]
    fn cut_streams_are_errors(eps in prop::collection::vec(entry(), 1..5), cut in any::<prop::sample::Index>()) {
        let s = stream(&eps);
        let at = cut.index(s.len());
        prop_assert!(decode(&s[..at]).is_err());
    }

    /// Damaged streams and arbitrary bytes never panic.
    #[test]
    fn damaged_streams_never_panic(
        eps in prop::collection::vec(entry(), 0..5),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        junk in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut s = stream(&eps);
        for (i, b) in flips {
            let at = i.index(s.len());
            s[at] = b;
        }
        let _ = decode(&s);
        let _ = decode(&junk);
        let mut prefixed = type_definitions();
        prefixed.extend(&junk);
        let _ = decode(&prefixed);
    }
}
