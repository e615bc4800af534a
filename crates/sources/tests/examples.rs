//! The quick-start manifests in `examples/` load without errors and give the records the
//! README promises.

use std::path::PathBuf;

use exodns_sources::{SourceConfig, SourceKind, Watched, manifest};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn lines(kinds: &[SourceKind]) -> Vec<String> {
    let loaded = manifest::load(&examples()).expect("examples/ is readable");
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let out = manifest::endpoints(&loaded.objects, kinds, &SourceConfig::default());
    assert!(out.invalid.is_empty(), "{:?}", out.invalid);
    out.endpoints.iter().map(|e| format!("{e} ({})", e.resource().unwrap_or("-"))).collect()
}

#[test]
fn every_example_record() {
    assert_eq!(
        lines(SourceKind::ALL),
        vec![
            "_dmarc.example.org TXT \"v=DMARC1; p=reject\" (crd/default/records)",
            "_sip._udp.example.org SRV 0 50 5060 sip.example.org (crd/default/records)",
            "api.example.org CNAME api-1234.lb.example.net (service/default/api)",
            "app.example.org A ttl=60 203.0.113.30 (httproute/default/app)",
            "grpc.example.org A 203.0.113.30 (grpcroute/default/grpc)",
            "mail.example.org MX 10 mx1.example.org,20 mx2.example.org (crd/default/records)",
            "shop.example.org A 203.0.113.20 (ingress/default/shop)",
            "static.example.org A ttl=600 203.0.113.40 (crd/default/records)",
            "web.example.org A ttl=300 203.0.113.10 (service/default/web)",
        ]
    );
}

#[test]
fn sources_select_their_objects() {
    assert_eq!(lines(&[SourceKind::Service]).len(), 2);
    assert_eq!(lines(&[SourceKind::Ingress]), vec!["shop.example.org A 203.0.113.20 (ingress/default/shop)"]);
    assert_eq!(lines(&[SourceKind::GatewayHttpRoute, SourceKind::GatewayGrpcRoute]).len(), 2);
    assert_eq!(lines(&[SourceKind::Crd]).len(), 4);
    assert!(lines(&[SourceKind::Node, SourceKind::Pod]).is_empty());
}

#[test]
fn examples_decode_as_typed_objects() {
    let loaded = manifest::load(&examples()).unwrap();
    let o = &loaded.objects;
    assert_eq!(
        (
            o.count(Watched::Services),
            o.count(Watched::Ingresses),
            o.count(Watched::Gateways),
            o.count(Watched::HttpRoutes),
            o.count(Watched::GrpcRoutes),
            o.count(Watched::DnsEndpoints)
        ),
        (2, 1, 1, 1, 1, 1)
    );
    assert_eq!(loaded.files.len(), 4);
}
