//! The data as it would be after a plan: for each table the plan changes,
//! the snapshot's untouched items plus the planned after-images, typed
//! afresh (a transform may add columns or change types). Tables the plan
//! does not touch are shared with the snapshot as they are.
//!
//! The after-images are gathered while planning, by the planning threads
//! (see [`crate::plan::build`]); then each core adds its share of the
//! snapshot's untouched items.

use std::collections::{BTreeSet, HashMap};

use arrow::record_batch::RecordBatch;

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

/// Builders of after-images, one set per planning thread.
pub type AfterImages = HashMap<String, RawBuilder>;

/// Adds one planned after-image (DynamoDB JSON) to its table's builder.
pub fn push_after(images: &mut AfterImages, table: &str, json: &str) -> Result<()> {
    let b = match images.get_mut(table) {
        Some(b) => b,
        None => images.entry(table.to_string()).or_insert_with(|| RawBuilder::new(true)),
    };
    let mut line = Vec::with_capacity(json.len() + 10);
    line.extend_from_slice(b"{\"Item\":");
    line.extend_from_slice(json.as_bytes());
    line.push(b'}');
    if !b.push_json_line(&line)? {
        let item = ddbjson::item_from_str(json).map_err(|e| Error::Invalid(format!("planned after-image: {e}")))?;
        b.push(item)?;
    }
    Ok(())
}

/// Completes the after-state: the planned after-images (gathered while
/// planning) plus the snapshot's items no operation replaces, for every
/// table with operations; the others are returned unchanged from `loaded`.
pub async fn after_state(
    images: Vec<AfterImages>,
    changed: &BTreeSet<String>,
    targets: &HashMap<String, Target<'_>>,
    loaded: &[LoadedTable],
    workers: usize,
) -> Result<Vec<StateTable>> {
    let workers = workers.max(1);
    let kept: Vec<Result<AfterImages>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                s.spawn(move || -> Result<AfterImages> {
                    let mut builders = AfterImages::new();
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
    for share in images.into_iter().map(Ok).chain(kept) {
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
