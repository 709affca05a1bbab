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
    /// The time stamps this write sets (`updatedAt`, `_lastChangedAt`),
    /// each with the placeholder of its value in an UPDATE expression:
    /// [`Write::restamp`] sets them to the time of each attempt.
    pub stamps: Vec<(&'static str, Option<String>)>,
}

/// The time an apply stamps on an item: when the write is sent.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// ISO 8601 time written to `updatedAt`.
    pub now: String,
    /// The same time in epoch milliseconds, for `_lastChangedAt`.
    pub now_ms: i64,
}

impl Stamp {
    /// The stamp of the time `ms` (epoch milliseconds).
    pub fn at(ms: i64) -> Stamp {
        let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        Stamp { now: t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), now_ms: ms }
    }

    /// The stamp of this moment.
    pub fn now() -> Stamp {
        Stamp::at(chrono::Utc::now().timestamp_millis())
    }

    /// The time an item carries in `updatedAt` (or `_lastChangedAt`), if any.
    pub fn of_item(item: &Item) -> Option<Stamp> {
        if let Some(AttrValue::S(s)) = item.get("updatedAt")
            && let Ok(t) = chrono::DateTime::parse_from_rfc3339(s)
        {
            return Some(Stamp::at(t.timestamp_millis()));
        }
        match item.get("_lastChangedAt") {
            Some(AttrValue::N(n)) => n.to_i64().map(Stamp::at),
            _ => None,
        }
    }
}

impl Write {
    /// Sets the time stamps this write carries to `stamp`, in what it sends
    /// and in the item it expects to leave.
    pub fn restamp(&mut self, stamp: &Stamp) {
        for (attr, placeholder) in &self.stamps {
            let v = stamp_value(attr, stamp);
            if let Some(e) = self.expected.as_mut() {
                e.insert(attr.to_string(), v.clone());
            }
            if let Some(i) = self.item.as_mut() {
                i.insert(attr.to_string(), v.clone());
            }
            if let Some(p) = placeholder {
                self.values.insert(p.clone(), to_sdk(&v));
            }
        }
    }
}

fn stamp_value(attr: &str, stamp: &Stamp) -> AttrValue {
    if attr == "updatedAt" { AttrValue::S(stamp.now.clone()) } else { AttrValue::N(Number::from_i64(stamp.now_ms)) }
}

/// Whether `current` is what a write expecting `expected` left, allowing
/// its time stamps to be those of any attempt of this apply: an attempt
/// whose answer was lost landed with the time it was sent.
pub fn same_but_stamps(current: Option<&Item>, expected: Option<&Item>, stamps: &[(&'static str, Option<String>)]) -> bool {
    match (current, expected) {
        (Some(c), Some(e)) if !stamps.is_empty() => {
            let strip = |i: &Item| -> Item {
                i.iter().filter(|(k, _)| !stamps.iter().any(|(s, _)| s == k)).map(|(k, v)| (k.clone(), v.clone())).collect()
            };
            stamps.iter().all(|(s, _)| c.contains_key(*s)) && crate::item::same_item(&strip(c), &strip(e))
        }
        _ => crate::item::same_maybe_item(current, expected),
    }
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
    let mut stamps: Vec<(&'static str, Option<String>)> = ["updatedAt", "_lastChangedAt"]
        .into_iter()
        .filter(|a| expected.as_ref().is_some_and(|e| e.contains_key(*a)))
        .map(|a| (a, None))
        .collect();
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
                    if let Some(s) = stamps.iter_mut().find(|(a, _)| a == k) {
                        s.1 = Some(val.clone());
                    }
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
    // An UPDATE that leaves a stamp as it was does not set it: nothing to restamp.
    if op.kind == OpKind::Update {
        stamps.retain(|(_, p)| p.is_some());
    }
    Write { kind: op.kind, key: op.key.clone(), update, item, condition, names: p.names, values: p.values, expected, stamps }
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
        stamps: Vec::new(),
    }
}
