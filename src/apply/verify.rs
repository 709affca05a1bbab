//! `verify`: read back every item a plan touches (BatchGetItem, strongly
//! consistent) and report those that do not hold the planned state.

use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, TryStreamExt};

use super::expr::Stamp;
use super::run::{Mismatch, expected_ops};
use super::send::Dynamo;
use crate::error::{Error, Result};
use crate::item::{Item, ddbjson, same_maybe_item};
use crate::plan::file::PlanFile;

/// Operations read back per round, so memory stays bounded whatever the
/// plan's size; a round's keys go in calls of 100, [`IN_FLIGHT`] at a time.
/// Debug builds (the tests) run small rounds, so that their plans take several.
const ROUND: usize = if cfg!(debug_assertions) { 300 } else { 10_000 };
const IN_FLIGHT: usize = 8;

/// Each operation's key and the item it should leave, by DynamoDB table.
type Round = BTreeMap<String, Vec<(Item, Option<Item>)>>;

/// Items that differ from what the plan leaves, as the apply whose journal
/// holds `entries` stamped them (`stamp` for entries without a time).
pub async fn verify(
    client: &dyn Dynamo,
    plan: &PlanFile,
    (stamp, entries): (&Stamp, &HashMap<u64, crate::apply::journal::Entry>),
    tables: &HashMap<String, String>,
) -> Result<(u64, Vec<Mismatch>)> {
    let (mut round, mut in_round, mut checked) = (Round::new(), 0, 0u64);
    let mut mismatches = Vec::new();
    for expected in expected_ops(plan, stamp, entries)? {
        let (op, expected) = expected?;
        let physical = tables.get(&op.table).cloned().ok_or_else(|| Error::Invalid(format!("no DynamoDB table for {}", op.table)))?;
        round.entry(physical).or_default().push((op.key, expected));
        checked += 1;
        in_round += 1;
        if in_round == ROUND {
            mismatches.extend(check_round(client, std::mem::take(&mut round)).await?);
            in_round = 0;
        }
    }
    mismatches.extend(check_round(client, round).await?);
    Ok((checked, mismatches))
}

async fn check_round(client: &dyn Dynamo, round: Round) -> Result<Vec<Mismatch>> {
    let calls = round.iter().flat_map(|(table, items)| items.chunks(100).map(move |chunk| (table.as_str(), chunk)));
    let found: Vec<Vec<Mismatch>> =
        futures::stream::iter(calls).map(|(table, chunk)| check_chunk(client, table, chunk)).buffered(IN_FLIGHT).try_collect().await?;
    Ok(found.into_iter().flatten().collect())
}

/// Reads back up to 100 items and lists those not as expected.
async fn check_chunk(client: &dyn Dynamo, table: &str, chunk: &[(Item, Option<Item>)]) -> Result<Vec<Mismatch>> {
    let found = get_all(client, table, chunk.iter().map(|(k, _)| k)).await?;
    let mut out = Vec::new();
    for (key, expected) in chunk {
        let actual = found.get(&ddbjson::item_to_string(key));
        if !same_maybe_item(expected.as_ref(), actual) {
            out.push(Mismatch {
                table: table.to_string(),
                key: ddbjson::item_to_string(key),
                expected: expected.as_ref().map(|i| crate::error::brief(&ddbjson::item_to_string(i), 300)),
                actual: actual.map(|i| crate::error::brief(&ddbjson::item_to_string(i), 300)),
            });
        }
    }
    Ok(out)
}

/// The items with these keys, by key JSON; unprocessed keys are asked again.
async fn get_all<'a>(client: &dyn Dynamo, table: &str, keys: impl Iterator<Item = &'a Item>) -> Result<HashMap<String, Item>> {
    let mut pending: Vec<Item> = keys.cloned().collect();
    let key_names: Vec<String> = pending.first().map(|k| k.keys().cloned().collect()).unwrap_or_default();
    let mut out = HashMap::new();
    let mut attempt = 0u32;
    while !pending.is_empty() {
        let (found, left) = client.get_batch(table, std::mem::take(&mut pending)).await.map_err(Error::Invalid)?;
        for item in found {
            let key: Item = key_names.iter().filter_map(|k| item.get(k).map(|v| (k.clone(), v.clone()))).collect();
            out.insert(ddbjson::item_to_string(&key), item);
        }
        if !left.is_empty() {
            pending = left;
            attempt += 1;
            tokio::time::sleep(std::time::Duration::from_millis((50u64 << attempt.min(6)).min(3000))).await;
        }
    }
    Ok(out)
}
