//! ExternalDNS's `DNSEndpoint` (`externaldns.k8s.io/v1alpha1`): records written out in full.

use std::collections::BTreeMap;

use exodns_core::ProviderSpecific;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::resource;
use crate::resource::{ObjectType, Served, Strip, Watched};

/// The API group of `DNSEndpoint`.
pub const EXTERNALDNS_GROUP: &str = "externaldns.k8s.io";

/// ExternalDNS's `DNSEndpoint` custom resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DNSEndpoint {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: DNSEndpointSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DNSEndpointStatus>,
}
resource!(DNSEndpoint, "externaldns.k8s.io", "v1alpha1", "DNSEndpoint", "dnsendpoints");

impl ObjectType for DNSEndpoint {
    type Stored = Self;
    const RESOURCE: Watched = Watched::DnsEndpoints;
    const VERSIONS: &'static [&'static str] = &["v1alpha1"];
    const SERVED: Served = Served::IfInstalled {
        hint: "install ExternalDNS's DNSEndpoint CRD (config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml), \
               or drop --source=crd",
    };

    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta_with_generation(std::mem::take(&mut self.metadata));
    }

    fn same(a: &Self, b: &Self) -> bool {
        // Our own status write changes nothing the source reads.
        a.metadata == b.metadata && a.spec == b.spec
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DNSEndpointSpec {
    #[serde(default)]
    pub endpoints: Vec<DNSEndpointEntry>,
}

/// One record of a `DNSEndpoint`, as written: nothing is checked until the source reads it, so
/// one bad entry never hides the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DNSEndpointEntry {
    #[serde(default)]
    pub dns_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    #[serde(default)]
    pub record_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub set_identifier: String,
    #[serde(rename = "recordTTL", default, skip_serializing_if = "Option::is_none")]
    pub record_ttl: Option<i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provider_specific: Vec<ProviderSpecific>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DNSEndpointStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_endpoint_entry_fields() {
        let e: DNSEndpoint = serde_json::from_str(
            r#"{"metadata":{"name":"x"},"spec":{"endpoints":[{"dnsName":"a.example.org","targets":["1.2.3.4"],"recordType":"A","recordTTL":60,"providerSpecific":[{"name":"p","value":"v"}]}]}}"#,
        )
        .unwrap();
        assert_eq!(e.spec.endpoints[0].record_ttl, Some(60));
        assert_eq!(e.spec.endpoints[0].provider_specific[0].name, "p");
    }
}
