//! Gateway API `ListenerSet` (`gateway.networking.k8s.io/v1`, Gateway API 1.5 and later):
//! listeners attached to a parent Gateway from another object, read by the route sources with
//! `--gateway-listener-sets`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::{Condition, Listener, resource};
use crate::resource::{ObjectType, Served, Strip, Watched};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerSet {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ListenerSetSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ListenerSetStatus>,
}
resource!(ListenerSet, "gateway.networking.k8s.io", "v1", "ListenerSet", "listenersets");

impl ObjectType for ListenerSet {
    type Stored = Self;
    const RESOURCE: Watched = Watched::ListenerSets;
    const VERSIONS: &'static [&'static str] = &["v1"];
    const SERVED: Served = Served::IfInstalled {
        hint: "install the Gateway API CRDs v1.5 or later (ListenerSet), or drop --gateway-listener-sets",
    };

    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerSetSpec {
    #[serde(default)]
    pub parent_ref: ParentGatewayReference,
    /// Entries have a Gateway listener's fields (and TLS settings exodns does not read).
    #[serde(default)]
    pub listeners: Vec<Listener>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentGatewayReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerSetStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<ListenerEntryStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerEntryStatus {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
