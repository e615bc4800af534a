//! The Cloud DNS v1 JSON this provider reads and writes (the fields it uses).

use serde::{Deserialize, Deserializer, Serialize};

/// A managed zone (`dns#managedZone`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedZone {
    /// The zone's name in the project (`my-zone`), used in URLs.
    pub name: String,
    /// The DNS name, absolute (`example.org.`).
    pub dns_name: String,
    /// Numeric id (a uint64, sent as a string).
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: String,
    /// `public` or `private`.
    #[serde(default)]
    pub visibility: String,
    /// Set on peering zones, which hold no records of their own.
    #[serde(default)]
    pub peering_config: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedZonesPage {
    #[serde(default)]
    pub managed_zones: Vec<ManagedZone>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// A resource record set (`dns#resourceRecordSet`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RRSet {
    /// Absolute name (`www.example.org.`).
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(default)]
    pub ttl: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rrdatas: Vec<String>,
    /// Geo / weighted routing: such rrsets carry no plain rrdatas and are left alone.
    #[serde(default, skip_serializing)]
    pub routing_policy: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RRSetsPage {
    #[serde(default)]
    pub rrsets: Vec<RRSet>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// A change (`dns#change`): deletions and additions applied atomically.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additions: Vec<RRSet>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deletions: Vec<RRSet>,
    #[serde(default, skip_serializing)]
    pub id: Option<String>,
    /// `pending` or `done`.
    #[serde(default, skip_serializing)]
    pub status: Option<String>,
}

impl Change {
    pub fn is_done(&self) -> bool {
        self.status.as_deref() == Some("done")
    }

    pub fn len(&self) -> usize {
        self.additions.len() + self.deletions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_zones() {
        let page: ManagedZonesPage = serde_json::from_str(
            r#"{"managedZones":[{"name":"z","dnsName":"example.org.","id":"123","visibility":"public","kind":"dns#managedZone"},
            {"name":"p","dnsName":"peer.org.","id":7,"peeringConfig":{"targetNetwork":{}}}],"nextPageToken":"t"}"#,
        )
        .unwrap();
        assert_eq!(page.managed_zones[0].id, "123");
        assert_eq!(page.managed_zones[1].id, "7");
        assert!(page.managed_zones[1].peering_config.is_some());
        assert_eq!(page.next_page_token.as_deref(), Some("t"));
    }

    #[test]
    fn writes_changes_without_read_only_fields() {
        let c = Change {
            additions: vec![RRSet {
                name: "a.example.org.".into(),
                rtype: "A".into(),
                ttl: 300,
                rrdatas: vec!["192.0.2.1".into()],
                routing_policy: None,
            }],
            deletions: vec![],
            id: Some("1".into()),
            status: Some("done".into()),
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"additions":[{"name":"a.example.org.","type":"A","ttl":300,"rrdatas":["192.0.2.1"]}]}"#
        );
    }
}
