//! Writing items into a table with BatchWriteItem, as `apply` writes: at
//! most 25 items a call, `concurrency` calls in flight, the write-rate limit
//! charged before each call, unprocessed items and retryable failures sent
//! again with backoff until `retry_for` runs out (then the load fails, never
//! silently short). With a journal, each acknowledged group is recorded and
//! synced before the next is counted, so `load --resume` skips it.
//!
//! The same code loads a rehearsal's tables (no journal, no rate limit).

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;

use crate::apply::journal::{Entry, Journal, Outcome};
use crate::apply::rate::RateLimit;
use crate::apply::run::backoff;
use crate::apply::send::{Cause, Dynamo, Failure};
use crate::env::Clock;
use crate::error::{Error, Result};
use crate::item::Item;
use crate::item::size::item_size;

/// Items a BatchWriteItem call takes at most.
pub const GROUP: usize = 25;

/// How to write.
#[derive(Clone)]
pub struct Settings {
    pub concurrency: usize,
    /// Time and jitter for the rate limit, retries and backoff.
    pub clock: Arc<dyn Clock>,
    pub retry_for: Duration,
    pub rate: Option<Arc<RateLimit>>,
    /// Counts items written, for a progress bar.
    pub progress: Option<Arc<AtomicU64>>,
}

/// What writing one table took.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Written {
    pub table: String,
    /// Items written by this run.
    pub items: u64,
    /// Items a journal recorded as written by an earlier run (skipped).
    pub already: u64,
    pub calls: u64,
    pub retries: u64,
    pub throttled: u64,
    pub consumed_write_units: f64,
    pub seconds: f64,
}

/// A group of items with their sequence numbers (the journal's keys).
pub type Group = Vec<(u64, Item)>;

/// Writes every group into `table`. With `journal`, groups whose items it
/// records as done are skipped, and each group written is recorded.
pub async fn write_groups(
    client: &dyn Dynamo,
    table: &str,
    groups: impl Iterator<Item = Result<Group>>,
    s: &Settings,
    mut journal: Option<&mut Journal>,
) -> Result<Written> {
    let started = s.clock.now();
    let mut out = Written { table: table.to_string(), ..Written::default() };
    // Groups are decoded as they are sent, never all held at once.
    let finished: HashSet<u64> =
        journal.as_ref().map(|j| j.entries.values().filter(|e| e.outcome.is_final()).map(|e| e.seq).collect()).unwrap_or_default();
    let already = Cell::new(0u64);
    let todo = groups.filter_map(|g| match g {
        Err(e) => Some(Err(e)),
        Ok(g) => {
            let before = g.len();
            let left: Group = g.into_iter().filter(|(seq, _)| !finished.contains(seq)).collect();
            already.set(already.get() + (before - left.len()) as u64);
            (!left.is_empty()).then_some(Ok(left))
        }
    });
    let mut calls =
        futures::stream::iter(todo).map(|g| async move { write_group(client, table, g?, s).await }).buffer_unordered(s.concurrency.max(1));
    while let Some(done) = calls.next().await {
        let (seqs, stats) = done?;
        if let Some(j) = journal.as_deref_mut() {
            j.record(seqs.iter().map(|&seq| Entry { seq, outcome: Outcome::Done, current: None, error: None, stamp_ms: None }).collect())?;
        }
        if let Some(p) = &s.progress {
            p.fetch_add(seqs.len() as u64, Ordering::Relaxed);
        }
        out.items += seqs.len() as u64;
        out.calls += stats.calls;
        out.retries += stats.retries;
        out.throttled += stats.throttled;
        out.consumed_write_units += stats.units;
    }
    drop(calls);
    out.already = already.get();
    out.seconds = s.clock.since(started).as_secs_f64();
    Ok(out)
}

#[derive(Default)]
struct GroupStats {
    calls: u64,
    retries: u64,
    throttled: u64,
    units: f64,
}

/// Write units an item costs: one per started KB.
fn write_units(item: &Item) -> f64 {
    item_size(item).div_ceil(1024).max(1) as f64
}

/// One group, sent until every item is processed; returns its sequence numbers.
async fn write_group(client: &dyn Dynamo, table: &str, group: Group, s: &Settings) -> Result<(Vec<u64>, GroupStats)> {
    let started = s.clock.now();
    let mut pending: Vec<&(u64, Item)> = group.iter().collect();
    let mut st = GroupStats::default();
    let mut attempt = 0;
    while !pending.is_empty() {
        let estimate: f64 = pending.iter().map(|(_, it)| write_units(it)).sum();
        if let Some(r) = &s.rate {
            r.acquire(estimate).await;
        }
        st.calls += 1;
        let items: Vec<&Item> = pending.iter().map(|(_, it)| it).collect();
        let why = match client.write_batch(table, &items).await {
            Ok((used, left)) => {
                st.units += used;
                if let Some(r) = &s.rate {
                    r.settle(estimate, used);
                }
                pending = left.into_iter().map(|i| pending[i]).collect();
                if pending.is_empty() {
                    break;
                }
                "DynamoDB left items unprocessed".to_string()
            }
            Err(Failure::Retry { cause, message }) => {
                if cause == Cause::Throttled {
                    st.throttled += 1;
                    if let Some(r) = &s.rate {
                        r.throttled();
                    }
                }
                message
            }
            Err(Failure::Final(message)) => {
                let first = pending.first().map(|(seq, _)| *seq).unwrap_or_default();
                return Err(Error::Invalid(format!("writing table {table} (items from #{first}): {message}")));
            }
        };
        if s.clock.since(started) >= s.retry_for {
            return Err(Error::Invalid(format!(
                "writing table {table}: {} items still not written after {attempt} retries over {} s: {why}",
                pending.len(),
                s.retry_for.as_secs()
            )));
        }
        st.retries += 1;
        backoff(s.clock.as_ref(), attempt).await;
        attempt += 1;
    }
    Ok((group.iter().map(|(seq, _)| *seq).collect(), st))
}
