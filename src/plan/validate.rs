//! A plan read back is untrusted input until every operation is checked.
//!
//! Hashes prove that a plan is the one a reviewer approved, not that it is
//! sound: anyone can write a plan folder and seal it with correct hashes.
//! `plan show`, `apply`, `verify` and `rollback` therefore check every
//! operation by the planner's own rules before anything is shown as fine or
//! written: the manifest's format and operations file, each operation's kind
//! and the fields that kind needs, its table among the plan's targets, its
//! key (exactly the table's key attributes, equal to the item's), one
//! operation per item, DynamoDB's value rules (sets, numbers, depth), the
//! 400 KB limit, the before-image's fingerprint and the write units. A
//! failure names the operation's number and stops the command (exit 2).

use std::collections::{BTreeMap, HashMap, HashSet};

use sha2::{Digest, Sha256};

use super::build::plain_json;
use super::file::{OPS_FILE, StoredOp};
use super::manifest::{AttrChange, DiffSample, FORMAT, PlanManifest, TargetTable};
use super::op::{MAX_ITEM_BYTES, changes_between, diff_items, transition, validate as validate_value};
use super::rows::OpKind;
use super::targets::key_hash;
use crate::error::{Error, Result, brief};
use crate::item::ddbjson::item_to_string;
use crate::item::size::item_size;
use crate::item::{AttrValue, Item};

/// Checks the manifest on its own: format, the operations file's name.
pub fn manifest(m: &PlanManifest, path: &str) -> Result<()> {
    let bad = |cause: String| Error::manifest(path, cause);
    if m.format != FORMAT {
        return Err(bad(format!("format {:?} is not {FORMAT:?}, the only one this ddbsnap reads", brief(&m.format, 60))));
    }
    // The operations file is the one the planner writes, inside the plan
    // folder: never a path that reaches elsewhere.
    if m.ops_file.name != OPS_FILE {
        return Err(bad(format!(
            "the operations file is {:?}; a plan's is always {OPS_FILE:?} in its folder",
            brief(&m.ops_file.name, 80)
        )));
    }
    let mut names = HashSet::new();
    for t in &m.targets {
        if t.name.is_empty() || !names.insert(t.name.as_str()) {
            return Err(bad(format!("target table {:?} is empty or listed twice", brief(&t.name, 80))));
        }
        let distinct: HashSet<&String> = t.key.iter().collect();
        if t.key.is_empty() || t.key.len() > 2 || distinct.len() != t.key.len() || t.key.iter().any(String::is_empty) {
            return Err(bad(format!("target table {}: key {:?} is not one or two distinct attribute names", brief(&t.name, 80), t.key)));
        }
    }
    // A target the snapshot holds is written where the snapshot came from
    // (`--table` names another table at apply time, visibly).
    for t in m.targets.iter().filter(|t| t.in_snapshot) {
        let (Some(physical), Some(source)) = (&t.physical, m.sources.iter().find(|s| s.table == t.name)) else { continue };
        let arns: Vec<&str> = source.exports.iter().map(|e| e.table_arn.as_str()).filter(|a| !a.is_empty()).collect();
        if !arns.is_empty() && !arns.iter().any(|a| a.rsplit_once("table/").is_some_and(|(_, name)| name == physical)) {
            return Err(bad(format!(
                "target {} writes to table {}, but its snapshot came from {}",
                brief(&t.name, 80),
                brief(physical, 120),
                brief(arns[0], 200)
            )));
        }
    }
    let counted = m.summary.total_ops();
    if counted != m.ops_file.rows {
        return Err(bad(format!("the summary counts {counted} operations, the operations file records {}", m.ops_file.rows)));
    }
    Ok(())
}

/// Checks operations one by one, in plan order, and at the end that the
/// manifest says what they do: what a reviewer reads (counts per kind, what
/// happens to each attribute, the sample diffs, the cost) must be what the
/// operations file holds, or a re-sealed plan could show UPDATEs and DELETE.
pub struct OpChecker<'a> {
    manifest: &'a PlanManifest,
    targets: HashMap<&'a str, &'a TargetTable>,
    /// (target table, key hash) of every operation so far.
    seen: HashSet<(&'a str, u128)>,
    next_seq: u64,
    /// The summary and cost as the operations make them.
    operations: BTreeMap<String, BTreeMap<OpKind, u64>>,
    attributes: BTreeMap<String, BTreeMap<String, AttrChange>>,
    write_units: u64,
    /// The manifest's samples not yet found among the operations.
    samples: Vec<&'a DiffSample>,
}

impl<'a> OpChecker<'a> {
    pub fn new(m: &'a PlanManifest) -> OpChecker<'a> {
        OpChecker {
            manifest: m,
            targets: m.targets.iter().map(|t| (t.name.as_str(), t)).collect(),
            seen: HashSet::new(),
            next_seq: 0,
            operations: BTreeMap::new(),
            attributes: BTreeMap::new(),
            write_units: 0,
            samples: m.samples.iter().collect(),
        }
    }

    /// After the last operation: the manifest's counts, attribute changes,
    /// samples and cost must be the operations'.
    pub fn finish(self) -> Result<()> {
        let bad = |what: &str| Error::Invalid(format!("the plan's {what} do not match its operations; the plan is refused"));
        let s = &self.manifest.summary;
        if s.operations != self.operations {
            return Err(bad("operation counts"));
        }
        let same_attrs = s.attributes.len() == self.attributes.len()
            && s.attributes.iter().zip(&self.attributes).all(|((t1, a1), (t2, a2))| {
                t1 == t2
                    && a1.len() == a2.len()
                    && a1.iter().zip(a2).all(|((n1, c1), (n2, c2))| {
                        n1 == n2 && (c1.added, c1.changed, c1.removed, &c1.types) == (c2.added, c2.changed, c2.removed, &c2.types)
                    })
            });
        if !same_attrs {
            return Err(bad("attribute changes"));
        }
        if let Some(sample) = self.samples.first() {
            return Err(Error::Invalid(format!(
                "the plan shows a sample {} of {} {} that no operation does; the plan is refused",
                sample.op.name(),
                brief(&sample.table, 80),
                brief(&sample.key.to_string(), 200)
            )));
        }
        if self.manifest.cost.write_units != self.write_units {
            return Err(bad("write units"));
        }
        Ok(())
    }

    /// Counts what `op` does, as the planner counts it, and matches it with
    /// the manifest's sample of its item, if any.
    fn account(&mut self, op: &StoredOp, after: Option<&Item>) -> Result<()> {
        let empty = Item::new();
        let before = op.before.as_ref().unwrap_or(&empty);
        let after_item = after.unwrap_or(&empty);
        *self.operations.entry(op.table.clone()).or_default().entry(op.kind).or_default() += 1;
        let changes = changes_between(before, after_item);
        // A table is listed only with the attributes its operations change.
        if !changes.is_empty() {
            let attrs = self.attributes.entry(op.table.clone()).or_default();
            for c in changes {
                let a = attrs.entry(c.attribute.clone()).or_default();
                match (c.before, c.after) {
                    (None, Some(_)) => a.added += 1,
                    (Some(_), None) => a.removed += 1,
                    _ => a.changed += 1,
                }
                *a.types.entry(transition(c.before, c.after)).or_default() += 1;
            }
        }
        self.write_units += op.write_units as u64;
        let key = plain_json(&op.key);
        if let Some(i) = self.samples.iter().position(|s| s.table == op.table && s.key == key) {
            let sample = self.samples.remove(i);
            let diffs = diff_items(before, after_item);
            let same = sample.op == op.kind
                && sample.changes.len() == diffs.len()
                && sample
                    .changes
                    .iter()
                    .zip(&diffs)
                    .all(|(a, b)| (&a.attribute, &a.before, &a.after) == (&b.attribute, &b.before, &b.after));
            if !same {
                return Err(Error::Invalid(format!(
                    "plan operation {}: the plan's sample of this item shows other changes than the operation makes; the plan is refused",
                    op.seq
                )));
            }
        }
        Ok(())
    }

    /// How many operations were checked.
    pub fn count(&self) -> u64 {
        self.next_seq
    }

    /// Checks the next operation.
    pub fn check(&mut self, op: &StoredOp) -> Result<()> {
        let seq = op.seq;
        let bad = |cause: String| Error::Invalid(format!("plan operation {seq}: {cause}; the plan is refused"));
        if seq != self.next_seq {
            return Err(bad(format!("expected operation number {} here (operations are numbered in order from 0)", self.next_seq)));
        }
        self.next_seq += 1;
        let target = *self
            .targets
            .get(op.table.as_str())
            .ok_or_else(|| bad(format!("table {:?} is not among the plan's targets", brief(&op.table, 80))))?;
        check_key(&op.key, &target.key).map_err(&bad)?;
        if !self.seen.insert((target.name.as_str(), key_hash(&item_to_string(&op.key)))) {
            return Err(bad(format!("a second operation on the item {}", brief(&item_to_string(&op.key), 200))));
        }
        check_fields(op, target).map_err(&bad)?;
        for (what, item) in [("the item before", &op.before), ("set", &op.set)] {
            if let Some(item) = item {
                check_item(item).map_err(|e| bad(format!("{what}: {e}")))?;
            }
        }
        check_fingerprint(op).map_err(&bad)?;
        let after = op.after();
        self.account(op, after.as_ref())?;
        let after_size = after.as_ref().map(item_size).unwrap_or(0);
        if after_size > MAX_ITEM_BYTES {
            return Err(bad(format!("the item would be {after_size} bytes; DynamoDB's limit is {MAX_ITEM_BYTES}")));
        }
        let before_size = op.before.as_ref().map(item_size).unwrap_or(0);
        let units = before_size.max(after_size).div_ceil(1024).max(1) as u64;
        if units != op.write_units as u64 {
            return Err(bad(format!("it records {} write units; it costs {units}", op.write_units)));
        }
        Ok(())
    }
}

/// The key holds exactly the table's key attributes, each a string,
/// number or binary.
fn check_key(key: &Item, names: &[String]) -> std::result::Result<(), String> {
    let text = || brief(&item_to_string(key), 200);
    if key.len() != names.len() || names.iter().any(|n| !key.contains_key(n)) {
        return Err(format!("key {} does not hold exactly the table's key attributes {names:?}", text()));
    }
    if key.values().any(|v| !matches!(v, AttrValue::S(_) | AttrValue::N(_) | AttrValue::B(_))) {
        return Err(format!("key {} holds a value that is not a string, number or binary", text()));
    }
    if key.values().any(|v| matches!(v, AttrValue::S(s) if s.is_empty()) || matches!(v, AttrValue::B(b) if b.is_empty())) {
        return Err(format!("key {} holds an empty value", text()));
    }
    Ok(())
}

/// Each kind with the fields it needs, and nothing that contradicts it.
fn check_fields(op: &StoredOp, target: &TargetTable) -> std::result::Result<(), String> {
    let keys = &target.key;
    let holds_key = |item: &Item| keys.iter().all(|k| item.get(k) == op.key.get(k));
    if let Some(b) = &op.before
        && !holds_key(b)
    {
        return Err("the item before does not hold the operation's key".into());
    }
    if op.before.is_some() != op.before_sha256.is_some() {
        return Err("the item before and its fingerprint must both be present or both absent".into());
    }
    match op.kind {
        OpKind::Update => {
            if op.before.is_none() {
                return Err("an UPDATE without the item before (the planner updates only items the snapshot holds)".into());
            }
            let set = op.set.as_ref();
            if set.is_none_or(|s| s.is_empty()) && op.remove.is_empty() {
                return Err("an UPDATE that sets and removes nothing".into());
            }
            if let Some(k) = keys.iter().find(|k| set.is_some_and(|s| s.contains_key(*k)) || op.remove.contains(k)) {
                return Err(format!("an UPDATE that sets or removes the key attribute {k:?}"));
            }
            let distinct: HashSet<&String> = op.remove.iter().collect();
            if distinct.len() != op.remove.len() || op.remove.iter().any(|r| r.is_empty() || set.is_some_and(|s| s.contains_key(r))) {
                return Err("an UPDATE whose removed attributes repeat, are empty, or are also set".into());
            }
        }
        OpKind::Put => {
            let set = op.set.as_ref().ok_or("a PUT without the item to write")?;
            if !holds_key(set) {
                return Err("a PUT whose item does not hold the operation's key".into());
            }
            if !op.remove.is_empty() {
                return Err("a PUT that also removes attributes".into());
            }
            if op.before.is_some() && !target.in_snapshot {
                return Err("a PUT with an item before, into a table the snapshot does not hold".into());
            }
        }
        OpKind::Delete => {
            if op.set.is_some() || !op.remove.is_empty() {
                return Err("a DELETE that also sets or removes attributes".into());
            }
            if op.before.is_none() {
                return Err("a DELETE without the item before (the planner deletes only items the snapshot holds)".into());
            }
        }
    }
    Ok(())
}

/// DynamoDB's rules for every value, and no empty attribute name.
fn check_item(item: &Item) -> std::result::Result<(), String> {
    for (name, v) in item {
        if name.is_empty() {
            return Err("an attribute name is empty".into());
        }
        validate_value(v, 1).map_err(|e| format!("attribute {:?}: {e}", brief(name, 80)))?;
    }
    Ok(())
}

/// The before-image's SHA-256 is that of its canonical text.
fn check_fingerprint(op: &StoredOp) -> std::result::Result<(), String> {
    let (Some(before), Some(recorded)) = (&op.before, &op.before_sha256) else { return Ok(()) };
    let text = item_to_string(&super::canonical(before));
    let actual = hex::encode(Sha256::digest(text.as_bytes()));
    if &actual != recorded {
        return Err(format!("the item before hashes to {actual}, the operation records {}", brief(recorded, 80)));
    }
    Ok(())
}
