use crate::record_type::RecordType;
use crate::registry::NameMapper;
use crate::registry::mapper::MAPPED_TYPES;

fn m(prefix: &str, suffix: &str, wildcard: &str) -> NameMapper {
    NameMapper::new(prefix, suffix, wildcard).unwrap()
}

fn rt(s: &str) -> RecordType {
    s.parse().unwrap()
}

fn read(mapper: &NameMapper, txt: &str) -> Option<(String, Option<RecordType>)> {
    mapper.to_endpoint_name(txt).map(|(n, t)| (n.into_owned(), t))
}

#[test]
fn reference_vectors() {
    assert_eq!(m("", "", "").to_txt_name("foo.example.com", RecordType::A), "a-foo.example.com");
    assert_eq!(m("", "", "").to_txt_name("foo.example.com", RecordType::CNAME), "cname-foo.example.com");
    assert_eq!(m("", "-%{record_type}", "").to_txt_name("foo.example.com", RecordType::A), "foo-a.example.com");
    assert_eq!(m("txt-", "", "wild").to_txt_name("*.example.com", RecordType::A), "txt-a-wild.example.com");
}

#[test]
fn prefix_and_suffix_are_exclusive() {
    let err = NameMapper::new("pre-", "-suf", "").unwrap_err().to_string();
    assert!(err.contains("mutually exclusive"), "{err}");
}

#[test]
fn to_txt_name_vectors() {
    let cases: &[(&str, &str, &str, &str, &str, &str)] = &[
        // prefix, suffix, wildcard, name, type, TXT name
        ("%{record_type}-", "", "", "foo.example.com", "A", "a-foo.example.com"),
        ("%{record_type}-", "", "", "foo.example.com", "AAAA", "aaaa-foo.example.com"),
        ("%{record_type}-", "", "", "foo.example.com", "CNAME", "cname-foo.example.com"),
        ("%{record_type}-", "", "", "foo.example.com", "NS", "ns-foo.example.com"),
        ("%{record_type}-", "", "", "foo.example.com", "MX", "mx-foo.example.com"),
        ("%{record_type}-", "", "", "foo.example.com", "SRV", "srv-foo.example.com"),
        ("%{record_type}-", "", "", "foo.example.com", "TLSA", "tlsa-foo.example.com"),
        ("%{record_type}-", "", "", "foo.example.com", "LUA", "lua-foo.example.com"),
        ("%{record_type}-", "", "", "2.49.168.192.in-addr.arpa", "PTR", "ptr-2.49.168.192.in-addr.arpa"),
        ("%{record_type}-", "", "", "foo.example.com", "NAPTR", "naptr-foo.example.com"),
        ("%{record_type}-", "", "", "foo.example.com", "DNAME", "dname-foo.example.com"),
        ("%{record_type}-", "", "", "foo.example.com", "TXT", "txt-foo.example.com"),
        ("", "-%{record_type}", "", "foo.example.com", "A", "foo-a.example.com"),
        ("", "-%{record_type}", "", "foo.example.com", "CNAME", "foo-cname.example.com"),
        ("", "-%{record_type}", "", "foo.example.com", "TXT", "foo-txt.example.com"),
        ("txt-", "", "wild", "*.example.com", "A", "txt-a-wild.example.com"),
        ("txt-", "", "wild", "*.example.com", "MX", "txt-mx-wild.example.com"),
        ("txt-", "", "wild", "*.example.com", "TXT", "txt-txt-wild.example.com"),
        ("", "", "", "foo.example.com", "A", "a-foo.example.com"),
        ("", "", "", "foo.example.com", "AAAA", "aaaa-foo.example.com"),
        ("", "", "", "foo.example.com", "CNAME", "cname-foo.example.com"),
        ("", "", "", "foo.example.com", "NS", "ns-foo.example.com"),
        ("", "", "", "foo.example.com", "MX", "mx-foo.example.com"),
        ("", "", "", "foo.example.com", "SRV", "srv-foo.example.com"),
        ("", "", "", "2.49.168.192.in-addr.arpa", "PTR", "ptr-2.49.168.192.in-addr.arpa"),
        ("", "", "", "foo.example.com", "NAPTR", "naptr-foo.example.com"),
        ("", "", "", "foo.example.com", "TXT", "txt-foo.example.com"),
        // registry tests
        ("txt.", "", "", "new-record-1.test-zone.example.org", "CNAME", "txt.cname-new-record-1.test-zone.example.org"),
        ("txt.", "", "", "example", "CNAME", "txt.cname-example"),
        (
            "prefix%{record_type}.",
            "",
            "",
            "new-record-1.test-zone.example.org",
            "CNAME",
            "prefixcname.new-record-1.test-zone.example.org",
        ),
        (
            "",
            "-%{record_type}suffix",
            "",
            "new-record-1.test-zone.example.org",
            "CNAME",
            "new-record-1-cnamesuffix.test-zone.example.org",
        ),
        (
            "",
            "-txt",
            "wildcard",
            "*.wildcard.test-zone.example.org",
            "CNAME",
            "cname-wildcard-txt.wildcard.test-zone.example.org",
        ),
        ("", "-txt", "", "example", "CNAME", "cname-example-txt"),
        // no replacement: the `*` stays (and makes an invalid name, refused by the registry)
        ("", "", "", "*.example.com", "A", "a-*.example.com"),
        // affixes and replacement are lowercased
        ("TxT-", "", "WiLd", "*.example.com", "A", "txt-a-wild.example.com"),
    ];
    for (prefix, suffix, wildcard, name, t, want) in cases {
        assert_eq!(m(prefix, suffix, wildcard).to_txt_name(name, rt(t)), *want, "{prefix:?} {suffix:?} {name} {t}");
    }
    // Every type the mapper reads is covered.
    for t in MAPPED_TYPES {
        assert!(cases.iter().any(|c| rt(c.4) == t), "{t} not covered");
    }
}

/// prefix, suffix, TXT name, and the (name, type) read back.
type ReadCase = (&'static str, &'static str, &'static str, Option<(&'static str, Option<&'static str>)>);

#[test]
fn to_endpoint_name_vectors() {
    let cases: &[ReadCase] = &[
        ("%{record_type}-", "", "a-foo.example.com", Some(("foo.example.com", Some("A")))),
        ("%{record_type}-", "", "aaaa-foo.example.com", Some(("foo.example.com", Some("AAAA")))),
        ("%{record_type}-", "", "cname-foo.example.com", Some(("foo.example.com", Some("CNAME")))),
        ("%{record_type}-", "", "ns-foo.example.com", Some(("foo.example.com", Some("NS")))),
        ("%{record_type}-", "", "mx-foo.example.com", Some(("foo.example.com", Some("MX")))),
        ("%{record_type}-", "", "srv-foo.example.com", Some(("foo.example.com", Some("SRV")))),
        ("%{record_type}-", "", "ptr-2.49.168.192.in-addr.arpa", Some(("2.49.168.192.in-addr.arpa", Some("PTR")))),
        ("%{record_type}-", "", "naptr-foo.example.com", Some(("foo.example.com", Some("NAPTR")))),
        ("%{record_type}-", "", "dname-foo.example.com", Some(("foo.example.com", Some("DNAME")))),
        ("", "-%{record_type}", "foo-a.example.com", Some(("foo.example.com", Some("A")))),
        ("", "-%{record_type}", "foo-cname.example.com", Some(("foo.example.com", Some("CNAME")))),
        ("", ".foo.bar", "a-example.foo.bar.com", Some(("example.com", Some("A")))),
        ("", ".foo.bar", "a-example.foo.bar", Some(("example", Some("A")))),
        ("", ".foo.bar", "a-example.foo", None),
        ("", "", "a-foo.example.com", Some(("foo.example.com", Some("A")))),
        ("", "", "aaaa-foo.example.com", Some(("foo.example.com", Some("AAAA")))),
        ("", "", "cname-foo.example.com", Some(("foo.example.com", Some("CNAME")))),
        ("", "", "ns-foo.example.com", Some(("foo.example.com", Some("NS")))),
        ("", "", "mx-foo.example.com", Some(("foo.example.com", Some("MX")))),
        ("", "", "srv-foo.example.com", Some(("foo.example.com", Some("SRV")))),
        ("", "", "ptr-2.49.168.192.in-addr.arpa", Some(("2.49.168.192.in-addr.arpa", Some("PTR")))),
        ("", "", "naptr-foo.example.com", Some(("foo.example.com", Some("NAPTR")))),
        ("", "", "txt-foo.example.com", Some(("foo.example.com", Some("TXT")))),
        // upstream's dropAffixExtractType / extractRecordTypeDefaultPosition vectors
        ("foo-%{record_type}-", "", "foo-cname-test.example.com", Some(("test.example.com", Some("CNAME")))),
        ("foo-%{record_type}-", "", "foo-a-test.example.com", Some(("test.example.com", Some("A")))),
        ("foo-%{record_type}-", "", "foo--test.example.com", Some(("test.example.com", None))),
        ("", "-%{record_type}-foo", "test-a-foo.example.com", Some(("test.example.com", Some("A")))),
        ("", "-%{record_type}-foo", "test--foo.example.com", Some(("test.example.com", None))),
        ("foo-", "", "bar.example.com", None),
        ("", "-foo", "bar.example.com", None),
        ("", "", "ns-zone.example.com", Some(("zone.example.com", Some("NS")))),
        ("", "", "zone.example.com", Some(("zone.example.com", None))),
        // old format, prefixed: the record's name after the prefix, no type
        ("txt.", "", "txt.bar.test-zone.example.org", Some(("bar.test-zone.example.org", None))),
        ("txt.", "", "TxT.tar.test-zone.example.org", Some(("tar.test-zone.example.org", None))),
        (
            "txt.",
            "",
            "txt.aaaa-dualstack.test-zone.example.org",
            Some(("dualstack.test-zone.example.org", Some("AAAA"))),
        ),
        // "_sip._udp.sip1.test-zone…": the part before the first dash is no type
        ("txt.", "", "txt._sip._udp.sip1.test-zone.example.org", Some(("_sip._udp.sip1.test-zone.example.org", None))),
        ("", "-txt", "tar-TxT.test-zone.example.org", Some(("tar.test-zone.example.org", None))),
        (
            "",
            "-txt",
            "aaaa-dualstack-txt.test-zone.example.org",
            Some(("dualstack.test-zone.example.org", Some("AAAA"))),
        ),
        ("", "-txt", "_sip-txt._udp.sip1.test-zone.example.org", Some(("_sip._udp.sip1.test-zone.example.org", None))),
        ("txt-%{record_type}.", "", "txt-a.foo.test-zone.example.org", Some(("foo.test-zone.example.org", Some("A")))),
        (
            "txt-%{record_type}.",
            "",
            "txt-mx.mail.test-zone.example.org",
            Some(("mail.test-zone.example.org", Some("MX"))),
        ),
        (
            "",
            "txt%{record_type}",
            "bartxtcname.test-zone.example.org",
            Some(("bar.test-zone.example.org", Some("CNAME"))),
        ),
        // "mailtxt": old format of the templated suffix (template dropped), no type
        ("", "txt%{record_type}", "mailtxt.test-zone.example.org", Some(("mail.test-zone.example.org", None))),
        // quirks kept from upstream
        ("", "", "txt", Some(("txt", Some("TXT")))),
        ("%{record_type}", "", "aaaafoo.example.com", Some(("aaafoo.example.com", Some("A")))),
    ];
    for (prefix, suffix, txt, want) in cases {
        let got = read(&m(prefix, suffix, ""), txt);
        let want = want.map(|(n, t)| (n.to_owned(), t.map(rt)));
        assert_eq!(got, want, "{prefix:?} {suffix:?} {txt}");
    }
}

#[test]
fn new_format_round_trips() {
    // upstream's TestToEndpointNameNewTXT
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        ("foo", "", "example.com", "A", "fooa-example.com"),
        ("", "foo", "example", "AAAA", "aaaa-examplefoo"),
        ("", "foo", "example.com", "AAAA", "aaaa-examplefoo.com"),
        ("foo-", "", "example.com", "A", "foo-a-example.com"),
        ("", "-foo", "example.com", "CNAME", "cname-example-foo.com"),
        ("foo.", "", "example.com", "CNAME", "foo.cname-example.com"),
        ("", ".foo", "example.com", "CNAME", "cname-example.foo.com"),
        ("foo.bar.", "", "example.com", "CNAME", "foo.bar.cname-example.com"),
        ("", ".foo.bar.test", "example.com", "CNAME", "cname-example.foo.bar.test.com"),
        ("%{record_type}-foo", "", "example.com", "A", "a-fooexample.com"),
        ("", "foo-%{record_type}", "example.com", "A", "examplefoo-a.com"),
        ("%{record_type}foo.", "", "example.com", "CNAME", "cnamefoo.example.com"),
        ("", ".foo%{record_type}", "example.com", "A", "example.fooa.com"),
        ("bar.%{record_type}.foo.", "", "example.com", "CNAME", "bar.cname.foo.example.com"),
        ("", ".foo%{record_type}.bar", "example.com", "A", "example.fooa.bar.com"),
    ];
    for (prefix, suffix, name, t, want) in cases {
        let mapper = m(prefix, suffix, "");
        let txt = mapper.to_txt_name(name, rt(t));
        assert_eq!(txt, *want, "{prefix:?} {suffix:?}");
        assert_eq!(read(&mapper, &txt), Some((name.to_string(), Some(rt(t)))), "{prefix:?} {suffix:?}");
    }
}

#[test]
fn old_format_names() {
    assert_eq!(m("", "", "").to_old_format_txt_name("foo.example.com"), "foo.example.com");
    assert_eq!(m("txt.", "", "").to_old_format_txt_name("foo.example.com"), "txt.foo.example.com");
    assert_eq!(m("", "-txt", "").to_old_format_txt_name("foo.example.com"), "foo-txt.example.com");
    assert_eq!(m("txt-%{record_type}.", "", "").to_old_format_txt_name("foo.example.com"), "txt-.foo.example.com");
    assert_eq!(m("txt.", "", "wc").to_old_format_txt_name("*.wildcard.example.com"), "txt.wc.wildcard.example.com");
    for mapper in [m("", "", ""), m("txt.", "", ""), m("", "-txt", ""), m("", ".own", "")] {
        let old = mapper.to_old_format_txt_name("foo.example.com");
        assert_eq!(read(&mapper, &old), Some(("foo.example.com".to_owned(), None)), "{mapper:?}");
    }
}

/// Upstream v0.23 writes `tlsa-` ownership records for TLSA: read back as TLSA ownership, with
/// and without a templated affix.
#[test]
fn tlsa_as_upstream_v0_23() {
    let plain = m("", "", "");
    assert_eq!(plain.to_txt_name("_443._tcp.www.example.org", RecordType::TLSA), "tlsa-_443._tcp.www.example.org");
    assert_eq!(
        read(&plain, "tlsa-_443._tcp.www.example.org"),
        Some(("_443._tcp.www.example.org".to_owned(), Some(RecordType::TLSA)))
    );
    let templated = m("%{record_type}.own.", "", "");
    assert_eq!(templated.to_txt_name("_443._tcp.example.org", rt("TLSA")), "tlsa.own._443._tcp.example.org");
    assert_eq!(
        read(&templated, "tlsa.own._443._tcp.example.org"),
        Some(("_443._tcp.example.org".to_owned(), Some(RecordType::TLSA)))
    );
}

/// LUA records (PowerDNS) are owned through `lua-<name>` TXT records, read back as LUA ownership.
#[test]
fn lua_ownership_names() {
    let plain = m("", "", "");
    assert_eq!(plain.to_txt_name("app.example.org", RecordType::LUA), "lua-app.example.org");
    assert_eq!(read(&plain, "lua-app.example.org"), Some(("app.example.org".to_owned(), Some(RecordType::LUA))));
    let templated = m("%{record_type}.own.", "", "");
    assert_eq!(
        read(&templated, "lua.own.app.example.org"),
        Some(("app.example.org".to_owned(), Some(RecordType::LUA)))
    );
}
