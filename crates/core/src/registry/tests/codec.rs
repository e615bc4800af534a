use crate::endpoint::{Labels, label};
use crate::registry::crypto::{self, AesKey};
use crate::registry::labels;
use crate::registry::{Registry, TxtConfig, TxtRegistry};

fn map(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn key(text: &str) -> AesKey {
    AesKey::parse(text).unwrap()
}

const FOO_TEXT: &str = "heritage=external-dns,external-dns/owner=foo-owner,external-dns/resource=foo-resource";
const FOO_KEY: &str = ")K_Fy|?Z.64#UuHm`}[d!GC%WJM_fs{_";
const FOO_ENCRYPTED: &str = "+lvP8q9KHJ6BS6O81i2Q6DLNdf2JSKy8j/gbZKviTZlGYj7q+yDoYMgkQ1hPn6urtGllM5bfFMcaaHto52otQtiOYrX8990J3kQqg4s47m3bH3Ejl8RSxSSuWJM3HJtPghQzYg0/LSOsdQ0=";
const BAR_TEXT: &str = "heritage=external-dns,,external-dns/owner=bar-owner,external-dns/resource=bar-resource,external-dns/new-key=bar-new-key,random=stuff,no-equal-sign,,";
const BAR_ENCRYPTED: &str = "yi6vVATlgYN0enXBIupVK2atNUKtajofWMroWtvZjUanFZXlWvqjJPpjmMd91kv86bZj+syQEP0uR3TK6eFVV7oKFh/NxYyh238FjZ+25zlXW9TgbLoMalUNOkhKFdfXkLeeaqJjePB59t+kQBYX+ZEryK652asPs6M+xTIvtg07N7WWZ6SjJujm0RRISg==";

fn foo() -> Labels {
    map(&[("owner", "foo-owner"), ("resource", "foo-resource")])
}

fn bar() -> Labels {
    map(&[("owner", "bar-owner"), ("resource", "bar-resource"), ("new-key", "bar-new-key")])
}

#[test]
fn serialises_sorted_with_quotes_without_nonce() {
    assert_eq!(labels::to_plain(&foo()), FOO_TEXT);
    assert_eq!(labels::encode_plain(&foo()), format!("\"{FOO_TEXT}\""));
    let mut with_nonce = foo();
    with_nonce.insert(label::TXT_ENCRYPTION_NONCE.into(), "AAECAwQFBgcICQoL".into());
    assert_eq!(labels::encode_plain(&with_nonce), format!("\"{FOO_TEXT}\""));
    assert_eq!(labels::encode_plain(&Labels::new()), "\"heritage=external-dns\"");
    let reference = map(&[("resource", "service/ns/n"), ("owner", "x")]);
    assert_eq!(
        labels::encode_plain(&reference),
        "\"heritage=external-dns,external-dns/owner=x,external-dns/resource=service/ns/n\""
    );
}

#[test]
fn parses_plain_values() {
    assert_eq!(labels::parse_plain(FOO_TEXT), Some(foo()));
    assert_eq!(labels::parse_plain(&format!("\"{FOO_TEXT}\"")), Some(foo()));
    assert_eq!(labels::parse_plain(BAR_TEXT), Some(bar()), "gibberish parts are skipped");
    assert_eq!(labels::parse_plain("external-dns/owner=random-owner"), None, "no heritage");
    assert_eq!(labels::parse_plain("heritage=mate,external-dns/owner=random-owner"), None, "wrong heritage");
    assert_eq!(labels::parse_plain("heritage=mate,heritage=external-dns,external-dns/owner=random-owner"), None);
    assert_eq!(labels::parse_plain("heritage=external-dns,heritage=mate"), None);
    let eq = "heritage=external-dns,external-dns/owner=team=platform,external-dns/resource=ingress/default/example";
    assert_eq!(
        labels::parse_plain(eq),
        Some(map(&[("owner", "team=platform"), ("resource", "ingress/default/example")]))
    );
    // Keys merely starting with "external-dns" are kept whole, as upstream does.
    assert_eq!(
        labels::parse_plain("heritage=external-dns,external-dnsx=1,other/k=2"),
        Some(map(&[("external-dnsx", "1")]))
    );
}

#[test]
fn decodes_targets_in_presentation_form() {
    assert_eq!(labels::decode(&format!("\"{FOO_TEXT}\""), None), Some(foo()));
    assert_eq!(labels::decode(FOO_TEXT, None), Some(foo()), "unquoted");
    // split in two strings by a provider
    assert_eq!(
        labels::decode(
            "\"heritage=external-dns,external-dns/ow\" \"ner=foo-owner,external-dns/resource=foo-resource\"",
            None
        ),
        Some(foo())
    );
    assert_eq!(labels::decode("\"v=spf1 -all\"", None), None);
    assert_eq!(labels::decode("\"random\"", None), None);
}

#[test]
fn decrypts_upstream_vectors() {
    let k = key(FOO_KEY);
    let got = labels::decode(FOO_ENCRYPTED, Some(&k)).unwrap();
    let mut want = foo();
    want.insert(label::TXT_ENCRYPTION_NONCE.into(), FOO_ENCRYPTED[..16].into());
    assert_eq!(got, want);
    assert_eq!(labels::decode(&format!("\"{FOO_ENCRYPTED}\""), Some(&k)), Some(want));
    let bar_got = labels::decode(BAR_ENCRYPTED, Some(&k)).unwrap();
    assert!(labels::same_value(&bar_got, &bar()));
    // A plain value is read as such even with a key.
    assert_eq!(labels::decode(BAR_TEXT, Some(&k)), Some(bar()));
    // With another key the encrypted value is neither decrypted nor plain text.
    assert_eq!(labels::decode(FOO_ENCRYPTED, Some(&key("passphrasewhichneedstobe32bytes!"))), None);

    let lorem = "Lorem Ipsum is simply dummy text of the printing and typesetting industry. Lorem Ipsum has been the industry's standard dummy text ever since the 1500s, when an unknown printer took a galley of type and scrambled it to make a type specimen book. It has survived not only five centuries, but also the leap into electronic typesetting, remaining essentially unchanged. It was popularised in the 1960s with the release of Letraset sheets containing Lorem Ipsum passages, and more recently with desktop publishing software like Aldus PageMaker including versions of Lorem Ipsum.";
    let sealed = "0Mfzf6wsN8llrfX0ucDZ6nlc2+QiQfKKedjPPLu5atb2I35L9nUZeJcCnuLVW7CVW3K0h94vSuBLdXnMrj8Vcm0M09shxaoF48IcCpD03XtQbKXqk2hPbsW6+JybvplHIQGr16/PcjUSObGmR9yjf38+qEltApkKvrPjsyw43BX4eE10rL0Bln33UJD7/w+zazRDPFlAcbGtkt0ETKHnvyB3/aCddLipvrhjCXj2ZY/ktRF6h716kJRgXU10dCIQHFYU45MIdxI+k10HK3yZqhI2V0Gp2xjrFV/LRQ7/OS9SFee4asPWUYxbCEsnOzp8qc0dCPFSo1dtADzWnUZnsAcbnjtudT4milfLJc5CxDk1v3ykqQ/ajejwHjWQ7b8U6AsTErbezfdcqrb5IzkLgHb5TosnfrdDmNc9GcKfpsrCHbVY8KgNwMVdtwavLv7d9WM6sooUlZ3t0sABGkzagXQmPRvwLnkSOlie5XrnzWo8/8/4UByLga29CaXO";
    let (plain, _) = crypto::decrypt(sealed, &key("s%zF`.*'5`9.AhI2!B,.~hmbs^.*TL?;")).unwrap();
    assert_eq!(plain, lorem);
    assert!(crypto::decrypt(lorem, &key("s%zF`.*'5`9.AhI2!B,.~hmbs^.*TL?;")).is_none());
}

/// Computed with Go's standard library (crypto/aes, crypto/cipher, compress/gzip at
/// BestCompression with Flush then Close, encoding/base64), following upstream's crypto.go.
#[test]
fn decrypts_values_sealed_by_go() {
    let k = key("exodns-fixed-test-key-32-bytes!!");
    let sealed = "AAECAwQFBgcICQoLozSucLP0nvBdyclfS59KBB4FHB2kx8qriLUoIR/QwPZTbBklcLpPguJoEDC0jYKFR1PXi/ovEV4WuYGX4uNHazqRlJOqVBaqvErNrj0Z/foSNbAS6O2wx13rQc0SVvpHtUs5cWYu08I9hld2";
    let (plain, nonce) = crypto::decrypt(sealed, &k).unwrap();
    assert_eq!(plain, "heritage=external-dns,external-dns/owner=default,external-dns/resource=service/default/web");
    assert_eq!(nonce, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

    // base64 key form
    let k = key("ZPitL0NGVQBZbTD6DwXJzD8RiStSazzYXQsdUowLURY=");
    let sealed = "\"ZXhvZG5zLW5vbmNlYaKWogbTWJp+FUvftgJWdgGG2A+dsQ2B5lRy2nT59u5kPsJxWgfg23+U4pIs2gF/YzPtzcg35TzcpMNx3HBvAocdcHvuVxYDCm5xGTWujHfqzi5bZPiLzgwzZ2/iYLS4nfbioiLzcpOJnQ==\"";
    let got = labels::decode(sealed, Some(&k)).unwrap();
    let want = map(&[
        ("owner", "exodns"),
        ("resource", "ingress/prod/shop"),
        (label::TXT_ENCRYPTION_NONCE, "ZXhvZG5zLW5vbmNl"),
    ]);
    assert_eq!(got, want);
}

#[test]
fn encryption_round_trip() {
    for k in [
        "passphrasewhichneedstobe32bytes!",
        "ZPitL0NGVQBZbTD6DwXJzD8RiStSazzYXQsdUowLURY=",
        "01234567890123456789012345678901",
    ] {
        let k = key(k);
        let nonce = crypto::random_nonce();
        let sealed = crypto::encrypt(FOO_TEXT, &k, &nonce).unwrap();
        assert!(!sealed.contains("heritage"));
        assert!(sealed.starts_with(&crypto::nonce_to_label(&nonce)), "the text starts with the nonce");
        assert_eq!(crypto::decrypt(&sealed, &k), Some((FOO_TEXT.to_owned(), nonce)));
        // Same nonce, same text: same bytes.
        assert_eq!(crypto::encrypt(FOO_TEXT, &k, &nonce).unwrap(), sealed);
    }
    let nonce = crypto::random_nonce();
    assert_eq!(crypto::nonce_from_label(&crypto::nonce_to_label(&nonce)), Some(nonce));
    assert_eq!(crypto::nonce_from_label("AAEC"), None);
}

#[test]
fn key_forms() {
    assert!(AesKey::parse("passphrasewhichneedstobe32bytes!").is_ok());
    assert!(AesKey::parse("ZPitL0NGVQBZbTD6DwXJzD8RiStSazzYXQsdUowLURY=").is_ok());
    for bad in
        ["", "short", "123456789012345678901234567890asdfasdfasdfasdfa12", "ZPitL0NGVQBZbTD6DwXJzD8RiStSazzYXQsdUow="]
    {
        let err = AesKey::parse(bad).unwrap_err().to_string();
        assert!(err.contains("32 bytes"), "{err}");
        assert!(bad.is_empty() || !err.contains(bad), "the key is not echoed: {err}");
    }
    let secret = crate::secret::Secret::new("passphrasewhichneedstobe32bytes!");
    assert!(AesKey::try_from(&secret).is_ok());
}

#[test]
fn keys_never_print() {
    let k = key("passphrasewhichneedstobe32bytes!");
    assert_eq!(format!("{k:?}"), "AesKey(<redacted>)");
    let config = TxtConfig { encrypt: true, encryption_key: Some(k), ..TxtConfig::default() };
    let shown = format!("{config:?}");
    assert!(!shown.contains("passphrase"), "{shown}");
    let reg = TxtRegistry::new(config).unwrap();
    let shown = format!("{reg:?}");
    assert!(!shown.contains("passphrase") && shown.contains("<redacted>"), "{shown}");
    assert_eq!(reg.owner_id(), "default");
}

#[test]
fn config_errors() {
    let err = |c: TxtConfig| TxtRegistry::new(c).unwrap_err().to_string();
    assert!(err(TxtConfig { owner_id: String::new(), ..TxtConfig::default() }).contains("owner id"));
    assert!(err(TxtConfig { encrypt: true, ..TxtConfig::default() }).contains("must be set"));
    assert!(
        err(TxtConfig { prefix: "txt".into(), suffix: "txt".into(), ..TxtConfig::default() })
            .contains("mutually exclusive")
    );
    assert!(TxtRegistry::new(TxtConfig { prefix: "txt".into(), ..TxtConfig::default() }).is_ok());
    assert!(TxtRegistry::new(TxtConfig { suffix: "txt".into(), ..TxtConfig::default() }).is_ok());
    // A key without --txt-encrypt-enabled: read-only decryption, as upstream.
    assert!(TxtRegistry::new(TxtConfig { encryption_key: Some(key(FOO_KEY)), ..TxtConfig::default() }).is_ok());
}
