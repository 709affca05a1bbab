//! Writing one export folder exactly as DynamoDB lays it out.
//!
//! An export is a head (its id, `_started`, the two manifests and their
//! `.md5` files) and data files. [`ExportWriter`] holds both for a single
//! writer; [`ExportWriter::into_parts`] hands the data files to several
//! writers as disjoint [`FileSet`]s and keeps the head, which writes the
//! manifests once from all of their entries. Both ways consume the seeded
//! randomness in the same order, so the same options give the same bytes.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::datafile::{DataFile, FileSet};
use super::rng::Rng;
use crate::error::{Error, Result};
use crate::item::Item;
use crate::snapshot::manifest::{DataFileEntry, ExportType, ManifestSummary, OutputFormat, md5_base64};

/// Where an export goes and what it is.
pub struct ExportSpec<'a> {
    /// Folder playing the bucket root.
    pub out: &'a Path,
    /// S3-style prefix inside `out` (may be empty).
    pub prefix: &'a str,
    pub physical_table: &'a str,
    pub format: OutputFormat,
    pub time: DateTime<Utc>,
    /// Data files that receive items.
    pub writable: usize,
    /// Further data files left empty (empty partitions, as AWS writes them).
    pub empty: usize,
    pub incremental: bool,
    /// The bucket named in the summary.
    pub bucket: &'a str,
}

/// The export's identity and manifests, plus the files no writer fills.
pub struct ExportHead {
    dir: PathBuf,
    prefix: String,
    table_arn: String,
    export_id: String,
    format: OutputFormat,
    time: DateTime<Utc>,
    incremental: bool,
    bucket: String,
    /// When the export ended (default: five minutes after its time).
    end_time: Option<DateTime<Utc>>,
    idle: FileSet,
}

/// Writes the data files and manifests of one export.
pub struct ExportWriter {
    head: ExportHead,
    files: FileSet,
}

impl ExportWriter {
    /// An export with `files` data files, the last left empty when there
    /// are at least three.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        out: &Path,
        prefix: &str,
        physical_table: &str,
        format: OutputFormat,
        time: DateTime<Utc>,
        files: usize,
        incremental: bool,
        rng: &mut Rng,
    ) -> Result<ExportWriter> {
        let empty = usize::from(files >= 3);
        let spec = ExportSpec {
            out,
            prefix,
            physical_table,
            format,
            time,
            writable: files - empty,
            empty,
            incremental,
            bucket: "ddbsnap-generated",
        };
        ExportWriter::create(&spec, rng)
    }

    /// Creates the folder, `_started` and the data files (named from `rng`).
    pub fn create(spec: &ExportSpec, rng: &mut Rng) -> Result<ExportWriter> {
        let export_id = format!("{:014}-{:08x}", spec.time.timestamp_millis(), rng.next_u64() as u32);
        let dir = super::export_dir(spec.out, spec.prefix, &export_id);
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir).map_err(|e| Error::io_path(&data_dir, e))?;
        std::fs::write(dir.join("_started"), b"").map_err(|e| Error::io_path(&dir, e))?;
        let key_prefix = if spec.prefix.is_empty() { String::new() } else { format!("{}/", spec.prefix) };
        let ext = match spec.format {
            OutputFormat::DynamodbJson => "json.gz",
            OutputFormat::Ion => "ion.gz",
        };
        let mut data = Vec::new();
        for _ in 0..spec.writable + spec.empty {
            let name: String = (0..26).map(|_| b"abcdefghijklmnopqrstuvwxyz234567"[rng.below(32) as usize] as char).collect();
            let path = data_dir.join(format!("{name}.{ext}"));
            let key = format!("{key_prefix}AWSDynamoDB/{export_id}/data/{name}.{ext}");
            // The export time as the gzip mtime keeps the files deterministic
            // and tells them apart from other tools' empty partitions.
            data.push(DataFile::create(path, key, spec.time.timestamp() as u32)?);
        }
        let mut files = FileSet::new(data, spec.writable, spec.format);
        let idle = files.split_off(spec.writable, 0);
        let head = ExportHead {
            dir,
            prefix: key_prefix,
            table_arn: format!("arn:aws:dynamodb:us-east-1:111122223333:table/{}", spec.physical_table),
            export_id,
            format: spec.format,
            time: spec.time,
            incremental: spec.incremental,
            bucket: spec.bucket.to_string(),
            end_time: None,
            idle,
        };
        Ok(ExportWriter { head, files })
    }

    /// Adds a full-export item (attributes in a shuffled order).
    pub fn add_item(&mut self, item: &Item, rng: &mut Rng) -> Result<()> {
        self.files.add_item(item, rng)
    }

    /// Adds an incremental record keyed by `id`.
    pub fn add_change(&mut self, key_of: &Item, old: Option<&Item>, new: Option<&Item>, micros: u64, rng: &mut Rng) -> Result<()> {
        self.files.add_change(&["id"], key_of, old, new, micros, rng)
    }

    /// Names the real table and bucket (an export of a live table, taken
    /// by a scan) instead of the generator's placeholders.
    pub fn identify(&mut self, table_arn: &str, bucket: &str) {
        self.head.table_arn = table_arn.to_string();
        self.head.bucket = bucket.to_string();
    }

    /// Records when the export ended.
    pub fn set_end_time(&mut self, end: DateTime<Utc>) {
        self.head.end_time = Some(end);
    }

    /// The export's folder.
    pub fn dir(&self) -> &Path {
        &self.head.dir
    }

    /// The export's id (`<millis>-<hex>`).
    pub fn export_id(&self) -> &str {
        &self.head.export_id
    }

    /// Hands the writable files to `parts` writers, contiguous and equal in
    /// number; the head writes the manifests from their entries in order.
    pub fn into_parts(self, parts: usize) -> Result<(ExportHead, Vec<FileSet>)> {
        let ExportWriter { head, mut files } = self;
        let n = files.writable();
        if parts == 0 || n % parts != 0 {
            return Err(Error::Invalid(format!("{n} data files cannot be shared equally by {parts} writers")));
        }
        let per = n / parts;
        let mut sets = Vec::with_capacity(parts);
        while files.len() > per {
            let rest = files.split_off(per, files.writable() - per);
            sets.push(std::mem::replace(&mut files, rest));
        }
        sets.push(files);
        Ok((head, sets))
    }

    /// Closes the data files and writes the manifests; returns the export id.
    pub fn finish(self, window: Option<(DateTime<Utc>, DateTime<Utc>)>) -> Result<String> {
        let entries = self.files.finish()?;
        self.head.finish(entries, window)
    }
}

impl ExportHead {
    /// Writes the manifests for `entries` (the writers' files, in order)
    /// followed by the empty partitions; returns the export id.
    pub fn finish(self, mut entries: Vec<DataFileEntry>, window: Option<(DateTime<Utc>, DateTime<Utc>)>) -> Result<String> {
        entries.extend(self.idle.finish()?);
        let files_text: String = entries.iter().map(|e| serde_json::to_string(e).expect("serialisable") + "\n").collect();
        let item_count = entries.iter().map(|e| e.item_count).sum();
        let base = format!("{}AWSDynamoDB/{}", self.prefix, self.export_id);
        let summary = ManifestSummary {
            version: Some(if self.incremental { "2023-08-01" } else { "2020-06-30" }.into()),
            export_arn: format!("{}/export/{}", self.table_arn, self.export_id),
            start_time: Some(self.time),
            end_time: Some(self.end_time.unwrap_or(self.time + chrono::Duration::minutes(5))),
            table_arn: self.table_arn.clone(),
            table_id: Some("00000000-0000-4000-8000-000000000000".into()),
            export_time: if self.incremental { None } else { Some(self.time) },
            export_from_time: window.map(|w| w.0),
            export_to_time: window.map(|w| w.1),
            s3_bucket: Some(self.bucket.clone()),
            s3_prefix: if self.prefix.is_empty() { None } else { Some(self.prefix.trim_end_matches('/').into()) },
            s3_sse_algorithm: Some("AES256".into()),
            s3_sse_kms_key_id: None,
            manifest_files_s3_key: format!("{base}/manifest-files.json"),
            billed_size_bytes: Some(0),
            item_count,
            output_format: self.format,
            output_view: self.incremental.then(|| "NEW_AND_OLD_IMAGES".into()),
            export_type: Some(if self.incremental { ExportType::IncrementalExport } else { ExportType::FullExport }),
        };
        let summary_text = serde_json::to_string(&summary).map_err(|e| Error::Invalid(e.to_string()))?;
        for (name, text) in [("manifest-files", files_text), ("manifest-summary", summary_text)] {
            let p = self.dir.join(format!("{name}.json"));
            std::fs::write(&p, &text).map_err(|e| Error::io_path(&p, e))?;
            let p = self.dir.join(format!("{name}.md5"));
            std::fs::write(&p, md5_base64(text.as_bytes())).map_err(|e| Error::io_path(&p, e))?;
        }
        Ok(self.export_id)
    }
}
