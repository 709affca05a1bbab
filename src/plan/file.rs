//! The plan file: a folder with every operation in Parquet (`ops.parquet`)
//! and a small JSON manifest (`plan.json`) that a person reads and approves.
//!
//! A plan is immutable. The manifest records the SHA-256 of the operations
//! file, and the plan's own SHA-256 is taken over the manifest's exact text
//! (without the hash itself, which is its last member). Changing either file changes
//! the hash, which `ddbsnap apply --approve SHA` compares with the one the
//! reviewer approved; [`PlanFile::open`] refuses a plan whose files no
//! longer match their recorded hashes.
//!
//! The folder is written under a temporary name and renamed into place only
//! when complete, so an error never leaves a plan that looks whole.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayBuilder, ArrayRef, StringBuilder, UInt32Builder, UInt64Array, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use sha2::{Digest, Sha256};

use super::PlannedOp;
use super::manifest::PlanManifest;
use super::rows::OpKind;
use crate::env::Pool;
use crate::error::{Error, Result, brief};
use crate::item::{Item, ddbjson};
use crate::output::{Encoded, RowGroupEncoder};

pub const MANIFEST_FILE: &str = "plan.json";
pub const OPS_FILE: &str = "ops.parquet";
const BATCH: usize = 8192;

/// Columns of `ops.parquet`. Items and keys are DynamoDB JSON objects. The
/// item after an operation is not stored: it is the before-image with `set`
/// and `remove` applied (UPDATE), `set` (PUT) or nothing (DELETE); see
/// [`StoredOp::after`].
pub fn ops_schema() -> SchemaRef {
    let s = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt64, false),
        Field::new("row", DataType::UInt64, false),
        s("table", false),
        s("op", false),
        s("key", false),
        s("set", true),
        s("remove", true),
        s("before", true),
        s("before_sha256", true),
        Field::new("write_units", DataType::UInt32, false),
    ]))
}

/// Writes a plan folder, operations streamed in batches.
pub struct PlanWriter {
    final_dir: PathBuf,
    tmp_dir: PathBuf,
    /// Full row groups are encoded and compressed on the run's pool, like
    /// the planning; a writer thread appends them in order. (A thread that
    /// encoded everything was a serial stage beside the pool: `--threads 1`
    /// kept 1.1 cores busy, and more cores could not speed it up.)
    writer: Option<(std::sync::mpsc::SyncSender<Pending>, std::thread::JoinHandle<Result<()>>)>,
    encoder: Arc<RowGroupEncoder>,
    pool: Pool,
    /// Batches not yet in a row group, and their rows.
    batches: Vec<RecordBatch>,
    batched_rows: usize,
    rows: u64,
}

/// A row group being encoded on the pool.
type Pending = std::sync::mpsc::Receiver<Result<Encoded>>;

/// Rows per row group of `ops.parquet`.
const GROUP_ROWS: usize = 64 * 1024;

/// Operations in column form, every column of `ops.parquet` but `seq`: each
/// planning thread fills its own, and [`PlanWriter::append`] numbers them.
#[derive(Default)]
pub struct OpColumns {
    row: UInt64Builder,
    table: StringBuilder,
    op: StringBuilder,
    key: StringBuilder,
    set: StringBuilder,
    remove: StringBuilder,
    before: StringBuilder,
    before_sha: StringBuilder,
    units: UInt32Builder,
}

impl OpColumns {
    pub fn push(&mut self, op: &PlannedOp) {
        self.row.append_value(op.row);
        self.table.append_value(&op.table);
        self.op.append_value(op.kind.name());
        self.key.append_value(&op.key_json);
        self.set.append_option(op.set_json.as_deref());
        self.remove.append_option((!op.remove.is_empty()).then(|| serde_json::to_string(&op.remove).expect("names serialize")));
        self.before.append_option(op.before_json.as_deref());
        self.before_sha.append_option(op.before_sha256.as_deref());
        self.units.append_value(op.write_units);
    }

    pub fn len(&self) -> usize {
        self.row.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PlanWriter {
    /// Starts a plan at `dir`, which must not exist (plans are never
    /// overwritten); its row groups are encoded on `pool`.
    pub fn create(dir: &Path, pool: &Pool) -> Result<PlanWriter> {
        Self::create_with(dir, pool, |p: &Path| File::create(p))
    }

    /// [`Self::create`], with `open` creating the operations file (a test
    /// gives a device that is always full).
    fn create_with(dir: &Path, pool: &Pool, open: impl FnOnce(&Path) -> std::io::Result<File>) -> Result<PlanWriter> {
        if dir.exists() {
            return Err(Error::Invalid(format!("{}: a plan is never overwritten; remove it or choose another --out", dir.display())));
        }
        let name =
            dir.file_name().and_then(|n| n.to_str()).ok_or_else(|| Error::Invalid(format!("{}: not a folder name", dir.display())))?;
        let tmp_dir = dir.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        std::fs::create_dir_all(&tmp_dir).map_err(|e| Error::io_path(&tmp_dir, e))?;
        let path = tmp_dir.join(OPS_FILE);
        let file = open(&path).map_err(|e| Error::io_path(&path, e))?;
        // The per-item text columns (key, values, before-image and its hash)
        // are all distinct: a dictionary would be tried and dropped on every
        // page, and min/max statistics of JSON text help no reader. Both cost
        // a fifth of the writing thread's time on a 2M-item plan.
        let mut props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?));
        for col in ["key", "set", "before", "before_sha256"] {
            let col = parquet::schema::types::ColumnPath::from(col);
            props = props.set_column_dictionary_enabled(col.clone(), false).set_column_statistics_enabled(col, EnabledStatistics::None);
        }
        let props = props.build();
        let (mut file_writer, factory) = ArrowWriter::try_new(file, ops_schema(), Some(props))?.into_serialized_writer()?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Pending>(pool.threads() * 2);
        let handle = std::thread::spawn(move || -> Result<()> {
            let written = (|| -> Result<()> {
                for pending in rx {
                    let (_, chunks) = pending.recv().map_err(|_| Error::Invalid("a plan encoder stopped without an answer".into()))??;
                    let mut group = file_writer.next_row_group()?;
                    for chunk in chunks {
                        chunk.append_to_row_group(&mut group)?;
                    }
                    group.close()?;
                }
                file_writer.close()?;
                Ok(())
            })();
            // A full disk says which file it stopped.
            written.map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
        });
        Ok(PlanWriter {
            final_dir: dir.to_path_buf(),
            tmp_dir,
            writer: Some((tx, handle)),
            encoder: Arc::new(RowGroupEncoder::new(factory, ops_schema())),
            pool: pool.clone(),
            batches: Vec::new(),
            batched_rows: 0,
            rows: 0,
        })
    }

    /// Numbers the operations in `c` after those written so far, and sends
    /// them to the writing thread; `c` is left empty.
    pub fn append(&mut self, c: &mut OpColumns) -> Result<()> {
        if c.is_empty() {
            return Ok(());
        }
        let n = c.len() as u64;
        let seq = UInt64Array::from_iter_values(self.rows..self.rows + n);
        self.rows += n;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(seq),
            Arc::new(c.row.finish()),
            Arc::new(c.table.finish()),
            Arc::new(c.op.finish()),
            Arc::new(c.key.finish()),
            Arc::new(c.set.finish()),
            Arc::new(c.remove.finish()),
            Arc::new(c.before.finish()),
            Arc::new(c.before_sha.finish()),
            Arc::new(c.units.finish()),
        ];
        self.batches.push(RecordBatch::try_new(ops_schema(), columns)?);
        self.batched_rows += n as usize;
        if self.batched_rows >= GROUP_ROWS { self.send_group() } else { Ok(()) }
    }

    /// Starts encoding the batches gathered so far as the next row group.
    fn send_group(&mut self) -> Result<()> {
        if self.batches.is_empty() {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.batches);
        self.batched_rows = 0;
        let encoder = self.encoder.clone();
        let pending = self.pool.spawn(move || encoder.encode(&batches));
        let (tx, _) = self.writer.as_ref().expect("writer open until finish");
        if tx.send(pending).is_err() {
            // The writing thread stopped: its error says why.
            return self.join_writer();
        }
        Ok(())
    }

    fn join_writer(&mut self) -> Result<()> {
        let last = self.send_group();
        match self.writer.take() {
            Some((tx, handle)) => {
                drop(tx);
                // The writer's own error explains a failed send better.
                let written = handle.join().map_err(|_| Error::Invalid("the plan writing thread panicked".into()))?;
                written.and(last)
            }
            None => last,
        }
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Path of the operations written so far (readable once [`Self::close_ops`] ran).
    pub fn ops_path(&self) -> PathBuf {
        self.tmp_dir.join(OPS_FILE)
    }

    /// Ends the operations file; returns its SHA-256.
    pub fn close_ops(&mut self) -> Result<String> {
        self.join_writer()?;
        sha256_file(&self.ops_path())
    }

    /// Writes the manifest with its hash and moves the plan into place.
    pub fn finish(mut self, mut manifest: PlanManifest) -> Result<PlanManifest> {
        if self.writer.is_some() {
            manifest.ops_file.sha256 = self.close_ops()?;
        }
        manifest.sha256 = None;
        let body = serde_json::to_string_pretty(&manifest).map_err(json_err)?;
        let (sha, text) = seal(&body);
        manifest.sha256 = Some(sha);
        let path = self.tmp_dir.join(MANIFEST_FILE);
        std::fs::write(&path, text).map_err(|e| Error::io_path(&path, e))?;
        std::fs::rename(&self.tmp_dir, &self.final_dir).map_err(|e| Error::io_path(&self.final_dir, e))?;
        self.tmp_dir = PathBuf::new();
        Ok(manifest)
    }
}

impl Drop for PlanWriter {
    /// An unfinished plan is removed: nothing half-written stays behind.
    fn drop(&mut self) {
        if !self.tmp_dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.tmp_dir);
        }
    }
}

fn json_err(e: serde_json::Error) -> Error {
    Error::Invalid(format!("plan manifest: {e}"))
}

/// The member that carries the hash: always the manifest's last.
const SEAL: &str = ",\n  \"sha256\": \"";

/// Hashes a manifest's text (without its hash) and appends the hash as its
/// last member. The hash covers the exact bytes: any edit, even of
/// whitespace, changes it.
fn seal(body: &str) -> (String, String) {
    let sha = hex::encode(Sha256::digest(body.as_bytes()));
    let open = body.strip_suffix("\n}").expect("a pretty JSON object ends with a closing brace");
    (sha.clone(), format!("{open}{SEAL}{sha}\"\n}}\n"))
}

/// The inverse of [`seal`]: the text that was hashed and the hash recorded.
fn unseal(text: &str) -> Option<(String, String)> {
    let at = text.rfind(SEAL)?;
    let recorded = text[at + SEAL.len()..].strip_suffix("\"\n}\n")?;
    (recorded.len() == 64 && recorded.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| (format!("{}\n}}", &text[..at]), recorded.to_string()))
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = regular_file(path, None)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io_path(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// A plan folder whose files match their hashes.
pub struct PlanFile {
    pub dir: PathBuf,
    pub manifest: PlanManifest,
}

/// A plan's manifest larger than this is not one `plan` wrote (its lists are bounded).
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// Opens `path` if it is a regular file (of at most `max` bytes): a FIFO,
/// a device such as /dev/zero or a directory in a plan folder is refused
/// before it is read, not read forever.
fn regular_file(path: &Path, max: Option<u64>) -> Result<File> {
    // Looked at before it is opened: opening a FIFO blocks until a writer comes.
    let meta = std::fs::metadata(path).map_err(|e| Error::io_path(path, e))?;
    if !meta.is_file() {
        return Err(Error::Invalid(format!(
            "{}: not a regular file: a plan folder holds plan.json and its operations file",
            path.display()
        )));
    }
    let f = File::open(path).map_err(|e| Error::io_path(path, e))?;
    let meta = f.metadata().map_err(|e| Error::io_path(path, e))?;
    if !meta.is_file() {
        return Err(Error::Invalid(format!(
            "{}: not a regular file: a plan folder holds plan.json and its operations file",
            path.display()
        )));
    }
    if let Some(max) = max.filter(|m| meta.len() > *m) {
        return Err(Error::Invalid(format!("{}: {} bytes is larger than a plan's manifest can be ({max})", path.display(), meta.len())));
    }
    Ok(f)
}

/// A hash as errors show it: enough to tell two apart, not enough to paste
/// into a hand-edited plan.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

impl PlanFile {
    /// Opens a plan and verifies it: the operations file against the
    /// manifest, the manifest against its own hash, then every operation by
    /// the planner's rules (see [`super::validate`]), in one streaming pass.
    pub fn open(dir: &Path) -> Result<PlanFile> {
        let path = dir.join(MANIFEST_FILE);
        let mut text = String::new();
        regular_file(&path, Some(MAX_MANIFEST_BYTES))?.read_to_string(&mut text).map_err(|e| Error::io_path(&path, e))?;
        let manifest: PlanManifest =
            serde_json::from_str(&text).map_err(|e| Error::Invalid(format!("{}: not a plan manifest: {e}", path.display())))?;
        let (body, recorded) = unseal(&text).ok_or_else(|| {
            Error::Invalid(format!("{}: the plan's sha256 is missing or not its last member: it was edited", path.display()))
        })?;
        let actual = hex::encode(Sha256::digest(body.as_bytes()));
        if actual != recorded {
            return Err(Error::Invalid(format!(
                "{}: the plan was changed after it was written: its content hashes to {}..., it records {}...",
                path.display(),
                short(&actual),
                short(&recorded)
            )));
        }
        super::validate::manifest(&manifest, &path.display().to_string())?;
        let ops = dir.join(&manifest.ops_file.name);
        let ops_sha = sha256_file(&ops)?;
        if ops_sha != manifest.ops_file.sha256 {
            return Err(Error::Invalid(format!(
                "{}: the operations were changed after the plan was written: SHA-256 {}..., the plan records {}...",
                ops.display(),
                short(&ops_sha),
                short(&manifest.ops_file.sha256)
            )));
        }
        let plan = PlanFile { dir: dir.to_path_buf(), manifest };
        plan.check_ops()?;
        Ok(plan)
    }

    /// The operations file's schema, count and every operation.
    fn check_ops(&self) -> Result<()> {
        let path = self.ops_path();
        let builder = self.reader()?;
        let (actual, expected) = (builder.schema().clone(), ops_schema());
        let same = actual.fields().len() == expected.fields().len()
            && actual
                .fields()
                .iter()
                .zip(expected.fields())
                .all(|(a, e)| a.name() == e.name() && a.data_type() == e.data_type() && a.is_nullable() == e.is_nullable());
        if !same {
            return Err(Error::Invalid(format!(
                "{}: the operations file's columns are not a plan's ({}); the plan is refused",
                path.display(),
                brief(&actual.fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect::<Vec<_>>().join(", "), 300)
            )));
        }
        let footer = builder.metadata().file_metadata().num_rows();
        if u64::try_from(footer).ok() != Some(self.manifest.ops_file.rows) {
            return Err(Error::Invalid(format!(
                "{}: holds {footer} operations, the plan records {}; the plan is refused",
                path.display(),
                self.manifest.ops_file.rows
            )));
        }
        let mut checker = super::validate::OpChecker::new(&self.manifest);
        for op in self.ops()? {
            checker.check(&op?)?;
        }
        let count = checker.count();
        checker.finish()?;
        if count != self.manifest.ops_file.rows {
            return Err(Error::Invalid(format!(
                "{}: {} operations were read, the plan records {}; the plan is refused",
                path.display(),
                count,
                self.manifest.ops_file.rows
            )));
        }
        Ok(())
    }

    pub fn sha256(&self) -> &str {
        self.manifest.sha256.as_deref().unwrap_or_default()
    }

    /// The operations, decoded, in plan order.
    pub fn ops(&self) -> Result<impl Iterator<Item = Result<StoredOp>>> {
        Ok(decoded(self.batches()?))
    }

    /// How many operations the plan holds (from the file's footer).
    pub fn op_count(&self) -> Result<usize> {
        let builder = self.reader()?;
        Ok(builder.metadata().file_metadata().num_rows().max(0) as usize)
    }

    /// The operations at positions `rows` of the plan, decoded, read a
    /// thousand at a time (several of these are read side by side).
    pub fn ops_in(&self, rows: std::ops::Range<usize>) -> Result<impl Iterator<Item = Result<StoredOp>>> {
        use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
        let selection = RowSelection::from(vec![RowSelector::skip(rows.start), RowSelector::select(rows.len())]);
        let builder = self.reader()?.with_row_selection(selection).with_batch_size(1024);
        Ok(decoded(self.guarded(builder)?))
    }

    /// The batches of `builder`'s reader, each decoded under
    /// [`crate::error::guard`]: the parquet crate asserts on some malformed
    /// pages, and a plan is untrusted input until read.
    fn guarded(&self, builder: ParquetRecordBatchReaderBuilder<File>) -> Result<impl Iterator<Item = Result<RecordBatch>> + use<>> {
        let what = self.ops_path().display().to_string();
        let mut reader = crate::error::guard(&what, || Ok(builder.build()?))?;
        let mut failed = false;
        Ok(std::iter::from_fn(move || {
            if failed {
                return None;
            }
            match crate::error::guard(&what, || Ok(reader.next())) {
                Ok(next) => next.map(|b| b.map_err(Error::from)),
                Err(e) => {
                    failed = true;
                    Some(Err(e))
                }
            }
        }))
    }

    /// A reader of the operations file. The Arrow schema a Parquet file
    /// may embed is not decoded: a plan's columns are fixed ([`ops_schema`],
    /// checked on open), and arrow-ipc panics on some crafted schemas.
    ///
    /// Every column chunk must lie inside the file: the parquet crate
    /// asserts (panics) on a negative offset or length in a crafted footer.
    fn reader(&self) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let what = self.ops_path().display().to_string();
        crate::error::guard(&what, || self.reader_unguarded())
    }

    fn reader_unguarded(&self) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let file = self.open_ops()?;
        let len = file.metadata().map_err(|e| Error::io_path(&self.ops_path(), e))?.len();
        let options = parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)?;
        for (g, group) in builder.metadata().row_groups().iter().enumerate() {
            for c in group.columns() {
                let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
                let size = c.compressed_size();
                if start < 0 || size < 0 || (start as u64).saturating_add(size as u64) > len {
                    return Err(Error::Invalid(format!(
                        "{}: row group {g} places a column at bytes {start} to {start}+{size}, outside the file ({len} bytes); the plan is refused",
                        self.ops_path().display()
                    )));
                }
            }
        }
        Ok(builder)
    }

    fn open_ops(&self) -> Result<File> {
        regular_file(&self.ops_path(), None)
    }

    /// The operations file, in the plan folder (its name is checked on open).
    fn ops_path(&self) -> PathBuf {
        self.dir.join(&self.manifest.ops_file.name)
    }

    /// The operations' sequence numbers alone, in plan order (nothing else
    /// is read or decoded).
    pub fn seqs(&self) -> Result<impl Iterator<Item = Result<u64>>> {
        use arrow::array::AsArray;
        let builder = self.reader()?;
        let mask = parquet::arrow::ProjectionMask::columns(builder.parquet_schema(), ["seq"]);
        let reader = self.guarded(builder.with_projection(mask).with_batch_size(BATCH))?;
        Ok(reader.flat_map(|b| match b {
            Ok(b) => match b.column(0).as_primitive_opt::<arrow::datatypes::UInt64Type>() {
                Some(seq) => seq.values().iter().map(|v| Ok(*v)).collect::<Vec<_>>(),
                None => vec![Err(Error::Invalid("the plan's seq column is not UInt64".into()))],
            },
            Err(e) => vec![Err(e)],
        }))
    }

    /// The operations, in batches of [`ops_schema`].
    pub fn batches(&self) -> Result<impl Iterator<Item = Result<RecordBatch>>> {
        self.guarded(self.reader()?.with_batch_size(BATCH))
    }
}

/// Each batch's operations, decoded; a batch that fails gives one error.
fn decoded(batches: impl Iterator<Item = Result<RecordBatch>>) -> impl Iterator<Item = Result<StoredOp>> {
    batches.flat_map(|b| match b.and_then(|b| StoredOp::all_in(&b)) {
        Ok(ops) => ops.into_iter().map(Ok).collect::<Vec<_>>(),
        Err(e) => vec![Err(e)],
    })
}

/// One operation as read back from a plan.
#[derive(Debug, Clone)]
pub struct StoredOp {
    pub seq: u64,
    pub row: u64,
    pub table: String,
    pub kind: OpKind,
    pub key: Item,
    pub set: Option<Item>,
    pub remove: Vec<String>,
    pub before: Option<Item>,
    pub before_sha256: Option<String>,
    pub write_units: u32,
}

impl StoredOp {
    /// The item as the operation leaves it (None: deleted).
    pub fn after(&self) -> Option<Item> {
        match self.kind {
            OpKind::Delete => None,
            OpKind::Put => self.set.clone(),
            OpKind::Update => {
                let mut item = self.before.clone().unwrap_or_default();
                item.extend(self.set.clone().unwrap_or_default());
                for r in &self.remove {
                    item.remove(r);
                }
                Some(item)
            }
        }
    }

    pub(crate) fn all_in(b: &RecordBatch) -> Result<Vec<StoredOp>> {
        use arrow::array::{Array, AsArray};
        use arrow::datatypes::{UInt32Type, UInt64Type};
        let col = |n: &str| b.column_by_name(n).ok_or_else(|| Error::Invalid(format!("the plan's operations lack column {n}")));
        let text = |n: &str| -> Result<&arrow::array::StringArray> {
            col(n)?.as_string_opt::<i32>().ok_or_else(|| Error::Invalid(format!("plan column {n} is not text")))
        };
        let not = |n: &str, t: &str| Error::Invalid(format!("plan column {n} is not {t}"));
        let (seq, row, units) = (
            col("seq")?.as_primitive_opt::<UInt64Type>().ok_or_else(|| not("seq", "UInt64"))?,
            col("row")?.as_primitive_opt::<UInt64Type>().ok_or_else(|| not("row", "UInt64"))?,
            col("write_units")?.as_primitive_opt::<UInt32Type>().ok_or_else(|| not("write_units", "UInt32"))?,
        );
        let (table, op, key, set, remove, before, sha) =
            (text("table")?, text("op")?, text("key")?, text("set")?, text("remove")?, text("before")?, text("before_sha256")?);
        let item = |a: &arrow::array::StringArray, i: usize| -> Result<Option<Item>> {
            if a.is_null(i) {
                return Ok(None);
            }
            ddbjson::item_from_str(a.value(i))
                .map(Some)
                .map_err(|e| Error::Invalid(format!("plan operation {}: {}", seq.value(i), brief(&e.to_string(), 200))))
        };
        (0..b.num_rows())
            .map(|i| {
                Ok(StoredOp {
                    seq: seq.value(i),
                    row: row.value(i),
                    table: table.value(i).to_string(),
                    kind: OpKind::parse(op.value(i)).filter(|_| matches!(op.value(i), "UPDATE" | "PUT" | "DELETE")).ok_or_else(|| {
                        Error::Invalid(format!(
                            "plan operation {}: op {:?} is not UPDATE, PUT or DELETE",
                            seq.value(i),
                            brief(op.value(i), 40)
                        ))
                    })?,
                    key: item(key, i)?.ok_or_else(|| Error::Invalid(format!("plan operation {}: no key", seq.value(i))))?,
                    set: item(set, i)?,
                    remove: if remove.is_null(i) {
                        Vec::new()
                    } else {
                        serde_json::from_str(remove.value(i)).map_err(|e| {
                            Error::Invalid(format!("plan operation {}: removed attributes: {}", seq.value(i), brief(&e.to_string(), 200)))
                        })?
                    },
                    before: item(before, i)?,
                    before_sha256: (!sha.is_null(i)).then(|| sha.value(i).to_string()),
                    write_units: units.value(i),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::After;
    use arrow::array::AsArray;

    fn op(i: u64) -> PlannedOp {
        PlannedOp {
            row: i + 1,
            table: "T".into(),
            kind: OpKind::Update,
            key_json: format!(r#"{{"id":{{"S":"{i}"}}}}"#),
            set_json: Some(format!(r#"{{"n":{{"N":"{i}"}}}}"#)),
            remove: Vec::new(),
            before_json: None,
            before_sha256: None,
            after: After::Gone,
            write_units: 1,
        }
    }

    /// A write that fails (a full disk) names the operations file.
    #[test]
    fn a_full_disk_names_the_operations_file() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::new(2).unwrap();
        let full = |_: &Path| File::options().write(true).open("/dev/full");
        let mut w = PlanWriter::create_with(&dir.path().join("plan"), &pool, full).unwrap();
        let mut c = OpColumns::default();
        for i in 0..(GROUP_ROWS as u64 + 10) {
            c.push(&op(i));
        }
        w.append(&mut c).unwrap();
        let e = w.close_ops().expect_err("a full device").to_string();
        assert!(e.contains("ops.parquet") && e.contains("No space left"), "{e}");
    }

    /// Row groups encoded on 1 to 3 pool threads are appended in the order
    /// the operations were numbered: `seq` and `row` run 0.. and 1.. with
    /// no gap, across every row group.
    #[test]
    fn row_groups_encoded_on_the_pool_keep_the_order() {
        for threads in [1, 3] {
            let dir = tempfile::tempdir().unwrap();
            let pool = Pool::new(threads).unwrap();
            let mut w = PlanWriter::create(&dir.path().join("plan"), &pool).unwrap();
            let total = 300_000u64;
            let mut c = OpColumns::default();
            for i in 0..total {
                c.push(&op(i));
                if c.len() >= 1000 + (i as usize / 1000 % 7) {
                    w.append(&mut c).unwrap();
                }
            }
            w.append(&mut c).unwrap();
            w.close_ops().unwrap();
            let file = File::open(w.ops_path()).unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
            let groups = reader.metadata().num_row_groups();
            assert!(groups >= 4, "{groups} row groups");
            let mut next = 0u64;
            for batch in reader.build().unwrap() {
                let batch = batch.unwrap();
                let seq = batch.column(0).as_primitive::<arrow::datatypes::UInt64Type>();
                let row = batch.column(1).as_primitive::<arrow::datatypes::UInt64Type>();
                let key = batch.column(4).as_string::<i32>();
                for j in 0..batch.num_rows() {
                    assert_eq!((seq.value(j), row.value(j)), (next, next + 1), "threads {threads}");
                    assert_eq!(key.value(j), format!(r#"{{"id":{{"S":"{next}"}}}}"#));
                    next += 1;
                }
            }
            assert_eq!(next, total);
        }
    }
}
