//! The data as it would be after a plan: for each table the plan changes,
//! the snapshot's untouched items plus the planned after-images, typed
//! afresh (a transform may add columns or change types). Tables the plan
//! does not touch are shared with the snapshot as they are.
//!
//! Both cores work: each reads its share of the operation file's row groups
//! and of the snapshot's batches into its own builders.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::targets::Target;
use crate::convert::{BatchDecoder, RawBatch, RawBuilder, TableSchema, TableStats};
use crate::error::{Error, Result};
use crate::item::ddbjson;
use crate::load::{LoadedTable, convert_parallel};
use crate::snapshot::ItemSink;

/// One table of a state (before or after).
pub struct StateTable {
    pub name: String,
    pub schema: TableSchema,
    pub batches: Vec<RecordBatch>,
    pub items: u64,
    pub stats: Option<TableStats>,
}

/// Builds the after-state of every table that has operations; the others
/// are returned unchanged from `loaded`.
pub async fn after_state(
    ops: &Path,
    changed: &BTreeSet<String>,
    targets: &HashMap<String, Target<'_>>,
    loaded: &[LoadedTable],
    workers: usize,
) -> Result<Vec<StateTable>> {
    let workers = workers.max(1);
    let groups =
        ParquetRecordBatchReaderBuilder::try_new(File::open(ops).map_err(|e| Error::io_path(ops, e))?)?.metadata().num_row_groups();
    let shares: Vec<Result<HashMap<String, RawBuilder>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                s.spawn(move || -> Result<HashMap<String, RawBuilder>> {
                    let mut builders: HashMap<String, RawBuilder> = HashMap::new();
                    let mine: Vec<usize> = (0..groups).filter(|g| g % workers == w).collect();
                    read_after_images(ops, mine, &mut builders)?;
                    for name in changed {
                        let (Some(t), Some(l)) = (targets.get(name), loaded.iter().find(|l| l.name() == name)) else { continue };
                        let b = builders.entry(name.clone()).or_insert_with(|| RawBuilder::new(true));
                        keep_untouched(l, t, w, workers, b)?;
                    }
                    Ok(builders)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(Error::Invalid("a worker panicked".into())))).collect()
    });
    let mut merged: HashMap<String, (Vec<RawBatch>, TableStats)> = HashMap::new();
    for share in shares {
        for (name, b) in share? {
            let (raw, stats) = b.finish();
            let e = merged.entry(name).or_default();
            e.0.extend(raw);
            e.1.merge(&stats);
        }
    }
    let mut out = Vec::new();
    for l in loaded.iter().filter(|l| !changed.contains(l.name())) {
        out.push(StateTable {
            name: l.name().to_string(),
            schema: l.schema.clone(),
            batches: l.batches.clone(),
            items: l.report.items,
            stats: Some(l.stats.clone()),
        });
    }
    for name in changed {
        let (raw, stats) = merged.remove(name).unwrap_or_default();
        let keys = targets.get(name).map(|t| t.info.key.clone()).unwrap_or_default();
        let schema = TableSchema::infer(&stats, &keys)?;
        let batches = convert_parallel(raw, &schema, workers).await?;
        out.push(StateTable { name: name.clone(), schema, items: stats.items, batches, stats: Some(stats) });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Pushes the after-image of every operation in `groups` to its table's builder.
fn read_after_images(ops: &Path, groups: Vec<usize>, builders: &mut HashMap<String, RawBuilder>) -> Result<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(ops).map_err(|e| Error::io_path(ops, e))?)?;
    let schema = builder.parquet_schema();
    let columns: Vec<usize> =
        ["table", "after"].iter().map(|n| schema.columns().iter().position(|c| c.name() == *n).expect("plan column")).collect();
    let mask = ProjectionMask::leaves(schema, columns);
    let reader = builder.with_row_groups(groups).with_projection(mask).build()?;
    let mut line = Vec::new();
    for batch in reader {
        let batch = batch?;
        let tables = batch.column(0).as_string::<i32>();
        let afters = batch.column(1).as_string::<i32>();
        for i in 0..batch.num_rows() {
            if afters.is_null(i) {
                continue;
            }
            let b = builders.entry(tables.value(i).to_string()).or_insert_with(|| RawBuilder::new(true));
            line.clear();
            line.extend_from_slice(b"{\"Item\":");
            line.extend_from_slice(afters.value(i).as_bytes());
            line.push(b'}');
            if !b.push_json_line(&line)? {
                let item = ddbjson::item_from_str(afters.value(i)).map_err(|e| Error::Invalid(format!("plan after-image: {e}")))?;
                b.push(item)?;
            }
        }
    }
    Ok(())
}

/// Pushes the snapshot's items that no operation replaces (this worker's share of batches).
fn keep_untouched(l: &LoadedTable, t: &Target, worker: usize, workers: usize, b: &mut RawBuilder) -> Result<()> {
    let touched = t.touched();
    for (i, batch) in l.batches.iter().enumerate().filter(|(i, _)| i % workers == worker) {
        let d = BatchDecoder::new(batch)?;
        let marks = touched.map(|t| &t[i]);
        for row in 0..batch.num_rows() {
            if marks.is_some_and(|m| m[row]) {
                continue;
            }
            b.push(d.item(row)?)?;
        }
    }
    Ok(())
}
