//! Step 1's load: the snapshot's items written into the rehearsal's fresh
//! tables by the same writer as `ddbsnap load` ([`crate::seed::write`]):
//! BatchWriteItem at full speed (no rate limit, no journal: the tables are
//! empty and the rehearsal's own), unprocessed items and throttled calls
//! retried until `retry_for` runs out, which fails the load.

use std::time::Duration;

use crate::apply::send::Dynamo;
use crate::env::Clock;
use serde::Serialize;

use crate::convert::BatchDecoder;
use crate::error::Result;
use crate::load::LoadedTable;
use crate::seed::write::{GROUP, Group, Settings, write_groups};

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
/// Items are decoded one Arrow batch at a time, as they are sent.
pub async fn load(
    (client, clock): (&dyn Dynamo, std::sync::Arc<dyn Clock>),
    t: &LoadedTable,
    physical: &str,
    concurrency: usize,
    retry_for: Duration,
) -> Result<Loaded> {
    let mut seq = 0u64;
    let groups = t.batches.iter().flat_map(move |b| {
        let items: Result<Vec<(u64, crate::item::Item)>> = BatchDecoder::new(b).and_then(|d| {
            (0..b.num_rows())
                .map(|r| {
                    seq += 1;
                    d.item(r).map(|it| (seq, it))
                })
                .collect()
        });
        let groups: Vec<Result<Group>> = match items {
            Ok(items) => items.chunks(GROUP).map(|c| Ok(c.to_vec())).collect(),
            Err(e) => vec![Err(e)],
        };
        groups
    });
    let s = Settings { concurrency, retry_for, rate: None, progress: None, clock };
    let w = write_groups(client, physical, groups, &s, None).await?;
    Ok(Loaded {
        table: w.table,
        items: w.items,
        calls: w.calls,
        retries: w.retries,
        consumed_write_units: w.consumed_write_units,
        seconds: w.seconds,
    })
}
