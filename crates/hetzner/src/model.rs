//! The JSON shapes of the Hetzner Cloud API (DNS part) that exodns reads and writes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct Zone {
    pub id: u64,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RRSet {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(default)]
    pub ttl: Option<u32>,
    #[serde(default)]
    pub records: Vec<RecordValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordValue {
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Action {
    pub id: u64,
    #[serde(default)]
    pub command: String,
    pub status: String,
    #[serde(default)]
    pub error: Option<ActionError>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActionError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Pagination {
    #[serde(default)]
    pub next_page: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub pagination: Pagination,
}

/// Hetzner's error text of an answer: `code: message`.
pub fn error_text(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct E {
        error: Option<ActionError>,
        detail: Option<String>,
    }
    match serde_json::from_slice::<E>(body) {
        Ok(E { error: Some(e), .. }) => format!("{}: {}", e.code, e.message),
        Ok(E { detail: Some(d), .. }) => d,
        _ => String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_owned(),
    }
}

/// The error code of an answer (`uniqueness_error`, `locked`, …).
pub fn error_code(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct E {
        error: Option<ActionError>,
    }
    serde_json::from_slice::<E>(body).ok()?.error.map(|e| e.code)
}
