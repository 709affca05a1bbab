//! Statistics gathered over every item, used to choose column types and to
//! describe a table (`inspect`).
//!
//! The schema is inferred over all items, not a sample: a type that shows up
//! once in the last file still decides the column. That is what keeps type
//! drift visible; DataFusion's and DuckDB's sampled inference can turn such a
//! value into NULL. Statistics are small (a few counters per attribute), so
//! they cost bounded memory whatever the table's size.

use std::collections::BTreeMap;

use serde::Serialize;

use super::fast_json::{NumInfo, ScannedValue};
use super::shape::Shape;
use crate::item::{AttrValue, DdbType, Item, Number, size};

/// How a column of numbers can be held exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum NumKind {
    /// Every value an integer within `i64`.
    Int64,
    /// Every value fits `Decimal128(38, scale)`.
    Decimal(i8),
    /// Canonical decimal text (numbers no single Decimal128 scale holds).
    Text,
}

/// Shape of the numbers seen in one place.
#[derive(Clone, Debug, Serialize)]
pub struct NumberShape {
    pub count: u64,
    pub all_i64: bool,
    pub max_integer_digits: usize,
    pub max_fraction_digits: usize,
}

impl Default for NumberShape {
    fn default() -> Self {
        NumberShape { count: 0, all_i64: true, max_integer_digits: 0, max_fraction_digits: 0 }
    }
}

impl NumberShape {
    pub fn add(&mut self, n: &Number) {
        self.count += 1;
        if self.all_i64 && n.to_i64().is_none() {
            self.all_i64 = false;
        }
        self.max_integer_digits = self.max_integer_digits.max(n.integer_digits());
        self.max_fraction_digits = self.max_fraction_digits.max(n.fraction_digits());
    }

    pub fn add_info(&mut self, n: &NumInfo) {
        self.count += 1;
        self.all_i64 &= n.fits_i64;
        self.max_integer_digits = self.max_integer_digits.max(n.integer_digits);
        self.max_fraction_digits = self.max_fraction_digits.max(n.fraction_digits);
    }

    pub fn merge(&mut self, o: &NumberShape) {
        self.count += o.count;
        self.all_i64 &= o.all_i64;
        self.max_integer_digits = self.max_integer_digits.max(o.max_integer_digits);
        self.max_fraction_digits = self.max_fraction_digits.max(o.max_fraction_digits);
    }

    pub fn kind(&self) -> NumKind {
        if self.all_i64 {
            NumKind::Int64
        } else if self.max_integer_digits + self.max_fraction_digits <= 38 {
            NumKind::Decimal(self.max_fraction_digits as i8)
        } else {
            NumKind::Text
        }
    }
}

/// Per attribute.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AttrStats {
    /// Items holding the attribute, by DynamoDB type (index = `DdbType as u8`).
    pub counts: [u64; 10],
    /// Shape of N values.
    pub number: NumberShape,
    /// Shape of NS members.
    pub set_number: NumberShape,
    /// Sum of value sizes (DynamoDB's size rules, name included).
    pub bytes: u64,
    /// The fields and elements of its maps and lists, which decide whether
    /// they can be a struct or a list (see [`super::shape`]).
    #[serde(skip)]
    pub nested: Option<Box<Shape>>,
}

impl AttrStats {
    pub fn present(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Types seen, excluding NULL.
    pub fn value_types(&self) -> Vec<DdbType> {
        DdbType::ALL.into_iter().filter(|t| *t != DdbType::Null && self.counts[*t as usize] > 0).collect()
    }

    /// Counts one value; returns its size (name included).
    pub fn add_value(&mut self, name_len: usize, value: &AttrValue) -> u64 {
        self.counts[value.ddb_type() as usize] += 1;
        match value {
            AttrValue::N(n) => self.number.add(n),
            AttrValue::Ns(ns) => ns.iter().for_each(|n| self.set_number.add(n)),
            AttrValue::M(_) | AttrValue::L(_) => self.nested.get_or_insert_default().add_children(value),
            _ => {}
        }
        let b = (name_len + size::value_size(value)) as u64;
        self.bytes += b;
        b
    }

    /// The same for a value read by the fast scanner, whose maps, lists and
    /// sets are in `packed`.
    pub fn add_scanned(&mut self, name_len: usize, value: &ScannedValue<'_>, packed: &[u8]) -> Result<u64, String> {
        self.counts[value.ddb_type() as usize] += 1;
        let size = match value {
            ScannedValue::S(s) => s.len(),
            ScannedValue::N(_, info) => {
                self.number.add_info(info);
                info.significant_digits.div_ceil(2) + 1
            }
            ScannedValue::B(b) => b.len(),
            ScannedValue::Bool(_) | ScannedValue::Null => 1,
            ScannedValue::Packed(_, range) => {
                let v = super::packed::value(&packed[range.clone()])?;
                match v.ty {
                    DdbType::Ns => {
                        for x in v.elements() {
                            self.set_number.add_info(&NumInfo::of_canonical(x?.str()?).ok_or("a damaged packed number")?);
                        }
                    }
                    DdbType::M | DdbType::L => self.nested.get_or_insert_default().add_packed_children(v)?,
                    _ => {}
                }
                super::packed::size(v)?
            }
        };
        let b = (name_len + size) as u64;
        self.bytes += b;
        Ok(b)
    }

    pub fn merge(&mut self, o: &AttrStats) {
        for i in 0..10 {
            self.counts[i] += o.counts[i];
        }
        self.number.merge(&o.number);
        self.set_number.merge(&o.set_number);
        self.bytes += o.bytes;
        if let Some(theirs) = &o.nested {
            self.nested.get_or_insert_default().merge(theirs);
        }
    }
}

/// Item sizes in DynamoDB write-unit steps (1 KB): bucket i counts items of
/// i+1 units; the last bucket holds everything larger.
pub const SIZE_BUCKETS: usize = 16;

#[derive(Clone, Debug, Default, Serialize)]
pub struct TableStats {
    pub items: u64,
    pub attrs: BTreeMap<String, AttrStats>,
    pub total_item_bytes: u64,
    pub max_item_bytes: u64,
    /// Items by write units (1 KB steps); the last bucket holds every item
    /// of 16 units or more, so totals come from `total_write_units`.
    pub size_buckets: [u64; SIZE_BUCKETS],
    /// Write units to put every item once, each item counted exactly.
    pub total_write_units: u64,
}

impl TableStats {
    pub fn add(&mut self, item: &Item) {
        let mut item_bytes = 0u64;
        for (name, value) in item {
            let st = match self.attrs.get_mut(name) {
                Some(st) => st,
                None => self.attrs.entry(name.clone()).or_default(),
            };
            item_bytes += st.add_value(name.len(), value);
        }
        self.finish_item(item_bytes);
    }

    /// Counts one item of `item_bytes` (its attributes are counted apart).
    pub fn finish_item(&mut self, item_bytes: u64) {
        self.items += 1;
        self.total_item_bytes += item_bytes;
        self.max_item_bytes = self.max_item_bytes.max(item_bytes);
        let units = item_bytes.max(1).div_ceil(1024);
        self.total_write_units += units;
        self.size_buckets[(units as usize - 1).min(SIZE_BUCKETS - 1)] += 1;
    }

    pub fn merge(&mut self, o: &TableStats) {
        self.items += o.items;
        for (k, v) in &o.attrs {
            self.attrs.entry(k.clone()).or_default().merge(v);
        }
        self.total_item_bytes += o.total_item_bytes;
        self.max_item_bytes = self.max_item_bytes.max(o.max_item_bytes);
        for i in 0..SIZE_BUCKETS {
            self.size_buckets[i] += o.size_buckets[i];
        }
        self.total_write_units += o.total_write_units;
    }

    /// Write units to put every item once (1 KB steps, as DynamoDB bills).
    pub fn write_units(&self) -> u64 {
        self.total_write_units
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn number_kinds() {
        let mut s = NumberShape::default();
        s.add(&n("12"));
        s.add(&n("-9000000000000000000"));
        assert_eq!(s.kind(), NumKind::Int64);
        s.add(&n("1.25"));
        assert_eq!(s.kind(), NumKind::Decimal(2));
        s.add(&n("1E-130"));
        assert_eq!(s.kind(), NumKind::Text);
        let mut big = NumberShape::default();
        big.add(&n("12345678901234567890123456789012345678"));
        assert_eq!(big.kind(), NumKind::Decimal(0));
    }

    #[test]
    fn counts_types_and_sizes() {
        let mut t = TableStats::default();
        let mut item = Item::new();
        item.insert("age".into(), AttrValue::N(n("3")));
        t.add(&item);
        item.insert("age".into(), AttrValue::S("three".into()));
        t.add(&item);
        let a = &t.attrs["age"];
        assert_eq!(a.counts[DdbType::N as usize], 1);
        assert_eq!(a.counts[DdbType::S as usize], 1);
        assert_eq!(a.value_types(), vec![DdbType::S, DdbType::N]);
        assert_eq!(t.write_units(), 2);
    }

    /// An item of 100 KB costs 100 units, not the 16 of the last size bucket.
    #[test]
    fn large_items_count_every_unit() {
        let mut t = TableStats::default();
        t.finish_item(100 * 1024);
        t.finish_item(1);
        assert_eq!(t.write_units(), 101);
        let mut u = TableStats::default();
        u.merge(&t);
        assert_eq!(u.write_units(), 101);
    }
}
