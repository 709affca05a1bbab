//! Writing a model's exports on several threads.
//!
//! An export's data files are split into equal [`FileSet`]s, one per
//! worker; worker `w` builds the items (or changes) of its share of the
//! index range and writes them to its own files, so nothing is shared but
//! the read-only plan. Memory is a few buffers per data file, whatever the
//! item count. The manifest is written once, from all workers' entries.
//!
//! Incrementals need no state either: change `j` of incremental `k` takes
//! slot `s = (k-1)·changes + j`, whose kind is drawn from its own stream;
//! updates and deletes hit item `(a·s + b) mod n` (a permutation of the full
//! export's items, so no item is changed twice and none after its delete),
//! inserts get the fresh index `n + s`.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};

use super::datafile::FileSet;
use super::item::{Stamp, build};
use super::options::{GenerateError, ModelOptions, Result};
use super::rng::{Rng, stream};
use super::shape::ModelShape;
use super::truth::Tally;
use super::writer::{ExportSpec, ExportWriter};
use crate::checks::model::ModelIntrospection;

const EXPORT_STREAM: u64 = 0x4558_5054;
const WRITER_STREAM: u64 = 0x5752_4954;
const CHANGE_KIND_STREAM: u64 = 0x4B49_4E44;

/// Called with each export's folder once it is complete (to upload it).
pub type AfterExport<'a> = dyn Fn(&Path) -> Result<()> + Sync + 'a;

/// What every export of a run shares.
pub struct Run<'a> {
    pub opts: &'a ModelOptions,
    pub intro: &'a ModelIntrospection,
    pub after_export: Option<&'a AfterExport<'a>>,
}

/// Items in the full export (`n`) and changes per incremental.
pub fn changes_per_incremental(n: u64) -> u64 {
    (n / 20).max(n.min(3))
}

/// Writes the full export; its id and the tally of its items.
pub fn full_export(run: &Run, shape: &ModelShape) -> Result<(String, Tally)> {
    let files = run.opts.files_for(shape.count);
    export(run, shape, 0, None, files, shape.count, &|i, set, rng, tally| {
        let built = build(shape, run.intro, i, Stamp::Full);
        tally.count(&built, 1);
        tally.items += 1;
        set.add_item(&built.item, rng).map_err(GenerateError::from)
    })
}

/// Writes incremental `k` (from 1) covering `from..from + 15 min`.
pub fn incremental_export(run: &Run, shape: &ModelShape, k: u64) -> Result<(String, Tally)> {
    let n = shape.count;
    let changes = changes_per_incremental(n);
    let from = run.opts.export_time + Duration::minutes(15 * (k as i64 - 1));
    let to = from + Duration::minutes(15);
    let step = ((to - from).num_microseconds().unwrap_or(0) as u64 / (changes + 1)).max(1);
    let from_micros = from.timestamp_micros() as u64;
    let stride = coprime_stride(n);
    let keys: Vec<&str> = shape.key.names().iter().map(String::as_str).collect();
    let threads = run.opts.threads.max(1);
    export(run, shape, k, Some((from, to)), threads, changes, &|j, set, rng, tally| {
        let s = (k - 1) * changes + j;
        let micros = from_micros + step * (j + 1);
        let at_ms = (micros / 1000) as i64;
        let mut kind = stream(&[shape.model_key, CHANGE_KIND_STREAM, k, j]).below(3);
        if s >= n {
            kind = 0;
        } else if kind == 2 && !shape.deletable {
            kind = 1;
        }
        let target = ((stride as u128 * s as u128 + 7) % n.max(1) as u128) as u64;
        match kind {
            0 => {
                let new = build(shape, run.intro, n + s, Stamp::Insert { at_ms });
                tally.count(&new, 1);
                tally.inserted += 1;
                set.add_change(&keys, &new.item, None, Some(&new.item), micros, rng)?;
            }
            1 => {
                let old = build(shape, run.intro, target, Stamp::Full);
                let new = build(shape, run.intro, target, Stamp::Update { version: k, at_ms });
                tally.count(&old, -1);
                tally.count(&new, 1);
                tally.updated += 1;
                set.add_change(&keys, &new.item, Some(&old.item), Some(&new.item), micros, rng)?;
            }
            _ => {
                let old = build(shape, run.intro, target, Stamp::Full);
                tally.count(&old, -1);
                tally.deleted += 1;
                set.add_change(&keys, &old.item, Some(&old.item), None, micros, rng)?;
            }
        }
        Ok(())
    })
}

/// A stride coprime with `n`, so `s -> (stride·s + c) mod n` permutes `0..n`.
fn coprime_stride(n: u64) -> u64 {
    let gcd = |mut a: u64, mut b: u64| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let mut a = (n as f64 * 0.618_033_988_7) as u64 | 1;
    while n > 1 && gcd(a, n) != 1 {
        a += 2;
    }
    a.max(1)
}

type Unit<'a> = dyn Fn(u64, &mut FileSet, &mut Rng, &mut Tally) -> Result<()> + Sync + 'a;

/// Creates export `k` of `shape` with `files` writable files (plus one
/// empty partition) and runs `unit` for every unit `0..units` on the workers.
fn export(
    run: &Run,
    shape: &ModelShape,
    k: u64,
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    files: usize,
    units: u64,
    unit: &Unit,
) -> Result<(String, Tally)> {
    let opts = run.opts;
    let threads = opts.threads.max(1);
    let time = window.map_or(opts.export_time, |(_, to)| to + Duration::seconds(5));
    let spec = ExportSpec {
        out: &opts.out,
        prefix: &opts.prefix,
        physical_table: &shape.physical,
        format: opts.format,
        time,
        writable: files,
        empty: 1,
        incremental: window.is_some(),
        bucket: &opts.bucket,
    };
    let writer = ExportWriter::create(&spec, &mut stream(&[shape.model_key, EXPORT_STREAM, k]))?;
    let dir = super::export_dir(&opts.out, &opts.prefix, writer.export_id());
    let (head, sets) = writer.into_parts(threads)?;
    let results = opts.pool.map_vec(sets, |w, mut set| {
        let (lo, hi) = (units * w as u64 / threads as u64, units * (w as u64 + 1) / threads as u64);
        let mut rng = stream(&[shape.model_key, WRITER_STREAM, k, w as u64]);
        let mut tally = Tally::new(shape.checks.len());
        for i in lo..hi {
            unit(i, &mut set, &mut rng, &mut tally).map_err(|e| crate::Error::Invalid(format!("{e:#}")))?;
        }
        Ok((set.finish().map_err(|e| crate::Error::Invalid(format!("{e:#}")))?, tally))
    });
    let (mut entries, mut tally) = (Vec::new(), Tally::new(shape.checks.len()));
    for r in results {
        let (e, t) = r?;
        entries.extend(e);
        tally.merge(&t);
    }
    let id = head.finish(entries, window)?;
    tracing::info!(model = %shape.name, export = %id, items = units, "export written");
    if let Some(after) = run.after_export {
        after(&dir)?;
    }
    Ok((id, tally))
}
