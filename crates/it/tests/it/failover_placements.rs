//! Each placement through a FailoverRecord (manifest source → the binary → a real PowerDNS with
//! `enable-lua-records=yes` and checks every second), answered over DNS with live HTTP members
//! on 127.0.0.2–.4. it/lua.rs pins the same behaviour for records written by hand; these go
//! through the source, the pool planner and the registry.

use exodns_testbed::{BACKEND_ADDRS, Backends, exodns_bin};

use crate::failover::{HOST, Region, ZONE, pdns_with_zone, rrset};
use crate::lua::{FOLLOW, answers_become, ips, member_leaves_and_returns, probed_twice};

/// A FailoverRecord `app` for [`HOST`] with `spec` lines (two-space indented) after the hostname.
fn failover_record(spec: &str) -> String {
    format!(
        "apiVersion: exodns.io/v1alpha1\nkind: FailoverRecord\nmetadata: {{name: app, namespace: web}}\nspec:\n  \
         hostname: {HOST}\n{spec}"
    )
}

fn http_check(port: u16) -> String {
    format!("  healthCheck: {{type: http, port: {port}, timeoutSeconds: 1}}\n")
}

/// Active-active with an http check: every live member answers; a stopped one leaves the answer
/// within 3 s and comes back within 3 s of its restart.
#[tokio::test]
async fn active_active_http_members_leave_and_return_within_3s() {
    let Some(bin) = exodns_bin() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    let mut backends = Backends::http(&BACKEND_ADDRS[..2], "/healthz", "ok").expect("listeners");
    let eu = Region::new("eu");
    let spec = format!(
        "  placement: active-active\n  targets: [{{address: 127.0.0.2}}, {{address: 127.0.0.3, region: us}}]\n{}",
        http_check(backends.port())
    );
    eu.write("app.yaml", &failover_record(&spec));
    let log = eu.sync(&bin, &pdns);
    let lua = rrset(&pdns, HOST, "LUA").await.unwrap_or_else(|| panic!("no pool record:\n{log}"));
    let url = format!("ifurlup('http://{HOST}:{}/healthz', {{'127.0.0.2', '127.0.0.3'}}", backends.port());
    assert!(lua[0].contains(&url), "{lua:?}");
    member_leaves_and_returns(&pdns, &mut backends).await;
}

/// Hot standby: only the primary answers, the standby takes over within 3 s of the primary
/// stopping; an address added to the standby tier changes the record but never the answer.
#[tokio::test]
async fn hot_standby_answers_the_primary_and_a_new_standby_never_answers() {
    let Some(bin) = exodns_bin() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    let [primary, standby, second_standby] = BACKEND_ADDRS;
    let mut backends = Backends::http(&BACKEND_ADDRS, "/healthz", "ok").expect("listeners");
    let eu = Region::new("eu");
    let check = http_check(backends.port());
    let spec = |standby_tier: &str| {
        format!(
            "  placement: active-hotstandby\n  regions: [eu, us]\n  targets: [{{address: {primary}}}, {standby_tier}]\n{}",
            check
        )
    };
    eu.write("app.yaml", &failover_record(&spec(&format!("{{address: {standby}, region: us}}"))));
    let log = eu.sync(&bin, &pdns);
    let lua = rrset(&pdns, HOST, "LUA").await.unwrap_or_else(|| panic!("no pool record:\n{log}"));
    assert!(lua[0].contains("{{'127.0.0.2'}, {'127.0.0.3'}}"), "{lua:?}");
    probed_twice(&pdns, &backends, &[primary, standby]).await;
    answers_become(&pdns, &[primary], FOLLOW).await;
    backends.stop(primary);
    answers_become(&pdns, &[standby], FOLLOW).await;
    backends.start(primary);
    answers_become(&pdns, &[primary], FOLLOW).await;

    let tier = format!("{{address: {standby}, region: us}}, {{address: {second_standby}, region: us}}");
    eu.write("app.yaml", &failover_record(&spec(&tier)));
    let log = eu.sync(&bin, &pdns);
    let lua = rrset(&pdns, HOST, "LUA").await.expect("pool");
    assert!(lua[0].contains("{{'127.0.0.2'}, {'127.0.0.3', '127.0.0.4'}}"), "{lua:?}\n{log}");
    let checked = pdns.hold_answers(
        HOST,
        "A",
        std::time::Duration::from_secs(5),
        |a| a == ips(&[primary]),
        || format!("{log}\n{}", pdns.log()),
    );
    assert!(checked.await > 20, "too few answers in 5 s");
}

/// Weighted: the content carries each region's weight and every answer is one of the members;
/// single-region: a plain A of every member, no LUA record.
#[tokio::test]
async fn weighted_carries_the_weights_and_single_region_is_a_plain_a() {
    let Some(bin) = exodns_bin() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    let eu = Region::new("eu");
    let targets = "  targets: [{address: 127.0.0.2}, {address: 127.0.0.3, region: us}]\n";
    eu.write("app.yaml", &failover_record(&format!("  placement: weighted\n  weights: {{eu: 3, us: 1}}\n{targets}")));
    let log = eu.sync(&bin, &pdns);
    assert_eq!(
        rrset(&pdns, HOST, "LUA").await,
        Some(vec!["A \"pickwrandom({{3, '127.0.0.2'}, {1, '127.0.0.3'}})\"".to_owned()]),
        "{log}"
    );
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let got = pdns.answers(HOST, "A").await;
        assert!(got.len() == 1 && ["127.0.0.2", "127.0.0.3"].contains(&got[0].as_str()), "{got:?}");
        seen.insert(got[0].clone());
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen.len(), 2, "one address only in 200 answers: {seen:?}");

    let single = format!("  placement: single-region\n{targets}");
    eu.write("app.yaml", &failover_record(&single));
    let log = eu.sync(&bin, &pdns);
    assert_eq!(rrset(&pdns, HOST, "LUA").await, None, "{log}");
    assert_eq!(rrset(&pdns, HOST, "A").await, Some(ips(&BACKEND_ADDRS[..2])), "{log}");
    let rrsets = pdns.rrsets(ZONE).await.unwrap();
    let txt = rrsets.get(&(format!("a-{HOST}."), "TXT".to_owned())).map(|t| t.join(" ")).unwrap_or_default();
    assert!(txt.contains("owner=exodns-pool"), "{rrsets:#?}");
    assert_eq!(pdns.answers(HOST, "A").await, ips(&BACKEND_ADDRS[..2]));
}
