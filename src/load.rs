//! Loading tables into memory: locate, read every item once, infer the
//! schema over all of them, then build typed Arrow batches on all cores.
//!
//! Used by `sql`, `inspect` and later stages that query snapshots. For data
//! larger than memory, [`crate::output`] streams to Parquet instead.

use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};

use crate::convert::{RawBatch, RawBuilder, TableSchema, TableStats, into_record_batch};
use crate::error::{Error, Result};
use crate::snapshot::{self, ReadOptions, ReadReport, S3Settings, TableSnapshot};

/// Where and how to read exports.
#[derive(Clone, Default)]
pub struct LoadEnv {
    pub s3: Option<S3Settings>,
    pub read: ReadOptions,
    pub as_of: Option<DateTime<Utc>>,
    /// Primary key attributes by table name, where known (`--key`, the
    /// Amplify model): each table's keys are checked to be unique once it
    /// is loaded. Tables with incremental exports are also checked while
    /// reading, by the keys those records name.
    pub keys: std::collections::BTreeMap<String, Vec<String>>,
}

/// A table read into memory.
pub struct LoadedTable {
    pub snapshot: TableSnapshot,
    pub schema: TableSchema,
    pub batches: Vec<RecordBatch>,
    pub stats: TableStats,
    pub report: ReadReport,
}

impl LoadedTable {
    pub fn name(&self) -> &str {
        &self.snapshot.name
    }
}

/// Resolves command-line export arguments into table snapshots.
pub async fn locate(args: &[String], env: &LoadEnv) -> Result<Vec<TableSnapshot>> {
    let mut exports = Vec::new();
    // The argument that brought a full export for each table named NAME=...
    let mut full_from: std::collections::HashMap<String, &String> = std::collections::HashMap::new();
    for a in args {
        let found = snapshot::find_exports(a, env.s3.as_ref()).await?;
        // `-e X=A -e X=B` with a full export in each: two sources for one
        // table is a mistake, never a choice of the latest to make silently.
        if let Some(name) = found.iter().find(|e| !e.summary.is_incremental()).and_then(|e| e.name.clone()) {
            if let Some(first) = full_from.get(&name).filter(|first| **first != a) {
                return Err(Error::Locate(format!(
                    "table {name}: two full exports were given for this one table, by {first} and by {a}; give one"
                )));
            }
            full_from.insert(name, a);
        }
        exports.extend(found);
    }
    let tables = snapshot::plan_tables(exports, env.as_of, env.read.strict)?;
    // A key for a table that is not there is a typo, not a key to skip.
    if let Some(name) = env.keys.keys().find(|k| !tables.iter().any(|t| &t.name == *k)) {
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        return Err(Error::Locate(format!("--key names table {name:?}, which is not among the tables read ({})", names.join(", "))));
    }
    let mut seen = std::collections::HashSet::new();
    for t in &tables {
        if !seen.insert(t.name.to_lowercase()) {
            return Err(Error::Locate(format!("two tables would be named {:?}; name them with NAME=EXPORT", t.name)));
        }
    }
    Ok(tables)
}

/// Reads one table into memory.
pub async fn load_table(table: &TableSnapshot, env: &LoadEnv) -> Result<LoadedTable> {
    let span = tracing::info_span!("load", table = %table.name);
    let _g = span.enter();
    let (sinks, report) = snapshot::read_table(table, &env.read, || RawBuilder::new(true)).await?;
    tracing::info!(items = report.items, "read");
    let mut stats = TableStats::default();
    let mut raw = Vec::new();
    for s in sinks {
        let (b, st) = s.finish();
        stats.merge(&st);
        raw.extend(b);
    }
    let schema = TableSchema::infer(&stats, &[])?;
    let batches = convert_parallel(raw, &schema, &env.read.pool)?;
    tracing::info!(items = report.items, columns = schema.columns.len(), "loaded");
    let loaded = LoadedTable { snapshot: table.clone(), schema, batches, stats, report };
    // Keys named by incremental records were checked while reading.
    if let Some(keys) = env.keys.get(&table.name) {
        check_unique_keys(&loaded, keys)?;
    }
    Ok(loaded)
}

/// A table holds one item per primary key. Two items with one key in a full
/// export (a corrupt or hand-made export) would pass every query, and
/// incrementals would change both: an error naming the key and the items.
pub fn check_unique_keys(t: &LoadedTable, keys: &[String]) -> Result<()> {
    use crate::convert::BatchDecoder;
    use crate::error::brief;
    use crate::item::ddbjson::{write_str, write_value};
    let mut names: Vec<&String> = keys.iter().collect();
    names.sort();
    let mut seen: std::collections::HashMap<u128, u64> = std::collections::HashMap::with_capacity(t.report.items as usize);
    let mut text = String::new();
    let mut ordinal = 0u64;
    for batch in &t.batches {
        let d = BatchDecoder::new(batch)?;
        let cols: Vec<Option<usize>> = names.iter().map(|k| d.column(k)).collect();
        for row in 0..batch.num_rows() {
            ordinal += 1;
            text.clear();
            text.push('{');
            for (i, (k, col)) in names.iter().zip(&cols).enumerate() {
                let v = match col {
                    Some(c) => d.value(*c, row)?,
                    None => None,
                };
                let v = v.ok_or_else(|| {
                    Error::Invalid(format!(
                        "table {}: item {ordinal} has no key attribute {k:?} (the key is {keys:?}; give the right one with --key {}=...)",
                        t.name(),
                        t.name()
                    ))
                })?;
                if i > 0 {
                    text.push(',');
                }
                write_str(&mut text, k);
                text.push(':');
                write_value(&mut text, &v);
            }
            text.push('}');
            if let Some(first) = seen.insert(crate::plan::targets::key_hash(&text), ordinal) {
                return Err(Error::Invalid(format!(
                    "table {}: items {first} and {ordinal} have the same primary key {}: a table holds one item per key (the key is {keys:?})",
                    t.name(),
                    brief(&text, 200)
                )));
            }
        }
    }
    Ok(())
}

/// Converts raw batches to typed batches on the pool, keeping order.
pub fn convert_parallel(raw: Vec<RawBatch>, schema: &TableSchema, pool: &crate::env::Pool) -> Result<Vec<RecordBatch>> {
    pool.map_vec(raw, |_, b| into_record_batch(b, schema)).into_iter().collect()
}

impl LoadedTable {
    /// Adds columns for attributes that no item has (all missing), so that
    /// SQL written against a newer data model can name them: a transform
    /// that backfills `status` reads `ddb_missing(status)` on every item.
    pub fn add_absent_columns(&mut self, names: &[String]) -> Result<()> {
        use crate::convert::schema::{ColumnSpec, Kind};
        let absent: Vec<&String> = names.iter().filter(|n| !self.schema.columns.iter().any(|c| &c.name == *n)).collect();
        if absent.is_empty() {
            return Ok(());
        }
        let mut columns = self.schema.columns.clone();
        columns.extend(absent.iter().map(|n| ColumnSpec::flat((*n).clone(), Kind::Empty)));
        let schema = TableSchema::from_columns(columns);
        let mut batches = Vec::with_capacity(self.batches.len());
        for b in &self.batches {
            batches.push(widen(b, &schema)?);
        }
        self.schema = schema;
        self.batches = batches;
        Ok(())
    }
}

/// `batch` with all-NULL columns (and tags) appended to fit `schema`.
fn widen(batch: &RecordBatch, schema: &TableSchema) -> Result<RecordBatch> {
    use std::sync::Arc;

    use arrow::array::{Array, ArrayRef, StructArray, new_null_array};
    use arrow::datatypes::DataType;

    let rows = batch.num_rows();
    let old = batch.num_columns() - 1;
    let mut columns: Vec<ArrayRef> = batch.columns()[..old].to_vec();
    let tags = batch.column(old).as_any().downcast_ref::<StructArray>().ok_or_else(|| Error::Invalid("no _ddb struct column".into()))?;
    let mut tag_columns: Vec<ArrayRef> = tags.columns().to_vec();
    for spec in &schema.columns[old..] {
        columns.push(new_null_array(&spec.data_type, rows));
        tag_columns.push(new_null_array(&crate::convert::schema::tag_type(), rows));
    }
    let DataType::Struct(tag_fields) = schema.arrow.field(schema.columns.len()).data_type().clone() else {
        return Err(Error::Invalid("no _ddb struct column".into()));
    };
    columns.push(Arc::new(StructArray::try_new(tag_fields, tag_columns, None)?));
    Ok(RecordBatch::try_new(schema.arrow.clone(), columns)?)
}
