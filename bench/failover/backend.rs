//! `failover-bench backend`: a member dies and comes back; how long until PowerDNS's answer
//! follows. For each health-check interval, one PowerDNS and three records, each on its own
//! listeners:
//!
//! | check | record | killed | answer after the kill | after the restart |
//! |---|---|---|---|---|
//! | `ifurlup` | active-active http, members .2 and .3 | .3 | .2 | .2 .3 |
//! | `ifportup` | active-active tcp, members .2 and .3 | .3 | .2 | .2 .3 |
//! | `hotstandby` | `ifurlup` ordered sets, primary .2, standby .3 | .2 | .3 | .2 |
//!
//! Each run waits a random part of an interval (the kill falls anywhere in the check cycle),
//! stops the listener (its socket closed: connection refused), and asks the name every 10 ms until
//! the answer is the expected set; then the same for the restart. The three records are measured
//! side by side (their own names and listeners; PowerDNS checks them all every interval).

use std::net::IpAddr;
use std::time::Duration;

use exodns_core::DnsName;
use exodns_core::failover::{HealthCheck, Member, Placement, Policy, Port, Protocol, Region, UrlPath, render};
use exodns_testbed::{BACKEND_ADDRS, Backends};
use serde_json::json;

use crate::{Record, ZONE, median_p95, pdns, publish, random_below, sample, until_answers};

struct Case {
    check: &'static str,
    host: String,
    backends: Backends,
    killed: IpAddr,
    all: Vec<String>,
    after_kill: Vec<String>,
}

fn region(r: &str) -> Region {
    Region::parse(r, "region").expect("region")
}

fn health_check(protocol: Protocol, port: u16) -> HealthCheck {
    HealthCheck {
        protocol,
        port: Port::parse(i64::from(port), "port").expect("port"),
        path: UrlPath::default(),
        expect: None,
        timeout: Default::default(),
    }
}

/// The three cases' listeners and rendered records (name, LUA, content).
fn cases() -> (Vec<Case>, Vec<Record>) {
    let (a, b) = (BACKEND_ADDRS[0], BACKEND_ADDRS[1]);
    let members = [Member::new(region("eu"), a), Member::new(region("us"), b)];
    let mut cases = Vec::new();
    let mut records = Vec::new();
    for check in ["ifurlup", "ifportup", "hotstandby"] {
        let host = format!("{check}.{ZONE}");
        let (backends, policy) = match check {
            "ifportup" => {
                let bk = Backends::tcp(&[a, b]).expect("listeners");
                let hc = health_check(Protocol::Tcp, bk.port());
                (bk, Policy { health_check: Some(hc), ..Policy::new(Placement::ActiveActive) })
            }
            _ => {
                let bk = Backends::http(&[a, b], "/healthz", "ok").expect("listeners");
                let hc = Some(health_check(Protocol::Http, bk.port()));
                if check == "hotstandby" {
                    let regions = vec![region("eu"), region("us")];
                    (bk, Policy { health_check: hc, regions, ..Policy::new(Placement::ActiveHotStandby) })
                } else {
                    (bk, Policy { health_check: hc, ..Policy::new(Placement::ActiveActive) })
                }
            }
        };
        let rendered = render(&DnsName::parse(&host).expect("name"), &policy, &members).expect("renders");
        records.push((host.clone(), "LUA", rendered.targets));
        let (killed, all, after_kill) = if check == "hotstandby" {
            (a, vec![a.to_string()], vec![b.to_string()])
        } else {
            (b, vec![a.to_string(), b.to_string()], vec![a.to_string()])
        };
        cases.push(Case { check, host, backends, killed, all, after_kill });
    }
    (cases, records)
}

pub async fn run(runs: usize, intervals: &[u32]) {
    let mut summary = vec![
        "| check | interval | killed → answer changes: median / p95 | restarted → answer returns: median / p95 | runs |"
            .to_owned(),
        "|---|---|---|---|---|".to_owned(),
    ];
    for &interval in intervals {
        let pdns = pdns(interval).await;
        let (cases, records) = cases();
        publish(&pdns, &records);
        // The three records have their own names and listeners: measured side by side.
        let [a, b, c]: [Case; 3] = cases.try_into().unwrap_or_else(|_| panic!("three cases"));
        let (a, b, c) = tokio::join!(
            measure(&pdns, a, runs, interval),
            measure(&pdns, b, runs, interval),
            measure(&pdns, c, runs, interval)
        );
        summary.extend([a, b, c]);
    }
    eprintln!("{}", summary.join("\n"));
}

/// `runs` kills and restarts of one case; its summary line.
async fn measure(pdns: &exodns_testbed::Pdns, mut case: Case, runs: usize, interval: u32) -> String {
    let period = Duration::from_secs(u64::from(interval));
    let limit = period * 4 + Duration::from_secs(5);
    // Steady first: every member probed (the first answers before that are random).
    until_answers(pdns, &case.host, &case.all, limit).await;
    let (mut kills, mut backs) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        tokio::time::sleep(random_below(period)).await;
        case.backends.stop(case.killed);
        let kill = until_answers(pdns, &case.host, &case.after_kill, limit).await;
        tokio::time::sleep(random_below(period)).await;
        case.backends.start(case.killed);
        let back = until_answers(pdns, &case.host, &case.all, limit).await;
        let (k, b) = (kill.as_secs_f64(), back.as_secs_f64());
        sample(json!({"mode": "backend", "check": case.check, "interval": interval, "run": run, "kill": k, "back": b}));
        kills.push(k);
        backs.push(b);
    }
    let ((km, kp), (bm, bp)) = (median_p95(&kills), median_p95(&backs));
    format!("| {} | {interval} s | {km:.2} s / {kp:.2} s | {bm:.2} s / {bp:.2} s | {runs} |", case.check)
}
