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
                w.write(&RecordBatch::new_empty(result.schema.clone()))?;
            }
            for b in batches {
                w.write(b)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
