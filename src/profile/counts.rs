//! Exact counts of values by hash: how many distinct, how many items share
//! the most common one, and the counts of chosen values.
//!
//! Low-cardinality columns (most of them) are counted in a small hash map
//! that stays in cache. Once a column has more than [`SMALL`] distinct
//! values, further hashes are appended to a vector and sorted at the end:
//! on a column of unique values (ids, emails) a sort of 8-byte hashes is
//! several times faster than random inserts into a map of millions of
//! entries (each a cache miss), and uses less memory (8 bytes a value,
//! where a map needs about twice that at its load factor).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Distinct values counted in the map before hashes spill to the vector.
const SMALL: usize = 1 << 14;

/// Keys are already uniformly distributed hashes: use them as they are.
#[derive(Default)]
pub struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ *b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

pub type HashMapById<V> = HashMap<u64, V, BuildHasherDefault<Identity>>;

#[derive(Default)]
pub struct ValueCounts {
    small: HashMapById<u64>,
    /// Hashes seen after `small` filled up, counted at the end.
    spill: Vec<u64>,
}

/// What the counts come to.
#[derive(Debug, PartialEq)]
pub struct Counted {
    pub distinct: u64,
    /// Items holding the most common value (0 when none).
    pub max: u64,
    /// The count of each value asked for.
    pub wanted: HashMapById<u64>,
}

impl ValueCounts {
    pub fn add(&mut self, hash: u64) {
        if self.spill.is_empty() && (self.small.len() < SMALL || self.small.contains_key(&hash)) {
            *self.small.entry(hash).or_insert(0) += 1;
        } else {
            self.spill.push(hash);
        }
    }

    /// Sorts what spilled and counts; `wanted` are the values whose counts are returned.
    pub fn finish(mut self, wanted: impl Iterator<Item = u64>) -> Counted {
        let mut wanted: HashMapById<u64> = wanted.map(|h| (h, self.small.get(&h).copied().unwrap_or(0))).collect();
        let mut distinct = self.small.len() as u64;
        let mut max = self.small.values().copied().max().unwrap_or(0);
        self.spill.sort_unstable();
        for run in self.spill.chunk_by(|a, b| a == b) {
            let before = self.small.get(&run[0]).copied().unwrap_or(0);
            distinct += u64::from(before == 0);
            let total = before + run.len() as u64;
            max = max.max(total);
            if let Some(w) = wanted.get_mut(&run[0]) {
                *w = total;
            }
        }
        Counted { distinct, max, wanted }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts by a plain map, to compare against.
    fn by_map(values: &[u64]) -> (u64, u64, HashMap<u64, u64>) {
        let mut m = HashMap::new();
        values.iter().for_each(|v| *m.entry(*v).or_insert(0u64) += 1);
        (m.len() as u64, m.values().copied().max().unwrap_or(0), m)
    }

    #[test]
    fn spilled_counts_equal_map_counts() {
        // Values seen before and after the spill, repeated values, and many unique ones.
        let mut values: Vec<u64> = (0..SMALL as u64).map(|i| i * 7919).collect();
        values.extend((0..3 * SMALL as u64).map(|i| i * 31 % (SMALL as u64 * 2)));
        values.extend([5 * 7919, 5 * 7919, 5 * 7919, u64::MAX, u64::MAX]);
        let mut c = ValueCounts::default();
        values.iter().for_each(|v| c.add(*v));
        assert!(!c.spill.is_empty(), "the test crosses the spill");
        let asked = [5 * 7919, u64::MAX, 31, 12345678];
        let got = c.finish(asked.into_iter());
        let (distinct, max, m) = by_map(&values);
        assert_eq!((got.distinct, got.max), (distinct, max));
        for h in asked {
            assert_eq!(got.wanted[&h], m.get(&h).copied().unwrap_or(0), "{h}");
        }
    }

    #[test]
    fn empty() {
        let got = ValueCounts::default().finish(std::iter::empty());
        assert_eq!((got.distinct, got.max), (0, 0));
    }
}
