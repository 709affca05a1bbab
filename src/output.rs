//! Writing snapshots as Parquet, one folder per table, in bounded memory.
//!
//! The column types depend on every item, and a Parquet file's schema must be
//! fixed before its first row group, so conversion reads the export twice: a
//! statistics pass (a few counters per attribute) and a writing pass in which
//! each reading thread turns its batches into Arrow and encodes them into a
//! row group as soon as one is full. Memory stays at about one row group per
//! reading thread, whatever the size of the export. The files carry the Arrow schema (with
//! ddbsnap's column kinds), so `ddbsnap sql --parquet` and other engines read
//! them, and items can be rebuilt from them exactly.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves};
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

/// Encodes row groups for one Parquet file from many threads.
///
/// Each reading thread encodes and compresses its own row groups (every
/// column chunk of them) and only hands the finished bytes to the file's
/// writer thread, which appends them. A single writer that encoded
/// everything was a second, serial stage beside the pool: it put a ceiling
/// on the speed-up with cores and made `--threads 1` use more than one.
pub(crate) struct RowGroupEncoder {
    factory: ArrowRowGroupWriterFactory,
    schema: arrow::datatypes::SchemaRef,
    next_index: AtomicUsize,
    /// Each data file's last rows, gathered across files so that many small
    /// data files still make full row groups (not one small group each).
    leftover: std::sync::Mutex<(Vec<RecordBatch>, usize)>,
}

/// A row group's encoded column chunks and its row count.
pub(crate) type Encoded = (usize, Vec<ArrowColumnChunk>);

impl RowGroupEncoder {
    pub(crate) fn new(factory: ArrowRowGroupWriterFactory, schema: arrow::datatypes::SchemaRef) -> RowGroupEncoder {
        RowGroupEncoder { factory, schema, next_index: AtomicUsize::new(0), leftover: Default::default() }
    }

    /// Encodes `batches` as the file's next row group (row groups are
    /// numbered in the order this is called, which need not be the order
    /// they are appended in).
    pub(crate) fn encode(&self, batches: &[RecordBatch]) -> Result<Encoded> {
        let index = self.next_index.fetch_add(1, Ordering::Relaxed);
        let mut writers = self.factory.create_column_writers(index)?;
        // Writers come in leaf order: a field's leaves follow one another.
        let mut next = 0;
        for (i, field) in self.schema.fields().iter().enumerate() {
            let mut leaves = 0;
            for batch in batches {
                let columns = compute_leaves(field, batch.column(i))?;
                leaves = columns.len();
                let mine = writers
                    .get_mut(next..next + leaves)
                    .ok_or_else(|| Error::Invalid("Parquet schema has fewer leaves than the Arrow schema".into()))?;
                for (w, c) in mine.iter_mut().zip(&columns) {
                    w.write(c)?;
                }
            }
            next += leaves;
        }
        if next != writers.len() {
            return Err(Error::Invalid(format!("Parquet schema has {} leaves, the Arrow schema {next}", writers.len())));
        }
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let chunks = writers.into_iter().map(|w| w.close()).collect::<std::result::Result<Vec<_>, _>>()?;
        Ok((rows, chunks))
    }
}

/// Turns one data file's items into encoded row groups for the writer.
struct StreamingSink {
    builder: RawBuilder,
    schema: TableSchema,
    encoder: Arc<RowGroupEncoder>,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    group_rows: usize,
    tx: mpsc::SyncSender<Result<Encoded>>,
}

impl StreamingSink {
    /// Moves completed batches into the pending row group and sends the
    /// row group once it is full (or, with `all`, whatever is pending).
    fn send_ready(&mut self, all: bool) -> Result<()> {
        for raw in self.builder.take_batches() {
            let batch = into_record_batch(raw, &self.schema)?;
            self.pending_rows += batch.num_rows();
            self.pending.push(batch);
        }
        if self.pending_rows >= self.group_rows || (all && self.pending_rows > 0) {
            let encoded = self.encoder.encode(&std::mem::take(&mut self.pending));
            self.pending_rows = 0;
            self.tx.send(encoded).map_err(|_| Error::Invalid("Parquet writer stopped".into()))?;
        }
        Ok(())
    }
}

impl ItemSink for StreamingSink {
    fn push(&mut self, item: Item) -> Result<()> {
        self.builder.push(item)?;
        self.send_ready(false)
    }

    fn push_json_line(&mut self, line: &[u8]) -> Result<bool> {
        let taken = self.builder.push_json_line(line)?;
        self.send_ready(false)?;
        Ok(taken)
    }

    fn finish_file(&mut self) -> Result<()> {
        let rest = std::mem::replace(&mut self.builder, RawBuilder::new(true)).finish().0;
        self.builder.batches = rest;
        self.send_ready(false)?;
        let full = {
            let mut left = self.encoder.leftover.lock().map_err(|_| Error::Invalid("a Parquet encoder panicked".into()))?;
            left.1 += std::mem::take(&mut self.pending_rows);
            left.0.append(&mut self.pending);
            (left.1 >= self.group_rows).then(|| std::mem::take(&mut *left))
        };
        if let Some((batches, _)) = full {
            let encoded = self.encoder.encode(&batches);
            self.tx.send(encoded).map_err(|_| Error::Invalid("Parquet writer stopped".into()))?;
        }
        Ok(())
    }
}

/// Converts one table to `dir/<table>/data.parquet`.
/// The Parquet footer key holding how many lines were quarantined while
/// the table was read (absent when none were).
pub const QUARANTINED_KEY: &str = "ddbsnap.quarantined_lines";

/// How many lines were quarantined when `file` was converted (0: none, or
/// not a file `convert` wrote), read from its footer. A file whose `_ddb`
/// is of type Null yet holds rows is refused: ddbsnap writes that type only
/// for a table with no items, and DataFusion would read such rows (alone,
/// or beside the table's other files) as items with no values.
pub fn quarantined_lines(file: &Path) -> Result<u64> {
    let f = std::fs::File::open(file).map_err(|e| Error::io_path(file, e))?;
    let meta = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&f)
        .map_err(|e| Error::Invalid(format!("{}: {e}", file.display())))?;
    let fm = meta.file_metadata();
    let kv = fm.key_value_metadata();
    if fm.num_rows() > 0 {
        let schema = parquet::arrow::parquet_to_arrow_schema(fm.schema_descr(), kv)
            .map_err(|e| Error::Invalid(format!("{}: {e}", file.display())))?;
        if schema.field_with_name(crate::convert::TYPES_COLUMN).is_ok_and(|f| f.data_type().is_null()) {
            return Err(Error::Invalid(format!(
                "{}: its {} column is of type Null, which ddbsnap writes only for a table with no items, yet it holds {} rows: the data was changed after ddbsnap wrote it",
                file.display(),
                crate::convert::TYPES_COLUMN,
                fm.num_rows()
            )));
        }
    }
    Ok(kv.into_iter().flatten().find(|k| k.key == QUARANTINED_KEY).and_then(|k| k.value.as_deref()?.parse().ok()).unwrap_or(0))
}

pub async fn convert_table(table: &TableSnapshot, env: &LoadEnv, dir: &Path) -> Result<Converted> {
    convert_in_groups(table, env, dir, ROW_GROUP_ROWS).await
}

/// [`convert_table`] with row groups of at least `group_rows` rows (the
/// last of each data file's smaller).
async fn convert_in_groups(table: &TableSnapshot, env: &LoadEnv, dir: &Path, group_rows: usize) -> Result<Converted> {
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

    // Pass 2: reading threads encode row groups; one thread appends them.
    let (tx, rx) = mpsc::sync_channel::<Result<Encoded>>(env.read.pool.threads() * 2);
    let created = (|| -> Result<_> {
        let file = std::fs::File::create(&tmp).map_err(|e| Error::io_path(&tmp, e))?;
        let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?)).build();
        Ok(ArrowWriter::try_new(file, schema.parquet_schema(), Some(props))?.into_serialized_writer()?)
    })();
    let (mut file_writer, factory) = match created {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let encoder = Arc::new(RowGroupEncoder::new(factory, schema.parquet_schema()));
    // Lines quarantined while reading this table: recorded in the file, so
    // that every later reader of the Parquet knows it is not the whole table.
    let quarantined = Arc::new(AtomicU64::new(0));
    let quarantined_w = quarantined.clone();
    let writer = std::thread::spawn(move || -> Result<u64> {
        let mut rows = 0u64;
        for encoded in rx {
            let (n, chunks) = encoded?;
            let mut group = file_writer.next_row_group()?;
            for chunk in chunks {
                chunk.append_to_row_group(&mut group)?;
            }
            group.close()?;
            rows += n as u64;
        }
        let lost = quarantined_w.load(Ordering::SeqCst);
        if lost > 0 {
            file_writer.append_key_value_metadata(parquet::file::metadata::KeyValue::new(QUARANTINED_KEY.to_string(), lost.to_string()));
        }
        file_writer.close()?;
        Ok(rows)
    });
    let last = encoder.clone();
    let read = {
        let schema = schema.clone();
        let tx = tx.clone();
        snapshot::read_table(table, &env.read, move || StreamingSink {
            builder: RawBuilder::new(true),
            schema: schema.clone(),
            encoder: encoder.clone(),
            pending: Vec::new(),
            pending_rows: 0,
            group_rows,
            tx: tx.clone(),
        })
        .await
        .map(|(sinks, report)| {
            drop(sinks);
            report
        })
    };
    // The rows left over from every data file: the last row group.
    let read = read.and_then(|report| {
        let (batches, _) = std::mem::take(&mut *last.leftover.lock().map_err(|_| Error::Invalid("a Parquet encoder panicked".into()))?);
        if !batches.is_empty() {
            tx.send(last.encode(&batches)).map_err(|_| Error::Invalid("Parquet writer stopped".into()))?;
        }
        Ok(report)
    });
    drop(last);
    quarantined.store(read.as_ref().map_or(0, |r| r.quarantined), Ordering::SeqCst);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::ddbjson::item_to_string;
    use crate::snapshot::ReadOptions;

    struct Items(Vec<Item>);
    impl ItemSink for Items {
        fn push(&mut self, item: Item) -> Result<()> {
            self.0.push(item);
            Ok(())
        }
    }

    /// Row groups encoded by every reading thread (one per batch, or each
    /// data file's last: the full export's two files and the items the
    /// incrementals insert) hold exactly the table's items, with 1 to 3
    /// threads.
    #[test]
    fn row_groups_from_every_thread_hold_the_table() {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let export = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/contacts").to_string();
        for (threads, group_rows) in [(1, 1), (3, 1), (2, ROW_GROUP_ROWS)] {
            let read = ReadOptions { pool: crate::env::Pool::new(threads).unwrap(), ..Default::default() };
            let env = LoadEnv { s3: None, read, as_of: None, keys: Default::default() };
            let dir = tempfile::tempdir().unwrap();
            let (converted, want) = rt.block_on(async {
                let table = crate::load::locate(std::slice::from_ref(&export), &env).await.unwrap().remove(0);
                let converted = convert_in_groups(&table, &env, dir.path(), group_rows).await.unwrap();
                let (sinks, _) = snapshot::read_table(&table, &env.read, || Items(Vec::new())).await.unwrap();
                (converted, sinks.into_iter().flat_map(|s| s.0).collect::<Vec<_>>())
            });
            let file = std::fs::File::open(&converted.path).unwrap();
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
            let groups = reader.metadata().num_row_groups();
            let mut got = Vec::new();
            for batch in reader.build().unwrap() {
                got.extend(crate::convert::batch_to_items(&batch.unwrap()).unwrap());
            }
            // Sets compared as sets, items in any order.
            let canonical = |items: Vec<Item>| {
                let mut v: Vec<String> = items
                    .into_iter()
                    .map(|mut it| {
                        it.values_mut().for_each(crate::item::sort_sets);
                        item_to_string(&it)
                    })
                    .collect();
                v.sort();
                v
            };
            // One group per batch; or, when a group holds more rows than the
            // table, one group: data files' last rows are gathered.
            if group_rows == 1 {
                assert!(groups >= 3, "{groups} row groups with {threads} threads");
            } else {
                assert_eq!(groups, 1, "{threads} threads");
            }
            assert_eq!((converted.items as usize, got.len()), (want.len(), want.len()), "{threads} threads");
            let (got, want) = (canonical(got), canonical(want));
            let differ = got.iter().zip(&want).find(|(g, w)| g != w);
            assert!(differ.is_none(), "{threads} threads: {differ:?}");
        }
    }
}
