//! Outputs kept beside the cached objects: handed out again while they hold, made again as soon
//! as the object or anything its source looked up changed — never a stale one.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use proptest::prelude::*;

use super::*;
use crate::service::ServiceSource;
use crate::testutil::*;

fn put<K: ObjectType>(caches: &Caches, o: K) {
    let key = key_of(k8s_openapi::Metadata::metadata(&o));
    caches.get::<K>().insert(key, Arc::new(<K::Stored as StoredForm<K>>::store(o)));
}

fn lb(name: &str, ip: &str) -> Service {
    with_annotations(mk_lb_service("apps", name, &[ip], &[]), &[hostname(&format!("{name}.example.org"))])
}

/// A headless Service whose records come from its EndpointSlice.
fn headless(name: &str) -> Service {
    with_annotations(mk_headless("apps", name), &[hostname(&format!("{name}.example.org"))])
}

/// The slice of a headless Service: one ready endpoint, its Pod `<service>-p`.
fn slice(service: &str, ip: &str) -> EndpointSlice {
    mk_slice("apps", service, "IPv4", &[(&format!("{service}-p"), ip, Some(true))])
}

/// The Pod of a headless Service's slice; with a host name, it has a record of its own.
fn pod(service: &str, hostname: Option<&str>) -> Pod {
    let mut p = mk_pod("apps", &format!("{service}-p"), service, "10.0.0.1", "node1");
    p.spec.as_mut().unwrap().hostname = hostname.map(str::to_owned);
    p
}

const KINDS: &[SourceKind] = &[SourceKind::Service];

fn all(src: &CachedSource<'_>) -> BTreeMap<ObjectRef, Arc<SourceOutput>> {
    let mut out = BTreeMap::new();
    src.each_output(&mut |o, e| {
        assert!(out.insert(o.clone(), e.clone()).is_none(), "{o} twice");
    });
    out
}

/// What the source makes of every cached Service, computed afresh.
fn fresh(caches: &Caches, cfg: &SourceConfig) -> BTreeMap<ObjectRef, SourceOutput> {
    let services = caches.get::<Service>();
    services
        .keys()
        .into_iter()
        .map(|key| {
            let svc = services.get(&key.0, &key.1).expect("listed");
            (object_ref::<ServiceSource>(&key), crate::post::endpoints_of::<ServiceSource>(&svc, caches, cfg))
        })
        .collect()
}

fn oref(name: &str) -> ObjectRef {
    ObjectRef::namespaced("service", "apps", name)
}

#[test]
fn outputs_are_handed_out_again_until_the_object_or_a_lookup_changes() {
    let (caches, cfg) = (Caches::new(), SourceConfig::default());
    let src = CachedSource { caches: &caches, kinds: KINDS, cfg: &cfg };
    put(&caches, lb("web", "192.0.2.1"));
    put(&caches, headless("db"));
    put(&caches, slice("db", "10.0.0.1"));
    put(&caches, pod("db", None));
    let first = all(&src);
    assert_eq!(first.len(), 2);
    let again = all(&src);
    assert!(first.iter().all(|(o, out)| Arc::ptr_eq(out, &again[o])), "nothing changed: the same outputs");
    assert!(Arc::ptr_eq(&src.endpoints(&oref("web")).unwrap(), &first[&oref("web")]));

    // A slice changes: the headless Service that read it is made again, the other is not.
    put(&caches, slice("db", "10.0.0.2"));
    let after = all(&src);
    assert!(Arc::ptr_eq(&after[&oref("web")], &first[&oref("web")]));
    assert_eq!(lines(&after[&oref("db")]), ["db.example.org A 10.0.0.2 (service/apps/db)"]);

    // The object itself changes.
    put(&caches, lb("web", "192.0.2.2"));
    assert_eq!(lines(&src.endpoints(&oref("web")).unwrap()), ["web.example.org A 192.0.2.2 (service/apps/web)"]);
    assert!(Arc::ptr_eq(&all(&src)[&oref("web")], &src.endpoints(&oref("web")).unwrap()));

    // Gone.
    caches.get::<Service>().remove(&("apps".into(), "db".into()));
    assert!(src.endpoints(&oref("db")).is_none());
    assert_eq!(all(&src).keys().cloned().collect::<Vec<_>>(), [oref("web")]);
    assert_eq!(src.objects(), [oref("web")]);
}

/// `--resolve-service-load-balancer-hostname` reads DNS, whose answers change with nothing in the
/// cluster changing: every full sync passes over every Service again and makes each afresh.
#[test]
fn services_resolving_load_balancer_host_names_are_made_at_every_pass() {
    let caches = Caches::new();
    let cfg = SourceConfig { resolve_service_load_balancer_hostname: true, ..SourceConfig::default() };
    let src = CachedSource { caches: &caches, kinds: KINDS, cfg: &cfg };
    put(&caches, lb("web", "192.0.2.1"));
    let (v1, first) = (src.version(), all(&src));
    let (v2, again) = (src.version(), all(&src));
    assert_ne!(v1, v2, "a version that never repeats, so that the controller passes again");
    assert!(!Arc::ptr_eq(&first[&oref("web")], &again[&oref("web")]), "made again");
    assert_eq!(first[&oref("web")], again[&oref("web")]);
    assert!(!Arc::ptr_eq(&src.endpoints(&oref("web")).unwrap(), &again[&oref("web")]));

    // Without the flag the same Service is handed out again.
    let cfg = SourceConfig::default();
    let src = CachedSource { caches: &caches, kinds: KINDS, cfg: &cfg };
    let (v1, first) = (src.version(), all(&src));
    assert_eq!(v1, src.version());
    assert!(Arc::ptr_eq(&first[&oref("web")], &all(&src)[&oref("web")]));
}

/// One change to the cluster.
#[derive(Debug, Clone)]
enum Op {
    /// Service `i` as a LoadBalancer Service with this address, or headless.
    Service(usize, Option<u8>),
    RemoveService(usize),
    /// The slice of Service `i` with this address.
    Slice(usize, u8),
    RemoveSlice(usize),
    /// The Pod of Service `i`'s slice, with a host name or not.
    Pod(usize, Option<u8>),
    RemovePod(usize),
    /// A look at one object's output (an incremental sync's).
    Look(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4usize, proptest::option::of(0..3u8)).prop_map(|(i, ip)| Op::Service(i, ip)),
        (0..4usize).prop_map(Op::RemoveService),
        (0..4usize, 0..3u8).prop_map(|(i, ip)| Op::Slice(i, ip)),
        (0..4usize).prop_map(Op::RemoveSlice),
        (0..4usize, proptest::option::of(0..2u8)).prop_map(|(i, h)| Op::Pod(i, h)),
        (0..4usize).prop_map(Op::RemovePod),
        (0..4usize).prop_map(Op::Look),
    ]
}

proptest! {
    /// After any changes, every output handed out is what the source makes of the cluster now,
    /// and a pass that follows a pass with no change between hands out the very same outputs.
    #[test]
    fn never_a_stale_output(ops in proptest::collection::vec(op(), 1..40)) {
        let (caches, cfg) = (Caches::new(), SourceConfig::default());
        let src = CachedSource { caches: &caches, kinds: KINDS, cfg: &cfg };
        let name = |i: usize| format!("s{i}");
        let mut last = all(&src);
        for op in ops {
            match op {
                Op::Service(i, Some(ip)) => put(&caches, lb(&name(i), &format!("192.0.2.{ip}"))),
                Op::Service(i, None) => put(&caches, headless(&name(i))),
                Op::RemoveService(i) => {
                    caches.get::<Service>().remove(&("apps".into(), name(i)));
                }
                Op::Slice(i, ip) => put(&caches, slice(&name(i), &format!("10.0.0.{ip}"))),
                Op::RemoveSlice(i) => {
                    caches.get::<EndpointSlice>().remove(&("apps".into(), format!("{}-abc", name(i))));
                }
                Op::Pod(i, h) => put(&caches, pod(&name(i), h.map(|h| format!("h{h}")).as_deref())),
                Op::RemovePod(i) => {
                    caches.get::<Pod>().remove(&("apps".into(), format!("{}-p", name(i))));
                }
                Op::Look(i) => {
                    let now = src.endpoints(&oref(&name(i)));
                    let want = fresh(&caches, &cfg).remove(&oref(&name(i)));
                    prop_assert_eq!(now.as_deref(), want.as_ref());
                }
            }
            let now = all(&src);
            let want = fresh(&caches, &cfg);
            prop_assert_eq!(now.len(), want.len());
            for (o, out) in &now {
                prop_assert_eq!(&**out, &want[o], "{}", o);
            }
            let again = all(&src);
            prop_assert!(now.iter().all(|(o, out)| Arc::ptr_eq(out, &again[o])));
            last = again;
        }
        prop_assert_eq!(last.len(), caches.get::<Service>().len());
    }
}
