use super::*;
use crate::failover::{HealthCheck, Placement, Port, Protocol, Timeout, UrlPath};

fn host() -> DnsName {
    DnsName::parse("app.example.org").unwrap()
}

fn policy(timeout: i64) -> Policy {
    Policy {
        health_check: Some(HealthCheck {
            protocol: Protocol::Tcp,
            port: Port::parse(8080, "p").unwrap(),
            path: UrlPath::default(),
            expect: None,
            timeout: Timeout::parse(timeout, "t").unwrap(),
        }),
        ..Policy::new(Placement::ActiveActive)
    }
}

fn settings() -> PoolSettings {
    PoolSettings { owner_id: "eu".into(), pool_owner: "exodns-pool".into(), region: Region::parse("eu", "r").ok() }
}

fn member(region: &str, addrs: &[&str], p: &Policy) -> Endpoint {
    let name = member_name(&Region::parse(region, "r").unwrap(), &host()).unwrap();
    Endpoint::new(name, RecordType::A, Targets::new(addrs.iter().map(|a| a.to_string()).collect()))
        .with_ttl(p.ttl)
        .with_label(POLICY_LABEL, p.hash())
        .with_label(label::RESOURCE, "failover/web/app")
}

fn owned(ep: Endpoint, owner: &str) -> Endpoint {
    ep.with_label(label::OWNER, owner)
}

fn a(name: &str, addr: &str) -> Endpoint {
    Endpoint::new(DnsName::parse(name).unwrap(), RecordType::A, Targets::new(vec![addr.into()]))
}

#[test]
fn the_pool_renders_every_regions_members_and_moves_our_plain_record() {
    let p = policy(2);
    let desired = vec![
        member("eu", &["127.0.0.2"], &p),
        declaration(host(), &p, "failover/web/app"),
        a("app.example.org", "127.0.0.5").with_label(label::RESOURCE, "service/web/app"),
    ];
    let mut current =
        vec![owned(member("us", &["127.0.0.3"], &p), "us"), owned(a("app.example.org", "127.0.0.5"), "eu")];
    let plan = plan_pools(desired, &mut current, &settings(), &|_| false);
    let text: Vec<String> = plan.desired.iter().map(|e| e.to_string()).collect();
    assert_eq!(text, ["eu._pool.app.example.org A ttl=30 127.0.0.2,127.0.0.5"], "the plain A joins our member");
    assert_eq!(plan.hosts.iter().map(DnsName::as_str).collect::<Vec<_>>(), ["app.example.org"]);
    assert_eq!(plan.pool_desired.len(), 1);
    assert_eq!(
        plan.pool_desired[0].targets,
        ["A \"ifportup(8080, {'127.0.0.2', '127.0.0.3', '127.0.0.5'}, {selector='all', timeout=2})\""]
    );
    assert_eq!(plan.reports[0].outcome, PoolOutcome::Rendered);
    assert_eq!(plan.reports[0].members.keys().collect::<Vec<_>>(), ["eu", "us"]);
    // Our plain A is not the pool pass's to see.
    assert!(plan.pool_current(&current, "eu").iter().all(|c| c.owner() != Some("eu")));
}

#[test]
fn a_policy_conflict_keeps_the_published_record() {
    let (ours, theirs) = (policy(2), policy(3));
    let published = owned(
        Endpoint::new(host(), RecordType::LUA, Targets::new(vec!["A \"ifportup(8080, {'127.0.0.3'})\"".into()])),
        "exodns-pool",
    );
    let mut current = vec![owned(member("us", &["127.0.0.3"], &theirs), "us"), published.clone()];
    let desired = vec![member("eu", &["127.0.0.2"], &ours), declaration(host(), &ours, "failover/web/app")];
    let plan = plan_pools(desired, &mut current, &settings(), &|_| false);
    assert_eq!(plan.pool_desired, vec![published]);
    assert_eq!(plan.reports[0].outcome, PoolOutcome::PolicyConflict { regions: vec!["eu".into(), "us".into()] });
}

#[test]
fn a_foreign_record_takes_the_hostname() {
    let p = policy(2);
    let mut current = vec![owned(a("app.example.org", "10.0.0.1"), "someone")];
    let desired = vec![member("eu", &["127.0.0.2"], &p), declaration(host(), &p, "failover/web/app")];
    let plan = plan_pools(desired, &mut current, &settings(), &|_| false);
    assert!(plan.hosts.is_empty() && plan.pool_desired.is_empty());
    assert_eq!(plan.reports[0].outcome, PoolOutcome::Foreign { record_type: RecordType::A, owner: "someone".into() });
    // An unowned LUA record too.
    let mut current = vec![Endpoint::new(host(), RecordType::LUA, Targets::new(vec!["A \"'1.2.3.4'\"".into()]))];
    let desired = vec![member("eu", &["127.0.0.2"], &p), declaration(host(), &p, "failover/web/app")];
    let plan = plan_pools(desired, &mut current, &settings(), &|_| false);
    assert!(matches!(plan.reports[0].outcome, PoolOutcome::Foreign { record_type: RecordType::LUA, .. }));
}

#[test]
fn a_pool_without_members_goes_and_a_stale_policy_label_is_rewritten() {
    let p = policy(2);
    let published = owned(Endpoint::new(host(), RecordType::LUA, Targets::new(vec!["A \"x\"".into()])), "exodns-pool");
    let mut current = vec![published];
    let plan = plan_pools(Vec::new(), &mut current, &settings(), &|_| false);
    assert!(plan.hosts.contains(&host()) && plan.pool_desired.is_empty());
    assert_eq!(plan.reports[0].outcome, PoolOutcome::NoMembers);

    let mut current = vec![owned(member("eu", &["127.0.0.2"], &policy(3)), "eu")];
    let desired = vec![member("eu", &["127.0.0.2"], &p), declaration(host(), &p, "failover/web/app")];
    plan_pools(desired, &mut current, &settings(), &|_| false);
    assert_eq!(current[0].property(FORCE_UPDATE_PROPERTY), Some("true"));
}

#[test]
fn a_held_member_keeps_the_pool() {
    // Our record turned invalid: no declaration, no desired member; its member is held.
    let p = policy(2);
    let published = owned(Endpoint::new(host(), RecordType::LUA, Targets::new(vec!["A \"x\"".into()])), "exodns-pool");
    let mut current = vec![owned(member("eu", &["127.0.0.2"], &p), "eu"), published.clone()];
    let plan = plan_pools(Vec::new(), &mut current, &settings(), &|c: &Endpoint| c.owner() == Some("eu"));
    assert_eq!(plan.reports[0].outcome, PoolOutcome::NoPolicy);
    assert_eq!(plan.pool_desired, vec![published]);
}

#[test]
fn the_rendered_policy_survives_the_txt_encoding() {
    let mut p = policy(2);
    let hc = p.health_check.as_mut().unwrap();
    hc.protocol = Protocol::Http;
    hc.path = UrlPath::parse("/a%2Cb,c=%25", "p").unwrap();
    hc.expect = Some(crate::failover::StringMatch::parse("x, y % z,", "e").unwrap());
    p.regions = vec![Region::parse("eu", "r").unwrap(), Region::parse("us", "r").unwrap()];
    let label = rendered_label(&p);
    assert!(!label.contains(','), "{label}");
    assert_eq!(rendered_policy(&label), Some(p));
    for bad in ["v1%", "v1%2", "v1%41", "v1 A"] {
        assert_eq!(rendered_policy(bad), None, "{bad}");
    }
}

#[test]
fn a_region_that_deleted_its_record_re_renders_the_pool_without_its_member() {
    let p = policy(2);
    let published = owned(
        Endpoint::new(
            host(),
            RecordType::LUA,
            Targets::new(vec!["A \"ifportup(8080, {'127.0.0.2', '127.0.0.3'})\"".into()]),
        ),
        "exodns-pool",
    )
    .with_label(RENDERED_LABEL, rendered_label(&p));
    // eu's FailoverRecord is gone: nothing desired; its member is still in the zone.
    let mut current = vec![
        owned(member("eu", &["127.0.0.2"], &p), "eu"),
        owned(member("us", &["127.0.0.3"], &p), "us"),
        published.clone(),
    ];
    let plan = plan_pools(Vec::new(), &mut current, &settings(), &|_| false);
    assert_eq!(plan.reports[0].outcome, PoolOutcome::Rendered);
    assert_eq!(plan.reports[0].members.keys().collect::<Vec<_>>(), ["us"]);
    assert_eq!(plan.pool_desired[0].targets, ["A \"ifportup(8080, {'127.0.0.3'}, {selector='all', timeout=2})\""]);
    assert_eq!(plan.pool_desired[0].labels.get(RENDERED_LABEL), Some(&rendered_label(&p)));

    // A member of another policy: nobody here knows which is right; left as published.
    let mut current = vec![owned(member("us", &["127.0.0.3"], &policy(3)), "us"), published.clone()];
    let plan = plan_pools(Vec::new(), &mut current, &settings(), &|_| false);
    assert_eq!(plan.reports[0].outcome, PoolOutcome::NoPolicy);
    assert_eq!(plan.pool_desired, vec![published.clone()]);

    // Published before the label existed: left as it is, and its TXT gets the label at the
    // next render of a region that has the record.
    let mut unlabelled_only = published;
    unlabelled_only.labels.remove(RENDERED_LABEL);
    let mut current = vec![owned(member("us", &["127.0.0.3"], &p), "us"), unlabelled_only.clone()];
    let plan = plan_pools(Vec::new(), &mut current, &settings(), &|_| false);
    assert_eq!(plan.reports[0].outcome, PoolOutcome::NoPolicy);
    let desired = vec![member("eu", &["127.0.0.2"], &p), declaration(host(), &p, "failover/web/app")];
    let mut current = vec![owned(member("us", &["127.0.0.3"], &p), "us"), unlabelled_only];
    plan_pools(desired, &mut current, &settings(), &|_| false);
    assert_eq!(current[1].property(FORCE_UPDATE_PROPERTY), Some("true"));
}
