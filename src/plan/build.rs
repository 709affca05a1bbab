//! Turning a transform's result rows into planned operations, streamed into
//! the plan file: each row is validated, matched with its item in the
//! snapshot (the before-image), and dropped when it changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;

use futures::StreamExt;

use super::After;
use super::after::{AfterParts, push_after};
use super::file::{OpColumns, PlanWriter};
use super::manifest::{AttrChange, AttrDiff, DiffSample, Skipped, Summary};
use super::op::{Planned, plan_row, transition};
use super::rows::{BatchRows, OpKind, RowOp, RowReader};
use super::targets::{Position, Target, key_hash};
use crate::catalog::Catalog;
use crate::convert::raw::FxHasher;
use crate::env::Pool;
use crate::error::{Error, Result};
use crate::item::ddbjson::write_plain;
use crate::item::{AttrValue, DdbType, Item};

/// Errors listed before the rest are only counted.
const MAX_LISTED_ERRORS: usize = 25;
const MAX_SKIPPED_LISTED: usize = 100;

/// What planning produced besides the operations file.
#[derive(Default)]
pub struct Outcome {
    pub summary: Summary,
    pub samples: Vec<DiffSample>,
    pub skipped: Vec<Skipped>,
    pub write_units: u64,
}

pub struct Planner<'a> {
    targets: HashMap<String, Target<'a>>,
    /// One per worker of the pool: lane `i` takes the `i`th share of each batch.
    lanes: Vec<Lane>,
    pool: Pool,
    out: Outcome,
    errors: Vec<String>,
    error_count: u64,
    samples_per_table: usize,
}

impl<'a> Planner<'a> {
    pub fn new(targets: Vec<Target<'a>>, samples_per_table: usize, pool: &Pool) -> Planner<'a> {
        let targets = targets.into_iter().map(|t| (t.info.name.clone(), t)).collect();
        let lanes = (0..pool.threads()).map(|_| Lane::default()).collect();
        let (out, errors, pool) = (Outcome::default(), Vec::new(), pool.clone());
        Planner { targets, lanes, pool, out, errors, error_count: 0, samples_per_table }
    }

    /// Runs the transform and writes every operation to `writer`. Fails,
    /// listing the offending rows, when any row is invalid.
    ///
    /// Each batch of the result goes through four steps: the pool's workers
    /// read the rows, hash their keys and locate them in the snapshot; then,
    /// in order, each key is checked for a second operation on its item;
    /// then the workers decode the before-images, plan the operations and
    /// add them to their lane's share of the plan file's columns, counts
    /// and after-state; last, in order, errors and samples are recorded and
    /// the lanes written, one after another.
    pub async fn run(&mut self, catalog: &Catalog, sql: &str, default_table: Option<String>, writer: &mut PlanWriter) -> Result<()> {
        let (mut stream, origins) = catalog.stream_read_only(sql, "the transform").await?;
        let reader = RowReader::new(&stream.schema(), &origins, default_table)?;
        let mut number = 0u64;
        let mut times = [std::time::Duration::ZERO; 5];
        let mut t = std::time::Instant::now();
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            times[0] += t.elapsed();
            t = std::time::Instant::now();
            let rows = reader.batch(&batch).map_err(Error::Invalid)?;
            let mut prepared = Vec::with_capacity(batch.num_rows());
            let read = read_parallel(&rows, &self.targets, batch.num_rows(), number + 1, &self.pool);
            times[4] += t.elapsed();
            for read in read {
                number += 1;
                match read {
                    Ok((op, key)) => {
                        if let Some(p) = self.prepare(op, key)? {
                            prepared.push(p);
                        }
                    }
                    Err(e) => self.error(number, None, &e),
                }
            }
            times[1] += t.elapsed();
            t = std::time::Instant::now();
            let planned = plan_parallel(&self.targets, prepared, &mut self.lanes, &self.pool)?;
            times[2] += t.elapsed();
            t = std::time::Instant::now();
            for (p, end) in planned {
                self.finish_row(p, end);
            }
            for lane in &mut self.lanes {
                writer.append(&mut lane.ops)?;
            }
            times[3] += t.elapsed();
            t = std::time::Instant::now();
        }
        let secs = times.map(|d| d.as_secs_f64());
        tracing::debug!(
            query = secs[0],
            read_rows = secs[4],
            prepare_rows = secs[1] - secs[4],
            plan_rows = secs[2],
            write_rows = secs[3],
            "planning time by step"
        );
        self.out.summary.rows = number;
        if self.error_count > 0 {
            let more = self.error_count.saturating_sub(self.errors.len() as u64);
            let tail = if more > 0 { format!("\n  ... and {more} more") } else { String::new() };
            return Err(Error::Invalid(format!(
                "the transform's result has {} invalid row{}; no plan was written:\n  {}{tail}",
                self.error_count,
                if self.error_count == 1 { "" } else { "s" },
                self.errors.join("\n  ")
            )));
        }
        Ok(())
    }

    pub fn into_parts(mut self) -> (Outcome, HashMap<String, Target<'a>>, Vec<AfterParts>) {
        let mut acc: HashMap<String, TableAcc> = HashMap::new();
        let mut after = Vec::with_capacity(self.lanes.len());
        for lane in self.lanes {
            self.out.write_units += lane.write_units;
            for (table, t) in lane.acc {
                acc.entry(table).or_default().merge(t);
            }
            after.push(lane.after);
        }
        finish_summary(&mut self.out.summary, acc);
        (self.out, self.targets, after)
    }

    /// Records an invalid row; `at` is its table and, when known, its key.
    fn error(&mut self, row: u64, at: Option<(&str, Option<&Item>)>, cause: &str) {
        self.error_count += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            let place = match at {
                Some((t, Some(key))) => format!(" ({t} {})", plain_json(key)),
                Some((t, None)) => format!(" ({t})"),
                None => String::new(),
            };
            self.errors.push(format!("row {row}{place}: {cause}"));
        }
    }

    /// Step 1: the row's target, key and place in the snapshot; None when
    /// the row is skipped or invalid (recorded). `key` is the row's key
    /// (read on the pool), None when its table is unknown.
    fn prepare(&mut self, r: RowOp, key: Option<KeyRead>) -> Result<Option<Prepared>> {
        let (Some(target), Some(key)) = (self.targets.get_mut(&r.table), key) else {
            let mut known: Vec<&str> = self.targets.keys().map(String::as_str).collect();
            known.sort();
            let msg = format!("unknown target table {:?} (known: {}; declare others with --key TABLE=ATTR)", r.table, known.join(", "));
            self.error(r.row, None, &msg);
            return Ok(None);
        };
        let Keyed { key, json: key_json, hash, pos } = match key {
            Ok(k) => k,
            Err(e) => {
                self.error(r.row, Some((&r.table, None)), &e);
                return Ok(None);
            }
        };
        if let Ok(Some(p)) = &pos {
            target.note_returned(*p);
        }
        if let Some(reason) = r.skip {
            self.out.summary.skipped += 1;
            self.out.summary.tables.entry(r.table.clone()).or_default().skipped += 1;
            if self.out.skipped.len() < MAX_SKIPPED_LISTED {
                self.out.skipped.push(Skipped { row: r.row, table: r.table, key: plain_json(&key), reason });
            }
            return Ok(None);
        }
        let pos = pos.map_err(Error::Invalid)?;
        if let Some(first) = target.claim(hash, pos, r.row) {
            self.error(r.row, Some((&r.table, Some(&key))), &format!("the same item as row {first}: one operation per item"));
            return Ok(None);
        }
        let want_sample = self.out.samples.iter().filter(|x| x.table == r.table).count() < self.samples_per_table;
        Ok(Some(Prepared { r, key, key_json, pos, want_sample }))
    }

    /// Step 3, in order: mark the item replaced, keep a sample, count a
    /// no-op or record the row's error.
    fn finish_row(&mut self, p: PreparedRow, end: RowEnd) {
        match end {
            RowEnd::Planned(kind, sample) => {
                if let Some(pos) = p.pos {
                    self.targets.get_mut(&p.table).expect("prepared for a target").mark(pos);
                }
                let shown = self.out.samples.iter().filter(|x| x.table == p.table).count();
                if let Some(changes) = sample.filter(|_| shown < self.samples_per_table) {
                    self.out.samples.push(DiffSample { key: plain_json(&p.key), table: p.table, op: kind, changes });
                }
            }
            RowEnd::Noop => {
                self.out.summary.noops += 1;
                self.out.summary.tables.entry(p.table).or_default().noops += 1;
            }
            RowEnd::Invalid(e) => self.error(p.row, Some((&p.table, Some(&p.key))), &e),
        }
    }
}

/// What one planning thread owns: its share of the plan file's columns, of
/// the counts and of the after-state.
#[derive(Default)]
struct Lane {
    ops: OpColumns,
    acc: HashMap<String, TableAcc>,
    write_units: u64,
    after: AfterParts,
}

impl Lane {
    /// Adds a planned operation to this lane's share; returns the sample of
    /// its changes, if one was asked for.
    fn take(&mut self, pos: Option<Position>, mut p: Planned) -> Result<RowEnd> {
        let table = &p.op.table;
        match std::mem::replace(&mut p.op.after, After::Gone) {
            After::Gone => {}
            After::Item(json) => push_after(&mut self.after.images, table, &json)?,
            After::Patch(set, remove) => {
                let pos = pos.expect("an UPDATE has its item's position");
                let patches = match self.after.patches.get_mut(table) {
                    Some(t) => t,
                    None => self.after.patches.entry(table.clone()).or_default(),
                };
                patches.add(pos, set, remove);
            }
        }
        let op = &p.op;
        self.ops.push(op);
        self.write_units += op.write_units as u64;
        let acc = match self.acc.get_mut(&op.table) {
            Some(a) => a,
            None => self.acc.entry(op.table.clone()).or_default(),
        };
        acc.ops[op.kind as usize] += 1;
        for c in p.changes {
            let a = match acc.attrs.get_mut(&c.attribute) {
                Some(a) => a,
                None => acc.attrs.entry(c.attribute).or_default(),
            };
            match (c.before, c.after) {
                (None, Some(_)) => a.added += 1,
                (Some(_), None) => a.removed += 1,
                _ => a.changed += 1,
            }
            a.types[slot(c.before)][slot(c.after)] += 1;
        }
        Ok(RowEnd::Planned(op.kind, p.sample))
    }
}

/// How planning a row ended.
enum RowEnd {
    /// An operation of this kind, added to its lane, with its sample of changes if one was asked for.
    Planned(OpKind, Option<Vec<AttrDiff>>),
    /// The row changes nothing.
    Noop,
    Invalid(String),
}

/// A row's key, its canonical JSON and that text's [`key_hash`], or why it has none.
type KeyRead = std::result::Result<Keyed, String>;

/// A row's key, read on the pool.
struct Keyed {
    key: Item,
    json: String,
    hash: u128,
    /// The snapshot's item with this key, if any (Err: the table's keys could not be indexed).
    pos: std::result::Result<Option<Position>, String>,
}

/// Step 1's reading, on the pool: each row of the batch read and its key
/// taken (None for an unknown table), in order; `first` numbers the rows.
fn read_parallel(
    rows: &BatchRows<'_>,
    targets: &HashMap<String, Target>,
    n: usize,
    first: u64,
    pool: &Pool,
) -> Vec<std::result::Result<(RowOp, Option<KeyRead>), String>> {
    let read = |r: usize| {
        let op = rows.read(r, first + r as u64)?;
        let key = targets.get(&op.table).map(|t| {
            t.key_of(&op.values).map(|(key, json)| {
                let hash = key_hash(&json);
                let pos = t.locate(hash).map_err(|e| e.to_string());
                Keyed { key, json, hash, pos }
            })
        });
        Ok((op, key))
    };
    if n < 128 {
        return (0..n).map(read).collect();
    }
    pool.map(n, |r| Ok(read(r))).into_iter().map(|r| r.unwrap_or_else(|e| Err(e.to_string()))).collect()
}

/// Step 2, on the pool: before-images decoded, operations planned and
/// added to the lane of their share of the batch (shares in order, so the
/// lanes appended in order keep the rows' order).
fn plan_parallel(
    targets: &HashMap<String, Target>,
    prepared: Vec<Prepared>,
    lanes: &mut [Lane],
    pool: &Pool,
) -> Result<Vec<(PreparedRow, RowEnd)>> {
    let plan_one = |p: Prepared, lane: &mut Lane| -> Result<(PreparedRow, RowEnd)> {
        let target = &targets[&p.r.table];
        let row = PreparedRow { row: p.r.row, table: p.r.table.clone(), key: p.key, pos: p.pos };
        let before = match p.pos {
            None => None,
            Some(pos) if p.r.kind == OpKind::Update => {
                let r = &p.r;
                Some(target.image_at(pos, |n| r.values.contains_key(n) || r.remove.iter().any(|x| x == n))?)
            }
            Some(pos) => Some(target.whole_at(pos)?),
        };
        let end = match plan_row(p.r, p.key_json, before, &target.info.key, p.want_sample) {
            Ok(Some(planned)) => lane.take(row.pos, planned)?,
            Ok(None) => RowEnd::Noop,
            Err(e) => RowEnd::Invalid(e),
        };
        Ok((row, end))
    };
    let total = prepared.len();
    let share = total.div_ceil(lanes.len().max(1)).max(64);
    let mut shares = Vec::with_capacity(lanes.len());
    let mut rest = prepared;
    while rest.len() > share {
        let tail = rest.split_off(share);
        shares.push(std::mem::replace(&mut rest, tail));
    }
    shares.push(rest);
    let work: Vec<(Vec<Prepared>, &mut Lane)> = shares.into_iter().zip(lanes.iter_mut()).collect();
    let done = pool.map_vec(work, |_, (rows, lane)| rows.into_iter().map(|p| plan_one(p, lane)).collect::<Result<Vec<_>>>());
    let mut out = Vec::with_capacity(total);
    for d in done {
        out.extend(d?);
    }
    Ok(out)
}

/// A row ready for planning (step 1's result).
struct Prepared {
    r: RowOp,
    key: Item,
    key_json: String,
    pos: Option<Position>,
    want_sample: bool,
}

/// What step 3 needs to know of a row besides its planned operation.
struct PreparedRow {
    row: u64,
    table: String,
    key: Item,
    pos: Option<Position>,
}

/// Per table, what the operations do, counted cheaply while planning.
#[derive(Default)]
struct TableAcc {
    ops: [u64; 3],
    attrs: HashMap<String, AttrAcc, BuildHasherDefault<FxHasher>>,
}

impl TableAcc {
    fn merge(&mut self, o: TableAcc) {
        for (i, n) in o.ops.iter().enumerate() {
            self.ops[i] += n;
        }
        for (name, a) in o.attrs {
            let mine = self.attrs.entry(name).or_default();
            mine.added += a.added;
            mine.changed += a.changed;
            mine.removed += a.removed;
            for (b, row) in a.types.iter().enumerate() {
                for (f, n) in row.iter().enumerate() {
                    mine.types[b][f] += n;
                }
            }
        }
    }
}

#[derive(Default)]
struct AttrAcc {
    added: u64,
    changed: u64,
    removed: u64,
    /// Counts by type before and after; index 10 is "absent".
    types: [[u64; 11]; 11],
}

fn slot(t: Option<DdbType>) -> usize {
    t.map(|t| t as usize).unwrap_or(10)
}

fn unslot(i: usize) -> Option<DdbType> {
    DdbType::from_index(i as u8)
}

/// The counts as the manifest shows them.
fn finish_summary(summary: &mut Summary, acc: HashMap<String, TableAcc>) {
    for (table, t) in acc {
        let kinds = [OpKind::Update, OpKind::Put, OpKind::Delete];
        let ops: BTreeMap<OpKind, u64> = kinds.iter().filter(|k| t.ops[**k as usize] > 0).map(|k| (*k, t.ops[*k as usize])).collect();
        if !ops.is_empty() {
            summary.operations.insert(table.clone(), ops);
        }
        let mut attrs = BTreeMap::new();
        for (name, a) in t.attrs {
            let mut types = BTreeMap::new();
            for (b, row) in a.types.iter().enumerate() {
                for (f, n) in row.iter().enumerate().filter(|(_, n)| **n > 0) {
                    types.insert(transition(unslot(b), unslot(f)), *n);
                }
            }
            attrs.insert(name, AttrChange { added: a.added, changed: a.changed, removed: a.removed, types });
        }
        if !attrs.is_empty() {
            summary.attributes.insert(table, attrs);
        }
    }
}

/// The key (or any item) as plain JSON for people.
pub fn plain_json(item: &Item) -> serde_json::Value {
    let mut s = String::new();
    write_plain(&mut s, &AttrValue::M(item.clone()));
    serde_json::from_str(&s).unwrap_or(serde_json::Value::Null)
}
