//! The request decoders over a few thousand random and mutated bodies (what `fuzz/` does for
//! longer, with coverage feedback): they never panic, and whatever they accept survives being
//! encoded and decoded again unchanged.

use exodns_webhook::wire::fuzzing;
use proptest::prelude::*;

const SEEDS: &[&str] = &[
    r#"{"create":[{"dnsName":"a.example.org","targets":["192.0.2.1"],"recordType":"A","recordTTL":60,"labels":{"owner":"x"},"providerSpecific":[{"name":"webhook/a","value":"b"}]}]}"#,
    r#"{"Create":null,"UpdateOld":[{"dnsName":"u.example.org","targets":["::1"],"recordType":"AAAA"}],"UpdateNew":[{"dnsName":"u.example.org","targets":["::2"],"recordType":"AAAA"}],"Delete":[]}"#,
    r#"{"delete":[{"dnsName":"a-x.example.org","targets":["\"heritage=external-dns,external-dns/owner=default\""],"recordType":"TXT"}]}"#,
    r#"[{"dnsName":"*.example.org","targets":["lb.example.net"],"recordType":"CNAME","setIdentifier":"v1"},{"dnsName":"m.example.org","targets":["10 mx.example.org"],"recordType":"MX"}]"#,
    r#"[{"dnsName":"s.example.org","targets":["0 50 5060 sip.example.org."],"recordType":"SRV"},{"dnsName":"c.example.org","targets":["0 issue \"ca.example\""],"recordType":"CAA"}]"#,
    r#"{"include":["example.org"],"exclude":["x.example.org"]}"#,
    r#"{"regexInclude":"\\.example\\.org$"}"#,
    "null",
    "[]",
    "{}",
];

fn mutate(seed: &[u8], edits: &[(u16, u8, u8)]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for &(pos, op, byte) in edits {
        let at = if v.is_empty() { 0 } else { pos as usize % (v.len() + 1) };
        match op % 4 {
            0 => v.insert(at, byte),
            1 if at < v.len() => {
                v.remove(at);
            }
            2 if at < v.len() => v[at] = byte,
            // Splice a JSON-ish token: what most often turns a valid body into a tricky one.
            _ => {
                let tokens: [&[u8]; 10] =
                    [b"null", b"\"\"", b"[]", b"{}", b"-1", b"1e999", b"\"..\"", b"\\u0000", b"\"TXT\"", b","];
                let t = tokens[byte as usize % tokens.len()];
                for (i, b) in t.iter().enumerate() {
                    v.insert(at + i, *b);
                }
            }
        }
    }
    v
}

fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9*_.-]{0,20}(\\.example\\.org)?\\.?",
        "[0-9.:a-f]{0,16}",
        any::<String>(),
        Just(String::new()),
        Just("\"quoted \\\"txt\\\"\"".to_string()),
    ]
}

fn endpoint_json() -> impl Strategy<Value = serde_json::Value> {
    (
        json_string(),
        prop::collection::vec(json_string(), 0..3),
        prop::sample::select(vec!["A", "AAAA", "CNAME", "TXT", "MX", "SRV", "NS", "CAA", "PTR", "NAPTR", "ALIAS", "BOGUS", "", "a"]),
        json_string(),
        prop_oneof![Just(0i64), any::<i64>(), 1i64..100_000],
        prop::collection::btree_map("[a-z]{1,6}", json_string(), 0..2),
        prop::collection::vec(("[a-z/]{0,10}", json_string()), 0..2),
    )
        .prop_map(|(name, targets, rtype, set_id, ttl, labels, props)| {
            serde_json::json!({
                "dnsName": name, "targets": targets, "recordType": rtype, "setIdentifier": set_id,
                "recordTTL": ttl, "labels": labels,
                "providerSpecific": props.into_iter().map(|(n, v)| serde_json::json!({"name": n, "value": v})).collect::<Vec<_>>(),
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_seeds(seed in 0..SEEDS.len(), edits in prop::collection::vec((any::<u16>(), any::<u8>(), any::<u8>()), 0..8)) {
        fuzzing::all(&mutate(SEEDS[seed].as_bytes(), &edits));
    }

    #[test]
    fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzzing::all(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 800, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_bodies(create in prop::collection::vec(endpoint_json(), 0..4), old in prop::collection::vec(endpoint_json(), 0..3), delete in prop::collection::vec(endpoint_json(), 0..3), capitalised in any::<bool>()) {
        let new = old.clone();
        let body = if capitalised {
            serde_json::json!({"Create": create, "UpdateOld": old, "UpdateNew": new, "Delete": delete})
        } else {
            serde_json::json!({"create": create, "updateOld": old, "updateNew": new, "delete": delete})
        };
        let bytes = serde_json::to_vec(&body).unwrap();
        fuzzing::changes(&bytes);
        let list = serde_json::to_vec(&body["create"]).unwrap_or_default();
        fuzzing::endpoints(&list);
    }
}
