use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::SourceConfig;
use crate::resource::compact::tests::any_service;
use crate::resource::{ObjectType, Strip};

fn mk_service_json() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "resourceVersion": "42",
            "labels": {"app": "web"},
            "annotations": {
                "external-dns.kubernetes.io/hostname": "web.example.org",
                LAST_APPLIED: "{\"apiVersion\":\"v1\",\"kind\":\"Service\"}"
            },
            "managedFields": [{
                "manager": "kubectl",
                "operation": "Apply",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:annotations": {".": {}}}, "f:spec": {"f:type": {}}}
            }]
        },
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
    })
}

/// The object as the sources see it: everything but the two dropped parts.
fn mk_expected() -> Service {
    let mut v = mk_service_json();
    let meta = v["metadata"].as_object_mut().unwrap();
    meta.remove("managedFields");
    meta["annotations"].as_object_mut().unwrap().remove(LAST_APPLIED);
    serde_json::from_value(v).unwrap()
}

#[test]
fn filtered_drops_managed_fields_and_last_applied_and_keeps_the_rest() {
    let text = mk_service_json().to_string();
    let svc: Service = filtered(&mut serde_json::Deserializer::from_str(&text)).unwrap();
    assert_eq!(svc, mk_expected());
    assert!(svc.metadata.managed_fields.is_none());
    let annotations = svc.metadata.annotations.as_ref().unwrap();
    assert_eq!(annotations.keys().collect::<Vec<_>>(), ["external-dns.kubernetes.io/hostname"]);
}

#[test]
fn null_metadata_maps_and_type_errors() {
    let decoders: [fn(Value) -> Result<Service, serde_json::Error>; 2] = [filtered::<Service, Value>, service::<Value>];
    for decode in decoders {
        let svc = json!({"metadata": {"name": "a", "annotations": null, "labels": null, "managedFields": null}});
        let svc = decode(svc).unwrap();
        assert_eq!(svc.metadata.name.as_deref(), Some("a"));
        assert!(svc.metadata.annotations.is_none() && svc.metadata.labels.is_none());

        let err = decode(json!({"metadata": {"name": 5}})).unwrap_err().to_string();
        assert!(err.contains("invalid type"), "{err}");
        assert!(decode(json!([1, 2])).is_err());
    }
}

fn stripped(mut svc: Service) -> Service {
    svc.strip(&Strip::new(&SourceConfig::default()));
    svc
}

/// `svc` as the apiserver would send it, with fields and annotations the strip drops.
fn as_sent(svc: &Service) -> Value {
    let mut v = serde_json::to_value(svc).unwrap();
    let o = v.as_object_mut().unwrap();
    let meta = o.entry("metadata").or_insert_with(|| json!({})).as_object_mut().unwrap();
    meta.insert("resourceVersion".into(), json!("17"));
    meta.insert("generation".into(), json!(2));
    meta.insert("managedFields".into(), json!([{"manager": "m", "fieldsV1": {"f:spec": {}}}]));
    let ann = meta.entry("annotations").or_insert_with(|| json!({})).as_object_mut().unwrap();
    ann.insert(LAST_APPLIED.into(), json!("{\"kind\":\"Service\"}"));
    ann.insert("team".into(), json!("a"));
    if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("sessionAffinity".into(), json!("None"));
        spec.insert("ipFamilies".into(), json!(["IPv4"]));
        for p in spec.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
            p["targetPort"] = json!("http");
        }
    }
    if let Some(lb) = o.get_mut("status").and_then(|s| s.get_mut("loadBalancer")).and_then(Value::as_object_mut) {
        for i in lb.get_mut("ingress").and_then(Value::as_array_mut).into_iter().flatten() {
            i["ipMode"] = json!("VIP");
        }
    }
    v
}

proptest! {
    /// The Service decoder builds only what the strip keeps, and the sources see the same
    /// object as through the whole decode: strip(service(json)) == strip(filtered(json)).
    #[test]
    fn the_service_decoder_keeps_what_the_strip_keeps(svc in any_service()) {
        let sent = as_sent(&svc);
        let lean = service(&sent).unwrap();
        let whole: Service = filtered(&sent).unwrap();
        prop_assert_eq!(lean.metadata.resource_version.as_deref(), Some("17"));
        prop_assert_eq!(stripped(lean), stripped(whole));
    }
}
