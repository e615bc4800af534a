//! Planner tests: upstream's behaviour cases rewritten as ours ([`cases`], [`ownership`]) and
//! properties over random inputs ([`props`]).

mod cases;
mod ownership;
mod props;

use crate::changes::Changes;
use crate::endpoint::{Endpoint, label};
use crate::filter::DomainFilter;
use crate::name::DnsName;
use crate::plan::{PlanOptions, Policy};
use crate::record_type::RecordType;
use crate::target::Targets;

pub(crate) fn mk(name: &str, rt: RecordType, targets: &[&str]) -> Endpoint {
    Endpoint::parse(name, rt, targets).unwrap_or_else(|e| panic!("{name} {rt} {targets:?}: {e}"))
}

pub(crate) fn mk_a(name: &str, targets: &[&str]) -> Endpoint {
    mk(name, RecordType::A, targets)
}

pub(crate) fn mk_aaaa(name: &str, targets: &[&str]) -> Endpoint {
    mk(name, RecordType::AAAA, targets)
}

pub(crate) fn mk_cname(name: &str, target: &str) -> Endpoint {
    mk(name, RecordType::CNAME, &[target])
}

pub(crate) fn mk_txt(name: &str, value: &str) -> Endpoint {
    mk(name, RecordType::TXT, &[value])
}

/// An endpoint whose targets are taken as written, not canonicalised: what a provider that
/// spells addresses its own way would hand us.
pub(crate) fn mk_raw(name: &str, rt: RecordType, targets: &[&str]) -> Endpoint {
    Endpoint::new(DnsName::parse(name).expect("valid name"), rt, Targets::from_iter(targets.iter().copied()))
}

/// A one-record input list.
pub(crate) fn one(ep: &Endpoint) -> &[Endpoint] {
    std::slice::from_ref(ep)
}

pub(crate) fn owned(ep: Endpoint, owner: &str) -> Endpoint {
    ep.with_label(label::OWNER, owner)
}

pub(crate) fn res(ep: Endpoint, resource: &str) -> Endpoint {
    ep.with_label(label::RESOURCE, resource)
}

pub(crate) const FOO: &str = "foo.example.org";

/// `foo.example.org` as three objects want it: two CNAMEs and an A record.
pub(crate) fn foo_v1() -> Endpoint {
    res(mk_cname(FOO, "v1.example.net"), "ingress/default/foo-v1")
}

pub(crate) fn foo_v2() -> Endpoint {
    res(mk_cname(FOO, "v2.example.net"), "ingress/default/foo-v2")
}

pub(crate) fn foo_a5() -> Endpoint {
    res(mk_a(FOO, &["5.5.5.5"]), "ingress/default/foo-5")
}

pub(crate) fn opts_owner(owner: &str) -> PlanOptions {
    PlanOptions { owner_id: owner.to_owned(), ..PlanOptions::default() }
}

pub(crate) fn opts_policy(owner: &str, policy: Policy) -> PlanOptions {
    PlanOptions { policy, ..opts_owner(owner) }
}

pub(crate) fn filter(include: &[&str], exclude: &[&str]) -> DomainFilter {
    let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    DomainFilter::new(&v(include), &v(exclude))
}

/// `Display` of each endpoint: "name TYPE [set] ttl=N targets".
pub(crate) fn shown(list: &[Endpoint]) -> Vec<String> {
    list.iter().map(|e| e.to_string()).collect()
}

/// Each list of `changes` equals the given endpoints exactly (labels and properties included).
pub(crate) fn expect(
    changes: &Changes,
    create: &[&Endpoint],
    old: &[&Endpoint],
    new: &[&Endpoint],
    delete: &[&Endpoint],
) {
    let own = |l: &[&Endpoint]| l.iter().map(|e| (*e).clone()).collect::<Vec<_>>();
    assert_eq!(changes.create, own(create), "create: {:?}", shown(&changes.create));
    assert_eq!(changes.update_old, own(old), "update_old: {:?}", shown(&changes.update_old));
    assert_eq!(changes.update_new, own(new), "update_new: {:?}", shown(&changes.update_new));
    assert_eq!(changes.delete, own(delete), "delete: {:?}", shown(&changes.delete));
}
