//! Behaviour cases (after upstream's plan and policy tests): choice of candidates, update
//! triggers, record types, set identifiers, filters, policies.

use super::*;
use crate::endpoint::Ttl;
use crate::plan::plan;

const BAR: &str = "bar.example.org";

fn foo_aaaa() -> Endpoint {
    res(mk_aaaa(FOO, &["2001:db8::1"]), "ingress/default/foo-aaaa")
}
fn bar_127() -> Endpoint {
    res(mk_a(BAR, &["127.0.0.1"]), "ingress/default/bar-127")
}
fn bar_192() -> Endpoint {
    res(mk_a(BAR, &["192.168.0.1"]), "ingress/default/bar-192")
}
fn noop() -> PlanOptions {
    opts_owner("")
}

#[test]
fn first_round_creates_the_least_candidate() {
    let p = plan(&[foo_v1(), foo_v2(), bar_127()], &[], &noop());
    expect(&p.changes, &[&bar_127(), &foo_v1()], &[], &[], &[]);
    // Input order does not matter.
    assert_eq!(plan(&[bar_127(), foo_v2(), foo_v1()], &[], &noop()), p);
}

#[test]
fn second_round_keeps_the_current_resource() {
    let cur = owned(foo_v1(), "pwner");
    let p = plan(&[foo_v2(), foo_v1(), bar_127()], &[cur], &noop());
    expect(&p.changes, &[&bar_127()], &[], &[], &[]);
}

#[test]
fn unlabelled_current_is_updated_to_the_least_candidate() {
    let cur = mk_cname(FOO, "v2.example.net");
    let p = plan(&[foo_v2(), foo_v1(), bar_127()], one(&cur), &noop());
    let new = owned(foo_v1(), "");
    expect(&p.changes, &[&bar_127()], &[&cur], &[&new], &[]);
}

#[test]
fn ttl_set_and_different_updates_unset_does_not() {
    let with_ttl = bar_127().with_ttl(Ttl(300));
    let p = plan(one(&with_ttl), &[bar_127()], &noop());
    expect(&p.changes, &[], &[&bar_127()], &[&owned(with_ttl.clone(), "")], &[]);
    // Desired without TTL: the provider's TTL stays.
    assert!(plan(&[bar_127()], one(&with_ttl), &noop()).changes.is_empty());
    assert!(plan(one(&with_ttl), one(&with_ttl), &noop()).changes.is_empty());
}

#[test]
fn provider_specific_changes() {
    let proxied = |v: &str| bar_127().with_property("alias", "false").with_property("cloudflare-proxied", v);
    let only_alias = bar_127().with_property("alias", "false");
    let changed = |d: &Endpoint, c: &Endpoint| !plan(one(d), one(c), &noop()).changes.update_new.is_empty();
    assert!(changed(&proxied("false"), &proxied("true")));
    assert!(!changed(&proxied("true"), &proxied("true")));
    assert!(!plan(&[proxied("true")], &[proxied("true")], &noop()).has_changes());
    assert!(changed(&only_alias, &proxied("false")), "removal");
    assert!(changed(&proxied("true"), &only_alias), "addition");
}

#[test]
fn force_update_property_on_current_forces_an_update() {
    // The registry marks an owned record whose TXT is missing; the update recreates the TXT.
    let cur = owned(bar_127(), "me").with_property(crate::endpoint::FORCE_UPDATE_PROPERTY, "true");
    let p = plan(&[bar_127()], one(&cur), &opts_owner("me"));
    expect(&p.changes, &[], &[&cur], &[&owned(bar_127(), "me")], &[]);
    assert!(p.has_changes());
}

#[test]
fn same_records_plan_nothing() {
    let both = [foo_v1(), bar_127()];
    assert!(plan(&both, &both, &noop()).changes.is_empty());
}

#[test]
fn target_case_and_ipv6_spelling_are_not_changes() {
    let upper = mk_raw(FOO, RecordType::CNAME, &["V2.Example.NET"]);
    assert!(plan(&[mk_cname(FOO, "v2.example.net")], &[upper], &noop()).changes.is_empty());
    let long = mk_raw(FOO, RecordType::AAAA, &["2001:DB8:0:0:0:0:0:1"]);
    assert!(plan(&[mk_aaaa(FOO, &["2001:db8::1"])], &[long], &noop()).changes.is_empty());
    let two = mk_raw(FOO, RecordType::A, &["10.0.0.2", "10.0.0.1"]);
    assert!(plan(&[mk_a(FOO, &["10.0.0.1", "10.0.0.2"])], &[two], &noop()).changes.is_empty());
}

#[test]
fn cname_to_a_deletes_and_creates() {
    let cur = owned(foo_v1(), "pwner");
    let p = plan(&[foo_a5()], one(&cur), &opts_owner("pwner"));
    expect(&p.changes, &[&foo_a5()], &[], &[], &[&cur]);
}

#[test]
fn cname_to_dual_stack() {
    let cur = owned(foo_v1(), "pwner");
    let p = plan(&[foo_a5(), foo_aaaa()], one(&cur), &opts_owner("pwner"));
    expect(&p.changes, &[&foo_a5(), &foo_aaaa()], &[], &[], &[&cur]);
}

#[test]
fn dual_stack_to_cname() {
    let (a, aaaa) = (owned(foo_a5(), "nerf"), owned(foo_aaaa(), "nerf"));
    let p = plan(&[foo_v2()], &[a.clone(), aaaa.clone()], &opts_owner("nerf"));
    expect(&p.changes, &[&foo_v2()], &[], &[], &[&a, &aaaa]);
}

#[test]
fn a_and_aaaa_win_over_cname_candidates() {
    let p = plan(&[foo_v1(), foo_a5(), foo_aaaa()], &[], &noop());
    expect(&p.changes, &[&foo_a5(), &foo_aaaa()], &[], &[], &[]);
    // With a current CNAME: the CNAME candidate is dropped and the current one deleted.
    let cur = owned(foo_v1(), "nerf");
    let p = plan(&[foo_v1(), foo_a5(), foo_aaaa()], one(&cur), &opts_owner("nerf"));
    expect(&p.changes, &[&foo_a5(), &foo_aaaa()], &[], &[], &[&cur]);
}

#[test]
fn conflicting_current_is_resolved_by_desired() {
    let (cname, a) = (owned(foo_v1(), "pwner"), owned(foo_a5(), "pwner"));
    let p = plan(&[foo_a5()], &[cname.clone(), a.clone()], &opts_owner("pwner"));
    expect(&p.changes, &[], &[], &[], &[&cname]);
    let p = plan(&[], &[cname.clone(), a.clone()], &opts_owner("pwner"));
    expect(&p.changes, &[], &[], &[], &[&a, &cname]);
}

#[test]
fn single_cname_candidate_is_not_a_conflict() {
    // Only one candidate: no resolution, so the A is replaced by the CNAME.
    let a = owned(foo_a5(), "me");
    let p = plan(&[foo_v1()], one(&a), &opts_owner("me"));
    expect(&p.changes, &[&foo_v1()], &[], &[], &[&a]);
}

#[test]
fn unmanaged_types_are_invisible() {
    let txt = mk_txt(FOO, "heritage=external-dns");
    let p = plan(&[foo_v2()], one(&txt), &noop());
    expect(&p.changes, &[&foo_v2()], &[], &[], &[]);
    let managed_but_excluded = PlanOptions {
        managed_types: vec![RecordType::A, RecordType::CNAME, RecordType::TXT],
        excluded_types: vec![RecordType::TXT],
        ..noop()
    };
    let p = plan(&[foo_v2()], one(&txt), &managed_but_excluded);
    expect(&p.changes, &[&foo_v2()], &[], &[], &[]);
    let txt_managed = PlanOptions { managed_types: vec![RecordType::TXT], ..noop() };
    let p = plan(&[], &[txt.clone(), bar_127()], &txt_managed);
    expect(&p.changes, &[], &[], &[], &[&txt]);
    let nothing = PlanOptions { managed_types: vec![], ..noop() };
    assert!(plan(&[foo_v1()], &[bar_127()], &nothing).changes.is_empty());
    let no_aaaa = PlanOptions { managed_types: vec![RecordType::AAAA, RecordType::CNAME], ..noop() };
    let p = plan(&[foo_aaaa(), bar_127()], &[], &no_aaaa);
    expect(&p.changes, &[&foo_aaaa()], &[], &[], &[]);
}

#[test]
fn is_managed_excluded_wins() {
    use crate::plan::is_managed;
    assert!(is_managed(RecordType::A, &[RecordType::A], &[]));
    assert!(!is_managed(RecordType::A, &[RecordType::A], &[RecordType::A]));
    assert!(!is_managed(RecordType::TXT, &[RecordType::A], &[]));
    assert!(!is_managed(RecordType::A, &[], &[]));
}

#[test]
fn remove_and_upsert_only() {
    let p = plan(&[foo_v1()], &[foo_v1(), bar_192()], &noop());
    expect(&p.changes, &[], &[], &[], &[&bar_192()]);
    let p = plan(&[foo_v1()], &[foo_v1(), bar_192()], &opts_policy("", Policy::UpsertOnly));
    assert!(p.changes.is_empty());
}

#[test]
fn policies() {
    let current = [bar_192(), foo_v1()];
    let desired = [mk_a("new.example.org", &["1.1.1.1"]), foo_v2()];
    let sync = plan(&desired, &current, &opts_policy("", Policy::Sync)).changes;
    assert_eq!((sync.create.len(), sync.update_new.len(), sync.delete.len()), (1, 1, 1));
    let upsert = plan(&desired, &current, &opts_policy("", Policy::UpsertOnly)).changes;
    assert_eq!((upsert.create.len(), upsert.update_new.len(), upsert.delete.len()), (1, 1, 0));
    let create = plan(&desired, &current, &opts_policy("", Policy::CreateOnly)).changes;
    assert_eq!(
        (create.create.len(), create.update_old.len(), create.update_new.len(), create.delete.len()),
        (1, 0, 0, 0)
    );
    assert_eq!(create.create, sync.create);
}

#[test]
fn set_identifiers_make_separate_rows() {
    let m = |ip: &str, set: &str| mk_a("multiple.example.org", &[ip]).with_set_identifier(set);
    let (m1, m2, m3) = (m("192.168.0.1", "test-set-1"), m("192.168.0.2", "test-set-1"), m("192.168.0.2", "test-set-2"));
    let p = plan(&[m2.clone(), m3.clone()], one(&m1), &noop());
    expect(&p.changes, &[&m3], &[&m1], &[&owned(m2.clone(), "")], &[]);
    // Moving a record to another set identifier is a create plus a delete.
    let p = plan(one(&m3), one(&m2), &noop());
    expect(&p.changes, &[&m3], &[], &[], &[&m2]);
}

#[test]
fn domain_filters() {
    let f = |n: &str, ip: &str| mk_a(n, &[ip]);
    let (f1, f2, f3) = (f("foo.domain.tld", "1.2.3.4"), f("bar.domain.tld", "1.2.3.5"), f("baz.domain.tld", "1.2.3.6"));
    let excluded = f("foo.ex.domain.tld", "1.1.1.1");
    let opts = PlanOptions { domain_filter: filter(&["domain.tld"], &["ex.domain.tld"]), ..noop() };
    let desired = [excluded.clone(), f1.clone(), f2.clone(), f3.clone()];
    let p = plan(&desired, one(&excluded), &opts);
    expect(&p.changes, &[&f2, &f3, &f1], &[], &[], &[]);
    let p = plan(&desired, &[excluded.clone(), f1.clone(), f2.clone()], &opts);
    expect(&p.changes, &[&f3], &[], &[], &[]);
    // The provider's filter applies too: a record must pass both.
    let both = PlanOptions { provider_filter: filter(&["bar.domain.tld", "baz.domain.tld"], &[]), ..opts };
    let p = plan(&desired, &[excluded], &both);
    expect(&p.changes, &[&f2, &f3], &[], &[], &[]);
    let regex = PlanOptions { domain_filter: DomainFilter::with_regex(r"^ba", "").unwrap(), ..noop() };
    let p = plan(&desired, &[], &regex);
    expect(&p.changes, &[&f2, &f3], &[], &[], &[]);
}

#[test]
fn dual_stack_lifecycle() {
    let a = res(mk_a("ds.example.org", &["1.1.1.1"]), "ingress/default/ds");
    let aaaa = res(mk_aaaa("ds.example.org", &["2001:db8::1"]), "ingress/default/ds-aaaa");
    let p = plan(&[a.clone(), aaaa.clone()], &[], &noop());
    expect(&p.changes, &[&a, &aaaa], &[], &[], &[]);
    let p = plan(&[], &[a.clone(), aaaa.clone()], &noop());
    expect(&p.changes, &[], &[], &[], &[&a, &aaaa]);
    let p = plan(one(&a), &[a.clone(), aaaa.clone()], &noop());
    expect(&p.changes, &[], &[], &[], &[&aaaa]);
}

#[test]
fn update_prefers_the_resource_holding_the_name() {
    let cur = owned(res(mk_a(BAR, &["10.0.0.9"]), "service/ns/b"), "me");
    let other = res(mk_a(BAR, &["10.0.0.1"]), "service/ns/a");
    let same = res(mk_a(BAR, &["10.0.0.5"]), "service/ns/b");
    let p = plan(&[other, same.clone()], one(&cur), &opts_owner("me"));
    expect(&p.changes, &[], &[&cur], &[&owned(same, "me")], &[]);
}

#[test]
fn output_is_sorted_by_name_set_and_type() {
    let desired = [
        mk_a("z.example.org", &["1.1.1.1"]),
        mk_aaaa("a.example.org", &["::1"]),
        mk_a("a.example.org", &["1.1.1.1"]).with_set_identifier("b"),
        mk_a("a.example.org", &["1.1.1.1"]),
    ];
    let p = plan(&desired, &[], &noop());
    let keys: Vec<_> = p.changes.create.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        keys,
        ["a.example.org A 1.1.1.1", "a.example.org AAAA ::1", "a.example.org A [b] 1.1.1.1", "z.example.org A 1.1.1.1"]
    );
}

#[test]
fn update_pair_targets_are_sorted_so_order_alone_is_no_change() {
    // Migration forces an update pair; with everything else equal it must not count as a change
    // even when the provider lists the targets in another order (upstream sorts them too).
    let cur = owned(mk_raw(BAR, RecordType::A, &["10.0.0.2", "10.0.0.1"]), "me");
    let want = mk_a(BAR, &["10.0.0.1", "10.0.0.2"]).with_label(label::OWNER, "me");
    let opts = PlanOptions { old_owner_id: "old".into(), ..opts_owner("me") };
    let p = plan(&[want], &[cur], &opts);
    assert_eq!(p.changes.update_new.len(), 1);
    assert!(!p.has_changes());
}
