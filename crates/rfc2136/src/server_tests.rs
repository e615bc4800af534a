//! The provider against real BIND 9.18 and Knot 3.2 (started by the test bed, a TSIG key per
//! algorithm), for what the binary's tests cannot stage: every algorithm, and a zone changed by
//! hand between the read and the write.

use exodns_core::endpoint::label;
use exodns_core::{Changes, Endpoint, RecordType, Ttl};
use exodns_provider::{Provider, RejectReason};
use exodns_testbed::{DnsServer, DnsServerOptions, Flavor};

use crate::tsig::{Algorithm, TsigKey};
use crate::{Rfc2136Config, Rfc2136Provider};

const ZONE: &str = "example.test";

fn provider(server: &DnsServer, algorithm: &str) -> Rfc2136Provider {
    let k = server.key(algorithm);
    let key = TsigKey::new(&k.name, Algorithm::parse(&k.algorithm).unwrap(), &k.secret).unwrap();
    let mut cfg = Rfc2136Config::new(vec![server.addr().to_string()], vec![ZONE.into()], Some(key));
    cfg.port = server.port();
    Rfc2136Provider::new(cfg).unwrap()
}

fn ep(name: &str, rt: RecordType, targets: &[&str]) -> Endpoint {
    Endpoint::parse(name, rt, targets).unwrap().with_ttl(Ttl(60))
}

fn ownership(name: &str, owned: &str) -> Endpoint {
    ep(name, RecordType::TXT, &["\"heritage=external-dns,external-dns/owner=default\""])
        .with_label(label::OWNED_RECORD, owned)
}

fn servers() -> Vec<DnsServer> {
    [Flavor::Bind, Flavor::Knot]
        .into_iter()
        .filter_map(|f| DnsServer::start_or_skip(f, DnsServerOptions::default()))
        .collect()
}

/// Every algorithm signs a transfer and an update that the server takes, and checks the
/// server's signed answers.
#[tokio::test]
async fn every_tsig_algorithm_reads_and_writes() {
    for server in servers() {
        for alg in Algorithm::ALL {
            let p = provider(&server, alg.name());
            let records = p.records().await.unwrap();
            assert!(records.unreadable_zones.is_empty(), "{} {alg}: {:?}", server.flavor(), records.unreadable_zones);
            assert!(records.endpoints.iter().any(|e| e.dns_name.as_str() == "ns1.example.test"));
            let name = format!("{}.example.test", alg.name());
            let changes = Changes { create: vec![ep(&name, RecordType::A, &["192.0.2.7"])], ..Changes::default() };
            let report = p.apply_changes(&changes).await.unwrap();
            assert!(report.is_clean(), "{} {alg}: {:?}", server.flavor(), report.rejected);
            assert_eq!(server.dig(&name, "A").await.unwrap(), ["192.0.2.7"], "{} {alg}", server.flavor());
        }
    }
}

/// A record changed by hand after the read is not overwritten: the update's prerequisite
/// fails, the change is reported, and the rest of the change set is applied.
#[tokio::test]
async fn a_record_changed_since_the_read_is_not_clobbered() {
    for server in servers() {
        server.nsupdate(ZONE, &["update add www.example.test. 60 A 192.0.2.1"]).unwrap();
        let p = provider(&server, "hmac-sha256");
        p.records().await.unwrap();
        server.nsupdate(ZONE, &["update add www.example.test. 60 A 192.0.2.99"]).unwrap();
        let changes = Changes {
            update_old: vec![ep("www.example.test", RecordType::A, &["192.0.2.1"])],
            update_new: vec![ep("www.example.test", RecordType::A, &["192.0.2.2"])],
            create: vec![ep("other.example.test", RecordType::A, &["192.0.2.3"])],
            ..Changes::default()
        };
        let report = p.apply_changes(&changes).await.unwrap();
        assert_eq!(report.rejected.len(), 1, "{}: {:?}", server.flavor(), report.rejected);
        assert_eq!(report.rejected[0].endpoint.dns_name.as_str(), "www.example.test");
        let RejectReason::Refused(reason) = &report.rejected[0].reason else { panic!("{:?}", report.rejected) };
        assert!(reason.contains("NXRRSET") && reason.contains("changed on the server"), "{reason}");
        assert_eq!(server.dig("www.example.test", "A").await.unwrap(), ["192.0.2.1", "192.0.2.99"]);
        assert_eq!(server.dig("other.example.test", "A").await.unwrap(), ["192.0.2.3"]);
    }
}

/// A record the server accepts with NOERROR and drops (a CNAME where a TXT appeared after the
/// read) is found by reading back and reported; its ownership TXT is taken back.
#[tokio::test]
async fn an_update_the_server_drops_is_reported() {
    for server in servers() {
        server.nsupdate(ZONE, &["update add www.example.test. 60 A 192.0.2.1"]).unwrap();
        let p = provider(&server, "hmac-sha256");
        p.records().await.unwrap();
        server.nsupdate(ZONE, &["update add www.example.test. 60 TXT \"site-verification=abc\""]).unwrap();
        let changes = Changes {
            delete: vec![ep("www.example.test", RecordType::A, &["192.0.2.1"])],
            create: vec![
                ep("www.example.test", RecordType::CNAME, &["lb.example.net"]),
                ownership("cname-www.example.test", "www.example.test"),
            ],
            ..Changes::default()
        };
        let report = p.apply_changes(&changes).await.unwrap();
        let dropped: Vec<String> = report
            .rejected
            .iter()
            .map(|r| format!("{} {}: {}", r.endpoint.dns_name.as_str(), r.endpoint.record_type, r.reason))
            .collect();
        assert_eq!(dropped.len(), 2, "{}: {dropped:?}", server.flavor());
        assert!(
            dropped[0].starts_with("www.example.test CNAME: ") && dropped[0].contains("dropped it silently"),
            "{dropped:?}"
        );
        assert!(dropped[1].starts_with("cname-www.example.test TXT: withdrawn"), "{dropped:?}");
        assert!(server.dig("www.example.test", "CNAME").await.unwrap().is_empty(), "{}", server.flavor());
        assert!(server.dig("cname-www.example.test", "TXT").await.unwrap().is_empty(), "{}", server.flavor());
    }
}

/// Without the right secret nothing is read: the zone is unreadable (not empty), with a reason
/// that names TSIG and the server's answer, and never the secret.
#[tokio::test]
async fn a_wrong_secret_leaves_the_zone_unread() {
    for server in servers() {
        let secret = "d3Jvbmctc2VjcmV0LXRoYXQtbXVzdC1ub3Qtc2hvdw==";
        let key = TsigKey::new("exodns-hmac-sha256", Algorithm::HmacSha256, secret).unwrap();
        let mut cfg = Rfc2136Config::new(vec![server.addr().to_string()], vec![ZONE.into()], Some(key));
        cfg.port = server.port();
        let p = Rfc2136Provider::new(cfg).unwrap();
        let records = p.records().await.unwrap();
        assert!(records.endpoints.is_empty());
        let [failure] = &records.unreadable_zones[..] else { panic!("{:?}", records.unreadable_zones) };
        assert_eq!(failure.zone, ZONE);
        assert!(
            failure.reason.contains("TSIG") && failure.reason.contains("BADSIG"),
            "{}: {}",
            server.flavor(),
            failure.reason
        );
        assert!(!failure.reason.contains(secret));
    }
}

/// BIND refuses (REFUSED) an MX whose target has no address in the zone: that record and its
/// ownership are reported, the rest of the message is applied.
#[tokio::test]
async fn a_refused_record_is_reported_and_the_rest_applied() {
    let Some(server) = DnsServer::start_or_skip(Flavor::Bind, DnsServerOptions::default()) else { return };
    let p = provider(&server, "hmac-sha256");
    p.records().await.unwrap();
    let changes = Changes {
        create: vec![
            ep("mx.example.test", RecordType::MX, &["10 nowhere.example.test"]),
            ownership("mx-mx.example.test", "mx.example.test"),
            ep("ok.example.test", RecordType::A, &["192.0.2.8"]),
            ownership("a-ok.example.test", "ok.example.test"),
        ],
        ..Changes::default()
    };
    let report = p.apply_changes(&changes).await.unwrap();
    let refused: Vec<String> =
        report.rejected.iter().map(|r| format!("{} {}", r.endpoint.dns_name.as_str(), r.reason)).collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.iter().all(|r| r.contains("REFUSED")), "{refused:?}");
    assert!(refused[0].starts_with("mx.example.test ") && refused[1].starts_with("mx-mx.example.test "), "{refused:?}");
    assert_eq!(server.dig("ok.example.test", "A").await.unwrap(), ["192.0.2.8"]);
    assert_eq!(server.dig("a-ok.example.test", "TXT").await.unwrap().len(), 1);
    assert!(server.dig("mx-mx.example.test", "TXT").await.unwrap().is_empty());
}
