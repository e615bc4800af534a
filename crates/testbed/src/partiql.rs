//! DynamoDB's PartiQL writes, which moto's parser cannot run, applied in front of it by the rules
//! proxy ([`crate::Route53Rules`]): moto 5.2's PartiQL parser fails (HTTP 500) on `?` parameters
//! in an `INSERT … VALUE` or a `DELETE … WHERE`, and would not refuse an `INSERT` of a key that
//! exists. The three statement forms the DynamoDB registries write (upstream's and exodns's) are
//! run as the item calls AWS documents as their equivalents, with AWS's outcomes:
//! - `INSERT INTO "t" VALUE {'k':?, 'o':?, 'l':?}`: `PutItem` if `k` is new, else `DuplicateItem`;
//! - `UPDATE "t" SET "l"=? WHERE "k"=?`: `UpdateItem` of an existing item, else
//!   `ConditionalCheckFailed`;
//! - `DELETE FROM "t" WHERE "k"=? AND "o"=?`: `DeleteItem` when `o` matches (nothing when the item
//!   is gone), else `ConditionalCheckFailed`.

use serde_json::{Value, json};

/// The answer to a `BatchExecuteStatement` body, or `None` for statements of other forms (then
/// the request goes to moto as it is).
pub async fn batch(http: &reqwest::Client, upstream: &str, body: &[u8]) -> Option<Value> {
    let req: Value = serde_json::from_slice(body).ok()?;
    let statements = req["Statements"].as_array()?;
    let calls: Vec<(&str, Value)> = statements.iter().map(translate).collect::<Option<_>>()?;
    let mut responses = Vec::new();
    for (action, call) in calls {
        let table = call["TableName"].clone();
        let resp = http
            .post(upstream)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDB_20120810.{action}"))
            .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDRULES/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
            .body(call.to_string())
            .send()
            .await
            .ok()?;
        let ok = resp.status().is_success();
        let v: Value = resp.json().await.unwrap_or_default();
        let code = v["__type"].as_str().unwrap_or("").rsplit('#').next().unwrap_or("").to_owned();
        responses.push(match (ok, code.as_str(), action) {
            (true, _, _) => json!({"TableName": table}),
            (false, "ConditionalCheckFailedException", "PutItem") => {
                json!({"Error": {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}})
            }
            (false, "ConditionalCheckFailedException", _) => {
                json!({"Error": {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}})
            }
            (false, code, _) => json!({"Error": {"Code": code, "Message": v["message"].clone()}}),
        });
    }
    Some(json!({"Responses": responses}))
}

/// One statement as an item call (`PutItem`, `UpdateItem`, `DeleteItem`).
fn translate(s: &Value) -> Option<(&'static str, Value)> {
    let text = s["Statement"].as_str()?;
    let p = s["Parameters"].as_array()?;
    let table = text.split('"').nth(1)?;
    let compact: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if compact == format!("INSERT INTO \"{table}\" VALUE {{'k':?, 'o':?, 'l':?}}") && p.len() == 3 {
        let item = json!({"k": p[0], "o": p[1], "l": p[2]});
        let call = json!({"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": "k"}});
        return Some(("PutItem", call));
    }
    if compact == format!("UPDATE \"{table}\" SET \"l\"=? WHERE \"k\"=?") && p.len() == 2 {
        let call = json!({"TableName": table, "Key": {"k": p[1]}, "UpdateExpression": "SET #l = :l",
            "ConditionExpression": "attribute_exists(#k)", "ExpressionAttributeNames": {"#k": "k", "#l": "l"},
            "ExpressionAttributeValues": {":l": p[0]}});
        return Some(("UpdateItem", call));
    }
    if compact == format!("DELETE FROM \"{table}\" WHERE \"k\"=? AND \"o\"=?") && p.len() == 2 {
        let call = json!({"TableName": table, "Key": {"k": p[0]},
            "ConditionExpression": "attribute_not_exists(#k) OR #o = :o", "ExpressionAttributeNames": {"#k": "k", "#o": "o"},
            "ExpressionAttributeValues": {":o": p[1]}});
        return Some(("DeleteItem", call));
    }
    None
}
