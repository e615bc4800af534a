//! PowerDNS faults: bad input among good (the rest is applied), a server stopped mid-sync, zones
//! found or deleted under our feet, and the API key kept out of errors and logs.

use super::*;

// Must hold: one invalid rrset among 1 000 valid ones: the 1 000 are applied, the bad one is
// reported.

/// Provider level: an A record PowerDNS cannot parse (the planner never makes one; a provider
/// must still cope), in one change set with 1 000 good ones.
#[tokio::test]
async fn pdns_one_bad_rrset_among_1000_is_reported_and_the_rest_applied() {
    let Some(pdns) = start() else { return };
    pdns.create_zone("example.org").await.unwrap();
    let (p, counter) = provider(&pdns);
    let mut create: Vec<Endpoint> =
        (0..1000).map(|i| ep(&format!("ok{i}.example.org"), RecordType::A, &["192.0.2.1"])).collect();
    let bad =
        Endpoint::new("bad.example.org".parse().unwrap(), RecordType::A, Targets::new(vec!["192.0.2.300".into()]));
    create.insert(500, bad.clone());
    let report = p.apply_changes(&Changes { create, ..Changes::default() }).await.unwrap();
    assert_eq!(report.rejected.len(), 1, "{:?}", report.rejected);
    assert_eq!(report.rejected[0].endpoint, bad);
    let RejectReason::Refused(msg) = &report.rejected[0].reason else { panic!("{:?}", report.rejected[0].reason) };
    assert!(msg.contains("bad.example.org.") && msg.contains("unable to parse IP address"), "{msg}");
    let counts = counter.take();
    assert!(counts.patch_zone <= 3, "the named rrset should be dropped without a long bisection: {counts:?}");
    let rrsets = api_rrsets(&pdns, "example.org").await;
    assert_eq!(rrsets.len(), 1000 + 2);
    expect_dns(&pdns, "ok0.example.org", "A", &["192.0.2.1"]).await;
    expect_dns(&pdns, "ok999.example.org", "A", &["192.0.2.1"]).await;
    expect_dns(&pdns, "bad.example.org", "A", &[]).await;
}

/// Sync level: a CNAME whose name holds a hand-made TXT (a type exodns does not manage here, so
/// the planner does not see it) is refused by PowerDNS; the 1 000 others and their ownership go
/// in.
#[tokio::test]
async fn pdns_sync_conflicting_cname_among_1000_is_reported() {
    let Some(pdns) = start() else { return };
    pdns.create_zone("example.org").await.unwrap();
    pdns.put_rrset("example.org", "clash.example.org", "TXT", 60, &["\"hand-made\""]).await.unwrap();
    let (p, _) = provider(&pdns);
    let s = syncer_with(p.clone(), "%{record_type}-owner.", &[RecordType::A, RecordType::CNAME]);
    let mut desired: Vec<Endpoint> =
        (0..1000).map(|i| ep(&format!("ok{i}.example.org"), RecordType::A, &["192.0.2.1"])).collect();
    desired.push(ep("clash.example.org", RecordType::CNAME, &["lb.example.net"]));
    let report = s.sync_once(desired).await.unwrap();
    assert_eq!(report.rejected.len(), 1, "{:?}", rejected(&report));
    let r = &report.rejected[0];
    assert_eq!((r.endpoint.dns_name.as_str(), r.endpoint.record_type), ("clash.example.org", RecordType::CNAME));
    assert!(
        matches!(&r.reason, RejectReason::Refused(m) if m.contains("Conflicts with pre-existing RRset")),
        "{:?}",
        r.reason
    );
    expect_dns(&pdns, "ok0.example.org", "A", &["192.0.2.1"]).await;
    expect_dns(&pdns, "ok999.example.org", "A", &["192.0.2.1"]).await;
    expect_dns(&pdns, "a-owner.ok999.example.org", "TXT", &[&heritage("crd/default/it")]).await;
    expect_dns(&pdns, "clash.example.org", "TXT", &["\"hand-made\""]).await;
    expect_dns(&pdns, "clash.example.org", "CNAME", &[]).await;
}

// ---------------------------------------------------------------------------------------------
// Must hold: PowerDNS stopped mid-sync, then restarted: no crash, the next sync converges,
// nothing is lost.

/// Stops the server (SIGTERM to its PID, waits until it is gone) right after the first PATCH
/// has been answered.
struct StopAfterFirstPatch {
    pid: u32,
    armed: AtomicBool,
    patches: AtomicU32,
}

impl RequestObserver for StopAfterFirstPatch {
    fn on_response(&self, e: &RequestEvent<'_>) {
        if e.kind != RequestKind::PatchZone || e.status != Some(204) {
            return;
        }
        self.patches.fetch_add(1, Ordering::SeqCst);
        if self.armed.swap(false, Ordering::SeqCst) {
            let _ = std::process::Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status();
            for _ in 0..200 {
                if !std::path::Path::new(&format!("/proc/{}", self.pid)).exists() || is_zombie(self.pid) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
    }
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_stopped_mid_sync_then_restarted_converges() {
    let Some(mut pdns) = start() else { return };
    pdns.create_zone("outage.test").await.unwrap();
    pdns.put_rrset("outage.test", "hand.outage.test", "A", 60, &["198.51.100.1"]).await.unwrap();
    let stopper = Arc::new(StopAfterFirstPatch {
        pid: pdns.pid().unwrap(),
        armed: AtomicBool::new(true),
        patches: AtomicU32::new(0),
    });
    let mut cfg = config(&pdns);
    cfg.retry = RetryPolicy { max_attempts: 2, initial_backoff: Duration::from_millis(100), ..RetryPolicy::default() };
    let p = Arc::new(PdnsProvider::new(cfg).unwrap().with_observer(stopper.clone()));
    let s = syncer(p.clone());
    let desired: Vec<Endpoint> = (0..10_000u32)
        .map(|i| ep(&format!("h{i}.outage.test"), RecordType::A, &[&format!("10.1.{}.{}", i >> 8, i & 255)]))
        .collect();

    // 20 000 rrsets need two PATCHes; the server dies after the first one.
    let err = s.sync_once(desired.clone()).await.expect_err("the sync must fail while the server is down");
    assert!(matches!(err, SyncError::Apply(ref e) if e.is_transient()), "{err:?}");
    assert_eq!(stopper.patches.load(Ordering::SeqCst), 1);

    // Down: reading fails too, transiently.
    let err = s.sync_once(desired.clone()).await.expect_err("server is down");
    assert!(matches!(err, SyncError::Records(ProviderError::Transient { .. })), "{err:?}");

    pdns.restart_keep_db().unwrap();
    let report = sync_clean(&s, desired.clone()).await;
    assert!(report.applied);
    let rrsets = api_rrsets(&pdns, "outage.test").await;
    assert_eq!(rrsets.len(), 20_000 + 3, "records + TXT + hand-made + SOA + NS");
    expect_dns(&pdns, "h0.outage.test", "A", &["10.1.0.0"]).await;
    expect_dns(&pdns, "h9999.outage.test", "A", &["10.1.39.15"]).await;
    expect_dns(&pdns, "a-owner.h9999.outage.test", "TXT", &[&heritage("crd/default/it")]).await;
    expect_dns(&pdns, "hand.outage.test", "A", &["198.51.100.1"]).await;
    assert!(!sync_clean(&s, desired).await.planned.has_changes());
}

// ---------------------------------------------------------------------------------------------
// Zones: longest match inside the domain filter; a zone deleted under our feet.

#[tokio::test]
async fn pdns_longest_zone_inside_the_domain_filter() {
    let Some(pdns) = start() else { return };
    for z in ["example.org", "sub.example.org", "other.test"] {
        pdns.create_zone(z).await.unwrap();
    }
    pdns.put_rrset("other.test", "x.other.test", "A", 60, &["198.51.100.9"]).await.unwrap();
    let (p, _) = provider_with(&pdns, |c| c.domain_filter = DomainFilter::new(&["example.org".into()], &[]));
    let records = p.records().await.unwrap();
    assert!(records.endpoints.iter().all(|e| e.dns_name.is_within("example.org")), "{:?}", records.endpoints);
    let mut zones: Vec<String> = p.managed_zones().into_iter().map(|z| z.name).collect();
    zones.sort();
    assert_eq!(zones, vec!["example.org", "sub.example.org"]);

    let changes = Changes {
        create: vec![
            ep("a.sub.example.org", RecordType::A, &["192.0.2.1"]),
            ep("b.example.org", RecordType::A, &["192.0.2.2"]),
            ep("y.other.test", RecordType::A, &["192.0.2.3"]),
        ],
        ..Changes::default()
    };
    let report = p.apply_changes(&changes).await.unwrap();
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].endpoint.dns_name.as_str(), "y.other.test");
    assert_eq!(report.rejected[0].reason, RejectReason::NoZone);
    assert!(api_rrsets(&pdns, "sub.example.org").await.contains_key(&("a.sub.example.org.".into(), "A".into())));
    assert!(!api_rrsets(&pdns, "example.org").await.contains_key(&("a.sub.example.org.".into(), "A".into())));
    expect_dns(&pdns, "a.sub.example.org", "A", &["192.0.2.1"]).await;
    expect_dns(&pdns, "b.example.org", "A", &["192.0.2.2"]).await;
    expect_dns(&pdns, "y.other.test", "A", &[]).await;
}

#[tokio::test]
async fn pdns_zone_deleted_after_listing_rejects_only_its_changes() {
    let Some(pdns) = start() else { return };
    pdns.create_zone("keep.test").await.unwrap();
    pdns.create_zone("gone.test").await.unwrap();
    let (p, _) = provider(&pdns);
    p.records().await.unwrap();
    pdns.delete_zone("gone.test").await.unwrap();
    let changes = Changes {
        create: vec![
            ep("a.gone.test", RecordType::A, &["192.0.2.1"]),
            ep("a.keep.test", RecordType::A, &["192.0.2.2"]),
        ],
        ..Changes::default()
    };
    let report = p.apply_changes(&changes).await.unwrap();
    assert_eq!(report.rejected.len(), 1, "{:?}", report.rejected);
    assert_eq!(report.rejected[0].endpoint.dns_name.as_str(), "a.gone.test");
    assert!(
        matches!(&report.rejected[0].reason, RejectReason::Refused(m) if m.contains("gone.test.") && m.contains("404"))
    );
    expect_dns(&pdns, "a.keep.test", "A", &["192.0.2.2"]).await;
}

// ---------------------------------------------------------------------------------------------
// Errors: a wrong key is permanent; a stopped server is transient; the key never shows.

/// A tracing writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn pdns_api_key_never_appears_in_errors_or_logs() {
    let Some(mut pdns) = start() else { return };
    pdns.create_zone("example.org").await.unwrap();
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let wrong = "WRONG-key-7f3a9c";
    let mut cfg = config(&pdns);
    cfg.api_key = Secret::new(wrong);
    let p = PdnsProvider::new(cfg.clone()).unwrap();
    let err = p.records().await.unwrap_err();
    assert!(!err.is_transient(), "401 is permanent: {err:?}");
    let shown = format!("{err} {err:?} {cfg:?} {p:?}");
    assert!(shown.contains("401"), "{shown}");

    // The right key: errors while the server is down are transient, and do not show it either.
    let right = pdns.api_key().to_owned();
    let (good, _) = provider(&pdns);
    good.records().await.unwrap();
    pdns.stop().unwrap();
    let err = good.records().await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    let apply_err = good
        .apply_changes(&Changes {
            create: vec![ep("a.example.org", RecordType::A, &["192.0.2.1"])],
            ..Changes::default()
        })
        .await
        .unwrap_err();
    assert!(apply_err.is_transient(), "{apply_err:?}");
    let shown = format!("{shown} {err} {err:?} {apply_err} {apply_err:?} {good:?} {:?}", good.config());

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!logs.is_empty());
    for key in [wrong, right.as_str()] {
        assert!(!shown.contains(key), "key in errors: {shown}");
        assert!(!logs.contains(key), "key in logs");
    }
}
