//! Exact distributions of non-negative integers (lengths, item sizes) in
//! memory bounded by the number of *different* values, not of values.
//!
//! A profile needs min, p50, p90, p99, max and mean of value lengths and item
//! sizes over millions of items. Lengths and sizes are small integers that
//! repeat a lot (an item is at most 400 KB), so a frequency table is exact
//! and smaller than any sketch: values below [`DENSE`] are counted in an
//! array (one add is an index), larger ones in a `BTreeMap`. Quantiles use
//! the nearest-rank definition: the p-quantile of n values is the smallest
//! value v such that at least ceil(p * n) values are <= v.

use std::collections::BTreeMap;

use serde::Serialize;

/// Values below this are counted in a dense array.
const DENSE: usize = 1 << 16;

/// A frequency table of `u64` values.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    dense: Vec<u64>,
    sparse: BTreeMap<u64, u64>,
    count: u64,
    sum: u128,
}

/// Summary of a distribution, as written to the profile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dist {
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    /// Arithmetic mean, rounded to 2 decimals.
    pub mean: f64,
}

impl Histogram {
    pub fn add(&mut self, v: u64) {
        self.add_n(v, 1);
    }

    /// Counts `v` `n` times.
    pub fn add_n(&mut self, v: u64, n: u64) {
        if n == 0 {
            return;
        }
        if (v as usize) < DENSE {
            let i = v as usize;
            if self.dense.len() <= i {
                self.dense.resize((i + 1).next_power_of_two().min(DENSE), 0);
            }
            self.dense[i] += n;
        } else {
            *self.sparse.entry(v).or_default() += n;
        }
        self.count += n;
        self.sum += v as u128 * n as u128;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn merge(&mut self, o: &Histogram) {
        for (v, n) in o.iter() {
            self.add_n(v, n);
        }
    }

    /// (value, count) in increasing value order, counts > 0.
    fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let dense = self.dense.iter().enumerate().filter(|(_, n)| **n > 0).map(|(v, n)| (v as u64, *n));
        dense.chain(self.sparse.iter().map(|(v, n)| (*v, *n)))
    }

    /// The nearest-rank quantiles; None when no value was added.
    pub fn dist(&self) -> Option<Dist> {
        if self.count == 0 {
            return None;
        }
        let ranks = [0.5, 0.9, 0.99].map(|p| ((p * self.count as f64).ceil() as u64).max(1));
        let mut found = [0u64; 3];
        let (mut seen, mut next, mut min, mut max) = (0u64, 0usize, None, 0u64);
        for (v, n) in self.iter() {
            min.get_or_insert(v);
            max = v;
            seen += n;
            while next < ranks.len() && seen >= ranks[next] {
                found[next] = v;
                next += 1;
            }
        }
        let mean = (self.sum as f64 / self.count as f64 * 100.0).round() / 100.0;
        Some(Dist { min: min.unwrap_or(0), p50: found[0], p90: found[1], p99: found[2], max, mean })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nearest-rank quantile by sorting, to compare against.
    fn sorted_quantile(values: &[u64], p: f64) -> u64 {
        let mut v = values.to_vec();
        v.sort_unstable();
        let rank = ((p * v.len() as f64).ceil() as usize).max(1);
        v[rank - 1]
    }

    #[test]
    fn one_to_hundred() {
        let mut h = Histogram::default();
        for v in (1..=100).rev() {
            h.add(v);
        }
        assert_eq!(h.dist(), Some(Dist { min: 1, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 }));
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(Histogram::default().dist(), None);
        let mut h = Histogram::default();
        h.add(7);
        assert_eq!(h.dist(), Some(Dist { min: 7, p50: 7, p90: 7, p99: 7, max: 7, mean: 7.0 }));
    }

    #[test]
    fn agrees_with_sorting_across_dense_and_sparse_values() {
        // A deterministic spread of small, repeated and very large values.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut values = Vec::new();
        for i in 0..5000u64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.push(match i % 4 {
                0 => state % 10,
                1 => state % 70_000,
                2 => 400_000 + state % 1000,
                _ => 42,
            });
        }
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        for (i, v) in values.iter().enumerate() {
            if i % 3 == 0 { a.add(*v) } else { b.add(*v) }
        }
        a.merge(&b);
        let d = a.dist().expect("values");
        assert_eq!(a.count(), values.len() as u64);
        assert_eq!(d.min, *values.iter().min().expect("min"));
        assert_eq!(d.max, *values.iter().max().expect("max"));
        assert_eq!(d.p50, sorted_quantile(&values, 0.5));
        assert_eq!(d.p90, sorted_quantile(&values, 0.9));
        assert_eq!(d.p99, sorted_quantile(&values, 0.99));
        let mean = values.iter().sum::<u64>() as f64 / values.len() as f64;
        assert!((d.mean - mean).abs() < 0.006, "{} vs {mean}", d.mean);
    }
}
