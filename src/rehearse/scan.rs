//! Reading a rehearsal table back whole (a parallel, consistent Scan) and
//! comparing it item by item with what it should hold: the difference is
//! the proof that a step did exactly what was planned, nothing more.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::types::Select;
use futures::StreamExt;
use serde::Serialize;

use super::tables::sdk_error;
use crate::apply::value::item_from_sdk;
use crate::error::{Error, Result};
use crate::item::{Item, ddbjson, same_item};

/// Items by their key's DynamoDB JSON.
pub type Keyed = HashMap<String, Item>;

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

/// Every item of `table`, read with `segments` consistent scan segments.
pub async fn scan(client: &Client, table: &str, segments: i32) -> Result<Vec<Item>> {
    let parts = in_segments(segments, |s| async move {
        let mut out = Vec::new();
        for_each_page(client, table, s, segments, None, |page| {
            for it in page.items() {
                out.push(item_from_sdk(it).map_err(|e| Error::Invalid(format!("scanning table {table}: {e}")))?);
            }
            Ok(())
        })
        .await?;
        Ok(out)
    })
    .await?;
    Ok(parts.into_iter().flatten().collect())
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

/// How a table compares with what it should hold.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Comparison {
    pub table: String,
    pub expected: u64,
    pub found: u64,
    pub equal: u64,
    /// Items present on both sides that differ.
    pub differing: u64,
    /// Expected items the table does not have.
    pub missing: u64,
    /// Items the table has that were not expected.
    pub unexpected: u64,
    /// The first differences: key, expected and found item (DynamoDB JSON).
    pub samples: Vec<Difference>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Difference {
    pub key: String,
    pub expected: Option<String>,
    pub found: Option<String>,
}

impl Comparison {
    pub fn matches(&self) -> bool {
        self.differing == 0 && self.missing == 0 && self.unexpected == 0
    }
}

/// Compares the items `found` in `table` with `expected`, item by item.
pub fn compare(table: &str, mut expected: Keyed, found: &[Item], key: &[String]) -> Comparison {
    let mut c = Comparison {
        table: table.to_string(),
        expected: expected.len() as u64,
        found: found.len() as u64,
        equal: 0,
        differing: 0,
        missing: 0,
        unexpected: 0,
        samples: Vec::new(),
    };
    let sample = |c: &mut Comparison, key: String, e: Option<&Item>, f: Option<&Item>| {
        if c.samples.len() < 10 {
            c.samples.push(Difference { key, expected: e.map(ddbjson::item_to_string), found: f.map(ddbjson::item_to_string) });
        }
    };
    for item in found {
        let k = key_json(item, key);
        match expected.remove(&k) {
            Some(e) if same_item(&e, item) => c.equal += 1,
            Some(e) => {
                c.differing += 1;
                sample(&mut c, k, Some(&e), Some(item));
            }
            None => {
                c.unexpected += 1;
                sample(&mut c, k, None, Some(item));
            }
        }
    }
    let mut left: Vec<(String, Item)> = expected.into_iter().collect();
    left.sort_by(|a, b| a.0.cmp(&b.0));
    c.missing = left.len() as u64;
    for (k, e) in left {
        sample(&mut c, k, Some(&e), None);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: &str) -> Item {
        ddbjson::item_from_str(json).unwrap()
    }

    #[test]
    fn compare_counts_equal_differing_missing_and_unexpected() {
        let key = vec!["id".to_string()];
        let a = item(r#"{"id":{"S":"a"},"n":{"N":"1"}}"#);
        let b = item(r#"{"id":{"S":"b"},"n":{"N":"2"}}"#);
        let c = item(r#"{"id":{"S":"c"},"s":{"SS":["x","y"]}}"#);
        let expected: Keyed = [&a, &b, &c].iter().map(|i| (key_json(i, &key), (*i).clone())).collect();
        let b2 = item(r#"{"id":{"S":"b"},"n":{"N":"2.0"},"extra":{"NULL":true}}"#);
        let d = item(r#"{"id":{"S":"d"}}"#);
        let c2 = item(r#"{"id":{"S":"c"},"s":{"SS":["y","x"]}}"#);
        let r = compare("T", expected, &[a.clone(), b2, d, c2], &key);
        assert_eq!((r.expected, r.found, r.equal, r.differing, r.missing, r.unexpected), (3, 4, 2, 1, 0, 1));
        assert!(!r.matches());
        assert_eq!(r.samples.len(), 2);
        let only_a: Keyed = [(key_json(&a, &key), a.clone())].into_iter().collect();
        let r = compare("T", only_a, &[], &key);
        assert_eq!((r.missing, r.samples[0].found.clone()), (1, None));
    }
}
