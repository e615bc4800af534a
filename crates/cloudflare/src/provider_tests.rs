//! The provider's own unit tests: `adjust_endpoints` and the credentials' Debug.

use super::*;
use exodns_core::Secret;

fn provider(proxied: bool) -> CloudflareProvider {
    let mut cfg = CloudflareConfig::new(crate::Credentials::Token(Secret::new("tok-Secret-1234")));
    cfg.proxied_by_default = proxied;
    CloudflareProvider::new(cfg).unwrap()
}

#[tokio::test]
async fn adjust_reads_every_spelling_and_proxies_only_what_can_be() {
    let p = provider(false);
    let a = |prop: &str| {
        Endpoint::parse("a.example.org", RecordType::A, &["192.0.2.1"])
            .unwrap()
            .with_ttl(Ttl(300))
            .with_property(prop, "true")
    };
    let txt =
        Endpoint::parse("t.example.org", RecordType::TXT, &["x"]).unwrap().with_property("cloudflare/proxied", "true");
    let eps = vec![
        a("cloudflare/proxied"),
        a("external-dns.alpha.kubernetes.io/cloudflare-proxied"),
        a("external-dns.kubernetes.io/cloudflare-proxied"),
        txt,
        Endpoint::parse("b.example.org", RecordType::A, &["192.0.2.2"]).unwrap().with_property("aws/weight", "1"),
    ];
    let out = p.adjust_endpoints(eps).await.unwrap();
    for ep in &out[..3] {
        assert_eq!(
            ep.provider_specific,
            [exodns_core::ProviderSpecific { name: PROXIED.into(), value: "true".into() }]
        );
        assert_eq!(ep.ttl, Ttl::default(), "a proxied record has Cloudflare's automatic TTL");
    }
    assert_eq!(out[3].property(PROXIED), Some("false"), "TXT cannot be proxied");
    assert_eq!(out[4].provider_specific.len(), 1, "other providers' properties are dropped");
    let plain = Endpoint::parse("c.example.org", RecordType::CNAME, &["x.example.net"]).unwrap();
    assert_eq!(provider(true).adjust_endpoints(vec![plain]).await.unwrap()[0].property(PROXIED), Some("true"));
}

#[test]
fn credentials_never_show_in_debug() {
    let p = provider(false);
    let text = format!("{p:?} {:?}", p.config());
    assert!(!text.contains("tok-Secret-1234"), "{text}");
}
