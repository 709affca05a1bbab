//! Step 1's load: the snapshot's items written into the rehearsal's fresh
//! tables with BatchWriteItem at full speed (no conditions: the tables
//! are empty and the rehearsal's own), unprocessed items and throttled
//! calls retried until `retry_for` runs out, which fails the load.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use futures::StreamExt;
use serde::Serialize;

use crate::apply::run::backoff;
use crate::apply::send::{Failure, send_batch};
use crate::convert::BatchDecoder;
use crate::error::{Error, Result};
use crate::item::Item;
use crate::load::LoadedTable;

/// What loading one table took.
#[derive(Debug, Clone, Serialize)]
pub struct Loaded {
    pub table: String,
    pub items: u64,
    pub calls: u64,
    pub retries: u64,
    pub consumed_write_units: f64,
    pub seconds: f64,
}

/// Writes every item of `t` into `physical`, `concurrency` calls at once.
pub async fn load(client: &Client, t: &LoadedTable, physical: &str, concurrency: usize, retry_for: Duration) -> Result<Loaded> {
    let started = Instant::now();
    let groups = t.batches.iter().flat_map(|b| {
        let items: Result<Vec<Item>> = BatchDecoder::new(b).and_then(|d| (0..b.num_rows()).map(|r| d.item(r)).collect());
        let groups: Vec<Result<Vec<Item>>> = match items {
            Ok(items) => items.chunks(25).map(|c| Ok(c.to_vec())).collect(),
            Err(e) => vec![Err(e)],
        };
        groups
    });
    let mut calls = futures::stream::iter(groups)
        .map(|g| async move { write_group(client, physical, g?, retry_for).await })
        .buffer_unordered(concurrency.max(1));
    let mut out = Loaded { table: physical.to_string(), items: 0, calls: 0, retries: 0, consumed_write_units: 0.0, seconds: 0.0 };
    while let Some(done) = calls.next().await {
        let (items, calls, retries, units) = done?;
        out.items += items;
        out.calls += calls;
        out.retries += retries;
        out.consumed_write_units += units;
    }
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

/// One group of at most 25 items, sent until all are processed: (items,
/// calls, retries, consumed units).
async fn write_group(client: &Client, table: &str, group: Vec<Item>, retry_for: Duration) -> Result<(u64, u64, u64, f64)> {
    let started = Instant::now();
    let mut pending: Vec<&Item> = group.iter().collect();
    let (mut calls, mut retries, mut units) = (0u64, 0u64, 0.0);
    let mut attempt = 0;
    while !pending.is_empty() {
        calls += 1;
        let why = match send_batch(client, table, &pending).await {
            Ok((used, left)) => {
                units += used;
                pending = left.into_iter().map(|i| pending[i]).collect();
                if pending.is_empty() {
                    break;
                }
                "DynamoDB left items unprocessed".to_string()
            }
            Err(Failure::Retry { message, .. }) => message,
            Err(Failure::Final(message)) => return Err(Error::Invalid(format!("loading table {table}: {message}"))),
        };
        if started.elapsed() >= retry_for {
            return Err(Error::Invalid(format!(
                "loading table {table}: {} items still not written after {attempt} retries: {why}",
                pending.len()
            )));
        }
        retries += 1;
        backoff(attempt).await;
        attempt += 1;
    }
    Ok((group.len() as u64, calls, retries, units))
}
