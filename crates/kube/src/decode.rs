//! kube-rs's objects decoded the way their type says ([`ObjectType::decode`]): without the
//! parts no source reads (managedFields, kubectl's last-applied annotation; for Services,
//! every field their strip drops).

use exodns_sources::ObjectType;
use serde::{Deserialize, Deserializer};

use crate::resources::Obj;

impl<'de, K: ObjectType> Deserialize<'de> for Obj<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        K::decode(d).map(Obj)
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Pod, Service};
    use kube::core::{ObjectList, WatchEvent};
    use serde_json::{Value, json};

    use super::*;

    fn mk_pod_json() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "web", "namespace": "shop", "resourceVersion": "42",
                "annotations": {"external-dns.kubernetes.io/hostname": "web.example.org",
                    "kubectl.kubernetes.io/last-applied-configuration": "{}"},
                "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:metadata": {}}}]
            },
            "spec": {"hostname": "web-0", "containers": []}
        })
    }

    /// Lists and watch events go through the type's decoder: the list's items and the event's
    /// object are decoded alike, with the resourceVersion the watch resumes from.
    #[test]
    fn lists_and_watch_events_decode_through_the_type() {
        let expected: Pod = exodns_sources::resource::decode::filtered(mk_pod_json()).unwrap();
        assert!(expected.metadata.managed_fields.is_none());
        let list = json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "7"},
            "items": [mk_pod_json(), mk_pod_json()]});
        let list: ObjectList<Obj<Pod>> = serde_json::from_str(&list.to_string()).unwrap();
        assert!(list.items.iter().all(|o| o.0 == expected));

        let svc = json!({"metadata": {"name": "a", "resourceVersion": "9", "uid": "u"},
            "spec": {"type": "LoadBalancer", "sessionAffinity": "None"}});
        let event = json!({"type": "MODIFIED", "object": svc});
        match serde_json::from_str::<WatchEvent<Obj<Service>>>(&event.to_string()).unwrap() {
            WatchEvent::Modified(Obj(svc)) => {
                assert_eq!(svc.metadata.resource_version.as_deref(), Some("9"));
                let spec = svc.spec.unwrap();
                assert_eq!(spec.type_.as_deref(), Some("LoadBalancer"));
                assert!(spec.session_affinity.is_none(), "not read by any source: not decoded");
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
}
