//! Comparing a table with what it should hold in bounded memory: each side
//! is a 128-bit digest per key and item, never the items themselves.
//!
//! What the table should hold is a map from key hash to item digest (32
//! bytes an item, about 60 MB for a million items with the map's slack).
//! The scan streams past it page by page: each item found takes its
//! expected digest out of the map, so what is left at the end is missing.
//! Only the few differences shown as samples are ever held as items: the
//! found ones as the scan sees them, the expected ones read again at the
//! end from the snapshot and the plan ([`Comparer::finish`]).

use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasherDefault;

use serde::Serialize;

use super::scan::key_json;
use crate::convert::raw::FxHasher;
use crate::error::Result;
use crate::item::{Item, ddbjson, sets_sorted};
use crate::plan::targets::key_hash;

/// Differences kept as samples per table.
const SAMPLES: usize = 10;

/// Item digests by key hash (the hashes are the keys: no hashing again).
pub type Digests = HashMap<u128, u128, BuildHasherDefault<FxHasher>>;

/// The 128-bit digest of an item in its canonical form (sets sorted, as
/// DynamoDB keeps no order in them): two items have one digest exactly
/// when [`crate::item::same_item`] holds, but for odds of about 2^-128.
pub fn item_digest(item: &Item) -> u128 {
    if item.values().all(sets_sorted) {
        key_hash(&ddbjson::item_to_string(item))
    } else {
        key_hash(&ddbjson::item_to_string(&crate::plan::canonical(item)))
    }
}

/// The hash of `item`'s key (the attributes of `key` it has).
pub fn key_of(item: &Item, key: &[String]) -> u128 {
    key_hash(&key_json(item, key))
}

/// How a table compares with what it should hold.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Comparison {
    pub table: String,
    pub expected: u64,
    pub found: u64,
    pub equal: u64,
    /// Items present on both sides that differ.
    pub differing: u64,
    /// Expected items the table does not have.
    pub missing: u64,
    /// Items the table has that were not expected.
    pub unexpected: u64,
    /// The first differences: key, expected and found item (DynamoDB JSON).
    pub samples: Vec<Difference>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Difference {
    pub key: String,
    pub expected: Option<String>,
    pub found: Option<String>,
}

impl Comparison {
    pub fn matches(&self) -> bool {
        self.differing == 0 && self.missing == 0 && self.unexpected == 0
    }
}

/// A sample difference before its expected item is read again.
struct Pending {
    hash: u128,
    key: String,
    /// The item found (None: missing), or None when it was not expected.
    found: Option<Item>,
    was_expected: bool,
}

/// Compares the items of one table, streamed, with their expected digests.
pub struct Comparer {
    key: Vec<String>,
    expected: Digests,
    c: Comparison,
    pending: Vec<Pending>,
}

impl Comparer {
    pub fn new(table: &str, key: &[String], expected: Digests) -> Comparer {
        let c = Comparison {
            table: table.to_string(),
            expected: expected.len() as u64,
            found: 0,
            equal: 0,
            differing: 0,
            missing: 0,
            unexpected: 0,
            samples: Vec::new(),
        };
        Comparer { key: key.to_vec(), expected, c, pending: Vec::new() }
    }

    /// One item the table holds.
    pub fn see(&mut self, item: &Item) {
        self.c.found += 1;
        let hash = key_of(item, &self.key);
        let was_expected = match self.expected.remove(&hash) {
            Some(d) if d == item_digest(item) => {
                self.c.equal += 1;
                return;
            }
            Some(_) => {
                self.c.differing += 1;
                true
            }
            None => {
                self.c.unexpected += 1;
                false
            }
        };
        if self.pending.len() < SAMPLES {
            self.pending.push(Pending { hash, key: key_json(item, &self.key), found: Some(item.clone()), was_expected });
        }
    }

    /// The comparison, once the scan is over. `expected_items` reads again
    /// the expected items of the key hashes it is given (the few samples).
    pub fn finish(mut self, expected_items: impl FnOnce(&BTreeSet<u128>) -> Result<HashMap<u128, Item>>) -> Result<Comparison> {
        self.c.missing = self.expected.len() as u64;
        let mut missing: Vec<u128> = self.expected.into_keys().collect();
        missing.sort_unstable();
        for hash in missing.into_iter().take(SAMPLES.saturating_sub(self.pending.len())) {
            self.pending.push(Pending { hash, key: String::new(), found: None, was_expected: true });
        }
        let wanted: BTreeSet<u128> = self.pending.iter().filter(|p| p.was_expected).map(|p| p.hash).collect();
        let items = if wanted.is_empty() { HashMap::new() } else { expected_items(&wanted)? };
        for p in self.pending {
            let expected = items.get(&p.hash).filter(|_| p.was_expected);
            let key = match (&p.found, expected) {
                (None, Some(e)) => key_json(e, &self.key),
                _ => p.key,
            };
            self.c.samples.push(Difference {
                key,
                expected: expected.map(ddbjson::item_to_string),
                found: p.found.as_ref().map(ddbjson::item_to_string),
            });
        }
        Ok(self.c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: &str) -> Item {
        ddbjson::item_from_str(json).unwrap()
    }

    fn digests(items: &[&Item], key: &[String]) -> Digests {
        items.iter().map(|i| (key_of(i, key), item_digest(i))).collect()
    }

    #[test]
    fn counts_equal_differing_missing_and_unexpected_from_digests() {
        let key = vec!["id".to_string()];
        let a = item(r#"{"id":{"S":"a"},"n":{"N":"1"}}"#);
        let b = item(r#"{"id":{"S":"b"},"n":{"N":"2"}}"#);
        let c = item(r#"{"id":{"S":"c"},"s":{"SS":["x","y"]}}"#);
        let e = item(r#"{"id":{"S":"e"},"deep":{"M":{"l":{"L":[{"NS":["10","9"]}]}}}}"#);
        let mut cmp = Comparer::new("T", &key, digests(&[&a, &b, &c, &e], &key));
        let b2 = item(r#"{"id":{"S":"b"},"n":{"N":"2"},"extra":{"NULL":true}}"#);
        let d = item(r#"{"id":{"S":"d"}}"#);
        // Sets in another order, at any depth, are the same item.
        let c2 = item(r#"{"id":{"S":"c"},"s":{"SS":["y","x"]}}"#);
        for found in [&a, &b2, &d, &c2] {
            cmp.see(found);
        }
        let all = [a.clone(), b.clone(), c.clone(), e.clone()];
        let reread = |wanted: &BTreeSet<u128>| -> Result<HashMap<u128, Item>> {
            Ok(all.iter().filter(|i| wanted.contains(&key_of(i, &key))).map(|i| (key_of(i, &key), i.clone())).collect())
        };
        let r = cmp.finish(reread).unwrap();
        assert_eq!((r.expected, r.found, r.equal, r.differing, r.missing, r.unexpected), (4, 4, 2, 1, 1, 1));
        assert!(!r.matches());
        let by_key: HashMap<&str, &Difference> = r.samples.iter().map(|d| (d.key.as_str(), d)).collect();
        assert_eq!(by_key[r#"{"id":{"S":"b"}}"#].expected.as_deref(), Some(ddbjson::item_to_string(&b).as_str()));
        assert!(by_key[r#"{"id":{"S":"b"}}"#].found.as_deref().unwrap().contains("extra"));
        assert_eq!(by_key[r#"{"id":{"S":"d"}}"#].expected, None);
        let missing = by_key[r#"{"id":{"S":"e"}}"#];
        assert_eq!((missing.expected.as_deref(), missing.found.as_deref()), (Some(ddbjson::item_to_string(&e).as_str()), None));
    }

    #[test]
    fn a_set_in_another_order_has_the_same_digest_and_a_changed_value_another() {
        let a = item(r#"{"id":{"S":"a"},"m":{"M":{"ns":{"NS":["3","1","20"]}}}}"#);
        let b = item(r#"{"id":{"S":"a"},"m":{"M":{"ns":{"NS":["20","3","1"]}}}}"#);
        let c = item(r#"{"id":{"S":"a"},"m":{"M":{"ns":{"NS":["20","3","2"]}}}}"#);
        assert_eq!(item_digest(&a), item_digest(&b));
        assert_ne!(item_digest(&a), item_digest(&c));
        assert_ne!(item_digest(&item(r#"{"id":{"S":"a"},"x":{"NULL":true}}"#)), item_digest(&item(r#"{"id":{"S":"a"}}"#)));
    }

    #[test]
    fn an_empty_comparison_matches_and_reads_nothing_again() {
        let cmp = Comparer::new("T", &["id".to_string()], Digests::default());
        let r = cmp.finish(|_| panic!("nothing to read again")).unwrap();
        assert!(r.matches());
    }
}
