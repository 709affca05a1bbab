//! `verify`: read back every item a plan touches (BatchGetItem, strongly
//! consistent) and report those that do not hold the planned state.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::expr::Stamp;
use super::run::{Mismatch, expected_items};
use super::value::{item_from_sdk, item_to_sdk};
use crate::error::{Error, Result};
use crate::item::{Item, ddbjson, same_item};
use crate::plan::file::PlanFile;

/// Items that differ from what the plan (applied with `stamp`) leaves.
pub async fn verify(client: &Client, plan: &PlanFile, stamp: &Stamp, tables: &HashMap<String, String>) -> Result<(u64, Vec<Mismatch>)> {
    let mut by_table: HashMap<String, Vec<(Item, Option<Item>)>> = HashMap::new();
    let mut checked = 0;
    for (op, expected) in expected_items(plan, stamp)? {
        let physical = tables.get(&op.table).cloned().ok_or_else(|| Error::Invalid(format!("no DynamoDB table for {}", op.table)))?;
        by_table.entry(physical).or_default().push((op.key, expected));
        checked += 1;
    }
    let mut mismatches = Vec::new();
    for (table, items) in by_table {
        for chunk in items.chunks(100) {
            let found = get_all(client, &table, chunk.iter().map(|(k, _)| k)).await?;
            for (key, expected) in chunk {
                let actual = found.get(&ddbjson::item_to_string(key));
                let same = match (expected, actual) {
                    (None, None) => true,
                    (Some(e), Some(a)) => same_item(e, a),
                    _ => false,
                };
                if !same {
                    mismatches.push(Mismatch {
                        table: table.clone(),
                        key: ddbjson::item_to_string(key),
                        expected: expected.as_ref().map(ddbjson::item_to_string),
                        actual: actual.map(ddbjson::item_to_string),
                    });
                }
            }
        }
    }
    Ok((checked, mismatches))
}

/// The items with these keys, by key JSON; unprocessed keys are asked again.
async fn get_all<'a>(client: &Client, table: &str, keys: impl Iterator<Item = &'a Item>) -> Result<HashMap<String, Item>> {
    let keys: Vec<&Item> = keys.collect();
    let key_names: Vec<String> = keys.first().map(|k| k.keys().cloned().collect()).unwrap_or_default();
    let mut pending: Vec<_> = keys.iter().map(|k| item_to_sdk(k)).collect();
    let mut out = HashMap::new();
    let mut attempt = 0u32;
    while !pending.is_empty() {
        let req = KeysAndAttributes::builder()
            .set_keys(Some(std::mem::take(&mut pending)))
            .consistent_read(true)
            .build()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let resp = client
            .batch_get_item()
            .request_items(table, req)
            .send()
            .await
            .map_err(|e| Error::Invalid(format!("BatchGetItem on {table}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e))))?;
        for m in resp.responses().and_then(|r| r.get(table)).into_iter().flatten() {
            let item = item_from_sdk(m).map_err(Error::Invalid)?;
            let key: Item = key_names.iter().filter_map(|k| item.get(k).map(|v| (k.clone(), v.clone()))).collect();
            out.insert(ddbjson::item_to_string(&key), item);
        }
        if let Some(left) = resp.unprocessed_keys().and_then(|u| u.get(table)) {
            pending = left.keys().to_vec();
            attempt += 1;
            tokio::time::sleep(std::time::Duration::from_millis((50u64 << attempt.min(6)).min(3000))).await;
        }
    }
    Ok(out)
}
