//! Running a plan against DynamoDB: bounded concurrency, rate-limited,
//! retried with backoff, journaled, and never silent about what failed.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;

use super::expr::{Stamp, Write, same_but_stamps, undo_write, write_for};
use super::journal::{Entry, Journal, Outcome};
use super::rate::RateLimit;
use super::send::{Cause, Dynamo, Failure, Sent};
use crate::env::Clock;
use crate::error::{Error, Result};
use crate::item::{Item, ddbjson};
use crate::plan::file::{PlanFile, StoredOp};
use crate::plan::rows::OpKind;

/// How to apply.
#[derive(Clone)]
pub struct Settings {
    pub client: Arc<dyn Dynamo>,
    /// Time and jitter for the rate limit, retries and backoff.
    pub clock: Arc<dyn Clock>,
    /// Table (model) name to DynamoDB table name.
    pub tables: HashMap<String, String>,
    pub concurrency: usize,
    pub max_wcu_per_sec: Option<f64>,
    /// Total time one write may spend retrying.
    pub retry_for: Duration,
    pub dry_run: bool,
}

/// Counts shared with the progress display.
#[derive(Default, Debug)]
pub struct Counters {
    pub done: AtomicU64,
    pub conflicts: AtomicU64,
    pub failed: AtomicU64,
    pub retries: AtomicU64,
    /// Retries by [`Cause`], in `Cause::ALL` order.
    pub retries_by_cause: [AtomicU64; 5],
    pub consumed_milli: AtomicU64,
}

impl Counters {
    fn retried(&self, cause: Cause) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        let i = Cause::ALL.iter().position(|c| *c == cause).unwrap_or(0);
        self.retries_by_cause[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// The end of an apply.
#[derive(Debug, Serialize)]
pub struct Report {
    pub operations: u64,
    /// Finished in an earlier run (resume).
    pub already_journaled: u64,
    pub written: u64,
    /// Found already holding what this apply writes (an earlier attempt landed).
    pub already_applied: u64,
    pub conflicts: u64,
    pub failed: u64,
    pub retries: u64,
    /// Retries by cause: throttled, server_error, timeout, connection, unprocessed.
    pub retries_by_cause: std::collections::BTreeMap<&'static str, u64>,
    pub consumed_write_units: f64,
    pub seconds: f64,
    /// The first conflicts: key and the item as DynamoDB holds it now.
    pub conflict_samples: Vec<serde_json::Value>,
    pub failure_samples: Vec<serde_json::Value>,
    pub dry_run: bool,
}

/// One unit of work: an operation and its write.
pub struct Job {
    seq: u64,
    table: String,
    write: Write,
    units: f64,
}

/// How one apply writes each operation: its time stamp, the attributes the
/// transform reads (part of every condition) and each table's key.
struct Writes<'p> {
    stamp: Stamp,
    /// The time each written operation stamped (from a journal), by sequence
    /// number; others are expected with `stamp`.
    by_seq: HashMap<u64, i64>,
    reads: BTreeSet<String>,
    targets: HashMap<&'p str, (&'p [String], bool)>,
}

impl<'p> Writes<'p> {
    fn new(plan: &'p PlanFile, stamp: Stamp) -> Writes<'p> {
        let reads = crate::catalog::referenced_names(&plan.manifest.transform.sql).unwrap_or_default();
        let targets = plan.manifest.targets.iter().map(|t| (t.name.as_str(), (t.key.as_slice(), t.in_snapshot))).collect();
        Writes { stamp, by_seq: HashMap::new(), reads, targets }
    }

    fn keys(&self, table: &str) -> (&[String], bool) {
        self.targets.get(table).copied().unwrap_or((&[], true))
    }

    /// The write that applies `op`, with the time stamp its journal entry
    /// records (else the run's own, replaced when it is sent).
    fn write(&self, op: &StoredOp) -> Write {
        let (keys, in_snapshot) = self.keys(&op.table);
        match self.by_seq.get(&op.seq) {
            Some(ms) => write_for(op, keys, &self.reads, in_snapshot, &Stamp::at(*ms)),
            None => write_for(op, keys, &self.reads, in_snapshot, &self.stamp),
        }
    }
}

fn stamp_of(j: &Journal) -> Stamp {
    Stamp { now: j.header.stamp_now.clone(), now_ms: j.header.stamp_now_ms }
}

/// Operations per round: read from the plan, made into writes, run and
/// journaled before the next round is read, so memory stays bounded
/// whatever the plan's size (holding a 1M-operation plan's writes at once
/// took 6 GB). Debug builds, which the tests use, run small rounds so that
/// their plans of a few thousand operations take several.
const ROUND: usize = if cfg!(debug_assertions) { 500 } else { 20_000 };

/// Far-apart places in the plan each round draws from. The plan keeps the
/// export's order, and consecutive items of an export are often neighbours
/// in one partition of the table: a round of consecutive operations would
/// load one partition at a time, where drawing from slices spread over the
/// whole plan (and ordering the round by key hash, see [`interleave`])
/// spreads each round over the table.
const SLICES: usize = 8;

/// What one run writes: every operation of the plan (an apply), or the undo
/// of each operation an apply journal wrote (a rollback).
pub struct Work<'p> {
    plan: &'p PlanFile,
    writes: Writes<'p>,
    undo_of: Option<&'p Journal>,
}

impl<'p> Work<'p> {
    /// An apply stamped by its own `journal`.
    pub fn apply(plan: &'p PlanFile, journal: &Journal) -> Work<'p> {
        Work { plan, writes: Writes::new(plan, stamp_of(journal)), undo_of: None }
    }

    /// The rollback of what `applied` (an apply journal) wrote: each undo's
    /// condition is the item with the time stamp the apply wrote.
    pub fn rollback(plan: &'p PlanFile, applied: &'p Journal) -> Work<'p> {
        let mut writes = Writes::new(plan, stamp_of(applied));
        writes.by_seq = stamps_of(&applied.entries);
        Work { plan, writes, undo_of: Some(applied) }
    }

    fn includes(&self, seq: u64) -> bool {
        self.undo_of.is_none_or(|a| a.entries.get(&seq).is_some_and(|e| matches!(e.outcome, Outcome::Done | Outcome::Already)))
    }

    fn job(&self, op: &StoredOp, s: &Settings) -> Result<Job> {
        let write = match self.undo_of {
            None => self.writes.write(op),
            Some(_) => undo_write(op, self.writes.write(op).expected.as_ref(), self.writes.keys(&op.table).0),
        };
        Ok(Job { seq: op.seq, table: physical(s, &op.table)?, units: op.write_units as f64, write })
    }

    /// The report's first counts (operations, and those `journal` finished
    /// in an earlier run) and how many are left to write, from the plan's
    /// sequence numbers alone.
    pub fn count(&self, journal: &Journal, dry_run: bool) -> Result<(Report, u64)> {
        let mut report = Report::new(dry_run);
        for seq in self.plan.seqs()? {
            let seq = seq?;
            if self.includes(seq) {
                report.operations += 1;
                report.already_journaled += journal.is_finished(seq) as u64;
                // A conflict journaled by an earlier run is still a conflict:
                // a resumed run must not report the apply as clean.
                report.conflicts += journal.entries.get(&seq).is_some_and(|e| e.outcome == Outcome::Conflict) as u64;
            }
        }
        let left = report.operations - report.already_journaled;
        Ok((report, left))
    }
}

fn physical(s: &Settings, table: &str) -> Result<String> {
    s.tables.get(table).cloned().ok_or_else(|| Error::Invalid(format!("no DynamoDB table for {table}: give --table {table}=NAME")))
}

/// Runs `work` round by round (see [`ROUND`]), journaling each group of
/// finished writes before the next; `report` comes from [`Work::count`].
pub async fn execute(work: &Work<'_>, mut report: Report, journal: &mut Journal, s: &Settings, counters: Arc<Counters>) -> Result<Report> {
    let started = s.clock.now();
    let limit = RateLimit::new(s.max_wcu_per_sec, s.clock.clone()).map(Arc::new);
    let ctx = Ctx {
        client: s.client.as_ref(),
        clock: s.clock.as_ref(),
        limit: limit.as_deref(),
        retry_for: s.retry_for,
        counters: &counters,
        dry_run: s.dry_run,
    };
    let total = work.plan.op_count()?;
    let per_slice = total.div_ceil(SLICES).max(1);
    let mut slices =
        (0..total).step_by(per_slice).map(|at| work.plan.ops_in(at..(at + per_slice).min(total))).collect::<Result<Vec<_>>>()?;
    loop {
        let (mut round, mut read) = (Vec::with_capacity(ROUND), 0);
        for slice in &mut slices {
            for op in slice.by_ref().take(ROUND.div_ceil(SLICES)) {
                let op = op?;
                read += 1;
                if work.includes(op.seq) && !journal.is_finished(op.seq) {
                    round.push(work.job(&op, s)?);
                }
            }
        }
        if read == 0 {
            break;
        }
        run_round(&ctx, round, &mut report, journal, s.concurrency).await?;
    }
    report.retries = counters.retries.load(Ordering::Relaxed);
    report.retries_by_cause =
        Cause::ALL.iter().zip(&counters.retries_by_cause).map(|(c, n)| (c.name(), n.load(Ordering::Relaxed))).collect();
    report.consumed_write_units = counters.consumed_milli.load(Ordering::Relaxed) as f64 / 1000.0;
    report.seconds = s.clock.since(started).as_secs_f64();
    Ok(report)
}

/// One round: conditional writes one by one, then unconditional PUTs in
/// batches, `concurrency` requests at a time.
async fn run_round(ctx: &Ctx<'_>, mut jobs: Vec<Job>, report: &mut Report, journal: &mut Journal, concurrency: usize) -> Result<()> {
    interleave(&mut jobs);
    let (batched, single): (Vec<Job>, Vec<Job>) =
        jobs.into_iter().partition(|j| j.write.condition.is_none() && j.write.kind == OpKind::Put);
    let mut singles = futures::stream::iter(single).map(|j| ctx.run_one(j)).buffer_unordered(concurrency.max(1)).ready_chunks(64);
    while let Some(done) = singles.next().await {
        journal.record(report.absorb(done.into_iter().flatten().collect()))?;
    }
    let mut batches = futures::stream::iter(batch_groups(batched)).map(|g| ctx.run_batch(g)).buffer_unordered(concurrency.max(1));
    while let Some(done) = batches.next().await {
        journal.record(report.absorb(done))?;
    }
    Ok(())
}

impl Report {
    fn new(dry_run: bool) -> Report {
        Report {
            operations: 0,
            already_journaled: 0,
            written: 0,
            already_applied: 0,
            conflicts: 0,
            failed: 0,
            retries: 0,
            retries_by_cause: Default::default(),
            consumed_write_units: 0.0,
            seconds: 0.0,
            conflict_samples: Vec::new(),
            failure_samples: Vec::new(),
            dry_run,
        }
    }

    /// Counts finished jobs; returns their journal entries (none on a dry run).
    fn absorb(&mut self, done: Vec<(Job, Entry)>) -> Vec<Entry> {
        let mut out = Vec::with_capacity(done.len());
        for (job, e) in done {
            match e.outcome {
                Outcome::Done => self.written += 1,
                Outcome::Already => self.already_applied += 1,
                Outcome::Conflict => {
                    self.conflicts += 1;
                    if self.conflict_samples.len() < 20 {
                        self.conflict_samples
                            // The item as it is now, cut to 300 characters: the
                            // journal keeps it whole, a report must not flood.
                            .push(serde_json::json!({"table": job.table, "key": key_text(&job.write.key),
                                "current": e.current.as_deref().map(|c| crate::error::brief(c, 300))}));
                    }
                }
                Outcome::Failed => {
                    self.failed += 1;
                    if self.failure_samples.len() < 20 {
                        self.failure_samples.push(serde_json::json!({"table": job.table, "key": key_text(&job.write.key),
                                "error": e.error.as_deref().map(|c| crate::error::brief(c, 300))}));
                    }
                }
            }
            if !self.dry_run {
                out.push(e);
            }
        }
        out
    }
}

fn key_text(key: &Item) -> String {
    ddbjson::item_to_string(key)
}

/// Spreads writes over the table's partitions: the plan lists items in the
/// export's order, which is partition by partition, so consecutive writes
/// would all land on one partition. Sorting by a hash of the key mixes them
/// (DynamoDB places items by a hash of the partition key too).
fn interleave(jobs: &mut [Job]) {
    jobs.sort_by_cached_key(|j| crate::plan::targets::key_hash(&key_text(&j.write.key)) as u64);
}

/// Groups unconditional PUTs by table into calls of at most 25 items (and
/// well under 16 MB: items are at most 400 KB), no key twice in a call.
fn batch_groups(jobs: Vec<Job>) -> Vec<Vec<Job>> {
    let mut by_table: HashMap<String, Vec<Job>> = HashMap::new();
    for j in jobs {
        by_table.entry(j.table.clone()).or_default().push(j);
    }
    let mut groups = Vec::new();
    for (_, jobs) in by_table {
        let mut group: Vec<Job> = Vec::new();
        let mut keys = BTreeSet::new();
        for j in jobs {
            let k = key_text(&j.write.key);
            if group.len() == 25 || keys.contains(&k) {
                groups.push(std::mem::take(&mut group));
                keys.clear();
            }
            keys.insert(k);
            group.push(j);
        }
        if !group.is_empty() {
            groups.push(group);
        }
    }
    groups
}

struct Ctx<'a> {
    client: &'a dyn Dynamo,
    clock: &'a dyn Clock,
    limit: Option<&'a RateLimit>,
    retry_for: Duration,
    counters: &'a Counters,
    dry_run: bool,
}

impl Ctx<'_> {
    async fn backoff(&self, attempt: u32) {
        backoff(self.clock, attempt).await
    }

    fn entry(seq: u64, outcome: Outcome, current: Option<&Item>, error: Option<String>) -> Entry {
        Entry { seq, outcome, current: current.map(ddbjson::item_to_string), error, stamp_ms: None }
    }

    /// A finished write's entry, with the time its item carries.
    fn landed(seq: u64, outcome: Outcome, stamp: Option<&Stamp>) -> Entry {
        Entry { stamp_ms: stamp.map(|s| s.now_ms), ..Self::entry(seq, outcome, None, None) }
    }

    async fn run_one(&self, mut job: Job) -> Vec<(Job, Entry)> {
        if self.dry_run {
            let e = Self::entry(job.seq, Outcome::Done, None, None);
            return vec![(job, e)];
        }
        let started = self.clock.now();
        let mut attempt = 0;
        loop {
            if let Some(l) = self.limit {
                l.acquire(job.units).await;
            }
            // updatedAt and _lastChangedAt carry the time of this attempt.
            let stamp = (!job.write.stamps.is_empty()).then(Stamp::now);
            if let Some(s) = &stamp {
                job.write.restamp(s);
            }
            let result = self.client.write_one(&job.table, &job.write).await;
            let entry = match result {
                Ok(Sent::Written(units)) => {
                    self.settle(job.units, units);
                    self.counters.done.fetch_add(1, Ordering::Relaxed);
                    Self::landed(job.seq, Outcome::Done, stamp.as_ref())
                }
                Ok(Sent::ConditionFailed(current)) => {
                    if same_but_stamps(current.as_ref(), job.write.expected.as_ref(), &job.write.stamps) {
                        self.counters.done.fetch_add(1, Ordering::Relaxed);
                        let landed = current.as_ref().and_then(Stamp::of_item);
                        Self::landed(job.seq, Outcome::Already, landed.as_ref().filter(|_| stamp.is_some()))
                    } else {
                        self.counters.conflicts.fetch_add(1, Ordering::Relaxed);
                        Self::entry(job.seq, Outcome::Conflict, current.as_ref(), None)
                    }
                }
                Err(Failure::Retry { cause, message }) => {
                    if cause == Cause::Throttled
                        && let Some(l) = self.limit
                    {
                        l.throttled();
                    }
                    if self.clock.since(started) < self.retry_for {
                        self.counters.retried(cause);
                        self.backoff(attempt).await;
                        attempt += 1;
                        continue;
                    }
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                    Self::entry(job.seq, Outcome::Failed, None, Some(format!("gave up after {attempt} retries: {message}")))
                }
                Err(Failure::Final(message)) => {
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                    Self::entry(job.seq, Outcome::Failed, None, Some(message))
                }
            };
            return vec![(job, entry)];
        }
    }

    async fn run_batch(&self, mut jobs: Vec<Job>) -> Vec<(Job, Entry)> {
        if self.dry_run {
            return jobs.into_iter().map(|j| (Self::entry(j.seq, Outcome::Done, None, None), j)).map(|(e, j)| (j, e)).collect();
        }
        let table = jobs[0].table.clone();
        let started = self.clock.now();
        let mut pending: Vec<usize> = (0..jobs.len()).collect();
        let mut outcomes: Vec<Option<Entry>> = vec![None; jobs.len()];
        let mut attempt = 0;
        while !pending.is_empty() {
            let units: f64 = pending.iter().map(|i| jobs[*i].units).sum();
            if let Some(l) = self.limit {
                l.acquire(units).await;
            }
            let stamp = Stamp::now();
            for i in &pending {
                jobs[*i].write.restamp(&stamp);
            }
            let items: Vec<&Item> = pending.iter().map(|i| jobs[*i].write.item.as_ref().expect("a PUT has an item")).collect();
            let failure = match self.client.write_batch(&table, &items).await {
                Ok((used, left)) => {
                    self.settle(units, used);
                    let left: Vec<usize> = left.into_iter().map(|i| pending[i]).collect();
                    for i in pending.iter().filter(|i| !left.contains(i)) {
                        self.counters.done.fetch_add(1, Ordering::Relaxed);
                        let stamped = (!jobs[*i].write.stamps.is_empty()).then_some(&stamp);
                        outcomes[*i] = Some(Self::landed(jobs[*i].seq, Outcome::Done, stamped));
                    }
                    pending = left;
                    if pending.is_empty() {
                        break;
                    }
                    (Cause::Unprocessed, "DynamoDB left items unprocessed".to_string())
                }
                Err(Failure::Retry { cause, message }) => {
                    if cause == Cause::Throttled
                        && let Some(l) = self.limit
                    {
                        l.throttled();
                    }
                    (cause, message)
                }
                Err(Failure::Final(message)) => {
                    for i in pending.drain(..) {
                        self.counters.failed.fetch_add(1, Ordering::Relaxed);
                        outcomes[i] = Some(Self::entry(jobs[i].seq, Outcome::Failed, None, Some(message.clone())));
                    }
                    break;
                }
            };
            if self.clock.since(started) >= self.retry_for {
                for i in pending.drain(..) {
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                    outcomes[i] = Some(Self::entry(
                        jobs[i].seq,
                        Outcome::Failed,
                        None,
                        Some(format!("gave up after {attempt} retries: {}", failure.1)),
                    ));
                }
                break;
            }
            self.counters.retried(failure.0);
            self.backoff(attempt).await;
            attempt += 1;
        }
        jobs.into_iter().zip(outcomes).map(|(j, e)| (j, e.expect("every job ends with an outcome"))).collect()
    }

    fn settle(&self, estimated: f64, consumed: f64) {
        self.counters.consumed_milli.fetch_add((consumed * 1000.0) as u64, Ordering::Relaxed);
        if let Some(l) = self.limit
            && consumed > 0.0
        {
            l.settle(estimated, consumed);
        }
    }
}

/// Exponential backoff with full jitter, 50 ms doubling to 5 s.
pub async fn backoff(clock: &dyn Clock, attempt: u32) {
    let cap = (50u64 << attempt.min(7)).min(5000);
    clock.sleep(Duration::from_millis(clock.random(cap))).await;
}

/// What `verify` found: operations whose items do not hold the planned state.
#[derive(Debug, Serialize)]
pub struct Mismatch {
    pub table: String,
    pub key: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

/// The time stamp each finished operation of a journal left on its item.
pub fn stamps_of(entries: &HashMap<u64, Entry>) -> HashMap<u64, i64> {
    entries.values().filter(|e| e.outcome.is_final()).filter_map(|e| Some((e.seq, e.stamp_ms?))).collect()
}

/// Each operation with the item it is expected to leave, as an apply whose
/// journal holds `entries` (and header stamp `stamp`, for entries without
/// one) wrote it, in plan order and streamed.
pub fn expected_ops<'p>(
    plan: &'p PlanFile,
    stamp: &Stamp,
    entries: &HashMap<u64, Entry>,
) -> Result<impl Iterator<Item = Result<(StoredOp, Option<Item>)>> + 'p> {
    let mut writes = Writes::new(plan, stamp.clone());
    writes.by_seq = stamps_of(entries);
    Ok(plan.ops()?.map(move |op| {
        let op = op?;
        let expected = writes.write(&op).expected;
        Ok((op, expected))
    }))
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
