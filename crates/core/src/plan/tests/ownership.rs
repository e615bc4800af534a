//! Ownership: the create check, the final owner filter, owner inheritance, migration from an
//! old owner id, de-duplication of deletes.

use super::*;
use crate::plan::{OwnerConflict, plan};

fn conflict(rt: RecordType, foreign: &str, resource: Option<&str>) -> OwnerConflict {
    OwnerConflict {
        dns_name: DnsName::parse(FOO).unwrap(),
        set_identifier: String::new(),
        record_type: rt,
        foreign_owner: foreign.to_owned(),
        resource: resource.map(str::to_owned),
    }
}

#[test]
fn no_create_on_a_name_held_by_an_unowned_record() {
    let p = plan(&[foo_v2()], &[mk_a(FOO, &["5.5.5.5"])], &opts_owner("pwner"));
    assert!(p.changes.is_empty());
    assert_eq!(p.conflicts, [conflict(RecordType::CNAME, "", Some("ingress/default/foo-v2"))]);
}

#[test]
fn no_create_on_a_name_held_by_another_owner() {
    let cur = owned(mk_a(FOO, &["1.2.3.4"]), "other");
    let want = owned(mk_cname(FOO, "bar.example.com"), "pwner");
    let p = plan(&[want], &[cur], &opts_owner("pwner"));
    assert!(p.changes.is_empty());
    assert_eq!(p.conflicts, [conflict(RecordType::CNAME, "other", None)]);
    // The policy does not hide the conflict.
    let p = plan(&[foo_v2()], &[owned(foo_a5(), "other")], &opts_policy("pwner", Policy::CreateOnly));
    assert_eq!(p.conflicts.len(), 1);
}

#[test]
fn one_foreign_record_blocks_every_create_in_its_row() {
    let (a, aaaa) = (owned(mk_a(FOO, &["1.1.1.1"]), "me"), owned(mk_aaaa(FOO, &["::1"]), "other"));
    let want_a = mk_a(FOO, &["2.2.2.2"]);
    let want_txt = mk_txt(FOO, "hello");
    let opts =
        PlanOptions { managed_types: vec![RecordType::A, RecordType::AAAA, RecordType::TXT], ..opts_owner("me") };
    let p = plan(&[want_a.clone(), want_txt], &[a.clone(), aaaa], &opts);
    // The A is ours: updated. The AAAA is not: neither updated nor deleted. The TXT: refused.
    expect(&p.changes, &[], &[&a], &[&owned(want_a, "me")], &[]);
    assert_eq!(p.conflicts, [conflict(RecordType::TXT, "other", None)]);
}

#[test]
fn foreign_and_unowned_records_are_never_updated_or_deleted() {
    let theirs = owned(mk_a("a.example.org", &["1.1.1.1"]), "other");
    let nobodys = mk_a("b.example.org", &["1.1.1.1"]);
    let mine = owned(mk_a("c.example.org", &["1.1.1.1"]), "me");
    let current = [theirs, nobodys, mine.clone()];
    // Desired elsewhere: only ours is deleted.
    let p = plan(&[], &current, &opts_owner("me"));
    expect(&p.changes, &[], &[], &[], &[&mine]);
    // Desired with new targets: only ours is updated.
    let desired: Vec<_> = ["a", "b", "c"].iter().map(|n| mk_a(&format!("{n}.example.org"), &["9.9.9.9"])).collect();
    let p = plan(&desired, &current, &opts_owner("me"));
    expect(&p.changes, &[], &[&mine], &[&owned(desired[2].clone(), "me")], &[]);
    // The two refused updates are reported as conflicts, like refused creates.
    let foreign: Vec<(&str, &str)> =
        p.conflicts.iter().map(|c| (c.dns_name.as_str(), c.foreign_owner.as_str())).collect();
    assert_eq!(foreign, [("a.example.org", "other"), ("b.example.org", "")]);
}

#[test]
fn noop_registry_owns_everything() {
    let nobodys = mk_a(FOO, &["1.1.1.1"]);
    let p = plan(&[], one(&nobodys), &opts_owner(""));
    expect(&p.changes, &[], &[], &[], &[&nobodys]);
    let p = plan(&[foo_v2()], one(&nobodys), &opts_owner(""));
    expect(&p.changes, &[&foo_v2()], &[], &[], &[&nobodys]);
}

#[test]
fn update_inherits_the_current_owner() {
    let cur = owned(foo_v1(), "pwner");
    let want = owned(foo_v2(), "pwner");
    for owner in ["", "pwner"] {
        let p = plan(&[foo_v2()], one(&cur), &opts_owner(owner));
        expect(&p.changes, &[], &[&cur], &[&want], &[]);
    }
}

#[test]
fn migration_from_old_owner() {
    // The TXT registry has relabelled "foo"'s record to "bar": the planner emits an update pair
    // that rewrites the TXT, and with nothing else different the pair is equal.
    let cur = owned(foo_a5(), "bar");
    let opts = PlanOptions { old_owner_id: "foo".into(), ..opts_owner("bar") };
    let p = plan(&[foo_a5()], one(&cur), &opts);
    expect(&p.changes, &[], &[&cur], &[&cur], &[]);
    assert!(!p.has_changes());
    // A record still labelled with the old owner (not relabelled) is not ours: untouched.
    let old = owned(foo_a5(), "foo");
    assert!(plan(&[foo_a5()], &[old], &opts).changes.is_empty());
    // Without the flag, nothing to do.
    assert!(plan(&[foo_a5()], &[cur], &opts_owner("bar")).changes.is_empty());
}

#[test]
fn duplicate_deletes_are_merged_when_an_owner_is_set() {
    let one = owned(mk_a(FOO, &["1.1.1.1"]), "me");
    let two = owned(mk_a(FOO, &["2.2.2.2"]), "me");
    let p = plan(&[], &[two.clone(), one.clone()], &opts_owner("me"));
    expect(&p.changes, &[], &[], &[], &[&one]);
    // Upstream de-duplicates only after its owner filter, which the noop registry skips.
    let p = plan(&[], &[two.clone(), one.clone()], &opts_owner(""));
    expect(&p.changes, &[], &[], &[], &[&one, &two]);
}

#[test]
fn duplicate_current_in_a_taken_row_uses_one_record() {
    let one = owned(mk_a(FOO, &["1.1.1.1"]), "me");
    let two = owned(mk_a(FOO, &["2.2.2.2"]), "me");
    // The least duplicate is compared (and equal); the other is left alone, as upstream leaves
    // all but one.
    assert!(plan(&[mk_a(FOO, &["1.1.1.1"])], &[two.clone(), one.clone()], &opts_owner("me")).changes.is_empty());
    let p = plan(&[mk_a(FOO, &["3.3.3.3"])], &[two, one.clone()], &opts_owner("me"));
    expect(&p.changes, &[], &[&one], &[&owned(mk_a(FOO, &["3.3.3.3"]), "me")], &[]);
}

#[test]
fn conflicts_are_sorted_and_carry_the_set_identifier() {
    let cur = |set: &str| owned(mk_a(FOO, &["1.1.1.1"]), "x").with_set_identifier(set);
    let want = |set: &str| res(mk_aaaa(FOO, &["::1"]), "svc").with_set_identifier(set);
    let p = plan(&[want("b"), want("a")], &[cur("a"), cur("b")], &opts_owner("me"));
    let sets: Vec<_> = p.conflicts.iter().map(|c| c.set_identifier.as_str()).collect();
    assert_eq!(sets, ["a", "b"]);
    assert!(p.conflicts.iter().all(|c| c.foreign_owner == "x" && c.record_type == RecordType::AAAA));
}
