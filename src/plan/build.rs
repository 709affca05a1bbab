//! Turning a transform's result rows into planned operations, streamed into
//! the plan file: each row is validated, matched with its item in the
//! snapshot (the before-image), and dropped when it changes nothing.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::file::PlanWriter;
use super::manifest::{AttrChange, AttrDiff, DiffSample, Skipped, Summary};
use super::rows::{OpKind, RowOp, RowReader};
use super::targets::Target;
use super::{PlannedOp, canonical};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::item::ddbjson::{item_to_string, value_to_string, write_plain};
use crate::item::size::item_size;
use crate::item::{AttrValue, DdbType, Item, ddbjson, same_value};

/// DynamoDB's item size limit.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// Errors listed before the rest are only counted.
const MAX_LISTED_ERRORS: usize = 25;
const MAX_SKIPPED_LISTED: usize = 100;

/// What planning produced besides the operations file.
#[derive(Default)]
pub struct Outcome {
    pub summary: Summary,
    pub samples: Vec<DiffSample>,
    pub skipped: Vec<Skipped>,
    pub write_units: u64,
}

pub struct Planner<'a> {
    targets: HashMap<String, Target<'a>>,
    seen: HashMap<String, HashMap<String, u64>>,
    out: Outcome,
    errors: Vec<String>,
    error_count: u64,
    samples_per_table: usize,
}

impl<'a> Planner<'a> {
    pub fn new(targets: Vec<Target<'a>>, samples_per_table: usize) -> Planner<'a> {
        let targets = targets.into_iter().map(|t| (t.info.name.clone(), t)).collect();
        Planner { targets, seen: HashMap::new(), out: Outcome::default(), errors: Vec::new(), error_count: 0, samples_per_table }
    }

    /// Runs the transform and writes every operation to `writer`. Fails,
    /// listing the offending rows, when any row is invalid.
    pub async fn run(&mut self, catalog: &Catalog, sql: &str, default_table: Option<String>, writer: &mut PlanWriter) -> Result<()> {
        let mut stream = catalog.stream(sql).await?;
        let reader = RowReader::new(&stream.schema(), default_table)?;
        let mut number = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let rows = reader.batch(&batch).map_err(Error::Invalid)?;
            for r in 0..batch.num_rows() {
                number += 1;
                match rows.read(r, number) {
                    Ok(op) => self.row(op, writer)?,
                    Err(e) => self.error(number, None, &e),
                }
            }
        }
        self.out.summary.rows = number;
        if self.error_count > 0 {
            let more = self.error_count.saturating_sub(self.errors.len() as u64);
            let tail = if more > 0 { format!("\n  ... and {more} more") } else { String::new() };
            return Err(Error::Invalid(format!(
                "the transform's result has {} invalid row{}; no plan was written:\n  {}{tail}",
                self.error_count,
                if self.error_count == 1 { "" } else { "s" },
                self.errors.join("\n  ")
            )));
        }
        Ok(())
    }

    pub fn into_parts(self) -> (Outcome, HashMap<String, Target<'a>>) {
        (self.out, self.targets)
    }

    /// Records an invalid row; `at` is its table and, when known, its key.
    fn error(&mut self, row: u64, at: Option<(&str, Option<&Item>)>, cause: &str) {
        self.error_count += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            let place = match at {
                Some((t, Some(key))) => format!(" ({t} {})", plain_json(key)),
                Some((t, None)) => format!(" ({t})"),
                None => String::new(),
            };
            self.errors.push(format!("row {row}{place}: {cause}"));
        }
    }

    fn row(&mut self, r: RowOp, writer: &mut PlanWriter) -> Result<()> {
        let Some(target) = self.targets.get_mut(&r.table) else {
            let mut known: Vec<&str> = self.targets.keys().map(String::as_str).collect();
            known.sort();
            let msg = format!("unknown target table {:?} (known: {}; declare others with --key TABLE=ATTR)", r.table, known.join(", "));
            self.error(r.row, None, &msg);
            return Ok(());
        };
        let (key, key_json) = match target.key_of(&r.values) {
            Ok(k) => k,
            Err(e) => {
                self.error(r.row, Some((&r.table, None)), &e);
                return Ok(());
            }
        };
        if let Some(reason) = r.skip {
            self.out.summary.skipped += 1;
            if self.out.skipped.len() < MAX_SKIPPED_LISTED {
                self.out.skipped.push(Skipped { row: r.row, table: r.table, key: plain_json(&key), reason });
            }
            return Ok(());
        }
        if let Some(first) = self.seen.entry(r.table.clone()).or_default().insert(key_json.clone(), r.row) {
            self.error(r.row, Some((&r.table, Some(&key))), &format!("the same item as row {first}: one operation per item"));
            return Ok(());
        }
        let (before, pos) = match target.before(&key_json)? {
            Some((item, pos)) => (Some(item), Some(pos)),
            None => (None, None),
        };
        match planned(&r, key.clone(), key_json, before, &target.info.key) {
            Ok(Some((op, diffs))) => {
                if let Some(pos) = pos {
                    target.mark(pos);
                }
                self.record(&op, diffs);
                writer.push(&op)?;
            }
            Ok(None) => self.out.summary.noops += 1,
            Err(e) => self.error(r.row, Some((&r.table, Some(&key))), &e),
        }
        Ok(())
    }

    fn record(&mut self, op: &PlannedOp, diffs: Vec<AttrDiff>) {
        let s = &mut self.out.summary;
        *s.operations.entry(op.table.clone()).or_default().entry(op.kind).or_default() += 1;
        self.out.write_units += op.write_units as u64;
        let attrs = s.attributes.entry(op.table.clone()).or_default();
        for d in &diffs {
            let c: &mut AttrChange = attrs.entry(d.attribute.clone()).or_default();
            match (&d.before, &d.after) {
                (None, Some(_)) => c.added += 1,
                (Some(_), None) => c.removed += 1,
                _ => c.changed += 1,
            }
            *c.types.entry(format!("{} -> {}", type_of(&d.before), type_of(&d.after))).or_default() += 1;
        }
        let shown = self.out.samples.iter().filter(|x| x.table == op.table).count();
        if shown < self.samples_per_table {
            self.out.samples.push(DiffSample { table: op.table.clone(), op: op.kind, key: plain_json(&op.key), changes: diffs });
        }
    }
}

fn type_of(json: &Option<String>) -> &'static str {
    json.as_deref().and_then(|j| ddbjson::value_from_str(j).ok()).map(|v| v.ddb_type().name()).unwrap_or("-")
}

/// The key (or any item) as plain JSON for people.
pub fn plain_json(item: &Item) -> serde_json::Value {
    let mut s = String::new();
    write_plain(&mut s, &AttrValue::M(item.clone()));
    serde_json::from_str(&s).unwrap_or(serde_json::Value::Null)
}

/// The operation a row asks for, or None when it would change nothing.
type Planned = (PlannedOp, Vec<AttrDiff>);

fn planned(
    r: &RowOp,
    key: Item,
    key_json: String,
    before: Option<Item>,
    key_names: &[String],
) -> std::result::Result<Option<Planned>, String> {
    for (name, v) in &r.values {
        if name.is_empty() {
            return Err("an attribute name is empty".into());
        }
        validate(v, 1).map_err(|e| format!("attribute {name:?}: {e}"))?;
    }
    let (after, set, remove) = match r.kind {
        OpKind::Update => {
            let mut after = before.clone().ok_or_else(|| "UPDATE of an item the snapshot does not have".to_string())?;
            let mut set = Item::new();
            for (name, v) in r.values.iter().filter(|(n, _)| !key_names.contains(n)) {
                if !after.get(name).is_some_and(|old| same_value(old, v)) {
                    set.insert(name.clone(), v.clone());
                    after.insert(name.clone(), v.clone());
                }
            }
            let mut remove = Vec::new();
            for name in &r.remove {
                if key_names.contains(name) {
                    return Err(format!("_remove names the key attribute {name:?}"));
                }
                if set.contains_key(name) {
                    return Err(format!("attribute {name:?} is both set and removed"));
                }
                if after.remove(name).is_some() {
                    remove.push(name.clone());
                }
            }
            if set.is_empty() && remove.is_empty() {
                return Ok(None);
            }
            (Some(after), Some(set), remove)
        }
        OpKind::Put => {
            let mut after = r.values.clone();
            for name in &r.remove {
                if key_names.contains(name) {
                    return Err(format!("_remove names the key attribute {name:?}"));
                }
                after.remove(name);
            }
            if before.as_ref().is_some_and(|b| crate::item::same_item(b, &after)) {
                return Ok(None);
            }
            (Some(after.clone()), Some(after), Vec::new())
        }
        OpKind::Delete => {
            if before.is_none() {
                return Ok(None);
            }
            (None, None, Vec::new())
        }
    };
    let after_size = after.as_ref().map(item_size).unwrap_or(0);
    if after_size > MAX_ITEM_BYTES {
        return Err(format!("the item would be {after_size} bytes; DynamoDB's limit is {MAX_ITEM_BYTES}"));
    }
    let before_size = before.as_ref().map(item_size).unwrap_or(0);
    let write_units = before_size.max(after_size).div_ceil(1024).max(1) as u32;
    let before_json = before.as_ref().map(|b| item_to_string(&canonical(b)));
    let before_sha256 = before_json.as_ref().map(|j| hex::encode(Sha256::digest(j.as_bytes())));
    let empty = Item::new();
    let diffs = diff_items(before.as_ref().unwrap_or(&empty), after.as_ref().unwrap_or(&empty));
    let op = PlannedOp {
        row: r.row,
        table: r.table.clone(),
        kind: r.kind,
        key,
        key_json,
        set_json: set.as_ref().map(item_to_string),
        remove,
        before_json,
        before_sha256,
        after_json: after.as_ref().map(item_to_string),
        write_units,
    };
    Ok(Some((op, diffs)))
}

/// DynamoDB's rules for a value: no empty sets, no repeated set members, at
/// most 32 levels. (Numbers were checked when they were made.)
pub fn validate(v: &AttrValue, depth: usize) -> std::result::Result<(), String> {
    if depth > ddbjson::MAX_DEPTH {
        return Err(format!("nested deeper than {} levels", ddbjson::MAX_DEPTH));
    }
    fn unique<T: std::hash::Hash + Eq>(items: impl Iterator<Item = T>, t: DdbType) -> std::result::Result<(), String> {
        let mut seen = HashSet::new();
        let mut n = 0;
        for x in items {
            n += 1;
            if !seen.insert(x) {
                return Err(format!("a {} holds the same member twice", t.name()));
            }
        }
        if n == 0 {
            return Err(format!("an empty {}: DynamoDB has no empty sets (remove the attribute instead)", t.name()));
        }
        Ok(())
    }
    match v {
        AttrValue::Ss(s) => unique(s.iter(), DdbType::Ss),
        AttrValue::Ns(n) => unique(n.iter(), DdbType::Ns),
        AttrValue::Bs(b) => unique(b.iter(), DdbType::Bs),
        AttrValue::M(m) => m.values().try_for_each(|x| validate(x, depth + 1)),
        AttrValue::L(l) => l.iter().try_for_each(|x| validate(x, depth + 1)),
        _ => Ok(()),
    }
}

pub fn diff_items(before: &Item, after: &Item) -> Vec<AttrDiff> {
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter_map(|n| {
            let (b, a) = (before.get(n), after.get(n));
            let same = matches!((b, a), (Some(x), Some(y)) if same_value(x, y));
            (!same).then(|| AttrDiff { attribute: n.clone(), before: b.map(value_to_string), after: a.map(value_to_string) })
        })
        .collect()
}
