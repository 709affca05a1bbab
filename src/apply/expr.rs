//! One planned operation as a DynamoDB write: the update expression, the
//! condition that the item is still as the snapshot saw it, and the item
//! expected afterwards (what a re-run after a crash recognises as its own
//! earlier write).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue as Av;

use super::value::to_sdk;
use crate::item::{AttrValue, Item, Number};
use crate::plan::file::StoredOp;
use crate::plan::rows::OpKind;

/// Attributes Amplify and DataStore use to notice changes: always part of
/// the condition when the item has them.
pub const VERSION_ATTRS: [&str; 3] = ["updatedAt", "_version", "_lastChangedAt"];

/// A write ready for the SDK.
#[derive(Debug, Clone)]
pub struct Write {
    pub kind: OpKind,
    pub key: Item,
    /// UPDATE: `SET ... REMOVE ...`.
    pub update: Option<String>,
    /// PUT: the whole item.
    pub item: Option<Item>,
    /// None: an unconditional write (a PUT into a table the snapshot does not hold).
    pub condition: Option<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, Av>,
    /// The item as this write leaves it (None: deleted).
    pub expected: Option<Item>,
}

/// What the apply adds to each write, the same on every run of one apply.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// ISO 8601 time written to `updatedAt`.
    pub now: String,
    /// The same time in epoch milliseconds, for `_lastChangedAt`.
    pub now_ms: i64,
}

struct Placeholders {
    names: HashMap<String, String>,
    by_name: HashMap<String, String>,
    values: HashMap<String, Av>,
}

impl Placeholders {
    fn new() -> Self {
        Placeholders { names: HashMap::new(), by_name: HashMap::new(), values: HashMap::new() }
    }
    fn name(&mut self, n: &str) -> String {
        if let Some(p) = self.by_name.get(n) {
            return p.clone();
        }
        let p = format!("#n{}", self.names.len());
        self.names.insert(p.clone(), n.to_string());
        self.by_name.insert(n.to_string(), p.clone());
        p
    }
    fn value(&mut self, v: &AttrValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), to_sdk(v));
        p
    }
}

/// Amplify's bookkeeping on the item after a write: `updatedAt` where the
/// item has it (or is an Amplify item), `_version` incremented and
/// `_lastChangedAt` set where the item has DataStore fields.
fn stamp_item(before: Option<&Item>, after: &mut Item, stamp: &Stamp) {
    let had_updated = before.is_some_and(|b| b.contains_key("updatedAt")) || after.contains_key("updatedAt");
    let had_version = before.is_some_and(|b| b.contains_key("_version")) || after.contains_key("_version");
    if had_updated || after.contains_key("__typename") {
        after.insert("updatedAt".into(), AttrValue::S(stamp.now.clone()));
    }
    if had_version {
        let old = before.and_then(|b| b.get("_version")).and_then(|v| if let AttrValue::N(n) = v { n.to_i64() } else { None }).unwrap_or(0);
        after.insert("_version".into(), AttrValue::N(Number::from_i64(old + 1)));
        after.insert("_lastChangedAt".into(), AttrValue::N(Number::from_i64(stamp.now_ms)));
    }
}

/// The write for `op`. `reads` are the attributes the transform read; those
/// the item has are part of the condition too.
pub fn write_for(op: &StoredOp, key_names: &[String], reads: &BTreeSet<String>, in_snapshot: bool, stamp: &Stamp) -> Write {
    let mut p = Placeholders::new();
    let mut expected = op.after();
    if let Some(after) = expected.as_mut() {
        stamp_item(op.before.as_ref(), after, stamp);
    }
    let mut conds = Vec::new();
    let mut touched: BTreeSet<String> = BTreeSet::new();
    let (update, item) = match op.kind {
        OpKind::Update => {
            let after = expected.as_ref().expect("an UPDATE leaves an item");
            let before = op.before.as_ref().expect("an UPDATE has a before-image");
            let mut sets = Vec::new();
            let mut removes = Vec::new();
            for (k, v) in after {
                if !key_names.contains(k) && before.get(k) != Some(v) {
                    let (n, val) = (p.name(k), p.value(v));
                    sets.push(format!("{n} = {val}"));
                    touched.insert(k.clone());
                }
            }
            for k in before.keys().filter(|k| !after.contains_key(*k)) {
                removes.push(p.name(k));
                touched.insert(k.clone());
            }
            let mut text = String::new();
            if !sets.is_empty() {
                text.push_str(&format!("SET {}", sets.join(", ")));
            }
            if !removes.is_empty() {
                text.push_str(&format!("{}REMOVE {}", if text.is_empty() { "" } else { " " }, removes.join(", ")));
            }
            (Some(text), None)
        }
        OpKind::Put => {
            let after = expected.clone().expect("a PUT writes an item");
            touched.extend(after.keys().cloned());
            if let Some(b) = &op.before {
                touched.extend(b.keys().cloned());
            }
            (None, Some(after))
        }
        OpKind::Delete => {
            touched.extend(op.before.iter().flat_map(|b| b.keys().cloned()));
            (None, None)
        }
    };
    let condition = match &op.before {
        None if !in_snapshot => None,
        None => Some(format!("attribute_not_exists({})", p.name(&key_names[0]))),
        Some(before) => {
            let mut attrs: BTreeSet<&str> = touched.iter().map(String::as_str).collect();
            attrs.extend(reads.iter().map(String::as_str));
            attrs.extend(VERSION_ATTRS);
            for a in attrs.into_iter().filter(|a| !key_names.iter().any(|k| k == a)) {
                match before.get(a) {
                    Some(v) => {
                        let (n, val) = (p.name(a), p.value(v));
                        conds.push(format!("{n} = {val}"));
                    }
                    None if touched.contains(a) || VERSION_ATTRS.contains(&a) || reads.contains(a) => {
                        conds.push(format!("attribute_not_exists({})", p.name(a)));
                    }
                    None => {}
                }
            }
            conds.insert(0, format!("attribute_exists({})", p.name(&key_names[0])));
            Some(conds.join(" AND "))
        }
    };
    Write { kind: op.kind, key: op.key.clone(), update, item, condition, names: p.names, values: p.values, expected }
}

/// The write that undoes an applied operation: put back the before-image
/// (or delete an item the apply created), on condition that the item still
/// holds exactly what the apply wrote (`applied`; None: the apply deleted it).
pub fn undo_write(op: &StoredOp, applied: Option<&Item>, key_names: &[String]) -> Write {
    let mut p = Placeholders::new();
    let mut conds = Vec::new();
    match applied {
        None => conds.push(format!("attribute_not_exists({})", p.name(&key_names[0]))),
        Some(a) => {
            conds.push(format!("attribute_exists({})", p.name(&key_names[0])));
            for (k, v) in a.iter().filter(|(k, _)| !key_names.contains(k)) {
                let (n, val) = (p.name(k), p.value(v));
                conds.push(format!("{n} = {val}"));
            }
            for k in op.before.iter().flat_map(|b| b.keys()).filter(|k| !a.contains_key(*k)) {
                conds.push(format!("attribute_not_exists({})", p.name(k)));
            }
        }
    }
    let (kind, item) = match &op.before {
        Some(b) => (OpKind::Put, Some(b.clone())),
        None => (OpKind::Delete, None),
    };
    Write {
        kind,
        key: op.key.clone(),
        update: None,
        item,
        condition: Some(conds.join(" AND ")),
        names: p.names,
        values: p.values,
        expected: op.before.clone(),
    }
}
