//! Items to Apache Arrow and back, losslessly.
//!
//! See [`schema`] for the representation. The flow is: items go into a
//! [`raw::RawBuilder`] (type-agnostic columns plus [`stats::TableStats`]);
//! once every item is seen, [`schema::TableSchema::infer`] picks the column
//! types and [`to_arrow::to_record_batch`] produces typed batches;
//! [`from_arrow::batch_to_items`] reverses it.

pub mod fast_json;
mod fast_packed;
pub mod from_arrow;
pub mod natural;
pub mod nested;
pub mod packed;
pub mod plain;
pub mod raw;
pub mod schema;
pub mod shape;
pub mod stats;
pub mod to_arrow;

pub use from_arrow::{BatchDecoder, batch_to_items};
pub use raw::{RawBatch, RawBuilder};
pub use schema::{Kind, TYPES_COLUMN, TableSchema};
pub use stats::TableStats;
pub use to_arrow::{into_record_batch, to_record_batch};

use arrow::record_batch::RecordBatch;

use crate::error::Result;
use crate::item::Item;

/// Converts items to record batches (small inputs: tests, fixtures, plans).
pub fn items_to_batches(items: &[Item], keys: &[String]) -> Result<(TableSchema, Vec<RecordBatch>)> {
    use crate::snapshot::ItemSink;
    let mut b = RawBuilder::new(true);
    for it in items {
        b.push(it.clone())?;
    }
    let (raw, stats) = b.finish();
    let schema = TableSchema::infer(&stats, keys)?;
    let batches = raw.iter().map(|r| to_record_batch(r, &schema)).collect::<Result<_>>()?;
    Ok((schema, batches))
}
