//! The JSON shapes of Cloudflare's v4 API that exodns reads and writes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every answer: `{"success", "errors", "messages", "result", "result_info"}`.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<ApiMessage>,
    pub result: Option<T>,
    pub result_info: Option<ResultInfo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiMessage {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct ResultInfo {
    #[serde(default)]
    pub page: f64,
    #[serde(default)]
    pub per_page: f64,
    #[serde(default)]
    pub count: f64,
    #[serde(default)]
    pub total_count: f64,
    /// Absent on some lists (regional hostnames): then paging ends at a short page.
    pub total_pages: Option<f64>,
}

/// Cloudflare's error messages of an answer, joined: `code: message; …`.
pub fn error_text(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<ApiMessage>,
        #[serde(default)]
        detail: Option<String>,
    }
    match serde_json::from_slice::<Errors>(body) {
        Ok(e) if !e.errors.is_empty() => {
            e.errors.iter().map(|m| format!("{}: {}", m.code, m.message)).collect::<Vec<_>>().join("; ")
        }
        Ok(Errors { detail: Some(d), .. }) => d,
        _ => String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_owned(),
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Zone {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub plan: Option<Plan>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Plan {
    #[serde(default)]
    pub is_subscribed: bool,
}

/// A DNS record as Cloudflare answers it. Types carry their value in `content` or in `data`
/// (SRV, CAA, …); the MX preference is `priority`.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub proxied: Option<bool>,
    #[serde(default)]
    pub ttl: f64,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub priority: Option<f64>,
    #[serde(default)]
    pub data: Option<Value>,
}

/// The fields of a record that exodns writes (posts and puts of the batch endpoint).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u16>,
    pub ttl: u32,
    pub proxied: bool,
    pub comment: String,
    pub tags: Vec<String>,
}

/// `POST /zones/{id}/dns_records/batch`; Cloudflare runs deletes, patches, puts, posts in that
/// order, in one transaction.
#[derive(Debug, Default, Serialize)]
pub struct BatchBody<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deletes: Vec<IdOnly<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub puts: Vec<&'a RecordBody>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub posts: Vec<&'a RecordBody>,
}

#[derive(Debug, Serialize)]
pub struct IdOnly<'a> {
    pub id: &'a str,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RegionalHostname {
    pub hostname: String,
    #[serde(default)]
    pub region_key: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CustomHostname {
    pub id: String,
    pub hostname: String,
    #[serde(default)]
    pub custom_origin_server: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_joins_cloudflare_errors() {
        let body = br#"{"success":false,"errors":[{"code":81058,"message":"An identical record already exists."}],"messages":[]}"#;
        assert_eq!(error_text(body), "81058: An identical record already exists.");
        let prism = br#"{"type":"x","title":"Invalid request","status":422,"detail":"Your request is not valid"}"#;
        assert_eq!(error_text(prism), "Your request is not valid");
        assert_eq!(error_text(b"  gateway timeout "), "gateway timeout");
    }
}
