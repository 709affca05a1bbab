//! Rendering query results on stdout.

use std::io::Write;

use anyhow::Result;
use arrow::record_batch::RecordBatch;

use crate::catalog::QueryResult;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned text table.
    Table,
    /// One JSON object per row.
    Json,
    /// CSV with a header line.
    Csv,
}

/// A batch whose text (column names and string values) has its control
/// characters and direction marks escaped: a table on a terminal shows
/// data, never runs it (a key holding ESC [2J would clear the screen).
fn escaped_for_table(b: &RecordBatch) -> Result<RecordBatch> {
    use std::sync::Arc;

    use arrow::array::{Array, ArrayRef, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let esc = crate::error::escape_unsafe;
    let mut fields = Vec::with_capacity(b.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(b.num_columns());
    for (f, c) in b.schema().fields().iter().zip(b.columns()) {
        let text: Option<ArrayRef> = match c.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(arrow::compute::cast(c, &DataType::Utf8)?),
            // Nested values show their fields' names and strings: rendered
            // as text first, then escaped like any string.
            DataType::Struct(_)
            | DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(..)
            | DataType::Map(..)
            | DataType::Dictionary(..)
            | DataType::Union(..) => {
                let f = arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &arrow::util::display::FormatOptions::default())?;
                let rendered: StringArray = (0..c.len()).map(|i| (!c.is_null(i)).then(|| f.value(i).to_string())).collect();
                Some(Arc::new(rendered))
            }
            _ => None,
        };
        match text {
            Some(t) => {
                let t = t
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .map(|s| s.iter().map(|v| v.map(|v| esc(v).into_owned())).collect::<StringArray>());
                fields.push(Field::new(esc(f.name()).into_owned(), DataType::Utf8, true));
                columns.push(match t {
                    Some(t) => Arc::new(t),
                    None => c.clone(),
                });
            }
            None => {
                fields.push(f.as_ref().clone().with_name(esc(f.name()).into_owned()));
                columns.push(c.clone());
            }
        }
    }
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(b.num_rows())),
    )?)
}

use crate::convert::plain::plain_maps;

pub fn print_result(result: &QueryResult, format: Format, out: &mut dyn Write) -> Result<()> {
    let plain: Vec<RecordBatch> = match format {
        Format::Json => result.batches.clone(),
        Format::Table | Format::Csv => result.batches.iter().map(|b| plain_maps(b).map_err(anyhow::Error::from)).collect::<Result<_>>()?,
    };
    let batches: Vec<&RecordBatch> = plain.iter().collect();
    match format {
        Format::Table => {
            let text = if batches.is_empty() {
                arrow::util::pretty::pretty_format_batches(&[escaped_for_table(&plain_maps(&RecordBatch::new_empty(
                    result.schema.clone(),
                ))?)?])?
            } else {
                let escaped = batches.iter().map(|b| escaped_for_table(b)).collect::<Result<Vec<_>>>()?;
                arrow::util::pretty::pretty_format_batches(&escaped)?
            };
            writeln!(out, "{text}")?;
        }
        Format::Json => crate::convert::plain::write_json_lines(&batches, out)?,
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut *out);
            if batches.is_empty() {
                w.write(&flat_for_csv(&plain_maps(&RecordBatch::new_empty(result.schema.clone()))?)?)?;
            }
            for b in batches {
                w.write(&flat_for_csv(b)?)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// CSV holds no nested values, but sets are Arrow lists and `_ddb` (in
/// `SELECT *`) is a struct: such columns are written as the text the table
/// format shows for them.
fn flat_for_csv(batch: &RecordBatch) -> Result<RecordBatch> {
    use std::sync::Arc;

    use arrow::array::{Array, ArrayRef, StringBuilder};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::util::display::{ArrayFormatter, FormatOptions};

    if !batch.schema().fields().iter().any(|f| f.data_type().is_nested()) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if !field.data_type().is_nested() {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        }
        let formatter = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default())?;
        let mut text = StringBuilder::new();
        for i in 0..column.len() {
            if column.is_null(i) {
                text.append_null();
            } else {
                text.append_value(formatter.value(i).to_string());
            }
        }
        fields.push(Field::new(field.name(), DataType::Utf8, true));
        columns.push(Arc::new(text.finish()));
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}
