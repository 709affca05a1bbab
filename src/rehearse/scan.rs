//! Reading a rehearsal table back whole (a parallel, consistent Scan) and
//! comparing it item by item with what it should hold: the difference is
//! the proof that a step did exactly what was planned, nothing more.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::types::Select;
use futures::StreamExt;

use super::tables::sdk_error;
use crate::apply::value::item_from_sdk;
use crate::error::{Error, Result};
use crate::item::{Item, ddbjson};

/// The key of `item` as DynamoDB JSON (the attributes it has of `key`).
pub fn key_json(item: &Item, key: &[String]) -> String {
    let k: Item = key.iter().filter_map(|n| item.get(n).map(|v| (n.clone(), v.clone()))).collect();
    ddbjson::item_to_string(&k)
}

/// Segments to scan a table of about `items` items in. DynamoDB Local's
/// cost per page grows with the segment's size (a million items in 4
/// segments took minutes to count; 100,000 items count in 7.5 s in 4
/// segments and 2.1 s in 64), so segments are kept to about 10,000 items.
pub fn segments_for(items: u64) -> i32 {
    (items / 10_000).clamp(4, 1_000) as i32
}

/// Scan requests in flight at once.
const IN_FLIGHT: usize = 8;

/// Every item of `table`, read with `segments` consistent scan segments,
/// handed to `each` a page at a time as it arrives (never all held).
pub async fn scan_items(client: &Client, table: &str, segments: i32, each: &(dyn Fn(Vec<Item>) -> Result<()> + Sync)) -> Result<()> {
    in_segments(segments, |s| async move {
        for_each_page(client, table, s, segments, None, |page| {
            let items = page.items().iter().map(item_from_sdk).collect::<std::result::Result<Vec<_>, _>>();
            each(items.map_err(|e| Error::Invalid(format!("scanning table {table}: {e}")))?)
        })
        .await
    })
    .await?;
    Ok(())
}

/// The number of items in `table` (a consistent Scan in `segments` segments that returns counts only).
pub async fn count(client: &Client, table: &str, segments: i32) -> Result<u64> {
    let parts = in_segments(segments, |s| async move {
        let mut n = 0u64;
        for_each_page(client, table, s, segments, Some(Select::Count), |page| {
            n += page.count() as u64;
            Ok(())
        })
        .await?;
        Ok(n)
    })
    .await?;
    Ok(parts.into_iter().sum())
}

/// Runs `segment` for each of `segments` segments, [`IN_FLIGHT`] at once.
async fn in_segments<T, F: std::future::Future<Output = Result<T>>>(segments: i32, segment: impl Fn(i32) -> F) -> Result<Vec<T>> {
    let parts: Vec<Result<T>> = futures::stream::iter(0..segments).map(segment).buffer_unordered(IN_FLIGHT).collect().await;
    parts.into_iter().collect()
}

/// The start key of a Scan page (the last page's LastEvaluatedKey).
pub type StartKey = Option<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>;

/// One page of segment `segment.0` of `segment.1` of a consistent Scan, from `start`.
pub async fn scan_page(client: &Client, table: &str, segment: (i32, i32), select: Option<Select>, start: StartKey) -> Result<ScanOutput> {
    client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .set_select(select)
        .segment(segment.0)
        .total_segments(segment.1)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("scanning table {table}"), e))
}

/// Pages through one segment of a consistent Scan.
async fn for_each_page(
    client: &Client,
    table: &str,
    segment: i32,
    total: i32,
    select: Option<Select>,
    mut each: impl FnMut(&ScanOutput) -> Result<()>,
) -> Result<()> {
    let mut start = None;
    loop {
        let page = scan_page(client, table, (segment, total), select.clone(), start).await?;
        each(&page)?;
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(());
        }
    }
}
