use super::*;
use crate::endpoint::Endpoint;
use crate::registry::{AesKey, NoopRegistry};

const OWNER2_TXT: &str = "\"heritage=external-dns,external-dns/owner=owner-2\"";

/// The zone of upstream's `testTXTRegistryRecordsPrefixed`, for prefix `txt.`.
fn prefixed_zone() -> Vec<Endpoint> {
    vec![
        rec("foo.test-zone.example.org", "CNAME", "foo.loadbalancer.com").with_label("foo", "somefoo"),
        rec("bar.test-zone.example.org", "CNAME", "my-domain.com").with_label("bar", "somebar"),
        txt("txt.bar.test-zone.example.org", OWNER_TXT),
        rec("txt.bar.test-zone.example.org", "CNAME", "baz.test-zone.example.org"),
        txt("qux.test-zone.example.org", "\"random\""),
        rec("tar.test-zone.example.org", "CNAME", "tar.loadbalancer.com").with_label("tar", "sometar"),
        txt("TxT.tar.test-zone.example.org", OWNER2_TXT),
        rec("foobar.test-zone.example.org", "CNAME", "foobar.loadbalancer.com"),
        txt("foobar.test-zone.example.org", OWNER_TXT),
        rec("multiple.test-zone.example.org", "CNAME", "lb1.loadbalancer.com").with_set_identifier("test-set-1"),
        txt("multiple.test-zone.example.org", OWNER_TXT).with_set_identifier("test-set-1"),
        rec("multiple.test-zone.example.org", "CNAME", "lb2.loadbalancer.com").with_set_identifier("test-set-2"),
        txt("multiple.test-zone.example.org", OWNER_TXT).with_set_identifier("test-set-2"),
        rec("*.wildcard.test-zone.example.org", "CNAME", "foo.loadbalancer.com"),
        txt("txt.wc.wildcard.test-zone.example.org", OWNER_TXT),
        rec("dualstack.test-zone.example.org", "A", "1.1.1.1"),
        txt("txt.dualstack.test-zone.example.org", OWNER_TXT),
        rec("dualstack.test-zone.example.org", "AAAA", "2001:db8::1"),
        txt("txt.aaaa-dualstack.test-zone.example.org", OWNER2_TXT),
        rec("mail.test-zone.example.org", "MX", "10 onemail.example.com"),
        txt("txt.mx-mail.test-zone.example.org", OWNER_TXT),
        rec("_sip._udp.sip1.test-zone.example.org", "SRV", "1 50 5060 sip1-n1.test-zone.example.org"),
        txt("txt._sip._udp.sip1.test-zone.example.org", OWNER_TXT),
        rec("sip1.test-zone.example.org", "NAPTR", "10 \"U\" \"SIP+DTU\" \"\" _sip._udp.sip1.test-zone.example.org."),
        txt("txt.sip1.test-zone.example.org", OWNER_TXT),
    ]
}

#[test]
fn prefixed() {
    let want = lines(&[
        "foo.test-zone.example.org CNAME foo=somefoo",
        "bar.test-zone.example.org CNAME bar=somebar,owner=owner",
        "txt.bar.test-zone.example.org CNAME",
        "qux.test-zone.example.org TXT",
        "tar.test-zone.example.org CNAME owner=owner-2,tar=sometar",
        "foobar.test-zone.example.org CNAME",
        "multiple.test-zone.example.org CNAME [test-set-1]",
        "multiple.test-zone.example.org CNAME [test-set-2]",
        "*.wildcard.test-zone.example.org CNAME owner=owner",
        "dualstack.test-zone.example.org A owner=owner",
        "dualstack.test-zone.example.org AAAA owner=owner-2",
        "mail.test-zone.example.org MX owner=owner",
        "_sip._udp.sip1.test-zone.example.org SRV owner=owner",
        "sip1.test-zone.example.org NAPTR owner=owner",
    ]);
    assert_eq!(records_summary(&registry("txt.", "", "owner", "wc"), prefixed_zone()), want);
    assert_eq!(
        records_summary(&registry("TxT.", "", "owner", "wc"), prefixed_zone()),
        want,
        "prefix is case-insensitive"
    );
}

#[test]
fn suffixed() {
    let zone = vec![
        rec("foo.test-zone.example.org", "CNAME", "foo.loadbalancer.com").with_label("foo", "somefoo"),
        rec("bar.test-zone.example.org", "CNAME", "my-domain.com").with_label("bar", "somebar"),
        txt("bar-txt.test-zone.example.org", OWNER_TXT),
        rec("bar-txt.test-zone.example.org", "CNAME", "baz.test-zone.example.org"),
        txt("qux.test-zone.example.org", "\"random\""),
        rec("tar.test-zone.example.org", "CNAME", "tar.loadbalancer.com").with_label("tar", "sometar"),
        txt("tar-TxT.test-zone.example.org", OWNER2_TXT),
        rec("foobar.test-zone.example.org", "CNAME", "foobar.loadbalancer.com"),
        txt("foobar.test-zone.example.org", OWNER_TXT),
        rec("multiple.test-zone.example.org", "CNAME", "lb1.loadbalancer.com").with_set_identifier("test-set-1"),
        txt("multiple.test-zone.example.org", OWNER_TXT).with_set_identifier("test-set-1"),
        rec("dualstack.test-zone.example.org", "A", "1.1.1.1"),
        txt("dualstack-txt.test-zone.example.org", OWNER_TXT),
        rec("dualstack.test-zone.example.org", "AAAA", "2001:db8::1"),
        txt("aaaa-dualstack-txt.test-zone.example.org", OWNER2_TXT),
        rec("mail.test-zone.example.org", "MX", "10 onemail.example.com"),
        txt("mx-mail-txt.test-zone.example.org", OWNER_TXT),
        rec("_sip._udp.sip1.test-zone.example.org", "SRV", "1 50 5060 sip1-n1.test-zone.example.org"),
        txt("_sip-txt._udp.sip1.test-zone.example.org", OWNER_TXT),
        rec("sip1.test-zone.example.org", "NAPTR", "10 \"U\" \"SIP+DTU\" \"\" _sip._udp.sip1.test-zone.example.org."),
        txt("sip1-txt.test-zone.example.org", OWNER_TXT),
    ];
    let want = lines(&[
        "foo.test-zone.example.org CNAME foo=somefoo",
        "bar.test-zone.example.org CNAME bar=somebar,owner=owner",
        "bar-txt.test-zone.example.org CNAME",
        "qux.test-zone.example.org TXT",
        "tar.test-zone.example.org CNAME owner=owner-2,tar=sometar",
        "foobar.test-zone.example.org CNAME",
        "multiple.test-zone.example.org CNAME [test-set-1]",
        "dualstack.test-zone.example.org A owner=owner",
        "dualstack.test-zone.example.org AAAA owner=owner-2",
        "mail.test-zone.example.org MX owner=owner",
        "_sip._udp.sip1.test-zone.example.org SRV owner=owner",
        "sip1.test-zone.example.org NAPTR owner=owner",
    ]);
    assert_eq!(records_summary(&registry("", "-txt", "owner", ""), zone.clone()), want);
    assert_eq!(records_summary(&registry("", "-TxT", "owner", ""), zone), want);
}

#[test]
fn no_prefix() {
    let zone = vec![
        rec("foo.test-zone.example.org", "CNAME", "foo.loadbalancer.com"),
        rec("bar.test-zone.example.org", "CNAME", "my-domain.com"),
        rec("alias.test-zone.example.org", "A", "my-domain.com").with_property("alias", "true"),
        txt("cname-alias.test-zone.example.org", OWNER_TXT),
        txt(
            "txt.bar.test-zone.example.org",
            "\"heritage=external-dns,external-dns/owner=owner,external-dns/resource=ingress/default/my-ingress\"",
        ),
        rec("txt.bar.test-zone.example.org", "CNAME", "baz.test-zone.example.org"),
        txt("qux.test-zone.example.org", "\"random\""),
        rec("tar.test-zone.example.org", "CNAME", "tar.loadbalancer.com"),
        txt("txt.tar.test-zone.example.org", OWNER2_TXT),
        rec("foobar.test-zone.example.org", "CNAME", "foobar.loadbalancer.com"),
        txt("foobar.test-zone.example.org", OWNER_TXT),
        rec("dualstack.test-zone.example.org", "A", "1.1.1.1"),
        txt("dualstack.test-zone.example.org", OWNER_TXT),
        rec("dualstack.test-zone.example.org", "AAAA", "2001:db8::1"),
        txt("aaaa-dualstack.test-zone.example.org", OWNER2_TXT),
        rec("mail.test-zone.example.org", "MX", "10 onemail.example.com"),
        txt("mx-mail.test-zone.example.org", OWNER_TXT),
        rec("_sip._udp.sip1.test-zone.example.org", "SRV", "1 50 5060 sip1-n1.test-zone.example.org"),
        txt("_sip._udp.sip1.test-zone.example.org", OWNER_TXT),
        rec("sip1.test-zone.example.org", "NAPTR", "10 \"U\" \"SIP+DTU\" \"\" _sip._udp.sip1.test-zone.example.org."),
        txt("sip1.test-zone.example.org", OWNER_TXT),
    ];
    let want = lines(&[
        "foo.test-zone.example.org CNAME",
        "bar.test-zone.example.org CNAME",
        "alias.test-zone.example.org A owner=owner",
        "txt.bar.test-zone.example.org CNAME owner=owner,resource=ingress/default/my-ingress",
        "qux.test-zone.example.org TXT",
        "tar.test-zone.example.org CNAME",
        "foobar.test-zone.example.org CNAME owner=owner",
        "dualstack.test-zone.example.org A owner=owner",
        "dualstack.test-zone.example.org AAAA owner=owner-2",
        "mail.test-zone.example.org MX owner=owner",
        "_sip._udp.sip1.test-zone.example.org SRV owner=owner",
        "sip1.test-zone.example.org NAPTR owner=owner",
    ]);
    let owned = registry("", "", "owner", "").records(zone);
    assert_eq!(summary(&owned.endpoints), want);
    // The ownership TXTs are known to apply, the ordinary TXT is not among them.
    assert_eq!(owned.txt_count(), 9);
    assert!(owned.has_txt(&DnsName::parse("cname-alias.test-zone.example.org").unwrap(), ""));
    assert!(!owned.has_txt(&DnsName::parse("qux.test-zone.example.org").unwrap(), ""));
}

#[test]
fn templated_affixes() {
    let zone = vec![
        rec("foo.test-zone.example.org", "A", "1.1.1.1"),
        txt("txt-a.foo.test-zone.example.org", OWNER_TXT),
        rec("mail.test-zone.example.org", "MX", "10 onemail.example.com"),
        txt("txt-mx.mail.test-zone.example.org", OWNER_TXT),
    ];
    let want = lines(&["foo.test-zone.example.org A owner=owner", "mail.test-zone.example.org MX owner=owner"]);
    assert_eq!(records_summary(&registry("txt-%{record_type}.", "", "owner", "wc"), zone.clone()), want);
    assert_eq!(records_summary(&registry("TxT-%{record_type}.", "", "owner", "wc"), zone), want);

    let zone = vec![
        rec("bar.test-zone.example.org", "CNAME", "8.8.8.8"),
        txt("bartxtcname.test-zone.example.org", OWNER_TXT),
        rec("mail.test-zone.example.org", "MX", "10 onemail.example.com"),
        txt("mailtxt.test-zone.example.org", OWNER_TXT),
    ];
    let want = lines(&["bar.test-zone.example.org CNAME owner=owner", "mail.test-zone.example.org MX owner=owner"]);
    assert_eq!(records_summary(&registry("", "txt%{record_type}", "owner", "wc"), zone.clone()), want);
    assert_eq!(records_summary(&registry("", "TxT%{record_type}", "owner", "wc"), zone), want);
}

/// upstream's `testTXTRegistryMissingRecords*`: records of ours whose new-format TXT is missing
/// get `txt/force-update`, the others do not.
#[test]
fn missing_txt_forces_update() {
    let long = "this-is-a-63-characters-long-label-that-we-do-expect-will-work.test-zone.example.org";
    let zone = vec![
        rec("oldformat.test-zone.example.org", "CNAME", "foo.loadbalancer.com"),
        txt("oldformat.test-zone.example.org", OWNER_TXT),
        rec("oldformat2.test-zone.example.org", "A", "bar.loadbalancer.com"),
        txt("oldformat2.test-zone.example.org", OWNER_TXT),
        rec("newformat.test-zone.example.org", "NS", "foobar.nameserver.com"),
        txt("ns-newformat.test-zone.example.org", OWNER_TXT),
        txt("newformat.test-zone.example.org", OWNER_TXT),
        txt("noheritage.test-zone.example.org", "\"random\""),
        rec("oldformat-otherowner.test-zone.example.org", "A", "bar.loadbalancer.com"),
        txt("oldformat-otherowner.test-zone.example.org", "\"heritage=external-dns,external-dns/owner=otherowner\""),
        rec("unmanaged1.test-zone.example.org", "A", "unmanaged1.loadbalancer.com"),
        rec("unmanaged2.test-zone.example.org", "CNAME", "unmanaged2.loadbalancer.com"),
        rec(long, "CNAME", "foo.loadbalancer.com"),
        txt(long, OWNER_TXT),
    ];
    let reg = managed(
        TxtConfig { owner_id: "owner".into(), wildcard_replacement: "wc".into(), ..TxtConfig::default() },
        &[RecordType::CNAME, RecordType::A, RecordType::NS],
    );
    assert_eq!(
        records_summary(&reg, zone),
        lines(&[
            "oldformat.test-zone.example.org CNAME owner=owner +force",
            "oldformat2.test-zone.example.org A owner=owner +force",
            "newformat.test-zone.example.org NS owner=owner",
            "noheritage.test-zone.example.org TXT",
            "oldformat-otherowner.test-zone.example.org A owner=otherowner",
            "unmanaged1.test-zone.example.org A",
            "unmanaged2.test-zone.example.org CNAME",
            // its TXT name would have a 69-character label: no update can write it
            &format!("{long} CNAME owner=owner"),
        ])
    );

    let zone = vec![
        rec("oldformat.test-zone.example.org", "CNAME", "foo.loadbalancer.com"),
        txt("txt.oldformat.test-zone.example.org", OWNER_TXT),
        rec("oldformat2.test-zone.example.org", "A", "bar.loadbalancer.com"),
        txt("txt.oldformat2.test-zone.example.org", OWNER_TXT),
        rec("newformat.test-zone.example.org", "NS", "foobar.nameserver.com"),
        txt("txt.ns-newformat.test-zone.example.org", OWNER_TXT),
        txt("oldformat3.test-zone.example.org", "\"random\""),
        txt("txt.oldformat3.test-zone.example.org", OWNER_TXT),
        txt("txt.newformat.test-zone.example.org", OWNER_TXT),
        txt("noheritage.test-zone.example.org", "\"random\""),
        rec("oldformat-otherowner.test-zone.example.org", "A", "bar.loadbalancer.com"),
        txt(
            "txt.oldformat-otherowner.test-zone.example.org",
            "\"heritage=external-dns,external-dns/owner=otherowner\"",
        ),
        rec("unmanaged1.test-zone.example.org", "A", "unmanaged1.loadbalancer.com"),
        rec("unmanaged2.test-zone.example.org", "CNAME", "unmanaged2.loadbalancer.com"),
    ];
    let config = TxtConfig {
        owner_id: "owner".into(),
        prefix: "txt.".into(),
        wildcard_replacement: "wc".into(),
        ..TxtConfig::default()
    };
    let reg = managed(config, &[RecordType::CNAME, RecordType::A, RecordType::NS, RecordType::TXT]);
    assert_eq!(
        records_summary(&reg, zone),
        lines(&[
            "oldformat.test-zone.example.org CNAME owner=owner +force",
            "oldformat2.test-zone.example.org A owner=owner +force",
            "oldformat3.test-zone.example.org TXT owner=owner +force",
            "newformat.test-zone.example.org NS owner=owner",
            "noheritage.test-zone.example.org TXT",
            "oldformat-otherowner.test-zone.example.org A owner=otherowner",
            "unmanaged1.test-zone.example.org A",
            "unmanaged2.test-zone.example.org CNAME",
        ])
    );
}

#[test]
fn force_update_needs_some_ownership_txt_and_a_managed_type() {
    let reg = managed(TxtConfig { owner_id: "owner".into(), ..TxtConfig::default() }, &[RecordType::A]);
    // Owned by label only (no TXT in the zone at all): upstream sets nothing.
    let zone = vec![with_owner(rec("a.example.org", "A", "1.1.1.1"), "owner")];
    assert_eq!(records_summary(&reg, zone), lines(&["a.example.org A owner=owner"]));
    // An old-format TXT owns both; only the managed type is forced.
    let zone = vec![
        rec("a.example.org", "A", "1.1.1.1"),
        rec("a.example.org", "MX", "10 mx.example.org"),
        txt("a.example.org", OWNER_TXT),
    ];
    assert_eq!(
        records_summary(&reg, zone),
        lines(&["a.example.org A owner=owner +force", "a.example.org MX owner=owner"])
    );
    // Excluded wins over managed.
    let reg = TxtRegistry::new(TxtConfig {
        owner_id: "owner".into(),
        managed_types: vec![RecordType::A],
        excluded_types: vec![RecordType::A],
        ..TxtConfig::default()
    })
    .unwrap();
    let zone = vec![rec("a.example.org", "A", "1.1.1.1"), txt("a.example.org", OWNER_TXT)];
    assert_eq!(records_summary(&reg, zone), lines(&["a.example.org A owner=owner"]));
}

#[test]
fn alias_a_records_fall_back_to_the_cname_txt() {
    let name = "alias.test-zone.example.org";
    for (with_a_txt, force) in [(false, true), (true, false)] {
        let mut zone = vec![
            with_owner(rec(name, "A", "foo.eu-central-1.elb.amazonaws.com"), "owner").with_property("alias", "true"),
            txt("cname-alias.test-zone.example.org", OWNER_TXT),
        ];
        if with_a_txt {
            zone.push(txt("a-alias.test-zone.example.org", OWNER_TXT));
        }
        let reg = managed(TxtConfig { owner_id: "owner".into(), ..TxtConfig::default() }, &[RecordType::A]);
        let owned = reg.records(zone);
        let ep = &owned.endpoints[0];
        assert_eq!(ep.owner(), Some("owner"));
        assert_eq!(ep.property(FORCE_UPDATE_PROPERTY) == Some("true"), force, "with a- TXT: {with_a_txt}");
    }
    // Not an alias: the cname- TXT owns nothing of an A record.
    let zone = vec![rec(name, "A", "1.1.1.1"), txt("cname-alias.test-zone.example.org", OWNER_TXT)];
    assert_eq!(records_summary(&registry("", "", "owner", ""), zone), lines(&[&format!("{name} A")]));
}

#[test]
fn typed_txt_wins_over_legacy_and_old_format() {
    let zone = vec![
        rec("x.example.org", "A", "1.1.1.1").with_property("alias", "A"),
        txt("x.example.org", "\"heritage=external-dns,external-dns/owner=old-format\""),
        txt("cname-x.example.org", "\"heritage=external-dns,external-dns/owner=legacy\""),
        txt("a-x.example.org", "\"heritage=external-dns,external-dns/owner=typed\""),
    ];
    assert_eq!(records_summary(&registry("", "", "owner", ""), zone.clone()), lines(&["x.example.org A owner=typed"]));
    assert_eq!(
        records_summary(&registry("", "", "owner", ""), zone[..3].to_vec()),
        lines(&["x.example.org A owner=legacy"])
    );
    let aaaa = vec![rec("x.example.org", "AAAA", "::1"), zone[1].clone()];
    assert_eq!(
        records_summary(&registry("", "", "owner", ""), aaaa),
        lines(&["x.example.org AAAA"]),
        "AAAA never uses the old format"
    );
}

#[test]
fn empty_txt_records_are_dropped() {
    let zone = vec![
        Endpoint::new(
            DnsName::parse("empty-targets.test-zone.example.org").unwrap(),
            RecordType::TXT,
            Targets::default(),
        ),
        txt("valid-targets.test-zone.example.org", "\"target1\""),
    ];
    assert_eq!(
        records_summary(&registry("", "", "owner", ""), zone),
        lines(&["valid-targets.test-zone.example.org TXT"])
    );
}

#[test]
fn migrates_from_old_owner() {
    let zone = vec![
        rec("bar.test-zone.example.org", "A", "1.2.3.4"),
        txt("a-bar.test-zone.example.org", "\"heritage=external-dns,external-dns/owner=foo\""),
        rec("baz.test-zone.example.org", "A", "1.2.3.5"),
        txt("a-baz.test-zone.example.org", "\"heritage=external-dns,external-dns/owner=someone-else\""),
    ];
    let config = |old: &str| TxtConfig {
        owner_id: "foobar".into(),
        prefix: "%{record_type}-".into(),
        old_owner_id: old.into(),
        ..TxtConfig::default()
    };
    let reg = TxtRegistry::new(config("foo")).unwrap();
    let owned = reg.records(zone.clone());
    assert_eq!(
        summary(&owned.endpoints),
        lines(&["bar.test-zone.example.org A owner=foobar +force", "baz.test-zone.example.org A owner=someone-else"])
    );
    // The taken-over record is marked so that one update rewrites its TXT.
    assert_eq!(owned.endpoints[0].property(crate::endpoint::FORCE_UPDATE_PROPERTY), Some("true"));
    assert_eq!(owned.endpoints[1].property(crate::endpoint::FORCE_UPDATE_PROPERTY), None);
    let mut bar = owned.endpoints[0].clone();
    let txt = reg.ownership_txt(&mut bar, &owned).unwrap();
    assert_eq!(txt.targets, vec!["\"heritage=external-dns,external-dns/owner=foobar\""]);
    // Without the flag nothing changes hands.
    let reg = TxtRegistry::new(config("")).unwrap();
    assert_eq!(
        records_summary(&reg, zone),
        lines(&["bar.test-zone.example.org A owner=foo", "baz.test-zone.example.org A owner=someone-else"])
    );
}

#[test]
fn encrypted_zone_reads_with_the_key_and_plain_text_still() {
    let k = AesKey::parse("12345678901234567890123456789012").unwrap();
    let sealed = "\"h8UQ6jelUFUsEIn7SbFktc2MYXPx/q8lySqI4VwfVtVaIbb2nkHWV/88KKbuLtu7fJNzMir8ELVeVnRSY01KdiIuj7ledqZe5ailEjQaU5Z6uEKd5pgs6sH8\"";
    let zone = vec![
        rec("foobar.test-zone.example.org", "CNAME", "foobar.loadbalancer.com"),
        txt("txt.cname-foobar.test-zone.example.org", sealed),
        rec("plain.test-zone.example.org", "CNAME", "plain.loadbalancer.com"),
        txt("txt.cname-plain.test-zone.example.org", OWNER_TXT),
    ];
    let config =
        TxtConfig { owner_id: "owner".into(), prefix: "txt.".into(), encryption_key: Some(k), ..TxtConfig::default() };
    let owned = TxtRegistry::new(config).unwrap().records(zone.clone());
    assert_eq!(
        summary(&owned.endpoints),
        lines(&[
            "foobar.test-zone.example.org CNAME owner=owner,txt-encryption-nonce=h8UQ6jelUFUsEIn7",
            "plain.test-zone.example.org CNAME owner=owner",
        ])
    );
    // Without the key the sealed value is an ordinary TXT record.
    let plain = registry("txt.", "", "owner", "");
    assert_eq!(records_summary(&plain, zone).len(), 3);
}

#[test]
fn noop_registry_passes_everything_through() {
    let zone = prefixed_zone();
    let owned = NoopRegistry.records(zone.clone());
    assert_eq!(owned.endpoints, zone);
    assert_eq!(owned.txt_count(), 0);
    assert_eq!(NoopRegistry.owner_id(), "");
    assert!(NoopRegistry.ownership_names(&zone[0]).is_empty());
}

/// upstream's `TestMultiClusterDifferentRecordTypeOwnership`: another cluster's TXT without our
/// prefix owns nothing here, and is not handed to the planner either.
#[test]
fn txt_of_another_prefix_owns_nothing() {
    let zone = vec![
        txt(
            "bar.test-zone.example.org",
            "\"heritage=external-dns,external-dns/owner=cat,external-dns/resource=ingress/default/foo\"",
        ),
        rec("bar.test-zone.example.org", "A", "1.2.3.4"),
    ];
    let owned = registry("_owner.", "", "bar", "").records(zone);
    assert_eq!(summary(&owned.endpoints), lines(&["bar.test-zone.example.org A"]));
    assert_eq!(owned.txt_count(), 1);
}
