//! The sources that read no cluster objects against upstream ExternalDNS v0.22.0: `connector` on
//! the same server (our Go test peer, sending with upstream's endpoint type and `encoding/gob`),
//! `empty`, and `fake` with its random parts masked. A connector server that cannot be reached,
//! or that sends something else, deletes nothing and is read again at the next sync.

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use exodns_testbed::connector::ConnectorServer;
use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{Proc, WebhookRecorder, exodns_bin, free_port, wait_until_log};

use crate::diff::Differ;

/// Endpoint shapes, in upstream's endpoint JSON: several targets with a TTL; labels of the
/// server's own (one the `resource` label); provider-specific properties; TXT; a set identifier; a wildcard; two entries merged into
/// one record; MX, SRV and NS (not managed by default: neither side publishes them);
/// an upper-case name with a trailing dot.
const SHAPES: &str = r#"[
  {"dnsName": "app.example.org", "targets": ["192.0.2.2", "192.0.2.1"], "recordType": "A", "recordTTL": 300},
  {"dnsName": "v6.example.org", "targets": ["2001:db8::1"], "recordType": "AAAA", "labels": {"team": "web", "resource": "feed/app"}},
  {"dnsName": "www.example.org", "targets": ["lb.example.net"], "recordType": "CNAME",
   "providerSpecific": [{"name": "webhook/weight", "value": "10"}, {"name": "alias", "value": "false"}]},
  {"dnsName": "txt.example.org", "targets": ["hello world"], "recordType": "TXT"},
  {"dnsName": "eu.example.org", "targets": ["192.0.2.10"], "recordType": "A", "setIdentifier": "eu",
   "providerSpecific": [{"name": "webhook/region", "value": "eu-west-1"}]},
  {"dnsName": "*.wild.example.org", "targets": ["192.0.2.20"], "recordType": "A", "recordTTL": 60},
  {"dnsName": "merged.example.org", "targets": ["192.0.2.31"], "recordType": "A"},
  {"dnsName": "merged.example.org", "targets": ["192.0.2.30"], "recordType": "A"},
  {"dnsName": "example.org", "targets": ["10 mail.example.org"], "recordType": "MX"},
  {"dnsName": "_sip._udp.example.org", "targets": ["10 20 5060 sip.example.org."], "recordType": "SRV"},
  {"dnsName": "sub.example.org", "targets": ["ns1.example.net"], "recordType": "NS"},
  {"dnsName": "Upper.Example.org.", "targets": ["192.0.2.40"], "recordType": "A"}
]"#;

fn server_flag(server: &str) -> String {
    format!("--connector-source-server={server}")
}

#[test]
fn connector_matches_upstream() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    let Some(server) = ConnectorServer::start_or_skip(SHAPES) else { return };
    let flag = server_flag(server.addr());
    let source = ["--source=connector", flag.as_str()];
    let with = |more: &[&'static str]| -> Vec<&str> { source.iter().copied().chain(more.iter().copied()).collect() };

    let n = differ.compare(&source, &[]);
    assert!(n >= 14, "too few records to compare: {n}\n{}", server.log());
    differ.compare(&with(&["--default-targets=198.51.100.1"]), &[]);
    differ.compare(&with(&["--min-ttl=2m", "--target-net-filter=192.0.2.0/24"]), &[]);
    // `--namespace` and `--label-filter` do not apply to it.
    differ.compare(&with(&["--label-filter=app=none", "--namespace=none"]), &[]);

    server.set("[]");
    assert_eq!(differ.compare(&source, &[]), 0);
}

#[test]
fn empty_matches_upstream() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    assert_eq!(differ.compare(&["--source=empty"], &[]), 0);
}

/// The random parts of a `fake` record: a label of four (or three) letters (not after `_`; the
/// domains tested have none), the last part of its IPv4 and IPv6 addresses and of a PTR name.
fn mask(line: &str) -> String {
    let b = line.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|c| c.is_ascii_lowercase()).count();
        let before = i.checked_sub(1).map(|j| b[j]);
        if (3..=4).contains(&run)
            && b.get(i + run) == Some(&b'.')
            && &b[i..i + run] != b"addr"
            && !before.is_some_and(|c| c == b'_' || c.is_ascii_alphanumeric())
        {
            out.push(b'?');
            i += run;
            continue;
        }
        let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && (b[..i].ends_with(b"192.0.2.") || b[i + digits..].starts_with(b".2.0.192.in-addr")) {
            out.push(b'#');
            i += digits;
            continue;
        }
        if b[..i].ends_with(b"2001:db8::") {
            let hex = b[i..].iter().take_while(|c| c.is_ascii_hexdigit() || **c == b':').count();
            out.push(b'#');
            i += hex.max(1);
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn fake_matches_upstream_but_for_its_random_parts() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    for flags in [
        vec!["--source=fake"],
        vec!["--source=fake", "--fqdn-template={{.Name}}-one.example.com,{{.Namespace}}.example.com"],
    ] {
        let masked = |lines: Vec<String>| {
            let mut m: Vec<String> = lines.iter().map(|l| mask(l)).collect();
            m.sort();
            m
        };
        let up = masked(differ.upstream(&flags).unwrap_or_else(|log| panic!("upstream {flags:?}:\n{log}")));
        let (ex, log) = differ.exodns(&flags);
        assert_eq!(masked(ex), up, "{flags:?}\nexodns log:\n{log}");
        assert!(up.len() >= 6, "{flags:?}: too few records: {up:#?}");
    }
}

#[test]
fn masking_hides_only_the_random_parts() {
    assert_eq!(
        mask(r#"a-abcd.example.com TXT "…resource=fake/default/abcd.example.com" {"ownedRecord":"abcd.example.com"}"#),
        r#"a-?.example.com TXT "…resource=fake/default/?.example.com" {"ownedRecord":"?.example.com"}"#
    );
    assert_eq!(
        mask("_sip._udp.example.com SRV 10 20 5060 qwer.example.com"),
        "_sip._udp.example.com SRV 10 20 5060 ?.example.com"
    );
    assert_eq!(mask("x.example.com A 192.0.2.17,192.0.2.3"), "x.example.com A 192.0.2.#,192.0.2.#");
    assert_eq!(mask("17.2.0.192.in-addr.arpa PTR abc.example.com"), "#.2.0.192.in-addr.arpa PTR ?.example.com");
    assert_eq!(mask("v.example.com AAAA 2001:db8::1f:a2 {}"), "v.example.com AAAA 2001:db8::# {}");
}

/// Owned records of the zone `exodns plan` is given: what a connector published before.
const PUBLISHED: &str = r#"[
  {"dnsName": "app.example.org", "targets": ["192.0.2.1"], "recordType": "A", "labels": {"owner": "diff"}},
  {"dnsName": "a-app.example.org", "targets": ["\"heritage=external-dns,external-dns/owner=diff\""], "recordType": "TXT", "labels": {"owner": "diff"}}
]"#;

/// `exodns plan` of `--source=connector` on `server` against the zone of [`PUBLISHED`]: its
/// Changes and its log.
fn plan_against_published(server: &str) -> (serde_json::Value, String) {
    let exodns = exodns_bin().expect("target/debug/exodns (cargo build -p exodns)");
    let mut zone = tempfile::NamedTempFile::new().unwrap();
    zone.write_all(PUBLISHED.as_bytes()).unwrap();
    let out = Command::new(exodns)
        .args(["plan", "--output=json", "--provider=inmemory", "--policy=sync", "--registry=txt"])
        .args(["--txt-owner-id=diff", "--source=connector", &server_flag(server)])
        .arg(format!("--current-endpoints={}", zone.path().display()))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run exodns plan");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "exodns plan failed:\n{log}");
    let changes = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {log}"));
    (changes, log)
}

fn deletes(changes: &serde_json::Value) -> usize {
    ["delete", "updateOld"].iter().map(|k| changes.get(*k).and_then(|v| v.as_array()).map_or(0, Vec::len)).sum()
}

/// A server that cannot be reached, or that sends no gob stream, deletes nothing (upstream fails
/// its whole sync); the log names the server and what was wrong.
#[test]
fn a_server_that_fails_deletes_nothing() {
    let unreachable = format!("127.0.0.1:{}", free_port());
    let (changes, log) = plan_against_published(&unreachable);
    assert_eq!(deletes(&changes), 0, "{changes}");
    assert!(log.contains(&format!("connector source server {unreachable}: cannot connect")), "{log}");

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let talker = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    let (changes, log) = plan_against_published(&addr);
    talker.join().unwrap();
    assert_eq!(deletes(&changes), 0, "{changes}");
    assert!(log.contains(&format!("connector source server {addr}: not a gob stream")), "{log}");

    // The same server sending no endpoints: the record goes, as it should.
    let Some(server) = ConnectorServer::start_or_skip("[]") else { return };
    let (changes, _) = plan_against_published(server.addr());
    assert_eq!(deletes(&changes), 2, "{changes}");

    // Upstream fails the whole sync when the server cannot be reached.
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    let log = differ.upstream(&["--source=connector", &server_flag(&unreachable)]).unwrap_err();
    assert!(log.contains("connection refused"), "{log}");
}

/// `exodns` (the loop, not `--once`) with a connector server that is down at start: no exit, and
/// the records are sent once the server is up.
#[test]
fn a_connection_failure_is_retried() {
    let Some(exodns) = exodns_bin() else { return };
    let port = free_port();
    let recorder = WebhookRecorder::start().expect("webhook recorder");
    let mut run = Proc::spawn(
        "exodns",
        Command::new(exodns)
            .args(["--provider=webhook", "--policy=sync", "--registry=txt", "--txt-owner-id=diff", "--interval=1s"])
            .args(["--source=connector", &server_flag(&format!("127.0.0.1:{port}"))])
            .arg(format!("--webhook-provider-url={}", recorder.url()))
            .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
            .env("RUST_LOG", "info"),
    );
    wait_until_log("a failed read", Duration::from_secs(20), || run.log().contains("cannot connect"), || run.log());
    assert!(run.is_running(), "{}", run.log());
    let Some(_server) = ConnectorServer::start_on_or_skip(port, SHAPES) else { return };
    wait_until_log(
        "the records sent",
        Duration::from_secs(20),
        || recorder.bodies("/records").iter().any(|b| b.contains("app.example.org")),
        || run.log(),
    );
}
