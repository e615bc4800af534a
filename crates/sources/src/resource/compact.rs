//! The compact form the caches keep Services in.
//!
//! A stripped k8s-openapi `Service` takes about 2.9 KB on the heap: the struct with its many
//! empty `Option`s (~840 B), and one 544-byte `BTreeMap` node for each of its labels, selector and
//! annotations, however few entries they hold, besides its strings. Kept here as one byte string
//! it takes the size of its strings and a few bytes more; the sources still read k8s-openapi's
//! type, rebuilt from this one when they ask for the object.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    LoadBalancerIngress, LoadBalancerStatus, Service, ServicePort, ServiceSpec, ServiceStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::StoredForm;

/// A stripped Service as one byte string: what `<Service as ObjectType>::strip` keeps, field
/// for field, each `Option` as a 0/1 byte, each string, map and list as its length (LEB128) and
/// its contents. One allocation instead of about twenty; equal bytes are equal Services.
#[derive(Debug, PartialEq)]
pub struct StoredService(Box<[u8]>);

impl StoredService {
    fn new(svc: &Service) -> StoredService {
        let mut w = Writer(Vec::with_capacity(256));
        let m = &svc.metadata;
        for s in [&m.name, &m.namespace, &m.uid] {
            w.opt(s.as_deref(), Writer::str);
        }
        w.opt(m.labels.as_ref(), Writer::map);
        w.opt(m.annotations.as_ref(), Writer::map);
        w.opt(svc.spec.as_ref(), |w, s| {
            for t in [&s.type_, &s.cluster_ip, &s.external_name, &s.external_traffic_policy] {
                w.opt(t.as_deref(), Writer::str);
            }
            w.opt(s.external_ips.as_deref(), |w, ips| w.seq(ips, |w, ip| w.str(ip)));
            w.opt(s.selector.as_ref(), Writer::map);
            w.opt(s.publish_not_ready_addresses, |w, b| w.0.push(u8::from(b)));
            w.opt(s.ports.as_deref(), |w, ports| {
                w.seq(ports, |w, p| {
                    w.opt(p.name.as_deref(), Writer::str);
                    w.i32(p.port);
                    w.opt(p.node_port, Writer::i32);
                    w.opt(p.protocol.as_deref(), Writer::str);
                })
            });
        });
        w.opt(svc.status.as_ref(), |w, st| {
            w.opt(st.load_balancer.as_ref(), |w, lb| {
                w.opt(lb.ingress.as_deref(), |w, ingress| {
                    w.seq(ingress, |w, i| {
                        w.opt(i.ip.as_deref(), Writer::str);
                        w.opt(i.hostname.as_deref(), Writer::str);
                    })
                })
            })
        });
        StoredService(w.0.into_boxed_slice())
    }

    /// Reads the fields back in the order [`StoredService::new`] wrote them.
    fn load(&self) -> Service {
        let mut r = Reader(&self.0);
        let metadata = ObjectMeta {
            name: r.opt(Reader::string),
            namespace: r.opt(Reader::string),
            uid: r.opt(Reader::string),
            labels: r.opt(Reader::map),
            annotations: r.opt(Reader::map),
            ..ObjectMeta::default()
        };
        let spec = r.opt(|r| ServiceSpec {
            type_: r.opt(Reader::string),
            cluster_ip: r.opt(Reader::string),
            external_name: r.opt(Reader::string),
            external_traffic_policy: r.opt(Reader::string),
            external_ips: r.opt(|r| r.seq(Reader::string)),
            selector: r.opt(Reader::map),
            publish_not_ready_addresses: r.opt(|r| r.byte() == 1),
            ports: r.opt(|r| {
                r.seq(|r| ServicePort {
                    name: r.opt(Reader::string),
                    port: r.i32(),
                    node_port: r.opt(Reader::i32),
                    protocol: r.opt(Reader::string),
                    ..ServicePort::default()
                })
            }),
            ..ServiceSpec::default()
        });
        let status = r.opt(|r| ServiceStatus {
            load_balancer: r.opt(|r| LoadBalancerStatus {
                ingress: r.opt(|r| {
                    r.seq(|r| LoadBalancerIngress {
                        ip: r.opt(Reader::string),
                        hostname: r.opt(Reader::string),
                        ..LoadBalancerIngress::default()
                    })
                }),
            }),
            conditions: None,
        });
        debug_assert!(r.0.is_empty(), "bytes left after a stored Service");
        Service { metadata, spec, status }
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn len(&mut self, mut n: usize) {
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(low);
                return;
            }
            self.0.push(low | 0x80);
        }
    }

    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }

    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn opt<T>(&mut self, v: Option<T>, write: impl FnOnce(&mut Self, T)) {
        match v {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(1);
                write(self, v);
            }
        }
    }

    fn seq<T>(&mut self, items: &[T], mut write: impl FnMut(&mut Self, &T)) {
        self.len(items.len());
        for i in items {
            write(self, i);
        }
    }

    fn map(&mut self, m: &BTreeMap<String, String>) {
        self.len(m.len());
        for (k, v) in m {
            self.str(k);
            self.str(v);
        }
    }
}

/// Reads what a [`Writer`] wrote; the bytes never come from outside, so running short of them
/// is a bug here.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().expect("a stored Service ends early");
        self.0 = rest;
        *b
    }

    fn len(&mut self) -> usize {
        let mut n = 0usize;
        for shift in (0..).step_by(7) {
            let b = self.byte();
            n |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        n
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }

    fn string(&mut self) -> String {
        let n = self.len();
        String::from_utf8(self.take(n).to_vec()).expect("a stored Service holds UTF-8 strings")
    }

    fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.take(4).try_into().expect("4 bytes"))
    }

    fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> T) -> Option<T> {
        (self.byte() == 1).then(|| read(self))
    }

    fn seq<T>(&mut self, mut read: impl FnMut(&mut Self) -> T) -> Vec<T> {
        (0..self.len()).map(|_| read(self)).collect()
    }

    fn map(&mut self) -> BTreeMap<String, String> {
        (0..self.len()).map(|_| (self.string(), self.string())).collect()
    }
}

impl StoredForm<Service> for StoredService {
    /// `svc` must be stripped: what stripping drops is not kept (checked in debug builds).
    fn store(svc: Service) -> StoredService {
        let stored = StoredService::new(&svc);
        debug_assert_eq!(stored.load(), svc, "a Service stored before it was stripped");
        stored
    }

    fn load(stored: &Arc<StoredService>) -> Arc<Service> {
        Arc::new(stored.load())
    }
}

#[cfg(test)]
pub(crate) mod tests;
