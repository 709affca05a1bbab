//! The tables a plan may write to, their keys, and the snapshot's items
//! found by key (the before-images).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;

use crate::convert::BatchDecoder;
use crate::convert::raw::FxHasher;
use crate::error::{Error, Result};
use crate::item::{AttrValue, Item, ddbjson};
use crate::load::LoadedTable;

use super::manifest::TargetTable;
use super::op::{BeforeImage, before_image};
use crate::env::Pool;

/// Batch and row of an item in a loaded table (ordered by batch, then row).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(u32, u32);

impl Position {
    pub fn new(batch: usize, row: usize) -> Position {
        Position(batch as u32, row as u32)
    }

    pub fn batch(self) -> usize {
        self.0 as usize
    }

    pub fn row(self) -> usize {
        self.1 as usize
    }
}

/// A table the transform may name in `_table`.
pub struct Target<'a> {
    pub info: TargetTable,
    /// The snapshot's data, when the table was loaded.
    pub loaded: Option<&'a LoadedTable>,
    /// Built on first use, by whichever planning thread needs it first.
    index: OnceLock<std::result::Result<KeyIndex<'a>, String>>,
    /// Per batch and row of the snapshot, the result row that claimed the
    /// item (0: none); allocated on the first claim.
    claimed_at: Vec<Vec<u64>>,
    /// Keys the snapshot does not have, by hash, with the row that claimed each.
    claimed_new: HashMap<u128, u64, ByHash>,
    /// Per batch, which rows a planned operation touches.
    touched: Vec<Vec<bool>>,
    /// Per batch, which rows the transform returned a row for (an
    /// operation, a no-op or a skip): the rest it left out.
    returned: Vec<Vec<bool>>,
    /// The run's pool, which indexes the keys.
    pool: Pool,
}

/// Maps keyed by [`key_hash`]: the keys are hashes already, so a cheap
/// hasher is enough (and SipHash on every lookup was a visible cost).
type ByHash = BuildHasherDefault<FxHasher>;

/// A 128-bit hash of a key's canonical JSON: two keys collide with odds of
/// about 2^-128, so millions of keys are told apart without storing them.
pub fn key_hash(key_json: &str) -> u128 {
    crate::item::hash128(key_json)
}

/// Items of a loaded table by key, with decoders cached per batch.
struct KeyIndex<'a> {
    positions: HashMap<u128, (u32, u32), ByHash>,
    decoders: Vec<BatchDecoder<'a>>,
}

impl<'a> Target<'a> {
    pub fn new(info: TargetTable, loaded: Option<&'a LoadedTable>, pool: &Pool) -> Target<'a> {
        let (claimed_at, claimed_new, touched, returned) = (Vec::new(), HashMap::default(), Vec::new(), Vec::new());
        Target { info, loaded, index: OnceLock::new(), claimed_at, claimed_new, touched, returned, pool: pool.clone() }
    }

    /// The key of `values` as canonical DynamoDB JSON, or why there is none.
    pub fn key_of(&self, values: &Item) -> std::result::Result<(Item, String), String> {
        let mut key = Item::new();
        for k in &self.info.key {
            let v = self.key_value(k, values.get(k))?;
            key.insert(k.clone(), v.clone());
        }
        let json = ddbjson::item_to_string(&key);
        Ok((key, json))
    }

    /// A key attribute's value, if it is one DynamoDB accepts.
    fn key_value<'v>(&self, k: &str, v: Option<&'v AttrValue>) -> std::result::Result<&'v AttrValue, String> {
        let v = v.ok_or_else(|| format!("the key attribute {k:?} of table {} is missing or NULL", self.info.name))?;
        match v {
            AttrValue::S(s) if s.is_empty() => Err(format!("key attribute {k:?} is an empty string, which DynamoDB rejects")),
            AttrValue::B(b) if b.is_empty() => Err(format!("key attribute {k:?} is empty binary, which DynamoDB rejects")),
            AttrValue::S(_) | AttrValue::N(_) | AttrValue::B(_) => Ok(v),
            other => Err(format!("key attribute {k:?} is {}; keys must be S, N or B", other.ddb_type().name())),
        }
    }

    /// The key of the snapshot's item in `row` as [`Self::key_of`] writes it,
    /// read straight from the batch into `out`; `cols` are the key
    /// attributes' columns, in name order (from [`Self::key_columns`]).
    fn key_text(&self, d: &BatchDecoder, cols: &[(&String, Option<usize>)], row: usize, out: &mut String) -> Result<()> {
        out.clear();
        out.push('{');
        for (i, (k, col)) in cols.iter().enumerate() {
            let v = match col {
                Some(c) => d.value(*c, row)?,
                None => None,
            };
            let v = self
                .key_value(k, v.as_ref())
                .map_err(|e| Error::Invalid(format!("table {}: an item of the snapshot has no usable key: {e}", self.info.name)))?;
            if i > 0 {
                out.push(',');
            }
            ddbjson::write_str(out, k);
            out.push(':');
            ddbjson::write_value(out, v);
        }
        out.push('}');
        Ok(())
    }

    /// The key attributes in name order (an item's order), with their columns in `d`.
    fn key_columns<'k>(&'k self, d: &BatchDecoder) -> Vec<(&'k String, Option<usize>)> {
        let mut names: Vec<&String> = self.info.key.iter().collect();
        names.sort();
        names.into_iter().map(|k| (k, d.column(k))).collect()
    }

    /// Claims an item for one result row: the snapshot's item at `pos`, or
    /// else the key with this [`key_hash`]. Returns the row that claimed it
    /// first, if any.
    pub fn claim(&mut self, hash: u128, pos: Option<Position>, row: u64) -> Option<u64> {
        let Some(pos) = pos else {
            return match self.claimed_new.entry(hash) {
                std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(row);
                    None
                }
            };
        };
        if self.claimed_at.is_empty() {
            self.claimed_at = self.per_row(0);
        }
        let slot = &mut self.claimed_at[pos.batch()][pos.row()];
        match *slot {
            0 => {
                *slot = row;
                None
            }
            first => Some(first),
        }
    }

    /// A value per item of the snapshot, batch by batch.
    fn per_row<T: Clone>(&self, value: T) -> Vec<Vec<T>> {
        self.loaded.map(|l| l.batches.iter().map(|b| vec![value.clone(); b.num_rows()]).collect()).unwrap_or_default()
    }

    /// Where the snapshot's item with this key (its [`key_hash`]) is, if it
    /// has one. Both planning threads call this; the first call indexes the
    /// table's keys.
    pub fn locate(&self, hash: u128) -> Result<Option<Position>> {
        if self.loaded.is_none() {
            return Ok(None);
        }
        Ok(self.index()?.positions.get(&hash).map(|&(b, r)| Position(b, r)))
    }

    fn index(&self) -> Result<&KeyIndex<'a>> {
        let loaded = self.loaded.expect("only loaded tables are indexed");
        self.index.get_or_init(|| KeyIndex::build(loaded, self).map_err(|e| e.to_string())).as_ref().map_err(|e| Error::Invalid(e.clone()))
    }

    /// The snapshot's item at `pos` (from [`Self::locate`]), whole.
    pub fn whole_at(&self, pos: Position) -> Result<BeforeImage> {
        Ok(BeforeImage::whole(self.index()?.decoders[pos.batch()].item(pos.row())?))
    }

    /// The snapshot's item at `pos` with only the attributes `wanted`
    /// decoded (its JSON and size are the whole item's).
    pub fn image_at(&self, pos: Position, wanted: impl Fn(&str) -> bool) -> Result<BeforeImage> {
        before_image(&self.index()?.decoders[pos.batch()], pos.row(), wanted)
    }

    /// Records that a planned operation replaces the item at `pos`.
    pub fn mark(&mut self, pos: Position) {
        if self.touched.is_empty() {
            self.touched = self.per_row(false);
        }
        self.touched[pos.batch()][pos.row()] = true;
    }

    /// Records that the transform returned a row for the item at `pos`.
    pub fn note_returned(&mut self, pos: Position) {
        if self.returned.is_empty() {
            self.returned = self.per_row(false);
        }
        self.returned[pos.batch()][pos.row()] = true;
    }

    /// Rows of each batch the transform returned a row for (None: none).
    pub fn returned(&self) -> Option<&[Vec<bool>]> {
        (!self.returned.is_empty()).then_some(self.returned.as_slice())
    }

    /// Rows of each batch that a planned operation replaces (None: none does).
    pub fn touched(&self) -> Option<&[Vec<bool>]> {
        (!self.touched.is_empty()).then_some(self.touched.as_slice())
    }
}

impl<'a> KeyIndex<'a> {
    /// Indexes every item's key: the keys are read and hashed on the pool,
    /// batch by batch, then gathered in order (a key seen twice is an
    /// error naming it).
    fn build(loaded: &'a LoadedTable, target: &Target) -> Result<KeyIndex<'a>> {
        let started = std::time::Instant::now();
        let decoders = loaded.batches.iter().map(BatchDecoder::new).collect::<Result<Vec<_>>>()?;
        let hashes = |b: usize| -> Result<Vec<u128>> {
            let d = &decoders[b];
            let cols = target.key_columns(d);
            let mut json = String::with_capacity(128);
            (0..loaded.batches[b].num_rows())
                .map(|r| {
                    target.key_text(d, &cols, r, &mut json)?;
                    Ok(key_hash(&json))
                })
                .collect()
        };
        let per_batch = target.pool.map(decoders.len(), hashes);
        let mut positions = HashMap::with_capacity_and_hasher(loaded.report.items as usize, ByHash::default());
        for (b, keys) in per_batch.into_iter().enumerate() {
            for (r, hash) in keys?.into_iter().enumerate() {
                if positions.insert(hash, (b as u32, r as u32)).is_some() {
                    let mut json = String::new();
                    target.key_text(&decoders[b], &target.key_columns(&decoders[b]), r, &mut json)?;
                    return Err(Error::Invalid(format!(
                        "table {}: two items of the snapshot have the key {json}: is {:?} really the table's key? (give --key)",
                        target.info.name, target.info.key
                    )));
                }
            }
        }
        tracing::debug!(table = %target.info.name, keys = positions.len(), seconds = started.elapsed().as_secs_f64(), "keys indexed");
        Ok(KeyIndex { positions, decoders })
    }
}
