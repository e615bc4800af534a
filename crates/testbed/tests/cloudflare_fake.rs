//! The Cloudflare fake behind Prism with Cloudflare's own spec: every endpoint the provider uses
//! answers in a shape the spec accepts, the fake keeps state and refuses what Cloudflare refuses,
//! and Prism refuses what the spec forbids.

use std::sync::OnceLock;

use exodns_testbed::fake::cloudflare::{self, Access, CloudflareFake};
use exodns_testbed::fake::{Fault, Inject};
use exodns_testbed::kube::testbed_var;
use exodns_testbed::prism::{Prism, load_spec, trim_spec};
use serde_json::{Value, json};

const TOKEN: &str = "fake-test-token-7f3a";

struct Bed {
    fake: CloudflareFake,
    prism: Prism,
}

/// One fake and one Prism for this file (Prism takes seconds to start).
fn bed() -> Option<&'static Bed> {
    static BED: OnceLock<Option<Bed>> = OnceLock::new();
    BED.get_or_init(|| {
        let Some(spec) = testbed_var("EXODNS_CLOUDFLARE_SPEC") else {
            exodns_testbed::skip_or_fail("EXODNS_CLOUDFLARE_SPEC is not set (run scripts/testbed/prism.sh)");
            return None;
        };
        let spec =
            trim_spec(&load_spec(std::path::Path::new(&spec)).unwrap(), cloudflare::SPEC_PATHS, cloudflare::MOUNT);
        let fake = CloudflareFake::start();
        fake.add_token(TOKEN, Access::Edit);
        fake.add_token("read-only", Access::Read);
        let prism = Prism::start_or_skip(&spec, &fake.server().url())?;
        Some(Bed { fake, prism })
    })
    .as_ref()
}

fn call(bed: &Bed, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{}{path}", bed.prism.url(), cloudflare::MOUNT);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let client = exodns_testbed::http_client().unwrap();
        let mut req = client.request(method.parse().unwrap(), url).bearer_auth(token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    })
}

#[test]
fn every_endpoint_answers_in_the_spec_shapes() {
    let Some(bed) = bed() else { return };
    let zone = bed.fake.add_zone("shapes.test");
    for i in 0..6 {
        bed.fake.add_zone(&format!("z{i}.shapes-list.test"));
    }
    let (st, page) = call(bed, "GET", "/zones?per_page=5&page=1", TOKEN, None);
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["result"].as_array().unwrap().len(), 5);
    let (st, one) = call(bed, "GET", &format!("/zones/{zone}"), TOKEN, None);
    assert_eq!((st, one["result"]["name"].as_str()), (200, Some("shapes.test")), "{one}");

    let batch = json!({"posts": [
        {"name": "a.shapes.test", "type": "A", "content": "192.0.2.1", "ttl": 1, "proxied": true, "comment": "hello", "tags": []},
        {"name": "a-a.shapes.test", "type": "TXT", "content": "\"heritage=external-dns\"", "ttl": 300, "proxied": false},
        {"name": "mx.shapes.test", "type": "MX", "content": "mail.shapes.test", "priority": 10, "ttl": 300},
        {"name": "_sip._udp.shapes.test", "type": "SRV", "ttl": 300, "data": {"priority": 0, "weight": 50, "port": 5060, "target": "sip.shapes.test"}},
        {"name": "c.shapes.test", "type": "CNAME", "content": "target.example.net", "ttl": 1, "proxied": false}
    ]});
    let (st, out) = call(bed, "POST", &format!("/zones/{zone}/dns_records/batch"), TOKEN, Some(batch));
    assert_eq!(st, 200, "{out}");
    assert_eq!(out["result"]["posts"].as_array().unwrap().len(), 5);
    let a_id = out["result"]["posts"][0]["id"].as_str().unwrap().to_owned();

    let (st, list) = call(bed, "GET", &format!("/zones/{zone}/dns_records?per_page=2&page=3"), TOKEN, None);
    assert_eq!(st, 200, "{list}");
    assert_eq!(list["result"].as_array().unwrap().len(), 1, "5 records, pages of 2: one on page 3");
    let put = json!({"puts": [{"id": a_id, "name": "a.shapes.test", "type": "A", "content": "192.0.2.1", "ttl": 300, "proxied": false}]});
    let (st, out) = call(bed, "POST", &format!("/zones/{zone}/dns_records/batch"), TOKEN, Some(put));
    assert_eq!(st, 200, "{out}");
    let (st, _) = call(bed, "GET", &format!("/zones/{zone}/dns_records/{a_id}"), TOKEN, None);
    assert_eq!(st, 200);
    let (st, out) = call(
        bed,
        "PATCH",
        &format!("/zones/{zone}/dns_records/{a_id}"),
        TOKEN,
        Some(json!({"name": "a.shapes.test", "type": "A", "ttl": 300, "comment": "patched"})),
    );
    assert_eq!(st, 200, "{out}");
    let (st, out) = call(
        bed,
        "POST",
        &format!("/zones/{zone}/dns_records"),
        TOKEN,
        Some(json!({"name": "b.shapes.test", "type": "AAAA", "content": "2001:db8::1", "ttl": 60})),
    );
    assert_eq!(st, 200, "{out}");
    let b_id = out["result"]["id"].as_str().unwrap().to_owned();
    let (st, out) = call(bed, "DELETE", &format!("/zones/{zone}/dns_records/{b_id}"), TOKEN, None);
    assert_eq!(st, 200, "{out}");

    let (st, out) = call(
        bed,
        "POST",
        &format!("/zones/{zone}/addressing/regional_hostnames"),
        TOKEN,
        Some(json!({"hostname": "a.shapes.test", "region_key": "eu"})),
    );
    assert_eq!(st, 200, "{out}");
    let (st, out) = call(bed, "GET", &format!("/zones/{zone}/addressing/regional_hostnames"), TOKEN, None);
    assert_eq!((st, out["result"][0]["region_key"].as_str()), (200, Some("eu")), "{out}");
    let (st, out) = call(
        bed,
        "PATCH",
        &format!("/zones/{zone}/addressing/regional_hostnames/a.shapes.test"),
        TOKEN,
        Some(json!({"region_key": "us"})),
    );
    assert_eq!(st, 200, "{out}");
    let (st, out) =
        call(bed, "DELETE", &format!("/zones/{zone}/addressing/regional_hostnames/a.shapes.test"), TOKEN, None);
    assert_eq!(st, 200, "{out}");

    let (st, out) = call(
        bed,
        "POST",
        &format!("/zones/{zone}/custom_hostnames"),
        TOKEN,
        Some(json!({"hostname": "shop.customer.example", "custom_origin_server": "a.shapes.test",
            "ssl": {"method": "http", "type": "dv", "bundle_method": "ubiquitous", "settings": {"min_tls_version": "1.2"}}})),
    );
    assert_eq!(st, 200, "{out}");
    let ch = out["result"]["id"].as_str().unwrap().to_owned();
    let (st, out) = call(bed, "GET", &format!("/zones/{zone}/custom_hostnames"), TOKEN, None);
    assert_eq!(st, 200, "{out}");
    let (st, out) = call(bed, "DELETE", &format!("/zones/{zone}/custom_hostnames/{ch}"), TOKEN, None);
    assert_eq!(st, 200, "{out}");

    bed.prism.assert_no_violations();
}

#[test]
fn the_fake_refuses_what_cloudflare_refuses_and_batches_are_atomic() {
    let Some(bed) = bed() else { return };
    let zone = bed.fake.add_zone("refusals.test");
    let batch = |body: Value| call(bed, "POST", &format!("/zones/{zone}/dns_records/batch"), TOKEN, Some(body));
    let (st, out) = batch(
        json!({"posts": [{"name": "t.refusals.test", "type": "TXT", "content": "\"x\"", "ttl": 1, "proxied": true}]}),
    );
    assert_eq!((st, out["errors"][0]["code"].as_u64()), (400, Some(9004)), "TXT cannot be proxied: {out}");
    let (st, out) = batch(json!({"posts": [
        {"name": "ok.refusals.test", "type": "A", "content": "192.0.2.1", "ttl": 300},
        {"name": "ok.refusals.test", "type": "CNAME", "content": "x.example.net", "ttl": 300}
    ]}));
    assert_eq!((st, out["errors"][0]["code"].as_u64()), (400, Some(81053)), "CNAME beside A: {out}");
    assert!(bed.fake.records("refusals.test").is_empty(), "a refused batch applies nothing");
    bed.fake.set_batch_limit(2);
    let (st, out) = batch(json!({"posts": [
        {"name": "a.refusals.test", "type": "A", "content": "192.0.2.1", "ttl": 300},
        {"name": "b.refusals.test", "type": "A", "content": "192.0.2.1", "ttl": 300},
        {"name": "c.refusals.test", "type": "A", "content": "192.0.2.1", "ttl": 300}
    ]}));
    bed.fake.set_batch_limit(200);
    assert_eq!(st, 400, "above the batch limit: {out}");
    let (st, out) =
        call(bed, "POST", &format!("/zones/{zone}/dns_records/batch"), "read-only", Some(json!({"posts": []})));
    assert_eq!(st, 403, "a read-only token cannot write: {out}");
    let (st, _) = call(bed, "GET", "/zones", "unknown-token", None);
    assert_eq!(st, 401);

    bed.fake.server().inject(Inject::on("GET", "/dns_records", cloudflare::error_fault(429, Some(3))));
    let (st, out) = call(bed, "GET", &format!("/zones/{zone}/dns_records"), TOKEN, None);
    assert_eq!((st, out["success"].as_bool()), (429, Some(false)), "an injected 429 passes Prism: {out}");
    bed.fake.server().inject(Inject::on("GET", "/dns_records", cloudflare::error_fault(503, None)));
    let (st, _) = call(bed, "GET", &format!("/zones/{zone}/dns_records"), TOKEN, None);
    assert_eq!(st, 503);
    bed.fake.server().inject(Inject::on("GET", "/dns_records", Fault::Drop));
    let direct = format!("{}/zones/{zone}/dns_records", bed.fake.base_url());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dropped =
        rt.block_on(async { exodns_testbed::http_client().unwrap().get(direct).bearer_auth(TOKEN).send().await });
    assert!(dropped.is_err(), "a dropped connection gives no answer");
    bed.prism.assert_no_violations();
}

/// Prism itself refuses what the spec forbids (its own instance: these violations are wanted).
#[test]
fn prism_refuses_what_the_spec_forbids() {
    let Some(bed) = bed() else { return };
    let spec = trim_spec(
        &load_spec(std::path::Path::new(&testbed_var("EXODNS_CLOUDFLARE_SPEC").unwrap())).unwrap(),
        &["/zones/{zone_id}/dns_records/batch"],
        cloudflare::MOUNT,
    );
    // Its refusals are on purpose: kept out of the suite-wide count.
    if !Prism::available() {
        exodns_testbed::skip_or_fail("prism is not installed (scripts/testbed/prism.sh)");
        return;
    }
    let prism = Prism::start_unshared(&spec, &bed.fake.server().url()).expect("start prism");
    let zone = bed.fake.add_zone("prism-refusals.test");
    let url = format!("{}{}/zones/{zone}/dns_records/batch", prism.url(), cloudflare::MOUNT);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let post = |body: Value| {
        rt.block_on(async {
            let r = exodns_testbed::http_client()
                .unwrap()
                .post(&url)
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.headers().contains_key("sl-violations") || r.status() == 422)
        })
    };
    assert_eq!(
        post(json!({"posts": [{"name": "x.prism-refusals.test", "type": "A", "content": "not-an-ip", "ttl": 300}]})).0,
        422
    );
    assert_eq!(
        post(json!({"posts": [{"name": "x.prism-refusals.test", "type": "A", "content": "192.0.2.1", "ttl": 5}]})).0,
        422
    );
    assert_eq!(
        post(json!({"posts": [{"name": "x.prism-refusals.test", "type": "BOGUS", "content": "x", "ttl": 300}]})).0,
        422
    );
    assert_eq!(prism.violations().len(), 3, "each refusal is counted: {:?}", prism.violations());
}
