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
    pub created: bool,
}

/// How to treat a table that exists.
#[derive(Debug, Clone, Copy)]
pub struct Existing {
    /// Write into a table that holds items (same keys are overwritten).
    pub allow: bool,
    /// A resumed load: the items there are its own.
    pub resuming: bool,
}

/// Finds `table` (creating it from `shape` when given and absent) and checks it may be written.
pub async fn prepare(
    client: &Client,
    model: &str,
    table: &str,
    shape: Option<&TableShape>,
    existing: Existing,
    where_: &str,
) -> Result<Target> {
    let mut created = false;
    let key = match describe_key(client, table).await? {
        Some(key) => {
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
            key
        }
        None => {
            let Some(s) = shape else {
                return Err(Error::Invalid(format!(
                    "table {table} does not exist at {where_}: give --create with --amplify to create it from model {model}"
                )));
            };
            crate::rehearse::tables::create(client, s, false).await?;
            created = true;
            describe_key(client, table)
                .await?
                .ok_or_else(|| Error::Invalid(format!("table {table} was created but cannot be described")))?
        }
    };
    Ok(Target { model: model.to_string(), table: table.to_string(), key, created })
}

/// The table's key, or None when it does not exist.
async fn describe_key(client: &Client, table: &str) -> Result<Option<Vec<(String, ScalarAttributeType)>>> {
    let out = match client.describe_table().table_name(table).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => return Ok(None),
        Err(e) => return Err(sdk_error(&format!("describing table {table}"), e)),
    };
    let t = out.table().ok_or_else(|| Error::Invalid(format!("DescribeTable {table}: no table in the answer")))?;
    let mut key = Vec::new();
    for k in t.key_schema() {
        let name = k.attribute_name().to_string();
        let ty = t
            .attribute_definitions()
            .iter()
            .find(|d| d.attribute_name() == name)
            .map(|d| d.attribute_type().clone())
            .ok_or_else(|| Error::Invalid(format!("table {table}: key attribute {name} has no definition")))?;
        if k.key_type() == &aws_sdk_dynamodb::types::KeyType::Hash {
            key.insert(0, (name, ty));
        } else {
            key.push((name, ty));
        }
    }
    Ok(Some(key))
}

async fn holds_items(client: &Client, table: &str) -> Result<bool> {
    let out = client.scan().table_name(table).limit(1).send().await.map_err(|e| sdk_error(&format!("scanning table {table}"), e))?;
    Ok(!out.items().is_empty() || out.last_evaluated_key().is_some())
}

/// Why `item` cannot be written to a table keyed by `key` (None: it can).
pub fn key_problem(item: &Item, key: &[(String, ScalarAttributeType)]) -> Option<String> {
    for (name, ty) in key {
        let ok = match (item.get(name), ty) {
            (None, _) => return Some(format!("has no key attribute {name}")),
            (Some(AttrValue::S(s)), ScalarAttributeType::S) => !s.is_empty(),
            (Some(AttrValue::N(_)), ScalarAttributeType::N) => true,
            (Some(AttrValue::B(b)), ScalarAttributeType::B) => !b.is_empty(),
            _ => false,
        };
        if !ok {
            let got = item.get(name).map(|v| v.ddb_type().name()).unwrap_or("-");
            return Some(format!("key attribute {name} must be a non-empty {}, not {got}", ty.as_str()));
        }
    }
    None
}
