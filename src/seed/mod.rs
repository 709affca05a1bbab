//! Seeding tables (`ddbsnap load`): the items of an export, a masked subset,
//! converted Parquet or CSV rows written into DynamoDB tables, for sandboxes
//! and staging. A rehearsal loads its tables with the same writer.
//!
//! Nothing is written until every source is read, every item has its
//! table's key, and every table is ready; then each table is written with
//! BatchWriteItem (see [`write`]), journaled when a journal is given.

pub mod csv;
pub mod fields;
pub mod target;
pub mod write;

use std::collections::BTreeMap;

use aws_sdk_dynamodb::Client;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::apply::journal::Journal;
use crate::error::{Error, Result};
use crate::item::{Item, ddbjson};
use crate::rehearse::tables::TableShape;
pub use target::Existing;
pub use target::Target;
use target::{create_missing, item_problem, prepare};
use write::{GROUP, Settings, Written, write_groups};

/// Items read from one source, for one model's table.
pub struct Source {
    pub model: String,
    /// The export, Parquet folder or CSV file, for messages.
    pub origin: String,
    pub items: Vec<Item>,
    /// For CSV rows, the line each item starts on (errors name it).
    pub lines: Option<Vec<u64>>,
}

impl Source {
    fn at(&self, i: usize) -> String {
        match &self.lines {
            Some(l) => format!("{}:{}", self.origin, l[i]),
            None => format!("{} (item {} of {})", self.origin, i + 1, self.items.len()),
        }
    }
}

/// Where and how to write.
pub struct Options {
    /// The DynamoDB table of each model.
    pub tables: BTreeMap<String, String>,
    /// With `--create`: the shape of each model's table.
    pub shapes: Option<BTreeMap<String, TableShape>>,
    pub existing: Existing,
    pub write: Settings,
    /// The endpoint, for messages.
    pub where_: String,
}

/// What loading one table did.
#[derive(Debug, Serialize)]
pub struct TableReport {
    pub model: String,
    pub table: String,
    pub created: bool,
    pub sources: Vec<String>,
    #[serde(flatten)]
    pub written: Written,
}

/// The models in the order their first source was given.
fn models(sources: &[Source]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in sources {
        if !out.contains(&s.model) {
            out.push(s.model.clone());
        }
    }
    out
}

/// SHA-256 over every target table and item in writing order: a journal
/// is only continued by the load it was started for.
pub fn fingerprint(sources: &[Source], tables: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for model in models(sources) {
        h.update(tables.get(&model).map(String::as_str).unwrap_or("").as_bytes());
        h.update(b"\0");
        for s in sources.iter().filter(|s| s.model == model) {
            for it in &s.items {
                h.update(ddbjson::item_to_string(it).as_bytes());
                h.update(b"\n");
            }
        }
    }
    hex::encode(h.finalize())
}

/// The number of items over all sources.
pub fn item_count(sources: &[Source]) -> u64 {
    sources.iter().map(|s| s.items.len() as u64).sum()
}

/// Finds every table and checks every item against it (key, index keys,
/// size, a key no other item of the table has); only then creates the
/// tables to create: a refused load leaves nothing behind.
pub async fn prepare_all(client: &Client, sources: &[Source], o: &Options) -> Result<Vec<Target>> {
    let order = models(sources);
    let mut targets: Vec<Target> = Vec::new();
    for model in &order {
        let table = o.tables.get(model).ok_or_else(|| Error::Invalid(format!("no --to-table {model}=TABLE for model {model}")))?;
        let shape = match &o.shapes {
            Some(shapes) => {
                Some(shapes.get(model).ok_or_else(|| Error::Invalid(format!("--create: no model {model} in the Amplify model file")))?)
            }
            None => None,
        };
        targets.push(prepare(client, model, table, shape, o.existing, &o.where_).await?);
    }
    // Keys are unique per DynamoDB table, across every source and model
    // written into it: a second item with a key would replace the first.
    let mut seen: BTreeMap<&str, std::collections::HashSet<String>> = BTreeMap::new();
    for (model, t) in order.iter().zip(&targets) {
        for s in sources.iter().filter(|s| &s.model == model) {
            for (i, it) in s.items.iter().enumerate() {
                if let Some(p) = item_problem(it, t) {
                    return Err(Error::Invalid(format!("{}: {p} (nothing was written)", s.at(i))));
                }
                let key: Item = t.key.iter().filter_map(|(n, _)| it.get_key_value(n).map(|(k, v)| (k.clone(), v.clone()))).collect();
                let key = ddbjson::item_to_string(&key);
                if !seen.entry(t.table.as_str()).or_default().insert(key.clone()) {
                    return Err(Error::Invalid(format!(
                        "{}: key {key} appears twice among the items for table {}; one would silently replace the other (nothing was written)",
                        s.at(i),
                        t.table
                    )));
                }
            }
        }
    }
    for t in &mut targets {
        create_missing(client, t).await?;
    }
    Ok(targets)
}

/// Writes each table's items, in the order of [`prepare_all`]'s targets.
pub async fn write_all(
    client: &Client,
    sources: &[Source],
    targets: Vec<Target>,
    o: &Options,
    mut journal: Option<&mut Journal>,
) -> Result<Vec<TableReport>> {
    let order = models(sources);
    let mut reports = Vec::new();
    let mut seq = 0u64;
    for (model, t) in order.iter().zip(targets) {
        let mine: Vec<&Source> = sources.iter().filter(|s| &s.model == model).collect();
        // Groups are numbered and copied as they are sent, not all up front.
        let mut numbered = mine.iter().flat_map(|s| s.items.iter()).zip(seq..);
        let groups = std::iter::from_fn(|| {
            let g: write::Group = numbered.by_ref().take(GROUP).map(|(it, n)| (n, it.clone())).collect();
            (!g.is_empty()).then_some(Ok(g))
        });
        let written = write_groups(client, &t.table, groups, &o.write, journal.as_deref_mut()).await?;
        seq += mine.iter().map(|s| s.items.len() as u64).sum::<u64>();
        reports.push(TableReport {
            model: model.clone(),
            table: t.table,
            created: t.created,
            sources: mine.iter().map(|s| s.origin.clone()).collect(),
            written,
        });
    }
    Ok(reports)
}
