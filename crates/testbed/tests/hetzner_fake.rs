//! The Hetzner fake behind Prism with Hetzner's own spec: every endpoint the provider uses answers
//! in a shape the spec accepts, actions run as configured, and the rate-limit headers count down.

use std::sync::OnceLock;

use exodns_testbed::fake::Inject;
use exodns_testbed::fake::hetzner::{self, Access, HetznerFake};
use exodns_testbed::prism::{Prism, load_spec, trim_spec};
use serde_json::{Value, json};

const TOKEN: &str = "fake-hetzner-token-91c2";

struct Bed {
    fake: HetznerFake,
    prism: Prism,
}

fn bed() -> Option<&'static Bed> {
    static BED: OnceLock<Option<Bed>> = OnceLock::new();
    BED.get_or_init(|| {
        let spec = trim_spec(
            &load_spec(std::path::Path::new(hetzner::SPEC_FILE)).unwrap(),
            hetzner::SPEC_PATHS,
            hetzner::MOUNT,
        );
        let fake = HetznerFake::start();
        fake.add_token(TOKEN, Access::ReadWrite);
        fake.add_token("read-only", Access::Read);
        let prism = Prism::start_or_skip(&spec, &fake.server().url())?;
        Some(Bed { fake, prism })
    })
    .as_ref()
}

fn call(bed: &Bed, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value, Option<u64>) {
    let url = format!("{}{}{path}", bed.prism.url(), hetzner::MOUNT);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let client = exodns_testbed::http_client().unwrap();
        let mut req = client.request(method.parse().unwrap(), url).bearer_auth(token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let remaining = resp.headers().get("ratelimit-remaining").and_then(|v| v.to_str().ok()?.parse().ok());
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null), remaining)
    })
}

#[test]
fn every_endpoint_answers_in_the_spec_shapes() {
    let Some(bed) = bed() else { return };
    let zone = bed.fake.add_zone("shapes.test");
    for i in 0..3 {
        bed.fake.add_zone(&format!("z{i}.test"));
    }
    let (st, page, _) = call(bed, "GET", "/zones?per_page=2&page=2", TOKEN, None);
    assert_eq!(st, 200, "{page}");
    let p = &page["meta"]["pagination"];
    assert_eq!(page["zones"].as_array().unwrap().len(), 2);
    assert_eq!(p["last_page"].as_u64(), p["total_entries"].as_u64().map(|t| t.div_ceil(2)), "{p}");
    let (st, z, _) = call(bed, "GET", "/zones/shapes.test", TOKEN, None);
    assert_eq!((st, z["zone"]["id"].as_u64()), (200, Some(zone)), "{z}");

    let create = json!({"name": "www", "type": "A", "ttl": 300, "records": [{"value": "192.0.2.1"}]});
    let (st, out, _) = call(bed, "POST", &format!("/zones/{zone}/rrsets"), TOKEN, Some(create));
    assert_eq!(st, 201, "{out}");
    assert_eq!(out["action"]["status"], "success");
    let (st, out, _) = call(
        bed,
        "POST",
        &format!("/zones/{zone}/rrsets/www/A/actions/add_records"),
        TOKEN,
        Some(json!({"records": [{"value": "192.0.2.2"}]})),
    );
    assert_eq!(st, 201, "{out}");
    let (st, out, _) = call(
        bed,
        "POST",
        &format!("/zones/{zone}/rrsets/www/A/actions/remove_records"),
        TOKEN,
        Some(json!({"records": [{"value": "192.0.2.1"}]})),
    );
    assert_eq!(st, 201, "{out}");
    let (st, out, _) =
        call(bed, "POST", &format!("/zones/{zone}/rrsets/www/A/actions/change_ttl"), TOKEN, Some(json!({"ttl": 600})));
    assert_eq!(st, 201, "{out}");
    let (st, out, _) = call(
        bed,
        "POST",
        &format!("/zones/{zone}/rrsets/www/A/actions/set_records"),
        TOKEN,
        Some(json!({"records": [{"value": "192.0.2.9"}]})),
    );
    assert_eq!(st, 201, "{out}");
    assert_eq!(
        bed.fake.rrsets("shapes.test"),
        [hetzner::HzRRSet { name: "www".into(), rtype: "A".into(), ttl: Some(600), values: vec!["192.0.2.9".into()] }]
    );
    let (st, out, _) = call(bed, "GET", &format!("/zones/{zone}/rrsets?per_page=1"), TOKEN, None);
    assert_eq!(st, 200, "{out}");
    let (st, out, _) = call(bed, "GET", &format!("/zones/{zone}/rrsets/www/A"), TOKEN, None);
    assert_eq!(st, 200, "{out}");

    bed.fake.slow_actions(2);
    let (st, out, _) = call(bed, "DELETE", &format!("/zones/{zone}/rrsets/www/A"), TOKEN, None);
    bed.fake.slow_actions(0);
    assert_eq!((st, out["action"]["status"].as_str()), (201, Some("running")), "{out}");
    let id = out["action"]["id"].as_u64().unwrap();
    let (st, out, _) = call(bed, "GET", &format!("/actions/{id}"), TOKEN, None);
    assert_eq!((st, out["action"]["status"].as_str()), (200, Some("running")), "{out}");
    let (st, out, _) = call(bed, "GET", &format!("/actions?id={id}"), TOKEN, None);
    assert_eq!((st, out["actions"][0]["status"].as_str()), (200, Some("running")), "running for 2 polls: {out}");
    let (st, out, _) = call(bed, "GET", &format!("/actions?id={id}"), TOKEN, None);
    assert_eq!((st, out["actions"][0]["status"].as_str()), (200, Some("success")), "{out}");

    bed.fake.fail_next_action("create_rrset", "zone is locked");
    let (st, out, _) = call(
        bed,
        "POST",
        &format!("/zones/{zone}/rrsets"),
        TOKEN,
        Some(json!({"name": "bad", "type": "TXT", "records": [{"value": "\"x\""}]})),
    );
    assert_eq!((st, out["action"]["status"].as_str()), (201, Some("error")), "{out}");
    assert!(bed.fake.rrsets("shapes.test").is_empty(), "a failed action applies nothing");
    bed.prism.assert_no_violations();
}

#[test]
fn refusals_rate_limit_and_faults() {
    let Some(bed) = bed() else { return };
    let zone = bed.fake.add_zone("refusals.test");
    let post = |body: Value| call(bed, "POST", &format!("/zones/{zone}/rrsets"), TOKEN, Some(body));
    let (st, out, _) = post(json!({"name": "c", "type": "CNAME", "records": [{"value": "target.example.net"}]}));
    assert_eq!((st, out["error"]["code"].as_str()), (422, Some("invalid_input")), "no final dot: {out}");
    let (st, _, _) = post(json!({"name": "c", "type": "A", "records": [{"value": "192.0.2.1"}]}));
    assert_eq!(st, 201);
    let (st, out, _) = post(json!({"name": "c", "type": "A", "records": [{"value": "192.0.2.1"}]}));
    assert_eq!((st, out["error"]["code"].as_str()), (409, Some("uniqueness_error")), "{out}");
    let (st, out, _) = post(json!({"name": "c", "type": "CNAME", "records": [{"value": "target.example.net."}]}));
    assert_eq!(st, 422, "CNAME beside A: {out}");
    let (st, out, _) = call(bed, "DELETE", &format!("/zones/{zone}/rrsets/c/A"), "read-only", None);
    assert_eq!((st, out["error"]["code"].as_str()), (403, Some("forbidden")), "{out}");
    let (st, _, _) = call(bed, "GET", "/zones", "nope", None);
    assert_eq!(st, 401);

    bed.fake.server().inject(Inject::on("GET", "/rrsets", hetzner::error_fault(503, None)));
    let (st, out, _) = call(bed, "GET", &format!("/zones/{zone}/rrsets"), TOKEN, None);
    assert_eq!(st, 503, "{out}");
    bed.prism.assert_no_violations();
}

/// Its own fake (the limit is per fake), called directly.
#[test]
fn rate_limit_headers_count_down_then_429() {
    let fake = HetznerFake::start();
    fake.add_token(TOKEN, Access::ReadWrite);
    fake.add_zone("limited.test");
    fake.set_rate_limit(3);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = format!("{}/zones/limited.test", fake.base_url());
    let answers: Vec<(u16, Option<String>)> = rt.block_on(async {
        let client = exodns_testbed::http_client().unwrap();
        let mut out = Vec::new();
        for _ in 0..4 {
            let r = client.get(&url).bearer_auth(TOKEN).send().await.unwrap();
            let remaining = r.headers().get("ratelimit-remaining").map(|v| v.to_str().unwrap().to_owned());
            out.push((r.status().as_u16(), remaining));
        }
        out
    });
    let want: Vec<(u16, Option<String>)> =
        [(200, "2"), (200, "1"), (200, "0"), (429, "0")].iter().map(|(s, r)| (*s, Some((*r).to_owned()))).collect();
    assert_eq!(answers, want);
}
