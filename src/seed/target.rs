//! The tables a load writes into: found (or created from the model with
//! `--create`), their keys read back from DynamoDB, and refused when they
//! already hold items, unless the user says that is intended.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ScalarAttributeType;

use crate::error::{Error, Result};
use crate::item::{AttrValue, Item};
use crate::rehearse::tables::{TableShape, sdk_error};

/// A table ready to be written.
#[derive(Debug, Clone)]
pub struct Target {
    pub model: String,
    pub table: String,
    /// Partition key, then sort key, as DynamoDB declares them.
    pub key: Vec<(String, ScalarAttributeType)>,
    /// The key attributes of its secondary indexes: an item that has one
    /// must hold it with this type, and not empty.
    pub index_keys: Vec<KeyAttr>,
    /// The table to create (with `--create`, when it does not exist).
    pub create: Option<TableShape>,
    pub created: bool,
}

/// A key attribute of an index: name, type, and whether it is the sort key
/// (DynamoDB allows 1024 bytes there, 2048 in a partition key).
pub type KeyAttr = (String, ScalarAttributeType, bool);

/// How to treat a table that exists.
#[derive(Debug, Clone, Copy)]
pub struct Existing {
    /// Write into a table that holds items (same keys are overwritten).
    pub allow: bool,
    /// A resumed load: the items there are its own.
    pub resuming: bool,
}

/// Finds `table` and checks it may be written; a missing table is to be
/// created from `shape` (by [`create_missing`], once every item checked out).
pub async fn prepare(
    client: &Client,
    model: &str,
    table: &str,
    shape: Option<&TableShape>,
    existing: Existing,
    where_: &str,
) -> Result<Target> {
    check_name(table)?;
    match describe(client, table).await? {
        Some((key, index_keys)) => {
            if let Some(s) = shape {
                let want: Vec<&str> = s.key.iter().map(|(n, _)| n.as_str()).collect();
                let have: Vec<&str> = key.iter().map(|(n, _)| n.as_str()).collect();
                if want != have {
                    return Err(Error::Invalid(format!(
                        "table {table} at {where_} exists with key ({}), but model {model}'s key is ({}): it is not this model's table",
                        have.join(", "),
                        want.join(", ")
                    )));
                }
            }
            if !existing.allow && !existing.resuming && holds_items(client, table).await? {
                return Err(Error::Invalid(format!(
                    "table {table} at {where_} already holds items: give --allow-existing to write into it (items with the same keys are replaced), or load into an empty table"
                )));
            }
            Ok(Target { model: model.to_string(), table: table.to_string(), key, index_keys, create: None, created: false })
        }
        None => {
            let Some(s) = shape else {
                return Err(Error::Invalid(format!(
                    "table {table} does not exist at {where_}: create it, or give --create with an --amplify file that has a model {model}"
                )));
            };
            let index_keys =
                s.indexes.iter().flat_map(|(_, attrs)| attrs.iter().enumerate().map(|(i, (n, t))| (n.clone(), t.clone(), i > 0))).collect();
            Ok(Target {
                model: model.to_string(),
                table: table.to_string(),
                key: s.key.clone(),
                index_keys,
                create: Some(s.clone()),
                created: false,
            })
        }
    }
}

/// Creates the table if it is still to be created.
pub async fn create_missing(client: &Client, t: &mut Target) -> Result<()> {
    if let Some(shape) = t.create.take() {
        for note in &shape.notes {
            tracing::warn!("{note}");
        }
        crate::rehearse::tables::create(client, &shape, false).await?;
        t.created = true;
    }
    Ok(())
}

/// The table as DynamoDB identifies it now: its ARN and creation time. A
/// load's journal keeps it, so that a resume into a table deleted and
/// created again (which does not hold the items journaled) is refused.
pub async fn identity(client: &Client, table: &str) -> Result<String> {
    let out = client.describe_table().table_name(table).send().await.map_err(|e| sdk_error(&format!("describing table {table}"), e))?;
    let t = out.table().ok_or_else(|| Error::Invalid(format!("DescribeTable {table}: no table in the answer")))?;
    let created = t.creation_date_time().map(|d| format!("{}.{:09}", d.secs(), d.subsec_nanos())).unwrap_or_default();
    Ok(format!("{} created {created}", t.table_arn().unwrap_or(table)))
}

/// DynamoDB's rule for table names, checked before any call.
pub fn check_name(table: &str) -> Result<()> {
    let ok_chars = table.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !(3..=255).contains(&table.len()) || !ok_chars {
        return Err(Error::Invalid(format!("{table:?} is not a DynamoDB table name: 3 to 255 characters of a-z, A-Z, 0-9, _, - and .")));
    }
    Ok(())
}

/// The table's key and its indexes' key attributes, or None when it does not exist.
async fn describe(client: &Client, table: &str) -> Result<Option<(Vec<(String, ScalarAttributeType)>, Vec<KeyAttr>)>> {
    let out = match client.describe_table().table_name(table).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => return Ok(None),
        Err(e) => return Err(sdk_error(&format!("describing table {table}"), e)),
    };
    let t = out.table().ok_or_else(|| Error::Invalid(format!("DescribeTable {table}: no table in the answer")))?;
    let typed = |name: &str| -> Result<(String, ScalarAttributeType)> {
        t.attribute_definitions()
            .iter()
            .find(|d| d.attribute_name() == name)
            .map(|d| (name.to_string(), d.attribute_type().clone()))
            .ok_or_else(|| Error::Invalid(format!("table {table}: key attribute {name} has no definition")))
    };
    let mut key = Vec::new();
    for k in t.key_schema() {
        let attr = typed(k.attribute_name())?;
        if k.key_type() == &aws_sdk_dynamodb::types::KeyType::Hash {
            key.insert(0, attr);
        } else {
            key.push(attr);
        }
    }
    let mut index_keys = Vec::new();
    let schemas =
        t.global_secondary_indexes().iter().map(|i| i.key_schema()).chain(t.local_secondary_indexes().iter().map(|i| i.key_schema()));
    for schema in schemas {
        for k in schema {
            let (name, ty) = typed(k.attribute_name())?;
            index_keys.push((name, ty, k.key_type() == &aws_sdk_dynamodb::types::KeyType::Range));
        }
    }
    Ok(Some((key, index_keys)))
}

async fn holds_items(client: &Client, table: &str) -> Result<bool> {
    let out = client.scan().table_name(table).limit(1).send().await.map_err(|e| sdk_error(&format!("scanning table {table}"), e))?;
    Ok(!out.items().is_empty() || out.last_evaluated_key().is_some())
}

/// DynamoDB's item size limit.
const MAX_ITEM_BYTES: usize = 400 * 1024;

/// Why `item` cannot be written to `t` (None: it can): DynamoDB would
/// refuse it part way through the load, so it is refused before any write.
pub fn item_problem(item: &Item, t: &Target) -> Option<String> {
    for (i, (name, ty)) in t.key.iter().enumerate() {
        if !item.contains_key(name) {
            let parts: Vec<&str> = name.split('#').collect();
            return Some(if parts.len() > 1 {
                format!(
                    "the item lacks a part of the composite key {name} of table {}: every one of {} must be given",
                    t.table,
                    parts.join(", ")
                )
            } else {
                format!("the item has no key attribute {name} of table {}", t.table)
            });
        }
        if let Some(p) = attr_problem(item, name, ty, i > 0) {
            return Some(format!("key attribute {name} of table {}: {p}", t.table));
        }
    }
    for (name, ty, range) in &t.index_keys {
        if let Some(p) = attr_problem(item, name, ty, *range) {
            return Some(format!("attribute {name}, a secondary index key of table {}: {p}", t.table));
        }
    }
    if let Some(p) = name_problem(item, 0) {
        return Some(p);
    }
    let size = crate::item::size::item_size(item);
    (size > MAX_ITEM_BYTES).then(|| format!("the item is {size} bytes, over DynamoDB's 400 KB limit"))
}

/// An index or key attribute, where present, must be a non-empty value of
/// its declared type, within DynamoDB's key size (2048 bytes for a
/// partition key, 1024 for a sort key).
fn attr_problem(item: &Item, name: &str, ty: &ScalarAttributeType, range: bool) -> Option<String> {
    let v = item.get(name)?;
    let len = match (v, ty) {
        (AttrValue::S(s), ScalarAttributeType::S) => Some(s.len()),
        (AttrValue::N(_), ScalarAttributeType::N) => None,
        (AttrValue::B(b), ScalarAttributeType::B) => Some(b.len()),
        _ => return Some(format!("must be a {}, not {}", ty.as_str(), v.ddb_type().name())),
    };
    let max = if range { 1024 } else { 2048 };
    match len {
        Some(0) => Some(format!("must not be empty (an empty {} cannot be a key)", ty.as_str())),
        Some(n) if n > max => {
            Some(format!("is {n} bytes; DynamoDB keys take at most {max} bytes in a {}", if range { "sort key" } else { "partition key" }))
        }
        _ => None,
    }
}

/// Attribute names DynamoDB refuses: empty, or longer than 64 KB (at any depth).
fn name_problem(item: &std::collections::BTreeMap<String, AttrValue>, depth: usize) -> Option<String> {
    for (k, v) in item {
        if k.is_empty() {
            return Some(if depth == 0 {
                "an attribute has an empty name".into()
            } else {
                "a map inside the item has an empty key".into()
            });
        }
        if k.len() > 65_535 {
            return Some(format!("an attribute name is {} bytes, over DynamoDB's 64 KB", k.len()));
        }
        if let Some(p) = nested_names(v, depth + 1) {
            return Some(p);
        }
    }
    None
}

fn nested_names(v: &AttrValue, depth: usize) -> Option<String> {
    match v {
        AttrValue::M(m) => name_problem(m, depth),
        AttrValue::L(l) => l.iter().find_map(|x| nested_names(x, depth)),
        _ => None,
    }
}
