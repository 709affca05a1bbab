//! One row of a transform's result against its item's before-image: the
//! operation it plans, or nothing when it changes nothing.
//!
//! This runs once per row of migrations with millions of items, so it never
//! builds an UPDATE's after-image: the after-state is patched with the
//! changed attributes (see [`super::patch`]), and the item's size is the
//! before-image's adjusted by what changes.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::manifest::AttrDiff;
use super::rows::{OpKind, RowOp};
use super::{After, PlannedOp, canonical, canonical_value};
use crate::convert::BatchDecoder;
use crate::convert::from_arrow::ValueRef;
use crate::item::ddbjson::{self, item_to_string, value_to_string, write_str, write_value};
use crate::item::size::{item_size, value_size};
use crate::item::{AttrValue, DdbType, Item, check_set, same_item, same_value};

/// DynamoDB's item size limit.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// What happens to one attribute of one item: its type before and after
/// (None: absent).
pub struct Change {
    pub attribute: String,
    pub before: Option<DdbType>,
    pub after: Option<DdbType>,
}

pub struct Planned {
    pub op: PlannedOp,
    pub changes: Vec<Change>,
    /// Before/after values of the changed attributes, when a sample was asked for.
    pub sample: Option<Vec<AttrDiff>>,
}

/// The operation `r` asks for, or None when it would change nothing.
pub fn plan_row(
    r: RowOp,
    key_json: String,
    before: Option<BeforeImage>,
    key_names: &[String],
    want_sample: bool,
) -> Result<Option<Planned>, String> {
    for (name, v) in &r.values {
        if name.is_empty() {
            return Err("an attribute name is empty".into());
        }
        validate(v, 1).map_err(|e| format!("attribute {name:?}: {e}"))?;
    }
    for name in &r.remove {
        if key_names.contains(name) {
            return Err(format!("_remove names the key attribute {name:?}"));
        }
    }
    let before_size = before.as_ref().map(|b| b.size).unwrap_or(0);
    let e = match r.kind {
        OpKind::Update => {
            let before = before.ok_or("UPDATE of an item the snapshot does not have")?;
            match update(r.values, r.remove, before, key_names, want_sample)? {
                None => return Ok(None),
                Some(u) => u,
            }
        }
        OpKind::Put => {
            let mut after = r.values;
            for name in &r.remove {
                after.remove(name);
            }
            if before.as_ref().is_some_and(|b| same_item(&b.item, &after)) {
                return Ok(None);
            }
            let empty = Item::new();
            let b = before.as_ref().map(|b| &b.item).unwrap_or(&empty);
            let json = item_to_string(&after);
            Effect {
                changes: changes_between(b, &after),
                sample: want_sample.then(|| diff_items(b, &after)),
                set_json: Some(json.clone()),
                remove: Vec::new(),
                after: After::Item(json),
                after_size: item_size(&after),
                before_json: before.map(|b| b.json),
            }
        }
        OpKind::Delete => {
            let Some(b) = before else { return Ok(None) };
            Effect {
                changes: changes_between(&b.item, &Item::new()),
                sample: want_sample.then(|| diff_items(&b.item, &Item::new())),
                set_json: None,
                remove: Vec::new(),
                after: After::Gone,
                after_size: 0,
                before_json: Some(b.json),
            }
        }
    };
    if e.after_size > MAX_ITEM_BYTES {
        return Err(format!("the item would be {} bytes; DynamoDB's limit is {MAX_ITEM_BYTES}", e.after_size));
    }
    let write_units = before_size.max(e.after_size).div_ceil(1024).max(1) as u32;
    let before_sha256 = e.before_json.as_ref().map(|j| hex::encode(Sha256::digest(j.as_bytes())));
    let op = PlannedOp {
        row: r.row,
        table: r.table,
        kind: r.kind,
        key_json,
        set_json: e.set_json,
        remove: e.remove,
        before_json: e.before_json,
        before_sha256,
        after: e.after,
        write_units,
    };
    Ok(Some(Planned { op, changes: e.changes, sample: e.sample }))
}

/// What an operation does to its item, as the plan records it.
struct Effect {
    set_json: Option<String>,
    remove: Vec<String>,
    after: After,
    after_size: usize,
    /// The before-image's canonical JSON (None: no item before).
    before_json: Option<String>,
    changes: Vec<Change>,
    sample: Option<Vec<AttrDiff>>,
}

/// An UPDATE: the attributes that really change, and the after-image's size.
/// `image.item` needs only the attributes the row sets or removes.
fn update(
    values: Item,
    removes: Vec<String>,
    image: BeforeImage,
    key_names: &[String],
    want_sample: bool,
) -> Result<Option<Effect>, String> {
    let before = &image.item;
    let mut set = Item::new();
    let mut changes = Vec::new();
    let mut size = image.size as i64;
    for (name, v) in values {
        if key_names.contains(&name) {
            continue;
        }
        let old = before.get(&name);
        if old.is_some_and(|o| same_value(o, &v)) {
            continue;
        }
        size += (name.len() + value_size(&v)) as i64 - old.map(|o| (name.len() + value_size(o)) as i64).unwrap_or(0);
        changes.push(Change { attribute: name.clone(), before: old.map(AttrValue::ddb_type), after: Some(v.ddb_type()) });
        set.insert(name, v);
    }
    let mut remove = Vec::new();
    for name in removes {
        if set.contains_key(&name) {
            return Err(format!("attribute {name:?} is both set and removed"));
        }
        if let Some(old) = before.get(&name) {
            size -= (name.len() + value_size(old)) as i64;
            changes.push(Change { attribute: name.clone(), before: Some(old.ddb_type()), after: None });
            remove.push(name);
        }
    }
    if set.is_empty() && remove.is_empty() {
        return Ok(None);
    }
    let sample = want_sample.then(|| {
        changes
            .iter()
            .map(|c| AttrDiff {
                attribute: c.attribute.clone(),
                before: before.get(&c.attribute).map(value_to_string),
                after: set.get(&c.attribute).map(value_to_string),
            })
            .collect()
    });
    Ok(Some(Effect {
        set_json: Some(item_to_string(&set)),
        after: After::Patch(set, remove.clone()),
        remove,
        after_size: size.max(0) as usize,
        before_json: Some(image.json),
        changes,
        sample,
    }))
}

/// An item of the snapshot as planning needs it.
pub struct BeforeImage {
    /// The whole item, or only the attributes asked for.
    pub item: Item,
    /// The whole item's canonical DynamoDB JSON (what its fingerprint is taken of).
    pub json: String,
    /// The whole item's size, as DynamoDB counts it.
    pub size: usize,
}

impl BeforeImage {
    pub fn whole(item: Item) -> BeforeImage {
        BeforeImage { json: canonical_json(&item), size: item_size(&item), item }
    }
}

/// The item in `row` of a snapshot batch, with only the attributes `wanted`
/// decoded: its JSON is written straight from the batch's arrays, which on
/// an UPDATE of a few attributes saves building (and dropping) every
/// attribute of every item.
pub fn before_image(d: &BatchDecoder, row: usize, wanted: impl Fn(&str) -> bool) -> crate::error::Result<BeforeImage> {
    let (mut item, mut json, mut size) = (Item::new(), String::with_capacity(512), 0);
    json.push('{');
    d.visit(row, |name, v| {
        if json.len() > 1 {
            json.push(',');
        }
        write_str(&mut json, name);
        json.push(':');
        size += name.len();
        match v {
            ValueRef::S(s) => {
                json.push_str("{\"S\":");
                write_str(&mut json, s);
                json.push('}');
                size += s.len();
                if wanted(name) {
                    item.insert(name.to_string(), AttrValue::S(s.to_string()));
                }
            }
            ValueRef::Other(v) => {
                let v = if has_sets(&v) { canonical_value(&v) } else { v };
                write_value(&mut json, &v);
                size += value_size(&v);
                if wanted(name) {
                    item.insert(name.to_string(), v);
                }
            }
        }
    })?;
    json.push('}');
    Ok(BeforeImage { item, json, size })
}

pub fn has_sets(v: &AttrValue) -> bool {
    match v {
        AttrValue::Ss(_) | AttrValue::Ns(_) | AttrValue::Bs(_) => true,
        AttrValue::M(m) => m.values().any(has_sets),
        AttrValue::L(l) => l.iter().any(has_sets),
        _ => false,
    }
}

fn item_has_sets(item: &Item) -> bool {
    item.values().any(has_sets)
}

/// The item's canonical JSON (sets sorted): what fingerprints are taken of.
pub fn canonical_json(item: &Item) -> String {
    if item_has_sets(item) { item_to_string(&canonical(item)) } else { item_to_string(item) }
}

pub(crate) fn changes_between(before: &Item, after: &Item) -> Vec<Change> {
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter_map(|n| {
            let (b, a) = (before.get(n), after.get(n));
            let same = matches!((b, a), (Some(x), Some(y)) if same_value(x, y));
            (!same).then(|| Change { attribute: n.clone(), before: b.map(AttrValue::ddb_type), after: a.map(AttrValue::ddb_type) })
        })
        .collect()
}

/// Per attribute that differs, its DynamoDB JSON before and after.
pub fn diff_items(before: &Item, after: &Item) -> Vec<AttrDiff> {
    changes_between(before, after)
        .into_iter()
        .map(|c| AttrDiff {
            before: before.get(&c.attribute).map(value_to_string),
            after: after.get(&c.attribute).map(value_to_string),
            attribute: c.attribute,
        })
        .collect()
}

/// DynamoDB's rules for a value: no empty sets, no repeated set members, at
/// most 32 levels. (Numbers were checked when they were made.)
pub fn validate(v: &AttrValue, depth: usize) -> Result<(), String> {
    if depth > ddbjson::MAX_DEPTH {
        return Err(format!("nested deeper than {} levels", ddbjson::MAX_DEPTH));
    }
    match v {
        AttrValue::Ss(s) => check_set(s.iter(), DdbType::Ss),
        AttrValue::Ns(n) => check_set(n.iter(), DdbType::Ns),
        AttrValue::Bs(b) => check_set(b.iter(), DdbType::Bs),
        AttrValue::M(m) => m.values().try_for_each(|x| validate(x, depth + 1)),
        AttrValue::L(l) => l.iter().try_for_each(|x| validate(x, depth + 1)),
        _ => Ok(()),
    }
}

/// `"S -> N"`-style label of a type transition (`-` for absent).
pub fn transition(before: Option<DdbType>, after: Option<DdbType>) -> String {
    let mut s = String::new();
    let _ = write!(s, "{} -> {}", before.map(DdbType::name).unwrap_or("-"), after.map(DdbType::name).unwrap_or("-"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: &str) -> Item {
        ddbjson::item_from_str(json).unwrap()
    }

    /// Writing a before-image straight from the batch gives the JSON and
    /// size of the decoded item, for every kind of column (strings that
    /// need escaping, NULL in a string column, mixed types, sets out of
    /// order, nesting, binary, 38-digit numbers, empty strings).
    #[test]
    fn before_images_from_arrays_equal_decoded_items() {
        use crate::convert::{RawBuilder, TableSchema, into_record_batch};
        use crate::snapshot::ItemSink;
        let lines = [
            r#"{"id":{"S":"a\"b\\c\u0001é"},"name":{"S":""},"age":{"N":"12345678901234567890123456789012345678"},"tags":{"SS":["z","a"]}}"#,
            r#"{"id":{"S":"b"},"name":{"NULL":true},"age":{"S":"forty"},"m":{"M":{"k":{"L":[{"B":"AAE="},{"NS":["2","1"]}]}}},"ok":{"BOOL":false}}"#,
            r#"{"id":{"S":"c"},"bin":{"B":"/w=="},"bs":{"BS":["Ag==","AQ=="]},"age":{"N":"-0.5"}}"#,
            r#"{"id":{"S":"d"}}"#,
        ];
        let mut b = RawBuilder::new(true);
        for l in lines {
            b.push(item(l)).unwrap();
        }
        let (raw, stats) = b.finish();
        let schema = TableSchema::infer(&stats, &[]).unwrap();
        let batch = into_record_batch(raw.into_iter().next().unwrap(), &schema).unwrap();
        let d = BatchDecoder::new(&batch).unwrap();
        for row in 0..lines.len() {
            let whole = BeforeImage::whole(d.item(row).unwrap());
            let part = before_image(&d, row, |n| n == "age" || n == "name").unwrap();
            assert_eq!(part.json, whole.json, "row {row}");
            assert_eq!(part.size, whole.size, "row {row}");
            let wanted: Item =
                whole.item.iter().filter(|(k, _)| *k == "age" || *k == "name").map(|(k, v)| (k.clone(), v.clone())).collect();
            assert_eq!(part.item, wanted, "row {row}");
        }
    }

    #[test]
    fn update_sizes_match_the_after_image() {
        let before = item(r#"{"id":{"S":"k"},"name":{"S":"Ada Lovelace"},"old":{"N":"12345"}}"#);
        let values = item(r#"{"id":{"S":"k"},"first":{"S":"Ada"},"name":{"S":"Ada"}}"#);
        let e = update(values, vec!["old".into()], BeforeImage::whole(before.clone()), &["id".to_string()], false).unwrap().unwrap();
        let After::Patch(set, remove) = e.after else { panic!("an UPDATE patches its item") };
        assert_eq!(remove, vec!["old".to_string()]);
        assert_eq!(set, item(r#"{"first":{"S":"Ada"},"name":{"S":"Ada"}}"#));
        let after = item(r#"{"id":{"S":"k"},"first":{"S":"Ada"},"name":{"S":"Ada"}}"#);
        assert_eq!(e.after_size, item_size(&after));
        assert_eq!(e.changes.len(), 3);
        assert_eq!(e.before_json, Some(canonical_json(&before)));
    }
}
