//! Query results for people and JSON tools: a map or list column of a table
//! shown as the plain JSON of its exact value (`{"city":"Bern","zip":null}`,
//! as `ddb_json` shows it), not as Arrow renders a struct (with its hidden
//! `_ddb` tags, binary as hex, NULL fields dropped).

use std::io::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::schema::KIND_KEY;
use crate::error::{Error, Result};
use crate::item::ddbjson::write_plain;

fn io(source: std::io::Error) -> Error {
    Error::Io { file: "the output".into(), source }
}

/// Whether `f` is a table's map or list column (or one selected from it):
/// a struct or list that carries its ddbsnap kind.
pub fn is_stored_nested(f: &Field) -> bool {
    matches!(f.data_type(), DataType::Struct(_) | DataType::List(_))
        && matches!(f.metadata().get(KIND_KEY).map(String::as_str), Some("M" | "L"))
}

/// The plain JSON of each row of a stored map or list column (None: SQL NULL).
fn plain_texts(column: &ArrayRef, field: &Field) -> Result<Vec<Option<String>>> {
    (0..column.len())
        .map(|row| {
            let v =
                super::natural::natural_value(column, field, row).map_err(|e| Error::Invalid(format!("column {}: {e}", field.name())))?;
            Ok(v.map(|v| {
                let mut text = String::new();
                write_plain(&mut text, &v);
                text
            }))
        })
        .collect()
}

/// `b` with each stored map or list column as text: its rows' plain JSON.
pub fn plain_maps(b: &RecordBatch) -> Result<RecordBatch> {
    if !b.schema().fields().iter().any(|f| is_stored_nested(f)) {
        return Ok(b.clone());
    }
    let mut fields = Vec::with_capacity(b.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(b.num_columns());
    for (f, c) in b.schema().fields().iter().zip(b.columns()) {
        if !is_stored_nested(f) {
            fields.push(f.as_ref().clone());
            columns.push(c.clone());
            continue;
        }
        let mut text = StringBuilder::new();
        plain_texts(c, f)?.into_iter().for_each(|t| text.append_option(t));
        fields.push(Field::new(f.name(), DataType::Utf8, true));
        columns.push(Arc::new(text.finish()));
    }
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(b.num_rows())),
    )?)
}

/// One JSON object per row, as Arrow's line-delimited writer writes them,
/// except that stored map and list columns are their plain JSON values
/// (written after the other columns; SQL NULLs left out, as Arrow does).
pub fn write_json_lines(batches: &[&RecordBatch], out: &mut dyn Write) -> Result<()> {
    for b in batches {
        let nested: Vec<usize> = b.schema().fields().iter().enumerate().filter(|(_, f)| is_stored_nested(f)).map(|(i, _)| i).collect();
        if nested.is_empty() {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut *out);
            w.write(b)?;
            w.finish()?;
            continue;
        }
        let flat: Vec<usize> = (0..b.num_columns()).filter(|i| !nested.contains(i)).collect();
        let mut buf = Vec::new();
        if !flat.is_empty() {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
            w.write(&b.project(&flat)?)?;
            w.finish()?;
        }
        let mut lines = buf.split(|c| *c == b'\n');
        let texts: Vec<(String, Vec<Option<String>>)> = nested
            .iter()
            .map(|&i| {
                let f = b.schema_ref().field(i).clone();
                Ok((serde_json::to_string(f.name()).map_err(|e| Error::Invalid(e.to_string()))?, plain_texts(b.column(i), &f)?))
            })
            .collect::<Result<_>>()?;
        for row in 0..b.num_rows() {
            let line =
                if flat.is_empty() { &b"{}"[..] } else { lines.next().ok_or_else(|| Error::Invalid("a JSON row is missing".into()))? };
            let body = line.strip_suffix(b"}").ok_or_else(|| Error::Invalid("a JSON row that is not an object".into()))?;
            out.write_all(body).map_err(io)?;
            let mut first = body == b"{";
            for (name, rows) in &texts {
                if let Some(text) = &rows[row] {
                    if !first {
                        out.write_all(b",").map_err(io)?;
                    }
                    first = false;
                    write!(out, "{name}:{text}").map_err(io)?;
                }
            }
            out.write_all(b"}\n").map_err(io)?;
        }
    }
    Ok(())
}
