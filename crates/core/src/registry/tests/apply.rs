use super::*;
use crate::changes::Changes;
use crate::endpoint::{Endpoint, label};
use crate::error::InvalidKind;
use crate::registry::{AesKey, NoopRegistry, Owned, labels};

fn cname(name: &str, target: &str, owner: &str, resource: Option<&str>) -> Endpoint {
    let ep = with_owner(rec(name, "CNAME", target), owner);
    match resource {
        Some(r) => ep.with_label("resource", r),
        None => ep,
    }
}

/// `name TXT [set] "value" ->owned-record` lines, or the record summary for other types.
fn show(eps: &[Endpoint]) -> Vec<String> {
    eps.iter()
        .map(|e| {
            let set = if e.set_identifier.is_empty() { String::new() } else { format!(" [{}]", e.set_identifier) };
            if e.record_type == RecordType::TXT {
                let owned = e.labels.get(label::OWNED_RECORD).map(String::as_str).unwrap_or("?");
                format!("{} TXT{set} {} ->{owned}", e.dns_name, e.targets.join(" "))
            } else {
                summary(std::slice::from_ref(e)).remove(0)
            }
        })
        .collect()
}

fn v(owner: &str, resource: Option<&str>) -> String {
    match resource {
        Some(r) => format!("\"heritage=external-dns,external-dns/owner={owner},external-dns/resource={r}\""),
        None => format!("\"heritage=external-dns,external-dns/owner={owner}\""),
    }
}

/// upstream's `testTXTRegistryApplyChangesWithPrefix` and `…WithSuffix`.
#[test]
fn prefixed_and_suffixed() {
    let ing = Some("ingress/default/my-ingress");
    let ing2 = Some("ingress/default/my-ingress-2");
    let changes = || Changes {
        create: vec![
            cname("new-record-1.test-zone.example.org", "new-loadbalancer-1.lb.com", "owner", ing),
            cname("multiple.test-zone.example.org", "lb3.loadbalancer.com", "owner", ing)
                .with_set_identifier("test-set-3"),
            cname("example", "new-loadbalancer-1.lb.com", "owner", ing),
            cname("*.wildcard.test-zone.example.org", "new-loadbalancer-1.lb.com", "owner", ing),
        ],
        delete: vec![
            cname("foobar.test-zone.example.org", "foobar.loadbalancer.com", "owner", None),
            cname("multiple.test-zone.example.org", "lb1.loadbalancer.com", "owner", None)
                .with_set_identifier("test-set-1"),
        ],
        update_new: vec![
            cname("tar.test-zone.example.org", "new-tar.loadbalancer.com", "owner", ing2),
            cname("multiple.test-zone.example.org", "new.loadbalancer.com", "owner", ing2)
                .with_set_identifier("test-set-2"),
        ],
        update_old: vec![
            cname("tar.test-zone.example.org", "tar.loadbalancer.com", "owner", None),
            cname("multiple.test-zone.example.org", "lb2.loadbalancer.com", "owner", None)
                .with_set_identifier("test-set-2"),
        ],
    };
    for (prefix, suffix, txt_of) in [
        ("txt.", "", (|first: &str, rest: &str| format!("txt.cname-{first}{rest}")) as fn(&str, &str) -> String),
        ("", "-txt", |first, rest| format!("cname-{first}-txt{rest}")),
    ] {
        let reg = registry(prefix, suffix, "owner", "wildcard");
        let out = reg.apply(changes(), &Owned::default());
        assert!(out.invalid.is_empty(), "{:?}", out.invalid);
        let c = &out.changes;
        let zone = ".test-zone.example.org";
        assert_eq!(
            show(&c.create),
            vec![
                "new-record-1.test-zone.example.org CNAME owner=owner,resource=ingress/default/my-ingress".to_owned(),
                "multiple.test-zone.example.org CNAME [test-set-3] owner=owner,resource=ingress/default/my-ingress"
                    .to_owned(),
                "example CNAME owner=owner,resource=ingress/default/my-ingress".to_owned(),
                "*.wildcard.test-zone.example.org CNAME owner=owner,resource=ingress/default/my-ingress".to_owned(),
                format!("{} TXT {} ->new-record-1{zone}", txt_of("new-record-1", zone), v("owner", ing)),
                format!("{} TXT [test-set-3] {} ->multiple{zone}", txt_of("multiple", zone), v("owner", ing)),
                format!("{} TXT {} ->example", txt_of("example", ""), v("owner", ing)),
                format!(
                    "{} TXT {} ->*.wildcard{zone}",
                    txt_of("wildcard", &format!(".wildcard{zone}")),
                    v("owner", ing)
                ),
            ],
            "{prefix:?} {suffix:?}"
        );
        assert_eq!(
            show(&c.delete)[2..],
            [
                format!("{} TXT {} ->foobar{zone}", txt_of("foobar", zone), v("owner", None)),
                format!("{} TXT [test-set-1] {} ->multiple{zone}", txt_of("multiple", zone), v("owner", None)),
            ]
        );
        assert_eq!(
            show(&c.update_old)[2..],
            [
                format!("{} TXT {} ->tar{zone}", txt_of("tar", zone), v("owner", None)),
                format!("{} TXT [test-set-2] {} ->multiple{zone}", txt_of("multiple", zone), v("owner", None)),
            ]
        );
        assert_eq!(
            show(&c.update_new)[2..],
            [
                format!("{} TXT {} ->tar{zone}", txt_of("tar", zone), v("owner", ing2)),
                format!("{} TXT [test-set-2] {} ->multiple{zone}", txt_of("multiple", zone), v("owner", ing2)),
            ]
        );
    }
}

#[test]
fn templated_affixes() {
    let create = || Changes {
        create: vec![cname(
            "new-record-1.test-zone.example.org",
            "new-loadbalancer-1.lb.com",
            "x",
            Some("ingress/default/my-ingress"),
        )],
        ..Changes::default()
    };
    for (prefix, suffix, owner, want) in [
        ("prefix%{record_type}.", "", "owner-1", "prefixcname.new-record-1.test-zone.example.org"),
        ("", "-%{record_type}suffix", "owner-2", "new-record-1-cnamesuffix.test-zone.example.org"),
    ] {
        let out = registry(prefix, suffix, owner, "").apply(create(), &Owned::default());
        assert_eq!(
            show(&out.changes.create)[1],
            format!("{want} TXT {} ->new-record-1.test-zone.example.org", v(owner, Some("ingress/default/my-ingress")))
        );
    }
}

/// upstream's `testTXTRegistryApplyChangesNoPrefix` and `TestNewTXTScheme`: updates and deletes
/// of other owners are dropped; creates take our owner; alias TXTs are `a-` and inherit the
/// provider-specific properties.
#[test]
fn filters_other_owners_and_labels_creates() {
    let changes = Changes {
        create: vec![
            rec("new-record-1.test-zone.example.org", "CNAME", "new-loadbalancer-1.lb.com"),
            with_owner(rec("example", "CNAME", "new-loadbalancer-1.lb.com"), "someone"),
            rec("new-alias.test-zone.example.org", "A", "my-domain.com").with_property("alias", "true"),
        ],
        delete: vec![
            cname("foobar.test-zone.example.org", "foobar.loadbalancer.com", "owner", None),
            cname("other.test-zone.example.org", "x.example.org", "owner-2", None),
            rec("nolabel.test-zone.example.org", "CNAME", "x.example.org"),
        ],
        update_new: vec![cname("tar.test-zone.example.org", "new-tar.loadbalancer.com", "owner-2", None)],
        update_old: vec![cname("tar.test-zone.example.org", "tar.loadbalancer.com", "owner-2", None)],
    };
    let out = registry("", "", "owner", "").apply(changes, &Owned::default());
    let c = out.changes;
    assert_eq!(
        show(&c.create),
        vec![
            "new-record-1.test-zone.example.org CNAME owner=owner",
            "example CNAME owner=owner",
            "new-alias.test-zone.example.org A owner=owner",
            &format!(
                "cname-new-record-1.test-zone.example.org TXT {} ->new-record-1.test-zone.example.org",
                v("owner", None)
            ),
            &format!("cname-example TXT {} ->example", v("owner", None)),
            &format!("a-new-alias.test-zone.example.org TXT {} ->new-alias.test-zone.example.org", v("owner", None)),
        ]
    );
    assert_eq!(c.create[5].property("alias"), Some("true"), "TXTs inherit provider-specific properties");
    assert_eq!(c.create[5].ttl, crate::Ttl(0));
    assert_eq!(
        show(&c.delete),
        vec![
            "foobar.test-zone.example.org CNAME owner=owner",
            &format!("cname-foobar.test-zone.example.org TXT {} ->foobar.test-zone.example.org", v("owner", None)),
        ]
    );
    assert!(c.update_old.is_empty() && c.update_new.is_empty());
}

#[test]
fn existing_txt_is_not_created_twice() {
    // The record was deleted by hand, its TXT is still there (upstream issue #4914).
    let reg = registry("", "", "owner", "");
    for set in ["", "set-identifier"] {
        let zone = vec![txt("a-new-record-1.test-zone.example.org", OWNER_TXT).with_set_identifier(set)];
        let owned = reg.records(zone);
        let changes = Changes {
            create: vec![rec("new-record-1.test-zone.example.org", "A", "1.1.1.1").with_set_identifier(set)],
            ..Changes::default()
        };
        let out = reg.apply(changes.clone(), &owned);
        assert_eq!(
            show(&out.changes.create),
            vec![format!(
                "new-record-1.test-zone.example.org A{} owner=owner",
                if set.is_empty() { String::new() } else { format!(" [{set}]") }
            )]
        );
        // Another set identifier's TXT does not count.
        let other = reg.records(vec![txt("a-new-record-1.test-zone.example.org", OWNER_TXT).with_set_identifier("zz")]);
        assert_eq!(reg.apply(changes, &other).changes.create.len(), 2);
    }
}

#[test]
fn unnamable_txt_is_reported_not_written() {
    // upstream's vector has a 71-character label, which no record can have here; with 60 it is
    // the TXT name (`cname-` in front) that is too long.
    let long = "foo-some-really-big-name-not-supported-and-will-fail-0000000.test-zone.example.org";
    let reg = registry("", "", "owner", "");
    let changes = Changes {
        create: vec![
            rec(long, "CNAME", "new-foo.loadbalancer.com"),
            rec("*.example.org", "A", "1.1.1.1"),
            rec("ok.example.org", "A", "1.1.1.1"),
        ],
        delete: vec![with_owner(rec(long, "CNAME", "x.example.org"), "owner")],
        ..Changes::default()
    };
    let out = reg.apply(changes, &Owned::default());
    assert_eq!(out.changes.create.len(), 2, "only ok.example.org and its TXT");
    assert_eq!(out.changes.delete.len(), 1, "the record is deleted, it has no TXT to delete");
    assert_eq!(out.invalid.len(), 3);
    assert!(out.invalid.iter().all(|i| i.kind == InvalidKind::Name));
    assert!(out.invalid[0].reason.contains("not created"), "{}", out.invalid[0]);
    assert!(out.invalid[1].reason.contains("--txt-wildcard-replacement"), "{}", out.invalid[1]);
    assert!(out.invalid[2].reason.contains("deleted without it"), "{}", out.invalid[2]);
    assert!(reg.txt_name(&rec(long, "CNAME", "x"), &Owned::default()).is_err());
}

#[test]
fn generated_txt_endpoint() {
    let reg = registry("", "", "owner", "");
    let mut r = with_owner(rec("foo.test-zone.example.org", "CNAME", "new-foo.loadbalancer.com"), "owner")
        .with_set_identifier("s");
    let t = reg.ownership_txt(&mut r, &Owned::default()).unwrap();
    assert_eq!(t.dns_name.as_str(), "cname-foo.test-zone.example.org");
    assert_eq!(t.record_type, RecordType::TXT);
    assert_eq!(t.targets, vec![v("owner", None)]);
    assert_eq!(t.set_identifier, "s");
    assert_eq!(t.labels.len(), 1);
    assert_eq!(t.labels[label::OWNED_RECORD], "foo.test-zone.example.org");
    let mut aaaa = with_owner(rec("foo.test-zone.example.org", "AAAA", "2001:db8::1"), "owner");
    assert_eq!(
        reg.ownership_txt(&mut aaaa, &Owned::default()).unwrap().dns_name.as_str(),
        "aaaa-foo.test-zone.example.org"
    );
}

#[test]
fn ownership_names_list_every_txt_that_can_own() {
    let reg = registry("txt.", "", "owner", "wc");
    let names = |ep: &Endpoint| reg.ownership_names(ep).iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(
        names(&rec("foo.example.org", "A", "1.1.1.1")),
        ["txt.a-foo.example.org", "txt.a-_apex.foo.example.org", "txt.foo.example.org"]
    );
    assert_eq!(
        names(&rec("foo.example.org", "AAAA", "::1")),
        ["txt.aaaa-foo.example.org", "txt.aaaa-_apex.foo.example.org"]
    );
    assert_eq!(
        names(&rec("foo.example.org", "A", "lb.example.net").with_property("alias", "true")),
        ["txt.a-foo.example.org", "txt.a-_apex.foo.example.org", "txt.cname-foo.example.org", "txt.foo.example.org"]
    );
    assert_eq!(
        names(&rec("*.example.org", "CNAME", "x.example.net")),
        ["txt.cname-wc.example.org", "txt.wc.example.org"]
    );
    let plain = registry("", "", "owner", "");
    assert_eq!(
        plain.ownership_names(&rec("foo.example.org", "CNAME", "x")).iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        ["cname-foo.example.org", "cname-_apex.foo.example.org", "foo.example.org"]
    );
}

/// upstream's `TestTXTRegistryApplyChangesEncrypt`: deleting what `records` read gives back the
/// zone's encrypted TXT byte for byte.
#[test]
fn encrypted_delete_gives_back_the_zone_bytes() {
    let sealed = "\"h8UQ6jelUFUsEIn7SbFktc2MYXPx/q8lySqI4VwfVtVaIbb2nkHWV/88KKbuLtu7fJNzMir8ELVeVnRSY01KdiIuj7ledqZe5ailEjQaU5Z6uEKd5pgs6sH8\"";
    let zone = vec![
        rec("foobar.test-zone.example.org", "CNAME", "foobar.loadbalancer.com"),
        txt("txt.cname-foobar.test-zone.example.org", sealed),
    ];
    let reg = TxtRegistry::new(TxtConfig {
        owner_id: "owner".into(),
        prefix: "txt.".into(),
        encrypt: true,
        encryption_key: Some(AesKey::parse("12345678901234567890123456789012").unwrap()),
        ..TxtConfig::default()
    })
    .unwrap();
    let owned = reg.records(zone);
    let out = reg.apply(Changes { delete: owned.endpoints.clone(), ..Changes::default() }, &owned);
    assert_eq!(
        show(&out.changes.delete)[1],
        format!("txt.cname-foobar.test-zone.example.org TXT {sealed} ->foobar.test-zone.example.org")
    );

    // An update with the same labels keeps the bytes; other labels get a fresh nonce.
    let old = owned.endpoints[0].clone();
    let mut new = old.clone();
    new.labels.remove(label::TXT_ENCRYPTION_NONCE);
    let mut moved = new.clone().with_label("resource", "ingress/default/other");
    moved.labels.insert(label::TXT_ENCRYPTION_NONCE.into(), "h8UQ6jelUFUsEIn7".into());
    let out = reg.apply(
        Changes { update_old: vec![old.clone(), old], update_new: vec![new, moved], ..Changes::default() },
        &owned,
    );
    let c = out.changes;
    assert_eq!(c.update_old[2].targets[0], sealed);
    assert_eq!(c.update_new[2].targets[0], sealed);
    let changed = &c.update_new[3].targets[0];
    assert!(!changed.starts_with("\"h8UQ6jelUFUsEIn7"), "the zone's nonce is not reused for other labels: {changed}");
    let decoded = labels::decode(changed, reg_key().as_ref()).unwrap();
    assert_eq!(decoded["resource"], "ingress/default/other");
    assert_eq!(c.update_new[1].labels[label::TXT_ENCRYPTION_NONCE], decoded[label::TXT_ENCRYPTION_NONCE]);
}

fn reg_key() -> Option<AesKey> {
    Some(AesKey::parse("12345678901234567890123456789012").unwrap())
}

#[test]
fn encrypted_creates_keep_their_nonce() {
    let k = AesKey::parse("ZPitL0NGVQBZbTD6DwXJzD8RiStSazzYXQsdUowLURY=").unwrap();
    let reg = TxtRegistry::new(TxtConfig {
        owner_id: "owner".into(),
        encrypt: true,
        encryption_key: Some(k.clone()),
        ..TxtConfig::default()
    })
    .unwrap();
    let changes = Changes {
        create: vec![rec("thing3.org", "A", "1.2.3.4"), rec("thing4.org", "AAAA", "2001:db8::2")],
        ..Changes::default()
    };
    let out = reg.apply(changes, &Owned::default());
    let c = &out.changes.create;
    for (record, txt) in [(&c[0], &c[2]), (&c[1], &c[3])] {
        let nonce = &record.labels[label::TXT_ENCRYPTION_NONCE];
        assert!(!txt.labels.contains_key(label::TXT_ENCRYPTION_NONCE));
        assert!(!txt.targets[0].contains("heritage"));
        assert!(txt.targets[0].starts_with(&format!("\"{nonce}")));
        let decoded = labels::decode(&txt.targets[0], Some(&k)).unwrap();
        assert!(labels::same_value(&decoded, &record.labels));
        // Writing the same record again gives the same bytes.
        let mut again = record.clone();
        assert_eq!(reg.ownership_txt(&mut again, &Owned::default()).unwrap().targets, txt.targets);
    }
}

#[test]
fn noop_apply_passes_changes_through() {
    let changes = Changes { create: vec![rec("a.example.org", "A", "1.1.1.1")], ..Changes::default() };
    let out = NoopRegistry.apply(changes.clone(), &Owned::default());
    assert_eq!(out.changes, changes);
    assert!(out.invalid.is_empty());
}

/// Turning encryption on or off: the new side follows the setting (as upstream), the old side
/// keeps the zone's bytes.
#[test]
fn switching_encryption_on_and_off() {
    let sealed = "\"h8UQ6jelUFUsEIn7SbFktc2MYXPx/q8lySqI4VwfVtVaIbb2nkHWV/88KKbuLtu7fJNzMir8ELVeVnRSY01KdiIuj7ledqZe5ailEjQaU5Z6uEKd5pgs6sH8\"";
    let config = |encrypt| TxtConfig {
        owner_id: "owner".into(),
        prefix: "txt.".into(),
        encrypt,
        encryption_key: reg_key(),
        ..TxtConfig::default()
    };
    let update = |reg: &TxtRegistry, txt_value: &str| {
        let zone = vec![
            rec("foobar.test-zone.example.org", "CNAME", "foobar.loadbalancer.com"),
            txt("txt.cname-foobar.test-zone.example.org", txt_value),
        ];
        let owned = reg.records(zone);
        let old = owned.endpoints[0].clone();
        let mut new = rec("foobar.test-zone.example.org", "CNAME", "new.loadbalancer.com");
        new.labels.insert("owner".into(), "owner".into());
        let c =
            reg.apply(Changes { update_old: vec![old], update_new: vec![new], ..Changes::default() }, &owned).changes;
        (c.update_old[1].targets[0].clone(), c.update_new[1].targets[0].clone())
    };
    // on: a plain TXT gets encrypted on update
    let on = TxtRegistry::new(config(true)).unwrap();
    let (old, new) = update(&on, OWNER_TXT);
    assert_eq!(old, OWNER_TXT);
    assert!(!new.contains("heritage"), "{new}");
    // off, key kept: an encrypted TXT becomes plain text on update
    let off = TxtRegistry::new(config(false)).unwrap();
    let (old, new) = update(&off, sealed);
    assert_eq!(old, sealed);
    assert_eq!(new, OWNER_TXT);
}

/// upstream's `TestTXTRegistryAliasARecordDeleteLeavesLegacyCNAME`.
#[test]
fn deleting_an_alias_leaves_the_legacy_cname_txt() {
    let name = "alias.test-zone.example.org";
    let reg = registry("", "", "owner", "");
    let zone = vec![
        rec(name, "A", "foo.eu-central-1.elb.amazonaws.com").with_property("alias", "true"),
        txt("a-alias.test-zone.example.org", OWNER_TXT),
        txt("cname-alias.test-zone.example.org", OWNER_TXT),
    ];
    let owned = reg.records(zone);
    let out = reg.apply(Changes { delete: owned.endpoints.clone(), ..Changes::default() }, &owned);
    let names: Vec<String> = out.changes.delete.iter().map(|e| format!("{} {}", e.dns_name, e.record_type)).collect();
    assert_eq!(names, [format!("{name} A"), "a-alias.test-zone.example.org TXT".to_owned()]);
}

fn zones(names: &[&str]) -> Option<crate::zones::ZoneIndex> {
    Some(crate::zones::ZoneIndex::new(names.iter().map(|z| z.to_string())))
}

/// Upstream names the ownership TXT of the apex `example.org` `mx-example.org`, which the zone
/// `example.org` cannot hold: exodns names it inside the zone, and reads it back as the apex.
#[test]
fn a_zone_apex_is_owned_from_inside_its_zone() {
    for (prefix, suffix, want) in [
        ("", "", "mx-_apex.example.org"),
        ("txt.", "", "txt.mx-_apex.example.org"),
        ("", "-own", "mx-_apex-own.example.org"),
        // Upstream's name is inside the zone here: it is kept.
        ("%{record_type}.", "", "mx.example.org"),
        ("", ".%{record_type}", "_apex.mx.example.org"),
    ] {
        let reg = registry(prefix, suffix, "owner", "");
        let mx = rec("example.org", "MX", "10 mail.example.org").with_label("resource", "crd/default/mx");
        let empty = Owned::default().with_zones(zones(&["example.org"]));
        let out = reg.apply(Changes { create: vec![mx.clone()], ..Changes::default() }, &empty);
        assert!(out.invalid.is_empty(), "{:?}", out.invalid);
        let txt = out.changes.create.iter().find(|e| e.record_type == RecordType::TXT).unwrap();
        assert_eq!(txt.dns_name.as_str(), want, "{prefix:?} {suffix:?}");

        // Read back: the MX is ours, with nothing to repair.
        let zone = vec![rec("example.org", "MX", "10 mail.example.org"), txt.clone()];
        let owned = reg.records(zone).with_zones(zones(&["example.org"]));
        assert_eq!(owned.endpoints.len(), 1);
        let read = &owned.endpoints[0];
        assert_eq!(read.owner(), Some("owner"), "{want}");
        assert_eq!(read.resource(), Some("crd/default/mx"));
        assert!(read.property(FORCE_UPDATE_PROPERTY).is_none(), "{want}: no update to write a TXT it has");

        // Updated and deleted with that TXT.
        let mut new = read.clone();
        new.targets = Targets::new(vec!["20 mail.example.org".into()]);
        let upd =
            reg.apply(Changes { update_old: vec![read.clone()], update_new: vec![new], ..Changes::default() }, &owned);
        assert!(upd.invalid.is_empty(), "{:?}", upd.invalid);
        let txt_names = |eps: &[Endpoint]| -> Vec<String> {
            eps.iter().filter(|e| e.record_type == RecordType::TXT).map(|e| e.dns_name.to_string()).collect()
        };
        assert_eq!(txt_names(&upd.changes.update_old), [want]);
        assert_eq!(txt_names(&upd.changes.update_new), [want]);
        let del = reg.apply(Changes { delete: vec![read.clone()], ..Changes::default() }, &owned);
        assert_eq!(txt_names(&del.changes.delete), [want]);
        // The incremental loop finds it among the ownership names of the apex.
        assert!(reg.ownership_names(read).iter().any(|n| n.as_str() == want));
    }
}

#[test]
fn apex_names_with_unknown_zones_nested_zones_and_upstream_txts() {
    let reg = registry("", "", "owner", "");
    let create = |name: &str| Changes { create: vec![rec(name, "A", "192.0.2.1")], ..Changes::default() };
    let txt_of = |out: crate::registry::RegistryChanges| {
        out.changes.create.into_iter().find(|e| e.record_type == RecordType::TXT).map(|e| e.dns_name.to_string())
    };
    // Zones unknown (a webhook provider): upstream's name, as upstream writes it.
    assert_eq!(txt_of(reg.apply(create("example.org"), &Owned::default())).as_deref(), Some("a-example.org"));
    // Not an apex: upstream's name.
    let owned = Owned::default().with_zones(zones(&["example.org", "sub.example.org"]));
    assert_eq!(txt_of(reg.apply(create("www.example.org"), &owned)).as_deref(), Some("a-www.example.org"));
    // The apex of a child zone: upstream's name would lie in the parent zone, a separate change.
    assert_eq!(txt_of(reg.apply(create("sub.example.org"), &owned)).as_deref(), Some("a-_apex.sub.example.org"));
    // A zone taken over from upstream keeps the TXT it has.
    let zone = vec![rec("sub.example.org", "A", "192.0.2.1"), txt("a-sub.example.org", OWNER_TXT)];
    let taken = reg.records(zone).with_zones(zones(&["example.org", "sub.example.org"]));
    assert_eq!(taken.endpoints[0].owner(), Some("owner"));
    let del = reg.apply(Changes { delete: taken.endpoints.clone(), ..Changes::default() }, &taken);
    assert_eq!(show(&del.changes.delete)[1], format!("a-sub.example.org TXT {OWNER_TXT} ->sub.example.org"));
}

/// A record is never written without its ownership record in the same change.
#[test]
fn no_record_is_written_without_its_ownership() {
    let reg = registry("", "", "owner", "");
    let owned = Owned::default().with_zones(zones(&["example.org"]));
    // `_apex` would collide with the apex's TXT names.
    let out =
        reg.apply(Changes { create: vec![rec("_apex.example.org", "A", "192.0.2.1")], ..Changes::default() }, &owned);
    assert!(out.changes.create.is_empty(), "{:?}", out.changes.create);
    assert!(
        out.invalid[0].reason.contains("reserved") && out.invalid[0].reason.contains("not created"),
        "{}",
        out.invalid[0]
    );
    // An update whose new TXT cannot be named keeps the record as it is.
    let long = format!("{}.example.org", "x".repeat(62));
    let old = with_owner(rec(&long, "A", "192.0.2.1"), "owner");
    let mut new = old.clone();
    new.targets = Targets::new(vec!["192.0.2.2".into()]);
    let out =
        reg.apply(Changes { update_old: vec![old], update_new: vec![new], ..Changes::default() }, &Owned::default());
    assert!(out.changes.update_new.is_empty() && out.changes.update_old.is_empty(), "{:?}", out.changes);
    assert!(out.invalid[0].reason.contains("not updated"), "{}", out.invalid[0]);
}

/// Upstream names an ownership TXT after the record as its source wrote it, and so does exodns
/// on the wire; the canonical name is what it plans with.
#[test]
fn ownership_txt_is_spelled_like_its_record() {
    let reg = registry("", "", "owner", "");
    let mut web = rec("web.example.org", "A", "192.0.2.1");
    web.spell("Web.Example.org", ["192.0.2.1"]);
    let out = reg.apply(Changes { create: vec![web], ..Changes::default() }, &Owned::default());
    let txt = &out.changes.create[1];
    assert_eq!(txt.dns_name.as_str(), "a-web.example.org");
    assert_eq!(txt.wire_name(), "a-Web.Example.org");
    assert_eq!(txt.labels[label::OWNED_RECORD], "Web.Example.org");
    assert_eq!(out.changes.create[0].wire_name(), "Web.Example.org");
}
