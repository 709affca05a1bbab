//! Every operation of a plan, for a reviewer: `plan show --ops` lists them
//! with the item before and after, optionally filtered by SQL over the
//! operations (`--where "op = 'DELETE'"`), and `plan show --sql` opens
//! them as a table in the SQL prompt.
//!
//! The operations are read through the plan's own guarded reader (a plan
//! folder is untrusted input), batch by batch, so a listing of millions of
//! operations holds one batch at a time. The filter runs on each batch in
//! a fresh session whose only table is that batch.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use super::file::{PlanFile, StoredOp};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::item::ddbjson::item_to_string;

/// The table name the operations have in `--where` and `--sql`.
pub const TABLE: &str = "ops";

/// A batch of `ops.parquet` with an `after` column: the item as the
/// operation leaves it, DynamoDB JSON (NULL when deleted).
pub fn with_after(b: &RecordBatch) -> Result<RecordBatch> {
    let mut after = StringBuilder::new();
    for op in StoredOp::all_in(b)? {
        match op.after() {
            Some(item) => after.append_value(item_to_string(&item)),
            None => after.append_null(),
        }
    }
    let mut fields: Vec<Field> = b.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("after", DataType::Utf8, true));
    let mut columns: Vec<ArrayRef> = b.columns().to_vec();
    columns.push(Arc::new(after.finish()));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// Calls `each` with every batch of operations (with `after`), in plan
/// order, keeping only the rows `filter` (an SQL condition over the
/// operations' columns) holds for.
pub async fn for_each(
    plan: &PlanFile,
    env: &crate::env::Env,
    filter: Option<&str>,
    mut each: impl FnMut(&RecordBatch) -> Result<()>,
) -> Result<()> {
    let Some(filter) = filter else {
        for batch in plan.batches()? {
            each(&with_after(&batch?)?)?;
        }
        return Ok(());
    };
    let filter = &condition(filter)?;
    // Tried on no operations first, so that a filter that cannot run fails
    // the same way on a plan with no operations as on one with many.
    select(env, filter, with_after(&RecordBatch::new_empty(super::file::ops_schema()))?).await?;
    for batch in plan.batches()? {
        for b in select(env, filter, with_after(&batch?)?).await? {
            each(&b)?;
        }
    }
    Ok(())
}

/// `--where` must be one SQL condition and nothing more: parsed as an
/// expression on its own, so that `1=0) UNION SELECT ... (` cannot turn the
/// filter into another query. Returns it as SQL text again.
fn condition(filter: &str) -> Result<String> {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    use datafusion::sql::sqlparser::tokenizer::Token;
    let shown = crate::error::brief(&crate::error::escape_unsafe(filter), 200);
    let bad = |e: &dyn std::fmt::Display| Error::Invalid(format!("--where {shown:?}: not one SQL condition: {e}"));
    let dialect = GenericDialect {};
    let mut parser = Parser::new(&dialect).try_with_sql(filter).map_err(|e| bad(&e))?;
    let expr = parser.parse_expr().map_err(|e| bad(&e))?;
    match parser.next_token().token {
        Token::EOF => Ok(expr.to_string()),
        other => Err(bad(&format!("unexpected {other} after the condition"))),
    }
}

/// The rows of `batch` that `filter` holds for.
async fn select(env: &crate::env::Env, filter: &str, batch: RecordBatch) -> Result<Vec<RecordBatch>> {
    let sql = format!("SELECT * FROM {TABLE} WHERE ({filter}\n) ORDER BY seq");
    let catalog = Catalog::new(env);
    catalog.add_batches(TABLE, batch.schema(), vec![batch])?;
    let shown = crate::error::brief(&crate::error::escape_unsafe(filter), 200);
    match catalog.query_read_only(&sql, "--where").await {
        Ok(r) => Ok(r.batches),
        Err(e) => Err(Error::Invalid(format!(
            "--where {shown:?}: {e} (columns: seq, row, table, op, key, set, remove, before, before_sha256, write_units, after)"
        ))),
    }
}

/// Every operation, with `after`, registered as the table `ops` in `catalog`.
pub fn register_all(plan: &PlanFile, catalog: &Catalog) -> Result<u64> {
    let mut batches = Vec::new();
    for b in plan.batches()? {
        batches.push(with_after(&b?)?);
    }
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => with_after(&RecordBatch::new_empty(super::file::ops_schema()))?.schema(),
    };
    catalog.add_batches(TABLE, schema, batches)?;
    Ok(rows)
}

/// One JSON object per operation: DynamoDB JSON values embedded as JSON
/// (exact: DynamoDB JSON keeps numbers as text), `remove` as a list.
pub fn json_lines(b: &RecordBatch, out: &mut dyn std::io::Write) -> Result<()> {
    use arrow::array::{Array, AsArray};
    let schema = b.schema();
    for i in 0..b.num_rows() {
        let mut row = serde_json::Map::new();
        for (f, c) in schema.fields().iter().zip(b.columns()) {
            let v = if c.is_null(i) {
                serde_json::Value::Null
            } else if let Some(s) = c.as_string_opt::<i32>() {
                let text = s.value(i);
                match f.name().as_str() {
                    "key" | "set" | "before" | "after" | "remove" => serde_json::from_str(text)
                        .map_err(|e| Error::Invalid(format!("operation column {}: {e}", crate::error::escape_unsafe(f.name()))))?,
                    _ => serde_json::Value::String(text.to_string()),
                }
            } else {
                let formatter = arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &Default::default())?;
                let text = formatter.value(i).to_string();
                text.parse::<u64>().map(serde_json::Value::from).unwrap_or(serde_json::Value::String(text))
            };
            row.insert(f.name().clone(), v);
        }
        let write = |e: &dyn std::fmt::Display| Error::Invalid(format!("writing the operations: {e}"));
        serde_json::to_writer(&mut *out, &serde_json::Value::Object(row)).map_err(|e| write(&e))?;
        out.write_all(b"\n").map_err(|e| write(&e))?;
    }
    Ok(())
}
