//! Decoding watched objects without the parts no source reads.
//!
//! Every object the apiserver sends carries `metadata.managedFields` (server-side apply's field
//! ownership: a JSON tree per manager, often larger than the rest of the object) and, for
//! objects made by `kubectl apply`, the `kubectl.kubernetes.io/last-applied-configuration`
//! annotation (the whole object again, as a string). Decoded as is, they dominate the memory of
//! an initial list: for 10 000 Services the `fieldsV1` trees alone held three times the size of
//! the list's body. Here they are skipped while parsing, so they are never built at all; the
//! rest of the object goes through a `serde_json::Value`, one object at a time, into its type.

use std::fmt;

use serde::de::{DeserializeOwned, DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::resources::Obj;

/// Annotation `kubectl apply` keeps the last applied object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

impl<'de, K: DeserializeOwned> Deserialize<'de> for Obj<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let object = d.deserialize_map(Filtered { level: Level::Object })?;
        K::deserialize(object).map(Obj).map_err(D::Error::custom)
    }
}

/// Where in the object a map is, so that only the right keys are dropped.
#[derive(Clone, Copy, PartialEq)]
enum Level {
    Object,
    Metadata,
    Annotations,
}

impl Level {
    /// The level of the value under `key`, or `None` when the value is kept whole.
    fn below(self, key: &str) -> Option<Level> {
        match (self, key) {
            (Level::Object, "metadata") => Some(Level::Metadata),
            (Level::Metadata, "annotations") => Some(Level::Annotations),
            _ => None,
        }
    }

    fn drops(self, key: &str) -> bool {
        matches!((self, key), (Level::Metadata, "managedFields") | (Level::Annotations, LAST_APPLIED))
    }
}

/// A map decoded into a `Value`, minus the keys its level drops.
struct Filtered {
    level: Level,
}

impl<'de> DeserializeSeed<'de> for Filtered {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        // Below the top, a map may also be `null` (`"annotations": null`): asked as an option.
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Filtered {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.level.drops(&key) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = match self.level.below(&key) {
                Some(level) => map.next_value_seed(Filtered { level })?,
                None => map.next_value::<Value>()?,
            };
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Service;
    use kube::core::{ObjectList, WatchEvent};
    use serde_json::json;

    use super::*;

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
    fn drops_managed_fields_and_last_applied_and_keeps_the_rest() {
        let text = mk_service_json().to_string();
        let Obj(svc) = serde_json::from_str::<Obj<Service>>(&text).unwrap();
        assert_eq!(svc, mk_expected());
        assert!(svc.metadata.managed_fields.is_none());
        let annotations = svc.metadata.annotations.as_ref().unwrap();
        assert_eq!(annotations.keys().collect::<Vec<_>>(), ["external-dns.kubernetes.io/hostname"]);
    }

    #[test]
    fn lists_and_watch_events_decode_the_same_way() {
        let list = json!({"apiVersion": "v1", "kind": "ServiceList", "metadata": {"resourceVersion": "7"},
            "items": [mk_service_json(), mk_service_json()]});
        let list: ObjectList<Obj<Service>> = serde_json::from_str(&list.to_string()).unwrap();
        assert!(list.items.iter().all(|o| o.0 == mk_expected()));

        let event = json!({"type": "MODIFIED", "object": mk_service_json()});
        match serde_json::from_str::<WatchEvent<Obj<Service>>>(&event.to_string()).unwrap() {
            WatchEvent::Modified(Obj(svc)) => assert_eq!(svc, mk_expected()),
            other => panic!("unexpected event {other:?}"),
        }
    }

    #[test]
    fn null_metadata_maps_and_type_errors() {
        let svc = json!({"metadata": {"name": "a", "annotations": null, "managedFields": null}});
        let Obj(svc) = serde_json::from_str::<Obj<Service>>(&svc.to_string()).unwrap();
        assert_eq!(svc.metadata.name.as_deref(), Some("a"));
        assert!(svc.metadata.annotations.is_none());

        let bad = json!({"metadata": {"name": 5}}).to_string();
        let err = serde_json::from_str::<Obj<Service>>(&bad).unwrap_err().to_string();
        assert!(err.contains("invalid type"), "{err}");
        assert!(serde_json::from_str::<Obj<Service>>("[1, 2]").is_err());
    }
}
