//! exodns's `FailoverRecord` (`exodns.io/v1alpha1`): one hostname served by health-checked
//! members in one or more regions, published as a PowerDNS LUA record (see docs/failover.md).
//!
//! The fields are kept as written: nothing is checked until the source reads them
//! (`crate::failover`), so a bad field becomes a diagnostic naming it. The chart's CRD
//! (`deploy/helm/exodns/crds/failoverrecords.exodns.io.yaml`) refuses most bad values at
//! admission already; a test keeps it in step with these types.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::{Condition, resource};
use crate::resource::{ObjectType, Served, Strip, Watched};

/// The API group of `FailoverRecord`.
pub const EXODNS_GROUP: &str = "exodns.io";

/// A hostname served by health-checked members, shared by every region that publishes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverRecord {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: FailoverRecordSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<FailoverRecordStatus>,
}
resource!(FailoverRecord, "exodns.io", "v1alpha1", "FailoverRecord", "failoverrecords");

impl ObjectType for FailoverRecord {
    type Stored = Self;
    const RESOURCE: Watched = Watched::FailoverRecords;
    const VERSIONS: &'static [&'static str] = &["v1alpha1"];
    const SERVED: Served = Served::IfInstalled {
        hint: "install exodns's FailoverRecord CRD (the chart's crds/failoverrecords.exodns.io.yaml), or drop \
               --source=failover",
    };

    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta_with_generation(std::mem::take(&mut self.metadata));
    }

    fn same(a: &Self, b: &Self) -> bool {
        // Our own status write changes nothing the source reads.
        a.metadata == b.metadata && a.spec == b.spec
    }
}

/// What the record should publish.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverRecordSpec {
    #[serde(default)]
    pub hostname: String,
    /// `A` (default) or `AAAA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// Seconds; 30 when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// `single-region`, `active-active`, `active-hotstandby` or `weighted`.
    #[serde(default)]
    pub placement: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<FailoverTarget>,
    /// Tier order for `active-hotstandby` (first = primary).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Region → weight, for `weighted`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub weights: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<FailoverHealthCheck>,
    /// `all` (default), `random` or `pickclosest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}

/// One address serving the hostname.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverTarget {
    #[serde(default)]
    pub address: String,
    /// The region it serves from; this exodns's `--failover-region` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// How PowerDNS probes the members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverHealthCheck {
    /// `http`, `https` or `tcp`.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// 80 for http, 443 for https; required for tcp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// `/healthz` when left out (http and https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Text the page must contain (http and https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// 1 to 10; 2 when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
}

/// What exodns found and did, written by the status writer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverRecordStatus {
    /// `Valid`, `Published`, `PolicyConflict`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The record published at the hostname (its content, or the addresses of a plain record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Region → the addresses it publishes, every region seen in the zone.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub members: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_record_fields() {
        let r: FailoverRecord = serde_json::from_str(
            r#"{"metadata": {"name": "app", "namespace": "web"}, "spec": {"hostname": "app.example.org",
                "placement": "active-hotstandby", "regions": ["eu", "us"], "unknownField": 1,
                "targets": [{"address": "127.0.0.2", "region": "eu"}, {"address": "127.0.0.3"}],
                "healthCheck": {"type": "http", "port": 8080, "timeoutSeconds": 1}}}"#,
        )
        .unwrap();
        assert_eq!(r.spec.targets[0].region.as_deref(), Some("eu"));
        assert_eq!(r.spec.health_check.as_ref().unwrap().timeout_seconds, Some(1));
        assert_eq!(r.spec.record_type, None);
    }
}
