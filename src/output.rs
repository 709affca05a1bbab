//! Writing snapshots as Parquet, one folder per table, in bounded memory.
//!
//! The column types depend on every item, and a Parquet file's schema must be
//! fixed before its first row group, so conversion reads the export twice: a
//! statistics pass (a few counters per attribute) and a writing pass that
//! turns each batch into Arrow and hands it to the writer as soon as it is
//! full. Memory stays at a few batches per reading thread plus one row group,
//! whatever the size of the export. The files carry the Arrow schema (with
//! ddbsnap's column kinds), so `ddbsnap sql --parquet` and other engines read
//! them, and items can be rebuilt from them exactly.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::convert::{RawBuilder, TableSchema, TableStats, into_record_batch};
use crate::error::{Error, Result};
use crate::item::Item;
use crate::load::LoadEnv;
use crate::snapshot::{self, ItemSink, ReadReport, TableSnapshot};

/// Rows per Parquet row group: bounds the writer's memory.
pub const ROW_GROUP_ROWS: usize = 131_072;

/// What one table's conversion produced.
pub struct Converted {
    pub table: String,
    pub path: PathBuf,
    pub items: u64,
    pub report: ReadReport,
}

/// Sends finished batches to the writer thread as they fill.
struct StreamingSink {
    builder: RawBuilder,
    schema: TableSchema,
    tx: mpsc::SyncSender<Result<arrow::record_batch::RecordBatch>>,
}

impl StreamingSink {
    fn send_ready(&mut self) -> Result<()> {
        for raw in self.builder.take_batches() {
            let batch = into_record_batch(raw, &self.schema);
            self.tx.send(batch).map_err(|_| Error::Invalid("Parquet writer stopped".into()))?;
        }
        Ok(())
    }
}

impl ItemSink for StreamingSink {
    fn push(&mut self, item: Item) -> Result<()> {
        self.builder.push(item)?;
        self.send_ready()
    }

    fn push_json_line(&mut self, line: &[u8]) -> Result<bool> {
        let taken = self.builder.push_json_line(line)?;
        self.send_ready()?;
        Ok(taken)
    }
}

impl Drop for StreamingSink {
    fn drop(&mut self) {
        let rest = std::mem::replace(&mut self.builder, RawBuilder::new(false)).finish().0;
        for raw in rest {
            let _ = self.tx.send(into_record_batch(raw, &self.schema));
        }
    }
}

/// Converts one table to `dir/<table>/data.parquet`.
/// The Parquet footer key holding how many lines were quarantined while
/// the table was read (absent when none were).
pub const QUARANTINED_KEY: &str = "ddbsnap.quarantined_lines";

/// How many lines were quarantined when `file` was converted (0: none, or
/// not a file `convert` wrote).
pub fn quarantined_lines(file: &Path) -> Result<u64> {
    let f = std::fs::File::open(file).map_err(|e| Error::io_path(file, e))?;
    let meta = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&f)
        .map_err(|e| Error::Invalid(format!("{}: {e}", file.display())))?;
    let kv = meta.file_metadata().key_value_metadata();
    Ok(kv.into_iter().flatten().find(|k| k.key == QUARANTINED_KEY).and_then(|k| k.value.as_deref()?.parse().ok()).unwrap_or(0))
}

pub async fn convert_table(table: &TableSnapshot, env: &LoadEnv, dir: &Path) -> Result<Converted> {
    // Pass 1: statistics only.
    let (sinks, _) = snapshot::read_table(table, &env.read, || RawBuilder::new(false)).await?;
    let mut stats = TableStats::default();
    for s in sinks {
        stats.merge(&s.finish().1);
    }
    let schema = TableSchema::infer(&stats, &[])?;
    let folder = dir.join(&table.name);
    std::fs::create_dir_all(&folder).map_err(|e| Error::io_path(&folder, e))?;
    let path = folder.join("data.parquet");
    let tmp = folder.join(".data.parquet.partial");

    // Pass 2: stream batches into the writer thread.
    let (tx, rx) = mpsc::sync_channel(env.read.pool.threads() * 2);
    let writer_schema = schema.arrow.clone();
    let tmp_w = tmp.clone();
    // Lines quarantined while reading this table: recorded in the file, so
    // that every later reader of the Parquet knows it is not the whole table.
    let quarantined = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let quarantined_w = quarantined.clone();
    let before = env.read.quarantine.as_ref().map_or(0, |q| q.count());
    let writer = std::thread::spawn(move || -> Result<u64> {
        let file = std::fs::File::create(&tmp_w).map_err(|e| Error::io_path(&tmp_w, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let mut w = ArrowWriter::try_new(file, writer_schema, Some(props))?;
        let mut rows = 0u64;
        for batch in rx {
            let batch: arrow::record_batch::RecordBatch = batch?;
            rows += batch.num_rows() as u64;
            w.write(&batch)?;
        }
        let lost = quarantined_w.load(std::sync::atomic::Ordering::SeqCst);
        if lost > 0 {
            w.append_key_value_metadata(parquet::file::metadata::KeyValue::new(QUARANTINED_KEY.to_string(), lost.to_string()));
        }
        w.close()?;
        Ok(rows)
    });
    let read = {
        let schema = schema.clone();
        let tx = tx.clone();
        snapshot::read_table(table, &env.read, move || StreamingSink {
            builder: RawBuilder::new(true),
            schema: schema.clone(),
            tx: tx.clone(),
        })
        .await
        .map(|(sinks, report)| {
            drop(sinks);
            report
        })
    };
    let after = env.read.quarantine.as_ref().map_or(0, |q| q.count());
    quarantined.store(after - before, std::sync::atomic::Ordering::SeqCst);
    drop(tx);
    let written = writer.join().map_err(|_| Error::Invalid("Parquet writer panicked".into()))?;
    // The writer's own error explains a failed send better than the sender's.
    let outcome = written.and_then(|rows| read.map(|report| (rows, report)));
    let (rows, report) = match outcome {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if rows != report.items {
        return Err(Error::Invalid(format!("table {}: read {} items but wrote {rows} rows", table.name, report.items)));
    }
    std::fs::rename(&tmp, &path).map_err(|e| Error::io_path(&path, e))?;
    Ok(Converted { table: table.name.clone(), path, items: rows, report })
}
