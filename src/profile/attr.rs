//! One attribute's figures, gathered value by value and summarised.
//!
//! Values are counted by hash (see [`super::value`] and [`super::counts`]),
//! which gives the exact distinct count and the most common value's count
//! without keeping any value. The values' text is kept only while the attribute can
//! still qualify for a top list (scalar S/N/BOOL, at most `max_distinct`
//! distinct values, not a key): never more than `max_distinct` strings.

use std::collections::BTreeMap;

use serde::Serialize;

use super::counts::{HashMapById, ValueCounts};
use super::quantile::{Dist, Histogram};
use super::value::Measured;
use crate::item::DdbType;

/// What the data model says an attribute is (with `--amplify`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A field of the model's primary key.
    Key,
    /// The partition key of a secondary index.
    Index,
}

/// One attribute in the profile.
#[derive(Clone, Debug, Serialize)]
pub struct AttrShape {
    /// Items holding the attribute (any type, NULL included).
    pub present: u64,
    /// Items per DynamoDB type (`S`, `N`, ..., `NULL`), types seen only.
    pub types: BTreeMap<&'static str, u64>,
    pub nulls: u64,
    /// `nulls / items`.
    pub null_rate: f64,
    /// Lengths of the non-NULL values: S characters, N characters of the
    /// number's text, B bytes, SS/NS/BS/L/M elements (BOOL has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<Dist>,
    /// Distinct non-NULL values.
    pub distinct: u64,
    /// Items sharing the most common value (S/N attributes whose values repeat, and keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_value: Option<u64>,
    /// `max_per_value / items`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top: Option<Vec<TopValue>>,
}

/// A common value of a low-cardinality scalar attribute.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopValue {
    /// S as is, N as the number's text, BOOL as `true`/`false`.
    pub value: String,
    pub count: u64,
    /// The value's DynamoDB type (`S`, `N` or `BOOL`).
    #[serde(rename = "type")]
    pub ty: &'static str,
}

/// Limits on the values written.
#[derive(Clone, Copy, Debug)]
pub struct ValueLimits {
    /// Whether any value may be written at all (`--no-values` clears it).
    pub values: bool,
    pub top: usize,
    pub max_distinct: usize,
}

/// Gathers one attribute.
pub struct AttrAcc {
    types: [u64; 10],
    lengths: Histogram,
    counts: ValueCounts,
    /// Text of each value while a top list is still possible.
    texts: Option<HashMapById<(DdbType, String)>>,
    limits: ValueLimits,
    role: Option<Role>,
}

impl AttrAcc {
    pub fn new(limits: ValueLimits, role: Option<Role>) -> AttrAcc {
        let texts = (limits.values && limits.top > 0 && role != Some(Role::Key)).then(HashMapById::default);
        AttrAcc { types: [0; 10], lengths: Histogram::default(), counts: ValueCounts::default(), texts, limits, role }
    }

    pub fn add_null(&mut self) {
        self.types[DdbType::Null as usize] += 1;
    }

    /// Counts a non-NULL value; `text` is asked for only the first time a
    /// value is seen while a top list is possible.
    pub fn add(&mut self, m: &Measured, text: impl FnOnce() -> Option<String>) {
        self.types[m.ty as usize] += 1;
        if let Some(len) = m.len {
            self.lengths.add(len);
        }
        self.counts.add(m.hash);
        let Some(texts) = &mut self.texts else { return };
        if texts.contains_key(&m.hash) {
            return;
        }
        let scalar = matches!(m.ty, DdbType::S | DdbType::N | DdbType::Bool);
        match text() {
            Some(t) if scalar && texts.len() < self.limits.max_distinct => {
                texts.insert(m.hash, (m.ty, t));
            }
            _ => self.texts = None,
        }
    }

    pub fn finish(self, items: u64) -> AttrShape {
        let present: u64 = self.types.iter().sum();
        let nulls = self.types[DdbType::Null as usize];
        let values = present - nulls;
        let counted = self.counts.finish(self.texts.iter().flat_map(|t| t.keys().copied()));
        let distinct = counted.distinct;
        let types: BTreeMap<&'static str, u64> =
            DdbType::ALL.iter().filter(|t| self.types[**t as usize] > 0).map(|t| (t.name(), self.types[*t as usize])).collect();
        let key_like = values > 0 && types.keys().all(|t| matches!(*t, "S" | "N" | "NULL"));
        let max_per_value = (key_like && (distinct < values || self.role.is_some())).then_some(counted.max);
        // A top list only for values that repeat: an attribute whose every
        // value is unique identifies items, whatever the table's size.
        let top = self.texts.as_ref().filter(|_| distinct < values).map(|texts| top_values(texts, &counted.wanted, self.limits.top));
        AttrShape {
            present,
            types,
            nulls,
            null_rate: rate(nulls, items),
            length: self.lengths.dist(),
            distinct,
            max_per_value,
            max_share: max_per_value.map(|m| rate(m, items)),
            role: self.role,
            top: top.filter(|t| !t.is_empty()),
        }
    }
}

/// A share rounded to 6 decimals.
fn rate(n: u64, of: u64) -> f64 {
    if of == 0 { 0.0 } else { (n as f64 / of as f64 * 1e6).round() / 1e6 }
}

/// The `top` most common values, most common first, ties by type and text.
fn top_values(texts: &HashMapById<(DdbType, String)>, counts: &HashMapById<u64>, top: usize) -> Vec<TopValue> {
    let mut all: Vec<TopValue> = texts
        .iter()
        .map(|(h, (ty, text))| TopValue { value: text.clone(), count: counts.get(h).copied().unwrap_or(0), ty: ty.name() })
        .collect();
    all.sort_by(|a, b| b.count.cmp(&a.count).then(a.ty.cmp(b.ty)).then(a.value.cmp(&b.value)));
    all.truncate(top);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::value;

    fn limits() -> ValueLimits {
        ValueLimits { values: true, top: 2, max_distinct: 3 }
    }

    fn add_strings(acc: &mut AttrAcc, values: &[&str]) {
        for v in values {
            acc.add(&value::string(v), || Some(v.to_string()));
        }
    }

    #[test]
    fn counts_skew_and_bounded_top() {
        let mut acc = AttrAcc::new(limits(), None);
        add_strings(&mut acc, &["a", "b", "a", "c", "a", "b"]);
        acc.add_null();
        let s = acc.finish(8);
        assert_eq!((s.present, s.nulls, s.distinct), (7, 1, 3));
        assert_eq!((s.max_per_value, s.max_share), (Some(3), Some(0.375)));
        assert_eq!(s.null_rate, 0.125);
        let top = s.top.expect("top");
        assert_eq!(top.iter().map(|t| (t.value.as_str(), t.count)).collect::<Vec<_>>(), [("a", 3), ("b", 2)]);
    }

    #[test]
    fn no_top_beyond_max_distinct_for_keys_or_unique_values() {
        let mut many = AttrAcc::new(limits(), None);
        add_strings(&mut many, &["a", "b", "c", "d", "a"]);
        assert!(many.finish(5).top.is_none());
        let mut key = AttrAcc::new(limits(), Some(Role::Key));
        add_strings(&mut key, &["a", "a"]);
        let k = key.finish(2);
        assert!(k.top.is_none());
        assert_eq!(k.max_per_value, Some(2));
        let mut unique = AttrAcc::new(limits(), None);
        add_strings(&mut unique, &["a", "b"]);
        let u = unique.finish(2);
        assert!(u.top.is_none() && u.max_per_value.is_none());
    }
}
