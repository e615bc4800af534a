//! Decoding objects as the apiserver sends them without the parts no source reads.
//!
//! Every object the apiserver sends carries `metadata.managedFields` (server-side apply's field
//! ownership: a JSON tree per manager, often larger than the rest of the object) and, for
//! objects made by `kubectl apply`, the `kubectl.kubernetes.io/last-applied-configuration`
//! annotation (the whole object again, as a string). Decoded as is, they dominate the memory of
//! an initial list: for 10 000 Services the `fieldsV1` trees alone held three times the size of
//! the list's body. [`filtered`] skips them while parsing, so they are never built at all; the
//! rest of the object goes through a `serde_json::Value`, one object at a time, into its type.
//! Services, which a cluster has by the thousand, are decoded by `service` instead: only the
//! fields their strip keeps are built.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::{
    LoadBalancerIngress, LoadBalancerStatus, Service, ServicePort, ServiceSpec, ServiceStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::{DeserializeOwned, DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Annotation `kubectl apply` keeps the last applied object in.
pub(crate) const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `K` decoded whole but for managedFields and the last-applied annotation: the default of
/// [`ObjectType::decode`](super::ObjectType::decode).
pub fn filtered<'de, K: DeserializeOwned, D: Deserializer<'de>>(d: D) -> Result<K, D::Error> {
    let object = d.deserialize_map(Filtered { level: Level::Object })?;
    K::deserialize(object).map_err(D::Error::custom)
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

/// A Service decoded with only the fields `<Service as ObjectType>::strip` keeps, and the
/// `resourceVersion` a watch resumes from; everything else is skipped while parsing.
pub fn service<'de, D: Deserializer<'de>>(d: D) -> Result<Service, D::Error> {
    WireService::deserialize(d).map(Service::from)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireService {
    #[serde(default)]
    metadata: WireMeta,
    #[serde(default)]
    spec: Option<WireSpec>,
    #[serde(default)]
    status: Option<WireStatus>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMeta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    uid: Option<String>,
    #[serde(default)]
    resource_version: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "annotations")]
    annotations: Option<BTreeMap<String, String>>,
}

/// Annotations without the last-applied one, whose value is skipped unread.
fn annotations<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<BTreeMap<String, String>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of strings")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if key == LAST_APPLIED {
                    map.next_value::<IgnoredAny>()?;
                } else {
                    out.insert(key, map.next_value()?);
                }
            }
            Ok(Some(out))
        }
    }
    d.deserialize_option(V)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSpec {
    #[serde(default, rename = "type")]
    type_: Option<String>,
    #[serde(default, rename = "clusterIP")]
    cluster_ip: Option<String>,
    #[serde(default, rename = "externalIPs")]
    external_ips: Option<Vec<String>>,
    #[serde(default)]
    external_name: Option<String>,
    #[serde(default)]
    selector: Option<BTreeMap<String, String>>,
    #[serde(default)]
    publish_not_ready_addresses: Option<bool>,
    #[serde(default)]
    external_traffic_policy: Option<String>,
    #[serde(default)]
    ports: Option<Vec<WirePort>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePort {
    #[serde(default)]
    name: Option<String>,
    port: i32,
    #[serde(default)]
    node_port: Option<i32>,
    #[serde(default)]
    protocol: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireStatus {
    #[serde(default)]
    load_balancer: Option<WireLoadBalancer>,
}

#[derive(Deserialize)]
struct WireLoadBalancer {
    #[serde(default)]
    ingress: Option<Vec<WireIngress>>,
}

#[derive(Deserialize)]
struct WireIngress {
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
}

impl From<WireService> for Service {
    fn from(w: WireService) -> Service {
        let m = w.metadata;
        let metadata = ObjectMeta {
            name: m.name,
            namespace: m.namespace,
            uid: m.uid,
            resource_version: m.resource_version,
            labels: m.labels,
            annotations: m.annotations,
            ..ObjectMeta::default()
        };
        let spec = w.spec.map(|s| ServiceSpec {
            type_: s.type_,
            cluster_ip: s.cluster_ip,
            external_ips: s.external_ips,
            external_name: s.external_name,
            selector: s.selector,
            publish_not_ready_addresses: s.publish_not_ready_addresses,
            external_traffic_policy: s.external_traffic_policy,
            ports: s.ports.map(|ps| {
                ps.into_iter()
                    .map(|p| ServicePort {
                        name: p.name,
                        port: p.port,
                        node_port: p.node_port,
                        protocol: p.protocol,
                        ..ServicePort::default()
                    })
                    .collect()
            }),
            ..ServiceSpec::default()
        });
        let status = w.status.map(|st| ServiceStatus {
            load_balancer: st.load_balancer.map(|lb| LoadBalancerStatus {
                ingress: lb.ingress.map(|i| {
                    i.into_iter()
                        .map(|i| LoadBalancerIngress {
                            ip: i.ip,
                            hostname: i.hostname,
                            ..LoadBalancerIngress::default()
                        })
                        .collect()
                }),
            }),
            conditions: None,
        });
        Service { metadata, spec, status }
    }
}

#[cfg(test)]
mod tests;
