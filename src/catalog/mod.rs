//! The one place a DataFusion session is built.
//!
//! Tables come from loaded snapshots (in memory) or from Parquet folders
//! written by `convert`. The session keeps identifiers case-sensitive, since
//! Amplify's attributes are camelCase (`createdAt`) and its models are
//! PascalCase (`Contact`), and registers ddbsnap's SQL functions:
//!
//! - `ddb_type(attr)`: the attribute's DynamoDB type in this item (`'S'`,
//!   `'N'`, ..., `'NULL'`), or NULL when the attribute is missing;
//! - `ddb_missing(attr)`: true when the item lacks the attribute (an explicit
//!   DynamoDB NULL is *not* missing);
//! - `ddb_json(value)`: a nested value's DynamoDB JSON as plain JSON;
//! - `ddb_get(value, 'path.to[0].field')`: one nested value as text;
//! - `ddb_is_number(text)`: whether text is a number DynamoDB accepts;
//! - for transforms, `ddb(json)`, `ddb_number(text)`, `ddb_attr(attr)` and
//!   `ddb_text(attr)`, which produce exact DynamoDB values (see `typed`).
//!
//! `ddb_type` and `ddb_missing` are rewritten in the SQL text's syntax tree
//! into reads of the `_ddb` tag column (see [`crate::convert::schema`]),
//! which is why they take a column name rather than any expression.

mod checked;
pub mod guard;
pub mod memory;
mod names;
mod rewrite;
mod typed;
mod udf;

pub use rewrite::{macro_arguments, referenced_names};
pub use typed::value_type;

/// `name` as a SQL identifier: double-quoted, with inner quotes doubled, so
/// any attribute or table name (spaces, quotes, keywords) reads as itself.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

use std::path::Path;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

use crate::error::{Error, Result};
use crate::load::LoadedTable;

/// A query's result: schema and batches.
pub struct QueryResult {
    pub schema: arrow::datatypes::SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    /// The first value of the first column, when it is an Int64: the
    /// answer of a `SELECT count(*) ...`.
    pub fn first_i64(&self) -> Option<i64> {
        let b = self.batches.iter().find(|b| b.num_rows() > 0)?;
        b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().map(|a| a.value(0))
    }
}

/// The ddbsnap SQL session.
pub struct Catalog {
    ctx: SessionContext,
    /// Partitions per in-memory table: one per worker of the run.
    partitions: usize,
}

impl Catalog {
    /// A session on `env`'s runtime (its memory limit and spill folder),
    /// running `env.threads()` partitions at once.
    pub fn new(env: &crate::env::Env) -> Catalog {
        let partitions = env.threads();
        let mut config = SessionConfig::new().with_information_schema(true).with_target_partitions(partitions);
        config.options_mut().sql_parser.enable_ident_normalization = false;
        // Number literals are exact: `0.1` and `12345678901234567890123` are
        // decimals, not floats (DynamoDB numbers are decimals of 38 digits).
        config.options_mut().sql_parser.parse_float_as_decimal = true;
        // Keep the Arrow schema embedded in ddbsnap's Parquet files: its field
        // metadata says how each column holds DynamoDB values.
        config.options_mut().execution.parquet.skip_metadata = false;
        // And read its columns back as the Arrow types written (Utf8, not
        // Utf8View): the ddb_* functions tell DynamoDB types apart by the
        // column's type, so a view type would read an N as an S.
        config.options_mut().execution.parquet.schema_force_view_types = false;
        let ctx = SessionContext::new_with_config_rt(config, env.runtime());
        for f in udf::all().into_iter().chain(typed::all()) {
            ctx.register_udf(f);
        }
        ctx.add_analyzer_rule(Arc::new(checked::CheckedArithmetic));
        Catalog { ctx, partitions }
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Registers a loaded snapshot under its table name.
    pub fn add_loaded(&self, table: &LoadedTable) -> Result<()> {
        self.add_batches(table.name(), table.schema.arrow.clone(), table.batches.clone())
    }

    /// Registers batches as a table, split in partitions for parallel scans.
    pub fn add_batches(&self, name: &str, schema: arrow::datatypes::SchemaRef, batches: Vec<RecordBatch>) -> Result<()> {
        let parts = self.partitions;
        let mut partitions = vec![Vec::new(); parts];
        for (i, b) in batches.into_iter().enumerate() {
            partitions[i % parts].push(b);
        }
        let table = MemTable::try_new(schema, partitions)?;
        self.ctx.register_table(TableReference::bare(name), Arc::new(table))?;
        Ok(())
    }

    /// Registers every sub-folder of `dir` holding Parquet files as a table.
    pub async fn add_parquet_dir(&self, dir: &Path) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io_path(dir, e))?;
        let mut folders: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
        folders.sort();
        for folder in folders {
            let Some(name) = folder.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
            let has_parquet = std::fs::read_dir(&folder)
                .map_err(|e| Error::io_path(&folder, e))?
                .filter_map(|e| e.ok())
                .any(|e| e.path().extension().is_some_and(|x| x == "parquet"));
            if !has_parquet {
                continue;
            }
            let lost = quarantined_in(&folder)?;
            if lost > 0 {
                eprintln!(
                    "ddbsnap: WARNING: {}: {lost} undecodable lines were quarantined when this table was converted, and are NOT in it or in any result from it",
                    folder.display()
                );
            }
            let path = folder.to_str().ok_or_else(|| Error::Invalid(format!("{} is not UTF-8", folder.display())))?;
            // DataFusion reads a path with glob characters as a pattern: a
            // folder named `C*` would read its siblings' files too.
            if path.contains(['*', '?', '[', ']', '{', '}']) {
                return Err(Error::Invalid(format!(
                    "{}: a table folder's path may not hold * ? [ ] {{ }} (it would be read as a pattern); rename it",
                    crate::error::brief(path, 200)
                )));
            }
            self.ctx
                .register_parquet(TableReference::bare(name.as_str()), path, ParquetReadOptions::default())
                .await
                .map_err(|e| Error::Invalid(format!("{}: {}", crate::error::brief(path, 200), crate::error::brief(&e.to_string(), 500))))?;
            self.check_ddbsnap_table(&name, path).await?;
            names.push(name);
        }
        if names.is_empty() {
            return Err(Error::Locate(format!("no table folders with Parquet files under {}", dir.display())));
        }
        Ok(names)
    }

    /// A table of ddbsnap's own data (it has the `_ddb` column) must carry
    /// type metadata that fits every column: a file changed since ddbsnap
    /// wrote it would otherwise be read by its SQL types alone, and a map's
    /// tags taken for its data. Such a table is refused and unregistered.
    async fn check_ddbsnap_table(&self, name: &str, path: &str) -> Result<()> {
        let table = TableReference::bare(name);
        let schema = self.ctx.table_provider(table.clone()).await?.schema();
        if schema.field_with_name(crate::convert::TYPES_COLUMN).is_err() {
            return Ok(());
        }
        if let Err(e) = crate::convert::TableSchema::from_arrow(&schema) {
            let _ = self.ctx.deregister_table(table);
            return Err(Error::Invalid(format!("{}: {e}", crate::error::brief(path, 200))));
        }
        Ok(())
    }

    /// Runs every statement in `sql`, returning the last one's result.
    pub async fn query(&self, sql: &str) -> Result<QueryResult> {
        let statements = rewrite::parse(sql)?;
        let mut last = None;
        for stmt in statements {
            let plan = self.plan_statement(stmt).await?;
            let df = self.ctx.execute_logical_plan(plan).await?;
            let schema = Arc::new(df.schema().as_arrow().clone());
            let batches = df.collect().await?;
            last = Some(QueryResult { schema, batches });
        }
        last.ok_or_else(|| Error::Invalid("no SQL statement given".into()))
    }

    /// Plans `sql`, which must be one read-only query (a transform or a
    /// check: see [`guard`]); `what` names it in errors.
    pub async fn read_only_plan(&self, sql: &str, what: &str) -> Result<datafusion::logical_expr::LogicalPlan> {
        let stmt = guard::one_query(sql, what)?;
        let plan = self.plan_statement(stmt).await?;
        guard::read_only().verify_plan(&plan).map_err(|e| Error::Invalid(format!("{what}: {e}")))?;
        Ok(plan)
    }

    /// Runs one read-only query and collects its result.
    pub async fn query_read_only(&self, sql: &str, what: &str) -> Result<QueryResult> {
        let plan = self.read_only_plan(sql, what).await?;
        let df = self.ctx.execute_logical_plan(plan).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        Ok(QueryResult { schema, batches: df.collect().await? })
    }

    /// Streams one read-only query's result, with where each of its columns
    /// comes from (planning reads results far larger than memory this way).
    pub async fn stream_read_only(
        &self,
        sql: &str,
        what: &str,
    ) -> Result<(datafusion::physical_plan::SendableRecordBatchStream, Vec<guard::Origin>)> {
        let plan = self.read_only_plan(sql, what).await?;
        let origins = guard::origins(&plan);
        Ok((self.ctx.execute_logical_plan(plan).await?.execute_stream().await?, origins))
    }

    /// Registers a CSV (with a header row) or Parquet file as a table.
    pub async fn add_file(&self, name: &str, path: &Path) -> Result<()> {
        let text = path.to_str().ok_or_else(|| Error::Invalid(format!("{} is not UTF-8", path.display())))?;
        if !path.exists() {
            return Err(Error::io_path(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
        let table = TableReference::bare(name);
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => self.ctx.register_csv(table, text, datafusion::prelude::CsvReadOptions::new()).await?,
            Some("parquet") => {
                // Only `plan --input` reads single files, and a plan is
                // made only from whole data (as from a whole export).
                let lost = crate::output::quarantined_lines(path)?;
                if lost > 0 {
                    return Err(Error::Invalid(format!(
                        "{}: {lost} undecodable lines were quarantined when this file was converted, so it is not the whole table; a plan is made only from whole data",
                        path.display()
                    )));
                }
                self.ctx.register_parquet(table, text, ParquetReadOptions::default()).await?;
                self.check_ddbsnap_table(name, text).await?;
            }
            _ => return Err(Error::Invalid(format!("{}: only .csv and .parquet files can be read as tables", path.display()))),
        }
        Ok(())
    }

    /// Plans one statement; a table that is not found is named with the
    /// registered tables nearest to it (`contact` for `Contact`).
    async fn plan_statement(&self, stmt: datafusion::sql::parser::Statement) -> Result<datafusion::logical_expr::LogicalPlan> {
        self.ctx.state().statement_to_plan(stmt).await.map_err(|e| {
            let text = e.to_string();
            match names::missing_table(&text) {
                Some(missing) => Error::Invalid(format!("{text}{}", names::suggestion(missing, &self.table_names()))),
                None => Error::DataFusion(e),
            }
        })
    }

    /// Table names registered, sorted.
    pub fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.ctx.catalog("datafusion").and_then(|c| c.schema("public")).map(|s| s.table_names()).unwrap_or_default();
        names.sort();
        names
    }
}

/// Lines quarantined when the Parquet files of `folder` were converted.
pub fn quarantined_in(folder: &Path) -> Result<u64> {
    let mut lost = 0;
    for e in std::fs::read_dir(folder).map_err(|e| Error::io_path(folder, e))?.filter_map(|e| e.ok()) {
        if e.path().extension().is_some_and(|x| x == "parquet") {
            lost += crate::output::quarantined_lines(&e.path())?;
        }
    }
    Ok(lost)
}
