//! The tables a plan may write to, their keys, and the snapshot's items
//! found by key (the before-images).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::convert::BatchDecoder;
use crate::convert::raw::FxHasher;
use crate::error::{Error, Result};
use crate::item::{AttrValue, Item, ddbjson};
use crate::load::LoadedTable;

use super::manifest::TargetTable;
use super::op::{BeforeImage, before_image};

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
    index: Option<KeyIndex<'a>>,
    /// Keys already planned (by hash), with the row that claimed each.
    claimed: HashMap<u128, u64, ByHash>,
}

/// Maps keyed by [`key_hash`]: the keys are hashes already, so a cheap
/// hasher is enough (and SipHash on every lookup was a visible cost).
type ByHash = BuildHasherDefault<FxHasher>;

/// A 128-bit hash of a key's canonical JSON: two keys collide with odds of
/// about 2^-128, so millions of keys are told apart without storing them.
pub fn key_hash(key_json: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        key_json.hash(&mut h);
        h.finish() as u128
    };
    (half(0) << 64) | half(1)
}

/// Items of a loaded table by key, with decoders cached per batch.
struct KeyIndex<'a> {
    positions: HashMap<u128, (u32, u32), ByHash>,
    decoders: Vec<BatchDecoder<'a>>,
    /// Per batch, which rows a planned operation touches.
    touched: Vec<Vec<bool>>,
}

impl<'a> Target<'a> {
    pub fn new(info: TargetTable, loaded: Option<&'a LoadedTable>) -> Target<'a> {
        Target { info, loaded, index: None, claimed: HashMap::default() }
    }

    /// The key of `values` as canonical DynamoDB JSON, or why there is none.
    pub fn key_of(&self, values: &Item) -> std::result::Result<(Item, String), String> {
        let mut key = Item::new();
        for k in &self.info.key {
            let v = values.get(k).ok_or_else(|| format!("the key attribute {k:?} of table {} is missing or NULL", self.info.name))?;
            match v {
                AttrValue::S(s) if s.is_empty() => return Err(format!("key attribute {k:?} is an empty string, which DynamoDB rejects")),
                AttrValue::B(b) if b.is_empty() => return Err(format!("key attribute {k:?} is empty binary, which DynamoDB rejects")),
                AttrValue::S(_) | AttrValue::N(_) | AttrValue::B(_) => {}
                other => return Err(format!("key attribute {k:?} is {}; keys must be S, N or B", other.ddb_type().name())),
            }
            key.insert(k.clone(), v.clone());
        }
        let json = ddbjson::item_to_string(&key);
        Ok((key, json))
    }

    /// Claims a key (its [`key_hash`]) for one row; returns the row that
    /// claimed it first, if any.
    pub fn claim(&mut self, hash: u128, row: u64) -> Option<u64> {
        match self.claimed.entry(hash) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(row);
                None
            }
        }
    }

    /// Where the snapshot's item with this key (its [`key_hash`]) is, if it has one.
    pub fn locate(&mut self, hash: u128) -> Result<Option<Position>> {
        let Some(loaded) = self.loaded else { return Ok(None) };
        if self.index.is_none() {
            self.index = Some(KeyIndex::build(loaded, self)?);
        }
        let index = self.index.as_ref().expect("built above");
        Ok(index.positions.get(&hash).map(|&(b, r)| Position(b, r)))
    }

    /// The snapshot's item at `pos` (from [`Self::locate`]), whole.
    pub fn whole_at(&self, pos: Position) -> Result<BeforeImage> {
        let index = self.index.as_ref().expect("located before");
        Ok(BeforeImage::whole(index.decoders[pos.0 as usize].item(pos.1 as usize)?))
    }

    /// The snapshot's item at `pos` with only the attributes `wanted`
    /// decoded (its JSON and size are the whole item's).
    pub fn image_at(&self, pos: Position, wanted: impl Fn(&str) -> bool) -> Result<BeforeImage> {
        let index = self.index.as_ref().expect("located before");
        before_image(&index.decoders[pos.0 as usize], pos.1 as usize, wanted)
    }

    /// Records that a planned operation replaces the item at `pos`.
    pub fn mark(&mut self, pos: Position) {
        if let Some(index) = self.index.as_mut() {
            index.touched[pos.0 as usize][pos.1 as usize] = true;
        }
    }

    /// Rows of each batch that a planned operation replaces (None: no lookups were made).
    pub fn touched(&self) -> Option<&[Vec<bool>]> {
        self.index.as_ref().map(|i| i.touched.as_slice())
    }
}

impl<'a> KeyIndex<'a> {
    /// Indexes every item's key: the keys are read and hashed on both
    /// cores, batch by batch, then gathered in order (a key seen twice is an
    /// error naming it).
    fn build(loaded: &'a LoadedTable, target: &Target) -> Result<KeyIndex<'a>> {
        let decoders = loaded.batches.iter().map(BatchDecoder::new).collect::<Result<Vec<_>>>()?;
        let hashes = |b: usize| -> Result<Vec<(u128, String)>> {
            let d = &decoders[b];
            (0..loaded.batches[b].num_rows())
                .map(|r| {
                    let (_, json) = target.key_of(&d.attrs(r, &target.info.key)?).map_err(|e| {
                        Error::Invalid(format!("table {}: an item of the snapshot has no usable key: {e}", target.info.name))
                    })?;
                    Ok((key_hash(&json), json))
                })
                .collect()
        };
        let n = decoders.len();
        let per_batch: Vec<Result<Vec<(u128, String)>>> = std::thread::scope(|s| {
            let other = s.spawn(|| (0..n).filter(|b| b % 2 == 1).map(hashes).collect::<Vec<_>>());
            let mine: Vec<_> = (0..n).filter(|b| b % 2 == 0).map(hashes).collect();
            let theirs = other.join().unwrap_or_else(|_| (0..n / 2).map(|_| Err(Error::Invalid("a key thread panicked".into()))).collect());
            let (mut mine, mut theirs) = (mine.into_iter(), theirs.into_iter());
            (0..n).filter_map(|b| if b % 2 == 0 { mine.next() } else { theirs.next() }).collect()
        });
        let mut positions = HashMap::with_capacity_and_hasher(loaded.report.items as usize, ByHash::default());
        let mut touched = Vec::with_capacity(n);
        for (b, keys) in per_batch.into_iter().enumerate() {
            let keys = keys?;
            touched.push(vec![false; keys.len()]);
            for (r, (hash, json)) in keys.into_iter().enumerate() {
                if positions.insert(hash, (b as u32, r as u32)).is_some() {
                    return Err(Error::Invalid(format!(
                        "table {}: two items of the snapshot have the key {json}: is {:?} really the table's key? (give --key)",
                        target.info.name, target.info.key
                    )));
                }
            }
        }
        Ok(KeyIndex { positions, decoders, touched })
    }
}
