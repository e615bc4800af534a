use proptest::prelude::*;

use crate::endpoint::{Labels, label};
use crate::record_type::RecordType;
use crate::registry::crypto::{self, AesKey};
use crate::registry::mapper::MAPPED_TYPES;
use crate::registry::{NameMapper, labels};

fn label_map() -> impl Strategy<Value = Labels> {
    // Keys cannot hold `=` or `,`; values cannot hold `,`; neither holds a quote or a backslash
    // (upstream writes them unescaped inside the quotes).
    proptest::collection::btree_map("[a-zA-Z0-9./_-]{0,16}", "[ -!#-+\\--\\[\\]-~]{0,24}", 0..5)
        .prop_filter("the nonce label is never written", |m| !m.contains_key(label::TXT_ENCRYPTION_NONCE))
        .prop_map(Labels::from)
}

fn name() -> impl Strategy<Value = String> {
    let label = "[a-z0-9_]([a-z0-9-]{0,14}[a-z0-9])?";
    proptest::collection::vec(label, 1..4).prop_map(|labels| labels.join("."))
}

/// Affixes whose names read back unambiguously (a templated affix needs a separator next to
/// the type, or `a` would match the start of `aaaa`).
const PREFIXES: &[&str] = &[
    "",
    "txt-",
    "txt.",
    "_own.",
    "foo.bar.",
    "%{record_type}-",
    "%{record_type}.",
    "txt-%{record_type}.",
    "x%{record_type}-y.",
];
const SUFFIXES: &[&str] =
    &["-txt", ".txt", "-own.a.b", "-%{record_type}", ".%{record_type}", "-%{record_type}-own", ".own%{record_type}.x"];

proptest! {
    #[test]
    fn labels_round_trip(labels in label_map()) {
        let encoded = labels::encode_plain(&labels);
        prop_assert!(encoded.starts_with("\"heritage=external-dns"), "{}", encoded);
        prop_assert_eq!(labels::decode(&encoded, None), Some(labels.clone()));
        // and through the canonical TXT target form
        let canonical = crate::target::canonical_target(RecordType::TXT, &encoded).unwrap();
        prop_assert_eq!(labels::decode(&canonical, None), Some(labels));
    }

    #[test]
    fn mapper_round_trip(
        affix in (any::<bool>(), 0..PREFIXES.len().max(SUFFIXES.len())),
        name in name(),
        t in 0..MAPPED_TYPES.len(),
    ) {
        let mapper = if affix.0 {
            NameMapper::new(PREFIXES[affix.1 % PREFIXES.len()], "", "").unwrap()
        } else {
            NameMapper::new("", SUFFIXES[affix.1 % SUFFIXES.len()], "").unwrap()
        };
        let rt = MAPPED_TYPES[t];
        let txt = mapper.to_txt_name(&name, rt);
        let back = mapper.to_endpoint_name(&txt).map(|(n, t)| (n.into_owned(), t));
        prop_assert_eq!(back, Some((name, Some(rt))), "{:?} via {}", mapper, txt);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn encrypted_labels_round_trip(labels in label_map(), key in any::<[u8; 32]>(), nonce in any::<[u8; 12]>()) {
        let key = AesKey::from_bytes(key);
        let sealed = format!("\"{}\"", crypto::encrypt(&labels::to_plain(&labels), &key, &nonce).unwrap());
        let mut want = labels;
        want.insert(label::TXT_ENCRYPTION_NONCE.to_owned(), crypto::nonce_to_label(&nonce));
        prop_assert_eq!(labels::decode(&sealed, Some(&key)), Some(want));
    }
}
