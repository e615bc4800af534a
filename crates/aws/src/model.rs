//! The Route 53 API's XML (version 2013-04-01), as far as exodns uses it: responses are read with
//! quick-xml's serde support; the two request bodies are written by hand, element by element, in
//! the order of the API's schema.

use std::fmt::Write as _;

use quick_xml::escape::escape;
use serde::Deserialize;

/// The XML namespace of every Route 53 request body.
pub const NAMESPACE: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

/// `ListHostedZones` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListHostedZonesResponse {
    #[serde(default)]
    pub hosted_zones: HostedZones,
    #[serde(default)]
    pub is_truncated: bool,
    pub next_marker: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HostedZones {
    #[serde(rename = "HostedZone", default)]
    pub items: Vec<HostedZone>,
}

/// One hosted zone.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostedZone {
    /// `/hostedzone/Z…`
    pub id: String,
    /// Absolute, with octal escapes for unusual characters.
    pub name: String,
    pub config: Option<HostedZoneConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostedZoneConfig {
    #[serde(default)]
    pub private_zone: bool,
}

impl HostedZone {
    pub fn is_private(&self) -> bool {
        self.config.as_ref().is_some_and(|c| c.private_zone)
    }

    /// The id without its `/hostedzone/` prefix.
    pub fn short_id(&self) -> &str {
        clean_zone_id(&self.id)
    }
}

/// A zone id without the `/hostedzone/` prefix (both forms are accepted by the API and by
/// `--zone-id-filter`).
pub fn clean_zone_id(id: &str) -> &str {
    id.strip_prefix("/hostedzone/").unwrap_or(id)
}

/// `ListTagsForResources` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourcesResponse {
    #[serde(default)]
    pub resource_tag_sets: ResourceTagSets,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResourceTagSets {
    #[serde(rename = "ResourceTagSet", default)]
    pub items: Vec<ResourceTagSet>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceTagSet {
    pub resource_id: String,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Tags {
    #[serde(rename = "Tag", default)]
    pub items: Vec<Tag>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// `ListResourceRecordSets` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceRecordSetsResponse {
    #[serde(default)]
    pub resource_record_sets: ResourceRecordSets,
    #[serde(default)]
    pub is_truncated: bool,
    pub next_record_name: Option<String>,
    pub next_record_type: Option<String>,
    pub next_record_identifier: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResourceRecordSets {
    #[serde(rename = "ResourceRecordSet", default)]
    pub items: Vec<ResourceRecordSet>,
}

/// One record set, as read and as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceRecordSet {
    pub name: String,
    #[serde(rename = "Type")]
    pub rtype: String,
    pub set_identifier: Option<String>,
    pub weight: Option<i64>,
    pub region: Option<String>,
    pub geo_location: Option<GeoLocation>,
    pub failover: Option<String>,
    pub multi_value_answer: Option<bool>,
    #[serde(rename = "TTL")]
    pub ttl: Option<i64>,
    pub resource_records: Option<ResourceRecords>,
    pub alias_target: Option<AliasTarget>,
    pub health_check_id: Option<String>,
    pub geo_proximity_location: Option<GeoProximityLocation>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ResourceRecords {
    #[serde(rename = "ResourceRecord", default)]
    pub items: Vec<ResourceRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceRecord {
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasTarget {
    pub hosted_zone_id: String,
    #[serde(rename = "DNSName")]
    pub dns_name: String,
    #[serde(default)]
    pub evaluate_target_health: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GeoLocation {
    pub continent_code: Option<String>,
    pub country_code: Option<String>,
    pub subdivision_code: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GeoProximityLocation {
    #[serde(rename = "AWSRegion")]
    pub aws_region: Option<String>,
    pub local_zone_group: Option<String>,
    pub coordinates: Option<Coordinates>,
    pub bias: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Coordinates {
    pub latitude: String,
    pub longitude: String,
}

impl ResourceRecordSet {
    /// The values of its resource records.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.resource_records.iter().flat_map(|r| r.items.iter().map(|v| v.value.as_str()))
    }

    /// Writes `<ResourceRecordSet>…</ResourceRecordSet>` in the schema's element order.
    pub fn write_xml(&self, out: &mut String) {
        out.push_str("<ResourceRecordSet>");
        element(out, "Name", &self.name);
        element(out, "Type", &self.rtype);
        if let Some(id) = &self.set_identifier {
            element(out, "SetIdentifier", id);
        }
        if let Some(w) = self.weight {
            element(out, "Weight", &w.to_string());
        }
        if let Some(r) = &self.region {
            element(out, "Region", r);
        }
        if let Some(g) = &self.geo_location {
            out.push_str("<GeoLocation>");
            optional(out, "ContinentCode", g.continent_code.as_deref());
            optional(out, "CountryCode", g.country_code.as_deref());
            optional(out, "SubdivisionCode", g.subdivision_code.as_deref());
            out.push_str("</GeoLocation>");
        }
        if let Some(f) = &self.failover {
            element(out, "Failover", f);
        }
        if let Some(m) = self.multi_value_answer {
            element(out, "MultiValueAnswer", if m { "true" } else { "false" });
        }
        if let Some(ttl) = self.ttl {
            element(out, "TTL", &ttl.to_string());
        }
        if let Some(rr) = &self.resource_records {
            out.push_str("<ResourceRecords>");
            for r in &rr.items {
                out.push_str("<ResourceRecord>");
                element(out, "Value", &r.value);
                out.push_str("</ResourceRecord>");
            }
            out.push_str("</ResourceRecords>");
        }
        if let Some(a) = &self.alias_target {
            out.push_str("<AliasTarget>");
            element(out, "HostedZoneId", &a.hosted_zone_id);
            element(out, "DNSName", &a.dns_name);
            element(out, "EvaluateTargetHealth", if a.evaluate_target_health { "true" } else { "false" });
            out.push_str("</AliasTarget>");
        }
        if let Some(h) = &self.health_check_id {
            element(out, "HealthCheckId", h);
        }
        if let Some(g) = &self.geo_proximity_location {
            out.push_str("<GeoProximityLocation>");
            optional(out, "AWSRegion", g.aws_region.as_deref());
            optional(out, "LocalZoneGroup", g.local_zone_group.as_deref());
            if let Some(c) = &g.coordinates {
                out.push_str("<Coordinates>");
                element(out, "Latitude", &c.latitude);
                element(out, "Longitude", &c.longitude);
                out.push_str("</Coordinates>");
            }
            if let Some(b) = g.bias {
                element(out, "Bias", &b.to_string());
            }
            out.push_str("</GeoProximityLocation>");
        }
        out.push_str("</ResourceRecordSet>");
    }
}

/// `CREATE`, `DELETE` or `UPSERT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    // Declared in the order a batch sends them: UPSERT, DELETE, CREATE (upstream sorts the
    // action names in descending order), so that a DELETE frees a name before a CREATE takes it.
    Upsert,
    Delete,
    Create,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "CREATE",
            Action::Delete => "DELETE",
            Action::Upsert => "UPSERT",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of `ChangeResourceRecordSets`.
pub fn change_batch_xml<'a>(changes: impl IntoIterator<Item = (Action, &'a ResourceRecordSet)>) -> String {
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="{NAMESPACE}"><ChangeBatch><Changes>"#
    );
    for (action, rrset) in changes {
        out.push_str("<Change>");
        element(&mut out, "Action", action.as_str());
        rrset.write_xml(&mut out);
        out.push_str("</Change>");
    }
    out.push_str("</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>");
    out
}

/// The body of `ListTagsForResources` for hosted zones.
pub fn list_tags_xml(zone_ids: &[&str]) -> String {
    let mut out = format!(r#"<?xml version="1.0" encoding="UTF-8"?><ListTagsForResourcesRequest xmlns="{NAMESPACE}">"#);
    out.push_str("<ResourceIds>");
    for id in zone_ids {
        element(&mut out, "ResourceId", id);
    }
    out.push_str("</ResourceIds></ListTagsForResourcesRequest>");
    out
}

fn element(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>{}</{name}>", escape(text));
}

fn optional(out: &mut String, name: &str, text: Option<&str>) {
    if let Some(t) = text {
        element(out, name, t);
    }
}

/// An AWS error answer: `<ErrorResponse><Error><Code>…` (most errors), or
/// `<InvalidChangeBatch><Messages><Message>…` (a refused change batch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsErrorBody {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorResponse {
    error: Option<ErrorDetail>,
    // The `<InvalidChangeBatch>` form.
    messages: Option<Messages>,
    message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Default, Deserialize)]
struct Messages {
    #[serde(rename = "Message", default)]
    items: Vec<String>,
}

impl AwsErrorBody {
    /// Reads an error body; `None` when it is not one of AWS's error shapes.
    pub fn parse(body: &[u8]) -> Option<AwsErrorBody> {
        let text = std::str::from_utf8(body).ok()?;
        let root = root_element(text)?;
        let parsed: ErrorResponse = quick_xml::de::from_str(text).ok()?;
        if let Some(e) = parsed.error {
            return Some(AwsErrorBody { code: e.code, message: e.message });
        }
        let mut message = parsed.messages.map(|m| m.items.join("; ")).unwrap_or_default();
        if message.is_empty() {
            message = parsed.message.unwrap_or_default();
        }
        Some(AwsErrorBody { code: root, message })
    }
}

/// The name of the first element of an XML document.
fn root_element(text: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event().ok()? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                return Some(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    }
}

/// A name as Route 53 returns it, with `\052` for `*` and `\ooo` octal escapes for other bytes,
/// turned back into text. Escapes that do not make UTF-8 are kept as they are.
pub fn unescape_name(name: &str) -> String {
    if !name.contains('\\') {
        return name.to_owned();
    }
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b))
            && bytes[i + 1] <= b'3'
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_record_listing() {
        let xml = r#"<?xml version="1.0"?>
<ListResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
 <ResourceRecordSets>
  <ResourceRecordSet><Name>\052.example.org.</Name><Type>A</Type><SetIdentifier>blue</SetIdentifier><Weight>10</Weight><TTL>60</TTL>
   <ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord><ResourceRecord><Value>192.0.2.2</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>
  <ResourceRecordSet><Name>lb.example.org.</Name><Type>A</Type>
   <AliasTarget><HostedZoneId>Z35SXDOTRQ7X7K</HostedZoneId><DNSName>x.us-east-1.elb.amazonaws.com.</DNSName><EvaluateTargetHealth>true</EvaluateTargetHealth></AliasTarget></ResourceRecordSet>
  <ResourceRecordSet><Name>geo.example.org.</Name><Type>TXT</Type><SetIdentifier>eu</SetIdentifier><GeoLocation><ContinentCode>EU</ContinentCode></GeoLocation><TTL>300</TTL>
   <ResourceRecords><ResourceRecord><Value>"a &amp; b"</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>
 </ResourceRecordSets>
 <IsTruncated>true</IsTruncated><NextRecordName>m.example.org.</NextRecordName><NextRecordType>A</NextRecordType><MaxItems>300</MaxItems>
</ListResourceRecordSetsResponse>"#;
        let r: ListResourceRecordSetsResponse = quick_xml::de::from_str(xml).unwrap();
        assert!(r.is_truncated);
        assert_eq!(r.next_record_name.as_deref(), Some("m.example.org."));
        let sets = &r.resource_record_sets.items;
        assert_eq!(sets.len(), 3);
        assert_eq!(sets[0].values().collect::<Vec<_>>(), ["192.0.2.1", "192.0.2.2"]);
        assert_eq!((sets[0].weight, sets[0].ttl), (Some(10), Some(60)));
        assert!(sets[1].alias_target.as_ref().unwrap().evaluate_target_health);
        assert_eq!(sets[2].geo_location.as_ref().unwrap().continent_code.as_deref(), Some("EU"));
        assert_eq!(sets[2].values().next(), Some("\"a & b\""));
        assert_eq!(unescape_name(&sets[0].name), "*.example.org.");
    }

    #[test]
    fn writes_and_reads_back_the_same_record_set() {
        let rrset = ResourceRecordSet {
            name: "w.example.org".into(),
            rtype: "TXT".into(),
            set_identifier: Some("a<b".into()),
            weight: Some(5),
            ttl: Some(60),
            resource_records: Some(ResourceRecords {
                items: vec![ResourceRecord { value: "\"heritage=external-dns,x=&\"".into() }],
            }),
            health_check_id: Some("hc".into()),
            geo_proximity_location: Some(GeoProximityLocation {
                aws_region: Some("us-east-1".into()),
                bias: Some(-10),
                coordinates: Some(Coordinates { latitude: "1.5".into(), longitude: "-2".into() }),
                ..GeoProximityLocation::default()
            }),
            ..ResourceRecordSet::default()
        };
        let body = change_batch_xml([(Action::Upsert, &rrset)]);
        assert!(body.contains("<Action>UPSERT</Action>") && body.contains("a&lt;b"), "{body}");
        let start = body.find("<ResourceRecordSet>").unwrap();
        let end = body.find("</ResourceRecordSet>").unwrap() + "</ResourceRecordSet>".len();
        let back: ResourceRecordSet = quick_xml::de::from_str(&body[start..end]).unwrap();
        assert_eq!(back, rrset);
    }

    #[test]
    fn reads_both_error_shapes() {
        let e = AwsErrorBody::parse(
            br#"<?xml version="1.0"?><ErrorResponse xmlns="x"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>"#,
        )
        .unwrap();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("Throttling", "Rate exceeded"));
        let e = AwsErrorBody::parse(
            br#"<InvalidChangeBatch xmlns="x"><Messages><Message>RRSet of type CNAME with DNS name a.example.org. is not permitted</Message><Message>second</Message></Messages><RequestId>r</RequestId></InvalidChangeBatch>"#,
        )
        .unwrap();
        assert_eq!(e.code, "InvalidChangeBatch");
        assert!(e.message.starts_with("RRSet of type CNAME") && e.message.ends_with("; second"), "{}", e.message);
        assert_eq!(AwsErrorBody::parse(b"not xml at all"), None);
    }

    #[test]
    fn octal_escapes() {
        assert_eq!(unescape_name("\\052.a.example.org."), "*.a.example.org.");
        assert_eq!(unescape_name("a\\100b."), "a@b.");
        assert_eq!(unescape_name("plain."), "plain.");
        assert_eq!(unescape_name("bad\\9"), "bad\\9");
    }
}
