//! One table profiled: its columns scanned in parallel, one pass each.
//!
//! Each worker takes the next column, reads it through every batch and adds
//! each value's size (name included) to its own per-item size array; the
//! arrays are summed at the end into the item size distribution. Memory is
//! the per-item sizes (4 bytes an item per worker) plus, per column being
//! scanned, its value counts (at most 8 bytes a value, see [`super::counts`]).

use crate::env::Pool;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{Array, DictionaryArray, StructArray};
use arrow::datatypes::Int8Type;
use serde::Serialize;

use super::attr::{AttrAcc, AttrShape, Role, ValueLimits};
use super::column::Values;
use super::quantile::{Dist, Histogram};
use crate::convert::TYPES_COLUMN;
use crate::convert::from_arrow::tag_names;
use crate::convert::schema::Kind;
use crate::error::{Error, Result};
use crate::item::DdbType;
use crate::load::LoadedTable;

/// One table in the profile.
#[derive(Clone, Debug, Serialize)]
pub struct TableShape {
    pub items: u64,
    /// Item sizes in bytes, DynamoDB's rules; absent for an empty table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_bytes: Option<Dist>,
    pub attributes: BTreeMap<String, AttrShape>,
}

/// What one worker found: per-item sizes of its columns and their shapes.
type Partial = (Vec<u32>, Vec<(String, AttrShape)>);

/// Profiles a loaded table; `roles` marks key and index attributes.
pub fn profile_table(t: &LoadedTable, limits: ValueLimits, roles: &BTreeMap<String, Role>, pool: &Pool) -> Result<TableShape> {
    let items: usize = t.batches.iter().map(|b| b.num_rows()).sum();
    let columns = scan_order(t);
    let next = AtomicUsize::new(0);
    // One share per worker, each with its own per-item sizes: the columns
    // are taken one at a time, the widest first.
    let workers = pool.threads().min(columns.len().max(1));
    let partials: Vec<Result<Partial>> = pool.map(workers, |_| {
        let mut sizes = vec![0u32; items];
        let mut shapes = Vec::new();
        while let Some(&col) = columns.get(next.fetch_add(1, Ordering::Relaxed)) {
            let name = &t.schema.columns[col].name;
            let role = roles.get(name).copied();
            let acc = scan_column(t, col, AttrAcc::new(limits, role), &mut sizes)
                .map_err(|e| Error::Invalid(format!("table {}, attribute {name:?}: {e}", t.name())))?;
            shapes.push((name.clone(), acc.finish(items as u64)));
        }
        Ok((sizes, shapes))
    });
    let mut sizes = vec![0u32; items];
    let mut attributes = BTreeMap::new();
    for p in partials {
        let (s, shapes) = p?;
        sizes.iter_mut().zip(s).for_each(|(total, v)| *total += v);
        attributes.extend(shapes);
    }
    let mut hist = Histogram::default();
    sizes.iter().for_each(|s| hist.add(*s as u64));
    Ok(TableShape { items: items as u64, item_bytes: hist.dist(), attributes })
}

/// Columns in the order they are handed out: the costly ones (maps, lists,
/// sets, mixed) first so that the workers finish together.
fn scan_order(t: &LoadedTable) -> Vec<usize> {
    let cost = |k: Kind| match k {
        Kind::Json | Kind::Struct | Kind::List | Kind::Mixed | Kind::StrSet | Kind::NumSet(_) | Kind::BinSet => 0,
        _ => 1,
    };
    let mut order: Vec<usize> = (0..t.schema.columns.len()).collect();
    order.sort_by_key(|&i| cost(t.schema.columns[i].kind));
    order
}

/// Reads column `col` through every batch into `acc`, adding each present
/// value's size and name to `sizes` (one slot per item, in batch order).
fn scan_column(t: &LoadedTable, col: usize, mut acc: AttrAcc, sizes: &mut [u32]) -> std::result::Result<AttrAcc, String> {
    let spec = &t.schema.columns[col];
    let name_len = spec.name.len() as u64;
    let mut scratch = String::new();
    let mut first = 0usize;
    for batch in &t.batches {
        let idx = batch.schema_ref().index_of(&spec.name).map_err(|e| e.to_string())?;
        let values = Values::new(spec.kind, batch.column(idx))?;
        let tags = batch
            .column_by_name(TYPES_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<StructArray>())
            .and_then(|s| s.column_by_name(&spec.name))
            .and_then(|c| c.as_any().downcast_ref::<DictionaryArray<Int8Type>>())
            .ok_or("no type tags")?;
        let types = tag_names(tags)?;
        let keys = tags.keys();
        for row in 0..batch.num_rows() {
            if tags.is_null(row) {
                continue;
            }
            let ty = types.get(keys.value(row) as usize).copied().flatten().ok_or("bad type tag")?;
            let size = if ty == DdbType::Null {
                acc.add_null();
                1
            } else {
                let m = values.measure(row, ty, &mut scratch).map_err(|e| format!("row {}: {e}", first + row))?;
                acc.add(&m, || values.text(row, ty));
                m.size
            };
            sizes[first + row] += (name_len + size) as u32;
        }
        first += batch.num_rows();
    }
    Ok(acc)
}
