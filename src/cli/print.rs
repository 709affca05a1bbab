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

pub fn print_result(result: &QueryResult, format: Format, out: &mut dyn Write) -> Result<()> {
    let batches: Vec<&RecordBatch> = result.batches.iter().collect();
    match format {
        Format::Table => {
            let text = if batches.is_empty() {
                arrow::util::pretty::pretty_format_batches(&[RecordBatch::new_empty(result.schema.clone())])?
            } else {
                arrow::util::pretty::pretty_format_batches(&result.batches)?
            };
            writeln!(out, "{text}")?;
        }
        Format::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut *out);
            w.write_batches(&batches)?;
            w.finish()?;
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut *out);
            if batches.is_empty() {
                w.write(&flat_for_csv(&RecordBatch::new_empty(result.schema.clone()))?)?;
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
