//! Keys and references of loaded tables, indexed for the closure.
//!
//! The closure asks two questions millions of times: "which item has this
//! key?" and "which items hold this key in that field?". Both are answered
//! from 128-bit hashes of canonical DynamoDB JSON (a hash map of keys, a
//! sorted list of references), built in one pass over each table that
//! decodes only the key and foreign-key attributes from Arrow. Two keys
//! collide with odds of about 2^-128, so the keys themselves are not kept.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::SubsetError;
use crate::convert::BatchDecoder;
use crate::item::{AttrValue, Item, ddbjson};
use crate::load::LoadedTable;
use crate::plan::targets::key_hash;

/// Row access to a loaded table by one running row number.
pub struct Rows<'a> {
    decoders: Vec<BatchDecoder<'a>>,
    /// First row number of each (non-empty) batch.
    starts: Vec<usize>,
    pub len: usize,
}

impl<'a> Rows<'a> {
    pub fn new(t: &'a LoadedTable) -> Result<Rows<'a>, SubsetError> {
        let (mut decoders, mut starts, mut len) = (Vec::new(), Vec::new(), 0);
        for b in t.batches.iter().filter(|b| b.num_rows() > 0) {
            decoders.push(BatchDecoder::new(b)?);
            starts.push(len);
            len += b.num_rows();
        }
        Ok(Rows { decoders, starts, len })
    }

    fn at(&self, row: usize) -> (usize, usize) {
        let b = self.starts.partition_point(|&s| s <= row) - 1;
        (b, row - self.starts[b])
    }

    /// The whole item in `row`.
    pub fn item(&self, row: usize) -> Result<Item, SubsetError> {
        let (b, r) = self.at(row);
        Ok(self.decoders[b].item(r)?)
    }

    /// Only the attributes `names` of the item in `row`.
    pub fn attrs(&self, row: usize, names: &[String]) -> Result<Item, SubsetError> {
        let (b, r) = self.at(row);
        Ok(self.decoders[b].attrs(r, names)?)
    }
}

/// A table's keys: per row its key hash, and the row of each key.
pub struct KeyIndex {
    pub keys: Vec<u128>,
    by_key: HashMap<u128, u32>,
    /// Per row, the seeded choice score (root tables only; lower is chosen first).
    pub scores: Vec<u64>,
}

impl KeyIndex {
    /// From each row's key hash and (for root tables) choice score.
    pub fn new(keys: Vec<u128>, scores: Vec<u64>) -> KeyIndex {
        let by_key = keys.iter().enumerate().map(|(row, k)| (*k, row as u32)).collect();
        KeyIndex { keys, by_key, scores }
    }

    pub fn row_of(&self, key: u128) -> Option<u32> {
        self.by_key.get(&key).copied()
    }
}

/// One reference, read from its child table: per child row the hash of the
/// parent key it holds (None when a field is missing or NULL), and the child
/// rows sorted by that hash.
pub struct RefIndex {
    pub fks: Vec<Option<u128>>,
    sorted: Vec<(u128, u32)>,
}

impl RefIndex {
    /// From each child row's reference.
    pub fn new(fks: Vec<Option<u128>>) -> RefIndex {
        let mut sorted: Vec<(u128, u32)> = fks.iter().enumerate().filter_map(|(row, fk)| Some(((*fk)?, row as u32))).collect();
        sorted.sort_unstable();
        RefIndex { fks, sorted }
    }

    /// Rows of the child table that refer to the parent key `key`.
    pub fn children_of(&self, key: u128) -> impl Iterator<Item = u32> + '_ {
        let start = self.sorted.partition_point(|(k, _)| *k < key);
        self.sorted[start..].iter().take_while(move |(k, _)| *k == key).map(|(_, r)| *r)
    }
}

/// What to index in one table: its key fields (None: a table without a
/// model, keyed by its whole item) and the foreign-key fields of each
/// reference it holds.
pub struct IndexSpec<'s> {
    pub table: &'s str,
    pub key: Option<&'s [String]>,
    pub fks: Vec<&'s [String]>,
    /// Score rows for choosing (a root table) with this seed.
    pub seed: Option<u64>,
}

/// Indexes one table in a single pass.
pub fn index_table(rows: &Rows, spec: &IndexSpec) -> Result<(KeyIndex, Vec<RefIndex>), SubsetError> {
    let mut names: Vec<String> = spec.key.unwrap_or_default().to_vec();
    names.extend(spec.fks.iter().flat_map(|f| f.iter().cloned()));
    let (mut keys, mut scores) = (Vec::with_capacity(rows.len), Vec::new());
    let mut fks: Vec<Vec<Option<u128>>> = spec.fks.iter().map(|_| Vec::with_capacity(rows.len)).collect();
    for row in 0..rows.len {
        let (item, key_text) = match spec.key {
            Some(fields) => {
                let item = rows.attrs(row, &names)?;
                let text = tuple_text(&item, fields)
                    .ok_or_else(|| SubsetError::MissingKey { table: spec.table.to_string(), fields: fields.join(", ") })?;
                (item, text)
            }
            None => {
                let item = rows.item(row)?;
                let text = ddbjson::item_to_string(&item);
                (item, text)
            }
        };
        keys.push(key_hash(&key_text));
        if let Some(seed) = spec.seed {
            scores.push(score(seed, &key_text));
        }
        for (out, fields) in fks.iter_mut().zip(&spec.fks) {
            out.push(tuple_text(&item, fields).map(|t| key_hash(&t)));
        }
    }
    Ok((KeyIndex::new(keys, scores), fks.into_iter().map(RefIndex::new).collect()))
}

/// The canonical DynamoDB JSON of `fields` of `item`, in order; None when
/// one is missing or NULL (such a reference points nowhere, as in SQL).
fn tuple_text(item: &Item, fields: &[String]) -> Option<String> {
    let mut out = String::from("[");
    for (i, f) in fields.iter().enumerate() {
        let v = item.get(f).filter(|v| !matches!(v, AttrValue::Null))?;
        if i > 0 {
            out.push(',');
        }
        ddbjson::write_value(&mut out, v);
    }
    out.push(']');
    Some(out)
}

/// The seeded choice score of a key: SHA-256, so that it is the same in
/// every build and on every machine, and a key keeps its fate when other
/// items are added or removed.
pub fn score(seed: u64, key_text: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.to_be_bytes());
    h.update(key_text.as_bytes());
    let d = h.finalize();
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_are_canonical_and_null_means_no_reference() {
        let item: Item = [("a".to_string(), AttrValue::S("x".into())), ("n".to_string(), AttrValue::Null)].into_iter().collect();
        assert_eq!(tuple_text(&item, &["a".into()]).as_deref(), Some(r#"[{"S":"x"}]"#));
        assert_eq!(tuple_text(&item, &["a".into(), "n".into()]), None);
        assert_eq!(tuple_text(&item, &["missing".into()]), None);
        // an S key and an N reference of the same digits are different keys
        let s: Item = [("k".to_string(), AttrValue::S("1".into()))].into_iter().collect();
        let n: Item = [("k".to_string(), AttrValue::N(crate::item::Number::from_i64(1)))].into_iter().collect();
        assert_ne!(tuple_text(&s, &["k".into()]), tuple_text(&n, &["k".into()]));
    }

    #[test]
    fn scores_depend_on_seed_and_key_only() {
        assert_eq!(score(1, "[\"a\"]"), score(1, "[\"a\"]"));
        assert_ne!(score(1, "[\"a\"]"), score(2, "[\"a\"]"));
        assert_ne!(score(1, "[\"a\"]"), score(1, "[\"b\"]"));
    }
}
