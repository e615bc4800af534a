//! The PowerDNS provider against a real `pdns_server` (one per test, fresh sqlite DB, stock 2 MB
//! body limit). Answers are checked with DNS queries, not only through the API.
//!
//! Sync-level tests go through the real TXT registry, planner and `Syncer`; provider-level tests
//! call `apply_changes` directly for what the planner never produces (an invalid rrset).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use exodns_controller::{SyncError, SyncReport, Syncer};
use exodns_core::plan::PlanOptions;
use exodns_core::registry::{TxtConfig, TxtRegistry};
use exodns_core::{Changes, DomainFilter, Endpoint, RecordType, Targets};
use exodns_pdns::{
    PdnsConfig, PdnsProvider, RequestCounter, RequestEvent, RequestKind, RequestObserver, RetryPolicy, Secret,
};
use exodns_provider::{Provider, ProviderError, RejectReason};
use exodns_testbed::{Pdns, PdnsOptions};
use serde_json::json;

mod faults;

const OWNER: &str = "it-owner";
const TYPES: &[RecordType] = &[
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::TXT,
    RecordType::MX,
    RecordType::SRV,
    RecordType::NS,
    RecordType::CAA,
];

fn start() -> Option<Pdns> {
    Pdns::start_or_skip(PdnsOptions::default())
}

fn config(pdns: &Pdns) -> PdnsConfig {
    let mut cfg = PdnsConfig::parse(pdns.api_url(), Secret::new(pdns.api_key())).unwrap();
    cfg.retry = RetryPolicy { max_attempts: 3, initial_backoff: Duration::from_millis(100), ..RetryPolicy::default() };
    cfg
}

fn provider_with(pdns: &Pdns, tweak: impl FnOnce(&mut PdnsConfig)) -> (Arc<PdnsProvider>, Arc<RequestCounter>) {
    let mut cfg = config(pdns);
    tweak(&mut cfg);
    let counter = RequestCounter::new();
    (Arc::new(PdnsProvider::new(cfg).unwrap().with_observer(counter.clone())), counter)
}

fn provider(pdns: &Pdns) -> (Arc<PdnsProvider>, Arc<RequestCounter>) {
    provider_with(pdns, |_| {})
}

/// The TXT registry as upstream with `--txt-prefix=%{record_type}-owner.` and
/// `--txt-wildcard-replacement=wild`, so that apex and wildcard records get their ownership TXT
/// inside their zone.
fn registry(prefix: &str) -> Arc<TxtRegistry> {
    Arc::new(
        TxtRegistry::new(TxtConfig {
            owner_id: OWNER.into(),
            prefix: prefix.into(),
            wildcard_replacement: "wild".into(),
            managed_types: TYPES.to_vec(),
            ..TxtConfig::default()
        })
        .unwrap(),
    )
}

fn syncer_with(p: Arc<PdnsProvider>, prefix: &str, types: &[RecordType]) -> Syncer {
    let opts = PlanOptions { owner_id: OWNER.into(), managed_types: types.to_vec(), ..PlanOptions::default() };
    Syncer::new(p, registry(prefix), opts)
}

fn syncer(p: Arc<PdnsProvider>) -> Syncer {
    syncer_with(p, "%{record_type}-owner.", TYPES)
}

fn ep(name: &str, rt: RecordType, targets: &[&str]) -> Endpoint {
    Endpoint::parse(name, rt, targets)
        .unwrap_or_else(|e| panic!("{name} {rt}: {e}"))
        .with_label("resource", "crd/default/it")
}

fn rejected(report: &SyncReport) -> Vec<String> {
    report.rejected.iter().map(|r| format!("{}: {}", r.endpoint, r.reason)).collect()
}

async fn sync_clean(s: &Syncer, desired: Vec<Endpoint>) -> SyncReport {
    let report = s.sync_once(desired).await.unwrap_or_else(|e| panic!("sync failed: {e}"));
    assert!(report.rejected.is_empty(), "rejected: {:#?}", rejected(&report));
    assert!(report.invalid.is_empty(), "invalid: {:?}", report.invalid);
    report
}

/// Asks `name rtype` until the answers equal `want` (any order), for at most 3 s.
async fn expect_dns(pdns: &Pdns, name: &str, rtype: &str, want: &[&str]) {
    pdns.wait_for_answers(name, rtype, want, Duration::from_secs(3), String::new).await;
}

fn heritage(resource: &str) -> String {
    format!("\"heritage=external-dns,external-dns/owner={OWNER},external-dns/resource={resource}\"")
}

/// Every rrset of the zone as the API has it: (name, type) → sorted contents.
async fn api_rrsets(pdns: &Pdns, zone: &str) -> BTreeMap<(String, String), Vec<String>> {
    pdns.rrsets(zone).await.unwrap()
}

fn only_soa_ns(rrsets: &BTreeMap<(String, String), Vec<String>>, zone: &str) -> bool {
    rrsets.keys().all(|(n, t)| n == zone && (t == "SOA" || t == "NS"))
}

// ---------------------------------------------------------------------------------------------
// Must hold: create, update, delete of A, AAAA, CNAME, TXT, MX, SRV, NS, CAA with their
// ownership TXT; wildcard and apex names.

#[tokio::test]
async fn pdns_sync_create_update_delete_every_type_with_ownership() {
    let Some(pdns) = start() else { return };
    pdns.create_zone("example.org").await.unwrap();
    pdns.create_zone("example.com").await.unwrap();
    let (p, _) = provider(&pdns);
    // NS is not managed here: the zone's own apex NS would be an unowned record at the apex, and
    // the planner (as upstream) creates nothing beside records it does not own. NS has its own
    // test below.
    let no_ns: Vec<RecordType> = TYPES.iter().copied().filter(|t| *t != RecordType::NS).collect();
    let s = syncer_with(p.clone(), "%{record_type}-owner.", &no_ns);

    let v1 = vec![
        ep("a.example.org", RecordType::A, &["192.0.2.1", "192.0.2.2"]),
        ep("aaaa.example.org", RecordType::AAAA, &["2001:db8::1"]),
        ep("cname.example.org", RecordType::CNAME, &["lb.example.net"]),
        ep("txt.example.org", RecordType::TXT, &["v=spf1 -all"]),
        ep("mx.example.org", RecordType::MX, &["10 mail.example.org", "20 mail2.example.org"]),
        ep("_sip._udp.example.org", RecordType::SRV, &["0 50 5060 sip.example.org"]),
        ep("caa.example.org", RecordType::CAA, &["0 issue \"letsencrypt.org\""]),
        ep("*.wild.example.org", RecordType::A, &["192.0.2.9"]),
        ep("example.org", RecordType::MX, &["10 mail.example.org"]),
        ep("example.org", RecordType::TXT, &["apex-text"]),
        // apex CNAME: written as ALIAS, read back as CNAME
        ep("example.com", RecordType::CNAME, &["lb.example.net"]),
    ];
    let report = sync_clean(&s, v1.clone()).await;
    let created: Vec<String> = report.planned.create.iter().map(|e| e.to_string()).collect();
    assert_eq!(report.planned.create.len(), v1.len(), "{created:#?} conflicts {:?}", report.conflicts);

    expect_dns(&pdns, "a.example.org", "A", &["192.0.2.1", "192.0.2.2"]).await;
    expect_dns(&pdns, "aaaa.example.org", "AAAA", &["2001:db8::1"]).await;
    expect_dns(&pdns, "cname.example.org", "CNAME", &["lb.example.net."]).await;
    expect_dns(&pdns, "txt.example.org", "TXT", &["\"v=spf1 -all\""]).await;
    expect_dns(&pdns, "mx.example.org", "MX", &["10 mail.example.org.", "20 mail2.example.org."]).await;
    expect_dns(&pdns, "_sip._udp.example.org", "SRV", &["0 50 5060 sip.example.org."]).await;
    expect_dns(&pdns, "caa.example.org", "CAA", &["0 issue \"letsencrypt.org\""]).await;
    expect_dns(&pdns, "anything.wild.example.org", "A", &["192.0.2.9"]).await;
    expect_dns(&pdns, "example.org", "MX", &["10 mail.example.org."]).await;
    expect_dns(&pdns, "example.org", "TXT", &["\"apex-text\""]).await;
    // ownership TXT of each record, also by DNS
    for (name, rt) in
        [("a.example.org", "a"), ("cname.example.org", "cname"), ("mx.example.org", "mx"), ("caa.example.org", "caa")]
    {
        let (first, rest) = name.split_once('.').unwrap();
        expect_dns(&pdns, &format!("{rt}-owner.{first}.{rest}"), "TXT", &[&heritage("crd/default/it")]).await;
    }
    expect_dns(&pdns, "a-owner.wild.wild.example.org", "TXT", &[&heritage("crd/default/it")]).await;
    expect_dns(&pdns, "mx-owner.example.org", "TXT", &[&heritage("crd/default/it")]).await;
    let com = api_rrsets(&pdns, "example.com").await;
    assert_eq!(
        com.get(&("example.com.".into(), "ALIAS".into())),
        Some(&vec!["lb.example.net.".to_string()]),
        "{com:?}"
    );
    assert!(!com.contains_key(&("example.com.".into(), "CNAME".into())));

    // Nothing changed: nothing to do (the read-back equals what was written, ALIAS included).
    let again = sync_clean(&s, v1.clone()).await;
    assert!(!again.planned.has_changes(), "second sync planned {:?}", again.planned);

    // Update every record: other targets, other TTL.
    let v2: Vec<Endpoint> = vec![
        ep("a.example.org", RecordType::A, &["192.0.2.3"]),
        ep("aaaa.example.org", RecordType::AAAA, &["2001:db8::2", "2001:db8::3"]),
        ep("cname.example.org", RecordType::CNAME, &["lb2.example.net"]),
        ep("txt.example.org", RecordType::TXT, &["v=spf1 include:example.net -all"]),
        ep("mx.example.org", RecordType::MX, &["5 mx.example.net"]),
        ep("_sip._udp.example.org", RecordType::SRV, &["10 60 5061 sip2.example.org"]),
        // CAA stays as it is: the TXT registry (as upstream's) does not read back the ownership
        // of CAA records ("caa" is not among the mapper's types), so they cannot be updated or
        // deleted through a sync; the provider part is checked at the end.
        ep("caa.example.org", RecordType::CAA, &["0 issue \"letsencrypt.org\""]),
        ep("*.wild.example.org", RecordType::A, &["192.0.2.10"]),
        ep("example.org", RecordType::MX, &["20 mail.example.org"]),
        ep("example.org", RecordType::TXT, &["apex-text-2"]),
        ep("example.com", RecordType::CNAME, &["lb2.example.net"]),
    ]
    .into_iter()
    .map(|e| e.with_ttl(exodns_core::Ttl(120)))
    .collect();
    let report = sync_clean(&s, v2.clone()).await;
    assert_eq!(report.planned.update_new.len(), v2.len() - 1, "{:?}", report.planned);
    expect_dns(&pdns, "a.example.org", "A", &["192.0.2.3"]).await;
    expect_dns(&pdns, "aaaa.example.org", "AAAA", &["2001:db8::2", "2001:db8::3"]).await;
    expect_dns(&pdns, "cname.example.org", "CNAME", &["lb2.example.net."]).await;
    expect_dns(&pdns, "txt.example.org", "TXT", &["\"v=spf1 include:example.net -all\""]).await;
    expect_dns(&pdns, "mx.example.org", "MX", &["5 mx.example.net."]).await;
    expect_dns(&pdns, "_sip._udp.example.org", "SRV", &["10 60 5061 sip2.example.org."]).await;
    expect_dns(&pdns, "x.wild.example.org", "A", &["192.0.2.10"]).await;
    expect_dns(&pdns, "example.org", "MX", &["20 mail.example.org."]).await;
    expect_dns(&pdns, "example.org", "TXT", &["\"apex-text-2\""]).await;
    let ttl = exodns_testbed::dns_query_full(pdns.dns_addr(), pdns.dns_port(), "a.example.org", "A").await.unwrap();
    assert_eq!(ttl.answers[0].2, 120);
    let com = api_rrsets(&pdns, "example.com").await;
    assert_eq!(com.get(&("example.com.".into(), "ALIAS".into())), Some(&vec!["lb2.example.net.".to_string()]));
    assert!(!sync_clean(&s, v2).await.planned.has_changes());

    // Delete everything: only the zones' own SOA and NS stay.
    let report = sync_clean(&s, Vec::new()).await;
    assert_eq!(report.planned.delete.len(), 10);
    for (name, rtype) in [
        ("a.example.org", "A"),
        ("cname.example.org", "CNAME"),
        ("x.wild.example.org", "A"),
        ("example.org", "MX"),
        ("a-owner.a.example.org", "TXT"),
    ] {
        expect_dns(&pdns, name, rtype, &[]).await;
    }
    // CAA: update and delete through the provider.
    let caa = |t: &str| ep("caa.example.org", RecordType::CAA, &[t]).with_label("owner", OWNER);
    let caa_txt = ep("caa-owner.caa.example.org", RecordType::TXT, &[&heritage("crd/default/it")]);
    let update = Changes {
        update_old: vec![caa("0 issue \"letsencrypt.org\"")],
        update_new: vec![caa("0 issue \"pki.example.net\"")],
        ..Changes::default()
    };
    assert!(p.apply_changes(&update).await.unwrap().is_clean());
    expect_dns(&pdns, "caa.example.org", "CAA", &["0 issue \"pki.example.net\""]).await;
    let delete = Changes { delete: vec![caa("0 issue \"pki.example.net\""), caa_txt], ..Changes::default() };
    assert!(p.apply_changes(&delete).await.unwrap().is_clean());
    expect_dns(&pdns, "caa.example.org", "CAA", &[]).await;
    let org = api_rrsets(&pdns, "example.org").await;
    assert!(only_soa_ns(&org, "example.org."), "left behind: {org:?}");
    assert!(only_soa_ns(&api_rrsets(&pdns, "example.com").await, "example.com."));
}

/// NS delegations below the apex, with their ownership TXT (NS managed).
#[tokio::test]
async fn pdns_sync_ns_delegation_create_update_delete() {
    let Some(pdns) = start() else { return };
    pdns.create_zone("example.org").await.unwrap();
    let (p, _) = provider(&pdns);
    let s = syncer(p.clone());
    let referral = |name: &'static str| {
        let (addr, port) = (pdns.dns_addr(), pdns.dns_port());
        async move {
            let answer = exodns_testbed::dns_query_full(addr, port, name, "NS").await.unwrap();
            let mut ns: Vec<String> = answer.authorities.iter().filter(|r| r.1 == "NS").map(|r| r.3.clone()).collect();
            ns.sort();
            ns
        }
    };
    sync_clean(&s, vec![ep("sub.example.org", RecordType::NS, &["ns1.example.net", "ns2.example.net"])]).await;
    // A delegation answers with a referral: the NS records come in the authority section.
    assert_eq!(referral("sub.example.org").await, vec!["ns1.example.net.", "ns2.example.net."]);
    let txt = pdns.rrsets("example.org").await.unwrap();
    assert_eq!(txt.get(&("ns-owner.sub.example.org.".into(), "TXT".into())), Some(&vec![heritage("crd/default/it")]));
    assert!(
        !sync_clean(&s, vec![ep("sub.example.org", RecordType::NS, &["ns1.example.net", "ns2.example.net"])])
            .await
            .planned
            .has_changes()
    );
    sync_clean(&s, vec![ep("sub.example.org", RecordType::NS, &["ns3.example.net"])]).await;
    assert_eq!(referral("sub.example.org").await, vec!["ns3.example.net."]);
    sync_clean(&s, Vec::new()).await;
    assert!(referral("sub.example.org").await.is_empty());
    assert!(only_soa_ns(&api_rrsets(&pdns, "example.org").await, "example.org."));
}

// ---------------------------------------------------------------------------------------------
// Must hold: CNAME ↔ A type changes in one sync (and with the TXT registry beside the CNAME).

#[tokio::test]
async fn pdns_sync_cname_to_a_and_back_in_one_sync() {
    let Some(pdns) = start() else { return };
    pdns.create_zone("example.org").await.unwrap();
    let (p, counter) = provider(&pdns);
    // Default registry format (`cname-x`, `a-x`) and the legacy same-name TXT do not matter here:
    // what matters is that each flip is one sync, with no refusal.
    let s = syncer_with(p.clone(), "", &[RecordType::A, RecordType::AAAA, RecordType::CNAME]);
    let names: Vec<String> = (0..20).map(|i| format!("flip{i}.example.org")).collect();
    let cnames = || names.iter().map(|n| ep(n, RecordType::CNAME, &["lb.example.net"])).collect::<Vec<_>>();
    let arecs = || names.iter().map(|n| ep(n, RecordType::A, &["192.0.2.7"])).collect::<Vec<_>>();

    sync_clean(&s, cnames()).await;
    expect_dns(&pdns, "flip0.example.org", "CNAME", &["lb.example.net."]).await;
    counter.take();
    let r = sync_clean(&s, arecs()).await;
    assert_eq!((r.planned.create.len(), r.planned.delete.len()), (20, 20));
    assert_eq!(counter.take().patch_zone, 1, "one PATCH for the whole flip");
    for n in &names {
        expect_dns(&pdns, n, "A", &["192.0.2.7"]).await;
        expect_dns(&pdns, n, "CNAME", &[]).await;
    }
    expect_dns(&pdns, "a-flip3.example.org", "TXT", &[&heritage("crd/default/it")]).await;
    expect_dns(&pdns, "cname-flip3.example.org", "TXT", &[]).await;
    assert!(!sync_clean(&s, arecs()).await.planned.has_changes());

    sync_clean(&s, cnames()).await;
    for n in &names {
        expect_dns(&pdns, n, "CNAME", &["lb.example.net."]).await;
    }
    expect_dns(&pdns, "a-flip3.example.org", "TXT", &[]).await;
    assert!(!sync_clean(&s, cnames()).await.planned.has_changes());
}

/// The same flips with a body limit so small that every name needs its own PATCH: the order
/// (deletes first, each name's changes and its ownership TXT together) still holds across chunks.
#[tokio::test]
async fn pdns_type_changes_survive_chunking() {
    let Some(pdns) = start() else { return };
    pdns.create_zone("example.org").await.unwrap();
    let (p, counter) = provider_with(&pdns, |c| c.max_body_bytes = 1024);
    let s = syncer_with(p.clone(), "", &[RecordType::A, RecordType::CNAME]);
    let names: Vec<String> = (0..15).map(|i| format!("chunk{i}.example.org")).collect();
    let cnames: Vec<Endpoint> = names.iter().map(|n| ep(n, RecordType::CNAME, &["lb.example.net"])).collect();
    let arecs: Vec<Endpoint> = names.iter().map(|n| ep(n, RecordType::A, &["192.0.2.8"])).collect();
    sync_clean(&s, arecs.clone()).await;
    counter.take();
    sync_clean(&s, cnames.clone()).await;
    assert!(counter.take().patch_zone > 3, "the limit should force several PATCHes");
    for n in &names {
        expect_dns(&pdns, n, "CNAME", &["lb.example.net."]).await;
    }
    sync_clean(&s, arecs.clone()).await;
    for n in &names {
        expect_dns(&pdns, n, "A", &["192.0.2.8"]).await;
    }
    assert!(!sync_clean(&s, arecs).await.planned.has_changes());
}

// ---------------------------------------------------------------------------------------------
// Must hold: records exodns does not own (made by hand through the API) are never touched.

#[tokio::test]
async fn pdns_sync_never_touches_records_it_does_not_own() {
    let Some(pdns) = start() else { return };
    pdns.create_zone("example.org").await.unwrap();
    // By hand: a lone A, a TXT beside a name exodns will manage, a CNAME, an rrset with a disabled
    // record, another owner's record with its TXT, a record type exodns does not carry.
    let other = "\"heritage=external-dns,external-dns/owner=someone-else,external-dns/resource=service/x/y\"";
    pdns.patch_rrsets(
        "example.org",
        json!([
            {"name": "hand.example.org.", "type": "A", "ttl": 60, "changetype": "REPLACE", "records": [{"content": "198.51.100.1", "disabled": false}]},
            {"name": "www.example.org.", "type": "TXT", "ttl": 60, "changetype": "REPLACE", "records": [{"content": "\"hand-made\"", "disabled": false}]},
            {"name": "legacy.example.org.", "type": "CNAME", "ttl": 60, "changetype": "REPLACE", "records": [{"content": "old.example.net.", "disabled": false}]},
            {"name": "half.example.org.", "type": "A", "ttl": 60, "changetype": "REPLACE", "records": [{"content": "198.51.100.2", "disabled": true}, {"content": "198.51.100.3", "disabled": false}]},
            {"name": "theirs.example.org.", "type": "A", "ttl": 60, "changetype": "REPLACE", "records": [{"content": "198.51.100.4", "disabled": false}]},
            {"name": "a-owner.theirs.example.org.", "type": "TXT", "ttl": 60, "changetype": "REPLACE", "records": [{"content": other, "disabled": false}]},
            {"name": "info.example.org.", "type": "HINFO", "ttl": 60, "changetype": "REPLACE", "records": [{"content": "\"PC\" \"Linux\"", "disabled": false}]},
        ]),
    )
    .await
    .unwrap();
    let before = api_rrsets(&pdns, "example.org").await;
    let hand_keys: Vec<(String, String)> = before.keys().filter(|(n, _)| n != "example.org.").cloned().collect();
    assert_eq!(hand_keys.len(), 7);

    let (p, _) = provider(&pdns);
    let s = syncer(p.clone());
    // Desired: our own www A, plus names that collide with hand-made and foreign records.
    let desired = vec![
        ep("ours.example.org", RecordType::A, &["192.0.2.1"]),
        ep("www.example.org", RecordType::A, &["192.0.2.1"]),
        ep("hand.example.org", RecordType::A, &["192.0.2.2"]),
        ep("theirs.example.org", RecordType::A, &["192.0.2.3"]),
        ep("legacy.example.org", RecordType::CNAME, &["new.example.net"]),
    ];
    let report = s.sync_once(desired.clone()).await.unwrap();
    assert!(report.rejected.is_empty(), "{:?}", rejected(&report));
    // Names held by records we do not own are not taken over (upstream's planner rule).
    assert!(report.conflicts.iter().any(|c| c.dns_name.as_str() == "www.example.org"), "{:?}", report.conflicts);
    assert_eq!(report.planned.create.len(), 1, "only ours: {:?}", report.planned);
    assert!(report.planned.update_new.is_empty() && report.planned.delete.is_empty(), "{:?}", report.planned);
    expect_dns(&pdns, "ours.example.org", "A", &["192.0.2.1"]).await;
    expect_dns(&pdns, "www.example.org", "A", &[]).await;
    s.sync_once(vec![ep("ours.example.org", RecordType::A, &["192.0.2.5"])]).await.unwrap();
    expect_dns(&pdns, "ours.example.org", "A", &["192.0.2.5"]).await;
    s.sync_once(Vec::new()).await.unwrap();
    expect_dns(&pdns, "ours.example.org", "A", &[]).await;

    let after = api_rrsets(&pdns, "example.org").await;
    for k in &hand_keys {
        assert_eq!(after.get(k), before.get(k), "hand-made {k:?} changed");
    }
    expect_dns(&pdns, "hand.example.org", "A", &["198.51.100.1"]).await;
    expect_dns(&pdns, "www.example.org", "TXT", &["\"hand-made\""]).await;
    expect_dns(&pdns, "legacy.example.org", "CNAME", &["old.example.net."]).await;
    expect_dns(&pdns, "half.example.org", "A", &["198.51.100.3"]).await;
    expect_dns(&pdns, "theirs.example.org", "A", &["198.51.100.4"]).await;
    // Nothing of ours is left either.
    let ours: Vec<_> = after.keys().filter(|k| !before.contains_key(k)).collect();
    assert!(ours.is_empty(), "{ours:?}");
}

// ---------------------------------------------------------------------------------------------
// Must hold: a second sync with nothing changed sends exactly one read per zone and no PATCH.

#[tokio::test]
async fn pdns_noop_sync_reads_each_zone_once_and_patches_nothing() {
    let Some(pdns) = start() else { return };
    let zones = ["one.test", "two.test", "three.test"];
    for z in zones {
        pdns.create_zone(z).await.unwrap();
    }
    let (p, counter) = provider(&pdns);
    let s = syncer(p.clone());
    let desired: Vec<Endpoint> = zones
        .iter()
        .flat_map(|z| (0..100).map(move |i| ep(&format!("h{i}.{z}"), RecordType::A, &["192.0.2.1"])))
        .collect();
    let first = sync_clean(&s, desired.clone()).await;
    assert_eq!(first.planned.create.len(), 300);
    let cold = counter.take();
    assert_eq!(cold.patch_zone, 3, "one PATCH per zone: {cold:?}");
    assert_eq!(cold.list_zones, 1);

    let second = sync_clean(&s, desired.clone()).await;
    assert!(!second.planned.has_changes(), "{:?}", second.planned);
    assert!(!second.applied);
    let noop = counter.take();
    assert_eq!(noop.list_zones, 1, "{noop:?}");
    assert_eq!(noop.get_zone, zones.len() as u64, "exactly one read per zone: {noop:?}");
    assert_eq!(noop.patch_zone, 0, "no PATCH: {noop:?}");
    assert_eq!(noop.failed, 0);
}

// ---------------------------------------------------------------------------------------------
// Must hold: 20 000 records into a PowerDNS with the default 2 MB body limit.

#[tokio::test]
async fn pdns_sync_20000_rrsets_with_the_default_body_limit() {
    let Some(pdns) = start() else { return };
    pdns.create_zone("bulk.test").await.unwrap();
    let (p, counter) = provider(&pdns);
    assert_eq!(p.config().max_body_bytes, 2_000_000);
    let s = syncer(p.clone());
    let desired: Vec<Endpoint> = (0..10_000u32)
        .map(|i| {
            ep(
                &format!("host{i}.bulk.test"),
                RecordType::A,
                &[&format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)],
            )
        })
        .collect();
    let started = std::time::Instant::now();
    let report = sync_clean(&s, desired.clone()).await;
    let took = started.elapsed();
    assert_eq!(report.outgoing.create.len(), 20_000);
    let counts = counter.take();
    assert!(counts.patch_zone >= 2, "20 000 rrsets do not fit one 2 MB PATCH: {counts:?}");
    assert_eq!(counts.failed, 0, "{counts:?}");
    eprintln!("20 000 rrsets: {took:?}, {counts:?}");

    let rrsets = api_rrsets(&pdns, "bulk.test").await;
    assert_eq!(rrsets.len(), 20_000 + 2, "records + TXT + SOA + NS");
    for i in [0u32, 1, 4999, 9998, 9999] {
        expect_dns(
            &pdns,
            &format!("host{i}.bulk.test"),
            "A",
            &[&format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)],
        )
        .await;
        expect_dns(&pdns, &format!("a-owner.host{i}.bulk.test"), "TXT", &[&heritage("crd/default/it")]).await;
    }
    assert!(!sync_clean(&s, desired).await.planned.has_changes());
    assert_eq!(counter.take().patch_zone, 0);
}
