//! The data as it would be after a plan: for each table the plan changes,
//! the snapshot's untouched items plus the planned after-images, typed
//! afresh (a transform may add columns or change types). Tables the plan
//! does not touch are shared with the snapshot as they are.
//!
//! The planning threads gather what the after-state needs as they go (see
//! [`crate::plan::build`]): the changes of UPDATEs, by item position, and
//! the whole items of PUTs. A table that only UPDATEs touch is then patched
//! column by column ([`super::patch`]); any other is rebuilt item by item,
//! on every core.

use std::collections::{BTreeSet, HashMap};

use arrow::record_batch::RecordBatch;

use super::patch::{TablePatches, patch_table};
use super::targets::Target;
use crate::convert::{BatchDecoder, RawBatch, RawBuilder, TableSchema, TableStats};
use crate::env::Pool;
use crate::error::{Error, Result};
use crate::item::{Item, ddbjson};
use crate::load::{LoadedTable, convert_parallel};
use crate::snapshot::ItemSink;

/// One table of a state (before or after).
pub struct StateTable {
    pub name: String,
    pub schema: TableSchema,
    pub batches: Vec<RecordBatch>,
    pub items: u64,
}

/// What one planning thread gathers for the after-state, by table.
#[derive(Default)]
pub struct AfterParts {
    /// PUTs' items.
    pub images: AfterImages,
    /// UPDATEs' changes.
    pub patches: HashMap<String, TablePatches>,
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

/// Completes the after-state: for every table with operations, the
/// snapshot's items with UPDATEs applied, less those a PUT or DELETE
/// replaces, plus the PUTs' items; the other tables are returned unchanged
/// from `loaded`. `rebuilt` names the tables with PUTs or DELETEs.
pub async fn after_state(
    parts: Vec<AfterParts>,
    changed: &BTreeSet<String>,
    rebuilt: &BTreeSet<String>,
    targets: &HashMap<String, Target<'_>>,
    loaded: &[LoadedTable],
    pool: &Pool,
) -> Result<Vec<StateTable>> {
    let mut patches: HashMap<String, TablePatches> = HashMap::new();
    let mut images = Vec::with_capacity(parts.len());
    for p in parts {
        for (table, t) in p.patches {
            patches.entry(table).or_default().merge(t);
        }
        images.push(p.images);
    }
    patches.values_mut().for_each(|p| p.sort(pool));
    let mut out = Vec::new();
    let mut rebuild = BTreeSet::new();
    for l in loaded {
        let name = l.name();
        if !changed.contains(name) {
            out.push(StateTable { name: name.to_string(), schema: l.schema.clone(), batches: l.batches.clone(), items: l.report.items });
            continue;
        }
        let keys = targets.get(name).map(|t| t.info.key.clone()).unwrap_or_default();
        let patched = match (rebuilt.contains(name), patches.get(name)) {
            (false, Some(p)) => patch_table(&l.into(), p, &keys, pool)?,
            _ => None,
        };
        match patched {
            Some(t) => out.push(t),
            None => {
                rebuild.insert(name.to_string());
            }
        }
    }
    // Tables without a snapshot (a PUT into a new model's table) are rebuilt too.
    rebuild.extend(changed.iter().filter(|c| !loaded.iter().any(|l| l.name() == c.as_str())).cloned());
    let kept = keep_untouched_all(&rebuild, targets, loaded, &patches, pool);
    let mut merged: HashMap<String, (Vec<RawBatch>, TableStats)> = HashMap::new();
    for share in images.into_iter().map(Ok).chain(kept) {
        for (name, b) in share?.into_iter().filter(|(n, _)| rebuild.contains(n)) {
            let (raw, stats) = b.finish();
            let e = merged.entry(name).or_default();
            e.0.extend(raw);
            e.1.merge(&stats);
        }
    }
    for name in &rebuild {
        let (raw, stats) = merged.remove(name).unwrap_or_default();
        let keys = targets.get(name).map(|t| t.info.key.clone()).unwrap_or_default();
        let schema = TableSchema::infer(&stats, &keys)?;
        let batches = convert_parallel(raw, &schema, pool)?;
        out.push(StateTable { name: name.clone(), schema, items: stats.items, batches });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Each worker's share of the snapshot's items that stay in the tables
/// `rebuild` names, UPDATEs applied.
fn keep_untouched_all(
    rebuild: &BTreeSet<String>,
    targets: &HashMap<String, Target<'_>>,
    loaded: &[LoadedTable],
    patches: &HashMap<String, TablePatches>,
    pool: &Pool,
) -> Vec<Result<AfterImages>> {
    let workers = pool.threads();
    pool.map(workers, |w| {
        let mut builders = AfterImages::new();
        for name in rebuild {
            let (Some(t), Some(l)) = (targets.get(name), loaded.iter().find(|l| l.name() == name)) else { continue };
            let b = builders.entry(name.clone()).or_insert_with(|| RawBuilder::new(true));
            keep_untouched(l, t, patches.get(name), w, workers, b)?;
        }
        Ok(builders)
    })
}

/// Pushes the snapshot's items that no PUT or DELETE replaces (this
/// worker's share of batches), with their UPDATEs applied.
fn keep_untouched(
    l: &LoadedTable,
    t: &Target,
    patches: Option<&TablePatches>,
    worker: usize,
    workers: usize,
    b: &mut RawBuilder,
) -> Result<()> {
    let touched = t.touched();
    for (i, batch) in l.batches.iter().enumerate().filter(|(i, _)| i % workers == worker) {
        let d = BatchDecoder::new(batch)?;
        let marks = touched.map(|t| &t[i]);
        let updates = patches.map(|p| p.rows_of(i)).unwrap_or_default();
        for row in 0..batch.num_rows() {
            let update = updates.get(&row);
            if update.is_none() && marks.is_some_and(|m| m[row]) {
                continue;
            }
            let mut item = d.item(row)?;
            for (name, v) in update.into_iter().flatten() {
                apply(&mut item, name, *v);
            }
            b.push(item)?;
        }
    }
    Ok(())
}

fn apply(item: &mut Item, name: &str, value: Option<&crate::item::AttrValue>) {
    match value {
        Some(v) => {
            item.insert(name.to_string(), v.clone());
        }
        None => {
            item.remove(name);
        }
    }
}
