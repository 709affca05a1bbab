//! The item model: one DynamoDB item, exactly as DynamoDB holds it.
//!
//! Every reader (DynamoDB JSON, Amazon Ion) decodes into these types and every
//! writer (Arrow, Parquet, the generator, later the DynamoDB writer) starts from
//! them, so exactness is decided in one place: numbers are [`Number`]s (never
//! floats), sets stay distinct from lists, `NULL` stays distinct from a missing
//! attribute, and binary stays bytes.

pub mod ddbjson;
pub mod number;
pub mod size;

use std::collections::BTreeMap;

pub use number::{Number, NumberError};

/// An item: attribute name to value. DynamoDB items are unordered maps; a
/// `BTreeMap` makes equality and output deterministic.
pub type Item = BTreeMap<String, AttrValue>;

/// One DynamoDB attribute value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttrValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(BTreeMap<String, AttrValue>),
    L(Vec<AttrValue>),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
}

/// The ten DynamoDB attribute types, in the order used for type tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum DdbType {
    S = 0,
    N = 1,
    B = 2,
    Bool = 3,
    Null = 4,
    M = 5,
    L = 6,
    Ss = 7,
    Ns = 8,
    Bs = 9,
}

impl DdbType {
    pub const ALL: [DdbType; 10] =
        [DdbType::S, DdbType::N, DdbType::B, DdbType::Bool, DdbType::Null, DdbType::M, DdbType::L, DdbType::Ss, DdbType::Ns, DdbType::Bs];

    /// DynamoDB's own name of the type, as in `{"S": ...}`.
    pub fn name(self) -> &'static str {
        match self {
            DdbType::S => "S",
            DdbType::N => "N",
            DdbType::B => "B",
            DdbType::Bool => "BOOL",
            DdbType::Null => "NULL",
            DdbType::M => "M",
            DdbType::L => "L",
            DdbType::Ss => "SS",
            DdbType::Ns => "NS",
            DdbType::Bs => "BS",
        }
    }

    pub fn from_name(name: &str) -> Option<DdbType> {
        DdbType::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn from_index(i: u8) -> Option<DdbType> {
        DdbType::ALL.get(i as usize).copied()
    }
}

impl AttrValue {
    pub fn ddb_type(&self) -> DdbType {
        match self {
            AttrValue::S(_) => DdbType::S,
            AttrValue::N(_) => DdbType::N,
            AttrValue::B(_) => DdbType::B,
            AttrValue::Bool(_) => DdbType::Bool,
            AttrValue::Null => DdbType::Null,
            AttrValue::M(_) => DdbType::M,
            AttrValue::L(_) => DdbType::L,
            AttrValue::Ss(_) => DdbType::Ss,
            AttrValue::Ns(_) => DdbType::Ns,
            AttrValue::Bs(_) => DdbType::Bs,
        }
    }

    /// Depth of nesting: scalars are 1, a map holding a scalar 2, and so on.
    pub fn depth(&self) -> usize {
        match self {
            AttrValue::M(m) => 1 + m.values().map(AttrValue::depth).max().unwrap_or(0),
            AttrValue::L(l) => 1 + l.iter().map(AttrValue::depth).max().unwrap_or(0),
            _ => 1,
        }
    }
}

/// A 128-bit hash of `v` (two salted 64-bit hashes): millions of keys or
/// lines are told apart without storing them, with odds of a collision of
/// about 2^-128 for any two.
pub fn hash128<T: std::hash::Hash + ?Sized>(v: &T) -> u128 {
    use std::hash::Hasher;
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&salt, &mut h);
        v.hash(&mut h);
        h.finish() as u128
    };
    (half(0) << 64) | half(1)
}

/// Sets are unordered in DynamoDB: two items are the same item when their
/// sets hold the same members in any order. Used by tests and comparisons.
pub fn same_item(a: &Item, b: &Item) -> bool {
    a.len() == b.len() && a.iter().zip(b.iter()).all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
}

/// [`same_item`] where either side may be no item at all (deleted, or never
/// written): two absences are the same, an absence and an item are not.
pub fn same_maybe_item(a: Option<&Item>, b: Option<&Item>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => same_item(a, b),
        _ => false,
    }
}

pub fn same_value(a: &AttrValue, b: &AttrValue) -> bool {
    fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
        let mut v = v.to_vec();
        v.sort();
        v
    }
    match (a, b) {
        (AttrValue::Ss(x), AttrValue::Ss(y)) => sorted(x) == sorted(y),
        (AttrValue::Ns(x), AttrValue::Ns(y)) => sorted(x) == sorted(y),
        (AttrValue::Bs(x), AttrValue::Bs(y)) => sorted(x) == sorted(y),
        (AttrValue::M(x), AttrValue::M(y)) => same_item(x, y),
        (AttrValue::L(x), AttrValue::L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q)),
        _ => a == b,
    }
}

/// Sorts every set's members, at any depth. DynamoDB keeps no order in a
/// set, so this is the canonical form: the one text a value is stored and
/// compared as, whatever order the export listed the members in.
pub fn sort_sets(v: &mut AttrValue) {
    match v {
        AttrValue::Ss(s) => s.sort(),
        AttrValue::Ns(n) => n.sort_by(Number::cmp_value),
        AttrValue::Bs(b) => b.sort(),
        AttrValue::M(m) => m.values_mut().for_each(sort_sets),
        AttrValue::L(l) => l.iter_mut().for_each(sort_sets),
        _ => {}
    }
}

/// Whether every set in `v` is already sorted (no copy needed).
pub fn sets_sorted(v: &AttrValue) -> bool {
    match v {
        AttrValue::Ss(s) => s.is_sorted(),
        AttrValue::Ns(n) => n.is_sorted_by(|a, b| a.cmp_value(b).is_le()),
        AttrValue::Bs(b) => b.is_sorted(),
        AttrValue::M(m) => m.values().all(sets_sorted),
        AttrValue::L(l) => l.iter().all(sets_sorted),
        _ => true,
    }
}

/// DynamoDB's rule for a set's members: at least one, none twice (numbers
/// by value: `1` and `1.0` are the same member). DynamoDB cannot hold any
/// other set, so reading, planning and plan validation all refuse one.
pub fn check_set<T: std::hash::Hash + Eq>(members: impl IntoIterator<Item = T>, t: DdbType) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for m in members {
        if !seen.insert(m) {
            return Err(format!("a {} holds the same member twice; DynamoDB sets hold each member once", t.name()));
        }
    }
    if seen.is_empty() {
        return Err(format!("an empty {}: DynamoDB has no empty sets (remove the attribute instead)", t.name()));
    }
    Ok(())
}
