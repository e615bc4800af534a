//! `--registry=dynamodb`: ownership kept in a DynamoDB table, as upstream's DynamoDB registry
//! (v0.22 and v0.23 alike) keeps it, over our own JSON client signed with SigV4.
//!
//! The table has the hash key `k` (a string, no range key). One item per record: `k` is
//! `name#TYPE#set-identifier`, `o` the owner, `l` a map of the record's labels without the owner
//! (`resource`, …). Claims are upstream's PartiQL `INSERT` (DynamoDB refuses one whose key exists:
//! another owner holds the record), label changes `UPDATE … SET "l"`, releases `DELETE … WHERE
//! "k"=? AND "o"=?`, 25 statements per `BatchExecuteStatement`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use exodns_core::endpoint::{EndpointKey, label};
use exodns_core::registry::TableWrite;
use exodns_core::{DnsName, Labels, RecordType, error_chain};
use exodns_provider::store::Outcome;
use exodns_provider::{Loaded, OwnershipStore, ProviderError, Refused};
use serde_json::{Value, json};
use url::Url;

use crate::client::RetryPolicy;
use crate::creds::CredentialsCache;

const STORE: &str = "dynamodb";
/// DynamoDB takes at most 25 statements per batch.
const BATCH: usize = 25;

/// Where DynamoDB is: `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`, else the regional
/// endpoint.
pub fn endpoint(env: &dyn Fn(&str) -> Option<String>, region: &str) -> Result<Url, String> {
    let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let ignore = get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let (var, raw) = match (ignore, get("AWS_ENDPOINT_URL_DYNAMODB"), get("AWS_ENDPOINT_URL")) {
        (false, Some(u), _) => ("AWS_ENDPOINT_URL_DYNAMODB", u),
        (false, None, Some(u)) => ("AWS_ENDPOINT_URL", u),
        _ if region.starts_with("cn-") => ("", format!("https://dynamodb.{region}.amazonaws.com.cn")),
        _ => ("", format!("https://dynamodb.{region}.amazonaws.com")),
    };
    let url = Url::parse(raw.trim()).map_err(|e| format!("{var}: {raw:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{var}: {raw:?} must be an http(s) URL with a host"));
    }
    Ok(url)
}

/// The DynamoDB table of one owner.
pub struct DynamoDbStore {
    http: reqwest::Client,
    url: Url,
    region: String,
    creds: CredentialsCache,
    retry: RetryPolicy,
    table: String,
    owner: String,
    /// Our items as last read or written: key → labels without the owner.
    ours: Mutex<HashMap<EndpointKey, BTreeMap<String, String>>>,
}

impl DynamoDbStore {
    pub fn new(
        http: reqwest::Client,
        url: Url,
        region: &str,
        creds: CredentialsCache,
        table: &str,
        owner: &str,
    ) -> Self {
        DynamoDbStore {
            http,
            url,
            region: region.to_owned(),
            creds,
            retry: RetryPolicy::default(),
            table: table.to_owned(),
            owner: owner.to_owned(),
            ours: Mutex::new(HashMap::new()),
        }
    }

    fn ours(&self) -> std::sync::MutexGuard<'_, HashMap<EndpointKey, BTreeMap<String, String>>> {
        self.ours.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One call of the JSON 1.0 API, retried on throttling and 5xx.
    async fn call(&self, action: &str, body: Value) -> Result<Value, ProviderError> {
        let body = Bytes::from(body.to_string());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let creds = self.creds.get().await.map_err(|e| {
                let m = format!("{action}: {e}");
                if e.transient { ProviderError::transient(STORE, m) } else { ProviderError::permanent(STORE, m) }
            })?;
            let mut req = self
                .http
                .post(self.url.clone())
                .header("content-type", "application/x-amz-json-1.0")
                .header("x-amz-target", format!("DynamoDB_20120810.{action}"))
                .body(body.clone())
                .build()
                .map_err(|e| ProviderError::permanent(STORE, format!("{action}: {}", error_chain(&e))))?;
            crate::sign::sign_request(&mut req, &creds, "dynamodb", &self.region, SystemTime::now())
                .map_err(|m| ProviderError::permanent(STORE, format!("{action}: {m}")))?;
            let (transient, message) = match exodns_http::execute(&self.http, req).await {
                Ok(resp) => {
                    let status = resp.status();
                    let bytes = resp.bytes().await.unwrap_or_default();
                    if status.is_success() {
                        return serde_json::from_slice(&bytes)
                            .map_err(|e| ProviderError::permanent(STORE, format!("{action}: unreadable answer: {e}")));
                    }
                    let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
                    let code = v["__type"].as_str().unwrap_or("").rsplit('#').next().unwrap_or("").to_owned();
                    let msg = v["message"].as_str().or(v["Message"].as_str()).unwrap_or("").to_owned();
                    let throttled = code.contains("Throttl") || code == "ProvisionedThroughputExceededException";
                    let hint = if code == "ResourceNotFoundException" {
                        format!(
                            " (table {:?} in region {}: create it as docs/operations.md says)",
                            self.table, self.region
                        )
                    } else {
                        String::new()
                    };
                    (
                        status.as_u16() >= 500 || status.as_u16() == 429 || throttled,
                        format!("HTTP {status} {code}: {msg}{hint}"),
                    )
                }
                Err(e) => (true, error_chain(&e)),
            };
            if !transient || attempt >= self.retry.max_attempts {
                let m = format!("{action} on table {}: {message}", self.table);
                return Err(if transient {
                    ProviderError::transient(STORE, m)
                } else {
                    ProviderError::permanent(STORE, m)
                });
            }
            tokio::time::sleep(self.retry.backoff(attempt)).await;
        }
    }

    /// Upstream's checks of the table's key schema.
    async fn check_table(&self) -> Result<(), ProviderError> {
        let d = self.call("DescribeTable", json!({"TableName": self.table})).await?;
        let t = &d["Table"];
        let bad = |why: &str| Err(ProviderError::permanent(STORE, format!("table {:?}: {why}", self.table)));
        let attrs = t["AttributeDefinitions"].as_array().cloned().unwrap_or_default();
        match attrs.iter().find(|a| a["AttributeName"] == "k") {
            Some(a) if a["AttributeType"] == "S" => {}
            Some(_) => return bad("attribute \"k\" must have type \"S\""),
            None => return bad("must have attribute \"k\" of type \"S\""),
        }
        let keys = t["KeySchema"].as_array().cloned().unwrap_or_default();
        if keys.first().map(|k| &k["AttributeName"]) != Some(&json!("k")) {
            return bad("must have hash key \"k\"");
        }
        if keys.len() > 1 {
            return bad("must not have a range key");
        }
        Ok(())
    }

    /// Runs statements in batches of 25; calls `refused` for each statement DynamoDB refused.
    async fn execute(
        &self,
        statements: Vec<(Value, EndpointKey)>,
        mut refused: impl FnMut(&EndpointKey, &str, &str) -> Result<(), ProviderError>,
    ) -> Result<(), ProviderError> {
        for chunk in statements.chunks(BATCH) {
            let body = json!({"Statements": chunk.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>()});
            let out = self.call("BatchExecuteStatement", body).await?;
            let responses = out["Responses"].as_array().cloned().unwrap_or_default();
            for ((statement, key), resp) in chunk.iter().zip(responses) {
                let op = statement["Statement"].as_str().unwrap_or("").split(' ').next().unwrap_or("");
                match resp.get("Error").filter(|e| !e.is_null()) {
                    Some(err) => {
                        let code = err["Code"].as_str().unwrap_or("");
                        let message = err["Message"].as_str().unwrap_or("");
                        refused(key, code, &format!("{op} {}: {code}: {message}", item_key(key)))?;
                    }
                    // As upstream logs it.
                    None => tracing::info!("{op} dynamodb record {:?}", item_key(key)),
                }
            }
        }
        Ok(())
    }

    fn insert(&self, key: &EndpointKey, labels: &BTreeMap<String, String>) -> Value {
        json!({
            "Statement": format!("INSERT INTO {} VALUE {{'k':?, 'o':?, 'l':?}}", quoted(&self.table)),
            "Parameters": [{"S": item_key(key)}, {"S": self.owner}, labels_value(labels)],
            "ConsistentRead": true,
        })
    }

    fn update(&self, key: &EndpointKey, labels: &BTreeMap<String, String>) -> Value {
        json!({
            "Statement": format!("UPDATE {} SET \"l\"=? WHERE \"k\"=?", quoted(&self.table)),
            "Parameters": [labels_value(labels), {"S": item_key(key)}],
        })
    }

    fn delete(&self, key: &EndpointKey) -> Value {
        json!({
            "Statement": format!("DELETE FROM {} WHERE \"k\"=? AND \"o\"=?", quoted(&self.table)),
            "Parameters": [{"S": item_key(key)}, {"S": self.owner}],
        })
    }
}

/// Go's `%q` of a table name (names are `[a-zA-Z0-9_.-]`, nothing to escape).
fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

/// `name#TYPE#set-identifier`.
pub fn item_key(key: &EndpointKey) -> String {
    format!("{}#{}#{}", key.dns_name.as_str(), key.record_type.as_str(), key.set_identifier)
}

/// The record key of an item's `k`, or why it is not one.
pub fn parse_item_key(k: &str) -> Result<EndpointKey, String> {
    let mut parts = k.splitn(3, '#');
    let (Some(name), Some(rt), Some(set)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("is not name#type#set-identifier".into());
    };
    let dns_name = DnsName::parse(name).map_err(|e| format!("name {name:?}: {e}"))?;
    let record_type = rt.parse::<RecordType>().map_err(|e| format!("record type {rt:?}: {e}"))?;
    Ok(EndpointKey { dns_name, record_type, set_identifier: set.to_owned() })
}

fn labels_value(labels: &BTreeMap<String, String>) -> Value {
    let m: serde_json::Map<String, Value> = labels.iter().map(|(k, v)| (k.clone(), json!({"S": v}))).collect();
    json!({"M": m})
}

/// An item of the table: its key, owner and labels, or why it cannot be read (naming the field).
fn read_item(item: &Value) -> Result<(EndpointKey, String, BTreeMap<String, String>), String> {
    let k = item["k"]["S"].as_str().ok_or_else(|| format!("item {}: field k: not a string", item["k"]))?;
    let key = parse_item_key(k).map_err(|why| format!("item k={k:?}: field k: {why}"))?;
    let owner = item["o"]["S"].as_str().unwrap_or_default().to_owned();
    let mut labels = BTreeMap::new();
    match item.get("l") {
        None | Some(Value::Null) => {}
        Some(l) => {
            let m = l["M"].as_object().ok_or_else(|| format!("item k={k:?}: field l: not a map"))?;
            for (name, v) in m {
                let s = v["S"].as_str().ok_or_else(|| format!("item k={k:?}: field l.{name}: not a string"))?;
                labels.insert(name.clone(), s.to_owned());
            }
        }
    }
    Ok((key, owner, labels))
}

#[async_trait]
impl OwnershipStore for DynamoDbStore {
    fn describe(&self) -> String {
        format!("DynamoDB table {} ({})", self.table, self.region)
    }

    async fn load(&self) -> Result<Loaded, ProviderError> {
        self.check_table().await?;
        let mut loaded = Loaded::default();
        let mut ours = HashMap::new();
        let mut start: Option<Value> = None;
        loop {
            // Every item (a scan reads them all whatever its filter): other owners' keys are
            // not ours to claim.
            let mut body = json!({"TableName": self.table, "ProjectionExpression": "k,o,l", "ConsistentRead": true});
            if let Some(s) = start.take() {
                body["ExclusiveStartKey"] = s;
            }
            let page = self.call("Scan", body).await?;
            for item in page["Items"].as_array().into_iter().flatten() {
                match read_item(item) {
                    Ok((key, owner, labels)) if owner == self.owner => {
                        let mut l: Labels = labels.clone().into();
                        l.insert(label::OWNER.to_owned(), self.owner.clone());
                        loaded.table.insert(key.clone(), l);
                        ours.insert(key, labels);
                    }
                    Ok((key, owner, _)) => loaded.table.insert_foreign(key, owner),
                    Err(why) => loaded.invalid.push(format!("DynamoDB table {}: {why}", self.table)),
                }
            }
            match page.get("LastEvaluatedKey").filter(|k| k.is_object()) {
                Some(k) => start = Some(k.clone()),
                None => break,
            }
        }
        *self.ours() = ours;
        Ok(loaded)
    }

    async fn prepare(&self, writes: &[TableWrite]) -> Result<Vec<Refused>, ProviderError> {
        let mut statements = Vec::new();
        let mut written = Vec::new();
        for w in writes {
            let (TableWrite::Claim(ep) | TableWrite::Update(ep)) = w else { continue };
            let key = ep.key();
            let labels: BTreeMap<String, String> = ep
                .labels
                .iter()
                .filter(|(k, _)| k.as_str() != label::OWNER)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            match self.ours().get(&key) {
                // As upstream: no write when the labels are the same.
                Some(old) if *old == labels => continue,
                Some(_) => statements.push((self.update(&key, &labels), key.clone())),
                None => statements.push((self.insert(&key, &labels), key.clone())),
            }
            written.push((key, labels));
        }
        let mut refused = Vec::new();
        self.execute(statements, |key, code, message| {
            if code == "DuplicateItem" {
                // Another owner inserted it since we read the table.
                refused.push(Refused { key: key.clone(), owner: String::new() });
                Ok(())
            } else {
                Err(ProviderError::transient(STORE, format!("table {}: {message}", self.table)))
            }
        })
        .await?;
        let mut ours = self.ours();
        for (key, labels) in written.into_iter().filter(|(k, _)| !refused.iter().any(|r| &r.key == k)) {
            ours.insert(key, labels);
        }
        Ok(refused)
    }

    async fn finish(&self, outcome: &Outcome) -> Result<(), ProviderError> {
        let statements: Vec<(Value, EndpointKey)> =
            outcome.releases.iter().map(|k| (self.delete(k), k.clone())).collect();
        self.execute(statements, |_, _, message| {
            Err(ProviderError::transient(STORE, format!("table {}: {message}", self.table)))
        })
        .await?;
        let mut ours = self.ours();
        for k in &outcome.releases {
            ours.remove(k);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_keys_as_upstream() {
        let key = parse_item_key("nginx.example.com#A#").unwrap();
        assert_eq!(
            (key.dns_name.as_str(), key.record_type, key.set_identifier.as_str()),
            ("nginx.example.com", RecordType::A, "")
        );
        assert_eq!(item_key(&key), "nginx.example.com#A#");
        let w = parse_item_key("w.example.org#CNAME#blue#x").unwrap();
        assert_eq!(w.set_identifier, "blue#x", "the set identifier keeps its own #");
        assert!(parse_item_key("nohash").unwrap_err().contains("name#type#set-identifier"));
        assert!(parse_item_key("a.example.org#BOGUS#").unwrap_err().contains("record type"));
    }

    #[test]
    fn bad_items_name_the_field() {
        let ok =
            json!({"k": {"S": "a.example.org#A#"}, "o": {"S": "me"}, "l": {"M": {"resource": {"S": "service/ns/a"}}}});
        let (_, owner, labels) = read_item(&ok).unwrap();
        assert_eq!((owner.as_str(), labels["resource"].as_str()), ("me", "service/ns/a"));
        let e = read_item(&json!({"k": {"N": "1"}})).unwrap_err();
        assert!(e.contains("field k"), "{e}");
        let e = read_item(&json!({"k": {"S": "a.example.org#A#"}, "l": {"S": "x"}})).unwrap_err();
        assert!(e.contains("k=\"a.example.org#A#\": field l: not a map"), "{e}");
        let e = read_item(&json!({"k": {"S": "a.example.org#A#"}, "l": {"M": {"resource": {"N": "1"}}}})).unwrap_err();
        assert!(e.contains("field l.resource"), "{e}");
    }

    #[test]
    fn endpoint_from_env_then_region() {
        let env = |k: &str| (k == "AWS_ENDPOINT_URL").then(|| "http://127.0.0.1:5000".to_owned());
        assert_eq!(endpoint(&env, "us-east-1").unwrap().as_str(), "http://127.0.0.1:5000/");
        let none = |_: &str| None;
        assert_eq!(endpoint(&none, "eu-west-1").unwrap().as_str(), "https://dynamodb.eu-west-1.amazonaws.com/");
    }
}
